#!/usr/bin/env bash
# One GPU session's training runs, side by side on one GPU (each model is
# small, so several processes keep the GPU busy better than one).
# Expects train/data/ laid out like ../shared/datasets (copied there because
# ../shared does not travel to the GPU machine). Writes weights-only
# checkpoints, logs and metrics as tar files into $OUT (at most 8 files come
# back). Every script it calls also runs on CPU with --steps N instead of
# --time-budget.
#   BUDGET=400 DEADLINE=520 train/gpu/run.sh
set -u
BUDGET=${BUDGET:-400}
W=/tmp/gpu-runs
. "$(dirname "$0")/common.sh"

LEN="--time-budget $BUDGET"; [ -n "${STEPS:-}" ] && LEN="--steps $STEPS"  # STEPS: a quick check of this script
V="$PY train/vessels/train.py --data train/data --batched --patch 128 --batch ${VBATCH:-32} --threads 1 $LEN --no-export"
for hold in holdout full; do
	flag=""; [ $hold = holdout ] && flag="--holdout"
	run "v-w4-$hold"    $V $flag --work "$W/v-w4-$hold" --widths 16,32,64,128
	run "v-w5-$hold"    $V $flag --work "$W/v-w5-$hold" --widths 16,32,48,96,192
done
AV="$PY train/av/train.py --data train/data --threads 1 $LEN"
run av-holdout $AV --holdout --work "$W/av-holdout"
run av-full    $AV --work "$W/av-full"
LF="--time-budget $((BUDGET - 60))"; LA="--time-budget $((BUDGET - 20))"  # fold runs also score 5 images
[ -n "${STEPS:-}" ] && LF="--steps $STEPS" && LA="--steps $STEPS"
for f in 0 1 2 3; do
	run "les-f$f" $PY train/lesions/train.py --data train/data --threads 1 --fold $f $LF --work "$W/les-f$f"
done
run les-final $PY train/lesions/train.py --data train/data --threads 1 --fold all $LA --work "$W/les-final"
run dc-cv $PY train/disccup/train.py --data train/data --cv 5 --final --threads 1 $LEN --work "$W/dc-cv"

# Past the deadline, stop what still runs: what has been saved still comes back.
wait_for_runs "${DEADLINE:-520}"

# Weights only: optimizer state would triple the size of what comes back.
$PY - "$W" <<'PYEOF'
import glob, os, sys, torch
for p in glob.glob(os.path.join(sys.argv[1], "*", "ckpt.pt")):
    run = os.path.basename(os.path.dirname(p))
    if run.endswith("-holdout") or run.startswith("les-f"):  # validation runs: their metrics are what counts
        os.remove(p)
        continue
    ck = torch.load(p, map_location="cpu", weights_only=False)
    torch.save({k: v for k, v in ck.items() if k != "opt"}, p.replace("ckpt.pt", "slim.pt"))
    os.remove(p)
PYEOF
for group in v av dc les; do
	dirs=$(cd "$W" && ls -d ${group}-* 2>/dev/null)
	[ -n "$dirs" ] && tar -C "$W" -cf "$OUT/$group.tar" $dirs
done
ls -la "$OUT"
grep -h "held-out\|metrics\|Dice\|dice\|accuracy" "$W"/*/stdout.log | tail -40
