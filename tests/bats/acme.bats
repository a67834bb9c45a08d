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
	put_file "$CA/config/ca.json" <"$D/ca.json.base"
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
	put_file "$CA/config/ca.json" <"$BATS_TEST_TMPDIR/ca.json"
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
	jq --arg s "$BATS_TEST_TMPDIR/none.sock" '.handlers.acme = $s' "$D/ca.json.base" | put_file "$CA/config/ca.json"
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
		"$D/ca.json.base" | put_file "$CA/config/ca.json"
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

# acme_objs KIND: the rows of acme_objects of KIND, on either backend, one
# JSON object a line: the body, with the row's status as "status".
acme_objs() {
	# One jq for every row: the file's CA home holds hundreds of them.
	dbq "$CA" "SELECT status || ' ' || body FROM acme_objects WHERE kind = '$1'" |
		jq -R -c 'capture("^(?<s>[^ ]*) (?<b>.*)$") | (.b | fromjson) + {status: .s}'
}

@test "acme: lego with tls-alpn-01 and an RSA key; a second order for the name reuses its valid authorization" {
	acme_ca
	run -0 --separate-stderr lego_run -k rsa2048 -d api.acme.test --tls --tls.port "127.0.0.1:$TLS01" run
	local crt="$BATS_TEST_TMPDIR/lego/certificates/api.acme.test.crt"
	run -0 openssl verify -CAfile "$ROOT" -untrusted "$CA/certs/intermediate_ca.crt" "$crt"
	assert_output "$crt: OK"
	run -0 openssl x509 -in "$crt" -noout -text
	assert_output --partial "Public-Key: (2048 bit)"
	run -0 acme_objs authz
	assert_equal "$(jq -s 'map(select(.identifier.value == "api.acme.test")) | length' <<<"$output")" 1
	assert_equal "$(jq -r 'select(.identifier.value == "api.acme.test") | .status' <<<"$output")" valid
	# Again, with no challenge server at all: the authorization is valid.
	run -0 --separate-stderr lego_run -k rsa2048 -d api.acme.test --tls --tls.port "127.0.0.1:1" run
	run -0 acme_objs authz
	assert_equal "$(jq -s 'map(select(.identifier.value == "api.acme.test")) | length' <<<"$output")" 1
	run -0 acme_objs order
	assert_equal "$(jq -s 'map(select(.status == "valid" and .identifiers[0].value == "api.acme.test")) | length' <<<"$output")" 2
	run -0 dbq "$CA" "SELECT count(*) FROM certs WHERE provisioner = 'acme' AND sans = '[\"dns:api.acme.test\"]'"
	assert_output 2
}

@test "acme: 24 address rules reach the validator; 25 are refused when ca.json is read, before any validation" {
	acme_ca 23
	run -0 --separate-stderr lego_run -d web.acme.test --http --http.port "127.0.0.1:$HTTP01" run
	stop_servers
	acme_ca 24
	local n why
	n=$(jq '.authority.provisioners | length - 1' "$CA/config/ca.json")
	why="ca.json: authority.provisioners[$n].validation: 25 allow and deny rules: at most 24"
	# Through ca-serve: its acme pool's handlers end as they start, and a
	# request is refused as soon as none runs, not held.
	run -0 curl -sS --cacert "$ROOT" -o /dev/null -w '%{http_code}' "$DIRURL"
	assert_output 503
	run -0 grep -F "ca-acme: $why" "$LOG"
	run -0 grep -F "handler pool acme: no handler runs (the last refused to start): refused" "$LOG"
	# A handler on a socket does not start: exit 4, one line.
	run -4 --separate-stderr ca-acme --api --offline --dir "$CA" --socket "$BATS_TEST_TMPDIR/h.sock"
	assert_output ""
	assert_equal "$stderr" "ca-acme: $why"
	# A handler on a stream answers every request with why, a 500 problem.
	run -0 --separate-stderr ca-acme --api --offline --dir "$CA" \
		<<<'{"acme":{"method":"GET","path":"/acme/acme/directory","host":"ca.example","body":null}}'
	assert_equal "$(jq -r .httpStatus <<<"$output")" 500
	assert_equal "$(jq -r '.body | fromjson | .type' <<<"$output")" "${PROBLEM}serverInternal"
	assert_equal "$(jq -r '.body | fromjson | .detail' <<<"$output")" "$why"
	# And ca-init --check refuses it.
	run -4 --separate-stderr ca-init --check --dir "$CA"
	assert_equal "$stderr" "ca-init: $why"
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
	run -0 dbq "$CA" "SELECT method, reason_code FROM revocations WHERE serial = '${lines[6]}'"
	assert_output "acme|1"
}

@test "acme: lego revoke by the account that ordered it" {
	acme_ca
	run -0 --separate-stderr lego_run -d web.acme.test --http --http.port "127.0.0.1:$HTTP01" run
	local crt="$BATS_TEST_TMPDIR/lego/certificates/web.acme.test.crt" serial
	serial=$(openssl x509 -in "$crt" -noout -serial | cut -d= -f2)
	run -0 --separate-stderr lego_run -d web.acme.test revoke
	run -0 dbq "$CA" "SELECT method FROM revocations WHERE serial = '$("$PY" -c "print(int('$serial', 16))")'"
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

# ---- the handler alone, and refusals documented in ca-acme(8) ----------------------

@test "acme: a CA home that does not load: the stream answers every request with a 500 problem and ends 0; with --socket ca-acme does not start (4)" {
	local none="$BATS_TEST_TMPDIR/none" q why
	q='{"acme":{"method":"GET","path":"/acme/acme/directory","host":"ca.example","body":null}}'
	why="$none/config/ca.json: no CA here (run ca-init, or give --dir)"
	run -0 --separate-stderr ca-acme --api --offline --dir "$none" <<<"$q$q"
	assert_equal "${#lines[@]}" 2
	assert_equal "$(jq -r .httpStatus <<<"${lines[0]}")" 500
	assert_equal "$(jq -r .contentType <<<"${lines[0]}")" application/problem+json
	assert_equal "$(jq -r '.body | fromjson | .type' <<<"${lines[0]}")" "${PROBLEM}serverInternal"
	assert_equal "$(jq -r '.body | fromjson | .detail' <<<"${lines[1]}")" "$why"
	assert_equal "$stderr" "ca-acme: $why
ca-acme: $why"
	run -4 --separate-stderr ca-acme --api --offline --dir "$none" --socket "$BATS_TEST_TMPDIR/h.sock"
	assert_output ""
	assert_equal "$stderr" "ca-acme: $why"
	test ! -e "$BATS_TEST_TMPDIR/h.sock"
	# What ends the stream otherwise: a request that is not a JSON object (3).
	run -3 --separate-stderr ca-acme --api --offline --dir "$none" <<<'["acme"]'
	assert_output '{"status":400,"message":"request: malformed JSON: not an object"}'
}

@test "acme: contacts: more than 8, not a list, or a mailto: that is not one address is invalidContact; another scheme is unsupportedContact; on update too" {
	acme_ca
	run -0 cli contacts
	assert_equal "${lines[0]}" "400 invalidContact"
	assert_equal "${lines[1]}" "400 invalidContact"
	assert_equal "${lines[2]}" "400 unsupportedContact"
	assert_equal "${lines[3]}" "400 unsupportedContact"
	assert_equal "${lines[4]}" "400 invalidContact"
	assert_equal "${lines[5]}" "400 invalidContact"
	assert_equal "${lines[6]}" "400 invalidContact"
	assert_equal "${lines[7]}" "400 invalidContact"
	assert_equal "${lines[8]}" "201 -"
	assert_equal "${lines[9]}" 8
	assert_equal "${lines[10]}" "400 invalidContact"
	assert_equal "${lines[11]}" "400 unsupportedContact"
	assert_equal "${lines[12]}" "200 -"
	assert_equal "${lines[13]}" True
}

@test "acme: onlyReturnExisting without an account is accountDoesNotExist, and creates none; with one it is that account" {
	acme_ca
	local before
	before=$(dbq "$CA" "SELECT count(*) FROM acme_objects WHERE kind = 'account'")
	run -0 cli onlyexisting
	assert_equal "${lines[0]}" "400 accountDoesNotExist"
	assert_equal "${lines[1]}" "201 -"
	assert_equal "${lines[2]}" "200 -"
	assert_equal "${lines[3]}" True
	run -0 dbq "$CA" "SELECT count(*) - $before FROM acme_objects WHERE kind = 'account'"
	assert_output 1
}

@test "acme: an order of 101 identifiers, or none, is malformed; 100 are taken" {
	acme_ca
	run -0 cli identifiers
	assert_equal "${lines[0]}" "201 -"
	assert_equal "${lines[1]}" "400 malformed"
	assert_equal "${lines[2]}" "400 malformed"
	assert_equal "${lines[3]}" "201 -"
	assert_equal "${lines[4]}" 100
}

@test "acme: a name the policy denies is rejectedIdentifier, alone or beside an allowed one, as is a name misspelt; another type is unsupportedIdentifier" {
	acme_ca
	jq '.authority.policy.x509 = {"deny": {"dns": ["api.acme.test"]}}' "$CA/config/ca.json" >"$BATS_TEST_TMPDIR/ca.json"
	mv "$BATS_TEST_TMPDIR/ca.json" "$CA/config/ca.json"
	local before
	before=$(acme_objs authz | jq -s 'map(select(.identifier.value == "api.acme.test")) | length')
	run -0 cli rejected
	assert_equal "${lines[0]}" "201 -"
	assert_equal "${lines[1]}" "201 -"
	assert_equal "${lines[2]}" "400 rejectedIdentifier"
	assert_equal "${lines[3]}" "400 rejectedIdentifier"
	assert_equal "${lines[4]}" "400 rejectedIdentifier"
	assert_equal "${lines[5]}" "400 rejectedIdentifier"
	assert_equal "${lines[6]}" "400 unsupportedIdentifier"
	run -0 acme_objs authz
	assert_equal "$(jq -s 'map(select(.identifier.value == "api.acme.test")) | length' <<<"$output")" "$before"
}

@test "acme: a deactivated account may not order, be read or be changed (unauthorized); only deactivated may be asked for" {
	acme_ca
	run -0 cli deactivate
	assert_equal "${lines[0]}" "201 -"
	assert_equal "${lines[1]}" "400 malformed"
	assert_equal "${lines[2]}" "200 -"
	assert_equal "${lines[3]}" deactivated
	assert_equal "${lines[4]}" "401 unauthorized"
	assert_equal "${lines[5]}" "401 unauthorized"
	assert_equal "${lines[6]}" "401 unauthorized"
	run -0 dbq "$CA" "SELECT status FROM acme_objects WHERE kind = 'account' AND id = '${lines[7]}'"
	assert_output deactivated
	run -0 dbq "$CA" "SELECT count(*) FROM acme_objects WHERE kind = 'order' AND account = '${lines[7]}'"
	assert_output 0
}

@test "acme: a deactivated authorization makes its order invalid; the next order for the name gets a new one" {
	acme_ca
	run -0 cli authzdeact
	assert_equal "${lines[0]}" "201 -"
	assert_equal "${lines[1]}" "201 -"
	assert_equal "${lines[2]}" "400 malformed"
	assert_equal "${lines[3]}" "200 -"
	assert_equal "${lines[4]}" deactivated
	assert_equal "${lines[5]}" invalid
	assert_equal "${lines[6]}" "201 -"
	assert_equal "${lines[7]}" True
	run -0 dbq "$CA" "SELECT status FROM acme_objects WHERE kind = 'authz' AND id = '${lines[8]}'"
	assert_output deactivated
}

@test "acme: the validation's deadline is on the monotonic clock: a wall clock running fast does not cut a slow challenge short" {
	acme_ca
	# The handler on a socket, its wall clock 20 times as fast as the real
	# one (its monotonic clock untouched); a validation may take 3 x 3s.
	local s="$BATS_TEST_TMPDIR/acme.sock"
	jq --arg s "$s" '.handlers.acme = $s | (.authority.provisioners[] | select(.name == "acme") | .validation.timeout) = "3s"' \
		"$CA/config/ca.json" >"$BATS_TEST_TMPDIR/ca.json"
	mv "$BATS_TEST_TMPDIR/ca.json" "$CA/config/ca.json"
	# faketime (common.bash) execs: teardown's kill reaches the handler.
	FAKETIME_DONT_FAKE_MONOTONIC=1 bg faketime '+0 x20' \
		ca-acme --api --offline --dir "$CA" --socket "$s"
	wait_for test -S "$s"
	kill -HUP "$SERVE_PID"
	wait_for grep -q '"message":"reloaded' "$LOG"
	# The challenge's server answers after 2 real seconds: 40 on that wall clock.
	run -0 cli slow
	assert_equal "${lines[0]}" "201 -"
	assert_equal "${lines[1]}" "201 -"
	assert_equal "${lines[2]}" "200 -"
	assert_equal "${lines[3]}" valid
}

# webroot DIR: a web server for DIR on 127.0.0.1:$HTTP01, as the
# docs/ACME.md set-ups have one serving /.well-known/acme-challenge/.
webroot() {
	mkdir -p "$1"
	bg "$PY" -m http.server --bind 127.0.0.1 --directory "$1" "$HTTP01"
	wait_for port_open "$HTTP01"
}

@test "acme: docs/ACME.md's certbot set-up: --webroot with a deploy hook; certbot renew renews only within renew_before_expiry" {
	acme_ca
	local c="$BATS_TEST_TMPDIR/certbot" w="$BATS_TEST_TMPDIR/www" s1 conf
	webroot "$w"
	run -0 --separate-stderr env REQUESTS_CA_BUNDLE="$ROOT" certbot certonly --webroot -w "$w" \
		--server "$DIRURL" --non-interactive --agree-tos --no-eff-email -m ops@acme.test \
		-d web.acme.test --deploy-hook "touch $BATS_TEST_TMPDIR/deployed" \
		--config-dir "$c/conf" --work-dir "$c/work" --logs-dir "$c/logs"
	rm "$BATS_TEST_TMPDIR/deployed"
	s1=$(openssl x509 -in "$c/conf/live/web.acme.test/cert.pem" -noout -serial)
	conf="$c/conf/renewal/web.acme.test.conf"
	run -0 head -n 1 "$conf"
	assert_output "# renew_before_expiry = 30 days"
	sed -i '1s/.*/renew_before_expiry = 8 hours/' "$conf"
	run -0 --separate-stderr env REQUESTS_CA_BUNDLE="$ROOT" certbot renew --non-interactive \
		--no-random-sleep-on-renew --config-dir "$c/conf" --work-dir "$c/work" --logs-dir "$c/logs"
	assert_output --partial "No renewals were attempted."
	test ! -e "$BATS_TEST_TMPDIR/deployed"
	# A day's certificate is within 30 hours of its end: renewed, hook run.
	sed -i '1s/.*/renew_before_expiry = 30 hours/' "$conf"
	run -0 --separate-stderr env REQUESTS_CA_BUNDLE="$ROOT" certbot renew --non-interactive \
		--no-random-sleep-on-renew --config-dir "$c/conf" --work-dir "$c/work" --logs-dir "$c/logs"
	assert_output --partial "all renewals succeeded"
	test -e "$BATS_TEST_TMPDIR/deployed"
	run -0 openssl x509 -in "$c/conf/live/web.acme.test/cert.pem" -noout -serial
	refute_output "$s1"
	run -0 openssl verify -CAfile "$ROOT" -untrusted "$c/conf/live/web.acme.test/chain.pem" \
		"$c/conf/live/web.acme.test/cert.pem"
}

@test "acme: docs/ACME.md's lego set-up: --http.webroot, then renew --days 1 renews a day's certificate and runs its hook" {
	acme_ca
	local w="$BATS_TEST_TMPDIR/www" crt="$BATS_TEST_TMPDIR/lego/certificates/web.acme.test.crt" s1
	webroot "$w"
	run -0 --separate-stderr lego_run -d web.acme.test --http --http.webroot "$w" run
	s1=$(openssl x509 -in "$crt" -noout -serial)
	run -0 --separate-stderr lego_run -d web.acme.test --http --http.webroot "$w" \
		renew --days 1 --no-random-sleep --renew-hook "touch $BATS_TEST_TMPDIR/renewed"
	test -e "$BATS_TEST_TMPDIR/renewed"
	run -0 openssl x509 -in "$crt" -noout -serial
	refute_output "$s1"
	run -0 openssl verify -CAfile "$ROOT" -untrusted "$CA/certs/intermediate_ca.crt" "$crt"
	assert_output "$crt: OK"
}

# ---- the certificate's lifecycle --------------------------------------------------

@test "acme: a revoked certificate's key revokes nothing again, is no account's key, and no certificate request's, for any account" {
	acme_ca
	local certs revs accts
	certs=$(dbq "$CA" "SELECT count(*) FROM certs WHERE provisioner = 'acme'")
	revs=$(dbq "$CA" "SELECT count(*) FROM revocations")
	accts=$(dbq "$CA" "SELECT count(*) FROM acme_objects WHERE kind = 'account'")
	run -0 cli revokedkey
	assert_equal "${lines[0]}" "201 -"
	assert_equal "${lines[1]}" "200 -"
	assert_equal "${lines[2]}" "200 -"
	assert_equal "${lines[3]}" "400 alreadyRevoked"
	assert_equal "${lines[4]}" "400 badPublicKey"
	assert_equal "${lines[5]}" "201 -"
	assert_equal "${lines[6]}" "400 badCSR"
	assert_equal "${lines[7]}" "400 badPublicKey"
	assert_equal "${lines[8]}" "400 badCSR"
	assert_equal "${lines[9]}" "200 -"
	assert_equal "${#lines[@]}" 10
	# Two certificates, one revoked; one account per key that asked.
	run -0 dbq "$CA" "SELECT count(*) FROM certs WHERE provisioner = 'acme'"
	assert_output $((certs + 2))
	run -0 dbq "$CA" "SELECT count(*) FROM revocations"
	assert_output $((revs + 1))
	run -0 dbq "$CA" "SELECT count(*) FROM acme_objects WHERE kind = 'account'"
	assert_output $((accts + 2))
}

# dec HEX: a serial as openssl prints it (hex), in decimal.
dec() { "$PY" -c "print(int('$1', 16))"; }

@test "acme: lego (an EC account key) renews: a new serial the root verifies, in ca-list; lego revokes it: ca-list --revoked and the CRL list it" {
	acme_ca
	run -0 --separate-stderr lego_run -d web.acme.test --http --http.port "127.0.0.1:$HTTP01" run
	run -0 openssl pkey -in "$(ls "$BATS_TEST_TMPDIR"/lego/accounts/*/ops@acme.test/keys/ops@acme.test.key)" -noout -text
	assert_output --partial "ASN1 OID: prime256v1"
	local crt="$BATS_TEST_TMPDIR/lego/certificates/web.acme.test.crt" s1 s2
	s1=$(dec "$(openssl x509 -in "$crt" -noout -serial | cut -d= -f2)")
	# The certificate lives 24 hours: renewing within 2 days is due now.
	# Without a terminal lego renew first sleeps up to 8 minutes at random.
	run -0 --separate-stderr lego_run -d web.acme.test --http --http.port "127.0.0.1:$HTTP01" \
		renew --days 2 --no-random-sleep
	s2=$(dec "$(openssl x509 -in "$crt" -noout -serial | cut -d= -f2)")
	assert [ "$s1" != "$s2" ]
	run -0 openssl verify -CAfile "$ROOT" -untrusted "$CA/certs/intermediate_ca.crt" "$crt"
	assert_output "$crt: OK"
	run -0 ca-list --dir "$CA" --serial "$s1"
	run -0 ca-list --dir "$CA" --serial "$s2"
	assert_equal "$(jq -r .revoked <<<"$output")" false
	assert_equal "$(jq -r .provisioner <<<"$output")" acme
	run -0 --separate-stderr lego_run -d web.acme.test revoke --reason 4
	run -0 ca-list --dir "$CA" --revoked
	assert_equal "$(jq -c --arg s "$s2" 'select(.serial == $s) | [.reasonCode, .revocationMethod]' <<<"$output")" '[4,"acme"]'
	assert_equal "$(jq -c --arg s "$s1" 'select(.serial == $s)' <<<"$output")" ""
	run -0 --separate-stderr ca-revoke --crl --offline --dir "$CA" --pem --out "$BATS_TEST_TMPDIR/crl.pem"
	run -0 openssl crl -in "$BATS_TEST_TMPDIR/crl.pem" -CAfile "$CA/certs/intermediate_ca.crt" -noout -text
	run -0 grep -A4 "Serial Number: $(openssl x509 -in "$crt" -noout -serial | cut -d= -f2)" <<<"$output"
	assert_output --partial "Superseded"
}

@test "acme: certbot (an RSA account key) gets an EC certificate and renews it: a new serial the root verifies" {
	acme_ca
	local c="$BATS_TEST_TMPDIR/certbot" s1 s2
	set -- env REQUESTS_CA_BUNDLE="$ROOT" certbot --non-interactive --config-dir "$c/conf" \
		--work-dir "$c/work" --logs-dir "$c/logs"
	run -0 --separate-stderr "$@" certonly --standalone --agree-tos --no-eff-email -m ops@acme.test \
		--server "$DIRURL" --http-01-port "$HTTP01" --http-01-address 127.0.0.1 -d web.acme.test
	run -0 jq -r .kty "$(find "$c/conf/accounts" -name private_key.json)"
	assert_output RSA
	local crt="$c/conf/live/web.acme.test/cert.pem"
	run -0 openssl x509 -in "$crt" -noout -text
	assert_output --partial "id-ecPublicKey"
	s1=$(openssl x509 -in "$crt" -noout -serial)
	# Without a terminal certbot renew first sleeps up to 8 minutes at random.
	run -0 --separate-stderr "$@" renew --force-renewal --no-random-sleep-on-renew
	s2=$(openssl x509 -in "$crt" -noout -serial)
	assert [ "$s1" != "$s2" ]
	run -0 openssl verify -CAfile "$ROOT" -untrusted "$c/conf/live/web.acme.test/chain.pem" "$crt"
	assert_output "$crt: OK"
	run -0 ca-list --dir "$CA" --serial "$(dec "${s2#serial=}")"
	assert_equal "$(jq -r .provisioner <<<"$output")" acme
}

# dns_hook: the script lego's exec DNS provider calls ("present" or
# "cleanup", FQDN, VALUE): it adds VALUE to FQDN's TXT records in
# $BATS_TEST_TMPDIR/zone.json, or takes it away; helpers/dns.py reads the
# zone for every query.
dns_hook() {
	local h="$BATS_TEST_TMPDIR/dns-hook"
	cat >"$h" <<-'EOS'
	#!/bin/sh
	z=$ZONE
	n=${2%.}
	case $1 in
	present) f='.[$n].TXT = ((.[$n].TXT // []) + [$v])' ;;
	cleanup) f='.[$n].TXT -= [$v]' ;;
	*) exit 0 ;;
	esac
	jq --arg n "$n" --arg v "$3" "$f" "$z" >"$z.new" && mv "$z.new" "$z"
	echo "$1 $n" >>"$z.log"
	EOS
	chmod +x "$h"
	echo "$h"
}

# acme_ca_policy POLICY: acme_ca, with ca.json's authority.policy.x509
# POLICY.
acme_ca_policy() {
	cp "$D/ca.json.base" "$D/ca.json.keep"
	jq --argjson p "$1" '.authority.policy.x509 = $p' "$D/ca.json.keep" >"$D/ca.json.base"
	acme_ca
	mv "$D/ca.json.keep" "$D/ca.json.base"
}

@test "acme: lego with dns-01 (exec provider) gets a certificate for a name and its wildcard, TXT records through the configured resolver; a wildcard is offered dns-01 alone, an address never" {
	acme_ca_policy '{"allowWildcardNames": true}'
	local dns
	dns=$(cat "$BATS_TEST_TMPDIR/dns.port")
	EXEC_PATH=$(dns_hook)
	ZONE=$BATS_TEST_TMPDIR/zone.json
	export EXEC_PATH ZONE EXEC_POLLING_INTERVAL=1 EXEC_PROPAGATION_TIMEOUT=20
	# The name and its wildcard share one TXT name: lego solves them one
	# after the other, EXEC_SEQUENCE_INTERVAL apart (60 s by default).
	export EXEC_SEQUENCE_INTERVAL=1
	run -0 --separate-stderr lego_run -d 'acme.test' -d '*.acme.test' --dns exec --dns.resolvers "127.0.0.1:$dns" --dns.disable-cp run
	local crt="$BATS_TEST_TMPDIR/lego/certificates/acme.test.crt"
	run -0 openssl verify -CAfile "$ROOT" -untrusted "$CA/certs/intermediate_ca.crt" "$crt"
	assert_output "$crt: OK"
	run -0 openssl x509 -in "$crt" -noout -ext subjectAltName
	assert_equal "$(tail -n 1 <<<"$output" | tr -d ' ')" "DNS:acme.test,DNS:*.acme.test"
	# Both TXT records were put and taken away; the wildcard's order was
	# offered dns-01 alone.
	run -0 grep -c '^present _acme-challenge.acme.test$' "$BATS_TEST_TMPDIR/zone.json.log"
	assert_output 2
	run -0 jq -c '."_acme-challenge.acme.test".TXT' "$BATS_TEST_TMPDIR/zone.json"
	assert_output '[]'
	run -0 dbq "$CA" "SELECT body FROM acme_objects WHERE kind = 'authz'"
	assert_equal "$(jq -sc 'map(select(.wildcard == true) | .identifier.value)' <<<"$output")" '["acme.test"]'
	run -0 dbq "$CA" "SELECT count(*) FROM acme_objects WHERE kind = 'challenge' AND status = 'valid' AND body LIKE '%"dns-01"%'"
	assert_output 2
	run -0 cli challtypes
	assert_equal "${lines[0]}" "127.0.0.1 http-01 tls-alpn-01"
	assert_equal "${lines[1]}" "*.acme.test dns-01"
	assert_equal "${lines[2]}" "web.acme.test dns-01 http-01 tls-alpn-01"
}

@test "acme: an IP address (RFC 8738) with http-01 gets a certificate with an IP SAN; lego, which asks for it as a dns name, is refused" {
	acme_ca
	run -0 cli ip
	assert_equal "${lines[0]}" "201 -"
	assert_equal "${lines[1]}" "201 -"
	assert_equal "${lines[2]}" "ready"
	assert_equal "${lines[3]}" "200 -"
	assert_equal "${lines[4]}" "IP:127.0.0.1"
	run -0 dbq "$CA" "SELECT count(*) FROM certs WHERE provisioner = 'acme' AND sans = '[\"ip:127.0.0.1\"]'"
	assert_output 1
	# This lego sends {"type": "dns", "value": "127.0.0.1"}.
	run -1 --separate-stderr lego_run -d 127.0.0.1 --http --http.port "127.0.0.1:$HTTP01" run
	assert_regex "$stderr" 'rejectedIdentifier :: identifiers\[0\]: 127.0.0.1: ambiguous name \(looks like an IP address\)'
}

@test "acme: a pending authorization carries Retry-After; a pending order (the client's move) and a valid authorization do not" {
	acme_ca
	run -0 cli retryafter
	assert_equal "${lines[0]}" "pending 1"
	assert_equal "${lines[1]}" "pending -"
	assert_equal "${lines[2]}" "valid -"
}

@test "acme: a validator waits, started after a validation with its options, for the next; a provisioner with other options gets its own" {
	acme_ca
	local http02 acme spare spare2
	http02=$(free_port)
	jq --argjson h "$http02" '.authority.provisioners += [.authority.provisioners[-1]
	    | .name = "acme2" | .validation.httpPort = $h]' "$CA/config/ca.json" >"$BATS_TEST_TMPDIR/ca.json"
	put_file "$CA/config/ca.json" <"$BATS_TEST_TMPDIR/ca.json"
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
	run -0 dbq "$CA" "SELECT count(*) FROM certs WHERE provisioner = 'acme2'"
	assert_output 1
	# The one waiting for acme's next validation is still there.
	assert_equal "$(pgrep -P "$acme" -x ca-acme-va)" "$spare2"
	run -0 tr '\0' ' ' <"/proc/$spare2/cmdline"
	assert_output --partial "--http-port $HTTP01 "
}
