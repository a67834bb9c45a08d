#!/usr/bin/env bats
# The issuance transaction fails closed: a busy, broken or refusing
# database prints nothing, records nothing and spends no token.

load common

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	ca-init --dir "$D/ca" $(db_args) >/dev/null
	make_csr "$D" leaf -subj /CN=db.example.com -addext subjectAltName=DNS:db.example.com
	jq '.db.busyTimeout = "1s"' "$D/ca/config/ca.json" >"$D/ca.json" && mv "$D/ca.json" "$D/ca/config/ca.json"
}

token() { ca-token --offline --dir "$D/ca" db.example.com; }
rows() { dbq "$D/ca" "select count(*) from certs; select count(*) from used_tokens;" | paste -sd' '; }

@test "durability: fail busy database (exit 5), then the same token works" {
	tok=$(token)
	before=$(rows)
	# A writer holds the lock until told to commit.
	hold_db_lock "$D/ca"
	run -5 --separate-stderr ca-sign --offline --dir "$D/ca" --token "$tok" <"$D/leaf.csr"
	release_db_lock
	assert_equal "$output" ""
	assert_regex "$stderr" "^ca-sign: database busy"
	assert_equal "$(rows)" "$before"
	run -0 --separate-stderr ca-sign --offline --dir "$D/ca" --token "$tok" <"$D/leaf.csr"
	assert_output --partial "BEGIN CERTIFICATE"
}

@test "durability: ok a writer waiting for the lock goes on as soon as it is released" {
	tok=$(token)
	jq '.db.busyTimeout = "30s"' "$D/ca/config/ca.json" | put_file "$D/ca/config/ca.json"
	hold_db_lock "$D/ca"
	SECONDS=0
	ca-sign --offline --dir "$D/ca" --token "$tok" <"$D/leaf.csr" \
	    >"$BATS_TEST_TMPDIR/crt" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	sleep 1
	# Still waiting for the lock, a second after it started.
	kill -0 "$pid"
	release_db_lock
	rc=0
	wait "$pid" || rc=$?
	waited=$SECONDS
	jq '.db.busyTimeout = "1s"' "$D/ca/config/ca.json" | put_file "$D/ca/config/ca.json"
	assert_equal "$rc" 0
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" ""
	openssl x509 -noout -subject <"$BATS_TEST_TMPDIR/crt" | grep -q "CN *= *db.example.com"
	# Gone on at the release, not at the end of the 30 s it may wait.
	[ "$waited" -lt 15 ]
}

@test "durability: fail a refused certificate insert rolls the token back (exit 4)" {
	tok=$(token)
	before=$(rows)
	refuse_inserts "$D/ca" no_more
	run -4 --separate-stderr ca-sign --offline --dir "$D/ca" --token "$tok" <"$D/leaf.csr"
	assert_equal "$output" ""
	assert_regex "$stderr" "storage refused"
	assert_equal "$(rows)" "$before"
	allow_inserts "$D/ca" no_more
	run -0 ca-sign --offline --dir "$D/ca" --token "$tok" <"$D/leaf.csr"
}

# bats test_tags=sqlite
@test "durability: fail corrupt database (exit 4), nothing printed" {
	cp -r "$D/ca" "$D/bad"
	rm -f "$D/bad/db/ca.db-wal" "$D/bad/db/ca.db-shm"
	head -c 8192 /dev/urandom >"$D/bad/db/ca.db"
	tok=$(ca-token --offline --dir "$D/bad" db.example.com)
	run -4 --separate-stderr ca-sign --offline --dir "$D/bad" --token "$tok" <"$D/leaf.csr"
	assert_equal "$output" ""
	assert_regex "$stderr" "^ca-sign: "
}

# bats test_tags=sqlite
@test "durability: fail missing database (exit 4)" {
	cp -r "$D/ca" "$D/nodb"
	rm -f "$D/nodb/db/ca.db"*
	tok=$(ca-token --offline --dir "$D/nodb" db.example.com)
	run -4 --separate-stderr ca-sign --offline --dir "$D/nodb" --token "$tok" <"$D/leaf.csr"
	assert_equal "$output" ""
	[ ! -e "$D/nodb/db/ca.db" ]
}

@test "durability: fail database from a newer version (exit 4)" {
	# A copied home shares a PostgreSQL database: the version is put back.
	cp -r "$D/ca" "$D/newer"
	v=$(dbq "$D/newer" "select version from schema_version")
	dbq "$D/newer" "UPDATE schema_version SET version = 99;"
	tok=$(ca-token --offline --dir "$D/newer" db.example.com)
	run -4 --separate-stderr ca-sign --offline --dir "$D/newer" --token "$tok" <"$D/leaf.csr"
	! pg_test || dbq "$D/newer" "UPDATE schema_version SET version = $v;"
	assert_equal "$output" ""
	assert_regex "$stderr" "schema version 99 is newer than this program"
}

# bats test_tags=sqlite
@test "durability: ok the database stays 0600 in WAL mode with synchronous FULL" {
	tok=$(token)
	ca-sign --offline --dir "$D/ca" --token "$tok" <"$D/leaf.csr" >/dev/null
	for f in "$D"/ca/db/ca.db*; do
		assert_equal "$(stat -c %a "$f")" 600
	done
	assert_equal "$(sqlite3 "$D/ca/db/ca.db" 'PRAGMA journal_mode;')" wal
}

@test "durability: fail malformed db.busyTimeout (exit 4)" {
	cp -r "$D/ca" "$D/bt"
	jq '.db.busyTimeout = "soon"' "$D/bt/config/ca.json" >"$D/bt.json" && mv "$D/bt.json" "$D/bt/config/ca.json"
	run -4 --separate-stderr ca-list --dir "$D/bt"
	assert_equal "$stderr" 'ca-list: ca.json: db.busyTimeout: a duration like "24h"'
	jq '.db.busyTimeout = "11m"' "$D/ca/config/ca.json" | put_file "$D/bt/config/ca.json"
	run -4 --separate-stderr ca-list --dir "$D/bt"
	assert_equal "$stderr" 'ca-list: ca.json: db.busyTimeout: at most 600s'
}

# bats test_tags=sqlite
@test "durability: ok the WAL stays bounded across many issuing processes" {
	/usr/bin/python3 "$TOP/tests/bats/helpers/tok.py" key "$D/ca/config/ca.json" "$D/ca/secrets/password" >"$D/prov.jwk"
	for i in $(seq 150); do
		ca-token --key "$D/prov.jwk" --issuer admin --aud https://localhost:9000/1.0/sign db.example.com
	done >"$D/toks"
	while read -r t; do
		ca-sign --offline --dir "$D/ca" --token "$t" <"$D/leaf.csr" >/dev/null
	done <"$D/toks"
	# About 39 KB of WAL per certificate if it were never folded back.
	[ "$(stat -c %s "$D/ca/db/ca.db-wal")" -lt 1048576 ]
	[ "$(sqlite3 "$D/ca/db/ca.db" 'select count(*) from certs')" -ge 150 ]
}

# ---- schema version 3 (before the ACME tables) to 4 ------------------------

# v3_home NAME: a CA home $D/NAME of its own database with a certificate,
# a spent token, a revocation and its CRL, taken back to schema version 3:
# without the ACME tables version 4 added.
v3_home() {
	local h=$D/$1 s
	ca-init --dir "$h" --key-iterations 2048 $(db_args) >/dev/null
	ca-sign --offline --dir "$h" --token "$(ca-token --offline --dir "$h" db.example.com)" <"$D/leaf.csr" >/dev/null
	s=$(dbq "$h" "select serial from certs where subject = 'db.example.com'")
	ca-revoke --offline --dir "$h" --reason-code 1 "$s" >/dev/null
	dbq "$h" "DROP TABLE acme_nonces; DROP TABLE acme_objects; UPDATE schema_version SET version = 3;"
}

# v3_rows HOME [SERIAL JTI]: every row of every version 3 table; SERIAL's
# certificate and JTI's spent token left out, and the token clock's prune
# point (a later spend moves it), when given.
v3_rows() {
	local c="pruned_before, minted_after"
	[ -z "${2:-}" ] || c=minted_after
	dbq "$1" "select serial, issued_at, not_before, not_after, subject, sans, provisioner, coalesce(renewed_from, '-'), hex(der) from certs where serial <> '${2:-}' order by serial;
select serial, revoked_at, reason_code, coalesce(reason, '-'), method from revocations order by serial;
select provisioner, jti, expires_at from used_tokens where jti <> '${3:-}' order by provisioner, jti;
select $c from token_clock;
select number, this_update, next_update, revocations, hex(der) from crl order by number"
}

acme_tables() { dbq "$1" "select (select count(*) from acme_objects) || ' ' || (select count(*) from acme_nonces)"; }

@test "durability: ok a version 3 database migrates to 4 by ca-init --migrate, every row kept, readers migrate nothing" {
	v3_home v3m
	h=$D/v3m
	before=$(v3_rows "$h")
	assert_equal "$(dbq "$h" 'select count(*) from certs') $(dbq "$h" 'select count(*) from revocations') $(dbq "$h" 'select count(*) from crl')" "2 1 1"
	run -0 --separate-stderr ca-list --dir "$h"
	assert_equal "$(jq -s length <<<"$output")" 2
	assert_equal "$(dbq "$h" 'select version from schema_version')" 3
	if pg_test; then
		# PostgreSQL, shared by hosts: no writer migrates on its own.
		run -4 --separate-stderr ca-sign --offline --dir "$h" --token "$(ca-token --offline --dir "$h" db.example.com)" <"$D/leaf.csr"
		assert_output ""
		assert_regex "$stderr" "^ca-sign: database postgresql .* has schema version 3, older than this program's 4: migrate it once with ca-init --migrate \(nothing was changed\)$"
		assert_equal "$(dbq "$h" 'select version from schema_version')" 3
	fi
	run -0 --separate-stderr ca-init --migrate --dir "$h"
	assert_output "$h: database schema version 4"
	assert_equal "$stderr" ""
	assert_equal "$(dbq "$h" 'select version from schema_version')" 4
	assert_equal "$(acme_tables "$h")" "0 0"
	assert_equal "$(v3_rows "$h")" "$before"
	# Migrated once: again is a no-op.
	run -0 --separate-stderr ca-init --migrate --dir "$h"
	assert_output "$h: database schema version 4"
	assert_equal "$(v3_rows "$h")" "$before"
	run -0 --separate-stderr ca-sign --offline --dir "$h" --token "$(ca-token --offline --dir "$h" db.example.com)" <"$D/leaf.csr"
	assert_equal "$(dbq "$h" 'select count(*) from certs')" 3
}

# bats test_tags=sqlite
@test "durability: ok a version 3 SQLite database migrates to 4 on its first write, every row kept" {
	v3_home v3w
	h=$D/v3w
	# "-": nothing left out, but the prune point, which the write moves.
	before=$(v3_rows "$h" - -)
	t=$(ca-token --offline --dir "$h" db.example.com)
	jti=$(claims "$t" | jq -r .jti)
	assert_regex "$jti" '^[^ ]+$'
	run -0 --separate-stderr ca-sign --offline --dir "$h" --token "$t" <"$D/leaf.csr"
	assert_equal "$(dbq "$h" 'select version from schema_version')" 4
	assert_equal "$(acme_tables "$h")" "0 0"
	s=$(openssl x509 -noout -serial <<<"$output" | cut -d= -f2)
	s=$(BC_LINE_LENGTH=0 bc <<<"ibase=16; $s")
	assert_equal "$(dbq "$h" "select count(*) from certs where serial = '$s'")" 1
	assert_equal "$(dbq "$h" "select count(*) from used_tokens where jti = '$jti'")" 1
	assert_equal "$(v3_rows "$h" "$s" "$jti")" "$before"
}
