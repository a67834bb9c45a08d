#!/usr/bin/env bats
# Strict DER: certificates, requests and CRLs that OpenSSL's decoders take
# (BER lengths, BOOLEAN 01, DEFAULT values written out, SETs out of order,
# trailing bytes) are refused wherever they are read.  Each forgery is made
# by helpers/der_forge.py from an openssl-made object and signed again, so
# that openssl itself accepts its signature: only the encoding is wrong.

load common
load helpers/authority

FORGE="$BATS_TEST_DIRNAME/helpers/der_forge.py"

# pem LABEL DER: the bytes as one PEM block, untouched (openssl would
# re-encode them).
pem() {
	printf -- '-----BEGIN %s-----\n' "$1"
	base64 -w 64 "$2"
	printf -- '-----END %s-----\n' "$1"
}

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_openssl_ca "$D"
	make_ca
	local k="$D/req.key"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k" 2>/dev/null
	# A request with a critical extension (a BOOLEAN) and a SAN.
	openssl req -new -key "$k" -subj /CN=foo.example.com \
		-addext subjectAltName=DNS:foo.example.com \
		-addext basicConstraints=critical,CA:FALSE -outform DER -out "$D/csr.der"
	# A multi-valued RDN (a SET of two) and two attributes (a SET OF two).
	openssl req -new -key "$k" -subj "/CN=foo.example.com+O=zzz" -multivalue-rdn \
		-outform DER -out "$D/mv.der"
	printf '%s\n' '[req]' 'distinguished_name=dn' 'attributes=at' 'req_extensions=ex' \
		'prompt=no' '[dn]' 'CN=foo.example.com' '[at]' 'challengePassword=abcdefgh' \
		'unstructuredName=zzz' '[ex]' 'subjectAltName=DNS:foo.example.com' >"$D/two.cnf"
	openssl req -new -key "$k" -config "$D/two.cnf" -outform DER -out "$D/two.der"
	# A leaf from the intermediate: basicConstraints (critical), then SAN.
	printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
		'subjectAltName=DNS:foo.example.com' >"$D/leaf.ext"
	openssl req -new -key "$k" -subj /CN=foo.example.com -out "$D/leaf.csr"
	openssl x509 -req -in "$D/leaf.csr" -CA "$D/int.crt" -CAkey "$D/int.key" \
		-set_serial 0x1234 -days 2 -extfile "$D/leaf.ext" -outform DER \
		-out "$D/leaf.der" 2>/dev/null
}

# forge_csr NAME SRC EDIT...: $D/NAME.der and $D/NAME.csr (PEM), signed
# again with the request's key; openssl must still verify its signature.
forge_csr() {
	local n=$1 src=$2
	shift 2
	/usr/bin/python3 "$FORGE" "$D/$src.der" "$D/$n.der" --key "$D/req.key" "$@"
	pem "CERTIFICATE REQUEST" "$D/$n.der" >"$D/$n.csr"
	run -0 openssl req -inform DER -in "$D/$n.der" -noout -verify
	assert_output --partial "verify OK"
}

# forge_cert NAME EDIT...: $D/NAME.der and $D/NAME.chain (leaf + the
# intermediate, PEM), signed again by the intermediate; openssl verify
# must still accept it.
forge_cert() {
	local n=$1
	shift
	/usr/bin/python3 "$FORGE" "$D/leaf.der" "$D/$n.der" --key "$D/int.key" "$@"
	{ pem CERTIFICATE "$D/$n.der"; cat "$D/int.crt"; } >"$D/$n.chain"
	run -0 openssl verify -CAfile "$D/root.crt" -untrusted "$D/int.crt" \
		<(pem CERTIFICATE "$D/$n.der")
}

# stateless_refused CSR WHY: ca-sign with a key and certificate issues nothing.
stateless_refused() {
	run -3 --separate-stderr ca-sign --ca-cert "$D/int.crt" --ca-key "$D/int.key" <"$D/$1.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: csr: not DER ($2)"
}

# offline_refused CSR WHY: ca-sign --offline and --api refuse it before the
# token is spent: no certificate, no used_tokens row.
offline_refused() {
	local used0
	used0=$(used_count)
	refused 3 400 "csr: not DER ($2)" "$(mint)" "$D/$1.csr"
	assert_equal "$(used_count)" "$used0"
	assert_equal "$(used_count)" 0
}

# csr_refused NAME WHY SRC EDIT...: the forgery, refused both ways.
csr_refused() {
	local n=$1 why=$2 src=$3
	shift 3
	forge_csr "$n" "$src" "$@"
	stateless_refused "$n" "$why"
	offline_refused "$n" "$why"
}

@test "der: ok the unforged request and chain are accepted; the forger alone changes nothing" {
	pem "CERTIFICATE REQUEST" "$D/csr.der" >"$D/plain.csr"
	run -0 --separate-stderr ca-sign --ca-cert "$D/int.crt" --ca-key "$D/int.key" <"$D/plain.csr"
	assert_equal "$stderr" ""
	{ pem CERTIFICATE "$D/leaf.der"; cat "$D/int.crt"; } >"$D/plain.chain"
	run -0 --separate-stderr ca-verify --root "$D/root.crt" "$D/plain.chain"
	# The forger without an edit gives the input back.
	/usr/bin/python3 "$FORGE" "$D/csr.der" "$D/same.der"
	cmp "$D/csr.der" "$D/same.der"
	/usr/bin/python3 "$FORGE" "$D/leaf.der" "$D/same.der"
	cmp "$D/leaf.der" "$D/same.der"
}

# ---- requests ---------------------------------------------------------------

@test "der: fail CSR outer SEQUENCE of indefinite length (exit 3)" {
	csr_refused outer-indef "indefinite length at byte 0" csr indef:
}

@test "der: fail CSR outer SEQUENCE with a non-minimal length (exit 3)" {
	csr_refused outer-long "non-minimal length at byte 0" csr longlen:
}

@test "der: fail CSR info of indefinite length (exit 3)" {
	csr_refused info-indef "indefinite length at byte 4" csr indef:0
}

@test "der: fail CSR subject Name with a non-minimal length (exit 3)" {
	csr_refused subject-long "non-minimal length at byte 10" csr longlen:0.1
}

@test "der: fail CSR subject RDN of indefinite length (exit 3)" {
	csr_refused rdn-indef "indefinite length at byte 12" csr indef:0.1.0
}

@test "der: fail CSR SubjectPublicKeyInfo with a non-minimal length (exit 3)" {
	csr_refused spki-long "non-minimal length at byte 38" csr longlen:0.2
}

@test "der: fail CSR algorithm identifier of indefinite length (exit 3)" {
	csr_refused spki-alg-indef "indefinite length at byte 40" csr indef:0.2.0
}

@test "der: fail CSR attributes with a non-minimal length (exit 3)" {
	csr_refused attrs-long "non-minimal length at byte 129" csr longlen:0.3
}

@test "der: fail CSR extension value OCTET STRING with a non-minimal length (exit 3)" {
	csr_refused extval-long "non-minimal length at byte 155" csr longlen:0.3.0.1.0.0.1
}

@test "der: fail CSR SAN with a non-minimal length inside the extension value (exit 3)" {
	csr_refused san-inner-long "extension 2.5.29.17: non-minimal length at byte 0" \
		csr hex:0.3.0.1.0.0.1:308111820f666f6f2e6578616d706c652e636f6d
}

@test "der: fail CSR critical BOOLEAN written 01 (exit 3)" {
	csr_refused bool01 "BOOLEAN not 00 or FF at byte 183" csr bool01:0.3.0.1.0.1.1
}

@test "der: fail CSR extension with critical FALSE written out (exit 3)" {
	csr_refused crit-false "extension 2.5.29.17: critical FALSE written out" \
		csr false:0.3.0.1.0.0
}

@test "der: fail CSR basicConstraints with cA FALSE written out (exit 3)" {
	csr_refused bc-false "extension 2.5.29.19: encodes differently: a default value written out" \
		csr hex:0.3.0.1.0.1.2:3003010100
}

@test "der: fail CSR multi-valued RDN out of order (exit 3)" {
	csr_refused rdn-order "SET elements out of order at byte 37" mv swap:0.1.0
}

@test "der: fail CSR attributes SET OF out of order (exit 3)" {
	csr_refused attr-order \
		"encodes differently: a default value written out, or a SET OF out of order" \
		two swap:0.3
}

@test "der: fail CSR with a byte after it (exit 3)" {
	/usr/bin/python3 "$FORGE" "$D/csr.der" "$D/trail.der" trailing
	pem "CERTIFICATE REQUEST" "$D/trail.der" >"$D/trail.csr"
	run -3 --separate-stderr ca-sign --ca-cert "$D/int.crt" --ca-key "$D/int.key" <"$D/trail.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: malformed certificate request"
	refused 3 400 "malformed certificate request" "$(mint)" "$D/trail.csr"
	assert_equal "$(used_count)" 0
}

@test "der: fail ca-token --csr of indefinite length (exit 3)" {
	forge_csr tok-indef csr indef:
	run -3 --separate-stderr ca-token --offline --dir "$CA" --password-file "$D/pw" \
		--csr "$D/tok-indef.csr" foo.example.com
	assert_output ""
	assert_equal "$stderr" "ca-token: $D/tok-indef.csr: csr: not DER (indefinite length at byte 0)"
}

# ---- certificates -------------------------------------------------------------

# cert_refused NAME WHY EDIT...: ca-verify refuses the forged leaf as input.
cert_refused() {
	local n=$1 why=$2
	shift 2
	forge_cert "$n" "$@"
	run -3 --separate-stderr ca-verify --root "$D/root.crt" "$D/$n.chain"
	assert_output ""
	assert_equal "$stderr" "ca-verify: $D/$n.chain: certificate: not DER ($why)"
}

@test "der: fail certificate outer SEQUENCE of indefinite length (exit 3)" {
	cert_refused c-outer-indef "indefinite length at byte 0" indef:
}

@test "der: fail certificate outer SEQUENCE with a non-minimal length (exit 3)" {
	cert_refused c-outer-long "non-minimal length at byte 0" longlen:
}

@test "der: fail certificate TBS of indefinite length (exit 3)" {
	cert_refused c-tbs-indef "indefinite length at byte 4" indef:0
}

@test "der: fail certificate issuer Name with a non-minimal length (exit 3)" {
	cert_refused c-issuer-long "non-minimal length at byte 29" longlen:0.3
}

@test "der: fail certificate subject RDN of indefinite length (exit 3)" {
	cert_refused c-rdn-indef "indefinite length at byte 96" indef:0.5.0
}

@test "der: fail certificate SubjectPublicKeyInfo with a non-minimal length (exit 3)" {
	cert_refused c-spki-long "non-minimal length at byte 122" longlen:0.6
}

@test "der: fail certificate critical BOOLEAN written 01 (exit 3)" {
	cert_refused c-bool01 "BOOLEAN not 00 or FF at byte 224" bool01:0.7.0.0.1
}

@test "der: fail certificate extension with critical FALSE written out (exit 3)" {
	cert_refused c-crit-false "extension 2.5.29.17: critical FALSE written out" false:0.7.0.1
}

@test "der: fail certificate SAN with a non-minimal length inside the extension value (exit 3)" {
	cert_refused c-san-long "extension 2.5.29.17: non-minimal length at byte 0" \
		hex:0.7.0.1.1:308111820f666f6f2e6578616d706c652e636f6d
}

@test "der: fail certificate as an issuer of ca-sign (exit 3)" {
	forge_cert c-issuer-indef indef:
	pem CERTIFICATE "$D/c-issuer-indef.der" >"$D/c-issuer-indef.pem"
	pem "CERTIFICATE REQUEST" "$D/csr.der" >"$D/plain.csr"
	run -3 --separate-stderr ca-sign --ca-cert "$D/c-issuer-indef.pem" --ca-key "$D/req.key" <"$D/plain.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: $D/c-issuer-indef.pem: certificate: not DER (indefinite length at byte 0)"
}
