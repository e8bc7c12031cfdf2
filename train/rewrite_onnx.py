#!/usr/bin/env python3
"""Apply the export's graph rewrites (common_nn.split_concat_convs) to
already exported models, without retraining: the same function up to
float rounding, faster in ONNX Runtime on CPUs. Idempotent.

  /usr/bin/python3 train/rewrite_onnx.py models/*.onnx
"""
import os
import sys

import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common_nn import split_concat_convs  # noqa: E402


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for path in sys.argv[1:]:
        m = onnx.load(path)
        n = split_concat_convs(m)
        if n == 0:
            print(f"{path}: nothing to rewrite")
            continue
        onnx.save(m, path + ".tmp")
        os.replace(path + ".tmp", path)
        print(f"{path}: {n} concatenations feeding a convolution split into summed convolutions")


if __name__ == "__main__":
    main()
