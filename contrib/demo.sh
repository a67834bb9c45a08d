#!/bin/sh
# The offline CA end to end, on a throw-away CA home:
# init -> token -> issue -> verify -> inspect -> revoke -> list,
# then stateless signing with the same intermediate.
# The step lines show commands literally: single quotes on purpose.
# shellcheck disable=SC2016
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
PATH="$top/bin:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CA_DIR="$work/ca"
step() { if [ -t 1 ]; then printf '\n\033[1m$ %s\033[0m\n' "$*"; else printf '\n$ %s\n' "$*"; fi; }

step ca-init --name Demo --dns ca.demo.test --provisioner ops
ca-init --name Demo --dns ca.demo.test --provisioner ops

step 'TOKEN=$(ca-token --offline web.demo.test --san web.demo.test --san 10.0.0.5)'
TOKEN=$(ca-token --offline web.demo.test --san web.demo.test --san 10.0.0.5)
printf '%s\n' "$TOKEN" | ca-inspect | jq -c '.claims | {iss, sub, sans, aud, exp}'

step 'ca-sign --offline --token "$TOKEN" --key-out web.key > web.crt'
ca-sign --offline --token "$TOKEN" --key-out "$work/web.key" >"$work/web.crt"
ca-inspect "$work/web.crt" | jq -c '.certificates[0] | {subject: .subject.text, sans: [.sans[].value], notAfter: .validity.notAfter}'

step 'ca-sign --offline --token "$TOKEN" ...   # the same token again'
if ca-sign --offline --token "$TOKEN" --key-out "$work/again.key" >/dev/null; then
	echo "unexpected: a token was accepted twice" >&2
	exit 1
fi

step 'ca-verify --host web.demo.test --purpose server < web.crt'
ca-verify --host web.demo.test --purpose server --json <"$work/web.crt" | jq -c '{valid, chain}'
step 'openssl verify -x509_strict'
openssl verify -x509_strict -CAfile "$CA_DIR/certs/root_ca.crt" \
	-untrusted "$CA_DIR/certs/intermediate_ca.crt" "$work/web.crt"

serial=$(ca-list | jq -r 'select(.subject == "web.demo.test") | .serial')
step "ca-revoke --offline --reason-code 1 --reason 'key compromise' $serial"
ca-revoke --offline --reason-code 1 --reason 'key compromise' "$serial"

step 'ca-list --revoked'
ca-list --revoked | jq -c '{serial, subject, revoked, reasonCode, reason}'

step 'stateless: ca-sign --ca-cert intermediate.crt --ca-key intermediate.key < csr'
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$work/app.key" -subj /CN=app.demo.test \
	-addext subjectAltName=DNS:app.demo.test -out "$work/app.csr" 2>/dev/null
ca-sign --ca-cert "$CA_DIR/certs/intermediate_ca.crt" \
	--ca-key "$CA_DIR/secrets/intermediate_ca_key" \
	--password-file "$CA_DIR/secrets/password" <"$work/app.csr" >"$work/app.crt"
ca-verify --host app.demo.test <"$work/app.crt" && echo "app.demo.test: valid"
printf '\ndemo: ok\n'
