#!/usr/bin/env bats
# ca-init: the CA home, its files and modes, the certificate profiles.

load common

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	printf 'ca secret\n' >"$D/pw"
	ca-init --dir "$D/ca" --name Acme --dns ca.acme.test --dns 10.1.1.1 \
		--address :8443 --provisioner ops@acme.test --password-file "$D/pw" >"$D/summary.json"
}

@test "init: -h prints usage and exits 0" {
	run -0 --separate-stderr ca-init -h
	assert_line --index 0 --partial "usage: ca-init [--dir DIR]"
}

@test "init: fail unknown option (exit 2)" {
	run -2 --separate-stderr ca-init --frobnicate
	assert_equal "$stderr" "ca-init: unrecognized option '--frobnicate' (see -h)"
}

@test "init: fail stray argument (exit 2)" {
	run -2 --separate-stderr ca-init --dir "$D/x" extra
	assert_equal "$stderr" "ca-init: unexpected argument: extra"
	[ ! -e "$D/x" ]
}

@test "init: ok summary JSON names the fingerprint, URL and paths" {
	run -0 jq -r '.fingerprint' "$D/summary.json"
	assert_equal "$output" "$(openssl x509 -in "$D/ca/certs/root_ca.crt" -outform DER | sha256sum | cut -d' ' -f1)"
	assert_equal "$(jq -r '."ca-url"' "$D/summary.json")" "https://ca.acme.test:8443"
	assert_equal "$(jq -r '.root' "$D/summary.json")" "$D/ca/certs/root_ca.crt"
	assert_equal "$(jq -r '."ca-config"' "$D/summary.json")" "$D/ca/config/ca.json"
	assert_equal "$(jq -r '.passwordFile' "$D/summary.json")" "$D/pw"
	assert_equal "$(jq -r '.provisioner' "$D/summary.json")" "ops@acme.test"
	assert_equal "$(jq -r '.server' "$D/summary.json")" "$D/ca/certs/server.crt"
}

@test "init: ok ca-serve's certificate is a leaf for the dnsNames, chained to the root" {
	run -0 openssl verify -CAfile "$D/ca/certs/root_ca.crt" \
		-untrusted "$D/ca/certs/intermediate_ca.crt" -purpose sslserver "$D/ca/certs/server.crt"
	run -0 ca-inspect <"$D/ca/certs/server.crt"
	assert_equal "$(jq -r '.certificates[0].subject.text' <<<"$output")" "CN=ca.acme.test"
	assert_equal "$(jq -c '.certificates[0].sans' <<<"$output")" \
		'[{"type":"dns","value":"ca.acme.test"},{"type":"ip","value":"10.1.1.1"}]'
	assert_equal "$(jq -r '.certificates[0].basicConstraints.ca' <<<"$output")" false
	# The leaf then the intermediate, as a TLS server sends them.
	assert_equal "$(grep -c 'BEGIN CERTIFICATE' "$D/ca/certs/server.crt")" 2
	assert_equal "$(sed -n '/BEGIN/,/END/p' "$D/ca/certs/intermediate_ca.crt")" \
		"$(awk '/BEGIN/{n++} n==2' "$D/ca/certs/server.crt")"
	# The default leaf lifetime, 24h from a minute back.
	nb=$(openssl x509 -in "$D/ca/certs/server.crt" -noout -startdate | cut -d= -f2)
	na=$(openssl x509 -in "$D/ca/certs/server.crt" -noout -enddate | cut -d= -f2)
	assert_equal $(( $(date -d "$na" +%s) - $(date -d "$nb" +%s) )) $((24 * 3600 + 60))
}

@test "init: ok ca-serve's key is unencrypted, 0600, and matches its certificate" {
	assert_equal "$(stat -c %a "$D/ca/secrets/server_key")" 600
	assert_equal "$(head -1 "$D/ca/secrets/server_key")" "-----BEGIN PRIVATE KEY-----"
	assert_equal "$(openssl pkey -in "$D/ca/secrets/server_key" -pubout)" \
		"$(openssl x509 -in "$D/ca/certs/server.crt" -noout -pubkey)"
}

@test "init: ok ca-serve's certificate is issued like any other: a row, a spent token" {
	serial=$(ca-inspect <"$D/ca/certs/server.crt" | jq -r '.certificates[0].serial.decimal')
	run -0 sqlite3 "$D/ca/db/ca.db" "select count(*), subject, provisioner from certs"
	assert_output "1|ca.acme.test|ops@acme.test"
	run -0 sqlite3 "$D/ca/db/ca.db" "select count(*) from used_tokens"
	assert_output 1
	run -0 ca-list --dir "$D/ca"
	assert_equal "$(jq -r .serial <<<"$output")" "$serial"
}

@test "init: ok files exist with safe modes" {
	for f in certs/root_ca.crt certs/intermediate_ca.crt certs/server.crt config/ca.json config/defaults.json; do
		assert_equal "$(stat -c %a "$D/ca/$f")" 644
	done
	for f in secrets/root_ca_key secrets/intermediate_ca_key secrets/server_key db/ca.db; do
		assert_equal "$(stat -c %a "$D/ca/$f")" 600
	done
	assert_equal "$(stat -c %a "$D/ca/secrets")" 700
	assert_equal "$(stat -c %a "$D/ca/db")" 700
	# The given password file is used, not copied.
	[ ! -e "$D/ca/secrets/password" ]
	assert_equal "$(jq -r .passwordFile "$D/ca/config/ca.json")" "$D/pw"
}

@test "init: ok keys are encrypted with the password" {
	run -0 grep -c "BEGIN ENCRYPTED PRIVATE KEY" "$D/ca/secrets/root_ca_key" "$D/ca/secrets/intermediate_ca_key"
	run -0 openssl pkey -in "$D/ca/secrets/intermediate_ca_key" -passin pass:"ca secret" -noout
	run -1 openssl pkey -in "$D/ca/secrets/intermediate_ca_key" -passin pass:wrong -noout
	assert_equal "$(openssl pkey -in "$D/ca/secrets/intermediate_ca_key" -passin pass:"ca secret" -pubout)" \
		"$(openssl x509 -in "$D/ca/certs/intermediate_ca.crt" -noout -pubkey)"
}

@test "init: ok root profile (CN, pathlen 1, KU critical, 10 years)" {
	run -0 openssl x509 -in "$D/ca/certs/root_ca.crt" -noout -subject -issuer -ext basicConstraints,keyUsage,subjectKeyIdentifier
	assert_line "subject=O = Acme, CN = Acme Root CA"
	assert_line "issuer=O = Acme, CN = Acme Root CA"
	assert_line "X509v3 Basic Constraints: critical"
	assert_line "    CA:TRUE, pathlen:1"
	assert_line "X509v3 Key Usage: critical"
	assert_line "    Certificate Sign, CRL Sign"
	assert_line "X509v3 Subject Key Identifier: "
	nb=$(date -d "$(openssl x509 -in "$D/ca/certs/root_ca.crt" -noout -startdate | cut -d= -f2)" +%s)
	na=$(date -d "$(openssl x509 -in "$D/ca/certs/root_ca.crt" -noout -enddate | cut -d= -f2)" +%s)
	assert_equal $((na - nb)) $((3650 * 86400 + 60))
}

@test "init: ok intermediate profile (pathlen 0, AKI = root SKI) verifies strictly" {
	run -0 openssl x509 -in "$D/ca/certs/intermediate_ca.crt" -noout -subject -issuer -ext basicConstraints,keyUsage
	assert_line "subject=O = Acme, CN = Acme Intermediate CA"
	assert_line "issuer=O = Acme, CN = Acme Root CA"
	assert_line "    CA:TRUE, pathlen:0"
	assert_line "    Certificate Sign, CRL Sign"
	aki=$(openssl x509 -in "$D/ca/certs/intermediate_ca.crt" -noout -ext authorityKeyIdentifier | sed -n 2p | tr -d ' ')
	ski=$(openssl x509 -in "$D/ca/certs/root_ca.crt" -noout -ext subjectKeyIdentifier | sed -n 2p | tr -d ' ')
	assert_equal "${aki#keyid:}" "$ski"
	run -0 openssl verify -x509_strict -CAfile "$D/ca/certs/root_ca.crt" "$D/ca/certs/intermediate_ca.crt"
}

@test "init: ok ca.json has the provisioner with an encrypted key" {
	c="$D/ca/config/ca.json"
	assert_equal "$(jq -r '.authority.provisioners[0].type' "$c")" JWK
	assert_equal "$(jq -r '.authority.provisioners[0].name' "$c")" "ops@acme.test"
	assert_equal "$(jq -r '.authority.provisioners[0].key.kty + " " + .authority.provisioners[0].key.crv' "$c")" "EC P-256"
	assert_equal "$(jq -r '.authority.provisioners[0].key | has("d")' "$c")" false
	hdr=$(jq -r '.authority.provisioners[0].encryptedKey' "$c" | cut -d. -f1 | tr '_-' '/+')
	while [ $((${#hdr} % 4)) -ne 0 ]; do hdr="$hdr="; done
	run -0 jq -c '{alg, enc, cty, p2c}' <<<"$(printf '%s' "$hdr" | base64 -d)"
	assert_output '{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","cty":"jwk+json","p2c":600000}'
	assert_equal "$(jq -r '.dnsNames | join(",")' "$c")" "ca.acme.test,10.1.1.1"
	assert_equal "$(jq -r '.address' "$c")" ":8443"
	assert_equal "$(jq -r '.db.type + " " + .db.dataSource' "$c")" "sqlite db/ca.db"
	assert_equal "$(jq -r '.authority.claims.defaultTLSCertDuration' "$c")" "24h"
}

@test "init: ok provisioner key decrypts with jwcrypto and matches the public key" {
	/usr/bin/python3 -c 'import jwcrypto' 2>/dev/null || skip "python3-jwcrypto not installed"
	run -0 /usr/bin/python3 - "$D/ca/config/ca.json" "ca secret" <<'PY'
import json, sys
from jwcrypto import jwe, jwk
c = json.load(open(sys.argv[1]))
p = c["authority"]["provisioners"][0]
k = jwk.JWK.from_password(sys.argv[2])
t = jwe.JWE()
t.deserialize(p["encryptedKey"], key=k)
priv = jwk.JWK.from_json(t.payload)
pub = jwk.JWK(**p["key"])
assert priv.thumbprint() == pub.thumbprint() == p["key"]["kid"], "kid mismatch"
print("ok")
PY
	assert_output ok
}

@test "init: ok empty database has the schema" {
	run -0 sqlite3 "$D/ca/db/ca.db" "select version from schema_version; select name from sqlite_master where type='table' order by name;"
	assert_line --index 0 4
	assert_line acme_nonces
	assert_line acme_objects
	assert_line certs
	assert_line token_clock
	assert_line revocations
	assert_line used_tokens
	assert_line crl
}

@test "init: ok defaults.json for clients, its paths relative to the home" {
	c="$D/ca/config/defaults.json"
	assert_equal "$(jq -r '."ca-url"' "$c")" "https://ca.acme.test:8443"
	assert_equal "$(jq -r '.root' "$c")" "certs/root_ca.crt"
	assert_equal "$(jq -r '."ca-config"' "$c")" "config/ca.json"
	assert_equal "$(jq -r '.fingerprint' "$c")" "$(jq -r .fingerprint "$D/summary.json")"
}

@test "init: fail existing home is not touched (exit 1)" {
	before=$(find "$D/ca" -type f -exec sha256sum {} + | sort)
	run -1 --separate-stderr ca-init --dir "$D/ca" --password-file "$D/pw"
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-init: $D/ca already exists: not touching it"
	assert_equal "$(find "$D/ca" -type f -exec sha256sum {} + | sort)" "$before"
}

@test "init: ok default password is generated 0600 and opens the keys" {
	run -0 ca-init --dir "$D/gen"
	p="$D/gen/secrets/password"
	assert_equal "$(stat -c %a "$p")" 600
	assert_equal "$(wc -c <"$p")" 43
	assert_equal "$(jq -r .passwordFile "$D/gen/config/ca.json")" "secrets/password"
	run -0 openssl pkey -in "$D/gen/secrets/intermediate_ca_key" -passin file:"$p" -noout
	assert_equal "$(jq -r '.dnsNames | join(",")' "$D/gen/config/ca.json")" "localhost,127.0.0.1"
	assert_equal "$(jq -r '."ca-url"' "$D/gen/config/defaults.json")" "https://localhost:9000"
}

@test "init: ok CA_DIR and HOME select the home" {
	CA_DIR="$D/envhome" run -0 ca-init
	[ -f "$D/envhome/config/ca.json" ]
	HOME="$D/h2" run -0 ca-init
	[ -f "$D/h2/.inca/config/ca.json" ]
}

@test "init: fail bad password file leaves nothing behind" {
	run -3 --separate-stderr ca-init --dir "$D/nope" --password-file "$D/missing"
	assert_equal "$stderr" "ca-init: $D/missing: No such file or directory"
	: >"$D/empty"
	run -3 --separate-stderr ca-init --dir "$D/nope" --password-file "$D/empty"
	assert_equal "$stderr" "ca-init: $D/empty: empty password"
	[ ! -e "$D/nope" ]
	run -0 ls -A "$D"
	refute_output --partial "nope"
}

@test "init: fail bad --dns, --address, --leaf-duration (exit 2)" {
	run -2 --separate-stderr ca-init --dir "$D/b1" --dns 'bad name'
	assert_regex "$stderr" "^ca-init: --dns: bad name: "
	run -2 --separate-stderr ca-init --dir "$D/b1" --address localhost
	assert_equal "$stderr" "ca-init: --address localhost: expected HOST:PORT"
	run -2 --separate-stderr ca-init --dir "$D/b1" --leaf-duration 1m
	assert_equal "$stderr" "ca-init: --leaf-duration: a duration of at least 5m"
	[ ! -e "$D/b1" ]
}

@test "init: fail a home path longer than PATH_MAX - 64, 4032 bytes (exit 2), nothing made" {
	# long_home N: a path of N bytes under $D/long, in components of 200.
	long_home() {
		local h=$D/long
		while [ $((${#h} + 201)) -lt "$1" ]; do
			h=$h/$(printf '%0200d' 0)
		done
		printf '%s/%s' "$h" "$(printf '%0*d' $(($1 - ${#h} - 1)) 0)"
	}
	h=$(long_home 4033)
	assert_equal "${#h}" 4033
	run -2 --separate-stderr ca-init --dir "$h"
	assert_output ""
	assert_equal "$stderr" "ca-init: home path too long: 4033 bytes, at most 4032"
	[ ! -e "$D/long" ]
	# At the limit the length passes; this home fails later, on its
	# database's path (SQLite's own limit), and leaves nothing either.
	h=$(long_home 4032)
	run --separate-stderr ca-init --dir "$h" --key-iterations 1
	refute [ "$status" -eq 0 ]
	refute [ "$status" -eq 2 ]
	[[ "$stderr" != *"path too long"* ]]
	run find "$D/long" -name '*.init.*'
	assert_output ""
	rm -rf "$D/long"
}

@test "init: ok --leaf-duration sets default and maximum" {
	run -0 ca-init --dir "$D/ld" --leaf-duration 720h
	assert_equal "$(jq -r '.authority.claims.defaultTLSCertDuration' "$D/ld/config/ca.json")" "720h"
	assert_equal "$(jq -r '.authority.claims.maxTLSCertDuration' "$D/ld/config/ca.json")" "720h"
}

@test "init: ok --kty RSA and OKP CA keys" {
	run -0 ca-init --dir "$D/rsa" --kty RSA --size 2048
	run -0 openssl x509 -in "$D/rsa/certs/intermediate_ca.crt" -noout -text
	assert_output --partial "Public-Key: (2048 bit)"
	assert_output --partial "sha256WithRSAEncryption"
	run -0 ca-init --dir "$D/okp" --kty OKP
	run -0 openssl x509 -in "$D/okp/certs/root_ca.crt" -noout -text
	assert_output --partial "ED25519"
	run -0 openssl verify -x509_strict -CAfile "$D/okp/certs/root_ca.crt" "$D/okp/certs/intermediate_ca.crt"
}

@test "init: ok bring your own root: only the intermediate is made" {
	make_openssl_ca "$D/own"
	run -0 ca-init --dir "$D/byo" --root-cert "$D/own/root.crt" --root-key "$D/own/root.key" --name Own
	cmp "$D/own/root.crt" "$D/byo/certs/root_ca.crt"
	[ ! -e "$D/byo/secrets/root_ca_key" ]
	run -0 openssl verify -x509_strict -CAfile "$D/own/root.crt" "$D/byo/certs/intermediate_ca.crt"
	run -0 openssl x509 -in "$D/byo/certs/intermediate_ca.crt" -noout -issuer
	assert_output "issuer=CN = Test Root CA"
}

@test "init: fail bring-your-own root with a mismatched key or a pathlen-0 root" {
	make_openssl_ca "$D/own2"
	run -3 --separate-stderr ca-init --dir "$D/byo2" --root-cert "$D/own2/root.crt" --root-key "$D/own2/int.key"
	assert_equal "$stderr" "ca-init: $D/own2/int.key does not match $D/own2/root.crt"
	run -3 --separate-stderr ca-init --dir "$D/byo2" --root-cert "$D/own2/int.crt" --root-key "$D/own2/int.key"
	assert_equal "$stderr" "ca-init: $D/own2/int.crt has path length 0: it cannot have an intermediate"
	run -2 --separate-stderr ca-init --dir "$D/byo2" --root-cert "$D/own2/root.crt"
	assert_equal "$stderr" "ca-init: --root-cert and --root-key go together"
	[ ! -e "$D/byo2" ]
}

@test "init: ok stateless signing with the new CA verifies" {
	make_csr "$D" l -subj /CN=svc.acme.test
	run -0 ca-sign --ca-cert "$D/ca/certs/intermediate_ca.crt" \
		--ca-key "$D/ca/secrets/intermediate_ca_key" --password-file "$D/pw" <"$D/l.csr"
	printf '%s\n' "$output" >"$D/l.pem"
	run -0 openssl verify -x509_strict -CAfile "$D/ca/certs/root_ca.crt" -untrusted "$D/ca/certs/intermediate_ca.crt" "$D/l.pem"
}

@test "init: fail key options that do not fit the key type (exit 2)" {
	run -2 --separate-stderr ca-init --dir "$D/k1" --kty RSA --size abc
	assert_equal "$stderr" "ca-init: --size abc: a number of bits"
	run -2 --separate-stderr ca-init --dir "$D/k1" --kty RSA --size 1024
	assert_equal "$stderr" "ca-init: --size 1024: 2048..8192 bits, a multiple of 8"
	run -2 --separate-stderr ca-init --dir "$D/k1" --size 2048
	assert_equal "$stderr" "ca-init: --size is for RSA keys; EC takes --curve"
	run -2 --separate-stderr ca-init --dir "$D/k1" --kty RSA --curve P-256
	assert_equal "$stderr" "ca-init: --curve is for EC and OKP keys; RSA takes --size"
	run -2 --separate-stderr ca-init --dir "$D/k1" --curve secp256k1
	assert_equal "$stderr" "ca-init: --curve secp256k1: P-256, P-384 or P-521"
	run -2 --separate-stderr ca-init --dir "$D/k1" --kty DSA
	assert_equal "$stderr" "ca-init: --kty DSA: EC, RSA or OKP"
	[ ! -e "$D/k1" ]
}

@test "init: ok P-384 CA keys sign with SHA-384" {
	run -0 ca-init --dir "$D/p384" --curve P-384
	run -0 openssl x509 -in "$D/p384/certs/intermediate_ca.crt" -noout -text
	assert_output --partial "ecdsa-with-SHA384"
	assert_output --partial "NIST CURVE: P-384"
}

@test "init: ok key iterations: the least under a generated password, 600000 under an operator's, or --key-iterations for every key" {
	# iters HOME: the PBKDF2 counts of the root key, the intermediate key
	# and the provisioner's JWE (p2c), in decimal.
	iters() {
		local k h
		for k in root_ca_key intermediate_ca_key; do
			printf '%d ' "0x$(openssl asn1parse -in "$1/secrets/$k" |
				awk '/PBKDF2/{p=1} p && /INTEGER/{sub(/.*:/, ""); print; exit}')"
		done
		h=$(jq -r '.authority.provisioners[0].encryptedKey' "$1/config/ca.json" | cut -d. -f1 | tr '_-' '/+')
		while [ $((${#h} % 4)) -ne 0 ]; do h="$h="; done
		printf '%s' "$h" | base64 -d | jq .p2c
	}
	# An operator's password (setup_file), a generated one.
	assert_equal "$(iters "$D/ca")" "600000 600000 600000"
	assert_equal "$(iters "$D/gen")" "1 1 1000"
	# A generated CA password, an operator's for the provisioner key.
	printf 'prov pw\n' >"$D/provpw2"
	run -0 ca-init --dir "$D/ip" --provisioner-password-file "$D/provpw2"
	assert_equal "$(iters "$D/ip")" "1 1 600000"
	run -0 ca-init --dir "$D/it" --key-iterations 5000
	assert_equal "$(iters "$D/it")" "5000 5000 5000"
	# The JWE's count at least the least a JWE may carry; the key still
	# opens with the password.
	run -0 ca-init --dir "$D/it1" --password-file "$D/pw" --key-iterations 1
	assert_equal "$(iters "$D/it1")" "1 1 1000"
	run -0 ca-token --offline --dir "$D/it1" --password-file "$D/pw" it.example.com
	run -2 --separate-stderr ca-init --dir "$D/it0" --key-iterations 1200001
	assert_equal "$stderr" "ca-init: --key-iterations: 1..1200000"
	run -2 --separate-stderr ca-init --dir "$D/it0" --key-iterations 0
	assert_equal "$stderr" "ca-init: --key-iterations: 1..1200000"
	[ ! -e "$D/it0" ]
}

@test "init: ok encrypted brought root with --root-password-file; wrong one refused (exit 1)" {
	make_openssl_ca "$D/own3"
	printf 'root pw\n' >"$D/rootpw"
	printf 'nope\n' >"$D/badrootpw"
	openssl pkcs8 -topk8 -in "$D/own3/root.key" -out "$D/own3/root-enc.key" -passout pass:"root pw" -v2 aes-256-cbc 2>/dev/null
	run -1 --separate-stderr ca-init --dir "$D/byo3" --root-cert "$D/own3/root.crt" --root-key "$D/own3/root-enc.key" --root-password-file "$D/badrootpw"
	assert_equal "$stderr" "ca-init: $D/own3/root-enc.key: cannot decrypt key: wrong password"
	[ ! -e "$D/byo3" ]
	run -0 ca-init --dir "$D/byo3" --root-cert "$D/own3/root.crt" --root-key "$D/own3/root-enc.key" --root-password-file "$D/rootpw"
	run -0 openssl verify -x509_strict -CAfile "$D/own3/root.crt" "$D/byo3/certs/intermediate_ca.crt"
	run -2 --separate-stderr ca-init --dir "$D/byo4" --root-password-file "$D/rootpw"
	assert_equal "$stderr" "ca-init: --root-password-file goes with --root-key"
}

@test "init: ok --provisioner-password-file encrypts the provisioner key apart from the CA keys" {
	printf 'prov pw\n' >"$D/provpw"
	run -0 ca-init --dir "$D/pp" --provisioner-password-file "$D/provpw"
	run -0 ca-token --offline --dir "$D/pp" --password-file "$D/provpw" pp.example.com
	run -1 --separate-stderr ca-token --offline --dir "$D/pp" pp.example.com
	assert_regex "$stderr" "^ca-token: provisioner key: .*wrong password"
}

# A leaf of home $1 for name $2, signed statelessly with its intermediate.
leaf() {
	ca-sign --ca-cert "$1/certs/intermediate_ca.crt" --ca-key "$1/secrets/intermediate_ca_key" \
		--password-file "$1/secrets/password" --key-out "$BATS_TEST_TMPDIR/$2.key" "$2"
}

@test "init: ok relative --dir: paths resolved once, summary absolute, the home moves whole" {
	mkdir "$D/cwd"
	cd "$D/cwd"
	run -0 --separate-stderr ca-init --dir rel
	assert_equal "$(jq -r .dir <<<"$output")" "$D/cwd/rel"
	assert_equal "$(jq -r .root <<<"$output")" "$D/cwd/rel/certs/root_ca.crt"
	assert_equal "$(jq -r .intermediate <<<"$output")" "$D/cwd/rel/certs/intermediate_ca.crt"
	assert_equal "$(jq -r '."ca-config"' <<<"$output")" "$D/cwd/rel/config/ca.json"
	assert_equal "$(jq -r .passwordFile <<<"$output")" "$D/cwd/rel/secrets/password"
	assert_equal "$(jq -r .root rel/config/defaults.json)" "certs/root_ca.crt"
	leaf rel svc.test >"$D/svc.crt"
	run -0 --separate-stderr ca-verify --dir rel --host svc.test <"$D/svc.crt"
	run -0 --separate-stderr ca-verify --dir ./rel/ --host svc.test <"$D/svc.crt"
	# Moved as a whole, and used from elsewhere.
	mv rel "$D/moved"
	cd /
	run -0 --separate-stderr ca-verify --dir "$D/moved" --host svc.test <"$D/svc.crt"
	CA_DIR="$D/moved" run -0 --separate-stderr ca-verify --host svc.test <"$D/svc.crt"
	run -0 --separate-stderr ca-token --offline --dir "$D/moved" svc.test
}

@test "init: ok ./DIR and DIR/ name the same home" {
	cd "$D"
	run -0 --separate-stderr ca-init --dir ./dotdir/
	assert_equal "$(jq -r .dir <<<"$output")" "$D/dotdir"
	[ -f "$D/dotdir/config/ca.json" ]
	[ ! -e "$D/dotdir.init" ]
	assert_equal "$(find "$D" -maxdepth 2 -name '*.init.*' | wc -l)" 0
}

@test "init: ok an existing empty directory of ours becomes the home, its mode kept" {
	mkdir -m 0700 "$D/state"
	run -0 --separate-stderr ca-init --dir "$D/state"
	assert_equal "$stderr" ""
	assert_equal "$(jq -r .dir <<<"$output")" "$D/state"
	assert_equal "$(stat -c %a "$D/state")" 700
	assert_equal "$(stat -c %a "$D/state/secrets")" 700
	assert_equal "$(stat -c %a "$D/state/secrets/password")" 600
	assert_equal "$(stat -c %a "$D/state/config")" 755
	assert_equal "$(ls -A "$D/state" | tr '\n' ' ')" "certs config db secrets "
	leaf "$D/state" st.test >"$D/st.crt"
	run -0 --separate-stderr ca-verify --dir "$D/state" --host st.test <"$D/st.crt"
	# Now it is a home, and it is refused like any other.
	run -1 --separate-stderr ca-init --dir "$D/state"
	assert_equal "$stderr" "ca-init: $D/state already exists: not touching it"
}

@test "init: fail an existing directory that is not empty, not a directory, a symlink, writable by others, or not ours (exit 1)" {
	mkdir "$D/full"
	: >"$D/full/.keep"
	run -1 --separate-stderr ca-init --dir "$D/full"
	assert_equal "$stderr" "ca-init: $D/full already exists: not touching it"
	assert_equal "$(ls -A "$D/full")" ".keep"
	: >"$D/afile"
	run -1 --separate-stderr ca-init --dir "$D/afile"
	assert_equal "$stderr" "ca-init: $D/afile already exists: not touching it"
	mkdir "$D/target"
	ln -s target "$D/link"
	run -1 --separate-stderr ca-init --dir "$D/link"
	assert_equal "$stderr" "ca-init: $D/link already exists: not touching it"
	assert_equal "$(ls -A "$D/target")" ""
	mkdir -m 0777 "$D/open"
	chmod 0777 "$D/open"
	run -1 --separate-stderr ca-init --dir "$D/open"
	assert_equal "$stderr" "ca-init: $D/open is writable by others (mode 777): not making a CA home in it"
	mkdir -m 0775 "$D/grp"
	chmod 0775 "$D/grp"
	run -1 --separate-stderr ca-init --dir "$D/grp"
	assert_equal "$stderr" "ca-init: $D/grp is writable by others (mode 775): not making a CA home in it"
	assert_equal "$(ls -A "$D/grp")" ""
	# Owned by someone else (the test runs as root, which may give it away).
	mkdir "$D/theirs"
	chown 65534 "$D/theirs"
	run -1 --separate-stderr ca-init --dir "$D/theirs"
	assert_equal "$stderr" "ca-init: $D/theirs already exists and is not yours: not touching it"
	assert_equal "$(ls -A "$D/theirs")" ""
}

# Start a slow ca-init (RSA 4096 keys) on home $1 with signals at their
# defaults, wait until its temporary home exists, send signal $2, reap it.
# Sets status and err (its stderr).
init_killed() {
	local h=$1 sig=$2 pid i=0
	env --default-signal=INT,TERM,HUP ca-init --dir "$h" --kty RSA --size 4096 \
		>"$h.out" 2>"$h.err" 3>&- &
	pid=$!
	until compgen -G "$h.init.*" >/dev/null; do
		kill -0 "$pid"          # still running: it did not finish first
		i=$((i + 1))
		[ "$i" -lt 3000 ]
		sleep 0.01
	done
	kill -s "$sig" "$pid"
	status=0
	wait "$pid" || status=$?
	err=$(cat "$h.err")
}

@test "init: ok SIGTERM, SIGHUP or SIGINT mid-init removes the temporary home with its keys" {
	local sig n
	for sig in TERM HUP INT; do
		init_killed "$D/sig$sig" "$sig"
		n=$(kill -l "$sig")
		assert_equal "$status" "$((128 + n))"
		assert_regex "$err" "^ca-init: .*: stopped; no CA home was made$"
		assert_equal "$(cat "$D/sig$sig.out")" ""
		assert_equal "$(compgen -G "$D/sig$sig.init.*" || true)" ""
		[ ! -e "$D/sig$sig" ]
	done
	# Nothing stands in the way of the next run.
	run -0 ca-init --dir "$D/sigTERM"
}

@test "init: fail the next ca-init names a leftover it cannot remove (SIGKILL; exit 1)" {
	init_killed "$D/killed" KILL
	assert_equal "$status" 137
	left=$(compgen -G "$D/killed.init.*")
	[ -d "$left" ]
	run -1 --separate-stderr ca-init --dir "$D/killed"
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-init: $left: left by an interrupted ca-init (or one still running); it may hold the CA's keys: remove it, then run ca-init again"
	[ ! -e "$D/killed" ]
	[ -d "$left" ]
	# In an empty directory given as the home, the leftover is inside it.
	mkdir "$D/kin"
	mkdir "$D/kin/.init.Ab12Cd"
	run -1 --separate-stderr ca-init --dir "$D/kin"
	assert_equal "$stderr" "ca-init: $D/kin/.init.Ab12Cd: left by an interrupted ca-init (or one still running); it may hold the CA's keys: remove it, then run ca-init again"
	rm -rf "$left"
	run -0 ca-init --dir "$D/killed"
}

@test "init: a summary nobody reads is exit 4, and the home is there and sound" {
	run -4 --separate-stderr bash -c 'ca-init --dir "$1" >&-' _ "$D/noreader"
	assert_equal "$stderr" "ca-init: write: Bad file descriptor; the CA home $D/noreader is created and complete"
	run -0 --separate-stderr ca-init --check --dir "$D/noreader"
	assert_output "$D/noreader: ok"
	# A reader that is gone: EPIPE, said the same way, not a SIGPIPE death.
	# (A pipe whose read end is closed before ca-init starts; SIGPIPE at
	# its default, as a shell leaves it.)
	run -0 --separate-stderr python3 -c '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
print(subprocess.run(sys.argv[1:], stdout=w).returncode)' ca-init --dir "$D/gone"
	assert_output 4
	assert_equal "$stderr" "ca-init: write: Broken pipe; the CA home $D/gone is created and complete"
}
