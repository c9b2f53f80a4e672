#!/usr/bin/env python3
"""Rebuild this subset from the full medical-sample: python3 make_subset.py SHARED_DIR

SHARED_DIR is the folder holding datasets/medical-sample, anchors/ and golden/. For each class folder of
datasets/medical-sample/32 the subset takes QUOTA[source] images from each source file (the manifest's
source_path) listed for that class. Within a source it keeps every image named in the anchor and golden
files listed in REQUIRED_FROM, then fills the quota with images spread evenly over the remaining files in
sorted (byte) order (so frames, slices and grid cells of one source are sampled across the source, not just
its first rows). It copies the PNGs into 32/<class>/ next to this script and writes manifest.csv with the
matching rows (same header, byte-identical rows).

Why these quotas: federated-learning utility is measured on a train/test split BY SOURCE (crops of one scan
never sit on both sides), 3:1 as in the MedPFL paper. A class drawn from one source cannot be split that way,
so every class takes at least two sources wherever the full sample has them, with source sizes that let one
or more whole sources make up about a quarter of the class (ct and mri: four sources of 7-8; ultrasound:
19 + 8 + 3; xray: 22 + 8). fundus and histology have a single source in the full sample.
"""
import csv, json, os, re, shutil, sys

PER_CLASS = 30
REQUIRED_FROM = ["anchors/dlg.json", "anchors/idlg.json", "anchors/invgrad.json", "anchors/defence.json",
                 "golden/cases.json", "golden/sequential/cases.json", "golden/metrics.json"]
# Images per source file, by class. Each class sums to PER_CLASS.
QUOTA = {
    "ct": {"data_store/data/693_UNCR.dcm": 8, "data_store/data/eCT_Supplemental.dcm": 8,
           "data_store/data/explicit_VR-UN.dcm": 7, "pydicom/data/test_files/J2K_pixelrep_mismatch.dcm": 7},
    "fundus": {"skimage/data/retina.jpg": 30},
    "histology": {"skimage/data/ihc.png": 30},
    "mri": {"data_store/data/emri_small.dcm": 8, "nibabel/tests/data/example4d.nii.gz": 8,
            "data_store/data/MR2_UNCR.dcm": 7, "data_store/data/MR-SIEMENS-DICOM-WithOverlays.dcm": 7},
    "ultrasound": {"data_store/data/color3d_jpeg_baseline.dcm": 19, "data_store/data/gdcm-US-ALOKA-16.dcm": 8,
                   "data_store/data/US1_UNCR.dcm": 3},
    "xray": {"data_store/data/RG1_UNCR.dcm": 22, "data_store/data/RG3_UNCR.dcm": 8},
}


def named_images(obj, classes, out):
    pattern = re.compile(r"(?:%s)/[A-Za-z0-9_.\-]+\.png" % "|".join(map(re.escape, classes)))
    if isinstance(obj, dict):
        for v in obj.values(): named_images(v, classes, out)
    elif isinstance(obj, list):
        for v in obj: named_images(v, classes, out)
    elif isinstance(obj, str):
        out.update(pattern.findall(obj))


def spread(items, k):
    """k items spread evenly over the sorted list (first and last included when k >= 2)."""
    if k <= 0: return []
    if k >= len(items): return list(items)
    if k == 1: return [items[0]]
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)]


def main(shared):
    src = os.path.join(shared, "datasets/medical-sample")
    here = os.path.dirname(os.path.abspath(__file__))
    classes = sorted(d for d in os.listdir(os.path.join(src, "32")) if os.path.isdir(os.path.join(src, "32", d)))
    if sorted(QUOTA) != classes: sys.exit(f"QUOTA classes {sorted(QUOTA)} differ from the sample's {classes}")
    required = set()
    for rel in REQUIRED_FROM:
        with open(os.path.join(shared, rel)) as f:
            named_images(json.load(f), classes, required)
    with open(os.path.join(src, "manifest.csv"), newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    col, scol = header.index("file"), header.index("source_path")
    source_of = {r[col]: r[scol] for r in body}

    if os.path.isdir(os.path.join(here, "32")): shutil.rmtree(os.path.join(here, "32"))
    chosen = []
    for c in classes:
        if sum(QUOTA[c].values()) != PER_CLASS: sys.exit(f"{c}: quotas sum to {sum(QUOTA[c].values())}, not {PER_CLASS}")
        files = sorted((f for f in os.listdir(os.path.join(src, "32", c)) if f.endswith(".png")), key=lambda s: s.encode())
        missing = {r for r in required if r.startswith(c + "/")} - {f"{c}/{f}" for f in files}
        if missing: sys.exit(f"required images not in the source: {sorted(missing)}")
        offered = sorted({source_of[f"{c}/{f}"] for f in files})
        if sorted(QUOTA[c]) != offered: sys.exit(f"{c}: the sample offers sources {offered}, QUOTA names {sorted(QUOTA[c])}")
        keep, report = [], []
        for s, quota in sorted(QUOTA[c].items()):
            mine = [f for f in files if source_of[f"{c}/{f}"] == s]
            must = [f for f in mine if f"{c}/{f}" in required]
            if len(must) > quota: sys.exit(f"{c}/{s}: {len(must)} required images exceed its quota {quota}")
            if len(mine) < quota: sys.exit(f"{c}/{s}: only {len(mine)} images for a quota of {quota}")
            keep += must + spread([f for f in mine if f not in must], quota - len(must))
            report.append(f"{os.path.basename(s)} {quota} ({len(must)} required)")
        keep.sort(key=lambda s: s.encode())
        os.makedirs(os.path.join(here, "32", c), exist_ok=True)
        for f in keep:
            shutil.copyfile(os.path.join(src, "32", c, f), os.path.join(here, "32", c, f))
            chosen.append(f"{c}/{f}")
        print(f"{c}: {len(keep)} = " + ", ".join(report))
    wanted = set(chosen)
    kept = [r for r in body if r[col] in wanted]
    if len(kept) != len(wanted): sys.exit("manifest.csv lacks rows for some chosen files")
    with open(os.path.join(here, "manifest.csv"), "w", newline="") as f:
        csv.writer(f).writerows([header] + kept)
    print(f"{len(chosen)} images, {len(kept)} manifest rows; required: {sorted(required)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../../../shared")
