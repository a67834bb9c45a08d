#!/usr/bin/env bats
# ca-revoke online through a real ca-serve (POST /1.0/revoke relayed to
# `ca-revoke --api --offline`): with revoke tokens of the provisioner that
# issued the certificate, of another one and of an admin one; over mTLS
# with the certificate itself and with someone else's; and the CRL, from
# the CA home (--crl --offline) and from GET /1.0/crl, checked with
# openssl.  The CA is made for 127.0.0.1 and the server's port, so the
# tokens' audience and the server's certificate fit the URL.

load common

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY
	export PORT URL CA="$D/ca" ROOT="$D/ca/certs/root_ca.crt"
	PY=/usr/bin/python3
	TOKPY="$BATS_TEST_DIRNAME/helpers/tok.py"
	PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	URL="https://127.0.0.1:$PORT"
	printf 'correct horse\n' >"$D/pw"
	ca-init --dir "$CA" --password-file "$D/pw" --dns 127.0.0.1 \
		--address "127.0.0.1:$PORT" --key-iterations 2048 $(db_args) >"$D/init.json"
	# "admin" (ca-init's, not marked admin), "ci", and "ops", an admin.
	"$PY" "$TOKPY" provisioner ci "$D/pw" >"$D/ci.prov"
	"$PY" "$TOKPY" provisioner ops "$D/pw" | jq -c '.admin = true' >"$D/ops.prov"
	jq --slurpfile c "$D/ci.prov" --slurpfile o "$D/ops.prov" \
		'.authority.provisioners += $c + $o' "$CA/config/ca.json" >"$D/ca.json"
	put_file "$CA/config/ca.json" <"$D/ca.json"
	for p in admin ci ops; do
		"$PY" "$TOKPY" key "$CA/config/ca.json" "$D/pw" "$p" >"$D/$p.jwk"
	done
	for n in a1 a2 a3 a4 a5 a6 a7 a8; do issue admin "$n"; done
	for n in c1 c2; do issue ci "$n"; done
	ca-serve --dir "$CA" --listen "127.0.0.1:$PORT" \
		</dev/null >/dev/null 2>"$D/serve.log" 3>&- &
	echo $! >"$D/serve.pid"
	wait_for curl -sf --cacert "$ROOT" -o /dev/null "$URL/health"
}

teardown_file() {
	local pid
	pid=$(cat "$D/serve.pid")
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

setup() {
	unset CA_URL CA_ROOT CA_DIR
	cd "$BATS_TEST_TMPDIR"
}

# mintp PROV [tok.py mint options]: a token of provisioner PROV.
mintp() {
	local p=$1
	shift
	/usr/bin/python3 "$BATS_TEST_DIRNAME/helpers/tok.py" mint "$D/$p.jwk" \
		"$CA/config/ca.json" "$@"
}

# issue PROV NAME: $D/NAME.crt (leaf + intermediate), $D/NAME.key and
# $D/NAME.serial (decimal), issued offline with a token of PROV.
issue() {
	local p=$1 n=$2
	ca-sign --offline --dir "$CA" --token "$(mintp "$p" --sub "$n.example.com")" \
		--key-out "$D/$n.key" >"$D/$n.crt"
	BC_LINE_LENGTH=0 bc <<<"ibase=16; $(openssl x509 -in "$D/$n.crt" -noout -serial | cut -d= -f2)" >"$D/$n.serial"
}

# jti TOKEN: the token's jti claim.
jti() {
	/usr/bin/python3 -c 'import base64, json, sys
s = sys.argv[1].split(".")[1]
print(json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))["jti"])' "$1"
}

S() { cat "$D/$1.serial"; }
db() { dbq "$CA" "$@"; }
online() { ca-revoke --ca-url "$URL" --root "$ROOT" "$@"; }
rev() { db "select reason_code, reason, method, revoked_at from revocations where serial = '$1'"; }

@test "revoke online: ok with a token of the provisioner that issued the certificate" {
	t=$(mintp admin --path revoke --sub "$(S a1)")
	run -0 --separate-stderr online --token "$t" --reason-code keyCompromise --reason "key leaked" "0x$(openssl x509 -in "$D/a1.crt" -noout -serial | cut -d= -f2)"
	assert_output "{\"status\":\"ok\",\"serial\":\"$(S a1)\",\"reasonCode\":1}"
	assert_equal "$stderr" ""
	run -0 db "select reason_code, reason, method from revocations where serial = '$(S a1)'"
	assert_output "1|key leaked|token"
	run -0 db "select count(*) from used_tokens where jti = '$(jti "$t")'"
	assert_output 1
}

@test "revoke online: fail a token of another provisioner (exit 1, 403); an admin provisioner's is ok" {
	run -1 --separate-stderr online --token "$(mintp ci --path revoke --sub "$(S a2)")" "$(S a2)"
	assert_output ""
	assert_equal "$stderr" "ca-revoke: provisioner ci did not issue certificate $(S a2)"
	run -0 db "select count(*) from revocations where serial = '$(S a2)'"
	assert_output 0
	# The HTTP status itself, with curl.
	body=$(jq -nc --arg s "$(S a2)" --arg t "$(mintp ci --path revoke --sub "$(S a2)")" \
		'{serial: $s, ott: $t, reasonCode: 0, passive: true}')
	run -0 curl -s -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' --cacert "$ROOT" \
		-H 'Content-Type: application/json' --data-binary "$body" "$URL/1.0/revoke"
	assert_output 403
	assert_equal "$(cat "$BATS_TEST_TMPDIR/body")" "{\"status\":403,\"message\":\"provisioner ci did not issue certificate $(S a2)\"}"
	run -0 --separate-stderr online --token "$(mintp ops --path revoke --sub "$(S a2)")" "$(S a2)"
	run -0 --separate-stderr online --token "$(mintp ops --path revoke --sub "$(S c1)")" "$(S c1)"
	run -0 db "select count(*), min(method), max(method) from revocations where serial in ('$(S a2)', '$(S c1)')"
	assert_output "2|token|token"
}

@test "revoke online: ok over mTLS with the certificate itself; method mtls" {
	run -0 --separate-stderr online --cert "$D/a3.crt" --key "$D/a3.key" --reason-code 5 --reason "retired" "$(S a3)"
	assert_output "{\"status\":\"ok\",\"serial\":\"$(S a3)\",\"reasonCode\":5}"
	assert_equal "$stderr" ""
	run -0 db "select reason_code, reason, method from revocations where serial = '$(S a3)'"
	assert_output "5|retired|mtls"
	# curl with the certificate, as any TLS client would.
	body=$(jq -nc --arg s "$(S c2)" '{serial: $s, reasonCode: 4, passive: true}')
	run -0 curl -s -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' --cacert "$ROOT" \
		--cert "$D/c2.crt" --key "$D/c2.key" \
		-H 'Content-Type: application/json' --data-binary "$body" "$URL/1.0/revoke"
	assert_output 200
	assert_equal "$(cat "$BATS_TEST_TMPDIR/body")" '{"status":"ok"}'
	run -0 db "select reason_code, method from revocations where serial = '$(S c2)'"
	assert_output "4|mtls"
}

@test "revoke online: fail over mTLS with someone else's certificate (exit 1, 403)" {
	run -1 --separate-stderr online --cert "$D/a4.crt" --key "$D/a4.key" "$(S a5)"
	assert_output ""
	assert_equal "$stderr" "ca-revoke: a client certificate revokes only itself: serial $(S a4) is not $(S a5)"
	body=$(jq -nc --arg s "$(S a5)" '{serial: $s, passive: true}')
	run -0 curl -s -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' --cacert "$ROOT" \
		--cert "$D/a4.crt" --key "$D/a4.key" \
		-H 'Content-Type: application/json' --data-binary "$body" "$URL/revoke"
	assert_output 403
	run -0 db "select count(*) from revocations where serial in ('$(S a4)', '$(S a5)')"
	assert_output 0
}

@test "revoke online: fail neither token nor client certificate (401), passive false (400)" {
	body=$(jq -nc --arg s "$(S a5)" '{serial: $s, passive: true}')
	run -0 curl -s -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' --cacert "$ROOT" \
		-H 'Content-Type: application/json' --data-binary "$body" "$URL/1.0/revoke"
	assert_output 401
	assert_equal "$(cat "$BATS_TEST_TMPDIR/body")" '{"status":401,"message":"no client certificate and no revoke token"}'
	body=$(jq -nc --arg s "$(S a5)" '{serial: $s, passive: false}')
	run -0 curl -s -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' --cacert "$ROOT" \
		--cert "$D/a5.crt" --key "$D/a5.key" \
		-H 'Content-Type: application/json' --data-binary "$body" "$URL/1.0/revoke"
	assert_output 400
	assert_equal "$(cat "$BATS_TEST_TMPDIR/body")" '{"status":400,"message":"only passive revocation is supported"}'
	run -0 db "select count(*) from revocations where serial = '$(S a5)'"
	assert_output 0
}

@test "revoke online: fail double revocation (exit 1), the first record kept; not found (exit 1)" {
	run -0 --separate-stderr online --cert "$D/a6.crt" --key "$D/a6.key" --reason "first" "$(S a6)"
	first=$(rev "$(S a6)")
	sleep 1
	run -1 --separate-stderr online --token "$(mintp admin --path revoke --sub "$(S a6)")" --reason-code 4 --reason second "$(S a6)"
	assert_equal "$stderr" "ca-revoke: certificate $(S a6) already revoked"
	assert_equal "$(rev "$(S a6)")" "$first"
	assert_equal "${first%|*}" "0|first|mtls"
	run -1 --separate-stderr online --token "$(mintp ops --path revoke --sub 424242)" 424242
	assert_equal "$stderr" "ca-revoke: certificate 424242 not found"
}

@test "revoke online: fail usage and reachability: no proof (2), 7 (2), CA down (5)" {
	run -2 --separate-stderr online "$(S a7)"
	assert_equal "$stderr" "ca-revoke: online revocation needs a revoke token (--token, --token-file) or the certificate itself (--cert, --key)"
	run -2 --separate-stderr online --cert "$D/a7.crt" --key "$D/a7.key" --reason-code 7 "$(S a7)"
	assert_equal "$stderr" "ca-revoke: --reason-code 7: 0..10 but not 7, or an RFC 5280 name such as keyCompromise"
	port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	run -5 --separate-stderr ca-revoke --ca-url "https://127.0.0.1:$port" --root "$ROOT" \
		--cert "$D/a7.crt" --key "$D/a7.key" "$(S a7)"
	assert_output ""
	[[ $stderr == "ca-revoke: CA unreachable: https://127.0.0.1:$port/1.0/revoke: "?* ]]
	run -0 db "select count(*) from revocations where serial = '$(S a7)'"
	assert_output 0
}

# ---- the CRL ------------------------------------------------------------------

@test "revoke online: ok --crl offline and online: signed by the intermediate, every revoked serial with its reason" {
	run -0 --separate-stderr online --cert "$D/a8.crt" --key "$D/a8.key" --reason-code superseded "$(S a8)"
	run -0 --separate-stderr ca-revoke --crl --offline --dir "$CA" --pem --out "$D/off.crl"
	assert_output ""
	assert_equal "$stderr" ""
	run -0 openssl crl -in "$D/off.crl" -CAfile "$CA/certs/intermediate_ca.crt" -noout
	assert_output --partial "verify OK"
	want=$(db "select serial || ' ' || case reason_code when 0 then '-' when 1 then 'Key Compromise' when 4 then 'Superseded' when 5 then 'Cessation Of Operation' end from revocations" | sort)
	assert_equal "$(crl_entries "$D/off.crl")" "$want"
	# Online: DER by default, PEM with --pem; the same CRL, as nothing was revoked since.
	run -0 --separate-stderr online --crl --out "$D/on.der"
	assert_equal "$stderr" ""
	run -0 openssl crl -inform DER -in "$D/on.der" -out "$D/on.crl"
	assert_equal "$(crl_entries "$D/on.crl")" "$want"
	assert_equal "$(openssl crl -in "$D/on.crl" -noout -crlnumber)" "$(openssl crl -in "$D/off.crl" -noout -crlnumber)"
	online --crl --pem >"$D/on2.crl"
	cmp "$D/on.crl" "$D/on2.crl"
	[ "$(stat -c %a "$D/off.crl")" = 644 ]
	# A relying party that checks the CRL refuses the revoked certificate.
	cat "$ROOT" "$CA/certs/intermediate_ca.crt" "$D/on.crl" >"$D/store.pem"
	openssl x509 -in "$D/a8.crt" -out "$D/a8.leaf"
	run -2 openssl verify -crl_check -CAfile "$D/store.pem" "$D/a8.leaf"
	assert_output --partial "certificate revoked"
	openssl x509 -in "$D/a7.crt" -out "$D/a7.leaf"
	run -0 openssl verify -crl_check -CAfile "$D/store.pem" "$D/a7.leaf"
}

@test "revoke online: fail --crl usage errors (exit 2)" {
	run -2 --separate-stderr ca-revoke --crl --offline --dir "$CA" 12
	assert_equal "$stderr" "ca-revoke: unexpected argument: 12 (--crl takes no SERIAL)"
	run -2 --separate-stderr ca-revoke --crl --offline --dir "$CA" --reason x
	assert_equal "$stderr" "ca-revoke: --crl takes only --pem, --out, --offline, --dir, --ca-url and --root"
	run -2 --separate-stderr ca-revoke --crl --offline --dir "$CA" --ca-url "$URL"
	assert_equal "$stderr" "ca-revoke: --ca-url and --root are for the online CA, not with --offline or --api"
	run -2 --separate-stderr ca-revoke --out x --offline --dir "$CA" 12
	assert_equal "$stderr" "ca-revoke: --pem and --out go with --crl"
}

# fill FROM TO: certificates FROM..TO of a made-up kind, all revoked (reason
# keyCompromise), with serials of 20 octets, so each CRL entry takes 53
# bytes.  Straight into the database, in its backend's SQL: issuing 79,000
# would take too long.
fill() {
	if pg_test; then
		db "INSERT INTO certs (serial, issued_at, not_before, not_after,
		    subject, sans, provisioner, renewed_from, der)
		SELECT '1' || lpad(i::text, 47, '0'), extract(epoch from now())::bigint,
		    extract(epoch from now())::bigint - 60,
		    extract(epoch from now())::bigint + 86400, 'bulk', '[]', 'admin',
		    NULL, (SELECT der FROM certs LIMIT 1) FROM generate_series($1, $2) i;
		INSERT INTO revocations (serial, revoked_at, reason_code, reason, method)
		SELECT serial, extract(epoch from now())::bigint, 1, NULL, 'offline'
		FROM certs WHERE subject = 'bulk'
		AND serial NOT IN (SELECT serial FROM revocations);"
		return
	fi
	sqlite3 "$CA/db/ca.db" <<-SQL
	WITH RECURSIVE n(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
	INSERT INTO certs (serial, issued_at, not_before, not_after, subject,
	    sans, provisioner, renewed_from, der)
	SELECT '1' || printf('%047d', i), strftime('%s', 'now'),
	    strftime('%s', 'now') - 60, strftime('%s', 'now') + 86400, 'bulk',
	    '[]', 'admin', NULL, (SELECT der FROM certs LIMIT 1) FROM n;
	INSERT INTO revocations (serial, revoked_at, reason_code, reason, method)
	SELECT serial, strftime('%s', 'now'), 1, NULL, 'offline' FROM certs
	WHERE subject = 'bulk' AND serial NOT IN (SELECT serial FROM revocations);
	SQL
}

# Last in the file: it leaves a CRL too large to make.
@test "revoke online: ok a CRL within one entry of CA_MAX_CRL (4 MiB) travels every path; past it, exit 4 naming the limit" {
	local max=4194304 s m t k
	fill 1 78900
	s=$(ca-revoke --crl --offline --dir "$CA" | wc -c)
	assert [ "$s" -lt "$max" ]
	# As many more as fit, with 4 bytes to spare for the signature's
	# length (an ECDSA signature's DER varies by a byte or two).
	m=$(((max - 4 - s) / 53))
	fill 78901 $((78900 + m))
	run -0 ca-revoke --crl --ca-url "$URL" --root "$ROOT" --out "$D/big.der"
	t=$(wc -c <"$D/big.der")
	assert [ "$t" -le "$max" ]
	assert [ "$t" -gt $((max - 60)) ]
	openssl crl -inform DER -in "$D/big.der" -out "$D/big.pem"
	cat "$CA/certs/intermediate_ca.crt" "$ROOT" >"$D/chain.pem"
	run -0 openssl crl -in "$D/big.pem" -noout -CAfile "$D/chain.pem"
	assert_output --partial "verify OK"
	n=$(db 'select count(*) from revocations')
	assert [ "$n" -gt 79000 ]
	assert_equal "$(openssl crl -in "$D/big.pem" -noout -text | grep -c 'Serial Number:')" "$n"
	# The PEM form (over CA_MAX_PEM by far) from ca-serve, and the tools
	# that read CRLs.
	curl -sSf --cacert "$ROOT" -o "$D/big2.pem" "$URL/1.0/crl?pem"
	assert_equal "$(openssl crl -in "$D/big2.pem" -outform DER | cmp - "$D/big.der" && echo same)" same
	run -0 --separate-stderr ca-inspect "$D/big2.pem"
	assert_equal "$(jq '.revoked | length' <<<"$output")" "$n"
	# a8 was revoked above (superseded); one never revoked is still good.
	run -1 --separate-stderr ca-verify --root "$ROOT" --crl "$D/big.der" "$D/a8.crt"
	assert_regex "$stderr" "revoked"
	local good=""
	for c in a1 a2 a3 a4 a5 a6 a7 c1 c2; do
		[ "$(db "select count(*) from revocations where serial = '$(S $c)'")" = 0 ] && good=$c
	done
	assert [ -n "$good" ]
	run -0 --separate-stderr ca-verify --root "$ROOT" --crl "$D/big.der" "$D/$good.crt"
	# Past the limit: made nowhere, offline or online, and said why.
	k=$(((max - t) / 53 + 2))
	fill $((78901 + m)) $((78900 + m + k))
	run -4 --separate-stderr ca-revoke --crl --offline --dir "$CA"
	assert_output ""
	assert_regex "$stderr" "^ca-revoke: the CRL of $((n + k)) entries would be [0-9]+ bytes, over the limit of $max \(CA_MAX_CRL\)$"
	run -4 --separate-stderr ca-revoke --crl --ca-url "$URL" --root "$ROOT"
	assert_output ""
	assert_regex "$stderr" "over the limit of $max \(CA_MAX_CRL\)"
}
