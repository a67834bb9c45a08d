#!/usr/bin/env bats
# ca-verify: chains built by openssl alone, checked against one root; and
# revocation: leaves of an inca CA home checked against CRLs that openssl ca
# makes with that home's intermediate key (--crl) and against the home's
# database (--offline).
# shellcheck disable=SC2154 # $stderr comes from run --separate-stderr

bats_require_minimum_version 1.5.0
load common
load helpers/authority

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
	setup_revocation
}

# crl_conf DIR EXTRA...: an openssl ca configuration in DIR (its own
# index and CRL number) whose CRLs carry an AKI and an IDP for user
# certificates, with EXTRA lines added to the IDP section.
crl_conf() {
	local d=$1
	shift
	mkdir -p "$d"
	: >"$d/index.txt"
	echo 1000 >"$d/crlnumber"
	printf '%s\n' "[ca]" "default_ca = d" "[d]" "database = $d/index.txt" \
		"crlnumber = $d/crlnumber" "default_md = sha256" \
		"default_crl_days = 7" "crl_extensions = crl_ext" "[crl_ext]" \
		"authorityKeyIdentifier = keyid" \
		"issuingDistributionPoint = critical, @idp" "[idp]" \
		"onlyuser = TRUE" "$@" >"$d/ca.cnf"
}

# gencrl DIR CERT KEY OUT [openssl ca options...]: a CRL from DIR's index.
gencrl() {
	local d=$1 crt=$2 key=$3 out=$4
	shift 4
	openssl ca -config "$d/ca.cnf" -cert "$crt" -keyfile "$key" \
		-gencrl -out "$out" "$@" 2>/dev/null
}

# The inca home $CA (helpers/authority.bash, no ca-serve) with leaves
# good, crlrev and dbrev recorded in its database; unknown.pem, signed by
# its intermediate but never recorded (stateless ca-sign); twin.pem, the
# serial of good.pem on another certificate.  crlrev is revoked in the
# openssl ca index behind the CRLs (keyCompromise), dbrev in the database
# (superseded, with a text).
setup_revocation() {
	local n tok int key
	CA_SERVE=0 make_ca
	int=$CA/certs/intermediate_ca.crt
	key=$CA/secrets/intermediate_ca_key
	for n in good crlrev dbrev; do
		csr "$n" "$n.example.com" "dns:$n.example.com"
		tok=$(mint --sub "$n.example.com")
		cli_sign "$tok" "$D/$n.csr" >"$D/$n.pem"
		serial_of "$D/$n.pem" >"$D/$n.serial"
	done
	csr unknown unknown.example.com dns:unknown.example.com
	ca-sign --ca-cert "$int" --ca-key "$key" --password-file "$D/pw" \
		<"$D/unknown.csr" >"$D/unknown.pem"
	openssl x509 -req -in "$D/good.csr" -CA "$int" -CAkey "$key" \
		-passin "file:$D/pw" -set_serial "$(cat "$D/good.serial")" \
		-days 1 -extfile "$D/server.ext" -out "$D/twin.crt" 2>/dev/null
	cat "$D/twin.crt" "$int" >"$D/twin.pem"
	ca-revoke --offline --dir "$CA" --reason-code 4 --reason "moved to a new host" \
		"$(cat "$D/dbrev.serial")" >/dev/null
	# The CA's own CRL, which that revocation brought up to date.
	ca-revoke --crl --offline --dir "$CA" >"$D/own.der"
	ca-revoke --crl --pem --offline --dir "$CA" >"$D/own.pem"
	# A copy of the home that publishes its CRL at a URL: the CRL's IDP
	# names it, and leaves issued from then on carry it.
	clone_home "$CA" "$D/urlhome"
	jq '.crl = {"idpURL": "http://ca.example.com/1.0/crl"}' "$D/urlhome/config/ca.json" \
		>"$D/urlhome.json"
	put_file "$D/urlhome/config/ca.json" <"$D/urlhome.json"
	csr withdp withdp.example.com dns:withdp.example.com
	tok=$(mint --sub withdp.example.com)
	ca-sign --offline --dir "$D/urlhome" --token "$tok" <"$D/withdp.csr" >"$D/withdp.pem"
	# The stored CRL stays current until the next revocation makes another.
	ca-revoke --offline --dir "$D/urlhome" "$(cat "$D/crlrev.serial")" >/dev/null
	ca-revoke --crl --offline --dir "$D/urlhome" >"$D/urlhome.der"

	# CRLs signed with the home's intermediate key.
	crl_conf "$D/crlca"
	openssl ca -config "$D/crlca/ca.cnf" -cert "$int" -keyfile "$key" \
		-passin "file:$D/pw" -revoke "$D/crlrev.pem" \
		-crl_reason keyCompromise 2>/dev/null
	gencrl "$D/crlca" "$int" "$key" "$D/crl.pem" -passin "file:$D/pw"
	openssl crl -in "$D/crl.pem" -outform DER -out "$D/crl.der"
	# The same CRL without its nextUpdate, signed again.
	openssl pkey -in "$key" -passin "file:$D/pw" -out "$D/int-plain.key"
	"$PY" "$BATS_TEST_DIRNAME/helpers/der_forge.py" "$D/crl.der" \
		"$D/nonext.der" --key "$D/int-plain.key" drop:0.4
	# Made two days ago for one day: stale now.  Made an hour ahead.
	faketime -f -2d openssl ca -config "$D/crlca/ca.cnf" -cert "$int" \
		-keyfile "$key" -passin "file:$D/pw" -gencrl -crldays 1 \
		-out "$D/stale.pem" 2>/dev/null
	faketime -f +1h openssl ca -config "$D/crlca/ca.cnf" -cert "$int" \
		-keyfile "$key" -passin "file:$D/pw" -gencrl \
		-out "$D/future.pem" 2>/dev/null
	# The same index, with an extension no verifier knows, critical.
	crl_conf "$D/critca"
	sed -i 's/^issuingDistributionPoint.*/1.2.3.4 = critical, ASN1:UTF8String:must understand/' \
		"$D/critca/ca.cnf"
	gencrl "$D/critca" "$int" "$key" "$D/crit.pem" -passin "file:$D/pw"
	# The same index, the IDP naming a URL the leaves do not carry.
	crl_conf "$D/urlca" "fullname = URI:http://ca.example.com/crl"
	cp "$D/crlca/index.txt" "$D/urlca/index.txt"
	gencrl "$D/urlca" "$int" "$key" "$D/url.pem" -passin "file:$D/pw"
	# An impostor with the intermediate's name and a key of its own; and
	# a CA of another name (the openssl intermediate of $D/other).
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$D/impostor.key" -out "$D/impostor.crt" -days 30 \
		-subj "$(openssl x509 -in "$int" -noout -subject -nameopt compat | sed 's/^subject=//')" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	crl_conf "$D/impca"
	cp "$D/crlca/index.txt" "$D/impca/index.txt"
	gencrl "$D/impca" "$D/impostor.crt" "$D/impostor.key" "$D/impostor-crl.pem"
	crl_conf "$D/othca"
	gencrl "$D/othca" "$D/other/int.crt" "$D/other/int.key" "$D/other-crl.pem"
}

# revoked_date FILE SERIAL: the CRL's revocation date of SERIAL (decimal),
# RFC 3339.
revoked_date() {
	local hex rd
	hex=$(BC_LINE_LENGTH=0 bc <<<"obase=16; $2")
	rd=$(openssl crl -in "$1" -noout -text |
		sed -n "/Serial Number: 0*$hex\$/{n;s/^ *Revocation Date: //p}")
	date -u -d "$rd" +%Y-%m-%dT%H:%M:%SZ
}

# iv NAME ARGS...: ca-verify of NAME.pem against the inca home's root.
iv() {
	local n=$1
	shift
	ca-verify --dir "$CA" "$@" "$D/$n.pem"
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
	run -1 --separate-stderr faketime +3d ca-verify \
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

# --- revocation: --crl ------------------------------------------------------

@test "verify: ok --crl, a leaf the CRL does not list (PEM)" {
	run -0 --separate-stderr iv good --crl "$D/crl.pem" --json
	assert_equal "$stderr" ""
	assert_equal "$(jq -c '[.valid, .reason, .revocation.status]' <<<"$output")" '[true,null,"good"]'
	assert_equal "$(jq -r .revocation.crl.number <<<"$output")" "$(openssl crl -in "$D/crl.pem" -noout -crlnumber | sed 's/^crlNumber=0x//' | xargs -I{} printf '%d' 0x{})"
	assert_equal "$(jq -r .revocation.crl.nextUpdate <<<"$output")" "$(date -u -d "$(openssl crl -in "$D/crl.pem" -noout -nextupdate | sed 's/^nextUpdate=//')" +%Y-%m-%dT%H:%M:%SZ)"
	assert_equal "$(jq -r '.revocation | has("revokedAt")' <<<"$output")" false
}

@test "verify: ok --crl in DER, a leaf it does not list" {
	run -0 --separate-stderr iv good --crl "$D/crl.der"
	assert_output ""
	assert_equal "$stderr" ""
}

@test "verify: fail --crl lists the leaf: revoked, with its reason and date" {
	local when
	when=$(revoked_date "$D/crl.pem" "$(cat "$D/crlrev.serial")")
	run -1 --separate-stderr iv crlrev --crl "$D/crl.pem" --json
	assert_equal "$stderr" "ca-verify: invalid: certificate is revoked (CRL): keyCompromise since $when: depth 0, crlrev.example.com"
	assert_equal "$(jq -c '[.valid, .serial]' <<<"$output")" "[false,\"$(cat "$D/crlrev.serial")\"]"
	assert_equal "$(jq -c '.revocation | [.status, .source, .reasonCode, .reason, .revokedAt]' <<<"$output")" \
		"[\"revoked\",\"CRL\",1,\"keyCompromise\",\"$when\"]"
	# openssl agrees.
	run -2 openssl verify -crl_check -CAfile "$CA/certs/root_ca.crt" \
		-untrusted "$CA/certs/intermediate_ca.crt" -CRLfile "$D/crl.pem" "$D/crlrev.pem"
	assert_output --partial "certificate revoked"
}

@test "verify: fail --crl in DER lists the leaf" {
	run -1 --separate-stderr iv crlrev --crl "$D/crl.der" -q --json
	assert_equal "$stderr" ""
	assert_equal "$(jq -r .revocation.status <<<"$output")" revoked
}

@test "verify: fail --crl signed by another key under the issuer's name" {
	run -1 --separate-stderr iv good --crl "$D/impostor-crl.pem" --json
	assert_equal "$stderr" "ca-verify: invalid: CRL signature failure: not signed by inca Intermediate CA, the issuer of depth 0"
	assert_equal "$(jq -r .revocation.status <<<"$output")" unknown
	# It lists crlrev, which it cannot revoke: still not valid, not "revoked".
	run -1 --separate-stderr iv crlrev --crl "$D/impostor-crl.pem"
	assert_equal "$stderr" "ca-verify: invalid: CRL signature failure: not signed by inca Intermediate CA, the issuer of depth 0"
}

@test "verify: fail --crl from a CA of another name" {
	run -1 --separate-stderr iv good --crl "$D/other-crl.pem"
	assert_equal "$stderr" "ca-verify: invalid: CRL is not from the issuer of depth 0: it is issued by Test Intermediate CA, the certificate by inca Intermediate CA"
}

@test "verify: fail --crl past its nextUpdate (fail closed)" {
	local nu
	nu=$(date -u -d "$(openssl crl -in "$D/stale.pem" -noout -nextupdate | sed 's/^nextUpdate=//')" +%Y-%m-%dT%H:%M:%SZ)
	run -1 --separate-stderr iv good --crl "$D/stale.pem" --json
	assert_equal "$stderr" "ca-verify: invalid: CRL has expired (its nextUpdate is $nu): revocation of depth 0 cannot be checked"
	assert_equal "$(jq -r .revocation.status <<<"$output")" unknown
}

@test "verify: fail --crl past its nextUpdate still revokes what it lists" {
	run -1 --separate-stderr iv crlrev --crl "$D/stale.pem" --json
	assert_equal "$stderr" "ca-verify: invalid: certificate is revoked (CRL): keyCompromise since $(revoked_date "$D/stale.pem" "$(cat "$D/crlrev.serial")"): depth 0, crlrev.example.com"
	assert_equal "$(jq -r .revocation.status <<<"$output")" revoked
}

@test "verify: fail --crl without nextUpdate (fail closed), still revoking what it lists" {
	run -0 bash -c "openssl crl -inform DER -in '$D/nonext.der' -noout -nextupdate"
	assert_output "nextUpdate=NONE"
	run -1 --separate-stderr iv good --crl "$D/nonext.der" --json
	assert_equal "$stderr" "ca-verify: invalid: CRL has no nextUpdate: revocation of depth 0 cannot be checked"
	assert_equal "$(jq -c '.revocation | [.status, .crl.nextUpdate]' <<<"$output")" '["unknown",null]'
	run -1 --separate-stderr iv crlrev --crl "$D/nonext.der"
	assert_equal "$stderr" "ca-verify: invalid: certificate is revoked (CRL): keyCompromise since $(revoked_date "$D/crl.pem" "$(cat "$D/crlrev.serial")"): depth 0, crlrev.example.com"
}

@test "verify: fail --crl not yet valid" {
	local tu
	tu=$(date -u -d "$(openssl crl -in "$D/future.pem" -noout -lastupdate | sed 's/^lastUpdate=//')" +%Y-%m-%dT%H:%M:%SZ)
	run -1 --separate-stderr iv good --crl "$D/future.pem"
	assert_equal "$stderr" "ca-verify: invalid: CRL is not yet valid (its thisUpdate is $tu)"
	# At a time past its thisUpdate, it is current.
	run -0 --separate-stderr iv good --crl "$D/future.pem" --at 2h
	assert_equal "$stderr" ""
}

@test "verify: fail --crl whose distribution point the leaf does not name" {
	run -1 --separate-stderr iv good --crl "$D/url.pem"
	assert_equal "$stderr" "ca-verify: invalid: CRL does not cover depth 0: its issuingDistributionPoint names a distribution point and the certificate has no cRLDistributionPoints"
	# openssl verify does not use it either.
	run -2 openssl verify -crl_check -CAfile "$CA/certs/root_ca.crt" \
		-untrusted "$CA/certs/intermediate_ca.crt" -CRLfile "$D/url.pem" "$D/good.pem"
	assert_output --partial "different CRL scope"
}

@test "verify: fail --crl with an unhandled critical extension" {
	run -0 bash -c "openssl crl -in '$D/crit.pem' -noout -text | grep -A1 '1.2.3.4: critical'"
	run -1 --separate-stderr iv good --crl "$D/crit.pem"
	assert_equal "$stderr" "ca-verify: invalid: CRL has an unhandled critical extension"
}

@test "verify: fail --crl from an issuer that may not sign CRLs (no cRLSign)" {
	local d=$BATS_TEST_TMPDIR
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/ncs.key" -out "$d/ncs.crt" -subj "/CN=No CRL Root" -days 30 \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign" 2>/dev/null
	make_csr "$d" nleaf -subj "/CN=nleaf.example.com"
	openssl x509 -req -in "$d/nleaf.csr" -CA "$d/ncs.crt" -CAkey "$d/ncs.key" \
		-set_serial 5 -days 1 -extfile "$D/server.ext" -out "$d/nleaf.crt" 2>/dev/null
	crl_conf "$d/ncsca"
	gencrl "$d/ncsca" "$d/ncs.crt" "$d/ncs.key" "$d/ncs-crl.pem"
	run -0 --separate-stderr ca-verify --root "$d/ncs.crt" "$d/nleaf.crt"
	run -1 --separate-stderr ca-verify --root "$d/ncs.crt" --crl "$d/ncs-crl.pem" "$d/nleaf.crt"
	assert_equal "$stderr" "ca-verify: invalid: No CRL Root may not sign CRLs (no cRLSign)"
}

@test "verify: fail --crl is not checked for a chain already invalid" {
	run -1 --separate-stderr iv crlrev --crl "$D/crl.pem" --host other.example.com --json
	assert_equal "$stderr" "ca-verify: invalid: hostname mismatch: other.example.com"
	assert_equal "$(jq -r .revocation.status <<<"$output")" "not checked"
}

@test "verify: bad input --crl that is not a CRL (exit 3)" {
	printf 'garbage\n' >"$BATS_TEST_TMPDIR/garbage"
	run -3 --separate-stderr iv good --crl "$BATS_TEST_TMPDIR/garbage"
	assert_output ""
	assert_equal "$stderr" "ca-verify: $BATS_TEST_TMPDIR/garbage: not a CRL: nested asn1 error"
	run -3 --separate-stderr iv good --crl "$CA/certs/root_ca.crt"
	assert_equal "$stderr" "ca-verify: $CA/certs/root_ca.crt: not a CRL: a PEM CERTIFICATE block"
	cat "$D/crl.pem" "$D/crl.pem" >"$BATS_TEST_TMPDIR/two.pem"
	run -3 --separate-stderr iv good --crl "$BATS_TEST_TMPDIR/two.pem"
	assert_equal "$stderr" "ca-verify: $BATS_TEST_TMPDIR/two.pem: not a CRL: 2 PEM blocks"
	head -c 100 "$D/crl.der" >"$BATS_TEST_TMPDIR/short.der"
	run -3 --separate-stderr iv good --crl "$BATS_TEST_TMPDIR/short.der"
	assert_output ""
	[[ "$stderr" == "ca-verify: $BATS_TEST_TMPDIR/short.der: not a CRL"* ]]
	: >"$BATS_TEST_TMPDIR/empty"
	run -3 --separate-stderr iv good --crl "$BATS_TEST_TMPDIR/empty"
	assert_equal "$stderr" "ca-verify: $BATS_TEST_TMPDIR/empty: empty input"
	run -3 --separate-stderr iv good --crl "$BATS_TEST_TMPDIR/missing"
	assert_equal "$stderr" "ca-verify: $BATS_TEST_TMPDIR/missing: No such file or directory"
}

@test "verify: bad input --crl in BER, not DER (exit 3)" {
	# The CRL with its outer SEQUENCE length in the long form: BER.
	python3 - "$D/crl.der" "$BATS_TEST_TMPDIR/ber.der" <<-'PY'
	import sys
	d = open(sys.argv[1], "rb").read()
	assert d[0] == 0x30
	if d[1] < 0x80:
	    n, body = d[1], d[2:]
	else:
	    k = d[1] & 0x7f
	    n, body = int.from_bytes(d[2:2 + k], "big"), d[2 + k:]
	open(sys.argv[2], "wb").write(bytes([0x30, 0x84]) + n.to_bytes(4, "big") + body)
	PY
	run -3 --separate-stderr iv good --crl "$BATS_TEST_TMPDIR/ber.der"
	[[ "$stderr" == "ca-verify: $BATS_TEST_TMPDIR/ber.der: "*"DER"* ]]
}

@test "verify: usage error for a repeated --crl" {
	run -2 --separate-stderr iv good --crl "$D/crl.pem" --crl "$D/crl.der"
	assert_output ""
	[[ "$stderr" == "ca-verify: "*"--crl"* ]]
}

@test "verify: ok --crl with the CA's own CRL (ca-revoke --crl), DER and PEM" {
	run -0 --separate-stderr iv good --crl "$D/own.der" --json
	assert_equal "$stderr" ""
	assert_equal "$(jq -c '[.valid, .revocation.status, .revocation.crl.number]' <<<"$output")" \
		"[true,\"good\",\"$(ca-inspect "$D/own.der" | jq -r .number)\"]"
	run -0 --separate-stderr iv good --crl "$D/own.pem"
	assert_equal "$stderr" ""
}

@test "verify: fail --crl with the CA's own CRL listing a revoked leaf" {
	local when
	when=$(date -u -d "@$(db "select revoked_at from revocations where serial = '$(cat "$D/dbrev.serial")'")" +%Y-%m-%dT%H:%M:%SZ)
	run -1 --separate-stderr iv dbrev --crl "$D/own.der" --json
	assert_equal "$stderr" "ca-verify: invalid: certificate is revoked (CRL): superseded since $when: depth 0, dbrev.example.com"
	assert_equal "$(jq -c '.revocation | [.status, .source, .reasonCode, .reason, .revokedAt]' <<<"$output")" \
		"[\"revoked\",\"CRL\",4,\"superseded\",\"$when\"]"
	# The free text is the database's alone: a CRL entry has no room for it.
	assert_equal "$(jq -r '.revocation | has("reasonText")' <<<"$output")" false
	run -1 --separate-stderr iv dbrev --crl "$D/own.pem"
	assert_equal "$stderr" "ca-verify: invalid: certificate is revoked (CRL): superseded since $when: depth 0, dbrev.example.com"
}

@test "verify: --crl with the CA's own CRL at its URL covers only leaves that name it" {
	assert_equal "$(ca-inspect "$D/withdp.pem" | jq -r '.certificates[0].crlDistributionPoints[0].distributionPoint.fullName[0].value')" \
		"http://ca.example.com/1.0/crl"
	assert_equal "$(ca-inspect "$D/urlhome.der" | jq -r '.issuingDistributionPoint.distributionPoint.fullName[0].value')" \
		"http://ca.example.com/1.0/crl"
	run -0 --separate-stderr ca-verify --dir "$D/urlhome" --crl "$D/urlhome.der" "$D/withdp.pem"
	assert_equal "$stderr" ""
	# A leaf issued before the CA named its CRL's URL carries no
	# distribution point, and a CRL whose IDP names one does not cover it
	# (RFC 5280 6.3.3; openssl verify -crl_check agrees).
	run -1 --separate-stderr ca-verify --dir "$D/urlhome" --crl "$D/urlhome.der" "$D/good.pem"
	assert_equal "$stderr" "ca-verify: invalid: CRL does not cover depth 0: its issuingDistributionPoint names a distribution point and the certificate has no cRLDistributionPoints"
	run -2 openssl verify -crl_check -CAfile "$CA/certs/root_ca.crt" \
		-untrusted "$CA/certs/intermediate_ca.crt" -CRLfile "$D/urlhome.der" "$D/good.pem"
	assert_output --partial "different CRL scope"
}

# --- revocation: --offline --------------------------------------------------

@test "verify: ok --offline, a recorded certificate not revoked" {
	run -0 --separate-stderr iv good --offline --json
	assert_equal "$stderr" ""
	assert_equal "$(jq -c '[.valid, .revocation]' <<<"$output")" '[true,{"status":"good"}]'
}

@test "verify: fail --offline revoked in the database, with its reason, text and date" {
	local when
	when=$(date -u -d "@$(db "select revoked_at from revocations where serial = '$(cat "$D/dbrev.serial")'")" +%Y-%m-%dT%H:%M:%SZ)
	run -1 --separate-stderr iv dbrev --offline --json
	assert_equal "$stderr" "ca-verify: invalid: certificate is revoked (database): superseded since $when: depth 0, dbrev.example.com"
	assert_equal "$(jq -c .revocation <<<"$output")" \
		"{\"status\":\"revoked\",\"source\":\"database\",\"revokedAt\":\"$when\",\"reasonCode\":4,\"reason\":\"superseded\",\"reasonText\":\"moved to a new host\"}"
}

@test "verify: fail --offline for a certificate the database never recorded" {
	local serial
	serial=$(serial_of "$D/unknown.pem")
	run -0 iv unknown
	run -1 --separate-stderr iv unknown --offline --json
	assert_equal "$stderr" "ca-verify: invalid: not issued by this CA: the database has no certificate with serial $serial"
	assert_equal "$(jq -r .revocation.status <<<"$output")" unknown
}

@test "verify: fail --offline for another certificate under a recorded serial" {
	assert_equal "$(serial_of "$D/twin.pem")" "$(cat "$D/good.serial")"
	run -0 iv twin
	run -1 --separate-stderr iv twin --offline
	assert_equal "$stderr" "ca-verify: invalid: not issued by this CA: the database records another certificate with serial $(cat "$D/good.serial")"
}

@test "verify: fail --offline with --crl: either source revokes" {
	run -1 --separate-stderr iv dbrev --offline --crl "$D/crl.pem" --json
	assert_equal "$(jq -c '.revocation | [.status, .source, .crl.number != null]' <<<"$output")" '["revoked","database",true]'
	run -1 --separate-stderr iv crlrev --offline --crl "$D/crl.pem" --json
	assert_equal "$(jq -c '.revocation | [.status, .source]' <<<"$output")" '["revoked","CRL"]'
	run -0 --separate-stderr iv good --offline --crl "$D/crl.der"
	assert_equal "$stderr" ""
}

@test "verify: --offline opens the database alone: no authority, no libcurl" {
	run -0 nm "$BIN/ca-verify"
	refute_output --partial authority_open
	refute_output --partial oidc_init
	refute_output --partial curl_
	assert_output --partial db_open
	run -0 ldd "$BIN/ca-verify"
	refute_output --partial libcurl
	assert_output --partial libsqlite3
}

@test "verify: failure --offline without a CA home (exit 4), whatever the chain" {
	run -4 --separate-stderr ca-verify --root "$CA/certs/root_ca.crt" \
		--dir "$BATS_TEST_TMPDIR/nohome" --offline "$D/good.pem"
	assert_output ""
	assert_equal "$stderr" "ca-verify: $BATS_TEST_TMPDIR/nohome/config/ca.json: no CA here (run ca-init, or give --dir)"
	run -4 --separate-stderr ca-verify --root "$CA/certs/root_ca.crt" \
		--dir "$BATS_TEST_TMPDIR/nohome" --offline "$D/server-chain.pem"
}
