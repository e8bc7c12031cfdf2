# Shared by the GPU session scripts (run.sh, next.sh, third.sh): source it
# after setting W (the runs folder). It makes $OUT and $W, sets PY and
# prints the device. Every run is a background job
# whose output goes to $W/NAME/stdout.log.
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT" "$W"
export PYTHONUNBUFFERED=1
PY=${PY:-python3}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
$PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'

run() { # name, then the command
	local name=$1; shift
	mkdir -p "$W/$name"
	"$@" >"$W/$name/stdout.log" 2>&1 &
	echo "started $name (pid $!)"
}

# wait_for_runs SECONDS: report progress every 15 s until every run has
# ended or SECONDS have passed, then stop what still runs (what it saved
# still comes back).
wait_for_runs() {
	local deadline=$((SECONDS + $1)) n
	while sleep 15; do
		n=$(jobs -rp | wc -l); [ "$n" -eq 0 ] && break
		if [ $SECONDS -ge $deadline ]; then echo "deadline: stopping $n runs"; kill $(jobs -rp); sleep 5; break; fi
		echo "$(date +%T) $n running$(command -v nvidia-smi >/dev/null && echo "; $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader)")"
		for f in "$W"/*/stdout.log; do echo "  $(basename "$(dirname "$f")"): $(tail -n 1 "$f" | cut -c1-150)"; done
	done
	wait
}
