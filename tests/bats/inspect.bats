#!/usr/bin/env bats
# ca-inspect: certificates, chains, CSRs, CRLs and tokens described as JSON,
# checked against what openssl itself says about the same input.

bats_require_minimum_version 1.5.0
load common

# base64url without padding, for hand-made tokens.
b64u() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_openssl_ca "$D"

	# A leaf with every kind of name and the usual extensions.
	make_csr "$D" leaf -subj "/C=NL/O=Example Org/OU=Ops/OU=Web/CN=www.example.com"
	cat >"$D/leaf.ext" <<-'EOF'
	subjectAltName=DNS:www.example.com,IP:192.0.2.7,IP:2001:db8::1,email:ops@example.com,URI:spiffe://example.com/svc,otherName:1.3.6.1.4.1.311.20.2.3;UTF8:u@example.com,RID:1.2.3.4,dirName:dir_sect
	keyUsage=critical,digitalSignature,keyAgreement
	extendedKeyUsage=serverAuth,clientAuth,1.3.6.1.4.1.99999.1
	basicConstraints=critical,CA:FALSE
	subjectKeyIdentifier=hash
	authorityKeyIdentifier=keyid
	[dir_sect]
	CN=Directory
	O=Example
	EOF
	openssl x509 -req -in "$D/leaf.csr" -CA "$D/int.crt" -CAkey "$D/int.key" \
		-set_serial 0x0123456789abcdef0123 -days 30 -extfile "$D/leaf.ext" \
		-out "$D/leaf.crt" 2>/dev/null
	openssl x509 -in "$D/leaf.crt" -outform DER -out "$D/leaf.der"
	cat "$D/leaf.crt" "$D/int.crt" >"$D/chain.pem"

	# A CSR asking for names, and the same CSR with its subject altered.
	make_csr "$D" req -subj "/CN=inspect-me" \
		-addext "subjectAltName=DNS:inspect-me.example,IP:10.1.2.3"
	openssl req -in "$D/req.csr" -outform DER -out "$D/req.der"
	perl -0777 -pe 's/inspect-me/inspect-mf/' "$D/req.der" >"$D/tampered.der"

	# A CRL from a tiny openssl ca directory, revoking the leaf.
	mkdir -p "$D/ca"
	: >"$D/ca/index.txt"
	echo 1001 >"$D/ca/crlnumber"
	cat >"$D/ca/ca.cnf" <<-EOF
	[ca]
	default_ca = d
	[d]
	database = $D/ca/index.txt
	crlnumber = $D/ca/crlnumber
	default_md = sha256
	default_crl_days = 7
	crl_extensions = crl_ext
	[crl_ext]
	authorityKeyIdentifier = keyid
	EOF
	openssl ca -config "$D/ca/ca.cnf" -cert "$D/int.crt" -keyfile "$D/int.key" \
		-revoke "$D/leaf.crt" -crl_reason keyCompromise 2>/dev/null
	openssl ca -config "$D/ca/ca.cnf" -cert "$D/int.crt" -keyfile "$D/int.key" \
		-gencrl -out "$D/crl.pem" 2>/dev/null
	openssl crl -in "$D/crl.pem" -outform DER -out "$D/crl.der"

	# Leaves naming a CRL distribution point; a second CRL that names it
	# in its Issuing Distribution Point, revoking one with a reason and
	# an invalidity date (keyCompromise), one superseded, one without a
	# reason.
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature" \
		"crlDistributionPoints=URI:http://ca.example.com/crl,URI:ldap://ldap.example.com/cn=crl" \
		>"$D/cdp.ext"
	local i
	for i in 1 2 3; do
		make_csr "$D" "cdp$i" -subj "/CN=cdp$i.example.com"
		openssl x509 -req -in "$D/cdp$i.csr" -CA "$D/int.crt" -CAkey "$D/int.key" \
			-set_serial "$((7000 + i))" -days 30 -extfile "$D/cdp.ext" \
			-out "$D/cdp$i.crt" 2>/dev/null
	done
	# A distribution point named relative to the issuer, for some
	# reasons, with its own CRL issuer.
	cat >"$D/dp.ext" <<-'EOF'
	basicConstraints=critical,CA:FALSE
	crlDistributionPoints=dp
	[dp]
	relativename = rdn_sect
	reasons = keyCompromise, cessationOfOperation
	CRLissuer = dirName:issuer_sect
	[rdn_sect]
	CN = CRL part 2
	[issuer_sect]
	CN = CRL Signer
	O = Example
	EOF
	openssl x509 -req -in "$D/cdp1.csr" -CA "$D/int.crt" -CAkey "$D/int.key" \
		-set_serial 7010 -days 30 -extfile "$D/dp.ext" -out "$D/dp.crt" 2>/dev/null
	mkdir -p "$D/ca2"
	: >"$D/ca2/index.txt"
	echo 2001 >"$D/ca2/crlnumber"
	cat >"$D/ca2/ca.cnf" <<-EOF
	[ca]
	default_ca = d
	[d]
	database = $D/ca2/index.txt
	crlnumber = $D/ca2/crlnumber
	default_md = sha256
	default_crl_days = 7
	crl_extensions = crl_ext
	[crl_ext]
	authorityKeyIdentifier = keyid
	issuingDistributionPoint = critical, @idp
	[idp]
	fullname = URI:http://ca.example.com/crl
	onlyuser = TRUE
	onlysomereasons = keyCompromise, superseded
	EOF
	openssl ca -config "$D/ca2/ca.cnf" -cert "$D/int.crt" -keyfile "$D/int.key" \
		-revoke "$D/cdp1.crt" -crl_compromise 20261101120000Z 2>/dev/null
	openssl ca -config "$D/ca2/ca.cnf" -cert "$D/int.crt" -keyfile "$D/int.key" \
		-revoke "$D/cdp2.crt" -crl_reason superseded 2>/dev/null
	openssl ca -config "$D/ca2/ca.cnf" -cert "$D/int.crt" -keyfile "$D/int.key" \
		-revoke "$D/cdp3.crt" 2>/dev/null
	openssl ca -config "$D/ca2/ca.cnf" -cert "$D/int.crt" -keyfile "$D/int.key" \
		-gencrl -out "$D/idp.pem" 2>/dev/null
}

# openssl's colon-separated uppercase hex, as ca-inspect writes it.
plainhex() { tr -d ': \n' | sed 's/^keyid//' | tr 'A-F' 'a-f'; }

@test "inspect: ok -h prints the synopsis on stdout" {
	run -0 --separate-stderr ca-inspect -h
	assert_line --index 0 "usage: ca-inspect [-h] [--compact] [--version] [FILE]"
	assert_output --partial "--compact"
	assert_equal "$stderr" ""
}

@test "inspect: ok --version" {
	run -0 --separate-stderr ca-inspect --version
	assert_output --regexp '^ca-inspect [0-9]'
	assert_equal "$stderr" ""
}

@test "inspect: fail unknown option (exit 2)" {
	run -2 --separate-stderr ca-inspect --bogus "$D/leaf.crt"
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-inspect: unrecognized option '--bogus' (see -h)"
}

@test "inspect: fail two files (exit 2)" {
	run -2 --separate-stderr ca-inspect "$D/leaf.crt" "$D/int.crt"
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-inspect: unexpected argument: $D/int.crt"
}

@test "inspect: fail missing file (exit 3)" {
	run -3 --separate-stderr ca-inspect "$D/nonexistent.pem"
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-inspect: $D/nonexistent.pem: No such file or directory"
}

@test "inspect: fail empty input (exit 3)" {
	run -3 --separate-stderr ca-inspect </dev/null
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-inspect: empty input"
}

@test "inspect: fail white space only (exit 3)" {
	run -3 --separate-stderr ca-inspect < <(printf ' \n\t\r\n')
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-inspect: empty input"
}

@test "inspect: fail garbage input (exit 3)" {
	run -3 --separate-stderr ca-inspect < <(printf 'not a certificate\n')
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-inspect: unrecognised input (expected a certificate, CSR, CRL or JWT)"
}

@test "inspect: fail binary garbage (exit 3)" {
	run -3 --separate-stderr ca-inspect < <(head -c 300 "$D/leaf.der")
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-inspect: unrecognised input (expected a certificate, CSR, CRL or JWT)"
}

@test "inspect: fail input of CA_MAX_PEM+1 bytes (exit 3)" {
	run -3 --separate-stderr ca-inspect < <(head -c 65537 /dev/zero | tr '\0' ' ')
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-inspect: stdin: input exceeds 65536 bytes"
}

@test "inspect: ok certificate padded to exactly CA_MAX_PEM bytes" {
	local n
	n=$(wc -c <"$D/leaf.crt")
	{ cat "$D/leaf.crt"; head -c $((65536 - n)) /dev/zero | tr '\0' ' '; } >"$D/padded.pem"
	[ "$(wc -c <"$D/padded.pem")" -eq 65536 ]
	run -0 --separate-stderr ca-inspect "$D/padded.pem"
	assert_equal "$stderr" ""
	assert_equal "$(jq -r .subject.commonName <<<"$output")" "www.example.com"
	printf ' ' >>"$D/padded.pem"
	run -3 --separate-stderr ca-inspect "$D/padded.pem"
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-inspect: $D/padded.pem: input exceeds 65536 bytes"
}

@test "inspect: ok certificate serial, fingerprints and names match openssl" {
	run -0 --separate-stderr ca-inspect "$D/leaf.crt"
	assert_equal "$stderr" ""
	echo "$output" >"$D/leaf.json"
	assert_equal "$(jq -r .type "$D/leaf.json")" "certificate"
	assert_equal "$(jq -r .version "$D/leaf.json")" "3"

	local serial sha256 sha1 subject issuer
	serial=$(openssl x509 -in "$D/leaf.crt" -noout -serial | sed 's/^serial=//' | plainhex)
	assert_equal "$(jq -r .serial.hex "$D/leaf.json")" "$serial"
	assert_equal "$(jq -r .serial.hex "$D/leaf.json")" "0123456789abcdef0123"
	assert_equal "$(jq -r .serial.decimal "$D/leaf.json")" "5373003642731685151011"

	sha256=$(openssl x509 -in "$D/leaf.crt" -noout -fingerprint -sha256 | sed 's/.*=//' | plainhex)
	sha1=$(openssl x509 -in "$D/leaf.crt" -noout -fingerprint -sha1 | sed 's/.*=//' | plainhex)
	assert_equal "$(jq -r .fingerprints.sha256 "$D/leaf.json")" "$sha256"
	assert_equal "$(jq -r .fingerprints.sha1 "$D/leaf.json")" "$sha1"

	subject=$(openssl x509 -in "$D/leaf.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
	issuer=$(openssl x509 -in "$D/leaf.crt" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
	assert_equal "$(jq -r .subject.text "$D/leaf.json")" "$subject"
	assert_equal "$(jq -r .issuer.text "$D/leaf.json")" "$issuer"
	assert_equal "$(jq -r .subject.text "$D/leaf.json")" "CN=www.example.com,OU=Web,OU=Ops,O=Example Org,C=NL"
	assert_equal "$(jq -r .subject.commonName "$D/leaf.json")" "www.example.com"
	assert_equal "$(jq -r .subject.organization "$D/leaf.json")" "Example Org"
	assert_equal "$(jq -r .subject.country "$D/leaf.json")" "NL"
	# A repeated attribute: the named field has the last, attributes all.
	assert_equal "$(jq -r .subject.organizationalUnit "$D/leaf.json")" "Web"
	assert_equal "$(jq -c '[.subject.attributes[] | [.oid, .name, .value]]' "$D/leaf.json")" \
		'[["2.5.4.6","country","NL"],["2.5.4.10","organization","Example Org"],["2.5.4.11","organizationalUnit","Ops"],["2.5.4.11","organizationalUnit","Web"],["2.5.4.3","commonName","www.example.com"]]'
	assert_equal "$(jq -r .issuer.commonName "$D/leaf.json")" "Test Intermediate CA"
	assert_equal "$(jq -r .signatureAlgorithm "$D/leaf.json")" "ecdsa-with-SHA256"
	assert_equal "$(jq -r .selfSigned "$D/leaf.json")" "false"
}

@test "inspect: ok certificate validity matches openssl -dates" {
	local nb na
	nb=$(openssl x509 -in "$D/leaf.crt" -noout -startdate | sed 's/^notBefore=//')
	na=$(openssl x509 -in "$D/leaf.crt" -noout -enddate | sed 's/^notAfter=//')
	run -0 --separate-stderr ca-inspect "$D/leaf.crt"
	assert_equal "$(jq -r .validity.notBefore <<<"$output")" "$(date -u -d "$nb" +%Y-%m-%dT%H:%M:%SZ)"
	assert_equal "$(jq -r .validity.notAfter <<<"$output")" "$(date -u -d "$na" +%Y-%m-%dT%H:%M:%SZ)"
}

@test "inspect: ok certificate SANs of every type" {
	run -0 openssl x509 -in "$D/leaf.crt" -noout -ext subjectAltName
	assert_output --partial "DNS:www.example.com, IP Address:192.0.2.7, IP Address:2001:DB8:0:0:0:0:0:1, email:ops@example.com, URI:spiffe://example.com/svc"
	run -0 --separate-stderr ca-inspect "$D/leaf.crt"
	assert_equal "$(jq -c .sans <<<"$output")" \
		'[{"type":"dns","value":"www.example.com"},{"type":"ip","value":"192.0.2.7"},{"type":"ip","value":"2001:db8::1"},{"type":"email","value":"ops@example.com"},{"type":"uri","value":"spiffe://example.com/svc"},{"type":"other","value":"1.3.6.1.4.1.311.20.2.3"},{"type":"registeredID","value":"1.2.3.4"},{"type":"dirName","value":"O=Example,CN=Directory"}]'
}

@test "inspect: ok certificate KU, EKU, basicConstraints, SKI, AKI match openssl" {
	local ski aki
	run -0 openssl x509 -in "$D/leaf.crt" -noout -ext keyUsage,extendedKeyUsage,basicConstraints
	assert_output --partial "X509v3 Key Usage: critical"
	assert_output --partial "Digital Signature, Key Agreement"
	assert_output --partial "TLS Web Server Authentication, TLS Web Client Authentication, 1.3.6.1.4.1.99999.1"
	assert_output --partial "CA:FALSE"
	ski=$(openssl x509 -in "$D/leaf.crt" -noout -ext subjectKeyIdentifier | tail -n 1 | plainhex)
	aki=$(openssl x509 -in "$D/leaf.crt" -noout -ext authorityKeyIdentifier | tail -n 1 | plainhex)
	assert_equal "${#ski}" 40
	assert_equal "${#aki}" 40

	run -0 --separate-stderr ca-inspect "$D/leaf.crt"
	assert_equal "$stderr" ""
	assert_equal "$(jq -c .keyUsage <<<"$output")" '["digitalSignature","keyAgreement"]'
	assert_equal "$(jq -c .keyUsageCritical <<<"$output")" 'true'
	assert_equal "$(jq -c .extKeyUsage <<<"$output")" '["serverAuth","clientAuth","1.3.6.1.4.1.99999.1"]'
	assert_equal "$(jq -c .basicConstraints <<<"$output")" '{"ca":false,"pathLen":null,"critical":true}'
	assert_equal "$(jq -r .subjectKeyId <<<"$output")" "$ski"
	assert_equal "$(jq -r .authorityKeyId <<<"$output")" "$aki"
	assert_equal "$(jq -c '[.extensions[] | [.name, .critical, .malformed]]' <<<"$output")" \
		'[["subjectAltName",false,false],["keyUsage",true,false],["extKeyUsage",false,false],["basicConstraints",true,false],["subjectKeyIdentifier",false,false],["authorityKeyIdentifier",false,false]]'

	# The intermediate's SKI is the leaf's AKI; the CA constraints show.
	run -0 --separate-stderr ca-inspect "$D/int.crt"
	assert_equal "$(jq -r .subjectKeyId <<<"$output")" "$aki"
	assert_equal "$(jq -c .basicConstraints <<<"$output")" '{"ca":true,"pathLen":0,"critical":true}'
	assert_equal "$(jq -c .keyUsage <<<"$output")" '["keyCertSign","cRLSign"]'
	assert_equal "$(jq -c .extKeyUsage <<<"$output")" 'null'
	assert_equal "$(jq -c .sans <<<"$output")" '[]'
}

@test "inspect: ok public keys EC, RSA and Ed25519" {
	run -0 --separate-stderr ca-inspect "$D/leaf.crt"
	assert_equal "$(jq -c '.publicKey | [.type, .curve, .bits, .algorithm]' <<<"$output")" '["EC","P-256",256,"id-ecPublicKey"]'
	local spki
	spki=$(openssl x509 -in "$D/leaf.crt" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
	assert_equal "$(jq -r .publicKey.spkiSha256 <<<"$output")" "$spki"

	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/rsa.key" -subj /CN=rsa \
		-days 1 -out "$D/rsa.crt" 2>/dev/null
	run -0 --separate-stderr ca-inspect "$D/rsa.crt"
	assert_equal "$(jq -c '.publicKey | [.type, .curve, .bits, .algorithm]' <<<"$output")" '["RSA",null,2048,"rsaEncryption"]'
	assert_equal "$(jq -r .signatureAlgorithm <<<"$output")" "sha256WithRSAEncryption"
	assert_equal "$(jq -r .selfSigned <<<"$output")" "true"

	openssl req -x509 -newkey ed25519 -nodes -keyout "$D/ed.key" -subj /CN=ed \
		-days 1 -out "$D/ed.crt" 2>/dev/null
	run -0 --separate-stderr ca-inspect "$D/ed.crt"
	assert_equal "$(jq -c '.publicKey | [.type, .curve]' <<<"$output")" '["OKP","Ed25519"]'
	assert_equal "$(jq -r .signatureAlgorithm <<<"$output")" "ED25519"
}

@test "inspect: ok self-signed root" {
	run -0 --separate-stderr ca-inspect "$D/root.crt"
	assert_equal "$(jq -r .selfSigned <<<"$output")" "true"
	assert_equal "$(jq -c .basicConstraints <<<"$output")" '{"ca":true,"pathLen":1,"critical":true}'
	assert_equal "$(jq -r .subject.text <<<"$output")" "$(jq -r .issuer.text <<<"$output")"
}

@test "inspect: ok DER certificate reads the same as PEM" {
	run -0 --separate-stderr ca-inspect "$D/leaf.der"
	assert_equal "$stderr" ""
	assert_equal "$output" "$(ca-inspect "$D/leaf.crt")"
}

@test "inspect: ok certificate from stdin and from -" {
	run -0 --separate-stderr ca-inspect <"$D/leaf.crt"
	assert_equal "$output" "$(ca-inspect "$D/leaf.crt")"
	run -0 --separate-stderr ca-inspect - <"$D/leaf.crt"
	assert_equal "$output" "$(ca-inspect "$D/leaf.crt")"
}

@test "inspect: ok --compact prints one line with the same content" {
	run -0 --separate-stderr ca-inspect --compact "$D/leaf.crt"
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -S . <<<"$output")" "$(ca-inspect "$D/leaf.crt" | jq -S .)"
}

@test "inspect: ok chain of two" {
	run -0 --separate-stderr ca-inspect "$D/chain.pem"
	assert_equal "$stderr" ""
	assert_equal "$(jq -r .type <<<"$output")" "chain"
	assert_equal "$(jq -r '.certificates | length' <<<"$output")" "2"
	assert_equal "$(jq -r '.certificates[0].subject.commonName' <<<"$output")" "www.example.com"
	assert_equal "$(jq -r '.certificates[1].subject.commonName' <<<"$output")" "Test Intermediate CA"
	assert_equal "$(jq -r '.certificates[0].type' <<<"$output")" "certificate"
	assert_equal "$(jq -r '.certificates[0].sans[0].value' <<<"$output")" "www.example.com"
}

@test "inspect: fail malformed certificate in a chain (exit 3)" {
	{ cat "$D/leaf.crt"; printf -- '-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n'; } >"$D/badchain.pem"
	run -3 --separate-stderr ca-inspect "$D/badchain.pem"
	assert_equal "$output" ""
	[[ "$stderr" == "ca-inspect: certificate 2 of 2: malformed"* ]]
}

@test "inspect: ok CSR with a valid signature" {
	run -0 --separate-stderr ca-inspect "$D/req.csr"
	assert_equal "$stderr" ""
	assert_equal "$(jq -r .type <<<"$output")" "csr"
	assert_equal "$(jq -r .signatureValid <<<"$output")" "true"
	assert_equal "$(jq -r .subject.commonName <<<"$output")" "inspect-me"
	assert_equal "$(jq -c .sans <<<"$output")" '[{"type":"dns","value":"inspect-me.example"},{"type":"ip","value":"10.1.2.3"}]'
	assert_equal "$(jq -c .extensions <<<"$output")" '[{"oid":"2.5.29.17","name":"subjectAltName","critical":false,"malformed":false}]'
	assert_equal "$(jq -r .signatureAlgorithm <<<"$output")" "ecdsa-with-SHA256"
	assert_equal "$(jq -c '.publicKey | [.type, .curve, .bits]' <<<"$output")" '["EC","P-256",256]'
	run -0 --separate-stderr ca-inspect "$D/req.der"
	assert_equal "$output" "$(ca-inspect "$D/req.csr")"
}

@test "inspect: ok tampered CSR shows signatureValid false" {
	run -0 --separate-stderr ca-inspect "$D/tampered.der"
	assert_equal "$stderr" ""
	assert_equal "$(jq -r .subject.commonName <<<"$output")" "inspect-mf"
	assert_equal "$(jq -r .signatureValid <<<"$output")" "false"
}

@test "inspect: ok CRL from openssl ca" {
	local serial
	serial=$(openssl x509 -in "$D/leaf.crt" -noout -serial | sed 's/^serial=//' | plainhex)
	run -0 --separate-stderr ca-inspect "$D/crl.pem"
	assert_equal "$stderr" ""
	assert_equal "$(jq -r .type <<<"$output")" "crl"
	assert_equal "$(jq -r .version <<<"$output")" "2"
	assert_equal "$(jq -r .issuer.commonName <<<"$output")" "Test Intermediate CA"
	assert_equal "$(jq -r .number <<<"$output")" "4097"
	assert_equal "$(jq -r '.revoked | length' <<<"$output")" "1"
	assert_equal "$(jq -r '.revoked[0].serial.hex' <<<"$output")" "$serial"
	assert_equal "$(jq -r '.revoked[0].serial.decimal' <<<"$output")" "5373003642731685151011"
	assert_equal "$(jq -r '.revoked[0].reasonCode' <<<"$output")" "1"
	assert_equal "$(jq -r '.revoked[0].reason' <<<"$output")" "keyCompromise"
	assert_equal "$(jq -r .signatureAlgorithm <<<"$output")" "ecdsa-with-SHA256"
	assert_equal "$(jq -r .authorityKeyId <<<"$output")" "$(ca-inspect "$D/int.crt" | jq -r .subjectKeyId)"
	local lu nu rd
	lu=$(openssl crl -in "$D/crl.pem" -noout -lastupdate | sed 's/^lastUpdate=//')
	nu=$(openssl crl -in "$D/crl.pem" -noout -nextupdate | sed 's/^nextUpdate=//')
	assert_equal "$(jq -r .thisUpdate <<<"$output")" "$(date -u -d "$lu" +%Y-%m-%dT%H:%M:%SZ)"
	assert_equal "$(jq -r .nextUpdate <<<"$output")" "$(date -u -d "$nu" +%Y-%m-%dT%H:%M:%SZ)"
	rd=$(openssl crl -in "$D/crl.pem" -noout -text | sed -n 's/^ *Revocation Date: //p')
	assert_equal "$(jq -r '.revoked[0].revocationDate' <<<"$output")" "$(date -u -d "$rd" +%Y-%m-%dT%H:%M:%SZ)"
}

@test "inspect: ok CRL scope: the Issuing Distribution Point" {
	run -0 --separate-stderr ca-inspect "$D/idp.pem"
	assert_equal "$stderr" ""
	assert_equal "$(jq -c .issuingDistributionPoint <<<"$output")" \
		'{"distributionPoint":{"fullName":[{"type":"uri","value":"http://ca.example.com/crl"}]},"onlyContainsUserCerts":true,"onlyContainsCACerts":false,"onlySomeReasons":["keyCompromise","superseded"],"indirectCRL":false,"onlyContainsAttributeCerts":false,"critical":true}'
	assert_equal "$(jq -r .number <<<"$output")" "$(printf '%d' 0x2001)"
	# openssl says the same.
	run -0 openssl crl -in "$D/idp.pem" -noout -text
	assert_output --partial "Only User Certificates"
	assert_output --partial "Only Some Reasons:"
	# Without the extension: null.
	assert_equal "$(ca-inspect "$D/crl.pem" | jq -c .issuingDistributionPoint)" null
}

@test "inspect: ok CRL entries: reasons, invalidity date, entry extensions" {
	run -0 --separate-stderr ca-inspect "$D/idp.pem"
	assert_equal "$(jq -c '[.revoked[] | [.serial.decimal, .reasonCode, .reason, .invalidityDate]] | sort' <<<"$output")" \
		'[["7001",1,"keyCompromise","2026-11-01T12:00:00Z"],["7002",4,"superseded",null],["7003",null,null,null]]'
	assert_equal "$(jq -c '.revoked[] | select(.serial.decimal == "7001") | [.extensions[] | [.name, .critical]]' <<<"$output")" \
		'[["reasonCode",false],["invalidityDate",false]]'
	assert_equal "$(jq -c '.revoked[] | select(.serial.decimal == "7003") | .extensions' <<<"$output")" '[]'
	run -0 openssl crl -in "$D/idp.pem" -noout -text
	assert_output --partial "Invalidity Date: "
	assert_output --partial "Nov  1 12:00:00 2026 GMT"
}

@test "inspect: ok certificate cRLDistributionPoints" {
	run -0 --separate-stderr ca-inspect "$D/cdp1.crt"
	assert_equal "$(jq -c .crlDistributionPoints <<<"$output")" \
		'[{"distributionPoint":{"fullName":[{"type":"uri","value":"http://ca.example.com/crl"}]},"reasons":null,"crlIssuer":null},{"distributionPoint":{"fullName":[{"type":"uri","value":"ldap://ldap.example.com/cn=crl"}]},"reasons":null,"crlIssuer":null}]'
	assert_equal "$(ca-inspect "$D/leaf.crt" | jq -c .crlDistributionPoints)" null
	run -0 --separate-stderr ca-inspect "$D/dp.crt"
	assert_equal "$(jq -c .crlDistributionPoints <<<"$output")" \
		'[{"distributionPoint":{"relativeName":"CN=CRL part 2"},"reasons":["keyCompromise","cessationOfOperation"],"crlIssuer":[{"type":"dirName","value":"O=Example,CN=CRL Signer"}]}]'
}

@test "inspect: ok DER CRL reads the same as PEM" {
	run -0 --separate-stderr ca-inspect "$D/crl.der"
	assert_equal "$output" "$(ca-inspect "$D/crl.pem")"
}

@test "inspect: ok JWT header and claims, never verified" {
	local h c
	h=$(printf '{"alg":"ES256","kid":"k1","typ":"JWT"}' | b64u)
	c=$(printf '{"sub":"foo.example.com","sans":["foo.example.com"],"exp":1700000300,"nbf":1700000000}' | b64u)
	printf '%s.%s.%s\n' "$h" "$c" "$(printf 'not a signature' | b64u)" >"$D/token"
	run -0 --separate-stderr ca-inspect "$D/token"
	assert_equal "$stderr" ""
	assert_equal "$(jq -c . <<<"$output")" \
		'{"type":"jwt","verified":false,"header":{"alg":"ES256","kid":"k1","typ":"JWT"},"claims":{"sub":"foo.example.com","sans":["foo.example.com"],"exp":1700000300,"nbf":1700000000}}'
	# An unsigned token is described too, and still not verified.
	run -0 --separate-stderr ca-inspect < <(printf '%s.%s.' "$(printf '{"alg":"none"}' | b64u)" "$c")
	assert_equal "$(jq -c '[.verified, .header.alg]' <<<"$output")" '[false,"none"]'
}

@test "inspect: fail JWT with a duplicate header member (exit 3)" {
	local h c
	h=$(printf '{"alg":"ES256","alg":"none"}' | b64u)
	c=$(printf '{"sub":"x"}' | b64u)
	run -3 --separate-stderr ca-inspect < <(printf '%s.%s.AAAA\n' "$h" "$c")
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-inspect: JWT header: invalid JSON: duplicate object key at byte 20"
}

@test "inspect: fail JWT with a duplicate claim (exit 3)" {
	local h c
	h=$(printf '{"alg":"ES256"}' | b64u)
	c=$(printf '{"sub":"x","sub":"y"}' | b64u)
	run -3 --separate-stderr ca-inspect < <(printf '%s.%s.AAAA\n' "$h" "$c")
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-inspect: JWT claims: invalid JSON: duplicate object key at byte 16"
}

@test "inspect: fail JWT with bad base64url or segment count (exit 3)" {
	local h c
	h=$(printf '{"alg":"ES256"}' | b64u)
	c=$(printf '{"sub":"x"}' | b64u)
	run -3 --separate-stderr ca-inspect < <(printf '%s.%s.A\n' "$h" "$c")
	assert_equal "$stderr" "ca-inspect: token segment 3: base64url: bad length 1"
	run -3 --separate-stderr ca-inspect < <(printf '%s.%s\n' "$h" "$c")
	assert_equal "$stderr" "ca-inspect: malformed token: 2 segments (a JWT has 3, a JWE 5)"
	run -3 --separate-stderr ca-inspect < <(printf '%s.%s.AA.AA\n' "$h" "$c")
	assert_equal "$stderr" "ca-inspect: malformed token: 4 segments (a JWT has 3, a JWE 5)"
	run -3 --separate-stderr ca-inspect < <(printf '%s.%s.AA\n' "$h" "$(printf '["x"]' | b64u)")
	assert_equal "$stderr" "ca-inspect: JWT claims: not a JSON object"
	# Unused bits set: not the canonical encoding of any bytes.
	run -3 --separate-stderr ca-inspect < <(printf '%s.%s.AB\n' "$h" "$c")
	assert_equal "$stderr" "ca-inspect: token segment 3: base64url: non-canonical encoding (unused bits set)"
	assert_equal "$output" ""
}

@test "inspect: ok token of exactly CA_MAX_JWT bytes, fail one byte more (exit 3)" {
	local h c pad sig n
	h=$(printf '{"alg":"ES256"}' | b64u)
	pad=$(head -c 12000 /dev/zero | tr '\0' x)
	# A base64url segment of 4k+1 characters encodes nothing: avoid it.
	while :; do
		c=$(printf '{"pad":"%s"}' "$pad" | b64u)
		n=$((16384 - ${#h} - ${#c} - 2))
		[ $((n % 4)) -ne 1 ] && break
		pad="${pad}x"
	done
	sig=$(head -c "$n" /dev/zero | tr '\0' A)
	printf '%s.%s.%s\n' "$h" "$c" "$sig" >"$D/max.jwt"
	[ "$(tr -d '\n' <"$D/max.jwt" | wc -c)" -eq 16384 ]
	run -0 --separate-stderr ca-inspect "$D/max.jwt"
	assert_equal "$(jq -r .claims.pad <<<"$output")" "$pad"
	printf '%s.%s.%sA\n' "$h" "$c" "$sig" >"$D/big.jwt"
	run -3 --separate-stderr ca-inspect "$D/big.jwt"
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-inspect: token exceeds 16384 bytes"
}

@test "inspect: ok JWE shows its header only" {
	local h
	h=$(printf '{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":600000,"p2s":"c2FsdHNhbHRzYWx0c2FsdA"}' | b64u)
	run -0 --separate-stderr ca-inspect < <(printf '%s.%s.%s.%s.%s\n' "$h" AAAA AAAAAAAAAAAAAAAA AAAA AAAAAAAAAAAAAAAAAAAAAA)
	assert_equal "$stderr" ""
	assert_equal "$(jq -c . <<<"$output")" \
		'{"type":"jwe","header":{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":600000,"p2s":"c2FsdHNhbHRzYWx0c2FsdA"}}'
}

@test "inspect: fail private key PEM (exit 3)" {
	run -3 --separate-stderr ca-inspect "$D/leaf.key"
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-inspect: unexpected PEM block PRIVATE KEY (expected a certificate, CSR or CRL)"
}

@test "inspect: fail text around PEM (exit 3)" {
	run -3 --separate-stderr ca-inspect < <(printf 'Certificate:\n'; cat "$D/leaf.crt")
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-inspect: PEM: text outside a PEM block"
	run -3 --separate-stderr ca-inspect < <(cat "$D/leaf.crt"; printf 'trailing\n')
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-inspect: PEM: text outside a PEM block"
}

@test "inspect: ok hostile certificate is described with nothing raw on the terminal" {
	# Same-length byte patches in a signed certificate: ESC, DEL, a C1
	# control (CSI), NUL, invalid UTF-8 and a right-to-left override.
	printf 'subjectAltName=DNS:zzzzqqqqqqq.example,DNS:yyyy.example\n' >"$D/hostile.ext"
	openssl x509 -req -in "$D/req.csr" -CA "$D/int.crt" -CAkey "$D/int.key" \
		-days 1 -extfile "$D/hostile.ext" -outform DER -out "$D/h0.der" 2>/dev/null
	perl -0777 -pe 's/zzzzqqqqqqq/\x1b[31m\x7f\xc2\x9b\xff\x00\t/; s/yyyy/\xe2\x80\xae!/; s/inspect-me/insp\nact\xc2\x85/' \
		"$D/h0.der" >"$D/hostile.der"
	run -0 --separate-stderr ca-inspect "$D/hostile.der"
	assert_equal "$stderr" ""
	assert_line --partial '"value": "\u001B[31m\u007F\u009B'
	ca-inspect "$D/hostile.der" >"$D/hostile.json"
	# No control character, DEL, C1 control or bidi override in the bytes.
	run -0 perl -ne 'exit 1 if /[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xa8-\xae]/' "$D/hostile.json"
	assert_equal "$(jq -r '.sans[0].value' "$D/hostile.json" | od -An -c | tr -s ' ')" \
		"$(printf '\033[31m\177\302\233\357\277\275\000\t.example\n' | od -An -c | tr -s ' ')"
	assert_equal "$(jq -r '.sans[1].value' "$D/hostile.json")" "$(printf '\342\200\256!.example')"
	assert_equal "$(jq -r '.subject.commonName' "$D/hostile.json")" "$(printf 'insp\nact\302\205')"
	grep -q '"commonName": "insp\\nact\\u0085"' "$D/hostile.json"
	grep -q '\\u202E!.example' "$D/hostile.json"
}

@test "inspect: ok man page is lint-clean and its synopsis matches -h" {
	command -v mandoc >/dev/null || skip "mandoc not installed"
	run -0 --separate-stderr mandoc -Tlint -Wwarning "$TOP/man/ca-inspect.1"
	assert_equal "$output" ""
	local syn usage
	syn=$(mandoc -Tascii "$TOP/man/ca-inspect.1" | col -b | sed -n '/^SYNOPSIS/{n;p;}' | sed 's/^ *//')
	usage=$(ca-inspect -h | head -n 1 | sed 's/^usage: //')
	assert_equal "$syn" "${usage/FILE/file}"
}

@test "inspect: ok the man page names only options that exist" {
	local page pair prog opt n=0
	page=$(mandoc -Tascii "$TOP/man/ca-inspect.1" | col -b)
	while read -r pair; do
		prog=${pair%% *}
		opt=${pair##* }
		n=$((n + 1))
		run -0 --separate-stderr "$prog" -h
		assert_output --partial -- "$opt"
	done < <(grep -oE 'ca-[a-z]+ --[a-z-]+' <<<"$page" | sort -u)
	# The examples name ca-verify, ca-token and ca-inspect options.
	[ "$n" -ge 3 ]
}

# ---- strict DER: described, with the reason, never refused -----------------

FORGE="$BATS_TEST_DIRNAME/helpers/der_forge.py"

@test "inspect: ok DER certificate, CSR and CRL have no notDer member" {
	local f
	for f in leaf.crt leaf.der req.csr req.der crl.pem crl.der chain.pem; do
		run -0 --separate-stderr ca-inspect "$D/$f"
		assert_equal "$(jq -c '[.. | objects | select(has("notDer"))] | length' <<<"$output")" 0
	done
}

@test "inspect: ok CSR of indefinite length is described with notDer" {
	/usr/bin/python3 "$FORGE" "$D/req.der" "$D/ber-req.der" indef:
	run -0 --separate-stderr ca-inspect "$D/ber-req.der"
	assert_equal "$stderr" ""
	assert_equal "$(jq -r .notDer <<<"$output")" "indefinite length at byte 0"
	assert_equal "$(jq -r .subject.commonName <<<"$output")" "inspect-me"
	assert_equal "$(jq -r .signatureValid <<<"$output")" "true"
	# Everything but notDer reads as for the DER request.
	assert_equal "$(jq -S 'del(.notDer)' <<<"$output")" "$(ca-inspect "$D/req.der" | jq -S .)"
}

@test "inspect: ok certificate with a non-minimal inner length is described with notDer" {
	/usr/bin/python3 "$FORGE" "$D/leaf.der" "$D/ber-leaf.der" --key "$D/int.key" longlen:0.5
	run -0 --separate-stderr ca-inspect "$D/ber-leaf.der"
	assert_equal "$stderr" ""
	assert_output --regexp '"notDer": "non-minimal length at byte [0-9]+"'
	assert_equal "$(jq -r .subject.commonName <<<"$output")" "www.example.com"
	# In a chain, the certificate concerned says so.
	{ printf -- '-----BEGIN CERTIFICATE-----\n'; base64 -w 64 "$D/ber-leaf.der"
	  printf -- '-----END CERTIFICATE-----\n'; cat "$D/int.crt"; } >"$D/ber-chain.pem"
	run -0 --separate-stderr ca-inspect "$D/ber-chain.pem"
	assert_equal "$(jq -c '[.certificates[] | has("notDer")]' <<<"$output")" '[true,false]'
}

@test "inspect: ok CRL whose revoked list has an indefinite length is described with notDer" {
	/usr/bin/python3 "$FORGE" "$D/crl.der" "$D/ber-crl.der" --key "$D/int.key" indef:0.5
	run -0 --separate-stderr ca-inspect "$D/ber-crl.der"
	assert_equal "$stderr" ""
	assert_output --regexp '"notDer": "indefinite length at byte [0-9]+"'
	assert_equal "$(jq -r '.revoked[0].reason' <<<"$output")" "keyCompromise"
	# The same CRL re-signed without the edit is DER.
	/usr/bin/python3 "$FORGE" "$D/crl.der" "$D/der-crl.der" --key "$D/int.key"
	run -0 --separate-stderr ca-inspect "$D/der-crl.der"
	assert_equal "$(jq 'has("notDer")' <<<"$output")" "false"
}
