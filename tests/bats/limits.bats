#!/usr/bin/env bats
# Every named limit of lib/ca_limits.h at its boundary: the limit itself
# is accepted, one more is refused with a message naming it.

load common

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	ca-init --dir "$D/ca" $(db_args) >/dev/null
	openssl pkey -in "$D/ca/secrets/intermediate_ca_key" -passin file:"$D/ca/secrets/password" -out "$D/int.key"
	make_csr "$D" leaf -subj /CN=limits.example.com -addext subjectAltName=DNS:limits.example.com
}

sign() { ca-sign --ca-cert "$D/ca/certs/intermediate_ca.crt" --ca-key "$D/int.key" "$@"; }
# pad FILE SIZE: append spaces until FILE is SIZE bytes.
pad() { head -c $(($2 - $(stat -c %s "$1"))) /dev/zero | tr '\0' ' ' >>"$1"; }

@test "limits: CA_MAX_PEM 65536 bytes of PEM" {
	cp "$D/leaf.csr" "$D/p.csr"
	pad "$D/p.csr" 65536
	run -0 sign <"$D/p.csr"
	printf ' ' >>"$D/p.csr"
	run -3 --separate-stderr sign <"$D/p.csr"
	assert_equal "$stderr" "ca-sign: stdin: input exceeds 65536 bytes"
}

# api_object SIZE TOKEN: a sign request of SIZE bytes, the padding inside
# the object (spaces before its final '}'), and no newline.
api_object() {
	jq -jcn --rawfile csr "$D/leaf.csr" --arg ott "$2" '{csr: $csr, ott: $ott}' | head -c -1 >"$D/obj.json"
	pad "$D/obj.json" $(($1 - 1))
	printf '}' >>"$D/obj.json"
	cat "$D/obj.json"
}

@test "limits: CA_MAX_JSON 65536 bytes of API request" {
	tok=$(ca-token --offline --dir "$D/ca" limits.example.com)
	api_object 65536 "$tok" >"$D/req.json"
	assert_equal "$(stat -c %s "$D/req.json")" 65536
	# Whitespace around the object is not part of it.
	printf '\n  \n' >>"$D/req.json"
	run -0 ca-sign --api --offline --dir "$D/ca" <"$D/req.json"
	assert_equal "$(jq -r '.certChain | length' <<<"$output")" 2
	tok=$(ca-token --offline --dir "$D/ca" limits.example.com)
	api_object 65537 "$tok" >"$D/req.json"
	run -3 --separate-stderr ca-sign --api --offline --dir "$D/ca" <"$D/req.json"
	assert_output '{"status":413,"message":"request: input exceeds 65536 bytes"}'
	assert_equal "$stderr" "ca-sign: request: input exceeds 65536 bytes"
}

@test "limits: CA_MAX_JSON an oversized request is skipped, the next one answered" {
	tok=$(ca-token --offline --dir "$D/ca" limits.example.com)
	api_object 65537 "$tok" >"$D/big.json"
	# The same token: the oversized request never reached the authority.
	api_object 2000 "$tok" >"$D/good.json"
	cat "$D/big.json" "$D/good.json" >"$D/two.json"
	run -3 --separate-stderr ca-sign --api --offline --dir "$D/ca" <"$D/two.json"
	assert_equal "${#lines[@]}" 2
	assert_equal "${lines[0]}" '{"status":413,"message":"request: input exceeds 65536 bytes"}'
	assert_equal "$(jq -r '.certChain | length' <<<"${lines[1]}")" 2
	assert_equal "$stderr" "ca-sign: request: input exceeds 65536 bytes"
}

@test "limits: CA_MAX_JWT 16384 bytes of token" {
	tok=$(printf 'eyJhbGciOiJFUzI1NiJ9.%s.AAAA' "$(head -c 16358 /dev/zero | tr '\0' 'A')")
	assert_equal "${#tok}" 16384
	# At the limit the size check passes and the parser refuses the junk.
	run -3 --separate-stderr ca-sign --offline --dir "$D/ca" --token "$tok" <"$D/leaf.csr"
	refute_regex "$stderr" "longer than"
	assert_regex "$stderr" "^ca-sign: token rejected: "
	tok="${tok}A"
	run -3 --separate-stderr ca-sign --offline --dir "$D/ca" --token "$tok" <"$D/leaf.csr"
	assert_equal "$stderr" "ca-sign: token rejected: longer than 16384 bytes"
}

@test "limits: CA_MAX_CONFIG 1 MiB of ca.json" {
	cp -r "$D/ca" "$D/cfg"
	pad "$D/cfg/config/ca.json" 1048576
	run -0 ca-list --dir "$D/cfg"
	printf ' ' >>"$D/cfg/config/ca.json"
	run -4 --separate-stderr ca-list --dir "$D/cfg"
	assert_equal "$stderr" "ca-list: $D/cfg/config/ca.json: input exceeds 1048576 bytes"
}

@test "limits: CA_MAX_PASSWORD 1024 bytes of password" {
	head -c 1024 /dev/zero | tr '\0' 'p' >"$D/pw1024"
	run -0 ca-init --dir "$D/pw-ok" --password-file "$D/pw1024" --key-iterations 1
	# (openssl's -passin reads at most 1023 bytes: ca-sign opens the key.)
	run -0 ca-sign --ca-cert "$D/pw-ok/certs/intermediate_ca.crt" \
		--ca-key "$D/pw-ok/secrets/intermediate_ca_key" --password-file "$D/pw1024" <"$D/leaf.csr"
	head -c 1025 /dev/zero | tr '\0' 'p' >"$D/pw1025"
	run -3 --separate-stderr ca-init --dir "$D/pw-no" --password-file "$D/pw1025"
	assert_equal "$stderr" "ca-init: $D/pw1025: password longer than 1024 bytes"
	[ ! -e "$D/pw-no" ]
}

@test "limits: CA_MAX_SANS 100 names" {
	args=()
	for i in $(seq 1 100); do args+=(--san "h$i.example.com"); done
	run -0 sign "${args[@]}" <"$D/leaf.csr"
	assert_equal "$(printf '%s\n' "$output" | openssl x509 -noout -ext subjectAltName | tr ',' '\n' | grep -c DNS:)" 100
	run -2 --separate-stderr sign "${args[@]}" --san h101.example.com <"$D/leaf.csr"
	assert_equal "$stderr" "ca-sign: --san: more than 100 names"
}

@test "limits: CA_MAX_NAME 253 bytes of DNS name, 63 of a label" {
	l63=$(printf 'a%.0s' $(seq 63))
	name="$l63.$l63.$l63.$(printf 'b%.0s' $(seq 61))"
	assert_equal "${#name}" 253
	run -0 sign --san "$name" <"$D/leaf.csr"
	run -2 --separate-stderr sign --san "c$name" <"$D/leaf.csr"
	assert_equal "$stderr" "ca-sign: --san: DNS name longer than 253 bytes"
	run -2 --separate-stderr sign --san "a$l63.example.com" <"$D/leaf.csr"
	assert_equal "$stderr" "ca-sign: --san: a$l63.example.com: label longer than 63"
}

@test "limits: CA_MAX_SAN_LEN 1024 bytes of any name" {
	uri="https://example.com/$(printf 'p%.0s' $(seq 1004))"
	assert_equal "${#uri}" 1024
	run -0 sign --san "$uri" <"$D/leaf.csr"
	run -2 --separate-stderr sign --san "${uri}p" <"$D/leaf.csr"
	assert_equal "$stderr" "ca-sign: --san: name longer than 1024 bytes"
}

@test "limits: CA_MAX_CHAIN 8 certificates" {
	sign <"$D/leaf.csr" >"$D/chain.pem"
	for i in 1 2 3 4 5 6; do cat "$D/ca/certs/intermediate_ca.crt"; done >>"$D/chain.pem"
	[ "$(grep -c 'BEGIN CERTIFICATE' "$D/chain.pem")" -eq 8 ]
	run -0 ca-verify --root "$D/ca/certs/root_ca.crt" "$D/chain.pem"
	cat "$D/ca/certs/intermediate_ca.crt" >>"$D/chain.pem"
	run -3 --separate-stderr ca-verify --root "$D/ca/certs/root_ca.crt" "$D/chain.pem"
	assert_regex "$stderr" "more than 8 certificates"
}

@test "limits: CA_MAX_KEY_ITER 10,000,000 PBKDF2 iterations of a key file; ca-init makes at most 1,200,000 (JOSE_P2C_MAX)" {
	# The seed key's 16 iterations rewritten as 10,000,001: refused before
	# deriving.
	/usr/bin/python3 "$BATS_TEST_DIRNAME/helpers/key_iter.py" "$TOP/fuzz/corpus/pem/key-ec-encrypted.pem" "$D/iter.key" 10000001
	printf 'fuzz-password\n' >"$D/fpw"
	run -3 --separate-stderr timeout 10 ca-sign --ca-cert "$D/ca/certs/intermediate_ca.crt" --ca-key "$D/iter.key" --password-file "$D/fpw" <"$D/leaf.csr"
	assert_equal "$stderr" "ca-sign: $D/iter.key: encrypted key: 10000001 PBKDF2 iterations (1..10000000 accepted)"
	# ca-init's own keys: every count within what a JWE may carry, the
	# provisioner key's (init.bats tests the counts themselves).
	run -2 --separate-stderr ca-init --dir "$D/it" --key-iterations 1200001
	assert_equal "$stderr" "ca-init: --key-iterations: 1..1200000"
}

# big_crl SIZE OUT: a current CRL of SIZE bytes of DER from the intermediate.
big_crl() {
	python3 "$BATS_TEST_DIRNAME/helpers/big_crl.py" "$D/ca/certs/intermediate_ca.crt" "$D/int.key" "$1" "$2"
}

@test "limits: CA_MAX_CRL 4 MiB of DER CRL and CA_MAX_CRL_TEXT 6 MiB of its text, ca-inspect and ca-verify --crl" {
	sign <"$D/leaf.csr" >"$D/crl-leaf.pem"
	big_crl 4194304 "$D/max.der"
	big_crl 4194305 "$D/over.der"
	[ "$(stat -c %s "$D/max.der")" -eq 4194304 ]
	[ "$(stat -c %s "$D/over.der")" -eq 4194305 ]
	openssl crl -inform DER -in "$D/max.der" -out "$D/max.pem"
	openssl crl -inform DER -in "$D/over.der" -out "$D/over.pem"
	pad "$D/max.pem" 6291456

	run -0 --separate-stderr ca-inspect "$D/max.der"
	assert_equal "$stderr" ""
	assert_equal "$(jq -r .type <<<"$output")" crl
	run -0 --separate-stderr ca-inspect <"$D/max.pem"
	assert_equal "$stderr" ""
	assert_equal "$(jq -r .type <<<"$output")" crl
	run -0 --separate-stderr ca-verify --root "$D/ca/certs/root_ca.crt" --crl "$D/max.der" "$D/crl-leaf.pem"
	assert_equal "$stderr" ""
	run -0 --separate-stderr ca-verify --root "$D/ca/certs/root_ca.crt" --crl "$D/max.pem" --json "$D/crl-leaf.pem"
	assert_equal "$stderr" ""
	assert_equal "$(jq -r .revocation.status <<<"$output")" good

	for f in over.der over.pem; do
		run -3 --separate-stderr ca-inspect "$D/$f"
		assert_equal "$output" ""
		assert_equal "$stderr" "ca-inspect: CRL exceeds 4194304 bytes of DER"
		run -3 --separate-stderr ca-verify --root "$D/ca/certs/root_ca.crt" --crl "$D/$f" "$D/crl-leaf.pem"
		assert_equal "$output" ""
		assert_equal "$stderr" "ca-verify: $D/$f: CRL exceeds 4194304 bytes of DER"
	done
	printf ' ' >>"$D/max.pem"
	run -3 --separate-stderr ca-inspect "$D/max.pem"
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-inspect: $D/max.pem: input exceeds 6291456 bytes"
	run -3 --separate-stderr ca-verify --root "$D/ca/certs/root_ca.crt" --crl "$D/max.pem" "$D/crl-leaf.pem"
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-verify: $D/max.pem: input exceeds 6291456 bytes"
}

@test "limits: CA_MAX_PEM for what is not a CRL, DER or PEM, though the CRL limit is larger" {
	# A certificate and a request of 70,000 bytes of DER: a certificate's
	# validity and a request's key sit where a CRL's thisUpdate would.
	python3 - "$D" <<-'PY'
	import datetime, sys
	from cryptography import x509
	from cryptography.hazmat.primitives import hashes, serialization
	from cryptography.hazmat.primitives.asymmetric import ec
	from cryptography.x509.oid import NameOID, ObjectIdentifier
	d = sys.argv[1]
	key = ec.generate_private_key(ec.SECP256R1())
	name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'big')])
	ext = x509.UnrecognizedExtension(ObjectIdentifier('1.3.6.1.4.1.57264.99'),
	    b'\x04\x83\x01\x11\x70' + b'A' * 70000)
	now = datetime.datetime.now(datetime.timezone.utc)
	crt = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
	    .public_key(key.public_key()).serial_number(1).not_valid_before(now)
	    .not_valid_after(now + datetime.timedelta(days=1))
	    .add_extension(ext, critical=False).sign(key, hashes.SHA256()))
	csr = (x509.CertificateSigningRequestBuilder().subject_name(name)
	    .add_extension(ext, critical=False).sign(key, hashes.SHA256()))
	open(d + '/big-crt.der', 'wb').write(crt.public_bytes(serialization.Encoding.DER))
	open(d + '/big-csr.der', 'wb').write(csr.public_bytes(serialization.Encoding.DER))
	PY
	openssl x509 -inform DER -in "$D/big-crt.der" -out "$D/big-crt.pem"
	for f in big-crt.der big-csr.der big-crt.pem; do
		run -3 --separate-stderr ca-inspect "$D/$f"
		assert_equal "$output" ""
		assert_equal "$stderr" "ca-inspect: $D/$f: input exceeds 65536 bytes"
	done
	run -3 --separate-stderr ca-verify --root "$D/ca/certs/root_ca.crt" --crl "$D/big-crt.der" "$D/big-crt.pem"
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-verify: $D/big-crt.pem: input exceeds 65536 bytes"
}

@test "limits: CA_MAX_ADDR_RULES 24 address rules of an ACME provisioner's validation" {
	local c="$D/ca/config/ca.json" n
	cp "$c" "$D/ca.json.keep"
	n=$(jq '.authority.provisioners | length' "$c")
	# 12 allow rules (one IPv6) and 12 deny rules.
	jq --argjson a "$(seq 1 11 | jq -R '"192.0.2.\(.)/32"' | jq -cs '. + ["2001:db8::/32"]')" \
		--argjson d "$(seq 1 12 | jq -R '"198.51.100.\(.)/32"' | jq -cs .)" \
		'.authority.provisioners += [{"type": "ACME", "name": "acme", "validation": {"allow": $a, "deny": $d}}]' \
		"$D/ca.json.keep" | put_file "$c"
	run -0 --separate-stderr ca-token --offline --dir "$D/ca" limits.example.com
	jq '(.authority.provisioners[-1].validation.deny) += ["203.0.113.0/24"]' "$c" >"$D/ca.json.25"
	put_file "$c" <"$D/ca.json.25"
	run -4 --separate-stderr ca-token --offline --dir "$D/ca" limits.example.com
	put_file "$c" <"$D/ca.json.keep"
	assert_output ""
	assert_equal "$stderr" "ca-token: ca.json: authority.provisioners[$n].validation: 25 allow and deny rules: at most 24"
}
