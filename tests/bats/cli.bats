#!/usr/bin/env bats
# The command line every program shares (lib/cli.c): long options by their
# whole name only, never guessed from a prefix, and a bad option named as
# it was typed.

load common

# The programs: every bin/ca-*, whoever added it.
programs() {
	local p
	for p in "$BIN"/ca-*; do
		[ -x "$p" ] && basename "$p"
	done
}

# The long options program $1's -h describes (the first on each option
# line: the text may name other programs' options), one a line.
long_options() {
	"$1" -h | grep -oE -- '^ +(-[a-zA-Z], )?--[a-z][a-z0-9-]*' |
		grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

@test "cli: every program refuses --hel and --vers (not --help, --version)" {
	local p
	for p in $(programs); do
		run -2 --separate-stderr "$p" --hel
		assert_equal "$output" ""
		assert_equal "$stderr" "$p: unrecognized option '--hel' (options are not abbreviated; see -h)"
		run -2 --separate-stderr "$p" --vers
		assert_equal "$output" ""
		assert_equal "$stderr" "$p: unrecognized option '--vers' (options are not abbreviated; see -h)"
	done
}

@test "cli: every long option of every program, less its last letter, is refused" {
	local p o a n=0 bad=""
	for p in $(programs); do
		for o in $(long_options "$p"); do
			a=${o%?}
			# A shorter spelling that is itself an option is not an abbreviation.
			if long_options "$p" | grep -qxF -- "$a"; then
				continue
			fi
			n=$((n + 1))
			run -2 --separate-stderr "$p" "$a" x
			[ "$stderr" = "$p: unrecognized option '$a' (options are not abbreviated; see -h)" ] ||
				bad="$bad $p:$a($status:$stderr)"
			run -2 --separate-stderr "$p" "$a=x"
			[ "$stderr" = "$p: unrecognized option '$a' (options are not abbreviated; see -h)" ] ||
				bad="$bad $p:$a=($status:$stderr)"
		done
	done
	assert_equal "${bad# }" ""
	# Enough options were tried for the loop to mean something.
	[ "$n" -ge 40 ]
}

@test "cli: the issue's cases: --sa is not --san, --ke= is not --key-out" {
	run -2 --separate-stderr ca-token --offline --sa foo.example.com foo.example.com
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-token: unrecognized option '--sa' (options are not abbreviated; see -h)"
	run -2 --separate-stderr ca-sign --ke="$BATS_TEST_TMPDIR/k" --token x foo.example.com
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-sign: unrecognized option '--ke' (options are not abbreviated; see -h)"
	[ ! -e "$BATS_TEST_TMPDIR/k" ]
}

@test "cli: an abbreviation's value is never echoed (it may be a secret)" {
	run -2 --separate-stderr ca-sign --tok=s3cr3t-token foo.example.com
	assert_equal "$stderr" "ca-sign: unrecognized option '--tok' (options are not abbreviated; see -h)"
	refute_output --partial s3cr3t
	run -2 --separate-stderr ca-sign --no-such=s3cr3t foo.example.com
	assert_equal "$stderr" "ca-sign: unrecognized option '--no-such' (see -h)"
}

@test "cli: -san names -san, not -s, and points at --san" {
	run -2 --separate-stderr ca-token -san foo.example.com foo.example.com
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-token: unrecognized option '-san' (long options take two dashes: --san)"
	run -2 --separate-stderr ca-sign -dir=/tmp foo.example.com
	assert_equal "$stderr" "ca-sign: unrecognized option '-dir' (long options take two dashes: --dir)"
	run -2 --separate-stderr ca-list -revoked
	assert_equal "$stderr" "ca-list: unrecognized option '-revoked' (long options take two dashes: --revoked)"
}

@test "cli: a cluster with a letter that is no option is named whole" {
	run -2 --separate-stderr ca-verify -qz
	assert_equal "$stderr" "ca-verify: unrecognized option '-qz' (see -h)"
	run -2 --separate-stderr ca-verify -zq
	assert_equal "$stderr" "ca-verify: unrecognized option '-zq' (see -h)"
	run -2 --separate-stderr ca-list -hx
	assert_equal "$output" ""
	assert_equal "$stderr" "ca-list: unrecognized option '-hx' (see -h)"
	run -2 --separate-stderr ca-list -x
	assert_equal "$stderr" "ca-list: unrecognized option '-x' (see -h)"
}

@test "cli: the whole name still works, with = or a separate value" {
	run -0 --separate-stderr ca-list --help
	assert_line --index 0 --partial "usage: ca-list"
	run -0 --separate-stderr ca-verify -qh
	assert_line --index 0 --partial "usage: ca-verify"
	run -2 --separate-stderr ca-list --expiring=-1h
	assert_equal "$stderr" "ca-list: --expiring -1h: a duration from now, not negative"
	run -2 --separate-stderr ca-list --expiring -1h
	assert_equal "$stderr" "ca-list: --expiring -1h: a duration from now, not negative"
}

@test "cli: an option's argument that starts with a dash is not an option" {
	run -2 --separate-stderr ca-list --expiring -san
	assert_equal "$stderr" "ca-list: --expiring: -san: bad duration (try 24h, 90m, 1h30m)"
}

@test "cli: a missing or unwanted argument names the option" {
	run -2 --separate-stderr ca-list --expiring
	assert_equal "$stderr" "ca-list: option --expiring needs an argument (see -h)"
	run -2 --separate-stderr ca-list --revoked=yes
	assert_equal "$stderr" "ca-list: option --revoked takes no argument (see -h)"
}

@test "cli: options after operands are still read (and checked)" {
	run -2 --separate-stderr ca-token --offline foo.example.com --sa x
	assert_equal "$stderr" "ca-token: unrecognized option '--sa' (options are not abbreviated; see -h)"
}
