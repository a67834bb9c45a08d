#!/usr/bin/env bats
# ca-sign, stateless mode: --ca-cert/--ca-key, no database, no token.

load common

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_openssl_ca "$D"
	cat "$D/int.crt" >"$D/int-chain.crt"
	make_csr "$D" leaf -subj "/CN=foo.example.com" \
		-addext "subjectAltName=DNS:foo.example.com,IP:10.0.0.5"
}

sign() { ca-sign --ca-cert "$D/int.crt" --ca-key "$D/int.key" "$@"; }

@test "sign: -h prints usage and exits 0" {
	run -0 --separate-stderr ca-sign -h
	assert_output --partial "usage: ca-sign --token TOKEN [--ca-url URL]"
	assert_output --partial "       ca-sign --offline --token TOKEN"
	assert_output --partial "       ca-sign --ca-cert FILE --ca-key FILE [--password-file FILE]"
	assert_equal "$stderr" ""
}

@test "sign: fail unknown option with exit 2" {
	run -2 --separate-stderr ca-sign --bogus
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-sign: unrecognized option '--bogus' (see -h)"
}

@test "sign: fail without --ca-key (exit 2)" {
	run -2 --separate-stderr ca-sign --ca-cert "$D/int.crt" <"$D/leaf.csr"
	assert_equal "$stderr" "ca-sign: --ca-cert and --ca-key are required (see -h)"
}

@test "sign: fail option without its argument (exit 2)" {
	run -2 --separate-stderr ca-sign --ca-cert
	assert_equal "$stderr" "ca-sign: option --ca-cert needs an argument (see -h)"
}

@test "sign: fail repeated --not-after (exit 2)" {
	run -2 --separate-stderr sign --not-after 1h --not-after 2h <"$D/leaf.csr"
	assert_equal "$stderr" "ca-sign: --not-after given twice"
}

@test "sign: fail empty input (exit 3)" {
	run -3 --separate-stderr sign </dev/null
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-sign: empty input"
}

@test "sign: fail garbage input (exit 3)" {
	run -3 --separate-stderr sign < <(printf 'not a csr at all\n')
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-sign: malformed certificate request: nested asn1 error"
}

@test "sign: ok leaf chain verifies with openssl -x509_strict" {
	run -0 --separate-stderr sign <"$D/leaf.csr"
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >"$D/chain.pem"
	[ "$(grep -c 'BEGIN CERTIFICATE' "$D/chain.pem")" -eq 2 ]
	run -0 openssl verify -x509_strict -CAfile "$D/root.crt" \
		-untrusted "$D/int.crt" -purpose sslserver "$D/chain.pem"
	run -0 openssl x509 -in "$D/chain.pem" -noout -ext subjectAltName,keyUsage,extendedKeyUsage,basicConstraints
	assert_output --partial "DNS:foo.example.com, IP Address:10.0.0.5"
	assert_output --partial "Digital Signature"
	assert_output --partial "TLS Web Server Authentication, TLS Web Client Authentication"
	assert_output --partial "CA:FALSE"
	run -0 openssl x509 -in "$D/chain.pem" -noout -subject -issuer
	assert_line "subject=CN = foo.example.com"
	assert_line "issuer=CN = Test Intermediate CA"
}

@test "sign: ok chain verifies with ca-verify" {
	sign <"$D/leaf.csr" >"$D/chain2.pem"
	run -0 --separate-stderr ca-verify --root "$D/root.crt" --host foo.example.com "$D/chain2.pem"
	run -0 --separate-stderr ca-verify --root "$D/root.crt" --host 10.0.0.5 "$D/chain2.pem"
}

@test "sign: ok SKI set and AKI is the intermediate's SKI" {
	sign <"$D/leaf.csr" >"$D/c.pem"
	aki=$(openssl x509 -in "$D/c.pem" -noout -ext authorityKeyIdentifier | sed -n 2p | tr -d ' ')
	ski=$(openssl x509 -in "$D/int.crt" -noout -ext subjectKeyIdentifier | sed -n 2p | tr -d ' ')
	[ -n "$ski" ]
	assert_equal "${aki#keyid:}" "$ski"
	run -0 openssl x509 -in "$D/c.pem" -noout -ext subjectKeyIdentifier
	assert_line --index 0 "X509v3 Subject Key Identifier: "
}

@test "sign: ok default validity is 24h backdated 1m" {
	t0=$(date +%s)
	sign <"$D/leaf.csr" >"$D/c.pem"
	t1=$(date +%s)
	nb=$(date -d "$(openssl x509 -in "$D/c.pem" -noout -startdate | cut -d= -f2)" +%s)
	na=$(date -d "$(openssl x509 -in "$D/c.pem" -noout -enddate | cut -d= -f2)" +%s)
	assert_equal $((na - nb)) $((86400 + 60))
	assert [ "$nb" -ge $((t0 - 60)) ]
	assert [ "$nb" -le $((t1 - 60)) ]
}

@test "sign: ok --not-after past the issuer is clamped to the issuer's notAfter" {
	sign --not-after 100000h <"$D/leaf.csr" >"$D/c.pem"
	assert_equal "$(openssl x509 -in "$D/c.pem" -noout -enddate)" \
		"$(openssl x509 -in "$D/int.crt" -noout -enddate)"
}

@test "sign: ok RFC 3339 --not-before and --not-after" {
	sign --not-before 2030-01-01T00:00:00Z --not-after 2030-01-02T12:00:00+02:00 <"$D/leaf.csr" >"$D/c.pem"
	assert_equal "$(openssl x509 -in "$D/c.pem" -noout -startdate)" "notBefore=Jan  1 00:00:00 2030 GMT"
	assert_equal "$(openssl x509 -in "$D/c.pem" -noout -enddate)" "notAfter=Jan  2 10:00:00 2030 GMT"
}

@test "sign: fail --not-after before --not-before (exit 3)" {
	run -3 --separate-stderr sign --not-after -5m <"$D/leaf.csr"
	assert_equal "$stderr" "ca-sign: certificate would not be valid: notAfter is not after notBefore"
}

@test "sign: fail malformed --not-after (exit 2)" {
	run -2 --separate-stderr sign --not-after 24x <"$D/leaf.csr"
	assert_output ""
	assert_regex "$stderr" "^ca-sign: --not-after: 24x: bad time"
}

@test "sign: ok CSR asking for CA:TRUE, keyCertSign and extra EKUs gets none" {
	make_csr "$D" evil -subj "/CN=evil.example.com/O=Evil Org" \
		-addext "subjectAltName=DNS:evil.example.com" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
		-addext "extendedKeyUsage=codeSigning,OCSPSigning,serverAuth" \
		-addext "nameConstraints=permitted;DNS:example.com"
	sign <"$D/evil.csr" >"$D/evil.pem"
	run -0 openssl x509 -in "$D/evil.pem" -noout -text
	assert_output --partial "CA:FALSE"
	refute_output --partial "Certificate Sign"
	refute_output --partial "CRL Sign"
	refute_output --partial "Code Signing"
	refute_output --partial "OCSP Signing"
	refute_output --partial "Name Constraints"
	refute_output --partial "Evil Org"
	run -0 openssl x509 -in "$D/evil.pem" -noout -subject
	assert_output "subject=CN = evil.example.com"
	run -2 openssl verify -CAfile "$D/root.crt" -untrusted "$D/int.crt" \
		-untrusted "$D/evil.pem" "$D/leaf.csr"
}

@test "sign: fail CSR with a bad signature (exit 3)" {
	# Flip one bit inside the signature BIT STRING (the last bytes of the DER).
	openssl req -in "$D/leaf.csr" -outform DER -out "$D/bad.der"
	size=$(stat -c %s "$D/bad.der")
	printf '\x01' | dd of="$D/bad.der" bs=1 seek=$((size - 5)) conv=notrunc 2>/dev/null
	run -3 --separate-stderr sign <"$D/bad.der"
	assert_output ""
	assert_regex "$stderr" "^ca-sign: certificate request: signature does not verify"
}

@test "sign: fail RSA-1024 key (exit 3)" {
	openssl req -new -newkey rsa:1024 -nodes -keyout "$D/r1k.key" -subj /CN=weak.example.com -out "$D/r1k.csr" 2>/dev/null
	run -3 --separate-stderr sign <"$D/r1k.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: certificate request: RSA key of 1024 bits: at least 2048 required"
}

@test "sign: ok RSA-2048, P-384, P-521 and Ed25519 keys" {
	openssl req -new -newkey rsa:2048 -nodes -keyout "$D/r.key" -subj /CN=rsa.example.com -out "$D/r.csr" 2>/dev/null
	run -0 sign <"$D/r.csr"
	printf '%s\n' "$output" | openssl x509 -noout -ext keyUsage | grep -q "Digital Signature, Key Encipherment"
	for c in P-384 P-521; do
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:$c -nodes -keyout "$D/e.key" -subj /CN=ec.example.com -out "$D/e.csr" 2>/dev/null
		run -0 sign <"$D/e.csr"
	done
	openssl req -new -newkey ed25519 -nodes -keyout "$D/ed.key" -subj /CN=ed.example.com -out "$D/ed.csr" 2>/dev/null
	run -0 sign <"$D/ed.csr"
	printf '%s\n' "$output" >"$D/ed.pem"
	run -0 openssl verify -x509_strict -CAfile "$D/root.crt" -untrusted "$D/int.crt" "$D/ed.pem"
}

@test "sign: fail unsupported curve secp256k1 (exit 3)" {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:secp256k1 -nodes -keyout "$D/k1.key" -subj /CN=k1.example.com -out "$D/k1.csr" 2>/dev/null
	run -3 --separate-stderr sign <"$D/k1.csr"
	assert_equal "$stderr" "ca-sign: certificate request: unsupported EC curve (P-256, P-384, P-521)"
}

@test "sign: fail trailing garbage after the PEM block (exit 3)" {
	{ cat "$D/leaf.csr"; echo "junk"; } >"$D/trail.csr"
	run -3 --separate-stderr sign <"$D/trail.csr"
	assert_equal "$stderr" "ca-sign: PEM: text outside a PEM block"
	openssl req -in "$D/leaf.csr" -outform DER -out "$D/t.der"
	printf 'x' >>"$D/t.der"
	run -3 --separate-stderr sign <"$D/t.der"
	assert_regex "$stderr" "^ca-sign: malformed certificate request"
}

@test "sign: fail 1 MB of input (exit 3) and accept exactly the 64 KiB limit" {
	head -c 1048576 /dev/zero | tr '\0' 'A' >"$D/big"
	run -3 --separate-stderr sign <"$D/big"
	assert_equal "$stderr" "ca-sign: stdin: input exceeds 65536 bytes"
	# Pad a real CSR with blank lines to exactly 65536 bytes: accepted.
	cp "$D/leaf.csr" "$D/pad.csr"
	size=$(stat -c %s "$D/pad.csr")
	head -c $((65536 - size)) /dev/zero | tr '\0' '\n' >>"$D/pad.csr"
	[ "$(stat -c %s "$D/pad.csr")" -eq 65536 ]
	run -0 sign <"$D/pad.csr"
	printf '\n' >>"$D/pad.csr"
	run -3 --separate-stderr sign <"$D/pad.csr"
	assert_equal "$stderr" "ca-sign: stdin: input exceeds 65536 bytes"
}

@test "sign: fail a certificate given as the request (exit 3)" {
	run -3 --separate-stderr sign <"$D/int.crt"
	assert_equal "$stderr" "ca-sign: expected CERTIFICATE REQUEST, found CERTIFICATE"
}

@test "sign: fail CA key that does not match the certificate (exit 3)" {
	run -3 --separate-stderr ca-sign --ca-cert "$D/int.crt" --ca-key "$D/root.key" <"$D/leaf.csr"
	assert_equal "$stderr" "ca-sign: $D/root.key does not match the key of $D/int.crt"
}

@test "sign: fail issuer that is not a CA (exit 3)" {
	sign <"$D/leaf.csr" | sed -n '1,/END CERTIFICATE/p' >"$D/leafonly.pem"
	run -3 --separate-stderr ca-sign --ca-cert "$D/leafonly.pem" --ca-key "$D/leaf.key" <"$D/leaf.csr"
	assert_equal "$stderr" "ca-sign: $D/leafonly.pem is not a CA certificate"
}

@test "sign: ok encrypted CA key with --password-file; wrong password refused (exit 1)" {
	printf 'correct horse\n' >"$D/pw"
	printf 'wrong horse\n' >"$D/badpw"
	openssl pkcs8 -topk8 -in "$D/int.key" -out "$D/int-enc.key" -passout pass:"correct horse" -v2 aes-256-cbc 2>/dev/null
	run -0 ca-sign --ca-cert "$D/int.crt" --ca-key "$D/int-enc.key" --password-file "$D/pw" <"$D/leaf.csr"
	run -1 --separate-stderr ca-sign --ca-cert "$D/int.crt" --ca-key "$D/int-enc.key" --password-file "$D/badpw" <"$D/leaf.csr"
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-sign: $D/int-enc.key: cannot decrypt key: wrong password"
	run -2 --separate-stderr ca-sign --ca-cert "$D/int.crt" --ca-key "$D/int-enc.key" <"$D/leaf.csr"
	assert_equal "$stderr" "ca-sign: $D/int-enc.key: key is encrypted: a password file is needed"
}

@test "sign: ok --san replaces the request's names" {
	run -0 sign --san bar.example.com --san 192.168.1.1 --san ops@example.com --san spiffe://example.com/x <"$D/leaf.csr"
	printf '%s\n' "$output" >"$D/s.pem"
	run -0 openssl x509 -in "$D/s.pem" -noout -ext subjectAltName -subject
	assert_output --partial "DNS:bar.example.com, IP Address:192.168.1.1, email:ops@example.com, URI:spiffe://example.com/x"
	refute_output --partial "foo.example.com"
	assert_line "subject=CN = bar.example.com"
}

@test "sign: ok names are normalised (case, trailing dot, mapped IPv4)" {
	run -0 sign --san FOO.Example.COM. --san ::ffff:10.1.2.3 <"$D/leaf.csr"
	printf '%s\n' "$output" | openssl x509 -noout -ext subjectAltName | grep -q "DNS:foo.example.com, IP Address:10.1.2.3"
}

@test "sign: fail ambiguous IP spellings in --san (exit 2)" {
	for bad in 0177.0.0.1 0x7f.1 1.2.3 127.1; do
		run -2 --separate-stderr sign --san "$bad" <"$D/leaf.csr"
		assert_regex "$stderr" "^ca-sign: --san: $bad: ambiguous name"
	done
}

@test "sign: ok --profile intermediate makes a pathlen-0 CA" {
	make_openssl_ca "$D/ca2"
	make_csr "$D" sub -subj "/CN=Sub CA"
	run -0 ca-sign --ca-cert "$D/ca2/root.crt" --ca-key "$D/ca2/root.key" --profile intermediate --not-after 48h <"$D/sub.csr"
	printf '%s\n' "$output" | openssl x509 -noout -ext basicConstraints,keyUsage >"$D/sub.txt"
	grep -q "CA:TRUE, pathlen:0" "$D/sub.txt"
	grep -q "Certificate Sign, CRL Sign" "$D/sub.txt"
}

@test "sign: ok --json gives crt, ca and certChain" {
	run -0 --separate-stderr sign --json <"$D/leaf.csr"
	assert_equal "$(jq -r '.certChain | length' <<<"$output")" 2
	assert_equal "$(jq -r '.crt == .certChain[0]' <<<"$output")" true
	assert_equal "$(jq -r '.ca' <<<"$output")" "$(cat "$D/int.crt")"
}

@test "sign: ok --key-out generates a 0600 key and a matching certificate" {
	run -0 --separate-stderr sign --key-out "$D/gen.key" --san gen.example.com --san 10.9.9.9 gen.example.com
	printf '%s\n' "$output" >"$D/gen.pem"
	assert_equal "$(stat -c %a "$D/gen.key")" 600
	assert_equal "$(openssl pkey -in "$D/gen.key" -pubout)" "$(openssl x509 -in "$D/gen.pem" -noout -pubkey)"
	run -0 openssl x509 -in "$D/gen.pem" -noout -ext subjectAltName -text
	assert_output --partial "DNS:gen.example.com, IP Address:10.9.9.9"
	assert_output --partial "NIST CURVE: P-256"
}

@test "sign: fail --key-out onto an existing file (nothing overwritten)" {
	echo keep >"$D/exists.key"
	run -4 --separate-stderr sign --key-out "$D/exists.key" x.example.com
	assert_equal "$stderr" "ca-sign: $D/exists.key: already exists, not overwritten"
	assert_equal "$(cat "$D/exists.key")" keep
}

@test "sign: ok --key-out with --kty RSA and OKP" {
	run -0 sign --key-out "$D/rsa.key" --kty RSA --size 2048 rsa.example.com
	run -0 openssl pkey -in "$D/rsa.key" -noout -text
	assert_line --index 0 --partial "Private-Key: (2048 bit"
	run -0 sign --key-out "$D/ed.key2" --kty OKP ed.example.com
	run -0 openssl pkey -in "$D/ed.key2" -noout -text
	assert_line --index 0 "ED25519 Private-Key:"
}

@test "sign: ok 1000 serials are unique, positive and at least 128 bits" {
	# A process each; the serial's octets then read from every output's
	# first certificate by one program, not five per certificate.
	for i in $(seq 1000); do
		sign <"$D/leaf.csr" && echo .
	done >"$D/outputs"
	/usr/bin/python3 - "$D/outputs" >"$D/serials" <<'PY'
import base64, sys
for out in open(sys.argv[1]).read().split("\n.\n")[:-1]:
    b64 = out.split("-----BEGIN CERTIFICATE-----\n")[1].split("-----END")[0]
    # The tbsCertificate's serial: tag, length and 20 octets, at 13.
    print(base64.b64decode(b64)[13:35].hex())
PY
	assert_equal "$(wc -l <"$D/serials")" 1000
	assert_equal "$(sort -u "$D/serials" | wc -l)" 1000
	# Every one: INTEGER tag 02, length 0x14 (20 octets), first octet 0x40..0x7f.
	assert_equal "$(grep -cE '^0214[4-7][0-9a-f]{39}$' "$D/serials")" 1000
}

@test "sign: fail CSR with explicit EC parameters (exit 3)" {
	run -3 --separate-stderr sign <"$TOP/fuzz/corpus/csr/ec-explicit-params.pem"
	assert_output ""
	assert_equal "$stderr" "ca-sign: certificate request: EC key with explicit parameters: a named curve is required"
}

@test "sign: fail CA key file demanding 2^31 PBKDF2 iterations, before deriving (exit 3)" {
	# The seed key's 16 iterations rewritten as 0x7fffffff.
	/usr/bin/python3 "$BATS_TEST_DIRNAME/helpers/key_iter.py" "$TOP/fuzz/corpus/pem/key-ec-encrypted.pem" "$D/slow.key" 2147483647
	openssl asn1parse -in "$D/slow.key" | grep -q ':7FFFFFFF'
	printf 'fuzz-password\n' >"$D/fpw"
	run -3 --separate-stderr timeout 10 ca-sign --ca-cert "$D/int.crt" --ca-key "$D/slow.key" --password-file "$D/fpw" <"$D/leaf.csr"
	assert_equal "$stderr" "ca-sign: $D/slow.key: encrypted key: 2147483647 PBKDF2 iterations (1..10000000 accepted)"
}
