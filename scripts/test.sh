#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, starts a throwaway PostgreSQL
# (pg_virtualenv -t) and runs every test against it. Logs of the end-to-end runs land in
# build/test-output/.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
./scripts/build.sh
built=$(date +%s)
echo "build: $((built - start)) s"
cd build
# CSMS_REQUIRE_PG=1: a database test must fail, not skip, when PostgreSQL is missing.
CSMS_REQUIRE_PG=1 pg_virtualenv -t -o fsync=off \
  ctest --output-on-failure -j"${CSMS_TEST_JOBS:-2}" "$@"
echo "tests: $(($(date +%s) - built)) s"
