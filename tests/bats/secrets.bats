#!/usr/bin/env bats
# Secrets in what the programs write.  setup_file runs one representative
# session and keeps every byte it writes: ca-init; ca-token offline and
# online; ca-sign offline, stateless and through a real ca-serve; ca-renew
# offline, over mTLS and online with --out, and renewal tokens sent as
# "Authorization: Bearer" to /renew and /1.0/renew (ca-renew's own,
# collected from what it sent over TLS, and minted ones: spent, replayed,
# forged, and one sent to /1.0/rekey, which takes none); ca-revoke offline, with a
# token and with the certificate's key; the CRL both ways; and refusals
# (wrong passwords, a spent token, a tampered one, garbage).  None of the
# programs has a --verbose option; every message they can write is in
# their stderr here.  Kept: each program's stdout and stderr, ca-serve's
# log (which its handlers' stderr joins), every file under the CA home but
# the two encrypted keys and the database, any core file, and
# /proc/PID/environ and /proc/PID/cmdline of ca-serve and every process
# under it (workers and the sign, renew and revoke handlers), read while
# they run.  Each test then looks for one kind of secret in all of it
# (helpers/leakscan.py: every form a secret can be written in), and names
# the secret, its form and the file where it is found.

load common

SCAN="$BATS_TEST_DIRNAME/helpers/leakscan.py"

# step NAME CODE COMMAND...: run COMMAND, its stdout in $CAP/NAME.out and
# stderr in $CAP/NAME.err; it must exit CODE.
step() {
	local name=$1 code=$2 st=0
	shift 2
	"$@" >"$CAP/$name.out" 2>"$CAP/$name.err" || st=$?
	if [ "$st" -ne "$code" ]; then
		echo "session step $name exited $st, not $code: $*" >&2
		cat "$CAP/$name.err" >&2
		return 1
	fi
}

# mint NAME ca-token-ARGS...: a token from ca-token, into the user's file
# $U/NAME.tok; ca-token's stdout, where it was printed, is $CAP/mint-NAME.out.
mint() {
	local name=$1
	shift
	step "mint-$name" 0 ca-token "$@"
	cp "$CAP/mint-$name.out" "$U/$name.tok"
	echo "$name" >>"$D/tokens"
}

# bearer NAME STATUS PATH: POST PATH with the renewal token
# $D/bearer/NAME.tok as "Authorization: Bearer", as curl sends it; the
# answer must be STATUS.  Its status in $CAP/NAME.out, the body in
# $CAP/NAME.body.
bearer() {
	step "$1" 0 curl -sS --cacert "$ROOT" -X POST -H 'Content-Length: 0' \
		-H "Authorization: Bearer $(cat "$D/bearer/$1.tok")" \
		-o "$CAP/$1.body" -w '%{http_code}' "$URL$3"
	echo "$1" >>"$D/bearer/list"
	if [ "$(cat "$CAP/$1.out")" != "$2" ]; then
		echo "session step $1 answered $(cat "$CAP/$1.out"), not $2" >&2
		return 1
	fi
}

# renewtok NAME CERT KEY PATH: a renewal token for CERT signed by KEY,
# audience $URL PATH, into $D/bearer/NAME.tok.
renewtok() {
	/usr/bin/python3 "$BATS_TEST_DIRNAME/helpers/renewtok.py" "$2" "$3" "$URL$4" \
		>"$D/bearer/$1.tok"
}

# forge_sig TOKEN: TOKEN with one character of its signature changed, the
# tenth from its end (never the last: its unused bits would make it
# non-canonical base64url, refused before any signature check).
forge_sig() {
	local t=$1 c
	c=${t: -10:1}
	if [ "$c" = A ]; then c=B; else c=A; fi
	printf '%s%s%s\n' "${t:0:${#t}-10}" "$c" "${t: -9}"
}

# serial_of PEM: the certificate's serial, decimal.
serial_of() { ca-inspect "$1" | jq -r '.certificates[0].serial.decimal'; }

# under PID: PID and every process below it.
under() {
	local c
	echo "$1"
	for c in $(pgrep -P "$1"); do under "$c"; done
}

# grab_procs: /proc/PID/environ and cmdline of ca-serve and everything
# under it, into $CAP; their command lines, one a line, in $D/procs.
grab_procs() {
	local p
	for p in $(under "$SERVE_PID"); do
		cat "/proc/$p/environ" >"$CAP/proc-$p.environ" 2>/dev/null || continue
		cat "/proc/$p/cmdline" >"$CAP/proc-$p.cmdline"
		tr '\0' ' ' <"/proc/$p/cmdline" >>"$D/procs"
		echo >>"$D/procs"
	done
}

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY
	export CAP="$D/cap" U="$D/user" CA="$D/ca" PORT URL ROOT SERVE_PID
	mkdir -p "$CAP" "$U" "$D/bearer"
	: >"$D/tokens"
	: >"$D/bearer/list"
	# The shim whose tap keeps what a client sent over TLS.
	fault_so "$D/bearer/fault.so"
	: >"$D/procs"
	# Secrets nobody could mistake for anything else.
	printf 'ca-%s\n' "$(openssl rand -hex 12)" >"$D/pw"
	printf 'prov-%s\n' "$(openssl rand -hex 12)" >"$D/ppw"
	printf 'typo-%s\n' "$(openssl rand -hex 12)" >"$D/wrongpw"
	PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	URL="https://127.0.0.1:$PORT"
	ROOT="$CA/certs/root_ca.crt"
	# Cores, if a program crashed, land here (core_pattern "core").
	cd "$D"
	ulimit -c unlimited

	step init 0 ca-init --dir "$CA" --password-file "$D/pw" \
		--provisioner-password-file "$D/ppw" --dns 127.0.0.1 \
		--address "127.0.0.1:$PORT" --key-iterations 2048
	step token-wrongpw 1 ca-token --offline --dir "$CA" --password-file "$D/wrongpw" a.example.com

	# Offline: a token, a certificate with its key, the token spent.
	mint off --offline --dir "$CA" --password-file "$D/ppw" off.example.com
	step sign-off 0 ca-sign --offline --dir "$CA" --token-file "$U/off.tok" \
		--key-out "$U/off.key" --out "$U/off.crt"
	step sign-off-again 1 ca-sign --offline --dir "$CA" --token-file "$U/off.tok" \
		--key-out "$U/off2.key"
	# A token whose signature was changed, and one that is not a token.
	mint forged --offline --dir "$CA" --password-file "$D/ppw" forged.example.com
	local t
	t=$(cat "$U/forged.tok")
	t=$(forge_sig "$t")
	printf '%s\n' "$t" >"$U/forged.tmp"
	mv "$U/forged.tmp" "$U/forged.tok"
	step sign-forged 1 ca-sign --offline --dir "$CA" --token-file "$U/forged.tok" \
		--key-out "$U/forged.key"
	step sign-garbage 3 ca-sign --offline --dir "$CA" --token not-a-token \
		--key-out "$U/garbage.key"
	# Stateless, with the CA password and with a wrong one.
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$U/sl.key" -out "$U/sl.csr" -subj /CN=sl.example.com \
		-addext subjectAltName=DNS:sl.example.com 2>/dev/null
	step sign-stateless 0 ca-sign --ca-cert "$CA/certs/intermediate_ca.crt" \
		--ca-key "$CA/secrets/intermediate_ca_key" --password-file "$D/pw" <"$U/sl.csr"
	step sign-stateless-wrongpw 1 ca-sign --ca-cert "$CA/certs/intermediate_ca.crt" \
		--ca-key "$CA/secrets/intermediate_ca_key" --password-file "$D/wrongpw" <"$U/sl.csr"

	# ca-serve, and the online clients.
	ca-serve --dir "$CA" --listen "127.0.0.1:$PORT" \
		</dev/null >"$CAP/serve.out" 2>"$CAP/serve.log" 3>&- &
	SERVE_PID=$!
	echo "$SERVE_PID" >"$D/serve.pid"
	wait_for curl -sf --cacert "$ROOT" -o /dev/null "$URL/health"
	mint on --ca-url "$URL" --root "$ROOT" --password-file "$D/ppw" on.example.com
	step token-online-wrongpw 1 ca-token --ca-url "$URL" --root "$ROOT" \
		--password-file "$D/wrongpw" on2.example.com
	step sign-on 0 ca-sign --ca-url "$URL" --root "$ROOT" --token-file "$U/on.tok" \
		--key-out "$U/on.key" --out "$U/on.crt"
	step sign-on-again 1 ca-sign --ca-url "$URL" --root "$ROOT" --token-file "$U/on.tok" \
		--key-out "$U/on2.key"
	step sign-on-forged 1 ca-sign --ca-url "$URL" --root "$ROOT" --token-file "$U/forged.tok" \
		--key-out "$U/on3.key"
	# A token given on the command line: there by the user's choice
	# (docs/SECURITY.md), and nowhere else.
	mint online-arg --ca-url "$URL" --root "$ROOT" --password-file "$D/ppw" arg.example.com
	step sign-on-arg 0 ca-sign --ca-url "$URL" --root "$ROOT" --token "$(cat "$U/online-arg.tok")" \
		--key-out "$U/arg.key" --out "$U/arg.crt"
	# Renewal: mTLS, then again with the new certificate; offline.
	step renew-on 0 ca-renew --ca-url "$URL" --root "$ROOT" --cert "$U/on.crt" \
		--key "$U/on.key" --out "$U/on.crt"
	# ca-renew's own renewal token, as it went over TLS.
	step renew-on-token 0 env LD_PRELOAD="$D/bearer/fault.so" INCA_FAULT=tap \
		INCA_FAULT_TAP="$D/bearer/renew-on-token.tls" \
		ca-renew --ca-url "$URL" --root "$ROOT" --token-auth \
		--cert "$U/arg.crt" --key "$U/arg.key" --out "$U/arg.crt"
	grep -ao 'Authorization: Bearer [A-Za-z0-9_.-]*' "$D/bearer/renew-on-token.tls" |
		cut -d' ' -f3 >"$D/bearer/renew-on-token.tok"
	echo renew-on-token >>"$D/bearer/list"
	# Renewal tokens made here, as a client would send them.
	renewtok bearer-renew "$U/arg.crt" "$U/arg.key" /renew
	bearer bearer-renew 201 /renew
	cp "$D/bearer/bearer-renew.tok" "$D/bearer/bearer-replay.tok"
	bearer bearer-replay 401 /renew
	renewtok bearer-renew1 "$U/arg.crt" "$U/arg.key" /1.0/renew
	bearer bearer-renew1 201 /1.0/renew
	renewtok bearer-forged "$U/arg.crt" "$U/arg.key" /1.0/renew
	t=$(cat "$D/bearer/bearer-forged.tok")
	t=$(forge_sig "$t")
	printf '%s\n' "$t" >"$D/bearer/bearer-forged.tok"
	bearer bearer-forged 401 /1.0/renew
	renewtok bearer-rekey "$U/arg.crt" "$U/arg.key" /1.0/rekey
	bearer bearer-rekey 401 /1.0/rekey
	step renew-off 0 ca-renew --offline --dir "$CA" --cert "$U/off.crt" --out "$U/off.crt"
	# Revocation: a token online, the certificate's own key, a token offline.
	mint rev-on --ca-url "$URL" --root "$ROOT" --password-file "$D/ppw" \
		--revoke "$(serial_of "$U/arg.crt")"
	step revoke-on 0 ca-revoke --ca-url "$URL" --root "$ROOT" --token-file "$U/rev-on.tok" \
		"$(serial_of "$U/arg.crt")"
	step revoke-on-again 1 ca-revoke --ca-url "$URL" --root "$ROOT" --token-file "$U/rev-on.tok" \
		"$(serial_of "$U/arg.crt")"
	step revoke-mtls 0 ca-revoke --ca-url "$URL" --root "$ROOT" --cert "$U/on.crt" \
		--key "$U/on.key" "$(serial_of "$U/on.crt")"
	step renew-revoked 1 ca-renew --ca-url "$URL" --root "$ROOT" --cert "$U/on.crt" \
		--key "$U/on.key" --out "$U/on.crt"
	mint rev-off --offline --dir "$CA" --password-file "$D/ppw" \
		--revoke "$(serial_of "$U/off.crt")"
	step revoke-off 0 ca-revoke --offline --dir "$CA" --token-file "$U/rev-off.tok" \
		"$(serial_of "$U/off.crt")"
	step crl-on 0 ca-revoke --crl --pem --ca-url "$URL" --root "$ROOT"
	step crl-off 0 ca-revoke --crl --pem --offline --dir "$CA"
	# The processes while every kind of handler runs.
	grab_procs
	kill "$SERVE_PID"
	wait "$SERVE_PID" || true
	rm -f "$D/serve.pid"
}

teardown_file() {
	[ -f "$D/serve.pid" ] || return 0
	kill "$(cat "$D/serve.pid")" 2>/dev/null || true
}

# files: every file searched, one a line: $CAP, the CA home but its
# encrypted keys and its database, and core files.
files() {
	find "$CAP" -type f
	find "$CA" -type f ! -path "$CA/db/*" \
		! -path "$CA/secrets/root_ca_key" ! -path "$CA/secrets/intermediate_ca_key"
	# Where a crash would leave one: the session's directory (the
	# programs' working directory) and / (a daemon's, after chdir).
	find "$D" "$BATS_RUN_TMPDIR" -maxdepth 2 -type f \( -name 'core' -o -name 'core.*' \) 2>/dev/null
	find / -maxdepth 1 -type f \( -name 'core' -o -name 'core.*' \) 2>/dev/null
}

# scan SECRET-JSON...: leakscan.py over files() for these secrets.
scan() {
	files | jq -R . | jq -s --argjson s "$(jq -s . <<<"$*")" '{files: ., secrets: $s}' \
		>"$BATS_TEST_TMPDIR/spec.json"
	/usr/bin/python3 "$SCAN" "$BATS_TEST_TMPDIR/spec.json"
}

# text WHAT FILE [ALLOWED...]: a text secret, FILE's first line.
text() {
	local what=$1 f=$2
	shift 2
	jq -n --arg w "$what" --arg t "$(head -n 1 "$f")" '$ARGS.positional as $a | {what: $w, text: $t, allow: $a}' \
		--args "$@"
}

@test "secrets: the session ran whole: outputs, log, and the processes of every handler kind read" {
	assert [ -s "$CAP/serve.log" ]
	assert [ -s "$U/on.crt" ]
	assert [ -s "$CAP/crl-on.out" ]
	run -0 grep -c . "$D/tokens"
	assert_output 6
	# The renewal tokens sent as Bearer: ca-renew's own, taken from
	# what it sent, and those sent with curl, each a compact JWS.
	run -0 cat "$D/bearer/list"
	assert_equal "$(tr '\n' ' ' <<<"$output")" "renew-on-token bearer-renew bearer-replay bearer-renew1 bearer-forged bearer-rekey "
	for n in $(cat "$D/bearer/list"); do
		assert_regex "$(cat "$D/bearer/$n.tok")" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$'
	done
	assert_equal "$(claims "$(cat "$D/bearer/renew-on-token.tok")" | jq -r .aud)" "$URL/1.0/renew"
	assert_equal "$(header "$(cat "$D/bearer/renew-on-token.tok")" | jq -r '.x5c | length')" 2
	run -0 cat "$D/procs"
	assert_line --regexp '^ca-serve --dir '
	assert_line --regexp '^([^ ]*/)?ca-sign --api --offline --dir '
	assert_line --regexp '^([^ ]*/)?ca-renew --api --offline --dir '
	assert_line --regexp '^([^ ]*/)?ca-revoke --api --offline --dir '
	# Every one of them was read: an environ and a cmdline per process.
	assert_equal "$(find "$CAP" -name 'proc-*.environ' | wc -l)" "$(grep -c . "$D/procs")"
	assert_equal "$(find "$CAP" -name 'proc-*.cmdline' | wc -l)" "$(grep -c . "$D/procs")"
	run -0 files
	assert_line "$CA/config/ca.json"
	assert_line "$CA/secrets/server_key"
	refute_line "$CA/secrets/intermediate_ca_key"
}

@test "secrets: the scan finds each kind of secret where it was put (it can fail)" {
	# The user's own files hold them: a scan of those must report them.
	printf '%s\n' "$U/on.key" "$U/off.tok" "$D/pw" >"$BATS_TEST_TMPDIR/f"
	jq -R . "$BATS_TEST_TMPDIR/f" | jq -s --argjson s "[$(text 'CA password' "$D/pw"),
		$(text 'token off' "$U/off.tok"),
		$(jq -n --arg k "$U/on.key" '{what: "key on", key: $k}')]" \
		'{files: ., secrets: $s}' >"$BATS_TEST_TMPDIR/spec.json"
	run -1 /usr/bin/python3 "$SCAN" "$BATS_TEST_TMPDIR/spec.json"
	assert_line "CA password (text) in $D/pw"
	assert_line "token off (text) in $U/off.tok"
	assert_line "key on (PKCS#8 PEM line 1) in $U/on.key"
	assert_line "key on (PKCS#8 PEM line 2) in $U/on.key"
	# The scalar as openssl prints it, and as a JWK's d.
	openssl pkey -in "$U/on.key" -noout -text >"$BATS_TEST_TMPDIR/text"
	printf '%s\n' "$BATS_TEST_TMPDIR/text" >"$BATS_TEST_TMPDIR/f"
	jq -R . "$BATS_TEST_TMPDIR/f" | jq -s --arg k "$U/on.key" \
		'{files: ., secrets: [{what: "key on", key: $k}]}' >"$BATS_TEST_TMPDIR/spec.json"
	run -1 /usr/bin/python3 "$SCAN" "$BATS_TEST_TMPDIR/spec.json"
	assert_output "key on (first line of openssl's text form) in $BATS_TEST_TMPDIR/text"
	/usr/bin/python3 "$BATS_TEST_DIRNAME/helpers/tok.py" key "$CA/config/ca.json" "$D/ppw" \
		>"$BATS_TEST_TMPDIR/prov.jwk"
	printf '%s\n' "$BATS_TEST_TMPDIR/prov.jwk" >"$BATS_TEST_TMPDIR/f"
	jq -R . "$BATS_TEST_TMPDIR/f" | jq -s --arg k "$BATS_TEST_TMPDIR/prov.jwk" \
		'{files: ., secrets: [{what: "provisioner key", jwk: $k}]}' >"$BATS_TEST_TMPDIR/spec.json"
	run -1 /usr/bin/python3 "$SCAN" "$BATS_TEST_TMPDIR/spec.json"
	assert_output "provisioner key (scalar in base64url (JWK d)) in $BATS_TEST_TMPDIR/prov.jwk"
	# A token, whole, and its signature alone (as a log cut at a dot
	# would keep it).
	t=$(cat "$D/bearer/renew-on-token.tok")
	printf 'x %s y\n' "$t" >"$BATS_TEST_TMPDIR/whole"
	printf 'x %s y\n' "${t##*.}" >"$BATS_TEST_TMPDIR/sig"
	printf '%s\n' "$BATS_TEST_TMPDIR/whole" "$BATS_TEST_TMPDIR/sig" >"$BATS_TEST_TMPDIR/f"
	jq -R . "$BATS_TEST_TMPDIR/f" | jq -s --arg t "$t" \
		'{files: ., secrets: [{what: "renewal token", token: $t}]}' >"$BATS_TEST_TMPDIR/spec.json"
	run -1 /usr/bin/python3 "$SCAN" "$BATS_TEST_TMPDIR/spec.json"
	assert_equal "$output" "renewal token (whole token) in $BATS_TEST_TMPDIR/whole
renewal token (token signature) in $BATS_TEST_TMPDIR/whole
renewal token (token signature) in $BATS_TEST_TMPDIR/sig"
}

@test "secrets: the CA password is in no output, log, file of the home, core, environment or command line" {
	run -0 scan "$(text 'the CA password' "$D/pw")"
	assert_output ""
}

@test "secrets: the provisioner password is in no output, log, file of the home, core, environment or command line" {
	run -0 scan "$(text 'the provisioner password' "$D/ppw")"
	assert_output ""
}

@test "secrets: a wrong password typed is echoed nowhere" {
	run -0 scan "$(text 'the wrong password' "$D/wrongpw")"
	assert_output ""
}

@test "secrets: the CA's private keys (root, intermediate, provisioner) are nowhere, in any encoding" {
	/usr/bin/python3 "$BATS_TEST_DIRNAME/helpers/tok.py" key "$CA/config/ca.json" "$D/ppw" \
		>"$BATS_TEST_TMPDIR/prov.jwk"
	run -0 scan \
		"$(jq -n --arg k "$CA/secrets/root_ca_key" --arg p "$D/pw" '{what: "the root key", key: $k, password_file: $p}')" \
		"$(jq -n --arg k "$CA/secrets/intermediate_ca_key" --arg p "$D/pw" '{what: "the intermediate key", key: $k, password_file: $p}')" \
		"$(jq -n --arg k "$BATS_TEST_TMPDIR/prov.jwk" '{what: "the provisioner key", jwk: $k}')"
	assert_output ""
}

@test "secrets: ca-serve's TLS key is only in its own file" {
	run -0 scan "$(jq -n --arg k "$CA/secrets/server_key" '{what: "the server key", key: $k, allow: [$k]}')"
	assert_output ""
}

@test "secrets: the keys made for the clients are only in the files given to --key-out" {
	local k specs=()
	for k in off on arg sl; do
		specs+=("$(jq -n --arg k "$U/$k.key" --arg w "the key of $k.example.com" '{what: $w, key: $k}')")
	done
	run -0 scan "${specs[@]}"
	assert_output ""
}

# token WHAT FILE [ALLOWED...]: a token, FILE's first line, looked for
# whole and by its signature.
token() {
	local what=$1 f=$2
	shift 2
	jq -n --arg w "$what" --arg t "$(head -n 1 "$f")" '$ARGS.positional as $a | {what: $w, token: $t, allow: $a}' \
		--args "$@"
}

@test "secrets: every token of the session is only where it was printed, never in a log, a file of the home or a process" {
	local n specs=()
	while read -r n; do
		specs+=("$(token "token $n" "$U/$n.tok" "$CAP/mint-$n.out")")
	done <"$D/tokens"
	run -0 scan "${specs[@]}"
	assert_output ""
}

@test "secrets: every renewal token sent as Authorization: Bearer (to /renew, /1.0/renew, /1.0/rekey) is nowhere, whole or by its signature" {
	local n specs=()
	while read -r n; do
		specs+=("$(token "renewal token $n" "$D/bearer/$n.tok")")
	done <"$D/bearer/list"
	run -0 scan "${specs[@]}"
	assert_output ""
}

@test "secrets: no stray file: the refused requests left no key behind, and the home holds only its own files" {
	# --key-out of every refused request (spent, forged, garbage) is gone.
	run -0 find "$U" -type f -printf '%f\n'
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" \
		"arg.crt arg.key forged.tok off.crt off.key off.tok on.crt on.key on.tok online-arg.tok rev-off.tok rev-on.tok sl.csr sl.key "
	run -0 find "$CA" -type f ! -path "$CA/db/*" -printf '%P\n'
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" \
		"certs/intermediate_ca.crt certs/root_ca.crt certs/server.crt config/ca.json config/defaults.json secrets/intermediate_ca_key secrets/root_ca_key secrets/server_key "
	# Nor a temporary file in the directory the programs ran in.
	run -0 find "$D" -maxdepth 1 -type f -printf '%f\n'
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "ppw procs pw tokens wrongpw "
}

@test "secrets: a JWK key file or a ca.json that does not parse is not quoted: the key or the database password in it stays out of stderr" {
	# The provisioner's private JWK with the ':' after "d" gone: jansson's
	# own text would quote the value at fault, the private scalar.
	/usr/bin/python3 "$BATS_TEST_DIRNAME/helpers/tok.py" key "$CA/config/ca.json" "$D/ppw" \
		>"$BATS_TEST_TMPDIR/prov.jwk"
	jq -c . "$BATS_TEST_TMPDIR/prov.jwk" | sed 's/"d":/"d" /' >"$BATS_TEST_TMPDIR/bad.jwk"
	chmod 600 "$BATS_TEST_TMPDIR/bad.jwk"
	run -3 --separate-stderr ca-token --key "$BATS_TEST_TMPDIR/bad.jwk" --issuer admin \
		--aud "$URL/1.0/sign" a.example.com
	assert_output ""
	assert_regex "$stderr" "^ca-token: $BATS_TEST_TMPDIR/bad.jwk: malformed JWK: invalid syntax at byte [0-9]+\$"
	printf '%s\n' "$stderr" >"$BATS_TEST_TMPDIR/jwk.err"
	printf '%s\n' "$BATS_TEST_TMPDIR/jwk.err" >"$BATS_TEST_TMPDIR/f"
	jq -R . "$BATS_TEST_TMPDIR/f" | jq -s --arg k "$BATS_TEST_TMPDIR/prov.jwk" \
		'{files: ., secrets: [{what: "the provisioner key", jwk: $k}]}' >"$BATS_TEST_TMPDIR/spec.json"
	run -0 /usr/bin/python3 "$SCAN" "$BATS_TEST_TMPDIR/spec.json"
	assert_output ""
	# A ca.json whose dataSource holds a password (refused once it
	# parses), its ':' gone: the programs that load it say where, not what.
	pw="pg-$(openssl rand -hex 12)"
	mkdir -p "$BATS_TEST_TMPDIR/h/config"
	printf '{\n "db": {"type": "postgresql", "dataSource" "postgresql://ca:%s@db.example.com/ca"}\n}\n' \
		"$pw" | put_file "$BATS_TEST_TMPDIR/h/config/ca.json"
	run -4 --separate-stderr ca-list --dir "$BATS_TEST_TMPDIR/h"
	assert_regex "$stderr" "^ca-list: $BATS_TEST_TMPDIR/h/config/ca.json: line 2: invalid syntax at byte [0-9]+\$"
	refute_output --partial "$pw"
	assert_equal "${stderr/$pw/}" "$stderr"
	run -4 --separate-stderr ca-revoke --crl --offline --dir "$BATS_TEST_TMPDIR/h"
	assert_equal "${stderr/$pw/}" "$stderr"
	assert_regex "$stderr" 'line 2: invalid syntax at byte [0-9]+$'
}
