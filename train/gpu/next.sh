#!/usr/bin/env bash
# The next GPU session's runs. Same conventions as run.sh: train/data/
# holds the needed ../shared/datasets folders (drive, chase_db1), everything
# comes back as one tar in $OUT, hold-out twins choose, full runs ship.
#   BUDGET=400 DEADLINE=520 train/gpu/next.sh        # on the GPU machine
#   STEPS=2 OUT=/tmp/next-check train/gpu/next.sh    # a quick check on CPU
#
#  - vessels (issue 2, DRIVE AUC 0.9789 vs 0.981): DRIVE share 0.75, the
#    untried middle of the 0.5 (shipped) and 1.0 (DRIVE-only) runs.
# The artery/vein and disc/cup runs planned here in the fifth session ran
# in the seventh (train/gpu/third.sh) and shipped.
set -u
BUDGET=${BUDGET:-400}
W=/tmp/gpu-runs-next
. "$(dirname "$0")/common.sh"

LEN="--time-budget $BUDGET"; [ -n "${STEPS:-}" ] && LEN="--steps $STEPS"
V="$PY train/vessels/train.py --data train/data --batched --patch 128 --threads 1 $LEN --no-export --widths 16,32,64,128"
[ -n "${STEPS:-}" ] || V="$V --batch 32"
run v-d075-holdout $V --holdout --drive-weight 0.75 --work "$W/v-d075-holdout"
run v-d075-full    $V --drive-weight 0.75 --work "$W/v-d075-full"

wait_for_runs "${DEADLINE:-520}"

# Weights only, and none of the hold-out twins' (their metrics decide).
$PY - "$W" <<'PYEOF'
import glob, os, sys, torch
for p in glob.glob(os.path.join(sys.argv[1], "*", "*.pt")):
    run = os.path.basename(os.path.dirname(p))
    if run.endswith("-holdout"):
        os.remove(p)
        continue
    ck = torch.load(p, map_location="cpu")
    torch.save({k: v for k, v in ck.items() if k != "opt"}, p)
PYEOF
tar -C "$W" -cf "$OUT/next.tar" .
grep -h "holdout\|CV pooled\|trained\|time budget" "$W"/*/stdout.log | cut -c1-200
ls -la "$OUT"
