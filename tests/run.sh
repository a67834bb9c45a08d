#!/bin/sh
# Run every test (C unit tests, then the bats suites) and count them.
# Each runner speaks TAP.  A runner fails, with a "not ok" line of its own,
# when its plan (1..N) does not match the tests it reported (it stopped
# early, or never started), when it exits non-zero without reporting a
# failure, or when it was asked for and does not exist.  A skipped test
# counts as failed: `make check` installs every dependency, so a skip only
# hides an untested path.  The last line is "N passed, N failed".
#
#   TESTS="inspect sign"  only these bats suites (a name without a suite fails)
#   UNITS=0               no C unit tests
#   JOBS=N                runners at a time (default: the number of CPUs + 1)
#   FIRST="fuzz memcheck" suites started before the others (the longest:
#                         fuzz fuzzes for a fixed time, memcheck runs
#                         valgrind), so that none is left running alone
#   PG_SUITES="..."       suites run a second time with their CA homes on
#                         PostgreSQL (INCA_TEST_DB=postgresql, tests tagged
#                         sqlite left out), as "SUITE@pg"; "" for none.
#                         Default ("all"): every suite whose CA homes hold
#                         a database (pg_all below).
#                         Those of them that run at all (TESTS) get one
#                         throwaway cluster (tests/pg.sh), started here in
#                         the background and stopped on exit.
#   INCA_BIN=DIR          the programs and unit tests to test (default: bin;
#                         make check-asan points it at the sanitizer build)
#
# Runners go in parallel, each into its own file; their TAP is printed
# whole and in a fixed order: units, then FIRST's suites, then the others,
# each group in the order of TESTS (by name by default).
# A comment line after each runner's TAP gives its wall time, "# NAME: N s".
cd "$(dirname "$0")/.." || exit 1
out=$(mktemp -d)
pgdir=""
trap 'rm -rf "$out"; [ -z "$pgdir" ] || sh tests/pg.sh stop "$pgdir"' EXIT
trap 'exit 130' INT TERM
jobs=${JOBS:-$(($(nproc 2>/dev/null || echo 1) + 1))}
first=${FIRST-fuzz memcheck}
order=""	# runner names in printing order
running=0
next=1		# index in $order of the next runner to print

# start NAME COMMAND...: run COMMAND in the background into NAME.tap and
# NAME.err; NAME.rc appears, holding its status, when it has finished.
start() {
	name=$1
	shift
	order="$order $name"
	(
		t0=$(date +%s)
		"$@" >"$out/$name.tap" 2>"$out/$name.err" </dev/null
		echo $? >"$out/$name.st"
		echo $(($(date +%s) - t0)) >"$out/$name.secs"
		mv "$out/$name.st" "$out/$name.rc"
	) &
	running=$((running + 1))
}

# broken NAME WHY: a runner that could not start.
broken() {
	order="$order $1"
	printf '1..1\nnot ok 1 - %s\n' "$2" >"$out/$1.tap"
	: >"$out/$1.err"
	echo 1 >"$out/$1.rc"
}

# check NAME: append to NAME.tap a "not ok" line for each way the runner
# failed that its own TAP does not show.
check() {
	t=$out/$1.tap
	st=$(cat "$out/$1.rc")
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$t" | head -n 1)
	ran=$(grep -cE '^(not )?ok( |$)' "$t")
	if [ -z "$plan" ]; then
		echo "not ok - $1: no TAP plan (it ran $ran tests)" >>"$t"
	elif [ "$plan" -ne "$ran" ]; then
		echo "not ok - $1: planned $plan tests, ran $ran" >>"$t"
	fi
	if [ "$st" -ne 0 ] && ! grep -q '^not ok' "$t"; then
		echo "not ok - $1 exited $st" >>"$t"
	fi
	if [ "$st" -ne 0 ] || grep -q '^not ok' "$t"; then
		cat "$out/$1.err" >&2
	fi
	n=$(grep -ciE '^ok .*# skip' "$t")
	if [ "$n" -gt 0 ]; then
		echo "# $1: $n skipped, counted as failed" >>"$t"
	fi
}

# flush: print, in order, every finished runner not yet printed.
flush() {
	while :; do
		# shellcheck disable=SC2086
		name=$(printf '%s\n' $order | sed -n "${next}p")
		if [ -z "$name" ] || [ ! -e "$out/$name.rc" ]; then
			return 0
		fi
		check "$name"
		cat "$out/$name.tap"
		[ ! -e "$out/$name.secs" ] || echo "# $name: $(cat "$out/$name.secs") s"
		next=$((next + 1))
	done
}

# settle N: wait (printing what finishes) until at most N runners are busy.
settle() {
	while :; do
		done_=$(find "$out" -name '*.rc' | wc -l)
		# shellcheck disable=SC2086
		started=$(printf '%s\n' $order | grep -c .)
		running=$((started - done_))
		flush
		[ "$running" -gt "$1" ] || return 0
		sleep 0.2
	done
}

if [ "${UNITS:-1}" = 1 ]; then
	for src in tests/unit/test_*.c; do
		# Not t: settle's check() sets it when a runner has finished.
		unit=${INCA_BIN:-bin}/$(basename "$src" .c)
		if [ -x "$unit" ]; then
			settle $((jobs - 1))
			start "$(basename "$unit")" "$unit"
		else
			broken "$(basename "$unit")" "$unit is not built (make units)"
		fi
	done
fi

if [ -n "${TESTS:-}" ]; then
	names=$TESTS
else
	names=$(for s in tests/bats/*.bats; do basename "$s" .bats; done)
fi
# FIRST's suites, of those that run at all, go to the front.
lead=""
rest=""
for s in $names; do
	case " $first " in
	*" $s "*) lead="$lead $s" ;;
	*) rest="$rest $s" ;;
	esac
done
names="$lead $rest"
# The suites that run on PostgreSQL too, and their cluster: by default
# every suite whose CA homes hold a database (issuance, spent tokens,
# renewal, revocation, the CRL, inventory, durability, faults, ACME's
# objects, nonces and account bindings, and the suites that reach those
# through names, DER, keys, policy, HTTP, the network and the clients).
# Never: those about ca.json, ca-init, stateless signing, inspection and
# the documents (no records), pg, pg_hosts and pgbouncer (their own
# cluster), memcheck (valgrind).  "all" is the default list, by name.
pg_all="offline revoke inventory durability handler crl faults
faults_serve renew revoke_online serve_lifecycle online token x5c
attacks_tokens limits acme acme_eab renew_client serve oidc attacks_der
attacks_names attacks_keys attacks_secrets attacks_http attacks_net policy
client verify"
if [ "${PG_SUITES-}" = all ]; then
	PG_SUITES=$pg_all
fi
# shellcheck disable=SC2086
pg_want=" $(printf '%s ' ${PG_SUITES-$pg_all})"
pg_suites=""
for s in $names; do
	case $pg_want in
	*" $s "*) [ -f "tests/bats/$s.bats" ] && pg_suites="$pg_suites $s" ;;
	esac
done
if [ -n "$pg_suites" ]; then
	# Not under $out: the server's user must reach it.
	pgdir=$(mktemp -d /tmp/inca-pg.XXXXXX)
	sh tests/pg.sh start "$pgdir" >"$out/pg.log" 2>&1 &
	pgpid=$!
fi

for s in $names; do
	if [ -f "tests/bats/$s.bats" ]; then
		settle $((jobs - 1))
		start "$s" bats --tap -T "tests/bats/$s.bats"
	else
		broken "$s" "no such suite: tests/bats/$s.bats"
	fi
done
if [ -n "$pg_suites" ]; then
	if wait "$pgpid"; then
		for s in $pg_suites; do
			settle $((jobs - 1))
			start "$s@pg" env INCA_TEST_DB=postgresql INCA_PG_DIR="$pgdir" \
				bats --tap -T --filter-tags '!sqlite' "tests/bats/$s.bats"
		done
	else
		for s in $pg_suites; do
			broken "$s@pg" "the test PostgreSQL cluster did not start: $(tr '\n' ' ' <"$out/pg.log")"
		done
	fi
fi
settle 0
wait

all=$(cat "$out"/*.tap 2>/dev/null)
pass=$(printf '%s\n' "$all" | grep -E '^ok( |$)' | grep -vciE '# skip')
skip=$(printf '%s\n' "$all" | grep -E '^ok( |$)' | grep -ciE '# skip')
fail=$(($(printf '%s\n' "$all" | grep -c '^not ok') + skip))
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
