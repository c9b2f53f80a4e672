#!/usr/bin/env python3
"""Prints the Markdown tables of docs/RESULTS.md from the JSON the experiment scripts write.

Usage: tabulate.py bench|table2|anchors|gradinv|table3|utility DIR [ANCHORS_DIR]
DIR holds one experiment's JSON (`medpfl attack/train/bench --json` outputs and meta.jsonl);
ANCHORS_DIR (default /work/shared/anchors) holds the PyTorch reference JSON shown next to our figures.
"""
import glob, json, math, os, statistics, sys

MODALITY = {"ct": "CT", "fundus": "fundus", "histology": "histology", "mri": "MRI", "ultrasound": "ultrasound", "xray": "X-ray"}
ORDER = ["ct", "mri", "xray", "fundus", "histology", "ultrasound"]  # the paper's three first


def load(path):
    """JSON with medpfl's non-finite numbers ("Infinity", "NaN" strings) read back as floats."""
    def fix(o):
        if isinstance(o, dict):
            return {k: fix(v) for k, v in o.items()}
        if isinstance(o, list):
            return [fix(v) for v in o]
        return float(o) if o in ("Infinity", "-Infinity", "NaN") else o
    with open(path) as f:
        return fix(json.load(f))


def modality(image_path):
    return image_path.replace("\\", "/").split("/")[-2]


def rel(image_path):
    """class/file.png, however the image was named on the command line."""
    return "/".join(image_path.replace("\\", "/").split("/")[-2:])


def mean(xs):
    xs = list(xs)
    return sum(xs) / len(xs) if xs else math.nan


def meta(d):
    """One line: when, where, commit, load average at start and end."""
    path = os.path.join(d, "meta.jsonl")
    if not os.path.exists(path):
        return "(no meta.jsonl)"
    recs = [json.loads(l) for l in open(path) if l.strip()]
    s, e = recs[0], recs[-1]
    return (f"measured {s['date']} to {e['date']} on {s['host']} ({s['cpu']}, {s['cores']} cores), "
            f"medpfl {s['medpfl']} at commit {s['commit']}{' (uncommitted changes in Sources)' if s['dirty'] else ''}; "
            f"load average {'/'.join(s['loadavg'])} at start, {'/'.join(e['loadavg'])} at end")


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def f(x, nd=3):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    return f"{x:.{nd}f}"


# ---------------------------------------------------------------- Table II

def table2(d, anchors):
    rows = []
    for attack in ["dlg", "idlg", "cpl"]:
        for model in ["lenet", "lenet4", "cnn7"]:
            p = os.path.join(d, f"{attack}-{model}.json")
            if not os.path.exists(p):
                continue
            a = load(p)["aggregate"]
            rows.append([attack, model, a["images"], f(a["asr"], 2), f(a["meanSSIM"]), f(a["meanMSE"], 4),
                         f(a["labelAccuracy"], 2), f(a["secondsPerImage"], 2), f(a["wallSeconds"], 1)])
    print(table(["attack", "model", "images", "ASR (SSIM ≥ 0.9)", "mean SSIM", "mean MSE", "label acc.",
                 "s / image (1 core)", "wall s (2 cores)"], rows))
    first = sorted(glob.glob(os.path.join(d, "*-lenet.json")))
    if first:
        print("\nImages: " + ", ".join(rel(s["image"]) for s in load(first[0])["samples"]))
    # PyTorch anchors: all 12 images, and the first six (one per class).
    arows = []
    for name in ["dlg", "idlg"]:
        p = os.path.join(anchors, f"{name}.json")
        if not os.path.exists(p):
            continue
        res = load(p)["results"]
        for label, sub in [("12 images", res), ("first 6 (one per class)", res[:6])]:
            ss = [r.get("ssim_gaussian", r["ssim"]) for r in sub]  # ours is the Gaussian SSIM too
            arows.append([name, "lenet", label, f(mean(s >= 0.9 for s in ss), 2), f(mean(ss)),
                          f(mean(r["mse"] for r in sub), 4) if "mse" in sub[0] else "n/a",
                          f(mean(bool(r.get("label_correct", True)) for r in sub), 2),
                          f(mean(r["seconds"] for r in sub), 2)])
    if arows:
        print("\nPyTorch anchors (torch.optim.LBFGS, one start, 2 threads per image):\n")
        print(table(["attack", "model", "images", "ASR", "mean SSIM", "mean MSE", "label acc.", "s / image (2 threads)"], arows))
    print("\n" + meta(d))


# ---------------------------------------------------------------- same images as the DLG/iDLG anchors

def anchors_same_images(d, anchors):
    rows, per = [], []
    for attack in ["dlg", "idlg"]:
        ref = load(os.path.join(anchors, f"{attack}.json"))["results"]
        by = {r["image"]: r for r in ref}
        runs = {k: load(os.path.join(d, f"{attack}-lenet-starts-{k}.json")) for k in ["default", "1"]
                if os.path.exists(os.path.join(d, f"{attack}-lenet-starts-{k}.json"))}
        for k, o in runs.items():
            a = o["aggregate"]
            rows.append([attack, "medpfl, " + ("up to 4 starts (default)" if k == "default" else "1 start"), a["images"],
                         f(a["asr"], 3), f(a["meanSSIM"]), f(a["labelAccuracy"], 3), f(a["secondsPerImage"], 2) + " (1 core)"])
        ss = [r["ssim_gaussian"] for r in ref]
        rows.append([attack, "PyTorch anchor, 1 start", len(ref), f(mean(x >= 0.9 for x in ss), 3), f(mean(ss)),
                     f(mean(r["label_correct"] for r in ref), 3), f(mean(r["seconds"] for r in ref), 2) + " (2 threads)"])
        for i, r in enumerate(ref):
            cells = [attack, r["image"]]
            for k in ["default", "1"]:
                smp = {rel(x["image"]): x for x in runs[k]["samples"]} if k in runs else {}
                x = smp.get(r["image"])
                cells.append(f"{f(x['ssim'])}{'' if x['recoveredLabel'] == x['trueLabel'] else ' (label wrong)'}" if x else "n/a")
            cells.append(f"{f(r['ssim_gaussian'])}{'' if r['label_correct'] else ' (label wrong)'}")
            per.append(cells)
    print(table(["attack", "run", "images", "ASR", "mean SSIM", "label acc.", "s / image"], rows))
    print("\nPer image, SSIM:\n")
    print(table(["attack", "image", "medpfl (default)", "medpfl (1 start)", "PyTorch (1 start)"], per))
    print("\n" + meta(d))


# ---------------------------------------------------------------- one evaluation, side by side

def bench(d, anchors):
    """medpfl bench (d/medpfl-bench.json) next to PyTorch's microbench.json / invgrad.json in `anchors`."""
    ours = {(r["model"], r["batch"]): r["medianMs"] for r in load(os.path.join(d, "medpfl-bench.json"))["doubleBackward"]}
    mb = load(os.path.join(anchors, "microbench.json"))["rows"]
    pt = {(r["batch"], r["threads"]): r["median_s"] * 1e3 for r in mb if r["variant"] == "backward"}
    ig = {r["threads"]: r["median_s"] * 1e3 for r in load(os.path.join(anchors, "invgrad.json"))["bench"]}
    rows = []
    for b in [1, 4, 8]:
        if ("lenet", b) in ours and (b, 1) in pt:
            rows.append([f"lenet, batch {b}", f(ours[("lenet", b)], 3) + " ms", f(pt[(b, 1)], 3) + " ms",
                         f(pt.get((b, 2), float("nan")), 3) + " ms", f(pt[(b, 1)] / ours[("lenet", b)], 1) + "x",
                         f(pt.get((b, 2), float("nan")) / ours[("lenet", b)], 1) + "x"])
    if ("resnet18-cifar", 1) in ours and 1 in ig:
        o = ours[("resnet18-cifar", 1)]
        rows.append(["resnet18-cifar, batch 1 (one GradInv iteration)", f(o, 1) + " ms", f(ig[1], 1) + " ms",
                     f(ig.get(2, float("nan")), 1) + " ms", f(ig[1] / o, 2) + "x", f(ig.get(2, float("nan")) / o, 2) + "x"])
    print(table(["one double-backward evaluation (median)", "medpfl, 1 thread", "PyTorch, 1 thread", "PyTorch, 2 threads",
                 "PyTorch 1 thread / medpfl", "PyTorch 2 threads / medpfl"], rows))
    print("\n" + meta(d))


# ---------------------------------------------------------------- Inverting Gradients

def gradinv(d, anchors):
    b = load(os.path.join(d, "bench.json"))
    t = b["doubleBackward"][0]
    print(f"Double backward, ResNet-18 (CIFAR), batch 1, 1 thread: median {t['medianMs']:.1f} ms, "
          f"min {t['minMs']:.1f} ms (PyTorch: 266.2 ms at 1 thread, 156.7 ms at 2 threads).")
    tr = load(os.path.join(d, "train.json"))["defended"]
    print(f"\nTraining: {tr['model']}, {len(tr['rounds'])} rounds, {tr['clients']} clients, lr {tr['learningRate']}, "
          f"batch {tr['batchSize']}, seed {tr['seed']}; {tr['testImages']} test images; test accuracy "
          f"{tr['initialAccuracy']:.3f} at round 0, {tr['finalAccuracy']:.3f} after the last round "
          f"(mean of the last 5 rounds {tr['tailAccuracy']:.3f}); {tr['seconds']:.0f} s.\n")
    rows = []
    for weights in ["untrained", "trained"]:
        p = os.path.join(d, f"attack-{weights}.json")
        if not os.path.exists(p):
            continue
        for s in load(p)["samples"]:
            rows.append([weights, rel(s["image"]), s["trueLabel"], s["recoveredLabel"], f(s["ssim"]),
                         f(s["psnr"], 2), f(s["mse"], 4), f(s["finalLoss"], 4), s["iterations"],
                         f(1000 * s["seconds"] / s["iterations"], 0), f(s["seconds"], 0)])
    a = os.path.join(anchors, "invgrad.json")
    if os.path.exists(a):
        rows.append(["PyTorch anchor (untrained)", "ct/ct693_r00c01.png", 0, "0 (given)", "0.731", "17.35", "0.0184",
                     "0.0162", 1000, "176 (2 threads)", "176"])
    print(table(["weights", "image", "label", "recovered", "SSIM", "PSNR dB", "MSE", "matching loss", "iterations",
                 "ms / it (1 core)", "s"], rows))
    print("\n" + meta(d))


# ---------------------------------------------------------------- Table III

def table3(d, anchors):
    levels = ["none", "100", "200", "300", "400"]
    ours = {L: load(os.path.join(d, f"cpl-lenet4-{L}.json")) for L in levels if os.path.exists(os.path.join(d, f"cpl-lenet4-{L}.json"))}
    ref = {}
    p = os.path.join(anchors, "defence.json")
    if os.path.exists(p):
        for r in load(p)["results"]:
            ref.setdefault("none" if r["level"] == 0 else str(r["level"]), {})[modality(r["image"])] = r
    per = {L: {modality(s["image"]): s for s in o["samples"]} for L, o in ours.items()}
    rows = []
    for L in ours:
        a, mods = ours[L]["aggregate"], per[L]
        pr = ref.get(L, {})
        rows.append([L, "0" if L == "none" else f"{1 / int(L):.4f}",
                     f(a["meanMSE"], 4), f(mean(r["mse"] for r in pr.values()), 4),
                     f(a["meanSSIM"]), f(mean(r["ssim_gaussian"] for r in pr.values())),
                     f"{sum(s['success'] for s in mods.values())}/{len(mods)}",
                     f"{sum(r['ssim_gaussian'] >= 0.9 for r in pr.values())}/{len(pr)}",
                     f(a["labelAccuracy"], 2), f(a["secondsPerImage"], 1), f(mean(r["seconds"] for r in pr.values()), 1)])
    print(table(["level", "Laplace b", "MSE (ours)", "MSE (PyTorch)", "SSIM (ours)", "SSIM (PyTorch)", "ASR (ours)",
                 "ASR (PyTorch)", "label acc. (ours)", "s / image (ours, 1 core)", "s / image (PyTorch, 2 threads)"], rows))
    print("\nThe paper's three modalities and the mean over six (ours / PyTorch):\n")
    paper, rows = ["ct", "mri", "xray"], []
    for L in ours:
        cells = [L]
        for key, refkey, nd in [("ssim", "ssim_gaussian", 3), ("mse", "mse", 4)]:
            pr = ref.get(L, {})
            cells += [f"{f(per[L][m][key], nd)} / {f(pr.get(m, {}).get(refkey, math.nan), nd)}" for m in paper]
            cells.append(f"{f(mean(s[key] for s in per[L].values()), nd)} / {f(mean(r[refkey] for r in pr.values()), nd)}")
        rows.append(cells)
    names = [MODALITY[m] for m in paper] + ["mean of 6"]
    print(table(["level"] + [f"{n} {k}" for k in ["SSIM", "MSE"] for n in names], rows))
    for metric, key, refkey, nd in [("SSIM", "ssim", "ssim_gaussian", 3), ("MSE", "mse", "mse", 4)]:
        print(f"\nPer modality, {metric} (ours / PyTorch):\n")
        rows = []
        for L in ours:
            rows.append([L] + [f"{f(per[L][m][key], nd) if m in per[L] else 'n/a'} / "
                               f"{f(ref.get(L, {}).get(m, {}).get(refkey, math.nan), nd)}" for m in ORDER])
        print(table(["level"] + [MODALITY[m] for m in ORDER], rows))
    print("\n" + meta(d))


# ---------------------------------------------------------------- privacy-utility

SPECS = ["none", "laplace:level=400", "laplace:level=100", "gaussian:relative=0.5", "dp:clip=1,sigma=1", "prune:p=90",
         "quantize:bits=4", "quantize:sign", "secagg:clients=3"]


def tag(spec):
    return spec.replace(":", "_").replace("=", "_").replace(",", "_")  # as utility.sh names its files


def utility(d, anchors):
    rows, extra = [], []
    for spec in SPECS:
        attacks = {}
        for name in ["idlg", "cpl"]:
            p = os.path.join(d, f"attack-{name}-{tag(spec)}.json")
            if os.path.exists(p):
                attacks[name] = load(p)
        if not attacks:
            continue
        best = max(attacks, key=lambda k: attacks[k]["aggregate"]["meanSSIM"])
        o = attacks[best]
        ss = [s["ssim"] for s in o["samples"]]
        eff = [e for rnd in (o.get("defence") or {}).get("effects", []) for e in rnd]
        snr = mean(e["snr"] for e in eff) if eff else math.inf
        eps = next((e["epsilon"] for e in eff if e.get("epsilon") is not None), None)
        trains = [load(p) for p in sorted(glob.glob(os.path.join(d, f"train-{tag(spec)}-seed*.json")))]
        acc = [t["defended"]["tailAccuracy"] for t in trains]
        drop = [t["accuracyDrop"] or 0.0 for t in trains]
        teps = next((t["defended"].get("epsilon") for t in trains if t["defended"].get("epsilon") is not None), None)
        other = [k for k in attacks if k != best]
        rows.append([spec, best, f(mean(ss)), f(max(ss)), f(o["aggregate"]["asr"], 2), f(o["aggregate"]["labelAccuracy"], 2),
                     f(attacks[other[0]]["aggregate"]["meanSSIM"]) if other else "n/a",
                     f(snr, 2), f(eps, 2) if eps is not None else "–", f(teps, 1) if teps is not None else "–",
                     f"{f(mean(acc))} ± {f(statistics.pstdev(acc)) if len(acc) > 1 else 'n/a'}" if acc else "n/a",
                     f"{mean(drop):+.3f}" if trains else "n/a", len(trains)])
        if trains:
            extra.append(f"{spec}: test images {trains[0]['defended']['testImages']}, not tested: "
                         f"{', '.join(trains[0]['defended']['trainOnlyClasses']) or 'none'}; per seed "
                         + ", ".join(f"{a:.3f} (drop {x:+.3f})" for a, x in zip(acc, drop)))
    print(table(["defence", "best attack", "mean SSIM", "max SSIM", "ASR", "label acc.", "other attack's mean SSIM",
                 "realised SNR", "ε (one update)", "ε (training)", "FL test acc. (3 seeds)", "drop vs none", "seeds"], rows))
    print("\n" + "\n".join(f"- {e}" for e in extra))
    print("\n" + meta(d))


if __name__ == "__main__":
    commands = {"bench": bench, "table2": table2, "anchors": anchors_same_images, "gradinv": gradinv, "table3": table3, "utility": utility}
    if len(sys.argv) < 3 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](
        sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "/work/shared/anchors")
