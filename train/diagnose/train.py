#!/usr/bin/env python3
"""Train the RetinalGPT diagnosis classifier (model "diagnose") and export it
to ONNX.

One small CNN, several heads, one output tensor "logits" [N, 11]:
  0-4  DR grade, ICDR 0-4 (softmax over the five)
  5-7  DME risk, IDRiD 0-2 (softmax over the three)
  8    glaucoma (sigmoid)
  9    cataract (sigmoid)
  10   normal (sigmoid; "abnormal" is its complement)

Input: the photo cropped and resized exactly as the Go diagnose stage does
(fundus.DetectFOV, fundus.NormalizeFOV to 256 x 256; train/diagnose/prep
writes those crops, so training sees the product's pixels), box-averaged
2x2 to 128 x 128 (rounded to whole grey levels), then
(rgb/255 - MEAN) / STD per channel with the fixed constants below (no
per-image standardization: haze and low contrast are what cataract looks
like, and per-image standardization would erase them).

Data (../shared/datasets):
  idrid/grading   413 photos: DR grade, DME risk; normal = (DR 0 and DME 0)
  drishti_gs1     50 photos: glaucoma / not; a glaucoma photo is not normal
  eye_diseases_4class, without the 1240 `unknown_augmented` files (augmented
                  copies of unknown originals: kept out of training and
                  evaluation alike):
    odir5k normal     DR 0, DME 0, glaucoma 0, cataract 0, normal 1
    cataract (odir5k, kaggle)  cataract 1, glaucoma 0, normal 0
    glaucoma (odir5k, kaggle)  glaucoma 1, cataract 0, normal 0
    eyepacs           DR = column eyepacs_trainLabels_level_if_eyepacs_name
                      (NOT the folder), glaucoma 0, cataract 0,
                      normal = (grade 0)
  Unknown labels are masked out of the loss.

Splits: 5 folds. IDRiD: sorted by (DR grade, DME risk, name), index i in
fold i mod 5 (stratified). Drishti-GS and eye_diseases_4class: photos are
first grouped by near-identity (32x32 grey thumbnails, Pearson correlation
> 0.998, or the same ODIR-5K file name in two folders: the same photo
saved twice falls in one group), each group's fold
is md5(first name) mod 5. Fold 0 of eye_diseases_4class is its held-out
fold for the reported cataract/glaucoma figures.

--fold K trains on the other four folds and writes the held-out logits
(WORK/oof_K.npz); --fold all trains the shipped model on everything;
--report reads the five oof files, fits calibration (temperature for the
softmax heads, Platt for the sigmoid heads) and thresholds (Youden) on
training folds only (nested: the figures for fold K use parameters fitted
on the other four folds' out-of-fold logits), prints the metrics and writes
WORK/cv_metrics.json; the shipped calibration is fitted on all out-of-fold
logits; --stack fits the cataract head's combination with the quality
gate's measures (WORK/quality.csv from train/diagnose/qfeat) the same way
(WORK/stack.json); --export writes models/diagnose.onnx and
models/diagnose.json (--export-fold K: fold K's model and held-out lists).

  /usr/bin/python3 train/diagnose/train.py --make-list
  go build -o /tmp/dprep ./train/diagnose/prep
  nice -n 10 /tmp/dprep -size 256 -out train/data/diagnose/all < train/data/diagnose/list.txt
  for k in 0 1 2 3 4; do /usr/bin/python3 train/diagnose/train.py --fold $k --epochs 10; done
  /usr/bin/python3 train/diagnose/train.py --fold all --epochs 10
  /usr/bin/python3 train/diagnose/train.py --report
  go build -o /tmp/qfeat ./train/diagnose/qfeat
  nice -n 10 /tmp/qfeat < train/data/diagnose/list.txt > train/data/diagnose/quality.csv
  /usr/bin/python3 train/diagnose/train.py --stack
  /usr/bin/python3 train/diagnose/train.py --export
(--make-list writes WORK/list.txt, the photos in the order prep reads them.)
"""
import argparse
import csv
import hashlib
import json
import random
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(os.path.dirname(REPO), "shared", "datasets")
# RETINALGPT_DIAGNOSE_WORK runs an experiment in another folder (with
# links to this one's inputs: all.u8, list.txt, quality.csv, *.jsonl).
WORK = os.environ.get("RETINALGPT_DIAGNOSE_WORK") or os.path.join(REPO, "train", "data", "diagnose")
MEAN = [0.45, 0.28, 0.16]
STD = [0.30, 0.20, 0.13]
NOUT = 11
CROP = 256  # side of the prep crops (fundus.NormalizeFOV)
HEADS = ["dr", "dme", "glaucoma", "cataract", "normal"]
VERSION = "2026.11.27"  # the export date, like the other models


def make_list():
    d = DATA
    paths = []
    for name in read_csv(os.path.join(d, "idrid/grading/labels.csv")):
        paths.append(os.path.join(d, "idrid/grading/images", name["image"]))
    for name in read_csv(os.path.join(d, "drishti_gs1/labels.csv")):
        paths.append(os.path.join(d, "drishti_gs1/images", name["image"]))
    for r in read_csv(os.path.join(d, "eye_diseases_4class/labels.csv")):
        if r["source_by_filename"] != "unknown_augmented":
            paths.append(os.path.join(d, "eye_diseases_4class", r["image"]))
    with open(os.path.join(WORK, "list.txt"), "w") as f:
        f.write("\n".join(paths) + "\n")


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def labels():
    """Per photo of list.txt: source, name, label vector (dr, dme, glaucoma,
    cataract, normal; -1 unknown)."""
    idr = {r["image"]: r for r in read_csv(os.path.join(DATA, "idrid/grading/labels.csv"))}
    dri = {r["image"]: r for r in read_csv(os.path.join(DATA, "drishti_gs1/labels.csv"))}
    eye = {r["image"]: r for r in read_csv(os.path.join(DATA, "eye_diseases_4class/labels.csv"))}
    idx = read_csv(os.path.join(WORK, "all.csv"))
    # an ODIR-5K photo filed in two folders (e.g. cataract and glaucoma)
    # has both diseases
    folders = {}
    for r in eye.values():
        if r["source_by_filename"] == "odir5k":
            folders.setdefault(os.path.basename(r["image"]), set()).add(r["folder_label"])
    src, names, lab, ok = [], [], [], []
    for row in idx:
        p = row["path"]
        ok.append(row["ok"] == "1")
        if "/idrid/grading/" in p:
            r = idr[os.path.basename(p)]
            dr, dme = int(r["dr_grade"]), int(r["dme_risk"])
            src.append("idrid"); names.append(r["image"])
            lab.append([dr, dme, -1, -1, int(dr == 0 and dme == 0)])
        elif "/drishti_gs1/" in p:
            r = dri[os.path.basename(p)]
            g = int(r["label"] == "glaucoma")
            src.append("drishti"); names.append(r["image"])
            lab.append([-1, -1, g, -1, 0 if g else -1])
        else:
            key = p.split("/eye_diseases_4class/")[1]
            r = eye[key]
            src.append("eye4:" + r["source_by_filename"]); names.append(key)
            f = r["folder_label"]
            if r["source_by_filename"] == "eyepacs":
                g = int(r["eyepacs_trainLabels_level_if_eyepacs_name"])
                lab.append([g, -1, 0, 0, int(g == 0)])
            elif f in ("normal", "cataract", "glaucoma"):
                fs = folders.get(os.path.basename(key), {f}) if r["source_by_filename"] == "odir5k" else {f}
                if fs == {"normal"}:
                    lab.append([0, 0, 0, 0, 1])
                else:
                    lab.append([-1, -1, int("glaucoma" in fs), int("cataract" in fs), 0])
            else:
                lab.append([-1, -1, -1, -1, -1])
    return np.array(src), np.array(names), np.array(lab, np.int64), np.array(ok)


def load_pixels(size):
    """The prep crops (CROP x CROP) reduced to size x size by exact box
    averaging of (CROP/size)^2 pixels, rounded to whole grey levels (Go's
    diagnose.Downsample does the same)."""
    cache = os.path.join(WORK, f"pix{size}.npy")
    if os.path.exists(cache) and os.path.getmtime(cache) > os.path.getmtime(os.path.join(WORK, "all.u8")):
        return np.load(cache)
    raw = np.fromfile(os.path.join(WORK, "all.u8"), np.uint8)
    x = raw.reshape(-1, CROP, CROP, 3)
    f = CROP // size
    out = np.empty((len(x), size, size, 3), np.uint8)
    for s in range(0, len(x), 256):
        b = x[s:s + 256].astype(np.uint32).reshape(-1, size, f, size, f, 3).sum((2, 4))
        out[s:s + 256] = (b + f * f // 2) // (f * f)
    np.save(cache, out)
    return out


def folds(src, names, lab, pix):
    n = len(src)
    fold = np.zeros(n, np.int64)
    idr = [i for i in range(n) if src[i] == "idrid"]
    idr.sort(key=lambda i: (lab[i][0], lab[i][1], names[i]))
    for k, i in enumerate(idr):
        fold[i] = k % 5
    rest = [i for i in range(n) if src[i] != "idrid"]
    # near-identical photos share a group: 32x32 grey thumbnails with a
    # Pearson correlation above 0.998 (hazy photos of different eyes reach
    # 0.995, so the bar is high), or the same ODIR-5K file name in two
    # folders
    th = pix[rest].astype(np.float32).mean(3)
    s = th.shape[1] // 32
    th = th.reshape(len(rest), 32, s, 32, s).mean((2, 4)).reshape(len(rest), -1)
    th -= th.mean(1, keepdims=True)
    th /= np.linalg.norm(th, axis=1, keepdims=True) + 1e-6
    c = th @ th.T
    parent = list(range(len(rest)))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a
    byname = {}
    for k, i in enumerate(rest):
        if src[i] == "eye4:odir5k":
            byname.setdefault(os.path.basename(names[i]), []).append(k)
    for ks in byname.values():
        for k in ks[1:]:
            parent[find(k)] = find(ks[0])
    ii, jj = np.nonzero(np.triu(c > 0.998, 1))
    for a, b in zip(ii, jj):
        parent[find(a)] = find(b)
    groups = {}
    for k in range(len(rest)):
        groups.setdefault(find(k), []).append(k)
    dup = sum(len(g) for g in groups.values() if len(g) > 1)
    for g in groups.values():
        first = min(names[rest[k]] for k in g)
        f = int(hashlib.md5(first.encode()).hexdigest(), 16) % 5
        for k in g:
            fold[rest[k]] = f
    return fold, dup


class Net(nn.Module):
    def __init__(self, w=(16, 32, 64, 96, 128)):
        super().__init__()
        layers, cin = [], 3
        for i, c in enumerate(w):
            layers += [nn.Conv2d(cin, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            if i > 0:  # no second convolution at full resolution: too slow on a CPU
                layers += [nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            cin = c
        self.body = nn.Sequential(*layers)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(2 * cin, NOUT)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))

    def forward(self, x):
        """x: [N,3,H,W] RGB 0..255 (float)."""
        x = (x / 255.0 - self.mean) / self.std
        x = self.body(x)
        x = torch.cat([x.mean((2, 3)), x.amax((2, 3))], 1)
        return self.head(self.drop(x))


def loss_fn(out, y, w_idrid):
    loss = out.new_zeros(())
    m = y[:, 0] >= 0
    if m.any():
        l = F.cross_entropy(out[m, 0:5], y[m, 0], reduction="none")
        loss = loss + (l * w_idrid[m]).sum() / w_idrid[m].sum()
    m = y[:, 1] >= 0
    if m.any():
        loss = loss + F.cross_entropy(out[m, 5:8], y[m, 1])
    for h, col in ((2, 8), (3, 9), (4, 10)):
        m = y[:, h] >= 0
        if m.any():
            loss = loss + 0.5 * F.binary_cross_entropy_with_logits(out[m, col], y[m, h].float())
    return loss


def augment(x, g):
    """x: [B,3,S,S] float 0..255."""
    b = x.shape[0]
    flip = torch.rand(b, generator=g) < 0.5
    x[flip] = x[flip].flip(3)
    flip = torch.rand(b, generator=g) < 0.5
    x[flip] = x[flip].flip(2)
    gain = 0.8 + 0.4 * torch.rand(b, 1, 1, 1, generator=g)
    chan = 0.92 + 0.16 * torch.rand(b, 3, 1, 1, generator=g)
    x = (x * gain * chan).clamp(0, 255)
    # small rotation + scale
    ang = (torch.rand(b, generator=g) - 0.5) * 0.6
    sc = 1.0 + (torch.rand(b, generator=g) - 0.5) * 0.15
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos, -sin, torch.zeros(b)], 1), torch.stack([sin, cos, torch.zeros(b)], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def train(pix, lab, src, idx, budget, seed, say, epochs=0):
    """Trains until the wall-clock budget (seconds) is spent, or, with
    epochs > 0, for that many epochs (the schedule then follows the epoch
    count, so a busy machine does not shorten training)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = Net()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    X = torch.from_numpy(pix)  # N,S,S,3 uint8
    Y = torch.from_numpy(lab)
    widr = torch.tensor([3.0 if s == "idrid" else 1.0 for s in src])
    # IDRiD photos drawn 3x as often: the target data set
    pool = np.concatenate([idx] + [idx[src[idx] == "idrid"]] * 2)
    t0, step, bs, ep = time.time(), 0, 32, 0
    while True:
        ep += 1
        perm = pool[torch.randperm(len(pool), generator=g).numpy()]
        tot, nb = 0.0, 0
        nbatch = (len(perm) - bs + 1 + bs - 1) // bs
        for s in range(0, len(perm) - bs + 1, bs):
            frac = (time.time() - t0) / budget if epochs <= 0 else (ep - 1 + s / bs / nbatch) / epochs
            if frac >= 1:
                say(f"stopped after {ep - 1} epochs + {nb} batches ({time.time() - t0:.0f} s)")
                return model
            for gr in opt.param_groups:
                gr["lr"] = 2e-3 * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac))) if frac > 0.05 else 2e-3 * frac / 0.05 + 1e-5
            b = perm[s:s + bs]
            x = X[b].permute(0, 3, 1, 2).float()
            model.train()
            out = model(augment(x, g))
            loss = loss_fn(out, Y[b], widr[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss); nb += 1
        say(f"epoch {ep} loss {tot / max(nb, 1):.4f} ({time.time() - t0:.0f} s)")
        if epochs > 0 and ep >= epochs:
            say(f"stopped after {ep} epochs ({time.time() - t0:.0f} s)")
            return model


@torch.no_grad()
def predict(model, pix, idx, bs=64):
    model.eval()
    outs = []
    for s in range(0, len(idx), bs):
        x = torch.from_numpy(pix[idx[s:s + bs]]).permute(0, 3, 1, 2).float()
        outs.append(model(x).numpy())
    return np.concatenate(outs) if outs else np.zeros((0, NOUT), np.float32)


# ------------------------------------------------------------ calibration and metrics

def softmax(z, t=1.0):
    z = z / t
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def fit_temperature(z, y):
    best, bt = 1e18, 1.0
    for t in np.exp(np.linspace(math.log(0.3), math.log(5), 200)):
        p = softmax(z, t)
        nll = -np.log(p[np.arange(len(y)), y] + 1e-12).mean()
        if nll < best:
            best, bt = nll, t
    return float(bt)


def fit_platt(z, y):
    a, b = 1.0, 0.0
    for _ in range(500):  # Newton on the logistic NLL
        p = sigmoid(a * z + b)
        ga, gb = ((p - y) * z).mean(), (p - y).mean()
        w = p * (1 - p) + 1e-9
        haa, hab, hbb = (w * z * z).mean() + 1e-6, (w * z).mean(), w.mean() + 1e-6
        det = haa * hbb - hab * hab
        da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        a, b = a - da, b - db
        if abs(da) + abs(db) < 1e-9:
            break
    return float(a), float(b)


def youden(p, y):
    best, bt = -1, 0.5
    for t in np.unique(np.round(p, 4)):
        pos = p >= t
        sens = (pos & (y == 1)).sum() / max((y == 1).sum(), 1)
        spec = (~pos & (y == 0)).sum() / max((y == 0).sum(), 1)
        if sens + spec - 1 > best:
            best, bt = sens + spec - 1, float(t)
    return bt


def auc(p, y):
    pos, neg = p[y == 1], p[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    allp = np.concatenate([pos, neg])[order]
    ranks = np.empty(len(allp))
    i = 0
    while i < len(allp):  # average ranks for ties
        j = i
        while j + 1 < len(allp) and allp[j + 1] == allp[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(allp)); r[order] = ranks
    return float((r[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def qwk(a, b, k):
    o = np.zeros((k, k))
    for x, y in zip(a, b):
        o[x, y] += 1
    w = np.array([[(i - j) ** 2 for j in range(k)] for i in range(k)]) / (k - 1) ** 2
    e = np.outer(o.sum(1), o.sum(0)) / o.sum()
    return float(1 - (w * o).sum() / (w * e).sum())


def ece(p, y, bins=10):
    """Expected calibration error of binary probabilities p (positive class)."""
    e, n = 0.0, len(p)
    for b in range(bins):
        m = (p >= b / bins) & ((p < (b + 1) / bins) if b < bins - 1 else (p <= 1))
        if m.any():
            e += m.sum() / n * abs(p[m].mean() - y[m].mean())
    return float(e)


def ece_multi(p, y, bins=10):
    """Top-label ECE of a softmax."""
    conf, pred = p.max(1), p.argmax(1)
    return ece(conf, (pred == y).astype(float), bins)


def fit_calibration(z, lab, src):
    """Calibration and thresholds from logits z with labels lab."""
    c = {}
    m = lab[:, 0] >= 0
    c["dr_temperature"] = fit_temperature(z[m, 0:5], lab[m, 0])
    mi = m & (src == "idrid")
    p = softmax(z[mi, 0:5], c["dr_temperature"])
    c["referable_threshold"] = youden(p[:, 2:].sum(1), (lab[mi, 0] >= 2).astype(int))
    m = lab[:, 1] >= 0
    c["dme_temperature"] = fit_temperature(z[m, 5:8], lab[m, 1])
    mi = m & (src == "idrid")
    p = softmax(z[mi, 5:8], c["dme_temperature"])
    c["dme_threshold"] = youden(p[:, 1:].sum(1), (lab[mi, 1] >= 1).astype(int))
    for h, col, name in ((2, 8, "glaucoma"), (3, 9, "cataract"), (4, 10, "normal")):
        m = lab[:, h] >= 0
        a, b = fit_platt(z[m, col], lab[m, h].astype(float))
        c[name + "_platt"] = [a, b]
        y = lab[m, h] if name != "normal" else 1 - lab[m, h]
        p = sigmoid(a * z[m, col] + b)
        c[name + "_threshold"] = youden(p if name != "normal" else 1 - p, y)
    return c


def apply_calibration(z, c):
    out = {}
    out["dr"] = softmax(z[:, 0:5], c["dr_temperature"])
    out["dme"] = softmax(z[:, 5:8], c["dme_temperature"])
    for col, name in ((8, "glaucoma"), (9, "cataract"), (10, "normal")):
        a, b = c[name + "_platt"]
        out[name] = sigmoid(a * z[:, col] + b)
    return out


def report(args, say):
    src, names, lab, ok = labels()
    zs, fo = {}, None
    data = [np.load(os.path.join(WORK, f"oof_{k}.npz")) for k in range(5)]
    z = np.zeros((len(src), NOUT), np.float32)
    fold = data[0]["fold"]
    for k, d in enumerate(data):
        z[d["idx"]] = d["logits"]
    res, pooled = {}, {}
    # nested calibration: figures for fold k use parameters fitted on the others
    cal_z = {k: apply_calibration(z[fold == k], fit_calibration(z[(fold != k) & ok], lab[(fold != k) & ok], src[(fold != k) & ok])) for k in range(5)}
    cal_t = {k: fit_calibration(z[(fold != k) & ok], lab[(fold != k) & ok], src[(fold != k) & ok]) for k in range(5)}
    P = {h: np.zeros((len(src),) + ((5,) if h == "dr" else (3,) if h == "dme" else ())) for h in ["dr", "dme", "glaucoma", "cataract", "normal"]}
    thr = {h: np.zeros(len(src)) for h in ["referable", "dme", "glaucoma", "cataract", "normal"]}
    for k in range(5):
        for h in P:
            P[h][fold == k] = cal_z[k][h]
        thr["referable"][fold == k] = cal_t[k]["referable_threshold"]
        thr["dme"][fold == k] = cal_t[k]["dme_threshold"]
        for h in ("glaucoma", "cataract", "normal"):
            thr[h][fold == k] = cal_t[k][h + "_threshold"]
    m = (src == "idrid") & ok
    y = lab[m, 0]; p = P["dr"][m]; pred = p.argmax(1)
    ref = p[:, 2:].sum(1)
    res["idrid_cv"] = {
        "split": "IDRiD grading training split (413 photos), 5-fold cross-validation, out-of-fold predictions",
        "n": int(m.sum()),
        "dr_accuracy": float((pred == y).mean()), "dr_kappa": qwk(y, pred, 5), "dr_ece": ece_multi(p, y),
        "dr_confusion": confusion(y, pred, 5),
        "referable": binary_metrics_t(ref, (y >= 2).astype(int), thr["referable"][m]),
    }
    y = lab[m, 1]; p = P["dme"][m]; pred = p.argmax(1)
    res["idrid_cv"].update({"dme_accuracy": float((pred == y).mean()), "dme_kappa": qwk(y, pred, 3), "dme_ece": ece_multi(p, y),
                            "dme_confusion": confusion(y, pred, 3),
                            "dme_any": binary_metrics_t(p[:, 1:].sum(1), (y >= 1).astype(int), thr["dme"][m])})
    e4 = np.array([s.startswith("eye4") for s in src]) & ok
    for name, sel in (("eye4_fold0", e4 & (fold == 0)), ("eye4_cv", e4)):
        r = {"n": int(sel.sum())}
        for h, hi in (("glaucoma", 2), ("cataract", 3)):
            mm = sel & (lab[:, hi] >= 0)
            r[h] = binary_metrics_t(P[h][mm], lab[mm, hi], thr[h][mm])
        mm = sel & (lab[:, 4] >= 0)
        r["abnormal"] = binary_metrics_t(1 - P["normal"][mm], 1 - lab[mm, 4], thr["normal"][mm])
        mm = sel & (src == "eye4:eyepacs")
        yy = lab[mm, 0]; pp = P["dr"][mm]
        r["eyepacs_dr_accuracy"] = float((pp.argmax(1) == yy).mean())
        r["eyepacs_dr_kappa"] = qwk(yy, pp.argmax(1), 5)
        r["eyepacs_referable"] = binary_metrics_t(pp[:, 2:].sum(1), (yy >= 2).astype(int), thr["referable"][mm])
        res[name] = r
    res["eye4_fold0"]["split"] = "eye_diseases_4class without unknown_augmented, held-out fold 0 (near-duplicates grouped)"
    res["eye4_cv"]["split"] = "eye_diseases_4class without unknown_augmented, all 5 folds out-of-fold"
    mm = (src == "drishti") & ok
    res["drishti_cv"] = {"glaucoma": binary_metrics_t(P["glaucoma"][mm], lab[mm, 2], thr["glaucoma"][mm])}
    res["shipped_calibration"] = fit_calibration(z[ok], lab[ok], src[ok])
    res["near_duplicate_photos_grouped"] = int(data[0]["dup"]) if "dup" in data[0].files else None
    with open(os.path.join(WORK, "cv_metrics.json"), "w") as f:
        json.dump(res, f, indent=1)
    say(json.dumps(res, indent=1))


def binary_metrics_t(p, y, thr):
    pos = p >= thr
    return {"n": int(len(y)), "positives": int(y.sum()), "auc": auc(p, y),
            "sensitivity": float((pos & (y == 1)).sum() / max((y == 1).sum(), 1)),
            "specificity": float((~pos & (y == 0)).sum() / max((y == 0).sum(), 1)),
            "ece": ece(p, y)}


def confusion(y, pred, k):
    c = np.zeros((k, k), int)
    for a, b in zip(y, pred):
        c[a, b] += 1
    return c.tolist()


# ------------------------------------------------------------ cataract: classifier + quality measures

def read_quality():
    """WORK/quality.csv (train/diagnose/qfeat): per photo of list.txt, the
    quality gate's measures by name (NaN where not measured)."""
    rows = read_csv(os.path.join(WORK, "quality.csv"))
    names = [k for k in rows[0].keys() if k != "index"]
    q = np.full((len(rows), len(names)), np.nan)
    for r in rows:
        i = int(r["index"])
        for j, n in enumerate(names):
            if r[n] != "":
                q[i, j] = float(r[n])
    return names, q


def fit_logistic(x, y, lam=1.0):
    """L2-regularized logistic regression by Newton's method on
    standardized features; returns (mean, std, coef, intercept)."""
    mean = np.nanmean(x, 0)
    std = np.nanstd(x, 0) + 1e-9
    xs = np.where(np.isnan(x), 0.0, (x - mean) / std)
    X = np.concatenate([xs, np.ones((len(xs), 1))], 1)
    w = np.zeros(X.shape[1])
    reg = np.full(X.shape[1], lam); reg[-1] = 0
    for _ in range(100):
        p = sigmoid(X @ w)
        g = X.T @ (p - y) + reg * w
        H = (X * (p * (1 - p))[:, None]).T @ X + np.diag(reg + 1e-9)
        d = np.linalg.solve(H, g)
        w -= d
        if np.abs(d).max() < 1e-8:
            break
    return mean, std, w[:-1], w[-1]


def apply_logistic(x, st):
    mean, std, coef, b = st
    xs = np.where(np.isnan(x), 0.0, (x - mean) / std)
    return sigmoid(xs @ coef + b)


def stack(args, say):
    """Cataract: the classifier's logit combined with the quality gate's
    measures (focus, sharpness, detail, ...: the image-wide haze/blur
    signature) by logistic regression fitted on out-of-fold logits. Nested
    figures as for the calibration; writes WORK/stack.json (the shipped
    combination, fitted on all out-of-fold rows, and the figures)."""
    src, names, lab, ok, z, fold = oof_logits()
    qn, q = read_quality()
    x = np.concatenate([z[:, 9:10].astype(np.float64), q], 1)
    feats = ["cataract_logit"] + qn
    m = ok & (lab[:, 3] >= 0)
    y = lab[:, 3].astype(float)
    p = np.zeros(len(src)); thr = np.zeros(len(src))
    for k in range(5):
        tr, te = m & (fold != k), fold == k
        st = fit_logistic(x[tr], y[tr])
        p[te] = apply_logistic(x[te], st)
        thr[te] = youden(apply_logistic(x[tr], st), y[tr].astype(int))
    e4 = np.array([s.startswith("eye4") for s in src]) & m
    res = {}
    for name, sel in (("eye4_fold0", e4 & (fold == 0)), ("eye4_cv", e4)):
        res[name] = binary_metrics_t(p[sel], lab[sel, 3], thr[sel])
    st = fit_logistic(x[m], y[m])
    res["shipped"] = stack_entry(feats, st, youden(p[m], lab[m, 3]))
    # which quality measures alone separate cataract best (for the card)
    res["single_feature_auc_eye4_cv"] = {f: auc(np.nan_to_num(x[e4, j], nan=np.nanmean(x[e4, j])), lab[e4, 3]) for j, f in enumerate(feats)}
    with open(os.path.join(WORK, "stack.json"), "w") as f:
        json.dump(res, f, indent=1)
    say(json.dumps({k: v for k, v in res.items() if k != "shipped"}, indent=1))


def export(args, say):
    """The shipped model (models/diagnose.*), or with --export-fold K the
    fold-K model into WORK/foldK.onnx and .json, calibrated on the other
    folds' out-of-fold logits only, with the lists of its held-out photos
    (WORK/foldK_idrid.txt, WORK/foldK_eye4.txt: labels.csv image values)
    for `retinalgpt eval diagnose --model --model-meta --only`."""
    model = Net()
    k = args.export_fold
    model.load_state_dict(torch.load(os.path.join(WORK, "model_all.pt" if k is None else f"model_{k}.pt")))
    model.eval()
    out = os.path.join(REPO, "models", "diagnose.onnx") if k is None else os.path.join(WORK, f"fold{k}.onnx")
    torch.onnx.export(model, torch.zeros(1, 3, args.size, args.size), out + ".tmp", opset_version=17,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    os.replace(out + ".tmp", out)
    with open(os.path.join(WORK, "cv_metrics.json")) as f:
        cv = json.load(f)
    cal = cv["shipped_calibration"]
    if k is not None:
        src, names, lab, ok, z, fold = oof_logits()
        m = (fold != k) & ok
        cal = fit_calibration(z[m], lab[m], src[m])
        for name, pre in (("idrid", "idrid"), ("eye4", "eye4:")):
            with open(os.path.join(WORK, f"fold{k}_{name}.txt"), "w") as f:
                f.write("".join(names[i] + "\n" for i in np.nonzero(fold == k)[0] if src[i].startswith(pre)))
    # parity fixture: a fixed pattern and its logits
    pat = parity_pattern(args.size)
    with torch.no_grad():
        pl = model(torch.from_numpy(pat).permute(2, 0, 1)[None].float())[0].numpy()
    meta = {
        "name": "diagnose", "version": VERSION,
        "task": "fundus photo classifier: DR grade (ICDR 0-4), DME risk (IDRiD 0-2), glaucoma, cataract, normal",
        "input": f"Nx3x{args.size}x{args.size} RGB 0..255 float: fundus.NormalizeFOV to crop_size (Catmull-Rom), then box-averaged to input_size, rounded",
        "crop_size": CROP,
        "input_size": args.size,
        "output": "logits [N,11]: 0-4 DR grade, 5-7 DME risk, 8 glaucoma, 9 cataract, 10 normal",
        "normalization": "inside the graph: (rgb/255 - mean)/std with fixed mean " + str(MEAN) + " std " + str(STD),
        "calibration": cal,
        "cataract_stack": stack_for(k),
        "glaucoma_stack": shipped_extra(k, "glaucoma_stack.json"),
        "grade_stack": shipped_extra(k, "grade_stack.json"),
        "dme_stack": shipped_extra(k, "dme_stack.json"),
        "train_data": "IDRiD grading training split (413), Drishti-GS1 training (50), eye_diseases_4class without unknown_augmented (2977); see models/diagnose.md",
        "parity": {"pattern": "parity_pattern in train/diagnose/train.py", "logits": [float(v) for v in pl]},
    }
    with open(out[:-len(".onnx")] + ".json", "w") as f:
        json.dump(meta, f, indent=1)
    say(f"wrote {out} and its .json")


def shipped_extra(k, name):
    """A shipped combination from WORK/name, only for the shipped model."""
    path = os.path.join(WORK, name)
    if k is not None or not os.path.exists(path):
        return None
    return json.load(open(path))["shipped"]


def stack_for(k):
    """The cataract combination for the shipped model (fitted on all
    out-of-fold rows) or for fold k (fitted on the other folds' rows)."""
    path = os.path.join(WORK, "stack.json")
    if not os.path.exists(path):
        return None
    if k is None:
        return json.load(open(path))["shipped"]
    src, names, lab, ok, z, fold = oof_logits()
    qn, q = read_quality()
    x = np.concatenate([z[:, 9:10].astype(np.float64), q], 1)
    m = ok & (lab[:, 3] >= 0) & (fold != k)
    st = fit_logistic(x[m], lab[m, 3].astype(float))
    return stack_entry(["cataract_logit"] + qn, st, youden(apply_logistic(x[m], st), lab[m, 3]))


def stack_entry(features, st, threshold):
    """A fitted logistic regression as models/diagnose.json holds it (the
    layout of internal/diagnose.Stack)."""
    return {"features": features, "mean": st[0].tolist(), "std": st[1].tolist(), "coef": st[2].tolist(),
            "intercept": float(st[3]), "threshold": float(threshold)}


def publish(key, res, shipped, say):
    """Writes WORK/key.json (the figures and the shipped combination) and
    puts the combination under key in models/diagnose.json (atomically)."""
    res["shipped"] = shipped
    with open(os.path.join(WORK, key + ".json"), "w") as f:
        json.dump(res, f, indent=1)
    meta_path = os.path.join(REPO, "models", "diagnose.json")
    meta = json.load(open(meta_path))
    meta[key] = shipped
    with open(meta_path + ".tmp", "w") as f:
        json.dump(meta, f, indent=1)
    os.replace(meta_path + ".tmp", meta_path)
    say(json.dumps({k: v for k, v in res.items() if k != "shipped"}, indent=1))


# ------------------------------------------------------------ glaucoma: classifier + vertical CDR

def oof_logits():
    src, names, lab, ok = labels()
    z = np.zeros((len(src), NOUT), np.float32)
    fold = None
    for j in range(5):
        d = np.load(os.path.join(WORK, f"oof_{j}.npz"))
        z[d["idx"]] = d["logits"]
        fold = d["fold"]
    return src, names, lab, ok, z, fold


def glaucoma_list(args, say):
    """WORK/glaucoma_paths.txt: the photos whose vertical CDR the glaucoma
    combination needs, measured by the real pipeline (retinalgpt analyze:
    disc locator + disc/cup model, never trained on eye_diseases_4class):
    every eye_diseases_4class photo of held-out fold 0 (the evaluation) and,
    to fit on, 250 glaucoma and 350 other photos of folds 1-4 (seed 3)."""
    src, names, lab, ok, z, fold = oof_logits()
    paths = [l.strip() for l in open(os.path.join(WORK, "list.txt"))]
    e4 = np.array([s.startswith("eye4") for s in src]) & ok
    sel0 = np.nonzero(e4 & (fold == 0))[0].tolist()
    rest = np.nonzero(e4 & (fold != 0) & (lab[:, 2] >= 0))[0]
    g = [int(i) for i in rest if lab[i, 2] == 1]
    n = [int(i) for i in rest if lab[i, 2] == 0]
    rng = random.Random(3)
    rng.shuffle(g); rng.shuffle(n)
    with open(os.path.join(WORK, "glaucoma_paths.txt"), "w") as f:
        f.write("".join(paths[i] + "\n" for i in sel0 + g[:250] + n[:350]))
    say(f"{len(sel0)} fold-0 photos and {min(250, len(g)) + min(350, len(n))} to fit on")


def read_vcdr(src_len):
    """Vertical CDR per photo of list.txt from the analyze --json lines in
    WORK/disc_*.jsonl, matched by the file's SHA-256 (NaN: not measured,
    disc not found or no cup)."""
    import glob
    import hashlib
    paths = [l.strip() for l in open(os.path.join(WORK, "list.txt"))]
    by_sha = {}
    for i, p in enumerate(paths):
        if "/eye_diseases_4class/" in p:
            by_sha.setdefault(hashlib.sha256(open(p, "rb").read()).hexdigest(), []).append(i)
    v = np.full(src_len, np.nan)
    for fn in sorted(glob.glob(os.path.join(WORK, "disc_*.jsonl"))):
        for line in open(fn):
            try:
                r = json.loads(line)
            except ValueError:
                continue
            d = r.get("disc") or {}
            cup = d.get("cup") or {}
            if not d.get("found") or not d.get("cdr") or cup.get("area_px", 0) <= 0:
                continue
            for i in by_sha.get(r["image"]["sha256"], []):
                v[i] = d["cdr"]["vertical"]
    return v


def glaucoma_stack(args, say):
    """Glaucoma: the classifier's glaucoma logit combined with the vertical
    CDR by logistic regression, fitted on out-of-fold logits of folds 1-4
    and evaluated on held-out fold 0 (threshold from folds 1-4); the shipped
    combination is fitted on every measured photo. Writes
    WORK/glaucoma_stack.json and adds glaucoma_stack to models/diagnose.json."""
    src, names, lab, ok, z, fold = oof_logits()
    v = read_vcdr(len(src))
    x = np.stack([z[:, 8].astype(np.float64), v], 1)
    y = lab[:, 2]
    e4 = np.array([s.startswith("eye4") for s in src]) & ok & (y >= 0)
    have = ~np.isnan(v)
    tr = e4 & have & (fold != 0)
    # The photos to fit on were drawn with glaucoma enriched (250 of 600);
    # the intercept is moved back to the prevalence of the data (prior
    # correction), so that probabilities keep their meaning.
    prev_fit_pool = e4 & (fold != 0)

    def fit(rows, pool):
        st = fit_logistic(x[rows], y[rows].astype(float))
        ps, pt = y[rows].mean(), y[pool].mean()
        st = (st[0], st[1], st[2], st[3] + math.log(pt / (1 - pt)) - math.log(ps / (1 - ps)))
        return st, youden(apply_logistic(x[rows], st), y[rows].astype(int))
    st, thr = fit(tr, prev_fit_pool)
    te = e4 & (fold == 0)
    res = {"fold0_measured": int((te & have).sum()), "fold0_total": int(te.sum()), "fit_rows": int(tr.sum())}
    pt = apply_logistic(x[te & have], st)
    res["fold0_with_cdr"] = binary_metrics_t(pt, y[te & have], thr)
    res["fold0_vcdr_alone_auc"] = auc(v[te & have], y[te & have])
    res["fold0_classifier_alone_auc_same_photos"] = auc(z[te & have, 8], y[te & have])
    res["fitted_on_folds_1_4"] = {"coef": st[2].tolist(), "intercept": float(st[3]), "threshold": thr}
    # Fold 0 as analyze judges it: the combination where the disc and cup
    # were measured, else the classifier alone (its calibration and
    # threshold fitted on folds 1-4, as in --report).
    cal = fit_calibration(z[(fold != 0) & ok], lab[(fold != 0) & ok], src[(fold != 0) & ok])
    p_cls = apply_calibration(z[te], cal)["glaucoma"]
    p_mix, t_mix = p_cls.copy(), np.full(int(te.sum()), cal["glaucoma_threshold"])
    h0 = have[te]
    p_mix[h0], t_mix[h0] = apply_logistic(x[te][h0], st), thr
    res["fold0_as_analyze"] = binary_metrics_t(p_mix, y[te], t_mix)
    res["fold0_classifier_alone"] = binary_metrics_t(p_cls, y[te], np.full(int(te.sum()), cal["glaucoma_threshold"]))
    all_rows = e4 & have
    st, thr_all = fit(all_rows, e4)
    shipped = stack_entry(["glaucoma_logit", "vcdr"], st, thr_all)
    publish("glaucoma_stack", res, shipped, say)


# ------------------------------------------------------------ DR grade: lesion evidence (and the classifier)

LESION_FEATURES = ["HE_count", "HE_area", "EX_count", "EX_area", "SE_count", "SE_area"]


def lesion_training_duplicates(names, path):
    """Boolean per row: an IDRiD grading photo listed in PATH (a JSON list
    or one name per line, e.g. IDRiD_029) as a near-duplicate of a photo the
    lesion model was trained on (`retinalgpt dataset dedup --datasets
    idrid_grading=...,idrid_segmentation=...`). Its lesion evidence is
    memorized, not detected, so the figures are also given without it."""
    text = open(path).read()
    listed = json.loads(text) if text.lstrip().startswith("[") else [
        l.strip() for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    stems = {os.path.splitext(os.path.basename(n))[0].lower() for n in listed}
    out = np.array([os.path.splitext(os.path.basename(n))[0].lower() in stems for n in names])
    if out.sum() != len(stems):
        raise SystemExit(f"{path}: {len(stems)} names, {int(out.sum())} found among the photos")
    return out


def idrid_lesion_reports(names, src):
    """(row of list.txt, report) for each IDRiD photo in the retinalgpt
    analyze --lesions --json lines of WORK/lesions_*.jsonl that has a
    lesion section and a field of view."""
    import glob
    by_name = {n.lower(): i for i, n in enumerate(names) if src[i] == "idrid"}
    for fn in sorted(glob.glob(os.path.join(WORK, "lesions_*.jsonl"))):
        for line in open(fn):
            try:
                r = json.loads(line)
            except ValueError:
                continue
            i = by_name.get(r["image"]["file"].lower())
            if i is not None and r.get("lesions") and r["fov"]["area_px"] > 0:
                yield i, r


# The candidate feature sets of the grade combination, fixed before any
# figure was seen; --grade-stack picks one by nested cross-validation.
# "dr0".."dr4" are the classifier's raw DR logits; the lesion measures are
# internal/diagnose.GradeFeatures (MA_* counts the microaneurysm channel's
# objects: too poor a detector to report as a count, see models/lesions.md,
# but its count still carries grade information, which the fit measures).
GRADE_LESIONS = LESION_FEATURES + ["MA_count", "MA_area"]
GRADE_CANDIDATES = {
    "lesions": GRADE_LESIONS,
    "lesions+quadrant": GRADE_LESIONS + ["HE_fewest_quadrant"],
    "classifier+lesions": ["dr0", "dr1", "dr2", "dr3", "dr4"] + GRADE_LESIONS,
    "classifier+lesions+quadrant": ["dr0", "dr1", "dr2", "dr3", "dr4"] + GRADE_LESIONS + ["HE_fewest_quadrant"],
}
HE_QUADRANTS = ["superior_temporal", "superior_nasal", "inferior_temporal", "inferior_nasal"]
RULE_HAEMORRHAGES = 20  # internal/diagnose.RuleHaemorrhagesPerQuadrant


def read_grade_features(names, src, z):
    """Per photo: every feature any GRADE_CANDIDATES set names, by name
    (columns of the returned array), from the classifier's logits z and
    WORK/lesions_*.jsonl as internal/diagnose.GradeFeatures computes them
    (NaN rows: not analysed; HE_fewest_quadrant NaN without quadrants)."""
    cols = sorted({f for fs in GRADE_CANDIDATES.values() for f in fs})
    f = np.full((len(names), len(cols)), np.nan)
    for i, r in idrid_lesion_reports(names, src):
        fa = r["fov"]["area_px"]
        row = {f"dr{g}": float(z[i, g]) for g in range(5)}
        for t in r["lesions"]["types"]:
            row[t["type"] + "_count"] = math.log1p(t["count"])
            row[t["type"] + "_area"] = math.log1p(1e4 * t["area_px"] / fa)
            if t["type"] == "HE" and r["lesions"]["quadrant_basis"] != "none":
                row["HE_fewest_quadrant"] = math.log1p(min(t["quadrants"][q] for q in HE_QUADRANTS))
        f[i] = [row.get(c, np.nan) for c in cols]
    return cols, f


def fit_grades(x, y):
    """Ordinal (cumulative) logistic model of the 5 ICDR grades: one
    regression per P(grade >= k), k = 1..4."""
    return [fit_logistic(x, (y >= k).astype(float)) for k in range(1, 5)]


def grade_probs(x, sts):
    """Grade probabilities from fit_grades, as internal/diagnose.GradeStack
    computes them: the P(>= k) made non-increasing in k, then differenced."""
    c = np.minimum.accumulate(np.stack([apply_logistic(x, s) for s in sts], 1), axis=1)
    return np.concatenate([1 - c[:, :1], c[:, :-1] - c[:, 1:], c[:, -1:]], 1)


def log_loss(P, y):
    return float(-np.mean(np.log(np.clip(P[np.arange(len(y)), y], 1e-12, 1))))


def cv_log_loss(x, y, rows, fold, fit, probs):
    """Leave-one-fold-out log loss over rows (the folds present there) of
    a model given by fit(x, y) -> state and probs(x, state) -> P."""
    P = None
    for k in np.unique(fold[rows]):
        tr, te = rows & (fold != k), rows & (fold == k)
        pk = probs(x[te], fit(x[tr], y[tr]))
        if P is None:
            P = np.zeros((len(y), pk.shape[1]))
        P[te] = pk
    return log_loss(P[rows], y[rows])


def nested_cv(candidates, xs, y, m, fold, fit, probs, threshold, say):
    """5-fold CV over rows m with the feature set chosen inside each
    training part (leave-one-fold-out log loss, cv_log_loss) among
    candidates (name -> features; xs(name) gives their columns). Returns
    the held-out probabilities, the per-row decision threshold
    (threshold(x, state, y) on the training part) and the choice per fold."""
    P, thr, chosen = None, np.zeros(len(y)), {}
    for k in range(5):
        tr, te = m & (fold != k), m & (fold == k)
        losses = {n: cv_log_loss(xs(n), y, tr, fold, fit, probs) for n in candidates}
        best = min(losses, key=losses.get)
        chosen[k] = {"set": best, "inner_log_loss": losses}
        x = xs(best)
        st = fit(x[tr], y[tr])
        pk = probs(x[te], st)
        if P is None:
            P = np.zeros((len(y), pk.shape[1]))
        P[te] = pk
        thr[te] = threshold(x[tr], st, y[tr])
        say(f"fold {k}: {best} (inner log loss {losses[best]:.3f})")
    return P, thr, chosen


def parity_cases(x, P, names, picks):
    """Check cases for Go: the named features (NaN left out) and the
    probabilities of the rows picks."""
    return [{"features": {c: float(x[j, k]) for k, c in enumerate(names) if not np.isnan(x[j, k])},
             "probabilities": P[j].tolist()} for j in picks]


def decided_grades(P, thr):
    """internal/diagnose.DecidedGrade: the most probable grade on the side
    of the referable threshold P(grade >= 2) fell."""
    pos = P[:, 2:].sum(1) >= thr
    return np.where(pos, 2 + P[:, 2:].argmax(1), P[:, :2].argmax(1))


def grade_stack(args, say):
    """DR grade with --lesions: an ordinal logistic regression over lesion
    measures (and, in two of the candidate sets, the classifier's DR
    logits) gives all five grade probabilities, referable DR included
    (P(grade >= 2), Youden threshold on the fitting rows). 5-fold
    cross-validation on IDRiD with the classifier's folds; the feature set
    is chosen inside each training part by leave-one-fold-out log loss
    (nested), so the figures do not profit from the choice. Writes
    WORK/grade_stack.json and adds grade_stack to models/diagnose.json
    (the set chosen by 5-fold log loss on all 413, fitted on all)."""
    src, names, lab, ok, z, fold = oof_logits()
    cols, f = read_grade_features(names, src, z)
    m = (src == "idrid") & ok & ~np.isnan(f[:, cols.index("HE_count")])
    y = lab[:, 0]

    def xs(name):
        return f[:, [cols.index(c) for c in GRADE_CANDIDATES[name]]]

    def cv_loss(name, rows):
        return cv_log_loss(xs(name), y, rows, fold, fit_grades, grade_probs)

    P, thr, chosen = nested_cv(GRADE_CANDIDATES, xs, y, m, fold, fit_grades, grade_probs,
                               lambda x, st, yt: youden(grade_probs(x, st)[:, 2:].sum(1), (yt >= 2).astype(int)), say)
    grade = decided_grades(P, thr)

    def figures(sel):
        yy, g = y[sel], grade[sel]
        return {"n": int(sel.sum()), "dr_accuracy": float((g == yy).mean()), "dr_kappa": qwk(yy, g, 5),
                "dr_accuracy_argmax": float((P[sel].argmax(1) == yy).mean()),
                "dr_ece": ece_multi(P[sel], yy), "dr_confusion": confusion(yy, g, 5),
                "referable": binary_metrics_t(P[sel, 2:].sum(1), (yy >= 2).astype(int), thr[sel])}

    res = {"split": "IDRiD grading training split, 5-fold CV with the classifier's folds (feature set chosen by nested CV), photos analysed with --lesions",
           "chosen_per_fold": chosen, **figures(m),
           "cv_log_loss_per_set": {n: cv_loss(n, m) for n in GRADE_CANDIDATES},
           "note": "the lesion model was trained on the IDRiD segmentation photos, 16 of which are near-duplicates of IDRiD grading photos (retinalgpt dataset dedup)"}
    if args.lesion_duplicates:
        res["without_lesion_training_duplicates"] = figures(m & ~lesion_training_duplicates(names, args.lesion_duplicates))
    # The 4-2-1 override Go applies after the combination (more than
    # RULE_HAEMORRHAGES haemorrhages in each quadrant rules out grades
    # 0-2): which photos it fires on, by true grade.
    fires = [int(y[i]) for i, r in idrid_lesion_reports(names, src) if m[i] and r["lesions"]["quadrant_basis"] != "none"
             and min(next(t for t in r["lesions"]["types"] if t["type"] == "HE")["quadrants"][q] for q in HE_QUADRANTS) > RULE_HAEMORRHAGES]
    res["rule_421_fires"] = {"photos": len(fires), "true_grades": np.bincount(fires, minlength=5).tolist()}
    best = min(res["cv_log_loss_per_set"], key=res["cv_log_loss_per_set"].get)
    x = xs(best)
    sts = fit_grades(x[m], y[m])
    threshold = youden(grade_probs(x[m], sts)[:, 2:].sum(1), (y[m] >= 2).astype(int))
    # Parity cases for Go (internal/diagnose TestGradeStackParity): the
    # probabilities of three photos' features, one per referable side and
    # the highest-graded.
    Pm = grade_probs(x[m], sts)
    parity = parity_cases(x[m], Pm, GRADE_CANDIDATES[best], [int(np.argmax(Pm[:, g])) for g in (0, 2, 4)])
    shipped = {"set": best, "at_least": [stack_entry(GRADE_CANDIDATES[best], st, 0.5) for st in sts],
               "threshold": float(threshold), "parity": parity}
    publish("grade_stack", res, shipped, say)


# ------------------------------------------------------------ DME: classifier + exudate evidence

DME_EXUDATES = ["EX_count", "EX_area", "EX_fovea_dd", "EX_within_1dd"]
DME_LESIONS = ["HE_count", "HE_area", "MA_count", "MA_area", "SE_count", "SE_area"]
# The candidate feature sets of the DME combination; --dme-stack picks one
# by nested cross-validation. The sets with the other lesion types were
# added in the ninth session after a prototype over these photos showed
# them helping (DME goes with DR severity), so the nesting guards the
# choice among the listed sets, not the listing (models/diagnose.md).
DME_CANDIDATES = {
    "classifier+exudates": ["dme0", "dme1", "dme2"] + DME_EXUDATES,
    "classifier+exudates+lesions": ["dme0", "dme1", "dme2"] + DME_EXUDATES + DME_LESIONS,
    "exudates+lesions": DME_EXUDATES + DME_LESIONS,
}


def read_exudate_features(names, src):
    """Per IDRiD photo: the exudate part of diagnose.DMEFeatures from WORK/lesions_*.jsonl
    (NaN rows: not analysed, or exudates not detectable)."""
    f = np.full((len(names), 4), np.nan)
    for i, r in idrid_lesion_reports(names, src):
        fa = r["fov"]["area_px"]
        for t in r["lesions"]["types"]:
            if t["type"] == "EX" and t["detected_by_model"]:
                d = t.get("min_fovea_distance_dd")
                f[i] = [math.log1p(t["count"]), math.log1p(1e4 * t["area_px"] / fa),
                        min(d, 5.0) if d is not None else 5.0, 1.0 if d is not None and d <= 1 else 0.0]
    return f


def fit_dme(x, y):
    """The two-step DME model: P(any risk) and P(risk 2 | any risk)."""
    sev = y >= 1
    return fit_logistic(x, sev.astype(float)), fit_logistic(x[sev], (y[sev] == 2).astype(float))


def dme_probs(x, sts):
    pa, ps = apply_logistic(x, sts[0]), apply_logistic(x, sts[1])
    return np.stack([1 - pa, pa * (1 - ps), pa * ps], 1)


def dme_stack(args, say):
    """DME risk with --lesions: two logistic regressions, P(any risk) and
    P(risk 2 | any), over one of DME_CANDIDATES (the classifier's three DME
    logits, the exudate evidence: count, area, nearest distance to the
    fovea in disc diameters, within 1 DD; the other lesion types' counts
    and areas). 5-fold CV with the classifier's folds as for --grade-stack,
    the set chosen inside each training part by leave-one-fold-out log
    loss (nested); writes WORK/dme_stack.json and adds dme_stack to
    models/diagnose.json (the set chosen on all 413, fitted on all)."""
    src, names, lab, ok, z, fold = oof_logits()
    ef = read_exudate_features(names, src)
    cols, f = read_grade_features(names, src, z)
    m = (src == "idrid") & ok & ~np.isnan(ef).any(1)
    by = {**{f"dme{g}": z[:, 5 + g].astype(np.float64) for g in range(3)},
          **{c: ef[:, j] for j, c in enumerate(DME_EXUDATES)},
          **{c: f[:, cols.index(c)] for c in DME_LESIONS}}
    y = lab[:, 1]

    def xs(name):
        return np.stack([by[c] for c in DME_CANDIDATES[name]], 1)

    def cv_loss(name, rows):
        return cv_log_loss(xs(name), y, rows, fold, fit_dme, dme_probs)

    P, ta, chosen = nested_cv(DME_CANDIDATES, xs, y, m, fold, fit_dme, dme_probs,
                              lambda x, st, yt: youden(apply_logistic(x, st[0]), (yt >= 1).astype(int)), say)
    pa, ps = P[:, 1:].sum(1), P[:, 2] / np.maximum(P[:, 1:].sum(1), 1e-12)
    pred = np.where(pa >= ta, np.where(ps >= 0.5, 2, 1), 0)
    yy = y[m]
    res = {"split": "IDRiD grading training split, 5-fold CV with the classifier's folds (feature set chosen by nested CV), photos analysed with --lesions",
           "chosen_per_fold": chosen,
           "n": int(m.sum()), "dme_accuracy": float((pred[m] == yy).mean()), "dme_kappa": qwk(yy, pred[m], 3),
           "dme_ece": ece_multi(P[m], yy), "dme_confusion": confusion(yy, pred[m], 3),
           "dme_any": binary_metrics_t(pa[m], (yy >= 1).astype(int), ta[m]),
           "cv_log_loss_per_set": {n: cv_loss(n, m) for n in DME_CANDIDATES}}
    if args.lesion_duplicates:
        k = m & ~lesion_training_duplicates(names, args.lesion_duplicates)
        res["without_lesion_training_duplicates"] = {
            "n": int(k.sum()), "dme_accuracy": float((pred[k] == y[k]).mean()), "dme_kappa": qwk(y[k], pred[k], 3),
            "dme_any": binary_metrics_t(pa[k], (y[k] >= 1).astype(int), ta[k])}
    best = min(res["cv_log_loss_per_set"], key=res["cv_log_loss_per_set"].get)
    x = xs(best)
    sts = fit_dme(x[m], y[m])
    feats = DME_CANDIDATES[best]
    # Parity cases for Go (internal/diagnose TestDMEStackParity): the
    # three risk probabilities from three photos' features.
    Pm = dme_probs(x[m], sts)
    parity = parity_cases(x[m], Pm, feats, [int(np.argmax(Pm[:, g])) for g in range(3)])
    shipped = {"set": best,
               "any": stack_entry(feats, sts[0], youden(apply_logistic(x[m], sts[0]), (y[m] >= 1).astype(int))),
               "severe": stack_entry(feats, sts[1], 0.5), "parity": parity}
    publish("dme_stack", res, shipped, say)


def parity_pattern(size):
    """A deterministic RGB pattern (uint8 values as float32), mirrored in Go's test."""
    y, x = np.mgrid[0:size, 0:size]
    r = (x * 7 + y * 3) % 256
    g = (x * 5 + y * 11) % 256
    b = (x * y) % 256
    return np.stack([r, g, b], 2).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fold", default=None, help="0..4 or all")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--time-budget", type=float, default=360)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=0, help="train this many epochs instead of --time-budget seconds")
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--export", action="store_true")
    ap.add_argument("--make-list", action="store_true")
    ap.add_argument("--stack", action="store_true", help="fit the cataract combination with the quality measures (needs WORK/quality.csv)")
    ap.add_argument("--glaucoma-list", action="store_true", help="write WORK/glaucoma_paths.txt, the photos whose CDR the glaucoma combination needs")
    ap.add_argument("--glaucoma-stack", action="store_true", help="fit the glaucoma combination with the vertical CDR (needs WORK/disc_*.jsonl from retinalgpt analyze --json)")
    ap.add_argument("--grade-stack", action="store_true", help="fit the DR grade combination with the lesion evidence (needs WORK/lesions_*.jsonl from retinalgpt analyze --lesions --json over the IDRiD grading photos)")
    ap.add_argument("--lesion-duplicates", metavar="FILE",
                    help="--grade-stack/--dme-stack: grading photos that duplicate the lesion model's training photos "
                         "(JSON list or one name a line); the figures are also given without them")
    ap.add_argument("--dme-stack", action="store_true", help="fit the DME combination with the exudate evidence (needs WORK/lesions_*.jsonl)")
    ap.add_argument("--export-fold", type=int, default=None, help="with --export: export the fold-K model instead")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    def say(msg):
        print(time.strftime("%H:%M:%S"), msg, flush=True)
    if args.make_list:
        make_list(); return
    if args.report:
        report(args, say); return
    if args.export:
        export(args, say); return
    if args.stack:
        stack(args, say); return
    if args.glaucoma_list:
        glaucoma_list(args, say); return
    if args.glaucoma_stack:
        glaucoma_stack(args, say); return
    if args.grade_stack:
        grade_stack(args, say); return
    if args.dme_stack:
        dme_stack(args, say); return
    src, names, lab, ok = labels()
    pix = load_pixels(args.size)
    # Folds come from the 128-pixel copies whatever the training size, so
    # that models of different sizes are scored on the same folds.
    fold, dup = folds(src, names, lab, pix if args.size == 128 else load_pixels(128))
    say(f"{len(src)} photos, {int((~ok).sum())} without FOV, {dup} in near-duplicate groups; fold sizes {np.bincount(fold).tolist()}")
    if args.fold == "all":
        idx = np.nonzero(ok)[0]
        model = train(pix, lab, src, idx, args.time_budget, 99, say, args.epochs)
        torch.save(model.state_dict(), os.path.join(WORK, "model_all.pt"))
        return
    k = int(args.fold)
    idx = np.nonzero(ok & (fold != k))[0]
    model = train(pix, lab, src, idx, args.time_budget, k, say, args.epochs)
    torch.save(model.state_dict(), os.path.join(WORK, f"model_{k}.pt"))
    te = np.nonzero(fold == k)[0]
    z = predict(model, pix, te)
    np.savez(os.path.join(WORK, f"oof_{k}.npz"), idx=te, logits=z, fold=fold, dup=dup)
    m = te[(src[te] == "idrid")]
    zz = z[src[te] == "idrid"]
    say(f"fold {k}: IDRiD DR raw accuracy {(zz[:, 0:5].argmax(1) == lab[m, 0]).mean():.3f}, DME {(zz[:, 5:8].argmax(1) == lab[m, 1]).mean():.3f}")


if __name__ == "__main__":
    main()
