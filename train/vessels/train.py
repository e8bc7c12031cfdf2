#!/usr/bin/env python3
"""Train the RetinalGPT vessel segmentation model and export it to ONNX.

Reproduces models/vessels.onnx and models/vessels.json from ../shared/datasets:
  DRIVE training images 21-40 (1st_manual labels) and CHASE_DB1 children
  01-10 (Image_01L .. Image_10R, 1stHO labels). DRIVE test (01-20) and
  CHASE_DB1 children 11-14 are never read here: they are the test splits.

Runs on CPU (slow) or CUDA when present:
  /usr/bin/python3 train/vessels/train.py --steps 2500 --out models

--holdout keeps DRIVE training 36-40 and CHASE_DB1 child 10 out of training
and scores them at the end (WORK/metrics.json): model choices are made on
those, never on the test splits. --batched cuts patches on the device with
one affine grid_sample per dataset (any rotation, scale, flip), which is what
makes a GPU worth using; --time-budget picks the step count from the
measured speed (and records it, so --steps reproduces the run).

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
from contextlib import nullcontext

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common_nn import FOV_THRESHOLD, Block, export_onnx, fov_normalize  # noqa: E402
import common_nn  # noqa: E402



def load_rgb(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)


def load_label(path):
    return (np.asarray(Image.open(path).convert("L"), dtype=np.uint8) > 127).astype(np.float32)


HOLDOUT_DRIVE = range(36, 41)  # DRIVE training images scored, not trained on, with --holdout
HOLDOUT_CHASE = (10,)          # CHASE_DB1 children likewise (both eyes)


def training_set(root, holdout=False):
    """(train, held) lists of (image, label, dataset) paths."""
    train, held = [], []
    drive = os.path.join(root, "drive", "training")
    for img in sorted(glob.glob(os.path.join(drive, "images", "*.tif"))):
        num = os.path.basename(img).split("_")[0]
        item = (img, os.path.join(drive, "1st_manual", f"{num}_manual1.gif"), "drive")
        (held if holdout and int(num) in HOLDOUT_DRIVE else train).append(item)
    chase = os.path.join(root, "chase_db1")
    for child in range(1, 11):  # children 11-14 are the CHASE_DB1 test split
        for eye in "LR":
            name = f"Image_{child:02d}{eye}"
            item = (os.path.join(chase, "images", name + ".jpg"),
                    os.path.join(chase, "manual", name + "_1stHO.png"), "chase")
            (held if holdout and child in HOLDOUT_CHASE else train).append(item)
    for a, b, _ in train + held:
        if not os.path.exists(a) or not os.path.exists(b):
            sys.exit(f"missing training file: {a} or {b}")
    return train, held



class UNet(common_nn.UNet):
    """The shared U-Net with one vessel logit per annotation style: one
    channel normally; with --style-heads two, channel 0 learning DRIVE's
    labels and channel 1 CHASE_DB1's (whose observer draws vessels wider),
    so the shared layers learn both cameras without averaging two
    conventions of where a vessel's edge is. Only channel 0 is exported."""

    def __init__(self, widths=(16, 32, 64, 128), heads=1):
        super().__init__(widths, out_channels=heads)


KINDS = ("drive", "chase")  # head index of each dataset's annotation style


def pick_heads(logits, kind):
    """Each sample's logit from the head of its dataset (kind: N ints)."""
    if logits.shape[1] == 1:
        return logits
    n, _, h, w = logits.shape
    return logits.gather(1, kind.view(n, 1, 1, 1).expand(n, 1, h, w).to(logits.device))


def widen_head(state, heads):
    """A one-head checkpoint's weights for a model with `heads` heads: every
    head starts as a copy of the single one."""
    w = state["head.weight"]
    if w.shape[0] == heads:
        return state
    if w.shape[0] != 1:
        sys.exit(f"checkpoint has {w.shape[0]} heads, cannot make {heads}")
    state = dict(state)
    state["head.weight"] = w.repeat(heads, 1, 1, 1)
    state["head.bias"] = state["head.bias"].repeat(heads)
    return state


def drive_head_only(model, widths):
    """A one-output copy of a style-head model (head 0, DRIVE's style) for export."""
    one = UNet(widths)
    state = model.state_dict()
    state["head.weight"] = state["head.weight"][:1]
    state["head.bias"] = state["head.bias"][:1]
    one.load_state_dict(state)
    return one


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
        kind = 0 if i < self.n_drive else 1
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
        return ti[0], tl[0], kind

    def batch(self, n):
        """-> patches, labels, and each patch's dataset (KINDS index)."""
        xs, ys, ks = zip(*(self.one() for _ in range(n)))
        return torch.stack(xs), torch.stack(ys), torch.tensor(ks)


class BatchedSampler:
    """Patches cut on the device: per dataset (images of one size) one
    affine grid_sample with a random centre inside the FOV, scale 0.7-1.4,
    any rotation and a flip per patch, then per-channel gain and offset.
    One call per dataset instead of a Python loop per patch."""

    def __init__(self, images, labels, fovs, kinds, patch, seed, drive_weight, device):
        self.patch, self.drive_weight, self.device = patch, drive_weight, device
        self.gen = torch.Generator(device="cpu").manual_seed(seed)
        self.groups = {}
        for kind in ("drive", "chase"):
            idx = [i for i, k in enumerate(kinds) if k == kind]
            if not idx:
                continue
            img = torch.from_numpy(np.stack([images[i] for i in idx])).to(device)
            lab = torch.from_numpy(np.stack([labels[i] for i in idx]))[:, None].to(device)
            centres = [torch.from_numpy(np.argwhere(fovs[i])) for i in idx]  # (y, x) inside the FOV
            self.groups[kind] = (img, lab, centres)

    def _draw(self, kind, n):
        img, lab, centres = self.groups[kind]
        g, P = self.gen, self.patch
        _, _, h, w = img.shape
        which = torch.randint(len(centres), (n,), generator=g)
        cy, cx = torch.empty(n), torch.empty(n)
        for j, i in enumerate(which.tolist()):
            yx = centres[i][torch.randint(len(centres[i]), (1,), generator=g)][0]
            cy[j], cx[j] = float(yx[0]), float(yx[1])
        scale = torch.exp(torch.empty(n).uniform_(math.log(0.7), math.log(1.4), generator=g))
        ang = torch.empty(n).uniform_(0, 2 * math.pi, generator=g)
        flip = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
        a, b = P * scale / w, P * scale / h
        theta = torch.stack([
            torch.stack([a * torch.cos(ang) * flip, -a * torch.sin(ang), (2 * cx + 1) / w - 1], 1),
            torch.stack([b * torch.sin(ang) * flip, b * torch.cos(ang), (2 * cy + 1) / h - 1], 1)], 1)
        grid = F.affine_grid(theta.to(self.device), (n, 1, P, P), align_corners=False)
        x = F.grid_sample(img[which.to(self.device)], grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        y = F.grid_sample(lab[which.to(self.device)], grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        return x, (y > 0.5).float()

    def batch(self, n):
        kinds = list(self.groups)
        if len(kinds) == 1:
            counts = {kinds[0]: n}
        else:
            nd = int((torch.rand(n, generator=self.gen) < self.drive_weight).sum())
            counts = {"drive": nd, "chase": n - nd}
        xs, ys = zip(*(self._draw(k, c) for k, c in counts.items() if c > 0))
        x, y = torch.cat(xs), torch.cat(ys)
        kind = torch.cat([torch.full((c,), KINDS.index(k)) for k, c in counts.items() if c > 0])
        a = torch.empty(n, 3, 1, 1).uniform_(0.75, 1.3, generator=self.gen).to(self.device)
        b = torch.empty(n, 3, 1, 1).uniform_(-0.25, 0.25, generator=self.gen).to(self.device)
        inside = (x.abs().sum(1, keepdim=True) > 0).float()
        return (x * a + b) * inside, y, kind


def auc(p, t):
    """Mann-Whitney AUC over scores p and boolean truth t."""
    order = np.argsort(p, kind="mergesort")
    t = t[order]
    pos = float(t.sum()); neg = len(t) - pos
    return float((np.arange(1, len(p) + 1)[t].sum() - pos * (pos + 1) / 2) / (pos * neg))


def score(model, images, labels, fovs, device, threshold, head=0):
    """Pooled AUC, F1 at threshold and best F1 over the FOV pixels of the given images."""
    probs, truth = [], []
    for img, lab, fov in zip(images, labels, fovs):
        p = predict(model, img, device, head)
        probs.append(p[fov]); truth.append(lab[fov] > 0.5)
    probs, truth = np.concatenate(probs), np.concatenate(truth)

    def f1(t):
        pred = probs >= t
        tp = float((pred & truth).sum()); fp = float((pred & ~truth).sum()); fn = float((~pred & truth).sum())
        return 2 * tp / max(2 * tp + fp + fn, 1)
    best = max((f1(t), float(t)) for t in np.arange(0.20, 0.81, 0.02))
    return {"auc": auc(probs, truth), "f1": f1(threshold), "best_f1": best[0], "best_threshold": round(best[1], 2)}


def loss_fn(logits, target):
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    inter = (p * target).sum()
    dice = 1 - (2 * inter + 1) / (p.sum() + target.sum() + 1)
    return bce + dice


def predict(model, img, device, head=0):
    """Whole-image probability map (of one head) for a 3xHxW normalized array."""
    multiple = 2 ** (len(model.down) - 1)
    _, h, w = img.shape
    ph, pw = (-h) % multiple, (-w) % multiple
    x = torch.from_numpy(np.pad(img, ((0, 0), (0, ph), (0, pw)))).unsqueeze(0).to(device)
    with torch.no_grad():
        p = torch.sigmoid(model(x))[0, head, :h, :w]
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


def parse_widths(text):
    w = tuple(int(v) for v in text.split(","))
    if len(w) < 2 or any(v <= 0 for v in w):
        raise argparse.ArgumentTypeError(f"--widths {text!r}: want at least two positive integers, e.g. 16,32,64,128")
    return w


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
    ap.add_argument("--style-heads", action="store_true",
                    help="one output per dataset's annotation style (0 DRIVE, 1 CHASE_DB1); the threshold is "
                         "chosen on the DRIVE training images and only head 0 is exported")
    ap.add_argument("--widths", type=parse_widths, default=(16, 32, 64, 128),
                    help="U-Net channels per level, comma-separated (the input must be a multiple of 2**(levels-1))")
    ap.add_argument("--holdout", action="store_true",
                    help="keep DRIVE training 36-40 and CHASE_DB1 child 10 out of training and score them (WORK/metrics.json)")
    ap.add_argument("--batched", action="store_true",
                    help="cut patches on the device with affine grid_sample (default on CUDA)")
    ap.add_argument("--time-budget", type=float, default=0, metavar="SECONDS",
                    help="choose --steps from the speed of the first 100 steps so training ends within SECONDS")
    ap.add_argument("--no-export", action="store_true", help="train and score only (export later with --export-only)")
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

    def load(items):
        images, labels, fovs = [], [], []
        for ip, lp, _ in items:
            rgb = load_rgb(ip)
            images.append(fov_normalize(rgb))
            labels.append(load_label(lp))
            fovs.append(rgb.max(axis=2) > FOV_THRESHOLD)
        return images, labels, fovs

    items, held = training_set(args.data, args.holdout)
    images, labels, fovs = load(items)
    say(f"loaded {len(images)} training images ({len(held)} held out) on {device}; widths {args.widths}")
    if device == "cuda":
        torch.backends.cudnn.benchmark = True
    amp = device == "cuda" and torch.cuda.is_bf16_supported()

    start = 0
    ck = None
    ckpt_path = os.path.join(args.work, "ckpt.pt")
    if args.export_only and not os.path.exists(ckpt_path):
        sys.exit(f"--export-only: no checkpoint at {ckpt_path}")
    if (args.resume or args.export_only or args.finetune) and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=device)
        args.widths = tuple(ck.get("widths", args.widths))  # the checkpoint knows its shape
        if ck["model"]["head.weight"].shape[0] > 1:
            args.style_heads = True
        if args.export_only:  # and how it was trained, for the metadata
            for k, v in ck.get("args", {}).items():
                setattr(args, k, v)
            if args.holdout:
                sys.exit("--export-only: this checkpoint was trained with --holdout; ship a model trained on all images")
    heads = len(KINDS) if args.style_heads else 1
    model = UNet(args.widths, heads).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    if ck is not None:
        widened = ck["model"]["head.weight"].shape[0] != heads
        model.load_state_dict(widen_head(ck["model"], heads)); start = ck["step"]
        # Slim checkpoints (the GPU runs bring back weights only) have no optimizer
        # state; a widened head makes the saved state the wrong shape.
        if "opt" in ck and not widened:
            opt.load_state_dict(ck["opt"])
        if "rng" in ck:
            rng.setstate(ck["rng"])
        say(f"resumed at step {start}")

    n_drive = sum(1 for _, _, kind in items if kind == "drive")
    if args.batched or device == "cuda":
        sampler = BatchedSampler(images, labels, fovs, [k for _, _, k in items], args.patch,
                                 args.seed, args.drive_weight, device)
    else:
        sampler = Sampler(images, labels, fovs, args.patch, rng, n_drive, args.drive_weight)
    warm = 100
    first, total = 0, args.steps
    if args.time_budget and not args.finetune:
        total = 10 ** 9  # replaced after 100 steps; until then the cosine factor is 1
    if args.finetune:
        if start == 0:
            sys.exit(f"--finetune: no checkpoint at {ckpt_path}")
        first, total = start, start + args.finetune
        say(f"fine-tuning {args.finetune} steps from step {start}, lr {args.lr}, patch {args.patch}, DRIVE share {args.drive_weight}")
    t0, run_loss = time.time(), 0.0
    step = start
    while step < (0 if args.export_only else total):
        if args.time_budget and not args.finetune and step in (start + 100, start + 200):
            # Speed from steps 100-200: the first ones include start-up and autotuning.
            if step == start + 100:
                t100 = time.time()
            else:
                per = (time.time() - t100) / 100
                total = max(start + 300, step + int((args.time_budget - (time.time() - t0)) / per))
                say(f"time budget {args.time_budget:.0f}s at {per * 1000:.1f} ms/step: {total} steps")
        k = step - first  # steps into this schedule
        n = total - first
        lr = args.lr * min(1.0, (k + 1) / warm) * 0.5 * (1 + math.cos(math.pi * k / n))
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        x, y, kind = sampler.batch(args.batch)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp) if amp else nullcontext():
            logits = pick_heads(model(x.to(device)), kind)
        loss = loss_fn(logits.float(), y.to(device))
        opt.zero_grad(); loss.backward(); opt.step()
        run_loss += loss.item()
        if (step + 1) % 50 == 0:
            say(f"step {step + 1}/{total} loss {run_loss / 50:.4f} lr {lr:.2e} {(time.time() - t0) / (step + 1 - start):.2f}s/step")
            run_loss = 0.0
        if (step + 1) % 250 == 0 or step + 1 == total:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step + 1,
                        "rng": rng.getstate(), "widths": list(args.widths),
                        "args": {"patch": args.patch, "batch": args.batch, "seed": args.seed, "lr": args.lr,
                                 "drive_weight": args.drive_weight, "holdout": args.holdout,
                                 "style_heads": args.style_heads}}, ckpt_path + ".tmp")
            os.replace(ckpt_path + ".tmp", ckpt_path)
        step += 1

    model.eval()
    if args.style_heads:  # head 0 follows DRIVE's labels: its threshold too
        f1, thr = best_threshold(model, images[:n_drive], labels[:n_drive], fovs[:n_drive], device)
        say(f"DRIVE training images, head 0: F1 {f1:.4f} at threshold {thr:.2f}")
    else:
        f1, thr = best_threshold(model, images, labels, fovs, device)
        say(f"training-set F1 {f1:.4f} at threshold {thr:.2f}")
    if held and not args.export_only:
        metrics = {"steps": total, "widths": list(args.widths), "patch": args.patch, "batch": args.batch,
                   "lr": args.lr, "drive_weight": args.drive_weight, "train_threshold": thr,
                   "style_heads": args.style_heads}
        for kind in KINDS:
            hi, hl, hf = load([it for it in held if it[2] == kind])
            m = score(model, hi, hl, hf, device, thr)  # head 0: what is shipped
            metrics[kind] = m
            say(f"held-out {kind} ({len(hi)} images): AUC {m['auc']:.4f} F1 {m['f1']:.4f} at {thr:.2f}, "
                f"best F1 {m['best_f1']:.4f} at {m['best_threshold']:.2f}")
            if args.style_heads and kind != KINDS[0]:
                m = score(model, hi, hl, hf, device, thr, head=KINDS.index(kind))
                metrics[kind + "_own_head"] = m
                say(f"held-out {kind}, its own head: AUC {m['auc']:.4f}, best F1 {m['best_f1']:.4f} at {m['best_threshold']:.2f}")
        with open(os.path.join(args.work, "metrics.json"), "w") as f:
            json.dump(metrics, f, indent=2)
    if args.no_export:
        return

    model.cpu()
    if args.style_heads:
        model = drive_head_only(model, args.widths).eval()
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
        "size_multiple": 2 ** (len(args.widths) - 1),
        "threshold": round(thr, 2),
        "widths": list(args.widths),
        "train_steps": start if args.export_only else total,
        "train_patch": args.patch,
        "train_batch": args.batch,
        "train_seed": args.seed,
        "train_note": "see models/vessels.md for the exact commands (base run, then fine-tune)",
        "train_data": "DRIVE training 21-40 (1st_manual); CHASE_DB1 Image_01L-Image_10R (1stHO)",
        "train_style_heads": bool(args.style_heads),
    }
    with open(os.path.join(args.out, "vessels.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    write_parity(model, args.parity)
    say(f"exported {onnx_path}")


def parity_pattern(h=48, w=64):
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
