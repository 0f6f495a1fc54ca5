#!/usr/bin/env bash
# A small test and demo PKI for the gateway's TLS listener (OCPP security profiles 2 and 3).
#
#   tools/make-pki.sh DIR [STATION_ID...]
#
# Creates in DIR (keys mode 0600):
#   ca.pem ca.key                      root CA the chargers trust (CSMSRootCertificate), RSA 2048
#   server-rsa.pem server-rsa.key      server certificate, RSA 2048 (the TLS_RSA_* / ECDHE_RSA suites)
#   server-ecdsa.pem server-ecdsa.key  server certificate, EC P-256 (the ECDHE_ECDSA suites)
#   charger-ca.pem charger-ca.key      CA for charger (client) certificates, EC P-256
#   chargers/<id>.pem chargers/<id>.key  one client certificate per station, CN=<id>, EC P-256
#
# Idempotent: keys are kept; a certificate is (re)issued only when it is missing, does not match
# its key, does not chain to its CA, or expires within a day. The server certificates live a few
# days (OCPP recommends short-lived CSMS certificates), so run this again to renew them; the
# gateway picks changed files up by itself (--ocpp-tls-reload-ms).
#
# Environment:
#   CSMS_PKI_ORG           subject O of every certificate (default "CSMS Demo CPO")
#   CSMS_PKI_SERVER_NAMES  extra subjectAltNames of the server certificates, comma-separated,
#                          e.g. "DNS:gateway,DNS:csms.example.org,IP:10.0.0.5". The server
#                          certificates are not reissued when only this changes: delete them.
#   CSMS_PKI_SERVER_DAYS   validity of the server certificates in days (default 3)
#
# Not a production CA: no revocation, no intermediates, the CA keys sit next to the leaves.
set -euo pipefail
umask 077

die() {
  echo "make-pki: $*" >&2
  exit 1
}

[[ $# -ge 1 && -n "$1" ]] || die "usage: $0 DIR [STATION_ID...]"
command -v openssl >/dev/null || die "openssl not found"
DIR=$1
shift

ORG=${CSMS_PKI_ORG:-CSMS Demo CPO}
SERVER_DAYS=${CSMS_PKI_SERVER_DAYS:-3}
CA_DAYS=3650
CHARGER_DAYS=365

[[ -n "$ORG" && ${#ORG} -le 64 && "$ORG" != *[[:cntrl:]]* ]] || die "bad CSMS_PKI_ORG"
[[ "$SERVER_DAYS" =~ ^[1-9][0-9]{0,3}$ ]] || die "CSMS_PKI_SERVER_DAYS must be 1-9999"

# Station ids become subjects and file names: OCPP identifierString only (as the gateway allows
# in the URL), checked before anything is written.
for id in "$@"; do
  [[ "$id" =~ ^[A-Za-z0-9*_=:+|@.-]{1,48}$ ]] ||
    die "bad station id '$id': 1-48 characters of a-z A-Z 0-9 * - _ = : + | @ ."
  [[ "$id" != "." && "$id" != ".." ]] || die "bad station id '$id'"
done

SANS="DNS:localhost,IP:127.0.0.1"
if [[ -n "${CSMS_PKI_SERVER_NAMES:-}" ]]; then
  IFS=',' read -ra extra <<<"$CSMS_PKI_SERVER_NAMES"
  for name in "${extra[@]}"; do
    [[ "$name" =~ ^DNS:[A-Za-z0-9*.-]{1,253}$ || "$name" =~ ^IP:[0-9A-Fa-f.:]{2,45}$ ]] ||
      die "bad name '$name' in CSMS_PKI_SERVER_NAMES (DNS:<name> or IP:<address>)"
    SANS+=",$name"
  done
fi

mkdir -p "$DIR/chargers"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/make-pki.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Our own configuration, so that the system openssl.cnf adds no extensions of its own.
cat >"$WORK/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
[root_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_rsa]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $SANS
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server_ecdsa]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $SANS
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[charger]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

# -subj takes '/' and '+' as separators; a backslash makes any character literal.
subject_value() {
  local in=$1 out="" c i
  for ((i = 0; i < ${#in}; i++)); do
    c=${in:i:1}
    [[ "$c" =~ [A-Za-z0-9\ ] ]] && out+=$c || out+="\\$c"
  done
  printf '%s' "$out"
}

# Writes through a temporary file and a rename, so a reader (the gateway's reload) never sees
# half a file.
install_file() {  # TMP DEST MODE
  chmod "$3" "$1"
  mv -f "$1" "$2"
}

make_key() {  # PATH rsa|ec
  local path=$1
  [[ -s "$path" ]] && return 0
  local tmp="$WORK/key.tmp"
  case $2 in
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp" 2>"$WORK/err" ;;
    ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp" 2>"$WORK/err" ;;
  esac || die "key generation for $path failed: $(cat "$WORK/err")"
  install_file "$tmp" "$path" 0600
}

# True when CERT holds KEY's public key, chains to CA (itself for a root) and is valid for at
# least another day.
cert_ok() {  # CERT KEY CA
  local cert=$1 key=$2 ca=$3
  [[ -s "$cert" ]] || return 1
  local a b
  a=$(openssl x509 -in "$cert" -noout -pubkey 2>/dev/null) || return 1
  b=$(openssl pkey -in "$key" -pubout 2>/dev/null) || return 1
  [[ "$a" == "$b" ]] || return 1
  openssl verify -CAfile "$ca" -attime $(($(date +%s) + 86400)) "$cert" >/dev/null 2>&1
}

make_root() {  # NAME CN KEYTYPE
  local name=$1 cn=$2
  make_key "$DIR/$name.key" "$3"
  cert_ok "$DIR/$name.pem" "$DIR/$name.key" "$DIR/$name.pem" && return 0
  openssl req -new -x509 -config "$WORK/openssl.cnf" -extensions root_ca -sha256 \
    -key "$DIR/$name.key" -days "$CA_DAYS" -set_serial "0x$(openssl rand -hex 16)" \
    -subj "/O=$(subject_value "$ORG")/CN=$(subject_value "$cn")" \
    -out "$WORK/cert.tmp" 2>"$WORK/err" || die "$name.pem: $(cat "$WORK/err")"
  install_file "$WORK/cert.tmp" "$DIR/$name.pem" 0644
}

make_leaf() {  # PATH_WITHOUT_EXT KEYTYPE CA_NAME EXTENSIONS CN DAYS
  local base=$1 ca=$3
  make_key "$base.key" "$2"
  cert_ok "$base.pem" "$base.key" "$DIR/$ca.pem" && return 0
  openssl req -new -config "$WORK/openssl.cnf" -key "$base.key" \
    -subj "/O=$(subject_value "$ORG")/CN=$(subject_value "$5")" -out "$WORK/csr.tmp" \
    2>"$WORK/err" || die "$base.pem: $(cat "$WORK/err")"
  openssl x509 -req -in "$WORK/csr.tmp" -CA "$DIR/$ca.pem" -CAkey "$DIR/$ca.key" -sha256 \
    -set_serial "0x$(openssl rand -hex 16)" -days "$6" \
    -extfile "$WORK/openssl.cnf" -extensions "$4" -out "$WORK/cert.tmp" 2>"$WORK/err" ||
    die "$base.pem: $(cat "$WORK/err")"
  install_file "$WORK/cert.tmp" "$base.pem" 0644
}

make_root ca "CSMS Root CA" rsa
make_root charger-ca "CSMS Charger CA" ec
make_leaf "$DIR/server-rsa" rsa ca server_rsa localhost "$SERVER_DAYS"
make_leaf "$DIR/server-ecdsa" ec ca server_ecdsa localhost "$SERVER_DAYS"
for id in "$@"; do
  make_leaf "$DIR/chargers/$id" ec charger-ca charger "$id" "$CHARGER_DAYS"
done

echo "make-pki: $DIR ready ($# charger certificate(s) requested)"
