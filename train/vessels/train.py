#!/usr/bin/env python3
"""Train the RetinalGPT vessel segmentation model and export it to ONNX.

Reproduces models/vessels.onnx and models/vessels.json from ../shared/datasets:
  DRIVE training images 21-40 (1st_manual labels) and CHASE_DB1 children
  01-10 (Image_01L .. Image_10R, 1stHO labels). DRIVE test (01-20) and
  CHASE_DB1 children 11-14 are never read here: they are the test splits.

Runs on CPU (slow) or CUDA when present:
  /usr/bin/python3 train/vessels/train.py --steps 2500 --out models

Input normalization (train/common_nn.py; mirrored in Go by infer.FOVStandardize):
  rgb/255 -> per channel, subtract the mean and divide by the std over the
  pixels whose max(R,G,B) > FOV_THRESHOLD/255; pixels outside that set are 0.
"""
import argparse
import glob
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
from common_nn import FOV_THRESHOLD, Block, export_onnx, fov_normalize  # noqa: E402



def load_rgb(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)


def load_label(path):
    return (np.asarray(Image.open(path).convert("L"), dtype=np.uint8) > 127).astype(np.float32)


def training_set(root):
    items = []
    drive = os.path.join(root, "drive", "training")
    for img in sorted(glob.glob(os.path.join(drive, "images", "*.tif"))):
        num = os.path.basename(img).split("_")[0]
        items.append((img, os.path.join(drive, "1st_manual", f"{num}_manual1.gif")))
    chase = os.path.join(root, "chase_db1")
    for child in range(1, 11):  # children 11-14 are the CHASE_DB1 test split
        for eye in "LR":
            name = f"Image_{child:02d}{eye}"
            items.append((os.path.join(chase, "images", name + ".jpg"),
                          os.path.join(chase, "manual", name + "_1stHO.png")))
    for a, b in items:
        if not os.path.exists(a) or not os.path.exists(b):
            sys.exit(f"missing training file: {a} or {b}")
    return items


class UNet(nn.Module):
    """A plain U-Net: len(widths)-1 poolings, so inputs must be multiples of 2**(len-1)."""

    def __init__(self, widths=(16, 32, 64, 128)):
        super().__init__()
        self.down = nn.ModuleList()
        cin = 3
        for w in widths:
            self.down.append(Block(cin, w))
            cin = w
        self.up = nn.ModuleList()
        self.fuse = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(cin, w, 2, stride=2))
            self.fuse.append(Block(2 * w, w))
            cin = w
        self.head = nn.Conv2d(cin, 1, 1)

    def forward(self, x):
        skips = []
        for i, blk in enumerate(self.down):
            x = blk(x)
            if i < len(self.down) - 1:
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for up, fuse in zip(self.up, self.fuse):
            x = up(x)
            x = fuse(torch.cat([x, skips.pop()], 1))
        return self.head(x)  # logits


class Sampler:
    """Random patches with flips, 90-degree turns, scale and intensity jitter."""

    def __init__(self, images, labels, fovs, patch, rng, n_drive, drive_weight):
        self.images, self.labels, self.fovs = images, labels, fovs
        self.patch, self.rng = patch, rng
        self.n_drive, self.drive_weight = n_drive, drive_weight

    def one(self):
        r = self.rng
        if r.random() < self.drive_weight:  # images[:n_drive] are DRIVE
            i = r.randrange(self.n_drive)
        else:
            i = self.n_drive + r.randrange(len(self.images) - self.n_drive)
        img, lab, fov = self.images[i], self.labels[i], self.fovs[i]
        _, h, w = img.shape
        scale = math.exp(r.uniform(math.log(0.7), math.log(1.4)))
        size = min(int(round(self.patch * scale)), h, w)
        for _ in range(20):  # prefer patches mostly inside the field of view
            y, x = r.randrange(h - size + 1), r.randrange(w - size + 1)
            if fov[y + size // 2, x + size // 2]:
                break
        ti = torch.from_numpy(img[:, y:y + size, x:x + size]).unsqueeze(0)
        tl = torch.from_numpy(lab[None, y:y + size, x:x + size]).unsqueeze(0)
        if size != self.patch:
            ti = F.interpolate(ti, size=(self.patch, self.patch), mode="bilinear", align_corners=False)
            tl = F.interpolate(tl, size=(self.patch, self.patch), mode="bilinear", align_corners=False)
            tl = (tl > 0.5).float()
        k = r.randrange(4)
        ti, tl = torch.rot90(ti, k, (2, 3)), torch.rot90(tl, k, (2, 3))
        if r.random() < 0.5:
            ti, tl = ti.flip(3), tl.flip(3)
        a = torch.tensor([r.uniform(0.75, 1.3) for _ in range(3)]).view(1, 3, 1, 1)
        b = torch.tensor([r.uniform(-0.25, 0.25) for _ in range(3)]).view(1, 3, 1, 1)
        inside = (ti.abs().sum(1, keepdim=True) > 0).float()
        ti = (ti * a + b) * inside
        return ti[0], tl[0]

    def batch(self, n):
        xs, ys = zip(*(self.one() for _ in range(n)))
        return torch.stack(xs), torch.stack(ys)


def loss_fn(logits, target):
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    inter = (p * target).sum()
    dice = 1 - (2 * inter + 1) / (p.sum() + target.sum() + 1)
    return bce + dice


def predict(model, img, device, multiple=8):
    """Whole-image probability map for a 3xHxW normalized array."""
    _, h, w = img.shape
    ph, pw = (-h) % multiple, (-w) % multiple
    x = torch.from_numpy(np.pad(img, ((0, 0), (0, ph), (0, pw)))).unsqueeze(0).to(device)
    with torch.no_grad():
        p = torch.sigmoid(model(x))[0, 0, :h, :w]
    return p.cpu().numpy()


def best_threshold(model, images, labels, fovs, device):
    probs, truth = [], []
    for img, lab, fov in zip(images, labels, fovs):
        p = predict(model, img, device)
        probs.append(p[fov]); truth.append(lab[fov] > 0.5)
    probs, truth = np.concatenate(probs), np.concatenate(truth)
    best = (0.0, 0.5)
    for t in np.arange(0.20, 0.81, 0.02):
        pred = probs >= t
        tp = float((pred & truth).sum()); fp = float((pred & ~truth).sum()); fn = float((~pred & truth).sum())
        f1 = 2 * tp / max(2 * tp + fp + fn, 1)
        best = max(best, (f1, float(t)))
    return best


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(repo, "..", "shared", "datasets"))
    ap.add_argument("--out", default=os.path.join(repo, "models"))
    ap.add_argument("--work", default=os.path.join(here, "runs"), help="checkpoints and log")
    ap.add_argument("--steps", type=int, default=2500)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--patch", type=int, default=96)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--parity", default=os.path.join(repo, "internal", "vessels", "testdata", "parity.json"),
                    help="where to write the Go parity fixture")
    ap.add_argument("--resume", action="store_true", help="continue from WORK/ckpt.pt")
    ap.add_argument("--finetune", type=int, default=0, metavar="N",
                    help="start from WORK/ckpt.pt and train N more steps on a fresh cosine schedule from --lr")
    ap.add_argument("--drive-weight", type=float, default=0.5,
                    help="share of patches drawn from DRIVE (the rest from CHASE_DB1); 0.5 = uniform over images")
    ap.add_argument("--export-only", action="store_true",
                    help="export WORK/ckpt.pt without training (pass the --batch/--patch/--seed it was trained with)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.work, "train.log"), "a")

    def say(msg):
        line = time.strftime("%H:%M:%S ") + msg
        print(line, flush=True)
        log.write(line + "\n"); log.flush()

    items = training_set(args.data)
    images, labels, fovs = [], [], []
    for ip, lp in items:
        rgb = load_rgb(ip)
        images.append(fov_normalize(rgb))
        labels.append(load_label(lp))
        fovs.append(rgb.max(axis=2) > FOV_THRESHOLD)
    say(f"loaded {len(images)} training images on {device}")

    model = UNet().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    start = 0
    ckpt_path = os.path.join(args.work, "ckpt.pt")
    if args.export_only and not os.path.exists(ckpt_path):
        sys.exit(f"--export-only: no checkpoint at {ckpt_path}")
    if (args.resume or args.export_only or args.finetune) and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(ck["model"]); opt.load_state_dict(ck["opt"]); start = ck["step"]
        rng.setstate(ck["rng"])
        say(f"resumed at step {start}")

    n_drive = sum(1 for ip, _ in items if os.sep + "drive" + os.sep in ip)
    sampler = Sampler(images, labels, fovs, args.patch, rng, n_drive, args.drive_weight)
    warm = 100
    first, total = 0, args.steps
    if args.finetune:
        if start == 0:
            sys.exit(f"--finetune: no checkpoint at {ckpt_path}")
        first, total = start, start + args.finetune
        say(f"fine-tuning {args.finetune} steps from step {start}, lr {args.lr}, patch {args.patch}, DRIVE share {args.drive_weight}")
    t0, run_loss = time.time(), 0.0
    for step in range(start, 0 if args.export_only else total):
        k = step - first  # steps into this schedule
        n = total - first
        lr = args.lr * min(1.0, (k + 1) / warm) * 0.5 * (1 + math.cos(math.pi * k / n))
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        x, y = sampler.batch(args.batch)
        loss = loss_fn(model(x.to(device)), y.to(device))
        opt.zero_grad(); loss.backward(); opt.step()
        run_loss += loss.item()
        if (step + 1) % 50 == 0:
            say(f"step {step + 1}/{total} loss {run_loss / 50:.4f} lr {lr:.2e} {(time.time() - t0) / (step + 1 - start):.2f}s/step")
            run_loss = 0.0
        if (step + 1) % 250 == 0 or step + 1 == total:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step + 1,
                        "rng": rng.getstate()}, ckpt_path + ".tmp")
            os.replace(ckpt_path + ".tmp", ckpt_path)

    model.eval()
    f1, thr = best_threshold(model, images, labels, fovs, device)
    say(f"training-set F1 {f1:.4f} at threshold {thr:.2f}")

    model.cpu()
    onnx_path = os.path.join(args.out, "vessels.onnx")
    export_onnx(model, onnx_path, 64)
    meta = {
        "name": "vessels",
        "version": time.strftime("%Y.%m.%d"),
        "task": "binary retinal vessel segmentation",
        "input": "image",
        "output": "logits",
        "output_activation": "sigmoid",
        "channels": "RGB",
        "normalization": "fov_standardize",
        "fov_threshold": FOV_THRESHOLD,
        "size_multiple": 8,
        "threshold": round(thr, 2),
        "train_steps": start if args.export_only else total,
        "train_patch": args.patch,
        "train_batch": args.batch,
        "train_seed": args.seed,
        "train_note": "see models/vessels.md for the exact commands (base run, then fine-tune)",
        "train_data": "DRIVE training 21-40 (1st_manual); CHASE_DB1 Image_01L-Image_10R (1stHO)",
    }
    with open(os.path.join(args.out, "vessels.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    write_parity(model, args.parity)
    say(f"exported {onnx_path}")


def parity_pattern(h=40, w=48):
    """A deterministic RGB test card with a dark (outside-FOV) corner."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([(x * 37 + y * 11) % 256, (x * 5 + y * 23 + 40) % 256, (x * y) % 200], axis=2)
    rgb[(x < 10) & (y < 8)] = 10
    return rgb.astype(np.uint8)


def write_parity(model, path):
    """Go's Normalize plus ONNX Runtime must reproduce these numbers (internal/vessels)."""
    import base64
    rgb = parity_pattern()
    x = fov_normalize(rgb)
    with torch.no_grad():
        prob = torch.sigmoid(model(torch.from_numpy(x).unsqueeze(0)))[0, 0].numpy()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"height": rgb.shape[0], "width": rgb.shape[1],
                   "rgb_base64": base64.b64encode(rgb.tobytes()).decode(),
                   "input": [round(float(v), 6) for v in x.ravel()],
                   "prob": [round(float(v), 6) for v in prob.ravel()]}, f)


if __name__ == "__main__":
    main()
