#!/usr/bin/env bats
# Names that dodge the policy.  The CA denies *.evil.t, 127.0.0.0/8 and
# root@corp.t; every request below tries to get past one of those rules
# (or past the rule that the certificate's CN is one of its names) with a
# spelling that is not plainly the name it stands for.  Each refusal runs
# offline and through --api (helpers/authority.bash: refused) and leaves
# no certificate and no spent token behind.

load common
load helpers/authority

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_ca
	jq '.authority.policy.x509 = {"deny": {"dns": ["*.evil.t"], "ip": ["127.0.0.0/8"], "email": ["root@corp.t"]}}' \
		"$D/ca.json.orig" | put_file "$CA/config/ca.json"
	csr a "" dns:a.t
	csr acn a.t dns:a.t
	csr evil x.evil.t dns:x.evil.t
	csr lo 127.0.0.1 ip:127.0.0.1
	csr wild '*.a.t' 'dns:*.a.t'
	csr cnsp "x.evil.t " dns:a.t
	csr cnesc $'x.evil.t\e[0m' dns:a.t
	csr cnip 127.1 dns:a.t
	csr cnstar '*' dns:a.t
	csr root "" email:ROOT@corp.t
	csr mailto a.t dns:a.t uri:mailto:root@t.example
	csr puny xn--caf-dma.t dns:xn--caf-dma.t
	csr badpuny "" dns:xn--zz.corp.t
	csr badpunyuri a.t dns:a.t uri:https://xn--zz.corp.t/
	csr bar "" dns:bar.example.com
}

AUD="https://ca.example.com:9443/1.0/sign"

# no_name SUB MESSAGE: a token for a.t whose subject SUB is refused.
no_name() {
	refused 1 403 "token rejected: subject is not a name: $2" \
		"$(mint --set sub="$1" --set sans='["a.t"]')" "$D/a.csr"
}

# ---- the CN: one of the SANs or refused -----------------------------------

@test "attacks_names: fail a subject (CN) with spaces, tabs, control characters or ESC" {
	for sub in '"x.evil.t "' '" x.evil.t"' '"x.evil.t\t"' '"x.evil.t\u000b"' \
		'"x.evil.t\u007f"' '"x.evil.t\r"'; do
		shown=$(jq -j . <<<"$sub" | tr '\000-\037\177' '?')
		no_name "$sub" "$shown: control, space or non-ASCII character in name"
	done
	# ESC is shown as '?', never written to the terminal.
	no_name '"x.evil.t\u001b[0m"' "x.evil.t?[0m: control, space or non-ASCII character in name"
	# Also when the same spelling is in the sans.
	refused 1 403 "token rejected: x.evil.t : control, space or non-ASCII character in name" \
		"$(mint --set sub='"x.evil.t "' --set sans='["x.evil.t "]')" "$D/evil.csr"
}

@test "attacks_names: fail a subject (CN) that is an IPv4 short form: 127.1, 0x7f.1, 017700000001" {
	for sub in 127.1 0x7f.1 017700000001 127.0.1 0177.0.0.1; do
		no_name "\"$sub\"" "$sub: ambiguous name (looks like an IP address)"
	done
}

@test "attacks_names: fail IPv4 short forms in the sans, plain or as ip:" {
	for ip in 127.1 0x7f.1 017700000001; do
		refused 1 403 "token rejected: $ip: ambiguous name (looks like an IP address)" \
			"$(mint --sub a.t --set sans="[\"a.t\",\"$ip\"]")" "$D/a.csr"
		refused 1 403 "token rejected: $ip: not an IP address" \
			"$(mint --sub a.t --set sans="[\"a.t\",\"ip:$ip\"]")" "$D/a.csr"
	done
	# The address itself is denied.
	refused 1 403 "policy: ip name 127.0.0.1 is denied" \
		"$(mint --sub 127.0.0.1 --set sans='["127.0.0.1"]')" "$D/lo.csr"
	refused 1 403 "policy: ip name 127.0.0.1 is denied" \
		"$(mint --sub 127.0.0.1 --set sans='["::ffff:127.0.0.1"]')" "$D/lo.csr"
}

@test "attacks_names: fail a subject that is none of the sans (sub alice, sans [a.t])" {
	refused 1 403 "token rejected: subject alice is not one of its sans" \
		"$(mint --sub alice --set sans='["a.t"]')" "$D/a.csr"
	refused 1 403 "token rejected: subject x.evil.t is not one of its sans" \
		"$(mint --sub x.evil.t --set sans='["a.t"]')" "$D/a.csr"
	refused 1 403 "token rejected: subject 127.0.0.1 is not one of its sans" \
		"$(mint --sub 127.0.0.1 --set sans='["a.t"]')" "$D/a.csr"
	# A type prefix is for sans; a subject is a bare name ("dns:a.t" is a URI).
	refused 1 403 "token rejected: subject dns:a.t is not one of its sans" \
		"$(mint --set sub='"dns:a.t"' --set sans='["a.t"]')" "$D/a.csr"
}

@test "attacks_names: fail uppercase or trailing-dot spellings of a denied name" {
	for n in X.EVIL.T x.evil.t. X.Evil.T. dns:X.EVIL.T.; do
		refused 1 403 "policy: dns name x.evil.t is denied" \
			"$(mint --sub x.evil.t --set sans="[\"$n\"]")" "$D/evil.csr"
	done
	refused 1 403 "policy: dns name x.evil.t is denied" \
		"$(mint --sub X.EVIL.T. --set sans='["x.evil.t"]')" "$D/evil.csr"
}

@test "attacks_names: ok a subject spelled differently from its SAN is that SAN" {
	mapfile -t t < <(mint -n 2 --sub A.T. --set sans='["a.t"]')
	issued "${t[0]}" "${t[1]}" "$D/a.csr"
	run -0 openssl x509 -in "$D/api.pem" -noout -ext subjectAltName
	assert_line --index 1 "    DNS:a.t"
	# The CN is that SAN as the certificate carries it, not the token's spelling.
	run -0 openssl x509 -in "$D/api.pem" -noout -subject -nameopt RFC2253
	assert_output "subject=CN=a.t"
}

@test "attacks_names: fail a wildcard subject without allowWildcardNames" {
	refused 1 403 "policy: wildcard name *.a.t is not allowed" \
		"$(mint --sub '*.a.t' --set sans='["*.a.t"]')" "$D/wild.csr"
	refused 1 403 "token rejected: subject *.a.t is not one of its sans" \
		"$(mint --sub '*.a.t' --set sans='["a.t"]')" "$D/a.csr"
	no_name '"*"' "*: '*' only as the whole first label"
	no_name '"*.t"' "*.t: wildcard needs at least two labels"
}

# ---- the request's own CN ---------------------------------------------------

@test "attacks_names: fail a request CN that is not one of the names (space, ESC, 127.1, *)" {
	refused 1 403 "certificate request common name x.evil.t  is not one of the token's sans" \
		"$(mint --sub a.t --set sans='["a.t"]')" "$D/cnsp.csr"
	refused 1 403 "certificate request common name x.evil.t?[0m is not one of the token's sans" \
		"$(mint --sub a.t --set sans='["a.t"]')" "$D/cnesc.csr"
	refused 1 403 "certificate request common name 127.1 is not one of the token's sans" \
		"$(mint --sub a.t --set sans='["a.t"]')" "$D/cnip.csr"
	refused 1 403 "certificate request common name * is not one of the token's sans" \
		"$(mint --sub a.t --set sans='["a.t"]')" "$D/cnstar.csr"
}

@test "attacks_names: fail request names that differ are named in the refusal" {
	refused 1 403 "certificate request names differ from the token's sans: not in the token: dns:bar.example.com; not in the request: dns:a.t" \
		"$(mint --sub a.t --set sans='["a.t"]')" "$D/bar.csr"
}

# ---- email ----------------------------------------------------------------

@test "attacks_names: fail a deny rule root@corp.t dodged by case: ROOT@corp.t, Root@Corp.T" {
	refused 1 403 "policy: email name ROOT@corp.t is denied" \
		"$(mint --sub ROOT@corp.t --set sans='["ROOT@corp.t"]')" "$D/root.csr"
	refused 1 403 "policy: email name ROOT@corp.t is denied" \
		"$(mint --sub ROOT@Corp.T --set sans='["ROOT@Corp.T."]')" "$D/root.csr"
}

@test "attacks_names: fail quoted local parts and comments in email names" {
	refused 1 403 "token rejected: \"root\"@corp.t: quoted email local part" \
		"$(mint --sub a.t --set sans='["a.t","\"root\"@corp.t"]')" "$D/a.csr"
	refused 1 403 "token rejected: \"ro ot\"@corp.t: control, space or non-ASCII character in name" \
		"$(mint --sub a.t --set sans='["a.t","\"ro ot\"@corp.t"]')" "$D/a.csr"
	refused 1 403 "token rejected: root(admin)@corp.t: bad character in email local part" \
		"$(mint --sub a.t --set sans='["a.t","root(admin)@corp.t"]')" "$D/a.csr"
	refused 1 403 "token rejected: root@(x)corp.t: malformed email domain" \
		"$(mint --sub a.t --set sans='["a.t","root@(x)corp.t"]')" "$D/a.csr"
	refused 1 403 "token rejected: .root@corp.t: misplaced '.' in email local part" \
		"$(mint --sub a.t --set sans='["a.t",".root@corp.t"]')" "$D/a.csr"
	refused 1 403 "token rejected: \"root\"@corp.t: quoted email local part" \
		"$(mint --sub a.t --set sans='["a.t","email:\"root\"@corp.t"]')" "$D/a.csr"
}

# ---- one type or a prefix ---------------------------------------------------

@test "attacks_names: fail names that read as two types: mailto:, userinfo, fragments" {
	refused 1 403 "token rejected: mailto:root@t.example: ambiguous name (a URI or an email address: write uri: or email:)" \
		"$(mint --sub a.t --set sans='["a.t","mailto:root@t.example"]')" "$D/mailto.csr"
	refused 1 403 "token rejected: https://bad.t#@a.t: ambiguous name (a URI or an email address: write uri: or email:)" \
		"$(mint --sub a.t --set sans='["a.t","https://bad.t#@a.t"]')" "$D/a.csr"
	refused 1 403 "token rejected: https://bad.t#@a.t: URI with a fragment" \
		"$(mint --sub a.t --set sans='["a.t","uri:https://bad.t#@a.t"]')" "$D/a.csr"
	refused 1 403 "token rejected: https://a.t/#x: URI with a fragment" \
		"$(mint --sub a.t --set sans='["a.t","uri:https://a.t/#x"]')" "$D/a.csr"
	refused 1 403 "token rejected: https://u@x.evil.t/: ambiguous name (a URI or an email address: write uri: or email:)" \
		"$(mint --sub a.t --set sans='["a.t","https://u@x.evil.t/"]')" "$D/a.csr"
	refused 1 403 "token rejected: https://u@x.evil.t/: URI with userinfo" \
		"$(mint --sub a.t --set sans='["a.t","uri:https://u@x.evil.t/"]')" "$D/a.csr"
	refused 1 403 "token rejected: https://bad.t#@a.t: bad character in email local part" \
		"$(mint --sub a.t --set sans='["a.t","email:https://bad.t#@a.t"]')" "$D/a.csr"
}

@test "attacks_names: ok an explicit uri: prefix for a URI with an '@'" {
	mapfile -t t < <(mint -n 2 --sub a.t --set sans='["a.t","uri:mailto:root@t.example"]')
	issued "${t[0]}" "${t[1]}" "$D/mailto.csr"
	run -0 openssl x509 -in "$D/api.pem" -noout -ext subjectAltName
	assert_line --index 1 "    DNS:a.t, URI:mailto:root@t.example"
	run -0 db "select sans from certs where serial = '$(serial_of "$D/api.pem")'"
	assert_output '["dns:a.t","uri:mailto:root@t.example"]'
}

@test "attacks_names: fail IPv6 zone identifiers (fe80::1%eth0), plain, as ip: or as uri:" {
	refused 1 403 "token rejected: fe80::1%eth0: IPv6 address with a zone identifier" \
		"$(mint --sub a.t --set sans='["a.t","fe80::1%eth0"]')" "$D/a.csr"
	refused 1 403 "token rejected: fe80::1%eth0: IPv6 address with a zone identifier" \
		"$(mint --sub a.t --set sans='["a.t","ip:fe80::1%eth0"]')" "$D/a.csr"
	refused 1 403 "token rejected: fe80::1%25eth0: IPv6 address with a zone identifier" \
		"$(mint --sub a.t --set sans='["a.t","fe80::1%25eth0"]')" "$D/a.csr"
	refused 1 403 "token rejected: fe80::1%eth0: bad percent-encoding in URI" \
		"$(mint --sub a.t --set sans='["a.t","uri:fe80::1%eth0"]')" "$D/a.csr"
	refused 1 403 "token rejected: fe80::zz: ambiguous name (an IP address or a URI: write ip: or uri:)" \
		"$(mint --sub a.t --set sans='["a.t","fe80::zz"]')" "$D/a.csr"
	refused 1 403 "token rejected: https://[fe80::1%25eth0]/: bad IP literal in URI" \
		"$(mint --sub a.t --set sans='["a.t","https://[fe80::1%25eth0]/"]')" "$D/a.csr"
	no_name '"fe80::1%eth0"' "fe80::1%eth0: IPv6 address with a zone identifier"
}

# ---- punycode ---------------------------------------------------------------

@test "attacks_names: fail invalid A-labels: xn--zz, xn--, xn--a-, XN--ZZ, disallowed code points" {
	for n in xn--zz.corp.t XN--ZZ.corp.t xn--a.corp.t xn--ls8h.corp.t xn--abc-.corp.t xn--a-.corp.t \
		a.xn--zz xn--zz--.corp.t; do
		lower=$(tr A-Z a-z <<<"$n")
		case $n in
		*--.corp.t|*-.corp.t) msg="$lower: label starts or ends with '-'" ;;
		*) msg="$lower: invalid A-label (punycode)" ;;
		esac
		refused 1 403 "token rejected: $msg" \
			"$(mint --sub a.t --set sans="[\"a.t\",\"$n\"]")" "$D/a.csr"
	done
	refused 1 403 "token rejected: xn--.corp.t: label starts or ends with '-'" \
		"$(mint --sub a.t --set sans='["a.t","xn--.corp.t"]')" "$D/a.csr"
	# In a URI host, an email domain and the request itself.
	refused 1 403 "token rejected: https://xn--zz.corp.t/: bad URI host" \
		"$(mint --sub a.t --set sans='["a.t","https://xn--zz.corp.t/"]')" "$D/badpunyuri.csr"
	refused 1 403 "token rejected: ops@xn--zz.corp.t: malformed email domain" \
		"$(mint --sub a.t --set sans='["a.t","ops@xn--zz.corp.t"]')" "$D/a.csr"
	refused 3 400 "certificate request: xn--zz.corp.t: invalid A-label (punycode)" \
		"$(mint --sub a.t --set sans='["a.t"]')" "$D/badpuny.csr"
}

@test "attacks_names: ok valid A-labels, in any case" {
	mapfile -t t < <(mint -n 2 --sub XN--CAF-DMA.t --set sans='["Xn--Caf-Dma.T."]')
	issued "${t[0]}" "${t[1]}" "$D/puny.csr"
	run -0 openssl x509 -in "$D/api.pem" -noout -ext subjectAltName
	assert_line --index 1 "    DNS:xn--caf-dma.t"
}

# ---- the audience -----------------------------------------------------------

@test "attacks_names: fail an aud array with a member that is not a string" {
	for aud in "[1,\"$AUD\"]" "[\"$AUD\",null]" "[\"$AUD\",{}]" "[[\"$AUD\"]]" "[]" "{\"a\":\"$AUD\"}"; do
		refused 1 401 "token rejected: audience mismatch (not a sign token for this CA)" \
			"$(mint --sub a.t --set sans='["a.t"]' --set aud="$aud")" "$D/a.csr"
	done
	mapfile -t t < <(mint -n 2 --sub a.t --set sans='["a.t"]' --set aud="[\"https://other.t/1.0/sign\",\"$AUD\"]")
	issued "${t[0]}" "${t[1]}" "$D/a.csr"
}

# ---- ca-token ---------------------------------------------------------------

@test "attacks_names: fail ca-token --san names that read as two types (exit 2); ok with a prefix" {
	for n in mailto:root@t.example 'https://bad.t#@a.t' 'fe80::1%eth0' xn--zz.t '"root"@corp.t'; do
		run -2 --separate-stderr ca-token --offline --dir "$CA" --san a.t --san "$n" a.t
		assert_output ""
		assert_regex "$stderr" "^ca-token: --san: "
	done
	run -0 --separate-stderr ca-token --offline --dir "$CA" --san a.t --san uri:mailto:root@t.example a.t
	assert_equal "$(claims "$output" | jq -c .sans)" '["a.t","uri:mailto:root@t.example"]'
}

# ---- the stateless signer: no token, no policy, the same CN rule ---------

@test "attacks_names: fail stateless, a request CN that is not one of its names (exit 1)" {
	make_openssl_ca "$D/sl"
	csr slalice alice dns:a.t
	run -1 --separate-stderr ca-sign --ca-cert "$D/sl/int.crt" --ca-key "$D/sl/int.key" <"$D/slalice.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: certificate request common name alice is not one of its names (--san replaces them)"
	csr slother b.t dns:a.t
	run -1 --separate-stderr ca-sign --ca-cert "$D/sl/int.crt" --ca-key "$D/sl/int.key" <"$D/slother.csr"
	assert_equal "$stderr" "ca-sign: certificate request common name b.t is not one of its names (--san replaces them)"
}

@test "attacks_names: fail stateless, a request CN that is not a name: space, ESC, 127.1 (exit 3)" {
	make_openssl_ca "$D/sl2"
	for n in cnsp cnesc cnip; do
		run -3 --separate-stderr ca-sign --ca-cert "$D/sl2/int.crt" --ca-key "$D/sl2/int.key" <"$D/$n.csr"
		assert_output ""
		assert_regex "$stderr" '^ca-sign: certificate request common name: '
	done
	# A CN-only request whose CN is no name has no names at all.
	csr slcnonly 127.1
	run -3 --separate-stderr ca-sign --ca-cert "$D/sl2/int.crt" --ca-key "$D/sl2/int.key" <"$D/slcnonly.csr"
	assert_equal "$stderr" "ca-sign: certificate request common name: 127.1: ambiguous name (looks like an IP address)"
}

@test "attacks_names: ok stateless, the CN is the SAN it names, as the SAN is written" {
	make_openssl_ca "$D/sl3"
	csr slup A.T. dns:a.t
	run -0 --separate-stderr ca-sign --ca-cert "$D/sl3/int.crt" --ca-key "$D/sl3/int.key" <"$D/slup.csr"
	printf '%s\n' "$output" >"$D/slup.pem"
	run -0 openssl x509 -in "$D/slup.pem" -noout -subject -nameopt RFC2253
	assert_output "subject=CN=a.t"
	# --san replaces the names; a CN that is none of them becomes the first.
	run -0 --separate-stderr ca-sign --ca-cert "$D/sl3/int.crt" --ca-key "$D/sl3/int.key" \
		--san b.t --san c.t <"$D/slup.csr"
	printf '%s\n' "$output" >"$D/slsan.pem"
	run -0 openssl x509 -in "$D/slsan.pem" -noout -subject -nameopt RFC2253
	assert_output "subject=CN=b.t"
}
