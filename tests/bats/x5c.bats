#!/usr/bin/env bats
# X5C provisioners: a workload that holds a certificate of another CA
# (a device CA made here with openssl) signs a token with that
# certificate's key, the chain in the token's x5c header, and gets a
# certificate from inca that never outlives it.  Each request goes
# offline, through ca-sign --api and through ca-serve (refused(),
# issued()), the same authority path.

load common
load helpers/authority

IDTOK="$BATS_TEST_DIRNAME/helpers/idtok.py"

idtok() { "$PY" "$IDTOK" "$@"; }

# leaf CA NAME [faketime offset] [extra ext lines...]: NAME.key, NAME.crt
# (one day from the offset, keyUsage digitalSignature unless an extra
# line says otherwise) and NAME.chain (leaf, intermediate) from CA.
leaf() {
	local ca=$1 n=$2 off=${3:-+0} ku="keyUsage=critical,digitalSignature"
	shift 3 || shift $#
	[ $# -eq 0 ] || ku=$1
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$D/$n.key" -out "$D/$n.csr" -subj "/CN=$n.devices.example.com" 2>/dev/null
	printf '%s\n' "subjectAltName=DNS:$n.devices.example.com" "$ku" \
		"extendedKeyUsage=clientAuth" >"$D/$n.ext"
	faketime -f "$off" openssl x509 -req -in "$D/$n.csr" -CA "$D/$ca/int.crt" \
		-CAkey "$D/$ca/int.key" -set_serial "0x$(openssl rand -hex 8)" -days 1 \
		-extfile "$D/$n.ext" -out "$D/$n.crt" 2>/dev/null
	cat "$D/$n.crt" "$D/$ca/int.crt" >"$D/$n.chain"
}

# x5ctok NAME [idtok x5c options]: a token of NAME's chain signed by NAME's key.
x5ctok() {
	local n=$1
	shift
	idtok x5c "$D/$n.key" "$D/$n.chain" --sub "$n.devices.example.com" "$@"
}

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	CA_SERVE=0 make_ca
	make_openssl_ca "$D/dev"
	make_openssl_ca "$D/other"
	leaf dev dev1
	leaf dev dev2
	leaf dev short -23h
	leaf dev old -3d
	leaf other stranger
	leaf dev nosig +0 "keyUsage=critical,keyEncipherment"
	jq --arg rf "$D/dev/root.crt" --arg inl "$(base64 -w0 "$D/dev/root.crt")" '
	.authority.provisioners += [
	  {"type": "X5C", "name": "devices", "rootsFile": $rf},
	  {"type": "x5c", "name": "devices-inline", "roots": $inl}]' \
		"$CA/config/ca.json" >"$D/ca.json.new"
	put_file "$CA/config/ca.json" <"$D/ca.json.new"
	start_ca_serve
}

@test "x5c: a device certificate's token gets a certificate for its sans, with --key-out" {
	tok=$(x5ctok dev1 --iss devices)
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$tok" --key-out "$D/new.key"
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >"$D/new.pem"
	run -0 openssl x509 -in "$D/new.pem" -noout -ext subjectAltName -subject
	assert_line --index 1 "    DNS:dev1.devices.example.com"
	assert_line --index 2 "subject=CN = dev1.devices.example.com"
	# Issued by inca, not by the device CA.
	run -0 openssl verify -CAfile "$CA/certs/root_ca.crt" \
		-untrusted "$CA/certs/intermediate_ca.crt" "$D/new.pem"
	serial=$(serial_of "$D/new.pem")
	assert_equal "$(db "select provisioner from certs where serial = '$serial'")" "devices"
	jti=$(claims "$tok" | jq -r .jti)
	assert_equal "$(db "select provisioner from used_tokens where jti = '$jti'")" "devices"
	run -0 --separate-stderr ca-list --dir "$CA" --serial "$serial"
	assert_equal "$(jq -r '.provisioner + " " + .provisionerType' <<<"$output")" "devices X5C"
}

@test "x5c: a CSR offline, through --api and through ca-serve; inline roots as step-ca writes them" {
	csr d2 dev2.devices.example.com dns:dev2.devices.example.com
	issued "$(x5ctok dev2 --iss devices)" "$(x5ctok dev2 --iss devices-inline)" "$D/d2.csr"
	serve_current
	run -0 --separate-stderr serve_sign "$(x5ctok dev2 --iss devices)" "$D/d2.csr"
	assert_output 201
}

@test "x5c: the certificate never outlives the leaf: notAfter capped at the leaf's" {
	run -0 --separate-stderr ca-sign --offline --dir "$CA" \
		--token "$(x5ctok short --iss devices)" --key-out "$D/capped.key"
	printf '%s\n' "$output" >"$D/capped.pem"
	assert_equal "$(openssl x509 -in "$D/capped.pem" -noout -enddate)" \
		"$(openssl x509 -in "$D/short.crt" -noout -enddate)"
	# The default (24h) would have gone on a day longer.
	run -1 openssl x509 -in "$D/capped.pem" -noout -checkend 7200
}

@test "x5c: an expired leaf is refused" {
	csr o old.devices.example.com dns:old.devices.example.com
	refused 1 401 "token rejected: x5c chain not valid: certificate has expired" \
		"$(x5ctok old --iss devices)" "$D/o.csr"
}

@test "x5c: a chain to a root the provisioner does not trust is refused" {
	csr s stranger.devices.example.com dns:stranger.devices.example.com
	refused 1 401 "token rejected: x5c chain not valid: unable to get local issuer certificate" \
		"$(x5ctok stranger --iss devices)" "$D/s.csr"
	# Nor does inca's own root stand in for the provisioner's roots.
	cat "$D/new.pem" "$CA/certs/intermediate_ca.crt" >"$D/own.chain"
	csr own dev1.devices.example.com dns:dev1.devices.example.com
	refused 1 401 "token rejected: x5c chain not valid: unable to get local issuer certificate" \
		"$(idtok x5c "$D/new.key" "$D/own.chain" --iss devices --sub dev1.devices.example.com)" "$D/own.csr"
}

@test "x5c: a token not signed by the leaf's key is refused" {
	csr d1 dev1.devices.example.com dns:dev1.devices.example.com
	tok=$(idtok x5c "$D/dev2.key" "$D/dev1.chain" --iss devices --sub dev1.devices.example.com)
	refused 1 401 "token rejected: jws: bad signature" "$tok" "$D/d1.csr"
}

@test "x5c: a leaf whose keyUsage is not for signatures is refused" {
	csr ns nosig.devices.example.com dns:nosig.devices.example.com
	refused 1 401 "token rejected: the x5c leaf's keyUsage lacks digitalSignature" \
		"$(x5ctok nosig --iss devices)" "$D/ns.csr"
}

@test "x5c: names as the token asks: a request for other names is refused" {
	csr more dev1.devices.example.com dns:dev1.devices.example.com dns:db.example.com
	refused 1 403 "certificate request names differ from the token's sans: not in the token: dns:db.example.com" \
		"$(x5ctok dev1 --iss devices)" "$D/more.csr"
}

@test "x5c: a token for another audience, or replayed, is refused" {
	csr d1 dev1.devices.example.com dns:dev1.devices.example.com
	refused 1 401 "token rejected: audience mismatch (not a sign token for this CA)" \
		"$(x5ctok dev1 --iss devices --aud https://other.example.com/1.0/sign)" "$D/d1.csr"
	tok=$(x5ctok dev1 --iss devices)
	run -0 --separate-stderr cli_sign "$tok" "$D/d1.csr"
	run -1 --separate-stderr cli_sign "$tok" "$D/d1.csr"
	assert_equal "$stderr" "ca-sign: token already used"
}

@test "x5c: ca.json: an X5C provisioner needs roots that are CA certificates" {
	cp -a "$CA" "$D/bad"
	csr cfg dev1.devices.example.com dns:dev1.devices.example.com
	jq 'del(.authority.provisioners[1].rootsFile)' "$CA/config/ca.json" | put_file "$D/bad/config/ca.json"
	run -4 --separate-stderr ca-sign --offline --dir "$D/bad" --token x <"$D/cfg.csr"
	assert_equal "$stderr" "ca-sign: ca.json: authority.provisioners[1]: one of roots and rootsFile is required"
	jq --arg f "$D/dev1.crt" '.authority.provisioners[1].rootsFile = $f' "$CA/config/ca.json" | put_file "$D/bad/config/ca.json"
	run -4 --separate-stderr ca-sign --offline --dir "$D/bad" --token x <"$D/cfg.csr"
	assert_equal "$stderr" "ca-sign: provisioner devices: roots: certificate 1 is not a self-signed CA certificate"
}
