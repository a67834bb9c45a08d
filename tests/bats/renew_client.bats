#!/usr/bin/env bats
# The client side of renewal: ca-renew online (mTLS, and the renewal
# token as a bearer), --if-due and --expires-in (exit 6, nothing sent or
# written), --out (atomic: the old file survives a failure and a kill),
# --exec (only after a renewal), and ca-sign --out.  The server is
# helpers/fake_ca.py (it can hang, or answer what a test says), which
# hands /1.0/renew to `ca-renew --api --offline` as ca-serve does, so the
# real authority decides.

load common

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	export CTL="$D/ctl" LOG="$D/requests.log"
	unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY
	export PORT URL ROOT CA="$D/ca"
	PORT=$(free_port)
	URL="https://127.0.0.1:$PORT"
	printf 'correct horse\n' >"$D/pw"
	ca-init --dir "$CA" --password-file "$D/pw" --dns 127.0.0.1 \
		--address "127.0.0.1:$PORT" --key-iterations 2048 >"$D/init.json"
	ROOT="$CA/certs/root_ca.crt"
	ca-sign --ca-cert "$CA/certs/intermediate_ca.crt" \
		--ca-key "$CA/secrets/intermediate_ca_key" --password-file "$D/pw" \
		--key-out "$D/server.key" --san 127.0.0.1 127.0.0.1 >"$D/server.pem"
	mkdir -p "$CTL"
	python3 "$BATS_TEST_DIRNAME/helpers/fake_ca.py" "$CA" "$PORT" \
		"$D/server.pem" "$D/server.key" "$CTL" "$LOG" "$D/ready" \
		>"$D/server.out" 2>&1 3>&- &
	echo $! >"$D/server.pid"
	wait_for test -s "$D/ready"
}

teardown_file() {
	kill "$(cat "$D/server.pid")" 2>/dev/null || true
}

setup() {
	rm -f "$CTL"/*
	: >"$LOG"
	unset CA_URL CA_ROOT CA_DIR FAKETIME LD_PRELOAD
	cd "$BATS_TEST_TMPDIR"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# issue NAME [ca-sign options]: NAME.crt (leaf + intermediate) and
# NAME.key in the test's directory, issued offline by the CA for NAME.
issue() {
	local n=$1 t
	shift
	t=$(ca-token --offline --dir "$CA" --password-file "$D/pw" "$n")
	ca-sign --offline --dir "$CA" --token "$t" --key-out "$n.key" "$@" >"$n.crt"
}

# posts: how many POSTs the server saw.
posts() { grep -c '^POST ' "$LOG" || true; }
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
renewed_from() {
	sqlite3 "$CA/db/ca.db" "select renewed_from from certs where serial = '$1'"
}

@test "ca-sign --out: the chain replaces the file, nothing on stdout, mode kept" {
	local t
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout o.key -out o.csr -subj /CN=o.example.com 2>/dev/null
	printf 'old\n' >o.crt
	chmod 0640 o.crt
	t=$(ca-token --offline --dir "$CA" --password-file "$D/pw" o.example.com)
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" --out o.crt <o.csr
	assert_output ""
	assert_equal "$stderr" ""
	assert_equal "$(grep -c 'BEGIN CERTIFICATE' o.crt)" 2
	assert_equal "$(stat -c %a o.crt)" 640
	run -0 openssl x509 -in o.crt -noout -subject
	assert_output "subject=CN = o.example.com"
	# A new file is 0644, whatever the umask.
	t=$(ca-token --offline --dir "$CA" --password-file "$D/pw" o.example.com)
	run -0 ca-sign --offline --dir "$CA" --token "$t" --out new.crt <o.csr
	assert_equal "$(stat -c %a new.crt)" 644
	# No temporary file is left beside them.
	run -0 ls
	refute_output --partial ".tmp."
}

@test "ca-sign --out: a failed ca-sign leaves the old file's bytes, never an empty file" {
	local t
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout f.key -out f.csr -subj /CN=f.example.com 2>/dev/null
	printf 'the good certificate\n' >f.crt
	cp f.crt f.orig
	t=$(ca-token --offline --dir "$CA" --password-file "$D/pw" f.example.com)
	run -0 ca-sign --offline --dir "$CA" --token "$t" --out spent.crt <f.csr
	# The token again: refused, exit 1.
	run -1 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" --out f.crt <f.csr
	assert_equal "$stderr" "ca-sign: token already used"
	cmp f.crt f.orig
	# Malformed input: exit 3.
	t=$(ca-token --offline --dir "$CA" --password-file "$D/pw" f.example.com)
	run -3 ca-sign --offline --dir "$CA" --token "$t" --out f.crt </dev/null
	cmp f.crt f.orig
	# Online, the CA unreachable: exit 5.
	run -5 ca-sign --ca-url "https://127.0.0.1:$(free_port)" --root "$ROOT" \
		--token "$t" --out f.crt <f.csr
	cmp f.crt f.orig
	# Online, the CA refuses: exit 1.
	echo '403 {"status":403,"message":"no"}' >"$CTL/answer"
	run -1 --separate-stderr ca-sign --ca-url "$URL" --root "$ROOT" --token "$t" \
		--out f.crt <f.csr
	assert_equal "$stderr" "ca-sign: no"
	cmp f.crt f.orig
	# --out with --api is a usage error.
	run -2 --separate-stderr ca-sign --api --offline --dir "$CA" --out f.crt </dev/null
	assert_equal "$stderr" "ca-sign: --out does not go with --api (answers go to stdout)"
	cmp f.crt f.orig
}

@test "ca-sign --out: killed while the CA has not answered, the old file is intact" {
	local t pid
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout k.key -out k.csr -subj /CN=k.example.com 2>/dev/null
	printf 'the good certificate\n' >k.crt
	cp k.crt k.orig
	t=$(ca-token --offline --dir "$CA" --password-file "$D/pw" k.example.com)
	touch "$CTL/hang"
	ca-sign --ca-url "$URL" --root "$ROOT" --token "$t" --out k.crt <k.csr 3>&- &
	pid=$!
	wait_for grep -q '^POST /1.0/sign' "$LOG"
	kill -KILL "$pid"
	wait "$pid" || true
	cmp k.crt k.orig
	run -0 ls
	refute_output --partial ".tmp."
}
