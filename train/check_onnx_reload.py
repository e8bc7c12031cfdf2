#!/usr/bin/env python3
"""Check common_nn.unet_from_onnx: load an exported U-Net's ONNX weights
back into PyTorch and compare its probabilities with the model's Go
parity fixture (written by PyTorch at export). Prints the largest
difference; exits non-zero above --tol.

  /usr/bin/python3 train/check_onnx_reload.py models/av.onnx internal/vessels/testdata/av_parity.json --widths 16,32,64,128 --out 3
  /usr/bin/python3 train/check_onnx_reload.py models/vessels.onnx internal/vessels/testdata/parity.json --widths 16,32,64,128 --out 1
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common_nn  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("onnx")
    ap.add_argument("parity", help="the model's parity fixture: input (normalized) and prob")
    ap.add_argument("--widths", type=lambda t: tuple(int(v) for v in t.split(",")), default=(16, 32, 64, 128))
    ap.add_argument("--out", type=int, default=1, help="output channels")
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    model = common_nn.unet_from_onnx(a.onnx, common_nn.UNet(a.widths, out_channels=a.out)).eval()
    p = json.load(open(a.parity))
    h, w = p["height"], p["width"]
    x = torch.tensor(p["input"], dtype=torch.float32).reshape(1, 3, h, w)
    with torch.no_grad():
        got = torch.sigmoid(model(x)).numpy().ravel()
    diff = float(np.abs(got - np.array(p["prob"], dtype=np.float32)).max())
    print(f"{a.onnx} reloaded into PyTorch: largest probability difference {diff:.2g} against {a.parity}")
    sys.exit(0 if diff <= a.tol else 1)


if __name__ == "__main__":
    main()
