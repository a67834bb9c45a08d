#!/usr/bin/env bats
# ca-list over an inventory of 20000 certificates (bench/fill-inventory.sh:
# 1000 issued a day, 10 revoked, about 1000 still valid): the output goes
# out in large blocks, and --revoked and --expiring read the pages their
# rows are on, not the whole database.  System calls are counted with
# strace; nothing here is timed.

load common

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	# ca-init issues ca-serve's certificate: the one row to copy from.
	ca-init --dir "$D/ca" >/dev/null
	bash "$TOP/bench/fill-inventory.sh" "$D/ca/db/ca.db" 20000 10
	# On PostgreSQL: the same inventory, moved there as an operator would.
	if pg_test; then
		ca-init --migrate --dir "$D/ca" $(db_args) >/dev/null
	fi
}

db() { dbq "$D/ca" "$@"; }

# traced NAME CA-LIST-ARGS...: run ca-list under strace, its output in
# $D/NAME.out, its calls to write(2) on stdout and pread64(2) in
# $D/NAME.trace.
traced() {
	local n=$1
	shift
	strace -f -qq -e trace=write,pread64 -o "$D/$n.trace" \
		ca-list --dir "$D/ca" "$@" >"$D/$n.out"
}

@test "inventory: ok all 20001 certificates, oldest first, written in 64 KiB blocks" {
	traced all
	assert_equal "$(wc -l <"$D/all.out")" 20001
	assert_equal "$(jq -r .serial "$D/all.out" | sort -u | wc -l)" 20001
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
