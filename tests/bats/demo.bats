#!/usr/bin/env bats
# `make demo` (contrib/demo.sh) runs to its end, the online CA included,
# and leaves no ca-serve running and nothing on disk.

load common

@test "demo: the offline and the online CA run to the end, and no ca-serve is left" {
	export TMPDIR="$BATS_TEST_TMPDIR/tmp"
	mkdir -p "$TMPDIR"
	run -0 --separate-stderr sh "$TOP/contrib/demo.sh"
	assert_line --index -1 "demo: ok"
	# The offline part, and the stateless one.
	assert_line --regexp '^\{"subject":"CN=web\.demo\.test","sans":\["web\.demo\.test","10\.0\.0\.5"\],"notAfter":"[0-9TZ:-]+"\}$'
	assert_line "app.demo.test: valid"
	# The online part: the certificate ca-sign got over HTTPS from ca-serve,
	# valid, renewed over mTLS (a new serial, recorded as a renewal), not
	# due again, revoked over mTLS, its renewal refused, listed in the CRL.
	assert_line '{"status":"ok"}'
	assert_line --regexp '^\{"subject":"CN=api\.demo\.test","sans":\["api\.demo\.test"\],"notAfter":"[0-9TZ:-]+"\}$'
	assert_line "api.demo.test: valid"
	assert_line --regexp '^renewed: serial=[0-9A-F]+ -> serial=[0-9A-F]+$'
	local renewed old new
	renewed=$(printf '%s\n' "${lines[@]}" | grep '^renewed: ')
	old=$(echo "$renewed" | cut -d' ' -f2)
	new=$(echo "$renewed" | cut -d' ' -f4)
	assert_regex "$old" '^serial=[0-9A-F]+$'
	assert_not_equal "$old" "$new"
	assert_line --regexp '^\{"serial":"[0-9]+","renewedFrom":"[0-9]+"\}$'
	assert_line "exit 6"
	assert_line --regexp '^\{"status":"ok","serial":"[0-9]+","reasonCode":4\}$'
	assert_line " Superseded"
	assert_line --regexp '^\{"serial":"[0-9]+","subject":"api\.demo\.test","revoked":true\}$'
	assert_regex "$stderr" 'ca-renew: certificate [0-9]+ is revoked'
	assert_regex "$stderr" 'certificate revoked'
	assert_line "ca-serve stopped"
	# Nothing survives: no server on the demo's directory, no directory.
	run -1 pgrep -f "ca-serve --dir $TMPDIR/"
	assert_equal "$(find "$TMPDIR" -mindepth 1 | wc -l)" 0
}

@test "demo: a step failing while ca-serve runs still stops it and removes the directory" {
	export TMPDIR="$BATS_TEST_TMPDIR/tmp"
	mkdir -p "$TMPDIR" "$BATS_TEST_TMPDIR/fake"
	# openssl, except that verifying the online certificate fails: a step
	# after ca-serve has started.
	local real
	real=$(command -v openssl)
	printf '#!/bin/sh\ncase "$*" in *api.crt*) echo "openssl: failing on purpose" >&2; exit 1 ;; esac\nexec %s "$@"\n' \
		"$real" >"$BATS_TEST_TMPDIR/fake/openssl"
	chmod 755 "$BATS_TEST_TMPDIR/fake/openssl"
	PATH="$BATS_TEST_TMPDIR/fake:$PATH" run -1 --separate-stderr sh "$TOP/contrib/demo.sh"
	assert_line "api.demo.test: valid"
	refute_line "demo: ok"
	# The demo's own refusal of a reused token, then the failure.
	assert_equal "$stderr" "$(printf 'ca-sign: token already used\nopenssl: failing on purpose')"
	run -1 pgrep -f "ca-serve --dir $TMPDIR/"
	assert_equal "$(find "$TMPDIR" -mindepth 1 | wc -l)" 0
}
