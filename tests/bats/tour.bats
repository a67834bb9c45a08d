#!/usr/bin/env bats
# The README's tour is run as written (contrib/tour.sh reads it from
# README.md), so the tour cannot drift from the programs; then what it
# made is checked.

load common

setup_file() {
	export W="$BATS_FILE_TMPDIR/w"
	mkdir -p "$W"
}

# The tour stops the ca-serve it starts; when it failed before that, the
# server is stopped here.
teardown_file() {
	pkill -TERM -f "^ca-serve --listen 127.0.0.1:9000\$" || true
}

@test "tour: the README has a tour of enough commands between its markers" {
	run -0 --separate-stderr sh "$TOP/contrib/tour.sh" --print
	[ "${#lines[@]}" -ge 15 ]
	assert_line --index 0 'export CA_DIR=$PWD/acme'
	assert_line --partial 'ca-revoke --offline'
	# Continuation lines are part of the command before them.
	assert_line '    --password-file "$CA_DIR/secrets/password" --key-out svc.key svc.internal > svc.crt'
}

@test "tour: every README tour command runs, in order, from an empty directory" {
	cd "$W"
	run -0 --separate-stderr sh "$TOP/contrib/tour.sh"
	# The printed fingerprint is the root's.
	assert_line --index 0 "$(openssl x509 -in "$W/acme/certs/root_ca.crt" -outform DER | sha256sum | cut -d' ' -f1)"
	# The revoke line selected one certificate: the one in web.crt.
	serial=$(ca-inspect "$W/web.crt" | jq -r '.certificates[0].serial.decimal')
	CA_DIR="$W/acme" run -0 bash -c 'ca-list --revoked | jq -r .serial'
	assert_output "$serial"
	# web.acme.test was issued once, app.acme.test and api.acme.test once
	# each, ca-init issued ca-serve's own, ca.acme.test, and ACME issued
	# web.localhost.
	CA_DIR="$W/acme" run -0 bash -c 'ca-list | jq -r .subject | sort | tr "\n" " "'
	assert_output "api.acme.test app.acme.test ca.acme.test web.acme.test web.localhost "
	# The ACME certificate: lego's key, the name ordered, issued by the
	# ACME provisioner, and ca-serve stopped at the end.
	assert_equal "$(openssl x509 -in "$W/lego/certificates/web.localhost.crt" -noout -pubkey)" \
		"$(openssl pkey -in "$W/lego/certificates/web.localhost.key" -pubout)"
	assert_equal "$(openssl x509 -in "$W/lego/certificates/web.localhost.crt" -noout -ext subjectAltName | tail -1 | tr -d ' ')" "DNS:web.localhost"
	CA_DIR="$W/acme" run -0 bash -c 'ca-list | jq -r "select(.subject == \"web.localhost\") | .provisioner"'
	assert_output acme
	run -0 grep -c '"path":"/acme/acme/order/[^/]*/finalize"' "$W/serve.log"
	assert_output 1
	run -0 grep -c '"message":"stopped"' "$W/serve.log"
	assert_output 1
	# The own-CSR certificate carries the CSR's key.
	assert_equal "$(openssl x509 -in "$W/app.crt" -noout -pubkey)" "$(openssl pkey -in "$W/app.key" -pubout)"
	# Stateless: a chain (leaf, intermediate) and a leaf with its key, both valid.
	assert_equal "$(grep -c 'BEGIN CERTIFICATE' "$W/chain.pem")" 2
	CA_DIR="$W/acme" run -0 ca-verify --host app.acme.test <"$W/chain.pem"
	CA_DIR="$W/acme" run -0 ca-verify --host svc.internal <"$W/svc.crt"
	assert_equal "$(openssl x509 -in "$W/svc.crt" -noout -pubkey)" "$(openssl pkey -in "$W/svc.key" -pubout)"
	# The API form answered with a certificate for the fresh request.
	assert_equal "$(openssl x509 -in "$W/api.crt" -noout -pubkey)" "$(openssl pkey -in "$W/api.key" -pubout)"
}

@test "tour: a broken command in the tour fails the run" {
	mkdir "$BATS_TEST_TMPDIR/top" "$BATS_TEST_TMPDIR/top/contrib" "$BATS_TEST_TMPDIR/run"
	cp "$TOP/contrib/tour.sh" "$BATS_TEST_TMPDIR/top/contrib/"
	ln -s "$BIN" "$BATS_TEST_TMPDIR/top/bin"
	sed 's/ca-list --revoked | jq -r .subject/ca-list --revoked-only/' "$TOP/README.md" \
		>"$BATS_TEST_TMPDIR/top/README.md"
	cd "$BATS_TEST_TMPDIR/run"
	run -2 --separate-stderr sh "$BATS_TEST_TMPDIR/top/contrib/tour.sh"
	assert_regex "$stderr" "ca-list: unrecognized option '--revoked-only' \(see -h\)"
}
