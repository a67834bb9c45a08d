#!/usr/bin/env bats
# ACME (RFC 8555): ca-serve's /acme/{provisioner}/... routes and the
# acme handler, ca-acme --api --offline.
#
# ca-serve's side with a stand-in handler (helpers/fake_handler.py) on
# the socket ca.json's "handlers" names: what reaches the handler (the
# method, the path, the Host header, the JWS object) and what the client
# gets back: the handler's status, headers and body when its answer has
# the agreed shape, a problem document (RFC 7807) otherwise, and for
# ca-serve's own refusals.

load common
load helpers/serve

FAKEPY="$BATS_TEST_DIRNAME/helpers/fake_handler.py"
PROBLEM=urn:ietf:params:acme:error:

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_serve_ca
	cp "$CA/config/ca.json" "$D/ca.json.base"
}

teardown() {
	stop_servers
	cp "$D/ca.json.base" "$CA/config/ca.json"
}

# fake: a stand-in acme handler on a socket named in ca.json's handlers;
# it records the request lines it receives (last) and answers what
# answer LINE set.
fake() {
	local s="$BATS_TEST_TMPDIR/acme.sock"
	LOG="$BATS_TEST_TMPDIR/serve.log"
	: >"$BATS_TEST_TMPDIR/acme.req"
	bg "$PY" "$FAKEPY" "$s" "$BATS_TEST_TMPDIR/acme.req" "$BATS_TEST_TMPDIR/acme.ans"
	wait_for test -S "$s"
	jq --arg s "$s" '.handlers.acme = $s' "$CA/config/ca.json" >"$BATS_TEST_TMPDIR/ca.json"
	cp "$BATS_TEST_TMPDIR/ca.json" "$CA/config/ca.json"
}
answer() { printf '%s\n' "$1" >"$BATS_TEST_TMPDIR/acme.ans"; }
last() { tail -n 1 "$BATS_TEST_TMPDIR/acme.req"; }
nreq() { wc -l <"$BATS_TEST_TMPDIR/acme.req"; }

# req METHOD PATH [curl options...]: prints the status; the body in
# $BATS_TEST_TMPDIR/body, the head in .../head.
req() {
	local m=$1 p=$2
	shift 2
	curl -sS --cacert "$ROOT" -o "$BATS_TEST_TMPDIR/body" -D "$BATS_TEST_TMPDIR/head" \
		-w '%{http_code}' -X "$m" "$@" "https://127.0.0.1:$PORT$p"
}
# jose PATH JSON [curl options...]: POST JSON as application/jose+json.
jose() {
	local p=$1 j=$2
	shift 2
	req POST "$p" -H 'Content-Type: application/jose+json' --data-binary "$j" "$@"
}
hdr() { grep -i "^$1:" "$BATS_TEST_TMPDIR/head" | cut -d' ' -f2- | tr -d '\r'; }
hdrs() { grep -ic "^$1:" "$BATS_TEST_TMPDIR/head"; }

# ---- ca-serve: the routes ------------------------------------------------------

@test "acme: GET goes to the handler as {acme:{method,path,host,body:null}}; its status, headers, type and body come back" {
	fake
	answer '{"httpStatus":200,"headers":{"Replay-Nonce":"abc_-1","Cache-Control":"no-store","Link":["<https://x/acme/a/directory>;rel=\"index\"","<https://x/up>;rel=\"up\""]},"contentType":"application/json","body":"{\"newNonce\":\"https://x\"}"}'
	serve_listen
	run -0 req GET /acme/acme/directory
	assert_output 200
	assert_equal "$(cat "$BATS_TEST_TMPDIR/body")" '{"newNonce":"https://x"}'
	assert_equal "$(hdr Content-Type)" application/json
	assert_equal "$(hdr Replay-Nonce)" abc_-1
	assert_equal "$(hdr Cache-Control)" no-store
	assert_equal "$(hdrs Link)" 2
	run -0 last
	assert_equal "$(jq -c . <<<"$output")" "{\"acme\":{\"method\":\"GET\",\"path\":\"/acme/acme/directory\",\"host\":\"127.0.0.1:$PORT\",\"body\":null}}"
}

@test "acme: HEAD is relayed as HEAD and answered without a body" {
	fake
	answer '{"httpStatus":200,"headers":{"Replay-Nonce":"n1"},"contentType":"application/json","body":"{\"x\":1}"}'
	serve_listen
	run -0 curl -sS --cacert "$ROOT" -I -o /dev/null -D "$BATS_TEST_TMPDIR/head" \
		-w '%{http_code} %{size_download}' "https://127.0.0.1:$PORT/acme/acme/new-nonce"
	assert_output "200 0"
	assert_equal "$(hdr Replay-Nonce)" n1
	assert_equal "$(hdr Content-Length)" 7
	assert_equal "$(last | jq -r .acme.method)" HEAD
}

@test "acme: a POST's JWS object is sent as it came, with the Host header as received" {
	fake
	answer '{"httpStatus":201,"headers":{"Location":"https://ca.example:9000/acme/acme/acct/1"},"contentType":"application/json","body":"{}"}'
	serve_listen
	local jws='{"protected":"eyJhbGciOiJFUzI1NiJ9","payload":"","signature":"AAAA"}'
	run -0 jose /acme/acme/new-account "$jws" -H 'Host: ca.example:9000'
	assert_output 201
	assert_equal "$(hdr Location)" https://ca.example:9000/acme/acme/acct/1
	run -0 last
	assert_equal "$(jq -c .acme.body <<<"$output")" "$jws"
	assert_equal "$(jq -r .acme.host <<<"$output")" ca.example:9000
	assert_equal "$(jq -r .acme.method <<<"$output")" POST
	# The path as sent, without its query.
	run -0 jose '/acme/acme/order/1?x=1' "$jws"
	assert_output 201
	assert_equal "$(last | jq -r .acme.path)" /acme/acme/order/1
	# application/jose+json in any case, with parameters.
	run -0 req POST /acme/acme/new-order -H 'Content-Type: Application/JOSE+JSON; charset=utf-8' --data-binary "$jws"
	assert_output 201
}

@test "acme: ca-serve's own refusals are problem documents: wrong Content-Type 415, not JSON 400, other methods 405; none reaches the handler" {
	fake
	answer '{"httpStatus":200,"contentType":"application/json","body":"{}"}'
	serve_listen
	run -0 req POST /acme/acme/new-account -H 'Content-Type: application/json' --data-binary '{}'
	assert_output 415
	assert_equal "$(hdr Content-Type)" application/problem+json
	assert_equal "$(jq -r .type "$BATS_TEST_TMPDIR/body")" "${PROBLEM}malformed"
	assert_equal "$(jq -r .status "$BATS_TEST_TMPDIR/body")" 415
	run -0 jose /acme/acme/new-account 'not json'
	assert_output 400
	assert_equal "$(jq -r .type "$BATS_TEST_TMPDIR/body")" "${PROBLEM}malformed"
	run -0 jose /acme/acme/new-account '["protected"]'
	assert_output 400
	assert_equal "$(jq -r .detail "$BATS_TEST_TMPDIR/body")" "malformed JSON: not an object"
	run -0 jose /acme/acme/new-account '{"a":1,"a":2}'
	assert_output 400
	run -0 req PUT /acme/acme/new-account --data-binary '{}'
	assert_output 405
	assert_equal "$(hdr Allow)" "GET, HEAD, POST"
	assert_equal "$(jq -r .type "$BATS_TEST_TMPDIR/body")" "${PROBLEM}malformed"
	run -0 nreq
	assert_output 0
	# Not under /1.0: that tree is step-ca's API, not ACME's.
	run -0 req GET /1.0/acme/acme/directory
	assert_output 404
}

@test "acme: an answer outside the agreed shape is a 500 serverInternal problem, and the handler is replaced" {
	fake
	serve_listen
	local bad
	for bad in \
		'{"httpStatus":200,"contentType":"application/json"}' \
		'{"httpStatus":199,"contentType":"application/json","body":""}' \
		'{"httpStatus":600,"contentType":"application/json","body":""}' \
		'{"httpStatus":"200","contentType":"application/json","body":""}' \
		'{"httpStatus":200,"contentType":"text/html","body":"<p>"}' \
		'{"httpStatus":200,"body":"{}"}' \
		'{"httpStatus":200,"contentType":"application/json","body":{}}' \
		'{"httpStatus":200,"contentType":"application/json","body":"","extra":1}' \
		'{"httpStatus":200,"headers":{"Set-Cookie":"a=b"},"contentType":"application/json","body":""}' \
		'{"httpStatus":200,"headers":{"Location":"https://x/\r\nSet-Cookie: a=b"},"contentType":"application/json","body":""}' \
		'{"httpStatus":200,"headers":{"Location":"https://x/é"},"contentType":"application/json","body":""}' \
		'{"httpStatus":200,"headers":{"Location":["https://x/1","https://x/2"]},"contentType":"application/json","body":""}' \
		'{"httpStatus":200,"headers":{"Link":[]},"contentType":"application/json","body":""}' \
		'{"httpStatus":200,"headers":{"Replay-Nonce":""},"contentType":"application/json","body":""}' \
		'{"httpStatus":200,"headers":[],"contentType":"application/json","body":""}' \
		'GARBAGE'; do
		answer "$bad"
		run -0 req GET /acme/acme/directory
		assert_output 500
		assert_equal "$(hdr Content-Type)" application/problem+json
		assert_equal "$(jq -r .type "$BATS_TEST_TMPDIR/body")" "${PROBLEM}serverInternal"
		assert_equal "$(hdrs Set-Cookie)" 0
	done
	# A header value over 1024 bytes.
	answer "$(jq -cn --arg l "https://x/$(head -c 1100 /dev/zero | tr '\0' a)" \
		'{httpStatus:200,headers:{Location:$l},contentType:"application/json",body:""}')"
	run -0 req GET /acme/acme/directory
	assert_output 500
	# Every answer above replaced the handler: the next one is served.
	answer '{"httpStatus":204,"headers":{"Replay-Nonce":"n"},"body":""}'
	run -0 req GET /acme/acme/new-nonce
	assert_output 204
	assert_equal "$(hdr Replay-Nonce)" n
	run -0 grep -c '"handler acme: an answer that is not' "$LOG"
	assert_output 16
}

@test "acme: the handler's own refusal {status,message} becomes a problem document of that status" {
	fake
	answer '{"status":413,"message":"request over 65536 bytes"}'
	serve_listen
	run -0 req GET /acme/acme/directory
	assert_output 413
	assert_equal "$(hdr Content-Type)" application/problem+json
	assert_equal "$(jq -c . "$BATS_TEST_TMPDIR/body")" '{"type":"urn:ietf:params:acme:error:malformed","detail":"request over 65536 bytes","status":413}'
	answer '{"status":500,"message":"ca.json: broken"}'
	run -0 req GET /acme/acme/directory
	assert_output 500
	assert_equal "$(jq -r .type "$BATS_TEST_TMPDIR/body")" "${PROBLEM}serverInternal"
}

@test "acme: no handler reachable is a 503 serverInternal problem with Retry-After" {
	jq --arg s "$BATS_TEST_TMPDIR/none.sock" '.handlers.acme = $s' "$D/ca.json.base" >"$CA/config/ca.json"
	serve_listen
	run -0 req GET /acme/acme/directory
	assert_output 503
	assert_equal "$(hdr Content-Type)" application/problem+json
	assert_equal "$(jq -r .type "$BATS_TEST_TMPDIR/body")" "${PROBLEM}serverInternal"
	assert_equal "$(hdr Retry-After)" 5
}

# ---- end to end: real clients ------------------------------------------------------

# acme_ca [N]: an ACME provisioner "acme" whose challenges are checked on
# this host's free ports ($HTTP01, $TLS01), names resolved by a test DNS
# server (helpers/dns.py) from $D/zone.json, with N deny rules (default
# 0, addresses of TEST-NET-2) beside its allow rule; ca-serve on $PORT.
acme_ca() {
	local deny
	deny=$(seq 1 "${1:-0}" | jq -R '"198.51.100.\(.)/32"' | jq -s .)
	HTTP01=$(free_port)
	TLS01=$(free_port)
	printf '%s\n' '{"web.acme.test": {"A": ["127.0.0.1"]}, "api.acme.test": {"A": ["127.0.0.1"]}}' >"$BATS_TEST_TMPDIR/zone.json"
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg "$PY" "$BATS_TEST_DIRNAME/helpers/dns.py" --zone "$BATS_TEST_TMPDIR/zone.json" \
		--port-file "$BATS_TEST_TMPDIR/dns.port"
	wait_for test -s "$BATS_TEST_TMPDIR/dns.port"
	local dns
	dns=$(cat "$BATS_TEST_TMPDIR/dns.port")
	jq --arg r "127.0.0.1:$dns" --argjson h "$HTTP01" --argjson t "$TLS01" --argjson d "$deny" \
		'.authority.provisioners += [{"type": "ACME", "name": "acme", "validation":
		    ({"resolver": $r, "httpPort": $h, "tlsPort": $t, "timeout": "5s", "allow": ["127.0.0.0/8"]}
		     + if $d == [] then {} else {"deny": $d} end)}]' \
		"$D/ca.json.base" >"$CA/config/ca.json"
	serve_listen
	DIRURL="https://127.0.0.1:$PORT/acme/acme/directory"
}

# lego_run ARGS...: lego against the CA, its files under $BATS_TEST_TMPDIR/lego.
lego_run() {
	LEGO_CA_CERTIFICATES="$ROOT" lego --server "$DIRURL" --path "$BATS_TEST_TMPDIR/lego" \
		-a -m ops@acme.test "$@"
}

@test "acme: lego orders a certificate with http-01; it verifies against the root and names what was ordered" {
	acme_ca
	run -0 --separate-stderr lego_run -d web.acme.test --http --http.port "127.0.0.1:$HTTP01" run
	local crt="$BATS_TEST_TMPDIR/lego/certificates/web.acme.test.crt"
	run -0 openssl verify -CAfile "$ROOT" -untrusted "$CA/certs/intermediate_ca.crt" "$crt"
	assert_output "$crt: OK"
	run -0 openssl x509 -in "$crt" -noout -ext subjectAltName
	assert_equal "$(tail -n 1 <<<"$output" | tr -d ' ')" "DNS:web.acme.test"
}

@test "acme: lego with tls-alpn-01 and an RSA key; a second order for the name reuses its valid authorization" {
	acme_ca
	run -0 --separate-stderr lego_run -k rsa2048 -d api.acme.test --tls --tls.port "127.0.0.1:$TLS01" run
	local crt="$BATS_TEST_TMPDIR/lego/certificates/api.acme.test.crt"
	run -0 openssl verify -CAfile "$ROOT" -untrusted "$CA/certs/intermediate_ca.crt" "$crt"
	assert_output "$crt: OK"
	run -0 openssl x509 -in "$crt" -noout -text
	assert_output --partial "Public-Key: (2048 bit)"
	local db="$CA/db/ca.db"
	run -0 sqlite3 "$db" "SELECT count(*) FROM acme_objects WHERE kind = 'authz' AND json_extract(body, '\$.identifier.value') = 'api.acme.test'"
	assert_output 1
	run -0 sqlite3 "$db" "SELECT status FROM acme_objects WHERE kind = 'authz' AND json_extract(body, '\$.identifier.value') = 'api.acme.test'"
	assert_output valid
	# Again, with no challenge server at all: the authorization is valid.
	run -0 --separate-stderr lego_run -k rsa2048 -d api.acme.test --tls --tls.port "127.0.0.1:1" run
	run -0 sqlite3 "$db" "SELECT count(*) FROM acme_objects WHERE kind = 'authz' AND json_extract(body, '\$.identifier.value') = 'api.acme.test'"
	assert_output 1
	run -0 sqlite3 "$db" "SELECT count(*) FROM acme_objects WHERE kind = 'order' AND status = 'valid' AND json_extract(body, '\$.identifiers[0].value') = 'api.acme.test'"
	assert_output 2
	run -0 sqlite3 "$db" "SELECT count(*) FROM certs WHERE provisioner = 'acme' AND sans = '[\"dns:api.acme.test\"]'"
	assert_output 2
}

@test "acme: 24 address rules reach the validator; 25 fail every validation, none is left out" {
	acme_ca 23
	run -0 --separate-stderr lego_run -d web.acme.test --http --http.port "127.0.0.1:$HTTP01" run
	stop_servers
	acme_ca 24
	local before
	before=$(sqlite3 "$CA/db/ca.db" "SELECT count(*) FROM certs")
	run -1 --separate-stderr lego_run -d api.acme.test --http --http.port "127.0.0.1:$HTTP01" run
	assert_regex "$stderr" 'serverInternal.*ca.json: validation: more than 24 allow and deny rules'
	run -0 grep -cx 'ca-acme: ca.json: validation: more than 24 allow and deny rules' "$LOG"
	run -0 sqlite3 "$CA/db/ca.db" "SELECT count(*) FROM certs"
	assert_output "$before"
}

@test "acme: certbot standalone (http-01) gets a certificate the root verifies" {
	acme_ca
	local c="$BATS_TEST_TMPDIR/certbot"
	run -0 --separate-stderr env REQUESTS_CA_BUNDLE="$ROOT" certbot certonly --standalone \
		--non-interactive --agree-tos --no-eff-email -m ops@acme.test \
		--server "$DIRURL" --http-01-port "$HTTP01" --http-01-address 127.0.0.1 \
		--config-dir "$c/conf" --work-dir "$c/work" --logs-dir "$c/logs" -d web.acme.test
	local crt="$c/conf/live/web.acme.test/cert.pem"
	run -0 openssl verify -CAfile "$ROOT" -untrusted "$c/conf/live/web.acme.test/chain.pem" "$crt"
	assert_output "$crt: OK"
	run -0 openssl x509 -in "$crt" -noout -ext subjectAltName
	assert_equal "$(tail -n 1 <<<"$output" | tr -d ' ')" "DNS:web.acme.test"
}

# ---- refusals ----------------------------------------------------------------------

# cli SCENARIO: helpers/acmecli.py against the CA: "STATUS TYPE" per request.
cli() { "$PY" "$BATS_TEST_DIRNAME/helpers/acmecli.py" "$DIRURL" "$ROOT" "$HTTP01" "$1"; }

@test "acme: a nonce is spent once; badNonce carries a fresh one that works; a nonce never given is refused" {
	acme_ca
	run -0 cli replay
	assert_equal "${lines[0]}" "201 -"
	assert_equal "${lines[1]}" "400 badNonce"
	assert_equal "${lines[2]}" "200 -"
	assert_equal "${lines[3]}" "400 badNonce"
}

@test "acme: a JWS whose url is not the request's is refused (unauthorized)" {
	acme_ca
	run -0 cli badurl
	assert_equal "${lines[0]}" "401 unauthorized"
	assert_equal "${lines[1]}" "401 unauthorized"
}

@test "acme: alg none and HS256 are refused (badSignatureAlgorithm)" {
	acme_ca
	run -0 cli algnone
	assert_output "400 badSignatureAlgorithm"
	run -0 cli hs256
	assert_output "400 badSignatureAlgorithm"
}

@test "acme: a kid of another account does not verify; another account's order is not found" {
	acme_ca
	run -0 cli otherkid
	assert_equal "${lines[0]}" "201 -"
	assert_equal "${lines[1]}" "201 -"
	assert_equal "${lines[2]}" "400 malformed"
	assert_equal "${lines[3]}" "201 -"
	assert_equal "${lines[4]}" "404 malformed"
}

@test "acme: finalize before the authorizations are valid is orderNotReady" {
	acme_ca
	run -0 cli early
	assert_equal "${lines[2]}" "403 orderNotReady"
}

@test "acme: a CSR naming other names than the order's, or with the account's key, is badCSR; the right one is issued" {
	acme_ca
	run -0 cli csrnames
	assert_equal "${lines[1]}" "ready"
	assert_equal "${lines[2]}" "403 badCSR"
	assert_equal "${lines[3]}" "403 badCSR"
	assert_equal "${lines[4]}" "400 badCSR"
	assert_equal "${lines[5]}" "200 -"
}

@test "acme: revoke-cert by the certificate's key is recorded as method acme with its reason; another account may not; twice is alreadyRevoked" {
	acme_ca
	run -0 cli revoke
	assert_equal "${lines[1]}" "200 -"
	assert_equal "${lines[2]}" "201 -"
	assert_equal "${lines[3]}" "403 unauthorized"
	assert_equal "${lines[4]}" "200 -"
	assert_equal "${lines[5]}" "400 alreadyRevoked"
	run -0 sqlite3 "$CA/db/ca.db" "SELECT method, reason_code FROM revocations WHERE serial = '${lines[6]}'"
	assert_output "acme|1"
}

@test "acme: lego revoke by the account that ordered it" {
	acme_ca
	run -0 --separate-stderr lego_run -d web.acme.test --http --http.port "127.0.0.1:$HTTP01" run
	local crt="$BATS_TEST_TMPDIR/lego/certificates/web.acme.test.crt" serial
	serial=$(openssl x509 -in "$crt" -noout -serial | cut -d= -f2)
	run -0 --separate-stderr lego_run -d web.acme.test revoke
	run -0 sqlite3 "$CA/db/ca.db" "SELECT method FROM revocations WHERE serial = '$("$PY" -c "print(int('$serial', 16))")'"
	assert_output acme
}

@test "acme: key-change moves the account to the new key; the old key no longer signs for it; another account may not take that key (409)" {
	acme_ca
	run -0 cli keychange
	assert_equal "${lines[0]}" "201 -"
	assert_equal "${lines[1]}" "200 -"
	assert_equal "${lines[2]}" "400 malformed"
	assert_equal "${lines[3]}" "201 -"
	assert_equal "${lines[4]}" "201 -"
	assert_equal "${lines[5]}" "409 malformed"
}

@test "acme: a validator waits, started after a validation with its options, for the next; a provisioner with other options gets its own" {
	acme_ca
	local http02 acme spare spare2
	http02=$(free_port)
	jq --argjson h "$http02" '.authority.provisioners += [.authority.provisioners[-1]
	    | .name = "acme2" | .validation.httpPort = $h]' "$CA/config/ca.json" >"$BATS_TEST_TMPDIR/ca.json"
	cp "$BATS_TEST_TMPDIR/ca.json" "$CA/config/ca.json"
	kill "$SERVE_PID"
	wait "$SERVE_PID" || true
	serve_listen
	DIRURL="https://127.0.0.1:$PORT/acme/acme/directory"
	run -0 --separate-stderr lego_run -d web.acme.test --http --http.port "127.0.0.1:$HTTP01" run
	acme=$(pgrep -P "$SERVE_PID" -x ca-acme)
	spare=$(pgrep -P "$acme" -x ca-acme-va)
	run -0 tr '\0' ' ' <"/proc/$spare/cmdline"
	assert_output --partial "--http-port $HTTP01 "
	# The next validation, same options: the waiting one answers it, and
	# another waits after.
	run -0 --separate-stderr lego_run -d api.acme.test --http --http.port "127.0.0.1:$HTTP01" run
	run -1 kill -0 "$spare"
	spare2=$(pgrep -P "$acme" -x ca-acme-va)
	assert [ "$spare2" != "$spare" ]
	# Another provisioner, another port: a validator of its own, not the
	# waiting one (it would look on $HTTP01, where nothing answers now).
	run -0 --separate-stderr env LEGO_CA_CERTIFICATES="$ROOT" lego --path "$BATS_TEST_TMPDIR/lego2" \
		--server "https://127.0.0.1:$PORT/acme/acme2/directory" -a -m ops@acme.test \
		-d web.acme.test --http --http.port "127.0.0.1:$http02" run
	run -0 openssl x509 -in "$BATS_TEST_TMPDIR/lego2/certificates/web.acme.test.crt" -noout -ext subjectAltName
	assert_equal "$(tail -n 1 <<<"$output" | tr -d ' ')" "DNS:web.acme.test"
	run -0 sqlite3 "$CA/db/ca.db" "SELECT count(*) FROM certs WHERE provisioner = 'acme2'"
	assert_output 1
	# The one waiting for acme's next validation is still there.
	assert_equal "$(pgrep -P "$acme" -x ca-acme-va)" "$spare2"
	run -0 tr '\0' ' ' <"/proc/$spare2/cmdline"
	assert_output --partial "--http-port $HTTP01 "
}
