#!/usr/bin/env python3
"""Copy the full-resolution originals (up to 256 px) of a few bundled images: python3 make_full_subset.py SHARED_DIR

For each class, the first PER_CLASS images of 32/<class>/ (sorted by name) are copied from
SHARED_DIR/datasets/medical-sample/full/<class>/ into full/<class>/ next to this script, and their manifest
rows (byte-identical, same header) go to full/manifest.csv. The ONNX example audit (audits/onnx-densenet.yaml)
reads them at its model's 64 px, so a larger input sees real detail rather than an upscaled 32 px thumbnail.
"""
import csv, os, shutil, sys

PER_CLASS = 3
here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(sys.argv[1], "datasets", "medical-sample")
rows = {}
with open(os.path.join(src, "manifest.csv"), newline="") as f:
    lines = f.read().splitlines()
header = lines[0]
for line in lines[1:]:
    rec = next(csv.reader([line]))
    rows.setdefault(rec[2], line)
out = [header]
for cls in sorted(os.listdir(os.path.join(here, "32"))):
    os.makedirs(os.path.join(here, "full", cls), exist_ok=True)
    for name in sorted(os.listdir(os.path.join(here, "32", cls)))[:PER_CLASS]:
        shutil.copyfile(os.path.join(src, "full", cls, name), os.path.join(here, "full", cls, name))
        out.append(rows[f"{cls}/{name}"])
with open(os.path.join(here, "full", "manifest.csv"), "w") as f:
    f.write("\n".join(out) + "\n")
print(f"copied {len(out) - 1} images")
