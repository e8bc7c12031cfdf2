#!/usr/bin/env python3
"""Train the optic disc verifier and export it to ONNX.

The disc/cup model (train/disccup) outlines whatever oval it is centred on,
and the locator (train/disc) can be centred on a cluster of bright hard
exudates that looks like a disc at 1/5 resolution (a macula-only photo
with an exudate ring). The verifier is the last word: a small classifier
that looks at the square of side SIDE_OVER_R disc radii around the disc
that was found, at SIZE x SIZE, and says whether it is an optic disc (a
pale oval with vessels leaving it) or not.

Go (internal/disc, Verifier) cuts the same square from the photo around
the segmented disc's centroid with its measured radius (disc.CropAround,
bilinear, black beyond the photo, as train/disccup/train.py's
resample_square), normalizes it with infer.FOVStandardize and applies the
exported threshold.

Data (../shared/datasets), every square at SIDE_OVER_R x the disc radius of
its photo:
  positives: the labelled disc of the 413 IDRiD grading photos (radius:
    half the longer side of the optic_disc box in boxes.csv) and of the 50
    Drishti-GS1 photos (radius: the equivalent radius of the pixels at
    least two of four experts marked), POS_VARIANTS squares each with the
    centre moved up to JITTER radii and the radius scaled 0.8-1.25, as a
    segmented disc is off;
  negatives, from the same photos, NEG_VARIANTS squares each, radius
    scaled --neg-radius-min (0.7) to 1.4: the fovea, up to three hard-exudate and one
    haemorrhage box centres of boxes.csv at least 2 disc radii from the
    disc, and two random points of the field at least 2.5 radii from it.

  /usr/bin/python3 train/discverify/train.py cv      # 5-fold CV by photo -> WORK/cv.json (threshold, AUC)
  /usr/bin/python3 train/discverify/train.py final   # all photos -> models/discverify.{onnx,json}, parity fixture

The exported threshold is the one of THRESHOLDS with the least balanced
error (share of held-out discs rejected + share of held-out look-alikes
passed, ties to the lower) in cross-validation, so run cv before final. Runs on CPU (--threads) or CUDA when present.
"""
import argparse
import base64
import csv
import importlib.util
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
from common_nn import (FOV_THRESHOLD, Block, camera_variant, export_onnx, fov_normalize, fov_normalize_batch,  # noqa: E402
                       rank_auc, run_logger)


def _disccup():
    """train/disccup/train.py, for resample_square (the crop Go mirrors)."""
    spec = importlib.util.spec_from_file_location("disccup_train", os.path.join(REPO, "train", "disccup", "train.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


SIZE = 96
SIDE_OVER_R = 4.0
POS_VARIANTS, NEG_VARIANTS = 6, 2
JITTER = 0.25
LOWRES_MIN = 24
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 19))
IDRID_DISC_RADIUS = 131.0  # px of the 2144-wide copies, when a photo has no optic_disc box


# ---------------------------------------------------------------- data

def read_fovs(path):
    with open(path) as f:
        return {r["image"]: (float(r["cx"]), float(r["cy"]), float(r["radius"])) for r in csv.DictReader(f)}


def anchors(args):
    """Per photo: (path, group, [(kind, cx, cy, r)]) with kind "disc" or a
    negative's name."""
    rng = random.Random(args.seed)
    out = []

    def field_points(fov, disc, r, n):
        cx, cy, R = fov
        pts = []
        for _ in range(200):
            if len(pts) == n:
                break
            a, m = rng.uniform(0, 2 * math.pi), R * 0.85 * math.sqrt(rng.random())
            x, y = cx + m * math.cos(a), cy + m * math.sin(a)
            if math.hypot(x - disc[0], y - disc[1]) >= 2.5 * r:
                pts.append(("field", x, y, r))
        return pts

    root = os.path.join(args.data, "idrid", "grading")
    fovs = read_fovs(args.fov_idrid)
    radii, boxes = {}, {}
    with open(os.path.join(root, "boxes.csv")) as f:
        for b in csv.DictReader(f):
            x0, y0, x1, y1 = (float(b[k]) for k in ("x_min", "y_min", "x_max", "y_max"))
            if b["label"] == "optic_disc":
                radii[b["image"]] = max(x1 - x0, y1 - y0) / 2
            else:
                boxes.setdefault((b["image"], b["label"]), []).append(((x0 + x1) / 2, (y0 + y1) / 2))
    with open(os.path.join(root, "labels.csv")) as f:
        for row in sorted(csv.DictReader(f), key=lambda r: r["image"]):
            name = row["image"]
            d = (float(row["od_x"]), float(row["od_y"]))
            r = radii.get(name, IDRID_DISC_RADIUS)
            a = [("disc", d[0], d[1], r), ("fovea", float(row["fovea_x"]), float(row["fovea_y"]), r)]
            for label, k in (("hard_exudates", 3), ("haemorrhage", 1)):
                far = [p for p in boxes.get((name, label), []) if math.hypot(p[0] - d[0], p[1] - d[1]) >= 2 * r]
                a += [(label, x, y, r) for x, y in rng.sample(far, min(k, len(far)))]
            a += field_points(fovs[name], d, r, 2)
            out.append((os.path.join(root, "images", name), "idrid:" + name, a))

    root = os.path.join(args.data, "drishti_gs1")
    fovs = read_fovs(args.fov_drishti)
    with open(os.path.join(root, "labels.csv")) as f:
        for row in sorted(csv.DictReader(f), key=lambda r: r["image"]):
            soft = np.asarray(Image.open(os.path.join(root, row["od_softmap"])).convert("L"))
            r = math.sqrt(float((soft >= 128).sum()) / math.pi)
            d = (float(row["disc_center_x"]), float(row["disc_center_y"]))
            a = [("disc", d[0], d[1], r)] + field_points(fovs[row["image"]], d, r, 2)
            out.append((os.path.join(root, "images", row["image"]), "drishti:" + row["image"], a))
    return out


def build(args, cache):
    """Squares (N,SIZE,SIZE,3 uint8), labels, kinds, photo groups; cached."""
    if os.path.exists(cache):
        d = np.load(cache, allow_pickle=False)
        return {k: d[k] for k in d.files}
    resample_square = _disccup().resample_square
    rng = random.Random(args.seed + 1)
    rgb, label, kind, group = [], [], [], []
    for path, g, anc in anchors(args):
        img = Image.open(path).convert("RGB")
        for k, cx, cy, r in anc:
            pos = k == "disc"
            lo, hi = (0.8, 1.25) if pos else (args.neg_radius_min, 1.4)
            for _ in range(POS_VARIANTS if pos else NEG_VARIANTS):
                a, m = rng.uniform(0, 2 * math.pi), JITTER * r * math.sqrt(rng.random())
                rr = r * math.exp(rng.uniform(math.log(lo), math.log(hi)))
                rgb.append(resample_square(img, cx + m * math.cos(a), cy + m * math.sin(a), SIDE_OVER_R * rr / 2, SIZE))
                label.append(pos); kind.append(k); group.append(g)
    d = {"rgb": np.stack(rgb).astype(np.uint8), "label": np.array(label), "kind": np.array(kind), "group": np.array(group)}
    np.savez(cache, **d)
    return d


# ---------------------------------------------------------------- model

class VerifyNet(nn.Module):
    """Four conv blocks with max-pooling (96 -> 6), global average pool, a
    1x1 head: one logit, shaped [B,1,1,1] so the export keeps 4 axes."""

    def __init__(self, widths=(16, 32, 64, 96)):
        super().__init__()
        self.blocks = nn.ModuleList()
        cin = 3
        for w in widths:
            self.blocks.append(Block(cin, w))
            cin = w
        self.head = nn.Conv2d(cin, 1, 1)

    def forward(self, x):
        for b in self.blocks:
            x = F.max_pool2d(b(x), 2)
        return self.head(x.mean((2, 3), keepdim=True))


def augment(rgb, rng, lowres_p=0.0, camera_p=0.0):
    """(B,S,S,3) uint8 -> (B,3,S,S) float 0..255: (p camera_p) the square
    as another camera renders it (common_nn.camera_variant: a gamma per
    channel, colour mixing), flips, quarter turns, gain 0.6-1.5, gamma
    0.7-1.4, per-channel gain 0.85-1.15, blur p 0.2, and (p lowres_p) the
    square as a low-resolution photo gives it: down to LOWRES_MIN-SIZE
    pixels and back up, bilinear (a disc in a 400-pixel photo spans ~25
    pixels, so its square holds ~100 source pixels across, and a small
    blob's far fewer)."""
    if camera_p > 0:
        nrng = np.random.default_rng(rng.getrandbits(32))
        rgb = np.stack([camera_variant(v, nrng) if rng.random() < camera_p else v for v in rgb])
    x = torch.from_numpy(rgb).permute(0, 3, 1, 2).float() / 255.0
    out = []
    for v in x:
        if lowres_p > 0 and rng.random() < lowres_p:
            s = rng.randint(LOWRES_MIN, SIZE)
            v = F.interpolate(F.interpolate(v.unsqueeze(0), size=(s, s), mode="bilinear", antialias=True,
                                            align_corners=False), size=(SIZE, SIZE), mode="bilinear", align_corners=False)[0]
        if rng.random() < 0.5:
            v = v.flip(2)
        if rng.random() < 0.5:
            v = v.flip(1)
        v = torch.rot90(v, rng.randrange(4), (1, 2))
        v = v.clamp(0, 1) ** rng.uniform(0.7, 1.4)
        v = v * rng.uniform(0.6, 1.5) * torch.tensor([rng.uniform(0.85, 1.15) for _ in range(3)]).view(3, 1, 1)
        if rng.random() < 0.2:
            v = F.avg_pool2d(v.unsqueeze(0), 3, 1, 1, count_include_pad=False)[0]
        out.append((v.clamp(0, 1) * 255).round())
    return torch.stack(out)


def train(args, data, idx, say):
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = VerifyNet().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    pos = [i for i in idx if data["label"][i]]
    neg = [i for i in idx if not data["label"][i]]
    t0, run = time.time(), 0.0
    for step in range(args.steps):
        lr = args.lr * min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        b = [rng.choice(pos) for _ in range(args.batch // 2)] + [rng.choice(neg) for _ in range(args.batch - args.batch // 2)]
        x = fov_normalize_batch(augment(data["rgb"][b], rng, args.lowres_p, args.camera_p)).to(device)
        y = torch.tensor(data["label"][b], dtype=torch.float32, device=device).view(-1, 1, 1, 1)
        model.train()
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
        run += loss.item()
        if (step + 1) % 50 == 0:
            say(f"step {step + 1}/{args.steps} loss {run / 50:.4f} {(time.time() - t0) / (step + 1):.2f}s/step")
            run = 0.0
    model.eval()
    return model.cpu()


def predict(model, data, idx, batch=256):
    out = []
    for i in range(0, len(idx), batch):
        x = fov_normalize_batch(torch.from_numpy(data["rgb"][idx[i:i + batch]]).permute(0, 3, 1, 2).float())
        with torch.no_grad():
            out.append(torch.sigmoid(model(x)).view(-1).numpy())
    return np.concatenate(out)


def folds_by_group(groups, k, seed):
    names = sorted(set(groups.tolist()))
    random.Random(seed).shuffle(names)
    fold = {n: i % k for i, n in enumerate(names)}
    return np.array([fold[g] for g in groups])


def table(p, data, idx):
    """Held-out figures: AUC, and per threshold the share of positives
    rejected and of negatives (by kind) passed."""
    y = data["label"][idx]
    kinds = data["kind"][idx]
    out = {"auc": rank_auc(p, y), "positives": int(y.sum()), "negatives": int((~y).sum()), "thresholds": {}}
    for t in THRESHOLDS:
        row = {"positives_rejected": float((p[y] < t).mean()), "negatives_passed": float((p[~y] >= t).mean())}
        for k in sorted(set(kinds[~y].tolist())):
            row[f"{k}_passed"] = float((p[kinds == k] >= t).mean())
        out["thresholds"][f"{t:.2f}"] = row
    out["threshold"] = choose(out["thresholds"])
    return out


def choose(rows):
    """The threshold (key of rows) of least balanced error, ties to the lower."""
    return min((r["positives_rejected"] + r["negatives_passed"], float(t)) for t, r in rows.items())[1]


def run_cv(args, data, say):
    fold = folds_by_group(data["group"], args.folds, args.seed)
    p = np.zeros(len(fold))
    for f in range(args.folds):
        tr = [int(i) for i in np.nonzero(fold != f)[0]]
        te = [int(i) for i in np.nonzero(fold == f)[0]]
        say(f"fold {f}: {len(tr)} train squares, {len(te)} held out")
        p[te] = predict(train(args, data, tr, say), data, te)
        say(f"fold {f}: AUC {rank_auc(p[te], data['label'][te]):.4f}")
    res = table(p, data, list(range(len(p))))
    res.update({"folds": args.folds, "steps": args.steps, "batch": args.batch, "seed": args.seed})
    with open(os.path.join(args.work, "cv.json"), "w") as f:
        json.dump(res, f, indent=2)
    say("CV: " + json.dumps(res))


def run_final(args, data, say):
    with open(os.path.join(args.work, "cv.json")) as f:
        cv = json.load(f)
    model = train(args, data, list(range(len(data["label"]))), say)
    path = os.path.join(args.out, "discverify.onnx")
    export_onnx(model, path, SIZE, ("one_h", "one_w"))
    t = choose(cv["thresholds"])
    meta = {
        "name": "discverify",
        "version": time.strftime("%Y.%m.%d"),
        "task": "is the square around a found optic disc an optic disc (one logit)",
        "input": "image",
        "output": "logits",
        "output_activation": "sigmoid",
        "channels": "RGB",
        "normalization": "fov_standardize",
        "fov_threshold": FOV_THRESHOLD,
        "size": SIZE,
        "side_over_radius": SIDE_OVER_R,
        "threshold": t,
        "cv": {"folds": cv["folds"], "auc": round(cv["auc"], 4),
               "positives_rejected": round(cv["thresholds"][f"{t:.2f}"]["positives_rejected"], 4),
               "negatives_passed": round(cv["thresholds"][f"{t:.2f}"]["negatives_passed"], 4)},
        "train_steps": args.steps,
        "train_batch": args.batch,
        "train_seed": args.seed,
        "train_data": "IDRiD disease grading training set (413 photos) and Drishti-GS1 training set (50): "
                      "squares around the labelled discs against squares around the fovea, hard exudates, "
                      "haemorrhages and other points of the same photos",
    }
    with open(os.path.join(args.out, "discverify.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    write_parity(model, args.parity)
    say(f"exported {path} (threshold {t})")


def write_parity(model, path):
    """A deterministic test card; Go's FOVStandardize plus ONNX Runtime
    must reproduce its logit (internal/disc)."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    rgb = np.stack([(x * 37 + y * 11) % 256, (x * 5 + y * 23 + 40) % 256, (x * y) % 200], axis=2).astype(np.uint8)
    rgb[(x < 10) & (y < 8)] = 10
    inp = fov_normalize(rgb)
    with torch.no_grad():
        logit = float(model(torch.from_numpy(inp).unsqueeze(0)).view(-1)[0])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"width": SIZE, "height": SIZE, "input": [round(float(v), 6) for v in inp.ravel()], "rgb_base64": base64.b64encode(rgb.tobytes()).decode(), "logit": round(logit, 5)}, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["cv", "final", "cache"])
    ap.add_argument("--data", default=os.path.join(REPO, "..", "shared", "datasets"))
    ap.add_argument("--work", default=os.path.join(HERE, "runs"))
    ap.add_argument("--out", default=os.path.join(REPO, "models"))
    ap.add_argument("--parity", default=os.path.join(REPO, "internal", "disc", "testdata", "verify_parity.json"))
    ap.add_argument("--fov-idrid", default=os.path.join(REPO, "train", "disc", "runs", "fov_idrid.csv"),
                    help="from train/disc/fovs (see train/disc/train.py)")
    ap.add_argument("--fov-drishti", default=os.path.join(REPO, "train", "disc", "runs", "fov_drishti.csv"))
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--neg-radius-min", type=float, default=0.7,
                    help="look-alike squares at this to 1.4 disc radii (the shipped model: 0.7; tried: 0.4)")
    ap.add_argument("--lowres-p", type=float, default=0.0,
                    help="share of squares shrunk and enlarged back (the shipped model: 0; tried: 0.5)")
    ap.add_argument("--camera-p", type=float, default=0.0,
                    help="share of squares recoloured as another camera might render them (common_nn.camera_variant)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.work, exist_ok=True)
    say = run_logger(os.path.join(args.work, f"{args.mode}.log"))

    say("args " + json.dumps(vars(args)))
    data = build(args, os.path.join(args.work, f"squares_{SIZE}_{args.neg_radius_min:g}.npz"))
    say(f"{len(data['label'])} squares ({int(data['label'].sum())} discs) from {len(set(data['group'].tolist()))} photos")
    if args.mode == "cv":
        run_cv(args, data, say)
    elif args.mode == "final":
        run_final(args, data, say)


if __name__ == "__main__":
    main()
