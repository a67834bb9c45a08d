#!/usr/bin/env bats
# The PostgreSQL backend behind pgbouncer in transaction pooling mode,
# where each transaction may run on another server session and a session
# setting stays on the session it ran on, for whichever client gets it
# next: inca must hold no session state that matters.  A real pgbouncer
# (tests/pgbouncer.sh, pool_mode = transaction, two server connections
# shared by every client) in front of a cluster of this file's own
# (tests/pg.sh); the CA's database is reached only through it.
#
# PostgreSQL only, whatever INCA_TEST_DB says.

load common
load helpers/authority

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	PGD=$(mktemp -d /tmp/inca-pgbbats.XXXXXX)
	PB=$(mktemp -d /tmp/inca-pgbouncer.XXXXXX)
	export PGD PB
	sh "$TOP/tests/pg.sh" start "$PGD"
	sh "$TOP/tests/pgbouncer.sh" start "$PB" "$PGD" 2
	PBURL=$(sh "$TOP/tests/pgbouncer.sh" database "$PB" "$PGD")
	export PBURL INCA_TEST_DB=postgresql INCA_PG_DIR="$PGD"
	CA_SERVE=0 make_ca
	# SQLite's hex() for the tests' queries, as tests/pg.sh makes it.
	db "CREATE FUNCTION public.hex(bytea) RETURNS text IMMUTABLE LANGUAGE sql AS 'SELECT upper(encode(\$1, ''hex''))'"
	jq '.db.busyTimeout = "1s"' "$CA/config/ca.json" >"$D/busy.json"
	mv "$D/busy.json" "$CA/config/ca.json"
	csr foo foo.example.com dns:foo.example.com
}

teardown_file() {
	sh "$TOP/tests/pgbouncer.sh" stop "$PB"
	sh "$TOP/tests/pg.sh" stop "$PGD"
}

# The CA homes of this file use the database behind pgbouncer.
db_args() { echo --db "$PBURL"; }
dbname() { sed 's|^postgresql:///\([^?]*\)?.*|\1|' <<<"$PBURL"; }
# admin SQL: pgbouncer's admin console.
admin() { sh "$TOP/tests/pgbouncer.sh" admin "$PB" "$1"; }
# servers: how many server connections pgbouncer holds for the CA's
# database.
servers() { admin "SHOW SERVERS" | awk -F'|' -v d="$(dbname)" '$3 == d' | wc -l; }
# hexder PEM: the DER of a certificate in upper-case hex, as the rows'.
hexder() { openssl x509 -in "$1" -outform DER | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F; }

@test "pgbouncer: ok the CA's database is reached through pgbouncer in transaction mode, two server connections" {
	assert_regex "$(jq -r .db.dataSource "$CA/config/ca.json")" "^postgresql:///ca_[0-9a-f]+\?host=$PB&port=6432&user=postgres$"
	run -0 admin "SHOW CONFIG"
	assert_line "pool_mode|transaction|session|yes"
	assert_line --regexp '^default_pool_size\|2\|'
	run -0 --separate-stderr ca-list --dir "$CA"
	assert_equal "$(jq -r .subject <<<"$output")" ca.example.com
	run -0 admin "SHOW POOLS"
	assert_line --regexp "^$(dbname)\|postgres\|.*\|transaction$"
	assert [ "$(servers)" -ge 1 ]
	assert [ "$(servers)" -le 2 ]
}

@test "pgbouncer: ok issuance, renewal and revocation through the pooler, each certificate its row" {
	rows0=$(rows)
	run -0 --separate-stderr cli_sign "$(mint)" "$D/foo.csr"
	printf '%s\n' "$output" >"$D/one.pem"
	s1=$(serial_of "$D/one.pem")
	run -0 db "select hex(der) from certs where serial = '$s1'"
	assert_output "$(hexder "$D/one.pem")"
	run -0 --separate-stderr ca-renew --offline --dir "$CA" --cert "$D/one.pem"
	printf '%s\n' "$output" >"$D/two.pem"
	s2=$(serial_of "$D/two.pem")
	assert [ "$s2" != "$s1" ]
	run -0 db "select renewed_from, hex(der) from certs where serial = '$s2'"
	assert_output "$s1|$(hexder "$D/two.pem")"
	run -0 --separate-stderr ca-revoke --offline --dir "$CA" --reason-code 1 "$s2"
	assert_equal "$(jq -r .status <<<"$output")" ok
	run -0 db "select reason_code, method from revocations where serial = '$s2'"
	assert_output "1|offline"
	# A revoked certificate is not renewed, through the pooler too.
	run -1 --separate-stderr ca-renew --offline --dir "$CA" --cert "$D/two.pem"
	assert_output ""
	assert_regex "$stderr" "^ca-renew: .*revoked"
	assert_equal "$(rows)" "$(($(cut -d' ' -f1 <<<"$rows0") + 2)) $(($(cut -d' ' -f2 <<<"$rows0") + 1))"
	run -0 --separate-stderr ca-list --dir "$CA" --revoked
	assert_equal "$(jq -r .serial <<<"$output")" "$s2"
	assert [ "$(servers)" -le 2 ]
}

@test "pgbouncer: ok readers between writers on two shared server connections: every writer succeeds" {
	rows0=$(rows)
	# In turn: each reader's transaction, then a writer's, on the
	# sessions the readers used.
	cli_sign "$(mint)" "$D/foo.csr" >"$D/w0.pem"
	for round in $(seq 6); do
		run -0 --separate-stderr ca-list --dir "$CA"
		run -0 --separate-stderr ca-verify --offline --dir "$CA" --root "$CA/certs/root_ca.crt" "$D/w$((round - 1)).pem"
		run -0 --separate-stderr cli_sign "$(mint)" "$D/foo.csr"
		assert_output --partial "BEGIN CERTIFICATE"
		assert_equal "$stderr" ""
		printf '%s\n' "$output" >"$D/w$round.pem"
	done
	assert_equal "$(rows)" "$(($(cut -d' ' -f1 <<<"$rows0") + 7)) $(($(cut -d' ' -f2 <<<"$rows0") + 7))"
	# At once: 8 readers and 8 writers.
	mkdir "$D/mix"
	for i in $(seq 8); do
		t=$(mint)
		(
			rc=0
			ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr" \
				>"$D/mix/$i.pem" 2>"$D/mix/$i.err" || rc=$?
			echo "$rc" >"$D/mix/$i.rc"
		) 3>&- &
		(
			rc=0
			ca-list --dir "$CA" >/dev/null 2>"$D/mix/list$i.err" || rc=$?
			echo "$rc" >"$D/mix/list$i.rc"
		) 3>&- &
	done
	wait
	assert_equal "$(cat "$D"/mix/[0-9]*.rc | grep -cx 0)" 8
	assert_equal "$(cat "$D"/mix/list*.rc | grep -cx 0)" 8
	assert_equal "$(cat "$D"/mix/*.err)" ""
	assert_equal "$(rows)" "$(($(cut -d' ' -f1 <<<"$rows0") + 15)) $(($(cut -d' ' -f2 <<<"$rows0") + 15))"
	for f in "$D"/mix/[0-9]*.pem; do
		s=$(serial_of "$f")
		run -0 db "select hex(der) from certs where serial = '$s'"
		assert_output "$(hexder "$f")"
	done
	# Nothing a reader ran stayed on a server session.
	run -0 psql -X -At -d "$PBURL" -c "SHOW default_transaction_read_only" -c "SHOW lock_timeout"
	assert_output "$(printf 'off\n0')"
	assert [ "$(servers)" -le 2 ]
}

@test "pgbouncer: ok a long-lived handler's requests between readers, each on whichever server session" {
	rows0=$(rows)
	for i in $(seq 4); do
		jq -nc --arg c "$(cat "$D/foo.csr")" --arg t "$(mint)" '{csr: $c, ott: $t}'
	done >"$D/api.in"
	# One request at a time, a reader between two.
	coproc API { ca-sign --api --offline --dir "$CA" 2>"$D/api.err" 3>&-; }
	# bash forgets a coprocess's pid and fds once it has ended: kept here.
	pid=$API_PID in=${API[1]} out=${API[0]}
	for round in $(seq 4); do
		sed -n "${round}p" "$D/api.in" >&"$in"
		read -r -t 30 line <&"$out"
		printf '%s\n' "$line" >>"$D/api.out"
		run -0 --separate-stderr ca-list --dir "$CA"
	done
	eval "exec $in>&-"
	wait "$pid"
	assert_equal "$(cat "$D/api.err")" ""
	assert_equal "$(jq -r 'has("crt")' "$D/api.out" | sort -u)" true
	assert_equal "$(rows)" "$(($(cut -d' ' -f1 <<<"$rows0") + 4)) $(($(cut -d' ' -f2 <<<"$rows0") + 4))"
}

@test "pgbouncer: fail a spent token through the pooler (exit 1), one certificate, sent twice or 10 times at once" {
	t=$(mint)
	jti=$(claims "$t" | jq -r .jti)
	rows0=$(rows)
	run -0 --separate-stderr cli_sign "$t" "$D/foo.csr"
	assert_output --partial "BEGIN CERTIFICATE"
	run -1 --separate-stderr cli_sign "$t" "$D/foo.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: token already used"
	assert_equal "$(rows)" "$(($(cut -d' ' -f1 <<<"$rows0") + 1)) $(($(cut -d' ' -f2 <<<"$rows0") + 1))"
	run -0 db "select count(*) from used_tokens where jti = '$jti'"
	assert_output 1
	# A new token, sent 10 times at once.
	t=$(mint)
	mkdir "$D/par"
	for i in $(seq 10); do
		(
			rc=0
			ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr" \
				>"$D/par/$i.pem" 2>"$D/par/$i.err" || rc=$?
			echo "$rc" >"$D/par/$i.rc"
		) 3>&- &
	done
	wait
	assert_equal "$(cat "$D"/par/*.rc | grep -cx 0)" 1
	assert_equal "$(cat "$D"/par/*.rc | grep -cx 1)" 9
	assert_equal "$(cat "$D"/par/*.err | grep -cx 'ca-sign: token already used')" 9
	assert_equal "$(rows)" "$(($(cut -d' ' -f1 <<<"$rows0") + 2)) $(($(cut -d' ' -f2 <<<"$rows0") + 2))"
}

@test "pgbouncer: fail busy database through the pooler (exit 5) after the busy timeout, not later, then the same token works" {
	t=$(mint)
	rows0=$(rows)
	# Another writer, through the pooler too, holds the lock on one of
	# the two server sessions.
	hold_db_lock "$CA"
	s=$(date +%s%N)
	run -5 --separate-stderr timeout 30 ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
	e=$(date +%s%N)
	assert_output ""
	assert_equal "$stderr" "ca-sign: database busy: begin transaction: another writer held the lock past the busy timeout"
	# busyTimeout is 1s: the lock_timeout of the writer's own transaction.
	assert [ $(((e - s) / 1000000)) -ge 900 ]
	assert [ $(((e - s) / 1000000)) -lt 10000 ]
	# A busy timeout of 0: one try, at once.
	jq '.db.busyTimeout = "0s"' "$CA/config/ca.json" >"$D/zero.json"
	cp -a "$CA" "$D/zero"
	put_file "$D/zero/config/ca.json" <"$D/zero.json"
	run -5 --separate-stderr timeout 30 ca-sign --offline --dir "$D/zero" --token "$t" <"$D/foo.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: database busy: begin transaction: another writer holds the lock"
	release_db_lock
	assert_equal "$(rows)" "$rows0"
	run -0 --separate-stderr cli_sign "$t" "$D/foo.csr"
	assert_output --partial "BEGIN CERTIFICATE"
	assert_equal "$(rows)" "$(($(cut -d' ' -f1 <<<"$rows0") + 1)) $(($(cut -d' ' -f2 <<<"$rows0") + 1))"
}

@test "pgbouncer: fail busy database for a long-lived handler (503) after its own busy timeout, whichever server session its transaction gets" {
	rows0=$(rows)
	for round in 1 2; do
		jq -nc --arg c "$(cat "$D/foo.csr")" --arg t "$(mint)" '{csr: $c, ott: $t}'
	done >"$D/lh.in"
	coproc LH { ca-sign --api --offline --dir "$CA" 2>"$D/lh.err" 3>&-; }
	# bash forgets a coprocess's pid and fds once it has ended: kept here.
	pid=$LH_PID in=${LH[1]} out=${LH[0]}
	sed -n 1p "$D/lh.in" >&"$in"
	read -r -t 30 line <&"$out"
	assert_equal "$(jq -r 'has("crt")' <<<"$line")" true
	# The lock holder takes the idle server session the handler's
	# connection last ran on: the handler's next transaction runs on the
	# other one, and must still wait its busy timeout (1s), no more.
	hold_db_lock "$CA"
	s=$(date +%s%N)
	sed -n 2p "$D/lh.in" >&"$in"
	line=""
	read -r -t 30 line <&"$out" || true
	e=$(date +%s%N)
	release_db_lock
	assert_equal "$line" '{"status":503,"message":"database busy: begin transaction: another writer held the lock past the busy timeout"}'
	assert [ $(((e - s) / 1000000)) -ge 900 ]
	assert [ $(((e - s) / 1000000)) -lt 10000 ]
	# The same request again, the lock released: issued.
	sed -n 2p "$D/lh.in" >&"$in"
	read -r -t 30 line <&"$out"
	assert_equal "$(jq -r 'has("crt")' <<<"$line")" true
	eval "exec $in>&-"
	# Its exit status is its worst answer's: the busy one.
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 5
	assert_equal "$(cat "$D/lh.err")" "ca-sign: database busy: begin transaction: another writer held the lock past the busy timeout"
	assert_equal "$(rows)" "$(($(cut -d' ' -f1 <<<"$rows0") + 2)) $(($(cut -d' ' -f2 <<<"$rows0") + 2))"
}

@test "pgbouncer: fail a reader's query runs read only whatever it reaches (exit 4), nothing written, and leaves no read-only session behind" {
	url=$(sh "$TOP/tests/pgbouncer.sh" database "$PB" "$PGD")
	ca-init --dir "$D/ro" --password-file "$D/pw" --dns ro.example.com \
		--key-iterations 2048 --db "$url" >/dev/null
	# Reading the certificates writes a row, as a hostile or broken view
	# in the database could make any query do.
	dbq "$D/ro" "CREATE TABLE written (n int); ALTER TABLE certs RENAME TO certs_t; CREATE FUNCTION write_one() RETURNS boolean LANGUAGE plpgsql AS \$\$ BEGIN INSERT INTO written VALUES (1); RETURN true; END \$\$; CREATE VIEW certs AS SELECT * FROM certs_t WHERE write_one();"
	run -4 --separate-stderr ca-list --dir "$D/ro"
	assert_output ""
	assert_equal "$stderr" "ca-list: database list certificates: cannot execute INSERT in a read-only transaction"
	run -0 dbq "$D/ro" "select count(*) from written"
	assert_output 0
	# The failed read was rolled back: the server sessions it ran on take
	# a write again.
	run -0 dbq "$D/ro" "SHOW default_transaction_read_only; SHOW transaction_read_only; INSERT INTO written VALUES (2); SELECT count(*) FROM written"
	assert_output "$(printf 'off\noff\n1')"
	run -0 --separate-stderr cli_sign "$(mint)" "$D/foo.csr"
	assert_output --partial "BEGIN CERTIFICATE"
}
