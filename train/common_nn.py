"""What the training scripts share: the U-Net, the input normalization of every model
whose metadata says "normalization": "fov_standardize" (mirrored in Go by
infer.FOVStandardize and checked by each model's parity fixture), and the
U-Net convolution block, and the ONNX export every model uses."""
import math
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
    os.replace(path + ".tmp", path)
