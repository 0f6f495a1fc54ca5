#!/usr/bin/env bash
# Reruns every benchmark scenario, one after another, and writes what each printed to
# bench/results/<date>/ (JSON on stdout, summary and logs on stderr), then a Markdown table of
# the figures to bench/results/<date>/summary.md. docs/BENCHMARKS.md quotes one such run.
#
#   bench/run-all.sh [scenario ...]     (default: all of them)
#
# Environment as for bench/run.sh (BUILD, SECONDS_MEASURED, ...). Takes about 12 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
build="${BUILD:-build-bench}"
scenarios=("$@")
if ((${#scenarios[@]} == 0)); then
  scenarios=(trivial heartbeat-1k latency-5k transactions remote-start storm-10k idle-10k
    idle-50k idle-100k trivial-tls heartbeat-tls-1k storm-tls-2k idle-tls-10k storm-auth)
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target csms-loadgen csms-bench-trivial csms-gateway \
  csms-control csms-billing >/dev/null || exit 1
out="bench/results/$(date -u +%Y-%m-%dT%H%M%SZ)"
mkdir -p "$out"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null)"
  echo "nproc: $(nproc)"
  grep -m1 "model name" /proc/cpuinfo
  free -g | sed -n 2p
  uname -r
} >"$out/machine.txt"
failed=0
for s in "${scenarios[@]}"; do
  echo "== $s" >&2
  # The previous scenario's sockets leave TIME_WAIT behind; give the kernel a moment.
  sleep 3
  if BUILD="$build" bench/run.sh "$s" >"$out/$s.json" 2>"$out/$s.err"; then
    grep -E "^[a-z-]+: " "$out/$s.err" | tail -2 >&2
  else
    failed=$((failed + 1))
    echo "$s FAILED (see $out/$s.err)" >&2
  fi
done
python3 bench/summarize.py "$out" >"$out/summary.md"
cat "$out/summary.md"
echo "results in $out" >&2
exit $((failed > 0))
