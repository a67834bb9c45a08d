#!/usr/bin/env bats
# ca-revoke: offline (by the operator and with revoke tokens), the --api
# handler (tokens and mTLS peer chains), online through ca-serve, and
# ca-list, the inventory, against one CA home with a few certificates
# issued by three provisioners: "admin" (ca-init's, not marked admin),
# "ci" and "ops" ("admin": true).

load common
load helpers/authority

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_ca
	# Issued two days ago for one hour: expired now.
	csr old old.example.com dns:old.example.com
	faketime -f -2d ca-sign --offline --dir "$CA" --not-after 1h \
		--token "$(mint --sub old.example.com --set nbf=now-172800 --set iat=now-172800 --set exp=now-172500)" \
		<"$D/old.csr" >"$D/old.pem"
	serial_of "$D/old.pem" >"$D/old.serial"
	issue short --not-after 1h
	for n in a b c d e f g h i j k l m n o p; do issue "$n"; done
	# Two more provisioners: "ci", and "ops", which may revoke anything.
	"$PY" "$TOKPY" provisioner ci "$D/pw" >"$D/ci.prov"
	"$PY" "$TOKPY" provisioner ops "$D/pw" | jq -c '.admin = true' >"$D/ops.prov"
	jq --slurpfile c "$D/ci.prov" --slurpfile o "$D/ops.prov" \
		'.authority.provisioners += $c + $o' "$D/ca.json.orig" | put_file "$CA/config/ca.json"
	"$PY" "$TOKPY" key "$CA/config/ca.json" "$D/pw" ci >"$D/ci.jwk"
	"$PY" "$TOKPY" key "$CA/config/ca.json" "$D/pw" ops >"$D/ops.jwk"
	for n in ci1 ci2 ci3 ci4 ci5 ci6; do issue_by ci "$n"; done
	for n in t1 t2 t3 t4 t5 t6 t7 t8 t9 u1 u2 u3 u4 u5 u6 u7 u8 u9; do issue "$n"; done
	openssl x509 -in "$CA/certs/intermediate_ca.crt" >"$D/int.pem"
	openssl x509 -in "$CA/certs/root_ca.crt" >"$D/root.pem"
}

# mintp PROV [tok.py mint options]: a token of provisioner PROV (ci, ops).
mintp() {
	local p=$1
	shift
	"$PY" "$TOKPY" mint "$D/$p.jwk" "$CA/config/ca.json" "$@"
}

# issue_by PROV NAME: as issue, with a token of provisioner PROV.
issue_by() {
	local p=$1 n=$2
	csr "$n" "$n.example.com" "dns:$n.example.com"
	ca-sign --offline --dir "$CA" --token "$(mintp "$p" --sub "$n.example.com")" \
		<"$D/$n.csr" >"$D/$n.pem"
	serial_of "$D/$n.pem" >"$D/$n.serial"
}

# The --api handler on the requests given on stdin.
api_revoke() { ca-revoke --api --offline --dir "$CA"; }

# peer_req SERIAL NAME [jq filter]: a request for SERIAL carrying, as
# ca-serve hands it over, the verified chain of NAME's certificate:
# leaf, intermediate, root.
peer_req() {
	openssl x509 -in "$D/$2.pem" >"$BATS_TEST_TMPDIR/leaf.pem"
	jq -nc --arg s "$1" --rawfile l "$BATS_TEST_TMPDIR/leaf.pem" \
		--rawfile i "$D/int.pem" --rawfile r "$D/root.pem" \
		"{serial: \$s, reasonCode: 1, passive: true, peerCertificates: [\$l, \$i, \$r]} | ${3:-.}"
}

# rev SERIAL: the stored revocation as reason_code|reason|method|revoked_at.
rev() { db "select reason_code, reason, method, revoked_at from revocations where serial = '$1'"; }

revoke() { ca-revoke --offline --dir "$CA" "$@"; }

# ---- ca-revoke ----------------------------------------------------------

@test "revoke: -h prints usage and exits 0" {
	run -0 --separate-stderr ca-revoke -h
	assert_line --index 0 "usage: ca-revoke [--token TOKEN | --token-file FILE | --cert FILE --key FILE]"
	assert_equal "$stderr" ""
}

@test "revoke: ok by decimal serial, reason code and text recorded" {
	t0=$(date +%s)
	run -0 --separate-stderr revoke --reason-code 1 --reason "laptop stolen" "$(S a)"
	t1=$(date +%s)
	assert_equal "$stderr" ""
	assert_output "{\"status\":\"ok\",\"serial\":\"$(S a)\",\"reasonCode\":1}"
	run -0 db "select reason_code, reason, method, CAST(revoked_at between $t0 and $t1 AS integer) from revocations where serial = '$(S a)'"
	assert_output "1|laptop stolen|offline|1"
	run -0 ca-list --dir "$CA" --revoked
	run -0 jq -c --arg s "$(S a)" 'select(.serial == $s) | [.revoked, .reasonCode, .reason, .revocationMethod, (.revokedAt | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"))]' <<<"$output"
	assert_output '[true,1,"laptop stolen","offline",true]'
	run -0 ca-list --dir "$CA" --serial "$(S a)"
	assert_equal "$(jq .revoked <<<"$output")" true
}

@test "revoke: ok by 0x-hex serial, upper or lower case; the output is decimal" {
	run -0 --separate-stderr revoke "0x$(HEX b)"
	assert_output "{\"status\":\"ok\",\"serial\":\"$(S b)\",\"reasonCode\":0}"
	run -0 --separate-stderr revoke "0x$(HEX c | tr A-F a-f)"
	assert_output "{\"status\":\"ok\",\"serial\":\"$(S c)\",\"reasonCode\":0}"
	run -0 db "select count(*), min(reason_code), max(reason_code), count(reason) from revocations where serial in ('$(S b)', '$(S c)')"
	assert_output "2|0|0|0"
}

@test "revoke: fail second revocation: already revoked (exit 1), first one kept" {
	revoke --reason-code 4 --reason first "$(S d)"
	run -1 --separate-stderr revoke --reason-code 1 --reason second "0x$(HEX d)"
	assert_output ""
	assert_equal "$stderr" "ca-revoke: certificate $(S d) already revoked"
	run -0 db "select reason_code, reason from revocations where serial = '$(S d)'"
	assert_output "4|first"
}

@test "revoke: fail unknown serial (exit 1)" {
	run -1 --separate-stderr revoke 12345
	assert_output ""
	assert_equal "$stderr" "ca-revoke: certificate 12345 not found"
	run -1 --separate-stderr revoke 0x3039
	assert_equal "$stderr" "ca-revoke: certificate 12345 not found"
	run -0 db "select count(*) from revocations where serial = '12345'"
	assert_output 0
}

@test "revoke: fail bad reason code 7, 11, -1, x (exit 2)" {
	for rc in 7 11 -1 x 1x "" 07 010 " 1" keyCompromised removeFromCRL7; do
		run -2 --separate-stderr revoke --reason-code "$rc" "$(S e)"
		assert_output ""
		assert_equal "$stderr" "ca-revoke: --reason-code $rc: 0..10 but not 7, or an RFC 5280 name such as keyCompromise"
	done
	run -0 db "select count(*) from revocations where serial = '$(S e)'"
	assert_output 0
}

@test "revoke: ok every other reason code 0..10 is recorded" {
	for rc in 2 3 5 6 8 9 10; do
		issue "rc$rc"
		run -0 --separate-stderr revoke --reason-code "$rc" "$(S "rc$rc")"
		run -0 db "select reason_code from revocations where serial = '$(S "rc$rc")'"
		assert_output "$rc"
	done
}

@test "revoke: fail malformed serial (exit 2)" {
	for s in 0x 0 abg 12a: 0x12g -5 ""; do
		run -2 --separate-stderr revoke -- "$s"
		assert_output ""
		assert_equal "$stderr" "ca-revoke: $s: not a serial number (decimal digits, or hexadecimal as 0xHEX, HH:HH:..., serial=HEX (openssl x509 -serial), or digits with a letter a-f)"
	done
}

@test "revoke: fail --reason over 1024 bytes (exit 2), 1024 accepted" {
	r=$(head -c 1025 /dev/zero | tr '\0' r)
	run -2 --separate-stderr revoke --reason "$r" "$(S f)"
	assert_equal "$stderr" "ca-revoke: --reason: at most 1024 bytes"
	run -0 --separate-stderr revoke --reason "${r:1}" "$(S f)"
	run -0 db "select length(reason) from revocations where serial = '$(S f)'"
	assert_output 1024
}

@test "revoke: fail usage errors (exit 2)" {
	run -2 --separate-stderr ca-revoke --dir "$CA" "$(S g)"
	assert_equal "$stderr" "ca-revoke: online revocation needs a revoke token (--token, --token-file) or the certificate itself (--cert, --key)"
	run -2 --separate-stderr ca-revoke --dir "$D/nohome" --token x "$(S g)"
	assert_equal "$stderr" "ca-revoke: no CA URL: give --ca-url, set CA_URL, or run ca-init --bootstrap"
	run -2 --separate-stderr revoke --cert "$D/g.pem" --key "$D/g.key" "$(S g)"
	assert_equal "$stderr" "ca-revoke: --cert and --key are for online revocation (mTLS); offline, the operator needs no proof"
	run -2 --separate-stderr ca-revoke --dir "$CA" --cert "$D/g.pem" "$(S g)"
	assert_equal "$stderr" "ca-revoke: --cert and --key go together"
	run -2 --separate-stderr ca-revoke --dir "$CA" --token x --cert "$D/g.pem" --key "$D/g.key" "$(S g)"
	assert_equal "$stderr" "ca-revoke: a token or --cert and --key: give one"
	run -2 --separate-stderr revoke --ca-url https://ca.example.com:9443 "$(S g)"
	assert_equal "$stderr" "ca-revoke: --ca-url and --root are for the online CA, not with --offline or --api"
	run -2 --separate-stderr revoke --pem "$(S g)"
	assert_equal "$stderr" "ca-revoke: --pem and --out go with --crl"
	run -2 --separate-stderr revoke --socket "$D/s" "$(S g)"
	assert_equal "$stderr" "ca-revoke: --socket goes with --api"
	run -2 --separate-stderr ca-revoke --api --dir "$CA" "$(S g)"
	assert_equal "$stderr" "ca-revoke: --api takes only --offline, --dir and --socket: everything else comes from the request JSON"
	run -2 --separate-stderr ca-revoke --api --dir "$CA" --reason-code 1
	assert_equal "$stderr" "ca-revoke: --api takes only --offline, --dir and --socket: everything else comes from the request JSON"
	run -2 --separate-stderr revoke
	assert_equal "$stderr" "ca-revoke: a SERIAL is required"
	run -2 --separate-stderr revoke 1 2
	assert_equal "$stderr" "ca-revoke: unexpected argument: 2"
	echo x >"$D/x.tok"
	run -2 --separate-stderr revoke --token x --token-file "$D/x.tok" "$(S g)"
	assert_equal "$stderr" "ca-revoke: --token and --token-file are exclusive"
	run -2 --separate-stderr revoke --reason a --reason b "$(S g)"
	assert_equal "$stderr" "ca-revoke: --reason given twice"
	run -0 db "select count(*) from revocations where serial = '$(S g)'"
	assert_output 0
}

@test "revoke: fail no CA home (exit 4)" {
	run -4 --separate-stderr ca-revoke --offline --dir "$D/none" 12345
	assert_equal "$stderr" "ca-revoke: $D/none/config/ca.json: no CA here (run ca-init, or give --dir)"
}

# ---- with revoke tokens -----------------------------------------------------

@test "revoke: ok with a revoke token from ca-token --revoke; the token is spent" {
	t=$(ca-token --offline --dir "$CA" --revoke "0x$(HEX g)")
	run -0 --separate-stderr revoke --token "$t" --reason-code 4 "$(S g)"
	assert_output "{\"status\":\"ok\",\"serial\":\"$(S g)\",\"reasonCode\":4}"
	run -0 db "select method from revocations where serial = '$(S g)'"
	assert_output token
	jti_used "$(claims "$t" | jq -r .jti)"
	run -0 ca-list --dir "$CA" --serial "$(S g)"
	assert_equal "$(jq -r .revocationMethod <<<"$output")" token
}

@test "revoke: fail replayed revoke token (exit 1)" {
	t=$(mint --path revoke --sub "$(S h)")
	run -0 --separate-stderr revoke --token "$t" "$(S h)"
	run -1 --separate-stderr revoke --token "$t" "$(S h)"
	assert_equal "$stderr" "ca-revoke: token already used"
}

@test "revoke: fail one revoke token in 10 parallel copies revokes once" {
	issue par
	t=$(mint --path revoke --sub "$(S par)")
	for i in $(seq 1 10); do
		(
			rc=0
			revoke --token "$t" "$(S par)" >"$D/rv.$i.out" 2>"$D/rv.$i.err" || rc=$?
			echo "$rc" >"$D/rv.$i.rc"
		) &
	done
	wait
	run -0 bash -c "cat '$D'/rv.*.rc | sort | uniq -c | awk '{print \$1\":\"\$2}' | paste -sd' '"
	assert_output "1:0 9:1"
	run -0 bash -c "cat '$D'/rv.*.err | sort -u"
	assert_output "ca-revoke: token already used"
	run -0 db "select count(*) from revocations where serial = '$(S par)'"
	assert_output 1
}

@test "revoke: ok --token-file and a 0x-hex SERIAL for the decimal sub" {
	mint --path revoke --sub "$(S i)" >"$D/i.tok"
	run -0 --separate-stderr revoke --token-file "$D/i.tok" "0x$(HEX i)"
	assert_output "{\"status\":\"ok\",\"serial\":\"$(S i)\",\"reasonCode\":0}"
}

@test "revoke: fail a sign token used to revoke (audience)" {
	t=$(mint --sub "$(S j)" --unset sans)
	j=$(claims "$t" | jq -r .jti)
	run -1 --separate-stderr revoke --token "$t" "$(S j)"
	assert_output ""
	assert_equal "$stderr" "ca-revoke: token rejected: audience mismatch (not a revoke token for this CA)"
	run -0 db "select CAST((select count(*) from revocations where serial = '$(S j)') AS text) || CAST((select count(*) from used_tokens where jti = '$j') AS text)"
	assert_output 00
}

@test "revoke: fail a revoke token for another serial; it still works for its own" {
	t=$(ca-token --offline --dir "$CA" --revoke "$(S k)")
	run -1 --separate-stderr revoke --token "$t" "$(S l)"
	assert_output ""
	assert_equal "$stderr" "ca-revoke: token rejected: token is for serial $(S k), not $(S l)"
	run -0 db "select count(*) from revocations where serial in ('$(S k)', '$(S l)')"
	assert_output 0
	run -0 --separate-stderr revoke --token "$t" "$(S k)"
}

@test "revoke: fail a revoke token for an unknown serial is not spent" {
	t=$(mint --path revoke --sub 999999)
	run -1 --separate-stderr revoke --token "$t" 999999
	assert_equal "$stderr" "ca-revoke: certificate 999999 not found"
	run -0 db "select count(*) from used_tokens where jti = '$(claims "$t" | jq -r .jti)'"
	assert_output 0
}

@test "revoke: fail hostile or expired revoke tokens, the jti unspent" {
	j=$(printf '%064x' "$RANDOM$RANDOM")
	run -3 --separate-stderr revoke --token "$(mint --path revoke --sub "$(S m)" --set jti="\"$j\"" --alg none)" "$(S m)"
	assert_equal "$stderr" "ca-revoke: token rejected: jws: empty signature"
	run -1 --separate-stderr revoke --token "$(mint --path revoke --sub "$(S m)" --set jti="\"$j\"" --alg HS256)" "$(S m)"
	assert_equal "$stderr" 'ca-revoke: token rejected: jws: alg "HS256" refused: the key is for ES256'
	run -1 --separate-stderr revoke --token "$(mint --path revoke --sub "$(S m)" --set jti="\"$j\"" \
		--set nbf=now-600 --set iat=now-600 --set exp=now-300)" "$(S m)"
	assert_equal "$stderr" "ca-revoke: token rejected: expired"
	run -0 db "select CAST((select count(*) from revocations where serial = '$(S m)') AS text) || CAST((select count(*) from used_tokens where jti = '$j') AS text)"
	assert_output 00
	run -0 --separate-stderr revoke --token "$(mint --path revoke --sub "$(S m)" --set jti="\"$j\"")" "$(S m)"
	jti_used "$j"
}

@test "revoke: fail missing or empty token file (exit 3)" {
	run -3 --separate-stderr revoke --token-file "$D/nothere" "$(S n)"
	assert_equal "$stderr" "ca-revoke: $D/nothere: No such file or directory"
	: >"$D/empty.tok"
	run -3 --separate-stderr revoke --token-file "$D/empty.tok" "$(S n)"
	assert_equal "$stderr" "ca-revoke: $D/empty.tok: no token in the file (its first line is empty)"
}

# ---- who may revoke: the token's provisioner, admin provisioners ------------

@test "revoke: fail a token from another provisioner: it did not issue the certificate (exit 1), token unspent" {
	t=$(mintp ci --path revoke --sub "$(S t1)")
	run -1 --separate-stderr revoke --token "$t" "$(S t1)"
	assert_output ""
	assert_equal "$stderr" "ca-revoke: provisioner ci did not issue certificate $(S t1)"
	# And the other way round: admin's token for a certificate ci issued.
	run -1 --separate-stderr revoke --token "$(mint --path revoke --sub "$(S ci1)")" "$(S ci1)"
	assert_equal "$stderr" "ca-revoke: provisioner admin did not issue certificate $(S ci1)"
	run -0 db "select count(*) from revocations where serial in ('$(S t1)', '$(S ci1)')"
	assert_output 0
	run -0 db "select count(*) from used_tokens where jti = '$(claims "$t" | jq -r .jti)'"
	assert_output 0
	# Through the handler: 403 with the same words.
	run -1 --separate-stderr api_revoke <<<"{\"serial\":\"$(S t1)\",\"ott\":\"$t\",\"passive\":true}"
	assert_api_error 403 "provisioner ci did not issue certificate $(S t1)"
	assert_equal "$stderr" "ca-revoke: provisioner ci did not issue certificate $(S t1)"
	run -0 db "select count(*) from revocations where serial = '$(S t1)'"
	assert_output 0
}

@test "revoke: ok a token from the provisioner that issued the certificate, offline and --api" {
	run -0 --separate-stderr revoke --token "$(mintp ci --path revoke --sub "$(S ci2)")" --reason-code superseded "$(S ci2)"
	assert_output "{\"status\":\"ok\",\"serial\":\"$(S ci2)\",\"reasonCode\":4}"
	run -0 db "select reason_code, method from revocations where serial = '$(S ci2)'"
	assert_output "4|token"
	t=$(mintp ci --path revoke --sub "$(S ci3)")
	run -0 --separate-stderr api_revoke <<<"{\"serial\":\"$(S ci3)\",\"ott\":\"$t\",\"reasonCode\":5,\"reason\":\"moved\",\"passive\":true}"
	assert_output '{"status":"ok"}'
	assert_equal "$stderr" ""
	run -0 db "select reason_code, reason, method from revocations where serial = '$(S ci3)'"
	assert_output "5|moved|token"
	jti_used "$(claims "$t" | jq -r .jti)"
}

@test "revoke: ok a token from an admin provisioner revokes any provisioner's certificate" {
	run -0 --separate-stderr revoke --token "$(mintp ops --path revoke --sub "$(S ci4)")" "$(S ci4)"
	run -0 --separate-stderr api_revoke <<<"{\"serial\":\"$(S t2)\",\"ott\":\"$(mintp ops --path revoke --sub "$(S t2)")\",\"reasonCode\":1}"
	assert_output '{"status":"ok"}'
	run -0 db "select serial, method from revocations where serial in ('$(S ci4)', '$(S t2)') order by serial = '$(S t2)'"
	assert_output "$(S ci4)|token
$(S t2)|token"
	# "admin": false is no admin.
	jq '(.authority.provisioners[] | select(.name == "ops") | .admin) = false' \
		"$CA/config/ca.json" >"$D/ca.json.tmp"
	cp "$CA/config/ca.json" "$D/ca.json.keep"
	put_file "$CA/config/ca.json" <"$D/ca.json.tmp"
	run -1 --separate-stderr revoke --token "$(mintp ops --path revoke --sub "$(S t3)")" "$(S t3)"
	put_file "$CA/config/ca.json" <"$D/ca.json.keep"
	assert_equal "$stderr" "ca-revoke: provisioner ops did not issue certificate $(S t3)"
}

@test "revoke: fail ca.json with a provisioner's admin not a boolean (exit 4)" {
	cp "$CA/config/ca.json" "$D/ca.json.keep"
	jq '(.authority.provisioners[] | select(.name == "ops") | .admin) = "yes"' \
		"$D/ca.json.keep" | put_file "$CA/config/ca.json"
	run -4 --separate-stderr revoke "$(S t3)"
	put_file "$CA/config/ca.json" <"$D/ca.json.keep"
	assert_equal "$stderr" "ca-revoke: ca.json: authority.provisioners[2].admin: true or false"
	run -0 db "select count(*) from revocations where serial = '$(S t3)'"
	assert_output 0
}

# ---- the --api handler: mTLS, members, rules ---------------------------------

@test "revoke: ok --api over mTLS with the certificate itself; method mtls" {
	run -0 --separate-stderr api_revoke < <(peer_req "$(S t4)" t4 '.reason = "key on a lost disk"')
	assert_output '{"status":"ok"}'
	assert_equal "$stderr" ""
	run -0 db "select reason_code, reason, method from revocations where serial = '$(S t4)'"
	assert_output "1|key on a lost disk|mtls"
	# The leaf alone verifies too: the CA's own intermediate completes it.
	run -0 --separate-stderr api_revoke < <(peer_req "$(S t5)" t5 '.peerCertificates |= .[:1]')
	assert_output '{"status":"ok"}'
}

@test "revoke: fail --api over mTLS with someone else's certificate (403)" {
	run -1 --separate-stderr api_revoke < <(peer_req "$(S t6)" t7)
	assert_api_error 403 "a client certificate revokes only itself: serial $(S t7) is not $(S t6)"
	assert_equal "$stderr" "ca-revoke: a client certificate revokes only itself: serial $(S t7) is not $(S t6)"
	run -0 db "select count(*) from revocations where serial in ('$(S t6)', '$(S t7)')"
	assert_output 0
}

@test "revoke: fail --api over mTLS with a chain the CA's root does not sign, even with the serial (401)" {
	make_openssl_ca "$D/other"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/x.key" \
		-subj "/CN=t6.example.com" -out "$D/x.csr" 2>/dev/null
	printf 'extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:t6.example.com\n' >"$D/x.ext"
	openssl x509 -req -in "$D/x.csr" -CA "$D/other/int.crt" -CAkey "$D/other/int.key" \
		-set_serial "$(S t6)" -days 1 -extfile "$D/x.ext" -out "$D/x.pem" 2>/dev/null
	req=$(jq -nc --arg s "$(S t6)" --rawfile l "$D/x.pem" --rawfile i "$D/other/int.crt" \
		--rawfile r "$D/other/root.crt" '{serial: $s, peerCertificates: [$l, $i, $r]}')
	run -1 --separate-stderr api_revoke <<<"$req"
	assert_api_error 401 "client certificate not valid: self-signed certificate in certificate chain"
	# Without the other root: no issuer at all.
	run -1 --separate-stderr api_revoke <<<"$(jq -c '.peerCertificates |= .[:2]' <<<"$req")"
	assert_api_error 401 "client certificate not valid: unable to get local issuer certificate"
	run -0 db "select count(*) from revocations where serial = '$(S t6)'"
	assert_output 0
}

@test "revoke: fail --api over mTLS with a twin: the serial, the CA's chain, other bytes (401)" {
	# Signed by the CA's own intermediate key (as if stolen), with the
	# serial of t6 and another key: not the certificate the CA issued.
	openssl pkey -in "$CA/secrets/intermediate_ca_key" -passin file:"$D/pw" -out "$D/ikey.pem"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/tw.key" \
		-subj "/CN=t6.example.com" -out "$D/tw.csr" 2>/dev/null
	printf 'extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:t6.example.com\nkeyUsage=critical,digitalSignature\n' >"$D/tw.ext"
	openssl x509 -req -in "$D/tw.csr" -CA "$D/int.pem" -CAkey "$D/ikey.pem" \
		-set_serial "$(S t6)" -days 1 -extfile "$D/tw.ext" -out "$D/tw.pem" 2>/dev/null
	run -1 --separate-stderr api_revoke < <(peer_req "$(S t6)" tw)
	assert_api_error 401 "the client certificate is not certificate $(S t6) as the CA issued it"
	run -0 db "select count(*) from revocations where serial = '$(S t6)'"
	assert_output 0
}

@test "revoke: fail --api over mTLS with an expired certificate (401)" {
	run -1 --separate-stderr api_revoke < <(peer_req "$(S old)" old)
	assert_api_error 401 "client certificate not valid: certificate has expired"
	run -0 db "select count(*) from revocations where serial = '$(S old)'"
	assert_output 0
}

@test "revoke: fail --api requests that are malformed or unauthenticated (400, 401)" {
	api() {
		run -"$1" --separate-stderr api_revoke <<<"$2"
		assert_api_error "$3" "$4"
		assert_equal "$stderr" "ca-revoke: $4"
	}
	api 1 "{\"serial\":\"$(S t8)\"}" 401 "no client certificate and no revoke token"
	api 1 "{\"serial\":\"$(S t8)\",\"ott\":\"\",\"peerCertificates\":[]}" 401 "no client certificate and no revoke token"
	api 3 "{\"serial\":\"$(S t8)\",\"ott\":\"x\",\"passive\":false}" 400 "only passive revocation is supported"
	api 3 "{\"serial\":\"$(S t8)\",\"ott\":\"x\",\"passive\":1}" 400 "request: passive: true or false"
	api 3 '{"ott":"x"}' 400 "request: serial is required"
	api 3 '{"serial":12,"ott":"x"}' 400 "request: serial must be a string"
	api 3 '{"serial":"0xZZ","ott":"x"}' 400 "0xZZ: not a serial number (decimal digits, or hexadecimal as 0xHEX, HH:HH:..., serial=HEX (openssl x509 -serial), or digits with a letter a-f)"
	api 3 "{\"serial\":\"$(S t8)\",\"ott\":\"x\",\"reasonCode\":1.5}" 400 "request: reasonCode: an integer 0..10, not 7"
	api 3 "{\"serial\":\"$(S t8)\",\"peerCertificates\":[\"junk\"]}" 400 "request: peerCertificates[0]: malformed certificate: nested asn1 error"
	api 3 "{\"serial\":\"$(S t8)\",\"peerCertificates\":[1]}" 400 "request: peerCertificates[0]: not a string"
	api 3 "{\"serial\":\"$(S t8)\",\"peerCertificates\":\"x\"}" 400 "request: peerCertificates: a list of at most 8 PEM certificates"
	api 3 '{"crl":false}' 400 "request: crl: only true, alone"
	run -0 db "select count(*) from revocations where serial = '$(S t8)'"
	assert_output 0
}

@test "revoke: ok --api reason codes 0..10 as numbers and names; 7, 11 and -1 refused (400)" {
	nth=0
	for rc in 0 2 3 6 8 9 10 '"keyCompromise"' '"AACOMPROMISE"' '"removeFromCRL"'; do
		nth=$((nth + 1))
		issue "rn$nth"
		run -0 --separate-stderr api_revoke < <(peer_req "$(S "rn$nth")" "rn$nth" ".reasonCode = $rc")
		assert_output '{"status":"ok"}'
		run -0 db "select reason_code from revocations where serial = '$(S "rn$nth")'"
		case $rc in
		'"keyCompromise"') assert_output 1 ;;
		'"AACOMPROMISE"') assert_output 10 ;;
		'"removeFromCRL"') assert_output 8 ;;
		*) assert_output "$rc" ;;
		esac
	done
	for rc in 7 11 -1; do
		run -3 --separate-stderr api_revoke < <(peer_req "$(S t8)" t8 ".reasonCode = $rc")
		assert_api_error 400 "request: reasonCode $rc: 0..10, not 7"
	done
	for rc in '"certificateHolds"' '"7"' '""'; do
		run -3 --separate-stderr api_revoke < <(peer_req "$(S t8)" t8 ".reasonCode = $rc")
		assert_api_error 400 "request: reason code $(jq -r . <<<"$rc"): 0..10, not 7, or an RFC 5280 name (keyCompromise, superseded, ...)"
	done
	run -0 db "select count(*) from revocations where serial = '$(S t8)'"
	assert_output 0
}

@test "revoke: ok --reason-code by RFC 5280 name, any case" {
	run -0 --separate-stderr revoke --reason-code keycompromise "$(S t9)"
	assert_output "{\"status\":\"ok\",\"serial\":\"$(S t9)\",\"reasonCode\":1}"
	run -0 --separate-stderr revoke --reason-code cessationOfOperation "$(S u1)"
	run -0 db "select reason_code from revocations where serial in ('$(S t9)', '$(S u1)') order by reason_code"
	assert_output "1
5"
}

@test "revoke: fail a reason over 1024 bytes, with control characters or not UTF-8; 1024 bytes of UTF-8 accepted" {
	# 512 two-byte characters: 1024 bytes; one more byte is over.
	r=$(printf 'é%.0s' $(seq 512))
	run -3 --separate-stderr api_revoke < <(peer_req "$(S u2)" u2 ".reason = \"${r}x\"")
	assert_api_error 400 "reason: longer than 1024 bytes"
	run -3 --separate-stderr api_revoke < <(peer_req "$(S u2)" u2 '.reason = "a\nb"')
	assert_api_error 400 "reason: control characters are refused"
	run -3 --separate-stderr api_revoke < <(peer_req "$(S u2)" u2 '.reason = "a\u007fb"')
	assert_api_error 400 "reason: control characters are refused"
	run -3 --separate-stderr revoke --reason "$(printf 'bad \377 byte')" "$(S u2)"
	assert_equal "$stderr" "ca-revoke: reason: not UTF-8 text"
	run -3 --separate-stderr revoke --reason "$(printf 'tab\there')" "$(S u2)"
	assert_equal "$stderr" "ca-revoke: reason: control characters are refused"
	run -0 db "select count(*) from revocations where serial = '$(S u2)'"
	assert_output 0
	run -0 --separate-stderr api_revoke < <(peer_req "$(S u2)" u2 ".reason = \"$r\"")
	assert_output '{"status":"ok"}'
	# Its length in bytes, in each backend's words.
	local bytes="length(cast(reason as blob))"
	pg_test && bytes="octet_length(reason)"
	run -0 db "select $bytes, case when reason = '$r' then 1 else 0 end from revocations where serial = '$(S u2)'"
	assert_output "1024|1"
}

@test "revoke: fail --api double revocation: already revoked (403), the first record kept" {
	run -0 --separate-stderr api_revoke < <(peer_req "$(S u3)" u3 '.reason = "first"')
	first=$(rev "$(S u3)")
	sleep 1
	run -1 --separate-stderr api_revoke < <(peer_req "$(S u3)" u3 '.reasonCode = 4 | .reason = "second"')
	assert_api_error 403 "certificate $(S u3) already revoked"
	t=$(mint --path revoke --sub "$(S u3)")
	run -1 --separate-stderr api_revoke <<<"{\"serial\":\"$(S u3)\",\"ott\":\"$t\",\"reasonCode\":5}"
	assert_api_error 403 "certificate $(S u3) already revoked"
	run -1 --separate-stderr revoke --reason-code 9 "$(S u3)"
	assert_equal "$stderr" "ca-revoke: certificate $(S u3) already revoked"
	assert_equal "$(rev "$(S u3)")" "$first"
	assert_equal "${first%|*}" "1|first|mtls"
	# The refused token was not spent: it stays usable (for nothing here).
	run -0 db "select count(*) from used_tokens where jti = '$(claims "$t" | jq -r .jti)'"
	assert_output 0
}

@test "revoke: fail --api not found (404)" {
	t=$(mint --path revoke --sub 424242)
	run -1 --separate-stderr api_revoke <<<"{\"serial\":\"424242\",\"ott\":\"$t\"}"
	assert_api_error 404 "certificate 424242 not found"
	t=$(mintp ops --path revoke --sub 424242)
	run -1 --separate-stderr api_revoke <<<"{\"serial\":\"0x67932\",\"ott\":\"$t\"}"
	assert_api_error 404 "certificate 424242 not found"
	run -0 db "select count(*) from revocations where serial = '424242'"
	assert_output 0
}

@test "revoke: ok --api answers a stream of requests, one line each, in order" {
	{
		peer_req "$(S u4)" u4
		echo '{"serial":"1"}'
		peer_req "$(S u4)" u4
	} >"$BATS_TEST_TMPDIR/reqs"
	run -1 --separate-stderr api_revoke <"$BATS_TEST_TMPDIR/reqs"
	assert_equal "${#lines[@]}" 3
	assert_equal "${lines[0]}" '{"status":"ok"}'
	assert_equal "${lines[1]}" '{"status":401,"message":"no client certificate and no revoke token"}'
	assert_equal "${lines[2]}" "{\"status\":403,\"message\":\"certificate $(S u4) already revoked\"}"
}

@test "revoke: ok --api --socket serves connections on a unix socket" {
	ca-revoke --api --offline --dir "$CA" --socket "$D/rv.sock" 2>"$D/rv.sock.err" 3>&- &
	pid=$!
	wait_for test -S "$D/rv.sock"
	run -0 "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().readline().strip())
' "$D/rv.sock" "$(peer_req "$(S u5)" u5)"
	kill "$pid"
	wait "$pid" || true
	assert_output '{"status":"ok"}'
	run -0 db "select method from revocations where serial = '$(S u5)'"
	assert_output mtls
	[ ! -e "$D/rv.sock" ]
}

@test "revoke: ok --api {\"crl\":true}: the current CRL as PEM, its nextUpdate, every revoked serial" {
	run -0 --separate-stderr api_revoke <<<'{"crl":true}'
	assert_equal "$stderr" ""
	jq -r .crl <<<"$output" >"$D/api.crl"
	next=$(jq -r .nextUpdate <<<"$output")
	run -0 openssl crl -in "$D/api.crl" -CAfile "$D/int.pem" -noout
	assert_output --partial "verify OK"
	assert_equal "$(date -u -d "$(openssl crl -in "$D/api.crl" -noout -nextupdate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)" "$next"
	got=$(openssl crl -in "$D/api.crl" -noout -text | sed -n 's/^ *Serial Number: //p' |
		while read -r h; do BC_LINE_LENGTH=0 bc <<<"ibase=16; $h"; done | sort)
	assert_equal "$got" "$(db 'select serial from revocations' | sort)"
	run -3 --separate-stderr api_revoke <<<'{"crl":true,"serial":"1"}'
	assert_api_error 400 "request: crl: only true, alone"
}

# ---- ca-list ----------------------------------------------------------------

@test "list: -h prints usage and exits 0" {
	run -0 --separate-stderr ca-list -h
	assert_line --index 0 "usage: ca-list [--dir DIR] [--revoked | --expiring DURATION | --serial SERIAL |"
	assert_line --index 1 "               --chain SERIAL] [--pem]"
}

@test "list: ok every certificate, one JSON object a line, oldest first" {
	run -0 --separate-stderr ca-list --dir "$CA"
	assert_equal "$stderr" ""
	# Every row: the tests' and ca-init's own (ca-serve's certificate).
	assert_equal "${#lines[@]}" "$(db 'select count(*) from certs')"
	for l in "${lines[@]}"; do
		jq -e . >/dev/null <<<"$l"
	done
	assert_equal "$(jq -c 'keys_unsorted[:9]' <<<"${lines[0]}")" \
		'["serial","subject","sans","issuedAt","notBefore","notAfter","provisioner","renewedFrom","revoked"]'
	# Oldest first: the one issued two days ago leads.
	assert_equal "$(jq -r .serial <<<"${lines[0]}")" "$(S old)"
	assert_equal "$(printf '%s\n' "${lines[@]}" | jq -r .issuedAt | sort -c && echo sorted)" sorted
	l=$(printf '%s\n' "${lines[@]}" | jq -c --arg s "$(S e)" 'select(.serial == $s)')
	assert_equal "$(jq -c '[.subject, .sans, .provisioner, .renewedFrom, .revoked]' <<<"$l")" \
		'["e.example.com",["dns:e.example.com"],"admin",null,false]'
	nb=$(date -u -d "$(openssl x509 -in "$D/e.pem" -noout -startdate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
	na=$(date -u -d "$(openssl x509 -in "$D/e.pem" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
	assert_equal "$(jq -r '.notBefore + " " + .notAfter' <<<"$l")" "$nb $na"
}

@test "list: ok --revoked lists exactly the revoked certificates" {
	revoke --reason-code 5 "$(S o)" >/dev/null
	run -0 --separate-stderr ca-list --dir "$CA" --revoked
	assert_equal "$(jq -r .serial <<<"$output" | sort)" "$(db 'select serial from revocations' | sort)"
	assert_equal "$(jq -s 'all(.revoked)' <<<"$output")" true
	assert_equal "$(jq -s 'all(has("revokedAt") and has("reasonCode") and has("revocationMethod"))' <<<"$output")" true
	run -0 ca-list --dir "$CA"
	assert_equal "$(jq -s 'map(select(.revoked | not) | has("revokedAt")) | any' <<<"$output")" false
}

@test "list: ok --expiring: unrevoked, unexpired, expiring within the duration" {
	run -0 --separate-stderr ca-list --dir "$CA" --expiring 2h
	assert_equal "$(jq -r .serial <<<"$output")" "$(S short)"
	run -0 --separate-stderr ca-list --dir "$CA" --expiring 48h
	got=$(jq -r .serial <<<"$output" | sort)
	want=$(db "select serial from certs where not_after > $(date +%s) and serial not in (select serial from revocations)" | sort)
	assert_equal "$got" "$want"
	# not the expired one, not a revoked one
	refute_line --partial "$(S old)"
	refute_line --partial "$(S a)"
	[ "$(wc -l <<<"$got")" -ge 5 ]
	run -0 --separate-stderr ca-list --dir "$CA" --expiring 2d
	assert_equal "$(jq -r .serial <<<"$output" | sort)" "$want"
	run -0 --separate-stderr ca-list --dir "$CA" --expiring 0s
	assert_output ""
}

@test "list: ok --serial in decimal and 0x-hex; exit 1 if unknown" {
	run -0 --separate-stderr ca-list --dir "$CA" --serial "$(S p)"
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -r .serial <<<"$output")" "$(S p)"
	run -0 --separate-stderr ca-list --dir "$CA" --serial "0x$(HEX p)"
	assert_equal "$(jq -r .serial <<<"$output")" "$(S p)"
	run -1 --separate-stderr ca-list --dir "$CA" --serial 12345
	assert_output ""
	assert_equal "$stderr" "ca-list: no certificate with serial 12345"
}

@test "list: ok --pem: crt is the issued certificate" {
	run -0 --separate-stderr ca-list --dir "$CA" --pem --serial "$(S n)"
	assert_equal "$(jq -r .crt <<<"$output")" "$(openssl x509 -in "$D/n.pem")"
	run -0 ca-list --dir "$CA" --pem
	assert_equal "$(jq -s 'all(.crt | startswith("-----BEGIN CERTIFICATE-----\n"))' <<<"$output")" true
	run -0 ca-list --dir "$CA"
	assert_equal "$(jq -s 'map(has("crt")) | any' <<<"$output")" false
}

@test "list: ok an empty database lists nothing" {
	# A home of its own (a copy of $CA would share its PostgreSQL schema).
	ca-init --dir "$D/emptyca" --password-file "$D/pw" --key-iterations 2048 \
		$(db_args) >/dev/null
	dbq "$D/emptyca" 'delete from revocations; delete from certs'
	run -0 dbq "$D/emptyca" 'select count(*) from certs'
	assert_output 0
	run -0 --separate-stderr ca-list --dir "$D/emptyca"
	assert_output ""
	assert_equal "$stderr" ""
	run -0 --separate-stderr ca-list --dir "$D/emptyca" --revoked
	assert_output ""
}

@test "list: fail usage errors (exit 2)" {
	run -2 --separate-stderr ca-list --dir "$CA" --revoked --expiring 1h
	assert_equal "$stderr" "ca-list: --revoked, --expiring, --serial and --chain are exclusive"
	run -2 --separate-stderr ca-list --dir "$CA" --serial 1 --revoked
	assert_equal "$stderr" "ca-list: --revoked, --expiring, --serial and --chain are exclusive"
	run -2 --separate-stderr ca-list --dir "$CA" --expiring x
	assert_equal "$stderr" "ca-list: --expiring: x: bad duration (try 24h, 90m, 1h30m)"
	run -2 --separate-stderr ca-list --dir "$CA" --serial 0xZZ
	assert_equal "$stderr" "ca-list: --serial 0xZZ: not a serial number (decimal digits, or hexadecimal as 0xHEX, HH:HH:..., serial=HEX (openssl x509 -serial), or digits with a letter a-f)"
	run -2 --separate-stderr ca-list --dir "$CA" extra
	assert_equal "$stderr" "ca-list: unexpected argument: extra"
	assert_output ""
}

@test "list: fail no CA home or a broken ca.json (exit 4)" {
	run -4 --separate-stderr ca-list --dir "$D/none"
	assert_equal "$stderr" "ca-list: $D/none/config/ca.json: no CA here (run ca-init, or give --dir)"
	cp -a "$CA" "$D/broken"
	# The db object is checked strictly, as the policy is.
	jq '.db.dataSorce = "db/ca.db"' "$CA/config/ca.json" | put_file "$D/broken/config/ca.json"
	run -4 --separate-stderr ca-list --dir "$D/broken"
	assert_output ""
	assert_equal "$stderr" 'ca-list: ca.json: db.dataSorce: unknown member'
	jq '.db = "db/ca.db"' "$CA/config/ca.json" | put_file "$D/broken/config/ca.json"
	run -4 --separate-stderr ca-list --dir "$D/broken"
	assert_equal "$stderr" "ca-list: ca.json: db: must be an object"
	jq '.authority.policy = {"x509": {"allow": {"ip": ["10.0.0.0/33"]}}}' "$CA/config/ca.json" | put_file "$D/broken/config/ca.json"
	run -4 --separate-stderr ca-list --dir "$D/broken"
	assert_equal "$stderr" "ca-list: policy: bad IP rule 10.0.0.0/33"
}
