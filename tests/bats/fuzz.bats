#!/usr/bin/env bats
# The libFuzzer harnesses in fuzz/: each one fuzzes a copy of its seed
# corpus for FUZZ_SECONDS (15) seconds through fuzz/run.sh and must end
# without a crash, a leak, undefined behaviour or a broken invariant.
# Longer campaigns: see fuzz/README.md.

load common

SECS=${FUZZ_SECONDS:-15}
KNOWN="csr pem names jose inspect http apiserve hop config acmejws"

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

@test "fuzz: inspect survives ${SECS} seconds" {
	fuzz_ok inspect
}

@test "fuzz: http survives ${SECS} seconds" {
	fuzz_ok http
}

@test "fuzz: apiserve survives ${SECS} seconds" {
	fuzz_ok apiserve
}

@test "fuzz: hop survives ${SECS} seconds" {
	fuzz_ok hop
}

@test "fuzz: config survives ${SECS} seconds" {
	fuzz_ok config
}

@test "fuzz: acmejws survives ${SECS} seconds" {
	fuzz_ok acmejws
}

@test "fuzz: every harness in fuzz/ has its test above" {
	local f n
	for f in "$TOP"/fuzz/fuzz_*.c; do
		n=${f##*/fuzz_}
		n=${n%.c}
		case " $KNOWN " in
		*" $n "*) ;;
		*) fail "fuzz/fuzz_$n.c has no test in tests/bats/fuzz.bats" ;;
		esac
	done
}

@test "fuzz: every seed replays clean under gcc's sanitizers (no libFuzzer)" {
	run "$TOP/fuzz/run.sh" --replay
	printf '%s\n' "$output"
	assert_success
	refute_line --partial "not ok"
	assert_line --regexp "^ok [0-9]+ - replay csr: [0-9]+ inputs, no crash$"
	assert_line --regexp "^ok [0-9]+ - replay inspect: [0-9]+ inputs, no crash$"
	assert_line --regexp "^ok [0-9]+ - replay http: [0-9]+ inputs, no crash$"
	assert_line --regexp "^ok [0-9]+ - replay apiserve: [0-9]+ inputs, no crash$"
	assert_line --regexp "^ok [0-9]+ - replay hop: [0-9]+ inputs, no crash$"
	assert_line --regexp "^ok [0-9]+ - replay config: [0-9]+ inputs, no crash$"
	assert_line --regexp "^ok [0-9]+ - replay acmejws: [0-9]+ inputs, no crash$"
}
