#!/usr/bin/env bash
# Installs every Debian package the build, the run and the tests need, when missing.
# Safe to run repeatedly: it does nothing when everything is present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache git
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libboost-dev libssl-dev nlohmann-json3-dev libpqxx-dev libpq-dev libabsl-dev
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev
  postgresql postgresql-common postgresql-client
  python3 python3-grpcio python3-protobuf
  curl ca-certificates openssl procps xxd
  docker-compose
  chromium
)

# Node.js runs the schema-validating test charger (ocpp-rpc) and bundles the dashboard (esbuild);
# any recent node will do. chromium (above) is the headless browser of tests/browser.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
