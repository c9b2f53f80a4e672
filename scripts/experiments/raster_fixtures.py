#!/usr/bin/env python3
"""JPEG and TIFF test fixtures from the bundled real images, and their reference values (run once; committed).

    pip install pillow==13.0.0 tifffile numpy pydicom
    python3 scripts/experiments/raster_fixtures.py

Writes Tests/ImagingTests/Fixtures/raster/: JPEG (gray, RGB 4:2:0, progressive; CMYK and truncated for refusals)
from data/medical-sample/full, and TIFF (8-bit gray LZW, 16-bit gray from CT_small.dcm's stored values, RGB tiled
deflate, min-is-white, a 3-page file, palette, truncated) written by tifffile/Pillow. reference.json holds, per
file and page, every sample as Pillow (JPEG) and tifffile (TIFF) decode it, CHW, with its scale (255 or 65535).
"""
import io, json, os
import numpy as np
import pydicom
import tifffile
from PIL import Image

HERE = os.path.dirname(__file__)
ROOT = os.path.join(HERE, "..", "..")
OUT = os.path.join(ROOT, "Tests", "ImagingTests", "Fixtures", "raster")
SAMPLE = os.path.join(ROOT, "data", "medical-sample", "full")


def crop(cls, name, box=(0, 0, 96, 80)):
    return Image.open(os.path.join(SAMPLE, cls, name)).crop(box)


def chw(a, scale):
    """The decoded samples as integers, CHW; the tests divide by `scale` (stored beside them)."""
    a = np.asarray(a).astype(np.int64)
    if a.ndim == 2:
        a = a[np.newaxis]
    else:
        a = np.transpose(a, (2, 0, 1))
    return {"scale": scale, "samples": [int(v) for v in a.reshape(-1)]}


def main():
    os.makedirs(OUT, exist_ok=True)
    ref = {}
    xray = crop("xray", sorted(os.listdir(os.path.join(SAMPLE, "xray")))[0]).convert("L")
    fundus = crop("fundus", sorted(os.listdir(os.path.join(SAMPLE, "fundus")))[0]).convert("RGB")
    histo = crop("histology", sorted(os.listdir(os.path.join(SAMPLE, "histology")))[0]).convert("RGB")
    xray.save(os.path.join(OUT, "xray-gray.jpg"), quality=90)
    fundus.save(os.path.join(OUT, "fundus-rgb.jpg"), quality=90, subsampling=2)
    histo.save(os.path.join(OUT, "histology-progressive.jpg"), quality=85, progressive=True)
    histo.convert("CMYK").save(os.path.join(OUT, "histology-cmyk.jpg"), quality=90)
    raw = open(os.path.join(OUT, "fundus-rgb.jpg"), "rb").read()
    open(os.path.join(OUT, "truncated.jpg"), "wb").write(raw[: len(raw) // 3])
    for n in ["xray-gray.jpg", "fundus-rgb.jpg", "histology-progressive.jpg"]:
        im = Image.open(os.path.join(OUT, n))
        ref[n] = [{"page": 0, "channels": 1 if im.mode == "L" else 3, "width": im.width, "height": im.height,
                   "values": chw(im, 255)}]

    xray.save(os.path.join(OUT, "xray-gray8-lzw.tif"), compression="tiff_lzw")
    ct = pydicom.dcmread(os.path.join(ROOT, "Tests", "ImagingTests", "Fixtures", "dicom", "CT_small.dcm")).pixel_array
    ct16 = (ct.astype(np.int32) - ct.min()).astype(np.uint16)[:96, :80]
    tifffile.imwrite(os.path.join(OUT, "ct-gray16.tif"), ct16)
    tifffile.imwrite(os.path.join(OUT, "fundus-rgb-tiled.tif"), np.asarray(fundus.resize((128, 96))), tile=(32, 32),
                     compression="zlib", photometric="rgb")
    tifffile.imwrite(os.path.join(OUT, "xray-minwhite.tif"), 255 - np.asarray(xray), photometric="miniswhite")
    with tifffile.TiffWriter(os.path.join(OUT, "pages3.tif")) as w:
        for k in range(3):
            w.write(np.asarray(xray)[:, k * 10:k * 10 + 60], photometric="minisblack")
    histo.convert("P", palette=Image.ADAPTIVE, colors=32).save(os.path.join(OUT, "histology-palette.tif"))
    raw = open(os.path.join(OUT, "xray-gray8-lzw.tif"), "rb").read()
    open(os.path.join(OUT, "truncated.tif"), "wb").write(raw[: len(raw) // 2])
    ref["xray-gray8-lzw.tif"] = [{"page": 0, "channels": 1, "width": xray.width, "height": xray.height, "values": chw(xray, 255)}]
    ref["ct-gray16.tif"] = [{"page": 0, "channels": 1, "width": 80, "height": 96, "values": chw(tifffile.imread(os.path.join(OUT, "ct-gray16.tif")), 65535)}]
    t = tifffile.imread(os.path.join(OUT, "fundus-rgb-tiled.tif"))
    ref["fundus-rgb-tiled.tif"] = [{"page": 0, "channels": 3, "width": 128, "height": 96, "values": chw(t, 255)}]
    ref["xray-minwhite.tif"] = [{"page": 0, "channels": 1, "width": xray.width, "height": xray.height, "values": chw(xray, 255)}]
    with tifffile.TiffFile(os.path.join(OUT, "pages3.tif")) as tf:
        ref["pages3.tif"] = [{"page": k, "channels": 1, "width": 60, "height": xray.height, "values": chw(p.asarray(), 255)}
                             for k, p in enumerate(tf.pages)]
    pal = Image.open(os.path.join(OUT, "histology-palette.tif")).convert("RGB")
    ref["histology-palette.tif"] = [{"page": 0, "channels": 3, "width": pal.width, "height": pal.height, "values": chw(pal, 255)}]
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))
    print(sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
