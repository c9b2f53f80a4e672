#!/usr/bin/env python3
"""NIfTI fixtures and reference slices for medpfl's NIfTI reading (run once; outputs committed).

    pip install nibabel==5.4.2 numpy
    python3 scripts/experiments/nifti_reference.py

Tests/ImagingTests/Fixtures/nifti/ holds three files copied from nibabel 5.4.2's `nibabel/tests/data` (MIT;
anatomical.nii: big-endian int16 NIfTI-1; example4d.nii.gz: gzip, 4D fMRI, cal_max set; example_nifti2.nii.gz:
NIfTI-2) and two this script makes: scaled.nii.gz (anatomical with scl_slope 2, scl_inter -10) and truncated.nii.gz.
reference.json holds, per file, checks of slices along each axis with a window: the first volume as nibabel's
get_fdata() (scaled), the plane `data[:, :, k].T` (z), `data[:, j, :].T` (y), `data[i, :, :].T` (x), windowed as
medpfl defines it (dicom: cal_min..cal_max when cal_max > cal_min, else the slice's min..max; auto: 0.5th-99.5th
percentiles; {center, width}: the standard LINEAR function), values in [0, 1], row-major.
"""
import json, os
import numpy as np
import nibabel as nib

HERE = os.path.dirname(__file__)
OUT = os.path.join(HERE, "..", "..", "Tests", "ImagingTests", "Fixtures", "nifti")


def window(x, setting, header):
    if setting == "dicom":
        lo, hi = float(header["cal_min"]), float(header["cal_max"])
        if not hi > lo:
            lo, hi = float(x.min()), float(x.max())
        return np.clip((x - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(x)
    if setting == "auto":
        lo, hi = np.percentile(x, [0.5, 99.5])
        return np.clip((x - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(x)
    c, w = setting["center"], setting["width"]
    return np.clip((x - (c - 0.5)) / (w - 1) + 0.5, 0, 1)


def main():
    anat = nib.load(os.path.join(OUT, "anatomical.nii"))
    data = np.asanyarray(anat.dataobj).astype(np.int16)
    scaled = nib.Nifti1Image(data, anat.affine)
    scaled.header.set_slope_inter(2.0, -10.0)
    nib.save(scaled, os.path.join(OUT, "scaled.nii.gz"))
    raw = open(os.path.join(OUT, "example_nifti2.nii.gz"), "rb").read()
    open(os.path.join(OUT, "truncated.nii.gz"), "wb").write(raw[: len(raw) // 2])
    ref = {}
    for name, checks in [("anatomical.nii", [("z", None, "dicom"), ("x", 10, "auto"), ("y", 20, {"center": 300, "width": 600})]),
                         ("example4d.nii.gz", [("z", None, "dicom"), ("z", 3, "auto")]),
                         ("example_nifti2.nii.gz", [("z", None, "dicom"), ("y", 5, "dicom")]),
                         ("scaled.nii.gz", [("z", None, "dicom"), ("z", 12, {"center": 500, "width": 1000})])]:
        img = nib.load(os.path.join(OUT, name))
        vol = img.get_fdata()
        if vol.ndim == 4:
            vol = vol[..., 0]
        entry = {"shape": list(vol.shape), "checks": []}
        for axis, k, setting in checks:
            n = vol.shape["xyz".index(axis)]
            k = n // 2 if k is None else k
            plane = {"x": vol[k, :, :].T, "y": vol[:, k, :].T, "z": vol[:, :, k].T}[axis]
            v = window(plane, setting, img.header)
            entry["checks"].append({"axis": axis, "slice": k, "window": setting, "width": plane.shape[1], "height": plane.shape[0],
                                    "values": [round(float(x), 6) for x in v.reshape(-1)]})
        ref[name] = entry
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))
    print({k: v["shape"] for k, v in ref.items()})


if __name__ == "__main__":
    main()
