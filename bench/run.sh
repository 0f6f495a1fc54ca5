#!/usr/bin/env bash
# Runs one benchmark scenario against a private stack and stops everything afterwards.
#
#   bench/run.sh <scenario>
#
# Scenarios: trivial, heartbeat-1k, latency-5k, transactions, storm-10k, storm-10k-dm (the storm
# with the device model fetch on: every new charger is sent GetBaseReport and answers with its
# report), idle-10k, idle-50k,
# idle-100k, remote-start, and over TLS (wss://, OCPP security profile 2 without the password):
# trivial-tls, heartbeat-tls-1k, storm-tls-2k, idle-tls-10k, and storm-auth (a storm of
# provisioned profile 1 chargers, twice: cold and warm password cache), and token-import (TOKENS,
# default 1,000,000, generated CSV streamed by curl into POST /tokens:import; prints the time and
# the peak RSS of the gateway and control), and report-10k-vars (1,000 chargers' heartbeats alone
# and while one charger sends a 10,000-variable report; HB_RATE), and authorize-2k (TOKENS imported,
# then AUTH_RATE Authorize/s from 1,000 stations, each for a random stored token) (see README.md). A private PostgreSQL
# (fsync on) in a temp dir, billing, control and the gateway(s) start on free ports (the TLS
# scenarios add the gateway's wss:// listener with certificates from tools/make-pki.sh in the temp
# dir); csms-loadgen runs the scenario and prints its JSON result on stdout (summary on stderr). idle-50k and idle-100k run 3 and 6 gateway processes
# with one load generator each (a process may hold at most 20,000 open files here) and print one
# JSON line per load generator plus a {"mode":"idle-total",...} line that sums them.
# Environment: BUILD (default build-bench; must hold csms-gateway, csms-control, csms-billing,
# csms-loadgen, csms-bench-trivial), SECONDS_MEASURED (default 10), KEEP=1 keeps the temp dir,
# CONNECT_RATE (idle scenarios: new connections/s per load generator), TX_RATE (latency-5k),
# CONNECTIONS (idle-10k, idle-tls-10k) and STORM_CONNECTIONS (storm-tls-2k, storm-10k,
# storm-10k-dm) for smaller smoke runs; storm-10k-dm: DM_FETCH (the fetch cap, default 50),
# DM_FETCH_DELAY_MS (default control's, 2000), REPORT_VARIABLES (200), REPORT_ITEMS_PER_PART (50),
# REPORT_TIMEOUT (900 s),
# LOADGEN (another csms-loadgen, e.g. to load two builds with the same one), PIN_SUT and PIN_LOAD.
# serve and serve-peer start a stack (this CSMS, or the Node peer of PEER_DIR, default
# ../shared/bench, with a PostgreSQL of its own), print one JSON line with its URL and process
# ids, and keep it up until SIGTERM: bench/one-core-tx.py drives other load generators at them.
# PG_STAT_STATEMENTS=1 loads pg_stat_statements into the private PostgreSQL.
# MAX_EVSE_POWER_KW sets billing's --max-evse-power-kw (one-core-tx.py: 0, see there).
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
  trivial | heartbeat-1k | latency-5k | transactions | storm-10k | storm-10k-dm | idle-10k | \
    idle-50k | idle-100k | remote-start | trivial-tls | heartbeat-tls-1k | storm-tls-2k | \
    idle-tls-10k | storm-auth | token-import | report-10k-vars | authorize-2k | serve | \
    serve-peer) ;;
  *)
    echo "usage: bench/run.sh trivial|heartbeat-1k|latency-5k|transactions|storm-10k|" \
      "storm-10k-dm|idle-10k|" \
      "idle-50k|idle-100k|remote-start|trivial-tls|heartbeat-tls-1k|storm-tls-2k|idle-tls-10k|" \
      "storm-auth|token-import|report-10k-vars|authorize-2k|serve|serve-peer" >&2
    exit 2
    ;;
esac
tls=0
[[ "$scenario" == *-tls* ]] && tls=1
# storm-10k-dm: the device model fetch on, at control's default cap unless DM_FETCH says.
[[ "$scenario" == storm-10k-dm ]] && DM_FETCH=${DM_FETCH:-50}

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

# A private PostgreSQL (fsync and synchronous_commit on, as in production) with the database
# csms; sets $db (its URL), $pg_port and $pg_pid (the postmaster).
start_pg() {
  pg_port=$(free_port)
  mkdir -p "$tmp/pg"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$tmp" "$tmp/pg"
  as_pg_owner "$pg_bin/initdb" -D "$tmp/pg" -U postgres -A trust >/dev/null
  as_pg_owner "${sut_pin[@]}" "$pg_bin/pg_ctl" -D "$tmp/pg" -l "$tmp/postgres.log" -w \
    -o "-p $pg_port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200 \
      ${PG_STAT_STATEMENTS:+-c shared_preload_libraries=pg_stat_statements}" \
    start >/dev/null
  pg_started=1
  psql -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE csms"
  if [[ -n "${PG_STAT_STATEMENTS:-}" ]]; then
    psql -h 127.0.0.1 -p "$pg_port" -U postgres -d csms -qc "CREATE EXTENSION pg_stat_statements"
  fi
  db="host=127.0.0.1 port=$pg_port user=postgres dbname=csms"
  pg_pid=$(head -1 "$tmp/pg/postmaster.pid")
}

start_stack() {  # start_stack [gateways]
  local gateways=${1:-1}
  local billing_port control_port link_port
  start_pg
  billing_port=$(free_port)
  control_port=$(free_port)
  # MAX_EVSE_POWER_KW: billing's --max-evse-power-kw (unset: its default, 500).
  local billing_flags=()
  [[ -n "${MAX_EVSE_POWER_KW:-}" ]] && billing_flags+=(--max-evse-power-kw "$MAX_EVSE_POWER_KW")
  start billing "$build/billing-service/csms-billing" --grpc-listen "127.0.0.1:$billing_port" \
    --metrics-listen "127.0.0.1:$(free_port)" --database-url "$db" --log-level warn \
    "${billing_flags[@]}"
  billing_pid=$last_pid
  wait_port "$billing_port" billing
  # DM_FETCH (default 0): device model fetches after boots at once; the load generator answers
  # GetBaseReport only with --answer-reports, so the scenarios that are not about it leave it off.
  local dm_flags=(--device-model-fetch-concurrency "${DM_FETCH:-0}")
  [[ -n "${DM_FETCH_DELAY_MS:-}" ]] && dm_flags+=(--device-model-fetch-delay-ms "$DM_FETCH_DELAY_MS")
  start control "$build/control-service/csms-control" --grpc-listen "127.0.0.1:$control_port" \
    --metrics-listen "127.0.0.1:$(free_port)" --database-url "$db" --log-level warn \
    "${dm_flags[@]}"
  control_pid=$last_pid
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

# token-import: TOKENS (default 1,000,000) generated CSV lines streamed by curl (chunked, from a
# pipe: neither side holds the file) into POST /tokens:import; one JSON line with the time, the
# answer's counts and the peak RSS (VmHWM) of the gateway and control.
token_import() {
  local n=${TOKENS:-1000000} t0 t1 answer
  cpu_snapshot >"$tmp/cpu0"
  t0=$(date +%s.%N)
  python3 -c '
import sys
n = int(sys.argv[1])
w = sys.stdout.write
w("id_token,type,status,account_id,max_concurrent,stations\n")
for s in range(0, n, 10000):
    w("".join("BENCH%08d,ISO14443,Accepted,acct-%d,1,%s\n" % (i, i % 50000, "S1;S2" if i % 10 == 0 else "")
              for i in range(s, min(n, s + 10000))))
' "$n" | curl -sS --max-time 3600 -X POST -T - -H "Content-Type: text/csv" \
    "$rest_url/tokens:import" >"$tmp/import.json"
  t1=$(date +%s.%N)
  cpu_snapshot >"$tmp/cpu1"
  answer=$(cat "$tmp/import.json")
  python3 - "$n" "$t0" "$t1" "$answer" "$gateway_pid" "$control_pid" <<'PY'
import json, sys
n, t0, t1, answer, gw, ctl = sys.argv[1:7]
def hwm(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
a = json.loads(answer)
s = float(t1) - float(t0)
print(json.dumps({"mode": "token-import", "tokens": int(n), "seconds": round(s, 2),
                  "tokens_per_s": round(int(n) / s), "stored": a.get("stored"),
                  "failed": a.get("failed"), "gateway_peak_rss_kib": hwm(gw),
                  "control_peak_rss_kib": hwm(ctl)}))
PY
  cpu_line token-import "$tmp/cpu0" "$tmp/cpu1" "$(echo "$t1 - $t0" | bc)"
}

# report-10k-vars: what a big NotifyReport costs everyone else. 1,000 chargers send HB_RATE
# (default 2,000) heartbeats/s, open loop, twice: alone, then while one simulator sends
# 10,000-variable reports in 100-item parts, back to back through the measured window (each asked
# for by REST when the one before is complete). Prints both load generator results and a
# {"mode":"report-10k-vars"} line: the two windows' rate and latency, and the reports stored.
report_10k_vars() {
  local rate=${HB_RATE:-2000} sim_id=big_report t0 t1
  run_loadgen --mode heartbeat --connections 1000 --rate "$rate" --id-prefix quiet_ \
    --server-pid "$gateway_pid" >"$tmp/quiet.json"
  start sim "$build/tools/charger-sim/csms-charger-sim" --url "$url" --id "$sim_id" \
    --dialect standard --extra-variables 10000 --report-items-per-part 100 --log-level warn
  for _ in $(seq 1 100); do
    curl -sf "$rest_url/chargers/$sim_id" | grep -q '"connected":true' && break
    sleep 0.1
  done
  # Reports back to back through the measured window (after the load generator's 2 s warmup):
  # one is asked for as soon as the one before is complete.
  (
    sleep 2
    deadline=$(($(date +%s) + measured))
    while (($(date +%s) < deadline)); do
      curl -sf -o /dev/null -X POST "$rest_url/chargers/$sim_id/reports" \
        -H "Content-Type: application/json" -d '{"report_base":"FullInventory"}' || break
      for _ in $(seq 1 600); do
        [[ $(psql "$db" -XAtqc "SELECT count(*) FROM device_model_reports WHERE charger_id =
          '$sim_id' AND status <> 'Complete'") == 0 ]] && break
        sleep 0.05
      done
    done
  ) &
  local requests_pid=$!
  run_loadgen --mode heartbeat --connections 1000 --rate "$rate" --id-prefix busy_ \
    --server-pid "$gateway_pid" >"$tmp/busy.json"
  wait "$requests_pid"
  cat "$tmp/quiet.json" "$tmp/busy.json"
  python3 - "$tmp/quiet.json" "$tmp/busy.json" \
    "$(psql "$db" -XAtqc "SELECT count(*) FILTER (WHERE status = 'Complete'), sum(parts_received),
      sum(items_received), round(avg(extract(epoch FROM completed_at - requested_at))::numeric, 2)
      FROM device_model_reports WHERE charger_id = '$sim_id'")" <<'PY'
import json, sys
quiet, busy = (json.load(open(p)) for p in sys.argv[1:3])
complete, parts, items, seconds = (sys.argv[3].split("|") + ["", "", "", ""])[:4]
def window(r):
    return {"msg_per_s": r["msg_per_s"], "p50_ms": r["latency_ms"]["p50"],
            "p99_ms": r["latency_ms"]["p99"], "errors": r["errors"]}
out = {"mode": "report-10k-vars", "heartbeats": window(quiet), "heartbeats_during_report":
       window(busy), "reports": {"complete": int(complete or 0), "parts": int(parts or 0),
       "items": int(items or 0), "seconds_each": float(seconds) if seconds else None}}
print(json.dumps(out))
print(f"report-10k-vars: heartbeats alone {out['heartbeats']}, during the report "
      f"{out['heartbeats_during_report']}; reports {out['reports']}", file=sys.stderr)
PY
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

# CPU ticks (utime + stime + reaped children's) of the stack's processes, one "name ticks" line
# each: control, billing, the gateways and PostgreSQL (the postmaster and every child it has now;
# backends that ended are in the postmaster's children's ticks).
cpu_snapshot() {
  ticks() {  # 0 for a process that has gone
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    sed 's/^.*) //' <<<"$stat" | awk '{print $12 + $13 + $14 + $15}'
  }
  echo "control $(ticks "$control_pid")"
  echo "billing $(ticks "$billing_pid")"
  local g t pg=0 pm child
  for g in "${gateway_pids[@]}"; do echo "gateway $(ticks "$g")"; done
  pm=$(head -1 "$tmp/pg/postmaster.pid")
  for child in "$pm" $(ps -o pid= --ppid "$pm" || true); do
    t=$(ticks "$child")
    pg=$((pg + ${t:-0}))
  done
  echo "postgres $pg"
}

# cpu_line <label> <before file> <after file> <wall seconds>: a {"mode":"stack-cpu"} JSON line
# with each process's CPU seconds between the snapshots.
cpu_line() {
  python3 - "$@" "$(getconf CLK_TCK)" <<'PY'
import json, sys
label, before, after, wall, hz = sys.argv[1:]
def read(path):
    out = {}
    for line in open(path):
        name, ticks = line.split()
        out[name] = out.get(name, 0) + int(ticks or 0)
    return out
b, a = read(before), read(after)
cpu = {k: round((a[k] - b.get(k, 0)) / int(hz), 2) for k in a}
print(json.dumps({"mode": "stack-cpu", "scenario": label, "wall_s": round(float(wall), 2),
                  "cpu_s": cpu, "cpu_s_total": round(sum(cpu.values()), 2)}))
print(f"stack-cpu ({label}): " + ", ".join(f"{k} {v} s" for k, v in cpu.items())
      + f" of CPU in {float(wall):.2f} s", file=sys.stderr)
PY
}

run_loadgen() {  # run_loadgen <flags...>
  local tls_flags=()
  [[ $tls -eq 1 ]] && tls_flags=(--ca-file "$pki/ca.pem")
  echo "+ csms-loadgen --url $url $*" >&2
  "${load_pin[@]}" "$loadgen" --url "$url" --seconds "$measured" "${tls_flags[@]}" "$@" ||
    status=1
}

# storm-10k-dm: the storm of new chargers with control fetching each one's device model
# (GetBaseReport, at most DM_FETCH at once) and the load generator answering with its report.
# Runs until every charger has booted and every report is complete (or REPORT_TIMEOUT), while
# sampling control's fetch table every 150 ms; then prints the load generator's JSON, a
# {"mode":"storm-dm"} line (boots, reports stored, peak running fetches) and a stack-cpu line.
storm_dm() {
  local n=${STORM_CONNECTIONS:-10000} sampler t0 t1
  cat >"$tmp/sample.sql" <<'SQL'
SELECT round(extract(epoch FROM clock_timestamp())::numeric, 3),
  count(*) FILTER (WHERE state = 'running'), count(*) FILTER (WHERE state = 'queued'),
  count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE state = 'failed')
FROM device_model_fetches
\watch 0.15
SQL
  cpu_snapshot >"$tmp/cpu0"
  t0=$(date +%s.%N)
  psql "$db" -XAtq -F ' ' -f "$tmp/sample.sql" >"$tmp/fetch-samples.txt" 2>"$tmp/sampler.log" &
  sampler=$!
  pids+=("$sampler")
  run_loadgen --mode storm --connections "$n" --source-ips 4 --setup-timeout 60 \
    --answer-reports --report-variables "${REPORT_VARIABLES:-200}" \
    --report-items-per-part "${REPORT_ITEMS_PER_PART:-50}" \
    --report-timeout "${REPORT_TIMEOUT:-900}" --server-pid "$gateway_pid" >"$tmp/storm.json"
  cat "$tmp/storm.json"
  # The last part's CALLRESULT follows its commit, which ended the fetch; wait a little in case.
  for _ in $(seq 1 100); do
    [[ $(psql "$db" -XAtqc "SELECT count(*) FROM device_model_fetches
      WHERE state IN ('queued', 'running')") == 0 ]] && break
    sleep 0.2
  done
  t1=$(date +%s.%N)
  cpu_snapshot >"$tmp/cpu1"
  kill -TERM "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  psql "$db" -XAtq -F ' ' >"$tmp/db.txt" <<'SQL'
SELECT 'reports', count(*), count(*) FILTER (WHERE status = 'Complete'),
  coalesce(round(extract(epoch FROM min(requested_at))::numeric, 3), 0),
  coalesce(round(extract(epoch FROM max(completed_at))::numeric, 3), 0),
  coalesce(sum(parts_received), 0), coalesce(sum(items_received), 0)
FROM device_model_reports;
SELECT 'fetches', count(*), count(*) FILTER (WHERE state = 'done'),
  count(*) FILTER (WHERE state = 'failed'), count(*) FILTER (WHERE state IN ('queued', 'running')),
  coalesce(max(attempts), 0), count(*) FILTER (WHERE last_outcome <> 'complete')
FROM device_model_fetches;
SELECT 'variables', count(*) FROM device_variables;
SELECT 'attributes', count(*) FROM device_variable_attributes;
SQL
  python3 - "$tmp/storm.json" "$tmp/fetch-samples.txt" "$tmp/db.txt" "$t0" "$n" \
    "$DM_FETCH" "${DM_FETCH_DELAY_MS:-2000}" <<'PY' || status=1
import json, sys
storm_path, samples_path, db_path, t0, n, cap, delay = sys.argv[1:]
t0, n, cap = float(t0), int(n), int(cap)
storm = {}
for line in open(storm_path):
    if line.startswith("{"):
        storm = json.loads(line)
samples = []
for line in open(samples_path):
    f = line.split()
    if len(f) == 5:
        samples.append([float(f[0])] + [int(x) for x in f[1:]])
db = {}
for line in open(db_path):
    f = line.split()
    if f:
        db[f[0]] = [float(x) for x in f[1:]]
rep, fet = db.get("reports", [0] * 6), db.get("fetches", [0] * 6)
gaps = sorted(b[0] - a[0] for a, b in zip(samples, samples[1:]))
busy = [s[1] for s in samples if s[2] > 0]  # running while fetches were still queued
out = {
    "mode": "storm-dm",
    "chargers": n,
    "fetch_cap": cap,
    "fetch_delay_ms": int(delay),
    "booted": storm.get("ready"),
    "all_booted_s": storm.get("setup_seconds"),
    "reports_complete": int(rep[1]),
    "reports": int(rep[0]),
    "first_fetch_s": round(rep[2] - t0, 2) if rep[2] else None,
    "all_reports_stored_s": round(rep[3] - t0, 2) if rep[3] else None,
    "reports_per_s": round(rep[1] / (rep[3] - rep[2]), 1) if rep[3] > rep[2] else None,
    "parts_stored": int(rep[4]),
    "items_stored": int(rep[5]),
    "variables_stored": int(db.get("variables", [0])[0]),
    "attributes_stored": int(db.get("attributes", [0])[0]),
    "fetches": {"total": int(fet[0]), "done": int(fet[1]), "failed": int(fet[2]),
                "unfinished": int(fet[3]), "max_attempts": int(fet[4]),
                "not_complete_outcome": int(fet[5])},
    "peak_running_fetches": max((s[1] for s in samples), default=0),
    "mean_running_while_queued": round(sum(busy) / len(busy), 1) if busy else None,
    "samples": len(samples),
    "sample_gap_ms": {"p50": round(gaps[len(gaps) // 2] * 1000) if gaps else None,
                      "max": round(gaps[-1] * 1000) if gaps else None},
    "loadgen_reports": storm.get("reports"),
}
print(json.dumps(out))
print(f"storm-dm: {out['booted']} of {n} booted in {out['all_booted_s']} s; "
      f"{out['reports_complete']} of {out['reports']} reports complete, all stored at "
      f"{out['all_reports_stored_s']} s ({out['reports_per_s']} reports/s from the first fetch at "
      f"{out['first_fetch_s']} s); peak running fetches {out['peak_running_fetches']} "
      f"(cap {cap}, {len(samples)} samples, gap p50 {out['sample_gap_ms']['p50']} ms); "
      f"{out['variables_stored']} variables stored", file=sys.stderr)
ok = (out["reports_complete"] == n and out["fetches"]["done"] == n
      and out["peak_running_fetches"] <= cap)
sys.exit(0 if ok else 1)
PY
  cpu_line storm-10k-dm "$tmp/cpu0" "$tmp/cpu1" "$(echo "$t1 - $t0" | bc)"
}

status=0
[[ $tls -eq 1 ]] && make_pki
# serve / serve-peer: the stack's description on stdout, then up until SIGTERM or SIGINT.
serve_until_stopped() {  # serve_until_stopped <json>
  echo "$1"
  # The sleeper must not outlive the stack, nor hold the caller's stdout pipe open.
  sleep infinity >/dev/null &
  local sleeper=$!
  trap "kill $sleeper 2>/dev/null; exit 0" TERM INT
  wait $sleeper
}

# The Node peer (ocpp-rpc strict + pg): copied out of the read-only PEER_DIR once per build
# directory, its packages installed there from the lock file.
start_node_peer() {
  local peer_dir="${PEER_DIR:-$root/../shared/bench}" dest="$build/bench/peer"
  if [[ ! -d "$dest/node-peer/node_modules" ]]; then
    mkdir -p "$dest"
    cp -r "$peer_dir/node-peer" "$peer_dir/schema.sql" "$dest/"
    chmod -R u+w "$dest"
    npm ci --silent --no-audit --no-fund --prefix "$dest/node-peer" >&2
  fi
  start_pg
  local port
  port=$(free_port)
  DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/csms" \
    start node-peer node "$dest/node-peer/server.mjs" --port "$port"
  wait_port "$port" node-peer
  url="ws://127.0.0.1:$port"
  peer_pid=$last_pid
}

if [[ "$scenario" == serve-peer ]]; then
  start_node_peer
  serve_until_stopped "{\"url\":\"$url\",\"server_pids\":[$peer_pid],\"pg_pid\":$pg_pid,\"db\":\"$db\"}"
elif [[ "$scenario" == serve ]]; then
  start_stack
  serve_until_stopped "{\"url\":\"$url\",\"server_pids\":[$gateway_pid,$control_pid,$billing_pid],\"names\":[\"gateway\",\"control\",\"billing\"],\"pg_pid\":$pg_pid,\"db\":\"$db\"}"
elif [[ "$scenario" == trivial ]]; then
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
      cpu_snapshot >"$tmp/cpu0"
      t0=$(date +%s.%N)
      run_loadgen --mode storm --connections "${STORM_CONNECTIONS:-10000}" --source-ips 4 \
        --setup-timeout 60 --server-pid "$gateway_pid"
      t1=$(date +%s.%N)
      cpu_snapshot >"$tmp/cpu1"
      cpu_line storm-10k "$tmp/cpu0" "$tmp/cpu1" "$(echo "$t1 - $t0" | bc)"
      ;;
    storm-10k-dm)
      storm_dm
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
    token-import)
      token_import
      ;;
    report-10k-vars)
      report_10k_vars
      ;;
    authorize-2k)
      # TOKENS (1,000,000) imported, then 1,000 stations send AUTH_RATE (2,000) Authorize/s,
      # open loop, each for a random one of them.
      token_import
      run_loadgen --mode heartbeat --connections 1000 --rate "${AUTH_RATE:-2000}" \
        --authorize-range "${TOKENS:-1000000}" --server-pid "$gateway_pid"
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
