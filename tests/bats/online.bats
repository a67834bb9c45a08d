#!/usr/bin/env bats
# The online clients against a real ca-serve (client.bats has a stand-in
# for the faults a real server will not make): a client home bootstrapped
# by the root's fingerprint, then ca-token and ca-sign with only that home;
# and a CI-style job that has only a token, the CA's URL and the
# fingerprint.  The CA is made for 127.0.0.1 and the server's port, so the
# tokens' audience and the server's certificate fit the URL.

load common

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	# Nothing here may go through a proxy of the machine's.
	unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY
	export PORT URL FP CA="$D/ca"
	PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	URL="https://127.0.0.1:$PORT"
	printf 'correct horse\n' >"$D/pw"
	ca-init --dir "$CA" --password-file "$D/pw" --dns 127.0.0.1 \
		--address "127.0.0.1:$PORT" --key-iterations 2048 $(db_args) >"$D/init.json"
	FP=$(jq -r .fingerprint "$D/init.json")
	ca-serve --dir "$CA" --listen "127.0.0.1:$PORT" \
		</dev/null >/dev/null 2>"$D/serve.log" 3>&- &
	echo $! >"$D/serve.pid"
	wait_for curl -sf --cacert "$CA/certs/root_ca.crt" -o /dev/null "$URL/health"
}

teardown_file() {
	local pid
	pid=$(cat "$D/serve.pid")
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

setup() {
	unset CA_URL CA_ROOT CA_DIR
	cd "$BATS_TEST_TMPDIR"
}

# rows SUBJECT: the CA's database rows for SUBJECT.
rows() { dbq "$CA" "select count(*) from certs where subject = '$1'"; }

# issued_ok CRT KEY HOST: CRT is a valid leaf for HOST, chained to the
# CA's root, with KEY's public key, and recorded once on the CA host.
issued_ok() {
	run -0 openssl verify -CAfile "$CA/certs/root_ca.crt" \
		-untrusted "$CA/certs/intermediate_ca.crt" "$1"
	assert_output "$1: OK"
	run -0 --separate-stderr ca-verify --dir "$CA" --host "$3" <"$1"
	assert_equal "$stderr" ""
	assert_equal "$(openssl x509 -in "$1" -noout -pubkey)" "$(openssl pkey -in "$2" -pubout)"
	assert_equal "$(openssl x509 -in "$1" -noout -subject -nameopt RFC2253)" "subject=CN=$3"
	assert_equal "$(rows "$3")" 1
	local serial
	serial=$(ca-inspect "$1" | jq -r '.certificates[0].serial.decimal')
	assert_equal "$(dbq "$CA" "select subject from certs where serial = '$serial'")" "$3"
}

@test "online: bootstrap by the right fingerprint writes the root and defaults.json" {
	run -0 --separate-stderr ca-init --bootstrap --dir cl --ca-url "$URL" --fingerprint "$FP"
	assert_equal "$(jq -r '."ca-url"' <<<"$output")" "$URL"
	assert_equal "$(jq -r .fingerprint <<<"$output")" "$FP"
	# The root written is the CA's, byte for byte.
	run -0 cmp cl/certs/root_ca.crt "$CA/certs/root_ca.crt"
	assert_equal "$(jq -r '."ca-url"' cl/config/defaults.json)" "$URL"
	assert_equal "$(jq -r .root cl/config/defaults.json)" "certs/root_ca.crt"
	assert_equal "$(jq -r .fingerprint cl/config/defaults.json)" "$FP"
	assert_equal "$(stat -c %a cl/certs/root_ca.crt)" 644
	# Nothing of the CA's secrets came along.
	assert_equal "$(find cl -type f | sort | tr '\n' ' ')" "cl/certs/root_ca.crt cl/config/defaults.json "
}

@test "online: bootstrap by a wrong fingerprint writes nothing (exit 1)" {
	local bad
	bad=$(printf '%s' "$FP" | tr '0-9a-f' '1-9a-f0')
	run -1 --separate-stderr ca-init --bootstrap --dir cl --ca-url "$URL" --fingerprint "$bad"
	assert_output ""
	# ca-serve has no root of that fingerprint: GET /root/HEX is a 404.
	assert_equal "$stderr" "ca-init: $URL/root/$bad: root not found"
	assert [ ! -e cl/certs/root_ca.crt ]
	assert [ ! -e cl/config/defaults.json ]
}

@test "online: with only a bootstrapped home, ca-token and ca-sign issue through ca-serve" {
	run -0 ca-init --bootstrap --dir cl --ca-url "$URL" --fingerprint "$FP"
	export CA_DIR="$BATS_TEST_TMPDIR/cl"
	# ca-token fetches the provisioner (its encrypted key) from /provisioners.
	run -0 --separate-stderr ca-token --password-file "$D/pw" svc.example.com
	assert_equal "$stderr" ""
	local t=$output
	run -0 --separate-stderr ca-sign --token "$t" --key-out svc.key
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >svc.crt
	issued_ok svc.crt svc.key svc.example.com
	# ca-verify with the client home's root alone.
	run -0 --separate-stderr ca-verify --host svc.example.com <svc.crt
	# The server issued it: its log has the request and the serial.
	local serial
	serial=$(ca-inspect svc.crt | jq -r '.certificates[0].serial.decimal')
	run -0 jq -r "select(.path == \"/1.0/sign\" and .status == 201) | .serial" "$D/serve.log"
	assert_output --partial "$serial"
	# The token is spent: the same again is refused by the server (exit 1).
	run -1 --separate-stderr ca-sign --token "$t" --key-out again.key
	assert_output ""
	assert [ ! -e again.key ]
	assert_equal "$(rows svc.example.com)" 1
}

@test "online: a CI-style job with only a token, the CA URL and the fingerprint gets a certificate" {
	# Minted on the CA host, offline, and handed to the job.
	local t
	t=$(ca-token --offline --dir "$CA" --password-file "$D/pw" ci.example.com)
	mkdir job
	# The job: a clean environment, an empty HOME, nothing of the CA's.
	run -0 --separate-stderr env -i PATH="$PATH" HOME="$BATS_TEST_TMPDIR/job" \
		TOKEN="$t" CA_URL="$URL" FINGERPRINT="$FP" sh -ec '
		cd "$HOME"
		ca-init --bootstrap --ca-url "$CA_URL" --fingerprint "$FINGERPRINT" >/dev/null
		ca-sign --token "$TOKEN" --key-out ci.key >ci.crt
		ls .inca/certs; ls .inca/config'
	assert_equal "$stderr" ""
	# The home it made is the default one, $HOME/.inca.
	assert_equal "$output" "$(printf 'root_ca.crt\ndefaults.json')"
	issued_ok job/ci.crt job/ci.key ci.example.com
}
