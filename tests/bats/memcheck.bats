#!/usr/bin/env bats
# The main paths under valgrind: no invalid reads or writes, no use of
# uninitialised memory, no definite leaks.

load common

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	command -v valgrind >/dev/null || return 0
	ca-init --dir "$D/ca" >/dev/null
	make_csr "$D" leaf -subj /CN=mem.example.com -addext subjectAltName=DNS:mem.example.com
	openssl pkey -in "$D/ca/secrets/intermediate_ca_key" -passin file:"$D/ca/secrets/password" -out "$D/int.key"
}

vg() {
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite "$@"
}

setup() {
	command -v valgrind >/dev/null || skip "valgrind not installed"
}

teardown() {
	if [ -f "$D/vg.pid" ]; then
		kill "$(cat "$D/vg.pid")" 2>/dev/null || true
		rm -f "$D/vg.pid"
	fi
}

@test "memcheck: ca-sign stateless" {
	run -0 --separate-stderr vg ca-sign --ca-cert "$D/ca/certs/intermediate_ca.crt" --ca-key "$D/int.key" <"$D/leaf.csr"
	assert_equal "$stderr" ""
}

@test "memcheck: ca-token and ca-sign --offline, then a replay refused" {
	# The token's clock starts before ca-token decrypts the provisioner
	# key, which valgrind on a busy machine can stretch past the default
	# five minutes: an hour keeps expiry out of this test.
	run -0 --separate-stderr vg ca-token --offline --dir "$D/ca" --not-after 1h mem.example.com
	assert_equal "$stderr" ""
	tok=$output
	run -0 --separate-stderr vg ca-sign --offline --dir "$D/ca" --token "$tok" <"$D/leaf.csr"
	assert_equal "$stderr" ""
	run -1 --separate-stderr vg ca-sign --offline --dir "$D/ca" --token "$tok" <"$D/leaf.csr"
	assert_equal "$stderr" "ca-sign: token already used"
}

@test "memcheck: ca-sign --api with a bad request" {
	run -3 --separate-stderr vg ca-sign --api --offline --dir "$D/ca" <<<'{"csr": 1, "ott": "x"}'
	assert_output '{"status":400,"message":"request: csr must be a string"}'
}

# memreq TOKEN: a sign request line for the leaf CSR.
memreq() { jq -cn --rawfile csr "$D/leaf.csr" --arg ott "$1" '{csr: $csr, ott: $ott}'; }

@test "memcheck: ca-sign --api a stream of good, oversized, malformed and unframeable requests" {
	t1=$(ca-token --offline --dir "$D/ca" --not-after 1h mem.example.com)
	t2=$(ca-token --offline --dir "$D/ca" --not-after 1h mem.example.com)
	{
		memreq "$t1"
		jq -cn --arg pad "$(head -c 70000 /dev/zero | tr '\0' '{')" '{pad: $pad}'
		echo '{"csr": }'
		memreq "$t1"
		memreq "$t2"
		echo '[1]'
	} >"$D/stream.json"
	run -3 --separate-stderr vg ca-sign --api --offline --dir "$D/ca" <"$D/stream.json"
	assert_equal "${#lines[@]}" 6
	assert_equal "$(jq -r '.certChain | length' <<<"${lines[0]}")" 2
	assert_equal "${lines[3]}" '{"status":401,"message":"token already used"}'
	assert_equal "$(jq -r '.certChain | length' <<<"${lines[4]}")" 2
}

@test "memcheck: ca-sign --api --socket, two connections, SIGTERM" {
	t1=$(ca-token --offline --dir "$D/ca" --not-after 1h mem.example.com)
	memreq "$t1" >"$D/r1.json"
	# valgrind itself, not through the function: $! is then the handler.
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite ca-sign --api --offline --dir "$D/ca" --socket "$D/s.sock" 3>&- 2>"$D/vg.err" &
	pid=$!
	echo "$pid" >"$D/vg.pid"
	wait_for test -S "$D/s.sock"
	run -0 socat -t 60 - "UNIX-CONNECT:$D/s.sock" <"$D/r1.json"
	assert_equal "$(jq -r '.certChain | length' <<<"$output")" 2
	run -0 socat -t 60 - "UNIX-CONNECT:$D/s.sock" <<<'{} {"csr": '
	assert_equal "${#lines[@]}" 2
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	rm -f "$D/vg.pid"
	assert_equal "$status" 0
	run -0 cat "$D/vg.err"
	assert_output "ca-sign: request: csr is required
ca-sign: request: malformed JSON: premature end of input at byte 9"
}

@test "memcheck: ca-verify, ca-inspect, ca-list, ca-revoke" {
	ca-sign --ca-cert "$D/ca/certs/intermediate_ca.crt" --ca-key "$D/int.key" <"$D/leaf.csr" >"$D/chain.pem"
	run -0 --separate-stderr vg ca-verify --root "$D/ca/certs/root_ca.crt" --host mem.example.com "$D/chain.pem"
	assert_equal "$stderr" ""
	run -0 --separate-stderr vg ca-inspect "$D/chain.pem"
	assert_equal "$stderr" ""
	run -0 --separate-stderr vg ca-list --dir "$D/ca"
	assert_equal "$stderr" ""
	# A certificate of this test's own in the database, to revoke.
	tok=$(ca-token --offline --dir "$D/ca" mem.example.com)
	ca-sign --offline --dir "$D/ca" --token "$tok" <"$D/leaf.csr" >"$D/own.pem"
	serial=0x$(openssl x509 -in "$D/own.pem" -noout -serial | cut -d= -f2)
	run -0 --separate-stderr vg ca-revoke --offline --dir "$D/ca" "$serial"
	assert_equal "$stderr" ""
}

@test "memcheck: revocation checks: ca-verify --crl and --offline, ca-list --chain, a CRL inspected" {
	local tok serial good
	tok=$(ca-token --offline --dir "$D/ca" --not-after 1h mem.example.com)
	ca-sign --offline --dir "$D/ca" --token "$tok" <"$D/leaf.csr" >"$D/rev.pem"
	tok=$(ca-token --offline --dir "$D/ca" --not-after 1h mem.example.com)
	ca-sign --offline --dir "$D/ca" --token "$tok" <"$D/leaf.csr" >"$D/good.pem"
	serial=0x$(openssl x509 -in "$D/rev.pem" -noout -serial | cut -d= -f2)
	good=0x$(openssl x509 -in "$D/good.pem" -noout -serial | cut -d= -f2)
	ca-revoke --offline --dir "$D/ca" --reason-code 1 --reason "lost" "$serial" >/dev/null
	ca-revoke --crl --offline --dir "$D/ca" >"$D/mem.crl"
	run -1 --separate-stderr vg ca-verify --dir "$D/ca" --crl "$D/mem.crl" --offline --json "$D/rev.pem"
	assert_equal "$(jq -r .revocation.status <<<"$output")" revoked
	[[ "$stderr" == "ca-verify: invalid: certificate is revoked (CRL): keyCompromise since "* ]]
	run -1 --separate-stderr vg ca-verify --dir "$D/ca" --offline --json "$D/rev.pem"
	assert_equal "$(jq -r .revocation.reasonText <<<"$output")" lost
	run -0 --separate-stderr vg ca-verify --dir "$D/ca" --crl "$D/mem.crl" --offline --json "$D/good.pem"
	assert_equal "$stderr" ""
	run -3 --separate-stderr vg ca-verify --dir "$D/ca" --crl "$D/ca/certs/root_ca.crt" "$D/good.pem"
	run -0 --separate-stderr vg ca-list --dir "$D/ca" --chain "$good"
	assert_equal "$stderr" ""
	run -0 --separate-stderr vg ca-list --dir "$D/ca" --serial "$good"
	assert_equal "$stderr" ""
	run -0 --separate-stderr vg ca-inspect "$D/mem.crl"
	assert_equal "$stderr" ""
}

@test "memcheck: ca-init" {
	run -0 --separate-stderr vg ca-init --dir "$D/ca2" --key-iterations 1
	assert_equal "$stderr" ""
}

@test "memcheck: ca-init --check, sound and refused" {
	run -0 --separate-stderr vg ca-init --check --dir "$D/ca"
	assert_equal "$stderr" ""
	cp -a "$D/ca" "$D/ca3"
	jq '.logger = {} | .authority.provisioners[0].key.kid = "x"' "$D/ca/config/ca.json" | put_file "$D/ca3/config/ca.json"
	run -4 --separate-stderr vg ca-init --check --dir "$D/ca3"
	assert_regex "$stderr" "^ca-init: ca.json: authority.provisioners\[0\].key.kid: not the key's RFC 7638 thumbprint "
}

@test "memcheck: the CRL, made and served, and a leaf with a CRL distribution point" {
	cp -a "$D/ca" "$D/ca4"
	jq '.crl = {"idpURL": "http://crl.example.com/inca.crl"}' "$D/ca/config/ca.json" | put_file "$D/ca4/config/ca.json"
	tok=$(ca-token --offline --dir "$D/ca4" --not-after 1h mem.example.com)
	run -0 --separate-stderr vg ca-sign --offline --dir "$D/ca4" --token "$tok" <"$D/leaf.csr"
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >"$D/cdp.pem"
	serial=0x$(openssl x509 -in "$D/cdp.pem" -noout -serial | cut -d= -f2)
	run -0 --separate-stderr vg ca-revoke --offline --dir "$D/ca4" --reason-code 1 "$serial"
	assert_equal "$stderr" ""
	run -0 --separate-stderr vg test_crl --dir "$D/ca4" --force --pem
	assert_equal "$stderr" ""
	run -0 --separate-stderr vg test_crl --dir "$D/ca4" --pem
	assert_equal "$stderr" ""
	assert_line --partial "BEGIN X509 CRL"
}
