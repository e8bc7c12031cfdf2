#!/usr/bin/env python3
"""Diagnostics behind the "Against the targets" paragraph of models/vessels.md.

On the DRIVE test split, with a training checkpoint (not the ONNX file):
  - AUC over all FOV pixels and over pixels more than --erode px inside the
    FOV mask (is the FOV border what costs AUC?);
  - AUC and F1 at the model's threshold when the probabilities of 2 and 4
    flipped copies are averaged (is the gap in the model or in inference?).
These are measurements for deciding what to improve, not shipped behaviour.

  /usr/bin/python3 train/vessels/diagnose.py --ckpt train/vessels/runs/ft/ckpt.pt --threshold 0.42
"""
import argparse
import glob
import os
import sys

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import train as T  # noqa: E402


def auc(p, t):
    """Mann-Whitney AUC (ties broken by order; scores are continuous)."""
    order = np.argsort(p, kind="mergesort")
    t = t[order]
    ranks = np.arange(1, len(p) + 1)
    pos = t.sum()
    neg = len(t) - pos
    return (ranks[t].sum() - pos * (pos + 1) / 2) / (pos * neg)


def predict_flips(model, x, k):
    outs = [T.predict(model, x, "cpu")]
    if k >= 2:
        outs.append(T.predict(model, np.ascontiguousarray(x[:, :, ::-1]), "cpu")[:, ::-1])
    if k >= 4:
        outs.append(T.predict(model, np.ascontiguousarray(x[:, ::-1, :]), "cpu")[::-1, :])
        outs.append(T.predict(model, np.ascontiguousarray(x[:, ::-1, ::-1]), "cpu")[::-1, ::-1])
    return np.mean(outs, 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--drive", default=os.path.join(here, "..", "..", "..", "shared", "datasets", "drive", "test"))
    ap.add_argument("--threshold", type=float, required=True)
    ap.add_argument("--erode", type=int, default=12)
    args = ap.parse_args()
    torch.set_num_threads(2)
    model = T.UNet()
    model.load_state_dict(torch.load(args.ckpt, map_location="cpu")["model"])
    model.eval()

    for k in (1, 2, 4):
        probs, truth, inner = [], [], []
        for img in sorted(glob.glob(os.path.join(args.drive, "images", "*.tif"))):
            n = os.path.basename(img).split("_")[0]
            p = predict_flips(model, T.fov_normalize(T.load_rgb(img)), k)
            lab = T.load_label(os.path.join(args.drive, "1st_manual", f"{n}_manual1.gif")) > 0.5
            fov = np.asarray(Image.open(os.path.join(args.drive, "mask", f"{n}_test_mask.gif")).convert("L")) > 127
            probs.append(p[fov]); truth.append(lab[fov])
            inner.append(ndimage.binary_erosion(fov, iterations=args.erode)[fov])
        p, t, inn = np.concatenate(probs), np.concatenate(truth), np.concatenate(inner)
        pred = p >= args.threshold
        f1 = 2 * (pred & t).sum() / (pred.sum() + t.sum())
        line = f"flips {k}: AUC {auc(p, t):.4f}, F1 {f1:.4f}"
        if k == 1:
            line += f"; AUC more than {args.erode} px inside the FOV {auc(p[inn], t[inn]):.4f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
