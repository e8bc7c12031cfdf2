"""What the training scripts share: the U-Net, the input normalization of every model
whose metadata says "normalization": "fov_standardize" (mirrored in Go by
infer.FOVStandardize and checked by each model's parity fixture), and the
U-Net convolution block, and the ONNX export every model uses."""
import math
import time
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FOV_THRESHOLD = 25  # on 0..255
NORM_EPS = 1e-6


def fov_normalize(rgb):
    """rgb: HxWx3 uint8 -> 3xHxW float32: RGB/255, then per channel minus the
    mean and divided by the population std over the pixels whose brightest
    channel exceeds FOV_THRESHOLD; all other pixels 0."""
    x = rgb.astype(np.float32) / 255.0
    fov = rgb.max(axis=2) > FOV_THRESHOLD
    out = np.zeros((3,) + rgb.shape[:2], np.float32)
    n = max(int(fov.sum()), 1)
    for c in range(3):
        ch = x[:, :, c]
        v = ch[fov]
        mean = float(v.sum()) / n
        std = math.sqrt(max(float(((v - mean) ** 2).sum()) / n, 0.0)) + NORM_EPS
        out[c] = np.where(fov, (ch - mean) / std, 0.0)
    return out


def camera_variant(rgb, rng):
    """The same photograph as another camera might render it: a gamma per
    channel (log-uniform 0.5-2), a colour-mixing matrix near the identity
    (off-diagonal +-0.1) and a gain (0.8-1.2), on 0..1 values, clipped.
    The per-image standardization removes gains and offsets but not
    gammas or mixing, which change the shape of each channel's histogram
    and the red:green relation that the model reads arteries and veins by;
    one camera teaches none of that variety (models/av.md). rgb: HxWx3
    uint8; rng: a numpy Generator."""
    x = rgb.astype(np.float32) / 255
    gamma = np.exp(rng.uniform(np.log(0.5), np.log(2.0), 3)).astype(np.float32)
    x = x ** gamma
    mix = np.eye(3, dtype=np.float32) + rng.uniform(-0.1, 0.1, (3, 3)).astype(np.float32) * (1 - np.eye(3, dtype=np.float32))
    x = np.einsum("hwc,dc->hwd", x, mix) * np.float32(rng.uniform(0.8, 1.2))
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def run_logger(path):
    """A say(msg) that prints msg with the time and appends it to path."""
    log = open(path, "a")

    def say(msg):
        line = time.strftime("%H:%M:%S ") + msg
        print(line, flush=True)
        log.write(line + "\n"); log.flush()
    return say


def fov_normalize_batch(rgb):
    """fov_normalize on a batch, in torch: rgb (B,3,H,W) float holding whole 0..255 values."""
    mask = (rgb.amax(1, keepdim=True) > FOV_THRESHOLD).float()
    x = rgb / 255.0
    n = mask.sum((2, 3), keepdim=True).clamp(min=1)
    mean = (x * mask).sum((2, 3), keepdim=True) / n
    var = (((x - mean) ** 2) * mask).sum((2, 3), keepdim=True) / n
    return (x - mean) / (var.sqrt() + NORM_EPS) * mask


def rank_auc(scores, positive):
    """ROC AUC by ranks (ties count half); None without both classes."""
    s, y = np.asarray(scores, float), np.asarray(positive, bool)
    if y.all() or not y.any():
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    for v in np.unique(s):  # average ranks over ties
        tie = s == v
        if tie.sum() > 1:
            ranks[tie] = ranks[tie].mean()
    npos = int(y.sum())
    return float((ranks[y].sum() - npos * (npos + 1) / 2) / (npos * (len(s) - npos)))


class Block(nn.Module):
    """Two 3x3 convolutions, each with BatchNorm and ReLU."""

    def __init__(self, cin, cout):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.body(x)


class UNet(nn.Module):
    """The plain U-Net every segmentation model here uses: len(widths)-1
    max-pools (inputs must be multiples of 2**(len-1)), transposed-conv
    upsampling, skip connections by concatenation, a 1x1 head giving
    out_channels logits. Attribute names are part of the checkpoints."""

    def __init__(self, widths=(16, 32, 64, 128), out_channels=1):
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
        self.head = nn.Conv2d(cin, out_channels, 1)

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


def export_onnx(model, path, size, output_axes=("height", "width")):
    """Export model (eval mode) to ONNX opset 17, which ONNX Runtime 1.24
    runs, with input "image" [1,3,H,W] and output "logits", H and W dynamic.
    The file is renamed into place, so an interrupted export leaves none."""
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 3, size, size), path + ".tmp", opset_version=17,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {2: "height", 3: "width"},
                                    "logits": {2: output_axes[0], 3: output_axes[1]}})
    import onnx  # here, so that training without onnx installed still works
    m = onnx.load(path + ".tmp")
    split_concat_convs(m)
    onnx.save(m, path + ".tmp")
    os.replace(path + ".tmp", path)


def split_concat_convs(m):
    """Rewrite every Concat whose only reader is a Conv (the U-Net's
    decoder: upsampled features ++ skip connection) as one Conv per
    concatenated input, summed: Conv(cat(a, b), [Wa Wb], B) = Conv(a, Wa) +
    Conv(b, Wb, B). The same function up to float rounding, but ONNX
    Runtime's CPU convolutions work in a blocked channel layout that Concat
    does not have, so the concatenation cost two layout conversions and a
    copy of the widest tensors: a third of the vessel model's time on a
    1024 image. Returns how many were rewritten; m changes in place."""
    from onnx import checker, helper, numpy_helper, shape_inference

    g = m.graph
    inferred = shape_inference.infer_shapes(m).graph
    channels = {}
    for vi in list(inferred.value_info) + list(inferred.input):
        dims = vi.type.tensor_type.shape.dim
        if len(dims) == 4 and dims[1].HasField("dim_value"):
            channels[vi.name] = dims[1].dim_value
    inits = {i.name: i for i in g.initializer}
    readers = {}
    for n in g.node:
        for name in n.input:
            readers.setdefault(name, []).append(n)
    producer = {o: n for n in g.node for o in n.output}
    nodes, dropped, added, count = [], set(), [], 0
    for n in g.node:
        if n.op_type == "Concat" and len(readers.get(n.output[0], [])) == 1 \
                and readers[n.output[0]][0].op_type == "Conv" and helper.get_attribute_value(n.attribute[0]) == 1:
            continue  # replaced below, with the Conv that reads it
        cat = producer.get(n.input[0]) if n.op_type == "Conv" else None
        if cat is None or cat.op_type != "Concat" or len(readers[cat.output[0]]) != 1 \
                or helper.get_attribute_value(cat.attribute[0]) != 1:
            nodes.append(n)
            continue
        w = numpy_helper.to_array(inits[n.input[1]])
        widths = [channels[src] for src in cat.input]
        if sum(widths) != w.shape[1]:
            raise ValueError(f"{n.name}: concatenated channels {widths} vs weight {w.shape}")
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        parts, off = [], 0
        for j, (src, c) in enumerate(zip(cat.input, widths)):
            wn = f"{n.input[1]}_part{j}"
            added.append(numpy_helper.from_array(np.ascontiguousarray(w[:, off:off + c]), wn))
            off += c
            bias = [n.input[2]] if j == len(widths) - 1 and len(n.input) > 2 else []
            nodes.append(helper.make_node("Conv", [src, wn] + bias, [f"{n.output[0]}_part{j}"],
                                          name=f"{n.name}_part{j}", **attrs))
            parts.append(f"{n.output[0]}_part{j}")
        sum_out = parts[0]
        for j, p in enumerate(parts[1:], 1):
            out = n.output[0] if j == len(parts) - 1 else f"{n.output[0]}_sum{j}"
            nodes.append(helper.make_node("Add", [sum_out, p], [out], name=f"{n.name}_sum{j}"))
            sum_out = out
        dropped.add(n.input[1])
        count += 1
    if count:
        del g.node[:]
        g.node.extend(nodes)
        keep = [i for i in g.initializer if i.name not in dropped]
        del g.initializer[:]
        g.initializer.extend(keep + added)
        checker.check_model(m)
    return count


def unet_from_onnx(path, model):
    """Load an exported U-Net's ONNX weights back into `model` (a UNet of
    the same widths), e.g. to fine-tune a shipped model whose checkpoint is
    not at hand. The export folds each BatchNorm into its convolution, so
    every BatchNorm here becomes the identity plus the folded bias (weight
    1, running mean 0, running variance 1 - eps): the model computes the
    ONNX function exactly as long as those layers stay in eval mode (see
    freeze_batchnorm). Convolutions that split_concat_convs divided are
    joined again. Returns model."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    convs, transposed, parts = [], [], {}
    for n in m.graph.node:
        if n.op_type == "ConvTranspose":
            transposed.append((inits[n.input[1]], inits[n.input[2]]))
        elif n.op_type == "Conv":
            base, _, j = n.name.rpartition("_part")
            if base and j.isdigit():  # one input's share of a split convolution
                if base not in parts:
                    parts[base] = []
                    convs.append(parts[base])
                parts[base].append(n)
                continue
            convs.append([n])
    weights = []
    for group in convs:
        w = np.concatenate([inits[n.input[1]] for n in group], axis=1)
        b = next(inits[n.input[2]] for n in group if len(n.input) > 2)
        weights.append((w, b))
    blocks = list(model.down) + list(model.fuse)
    if len(weights) != 2 * len(blocks) + 1 or len(transposed) != len(model.up):
        raise ValueError(f"{path}: {len(weights)} convolutions and {len(transposed)} transposed ones do not fit "
                         f"a U-Net of {len(model.down)} levels")
    sd = {}
    for k, blk in enumerate(blocks):
        for j, (ci, bi) in enumerate(((0, 1), (3, 4))):
            w, b = weights[2 * k + j]
            conv, bn = blk.body[ci], blk.body[bi]
            if tuple(conv.weight.shape) != w.shape:
                raise ValueError(f"{path}: convolution {2 * k + j} has shape {w.shape}, the model {tuple(conv.weight.shape)}")
            conv.weight.data = torch.from_numpy(w.copy())
            bn.weight.data.fill_(1)
            bn.bias.data = torch.from_numpy(b.copy())
            bn.running_mean.zero_()
            bn.running_var.fill_(1 - bn.eps)
    w, b = weights[-1]
    model.head.weight.data, model.head.bias.data = torch.from_numpy(w.copy()), torch.from_numpy(b.copy())
    for up, (w, b) in zip(model.up, transposed):
        up.weight.data, up.bias.data = torch.from_numpy(w.copy()), torch.from_numpy(b.copy())
    return model


def freeze_batchnorm(model):
    """Put every BatchNorm in eval mode (call after model.train()): running
    statistics fixed, only the affine parameters learn."""
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.eval()
