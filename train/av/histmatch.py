#!/usr/bin/env python3
"""Experiment (not shipped; models/av.md): recolour photos by matching each
channel's histogram inside the field of view (brightest channel > 25) to
that of the 20 DRIVE training photos, writing copies to OUT, so that the
A/V model can be scored on them unchanged.

  # RITE test, recoloured: score with retinalgpt eval av --root /tmp/rite-hm
  /usr/bin/python3 train/av/histmatch.py --out /tmp/rite-hm/images ../shared/datasets/rite/test/images/*
  ln -s $PWD/../shared/datasets/rite/test/av /tmp/rite-hm/av; ln -s $PWD/../shared/datasets/rite/test/mask /tmp/rite-hm/mask
"""
import argparse
import glob
import os

import numpy as np
from PIL import Image


def reference_cdf(folder):
    hist = np.zeros((3, 256))
    for p in sorted(glob.glob(os.path.join(folder, "*"))):
        a = np.asarray(Image.open(p).convert("RGB"))
        m = a.max(2) > 25
        for c in range(3):
            hist[c] += np.bincount(a[..., c][m], minlength=256)
    cdf = np.cumsum(hist, 1)
    return cdf / cdf[:, -1:]


def match(a, ref):
    a = a.copy()
    m = a.max(2) > 25
    for c in range(3):
        h = np.bincount(a[..., c][m], minlength=256).astype(float)
        lut = np.searchsorted(ref[c], np.cumsum(h) / h.sum()).clip(0, 255).astype(np.uint8)
        ch = a[..., c]
        ch[m] = lut[ch[m]]
    return a


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--reference", default=os.path.join(here, "..", "..", "..", "shared", "datasets", "drive", "training", "images"))
    a = ap.parse_args()
    ref = reference_cdf(a.reference)
    os.makedirs(a.out, exist_ok=True)
    for p in a.images:
        out = os.path.join(a.out, os.path.splitext(os.path.basename(p))[0] + ".png")
        Image.fromarray(match(np.asarray(Image.open(p).convert("RGB")), ref)).save(out)
    print(f"wrote {len(a.images)} recoloured photos to {a.out}")


if __name__ == "__main__":
    main()
