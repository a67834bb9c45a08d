#!/usr/bin/env bats
# OIDC provisioners: CI jobs exchange their platform's ID token for a
# certificate.  The issuer is played on 127.0.0.1 by helpers/idp.py (a
# static HTTPS server: discovery document and JWKS) with a TLS certificate
# from a test CA of its own, the provisioner's caFile; tokens are minted
# by helpers/idtok.py (jwcrypto) in GitHub Actions' shape.  Each request
# goes offline, through ca-sign --api and through ca-serve (refused(),
# issued()), the same authority path.

load common
load helpers/authority

IDTOK="$BATS_TEST_DIRNAME/helpers/idtok.py"
GH=https://token.actions.githubusercontent.com
AUD=https://ca.example.com

idtok() { "$PY" "$IDTOK" "$@"; }
# ghtok [idtok mint options]: a GitHub-shaped ID token signed with key k1.
ghtok() { idtok mint "$D/k1.jwk" "$@"; }
port() { cat "$D/idp.port"; }
jwks_fetches() { grep -c '^/jwks$' "$D/idp.log" || true; }

start_idp() {
	rm -f "$D/idp.port"
	"$PY" "$BATS_TEST_DIRNAME/helpers/idp.py" "$D/idp" "$D/idpca/srv.crt" \
		"$D/idpca/srv.key" "$D/idp.port" "$D/idp.log" \
		</dev/null >/dev/null 2>>"$D/idp.err" 3>&- &
	echo $! >"$D/idp.pid"
	wait_for test -s "$D/idp.port"
	local p
	p=$(port)
	wait_for port_open "$p"
}

stop_idp() {
	[ -f "$D/idp.pid" ] || return 0
	kill "$(cat "$D/idp.pid")" 2>/dev/null || true
	wait "$(cat "$D/idp.pid")" 2>/dev/null || true
	rm -f "$D/idp.pid"
}

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	# Nothing here may go through a proxy of the machine's.
	unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY
	CA_SERVE=0 make_ca
	# The issuer's TLS: a CA of its own, not the system's, not inca's.
	mkdir -p "$D/idpca" "$D/idp/.well-known"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$D/idpca/ca.key" -out "$D/idp-ca.crt" -subj "/CN=IdP Test CA" \
		-days 2 -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign" 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$D/idpca/srv.key" -out "$D/idpca/srv.csr" -subj "/CN=127.0.0.1" 2>/dev/null
	printf '%s\n' "subjectAltName=IP:127.0.0.1" "extendedKeyUsage=serverAuth" >"$D/idpca/srv.ext"
	openssl x509 -req -in "$D/idpca/srv.csr" -CA "$D/idp-ca.crt" -CAkey "$D/idpca/ca.key" \
		-set_serial 7 -days 2 -extfile "$D/idpca/srv.ext" -out "$D/idpca/srv.crt" 2>/dev/null
	idtok newkey "$D/k1.jwk" gh-k1
	idtok newkey "$D/k2.jwk" gh-k2
	idtok newkey "$D/k3.jwk" gh-k3
	idtok newkey "$D/ec.jwk" gh-ec --kty EC
	idtok jwks "$D/idp/jwks" "$D/k1.jwk" "$D/ec.jwk"
	# An air-gapped issuer: its key set in a file.
	idtok jwks "$D/gitlab.jwks" "$D/k1.jwk"
	start_idp
	printf '{"issuer":"%s","jwks_uri":"https://127.0.0.1:%s/jwks","id_token_signing_alg_values_supported":["RS256"]}\n' \
		"$GH" "$(port)" >"$D/idp/.well-known/openid-configuration"
	jq --arg ep "https://127.0.0.1:$(port)/.well-known/openid-configuration" \
		--arg jw "https://127.0.0.1:$(port)/jwks" --arg ca "$D/idp-ca.crt" \
		--arg gl "$D/gitlab.jwks" --arg aud "$AUD" '
	.authority.provisioners += [
	  {"type": "OIDC", "name": "github", "clientID": $aud,
	   "configurationEndpoint": $ep, "caFile": $ca,
	   "rules": [
	     {"match": {"repository": "acme/api", "ref": "refs/heads/main"},
	      "sans": ["api.ci.acme.internal"]},
	     {"match": {"repository": "acme/api", "workflow": "release"},
	      "sans": ["api.ci.acme.internal", "release.ci.acme.internal"]},
	     {"match": {"repository": "acme/*", "environment": "prod"},
	      "sans": ["deploy.ci.acme.internal"]}]},
	  {"type": "OIDC", "name": "gitlab", "clientID": $aud,
	   "issuer": "https://gitlab.example.com", "jwksFile": $gl,
	   "rules": [{"match": {"sub": "project_path:acme/api:ref_type:branch:ref:*"},
	              "sans": ["gitlab.ci.acme.internal"]}]},
	  {"type": "OIDC", "name": "staff", "clientID": "inca-staff",
	   "issuer": "https://accounts.example.com", "jwksFile": $gl,
	   "admins": ["root@acme.test"], "domains": ["acme.test"], "groups": ["ci"],
	   "rules": [{"match": {"sub": "user-*"}, "sans": ["u.acme.internal"]}]},
	  {"type": "OIDC", "name": "broken", "clientID": $aud,
	   "issuer": "https://broken.example.com", "jwksUri": ($jw + "-missing"), "caFile": $ca,
	   "rules": [{"match": {"repository": "acme/api"}, "sans": ["x.ci.acme.internal"]}]},
	  {"type": "OIDC", "name": "systemtrust", "clientID": $aud,
	   "issuer": "https://other.example.com", "jwksUri": $jw,
	   "rules": [{"match": {"repository": "acme/api"}, "sans": ["x.ci.acme.internal"]}]}]' \
		"$CA/config/ca.json" >"$D/ca.json.new"
	put_file "$CA/config/ca.json" <"$D/ca.json.new"
	start_ca_serve
}

teardown_file() {
	stop_ca_serve
	stop_idp
	if [ -f "$D/ci.pid" ]; then
		kill "$(cat "$D/ci.pid")" 2>/dev/null || true
		wait "$(cat "$D/ci.pid")" 2>/dev/null || true
	fi
}

# ---- issuance ------------------------------------------------------------

@test "oidc: a GitHub Actions ID token gets the rule's names, offline with --key-out" {
	tok=$(ghtok)
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$tok" --key-out "$D/job.key"
	assert_equal "$stderr" ""
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >"$D/job.pem"
	run -0 openssl x509 -in "$D/job.pem" -noout -ext subjectAltName -subject
	assert_line --index 1 "    DNS:api.ci.acme.internal"
	assert_line --index 2 "subject=CN = api.ci.acme.internal"
	run -0 openssl x509 -in "$D/job.pem" -noout -checkend 3600
	serial=$(serial_of "$D/job.pem")
	assert_equal "$(db "select provisioner from certs where serial = '$serial'")" "github"
	jti=$(claims "$tok" | jq -r .jti)
	assert_equal "$(db "select provisioner from used_tokens where jti = '$jti'")" "github"
}

@test "oidc: the CSR's names, offline, through --api and through ca-serve" {
	csr job "" dns:api.ci.acme.internal
	issued "$(ghtok)" "$(ghtok)" "$D/job.csr"
	run -0 openssl x509 -in "$D/api.pem" -noout -ext subjectAltName
	assert_line --index 1 "    DNS:api.ci.acme.internal"
	serve_current
	run -0 --separate-stderr serve_sign "$(ghtok)" "$D/job.csr"
	assert_output 201
	jq -r .crt "$BATS_TEST_TMPDIR/serve.body" >"$D/serve.pem"
	run -0 openssl x509 -in "$D/serve.pem" -noout -ext subjectAltName
	assert_line --index 1 "    DNS:api.ci.acme.internal"
}

@test "oidc: an ES256 ID token (EC key of the issuer) is accepted" {
	run -0 --separate-stderr ca-sign --offline --dir "$CA" \
		--token "$(idtok mint "$D/ec.jwk")" --key-out "$D/ec-job.key"
	assert_equal "$stderr" ""
}

@test "oidc: two matching rules give the union of their names; --san picks some" {
	tok=$(ghtok --workflow release)
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$tok" \
		--key-out "$D/rel.key" --san release.ci.acme.internal
	printf '%s\n' "$output" >"$D/rel.pem"
	run -0 openssl x509 -in "$D/rel.pem" -noout -ext subjectAltName
	assert_line --index 1 "    DNS:release.ci.acme.internal"
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$(ghtok --workflow release)" \
		--key-out "$D/rel2.key"
	printf '%s\n' "$output" >"$D/rel2.pem"
	run -0 openssl x509 -in "$D/rel2.pem" -noout -ext subjectAltName
	assert_line --index 1 "    DNS:api.ci.acme.internal, DNS:release.ci.acme.internal"
}

@test "oidc: a glob rule: environment prod of any acme repository" {
	csr dep "" dns:deploy.ci.acme.internal
	issued "$(ghtok --repo acme/web --env prod)" "$(ghtok --repo acme/web --env prod)" "$D/dep.csr"
	run -0 openssl x509 -in "$D/cli.pem" -noout -ext subjectAltName
	assert_line --index 1 "    DNS:deploy.ci.acme.internal"
}

@test "oidc: a jwksFile provisioner (GitLab-shaped token, rule on sub)" {
	tok=$(ghtok --iss https://gitlab.example.com \
		--set 'sub="project_path:acme/api:ref_type:branch:ref:main"' \
		--set 'project_path="acme/api"' --unset repository)
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$tok" --key-out "$D/gl.key"
	printf '%s\n' "$output" >"$D/gl.pem"
	run -0 openssl x509 -in "$D/gl.pem" -noout -ext subjectAltName
	assert_line --index 1 "    DNS:gitlab.ci.acme.internal"
	serial=$(serial_of "$D/gl.pem")
	assert_equal "$(db "select provisioner from certs where serial = '$serial'")" "gitlab"
}

@test "oidc: a certificate an OIDC provisioner issued renews under that provisioner" {
	run -0 --separate-stderr ca-renew --offline --dir "$CA" --cert "$D/job.pem"
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >"$D/renewed.pem"
	run -0 openssl x509 -in "$D/renewed.pem" -noout -ext subjectAltName
	assert_line --index 1 "    DNS:api.ci.acme.internal"
	serial=$(serial_of "$D/renewed.pem")
	assert_equal "$(db "select provisioner || ' ' || renewed_from from certs where serial = '$serial'")" \
		"github $(serial_of "$D/job.pem")"
}

@test "oidc: ca-list shows the provisioner and its type" {
	run -0 --separate-stderr ca-list --dir "$CA"
	run -0 jq -r 'select(.provisioner == "github") | .provisionerType' <<<"$output"
	assert_line --index 0 "OIDC"
}

@test "oidc: GET /provisioners publishes an OIDC provisioner's public members, not its rules" {
	serve_current
	run -0 curl -sS --cacert "$D/serve-root.crt" \
		--connect-to "ca.example.com:9443:127.0.0.1:$(cat "$D/serve.port")" \
		https://ca.example.com:9443/1.0/provisioners
	run -0 jq -c '.provisioners[] | select(.name == "github") | keys' <<<"$output"
	assert_output '["clientID","configurationEndpoint","name","type"]'
	# What ca.json holds besides, and keeps to itself.
	run -0 jq -r '.authority.provisioners[] | select(.name == "github") | has("rules")' "$CA/config/ca.json"
	assert_output true
}

# stafftok [idtok mint options]: a staff member's token (issuer accounts.example.com).
stafftok() {
	ghtok --iss https://accounts.example.com --aud inca-staff --set 'sub="user-42"' \
		--set 'email="ann@acme.test"' --set email_verified=true --set 'groups=["ci","ops"]' "$@"
}

@test "oidc: admins, domains and groups as step-ca" {
	csr u "" dns:u.acme.internal
	run -0 --separate-stderr cli_sign "$(stafftok)" "$D/u.csr"
	# An admin (verified email in admins) asks for any name the policy allows.
	csr any "" dns:anything.acme.internal
	run -0 --separate-stderr cli_sign "$(stafftok --set 'email="root@acme.test"' --set 'groups=[]')" "$D/any.csr"
	refused 1 403 "dns:anything.acme.internal is not among the names provisioner staff allows this job" \
		"$(stafftok)" "$D/any.csr"
	refused 1 403 "token rejected: no verified email in the provisioner's domains" \
		"$(stafftok --set 'email="ann@evil.test"')" "$D/u.csr"
	refused 1 403 "token rejected: no verified email in the provisioner's domains" \
		"$(stafftok --set email_verified=false)" "$D/u.csr"
	# An unverified admin address is no admin.
	refused 1 403 "token rejected: no verified email in the provisioner's domains" \
		"$(stafftok --set 'email="root@acme.test"' --set email_verified=false)" "$D/any.csr"
	refused 1 403 "token rejected: in none of the provisioner's groups" \
		"$(stafftok --set 'groups=["sales"]')" "$D/u.csr"
}

# ---- refusals --------------------------------------------------------------

@test "oidc: a name outside the matched rules is refused" {
	csr bad "" dns:api.ci.acme.internal dns:db.ci.acme.internal
	refused 1 403 "dns:db.ci.acme.internal is not among the names provisioner github allows this job" \
		"$(ghtok)" "$D/bad.csr"
}

@test "oidc: a common name outside the rules is refused" {
	csr badcn "db.ci.acme.internal" dns:api.ci.acme.internal
	refused 1 403 "certificate request common name db.ci.acme.internal is not one of its names" \
		"$(ghtok)" "$D/badcn.csr"
}

@test "oidc: a repository without a rule is refused" {
	csr job "" dns:api.ci.acme.internal
	refused 1 403 "token rejected: no rule of provisioner github matches this token (sub repo:acme/web:ref:refs/heads/main, repository acme/web, ref refs/heads/main)" \
		"$(ghtok --repo acme/web)" "$D/job.csr"
}

@test "oidc: a ref that does not match is refused" {
	csr job "" dns:api.ci.acme.internal
	refused 1 403 "token rejected: no rule of provisioner github matches this token (sub repo:acme/api:ref:refs/heads/dev, repository acme/api, ref refs/heads/dev)" \
		"$(ghtok --ref refs/heads/dev)" "$D/job.csr"
	# A glob matches the claim whole, not a prefix of it.
	refused 1 403 "token rejected: no rule of provisioner github matches this token (sub repo:acme/api:ref:refs/heads/main-x, repository acme/api, ref refs/heads/main-x)" \
		"$(ghtok --ref refs/heads/main-x)" "$D/job.csr"
}

@test "oidc: a token for another audience is refused" {
	csr job "" dns:api.ci.acme.internal
	refused 1 401 "token rejected: audience mismatch (an ID token of $GH for another clientID)" \
		"$(ghtok --aud https://other-ca.example.com)" "$D/job.csr"
	refused 1 401 "token rejected: audience mismatch (an ID token of $GH for another clientID)" \
		"$(ghtok --set 'aud=["https://a.example.com","https://b.example.com"]')" "$D/job.csr"
}

@test "oidc: a token of another issuer is refused" {
	csr job "" dns:api.ci.acme.internal
	refused 1 401 "token rejected: unknown provisioner https://evil.example.com with key gh-k1" \
		"$(ghtok --iss https://evil.example.com)" "$D/job.csr"
	# The issuer's key signing a token that claims another OIDC issuer.
	refused 1 401 "token rejected: unknown provisioner ${GH}/ with key gh-k1" \
		"$(ghtok --iss "$GH/")" "$D/job.csr"
}

@test "oidc: an expired token is refused" {
	csr job "" dns:api.ci.acme.internal
	refused 1 401 "token rejected: expired" \
		"$(ghtok --set iat=now-600 --set nbf=now-600 --set exp=now-120)" "$D/job.csr"
}

@test "oidc: a token older than maxTokenAge is refused" {
	csr job "" dns:api.ci.acme.internal
	run -1 --separate-stderr cli_sign "$(ghtok --set iat=now-900 --set nbf=now-900 --set exp=now+300)" "$D/job.csr"
	assert_regex "$stderr" "^ca-sign: token rejected: issued 9[0-9][0-9]s ago, more than maxTokenAge 600s\$"
}

@test "oidc: a token not yet valid is refused" {
	csr job "" dns:api.ci.acme.internal
	refused 1 401 "token rejected: not yet valid" \
		"$(ghtok --set nbf=now+600 --set iat=now+600 --set exp=now+900)" "$D/job.csr"
}

@test "oidc: replay: a token spends once, whichever path" {
	csr job "" dns:api.ci.acme.internal
	tok=$(ghtok)
	run -0 --separate-stderr cli_sign "$tok" "$D/job.csr"
	run -1 --separate-stderr cli_sign "$tok" "$D/job.csr"
	assert_equal "$stderr" "ca-sign: token already used"
	run -1 --separate-stderr api_sign "$tok" "$D/job.csr"
	assert_api_error 401 "token already used"
}

@test "oidc: replay of a token without jti: spent by (iss, sub, iat, hash)" {
	csr job "" dns:api.ci.acme.internal
	tok=$(ghtok --unset jti)
	run -0 --separate-stderr cli_sign "$tok" "$D/job.csr"
	run -0 db "select count(*) from used_tokens where provisioner = 'github' and jti like 'sha256:%'"
	assert_output 1
	run -1 --separate-stderr cli_sign "$tok" "$D/job.csr"
	assert_equal "$stderr" "ca-sign: token already used"
}

@test "oidc: an unknown kid is refused" {
	csr job "" dns:api.ci.acme.internal
	refused 1 401 "token rejected: unknown key id gh-k2" \
		"$(idtok mint "$D/k2.jwk")" "$D/job.csr"
}

@test "oidc: alg none and HS256 keyed with the issuer's public key are refused" {
	csr job "" dns:api.ci.acme.internal
	refused 1 401 "token rejected: algorithm none: only RS256 and ES256 ID tokens are accepted" \
		"$(ghtok --alg none)" "$D/job.csr"
	refused 1 401 "token rejected: algorithm HS256: only RS256 and ES256 ID tokens are accepted" \
		"$(ghtok --alg HS256)" "$D/job.csr"
}

@test "oidc: the alg is the key's: an RS256 token naming the EC key's kid is refused" {
	csr job "" dns:api.ci.acme.internal
	run -1 --separate-stderr cli_sign "$(ghtok --hset 'kid="gh-ec"')" "$D/job.csr"
	assert_equal "$stderr" "ca-sign: token rejected: jws: alg \"RS256\" refused: the key is for ES256"
}

@test "oidc: a tampered token is refused" {
	csr job "" dns:api.ci.acme.internal
	tok=$(ghtok)
	h=${tok%%.*}
	s=${tok##*.}
	p=$(claims "$tok" | jq -c '.repository = "acme/api" | .ref = "refs/heads/main" | .sub = "x"' |
		base64 -w0 | tr '+/' '-_' | tr -d '=')
	run -1 --separate-stderr cli_sign "$h.$p.$s" "$D/job.csr"
	assert_equal "$stderr" "ca-sign: token rejected: jws: bad signature"
}

@test "oidc: key rotation: a new kid in the issuer's JWKS is fetched and accepted" {
	idtok jwks "$D/idp/jwks" "$D/k1.jwk" "$D/ec.jwk" "$D/k2.jwk"
	run -0 --separate-stderr ca-sign --offline --dir "$CA" \
		--token "$(idtok mint "$D/k2.jwk")" --key-out "$D/rot.key"
	assert_equal "$stderr" ""
	csr job "" dns:api.ci.acme.internal
	run -0 --separate-stderr api_sign "$(idtok mint "$D/k2.jwk")" "$D/job.csr"
	assert_equal "$stderr" ""
}

@test "oidc: an unknown kid re-fetches the JWKS at most once a minute" {
	csr job "" dns:api.ci.acme.internal
	: >"$D/idp.log"
	{ api_request "$(idtok mint "$D/k3.jwk")" "$D/job.csr"
	  api_request "$(idtok mint "$D/k3.jwk")" "$D/job.csr"
	  api_request "$(idtok mint "$D/k3.jwk")" "$D/job.csr"; } >"$D/three.req"
	run -1 --separate-stderr ca-sign --api --offline --dir "$CA" <"$D/three.req"
	assert_equal "${#lines[@]}" 3
	assert_line --index 2 '{"status":401,"message":"token rejected: unknown key id gh-k3"}'
	assert_equal "$(jwks_fetches)" 1
}

@test "oidc: a failed JWKS fetch is not tried again for a minute: 503 meanwhile" {
	csr job "" dns:x.ci.acme.internal
	: >"$D/idp.log"
	{ api_request "$(ghtok --iss https://broken.example.com)" "$D/job.csr"
	  api_request "$(ghtok --iss https://broken.example.com)" "$D/job.csr"; } >"$D/two.req"
	run -5 --separate-stderr ca-sign --api --offline --dir "$CA" <"$D/two.req"
	assert_equal "${#lines[@]}" 2
	assert_regex "${lines[0]}" '^\{"status":503,"message":"provisioner broken: JWKS: https://127\.0\.0\.1:[0-9]+/jwks-missing: HTTP status 404"\}$'
	assert_equal "${lines[1]}" "${lines[0]}"
	assert_equal "$(grep -c '^/jwks-missing$' "$D/idp.log")" 1
}

@test "oidc: the JWKS fetch trusts the system bundle alone unless caFile is set" {
	csr job "" dns:x.ci.acme.internal
	run -5 --separate-stderr cli_sign "$(ghtok --iss https://other.example.com)" "$D/job.csr"
	assert_output ""
	assert_regex "$stderr" "^ca-sign: provisioner systemtrust: JWKS: https://127\.0\.0\.1:[0-9]+/jwks: .*certificate"
}

@test "oidc: a key set of 256 KiB is read, one byte more is refused (exit 5); a redirect is not followed" {
	local u="https://127.0.0.1:$(port)"
	# The key set padded with spaces to the limit, and one byte past it.
	idtok jwks "$D/jwks" "$D/k1.jwk"
	{ cat "$D/jwks"; head -c $((262144 - $(stat -c %s "$D/jwks"))) /dev/zero | tr '\0' ' '; } \
		>"$D/idp/jwks-256k"
	cp "$D/idp/jwks-256k" "$D/idp/jwks-over"
	printf ' ' >>"$D/idp/jwks-over"
	# A directory: the issuer's server answers 301 to its name without
	# the slash, and would serve the key set at the slash.
	mkdir -p "$D/idp/moved"
	idtok jwks "$D/idp/moved/index.html" "$D/k1.jwk"
	cp -a "$CA" "$D/fetch"
	jq --arg u "$u" --arg ca "$D/idp-ca.crt" --arg aud "$AUD" '
	.authority.provisioners += [
	  {"type": "OIDC", "name": "big", "clientID": $aud, "issuer": "https://big.example.com",
	   "jwksUri": ($u + "/jwks-256k"), "caFile": $ca,
	   "rules": [{"match": {"repository": "acme/api"}, "sans": ["x.ci.acme.internal"]}]},
	  {"type": "OIDC", "name": "over", "clientID": $aud, "issuer": "https://over.example.com",
	   "jwksUri": ($u + "/jwks-over"), "caFile": $ca,
	   "rules": [{"match": {"repository": "acme/api"}, "sans": ["x.ci.acme.internal"]}]},
	  {"type": "OIDC", "name": "moved", "clientID": $aud, "issuer": "https://moved.example.com",
	   "jwksUri": ($u + "/moved"), "caFile": $ca,
	   "rules": [{"match": {"repository": "acme/api"}, "sans": ["x.ci.acme.internal"]}]}]' \
		"$CA/config/ca.json" | put_file "$D/fetch/config/ca.json"
	assert_equal "$(stat -c %s "$D/idp/jwks-256k")" 262144
	csr job "" dns:x.ci.acme.internal
	run -0 --separate-stderr ca-sign --offline --dir "$D/fetch" \
		--token "$(ghtok --iss https://big.example.com)" <"$D/job.csr"
	assert_equal "$stderr" ""
	run -5 --separate-stderr ca-sign --offline --dir "$D/fetch" \
		--token "$(ghtok --iss https://over.example.com)" <"$D/job.csr"
	assert_output ""
	# Its Content-Length says so: libcurl stops before the body.
	assert_equal "$stderr" "ca-sign: provisioner over: JWKS: $u/jwks-over: Maximum file size exceeded"
	: >"$D/idp.log"
	run -5 --separate-stderr ca-sign --offline --dir "$D/fetch" \
		--token "$(ghtok --iss https://moved.example.com)" <"$D/job.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: provisioner moved: JWKS: $u/moved: HTTP status 301"
	run -0 cat "$D/idp.log"
	assert_line "/moved"
	refute_line "/moved/"
}

@test "oidc: 60 s of leeway on exp and nbf, none beyond" {
	csr job "" dns:api.ci.acme.internal
	run -0 --separate-stderr cli_sign "$(ghtok --set iat=now-300 --set nbf=now-300 --set exp=now-50)" "$D/job.csr"
	assert_equal "$stderr" ""
	run -0 --separate-stderr cli_sign "$(ghtok --set iat=now --set nbf=now+50 --set exp=now+300)" "$D/job.csr"
	assert_equal "$stderr" ""
	refused 1 401 "token rejected: expired" \
		"$(ghtok --set iat=now-300 --set nbf=now-300 --set exp=now-70)" "$D/job.csr"
	refused 1 401 "token rejected: not yet valid" \
		"$(ghtok --set iat=now --set nbf=now+70 --set exp=now+300)" "$D/job.csr"
}

@test "oidc: a token's lifetime is at most a day" {
	csr job "" dns:api.ci.acme.internal
	run -0 --separate-stderr cli_sign "$(ghtok --set iat=now --set nbf=now --set exp=now+86400)" "$D/job.csr"
	assert_equal "$stderr" ""
	refused 1 401 "token rejected: lifetime 86401s exceeds the maximum 86400s" \
		"$(ghtok --set iat=now --set nbf=now --set exp=now+86401)" "$D/job.csr"
}

@test "oidc: ca.json: an OIDC provisioner is checked, not trusted" {
	cp -a "$CA" "$D/bad"
	csr cfg "" dns:api.ci.acme.internal
	edit() {
		jq "$1" "$CA/config/ca.json" | put_file "$D/bad/config/ca.json"
		run -4 --separate-stderr ca-sign --offline --dir "$D/bad" --token x <"$D/cfg.csr"
	}
	edit 'del(.authority.provisioners[1].clientID)'
	assert_equal "$stderr" "ca-sign: ca.json: authority.provisioners[1].clientID: required"
	edit '.authority.provisioners[1].rules[0].match = {}'
	assert_equal "$stderr" "ca-sign: ca.json: authority.provisioners[1].rules[0].match: required: an object of one claim or more (a rule that matches every token is refused)"
	edit '.authority.provisioners[1].rules[0].match = {"repository": "*"}'
	assert_equal "$stderr" "ca-sign: ca.json: authority.provisioners[1].rules[0].match.repository: a pattern of wildcards alone matches anything: name the value"
	edit '.authority.provisioners[1].rules[0].match = {"actor": "octocat"}'
	assert_equal "$stderr" "ca-sign: ca.json: authority.provisioners[1].rules[0].match.actor: unknown claim: repository, ref, workflow, environment or sub"
	edit '.authority.provisioners[1].configurationEndpoint = "http://127.0.0.1/x"'
	assert_equal "$stderr" "ca-sign: ca.json: authority.provisioners[1].configurationEndpoint: must be an https:// URL"
	edit '.authority.provisioners[1].jwksUri = "https://127.0.0.1/jwks"'
	assert_equal "$stderr" "ca-sign: ca.json: authority.provisioners[1]: exactly one of configurationEndpoint, jwksUri and jwksFile"
	edit 'del(.authority.provisioners[2].issuer)'
	assert_equal "$stderr" "ca-sign: ca.json: authority.provisioners[2]: issuer is required with jwksUri or jwksFile"
	edit '.authority.provisioners[1].rules[0].sans = ["not a name"]'
	assert_regex "$stderr" "^ca-sign: ca.json: authority.provisioners\[1\].rules\[0\].sans\[0\]: "
	edit '.authority.provisioners[1].clientSecret = "s3cret"'
	assert_regex "$stderr" "^ca-sign: ca.json: authority.provisioners\[1\].clientSecret: not used"
}

@test "oidc: a CI job with only its ID token, the CA's URL and root: ca-sign online through ca-serve" {
	local port url
	port=$(free_port)
	url="https://127.0.0.1:$port"
	ca-init --dir "$D/ci" --password-file "$D/pw" --dns 127.0.0.1 \
		--address "127.0.0.1:$port" --key-iterations 2048 $(db_args) >/dev/null
	jq --argjson p "$(jq '.authority.provisioners[1]' "$CA/config/ca.json")" --arg aud "$url" \
		'.authority.provisioners += [$p | .clientID = $aud]' "$D/ci/config/ca.json" >"$D/ci.json"
	put_file "$D/ci/config/ca.json" <"$D/ci.json"
	ca-serve --dir "$D/ci" --listen "127.0.0.1:$port" </dev/null >/dev/null 2>>"$D/ci.log" 3>&- &
	echo $! >"$D/ci.pid"
	wait_for port_open "$port"
	cp "$D/ci/certs/root_ca.crt" "$BATS_TEST_TMPDIR/root.crt"
	cd "$BATS_TEST_TMPDIR"
	TOKEN=$(ghtok --aud "$url")
	run -0 --separate-stderr ca-sign --token "$TOKEN" --ca-url "$url" --root root.crt --key-out svc.key
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >svc.crt
	run -0 openssl x509 -in svc.crt -noout -ext subjectAltName
	assert_line --index 1 "    DNS:api.ci.acme.internal"
	run -0 openssl verify -CAfile root.crt -untrusted "$D/ci/certs/intermediate_ca.crt" svc.crt
	assert_equal "$(dbq "$D/ci" "select provisioner from certs where subject = 'api.ci.acme.internal'")" github
	# The same token again: spent.
	run -1 --separate-stderr ca-sign --token "$TOKEN" --ca-url "$url" --root root.crt --key-out again.key
	assert_regex "$stderr" "token already used"
}

# Last: the issuer goes away.
@test "oidc: the JWKS endpoint down: exit 5 offline, 503 from the handler, nothing spent" {
	stop_idp
	csr job "" dns:api.ci.acme.internal
	rows0=$(rows)
	run -5 --separate-stderr cli_sign "$(ghtok)" "$D/job.csr"
	assert_output ""
	assert_regex "$stderr" "^ca-sign: provisioner github: OIDC discovery: https://127\.0\.0\.1:[0-9]+/\.well-known/openid-configuration: "
	run -5 --separate-stderr api_sign "$(ghtok)" "$D/job.csr"
	assert_regex "$output" '^\{"status":503,"message":"provisioner github: OIDC discovery: '
	assert_equal "$(rows)" "$rows0"
	# Another issuer's tokens (its key set in a file) still go through.
	tok=$(ghtok --iss https://gitlab.example.com \
		--set 'sub="project_path:acme/api:ref_type:branch:ref:main"')
	run -0 --separate-stderr ca-sign --offline --dir "$CA" --token "$tok" --key-out "$D/gl-down.key"
	assert_equal "$stderr" ""
}
