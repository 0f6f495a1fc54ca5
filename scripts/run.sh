#!/usr/bin/env bash
# Quick start: installs what is missing, builds, starts a private PostgreSQL in .data/ (or uses
# $DATABASE_URL), the three services and three demo chargers, then prints where everything is.
# Everything keeps running in the background; `scripts/run.sh stop` stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
data="$root/.data"
logs="$data/logs"
pids="$data/pids"
pg_port="${CSMS_PG_PORT:-55432}"
pg_bin="/usr/lib/postgresql/15/bin"

as_pg_owner() {  # initdb and postgres refuse to run as root
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop_all() {
  if [[ -d "$pids" ]]; then
    for f in "$pids"/*.pid; do
      [[ -e "$f" ]] || continue
      pid=$(cat "$f")
      kill -TERM "$pid" 2>/dev/null && echo "stopped $(basename "$f" .pid) ($pid)" || true
      rm -f "$f"
    done
  fi
  if [[ -f "$data/pg/data/postmaster.pid" ]]; then
    as_pg_owner "$pg_bin/pg_ctl" -D "$data/pg/data" -m fast stop >/dev/null && echo "stopped PostgreSQL"
  fi
}

if [[ "${1:-}" == "stop" ]]; then
  stop_all
  exit 0
fi

./scripts/build.sh
stop_all 2>/dev/null || true
mkdir -p "$logs" "$pids"

if [[ -z "${DATABASE_URL:-}" ]]; then
  if [[ ! -f "$data/pg/data/PG_VERSION" ]]; then
    mkdir -p "$data/pg"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$data/pg"
    as_pg_owner "$pg_bin/initdb" -D "$data/pg/data" -U postgres -A trust >/dev/null
    echo "created a PostgreSQL cluster in .data/pg"
  fi
  as_pg_owner "$pg_bin/pg_ctl" -D "$data/pg/data" -l "$data/pg/postgres.log" -w \
    -o "-p $pg_port -k $data/pg -c listen_addresses=127.0.0.1" start >/dev/null
  psql -h 127.0.0.1 -p "$pg_port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='csms'" |
    grep -q 1 || psql -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE csms"
  export DATABASE_URL="host=127.0.0.1 port=$pg_port user=postgres dbname=csms"
fi

start() {  # start <name> <binary> [flags...]
  local name=$1
  shift
  "$@" >>"$logs/$name.log" 2>&1 &
  echo $! >"$pids/$name.pid"
}

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$2 did not open port $1; see $logs/$2.log" >&2
  exit 1
}

start billing build/billing-service/csms-billing
wait_port 50052 billing
start control build/control-service/csms-control
wait_port 50051 control
start gateway build/gateway/csms-gateway --outbox-dir "$data/outbox" --trace-dir "$logs/ocpp"
wait_port 9000 gateway
wait_port 8080 gateway

sim=build/tools/charger-sim/csms-charger-sim
start emart_jeju_01 "$sim" --id emart_jeju_01 --dialect seed --energy-speedup 10
start emart_jeju_02 "$sim" --id emart_jeju_02 --dialect standard --energy-speedup 10
start emart_jeju_03 "$sim" --id emart_jeju_03 --dialect standard --energy-speedup 10
start emart_shinjeju_01 "$sim" --id emart_shinjeju_01 --dialect standard --energy-speedup 10

# Demo stations at the stores' coordinates (WGS 84): the seed's chargers are at emart Jeju
# (station id emart_jeju_main, as in the seed's SQL), in Tapdong, Jeju City; a fourth demo
# charger is at emart Shin-Jeju in Nohyeong-dong. Created once, updated on later runs.
put_station() {  # put_station <station_id> <json body>
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST http://localhost:8080/stations \
    -H "Content-Type: application/json" -d "$2")
  if [[ $code == 409 ]]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "http://localhost:8080/stations/$1" \
      -H "Content-Type: application/json" -d "$2")
  fi
  [[ $code == 200 || $code == 201 ]] || echo "could not create station $1 (HTTP $code)" >&2
}
put_station emart_jeju_main '{"station_id":"emart_jeju_main","name":"emart Jeju",
  "address":"38 Tapdong-ro, Jeju-si, Jeju-do","latitude":33.5153,"longitude":126.5225,
  "charger_ids":["emart_jeju_01","emart_jeju_02","emart_jeju_03"]}'
put_station emart_shinjeju '{"station_id":"emart_shinjeju","name":"emart Shin-Jeju",
  "address":"Nohyeong-dong, Jeju-si, Jeju-do","latitude":33.4846,"longitude":126.4811,
  "charger_ids":["emart_shinjeju_01"]}'

for _ in $(seq 1 50); do
  curl -s http://localhost:8080/chargers/emart_jeju_01 | grep -q '"connected":true' && break
  sleep 0.2
done

cat <<INFO

CSMS is running.
  dashboard        http://localhost:8080/                  (live map; set CSMS_MAP_TILE_URL for tiles)
  OCPP WebSocket   ws://localhost:9000/ocpp/{station id}   (subprotocol ocpp2.0.1)
  REST API         http://localhost:8080                   (GET /chargers, /stations, /healthz)
  control gRPC     localhost:50051    billing gRPC  localhost:50052    ChargerLink localhost:50053
  PostgreSQL       ${DATABASE_URL}
  demo chargers    emart_jeju_01 (seed dialect), emart_jeju_02, emart_jeju_03 (standard) at
                   station emart_jeju_main; emart_shinjeju_01 at station emart_shinjeju
  logs             .data/logs/*.log, every OCPP frame per charger in .data/logs/ocpp/
  stop             scripts/run.sh stop

Try:
  curl -X POST http://localhost:8080/chargers/emart_jeju_01/start \\
    -H "Content-Type: application/json" -d '{"id_token":"user_123","evse_id":1,"connector_id":1}'
  curl http://localhost:8080/chargers/emart_jeju_01
INFO
