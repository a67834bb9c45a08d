# Shared by token.bats, offline.bats, revoke.bats and policy.bats: one CA
# home per file, tokens crafted by helpers/tok.py with the provisioner's key
# (decrypted once, so no PBKDF2 per token), and the three ways to reach the
# authority: offline in-process (ca-sign --offline), the API handler
# (ca-sign --api --offline) and a real ca-serve over TLS (POST /1.0/sign),
# which must decide every request the same way.
#
# Expects $D (a directory for the file) and sets $CA (the CA home).
# make_ca starts one ca-serve for the file (unless CA_SERVE=0); the
# teardown_file below stops it.  A suite that defines its own
# teardown_file must call stop_ca_serve from it.

PY=/usr/bin/python3
TOKPY="$BATS_TEST_DIRNAME/helpers/tok.py"

# free_port: a TCP port nobody listens on now.
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# port_open PORT: something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# make_ca: a CA home $D/ca for ca.example.com and 10.0.0.1 on port 9443,
# password file $D/pw, the provisioner's private JWK in $D/prov.jwk; and,
# unless CA_SERVE=0, ca-serve on it (start_ca_serve).
make_ca() {
	export CA="$D/ca"
	printf 'correct horse\n' >"$D/pw"
	# An operator's password, but not its 600,000 iterations per issuance:
	# init.bats checks that default; here only the issuing matters.
	ca-init --dir "$CA" --password-file "$D/pw" --dns ca.example.com \
		--dns 10.0.0.1 --address :9443 --key-iterations 2048 \
		$(db_args) >"$D/init.json"
	"$PY" "$TOKPY" key "$CA/config/ca.json" "$D/pw" >"$D/prov.jwk"
	cp "$CA/config/ca.json" "$D/ca.json.orig"
	INIT_CERTS=$(dbq "$CA" 'select count(*) from certs')
	INIT_USED=$(dbq "$CA" 'select count(*) from used_tokens')
	export INIT_CERTS INIT_USED
	[ "${CA_SERVE-1}" = 0 ] || start_ca_serve
}

# start_ca_serve: ca-serve --listen for the home $CA on a free port (in
# $D/serve.port), with the certificate ca-init issued it (for
# ca.example.com and 10.0.0.1), its log in $D/serve.log, its pid in
# $D/serve.pid, the home it serves in $D/serve.home.  3>&-: bats waits
# for whatever holds its fd 3 open.
start_ca_serve() {
	local port
	port=$(free_port)
	cp "$CA/certs/root_ca.crt" "$D/serve-root.crt"
	ca-serve --dir "$CA" --listen "127.0.0.1:$port" \
		</dev/null >/dev/null 2>>"$D/serve.log" 3>&- &
	echo $! >"$D/serve.pid"
	echo "$port" >"$D/serve.port"
	echo "$CA" >"$D/serve.home"
	wait_for port_open "$port"
}

# stop_ca_serve: stop the file's ca-serve, if one was started.
stop_ca_serve() {
	local pid
	[ -f "$D/serve.pid" ] || return 0
	pid=$(cat "$D/serve.pid")
	rm -f "$D/serve.pid" "$D/serve.home"
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# serve_current: the file's ca-serve serves $CA (a suite may switch $CA
# to another home mid-file: then the server is restarted on it, so that
# the request never goes to a home other than the one the test checks).
serve_current() {
	[ "$(cat "$D/serve.home" 2>/dev/null)" = "$CA" ] && return 0
	stop_ca_serve
	start_ca_serve
}

teardown_file() { stop_ca_serve; }

# mint [tok.py mint options]: token(s) for the provisioner "admin".
mint() { "$PY" "$TOKPY" mint "$D/prov.jwk" "$CA/config/ca.json" "$@"; }

# csr NAME CN [type:value...]: $D/NAME.key and $D/NAME.csr, the SANs given
# as dns:, ip:, email: or uri: values (CN "" for none).
csr() {
	local n=$1 cn=$2 s ext=""
	shift 2
	for s in "$@"; do
		case $s in
		dns:*) ext="$ext,DNS:${s#dns:}" ;;
		ip:*) ext="$ext,IP:${s#ip:}" ;;
		email:*) ext="$ext,email:${s#email:}" ;;
		uri:*) ext="$ext,URI:${s#uri:}" ;;
		esac
	done
	local args=(-subj "${cn:+/CN=$cn}")
	[ -n "$cn" ] || args=(-subj "/O=inca tests")
	[ -z "$ext" ] || args+=(-addext "subjectAltName=${ext#,}")
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$D/$n.key" -out "$D/$n.csr" "${args[@]}" 2>/dev/null
}

# db SQL: query the CA's database (SQLite or PostgreSQL: common.bash).
db() { dbq "$CA" "$@"; }
# The counts below are of what the tests made: ca-init's own issuance
# (ca-serve's certificate and the token it spent), recorded by make_ca
# in $INIT_CERTS and $INIT_USED, is left out.
certs_count() { echo $(($(db 'select count(*) from certs') - INIT_CERTS)); }
used_count() { echo $(($(db 'select count(*) from used_tokens') - INIT_USED)); }
# rows: "certs used_tokens" counts in one query.
rows() {
	local r
	r=$(db "select (select count(*) from certs) || ' ' || (select count(*) from used_tokens)")
	echo "$((${r% *} - INIT_CERTS)) $((${r#* } - INIT_USED))"
}
# serials_now: every serial in the database, one a line, in byte order;
# new_serial BEFORE: those now there that the earlier list BEFORE lacks
# (the certificate a program just recorded, on either backend).
serials_now() { db 'select serial from certs order by serial'; }
new_serial() { LC_ALL=C comm -13 <(printf '%s\n' "$1") <(serials_now); }
jti_used() { [ "$(db "select count(*) from used_tokens where jti = '$1'")" -eq 1 ]; }

# cli_sign TOKEN CSRFILE [NOTBEFORE [NOTAFTER]]: the offline program.
cli_sign() {
	local tok=$1 csr=$2 args=()
	[ -z "${3-}" ] || args+=(--not-before "$3")
	[ -z "${4-}" ] || args+=(--not-after "$4")
	ca-sign --offline --dir "$CA" --token "$tok" "${args[@]}" <"$csr"
}

# json_str TEXT: TEXT as a JSON string (quotes, backslashes, newlines).
json_str() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	printf '"%s"' "$s"
}

# api_request TOKEN CSRFILE [NOTBEFORE [NOTAFTER]]: the request JSON
# (built in the shell: jq would cost more than the request itself).
api_request() {
	local csr
	csr=$(cat "$2")
	printf '{"csr":%s,"ott":%s' "$(json_str "$csr"$'\n')" "$(json_str "$1")"
	[ -z "${3-}" ] || printf ',"notBefore":%s' "$(json_str "$3")"
	[ -z "${4-}" ] || printf ',"notAfter":%s' "$(json_str "$4")"
	printf '}\n'
}

# api_sign TOKEN CSRFILE [NOTBEFORE [NOTAFTER]]: the API handler.
api_sign() {
	api_request "$@" | ca-sign --api --offline --dir "$CA"
}

# api_raw: the API handler on the request given on stdin.
api_raw() { ca-sign --api --offline --dir "$CA"; }

# serve_sign TOKEN CSRFILE [NOTBEFORE [NOTAFTER]]: the request api_request
# builds, POSTed to the file's ca-serve (serving $CA) at
# https://ca.example.com:9443/1.0/sign (the name and port of its
# certificate and of the tokens' audience, connected to 127.0.0.1 and the
# server's port); prints the HTTP status, the body in
# $BATS_TEST_TMPDIR/serve.body.
# Call serve_current first (not under run: the server must outlive it).
serve_sign() {
	api_request "$@" >"$BATS_TEST_TMPDIR/serve.req"
	curl -sS --cacert "$D/serve-root.crt" \
		--connect-to "ca.example.com:9443:127.0.0.1:$(cat "$D/serve.port")" \
		-H 'Content-Type: application/json' \
		--data-binary @"$BATS_TEST_TMPDIR/serve.req" \
		-o "$BATS_TEST_TMPDIR/serve.body" -w '%{http_code}' \
		https://ca.example.com:9443/1.0/sign
}

# assert_api_error STATUS MESSAGE: $output is exactly one JSON object
# {"status": STATUS, "message": MESSAGE}.
assert_api_error() {
	assert_equal "$output" "{\"status\":$1,\"message\":$(json_str "$2")}"
}

# refused CODE STATUS MESSAGE TOKEN CSRFILE [NOTBEFORE [NOTAFTER]]
# The same request, offline, through --api and through ca-serve: the first
# two exit CODE with "ca-sign: MESSAGE" as the only stderr line; offline
# prints nothing, the API prints {"status": STATUS, "message": MESSAGE};
# ca-serve answers HTTP STATUS with that same body (unless CA_SERVE=0);
# none leaves a certificate or a spent token behind.  A refusal does not
# spend the token, so the three share it.
refused() {
	local code=$1 st=$2 msg=$3
	shift 3
	local rows0
	rows0=$(rows)
	run -"$code" --separate-stderr cli_sign "$@"
	assert_output ""
	assert_equal "$stderr" "ca-sign: $msg"
	run -"$code" --separate-stderr api_sign "$@"
	assert_equal "$stderr" "ca-sign: $msg"
	assert_api_error "$st" "$msg"
	if [ "${CA_SERVE-1}" != 0 ]; then
		serve_current
		run -0 --separate-stderr serve_sign "$@"
		assert_equal "$stderr" ""
		assert_equal "$output" "$st"
		output=$(cat "$BATS_TEST_TMPDIR/serve.body")
		assert_api_error "$st" "$msg"
	fi
	assert_equal "$(rows)" "$rows0"
}

# issued TOKEN1 TOKEN2 CSRFILE [NOTBEFORE [NOTAFTER]]: TOKEN1 offline and
# TOKEN2 through --api each issue one certificate (two new rows), written
# as $D/cli.pem (the chain) and $D/api.json (the response) and
# $D/api.pem (its crt).
issued() {
	local t1=$1 t2=$2
	shift 2
	local certs0
	certs0=$(certs_count)
	run -0 --separate-stderr cli_sign "$t1" "$@"
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >"$D/cli.pem"
	run -0 --separate-stderr api_sign "$t2" "$@"
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >"$D/api.json"
	jq -r .crt "$D/api.json" >"$D/api.pem"
	assert_equal "$(certs_count)" $((certs0 + 2))
}

# serial_of PEM: the certificate's serial in decimal.
serial_of() {
	local hex
	hex=$(openssl x509 -in "$1" -noout -serial | cut -d= -f2)
	BC_LINE_LENGTH=0 bc <<<"ibase=16; $hex"
}

# issue NAME [ca-sign options...]: $D/NAME.pem (the chain) for
# NAME.example.com, issued offline from $D/NAME.csr with a token of the
# provisioner, and its serial in decimal in $D/NAME.serial.
issue() {
	local n=$1
	shift
	csr "$n" "$n.example.com" "dns:$n.example.com"
	ca-sign --offline --dir "$CA" --token "$(mint --sub "$n.example.com")" "$@" \
		<"$D/$n.csr" >"$D/$n.pem"
	serial_of "$D/$n.pem" >"$D/$n.serial"
}

# S NAME: the serial of issue NAME in decimal; HEX NAME: in hexadecimal.
S() { cat "$D/$1.serial"; }
HEX() { openssl x509 -in "$D/$1.pem" -noout -serial | cut -d= -f2; }
