#!/usr/bin/env bash
# Validates the deployment files offline (no Docker engine, no Kubernetes API server):
#   Dockerfile + .dockerignore   structure, stages, non-root user, health checks, build context
#   runtime libraries            the runtime stage's packages cover every library the built
#                                binaries link (ldd + dpkg -S + apt-cache), when build/ has them
#   docker-compose.yml           `docker-compose config -q`, plain, with --profile demo and with
#                                each override of deploy/docker (gRPC TLS, insecure open mode),
#                                the stack's invariants, security included
#                                (tests/deploy/validate-compose.js), and a self-test that broken
#                                copies are caught (tests/deploy/selftest-compose.js)
#   deploy/k8s                   no secret in the committed files (validate-k8s.js --sources);
#                                `kubectl kustomize` of the base and of the example overlay, the
#                                latter in a copy whose Secrets' files deploy/k8s/create-secrets.sh
#                                made; every object checked with kubernetes-models plus unknown
#                                fields and invariants, security included
#                                (tests/deploy/validate-k8s.js), and a self-test that broken
#                                copies are caught (tests/deploy/selftest-k8s.js)
# Needs docker-compose (Debian, installed with --no-install-recommends), kubectl, node, npm and
# openssl (plus xxd, or a built csms-gateway, for create-secrets.sh to mint keys).
# Exits non-zero when any check fails. hadolint is not available, so it is not run.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -a summary=()
failed=0
record() {  # record <status> <step> [detail]
  summary+=("$(printf '%-5s %-22s %s' "$1" "$2" "${3:-}")")
  [[ "$1" == FAIL ]] && failed=1
  return 0
}
step() {  # step <name> <command...>: runs it, keeps its output in $work/<name>.log
  local name=$1
  shift
  if "$@" >"$work/$name.log" 2>&1; then
    local last
    last=$(tail -n 1 "$work/$name.log")
    record OK "$name" "${last:-$*}"
  else
    echo "---- $name failed: $*"
    cat "$work/$name.log"
    record FAIL "$name" "$(grep -m1 -E 'FAIL|ERROR|rror' "$work/$name.log" || tail -n 1 "$work/$name.log")"
  fi
}

# --- tools ------------------------------------------------------------------------------------
missing=()
for tool in docker-compose kubectl node npm openssl; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "validate-deploy: missing ${missing[*]}" >&2
  echo "  docker-compose: apt-get install -y --no-install-recommends docker-compose" >&2
  echo "  kubectl: not in Debian 12 (its kubernetes-client 1.20 is too old for kustomize v5)" >&2
  exit 1
fi

if [[ ! -d tests/deploy/node_modules ]]; then
  npm ci --prefix tests/deploy --no-audit --no-fund --silent || {
    echo "validate-deploy: npm ci in tests/deploy failed" >&2
    exit 1
  }
fi

# --- Dockerfile -------------------------------------------------------------------------------
step dockerfile node tests/deploy/validate-dockerfile.js Dockerfile .dockerignore

# --- runtime libraries of the image -----------------------------------------------------------
runtime_libs() {
  local build_dir=${CSMS_BUILD_DIR:-build}
  local bins=("$build_dir/gateway/csms-gateway" "$build_dir/control-service/csms-control"
    "$build_dir/billing-service/csms-billing" "$build_dir/tools/charger-sim/csms-charger-sim")
  local b
  for b in "${bins[@]}"; do
    [[ -x "$b" ]] || { echo "SKIP: $b not built"; return 2; }
  done
  # The package list between the runtime-packages markers of the Dockerfile.
  local pkgs
  pkgs=$(sed -n '/runtime-packages-begin/,/runtime-packages-end/p' Dockerfile |
    grep -oE '\b(lib[a-z0-9.+-]+|ca-certificates)\b' | sort -u | tr '\n' ' ')
  [[ -n "$pkgs" ]] || { echo "FAIL: no runtime package list between the markers in Dockerfile"; return 1; }
  # shellcheck disable=SC2086
  apt-cache show $pkgs >/dev/null 2>&1 || { echo "SKIP: apt lists lack some of: $pkgs (run apt-get update)"; return 2; }
  # shellcheck disable=SC2086
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances $pkgs 2>/dev/null | grep -v '^ ' | sed 's/:.*//' | sort -u >"$work/closure"
  local lib pkg bad=0 count=0
  while read -r lib; do
    pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -n 1 | cut -d: -f1)
    [[ -n "$pkg" ]] || pkg=$(dpkg -S "$lib" 2>/dev/null | head -n 1 | cut -d: -f1)
    count=$((count + 1))
    if [[ -z "$pkg" ]]; then
      echo "FAIL: $lib belongs to no Debian package"
      bad=1
    elif ! grep -qx "$pkg" "$work/closure"; then
      echo "FAIL: $lib is in $pkg, which the runtime stage does not install ($pkgs)"
      bad=1
    fi
  done < <(ldd "${bins[@]}" | awk '$3 ~ /^\// {print $3}' | sort -u)
  ((bad)) && return 1
  echo "$count libraries, all provided by: $pkgs"
}
runtime_libs >"$work/runtime-libs.log" 2>&1
case $? in
  0) record OK runtime-libs "$(tail -n 1 "$work/runtime-libs.log")" ;;
  2) record SKIP runtime-libs "$(tail -n 1 "$work/runtime-libs.log")" ;;
  *) cat "$work/runtime-libs.log"; record FAIL runtime-libs "$(grep -m1 FAIL "$work/runtime-libs.log")" ;;
esac

# --- docker-compose ---------------------------------------------------------------------------
# A clean environment and no .env file, so the file's own defaults are what gets checked.
: >"$work/empty.env"
compose() {
  env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
    docker-compose --env-file "$work/empty.env" -f docker-compose.yml "$@"
}
step compose-config compose config -q
step compose-config-demo compose --profile demo config -q
# The opt-in overrides: each resolved with the demo profile and checked in its mode.
declare -A override=([secure]="" [grpc-tls]=deploy/docker/compose.grpc-tls.yml [open]=deploy/docker/compose.insecure-open.yml)
resolved_ok=1
for mode in secure grpc-tls open; do
  files=()
  [[ -n "${override[$mode]}" ]] && files=(-f "${override[$mode]}")
  if compose "${files[@]}" --profile demo config >"$work/compose-$mode.yaml" 2>"$work/compose-$mode.err"; then
    step "compose-$mode" node tests/deploy/validate-compose.js --mode "$mode" docker-compose.yml "$work/compose-$mode.yaml" Dockerfile
  else
    cat "$work/compose-$mode.err"
    record FAIL "compose-$mode" "docker-compose config ${files[*]} failed"
    resolved_ok=0
  fi
done
if ((resolved_ok)); then
  step compose-selftest node tests/deploy/selftest-compose.js docker-compose.yml "$work/compose-secure.yaml" \
    "$work/compose-grpc-tls.yaml" "$work/compose-open.yaml" Dockerfile
fi

# --- Kubernetes -------------------------------------------------------------------------------
kustomize() {  # kustomize <dir> <out>
  kubectl kustomize "$1" >"$2" && echo "$(grep -c '^kind:' "$2") objects from $1"
}
step k8s-sources node tests/deploy/validate-k8s.js --sources deploy/k8s
step kustomize-base kustomize deploy/k8s/base "$work/base.yaml"
# The example overlay reads its Secrets from files that deploy/k8s/create-secrets.sh makes (and
# that are never committed): render a copy with fresh ones, which also tests the script.
example_copy() {
  mkdir -p "$work/k8s" && cp -R deploy/k8s/. "$work/k8s/" && rm -rf "$work/k8s/overlays/example/secrets" &&
    deploy/k8s/create-secrets.sh "$work/k8s/overlays/example" 2>&1 | grep 'ready:'
}
step create-secrets example_copy
step kustomize-example kustomize "$work/k8s/overlays/example" "$work/rendered.yaml"
if [[ -s "$work/base.yaml" ]]; then
  step k8s-base node tests/deploy/validate-k8s.js "$work/base.yaml"
fi
if [[ -s "$work/rendered.yaml" ]]; then
  step k8s-example node tests/deploy/validate-k8s.js --overlay "$work/rendered.yaml"
  step k8s-selftest node tests/deploy/selftest-k8s.js "$work/rendered.yaml" --sources deploy/k8s
fi

record SKIP hadolint "not available (not in Debian 12 or npm)"

echo "validate-deploy:"
printf '  %s\n' "${summary[@]}"
if ((failed)); then
  echo "validate-deploy: FAILED"
  exit 1
fi
echo "validate-deploy: all deployment files valid"
