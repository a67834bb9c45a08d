#!/bin/sh
# The offline CA end to end, on a throw-away CA home:
# init -> token -> issue -> verify -> inspect -> revoke -> list,
# then stateless signing with the same intermediate; then the online CA:
# a second CA home served by ca-serve on a free port of 127.0.0.1, a client
# home bootstrapped by the root's fingerprint, a token and a certificate
# over HTTPS, verified, renewed over mTLS, revoked, its renewal refused,
# the CRL checked by openssl, and the server stopped.
# The step lines show commands literally: single quotes on purpose.
# shellcheck disable=SC2016
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
PATH="$top/bin:$PATH"
work=$(mktemp -d)
serve_pid=""
# Whatever happens, no ca-serve is left behind and nothing on disk.
cleanup() {
	if [ -n "$serve_pid" ]; then
		kill "$serve_pid" 2>/dev/null || true
		wait "$serve_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
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

# ---- the online CA ----------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="https://127.0.0.1:$port"
online="$work/online"

step "ca-init --dir online --dns 127.0.0.1 --address 127.0.0.1:$port"
ca-init --dir "$online" --dns 127.0.0.1 \
	--address "127.0.0.1:$port" --provisioner ops >"$work/online.json"
fp=$(jq -r .fingerprint "$work/online.json")
echo "fingerprint $fp"

step "ca-serve --dir online --listen 127.0.0.1:$port &"
ca-serve --dir "$online" --listen "127.0.0.1:$port" </dev/null >/dev/null \
	2>"$work/serve.log" &
serve_pid=$!
i=0
until curl -sf --cacert "$online/certs/root_ca.crt" -o /dev/null "$url/health"; do
	i=$((i + 1))
	if [ "$i" -gt 100 ] || ! kill -0 "$serve_pid" 2>/dev/null; then
		echo "demo: ca-serve did not answer $url/health" >&2
		cat "$work/serve.log" >&2
		exit 1
	fi
	sleep 0.1
done
curl -sS --cacert "$online/certs/root_ca.crt" "$url/health"

step "ca-init --bootstrap --dir client --ca-url $url --fingerprint $fp"
ca-init --bootstrap --dir "$work/client" --ca-url "$url" --fingerprint "$fp" | jq -c .

step 'TOKEN=$(CA_DIR=client ca-token --password-file online/secrets/password api.demo.test)   # online: GET /provisioners'
TOKEN=$(CA_DIR="$work/client" ca-token --password-file "$online/secrets/password" api.demo.test)

step 'CA_DIR=client ca-sign --token "$TOKEN" --key-out api.key > api.crt   # online: POST /1.0/sign'
CA_DIR="$work/client" ca-sign --token "$TOKEN" --key-out "$work/api.key" >"$work/api.crt"
ca-inspect "$work/api.crt" | jq -c '.certificates[0] | {subject: .subject.text, sans: [.sans[].value], notAfter: .validity.notAfter}'

step 'CA_DIR=client ca-verify --host api.demo.test < api.crt; openssl verify'
CA_DIR="$work/client" ca-verify --host api.demo.test <"$work/api.crt" && echo "api.demo.test: valid"
openssl verify -x509_strict -CAfile "$work/client/certs/root_ca.crt" \
	-untrusted "$online/certs/intermediate_ca.crt" "$work/api.crt"

step 'CA_DIR=client ca-renew --cert api.crt --key api.key --out api.crt   # online: POST /1.0/renew over mTLS'
old_serial=$(openssl x509 -noout -serial -in "$work/api.crt")
CA_DIR="$work/client" ca-renew --cert "$work/api.crt" --key "$work/api.key" --out "$work/api.crt"
new_serial=$(openssl x509 -noout -serial -in "$work/api.crt")
echo "renewed: $old_serial -> $new_serial"
CA_DIR="$work/client" ca-verify --host api.demo.test <"$work/api.crt" && echo "api.demo.test: valid"
ca-list --dir "$online" | jq -c 'select(.subject == "api.demo.test") | {serial, renewedFrom}'

step 'CA_DIR=client ca-renew --if-due --cert api.crt --key api.key --out api.crt   # not due yet: exit 6'
rc=0
CA_DIR="$work/client" ca-renew --if-due --cert "$work/api.crt" --key "$work/api.key" --out "$work/api.crt" || rc=$?
echo "exit $rc"

serial=$(ca-list --dir "$online" | jq -r 'select(.subject == "api.demo.test" and .renewedFrom != null) | .serial')
step "CA_DIR=client ca-revoke --cert api.crt --key api.key --reason-code 4 $serial   # online: POST /1.0/revoke over mTLS"
CA_DIR="$work/client" ca-revoke --cert "$work/api.crt" --key "$work/api.key" --reason-code 4 "$serial" | jq -c .

step 'CA_DIR=client ca-renew --cert api.crt --key api.key   # passive revocation: refused'
if CA_DIR="$work/client" ca-renew --cert "$work/api.crt" --key "$work/api.key" >/dev/null; then
	echo "unexpected: a revoked certificate was renewed" >&2
	exit 1
fi

step 'curl $url/crl | openssl verify -crl_check   # the CRL lists it'
curl -sS --cacert "$work/client/certs/root_ca.crt" -o "$work/crl.der" "$url/1.0/crl"
openssl crl -inform DER -in "$work/crl.der" -out "$work/crl.pem"
openssl crl -noout -text -in "$work/crl.pem" | grep -E 'Serial Number|Superseded' | tr -s ' '
if openssl verify -crl_check -CRLfile "$work/crl.pem" -CAfile "$work/client/certs/root_ca.crt" \
	-untrusted "$online/certs/intermediate_ca.crt" "$work/api.crt"; then
	echo "unexpected: openssl accepted a revoked certificate" >&2
	exit 1
fi

step 'ca-list --dir online --revoked'
ca-list --dir "$online" --revoked | jq -c '{serial, subject, revoked}'

step 'kill ca-serve'
kill "$serve_pid"
wait "$serve_pid" || true
serve_pid=""
echo "ca-serve stopped"

printf '\ndemo: ok\n'
