#!/usr/bin/env python3
"""Quantize one of RetinalGPT's U-Nets (Conv, ConvTranspose, Relu,
MaxPool, Concat; BatchNorm already folded by the export) to 8-bit integers
in ONNX's QDQ form, which ONNX Runtime fuses into integer convolutions
(QLinearConv; u8 activations x s8 weights run on the CPU's VNNI/AMX
integer units).

No onnxruntime for Python on Debian, so calibration runs the float graph
itself with a small PyTorch interpreter of those five operators (exact for
these graphs; checked against ONNX Runtime by the Go parity tests of the
float model).

  activations: uint8, per tensor, asymmetric, range = the calibration
      images' --percentile of values (Relu outputs start at 0, so zero
      point 0 and the Relu folds into the convolution);
  Conv weights: int8, per output channel, symmetric; biases int32 at
      scale s_x * s_w, as ONNX Runtime's own quantizer writes them;
  ConvTranspose weights and the last convolution (the logits) stay float;
  MaxPool's output reuses its input's scale, so the pool runs on uint8.

Calibration images are training images only (the model card's evaluation
images must not be used). Example (the vessel model):

  git show 8af754b:models/vessels.onnx > /tmp/vessels_concat.onnx   # the graph before split_concat_convs
  /usr/bin/python3 train/quantize.py --model /tmp/vessels_concat.onnx \\
      --images train/data/drive/training/images train/data/chase_db1/images --exclude-chase-test \\
      --out models/vessels_int8.onnx
"""
import argparse
import glob
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common_nn import fov_normalize  # noqa: E402

QUANT_CONSUMERS = {"Conv", "ConvTranspose", "MaxPool", "Concat"}


def attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def run_graph(graph, inits, x, observe):
    """Evaluate graph on input x (1,C,H,W float32); observe(name, tensor)
    sees every activation. Returns the graph's first output."""
    env = {graph.input[0].name: x}
    observe(graph.input[0].name, x)
    for n in graph.node:
        a = attrs(n)
        get = lambda i: env[n.input[i]] if n.input[i] in env else inits[n.input[i]]  # noqa: E731
        if n.op_type == "Conv":
            pads = a.get("pads", [0, 0, 0, 0])
            if pads[0] != pads[2] or pads[1] != pads[3] or a.get("group", 1) != 1:
                sys.exit(f"{n.name}: asymmetric pads or groups are not handled")
            y = F.conv2d(get(0), get(1), get(2) if len(n.input) > 2 else None,
                         stride=a.get("strides", [1, 1]), padding=pads[:2], dilation=a.get("dilations", [1, 1]))
        elif n.op_type == "ConvTranspose":
            if any(a.get("pads", [0, 0, 0, 0])) or any(a.get("output_padding", [0, 0])):
                sys.exit(f"{n.name}: ConvTranspose pads are not handled")
            y = F.conv_transpose2d(get(0), get(1), get(2) if len(n.input) > 2 else None, stride=a.get("strides", [1, 1]))
        elif n.op_type == "Relu":
            y = F.relu(get(0))
        elif n.op_type == "MaxPool":
            if any(a.get("pads", [0, 0, 0, 0])):
                sys.exit(f"{n.name}: MaxPool pads are not handled")
            y = F.max_pool2d(get(0), a["kernel_shape"], a.get("strides", a["kernel_shape"]))
        elif n.op_type == "Concat":
            y = torch.cat([get(i) for i in range(len(n.input))], dim=a["axis"])
        elif n.op_type == "Add":
            sys.exit(f"{n.name}: Add is not handled: quantize a graph from before split_concat_convs "
                     f"(e.g. git show 8af754b:models/vessels.onnx > vessels_concat.onnx)")
        else:
            sys.exit(f"{n.name}: operator {n.op_type} is not handled")
        env[n.output[0]] = y
        observe(n.output[0], y)
    return env[graph.output[0].name]


def load_calibration(paths, scale, limit):
    for p in paths[:limit]:
        img = Image.open(p).convert("RGB")
        if scale != 1:
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.BILINEAR)
        w, h = img.width // 16 * 16, img.height // 16 * 16
        rgb = np.asarray(img)[:h, :w]
        yield p, torch.from_numpy(fov_normalize(rgb)).unsqueeze(0)


def qparams(lo, hi):
    """uint8 asymmetric: scale and zero point for [min(lo,0), max(hi,0)]."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = max((hi - lo) / 255.0, 1e-8)
    zp = int(round(-lo / scale))
    return np.float32(scale), np.uint8(min(max(zp, 0), 255))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--images", nargs="+", required=True, help="folders of training images (calibration)")
    ap.add_argument("--exclude-chase-test", action="store_true",
                    help="leave out CHASE_DB1 children 11-14 (the model card's CHASE test split)")
    ap.add_argument("--scale", type=float, default=1.0, help="resize calibration images by this factor")
    ap.add_argument("--max-images", type=int, default=40)
    ap.add_argument("--percentile", type=float, default=99.99, help="activation range: this percentile of |values|")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(2)

    model = onnx.load(a.model)
    g = model.graph
    inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in g.initializer}
    folders = []
    for d in a.images:
        ps = sorted(p for p in glob.glob(os.path.join(d, "*"))
                    if p.lower().endswith((".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".ppm")))
        if a.exclude_chase_test:
            ps = [p for p in ps if not any(f"Image_{c}" in os.path.basename(p) for c in ("11", "12", "13", "14"))]
        folders.append(ps)
    # Take the folders in turn, so --max-images samples every camera.
    paths = [f[i] for i in range(max(map(len, folders), default=0)) for f in folders if i < len(f)]
    if not paths:
        sys.exit("no calibration images")

    # Tensors to quantize: every activation some integer-capable operator reads.
    consumers = {}
    for n in g.node:
        for i, name in enumerate(n.input):
            if name not in inits:
                consumers.setdefault(name, []).append(n)
    targets = [t for t, ns in consumers.items() if any(c.op_type in QUANT_CONSUMERS for c in ns)]
    samples = {t: [] for t in targets}
    lows = {t: 0.0 for t in targets}
    rng = np.random.default_rng(0)

    def observe(name, v):
        if name in samples:
            flat = v.flatten()
            lows[name] = min(lows[name], float(flat.min()))
            idx = torch.from_numpy(rng.integers(0, flat.numel(), 200000))
            samples[name].append(flat[idx].numpy())

    used = 0
    for p, x in load_calibration(paths, a.scale, a.max_images):
        with torch.no_grad():
            run_graph(g, inits, x, observe)
        used += 1
        print(f"calibrated on {os.path.basename(p)} {tuple(x.shape[2:])}", flush=True)
    params = {}
    for t in targets:
        v = np.concatenate(samples[t])
        hi = float(np.percentile(v, a.percentile))
        lo = lows[t] if lows[t] >= 0 else float(np.percentile(v, 100 - a.percentile))
        params[t] = qparams(lo, hi)
    producer = {o: n for n in g.node for o in n.output}
    for t in targets:  # a pool's output keeps its input's scale (ORT then pools uint8 directly)
        n = producer.get(t)
        if n is not None and n.op_type == "MaxPool" and n.input[0] in params:
            params[t] = params[n.input[0]]

    new_inits = []
    front, after = [], {}  # weight/bias DQ nodes; activation t -> its Q and DQ
    rename = {}
    for t in targets:
        s, z = params[t]
        sn, zn = f"{t}_scale", f"{t}_zp"
        new_inits += [numpy_helper.from_array(np.array(s, np.float32), sn),
                      numpy_helper.from_array(np.array(z, np.uint8), zn)]
        after[t] = [helper.make_node("QuantizeLinear", [t, sn, zn], [t + "_q"], name=t + "_Q"),
                    helper.make_node("DequantizeLinear", [t + "_q", sn, zn], [t + "_dq"], name=t + "_DQ")]
        rename[t] = t + "_dq"

    last_conv = [n for n in g.node if n.op_type == "Conv"][-1]
    drop = set()
    for n in g.node:
        if n.op_type != "Conv" or n is last_conv or n.input[0] not in params:
            continue
        w = inits[n.input[1]].numpy().astype(np.float64)
        sw = np.maximum(np.abs(w).reshape(w.shape[0], -1).max(1) / 127.0, 1e-12)
        wq = np.clip(np.round(w / sw[:, None, None, None]), -127, 127).astype(np.int8)
        wn = n.input[1]
        new_inits += [numpy_helper.from_array(wq, wn + "_q"),
                      numpy_helper.from_array(sw.astype(np.float32), wn + "_scale"),
                      numpy_helper.from_array(np.zeros(len(sw), np.int8), wn + "_zp")]
        front.append(helper.make_node("DequantizeLinear", [wn + "_q", wn + "_scale", wn + "_zp"], [wn + "_dq"],
                                          name=wn + "_DQ", axis=0))
        drop.add(wn)
        n.input[1] = wn + "_dq"
        if len(n.input) > 2 and n.input[2]:
            bn = n.input[2]
            sb = (float(params[n.input[0]][0]) * sw).astype(np.float32)
            bq = np.round(inits[bn].numpy().astype(np.float64) / sb).astype(np.int32)
            new_inits += [numpy_helper.from_array(bq, bn + "_q"), numpy_helper.from_array(sb, bn + "_scale"),
                          numpy_helper.from_array(np.zeros(len(sb), np.int32), bn + "_zp")]
            front.append(helper.make_node("DequantizeLinear", [bn + "_q", bn + "_scale", bn + "_zp"],
                                              [bn + "_dq"], name=bn + "_DQ", axis=0))
            drop.add(bn)
            n.input[2] = bn + "_dq"
    for n in g.node:
        for i, name in enumerate(n.input):
            if name in rename and n.op_type in QUANT_CONSUMERS:
                n.input[i] = rename[name]

    # Each Q/DQ pair right after its tensor's producer keeps the list sorted.
    out = front + after.pop(g.input[0].name, [])
    for n in list(g.node):
        out.append(n)
        for o in n.output:
            out += after.pop(o, [])
    if after:
        sys.exit(f"Q/DQ left unplaced: {list(after)}")
    del g.node[:]
    g.node.extend(out)
    keep = [i for i in g.initializer if i.name not in drop]
    del g.initializer[:]
    g.initializer.extend(keep + new_inits)
    onnx.checker.check_model(model)
    tmp = a.out + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, a.out)
    print(f"wrote {a.out}: {len(targets)} activations quantized (uint8, {a.percentile} percentile), "
          f"{len(drop)} weight/bias tensors to int8/int32, calibrated on {used} images; "
          f"{os.path.getsize(a.out) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
