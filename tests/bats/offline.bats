#!/usr/bin/env bats
# ca-sign --offline and ca-sign --api --offline: the database-backed CA.
# Every refusal runs both ways (helpers/authority.bash: refused), since a
# token, a policy check or a database write must behave identically offline
# and behind ca-serve.

load common
load helpers/authority

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_ca
	# One deny rule, so that a policy refusal can be shown here too.
	jq '.authority.policy.x509 = {"deny": {"dns": ["denied.example.com"]}}' \
		"$D/ca.json.orig" | put_file "$CA/config/ca.json"
	csr foo foo.example.com dns:foo.example.com
	csr foo2 foo.example.com dns:foo.example.com
	csr multi foo.example.com dns:foo.example.com dns:www.example.com \
		ip:10.0.0.5 email:ops@example.com uri:spiffe://example.com/foo
	csr extra foo.example.com dns:foo.example.com dns:bar.example.com
	csr bar bar.example.com dns:bar.example.com
	csr cnx other.example.com dns:foo.example.com
	csr nocn "" dns:foo.example.com
	csr cnonly foo.example.com
	csr wild '*.example.com' 'dns:*.example.com'
	csr ip 10.0.0.5 ip:10.0.0.5
	csr ipdns 10.0.0.5 dns:10.0.0.5
	csr denied denied.example.com dns:denied.example.com
}

MULTI='["foo.example.com","www.example.com","10.0.0.5","ops@example.com","spiffe://example.com/foo"]'

# ---- issuance -------------------------------------------------------------

@test "offline: ok a CSR with only a CN asks for that name" {
	mapfile -t t < <(mint -n 2)
	issued "${t[0]}" "${t[1]}" "$D/cnonly.csr"
	run -0 openssl x509 -in "$D/api.pem" -noout -ext subjectAltName
	assert_line --index 1 "    DNS:foo.example.com"
	# ... and only that name: a token for more names is not satisfied by it.
	refused 1 403 "certificate request names differ from the token's sans: not in the request: dns:www.example.com" \
		"$(mint --set sans='["foo.example.com","www.example.com"]')" "$D/cnonly.csr"
}

@test "offline: ok valid token issues the named certificate both ways" {
	mapfile -t t < <(mint -n 2 --set sans="$MULTI")
	issued "${t[0]}" "${t[1]}" "$D/multi.csr"
	# Offline prints the chain: leaf, then the intermediate.
	[ "$(grep -c 'BEGIN CERTIFICATE' "$D/cli.pem")" -eq 2 ]
	openssl x509 -in "$D/cli.pem" >"$D/cli-leaf.pem"
	assert_equal "$(sed -n '/END/,$p' "$D/cli.pem" | tail -n +2)" "$(cat "$CA/certs/intermediate_ca.crt")"
	# The API answers {"crt","ca","certChain"}.
	run -0 jq -r 'keys_unsorted | join(",")' "$D/api.json"
	assert_output "crt,ca,certChain"
	run -0 jq -e '.certChain == [.crt, .ca]' "$D/api.json"
	assert_equal "$(jq -r .ca "$D/api.json")" "$(cat "$CA/certs/intermediate_ca.crt")"
	for c in "$D/cli-leaf.pem" "$D/api.pem"; do
		run -0 openssl verify -x509_strict -CAfile "$CA/certs/root_ca.crt" \
			-untrusted "$CA/certs/intermediate_ca.crt" -purpose sslserver "$c"
		run -0 openssl x509 -in "$c" -noout -subject -ext subjectAltName
		assert_line --index 0 "subject=CN = foo.example.com"
		assert_line --index 2 "    DNS:foo.example.com, DNS:www.example.com, IP Address:10.0.0.5, email:ops@example.com, URI:spiffe://example.com/foo"
		nb=$(date -d "$(openssl x509 -in "$c" -noout -startdate | cut -d= -f2)" +%s)
		na=$(date -d "$(openssl x509 -in "$c" -noout -enddate | cut -d= -f2)" +%s)
		assert_equal $((na - nb)) $((86400 + 60))
		# The row: same serial, names, validity, provisioner and DER.
		s=$(serial_of "$c")
		run -0 db "select subject, sans, provisioner, not_before, not_after, hex(der) from certs where serial = '$s'"
		assert_output "foo.example.com|[\"dns:foo.example.com\",\"dns:www.example.com\",\"ip:10.0.0.5\",\"email:ops@example.com\",\"uri:spiffe://example.com/foo\"]|admin|$nb|$na|$(openssl x509 -in "$c" -outform DER | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)"
		run -0 ca-list --dir "$CA" --serial "$s"
		run -0 jq -c '[.subject, .provisioner, .revoked, (.sans | length)]' <<<"$output"
		assert_output '["foo.example.com","admin",false,5]'
	done
	# Both tokens are spent.
	jti_used "$(claims "${t[0]}" | jq -r .jti)"
	jti_used "$(claims "${t[1]}" | jq -r .jti)"
}

@test "offline: ok requested durations both ways" {
	mapfile -t t < <(mint -n 6)
	issued "${t[0]}" "${t[1]}" "$D/foo.csr" "" 2h
	for c in "$D/cli.pem" "$D/api.pem"; do
		nb=$(date -d "$(openssl x509 -in "$c" -noout -startdate | cut -d= -f2)" +%s)
		na=$(date -d "$(openssl x509 -in "$c" -noout -enddate | cut -d= -f2)" +%s)
		assert_equal $((na - nb)) $((7200 + 60))
	done
	# An explicit notBefore is not backdated: one hour after the request,
	# which lies between the clock read before and after issuing.
	t0=$(date +%s)
	issued "${t[2]}" "${t[3]}" "$D/foo.csr" 1h 3h
	t1=$(date +%s)
	for c in "$D/cli.pem" "$D/api.pem"; do
		nb=$(date -d "$(openssl x509 -in "$c" -noout -startdate | cut -d= -f2)" +%s)
		na=$(date -d "$(openssl x509 -in "$c" -noout -enddate | cut -d= -f2)" +%s)
		assert_equal $((na - nb)) 7200
		assert [ "$nb" -ge $((t0 + 3600)) ]
		assert [ "$nb" -le $((t1 + 3600)) ]
	done
	# RFC 3339 times.
	nbt=$(date -u -d '+2 hours' +%Y-%m-%dT%H:00:00Z)
	nat=$(date -u -d "$nbt + 12 hours" +%Y-%m-%dT%H:%M:%SZ)
	issued "${t[4]}" "${t[5]}" "$D/foo.csr" "$nbt" "$nat"
	for c in "$D/cli.pem" "$D/api.pem"; do
		assert_equal "$(date -u -d "$(openssl x509 -in "$c" -noout -startdate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)" "$nbt"
		assert_equal "$(date -u -d "$(openssl x509 -in "$c" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)" "$nat"
	done
}

@test "offline: ok empty notBefore and notAfter mean the defaults (step CLI sends them)" {
	# step's SignRequest marshals unset times as "" rather than omitting them.
	t=$(mint)
	run -0 --separate-stderr api_raw < <(jq -cn --arg ott "$t" --rawfile csr "$D/foo.csr" \
		'{csr: $csr, ott: $ott, notBefore: "", notAfter: ""}')
	assert_equal "$stderr" ""
	run -0 jq -e '.crt | startswith("-----BEGIN CERTIFICATE-----")' <<<"$output"
}

@test "offline: ok token without sans authorises its subject alone" {
	mapfile -t t < <(mint -n 2 --unset sans)
	issued "${t[0]}" "${t[1]}" "$D/foo.csr"
	run -0 openssl x509 -in "$D/api.pem" -noout -ext subjectAltName
	assert_line --index 1 "    DNS:foo.example.com"
}

@test "offline: ok request without a CN gets the subject as CN" {
	mapfile -t t < <(mint -n 2)
	issued "${t[0]}" "${t[1]}" "$D/nocn.csr"
	for c in "$D/cli.pem" "$D/api.pem"; do
		run -0 openssl x509 -in "$c" -noout -subject
		assert_output "subject=CN = foo.example.com"
	done
}

@test "offline: ok IPv4-mapped IPv6 in the token matches the IPv4 request" {
	mapfile -t t < <(mint -n 2 --sub 10.0.0.5 --set sans='["::ffff:10.0.0.5"]')
	issued "${t[0]}" "${t[1]}" "$D/ip.csr"
	run -0 openssl x509 -in "$D/cli.pem" -noout -ext subjectAltName
	assert_line --index 1 "    IP Address:10.0.0.5"
}

@test "offline: ok token minted by jwcrypto is accepted both ways" {
	mapfile -t t < <(mint -n 2 --jwcrypto)
	issued "${t[0]}" "${t[1]}" "$D/foo.csr"
}

@test "offline: ok tokens from ca-token, plain and bound to the request (cnf)" {
	t1=$(ca-token --offline --dir "$CA" foo.example.com)
	t2=$(ca-token --offline --dir "$CA" --csr "$D/foo.csr" foo.example.com)
	issued "$t1" "$t2" "$D/foo.csr"
}

@test "offline: ok audience of any of the CA's names, with or without port and /1.0" {
	mapfile -t t < <(mint -n 2 --vary aud='"https://ca.example.com:9443/1.0/sign"' \
		--vary aud='"https://ca.example.com/1.0/sign"' \
		--vary aud='"https://ca.example.com:9443/sign"' \
		--vary aud='"https://10.0.0.1:9443/1.0/sign"' \
		--vary aud='"https://10.0.0.1/sign"' \
		--vary aud='["https://elsewhere.example/1.0/sign","https://ca.example.com:9443/1.0/sign"]')
	# -n 2 repeats the six variants: t[i] and t[i+6] have the same aud.
	assert_equal "${#t[@]}" 12
	for i in 0 1 2 3 4 5; do
		issued "${t[$i]}" "${t[$((i + 6))]}" "$D/foo.csr"
	done
}

@test "offline: ok token times within the 60 s leeway" {
	mapfile -t t < <(mint -n 2 --set nbf=now-300 --set iat=now-300 --set exp=now-30)
	issued "${t[0]}" "${t[1]}" "$D/foo.csr"
	mapfile -t t < <(mint -n 2 --set nbf=now+30 --set iat=now+30 --set exp=now+330)
	issued "${t[0]}" "${t[1]}" "$D/foo.csr"
	mapfile -t t < <(mint -n 2 --set exp=now+3600)
	issued "${t[0]}" "${t[1]}" "$D/foo.csr"
}

@test "offline: ok jti of 128 bytes" {
	j=$(printf 'j%.0s' $(seq 128))
	t1=$(mint --set jti="\"${j}\"")
	t2=$(mint --set jti="\"${j:1}k\"")
	issued "$t1" "$t2" "$D/foo.csr"
}

@test "offline: ok --key-out makes the key and request from the token" {
	t=$(mint --set sans='["foo.example.com","10.0.0.5"]')
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$t" --key-out "$D/new.key"
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >"$D/new.pem"
	assert_equal "$(stat -c %a "$D/new.key")" 600
	run -0 openssl x509 -in "$D/new.pem" -noout -ext subjectAltName
	assert_line --index 1 "    DNS:foo.example.com, IP Address:10.0.0.5"
	assert_equal "$(openssl x509 -in "$D/new.pem" -noout -pubkey)" "$(openssl pkey -in "$D/new.key" -pubout)"
}

# ---- token refusals -------------------------------------------------------

@test "offline: fail alg none with an empty signature" {
	refused 3 401 "token rejected: jws: empty signature" "$(mint --alg none)" "$D/foo.csr"
}

@test "offline: fail alg none with a signature" {
	refused 1 401 'token rejected: jws: alg "none" refused: the key is for ES256' \
		"$(mint --hset alg='"none"')" "$D/foo.csr"
}

@test "offline: fail HS256 keyed with the public key, in every encoding" {
	mapfile -t toks < <(mint --alg HS256 --hs-key pem,der,jwk,point,x)
	assert_equal "${#toks[@]}" 5
	for t in "${toks[@]}"; do
		refused 1 401 'token rejected: jws: alg "HS256" refused: the key is for ES256' "$t" "$D/foo.csr"
	done
}

@test "offline: fail RS256, ES384 and EdDSA headers over the EC key" {
	mapfile -t toks < <(mint --hvary alg='"RS256"' --hvary alg='"ES384"' --hvary alg='"EdDSA"')
	for i in 0 1 2; do
		alg=$(header "${toks[$i]}" | jq -r .alg)
		refused 1 401 "token rejected: jws: alg \"$alg\" refused: the key is for ES256" \
			"${toks[$i]}" "$D/foo.csr"
	done
	assert_equal "$alg" EdDSA
}

@test "offline: fail header without alg" {
	refused 3 401 'token rejected: jws: header has no string "alg"' "$(mint --hunset alg)" "$D/foo.csr"
}

@test "offline: fail tampered payload (bad signature)" {
	t=$(mint)
	p=$(claims "$t" | jq -c '.sub = "bar.example.com" | .sans = ["bar.example.com"]' |
		base64 -w0 | tr '+/' '-_' | tr -d '=')
	IFS=. read -r h _ s <<<"$t"
	refused 1 401 "token rejected: jws: bad signature" "$h.$p.$s" "$D/bar.csr"
}

@test "offline: fail wrong kid" {
	refused 1 401 "token rejected: unknown provisioner admin with key other" \
		"$(mint --hset kid='"other"')" "$D/foo.csr"
}

@test "offline: fail no kid" {
	refused 1 401 "token rejected: no key id (kid)" "$(mint --hunset kid)" "$D/foo.csr"
}

@test "offline: fail wrong iss" {
	kid=$(jq -r .kid "$D/init.json")
	refused 1 401 "token rejected: unknown provisioner nobody with key $kid" \
		"$(mint --set iss='"nobody"')" "$D/foo.csr"
}

@test "offline: fail wrong aud" {
	mapfile -t toks < <(mint --vary aud='"https://other.example.com/1.0/sign"' \
		--vary aud='"https://CA.example.com:9443/1.0/sign"' \
		--vary aud='"https://ca.example.com:9443/1.0/renew"' \
		--vary aud='["https://other.example.com/1.0/sign"]' --vary aud=7)
	assert_equal "${#toks[@]}" 5
	toks+=("$(mint --unset aud)")
	for t in "${toks[@]}"; do
		refused 1 401 "token rejected: audience mismatch (not a sign token for this CA)" "$t" "$D/foo.csr"
	done
}

@test "offline: fail expired" {
	refused 1 401 "token rejected: expired" \
		"$(mint --set nbf=now-400 --set iat=now-400 --set exp=now-100)" "$D/foo.csr"
}

@test "offline: fail not yet valid" {
	refused 1 401 "token rejected: not yet valid" \
		"$(mint --set nbf=now+600 --set iat=now+600 --set exp=now+900)" "$D/foo.csr"
	# iat alone in the future
	refused 1 401 "token rejected: not yet valid" \
		"$(mint --set iat=now+600 --set exp=now+900)" "$D/foo.csr"
}

@test "offline: fail too long-lived (exp - iat over maxTokenLifetime 1h)" {
	refused 1 401 "token rejected: lifetime 3601s exceeds the maximum 3600s" \
		"$(mint --set exp=now+3601)" "$D/foo.csr"
}

@test "offline: fail exp before iat" {
	refused 1 401 "token rejected: expires before it is valid" \
		"$(mint --unset nbf --set iat=now+10 --set exp=now)" "$D/foo.csr"
}

@test "offline: fail huge exp and negative iat do not overflow past the lifetime check" {
	# exp - iat overflows int64: the token must still be refused.
	t=$(mint --unset nbf --set exp=4611686018427387904 --set iat=-4611686018427388904)
	before=$(certs_count)
	run -1 --separate-stderr cli_sign "$t" "$D/foo.csr"
	assert_output ""
	assert_regex "$stderr" "^ca-sign: token rejected: "
	run -1 --separate-stderr api_sign "$t" "$D/foo.csr"
	assert_regex "$stderr" "^ca-sign: token rejected: "
	run -0 jq -e '.status == 401' <<<"$output"
	assert_equal "$(certs_count)" "$before"
}

@test "offline: fail exp as a string or a float" {
	mapfile -t toks < <(mint --vary exp='"9999999999"' --vary exp=1.9e9)
	refused 1 401 "token rejected: exp is not an integer" "${toks[0]}" "$D/foo.csr"
	refused 1 401 "token rejected: exp is not an integer" "${toks[1]}" "$D/foo.csr"
	refused 1 401 "token rejected: iat is not an integer" "$(mint --set iat='"0"')" "$D/foo.csr"
}

@test "offline: fail missing, empty and oversized jti" {
	mapfile -t toks < <(mint --vary jti=null --vary jti='""' \
		--vary jti="\"$(printf 'j%.0s' $(seq 129))\"" --vary jti=42)
	toks+=("$(mint --unset jti)")
	for t in "${toks[@]}"; do
		refused 1 401 "token rejected: missing or oversized jti" "$t" "$D/foo.csr"
	done
}

@test "offline: fail missing sub" {
	refused 1 401 "token rejected: no subject (sub)" "$(mint --unset sub)" "$D/foo.csr"
	refused 1 401 "token rejected: no subject (sub)" "$(mint --set sub=5)" "$D/foo.csr"
}

@test "offline: fail sans as a string, empty, or not strings" {
	refused 1 401 "token rejected: sans must be a non-empty list" \
		"$(mint --set sans='"foo.example.com"')" "$D/foo.csr"
	refused 1 401 "token rejected: sans must be a non-empty list" "$(mint --set sans='[]')" "$D/foo.csr"
	refused 1 401 "token rejected: sans must be strings" "$(mint --set sans='[1]')" "$D/foo.csr"
}

@test "offline: fail crit header" {
	refused 1 401 "token rejected: jws: critical header extensions (crit) not supported" \
		"$(mint --hset crit='["exp"]' --hset exp=0)" "$D/foo.csr"
}

@test "offline: fail duplicate alg in the header" {
	refused 3 401 "token rejected: jws: header: invalid JSON: duplicate object key at byte 89" \
		"$(mint --hraw '"alg":"none"')" "$D/foo.csr"
}

@test "offline: fail duplicate sub in the payload" {
	refused 3 401 "token rejected: jws: payload: invalid JSON: duplicate object key at byte 255" \
		"$(mint --craw '"sub":"bar.example.com"')" "$D/bar.csr"
}

@test "offline: fail 2 or 4 segments, empty segments" {
	t=$(mint)
	IFS=. read -r h p s <<<"$t"
	refused 3 401 "token rejected: jws: 2 segments, want 3" "$h.$p" "$D/foo.csr"
	refused 3 401 "token rejected: jws: more than 3 '.'-separated segments" "$t.$s" "$D/foo.csr"
	refused 3 401 "token rejected: jws: payload: invalid JSON: premature end of input at byte 0" \
		"$h..$s" "$D/foo.csr"
	refused 3 401 "token rejected: jws: empty signature" "$h.$p." "$D/foo.csr"
}

@test "offline: fail base64url with '=' padding" {
	refused 3 401 "token rejected: jws: payload: base64url: padding not allowed" \
		"$(mint --pad)" "$D/foo.csr"
}

@test "offline: fail token over 16 KiB" {
	big=$(head -c 16400 /dev/zero | tr '\0' a)
	refused 3 401 "token rejected: longer than 16384 bytes" \
		"$(mint --set pad="\"$big\"")" "$D/foo.csr"
}

@test "offline: fail empty token" {
	# --token "" is a usage error, with or without --key-out (see
	# attacks_tokens.bats); an empty "ott" in a request is a rejected token.
	local rows0
	rows0=$(rows)
	run -2 --separate-stderr cli_sign "" "$D/foo.csr"
	assert_equal "$stderr" "ca-sign: --token is empty: give the token from ca-token"
	run -1 --separate-stderr api_sign "" "$D/foo.csr"
	assert_api_error 401 "token rejected: no token"
	assert_equal "$(rows)" "$rows0"
}

@test "offline: fail revoke token used to sign" {
	t=$(ca-token --offline --dir "$CA" --revoke 12345)
	refused 1 401 "token rejected: audience mismatch (not a sign token for this CA)" "$t" "$D/foo.csr"
}

@test "offline: fail bad signatures leave the jti unspent for the genuine token" {
	j=$(printf '%064x' "$RANDOM$RANDOM")
	t=$(mint --set jti="\"$j\"")
	IFS=. read -r h p s <<<"$t"
	refused 1 401 'token rejected: jws: alg "HS256" refused: the key is for ES256' \
		"$(mint --set jti="\"$j\"" --alg HS256)" "$D/foo.csr"
	refused 3 401 "token rejected: jws: empty signature" "$h.$p." "$D/foo.csr"
	# Same claims, another signature: a forgery attempt with the real jti.
	s2=$(mint | cut -d. -f3)
	refused 1 401 "token rejected: jws: bad signature" "$h.$p.$s2" "$D/foo.csr"
	refused 1 401 "token rejected: unknown provisioner admin with key other" \
		"$(mint --set jti="\"$j\"" --hset kid='"other"')" "$D/foo.csr"
	run -0 db "select count(*) from used_tokens where jti = '$j'"
	assert_output 0
	run -0 --separate-stderr cli_sign "$t" "$D/foo.csr"
	jti_used "$j"
}

@test "offline: fail refusals after the signature do not spend the jti either" {
	j=$(printf '%064x' "$RANDOM$RANDOM$RANDOM")
	refused 1 403 "certificate request names differ from the token's sans: not in the token: dns:bar.example.com; not in the request: dns:foo.example.com" \
		"$(mint --set jti="\"$j\"")" "$D/bar.csr"
	refused 1 403 "requested duration exceeds the maximum 24h" \
		"$(mint --set jti="\"$j\"")" "$D/foo.csr" "" 25h
	run -0 db "select count(*) from used_tokens where jti = '$j'"
	assert_output 0
	run -0 --separate-stderr api_sign "$(mint --set jti="\"$j\"")" "$D/foo.csr"
	jti_used "$j"
}

@test "offline: fail replayed token, offline first then both ways" {
	t=$(mint)
	run -0 --separate-stderr cli_sign "$t" "$D/foo.csr"
	refused 1 401 "token already used" "$t" "$D/foo.csr"
}

@test "offline: fail replayed token, API first then both ways" {
	t=$(mint)
	run -0 --separate-stderr api_sign "$t" "$D/foo.csr"
	refused 1 401 "token already used" "$t" "$D/foo.csr"
}

@test "offline: fail replayed token in 20 parallel copies issues exactly one certificate" {
	t=$(mint)
	j=$(claims "$t" | jq -r .jti)
	before=$(certs_count)
	for i in $(seq 1 20); do
		way=api_sign
		[ $((i % 2)) -eq 1 ] || way=cli_sign
		(
			rc=0
			"$way" "$t" "$D/foo.csr" >"$D/par.$i.out" 2>"$D/par.$i.err" || rc=$?
			echo "$rc" >"$D/par.$i.rc"
		) &
	done
	wait
	run -0 bash -c "cat '$D'/par.*.rc | sort | uniq -c | awk '{print \$1\":\"\$2}' | paste -sd' '"
	assert_output "1:0 19:1"
	for i in $(seq 1 20); do
		if [ "$(cat "$D/par.$i.rc")" = 0 ]; then
			if [ $((i % 2)) -eq 0 ]; then
				cp "$D/par.$i.out" "$D/winner.pem"
			else
				jq -r .crt "$D/par.$i.out" >"$D/winner.pem"
			fi
			run -0 openssl x509 -in "$D/winner.pem" -noout -subject
			assert_output "subject=CN = foo.example.com"
		else
			assert_equal "$(cat "$D/par.$i.err")" "ca-sign: token already used"
			if [ $((i % 2)) -eq 1 ]; then
				run -0 jq -e '. == {status: 401, message: "token already used"}' "$D/par.$i.out"
			fi
		fi
	done
	assert_equal "$(certs_count)" $((before + 1))
	jti_used "$j"
}

@test "offline: ok serial is 20 octets, positive, and the long CN is left out" {
	long=$(printf 'a%.0s' $(seq 60)).example.com
	csr long "" "dns:$long"
	mapfile -t t < <(mint -n 2 --sub "$long")
	issued "${t[0]}" "${t[1]}" "$D/long.csr"
	for c in "$D/cli.pem" "$D/api.pem"; do
		run -0 openssl x509 -in "$c" -noout -serial -subject -ext subjectAltName
		assert_regex "${lines[0]}" '^serial=[0-7][0-9A-F]{39}$'
		assert_equal "${lines[1]}" "subject="
		assert_equal "${lines[2]}" "X509v3 Subject Alternative Name: critical"
		assert_equal "${lines[3]}" "    DNS:$long"
	done
	run -0 db "select subject from certs where serial = '$(serial_of "$D/api.pem")'"
	assert_output "$long"
}

@test "offline: fail request whose signature does not verify (400)" {
	openssl req -in "$D/foo.csr" -outform DER |
		"$PY" -c 'import sys; d = bytearray(sys.stdin.buffer.read()); d[-1] ^= 1; sys.stdout.buffer.write(d)' |
		openssl req -inform DER -out "$D/badsig.csr" 2>/dev/null
	t=$(mint)
	rows0=$(rows)
	run -3 --separate-stderr cli_sign "$t" "$D/badsig.csr"
	assert_output ""
	assert_regex "$stderr" "^ca-sign: certificate request: signature does not verify"
	msg=${stderr#ca-sign: }
	run -3 --separate-stderr api_sign "$t" "$D/badsig.csr"
	assert_api_error 400 "$msg"
	assert_equal "$(rows)" "$rows0"
}

@test "offline: fail request with a 1024-bit RSA key (400)" {
	openssl req -new -newkey rsa:1024 -nodes -keyout /dev/null -out "$D/rsa1k.csr" \
		-subj /CN=foo.example.com -addext subjectAltName=DNS:foo.example.com 2>/dev/null
	refused 3 400 "certificate request: RSA key of 1024 bits: at least 2048 required" \
		"$(mint)" "$D/rsa1k.csr"
}

# ---- the request against the token ----------------------------------------

@test "offline: fail request names differ from the token's sans, each named" {
	refused 1 403 "certificate request names differ from the token's sans: not in the token: dns:bar.example.com; not in the request: dns:foo.example.com" "$(mint)" "$D/bar.csr"
}

@test "offline: fail extra SAN in the request" {
	refused 1 403 "certificate request names differ from the token's sans: not in the token: dns:bar.example.com" "$(mint)" "$D/extra.csr"
}

@test "offline: fail request lacks one of the token's sans" {
	refused 1 403 "certificate request names differ from the token's sans: not in the request: dns:bar.example.com" \
		"$(mint --set sans='["foo.example.com","bar.example.com"]')" "$D/foo.csr"
}

@test "offline: fail CN not one of the sans" {
	refused 1 403 "certificate request common name other.example.com is not one of the token's sans" \
		"$(mint)" "$D/cnx.csr"
}

@test "offline: fail policy deny" {
	refused 1 403 "policy: dns name denied.example.com is denied" \
		"$(mint --sub denied.example.com)" "$D/denied.csr"
	# The subject (the certificate's CN) must be one of the sans.
	refused 1 403 "token rejected: subject denied.example.com is not one of its sans" \
		"$(mint --sub denied.example.com --set sans='["foo.example.com"]')" "$D/nocn.csr"
}

@test "offline: fail wildcard when not allowed" {
	refused 1 403 "policy: wildcard name *.example.com is not allowed" \
		"$(mint --sub '*.example.com')" "$D/wild.csr"
}

@test "offline: fail ambiguous IP spellings in the token" {
	ips=(010.0.0.5 0x0a.0.0.5 167772165 10.5 10.0.0.05)
	mapfile -t toks < <(mint --sub 10.0.0.5 $(printf -- '--vary=sans=["%s"] ' "${ips[@]}"))
	for i in "${!ips[@]}"; do
		refused 1 403 "token rejected: ${ips[$i]}: ambiguous name (looks like an IP address)" \
			"${toks[$i]}" "$D/ip.csr"
	done
	refused 1 403 "token rejected: subject is not a name: 010.0.0.5: ambiguous name (looks like an IP address)" \
		"$(mint --sub 010.0.0.5 --unset sans)" "$D/ip.csr"
}

@test "offline: fail IP address encoded as a DNS name in the request" {
	refused 3 400 "certificate request: 10.0.0.5: encoded as dns but reads as ip" \
		"$(mint --sub 10.0.0.5)" "$D/ipdns.csr"
}

@test "offline: fail cnf bound to another request" {
	t=$(ca-token --offline --dir "$CA" --csr "$D/foo.csr" foo.example.com)
	refused 1 403 "token rejected: the token is bound (cnf) to another certificate request" \
		"$t" "$D/foo2.csr"
	refused 1 401 "token rejected: cnf without x5rt#S256" "$(mint --set cnf='{}')" "$D/foo.csr"
	# The bound request itself still gets its certificate.
	run -0 --separate-stderr cli_sign "$t" "$D/foo.csr"
}

# ---- durations -------------------------------------------------------------

@test "offline: fail duration above the maximum" {
	refused 1 403 "requested duration exceeds the maximum 24h" "$(mint)" "$D/foo.csr" "" 25h
	refused 1 403 "requested duration exceeds the maximum 24h" "$(mint)" "$D/foo.csr" 1h 26h
}

@test "offline: fail duration below the minimum" {
	refused 1 403 "requested duration is below the minimum 5m" "$(mint)" "$D/foo.csr" 1h 1h3m
}

@test "offline: fail notBefore in the past" {
	refused 1 403 "notBefore is in the past" "$(mint)" "$D/foo.csr" -1h
}

@test "offline: fail notAfter not after notBefore" {
	refused 1 403 "notAfter is not after notBefore" "$(mint)" "$D/foo.csr" 2h 1h
}

@test "offline: fail notBefore after the issuer's notAfter is refused like other lifetimes (exit 1, 403)" {
	rows0=$(rows)
	t=$(mint)
	run -1 --separate-stderr cli_sign "$t" "$D/foo.csr" 2099-01-01T00:00:00Z 2099-01-01T02:00:00Z
	assert_output ""
	assert_regex "$stderr" "^ca-sign: "
	run -1 --separate-stderr api_sign "$t" "$D/foo.csr" 2099-01-01T00:00:00Z 2099-01-01T02:00:00Z
	run -0 jq -e '.status == 403' <<<"$output"
	assert_equal "$(rows)" "$rows0"
}

@test "offline: fail malformed notAfter" {
	refused 3 400 "notAfter: 48x: bad time (RFC 3339 like 2026-01-02T03:04:05Z, or a duration like 24h)" \
		"$(mint)" "$D/foo.csr" "" 48x
}

# ---- offline usage ----------------------------------------------------------

@test "offline: fail without a token (exit 2)" {
	run -2 --separate-stderr ca-sign --offline --dir "$CA" <"$D/foo.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: a token is required: --token or --token-file"
}

@test "offline: fail SUBJECT or --san with a token (exit 2)" {
	run -2 --separate-stderr ca-sign --offline --dir "$CA" --token x --san a.example.com <"$D/foo.csr"
	assert_equal "$stderr" "ca-sign: --san with a token: only with --key-out (a CSR names its own names)"
	run -2 --separate-stderr ca-sign --offline --dir "$CA" --token x --profile leaf <"$D/foo.csr"
	assert_equal "$stderr" "ca-sign: --profile, --ca-key and --password-file are for stateless mode"
}

@test "offline: fail malformed token with --key-out exits like the request path (3)" {
	run -3 --separate-stderr ca-sign --offline --dir "$CA" --token "$(mint --alg none)" --key-out "$D/none.key"
	assert_equal "$stderr" "ca-sign: token rejected: jws: empty signature"
	[ ! -e "$D/none.key" ]
}

@test "offline: ok --json prints the API's response" {
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$(mint)" --json <"$D/foo.csr"
	assert_equal "$stderr" ""
	run -0 jq -r 'keys_unsorted | join(",")' <<<"$output"
	assert_output "crt,ca,certChain"
}

@test "offline: ok --token-file" {
	mint >"$D/t.tok"
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token-file "$D/t.tok" <"$D/foo.csr"
	assert_equal "$stderr" ""
}

@test "offline: fail no CA home (exit 4)" {
	t=$(mint)
	run -4 --separate-stderr ca-sign --offline --dir "$D/none" --token "$t" <"$D/foo.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: $D/none/config/ca.json: no CA here (run ca-init, or give --dir)"
	api_none() { api_request "$t" "$D/foo.csr" | ca-sign --api --offline --dir "$D/none"; }
	run -4 --separate-stderr api_none
	assert_api_error 500 "$D/none/config/ca.json: no CA here (run ca-init, or give --dir)"
}

# ---- API requests ------------------------------------------------------------

@test "offline: ok API response is one JSON object" {
	run -0 --separate-stderr api_sign "$(mint)" "$D/foo.csr"
	run -0 jq -s 'length' <<<"$output"
	assert_output 1
}

@test "offline: fail API malformed JSON (400)" {
	run -3 --separate-stderr api_raw <<<'{"csr": 1'
	assert_api_error 400 "request: malformed JSON: premature end of input at byte 10"
	assert_equal "$stderr" "ca-sign: request: malformed JSON: premature end of input at byte 10"
	run -3 --separate-stderr api_raw <<<'["csr"]'
	assert_api_error 400 "request: malformed JSON: not an object"
	run -3 --separate-stderr api_raw <<<'{"csr": "a", "ott": }'
	assert_api_error 400 "request: malformed JSON: invalid syntax at byte 21"
}

@test "offline: fail API duplicate members (400)" {
	t=$(mint)
	req=$(api_request "$t" "$D/foo.csr")
	run -3 --separate-stderr api_raw <<<"${req%\}},\"ott\":\"$t\"}"
	assert_api_error 400 "request: malformed JSON: duplicate object key at byte $((${#req} + 5))"
}

@test "offline: fail API missing csr or ott (400)" {
	t=$(mint)
	run -3 --separate-stderr api_raw < <(jq -cn --arg ott "$t" '{ott: $ott}')
	assert_api_error 400 "request: csr is required"
	assert_equal "$stderr" "ca-sign: request: csr is required"
	run -3 --separate-stderr api_raw < <(jq -cn --rawfile csr "$D/foo.csr" '{csr: $csr}')
	assert_api_error 400 "request: ott is required"
	run -3 --separate-stderr api_raw < <(jq -cn --rawfile csr "$D/foo.csr" '{csr: $csr, ott: null}')
	assert_api_error 400 "request: ott is required"
}

@test "offline: fail API members of the wrong type (400)" {
	t=$(mint)
	for m in csr ott notBefore notAfter; do
		for v in 1 true '["x"]' '{}'; do
			run -3 --separate-stderr api_raw < <(api_request "$t" "$D/foo.csr" | jq -c --arg m "$m" --argjson v "$v" '.[$m] = $v')
			assert_api_error 400 "request: $m must be a string"
		done
	done
}

@test "offline: fail API malformed CSR (400)" {
	run -3 --separate-stderr api_raw < <(jq -cn --arg ott "$(mint)" '{csr: "not a csr", ott: $ott}')
	assert_api_error 400 "malformed certificate request: nested asn1 error"
}

@test "offline: fail API request over 64 KiB (413)" {
	run -3 --separate-stderr api_raw < <(jq -cn --arg ott "$(mint)" --rawfile csr "$D/foo.csr" \
		--arg pad "$(head -c 70000 /dev/zero | tr '\0' a)" '{csr: $csr, ott: $ott, pad: $pad}')
	assert_api_error 413 "request: input exceeds 65536 bytes"
}

@test "offline: fail --api without --offline or with other options (exit 2)" {
	run -2 --separate-stderr ca-sign --api --dir "$CA" </dev/null
	assert_output ""
	assert_equal "$stderr" "ca-sign: --api needs --offline (the handler runs on the CA host)"
	for opt in "--token x" "--not-after 1h" "--json" "--san a.example.com"; do
		run -2 --separate-stderr ca-sign --api --offline --dir "$CA" $opt </dev/null
		assert_output ""
		assert_equal "$stderr" "ca-sign: --api takes only --offline, --dir and --socket: everything else comes from the request JSON"
	done
}

@test "offline: ok API notBefore and notAfter may be null, other members are ignored" {
	t=$(mint)
	run -0 --separate-stderr api_raw < <(api_request "$t" "$D/foo.csr" |
		jq -c '.notBefore = null | .notAfter = null | .extra = {"x": 1}')
	assert_equal "$stderr" ""
	run -0 jq -e '.crt | startswith("-----BEGIN CERTIFICATE-----")' <<<"$output"
}
