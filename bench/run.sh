#!/usr/bin/env bash
# Runs one benchmark scenario against a private stack and stops everything afterwards.
#
#   bench/run.sh <scenario>
#
# Scenarios: trivial, heartbeat-1k, latency-5k, transactions, storm-10k, idle-10k (see README.md).
# A private PostgreSQL (fsync on) in a temp dir, billing, control and the gateway start on free
# ports; csms-loadgen runs the scenario and prints its JSON result on stdout (summary on stderr).
# Environment: BUILD (default build-bench; must hold csms-gateway, csms-control, csms-billing,
# csms-loadgen, csms-bench-trivial), SECONDS_MEASURED (default 10), KEEP=1 keeps the temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build="${BUILD:-build-bench}"
[[ "$build" = /* ]] || build="$root/$build"
scenario="${1:-}"
measured="${SECONDS_MEASURED:-10}"
pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
loadgen="$build/bench/csms-loadgen"

case "$scenario" in
  trivial | heartbeat-1k | latency-5k | transactions | storm-10k | idle-10k) ;;
  *)
    echo "usage: bench/run.sh trivial|heartbeat-1k|latency-5k|transactions|storm-10k|idle-10k" >&2
    exit 2
    ;;
esac

ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d /tmp/csms-bench.XXXXXX)
pids=()
pg_started=0

as_pg_owner() {  # initdb and postgres refuse to run as root
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ $pg_started -eq 1 ]]; then
    as_pg_owner "$pg_bin/pg_ctl" -D "$tmp/pg" -m fast stop >/dev/null 2>&1 || true
  fi
  if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {  # wait_port <port> <name>
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$2 did not open port $1; its log:" >&2
  tail -20 "$tmp/$2.log" >&2 || true
  exit 1
}

start() {  # start <name> <binary> [flags...]; the pid goes to pids[] and $last_pid
  local name=$1
  shift
  "$@" >>"$tmp/$name.log" 2>&1 &
  last_pid=$!
  pids+=("$last_pid")
}

start_stack() {
  local pg_port billing_port control_port link_port
  pg_port=$(free_port)
  billing_port=$(free_port)
  control_port=$(free_port)
  link_port=$(free_port)
  http_port=$(free_port)
  ocpp_port=$(free_port)
  mkdir -p "$tmp/pg"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$tmp" "$tmp/pg"
  as_pg_owner "$pg_bin/initdb" -D "$tmp/pg" -U postgres -A trust >/dev/null
  as_pg_owner "$pg_bin/pg_ctl" -D "$tmp/pg" -l "$tmp/postgres.log" -w \
    -o "-p $pg_port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" \
    start >/dev/null
  pg_started=1
  psql -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE csms"
  local db="host=127.0.0.1 port=$pg_port user=postgres dbname=csms"
  start billing "$build/billing-service/csms-billing" --grpc-listen "127.0.0.1:$billing_port" \
    --database-url "$db" --log-level warn
  wait_port "$billing_port" billing
  start control "$build/control-service/csms-control" --grpc-listen "127.0.0.1:$control_port" \
    --database-url "$db" --log-level warn
  wait_port "$control_port" control
  start gateway "$build/gateway/csms-gateway" --ocpp-listen "127.0.0.1:$ocpp_port" \
    --http-listen "127.0.0.1:$http_port" --grpc-listen "127.0.0.1:$link_port" \
    --control-address "127.0.0.1:$control_port" --billing-address "127.0.0.1:$billing_port"
  gateway_pid=$last_pid
  wait_port "$ocpp_port" gateway
  wait_port "$http_port" gateway
  url="ws://127.0.0.1:$ocpp_port/ocpp"
}

run_loadgen() {  # run_loadgen <flags...>
  echo "+ csms-loadgen $*" >&2
  "$loadgen" --url "$url" --seconds "$measured" "$@" || status=1
}

status=0
if [[ "$scenario" == trivial ]]; then
  ocpp_port=$(free_port)
  start trivial "$build/bench/csms-bench-trivial" "$ocpp_port"
  wait_port "$ocpp_port" trivial
  url="ws://127.0.0.1:$ocpp_port/ocpp"
  run_loadgen --mode heartbeat --connections 1000 --server-pid "$last_pid"
else
  start_stack
  case "$scenario" in
    heartbeat-1k)
      run_loadgen --mode heartbeat --connections 1000 --server-pid "$gateway_pid"
      ;;
    latency-5k)
      run_loadgen --mode heartbeat --connections 1000 --rate 5000 --id-prefix hb_ \
        --server-pid "$gateway_pid"
      run_loadgen --mode transactions --connections 1000 --rate "${TX_RATE:-500}" \
        --id-prefix tx_ --server-pid "$gateway_pid"
      ;;
    transactions)
      run_loadgen --mode transactions --connections 200 --server-pid "$gateway_pid"
      ;;
    storm-10k)
      run_loadgen --mode storm --connections 10000 --source-ips 4 --setup-timeout 60 \
        --server-pid "$gateway_pid"
      ;;
    idle-10k)
      run_loadgen --mode idle --connections 10000 --source-ips 4 --setup-timeout 60 \
        --server-pid "$gateway_pid"
      ;;
  esac
fi
if [[ $status -ne 0 ]]; then
  for f in "$tmp"/*.log; do
    [[ -e "$f" ]] || continue
    echo "--- last lines of $(basename "$f")" >&2
    tail -5 "$f" >&2
  done
fi
exit $status
