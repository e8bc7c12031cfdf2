#!/usr/bin/env python3
"""Train the RetinalGPT diabetic-retinopathy lesion segmentation model and
export it to ONNX.

Four sigmoid output channels, in this order: MA (microaneurysms), HE
(haemorrhages), EX (hard exudates), SE (soft exudates). Data: the IDRiD
lesion segmentation set, ../shared/datasets/idrid/segmentation (19 images,
IDRiD_01..IDRiD_20 without 09, 4288x2848; 1-bit PNG masks per lesion; a
missing mask file is read as an empty mask).

Working resolution: half size (2144x1424 for IDRiD). Images are downscaled
by 2x2 area averaging (PIL BOX); masks by 2x2 MAX-pooling, so a
microaneurysm of one or two full-size pixels survives (masks therefore grow
by up to one half-size pixel at lesion borders). The model expects a photo
at the scale where the field of view (FOV: max(R,G,B) > 25) is about
fov_diameter_px wide (measured here as the median FOV width of the
half-size IDRiD images, recorded in the metadata): Go should resize any
photo so its FOV width matches that number.

Input normalization (train/common_nn.py; mirrored in Go by infer.FOVStandardize)
is applied once to each whole half-size image; patches are cut from the
normalized image (on the device when CUDA is present):
  rgb/255 -> per channel, subtract the mean and divide by the std over the
  pixels whose max(R,G,B) > FOV_THRESHOLD; pixels outside that set are 0.

Patches (default 256x256): half centred (with +-patch/3 jitter) on a random
lesion pixel of a class drawn uniformly from the four (so the rare MA and SE
are oversampled), half centred on a random FOV pixel. Augmentation: flips,
90-degree turns, scale 0.85-1.2 (on half the patches; the others are exact
pixel copies), contrast/brightness jitter. Loss: per class BCE (positive
weight --pos-weight) + soft Dice per class over the batch.

Cross-validation: the 19 images, in sorted name order, index i (0-based)
belongs to fold i mod K (--folds, default 4: folds of 5,5,5,4 images).
--fold I trains on the other folds and scores fold I at the working
resolution on the whole image (tiled with overlap), writing WORK/metrics.json:
  aupr: average precision (the IDRiD challenge metric) over the FOV pixels of
        all held-out images pooled;
  object_sensitivity: share of ground-truth connected components
        (8-connectivity) overlapped by the prediction (prob >= threshold);
  fp_per_image: predicted components (prob >= threshold, inside the FOV)
        touching no ground-truth pixel of that class, per held-out image.
The threshold is a fixed 0.5 for every class (not tuned on any data).
--fold all (or --final) trains on all 19 images (the shipped model).

Examples:
  /usr/bin/python3 train/lesions/train.py --fold 0 --time-budget 380 --work runs/f0
  /usr/bin/python3 train/lesions/train.py --fold all --time-budget 380 --work runs/final
  /usr/bin/python3 train/lesions/train.py --export-only --work runs/final --out models \\
      --cv-metrics runs/f0/metrics.json runs/f1/metrics.json runs/f2/metrics.json runs/f3/metrics.json
"""
import argparse
import base64
import glob
import json
import math
import os
import random
import sys
import time
from contextlib import nullcontext

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common_nn import FOV_THRESHOLD, Block, export_onnx, fov_normalize  # noqa: E402
import common_nn  # noqa: E402

CLASSES = ("MA", "HE", "EX", "SE")
THRESHOLD = 0.5


# ---------------------------------------------------------------- data

def image_list(root):
    seg = os.path.join(root, "idrid", "segmentation")
    imgs = sorted(glob.glob(os.path.join(seg, "images", "IDRiD_*.jpg")))
    if not imgs:
        sys.exit(f"no IDRiD segmentation images under {seg}/images")
    return seg, imgs


def load_item(seg, path):
    """-> (name, normalized 3xhxw float32, masks 4xhxw uint8 {0,1}, fov hxw bool) at half size."""
    name = os.path.splitext(os.path.basename(path))[0]
    im = Image.open(path).convert("RGB")
    w, h = im.size
    w2, h2 = w // 2, h // 2
    rgb = np.asarray(im.crop((0, 0, 2 * w2, 2 * h2)).resize((w2, h2), Image.BOX), dtype=np.uint8)
    masks = np.zeros((len(CLASSES), h2, w2), np.uint8)
    for c, cls in enumerate(CLASSES):
        mp = os.path.join(seg, cls, f"{name}_{cls}.png")
        if not os.path.exists(mp):
            continue  # no such lesion in this image
        m = np.asarray(Image.open(mp).convert("L"), dtype=np.uint8) > 127
        if m.shape != (h, w):
            sys.exit(f"{mp}: size {m.shape[::-1]} differs from the image's {(w, h)}")
        m = m[:2 * h2, :2 * w2].reshape(h2, 2, w2, 2).any(axis=(1, 3))
        masks[c] = m
    fov = rgb.max(axis=2) > FOV_THRESHOLD
    return name, fov_normalize(rgb), masks, fov


def fov_width(fov):
    """FOV diameter in pixels: the number of columns with at least 10 FOV pixels
    (IDRiD's circle is cut at top and bottom, never at the sides)."""
    return int((fov.sum(axis=0) >= 10).sum())


# ---------------------------------------------------------------- model


class UNet(common_nn.UNet):
    """The shared U-Net with one logit channel per lesion type [MA, HE, EX, SE]."""

    def __init__(self, widths=(16, 32, 64, 128, 256), out_channels=len(CLASSES)):
        super().__init__(widths, out_channels)


# ---------------------------------------------------------------- sampling

class Sampler:
    """Patches cut on the device. Images and masks live there zero-padded by
    S/2 (S = crop size, enough for the largest scale); per sample a SxS crop
    is sliced around the chosen centre, then one affine grid_sample over the
    batch applies scale, 90-degree turn and flip. At scale 1 the affine maps
    output pixels exactly onto input pixels (no interpolation)."""

    def __init__(self, images, masks, fovs, patch, seed, device, lesion_share=0.5, scale=(0.85, 1.2)):
        self.patch, self.device, self.lesion_share, self.scale = patch, device, lesion_share, scale
        self.rng = np.random.default_rng(seed)
        self.S = S = 2 * int(math.ceil(patch * scale[1] / 2)) + 8
        self.pad = pad = S // 2
        self.img = torch.from_numpy(np.stack([np.pad(x, ((0, 0), (pad, pad), (pad, pad))) for x in images])).to(device)
        self.msk = torch.from_numpy(np.stack([np.pad(m, ((0, 0), (pad, pad), (pad, pad))) for m in masks])).to(device)
        self.fovs = fovs
        self.h, self.w = fovs[0].shape
        # Lesion pixels per class: (image index, y, x).
        self.lesions = []
        for c in range(len(CLASSES)):
            parts = []
            for i, m in enumerate(masks):
                yx = np.argwhere(m[c]).astype(np.int32)
                if len(yx):
                    parts.append(np.concatenate([np.full((len(yx), 1), i, np.int32), yx], 1))
            self.lesions.append(np.concatenate(parts) if parts else np.zeros((0, 3), np.int32))
        self.lesion_classes = [c for c in range(len(CLASSES)) if len(self.lesions[c])]

    def centre(self):
        r = self.rng
        if self.lesion_classes and r.random() < self.lesion_share:
            c = self.lesion_classes[r.integers(len(self.lesion_classes))]
            i, y, x = (int(v) for v in self.lesions[c][r.integers(len(self.lesions[c]))])
            j = self.patch // 3
            y = int(np.clip(y + r.integers(-j, j + 1), 0, self.h - 1))
            x = int(np.clip(x + r.integers(-j, j + 1), 0, self.w - 1))
            return i, y, x
        i = int(r.integers(len(self.fovs)))
        for _ in range(50):
            y, x = int(r.integers(self.h)), int(r.integers(self.w))
            if self.fovs[i][y, x]:
                break
        return i, y, x

    def batch(self, n):
        r, S, P = self.rng, self.S, self.patch
        crops_i, crops_m = [], []
        for _ in range(n):
            i, y, x = self.centre()  # padded crop [y, y+S) is centred on y in image coordinates
            crops_i.append(self.img[i, :, y:y + S, x:x + S])
            crops_m.append(self.msk[i, :, y:y + S, x:x + S])
        ci = torch.stack(crops_i)
        cm = torch.stack(crops_m).float()
        theta = np.zeros((n, 2, 3), np.float32)
        rot = [(1, 0), (0, 1), (-1, 0), (0, -1)]  # exact (cos, sin) of k*90 degrees
        for k in range(n):
            s = math.exp(r.uniform(math.log(self.scale[0]), math.log(self.scale[1]))) if r.random() < 0.5 else 1.0
            co, si = rot[r.integers(4)]
            f = -1.0 if r.random() < 0.5 else 1.0
            a = P * s / S
            theta[k, 0, :2] = (a * co * f, -a * si)
            theta[k, 1, :2] = (a * si * f, a * co)
        grid = F.affine_grid(torch.from_numpy(theta).to(self.device), (n, 1, P, P), align_corners=False)
        x = F.grid_sample(ci, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        y = (F.grid_sample(cm, grid, mode="bilinear", padding_mode="zeros", align_corners=False) > 0.5).float()
        gain = torch.from_numpy(r.uniform(0.8, 1.25, (n, 1, 1, 1)) * r.uniform(0.95, 1.05, (n, 3, 1, 1)))
        off = torch.from_numpy(r.uniform(-0.15, 0.15, (n, 1, 1, 1)) + r.uniform(-0.05, 0.05, (n, 3, 1, 1)))
        inside = (x.abs().sum(1, keepdim=True) > 0).float()
        x = (x * gain.float().to(self.device) + off.float().to(self.device)) * inside
        return x, y


def loss_fn(logits, target, pos_weight):
    bce = F.binary_cross_entropy_with_logits(logits, target, pos_weight=pos_weight)
    p = torch.sigmoid(logits)
    dims = (0, 2, 3)
    inter = (p * target).sum(dims)
    dice = 1 - (2 * inter + 1) / (p.sum(dims) + target.sum(dims) + 1)
    return bce + dice.mean()


# ---------------------------------------------------------------- evaluation

def predict(model, img, device, tile, margin=32):
    """Whole-image probabilities (4xhxw float32) for a 3xhxw normalized array,
    computed in tiles of tile x tile with `margin` pixels of context on each side."""
    mult = 2 ** (len(model.down) - 1)
    assert tile % mult == 0 and margin % mult == 0
    _, h, w = img.shape
    H, W = -(-h // tile) * tile, -(-w // tile) * tile
    x = np.pad(img, ((0, 0), (margin, H - h + margin), (margin, W - w + margin)))
    out = np.zeros((len(CLASSES), H, W), np.float32)
    amp = device == "cuda" and torch.cuda.is_bf16_supported()
    with torch.no_grad():
        for y0 in range(0, H, tile):
            for x0 in range(0, W, tile):
                t = torch.from_numpy(np.ascontiguousarray(x[:, y0:y0 + tile + 2 * margin, x0:x0 + tile + 2 * margin]))
                with torch.autocast("cuda", dtype=torch.bfloat16) if amp else nullcontext():
                    lo = model(t.unsqueeze(0).to(device))
                p = torch.sigmoid(lo.float())[0, :, margin:margin + tile, margin:margin + tile]
                out[:, y0:y0 + tile, x0:x0 + tile] = p.cpu().numpy()
    return out[:, :h, :w]


def average_precision(p, t):
    """Step-wise average precision (as sklearn): sum over thresholds of
    (recall gain) * precision, scores descending, ties grouped."""
    npos = int(t.sum())
    if npos == 0:
        return None
    order = np.argsort(-p, kind="stable")
    ps, ts = p[order], t[order]
    tp = np.cumsum(ts, dtype=np.int64)
    fp = np.arange(1, len(ts) + 1, dtype=np.int64) - tp
    last = np.r_[np.nonzero(np.diff(ps))[0], len(ps) - 1]
    tp, fp = tp[last], fp[last]
    prec = tp / np.maximum(tp + fp, 1)
    rec = tp / npos
    return float(np.sum(np.diff(np.r_[0.0, rec]) * prec))


EIGHT = np.ones((3, 3), bool)


def score(model, names, images, masks, fovs, device, tile, say):
    """Per-class pooled AUPR over FOV pixels and object-level counts at THRESHOLD."""
    probs = [[] for _ in CLASSES]
    truth = [[] for _ in CLASSES]
    counts = [{"gt_objects": 0, "hit_objects": 0, "fp_objects": 0, "tp_px": 0, "fp_px": 0, "fn_px": 0} for _ in CLASSES]
    for name, img, m, fov in zip(names, images, masks, fovs):
        t0 = time.time()
        p = predict(model, img, device, tile)
        for c in range(len(CLASSES)):
            gt = m[c] > 0
            probs[c].append(p[c][fov]); truth[c].append(gt[fov])
            pred = (p[c] >= THRESHOLD) & fov
            gl, ng = ndimage.label(gt, structure=EIGHT)
            hit = np.unique(gl[pred & gt])
            pl, npred = ndimage.label(pred, structure=EIGHT)
            touched = np.unique(pl[pred & gt])
            k = counts[c]
            k["gt_objects"] += ng
            k["hit_objects"] += int((hit > 0).sum())
            k["fp_objects"] += npred - int((touched > 0).sum())
            k["tp_px"] += int((pred & gt).sum()); k["fp_px"] += int((pred & ~gt).sum()); k["fn_px"] += int((~pred & gt & fov).sum())
        say(f"scored {name} in {time.time() - t0:.1f}s")
    out = {}
    for c, cls in enumerate(CLASSES):
        k = counts[c]
        ap = average_precision(np.concatenate(probs[c]), np.concatenate(truth[c]))
        out[cls] = {
            "aupr": None if ap is None else round(ap, 5),
            "object_sensitivity": round(k["hit_objects"] / k["gt_objects"], 5) if k["gt_objects"] else None,
            "fp_per_image": round(k["fp_objects"] / len(names), 3),
            "pixel_dice": round(2 * k["tp_px"] / max(2 * k["tp_px"] + k["fp_px"] + k["fn_px"], 1), 5),
            **k,
        }
    return out


# ---------------------------------------------------------------- export

def parity_pattern(h=48, w=64):
    """A deterministic RGB test card with a dark (outside-FOV) corner (as train/vessels)."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([(x * 37 + y * 11) % 256, (x * 5 + y * 23 + 40) % 256, (x * y) % 200], axis=2)
    rgb[(x < 10) & (y < 8)] = 10
    return rgb.astype(np.uint8)


def write_parity(model, path, multiple):
    """Go's normalization plus ONNX Runtime must reproduce these numbers;
    prob is 4 channels flattened in C,H,W order."""
    h, w = 3 * multiple, 4 * multiple
    rgb = parity_pattern(h, w)
    x = fov_normalize(rgb)
    model.eval()
    with torch.no_grad():
        prob = torch.sigmoid(model(torch.from_numpy(x).unsqueeze(0)))[0].numpy()
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(path, "w") as f:
        json.dump({"height": h, "width": w, "channels": len(CLASSES), "classes": list(CLASSES),
                   "rgb_base64": base64.b64encode(rgb.tobytes()).decode(),
                   "input": [round(float(v), 6) for v in x.ravel()],
                   "prob": [round(float(v), 6) for v in prob.ravel()]}, f)


def pool_cv(paths):
    """Average fold metrics: AUPR as the mean over folds; object sensitivity and
    FP per image pooled over all held-out images (sums of counts)."""
    folds = []
    for p in paths:
        with open(p) as f:
            folds.append(json.load(f))
    out = {"folds": len(folds), "fold_files": [os.path.abspath(p) for p in paths],
           "held_out_images": sum(len(m["held_out"]) for m in folds),
           "threshold": THRESHOLD, "region": folds[0].get("region"), "classes": {}}
    for cls in CLASSES:
        aps = [m["classes"][cls]["aupr"] for m in folds if m["classes"][cls]["aupr"] is not None]
        gt = sum(m["classes"][cls]["gt_objects"] for m in folds)
        hit = sum(m["classes"][cls]["hit_objects"] for m in folds)
        fp = sum(m["classes"][cls]["fp_objects"] for m in folds)
        out["classes"][cls] = {
            "aupr": round(float(np.mean(aps)), 5) if aps else None,
            "aupr_per_fold": aps,
            "object_sensitivity": round(hit / gt, 5) if gt else None,
            "fp_per_image": round(fp / out["held_out_images"], 3),
        }
    aps = [v["aupr"] for v in out["classes"].values() if v["aupr"] is not None]
    out["mean_aupr"] = round(float(np.mean(aps)), 5) if aps else None
    return out


# ---------------------------------------------------------------- main

def parse_widths(text):
    w = tuple(int(v) for v in text.split(","))
    if len(w) < 2 or any(v <= 0 for v in w):
        raise argparse.ArgumentTypeError(f"--widths {text!r}: want at least two positive integers")
    return w


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(repo, "..", "shared", "datasets"))
    ap.add_argument("--out", default=os.path.join(repo, "models"))
    ap.add_argument("--work", default=os.path.join(here, "runs"), help="checkpoint, log and metrics")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=0, help="default 16 on CUDA, 4 on CPU")
    ap.add_argument("--patch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--pos-weight", type=float, default=2.0, help="BCE weight of lesion pixels")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--widths", type=parse_widths, default=(16, 32, 64, 128, 256))
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--fold", default="all", help="held-out fold 0..K-1 (image index mod K), or 'all' to train on all images")
    ap.add_argument("--final", action="store_true", help="same as --fold all")
    ap.add_argument("--eval-tile", type=int, default=0, help="evaluation tile (default 1024 on CUDA, 512 on CPU)")
    ap.add_argument("--time-budget", type=float, default=0, metavar="SECONDS",
                    help="choose --steps from the speed of steps 100-200 so training ends within SECONDS")
    ap.add_argument("--export-only", action="store_true", help="export WORK/ckpt.pt (CPU) to OUT/lesions.onnx and .json")
    ap.add_argument("--thresholds", metavar="FILE",
                    help="per-type thresholds chosen by thresholds.py on the CV folds (default: a fixed 0.5)")
    ap.add_argument("--cv-metrics", nargs="*", default=[], metavar="FILE", help="fold metrics.json files to average into the metadata")
    ap.add_argument("--parity", default=os.path.join(repo, "internal", "lesions", "testdata", "parity.json"),
                    help="where --export-only writes the Go parity fixture")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    os.makedirs(args.work, exist_ok=True)
    log = open(os.path.join(args.work, "train.log"), "a")

    def say(msg):
        line = time.strftime("%H:%M:%S ") + msg
        print(line, flush=True)
        log.write(line + "\n"); log.flush()

    ckpt_path = os.path.join(args.work, "ckpt.pt")
    if args.export_only:
        export(args, ckpt_path, say)
        return

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        torch.backends.cudnn.benchmark = True
    amp = device == "cuda" and torch.cuda.is_bf16_supported()
    batch = args.batch or (16 if device == "cuda" else 4)
    tile = args.eval_tile or (1024 if device == "cuda" else 512)
    mult = 2 ** (len(args.widths) - 1)
    if args.patch % mult or tile % mult:
        sys.exit(f"--patch and --eval-tile must be multiples of {mult}")
    fold = "all" if args.final else args.fold
    if fold != "all":
        fold = int(fold)
        if not 0 <= fold < args.folds:
            sys.exit(f"--fold {fold}: want 0..{args.folds - 1} or all")

    seg, paths = image_list(args.data)
    t0 = time.time()
    items = [load_item(seg, p) for p in paths]
    fov_d = int(np.median([fov_width(it[3]) for it in items]))
    train = [it for i, it in enumerate(items) if fold == "all" or i % args.folds != fold]
    held = [it for i, it in enumerate(items) if fold != "all" and i % args.folds == fold]
    del items
    lesion_px = [int(sum(int(it[2][c].sum()) for it in train)) for c in range(len(CLASSES))]
    say(f"loaded {len(train)} training + {len(held)} held-out images (fold {fold} of {args.folds}) "
        f"at {train[0][1].shape[2]}x{train[0][1].shape[1]} in {time.time() - t0:.0f}s on {device}; "
        f"FOV width {fov_d}px; training lesion pixels " + ", ".join(f"{c} {n}" for c, n in zip(CLASSES, lesion_px)))
    say(f"held out: {[it[0] for it in held]}; widths {args.widths}, patch {args.patch}, batch {batch}")

    sampler = Sampler([it[1] for it in train], [it[2] for it in train], [it[3] for it in train],
                      args.patch, args.seed, device)
    del train
    model = UNet(args.widths).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    pos_weight = torch.full((1, len(CLASSES), 1, 1), args.pos_weight, device=device)

    def save(step, total):
        ck = {"model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
              "step": int(step), "widths": list(args.widths), "classes": list(CLASSES),
              "fov_diameter_px": fov_d,
              "args": {"patch": args.patch, "batch": batch, "seed": args.seed, "lr": args.lr,
                       "pos_weight": args.pos_weight, "folds": args.folds, "fold": str(fold),
                       "steps": int(total), "time_budget": float(args.time_budget),
                       "data": os.path.abspath(args.data)}}
        torch.save(ck, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    warm = 100
    total = 10 ** 9 if args.time_budget else args.steps  # replaced after step 200; until then the cosine factor ~1
    t0, run_loss, t100 = time.time(), 0.0, None
    step = 0
    while step < total:
        if args.time_budget and step == 100:
            t100 = time.time()
        if args.time_budget and step == 200:
            per = (time.time() - t100) / 100
            total = max(300, step + int((args.time_budget - (time.time() - t0)) / per))
            say(f"time budget {args.time_budget:.0f}s at {per * 1000:.1f} ms/step (steps 100-200): {total} steps")
        lr = args.lr * min(1.0, (step + 1) / warm) * 0.5 * (1 + math.cos(math.pi * step / total))
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        x, y = sampler.batch(batch)
        with torch.autocast("cuda", dtype=torch.bfloat16) if amp else nullcontext():
            logits = model(x)
        loss = loss_fn(logits.float(), y, pos_weight)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        run_loss += loss.item()
        every = 10 if total <= 200 else 50
        if (step + 1) % every == 0:
            say(f"step {step + 1}/{total if total < 10 ** 9 else '?'} loss {run_loss / every:.4f} lr {lr:.2e} "
                f"{(time.time() - t0) / (step + 1):.3f}s/step")
            run_loss = 0.0
        if (step + 1) % 500 == 0 and step + 1 < total:
            save(step + 1, total)
        step += 1
    save(total, total)
    train_s = time.time() - t0
    say(f"trained {total} steps in {train_s:.0f}s; checkpoint {ckpt_path}")
    del sampler
    if device == "cuda":
        torch.cuda.empty_cache()

    if held:
        model.eval()
        t1 = time.time()
        res = score(model, [it[0] for it in held], [it[1] for it in held], [it[2] for it in held],
                    [it[3] for it in held], device, tile, say)
        aps = [v["aupr"] for v in res.values() if v["aupr"] is not None]
        metrics = {"fold": fold, "folds": args.folds, "fold_rule": "sorted image index (0-based) mod folds",
                   "held_out": [it[0] for it in held], "threshold": THRESHOLD,
                   "region": "FOV pixels (max(R,G,B) > 25) at half resolution, held-out images pooled",
                   "resolution": f"{held[0][1].shape[2]}x{held[0][1].shape[1]}",
                   "steps": int(total), "train_seconds": round(train_s, 1), "batch": batch, "patch": args.patch,
                   "widths": list(args.widths), "seed": args.seed,
                   "mean_aupr": round(float(np.mean(aps)), 5) if aps else None, "classes": res}
        with open(os.path.join(args.work, "metrics.json"), "w") as f:
            json.dump(metrics, f, indent=2)
        for cls, v in res.items():
            say(f"fold {fold} {cls}: AUPR {v['aupr']} object sensitivity {v['object_sensitivity']} "
                f"({v['hit_objects']}/{v['gt_objects']}) FP/image {v['fp_per_image']} pixel Dice {v['pixel_dice']}")
        say(f"scored in {time.time() - t1:.0f}s; wrote {os.path.join(args.work, 'metrics.json')}")


def export(args, ckpt_path, say):
    if not os.path.exists(ckpt_path):
        sys.exit(f"--export-only: no checkpoint at {ckpt_path}")
    ck = torch.load(ckpt_path, map_location="cpu")
    widths = tuple(ck["widths"])
    model = UNet(widths)
    model.load_state_dict(ck["model"])
    model.eval()
    a = ck["args"]
    if a.get("fold") != "all":
        say(f"warning: this checkpoint was trained without fold {a.get('fold')} (a CV model, not the final one)")
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "lesions.onnx")
    export_onnx(model, onnx_path, 64)
    mult = 2 ** (len(widths) - 1)
    meta = {
        "name": "lesions",
        "version": time.strftime("%Y.%m.%d"),
        "task": "diabetic retinopathy lesion segmentation (multi-label, one sigmoid channel per lesion)",
        "input": "image",
        "output": "logits",
        "output_activation": "sigmoid",
        "channels": "RGB",
        "classes": list(CLASSES),
        "class_names": {"MA": "microaneurysms", "HE": "haemorrhages", "EX": "hard exudates", "SE": "soft exudates"},
        "normalization": "fov_standardize",
        "fov_threshold": FOV_THRESHOLD,
        "size_multiple": mult,
        "fov_diameter_px": ck["fov_diameter_px"],
        "scale_note": ("resize the photo so its FOV width (columns with max(R,G,B) > fov_threshold) is about "
                       "fov_diameter_px; trained on IDRiD at half size (2144x1424)"),
        "thresholds": {c: THRESHOLD for c in CLASSES},
        "thresholds_note": "fixed 0.5, not tuned on any data",
        "widths": list(widths),
        "train_steps": ck["step"],
        "train_patch": a["patch"],
        "train_batch": a["batch"],
        "train_seed": a["seed"],
        "train_fold": a["fold"],
        "train_data": ("IDRiD lesion segmentation set, 19 images (IDRiD_01-20 without 09); "
                       + ("all images" if a["fold"] == "all" else f"without fold {a['fold']} of {a['folds']}")
                       + "; masks max-pooled 2x2 to half size"),
    }
    if args.cv_metrics:
        meta["cv"] = pool_cv(args.cv_metrics)
    if args.thresholds:
        with open(args.thresholds) as f:
            chosen = json.load(f)
        meta["thresholds"] = {c: float(chosen["thresholds"][c]) for c in CLASSES}
        meta["thresholds_note"] = ("per type, the pixel-Dice-optimal threshold on the cross-validation folds' "
                                   "held-out predictions (train/lesions/thresholds.py); cross-fitted figures in "
                                   "models/lesions.md")
    with open(os.path.join(args.out, "lesions.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    write_parity(model, args.parity, mult)
    say(f"exported {onnx_path}, {os.path.join(args.out, 'lesions.json')}, parity {args.parity}")


if __name__ == "__main__":
    main()
