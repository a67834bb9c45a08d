#!/usr/bin/env bats
# The PostgreSQL backend against a real server: a cluster of this file's
# own (tests/pg.sh), since one test stops it under running programs.
# Several hosts are several copies of one CA home, sharing its database.

load common
load helpers/authority

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	PGD=$(mktemp -d /tmp/inca-pgbats.XXXXXX)
	export PGD
	sh "$TOP/tests/pg.sh" start "$PGD"
	export INCA_TEST_DB=postgresql INCA_PG_DIR="$PGD"
	CA_SERVE=0 make_ca
	csr foo foo.example.com dns:foo.example.com
}

teardown_file() {
	stop_ca_serve
	sh "$TOP/tests/pg.sh" stop "$PGD"
}

# The server is up again after a test that failed while it was down.
teardown() {
	[ -e "$PGD/data/postmaster.pid" ] || sh "$TOP/tests/pg.sh" up "$PGD"
}

schema_version() { sed -n 's/^#define DB_SCHEMA_VERSION[[:space:]]*\([0-9]*\)$/\1/p' "$TOP/lib/db.h"; }
url() { jq -r .db.dataSource "$1/config/ca.json"; }
# copy_home NAME: another host of the same CA: the same home, so the same
# database.
copy_home() { rm -rf "${D:?}/$1"; cp -a "$CA" "$D/$1"; }

@test "pg: ok ca-init --db keeps the CA's records in PostgreSQL, nothing in db/" {
	assert_equal "$(jq -r .db.type "$CA/config/ca.json")" postgresql
	assert_regex "$(url "$CA")" '^postgresql:///inca\?host='
	run -0 find "$CA/db" -type f
	assert_output ""
	run -0 db "select subject, provisioner from certs"
	assert_output "ca.example.com|admin"
	run -0 db "select version from schema_version"
	assert_output "$(schema_version)"
	run -0 --separate-stderr ca-list --dir "$CA"
	assert_equal "$(jq -r .subject <<<"$output")" ca.example.com
}

@test "pg: fail ca-init --db on a database that already holds a CA schema (exit 4), nothing made" {
	rows0=$(rows)
	run -4 --separate-stderr ca-init --dir "$D/second" --password-file "$D/pw" --db "$(url "$CA")"
	assert_output ""
	assert_regex "$stderr" "^ca-init: database postgresql .* already holds a CA schema \(version $(schema_version)\): a new CA starts with an empty database; give another one, or keep that database's CA \(nothing was changed\)$"
	assert [ ! -e "$D/second" ]
	assert_equal "$(rows)" "$rows0"
}

@test "pg: fail a password in --db or in ca.json (exit 4), never repeated" {
	msg="ca.json: db.dataSource holds a password: keep it in a password file (PGPASSFILE, ~/.pgpass) or a service file instead"
	run -4 --separate-stderr ca-init --dir "$D/pw1" --password-file "$D/pw" --db "postgresql://postgres:hunter2@localhost/x"
	assert_equal "$stderr" "ca-init: $msg"
	assert [ ! -e "$D/pw1" ]
	copy_home pw2
	jq --arg u "host=$PGD user=postgres dbname=inca password=hunter2" '.db.dataSource = $u' "$CA/config/ca.json" | put_file "$D/pw2/config/ca.json"
	run -4 --separate-stderr ca-list --dir "$D/pw2"
	assert_equal "$stderr" "ca-list: $msg"
}

@test "pg: fail --db that names no PostgreSQL database (exit 2)" {
	run -2 --separate-stderr ca-init --dir "$D/nopg" --password-file "$D/pw" --db db/ca.db
	assert_equal "$stderr" "ca-init: --db: a postgresql:// URI or a conninfo string (\"host=... dbname=...\")"
	assert [ ! -e "$D/nopg" ]
}

@test "pg: usage --migrate and --db take only --dir, --check neither, and --migrate's --db names PostgreSQL (exit 2)" {
	cp "$CA/config/ca.json" "$D/usage.json"
	run -2 --separate-stderr ca-init --migrate --dir "$CA" --name other
	assert_output ""
	assert_equal "$stderr" "ca-init: --migrate and --db takes only --dir"
	run -2 --separate-stderr ca-init --migrate --dir "$CA" --db "$(url "$CA")" --key-iterations 2048
	assert_equal "$stderr" "ca-init: --migrate and --db takes only --dir"
	run -2 --separate-stderr ca-init --check --dir "$CA" --db "$(url "$CA")"
	assert_equal "$stderr" "ca-init: --check takes only --dir"
	run -2 --separate-stderr ca-init --check --migrate --dir "$CA"
	assert_equal "$stderr" "ca-init: --check takes only --dir"
	run -2 --separate-stderr ca-init --migrate --dir "$CA" --db db/ca.db
	assert_output ""
	assert_equal "$stderr" "ca-init: --db: a postgresql:// URI or a conninfo string (\"host=... dbname=...\")"
	run -0 cmp "$CA/config/ca.json" "$D/usage.json"
}

@test "pg: fail ca-revoke, ca-renew and ca-init --migrate with the server down (exit 5), nothing changed" {
	cli_sign "$(mint)" "$D/foo.csr" >"$D/down.pem"
	s=$(serial_of "$D/down.pem")
	cp "$CA/config/ca.json" "$D/down.json"
	rows0=$(rows)
	sh "$TOP/tests/pg.sh" down "$PGD"
	run -5 --separate-stderr ca-revoke --offline --dir "$CA" --reason-code 1 "$s"
	assert_output ""
	assert_regex "$stderr" '^ca-revoke: database unavailable'
	run -5 --separate-stderr ca-renew --offline --dir "$CA" --cert "$D/down.pem"
	assert_output ""
	assert_regex "$stderr" '^ca-renew: database unavailable'
	run -5 --separate-stderr ca-init --migrate --dir "$CA"
	assert_output ""
	assert_regex "$stderr" '^ca-init: database unavailable'
	sh "$TOP/tests/pg.sh" up "$PGD"
	assert_equal "$(rows)" "$rows0"
	run -0 db "select count(*) from revocations where serial = '$s'"
	assert_output 0
	run -0 cmp "$CA/config/ca.json" "$D/down.json"
}

@test "pg: ok one token sent 20 times in parallel by two hosts: exactly one certificate" {
	copy_home hostb
	t=$(mint)
	jti=$(claims "$t" | jq -r .jti)
	rows0=$(rows)
	mkdir "$D/par"
	for i in $(seq 20); do
		home=$CA
		[ $((i % 2)) = 0 ] || home=$D/hostb
		(
			rc=0
			ca-sign --offline --dir "$home" --token "$t" <"$D/foo.csr" \
				>"$D/par/$i.pem" 2>"$D/par/$i.err" || rc=$?
			echo "$rc" >"$D/par/$i.rc"
		) 3>&- &
	done
	wait
	assert_equal "$(cat "$D"/par/*.rc | grep -cx 0)" 1
	assert_equal "$(cat "$D"/par/*.rc | grep -cx 1)" 19
	assert_equal "$(cat "$D"/par/*.err | grep -cx 'ca-sign: token already used')" 19
	assert_equal "$(rows)" "$(($(cut -d' ' -f1 <<<"$rows0") + 1)) $(($(cut -d' ' -f2 <<<"$rows0") + 1))"
	run -0 db "select count(*) from used_tokens where jti = '$jti'"
	assert_output 1
	# The one certificate is the row.
	pem=$(grep -l 'BEGIN CERTIFICATE' "$D"/par/*.pem)
	s=$(serial_of "$pem")
	run -0 db "select hex(der) from certs where serial = '$s'"
	assert_output "$(openssl x509 -in "$pem" -outform DER | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)"
}

@test "pg: fail a serial already stored: the primary key refuses it, nothing recorded (exit 4)" {
	t=$(mint)
	rows0=$(rows)
	# Every new row takes the serial of a stored one.
	db "CREATE FUNCTION same_serial() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN NEW.serial := (SELECT min(serial) FROM certs); RETURN NEW; END \$\$; CREATE TRIGGER same_serial BEFORE INSERT ON certs FOR EACH ROW EXECUTE FUNCTION same_serial();"
	run -4 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
	db "DROP TRIGGER same_serial ON certs; DROP FUNCTION same_serial();"
	assert_output ""
	assert_regex "$stderr" '^ca-sign: database: certificate serial [0-9]+ already exists$'
	assert_equal "$(rows)" "$rows0"
	# The key itself, whoever writes.
	run -1 --separate-stderr db "INSERT INTO certs SELECT * FROM certs LIMIT 1"
	assert_regex "$stderr" 'duplicate key value violates unique constraint "certs_pkey"'
	# The token was not spent.
	run -0 ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
}

@test "pg: fail the server down mid-run: exit 5, nothing unrecorded; up again: issues without intervention" {
	rm -rf "$D/run"
	mkdir "$D/run"
	mint -n 40 >"$D/run/toks"
	# A long-lived handler, connected before the server goes down.
	coproc H { ca-sign --api --offline --dir "$CA" 2>"$D/run/handler.err"; }
	# bash forgets a coprocess's pid once it has ended: kept here.
	local hpid=$H_PID
	mapfile -t toks <"$D/run/toks"
	api_request "${toks[0]}" "$D/foo.csr" >&"${H[1]}"
	read -r -t 60 line <&"${H[0]}"
	assert_equal "$(jq -r .crt <<<"$line" | openssl x509 -noout -subject)" "subject=CN = foo.example.com"
	# Programs issue one after another while the server goes down.
	(
		for i in $(seq 2 30); do
			rc=0
			ca-sign --offline --dir "$CA" --token "${toks[$i]}" <"$D/foo.csr" \
				>"$D/run/$i.pem" 2>"$D/run/$i.err" || rc=$?
			echo "$rc" >"$D/run/$i.rc"
		done
	) 3>&- &
	loop=$!
	wait_for test -s "$D/run/4.pem"
	sh "$TOP/tests/pg.sh" down "$PGD"
	wait "$loop"
	# Nothing was issued without its row.
	for i in $(seq 2 30); do
		rc=$(cat "$D/run/$i.rc")
		if [ "$rc" = 0 ]; then
			echo "$i" >>"$D/run/issued"
		else
			assert_equal "$rc" 5
			assert_equal "$(wc -c <"$D/run/$i.pem")" 0
			assert_regex "$(cat "$D/run/$i.err")" '^ca-sign: database unavailable'
		fi
	done
	assert [ "$(cat "$D/run/30.rc")" = 5 ]
	run -5 --separate-stderr ca-list --dir "$CA"
	assert_regex "$stderr" '^ca-list: database unavailable'
	# The handler answers 503 while the server is down.
	api_request "${toks[31]}" "$D/foo.csr" >&"${H[1]}"
	read -r -t 60 line <&"${H[0]}"
	assert_regex "$line" '^\{"status":503,"message":"database unavailable'
	sh "$TOP/tests/pg.sh" up "$PGD"
	while read -r i; do
		s=$(serial_of "$D/run/$i.pem")
		run -0 db "select count(*) from certs where serial = '$s'"
		assert_output 1
	done <"$D/run/issued"
	# Up again: the same handler and new programs issue.
	api_request "${toks[32]}" "$D/foo.csr" >&"${H[1]}"
	read -r -t 60 line <&"${H[0]}"
	s=$(jq -r .crt <<<"$line" | openssl x509 -noout -serial | cut -d= -f2)
	run -0 db "select count(*) from certs where serial = '$(BC_LINE_LENGTH=0 bc <<<"ibase=16; $s")'"
	assert_output 1
	eval "exec ${H[1]}>&-"
	# Its exit status says a request found the database unavailable.
	st=0
	wait "$hpid" || st=$?
	assert_equal "$st" 5
	run -0 ca-sign --offline --dir "$CA" --token "${toks[33]}" <"$D/foo.csr"
	# The token refused while the server was down is still unspent.
	run -0 ca-sign --offline --dir "$CA" --token "${toks[30]}" <"$D/foo.csr"
}

@test "pg: ok ca-list on a read-only connection; writers refuse one (exit 5)" {
	copy_home reader
	jq --arg u "$(url "$CA")%20-c%20default_transaction_read_only%3Don" \
		'.db.dataSource = $u' "$CA/config/ca.json" | put_file "$D/reader/config/ca.json"
	run -0 --separate-stderr ca-list --dir "$D/reader"
	assert_equal "${#lines[@]}" "$(db 'select count(*) from certs')"
	assert_equal "$stderr" ""
	run -0 --separate-stderr ca-init --check --dir "$D/reader"
	rows0=$(rows)
	run -5 --separate-stderr ca-sign --offline --dir "$D/reader" --token "$(mint)" <"$D/foo.csr"
	assert_output ""
	assert_regex "$stderr" '^ca-sign: database unavailable: .*session is read-only$'
	assert_equal "$(rows)" "$rows0"
}

@test "pg: ok an older schema is migrated only by ca-init --migrate, never by a reader or writer" {
	CA=$D/old
	ca-init --dir "$CA" --password-file "$D/pw" --key-iterations 2048 $(db_args) >/dev/null
	# Back to version 1: without what versions 2 (the token clock), 3
	# (the CRLs' revocation counts) and 4 (the ACME tables) added.
	db "DROP TABLE acme_nonces, acme_objects; DROP TABLE token_clock; ALTER TABLE crl DROP COLUMN revocations; UPDATE schema_version SET version = 1;"
	run -0 --separate-stderr ca-list --dir "$CA"
	assert_equal "${#lines[@]}" 1
	run -0 db "select version from schema_version"
	assert_output 1
	t=$(ca-token --offline --dir "$CA" --password-file "$D/pw" foo.example.com)
	run -4 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
	assert_output ""
	assert_regex "$stderr" "^ca-sign: database postgresql .* has schema version 1, older than this program's $(schema_version): migrate it once with ca-init --migrate \(nothing was changed\)$"
	run -0 db "select version from schema_version"
	assert_output 1
	run -0 --separate-stderr ca-init --migrate --dir "$CA"
	assert_output "$CA: database schema version $(schema_version)"
	run -0 db "select version from schema_version"
	assert_output "$(schema_version)"
	run -0 db "select count(*) from token_clock"
	assert_output 1
	run -0 ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
}

@test "pg: ok ca-init --migrate --db moves a SQLite CA to PostgreSQL, every row and spent token" {
	H=$D/lite
	ca-init --dir "$H" --password-file "$D/pw" --key-iterations 2048 >/dev/null
	jq '.db.busyTimeout = "3s"' "$H/config/ca.json" >"$D/lite.json"
	put_file "$H/config/ca.json" <"$D/lite.json"
	for n in 1 2 3; do
		t=$(ca-token --offline --dir "$H" --password-file "$D/pw" foo.example.com)
		ca-sign --offline --dir "$H" --token "$t" <"$D/foo.csr" >"$D/lite$n.pem"
	done
	ca-revoke --offline --dir "$H" --reason-code 1 "$(serial_of "$D/lite2.pem")"
	# A renewal row that sorts before what it renews, in the same second.
	sqlite3 "$H/db/ca.db" "INSERT INTO certs SELECT '1', issued_at, not_before, not_after, subject, sans, provisioner, serial, der FROM certs WHERE serial = '$(serial_of "$D/lite3.pem")'"
	sqlite3 "$H/db/ca.db" "UPDATE token_clock SET minted_after = 1000"
	# ACME state: an account, an order of it, a nonce.
	sqlite3 "$H/db/ca.db" "INSERT INTO acme_objects VALUES ('account', 'acct1', NULL, 'thumb1', 'valid', 0, '{\"contact\":[\"mailto:a@example.com\"]}'), ('order', 'ord1', 'acct1', NULL, 'pending', 1900000000, '{}'); INSERT INTO acme_nonces VALUES ('nonce1', 1900000000)"
	q="select serial, issued_at, not_before, not_after, subject, sans, provisioner, renewed_from, hex(der) from certs order by serial;
select serial, revoked_at, reason_code, reason, method from revocations order by serial;
select provisioner, jti, expires_at from used_tokens order by jti;
select pruned_before, minted_after from token_clock;
select number, this_update, next_update, revocations, hex(der) from crl order by number;
select kind, id, coalesce(account, '-'), coalesce(lookup, '-'), status, expires_at, body from acme_objects order by kind, id;
select nonce, expires_at from acme_nonces order by nonce"
	before=$(dbq "$H" "$q")
	# The revocation made a CRL, which moves too.
	assert_equal "$(dbq "$H" 'select count(*) from crl')" 1
	assert_equal "$(dbq "$H" 'select count(*) from acme_objects') $(dbq "$H" 'select count(*) from acme_nonces')" "2 1"
	list=$(ca-list --dir "$H")
	pg=$(sh "$TOP/tests/pg.sh" db "$PGD")
	run -0 --separate-stderr ca-init --migrate --dir "$H" --db "$pg"
	assert_output "$H: database copied to $pg (schema version $(schema_version)); ca.json names it now, the old database is left as it was"
	assert_equal "$(jq -c .db "$H/config/ca.json")" "$(jq -c --arg u "$pg" '{type: "postgresql", dataSource: $u, busyTimeout: "3s"}' <<<'{}')"
	assert_equal "$(dbq "$H" "$q")" "$before"
	assert_equal "$(ca-list --dir "$H")" "$list"
	# A token spent before is still spent.
	run -1 --separate-stderr ca-sign --offline --dir "$H" --token "$t" <"$D/foo.csr"
	assert_equal "$stderr" "ca-sign: token already used"
	t=$(ca-token --offline --dir "$H" --password-file "$D/pw" foo.example.com)
	run -0 ca-sign --offline --dir "$H" --token "$t" <"$D/foo.csr"
	# The SQLite file is as it was; a second move into the same place is refused.
	assert_equal "$(sqlite3 "$H/db/ca.db" 'select count(*) from certs')" 5
	jq '.db = {type: "sqlite", dataSource: "db/ca.db"}' "$H/config/ca.json" >"$D/back.json"
	put_file "$H/config/ca.json" <"$D/back.json"
	run -4 --separate-stderr ca-init --migrate --dir "$H" --db "$pg"
	assert_regex "$stderr" "already holds a CA schema"
}

@test "pg: fail ca-init --migrate --db whose copy fails (exit 4): ca.json unchanged, no row copied, the SQLite file as it was" {
	H=$D/badcopy
	ca-init --dir "$H" --password-file "$D/pw" --key-iterations 2048 >/dev/null
	t=$(ca-token --offline --dir "$H" --password-file "$D/pw" foo.example.com)
	ca-sign --offline --dir "$H" --token "$t" <"$D/foo.csr" >/dev/null
	# A revocation of a certificate that is not stored (the sqlite3 shell
	# does not enforce foreign keys): PostgreSQL's key refuses its copy.
	sqlite3 "$H/db/ca.db" "INSERT INTO revocations (serial, revoked_at, reason_code, method) VALUES ('12345', 1, 1, 'offline')"
	cp "$H/config/ca.json" "$D/badcopy.json"
	cp "$H/db/ca.db" "$D/badcopy.db"
	pg=$(sh "$TOP/tests/pg.sh" db "$PGD")
	run -4 --separate-stderr ca-init --migrate --dir "$H" --db "$pg"
	assert_output ""
	assert_regex "$stderr" '^ca-init: copying revocations: .*foreign key'
	run -0 cmp "$H/config/ca.json" "$D/badcopy.json"
	run -0 cmp "$H/db/ca.db" "$D/badcopy.db"
	run -0 psql -X -q -At -v ON_ERROR_STOP=1 -d "$pg" -c "select (select count(*) from certs) || ' ' || (select count(*) from revocations) || ' ' || (select count(*) from used_tokens)"
	assert_output "0 0 0"
}

@test "pg: ok ACME objects and nonces on PostgreSQL: lib/db's ACME tests, racing spenders of one nonce (exactly one wins)" {
	# (and lib/acmeeab's: binding keys, 20 accounts racing for one key)
	pg=$(sh "$TOP/tests/pg.sh" db "$PGD")
	run -0 --separate-stderr test_db --db postgresql "$pg"
	refute_output --partial "not ok"
	assert_line --regexp '^1\.\.[0-9]+$'
	assert_line "ok 1 - create an account"
	assert_line --regexp '^ok [0-9]+ - round 3: exactly one of 20 processes spent the nonce$'
	assert_line --regexp '^ok [0-9]+ - exactly one of 20 processes created an account with the same lookup$'
	assert_line --regexp '^ok [0-9]+ - exactly one of 20 processes bound an account with one EAB key$'
	assert_line --regexp '^ok [0-9]+ - eab: bound, its account set, no MAC key kept$'
	assert_equal "$(psql -X -q -At -d "$pg" -c 'select version from schema_version')" "$(schema_version)"
	assert_equal "$(psql -X -q -At -d "$pg" -c "select count(*) from acme_objects where kind = 'account' and lookup = 'same-thumbprint'")" 1
}

# ---- spent tokens and the hosts' clocks -------------------------------------

# clock_hosts NAME: a CA of its own (a new schema: the token clock these
# tests move is the database's) with three hosts on it, $D/NAME (right
# clock), $D/NAME-ahead and $D/NAME-behind (copies of that home: the same
# database), as CA, AHEAD, BEHIND.
clock_hosts() {
	clone_home "$D/ca" "$D/$1"
	rm -rf "${D:?}/$1-ahead" "${D:?}/$1-behind"
	cp -a "$D/$1" "$D/$1-ahead"
	cp -a "$D/$1" "$D/$1-behind"
	CA=$D/$1 AHEAD=$D/$1-ahead BEHIND=$D/$1-behind
}

# sign_on HOME CLOCK TOKEN: ca-sign --offline on HOME with its clock moved
# by CLOCK (faketime -f: "+6d", "-12h", "+0").
sign_on() { faketime -f "$2" ca-sign --offline --dir "$1" --token "$3" <"$D/foo.csr"; }

# mint_on SECONDS: a token minted on a clock SECONDS ahead (negative: behind).
mint_on() {
	local at=now+$1 exp=now+$(($1 + 300))
	[ "$1" -ge 0 ] || at=now$1
	[ $(($1 + 300)) -ge 0 ] || exp=now$(($1 + 300))
	mint --set iat="$at" --set nbf="$at" --set exp="$exp"
}

@test "pg: ok hosts on one database with clocks 6 days ahead and 12 hours behind: a spent token stays spent on every host" {
	local t1 t2 t3 j1 c0 u0 day
	clock_hosts skew
	c0=$(db "select count(*) from certs where subject = 'foo.example.com'")
	u0=$(db 'select count(*) from used_tokens')
	t1=$(mint)
	j1=$(claims "$t1" | jq -r .jti)
	run -0 --separate-stderr sign_on "$CA" +0 "$t1"
	# The host ahead issues (and prunes, by its clock) within the
	# retention: the spent token's row stays.
	t2=$(mint_on $((6 * 86400)))
	run -0 --separate-stderr sign_on "$AHEAD" +6d "$t2"
	run -0 db "select count(*) from used_tokens where jti = '$j1'"
	assert_output 1
	# (the point it pruned to: its clock less the retention, a day ago)
	day=$(($(date +%s) - 86400))
	run -0 db "select pruned_before between $day - 120 and $day + 120 from token_clock"
	assert_output t
	# The host behind still issues: its clock is not before the point the
	# host ahead pruned to.
	t3=$(mint_on -43200)
	run -0 --separate-stderr sign_on "$BEHIND" -12h "$t3"
	# The spent token, on every host, its own clock judging it.
	run -1 --separate-stderr sign_on "$CA" +0 "$t1"
	assert_output ""
	assert_equal "$stderr" "ca-sign: token already used"
	run -1 --separate-stderr sign_on "$AHEAD" +6d "$t1"
	assert_equal "$stderr" "ca-sign: token rejected: expired"
	run -1 --separate-stderr sign_on "$BEHIND" -12h "$t1"
	assert_equal "$stderr" "ca-sign: token rejected: not yet valid"
	# Behind by a few minutes only, within the leeway: the row refuses it.
	run -1 --separate-stderr sign_on "$BEHIND" -30s "$t1"
	assert_equal "$stderr" "ca-sign: token already used"
	# And the other hosts' tokens are spent for the right clock too.
	run -1 --separate-stderr sign_on "$AHEAD" +6d "$t2"
	assert_equal "$stderr" "ca-sign: token already used"
	run -1 --separate-stderr sign_on "$BEHIND" -12h "$t3"
	assert_equal "$stderr" "ca-sign: token already used"
	run -0 db "select count(*) from certs where subject = 'foo.example.com'"
	assert_output $((c0 + 3))
	run -0 db "select count(*) from used_tokens"
	assert_output $((u0 + 3))
}

@test "pg: fail a host 8 days ahead forgets a spent token: every host behind it fails closed (exit 4), and the reset in SQL does not reopen replay" {
	local t1 t2 t4 j1 c0 now
	clock_hosts far
	c0=$(db "select count(*) from certs where subject = 'foo.example.com'")
	t1=$(mint)
	j1=$(claims "$t1" | jq -r .jti)
	run -0 --separate-stderr sign_on "$CA" +0 "$t1"
	t2=$(mint_on $((8 * 86400)))
	run -0 --separate-stderr sign_on "$AHEAD" +8d "$t2"
	# Beyond the retention: the row of the first token is gone...
	run -0 db "select count(*) from used_tokens where jti = '$j1'"
	assert_output 0
	# ...and no host whose clock is behind the point pruned to issues,
	# for that token or a fresh one: the right clock, and one behind it.
	run -4 --separate-stderr sign_on "$CA" +0 "$t1"
	assert_output ""
	assert_regex "$stderr" "^ca-sign: clock: this host's clock \(.*\) is before .*, up to which a clock further ahead had the database forget spent tokens"
	run -4 --separate-stderr sign_on "$CA" +0 "$(mint)"
	assert_regex "$stderr" "^ca-sign: clock: "
	run -4 --separate-stderr sign_on "$BEHIND" -12h "$(mint_on -43200)"
	assert_regex "$stderr" "^ca-sign: clock: "
	# Through the API handler too: 500, nothing issued.
	run -4 --separate-stderr bash -c 'faketime -f +0 ca-sign --api --offline --dir "$0"' "$CA" \
		< <(api_request "$t1" "$D/foo.csr")
	assert_equal "$(jq -r .status <<<"$output")" 500
	assert_regex "$(jq -r .message <<<"$output")" "^clock: "
	# The host ahead judges it expired.
	run -1 --separate-stderr sign_on "$AHEAD" +8d "$t1"
	assert_equal "$stderr" "ca-sign: token rejected: expired"
	run -0 db "select count(*) from certs where subject = 'foo.example.com'"
	assert_output $((c0 + 2))
	# The operator's reset (docs/SECURITY.md), in PostgreSQL's SQL, with
	# the clock right: the forgotten token was issued before it.
	now=$(date +%s)
	db "UPDATE token_clock SET pruned_before = $now, minted_after = $now"
	run -1 --separate-stderr sign_on "$CA" +0 "$t1"
	assert_regex "$stderr" "^ca-sign: token rejected: issued before the token clock was reset at "
	run -1 --separate-stderr sign_on "$AHEAD" +0 "$t1"
	assert_regex "$stderr" "^ca-sign: token rejected: issued before the token clock was reset at "
	# A host still behind the reset fails closed; tokens minted after it
	# issue on the hosts whose clocks are right.
	run -4 --separate-stderr sign_on "$BEHIND" -12h "$(mint_on -43200)"
	assert_regex "$stderr" "^ca-sign: clock: "
	sleep 1
	t4=$(mint)
	run -0 --separate-stderr sign_on "$CA" +0 "$t4"
	run -1 --separate-stderr sign_on "$AHEAD" +0 "$t4"
	assert_equal "$stderr" "ca-sign: token already used"
	run -0 db "select count(*) from certs where subject = 'foo.example.com'"
	assert_output $((c0 + 3))
}

# fake_pg MODE: tests/bats/helpers/fake_pg.py in MODE on a free port; a
# copy of the CA home, $D/fake, whose dataSource is that port.
fake_pg() {
	rm -f "$D/fake.port"
	"$PY" "$BATS_TEST_DIRNAME/helpers/fake_pg.py" "$1" "$D/fake.port" 3>&- &
	FAKE=$!
	wait_for test -s "$D/fake.port"
	copy_home fake
	jq --arg u "host=127.0.0.1 port=$(cat "$D/fake.port") dbname=inca user=inca sslmode=disable connect_timeout=2" \
		'.db.dataSource = $u' "$CA/config/ca.json" | put_file "$D/fake/config/ca.json"
}

@test "pg: fail a server's notice while the connection is made is not printed: one line, exit 5" {
	fake_pg NOTICE
	run -5 --separate-stderr ca-list --dir "$D/fake"
	kill "$FAKE"
	assert_output ""
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" '^ca-list: database unavailable: .*the database system is shutting down'
	refute_regex "$stderr" 'WARNING|terminating connection'
}

@test "pg: fail a server that never answers the startup: exit 5 once connect_timeout has passed, one line" {
	fake_pg SILENT
	s=$(date +%s)
	run -5 --separate-stderr ca-list --dir "$D/fake"
	e=$(date +%s)
	kill "$FAKE"
	assert_output ""
	assert_equal "$stderr" "ca-list: database unavailable: no connection within connect_timeout"
	# connect_timeout=2 in the dataSource: not before, and not libpq's
	# default of forever.
	assert [ $((e - s)) -ge 2 ]
	assert [ $((e - s)) -le 8 ]
}
