#!/usr/bin/env bash
# Runs one benchmark scenario against a private stack and stops everything afterwards.
#
#   bench/run.sh <scenario>
#
# Scenarios: trivial, heartbeat-1k, latency-5k, transactions, storm-10k, idle-10k, idle-50k,
# idle-100k, remote-start, and over TLS (wss://, OCPP security profile 2 without the password):
# trivial-tls, heartbeat-tls-1k, storm-tls-2k, idle-tls-10k, and storm-auth (a storm of
# provisioned profile 1 chargers, twice: cold and warm password cache) (see README.md). A private PostgreSQL
# (fsync on) in a temp dir, billing, control and the gateway(s) start on free ports (the TLS
# scenarios add the gateway's wss:// listener with certificates from tools/make-pki.sh in the temp
# dir); csms-loadgen runs the scenario and prints its JSON result on stdout (summary on stderr). idle-50k and idle-100k run 3 and 6 gateway processes
# with one load generator each (a process may hold at most 20,000 open files here) and print one
# JSON line per load generator plus a {"mode":"idle-total",...} line that sums them.
# Environment: BUILD (default build-bench; must hold csms-gateway, csms-control, csms-billing,
# csms-loadgen, csms-bench-trivial), SECONDS_MEASURED (default 10), KEEP=1 keeps the temp dir,
# CONNECT_RATE (idle scenarios: new connections/s per load generator), TX_RATE (latency-5k),
# CONNECTIONS (idle-10k, idle-tls-10k) and STORM_CONNECTIONS (storm-tls-2k) for smaller smoke runs,
# LOADGEN (another csms-loadgen, e.g. to load two builds with the same one), PIN_SUT and PIN_LOAD.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build="${BUILD:-build-bench}"
[[ "$build" = /* ]] || build="$root/$build"
scenario="${1:-}"
measured="${SECONDS_MEASURED:-10}"
pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
loadgen="${LOADGEN:-$build/bench/csms-loadgen}"
# PIN_SUT / PIN_LOAD (CPU lists for taskset): the system under test (PostgreSQL and every
# service) on one core and the load generator on another, so figures are not two loads fighting
# for the same cores. Unset: no pinning (and figures are labelled as shared).
sut_pin=()
load_pin=()
[[ -n "${PIN_SUT:-}" ]] && sut_pin=(taskset -c "$PIN_SUT")
[[ -n "${PIN_LOAD:-}" ]] && load_pin=(taskset -c "$PIN_LOAD")

case "$scenario" in
  trivial | heartbeat-1k | latency-5k | transactions | storm-10k | idle-10k | idle-50k | \
    idle-100k | remote-start | trivial-tls | heartbeat-tls-1k | storm-tls-2k | idle-tls-10k | \
    storm-auth) ;;
  *)
    echo "usage: bench/run.sh trivial|heartbeat-1k|latency-5k|transactions|storm-10k|idle-10k|" \
      "idle-50k|idle-100k|remote-start|trivial-tls|heartbeat-tls-1k|storm-tls-2k|idle-tls-10k|" \
      "storm-auth" >&2
    exit 2
    ;;
esac
tls=0
[[ "$scenario" == *-tls* ]] && tls=1

# The private stack runs without API keys: the benchmarks measure OCPP, and the remote-start
# scenario's REST calls carry no token.
export CSMS_API_AUTH=off
unset CSMS_API_KEYS_FILE
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

# The TLS scenarios' certificates: server RSA and ECDSA for localhost, chained to $pki/ca.pem.
make_pki() {
  pki="$tmp/pki"
  "$root/tools/make-pki.sh" "$pki" >/dev/null
}

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
  "${sut_pin[@]}" "$@" >>"$tmp/$name.log" 2>&1 &
  last_pid=$!
  pids+=("$last_pid")
}

start_stack() {  # start_stack [gateways]
  local gateways=${1:-1}
  local pg_port billing_port control_port link_port
  pg_port=$(free_port)
  billing_port=$(free_port)
  control_port=$(free_port)
  mkdir -p "$tmp/pg"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$tmp" "$tmp/pg"
  as_pg_owner "$pg_bin/initdb" -D "$tmp/pg" -U postgres -A trust >/dev/null
  as_pg_owner "${sut_pin[@]}" "$pg_bin/pg_ctl" -D "$tmp/pg" -l "$tmp/postgres.log" -w \
    -o "-p $pg_port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" \
    start >/dev/null
  pg_started=1
  psql -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE csms"
  db="host=127.0.0.1 port=$pg_port user=postgres dbname=csms"
  start billing "$build/billing-service/csms-billing" --grpc-listen "127.0.0.1:$billing_port" \
    --metrics-listen "127.0.0.1:$(free_port)" --database-url "$db" --log-level warn
  wait_port "$billing_port" billing
  # DM_FETCH (default 0): device model fetches after boots at once; the load generator's
  # chargers do not answer GetBaseReport, so the scenarios that are not about it leave it off.
  start control "$build/control-service/csms-control" --grpc-listen "127.0.0.1:$control_port" \
    --metrics-listen "127.0.0.1:$(free_port)" --database-url "$db" --log-level warn \
    --device-model-fetch-concurrency "${DM_FETCH:-0}"
  wait_port "$control_port" control
  # GATEWAY_WRAPPER, e.g. "heaptrack -o /tmp/gw", runs the gateway under a profiler.
  gateway_pids=()
  urls=()
  for ((g = 0; g < gateways; g++)); do
    link_port=$(free_port)
    http_port=$(free_port)
    ocpp_port=$(free_port)
    # The load generator's stations are not provisioned: they need --station-auth open.
    local tls_flags=()
    if [[ $tls -eq 1 ]]; then
      tls_port=$(free_port)
      # As scripts/run.sh runs it: both key types, and charger certificates asked for (profile 3
      # chargers share the port), though the load generator sends none.
      tls_flags=(--ocpp-tls-listen "127.0.0.1:$tls_port"
        --ocpp-tls-cert "$pki/server-rsa.pem,$pki/server-ecdsa.pem"
        --ocpp-tls-key "$pki/server-rsa.key,$pki/server-ecdsa.key"
        --ocpp-tls-client-ca "$pki/charger-ca.pem")
    fi
    # GATEWAY_WRAPPER, e.g. "heaptrack -o /tmp/gw", runs the gateway under a profiler.
    start "gateway$g" ${GATEWAY_WRAPPER:-} "$build/gateway/csms-gateway" \
      --ocpp-listen "127.0.0.1:$ocpp_port" --http-listen "127.0.0.1:$http_port" \
      --grpc-listen "127.0.0.1:$link_port" --control-address "127.0.0.1:$control_port" \
      --billing-address "127.0.0.1:$billing_port" --max-connections 100000 \
      --station-auth open "${tls_flags[@]}"
    gateway_pids+=("$last_pid")
    wait_port "$ocpp_port" "gateway$g"
    wait_port "$http_port" "gateway$g"
    if [[ $tls -eq 1 ]]; then
      wait_port "$tls_port" "gateway$g"
      # localhost, not 127.0.0.1: the load generator sends SNI and checks the DNS name, as a
      # charger does.
      urls+=("wss://localhost:$tls_port/ocpp")
    else
      urls+=("ws://127.0.0.1:$ocpp_port/ocpp")
    fi
  done
  # The first gateway's addresses, for the single-gateway scenarios.
  gateway_pid=${gateway_pids[0]}
  url=${urls[0]}
  rest_url="http://127.0.0.1:$http_port"
  [[ $gateways -eq 1 ]] || rest_url=""
}

# idle_many <total connections> <gateways>: one load generator per gateway, all at once.
idle_many() {
  local total=$1 gateways=$2
  start_stack "$gateways"
  local per=$((total / gateways)) outs=() lg_pids=()
  for ((g = 0; g < gateways; g++)); do
    echo "+ csms-loadgen --url ${urls[$g]} --mode idle --connections $per --id-prefix g${g}_" >&2
    "$loadgen" --url "${urls[$g]}" --seconds "$measured" --mode idle --connections "$per" \
      --id-prefix "g${g}_" --source-ips 8 --setup-timeout 240 \
      --connect-rate "${CONNECT_RATE:-1000}" --server-pid "${gateway_pids[$g]}" \
      >"$tmp/loadgen$g.json" 2>"$tmp/loadgen$g.err" &
    lg_pids+=($!)
    outs+=("$tmp/loadgen$g.json")
  done
  for pid in "${lg_pids[@]}"; do wait "$pid" || status=1; done
  cat "$tmp"/loadgen*.err >&2
  cat "${outs[@]}"
  python3 - "${outs[@]}" <<'PY'
import json, sys
runs = [json.load(open(p)) for p in sys.argv[1:]]
before = sum(r["rss"][0]["before_kib"] for r in runs)
end = sum(r["rss"][0]["end_kib"] for r in runs)
ready = sum(r["ready"] for r in runs)
total = {"mode": "idle-total", "gateways": len(runs), "connections": sum(r["connections"] for r in runs),
         "ready": ready, "errors": sum(r["errors"] for r in runs),
         "boot_pending": sum(r["boot_pending"] for r in runs),
         "setup_seconds_max": max(r["setup_seconds"] for r in runs),
         "gateway_rss_before_kib": before, "gateway_rss_end_kib": end,
         "per_connection_kib": round((end - before) / ready, 2) if ready else None}
print(json.dumps(total))
print(f"idle-total: {ready} of {total['connections']} connections held by {len(runs)} gateways, "
      f"errors {total['errors']}, gateway RSS {end} KiB in all, "
      f"{total['per_connection_kib']} KiB/conn", file=sys.stderr)
PY
}

run_loadgen() {  # run_loadgen <flags...>
  local tls_flags=()
  [[ $tls -eq 1 ]] && tls_flags=(--ca-file "$pki/ca.pem")
  echo "+ csms-loadgen --url $url $*" >&2
  "${load_pin[@]}" "$loadgen" --url "$url" --seconds "$measured" "${tls_flags[@]}" "$@" ||
    status=1
}

status=0
[[ $tls -eq 1 ]] && make_pki
if [[ "$scenario" == trivial ]]; then
  ocpp_port=$(free_port)
  start trivial "$build/bench/csms-bench-trivial" "$ocpp_port"
  wait_port "$ocpp_port" trivial
  url="ws://127.0.0.1:$ocpp_port/ocpp"
  run_loadgen --mode heartbeat --connections 1000 --server-pid "$last_pid"
elif [[ "$scenario" == trivial-tls ]]; then
  ocpp_port=$(free_port)
  start trivial "$build/bench/csms-bench-trivial" "$ocpp_port" 1 \
    "$pki/server-rsa.pem,$pki/server-ecdsa.pem" "$pki/server-rsa.key,$pki/server-ecdsa.key"
  wait_port "$ocpp_port" trivial
  url="wss://localhost:$ocpp_port/ocpp"
  run_loadgen --mode heartbeat --connections 1000 --server-pid "$last_pid"
elif [[ "$scenario" == idle-50k ]]; then
  idle_many 50000 3
elif [[ "$scenario" == idle-100k ]]; then
  idle_many 100000 6
else
  if [[ "$scenario" == storm-tls-2k ]]; then start_stack 2; else start_stack; fi
  case "$scenario" in
    heartbeat-1k)
      run_loadgen --mode heartbeat --connections 1000 --server-pid "$gateway_pid"
      ;;
    latency-5k)
      run_loadgen --mode heartbeat --connections 1000 --rate 5000 --id-prefix hb_ \
        --server-pid "$gateway_pid"
      run_loadgen --mode transactions --connections 1000 --rate "${TX_RATE:-5000}" \
        --id-prefix tx_ --server-pid "$gateway_pid"
      ;;
    transactions)
      run_loadgen --mode transactions --connections "${TX_CONNECTIONS:-200}" --server-pid "$gateway_pid"
      ;;
    storm-10k)
      run_loadgen --mode storm --connections 10000 --source-ips 4 --setup-timeout 60 \
        --server-pid "$gateway_pid"
      ;;
    storm-auth)
      # Provisioned profile 1 chargers sharing one password: one POST hashes it (PBKDF2), the
      # rest copy that hash. The first storm checks every password with PBKDF2 (control's cache
      # is cold), the second meets the cache. 600: what a cold cache checks (~90/s on 2 cores)
      # before the gateway's 8 s handshake window sheds the rest with 503 + Retry-After.
      n=${STORM_CONNECTIONS:-600}
      export CSMS_LOADGEN_PASSWORD="Bench-storm-pass:$RANDOM$RANDOM"
      curl -sf -o /dev/null -X POST "$rest_url/chargers" -H "Content-Type: application/json" \
        -d "{\"charger_id\":\"auth_0\",\"security_profile\":1,\"password\":\"$CSMS_LOADGEN_PASSWORD\"}"
      psql "$db" -qc "INSERT INTO charger_credentials (charger_id, security_profile,
        password_hash, approved) SELECT 'auth_' || g, 1, (SELECT password_hash FROM
        charger_credentials WHERE charger_id = 'auth_0'), true FROM generate_series(1, $n - 1) g"
      for pass in cold warm; do
        echo "storm-auth: $pass password cache" >&2
        run_loadgen --mode storm --connections "$n" --source-ips 4 --setup-timeout 120 \
          --id-prefix auth_ --server-pid "$gateway_pid"
        sleep 2
      done
      ;;
    idle-10k)
      run_loadgen --mode idle --connections "${CONNECTIONS:-10000}" --source-ips 4 \
        --setup-timeout 60 --connect-rate "${CONNECT_RATE:-2000}" --server-pid "$gateway_pid"
      ;;
    heartbeat-tls-1k)
      run_loadgen --mode heartbeat --connections 1000 --server-pid "$gateway_pid"
      ;;
    storm-tls-2k)
      # Full handshakes at once (no session resumption), once per server key type: the
      # signature algorithms the client offers pick the certificate. Each storm meets a fresh
      # gateway (see start_stack 2 above), so that its RSS figure is its own.
      run_loadgen --mode storm --connections "${STORM_CONNECTIONS:-2000}" --source-ips 4 \
        --setup-timeout 60 --id-prefix ec_ --tls-sigalgs "ECDSA+SHA256:ECDSA+SHA384" \
        --server-pid "${gateway_pids[0]}"
      sleep 2
      url=${urls[1]}
      run_loadgen --mode storm --connections "${STORM_CONNECTIONS:-2000}" --source-ips 4 \
        --setup-timeout 60 --id-prefix rsa_ --tls-sigalgs "RSA-PSS+SHA256:RSA+SHA256" \
        --server-pid "${gateway_pids[1]}"
      ;;
    idle-tls-10k)
      run_loadgen --mode idle --connections "${CONNECTIONS:-10000}" --source-ips 4 \
        --setup-timeout 120 --connect-rate "${CONNECT_RATE:-1000}" --server-pid "$gateway_pid"
      ;;
    remote-start)
      # Sequential REST start/stop pairs while 1,000 chargers send 5,000 heartbeats/s.
      run_loadgen --mode heartbeat --connections 1000 --rate 5000 --rest-url "$rest_url" \
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
