#!/usr/bin/env bats
# ca-renew --offline and the --api handler (mTLS peer chain, renewal
# token): every rule of authority_renew on each path, the new
# certificate's fields and row, replay, and renewals racing a revocation.

load common
load helpers/authority

RENEWTOK="$BATS_TEST_DIRNAME/helpers/renewtok.py"
AUD=https://ca.example.com:9443/1.0/renew

# forge NAME SERIAL: a certificate for NAME.example.com signed by the
# CA's own intermediate key with openssl, as the CA's leaves are, but not
# by the CA: $D/NAME.pem (leaf and intermediate), $D/NAME.key.
forge() {
	local n=$1 serial=$2
	csr "$n" "$n.example.com" "dns:$n.example.com"
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth,clientAuth" \
		"subjectAltName=DNS:$n.example.com" >"$D/$n.ext"
	openssl x509 -req -in "$D/$n.csr" -CA "$CA/certs/intermediate_ca.crt" \
		-CAkey "$CA/secrets/intermediate_ca_key" -passin "file:$D/pw" \
		-set_serial "$serial" -days 1 -extfile "$D/$n.ext" -out "$D/$n.leaf" 2>/dev/null
	cat "$D/$n.leaf" "$CA/certs/intermediate_ca.crt" >"$D/$n.pem"
}

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	# The CA three days old, so that it was there when the expired
	# certificates below were issued.
	ca-init() { faketime -f -3d "$TOP/bin/ca-init" "$@"; }
	CA_SERVE=0 make_ca
	unset -f ca-init
	issue ok
	issue peer
	issue tok
	issue rev
	issue nb --not-before 1h
	issue pol
	issue dis
	issue prov
	issue long --not-after 24h
	# Expired: 1h long, ended about 1h ago (recent) and 47h ago (old).
	csr recent recent.example.com dns:recent.example.com
	faketime -f -2h ca-sign --offline --dir "$CA" --not-after 1h \
		--token "$(mint --sub recent.example.com --set nbf=now-7200 --set iat=now-7200 --set exp=now-6900)" \
		<"$D/recent.csr" >"$D/recent.pem"
	csr old old.example.com dns:old.example.com
	faketime -f -2d ca-sign --offline --dir "$CA" --not-after 1h \
		--token "$(mint --sub old.example.com --set nbf=now-172800 --set iat=now-172800 --set exp=now-172500)" \
		<"$D/old.csr" >"$D/old.pem"
	for n in recent old; do serial_of "$D/$n.pem" >"$D/$n.serial"; done
}

setup() {
	put_file "$CA/config/ca.json" <"$D/ca.json.orig"
}

# conf JQ: rewrite ca.json with a jq filter.
conf() {
	jq "$1" "$D/ca.json.orig" >"$CA/config/ca.json.new"
	mv "$CA/config/ca.json.new" "$CA/config/ca.json"
}

# The three paths.
offline() { ca-renew --offline --dir "$CA" --cert "$D/$1.pem"; }
api() { ca-renew --api --dir "$CA"; }
# peer_json NAME: the request ca-serve sends after an mTLS handshake.
peer_json() {
	openssl x509 -in "$D/$1.pem" -out "$D/$1.leaf.pem"
	jq -nc --rawfile l "$D/$1.leaf.pem" --rawfile i "$CA/certs/intermediate_ca.crt" \
		--rawfile r "$CA/certs/root_ca.crt" '{peerCertificates: [$l, $i, $r]}'
}
mtls() { peer_json "$1" | api; }
# rtok NAME [renewtok.py options]: a renewal token signed by NAME's key.
rtok() {
	local n=$1
	shift
	"$PY" "$RENEWTOK" "$D/$n.pem" "$D/$n.key" "$AUD" "$@"
}
token() { printf '{"token":"%s"}\n' "$1" | api; }
by_token() { token "$(rtok "$@")"; }

# Nothing recorded: no certificate, no spent token.
unchanged() { assert_equal "$(rows)" "$1"; }

# refused_offline CODE MESSAGE NAME / refused_api STATUS MESSAGE COMMAND...
refused_offline() {
	run -"$1" --separate-stderr offline "$3"
	assert_output ""
	assert_equal "$stderr" "ca-renew: $2"
}
refused_api() {
	local st=$1 msg=$2
	shift 2
	run -1 --separate-stderr "$@"
	assert_api_error "$st" "$msg"
	assert_equal "$stderr" "ca-renew: $msg"
}

# epoch PEM end|start: notAfter or notBefore in unix seconds.
epoch() {
	local f
	f=$(openssl x509 -in "$1" -noout "-${2}date" | cut -d= -f2)
	date -u -d "$f" +%s
}
rfc3339() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# same_as OLD NEW: NEW (a PEM file) has OLD's subject, SANs and key, not
# its serial, the same lifetime, notBefore the backdate before it was made
# (after $T0, which the caller sets first), and a row renewed from OLD;
# issued by the intermediate under the root.
same_as() {
	local old=$D/$1.pem new=$2 t1 nb
	t1=$(date +%s)
	assert_equal "$(openssl x509 -in "$new" -noout -subject)" "$(openssl x509 -in "$old" -noout -subject)"
	assert_equal "$(openssl x509 -in "$new" -noout -ext subjectAltName)" "$(openssl x509 -in "$old" -noout -ext subjectAltName)"
	assert_equal "$(openssl x509 -in "$new" -noout -pubkey)" "$(openssl x509 -in "$old" -noout -pubkey)"
	refute [ "$(serial_of "$new")" = "$(S "$1")" ]
	assert_equal $(($(epoch "$new" end) - $(epoch "$new" start))) $(($(epoch "$old" end) - $(epoch "$old" start)))
	nb=$(epoch "$new" start)
	assert [ "$nb" -ge $((T0 - 60)) ]
	assert [ "$nb" -le $((t1 - 60)) ]
	run -0 openssl verify -CAfile "$CA/certs/root_ca.crt" -untrusted "$CA/certs/intermediate_ca.crt" "$new"
	run -0 db "select renewed_from, provisioner, subject from certs where serial = '$(serial_of "$new")'"
	assert_output "$(S "$1")|admin|$1.example.com"
}

# ---- success --------------------------------------------------------------

@test "renew: -h names every mode" {
	run -0 --separate-stderr ca-renew -h
	assert_line --index 0 --partial "usage: ca-renew --cert FILE --key FILE "
	assert_line --regexp '^       ca-renew --offline \[--dir DIR\] \[--cert FILE\]'
	assert_line "       ca-renew --api [--offline] [--dir DIR] [--socket PATH]"
}

@test "renew: ok offline: same subject, SANs, key and lifetime, fresh serial, renewed_from" {
	local r0
	r0=$(rows)
	T0=$(date +%s)
	run -0 --separate-stderr offline ok
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >"$D/ok.new"
	assert_equal "$(grep -c 'BEGIN CERTIFICATE' "$D/ok.new")" 2
	openssl x509 -in "$D/ok.new" -out "$D/ok.new.leaf"
	assert_equal "$(sed -n '/BEGIN/,$p' "$D/ok.new" | awk 'f; /END CERTIFICATE/ {f=1}')" "$(cat "$CA/certs/intermediate_ca.crt")"
	same_as ok "$D/ok.new.leaf"
	assert_equal "$(rows)" "$((${r0% *} + 1)) ${r0#* }"
}

@test "renew: ok offline from stdin, and a renewed certificate renews again" {
	run -0 --separate-stderr ca-renew --offline --dir "$CA" <"$D/ok.pem"
	printf '%s\n' "$output" >"$D/ok2.pem"
	run -0 --separate-stderr ca-renew --offline --dir "$CA" --cert "$D/ok2.pem"
	printf '%s\n' "$output" >"$D/ok3.pem"
	run -0 db "select renewed_from from certs where serial = '$(serial_of "$D/ok3.pem")'"
	assert_output "$(serial_of "$D/ok2.pem")"
}

@test "renew: ok over mTLS (--api): the answer is {crt, ca, certChain}" {
	T0=$(date +%s)
	run -0 --separate-stderr mtls peer
	assert_equal "$stderr" ""
	assert_equal "$(jq -c 'keys' <<<"$output")" '["ca","certChain","crt"]'
	assert_equal "$(jq -r .ca <<<"$output")" "$(cat "$CA/certs/intermediate_ca.crt")"
	assert_equal "$(jq -r '.certChain | length' <<<"$output")" 2
	assert_equal "$(jq -r '.certChain[0] == .crt' <<<"$output")" true
	jq -r .crt <<<"$output" >"$D/peer.new"
	same_as peer "$D/peer.new"
}

@test "renew: ok with a renewal token (--api); its jti is spent under the row's provisioner" {
	local t used0
	t=$(rtok tok)
	used0=$(used_count)
	T0=$(date +%s)
	run -0 --separate-stderr token "$t"
	assert_equal "$stderr" ""
	jq -r .crt <<<"$output" >"$D/tok.new"
	same_as tok "$D/tok.new"
	run -0 db "select provisioner from used_tokens where jti = '$(claims "$t" | jq -r .jti)'"
	assert_output admin
	assert_equal "$(used_count)" $((used0 + 1))
}

@test "renew: ok with the chain in x5cInsecure, and with the leaf alone in x5c" {
	run -0 --separate-stderr by_token tok --hname x5cInsecure
	assert_equal "$(jq -r '.certChain | length' <<<"$output")" 2
	openssl x509 -in "$D/tok.pem" -out "$D/tok.leaf.pem"
	run -0 --separate-stderr token "$("$PY" "$RENEWTOK" "$D/tok.leaf.pem" "$D/tok.key" "$AUD")"
	assert_equal "$(jq -r '.certChain | length' <<<"$output")" 2
}

@test "renew: ok with the /renew audience without /1.0" {
	run -0 --separate-stderr token "$("$PY" "$RENEWTOK" "$D/tok.pem" "$D/tok.key" https://ca.example.com:9443/renew)"
	assert_equal "$(jq -r '.certChain | length' <<<"$output")" 2
}

@test "renew: ok a name too long for a CN: kept in the SANs alone; the token's sub is that name" {
	local n=a23456789b123456789c123456789d123456789e123456789f123456789.example.com
	csr longcn "" "dns:$n"
	ca-sign --offline --dir "$CA" --token "$(mint --sub "$n")" <"$D/longcn.csr" >"$D/longcn.pem"
	serial_of "$D/longcn.pem" >"$D/longcn.serial"
	run -0 --separate-stderr offline longcn
	printf '%s\n' "$output" >"$D/longcn.new"
	assert_equal "$(openssl x509 -in "$D/longcn.new" -noout -subject)" "subject="
	assert_equal "$(openssl x509 -in "$D/longcn.new" -noout -ext subjectAltName | tail -1 | tr -d ' ')" "DNS:$n"
	run -0 db "select subject, renewed_from from certs where serial = '$(serial_of "$D/longcn.new")'"
	assert_output "$n|$(S longcn)"
	run -0 --separate-stderr by_token longcn --set "sub=\"$n\""
	assert_equal "$(jq -r '.certChain | length' <<<"$output")" 2
	refused_api 401 "token rejected: subject (sub) is not the certificate's common name" by_token longcn --set 'sub="other.example.com"'
}

@test "renew: fail replayed renewal token: token already used (401), nothing recorded" {
	local t r0
	t=$(rtok tok)
	run -0 token "$t"
	r0=$(rows)
	refused_api 401 "token already used" token "$t"
	unchanged "$r0"
}

@test "renew: fail the same token twice in one batch: one certificate, one refusal" {
	local t r0
	t=$(rtok tok)
	r0=$(rows)
	run -1 --separate-stderr api < <(printf '{"token":"%s"}\n{"token":"%s"}\n' "$t" "$t")
	assert_equal "$(jq -c 'has("crt")' <<<"${lines[0]}")" true
	assert_equal "${lines[1]}" '{"status":401,"message":"token already used"}'
	assert_equal "$(rows)" "$((${r0% *} + 1)) $((${r0#* } + 1))"
}

@test "renew: lifetime clamped to today's maxTLSCertDuration plus the backdate" {
	conf '.authority.claims += {"minTLSCertDuration": "5m", "defaultTLSCertDuration": "1h", "maxTLSCertDuration": "2h"}'
	run -0 --separate-stderr offline long
	printf '%s\n' "$output" >"$D/long.new"
	assert_equal $(($(epoch "$D/long.new" end) - $(epoch "$D/long.new" start))) $((2 * 3600 + 60))
}

# ---- refusals ---------------------------------------------------------------

@test "renew: fail revoked serial on every path: certificate N is revoked (403)" {
	local r0
	ca-revoke --offline --dir "$CA" "$(S rev)" >/dev/null
	r0=$(rows)
	refused_offline 1 "certificate $(S rev) is revoked" rev
	refused_api 403 "certificate $(S rev) is revoked" mtls rev
	refused_api 403 "certificate $(S rev) is revoked" by_token rev
	unchanged "$r0"
}

@test "renew: fail never issued (no row) on every path (401)" {
	local r0 msg
	forge ghost 0x7a11c0ffee
	msg="certificate $(serial_of "$D/ghost.leaf") was not issued by this CA"
	r0=$(rows)
	refused_offline 1 "$msg" ghost
	refused_api 401 "$msg" mtls ghost
	refused_api 401 "$msg" by_token ghost
	unchanged "$r0"
}

@test "renew: fail a stored serial with other bytes on every path (401)" {
	local r0 msg
	forge twin "0x$(openssl x509 -in "$D/ok.pem" -noout -serial | cut -d= -f2)"
	msg="certificate $(S ok) is not the one this CA issued with that serial"
	r0=$(rows)
	refused_offline 1 "$msg" twin
	refused_api 401 "$msg" mtls twin
	refused_api 401 "$msg" by_token twin
	unchanged "$r0"
}

@test "renew: fail disableRenewal, global, on every path (403)" {
	local r0
	conf '.authority.claims.disableRenewal = true'
	r0=$(rows)
	refused_offline 1 "renewal is disabled for provisioner admin (disableRenewal)" dis
	refused_api 403 "renewal is disabled for provisioner admin (disableRenewal)" mtls dis
	refused_api 403 "renewal is disabled for provisioner admin (disableRenewal)" by_token dis
	unchanged "$r0"
}

@test "renew: fail disableRenewal on the provisioner; the provisioner's false overrides a global true" {
	conf '.authority.provisioners[0].claims = {"disableRenewal": true}'
	refused_offline 1 "renewal is disabled for provisioner admin (disableRenewal)" dis
	refused_api 403 "renewal is disabled for provisioner admin (disableRenewal)" mtls dis
	refused_api 403 "renewal is disabled for provisioner admin (disableRenewal)" by_token dis
	conf '.authority.claims.disableRenewal = true | .authority.provisioners[0].claims = {"disableRenewal": false}'
	run -0 --separate-stderr offline dis
	assert_equal "$stderr" ""
}

@test "renew: fail provisioner no longer in ca.json, on every path (403)" {
	local msg
	conf '.authority.provisioners[0].name = "other"'
	msg="certificate $(S prov): its provisioner admin is no longer in ca.json"
	refused_offline 1 "$msg" prov
	refused_api 403 "$msg" mtls prov
	refused_api 403 "$msg" by_token prov
}

@test "renew: fail today's policy denies a name, on every path (403)" {
	conf '.authority.policy = {"x509": {"deny": {"dns": ["pol.example.com"]}}}'
	refused_offline 1 "policy: dns name pol.example.com is denied" pol
	refused_api 403 "policy: dns name pol.example.com is denied" mtls pol
	refused_api 403 "policy: dns name pol.example.com is denied" by_token pol
	# Its neighbour, not denied, still renews.
	run -0 offline ok
}

@test "renew: fail not yet valid: offline and token 403, mTLS chain 401" {
	local msg
	msg="certificate $(S nb) is not valid before $(rfc3339 "$(epoch "$D/nb.pem" start)")"
	refused_offline 1 "$msg" nb
	refused_api 403 "$msg" by_token nb
	refused_api 401 "client certificate not valid: certificate is not yet valid" mtls nb
}

@test "renew: fail expired without allowRenewalAfterExpiry, on every path" {
	local msg
	msg="certificate $(S recent) expired at $(rfc3339 "$(epoch "$D/recent.pem" end)") (allowRenewalAfterExpiry is off)"
	refused_offline 1 "$msg" recent
	refused_api 403 "$msg" by_token recent
	refused_api 401 "client certificate not valid: certificate has expired; an expired certificate is renewed with a renewal token" mtls recent
}

@test "renew: expired with allowRenewalAfterExpiry: token within the cap ok; past it, offline, mTLS refused" {
	local r0 end
	conf '.authority.claims += {"allowRenewalAfterExpiry": true, "maxRenewalAfterExpiry": "24h"}'
	end=$(rfc3339 "$(epoch "$D/old.pem" end)")
	refused_api 403 "certificate $(S old) expired at $end, more than 24h ago (maxRenewalAfterExpiry)" by_token old
	end=$(rfc3339 "$(epoch "$D/recent.pem" end)")
	refused_offline 1 "certificate $(S recent) expired at $end: an expired certificate is renewed only with a renewal token" recent
	refused_api 401 "client certificate not valid: certificate has expired; an expired certificate is renewed with a renewal token" mtls recent
	r0=$(rows)
	T0=$(date +%s)
	run -0 --separate-stderr by_token recent
	jq -r .crt <<<"$output" >"$D/recent.new"
	same_as recent "$D/recent.new"
	assert_equal "$(rows)" "$((${r0% *} + 1)) $((${r0#* } + 1))"
}

@test "renew: expired: the default cap is 7 days" {
	conf '.authority.claims.allowRenewalAfterExpiry = true'
	run -0 --separate-stderr by_token old
	assert_equal "$(jq -r '.certChain | length' <<<"$output")" 2
}

@test "renew: maxRenewalAfterExpiry must be a duration (ca.json refused, exit 4)" {
	conf '.authority.claims.maxRenewalAfterExpiry = 7'
	run -4 --separate-stderr offline ok
	assert_output ""
	assert_equal "$stderr" 'ca-renew: ca.json: authority.claims.maxRenewalAfterExpiry: a duration like "24h"'
}

# ---- the renewal token ------------------------------------------------------

@test "renew: fail renewal tokens that do not verify (401), none spent" {
	local r0
	r0=$(rows)
	refused_api 401 "token rejected: audience mismatch (not a renew token for this CA)" by_token tok --set 'aud="https://ca.example.com:9443/1.0/sign"'
	refused_api 401 "token rejected: subject (sub) is not the certificate's common name" by_token tok --set 'sub="ok.example.com"'
	refused_api 401 "token rejected: lifetime 400s exceeds the maximum 360s" by_token tok --set exp=now+400
	refused_api 401 "token rejected: expired" by_token tok --set iat=now-400 --set nbf=now-400 --set exp=now-100
	refused_api 401 "token rejected: missing or oversized jti" by_token tok --unset jti
	refused_api 401 "token rejected: no x5c chain of 1 to 8 certificates" by_token tok --hname x5u
	refused_api 401 "token rejected: both x5c and x5cInsecure" by_token tok --hset 'x5cInsecure=[]'
	# Signed by another key than the certificate's.
	refused_api 401 "token rejected: jws: bad signature" token "$("$PY" "$RENEWTOK" "$D/tok.pem" "$D/ok.key" "$AUD")"
	unchanged "$r0"
}

@test "renew: fail a token whose chain is not the CA's (401)" {
	make_openssl_ca "$D/other"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/self.key" \
		-out "$D/self.pem" -subj /CN=tok.example.com -days 1 \
		-addext extendedKeyUsage=clientAuth 2>/dev/null
	refused_api 401 "token rejected: x5c: client certificate not valid: self-signed certificate" by_token self
	refused_api 401 "client certificate not valid: self-signed certificate" mtls self
}

@test "renew: fail a leaf without clientAuth, token and mTLS (401)" {
	csr srv srv.example.com dns:srv.example.com
	printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth" "subjectAltName=DNS:srv.example.com" >"$D/srv.ext"
	openssl x509 -req -in "$D/srv.csr" -CA "$CA/certs/intermediate_ca.crt" \
		-CAkey "$CA/secrets/intermediate_ca_key" -passin "file:$D/pw" \
		-set_serial 0x5e5e -days 1 -extfile "$D/srv.ext" -out "$D/srv.leaf" 2>/dev/null
	cat "$D/srv.leaf" "$CA/certs/intermediate_ca.crt" >"$D/srv.pem"
	refused_api 401 "token rejected: x5c: client certificate not valid: unsuitable certificate purpose" by_token srv
	refused_api 401 "client certificate not valid: unsuitable certificate purpose" mtls srv
}

@test "renew: fail a leaf without extendedKeyUsage, token and mTLS (401)" {
	csr bare bare.example.com dns:bare.example.com
	printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
		"subjectAltName=DNS:bare.example.com" >"$D/bare.ext"
	openssl x509 -req -in "$D/bare.csr" -CA "$CA/certs/intermediate_ca.crt" \
		-CAkey "$CA/secrets/intermediate_ca_key" -passin "file:$D/pw" \
		-set_serial 0x5e5f -days 1 -extfile "$D/bare.ext" -out "$D/bare.leaf" 2>/dev/null
	run -0 openssl x509 -in "$D/bare.leaf" -noout -text
	refute_output --partial "X509v3 Extended Key Usage"
	cat "$D/bare.leaf" "$CA/certs/intermediate_ca.crt" >"$D/bare.pem"
	refused_api 401 "token rejected: x5c: client certificate not valid: no extendedKeyUsage clientAuth" by_token bare
	refused_api 401 "client certificate not valid: no extendedKeyUsage clientAuth" mtls bare
}

# ---- the handler's requests ---------------------------------------------------

@test "renew: --api requests: neither member 401, malformed 400, token over peer" {
	run -1 --separate-stderr api <<<'{}'
	assert_api_error 401 "no client certificate and no renewal token"
	run -3 --separate-stderr api <<<'{"peerCertificates":"x"}'
	assert_api_error 400 "request: peerCertificates must be a list of 1 to 8 PEM certificates"
	run -3 --separate-stderr api <<<'{"token":5}'
	assert_output --partial '"status":400'
	# A token with a peer chain: the token decides (here: rejected).
	run -3 --separate-stderr api < <(peer_json ok | jq -c '. + {token: "x.y.z"}')
	assert_output --partial '"status":401,"message":"token rejected: '
}

@test "renew: rekey over mTLS: the CSR's key, the old names; by token refused (403)" {
	csr rk other.example.com dns:other.example.com
	run -0 --separate-stderr api < <(peer_json ok | jq -c --rawfile c "$D/rk.csr" '. + {csr: $c, rekey: true}')
	jq -r .crt <<<"$output" >"$D/rk.new"
	assert_equal "$(openssl x509 -in "$D/rk.new" -noout -subject)" "subject=CN = ok.example.com"
	assert_equal "$(openssl x509 -in "$D/rk.new" -noout -pubkey)" "$(openssl req -in "$D/rk.csr" -noout -pubkey)"
	run -0 db "select renewed_from from certs where serial = '$(serial_of "$D/rk.new")'"
	assert_output "$(S ok)"
	run -1 --separate-stderr api < <(jq -nc --arg t "$(rtok ok)" --rawfile c "$D/rk.csr" '{token: $t, csr: $c, rekey: true}')
	assert_api_error 403 "a new key (rekey) needs the certificate over mTLS"
}

# ---- notAfter and the intermediate --------------------------------------------

@test "renew: notAfter capped by the intermediate's" {
	local ca2=$D/ca2
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/r2.key" \
		-out "$D/r2.crt" -subj "/CN=Short Root" -days 1 \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	ca-init --dir "$ca2" --root-cert "$D/r2.crt" --root-key "$D/r2.key" \
		--password-file "$D/pw" --key-iterations 2048 --dns ca.example.com >/dev/null
	"$PY" "$TOKPY" key "$ca2/config/ca.json" "$D/pw" >"$D/prov2.jwk"
	csr c2 c2.example.com dns:c2.example.com
	ca-sign --offline --dir "$ca2" --not-after 20h \
		--token "$("$PY" "$TOKPY" mint "$D/prov2.jwk" "$ca2/config/ca.json" --sub c2.example.com)" \
		<"$D/c2.csr" >"$D/c2.pem"
	run -0 --separate-stderr faketime -f +10h ca-renew --offline --dir "$ca2" --cert "$D/c2.pem"
	printf '%s\n' "$output" >"$D/c2.new"
	assert_equal "$(epoch "$D/c2.new" end)" "$(epoch "$ca2/certs/intermediate_ca.crt" end)"
	refute [ "$(serial_of "$D/c2.new")" = "$(serial_of "$D/c2.pem")" ]
}

# ---- racing a revocation ------------------------------------------------------

# race_one I: one renewal of race; its exit status in $D/race/I.rc.
race_one() {
	local rc=0
	ca-renew --offline --dir "$CA" --cert "$D/race.pem" >"$D/race/$1.out" 2>"$D/race/$1.err" || rc=$?
	echo "$rc" >"$D/race/$1.rc"
}

# waiting N PATTERN: N processes whose command line matches PATTERN all
# wait for the write lock: asleep in SQLite's busy handler; on PostgreSQL,
# N sessions wait for this CA's writers' lock (db_pg.c's advisory lock,
# the schema's hash its second key), whichever processes they serve.
waiting() {
	local p n=0
	if pg_test; then
		n=$(db "select count(*) from pg_locks where locktype = 'advisory'
		    and not granted and classid = 1768842081 and objsubid = 2
		    and objid::bigint = (hashtext(current_schema())::bigint + 4294967296) % 4294967296")
	else
		for p in $(pgrep -f -- "$2"); do
			[ "$(cat "/proc/$p/wchan" 2>/dev/null)" = hrtimer_nanosleep ] && n=$((n + 1))
		done
	fi
	[ "$n" -ge "$1" ]
}

# race_log: a table ev numbering, in commit order, every renewal of
# serial $1 (kind renew) and every revocation (kind revoke), filled by
# triggers in the database's own dialect; race_log_off drops the triggers.
race_log() {
	if pg_test; then
		db "CREATE TABLE ev (seq BIGSERIAL PRIMARY KEY, kind TEXT, serial TEXT);
		    CREATE FUNCTION ev_renew() RETURNS trigger LANGUAGE plpgsql AS \$\$
		    BEGIN IF NEW.renewed_from = '$1' THEN INSERT INTO ev (kind, serial)
		    VALUES ('renew', NEW.serial); END IF; RETURN NEW; END \$\$;
		    CREATE TRIGGER ev_renew AFTER INSERT ON certs FOR EACH ROW
		    EXECUTE FUNCTION ev_renew();
		    CREATE FUNCTION ev_revoke() RETURNS trigger LANGUAGE plpgsql AS \$\$
		    BEGIN INSERT INTO ev (kind, serial) VALUES ('revoke', NEW.serial);
		    RETURN NEW; END \$\$;
		    CREATE TRIGGER ev_revoke AFTER INSERT ON revocations FOR EACH ROW
		    EXECUTE FUNCTION ev_revoke();"
	else
		db "CREATE TABLE ev (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT, serial TEXT);
		    CREATE TRIGGER ev_renew AFTER INSERT ON certs WHEN NEW.renewed_from = '$1'
		    BEGIN INSERT INTO ev (kind, serial) VALUES ('renew', NEW.serial); END;
		    CREATE TRIGGER ev_revoke AFTER INSERT ON revocations
		    BEGIN INSERT INTO ev (kind, serial) VALUES ('revoke', NEW.serial); END;"
	fi
}

race_log_off() {
	if pg_test; then
		db "DROP TRIGGER ev_renew ON certs; DROP TRIGGER ev_revoke ON revocations;
		    DROP FUNCTION ev_renew(); DROP FUNCTION ev_revoke();"
	else
		db "DROP TRIGGER ev_renew; DROP TRIGGER ev_revoke;"
	fi
}

# race_start FROM TO N: renewals FROM..TO of race started (their pids in
# the caller's pids), then wait until N wait for the write lock.
race_start() {
	local i
	for i in $(seq "$1" "$2"); do
		race_one "$i" 3>&- &
		pids+=($!)
	done
	# (a loaded machine may take minutes to start them all)
	for i in $(seq 2400); do
		waiting "$3" "ca-renew --offline --dir $CA --cert" && break
		sleep 0.1
	done
}

# race_revoke: the revocation of race started (its pid in the caller's
# pids), its answer in $D/race/revoke.out.
race_revoke() {
	ca-revoke --offline --dir "$CA" "$s" >"$D/race/revoke.out" 3>&- &
	pids+=($!)
}

@test "renew: 50 renewals racing a revocation: none commits after it" {
	local s i ok=0 refused=0 rseq pids=() p
	issue race
	s=$(S race)
	conf '.db.busyTimeout = "5m"'
	# Commit order, as the database sees it: every insert of a renewal of
	# race and of a revocation numbered in one sequence.
	race_log "$s"
	mkdir -p "$D/race"
	# The write lock held while the 50 renewals start: each makes every
	# check it can before the transaction (the certificate is not revoked
	# yet), signs, and waits at BEGIN; so does the revocation.  Released,
	# they take the lock in any order (SQLite), or in the order they asked
	# for it (PostgreSQL: so 25 renewals ask before the revocation and 25
	# after it): a renewal that takes it after the revocation committed
	# must be refused by the check inside its transaction, since every
	# check before it has passed.
	hold_db_lock "$CA"
	if pg_test; then
		# (PostgreSQL's waiters are counted together, the revocation too.)
		race_start 1 25 25
		race_revoke
		wait_for waiting 26 ""
		race_start 26 50 51
	else
		race_start 1 50 50
		race_revoke
		wait_for waiting 1 "ca-revoke --offline --dir $CA"
	fi
	release_db_lock
	for p in "${pids[@]}"; do
		wait "$p" || true
	done
	race_log_off
	run -0 jq -r .status "$D/race/revoke.out"
	assert_output ok
	for i in $(seq 1 50); do
		case $(cat "$D/race/$i.rc") in
		0) ok=$((ok + 1)) ;;
		1) refused=$((refused + 1))
		   assert_equal "$(cat "$D/race/$i.err")" "ca-renew: certificate $s is revoked" ;;
		*) fail "renewal $i: exit $(cat "$D/race/$i.rc"): $(cat "$D/race/$i.err")" ;;
		esac
	done
	assert_equal $((ok + refused)) 50
	# Every renewal printed is recorded, and committed before the revocation.
	rseq=$(db "select seq from ev where kind = 'revoke' and serial = '$s'")
	assert_equal "$(db "select count(*) from ev where kind = 'renew' and seq > $rseq")" 0
	assert_equal "$(db "select count(*) from ev where kind = 'renew'")" "$ok"
	# Some renewals came after the revocation, and were refused.
	assert [ "$refused" -ge 1 ]
	db "DROP TABLE ev;"
}
