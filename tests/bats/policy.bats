#!/usr/bin/env bats
# The name policy and the claims of config/ca.json, edited with jq, seen
# through ca-sign offline and --api alike (helpers/authority.bash).

load common
load helpers/authority

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_ca
	# A second provisioner, "ci", for per-provisioner claims.
	"$PY" "$TOKPY" provisioner ci "$D/pw" >"$D/ci.prov"
	jq --slurpfile p "$D/ci.prov" '.authority.provisioners += $p' \
		"$D/ca.json.orig" >"$D/ca.json.base"
	put_file "$CA/config/ca.json" <"$D/ca.json.base"
	"$PY" "$TOKPY" key "$CA/config/ca.json" "$D/pw" ci >"$D/ci.jwk"
	csr foo foo.example.com dns:foo.example.com
}

teardown() {
	put_file "$CA/config/ca.json" <"$D/ca.json.base"
}

# conf JQ: ca.json is the base configuration with the jq filter applied.
conf() { jq "$1" "$D/ca.json.base" | put_file "$CA/config/ca.json"; }
# policy JSON: authority.policy.x509 is JSON.
policy() { conf ".authority.policy.x509 = $1"; }

# sans_of type:value...: the token's sans, a JSON array of the values.
sans_of() {
	local s out=""
	for s in "$@"; do out="$out,$(json_str "${s#*:}")"; done
	printf '[%s]' "${out#,}"
}

# A request's CN: SUB, unless openssl -subj cannot spell it (a URI).
cn_for() { [[ $1 == */* ]] || printf '%s' "$1"; }

# allowed SUB type:value...: a request for these names is issued both ways.
allowed() {
	local sub=$1
	shift
	csr pol "$(cn_for "$sub")" "$@"
	mapfile -t t < <(mint -n 2 --sub "$sub" --set sans="$(sans_of "$@")")
	issued "${t[0]}" "${t[1]}" "$D/pol.csr"
}

# denied MESSAGE SUB type:value...: refused both ways (exit 1, 403).
denied() {
	local msg=$1 sub=$2
	shift 2
	csr pol "$(cn_for "$sub")" "$@"
	refused 1 403 "$msg" "$(mint --sub "$sub" --set sans="$(sans_of "$@")")" "$D/pol.csr"
}

# broken MESSAGE: with the current ca.json, signing fails both ways (exit 4,
# 500) and ca-list, the documented configuration check, fails too.
broken() {
	refused 4 500 "$1" "$(mint)" "$D/foo.csr"
	run -4 --separate-stderr ca-list --dir "$CA"
	assert_equal "$stderr" "ca-list: $1"
}

# lifetime PEM: notAfter - notBefore in seconds.
lifetime() {
	local nb na
	nb=$(date -d "$(openssl x509 -in "$1" -noout -startdate | cut -d= -f2)" +%s)
	na=$(date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s)
	echo $((na - nb))
}

# ---- policy ---------------------------------------------------------------

@test "policy: ok the empty policy of ca-init allows every kind of name" {
	assert_equal "$(jq -c .authority.policy "$CA/config/ca.json")" "{}"
	allowed foo.example.com dns:foo.example.com ip:10.0.0.5 ip:2001:db8::5 \
		email:ops@example.org uri:spiffe://example.net/svc
}

@test "policy: fail wildcard names unless allowWildcardNames" {
	denied "policy: wildcard name *.example.com is not allowed" '*.example.com' 'dns:*.example.com'
	# A wildcard subject that is not one of the sans is no CN at all.
	refused 1 403 "token rejected: subject *.example.com is not one of its sans" \
		"$(mint --sub '*.example.com' --set sans='["foo.example.com"]')" "$D/foo.csr"
	policy '{"allowWildcardNames": true}'
	allowed '*.example.com' 'dns:*.example.com'
}

@test "policy: fail a wildcard that covers a denied name, even with allowWildcardNames" {
	policy '{"allowWildcardNames": true, "deny": {"dns": ["admin.example.com"]}}'
	denied "policy: dns name *.example.com is denied" '*.example.com' 'dns:*.example.com'
	allowed '*.other.example' 'dns:*.other.example'
	denied "policy: dns name admin.example.com is denied" admin.example.com dns:admin.example.com
}

@test "policy: ok dns \"*.example.com\" allows one more label only" {
	policy '{"allow": {"dns": ["*.example.com"]}}'
	allowed www.example.com dns:www.example.com
	allowed WWW.Example.COM dns:www.example.com
	denied "policy: dns name example.com is not allowed" example.com dns:example.com
	denied "policy: dns name a.b.example.com is not allowed" a.b.example.com dns:a.b.example.com
	denied "policy: dns name wwwexample.com is not allowed" wwwexample.com dns:wwwexample.com
	denied "policy: dns name www.example.com.evil.org is not allowed" www.example.com.evil.org dns:www.example.com.evil.org
}

@test "policy: fail a type without allow rules when others have some" {
	policy '{"allow": {"dns": ["*.example.com"]}}'
	denied "policy: ip name 10.0.0.5 is not allowed" www.example.com dns:www.example.com ip:10.0.0.5
	denied "policy: email name ops@example.com is not allowed" www.example.com dns:www.example.com email:ops@example.com
}

@test "policy: fail a subject that is not one of the sans, whatever the policy" {
	policy '{"allow": {"dns": ["*.example.com"]}}'
	csr pol "" dns:www.example.com
	refused 1 403 "token rejected: subject evil.org is not one of its sans" \
		"$(mint --sub evil.org --set sans='["www.example.com"]')" "$D/pol.csr"
	policy '{}'
	refused 1 403 "token rejected: subject evil.org is not one of its sans" \
		"$(mint --sub evil.org --set sans='["www.example.com"]')" "$D/pol.csr"
}

@test "policy: fail deny wins over allow" {
	policy '{"allow": {"dns": ["*.example.com"]}, "deny": {"dns": ["admin.example.com"]}}'
	denied "policy: dns name admin.example.com is denied" admin.example.com dns:admin.example.com
	denied "policy: dns name admin.example.com is denied" Admin.Example.Com. dns:admin.example.com.
	allowed web.example.com dns:web.example.com
}

@test "policy: ok ip addresses and CIDR ranges, IPv4 and IPv6" {
	policy '{"allow": {"dns": ["*.example.com"], "ip": ["10.0.0.0/8", "192.168.1.128/25", "2001:db8::/32"]}}'
	allowed web.example.com dns:web.example.com ip:10.1.2.3 ip:192.168.1.200 ip:2001:db8:1::1
	denied "policy: ip name 11.0.0.1 is not allowed" web.example.com dns:web.example.com ip:11.0.0.1
	denied "policy: ip name 192.168.1.100 is not allowed" web.example.com dns:web.example.com ip:192.168.1.100
	denied "policy: ip name 2001:db9::1 is not allowed" web.example.com dns:web.example.com ip:2001:db9::1
	# An IPv4-mapped IPv6 address is the IPv4 address.
	csr pol web.example.com dns:web.example.com ip:10.9.9.9
	mapfile -t t < <(mint -n 2 --sub web.example.com --set sans='["web.example.com","::ffff:10.9.9.9"]')
	issued "${t[0]}" "${t[1]}" "$D/pol.csr"
}

@test "policy: fail deny ip range" {
	policy '{"deny": {"ip": ["10.0.0.0/8"]}}'
	denied "policy: ip name 10.200.0.1 is denied" web.example.com dns:web.example.com ip:10.200.0.1
	allowed web.example.com dns:web.example.com ip:11.0.0.1
}

@test "policy: ok email \"@domain\" and exact addresses" {
	policy '{"allow": {"email": ["@example.com", "root@example.org"]}}'
	csr pol "" email:ops@example.com email:root@example.org
	mapfile -t t < <(mint -n 2 --sub ops@example.com --set sans='["ops@example.com","root@example.org"]')
	issued "${t[0]}" "${t[1]}" "$D/pol.csr"
	denied "policy: email name ops@sub.example.com is not allowed" ops@sub.example.com email:ops@sub.example.com
	denied "policy: email name www@example.org is not allowed" www@example.org email:www@example.org
}

@test "policy: ok uri rules match the URI's host" {
	policy '{"allow": {"uri": ["example.com", "*.svc.example.com"]}}'
	csr pol "" uri:spiffe://example.com/ns/a uri:https://api.svc.example.com:8443/x
	mapfile -t t < <(mint -n 2 --sub spiffe://example.com/ns/a \
		--set sans='["spiffe://example.com/ns/a","https://api.svc.example.com:8443/x"]')
	issued "${t[0]}" "${t[1]}" "$D/pol.csr"
	denied "policy: uri name https://evil.com/ is not allowed" https://evil.com/ uri:https://evil.com/
	denied "policy: uri name https://a.b.svc.example.com/ is not allowed" https://a.b.svc.example.com/ uri:https://a.b.svc.example.com/
}

@test "policy: fail deny uri host" {
	policy '{"deny": {"uri": ["evil.com"]}}'
	denied "policy: uri name https://evil.com/x is denied" https://evil.com/x uri:https://evil.com/x
	denied "policy: uri name https://evil.com:443/ is denied" https://EVIL.com:443/ uri:https://EVIL.com:443/
	allowed https://good.com/ uri:https://good.com/
}

@test "policy: fail deny uri host spelt with a trailing dot" {
	policy '{"deny": {"uri": ["evil.com"]}}'
	# The same host as evil.com (the DNS root label).
	denied "policy: uri name https://evil.com/ is denied" https://evil.com./ uri:https://evil.com./
}

@test "policy: ok cn rules apply to the subject as the name it is" {
	policy '{"allow": {"dns": ["*.example.com"]}, "deny": {"cn": ["root.example.com"]}}'
	allowed ci.example.com dns:ci.example.com
	denied "policy: cn name root.example.com is denied" root.example.com dns:root.example.com
	denied "policy: cn name Root.Example.COM. is denied" Root.Example.COM. dns:root.example.com
	# A subject that is not a name is refused before any rule.
	denied "token rejected: subject is not a name: Build Agent: control, space or non-ASCII character in name" \
		"Build Agent" dns:ci.example.com
}

@test "policy: ok edits to ca.json apply to the next certificate" {
	policy '{"deny": {"dns": ["foo.example.com"]}}'
	refused 1 403 "policy: dns name foo.example.com is denied" "$(mint)" "$D/foo.csr"
	policy '{}'
	mapfile -t t < <(mint -n 2)
	issued "${t[0]}" "${t[1]}" "$D/foo.csr"
}

@test "policy: fail malformed policies (exit 4) with a clear message" {
	policy '{"allow": {"ip": ["10.0.0.0/33"]}}'
	broken "policy: bad IP rule 10.0.0.0/33"
	policy '{"allow": {"ip": ["010.0.0.0/8"]}}'
	broken "policy: bad IP rule 010.0.0.0/8"
	policy '{"allow": {"dns": ["exa mple.com"]}}'
	broken "policy: bad dns rule exa mple.com"
	policy '{"allow": {"dns": ["a.*.example.com"]}}'
	broken "policy: bad dns rule a.*.example.com"
	policy '{"deny": {"email": ["a@@b"]}}'
	broken "policy: bad email rule a@@b"
	policy '{"allow": {"dns": "example.com"}}'
	broken "policy: allow.dns: unknown type or not a list"
	policy '{"allow": {"fqdn": []}}'
	broken "policy: allow.fqdn: unknown type or not a list"
	policy '{"deny": {"ip": [10]}}'
	broken "policy: deny.ip rules must be strings"
	policy '{"alow": {}}'
	broken "policy: unknown member alow"
	policy '{"deny": []}'
	broken "policy: deny must be an object"
	policy '{"allowWildcardNames": "yes"}'
	broken "policy: allowWildcardNames must be true or false"
	policy '[]'
	broken "policy: x509 must be an object"
}

@test "policy: fail malformed email and uri rules are named by their type" {
	policy '{"allow": {"email": ["@"]}}'
	broken "policy: bad email rule @"
	policy '{"deny": {"uri": ["https://evil.com"]}}'
	broken "policy: bad uri rule https://evil.com"
}

@test "policy: fail unknown members of policy are refused, not ignored" {
	# A misspelt "x509" must not silently drop the operator's deny rules.
	conf '.authority.policy = {"X509": {"deny": {"dns": ["foo.example.com"]}}}'
	run -4 --separate-stderr ca-list --dir "$CA"
	assert_equal "$stderr" "ca-list: ca.json: authority.policy.X509: unknown member"
	run -4 --separate-stderr cli_sign "$(mint)" "$D/foo.csr"
	conf '.authority.policy = "strict"'
	run -4 --separate-stderr ca-list --dir "$CA"
}

# ---- claims -----------------------------------------------------------------

@test "claims: ok global claims: default, maximum and minimum" {
	conf '.authority.claims += {"minTLSCertDuration": "30m", "defaultTLSCertDuration": "1h", "maxTLSCertDuration": "2h"}'
	mapfile -t t < <(mint -n 4)
	issued "${t[0]}" "${t[1]}" "$D/foo.csr"
	assert_equal "$(lifetime "$D/cli.pem")" $((3600 + 60))
	assert_equal "$(lifetime "$D/api.pem")" $((3600 + 60))
	issued "${t[2]}" "${t[3]}" "$D/foo.csr" "" 2h
	assert_equal "$(lifetime "$D/api.pem")" $((7200 + 60))
	refused 1 403 "requested duration exceeds the maximum 2h" "$(mint)" "$D/foo.csr" "" 3h
	refused 1 403 "requested duration is below the minimum 30m" "$(mint)" "$D/foo.csr" 1h 1h20m
}

@test "claims: ok per-provisioner claims override the global ones" {
	conf '(.authority.provisioners[] | select(.name == "ci") | .claims) = {"maxTLSCertDuration": "48h", "defaultTLSCertDuration": "48h"}'
	ci() { "$PY" "$TOKPY" mint "$D/ci.jwk" "$CA/config/ca.json" "$@"; }
	mapfile -t t < <(ci -n 4)
	assert_equal "$(claims "${t[0]}" | jq -r .iss)" ci
	issued "${t[0]}" "${t[1]}" "$D/foo.csr"
	assert_equal "$(lifetime "$D/api.pem")" $((48 * 3600 + 60))
	issued "${t[2]}" "${t[3]}" "$D/foo.csr" "" 47h
	run -0 db "select provisioner from certs where serial = '$(serial_of "$D/api.pem")'"
	assert_output ci
	# admin keeps the global 24h.
	refused 1 403 "requested duration exceeds the maximum 24h" "$(mint)" "$D/foo.csr" "" 47h
	# And the other way: ci limited to 1h.
	conf '(.authority.provisioners[] | select(.name == "ci") | .claims) = {"maxTLSCertDuration": "1h", "defaultTLSCertDuration": "1h"}'
	refused 1 403 "requested duration exceeds the maximum 1h" "$(ci)" "$D/foo.csr" "" 2h
	mapfile -t t < <(mint -n 2)
	issued "${t[0]}" "${t[1]}" "$D/foo.csr" "" 2h
}

@test "claims: fail a broken per-provisioner claims object fails the configuration check" {
	conf '(.authority.provisioners[] | select(.name == "ci") | .claims) = {"maxTLSCertDuration": "soon"}'
	run -4 --separate-stderr ca-list --dir "$CA"
	assert_equal "$stderr" "ca-list: ca.json: authority.provisioners[1].claims.maxTLSCertDuration: a duration like \"24h\""
}

@test "claims: ok maxTokenLifetime" {
	conf '.authority.maxTokenLifetime = "10m"'
	refused 1 401 "token rejected: lifetime 660s exceeds the maximum 600s" \
		"$(mint --set exp=now+660)" "$D/foo.csr"
	mapfile -t t < <(mint -n 2 --set exp=now+600)
	issued "${t[0]}" "${t[1]}" "$D/foo.csr"
	conf '.authority.maxTokenLifetime = "2h"'
	mapfile -t t < <(mint -n 2 --set exp=now+7200)
	issued "${t[0]}" "${t[1]}" "$D/foo.csr"
}

@test "claims: ok backdate" {
	conf '.authority.backdate = "5m"'
	mapfile -t t < <(mint -n 4)
	t0=$(date +%s)
	issued "${t[0]}" "${t[1]}" "$D/foo.csr"
	t1=$(date +%s)
	assert_equal "$(lifetime "$D/api.pem")" $((86400 + 300))
	nb=$(date -d "$(openssl x509 -in "$D/api.pem" -noout -startdate | cut -d= -f2)" +%s)
	assert [ "$nb" -ge $((t0 - 300)) ]
	assert [ "$nb" -le $((t1 - 300)) ]
	# notBefore may go back as far as the backdate, no further.
	issued "${t[2]}" "${t[3]}" "$D/foo.csr" -4m 1h
	refused 1 403 "notBefore is in the past" "$(mint)" "$D/foo.csr" -6m
}

@test "claims: fail malformed claims and durations (exit 4)" {
	conf '.authority.claims.maxTLSCertDuration = "24x"'
	broken 'ca.json: authority.claims.maxTLSCertDuration: a duration like "24h"'
	conf '.authority.claims.minTLSCertDuration = "2d"'
	broken "ca.json: claims need 0 < minTLSCertDuration <= defaultTLSCertDuration <= maxTLSCertDuration"
	conf '.authority.claims.disableRenewal = "no"'
	broken "ca.json: authority.claims.disableRenewal: true or false"
	conf '.authority.maxTokenLifetime = 5'
	broken 'ca.json: authority.maxTokenLifetime: a duration like "24h"'
	conf '.authority.backdate = "-1m"'
	broken 'ca.json: authority.backdate: a duration like "24h"'
	conf '.authority.claims = []'
	broken "ca.json: authority.claims: must be an object"
}
