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
	jq '.db.busyTimeout = "11m"' "$D/ca/config/ca.json" >"$D/bt/config/ca.json"
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
