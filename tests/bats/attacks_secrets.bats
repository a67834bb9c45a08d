#!/usr/bin/env bats
# Secrets and lost work: secret files others may read or replace, core
# dumps of processes holding keys, and outputs written after a COMMIT
# (--key-out, a closed stdout) that must not lose the certificate's key or
# spend a token for nothing.

load common
load helpers/authority

# A test that fails while a program waits on a FIFO must not leave it
# behind holding the suite's output open.
teardown() {
	local j
	for j in $(jobs -p); do
		kill "$j" 2>/dev/null || true
	done
}

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_ca
	make_openssl_ca "$D/o"
	csr foo foo.example.com dns:foo.example.com
}

# stateless ARGS...: ca-sign signing $D/foo.csr with the CA home's
# intermediate (encrypted: needs --password-file) or the given key.
stateless() {
	ca-sign --ca-cert "$CA/certs/intermediate_ca.crt" "$@" <"$D/foo.csr"
}

# A private copy of the openssl CA's key, given mode $1.
key_with_mode() {
	rm -f "$D/k"
	cp "$D/o/int.key" "$D/k"
	chmod "$1" "$D/k"
}

# wait_for COMMAND...: poll up to 10 s until COMMAND succeeds.
wait_for() {
	local i
	for i in $(seq 100); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# ---- permissions of secret files -------------------------------------------

@test "secrets: a CA key that group or others may read or write is refused, naming file and mode" {
	for m in 0640 0604 0620 0602 0660 0644; do
		key_with_mode "$m"
		run -4 --separate-stderr ca-sign --ca-cert "$D/o/int.crt" --ca-key "$D/k" <"$D/foo.csr"
		assert_output ""
		assert_equal "$stderr" "ca-sign: $D/k: mode $m lets group or others read or write it: refusing to use it (chmod 600)"
	done
	key_with_mode 0600
	run -0 --separate-stderr ca-sign --ca-cert "$D/o/int.crt" --ca-key "$D/k" <"$D/foo.csr"
	assert_output --partial "BEGIN CERTIFICATE"
	key_with_mode 0400
	run -0 --separate-stderr ca-sign --ca-cert "$D/o/int.crt" --ca-key "$D/k" <"$D/foo.csr"
}

@test "secrets: a password file that group or others may read is refused (stateless, ca-token, ca-init)" {
	cp "$D/pw" "$D/pw2"
	chmod 0640 "$D/pw2"
	run -4 --separate-stderr stateless --ca-key "$CA/secrets/intermediate_ca_key" --password-file "$D/pw2"
	assert_output ""
	assert_equal "$stderr" "ca-sign: $D/pw2: mode 0640 lets group or others read or write it: refusing to use it (chmod 600)"
	run -4 --separate-stderr ca-token --offline --dir "$CA" --password-file "$D/pw2" foo.example.com
	assert_output ""
	assert_equal "$stderr" "ca-token: $D/pw2: mode 0640 lets group or others read or write it: refusing to use it (chmod 600)"
	run -4 --separate-stderr ca-init --dir "$D/newca" --password-file "$D/pw2"
	assert_equal "$stderr" "ca-init: $D/pw2: mode 0640 lets group or others read or write it: refusing to use it (chmod 600)"
	run -1 test -e "$D/newca"
	chmod 0600 "$D/pw2"
	run -0 --separate-stderr stateless --ca-key "$CA/secrets/intermediate_ca_key" --password-file "$D/pw2"
	assert_output --partial "BEGIN CERTIFICATE"
}

@test "secrets: ca.json's passwordFile readable by others stops issuance before the token is spent" {
	local rows0 t
	rows0=$(rows)
	t=$(mint)
	chmod 0644 "$D/pw"
	run -4 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
	chmod 0600 "$D/pw"
	assert_output ""
	assert_equal "$stderr" "ca-sign: $D/pw: mode 0644 lets group or others read or write it: refusing to use it (chmod 600)"
	assert_equal "$(rows)" "$rows0"
	# The same token still works once the file is private again.
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
	assert_equal "$stderr" ""
}

@test "secrets: the CA key in the home readable by the group stops issuance" {
	local rows0
	rows0=$(rows)
	chmod 0640 "$CA/secrets/intermediate_ca_key"
	run -4 --separate-stderr ca-sign --offline --dir "$CA" --token "$(mint)" <"$D/foo.csr"
	chmod 0600 "$CA/secrets/intermediate_ca_key"
	assert_output ""
	assert_equal "$stderr" "ca-sign: signing key: $CA/secrets/intermediate_ca_key: mode 0640 lets group or others read or write it: refusing to use it (chmod 600)"
	assert_equal "$(rows)" "$rows0"
}

@test "secrets: a secrets directory open to group or others is refused (ca-sign, ca-token)" {
	local rows0 m
	rows0=$(rows)
	for m in 0750 0705 0770 0711; do
		chmod "$m" "$CA/secrets"
		run -4 --separate-stderr ca-sign --offline --dir "$CA" --token "$(mint)" <"$D/foo.csr"
		assert_output ""
		assert_equal "$stderr" "ca-sign: $CA/secrets: mode $m lets group or others in: refusing to use it (chmod 700)"
		run -4 --separate-stderr ca-token --offline --dir "$CA" foo.example.com
		assert_output ""
		assert_equal "$stderr" "ca-token: $CA/secrets: mode $m lets group or others in: refusing to use it (chmod 700)"
	done
	chmod 0700 "$CA/secrets"
	assert_equal "$(rows)" "$rows0"
	run -0 --separate-stderr ca-token --offline --dir "$CA" foo.example.com
}

@test "secrets: a key, a password or their directory owned by another user is refused" {
	local nobody
	nobody=$(id -u nobody)
	key_with_mode 0600
	chown nobody "$D/k"
	run -4 --separate-stderr ca-sign --ca-cert "$D/o/int.crt" --ca-key "$D/k" <"$D/foo.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: $D/k: owned by uid $nobody, neither the caller (uid $(id -u)) nor root: refusing to use it"
	cp "$D/pw" "$D/pwn"
	chown nobody "$D/pwn"
	run -4 --separate-stderr stateless --ca-key "$CA/secrets/intermediate_ca_key" --password-file "$D/pwn"
	assert_equal "$stderr" "ca-sign: $D/pwn: owned by uid $nobody, neither the caller (uid $(id -u)) nor root: refusing to use it"
	# The directory: whoever owns it can swap the file.
	mkdir -m 0700 "$D/theirs"
	cp "$D/o/int.key" "$D/theirs/k"
	chown nobody "$D/theirs"
	run -4 --separate-stderr ca-sign --ca-cert "$D/o/int.crt" --ca-key "$D/theirs/k" <"$D/foo.csr"
	assert_equal "$stderr" "ca-sign: $D/theirs: owned by uid $nobody, neither the caller (uid $(id -u)) nor root: refusing to use it"
	chmod 0700 "$CA/secrets"
	chown nobody "$CA/secrets"
	run -4 --separate-stderr ca-sign --offline --dir "$CA" --token "$(mint)" <"$D/foo.csr"
	chown "$(id -u)" "$CA/secrets"
	assert_equal "$stderr" "ca-sign: $CA/secrets: owned by uid $nobody, neither the caller (uid $(id -u)) nor root: refusing to use it"
}

@test "secrets: a directory others may write refuses its secrets, unless sticky like /tmp" {
	mkdir -m 0700 "$D/gw"
	cp "$D/o/int.key" "$D/gw/k"
	for m in 0770 0707 0777; do
		chmod "$m" "$D/gw"
		run -4 --separate-stderr ca-sign --ca-cert "$D/o/int.crt" --ca-key "$D/gw/k" <"$D/foo.csr"
		assert_output ""
		assert_equal "$stderr" "ca-sign: $D/gw: directory mode $m lets group or others replace $D/gw/k: refusing to use it"
	done
	chmod 1777 "$D/gw"
	run -0 --separate-stderr ca-sign --ca-cert "$D/o/int.crt" --ca-key "$D/gw/k" <"$D/foo.csr"
	assert_output --partial "BEGIN CERTIFICATE"
}

@test "secrets: a symlink is followed only to a target that passes the same check" {
	key_with_mode 0644
	ln -sf "$D/k" "$D/link"
	run -4 --separate-stderr ca-sign --ca-cert "$D/o/int.crt" --ca-key "$D/link" <"$D/foo.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: $D/link: mode 0644 lets group or others read or write it: refusing to use it (chmod 600)"
	chown nobody "$D/k"
	chmod 0600 "$D/k"
	run -4 --separate-stderr ca-sign --ca-cert "$D/o/int.crt" --ca-key "$D/link" <"$D/foo.csr"
	assert_equal "$stderr" "ca-sign: $D/link: owned by uid $(id -u nobody), neither the caller (uid $(id -u)) nor root: refusing to use it"
	chown "$(id -u)" "$D/k"
	run -0 --separate-stderr ca-sign --ca-cert "$D/o/int.crt" --ca-key "$D/link" <"$D/foo.csr"
	assert_output --partial "BEGIN CERTIFICATE"
	# A password through a symlink: the same rule.
	cp "$D/pw" "$D/pwt"
	chmod 0660 "$D/pwt"
	ln -sf "$D/pwt" "$D/pwlink"
	run -4 --separate-stderr stateless --ca-key "$CA/secrets/intermediate_ca_key" --password-file "$D/pwlink"
	assert_equal "$stderr" "ca-sign: $D/pwlink: mode 0660 lets group or others read or write it: refusing to use it (chmod 600)"
	chmod 0600 "$D/pwt"
	run -0 --separate-stderr stateless --ca-key "$CA/secrets/intermediate_ca_key" --password-file "$D/pwlink"
}

@test "secrets: a token file others may read is refused like a password" {
	mint >"$D/tokf"
	chmod 0644 "$D/tokf"
	run -4 --separate-stderr ca-sign --offline --dir "$CA" --token-file "$D/tokf" <"$D/foo.csr"
	assert_equal "$stderr" "ca-sign: $D/tokf: mode 0644 lets group or others read or write it: refusing to use it (chmod 600)"
	chmod 0600 "$D/tokf"
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token-file "$D/tokf" <"$D/foo.csr"
}

@test "secrets: a password on a pipe (process substitution) is accepted" {
	run -0 --separate-stderr stateless --ca-key "$CA/secrets/intermediate_ca_key" \
		--password-file <(cat "$D/pw")
	assert_output --partial "BEGIN CERTIFICATE"
}

# ---- core dumps --------------------------------------------------------------

# not_dumpable PID UID: PID runs ca-sign as UID and /proc/PID/* is root's,
# which the kernel does for a process that is not dumpable.
not_dumpable() {
	[ "$(cat "/proc/$1/comm")" = ca-sign ] &&
		[ "$(awk '/^Uid:/ { print $2 }' "/proc/$1/status")" = "$2" ] &&
		[ "$(stat -c %u "/proc/$1/status")" = 0 ]
}

# core_limit_zero PID: /proc/PID/limits says no core file, soft and hard.
core_limit_zero() { grep -Eq '^Max core file size +0 +0 ' "/proc/$1/limits"; }

@test "secrets: every program is barred from dumping core before it opens a secret" {
	local pid prog serial
	ca-sign --offline --dir "$CA" --token "$(mint)" <"$D/foo.csr" >"$D/torevoke.pem"
	serial=$(serial_of "$D/torevoke.pem")
	mkfifo -m 0600 "$D/fifo"
	ulimit -c unlimited
	for prog in sign token init revoke; do
		# Each blocks opening the secret on the FIFO: by then the limit
		# must be set; then the secret is given and the program finishes.
		case $prog in
		sign) ca-sign --ca-cert "$CA/certs/intermediate_ca.crt" \
			--ca-key "$CA/secrets/intermediate_ca_key" --password-file "$D/fifo" \
			<"$D/foo.csr" >"$D/$prog.out" 2>&1 3>&- & ;;
		token) ca-token --offline --dir "$CA" --password-file "$D/fifo" \
			foo.example.com >"$D/$prog.out" 2>&1 3>&- & ;;
		init) ca-init --dir "$D/core-init" --password-file "$D/fifo" \
			--key-iterations 1 >"$D/$prog.out" 2>&1 3>&- & ;;
		revoke) ca-revoke --offline --dir "$CA" --token-file "$D/fifo" "$serial" \
			>"$D/$prog.out" 2>&1 3>&- & ;;
		esac
		pid=$!
		# Blocked on the FIFO it cannot have read the secret yet.
		run -0 wait_for core_limit_zero "$pid"
		case $prog in
		revoke) mint --path revoke --sub "$serial" >"$D/fifo" ;;
		*) cat "$D/pw" >"$D/fifo" ;;
		esac
		wait "$pid" || { cat "$D/$prog.out"; false; }
	done
	run -0 grep -c 'BEGIN CERTIFICATE' "$D/sign.out"
}

@test "secrets: a process holding a secret is not dumpable (its /proc files belong to root)" {
	local nb pid uid
	# As root the test runs the program as nobody, so that a dumpable
	# process would own its /proc entry; otherwise as the caller.
	nb=$(mktemp -d /tmp/inca-dumpable.XXXXXX)
	cp "$BIN/ca-sign" "$D/o/int.crt" "$D/foo.csr" "$nb/"
	mkfifo -m 0600 "$nb/key"
	uid=$(id -u)
	if [ "$uid" -eq 0 ]; then
		chown -R nobody "$nb"
		uid=$(id -u nobody)
		setpriv --reuid="$uid" --regid="$(id -g nobody)" --clear-groups \
			"$nb/ca-sign" --ca-cert "$nb/int.crt" --ca-key "$nb/key" \
			<"$nb/foo.csr" >"$nb/out" 2>&1 3>&- &
	else
		"$nb/ca-sign" --ca-cert "$nb/int.crt" --ca-key "$nb/key" \
			<"$nb/foo.csr" >"$nb/out" 2>&1 3>&- &
	fi
	pid=$!
	# The program itself (not setpriv before its exec), as $uid, blocked
	# on the FIFO before it has the key: its /proc entry must turn root's.
	run -0 wait_for not_dumpable "$pid" "$uid"
	run -0 awk '/^Uid:/ { print $2 }' "/proc/$pid/status"
	assert_output "$uid"
	cat "$D/o/int.key" >"$nb/key"
	wait "$pid" || { cat "$nb/out"; rm -rf "$nb"; false; }
	run -0 grep -c 'BEGIN CERTIFICATE' "$nb/out"
	rm -rf "$nb"
}

# ---- --key-out and outputs after the COMMIT -----------------------------------

@test "secrets: --key-out into a missing directory fails before the token is spent" {
	local rows0 t
	rows0=$(rows)
	t=$(mint)
	run -4 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" --key-out "$D/nodir/new.key"
	assert_output ""
	assert_equal "$stderr" "ca-sign: $D/nodir/new.key: No such file or directory"
	assert_equal "$(rows)" "$rows0"
	run -1 test -e "$D/nodir"
	# The token was not spent: it still issues.
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" --key-out "$D/kd.key"
	assert_equal "$(stat -c %a "$D/kd.key")" 600
}

@test "secrets: --key-out onto an existing file (or symlink) fails before the token is spent" {
	local rows0 t
	rows0=$(rows)
	t=$(mint)
	printf 'mine\n' >"$D/taken.key"
	run -4 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" --key-out "$D/taken.key"
	assert_equal "$stderr" "ca-sign: $D/taken.key: already exists, not overwritten"
	assert_equal "$(cat "$D/taken.key")" "mine"
	ln -s "$D/elsewhere.key" "$D/dangling.key"
	run -4 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" --key-out "$D/dangling.key"
	assert_equal "$stderr" "ca-sign: $D/dangling.key: already exists, not overwritten"
	run -1 test -e "$D/elsewhere.key"
	assert_equal "$(rows)" "$rows0"
}

@test "secrets: --key-out is claimed before the transaction and removed when the issuance fails" {
	local rows0 t pid st
	t=$(mint)
	run -0 ca-sign --offline --dir "$CA" --token "$t" --key-out "$D/once.key"
	rows0=$(rows)
	# A refused token (already used): no key file is left behind.
	run -1 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" --key-out "$D/again.key"
	assert_equal "$stderr" "ca-sign: token already used"
	run -1 test -e "$D/again.key"
	assert_equal "$(rows)" "$rows0"
	# While it waits for its token the file exists, empty and 0600; a
	# SIGTERM then removes it and spends nothing.
	mkfifo -m 0600 "$D/tokfifo"
	ca-sign --offline --dir "$CA" --token-file "$D/tokfifo" --key-out "$D/claimed.key" \
		>/dev/null 2>&1 3>&- &
	pid=$!
	run -0 wait_for test -e "$D/claimed.key"
	assert_equal "$(stat -c '%a %s' "$D/claimed.key")" "600 0"
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	assert_equal "$st" 143
	run -1 test -e "$D/claimed.key"
	assert_equal "$(rows)" "$rows0"
}

# closed_stdout COMMAND...: run COMMAND with stdout closed.
closed_stdout() { "$@" >&-; }

# closed_pipe COMMAND...: run COMMAND with stdout a pipe nobody reads.
closed_pipe() {
	python3 -c '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
sys.exit(subprocess.call(sys.argv[1:], stdout=w))' "$@"
}

@test "secrets: a reader gone after the COMMIT: exit 4, the certificate and its key kept and named" {
	local rows0 serial s0
	rows0=$(rows)
	s0=$(serials_now)
	run -4 --separate-stderr closed_pipe ca-sign --offline --dir "$CA" --token "$(mint)" \
		--key-out "$D/piped.key"
	serial=$(new_serial "$s0")
	assert_equal "$stderr" "ca-sign: stdout: write: Broken pipe; certificate $serial is issued and recorded in the database, its key is in $D/piped.key"
	read -r c u <<<"$(rows)"
	read -r c0 u0 <<<"$rows0"
	assert_equal "$c" $((c0 + 1))
	assert_equal "$u" $((u0 + 1))
	assert_equal "$(stat -c %a "$D/piped.key")" 600
	# The key on disk is the recorded certificate's.
	db "select hex(der) from certs where serial = '$serial'" | xxd -r -p |
		openssl x509 -inform DER -noout -pubkey >"$D/piped.pub"
	openssl pkey -in "$D/piped.key" -pubout >"$D/piped.keypub"
	assert_equal "$(cat "$D/piped.pub")" "$(cat "$D/piped.keypub")"
	# Without --key-out, the same, and a closed stdout likewise.
	s0=$(serials_now)
	run -4 --separate-stderr closed_pipe ca-sign --offline --dir "$CA" --token "$(mint)" <"$D/foo.csr"
	serial=$(new_serial "$s0")
	assert_equal "$stderr" "ca-sign: stdout: write: Broken pipe; certificate $serial is issued and recorded in the database"
	s0=$(serials_now)
	run -4 --separate-stderr closed_stdout ca-sign --offline --dir "$CA" --token "$(mint)" <"$D/foo.csr"
	serial=$(new_serial "$s0")
	assert_equal "$stderr" "ca-sign: stdout: write: Bad file descriptor; certificate $serial is issued and recorded in the database"
	assert_equal "$(certs_count)" $((c0 + 3))
}

# closed_stderr COMMAND...: run COMMAND with stderr closed.
closed_stderr() { "$@" 2>&-; }

@test "secrets: started with stdout or stderr closed, no file or connection opened later takes its place" {
	local s0 serial
	# stdout closed: the output fails (it went into the PostgreSQL
	# connection, which libpq had opened as descriptor 1, and ca-sign
	# said nothing and exited 0); the certificate is named as recorded.
	s0=$(serials_now)
	run -4 --separate-stderr closed_stdout ca-sign --offline --dir "$CA" --token "$(mint)" <"$D/foo.csr"
	serial=$(new_serial "$s0")
	assert_equal "$stderr" "ca-sign: stdout: write: Bad file descriptor; certificate $serial is issued and recorded in the database"
	# stderr closed: a handler's message about a refused request goes
	# nowhere, and the next request is served on an intact connection.
	{ api_request x.y.z "$D/foo.csr"; api_request "$(mint)" "$D/foo.csr"; } >"$BATS_TEST_TMPDIR/two.json"
	s0=$(serials_now)
	run -3 closed_stderr ca-sign --api --offline --dir "$CA" <"$BATS_TEST_TMPDIR/two.json"
	assert_equal "${#lines[@]}" 2
	assert_equal "${lines[0]}" '{"status":401,"message":"token rejected: jws: header: base64url: bad length 1"}'
	jq -r .crt <<<"${lines[1]}" >"$BATS_TEST_TMPDIR/two.pem"
	assert_equal "$(serial_of "$BATS_TEST_TMPDIR/two.pem")" "$(new_serial "$s0")"
}

@test "secrets: stateless --key-out whose chain cannot be written leaves no key" {
	run -4 --separate-stderr closed_pipe ca-sign --ca-cert "$D/o/int.crt" --ca-key "$D/o/int.key" \
		--key-out "$D/sl.key" sl.example.com
	assert_equal "$stderr" "ca-sign: stdout: write: Broken pipe"
	run -1 test -e "$D/sl.key"
}

@test "secrets: ca-revoke whose answer is lost says the revocation is recorded" {
	local serial s0
	s0=$(serials_now)
	run -0 ca-sign --offline --dir "$CA" --token "$(mint)" --key-out "$D/rv.key"
	serial=$(new_serial "$s0")
	run -4 --separate-stderr closed_pipe ca-revoke --offline --dir "$CA" "$serial"
	assert_equal "$stderr" "ca-revoke: stdout: write: Broken pipe; serial $serial is revoked and recorded in the database"
	assert_equal "$(db "select count(*) from revocations where serial = '$serial'")" 1
}
