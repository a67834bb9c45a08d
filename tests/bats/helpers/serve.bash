# ca-serve in the tests: a CA home with a server certificate, servers
# started in the background (3>&- so that bats does not wait for them,
# their pids kept for teardown), and clients: curl, openssl s_client and
# a raw TLS client (helpers/tlsclient.py) for what curl will not send.
#
# Expects $D (a directory for the file); loads helpers/authority.

load helpers/authority

TLSPY="$BATS_TEST_DIRNAME/helpers/tlsclient.py"

# make_serve_ca: make_ca's home (without make_ca's own ca-serve: each test
# here starts the servers it needs), and ca-serve's own certificate from it.
make_serve_ca() {
	CA_SERVE=0 make_ca
	server_cert
	ROOT="$CA/certs/root_ca.crt"
	export ROOT
}

# server_cert: certs/server.crt (leaf and intermediate) and
# secrets/server_key for 127.0.0.1 and localhost, an ordinary leaf issued
# by the CA itself, as ca-init issues it.
server_cert() {
	local t
	t=$(mint --sub 127.0.0.1 --set 'sans=["127.0.0.1","localhost"]')
	rm -f "$CA/secrets/server_key"
	ca-sign --offline --dir "$CA" --token "$t" \
		--key-out "$CA/secrets/server_key" >"$CA/certs/server.crt.new"
	mv "$CA/certs/server.crt.new" "$CA/certs/server.crt"
}

# bg COMMAND...: run in the background, logging to $LOG; $BG is its pid,
# which teardown kills.
bg() {
	"$@" 2>>"$LOG" 3>&- &
	BG=$!
	echo "$BG" >>"$BATS_TEST_TMPDIR/pids"
}

# serve_listen [OPTIONS...]: ca-serve --listen on a free port ($PORT),
# pid $SERVE_PID, log $LOG; returns once it accepts.
serve_listen() {
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg ca-serve --dir "$CA" --listen "127.0.0.1:$PORT" "$@"
	SERVE_PID=$BG
	wait_for port_open "$PORT"
}

# serve_socat [OPTIONS...]: ca-serve inetd style under socat, one process
# per connection.
serve_socat() {
	PORT=$(free_port)
	LOG="$BATS_TEST_TMPDIR/serve.log"
	local cmd="ca-serve --dir $CA"
	[ $# -eq 0 ] || cmd="$cmd $*"
	bg socat "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork" EXEC:"$cmd"
	SERVE_PID=$BG
	wait_for port_open "$PORT"
}

# stop_servers: kill what bg started (teardown).
stop_servers() {
	local p
	[ -f "$BATS_TEST_TMPDIR/pids" ] || return 0
	while read -r p; do
		kill "$p" 2>/dev/null || true
	done <"$BATS_TEST_TMPDIR/pids"
	while read -r p; do
		wait "$p" 2>/dev/null || true
	done <"$BATS_TEST_TMPDIR/pids"
	rm -f "$BATS_TEST_TMPDIR/pids"
}

# get PATH [curl options...]: GET https://127.0.0.1:$PORT/PATH, body on stdout.
get() {
	local p=$1
	shift
	curl -sS --cacert "$ROOT" "$@" "https://127.0.0.1:$PORT$p"
}

# status_of PATH [curl options...]: the HTTP status, the body in $D/body.
status_of() {
	local p=$1
	shift
	curl -sS --cacert "$ROOT" -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' \
		"$@" "https://127.0.0.1:$PORT$p"
}

# post_sign TOKEN CSRFILE [PATH]: POST the request to /1.0/sign (or
# PATH); prints the status, the body in $BATS_TEST_TMPDIR/body.
post_sign() {
	api_request "$1" "$2" >"$BATS_TEST_TMPDIR/req.json"
	status_of "${3:-/1.0/sign}" -H 'Content-Type: application/json' \
		--data-binary @"$BATS_TEST_TMPDIR/req.json"
}

# body: the last response body.
body() { cat "$BATS_TEST_TMPDIR/body"; }

# raw [tlsclient.py options...]: bytes from stdin over TLS to $PORT, the
# response on stdout (see helpers/tlsclient.py).
raw() { "$PY" "$TLSPY" --port "$PORT" --ca "$ROOT" "$@"; }
