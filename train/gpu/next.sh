#!/usr/bin/env bash
# The next GPU session's runs (prepared and checked on CPU with STEPS=2 in
# the fifth session; see the issue notes). Same conventions as run.sh:
# train/data/ holds the needed ../shared/datasets folders, everything
# comes back as one tar in $OUT, hold-out twins choose, full runs ship.
#   BUDGET=400 DEADLINE=520 train/gpu/next.sh        # on the GPU machine
#   STEPS=2 OUT=/tmp/next-check train/gpu/next.sh    # a quick check on CPU
#
#  - artery/vein (issue 3, RITE test 0.892 vs 0.93): from scratch with the
#    camera-like recolourings that lifted the CPU fine-tune, at the base
#    width and with one more level (16-256, 4 poolings, 256-pixel patches:
#    about twice the receptive field; Go reads the size multiple from
#    av.json and its content cut widens with it);
#  - vessels (issue 2, DRIVE AUC 0.9789 vs 0.981): DRIVE share 0.75, the
#    untried middle of the 0.5 (shipped) and 1.0 (DRIVE-only) runs;
#  - disc/cup (issue 4): the shipped recipe with 3x the steps, 5-fold CV.
set -u
BUDGET=${BUDGET:-400}
W=/tmp/gpu-runs-next
. "$(dirname "$0")/common.sh"

LEN="--time-budget $BUDGET"; [ -n "${STEPS:-}" ] && LEN="--steps $STEPS"
AV="$PY train/av/train.py --data train/data --threads 1 --camera-variants 4 $LEN"
for hold in holdout full; do
	flag=""; [ $hold = holdout ] && flag="--holdout"
	run "av4-$hold" $AV $flag --work "$W/av4-$hold"
	run "av5-$hold" $AV $flag --widths 16,32,64,128,256 --patch 256 --work "$W/av5-$hold"
done
V="$PY train/vessels/train.py --data train/data --batched --patch 128 --threads 1 $LEN --no-export --widths 16,32,64,128"
[ -n "${STEPS:-}" ] || V="$V --batch 32"
run v-d075-holdout $V --holdout --drive-weight 0.75 --work "$W/v-d075-holdout"
run v-d075-full    $V --drive-weight 0.75 --work "$W/v-d075-full"
DC="$PY train/disccup/train.py --data train/data --cv 5 --final --threads 1"
if [ -n "${STEPS:-}" ]; then DC="$DC --steps $STEPS"; else DC="$DC --steps 1530"; fi
run dc-long $DC --work "$W/dc-long"

wait_for_runs "${DEADLINE:-520}"

# Weights only, and none of the hold-out twins' (their metrics decide).
$PY - "$W" <<'PYEOF'
import glob, os, sys, torch
for p in glob.glob(os.path.join(sys.argv[1], "*", "*.pt")):
    run = os.path.basename(os.path.dirname(p))
    if run.endswith("-holdout") or os.path.basename(p).startswith("fold"):
        os.remove(p)
        continue
    ck = torch.load(p, map_location="cpu")
    torch.save({k: v for k, v in ck.items() if k != "opt"}, p)
PYEOF
tar -C "$W" -cf "$OUT/next.tar" .
grep -h "holdout\|CV pooled\|trained\|time budget" "$W"/*/stdout.log | cut -c1-200
ls -la "$OUT"
