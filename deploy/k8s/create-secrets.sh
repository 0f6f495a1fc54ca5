#!/usr/bin/env bash
# Makes the contents of the CSMS Secrets as files, for a kustomize overlay's secretGenerator
# (overlays/example/kustomization.yaml), so that no secret value is ever committed:
#
#   deploy/k8s/create-secrets.sh [OVERLAY_DIR]      (default: deploy/k8s/overlays/example)
#   kubectl apply -k OVERLAY_DIR
#
# Writes OVERLAY_DIR/secrets/ (mode 0700, files 0600, with a .gitignore that ignores it all) and
# keeps every file that already exists, so running it again only fills gaps and renews:
#   api-keys                  API keys file, salted hashes only          -> Secret csms-api-keys
#   gateway.token             the gateway's key, role service            -> Secret csms-gateway-token
#   control.token             control's key, role service (ChargerLink)  -> Secret csms-control-token
#   operator.token            operate and read tokens for people: NOT deployed. Hand them out
#   viewer.token              (a password manager), then delete them here.
#   pki/                      tools/make-pki.sh: server-rsa.*, server-ecdsa.* -> Secrets
#                             csms-ocpp-tls-rsa / -ecdsa; charger-ca.pem -> csms-ocpp-charger-ca;
#                             ca.pem, the root chargers must trust for wss://; and the CAs'
#                             private keys (ca.key, charger-ca.key): keep pki/ safe and off any
#                             repository, it is needed to renew and to issue charger certificates
#   database.env postgres.env DATABASE_URL and the example PostgreSQL's POSTGRES_*, with a random
#                             password                                    -> csms-database, csms-postgres
#
# Server certificates live CSMS_PKI_SERVER_DAYS (90) days and are renewed by running this again
# once they expire within CSMS_PKI_RENEW_DAYS (30); `kubectl apply -k` then rolls the gateways.
# In production prefer cert-manager for them (docs/deploy.md): the gateway reloads updated files.
#
# Environment:
#   CSMS_OCPP_SERVER_NAMES  the names chargers use for wss://, comma-separated, e.g.
#                           "DNS:ocpp.example.com" (added to the server certificates' SANs; a
#                           change reissues them)
#   CSMS_NAMESPACE          namespace of the deployment, for the in-cluster names (default csms)
#   CSMS_PKI_ORG            subject O of the certificates (default "CSMS Demo CPO"); set
#                           CSMS_OCPP_TLS_CLIENT_ORG in the gateway's ConfigMap to it to require
#                           it of charger certificates
#   DATABASE_URL            an external PostgreSQL to use instead of the example's
#   CSMS_MINT_API_KEY       how keys are minted, e.g. "csms-gateway --mint-api-key" (default:
#                           tools/mint-api-key.sh when xxd is installed, else a csms-gateway binary)
# Needs bash, openssl and the repository's tools/.
set -euo pipefail
umask 077
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
overlay=${1:-$here/overlays/example}
[[ -f "$overlay/kustomization.yaml" ]] || { echo "create-secrets: $overlay has no kustomization.yaml" >&2; exit 2; }
out="$overlay/secrets"
namespace=${CSMS_NAMESPACE:-csms}
# Minting: $CSMS_MINT_API_KEY, else tools/mint-api-key.sh (needs xxd), else a csms-gateway binary.
if [[ -n "${CSMS_MINT_API_KEY:-}" ]]; then
  read -ra mint_cmd <<<"$CSMS_MINT_API_KEY"
elif command -v xxd >/dev/null; then
  mint_cmd=("$root/tools/mint-api-key.sh")
elif command -v csms-gateway >/dev/null; then
  mint_cmd=(csms-gateway --mint-api-key)
elif [[ -x "$root/build/gateway/csms-gateway" ]]; then
  mint_cmd=("$root/build/gateway/csms-gateway" --mint-api-key)
else
  echo "create-secrets: cannot mint API keys: install xxd (tools/mint-api-key.sh needs it) or set CSMS_MINT_API_KEY" >&2
  exit 1
fi
export CSMS_PKI_SERVER_DAYS=${CSMS_PKI_SERVER_DAYS:-90}
renew_days=${CSMS_PKI_RENEW_DAYS:-30}

say() { echo "create-secrets: $*" >&2; }
die() {
  say "$*"
  exit 1
}
command -v openssl >/dev/null || die "openssl not found"
put() {  # put PATH: stdin to PATH through a temporary file and a rename
  cat >"$1.new"
  chmod 0600 "$1.new"
  mv -f "$1.new" "$1"
}

mkdir -p "$out"
chmod 0700 "$out"
[[ -f "$out/.gitignore" ]] || printf '# Secret values made by deploy/k8s/create-secrets.sh: never commit them.\n*\n' >"$out/.gitignore"

# --- API keys -----------------------------------------------------------------------------------
# The keys file and the four tokens are made together; a missing token gets a new key under the
# same id (its old line is dropped), so keys added by hand are kept.
# shellcheck disable=SC2016  # literal text, nothing to expand
[[ -f "$out/api-keys" ]] ||
  printf '# API keys: <key id> <role> sha256$<salt>$<hash> (docs/security.md). Add one with\n# tools/mint-api-key.sh <id> <role> (line 2) and `kubectl apply -k` (the pods restart).\n' |
  put "$out/api-keys"
for entry in "gateway service" "control service" "operator operate" "viewer read"; do
  read -r id role <<<"$entry"
  if [[ -s "$out/$id.token" ]] && awk -v id="$id" '$1 == id {found = 1} END {exit !found}' "$out/api-keys"; then
    continue
  fi
  minted=$("${mint_cmd[@]}" "$id" "$role") || die "minting the $role key failed (${mint_cmd[*]})"
  token=$(sed -n 1p <<<"$minted")
  line=$(sed -n 2p <<<"$minted")
  [[ "$token" =~ ^csms_[0-9a-f]{64}$ && "$line" == "$id $role sha256\$"* ]] || die "unexpected output from ${mint_cmd[*]}"
  { awk -v id="$id" '$1 != id' "$out/api-keys"; printf '%s\n' "$line"; } | put "$out/api-keys"
  printf '%s\n' "$token" | put "$out/$id.token"
  say "minted the $role key '$id' ($out/$id.token)"
done

# --- OCPP TLS PKI ---------------------------------------------------------------------------------
names="DNS:csms-gateway,DNS:csms-gateway.$namespace.svc,DNS:csms-gateway.$namespace.svc.cluster.local"
names+=${CSMS_OCPP_SERVER_NAMES:+,$CSMS_OCPP_SERVER_NAMES}
pki="$out/pki"
mkdir -p "$pki"
if [[ -f "$pki/server-names" && "$(cat "$pki/server-names")" != "$names" ]]; then
  say "server names changed: reissuing the server certificates"
  rm -f "$pki/server-rsa.pem" "$pki/server-ecdsa.pem"
fi
for kind in rsa ecdsa; do
  if [[ -f "$pki/server-$kind.pem" ]] &&
    ! openssl x509 -in "$pki/server-$kind.pem" -noout -checkend $((renew_days * 86400)) >/dev/null; then
    say "server-$kind.pem expires within $renew_days days: renewing"
    rm -f "$pki/server-$kind.pem"
  fi
done
CSMS_PKI_SERVER_NAMES=$names bash "$root/tools/make-pki.sh" "$pki" >&2 || die "tools/make-pki.sh failed"
printf '%s\n' "$names" | put "$pki/server-names"

# --- database (the example's PostgreSQL, or DATABASE_URL) --------------------------------------
if [[ ! -s "$out/postgres.env" ]]; then
  printf 'POSTGRES_USER=csms\nPOSTGRES_PASSWORD=%s\nPOSTGRES_DB=csms\n' "$(openssl rand -hex 24)" | put "$out/postgres.env"
fi
if [[ ! -s "$out/database.env" ]]; then
  if [[ -n "${DATABASE_URL:-}" ]]; then
    url=$DATABASE_URL
  else
    password=$(sed -n 's/^POSTGRES_PASSWORD=//p' "$out/postgres.env")
    url="postgresql://csms:$password@csms-postgres:5432/csms"
  fi
  printf 'DATABASE_URL=%s\n' "$url" | put "$out/database.env"
fi

say "ready: $out (server certificates for $names, valid until" \
  "$(openssl x509 -in "$pki/server-ecdsa.pem" -noout -enddate | cut -d= -f2))"
say "operate and read tokens: $out/operator.token, $out/viewer.token (not deployed; hand them out)"
say "chargers must trust $pki/ca.pem for wss://; next: kubectl apply -k $overlay"
