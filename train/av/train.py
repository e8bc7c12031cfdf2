#!/usr/bin/env python3
"""Train the RetinalGPT artery/vein (A/V) segmentation model and export it to ONNX.

Data (--data, default ../shared/datasets): RITE training images 21-40 only
(artery/vein labels for the DRIVE training images):
  DATA/rite/training/images/NN_training.png      RGB 565x584
  DATA/rite/training/av/NN_training.png          colour A/V labels
  DATA/rite/training/mask/NN_training_mask.gif   field-of-view masks
The RITE test split (01-20) is never read here.

Labels: each channel of the A/V PNG is binarized at 127 and the colour code
mapped to a class:
  black (0,0,0) background; red (255,0,0) artery; blue (0,0,255) vein;
  green (0,255,0) crossing; white (255,255,255) vessel of uncertain type;
  any other colour (RITE training has 40 magenta (255,0,255) pixels, equally
  far from red, blue and white) -> uncertain vessel.
The model has 3 independent sigmoid channels (logits out):
  0 vessel = artery, vein, crossing or uncertain
  1 artery = artery or crossing
  2 vein   = vein or crossing
Loss: BCE + soft Dice on the vessel channel over all pixels, plus BCE
(+ --av-dice times a soft Dice) on the artery and vein channels over only the
pixels labelled artery, vein or crossing: those channels classify vessel
pixels; uncertain and background pixels do not enter the A/V loss. At
inference a vessel pixel is called artery if p_artery > p_vein.

Model: the U-Net of train/vessels/train.py (widths 16-32-64-128) with 3
output channels; input normalization common_nn.fov_normalize (mirrored in
Go by infer.FOVStandardize; "normalization": "fov_standardize").

Augmentation, all done on batches on the device (the training images and
labels live there as tensors): random crops centred on FOV pixels, one
scale per batch (0.7-1.4, F.interpolate), per-sample flips and 90-degree
turns (the 8 symmetries of the square), per-sample per-channel gain
0.85-1.15 and offset +-0.1 (in std units, inside the FOV only). The gain
jitter is narrower than the vessel model's (0.75-1.3, +-0.25) because colour
is a cue for A/V: after the per-image standardization arteries are the
lighter, less red-absorbing vessels and veins the darker ones, and
independent per-channel gains of +-30% move one class's typical values into
the other's range and change the red:green contrast ratio the classifier
relies on; moderate jitter still covers camera differences.

Schedule: AdamW, linear warm-up over the first 100 steps, then cosine decay
to 0 at the last step (the warm-up does not depend on the total, so a
--time-budget run is reproduced exactly by --steps with the total it chose).

Usage (repository root):
  # train (CPU: batch 8 by default; CUDA: batch 32, bf16 autocast)
  /usr/bin/python3 train/av/train.py --steps 4000 --work train/av/runs
  /usr/bin/python3 train/av/train.py --time-budget 420 --holdout --data train/data --work train/av/runs
  # export WORK/ckpt.pt (on CPU, torch 1.13; needs no CUDA):
  /usr/bin/python3 train/av/train.py --export-only --work train/av/runs --out models
Outputs:
  WORK/ckpt.pt      every --ckpt-every steps and at the end (plain tensors,
                    ints, floats, strings, dicts: loads under torch 2.x's
                    weights_only default and with torch 1.13's default)
  WORK/train.log    the log
  WORK/metrics.json with --holdout: A/V accuracy, artery/vein sensitivity and
                    vessel AUC on held-out images 36-40 (trained on 21-35);
                    without it the same figures on the 20 training images,
                    named train_* (seen images: optimistic)
  OUT/av.onnx, OUT/av.json, the parity fixture (--parity): only with
                    --export-only, or after training when --export is given.
"""
import argparse
import base64
import contextlib
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common_nn import FOV_THRESHOLD, Block, camera_variant, export_onnx, fov_normalize  # noqa: E402
import common_nn  # noqa: E402

BG, ARTERY, VEIN, CROSSING, UNCERTAIN = 0, 1, 2, 3, 4
CLASSES = ["vessel", "artery", "vein"]
TRAIN_IDS = list(range(21, 41))
HOLDOUT_IDS = list(range(36, 41))
WARM = 100
GAIN, OFFSET = 0.15, 0.10  # see the docstring: colour matters for A/V


def load_rgb(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)


def load_av(path):
    """Colour A/V label PNG -> HxW uint8 class map (BG, ARTERY, VEIN, CROSSING,
    UNCERTAIN) and the number of pixels of an unexpected colour."""
    rgb = load_rgb(path) > 127
    code = rgb[:, :, 0] * 4 + rgb[:, :, 1] * 2 + rgb[:, :, 2] * 1
    lut = np.full(8, UNCERTAIN, np.uint8)
    lut[0b000], lut[0b100], lut[0b001], lut[0b010], lut[0b111] = BG, ARTERY, VEIN, CROSSING, UNCERTAIN
    other = int(np.isin(code, [0b011, 0b101, 0b110]).sum())
    return lut[code], other


def rite_items(root, ids):
    base = os.path.join(root, "rite", "training")
    items = []
    for n in ids:
        item = (n, os.path.join(base, "images", f"{n}_training.png"),
                os.path.join(base, "av", f"{n}_training.png"),
                os.path.join(base, "mask", f"{n}_training_mask.gif"))
        for p in item[1:]:
            if not os.path.exists(p):
                sys.exit(f"missing training file: {p}")
        items.append(item)
    return items


def load_set(root, ids, variants=0, seed=0):
    """-> list of (id, normalized 3xHxW float32, HxW class map, HxW bool FOV), stray-colour count.
    variants > 0 adds that many camera-like recolourings of each image
    (camera_variant), normalized the same way, labels unchanged."""
    out, stray = [], 0
    rng = np.random.default_rng(seed)
    for n, ip, ap, mp in rite_items(root, ids):
        cls, other = load_av(ap)
        stray += other
        fov = np.asarray(Image.open(mp).convert("L")) > 127
        rgb = load_rgb(ip)
        out.append((n, fov_normalize(rgb), cls, fov))
        for _ in range(variants):
            out.append((n, fov_normalize(camera_variant(rgb, rng)), cls, fov))
    return out, stray


class UNet(common_nn.UNet):
    """The shared U-Net with `out` output channels (vessel, artery, vein)."""

    def __init__(self, widths=(16, 32, 64, 128), out=3):
        super().__init__(widths, out_channels=out)


class DeviceSampler:
    """Cuts whole augmented batches from images and labels kept on the device.
    Random numbers: crop centres, symmetries and gains from a generator on the
    device (no host sync), the batch's scale from a CPU generator."""

    def __init__(self, data, patch, device, seed):
        self.patch, self.device = patch, device
        self.x = torch.from_numpy(np.stack([d[1] for d in data])).permute(0, 2, 3, 1).contiguous().to(device)  # NxHxWx3
        self.cls = torch.from_numpy(np.stack([d[2] for d in data])).to(device)  # NxHxW uint8
        n, self.h, self.w, _ = self.x.shape
        fov = torch.from_numpy(np.stack([d[3] for d in data]))
        self.centres = torch.nonzero(fov.reshape(-1)).reshape(-1).to(device)  # flat n*H*W indices
        self.gen = torch.Generator(device=device)
        self.gen.manual_seed(seed)
        self.cpu_gen = torch.Generator()
        self.cpu_gen.manual_seed(seed + 1)

    def state(self):
        return {"gen": self.gen.get_state(), "cpu_gen": self.cpu_gen.get_state()}

    def set_state(self, st):
        self.gen.set_state(st["gen"]); self.cpu_gen.set_state(st["cpu_gen"])

    def batch(self, b):
        dev, g, p = self.device, self.gen, self.patch
        u = float(torch.rand(1, generator=self.cpu_gen))
        scale = math.exp(math.log(0.7) + u * (math.log(1.4) - math.log(0.7)))
        s = min(int(round(p * scale)), self.h, self.w)
        c = self.centres[torch.randint(len(self.centres), (b,), generator=g, device=dev)]
        img = torch.div(c, self.h * self.w, rounding_mode="floor")
        rem = c - img * (self.h * self.w)
        cy = torch.div(rem, self.w, rounding_mode="floor")
        cx = rem - cy * self.w
        y0 = (cy - s // 2).clamp(0, self.h - s)
        x0 = (cx - s // 2).clamp(0, self.w - s)
        ar = torch.arange(s, device=dev)
        rows = (y0[:, None, None] + ar[None, :, None])
        cols = (x0[:, None, None] + ar[None, None, :])
        ii = img[:, None, None]
        xi = self.x[ii, rows, cols].permute(0, 3, 1, 2)  # Bx3xSxS
        k = self.cls[ii, rows, cols]  # BxSxS
        av = (k >= ARTERY) & (k <= CROSSING)
        lab = torch.stack([k > 0, (k == ARTERY) | (k == CROSSING), (k == VEIN) | (k == CROSSING), av], 1).float()
        t = torch.cat([xi, lab], 1)  # Bx7xSxS
        if s != p:
            t = F.interpolate(t, size=(p, p), mode="bilinear", align_corners=False)
        # per-sample symmetries of the square: transpose, flip rows, flip columns
        f = torch.rand(3, b, 1, 1, 1, generator=g, device=dev) < 0.5
        t = torch.where(f[0], t.transpose(2, 3), t)
        t = torch.where(f[1], t.flip(2), t)
        t = torch.where(f[2], t.flip(3), t)
        xi, lab = t[:, :3], (t[:, 3:] > 0.5).float()
        a = 1 + GAIN * (2 * torch.rand(b, 3, 1, 1, generator=g, device=dev) - 1)
        o = OFFSET * (2 * torch.rand(b, 3, 1, 1, generator=g, device=dev) - 1)
        inside = (xi.abs().sum(1, keepdim=True) > 0).float()
        xi = (xi * a + o) * inside
        return xi.contiguous(), lab


def soft_dice(p, t, m=None):
    if m is not None:
        p, t = p * m, t * m
    return 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)


def loss_fn(logits, lab, av_dice):
    """lab channels: vessel, artery, vein, A/V-labelled mask."""
    logits = logits.float()
    v = logits[:, 0]
    loss = F.binary_cross_entropy_with_logits(v, lab[:, 0]) + soft_dice(torch.sigmoid(v), lab[:, 0])
    m = lab[:, 3:4]
    av = F.binary_cross_entropy_with_logits(logits[:, 1:3], lab[:, 1:3], reduction="none")
    loss = loss + (av * m).sum() / (2 * m.sum()).clamp(min=1)
    if av_dice > 0:
        pa = torch.sigmoid(logits[:, 1:3])
        loss = loss + av_dice * 0.5 * (soft_dice(pa[:, 0], lab[:, 1], m[:, 0]) + soft_dice(pa[:, 1], lab[:, 2], m[:, 0]))
    return loss


def predict(model, img, device):
    """Whole-image 3xHxW probabilities for a 3xHxW normalized array (fp32)."""
    multiple = 2 ** (len(model.down) - 1)
    _, h, w = img.shape
    ph, pw = (-h) % multiple, (-w) % multiple
    x = torch.from_numpy(np.pad(img, ((0, 0), (0, ph), (0, pw)))).unsqueeze(0).to(device)
    with torch.no_grad():
        p = torch.sigmoid(model(x).float())[0, :, :h, :w]
    return p.cpu().numpy()


def auc(scores, truth):
    """ROC AUC (ties counted half) by the rank-sum statistic."""
    from scipy.stats import rankdata
    npos = int(truth.sum()); nneg = truth.size - npos
    if npos == 0 or nneg == 0:
        return float("nan")
    r = rankdata(scores)
    return float((r[truth].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def f1_at(vp, vt, t):
    pred = vp >= t
    tp = float((pred & vt).sum()); fp = float((pred & ~vt).sum()); fn = float((~pred & vt).sum())
    return 2 * tp / max(2 * tp + fp + fn, 1)


def evaluate(model, data, device, thr=None):
    """-> vessel F1-optimal threshold on data (0.20..0.80 by 0.02, inside the
    FOV), its F1, and the figures: A/V accuracy on pixels labelled artery or
    vein (crossing and uncertain excluded; artery if p_artery > p_vein),
    artery and vein sensitivity, the same accuracy on those of them the model
    detects (p_vessel >= thr), vessel AUC inside the FOV and vessel F1 at thr
    (given: e.g. the training images' threshold; else the optimal one)."""
    model.eval()
    vp, vt, av_p, av_ok, a_ok, v_ok, n_a, n_v = [], [], [], [], 0, 0, 0, 0
    for _, img, cls, fov in data:
        p = predict(model, img, device)
        vp.append(p[0][fov]); vt.append(cls[fov] > 0)
        art, vein = cls == ARTERY, cls == VEIN
        call_art = p[1] > p[2]
        a_ok += int((call_art & art).sum()); n_a += int(art.sum())
        v_ok += int((~call_art & vein).sum()); n_v += int(vein.sum())
        labelled = art | vein
        av_p.append(p[0][labelled]); av_ok.append(((call_art & art) | (~call_art & vein))[labelled])
    vp, vt = np.concatenate(vp), np.concatenate(vt)
    best = (0.0, 0.5)
    for t in np.arange(0.20, 0.81, 0.02):
        best = max(best, (f1_at(vp, vt, t), round(float(t), 2)))
    if thr is None:
        thr = best[1]
    av_p, av_ok = np.concatenate(av_p), np.concatenate(av_ok)
    det = av_p >= thr
    m = {"av_accuracy": (a_ok + v_ok) / max(n_a + n_v, 1),
         "artery_sensitivity": a_ok / max(n_a, 1),
         "vein_sensitivity": v_ok / max(n_v, 1),
         "av_accuracy_detected": float(av_ok[det].sum()) / max(int(det.sum()), 1),
         "vessel_auc": auc(vp, vt),
         "vessel_f1": f1_at(vp, vt, thr),
         "vessel_threshold": thr,
         "artery_pixels": n_a, "vein_pixels": n_v}
    return best[1], best[0], m


def parity_pattern(h=40, w=48):
    """A deterministic RGB test card with a dark (outside-FOV) corner (as train/vessels)."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([(x * 37 + y * 11) % 256, (x * 5 + y * 23 + 40) % 256, (x * y) % 200], axis=2)
    rgb[(x < 10) & (y < 8)] = 10
    return rgb.astype(np.uint8)


def write_parity(model, path):
    """Go's normalization plus ONNX Runtime must reproduce these numbers;
    "prob" holds the 3 sigmoid channels flattened C,H,W."""
    multiple = 2 ** (len(model.down) - 1)
    rgb = parity_pattern(h=-(-40 // multiple) * multiple, w=-(-48 // multiple) * multiple)
    x = fov_normalize(rgb)
    model.eval()
    with torch.no_grad():
        prob = torch.sigmoid(model(torch.from_numpy(x).unsqueeze(0)))[0].numpy()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump({"height": rgb.shape[0], "width": rgb.shape[1],
                   "rgb_base64": base64.b64encode(rgb.tobytes()).decode(),
                   "channels": CLASSES,
                   "input": [round(float(v), 6) for v in x.ravel()],
                   "prob": [round(float(v), 6) for v in prob.ravel()]}, f)
    os.replace(path + ".tmp", path)


def train_data_note(holdout):
    if holdout:
        return "RITE training 21-35 (A/V labels; 36-40 held out for validation)"
    return "RITE training 21-40 (A/V labels)"


def save_ckpt(path, obj):
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)


def export(model, ck, args, say, data_root):
    model = model.cpu().eval()
    cargs = ck.get("args", {})
    holdout = bool(cargs.get("holdout", False))
    thr = ck.get("threshold")
    if thr is None:
        say("checkpoint has no vessel threshold: searching it on the training images (CPU)")
        ids = [n for n in TRAIN_IDS if not (holdout and n in HOLDOUT_IDS)]
        data, _ = load_set(data_root, ids)
        thr, f1, _ = evaluate(model, data, "cpu")
        say(f"training-set vessel F1 {f1:.4f} at threshold {thr:.2f}")
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "av.onnx")
    export_onnx(model, onnx_path, 64)
    meta = {
        "name": "av",
        "version": args.version or time.strftime("%Y.%m.%d"),
        "task": "retinal artery/vein segmentation (independent sigmoid channels: vessel, artery, vein; "
                "a vessel pixel is an artery if p_artery > p_vein)",
        "input": "image",
        "output": "logits",
        "output_activation": "sigmoid",
        "channels": "RGB",
        "classes": CLASSES,
        "normalization": "fov_standardize",
        "fov_threshold": FOV_THRESHOLD,
        "size_multiple": 2 ** (len(cargs.get("widths") or [16, 32, 64, 128]) - 1),
        "threshold": round(float(thr), 2),
        "train_steps": int(ck["step"]),
        "train_patch": int(cargs.get("patch", 0)),
        "train_batch": int(cargs.get("batch", 0)),
        "train_seed": int(cargs.get("seed", 0)),
        "train_note": f"train/av/train.py --steps {int(ck.get('total_steps', ck['step']))} "
                      f"--batch {cargs.get('batch')} --patch {cargs.get('patch')} --seed {cargs.get('seed')}"
                      + (f" --widths {','.join(str(w) for w in cargs['widths'])}" if cargs.get("widths") else "")
                      + (" --holdout" if holdout else ""),
        "train_data": train_data_note(holdout),
    }
    if args.test_time_orientations > 1:
        # How the Go side runs it (internal/vessels): the outputs averaged
        # over this many orientations of the image (models/av.md).
        meta["test_time_orientations"] = args.test_time_orientations
    if cargs.get("init_onnx"):
        meta["train_note"] += (f" --lr {cargs.get('lr')} --init-onnx {cargs['init_onnx']} "
                               f"--camera-variants {cargs.get('camera_variants', 0)} (a fine-tune of that model)")
    elif cargs.get("camera_variants"):
        meta["train_note"] += f" --camera-variants {cargs['camera_variants']}"
    if cargs.get("camera_variants"):
        meta["train_data"] += f", each with {cargs['camera_variants']} camera-like recolourings"
    with open(os.path.join(args.out, "av.json.tmp"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    os.replace(os.path.join(args.out, "av.json.tmp"), os.path.join(args.out, "av.json"))
    write_parity(model, args.parity)
    say(f"exported {onnx_path}, av.json and {args.parity}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(repo, "..", "shared", "datasets"))
    ap.add_argument("--out", default=os.path.join(repo, "models"), help="where av.onnx and av.json go")
    ap.add_argument("--work", default=os.path.join(here, "runs"), help="checkpoint, log, metrics")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--time-budget", type=float, default=0, metavar="SECONDS",
                    help="run 100 steps, time them, and set the total steps so the run "
                         "(loading and final evaluation included) ends within SECONDS; overrides --steps")
    ap.add_argument("--batch", type=int, default=None, help="default 32 on CUDA, 8 on CPU")
    ap.add_argument("--patch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--av-dice", type=float, default=0.0,
                    help="weight of a soft Dice on the artery/vein channels (over A/V-labelled pixels)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--holdout", action="store_true", help="train on 21-35, validate on 36-40")
    ap.add_argument("--ckpt-every", type=int, default=500)
    ap.add_argument("--resume", action="store_true",
                    help="continue WORK/ckpt.pt on its own schedule (its total steps; --steps/--time-budget ignored)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (CUDA, torch >= 2 only)")
    ap.add_argument("--export", action="store_true", help="export after training (on CPU torch 1.13 prefer --export-only)")
    ap.add_argument("--export-only", action="store_true", help="export WORK/ckpt.pt without training")
    ap.add_argument("--version", help="model version in av.json (default: today's date)")
    ap.add_argument("--test-time-orientations", type=int, default=4, choices=(1, 2, 4, 8),
                    help="av.json: average the model's outputs in Go over this many orientations of the image "
                         "(as it is, mirrored, upside down, both; 8 adds the transposes)")
    ap.add_argument("--widths", type=lambda t: [int(v) for v in t.split(",")], default=[16, 32, 64, 128],
                    help="U-Net channels per level (len-1 poolings; Go reads the size multiple from av.json)")
    ap.add_argument("--init-onnx", metavar="PATH",
                    help="start from an exported model's weights (e.g. models/av.onnx) and fine-tune with its "
                         "BatchNorm layers frozen (the export folded them into the convolutions)")
    ap.add_argument("--camera-variants", type=int, default=0, metavar="K",
                    help="add K camera-like recolourings of every training image (camera_variant)")
    ap.add_argument("--parity", default=os.path.join(repo, "internal", "vessels", "testdata", "av_parity.json"),
                    help="where to write the Go parity fixture")
    args = ap.parse_args()
    t_start = time.time()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.work, exist_ok=True)
    log = open(os.path.join(args.work, "train.log"), "a")

    def say(msg):
        line = time.strftime("%H:%M:%S ") + msg
        print(line, flush=True)
        log.write(line + "\n"); log.flush()

    ckpt_path = os.path.join(args.work, "ckpt.pt")
    if args.export_only:
        if not os.path.exists(ckpt_path):
            sys.exit(f"--export-only: no checkpoint at {ckpt_path}")
        ck = torch.load(ckpt_path, map_location="cpu")
        model = UNet(tuple(ck.get("args", {}).get("widths") or (16, 32, 64, 128)))
        model.load_state_dict(ck["model"])
        say(f"loaded {ckpt_path} (step {ck['step']}) for export")
        export(model, ck, args, say, args.data)
        return

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.batch is None:
        args.batch = 32 if device == "cuda" else 8
    use_bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    if device == "cuda":
        torch.backends.cudnn.benchmark = True

    def amp():
        if use_bf16:
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    train_ids = [n for n in TRAIN_IDS if not (args.holdout and n in HOLDOUT_IDS)]
    train, stray = load_set(args.data, train_ids, args.camera_variants, args.seed)
    held = load_set(args.data, HOLDOUT_IDS)[0] if args.holdout else []
    say(f"loaded RITE training {train_ids[0]}-{train_ids[-1]} ({len(train)} images, {stray} pixels of stray "
        f"colours -> uncertain)" + (f", held out {HOLDOUT_IDS[0]}-{HOLDOUT_IDS[-1]}" if held else "")
        + f" on {device}{' (bf16 autocast)' if use_bf16 else ''}; torch {torch.__version__}")

    model = UNet(tuple(args.widths))
    if args.init_onnx:
        common_nn.unet_from_onnx(args.init_onnx, model)
        say(f"initialized from {args.init_onnx}; BatchNorm frozen")
    model = model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sampler = DeviceSampler(train, args.patch, device, args.seed)
    start, total = 0, args.steps
    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(ck["model"]); opt.load_state_dict(ck["opt"])
        start, total = int(ck["step"]), int(ck["total_steps"])
        if ck.get("device") == device:
            sampler.set_state({"gen": ck["gen"].cpu(), "cpu_gen": ck["cpu_gen"].cpu()})
        say(f"resumed at step {start} of {total}")
    elif args.time_budget > 0:
        total = None  # decided after the warm-up
    fwd = model
    if args.compile:
        if device == "cuda" and hasattr(torch, "compile"):
            fwd = torch.compile(model)
        else:
            say("--compile ignored (needs CUDA and torch >= 2)")

    def ckpt(step, **extra):
        obj = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
               "total_steps": total, "args": vars(args), "device": device, "torch": str(torch.__version__)}
        obj.update(sampler.state())
        obj.update(extra)
        save_ckpt(ckpt_path, obj)

    def lr_at(k):
        if k < WARM:
            return args.lr * (k + 1) / WARM
        return args.lr * 0.5 * (1 + math.cos(math.pi * (k - WARM) / max(total - WARM, 1)))

    say(f"batch {args.batch}, patch {args.patch}, lr {args.lr}, seed {args.seed}, "
        + (f"steps {total}" if total else f"time budget {args.time_budget:.0f}s"))
    run_loss = torch.zeros((), device=device)
    t0, t_mark, step = time.time(), None, start
    while total is None or step < total:
        lr = lr_at(step)
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        if args.init_onnx:
            common_nn.freeze_batchnorm(model)
        x, y = sampler.batch(args.batch)
        with amp():
            out = fwd(x)
        loss = loss_fn(out, y, args.av_dice)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        run_loss += loss.detach()
        step += 1
        if total is None and step == 20:
            if device == "cuda":
                torch.cuda.synchronize()
            t_mark = time.time()
        if total is None and step == WARM:
            if device == "cuda":
                torch.cuda.synchronize()
            sps = (time.time() - t_mark) / (WARM - 20)
            # Time a second whole-image pass: the first one pays for
            # cuDNN's algorithm search at a new input size (about 10 s on
            # an H200 for the 5-level model, which once reserved 1300 s).
            # In eval mode, so the timing passes leave BatchNorm's running
            # statistics alone (the loop sets train mode again).
            model.eval()
            predict(model, train[0][1], device)
            if device == "cuda":
                torch.cuda.synchronize()
            te = time.time()
            predict(model, train[0][1], device)
            if device == "cuda":
                torch.cuda.synchronize()
            reserve = (time.time() - te) * 1.5 * (len(train) + len(held)) + 5.0
            left = args.time_budget - (time.time() - t_start) - reserve
            total = max(WARM, WARM + int(0.97 * left / sps))
            say(f"time budget {args.time_budget:.0f}s: {sps:.4f}s/step over steps 21-{WARM}, "
                f"{reserve:.0f}s kept for evaluation -> total steps {total} (reproduce with --steps {total})")
        if step % 50 == 0:
            done = step - start
            say(f"step {step}/{total or '?'} loss {run_loss.item() / 50:.4f} lr {lr:.2e} "
                f"{(time.time() - t0) / done:.3f}s/step")
            run_loss.zero_()
        if total is not None and (step % args.ckpt_every == 0 or step == total):
            ckpt(step)
    if device == "cuda":
        torch.cuda.synchronize()
    say(f"trained {total} steps in {time.time() - t0:.0f}s")

    thr, f1, mtrain = evaluate(model, train, device)
    say(f"training-set vessel F1 {f1:.4f} at threshold {thr:.2f}")
    metrics = {"steps": total, "batch": args.batch, "patch": args.patch, "seed": args.seed,
               "train_data": train_data_note(args.holdout), "device": device, "torch": str(torch.__version__)}
    if args.holdout:
        _, _, mh = evaluate(model, held, device, thr)
        metrics.update({"holdout_" + k: v for k, v in mh.items()})
        metrics["holdout_images"] = f"RITE training {HOLDOUT_IDS[0]}-{HOLDOUT_IDS[-1]}"
        metrics["holdout_note"] = "vessel F1 and av_accuracy_detected at the training images' threshold"
    metrics.update({"train_" + k: v for k, v in mtrain.items()})
    metrics["threshold"] = thr
    pre = "holdout_" if args.holdout else "train_"
    say(f"{pre.rstrip('_')}: A/V accuracy {metrics[pre + 'av_accuracy']:.4f}, artery sens {metrics[pre + 'artery_sensitivity']:.4f}, "
        f"vein sens {metrics[pre + 'vein_sensitivity']:.4f}, vessel AUC {metrics[pre + 'vessel_auc']:.4f}")
    with open(os.path.join(args.work, "metrics.json.tmp"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    os.replace(os.path.join(args.work, "metrics.json.tmp"), os.path.join(args.work, "metrics.json"))
    ckpt(total, threshold=float(thr), metrics={k: v for k, v in metrics.items() if isinstance(v, (int, float))})
    say(f"wrote {ckpt_path} and metrics.json ({time.time() - t_start:.0f}s in all)")
    if args.export:
        export(model, torch.load(ckpt_path, map_location="cpu"), args, say, args.data)


if __name__ == "__main__":
    main()
