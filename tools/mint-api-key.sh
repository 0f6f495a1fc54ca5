#!/bin/sh
# Mints an API token and prints it with its --api-keys-file line (the same format as
# `csms-gateway --mint-api-key <id> <role>`), using only openssl:
#   tools/mint-api-key.sh <key id> <read|operate|admin|service>
# Line 1: the token (give it to its user; it is not stored anywhere).
# Line 2: "<key id> <role> sha256$<salt hex>$<SHA-256(salt || token) hex>" for the keys file.
set -eu
if [ $# -ne 2 ] || ! printf '%s' "$1" | grep -Eq '^[A-Za-z0-9._-]{1,64}$'; then
  echo "usage: $0 <key id> <read|operate|admin|service>" >&2
  exit 2
fi
case "$2" in read|operate|admin|service) ;; *) echo "role must be read, operate, admin or service" >&2; exit 2 ;; esac
token="csms_$(openssl rand -hex 32)"
salt="$(openssl rand -hex 16)"
# SHA-256 over the raw salt bytes followed by the token.
hash="$( { printf '%s' "$salt" | xxd -r -p; printf '%s' "$token"; } | openssl dgst -sha256 -r | cut -d' ' -f1)"
printf '%s\n%s %s sha256$%s$%s\n' "$token" "$1" "$2" "$salt" "$hash"
