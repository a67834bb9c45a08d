#!/usr/bin/env bats
# ca-token: minting one-time tokens, offline from a CA home and with a bare
# key; the format checked field by field and by jwcrypto, an independent
# JOSE implementation.

load common
load helpers/authority

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_ca
	# A second provisioner "ci" with its own password; jwcrypto encrypted
	# its key with few PBKDF2 iterations, so its tokens are cheap to mint.
	printf 'ci password\n' >"$D/ci.pw"
	"$PY" "$TOKPY" provisioner ci "$D/ci.pw" >"$D/ci.prov"
	jq --slurpfile p "$D/ci.prov" '.authority.provisioners += $p' \
		"$D/ca.json.orig" | put_file "$CA/config/ca.json"
	cp "$CA/config/ca.json" "$D/ca.json.two"
	"$PY" "$TOKPY" key "$CA/config/ca.json" "$D/pw" >"$D/prov.jwk"
	"$PY" -c 'import sys; from jwcrypto import jwk
print(jwk.JWK.from_json(open(sys.argv[1]).read()).export_to_pem(private_key=True, password=None).decode(), end="")' \
		"$D/prov.jwk" >"$D/prov.pem"
	jq -r '.authority.provisioners[0].encryptedKey' "$CA/config/ca.json" >"$D/prov.jwe"
	csr foo foo.example.com dns:foo.example.com
	openssl req -in "$D/foo.csr" -outform DER -out "$D/foo.der"
}

teardown() {
	put_file "$CA/config/ca.json" <"$D/ca.json.two"
}

KID() { jq -r .kid "$D/init.json"; }
CIKID() { jq -r .key.kid "$D/ci.prov"; }
FP() { openssl x509 -in "$CA/certs/root_ca.crt" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f; }
ci() { ca-token --offline --dir "$CA" --provisioner ci --password-file "$D/ci.pw" "$@"; }
SIGN_AUD=https://ca.example.com:9443/1.0/sign

@test "token: -h prints usage and exits 0" {
	run -0 --separate-stderr ca-token -h
	assert_line --index 0 "usage: ca-token --password-file FILE [--ca-url URL] [--root FILE] [--dir DIR]"
	assert_line --index 3 "       ca-token --offline [--dir DIR] [--provisioner NAME] [--password-file FILE]"
	assert_equal "$stderr" ""
}

@test "token: ok default sign token, header and claims" {
	t0=$(date +%s)
	run -0 --separate-stderr ca-token --offline --dir "$CA" foo.example.com
	t1=$(date +%s)
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 1
	t=$output
	assert_regex "$t" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{86}$'
	assert_equal "$(header "$t" | jq -c .)" "{\"alg\":\"ES256\",\"kid\":\"$(KID)\",\"typ\":\"JWT\"}"
	c=$(claims "$t")
	assert_equal "$(jq -c 'keys' <<<"$c")" '["aud","exp","iat","iss","jti","nbf","sans","sha","sub"]'
	assert_equal "$(jq -r .iss <<<"$c")" admin
	assert_equal "$(jq -r .sub <<<"$c")" foo.example.com
	assert_equal "$(jq -c .sans <<<"$c")" '["foo.example.com"]'
	assert_equal "$(jq -r .aud <<<"$c")" "$SIGN_AUD"
	assert_equal "$(jq '.iat == .nbf' <<<"$c")" true
	assert_equal "$(jq '.exp - .nbf' <<<"$c")" 300
	nbf=$(jq .nbf <<<"$c")
	assert [ "$nbf" -ge "$t0" ]
	assert [ "$nbf" -le "$t1" ]
	assert_regex "$(jq -r .jti <<<"$c")" '^[0-9a-f]{64}$'
	assert_equal "$(jq -r .sha <<<"$c")" "$(FP)"
	assert_equal "$(jq -r .sha <<<"$c")" "$(jq -r .fingerprint "$D/init.json")"
}

@test "token: ok verifies with jwcrypto" {
	t=$(ca-token --offline --dir "$CA" --san foo.example.com --san 10.0.0.5 foo.example.com)
	run -0 "$PY" "$TOKPY" verify "$CA/config/ca.json" "$t"
	assert_equal "$(jq -c . <<<"${lines[0]}")" "$(header "$t" | jq -c .)"
	assert_equal "$(jq -c . <<<"${lines[1]}")" "$(claims "$t" | jq -c .)"
	# One changed byte in the payload, and jwcrypto refuses it too.
	IFS=. read -r h p s <<<"$t"
	p2=$(claims "$t" | jq -c '.sub = "evil.example.com"' | base64 -w0 | tr '+/' '-_' | tr -d =)
	run -1 "$PY" "$TOKPY" verify "$CA/config/ca.json" "$h.$p2.$s"
}

@test "token: ok --san names normalised, in the order given" {
	run -0 --separate-stderr ci --san FOO.Example.COM. --san 10.0.0.5 --san ::ffff:10.0.0.6 \
		--san Ops@Example.COM --san HTTPS://example.com/x --san 2001:DB8::1 \
		--san uri:mailto:ops@example.com --san DNS:Bar.Example.COM foo.example.com
	assert_equal "$(claims "$output" | jq -c .sans)" \
		'["foo.example.com","10.0.0.5","10.0.0.6","Ops@example.com","https://example.com/x","2001:db8::1","uri:mailto:ops@example.com","bar.example.com"]'
	assert_equal "$(claims "$output" | jq -r .sub)" foo.example.com
}

@test "token: ok every token has its own jti" {
	a=$(ci foo.example.com)
	b=$(ci foo.example.com)
	[ "$(claims "$a" | jq -r .jti)" != "$(claims "$b" | jq -r .jti)" ]
}

@test "token: ok --not-before and --not-after (counted from --not-before)" {
	t=$(ci --not-before 2030-01-01T00:00:00Z --not-after 10m foo.example.com)
	assert_equal "$(claims "$t" | jq -c '[.nbf, .iat, .exp]')" "[1893456000,1893456000,1893456600]"
	t=$(ci --not-before 2030-01-01T00:00:00Z --not-after 2030-01-01T00:30:00Z foo.example.com)
	assert_equal "$(claims "$t" | jq -c '[.nbf, .exp]')" "[1893456000,1893457800]"
	t=$(ci --not-after 1h foo.example.com)
	assert_equal "$(claims "$t" | jq '.exp - .nbf')" 3600
}

@test "token: fail lifetime above the CA's maxTokenLifetime (exit 2)" {
	run -2 --separate-stderr ci --not-after 61m foo.example.com
	assert_output ""
	assert_equal "$stderr" "ca-token: token lifetime 3660s exceeds the CA's maximum 3600s (maxTokenLifetime)"
	jq '.authority.maxTokenLifetime = "2h"' "$D/ca.json.two" | put_file "$CA/config/ca.json"
	run -0 --separate-stderr ci --not-after 2h foo.example.com
	assert_equal "$(claims "$output" | jq '.exp - .iat')" 7200
}

@test "token: fail --not-after not after --not-before, malformed times (exit 2)" {
	run -2 --separate-stderr ci --not-after -1m foo.example.com
	assert_equal "$stderr" "ca-token: --not-after must be after --not-before"
	run -2 --separate-stderr ci --not-after 5x foo.example.com
	assert_equal "$stderr" "ca-token: --not-after: 5x: bad time (RFC 3339 like 2026-01-02T03:04:05Z, or a duration like 24h)"
	run -2 --separate-stderr ci --not-before yesterday foo.example.com
	assert_regex "$stderr" "^ca-token: --not-before: yesterday: bad time"
}

@test "token: ok --revoke SERIAL: decimal sub, revoke audience, no sans" {
	run -0 --separate-stderr ca-token --offline --dir "$CA" --revoke 0x0102030405060708090a
	t=$output
	assert_equal "$(header "$t" | jq -c .)" "{\"alg\":\"ES256\",\"kid\":\"$(KID)\",\"typ\":\"JWT\"}"
	c=$(claims "$t")
	assert_equal "$(jq -c 'keys' <<<"$c")" '["aud","exp","iat","iss","jti","nbf","sha","sub"]'
	assert_equal "$(jq -r .sub <<<"$c")" 4759477275222530853130
	assert_equal "$(jq -r .aud <<<"$c")" https://ca.example.com:9443/1.0/revoke
	assert_equal "$(jq '.exp - .nbf' <<<"$c")" 300
	run -0 "$PY" "$TOKPY" verify "$CA/config/ca.json" "$t"
	t=$(ci --revoke 0004759477275222530853130)
	assert_equal "$(claims "$t" | jq -r .sub)" 4759477275222530853130
}

@test "token: fail --revoke with SUBJECT, --san, --csr or a bad serial (exit 2)" {
	run -2 --separate-stderr ci --revoke 12 foo.example.com
	assert_equal "$stderr" "ca-token: --revoke takes no SUBJECT"
	run -2 --separate-stderr ci --revoke 12 --san foo.example.com
	assert_equal "$stderr" "ca-token: --san and --csr do not go with --revoke"
	run -2 --separate-stderr ci --revoke 12 --csr "$D/foo.csr"
	assert_equal "$stderr" "ca-token: --san and --csr do not go with --revoke"
	for bad in bogus 0x 0 -5 0xZZ 12.5; do
		run -2 --separate-stderr ci --revoke "$bad"
		assert_output ""
		assert_equal "$stderr" "ca-token: --revoke $bad: not a serial number (decimal digits, or hexadecimal as 0xHEX, HH:HH:..., serial=HEX (openssl x509 -serial), or digits with a letter a-f)"
	done
}

@test "token: ok --csr binds the token to the request (cnf.x5rt#S256), PEM or DER" {
	want=$(openssl req -in "$D/foo.csr" -outform DER | openssl dgst -sha256 -binary |
		base64 -w0 | tr '+/' '-_' | tr -d =)
	t=$(ci --csr "$D/foo.csr" foo.example.com)
	assert_equal "$(claims "$t" | jq -c .cnf)" "{\"x5rt#S256\":\"$want\"}"
	t=$(ci --csr "$D/foo.der" foo.example.com)
	assert_equal "$(claims "$t" | jq -r '.cnf."x5rt#S256"')" "$want"
}

@test "token: fail --csr missing or malformed (exit 3)" {
	run -3 --separate-stderr ci --csr "$D/nothere.csr" foo.example.com
	assert_equal "$stderr" "ca-token: $D/nothere.csr: No such file or directory"
	echo garbage >"$D/g.csr"
	run -3 --separate-stderr ci --csr "$D/g.csr" foo.example.com
	assert_equal "$stderr" "ca-token: $D/g.csr: malformed certificate request: nested asn1 error"
}

@test "token: ok --key with a PEM key, accepted by ca-sign" {
	run -0 --separate-stderr ca-token --key "$D/prov.pem" --issuer admin --aud "$SIGN_AUD" foo.example.com
	t=$output
	assert_equal "$(header "$t" | jq -c .)" "{\"alg\":\"ES256\",\"kid\":\"$(KID)\",\"typ\":\"JWT\"}"
	assert_equal "$(claims "$t" | jq -c 'keys')" '["aud","exp","iat","iss","jti","nbf","sans","sub"]'
	assert_equal "$(claims "$t" | jq -c '[.iss, .aud, .sans]')" "[\"admin\",\"$SIGN_AUD\",[\"foo.example.com\"]]"
	run -0 "$PY" "$TOKPY" verify "$CA/config/ca.json" "$t"
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
}

@test "token: ok tok.py's own ES256 signatures (the suites' hostile tokens) verify with jwcrypto" {
	local t
	for t in $("$PY" "$TOKPY" mint "$D/prov.jwk" "$CA/config/ca.json" -n 5); do
		run -0 "$PY" "$TOKPY" verify "$CA/config/ca.json" "$t"
		assert_equal "$(jq -r .alg <<<"${lines[0]}")" ES256
	done
	# The signature's first octet changed: refused.  (Not its last
	# character: four of its six bits are unused, and Python's decoder,
	# unlike lib/b64, ignores them: an A and a B there are the same bytes.)
	local sig=${t##*.}
	t=${t%.*}.$([ "${sig:0:1}" = A ] && echo B || echo A)${sig:1}
	run -1 "$PY" "$TOKPY" verify "$CA/config/ca.json" "$t"
}

@test "token: ok --key with a JWK file, --fingerprint and --kid" {
	run -0 --separate-stderr ca-token --key "$D/prov.jwk" --issuer admin --aud "$SIGN_AUD" \
		--fingerprint "$(FP)" foo.example.com
	t=$output
	assert_equal "$(header "$t" | jq -r .kid)" "$(KID)"
	assert_equal "$(claims "$t" | jq -r .sha)" "$(FP)"
	run -0 "$PY" "$TOKPY" verify "$D/prov.jwk" "$t"
	run -0 --separate-stderr ca-token --key "$D/prov.jwk" --issuer admin --aud "$SIGN_AUD" --kid my-key foo.example.com
	assert_equal "$(header "$output" | jq -r .kid)" my-key
	# The CA knows no key "my-key".
	run -1 --separate-stderr ca-sign --offline --dir "$CA" --token "$output" <"$D/foo.csr"
	assert_equal "$stderr" "ca-sign: token rejected: unknown provisioner admin with key my-key"
}

@test "token: ok --key with the encryptedKey JWE and --password-file" {
	run -0 --separate-stderr ca-token --key "$D/prov.jwe" --password-file "$D/pw" \
		--issuer admin --aud "$SIGN_AUD" foo.example.com
	assert_equal "$(header "$output" | jq -r .kid)" "$(KID)"
	run -0 "$PY" "$TOKPY" verify "$CA/config/ca.json" "$output"
}

@test "token: fail --key JWE without --password-file (exit 2) or with a wrong one (exit 1)" {
	run -2 --separate-stderr ca-token --key "$D/prov.jwe" --issuer admin --aud "$SIGN_AUD" foo.example.com
	assert_equal "$stderr" "ca-token: $D/prov.jwe is encrypted: --password-file is needed"
	run -1 --separate-stderr ca-token --key "$D/prov.jwe" --password-file "$D/ci.pw" \
		--issuer admin --aud "$SIGN_AUD" foo.example.com
	assert_output ""
	assert_equal "$stderr" "ca-token: $D/prov.jwe: provisioner key: jwe: wrong password"
}

@test "token: ok --key P-384, Ed25519 and RSA keys sign ES384, EdDSA and RS256 (jwcrypto agrees)" {
	openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-384 -out "$D/p384.pem" 2>/dev/null
	openssl genpkey -algorithm ed25519 -out "$D/ed.pem" 2>/dev/null
	openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$D/rsa.pem" 2>/dev/null
	for k in p384:ES384 ed:EdDSA rsa:RS256; do
		run -0 --separate-stderr ca-token --key "$D/${k%:*}.pem" --issuer x --aud "$SIGN_AUD" foo.example.com
		assert_equal "$(header "$output" | jq -r .alg)" "${k#*:}"
		run -0 "$PY" "$TOKPY" verify "$D/${k%:*}.pem" "$output"
	done
}

@test "token: fail --key missing, not a private key, or a public JWK (exit 3)" {
	run -3 --separate-stderr ca-token --key "$D/nothere" --issuer a --aud b x
	assert_equal "$stderr" "ca-token: $D/nothere: No such file or directory"
	run -3 --separate-stderr ca-token --key "$D/foo.csr" --issuer a --aud b x
	assert_equal "$stderr" "ca-token: $D/foo.csr: expected a private key, found CERTIFICATE REQUEST"
	jq '.authority.provisioners[0].key' "$CA/config/ca.json" >"$D/pub.jwk"
	run -3 --separate-stderr ca-token --key "$D/pub.jwk" --issuer a --aud b x
	assert_equal "$stderr" "ca-token: $D/pub.jwk: jwk: not a private key (no \"d\")"
}

@test "token: fail wrong provisioner password (exit 1)" {
	# ci's key is not encrypted with the CA's password (ca.json passwordFile).
	run -1 --separate-stderr ca-token --offline --dir "$CA" --provisioner ci foo.example.com
	assert_output ""
	assert_equal "$stderr" "ca-token: provisioner key: jwe: wrong password"
	run -1 --separate-stderr ca-token --offline --dir "$CA" --password-file "$D/ci.pw" foo.example.com
	assert_equal "$stderr" "ca-token: provisioner key: jwe: wrong password"
}

@test "token: fail unknown provisioner (exit 2)" {
	run -2 --separate-stderr ca-token --offline --dir "$CA" --provisioner nobody foo.example.com
	assert_output ""
	assert_equal "$stderr" "ca-token: unknown provisioner nobody"
}

@test "token: ok --provisioner selects the second provisioner, accepted by ca-sign" {
	t=$(ci foo.example.com)
	assert_equal "$(header "$t" | jq -r .kid)" "$(CIKID)"
	assert_equal "$(claims "$t" | jq -r .iss)" ci
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
	assert_equal "$(db "select provisioner from certs where serial = '$(serial_of <(printf '%s\n' "$output"))'")" ci
	jti_used "$(claims "$t" | jq -r .jti)"
	assert_equal "$(db "select provisioner from used_tokens where jti = '$(claims "$t" | jq -r .jti)'")" ci
}

@test "token: fail a token of one provisioner with the other's key id (bad signature)" {
	t=$(ci foo.example.com)
	p=$(claims "$t" | jq -c '.iss = "admin"' | base64 -w0 | tr '+/' '-_' | tr -d =)
	h=$(header "$t" | jq -c --arg k "$(KID)" '.kid = $k' | base64 -w0 | tr '+/' '-_' | tr -d =)
	run -1 --separate-stderr ca-sign --offline --dir "$CA" --token "$h.$p.$(cut -d. -f3 <<<"$t")" <"$D/foo.csr"
	assert_equal "$stderr" "ca-sign: token rejected: jws: bad signature"
}

@test "token: ok the audience uses the first dnsName in brackets when IPv6" {
	jq '.dnsNames = ["2001:db8::1", "ca.example.com"] | .address = "[::]:8443"' \
		"$D/ca.json.two" | put_file "$CA/config/ca.json"
	t=$(ci foo.example.com)
	assert_equal "$(claims "$t" | jq -r .aud)" "https://[2001:db8::1]:8443/1.0/sign"
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
	jq '.address = "ca.example.com"' "$D/ca.json.two" | put_file "$CA/config/ca.json"
	t=$(ci foo.example.com)
	assert_equal "$(claims "$t" | jq -r .aud)" "https://ca.example.com/1.0/sign"
}

@test "token: ok CA_DIR selects the CA home" {
	CA_DIR="$CA" run -0 --separate-stderr ca-token --offline --provisioner ci --password-file "$D/ci.pw" foo.example.com
	assert_equal "$(claims "$output" | jq -r .iss)" ci
}

@test "token: fail no CA home (exit 4)" {
	run -4 --separate-stderr ca-token --offline --dir "$D/none" foo.example.com
	assert_output ""
	assert_equal "$stderr" "ca-token: $D/none/config/ca.json: no CA here (run ca-init, or give --dir)"
}

@test "token: fail password file missing or empty (exit 3)" {
	run -3 --separate-stderr ca-token --offline --dir "$CA" --password-file "$D/nothere" foo.example.com
	assert_equal "$stderr" "ca-token: $D/nothere: No such file or directory"
	: >"$D/empty.pw"
	run -3 --separate-stderr ca-token --offline --dir "$CA" --password-file "$D/empty.pw" foo.example.com
	assert_equal "$stderr" "ca-token: $D/empty.pw: empty password"
}

@test "token: fail usage errors (exit 2)" {
	t() { run -2 --separate-stderr ca-token "$@"; assert_output ""; }
	t --offline --dir "$CA"
	assert_equal "$stderr" "ca-token: a SUBJECT is required"
	t --offline --dir "$CA" a.example.com b.example.com
	assert_equal "$stderr" "ca-token: unexpected argument: b.example.com"
	t foo.example.com
	assert_equal "$stderr" "ca-token: no CA URL: give --ca-url, set CA_URL, or run ca-init --bootstrap"
	t --offline --key "$D/prov.pem" foo.example.com
	assert_equal "$stderr" "ca-token: --offline and --key are exclusive"
	t --key "$D/prov.pem" --issuer admin foo.example.com
	assert_equal "$stderr" "ca-token: --key needs --issuer and --aud"
	t --key "$D/prov.pem" --aud "$SIGN_AUD" foo.example.com
	assert_equal "$stderr" "ca-token: --key needs --issuer and --aud"
	t --key "$D/prov.pem" --issuer a --aud b --dir "$CA" foo.example.com
	assert_equal "$stderr" "ca-token: --dir and --provisioner do not go with --key"
	t --offline --dir "$CA" --issuer a foo.example.com
	assert_equal "$stderr" "ca-token: --issuer, --kid, --aud and --fingerprint go with --key"
	t --offline --dir "$CA" --san 010.1.1.1 foo.example.com
	assert_equal "$stderr" "ca-token: --san: 010.1.1.1: ambiguous name (looks like an IP address)"
	t --offline --dir "$CA" 'web server'
	assert_equal "$stderr" "ca-token: SUBJECT web server: control, space or non-ASCII character in name (or give --san)"
	t --offline --dir "$CA" --not-after 1m --not-after 2m foo.example.com
	assert_equal "$stderr" "ca-token: --not-after given twice"
	t --offline --bogus foo.example.com
	assert_equal "$stderr" "ca-token: unrecognized option '--bogus' (see -h)"
}

@test "token: fail a subject that is not one of the --san names (exit 2)" {
	run -2 --separate-stderr ci --san foo.example.com 'Web Server'
	assert_output ""
	assert_equal "$stderr" "ca-token: SUBJECT Web Server: the certificate's common name must be one of the --san names"
	run -2 --separate-stderr ci --san foo.example.com bar.example.com
	assert_equal "$stderr" "ca-token: SUBJECT bar.example.com: the certificate's common name must be one of the --san names"
	# A subject is a bare name: no type prefix (it becomes the CN as written).
	run -2 --separate-stderr ci --san foo.example.com dns:foo.example.com
	assert_equal "$stderr" "ca-token: SUBJECT dns:foo.example.com: the certificate's common name must be one of the --san names"
	run -0 --separate-stderr ci --san foo.example.com FOO.Example.com.
	assert_equal "$(claims "$output" | jq -c '[.sub, .sans]')" '["FOO.Example.com.",["foo.example.com"]]'
}

@test "token: fail more than 100 --san (exit 2)" {
	args=()
	for i in $(seq 1 101); do args+=(--san "h$i.example.com"); done
	run -2 --separate-stderr ci "${args[@]}" foo.example.com
	assert_equal "$stderr" "ca-token: at most 100 --san names"
	run -0 --separate-stderr ci "${args[@]:2}" h2.example.com
	assert_equal "$(claims "$output" | jq '.sans | length')" 100
}

@test "token: fail --fingerprint that is not a SHA-256 (exit 2); ok with colons and capitals" {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$BATS_TEST_TMPDIR/k.jwk" 2>/dev/null
	run -2 --separate-stderr ca-token --key "$BATS_TEST_TMPDIR/k.jwk" --issuer x --aud https://ca/1.0/sign --fingerprint abc foo.example.com
	assert_equal "$stderr" "ca-token: --fingerprint: 64 hexadecimal digits (SHA-256)"
	fp=$(printf 'AB:%.0s' $(seq 32) | sed 's/:$//')
	run -0 --separate-stderr ca-token --key "$BATS_TEST_TMPDIR/k.jwk" --issuer x --aud https://ca/1.0/sign --fingerprint "$fp" foo.example.com
	run -0 jq -r .claims.sha < <(printf '%s' "$output" | ca-inspect)
	assert_output "$(printf 'ab%.0s' $(seq 32))"
}

@test "token: fail an --aud no CA accepts (exit 2), every accepted form ok" {
	local a
	for a in ca.example.com https://ca.example.com http://ca.example.com/1.0/sign \
	    https://ca.example.com/1.0/sign/ https://ca.example.com/1.0/revoke \
	    https://ca.example.com/v1/sign https://ca.example.com:0/sign \
	    https://ca.example.com:65536/sign https://ca.example.com:/sign \
	    'https://::1/sign' 'https://[ca.example.com]/sign' 'https://*.example.com/sign' \
	    https:///sign 'https://ca.example.com/sign?x=1' ''; do
		run -2 --separate-stderr ca-token --key "$D/prov.pem" --issuer admin --aud "$a" foo.example.com
		assert_equal "$output" ""
		assert_equal "$stderr" "ca-token: --aud $a: not an audience a CA accepts: https://HOST[:PORT]/1.0/sign (or /sign)"
	done
	for a in "$SIGN_AUD" https://ca.example.com/sign https://10.0.0.1:9000/1.0/sign \
	    'https://[2001:db8::1]:8443/1.0/sign' 'https://[::1]/sign'; do
		run -0 --separate-stderr ca-token --key "$D/prov.pem" --issuer admin --aud "$a" foo.example.com
		assert_equal "$(claims "$output" | jq -r .aud)" "$a"
	done
	# A revoke token's audience is a revoke URL.
	run -2 --separate-stderr ca-token --key "$D/prov.pem" --issuer admin --aud "$SIGN_AUD" --revoke 12
	assert_equal "$stderr" "ca-token: --aud $SIGN_AUD: not an audience a CA accepts: https://HOST[:PORT]/1.0/revoke (or /revoke)"
	run -0 --separate-stderr ca-token --key "$D/prov.pem" --issuer admin --aud https://ca.example.com:9443/1.0/revoke --revoke 12
}

@test "token: fail a window already over (exit 2); one still open is ok" {
	run -2 --separate-stderr ci --not-before -2h foo.example.com
	assert_equal "$output" ""
	assert_regex "$stderr" "^ca-token: the token would have expired 1(15|14)m ago: give a --not-before or --not-after later than now$"
	run -2 --separate-stderr ci --not-before -2h --not-after 1h foo.example.com
	assert_regex "$stderr" "^ca-token: the token would have expired (1h|59m|3599s|3598s) ago: "
	run -2 --separate-stderr ci --not-before 2020-01-01T00:00:00Z --not-after 2020-01-01T00:05:00Z foo.example.com
	assert_regex "$stderr" "^ca-token: the token would have expired .* ago: "
	run -2 --separate-stderr ca-token --key "$D/prov.pem" --issuer admin --aud "$SIGN_AUD" --not-before -10m foo.example.com
	assert_regex "$stderr" "^ca-token: the token would have expired .* ago: "
	# Started two minutes ago, open for three more: the CA takes it.
	run -0 --separate-stderr ca-token --offline --dir "$CA" --not-before -2m web-open.example.com
	t=$output
	assert_equal "$(claims "$t" | jq '.exp - now | floor | . > 170 and . <= 180')" true
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" --key-out "$BATS_TEST_TMPDIR/open.key"
}

@test "token: fail a --csr the CA would refuse with this token (exit 3)" {
	# CN other than SUBJECT, no SAN: its one name is not the token's.
	csr bar bar.example.com
	run -3 --separate-stderr ci --csr "$D/bar.csr" foo.example.com
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-token: --csr $D/bar.csr: its names differ from the token's (SUBJECT or --san): the CA would refuse it"
	# SANs other than the --san names.
	csr two foo.example.com dns:foo.example.com dns:other.example.com
	run -3 --separate-stderr ci --csr "$D/two.csr" --san foo.example.com --san 10.0.0.5 foo.example.com
	assert_equal "$stderr" "ca-token: --csr $D/two.csr: its names differ from the token's (the --san names): the CA would refuse it"
	# The right SANs, but a CN that is neither SUBJECT nor a --san.
	csr cn bar.example.com dns:foo.example.com
	run -3 --separate-stderr ci --csr "$D/cn.csr" foo.example.com
	assert_equal "$stderr" "ca-token: --csr $D/cn.csr: its common name bar.example.com is neither SUBJECT (foo.example.com) nor a --san: the CA would refuse it"
	# A request whose self-signature does not verify.
	openssl req -in "$D/foo.csr" -outform DER -out "$D/bad.der"
	printf '\001' | dd of="$D/bad.der" bs=1 seek=$(($(stat -c %s "$D/bad.der") - 5)) conv=notrunc 2>/dev/null
	run -3 --separate-stderr ci --csr "$D/bad.der" foo.example.com
	assert_regex "$stderr" "^ca-token: --csr $D/bad.der: "
}

@test "token: ok a --csr whose CN is a --san, not SUBJECT, and the CA takes it" {
	csr alt www.example.com dns:www.example.com dns:example.com
	run -0 --separate-stderr ca-token --offline --dir "$CA" --csr "$D/alt.csr" \
		--san www.example.com --san example.com example.com
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$output" <"$D/alt.csr"
	assert_equal "$(openssl x509 -noout -ext subjectAltName <<<"$output" | tail -n +2 | tr -d ' ')" "DNS:www.example.com,DNS:example.com"
}
