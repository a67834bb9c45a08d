#!/usr/bin/env bats
# Two CA hosts on one PostgreSQL database, each a real ca-serve: host A
# serves the CA home $CA, host B a copy of it (as a second machine gets
# it: the same keys, the same ca.json, so the same database).  Both
# answer for https://ca.example.com:9443, as two hosts behind one name
# would; curl's --connect-to sends a request to the one a test chooses.
# Under a bounded concurrent load of sign, renew and revoke on both:
# serials never repeat, a token is spent once whichever host gets it, a
# revocation on one host refuses renewals on the other at once, and every
# certificate a client received is its row, byte for byte.
#
# PostgreSQL only: a cluster of this file's own (tests/pg.sh), whatever
# INCA_TEST_DB says.

load common
load helpers/authority

RENEWTOK="$BATS_TEST_DIRNAME/helpers/renewtok.py"
URL=https://ca.example.com:9443

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY
	PGD=$(mktemp -d /tmp/inca-pghosts.XXXXXX)
	export PGD
	sh "$TOP/tests/pg.sh" start "$PGD"
	export INCA_TEST_DB=postgresql INCA_PG_DIR="$PGD"
	CA_SERVE=0 make_ca
	export HB="$D/hostb"
	cp -a "$CA" "$HB"
	start_host A "$CA"
	start_host B "$HB"
}

teardown_file() {
	local h p
	for h in A B; do
		[ -f "$D/pid.$h" ] || continue
		p=$(cat "$D/pid.$h")
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	sh "$TOP/tests/pg.sh" stop "$PGD"
}

# start_host NAME HOME: ca-serve --listen for HOME on a free port
# ($D/port.NAME), its pid in $D/pid.NAME, its log in $D/serve.NAME.log.
start_host() {
	local port
	port=$(free_port)
	ca-serve --dir "$2" --listen "127.0.0.1:$port" \
		</dev/null >/dev/null 2>>"$D/serve.$1.log" 3>&- &
	echo $! >"$D/pid.$1"
	echo "$port" >"$D/port.$1"
	wait_for port_open "$port"
}

# call HOST PATH OUT [curl options...]: a POST to $URL/PATH sent to host
# HOST (A or B); the status in OUT.st, the body in OUT.body.  At most 60
# seconds: a request that hangs is a failure (status 000), not a hung test.
call() {
	local h=$1 p=$2 out=$3
	shift 3
	curl -sS --max-time 60 --cacert "$CA/certs/root_ca.crt" \
		--connect-to "ca.example.com:9443:127.0.0.1:$(cat "$D/port.$h")" \
		-H 'Content-Type: application/json' -o "$out.body" \
		-w '%{http_code}\n' "$@" "$URL$p" >"$out.st" 2>"$out.err" || true
}

# sign HOST TOKEN CSR OUT / renew_mtls HOST NAME OUT / renew_tok HOST NAME
# OUT / revoke_tok HOST NAME OUT / revoke_mtls HOST NAME OUT: the requests.
sign() {
	api_request "$2" "$3" >"$4.req"
	call "$1" /1.0/sign "$4" --data-binary @"$4.req"
}
renew_mtls() {
	call "$1" /1.0/renew "$3" --cert "$D/$2.crt" --key "$D/$2.key" --data-binary ''
}
renew_tok() {
	call "$1" /1.0/renew "$3" --data-binary '' \
		-H "Authorization: Bearer $("$PY" "$RENEWTOK" "$D/$2.crt" "$D/$2.key" "$URL/1.0/renew")"
}
revoke_tok() {
	call "$1" /1.0/revoke "$3" --data-binary "{\"serial\":\"$(S "$2")\",\"ott\":\"$(mint --path revoke --sub "$(S "$2")")\",\"reasonCode\":1,\"passive\":true}"
}
revoke_mtls() {
	call "$1" /1.0/revoke "$3" --cert "$D/$2.crt" --key "$D/$2.key" \
		--data-binary "{\"serial\":\"$(S "$2")\",\"reasonCode\":4,\"passive\":true}"
}
st() { cat "$1.st"; }
body() { cat "$1.body"; }

# issue NAME: a certificate for NAME.example.com issued offline on host A:
# $D/NAME.crt (leaf and intermediate), $D/NAME.key, $D/NAME.serial.
issue() {
	ca-sign --offline --dir "$CA" --token "$(mint --sub "$1.example.com")" \
		--key-out "$D/$1.key" >"$D/$1.crt"
	serial_of "$D/$1.crt" >"$D/$1.serial"
}
S() { cat "$D/$1.serial"; }

# der_hex PEM: the first certificate of PEM as upper-case DER hex, as
# hex(der) prints it.
der_hex() { openssl x509 -in "$1" -outform DER | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F; }

# received OUT...: each OUT.body that is a 201 answer, its certificate in
# OUT.pem; prints the paths of those PEM files.
received() {
	local o
	for o in "$@"; do
		[ "$(st "$o")" = 201 ] || continue
		jq -r .crt "$o.body" >"$o.pem"
		echo "$o.pem"
	done
}

# all_rows FILE: every certificate row as "SERIAL HEX-DER" lines in FILE.
all_rows() { db "select serial || ' ' || hex(der) from certs" >"$1"; }

@test "pg_hosts: ok both hosts are copies of one CA home on one PostgreSQL database" {
	assert_equal "$(jq -r .db.type "$HB/config/ca.json")" postgresql
	assert_equal "$(jq -r .db.dataSource "$HB/config/ca.json")" "$(jq -r .db.dataSource "$CA/config/ca.json")"
	refute [ "$(cat "$D/port.A")" = "$(cat "$D/port.B")" ]
	# A certificate issued through A is listed by B's home at once.
	csr one one.example.com dns:one.example.com
	sign A "$(mint --sub one.example.com)" "$D/one.csr" "$BATS_TEST_TMPDIR/one"
	assert_equal "$(st "$BATS_TEST_TMPDIR/one")" 201
	jq -r .crt "$BATS_TEST_TMPDIR/one.body" >"$BATS_TEST_TMPDIR/one.pem"
	s=$(serial_of "$BATS_TEST_TMPDIR/one.pem")
	run -0 --separate-stderr ca-list --dir "$HB"
	assert_equal "$stderr" ""
	assert_equal "$(jq -r "select(.serial == \"$s\") | .subject" <<<"$output")" one.example.com
}

@test "pg_hosts: ok one token sent 20 times in parallel to both hosts over HTTPS: exactly one certificate, its row" {
	local o=$BATS_TEST_TMPDIR/par i h t jti rows0 pem
	csr par par.example.com dns:par.example.com
	t=$(mint --sub par.example.com)
	jti=$(claims "$t" | jq -r .jti)
	rows0=$(rows)
	mkdir "$o"
	for i in $(seq 20); do
		h=A
		[ $((i % 2)) = 0 ] || h=B
		sign "$h" "$t" "$D/par.csr" "$o/$i" 3>&- &
	done
	wait
	assert_equal "$(cat "$o"/*.st | grep -cx 201)" 1
	assert_equal "$(cat "$o"/*.st | grep -cx 401)" 19
	for i in $(seq 20); do
		[ "$(st "$o/$i")" = 201 ] ||
			assert_equal "$(body "$o/$i")" '{"status":401,"message":"token already used"}'
	done
	# Both hosts refused it: spent on one, it is spent for the other.
	assert [ "$(grep -lx 401 "$o"/{1,3,5,7,9,11,13,15,17,19}.st | wc -l)" -ge 9 ]
	assert [ "$(grep -lx 401 "$o"/{2,4,6,8,10,12,14,16,18,20}.st | wc -l)" -ge 9 ]
	assert_equal "$(rows)" "$(($(cut -d' ' -f1 <<<"$rows0") + 1)) $(($(cut -d' ' -f2 <<<"$rows0") + 1))"
	run -0 db "select count(*) from used_tokens where jti = '$jti'"
	assert_output 1
	# The one certificate is its row, byte for byte.
	pem=$(received "$o"/{1..20})
	run -0 db "select hex(der) from certs where serial = '$(serial_of "$pem")'"
	assert_output "$(der_hex "$pem")"
}

@test "pg_hosts: fail a revocation on one host refuses renewals on the other, over mTLS and by renewal token (403)" {
	local o=$BATS_TEST_TMPDIR/x rows0
	mkdir "$o"
	# Revoked by a token through A: B refuses both ways of renewing.
	issue ra
	renew_mtls B ra "$o/before"
	assert_equal "$(st "$o/before")" 201
	revoke_tok A ra "$o/rev"
	assert_equal "$(st "$o/rev")" 200
	assert_equal "$(body "$o/rev")" '{"status":"ok"}'
	rows0=$(rows)
	renew_mtls B ra "$o/m"
	assert_equal "$(st "$o/m")" 403
	assert_equal "$(body "$o/m")" "{\"status\":403,\"message\":\"certificate $(S ra) is revoked\"}"
	renew_tok B ra "$o/t"
	assert_equal "$(st "$o/t")" 403
	assert_equal "$(body "$o/t")" "{\"status\":403,\"message\":\"certificate $(S ra) is revoked\"}"
	# Nor does A, where it was revoked.
	renew_tok A ra "$o/ta"
	assert_equal "$(st "$o/ta")" 403
	assert_equal "$(rows)" "$rows0"
	run -0 db "select reason_code, method from revocations where serial = '$(S ra)'"
	assert_output "1|token"
	# Revoked over mTLS through B: A refuses both ways.
	issue rb
	renew_tok A rb "$o/before2"
	assert_equal "$(st "$o/before2")" 201
	revoke_mtls B rb "$o/rev2"
	assert_equal "$(st "$o/rev2")" 200
	rows0=$(rows)
	renew_mtls A rb "$o/m2"
	assert_equal "$(st "$o/m2")" 403
	assert_equal "$(body "$o/m2")" "{\"status\":403,\"message\":\"certificate $(S rb) is revoked\"}"
	renew_tok A rb "$o/t2"
	assert_equal "$(st "$o/t2")" 403
	assert_equal "$(body "$o/t2")" "{\"status\":403,\"message\":\"certificate $(S rb) is revoked\"}"
	assert_equal "$(rows)" "$rows0"
	run -0 db "select reason_code, method from revocations where serial = '$(S rb)'"
	assert_output "4|mtls"
	# The second revocation of either, on the other host, is refused.
	revoke_tok B ra "$o/again"
	assert_equal "$(st "$o/again")" 403
	assert_equal "$(body "$o/again")" "{\"status\":403,\"message\":\"certificate $(S ra) already revoked\"}"
	revoke_tok A rb "$o/again2"
	assert_equal "$(st "$o/again2")" 403
	assert_equal "$(body "$o/again2")" "{\"status\":403,\"message\":\"certificate $(S rb) already revoked\"}"
	run -0 db "select reason_code, method from revocations where serial = '$(S ra)'"
	assert_output "1|token"
}

@test "pg_hosts: ok sign, renew and revoke at once on both hosts: no serial twice, each token spent once, every certificate received is its row" {
	local o=$BATS_TEST_TMPDIR/load i h n pids=() p pems rows0 signs=24 race rseq ok=0 refused=0 tok_ok=0
	mkdir "$o"
	for i in $(seq 6); do issue "m$i"; issue "k$i"; issue "v$i"; done
	issue race
	race=$(S race)
	csr load load.example.com dns:load.example.com
	mint --sub load.example.com -n "$signs" >"$D/load.toks"
	mapfile -t toks <"$D/load.toks"
	# The order in which rows reach the database, one sequence for
	# both hosts: every renewal of race, and every revocation.
	db "CREATE TABLE ev (seq bigserial PRIMARY KEY, kind text, serial text);
	    CREATE FUNCTION ev_renew() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
	      IF NEW.renewed_from = '$race' THEN INSERT INTO ev (kind, serial) VALUES ('renew', NEW.serial); END IF;
	      RETURN NEW; END \$\$;
	    CREATE TRIGGER ev_renew AFTER INSERT ON certs FOR EACH ROW EXECUTE FUNCTION ev_renew();
	    CREATE FUNCTION ev_revoke() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
	      INSERT INTO ev (kind, serial) VALUES ('revoke', NEW.serial); RETURN NEW; END \$\$;
	    CREATE TRIGGER ev_revoke AFTER INSERT ON revocations FOR EACH ROW EXECUTE FUNCTION ev_revoke();"
	rows0=$(rows)
	# 24 signs, 6 renewals over mTLS, 6 by renewal token, 6 revocations,
	# and 10 renewals of race on B racing its revocation on A: 53
	# requests, all at once, half to each host.
	for i in $(seq "$signs"); do
		h=A
		[ $((i % 2)) = 0 ] || h=B
		sign "$h" "${toks[$((i - 1))]}" "$D/load.csr" "$o/s$i" 3>&- &
		pids+=($!)
	done
	for i in $(seq 6); do
		h=A
		[ $((i % 2)) = 0 ] || h=B
		renew_mtls "$h" "m$i" "$o/m$i" 3>&- &
		pids+=($!)
		renew_tok "$h" "k$i" "$o/k$i" 3>&- &
		pids+=($!)
		revoke_tok "$h" "v$i" "$o/v$i" 3>&- &
		pids+=($!)
	done
	for i in $(seq 10); do
		if [ $((i % 2)) = 0 ]; then
			renew_mtls B race "$o/r$i" 3>&- &
		else
			renew_tok B race "$o/r$i" 3>&- &
		fi
		pids+=($!)
		[ "$i" != 5 ] || { revoke_tok A race "$o/vrace" 3>&- & pids+=($!); }
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	db "DROP TRIGGER ev_renew ON certs; DROP TRIGGER ev_revoke ON revocations; DROP FUNCTION ev_renew(); DROP FUNCTION ev_revoke();"
	# Every request answered as it should be.
	for i in $(seq "$signs"); do
		assert_equal "s$i $(st "$o/s$i")" "s$i 201"
	done
	for i in $(seq 6); do
		assert_equal "m$i $(st "$o/m$i")" "m$i 201"
		assert_equal "k$i $(st "$o/k$i")" "k$i 201"
		assert_equal "v$i $(st "$o/v$i")" "v$i 200"
	done
	assert_equal "$(st "$o/vrace")" 200
	for i in $(seq 10); do
		case $(st "$o/r$i") in
		201) ok=$((ok + 1))
		     [ $((i % 2)) = 0 ] || tok_ok=$((tok_ok + 1)) ;;
		403) refused=$((refused + 1))
		     assert_equal "$(body "$o/r$i")" "{\"status\":403,\"message\":\"certificate $race is revoked\"}" ;;
		*) fail "renewal r$i of race: $(st "$o/r$i") $(body "$o/r$i") $(cat "$o/r$i.err")" ;;
		esac
	done
	# No renewal of race reached the database after its revocation did.
	rseq=$(db "select seq from ev where kind = 'revoke' and serial = '$race'")
	assert_equal "$(db "select count(*) from ev where kind = 'renew' and seq > $rseq")" 0
	assert_equal "$(db "select count(*) from ev where kind = 'renew'")" "$ok"
	assert_equal "$(db "select count(*) from ev where kind = 'revoke'")" 7
	db "DROP TABLE ev"
	# What the clients received: distinct serials, each its row, byte for byte.
	mapfile -t pems < <(received $(for f in "$o"/[smkr]*.st; do echo "${f%.st}"; done))
	n=$((signs + 12 + ok))
	assert_equal "${#pems[@]}" "$n"
	for p in "${pems[@]}"; do serial_of "$p"; done >"$o/serials"
	assert_equal "$(sort "$o/serials" | uniq -d)" ""
	assert_equal "$(sort -u "$o/serials" | wc -l)" "$n"
	all_rows "$o/rows"
	for p in "${pems[@]}"; do
		grep -qFx "$(serial_of "$p") $(der_hex "$p")" "$o/rows" ||
			fail "$p: no row with its serial and bytes"
	done
	# The renewals name what they renewed.
	# (not under run, which sets a global i of its own)
	for i in $(seq 6); do
		assert_equal "$(db "select renewed_from from certs where serial = '$(serial_of "$o/m$i.pem")'")" "$(S "m$i")"
		assert_equal "$(db "select renewed_from from certs where serial = '$(serial_of "$o/k$i.pem")'")" "$(S "k$i")"
		assert_equal "$(db "select reason_code, method from revocations where serial = '$(S "v$i")'")" "1|token"
	done
	# Nothing more was recorded than was answered: one row per certificate
	# received; a spent token per sign, revocation and renewal by token
	# that succeeded (a refusal spends none).
	assert_equal "$(rows)" "$(($(cut -d' ' -f1 <<<"$rows0") + n)) $(($(cut -d' ' -f2 <<<"$rows0") + signs + 6 + 6 + 1 + tok_ok))"
	for t in "${toks[@]}"; do
		jti_used "$(claims "$t" | jq -r .jti)" || fail "a sign token not spent"
	done
}
