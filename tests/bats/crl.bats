#!/usr/bin/env bats
# The CRL: what authority_crl() makes (checked with openssl alone), when it
# makes a new one, the ca.json "crl" block, and the CRL distribution point
# in leaves.  bin/test_crl calls authority_crl() in-process on the home
# (--force regenerates), as the offline programs do.

load common
load helpers/authority

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	CA_SERVE=0 make_ca
	cat "$CA/certs/intermediate_ca.crt" "$CA/certs/root_ca.crt" >"$D/chain.pem"
	cp "$CA/certs/intermediate_ca.crt" "$D/int.pem"
	cp "$CA/certs/root_ca.crt" "$D/root.pem"
}

# Each test starts from ca-init's ca.json.
setup() { put_file "$CA/config/ca.json" <"$D/ca.json.orig"; }

# conf JQ-FILTER: apply a jq filter to ca.json.
conf() {
	jq "$1" "$CA/config/ca.json" >"$D/ca.json.new"
	mv "$D/ca.json.new" "$CA/config/ca.json"
}

revoke() { ca-revoke --offline --dir "$CA" "$@"; }

# getcrl [test_crl options]: the current CRL as PEM into $D/crl.pem.
getcrl() { test_crl --dir "$CA" --pem "$@" >"$D/crl.pem"; }
crltext() { openssl crl -in "$D/crl.pem" -noout -text; }
# number: the CRL number of $D/crl.pem (decimal).
number() { openssl crl -in "$D/crl.pem" -noout -crlnumber | sed 's/^crlNumber=0x//' | tr a-f A-F | sed 's/^/ibase=16; /' | bc; }
# entries: "SERIAL REASON" lines of $D/crl.pem, REASON "-" when absent.
entries() {
	crltext | awk '
		/Serial Number:/ { if (s != "") print s, r; s = $3; r = "-"; next }
		s != "" && /CRL Reason Code/ { getline; gsub(/^ +| +$/, ""); r = $0; gsub(/ /, "_", r) }
		/Signature Algorithm/ && s != "" { print s, r; s = "" }
		END { if (s != "") print s, r }'
}
epoch() { date -d "$1" +%s; }
# todec: hexadecimal lines to decimal lines.
todec() { while read -r h; do BC_LINE_LENGTH=0 bc <<<"ibase=16; $h"; done; }
this_update() { epoch "$(openssl crl -in "$D/crl.pem" -noout -lastupdate | cut -d= -f2)"; }
next_update() { epoch "$(openssl crl -in "$D/crl.pem" -noout -nextupdate | cut -d= -f2)"; }

@test "crl: ok first CRL: v2, number 1, signed by the intermediate (openssl crl -CAfile verifies)" {
	run -0 --separate-stderr getcrl
	assert_equal "$stderr" ""
	run -0 openssl crl -in "$D/crl.pem" -CAfile "$D/chain.pem" -noout
	assert_output "verify OK"
	run -0 crltext
	assert_line --index 1 "        Version 2 (0x1)"
	assert_equal "$(openssl crl -in "$D/crl.pem" -noout -issuer)" \
		"issuer=$(openssl x509 -in "$D/int.pem" -noout -subject | cut -d= -f2-)"
	assert_equal "$(number)" 1
	run -0 db "select count(*), max(number), max(revocations) from crl"
	assert_output "1|1|0"
}

@test "crl: fail a CRL signed by another key does not verify against the chain (the check can fail)" {
	getcrl
	make_openssl_ca "$D/other"
	run -1 openssl crl -in "$D/crl.pem" -CAfile "$D/other/root.crt" -noout
	refute_output "verify OK"
}

@test "crl: ok a fetch with nothing new returns the stored CRL byte for byte" {
	getcrl --force
	cp "$D/crl.pem" "$D/first.pem"
	n=$(db "select count(*) from crl")
	run -0 --separate-stderr getcrl
	assert_equal "$(cat "$D/crl.pem")" "$(cat "$D/first.pem")"
	assert_equal "$(db "select count(*) from crl")" "$n"
}

@test "crl: ok AKI is the intermediate's key id; IDP critical, only user certificates, no name without idpURL" {
	getcrl --force
	ski=$(openssl x509 -in "$D/int.pem" -noout -ext subjectKeyIdentifier | tail -n 1 | tr -d ' ')
	run -0 crltext
	assert_line --index 9 "            X509v3 Authority Key Identifier: "
	assert_line --index 10 "                $ski"
	assert_line --index 11 "            X509v3 Issuing Distribution Point: critical"
	assert_line --index 12 "                Only User Certificates"
	refute_line --partial "Full Name"
}

@test "crl: ok IDP fullName is crl.idpURL" {
	conf '.crl = {"idpURL": "http://crl.example.com/inca.crl"}'
	getcrl --force
	run -0 crltext
	assert_line --index 11 "            X509v3 Issuing Distribution Point: critical"
	assert_line --index 12 "                Full Name:"
	# openssl prints the next field on the URI's line.
	assert_line --index 13 --regexp "^ +URI:http://crl\.example\.com/inca\.crl( +Only User Certificates)?$"
	assert_line --partial "Only User Certificates"
}

@test "crl: ok lists exactly the revoked serials, each with its reason (none for 0), sorted by serial" {
	for n in r1 r2 r3 keep; do issue "$n"; done
	revoke --reason-code 1 "$(S r1)"
	revoke "$(S r2)"
	revoke --reason-code 5 "$(S r3)"
	getcrl
	run -0 entries
	want=$(printf '%s Key_Compromise\n%s -\n%s Cessation_Of_Operation\n' \
		"$(HEX r1)" "$(HEX r2)" "$(HEX r3)")
	# Every revoked certificate of the database, none other.
	assert_equal "$(awk '{print $1}' <<<"$output" | todec | sort)" \
		"$(db "select serial from revocations" | sort)"
	for line in $(tr ' ' '=' <<<"$want"); do
		assert_line "${line/=/ }"
	done
	refute_line --partial "$(HEX keep)"
	# In increasing serial order.
	assert_equal "$(awk '{print $1}' <<<"$output" | todec)" \
		"$(awk '{print $1}' <<<"$output" | todec | sort -n)"
}

@test "crl: ok the CRL number increases across revocations and forced regenerations" {
	issue n1
	issue n2
	getcrl
	a=$(number)
	revoke "$(S n1)"
	getcrl
	b=$(number)
	getcrl --force
	c=$(number)
	revoke "$(S n2)"
	getcrl
	d=$(number)
	assert [ "$b" -gt "$a" ]
	assert [ "$c" -gt "$b" ]
	assert [ "$d" -gt "$c" ]
	assert_equal "$(db "select max(number) from crl")" "$d"
}

@test "crl: ok nextUpdate = thisUpdate + cacheDuration (default 24h, and as configured)" {
	getcrl --force
	assert_equal $(($(next_update) - $(this_update))) 86400
	t0=$(date +%s)
	conf '.crl = {"cacheDuration": "2h30m"}'
	getcrl --force
	t1=$(date +%s)
	assert_equal $(($(next_update) - $(this_update))) 9000
	assert [ "$(this_update)" -ge "$t0" ]
	assert [ "$(this_update)" -le "$t1" ]
	run -0 db "select next_update - this_update from crl order by number desc limit 1"
	assert_output 9000
}

@test "crl: ok openssl verify -crl_check rejects a revoked certificate and accepts a good one" {
	issue vgood
	issue vbad
	revoke --reason-code 1 "$(S vbad)"
	getcrl
	run -0 openssl verify -crl_check -CRLfile "$D/crl.pem" -CAfile "$D/root.pem" \
		-untrusted "$D/int.pem" "$D/vgood.pem"
	assert_output "$D/vgood.pem: OK"
	run -2 openssl verify -crl_check -CRLfile "$D/crl.pem" -CAfile "$D/root.pem" \
		-untrusted "$D/int.pem" "$D/vbad.pem"
	assert_line --partial "certificate revoked"
}

@test "crl: ok a revoked certificate stays listed 1h past its notAfter, then drops off" {
	issue short --not-after 30m
	revoke --reason-code 4 "$(S short)"
	faketime -f +80m test_crl --dir "$CA" --pem --force >"$D/crl.pem"
	run -0 entries
	assert_line "$(HEX short) Superseded"
	faketime -f +100m test_crl --dir "$CA" --pem --force >"$D/crl.pem"
	run -0 entries
	refute_line --partial "$(HEX short)"
	# Back to the real clock: a CRL from the future is not current.
	n=$(number)
	getcrl
	assert [ "$(number)" -gt "$n" ]
	run -0 entries
	assert_line "$(HEX short) Superseded"
}

@test "crl: ok regenerated once renewPeriod has passed, not before" {
	conf '.crl = {"cacheDuration": "3h", "renewPeriod": "1h"}'
	getcrl --force
	n=$(number)
	faketime -f +50m test_crl --dir "$CA" --pem >"$D/crl.pem"
	assert_equal "$(number)" "$n"
	faketime -f +70m test_crl --dir "$CA" --pem >"$D/crl.pem"
	assert_equal "$(number)" $((n + 1))
	t=$(this_update)
	assert [ "$t" -ge $(($(date +%s) + 69 * 60)) ]
}

@test "crl: ok renewPeriod defaults to 2/3 of cacheDuration" {
	conf '.crl = {"cacheDuration": "3h"}'
	getcrl --force
	n=$(number)
	faketime -f +119m test_crl --dir "$CA" --pem >"$D/crl.pem"
	assert_equal "$(number)" "$n"
	faketime -f +121m test_crl --dir "$CA" --pem >"$D/crl.pem"
	assert_equal "$(number)" $((n + 1))
}

@test "crl: ok a revocation not followed by a new CRL makes the stored one out of date, even within its second" {
	conf '.crl = {"generateOnRevoke": false}'
	issue late
	getcrl --force
	n=$(number)
	run -0 --separate-stderr revoke "$(S late)"
	assert_equal "$stderr" ""
	# generateOnRevoke false: the revocation made no CRL...
	assert_equal "$(db "select max(number) from crl")" "$n"
	# ...and the next request makes one that lists it, whatever the clock.
	getcrl
	assert_equal "$(number)" $((n + 1))
	run -0 entries
	assert_line "$(HEX late) -"
	assert_equal "$(db "select revocations from crl where number = $((n + 1))")" \
		"$(db "select count(*) from revocations")"
}

@test "crl: ok ca-revoke regenerates the CRL after the revocation (generateOnRevoke default)" {
	issue onrev
	getcrl --force
	n=$(number)
	run -0 --separate-stderr revoke "$(S onrev)"
	assert_equal "$stderr" ""
	run -0 db "select number, revocations from crl where number = (select max(number) from crl)"
	assert_output "$((n + 1))|$(db "select count(*) from revocations")"
}

@test "crl: ok a CRL that cannot be made after a revocation is reported on stderr; the revocation stands" {
	issue nokey
	printf 'wrong password\n' >"$D/wrongpw"
	conf ".passwordFile = \"$D/wrongpw\""
	n=$(db "select max(number) from crl")
	run -0 --separate-stderr revoke --reason-code 1 "$(S nokey)"
	assert_output "{\"status\":\"ok\",\"serial\":\"$(S nokey)\",\"reasonCode\":1}"
	assert_equal "$stderr" "ca-revoke: CRL not regenerated after the revocation (the revocation stands): signing key: $CA/secrets/intermediate_ca_key: cannot decrypt key: wrong password"
	assert_equal "$(db "select reason_code from revocations where serial = '$(S nokey)'")" 1
	assert_equal "$(db "select max(number) from crl")" "$n"
	# With the key back, the next request lists it.
	setup
	getcrl
	run -0 entries
	assert_line "$(HEX nokey) Key_Compromise"
}

@test "crl: fail crl.enabled false: no CRL (exit 1, status 404 'CRL disabled'); revocation still works, quietly" {
	conf '.crl = {"enabled": false}'
	issue dis
	n=$(db "select count(*) from crl")
	run -1 --separate-stderr test_crl --dir "$CA" --pem
	assert_output ""
	assert_equal "$stderr" "test_crl: CRL disabled (ca.json crl.enabled is false) (status 404)"
	run -1 --separate-stderr test_crl --dir "$CA" --pem --force
	assert_equal "$stderr" "test_crl: CRL disabled (ca.json crl.enabled is false) (status 404)"
	run -0 --separate-stderr revoke "$(S dis)"
	assert_equal "$stderr" ""
	assert_equal "$(db "select count(*) from crl")" "$n"
}

@test "crl: ok two processes regenerating at once never store or return two CRLs with one number" {
	pids=()
	for i in 1 2 3 4 5 6; do
		test_crl --dir "$CA" --pem --force >"$D/race.$i.pem" 2>"$D/race.$i.err" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	for i in 1 2 3 4 5 6; do
		assert_equal "$(cat "$D/race.$i.err")" ""
		openssl crl -in "$D/race.$i.pem" -noout -crlnumber
	done >"$D/race.numbers"
	assert_equal "$(sort -u "$D/race.numbers" | wc -l)" 6
	run -0 db "select count(*), count(distinct number) from crl"
	assert_equal "${output%|*}" "${output#*|}"
	# Each one returned is the one stored under its number.
	for i in 1 2 3 4 5 6; do
		num=$(openssl crl -in "$D/race.$i.pem" -noout -crlnumber | sed 's/^crlNumber=0x//' | tr a-f A-F)
		num=$(BC_LINE_LENGTH=0 bc <<<"ibase=16; $num")
		openssl crl -in "$D/race.$i.pem" -outform DER -out "$D/race.$i.der"
		assert_equal "$(db "select hex(der) from crl where number = $num")" \
			"$(od -An -tx1 -v "$D/race.$i.der" | tr -d ' \n' | tr a-f A-F)"
	done
}

@test "crl: ok leaves carry a CRL distribution point = idpURL, and openssl verify -crl_check uses the CRL for them" {
	conf '.crl = {"idpURL": "http://crl.example.com/inca.crl"}'
	issue dpgood
	issue dpbad
	run -0 openssl x509 -in "$D/dpgood.pem" -noout -ext crlDistributionPoints
	assert_line --index 0 "X509v3 CRL Distribution Points: "
	assert_line --index 1 "    Full Name:"
	assert_line --index 2 "      URI:http://crl.example.com/inca.crl"
	revoke --reason-code 1 "$(S dpbad)"
	getcrl
	run -0 openssl verify -crl_check -CRLfile "$D/crl.pem" -CAfile "$D/root.pem" \
		-untrusted "$D/int.pem" "$D/dpgood.pem"
	assert_output "$D/dpgood.pem: OK"
	run -2 openssl verify -crl_check -CRLfile "$D/crl.pem" -CAfile "$D/root.pem" \
		-untrusted "$D/int.pem" "$D/dpbad.pem"
	assert_line --partial "certificate revoked"
}

@test "crl: ok no CRL distribution point without idpURL, with addDistributionPoint false, or with the CRL disabled" {
	issue nodp1
	conf '.crl = {"idpURL": "http://crl.example.com/inca.crl", "addDistributionPoint": false}'
	issue nodp2
	conf '.crl = {"idpURL": "http://crl.example.com/inca.crl", "enabled": false}'
	issue nodp3
	for n in nodp1 nodp2 nodp3; do
		run -0 openssl x509 -in "$D/$n.pem" -noout -text
		refute_output --partial "CRL Distribution Points"
	done
}

# badconf JQ MESSAGE: that ca.json is refused (exit 4) by every reader.
badconf() {
	conf "$1"
	run -4 --separate-stderr test_crl --dir "$CA" --pem
	assert_equal "$stderr" "test_crl: ca.json: $2"
	run -4 --separate-stderr ca-init --check --dir "$CA"
	assert_equal "$stderr" "ca-init: ca.json: $2"
}

@test "crl: fail ca.json crl: unknown member, wrong types" {
	badconf '.crl = {"enable": true}' "crl.enable: unknown member"
	badconf '.crl = {"enabled": "yes"}' "crl.enabled: true or false"
	badconf '.crl = {"cacheDuration": 3600}' 'crl.cacheDuration: a duration like "24h"'
	badconf '.crl = "on"' "crl: must be an object"
}

@test "crl: fail ca.json crl: durations zero, renewPeriod past cacheDuration (also past the 24h default)" {
	badconf '.crl = {"cacheDuration": "0s"}' "crl.cacheDuration: must be longer than 0s"
	badconf '.crl = {"renewPeriod": "0s"}' "crl.renewPeriod: must be longer than 0s"
	badconf '.crl = {"cacheDuration": "1h", "renewPeriod": "2h"}' \
		"crl.renewPeriod: longer than cacheDuration: the CRL would expire before it is renewed"
	badconf '.crl = {"renewPeriod": "25h"}' \
		"crl.renewPeriod: longer than cacheDuration: the CRL would expire before it is renewed"
}

@test "crl: fail ca.json crl: idpURL not an http(s) URL with a host; addDistributionPoint without idpURL or with the CRL off" {
	local why="crl.idpURL: must be an http:// or https:// URL with a host, printable ASCII without spaces"
	badconf '.crl = {"idpURL": "ftp://crl.example.com/x.crl"}' "$why"
	badconf '.crl = {"idpURL": "http:///x.crl"}' "$why"
	badconf '.crl = {"idpURL": "http://crl.example.com/a b.crl"}' "$why"
	badconf '.crl = {"idpURL": "http://crl.example.com/\u00e9.crl"}' "$why"
	badconf '.crl = {"addDistributionPoint": true}' \
		"crl.addDistributionPoint: needs idpURL, the URL to put in the certificates"
	badconf '.crl = {"enabled": false, "idpURL": "http://c.example/x", "addDistributionPoint": true}' \
		"crl.addDistributionPoint: the CRL is disabled (enabled: false): certificates would point to no CRL"
}

@test "crl: ok ca.json crl with every member is accepted (step-ca's names)" {
	conf '.crl = {"enabled": true, "generateOnRevoke": true, "cacheDuration": "24h0m0s", "renewPeriod": "16h0m0s", "idpURL": "https://ca.example.com/1.0/crl", "addDistributionPoint": true}'
	run -0 --separate-stderr ca-init --check --dir "$CA"
	run -0 --separate-stderr getcrl --force
	assert_equal "$stderr" ""
	assert_equal $(($(next_update) - $(this_update))) 86400
}

@test "crl: ok strict DER (ca-inspect finds nothing to re-encode), with reason codes and an IDP URL" {
	conf '.crl = {"idpURL": "http://crl.example.com/inca.crl"}'
	issue der1
	revoke --reason-code 3 "$(S der1)"
	getcrl
	openssl crl -in "$D/crl.pem" -outform DER -out "$D/crl.der"
	run -0 --separate-stderr ca-inspect "$D/crl.der"
	assert_equal "$(jq -c .notDer <<<"$output")" null
	assert_equal "$(jq -r --arg s "$(S der1)" '.revoked[] | select(.serial.decimal == $s) | .reasonCode' <<<"$output")" 3
	assert_equal "$(jq -c '[.extensions[] | [.name, .critical]]' <<<"$output")" \
		'[["cRLNumber",false],["authorityKeyIdentifier",false],["issuingDistributionPoint",true]]'
}

@test "crl: ok Ed25519 and RSA intermediates sign CRLs that openssl verifies" {
	for k in "OKP" "RSA --size 2048"; do
		h="$D/home-${k%% *}"
		# shellcheck disable=SC2086
		ca-init --dir "$h" --password-file "$D/pw" --key-iterations 2048 --kty $k >/dev/null
		s=$(openssl x509 -in "$h/certs/server.crt" -noout -serial | cut -d= -f2)
		ca-revoke --offline --dir "$h" --reason-code 1 "0x$s" >/dev/null
		test_crl --dir "$h" --pem >"$h/crl.pem"
		cat "$h/certs/intermediate_ca.crt" "$h/certs/root_ca.crt" >"$h/chain.pem"
		run -0 openssl crl -in "$h/crl.pem" -CAfile "$h/chain.pem" -noout
		assert_output "verify OK"
		run -2 openssl verify -crl_check -CRLfile "$h/crl.pem" -CAfile "$h/certs/root_ca.crt" \
			-untrusted "$h/certs/intermediate_ca.crt" "$h/certs/server.crt"
		assert_line --partial "certificate revoked"
	done
}
