#!/usr/bin/env python3
"""Artery/vein plausibility on photos without A/V labels, from the reports
`retinalgpt analyze` wrote (NAME_report.json in each folder given):
per photo the share of labelled vessel pixels called artery (manual RITE
labellings: 34-56 %), the six-widest AVR (Knudtson; below 1 in nearly
every eye) and whether the mean artery width is below the mean vein width
(true of nearly every eye); then the counts. With two folders (before,
after) the photos are listed side by side.

  retinalgpt analyze $(ls ../shared/datasets/idrid/grading/images/*.jpg | awk 'NR % 20 == 1') \\
      ../shared/datasets/idrid/grading/images/IDRiD_055.jpg --out /tmp/av-idrid
  /usr/bin/python3 train/av/plausibility.py /tmp/av-idrid [/tmp/av-idrid-other-model]
"""
import glob
import json
import os
import sys


def load(folder):
    out = {}
    for f in sorted(glob.glob(os.path.join(folder, "*_report.json"))):
        v = json.load(open(f))["vessels"]
        av = v.get("av") or {}
        a, b = av.get("artery_px", 0), av.get("vein_px", 0)
        six = (v.get("calibre") or {}).get("six_widest") or {}
        wa, wv = (v.get("artery") or {}).get("average_width_px"), (v.get("vein") or {}).get("average_width_px")
        out[os.path.basename(f)[:-len("_report.json")]] = {
            "share": a / (a + b) if a + b else None,
            "avr": (six.get("knudtson") or {}).get("avr"),
            "narrower": None if not wa or not wv else wa < wv,
        }
    return out


def summary(rows):
    sh = [r["share"] for r in rows.values() if r["share"] is not None]
    avr = [r["avr"] for r in rows.values() if r["avr"] is not None]
    nar = [r["narrower"] for r in rows.values() if r["narrower"] is not None]
    sh.sort(); avr.sort()
    return (f"{len(rows)} photos: median artery share {sh[len(sh) // 2]:.2f} (0.34-0.56 in "
            f"{sum(0.34 <= s <= 0.56 for s in sh)} of {len(sh)}); median AVR {avr[len(avr) // 2]:.2f} "
            f"(below 1 in {sum(a < 1 for a in avr)} of {len(avr)}); artery narrower than vein in "
            f"{sum(nar)} of {len(nar)}")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sets = [load(d) for d in sys.argv[1:]]
    fmt = lambda r: "-" if r is None else (f"share {r['share']:.2f} " if r["share"] is not None else "share - ") + \
        (f"AVR {r['avr']:.2f} " if r["avr"] is not None else "AVR - ") + \
        {True: "A<V", False: "A>=V", None: "-"}[r["narrower"]]
    for name in sorted(set().union(*sets)):
        print(f"{name:<16} " + "   |   ".join(fmt(s.get(name)) for s in sets))
    for d, s in zip(sys.argv[1:], sets):
        print(f"{d}: {summary(s)}")


if __name__ == "__main__":
    main()
