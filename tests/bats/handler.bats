#!/usr/bin/env bats
# ca-sign --api --offline as the long-lived handler: a stream of requests
# on stdin, one answer line each; the handler socket (--socket, LISTEN_FDS)
# with many connections; reloading on SIGHUP and on a changed ca.json;
# SIGTERM.

load common
load helpers/authority

APICLIENT="$BATS_TEST_DIRNAME/helpers/apiclient.py"

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_ca
	csr foo foo.example.com dns:foo.example.com
	csr bar bar.example.com dns:bar.example.com
	csr baz baz.example.com dns:baz.example.com
}

setup() {
	S="$D/sign.sock"
	rm -f "$S"
	put_file "$CA/config/ca.json" <"$D/ca.json.orig"
}

teardown() {
	local p
	for p in "$D"/*.pid; do
		[ -f "$p" ] || continue
		kill "$(cat "$p")" 2>/dev/null || true
		rm -f "$p"
	done
}

# req NAME [TOKEN]: a compact request line for $D/NAME.csr, with a new
# token for NAME.example.com unless one is given.
req() { api_request "${2:-$(mint --sub "$1.example.com")}" "$D/$1.csr"; }

# cn_of LINE: the CN of the leaf of an answer line.
cn_of() { jq -r .crt <<<"$1" | openssl x509 -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p'; }

# serve [ARGS...]: the handler on $S in the background ($D/srv.pid,
# stderr in $D/srv.err), once the socket is there.
serve() {
	ca-sign --api --offline --dir "$CA" --socket "$S" "$@" 3>&- 2>"$D/srv.err" &
	echo $! >"$D/srv.pid"
	wait_for test -S "$S"
}

# stop_server: SIGTERM, and the exit status in $status.
stop_server() {
	local pid
	pid=$(cat "$D/srv.pid")
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	rm -f "$D/srv.pid"
}

# ask FILE: one connection, FILE's requests, the answers on stdout.
ask() { socat -t 60 - "UNIX-CONNECT:$S" <"$1"; }

# ---- the stream on stdin ----------------------------------------------------

@test "handler: ok a stream of requests is answered in order, one line each" {
	{ req foo; req bar; req baz; req foo; req bar; } >"$D/five.json"
	before=$(certs_count)
	run -0 --separate-stderr ca-sign --api --offline --dir "$CA" <"$D/five.json"
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 5
	assert_equal "$(cn_of "${lines[0]}")" foo.example.com
	assert_equal "$(cn_of "${lines[1]}")" bar.example.com
	assert_equal "$(cn_of "${lines[2]}")" baz.example.com
	assert_equal "$(cn_of "${lines[3]}")" foo.example.com
	assert_equal "$(cn_of "${lines[4]}")" bar.example.com
	jq -r .crt <<<"${lines[4]}" >"$D/last.pem"
	# Each answer is one compact object.
	run -0 jq -c 'keys_unsorted' <<<"${lines[2]}"
	assert_output '["crt","ca","certChain"]'
	assert_equal "$(certs_count)" $((before + 5))
	run -0 db "select subject from certs where serial = '$(serial_of "$D/last.pem")'"
	assert_output bar.example.com
}

@test "handler: fail a stream of successes and failures exits with the first failure's code" {
	t=$(mint --sub foo.example.com)
	{ req foo "$t"; req foo "$t"; echo '{"csr": }'; req bar; } >"$D/mixed.json"
	before=$(certs_count)
	run -1 --separate-stderr ca-sign --api --offline --dir "$CA" <"$D/mixed.json"
	assert_equal "${#lines[@]}" 4
	assert_equal "$(cn_of "${lines[0]}")" foo.example.com
	assert_equal "${lines[1]}" '{"status":401,"message":"token already used"}'
	assert_equal "${lines[2]}" "{\"status\":400,\"message\":\"request: malformed JSON: invalid syntax at byte 9\"}"
	assert_equal "$(cn_of "${lines[3]}")" bar.example.com
	assert_equal "$stderr" "ca-sign: token already used
ca-sign: request: malformed JSON: invalid syntax at byte 9"
	assert_equal "$(certs_count)" $((before + 2))
	# The first failure decides: malformed (3) before refused (1) is 3.
	{ echo '{"csr": }'; req foo "$t"; } >"$D/mixed2.json"
	run -3 --separate-stderr ca-sign --api --offline --dir "$CA" <"$D/mixed2.json"
	assert_equal "${#lines[@]}" 2
}

@test "handler: fail an oversized request is answered 413 and skipped, the next one answered" {
	# Braces and escaped quotes inside strings do not end the object.
	pad=$(head -c 70000 /dev/zero | tr '\0' '}')
	t=$(mint --sub foo.example.com)
	{ jq -cn --arg pad "$pad\"{\\" --arg ott "$t" '{ott: $ott, pad: $pad}'; req foo "$t"; } >"$D/big.json"
	run -3 --separate-stderr ca-sign --api --offline --dir "$CA" <"$D/big.json"
	assert_equal "${#lines[@]}" 2
	assert_equal "${lines[0]}" '{"status":413,"message":"request: input exceeds 65536 bytes"}'
	assert_equal "$(cn_of "${lines[1]}")" foo.example.com
	assert_equal "$stderr" "ca-sign: request: input exceeds 65536 bytes"
}

@test "handler: fail malformed JSON is answered 400, the next one answered" {
	{ printf '{"csr": "a", "ott": tru}\n'; printf '{"a": 1, "a": 2}'; req bar; } >"$D/bad.json"
	run -3 --separate-stderr ca-sign --api --offline --dir "$CA" <"$D/bad.json"
	assert_equal "${#lines[@]}" 3
	assert_equal "${lines[0]}" "{\"status\":400,\"message\":\"request: malformed JSON: invalid syntax at byte 23\"}"
	assert_equal "${lines[1]}" "{\"status\":400,\"message\":\"request: malformed JSON: duplicate object key at byte 12\"}"
	assert_equal "$(cn_of "${lines[2]}")" bar.example.com
}

@test "handler: ok members with braces and quotes in strings, and other members ignored" {
	req foo | jq -c '. + {"x": "}{\"}}", "y": {"z": ["{"]}}' >"$D/braces.json"
	run -0 --separate-stderr ca-sign --api --offline --dir "$CA" <"$D/braces.json"
	assert_equal "${#lines[@]}" 1
	assert_equal "$(cn_of "${lines[0]}")" foo.example.com
}

@test "handler: fail input that cannot be framed is answered 400 and ends the stream" {
	t=$(mint --sub bar.example.com)
	j=$(claims "$t" | jq -r .jti)
	for bad in '["x"]' '"x"' 'x' '}'; do
		{ req foo; printf '%s\n' "$bad"; req bar "$t"; } >"$D/unframed.json"
		run -3 --separate-stderr ca-sign --api --offline --dir "$CA" <"$D/unframed.json"
		assert_equal "${#lines[@]}" 2
		assert_equal "$(cn_of "${lines[0]}")" foo.example.com
		assert_equal "${lines[1]}" '{"status":400,"message":"request: malformed JSON: not an object"}'
		# The request after it was never read: its token is not spent.
		run -0 db "select count(*) from used_tokens where jti = '$j'"
		assert_output 0
	done
	run -3 --separate-stderr ca-sign --api --offline --dir "$CA" <<<'["csr"] {}'
	assert_output '{"status":400,"message":"request: malformed JSON: not an object"}'
}

@test "handler: fail a value that is not an object is named so however it was read" {
	# A string of 40,000 bytes with a byte that is not UTF-8 near its end:
	# the answer must not depend on how much of it a read had brought.
	python3 -c 'import sys; sys.stdout.buffer.write(b"\"" + b"x" * 40000 + b"\xc3x\"\n")' >"$D/long.json"
	run -3 --separate-stderr ca-sign --api --offline --dir "$CA" <"$D/long.json"
	assert_output '{"status":400,"message":"request: malformed JSON: not an object"}'
	run -3 --separate-stderr sh -c 'for i in 1 2 3 4 5; do dd bs=9000 count=1 iflag=fullblock status=none; sleep 0.1; done <"$1" | ca-sign --api --offline --dir "$2"' sh "$D/long.json" "$CA"
	assert_output '{"status":400,"message":"request: malformed JSON: not an object"}'
}

@test "handler: fail the input ends inside an object (400)" {
	{ req foo; printf '{"csr": "a'; } >"$D/cut.json"
	run -3 --separate-stderr ca-sign --api --offline --dir "$CA" <"$D/cut.json"
	assert_equal "${#lines[@]}" 2
	assert_equal "${lines[1]}" '{"status":400,"message":"request: malformed JSON: premature end of input at byte 10"}'
}

@test "handler: ok a pretty-printed request spanning lines" {
	jq -n --rawfile csr "$D/foo.csr" --arg ott "$(mint --sub foo.example.com)" '{csr: $csr, ott: $ott}' >"$D/pretty.json"
	run -0 --separate-stderr ca-sign --api --offline --dir "$CA" <"$D/pretty.json"
	assert_equal "${#lines[@]}" 1
	assert_equal "$(cn_of "${lines[0]}")" foo.example.com
}

@test "handler: ok an empty stream asks nothing and exits 0" {
	run -0 --separate-stderr ca-sign --api --offline --dir "$CA" </dev/null
	assert_output ""
	assert_equal "$stderr" ""
	run -0 --separate-stderr ca-sign --api --offline --dir "$CA" <<<$'  \n\t\n'
	assert_output ""
}

@test "handler: fail --socket without --api (exit 2)" {
	run -2 --separate-stderr ca-sign --offline --dir "$CA" --socket "$S" --token x </dev/null
	assert_equal "$stderr" "ca-sign: --socket goes with --api"
	[ ! -e "$S" ]
}

# ---- the socket -------------------------------------------------------------

@test "handler: ok --socket serves a connection, mode 0660, removed on SIGTERM" {
	serve
	run -0 stat -c %a "$S"
	assert_output 660
	{ req foo; req bar; } >"$D/two.json"
	run -0 ask "$D/two.json"
	assert_equal "${#lines[@]}" 2
	assert_equal "$(cn_of "${lines[0]}")" foo.example.com
	assert_equal "$(cn_of "${lines[1]}")" bar.example.com
	stop_server
	assert_equal "$status" 0
	[ ! -e "$S" ]
}

@test "handler: ok --socket two connections at once, a half-sent request blocks no one" {
	serve
	req foo >"$D/a.json"
	req bar >"$D/b.json"
	run -0 --separate-stderr "$PY" "$APICLIENT" pair "$S" "$D/a.json" "$D/b.json"
	assert_equal "${#lines[@]}" 2
	assert_regex "${lines[0]}" '^B \{"crt":'
	assert_regex "${lines[1]}" '^A \{"crt":'
	assert_equal "$(cn_of "${lines[0]#B }")" bar.example.com
	assert_equal "$(cn_of "${lines[1]#A }")" foo.example.com
}

@test "handler: ok --socket an idle connection and one that reads nothing block no one" {
	serve
	# An idle connection, held open.
	sleep 60 | socat - "UNIX-CONNECT:$S" 3>&- &
	echo $! >"$D/idle.pid"
	req foo >"$D/b.json"
	run -0 --separate-stderr "$PY" "$APICLIENT" stall "$S" 20000 "$D/b.json"
	assert_regex "$output" '^B \{"crt":'
	# The server is still there for the next one.
	req bar >"$D/c.json"
	run -0 ask "$D/c.json"
	assert_equal "$(cn_of "$output")" bar.example.com
	stop_server
	assert_equal "$status" 0
}

@test "handler: ok --socket replaces a stale socket file" {
	"$PY" "$APICLIENT" stale "$S"
	[ -S "$S" ]
	serve
	req foo >"$D/a.json"
	run -0 ask "$D/a.json"
	assert_equal "$(cn_of "$output")" foo.example.com
}

@test "handler: fail --socket on a regular file, or where a handler listens (exit 4)" {
	printf 'keep me\n' >"$D/file"
	run -4 --separate-stderr ca-sign --api --offline --dir "$CA" --socket "$D/file" 3>&-
	assert_equal "$stderr" "ca-sign: $D/file exists and is not a socket: not replaced"
	assert_equal "$(cat "$D/file")" "keep me"
	mkdir -p "$D/dir"
	run -4 --separate-stderr ca-sign --api --offline --dir "$CA" --socket "$D/dir" 3>&-
	assert_equal "$stderr" "ca-sign: $D/dir exists and is not a socket: not replaced"
	serve
	run -4 --separate-stderr ca-sign --api --offline --dir "$CA" --socket "$S" 3>&-
	assert_equal "$stderr" "ca-sign: $S is in use: a handler listens there"
	req foo >"$D/a.json"
	run -0 ask "$D/a.json"
	assert_equal "$(cn_of "$output")" foo.example.com
}

@test "handler: fail --socket with a CA that does not load, before binding (exit 4)" {
	run -4 --separate-stderr ca-sign --api --offline --dir "$D/none" --socket "$S" 3>&-
	assert_equal "$stderr" "ca-sign: $D/none/config/ca.json: no CA here (run ca-init, or give --dir)"
	[ ! -e "$S" ]
}

@test "handler: ok the socket of systemd-socket-activate (LISTEN_FDS), left in place on SIGTERM" {
	systemd-socket-activate -l "$S" ca-sign --api --offline --dir "$CA" 3>&- 2>"$D/srv.err" &
	echo $! >"$D/srv.pid"
	wait_for test -S "$S"
	req foo >"$D/a.json"
	run -0 ask "$D/a.json"
	assert_equal "$(cn_of "$output")" foo.example.com
	stop_server
	assert_equal "$status" 0
	# The service manager's socket: not ours to remove.
	[ -S "$S" ]
}

@test "handler: fail LISTEN_FDS other than 1 (exit 2), ignored for another LISTEN_PID" {
	run -2 --separate-stderr env LISTEN_PID=self LISTEN_FDS=2 sh -c 'LISTEN_PID=$$ exec ca-sign --api --offline --dir "$0" </dev/null' "$CA"
	assert_equal "$stderr" "ca-sign: LISTEN_FDS=2: one listening socket expected"
	# Not for this process: the stream on stdin.
	run -0 --separate-stderr env LISTEN_PID=1 LISTEN_FDS=1 ca-sign --api --offline --dir "$CA" </dev/null
	assert_output ""
	# fd 3 not a listening socket.
	run -4 --separate-stderr sh -c 'LISTEN_PID=$$ LISTEN_FDS=1 exec ca-sign --api --offline --dir "$0" 3</dev/null' "$CA"
	assert_equal "$stderr" "ca-sign: LISTEN_FDS: fd 3 is not a listening unix stream socket"
}

@test "handler: fail LISTEN_FDS with fd 3 not a socket, or a CA that does not load: each handler says why (exit 4)" {
	local p
	for p in ca-sign ca-renew ca-revoke; do
		run -4 --separate-stderr sh -c 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$1" --api --offline --dir "$0" 3</dev/null' "$CA" "$p"
		assert_equal "$stderr" "$p: LISTEN_FDS: fd 3 is not a listening unix stream socket"
		# A listening socket on fd 3, as a service manager hands it over.
		run -4 --separate-stderr "$PY" -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen()
os.dup2(s.fileno(), 3)
os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="1")
os.execvp(sys.argv[2], sys.argv[2:])
' "$D/$p.sock" "$p" --api --offline --dir "$D/none"
		assert_equal "$stderr" "$p: $D/none/config/ca.json: no CA here (run ca-init, or give --dir)"
	done
}

# ---- reloading -------------------------------------------------------------

@test "handler: ok a changed ca.json is loaded before the next request" {
	serve
	req bar >"$D/a.json"
	run -0 ask "$D/a.json"
	assert_equal "$(cn_of "$output")" bar.example.com
	jq '.authority.policy.x509 = {"deny": {"dns": ["bar.example.com"]}}' \
		"$D/ca.json.orig" >"$D/new.json"
	mv "$D/new.json" "$CA/config/ca.json"
	req bar >"$D/b.json"
	before=$(certs_count)
	run -0 ask "$D/b.json"
	assert_output '{"status":403,"message":"policy: dns name bar.example.com is denied"}'
	assert_equal "$(certs_count)" "$before"
	run -0 grep -c "^ca-sign: reloaded $CA/config/ca.json\$" "$D/srv.err"
	assert_output 1
}

@test "handler: ok SIGHUP loads the authority again" {
	serve
	req foo >"$D/a.json"
	run -0 ask "$D/a.json"
	run -1 grep -c "reloaded" "$D/srv.err"
	kill -HUP "$(cat "$D/srv.pid")"
	req foo >"$D/b.json"
	run -0 ask "$D/b.json"
	assert_equal "$(cn_of "$output")" foo.example.com
	run -0 grep -c "^ca-sign: reloaded $CA/config/ca.json\$" "$D/srv.err"
	assert_output 1
}

@test "handler: fail a ca.json that does not load is answered 500 until one does (fail closed)" {
	serve
	printf '{"authority": ' >"$D/broken.json"
	mv "$D/broken.json" "$CA/config/ca.json"
	req foo >"$D/a.json"
	before=$(rows)
	run -0 ask "$D/a.json"
	assert_regex "$output" '^\{"status":500,"message":"[^"]*ca\.json[^"]*"\}$'
	assert_equal "$(rows)" "$before"
	run -0 grep -c "^ca-sign: reloading the authority failed, every request fails until it loads: " "$D/srv.err"
	assert_output 1
	put_file "$CA/config/ca.json" <"$D/ca.json.orig"
	req foo >"$D/b.json"
	run -0 ask "$D/b.json"
	assert_equal "$(cn_of "$output")" foo.example.com
	stop_server
	assert_equal "$status" 0
}

# ---- group commit ------------------------------------------------------------

@test "handler: fail a request the database refuses undoes only itself in its batch" {
	tb=$(mint --sub bar.example.com)
	jb=$(claims "$tb" | jq -r .jti)
	{ req foo; req bar "$tb"; req baz; } >"$D/batch.json"
	before=$(certs_count)
	bars=$(db "select count(*) from certs where subject = 'bar.example.com'")
	refuse_inserts "$CA" no_bar bar.example.com
	run -4 --separate-stderr ca-sign --api --offline --dir "$CA" <"$D/batch.json"
	allow_inserts "$CA" no_bar
	assert_equal "${#lines[@]}" 3
	assert_equal "$(cn_of "${lines[0]}")" foo.example.com
	assert_regex "${lines[1]}" '^\{"status":500,"message":"[^"]*storage refused[^"]*"\}$'
	assert_equal "$(cn_of "${lines[2]}")" baz.example.com
	assert_equal "$(certs_count)" $((before + 2))
	# Its token was spent and then undone with its certificate.
	run -0 db "select count(*) from used_tokens where jti = '$jb'"
	assert_output 0
	run -0 db "select count(*) from certs where subject = 'bar.example.com'"
	assert_output "$bars"
	# So the same token works now.
	req bar "$tb" >"$D/again.json"
	run -0 --separate-stderr ca-sign --api --offline --dir "$CA" <"$D/again.json"
	assert_equal "$(cn_of "$output")" bar.example.com
}

@test "handler: fail a busy database fails the whole batch (503), nothing recorded" {
	jq '.db.busyTimeout = "0s"' "$D/ca.json.orig" | put_file "$CA/config/ca.json"
	{ req foo; req bar; } >"$D/batch.json"
	before=$(rows)
	hold_db_lock "$CA"
	run -5 --separate-stderr ca-sign --api --offline --dir "$CA" <"$D/batch.json"
	release_db_lock
	assert_equal "${#lines[@]}" 2
	assert_regex "${lines[0]}" '^\{"status":503,"message":"database busy'
	assert_regex "${lines[1]}" '^\{"status":503,"message":"database busy'
	assert_equal "$(rows)" "$before"
}
