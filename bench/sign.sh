#!/usr/bin/env bash
# bench/sign.sh: cost of one stateless certificate, ca-sign against
# `openssl x509 -req`, on the same CSR and the same intermediate, measured
# in the same run.  Expects `make` to have built bin/; builds nothing.
#
#   bash bench/sign.sh [-n RUNS] [--rounds R] [--warmup N] [--iterations N]
#                      [--out DIR] [--profile]
#
# Tools: hyperfine, openssl, jq, dash, /usr/bin/time; valgrind for --profile.
# See bench/README.md for what each figure means.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

prog=${0##*/}
runs=100
warmup=5
out=
profile=0
iterations=
rounds=5

usage() {
	cat <<EOF
usage: $prog [-n RUNS] [--rounds R] [--warmup N] [--iterations N] [--out DIR] [--profile]
  -n RUNS      timed runs per command (default 100, at least 50 recommended)
  --rounds R   split the runs into R rounds that each time every command,
               then pool them (default 5)
  --warmup N   untimed runs before each command in each round (default 5)
  --iterations N  PBKDF2 iterations of the intermediate key, passed to
               ca-init --key-iterations (default: ca-init's own choice)
  --out DIR    keep the hyperfine JSON/markdown exports and the summary here
  --profile    also count instructions with valgrind (callgrind): totals
               and where ca-sign's instructions go
EOF
	exit "${1:-0}"
}

while [ $# -gt 0 ]; do
	case $1 in
	-n) [ $# -ge 2 ] || usage 2; runs=$2; shift 2 ;;
	--warmup) [ $# -ge 2 ] || usage 2; warmup=$2; shift 2 ;;
	--rounds) [ $# -ge 2 ] || usage 2; rounds=$2; shift 2 ;;
	--iterations) [ $# -ge 2 ] || usage 2; iterations=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || usage 2; out=$2; shift 2 ;;
	--profile) profile=1; shift ;;
	-h|--help) usage 0 ;;
	*) echo "$prog: unknown argument: $1" >&2; usage 2 ;;
	esac
done
case $runs in ''|*[!0-9]*) die "-n: a number" ;; esac
case $warmup in ''|*[!0-9]*) die "--warmup: a number" ;; esac
case $rounds in ''|0|*[!0-9]*) die "--rounds: a positive number" ;; esac
case $iterations in *[!0-9]*) die "--iterations: a number" ;; esac

top=$(cd "$(dirname "$0")/.." && pwd)
casign=$top/bin/ca-sign
cainit=$top/bin/ca-init
for b in "$casign" "$cainit"; do
	[ -x "$b" ] || die "$b not found: run make first"
done
for t in hyperfine openssl jq dash; do
	command -v "$t" >/dev/null || die "$t is needed"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is needed (Debian package time)"
if [ "$profile" = 1 ]; then
	for t in valgrind callgrind_annotate; do
		command -v "$t" >/dev/null || die "--profile needs $t (Debian package valgrind)"
	done
fi

# OpenSSL's own defaults (configuration file, CA bundle) for every peer,
# whatever the caller's environment says; the "lean" row turns them off.
unset OPENSSL_CONF SSL_CERT_FILE SSL_CERT_DIR

# The password and keys below are secrets: the programs refuse them open
# to group or others.
umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/inca-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ -n "$out" ]; then
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	res=$out
	rm -f "$res"/sign-round*.json "$res"/noshell-round*.json
else
	res=$work/results
	mkdir -p "$res"
fi

# Single-quote a string for the benchmark shell (dash).
q() {
	local s=${1//\'/\'\\\'\'}
	printf "'%s'" "$s"
}

# --- inputs -----------------------------------------------------------------

echo "setting up in $work" >&2
openssl rand -hex 24 >"$work/password"
"$cainit" --dir "$work/ca" --password-file "$work/password" \
    ${iterations:+--key-iterations "$iterations"} >/dev/null
crt=$work/ca/certs/intermediate_ca.crt
enckey=$work/ca/secrets/intermediate_ca_key
# The same key, unencrypted PKCS#8: the input openssl gets.
openssl pkcs8 -in "$enckey" -passin "file:$work/password" -out "$work/int.key"
key=$work/int.key
name=bench.example.com
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$work/leaf.key" -subj "/CN=$name" \
    -addext "subjectAltName=DNS:$name" -out "$work/csr.pem" 2>/dev/null
csr=$work/csr.pem
serial=0x$(openssl rand -hex 16)
# PBKDF2 iteration count of the encrypted intermediate key, for the KDF rows.
iterhex=$(openssl asn1parse -in "$enckey" |
    awk '/:PBKDF2/ {f = 1} f && /INTEGER/ {sub(/.*:/, ""); print; exit}')
[ -n "$iterhex" ] || die "cannot read the PBKDF2 iteration count of $enckey"
iter=$((16#$iterhex))
kdf="openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt pass:bench -kdfopt hexsalt:0011223344556677 PBKDF2"
# 1 iteration (the command's own cost), the key's count, and 20000 for a
# per-iteration figure that start-up noise does not swamp.
kdfnames=() kdfcmds=()
for n in 1 "$iter" 20000; do
	case " ${kdfcmds[*]} " in *" iter:$n "*) continue ;; esac
	if [ "$n" = 1 ]; then w=iteration; else w=iterations; fi
	kdfnames+=("openssl kdf PBKDF2-SHA256, $n $w")
	kdfcmds+=("${kdf/ PBKDF2/ -kdfopt iter:$n PBKDF2}")
done
# ca-sign's leaf profile, for the openssl row that makes the same certificate.
cat >"$work/leaf.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:$name
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

# The commands, as the benchmark shell runs them.  `exec` keeps the
# shell's own cost to its start, which hyperfine measures and subtracts.
Q_SIGN=$(q "$casign")
Q_CRT=$(q "$crt")
Q_KEY=$(q "$key")
Q_ENCKEY=$(q "$enckey")
Q_PW=$(q "$work/password")
Q_CSR=$(q "$csr")
Q_EXT=$(q "$work/leaf.ext")
LEAN='OPENSSL_CONF=/dev/null SSL_CERT_FILE=/dev/null SSL_CERT_DIR=/nonexistent'

labels=(
	"ca-sign, plain key"
	"ca-sign, encrypted key"
	"openssl x509 -req"
	"openssl x509 -req, lean"
	"openssl version"
)
cmds=(
	"exec $Q_SIGN --ca-cert $Q_CRT --ca-key $Q_KEY < $Q_CSR"
	"exec $Q_SIGN --ca-cert $Q_CRT --ca-key $Q_ENCKEY --password-file $Q_PW < $Q_CSR"
	"exec openssl x509 -req -in $Q_CSR -CA $Q_CRT -CAkey $Q_KEY -days 1 -set_serial $serial"
	"$LEAN exec openssl x509 -req -in $Q_CSR -CA $Q_CRT -CAkey $Q_KEY -days 1 -set_serial $serial -extfile $Q_EXT"
	"exec openssl version"
)

# Every command must work before it is timed.
for i in "${!cmds[@]}"; do
	dash -c "${cmds[$i]}" >"$work/check.out" 2>"$work/check.err" ||
	    die "${labels[$i]} failed: $(cat "$work/check.err")"
done
dash -c "${cmds[0]}" >"$work/chain.pem"
openssl verify -CAfile "$work/ca/certs/root_ca.crt" -untrusted "$crt" \
    "$work/chain.pem" >/dev/null || die "ca-sign's certificate does not verify"

# --- machine ----------------------------------------------------------------

cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
{
	echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpu:       ${cpu:-unknown} ($(nproc) online CPUs)"
	echo "features:  $(awk '/^flags/ {for (i = 3; i <= NF; i++) if ($i ~ /^(hypervisor|aes|avx2|avx512f|sha_ni|adx|bmi2)$/) printf "%s ", $i; exit}' /proc/cpuinfo)"
	echo "kernel:    $(uname -sr)"
	echo "openssl:   $(openssl version)"
	echo "hyperfine: $(hyperfine --version)"
	echo "inca:      $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$top" diff --quiet HEAD -- lib ca-sign 2>/dev/null || echo ' (lib/ or ca-sign/ modified)')"
	echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start"
	echo "runs:      $(( (runs + rounds - 1) / rounds * rounds )) timed per command, in $rounds rounds of $(( (runs + rounds - 1) / rounds )) after $warmup warm-up"
} | tee "$res/machine.txt"

# --- timings ----------------------------------------------------------------

names=()
for l in "${labels[@]}"; do
	names+=(-n "$l")
done
# Without a shell: the same openssl commands exec'd directly (a check on
# the subtraction), the shell's own start, and OpenSSL's PBKDF2 alone.
nsargs=(
	-n "openssl x509 -req, no shell"
	"openssl x509 -req -in $Q_CSR -CA $Q_CRT -CAkey $Q_KEY -days 1 -set_serial $serial"
	-n "openssl version, no shell" "openssl version"
	-n "dash -c :" "dash -c :"
)
for i in "${!kdfcmds[@]}"; do
	nsargs+=(-n "${kdfnames[$i]}" "${kdfcmds[$i]}")
done

# hyperfine times one command after another; a change of load in the
# middle would bias one row.  So the runs are split into rounds that each
# time every command, and the rounds are pooled.
per=$(( (runs + rounds - 1) / rounds ))
for r in $(seq 1 "$rounds"); do
	echo "round $r of $rounds, $per runs per command" >&2
	hyperfine --style basic -S dash -w "$warmup" -r "$per" \
	    --export-json "$res/sign-round$r.json" \
	    "${names[@]}" "${cmds[@]}" >"$work/hyperfine.log" 2>&1 ||
	    die "hyperfine: $(tail -n 5 "$work/hyperfine.log")"
	hyperfine --style basic -N -w "$warmup" -r "$per" \
	    --export-json "$res/noshell-round$r.json" \
	    "${nsargs[@]}" >"$work/hyperfine.log" 2>&1 ||
	    die "hyperfine: $(tail -n 5 "$work/hyperfine.log")"
done
pool "$res"/sign-round*.json >"$res/sign.json"
pool "$res"/noshell-round*.json >"$res/noshell.json"
echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at end" |
    tee -a "$res/machine.txt"

# --- peak memory ------------------------------------------------------------

# Median over 5 runs of /usr/bin/time -v's maximum resident set size, in KiB.
rss() {
	local i
	for i in 1 2 3 4 5; do
		/usr/bin/time -v -o "$work/time.txt" dash -c "$1" >/dev/null 2>&1
		awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt"
	done | sort -n | sed -n 3p
}
rsskb=()
for i in "${!cmds[@]}"; do
	rsskb+=("$(rss "${cmds[$i]}")")
done

# --- summary ----------------------------------------------------------------

ms() { # field $3 of result $2 in hyperfine export $1, seconds to milliseconds
	jq -r --argjson i "$2" ".results[\$i].$3 * 1000" "$1"
}
fmt() { awk -v x="$1" 'BEGIN {printf "%.2f", x}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

plain=$(ms "$res/sign.json" 0 median)
plainmin=$(ms "$res/sign.json" 0 min)
enc=$(ms "$res/sign.json" 1 median)
row() { # export, index, label, peak RSS
	local med min
	med=$(ms "$1" "$2" median)
	min=$(ms "$1" "$2" min)
	echo "| $3 | $(fmt "$med") | $(fmt "$(ms "$1" "$2" mean)") ± $(fmt "$(ms "$1" "$2" stddev)") | $(fmt "$min") | $(fmt "$(jq -r --argjson i "$2" '(.results[$i].user + .results[$i].system) * 1000' "$1")") | $4 | $(ratio "$med" "$plain") | $(ratio "$min" "$plainmin") |"
}
{
	echo
	echo "| command | median ms | mean ± σ ms | min ms | user+sys ms | peak RSS KiB | median / ca-sign plain | min / ca-sign plain |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	for i in "${!labels[@]}"; do
		row "$res/sign.json" "$i" "${labels[$i]}" "${rsskb[$i]}"
	done
	for i in $(seq 0 $((2 + ${#kdfcmds[@]}))); do
		row "$res/noshell.json" "$i" "$(jq -r --argjson i "$i" '.results[$i].command' "$res/noshell.json")" ""
	done
	echo
	osl=$(ms "$res/sign.json" 2 median)
	lean=$(ms "$res/sign.json" 3 median)
	echo "openssl x509 -req / ca-sign, plain key:        $(ratio "$osl" "$plain")x (medians)"
	echo "openssl x509 -req / ca-sign, encrypted key:    $(ratio "$osl" "$enc")x"
	echo "lean openssl x509 -req / ca-sign, plain key:   $(ratio "$lean" "$plain")x"
	for j in 2 3; do
		echo "  ${labels[$j]} / ca-sign plain, each round: $(jq -r --argjson j "$j" \
		    '.results[$j].median / .results[0].median * 100 | round / 100' \
		    "$res"/sign-round*.json | sort -n | tr '\n' ' ')"
	done
	echo "key decryption, encrypted - plain (medians):   $(fmt "$(awk -v a="$enc" -v b="$plain" 'BEGIN {print a - b}')") ms"
	k1=$(ms "$res/noshell.json" 3 median)
	for i in "${!kdfcmds[@]}"; do
		[ "$i" -gt 0 ] || continue
		n=${kdfcmds[$i]##*iter:}
		n=${n%% *}
		kn=$(ms "$res/noshell.json" $((3 + i)) median)
		echo "PBKDF2 alone, openssl kdf $n - 1 iterations: $(fmt "$(awk -v a="$kn" -v b="$k1" 'BEGIN {print a - b}')") ms, $(awk -v a="$kn" -v b="$k1" -v n="$n" 'BEGIN {printf "%.3f", 1000 * (a - b) / (n - 1)}') us per iteration"
	done
} | tee "$res/summary.md"

# --- instruction counts -----------------------------------------------------

[ "$profile" = 1 ] || exit 0

{
	echo
	echo "instructions (callgrind, millions; valgrind's CPU model: SHA-NI and"
	echo "AVX-512 paths of libcrypto are not taken, so the PBKDF2 count is high):"
	echo
	echo "| command | Minstr |"
	echo "|---|---:|"
	echo "| ${labels[0]} | $(mi "$(count sign "$csr" "$casign" --ca-cert "$crt" --ca-key "$key")") |"
	echo "| ${labels[1]} | $(mi "$(count enc "$csr" "$casign" --ca-cert "$crt" --ca-key "$enckey" --password-file "$work/password")") |"
	echo "| ${labels[2]} | $(mi "$(count osl /dev/null openssl x509 -req -in "$csr" -CA "$crt" -CAkey "$key" -days 1 -set_serial "$serial")") |"
	echo "| ${labels[3]} | $(mi "$(count lean /dev/null OPENSSL_CONF=/dev/null SSL_CERT_FILE=/dev/null SSL_CERT_DIR=/nonexistent openssl x509 -req -in "$csr" -CA "$crt" -CAkey "$key" -days 1 -set_serial "$serial" -extfile "$work/leaf.ext")") |"
	echo "| ${labels[4]} | $(mi "$(count ver /dev/null openssl version)") |"
	t=$work/sign.tree
	tot=$(awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}' "$t")
	pct() { awk -v x="$1" -v t="$tot" 'BEGIN {printf "%.2f | %4.1f%%", x / 1e6, 100 * x / t}'; }
	echo
	echo "where ca-sign (plain key) spends its instructions:"
	echo
	echo "| phase | Minstr | share |"
	echo "|---|---:|---:|"
	echo "| total | $(pct "$tot") |"
	echo "| dynamic loader: map and relocate $(ldd "$casign" | awk '$1 ~ /^lib/ {sub(/\.so.*/, "", $1); printf "%s%s", s, $1; s = ", "}') | $(pct "$(incl "$t" _dl_start)") |"
	echo "| main | $(pct "$(incl "$t" main)") |"
	main=$(incl "$t" main)
	certs=$(incl "$t" pem_load_certs)
	keyf=$(incl "$t" pem_load_key_file)
	checks=$(( $(incl "$t" X509_check_ca) + $(incl "$t" X509_check_private_key) ))
	csrin=$(incl "$t" pem_load_csr)
	csrck=$(incl "$t" csr_check)
	issue=$(incl "$t" x509_issue)
	setpub=$(incl "$t" X509_set_pubkey)
	rand=$(incl "$t" RAND_bytes)
	sign=$(incl "$t" X509_sign)
	verify=$(incl "$t" X509_verify)
	pemout=$(incl "$t" pem_cert)
	echo "| . issuer certificate: pem_load_certs (d2i_X509 decodes its public key through OSSL_DECODER) | $(pct "$certs") |"
	echo "| . issuer key: pem_load_key_file | $(pct "$keyf") |"
	echo "| . X509_check_ca (extension cache) + X509_check_private_key | $(pct "$checks") |"
	echo "| . CSR: pem_load_csr (d2i_X509_REQ, public key through OSSL_DECODER) | $(pct "$csrin") |"
	echo "| . CSR signature check (csr_check: X509_REQ_verify) | $(pct "$csrck") |"
	echo "| . x509_issue | $(pct "$issue") |"
	echo "| . . X509_set_pubkey (OSSL_ENCODER; 0 when the request's key is copied as is) | $(pct "$setpub") |"
	echo "| . . RAND_bytes for the serial (first use: DRBG set-up, first cipher fetch) | $(pct "$rand") |"
	echo "| . . X509_sign (ECDSA P-256) | $(pct "$sign") |"
	echo "| . . X509_verify (our own signature, issuer key) | $(pct "$verify") |"
	echo "| . . lint, names, extensions, rest | $(pct "$((issue - setpub - rand - sign - verify))") |"
	echo "| . output: PEM encoding of the chain | $(pct "$pemout") |"
	echo "| . rest of main (options, file reads, names, frees) | $(pct "$((main - certs - keyf - checks - csrin - csrck - issue - pemout))") |"
	echo "| exit handlers (OPENSSL_cleanup via atexit) | $(pct "$(incl "$t" exit)") |"
	echo "| across phases: OSSL_DECODER_CTX_new_for_pkey | $(pct "$(incl "$t" OSSL_DECODER_CTX_new_for_pkey)") |"
	echo "| across phases: OSSL_ENCODER_CTX_new_for_pkey | $(pct "$(incl "$t" OSSL_ENCODER_CTX_new_for_pkey)") |"
	e=$work/enc.tree
	echo
	echo "encrypted key: PKCS5_v2_PBE_keyivgen_ex (PBKDF2) $(mi "$(incl "$e" PKCS5_v2_PBE_keyivgen_ex)") Minstr," \
	    "EVP_PKCS82PKEY $(mi "$(incl "$e" EVP_PKCS82PKEY)") Minstr"
	o=$work/osl.tree
	echo "openssl x509 -req: X509_STORE_set_default_paths_ex (system CA bundle)" \
	    "$(mi "$(incl "$o" X509_STORE_set_default_paths_ex)") Minstr"
} | tee "$res/profile.md"
