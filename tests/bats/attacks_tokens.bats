#!/usr/bin/env bats
# Attacks on the spent-token record and the database behind it: clocks
# that jump, databases that were emptied, a token file or a serial in an
# unexpected form, a far-off notBefore.  Each test names the attack; see
# docs/SECURITY.md.

load common
load helpers/authority

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_ca
	clone_home "$CA" "$D/pristine"
	csr foo foo.example.com dns:foo.example.com
}

# fresh NAME: a copy of the pristine CA home, with a database of its own,
# as $CA, for tests that change the database's state for good.
fresh() {
	export CA="$D/ca-$1"
	clone_home "$D/pristine" "$CA"
}

# sign_at OFFSET TOKEN CSRFILE: ca-sign --offline with the clock moved by
# OFFSET (+1d): another host, or this one with its clock wrong.
sign_at() {
	faketime -f "$1" ca-sign --offline --dir "$CA" --token "$2" <"$3"
}

# mint_at SECONDS [options]: a token minted on a clock SECONDS ahead.
mint_at() {
	local s=$1
	shift
	mint --set iat="now+$s" --set nbf="now+$s" --set exp="now+$((s + 300))" "$@"
}

# ---- a spent token stays spent ------------------------------------------

@test "attack: a clock a day ahead does not make a spent token work again" {
	fresh day
	local t1 t2
	t1=$(mint)
	run -0 --separate-stderr cli_sign "$t1" "$D/foo.csr"
	# Another issuance, on a clock a day ahead (its own token too).
	t2=$(mint_at 86400)
	run -0 --separate-stderr sign_at +1d "$t2" "$D/foo.csr"
	assert_equal "$(certs_count)" 2
	# The first token is still remembered...
	jti_used "$(claims "$t1" | jq -r .jti)"
	# ...and refused once the clock is back.
	run -1 --separate-stderr cli_sign "$t1" "$D/foo.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: token already used"
	run -1 --separate-stderr api_sign "$t1" "$D/foo.csr"
	assert_api_error 401 "token already used"
	assert_equal "$(certs_count)" 2
}

@test "attack: hosts sharing a database, one clock six days ahead: spent sign and revoke tokens stay spent on the others" {
	fresh hosts
	local t1 t2 t3 rt serial
	t1=$(mint)
	run -0 --separate-stderr cli_sign "$t1" "$D/foo.csr"
	serial=$(serial_of <(printf '%s\n' "$output"))
	rt=$(mint --path revoke --sub "$serial")
	run -0 --separate-stderr ca-revoke --offline --dir "$CA" --token "$rt" "$serial"
	# Host A runs six days ahead: within the retention (7 days).
	t2=$(mint_at $((6 * 86400)))
	run -0 --separate-stderr sign_at +6d "$t2" "$D/foo.csr"
	# Host B has the right time: the spent tokens are refused there...
	run -1 --separate-stderr cli_sign "$t1" "$D/foo.csr"
	assert_equal "$stderr" "ca-sign: token already used"
	run -1 --separate-stderr ca-revoke --offline --dir "$CA" --token "$rt" "$serial"
	assert_equal "$stderr" "ca-revoke: token already used"
	# ...and B still issues for a fresh token: no clock failure.
	t3=$(mint)
	run -0 --separate-stderr cli_sign "$t3" "$D/foo.csr"
	assert_equal "$(certs_count)" 3
}

@test "attack: a clock beyond the retention fails closed, names the clock, and the reset does not reopen replay" {
	fresh beyond
	local t1 t2 t3 t4 now
	t1=$(mint)
	run -0 --separate-stderr cli_sign "$t1" "$D/foo.csr"
	# Eight days ahead: the first token's row is forgotten there.
	t2=$(mint_at $((8 * 86400)))
	run -0 --separate-stderr sign_at +8d "$t2" "$D/foo.csr"
	run -0 db "select count(*) from used_tokens where jti = '$(claims "$t1" | jq -r .jti)'"
	assert_output 0
	# Back on the right clock, nothing is issued, for old or new tokens.
	run -4 --separate-stderr cli_sign "$t1" "$D/foo.csr"
	assert_output ""
	assert_regex "$stderr" "^ca-sign: clock: this host's clock \(.*\) is before .*, up to which a clock further ahead had the database forget spent tokens"
	t3=$(mint)
	run -4 --separate-stderr api_sign "$t3" "$D/foo.csr"
	assert_equal "$(jq -r .status <<<"$output")" 500
	assert_regex "$(jq -r .message <<<"$output")" "^clock: "
	assert_equal "$(certs_count)" 2
	# The operator's reset (docs/SECURITY.md), with the clock right.
	now=$(date +%s)
	db "UPDATE token_clock SET pruned_before = $now, minted_after = $now"
	# The forgotten token was issued before the reset: refused, not replayed.
	run -1 --separate-stderr cli_sign "$t1" "$D/foo.csr"
	assert_regex "$stderr" "^ca-sign: token rejected: issued before the token clock was reset at "
	run -1 --separate-stderr cli_sign "$t3" "$D/foo.csr"
	assert_equal "$(certs_count)" 2
	# A token minted after the reset issues.
	sleep 1
	t4=$(mint)
	run -0 --separate-stderr cli_sign "$t4" "$D/foo.csr"
	assert_equal "$(certs_count)" 3
}

# ---- an emptied database is not started afresh --------------------------

# empty_db_refused HOW: the database emptied by HOW (truncate | sqlite:
# SQLite's file; tables: every table dropped, on either backend), then
# every program that uses it refuses with exit 4; nothing issued.
empty_db_refused() {
	fresh "empty-$1"
	local t name msg
	t=$(mint)
	run -0 --separate-stderr cli_sign "$t" "$D/foo.csr"
	name=$CA/db/ca.db
	case $1 in
	truncate) rm -f "$name-wal" "$name-shm"; : >"$name" ;;
	sqlite) rm -f "$name" "$name-wal" "$name-shm"; sqlite3 "$name" 'PRAGMA user_version = 0' ;;
	tables)
		if pg_test; then
			db "DROP TABLE acme_nonces, acme_objects, crl, token_clock, used_tokens, revocations, certs, schema_version"
			# (db_pg.c names a database by libpq's view of it.)
			name="postgresql inca on $INCA_PG_DIR:5432 as postgres"
		else
			db "DROP TABLE acme_nonces; DROP TABLE acme_objects; DROP TABLE crl; DROP TABLE token_clock; DROP TABLE used_tokens; DROP TABLE revocations; DROP TABLE certs; DROP TABLE schema_version; PRAGMA user_version = 0; VACUUM"
		fi ;;
	esac
	assert_equal "$(db_tables "$CA")" 0
	msg="database $name has no CA schema: it is empty or was replaced, and only ca-init creates one (nothing was changed)"
	# The spent token, and a fresh one: neither issues.
	run -4 --separate-stderr cli_sign "$t" "$D/foo.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: $msg"
	run -4 --separate-stderr api_sign "$(mint)" "$D/foo.csr"
	assert_api_error 500 "$msg"
	run -4 --separate-stderr ca-revoke --offline --dir "$CA" 12345
	assert_equal "$stderr" "ca-revoke: $msg"
	run -4 --separate-stderr ca-list --dir "$CA"
	assert_output ""
	assert_equal "$stderr" "ca-list: $msg"
	# Still empty: no schema was created behind the operator's back.
	assert_equal "$(db_tables "$CA")" 0
}

# The two below act on SQLite's file; on PostgreSQL the schema emptied of
# its tables is the same attack (the test after them, on both backends).
# bats test_tags=sqlite
@test "attack: a database truncated to 0 bytes is refused (exit 4), not given a fresh schema" {
	empty_db_refused truncate
}

# bats test_tags=sqlite
@test "attack: a database replaced by an empty SQLite file is refused (exit 4)" {
	empty_db_refused sqlite
}

@test "attack: a database whose tables were all dropped is refused (exit 4), not given a fresh schema" {
	empty_db_refused tables
}

# SQLite's rule: its first writer migrates; a PostgreSQL database, shared
# by hosts, is migrated only by ca-init --migrate (pg.bats).
# bats test_tags=sqlite
@test "attack: ca-list reads without migrating: a version 1 database stays version 1" {
	fresh v1
	run -0 --separate-stderr cli_sign "$(mint)" "$D/foo.csr"
	db "DROP TABLE acme_nonces; DROP TABLE acme_objects; DROP TABLE token_clock; ALTER TABLE crl DROP COLUMN revocations; UPDATE schema_version SET version = 1"
	run -0 --separate-stderr ca-list --dir "$CA"
	# This one and ca-serve's, which ca-init issued.
	assert_equal "$(jq -s length <<<"$output")" 2
	assert_equal "$(db 'select version from schema_version')" 1
	# A writer migrates it (a step, not a fresh schema): the inventory stays.
	run -0 --separate-stderr cli_sign "$(mint)" "$D/foo.csr"
	assert_equal "$(db 'select version from schema_version')" 4
	assert_equal "$(certs_count)" 2
}

# ---- notBefore is bounded -----------------------------------------------

@test "attack: a 5-minute token cannot buy a certificate valid from 2030" {
	fresh nb
	refused 1 403 "notBefore is more than 24h ahead (maxNotBeforeDelay)" \
		"$(mint)" "$D/foo.csr" "2030-01-01T00:00:00Z"
	refused 1 403 "notBefore is more than 24h ahead (maxNotBeforeDelay)" \
		"$(mint)" "$D/foo.csr" "25h"
	# Within the bound: issued, starting then.
	run -0 --separate-stderr cli_sign "$(mint)" "$D/foo.csr" 23h
	local nb
	nb=$(openssl x509 -noout -startdate <<<"$output" | cut -d= -f2)
	assert_equal "$(( $(date -d "$nb" +%s) - $(date +%s) > 22 * 3600 ))" 1
	# The bound is a claim: one hour here.
	jq '.authority.claims.maxNotBeforeDelay = "1h"' "$CA/config/ca.json" >"$D/nb.json"
	mv "$D/nb.json" "$CA/config/ca.json"
	refused 1 403 "notBefore is more than 1h ahead (maxNotBeforeDelay)" \
		"$(mint)" "$D/foo.csr" "2h"
	run -0 --separate-stderr cli_sign "$(mint)" "$D/foo.csr" 30m
	jq '.authority.claims.maxNotBeforeDelay = "soon"' "$CA/config/ca.json" >"$D/nb.json"
	mv "$D/nb.json" "$CA/config/ca.json"
	run -4 --separate-stderr cli_sign "$(mint)" "$D/foo.csr"
	assert_equal "$stderr" 'ca-sign: ca.json: authority.claims.maxNotBeforeDelay: a duration like "24h"'
}

# ---- serials as openssl prints them -------------------------------------

@test "serial: every documented form reaches the same certificate; ambiguous and malformed forms are explained" {
	fresh serials
	run -0 --separate-stderr cli_sign "$(mint)" "$D/foo.csr"
	printf '%s\n' "$output" >"$D/s.pem"
	local dec hex colons
	dec=$(serial_of "$D/s.pem")
	hex=$(openssl x509 -in "$D/s.pem" -noout -serial | cut -d= -f2)
	colons=$(sed 's/../&:/g; s/:$//' <<<"$hex")
	for form in "$dec" "0x$hex" "serial=$hex" "$colons" "$(tr 'A-F' 'a-f' <<<"$colons")"; do
		run -0 --separate-stderr ca-list --dir "$CA" --serial "$form"
		assert_equal "$(jq -r .serial <<<"$output")" "$dec"
	done
	# openssl's own line, pasted whole, revokes.
	run -0 --separate-stderr ca-revoke --offline --dir "$CA" \
		"$(openssl x509 -in "$D/s.pem" -noout -serial)"
	assert_equal "$(jq -r .serial <<<"$output")" "$dec"
	# Digits alone are decimal, even when they were meant as hex.
	run -1 --separate-stderr ca-list --dir "$CA" --serial 1234
	assert_equal "$stderr" "ca-list: no certificate with serial 1234"
	local forms="decimal digits, or hexadecimal as 0xHEX, HH:HH:..., serial=HEX (openssl x509 -serial), or digits with a letter a-f"
	for bad in "12g4" "0x" "serial=" "ab::cd" "abc:d" "0" "0x00" "$(printf 'ab%.0s' {1..21})"; do
		run -2 --separate-stderr ca-revoke --offline --dir "$CA" "$bad"
		assert_equal "$stderr" "ca-revoke: $bad: not a serial number ($forms)"
		run -2 --separate-stderr ca-list --dir "$CA" --serial "$bad"
		assert_equal "$stderr" "ca-list: --serial $bad: not a serial number ($forms)"
		run -2 --separate-stderr ca-token --offline --dir "$CA" --password-file "$D/pw" --revoke "$bad"
		assert_equal "$stderr" "ca-token: --revoke $bad: not a serial number ($forms)"
	done
	# ca-token puts the canonical decimal in sub.
	run -0 --separate-stderr ca-token --offline --dir "$CA" --password-file "$D/pw" --revoke "serial=$hex"
	assert_equal "$(claims "$output" | jq -r .sub)" "$dec"
}

# ---- token files ----------------------------------------------------------

@test "token file: a 60-name token (over 1 KiB) is read with the token limit; empty and oversized files have their own messages" {
	fresh tokfile
	local names=() i t
	for i in $(seq 1 60); do names+=("dns:n$i.example.com"); done
	csr many n1.example.com "${names[@]}"
	t=$(mint --sub n1.example.com --set sans="$(printf 'n%d.example.com\n' $(seq 1 60) | jq -R . | jq -sc .)")
	[ "${#t}" -gt 1024 ]
	printf '%s\n' "$t" >"$D/tok"
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token-file "$D/tok" <"$D/many.csr"
	assert_equal "$(certs_count)" 1
	: >"$D/empty"
	run -3 --separate-stderr ca-sign --offline --dir "$CA" --token-file "$D/empty" <"$D/foo.csr"
	assert_equal "$stderr" "ca-sign: $D/empty: no token in the file (its first line is empty)"
	run -3 --separate-stderr ca-revoke --offline --dir "$CA" --token-file "$D/empty" 12345
	assert_equal "$stderr" "ca-revoke: $D/empty: no token in the file (its first line is empty)"
	head -c 16385 /dev/zero | tr '\0' a >"$D/big"
	run -3 --separate-stderr ca-sign --offline --dir "$CA" --token-file "$D/big" <"$D/foo.csr"
	assert_equal "$stderr" "ca-sign: $D/big: token longer than 16384 bytes"
	# At the limit itself the file is read, and the token judged as a token.
	head -c 16384 /dev/zero | tr '\0' a >"$D/atlimit"
	run -3 --separate-stderr ca-sign --offline --dir "$CA" --token-file "$D/atlimit" <"$D/foo.csr"
	refute_regex "$stderr" 'longer than'
	assert_regex "$stderr" '^ca-sign: token rejected: '
	# An empty --token: one message, with or without --key-out.
	run -2 --separate-stderr ca-sign --offline --dir "$CA" --token "" <"$D/foo.csr"
	assert_equal "$stderr" "ca-sign: --token is empty: give the token from ca-token"
	run -2 --separate-stderr ca-sign --offline --dir "$CA" --token "" --key-out "$D/k.pem"
	assert_equal "$stderr" "ca-sign: --token is empty: give the token from ca-token"
	run -2 --separate-stderr ca-revoke --offline --dir "$CA" --token "" 12345
	assert_equal "$stderr" "ca-revoke: --token is empty: give the token from ca-token"
	assert_equal "$(certs_count)" 1
}

# ---- one loader -----------------------------------------------------------

@test "config: ca-token --offline and the authority read maxTokenLifetime by one rule" {
	fresh life
	local v msg
	cp "$CA/config/ca.json" "$D/life.json"
	for v in 5 '"0s"' '"-1m"' '"soon"'; do
		# What is no duration at all is refused with the schema; a
		# duration that is not above zero by the one reading of it.
		msg='ca.json: authority.maxTokenLifetime: a duration like "24h"'
		[ "$v" != '"0s"' ] || msg='ca.json: authority.maxTokenLifetime: a duration above zero, like "1h"'
		jq ".authority.maxTokenLifetime = $v" "$D/life.json" | put_file "$CA/config/ca.json"
		run -4 --separate-stderr ca-token --offline --dir "$CA" --password-file "$D/pw" foo.example.com
		assert_output ""
		assert_equal "$stderr" "ca-token: $msg"
		run -4 --separate-stderr cli_sign "$(mint)" "$D/foo.csr"
		assert_equal "$stderr" "ca-sign: $msg"
	done
	# A good value is the same limit on both sides.
	jq '.authority.maxTokenLifetime = "10m"' "$D/life.json" | put_file "$CA/config/ca.json"
	run -2 --separate-stderr ca-token --offline --dir "$CA" --password-file "$D/pw" --not-after 11m foo.example.com
	assert_equal "$stderr" "ca-token: token lifetime 660s exceeds the CA's maximum 600s (maxTokenLifetime)"
	run -0 --separate-stderr ca-token --offline --dir "$CA" --password-file "$D/pw" --not-after 10m foo.example.com
	run -0 --separate-stderr cli_sign "$output" "$D/foo.csr"
	# A home without ca.json: the same words from both.
	run -4 --separate-stderr ca-token --offline --dir "$D/nowhere" --password-file "$D/pw" foo.example.com
	assert_equal "$stderr" "ca-token: $D/nowhere/config/ca.json: no CA here (run ca-init, or give --dir)"
	run -4 --separate-stderr ca-sign --offline --dir "$D/nowhere" --token "$(mint)" <"$D/foo.csr"
	assert_equal "$stderr" "ca-sign: $D/nowhere/config/ca.json: no CA here (run ca-init, or give --dir)"
}

# ---- exit codes -----------------------------------------------------------

@test "exit codes: a wrong CA password is 1 in every program" {
	fresh pw
	printf 'wrong horse\n' >"$D/wrongpw"
	# ca-sign --offline: ca.json's passwordFile opens the signing key.
	jq --arg p "$D/wrongpw" '.passwordFile = $p' "$CA/config/ca.json" >"$D/pw.json"
	put_file "$CA/config/ca.json" <"$D/pw.json"
	run -1 --separate-stderr cli_sign "$(mint)" "$D/foo.csr"
	assert_equal "$stderr" "ca-sign: signing key: $CA/secrets/intermediate_ca_key: cannot decrypt key: wrong password"
	run -1 --separate-stderr api_sign "$(mint)" "$D/foo.csr"
	assert_api_error 500 "signing key: $CA/secrets/intermediate_ca_key: cannot decrypt key: wrong password"
	assert_equal "$(rows)" "0 0"
	# ca-token: the provisioner key.
	run -1 --separate-stderr ca-token --offline --dir "$CA" --password-file "$D/wrongpw" foo.example.com
	assert_regex "$stderr" "^ca-token: provisioner key: "
	# Stateless ca-sign: the --ca-key.
	run -1 --separate-stderr ca-sign --ca-cert "$CA/certs/intermediate_ca.crt" \
		--ca-key "$CA/secrets/intermediate_ca_key" --password-file "$D/wrongpw" <"$D/foo.csr"
	assert_equal "$stderr" "ca-sign: $CA/secrets/intermediate_ca_key: cannot decrypt key: wrong password"
}

@test "exit codes: a provisioner key whose alg does not match its curve is a configuration failure (4)" {
	fresh alg
	local t
	t=$(mint)
	jq '.authority.provisioners[0].key.alg = "ES384"' "$CA/config/ca.json" >"$D/alg.json"
	put_file "$CA/config/ca.json" <"$D/alg.json"
	run -4 --separate-stderr cli_sign "$t" "$D/foo.csr"
	assert_regex "$stderr" '^ca-sign: ca.json: authority.provisioners\[0\].key: jwk: alg "ES384" does not match the key \(ES256\)'
	run -4 --separate-stderr api_sign "$t" "$D/foo.csr"
	assert_equal "$(jq -r .status <<<"$output")" 500
	run -4 --separate-stderr ca-revoke --offline --dir "$CA" --token "$(mint --path revoke --sub 12345)" 12345
	assert_regex "$stderr" '^ca-revoke: ca.json: authority.provisioners\[0\].key: jwk: alg "ES384"'
	assert_equal "$(rows)" "0 0"
}

# ---- signing happens outside the write lock ----------------------------

@test "lock: with another writer holding the database, a request the profile refuses is answered as such, not as busy" {
	fresh lock
	# An intermediate without a subject key identifier: the profile cannot
	# make a leaf under it (no authority key identifier).
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$D/noski.key" -out "$CA/certs/intermediate_ca.crt" \
		-subj "/CN=No SKI CA" -days 30 \
		-addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "subjectKeyIdentifier=none" -addext "authorityKeyIdentifier=none" 2>/dev/null
	openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$D/noski.key" -passout file:"$D/pw" \
		-out "$CA/secrets/intermediate_ca_key"
	jq '.db.busyTimeout = "0s"' "$CA/config/ca.json" >"$D/lock.json"
	put_file "$CA/config/ca.json" <"$D/lock.json"
	local t
	t=$(mint)
	hold_db_lock "$CA"
	run -1 --separate-stderr cli_sign "$t" "$D/foo.csr"
	assert_equal "$stderr" "ca-sign: issuer certificate has no subject key identifier"
	run -5 --separate-stderr ca-revoke --offline --dir "$CA" 12345
	assert_regex "$stderr" "^ca-revoke: database busy"
	release_db_lock
	assert_equal "$(rows)" "0 0"
}
