# Shared by the GPU session scripts (run.sh, next.sh): source it after
# setting W (the runs folder). Every run is a background job whose output
# goes to $W/NAME/stdout.log.

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
