#!/usr/bin/env python3
"""Rebuild this subset from the full medical-sample: python3 make_subset.py SHARED_DIR

SHARED_DIR is the folder holding datasets/medical-sample, anchors/ and golden/. For each class folder of
datasets/medical-sample/32, the subset keeps every image named in the anchor and golden files listed in
REQUIRED_FROM, then fills up to PER_CLASS with the first remaining files in sorted (byte) order. It copies
the PNGs into 32/<class>/ next to this script and writes manifest.csv with the matching rows (same header).
"""
import csv, json, os, re, shutil, sys

PER_CLASS = 30
REQUIRED_FROM = ["anchors/dlg.json", "anchors/idlg.json", "anchors/invgrad.json", "anchors/defence.json",
                 "golden/cases.json", "golden/sequential/cases.json", "golden/metrics.json"]


def named_images(obj, classes, out):
    pattern = re.compile(r"(?:%s)/[A-Za-z0-9_.\-]+\.png" % "|".join(map(re.escape, classes)))
    if isinstance(obj, dict):
        for v in obj.values(): named_images(v, classes, out)
    elif isinstance(obj, list):
        for v in obj: named_images(v, classes, out)
    elif isinstance(obj, str):
        out.update(pattern.findall(obj))


def main(shared):
    src = os.path.join(shared, "datasets/medical-sample")
    here = os.path.dirname(os.path.abspath(__file__))
    classes = sorted(d for d in os.listdir(os.path.join(src, "32")) if os.path.isdir(os.path.join(src, "32", d)))
    required = set()
    for rel in REQUIRED_FROM:
        with open(os.path.join(shared, rel)) as f:
            named_images(json.load(f), classes, required)
    chosen = []
    for c in classes:
        files = sorted((f for f in os.listdir(os.path.join(src, "32", c)) if f.endswith(".png")), key=lambda s: s.encode())
        must = [f for f in files if f"{c}/{f}" in required]
        missing = {r for r in required if r.startswith(c + "/")} - {f"{c}/{f}" for f in must}
        if missing: sys.exit(f"required images not in the source: {sorted(missing)}")
        if len(must) > PER_CLASS: sys.exit(f"{c}: {len(must)} required images exceed {PER_CLASS}")
        fill = [f for f in files if f not in must][: PER_CLASS - len(must)]
        keep = sorted(must + fill, key=lambda s: s.encode())
        os.makedirs(os.path.join(here, "32", c), exist_ok=True)
        for f in keep:
            shutil.copyfile(os.path.join(src, "32", c, f), os.path.join(here, "32", c, f))
            chosen.append(f"{c}/{f}")
        print(f"{c}: {len(must)} required + {len(fill)} first in order = {len(keep)}")
    wanted = set(chosen)
    with open(os.path.join(src, "manifest.csv"), newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    col = header.index("file")
    kept = [r for r in body if r[col] in wanted]
    if len(kept) != len(wanted): sys.exit("manifest.csv lacks rows for some chosen files")
    with open(os.path.join(here, "manifest.csv"), "w", newline="") as f:
        csv.writer(f).writerows([header] + kept)
    print(f"{len(chosen)} images, {len(kept)} manifest rows; required: {sorted(required)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../../../shared")
