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
