#!/usr/bin/env bash
# A second, short GPU call: DRIVE-only vs mixed vessel training (with their
# hold-out twins), and the lesion model's final run. Same conventions as run.sh.
set -u
OUT=${OUT:-/tmp/gpu-out}; B=${BUDGET:-100}; W=/tmp/gpu-runs; mkdir -p "$OUT" "$W"
export PYTHONUNBUFFERED=1
V="python3 train/vessels/train.py --data train/data --batched --patch 128 --batch 32 --threads 2 --time-budget $B --no-export --widths 16,32,64,128"
for h in holdout full; do
	f=""; [ $h = holdout ] && f=--holdout
	for d in 1.0 0.5; do
		mkdir -p "$W/v-d$d-$h"; $V $f --drive-weight $d --work "$W/v-d$d-$h" >"$W/v-d$d-$h/stdout.log" 2>&1 &
	done
done
mkdir -p "$W/les-final"
python3 train/lesions/train.py --data train/data --threads 2 --fold all --time-budget $((B - 10)) --work "$W/les-final" >"$W/les-final/stdout.log" 2>&1 &
end=$((SECONDS + ${DEADLINE:-165}))
while [ -n "$(jobs -rp)" ] && [ $SECONDS -lt $end ]; do sleep 5; done
[ -n "$(jobs -rp)" ] && echo "deadline: stopping" && kill $(jobs -rp) && sleep 3
python3 - "$W" <<'PYEOF'
import glob, os, sys, torch
for p in glob.glob(os.path.join(sys.argv[1], "*", "ckpt.pt")):
    if "-holdout" in p:
        os.remove(p); continue
    ck = torch.load(p, map_location="cpu", weights_only=False)
    torch.save({k: v for k, v in ck.items() if k != "opt"}, p.replace("ckpt.pt", "slim.pt")); os.remove(p)
PYEOF
tar -C "$W" -cf "$OUT/second.tar" .
grep -h "held-out\|trained\|time budget" "$W"/*/stdout.log
ls -la "$OUT"
