#!/usr/bin/env bats
# Keys a CA must never certify, and issuer paths it must never extend.
# The requests are forged by helpers/forge.py; where the key's arithmetic
# allows it their signatures verify, so only the key rule stands between
# them and a certificate.  Each is refused statelessly, offline and
# through --api (the token left unspent), and as a CA or provisioner key.

load common
load helpers/authority

FORGE="$BATS_TEST_DIRNAME/helpers/forge.py"
BAD_E="1 2 3 65535 65539 65538"

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	make_openssl_ca "$D"
	make_ca
	local e
	for e in $BAD_E; do
		"$PY" "$FORGE" rsa --e "$e" >"$D/e$e.csr"
	done
	"$PY" "$FORGE" rsa --kind even >"$D/even.csr"
	"$PY" "$FORGE" rsa --kind factor --factor 3 >"$D/f3.csr"
	"$PY" "$FORGE" rsa --kind factor --factor 997 >"$D/f997.csr"
	"$PY" "$FORGE" rsa --bits 1024 >"$D/b1024.csr"
	"$PY" "$FORGE" rsa --kind big --bits 8200 >"$D/b8200.csr"
	"$PY" "$FORGE" rsa >"$D/good-rsa.csr"
	"$PY" "$FORGE" ec-infinity >"$D/inf.csr"
	"$PY" "$FORGE" ec-offcurve >"$D/offcurve.csr"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$D/forged.key" -out "$D/good.csr" -subj /CN=forged.example.com \
		-addext subjectAltName=DNS:forged.example.com 2>/dev/null
}

sign() { ca-sign --ca-cert "$D/int.crt" --ca-key "$D/int.key" "$@"; }
tok() { mint --sub forged.example.com; }

# reason FILE: why the key of the request FILE is refused.
reason() {
	case ${1##*/} in
	e[0-9]*.csr) e=${1##*/e}; echo "certificate request: RSA public exponent ${e%.csr}: only 65537 accepted" ;;
	even.csr) echo "certificate request: RSA modulus is even" ;;
	f3.csr) echo "certificate request: RSA modulus has the small factor 3" ;;
	f997.csr) echo "certificate request: RSA modulus has the small factor 997" ;;
	b1024.csr) echo "certificate request: RSA key of 1024 bits: at least 2048 required" ;;
	b8200.csr) echo "certificate request: RSA key of 8200 bits: at most 8192 accepted" ;;
	inf.csr) echo "certificate request: EC public key is not a valid point of its curve: point at infinity" ;;
	offcurve.csr) echo "certificate request: unreadable public key: decode error" ;;
	esac
}

BAD_CSRS="e1 e2 e3 e65535 e65539 e65538 even f3 f997 b1024 b8200 inf offcurve"

# A CA made by openssl with the given extensions, signed by the test root.
# ca_with NAME EXT...: $D/NAME.crt and $D/NAME.key.
ca_with() {
	local n=$1
	shift
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$D/$n.key" -out "$D/$n.csr" -subj "/CN=$n" 2>/dev/null
	printf '%s\n' "$@" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >"$D/$n.ext"
	openssl x509 -req -in "$D/$n.csr" -CA "$D/root.crt" -CAkey "$D/root.key" \
		-set_serial 7 -days 300 -extfile "$D/$n.ext" -out "$D/$n.crt" 2>/dev/null
}

# chain_of DIR CN EXT...: in DIR, a self-signed root of CN with the
# extensions EXT (openssl's -addext), an intermediate under it (CN "Int",
# CA:TRUE with keyCertSign, no path length: int.crt, int.key) and
# chain.crt (the intermediate, then the root).
chain_of() {
	local d=$1 cn=$2 e add=()
	shift 2
	for e in "$@"; do add+=(-addext "$e"); done
	rm -rf "$d"
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/root.key" -out "$d/root.crt" -subj "/CN=$cn" -days 300 \
		"${add[@]}" 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/int.key" -out "$d/int.csr" -subj "/CN=Int" 2>/dev/null
	printf '%s\n' "basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign,cRLSign" \
		"subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >"$d/int.ext"
	openssl x509 -req -in "$d/int.csr" -CA "$d/root.crt" -CAkey "$d/root.key" \
		-set_serial 3 -days 200 -extfile "$d/int.ext" -out "$d/int.crt" 2>/dev/null
	cat "$d/int.crt" "$d/root.crt" >"$d/chain.crt"
}

certs_in() { grep -c 'BEGIN CERTIFICATE' "$1"; }

# ---- the forged requests are genuine ------------------------------------

@test "attacks_keys: ok the forged signatures verify (e = 1, 2, 3, 65535, 65539; small factors)" {
	for f in e1 e2 e3 e65535 e65539 f3 f997 b1024 good-rsa; do
		run -0 openssl req -in "$D/$f.csr" -noout -verify
	done
	run -0 openssl req -in "$D/e1.csr" -noout -text
	assert_output --partial "Exponent: 1 (0x1)"
	run -0 openssl req -in "$D/e2.csr" -noout -text
	assert_output --partial "Exponent: 2 (0x2)"
}

@test "attacks_keys: ok a forged RSA request with e = 65537 is issued (the forger is sound)" {
	run -0 --separate-stderr sign <"$D/good-rsa.csr"
	assert_equal "$stderr" ""
	printf '%s\n' "$output" >"$D/good-rsa.pem"
	run -0 openssl x509 -in "$D/good-rsa.pem" -noout -ext subjectAltName
	assert_line --index 1 "    DNS:forged.example.com"
}

# ---- RSA and EC keys in requests ----------------------------------------

@test "attacks_keys: fail RSA exponents other than 65537 in a request, stateless (exit 3)" {
	for e in $BAD_E; do
		run -3 --separate-stderr sign <"$D/e$e.csr"
		assert_output ""
		assert_equal "$stderr" "ca-sign: certificate request: RSA public exponent $e: only 65537 accepted"
	done
}

@test "attacks_keys: fail even modulus and small factors 3 and 997, stateless (exit 3)" {
	for f in even f3 f997; do
		run -3 --separate-stderr sign <"$D/$f.csr"
		assert_output ""
		assert_equal "$stderr" "ca-sign: $(reason "$D/$f.csr")"
	done
}

@test "attacks_keys: fail RSA 1024 and 8200 bits, stateless (exit 3)" {
	for f in b1024 b8200; do
		run -3 --separate-stderr sign <"$D/$f.csr"
		assert_output ""
		assert_equal "$stderr" "ca-sign: $(reason "$D/$f.csr")"
	done
}

@test "attacks_keys: fail EC point at infinity and off the curve, stateless (exit 3)" {
	for f in inf offcurve; do
		run -3 --separate-stderr sign <"$D/$f.csr"
		assert_output ""
		assert_equal "$stderr" "ca-sign: $(reason "$D/$f.csr")"
	done
}

@test "attacks_keys: fail every forged key as intermediate profile too (exit 3)" {
	make_openssl_ca "$D/ca1"
	for f in $BAD_CSRS; do
		run -3 --separate-stderr ca-sign --ca-cert "$D/ca1/root.crt" --ca-key "$D/ca1/root.key" \
			--profile intermediate <"$D/$f.csr"
		assert_output ""
		assert_equal "$stderr" "ca-sign: $(reason "$D/$f.csr")"
	done
}

@test "attacks_keys: fail every forged key offline and through --api, token unspent" {
	for f in $BAD_CSRS; do
		t=$(tok)
		refused 3 400 "$(reason "$D/$f.csr")" "$t" "$D/$f.csr"
		run -0 db "select count(*) from used_tokens where jti = '$(claims "$t" | jq -r .jti)'"
		assert_output 0
	done
	# The same token then buys one good certificate.
	used0=$(used_count)
	run -0 --separate-stderr cli_sign "$t" "$D/good.csr"
	assert_equal "$(used_count)" $((used0 + 1))
}

# ---- CA and provisioner keys --------------------------------------------

@test "attacks_keys: fail stateless CA key with e = 3, e = 65539 or 1024 bits (exit 3)" {
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-pkeyopt rsa_keygen_pubexp:3 -out "$D/ca-e3.key" 2>/dev/null
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-pkeyopt rsa_keygen_pubexp:65539 -out "$D/ca-e65539.key" 2>/dev/null
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$D/ca-b1024.key" 2>/dev/null
	for k in e3 e65539 b1024; do
		openssl req -x509 -key "$D/ca-$k.key" -out "$D/ca-$k.crt" -subj "/CN=Bad $k" -days 30 \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	done
	run -3 --separate-stderr ca-sign --ca-cert "$D/ca-e3.crt" --ca-key "$D/ca-e3.key" <"$D/good.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: $D/ca-e3.key: RSA public exponent 3: only 65537 accepted"
	run -3 --separate-stderr ca-sign --ca-cert "$D/ca-e65539.crt" --ca-key "$D/ca-e65539.key" <"$D/good.csr"
	assert_equal "$stderr" "ca-sign: $D/ca-e65539.key: RSA public exponent 65539: only 65537 accepted"
	run -3 --separate-stderr ca-sign --ca-cert "$D/ca-b1024.crt" --ca-key "$D/ca-b1024.key" <"$D/good.csr"
	assert_equal "$stderr" "ca-sign: $D/ca-b1024.key: RSA key of 1024 bits: at least 2048 required"
	# A brought root with such a key is refused by ca-init, nothing made.
	run -3 --separate-stderr ca-init --dir "$D/byo-e3" --password-file "$D/pw" \
		--root-cert "$D/ca-e3.crt" --root-key "$D/ca-e3.key"
	assert_equal "$stderr" "ca-init: $D/ca-e3.key: RSA public exponent 3: only 65537 accepted"
	[ ! -e "$D/byo-e3" ]
}

@test "attacks_keys: fail provisioner JWK with e = 3 (exit 4, a configuration error), token unspent" {
	"$PY" -c '
import json, sys
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto import jwk
k = rsa.generate_private_key(3, 2048).public_key()
j = json.loads(jwk.JWK.from_pyca(k).export_public())
j["kid"] = sys.argv[1]
print(json.dumps(j))' "$(jq -r '.authority.provisioners[0].key.kid' "$D/ca.json.orig")" >"$D/rsa3.jwk"
	cp -a "$CA" "$D/ca-rsa3"
	jq --slurpfile k "$D/rsa3.jwk" '.authority.provisioners[0].key = $k[0]' \
		"$D/ca.json.orig" | put_file "$D/ca-rsa3/config/ca.json"
	t=$(tok)
	used0=$(dbq "$D/ca-rsa3" 'select count(*) from used_tokens')
	run -4 --separate-stderr ca-sign --offline --dir "$D/ca-rsa3" --token "$t" <"$D/good.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: ca.json: authority.provisioners[0].key: jwk: RSA public exponent 3: only 65537 accepted"
	assert_equal "$(dbq "$D/ca-rsa3" 'select count(*) from used_tokens')" "$used0"
}

# ---- compressed EC points -----------------------------------------------

@test "attacks_keys: ok compressed P-256 and P-384 points come out uncompressed, stateless" {
	for c in P-256 P-384; do
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:$c -out "$D/c.key" 2>/dev/null
		openssl ec -in "$D/c.key" -conv_form compressed -out "$D/cc.key" 2>/dev/null
		openssl req -new -key "$D/cc.key" -out "$D/cc.csr" -subj /CN=z.example.com \
			-addext subjectAltName=DNS:z.example.com 2>/dev/null
		# The request carries the compressed point (0x02 or 0x03)...
		run -0 openssl req -in "$D/cc.csr" -noout -pubkey
		printf '%s\n' "$output" | openssl pkey -pubin -outform DER | od -An -v -tx1 | tr -d ' \n' >"$D/csr-spki.hex"
		openssl ec -in "$D/c.key" -pubout -conv_form uncompressed -outform DER 2>/dev/null | od -An -v -tx1 | tr -d ' \n' >"$D/unc.hex"
		openssl ec -in "$D/c.key" -pubout -conv_form compressed -outform DER 2>/dev/null | od -An -v -tx1 | tr -d ' \n' >"$D/cmp.hex"
		assert_equal "$(cat "$D/csr-spki.hex")" "$(cat "$D/cmp.hex")"
		# ... the certificate the uncompressed one (0x04), byte for byte.
		run -0 --separate-stderr sign <"$D/cc.csr"
		printf '%s\n' "$output" >"$D/cc.pem"
		run -0 sh -c "openssl x509 -in '$D/cc.pem' -noout -pubkey | openssl pkey -pubin -outform DER | od -An -v -tx1 | tr -d ' \n'"
		assert_output "$(cat "$D/unc.hex")"
		run -0 openssl verify -x509_strict -CAfile "$D/root.crt" -untrusted "$D/int.crt" "$D/cc.pem"
	done
}

@test "attacks_keys: ok compressed point comes out uncompressed offline and through --api" {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/o.key" 2>/dev/null
	openssl ec -in "$D/o.key" -conv_form compressed -out "$D/oc.key" 2>/dev/null
	openssl req -new -key "$D/oc.key" -out "$D/oc.csr" -subj /CN=forged.example.com \
		-addext subjectAltName=DNS:forged.example.com 2>/dev/null
	unc=$(openssl ec -in "$D/o.key" -pubout -conv_form uncompressed -outform DER 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
	issued "$(tok)" "$(tok)" "$D/oc.csr"
	for c in "$D/cli.pem" "$D/api.pem"; do
		run -0 sh -c "openssl x509 -in '$c' -noout -pubkey | openssl pkey -pubin -outform DER | od -An -v -tx1 | tr -d ' \n'"
		assert_output "$unc"
	done
}

# ---- the issuer path ----------------------------------------------------

@test "attacks_keys: fail CA:TRUE sub-CA under a pathlen-0 issuer (exit 1)" {
	run -1 --separate-stderr sign --profile intermediate <"$D/good.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: issuer path: issuer \"Test Intermediate CA\" has path length 0: no room for 1 CA certificate below it"
	# A leaf under it is what pathlen 0 allows.
	run -0 sign <"$D/good.csr"
}

@test "attacks_keys: fail any profile under an issuer without keyCertSign (exit 3 or 1)" {
	ca_with nocertsign "basicConstraints=critical,CA:TRUE" "keyUsage=critical,digitalSignature,cRLSign"
	for p in leaf intermediate; do
		run -3 --separate-stderr ca-sign --ca-cert "$D/nocertsign.crt" --ca-key "$D/nocertsign.key" \
			--profile $p <"$D/good.csr"
		assert_output ""
		assert_equal "$stderr" "ca-sign: $D/nocertsign.crt is not a CA certificate"
	done
	# Higher up the chain the lint finds it, and names the certificate
	# whole, its CN up to the 64 bytes a CN may have.
	local cn
	for cn in "Root NoSign" "Root NoSign $(printf '%052d' 0)"; do
		chain_of "$D/ns" "$cn" "basicConstraints=critical,CA:TRUE" \
			"keyUsage=critical,digitalSignature,cRLSign"
		for p in leaf intermediate; do
			run -1 --separate-stderr ca-sign --ca-cert "$D/ns/chain.crt" --ca-key "$D/ns/int.key" \
				--profile $p <"$D/good.csr"
			assert_output ""
			assert_equal "$stderr" "ca-sign: issuer path: chain certificate \"$cn\" may not sign certificates (no keyCertSign)"
		done
	done
	assert_equal "${#cn}" 64
}

@test "attacks_keys: fail issuer that is CA:FALSE or v1 (exit 3), key usage only (exit 1)" {
	ca_with cafalse "basicConstraints=critical,CA:FALSE" "keyUsage=critical,keyCertSign"
	run -3 --separate-stderr ca-sign --ca-cert "$D/cafalse.crt" --ca-key "$D/cafalse.key" <"$D/good.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: $D/cafalse.crt is not a CA certificate"
	ca_with kuonly "keyUsage=critical,keyCertSign"
	run -1 --separate-stderr ca-sign --ca-cert "$D/kuonly.crt" --ca-key "$D/kuonly.key" <"$D/good.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: issuer path: issuer \"kuonly\" is not a CA (basicConstraints CA:TRUE)"
	# A version 1 self-signed certificate (no extensions at all).
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/v1.key" \
		-out "$D/v1.crt" -subj /CN=v1 -days 30 -config /dev/null 2>/dev/null
	run -0 openssl x509 -in "$D/v1.crt" -noout -text
	assert_output --partial "Version: 1 (0x0)"
	run -3 --separate-stderr ca-sign --ca-cert "$D/v1.crt" --ca-key "$D/v1.key" <"$D/good.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: issuer certificate has no subject key identifier"
}

@test "attacks_keys: fail leaf whose chain has a pathlen-0 root above an intermediate (exit 1)" {
	chain_of "$D/p0" "Root P0" "basicConstraints=critical,CA:TRUE,pathlen:0" \
		"keyUsage=critical,keyCertSign,cRLSign"
	run -1 --separate-stderr ca-sign --ca-cert "$D/p0/chain.crt" --ca-key "$D/p0/int.key" <"$D/good.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: issuer path: chain certificate \"Root P0\" has path length 0: no room for 1 CA certificate below it"
	# Given alone, the intermediate's own constraints allow the leaf.
	run -0 ca-sign --ca-cert "$D/p0/int.crt" --ca-key "$D/p0/int.key" <"$D/good.csr"
}

@test "attacks_keys: fail chain file whose next certificate is not the issuer (exit 1)" {
	make_openssl_ca "$D/other"
	cat "$D/int.crt" "$D/other/root.crt" >"$D/mixed.crt"
	run -1 --separate-stderr ca-sign --ca-cert "$D/mixed.crt" --ca-key "$D/int.key" <"$D/good.csr"
	assert_output ""
	assert_equal "$stderr" "ca-sign: issuer path: chain certificate \"Test Root CA\" is not the issuer of the certificate before it"
}

@test "attacks_keys: ok sub-CA signed by a pathlen-1 root: the chain handed out has no root" {
	run -0 --separate-stderr ca-sign --ca-cert "$D/root.crt" --ca-key "$D/root.key" \
		--profile intermediate <"$D/good.csr"
	printf '%s\n' "$output" >"$D/sub.pem"
	assert_equal "$(certs_in "$D/sub.pem")" 1
	run -0 openssl x509 -in "$D/sub.pem" -noout -subject -ext basicConstraints
	assert_line --index 0 "subject=CN = forged.example.com"
	assert_line --index 2 "    CA:TRUE, pathlen:0"
	run -0 --separate-stderr ca-sign --ca-cert "$D/root.crt" --ca-key "$D/root.key" \
		--profile intermediate --json <"$D/good.csr"
	assert_equal "$(jq -r '.certChain | length' <<<"$output")" 1
	assert_equal "$(jq -r 'has("ca")' <<<"$output")" false
	# A chain file carrying the root: the root is still left out.
	cat "$D/int.crt" "$D/root.crt" >"$D/int-root.crt"
	run -0 --separate-stderr ca-sign --ca-cert "$D/int-root.crt" --ca-key "$D/int.key" <"$D/good.csr"
	printf '%s\n' "$output" >"$D/leaf-chain.pem"
	assert_equal "$(certs_in "$D/leaf-chain.pem")" 2
	run -0 sh -c "sed -n '/END CERTIFICATE/,\$p' '$D/leaf-chain.pem' | tail -n +2"
	assert_output "$(cat "$D/int.crt")"
}

@test "attacks_keys: ok offline and --api leave out a root appended to the intermediate file" {
	cp -a "$CA" "$D/ca-withroot"
	cat "$CA/certs/root_ca.crt" >>"$D/ca-withroot/certs/intermediate_ca.crt"
	run -0 --separate-stderr ca-sign --offline --dir "$D/ca-withroot" --token "$(tok)" <"$D/good.csr"
	printf '%s\n' "$output" >"$D/wr.pem"
	assert_equal "$(certs_in "$D/wr.pem")" 2
	run -0 sh -c "sed -n '/END CERTIFICATE/,\$p' '$D/wr.pem' | tail -n +2"
	assert_output "$(cat "$CA/certs/intermediate_ca.crt")"
	api_request "$(tok)" "$D/good.csr" >"$D/wr.json"
	run -0 --separate-stderr ca-sign --api --offline --dir "$D/ca-withroot" <"$D/wr.json"
	assert_equal "$(jq -r '.certChain | length' <<<"$output")" 2
	assert_equal "$(jq -r .ca <<<"$output")" "$(cat "$CA/certs/intermediate_ca.crt")"
}
