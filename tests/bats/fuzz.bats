#!/usr/bin/env bats
# The libFuzzer harnesses in fuzz/: each one fuzzes a copy of its seed
# corpus for FUZZ_SECONDS (15) seconds through fuzz/run.sh and must end
# without a crash, a leak, undefined behaviour or a broken invariant.
# Longer campaigns: see fuzz/README.md.

load common

SECS=${FUZZ_SECONDS:-15}
KNOWN="csr pem names jose"

have_clang() {
	command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1
}

# fuzz_ok NAME...: fuzz each harness; the TAP lines of run.sh are the output.
fuzz_ok() {
	have_clang || skip "${FUZZ_CC:-clang} not installed (fuzz/run.sh --replay runs the seeds)"
	local args=() n k=0
	for n in "$@"; do
		args+=(-h "$n")
	done
	run "$TOP/fuzz/run.sh" "${args[@]}" "$SECS"
	# On failure bats shows this: the crash summary, artifact and log paths.
	printf '%s\n' "$output"
	assert_success
	for n in "$@"; do
		k=$((k + 1))
		assert_line --regexp "^ok $k - fuzz $n: [0-9]+ runs, no crash$"
	done
}

@test "fuzz: csr survives ${SECS} seconds" {
	fuzz_ok csr
}

@test "fuzz: pem survives ${SECS} seconds" {
	fuzz_ok pem
}

@test "fuzz: names survives ${SECS} seconds" {
	fuzz_ok names
}

@test "fuzz: jose survives ${SECS} seconds" {
	fuzz_ok jose
}

@test "fuzz: every other harness survives ${SECS} seconds" {
	local f n others=()
	for f in "$TOP"/fuzz/fuzz_*.c; do
		[ -f "$f" ] || continue
		n=${f##*/fuzz_}
		n=${n%.c}
		case " $KNOWN " in
		*" $n "*) ;;
		*) others+=("$n") ;;
		esac
	done
	[ "${#others[@]}" -gt 0 ] || skip "no harness besides: $KNOWN"
	fuzz_ok "${others[@]}"
}

@test "fuzz: seeds replay without libFuzzer when clang is missing" {
	# With clang the tests above run every seed first; this is the fallback.
	! have_clang || skip "clang installed: the seeds ran under libFuzzer above"
	run "$TOP/fuzz/run.sh" --replay
	printf '%s\n' "$output"
	assert_success
	refute_line --partial "not ok"
}
