#!/usr/bin/env python3
"""Does averaging the image classifier over flips help glaucoma?

Recomputes the out-of-fold logits of the five fold models (WORK/model_K.pt,
the photos of WORK/oof_K.npz) as the mean over the photo as it is,
mirrored, upside down and both, and compares, on folds 1-4 only (fold 0 is
the held-out fold of models/diagnose.md), the glaucoma logit's AUC and the
leave-one-fold-out AUC of the glaucoma combination with the vertical CDR
(WORK/disc_*.jsonl) with one pass and with the flips.

  /usr/bin/python3 train/diagnose/flip_check.py
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train as T  # noqa: E402


def flipped_logits(z, fold_ids, pix):
    zt = np.zeros_like(z)
    for k in fold_ids:
        idx = np.load(os.path.join(T.WORK, f"oof_{k}.npz"))["idx"]
        model = T.Net()
        model.load_state_dict(torch.load(os.path.join(T.WORK, f"model_{k}.pt")))
        model.eval()
        with torch.no_grad():
            for s in range(0, len(idx), 64):
                x = torch.from_numpy(pix[idx[s:s + 64]]).permute(0, 3, 1, 2).float()
                zt[idx[s:s + 64]] = (sum(model(x.flip(d) if d else x) for d in [(), (3,), (2,), (2, 3)]) / 4).numpy()
    return zt


def main():
    torch.set_num_threads(2)
    src, names, lab, ok, z, fold = T.oof_logits()
    zt = flipped_logits(z, range(5), T.load_pixels(128))
    v = T.read_vcdr(len(src))
    y = lab[:, 2]
    rows = np.array([s.startswith("eye4") for s in src]) & ok & (y >= 0) & (fold != 0)
    have = rows & ~np.isnan(v)
    for name, Z in (("one pass", z), ("four flips", zt)):
        x = np.stack([Z[:, 8].astype(np.float64), v], 1)
        p = np.full(len(src), np.nan)
        for k in (1, 2, 3, 4):
            tr, te = have & (fold != k), have & (fold == k)
            p[te] = T.apply_logistic(x[te], T.fit_logistic(x[tr], y[tr].astype(float)))
        print(f"{name}: glaucoma logit AUC {T.auc(Z[rows, 8], y[rows]):.4f} (folds 1-4), "
              f"with the vertical CDR {T.auc(p[have], y[have]):.4f} (leave-one-fold-out over the {int(have.sum())} measured photos of folds 1-4)")


if __name__ == "__main__":
    main()
