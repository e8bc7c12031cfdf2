#!/usr/bin/env python3
"""Disc-less test photos: circular crops of IDRiD grading photos centred on
the fovea, of radius 0.6 x the disc-fovea distance (so the disc lies
outside), black outside the circle, as a macula-centred camera might frame
them. `retinalgpt analyze` must answer "optic disc not found" for every one.

  /usr/bin/python3 train/disc/macula_crops.py --out /tmp/macula --kind healthy -n 6   # DR grade 0
  /usr/bin/python3 train/disc/macula_crops.py --out /tmp/macula --kind dme -n 6       # DME risk 2 (exudates)
  for f in /tmp/macula/*.png; do retinalgpt analyze "$f" --out /tmp/macula-out | grep -i "optic disc"; done
"""
import argparse
import csv
import math
import os

from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grading", default=os.path.join(HERE, "..", "..", "..", "shared", "datasets", "idrid", "grading"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--kind", choices=("healthy", "dme"), default="healthy")
    ap.add_argument("-n", type=int, default=6, help="the first N photos of that kind in labels.csv")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    n = 0
    for r in csv.DictReader(open(os.path.join(args.grading, "labels.csv"))):
        if n >= args.n:
            break
        if (args.kind == "healthy" and r["dr_grade"] != "0") or (args.kind == "dme" and r["dme_risk"] != "2"):
            continue
        im = Image.open(os.path.join(args.grading, "images", r["image"])).convert("RGB")
        s = im.size[0] / 4288.0  # labels.csv is at the original 4288-pixel width
        fx, fy, ox, oy = (float(r[k]) * s for k in ("fovea_x", "fovea_y", "od_x", "od_y"))
        rad = 0.6 * math.hypot(fx - ox, fy - oy)
        crop = im.crop((int(fx - rad), int(fy - rad), int(fx + rad), int(fy + rad)))
        mask = Image.new("L", crop.size, 0)
        ImageDraw.Draw(mask).ellipse((2, 2, crop.size[0] - 3, crop.size[1] - 3), fill=255)
        out = Image.new("RGB", crop.size)
        out.paste(crop, (0, 0), mask)
        out.save(os.path.join(args.out, f"{args.kind}_{os.path.splitext(r['image'])[0]}.png"))
        n += 1
    print(f"wrote {n} crops to {args.out}")


if __name__ == "__main__":
    main()
