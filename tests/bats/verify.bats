#!/usr/bin/env bats
# ca-verify: chains built by openssl alone, checked against one root.
# shellcheck disable=SC2154 # $stderr comes from run --separate-stderr

bats_require_minimum_version 1.5.0
load common

D="$BATS_FILE_TMPDIR/pki"

# leaf_ext FILE EKU SAN: the extensions of a leaf certificate.
leaf_ext() {
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=$2" "subjectAltName=$3" \
		"subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >"$1"
}

# sign NAME ISSUER SERIAL DAYS EXTFILE: NAME.csr signed by ISSUER.key.
sign() {
	openssl x509 -req -in "$D/$1.csr" -CA "$D/$2.crt" -CAkey "$D/$2.key" \
		-set_serial "$3" -days "$4" -extfile "$5" -out "$D/$1.crt" 2>/dev/null
}

# sign_dates NAME ISSUER START END EXTFILE: explicit validity (YYMMDDHHMMSSZ).
sign_dates() {
	openssl ca -batch -notext -config "$D/ca.cnf" -cert "$D/$2.crt" \
		-keyfile "$D/$2.key" -in "$D/$1.csr" -out "$D/$1.crt" \
		-startdate "$3" -enddate "$4" -extfile "$5" 2>/dev/null
}

setup_file() {
	make_openssl_ca "$D"
	make_openssl_ca "$D/other"
	leaf_ext "$D/server.ext" serverAuth "DNS:foo.example.com,IP:10.0.0.5"
	leaf_ext "$D/client.ext" clientAuth "DNS:client.example.com"

	make_csr "$D" server -subj "/CN=foo.example.com"
	sign server int 4097 2 "$D/server.ext"
	make_csr "$D" client -subj "/CN=client.example.com"
	sign client int 4098 2 "$D/client.ext"
	cat "$D/server.crt" "$D/int.crt" >"$D/server-chain.pem"
	cat "$D/client.crt" "$D/int.crt" >"$D/client-chain.pem"

	# A second CA under the pathlen-0 intermediate, and a leaf under it.
	printf '%s\n' "basicConstraints=critical,CA:TRUE" \
		"keyUsage=critical,keyCertSign,cRLSign" \
		"subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >"$D/ca.ext"
	make_csr "$D" int2 -subj "/CN=Second Intermediate CA"
	sign int2 int 4099 30 "$D/ca.ext"
	make_csr "$D" deep -subj "/CN=foo.example.com"
	sign deep int2 4100 2 "$D/server.ext"
	cat "$D/deep.crt" "$D/int2.crt" "$D/int.crt" >"$D/deep-chain.pem"

	# A certificate that may sign (keyCertSign) but is not a CA.
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature,keyCertSign" \
		"subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >"$D/notca.ext"
	make_csr "$D" notca -subj "/CN=Not A CA"
	sign notca int 4101 30 "$D/notca.ext"
	make_csr "$D" undernotca -subj "/CN=foo.example.com"
	sign undernotca notca 4102 2 "$D/server.ext"
	cat "$D/undernotca.crt" "$D/notca.crt" "$D/int.crt" >"$D/notca-chain.pem"

	# Leaves with explicit dates: one valid from tomorrow, one expired.
	mkdir -p "$D/db"
	: >"$D/db/index.txt"
	echo 1000 >"$D/db/serial"
	printf '%s\n' "[ca]" "default_ca = d" "[d]" \
		"database = $D/db/index.txt" "new_certs_dir = $D/db" \
		"serial = $D/db/serial" "default_md = sha256" "policy = p" \
		"unique_subject = no" "[p]" "commonName = supplied" >"$D/ca.cnf"
	make_csr "$D" notyet -subj "/CN=foo.example.com"
	sign_dates notyet int "$(date -u -d '+1 day' +%y%m%d%H%M%SZ)" \
		"$(date -u -d '+3 days' +%y%m%d%H%M%SZ)" "$D/server.ext"
	cat "$D/notyet.crt" "$D/int.crt" >"$D/notyet-chain.pem"
	make_csr "$D" old -subj "/CN=foo.example.com"
	sign_dates old int "$(date -u -d '-3 days' +%y%m%d%H%M%SZ)" \
		"$(date -u -d '-1 day' +%y%m%d%H%M%SZ)" "$D/server.ext"
	cat "$D/old.crt" "$D/int.crt" >"$D/old-chain.pem"

	# The server leaf with one bit of its signature flipped: the last
	# byte of the DER is the last byte of the ECDSA s value, so the
	# encoding stays well-formed and only the signature breaks.
	openssl x509 -in "$D/server.crt" -outform DER -out "$D/server.der"
	local size last
	size=$(stat -c %s "$D/server.der")
	last=$(tail -c 1 "$D/server.der" | od -An -tu1 | tr -d ' ')
	head -c $((size - 1)) "$D/server.der" >"$D/badsig.der"
	# shellcheck disable=SC2059
	printf "\\$(printf '%03o' $((last ^ 1)))" >>"$D/badsig.der"
	openssl x509 -inform DER -in "$D/badsig.der" -out "$D/badsig.crt"
	cat "$D/badsig.crt" "$D/int.crt" >"$D/badsig-chain.pem"

	openssl x509 -in "$D/root.crt" -noout -fingerprint -sha256 |
		sed 's/.*=//' >"$D/root.fp"
	openssl x509 -in "$D/root.crt" -outform DER | sha256sum |
		cut -d' ' -f1 >"$D/root.hex"
	openssl x509 -in "$D/other/root.crt" -outform DER | sha256sum |
		cut -d' ' -f1 >"$D/other.hex"
}

# --- valid chains -----------------------------------------------------------

@test "verify: ok chain with host" {
	run -0 --separate-stderr ca-verify --root "$D/root.crt" \
		--host foo.example.com <"$D/server-chain.pem"
	assert_output ''
	[ "$stderr" = "" ]
}

@test "verify: ok host compared without case and trailing dot" {
	run -0 --separate-stderr ca-verify --root "$D/root.crt" \
		--host FOO.Example.COM. <"$D/server-chain.pem"
	assert_output ''
	[ "$stderr" = "" ]
}

@test "verify: ok chain with host IP" {
	run -0 --separate-stderr ca-verify --root "$D/root.crt" \
		--host 10.0.0.5 <"$D/server-chain.pem"
	assert_output ''
	[ "$stderr" = "" ]
}

@test "verify: ok IPv4-mapped IPv6 host matches the IPv4 SAN" {
	run -0 --separate-stderr ca-verify --root "$D/root.crt" \
		--host ::ffff:10.0.0.5 <"$D/server-chain.pem"
	[ "$stderr" = "" ]
}

@test "verify: ok purpose server" {
	run -0 --separate-stderr ca-verify --root "$D/root.crt" \
		--purpose server --host foo.example.com <"$D/server-chain.pem"
	assert_output ''
	[ "$stderr" = "" ]
}

@test "verify: ok purpose client" {
	run -0 --separate-stderr ca-verify --root "$D/root.crt" \
		--purpose client <"$D/client-chain.pem"
	assert_output ''
	[ "$stderr" = "" ]
}

@test "verify: ok without purpose for a client-only leaf" {
	run -0 --separate-stderr ca-verify --root "$D/root.crt" \
		<"$D/client-chain.pem"
	[ "$stderr" = "" ]
}

@test "verify: ok chain from a file argument" {
	run -0 --separate-stderr ca-verify --root "$D/root.crt" \
		"$D/server-chain.pem" </dev/null
	assert_output ''
	[ "$stderr" = "" ]
}

@test "verify: ok chain that includes the root" {
	cat "$D/server-chain.pem" "$D/root.crt" >"$BATS_TEST_TMPDIR/full.pem"
	run -0 --separate-stderr ca-verify --root "$D/root.crt" \
		"$BATS_TEST_TMPDIR/full.pem"
	[ "$stderr" = "" ]
}

@test "verify: ok json fields" {
	run -0 --separate-stderr ca-verify --root "$D/root.crt" --json \
		--host foo.example.com <"$D/server-chain.pem"
	[ "$stderr" = "" ]
	local na
	na=$(openssl x509 -in "$D/server.crt" -noout -enddate -dateopt iso_8601 |
		sed 's/notAfter=//; s/ /T/')
	run -0 jq -c . <<<"$output"
	assert_output "{\"valid\":true,\"reason\":null,\"subject\":\"CN=foo.example.com\",\"serial\":\"4097\",\"notAfter\":\"$na\",\"chain\":[\"foo.example.com\",\"Test Intermediate CA\",\"Test Root CA\"],\"root\":{\"subject\":\"CN=Test Root CA\",\"fingerprint\":\"$(cat "$D/root.hex")\"}}"
}

@test "verify: ok fingerprint in lowercase hex" {
	run -0 --separate-stderr ca-verify --root "$D/root.crt" \
		--fingerprint "$(cat "$D/root.hex")" <"$D/server-chain.pem"
	[ "$stderr" = "" ]
}

@test "verify: ok fingerprint in uppercase with colons" {
	run -0 --separate-stderr ca-verify --root "$D/root.crt" \
		--fingerprint "$(cat "$D/root.fp")" <"$D/server-chain.pem"
	[ "$stderr" = "" ]
}

@test "verify: ok root from CA_ROOT" {
	CA_ROOT="$D/root.crt" run -0 --separate-stderr ca-verify \
		<"$D/server-chain.pem"
	[ "$stderr" = "" ]
}

@test "verify: ok root and fingerprint from defaults.json in --dir" {
	local h=$BATS_TEST_TMPDIR/home
	mkdir -p "$h/config" "$h/certs"
	cp "$D/root.crt" "$h/certs/root_ca.crt"
	printf '{"ca-url":"https://ca.example.com","root":"certs/root_ca.crt","fingerprint":"%s","ca-config":"config/ca.json"}\n' \
		"$(cat "$D/root.hex")" >"$h/config/defaults.json"
	run -0 --separate-stderr ca-verify --dir "$h" <"$D/server-chain.pem"
	[ "$stderr" = "" ]
}

@test "verify: ok root from defaults.json in CA_DIR" {
	local h=$BATS_TEST_TMPDIR/home
	mkdir -p "$h/config"
	printf '{"root":"%s"}\n' "$D/root.crt" >"$h/config/defaults.json"
	CA_DIR="$h" run -0 --separate-stderr ca-verify <"$D/server-chain.pem"
	[ "$stderr" = "" ]
}

@test "verify: ok --root wins over defaults.json" {
	local h=$BATS_TEST_TMPDIR/home
	mkdir -p "$h/config"
	printf '{"root":"%s"}\n' "$D/other/root.crt" >"$h/config/defaults.json"
	run -0 --separate-stderr ca-verify --dir "$h" --root "$D/root.crt" \
		<"$D/server-chain.pem"
	[ "$stderr" = "" ]
}

@test "verify: ok --at after a future leaf starts" {
	run -0 --separate-stderr ca-verify --root "$D/root.crt" --at 25h \
		<"$D/notyet-chain.pem"
	[ "$stderr" = "" ]
}

# --- invalid chains ---------------------------------------------------------

@test "verify: fail wrong root" {
	run -1 --separate-stderr ca-verify --root "$D/other/root.crt" \
		<"$D/server-chain.pem"
	assert_output ''
	[ "$stderr" = "ca-verify: invalid: does not chain to the root: no issuer for depth 1, Test Intermediate CA" ]
}

@test "verify: fail expired" {
	run -1 --separate-stderr ca-verify --root "$D/root.crt" --at 3d \
		<"$D/server-chain.pem"
	assert_output ''
	[ "$stderr" = "ca-verify: invalid: certificate has expired: depth 0, foo.example.com" ]
}

@test "verify: fail expired at an RFC 3339 time" {
	local t
	t=$(date -u -d '+3 days' +%Y-%m-%dT%H:%M:%SZ)
	run -1 --separate-stderr ca-verify --root "$D/root.crt" --at "$t" \
		<"$D/server-chain.pem"
	[ "$stderr" = "ca-verify: invalid: certificate has expired: depth 0, foo.example.com" ]
}

@test "verify: fail expired under faketime" {
	command -v faketime >/dev/null || skip "faketime is not installed"
	run -1 --separate-stderr faketime '+3 days' ca-verify \
		--root "$D/root.crt" <"$D/server-chain.pem"
	assert_output ''
	[ "$stderr" = "ca-verify: invalid: certificate has expired: depth 0, foo.example.com" ]
}

@test "verify: fail expired leaf" {
	run -1 --separate-stderr ca-verify --root "$D/root.crt" \
		<"$D/old-chain.pem"
	[ "$stderr" = "ca-verify: invalid: certificate has expired: depth 0, foo.example.com" ]
}

@test "verify: fail not yet valid at a past time" {
	# The whole chain was made just now; the root is checked first.
	run -1 --separate-stderr ca-verify --root "$D/root.crt" --at -1h \
		<"$D/server-chain.pem"
	assert_output ''
	[ "$stderr" = "ca-verify: invalid: certificate is not yet valid: depth 2, Test Root CA" ]
}

@test "verify: fail leaf not yet valid" {
	run -1 --separate-stderr ca-verify --root "$D/root.crt" \
		<"$D/notyet-chain.pem"
	[ "$stderr" = "ca-verify: invalid: certificate is not yet valid: depth 0, foo.example.com" ]
}

@test "verify: fail wrong host" {
	run -1 --separate-stderr ca-verify --root "$D/root.crt" \
		--host bar.example.com <"$D/server-chain.pem"
	assert_output ''
	[ "$stderr" = "ca-verify: invalid: hostname mismatch: bar.example.com" ]
}

@test "verify: fail host only in the subject CN" {
	run -1 --separate-stderr ca-verify --root "$D/root.crt" \
		--host client.example.org <"$D/client-chain.pem"
	[ "$stderr" = "ca-verify: invalid: hostname mismatch: client.example.org" ]
}

@test "verify: fail wrong IP" {
	run -1 --separate-stderr ca-verify --root "$D/root.crt" \
		--host 10.0.0.6 <"$D/server-chain.pem"
	assert_output ''
	[ "$stderr" = "ca-verify: invalid: IP address mismatch: 10.0.0.6" ]
}

@test "verify: fail IP given where only a DNS name is certified" {
	run -1 --separate-stderr ca-verify --root "$D/root.crt" \
		--host 10.0.0.5 <"$D/client-chain.pem"
	[ "$stderr" = "ca-verify: invalid: IP address mismatch: 10.0.0.5" ]
}

@test "verify: fail wrong purpose for a client leaf" {
	run -1 --separate-stderr ca-verify --root "$D/root.crt" \
		--purpose server <"$D/client-chain.pem"
	assert_output ''
	[ "$stderr" = "ca-verify: invalid: unsupported certificate purpose (not valid for server): depth 0, client.example.com" ]
}

@test "verify: fail wrong purpose for a server leaf" {
	run -1 --separate-stderr ca-verify --root "$D/root.crt" \
		--purpose client <"$D/server-chain.pem"
	[ "$stderr" = "ca-verify: invalid: unsupported certificate purpose (not valid for client): depth 0, foo.example.com" ]
}

@test "verify: fail broken signature" {
	run -1 --separate-stderr ca-verify --root "$D/root.crt" \
		<"$D/badsig-chain.pem"
	assert_output ''
	[ "$stderr" = "ca-verify: invalid: certificate signature failure: depth 0, foo.example.com" ]
}

@test "verify: fail path length exceeded" {
	run -1 --separate-stderr ca-verify --root "$D/root.crt" \
		<"$D/deep-chain.pem"
	assert_output ''
	[ "$stderr" = "ca-verify: invalid: path length constraint exceeded: depth 2, Test Intermediate CA" ]
}

@test "verify: fail issuer is not a CA" {
	run -1 --separate-stderr ca-verify --root "$D/root.crt" \
		<"$D/notca-chain.pem"
	[ "$stderr" = "ca-verify: invalid: invalid CA certificate: depth 1, Not A CA" ]
}

@test "verify: fail leaf missing its intermediate" {
	run -1 --separate-stderr ca-verify --root "$D/root.crt" \
		<"$D/server.crt"
	assert_output ''
	[ "$stderr" = "ca-verify: invalid: does not chain to the root: no issuer for depth 0, foo.example.com" ]
}

@test "verify: fail chain ending in another root" {
	cat "$D/server-chain.pem" "$D/other/root.crt" >"$BATS_TEST_TMPDIR/c.pem"
	run -1 --separate-stderr ca-verify --root "$D/other/root.crt" \
		"$BATS_TEST_TMPDIR/c.pem"
	[ "$stderr" = "ca-verify: invalid: does not chain to the root: no issuer for depth 1, Test Intermediate CA" ]
}

@test "verify: fail fingerprint mismatch" {
	run -1 --separate-stderr ca-verify --root "$D/root.crt" \
		--fingerprint "$(cat "$D/other.hex")" <"$D/server-chain.pem"
	assert_output ''
	[ "$stderr" = "ca-verify: invalid: root fingerprint mismatch" ]
}

@test "verify: fail fingerprint mismatch in defaults.json" {
	local h=$BATS_TEST_TMPDIR/home
	mkdir -p "$h/config"
	printf '{"root":"%s","fingerprint":"%s"}\n' "$D/root.crt" \
		"$(cat "$D/other.hex")" >"$h/config/defaults.json"
	run -1 --separate-stderr ca-verify --dir "$h" <"$D/server-chain.pem"
	[ "$stderr" = "ca-verify: invalid: root fingerprint mismatch" ]
}

@test "verify: fail json verdict" {
	run -1 --separate-stderr ca-verify --root "$D/root.crt" --json \
		--host bar.example.com <"$D/server-chain.pem"
	[ "$stderr" = "ca-verify: invalid: hostname mismatch: bar.example.com" ]
	run -0 jq -c '[.valid, .reason, .serial, .chain, .root.fingerprint]' <<<"$output"
	assert_output "[false,\"hostname mismatch: bar.example.com\",\"4097\",[\"foo.example.com\",\"Test Intermediate CA\",\"Test Root CA\"],\"$(cat "$D/root.hex")\"]"
}

@test "verify: fail json verdict for a fingerprint mismatch" {
	run -1 --separate-stderr ca-verify --root "$D/root.crt" --json -q \
		--fingerprint "$(cat "$D/other.hex")" <"$D/server-chain.pem"
	[ "$stderr" = "" ]
	run -0 jq -c '[.valid, .reason, .chain]' <<<"$output"
	assert_output '[false,"root fingerprint mismatch",["foo.example.com","Test Intermediate CA"]]'
}

@test "verify: fail quietly with -q" {
	run -1 --separate-stderr ca-verify -q --root "$D/root.crt" --at 3d \
		<"$D/server-chain.pem"
	assert_output ''
	[ "$stderr" = "" ]
}

# --- usage, input and configuration errors ---------------------------------

@test "verify: help on stdout" {
	run -0 --separate-stderr ca-verify -h
	assert_line --index 0 --partial 'usage: ca-verify [--root FILE]'
	[ "$stderr" = "" ]
}

@test "verify: version" {
	run -0 --separate-stderr ca-verify --version
	assert_output --regexp '^ca-verify [0-9]'
}

@test "verify: usage error for an unknown option" {
	run -2 --separate-stderr ca-verify --bogus
	assert_output ''
	[ "$stderr" = "ca-verify: unrecognized option '--bogus' (see -h)" ]
	run -2 --separate-stderr ca-verify -x
	[ "$stderr" = "ca-verify: unrecognized option '-x' (see -h)" ]
}

@test "verify: usage error for an option without its argument" {
	run -2 --separate-stderr ca-verify --root
	assert_output ''
	[ "$stderr" = "ca-verify: option --root needs an argument (see -h)" ]
}

@test "verify: usage error without any root" {
	run -2 --separate-stderr ca-verify <"$D/server-chain.pem"
	assert_output ''
	[ "$stderr" = "ca-verify: no root certificate: no $HOME/.inca/config/defaults.json: run ca-init, or give --root" ]
}

@test "verify: usage error without any CA home" {
	run -2 --separate-stderr env -u HOME ca-verify <"$D/server-chain.pem"
	[ "$stderr" = "ca-verify: no root certificate: no CA home: set --dir, CA_DIR or HOME" ]
}

@test "verify: usage error for defaults.json without a root" {
	local h=$BATS_TEST_TMPDIR/home
	mkdir -p "$h/config"
	echo '{"ca-url":"https://ca.example.com"}' >"$h/config/defaults.json"
	run -2 --separate-stderr ca-verify --dir "$h" <"$D/server-chain.pem"
	[ "$stderr" = "ca-verify: no root certificate: $h/config/defaults.json names none: give --root FILE or set CA_ROOT" ]
}

@test "verify: usage error for bad option values" {
	run -2 --separate-stderr ca-verify --root "$D/root.crt" --purpose email
	[ "$stderr" = "ca-verify: --purpose: server or client" ]
	run -2 --separate-stderr ca-verify --root "$D/root.crt" --fingerprint abc
	[ "$stderr" = "ca-verify: --fingerprint: not a SHA-256 fingerprint (64 hex digits)" ]
	run -2 --separate-stderr ca-verify --root "$D/root.crt" --at soon
	[[ "$stderr" == "ca-verify: --at: soon: bad time"* ]]
	run -2 --separate-stderr ca-verify --root "$D/root.crt" --host 'a b'
	[[ "$stderr" == "ca-verify: --host: "* ]]
	run -2 --separate-stderr ca-verify --root "$D/root.crt" --host '*.example.com'
	[ "$stderr" = "ca-verify: --host: a wildcard is not a host name" ]
	run -2 --separate-stderr ca-verify --root "$D/root.crt" --host user@example.com
	[ "$stderr" = "ca-verify: --host: a DNS name or an IP address" ]
}

@test "verify: usage error for a repeated option" {
	run -2 --separate-stderr ca-verify --root "$D/root.crt" --host a.example \
		--host b.example <"$D/server-chain.pem"
	[ "$stderr" = "ca-verify: --host given twice" ]
}

@test "verify: usage error for two files" {
	run -2 --separate-stderr ca-verify --root "$D/root.crt" a.pem b.pem
	[ "$stderr" = "ca-verify: unexpected argument: b.pem" ]
}

@test "verify: bad input for garbage stdin" {
	run -3 --separate-stderr ca-verify --root "$D/root.crt" <<<"hello"
	assert_output ''
	[[ "$stderr" == "ca-verify: stdin: malformed certificate"* ]]
}

@test "verify: bad input for text before a PEM block" {
	{ echo junk; cat "$D/server-chain.pem"; } >"$BATS_TEST_TMPDIR/c.pem"
	run -3 --separate-stderr ca-verify --root "$D/root.crt" "$BATS_TEST_TMPDIR/c.pem"
	[[ "$stderr" == "ca-verify: $BATS_TEST_TMPDIR/c.pem: malformed certificate"* ]]
}

@test "verify: bad input for text after a PEM block" {
	{ cat "$D/server-chain.pem"; echo junk; } >"$BATS_TEST_TMPDIR/c.pem"
	run -3 --separate-stderr ca-verify --root "$D/root.crt" "$BATS_TEST_TMPDIR/c.pem"
	[ "$stderr" = "ca-verify: $BATS_TEST_TMPDIR/c.pem: PEM: text outside a PEM block" ]
}

@test "verify: bad input for a PEM block without its END line" {
	head -n 3 "$D/server.crt" >"$BATS_TEST_TMPDIR/c.pem"
	run -3 --separate-stderr ca-verify --root "$D/root.crt" "$BATS_TEST_TMPDIR/c.pem"
	[ "$stderr" = "ca-verify: $BATS_TEST_TMPDIR/c.pem: PEM: missing END line for CERTIFICATE" ]
}

@test "verify: bad input for empty stdin" {
	run -3 --separate-stderr ca-verify --root "$D/root.crt" </dev/null
	assert_output ''
	[ "$stderr" = "ca-verify: stdin: empty input" ]
}

@test "verify: bad input for more than eight certificates" {
	for _ in 1 2 3 4 5 6 7 8 9; do cat "$D/int.crt"; done >"$BATS_TEST_TMPDIR/c.pem"
	run -3 --separate-stderr ca-verify --root "$D/root.crt" "$BATS_TEST_TMPDIR/c.pem"
	[ "$stderr" = "ca-verify: $BATS_TEST_TMPDIR/c.pem: more than 8 certificates" ]
}

@test "verify: bad input for a missing chain file" {
	run -3 --separate-stderr ca-verify --root "$D/root.crt" "$D/nonexistent.pem"
	[ "$stderr" = "ca-verify: $D/nonexistent.pem: No such file or directory" ]
}

@test "verify: bad input for a root that is not self-signed" {
	run -3 --separate-stderr ca-verify --root "$D/int.crt" <"$D/server-chain.pem"
	assert_output ''
	[ "$stderr" = "ca-verify: $D/int.crt: not a self-signed certificate" ]
}

@test "verify: bad input for a root file with two certificates" {
	run -3 --separate-stderr ca-verify --root "$D/server-chain.pem" \
		<"$D/client-chain.pem"
	[ "$stderr" = "ca-verify: $D/server-chain.pem: expected one certificate" ]
}

@test "verify: failure for a malformed defaults.json" {
	local h=$BATS_TEST_TMPDIR/home
	mkdir -p "$h/config"
	echo '{"root": "a", "root": "b"}' >"$h/config/defaults.json"
	run -4 --separate-stderr ca-verify --dir "$h" <"$D/server-chain.pem"
	[[ "$stderr" == "ca-verify: $h/config/defaults.json: line 1: duplicate object key"* ]]
}

@test "verify: man page lists every option of -h" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	local man opt
	man=$(mandoc -Tascii "$TOP/man/ca-verify.1" | sed $'s/.\b//g')
	for opt in $(ca-verify -h | grep -oE -- '--[a-z]+' | sort -u); do
		[[ "$man" == *"$opt"* ]] || fail "man page lacks $opt"
	done
}
