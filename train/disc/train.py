#!/usr/bin/env python3
"""Train the RetinalGPT optic disc and fovea locator and export it to ONNX.

The model takes the square around the field of view that Go's
fundus.Normalize produces (SIZE x SIZE RGB, normalized with
infer.FOVStandardize) and returns two heatmap channels as logits at half
the input resolution: channel 0 the optic disc centre, channel 1 the fovea.
Targets are Gaussian blobs (sigma in heatmap pixels); a centre is decoded as
the heatmap's peak refined by a soft-argmax over a small window around it
(decode() here, mirrored in internal/disc/decode.go).

Data (../shared/datasets):
  idrid/grading: 413 photographs with disc and fovea centres (labels.csv).
  drishti_gs1:   50 disc-centred photographs with disc centres only; used
                 for training only (fovea loss masked), never for scoring.
  Disc-less crops (load_negatives, since 2026-11-28): circular crops of
  the IDRiD photos that leave the disc outside (around the fovea, and on
  hard-exudate boxes from boxes.csv), with an empty disc target, a quarter
  of each batch (--neg-share). A photo without a disc must leave the disc
  channel low; the highest disc-peak threshold that loses none of the
  held-out real discs it located in cross-validation is exported as
  min_disc_confidence, below which Go reports "optic disc not found".

The crop must be the one Go makes, so the field of view comes from Go:
  go run ./train/disc/fovs ../shared/datasets/idrid/grading/images/*.jpg > train/disc/runs/fov_idrid.csv
  go run ./train/disc/fovs ../shared/datasets/drishti_gs1/images/*.jpg > train/disc/runs/fov_drishti.csv

Then the final model on all 413 IDRiD images (+ Drishti), exported to
models/disc.onnx, models/disc.json and internal/disc/testdata/parity.json
(about 13 minutes on 2 CPU cores):
  /usr/bin/python3 train/disc/train.py final --steps 1000
and 5-fold cross-validation over IDRiD (folds by image, fixed seed; each
fold's held-out predictions go to WORK/cv/foldK.csv, the summary to
WORK/cv/summary.json; about 4 minutes a fold at 300 steps):
  /usr/bin/python3 train/disc/train.py cv --folds 5 --steps 300
A run that stops resumes from WORK's checkpoints when started again. The
export reads the gate from WORK/cv/summary.json, so run cv before final
(or re-export afterwards with the export mode).

Runs on CPU (torch.set_num_threads(--threads)) or CUDA when present.
"""
import argparse
import base64
import csv
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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common_nn import FOV_THRESHOLD, Block, export_onnx, fov_normalize, fov_normalize_batch, run_logger  # noqa: E402

STRIDE = 2          # input pixels per heatmap pixel
CHANNELS = ("disc", "fovea")
IDRID_SCALE = 2.0   # the grading images are the originals (4288 wide) halved
# Disc-less negatives (load_negatives): crops per IDRiD photo, their radius
# range in pixels of the 2144-wide copies (a 360-1100 px photo), and how
# far outside the circle the disc must stay, in disc radii.
NEG_PER_IMAGE = 2
NEG_MIN_RADIUS, NEG_MAX_RADIUS = 180.0, 550.0
NEG_MARGIN = 1.3
# The "disc absent" gate (min_disc_confidence in disc.json) is the highest
# GATE_CANDIDATES threshold that loses at most MAX_PHOTOS_LOST of the
# held-out real discs the locator found (within one disc radius) in
# cross-validation; gating out a disc it got wrong costs nothing. None:
# other cameras' discs score lower than IDRiD's (a gate of 0.4, losing 1 %
# of IDRiD's, lost 7 of 80 EyePACS discs), so the gate only drops photos
# where the locator sees nearly nothing, and the disc verifier
# (train/discverify) tells discs from look-alikes.
GATE_CANDIDATES = tuple(round(0.05 * i, 2) for i in range(1, 15))
MAX_PHOTOS_LOST = 0.0
DISC_RADIUS_4288 = 262.0  # IDRiD's median disc radius at 4288 width (models/disc.md)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


# ---------------------------------------------------------------- data

def read_fovs(path):
    """fov CSV from train/disc/fovs: image -> (cx, cy, r) in original pixels."""
    if not os.path.exists(path):
        sys.exit(f"missing {path}: run train/disc/fovs first (see --help)")
    with open(path) as f:
        return {row["image"]: (float(row["cx"]), float(row["cy"]), float(row["radius"]))
                for row in csv.DictReader(f)}


def crop_square(path, fov, size):
    """Go's fundus.Normalize: the square [cx-r, cx+r)^2, black outside the
    photo, resized to size x size. PIL's BICUBIC with a box widens its kernel
    when shrinking, as x/image/draw's CatmullRom does; the two differ by a
    grey level or so, which the parity test does not depend on (it compares
    Go+ONNX with PyTorch on the same input tensor).
    Returns (HxWx3 uint8, transform) with orig = a*scale + offset."""
    cx, cy, r = fov
    img = Image.open(path).convert("RGB")
    w, h = img.size
    pad = int(math.ceil(max(0.0, r - cx, r - cy, cx + r - w, cy + r - h))) + 2
    canvas = Image.new("RGB", (w + 2 * pad, h + 2 * pad))
    canvas.paste(img, (pad, pad))
    box = (cx - r + pad, cy - r + pad, cx + r + pad, cy + r + pad)
    out = canvas.resize((size, size), Image.BICUBIC, box=box)
    return np.asarray(out, dtype=np.uint8), (2 * r / size, cx - r, cy - r)


def load_set(args, cache):
    """Crops and labels at the model size, cached under --work.

    Returns dict with rgb (N,S,S,3 uint8), pts (N,2,2: channel, x/y in input
    pixels), has (N,2 bool: label present), tf (N,3: scale, ox, oy), names,
    idrid (N bool)."""
    if os.path.exists(cache):
        d = np.load(cache, allow_pickle=False)
        return {k: d[k] for k in d.files}
    rgb, pts, has, tf, names, idrid = [], [], [], [], [], []
    root = os.path.join(args.data, "idrid", "grading")
    fovs = read_fovs(args.fov_idrid)
    with open(os.path.join(root, "labels.csv")) as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["image"])
    for row in rows:
        name = row["image"]
        if name not in fovs:
            sys.exit(f"{name}: no field of view in {args.fov_idrid}")
        im, (s, ox, oy) = crop_square(os.path.join(root, "images", name), fovs[name], args.size)
        p = [[(float(row["od_x"]) - ox) / s, (float(row["od_y"]) - oy) / s],
             [(float(row["fovea_x"]) - ox) / s, (float(row["fovea_y"]) - oy) / s]]
        rgb.append(im); pts.append(p); has.append([True, True]); tf.append([s, ox, oy])
        names.append(name); idrid.append(True)
    if args.drishti:
        root = os.path.join(args.data, "drishti_gs1")
        fovs = read_fovs(args.fov_drishti)
        with open(os.path.join(root, "labels.csv")) as f:
            for row in sorted(csv.DictReader(f), key=lambda r: r["image"]):
                name = row["image"]
                im, (s, ox, oy) = crop_square(os.path.join(root, "images", name), fovs[name], args.size)
                p = [[(float(row["disc_center_x"]) - ox) / s, (float(row["disc_center_y"]) - oy) / s], [0.0, 0.0]]
                rgb.append(im); pts.append(p); has.append([True, False]); tf.append([s, ox, oy])
                names.append(name); idrid.append(False)
    d = {"rgb": np.stack(rgb), "pts": np.array(pts, np.float32), "has": np.array(has),
         "tf": np.array(tf, np.float64), "names": np.array(names), "idrid": np.array(idrid)}
    np.savez(cache, **d)
    return d


def circle_square(img, cx, cy, rad, size):
    """A disc-less 'photo': the circle of radius rad around (cx, cy) cut from
    img, black outside it (as train/disc/macula_crops.py cuts its test
    crops), then what Go's fundus.Normalize makes of it: the square around
    that circular field of view resized to size x size. Returns the crop
    and (scale, ox, oy) with img pixel = crop pixel * scale + offset."""
    from PIL import ImageDraw
    box = (int(round(cx - rad)), int(round(cy - rad)), int(round(cx + rad)), int(round(cy + rad)))
    crop = img.crop(box)
    mask = Image.new("L", crop.size, 0)
    ImageDraw.Draw(mask).ellipse((2, 2, crop.size[0] - 3, crop.size[1] - 3), fill=255)
    out = Image.new("RGB", crop.size)
    out.paste(crop, (0, 0), mask)
    side = box[2] - box[0]
    return np.asarray(out.resize((size, size), Image.BICUBIC), dtype=np.uint8), (side / size, box[0], box[1])


def disc_radius_from_boxes(root):
    """Per image, half the longer side of its optic_disc box in boxes.csv
    (pixels of the 2144-wide copies)."""
    out = {}
    path = os.path.join(root, "boxes.csv")
    if os.path.exists(path):
        with open(path) as f:
            for r in csv.DictReader(f):
                if r["label"] == "optic_disc":
                    out[r["image"]] = max(float(r["x_max"]) - float(r["x_min"]), float(r["y_max"]) - float(r["y_min"])) / 2
    return out


def load_negatives(args, data, cache):
    """Disc-less training crops (the "no disc" class a photo of the macula
    alone must fall in): from every IDRiD photo, NEG_PER_IMAGE circular
    crops that keep the disc at least NEG_MARGIN disc radii outside the
    circle, one centred near the fovea (a macula-centred narrow field),
    the others on a hard-exudate box when the photo has one (bright,
    round exudate clusters are what the locator took for discs) or
    anywhere else in the field. The disc channel's target is empty; the
    fovea keeps its label when it lies inside the crop. src is the source
    photo's index in data, so cross-validation keeps a photo's crops in
    its fold."""
    if os.path.exists(cache):
        d = np.load(cache, allow_pickle=False)
        return {k: d[k] for k in d.files}
    root = os.path.join(args.data, "idrid", "grading")
    radii = disc_radius_from_boxes(root)
    exud = {}
    with open(os.path.join(root, "boxes.csv")) as f:
        for r in csv.DictReader(f):
            if r["label"] == "hard_exudates":
                exud.setdefault(r["image"], []).append(((float(r["x_min"]) + float(r["x_max"])) / 2,
                                                        (float(r["y_min"]) + float(r["y_max"])) / 2))
    rng = random.Random(args.seed + 101)
    fovs = read_fovs(args.fov_idrid)
    rgb, pts, has, tf, names, src = [], [], [], [], [], []
    for k in np.nonzero(data["idrid"])[0]:
        name = str(data["names"][k])
        img = Image.open(os.path.join(root, "images", name)).convert("RGB")
        s, ox, oy = data["tf"][k]
        (dx, dy), (fx, fy) = data["pts"][k] * s + [ox, oy]
        rd = radii.get(name, 131.0)
        fcx, fcy, fr = fovs[name]
        for j in range(NEG_PER_IMAGE):
            for _ in range(50):
                if j == 0:
                    a, m = rng.uniform(0, 2 * math.pi), rng.uniform(0, 0.15) * math.hypot(fx - dx, fy - dy)
                    cx, cy = fx + m * math.cos(a), fy + m * math.sin(a)
                elif name in exud and rng.random() < 0.7:
                    cx, cy = rng.choice(exud[name])
                else:
                    a, m = rng.uniform(0, 2 * math.pi), fr * math.sqrt(rng.random()) * 0.8
                    cx, cy = fcx + m * math.cos(a), fcy + m * math.sin(a)
                hi = min(NEG_MAX_RADIUS, math.hypot(cx - dx, cy - dy) - NEG_MARGIN * rd)
                if hi >= NEG_MIN_RADIUS:
                    break
            else:
                continue
            rad = rng.uniform(NEG_MIN_RADIUS, hi)
            im, (cs, cox, coy) = circle_square(img, cx, cy, rad, args.size)
            p = [[-1e4, -1e4], [(fx - cox) / cs, (fy - coy) / cs]]
            rgb.append(im); pts.append(p); tf.append([cs, cox, coy]); names.append(f"{name}#neg{j}"); src.append(int(k))
            has.append([True, bool(math.hypot(fx - cx, fy - cy) < 0.9 * rad)])
    d = {"rgb": np.stack(rgb), "pts": np.array(pts, np.float32), "has": np.array(has),
         "tf": np.array(tf, np.float64), "names": np.array(names), "src": np.array(src)}
    np.savez(cache, **d)
    return d


def merge_negatives(data, neg):
    """data with the negatives appended; data["neg"] marks them and
    data["src"] names each row's source photo (itself for a photo)."""
    n = len(data["names"])
    out = {k: np.concatenate([data[k], neg[k]]) for k in ("rgb", "pts", "has", "tf", "names")}
    out["idrid"] = np.concatenate([data["idrid"], np.zeros(len(neg["names"]), bool)])
    out["neg"] = np.concatenate([np.zeros(n, bool), np.ones(len(neg["names"]), bool)])
    out["src"] = np.concatenate([np.arange(n), neg["src"]])
    return out


# ---------------------------------------------------------------- model

class LocNet(nn.Module):
    """A compact U-Net whose first layer has stride 2 and whose output stays
    at half resolution: a centre needs context (the fovea is found relative
    to the disc and the vessel arcades, so the deepest level at 1/64 sees
    the whole field) more than fine detail, and the half-resolution output
    plus a soft-argmax still resolves a fraction of a pixel. Inputs must be
    multiples of 64."""

    def __init__(self, widths=(16, 32, 48, 64, 96, 128)):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, widths[0], 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True),
            nn.Conv2d(widths[0], widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        self.down = nn.ModuleList(Block(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.up = nn.ModuleList()
        self.fuse = nn.ModuleList()
        for a, b in zip(reversed(widths[1:]), reversed(widths[:-1])):
            self.up.append(nn.ConvTranspose2d(a, b, 2, stride=2))
            self.fuse.append(Block(2 * b, b))
        self.head = nn.Conv2d(widths[0], len(CHANNELS), 1)
        # Start every pixel at a low probability, as a centre covers a
        # tiny part of the map: training then spends its first steps on
        # where the centre is rather than on darkening the background.
        nn.init.constant_(self.head.bias, -4.0)

    def forward(self, x):
        x = self.stem(x)
        skips = []
        for blk in self.down:
            skips.append(x)
            x = blk(F.max_pool2d(x, 2))
        for up, fuse in zip(self.up, self.fuse):
            x = fuse(torch.cat([up(x), skips.pop()], 1))
        return self.head(x)  # logits, (B, 2, H/2, W/2)


# ---------------------------------------------------------------- targets, augmentation, decoding

def gaussian_targets(pts, hm, sigma):
    """pts (B,2,2) in input pixels -> (B,2,hm,hm) Gaussians peaking at 1 at
    the continuous heatmap position pts/STRIDE (pixel j's centre is j+0.5)."""
    c = (torch.arange(hm, dtype=torch.float32) + 0.5).to(pts.device)
    p = pts / STRIDE
    gx = torch.exp(-((c.view(1, 1, hm) - p[..., 0:1]) ** 2) / (2 * sigma ** 2))  # B,2,hm
    gy = torch.exp(-((c.view(1, 1, hm) - p[..., 1:2]) ** 2) / (2 * sigma ** 2))
    return gy.unsqueeze(3) * gx.unsqueeze(2)


def augment(rgb, pts, rng, size):
    """Random geometry and photometry on a batch.

    rgb (B,S,S,3) uint8 numpy, pts (B,2,2) -> (B,3,S,S) float 0..255 whole
    values and the moved points. Geometry: horizontal/vertical flips (both
    channels follow; a flipped right eye is a plausible left eye), rotation
    +-20 degrees, scale 0.85-1.2, shift +-12% (discs near the edge).
    Photometry: overall gain 0.45-1.6 (dark and bright photos; dark pixels
    fall under the FOV threshold as in real underexposed photos), gamma
    0.6-1.6, per-channel gain 0.85-1.15, a little blur or noise."""
    b = rgb.shape[0]
    x = torch.from_numpy(rgb).permute(0, 3, 1, 2).float()
    theta = np.zeros((b, 2, 3), np.float32)
    new = pts.copy()
    for i in range(b):
        a = math.radians(rng.uniform(-20, 20))
        s = math.exp(rng.uniform(math.log(0.85), math.log(1.2)))
        fx = -1.0 if rng.random() < 0.5 else 1.0
        fy = -1.0 if rng.random() < 0.2 else 1.0
        t = np.array([rng.uniform(-0.12, 0.12), rng.uniform(-0.12, 0.12)])
        # affine_grid maps output -> input in normalized coordinates
        # (u_n = 2u/S - 1 with align_corners=False): in = M out + t.
        m = (1 / s) * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) @ np.diag([fx, fy])
        theta[i, :, :2], theta[i, :, 2] = m, t
        pn = pts[i] * 2 / size - 1                      # (2 points, xy) normalized
        out = (np.linalg.inv(m) @ (pn - t).T).T
        new[i] = (out + 1) * size / 2
    grid = F.affine_grid(torch.from_numpy(theta), (b, 3, size, size), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    for i in range(b):
        v = x[i] / 255.0
        v = v.clamp(0, 1) ** rng.uniform(0.6, 1.6)
        gain = rng.uniform(0.45, 1.6) * torch.tensor([rng.uniform(0.85, 1.15) for _ in range(3)]).view(3, 1, 1)
        v = v * gain
        r = rng.random()
        if r < 0.2:
            v = F.avg_pool2d(v.unsqueeze(0), 3, 1, 1, count_include_pad=False)[0]
        elif r < 0.4:
            v = v + torch.randn_like(v) * rng.uniform(0.005, 0.03)
        x[i] = (v.clamp(0, 1) * 255).round()
    return x, new.astype(np.float32)


def decode(logits, window):
    """Mirror of internal/disc decode: per channel, the argmax of the logits,
    then the probability-weighted centroid over the (2*window+1)^2
    neighbourhood clipped to the map. Returns (C,2) positions in input
    pixels (continuous) and (C,) peak probabilities."""
    c, h, w = logits.shape
    prob = 1 / (1 + np.exp(-logits.astype(np.float64)))
    pos, conf = np.zeros((c, 2)), np.zeros(c)
    for k in range(c):
        j = int(np.argmax(logits[k]))
        py, px = divmod(j, w)
        y0, y1 = max(py - window, 0), min(py + window + 1, h)
        x0, x1 = max(px - window, 0), min(px + window + 1, w)
        p = prob[k, y0:y1, x0:x1]
        ys, xs = np.mgrid[y0:y1, x0:x1]
        tot = p.sum()
        pos[k] = [((xs + 0.5) * p).sum() / tot * STRIDE, ((ys + 0.5) * p).sum() / tot * STRIDE]
        conf[k] = prob[k, py, px]
    return pos, conf


def loss_fn(logits, target, has, pos_weight):
    """BCE against the Gaussian targets, pixels near a centre weighted up
    (a centre covers ~0.2% of the map), channels without a label ignored."""
    w = (1 + pos_weight * target) * has[:, :, None, None]
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (bce * w).sum() / w.sum().clamp(min=1)


# ---------------------------------------------------------------- training and evaluation

def window_for(sigma):
    return max(2, int(round(3 * sigma)))


def train(args, data, train_idx, work, say, neg_idx=()):
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = LocNet().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    os.makedirs(work, exist_ok=True)
    ckpt = os.path.join(work, "ckpt.pt")
    start = 0
    if os.path.exists(ckpt):
        ck = torch.load(ckpt, map_location=device)
        model.load_state_dict(ck["model"]); opt.load_state_dict(ck["opt"]); start = ck["step"]
        rng.setstate(ck["rng"]); torch.set_rng_state(ck["torch_rng"])
        say(f"resumed {work} at step {start}")
    hm = args.size // STRIDE
    t0, run = time.time(), 0.0
    for step in range(start, args.steps):
        lr = args.lr * min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = [rng.choice(neg_idx) if neg_idx and rng.random() < args.neg_share else rng.choice(train_idx)
               for _ in range(args.batch)]
        x, pts = augment(data["rgb"][idx], data["pts"][idx], rng, args.size)
        x = fov_normalize_batch(x).to(device)
        pts_t = torch.from_numpy(pts).to(device)
        target = gaussian_targets(pts_t, hm, args.sigma)
        has = torch.from_numpy(data["has"][idx].astype(np.float32)).to(device)
        model.train()
        loss = loss_fn(model(x), target, has, args.pos_weight)
        opt.zero_grad(); loss.backward(); opt.step()
        run += loss.item()
        if (step + 1) % 25 == 0:
            say(f"step {step + 1}/{args.steps} loss {run / 25:.4f} lr {lr:.2e} "
                f"{(time.time() - t0) / (step + 1 - start):.2f}s/step")
            run = 0.0
        if (step + 1) % 100 == 0 or step + 1 == args.steps:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step + 1,
                        "rng": rng.getstate(), "torch_rng": torch.get_rng_state()}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
    model.eval()
    return model.cpu()


def predict(model, data, idx, sigma, batch=8):
    """Decoded centres (N,2,2) in ORIGINAL pixels and confidences (N,2)."""
    out_pos, out_conf = [], []
    win = window_for(sigma)
    for i in range(0, len(idx), batch):
        sel = idx[i:i + batch]
        x = fov_normalize_batch(torch.from_numpy(data["rgb"][sel]).permute(0, 3, 1, 2).float())
        with torch.no_grad():
            logits = model(x).numpy()
        for j, k in enumerate(sel):
            pos, conf = decode(logits[j], win)
            s, ox, oy = data["tf"][k]
            out_pos.append(pos * s + [ox, oy]); out_conf.append(conf)
    return np.array(out_pos), np.array(out_conf)


def truth_original(data, idx):
    s, ox, oy = data["tf"][idx, 0], data["tf"][idx, 1], data["tf"][idx, 2]
    p = data["pts"][idx].astype(np.float64)
    return np.stack([p[..., 0] * s[:, None] + ox[:, None], p[..., 1] * s[:, None] + oy[:, None]], -1)


def folds_of(n, k, seed):
    """Image indices 0..n-1 shuffled with a fixed seed and dealt into k folds."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [sorted(order[f::k]) for f in range(k)]


def conf_table(pos, err, neg):
    """Held-out disc confidences of real photos (pos, with their errors in
    px at 4288 width) and disc-less crops (neg): quantiles, and for
    candidate thresholds the share of correctly located real discs a "not
    found" gate at that threshold would lose, of wrongly located ones it
    would catch, and of disc-less crops it would still let through."""
    pos, err, neg = np.asarray(pos, float), np.asarray(err, float), np.asarray(neg, float)
    ok = err <= DISC_RADIUS_4288
    q = [0.0, 0.01, 0.05, 0.5]
    out = {"photos": {"n": len(pos), **{f"q{int(v * 100)}": float(np.quantile(pos, v)) for v in q}},
           "discless": {"n": len(neg), **{f"q{int(v * 100)}": float(np.quantile(neg, v)) for v in (0.5, 0.95, 0.99, 1.0)}},
           "thresholds": {}}
    out["min_disc_confidence"] = 0.0
    for t in GATE_CANDIDATES:
        lost = float((pos[ok] < t).mean())
        out["thresholds"][f"{t:.2f}"] = {"photos_lost": lost, "wrong_discs_caught": int((pos[~ok] < t).sum()),
                                         "wrong_discs": int((~ok).sum()), "discless_passed": float((neg >= t).mean())}
        if lost <= MAX_PHOTOS_LOST:
            out["min_disc_confidence"] = t
    return out


def summarize(rows, radii):
    """rows: dicts with disc_err, fovea_err (pixels at 4288 width)."""
    out = {}
    for ch in CHANNELS:
        e = np.array([r[f"{ch}_err"] for r in rows])
        out[ch] = {"n": len(e), "median": float(np.median(e)), "mean": float(e.mean())}
        for rad in radii:
            out[ch][f"within_{rad}"] = float((e <= rad).mean())
    return out


def run_cv(args, data, say):
    ids = np.nonzero(data["idrid"])[0]
    neg = data.get("neg", np.zeros(len(data["names"]), bool))
    extra = list(np.nonzero(~data["idrid"] & ~neg)[0])
    folds = folds_of(len(ids), args.folds, args.seed)
    cvdir = os.path.join(args.work, "cv")
    os.makedirs(cvdir, exist_ok=True)
    rows = []
    for f in range(args.folds) if args.fold is None else [args.fold]:
        path = os.path.join(cvdir, f"fold{f}.csv")
        if not os.path.exists(path):
            test = [int(ids[i]) for i in folds[f]]
            train_idx = [int(ids[i]) for g in range(args.folds) if g != f for i in folds[g]] + [int(i) for i in extra]
            in_test = np.isin(data["src"], test) if neg.any() else np.zeros(len(neg), bool)
            neg_train = [int(i) for i in np.nonzero(neg & ~in_test)[0]]
            neg_test = [int(i) for i in np.nonzero(neg & in_test)[0]]
            say(f"fold {f}: {len(train_idx)} train ({len(extra)} Drishti) + {len(neg_train)} disc-less, "
                f"{len(test)} test + {len(neg_test)} disc-less")
            t0 = time.time()
            model = train(args, data, train_idx, os.path.join(cvdir, f"fold{f}"), say, neg_train)
            if neg_test:
                npos, nconf = predict(model, data, neg_test, args.sigma)
                with open(os.path.join(cvdir, f"fold{f}_discless.csv"), "w", newline="") as fh:
                    w = csv.writer(fh)
                    w.writerow(["fold", "crop", "disc_conf", "fovea_conf"])
                    for j, k in enumerate(neg_test):
                        w.writerow([f, data["names"][k], round(nconf[j][0], 4), round(nconf[j][1], 4)])
            pos, conf = predict(model, data, test, args.sigma)
            truth = truth_original(data, test)
            with open(path + ".tmp", "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["fold", "image", "disc_x", "disc_y", "disc_conf", "fovea_x", "fovea_y", "fovea_conf",
                            "disc_err", "fovea_err"])
                for j, k in enumerate(test):
                    err = np.hypot(*(pos[j] - truth[j]).T) * IDRID_SCALE
                    w.writerow([f, data["names"][k], *np.round(pos[j][0], 2), round(conf[j][0], 4),
                                *np.round(pos[j][1], 2), round(conf[j][1], 4), round(err[0], 2), round(err[1], 2)])
            os.replace(path + ".tmp", path)
            say(f"fold {f} done in {time.time() - t0:.0f}s")
        with open(path) as fh:
            part = [{k: (float(v) if k.endswith("err") else v) for k, v in r.items()} for r in csv.DictReader(fh)]
        say(f"fold {f}: " + json.dumps(summarize(part, args.radius)))
        rows += part
    s = summarize(rows, args.radius)
    say("CV (IDRiD held-out folds, px at 4288 width): " + json.dumps(s))
    negs = []
    for f in range(args.folds) if args.fold is None else [args.fold]:
        path = os.path.join(cvdir, f"fold{f}_discless.csv")
        if os.path.exists(path):
            with open(path) as fh:
                negs += [float(r["disc_conf"]) for r in csv.DictReader(fh)]
    if negs:
        s["disc_confidence"] = conf_table([float(r["disc_conf"]) for r in rows], [r["disc_err"] for r in rows], negs)
        say("held-out disc confidence, photos vs disc-less crops: " + json.dumps(s["disc_confidence"]))
    with open(os.path.join(cvdir, "summary.json"), "w") as fh:
        json.dump({"folds": args.folds, "fold": args.fold, "seed": args.seed, "steps": args.steps,
                   "neg_share": args.neg_share,
                   "size": args.size, "sigma": args.sigma, "images": len(rows), "metrics": s}, fh, indent=2)


def run_final(args, data, say):
    neg = data.get("neg", np.zeros(len(data["names"]), bool))
    idx = [int(i) for i in np.nonzero(~neg)[0]]
    neg_idx = [int(i) for i in np.nonzero(neg)[0]]
    say(f"final: {len(idx)} training images ({int((~data['idrid'] & ~neg).sum())} Drishti) + {len(neg_idx)} disc-less crops")
    model = train(args, data, idx, os.path.join(args.work, "final"), say, neg_idx)
    ids = list(np.nonzero(data["idrid"])[0])
    pos, _ = predict(model, data, ids, args.sigma)
    err = np.hypot(*np.moveaxis(pos - truth_original(data, ids), -1, 0)) * IDRID_SCALE
    say("final model on its own training images (NOT a test figure): "
        f"disc median {np.median(err[:, 0]):.1f} px, fovea median {np.median(err[:, 1]):.1f} px at 4288 width")
    export(args, model, say)


def export(args, model, say):
    onnx_path = os.path.join(args.out, "disc.onnx")
    export_onnx(model, onnx_path, args.size, ("hm_height", "hm_width"))
    gate = args.min_disc_confidence
    summary = os.path.join(args.work, "cv", "summary.json")
    if gate is None and args.neg_share > 0 and os.path.exists(summary):
        with open(summary) as f:
            gate = json.load(f)["metrics"].get("disc_confidence", {}).get("min_disc_confidence")
        say(f"disc-absent gate {gate} from {summary}")
    if gate is None:
        gate = 0.0
        say("no disc-absent gate (no cross-validation summary with disc-less crops): min_disc_confidence 0")
    meta = {
        "name": "disc",
        "version": time.strftime("%Y.%m.%d"),
        "task": "optic disc and fovea centre localization (heatmaps)",
        "input": "image",
        "output": "logits",
        "output_activation": "sigmoid",
        "output_channels": list(CHANNELS),
        "output_stride": STRIDE,
        "channels": "RGB",
        "normalization": "fov_standardize",
        "fov_threshold": FOV_THRESHOLD,
        "size": args.size,
        "size_multiple": 64,
        "sigma": args.sigma,
        "window": window_for(args.sigma),
        "train_steps": args.steps,
        "train_batch": args.batch,
        "train_seed": args.seed,
        "train_data": "IDRiD disease grading training set, all 413 images (disc and fovea centres); "
                      "Drishti-GS1 training set, 50 images (disc centres only)" if args.drishti else
                      "IDRiD disease grading training set, all 413 images (disc and fovea centres)",
        "min_disc_confidence": gate,
        "train_neg_share": args.neg_share,
        "train_negatives": (f"{NEG_PER_IMAGE} disc-less circular crops per IDRiD photo (empty disc target), "
                            f"{args.neg_share:.0%} of each batch") if args.neg_share > 0 else "none",
    }
    with open(os.path.join(args.out, "disc.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    write_parity(model, args.parity, window_for(args.sigma))
    say(f"exported {onnx_path}")


def parity_pattern(h=64, w=64):
    """A deterministic RGB test card with a dark (outside-FOV) corner."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([(x * 37 + y * 11) % 256, (x * 5 + y * 23 + 40) % 256, (x * y) % 200], axis=2)
    rgb[(x < 10) & (y < 8)] = 10
    return rgb.astype(np.uint8)


def write_parity(model, path, window):
    """Go's FOVStandardize plus ONNX Runtime must reproduce these (internal/disc)."""
    rgb = parity_pattern()
    x = fov_normalize(rgb)
    with torch.no_grad():
        logits = model(torch.from_numpy(x).unsqueeze(0))[0].numpy()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"height": rgb.shape[0], "width": rgb.shape[1],
                   "rgb_base64": base64.b64encode(rgb.tobytes()).decode(),
                   "input": [round(float(v), 6) for v in x.ravel()],
                   "logits_shape": list(logits.shape),
                   "logits": [round(float(v), 5) for v in logits.ravel()]}, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["cv", "final", "export", "cache"],
                    help="cv: cross-validate; final: train on everything and export; "
                         "export: export WORK/final/ckpt.pt; cache: only build the crop cache")
    ap.add_argument("--data", default=os.path.join(REPO, "..", "shared", "datasets"))
    ap.add_argument("--work", default=os.path.join(HERE, "runs"), help="cache, checkpoints, logs, CV results")
    ap.add_argument("--out", default=os.path.join(REPO, "models"))
    ap.add_argument("--parity", default=os.path.join(REPO, "internal", "disc", "testdata", "parity.json"))
    ap.add_argument("--fov-idrid", default=os.path.join(HERE, "runs", "fov_idrid.csv"))
    ap.add_argument("--fov-drishti", default=os.path.join(HERE, "runs", "fov_drishti.csv"))
    ap.add_argument("--no-drishti", dest="drishti", action="store_false", help="IDRiD only")
    ap.add_argument("--size", type=int, default=384, help="input side, a multiple of 64")
    ap.add_argument("--sigma", type=float, default=2.5, help="target Gaussian sigma in heatmap pixels")
    ap.add_argument("--pos-weight", type=float, default=20.0)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--fold", type=int, default=None, help="run only this fold")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--radius", type=float, nargs="+", default=[262.0, 200.0, 100.0],
                    help="report the share of errors within these distances (px at 4288 width)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-disc-confidence", type=float, default=None,
                    help="the exported disc-absent gate; default: the one WORK/cv/summary.json chose")
    ap.add_argument("--neg-share", type=float, default=0.25,
                    help="share of each batch drawn from the disc-less crops (0: none, as before 2026-11-28)")
    args = ap.parse_args()
    if args.size % 64:
        sys.exit("--size must be a multiple of 64")

    torch.set_num_threads(args.threads)
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    say = run_logger(os.path.join(args.work, f"{args.mode}.log"))

    say("args " + json.dumps(vars(args)))
    data = load_set(args, os.path.join(args.work, f"cache_{args.size}{'_d' if args.drishti else ''}.npz"))
    say(f"{len(data['names'])} images ({int(data['idrid'].sum())} IDRiD) at {args.size}px")
    if args.neg_share > 0:
        neg = load_negatives(args, data, os.path.join(args.work, f"cache_{args.size}_neg.npz"))
        data = merge_negatives(data, neg)
        say(f"{len(neg['names'])} disc-less crops from {len(set(neg['src'].tolist()))} IDRiD photos")
    if args.mode == "cv":
        run_cv(args, data, say)
    elif args.mode == "final":
        run_final(args, data, say)
    elif args.mode == "export":
        ck = torch.load(os.path.join(args.work, "final", "ckpt.pt"), map_location="cpu")
        model = LocNet()
        model.load_state_dict(ck["model"])
        args.steps = ck["step"]  # the sidecar records what the checkpoint had
        export(args, model, say)


if __name__ == "__main__":
    main()
