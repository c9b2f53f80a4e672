#!/usr/bin/env python3
"""Writes the synthetic PNG fixtures of ImagingTests with zlib + struct only (no PIL).

Run from this folder: python3 make_fixtures.py [SHARED_DIR]. The pixel values written here are the ones
the tests expect; keep the two in step. With SHARED_DIR (the project's shared/ folder) it also refreshes
the real-image fixtures: the 32x32 sample ultrasound/echo4c_f012.png and its golden
tensors `x` of lenet/case-train-b1 (the PNG / 255) and resnet18/case-eval-b1 (its 64x64 bilinear
upsampling by PyTorch) as raw little-endian float32 files.
"""
import json, os, shutil, struct, sys, zlib


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(width, height, depth, color, rows, extra=b""):
    """rows: list of raw scanline bytes (without filter byte)."""
    raw = b"".join(b"\x00" + r for r in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def pack_bits(values, depth):
    out, acc, n = bytearray(), 0, 0
    for v in values:
        acc = (acc << depth) | v
        n += depth
        if n == 8:
            out.append(acc); acc, n = 0, 0
    if n:
        out.append(acc << (8 - n))
    return bytes(out)


def u16(values):
    return b"".join(struct.pack(">H", v) for v in values)


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


def main():
    # 8-bit gray 3x2
    write("gray8.png", png(3, 2, 8, 0, [bytes([0, 128, 255]), bytes([1, 254, 77])]))
    # 16-bit gray 3x2
    write("gray16.png", png(3, 2, 16, 0, [u16([0, 65535, 257]), u16([1000, 32768, 65534])]))
    # 1-bit gray 4x1: 0 1 1 0
    write("gray1.png", png(4, 1, 1, 0, [pack_bits([0, 1, 1, 0], 1)]))
    # 8-bit gray+alpha 2x2: (gray, alpha)
    write("gray_alpha8.png", png(2, 2, 8, 4, [bytes([10, 255, 20, 0]), bytes([30, 128, 250, 7])]))
    # 16-bit gray+alpha 2x1
    write("gray_alpha16.png", png(2, 1, 16, 4, [u16([65535, 0, 4660, 65535])]))
    # 8-bit RGB 2x2
    write("rgb8.png", png(2, 2, 8, 2, [bytes([255, 0, 0, 0, 255, 0]), bytes([0, 0, 255, 12, 34, 56])]))
    # 16-bit RGB 2x1
    write("rgb16.png", png(2, 1, 16, 2, [u16([65535, 0, 1, 300, 40000, 65534])]))
    # 8-bit RGBA 2x2 with varied alpha (alpha must be dropped, not composited)
    write("rgba8.png", png(2, 2, 8, 6, [bytes([255, 0, 0, 0, 0, 255, 0, 64]),
                                         bytes([0, 0, 255, 128, 200, 100, 50, 255])]))
    # 4-bit palette 3x1 with 3 entries and transparency for entry 1 (tRNS)
    plte = chunk(b"PLTE", bytes([255, 0, 0, 0, 128, 255, 10, 20, 30]))
    trns = chunk(b"tRNS", bytes([255, 0]))
    write("palette4.png", png(3, 1, 4, 3, [pack_bits([0, 1, 2], 4)], plte + trns))
    # 8-bit palette 2x2 without transparency
    plte8 = chunk(b"PLTE", bytes([0, 0, 0, 255, 255, 255, 17, 34, 51, 200, 150, 100]))
    write("palette8.png", png(2, 2, 8, 3, [bytes([3, 2]), bytes([1, 0])], plte8))
    # A 16x16 RGB gradient, then a truncated copy (cut inside IDAT) and a copy with a damaged IDAT CRC.
    rows = [bytes(v for x in range(16) for v in (x * 16, y * 16, (x + y) * 8)) for y in range(16)]
    good = png(16, 16, 8, 2, rows)
    write("gradient16.png", good)
    idat = good.index(b"IDAT")
    write("truncated.png", good[: idat + 20])
    bad = bytearray(good)
    bad[idat + 6] ^= 0xFF
    write("bad_crc.png", bytes(bad))
    write("signature_only.png", good[:5])
    write("empty.png", b"")
    # Not a PNG at all.
    write("not_a_png.png", b"GIF89a this is not a PNG file\n")

    if len(sys.argv) > 1:
        shared = sys.argv[1]
        base = os.path.join(shared, "datasets/medical-sample/32")
        for rel in ["ultrasound/echo4c_f012.png"]:
            shutil.copyfile(os.path.join(base, rel), rel.replace("/", "_"))
        for case, out in [("golden/lenet/case-train-b1.safetensors", "echo4c_f012_x32.f32"),
                          ("golden/resnet18/case-eval-b1.safetensors", "echo4c_f012_bilinear64.f32")]:
            blob = open(os.path.join(shared, case), "rb").read()
            n = struct.unpack("<Q", blob[:8])[0]
            info = json.loads(blob[8:8 + n])["x"]
            a, b = info["data_offsets"]
            assert info["dtype"] == "F32"
            write(out, blob[8 + n + a: 8 + n + b])


if __name__ == "__main__":
    main()
