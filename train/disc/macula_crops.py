#!/usr/bin/env python3
"""Disc-less test photos: circular crops of IDRiD grading photos centred on
the fovea, of radius 0.6 x the disc-fovea distance (so the disc lies
outside), black outside the circle, as a macula-centred camera might frame
them. `retinalgpt analyze` must answer "optic disc not found" for every one.

  /usr/bin/python3 train/disc/macula_crops.py --out /tmp/macula --kind healthy -n 6   # DR grade 0
  /usr/bin/python3 train/disc/macula_crops.py --out /tmp/macula --kind dme -n 6       # DME risk 2 (exudates)
  /usr/bin/python3 train/disc/macula_crops.py --out /tmp/macula --photo assets/sample/idrid_055.jpg \
      --box 130,100,630,600                                                            # the sample's macula
  for f in /tmp/macula/*.png; do retinalgpt analyze "$f" --out /tmp/macula-out | grep -i "optic disc"; done

Photos no disc model was trained on (DRIVE, CHASE_DB1, eye_diseases_4class)
have no landmark labels; --reports takes them from `retinalgpt analyze`
reports instead (the fovea located, the disc found and measured), keeping
only photos whose disc was found and whose fovea is at least 3 disc radii
from it, and crops around the fovea to 0.9 x (disc-fovea distance - 1.3
disc radii), so the disc lies wholly outside:

  retinalgpt analyze --out /tmp/heldout ../shared/datasets/drive/test/images/*.tif
  /usr/bin/python3 train/disc/macula_crops.py --out /tmp/macula-drive --reports /tmp/heldout \
      ../shared/datasets/drive/test/images/*.tif
"""
import json
import argparse
import csv
import math
import os

from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))


def circle_crop(im, box, inset):
    """The box cut from im, black outside the circle inscribed in it less
    inset pixels all round."""
    crop = im.crop(box)
    mask = Image.new("L", crop.size, 0)
    ImageDraw.Draw(mask).ellipse((inset, inset, crop.size[0] - 1 - inset, crop.size[1] - 1 - inset), fill=255)
    out = Image.new("RGB", crop.size)
    out.paste(crop, (0, 0), mask)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grading", default=os.path.join(HERE, "..", "..", "..", "shared", "datasets", "idrid", "grading"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--kind", choices=("healthy", "dme"), default="healthy")
    ap.add_argument("-n", type=int, default=6, help="the first N photos of that kind in labels.csv")
    ap.add_argument("--photo", help="instead: crop this photo at --box (written as NAME_macula.png)")
    ap.add_argument("--box", help="with --photo: X0,Y0,X1,Y1 in pixels, a square around the macula")
    ap.add_argument("--reports", help="instead: a folder of NAME_report.json from analyze for the PHOTOs given")
    ap.add_argument("photos", nargs="*", help="with --reports: the photos analysed")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.reports:
        n = skipped = 0
        for path in args.photos:
            name = os.path.splitext(os.path.basename(path))[0]
            try:
                with open(os.path.join(args.reports, name + "_report.json")) as f:
                    rep = json.load(f)
            except FileNotFoundError:
                skipped += 1
                continue
            d, fov = rep.get("disc") or {}, rep["anatomy"]["fovea"]
            if not d.get("found"):
                skipped += 1
                continue
            fx, fy = fov["center"]["x"], fov["center"]["y"]
            dist = math.hypot(fx - d["center"]["x"], fy - d["center"]["y"])
            if dist < 3 * d["radius_px"]:
                skipped += 1
                continue
            rad = 0.9 * (dist - 1.3 * d["radius_px"])
            out = circle_crop(Image.open(path).convert("RGB"), (int(fx - rad), int(fy - rad), int(fx + rad), int(fy + rad)), 2)
            out.save(os.path.join(args.out, f"{name}_macula.png"))
            n += 1
        print(f"wrote {n} crops to {args.out} ({skipped} photos skipped: no report, no disc found, or fovea too near it)")
        return
    if args.photo:
        if not args.box:
            ap.error("--photo needs --box")
        name = os.path.splitext(os.path.basename(args.photo))[0] + "_macula.png"
        box = tuple(int(v) for v in args.box.split(","))
        circle_crop(Image.open(args.photo).convert("RGB"), box, 10).save(os.path.join(args.out, name))
        print(f"wrote {os.path.join(args.out, name)}")
        return
    n = 0
    for r in csv.DictReader(open(os.path.join(args.grading, "labels.csv"))):
        if n >= args.n:
            break
        if (args.kind == "healthy" and r["dr_grade"] != "0") or (args.kind == "dme" and r["dme_risk"] != "2"):
            continue
        im = Image.open(os.path.join(args.grading, "images", r["image"])).convert("RGB")
        s = 1.0  # labels.csv is in pixels of these 2144-wide copies (datasets/README.md)
        fx, fy, ox, oy = (float(r[k]) * s for k in ("fovea_x", "fovea_y", "od_x", "od_y"))
        rad = 0.6 * math.hypot(fx - ox, fy - oy)
        out = circle_crop(im, (int(fx - rad), int(fy - rad), int(fx + rad), int(fy + rad)), 2)
        out.save(os.path.join(args.out, f"{args.kind}_{os.path.splitext(r['image'])[0]}.png"))
        n += 1
    print(f"wrote {n} crops to {args.out}")


if __name__ == "__main__":
    main()
