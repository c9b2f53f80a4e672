#!/usr/bin/env python3
"""Reference pixel values for medpfl's DICOM decoding, made with pydicom (never run by the tests).

    pip install pydicom==3.0.2 pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg pylibjpeg-rle python-gdcm numpy
    python3 scripts/experiments/dicom_reference.py

For every fixture in Tests/ImagingTests/Fixtures/dicom it writes <name>.json beside it in reference/: the
decoding facts and, for the frames the tests check, the windowed values in [0, 1] that the model would see.
The pipeline is the one docs/DICOM.md states (PS3.3 C.11), computed here with pydicom's own functions:

  stored values   ds.pixel_array (pydicom's decoders; YBR converted to RGB as pydicom does by default)
  modality LUT    pydicom.pixels.apply_modality_lut (Modality LUT Sequence, else rescale slope/intercept); for an
                  enhanced multi-frame file, the frame's Pixel Value Transformation (per-frame, else shared)
  VOI             window "dicom": pydicom.pixels.apply_voi_lut(index=0, prefer_lut=True) (VOI LUT Sequence, else
                  the first window centre/width with its VOI LUT Function); a frame's Frame VOI LUT for enhanced
                  files; no VOI at all: the frame's min..max. "auto": 0.5th..99.5th percentile (numpy's linear
                  interpolation), linear-exact. An explicit {center, width}: the standard LINEAR function.
                  Outputs are scaled to [0, 1]: a window by its output range, a VOI LUT by 2^bits - 1.
  MONOCHROME1     inverted after the VOI: 1 - v.
  colour          RGB / YBR converted to RGB by pydicom, divided by 2^BitsStored - 1; PALETTE COLOR through
                  pydicom.pixels.apply_color_lut, divided by 2^bits - 1 of the LUT descriptor.

Images with more than 4096 values per frame store a strided sample (every k-th value of the C-order frame,
k = ceil(n / 4096)), enough to catch a wrong window, sign or byte order anywhere in the image.
"""
import hashlib
import json
import math
import os
import sys

import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut, apply_voi_lut

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "ImagingTests", "Fixtures", "dicom")
MAX_VALUES = 4096

# Extra windows checked besides the file's own (name -> list of settings).
EXTRA = {
    "CT_small.dcm": [{"window": "auto"}, {"window": {"center": 40, "width": 400}}],
    "RG3_J2KI.dcm": [{"window": "auto"}, {"window": {"center": 300, "width": 600}}],
    "MR_small.dcm": [{"window": "auto"}],
}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def window_linear(x, c, w):
    # PS3.3 C.11.2.1.2.1, output range [0, 1].
    if w < 1:
        raise ValueError("window width < 1")
    t = (x - (c - 0.5)) / (w - 1) + 0.5
    return np.clip(t, 0.0, 1.0)


def enhanced_group(ds, frame, sequence):
    """The item of `sequence` that applies to `frame`: the per-frame group's, else the shared one."""
    for groups in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"):
        if groups not in ds:
            continue
        items = ds[groups].value
        item = items[frame] if groups.startswith("PerFrame") else items[0]
        if sequence in item:
            return item[sequence][0]
    return None


def gray_frame(ds, stored, frame, setting):
    mono1 = ds.PhotometricInterpretation == "MONOCHROME1"
    pvt = enhanced_group(ds, frame, "PixelValueTransformationSequence")
    if pvt is not None:
        x = stored.astype(np.float64) * float(pvt.get("RescaleSlope", 1)) + float(pvt.get("RescaleIntercept", 0))
        native = x
    else:
        native = apply_modality_lut(stored, ds)  # integer when there is no rescale: a VOI LUT indexes it
        x = native.astype(np.float64)
    window = setting.get("window", "dicom")
    used = None
    if window == "dicom":
        voi = enhanced_group(ds, frame, "FrameVOILUTSequence")
        if voi is not None and "WindowCenter" in voi:
            c = float(pydicom.multival.MultiValue(float, [voi.WindowCenter])[0]) if not isinstance(voi.WindowCenter, (list, pydicom.multival.MultiValue)) else float(voi.WindowCenter[0])
            w = float(voi.WindowWidth) if not isinstance(voi.WindowWidth, (list, pydicom.multival.MultiValue)) else float(voi.WindowWidth[0])
            v = window_linear(x, c, w)
            used = {"kind": "window", "center": c, "width": w, "function": "LINEAR"}
        elif "VOILUTSequence" in ds:
            lut = ds.VOILUTSequence[0]
            bits = int(lut.LUTDescriptor[2])
            v = apply_voi_lut(native, ds, index=0, prefer_lut=True).astype(np.float64) / (2 ** bits - 1)
            used = {"kind": "lut", "bits": bits}
        elif "WindowCenter" in ds:
            wc = ds.WindowCenter
            ww = ds.WindowWidth
            c = float(wc[0]) if isinstance(wc, pydicom.multival.MultiValue) else float(wc)
            w = float(ww[0]) if isinstance(ww, pydicom.multival.MultiValue) else float(ww)
            fn = ds.get("VOILUTFunction", "LINEAR")
            out = apply_voi_lut(native, ds, index=0, prefer_lut=True).astype(np.float64)
            # pydicom's output range (processing.apply_windowing): the stored range, or the Modality LUT's,
            # carried through the rescale when there is one.
            bits = ds.BitsStored
            if "ModalityLUTSequence" in ds:
                lo, hi = 0, 2 ** int(ds.ModalityLUTSequence[0].LUTDescriptor[2]) - 1
            elif ds.PixelRepresentation == 0:
                lo, hi = 0, 2 ** bits - 1
            else:
                lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
            if ds.get("RescaleSlope") is not None and ds.get("RescaleIntercept") is not None:
                m, b = float(ds.RescaleSlope), float(ds.RescaleIntercept)
                lo, hi = lo * m + b, hi * m + b
            v = (out - lo) / (hi - lo)
            used = {"kind": "window", "center": c, "width": w, "function": fn}
        else:
            lo, hi = float(x.min()), float(x.max())
            v = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
            used = {"kind": "range", "low": lo, "high": hi}
    elif window == "auto":
        lo, hi = np.percentile(x, [0.5, 99.5])
        v = np.clip((x - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(x)
        used = {"kind": "auto", "low": float(lo), "high": float(hi)}
    else:
        c, w = float(window["center"]), float(window["width"])
        v = window_linear(x, c, w)
        used = {"kind": "window", "center": c, "width": w, "function": "LINEAR"}
    if mono1:
        v = 1.0 - v
    return v, used


def colour_frame(ds, arr):
    bits = ds.BitsStored
    return arr.astype(np.float64) / (2 ** bits - 1)


def palette_frame(ds, arr):
    """PALETTE COLOR through pydicom's apply_color_lut, scaled by the LUTs' bit depth."""
    from pydicom.pixels import apply_color_lut
    bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    return apply_color_lut(arr, ds).astype(np.float64) / (2 ** bits - 1)


def sample(values):
    flat = values.reshape(-1)
    step = max(1, math.ceil(flat.size / MAX_VALUES))
    return step, [round(float(v), 6) for v in flat[::step]]


def main():
    out_dir = os.path.join(ROOT, "reference")
    os.makedirs(out_dir, exist_ok=True)
    for name in sorted(os.listdir(ROOT)):
        if not name.endswith(".dcm"):
            continue
        path = os.path.join(ROOT, name)
        try:
            ds = pydicom.dcmread(path)
            arr = ds.pixel_array
        except Exception as e:  # no pixel data, truncated, ...: the tests expect a refusal
            print(f"{name}: not decodable by pydicom ({type(e).__name__}); no reference")
            continue
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        spp = int(ds.SamplesPerPixel)
        if frames == 1:
            arr = arr[np.newaxis]
        check = sorted({0, frames // 2, frames - 1})
        settings = [{"window": "dicom"}] + EXTRA.get(name, [])
        entry = {
            "file": name,
            "sha256": sha256(path),
            "transfer_syntax": str(ds.file_meta.TransferSyntaxUID),
            "photometric": ds.PhotometricInterpretation,
            "rows": int(ds.Rows), "columns": int(ds.Columns), "frames": frames,
            "samples_per_pixel": spp, "bits_stored": int(ds.BitsStored),
            "checks": [],
        }
        for setting in settings:
            for f in check:
                if ds.PhotometricInterpretation == "PALETTE COLOR":
                    planes = np.transpose(palette_frame(ds, arr[f]), (2, 0, 1))
                    used = {"kind": "palette"}
                elif spp == 1:
                    v, used = gray_frame(ds, arr[f], f, setting)
                    planes = v
                else:
                    planes = np.transpose(colour_frame(ds, arr[f]), (2, 0, 1))  # HWC -> CHW
                    used = {"kind": "colour"}
                step, values = sample(planes)
                entry["checks"].append({"setting": setting, "frame": f, "used": used, "step": step,
                                        "count": int(planes.size), "values": values})
        with open(os.path.join(out_dir, name[:-4] + ".json"), "w") as fh:
            json.dump(entry, fh, separators=(",", ":"))
        print(f"{name}: {entry['photometric']} {frames} frame(s), {len(entry['checks'])} checks")


if __name__ == "__main__":
    sys.exit(main())
