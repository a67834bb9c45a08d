#!/usr/bin/env bats
# config/ca.json is checked, not trusted: an unknown member, a wrong type,
# two provisioners of one name, no provisioner, a key that is not one or
# a kid that is not its key's thumbprint is refused with its JSON path by
# ca-init --check and by every program that reads the file (exit 4);
# step-ca members inca does not use pass with a warning from --check.

load common
load helpers/authority

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_ca
	# --check wants the password file the owner's alone.
	chmod 600 "$D/pw"
	# A second provisioner, "ci", so that paths have an index above 0.
	"$PY" "$TOKPY" provisioner ci "$D/pw" >"$D/ci.prov"
	jq --slurpfile p "$D/ci.prov" '.authority.provisioners += $p' \
		"$D/ca.json.orig" >"$D/ca.json.base"
	put_file "$CA/config/ca.json" <"$D/ca.json.base"
	csr foo foo.example.com dns:foo.example.com
	ca-init --dir "$D/fresh" >/dev/null
}

teardown() {
	put_file "$CA/config/ca.json" <"$D/ca.json.base"
	chmod 600 "$D/pw"
}

# conf JQ: ca.json is the base configuration with the jq filter applied.
conf() { jq "$1" "$D/ca.json.base" | put_file "$CA/config/ca.json"; }

KID() { jq -r .kid "$D/init.json"; }

# checked MESSAGE: ca-init --check refuses the current ca.json with
# "ca-init: MESSAGE" as its only output, exit 4.
checked() {
	run -4 --separate-stderr ca-init --check --dir "$CA"
	assert_output ""
	assert_equal "$stderr" "ca-init: $1"
}

# bad JQ MESSAGE: with the filter applied, --check and ca-sign --offline
# both refuse the configuration with MESSAGE (exit 4).
bad() {
	local t
	put_file "$CA/config/ca.json" <"$D/ca.json.base"
	t=$(mint)
	conf "$1"
	checked "$2"
	run -4 --separate-stderr cli_sign "$t" "$D/foo.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: $2"
}

# everywhere JQ MESSAGE [TOKEN]: refused by --check, by ca-sign offline
# and through --api (exit 4, 500, nothing recorded) and by
# ca-token --offline.  TOKEN: minted beforehand (default: a good one).
everywhere() {
	put_file "$CA/config/ca.json" <"$D/ca.json.base"
	local t=${3:-$(mint)}
	conf "$1"
	checked "$2"
	refused 4 500 "$2" "$t" "$D/foo.csr"
	run -4 --separate-stderr ca-token --offline --dir "$CA" foo.example.com
	assert_output ""
	assert_equal "$stderr" "ca-token: $2"
}

# ---- a sound home -----------------------------------------------------------

@test "config: ok a fresh home from ca-init passes --check" {
	run -0 --separate-stderr ca-init --check --dir "$D/fresh"
	assert_output "$D/fresh: ok"
	assert_equal "$stderr" ""
	# And one made with the operator's password file and two provisioners.
	run -0 --separate-stderr ca-init --check --dir "$CA"
	assert_output "$CA: ok"
	assert_equal "$stderr" ""
}

@test "config: ok every kind of home ca-init makes passes --check" {
	local h
	make_openssl_ca "$D/own"
	ca-init --dir "$D/k-rsa" --kty RSA --size 2048 >/dev/null
	ca-init --dir "$D/k-okp" --kty OKP --leaf-duration 720h >/dev/null
	ca-init --dir "$D/k-byo" --root-cert "$D/own/root.crt" --root-key "$D/own/root.key" >/dev/null
	printf 'provisioner secret\n' >"$D/provpw"
	ca-init --dir "$D/k-pp" --provisioner-password-file "$D/provpw" --provisioner ops \
		--dns ::1 --address '[::1]:8443' >/dev/null
	for h in k-rsa k-okp k-byo k-pp; do
		run -0 --separate-stderr ca-init --check --dir "$D/$h"
		assert_output "$D/$h: ok"
		assert_equal "$stderr" ""
	done
}

@test "config: ok --check finds the home in CA_DIR" {
	CA_DIR="$D/fresh" run -0 --separate-stderr ca-init --check
	assert_output "$D/fresh: ok"
}

@test "config: usage --check takes only --dir (exit 2)" {
	run -2 --separate-stderr ca-init --check --dir "$D/fresh" --name x
	assert_equal "$stderr" "ca-init: --check takes only --dir"
	run -2 --separate-stderr ca-init --check "$D/fresh"
	assert_equal "$stderr" "ca-init: unexpected argument: $D/fresh"
}

@test "config: fail --check of a directory without a CA (exit 4)" {
	run -4 --separate-stderr ca-init --check --dir "$D/none"
	assert_output ""
	assert_equal "$stderr" "ca-init: $D/none/config/ca.json: no CA here (run ca-init, or give --dir)"
}

# ---- the typos of the issue, refused everywhere ------------------------------

@test "config: fail a misspelt authority.policy is refused, not ignored" {
	everywhere '.authority.polcy = {"x509": {"deny": {"dns": ["foo.example.com"]}}}' \
		"ca.json: authority.polcy: unknown member"
}

@test "config: fail a misspelt claim, global or a provisioner's" {
	everywhere '.authority.claims.maxTlsCertDuration = "1h"' \
		"ca.json: authority.claims.maxTlsCertDuration: unknown member"
	everywhere '.authority.provisioners[1].claims = {"maxTlsCertDuration": "1h"}' \
		"ca.json: authority.provisioners[1].claims.maxTlsCertDuration: unknown member"
}

@test "config: fail two provisioners with one name" {
	everywhere '.authority.provisioners[1].name = "admin"' \
		'ca.json: authority.provisioners[1].name: duplicate name "admin" (also authority.provisioners[0])'
	# Whatever their types.
	bad '.authority.provisioners += [{"type": "ACME", "name": "ci"}]' \
		'ca.json: authority.provisioners[2].name: duplicate name "ci" (also authority.provisioners[1])'
}

@test "config: fail no provisioner, or no JWK provisioner" {
	everywhere '.authority.provisioners = []' \
		"ca.json: authority.provisioners: no JWK provisioner"
	bad '.authority.provisioners = [{"type": "ACME", "name": "acme"}]' \
		"ca.json: authority.provisioners: no JWK provisioner"
	bad 'del(.authority.provisioners)' "ca.json: authority.provisioners: required"
}

@test "config: fail a provisioner key null or missing" {
	everywhere '.authority.provisioners[0].key = null' \
		"ca.json: authority.provisioners[0].key: must be an object (a public JWK)"
	bad 'del(.authority.provisioners[1].key)' "ca.json: authority.provisioners[1].key: required"
	bad '.authority.provisioners[0].key = "x"' \
		"ca.json: authority.provisioners[0].key: must be an object (a public JWK)"
}

@test "config: fail a kid that is not the key's thumbprint, though a token carries it" {
	# The token names the forged kid and is signed by the right key:
	# before the check, the authority found the provisioner by it and
	# issued.
	t=$(mint --hset kid='"forged"')
	everywhere '.authority.provisioners[0].key.kid = "forged"' \
		"ca.json: authority.provisioners[0].key.kid: not the key's RFC 7638 thumbprint $(KID)" "$t"
	# Another provisioner's thumbprint is no better.
	conf ".authority.provisioners[0].key.kid = \"$(jq -r .key.kid "$D/ci.prov")\""
	checked "ca.json: authority.provisioners[0].key.kid: not the key's RFC 7638 thumbprint $(KID)"
	bad 'del(.authority.provisioners[0].key.kid)' "ca.json: authority.provisioners[0].key.kid: required"
	bad '.authority.provisioners[0].key.kid = 5' \
		"ca.json: authority.provisioners[0].key.kid: must be a non-empty string"
}

# ---- every level, every type --------------------------------------------------

@test "config: fail an unknown member at each level, named by its path" {
	bad '.roots = "certs/root_ca.crt"' "ca.json: roots: unknown member"
	bad '.db.dataSrc = "db/ca.db"' "ca.json: db.dataSrc: unknown member"
	bad '.tls.minversion = 1.2' "ca.json: tls.minversion: unknown member"
	bad '.authority.backdat = "1m"' "ca.json: authority.backdat: unknown member"
	bad '.authority.policy.X509 = {}' "ca.json: authority.policy.X509: unknown member"
	# step-ca's SSH policy too: inca has no SSH certificates to apply it to.
	bad '.authority.policy.ssh = {}' "ca.json: authority.policy.ssh: unknown member"
	bad '.authority.provisioners[1].nmae = "x"' "ca.json: authority.provisioners[1].nmae: unknown member"
	bad '.authority.provisioners[0].key.kdi = "x"' "ca.json: authority.provisioners[0].key.kdi: unknown member"
	# Inside the policy, the policy's own check names the member.
	bad '.authority.policy.x509 = {"alow": {"dns": ["example.com"]}}' "policy: unknown member alow"
}

@test "config: fail a value of the wrong type, named by its path" {
	bad '.root = ["certs/root_ca.crt"]' "ca.json: root: must be a non-empty string"
	bad '.crt = ""' "ca.json: crt: must be a non-empty string"
	bad '.passwordFile = null' "ca.json: passwordFile: must be a non-empty string"
	bad '.dnsNames = []' "ca.json: dnsNames: must be a non-empty array of names"
	bad '.dnsNames = ["ca.example.com", 7]' "ca.json: dnsNames[1]: must be a non-empty string"
	bad '.db = "sqlite"' "ca.json: db: must be an object"
	bad '.db.busyTimeout = 5' 'ca.json: db.busyTimeout: a duration like "24h"'
	bad '.tls.minVersion = "1.2"' "ca.json: tls.minVersion: must be a number"
	bad '.authority = []' "ca.json: authority: must be an object"
	bad '.authority.backdate = "-1m"' 'ca.json: authority.backdate: a duration like "24h"'
	bad '.authority.claims.disableRenewal = "no"' "ca.json: authority.claims.disableRenewal: true or false"
	bad '.authority.policy = "strict"' "ca.json: authority.policy: must be an object"
	bad '.authority.provisioners = {}' "ca.json: authority.provisioners: must be an array"
	bad '.authority.provisioners[1] = "ci"' "ca.json: authority.provisioners[1]: must be an object"
	bad '.authority.provisioners[1].name = 7' "ca.json: authority.provisioners[1].name: must be a non-empty string"
	bad '.authority.provisioners[1].encryptedKey = 5' \
		"ca.json: authority.provisioners[1].encryptedKey: must be a non-empty string"
	bad '.authority.provisioners[1].claims.maxTLSCertDuration = "soon"' \
		'ca.json: authority.provisioners[1].claims.maxTLSCertDuration: a duration like "24h"'
}

@test "config: fail required members missing" {
	bad 'del(.crt)' "ca.json: crt: required"
	bad 'del(.dnsNames)' "ca.json: dnsNames: required"
	bad 'del(.db.dataSource)' "ca.json: db.dataSource: required"
	bad 'del(.authority.provisioners[1].type)' "ca.json: authority.provisioners[1].type: required"
	bad 'del(.authority.provisioners[1].name)' "ca.json: authority.provisioners[1].name: required"
}

@test "config: fail a provisioner type that is no type at all" {
	bad '.authority.provisioners[1].type = "JKW"' \
		'ca.json: authority.provisioners[1].type: unknown provisioner type "JKW"'
}

@test "config: fail a private key in the provisioner's public key" {
	bad '.authority.provisioners[0].key.d = "AAAA"' \
		"ca.json: authority.provisioners[0].key.d: private key material: only the public key belongs here"
	bad '.authority.provisioners[0].key.use = "enc"' 'ca.json: authority.provisioners[0].key.use: must be "sig"'
	bad '.authority.provisioners[0].key.alg = "RS256"' \
		'ca.json: authority.provisioners[0].key: jwk: alg "RS256" does not match the key (ES256)'
}

@test "config: fail step-ca members that are unsafe to ignore" {
	bad '.password = "correct horse"' \
		"ca.json: password: a password in clear is not read: put it in a file of mode 0600 named by passwordFile"
	bad '.kms = {"type": "pkcs11"}' 'ca.json: kms: not supported: "key" must be a key file'
}

@test "config: fail the authority's own checks through --check" {
	conf '.authority.claims.minTLSCertDuration = "48h"'
	checked "ca.json: claims need 0 < minTLSCertDuration <= defaultTLSCertDuration <= maxTLSCertDuration"
	conf '.db.type = "badgerv2"'
	checked 'unknown database type "badgerv2"'
}

@test "config: ok handlers names the sign handler's socket, relative or absolute" {
	conf '.handlers = {"sign": "run/sign.sock"}'
	run -0 --separate-stderr ca-init --check --dir "$CA"
	assert_output "$CA: ok"
	assert_equal "$stderr" ""
	mapfile -t t < <(mint -n 2)
	issued "${t[0]}" "${t[1]}" "$D/foo.csr"
	conf '.handlers = {"sign": "/run/inca/sign.sock"}'
	run -0 --separate-stderr ca-init --check --dir "$CA"
	assert_output "$CA: ok"
}

@test "config: ok handlers names the renew and revoke handlers' sockets" {
	conf '.handlers = {"sign": "run/sign.sock", "renew": "run/renew.sock", "revoke": "/run/inca/revoke.sock"}'
	run -0 --separate-stderr ca-init --check --dir "$CA"
	assert_output "$CA: ok"
	assert_equal "$stderr" ""
}

@test "config: fail handlers of an unknown kind, or not a path" {
	bad '.handlers = {"sing": "run/sign.sock"}' "ca.json: handlers.sing: unknown member"
	bad '.handlers = {"sign": ""}' "ca.json: handlers.sign: must be a non-empty string"
	bad '.handlers = {"sign": ["a.sock"]}' "ca.json: handlers.sign: must be a non-empty string"
	bad '.handlers = {"renew": ""}' "ca.json: handlers.renew: must be a non-empty string"
	bad '.handlers = {"revoke": 1}' "ca.json: handlers.revoke: must be a non-empty string"
	bad '.handlers = {"crl": "run/crl.sock"}' "ca.json: handlers.crl: unknown member"
	bad '.handlers = "run/sign.sock"' "ca.json: handlers: must be an object"
}

@test "config: fail a TLS version ca-serve does not speak" {
	bad '.tls.minVersion = 1.1' "ca.json: tls.minVersion: 1.2 or 1.3"
	bad '.tls.maxVersion = 1' "ca.json: tls.maxVersion: 1.2 or 1.3"
	bad '.tls.maxVersion = 1.4' "ca.json: tls.maxVersion: 1.2 or 1.3"
	conf '.tls.minVersion = 1.3 | .tls.maxVersion = 1.3'
	run -0 --separate-stderr ca-init --check --dir "$CA"
	assert_output "$CA: ok"
}

# ---- ignored members ------------------------------------------------------------

@test "config: ok an ignored step-ca member passes with exactly one warning" {
	conf '.logger = {"format": "json"}'
	run -0 --separate-stderr ca-init --check --dir "$CA"
	assert_output "$CA: ok"
	assert_equal "$stderr" "ca-init: ca.json: logger: ignored (a step-ca member inca does not use)"
	# The programs that use the file accept it in silence.
	mapfile -t t < <(mint -n 2)
	issued "${t[0]}" "${t[1]}" "$D/foo.csr"
	run -0 --separate-stderr ca-token --offline --dir "$CA" foo.example.com
	assert_equal "$stderr" ""
}

@test "config: ok ignored members at every level, one warning each" {
	conf '.commonName = "Step Online CA" | .db.valueDir = "x" | .tls.renegotiation = false |
	    .authority.enableAdmin = false |
	    .authority.claims.enableSSHCA = true |
	    .authority.provisioners[1].claims = {"disableSmallstepExtensions": true} |
	    .authority.provisioners[0].options = {"x509": {}} |
	    .authority.provisioners += [{"type": "acme", "name": "acme", "challenges": ["http-01"]}]'
	run -0 --separate-stderr ca-init --check --dir "$CA"
	assert_output "$CA: ok"
	# In the file's order; jq appends new members.
	assert_equal "$stderr" "ca-init: ca.json: db.valueDir: ignored (a step-ca member inca does not use)
ca-init: ca.json: authority.claims.enableSSHCA: ignored (a step-ca member inca does not use)
ca-init: ca.json: authority.provisioners[0].options: ignored (a step-ca member inca does not use)
ca-init: ca.json: authority.provisioners[1].claims.disableSmallstepExtensions: ignored (a step-ca member inca does not use)
ca-init: ca.json: authority.enableAdmin: ignored (a step-ca member inca does not use)
ca-init: ca.json: tls.renegotiation: ignored (a step-ca member inca does not use)
ca-init: ca.json: commonName: ignored (a step-ca member inca does not use)"
}

@test "config: an ACME provisioner's members are checked" {
	bad '.authority.provisioners += [{"type": "ACME", "name": "a", "challenges": ["http-01", "device-attest-01"]}]' \
		"ca.json: authority.provisioners[2].challenges[1]: http-01, dns-01 or tls-alpn-01"
	bad '.authority.provisioners += [{"type": "ACME", "name": "a", "challenges": ["dns-01", "dns-01"]}]' \
		"ca.json: authority.provisioners[2].challenges[1]: listed twice"
	bad '.authority.provisioners += [{"type": "ACME", "name": "a", "challenges": []}]' \
		"ca.json: authority.provisioners[2].challenges: must be a non-empty array of http-01, dns-01, tls-alpn-01"
	bad '.authority.provisioners += [{"type": "ACME", "name": "a", "validation": {"httpPort": 0}}]' \
		"ca.json: authority.provisioners[2].validation.httpPort: a port: an integer from 1 to 65535"
	bad '.authority.provisioners += [{"type": "ACME", "name": "a", "validation": {"tlsPort": "443"}}]' \
		"ca.json: authority.provisioners[2].validation.tlsPort: a port: an integer from 1 to 65535"
	bad '.authority.provisioners += [{"type": "ACME", "name": "a", "validation": {"timeout": "soon"}}]' \
		'ca.json: authority.provisioners[2].validation.timeout: a duration like "24h"'
	bad '.authority.provisioners += [{"type": "ACME", "name": "a", "validation": {"port": 80}}]' \
		"ca.json: authority.provisioners[2].validation.port: unknown member"
	bad '.authority.provisioners += [{"type": "ACME", "name": "a", "forceCN": "yes"}]' \
		"ca.json: authority.provisioners[2].forceCN: true or false"
	bad '.authority.provisioners += [{"type": "ACME", "name": "a", "key": {}}]' \
		"ca.json: authority.provisioners[2].key: unknown member"
	bad '.authority.provisioners += [{"type": "ACME", "name": "a", "claims": {"maxTLSCertDuration": "x"}}]' \
		'ca.json: authority.provisioners[2].claims.maxTLSCertDuration: a duration like "24h"'
	conf '.authority.provisioners += [{"type": "ACME", "name": "a", "forceCN": true, "requireEAB": false,
	    "challenges": ["tls-alpn-01"], "claims": {"defaultTLSCertDuration": "12h"},
	    "validation": {"resolver": "127.0.0.1:53", "httpPort": 8080, "tlsPort": 8443, "timeout": "5s",
	    "allow": ["127.0.0.0/8"], "deny": ["10.0.0.0/8"]}, "termsOfService": "https://ca.example/tos"}]'
	run -0 --separate-stderr ca-init --check --dir "$CA"
	assert_output "$CA: ok"
	assert_equal "$stderr" ""
}

# acme_validation JSON: the base configuration with an ACME provisioner
# whose "validation" is JSON (third provisioner: index 2).
acme_validation() {
	printf '.authority.provisioners += [{"type": "ACME", "name": "a", "validation": %s}]' "$1"
}

@test "config: fail an ACME provisioner's validation the validator would refuse, when ca.json is read" {
	local v=authority.provisioners[2].validation
	bad "$(acme_validation '{"allow": ["10.0.0.300/8"]}')" \
		"ca.json: $v.allow[0]: not an address or CIDR block"
	bad "$(acme_validation '{"allow": ["127.0.0.0/8"], "deny": ["2001:db8::g/32"]}')" \
		"ca.json: $v.deny[0]: not an address or CIDR block"
	bad "$(acme_validation '{"deny": ["ns.example"]}')" \
		"ca.json: $v.deny[0]: not an address or CIDR block"
	bad "$(acme_validation '{"allow": ["10.0.0.0/33"]}')" \
		"ca.json: $v.allow[0]: the prefix length must be 0 to 32"
	bad "$(acme_validation '{"deny": ["fd00::/129"]}')" \
		"ca.json: $v.deny[0]: the prefix length must be 0 to 128"
	bad "$(acme_validation '{"deny": ["10.0.0.0/-8"]}')" \
		"ca.json: $v.deny[0]: the prefix length must be 0 to 32"
	bad "$(acme_validation '{"allow": ["10.1.0.0/8"]}')" \
		"ca.json: $v.allow[0]: address bits set past the prefix length"
	bad "$(acme_validation '{"resolver": "127.0.0.1"}')" \
		"ca.json: $v.resolver: not HOST:PORT (an IPv6 address goes in brackets)"
	bad "$(acme_validation '{"resolver": "::1:53"}')" \
		"ca.json: $v.resolver: not HOST:PORT (an IPv6 address goes in brackets)"
	bad "$(acme_validation '{"resolver": "ns.example:53"}')" \
		"ca.json: $v.resolver: the host must be an IP address"
	bad "$(acme_validation '{"resolver": "[::1]:0"}')" \
		"ca.json: $v.resolver: the port must be 1 to 65535"
	bad "$(acme_validation '{"resolver": "127.0.0.1:65536"}')" \
		"ca.json: $v.resolver: the port must be 1 to 65535"
	bad "$(acme_validation '{"httpPort": 65536}')" \
		"ca.json: $v.httpPort: a port: an integer from 1 to 65535"
	bad "$(acme_validation '{"tlsPort": 0}')" \
		"ca.json: $v.tlsPort: a port: an integer from 1 to 65535"
	bad "$(acme_validation '{"timeout": "0s"}')" \
		"ca.json: $v.timeout: a duration from 1s to 5m, such as 10s"
	bad "$(acme_validation '{"timeout": "5m1s"}')" \
		"ca.json: $v.timeout: a duration from 1s to 5m, such as 10s"
	bad "$(acme_validation '{"timeout": "-10s"}')" \
		"ca.json: $v.timeout: a duration like \"24h\""
	bad "$(acme_validation '{"resolver": "127.0.0.1:53", "nameserver": "127.0.0.1:53"}')" \
		"ca.json: $v.nameserver: unknown member"
}

@test "config: an ACME provisioner's validation holds 24 address rules, allow and deny together; 25 are refused" {
	local allow deny
	allow=$(seq 1 12 | jq -R '"192.0.2.\(.)/32"' | jq -cs .)
	deny=$(seq 1 12 | jq -R '"198.51.100.\(.)/32"' | jq -cs .)
	conf "$(acme_validation "{\"allow\": $allow, \"deny\": $deny, \"resolver\": \"[2001:db8::53]:53\", \"timeout\": \"5m\"}")"
	run -0 --separate-stderr ca-init --check --dir "$CA"
	assert_output "$CA: ok"
	assert_equal "$stderr" ""
	deny=$(seq 1 13 | jq -R '"198.51.100.\(.)/32"' | jq -cs .)
	bad "$(acme_validation "{\"allow\": $allow, \"deny\": $deny}")" \
		"ca.json: authority.provisioners[2].validation: 25 allow and deny rules: at most 24"
}

@test "config: every ignored and refused step-ca member is named in ca.json(5)" {
	command -v mandoc >/dev/null
	text=$(mandoc -Tascii "$TOP/man/ca.json.5" | col -b)
	names=$(grep -oE 'IGNORED\("[A-Za-z0-9]+"\)|\{ "[A-Za-z0-9]+", K_REFUSED' "$TOP/lib/confcheck.c" |
	    grep -oE '"[A-Za-z0-9]+"')
	[ "$(wc -l <<<"$names")" -ge 30 ]
	missing=""
	for n in $names; do
		grep -qF -- "$n" <<<"$text" || missing="$missing $n"
	done
	assert_equal "${missing# }" ""
}

# ---- the files a home's configuration names --------------------------------------

# home: a copy of the CA home at $D/h, for a test to break.
copy_home() { rm -rf "$D/h"; cp -a "$CA" "$D/h"; }
hchecked() {
	run -4 --separate-stderr ca-init --check --dir "$D/h"
	assert_output ""
	assert_equal "$stderr" "ca-init: $1"
}

@test "config: fail --check of secrets others may read" {
	copy_home
	chmod 640 "$D/h/secrets/intermediate_ca_key"
	hchecked "$D/h/secrets/intermediate_ca_key: mode 0640 lets group or others read or write it: refusing to use it (chmod 600)"
	copy_home
	chmod 604 "$D/h/secrets/root_ca_key"
	hchecked "$D/h/secrets/root_ca_key: mode 0604 lets group or others read or write it: refusing to use it (chmod 600)"
	copy_home
	chmod 644 "$D/pw"
	hchecked "$D/pw: mode 0644 lets group or others read or write it: refusing to use it (chmod 600)"
}

@test "config: fail --check of files others may change" {
	copy_home
	chmod 664 "$D/h/config/ca.json"
	hchecked "$D/h/config/ca.json: mode 0664: group or others may write it (want 0644 or stricter)"
	copy_home
	chmod 646 "$D/h/certs/intermediate_ca.crt"
	hchecked "$D/h/certs/intermediate_ca.crt: mode 0646: group or others may write it (want 0644 or stricter)"
	copy_home
	chmod 620 "$D/h/db/ca.db"
	hchecked "$D/h/db/ca.db: mode 0620: group or others may write it (want 0644 or stricter)"
}

@test "config: fail --check of a missing file" {
	copy_home
	rm "$D/h/certs/root_ca.crt"
	hchecked "$D/h/certs/root_ca.crt: No such file or directory"
	copy_home
	rm "$D/h/db/ca.db"
	hchecked "$D/h/db/ca.db: No such file or directory"
}

@test "config: fail --check of an intermediate that is not the root's" {
	copy_home
	make_openssl_ca "$D/other"
	cp "$D/other/int.crt" "$D/h/certs/intermediate_ca.crt"
	hchecked "$D/h/certs/intermediate_ca.crt: does not chain to the root: unable to get local issuer certificate"
	# The root swapped instead: the same.
	copy_home
	cp "$D/other/root.crt" "$D/h/certs/root_ca.crt"
	hchecked "$D/h/certs/intermediate_ca.crt: does not chain to the root: unable to get local issuer certificate"
	# A root that is not self-signed.
	copy_home
	cp "$CA/certs/intermediate_ca.crt" "$D/h/certs/root_ca.crt"
	hchecked "$D/h/certs/root_ca.crt: not a self-signed root certificate"
}

@test "config: fail --check of a key that is not the intermediate's or will not decrypt" {
	copy_home
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/h/secrets/intermediate_ca_key" 2>/dev/null
	chmod 600 "$D/h/secrets/intermediate_ca_key"
	hchecked "$D/h/secrets/intermediate_ca_key: not the key of $D/h/certs/intermediate_ca.crt"
	copy_home
	printf 'wrong horse\n' >"$D/h/pw"
	chmod 600 "$D/h/pw"
	jq --arg p "$D/h/pw" '.passwordFile = $p' "$D/ca.json.base" | put_file "$D/h/config/ca.json"
	hchecked "$D/h/secrets/intermediate_ca_key: cannot decrypt key: wrong password"
}

@test "config: fail --check of certificates that do not parse" {
	copy_home
	echo junk >"$D/h/certs/root_ca.crt"
	hchecked "$D/h/certs/root_ca.crt: malformed certificate: nested asn1 error"
	copy_home
	echo junk >"$D/h/certs/intermediate_ca.crt"
	run -4 --separate-stderr ca-init --check --dir "$D/h"
	assert_regex "$stderr" "^ca-init: $D/h/certs/intermediate_ca.crt: [a-z]"
}

@test "config: fail --check of defaults.json with another root's fingerprint" {
	copy_home
	jq '.fingerprint = "00"' "$CA/config/defaults.json" >"$D/h/config/defaults.json"
	fp=$(openssl x509 -in "$CA/certs/root_ca.crt" -outform DER | sha256sum | cut -d' ' -f1)
	hchecked "$D/h/config/defaults.json: fingerprint is not the root's ($fp)"
	# A CA host without defaults.json is fine.
	rm "$D/h/config/defaults.json"
	run -0 ca-init --check --dir "$D/h"
}
