#!/usr/bin/env bats
# ca-serve: the CA over HTTPS.  Every route through curl trusting only the
# root; issuance through the handler with the same answers as
# `ca-sign --api --offline`; TLS policy; HTTP limits and deadlines; the
# process models (--listen, inetd style under socat, systemd's socket
# activation both ways); reloads; SIGTERM; and the privilege split: the
# network-facing process never opens the signing key, its password or the
# database.

load common
load helpers/serve

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_serve_ca
	# A second provisioner, so that /provisioners has pages.
	"$PY" "$TOKPY" provisioner ci "$D/pw" >"$D/ci.prov"
	# It is an admin (for revocation): a mark that is not published.
	jq --slurpfile p "$D/ci.prov" '.authority.provisioners += ($p | map(.admin = true))' \
		"$D/ca.json.orig" >"$D/ca.json.base"
	put_file "$CA/config/ca.json" <"$D/ca.json.base"
	FP=$(openssl x509 -in "$ROOT" -outform DER | sha256sum | cut -d' ' -f1)
	export FP
	csr foo foo.example.com dns:foo.example.com
}

teardown() {
	stop_servers
	put_file "$CA/config/ca.json" <"$D/ca.json.base"
}

# log_lines: the JSON lines of the server's log (handler messages aside).
log_lines() { grep '^{' "$LOG"; }

# ---- options -------------------------------------------------------------------

@test "serve: usage errors exit 2 with one line" {
	run -2 --separate-stderr ca-serve --max-conns 0
	assert_equal "$stderr" "ca-serve: --max-conns 0: a number from 1 to 4096"
	run -2 --separate-stderr ca-serve --read-timeout 0s
	assert_equal "$stderr" "ca-serve: --read-timeout 0s: a duration above 0 and at most 1h (500ms, 10s, 2m)"
	run -2 --separate-stderr ca-serve --conn-timeout soon
	assert_equal "$stderr" "ca-serve: --conn-timeout soon: a duration above 0 and at most 1h (500ms, 10s, 2m)"
	run -2 --separate-stderr ca-serve --handlers 65
	assert_equal "$stderr" "ca-serve: --handlers 65: a number from 0 to 64"
	run -2 --separate-stderr ca-serve --listen 9443
	assert_equal "$stderr" "ca-serve: --listen 9443: HOST:PORT, [IPV6]:PORT or :PORT"
	run -2 --separate-stderr ca-serve --listen ::1:9443
	assert_equal "$stderr" "ca-serve: --listen ::1:9443: an IPv6 address goes in brackets: [::1]:PORT"
	run -2 --separate-stderr ca-serve --listen 127.0.0.1:70000
	assert_equal "$stderr" "ca-serve: --listen 127.0.0.1:70000: port 1 to 65535"
	run -2 --separate-stderr ca-serve --dir "$CA" extra
	assert_equal "$stderr" "ca-serve: unexpected argument: extra"
	run -2 --separate-stderr ca-serve --dir "$CA" --dir "$CA"
	assert_output ""
	# Sockets from systemd and --listen: one or the other.
	run -2 --separate-stderr sh -c 'LISTEN_PID=$$ LISTEN_FDS=1 exec ca-serve --dir "$1" --listen 127.0.0.1:1' sh "$CA"
	assert_equal "$stderr" "ca-serve: --listen and socket activation (LISTEN_FDS) exclude each other"
}

@test "serve: configuration and certificate problems exit 4 with one line" {
	run -4 --separate-stderr ca-serve --dir "$D/nothing" </dev/null
	assert_equal "$stderr" "ca-serve: $D/nothing/config/ca.json: no CA here (run ca-init, or give --dir)"
	run -4 --separate-stderr ca-serve --dir "$CA" --cert "$D/none.crt" </dev/null
	assert_equal "$stderr" "ca-serve: $D/none.crt: No such file or directory"
	# A key that is not the certificate's.
	run -4 --separate-stderr ca-serve --dir "$CA" --key "$D/foo.key" </dev/null
	assert_equal "$stderr" "ca-serve: $D/foo.key does not match the key of $CA/certs/server.crt: key values mismatch"
	jq '.handlers = {"sing": "x.sock"}' "$D/ca.json.base" | put_file "$CA/config/ca.json"
	run -4 --separate-stderr ca-serve --dir "$CA" </dev/null
	assert_equal "$stderr" "ca-serve: ca.json: handlers.sing: unknown member"
	jq '.tls.minVersion = 1.1' "$D/ca.json.base" | put_file "$CA/config/ca.json"
	run -4 --separate-stderr ca-serve --dir "$CA" </dev/null
	assert_equal "$stderr" "ca-serve: ca.json: tls.minVersion: 1.2 or 1.3"
	jq '.authority.provisioners[0].key.d = "AAAA"' "$D/ca.json.base" | put_file "$CA/config/ca.json"
	run -4 --separate-stderr ca-serve --dir "$CA" </dev/null
	assert_equal "$stderr" 'ca-serve: ca.json: authority.provisioners[0].key: holds a private key ("d"): refused, it would be published'
	# A root or intermediate file whose bytes are not a certificate.
	printf -- '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' >"$D/bad.crt"
	jq --arg f "$D/bad.crt" '.crt = $f' "$D/ca.json.base" | put_file "$CA/config/ca.json"
	run -4 --separate-stderr ca-serve --dir "$CA" </dev/null
	assert_equal "$stderr" "ca-serve: $D/bad.crt: malformed certificate"
	jq --arg f "$D/bad.crt" '.root = $f' "$D/ca.json.base" | put_file "$CA/config/ca.json"
	run -4 --separate-stderr ca-serve --dir "$CA" </dev/null
	assert_equal "$stderr" "ca-serve: $D/bad.crt: malformed certificate"
	# A certificate with bytes after it.
	{ cat "$ROOT"; printf -- '-----BEGIN CERTIFICATE-----\n'; openssl x509 -in "$ROOT" -outform DER | cat - <(printf 'x') | base64; printf -- '-----END CERTIFICATE-----\n'; } >"$D/trail.crt"
	jq --arg f "$D/trail.crt" '.crt = $f' "$D/ca.json.base" | put_file "$CA/config/ca.json"
	run -4 --separate-stderr ca-serve --dir "$CA" </dev/null
	assert_equal "$stderr" "ca-serve: $D/trail.crt: malformed certificate"
}

@test "serve: links neither the authority nor the database" {
	run -0 nm "$BIN/ca-serve"
	refute_output --partial authority_
	refute_output --partial db_open
	refute_output --partial sqlite3_
	refute_output --partial PQconnect
	run -0 ldd "$BIN/ca-serve"
	refute_output --partial libsqlite3
	refute_output --partial libpq
	refute_output --partial libidn2
	assert_output --partial libssl
}

# ---- routes --------------------------------------------------------------------

@test "serve: GET /health and /version, with and without /1.0" {
	serve_listen
	run -0 get /health
	assert_output '{"status":"ok"}'
	run -0 get /1.0/health
	assert_output '{"status":"ok"}'
	run -0 get /version
	assert_output '{"version":"0.1.0","requireClientAuthentication":false}'
	run -0 get /1.0/version
	assert_equal "$(jq -r .version <<<"$output")" 0.1.0
}

@test "serve: GET /root/FP is the root by its SHA-256, either case; another is 404" {
	serve_listen
	run -0 get "/root/$FP"
	assert_equal "$(jq -r .ca <<<"$output")" "$(cat "$ROOT")"
	run -0 get "/1.0/root/${FP^^}"
	assert_equal "$(jq -r .ca <<<"$output")" "$(cat "$ROOT")"
	run -0 status_of "/root/${FP:0:63}0"
	[ "${FP:63}" = 0 ] || assert_output 404
	run -0 status_of "/root/${FP:0:63}"
	assert_output 404
	assert_equal "$(body)" '{"status":404,"message":"root not found"}'
	run -0 status_of "/root/${FP}00"
	assert_output 404
}

@test "serve: GET /roots, /roots.pem, /intermediates, /intermediates.pem" {
	serve_listen
	run -0 get /roots
	assert_equal "$(jq -r '.crts | length' <<<"$output")" 1
	assert_equal "$(jq -r '.crts[0]' <<<"$output")" "$(cat "$ROOT")"
	run -0 get /roots.pem
	assert_equal "$output" "$(cat "$ROOT")"
	run -0 get /1.0/intermediates
	assert_equal "$(jq -r '.crts | length' <<<"$output")" 1
	assert_equal "$(jq -r '.crts[0]' <<<"$output")" "$(cat "$CA/certs/intermediate_ca.crt")"
	run -0 get /intermediates.pem
	assert_equal "$output" "$(cat "$CA/certs/intermediate_ca.crt")"
	run -0 curl -sS --cacert "$ROOT" -o /dev/null -w '%{content_type}' "https://127.0.0.1:$PORT/roots.pem"
	assert_output application/x-pem-file
	# The JSON bodies: compact, one line with its newline, application/json.
	local p
	for p in /roots /intermediates "/root/$FP"; do
		run -0 curl -sS --cacert "$ROOT" -o "$BATS_TEST_TMPDIR/body" -w '%{content_type}' "https://127.0.0.1:$PORT$p"
		assert_output application/json
		assert_equal "$(tail -c 1 "$BATS_TEST_TMPDIR/body" | od -An -tx1 | tr -d ' ')" 0a
		assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/body")" 1
		assert_equal "$(jq -c . "$BATS_TEST_TMPDIR/body")" "$(head -c -1 "$BATS_TEST_TMPDIR/body")"
	done
}

@test "serve: GET /provisioners publishes key and encryptedKey as in ca.json, paged" {
	serve_listen
	run -0 get /provisioners
	# Every member but the admin mark, as ca.json has it.
	assert_equal "$(jq -cS .provisioners <<<"$output")" "$(jq -cS '.authority.provisioners | map(del(.admin))' "$CA/config/ca.json")"
	assert_equal "$(jq -r '.authority.provisioners[1].admin' "$CA/config/ca.json")" true
	assert_equal "$(jq -r '.provisioners[1] | has("admin")' <<<"$output")" false
	assert_equal "$(jq -r .nextCursor <<<"$output")" ""
	assert_equal "$(jq -r '.provisioners[0].encryptedKey' <<<"$output")" \
		"$(jq -r '.authority.provisioners[0].encryptedKey' "$CA/config/ca.json")"
	# Nothing private: the public JWK only.
	assert_equal "$(jq -r '.provisioners[0].key | has("d")' <<<"$output")" false
	run -0 get '/provisioners?limit=1'
	assert_equal "$(jq -r '.provisioners | length' <<<"$output")" 1
	assert_equal "$(jq -r '.provisioners[0].name' <<<"$output")" admin
	assert_equal "$(jq -r .nextCursor <<<"$output")" 1
	run -0 get '/1.0/provisioners?cursor=1&limit=1'
	assert_equal "$(jq -r '.provisioners[0].name' <<<"$output")" ci
	assert_equal "$(jq -r .nextCursor <<<"$output")" ""
	run -0 get '/provisioners?cursor=2'
	assert_equal "$(jq -c . <<<"$output")" '{"provisioners":[],"nextCursor":""}'
	run -0 status_of '/provisioners?limit=x'
	assert_output 400
	assert_equal "$(body)" '{"status":400,"message":"limit: must be a number"}'
	run -0 status_of '/provisioners?cursor=3'
	assert_output 400
}

@test "serve: unknown route 404, wrong method 405 with Allow, unknown method 501" {
	serve_listen
	run -0 status_of /nope
	assert_output 404
	assert_equal "$(body)" '{"status":404,"message":"not found"}'
	run -0 status_of /health -X POST --data-binary x
	assert_output 405
	assert_equal "$(body)" '{"status":405,"message":"method not allowed"}'
	run -0 curl -sS --cacert "$ROOT" -i -X DELETE "https://127.0.0.1:$PORT/health"
	assert_line --partial "Allow: GET, HEAD"
	run -0 curl -sS --cacert "$ROOT" -i "https://127.0.0.1:$PORT/1.0/sign"
	assert_line --partial "Allow: POST"
	run -0 status_of /health -X BREW
	assert_output 501
	assert_equal "$(body)" '{"status":501,"message":"method not supported"}'
	run -0 curl -sS --cacert "$ROOT" -I "https://127.0.0.1:$PORT/health"
	assert_line --partial "HTTP/1.1 200 OK"
	assert_line --partial "Content-Length: 16"
}

@test "serve: keep-alive: two requests on one connection, one log line each" {
	serve_listen
	run -0 curl -sS --cacert "$ROOT" "https://127.0.0.1:$PORT/health" "https://127.0.0.1:$PORT/version"
	assert_line --index 0 '{"status":"ok"}'
	assert_line --index 1 --partial '"version":"0.1.0"'
	run -0 log_lines
	assert_equal "$(jq -r 'select(.path) | .peer' <<<"$output" | sort -u | wc -l)" 1
	assert_equal "$(jq -r 'select(.path) | .path' <<<"$output" | tr '\n' ' ')" "/health /version "
}

@test "serve: one JSON log line per request, without the query string" {
	serve_listen
	get '/provisioners?limit=1&cursor=0' >/dev/null
	run -0 bash -c "grep '\"path\"' '$LOG' | jq -c 'del(.time, .ms, .peer)'"
	assert_output '{"method":"GET","path":"/provisioners","status":200,"bytes":'"$(get '/provisioners?limit=1' | wc -c)"'}'
	run -0 bash -c "grep '\"path\"' '$LOG' | head -1 | jq -r '.time, .peer, (.ms | type)'"
	assert_line --index 0 --regexp '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$'
	assert_line --index 1 --regexp '^127\.0\.0\.1:[0-9]+$'
	assert_line --index 2 number
}

# ---- TLS -----------------------------------------------------------------------

@test "serve: openssl s_client -verify_return_error trusts it through the root" {
	serve_listen
	run -0 bash -c "printf 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
		openssl s_client -connect 127.0.0.1:$PORT -CAfile '$ROOT' -verify_return_error \
		-verify_ip 127.0.0.1 -ign_eof 2>&1"
	assert_line --partial "Verify return code: 0 (ok)"
	assert_line '{"status":"ok"}'
	# No session ticket: nothing of a connection outlives it.
	refute_line --partial "TLS session ticket:"
}

@test "serve: key exchange by X25519, P-256 for a client without it, nothing else" {
	serve_listen
	run -0 bash -c "openssl s_client -connect 127.0.0.1:$PORT -CAfile '$ROOT' </dev/null 2>&1"
	assert_line --partial "Server Temp Key: X25519"
	run -0 bash -c "openssl s_client -connect 127.0.0.1:$PORT -groups P-256 -CAfile '$ROOT' </dev/null 2>&1"
	assert_line --partial "Server Temp Key: ECDH, prime256v1, 256 bits"
	run -1 bash -c "openssl s_client -connect 127.0.0.1:$PORT -groups P-384 </dev/null 2>&1"
	assert_line --partial "Cipher is (NONE)"
}

@test "serve: TLS 1.1 and non-ECDHE or non-AEAD TLS 1.2 suites are refused" {
	serve_listen
	run -1 bash -c "openssl s_client -connect 127.0.0.1:$PORT -tls1_1 </dev/null 2>&1"
	assert_line --partial "alert protocol version"
	assert_line --partial "Cipher is (NONE)"
	run -1 bash -c "openssl s_client -connect 127.0.0.1:$PORT -tls1_2 -cipher AES128-GCM-SHA256 </dev/null 2>&1"
	run -1 bash -c "openssl s_client -connect 127.0.0.1:$PORT -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA256 </dev/null 2>&1"
	run -0 bash -c "openssl s_client -connect 127.0.0.1:$PORT -tls1_2 -CAfile '$ROOT' -verify_return_error </dev/null 2>&1"
	assert_line --partial "Protocol  : TLSv1.2"
	assert_line --partial "Cipher    : ECDHE-ECDSA-AES"
	run -0 bash -c "openssl s_client -connect 127.0.0.1:$PORT -tls1_3 -CAfile '$ROOT' </dev/null 2>&1"
	assert_line --partial "New, TLSv1.3, Cipher is TLS_"
}

@test "serve: tls.minVersion 1.3 in ca.json refuses TLS 1.2" {
	jq '.tls.minVersion = 1.3' "$D/ca.json.base" | put_file "$CA/config/ca.json"
	serve_listen
	run -1 bash -c "openssl s_client -connect 127.0.0.1:$PORT -tls1_2 </dev/null 2>&1"
	run -0 get /health
	assert_output '{"status":"ok"}'
}

@test "serve: plain HTTP to the TLS port: a plain 400 that says so, and closed" {
	serve_listen
	run -0 curl -sS -i "http://127.0.0.1:$PORT/health"
	assert_line --index 0 --partial "HTTP/1.1 400 Bad Request"
	assert_line '{"status":400,"message":"this port speaks HTTPS: use https://"}'
	assert_line --partial "Connection: close"
	run -0 get /health
	assert_output '{"status":"ok"}'
}

@test "serve: random bytes: closed, nothing in clear, the server goes on" {
	serve_listen
	head -c 4096 /dev/urandom >"$BATS_TEST_TMPDIR/noise"
	run -0 raw --plain <"$BATS_TEST_TMPDIR/noise"
	refute_output --partial HTTP
	run -0 get /health
	assert_output '{"status":"ok"}'
	run -0 log_lines
	assert_line --partial '"message":"TLS handshake failed"'
}

@test "serve: a client certificate that does not chain to the root is not trusted, and fails no handshake" {
	# A handler that echoes its request back as an error message.
	fake_handler 'while IFS= read -r line; do printf "{\"status\":418,\"message\":%s}\n" "$(printf "%s" "$line" | jq -Rs .)"; done'
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg "$BATS_TEST_TMPDIR/bin/ca-serve" --dir "$CA" --listen "127.0.0.1:$PORT" --handlers 0
	wait_for port_open "$PORT"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$BATS_TEST_TMPDIR/c.key" -out "$BATS_TEST_TMPDIR/c.crt" -subj /CN=me 2>/dev/null
	run -0 raw --cert "$BATS_TEST_TMPDIR/c.crt" --key "$BATS_TEST_TMPDIR/c.key" \
		--send 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	assert_output --partial '{"status":"ok"}'
	# Served as a client without a certificate: no peerCertificates.
	run -0 status_of /1.0/sign --cert "$BATS_TEST_TMPDIR/c.crt" --key "$BATS_TEST_TMPDIR/c.key" \
		--data-binary '{"ott":"x"}'
	assert_output 418
	assert_equal "$(jq -r .message "$BATS_TEST_TMPDIR/body")" '{"ott":"x"}'
	run -0 bash -c "grep '\"path\":\"/1.0/sign\"' '$LOG' | jq -r .clientCertificate"
	assert_output "not accepted: self-signed certificate"
}

# ---- HTTP limits and deadlines --------------------------------------------------

@test "serve: a head over 16 KiB is 431" {
	serve_listen
	run -0 status_of /health -H "X-Big: $(head -c 17000 /dev/zero | tr '\0' a)"
	assert_output 431
	assert_equal "$(jq -r .status "$BATS_TEST_TMPDIR/body")" 431
}

@test "serve: a Content-Length of 10 MB is 413 before any body" {
	serve_listen
	run -0 raw --send 'POST /1.0/sign HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n'
	assert_line --index 0 --partial "HTTP/1.1 413 "
	assert_line --partial '"status":413'
}

@test "serve: chunked bodies 501, POST without Content-Length 411, HTTP/2.0 505" {
	serve_listen
	run -0 raw --send 'POST /1.0/sign HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
	assert_line --index 0 --partial "HTTP/1.1 501 "
	assert_line --partial '{"status":501,"message":"Transfer-Encoding refused: send the body with Content-Length"}'
	run -0 raw --send 'POST /1.0/sign HTTP/1.1\r\nHost: x\r\n\r\n'
	assert_line --index 0 --partial "HTTP/1.1 411 "
	run -0 raw --send 'GET /health HTTP/2.0\r\nHost: x\r\n\r\n'
	assert_line --index 0 --partial "HTTP/1.1 505 "
}

@test "serve: a slow client is cut off at --read-timeout, inetd style too" {
	serve_listen --read-timeout 1s
	run -0 raw --time --send 'GET /health HTTP/1.1\r\nHost: x\r\n'
	assert_line --partial "HTTP/1.1 408 "
	local t
	t=$(sed -n 's/^elapsed=//p' <<<"$output")
	[ "${t%.*}" -ge 1 ]
	[ "${t%.*}" -lt 4 ]
	# A connection that sends nothing after the handshake.
	run -0 raw --time --send ''
	t=$(sed -n 's/^elapsed=//p' <<<"$output")
	[ "${t%.*}" -lt 4 ]
	serve_socat --read-timeout 1s
	run -0 raw --time --send 'GET /health HTTP/1.1\r\n'
	assert_line --partial "HTTP/1.1 408 "
	t=$(sed -n 's/^elapsed=//p' <<<"$output")
	[ "${t%.*}" -lt 4 ]
}

@test "serve: --conn-timeout ends a connection that keeps asking" {
	serve_listen --conn-timeout 1s
	run -0 raw --time --send 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n'
	assert_line --partial '{"status":"ok"}'
	t=$(sed -n 's/^elapsed=//p' <<<"$output")
	[ "${t%.*}" -lt 4 ]
}

@test "serve: an idle keep-alive connection is closed after 5 s, or --read-timeout if shorter" {
	local t
	serve_listen
	run -0 raw --time --send 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n'
	assert_line --partial '{"status":"ok"}'
	t=$(sed -n 's/^elapsed=//p' <<<"$output")
	[ "${t%.*}" -ge 5 ]
	[ "${t%.*}" -lt 8 ]
	stop_servers
	serve_listen --read-timeout 2s
	run -0 raw --time --send 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n'
	assert_line --partial '{"status":"ok"}'
	t=$(sed -n 's/^elapsed=//p' <<<"$output")
	[ "${t%.*}" -ge 2 ]
	[ "${t%.*}" -lt 4 ]
}

# ---- issuing ---------------------------------------------------------------------

@test "serve: POST /1.0/sign issues a chain to the root, recorded, logged with serial and provisioner" {
	serve_listen
	local t certs0
	certs0=$(certs_count)
	t=$(mint)
	run -0 post_sign "$t" "$D/foo.csr"
	assert_output 201
	jq -r .crt "$BATS_TEST_TMPDIR/body" >"$BATS_TEST_TMPDIR/leaf.pem"
	jq -r .ca "$BATS_TEST_TMPDIR/body" >"$BATS_TEST_TMPDIR/ca.pem"
	run -0 openssl verify -CAfile "$ROOT" -untrusted "$BATS_TEST_TMPDIR/ca.pem" "$BATS_TEST_TMPDIR/leaf.pem"
	assert_equal "$(jq -r '.certChain | length' "$BATS_TEST_TMPDIR/body")" 2
	assert_equal "$(certs_count)" $((certs0 + 1))
	local serial
	serial=$(serial_of "$BATS_TEST_TMPDIR/leaf.pem")
	assert_equal "$(db "select count(*) from certs where serial = '$serial'")" 1
	run -0 bash -c "grep '\"path\":\"/1.0/sign\"' '$LOG' | jq -r '.status, .serial, .provisioner'"
	assert_line --index 0 201
	assert_line --index 1 "$serial"
	assert_line --index 2 admin
	# Never the token.
	run -1 grep -F "${t:0:40}" "$LOG"
	# /sign too, and a second request on the same connection.
	run -0 post_sign "$(mint)" "$D/foo.csr" /sign
	assert_output 201
	# Its serial, read from the DER for the log, is the certificate's too.
	jq -r .crt "$BATS_TEST_TMPDIR/body" >"$BATS_TEST_TMPDIR/leaf2.pem"
	serial=$(serial_of "$BATS_TEST_TMPDIR/leaf2.pem")
	run -0 bash -c "grep '\"path\":\"/sign\"' '$LOG' | jq -r '.serial'"
	assert_output "$serial"
}

@test "serve: refusals are the handler's: the same status and message as ca-sign --api" {
	serve_listen
	local t rows0 cases=(
		"$(mint --set aud='"https://other.example.com/1.0/sign"')"
		"$(mint --sub bar.example.com)"
		"not-a-token"
	)
	rows0=$(rows)
	for t in "${cases[@]}"; do
		run --separate-stderr api_sign "$t" "$D/foo.csr"
		local want=$output
		run -0 post_sign "$t" "$D/foo.csr"
		assert_equal "$output" "$(jq -r .status <<<"$want")"
		assert_equal "$(body)" "$want"
	done
	# Spent tokens: 401 through the server as through the handler.
	t=$(mint)
	run -0 post_sign "$t" "$D/foo.csr"
	assert_output 201
	rows0=$(rows)
	run -0 post_sign "$t" "$D/foo.csr"
	assert_output 401
	assert_equal "$(jq -r .message "$BATS_TEST_TMPDIR/body")" "token already used"
	assert_equal "$(rows)" "$rows0"
}

@test "serve: a policy refusal is 403 with the handler's message" {
	jq '.authority.policy = {"x509": {"deny": {"dns": ["foo.example.com"]}}}' \
		"$D/ca.json.base" | put_file "$CA/config/ca.json"
	serve_listen
	local t
	t=$(mint)
	run --separate-stderr api_sign "$(mint)" "$D/foo.csr"
	local want=$output
	run -0 post_sign "$t" "$D/foo.csr"
	assert_output 403
	assert_equal "$(jq -r .message "$BATS_TEST_TMPDIR/body")" "$(jq -r .message <<<"$want")"
}

@test "serve: a body that is not a JSON object is 400 in the words of ca-sign --api" {
	serve_listen
	local b
	for b in '[1]' '{"csr": 1' '{"a":1,"a":2}' 'null' ' null' '"s"' '12' 'true'; do
		# The same bytes both ways (no newline: a position counts it).
		run --separate-stderr ca-sign --api --offline --dir "$CA" < <(printf '%s' "$b")
		local want=$output
		run -0 status_of /1.0/sign --data-binary "$b"
		assert_output 400
		assert_equal "$(body)" "$want"
	done
}

@test "serve: a client's own peerCertificates never reach the handler" {
	# A handler that echoes its request back as an error message.
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	cp "$BIN/ca-serve" "$BATS_TEST_TMPDIR/bin/"
	cat >"$BATS_TEST_TMPDIR/bin/ca-sign" <<-'SH'
	#!/bin/sh
	while IFS= read -r line; do
		printf '{"status":418,"message":%s}\n' "$(printf '%s' "$line" | jq -Rs .)"
	done
	SH
	chmod +x "$BATS_TEST_TMPDIR/bin/ca-sign"
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg "$BATS_TEST_TMPDIR/bin/ca-serve" --dir "$CA" --listen "127.0.0.1:$PORT" --handlers 0
	wait_for port_open "$PORT"
	run -0 status_of /1.0/sign --data-binary '{"ott":"x","peerCertificates":["forged"]}'
	assert_output 418
	assert_equal "$(jq -r .message "$BATS_TEST_TMPDIR/body")" '{"ott":"x"}'
	# With a client certificate from this CA: its verified chain, leaf first.
	local t
	t=$(mint --sub client.example.com)
	csr cl client.example.com dns:client.example.com
	cli_sign "$t" "$D/cl.csr" >"$BATS_TEST_TMPDIR/cl.pem"
	run -0 status_of /1.0/sign --cert "$BATS_TEST_TMPDIR/cl.pem" --key "$D/cl.key" \
		--data-binary '{"ott":"x","peerCertificates":["forged"]}'
	assert_output 418
	jq -r .message "$BATS_TEST_TMPDIR/body" >"$BATS_TEST_TMPDIR/req.json"
	assert_equal "$(jq -r '.peerCertificates | length' "$BATS_TEST_TMPDIR/req.json")" 3
	assert_equal "$(jq -r '.peerCertificates[0]' "$BATS_TEST_TMPDIR/req.json" | openssl x509 -noout -subject)" \
		"subject=CN = client.example.com"
	assert_equal "$(jq -r '.peerCertificates[2]' "$BATS_TEST_TMPDIR/req.json")" "$(cat "$ROOT")"
}

# fake_handler SCRIPT: ca-serve copied beside a ca-sign that runs SCRIPT.
fake_handler() {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	cp "$BIN/ca-serve" "$BATS_TEST_TMPDIR/bin/"
	printf '#!/bin/sh\n%s\n' "$1" >"$BATS_TEST_TMPDIR/bin/ca-sign"
	chmod +x "$BATS_TEST_TMPDIR/bin/ca-sign"
}

@test "serve: a handler that hangs, crashes or writes garbage is 500, and replaced" {
	local n="$BATS_TEST_TMPDIR/starts"
	# Each start counts; the first request of each handler decides its fate.
	fake_handler "echo x >>'$n'; read -r line; case \$line in
		*hang*) sleep 30 ;;
		*crash*) kill -SEGV \$\$ ;;
		*garbage*) echo 'not json' ;;
		*) echo '{\"crt\":\"x\"}'
		while read -r line; do case \$line in
			*garbage*) echo 'not json' ;;
			*) echo '{\"status\":400,\"message\":\"second\"}' ;;
		esac; done ;;
	esac"
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg socat "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork" \
		EXEC:"$BATS_TEST_TMPDIR/bin/ca-serve --dir $CA --handler-timeout 1s"
	wait_for port_open "$PORT"
	local u="https://127.0.0.1:$PORT/1.0/sign"
	run -0 curl -sS --cacert "$ROOT" -w '%{http_code}\n' --data-binary '{"x":"hang"}' "$u"
	assert_line --index 0 '{"status":500,"message":"handler failed"}'
	assert_line --index 1 500
	run -0 curl -sS --cacert "$ROOT" -w '%{http_code}\n' --data-binary '{"x":"crash"}' "$u"
	assert_line --index 0 '{"status":500,"message":"handler failed"}'
	assert_line --index 1 500
	run -0 curl -sS --cacert "$ROOT" -w '%{http_code}\n' --data-binary '{"x":"garbage"}' "$u"
	assert_line --index 0 '{"status":500,"message":"handler failed"}'
	assert_line --index 1 500
	# On one connection: a good answer, then one from the same handler, then
	# after a failure a new handler for the next request.
	run -0 curl -sS --cacert "$ROOT" -w '%{http_code}\n' \
		--data-binary '{"x":"ok"}' "$u" --next --cacert "$ROOT" -w '%{http_code}\n' \
		--data-binary '{"x":"ok"}' "$u" --next --cacert "$ROOT" -w '%{http_code}\n' \
		--data-binary '{"x":"garbage"}' "$u" --next --cacert "$ROOT" -w '%{http_code}\n' \
		--data-binary '{"x":"ok"}' "$u"
	assert_equal "$(tr '\n' ' ' <<<"$output")" \
		'{"crt":"x"} 201 {"status":400,"message":"second"} 400 {"status":500,"message":"handler failed"} 500 {"crt":"x"} 201 '
	# hang, crash, garbage, the connection's first (which answered three
	# times, the garbage last), and its replacement.
	assert_equal "$(wc -l <"$n")" 5
	run -0 log_lines
	assert_line --partial '"message":"handler: no response in time: killed"'
}

@test "serve: an unreachable handler socket is 503" {
	jq --arg s "$BATS_TEST_TMPDIR/none.sock" '.handlers = {"sign": $s}' \
		"$D/ca.json.base" | put_file "$CA/config/ca.json"
	serve_listen
	run -0 post_sign "$(mint)" "$D/foo.csr"
	assert_output 503
	assert_equal "$(body)" '{"status":503,"message":"handler unavailable"}'
}

# ---- process models ------------------------------------------------------------

# issue_through: one certificate issued through the server on $PORT.
issue_through() {
	run -0 post_sign "$(mint)" "$D/foo.csr"
	assert_output 201
	jq -r .crt "$BATS_TEST_TMPDIR/body" | openssl x509 -noout -subject
}

@test "serve: --listen with its handler pool issues; pool handlers are long-lived" {
	serve_listen --handlers 2
	run -0 issue_through
	assert_output "subject=CN = foo.example.com"
	run -0 issue_through
	# The pool's handlers are children of the server, started once.
	assert_equal "$(pgrep -P "$SERVE_PID" -f 'ca-sign --api' | wc -l)" 2
	run -1 grep -F "starting a handler again" "$LOG"
	# One that dies is replaced; issuing goes on meanwhile.
	kill -KILL "$(pgrep -P "$SERVE_PID" -f 'ca-sign --api' | head -1)"
	wait_for grep -q "starting a handler again" "$LOG"
	wait_until '[ "$(pgrep -P "$SERVE_PID" -f "ca-sign --api" | wc -l)" -eq 2 ]'
	run -0 issue_through
	assert_output "subject=CN = foo.example.com"
}

@test "serve: inetd style under socat, one process per connection" {
	serve_socat
	run -0 get /health
	assert_output '{"status":"ok"}'
	run -0 issue_through
	assert_output "subject=CN = foo.example.com"
	# The peer comes from socat's environment (fd 0 is a socketpair).
	run -0 bash -c "grep '\"path\":\"/health\"' '$LOG' | jq -r .peer"
	assert_output --regexp '^127\.0\.0\.1:[0-9]+$'
}

@test "serve: inetd style under tcpserver" {
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg tcpserver -HR 127.0.0.1 "$PORT" ca-serve --dir "$CA"
	wait_for port_open "$PORT"
	run -0 issue_through
	assert_output "subject=CN = foo.example.com"
	run -0 bash -c "grep '\"path\":\"/1.0/sign\"' '$LOG' | jq -r .status"
	assert_output 201
}

@test "serve: systemd socket activation, Accept=yes (inetd) and Accept=no (LISTEN_FDS)" {
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg systemd-socket-activate --accept --inetd -l "127.0.0.1:$PORT" ca-serve --dir "$CA"
	wait_for port_open "$PORT"
	run -0 get /health
	assert_output '{"status":"ok"}'
	run -0 issue_through
	assert_output "subject=CN = foo.example.com"
	stop_servers
	PORT=$(free_port)
	bg systemd-socket-activate -l "127.0.0.1:$PORT" ca-serve --dir "$CA"
	wait_for port_open "$PORT"
	run -0 get /health
	assert_output '{"status":"ok"}'
	run -0 issue_through
	assert_output "subject=CN = foo.example.com"
	# One long-lived server process accepted both.
	assert_equal "$(grep -c '"message":"serving"' "$LOG")" 1
	# Accept=yes without StandardInput=socket: the connection on fd 3.
	stop_servers
	PORT=$(free_port)
	bg systemd-socket-activate --accept -l "127.0.0.1:$PORT" ca-serve --dir "$CA"
	wait_for port_open "$PORT"
	run -0 get /health
	assert_output '{"status":"ok"}'
	# A listening socket as stdin (inetd's "wait"): the same accept loop.
	stop_servers
	PORT=$(free_port)
	bg systemd-socket-activate --inetd -l "127.0.0.1:$PORT" ca-serve --dir "$CA"
	wait_for port_open "$PORT"
	run -0 get /health
	assert_output '{"status":"ok"}'
	run -0 issue_through
	assert_output "subject=CN = foo.example.com"
}

@test "serve: a socket-activated handler named in ca.json handlers.sign" {
	local s="$BATS_TEST_TMPDIR/sign.sock"
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg systemd-socket-activate -l "$s" ca-sign --api --offline --dir "$CA"
	wait_for test -S "$s"
	jq --arg s "$s" '.handlers = {"sign": $s}' "$D/ca.json.base" | put_file "$CA/config/ca.json"
	serve_socat
	run -0 issue_through
	assert_output "subject=CN = foo.example.com"
	# And from the accept loop: no pool of its own then.
	serve_listen
	run -0 issue_through
	assert_equal "$(pgrep -P "$SERVE_PID" -f 'ca-sign --api' | wc -l)" 0
}

@test "serve: a renewed server certificate is used from the next connection, no restart" {
	serve_listen
	local s1 s2
	s1=$(openssl s_client -connect "127.0.0.1:$PORT" </dev/null 2>/dev/null | openssl x509 -noout -serial)
	server_cert
	s2=$(openssl x509 -in "$CA/certs/server.crt" -noout -serial)
	[ "$s1" != "$s2" ]
	run -0 bash -c "openssl s_client -connect 127.0.0.1:$PORT </dev/null 2>/dev/null | openssl x509 -noout -serial"
	assert_output "$s2"
	run -0 grep -c '"message":"server certificate reloaded"' "$LOG"
	kill -0 "$SERVE_PID"
}

@test "serve: SIGHUP reloads ca.json" {
	jq '.authority.provisioners |= .[0:1]' "$D/ca.json.base" | put_file "$CA/config/ca.json"
	serve_listen
	run -0 get /provisioners
	assert_equal "$(jq -r '.provisioners | length' <<<"$output")" 1
	put_file "$CA/config/ca.json" <"$D/ca.json.base"
	kill -HUP "$SERVE_PID"
	wait_for grep -q '"message":"reloaded' "$LOG"
	run -0 get /provisioners
	assert_equal "$(jq -r '.provisioners | length' <<<"$output")" 2
	# A broken ca.json on reload: the previous one stays.
	echo '{' | put_file "$CA/config/ca.json"
	kill -HUP "$SERVE_PID"
	wait_for grep -q '"message":"reload failed' "$LOG"
	run -0 get /provisioners
	assert_equal "$(jq -r '.provisioners | length' <<<"$output")" 2
}

@test "serve: a ca.json the handlers refuse: a request is answered at once in every model, and a SIGHUP after the fix issues at once" {
	local bad='.authority.provisioners += [{"type": "ACME", "name": "a", "validation": {"allow": ["10.0.0.0/33"]}}]'
	local why="ca.json: authority.provisioners[2].validation.allow[0]: the prefix length must be 0 to 32"
	jq "$bad" "$D/ca.json.base" | put_file "$CA/config/ca.json"
	run -4 --separate-stderr ca-init --check --dir "$CA"
	assert_equal "$stderr" "ca-init: $why"
	# The pool's handlers end as they start; a request waiting for one is
	# refused as soon as none runs, not held for --handler-timeout (30 s).
	serve_listen --handler-timeout 60s
	wait_for grep -q "handler pool sign: handler [0-9]* ended (status 4)" "$LOG"
	run -0 grep -cF "ca-sign: $why" "$LOG"
	run -0 post_sign "$(mint)" "$D/foo.csr"
	assert_output 503
	assert_equal "$(body)" '{"status":503,"message":"handler unavailable"}'
	run -0 grep -cF "handler pool sign: no handler runs (the last refused to start): refused" "$LOG"
	# Put right, and SIGHUP: the pool starts again now, without its pause.
	put_file "$CA/config/ca.json" <"$D/ca.json.base"
	kill -HUP "$SERVE_PID"
	wait_for grep -q '"message":"reloaded' "$LOG"
	run -0 post_sign "$(mint)" "$D/foo.csr"
	assert_output 201
	stop_servers
	# One process per connection: the handler's refusal is the answer.
	jq "$bad" "$D/ca.json.base" | put_file "$CA/config/ca.json"
	serve_socat
	run -0 post_sign "$(mint)" "$D/foo.csr"
	assert_output 500
	assert_equal "$(body)" "{\"status\":500,\"message\":\"$why\"}"
}

@test "serve: a ca.json put right without a SIGHUP is taken at the pool's next start, a second or more after the last ended" {
	local bad='.authority.provisioners += [{"type": "ACME", "name": "a", "validation": {"allow": ["10.0.0.0/33"]}}]'
	jq "$bad" "$D/ca.json.base" | put_file "$CA/config/ca.json"
	serve_listen
	wait_for grep -q "handler pool sign: handler [0-9]* ended (status 4)" "$LOG"
	run -0 post_sign "$(mint)" "$D/foo.csr"
	assert_output 503
	# The pause before a start again: a second at least after the end.
	local again="handler pool sign: starting a handler again" put
	wait_for grep -q "$again" "$LOG"
	# at TEXT 1p|$p: the log time, in ms, of the first or last line holding TEXT.
	at() { grep -F "$1" "$LOG" | sed -n "$2" | jq -r .time | date -f - +%s%3N; }
	[ $(($(at "$again" 1p) - $(at "ended (status 4)" 1p))) -ge 1000 ]
	# Put right; a start after that loads it, and the pool serves.
	put_file "$CA/config/ca.json" <"$D/ca.json.base"
	put=$(date +%s%3N)
	wait_until '[ "$(at "$again" "\$p")" -ge "$put" ]'
	run -0 post_sign "$(mint)" "$D/foo.csr"
	assert_output 201
	run -1 grep -F '"message":"reloaded' "$LOG"
}

# port_closed PORT: nothing accepts connections on 127.0.0.1:PORT.
port_closed() { ! port_open "$1"; }

@test "serve: SIGTERM drains: the request in flight is answered, then exit 0" {
	serve_listen
	local g="$BATS_TEST_TMPDIR/gate"
	"$PY" "$TLSPY" --port "$PORT" --ca "$ROOT" --send 'GET /health HTTP/1.1\r\nHost: x\r\n' \
		--gate "$g" --then 'Connection: keep-alive\r\n\r\n' >"$BATS_TEST_TMPDIR/resp" 2>&1 3>&- &
	local client=$!
	wait_for test -e "$g.sent"
	kill -TERM "$SERVE_PID"
	wait_for grep -q '"message":"SIGTERM' "$LOG"
	# No new connections: the workers close their listening sockets too,
	# each as it takes the signal, so the port closes soon after the log line.
	wait_for port_closed "$PORT"
	touch "$g"
	wait "$client"
	run -0 cat "$BATS_TEST_TMPDIR/resp"
	assert_line '{"status":"ok"}'
	# Answered with Connection: close, though it asked to keep alive.
	assert_line --partial "Connection: close"
	# Waited for here, not under run: see lint.bats.
	local st=0
	wait "$SERVE_PID" || st=$?
	assert_equal "$st" 0
	run -0 grep -c '"message":"stopped"' "$LOG"
}

@test "serve: --max-conns bounds the connections served at once" {
	serve_listen --max-conns 1
	local g="$BATS_TEST_TMPDIR/gate"
	"$PY" "$TLSPY" --port "$PORT" --ca "$ROOT" --send 'GET /health HTTP/1.1\r\nHost: x\r\n' \
		--gate "$g" --then '\r\n' >"$BATS_TEST_TMPDIR/resp" 2>&1 3>&- &
	local client=$!
	wait_for test -e "$g.sent"
	# The second waits in the backlog, not served while the first is open.
	run -28 curl -sS --cacert "$ROOT" -m 2 "https://127.0.0.1:$PORT/health"
	touch "$g"
	wait "$client"
	run -0 get /health
	assert_output '{"status":"ok"}'
}

@test "serve: --listen serves connection after connection from the same pre-forked workers" {
	serve_listen --handlers 1 --max-conns 2
	# The port accepts before the workers are forked: wait for both.
	wait_until '[ "$(pgrep -P "$SERVE_PID" -x ca-serve | wc -l)" -eq 2 ]'
	local before after
	before=$(pgrep -P "$SERVE_PID" -x ca-serve | sort | tr '\n' ' ')
	for i in 1 2 3 4 5 6; do
		run -0 get /health
		assert_output '{"status":"ok"}'
	done
	run -0 issue_through
	assert_output "subject=CN = foo.example.com"
	# Sequential connections need no new worker: no fork per connection.
	after=$(pgrep -P "$SERVE_PID" -x ca-serve | sort | tr '\n' ' ')
	assert_equal "$after" "$before"
}

@test "serve: --max-conns bounds the workers; one that dies is replaced" {
	serve_listen --max-conns 2
	wait_until '[ "$(pgrep -P "$SERVE_PID" -x ca-serve | wc -l)" -eq 2 ]'
	local w
	w=$(pgrep -P "$SERVE_PID" -x ca-serve | head -1)
	kill -KILL "$w"
	wait_for grep -q "\"message\":\"worker $w ended (status 137)\"" "$LOG"
	wait_until '[ "$(pgrep -P "$SERVE_PID" -x ca-serve | wc -l)" -eq 2 ]'
	run -1 kill -0 "$w"
	run -0 get /health
	assert_output '{"status":"ok"}'
}

@test "serve: SIGHUP replaces the workers; a killed server takes its workers along" {
	serve_listen --max-conns 2
	wait_until '[ "$(pgrep -P "$SERVE_PID" -x ca-serve | wc -l)" -eq 2 ]'
	local old new w
	old=$(pgrep -P "$SERVE_PID" -x ca-serve | sort | tr '\n' ' ')
	kill -HUP "$SERVE_PID"
	wait_for grep -q '"message":"reloaded' "$LOG"
	wait_until '[ "$(pgrep -P "$SERVE_PID" -x ca-serve | sort | tr "\n" " ")" != "$old" ]'
	new=$(pgrep -P "$SERVE_PID" -x ca-serve | sort)
	for w in $old; do
		run -1 grep -qx "$w" <<<"$new"
	done
	run -0 get /health
	assert_output '{"status":"ok"}'
	kill -KILL "$SERVE_PID"
	for w in $new; do
		wait_for test ! -e "/proc/$w"
	done
	run -1 port_open "$PORT"
}

# ---- privilege separation ---------------------------------------------------------

@test "serve: ca-serve itself never opens the signing key, the password or the database" {
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	# strace without -f: the ca-serve process alone, not the handler it runs.
	bg socat "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork" \
		EXEC:"strace -A -o $BATS_TEST_TMPDIR/trace -e trace=%file ca-serve --dir $CA"
	wait_for port_open "$PORT"
	run -0 issue_through
	assert_output "subject=CN = foo.example.com"
	run -0 cat "$BATS_TEST_TMPDIR/trace"
	stop_servers
	# It did read its own files...
	assert_output --partial "$CA/secrets/server_key"
	assert_output --partial "config/ca.json"
	# ...and ran the handler, which alone opens the rest.
	refute_output --partial intermediate_ca_key
	refute_output --partial "$D/pw"
	refute_output --partial "/db/"
	refute_output --partial "openssl.cnf"
}

@test "serve: as user nobody, with the handler's socket run by root, issuance works" {
	[ "$(id -u)" -eq 0 ]
	local run="$D/run"
	mkdir -p "$run"
	chmod 0755 "$run"
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg ca-sign --api --offline --dir "$CA" --socket "$run/sign.sock"
	wait_for test -S "$run/sign.sock"
	chgrp nogroup "$run/sign.sock"
	jq --arg s "$run/sign.sock" '.handlers = {"sign": $s}' "$D/ca.json.base" | put_file "$CA/config/ca.json"
	# nobody reads the public files and a key of its own, nothing else.
	local k="$D/nobody"
	mkdir -p "$k"
	cp "$CA/secrets/server_key" "$k/server_key"
	chown -R nobody:nogroup "$k"
	chmod 0700 "$k"
	local p=$CA
	while [ "$p" != / ]; do chmod o+x "$p"; p=$(dirname "$p"); done
	chmod o+r "$CA/config/ca.json" "$CA/certs/server.crt"
	run -1 setpriv --reuid=nobody --regid=nogroup --clear-groups cat "$CA/secrets/intermediate_ca_key"
	PORT=$(free_port)
	bg setpriv --reuid=nobody --regid=nogroup --clear-groups \
		ca-serve --dir "$CA" --key "$k/server_key" --listen "127.0.0.1:$PORT"
	wait_for port_open "$PORT"
	run -0 issue_through
	assert_output "subject=CN = foo.example.com"
	# The server and every worker it forked.
	assert_equal "$(ps -o user= -p "$BG")" nobody
	assert_equal "$(ps -o user= --ppid "$BG" | sort -u)" nobody
}

# ---- contrib ---------------------------------------------------------------------

@test "serve: the systemd units verify and confine the server" {
	local u
	for u in ca-serve.socket ca-serve@.service ca-serve-listen.socket ca-serve.service; do
		[ -f "$TOP/contrib/systemd/$u" ]
	done
	for u in ca-serve@.service ca-serve.service; do
		run -0 grep -xE 'NoNewPrivileges=yes|ProtectSystem=strict|ProtectHome=yes|PrivateTmp=yes|PrivateDevices=yes|RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX|SystemCallFilter=@system-service|User=inca-serve' "$TOP/contrib/systemd/$u"
		assert_equal "${#lines[@]}" 8
		run -0 grep -c '^LoadCredential=server_key:' "$TOP/contrib/systemd/$u"
	done
	run -0 grep -x 'Accept=yes' "$TOP/contrib/systemd/ca-serve.socket"
	run -0 grep -x 'StandardInput=socket' "$TOP/contrib/systemd/ca-serve@.service"
	run -1 grep -x 'Accept=yes' "$TOP/contrib/systemd/ca-serve-listen.socket"
}

@test "serve: Expect: 100-continue gets its interim answer before the body is sent" {
	serve_listen
	local g="$BATS_TEST_TMPDIR/gate" b='{"a":1}'
	"$PY" "$TLSPY" --port "$PORT" --ca "$ROOT" \
		--send "POST /nope HTTP/1.1\\r\\nHost: x\\r\\nExpect: 100-continue\\r\\nContent-Length: ${#b}\\r\\nConnection: close\\r\\n\\r\\n" \
		--gate "$g" --then "$b" >"$BATS_TEST_TMPDIR/resp" 2>&1 3>&- &
	local client=$!
	wait_for test -e "$g.sent"
	touch "$g"
	wait "$client"
	run -0 cat "$BATS_TEST_TMPDIR/resp"
	# First, sent while the body was held back.
	assert_line --index 0 --partial "HTTP/1.1 100 Continue"
	assert_line --partial "HTTP/1.1 404 Not Found"
}

@test "serve: --listen on IPv6" {
	[ -e /proc/net/if_inet6 ]
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg ca-serve --dir "$CA" --listen "[::1]:$PORT"
	wait_for bash -c "(exec 9<>/dev/tcp/::1/$PORT) 2>/dev/null"
	run -0 curl -sS --cacert "$ROOT" --resolve "localhost:$PORT:::1" "https://localhost:$PORT/health"
	assert_output '{"status":"ok"}'
	run -0 bash -c "grep '\"path\"' '$LOG' | jq -r .peer"
	assert_output --regexp '^\[::1\]:[0-9]+$'
}

@test "serve: stderr that is the connection itself (inetd): the log goes to syslog, the stream stays clean" {
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg socat "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork" EXEC:"ca-serve --dir $CA",stderr
	wait_for port_open "$PORT"
	run -0 curl -sS --cacert "$ROOT" "https://127.0.0.1:$PORT/health" "https://127.0.0.1:$PORT/version"
	assert_line --index 0 '{"status":"ok"}'
	assert_line --index 1 --partial '"version":"0.1.0"'
}
