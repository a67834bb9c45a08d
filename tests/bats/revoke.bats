#!/usr/bin/env bats
# ca-revoke --offline (by the operator and with revoke tokens) and ca-list,
# the inventory, against one CA home with a few certificates.

load common
load helpers/authority

# issue NAME [ca-sign options...]: a certificate for NAME.example.com, its
# PEM in $D/NAME.pem and its decimal serial in $D/NAME.serial.
issue() {
	local n=$1
	shift
	csr "$n" "$n.example.com" "dns:$n.example.com"
	ca-sign --offline --dir "$CA" --token "$(mint --sub "$n.example.com")" "$@" \
		<"$D/$n.csr" >"$D/$n.pem"
	serial_of "$D/$n.pem" >"$D/$n.serial"
}

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
}

S() { cat "$D/$1.serial"; }
HEX() { openssl x509 -in "$D/$1.pem" -noout -serial | cut -d= -f2; }
revoke() { ca-revoke --offline --dir "$CA" "$@"; }

# ---- ca-revoke ----------------------------------------------------------

@test "revoke: -h prints usage and exits 0" {
	run -0 --separate-stderr ca-revoke -h
	assert_line --index 0 "usage: ca-revoke --offline [--dir DIR] [--token TOKEN | --token-file FILE]"
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
	for rc in 7 11 -1 x 1x ""; do
		run -2 --separate-stderr revoke --reason-code "$rc" "$(S e)"
		assert_output ""
		assert_equal "$stderr" "ca-revoke: --reason-code $rc: 0..10, not 7 (RFC 5280 CRLReason)"
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
	assert_equal "$stderr" "ca-revoke: give --offline (revocation through ca-serve is not available yet)"
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

# ---- ca-list ----------------------------------------------------------------

@test "list: -h prints usage and exits 0" {
	run -0 --separate-stderr ca-list -h
	assert_line --index 0 "usage: ca-list [--dir DIR] [--revoked | --expiring DURATION | --serial SERIAL]"
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

# bats test_tags=sqlite
@test "list: ok an empty database lists nothing" {
	cp -a "$CA" "$D/emptyca"
	sqlite3 "$D/emptyca/db/ca.db" 'delete from revocations; delete from certs'
	run -0 --separate-stderr ca-list --dir "$D/emptyca"
	assert_output ""
	assert_equal "$stderr" ""
	run -0 --separate-stderr ca-list --dir "$D/emptyca" --revoked
	assert_output ""
}

@test "list: fail usage errors (exit 2)" {
	run -2 --separate-stderr ca-list --dir "$CA" --revoked --expiring 1h
	assert_equal "$stderr" "ca-list: --revoked, --expiring and --serial are exclusive"
	run -2 --separate-stderr ca-list --dir "$CA" --serial 1 --revoked
	assert_equal "$stderr" "ca-list: --revoked, --expiring and --serial are exclusive"
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
	jq '.db.dataSorce = "db/ca.db"' "$CA/config/ca.json" >"$D/broken/config/ca.json"
	run -4 --separate-stderr ca-list --dir "$D/broken"
	assert_output ""
	assert_equal "$stderr" 'ca-list: ca.json: db.dataSorce: unknown member'
	jq '.db = "db/ca.db"' "$CA/config/ca.json" >"$D/broken/config/ca.json"
	run -4 --separate-stderr ca-list --dir "$D/broken"
	assert_equal "$stderr" "ca-list: ca.json: db: must be an object"
	jq '.authority.policy = {"x509": {"allow": {"ip": ["10.0.0.0/33"]}}}' "$CA/config/ca.json" >"$D/broken/config/ca.json"
	run -4 --separate-stderr ca-list --dir "$D/broken"
	assert_equal "$stderr" "ca-list: policy: bad IP rule 10.0.0.0/33"
}
