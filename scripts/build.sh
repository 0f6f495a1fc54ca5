#!/usr/bin/env bash
# Configures and builds everything (Release, Ninja, ccache when present) into ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
"./scripts/install-deps.sh"
# The dashboard is bundled by esbuild from dashboard/node_modules during the CMake build; npm ci
# again when the lockfile is newer than what it installed (a pull that changed dependencies).
if [[ ! -x dashboard/node_modules/.bin/esbuild ||
      dashboard/package-lock.json -nt dashboard/node_modules/.package-lock.json ]]; then
  npm ci --prefix dashboard --no-audit --no-fund --silent
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" >/dev/null
cmake --build build -j"${CSMS_BUILD_JOBS:-$(nproc)}"
