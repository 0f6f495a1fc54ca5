#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, starts a throwaway PostgreSQL
# (pg_virtualenv -t) and runs every test against it. Logs of the end-to-end runs land in
# build/test-output/.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
./scripts/build.sh
# The independent schema-validating charger used by the end-to-end tests.
if [[ ! -d tests/e2e/schema_client/node_modules ]]; then
  npm ci --prefix tests/e2e/schema_client --no-audit --no-fund --silent
fi
# playwright-core, which drives Debian's chromium in the dashboard's browser test.
if [[ ! -d tests/browser/node_modules/playwright-core ]]; then
  npm ci --prefix tests/browser --no-audit --no-fund --silent
fi
built=$(date +%s)
echo "build: $((built - start)) s"
./scripts/validate-deploy.sh  # Dockerfile, docker-compose.yml, deploy/k8s, offline (docs/deploy.md)
cd build
# CSMS_REQUIRE_PG=1: a database test must fail, not skip, when PostgreSQL is missing.
CSMS_REQUIRE_PG=1 pg_virtualenv -t -o fsync=off \
  ctest --output-on-failure -j"${CSMS_TEST_JOBS:-2}" "$@"
echo "tests: $(($(date +%s) - built)) s"
CSMS_FUZZ_SECONDS=${CSMS_FUZZ_SECONDS:-20} ../scripts/fuzz.sh  # libFuzzer targets, see fuzz/README.md
