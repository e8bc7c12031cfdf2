#!/usr/bin/env python3
"""Write crop_parity.json: crops cut by train/disccup/train.py's own
resample_square (PIL BILINEAR with a box, black canvas) from a
deterministic RGB test card, for internal/disc's crop test.

  /usr/bin/python3 internal/disc/testdata/crop_parity.py
"""
import base64
import json
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO, "train", "disccup"))
from train import resample_square  # noqa: E402

h, w = 83, 97
y, x = np.mgrid[0:h, 0:w].astype(np.float64)
rng = np.random.default_rng(5)
rgb = np.stack([120 + 90 * np.sin(x / 6) * np.cos(y / 9),
                60 + 50 * np.cos((x - y) / 5),
                30 + 20 * np.sin(x * y / 300)], axis=2) + rng.normal(0, 12, (h, w, 3))
rgb[(np.hypot(x - 60, y - 40) < 14)] = (240, 200, 120)  # a sharp-edged "disc"
rgb = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
img = Image.fromarray(rgb, "RGB")

cases = []
for cx, cy, half, out in [
    (48.3, 40.7, 35.1, 26),   # shrink 2.7x, inside the card
    (60.2, 39.9, 10.2, 32),   # enlarge 1.6x
    (5.5, 78.2, 20.0, 24),    # off the bottom-left corner: black beyond
    (48.5, 41.5, 70.0, 40),   # larger than the card on every side
    (71.25, 22.75, 12.5, 25), # exactly one source pixel per crop pixel
]:
    crop = resample_square(img, cx, cy, half, out)
    cases.append({"cx": cx, "cy": cy, "half": half, "size": out,
                  "rgb_base64": base64.b64encode(np.ascontiguousarray(crop).tobytes()).decode()})

with open(os.path.join(HERE, "crop_parity.json"), "w") as f:
    json.dump({"width": w, "height": h, "rgb_base64": base64.b64encode(rgb.tobytes()).decode(),
               "cases": cases}, f)
    f.write("\n")
