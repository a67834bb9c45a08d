#!/usr/bin/env bats
# Faults around a running ca-serve: its handler gone or too busy, the
# database locked by another writer, the disk full under the database and
# under ca-renew --out, the client's clock a day off, and ca-serve's own
# certificate expired or unreadable.  Each fault is made for real (a
# killed or stopped handler process, a real lock held by another
# connection, a tmpfs filled to its last byte, faketime on one side, a
# certificate openssl signed in the past), never simulated in the code.
# Every wait is bounded: a request that would hang fails the test through
# timeout(1) instead.  The expected outcomes are in docs/SECURITY.md,
# "Faults of the online CA".

load common
load helpers/serve

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_serve_ca
	cp "$CA/config/ca.json" "$D/ca.json.base"
	csr foo foo.example.com dns:foo.example.com
}

teardown() {
	stop_servers
	put_file "$CA/config/ca.json" <"$D/ca.json.base"
	while mountpoint -q "$BATS_TEST_TMPDIR/full" 2>/dev/null; do
		umount "$BATS_TEST_TMPDIR/full"
	done
}

teardown_file() { stop_ca_serve; }

# send TOKEN [SECONDS]: post_sign bounded by timeout(1) (default 20 s):
# a hang is exit 124, never a stuck test.  Prints the status; the body in
# $BATS_TEST_TMPDIR/body, the head in $BATS_TEST_TMPDIR/head.
send() {
	api_request "$1" "$D/foo.csr" >"$BATS_TEST_TMPDIR/req.json"
	timeout "${2:-20}" curl -sS --cacert "$ROOT" -o "$BATS_TEST_TMPDIR/body" \
		-D "$BATS_TEST_TMPDIR/head" -w '%{http_code}' \
		-H 'Content-Type: application/json' \
		--data-binary @"$BATS_TEST_TMPDIR/req.json" \
		"https://127.0.0.1:$PORT/1.0/sign"
}

# hdr NAME: a header's value in the last response's head.
hdr() { grep -i "^$1:" "$BATS_TEST_TMPDIR/head" | cut -d' ' -f2- | tr -d '\r'; }

# jti TOKEN: its jti.
jti() { claims "$1" | jq -r .jti; }

# pool_handlers: the pids of ca-serve's sign pool handlers.
pool_handlers() { pgrep -P "$SERVE_PID" -f 'ca-sign --api'; }

# ---- the handler gone or too busy -------------------------------------------------

@test "faults_serve: the handler socket gone: 503 with Retry-After at once, nothing recorded; the handler back, the same token issues" {
	local s="$BATS_TEST_TMPDIR/sign.sock" t rows0 hpid
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg ca-sign --api --offline --dir "$CA" --socket "$s"
	hpid=$BG
	wait_for test -S "$s"
	jq --arg s "$s" '.handlers = {"sign": $s}' "$D/ca.json.base" | put_file "$CA/config/ca.json"
	serve_listen
	run -0 send "$(mint)"
	assert_output 201
	# The handler killed outright: its socket file stays, nobody listens.
	kill -KILL "$hpid"
	wait "$hpid" || true
	rows0=$(rows)
	t=$(mint)
	run -0 send "$t" 10
	assert_output 503
	assert_equal "$(hdr Retry-After)" 5
	assert_equal "$(cat "$BATS_TEST_TMPDIR/body")" '{"status":503,"message":"handler unavailable"}'
	# And the socket file removed too.
	rm -f "$s"
	run -0 send "$t" 10
	assert_output 503
	assert_equal "$(hdr Retry-After)" 5
	assert_equal "$(rows)" "$rows0"
	run -0 db "select count(*) from used_tokens where jti = '$(jti "$t")'"
	assert_output 0
	run -0 grep -c "handler socket $s: " "$LOG"
	assert_output 2
	# Back: the client's retry with the same token is served.
	bg ca-sign --api --offline --dir "$CA" --socket "$s"
	wait_for test -S "$s"
	run -0 send "$t"
	assert_output 201
	jti_used "$(jti "$t")"
}

@test "faults_serve: the handler pool exhausted: a request no handler takes within --handler-timeout is 503 with Retry-After, withdrawn, never acted on later" {
	local t1 t2 rows0 h
	serve_listen --handlers 1 --handler-timeout 2s
	run -0 send "$(mint)"
	assert_output 201
	h=$(pool_handlers)
	assert_equal "$(wc -w <<<"$h")" 1
	# The pool's only handler stops taking requests (as one stuck in a
	# long transaction does).
	kill -STOP "$h"
	rows0=$(rows)
	t1=$(mint)
	run -0 send "$t1" 15
	assert_output 503
	assert_equal "$(hdr Retry-After)" 5
	assert_equal "$(cat "$BATS_TEST_TMPDIR/body")" '{"status":503,"message":"handler unavailable"}'
	run -0 grep -c "handler sign: the request was not taken in time (every handler busy): withdrawn" "$LOG"
	assert_output 1
	# The handler resumes: it finds the withdrawn request first (it was
	# queued first) and does not act on it; then serves the next one.
	kill -CONT "$h"
	t2=$(mint)
	run -0 send "$t2"
	assert_output 201
	wait_for grep -q "ca-sign: request: its sender hung up before it was taken: not acted on" "$LOG"
	assert_equal "$(rows)" "$(( ${rows0% *} + 1 )) $(( ${rows0#* } + 1 ))"
	run -0 db "select count(*) from used_tokens where jti = '$(jti "$t1")'"
	assert_output 0
	# The client's retry with the same token issues.
	run -0 send "$t1"
	assert_output 201
	jti_used "$(jti "$t1")"
	# The same handler all along: withdrawing did not cost a restart.
	assert_equal "$(pool_handlers)" "$h"
}

# ---- the database busy ------------------------------------------------------------

# one_client N: client N sends token N of $BATS_TEST_TMPDIR/tokens (its own
# connection); "STATUS RETRY-AFTER BODY" in $BATS_TEST_TMPDIR/client.N.
one_client() {
	local n=$1 dir=$BATS_TEST_TMPDIR st
	api_request "$(sed -n "${n}p" "$dir/tokens")" "$D/foo.csr" >"$dir/req.$n"
	st=$(timeout 60 curl -sS --cacert "$ROOT" -o "$dir/body.$n" -D "$dir/head.$n" \
		-w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary @"$dir/req.$n" "https://127.0.0.1:$PORT/1.0/sign") || st="exit $?"
	printf '%s %s %s\n' "$st" \
		"$(grep -i '^Retry-After:' "$dir/head.$n" | cut -d' ' -f2 | tr -d '\r')" \
		"$(cat "$dir/body.$n")" >"$dir/client.$n"
}

# busy_msg: what a writer says when another holds the lock past the
# busy timeout, in its backend's words.
busy_msg() {
	if pg_test; then
		echo "database busy: begin transaction: another writer held the lock past the busy timeout"
	else
		echo "database busy: begin transaction: database is locked"
	fi
}

@test "faults_serve: the database locked by another writer: 50 parallel clients each get 503 with Retry-After, no token spent, no row; offline exit 5" {
	local rows0 n pids=()
	jq '.db.busyTimeout = "1s"' "$D/ca.json.base" | put_file "$CA/config/ca.json"
	serve_listen --handlers 2
	run -0 send "$(mint)"
	assert_output 201
	mint -n 50 >"$BATS_TEST_TMPDIR/tokens"
	assert_equal "$(sort -u "$BATS_TEST_TMPDIR/tokens" | wc -l)" 50
	rows0=$(rows)
	hold_db_lock "$CA"
	for n in $(seq 50); do
		one_client "$n" 3>&- &
		pids+=($!)
	done
	wait "${pids[@]}"
	# Offline too, meanwhile: busy is exit 5, nothing printed.
	run -5 --separate-stderr cli_sign "$(sed -n 1p "$BATS_TEST_TMPDIR/tokens")" "$D/foo.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: $(busy_msg)"
	release_db_lock
	cat "$BATS_TEST_TMPDIR"/client.* | sort | uniq -c >"$BATS_TEST_TMPDIR/verdicts"
	run -0 cat "$BATS_TEST_TMPDIR/verdicts"
	assert_output "     50 503 5 {\"status\":503,\"message\":\"$(busy_msg)\"}"
	assert_equal "$(rows)" "$rows0"
	# Every refused client's retry, with its same token, issues.
	for n in 1 25 50; do
		run -0 send "$(sed -n "${n}p" "$BATS_TEST_TMPDIR/tokens")"
		assert_output 201
	done
	assert_equal "$(rows)" "$(( ${rows0% *} + 3 )) $(( ${rows0#* } + 3 ))"
}

# ---- ca-serve's own certificate ----------------------------------------------------

# start_once [ca-serve options...]: ca-serve --listen as a supervisor
# restarting it would, bounded by timeout(1): it must exit by itself.
start_once() {
	timeout 20 ca-serve --dir "$CA" --listen "127.0.0.1:$(free_port)" "$@" 3>&-
}

@test "faults_serve: ca-serve's certificate expired or not yet valid: exit 4 at once with one clear line, every restart alike" {
	local i end
	# The server's key, certified by the intermediate ten days ago for a day.
	printf '%s\n' "subjectAltName=IP:127.0.0.1" "extendedKeyUsage=serverAuth" >"$BATS_TEST_TMPDIR/ext"
	openssl req -new -key "$CA/secrets/server_key" -subj /CN=127.0.0.1 \
		-out "$BATS_TEST_TMPDIR/s.csr" 2>/dev/null
	faketime -f '-10d' openssl x509 -req -in "$BATS_TEST_TMPDIR/s.csr" \
		-CA "$CA/certs/intermediate_ca.crt" -CAkey "$CA/secrets/intermediate_ca_key" \
		-passin "file:$D/pw" -days 1 -extfile "$BATS_TEST_TMPDIR/ext" \
		-out "$BATS_TEST_TMPDIR/old.crt" 2>/dev/null
	cat "$BATS_TEST_TMPDIR/old.crt" "$CA/certs/intermediate_ca.crt" >"$BATS_TEST_TMPDIR/old.pem"
	end=$(date -u -d "$(openssl x509 -in "$BATS_TEST_TMPDIR/old.crt" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
	# Three starts, as a supervisor's restarts: each the same, no hang.
	for i in 1 2 3; do
		run -4 --separate-stderr start_once --cert "$BATS_TEST_TMPDIR/old.pem"
		assert_output ""
		assert_equal "$stderr" "ca-serve: $BATS_TEST_TMPDIR/old.pem: the server certificate expired (notAfter $end): renew it (ca-renew) and start again"
	done
	# One that starts tomorrow: a clock problem, said so.
	faketime -f '+1d' openssl x509 -req -in "$BATS_TEST_TMPDIR/s.csr" \
		-CA "$CA/certs/intermediate_ca.crt" -CAkey "$CA/secrets/intermediate_ca_key" \
		-passin "file:$D/pw" -days 30 -extfile "$BATS_TEST_TMPDIR/ext" \
		-out "$BATS_TEST_TMPDIR/new.crt" 2>/dev/null
	run -4 --separate-stderr start_once --cert "$BATS_TEST_TMPDIR/new.crt"
	assert_equal "$stderr" "ca-serve: $BATS_TEST_TMPDIR/new.crt: the server certificate is not valid yet (notBefore $(date -u -d "$(openssl x509 -in "$BATS_TEST_TMPDIR/new.crt" -noout -startdate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)): is this host's clock right?"
	# The same certificate is served once the clock has reached it.
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	# faketime (common.bash) execs: the pid teardown kills is ca-serve's own.
	bg faketime +2d ca-serve --dir "$CA" --listen "127.0.0.1:$PORT" --cert "$BATS_TEST_TMPDIR/new.crt"
	wait_for port_open "$PORT"
	run -0 ps -o comm= -p "$BG"
	assert_output ca-serve
}

@test "faults_serve: ca-serve's certificate or key unreadable: exit 4 at once with one line naming the file" {
	local i
	# Missing, a directory, not PEM: the certificate; missing, a directory: the key.
	mkdir "$BATS_TEST_TMPDIR/dir"
	printf 'not a certificate\n' >"$BATS_TEST_TMPDIR/junk.pem"
	for i in 1 2; do
		run -4 --separate-stderr start_once --cert "$BATS_TEST_TMPDIR/none.pem"
		assert_output ""
		assert_regex "$stderr" "^ca-serve: [^
]*$BATS_TEST_TMPDIR/none.pem[^
]*$"
	done
	run -4 --separate-stderr start_once --cert "$BATS_TEST_TMPDIR/dir"
	assert_regex "$stderr" "^ca-serve: [^
]*$BATS_TEST_TMPDIR/dir[^
]*$"
	run -4 --separate-stderr start_once --cert "$BATS_TEST_TMPDIR/junk.pem"
	assert_regex "$stderr" "^ca-serve: [^
]*$BATS_TEST_TMPDIR/junk.pem[^
]*$"
	run -4 --separate-stderr start_once --key "$BATS_TEST_TMPDIR/none.key"
	assert_regex "$stderr" "^ca-serve: [^
]*$BATS_TEST_TMPDIR/none.key[^
]*$"
	run -4 --separate-stderr start_once --key "$BATS_TEST_TMPDIR/dir"
	assert_regex "$stderr" "^ca-serve: [^
]*$BATS_TEST_TMPDIR/dir[^
]*$"
}

# ---- the disk full ------------------------------------------------------------------

# small_disk: a 2 MB tmpfs on $FULL (mounting is part of the test: a
# machine where it cannot be done fails, it does not skip).
small_disk() {
	FULL="$BATS_TEST_TMPDIR/full"
	mkdir -p "$FULL"
	run -0 mount -t tmpfs -o size=2m,mode=0700 tmpfs "$FULL"
	mountpoint -q "$FULL"
}

# fill_disk: $FULL filled to its last byte.
fill_disk() {
	! dd if=/dev/zero of="$FULL/filler" bs=4k 2>/dev/null
	! dd if=/dev/zero of="$FULL/filler2" bs=1 2>/dev/null
	[ "$(stat -f -c %a "$FULL")" -eq 0 ]
}

# The database file on a small disk: SQLite's file (a PostgreSQL server's
# disk is its own host's).
# bats test_tags=sqlite
@test "faults_serve: the disk full under the database: issuance fails closed offline (exit 4) and over ca-serve (500), nothing recorded, the token unspent; space again, it issues" {
	local t rows0 sum
	small_disk
	# A copy of the CA home whose database lives on the small disk.
	cp -a "$CA" "$BATS_TEST_TMPDIR/ca"
	CA="$BATS_TEST_TMPDIR/ca"
	sqlite3 "$CA/db/ca.db" "VACUUM INTO '$FULL/ca.db'"
	rm -f "$CA/db/ca.db"*
	jq --arg f "$FULL/ca.db" '.db.dataSource = $f' "$CA/config/ca.json" >"$CA/config/ca.json.new"
	mv "$CA/config/ca.json.new" "$CA/config/ca.json"
	serve_listen --handlers 1
	run -0 send "$(mint)"
	assert_output 201
	# The log emptied into the database file: the next write needs new blocks.
	sqlite3 "$FULL/ca.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
	run -0 fill_disk
	rows0=$(rows)
	sum=$(sqlite3 "$FULL/ca.db" 'select count(*), max(serial) from certs')
	t=$(mint)
	run -4 --separate-stderr cli_sign "$t" "$D/foo.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: database commit: database or disk is full"
	run -0 send "$t"
	assert_output 500
	assert_equal "$(cat "$BATS_TEST_TMPDIR/body")" '{"status":500,"message":"database commit: database or disk is full"}'
	assert_equal "$(rows)" "$rows0"
	run -0 db "select count(*) from used_tokens where jti = '$(jti "$t")'"
	assert_output 0
	run -0 sqlite3 "$FULL/ca.db" 'PRAGMA integrity_check'
	assert_output ok
	assert_equal "$(sqlite3 "$FULL/ca.db" 'select count(*), max(serial) from certs')" "$sum"
	# Space again: the same token issues, through the same handler.
	rm -f "$FULL/filler" "$FULL/filler2"
	run -0 send "$t"
	assert_output 201
	jti_used "$(jti "$t")"
}

@test "faults_serve: the disk full under ca-renew --out: exit 4, the old certificate byte-identical, no temporary file left" {
	local t
	small_disk
	t=$(mint)
	cli_sign "$t" "$D/foo.csr" >"$FULL/foo.pem"
	cp "$FULL/foo.pem" "$BATS_TEST_TMPDIR/foo.before"
	run -0 fill_disk
	run -4 --separate-stderr ca-renew --offline --dir "$CA" --cert "$FULL/foo.pem" --out "$FULL/foo.pem"
	assert_output ""
	assert_regex "$stderr" "^ca-renew: [^
]*$FULL/[^
]*space[^
]*$"
	cmp "$FULL/foo.pem" "$BATS_TEST_TMPDIR/foo.before"
	run -0 ls -A "$FULL"
	assert_output "$(printf 'filler\nfiller2\nfoo.pem')"
	# Space again: the renewal is written whole.
	rm -f "$FULL/filler" "$FULL/filler2"
	run -0 --separate-stderr ca-renew --offline --dir "$CA" --cert "$FULL/foo.pem" --out "$FULL/foo.pem"
	run -1 cmp -s "$FULL/foo.pem" "$BATS_TEST_TMPDIR/foo.before"
	run -0 openssl x509 -in "$FULL/foo.pem" -noout -subject
	assert_output "subject=CN = foo.example.com"
}

# ---- clocks -------------------------------------------------------------------------

# mint_on OFFSET: a token minted by a client whose clock is OFFSET off.
mint_on() { faketime -f "$1" "$PY" "$TOKPY" mint "$D/prov.jwk" "$CA/config/ca.json"; }

# skewed OFFSET MESSAGE: a token minted OFFSET off is refused with
# MESSAGE offline (exit 1), by the handler and over ca-serve (401), the
# same words each way, nothing recorded.
skewed() {
	local t rows0
	t=$(mint_on "$1")
	rows0=$(rows)
	CA_SERVE=0 refused 1 401 "$2" "$t" "$D/foo.csr"
	run -0 send "$t"
	assert_output 401
	assert_equal "$(cat "$BATS_TEST_TMPDIR/body")" "{\"status\":401,\"message\":\"$2\"}"
	assert_equal "$(rows)" "$rows0"
}

@test "faults_serve: a client clock a day ahead or behind: its token refused alike offline, by the handler and over ca-serve; a minute of skew within the leeway issues" {
	serve_listen
	skewed +1d "token rejected: not yet valid"
	skewed -1d "token rejected: expired"
	skewed +2h "token rejected: not yet valid"
	# A minute either way is within the leeway: issued by ca-serve.
	run -0 send "$(mint_on +1m)"
	assert_output 201
	run -0 send "$(mint_on -1m)"
	assert_output 201
}

# serve_at OFFSET: ca-serve, its pool handlers with it, on a clock OFFSET
# off (another host on the same database, or this one with its clock
# wrong), with a server certificate valid for 30 days.
serve_at() {
	stop_servers
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg faketime -f "$1" ca-serve --dir "$CA" --listen "127.0.0.1:$PORT" \
		--cert "$BATS_TEST_TMPDIR/month.pem"
	SERVE_PID=$BG
	wait_for port_open "$PORT"
}

# The CA home is copied so that the token clock this test moves is its
# own; on PostgreSQL a copied home shares its database with the rest of
# the file, so this runs on SQLite only.
# bats test_tags=sqlite
@test "faults_serve: the clock-jump rule under ca-serve: a server a day ahead does not make a spent token work again; beyond the retention every request fails closed (500, the clock named)" {
	local t1 t3 certs0
	cp -a "$CA" "$BATS_TEST_TMPDIR/ca"
	CA="$BATS_TEST_TMPDIR/ca"
	printf '%s\n' "subjectAltName=IP:127.0.0.1" "extendedKeyUsage=serverAuth" >"$BATS_TEST_TMPDIR/ext"
	openssl req -new -key "$CA/secrets/server_key" -subj /CN=127.0.0.1 \
		-out "$BATS_TEST_TMPDIR/s.csr" 2>/dev/null
	openssl x509 -req -in "$BATS_TEST_TMPDIR/s.csr" -CA "$CA/certs/intermediate_ca.crt" \
		-CAkey "$CA/secrets/intermediate_ca_key" -passin "file:$D/pw" -days 30 \
		-extfile "$BATS_TEST_TMPDIR/ext" -out "$BATS_TEST_TMPDIR/s.crt" 2>/dev/null
	cat "$BATS_TEST_TMPDIR/s.crt" "$CA/certs/intermediate_ca.crt" >"$BATS_TEST_TMPDIR/month.pem"
	serve_at +0
	t1=$(mint)
	run -0 send "$t1"
	assert_output 201
	# A day ahead: it issues for its own token (minted on its clock).
	serve_at +1d
	run -0 send "$(mint_on +1d)"
	assert_output 201
	# Back on the right clock: the first token is still spent.
	serve_at +0
	run -0 send "$t1"
	assert_output 401
	assert_equal "$(cat "$BATS_TEST_TMPDIR/body")" '{"status":401,"message":"token already used"}'
	run -0 send "$(mint)"
	assert_output 201
	# Eight days ahead, beyond the retention (7 days): the first token's
	# row is forgotten there...
	serve_at +8d
	run -0 send "$(mint_on +8d)"
	assert_output 201
	run -0 db "select count(*) from used_tokens where jti = '$(jti "$t1")'"
	assert_output 0
	# ...so back on the right clock nothing is issued, old token or new.
	serve_at +0
	certs0=$(db 'select count(*) from certs')
	run -0 send "$t1"
	assert_output 500
	assert_regex "$(jq -r .message "$BATS_TEST_TMPDIR/body")" "^clock: this host's clock \(.*\) is before .*, up to which a clock further ahead had the database forget spent tokens"
	t3=$(mint)
	run -0 send "$t3"
	assert_output 500
	assert_regex "$(jq -r .message "$BATS_TEST_TMPDIR/body")" "^clock: this host's clock "
	assert_equal "$(db 'select count(*) from certs')" "$certs0"
	run -0 db "select count(*) from used_tokens where jti = '$(jti "$t3")'"
	assert_output 0
}
