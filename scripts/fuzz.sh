#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang into ./build-fuzz and runs each for a bounded
# time on a throwaway copy of its seed corpus (the repository is not changed).
#   scripts/fuzz.sh [seconds-per-target]     (default: $CSMS_FUZZ_SECONDS, else 20)
# Prints the executions of each target and a total line; exits non-zero on any crash, leak,
# timeout or out-of-memory, leaving the input that caused it in build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-${CSMS_FUZZ_SECONDS:-20}}
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "fuzz: bad seconds '$seconds'" >&2; exit 2; }
targets=(fuzz_frame fuzz_normalize fuzz_rest_body)
build=$root/build-fuzz

command -v clang++ >/dev/null || { echo "fuzz: clang++ missing (scripts/install-deps.sh)" >&2; exit 2; }
cmake -S fuzz -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$build" --target fuzzers -j"${CSMS_BUILD_JOBS:-$(nproc)}" >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/crashes"
start=$(date +%s)
total=0
failed=()
for target in "${targets[@]}"; do
  mkdir -p "$work/$target"
  cp -R "fuzz/corpus/$target/." "$work/$target/"
  log=$build/$target.log
  rm -f "$build/crashes/$target-"*
  status=0
  # -max_total_time bounds the run; -timeout and -rss_limit_mb turn a hang or a memory blow-up
  # into a failure; a crash stops the run and libFuzzer writes the input to the artifact prefix.
  "$build/$target" "$work/$target" -dict="fuzz/$target.dict" -max_total_time="$seconds" \
    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$build/crashes/$target-" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  execs=${execs:-0}
  total=$((total + execs))
  if ((status != 0)); then
    failed+=("$target")
    echo "fuzz: $target FAILED (exit $status) after $execs executions; log: $log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant failed|.*runtime error)' "$log" | head -5 || true
    ls -1 "$build/crashes/$target-"* 2>/dev/null | sed 's/^/  input: /' || true
  else
    echo "fuzz: $target $execs executions in $seconds s"
  fi
done
echo "fuzz: $total executions in $(($(date +%s) - start)) s, ${#failed[@]} crashes"
((${#failed[@]} == 0))
