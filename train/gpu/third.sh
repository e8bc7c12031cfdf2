#!/usr/bin/env bash
# The third GPU session's runs (2026-11-28; checked on CPU with STEPS=2 first).
# Same conventions as run.sh: train/data/ holds the needed ../shared/datasets
# folders (idrid, drishti_gs1, odoc_samples, rite), everything comes back as
# tar files in $OUT, hold-out twins and fold runs choose, full runs ship.
#   BUDGET=380 DEADLINE=450 train/gpu/third.sh        # on the GPU machine
#   STEPS=2 OUT=/tmp/third-check train/gpu/third.sh   # a quick check on CPU
#
#  - lesions (issue 5, speed 1.46 s vs <= 1 s): the light network
#    (8-128 channels, 0.905 s on the sample) trained longer than its CPU
#    cross-validation's 2000 x 8 patches, 4 folds + the final model;
#  - disc/cup (issue 4, vCDR MAE 0.074 vs 0.06, disc Dice 0.946 vs 0.95):
#    the shipped recipe with 1500 steps per model instead of 510, its five
#    folds and the final model side by side (--fold F), pooled afterwards by
#    `train.py --cv 5 --resume --steps 1500` over the fold files;
#  - artery/vein (issue 3, RITE test 0.892 vs 0.93): from scratch with
#    camera-like recolourings, one more level and 256-pixel patches.
#
# What the session actually ran (the cards cite it): this script with
# BUDGET=380 DEADLINE=450, then two short calls, because
#  - the A/V runs' time budget reserved ~1300 s for evaluation (it timed
#    the first whole-image pass, cuDNN's search included; fixed in
#    train/av/train.py) and chose 100 steps: rerun alone with --steps 1800
#    (below now; 0.095 s/step);
#  - the weights-only step deleted light-final's checkpoint (its name
#    began with light-f; fixed below): retrained alone with
#    `--fold all --threads 2 --time-budget 130`, which at 21.6 ms/step
#    alone chose 5589 steps (the folds here: 1634-1642 at 0.19 s/step).
set -u
BUDGET=${BUDGET:-380}
W=/tmp/gpu-runs-third
. "$(dirname "$0")/common.sh"

LEN="--time-budget $BUDGET"; LF="--time-budget $((BUDGET - 50))"  # lesion folds also score 5 images
[ -n "${STEPS:-}" ] && LEN="--steps $STEPS" && LF="--steps $STEPS"
L="$PY train/lesions/train.py --data train/data --threads 1 --widths 8,16,32,64,128"
for f in 0 1 2 3; do run "light-f$f" $L --fold $f $LF --work "$W/light-f$f"; done
run light-final $L --fold all $LEN --work "$W/light-final"

DC="$PY train/disccup/train.py --data train/data --threads 1 --steps ${STEPS:-1500}"
for f in 0 1 2 3 4; do run "dc-f$f" $DC --cv 5 --fold $f --work "$W/dc-f$f"; done
run dc-final $DC --final --work "$W/dc-final"

AV="$PY train/av/train.py --data train/data --threads 1 --camera-variants 4 --widths 16,32,64,128,256 --patch 256 --steps ${STEPS:-1800}"
run av5-holdout $AV --holdout --work "$W/av5-holdout"
run av5-full $AV --work "$W/av5-full"

wait_for_runs "${DEADLINE:-450}"

# Weights only (optimizer state would triple what comes back); the lesion
# folds and the A/V hold-out twin are judged by their metrics, the disc/cup
# fold models are kept to pool their cross-validation afterwards.
$PY - "$W" <<'PYEOF'
import glob, os, re, sys, torch
for p in glob.glob(os.path.join(sys.argv[1], "*", "*.pt")):
    run = os.path.basename(os.path.dirname(p))
    if run.endswith("-holdout") or re.fullmatch(r"light-f\d+", run):
        os.remove(p)
        continue
    ck = torch.load(p, map_location="cpu", weights_only=False)
    torch.save({k: v for k, v in ck.items() if k != "opt"}, p)
PYEOF
cd "$W" && for g in "dc-f0 dc-f1" "dc-f2 dc-f3" "dc-f4 dc-final" "light-f0 light-f1 light-f2 light-f3 light-final" "av5-holdout av5-full"; do
	set -- $g; tar -cf "$OUT/$1.tar" $(ls -d $g 2>/dev/null)
done
grep -h "held-out\|held out\|fold .:\|CV pooled\|trained\|time budget\|saved\|done in" "$W"/*/stdout.log | cut -c1-220
ls -la "$OUT"
