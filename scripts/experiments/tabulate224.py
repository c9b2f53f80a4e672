"""The README table of side-by-side.sh PART=224: each model and batch at 1 and 2 threads, PyTorch then
medpfl, the ratio of medians, medpfl's GFLOP/s and share of sgemm, its 2-thread speed-up.
Usage: python3 tabulate224.py DIR"""
import glob, json, os, sys

d = sys.argv[1]
rows = []
for path in sorted(glob.glob(os.path.join(d, "medpfl-*.json"))):
    bench = json.load(open(path))
    name = os.path.basename(path)[len("medpfl-"):-len(".json")]
    torch = [json.loads(l) for l in open(os.path.join(d, f"pytorch-{name}.jsonl")) if l.strip()]
    pt = {r["threads"]: r for r in torch}
    med = {r["threads"]: r for r in bench["doubleBackward"]}
    for t in sorted(med):
        m, p = med[t], pt.get(t)
        ratio = p["median_ms"] / m["medianMs"] if p else float("nan")
        speedup = med[1]["medianMs"] / m["medianMs"] if 1 in med else float("nan")
        rows.append((m["model"], m["batch"], t, p["median_ms"] if p else float("nan"), m["medianMs"], ratio,
                     m.get("gflops") or 0, m.get("percentOfSgemm") or 0, speedup, m.get("allocationsPerIteration") or 0,
                     m.get("minorFaultsPerIteration") or 0, m.get("peakResidentMiB") or 0))
print("| model | batch | threads | PyTorch ms | medpfl ms | medpfl faster | GFLOP/s (% of sgemm x threads) | 2 threads vs 1 | tensors allocated / it | page faults / it | peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.0f} | {r[4]:.0f} | {r[5]:.2f}x | {r[6]:.1f} ({r[7]:.0f} %) | "
          f"{'' if r[2] == 1 else f'{r[8]:.2f}x'} | {r[9]:.0f} | {r[10]:.1f} | {r[11]:.0f} |")
