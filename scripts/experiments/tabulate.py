#!/usr/bin/env python3
"""Prints a Markdown table from `medpfl attack --json` outputs (one file per attack x model)."""
import json, sys
print("| attack | model | images | ASR | mean SSIM | mean MSE | label acc. | s / image |")
print("|---|---|---|---|---|---|---|---|")
for path in sys.argv[1:]:
    with open(path) as f:
        a = json.load(f)["aggregate"]
    print(f"| {a['attack']} | {a['model']} | {a['images']} | {a['asr']:.2f} | {a['meanSSIM']:.3f} | {a['meanMSE']:.4f} | "
          f"{a['labelAccuracy']:.2f} | {a['secondsPerImage']:.2f} |")
