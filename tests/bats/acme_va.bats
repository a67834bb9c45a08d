#!/usr/bin/env bats
# ca-acme-va, the ACME challenge validator, against real servers on
# 127.0.0.1: an http-01 responder (helpers/http01.py), a tls-alpn-01
# responder (helpers/alpn.py, certificates made by openssl) and a DNS
# server (helpers/dns.py) that every name is looked up through.  Each
# server logs what it saw, so a refusal "without a connection" is checked
# on the server's side too.

load common

HELP="$BATS_TEST_DIRNAME/helpers"
PY=/usr/bin/python3

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	TOKEN=evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA
	KA="$TOKEN.$(printf 'A%.0s' $(seq 43))"
	DIGEST=$(printf %s "$KA" | openssl dgst -sha256 -binary | basenc --base64url | tr -d =)
	export TOKEN KA DIGEST
	cat >"$D/zone.json" <<-EOF
	{
	  "ok.test": {"A": ["127.0.0.1"]},
	  "cname.test": {"CNAME": "ok.test"},
	  "two.test": {"A": ["127.0.0.1", "127.0.0.2"]},
	  "red.test": {"A": ["127.0.0.2"]},
	  "meta.test": {"A": ["169.254.169.254"]},
	  "v6.test": {"AAAA": ["::1"]},
	  "mapped.test": {"AAAA": ["::ffff:127.0.0.1"]},
	  "nat64.test": {"AAAA": ["64:ff9b::a9fe:a9fe"]},
	  "meta6.test": {"AAAA": ["fd00:ec2::254"]},
	  "three.test": {"A": ["127.0.0.1", "127.0.0.2", "127.0.0.3"]},
	  "none.test": {},
	  "_acme-challenge.ok.test": {"TXT": ["something else", "$DIGEST"]},
	  "_acme-challenge.wrong.test": {"TXT": ["something else"]},
	  "_acme-challenge.cname.test": {"CNAME": "_acme-challenge.ok.test"},
	  "_acme-challenge.none.test": {},
	  "_acme-challenge.fail.test": "servfail",
	  "_acme-challenge.slow.test": "silent",
	  "_acme-challenge.badid.test": "badid",
	  "_acme-challenge.otherq.test": "otherq",
	  "stray.test": {"STRAY": {"name": "ok.test", "A": ["127.0.0.1"]}},
	  "_acme-challenge.big.test": {"TXT": ["$(printf 'x%.0s' $(seq 200))",
	    "$(printf 'y%.0s' $(seq 200))", "$(printf 'z%.0s' $(seq 300))", "$DIGEST"]}
	}
	EOF
	"$PY" "$HELP/dns.py" --zone "$D/zone.json" --port-file "$D/dns.port" \
		--log "$D/dns.log" 2>>"$D/dns.err" 3>&- &
	echo $! >"$D/dns.pid"
	wait_for test -s "$D/dns.port"
	DNS="127.0.0.1:$(cat "$D/dns.port")"
	export DNS
}

teardown_file() {
	kill "$(cat "$D/dns.pid")" 2>/dev/null || true
}

setup() {
	T=$BATS_TEST_TMPDIR
	HP=$(free_port)
	: >"$T/http.log"
	: >"$T/http2.log"
	: >"$T/alpn.log"
}

teardown() {
	local p
	[ -f "$T/pids" ] || return 0
	while read -r p; do
		kill "$p" 2>/dev/null || true
	done <"$T/pids"
}

# free_port: a TCP port nobody listens on now.
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# port_open ADDR PORT
port_open() { (exec 9<>"/dev/tcp/$1/$2") 2>/dev/null; }

# bg COMMAND...: a server in the background, killed by teardown.
bg() {
	"$@" 2>>"$T/servers.err" 3>&- &
	echo $! >>"$T/pids"
}

# http_server ADDR LOG: http01.py on ADDR:$HP with the routes of $T/routes.json.
http_server() {
	[ -f "$T/routes.json" ] || echo '{}' >"$T/routes.json"
	bg "$PY" "$HELP/http01.py" --bind "$1" --port "$HP" \
		--routes "$T/routes.json" --log "$2"
	wait_for port_open "$1" "$HP"
	: >"$2"
}

# routes JSON: the http-01 responder's routes.
routes() { printf '%s\n' "$1" >"$T/routes.json"; }

# path: the challenge's path.
CPATH=/.well-known/acme-challenge/evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA

# req TYPE IDTYPE VALUE [TOKEN [KA]]: one request line.
req() {
	jq -nc --arg t "$1" --arg it "$2" --arg v "$3" --arg tok "${4-$TOKEN}" \
		--arg ka "${5-$KA}" \
		'{type: $t, identifier: {type: $it, value: $v}, token: $tok,
		  keyAuthorization: $ka}'
}

# va [OPTIONS...]: the validator on the test resolver and ports ($TMO: its
# timeout, 3s unless set).
va() {
	ca-acme-va --resolver "$DNS" --http-port "$HP" --tls-port "$HP" \
		--timeout "${TMO:-3s}" "$@"
}

# error_type: the error type of the answer in $output.
error_type() { jq -r '.error.type' <<<"$output"; }
detail() { jq -r '.error.detail' <<<"$output"; }

# alpn_cert NAME [openssl req -addext arguments...]: a self-signed
# certificate and key NAME.crt, NAME.key in $T.
alpn_cert() {
	local n=$1
	shift
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$n.key" -out "$T/$n.crt" -subj /CN=acme -days 1 \
		"$@" 2>/dev/null
}

# The DER value of the extension: OCTET STRING of SHA-256 of $1.
acme_ext() {
	printf '0420%s' "$(printf %s "$1" | openssl dgst -sha256 -binary | xxd -p -c 64)"
}

# alpn_server NAME [alpn.py options...]: alpn.py on 127.0.0.1:$HP with NAME's certificate.
alpn_server() {
	local n=$1
	shift
	bg "$PY" "$HELP/alpn.py" --port "$HP" --cert "$T/$n.crt" \
		--key "$T/$n.key" --log "$T/alpn.log" "$@"
	wait_for port_open 127.0.0.1 "$HP"
	: >"$T/alpn.log"
}

# ---- http-01 ----

@test "acme-va: http-01 ok the body is the key authorization, a trailing newline allowed, Host is the name" {
	routes "{\"$CPATH\": {\"body\": \"$KA\\n\"}}"
	http_server 127.0.0.1 "$T/http.log"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_output '{"valid":true}'
	assert_equal "$stderr" ""
	run cat "$T/http.log"
	assert_output "$CPATH ok.test"
}

@test "acme-va: http-01 ok through a CNAME, and for an IP identifier" {
	routes "{\"$CPATH\": {\"body\": \"$KA\"}}"
	http_server 127.0.0.1 "$T/http.log"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns cname.test)
$(req http-01 ip 127.0.0.1)"
	assert_line --index 0 '{"valid":true}'
	assert_line --index 1 '{"valid":true}'
	run cat "$T/http.log"
	assert_line --index 0 "$CPATH cname.test"
	assert_line --index 1 "$CPATH 127.0.0.1"
}

@test "acme-va: http-01 fail a wrong body (incorrectResponse)" {
	routes "{\"$CPATH\": {\"body\": \"$TOKEN.wrong\"}}"
	http_server 127.0.0.1 "$T/http.log"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(jq -r .valid <<<"$output")" false
	assert_equal "$(error_type)" urn:ietf:params:acme:error:incorrectResponse
	assert_equal "$(detail)" "http://ok.test:$HP$CPATH: the body is not the key authorization"
}

@test "acme-va: http-01 fail the key authorization with leading whitespace or a second line" {
	routes "{\"$CPATH\": {\"body\": \" $KA\"}, \"/two\": {\"status\": 302, \"location\": \"$CPATH\"}}"
	http_server 127.0.0.1 "$T/http.log"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(error_type)" urn:ietf:params:acme:error:incorrectResponse
	routes "{\"$CPATH\": {\"body\": \"$KA\\nmore\"}}"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(error_type)" urn:ietf:params:acme:error:incorrectResponse
}

@test "acme-va: http-01 fail 404 (unauthorized)" {
	routes '{}'
	http_server 127.0.0.1 "$T/http.log"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(error_type)" urn:ietf:params:acme:error:unauthorized
	assert_equal "$(detail)" "http://ok.test:$HP$CPATH: HTTP status 404"
}

@test "acme-va: http-01 fail a body over 8 KiB (incorrectResponse); 8 KiB with the key authorization is read whole" {
	local pad=$((8192 - ${#KA}))
	routes "{\"$CPATH\": {\"body\": \"$KA$(printf ' %.0s' $(seq $pad))\"}}"
	http_server 127.0.0.1 "$T/http.log"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_output '{"valid":true}'
	routes "{\"$CPATH\": {\"body\": \"$KA$(printf ' %.0s' $(seq $((pad + 1))))\"}}"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(error_type)" urn:ietf:params:acme:error:incorrectResponse
	assert_equal "$(detail)" "http://ok.test:$HP$CPATH: the body is over 8192 bytes"
}

@test "acme-va: http-01 ok through a redirect to an allowed name and address" {
	# The name as the redirect spells it, upper case and a final dot: the
	# request goes to it as checked, cname.test.
	routes "{\"$CPATH\": {\"status\": 302, \"location\": \"http://CName.Test.:$HP/final\"},
		\"/final\": {\"status\": 301, \"location\": \"http://127.0.0.1:$HP/last\"},
		\"/last\": {\"body\": \"$KA\"}}"
	http_server 127.0.0.1 "$T/http.log"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_output '{"valid":true}'
	run cat "$T/http.log"
	assert_line --index 0 "$CPATH ok.test"
	assert_line --index 1 "/final cname.test:$HP"
	assert_line --index 2 "/last 127.0.0.1:$HP"
}

@test "acme-va: http-01 fail a redirect to a denied address or name is not followed (connection)" {
	http_server 127.0.0.2 "$T/http2.log"
	routes "{\"$CPATH\": {\"status\": 302, \"location\": \"http://127.0.0.2:$HP/x\"},
		\"/red\": {\"status\": 307, \"location\": \"http://red.test:$HP/x\"},
		\"/x\": {\"body\": \"$KA\"}}"
	http_server 127.0.0.1 "$T/http.log"
	run -0 --separate-stderr va --allow 127.0.0.0/8 --deny 127.0.0.2/32 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(error_type)" urn:ietf:params:acme:error:connection
	assert_equal "$(detail)" "address 127.0.0.2 of 127.0.0.2 not allowed"
	routes "{\"$CPATH\": {\"status\": 307, \"location\": \"http://red.test:$HP/x\"}}"
	run -0 --separate-stderr va --allow 127.0.0.0/8 --deny 127.0.0.2/32 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(detail)" "address 127.0.0.2 of red.test not allowed"
	# The denied server saw nothing.
	run cat "$T/http2.log"
	assert_output ""
}

@test "acme-va: http-01 fail a redirect to another port, another scheme or a zoned address (connection)" {
	routes "{\"$CPATH\": {\"status\": 302, \"location\": \"http://127.0.0.1:1/x\"}}"
	http_server 127.0.0.1 "$T/http.log"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(error_type)" urn:ietf:params:acme:error:connection
	assert_equal "$(detail)" "a redirect to port 1: only 80 and 443"
	routes "{\"$CPATH\": {\"status\": 302, \"location\": \"ftp://127.0.0.1:$HP/x\"}}"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(detail)" "a redirect to ftp: only http and https"
	routes "{\"$CPATH\": {\"status\": 302, \"location\": \"file:///etc/passwd\"}}"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(detail)" "a redirect to file: only http and https"
	routes "{\"$CPATH\": {\"status\": 302, \"location\": \"http://[fe80::1%25lo]:$HP/x\"}}"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(detail)" "a redirect to an address with a zone"
}

@test "acme-va: http-01 fail more than 10 redirects (connection)" {
	routes "{\"$CPATH\": {\"status\": 302, \"location\": \"$CPATH\"}}"
	http_server 127.0.0.1 "$T/http.log"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(error_type)" urn:ietf:params:acme:error:connection
	assert_equal "$(detail)" "more than 10 redirects"
	# The first request and ten redirects were followed, no more.
	run -0 wc -l <"$T/http.log"
	assert_output 11
}

@test "acme-va: http-01 fail a NUL or another control character after the key authorization (incorrectResponse); space, tab, CR and LF allowed" {
	routes "{\"$CPATH\": {\"body\": \"$KA\\u0000\"}}"
	http_server 127.0.0.1 "$T/http.log"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(error_type)" urn:ietf:params:acme:error:incorrectResponse
	assert_equal "$(detail)" "http://ok.test:$HP$CPATH: the body is not the key authorization"
	routes "{\"$CPATH\": {\"body\": \"$KA\\n\\u0000\"}}"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(error_type)" urn:ietf:params:acme:error:incorrectResponse
	routes "{\"$CPATH\": {\"body\": \"$KA\\u000b\"}}"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(error_type)" urn:ietf:params:acme:error:incorrectResponse
	routes "{\"$CPATH\": {\"body\": \"$KA\\u000c\"}}"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(error_type)" urn:ietf:params:acme:error:incorrectResponse
	routes "{\"$CPATH\": {\"body\": \"$KA \\t\\r\\n \"}}"
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_output '{"valid":true}'
}

@test "acme-va: http-01 fail a redirect to a URL with userinfo is not followed (connection)" {
	local loc
	http_server 127.0.0.1 "$T/http.log"
	for loc in "http://user:pw@127.0.0.1:$HP/x" "http://user@127.0.0.1:$HP/x" \
		"http://:pw@127.0.0.1:$HP/x" "http://127.0.0.1:$HP@ok.test:$HP/x" \
		"https://user@ok.test:$HP/x"; do
		routes "{\"$CPATH\": {\"status\": 302, \"location\": \"$loc\"},
			\"/x\": {\"body\": \"$KA\"}}"
		run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
		assert_equal "$(error_type)" urn:ietf:params:acme:error:connection
		assert_equal "$(detail)" "a redirect to a URL with userinfo"
	done
	# Only the first requests were made; /x was never asked.
	run grep -c "^$CPATH ok.test\$" "$T/http.log"
	assert_output 5
	run grep -c '^/x ' "$T/http.log"
	assert_output 0
}

@test "acme-va: http-01 ok for an IPv6 identifier (Host in brackets) and through a redirect to an IPv6 address" {
	routes "{\"$CPATH\": {\"body\": \"$KA\"}}"
	http_server ::1 "$T/http.log"
	run -0 --separate-stderr va --allow ::1 <<<"$(req http-01 ip ::1)
$(req http-01 ip 0:0:0:0:0:0:0:1)"
	assert_line --index 0 '{"valid":true}'
	assert_line --index 1 '{"valid":true}'
	run cat "$T/http.log"
	assert_line --index 0 "$CPATH [::1]"
	assert_line --index 1 "$CPATH [::1]"
	# From a server on 127.0.0.1 to the one on ::1.
	routes "{\"$CPATH\": {\"status\": 302, \"location\": \"http://[::1]:$HP/v6\"},
		\"/v6\": {\"body\": \"$KA\"}}"
	http_server 127.0.0.1 "$T/http2.log"
	run -0 --separate-stderr va --allow ::1 --allow 127.0.0.1 <<<"$(req http-01 dns ok.test)"
	assert_output '{"valid":true}'
	run cat "$T/http2.log"
	assert_output "$CPATH ok.test"
	run cat "$T/http.log"
	assert_line --index 2 "/v6 [::1]:$HP"
}

@test "acme-va: http-01 fail the validation's time is --timeout in all: slow redirects add up (connection)" {
	# Each answer takes 1.2s, under the 2s limit; two of them do not.
	routes "{\"$CPATH\": {\"status\": 302, \"location\": \"/a\", \"delay\": 1.2},
		\"/a\": {\"status\": 302, \"location\": \"/b\", \"delay\": 1.2},
		\"/b\": {\"body\": \"$KA\", \"delay\": 1.2}}"
	http_server 127.0.0.1 "$T/http.log"
	local TMO=2s
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(error_type)" urn:ietf:params:acme:error:connection
	assert_equal "$(detail)" "http://ok.test:$HP/a: Timeout was reached"
	run cat "$T/http.log"
	assert_output "$CPATH ok.test
/a ok.test:$HP"
}

@test "acme-va: http-01 fail a slow server times out (connection)" {
	routes "{\"$CPATH\": {\"body\": \"$KA\", \"delay\": 20}}"
	http_server 127.0.0.1 "$T/http.log"
	local t0=$SECONDS
	local TMO=1s
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(error_type)" urn:ietf:params:acme:error:connection
	assert_equal "$(detail)" "http://ok.test:$HP$CPATH: Timeout was reached"
	[ $((SECONDS - t0)) -lt 10 ]
}

@test "acme-va: http-01 fail endless headers, a header line without end, endless or oversized chunks, a trickled header end in time; a chunked key authorization is read whole" {
	local m t0
	local TMO=3s
	for m in headers line chunks bigchunk trickle; do
		: >"$T/raw.log"
		bg "$PY" "$HELP/rawhttp.py" --port "$HP" --mode "$m" --log "$T/raw.log"
		wait_for port_open 127.0.0.1 "$HP"
		t0=$SECONDS
		run -0 --separate-stderr va --allow 127.0.0.1 <<<"$(req http-01 ip 127.0.0.1)"
		[ $((SECONDS - t0)) -lt 6 ]
		assert_equal "$(jq -r .valid <<<"$output")" false
		if [ "$m" = chunks ]; then
			assert_equal "$(detail)" "http://127.0.0.1:$HP$CPATH: the body is over 8192 bytes"
		else
			assert_equal "$(error_type)" urn:ietf:params:acme:error:connection
		fi
		# The validator asked once; the server answered as told.
		run grep -cx "$m" "$T/raw.log"
		assert_output 1
		teardown
		rm -f "$T/pids"
		HP=$(free_port)
	done
	assert_equal "$m" trickle
	bg "$PY" "$HELP/rawhttp.py" --port "$HP" --mode chunked --body "$KA"
	wait_for port_open 127.0.0.1 "$HP"
	run -0 --separate-stderr va --allow 127.0.0.1 <<<"$(req http-01 ip 127.0.0.1)"
	assert_output '{"valid":true}'
}

@test "acme-va: http-01 fail nothing listening (connection)" {
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_equal "$(error_type)" urn:ietf:params:acme:error:connection
	assert_equal "$(detail)" "http://ok.test:$HP$CPATH: Couldn't connect to server"
}

# ---- the address rules (SSRF) ----

@test "acme-va: fail loopback is denied by default and never connected to" {
	routes "{\"$CPATH\": {\"body\": \"$KA\"}}"
	http_server 127.0.0.1 "$T/http.log"
	run -0 --separate-stderr va <<<"$(req http-01 dns ok.test)
$(req http-01 ip 127.0.0.1)
$(req tls-alpn-01 dns ok.test)
$(req http-01 dns v6.test)
$(req http-01 dns mapped.test)
$(req http-01 ip ::1)"
	assert_line --index 0 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:connection","detail":"address 127.0.0.1 of ok.test not allowed"}}'
	assert_line --index 1 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:connection","detail":"address 127.0.0.1 of 127.0.0.1 not allowed"}}'
	assert_line --index 2 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:connection","detail":"address 127.0.0.1 of ok.test not allowed"}}'
	assert_line --index 3 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:connection","detail":"address ::1 of v6.test not allowed"}}'
	assert_line --index 4 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:connection","detail":"address ::ffff:127.0.0.1 of mapped.test not allowed"}}'
	assert_line --index 5 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:connection","detail":"address ::1 of ::1 not allowed"}}'
	run cat "$T/http.log"
	assert_output ""
}

@test "acme-va: localhost names are the loopback, asked of no server: denied by default, valid where the rules allow the loopback" {
	routes "{\"$CPATH\": {\"body\": \"$KA\"}}"
	http_server 127.0.0.1 "$T/http.log"
	: >"$D/dns.log"
	run -0 --separate-stderr va <<<"$(req http-01 dns web.localhost)
$(req http-01 dns LOCALHOST)"
	assert_line --index 0 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:connection","detail":"address 127.0.0.1 of web.localhost not allowed"}}'
	assert_line --index 1 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:connection","detail":"address 127.0.0.1 of localhost not allowed"}}'
	run cat "$T/http.log"
	assert_output ""
	# Both loopback addresses are allowed: valid (curl reaches the one
	# listening); the loopback of IPv4 alone is not enough.
	run -0 --separate-stderr va --allow 127.0.0.1 --allow ::1 <<<"$(req http-01 dns web.localhost)"
	assert_output '{"valid":true}'
	run -0 --separate-stderr va --allow 127.0.0.1 <<<"$(req http-01 dns web.localhost)"
	assert_output '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:connection","detail":"address ::1 of web.localhost not allowed"}}'
	# No TXT record under localhost, and nothing was asked of the server.
	run -0 --separate-stderr va --allow 127.0.0.1 --allow ::1 <<<"$(req dns-01 dns web.localhost)"
	assert_output '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"_acme-challenge.web.localhost has no TXT record"}}'
	run grep -ci localhost "$D/dns.log"
	assert_output 0
}

@test "acme-va: fail a name with one denied address among allowed ones is refused without a connection" {
	routes "{\"$CPATH\": {\"body\": \"$KA\"}}"
	http_server 127.0.0.1 "$T/http.log"
	run -0 --separate-stderr va --allow 127.0.0.0/8 --deny 127.0.0.2 <<<"$(req http-01 dns two.test)"
	assert_output '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:connection","detail":"address 127.0.0.2 of two.test not allowed"}}'
	run cat "$T/http.log"
	assert_output ""
}

@test "acme-va: fail link-local and cloud metadata are denied even with --allow 127.0.0.0/8" {
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns meta.test)
$(req http-01 ip 169.254.169.254)
$(req tls-alpn-01 ip fe80::1)
$(req http-01 ip 0.0.0.0)
$(req http-01 ip 255.255.255.255)
$(req http-01 ip 224.0.0.1)
$(req http-01 ip ::)
$(req http-01 ip ff02::1)
$(req http-01 ip ::ffff:169.254.169.254)"
	assert_line --index 0 --partial '"detail":"address 169.254.169.254 of meta.test not allowed"'
	assert_line --index 1 --partial '"detail":"address 169.254.169.254 of 169.254.169.254 not allowed"'
	assert_line --index 2 --partial '"detail":"address fe80::1 of fe80::1 not allowed"'
	assert_line --index 3 --partial '"detail":"address 0.0.0.0 of 0.0.0.0 not allowed"'
	assert_line --index 4 --partial '"detail":"address 255.255.255.255 of 255.255.255.255 not allowed"'
	assert_line --index 5 --partial '"detail":"address 224.0.0.1 of 224.0.0.1 not allowed"'
	assert_line --index 6 --partial '"detail":"address :: of :: not allowed"'
	assert_line --index 7 --partial '"detail":"address ff02::1 of ff02::1 not allowed"'
	# san folds an IPv4-mapped address to IPv4: judged as 169.254.169.254.
	assert_line --index 8 --partial '"detail":"address 169.254.169.254 of 169.254.169.254 not allowed"'
}

@test "acme-va: fail an IPv6 address that carries a denied IPv4 address (NAT64, 6to4, IPv4-compatible) as identifier, DNS answer or redirect" {
	run -0 --separate-stderr va <<<"$(req http-01 ip 64:ff9b::7f00:1)
$(req tls-alpn-01 ip 2002:a9fe:a9fe::1)
$(req http-01 ip ::127.0.0.1)
$(req http-01 ip ::ffff:0:7f00:1)
$(req http-01 dns nat64.test)"
	assert_line --index 0 --partial '"detail":"address 64:ff9b::7f00:1 of 64:ff9b::7f00:1 not allowed"'
	assert_line --index 1 --partial '"detail":"address 2002:a9fe:a9fe::1 of 2002:a9fe:a9fe::1 not allowed"'
	assert_line --index 2 --partial '"detail":"address ::127.0.0.1 of ::127.0.0.1 not allowed"'
	assert_line --index 3 --partial '"detail":"address ::ffff:0:7f00:1 of ::ffff:0:7f00:1 not allowed"'
	assert_line --index 4 --partial '"detail":"address 64:ff9b::a9fe:a9fe of nat64.test not allowed"'
	# The operator's --deny holds the IPv4 address in any spelling.
	run -0 --separate-stderr va --deny 10.0.0.0/8 <<<"$(req http-01 ip 64:ff9b::a00:1)
$(req http-01 ip 2002:a00:1::1)"
	assert_line --index 0 --partial '"detail":"address 64:ff9b::a00:1 of 64:ff9b::a00:1 not allowed"'
	assert_line --index 1 --partial '"detail":"address 2002:a00:1::1 of 2002:a00:1::1 not allowed"'
	# A redirect to NAT64's spelling of a denied address.
	routes "{\"$CPATH\": {\"status\": 302, \"location\": \"http://[64:ff9b::7f00:2]:$HP/x\"}}"
	http_server 127.0.0.1 "$T/http.log"
	run -0 --separate-stderr va --allow 127.0.0.1 <<<"$(req http-01 dns ok.test)"
	assert_output '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:connection","detail":"address 64:ff9b::7f00:2 of 64:ff9b::7f00:2 not allowed"}}'
}

@test "acme-va: fail an IPv4 address in decimal, octal or hex spelling, or with a zone: malformed as an identifier, checked as the address it means in a redirect" {
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 dns 2130706433)
$(req http-01 dns 0177.0.0.1)
$(req tls-alpn-01 dns 0x7f.1)
$(req http-01 dns 127.1)
$(req http-01 ip 0177.0.0.1)
$(req http-01 ip fe80::1%lo)"
	local i
	for i in 0 1 2 3 4 5; do
		assert_equal "$(sed -n "$((i + 1))p" <<<"$output" | jq -r .error.type)" urn:ietf:params:acme:error:malformed
	done
	assert_line --index 0 --partial '"detail":"2130706433: ambiguous name (looks like an IP address)"'
	assert_line --index 5 --partial '"detail":"fe80::1%lo: IPv6 address with a zone identifier"'
	http_server 127.0.0.1 "$T/http.log"
	local loc
	for loc in "http://2130706434:$HP/x" "http://0177.0.0.2:$HP/x" "http://0x7f.2:$HP/x" \
		"http://127.2:$HP/x" "http://0x7f000002:$HP/x"; do
		routes "{\"$CPATH\": {\"status\": 302, \"location\": \"$loc\"}}"
		run -0 --separate-stderr va --allow 127.0.0.1 <<<"$(req http-01 dns ok.test)"
		assert_output '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:connection","detail":"address 127.0.0.2 of 127.0.0.2 not allowed"}}'
	done
}

@test "acme-va: fail cloud metadata and platform addresses outside link-local are denied by default" {
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req http-01 ip fd00:ec2::254)
$(req http-01 ip 100.100.100.200)
$(req http-01 ip 168.63.129.16)
$(req http-01 ip 192.0.0.192)
$(req tls-alpn-01 dns meta6.test)
$(req http-01 ip 64:ff9b:1::a00:1)"
	assert_line --index 0 --partial '"detail":"address fd00:ec2::254 of fd00:ec2::254 not allowed"'
	assert_line --index 1 --partial '"detail":"address 100.100.100.200 of 100.100.100.200 not allowed"'
	assert_line --index 2 --partial '"detail":"address 168.63.129.16 of 168.63.129.16 not allowed"'
	assert_line --index 3 --partial '"detail":"address 192.0.0.192 of 192.0.0.192 not allowed"'
	assert_line --index 4 --partial '"detail":"address fd00:ec2::254 of meta6.test not allowed"'
	assert_line --index 5 --partial '"detail":"address 64:ff9b:1::a00:1 of 64:ff9b:1::a00:1 not allowed"'
}

@test "acme-va: ok the longest rule decides: --allow of a denied block, --deny inside an --allow" {
	routes "{\"$CPATH\": {\"body\": \"$KA\"}}"
	http_server 127.0.0.1 "$T/http.log"
	run -0 --separate-stderr va --allow 127.0.0.1/32 --deny 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_output '{"valid":true}'
	run -0 --separate-stderr va --allow 127.0.0.0/8 --deny 127.0.0.0/24 <<<"$(req http-01 dns ok.test)"
	assert_output --partial '"detail":"address 127.0.0.1 of ok.test not allowed"'
	# A tie: deny.
	run -0 --separate-stderr va --allow 127.0.0.0/8 --deny 127.0.0.0/8 <<<"$(req http-01 dns ok.test)"
	assert_output --partial '"detail":"address 127.0.0.1 of ok.test not allowed"'
	run -0 wc -l <"$T/http.log"
	assert_output 1
}

# ---- tls-alpn-01 ----

@test "acme-va: tls-alpn-01 ok the right digest, SNI the name, ALPN acme-tls/1" {
	alpn_cert ok -addext "subjectAltName=DNS:ok.test" \
		-addext "1.3.6.1.5.5.7.1.31=critical,DER:$(acme_ext "$KA")"
	alpn_server ok
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req tls-alpn-01 dns ok.test)"
	assert_output '{"valid":true}'
	run cat "$T/alpn.log"
	assert_output "ok.test acme-tls/1"
}

@test "acme-va: tls-alpn-01 ok an IP identifier: SNI its reverse name, SAN the address" {
	alpn_cert ip -addext "subjectAltName=IP:127.0.0.1" \
		-addext "1.3.6.1.5.5.7.1.31=critical,DER:$(acme_ext "$KA")"
	alpn_server ip
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req tls-alpn-01 ip 127.0.0.1)
$(req tls-alpn-01 dns ok.test)"
	assert_line --index 0 '{"valid":true}'
	assert_line --index 1 --partial '"detail":"the certificate'"'"'s name is not ok.test"'
	run cat "$T/alpn.log"
	assert_line --index 0 "1.0.0.127.in-addr.arpa acme-tls/1"
}

@test "acme-va: tls-alpn-01 fail a wrong digest (incorrectResponse)" {
	alpn_cert bad -addext "subjectAltName=DNS:ok.test" \
		-addext "1.3.6.1.5.5.7.1.31=critical,DER:$(acme_ext "$TOKEN.other")"
	alpn_server bad
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req tls-alpn-01 dns ok.test)"
	assert_output '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:incorrectResponse","detail":"the acmeIdentifier digest is not the key authorization'"'"'s"}}'
}

@test "acme-va: tls-alpn-01 fail the extension missing, not critical, or not a 32-byte OCTET STRING" {
	alpn_cert none -addext "subjectAltName=DNS:ok.test"
	alpn_server none
	run -0 --separate-stderr va --allow 127.0.0.1 <<<"$(req tls-alpn-01 dns ok.test)"
	assert_output --partial '"detail":"the certificate has no acmeIdentifier extension"'
	teardown
	rm -f "$T/pids"
	HP=$(free_port)
	alpn_cert nc -addext "subjectAltName=DNS:ok.test" \
		-addext "1.3.6.1.5.5.7.1.31=DER:$(acme_ext "$KA")"
	alpn_server nc
	run -0 --separate-stderr va --allow 127.0.0.1 <<<"$(req tls-alpn-01 dns ok.test)"
	assert_output --partial '"detail":"the acmeIdentifier extension is not critical"'
	teardown
	rm -f "$T/pids"
	HP=$(free_port)
	# The raw digest without its OCTET STRING header.
	alpn_cert raw -addext "subjectAltName=DNS:ok.test" \
		-addext "1.3.6.1.5.5.7.1.31=critical,DER:$(acme_ext "$KA" | cut -c5-)00ff"
	alpn_server raw
	run -0 --separate-stderr va --allow 127.0.0.1 <<<"$(req tls-alpn-01 dns ok.test)"
	assert_output --partial '"detail":"the acmeIdentifier extension is not a SHA-256 digest"'
}

@test "acme-va: tls-alpn-01 fail two SANs, or another name (incorrectResponse)" {
	alpn_cert two -addext "subjectAltName=DNS:ok.test,DNS:other.test" \
		-addext "1.3.6.1.5.5.7.1.31=critical,DER:$(acme_ext "$KA")"
	alpn_server two
	run -0 --separate-stderr va --allow 127.0.0.1 <<<"$(req tls-alpn-01 dns ok.test)"
	assert_output '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:incorrectResponse","detail":"the certificate must name ok.test alone"}}'
	teardown
	rm -f "$T/pids"
	HP=$(free_port)
	alpn_cert other -addext "subjectAltName=DNS:ok.test.evil" \
		-addext "1.3.6.1.5.5.7.1.31=critical,DER:$(acme_ext "$KA")"
	alpn_server other
	run -0 --separate-stderr va --allow 127.0.0.1 <<<"$(req tls-alpn-01 dns ok.test)"
	assert_output --partial '"detail":"the certificate'"'"'s name is not ok.test"'
}

@test "acme-va: tls-alpn-01 fail a server that does not choose acme-tls/1 (tls)" {
	alpn_cert ok -addext "subjectAltName=DNS:ok.test" \
		-addext "1.3.6.1.5.5.7.1.31=critical,DER:$(acme_ext "$KA")"
	alpn_server ok --no-alpn
	run -0 --separate-stderr va --allow 127.0.0.1 <<<"$(req tls-alpn-01 dns ok.test)"
	assert_output "{\"valid\":false,\"error\":{\"type\":\"urn:ietf:params:acme:error:tls\",\"detail\":\"127.0.0.1 port $HP: the server did not choose the acme-tls/1 protocol\"}}"
}

@test "acme-va: tls-alpn-01 fail a server that is not TLS (tls), or silent (connection)" {
	routes '{}'
	http_server 127.0.0.1 "$T/http.log"
	run -0 --separate-stderr va --allow 127.0.0.1 <<<"$(req tls-alpn-01 dns ok.test)"
	assert_equal "$(error_type)" urn:ietf:params:acme:error:tls
	assert_output --partial "\"detail\":\"127.0.0.1 port $HP: the TLS handshake failed"
	teardown
	rm -f "$T/pids"
	HP=$(free_port)
	bg "$PY" -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); c = s.accept(); time.sleep(30)' "$HP"
	wait_for port_open 127.0.0.1 "$HP"
	local TMO=1s
	run -0 --separate-stderr va --allow 127.0.0.1 <<<"$(req tls-alpn-01 dns ok.test)"
	assert_output "{\"valid\":false,\"error\":{\"type\":\"urn:ietf:params:acme:error:connection\",\"detail\":\"127.0.0.1 port $HP: the TLS handshake timed out\"}}"
}

@test "acme-va: tls-alpn-01 fail silent servers on each address take --timeout in all, not each (connection)" {
	local a
	for a in 127.0.0.1 127.0.0.2 127.0.0.3; do
		bg "$PY" -c 'import socket, sys
s = socket.socket(); s.bind((sys.argv[1], int(sys.argv[2]))); s.listen()
held = []
while True:
    held.append(s.accept()[0])
    with open(sys.argv[3], "a") as f:
        f.write(sys.argv[1] + "\n")' "$a" "$HP" "$T/silent.log"
		wait_for port_open "$a" "$HP"
		# The probe's own connection logged before the log is emptied.
		wait_for grep -qx "$a" "$T/silent.log"
	done
	: >"$T/silent.log"
	local TMO=1s
	run -0 --separate-stderr va --allow 127.0.0.0/8 <<<"$(req tls-alpn-01 dns three.test)"
	assert_output "{\"valid\":false,\"error\":{\"type\":\"urn:ietf:params:acme:error:connection\",\"detail\":\"127.0.0.1 port $HP: the TLS handshake timed out\"}}"
	run cat "$T/silent.log"
	assert_output 127.0.0.1
}

# ---- dns-01 ----

@test "acme-va: dns-01 ok one TXT record among others is the digest, also through a CNAME" {
	run -0 --separate-stderr va <<<"$(req dns-01 dns ok.test)
$(req dns-01 dns cname.test)"
	assert_line --index 0 '{"valid":true}'
	assert_line --index 1 '{"valid":true}'
	run grep -c '^_acme-challenge.ok.test TXT$' "$D/dns.log"
	assert_output --regexp '^[1-9]'
}

@test "acme-va: dns-01 fail no TXT record is the digest (incorrectResponse), none at all (dns)" {
	run -0 --separate-stderr va <<<"$(req dns-01 dns wrong.test)
$(req dns-01 dns none.test)"
	assert_line --index 0 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:incorrectResponse","detail":"no TXT record of _acme-challenge.wrong.test is the key authorization'"'"'s digest"}}'
	assert_line --index 1 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"_acme-challenge.none.test has no TXT record"}}'
}

@test "acme-va: dns-01 fail NXDOMAIN, SERVFAIL and a silent resolver (dns)" {
	local t0=$SECONDS
	local TMO=1s
	run -0 --separate-stderr va <<<"$(req dns-01 dns nx.test)
$(req dns-01 dns fail.test)
$(req dns-01 dns slow.test)"
	assert_line --index 0 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"TXT _acme-challenge.nx.test: no such name (NXDOMAIN)"}}'
	assert_line --index 1 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"TXT _acme-challenge.fail.test: the resolver answered SERVFAIL"}}'
	assert_line --index 2 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"TXT _acme-challenge.slow.test: the resolver did not answer in time"}}'
	[ $((SECONDS - t0)) -lt 10 ]
}

@test "acme-va: dns-01 ok an answer over 512 bytes is asked again over TCP" {
	run -0 --separate-stderr va <<<"$(req dns-01 dns big.test)"
	assert_output '{"valid":true}'
	run grep -x '_acme-challenge.big.test TXT tcp' "$D/dns.log"
	assert_success
}

@test "acme-va: dns-01 fail an answer with another ID or to another question is not taken, nor records of another name" {
	local TMO=1s
	run -0 --separate-stderr va <<<"$(req dns-01 dns badid.test)
$(req dns-01 dns otherq.test)
$(req http-01 dns stray.test)"
	assert_line --index 0 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"TXT _acme-challenge.badid.test: the resolver did not answer in time"}}'
	assert_line --index 1 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"TXT _acme-challenge.otherq.test: the resolver did not answer in time"}}'
	assert_line --index 2 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"stray.test has no A or AAAA record"}}'
}

# hexname NAME: NAME as DNS wire labels, in hex.
hexname() {
	local l out=""
	local IFS=.
	for l in $1; do
		out+=$(printf '%02x' "${#l}")$(printf %s "$l" | xxd -p | tr -d '\n')
	done
	printf '%s00' "$out"
}

@test "acme-va: dns-01 strict DNS parsing: a pointer loop, data past the message or the record, a short count, a label with a dot, a CNAME longer than its name are malformed; split strings and upper case are read" {
	local txt=00100001000000 d1 d2 rr
	d1=$(printf %s "${DIGEST:0:20}" | xxd -p | tr -d '\n')
	d2=$(printf %s "${DIGEST:20}" | xxd -p | tr -d '\n')
	rr="{q}${txt}3c002d14${d1}17${d2}"
	cat >"$T/raw.json" <<-EOF
	{
	  "_acme-challenge.loop.test TXT": {"an": 1, "hex": "{an}${txt}3c000100"},
	  "_acme-challenge.rdlen.test TXT": {"an": 1, "hex": "{q}${txt}3c010041"},
	  "_acme-challenge.txtlen.test TXT": {"an": 1, "hex": "{q}${txt}3c00051061626364"},
	  "_acme-challenge.count.test TXT": {"an": 2, "hex": "$rr"},
	  "_acme-challenge.split.test TXT": {"an": 1, "hex": "$rr"},
	  "_acme-challenge.upper.test TXT": {"an": 1, "hex": "$(hexname _ACME-CHALLENGE.UPPER.TEST)${txt}3c002d14${d1}17${d2}"},
	  "_acme-challenge.dot.test TXT": {"an": 1, "hex": "13$(printf %s _acme-challenge.dot | xxd -p)$(hexname test)${txt}3c002d14${d1}17${d2}"},
	  "_acme-challenge.cnlen.test TXT": {"an": 2, "hex": "{q}000500010000003c000a$(hexname x.test)0000$(hexname x.test)${txt}3c002d14${d1}17${d2}"},
	  "short.test A": {"an": 1, "hex": "{q}000100010000003c00057f00000101"}
	}
	EOF
	bg "$PY" "$HELP/dnsraw.py" --zone "$T/raw.json" --port-file "$T/raw.port"
	wait_for test -s "$T/raw.port"
	run -0 --separate-stderr ca-acme-va --resolver "127.0.0.1:$(cat "$T/raw.port")" \
		--timeout 2s --allow 127.0.0.0/8 <<<"$(req dns-01 dns loop.test)
$(req dns-01 dns rdlen.test)
$(req dns-01 dns txtlen.test)
$(req dns-01 dns count.test)
$(req dns-01 dns split.test)
$(req dns-01 dns upper.test)
$(req dns-01 dns dot.test)
$(req dns-01 dns cnlen.test)
$(req http-01 dns short.test)"
	assert_line --index 0 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"TXT _acme-challenge.loop.test: malformed answer"}}'
	assert_line --index 1 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"TXT _acme-challenge.rdlen.test: malformed answer"}}'
	assert_line --index 2 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"a malformed TXT record"}}'
	assert_line --index 3 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"TXT _acme-challenge.count.test: malformed answer"}}'
	assert_line --index 4 '{"valid":true}'
	assert_line --index 5 '{"valid":true}'
	assert_line --index 6 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"TXT _acme-challenge.dot.test: malformed answer"}}'
	assert_line --index 7 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"TXT _acme-challenge.cnlen.test: malformed answer"}}'
	assert_line --index 8 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"an address record of 5 bytes"}}'
}

@test "acme-va: dns-01 fail for an IP identifier (malformed, RFC 8738)" {
	run -0 --separate-stderr va <<<"$(req dns-01 ip 10.0.0.1)"
	assert_output '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:malformed","detail":"dns-01 does not validate an IP address (RFC 8738)"}}'
}

@test "acme-va: fail a name without an address (dns)" {
	run -0 --separate-stderr va <<<"$(req http-01 dns none.test)
$(req http-01 dns nx.test)"
	assert_line --index 0 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"none.test has no A or AAAA record"}}'
	assert_line --index 1 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:dns","detail":"A nx.test: no such name (NXDOMAIN)"}}'
}

# ---- requests ----

@test "acme-va: fail malformed requests are answered malformed, in order, and the stream goes on" {
	run -0 --separate-stderr va <<<"$(req dns-01 dns ok.test '../../etc' '../../etc.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')
$(req dns-01 dns ok.test "$TOKEN" "other.$(printf 'A%.0s' $(seq 43))")
$(req dns-01 dns ok.test "$TOKEN" "$TOKEN.short")
$(req http-02 dns ok.test)
$(req dns-01 email a@ok.test)
$(req dns-01 dns '*.ok.test')
$(req dns-01 dns 'bad name')
{\"type\":\"dns-01\",\"identifier\":{\"type\":\"dns\",\"value\":\"ok.test\"},\"token\":\"$TOKEN\",\"keyAuthorization\":\"$KA\",\"extra\":1}
{\"type\":\"dns-01\",\"identifier\":{\"type\":\"dns\",\"value\":\"ok.test\"},\"token\":1,\"keyAuthorization\":\"$KA\"}
$(req dns-01 dns ok.test)"
	assert_line --index 0 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:malformed","detail":"the token is not base64url"}}'
	assert_line --index 1 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:malformed","detail":"the key authorization is not the token, a dot and a thumbprint"}}'
	assert_line --index 2 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:malformed","detail":"the key authorization is not the token, a dot and a thumbprint"}}'
	assert_line --index 3 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:malformed","detail":"unknown challenge type http-02"}}'
	assert_line --index 4 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:malformed","detail":"unknown identifier type email"}}'
	assert_line --index 5 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:malformed","detail":"a wildcard is validated as its base name"}}'
	assert_equal "$(sed -n 7p <<<"$output" | jq -r .error.type)" urn:ietf:params:acme:error:malformed
	assert_line --index 7 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:malformed","detail":"a request has exactly type, identifier, token and keyAuthorization"}}'
	assert_line --index 8 '{"valid":false,"error":{"type":"urn:ietf:params:acme:error:malformed","detail":"type, identifier type and value, token and keyAuthorization are strings"}}'
	assert_line --index 9 '{"valid":true}'
	assert_equal "${#lines[@]}" 10
	assert_equal "$stderr" ""
}

@test "acme-va: fail a request that is not JSON ends the stream (exit 3)" {
	run -3 --separate-stderr va <<<'{"type": '
	assert_output --partial '"status":400'
}

@test "acme-va: ok no request, no answer, exit 0" {
	run -0 --separate-stderr va </dev/null
	assert_output ""
	assert_equal "$stderr" ""
}

# ---- options and privileges ----

@test "acme-va: fail bad options (exit 2)" {
	run -2 --separate-stderr ca-acme-va --resolver 127.0.0.1
	assert_equal "$stderr" "ca-acme-va: --resolver 127.0.0.1: not HOST:PORT (an IPv6 address goes in brackets)"
	run -2 --separate-stderr ca-acme-va --resolver ns.test:53
	assert_equal "$stderr" "ca-acme-va: --resolver ns.test:53: the host must be an IP address"
	run -2 --separate-stderr ca-acme-va --resolver 127.0.0.1:0
	assert_equal "$stderr" "ca-acme-va: --resolver 127.0.0.1:0: the port must be 1 to 65535"
	run -2 --separate-stderr ca-acme-va --allow 127.0.0.1/8
	assert_equal "$stderr" "ca-acme-va: --allow 127.0.0.1/8: address bits set past the prefix length"
	run -2 --separate-stderr ca-acme-va --deny 10.0.0.0/33
	assert_equal "$stderr" "ca-acme-va: --deny 10.0.0.0/33: the prefix length must be 0 to 32"
	run -2 --separate-stderr ca-acme-va --deny example.test
	assert_equal "$stderr" "ca-acme-va: --deny example.test: not an address or CIDR block"
	run -2 --separate-stderr ca-acme-va --timeout 0s
	assert_equal "$stderr" "ca-acme-va: --timeout: a duration from 1s to 5m, such as 10s"
	run -2 --separate-stderr ca-acme-va --http-port 0
	assert_equal "$stderr" "ca-acme-va: --http-port: a port from 1 to 65535"
	run -2 --separate-stderr ca-acme-va --tls-port 65536
	assert_equal "$stderr" "ca-acme-va: --tls-port: a port from 1 to 65535"
	run -2 --separate-stderr ca-acme-va --timeout 1s --timeout 2s
	assert_equal "$stderr" "ca-acme-va: --timeout given twice"
	run -2 --separate-stderr ca-acme-va extra
	assert_output ""
}

@test "acme-va: ok started as root it runs as --user (default nobody) before the first request" {
	# Not root: it stays who it is, and --user changes nothing.
	local want
	want=$(id -u)
	[ "$want" != 0 ] || want=$(id -u nobody)
	mkfifo "$T/in"
	ca-acme-va --resolver "$DNS" <"$T/in" >"$T/out" 2>"$T/err" 3>&- &
	local pid=$!
	exec 5>"$T/in"
	wait_for grep -q "^Uid:[[:space:]]*$want[[:space:]]" "/proc/$pid/status"
	run grep '^Uid:' "/proc/$pid/status"
	assert_output --regexp "^Uid:\s+$want\s+$want\s+$want\s+$want$"
	run grep '^Groups:' "/proc/$pid/status"
	assert_output --regexp '^Groups:\s*$'
	exec 5>&-
	wait "$pid"
	[ "$(id -u)" = 0 ] || return 0
	run -4 --separate-stderr ca-acme-va --user root --resolver "$DNS" </dev/null
	assert_equal "$stderr" "ca-acme-va: --user root: the validator does not run as root"
	run -4 --separate-stderr ca-acme-va --user no-such-user-here --resolver "$DNS" </dev/null
	assert_equal "$stderr" "ca-acme-va: --user no-such-user-here: no such user"
}
