#!/usr/bin/env python3
"""Choose between classifiers for the glaucoma combination without looking
at the evaluation fold: 5-fold cross-validation, inside folds 1-4 only, of
the logistic regression train.py --glaucoma-stack fits (the classifier's
glaucoma logit and the measured vertical CDR; also the logit alone), over
the photos of folds 1-4 with a measured CDR. Run once per classifier, with
RETINALGPT_DIAGNOSE_WORK naming its folder (its out-of-fold logits
oof_K.npz; the disc_*.jsonl measurements are the same photos'):

  /usr/bin/python3 train/diagnose/glaucoma_choice.py                    # the shipped 128-pixel model
  RETINALGPT_DIAGNOSE_WORK=train/data/diagnose256 /usr/bin/python3 train/diagnose/glaucoma_choice.py
"""
import os
import random
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train as D  # noqa: E402


def main():
    src, names, lab, ok, z, fold = D.oof_logits()
    v = D.read_vcdr(len(src))
    y = lab[:, 2]
    e4 = np.array([s.startswith("eye4") for s in src]) & ok & (y >= 0)
    rows = np.nonzero(e4 & ~np.isnan(v) & (fold != 0))[0].tolist()
    random.Random(5).shuffle(rows)
    for name, cols in (("logit + vCDR", [z[:, 8].astype(float), v]), ("logit alone", [z[:, 8].astype(float)])):
        x = np.stack(cols, 1)
        p = np.zeros(len(src))
        for k in range(5):
            test = rows[k::5]
            held = set(test)
            fit = [i for i in rows if i not in held]
            st = D.fit_logistic(x[fit], y[fit].astype(float))
            p[test] = D.apply_logistic(x[test], st)
        print(f"{D.WORK}: {name}: AUC {D.auc(p[rows], y[rows]):.4f} "
              f"(5-fold CV over {len(rows)} measured photos of folds 1-4)")


if __name__ == "__main__":
    main()
