#!/usr/bin/env bats
# The online clients (lib/client): ca-sign and ca-token against a CA over
# HTTPS, and ca-init --bootstrap.  The server is helpers/fake_ca.py: a
# small HTTPS server in ca-serve's shapes over a real CA home, whose
# POST /1.0/sign pipes the body to `ca-sign --api --offline`, so the real
# authority decides; files in $CTL make it answer 503, hang, send too
# much, or answer what a test says.  Those faults are why the stand-in
# stays; online.bats runs the same clients against a real ca-serve.

load common

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	export CTL="$D/ctl" LOG="$D/requests.log"
	# Nothing here may go through a proxy of the machine's.
	unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY
	export PORT DEAD
	PORT=$(free_port)
	DEAD=$(free_port)
	export URL="https://127.0.0.1:$PORT"
	printf 'correct horse\n' >"$D/pw"
	ca-init --dir "$D/ca" --password-file "$D/pw" --dns 127.0.0.1 \
		--dns localhost --address "127.0.0.1:$PORT" --key-iterations 2048 \
		$(db_args) >"$D/init.json"
	export ROOT="$D/ca/certs/root_ca.crt"
	export FP
	FP=$(jq -r .fingerprint "$D/init.json")
	# Another CA: a root the server's certificate does not chain to.
	ca-init --dir "$D/other" --key-iterations 1 >"$D/other.json"
	# The server's own certificate, from the CA's intermediate.
	ca-sign --ca-cert "$D/ca/certs/intermediate_ca.crt" \
		--ca-key "$D/ca/secrets/intermediate_ca_key" --password-file "$D/pw" \
		--key-out "$D/server.key" --san 127.0.0.1 --san localhost 127.0.0.1 \
		>"$D/server.pem"
	mkdir -p "$CTL"
	python3 "$BATS_TEST_DIRNAME/helpers/fake_ca.py" "$D/ca" "$PORT" \
		"$D/server.pem" "$D/server.key" "$CTL" "$LOG" "$D/ready" \
		>"$D/server.out" 2>&1 3>&- &
	echo $! >"$D/server.pid"
	wait_for test -s "$D/ready"
}

teardown_file() {
	kill "$(cat "$D/server.pid")" 2>/dev/null || true
}

setup() {
	rm -f "$CTL"/*
	: >"$LOG"
	unset CA_URL CA_ROOT CA_DIR
}

# free_port: a TCP port nobody listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# tok NAME [ca-token options]: an online token for NAME.
tok() {
	local n=$1
	shift
	ca-token --ca-url "$URL" --root "$ROOT" --password-file "$D/pw" "$@" "$n"
}

# csr NAME: $D/NAME.key and $D/NAME.csr for the DNS name NAME.
csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$D/$1.key" -out "$D/$1.csr" -subj "/CN=$1" \
		-addext "subjectAltName=DNS:$1" 2>/dev/null
}

# sign TOKEN CSRNAME [ca-sign options]: online ca-sign with the URL and root.
sign() {
	local t=$1 n=$2
	shift 2
	ca-sign --ca-url "$URL" --root "$ROOT" --token "$t" "$@" <"$D/$n.csr"
}

# posts: how many POSTs the server saw.
posts() { grep -c '^POST ' "$LOG" || true; }
certs_count() { dbq "$D/ca" 'select count(*) from certs'; }

# verify_chain PEMFILE: the leaf verifies against the root through the rest.
verify_chain() {
	awk '/BEGIN/ { n++ } n > 1' "$1" >"$D/untrusted.pem"
	openssl verify -CAfile "$ROOT" -untrusted "$D/untrusted.pem" "$1"
}

@test "client: sign online ok, the chain verifies against the root" {
	local t
	csr a.example.com
	t=$(tok a.example.com)
	run -0 --separate-stderr sign "$t" a.example.com
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >"$D/a.pem"
	# The leaf and the intermediate, never the root: as offline prints it.
	assert_equal "$(grep -c 'BEGIN CERTIFICATE' "$D/a.pem")" 2
	run -0 verify_chain "$D/a.pem"
	run -0 openssl x509 -in "$D/a.pem" -noout -ext subjectAltName
	assert_line --index 1 "    DNS:a.example.com"
	assert_equal "$(openssl x509 -in "$D/a.pem" -noout -pubkey)" \
		"$(openssl pkey -in "$D/a.example.com.key" -pubout)"
	serial=$(openssl x509 -in "$D/a.pem" -noout -serial | cut -d= -f2)
	run -0 dbq "$D/ca" "select count(*) from certs where subject = 'a.example.com'"
	assert_output 1
	assert_equal "$(posts)" 1
}

@test "client: sign online --json prints the response shape" {
	local t
	csr j.example.com
	t=$(tok j.example.com)
	run -0 --separate-stderr sign "$t" j.example.com --json
	assert_equal "$(jq -r 'keys | join(",")' <<<"$output")" "ca,certChain,crt"
	assert_equal "$(jq -r '.certChain | length' <<<"$output")" 2
	assert_equal "$(jq -r '.certChain[0] == .crt' <<<"$output")" true
	assert_equal "$(jq -r '.certChain[1] == .ca' <<<"$output")" true
}

@test "client: sign online --key-out makes the key here, 0600, for the token's names" {
	local t
	t=$(tok k.example.com --san k.example.com --san 10.1.2.3)
	run -0 --separate-stderr ca-sign --ca-url "$URL" --root "$ROOT" --token "$t" \
		--key-out "$D/k.key"
	printf '%s\n' "$output" >"$D/k.pem"
	assert_equal "$(stat -c %a "$D/k.key")" 600
	assert_equal "$(openssl x509 -in "$D/k.pem" -noout -pubkey)" \
		"$(openssl pkey -in "$D/k.key" -pubout)"
	run -0 openssl x509 -in "$D/k.pem" -noout -ext subjectAltName
	assert_line --index 1 "    DNS:k.example.com, IP Address:10.1.2.3"
}

@test "client: sign online refused by the authority: exit 1, its message, --key-out removed" {
	local t n0
	csr r.example.com
	t=$(tok r.example.com)
	run -0 sign "$t" r.example.com
	n0=$(certs_count)
	# The same token again: spent.
	run -1 --separate-stderr sign "$t" r.example.com
	assert_output ""
	assert_equal "$stderr" "ca-sign: token already used"
	run -1 --separate-stderr ca-sign --ca-url "$URL" --root "$ROOT" --token "$t" \
		--key-out "$D/r2.key"
	assert_equal "$stderr" "ca-sign: token already used"
	[ ! -e "$D/r2.key" ]
	# A request naming other than the token authorises.
	csr s.example.com
	run -1 --separate-stderr sign "$(tok r.example.com)" s.example.com
	assert_regex "$stderr" "^ca-sign: .*s\.example\.com"
	assert_equal "$(certs_count)" "$n0"
}

@test "client: sign online bad request is exit 3 with the CA's message" {
	csr b.example.com
	run -3 --separate-stderr sign "$(tok b.example.com)" b.example.com --not-after 24x
	assert_output ""
	assert_regex "$stderr" "^ca-sign: .*24x"
}

@test "client: HTTP status maps to the exit code, the CA's message is printed" {
	csr h.example.com
	t() {
		local code=$1 st=$2 msg=$3
		printf '%s {"status":%s,"message":"%s"}' "$st" "$st" "$msg" >"$CTL/answer"
		run -"$code" --separate-stderr sign x h.example.com
		assert_output ""
		assert_equal "$stderr" "ca-sign: $msg"
	}
	t 1 401 token rejected
	t 1 403 provisioner forbidden
	t 1 404 no route
	t 3 400 malformed request
	t 3 413 request too large
	t 4 500 handler crashed
	t 4 502 bad gateway
	t 5 503 handler unavailable
	# No JSON message: the URL and the status.
	printf '500 <html>oops</html>' >"$CTL/answer"
	run -4 --separate-stderr sign x h.example.com
	assert_equal "$stderr" "ca-sign: $URL/1.0/sign: HTTP 500"
	# A 2xx that is not a JSON object.
	printf '201 [1]' >"$CTL/answer"
	run -3 --separate-stderr sign x h.example.com
	assert_equal "$stderr" "ca-sign: $URL/1.0/sign: HTTP 201: the answer is not a JSON object"
}

@test "client: 503 twice is retried, the third attempt issues" {
	local t
	csr t.example.com
	t=$(tok t.example.com)
	: >"$LOG"
	echo 2 >"$CTL/503"
	run -0 --separate-stderr sign "$t" t.example.com
	assert_equal "$stderr" ""
	assert_equal "$(posts)" 3
	printf '%s\n' "$output" >"$D/t.pem"
	run -0 verify_chain "$D/t.pem"
}

@test "client: 503 three times is exit 5 after three attempts" {
	local t
	csr u.example.com
	t=$(tok u.example.com)
	: >"$LOG"
	echo 5 >"$CTL/503"
	run -5 --separate-stderr sign "$t" u.example.com
	assert_output ""
	assert_equal "$stderr" "ca-sign: handler unavailable"
	assert_equal "$(posts)" 3
}

@test "client: connection refused is exit 5 CA unreachable, quickly" {
	local t0 ms
	csr c.example.com
	t0=$(date +%s%N)
	run -5 --separate-stderr ca-sign --ca-url "https://127.0.0.1:$DEAD" --root "$ROOT" \
		--token x <"$D/c.example.com.csr"
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	assert_output ""
	assert_regex "$stderr" "^ca-sign: CA unreachable: https://127\.0\.0\.1:$DEAD/1\.0/sign: .*onnect"
	# Three attempts, 0.2 s and 0.4 s apart, and no more.
	[ "$ms" -ge 600 ]
	[ "$ms" -lt 5000 ]
	run -5 --separate-stderr ca-token --ca-url "https://127.0.0.1:$DEAD" --root "$ROOT" \
		--password-file "$D/pw" c.example.com
	assert_regex "$stderr" "^ca-token: CA unreachable: https://127\.0\.0\.1:$DEAD/provisioners: "
}

@test "client: a server not under --root is exit 4 TLS, no request reaches it" {
	csr w.example.com
	run -4 --separate-stderr ca-sign --ca-url "$URL" --root "$D/other/certs/root_ca.crt" \
		--token x <"$D/w.example.com.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: TLS: $URL/1.0/sign: SSL certificate problem: unable to get local issuer certificate"
	assert_equal "$(posts)" 0
	# Nor is it retried: a TLS failure is not "unavailable".
	run -4 --separate-stderr ca-token --ca-url "$URL" --root "$D/other/certs/root_ca.crt" \
		--password-file "$D/pw" w.example.com
	assert_regex "$stderr" "^ca-token: TLS: $URL/provisioners: "
	assert_equal "$(wc -l <"$LOG")" 0
}

@test "client: the root must be one self-signed CA certificate (exit 4)" {
	csr v.example.com
	run -4 --separate-stderr ca-sign --ca-url "$URL" --root "$D/ca/certs/intermediate_ca.crt" \
		--token x <"$D/v.example.com.csr"
	assert_equal "$stderr" "ca-sign: root $D/ca/certs/intermediate_ca.crt: not a self-signed CA certificate"
	run -4 --separate-stderr ca-sign --ca-url "$URL" --root "$D/nothere.crt" \
		--token x <"$D/v.example.com.csr"
	assert_regex "$stderr" "^ca-sign: root: .*nothere\.crt"
}

@test "client: the system CA bundle is never read" {
	command -v strace >/dev/null
	csr z.example.com
	run -0 strace -f -e trace=open,openat -o "$D/strace.out" \
		ca-sign --ca-url "$URL" --root "$ROOT" --token "$(tok z.example.com)" \
		<"$D/z.example.com.csr"
	run -1 grep -E '/etc/ssl/certs|ca-certificates|/usr/lib/ssl/cert' "$D/strace.out"
	# openssl.cnf is not read either.
	run -1 grep -E 'openssl\.cnf' "$D/strace.out"
}

@test "client: an oversized answer is refused (exit 3), with or without Content-Length" {
	csr o.example.com
	echo length >"$CTL/big"
	run -3 --separate-stderr sign x o.example.com
	assert_output ""
	assert_equal "$stderr" "ca-sign: $URL/1.0/sign: response exceeds 65536 bytes"
	echo stream >"$CTL/big"
	run -3 --separate-stderr sign x o.example.com
	assert_equal "$stderr" "ca-sign: $URL/1.0/sign: response exceeds 65536 bytes"
	run -3 --separate-stderr ca-token --ca-url "$URL" --root "$ROOT" --password-file "$D/pw" o.example.com
	assert_equal "$stderr" "ca-token: $URL/provisioners: response exceeds 65536 bytes"
}

@test "client: a CA that takes the request and never answers: exit 5 after 30 s, not sent twice" {
	csr g.example.com
	: >"$CTL/hang"
	SECONDS=0
	run -5 --separate-stderr sign x g.example.com
	assert_regex "$stderr" "^ca-sign: CA unreachable: $URL/1\.0/sign: Operation timed out after 3[0-9]{4} milliseconds"
	[ "$SECONDS" -lt 50 ]
	assert_equal "$(posts)" 1
}

@test "client: ca-token online makes a token the CA accepts: aud is the URL's, sha the root's" {
	local t
	t=$(tok m.example.com --san m.example.com --san m2.example.com)
	run -0 jq -r .aud <<<"$(cut -d. -f2 <<<"$t" | tr '_-' '/+' | base64 -d 2>/dev/null)"
	assert_output "$URL/1.0/sign"
	run -0 jq -r .sha <<<"$(cut -d. -f2 <<<"$t" | tr '_-' '/+' | base64 -d 2>/dev/null)"
	assert_output "$FP"
	run -0 jq -r .iss <<<"$(cut -d. -f2 <<<"$t" | tr '_-' '/+' | base64 -d 2>/dev/null)"
	assert_output admin
	run -0 --separate-stderr ca-sign --ca-url "$URL" --root "$ROOT" --token "$t" --key-out "$D/m.key"
	assert_equal "$stderr" ""
	# A revoke token's audience.
	t=$(ca-token --ca-url "$URL" --root "$ROOT" --password-file "$D/pw" --revoke 1234)
	run -0 jq -r .aud <<<"$(cut -d. -f2 <<<"$t" | tr '_-' '/+' | base64 -d 2>/dev/null)"
	assert_output "$URL/1.0/revoke"
}

@test "client: ca-token online follows provisioner pages and picks the only JWK one" {
	local t
	echo 1 >"$CTL/page"
	echo '[{"type":"ACME","name":"acme"},{"type":"OIDC","name":"ci"}]' >"$CTL/extra"
	run -0 --separate-stderr tok p.example.com
	assert_equal "$stderr" ""
	t=$output
	run -0 cat "$LOG"
	assert_line --index 0 "GET /provisioners"
	assert_line --index 1 "GET /provisioners?cursor=1"
	assert_line --index 2 "GET /provisioners?cursor=2"
	csr p.example.com
	run -0 sign "$t" p.example.com
}

@test "client: ca-token online with several JWK provisioners needs --provisioner" {
	local k
	k=$(jq -c '.authority.provisioners[0] | .name = "ops"' "$D/ca/config/ca.json")
	echo "[$k]" >"$CTL/extra"
	run -2 --separate-stderr tok q.example.com
	assert_output ""
	assert_equal "$stderr" "ca-token: $URL/provisioners: 2 JWK provisioners (ops, admin): give --provisioner"
	run -0 --separate-stderr tok q.example.com --provisioner admin
	run -2 --separate-stderr tok q.example.com --provisioner nope
	assert_equal "$stderr" "ca-token: unknown provisioner nope at $URL"
	# None at all.
	echo '[{"type":"ACME","name":"acme"}]' >"$CTL/extra"
	printf '200 {"provisioners":[{"type":"ACME","name":"acme"}],"nextCursor":""}' >"$CTL/answer"
	run -4 --separate-stderr tok q.example.com
	assert_equal "$stderr" "ca-token: $URL/provisioners: no JWK provisioner"
}

@test "client: ca-token online password: required, and a wrong one is exit 1" {
	run -2 --separate-stderr ca-token --ca-url "$URL" --root "$ROOT" n.example.com
	assert_equal "$stderr" "ca-token: the provisioner password is needed: --password-file"
	printf 'wrong\n' >"$D/bad.pw"
	run -1 --separate-stderr ca-token --ca-url "$URL" --root "$ROOT" --password-file "$D/bad.pw" n.example.com
	assert_output ""
	assert_regex "$stderr" "^ca-token: provisioner key: .*wrong password"
}

@test "client: ca-token online refuses an encryptedKey that is not the key of its kid" {
	local k
	k=$(jq -c --arg e "$(jq -r '.authority.provisioners[0].encryptedKey' "$D/other/config/ca.json")" \
		'.authority.provisioners[0] | .encryptedKey = $e' "$D/ca/config/ca.json")
	printf '200 {"provisioners":[%s],"nextCursor":""}' "$k" >"$CTL/answer"
	# The other CA's key is under its own generated password.
	run -4 --separate-stderr ca-token --ca-url "$URL" --root "$ROOT" \
		--password-file "$D/other/secrets/password" n.example.com
	assert_output ""
	assert_equal "$stderr" "ca-token: $URL/provisioners: provisioner admin: its encryptedKey does not hold the key of its kid"
}

@test "client: bootstrap writes the root and defaults.json; the client home then works alone" {
	local fpc h="$D/boot"
	# Upper case with colons, as openssl prints it.
	fpc=$(tr a-f A-F <<<"$FP" | sed 's/../&:/g; s/:$//')
	run -0 --separate-stderr ca-init --bootstrap --ca-url "$URL/" --fingerprint "$fpc" --dir "$h"
	assert_equal "$stderr" ""
	assert_equal "$(jq -r .fingerprint <<<"$output")" "$FP"
	assert_equal "$(jq -r .root <<<"$output")" "$h/certs/root_ca.crt"
	cmp "$ROOT" "$h/certs/root_ca.crt"
	assert_equal "$(stat -c %a "$h/certs/root_ca.crt")" 644
	assert_equal "$(jq -c . "$h/config/defaults.json")" \
		"{\"ca-url\":\"$URL\",\"root\":\"certs/root_ca.crt\",\"fingerprint\":\"$FP\"}"
	assert_equal "$(ls "$h" | tr '\n' ' ')" "certs config "
	run -0 cat "$LOG"
	assert_line --index 0 "GET /root/$FP"
	assert_line --index 1 "GET /health"
	# Everything from the client home: URL and root.
	csr bt.example.com
	t=$(ca-token --dir "$h" --password-file "$D/pw" bt.example.com)
	run -0 --separate-stderr ca-sign --dir "$h" --token "$t" <"$D/bt.example.com.csr"
	CA_DIR="$h" run -0 --separate-stderr ca-token --password-file "$D/pw" bt.example.com
	# Never over an existing home's files.
	run -1 --separate-stderr ca-init --bootstrap --ca-url "$URL" --fingerprint "$FP" --dir "$h"
	assert_equal "$stderr" "ca-init: $h/certs/root_ca.crt already exists: not touching it"
	run -1 --separate-stderr ca-init --bootstrap --ca-url "$URL" --fingerprint "$FP" --dir "$D/ca"
	assert_equal "$stderr" "ca-init: $D/ca/certs/root_ca.crt already exists: not touching it"
}

@test "client: bootstrap with a wrong fingerprint writes nothing" {
	local ofp
	ofp=$(jq -r .fingerprint "$D/other.json")
	# An honest CA has no such root.
	run -1 --separate-stderr ca-init --bootstrap --ca-url "$URL" --fingerprint "$ofp" --dir "$D/b1"
	assert_output ""
	assert_equal "$stderr" "ca-init: $URL/root/$ofp: not found"
	[ ! -e "$D/b1" ]
	# A CA that answers with another root than the one asked for.
	echo "$D/other/certs/root_ca.crt" >"$CTL/rootfile"
	run -1 --separate-stderr ca-init --bootstrap --ca-url "$URL" --fingerprint "$FP" --dir "$D/b1"
	assert_output ""
	assert_equal "$stderr" "ca-init: root fingerprint mismatch: got $ofp, want $FP"
	[ ! -e "$D/b1" ]
}

@test "client: bootstrap: a root whose CA's certificate does not chain to it writes nothing" {
	local ofp
	ofp=$(jq -r .fingerprint "$D/other.json")
	# The fingerprint is right for what is served, but the server is not under it.
	echo "$D/other/certs/root_ca.crt" >"$CTL/rootfile"
	run -4 --separate-stderr ca-init --bootstrap --ca-url "$URL" --fingerprint "$ofp" --dir "$D/b2"
	assert_output ""
	assert_equal "$stderr" "ca-init: the CA's certificate checked against root $ofp: TLS: $URL/health: SSL certificate problem: unable to get local issuer certificate"
	[ ! -e "$D/b2" ]
	# Not a root at all (the intermediate): refused by what it is.
	echo "$D/ca/certs/intermediate_ca.crt" >"$CTL/rootfile"
	run -3 --separate-stderr ca-init --bootstrap --ca-url "$URL" \
		--fingerprint "$(openssl x509 -in "$D/ca/certs/intermediate_ca.crt" -noout -fingerprint -sha256 | cut -d= -f2)" \
		--dir "$D/b2"
	assert_equal "$stderr" "ca-init: $URL/root/$(openssl x509 -in "$D/ca/certs/intermediate_ca.crt" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f): not a self-signed CA certificate"
	[ ! -e "$D/b2" ]
}

@test "client: bootstrap usage errors (exit 2)" {
	run -2 --separate-stderr ca-init --bootstrap --ca-url "$URL"
	assert_equal "$stderr" "ca-init: --bootstrap needs --ca-url and --fingerprint"
	run -2 --separate-stderr ca-init --bootstrap --ca-url "$URL" --fingerprint abc
	assert_equal "$stderr" "ca-init: --fingerprint: 64 hexadecimal digits (SHA-256)"
	run -2 --separate-stderr ca-init --bootstrap --ca-url "$URL" --fingerprint "$FP" --name x
	assert_equal "$stderr" "ca-init: --bootstrap takes only --ca-url, --fingerprint and --dir"
	run -2 --separate-stderr ca-init --ca-url "$URL" --dir "$D/b3"
	assert_equal "$stderr" "ca-init: --ca-url and --fingerprint go with --bootstrap"
	run -2 --separate-stderr ca-init --bootstrap --ca-url "http://127.0.0.1:$PORT" --fingerprint "$FP" --dir "$D/b3"
	assert_equal "$stderr" "ca-init: CA URL http://127.0.0.1:$PORT: https:// only"
	[ ! -e "$D/b3" ]
}

@test "client: discovery: --ca-url > CA_URL > defaults.json, --root > CA_ROOT > defaults.json" {
	local h="$D/disc"
	mkdir -p "$h/config" "$h/certs"
	cp "$ROOT" "$h/certs/root.pem"
	# defaults.json points at a dead port; CA_URL at the live one wins.
	printf '{"ca-url":"https://127.0.0.1:%s","root":"certs/root.pem"}\n' "$DEAD" >"$h/config/defaults.json"
	CA_DIR="$h" run -5 --separate-stderr ca-token --password-file "$D/pw" d.example.com
	assert_regex "$stderr" "^ca-token: CA unreachable: https://127\.0\.0\.1:$DEAD/provisioners: "
	CA_DIR="$h" CA_URL="$URL" run -0 --separate-stderr ca-token --password-file "$D/pw" d.example.com
	# --ca-url beats CA_URL.
	CA_URL="https://127.0.0.1:$DEAD" run -0 --separate-stderr ca-token --dir "$h" --ca-url "$URL" --password-file "$D/pw" d.example.com
	# CA_ROOT beats defaults.json's root; --root beats CA_ROOT.
	CA_ROOT="$D/other/certs/root_ca.crt" run -4 --separate-stderr ca-token --dir "$h" --ca-url "$URL" --password-file "$D/pw" d.example.com
	assert_regex "$stderr" "^ca-token: TLS: "
	CA_ROOT="$D/other/certs/root_ca.crt" run -0 --separate-stderr ca-token --dir "$h" --ca-url "$URL" --root "$ROOT" --password-file "$D/pw" d.example.com
	# Both from the environment, no home at all.
	CA_URL="$URL" CA_ROOT="$ROOT" run -0 --separate-stderr ca-token --dir "$D/nohome" --password-file "$D/pw" d.example.com
	# A malformed defaults.json is a configuration failure.
	echo '{"ca-url": 5}' >"$h/config/defaults.json"
	run -4 --separate-stderr ca-token --dir "$h" --password-file "$D/pw" d.example.com
	assert_equal "$stderr" "ca-token: $h/config/defaults.json: \"ca-url\": a non-empty string"
}

@test "client: no CA URL is exit 2 and says how to get one; a URL without a root too" {
	csr e.example.com
	run -2 --separate-stderr ca-sign --token x <"$D/e.example.com.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: no CA URL: give --ca-url, set CA_URL, or run ca-init --bootstrap"
	run -2 --separate-stderr ca-token --password-file "$D/pw" e.example.com
	assert_equal "$stderr" "ca-token: no CA URL: give --ca-url, set CA_URL, or run ca-init --bootstrap"
	run -2 --separate-stderr ca-sign --ca-url "$URL" --token x <"$D/e.example.com.csr"
	assert_equal "$stderr" "ca-sign: no root certificate to trust for $URL: give --root, set CA_ROOT, or run ca-init --bootstrap"
	# --key-out claimed at option parse is gone again.
	run -2 --separate-stderr ca-sign --token x --key-out "$D/e.key"
	[ ! -e "$D/e.key" ]
}

@test "client: online usage errors (exit 2)" {
	csr f.example.com
	run -2 --separate-stderr ca-sign --offline --ca-url "$URL" --token x <"$D/f.example.com.csr"
	assert_equal "$stderr" "ca-sign: --ca-url and --root are for online signing"
	run -2 --separate-stderr ca-sign --ca-url "$URL" --root "$ROOT" --token x --san f.example.com <"$D/f.example.com.csr"
	assert_equal "$stderr" "ca-sign: --san with a token: only with --key-out (a CSR names its own names)"
	run -2 --separate-stderr ca-sign --ca-url "$URL" --root "$ROOT" --token x --profile leaf <"$D/f.example.com.csr"
	assert_equal "$stderr" "ca-sign: --profile, --ca-key and --password-file are for stateless mode"
	run -2 --separate-stderr ca-sign --ca-url "ftp://127.0.0.1/" --root "$ROOT" --token x <"$D/f.example.com.csr"
	assert_equal "$stderr" "ca-sign: CA URL ftp://127.0.0.1/: https:// only"
	run -2 --separate-stderr ca-sign --ca-url "$URL/?a=b" --root "$ROOT" --token x <"$D/f.example.com.csr"
	assert_equal "$stderr" "ca-sign: CA URL $URL/?a=b: no user, query or fragment"
	run -2 --separate-stderr ca-token --offline --ca-url "$URL" f.example.com
	assert_equal "$stderr" "ca-token: --ca-url and --root are for online minting"
	run -2 --separate-stderr ca-token --ca-url "$URL" --root "$ROOT" --password-file "$D/pw" --aud "$URL/1.0/sign" f.example.com
	assert_equal "$stderr" "ca-token: --issuer, --kid, --aud and --fingerprint go with --key"
	assert_equal "$(wc -l <"$LOG")" 0
}
