"""Input normalization shared by every model whose metadata says
"normalization": "fov_standardize"; mirrored in Go by infer.FOVStandardize
and checked by each model's parity fixture."""
import math

import numpy as np

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
