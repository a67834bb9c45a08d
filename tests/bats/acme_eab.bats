#!/usr/bin/env bats
# ACME external account binding (RFC 8555 7.3.4): the operator's keys
# (ca-acme --eab-add, --eab-list, --eab-remove), real clients binding
# their accounts with them through ca-serve, and the refusals, each one
# sent by helpers/acmecli.py.  Two ACME provisioners: "eab" (requireEAB)
# and "acme" (no binding required).

load common
load helpers/serve

PROBLEM=urn:ietf:params:acme:error:

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_serve_ca
	cp "$CA/config/ca.json" "$D/ca.json.base"
	# The provisioner ca-init made (not an ACME one).
	JWKPROV=$(jq -r '.authority.provisioners[0].name' "$D/ca.json.base")
	export JWKPROV
}

teardown() {
	stop_servers
	put_file "$CA/config/ca.json" <"$D/ca.json.base"
}

# eab_ca: ACME provisioners "eab" (requireEAB) and "acme", their
# challenges checked on this host's free port $HTTP01, names resolved by
# helpers/dns.py; ca-serve on $PORT, $DIRURL the directory of "eab",
# $OPEN_DIR that of "acme".
eab_ca() {
	HTTP01=$(free_port)
	printf '%s\n' '{"web.acme.test": {"A": ["127.0.0.1"]}}' >"$BATS_TEST_TMPDIR/zone.json"
	LOG="$BATS_TEST_TMPDIR/serve.log"
	bg "$PY" "$BATS_TEST_DIRNAME/helpers/dns.py" --zone "$BATS_TEST_TMPDIR/zone.json" \
		--port-file "$BATS_TEST_TMPDIR/dns.port"
	wait_for test -s "$BATS_TEST_TMPDIR/dns.port"
	jq --arg r "127.0.0.1:$(cat "$BATS_TEST_TMPDIR/dns.port")" --argjson h "$HTTP01" \
		'.authority.provisioners += [
		  {"type": "ACME", "name": "eab", "requireEAB": true, "validation":
		    {"resolver": $r, "httpPort": $h, "timeout": "5s", "allow": ["127.0.0.0/8"]}},
		  {"type": "ACME", "name": "acme", "validation":
		    {"resolver": $r, "httpPort": $h, "timeout": "5s", "allow": ["127.0.0.0/8"]}}]' \
		"$D/ca.json.base" | put_file "$CA/config/ca.json"
	serve_listen
	DIRURL="https://127.0.0.1:$PORT/acme/eab/directory"
	OPEN_DIR="https://127.0.0.1:$PORT/acme/acme/directory"
}

# eab_add PROV [REFERENCE]: a new key of PROV; $KID and $HMAC.
eab_add() {
	local out
	out=$(ca-acme --dir "$CA" --eab-add "$1" ${2:+--reference "$2"})
	KID=$(jq -r .keyID <<<"$out")
	HMAC=$(jq -r .hmacKey <<<"$out")
}

# cli SCENARIO: helpers/acmecli.py against "eab" with the key $KID/$HMAC.
cli() {
	EAB_KID=$KID EAB_HMAC=$HMAC OTHER_DIR=${OPEN_DIR:-} \
		"$PY" "$BATS_TEST_DIRNAME/helpers/acmecli.py" "$DIRURL" "$ROOT" "$HTTP01" "$1"
}

# eab_row KID: "status|account" of the key's row.
eab_row() { dbq "$CA" "select status || '|' || coalesce(account, '-') from acme_objects where kind = 'eab' and id = '$1'"; }
# rows KIND: how many ACME objects of KIND there are (the database is
# the file's: tests compare before and after).
rows() { dbq "$CA" "select count(*) from acme_objects where kind = '$1'"; }
# bound_account KID: the account KID is bound to, checked to exist and to
# name KID as its binding.
bound_account() {
	local acct
	acct=$(dbq "$CA" "select account from acme_objects where kind = 'eab' and id = '$1'")
	[ "$(dbq "$CA" "select body from acme_objects where kind = 'account' and id = '$acct'" | jq -r .eab.keyID)" = "$1" ] || return 1
	echo "$acct"
}

# ---- the operator's keys ---------------------------------------------------------

@test "acme_eab: ok --eab-add prints the key ID and a 256-bit MAC key once; the row is valid, of its provisioner" {
	eab_ca
	run -0 --separate-stderr ca-acme --dir "$CA" --eab-add eab --reference "ops team"
	assert_equal "$stderr" ""
	assert_equal "$(jq -r 'keys_unsorted | join(",")' <<<"$output")" "keyID,hmacKey,provisioner,reference"
	assert_equal "$(jq -r .provisioner <<<"$output")" eab
	assert_equal "$(jq -r .reference <<<"$output")" "ops team"
	local kid hmac
	kid=$(jq -r .keyID <<<"$output")
	hmac=$(jq -r .hmacKey <<<"$output")
	assert_regex "$kid" '^[A-Za-z0-9_-]{22}$'
	assert_regex "$hmac" '^[A-Za-z0-9_-]{43}$'
	assert_equal "$(printf '%s=' "$hmac" | basenc --base64url -d | wc -c)" 32
	assert_equal "$(eab_row "$kid")" "valid|-"
	run -0 dbq "$CA" "select body from acme_objects where kind = 'eab' and id = '$kid'"
	assert_equal "$(jq -r .provisioner <<<"$output")" eab
	assert_equal "$(jq -r .hmacKey <<<"$output")" "$hmac"
	# Two keys never share an ID or a MAC key.
	run -0 ca-acme --dir "$CA" --eab-add eab
	refute_output --partial "$kid"
	refute_output --partial "$hmac"
	assert_equal "$(jq -r 'has("reference")' <<<"$output")" false
}

@test "acme_eab: ok no key ID or MAC key begins with '-', which certbot and lego would read as an option" {
	eab_ca
	local i before
	before=$(rows eab)
	# 150 keys: 300 values, of which about 5 would begin with '-' by chance.
	# A process each; their answers read by one jq.
	for i in $(seq 150); do
		ca-acme --dir "$CA" --eab-add eab || return 1
	done >"$BATS_TEST_TMPDIR/added"
	jq -r '.keyID, .hmacKey' "$BATS_TEST_TMPDIR/added" >"$BATS_TEST_TMPDIR/keys"
	assert_equal "$(grep -c . "$BATS_TEST_TMPDIR/keys")" 300
	run -1 grep -c '^-' "$BATS_TEST_TMPDIR/keys"
	assert_output 0
	assert_equal "$(rows eab)" $((before + 150))
}

@test "acme_eab: ok --eab-list shows a provisioner's keys and their state, never a MAC key; --eab-remove erases it" {
	eab_ca
	eab_add eab first
	local k1=$KID h1=$HMAC
	eab_add eab
	local k2=$KID
	eab_add acme
	local k3=$KID
	run -0 --separate-stderr ca-acme --dir "$CA" --eab-list eab
	assert_equal "$stderr" ""
	assert_equal "$(jq -r --arg a "$k1" --arg b "$k2" '[.[] | select(.keyID == $a or .keyID == $b) | .status] | join(",")' <<<"$output")" valid,valid
	assert_equal "$(jq -r '[.[] | .provisioner] | unique | join(",")' <<<"$output")" eab
	assert_equal "$(jq -r --arg k "$k1" '.[] | select(.keyID == $k) | .reference' <<<"$output")" first
	refute_output --partial hmacKey
	refute_output --partial "$h1"
	refute_output --partial "$k3"
	run -0 ca-acme --dir "$CA" --eab-list acme
	assert_equal "$(jq -r '.[].keyID' <<<"$output")" "$k3"
	# Removed: shown so, its MAC key gone from the database.
	run -0 --separate-stderr ca-acme --dir "$CA" --eab-remove "$k1"
	assert_equal "$(jq -r .status <<<"$output")" removed
	assert_equal "$(jq -r .keyID <<<"$output")" "$k1"
	assert_equal "$(eab_row "$k1")" "removed|-"
	run -0 dbq "$CA" "select body from acme_objects where id = '$k1'"
	refute_output --partial hmacKey
	refute_output --partial "$h1"
	run -0 ca-acme --dir "$CA" --eab-list eab
	assert_equal "$(jq -r --arg k "$k1" '.[] | select(.keyID == $k) | .status' <<<"$output")" removed
	# A removed key binds no account.
	KID=$k1 HMAC=$h1
	run -0 cli eabbind
	assert_output "401 unauthorized"
}

@test "acme_eab: fail --eab-remove twice or of an unknown key (exit 1); of no possible key ID (exit 3); one line each" {
	eab_ca
	eab_add eab
	run -0 ca-acme --dir "$CA" --eab-remove "$KID"
	run -1 --separate-stderr ca-acme --dir "$CA" --eab-remove "$KID"
	assert_output ""
	assert_equal "$stderr" "ca-acme: acme eab: key $KID was removed already"
	run -1 --separate-stderr ca-acme --dir "$CA" --eab-remove AAAAAAAAAAAAAAAAAAAAAA
	assert_output ""
	assert_equal "$stderr" "ca-acme: acme eab: no key AAAAAAAAAAAAAAAAAAAAAA"
	run -3 --separate-stderr ca-acme --dir "$CA" --eab-remove "a b"
	assert_output ""
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" '^ca-acme: database: ACME id has a character'
}

@test "acme_eab: fail --eab-add and --eab-list of an unknown provisioner or one that is not ACME (exit 3), nothing stored" {
	eab_ca
	local before
	before=$(dbq "$CA" "select count(*) from acme_objects where kind = 'eab'")
	run -3 --separate-stderr ca-acme --dir "$CA" --eab-add nope
	assert_output ""
	assert_equal "$stderr" "ca-acme: no provisioner nope"
	run -3 --separate-stderr ca-acme --dir "$CA" --eab-add "$JWKPROV"
	assert_output ""
	assert_regex "$stderr" "^ca-acme: provisioner $JWKPROV is of type [A-Z0-9]+, not ACME\$"
	run -3 --separate-stderr ca-acme --dir "$CA" --eab-list nope
	assert_equal "$stderr" "ca-acme: no provisioner nope"
	run -3 --separate-stderr ca-acme --dir "$CA" --eab-add eab --reference ""
	assert_equal "$stderr" "ca-acme: acme eab: a reference is 1..256 bytes"
	run -3 --separate-stderr ca-acme --dir "$CA" --eab-add eab --reference "$(printf 'a\tb')"
	assert_equal "$stderr" "ca-acme: acme eab: a reference has no control characters"
	assert_equal "$(dbq "$CA" "select count(*) from acme_objects where kind = 'eab'")" "$before"
}

@test "acme_eab: usage: one operation at a time, not with --api, --reference only with --eab-add, -h names them (exit 2)" {
	run -2 --separate-stderr ca-acme --eab-add eab --eab-list eab
	assert_equal "$stderr" "ca-acme: one of --eab-add, --eab-list and --eab-remove"
	run -2 --separate-stderr ca-acme --eab-list eab --api --offline
	assert_regex "$stderr" "take only --dir"
	run -2 --separate-stderr ca-acme --eab-list eab --reference x
	assert_equal "$stderr" "ca-acme: --reference is for --eab-add"
	run -2 --separate-stderr ca-acme --eab-add eab --reference a --reference b
	assert_equal "${#stderr_lines[@]}" 1
	run -2 --separate-stderr ca-acme --eab-add
	assert_equal "${#stderr_lines[@]}" 1
	run -0 ca-acme -h
	assert_output --partial "--eab-add PROV"
	assert_output --partial "--eab-list PROV"
	assert_output --partial "--eab-remove KEYID"
	assert_output --partial "--reference TEXT"
}

# ---- real clients ------------------------------------------------------------------

@test "acme_eab: lego with --eab --kid --hmac gets a certificate the root verifies; the key is bound to its account, once" {
	eab_ca
	eab_add eab lego
	local before
	before=$(rows account)
	run -0 --separate-stderr env LEGO_CA_CERTIFICATES="$ROOT" lego --server "$DIRURL" \
		--path "$BATS_TEST_TMPDIR/lego" -a -m ops@acme.test --eab --kid "$KID" --hmac "$HMAC" \
		-d web.acme.test --http --http.port "127.0.0.1:$HTTP01" run
	local crt="$BATS_TEST_TMPDIR/lego/certificates/web.acme.test.crt"
	run -0 openssl verify -CAfile "$ROOT" -untrusted "$CA/certs/intermediate_ca.crt" "$crt"
	assert_output "$crt: OK"
	run -0 openssl x509 -in "$crt" -noout -ext subjectAltName
	assert_equal "$(tail -n 1 <<<"$output" | tr -d ' ')" "DNS:web.acme.test"
	# The key is bound to the one account lego made.
	assert_equal "$(rows account)" $((before + 1))
	local acct
	acct=$(bound_account "$KID")
	assert_equal "$(eab_row "$KID")" "bound|$acct"
	run -0 dbq "$CA" "select body from acme_objects where id = '$KID'"
	refute_output --partial "$HMAC"
	run -0 ca-acme --dir "$CA" --eab-list eab
	assert_equal "$(jq -r --arg k "$KID" '.[] | select(.keyID == $k) | .status + " " + .account' <<<"$output")" "bound $acct"
	# Another lego account (a new key) with the same binding is refused.
	run -1 --separate-stderr env LEGO_CA_CERTIFICATES="$ROOT" lego --server "$DIRURL" \
		--path "$BATS_TEST_TMPDIR/lego2" -a -m ops@acme.test --eab --kid "$KID" --hmac "$HMAC" \
		-d web.acme.test --http --http.port "127.0.0.1:$HTTP01" run
	assert_regex "$stderr" "unauthorized"
	assert_equal "$(rows account)" $((before + 1))
}

@test "acme_eab: certbot with --eab-kid --eab-hmac-key gets a certificate the root verifies; the key is bound" {
	eab_ca
	eab_add eab certbot
	local c="$BATS_TEST_TMPDIR/certbot"
	run -0 --separate-stderr env REQUESTS_CA_BUNDLE="$ROOT" certbot certonly --standalone \
		--non-interactive --agree-tos --no-eff-email -m ops@acme.test \
		--server "$DIRURL" --eab-kid "$KID" --eab-hmac-key "$HMAC" \
		--http-01-port "$HTTP01" --http-01-address 127.0.0.1 \
		--config-dir "$c/conf" --work-dir "$c/work" --logs-dir "$c/logs" -d web.acme.test
	local crt="$c/conf/live/web.acme.test/cert.pem"
	run -0 openssl verify -CAfile "$ROOT" -untrusted "$c/conf/live/web.acme.test/chain.pem" "$crt"
	assert_output "$crt: OK"
	local acct
	acct=$(bound_account "$KID")
	assert_equal "$(eab_row "$KID")" "bound|$acct"
}

@test "acme_eab: lego without a binding stops at the directory's externalAccountRequired; no account made" {
	eab_ca
	local before
	before=$(rows account)
	run -1 --separate-stderr env LEGO_CA_CERTIFICATES="$ROOT" lego --server "$DIRURL" \
		--path "$BATS_TEST_TMPDIR/lego" -a -m ops@acme.test \
		-d web.acme.test --http --http.port "127.0.0.1:$HTTP01" run
	assert_regex "$stderr" "Server requires External Account Binding"
	assert_equal "$(rows account)" "$before"
}

# ---- refusals ----------------------------------------------------------------------

@test "acme_eab: a binding is used once: bound, the account orders; a second account key with it is unauthorized; the first key gets its account back" {
	eab_ca
	eab_add eab
	local before
	before=$(rows account)
	run -0 cli eab
	assert_equal "${lines[0]}" "201 -"
	local acct=${lines[1]}
	assert_equal "${lines[2]}" "201 -"
	assert_equal "${lines[3]}" "401 unauthorized"
	assert_equal "${lines[4]}" "200 -"
	assert_equal "$(eab_row "$KID")" "bound|$acct"
	assert_equal "$(bound_account "$KID")" "$acct"
	assert_equal "$(rows account)" $((before + 1))
	run -0 grep -c "ca-acme: external account binding: acme eab: the key is bound to another account already" "$LOG"
	assert_output 1
}

@test "acme_eab: eight account keys sent at once with one binding: exactly one account is made and bound" {
	eab_ca
	eab_add eab
	local before
	before=$(rows account)
	run -0 cli eabrace
	assert_equal "${#lines[@]}" 8
	assert_equal "${lines[0]}" "201 -"
	assert_equal "$(grep -c '^401 unauthorized$' <<<"$output")" 7
	assert_equal "$(rows account)" $((before + 1))
	assert_equal "$(eab_row "$KID")" "bound|$(bound_account "$KID")"
}

@test "acme_eab: missing, unknown kid, wrong MAC, wrong url, another key's payload, alg none, HS512, a nonce, not a JWS: each refused, the key left unbound; then it binds" {
	eab_ca
	eab_add eab
	local before
	before=$(rows account)
	run -0 cli eabrefusals
	assert_equal "${lines[0]}" "400 externalAccountRequired"
	assert_equal "${lines[1]}" "401 unauthorized"
	assert_equal "${lines[2]}" "401 unauthorized"
	assert_equal "${lines[3]}" "401 unauthorized"
	assert_equal "${lines[4]}" "401 unauthorized"
	assert_equal "${lines[5]}" "401 unauthorized"
	assert_equal "${lines[6]}" "401 unauthorized"
	assert_equal "${lines[7]}" "400 malformed"
	assert_equal "${lines[8]}" "400 malformed"
	assert_equal "${lines[9]}" "201 -"
	assert_equal "${#lines[@]}" 10
	run -0 grep -c "^ca-acme: external account binding: " "$LOG"
	assert_output 8
	# Each said in one line of its own, never the request's bytes.
	run -0 grep "^ca-acme: external account binding: " "$LOG"
	assert_line "ca-acme: external account binding: acme eab: unknown key ID"
	assert_line "ca-acme: external account binding: acme eab: unauthorized: bad MAC"
	assert_line "ca-acme: external account binding: acme eab: unauthorized: the url is not the request's"
	assert_line "ca-acme: external account binding: acme eab: unauthorized: the binding is for another account key"
	assert_line "ca-acme: external account binding: acme eab: alg refused: only HS256"
	refute_output --partial AAAAAAAAAAAAAAAAAAAAAA
	refute_output --partial new-order
	assert_equal "$(rows account)" $((before + 1))
	assert_equal "$(eab_row "$KID" | cut -d'|' -f1)" bound
}

@test "acme_eab: a key of another provisioner is unknown here" {
	eab_ca
	eab_add acme
	run -0 cli eabbind
	assert_output "401 unauthorized"
	assert_equal "$(eab_row "$KID")" "valid|-"
}

@test "acme_eab: an account of the open provisioner is no account of the requireEAB one, by kid or by key" {
	eab_ca
	eab_add eab
	local before
	before=$(rows order)
	run -0 cli eabkid
	assert_equal "${lines[0]}" "201 -"
	assert_equal "${lines[1]}" "401 unauthorized"
	assert_equal "${lines[2]}" "401 unauthorized"
	assert_equal "${lines[3]}" "401 unauthorized"
	assert_equal "$(eab_row "$KID")" "valid|-"
	assert_equal "$(rows order)" "$before"
}

@test "acme_eab: without requireEAB a valid binding is accepted and bound, a bad one refused; none is not required" {
	eab_ca
	eab_add acme
	DIRURL=$OPEN_DIR run -0 cli eabbind
	assert_output "201 -"
	assert_equal "$(eab_row "$KID" | cut -d'|' -f1)" bound
	DIRURL=$OPEN_DIR HMAC=$(printf 'x%.0s' $(seq 43)) run -0 cli eabbind
	assert_output "401 unauthorized"
	DIRURL=$OPEN_DIR run -0 cli eabnone
	assert_output "201 -"
	run -0 curl -sS --cacert "$ROOT" "$OPEN_DIR"
	assert_equal "$(jq .meta.externalAccountRequired <<<"$output")" false
	run -0 curl -sS --cacert "$ROOT" "$DIRURL"
	assert_equal "$(jq .meta.externalAccountRequired <<<"$output")" true
}
