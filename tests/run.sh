#!/bin/sh
# Run every test (C unit tests, then the bats suites) and count them.
# Each runner speaks TAP; the last line is "N passed, N failed".
# TESTS="inspect sign" limits the bats suites; UNITS=0 skips the unit tests.
cd "$(dirname "$0")/.." || exit 1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
rc=0

run_tap() { # name command...
	name=$1; shift
	"$@" >"$out/$name.tap" 2>"$out/$name.err"
	st=$?
	cat "$out/$name.tap"
	if [ "$st" -ne 0 ] && ! grep -q '^not ok' "$out/$name.tap"; then
		# A runner that died without reporting a failure: count it as one.
		echo "not ok - $name exited $st"
		cat "$out/$name.err" >&2
		echo "not ok - $name exited $st" >>"$out/$name.tap"
	fi
}

if [ "${UNITS:-1}" = 1 ]; then
	for t in bin/test_*; do
		[ -x "$t" ] || continue
		run_tap "$(basename "$t")" "$t"
	done
fi
suites=""
if [ -n "${TESTS:-}" ]; then
	for s in $TESTS; do suites="$suites tests/bats/$s.bats"; done
else
	suites=$(ls tests/bats/*.bats 2>/dev/null)
fi
for s in $suites; do
	run_tap "$(basename "$s" .bats)" bats --tap "$s"
done

pass=$(cat "$out"/*.tap 2>/dev/null | grep -E '^ok ' | grep -vc '# skip')
skip=$(cat "$out"/*.tap 2>/dev/null | grep -E '^ok ' | grep -c '# skip')
fail=$(cat "$out"/*.tap 2>/dev/null | grep -c '^not ok')
[ "$fail" -eq 0 ] || rc=1
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
exit $rc
