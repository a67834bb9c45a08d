#!/usr/bin/env bats
# ca-list over an inventory of 20000 certificates (bench/fill-inventory.sh:
# 1000 issued a day, 10 revoked, about 1000 still valid): the output goes
# out in large blocks, and --revoked and --expiring read the pages their
# rows are on, not the whole database.  System calls are counted with
# strace; nothing here is timed.  Renewal chains (--chain, renewedFrom,
# renewedBy) on rows added with the schema's certs.renewed_from.

load common

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	# ca-init issues ca-serve's certificate: the one row to copy from.
	ca-init --dir "$D/ca" >/dev/null
	bash "$TOP/bench/fill-inventory.sh" "$D/ca/db/ca.db" 20000 10
	# A renewal chain in the middle of the history: R1 renewed by R2,
	# R2 renewed twice (R3 and R4, as two renewals of one certificate
	# may), each 16 hours after the one it renews.
	local t
	t=$(($(date +%s) - 10 * 86400))
	sqlite3 "$D/ca/db/ca.db" <<-EOF
	PRAGMA foreign_keys = ON;
	INSERT INTO certs (serial, issued_at, not_before, not_after, subject,
	    sans, provisioner, renewed_from, der)
	SELECT s, $t + k * 57600, $t + k * 57600 - 60, $t + k * 57600 + 86400,
	    'renew.example.com', '["dns:renew.example.com"]', 'admin', f,
	    (SELECT der FROM certs LIMIT 1)
	FROM (SELECT '$R1' AS s, 0 AS k, NULL AS f UNION ALL
	      SELECT '$R2', 1, '$R1' UNION ALL
	      SELECT '$R3', 2, '$R2' UNION ALL
	      SELECT '$R4', 3, '$R2')
	ORDER BY k;
	EOF
	# On PostgreSQL: the same inventory, moved there as an operator would.
	if pg_test; then
		ca-init --migrate --dir "$D/ca" $(db_args) >/dev/null
	fi
}

# The renewal chain's serials.
R1=900000000000000000000000000000000000000000000001
R2=900000000000000000000000000000000000000000000002
R3=900000000000000000000000000000000000000000000003
R4=900000000000000000000000000000000000000000000004

db() { dbq "$D/ca" "$@"; }
# serial_dec PEM: the first certificate's serial in decimal.
serial_dec() {
	BC_LINE_LENGTH=0 bc <<<"ibase=16; $(openssl x509 -in "$1" -noout -serial | cut -d= -f2)"
}

# traced NAME CA-LIST-ARGS...: run ca-list under strace, its output in
# $D/NAME.out, its calls to write(2) on stdout and pread64(2) in
# $D/NAME.trace.
traced() {
	local n=$1
	shift
	strace -f -qq -e trace=write,pread64 -o "$D/$n.trace" \
		ca-list --dir "$D/ca" "$@" >"$D/$n.out"
}

@test "inventory: ok all 20005 certificates, oldest first, written in 64 KiB blocks" {
	traced all
	assert_equal "$(wc -l <"$D/all.out")" 20005
	assert_equal "$(jq -r .serial "$D/all.out" | sort -u | wc -l)" 20005
	run -0 bash -c "jq -r .issuedAt '$D/all.out' | sort -c"
	bytes=$(wc -c <"$D/all.out")
	writes=$(grep -c '^[0-9]* *write(1,' "$D/all.trace")
	# Two write() calls a row would be 40002.
	assert_equal "$writes" $(((bytes + 65535) / 65536))
}

@test "inventory: ok --revoked reads the revocations, not every certificate" {
	traced revoked --revoked
	assert_equal "$(wc -l <"$D/revoked.out")" 10
	assert_equal "$(jq -r .serial "$D/revoked.out" | sort)" "$(db 'select serial from revocations order by serial')"
	assert_equal "$(jq -c '[.revoked, .reasonCode, .revocationMethod]' "$D/revoked.out" | sort -u)" '[true,1,"offline"]'
	run -0 bash -c "jq -r .issuedAt '$D/revoked.out' | sort -c"
	# Visiting every certificate reads the whole issue-time index (over
	# 300 pages of 4 KiB); ten revocations need a few dozen (SQLite).
	if ! pg_test; then
		reads=$(grep -c 'pread64(' "$D/revoked.trace")
		assert [ "$reads" -lt 100 ]
	fi
	assert_equal "$(grep -c '^[0-9]* *write(1,' "$D/revoked.trace")" 1
}

@test "inventory: ok --expiring reads the expiring ones, not every certificate" {
	now=$(date +%s)
	traced expiring --expiring 12h
	later=$(date +%s)
	# The ones expiring within 12h of when ca-list ran: 500 give or take
	# the seconds between the two clock readings.
	n=$(wc -l <"$D/expiring.out")
	assert [ "$n" -ge "$(db "select count(*) from certs where not_after between $later and $now + 43200 and serial not in (select serial from revocations)")" ]
	assert [ "$n" -le "$(db "select count(*) from certs where not_after between $now and $later + 43200 and serial not in (select serial from revocations)")" ]
	assert [ "$n" -ge 490 ]
	assert_equal "$(jq -r .revoked "$D/expiring.out" | sort -u)" false
	# SQLite's pages; PostgreSQL reads over its socket, not from the file.
	if ! pg_test; then
		reads=$(grep -c 'pread64(' "$D/expiring.trace")
		all=$(db 'PRAGMA page_count')
		assert [ "$reads" -lt $((all / 10)) ]
	fi
}

@test "inventory: fail a full stdout (exit 4)" {
	run -4 --separate-stderr bash -c "ca-list --dir '$D/ca' >/dev/full"
	assert_equal "$stderr" "ca-list: write: No space left on device"
}

# --- renewal chains ----------------------------------------------------------

@test "inventory: ok --chain from any of its certificates lists the whole chain, oldest first" {
	local want s
	want="[\"$R1\",null,[\"$R2\"]]
[\"$R2\",\"$R1\",[\"$R3\",\"$R4\"]]
[\"$R3\",\"$R2\",[]]
[\"$R4\",\"$R2\",[]]"
	for s in "$R1" "$R2" "$R3" "$R4"; do
		run -0 --separate-stderr ca-list --dir "$D/ca" --chain "$s"
		assert_equal "$stderr" ""
		assert_equal "$(jq -c '[.serial, .renewedFrom, .renewedBy]' <<<"$output")" "$want"
	done
	# Every member as the full listing shows it, plus renewedBy.
	assert_equal "$(jq -c 'del(.renewedBy)' <<<"$output")" \
		"$(ca-list --dir "$D/ca" | grep -F "\"renewedFrom\":" | grep -E "\"serial\":\"($R1|$R2|$R3|$R4)\"")"
}

@test "inventory: ok --chain takes the serial in hex" {
	run -0 --separate-stderr ca-list --dir "$D/ca" --chain "0x$(BC_LINE_LENGTH=0 bc <<<"obase=16; $R3")"
	assert_equal "$(jq -r .serial <<<"$output" | tr '\n' ' ')" "$R1 $R2 $R3 $R4 "
}

@test "inventory: ok --chain of a certificate never renewed is that certificate" {
	local s
	s=$(db "select serial from certs where renewed_from is null and serial not in (select renewed_from from certs where renewed_from is not null) limit 1 offset 5000")
	run -0 --separate-stderr ca-list --dir "$D/ca" --chain "$s"
	assert_equal "$(jq -c '[.serial, .renewedFrom, .renewedBy]' <<<"$output")" "[\"$s\",null,[]]"
}

@test "inventory: ok --serial shows renewedFrom and renewedBy" {
	run -0 --separate-stderr ca-list --dir "$D/ca" --serial "$R2"
	assert_equal "$stderr" ""
	assert_equal "$(jq -c '[.serial, .renewedFrom, .renewedBy]' <<<"$output")" "[\"$R2\",\"$R1\",[\"$R3\",\"$R4\"]]"
	# renewedBy sits after renewedFrom, before revoked.
	assert_equal "$(jq -c 'keys_unsorted[7:10]' <<<"$output")" '["renewedFrom","renewedBy","revoked"]'
	run -0 --separate-stderr ca-list --dir "$D/ca" --serial "$R4"
	assert_equal "$(jq -c '[.renewedFrom, .renewedBy]' <<<"$output")" "[\"$R2\",[]]"
}

@test "inventory: ok the full listing shows renewedFrom, not renewedBy" {
	run -0 --separate-stderr ca-list --dir "$D/ca"
	assert_equal "$(grep -F "\"serial\":\"$R3\"" <<<"$output" | jq -c '[.renewedFrom, has("renewedBy")]')" "[\"$R2\",false]"
	assert_equal "$(jq -r 'select(.renewedFrom != null) | .serial' <<<"$output" | tr '\n' ' ')" "$R2 $R3 $R4 "
}

@test "inventory: ok --chain reads the chain, not every certificate" {
	traced chain --chain "$R4"
	assert_equal "$(wc -l <"$D/chain.out")" 4
	# Looking renewals up without the renewed_from index would read the
	# whole certs table (thousands of pages) for each of the four
	# (SQLite's pages; PostgreSQL reads over its socket).
	if ! pg_test; then
		reads=$(grep -c 'pread64(' "$D/chain.trace")
		assert [ "$reads" -lt 100 ]
	fi
}

@test "inventory: fail --chain of an unknown serial (exit 1)" {
	run -1 --separate-stderr ca-list --dir "$D/ca" --chain 12345
	assert_output ""
	assert_equal "$stderr" "ca-list: no certificate with serial 12345"
}

@test "inventory: usage --chain with another selection, or a malformed serial (exit 2)" {
	run -2 --separate-stderr ca-list --dir "$D/ca" --chain "$R1" --serial "$R2"
	assert_output ""
	assert_equal "$stderr" "ca-list: --revoked, --expiring, --serial and --chain are exclusive"
	run -2 --separate-stderr ca-list --dir "$D/ca" --chain "$R1" --revoked
	assert_equal "$stderr" "ca-list: --revoked, --expiring, --serial and --chain are exclusive"
	run -2 --separate-stderr ca-list --dir "$D/ca" --chain nonsense
	[[ "$stderr" == "ca-list: --chain "* ]]
	run -2 --separate-stderr ca-list --dir "$D/ca" --chain "$R1" --chain "$R2"
	[[ "$stderr" == "ca-list: "*"--chain"* ]]
}

@test "inventory: failure --chain through a loop in a damaged database (exit 4)" {
	local h=$BATS_TEST_TMPDIR/loop
	ca-init --dir "$h" >/dev/null
	# Foreign keys off (sqlite3's default): what no CA writes.
	sqlite3 "$h/db/ca.db" <<-EOF
	INSERT INTO certs (serial, issued_at, not_before, not_after, subject,
	    sans, provisioner, renewed_from, der)
	SELECT s, 1, 0, 2, 'x', '[]', 'admin', f, (SELECT der FROM certs LIMIT 1)
	FROM (SELECT '11' AS s, '13' AS f UNION ALL SELECT '12', '11'
	      UNION ALL SELECT '13', '12');
	EOF
	run -4 --separate-stderr timeout 20 ca-list --dir "$h" --chain 12
	assert_output ""
	[[ "$stderr" == "ca-list: database: the renewal chain loops at certificate 1"[123] ]]
	# A certificate that renews itself.
	sqlite3 "$h/db/ca.db" "UPDATE certs SET renewed_from = '11' WHERE serial = '11'"
	run -4 --separate-stderr timeout 20 ca-list --dir "$h" --chain 11
	assert_equal "$stderr" "ca-list: database: the renewal chain loops at certificate 11"
}

@test "inventory: ok --chain of renewals made by ca-renew, each after the one it renewed" {
	local h=$BATS_TEST_TMPDIR/renew s0 s1 s2 s3 b
	ca-init --dir "$h" >/dev/null
	# ca-init's own certificate (ca-serve's), renewed three times in a
	# row, and its first renewal once more: all within a second or two,
	# so that the issue times tie.
	ca-renew --offline --dir "$h" --cert "$h/certs/server.crt" >"$BATS_TEST_TMPDIR/r1.pem"
	ca-renew --offline --dir "$h" --cert "$BATS_TEST_TMPDIR/r1.pem" >"$BATS_TEST_TMPDIR/r2.pem"
	ca-renew --offline --dir "$h" --cert "$BATS_TEST_TMPDIR/r2.pem" >"$BATS_TEST_TMPDIR/r3.pem"
	ca-renew --offline --dir "$h" --cert "$BATS_TEST_TMPDIR/r1.pem" >"$BATS_TEST_TMPDIR/b.pem"
	s0=$(serial_dec "$h/certs/server.crt")
	s1=$(serial_dec "$BATS_TEST_TMPDIR/r1.pem")
	s2=$(serial_dec "$BATS_TEST_TMPDIR/r2.pem")
	s3=$(serial_dec "$BATS_TEST_TMPDIR/r3.pem")
	b=$(serial_dec "$BATS_TEST_TMPDIR/b.pem")
	run -0 --separate-stderr ca-list --dir "$h" --chain "$s3"
	assert_equal "$stderr" ""
	assert_equal "$(jq -r .serial <<<"$output" | head -n 2 | tr '\n' ' ')" "$s0 $s1 "
	assert_equal "$(jq -r .serial <<<"$output" | sort | tr '\n' ' ')" "$(printf '%s\n' "$s0" "$s1" "$s2" "$s3" "$b" | sort | tr '\n' ' ')"
	# Every certificate comes after the one it renewed.
	run -0 jq -rs 'map(.serial) as $s | [to_entries[] | .key as $i |
		.value.renewedFrom as $f | select($f != null) |
		($s | index($f)) < $i] | (length == 4 and all)' <<<"$output"
	assert_output true
	run -0 --separate-stderr ca-list --dir "$h" --serial "$s1"
	assert_equal "$(jq -c '[.renewedFrom, (.renewedBy | sort)]' <<<"$output")" \
		"[\"$s0\",$(printf '%s\n' "$s2" "$b" | sort | jq -Rsc 'split("\n") | map(select(. != ""))')]"
	assert_equal "$(sqlite3 "$h/db/ca.db" "select renewed_from from certs where serial = '$s3'")" "$s2"
}
