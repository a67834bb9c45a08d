#!/usr/bin/env bats
# ca-serve's lifecycle routes: POST /renew, /rekey, /revoke and GET /crl,
# each relayed to its handler kind (renew, revoke) by the handler wire
# protocol.  Stand-in handlers (helpers/fake_handler.py) on the sockets
# ca.json's "handlers" names record every request line they receive and
# answer what the test sets, so each test asserts exactly what reaches the
# handler (peerCertificates for mTLS only, the Bearer token, the client's
# own server members dropped, the rekey flag) and what the client gets
# back (status, type, body; the CRL as DER or PEM).  A client certificate
# that does not verify (expired, another CA's) never fails the handshake.

load common
load helpers/serve

FAKEPY="$BATS_TEST_DIRNAME/helpers/fake_handler.py"
RENEWTOK="$BATS_TEST_DIRNAME/helpers/renewtok.py"
# The renewal tokens' audience: the CA's name and port in ca.json.
AUD=https://ca.example.com:9443/1.0/renew

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	# The CA made three days ago, so that it issued certificates that
	# have expired since (the end-to-end tests renew one).
	ca-init() { faketime -f -3d "$TOP/bin/ca-init" "$@"; }
	make_serve_ca
	unset -f ca-init
	cp "$CA/config/ca.json" "$D/ca.json.base"
	local t
	# A client certificate from this CA, with its chain (leaf, intermediate).
	t=$(mint --sub client.example.com)
	csr cl client.example.com dns:client.example.com
	cli_sign "$t" "$D/cl.csr" >"$D/cl.pem"
	# An expired one, signed by the CA's intermediate ten days ago for a day.
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$D/old.key" -out "$D/old.csr" -subj /CN=old.example.com 2>/dev/null
	printf '%s\n' "extendedKeyUsage=clientAuth" "subjectAltName=DNS:old.example.com" >"$D/old.ext"
	faketime -f '-10d' openssl x509 -req -in "$D/old.csr" \
		-CA "$CA/certs/intermediate_ca.crt" -CAkey "$CA/secrets/intermediate_ca_key" \
		-passin "file:$D/pw" -days 1 -extfile "$D/old.ext" -out "$D/old.crt" 2>/dev/null
	cat "$D/old.crt" "$CA/certs/intermediate_ca.crt" >"$D/old.pem"
	# A valid one for servers only (no clientAuth), same key.
	printf '%s\n' "extendedKeyUsage=serverAuth" "subjectAltName=DNS:old.example.com" >"$D/srv.ext"
	openssl x509 -req -in "$D/old.csr" -CA "$CA/certs/intermediate_ca.crt" \
		-CAkey "$CA/secrets/intermediate_ca_key" -passin "file:$D/pw" -days 1 \
		-extfile "$D/srv.ext" -out "$D/srvonly.crt" 2>/dev/null
	cat "$D/srvonly.crt" "$CA/certs/intermediate_ca.crt" >"$D/srvonly.pem"
	# One of another CA (self-signed).
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$D/other.key" -out "$D/other.crt" -subj /CN=other -days 30 2>/dev/null
	# A CRL signed by the intermediate that lists the expired certificate.
	mkdir -p "$D/crl"
	: >"$D/crl/index.txt"
	echo 01 >"$D/crl/crlnumber"
	printf '%s\n' '[ca]' 'default_ca = x' '[x]' "database = $D/crl/index.txt" \
		"crlnumber = $D/crl/crlnumber" 'default_md = sha256' 'default_crl_days = 1' >"$D/crl.cnf"
	openssl ca -config "$D/crl.cnf" -keyfile "$CA/secrets/intermediate_ca_key" \
		-cert "$CA/certs/intermediate_ca.crt" -passin "file:$D/pw" \
		-revoke "$D/old.crt" -crl_reason keyCompromise 2>/dev/null
	openssl ca -gencrl -config "$D/crl.cnf" -keyfile "$CA/secrets/intermediate_ca_key" \
		-cert "$CA/certs/intermediate_ca.crt" -passin "file:$D/pw" -out "$D/crl.pem" 2>/dev/null
	openssl crl -in "$D/crl.pem" -outform DER -out "$D/crl.der"
	OLD_SERIAL=$(openssl x509 -in "$D/old.crt" -noout -serial | cut -d= -f2)
	export OLD_SERIAL
}

teardown() {
	stop_servers
	put_file "$CA/config/ca.json" <"$D/ca.json.base"
}

# fake KIND: a stand-in handler for KIND (renew, revoke, sign) on a socket
# named in ca.json's handlers.  It records the request lines it receives
# (received KIND) and answers what answer KIND LINE set.
fake() {
	local k=$1 s="$BATS_TEST_TMPDIR/$1.sock"
	LOG="$BATS_TEST_TMPDIR/serve.log"
	: >"$BATS_TEST_TMPDIR/$k.req"
	bg "$PY" "$FAKEPY" "$s" "$BATS_TEST_TMPDIR/$k.req" "$BATS_TEST_TMPDIR/$k.ans"
	wait_for test -S "$s"
	jq --arg k "$k" --arg s "$s" '.handlers[$k] = $s' "$CA/config/ca.json" >"$BATS_TEST_TMPDIR/ca.json"
	put_file "$CA/config/ca.json" <"$BATS_TEST_TMPDIR/ca.json"
}
answer() { printf '%s\n' "$2" >"$BATS_TEST_TMPDIR/$1.ans"; }
received() { cat "$BATS_TEST_TMPDIR/$1.req"; }
# last KIND: the last request line KIND's handler received.
last() { tail -n 1 "$BATS_TEST_TMPDIR/$1.req"; }

# post PATH [curl options...]: POST (an empty body unless given); prints
# the status, the body in $BATS_TEST_TMPDIR/body, the head in .../head.
post() {
	local p=$1
	shift
	curl -sS --cacert "$ROOT" -o "$BATS_TEST_TMPDIR/body" -D "$BATS_TEST_TMPDIR/head" \
		-w '%{http_code}' -X POST -H 'Content-Length: 0' "$@" "https://127.0.0.1:$PORT$p"
}
# postj PATH JSON [curl options...]: POST the JSON body.
postj() {
	local p=$1 j=$2
	shift 2
	curl -sS --cacert "$ROOT" -o "$BATS_TEST_TMPDIR/body" -D "$BATS_TEST_TMPDIR/head" \
		-w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$j" "$@" \
		"https://127.0.0.1:$PORT$p"
}
# header NAME: the value of a header of the last response.
hdr() { grep -i "^$1:" "$BATS_TEST_TMPDIR/head" | cut -d' ' -f2- | tr -d '\r'; }
# mtls / expired / foreign: curl options presenting that client certificate.
MTLS=(--cert "$BATS_FILE_TMPDIR/cl.pem" --key "$BATS_FILE_TMPDIR/cl.key")
EXPIRED=(--cert "$BATS_FILE_TMPDIR/old.pem" --key "$BATS_FILE_TMPDIR/old.key")
FOREIGN=(--cert "$BATS_FILE_TMPDIR/other.crt" --key "$BATS_FILE_TMPDIR/other.key")

# A response a renew handler gives: the client certificate as "crt".
renewed_answer() {
	jq -cn --rawfile c "$D/cl.pem" '{crt: $c, ca: $c, certChain: [$c]}'
}

# ---- /renew ---------------------------------------------------------------------

@test "serve_lifecycle: renew over mTLS sends the verified chain only; 201 with the handler's body, serial logged" {
	fake renew
	answer renew "$(renewed_answer)"
	serve_listen
	# The body is ignored, whatever a client puts in it.
	run -0 postj /1.0/renew '{"peerCertificates":["forged"],"token":"x","crl":true}' "${MTLS[@]}"
	assert_output 201
	assert_equal "$(body)" "$(renewed_answer)"
	assert_equal "$(hdr Content-Type)" application/json
	run -0 last renew
	assert_equal "$(jq -c keys <<<"$output")" '["peerCertificates"]'
	assert_equal "$(jq -r '.peerCertificates | length' <<<"$output")" 3
	assert_equal "$(jq -r '.peerCertificates[0]' <<<"$output" | openssl x509 -noout -subject)" \
		"subject=CN = client.example.com"
	assert_equal "$(jq -r '.peerCertificates[0]' <<<"$output")" "$(openssl x509 -in "$D/cl.pem")"
	assert_equal "$(jq -r '.peerCertificates[2]' <<<"$output")" "$(cat "$ROOT")"
	# Under / too; one log line each, with the serial of the certificate issued.
	run -0 post /renew "${MTLS[@]}"
	assert_output 201
	assert_equal "$(received renew | wc -l)" 2
	run -0 bash -c "grep '\"path\":\"/renew\"' '$LOG' | jq -r .serial"
	assert_output "$(serial_of "$D/cl.pem")"
}

@test "serve_lifecycle: renew with a Bearer token sends it as token; with a certificate too, both" {
	fake renew
	answer renew "$(renewed_answer)"
	serve_listen
	local t=eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_
	run -0 post /1.0/renew -H "Authorization: Bearer $t"
	assert_output 201
	assert_equal "$(last renew)" "{\"token\":\"$t\"}"
	# The scheme in any case, several spaces, padding at the end.
	run -0 post /1.0/renew -H "Authorization: bEaReR   $t=="
	assert_output 201
	assert_equal "$(last renew)" "{\"token\":\"$t==\"}"
	run -0 post /1.0/renew -H "Authorization: Bearer $t" "${MTLS[@]}"
	assert_output 201
	run -0 last renew
	assert_equal "$(jq -c keys <<<"$output")" '["peerCertificates","token"]'
	assert_equal "$(jq -r .token <<<"$output")" "$t"
	# The token is never logged.
	run -1 grep -F "$t" "$LOG"
}

@test "serve_lifecycle: renew without a certificate or a token is 401, the handler not asked" {
	fake renew
	answer renew "$(renewed_answer)"
	serve_listen
	run -0 post /1.0/renew
	assert_output 401
	assert_equal "$(body)" '{"status":401,"message":"no client certificate and no renewal token"}'
	assert_equal "$(received renew)" ""
}

@test "serve_lifecycle: malformed Authorization headers are 400 or 401, never relayed" {
	fake renew
	answer renew "$(renewed_answer)"
	serve_listen
	local scheme='{"status":401,"message":"Authorization: only the Bearer scheme is accepted (a renewal token)"}'
	local bad='{"status":400,"message":"Authorization: malformed Bearer token (letters, digits and - . _ ~ + / only, = at the end)"}'
	local two='{"status":400,"message":"Authorization: more than one Bearer token"}'
	run -0 post /renew -H 'Authorization: Basic dXNlcjpwYXNz'
	assert_output 401
	assert_equal "$(body)" "$scheme"
	run -0 post /renew -H 'Authorization: Bearerabc.def'
	assert_output 401
	assert_equal "$(body)" "$scheme"
	run -0 post /renew -H 'Authorization: Bearer '
	assert_output 400
	assert_equal "$(body)" '{"status":400,"message":"Authorization: Bearer without a token"}'
	run -0 post /renew -H 'Authorization: Bearer a.b.c d.e.f'
	assert_output 400
	assert_equal "$(body)" "$two"
	run -0 post /renew -H 'Authorization: Bearer a.b.c,d.e.f'
	assert_output 400
	assert_equal "$(body)" "$two"
	run -0 post /renew -H 'Authorization: Bearer a.b"c'
	assert_output 400
	assert_equal "$(body)" "$bad"
	run -0 post /renew -H 'Authorization: Bearer ab=c'
	assert_output 400
	assert_equal "$(body)" "$bad"
	run -0 post /renew -H $'Authorization: Bearer\ta.b.c'
	assert_output 400
	assert_equal "$(body)" '{"status":400,"message":"Authorization: malformed: a space after Bearer, then the token"}'
	# A malformed header is refused with a valid client certificate too.
	run -0 post /renew -H 'Authorization: Basic dXNlcjpwYXNz' "${MTLS[@]}"
	assert_output 401
	# A token of 16 KiB: over the head's bound, 431 before any route.
	run -0 post /renew -H "Authorization: Bearer $(head -c 16384 /dev/zero | tr '\0' a)"
	assert_output 431
	# Two Authorization headers: lib/http's 400.
	run -0 post /renew -H 'Authorization: Bearer a' -H 'Authorization: Bearer b'
	assert_output 400
	assert_equal "$(received renew)" ""
}

@test "serve_lifecycle: an expired client certificate: handshake served, /renew 401 says why, a token still renews" {
	fake renew
	answer renew "$(renewed_answer)"
	serve_listen
	# The handshake does not fail: other routes are served.
	run -0 get /health "${EXPIRED[@]}"
	assert_output '{"status":"ok"}'
	run -0 post /1.0/renew "${EXPIRED[@]}"
	assert_output 401
	assert_equal "$(body)" '{"status":401,"message":"client certificate not accepted: certificate has expired; an expired certificate is renewed with a renewal token (Authorization: Bearer)"}'
	assert_equal "$(received renew)" ""
	# With a renewal token: relayed, and no peerCertificates.
	run -0 post /1.0/renew "${EXPIRED[@]}" -H 'Authorization: Bearer a.b.c'
	assert_output 201
	assert_equal "$(received renew)" '{"token":"a.b.c"}'
	# The log says why the certificate was not taken.
	run -0 bash -c "grep '\"path\":\"/1.0/renew\"' '$LOG' | jq -r .clientCertificate"
	assert_line --index 0 "not accepted: certificate has expired"
	assert_line --index 1 "not accepted: certificate has expired"
}

@test "serve_lifecycle: a client certificate of another CA: served as without one, /renew 401 names the reason" {
	fake renew
	answer renew "$(renewed_answer)"
	serve_listen
	run -0 get /health "${FOREIGN[@]}"
	assert_output '{"status":"ok"}'
	run -0 post /renew "${FOREIGN[@]}"
	assert_output 401
	assert_equal "$(body)" '{"status":401,"message":"client certificate not accepted: self-signed certificate; an expired certificate is renewed with a renewal token (Authorization: Bearer)"}'
	# One signed by this CA's intermediate for servers only is not a
	# client certificate.
	run -0 post /renew --cert "$D/srvonly.pem" --key "$D/old.key"
	assert_output 401
	assert_equal "$(jq -r .message "$BATS_TEST_TMPDIR/body")" \
		"client certificate not accepted: unsuitable certificate purpose; an expired certificate is renewed with a renewal token (Authorization: Bearer)"
	assert_equal "$(received renew)" ""
}

# ---- /rekey ---------------------------------------------------------------------

@test "serve_lifecycle: rekey sends the body's csr with peerCertificates and rekey true, the client's own members dropped" {
	fake renew
	answer renew "$(renewed_answer)"
	serve_listen
	run -0 postj /1.0/rekey '{"csr":"PEM","peerCertificates":["forged"],"token":"t","crl":true,"rekey":false,"x":1}' \
		"${MTLS[@]}" -H 'Authorization: Bearer a.b.c'
	assert_output 201
	assert_equal "$(body)" "$(renewed_answer)"
	run -0 last renew
	assert_equal "$(jq -c 'del(.peerCertificates)' <<<"$output")" '{"csr":"PEM","x":1,"rekey":true}'
	assert_equal "$(jq -r '.peerCertificates[0]' <<<"$output")" "$(openssl x509 -in "$D/cl.pem")"
	run -0 bash -c "grep '\"path\":\"/1.0/rekey\"' '$LOG' | jq -r .serial"
	assert_output "$(serial_of "$D/cl.pem")"
	# Refusals relayed with the handler's status.
	answer renew '{"status":404,"message":"rekey not supported"}'
	run -0 postj /rekey '{"csr":"PEM"}' "${MTLS[@]}"
	assert_output 404
	assert_equal "$(body)" '{"status":404,"message":"rekey not supported"}'
}

@test "serve_lifecycle: rekey without a valid client certificate is 401; a bad body 400; neither relayed" {
	fake renew
	answer renew "$(renewed_answer)"
	serve_listen
	run -0 postj /rekey '{"csr":"PEM"}' -H 'Authorization: Bearer a.b.c'
	assert_output 401
	assert_equal "$(body)" '{"status":401,"message":"rekey needs a client certificate: the one being replaced"}'
	run -0 postj /rekey '{"csr":"PEM"}' "${EXPIRED[@]}"
	assert_output 401
	assert_equal "$(body)" '{"status":401,"message":"client certificate not accepted: certificate has expired; rekey needs a valid one"}'
	run -0 postj /rekey '["csr"]' "${MTLS[@]}"
	assert_output 400
	assert_equal "$(body)" '{"status":400,"message":"request: malformed JSON: not an object"}'
	assert_equal "$(received renew)" ""
}

# ---- /revoke --------------------------------------------------------------------

@test "serve_lifecycle: revoke relays the body, the client's own members dropped; 200; the serial logged, never the token" {
	fake revoke
	answer revoke '{"status":"ok"}'
	serve_listen
	local t
	t=$(mint --sub 1234)
	run -0 postj /1.0/revoke "{\"serial\":\"1234\",\"ott\":\"$t\",\"reasonCode\":1,\"reason\":\"lost\",\"passive\":true,\"peerCertificates\":[\"forged\"],\"token\":\"x\",\"crl\":true}"
	assert_output 200
	assert_equal "$(body)" '{"status":"ok"}'
	assert_equal "$(last revoke)" "{\"serial\":\"1234\",\"ott\":\"$t\",\"reasonCode\":1,\"reason\":\"lost\",\"passive\":true}"
	run -0 bash -c "grep '\"path\":\"/1.0/revoke\"' '$LOG' | jq -c '[.status, .serial, .provisioner]'"
	assert_output '[200,"1234","admin"]'
	run -1 grep -F "$t" "$LOG"
	# Over mTLS: the verified chain added.
	run -0 postj /revoke '{"serial":"99","reasonCode":0}' "${MTLS[@]}"
	assert_output 200
	run -0 last revoke
	assert_equal "$(jq -c 'del(.peerCertificates)' <<<"$output")" '{"serial":"99","reasonCode":0}'
	assert_equal "$(jq -r '.peerCertificates | length' <<<"$output")" 3
	# A refusal: its status and body; no serial logged.
	answer revoke '{"status":403,"message":"provisioner admin did not issue certificate 7"}'
	run -0 postj /revoke '{"serial":"7","ott":"a.b.c"}'
	assert_output 403
	assert_equal "$(body)" '{"status":403,"message":"provisioner admin did not issue certificate 7"}'
	run -0 bash -c "grep '\"status\":403' '$LOG' | jq -r .serial"
	assert_output null
}

@test "serve_lifecycle: revoke with an expired client certificate and no token is 401, not relayed; with a token relayed" {
	fake revoke
	answer revoke '{"status":"ok"}'
	serve_listen
	run -0 postj /revoke '{"serial":"5"}' "${EXPIRED[@]}"
	assert_output 401
	assert_equal "$(body)" '{"status":401,"message":"client certificate not accepted: certificate has expired; revoke with a revoke token (\"ott\") instead"}'
	assert_equal "$(received revoke)" ""
	run -0 postj /revoke '{"serial":"5","ott":"a.b.c"}' "${EXPIRED[@]}"
	assert_output 200
	assert_equal "$(received revoke)" '{"serial":"5","ott":"a.b.c"}'
	# Without any certificate, the handler decides.
	answer revoke '{"status":401,"message":"no revoke token and no client certificate"}'
	run -0 postj /revoke '{"serial":"5"}'
	assert_output 401
	assert_equal "$(last revoke)" '{"serial":"5"}'
}

# ---- /crl -----------------------------------------------------------------------

@test "serve_lifecycle: GET /crl is DER that openssl parses, Expires from nextUpdate; ?pem and ?pem=true PEM" {
	fake revoke
	answer revoke "$(jq -cn --rawfile c "$D/crl.pem" '{crl: $c, nextUpdate: "2030-01-02T03:04:05Z"}')"
	serve_listen
	run -0 status_of /crl -D "$BATS_TEST_TMPDIR/head"
	assert_output 200
	assert_equal "$(received revoke)" '{"crl":true}'
	assert_equal "$(hdr Content-Type)" application/pkix-crl
	assert_equal "$(hdr Expires)" "Wed, 02 Jan 2030 03:04:05 GMT"
	cmp "$BATS_TEST_TMPDIR/body" "$D/crl.der"
	run -0 openssl crl -inform DER -in "$BATS_TEST_TMPDIR/body" -noout -text
	assert_output --partial "Serial Number: $OLD_SERIAL"
	assert_output --partial "Key Compromise"
	run -0 openssl crl -inform DER -in "$BATS_TEST_TMPDIR/body" -CAfile "$CA/certs/intermediate_ca.crt" -noout
	for q in '?pem' '?pem=true' '?x=1&pem'; do
		run -0 status_of "/1.0/crl$q" -D "$BATS_TEST_TMPDIR/head"
		assert_output 200
		assert_equal "$(hdr Content-Type)" application/x-pem-file
		assert_equal "$(body)" "$(cat "$D/crl.pem")"
	done
	run -0 status_of "/crl?pem=false" -D "$BATS_TEST_TMPDIR/head"
	assert_output 200
	assert_equal "$(hdr Content-Type)" application/pkix-crl
	run -0 status_of "/crl?pem=yes"
	assert_output 400
	assert_equal "$(body)" '{"status":400,"message":"pem: true, false or no value"}'
	# A nextUpdate that is not a time: no Expires, the CRL still served.
	answer revoke "$(jq -cn --rawfile c "$D/crl.pem" '{crl: $c, nextUpdate: "soon"}')"
	run -0 status_of /crl -D "$BATS_TEST_TMPDIR/head"
	assert_output 200
	assert_equal "$(hdr Expires)" ""
}

@test "serve_lifecycle: HEAD /crl has the headers and length of GET, no body" {
	fake revoke
	answer revoke "$(jq -cn --rawfile c "$D/crl.pem" '{crl: $c, nextUpdate: "2030-01-02T03:04:05Z"}')"
	serve_listen
	run -0 curl -sS --cacert "$ROOT" -I "https://127.0.0.1:$PORT/1.0/crl"
	assert_line --index 0 --regexp '^HTTP/1.1 200 '
	assert_line --regexp "^Content-Length: $(stat -c %s "$D/crl.der")"$'\r'"\$"
	assert_line --regexp $'^Content-Type: application/pkix-crl\r$'
	run -0 curl -sS --cacert "$ROOT" -I "https://127.0.0.1:$PORT/crl?pem"
	assert_line --regexp "^Content-Length: $(stat -c %s "$D/crl.pem")"$'\r'"\$"
	# Through the raw client: nothing after the head.
	run -0 raw --send 'HEAD /crl?pem HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	assert_line --index 0 --regexp '^HTTP/1.1 200 '
	refute_output --partial "X509 CRL"
}

@test "serve_lifecycle: /crl relays the handler's refusal; an answer without one PEM CRL is 500" {
	fake revoke
	serve_listen
	answer revoke '{"status":503,"message":"database busy"}'
	run -0 status_of /crl -D "$BATS_TEST_TMPDIR/head"
	assert_output 503
	assert_equal "$(body)" '{"status":503,"message":"database busy"}'
	# A handler's 503 relayed says when to retry, as ca-serve's own do.
	assert_equal "$(hdr Retry-After)" 5
	local failed='{"status":500,"message":"handler failed"}' a
	for a in '{"crl":"not a pem"}' '{"nextUpdate":"2030-01-02T03:04:05Z"}' '{"crl":1}' \
		"$(jq -cn --rawfile c "$D/cl.pem" '{crl: $c}')" \
		"$(jq -cn --rawfile c "$D/crl.pem" '{crl: ($c + $c)}')"; do
		answer revoke "$a"
		run -0 status_of /crl
		assert_output 500
		assert_equal "$(body)" "$failed"
	done
	run -0 grep -c "a CRL response without one PEM CRL" "$LOG"
	assert_output 5
}

# ---- methods, failures ----------------------------------------------------------

@test "serve_lifecycle: wrong methods are 405 with Allow, under / and /1.0" {
	serve_listen
	local p
	for p in /renew /1.0/renew /rekey /1.0/rekey /revoke /1.0/revoke; do
		run -0 status_of "$p" -D "$BATS_TEST_TMPDIR/head"
		assert_output 405
		assert_equal "$(hdr Allow)" POST
		assert_equal "$(body)" '{"status":405,"message":"method not allowed"}'
	done
	for p in /crl /1.0/crl; do
		run -0 post "$p"
		assert_output 405
		assert_equal "$(hdr Allow)" "GET, HEAD"
		run -0 status_of "$p" -X DELETE -D "$BATS_TEST_TMPDIR/head"
		assert_output 405
		assert_equal "$(hdr Allow)" "GET, HEAD"
	done
}

@test "serve_lifecycle: a handler that answers garbage, a non-error status or nothing is 500; no handler is 503" {
	fake renew
	fake revoke
	serve_listen
	local failed='{"status":500,"message":"handler failed"}' a
	for a in GARBAGE CLOSE '{"status":200,"message":"fine"}' '{"status":302,"message":"elsewhere"}' '["crt"]'; do
		answer renew "$a"
		answer revoke "$a"
		run -0 post /renew "${MTLS[@]}"
		assert_output 500
		assert_equal "$(body)" "$failed"
		run -0 postj /revoke '{"serial":"1","ott":"a.b.c"}'
		assert_output 500
		assert_equal "$(body)" "$failed"
		run -0 status_of /crl
		assert_output 500
		assert_equal "$(body)" "$failed"
	done
	# Nobody on the socket: unavailable.
	stop_servers
	jq --arg s "$BATS_TEST_TMPDIR/none.sock" '.handlers = {"renew": $s, "revoke": $s}' \
		"$D/ca.json.base" | put_file "$CA/config/ca.json"
	serve_listen
	local unavailable='{"status":503,"message":"handler unavailable"}'
	run -0 post /renew "${MTLS[@]}"
	assert_output 503
	assert_equal "$(body)" "$unavailable"
	assert_equal "$(hdr Retry-After)" 5
	run -0 postj /revoke '{"serial":"1"}'
	assert_output 503
	assert_equal "$(hdr Retry-After)" 5
	run -0 status_of /crl
	assert_output 503
	assert_equal "$(body)" "$unavailable"
}

# ---- handler programs: coprocesses and pools ------------------------------------

# fake_progs: ca-serve copied beside stand-in ca-sign, ca-renew and
# ca-revoke programs; each start is recorded in $BATS_TEST_TMPDIR/starts
# as "PROG ARGS", each request line in PROG.req; the answers PROG.ans.
fake_progs() {
	local b="$BATS_TEST_TMPDIR/bin" p
	mkdir -p "$b"
	cp "$TOP/bin/ca-serve" "$b/"
	for p in ca-sign ca-renew ca-revoke; do
		printf '#!/bin/sh\necho "%s $*" >>"%s"\nexec %s %s - "%s" "%s"\n' "$p" \
			"$BATS_TEST_TMPDIR/starts" "$PY" "$FAKEPY" "$BATS_TEST_TMPDIR/$p.req" \
			"$BATS_TEST_TMPDIR/$p.ans" >"$b/$p"
		chmod +x "$b/$p"
	done
	answer ca-sign '{"crt":"x"}'
	answer ca-renew "$(renewed_answer)"
	answer ca-revoke "$(jq -cn --rawfile c "$D/crl.pem" '{crl: $c, nextUpdate: "2030-01-02T03:04:05Z"}')"
}

@test "serve_lifecycle: inetd style: a coprocess per kind, started on the connection's first request of it" {
	fake_progs
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg socat "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork" \
		EXEC:"$BATS_TEST_TMPDIR/bin/ca-serve --dir $CA"
	wait_for port_open "$PORT"
	local u="https://127.0.0.1:$PORT"
	# One connection: two renewals, a CRL, then a GET that needs no handler.
	local c=(--cacert "$ROOT" "${MTLS[@]}" -o /dev/null)
	run -0 curl -sS "${c[@]}" -w '%{http_code} ' -X POST -H 'Content-Length: 0' "$u/renew" \
		--next "${c[@]}" -w '%{http_code} ' -X POST -H 'Content-Length: 0' "$u/1.0/renew" \
		--next "${c[@]}" -w '%{http_code} ' "$u/crl" \
		--next "${c[@]}" -w '%{http_code}' "$u/health"
	assert_output "201 201 200 200"
	# renew once, revoke once, sign never; each as KIND --api --offline --dir HOME.
	run -0 cat "$BATS_TEST_TMPDIR/starts"
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 "ca-renew --api --offline --dir $CA"
	assert_line --index 1 "ca-revoke --api --offline --dir $CA"
	assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/ca-renew.req")" 2
	assert_equal "$(cat "$BATS_TEST_TMPDIR/ca-revoke.req")" '{"crl":true}'
	# Another connection, another coprocess.
	run -0 post /renew "${MTLS[@]}"
	assert_output 201
	assert_equal "$(grep -c ca-renew "$BATS_TEST_TMPDIR/starts")" 2
}

@test "serve_lifecycle: --listen: a pool per kind, --handlers N gives sign N, renew N/2 (at least 1), revoke 1, started on first use" {
	fake_progs
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg "$BATS_TEST_TMPDIR/bin/ca-serve" --dir "$CA" --listen "127.0.0.1:$PORT" --handlers 4
	SERVE_PID=$BG
	wait_for port_open "$PORT"
	# The sign pool at once; renew and revoke on their first request.
	wait_until '[ "$(wc -l <"$BATS_TEST_TMPDIR/starts")" -eq 4 ]'
	assert_equal "$(grep -c "^ca-sign --api --offline --dir $CA\$" "$BATS_TEST_TMPDIR/starts")" 4
	run -0 post /renew "${MTLS[@]}"
	assert_output 201
	wait_until '[ "$(wc -l <"$BATS_TEST_TMPDIR/starts")" -eq 6 ]'
	assert_equal "$(grep -c "^ca-renew --api --offline --dir $CA\$" "$BATS_TEST_TMPDIR/starts")" 2
	run -0 status_of /crl
	assert_output 200
	wait_until '[ "$(wc -l <"$BATS_TEST_TMPDIR/starts")" -eq 7 ]'
	assert_equal "$(grep -c "^ca-revoke --api --offline --dir $CA\$" "$BATS_TEST_TMPDIR/starts")" 1
	# They are children of the server, serving from fd 3 (LISTEN_FDS).
	assert_equal "$(pgrep -P "$SERVE_PID" -f 'ca-renew' | wc -l)" 2
	run -0 postj /revoke '{"serial":"1","ott":"a.b.c"}'
	assert_output 200
	# Answered by the long-lived pool handlers: nothing started per request.
	assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/starts")" 7
	assert_equal "$(received ca-revoke)" "$(printf '%s\n' '{"crl":true}' '{"serial":"1","ott":"a.b.c"}')"
	# A pool handler that dies is replaced, in its own pool.
	kill -KILL "$(pgrep -P "$SERVE_PID" -f 'ca-revoke' | head -1)"
	wait_for grep -q "handler pool revoke: starting a handler again" "$LOG"
	run -0 status_of /crl
	assert_output 200
}

@test "serve_lifecycle: --handlers 1 gives each kind one handler; a kind whose program is missing gets no pool, 503" {
	fake_progs
	rm "$BATS_TEST_TMPDIR/bin/ca-renew"
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg "$BATS_TEST_TMPDIR/bin/ca-serve" --dir "$CA" --listen "127.0.0.1:$PORT" --handlers 1
	wait_for port_open "$PORT"
	wait_until '[ "$(wc -l <"$BATS_TEST_TMPDIR/starts")" -eq 1 ]'
	run -0 grep -F "handler pool renew: $BATS_TEST_TMPDIR/bin/ca-renew: No such file or directory: its routes answer 503" "$LOG"
	run -0 post /renew "${MTLS[@]}"
	assert_output 503
	assert_equal "$(body)" '{"status":503,"message":"handler unavailable"}'
	run -0 status_of /crl
	assert_output 200
	run -0 status_of /crl
	assert_output 200
	assert_equal "$(grep -c '^ca-revoke' "$BATS_TEST_TMPDIR/starts")" 1
	# Not started again and again.
	run -1 grep -F "starting a handler again" "$LOG"
	assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/starts")" 2
}

# ---- end to end, through the real handlers --------------------------------------

# issue_leaf NAME [faketime offset]: $D/NAME.pem (leaf and intermediate) and
# $D/NAME.key issued offline, for NAME.example.com; with an offset, issued
# that long ago for an hour.
issue_leaf() {
	local n=$1
	csr "$n" "$n.example.com" "dns:$n.example.com"
	if [ -z "${2-}" ]; then
		cli_sign "$(mint --sub "$n.example.com")" "$D/$n.csr" >"$D/$n.pem"
	else
		faketime -f "-$2" ca-sign --offline --dir "$CA" --not-after 1h \
			--token "$(faketime -f "-$2" "$PY" "$TOKPY" mint "$D/prov.jwk" "$CA/config/ca.json" --sub "$n.example.com")" \
			<"$D/$n.csr" >"$D/$n.pem"
	fi
}
# hexserial PEM: the serial as openssl prints it in a CRL.
hexserial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

@test "serve_lifecycle: end to end, --listen: renew over mTLS and by token, revoke over mTLS, renewal refused, the CRL lists it" {
	serve_listen --handlers 2
	issue_leaf e2e
	local s1 s2 s3
	s1=$(serial_of "$D/e2e.pem")
	# mTLS: a new certificate for the same names, recorded as renewed from the old.
	run -0 post /1.0/renew --cert "$D/e2e.pem" --key "$D/e2e.key"
	assert_output 201
	jq -r '.certChain | join("")' "$BATS_TEST_TMPDIR/body" >"$D/e2e2.pem"
	assert_equal "$(openssl x509 -in "$D/e2e2.pem" -noout -subject -ext subjectAltName)" \
		"$(openssl x509 -in "$D/e2e.pem" -noout -subject -ext subjectAltName)"
	run -0 openssl verify -CAfile "$ROOT" -untrusted "$CA/certs/intermediate_ca.crt" "$D/e2e2.pem"
	s2=$(serial_of "$D/e2e2.pem")
	refute [ "$s2" = "$s1" ]
	assert_equal "$(db "select renewed_from from certs where serial = '$s2'")" "$s1"
	run -0 bash -c "grep '\"path\":\"/1.0/renew\"' '$LOG' | jq -r .serial"
	assert_output "$s2"
	# A renewal token (Authorization: Bearer), no client certificate.
	run -0 post /renew -H "Authorization: Bearer $("$PY" "$RENEWTOK" "$D/e2e2.pem" "$D/e2e.key" "$AUD")"
	assert_output 201
	jq -r '.certChain | join("")' "$BATS_TEST_TMPDIR/body" >"$D/e2e3.pem"
	s3=$(serial_of "$D/e2e3.pem")
	assert_equal "$(db "select renewed_from from certs where serial = '$s3'")" "$s2"
	# The certificate revokes itself over mTLS.
	run -0 postj /1.0/revoke "{\"serial\":\"$s3\",\"reasonCode\":1,\"passive\":true}" \
		--cert "$D/e2e3.pem" --key "$D/e2e.key"
	assert_output 200
	assert_equal "$(body)" '{"status":"ok"}'
	assert_equal "$(db "select reason_code || ' ' || method from revocations where serial = '$s3'")" "1 mtls"
	run -0 bash -c "grep '\"path\":\"/1.0/revoke\"' '$LOG' | jq -r .serial"
	assert_output "$s3"
	# Its renewal is refused, over mTLS and by token.
	run -0 post /renew --cert "$D/e2e3.pem" --key "$D/e2e.key"
	assert_output 403
	assert_equal "$(body)" "{\"status\":403,\"message\":\"certificate $s3 is revoked\"}"
	run -0 post /renew -H "Authorization: Bearer $("$PY" "$RENEWTOK" "$D/e2e3.pem" "$D/e2e.key" "$AUD")"
	assert_output 403
	# The CRL: DER, signed by the intermediate, listing it with its reason.
	run -0 status_of /crl -D "$BATS_TEST_TMPDIR/head"
	assert_output 200
	assert_equal "$(hdr Content-Type)" application/pkix-crl
	run -0 openssl crl -inform DER -in "$BATS_TEST_TMPDIR/body" -CAfile "$CA/certs/intermediate_ca.crt" -noout -text
	assert_output --partial "Serial Number: $(hexserial "$D/e2e3.pem")"
	assert_output --partial "Key Compromise"
	refute_output --partial "Serial Number: $(hexserial "$D/e2e2.pem")"
	assert_equal "$(hdr Expires)" "$(TZ=GMT LC_ALL=C date -d "$(openssl crl -inform DER -in "$BATS_TEST_TMPDIR/body" -noout -nextupdate | cut -d= -f2)" '+%a, %d %b %Y %H:%M:%S GMT')"
	# Revoking someone else's certificate with one's own: refused.
	issue_leaf other2
	run -0 postj /revoke "{\"serial\":\"$s2\"}" --cert "$D/other2.pem" --key "$D/other2.key"
	assert_output 403
}

@test "serve_lifecycle: end to end, inetd style: an expired certificate is told to use a token, and renewed by one" {
	jq '.authority.claims.allowRenewalAfterExpiry = true' "$D/ca.json.base" | put_file "$CA/config/ca.json"
	serve_socat
	issue_leaf exp 2d
	run -0 post /1.0/renew --cert "$D/exp.pem" --key "$D/exp.key"
	assert_output 401
	assert_equal "$(body)" '{"status":401,"message":"client certificate not accepted: certificate has expired; an expired certificate is renewed with a renewal token (Authorization: Bearer)"}'
	run -0 post /1.0/renew -H "Authorization: Bearer $("$PY" "$RENEWTOK" "$D/exp.pem" "$D/exp.key" "$AUD")"
	assert_output 201
	jq -r .crt "$BATS_TEST_TMPDIR/body" >"$BATS_TEST_TMPDIR/new.pem"
	run -0 openssl x509 -in "$BATS_TEST_TMPDIR/new.pem" -noout -checkend 600
	assert_equal "$(db "select renewed_from from certs where serial = '$(serial_of "$BATS_TEST_TMPDIR/new.pem")'")" \
		"$(serial_of "$D/exp.pem")"
	# The CRL as PEM, from a revoke coprocess.
	run -0 status_of '/1.0/crl?pem' -D "$BATS_TEST_TMPDIR/head"
	assert_output 200
	assert_equal "$(hdr Content-Type)" application/x-pem-file
	run -0 openssl crl -in "$BATS_TEST_TMPDIR/body" -CAfile "$CA/certs/intermediate_ca.crt" -noout
}
