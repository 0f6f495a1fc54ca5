#!/usr/bin/env bash
# Quick start: installs what is missing, builds, starts a private PostgreSQL in .data/ (or uses
# $DATABASE_URL), the three services and five demo chargers (one per OCPP security profile, over
# ws:// and wss://), then prints where everything is.
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

# API keys (issue #6): one operate, one read, one admin (webhooks), and service tokens for the
# gateway (its calls to control and billing) and for control (its ChargerLink calls to the
# gateway), minted once into .data/auth/ (0600; the tokens are kept only so this demo can print them again). The services
# get the keys file, which holds salted hashes only. A key missing from an older .data/ is added.
auth="$data/auth"
mkdir -p "$auth"
[[ -s "$auth/api-keys" ]] || rm -f "$auth"/*.token  # tokens without their hashes are useless
for entry in gateway:service control:service operator:operate viewer:read admin:admin; do
  [[ -s "$auth/${entry%%:*}.token" ]] && continue
  (
    umask 077
    out=$(tools/mint-api-key.sh "${entry%%:*}" "${entry#*:}")
    printf '%s\n' "$out" | sed -n 1p >"$auth/${entry%%:*}.token"
    printf '%s\n' "$out" | sed -n 2p >>"$auth/api-keys"
  )
  echo "created API key ${entry%%:*} (${entry#*:}) in .data/auth/"
done
export CSMS_API_KEYS_FILE="$auth/api-keys"
operate_token=$(cat "$auth/operator.token")
read_token=$(cat "$auth/viewer.token")

# TLS for OCPP security profiles 2 and 3 (wss:// on port 9443): a demo CA in .data/pki/ that the
# chargers trust, RSA and ECDSA server certificates for localhost, and a client certificate for
# the profile 3 charger. make-pki.sh keeps what is valid and renews the short-lived server
# certificates, which the gateway reloads by itself.
pki="$data/pki"
tools/make-pki.sh "$pki" emart_jeju_04 >/dev/null

start billing build/billing-service/csms-billing
wait_port 50052 billing
start control build/control-service/csms-control --service-token-file "$auth/control.token"
wait_port 50051 control
# --station-auth required: every demo charger is provisioned below, so unknown ones are refused.
start gateway build/gateway/csms-gateway --outbox-dir "$data/outbox" --trace-dir "$logs/ocpp" \
  --public-base-url "${CSMS_PUBLIC_BASE_URL:-http://localhost:8080}" \
  --service-token-file "$auth/gateway.token" --station-auth required \
  --ocpp-tls-listen 0.0.0.0:9443 \
  --ocpp-tls-cert "$pki/server-rsa.pem,$pki/server-ecdsa.pem" \
  --ocpp-tls-key "$pki/server-rsa.key,$pki/server-ecdsa.key" \
  --ocpp-tls-client-ca "$pki/charger-ca.pem"
wait_port 9000 gateway
wait_port 8080 gateway
wait_port 9443 gateway

# Charger provisioning (OCPP security profiles): one demo charger per profile.
#   emart_jeju_01      profile 0: stands for the seed's C# simulator, which sends no credentials
#   emart_jeju_02      profile 1: ws:// and HTTP Basic auth (also emart_shinjeju_01)
#   emart_jeju_03      profile 2: wss:// and HTTP Basic auth
#   emart_jeju_04      profile 3: wss:// and its client certificate (CN = station id)
# Passwords are random, made once into .data/auth/chargers/ (0600; the database holds only a
# salted hash). Created on the first run; later runs set the profile again (PUT), so a .data/
# from before TLS moves emart_jeju_03 to profile 2.
provision() {  # provision <charger_id> <profile>
  local body code password=""
  [[ $2 == 1 || $2 == 2 ]] && password=",\"password\":\"$(cat "$auth/chargers/$1.password")\""
  body="{\"charger_id\":\"$1\",\"security_profile\":$2,\"approved\":true$password}"
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST http://localhost:8080/chargers \
    -H "Authorization: Bearer $operate_token" -H "Content-Type: application/json" -d @- <<<"$body")
  if [[ $code == 409 ]]; then
    body="{\"security_profile\":$2,\"approved\":true$password}"
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "http://localhost:8080/chargers/$1/security" \
      -H "Authorization: Bearer $operate_token" -H "Content-Type: application/json" -d @- <<<"$body")
  fi
  [[ $code == 200 || $code == 201 ]] || echo "could not provision charger $1 (HTTP $code)" >&2
}
mkdir -p "$auth/chargers"
for id in emart_jeju_02 emart_jeju_03 emart_shinjeju_01; do
  [[ -s "$auth/chargers/$id.password" ]] ||
    (umask 077 && openssl rand -hex 12 >"$auth/chargers/$id.password")
done
provision emart_jeju_01 0
provision emart_jeju_02 1
provision emart_shinjeju_01 1
provision emart_jeju_03 2
provision emart_jeju_04 3

sim=build/tools/charger-sim/csms-charger-sim
wss_url="wss://localhost:9443/ocpp"
start_sim() {  # start_sim <id> <dialect> [flags...]: the password by file, never argv; the
  # simulator writes a password the CSMS gives it (POST /chargers/{id}/password) back there
  local id=$1 dialect=$2 password_flags=()
  shift 2
  [[ -s "$auth/chargers/$id.password" ]] &&
    password_flags=(--password-file "$auth/chargers/$id.password")
  start "$id" "$sim" --id "$id" --dialect "$dialect" --energy-speedup 10 \
    "${password_flags[@]}" "$@"
}
start_sim emart_jeju_01 seed
start_sim emart_jeju_02 standard
start_sim emart_jeju_03 standard --url "$wss_url" --ca-file "$pki/ca.pem"
start_sim emart_jeju_04 standard --url "$wss_url" --ca-file "$pki/ca.pem" \
  --client-cert "$pki/chargers/emart_jeju_04.pem" --client-key "$pki/chargers/emart_jeju_04.key"
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
  "charger_ids":["emart_jeju_01","emart_jeju_02","emart_jeju_03","emart_jeju_04"]}'
put_station emart_shinjeju '{"station_id":"emart_shinjeju","name":"emart Shin-Jeju",
  "address":"Nohyeong-dong, Jeju-si, Jeju-do","latitude":33.4846,"longitude":126.4811,
  "charger_ids":["emart_shinjeju_01"]}'

# Wait (up to 10 s) for every demo charger to be connected, and say which one is not.
demo_chargers=(emart_jeju_01 emart_jeju_02 emart_jeju_03 emart_jeju_04 emart_shinjeju_01)
for _ in $(seq 1 50); do
  offline=()
  for id in "${demo_chargers[@]}"; do
    curl -s -H "Authorization: Bearer $read_token" "http://localhost:8080/chargers/$id" |
      grep -q '"connected":true' || offline+=("$id")
  done
  ((${#offline[@]} == 0)) && break
  sleep 0.2
done
for id in "${offline[@]}"; do
  echo "demo charger $id is not connected yet; see $logs/$id.log and $logs/gateway.log" >&2
done

cat <<INFO

CSMS is running.
  dashboard        http://localhost:8080/#token=${read_token}
                   (live map, read-only token; set CSMS_MAP_TILE_URL for tiles)
  API tokens       operate: ${operate_token}
                   read:    ${read_token}
                   (hashed in .data/auth/api-keys; the tokens themselves in .data/auth/*.token)
  OCPP WebSocket   ws://localhost:9000/ocpp/{station id}   (subprotocol ocpp2.0.1; profiles 0, 1)
  OCPP over TLS    ${wss_url}/{station id}  (profiles 2, 3; CA .data/pki/ca.pem,
                   RSA and ECDSA server certificates for localhost and 127.0.0.1)
  REST API         http://localhost:8080                   (GET /chargers, /stations, /healthz)
  control gRPC     localhost:50051    billing gRPC  localhost:50052    ChargerLink localhost:50053
  PostgreSQL       ${DATABASE_URL}
  demo chargers    at station emart_jeju_main, one per OCPP security profile:
                     emart_jeju_01  profile 0, seed dialect, no credentials
                     emart_jeju_02  profile 1, ws://  + HTTP Basic auth
                     emart_jeju_03  profile 2, wss:// + HTTP Basic auth
                     emart_jeju_04  profile 3, wss:// + client certificate (.data/pki/chargers/)
                   and emart_shinjeju_01 (profile 1) at station emart_shinjeju; passwords in
                   .data/auth/chargers/. --station-auth required: only provisioned chargers
                   connect (POST /chargers, see docs/security.md)
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
