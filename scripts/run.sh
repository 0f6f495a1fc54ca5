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

# API keys (issue #6): one operate, one read and the gateway's service token, minted once into
# .data/auth/ (0600; the tokens are kept only so this demo can print them again). The services
# get the keys file, which holds salted hashes only.
auth="$data/auth"
if [[ ! -s "$auth/api-keys" ]]; then
  mkdir -p "$auth"
  (
    umask 077
    : >"$auth/api-keys.new"
    for entry in gateway:service operator:operate viewer:read; do
      out=$(tools/mint-api-key.sh "${entry%%:*}" "${entry#*:}")
      printf '%s\n' "$out" | sed -n 1p >"$auth/${entry%%:*}.token"
      printf '%s\n' "$out" | sed -n 2p >>"$auth/api-keys.new"
    done
    mv "$auth/api-keys.new" "$auth/api-keys"
  )
  echo "created API keys in .data/auth/"
fi
export CSMS_API_KEYS_FILE="$auth/api-keys"
operate_token=$(cat "$auth/operator.token")
read_token=$(cat "$auth/viewer.token")

start billing build/billing-service/csms-billing
wait_port 50052 billing
start control build/control-service/csms-control
wait_port 50051 control
start gateway build/gateway/csms-gateway --outbox-dir "$data/outbox" --trace-dir "$logs/ocpp" \
  --service-token-file "$auth/gateway.token"
wait_port 9000 gateway
wait_port 8080 gateway

# Charger provisioning (issue #6, OCPP security profile 1): the standard-dialect demo chargers
# use HTTP Basic auth with a random password made once into .data/auth/chargers/ (0600; the
# database holds only a salted hash); emart_jeju_01 stands for the seed's C# simulator, which
# sends no credentials, so it is provisioned with profile 0. Created once; 409 on later runs.
provision() {  # provision <charger_id> <profile>
  local body code
  if [[ $2 == 1 ]]; then
    body="{\"charger_id\":\"$1\",\"security_profile\":1,\"approved\":true,\"password\":\"$(cat "$auth/chargers/$1.password")\"}"
  else
    body="{\"charger_id\":\"$1\",\"security_profile\":0,\"approved\":true}"
  fi
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST http://localhost:8080/chargers \
    -H "Authorization: Bearer $operate_token" -H "Content-Type: application/json" -d @- <<<"$body")
  [[ $code == 201 || $code == 409 ]] || echo "could not provision charger $1 (HTTP $code)" >&2
}
mkdir -p "$auth/chargers"
for id in emart_jeju_02 emart_jeju_03 emart_shinjeju_01; do
  [[ -s "$auth/chargers/$id.password" ]] ||
    (umask 077 && openssl rand -hex 12 >"$auth/chargers/$id.password")
done
provision emart_jeju_01 0
for id in emart_jeju_02 emart_jeju_03 emart_shinjeju_01; do provision "$id" 1; done

sim=build/tools/charger-sim/csms-charger-sim
start_sim() {  # start_sim <id> <dialect>: the password goes by environment, not argv (ps)
  local password=""
  [[ -s "$auth/chargers/$1.password" ]] && password=$(cat "$auth/chargers/$1.password")
  CSMS_SIM_PASSWORD="$password" start "$1" "$sim" --id "$1" --dialect "$2" --energy-speedup 10
}
start_sim emart_jeju_01 seed
start_sim emart_jeju_02 standard
start_sim emart_jeju_03 standard
start_sim emart_shinjeju_01 standard

# Demo stations at the stores' coordinates (WGS 84): the seed's chargers are at emart Jeju
# (station id emart_jeju_main, as in the seed's SQL), in Tapdong, Jeju City; a fourth demo
# charger is at emart Shin-Jeju in Nohyeong-dong. Created once, updated on later runs.
put_station() {  # put_station <station_id> <json body>
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST http://localhost:8080/stations \
    -H "Authorization: Bearer $operate_token" -H "Content-Type: application/json" -d "$2")
  if [[ $code == 409 ]]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "http://localhost:8080/stations/$1" \
      -H "Authorization: Bearer $operate_token" -H "Content-Type: application/json" -d "$2")
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
  curl -s -H "Authorization: Bearer $read_token" http://localhost:8080/chargers/emart_jeju_01 |
    grep -q '"connected":true' && break
  sleep 0.2
done

cat <<INFO

CSMS is running.
  dashboard        http://localhost:8080/#token=${read_token}
                   (live map, read-only token; set CSMS_MAP_TILE_URL for tiles)
  API tokens       operate: ${operate_token}
                   read:    ${read_token}
                   (hashed in .data/auth/api-keys; the tokens themselves in .data/auth/*.token)
  OCPP WebSocket   ws://localhost:9000/ocpp/{station id}   (subprotocol ocpp2.0.1)
  REST API         http://localhost:8080                   (GET /chargers, /stations, /healthz)
  control gRPC     localhost:50051    billing gRPC  localhost:50052    ChargerLink localhost:50053
  PostgreSQL       ${DATABASE_URL}
  demo chargers    emart_jeju_01 (seed dialect), emart_jeju_02, emart_jeju_03 (standard) at
                   station emart_jeju_main; emart_shinjeju_01 at station emart_shinjeju
                   (the standard ones use HTTP Basic auth, passwords in .data/auth/chargers/;
                   --station-auth is open: unknown chargers may connect, see docs/security.md)
  logs             .data/logs/*.log, every OCPP frame per charger in .data/logs/ocpp/
  stop             scripts/run.sh stop

Try:
  curl -X POST http://localhost:8080/chargers/emart_jeju_01/start \\
    -H "Authorization: Bearer ${operate_token}" \\
    -H "Content-Type: application/json" -d '{"id_token":"user_123","evse_id":1,"connector_id":1}'
  curl -H "Authorization: Bearer ${read_token}" http://localhost:8080/chargers/emart_jeju_01
  CSMS_API_TOKEN=\$(cat .data/auth/viewer.token) tools/grpc_call.py localhost:50051 \\
    call csms.control.v1.ControlService/ListChargers
INFO
