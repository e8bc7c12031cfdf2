#!/usr/bin/env python3
"""Choose a probability threshold per lesion type on the cross-validation
folds' held-out predictions, and measure what it changes.

train.py --fold K scores its held-out images at a fixed 0.5. Here every
fold model (WORK/ckpt.pt of each --runs folder) predicts its held-out
images again; per type, the threshold that maximizes the pixel Dice (F1)
is chosen

  - for the figures, by cross-fitting: the images of fold K are judged at
    the threshold chosen on the other folds' held-out images only, so no
    image's figure uses its own labels;
  - for the shipped model (--out JSON, read by train.py --export-only
    --thresholds), on all held-out images together.

Figures (FOV pixels at the working resolution, held-out images pooled, as
train.py scores): pixel Dice, object sensitivity (ground-truth 8-connected
components touched) and false objects per image, at 0.5 and at the chosen
thresholds. Candidates: 0.05, 0.10, ..., 0.95.

  /usr/bin/python3 train/lesions/thresholds.py --data train/data \\
      --runs train/lesions/runs/light-f0 train/lesions/runs/light-f1 \\
             train/lesions/runs/light-f2 train/lesions/runs/light-f3 \\
      --out train/lesions/runs/thresholds.json
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train as T  # noqa: E402  (the data, model and prediction of the training script)

CANDIDATES = [round(0.05 * i, 2) for i in range(1, 20)]
BINS = 100  # probability histogram bins; the candidates fall on bin edges


def image_stats(prob, masks, fov):
    """Per class: histograms of the FOV pixels' probabilities for lesion and
    other pixels, and per candidate threshold (hit GT objects, GT objects,
    false objects)."""
    out = []
    for c in range(len(T.CLASSES)):
        p, gt = prob[c][fov], masks[c][fov] > 0
        pos = np.histogram(p[gt], bins=BINS, range=(0.0, 1.0))[0]
        neg = np.histogram(p[~gt], bins=BINS, range=(0.0, 1.0))[0]
        g = masks[c] > 0
        gl, ng = ndimage.label(g, structure=T.EIGHT)
        objects = {}
        for t in CANDIDATES:
            pred = (prob[c] >= t) & fov
            hit = np.unique(gl[pred & g])
            pl, npred = ndimage.label(pred, structure=T.EIGHT)
            touched = np.unique(pl[pred & g])
            objects[t] = (int((hit > 0).sum()), ng, npred - int((touched > 0).sum()))
        out.append({"pos": pos, "neg": neg, "objects": objects})
    return out


def pooled(parts, c):
    """Dice, object sensitivity and false objects per image over groups of
    images, each group judged at its own threshold: parts = [(stats, t)]."""
    tp = fp = fn = hit = gt = fo = n = 0
    for stats, t in parts:
        k = int(round(t * BINS))
        tp += sum(int(s[c]["pos"][k:].sum()) for s in stats)
        fn += sum(int(s[c]["pos"][:k].sum()) for s in stats)
        fp += sum(int(s[c]["neg"][k:].sum()) for s in stats)
        hit += sum(s[c]["objects"][t][0] for s in stats)
        gt += sum(s[c]["objects"][t][1] for s in stats)
        fo += sum(s[c]["objects"][t][2] for s in stats)
        n += len(stats)
    return {"dice": 2 * tp / max(2 * tp + fp + fn, 1), "object_sensitivity": hit / gt if gt else None,
            "hit_objects": hit, "gt_objects": gt, "fp_per_image": fo / n}


def best(stats, c):
    return max(CANDIDATES, key=lambda t: (pooled([(stats, t)], c)["dice"], -abs(t - 0.5)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--data", default=os.path.join(repo, "..", "shared", "datasets"))
    ap.add_argument("--runs", nargs="+", required=True, help="train.py --fold K work folders (one per fold)")
    ap.add_argument("--out", required=True, help="JSON: chosen thresholds and the figures")
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    seg, paths = T.image_list(a.data)
    stats, fold_of = [], []
    for run in a.runs:
        ck = torch.load(os.path.join(run, "ckpt.pt"), map_location="cpu")
        fold, folds = ck["args"]["fold"], int(ck["args"]["folds"])
        if fold == "all":
            sys.exit(f"{run}: trained on all images; want the fold models")
        model = T.UNet(tuple(ck["widths"]))
        model.load_state_dict(ck["model"])
        model.eval()
        for i, path in enumerate(paths):
            if i % folds != int(fold):
                continue
            name, img, masks, fov = T.load_item(seg, path)
            prob = T.predict(model, img, "cpu", a.tile)
            stats.append(image_stats(prob, masks, fov))
            fold_of.append(int(fold))
            print(f"fold {fold}: {name}", flush=True)
    folds = sorted(set(fold_of))
    if len(folds) < 2:
        sys.exit("need at least two folds to cross-fit")

    result = {"candidates": CANDIDATES, "criterion": "pixel Dice, pooled over held-out images",
              "runs": [os.path.abspath(r) for r in a.runs], "images": len(stats), "classes": {}}
    print(f"\n{len(stats)} held-out images, folds {folds}")
    print(f"{'type':<4} {'t':>5} {'Dice':>7} {'obj sens':>9} {'FP/img':>7}   {'cross-fit t':<20} {'Dice':>7} "
          f"{'obj sens':>9} {'FP/img':>7}   shipped t")
    for c, cls in enumerate(T.CLASSES):
        at05 = pooled([(stats, 0.5)], c)
        parts = []
        for f in folds:
            other = [s for s, g in zip(stats, fold_of) if g != f]
            mine = [s for s, g in zip(stats, fold_of) if g == f]
            parts.append((mine, best(other, c)))
        xfit = {**pooled(parts, c), "thresholds_per_fold": [t for _, t in parts]}
        chosen = xfit["thresholds_per_fold"]
        shipped = best(stats, c)
        result["classes"][cls] = {"at_0.5": at05, "cross_fitted": xfit, "shipped_threshold": shipped}

        def sens(m):
            return "n/a" if m["object_sensitivity"] is None else f"{m['object_sensitivity']:.3f}"
        print(f"{cls:<4} {0.5:>5.2f} {at05['dice']:>7.4f} {sens(at05):>9} {at05['fp_per_image']:>7.1f}   "
              f"{str(chosen):<20} {xfit['dice']:>7.4f} {sens(xfit):>9} {xfit['fp_per_image']:>7.1f}   {shipped}")
    result["thresholds"] = {cls: v["shipped_threshold"] for cls, v in result["classes"].items()}
    with open(a.out + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(a.out + ".tmp", a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
