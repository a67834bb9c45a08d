#!/usr/bin/env bats
# The repository's own hygiene: scripts pass shellcheck, pages pass mandoc.

load common

@test "lint: make lint is clean (mandoc -Tlint, shellcheck)" {
	command -v shellcheck >/dev/null || skip "shellcheck not installed"
	command -v mandoc >/dev/null || skip "mandoc not installed"
	run -0 --separate-stderr make -s -C "$TOP" lint
	assert_equal "$output" ""
	assert_equal "$stderr" ""
}

@test "lint: no unfinished markers in the C sources" {
	run -1 grep -rnE '\b(TODO|FIXME|XXX)\b' "$TOP"/lib "$TOP"/ca-*/ --include='*.[ch]'
}

@test "build: make install puts every program and page under DESTDIR/PREFIX" {
	run -0 make -s -C "$TOP" install DESTDIR="$BATS_TEST_TMPDIR/root" PREFIX=/opt/inca
	for p in "$BIN"/ca-*; do
		n=$(basename "$p")
		[ -x "$BATS_TEST_TMPDIR/root/opt/inca/bin/$n" ]
		# Section 1, or 8 for the server.
		[ -f "$BATS_TEST_TMPDIR/root/opt/inca/share/man/man1/$n.1" ] ||
			[ -f "$BATS_TEST_TMPDIR/root/opt/inca/share/man/man8/$n.8" ]
	done
	[ -f "$BATS_TEST_TMPDIR/root/opt/inca/share/man/man5/ca.json.5" ]
	[ -f "$BATS_TEST_TMPDIR/root/opt/inca/share/man/man7/inca.7" ]
	[ -f "$BATS_TEST_TMPDIR/root/opt/inca/share/man/man8/ca-serve.8" ]
}

# The rules that keep the suites from racing the programs they start: a
# ca.json is replaced by put_file (rename), not rewritten in place under a
# handler that may be reading it; a wait polls a condition evaluated anew
# (wait_until), not a "$(...)" expanded once; a background process is
# waited for by the shell that started it, never under run, whose subshell
# is not its parent: bash's wait there answers the status only if the
# parent had already reaped the process, and 255 (or 127) if not.
@test "lint: the suites change a ca.json with put_file, never a redirection or cp onto it" {
	run -1 grep -nE '(^|[^<2>])>[[:space:]]*"?\$[^ ]*config/ca\.json"?[[:space:]]*(;|$|\})|\bcp\b[^|;]*[[:space:]]"?\$[^ ]*config/ca\.json"?[[:space:]]*(;|$|\})' \
		"$TOP"/tests/bats/*.bats "$TOP"/tests/bats/helpers/*.bash
	assert_output ""
}

@test "lint: no wait_for condition holding a command substitution, which the shell expands once" {
	run -1 grep -nE '^[^#]*\bwait_for\b[^#]*\$\(' "$TOP"/tests/bats/*.bats "$TOP"/tests/bats/helpers/*.bash
	assert_output ""
}

@test "lint: no wait under run, in a subshell that is not the process's parent" {
	run -1 grep -nE '^[^#]*\brun\b[^#|;]*[[:space:]]wait[[:space:]]' "$TOP"/tests/bats/*.bats "$TOP"/tests/bats/helpers/*.bash
	assert_output ""
}
