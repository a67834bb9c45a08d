#!/usr/bin/env bats
# The client side of renewal: ca-renew online (mTLS, and the renewal
# token as a bearer), --if-due and --expires-in (exit 6, nothing sent or
# written), --out (atomic: the old file survives a failure and a kill),
# --exec (only after a renewal), and ca-sign --out.  The server is
# helpers/fake_ca.py (it can hang, or answer what a test says), which
# hands /1.0/renew to `ca-renew --api --offline` as ca-serve does, so the
# real authority decides; the tests named "against ca-serve" use a real
# ca-serve on a CA home of their own ($RCA).

load common

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	export CTL="$D/ctl" LOG="$D/requests.log"
	unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY
	export PORT URL ROOT CA="$D/ca"
	PORT=$(free_port)
	URL="https://127.0.0.1:$PORT"
	printf 'correct horse\n' >"$D/pw"
	# Made a day ago, so that certificates issued in the past (faketime)
	# chain to an intermediate that was valid then.
	faketime -f -1d ca-init --dir "$CA" --password-file "$D/pw" --dns 127.0.0.1 \
		--address "127.0.0.1:$PORT" --key-iterations 2048 $(db_args) >"$D/init.json"
	cp "$CA/config/ca.json" "$D/ca.json.orig"
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
	# A real ca-serve, on a home made for its own address.
	export RPORT RURL RCA="$D/rca"
	RPORT=$(free_port)
	RURL="https://127.0.0.1:$RPORT"
	ca-init --dir "$RCA" --password-file "$D/pw" --dns 127.0.0.1 \
		--address "127.0.0.1:$RPORT" --key-iterations 2048 $(db_args) >/dev/null
	ca-serve --dir "$RCA" --listen "127.0.0.1:$RPORT" \
		</dev/null >/dev/null 2>"$D/rserve.log" 3>&- &
	echo $! >"$D/rserve.pid"
	wait_for curl -sf --cacert "$RCA/certs/root_ca.crt" -o /dev/null "$RURL/health"
}

teardown_file() {
	kill "$(cat "$D/server.pid")" 2>/dev/null || true
	kill "$(cat "$D/rserve.pid")" 2>/dev/null || true
	wait "$(cat "$D/rserve.pid")" 2>/dev/null || true
}

setup() {
	put_file "$CA/config/ca.json" <"$D/ca.json.orig"
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

# renew [ca-renew options]: online, the fake CA, the test's svc.crt and svc.key
# unless the options say otherwise.
renew() {
	ca-renew --ca-url "$URL" --root "$ROOT" "$@"
}

# posts: how many POSTs the server saw.
posts() { grep -c '^POST ' "$LOG" || true; }
# serial PEM: the certificate's serial in decimal, as the database has it.
serial() {
	python3 -c 'import sys; print(int(sys.argv[1], 16))' \
		"$(openssl x509 -in "$1" -noout -serial | cut -d= -f2)"
}
renewed_from() {
	dbq "$CA" "select renewed_from from certs where serial = '$1'"
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

@test "ca-renew online over mTLS: same key and names, a fresh serial, renewed_from" {
	issue svc.example.com --not-after 1h
	run -0 --separate-stderr renew --cert svc.example.com.crt --key svc.example.com.key
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >new.crt
	# The leaf and the intermediate.
	assert_equal "$(grep -c 'BEGIN CERTIFICATE' new.crt)" 2
	run -0 openssl verify -CAfile "$ROOT" -untrusted "$CA/certs/intermediate_ca.crt" new.crt
	assert_equal "$(openssl x509 -in new.crt -noout -pubkey)" \
		"$(openssl pkey -in svc.example.com.key -pubout)"
	assert_equal "$(openssl x509 -in new.crt -noout -subject -ext subjectAltName)" \
		"$(openssl x509 -in svc.example.com.crt -noout -subject -ext subjectAltName)"
	refute [ "$(serial new.crt)" = "$(serial svc.example.com.crt)" ]
	assert_equal "$(renewed_from "$(serial new.crt)")" "$(serial svc.example.com.crt)"
	# The CA saw the client certificate, and no token.
	assert_equal "$(posts)" 1
	run -0 cat "$LOG"
	assert_line "POST /1.0/renew"
	assert_line "peer svc.example.com"
	refute_line "bearer"
}

@test "ca-renew --token-auth: a renewal token as bearer, no client certificate" {
	issue tok.example.com --not-after 1h
	run -0 --separate-stderr renew --cert tok.example.com.crt --key tok.example.com.key \
		--token-auth --out tok.new.crt
	assert_output ""
	assert_equal "$stderr" ""
	assert_equal "$(openssl x509 -in tok.new.crt -noout -pubkey)" \
		"$(openssl pkey -in tok.example.com.key -pubout)"
	run -0 cat "$LOG"
	assert_line "POST /1.0/renew"
	assert_line "bearer"
	refute_line --partial "peer "
	assert_equal "$(renewed_from "$(serial tok.new.crt)")" "$(serial tok.example.com.crt)"
}

@test "ca-renew: an expired certificate goes with a renewal token by itself" {
	local t
	# Issued two hours ago for one hour: expired an hour ago.
	t=$(faketime -f -2h ca-token --offline --dir "$CA" --password-file "$D/pw" old.example.com)
	faketime -f -2h ca-sign --offline --dir "$CA" --token "$t" --key-out old.key \
		--not-after 1h >old.crt
	cp old.crt old.orig
	# Refused while the CA does not allow renewal after expiry; the file stays.
	run -1 --separate-stderr renew --cert old.crt --key old.key --out old.crt
	assert_output ""
	assert_regex "$stderr" "^ca-renew: .*expired"
	cmp old.crt old.orig
	run -0 cat "$LOG"
	assert_line "bearer"
	refute_line --partial "peer "
	# Allowed: renewed, with the token, never over mTLS.
	jq '.authority.claims.allowRenewalAfterExpiry = true' "$D/ca.json.orig" | put_file "$CA/config/ca.json"
	: >"$LOG"
	run -0 --separate-stderr renew --cert old.crt --key old.key --out old.crt
	assert_equal "$stderr" ""
	run -0 openssl x509 -in old.crt -noout -checkend 1800
	run -0 cat "$LOG"
	assert_line "bearer"
	refute_line --partial "peer "
}

@test "ca-renew --if-due: not before 2/3 of the lifetime (exit 6, nothing sent, written or run), then renewed" {
	issue due.example.com --not-after 1h
	printf 'the good certificate\n' >due.crt
	cp due.crt due.orig
	# Lifetime 61m (1m backdate): due between 36.6 and 39.7 minutes from now.
	run -6 --separate-stderr renew --if-due --cert due.example.com.crt \
		--key due.example.com.key --out due.crt --exec 'touch ran'
	assert_output ""
	assert_equal "$stderr" ""
	run -6 --separate-stderr faketime -f +35m ca-renew --ca-url "$URL" --root "$ROOT" \
		--if-due --cert due.example.com.crt --key due.example.com.key --out due.crt \
		--exec 'touch ran'
	assert_output ""
	assert_equal "$stderr" ""
	cmp due.crt due.orig
	[ ! -e ran ]
	assert_equal "$(posts)" 0
	# Past 2/3: renewed, written, and the command run.
	run -0 --separate-stderr faketime -f +40m ca-renew --ca-url "$URL" --root "$ROOT" \
		--if-due --cert due.example.com.crt --key due.example.com.key --out due.crt \
		--exec 'touch ran'
	assert_equal "$stderr" ""
	[ -e ran ]
	assert_equal "$(posts)" 1
	assert_equal "$(openssl x509 -in due.crt -noout -pubkey)" \
		"$(openssl pkey -in due.example.com.key -pubout)"
}

@test "ca-renew --if-due offline, as the CA server's own certificate is renewed" {
	issue srv.example.com --not-after 1h
	cp srv.example.com.crt srv.orig
	run -6 --separate-stderr faketime -f +35m ca-renew --offline --dir "$CA" --if-due \
		--cert srv.example.com.crt --out srv.example.com.crt
	assert_equal "$stderr" ""
	cmp srv.example.com.crt srv.orig
	run -0 --separate-stderr faketime -f +40m ca-renew --offline --dir "$CA" --if-due \
		--cert srv.example.com.crt --out srv.example.com.crt
	assert_equal "$stderr" ""
	run -1 cmp -s srv.example.com.crt srv.orig
	assert_equal "$(renewed_from "$(serial srv.example.com.crt)")" "$(serial srv.orig)"
	assert_equal "$(posts)" 0
}

@test "ca-renew --expires-in: renewed only when it expires within the duration" {
	issue exp.example.com --not-after 1h
	cp exp.example.com.crt exp.orig
	run -6 --separate-stderr renew --expires-in 30m --cert exp.example.com.crt \
		--key exp.example.com.key --out exp.example.com.crt
	assert_output ""
	assert_equal "$stderr" ""
	cmp exp.example.com.crt exp.orig
	assert_equal "$(posts)" 0
	run -0 --separate-stderr renew --expires-in 2h --cert exp.example.com.crt \
		--key exp.example.com.key --out exp.example.com.crt
	assert_equal "$stderr" ""
	run -1 cmp -s exp.example.com.crt exp.orig
	assert_equal "$(posts)" 1
	# Malformed or both conditions: usage errors, nothing sent.
	run -2 --separate-stderr renew --expires-in soon --cert exp.example.com.crt \
		--key exp.example.com.key
	assert_equal "$stderr" "ca-renew: --expires-in: a duration such as 8h or 30m"
	run -2 --separate-stderr renew --expires-in 1h --if-due --cert exp.example.com.crt \
		--key exp.example.com.key
	assert_equal "$stderr" "ca-renew: --if-due and --expires-in: give one"
	assert_equal "$(posts)" 1
}

@test "ca-renew --out: killed while the CA has not answered, the old file is intact" {
	local pid
	issue kill.example.com --not-after 1h
	cp kill.example.com.crt kill.orig
	touch "$CTL/hang"
	ca-renew --ca-url "$URL" --root "$ROOT" --cert kill.example.com.crt \
		--key kill.example.com.key --out kill.example.com.crt --exec 'touch ran' 3>&- &
	pid=$!
	wait_for grep -q '^POST /1.0/renew' "$LOG"
	kill -KILL "$pid"
	wait "$pid" || true
	cmp kill.example.com.crt kill.orig
	[ ! -e ran ]
	run -0 ls
	refute_output --partial ".tmp."
}

@test "ca-renew --out: a refused or failed renewal leaves the old file, and --exec does not run" {
	issue ref.example.com --not-after 1h
	cp ref.example.com.crt ref.orig
	# Refused by the CA.
	echo '403 {"status":403,"message":"certificate 1 is revoked"}' >"$CTL/answer"
	run -1 --separate-stderr renew --cert ref.example.com.crt --key ref.example.com.key \
		--out ref.example.com.crt --exec 'touch ran'
	assert_equal "$stderr" "ca-renew: certificate 1 is revoked"
	cmp ref.example.com.crt ref.orig
	# The CA busy.
	echo 3 >"$CTL/503"
	rm -f "$CTL/answer"
	run -5 renew --cert ref.example.com.crt --key ref.example.com.key \
		--out ref.example.com.crt --exec 'touch ran'
	cmp ref.example.com.crt ref.orig
	# An answer for another key.
	issue other.example.com --not-after 1h
	printf '201 {"certChain":[%s]}' "$(openssl x509 -in other.example.com.crt | jq -Rs .)" \
		>"$CTL/answer"
	run -4 --separate-stderr renew --cert ref.example.com.crt --key ref.example.com.key \
		--out ref.example.com.crt --exec 'touch ran'
	assert_equal "$stderr" "ca-renew: $URL/1.0/renew: the certificate in the answer is not for the certificate's key"
	cmp ref.example.com.crt ref.orig
	# A certificate this CA never issued: the authority says 401.
	rm -f "$CTL/answer"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout stray.key -out stray.csr -subj /CN=stray.example.com 2>/dev/null
	ca-sign --ca-cert "$CA/certs/intermediate_ca.crt" --ca-key "$CA/secrets/intermediate_ca_key" \
		--password-file "$D/pw" --san stray.example.com <stray.csr >stray.crt
	cp stray.crt stray.orig
	run -1 --separate-stderr renew --cert stray.crt --key stray.key --out stray.crt \
		--exec 'touch ran'
	assert_equal "$stderr" "ca-renew: certificate $(serial stray.orig) was not issued by this CA"
	cmp stray.crt stray.orig
	run -1 --separate-stderr renew --cert stray.crt --key stray.key --out stray.crt \
		--exec 'touch ran' --token-auth
	assert_equal "$stderr" "ca-renew: certificate $(serial stray.orig) was not issued by this CA"
	cmp stray.crt stray.orig
	[ ! -e ran ]
}

@test "ca-renew --exec: runs after a renewal only; its failure is exit 4 with the new certificate in place" {
	issue ex.example.com --not-after 1h
	cp ex.example.com.crt ex.orig
	run -0 --separate-stderr renew --cert ex.example.com.crt --key ex.example.com.key \
		--out ex.example.com.crt --exec 'echo "$PWD" > ran'
	assert_output ""
	assert_equal "$(cat ran)" "$PWD"
	run -1 cmp -s ex.example.com.crt ex.orig
	cp ex.example.com.crt ex.second
	run -4 --separate-stderr renew --cert ex.example.com.crt --key ex.example.com.key \
		--out ex.example.com.crt --exec 'exit 7'
	assert_equal "$stderr" "ca-renew: --exec: exit 7: exited 7 (the certificate was renewed into ex.example.com.crt)"
	run -1 cmp -s ex.example.com.crt ex.second
	assert_equal "$(openssl x509 -in ex.example.com.crt -noout -pubkey)" \
		"$(openssl pkey -in ex.example.com.key -pubout)"
}

@test "ca-renew --key-out: rekey over mTLS, the new key 0600, the certificate for it" {
	issue rk.example.com --not-after 1h
	run -0 --separate-stderr renew --cert rk.example.com.crt --key rk.example.com.key \
		--key-out rk.new.key --out rk.new.crt
	assert_output ""
	assert_equal "$stderr" ""
	assert_equal "$(stat -c %a rk.new.key)" 600
	assert_equal "$(openssl x509 -in rk.new.crt -noout -pubkey)" \
		"$(openssl pkey -in rk.new.key -pubout)"
	refute [ "$(openssl pkey -in rk.new.key -pubout)" = "$(openssl pkey -in rk.example.com.key -pubout)" ]
	assert_equal "$(openssl x509 -in rk.new.crt -noout -subject -ext subjectAltName)" \
		"$(openssl x509 -in rk.example.com.crt -noout -subject -ext subjectAltName)"
	run -0 cat "$LOG"
	assert_line "POST /1.0/rekey"
	assert_line "peer rk.example.com"
	# Not with a renewal token.
	run -2 --separate-stderr renew --cert rk.example.com.crt --key rk.example.com.key \
		--key-out rk.other.key --token-auth
	assert_equal "$stderr" "ca-renew: --key-out goes over mTLS: not with --token-auth or an expired certificate"
	[ ! -e rk.other.key ]
}

@test "ca-renew: the key must be the certificate's; nothing is sent otherwise" {
	issue a.example.com --not-after 1h
	issue b.example.com --not-after 1h
	run -3 --separate-stderr renew --cert a.example.com.crt --key b.example.com.key
	assert_output ""
	assert_equal "$stderr" "ca-renew: b.example.com.key does not match the certificate in a.example.com.crt"
	run -3 --separate-stderr renew --cert a.example.com.crt --key a.example.com.crt
	assert_regex "$stderr" "^ca-renew: a\.example\.com\.crt: not an unencrypted PEM private key"
	run -2 --separate-stderr renew --cert a.example.com.crt
	assert_equal "$stderr" "ca-renew: online renewal needs --key (the certificate's key), or --offline on the CA host"
	run -2 --separate-stderr ca-renew --offline --dir "$CA" --cert a.example.com.crt --key a.example.com.key
	assert_regex "$stderr" "^ca-renew: --offline renews what --cert holds"
	assert_equal "$(posts)" 0
}

@test "contrib/systemd: the renewal units pass systemd-analyze verify, not due is success" {
	local u
	mkdir -p units man/man1 man/man8
	cp "$TOP"/contrib/systemd/ca-renew@.service "$TOP"/contrib/systemd/ca-renew@.timer \
		"$TOP"/contrib/systemd/ca-serve-renew.service \
		"$TOP"/contrib/systemd/ca-serve-renew.timer units/
	# The programs as built here; the pages their Documentation= names.
	sed -i "s|/usr/local/bin/|$TOP/bin/|" units/*.service
	cp "$TOP/man/ca-renew.1" man/man1/
	cp "$TOP/man/ca-serve.8" man/man8/
	cd units
	run -0 env MANPATH="$BATS_TEST_TMPDIR/man" systemd-analyze verify \
		./ca-renew@web.service ./ca-renew@web.timer \
		./ca-serve-renew.service ./ca-serve-renew.timer
	assert_output ""
	for u in ca-renew@.service ca-serve-renew.service; do
		run -0 grep -x 'SuccessExitStatus=6' "$u"
		run -0 grep -E '^ExecStart=.* --if-due .*--out ' "$u"
	done
	run -0 grep -E '^ExecStart=.* --exec \$\{RELOAD\}$' ca-renew@.service
	for u in ca-renew@.timer ca-serve-renew.timer; do
		run -0 grep -x 'RandomizedDelaySec=5min' "$u"
	done
	# The check itself catches a mistake: a misspelt setting is reported.
	sed -i 's/^SuccessExitStatus=6/SucessExitStatus=6/' ca-renew@.service
	run -0 env MANPATH="$BATS_TEST_TMPDIR/man" systemd-analyze verify ./ca-renew@web.service
	assert_output --partial "Unknown key 'SucessExitStatus'"
}

@test "contrib/systemd: the service's command line renews a certificate when due, and only then reloads" {
	local cmd
	issue web.example.com --not-after 1h
	mkdir -p etc/certs
	mv web.example.com.crt etc/certs/web.crt
	mv web.example.com.key etc/certs/web.key
	cp etc/certs/web.crt web.orig
	# ExecStart= as systemd would run it for ca-renew@web, with this CA.
	cmd=$(sed -n 's/^ExecStart=//p' "$TOP/contrib/systemd/ca-renew@.service" |
		sed -e "s|/usr/local/bin/|$TOP/bin/|" -e "s|/etc/inca/|$PWD/etc/|g" -e 's/%i/web/g' \
			-e 's/ --exec ${RELOAD}$//')
	export CA_URL="$URL" CA_ROOT="$ROOT"
	run -6 --separate-stderr $cmd --exec 'touch reloaded'
	assert_equal "$stderr" ""
	cmp etc/certs/web.crt web.orig
	[ ! -e reloaded ]
	run -0 --separate-stderr faketime -f +40m $cmd --exec 'touch reloaded'
	assert_equal "$stderr" ""
	[ -e reloaded ]
	run -1 cmp -s etc/certs/web.crt web.orig
}

# rissue NAME [ca-sign options]: as issue, from the ca-serve home $RCA.
rissue() {
	local n=$1 t
	shift
	t=$(ca-token --offline --dir "$RCA" --password-file "$D/pw" "$n")
	ca-sign --offline --dir "$RCA" --token "$t" --key-out "$n.key" "$@" >"$n.crt"
}

@test "against ca-serve: renew over mTLS and with a renewal token" {
	local s0 s1 s2
	rissue live.example.com --not-after 1h
	cp live.example.com.crt live.orig
	s0=$(serial live.orig)
	run -0 --separate-stderr ca-renew --ca-url "$RURL" --root "$RCA/certs/root_ca.crt" \
		--cert live.example.com.crt --key live.example.com.key --out live.example.com.crt
	assert_output ""
	assert_equal "$stderr" ""
	s1=$(serial live.example.com.crt)
	refute [ "$s1" = "$s0" ]
	assert_equal "$(dbq "$RCA" "select renewed_from from certs where serial = '$s1'")" "$s0"
	run -0 openssl verify -CAfile "$RCA/certs/root_ca.crt" \
		-untrusted "$RCA/certs/intermediate_ca.crt" live.example.com.crt
	assert_equal "$(openssl x509 -in live.example.com.crt -noout -pubkey)" \
		"$(openssl pkey -in live.example.com.key -pubout)"
	# The renewed certificate renews in turn, by a renewal token this time.
	run -0 --separate-stderr ca-renew --ca-url "$RURL" --root "$RCA/certs/root_ca.crt" \
		--cert live.example.com.crt --key live.example.com.key --token-auth \
		--out live.example.com.crt
	assert_equal "$stderr" ""
	s2=$(serial live.example.com.crt)
	refute [ "$s2" = "$s1" ]
	assert_equal "$(dbq "$RCA" "select renewed_from from certs where serial = '$s2'")" "$s1"
	# Rekey over mTLS.
	run -0 --separate-stderr ca-renew --ca-url "$RURL" --root "$RCA/certs/root_ca.crt" \
		--cert live.example.com.crt --key live.example.com.key --key-out live.new.key \
		--out live.new.crt
	assert_equal "$stderr" ""
	assert_equal "$(openssl x509 -in live.new.crt -noout -pubkey)" \
		"$(openssl pkey -in live.new.key -pubout)"
}

@test "against ca-serve: a revoked certificate is refused on both paths, the file kept" {
	local s0
	rissue gone.example.com --not-after 1h
	cp gone.example.com.crt gone.orig
	s0=$(serial gone.orig)
	run -0 ca-revoke --offline --dir "$RCA" "$s0"
	run -1 --separate-stderr ca-renew --ca-url "$RURL" --root "$RCA/certs/root_ca.crt" \
		--cert gone.example.com.crt --key gone.example.com.key --out gone.example.com.crt \
		--exec 'touch ran'
	assert_equal "$stderr" "ca-renew: certificate $s0 is revoked"
	run -1 --separate-stderr ca-renew --ca-url "$RURL" --root "$RCA/certs/root_ca.crt" \
		--cert gone.example.com.crt --key gone.example.com.key --out gone.example.com.crt \
		--token-auth --exec 'touch ran'
	assert_equal "$stderr" "ca-renew: certificate $s0 is revoked"
	cmp gone.example.com.crt gone.orig
	[ ! -e ran ]
	assert_equal "$(dbq "$RCA" "select count(*) from certs where renewed_from = '$s0'")" 0
}

@test "against ca-serve: the CA found through a bootstrapped home's defaults.json" {
	local fp
	rissue home.example.com --not-after 1h
	fp=$(openssl x509 -in "$RCA/certs/root_ca.crt" -noout -fingerprint -sha256 |
		cut -d= -f2 | tr -d : | tr 'A-F' 'a-f')
	run -0 ca-init --bootstrap --dir client --ca-url "$RURL" --fingerprint "$fp"
	run -0 --separate-stderr ca-renew --dir client --cert home.example.com.crt \
		--key home.example.com.key --out home.new.crt
	assert_equal "$stderr" ""
	assert_equal "$(openssl x509 -in home.new.crt -noout -pubkey)" \
		"$(openssl pkey -in home.example.com.key -pubout)"
	# No CA known at all: a usage error naming what to give.
	run -2 --separate-stderr ca-renew --dir nowhere --cert home.example.com.crt \
		--key home.example.com.key
	assert_equal "$stderr" "ca-renew: no CA URL: give --ca-url, set CA_URL, or run ca-init --bootstrap"
}

@test "memcheck: ca-renew online over mTLS, by token, rekey, and a mismatched key" {
	local vg=(valgrind -q --error-exitcode=99 --leak-check=full
		--errors-for-leak-kinds=definite --show-leak-kinds=definite)
	issue mem.example.com --not-after 1h
	issue memb.example.com --not-after 1h
	run -0 "${vg[@]}" "$TOP/bin/ca-renew" --ca-url "$URL" --root "$ROOT" --cert mem.example.com.crt \
		--key mem.example.com.key --out mem1.crt --exec true
	run -0 "${vg[@]}" "$TOP/bin/ca-renew" --ca-url "$URL" --root "$ROOT" --cert mem.example.com.crt \
		--key mem.example.com.key --token-auth --out mem2.crt
	run -0 "${vg[@]}" "$TOP/bin/ca-renew" --ca-url "$URL" --root "$ROOT" --cert mem.example.com.crt \
		--key mem.example.com.key --key-out mem3.key --out mem3.crt
	run -3 "${vg[@]}" "$TOP/bin/ca-renew" --ca-url "$URL" --root "$ROOT" --cert mem.example.com.crt \
		--key memb.example.com.key
	echo '403 {"status":403,"message":"no"}' >"$CTL/answer"
	run -1 "${vg[@]}" "$TOP/bin/ca-renew" --ca-url "$URL" --root "$ROOT" --cert mem.example.com.crt \
		--key mem.example.com.key --out mem1.crt
	assert_equal "$(posts)" 4
}
