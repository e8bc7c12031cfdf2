#!/usr/bin/env python3
"""How much of the cross-validated vCDR error comes from where the crop
starts? Re-scores the held-out images of a train.py --cv run (WORK/fold*.pt)
from four starts, without retraining:

  true_r             the reference disc centre and radius;
  true_fovr          the reference centre, the radius Go estimates
                     (DISC_RADIUS_PRIOR x the FOV radius of fov_drishti.csv);
  off0.1_fovr        that radius, the centre 0.1 disc radius off (a locator
                     about as good as the IDRiD cross-validation's);
  off0.3_r0.75-1.25  train.py's headline perturbation (same seeds).

Prints disc and cup Dice and vCDR MAE (against the experts' mean) per start,
pooled over the held-out images, and the FOV-based radius over the true one.

  /usr/bin/python3 train/disccup/starts.py --data train/data --work train/disccup/runs/cpu-cv \
      --fov train/disc/runs/fov_drishti.csv
"""
import argparse
import csv
import math
import os
import random
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train as T  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(T.REPO, "..", "shared", "datasets"))
    ap.add_argument("--work", required=True, help="a train.py --cv WORK folder with fold*.pt")
    ap.add_argument("--fov", required=True, help="train/disc/fovs output for the Drishti-GS1 images")
    ap.add_argument("--widths", type=lambda s: tuple(int(v) for v in s.split(",")), default=(12, 24, 48, 96, 192))
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=17, help="train.py's --seed (the headline perturbation depends on it)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with open(a.fov) as f:
        fov = {r["image"].rsplit(".", 1)[0]: float(r["radius"]) for r in csv.DictReader(f)}
    drishti = {it["name"]: it for it in T.load_drishti(os.path.join(a.data, "drishti_gs1"))}
    res = {k: [] for k in ("true_r", "true_fovr", "off0.1_fovr", "off0.3_r0.75-1.25")}
    ratios = []
    f = 0
    while os.path.exists(os.path.join(a.work, f"fold{f}.pt")):
        ck = torch.load(os.path.join(a.work, f"fold{f}.pt"), map_location="cpu")
        model = T.UNet(a.widths)
        model.load_state_dict(ck["model"])
        model.eval()
        for n in ck["held_out"]:
            it = drishti[n]
            cx, cy, r = it["geo"]
            rf = T.DISC_RADIUS_PRIOR * fov[n]
            ratios.append(rf / r)
            ang = random.Random(f"x-{n}").uniform(0, 2 * math.pi)
            px, py, _, s2 = T.perturbed_start(a.seed, n, cx, cy, r)  # train.py's, draw for draw
            starts = {"true_r": (cx, cy, r), "true_fovr": (cx, cy, rf),
                      "off0.1_fovr": (cx + 0.1 * r * math.cos(ang), cy + 0.1 * r * math.sin(ang), rf),
                      "off0.3_r0.75-1.25": (px, py, r * s2)}
            for k, (x, y, rr) in starts.items():
                e = T.evaluate_image(model, it, x, y, rr, a.size, "cpu")
                res[k].append((e["disc_dice"], e["cup_dice"], abs(e["vcdr"] - it["cdr_mean"])))
        print(f"fold {f} scored", flush=True)
        f += 1
    if not ratios:
        sys.exit(f"no fold*.pt in {a.work}")
    print(f"{len(ratios)} held-out images; FOV-based radius / true radius: median {np.median(ratios):.3f}, "
          f"range {min(ratios):.3f}-{max(ratios):.3f}")
    for k, v in res.items():
        v = np.array(v)
        print(f"{k:<20} disc Dice {v[:, 0].mean():.4f}  cup Dice {v[:, 1].mean():.4f}  vCDR MAE {v[:, 2].mean():.4f}")


if __name__ == "__main__":
    main()
