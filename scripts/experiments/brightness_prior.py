"""The imprint attack's default brightness prior (Sources/Attacks/Imprint.swift, `defaultBrightness`).

A malicious server places its imprint bins at quantiles of the distribution it expects for the images' mean
brightness. medpfl's default assumes the distribution of public medical images: the 406 images of the
project's medical-sample (../shared/datasets/medical-sample/full, PROVENANCE.md there), each read as RGB in
[0, 1], its mean over all pixels and channels. Prints the mean and standard deviation over the images.

    python3 scripts/experiments/brightness_prior.py [FOLDER]
"""
import glob
import sys

import numpy as np
from PIL import Image

folder = sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/medical-sample/full"
v = np.array([np.asarray(Image.open(f).convert("RGB"), dtype=np.float64).mean() / 255
              for f in sorted(glob.glob(f"{folder}/*/*.png"))])
print(f"{len(v)} images: mean brightness {v.mean():.4f}, std {v.std():.4f}, "
      f"1/50/99th percentiles {np.percentile(v, [1, 50, 99]).round(3).tolist()}")
