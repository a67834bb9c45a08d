#!/usr/bin/env bats
# Faults inside issuance, offline and behind a real ca-serve: a handler
# killed before and after its COMMIT, and the random generator failing.
#
# The mechanism: helpers/fault.c, built here into fault.so and preloaded
# (LD_PRELOAD) into the programs under test; the programs themselves carry
# no test hook.  It wraps the two calls through which the database's COMMIT
# is sent (sqlite3_exec and PQexec with "COMMIT") and OpenSSL's random
# functions and seed sources:
#
#   - commit-before / commit-after: the handler (ca-sign, ca-renew or
#     ca-revoke --api behind ca-serve, INCA_FAULT_PROG names which) stops itself with
#     SIGSTOP on entering the COMMIT (its rows written, not committed) or
#     once the COMMIT returned (before its answer is written), and writes
#     its pid next to the arming file.  The test sees it stopped, looks at
#     the database from outside while it is stopped (so the point is
#     proven, not assumed), then kills it with kill -9.  The stop disarms
#     (the arming file is removed), so the handler ca-serve starts in its
#     place works normally.
#   - rand: RAND_bytes, RAND_priv_bytes and their _ex forms fail.
#   - entropy: getrandom, getentropy, syscall(SYS_getrandom) and the
#     random devices fail, so that OpenSSL cannot seed its generator.
#
# The outcome every time: a certificate the client received has its row,
# byte for byte; a client that got none gets 500 (or its certificate when
# the COMMIT held); a token is spent exactly when its certificate's row
# was committed; no serial twice.  A revocation likewise: answered only
# once committed, kept once committed, and listed by the next CRL.

load common
load helpers/serve

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	export FAULT_SO="$D/fault.so"
	fault_so "$FAULT_SO"
	make_serve_ca
	export RENEWTOK="$BATS_TEST_DIRNAME/helpers/renewtok.py"
	csr foo foo.example.com dns:foo.example.com
}

teardown() { stop_servers; }

ARM() { echo "$BATS_TEST_TMPDIR/arm"; }

# serve_fault FAULT "PROG...": ca-serve with one handler of each kind, the
# fault preloaded, applying to those programs alone, armed by $(ARM).
serve_fault() {
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg env LD_PRELOAD="$FAULT_SO" INCA_FAULT="$1" INCA_FAULT_PROG="$2" \
		INCA_FAULT_ARM="$(ARM)" \
		ca-serve --dir "$CA" --listen "127.0.0.1:$PORT" --handlers 1
	SERVE_PID=$BG
	wait_for port_open "$PORT"
}

# offline_fault FAULT COMMAND...: COMMAND with the fault preloaded.
offline_fault() {
	local f=$1
	shift
	env LD_PRELOAD="$FAULT_SO" INCA_FAULT="$f" "$@"
}

# stopped PID: the process is stopped (its state, after its name, in
# /proc/PID/stat).
stopped() { [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" = T ]; }

# stop_point: wait until the armed handler has stopped itself; its pid in
# $HPID.
stop_point() {
	local arm
	arm=$(ARM)
	wait_for test -s "$arm.pid"
	HPID=$(cat "$arm.pid")
	wait_for stopped "$HPID"
}

# kill_handler: kill -9 the handler stop_point found; the request ($REQ,
# its status in $BATS_TEST_TMPDIR/status) ends with ca-serve's 500.
kill_handler() {
	kill -9 "$HPID"
	wait "$REQ"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/status")" 500
	assert_equal "$(body)" '{"status":500,"message":"handler failed"}'
}

# kill_offline: kill -9 the offline program stop_point found; it ends by
# the signal, having printed nothing.
kill_offline() {
	local rc=0
	kill -9 "$HPID"
	wait "$REQ" || rc=$?
	assert_equal "$rc" 137
	assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" ""
}

# in_bg NAME COMMAND...: COMMAND in the background (stdin kept, not
# /dev/null), its stdout in $BATS_TEST_TMPDIR/NAME; its pid in $REQ.
in_bg() {
	local n=$1
	shift
	"$@" <&0 >"$BATS_TEST_TMPDIR/$n" 3>&- &
	REQ=$!
}

# conns N: at least N connections to ca-serve's port are established
# (state 01 in /proc/net/tcp, the local port in hex).
conns() {
	[ "$(awk -v p=":$(printf '%04X' "$PORT")" '$2 ~ p"$" && $4 == "01"' /proc/net/tcp | wc -l)" -ge "$1" ]
}

# serials_distinct: no serial twice in the database.
serials_distinct() {
	assert_equal "$(db 'select count(distinct serial) from certs')" "$(db 'select count(*) from certs')"
}

# row_is PEMFILE: the certificate (the first of the file) is the row of
# its serial, byte for byte.
row_is() {
	assert_equal "$(db "select hex(der) from certs where serial = '$(serial_of "$1")'")" \
		"$(openssl x509 -in "$1" -outform DER | xxd -p -u | tr -d '\n')"
}

# renewable NAME: $D/NAME.pem (leaf and chain) and $D/NAME.key, issued
# offline for NAME.example.com, to renew.
renewable() {
	local t
	t=$(mint --sub "$1.example.com" --set "sans=[\"$1.example.com\"]")
	ca-sign --offline --dir "$CA" --token "$t" --key-out "$D/$1.key" >"$D/$1.pem"
}

# post_renew TOKEN: POST /1.0/renew with the renewal token as Bearer;
# prints the status, the body in $BATS_TEST_TMPDIR/body.
post_renew() {
	status_of /1.0/renew -X POST -H 'Content-Length: 0' -H "Authorization: Bearer $1"
}

# post_revoke TOKEN SERIAL: POST /1.0/revoke, keyCompromise with the
# revoke token; prints the status, the body in $BATS_TEST_TMPDIR/body.
post_revoke() {
	jq -nc --arg s "$2" --arg t "$1" '{serial: $s, ott: $t, reasonCode: 1, passive: true}' \
		>"$BATS_TEST_TMPDIR/req.json"
	status_of /1.0/revoke -H 'Content-Type: application/json' \
		--data-binary @"$BATS_TEST_TMPDIR/req.json"
}

# revocations SERIAL: the revocation rows of SERIAL, "reason_code|method|revoked_at".
revocations() { db "select reason_code || '|' || method || '|' || revoked_at from revocations where serial = '$1'"; }

# crl_now NAME: GET /1.0/crl into $BATS_TEST_TMPDIR/NAME.crl (PEM),
# verified against the intermediate; its number on stdout.
crl_now() {
	local f="$BATS_TEST_TMPDIR/$1.crl"
	curl -sSf --cacert "$ROOT" -o "$f.der" "https://127.0.0.1:$PORT/1.0/crl"
	openssl crl -inform DER -in "$f.der" -out "$f"
	openssl crl -in "$f" -noout -CAfile "$CA/certs/intermediate_ca.crt" 2>&1 | grep -qx 'verify OK'
	openssl crl -in "$f" -noout -crlnumber | cut -d= -f2
}

# revoked_all: every row of the revocations table as crl_entries lists
# it (the tests here revoke with keyCompromise alone).
revoked_all() {
	db "select serial || ' ' || case reason_code when 1 then 'Key Compromise' else 'other' end from revocations" | sort
}

# ---- a handler killed around its COMMIT --------------------------------------

@test "faults: sign handler killed before its COMMIT: 500, nothing recorded, the token unspent and then issues" {
	t=$(mint --sub foo.example.com --set 'sans=["foo.example.com"]')
	jti=$(claims "$t" | jq -r .jti)
	before=$(rows)
	touch "$(ARM)"
	serve_fault commit-before ca-sign
	in_bg status post_sign "$t" "$D/foo.csr"
	stop_point
	# Stopped inside the transaction: nothing is visible from outside.
	assert_equal "$(rows)" "$before"
	kill_handler
	assert_equal "$(rows)" "$before"
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 0
	# The same token, to the handler started in the killed one's place.
	run -0 post_sign "$t" "$D/foo.csr"
	assert_output 201
	jq -r .crt "$BATS_TEST_TMPDIR/body" >"$BATS_TEST_TMPDIR/got.pem"
	row_is "$BATS_TEST_TMPDIR/got.pem"
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 1
	assert_equal "$(rows)" "$(( ${before% *} + 1 )) $(( ${before#* } + 1 ))"
	serials_distinct
}

@test "faults: sign handler killed after its COMMIT: 500, the row and the spent token stay, a new token gets a new serial" {
	t=$(mint --sub foo.example.com --set 'sans=["foo.example.com"]')
	jti=$(claims "$t" | jq -r .jti)
	before=$(rows)
	touch "$(ARM)"
	serve_fault commit-after ca-sign
	in_bg status post_sign "$t" "$D/foo.csr"
	stop_point
	# Committed, not yet answered.
	assert_equal "$(rows)" "$(( ${before% *} + 1 )) $(( ${before#* } + 1 ))"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/status")" ""
	kept=$(db "select serial from certs order by issued_at desc, serial limit 1")
	kill_handler
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 1
	# The token was spent with its certificate: a replay is refused.
	run -0 post_sign "$t" "$D/foo.csr"
	assert_output 401
	assert_equal "$(body)" '{"status":401,"message":"token already used"}'
	assert_equal "$(rows)" "$(( ${before% *} + 1 )) $(( ${before#* } + 1 ))"
	# A new token: a certificate of its own, its row, another serial.
	t2=$(mint --sub foo.example.com --set 'sans=["foo.example.com"]')
	run -0 post_sign "$t2" "$D/foo.csr"
	assert_output 201
	jq -r .crt "$BATS_TEST_TMPDIR/body" >"$BATS_TEST_TMPDIR/got.pem"
	row_is "$BATS_TEST_TMPDIR/got.pem"
	assert_not_equal "$(serial_of "$BATS_TEST_TMPDIR/got.pem")" "$kept"
	serials_distinct
}

@test "faults: renew handler killed before its COMMIT: 500, no renewal recorded, the renewal token unspent and then renews" {
	renewable rb
	rt=$("$PY" "$RENEWTOK" "$D/rb.pem" "$D/rb.key" https://ca.example.com:9443/1.0/renew)
	jti=$(claims "$rt" | jq -r .jti)
	old=$(serial_of "$D/rb.pem")
	before=$(rows)
	touch "$(ARM)"
	serve_fault commit-before ca-renew
	in_bg status post_renew "$rt"
	stop_point
	assert_equal "$(rows)" "$before"
	kill_handler
	assert_equal "$(rows)" "$before"
	assert_equal "$(db "select count(*) from certs where renewed_from = '$old'")" 0
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 0
	run -0 post_renew "$rt"
	assert_output 201
	jq -r .crt "$BATS_TEST_TMPDIR/body" >"$BATS_TEST_TMPDIR/got.pem"
	row_is "$BATS_TEST_TMPDIR/got.pem"
	assert_equal "$(db "select count(*) from certs where renewed_from = '$old'")" 1
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 1
	serials_distinct
}

@test "faults: renew handler killed after its COMMIT: 500, the renewal and its spent token stay, a replay is refused" {
	renewable ra
	rt=$("$PY" "$RENEWTOK" "$D/ra.pem" "$D/ra.key" https://ca.example.com:9443/1.0/renew)
	jti=$(claims "$rt" | jq -r .jti)
	old=$(serial_of "$D/ra.pem")
	before=$(rows)
	touch "$(ARM)"
	serve_fault commit-after ca-renew
	in_bg status post_renew "$rt"
	stop_point
	assert_equal "$(db "select count(*) from certs where renewed_from = '$old'")" 1
	assert_equal "$(cat "$BATS_TEST_TMPDIR/status")" ""
	kill_handler
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 1
	run -0 post_renew "$rt"
	assert_output 401
	assert_equal "$(body)" '{"status":401,"message":"token already used"}'
	assert_equal "$(db "select count(*) from certs where renewed_from = '$old'")" 1
	assert_equal "$(rows)" "$(( ${before% *} + 1 )) $(( ${before#* } + 1 ))"
	serials_distinct
}

@test "faults: revoke handler killed before its COMMIT: 500, nothing recorded, the token unspent and then revokes; the CRL lists it" {
	renewable vb
	sn=$(serial_of "$D/vb.pem")
	t=$(mint --path revoke --sub "$sn")
	jti=$(claims "$t" | jq -r .jti)
	serve_fault commit-before ca-revoke
	# A CRL stored before the fault is armed (making it commits too).
	n0=$(crl_now before)
	touch "$(ARM)"
	in_bg status post_revoke "$t" "$sn"
	stop_point
	# Stopped inside the transaction: nothing is visible from outside.
	assert_equal "$(revocations "$sn")" ""
	kill_handler
	assert_equal "$(revocations "$sn")" ""
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 0
	# Not revoked, the CRL served does not list it.
	crl_now unrevoked >/dev/null
	run -1 grep -q "^$sn " <(crl_entries "$BATS_TEST_TMPDIR/unrevoked.crl")
	# The same token, to the handler started in the killed one's place.
	run -0 post_revoke "$t" "$sn"
	assert_output 200
	assert_equal "$(body)" '{"status":"ok"}'
	assert_regex "$(revocations "$sn")" '^1\|token\|[0-9]+$'
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 1
	# The CRL made after it lists it, and only what the table holds.
	n1=$(crl_now after)
	assert [ "$((n1))" -gt "$((n0))" ]
	assert_equal "$(crl_entries "$BATS_TEST_TMPDIR/after.crl")" "$(revoked_all)"
	run -0 grep -qx "$sn Key Compromise" <(crl_entries "$BATS_TEST_TMPDIR/after.crl")
}

@test "faults: revoke handler killed after its COMMIT: 500, the revocation and its spent token stay, a retry says already revoked; the next CRL lists it" {
	renewable va
	sn=$(serial_of "$D/va.pem")
	t=$(mint --path revoke --sub "$sn")
	jti=$(claims "$t" | jq -r .jti)
	serve_fault commit-after ca-revoke
	n0=$(crl_now before)
	touch "$(ARM)"
	in_bg status post_revoke "$t" "$sn"
	stop_point
	# Committed, not yet answered (and the CRL not yet remade).
	assert_regex "$(revocations "$sn")" '^1\|token\|[0-9]+$'
	assert_equal "$(cat "$BATS_TEST_TMPDIR/status")" ""
	kept=$(revocations "$sn")
	kill_handler
	assert_equal "$(revocations "$sn")" "$kept"
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 1
	# The token was spent with the revocation: a replay is refused.
	run -0 post_revoke "$t" "$sn"
	assert_output 401
	assert_equal "$(body)" '{"status":401,"message":"token already used"}'
	# A new token: already revoked, the first record kept, the new
	# token unspent (its transaction rolled back).
	t2=$(mint --path revoke --sub "$sn")
	run -0 post_revoke "$t2" "$sn"
	assert_output 403
	assert_equal "$(body)" "{\"status\":403,\"message\":\"certificate $sn already revoked\"}"
	assert_equal "$(revocations "$sn")" "$kept"
	assert_equal "$(db "select count(*) from used_tokens where jti = '$(claims "$t2" | jq -r .jti)'")" 0
	# The CRL stored before the revocation is out of date by its count:
	# the next one served is new and lists it.
	n1=$(crl_now after)
	assert [ "$((n1))" -gt "$((n0))" ]
	assert_equal "$(crl_entries "$BATS_TEST_TMPDIR/after.crl")" "$(revoked_all)"
	run -0 grep -qx "$sn Key Compromise" <(crl_entries "$BATS_TEST_TMPDIR/after.crl")
}

@test "faults: a request waiting behind a handler stopped in its COMMIT is served by the handler started in its place" {
	t=$(mint --sub foo.example.com --set 'sans=["foo.example.com"]')
	t2=$(mint --sub foo.example.com --set 'sans=["foo.example.com"]')
	before=$(rows)
	touch "$(ARM)"
	serve_fault commit-before ca-sign
	in_bg status post_sign "$t" "$D/foo.csr"
	stop_point
	# The second request, on its own connection, queues for the one handler.
	api_request "$t2" "$D/foo.csr" >"$BATS_TEST_TMPDIR/req2.json"
	in_bg status2 curl -sS --cacert "$ROOT" -o "$BATS_TEST_TMPDIR/body2" -w '%{http_code}' \
		-H 'Content-Type: application/json' --data-binary @"$BATS_TEST_TMPDIR/req2.json" \
		"https://127.0.0.1:$PORT/1.0/sign"
	REQ2=$REQ
	wait_for conns 2
	kill -9 "$HPID"
	wait "$REQ2"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/status2")" 201
	jq -r .crt "$BATS_TEST_TMPDIR/body2" >"$BATS_TEST_TMPDIR/got.pem"
	row_is "$BATS_TEST_TMPDIR/got.pem"
	assert_equal "$(rows)" "$(( ${before% *} + 1 )) $(( ${before#* } + 1 ))"
}

@test "faults: inetd style, the sign coprocess killed before its COMMIT: 500, nothing recorded, the token issues on the next connection" {
	t=$(mint --sub foo.example.com --set 'sans=["foo.example.com"]')
	jti=$(claims "$t" | jq -r .jti)
	before=$(rows)
	touch "$(ARM)"
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg env LD_PRELOAD="$FAULT_SO" INCA_FAULT=commit-before INCA_FAULT_PROG=ca-sign \
		INCA_FAULT_ARM="$(ARM)" \
		socat "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork" EXEC:"ca-serve --dir $CA"
	wait_for port_open "$PORT"
	in_bg status post_sign "$t" "$D/foo.csr"
	stop_point
	assert_equal "$(rows)" "$before"
	kill_handler
	assert_equal "$(rows)" "$before"
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 0
	run -0 post_sign "$t" "$D/foo.csr"
	assert_output 201
	jq -r .crt "$BATS_TEST_TMPDIR/body" >"$BATS_TEST_TMPDIR/got.pem"
	row_is "$BATS_TEST_TMPDIR/got.pem"
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 1
}

@test "faults: offline ca-sign killed before its COMMIT: nothing printed or recorded, the token unspent" {
	t=$(mint --sub foo.example.com --set 'sans=["foo.example.com"]')
	jti=$(claims "$t" | jq -r .jti)
	before=$(rows)
	touch "$(ARM)"
	in_bg out env LD_PRELOAD="$FAULT_SO" INCA_FAULT=commit-before INCA_FAULT_ARM="$(ARM)" \
		ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
	stop_point
	assert_equal "$(rows)" "$before"
	kill_offline
	assert_equal "$(rows)" "$before"
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 0
	run -0 ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/got.pem"
	row_is "$BATS_TEST_TMPDIR/got.pem"
}

@test "faults: offline ca-sign killed after its COMMIT: the row and the spent token stay, nothing printed" {
	t=$(mint --sub foo.example.com --set 'sans=["foo.example.com"]')
	jti=$(claims "$t" | jq -r .jti)
	before=$(rows)
	touch "$(ARM)"
	in_bg out env LD_PRELOAD="$FAULT_SO" INCA_FAULT=commit-after INCA_FAULT_ARM="$(ARM)" \
		ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
	stop_point
	assert_equal "$(rows)" "$(( ${before% *} + 1 )) $(( ${before#* } + 1 ))"
	kill_offline
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 1
	run -1 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
	assert_equal "$stderr" "ca-sign: token already used"
	serials_distinct
}

# ---- the random generator failing ---------------------------------------------

@test "faults: RAND_bytes failing offline: exit 4 with the reason, nothing printed or recorded, the token unspent" {
	t=$(mint --sub foo.example.com --set 'sans=["foo.example.com"]')
	jti=$(claims "$t" | jq -r .jti)
	before=$(rows)
	run -4 --separate-stderr offline_fault rand ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: serial number: the random generator failed"
	assert_equal "$(rows)" "$before"
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 0
	# With --key-out: the key is the first thing that needs randomness,
	# and the file claimed for it does not stay behind.
	run -4 --separate-stderr offline_fault rand ca-sign --offline --dir "$CA" --token "$t" \
		--key-out "$BATS_TEST_TMPDIR/k.key"
	assert_output ""
	assert_equal "$stderr" "ca-sign: key generation failed"
	assert [ ! -e "$BATS_TEST_TMPDIR/k.key" ]
	assert_equal "$(rows)" "$before"
	# A renewal offline.
	renewable rr
	before=$(rows)
	run -4 --separate-stderr offline_fault rand ca-renew --offline --dir "$CA" --cert "$D/rr.pem"
	assert_output ""
	assert_equal "$stderr" "ca-renew: serial number: the random generator failed"
	assert_equal "$(rows)" "$before"
	# The generator back: the same token issues.
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/got.pem"
	row_is "$BATS_TEST_TMPDIR/got.pem"
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 1
}

@test "faults: no entropy from the kernel offline: exit 4 with OpenSSL's reason, nothing recorded, the token unspent" {
	t=$(mint --sub foo.example.com --set 'sans=["foo.example.com"]')
	jti=$(claims "$t" | jq -r .jti)
	before=$(rows)
	# stderr also holds what libraries loaded with the program say (GnuTLS,
	# through libcurl, complains at start): the program's own line is
	# the one that matters.
	run -4 --separate-stderr offline_fault entropy ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
	assert_output ""
	assert_equal "$(grep '^ca-sign:' <<<"$stderr")" "ca-sign: serial number: the random generator failed: error instantiating drbg"
	assert_equal "$(rows)" "$before"
	run -4 --separate-stderr offline_fault entropy ca-sign --offline --dir "$CA" --token "$t" \
		--key-out "$BATS_TEST_TMPDIR/k.key"
	assert_output ""
	assert_equal "$(grep '^ca-sign:' <<<"$stderr")" "ca-sign: key generation failed: error instantiating drbg"
	assert [ ! -e "$BATS_TEST_TMPDIR/k.key" ]
	assert_equal "$(rows)" "$before"
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 0
	run -0 ca-sign --offline --dir "$CA" --token "$t" <"$D/foo.csr"
}

@test "faults: RAND_bytes failing in the handlers behind ca-serve: 500 with the reason, nothing recorded; the same tokens work once it is back" {
	t=$(mint --sub foo.example.com --set 'sans=["foo.example.com"]')
	jti=$(claims "$t" | jq -r .jti)
	renewable rs
	rt=$("$PY" "$RENEWTOK" "$D/rs.pem" "$D/rs.key" https://ca.example.com:9443/1.0/renew)
	rjti=$(claims "$rt" | jq -r .jti)
	before=$(rows)
	touch "$(ARM)"
	serve_fault rand "ca-sign ca-renew"
	run -0 post_sign "$t" "$D/foo.csr"
	assert_output 500
	assert_equal "$(body)" '{"status":500,"message":"serial number: the random generator failed"}'
	run -0 post_renew "$rt"
	assert_output 500
	assert_equal "$(body)" '{"status":500,"message":"serial number: the random generator failed"}'
	assert_equal "$(rows)" "$before"
	assert_equal "$(db "select count(*) from used_tokens where jti in ('$jti', '$rjti')")" 0
	# The same handlers, the generator back.
	rm "$(ARM)"
	run -0 post_sign "$t" "$D/foo.csr"
	assert_output 201
	jq -r .crt "$BATS_TEST_TMPDIR/body" >"$BATS_TEST_TMPDIR/got.pem"
	row_is "$BATS_TEST_TMPDIR/got.pem"
	run -0 post_renew "$rt"
	assert_output 201
	jq -r .crt "$BATS_TEST_TMPDIR/body" >"$BATS_TEST_TMPDIR/got.pem"
	row_is "$BATS_TEST_TMPDIR/got.pem"
	assert_equal "$(db "select count(*) from used_tokens where jti in ('$jti', '$rjti')")" 2
	serials_distinct
}

@test "faults: a sign handler started without entropy behind ca-serve: 500, nothing recorded; it issues once entropy is back" {
	t=$(mint --sub foo.example.com --set 'sans=["foo.example.com"]')
	jti=$(claims "$t" | jq -r .jti)
	before=$(rows)
	touch "$(ARM)"
	serve_fault entropy ca-sign
	run -0 post_sign "$t" "$D/foo.csr"
	assert_output 500
	assert_equal "$(body)" '{"status":500,"message":"serial number: the random generator failed: error instantiating drbg"}'
	assert_equal "$(rows)" "$before"
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 0
	rm "$(ARM)"
	run -0 post_sign "$t" "$D/foo.csr"
	assert_output 201
	jq -r .crt "$BATS_TEST_TMPDIR/body" >"$BATS_TEST_TMPDIR/got.pem"
	row_is "$BATS_TEST_TMPDIR/got.pem"
	assert_equal "$(db "select count(*) from used_tokens where jti = '$jti'")" 1
}
