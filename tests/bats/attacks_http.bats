#!/usr/bin/env bats
# The offline attacks replayed over HTTP.  Each request that
# attacks_tokens.bats, attacks_der.bats (the requests) and
# attacks_names.bats refuse offline is a row of a table below, and one
# helper (both_ways) sends it both ways: to `ca-sign --offline`, and as the
# same JSON to a real ca-serve, at POST /sign and POST /1.0/sign.  The
# verdict must be the same: the exit code offline, the HTTP status ca-serve
# maps it to (http_status below), the same message on stderr and in the
# body, and nothing recorded either way.

load common
load helpers/authority

FORGE="$BATS_TEST_DIRNAME/helpers/der_forge.py"

# pem LABEL DER: the bytes as one PEM block, untouched.
pem() {
	printf -- '-----BEGIN %s-----\n' "$1"
	base64 -w 64 "$2"
	printf -- '-----END %s-----\n' "$1"
}

# forge NAME SRC EDIT...: $D/NAME.csr, the request $D/SRC.der edited and
# signed again with its key (helpers/der_forge.py, as attacks_der.bats).
forge() {
	local n=$1 src=$2
	shift 2
	/usr/bin/python3 "$FORGE" "$D/$src.der" "$D/$n.der" --key "$D/req.key" "$@"
	pem "CERTIFICATE REQUEST" "$D/$n.der" >"$D/$n.csr"
}

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY
	CA_SERVE=0 make_ca
	# attacks_names.bats's policy; it denies none of the other files' names.
	jq '.authority.policy.x509 = {"deny": {"dns": ["*.evil.t"], "ip": ["127.0.0.0/8"], "email": ["root@corp.t"]}}' \
		"$D/ca.json.orig" | put_file "$CA/config/ca.json"
	start_ca_serve
	# attacks_names.bats's requests.
	csr a "" dns:a.t
	csr evil x.evil.t dns:x.evil.t
	csr lo 127.0.0.1 ip:127.0.0.1
	csr wild '*.a.t' 'dns:*.a.t'
	csr cnsp "x.evil.t " dns:a.t
	csr cnesc $'x.evil.t\e[0m' dns:a.t
	csr cnip 127.1 dns:a.t
	csr cnstar '*' dns:a.t
	csr root "" email:ROOT@corp.t
	csr mailto a.t dns:a.t uri:mailto:root@t.example
	csr badpuny "" dns:xn--zz.corp.t
	csr badpunyuri a.t dns:a.t uri:https://xn--zz.corp.t/
	csr bar "" dns:bar.example.com
	csr foo foo.example.com dns:foo.example.com
	# attacks_der.bats's requests, made the same way (the byte offsets in
	# the messages depend on it), and its forgeries.
	local k="$D/req.key"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k" 2>/dev/null
	openssl req -new -key "$k" -subj /CN=foo.example.com \
		-addext subjectAltName=DNS:foo.example.com \
		-addext basicConstraints=critical,CA:FALSE -outform DER -out "$D/csr.der"
	openssl req -new -key "$k" -subj "/CN=foo.example.com+O=zzz" -multivalue-rdn \
		-outform DER -out "$D/mv.der"
	printf '%s\n' '[req]' 'distinguished_name=dn' 'attributes=at' 'req_extensions=ex' \
		'prompt=no' '[dn]' 'CN=foo.example.com' '[at]' 'challengePassword=abcdefgh' \
		'unstructuredName=zzz' '[ex]' 'subjectAltName=DNS:foo.example.com' >"$D/two.cnf"
	openssl req -new -key "$k" -config "$D/two.cnf" -outform DER -out "$D/two.der"
	forge outer-indef csr indef:
	forge outer-long csr longlen:
	forge info-indef csr indef:0
	forge subject-long csr longlen:0.1
	forge rdn-indef csr indef:0.1.0
	forge spki-long csr longlen:0.2
	forge spki-alg-indef csr indef:0.2.0
	forge attrs-long csr longlen:0.3
	forge extval-long csr longlen:0.3.0.1.0.0.1
	forge san-inner-long csr hex:0.3.0.1.0.0.1:308111820f666f6f2e6578616d706c652e636f6d
	forge bool01 csr bool01:0.3.0.1.0.1.1
	forge crit-false csr false:0.3.0.1.0.0
	forge bc-false csr hex:0.3.0.1.0.1.2:3003010100
	forge rdn-order mv swap:0.1.0
	forge attr-order two swap:0.3
	/usr/bin/python3 "$FORGE" "$D/csr.der" "$D/trail.der" trailing
	pem "CERTIFICATE REQUEST" "$D/trail.der" >"$D/trail.csr"
}

# post PATH: the request in $BATS_TEST_TMPDIR/req.json POSTed to the
# file's ca-serve (or the one on port $SPORT) at https://ca.example.com:9443PATH (the tokens'
# audience; connected to 127.0.0.1 and the server's port); prints the
# status, the body in $BATS_TEST_TMPDIR/body.  More curl options may
# follow PATH; CTYPE replaces the Content-Type (application/json).
post() {
	local p=$1
	shift
	curl -sS --cacert "$D/serve-root.crt" \
		--connect-to "ca.example.com:9443:127.0.0.1:${SPORT:-$(cat "$D/serve.port")}" \
		-H "Content-Type: ${CTYPE:-application/json}" \
		--data-binary @"$BATS_TEST_TMPDIR/req.json" \
		-o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' \
		"$@" "https://ca.example.com:9443$p"
}

# http_status CODE: the statuses ca-serve answers for an exit code: a
# refusal is 401 (the token) or 403 (what it asks for), or 500 when the
# reason is the CA's own (the password of its key is wrong), which no
# client can mend.
http_status() {
	case $1 in
	1) echo "401 403 500" ;;
	2 | 3) echo 400 ;;
	4) echo 500 ;;
	5) echo 503 ;;
	*) echo "no status for exit $1" ;;
	esac
}

# norm: stdin through the sed -E script $MSG_SED, if any.
norm() {
	if [ -n "${MSG_SED-}" ]; then sed -E "$MSG_SED"; else cat; fi
}

# both_ways CODE STATUS MESSAGE TOKEN CSRFILE [NOTBEFORE [NOTAFTER]]: the
# request refused offline with exit CODE and "ca-sign: MESSAGE" alone on
# stderr, and over HTTP at /sign and /1.0/sign with STATUS (one that CODE
# maps to) and the body {"status":STATUS,"message":MESSAGE}; no
# certificate and no spent token after any of them (a refused token is
# not spent, so the three share it).  MESSAGE "*": whatever the offline
# refusal says, which HTTP must then say too; MSG_SED, a sed -E script,
# is applied to both messages first (a time in them has moved on).
# ROWS_EACH=0: the caller counts the rows instead, once for many cases
# (each count is two processes and a query).
both_ways() {
	local code=$1 st=$2 msg=$3 path rows0
	shift 3
	[ "${ROWS_EACH-1}" = 0 ] || rows0=$(rows)
	run -"$code" --separate-stderr cli_sign "$@"
	assert_output ""
	if [ "$msg" = "*" ]; then
		assert_regex "$stderr" '^ca-sign: .'
		assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
		msg=$(norm <<<"${stderr#ca-sign: }")
	fi
	msg_seen=$msg
	assert_equal "$(norm <<<"$stderr")" "ca-sign: $msg"
	assert_regex " $(http_status "$code") " " $st "
	api_request "$@" >"$BATS_TEST_TMPDIR/req.json"
	for path in /sign /1.0/sign; do
		run -0 --separate-stderr post "$path"
		assert_equal "$stderr" ""
		assert_equal "$output" "$st"
		output=$(norm <"$BATS_TEST_TMPDIR/body")
		assert_api_error "$st" "$msg"
	done
	[ "${ROWS_EACH-1}" = 0 ] || assert_equal "$(rows)" "$rows0"
}

# replay N: the table on stdin, one case a line, fields separated by '|':
#   NAME|CODE|STATUS|CSR|NOTBEFORE|MINT ARGUMENTS|MESSAGE
# CSR is $D/CSR.csr; MINT ARGUMENTS are helpers/tok.py's, in shell
# quoting (empty: a token for foo.example.com); MESSAGE runs to the end
# of the line.  Each case goes through both_ways; its name is printed
# first, so that a failure shows which case it was.  There must be N
# cases, and no certificate or spent token more after them.
replay() {
	local want=$1 name code st csr nb margs msg tok n=0 rows0
	rows0=$(rows)
	while IFS='|' read -r name code st csr nb margs msg; do
		echo "case: $name"
		eval "tok=\$(mint $margs)"
		ROWS_EACH=0 both_ways "$code" "$st" "$msg" "$tok" "$D/$csr.csr" $nb
		n=$((n + 1))
	done
	assert_equal "$n cases" "$want cases"
	# Nothing recorded by any of them, offline or over HTTP.
	assert_equal "$(rows)" "$rows0"
}

# replay_fails N: replay N on the table on stdin fails (in a subshell of
# its own, where a failed assertion stops it as in a test).
replay_fails() {
	local st=0
	cat >"$BATS_TEST_TMPDIR/table"
	(replay "$1") <"$BATS_TEST_TMPDIR/table" >"$BATS_TEST_TMPDIR/replay.out" 2>&1 &
	wait $! || st=$?
	[ "$st" -ne 0 ]
}

teardown() {
	[ -f "$BATS_TEST_TMPDIR/changed.pid" ] || return 0
	kill "$(cat "$BATS_TEST_TMPDIR/changed.pid")" 2>/dev/null || true
}

# ---- attacks_tokens.bats ---------------------------------------------------

@test "http: attacks_tokens cases, offline and over HTTP: the same verdicts" {
	replay 2 <<'EOF'
notBefore 2030 for a 5-minute token|1|403|foo|2030-01-01T00:00:00Z||notBefore is more than 24h ahead (maxNotBeforeDelay)
notBefore 25h ahead|1|403|foo|25h||notBefore is more than 24h ahead (maxNotBeforeDelay)
EOF
}

@test "http: a token spent before a clock ran a day ahead is refused both ways" {
	local t1 t2
	t1=$(mint)
	run -0 --separate-stderr cli_sign "$t1" "$D/foo.csr"
	t2=$(mint --set iat=now+86400 --set nbf=now+86400 --set exp=now+86700)
	run -0 --separate-stderr faketime -f +1d ca-sign --offline --dir "$CA" --token "$t2" <"$D/foo.csr"
	both_ways 1 401 "token already used" "$t1" "$D/foo.csr"
	# And one spent over HTTP is refused offline.
	t1=$(mint)
	api_request "$t1" "$D/foo.csr" >"$BATS_TEST_TMPDIR/req.json"
	run -0 --separate-stderr post /sign
	assert_output 201
	both_ways 1 401 "token already used" "$t1" "$D/foo.csr"
}

@test "http: spent sign and revoke tokens stay spent over HTTP when a host sharing the database runs six days ahead" {
	local t1 rt serial path
	t1=$(mint)
	run -0 --separate-stderr cli_sign "$t1" "$D/foo.csr"
	serial=$(serial_of <(printf '%s\n' "$output"))
	rt=$(mint --path revoke --sub "$serial")
	run -0 --separate-stderr ca-revoke --offline --dir "$CA" --token "$rt" "$serial"
	# Another host, six days ahead (within the retention), issues.
	run -0 --separate-stderr faketime -f +6d ca-sign --offline --dir "$CA" \
		--token "$(mint --set iat=now+518400 --set nbf=now+518400 --set exp=now+518700)" <"$D/foo.csr"
	both_ways 1 401 "token already used" "$t1" "$D/foo.csr"
	# The revoke token: offline, and at /revoke and /1.0/revoke.
	run -1 --separate-stderr ca-revoke --offline --dir "$CA" --token "$rt" "$serial"
	assert_output ""
	assert_equal "$stderr" "ca-revoke: token already used"
	printf '{"serial":"%s","ott":"%s"}\n' "$serial" "$rt" >"$BATS_TEST_TMPDIR/req.json"
	for path in /revoke /1.0/revoke; do
		run -0 --separate-stderr post "$path"
		assert_equal "$stderr" ""
		assert_equal "$output" 401
		output=$(cat "$BATS_TEST_TMPDIR/body")
		assert_api_error 401 "token already used"
	done
}

# set_conf JQ: the home's ca.json, as made, changed by JQ.
set_conf() {
	jq "$1" "$D/ca.json.orig" | put_file "$CA/config/ca.json"
}

# The home changed between requests, as attacks_tokens.bats changes it: a
# copy, served by a ca-serve of its own with a handler per connection
# (--handlers 0), which reads the home afresh for each request as the
# offline program does.  SQLite only: the last case empties the file.
# bats test_tags=sqlite
@test "http: attacks_tokens cases on a changed home, a handler per request: the same verdicts" {
	cp -a "$CA" "$D/changed"
	export CA="$D/changed" SPORT
	SPORT=$(free_port)
	ca-serve --dir "$CA" --listen "127.0.0.1:$SPORT" --handlers 0 \
		</dev/null >/dev/null 2>>"$D/serve-changed.log" 3>&- &
	echo $! >"$BATS_TEST_TMPDIR/changed.pid"
	wait_for port_open "$SPORT"
	# A bad claim or key in ca.json, a bound lowered, a wrong password.
	set_conf '.authority.maxTokenLifetime = "0s"'
	both_ways 4 500 'ca.json: authority.maxTokenLifetime: a duration above zero, like "1h"' \
		"$(mint)" "$D/foo.csr"
	set_conf '.authority.maxTokenLifetime = "soon"'
	both_ways 4 500 'ca.json: authority.maxTokenLifetime: a duration like "24h"' \
		"$(mint)" "$D/foo.csr"
	set_conf '.authority.claims.maxNotBeforeDelay = "1h"'
	both_ways 1 403 "notBefore is more than 1h ahead (maxNotBeforeDelay)" \
		"$(mint)" "$D/foo.csr" 2h
	set_conf '.authority.provisioners[0].key.alg = "ES384"'
	both_ways 4 500 "*" "$(mint)" "$D/foo.csr"
	assert_regex "$msg_seen" '^ca.json: authority.provisioners\[0\].key: jwk: alg "ES384" does not match the key \(ES256\)'
	printf 'wrong horse\n' >"$D/wrongpw"
	set_conf ".passwordFile = \"$D/wrongpw\""
	both_ways 1 500 "signing key: $CA/secrets/intermediate_ca_key: cannot decrypt key: wrong password" \
		"$(mint)" "$D/foo.csr"
	# A clock eight days ahead made the database forget spent tokens:
	# this host's clock, behind it, fails closed both ways.
	set_conf .
	local t1 t2
	t1=$(mint)
	run -0 --separate-stderr cli_sign "$t1" "$D/foo.csr"
	t2=$(mint --set iat=now+691200 --set nbf=now+691200 --set exp=now+691500)
	run -0 --separate-stderr faketime -f +8d ca-sign --offline --dir "$CA" --token "$t2" <"$D/foo.csr"
	local now="s/this host's clock \\([^)]*\\)/this host's clock (now)/"
	MSG_SED=$now both_ways 4 500 "*" "$t1" "$D/foo.csr"
	assert_regex "$msg_seen" "^clock: this host's clock \(.*\) is before .*, up to which a clock further ahead had the database forget spent tokens"
	MSG_SED=$now both_ways 4 500 "*" "$(mint)" "$D/foo.csr"
	assert_regex "$msg_seen" "^clock: this host's clock \(now\) is before "
	# The database emptied: refused, not given a fresh schema.
	rm -f "$CA/db/ca.db-wal" "$CA/db/ca.db-shm"
	: >"$CA/db/ca.db"
	ROWS_EACH=0 both_ways 4 500 \
		"database $CA/db/ca.db has no CA schema: it is empty or was replaced, and only ca-init creates one (nothing was changed)" \
		"$(mint)" "$D/foo.csr"
	assert_equal "$(stat -c %s "$CA/db/ca.db")" 0
}

# ---- attacks_der.bats ------------------------------------------------------

@test "http: attacks_der request cases, offline and over HTTP: the same verdicts" {
	replay 16 <<'EOF'
outer SEQUENCE indefinite|3|400|outer-indef|||csr: not DER (indefinite length at byte 0)
outer SEQUENCE long length|3|400|outer-long|||csr: not DER (non-minimal length at byte 0)
info indefinite|3|400|info-indef|||csr: not DER (indefinite length at byte 4)
subject long length|3|400|subject-long|||csr: not DER (non-minimal length at byte 10)
RDN indefinite|3|400|rdn-indef|||csr: not DER (indefinite length at byte 12)
SPKI long length|3|400|spki-long|||csr: not DER (non-minimal length at byte 38)
algorithm indefinite|3|400|spki-alg-indef|||csr: not DER (indefinite length at byte 40)
attributes long length|3|400|attrs-long|||csr: not DER (non-minimal length at byte 129)
extension value long length|3|400|extval-long|||csr: not DER (non-minimal length at byte 155)
SAN long length inside the value|3|400|san-inner-long|||csr: not DER (extension 2.5.29.17: non-minimal length at byte 0)
critical BOOLEAN 01|3|400|bool01|||csr: not DER (BOOLEAN not 00 or FF at byte 183)
critical FALSE written out|3|400|crit-false|||csr: not DER (extension 2.5.29.17: critical FALSE written out)
cA FALSE written out|3|400|bc-false|||csr: not DER (extension 2.5.29.19: encodes differently: a default value written out)
multi-valued RDN out of order|3|400|rdn-order|||csr: not DER (SET elements out of order at byte 37)
attributes SET OF out of order|3|400|attr-order|||csr: not DER (encodes differently: a default value written out, or a SET OF out of order)
a byte after the request|3|400|trail|||malformed certificate request
EOF
}

# ---- attacks_names.bats ----------------------------------------------------

@test "http: attacks_names subject cases, offline and over HTTP: the same verdicts" {
	replay 22 <<'EOF'
CN trailing space|1|403|a||--set sub='"x.evil.t "' --set sans='["a.t"]'|token rejected: subject is not a name: x.evil.t : control, space or non-ASCII character in name
CN leading space|1|403|a||--set sub='" x.evil.t"' --set sans='["a.t"]'|token rejected: subject is not a name:  x.evil.t: control, space or non-ASCII character in name
CN tab|1|403|a||--set sub='"x.evil.t\t"' --set sans='["a.t"]'|token rejected: subject is not a name: x.evil.t?: control, space or non-ASCII character in name
CN VT|1|403|a||--set sub='"x.evil.t\u000b"' --set sans='["a.t"]'|token rejected: subject is not a name: x.evil.t?: control, space or non-ASCII character in name
CN DEL|1|403|a||--set sub='"x.evil.t\u007f"' --set sans='["a.t"]'|token rejected: subject is not a name: x.evil.t?: control, space or non-ASCII character in name
CN CR|1|403|a||--set sub='"x.evil.t\r"' --set sans='["a.t"]'|token rejected: subject is not a name: x.evil.t?: control, space or non-ASCII character in name
CN ESC|1|403|a||--set sub='"x.evil.t\u001b[0m"' --set sans='["a.t"]'|token rejected: subject is not a name: x.evil.t?[0m: control, space or non-ASCII character in name
CN and SAN with a space|1|403|evil||--set sub='"x.evil.t "' --set sans='["x.evil.t "]'|token rejected: x.evil.t : control, space or non-ASCII character in name
CN 127.1|1|403|a||--set sub='"127.1"' --set sans='["a.t"]'|token rejected: subject is not a name: 127.1: ambiguous name (looks like an IP address)
CN 0x7f.1|1|403|a||--set sub='"0x7f.1"' --set sans='["a.t"]'|token rejected: subject is not a name: 0x7f.1: ambiguous name (looks like an IP address)
CN 017700000001|1|403|a||--set sub='"017700000001"' --set sans='["a.t"]'|token rejected: subject is not a name: 017700000001: ambiguous name (looks like an IP address)
CN 127.0.1|1|403|a||--set sub='"127.0.1"' --set sans='["a.t"]'|token rejected: subject is not a name: 127.0.1: ambiguous name (looks like an IP address)
CN 0177.0.0.1|1|403|a||--set sub='"0177.0.0.1"' --set sans='["a.t"]'|token rejected: subject is not a name: 0177.0.0.1: ambiguous name (looks like an IP address)
subject alice not a SAN|1|403|a||--sub alice --set sans='["a.t"]'|token rejected: subject alice is not one of its sans
subject x.evil.t not a SAN|1|403|a||--sub x.evil.t --set sans='["a.t"]'|token rejected: subject x.evil.t is not one of its sans
subject 127.0.0.1 not a SAN|1|403|a||--sub 127.0.0.1 --set sans='["a.t"]'|token rejected: subject 127.0.0.1 is not one of its sans
subject with a type prefix|1|403|a||--set sub='"dns:a.t"' --set sans='["a.t"]'|token rejected: subject dns:a.t is not one of its sans
wildcard without allowWildcardNames|1|403|wild||--sub '*.a.t' --set sans='["*.a.t"]'|policy: wildcard name *.a.t is not allowed
wildcard subject not a SAN|1|403|a||--sub '*.a.t' --set sans='["a.t"]'|token rejected: subject *.a.t is not one of its sans
subject *|1|403|a||--set sub='"*"' --set sans='["a.t"]'|token rejected: subject is not a name: *: '*' only as the whole first label
subject *.t|1|403|a||--set sub='"*.t"' --set sans='["a.t"]'|token rejected: subject is not a name: *.t: wildcard needs at least two labels
subject with a zone identifier|1|403|a||--set sub='"fe80::1%eth0"' --set sans='["a.t"]'|token rejected: subject is not a name: fe80::1%eth0: IPv6 address with a zone identifier
EOF
}

@test "http: attacks_names SAN and policy cases, offline and over HTTP: the same verdicts" {
	replay 26 <<'EOF'
SAN 127.1|1|403|a||--sub a.t --set sans='["a.t","127.1"]'|token rejected: 127.1: ambiguous name (looks like an IP address)
SAN ip:127.1|1|403|a||--sub a.t --set sans='["a.t","ip:127.1"]'|token rejected: 127.1: not an IP address
SAN 0x7f.1|1|403|a||--sub a.t --set sans='["a.t","0x7f.1"]'|token rejected: 0x7f.1: ambiguous name (looks like an IP address)
SAN ip:0x7f.1|1|403|a||--sub a.t --set sans='["a.t","ip:0x7f.1"]'|token rejected: 0x7f.1: not an IP address
SAN 017700000001|1|403|a||--sub a.t --set sans='["a.t","017700000001"]'|token rejected: 017700000001: ambiguous name (looks like an IP address)
SAN ip:017700000001|1|403|a||--sub a.t --set sans='["a.t","ip:017700000001"]'|token rejected: 017700000001: not an IP address
denied 127.0.0.1|1|403|lo||--sub 127.0.0.1 --set sans='["127.0.0.1"]'|policy: ip name 127.0.0.1 is denied
denied 127.0.0.1 as ::ffff:127.0.0.1|1|403|lo||--sub 127.0.0.1 --set sans='["::ffff:127.0.0.1"]'|policy: ip name 127.0.0.1 is denied
denied X.EVIL.T|1|403|evil||--sub x.evil.t --set sans='["X.EVIL.T"]'|policy: dns name x.evil.t is denied
denied x.evil.t.|1|403|evil||--sub x.evil.t --set sans='["x.evil.t."]'|policy: dns name x.evil.t is denied
denied X.Evil.T.|1|403|evil||--sub x.evil.t --set sans='["X.Evil.T."]'|policy: dns name x.evil.t is denied
denied dns:X.EVIL.T.|1|403|evil||--sub x.evil.t --set sans='["dns:X.EVIL.T."]'|policy: dns name x.evil.t is denied
denied subject X.EVIL.T.|1|403|evil||--sub X.EVIL.T. --set sans='["x.evil.t"]'|policy: dns name x.evil.t is denied
request CN with a space|1|403|cnsp||--sub a.t --set sans='["a.t"]'|certificate request common name x.evil.t  is not one of the token's sans
request CN with ESC|1|403|cnesc||--sub a.t --set sans='["a.t"]'|certificate request common name x.evil.t?[0m is not one of the token's sans
request CN 127.1|1|403|cnip||--sub a.t --set sans='["a.t"]'|certificate request common name 127.1 is not one of the token's sans
request CN *|1|403|cnstar||--sub a.t --set sans='["a.t"]'|certificate request common name * is not one of the token's sans
request names differ|1|403|bar||--sub a.t --set sans='["a.t"]'|certificate request names differ from the token's sans: not in the token: dns:bar.example.com; not in the request: dns:a.t
email ROOT@corp.t|1|403|root||--sub ROOT@corp.t --set sans='["ROOT@corp.t"]'|policy: email name ROOT@corp.t is denied
email Root@Corp.T.|1|403|root||--sub ROOT@Corp.T --set sans='["ROOT@Corp.T."]'|policy: email name ROOT@corp.t is denied
quoted local part|1|403|a||--sub a.t --set sans='["a.t","\"root\"@corp.t"]'|token rejected: "root"@corp.t: quoted email local part
quoted local part with a space|1|403|a||--sub a.t --set sans='["a.t","\"ro ot\"@corp.t"]'|token rejected: "ro ot"@corp.t: control, space or non-ASCII character in name
comment in the local part|1|403|a||--sub a.t --set sans='["a.t","root(admin)@corp.t"]'|token rejected: root(admin)@corp.t: bad character in email local part
comment in the domain|1|403|a||--sub a.t --set sans='["a.t","root@(x)corp.t"]'|token rejected: root@(x)corp.t: malformed email domain
leading dot|1|403|a||--sub a.t --set sans='["a.t",".root@corp.t"]'|token rejected: .root@corp.t: misplaced '.' in email local part
email: quoted local part|1|403|a||--sub a.t --set sans='["a.t","email:\"root\"@corp.t"]'|token rejected: "root"@corp.t: quoted email local part
EOF
}

@test "http: attacks_names URI, IPv6, punycode and audience cases, offline and over HTTP: the same verdicts" {
	local aud="https://ca.example.com:9443/1.0/sign"
	replay 31 <<EOF
mailto: without a prefix|1|403|mailto||--sub a.t --set sans='["a.t","mailto:root@t.example"]'|token rejected: mailto:root@t.example: ambiguous name (a URI or an email address: write uri: or email:)
fragment with an @|1|403|a||--sub a.t --set sans='["a.t","https://bad.t#@a.t"]'|token rejected: https://bad.t#@a.t: ambiguous name (a URI or an email address: write uri: or email:)
uri: with a fragment|1|403|a||--sub a.t --set sans='["a.t","uri:https://bad.t#@a.t"]'|token rejected: https://bad.t#@a.t: URI with a fragment
uri: with a plain fragment|1|403|a||--sub a.t --set sans='["a.t","uri:https://a.t/#x"]'|token rejected: https://a.t/#x: URI with a fragment
userinfo without a prefix|1|403|a||--sub a.t --set sans='["a.t","https://u@x.evil.t/"]'|token rejected: https://u@x.evil.t/: ambiguous name (a URI or an email address: write uri: or email:)
uri: with userinfo|1|403|a||--sub a.t --set sans='["a.t","uri:https://u@x.evil.t/"]'|token rejected: https://u@x.evil.t/: URI with userinfo
email: a URI|1|403|a||--sub a.t --set sans='["a.t","email:https://bad.t#@a.t"]'|token rejected: https://bad.t#@a.t: bad character in email local part
zone identifier|1|403|a||--sub a.t --set sans='["a.t","fe80::1%eth0"]'|token rejected: fe80::1%eth0: IPv6 address with a zone identifier
ip: zone identifier|1|403|a||--sub a.t --set sans='["a.t","ip:fe80::1%eth0"]'|token rejected: fe80::1%eth0: IPv6 address with a zone identifier
zone identifier %25|1|403|a||--sub a.t --set sans='["a.t","fe80::1%25eth0"]'|token rejected: fe80::1%25eth0: IPv6 address with a zone identifier
uri: zone identifier|1|403|a||--sub a.t --set sans='["a.t","uri:fe80::1%eth0"]'|token rejected: fe80::1%eth0: bad percent-encoding in URI
fe80::zz|1|403|a||--sub a.t --set sans='["a.t","fe80::zz"]'|token rejected: fe80::zz: ambiguous name (an IP address or a URI: write ip: or uri:)
URI IP literal with a zone|1|403|a||--sub a.t --set sans='["a.t","https://[fe80::1%25eth0]/"]'|token rejected: https://[fe80::1%25eth0]/: bad IP literal in URI
A-label xn--zz|1|403|a||--sub a.t --set sans='["a.t","xn--zz.corp.t"]'|token rejected: xn--zz.corp.t: invalid A-label (punycode)
A-label XN--ZZ|1|403|a||--sub a.t --set sans='["a.t","XN--ZZ.corp.t"]'|token rejected: xn--zz.corp.t: invalid A-label (punycode)
A-label xn--a|1|403|a||--sub a.t --set sans='["a.t","xn--a.corp.t"]'|token rejected: xn--a.corp.t: invalid A-label (punycode)
A-label disallowed code point|1|403|a||--sub a.t --set sans='["a.t","xn--ls8h.corp.t"]'|token rejected: xn--ls8h.corp.t: invalid A-label (punycode)
A-label xn--abc-|1|403|a||--sub a.t --set sans='["a.t","xn--abc-.corp.t"]'|token rejected: xn--abc-.corp.t: label starts or ends with '-'
A-label xn--a-|1|403|a||--sub a.t --set sans='["a.t","xn--a-.corp.t"]'|token rejected: xn--a-.corp.t: label starts or ends with '-'
A-label last|1|403|a||--sub a.t --set sans='["a.t","a.xn--zz"]'|token rejected: a.xn--zz: invalid A-label (punycode)
A-label xn--zz--|1|403|a||--sub a.t --set sans='["a.t","xn--zz--.corp.t"]'|token rejected: xn--zz--.corp.t: label starts or ends with '-'
A-label xn--|1|403|a||--sub a.t --set sans='["a.t","xn--.corp.t"]'|token rejected: xn--.corp.t: label starts or ends with '-'
A-label in a URI host|1|403|badpunyuri||--sub a.t --set sans='["a.t","https://xn--zz.corp.t/"]'|token rejected: https://xn--zz.corp.t/: bad URI host
A-label in an email domain|1|403|a||--sub a.t --set sans='["a.t","ops@xn--zz.corp.t"]'|token rejected: ops@xn--zz.corp.t: malformed email domain
A-label in the request|3|400|badpuny||--sub a.t --set sans='["a.t"]'|certificate request: xn--zz.corp.t: invalid A-label (punycode)
aud [1, aud]|1|401|a||--sub a.t --set sans='["a.t"]' --set aud='[1,"$aud"]'|token rejected: audience mismatch (not a sign token for this CA)
aud [aud, null]|1|401|a||--sub a.t --set sans='["a.t"]' --set aud='["$aud",null]'|token rejected: audience mismatch (not a sign token for this CA)
aud [aud, {}]|1|401|a||--sub a.t --set sans='["a.t"]' --set aud='["$aud",{}]'|token rejected: audience mismatch (not a sign token for this CA)
aud [[aud]]|1|401|a||--sub a.t --set sans='["a.t"]' --set aud='[["$aud"]]'|token rejected: audience mismatch (not a sign token for this CA)
aud []|1|401|a||--sub a.t --set sans='["a.t"]' --set aud='[]'|token rejected: audience mismatch (not a sign token for this CA)
aud {a: aud}|1|401|a||--sub a.t --set sans='["a.t"]' --set aud='{"a":"$aud"}'|token rejected: audience mismatch (not a sign token for this CA)
EOF
}

@test "http: the replay can fail: a verdict that differs is caught" {
	# The right verdict passes; the same case with another message,
	# status or exit code does not, nor a table short of a case.
	local ok="right|1|403|a||--sub alice --set sans='[\"a.t\"]'|token rejected: subject alice is not one of its sans"
	replay 1 <<<"$ok"
	replay_fails 1 <<<"${ok%alice*}bob is not one of its sans"
	replay_fails 1 <<<"${ok/|403|/|401|}"
	replay_fails 1 <<<"${ok/|1|/|3|}"
	replay_fails 2 <<<"$ok"
	# The statuses ca-serve gives for each exit code.
	assert_equal "$(http_status 1)" "401 403 500"
	assert_equal "$(http_status 3)" 400
	assert_equal "$(http_status 4)" 500
	assert_equal "$(http_status 5)" 503
}

# ---- request bytes never quoted ---------------------------------------------

# unquoted WHERE: none of the secrets of the test ($M, a password-like
# marker; $T, a whole valid token; its first 60 characters, as much of it
# as a truncated message would hold; its signature) is in WHERE.
unquoted() {
	refute grep -qF -e "$M" -e "$T" -e "${T:0:60}" -e "${T##*.}" "$1"
}

@test "http: a token or password in malformed JSON or a malformed token is quoted nowhere: not in the answer, ca-serve's log or the handler's stderr" {
	M="pw-$(openssl rand -hex 12)"
	T=$(mint --sub foo.example.com)
	csrj=$(jq -Rs . <"$D/foo.csr")
	: >"$BATS_TEST_TMPDIR/bodies"
	# Malformed JSON around them, each way jansson's text would quote
	# the token at fault: a string where ':' belongs, a bare word, a
	# duplicate key, a string cut by the end, an invalid escape, a raw
	# newline, data after the object.
	printf '%s\n' "{\"csr\": $csrj, \"ott\" \"$T\"}" "{\"ott\" \"$M\"}" \
		"{\"csr\": $csrj, \"ott\": $M}" "{\"csr\": $csrj, \"ott\": $T}" \
		"{\"$M\": 1, \"$M\": 2}" "{\"ott\": \"$T\", \"$T\": 1, \"$T\": 2}" \
		"{\"csr\": $csrj, \"ott\": \"$T" "{\"ott\": \"$M\\uzz\"}" \
		"{\"ott\": \"$M" >"$BATS_TEST_TMPDIR/cases"
	printf '%s\n' "{\"ott\": \"$T\"} $M" >>"$BATS_TEST_TMPDIR/cases"
	# A client certificate, for /1.0/rekey (the one route of the renew
	# handler that reads a body).
	ca-sign --offline --dir "$CA" --token "$(mint --sub foo.example.com)" \
		--key-out "$BATS_TEST_TMPDIR/c.key" >"$BATS_TEST_TMPDIR/c.crt"
	rows0=$(rows)
	log0=$(wc -c <"$D/serve.log")
	n=0
	while IFS= read -r body; do
		n=$((n + 1))
		echo "case $n"
		printf '%s' "$body" >"$BATS_TEST_TMPDIR/req.json"
		for path in /1.0/sign /sign /1.0/revoke /1.0/rekey; do
			run -0 --separate-stderr post "$path" \
				--cert "$BATS_TEST_TMPDIR/c.crt" --key "$BATS_TEST_TMPDIR/c.key"
			assert_equal "$path $output" "$path 400"
			assert_regex "$(cat "$BATS_TEST_TMPDIR/body")" '^\{"status":400,"message":"request: malformed JSON: [a-zA-Z -]+ at byte [0-9]+"\}$'
			unquoted "$BATS_TEST_TMPDIR/body"
		done
		# ACME's route parses the body the same way; its problem
		# document quotes nothing either.
		CTYPE=application/jose+json run -0 --separate-stderr post /acme/acme/new-account
		assert_equal "acme $output" "acme 400"
		assert_regex "$(cat "$BATS_TEST_TMPDIR/body")" '"detail": *"malformed JSON: [a-zA-Z -]+ at byte [0-9]+"'
		unquoted "$BATS_TEST_TMPDIR/body"
		# The handler itself, given the same bytes on its own socket
		# or stdin: its answer and its stderr.
		# (The handler frames a stream: the last case is an object, then
		# a value that is not one.)
		run -3 --separate-stderr ca-sign --api --offline --dir "$CA" <"$BATS_TEST_TMPDIR/req.json"
		for l in "${lines[@]}"; do
			assert_regex "$l" '^\{"status":400,"message":"request: [a-zA-Z :-]+( at byte [0-9]+)?"\}$'
		done
		assert_regex "${lines[-1]}" 'request: malformed JSON: '
		printf '%s\n' "$output" "$stderr" >"$BATS_TEST_TMPDIR/handler.out"
		unquoted "$BATS_TEST_TMPDIR/handler.out"
	done <"$BATS_TEST_TMPDIR/cases"
	assert_equal "$n" 10
	# A raw newline inside a string.
	printf '{"ott": "%s\n%s"}' "$M" "$T" >"$BATS_TEST_TMPDIR/req.json"
	run -0 --separate-stderr post /1.0/sign
	assert_equal "$output" 400
	assert_equal "$(cat "$BATS_TEST_TMPDIR/body")" "{\"status\":400,\"message\":\"request: malformed JSON: invalid syntax at byte $((9 + ${#M}))\"}"
	unquoted "$BATS_TEST_TMPDIR/body"
	# Tokens whose signed segments are malformed JSON quoting the marker:
	# the claims (a string where ':' belongs, a bare word, a duplicate
	# claim) and the header, as a sign token, a revoke token and a
	# renewal token (Authorization: Bearer).
	for margs in "--craw '\"sub\" \"$M\"'" "--craw '$M'" "--craw '\"$M\":1,\"$M\":2'" \
		"--hraw '\"kid\" \"$M\"'"; do
		eval "bad=\$(mint --sub foo.example.com $margs)"
		api_request "$bad" "$D/foo.csr" >"$BATS_TEST_TMPDIR/req.json"
		run -0 --separate-stderr post /1.0/sign
		assert_equal "$output" 401
		assert_regex "$(cat "$BATS_TEST_TMPDIR/body")" '^\{"status":401,"message":"token rejected: jws: (header|payload): invalid JSON: [a-zA-Z -]+ at byte [0-9]+"\}$'
		unquoted "$BATS_TEST_TMPDIR/body"
		jq -nc --arg t "$bad" '{serial: "1", ott: $t, passive: true}' >"$BATS_TEST_TMPDIR/req.json"
		run -0 --separate-stderr post /1.0/revoke
		assert_equal "$output" 401
		unquoted "$BATS_TEST_TMPDIR/body"
		run -0 curl -sS --cacert "$D/serve-root.crt" \
			--connect-to "ca.example.com:9443:127.0.0.1:$(cat "$D/serve.port")" \
			-X POST -H 'Content-Length: 0' -H "Authorization: Bearer $bad" \
			-o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' https://ca.example.com:9443/1.0/renew
		assert_output 401
		assert_regex "$(cat "$BATS_TEST_TMPDIR/body")" 'invalid JSON: [a-zA-Z -]+ at byte [0-9]+"\}$'
		unquoted "$BATS_TEST_TMPDIR/body"
		# Offline, the same token: stderr.
		run -3 --separate-stderr cli_sign "$bad" "$D/foo.csr"
		printf '%s\n' "$output" "$stderr" >"$BATS_TEST_TMPDIR/cli.out"
		assert_regex "$stderr" '^ca-sign: token rejected: jws: (header|payload): invalid JSON: [a-zA-Z -]+ at byte [0-9]+$'
		unquoted "$BATS_TEST_TMPDIR/cli.out"
	done
	# ca-serve's log of all of it (its handlers' stderr joins it).
	tail -c +"$((log0 + 1))" "$D/serve.log" >"$BATS_TEST_TMPDIR/log"
	unquoted "$BATS_TEST_TMPDIR/log"
	assert_equal "$(rows)" "$rows0"
}
