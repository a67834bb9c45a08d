#!/usr/bin/env bats
# Hostile network input against a real ca-serve on 127.0.0.1, byte-exact
# (helpers/tlsclient.py over TLS, helpers/hostile.py for raw TLS records
# and slow or idle clients).  serve.bats has the ordinary refusals (a head
# over 16 KiB, a Content-Length of 10 MB, chunked bodies, TLS 1.1 through
# openssl, a self-signed client certificate, random bytes, --read-timeout
# and --max-conns); here are the boundaries and the attacks around them.
# Every refusal ends the connection cleanly, and the server goes on.

load common
load helpers/serve

HOSTILE="$BATS_TEST_DIRNAME/helpers/hostile.py"

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_serve_ca
	cp "$CA/config/ca.json" "$D/ca.json.base"
}

teardown() {
	stop_servers
}

# send FILE: its bytes over TLS; the response on stdout.
send() { raw <"$1"; }

# req NAME PRINTF-FORMAT [ARGS...]: the bytes in $BATS_TEST_TMPDIR/NAME.
req() {
	local n=$1
	shift
	# shellcheck disable=SC2059
	printf "$@" >"$BATS_TEST_TMPDIR/$n"
}

# still_serves: a good client is answered at once.
still_serves() {
	run -0 curl -sS -m 10 --cacert "$ROOT" "https://127.0.0.1:$PORT/health"
	assert_output '{"status":"ok"}'
}

# filler N: N bytes of 'a'.
filler() { head -c "$1" /dev/zero | tr '\0' a; }

# workers: ca-serve's worker processes under --listen.
workers() { pgrep -P "$SERVE_PID" -x ca-serve | wc -l; }

# ---- HTTP framing ---------------------------------------------------------------

@test "attacks_net: a head of exactly 16384 bytes is served, 16385 is 431" {
	serve_listen
	local fixed='GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX: \r\n\r\n'
	local n=$((16384 - $(printf "$fixed" | wc -c)))
	req ok 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX: %s\r\n\r\n' "$(filler "$n")"
	[ "$(wc -c <"$BATS_TEST_TMPDIR/ok")" -eq 16384 ]
	run -0 send "$BATS_TEST_TMPDIR/ok"
	assert_line --index 0 --partial "HTTP/1.1 200 "
	assert_line '{"status":"ok"}'
	req big 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX: %s\r\n\r\n' "$(filler $((n + 1)))"
	run -0 send "$BATS_TEST_TMPDIR/big"
	assert_line --index 0 --partial "HTTP/1.1 431 "
	assert_line '{"status":431,"message":"request head larger than 16384 bytes"}'
	still_serves
}

@test "attacks_net: a request line over the head limit is 431, HTTP/0.9 and the HTTP/2 preface are 400" {
	serve_listen
	req long 'GET /%s HTTP/1.1\r\nHost: x\r\n\r\n' "$(filler 17000)"
	run -0 send "$BATS_TEST_TMPDIR/long"
	assert_line --index 0 --partial "HTTP/1.1 431 "
	req h09 'GET /health\r\n'
	run -0 send "$BATS_TEST_TMPDIR/h09"
	assert_line --index 0 --partial "HTTP/1.1 400 "
	assert_line '{"status":400,"message":"malformed request line: no HTTP version"}'
	req h2 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
	run -0 send "$BATS_TEST_TMPDIR/h2"
	assert_line --index 0 --partial "HTTP/1.1 400 "
	assert_line '{"status":400,"message":"request target is not an absolute path"}'
	still_serves
}

@test "attacks_net: a body of exactly 65536 bytes reaches the handler, 65537 is 413 before any body" {
	serve_listen
	req ok 'POST /1.0/sign HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 65536\r\n\r\n%s' "$(filler 65536)"
	run -0 send "$BATS_TEST_TMPDIR/ok"
	# Not the server's 413: the handler's own refusal of a body that is no JSON.
	assert_line --index 0 --partial "HTTP/1.1 400 "
	refute_output --partial '"status":413'
	req big 'POST /1.0/sign HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n'
	run -0 send "$BATS_TEST_TMPDIR/big"
	assert_line --index 0 --partial "HTTP/1.1 413 "
	assert_line '{"status":413,"message":"request body larger than 65536 bytes"}'
	still_serves
}

@test "attacks_net: Content-Length and Transfer-Encoding together are refused, either order" {
	serve_listen
	req a 'POST /1.0/sign HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
	run -0 send "$BATS_TEST_TMPDIR/a"
	assert_line --index 0 --partial "HTTP/1.1 501 "
	assert_line --partial "Connection: close"
	req b 'POST /1.0/sign HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n'
	run -0 send "$BATS_TEST_TMPDIR/b"
	assert_line --index 0 --partial "HTTP/1.1 501 "
	# Smuggled: whatever follows the refused head is never answered.
	refute_output --partial '"status":"ok"'
	still_serves
}

@test "attacks_net: duplicate, listed, signed, hexadecimal and spaced Content-Lengths are 400" {
	serve_listen
	local v
	for v in '5, 5' '+5' '-5' '0x5' '5 5' '5e0' '05x' ' ' '5\t5'; do
		req r "POST /1.0/sign HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: $v\\r\\n\\r\\n{}   "
		run -0 send "$BATS_TEST_TMPDIR/r"
		assert_line --index 0 --partial "HTTP/1.1 400 "
		assert_line '{"status":400,"message":"invalid Content-Length header"}'
	done
	# Too many digits to hold: over the limit, not wrapped round to a small one.
	req huge 'POST /1.0/sign HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551621\r\n\r\n{}   '
	run -0 send "$BATS_TEST_TMPDIR/huge"
	assert_line --index 0 --partial "HTTP/1.1 413 "
	req dup 'POST /1.0/sign HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n{}   '
	run -0 send "$BATS_TEST_TMPDIR/dup"
	assert_line '{"status":400,"message":"duplicate Content-Length header"}'
	req hex 'POST /1.0/sign HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\n{}   '
	run -0 send "$BATS_TEST_TMPDIR/hex"
	assert_line '{"status":400,"message":"invalid Content-Length header"}'
	req neg 'POST /1.0/sign HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}   '
	run -0 send "$BATS_TEST_TMPDIR/neg"
	assert_line '{"status":400,"message":"invalid Content-Length header"}'
	still_serves
}

@test "attacks_net: obs-fold, bare LF, bare CR and a NUL in a header are 400 and close" {
	serve_listen
	req fold 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n'
	run -0 send "$BATS_TEST_TMPDIR/fold"
	assert_line '{"status":400,"message":"obsolete line folding in request head"}'
	req lf 'GET /health HTTP/1.1\nHost: x\n\n'
	run -0 send "$BATS_TEST_TMPDIR/lf"
	assert_line '{"status":400,"message":"bare LF in request head"}'
	req cr 'GET /health HTTP/1.1\rHost: x\r\n\r\n'
	run -0 send "$BATS_TEST_TMPDIR/cr"
	assert_line '{"status":400,"message":"bare CR in request head"}'
	req nulv 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n'
	run -0 send "$BATS_TEST_TMPDIR/nulv"
	assert_line '{"status":400,"message":"control character in header value"}'
	req nuln 'GET /health HTTP/1.1\r\nHost: x\r\nX\0A: b\r\n\r\n'
	run -0 send "$BATS_TEST_TMPDIR/nuln"
	assert_line '{"status":400,"message":"invalid character in header name"}'
	req nult 'GET /hea\0lth HTTP/1.1\r\nHost: x\r\n\r\n'
	run -0 send "$BATS_TEST_TMPDIR/nult"
	assert_line --index 0 --partial "HTTP/1.1 400 "
	# A refusal closes: one response, never a second for what follows.
	req more 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n'
	run -0 send "$BATS_TEST_TMPDIR/more"
	assert_line --partial "Connection: close"
	run -0 grep -c '^HTTP/1.1 ' <<<"$output"
	assert_output 1
	still_serves
}

@test "attacks_net: pipelined requests are answered in order; after a bad one, nothing more" {
	serve_listen
	req pipe 'GET /version HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /roots HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	run -0 send "$BATS_TEST_TMPDIR/pipe"
	run -0 grep -c '^HTTP/1.1 200 ' <<<"$output"
	assert_output 3
	run -0 send "$BATS_TEST_TMPDIR/pipe"
	local order
	order=$(grep -o '"version"\|{"status":"ok"}\|"crts"' <<<"$output" | tr '\n' ' ')
	assert_equal "$order" '"version" {"status":"ok"} "crts" '
	req bad 'GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\nHost: x\n\nGET /version HTTP/1.1\r\nHost: x\r\n\r\n'
	run -0 send "$BATS_TEST_TMPDIR/bad"
	assert_line --index 0 --partial "HTTP/1.1 200 "
	run -0 grep -c '^HTTP/1.1 ' <<<"$output"
	assert_output 2
	run -0 send "$BATS_TEST_TMPDIR/bad"
	assert_line '{"status":400,"message":"bare LF in request head"}'
	refute_output --partial '"version"'
}

@test "attacks_net: a body shorter than its Content-Length ends at --read-timeout with 408" {
	serve_listen --read-timeout 1s
	run -0 raw --time --send 'POST /1.0/sign HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"a":'
	assert_line --partial "HTTP/1.1 408 "
	local t
	t=$(sed -n 's/^elapsed=//p' <<<"$output")
	[ "${t%.*}" -ge 1 ]
	[ "${t%.*}" -lt 5 ]
	still_serves
}

# ---- TLS --------------------------------------------------------------------------

@test "attacks_net: SSLv3, TLS 1.0 and TLS 1.1 hellos get a fatal alert and a close, no ServerHello" {
	serve_listen
	local v
	for v in ssl3 tls1 tls1_1; do
		run -0 timeout 15 "$PY" "$HOSTILE" "$PORT" hello "$v"
		# One record: a fatal (2) alert, protocol_version (70) or
		# handshake_failure (40); no handshake record (22) back.
		assert_line --index 0 --regexp '^alert 2 (40|70)$'
		assert_line --index 1 "closed"
		refute_line "record 22"
	done
	still_serves
}

@test "attacks_net: a hello with no suite, group or version in common is refused" {
	serve_listen
	run -1 bash -c "openssl s_client -connect 127.0.0.1:$PORT -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 </dev/null 2>&1"
	assert_output --partial "alert handshake failure"
	run -1 bash -c "openssl s_client -connect 127.0.0.1:$PORT -tls1_3 -ciphersuites TLS_AES_128_CCM_SHA256 </dev/null 2>&1"
	assert_output --partial "Cipher is (NONE)"
	still_serves
}

@test "attacks_net: client-initiated renegotiation is refused" {
	serve_listen
	# s_client's "R" command asks for a renegotiation (TLS 1.2).
	# s_client fails (exit 1) on the server's no_renegotiation alert; a
	# renegotiation that went through would leave it at 0, or at 124 from
	# timeout.
	run -1 bash -c "(printf 'R\n'; sleep 2) | timeout 20 openssl s_client -connect 127.0.0.1:$PORT -tls1_2 -CAfile '$ROOT' 2>&1"
	assert_output --partial "RENEGOTIATING"
	assert_output --partial ":no renegotiation:"
	still_serves
}

@test "attacks_net: a certificate of another CA, alone or in a 100 kB chain, is not accepted: served as none, and logged" {
	serve_listen
	make_openssl_ca "$D/other"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$BATS_TEST_TMPDIR/c.key" -out "$BATS_TEST_TMPDIR/c.csr" -subj /CN=me 2>/dev/null
	openssl x509 -req -in "$BATS_TEST_TMPDIR/c.csr" -CA "$D/other/int.crt" -CAkey "$D/other/int.key" \
		-set_serial 7 -days 1 -out "$BATS_TEST_TMPDIR/c.crt" 2>/dev/null
	# Issued by another CA's intermediate, chain sent along.
	cat "$BATS_TEST_TMPDIR/c.crt" "$D/other/int.crt" >"$BATS_TEST_TMPDIR/chain.crt"
	# The handshake goes on without it (so that /renew can say why it was
	# not taken): a public route is served, the log says what was wrong,
	# and no handler ever sees it (serve_lifecycle.bats).
	run -0 raw --cert "$BATS_TEST_TMPDIR/chain.crt" --key "$BATS_TEST_TMPDIR/c.key" \
		--send 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	assert_output --partial '{"status":"ok"}'
	run -0 grep -c '"clientCertificate":"not accepted: ' "$LOG"
	# The same leaf followed by 100 kB of intermediates.
	cp "$BATS_TEST_TMPDIR/c.crt" "$BATS_TEST_TMPDIR/big.crt"
	while [ "$(wc -c <"$BATS_TEST_TMPDIR/big.crt")" -lt 100000 ]; do
		cat "$D/other/int.crt" >>"$BATS_TEST_TMPDIR/big.crt"
	done
	assert [ "$(wc -c <"$BATS_TEST_TMPDIR/big.crt")" -ge 100000 ]
	run -0 raw --cert "$BATS_TEST_TMPDIR/big.crt" --key "$BATS_TEST_TMPDIR/c.key" \
		--send 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	assert_output --partial '{"status":"ok"}'
	assert_equal "$(grep -c '"clientCertificate":"not accepted: ' "$LOG")" 2
	still_serves
	run -0 kill -0 "$SERVE_PID"
}

@test "attacks_net: a connection closed or stalled half-way through the handshake ends cleanly" {
	serve_listen --read-timeout 1s --max-conns 1
	local n
	for n in 1 5 40 100; do
		run -0 "$PY" "$HOSTILE" "$PORT" half "$n"
		assert_output sent
	done
	still_serves
	# Stalled: cut off at --read-timeout, and the only worker is free again.
	run -0 timeout 15 "$PY" "$HOSTILE" "$PORT" stall 40
	local t
	t=$(sed -n 's/^closed after //p' <<<"$output")
	[ "${t%.*}" -ge 1 ]
	[ "${t%.*}" -lt 5 ]
	still_serves
	run -0 kill -0 "$SERVE_PID"
}

@test "attacks_net: SIGTERM during a stalled handshake: the process exits within its deadline" {
	serve_listen --read-timeout 3s
	"$PY" "$HOSTILE" "$PORT" stall 40 >"$BATS_TEST_TMPDIR/stall" 3>&- &
	local c=$! st=0
	sleep 1
	local t0=$SECONDS
	kill -TERM "$SERVE_PID"
	wait "$SERVE_PID" || st=$?
	assert_equal "$st" 0
	[ $((SECONDS - t0)) -le 6 ]
	wait "$c" || true
}

# ---- resources ----------------------------------------------------------------------

@test "attacks_net: slowloris, one byte a second, is cut off at --read-timeout; others are served meanwhile" {
	serve_listen --read-timeout 3s --max-conns 2
	"$PY" "$HOSTILE" "$PORT" slow "$ROOT" 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' \
		>"$BATS_TEST_TMPDIR/slow" 3>&- &
	local c=$!
	sleep 1
	still_serves
	wait "$c"
	run -0 cat "$BATS_TEST_TMPDIR/slow"
	assert_line --index 0 --partial "HTTP/1.1 408 "
	local t
	t=$(sed -n 's/^elapsed=//p' "$BATS_TEST_TMPDIR/slow")
	[ "${t%.*}" -ge 3 ]
	[ "${t%.*}" -lt 8 ]
}

@test "attacks_net: --max-conns slow clients deny service until --read-timeout; one fewer does not" {
	serve_listen --read-timeout 4s --max-conns 3
	wait_until '[ "$(workers)" -eq 3 ]'
	# Two idle connections of three: a good client is served at once.
	"$PY" "$HOSTILE" "$PORT" idle 2 6 >"$BATS_TEST_TMPDIR/idle2" 3>&- &
	local c=$!
	wait_for grep -q 'held 2' "$BATS_TEST_TMPDIR/idle2"
	still_serves
	wait "$c"
	# Three of three: the next client waits in the backlog, then is served
	# once --read-timeout ends one of them.
	"$PY" "$HOSTILE" "$PORT" idle 3 8 >"$BATS_TEST_TMPDIR/idle3" 3>&- &
	c=$!
	wait_for grep -q 'held 3' "$BATS_TEST_TMPDIR/idle3"
	sleep 0.5
	run -28 curl -sS -m 1 --cacert "$ROOT" "https://127.0.0.1:$PORT/health"
	local t0=$SECONDS
	run -0 curl -sS -m 15 --cacert "$ROOT" "https://127.0.0.1:$PORT/health"
	assert_output '{"status":"ok"}'
	[ $((SECONDS - t0)) -le 6 ]
	# The child limit held throughout.
	assert_equal "$(workers)" 3
	wait "$c"
}

@test "attacks_net: many idle connections: the worker count stays at --max-conns" {
	serve_listen --read-timeout 2s --max-conns 4
	"$PY" "$HOSTILE" "$PORT" idle 60 4 >"$BATS_TEST_TMPDIR/idle" 3>&- &
	local c=$!
	wait_for grep -q 'held 60' "$BATS_TEST_TMPDIR/idle"
	assert_equal "$(workers)" 4
	sleep 1
	assert_equal "$(workers)" 4
	wait "$c"
	still_serves
	assert_equal "$(workers)" 4
}

@test "attacks_net: a client that never reads its responses holds a worker for --conn-timeout at most" {
	serve_listen --max-conns 1 --conn-timeout 3s
	"$PY" "$HOSTILE" "$PORT" noread "$ROOT" 5000 20 >"$BATS_TEST_TMPDIR/noread" 3>&- &
	local c=$!
	wait_for grep -q '^sent ' "$BATS_TEST_TMPDIR/noread"
	local t0=$SECONDS
	run -0 curl -sS -m 15 --cacert "$ROOT" "https://127.0.0.1:$PORT/health"
	assert_output '{"status":"ok"}'
	[ $((SECONDS - t0)) -le 6 ]
	assert_equal "$(workers)" 1
	kill "$c"
	wait "$c" || true
}
