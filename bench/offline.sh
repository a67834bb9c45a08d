#!/usr/bin/env bash
# bench/offline.sh: cost of one certificate issued against a one-time token
# and recorded in the CA's database, `ca-sign --offline` (SQLite,
# synchronous=FULL), against `cfssl sign` (no token, no database) and
# `openssl ca -batch` (a text index, not synced), on the same CSR and the
# same intermediate, in the same run: per certificate, and for N
# certificates in a loop.  Expects `make` to have built bin/; builds nothing.
#
#   bash bench/offline.sh [-n RUNS] [--rounds R] [--warmup N] [--loop N]
#                         [--loop-rounds R] [--out DIR] [--profile]
#
# Tools: hyperfine, openssl, cfssl, sqlite3, strace, jq, dash, dd,
# /usr/bin/time, /usr/bin/python3 with jwcrypto (to decrypt the provisioner
# key once); valgrind for --profile.  See bench/README.md.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

prog=${0##*/}
runs=100
warmup=5
rounds=5
loop=1000
loop_rounds=3
out=
profile=0

usage() {
	cat <<EOF
usage: $prog [-n RUNS] [--rounds R] [--warmup N] [--loop N] [--loop-rounds R]
       [--out DIR] [--profile]
  -n RUNS          timed runs per command (default 100), split into rounds
  --rounds R       rounds that each time every command, pooled (default 5)
  --warmup N       untimed runs before each command in each round (default 5)
  --loop N         certificates per shell loop (default 1000; 0: no loops)
  --loop-rounds R  loops per command (default 3), each from a fresh CA state
  --out DIR        keep the raw exports and the summaries here
  --profile        also count instructions with valgrind (callgrind)
EOF
	exit "${1:-0}"
}

num() { # option value must be a number (positive when $3 is set)
	case $2 in ''|*[!0-9]*) die "$1: a number" ;; esac
	[ -z "${3:-}" ] || [ "$2" -gt 0 ] || die "$1: a positive number"
}

while [ $# -gt 0 ]; do
	case $1 in
	-n) [ $# -ge 2 ] || usage 2; runs=$2; shift 2 ;;
	--warmup) [ $# -ge 2 ] || usage 2; warmup=$2; shift 2 ;;
	--rounds) [ $# -ge 2 ] || usage 2; rounds=$2; shift 2 ;;
	--loop) [ $# -ge 2 ] || usage 2; loop=$2; shift 2 ;;
	--loop-rounds) [ $# -ge 2 ] || usage 2; loop_rounds=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || usage 2; out=$2; shift 2 ;;
	--profile) profile=1; shift ;;
	-h|--help) usage 0 ;;
	*) echo "$prog: unknown argument: $1" >&2; usage 2 ;;
	esac
done
num -n "$runs" 1
num --warmup "$warmup"
num --rounds "$rounds" 1
num --loop "$loop"
num --loop-rounds "$loop_rounds" 1

top=$(cd "$(dirname "$0")/.." && pwd)
casign=$top/bin/ca-sign
cainit=$top/bin/ca-init
catoken=$top/bin/ca-token
for b in "$casign" "$cainit" "$catoken"; do
	[ -x "$b" ] || die "$b not found: run make first"
done
for t in hyperfine openssl cfssl sqlite3 strace jq dash dd; do
	command -v "$t" >/dev/null || die "$t is needed"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is needed (Debian package time)"
/usr/bin/python3 -c 'import jwcrypto' 2>/dev/null ||
    die "/usr/bin/python3 with jwcrypto is needed (Debian package python3-jwcrypto)"
if [ "$profile" = 1 ]; then
	for t in valgrind callgrind_annotate; do
		command -v "$t" >/dev/null || die "--profile needs $t (Debian package valgrind)"
	done
fi

# OpenSSL's own defaults for every peer, whatever the caller's environment
# says; the "lean" row turns them off.
unset OPENSSL_CONF SSL_CERT_FILE SSL_CERT_DIR CA_DIR

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/inca-offline.XXXXXX")
shm=
cleanup() {
	rm -rf "$work"
	[ -z "$shm" ] || rm -rf "$shm"
}
trap cleanup EXIT
if [ ! -d /dev/shm ] || [ "$(stat -f -c %T /dev/shm)" != tmpfs ]; then
	die "/dev/shm is not a tmpfs: the CPU-bound row needs one"
fi
shm=$(mktemp -d /dev/shm/inca-offline.XXXXXX)
fstype=$(stat -f -c %T "$work")
case $fstype in tmpfs|ramfs)
	echo "$prog: warning: $work is on $fstype: the disk rows will not wait for a disk (set TMPDIR)" >&2 ;;
esac
if [ -n "$out" ]; then
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	res=$out
	rm -f "$res"/offline-round*.json "$res"/noshell-round*.json
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

echo "setting up in $work and $shm" >&2
# A CA home as ca-init makes it by default: a generated password in
# secrets/password, the intermediate key encrypted with 1 PBKDF2 iteration.
"$cainit" --dir "$work/pristine" >/dev/null
conf=$work/pristine/config/ca.json
pwfile=$work/pristine/secrets/password
crt=$work/pristine/certs/intermediate_ca.crt
root=$work/pristine/certs/root_ca.crt
enckey=$work/pristine/secrets/intermediate_ca_key
keyiter() { # PBKDF2 iteration count of a PKCS#8 key file
	local h
	h=$(openssl asn1parse -in "$1" |
	    awk '/:PBKDF2/ {f = 1} f && /INTEGER/ {sub(/.*:/, ""); print; exit}')
	[ -n "$h" ] || die "cannot read the PBKDF2 iteration count of $1"
	echo $((16#$h))
}
inititer=$(keyiter "$enckey")
# The same key unencrypted (the input cfssl and openssl get), and encrypted
# again as an operator's password (2,048) and a costlier choice would have it.
openssl pkcs8 -in "$enckey" -passin "file:$pwfile" -out "$work/int.key"
key=$work/int.key
reenc() {
	openssl pkcs8 -topk8 -in "$key" -v2 aes-256-cbc -v2prf hmacWithSHA256 \
	    -iter "$1" -passout "file:$pwfile" -out "$2"
}
# One home per key; copies of the same CA, so the same tokens are good in
# each (each has its own database, so each token is spent once per home).
home1=$work/home-init
homep=$work/home-plain
home2k=$work/home-2048
home20k=$work/home-20000
homes=$shm/home
for h in "$home1" "$homep" "$home2k" "$home20k" "$homes"; do
	cp -a "$work/pristine" "$h"
done
cp "$key" "$homep/secrets/intermediate_ca_key"
jq 'del(.passwordFile)' "$conf" >"$homep/config/ca.json"
reenc 2048 "$home2k/secrets/intermediate_ca_key"
reenc 20000 "$home20k/secrets/intermediate_ca_key"
[ "$(keyiter "$home2k/secrets/intermediate_ca_key")" = 2048 ] ||
    die "re-encryption with 2048 iterations failed"
cp -a "$work/pristine/db" "$work/pristine-db"

name=bench.example.com
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$work/leaf.key" -subj "/CN=$name" \
    -addext "subjectAltName=DNS:$name" -out "$work/csr.pem" 2>/dev/null
csr=$work/csr.pem

# Tokens.  ca-token --offline decrypts the provisioner key (a JWE, PBKDF2
# with 600,000 iterations) for every token: client-side work, timed on its
# own below.  For the benchmark the JWK is decrypted once, and every token is
# minted from it with `ca-token --key` before any timing starts.
prov=$(jq -r '.authority.provisioners[0].name' "$conf")
host=$(jq -r '.dnsNames[0]' "$conf")
addr=$(jq -r '.address // empty' "$conf")
case $host in *:*) host="[$host]" ;; esac
port=
case $addr in *:*) port=${addr##*:} ;; esac
aud="https://$host${port:+:$port}/1.0/sign"
/usr/bin/python3 - "$conf" "$pwfile" >"$work/prov.jwk" <<'EOF'
import json
import sys

from jwcrypto import jwe, jwk

with open(sys.argv[1]) as f:
    conf = json.load(f)
with open(sys.argv[2], "rb") as f:
    password = f.readline().rstrip(b"\r\n").decode()
token = jwe.JWE()
token.deserialize(conf["authority"]["provisioners"][0]["encryptedKey"],
                  jwk.JWK.from_password(password))
sys.stdout.write(token.payload.decode())
EOF
mint1() {
	"$catoken" --key "$work/prov.jwk" --issuer "$prov" --aud "$aud" \
	    --not-after 1h "$name"
}
mint() { # mint N tokens, one per line, to FILE
	local i
	for ((i = 0; i < $1; i++)); do
		mint1
	done >"$2"
}
mintdir() { # mint N tokens into DIR/1 .. DIR/N
	local i
	rm -rf "$2"
	mkdir -p "$2"
	for ((i = 1; i <= $1; i++)); do
		mint1 >"$2/$i"
	done
}

# openssl ca: a minimal CA directory with ca-sign's leaf profile.
oca=$work/oca
mkdir -p "$oca"
cat >"$oca/openssl.cnf" <<EOF
[ ca ]
default_ca = bench

[ bench ]
dir             = $oca
database        = \$dir/index.txt
serial          = \$dir/serial
new_certs_dir   = \$dir/newcerts
certificate     = $crt
private_key     = $key
default_md      = sha256
default_days    = 1
unique_subject  = no
email_in_dn     = no
preserve        = no
copy_extensions = none
policy          = policy_leaf
x509_extensions = leaf_ext

[ policy_leaf ]
commonName = supplied

[ leaf_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth, clientAuth
subjectAltName         = DNS:$name
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
EOF
# An empty index, as a script: hyperfine's preparation runs it too.
cat >"$work/reset-oca.sh" <<EOF
cd $(q "$oca") || exit 1
rm -rf newcerts index.txt* serial*
mkdir newcerts
: >index.txt
echo "unique_subject = no" >index.txt.attr
echo 1000 >serial
EOF
reset_oca() {
	dash "$work/reset-oca.sh"
}
# A home's database back to the state ca-init left it in.
reset_db() {
	rm -rf "$1/db"
	cp -a "$work/pristine-db" "$1/db"
}
# Every database, and an empty openssl index.
reset_state() {
	local h
	for h in "$home1" "$homep" "$home2k" "$home20k" "$homes"; do
		reset_db "$h"
	done
	reset_oca
}
reset_state

# The commands, as the benchmark shell runs them.
Q_SIGN=$(q "$casign")
Q_CSR=$(q "$csr")
Q_CRT=$(q "$crt")
Q_KEY=$(q "$key")
Q_CNF=$(q "$oca/openssl.cnf")
LEAN='OPENSSL_CONF=/dev/null SSL_CERT_FILE=/dev/null SSL_CERT_DIR=/nonexistent'
offline_cmd() { # home, token file
	echo "$Q_SIGN --offline --dir $(q "$1") --token-file $(q "$2") < $Q_CSR"
}
labels=(
	"ca-sign --offline, key as ca-init makes it ($inititer iteration)"
	"ca-sign --offline, unencrypted key"
	"ca-sign --offline, 2,048 iterations"
	"ca-sign --offline, 20,000 iterations"
	"ca-sign --offline, CA home on /dev/shm (not a deployment)"
	"ca-sign stateless, unencrypted key"
	"cfssl sign"
	"openssl ca -batch"
	"openssl ca -batch, lean"
	"openssl version"
)
ntok=5          # the ca-sign --offline rows: 0 .. ntok-1
cmds=(
	"exec $(offline_cmd "$home1" "$work/cur0")"
	"exec $(offline_cmd "$homep" "$work/cur1")"
	"exec $(offline_cmd "$home2k" "$work/cur2")"
	"exec $(offline_cmd "$home20k" "$work/cur3")"
	"exec $(offline_cmd "$homes" "$work/cur4")"
	"exec $Q_SIGN --ca-cert $Q_CRT --ca-key $Q_KEY < $Q_CSR"
	"exec cfssl sign -ca $Q_CRT -ca-key $Q_KEY $Q_CSR"
	"exec openssl ca -batch -config $Q_CNF -notext -in $Q_CSR"
	"$LEAN exec openssl ca -batch -config $Q_CNF -notext -in $Q_CSR"
	"exec openssl version"
)
# Before each run (untimed, hyperfine --prepare): the next token from the
# row's pool into its token file; the row's state back to where it started
# (ca-sign: the database as ca-init left it; openssl ca: an empty index);
# then sync, so that no run flushes what an earlier one left dirty.  Every
# run is thus the first certificate of a fresh CA: ca-sign's write-ahead
# log grows with every certificate until something checkpoints it (the
# loops below show what that costs), and a row's figure must not depend on
# how many runs came before it.  Every row pops a token and syncs, so that
# whatever the preparation disturbs, it disturbs for all.
pop() { # the next token of row $1
	echo "sed -n 1p $(q "$work/pool$1") > $(q "$work/cur$1") && sed -i 1d $(q "$work/pool$1")"
}
restore_db() { # shell words to put a home's database back
	echo "rm -rf $(q "$1/db") && cp -a $(q "$work/pristine-db") $(q "$1/db")"
}
preps=()
for i in "${!cmds[@]}"; do
	case $i in
	0) st=$(restore_db "$home1") ;;
	1) st=$(restore_db "$homep") ;;
	2) st=$(restore_db "$home2k") ;;
	3) st=$(restore_db "$home20k") ;;
	4) st=$(restore_db "$homes") ;;
	7|8) st="dash $(q "$work/reset-oca.sh")" ;;
	*) st=: ;;
	esac
	preps+=("$(pop "$i") && $st && sync")
done
pools() { # fill every pool with N tokens (the ca-sign rows need them)
	local i
	for i in "${!cmds[@]}"; do
		if [ "$i" -lt "$ntok" ]; then
			mint "$1" "$work/pool$i"
		else
			cp "$work/pool0" "$work/pool$i"
		fi
	done
}

# Every command must work before it is timed; the certificates must verify.
pools 1
for i in "${!cmds[@]}"; do
	dash -c "${preps[$i]}"
	dash -c "${cmds[$i]}" >"$work/check$i.out" 2>"$work/check.err" ||
	    die "${labels[$i]} failed: $(cat "$work/check.err")"
done
for i in 0 1 2 3 4 5 7; do
	openssl verify -CAfile "$root" -untrusted "$crt" "$work/check$i.out" >/dev/null ||
	    die "${labels[$i]}: the certificate does not verify"
done
jq -r .cert "$work/check6.out" >"$work/cfssl.pem"
openssl verify -CAfile "$root" -untrusted "$crt" "$work/cfssl.pem" >/dev/null ||
    die "cfssl sign: the certificate does not verify"
# A spent token is refused: the database is in the loop.
mint1 >"$work/again"
dash -c "$(offline_cmd "$home1" "$work/again") >/dev/null" ||
    die "ca-sign --offline failed on a fresh token"
if dash -c "$(offline_cmd "$home1" "$work/again") >/dev/null 2>$(q "$work/check.err")"; then
	die "ca-sign --offline accepted a spent token"
fi
grep -q "already used" "$work/check.err" || die "unexpected refusal: $(cat "$work/check.err")"

# --- machine ----------------------------------------------------------------

cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
pkgv() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo '?'; }
{
	echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpu:       ${cpu:-unknown} ($(nproc) online CPUs)"
	echo "features:  $(awk '/^flags/ {for (i = 3; i <= NF; i++) if ($i ~ /^(hypervisor|aes|avx2|avx512f|sha_ni|adx|bmi2)$/) printf "%s ", $i; exit}' /proc/cpuinfo)"
	echo "kernel:    $(uname -sr)"
	echo "disk:      $(findmnt -n -o SOURCE,FSTYPE,OPTIONS --target "$work" 2>/dev/null | head -n 1 || echo "$fstype") (the CA homes, the openssl CA)"
	echo "shm:       $(findmnt -n -o SOURCE,FSTYPE --target "$shm" 2>/dev/null | head -n 1 || echo tmpfs) (the /dev/shm row)"
	echo "openssl:   $(openssl version) (libssl3 $(pkgv libssl3))"
	echo "sqlite:    libsqlite3-0 $(pkgv libsqlite3-0)"
	echo "cfssl:     golang-cfssl $(pkgv golang-cfssl), $(cfssl version 2>/dev/null | awk '/Runtime/ {print $2}')"
	echo "hyperfine: $(hyperfine --version)"
	echo "inca:      $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$top" diff --quiet HEAD -- lib ca-sign ca-token 2>/dev/null || echo ' (lib/, ca-sign/ or ca-token/ modified)')"
	echo "key:       intermediate EC P-256; ca-init's own key file: PBES2, $inititer PBKDF2 iteration(s)"
	echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start; niceness $(nice)"
	echo "runs:      $(( (runs + rounds - 1) / rounds * rounds )) timed per command, in $rounds rounds of $(( (runs + rounds - 1) / rounds )) after $warmup warm-up; loops of $loop, $loop_rounds per command"
} | tee "$res/machine.txt"

# --- the disk ---------------------------------------------------------------

# Latency of one synchronous 4 KiB write, from dd: 1000 writes with
# oflag=dsync in one process, so no process start-up is in the figure.
# Overwriting blocks already on disk, and appending to a new file (a size
# change: the file system's journal commits too).
ddlat() { # dir, overwrite|append -> microseconds per write, median of 3
	local f=$1/dd.bin i s e
	if [ "$2" = overwrite ]; then
		dd if=/dev/zero of="$f" bs=4k count=1000 status=none
		sync
		dd if=/dev/zero of="$f" bs=4k count=1000 oflag=dsync conv=notrunc status=none
	fi
	for i in 1 2 3; do
		[ "$2" = overwrite ] || rm -f "$f"
		s=$(date +%s%N)
		if [ "$2" = overwrite ]; then
			dd if=/dev/zero of="$f" bs=4k count=1000 oflag=dsync conv=notrunc status=none
		else
			dd if=/dev/zero of="$f" bs=4k count=1000 oflag=dsync status=none
		fi
		e=$(date +%s%N)
		echo $(( (e - s) / 1000000 ))
	done | sort -n | sed -n 2p
	rm -f "$f"
}
{
	echo "dd, 4 KiB writes with oflag=dsync, microseconds per write (median of 3 x 1000):"
	echo "disk overwrite: $(ddlat "$work" overwrite)"
	echo "disk append:    $(ddlat "$work" append)"
	echo "shm overwrite:  $(ddlat "$shm" overwrite)"
} | tee "$res/disk.txt"

# --- per certificate ----------------------------------------------------------

names=()
for l in "${labels[@]}"; do
	names+=(-n "$l")
done
prepargs=()
for p in "${preps[@]}"; do
	prepargs+=(-p "$p")
done
# Without a shell: cfssl again (a check on hyperfine's shell subtraction),
# the shell itself, and minting one token from the decrypted JWK.
nsargs=(
	-n "cfssl sign, no shell" "cfssl sign -ca $Q_CRT -ca-key $Q_KEY $Q_CSR"
	-n "dash -c :" "dash -c :"
	-n "ca-sign --version (start-up: loader and OpenSSL's initialisation)"
	"$Q_SIGN --version"
	-n "ca-token --key (one token from the decrypted JWK)"
	"$catoken --key $(q "$work/prov.jwk") --issuer $(q "$prov") --aud $(q "$aud") $name"
)

# hyperfine times one command after another; the rounds put a change of
# load on every row rather than one.  Each round starts from the state
# ca-init left: ca-sign's write-ahead log grows with every certificate
# until it is checkpointed (see the loops), so every row sees the same
# range of it.
per=$(( (runs + rounds - 1) / rounds ))
for r in $(seq 1 "$rounds"); do
	echo "round $r of $rounds, $per runs per command" >&2
	reset_state
	pools $((warmup + per + 5))
	hyperfine --style basic -S dash -w "$warmup" -r "$per" \
	    --export-json "$res/offline-round$r.json" \
	    "${prepargs[@]}" "${names[@]}" "${cmds[@]}" >"$work/hyperfine.log" 2>&1 ||
	    die "hyperfine: $(tail -n 5 "$work/hyperfine.log")"
	hyperfine --style basic -N -w "$warmup" -r "$per" \
	    --export-json "$res/noshell-round$r.json" \
	    "${nsargs[@]}" >"$work/hyperfine.log" 2>&1 ||
	    die "hyperfine: $(tail -n 5 "$work/hyperfine.log")"
done
pool "$res"/offline-round*.json >"$res/offline.json"
pool "$res"/noshell-round*.json >"$res/noshell.json"

# ca-token --offline: what a client pays per token when it mints with the
# CA home's encrypted provisioner key.
hyperfine --style basic -N -w 1 -r 10 --export-json "$res/catoken-offline.json" \
    -n "ca-token --offline (decrypts the provisioner key)" \
    "$catoken --offline --dir $(q "$home1") $name" >"$work/hyperfine.log" 2>&1 ||
    die "hyperfine: $(tail -n 5 "$work/hyperfine.log")"

# --- fdatasync per issuance ----------------------------------------------------

walframes() { # frames in the WAL file (4 KiB pages)
	local s
	s=$(stat -c %s "$1/db/ca.db-wal" 2>/dev/null || echo 0)
	echo $(( s > 32 ? (s - 32) / 4120 : 0 ))
}
# Issuances in one shell loop under strace: how many fsync/fdatasync calls
# each certificate makes and how long each took (strace -T), by file.  Two
# stretches: while the write-ahead log is below SQLite's automatic
# checkpoint (1000 pages), and once past it.
reset_state
mintdir 250 "$work/tok"
# A dash loop issuing with tokens FIRST..LAST from $work/tok, output dropped.
seqscript() { # home, first, last
	echo "i=$2; while [ \$i -le $3 ]; do $Q_SIGN --offline --dir $(q "$1") --token-file $(q "$work/tok")/\$i < $Q_CSR >/dev/null || exit 1; i=\$((i + 1)); done"
}
stretch() { # tag, first, last: counts and latencies of issuances first..last
	local h=$(( ($3 - $2 + 1) / 2 ))
	strace -f -c -e trace=fdatasync,fsync -o "$work/strace-c-$1.txt" \
	    dash -c "$(seqscript "$home1" "$2" $(($2 + h - 1)))"
	strace -f -T -y -e trace=fdatasync,fsync -o "$work/strace-T-$1.txt" \
	    dash -c "$(seqscript "$home1" $(($2 + h)) "$3")"
}
dash -c "$(seqscript "$home1" 1 5)"
stretch below 6 105
f1=$(walframes "$home1")
dash -c "$(seqscript "$home1" 106 150)"
stretch above 151 250
f2=$(walframes "$home1")
synclat() { # strace -T output -> per file kind: calls, median, min, max in us
	awk '/fdatasync\(|fsync\(/ && /<[0-9.]+>$/ {
	    k = "other"
	    if ($0 ~ /-wal>/) k = "WAL"; else if ($0 ~ /\/db>\)/) k = "db directory"
	    else if ($0 ~ /\.db>/) k = "database file"
	    t = $NF; gsub(/[<>]/, "", t); print k "\t" t * 1e6}' "$1" |
	sort -t "$(printf '\t')" -k1,1 -k2,2n |
	awk -F '\t' '{v[$1] = v[$1] " " $2; n[$1]++}
	    END {for (k in n) {split(substr(v[k], 2), a, " ");
	        m = (n[k] % 2) ? a[(n[k] + 1) / 2] : (a[n[k] / 2] + a[n[k] / 2 + 1]) / 2
	        printf "%s\t%d\t%.0f\t%.0f\t%.0f\n", k, n[k], m, a[1], a[n[k]]}}' | sort
}
{
	for t in below above; do
		if [ $t = below ]; then
			echo "issuances 6-105 after ca-init, the WAL below 1000 frames ($f1 frames after them):"
		else
			echo "issuances 151-250, the WAL past 1000 frames ($f2 frames after them):"
		fi
		awk '$NF ~ /^(fdatasync|fsync)$/ {printf "  %s per issuance: %.2f (strace -f -c, 50 issuances)\n", $NF, $4 / 50}' "$work/strace-c-$t.txt"
		echo "  latency by file (strace -T, the next 50 issuances), microseconds:"
		echo "    file	calls	median	min	max"
		synclat "$work/strace-T-$t.txt" | sed 's/^/    /'
	done
} | tee "$res/fsync.txt"

# --- N certificates in a loop ------------------------------------------------

# Whole loops timed with date +%s%N, a mark every tenth of the loop to show
# how the cost per certificate moves along; CPU time of the loop (the shell
# and every child) from /usr/bin/time.  The loop's own cost (a fork and an
# exec per iteration) is in every figure: the "empty loop" row shows it.
looprows=(
	"ca-sign --offline ($inititer iteration), disk"
	"ca-sign --offline ($inititer iteration), /dev/shm (not a deployment)"
	"cfssl sign"
	"openssl ca -batch"
	"openssl ca -batch, lean"
	"empty loop (/bin/true)"
)
Q_TOK=$(q "$work/tok")
Q_ERR=$(q "$work/loop.err")
loopbodies=(
	"$Q_SIGN --offline --dir $(q "$home1") --token-file $Q_TOK/\$i < $Q_CSR"
	"$Q_SIGN --offline --dir $(q "$homes") --token-file $Q_TOK/\$i < $Q_CSR"
	"cfssl sign -ca $Q_CRT -ca-key $Q_KEY $Q_CSR"
	"openssl ca -batch -config $Q_CNF -notext -in $Q_CSR"
	"$LEAN openssl ca -batch -config $Q_CNF -notext -in $Q_CSR"
	"/bin/true"
)
seg=$(( loop >= 10 ? loop / 10 : 1 ))
if [ "$loop" -gt 0 ]; then
	: >"$res/loops.tsv"
	for r in $(seq 1 "$loop_rounds"); do
		for i in "${!looprows[@]}"; do
			echo "loop round $r of $loop_rounds: ${looprows[$i]}, $loop certificates" >&2
			# Only this row's state: the disk home keeps its last loop.
			case $i in
			0) reset_db "$home1" ;;
			1) reset_db "$homes" ;;
			3|4) reset_oca ;;
			esac
			[ "$i" -ge 2 ] || mintdir "$loop" "$work/tok"
			sync
			script="i=0; date +%s%N >$(q "$work/marks")
while [ \$i -lt $loop ]; do
	i=\$((i + 1))
	${loopbodies[$i]} >/dev/null 2>$Q_ERR || { echo \"iteration \$i failed\" >&2; cat $Q_ERR >&2; exit 1; }
	[ \$((i % $seg)) -ne 0 ] || date +%s%N >>$(q "$work/marks")
done"
			/usr/bin/time -f '%e %U %S' -o "$work/time.txt" dash -c "$script" ||
			    die "loop ${looprows[$i]} failed"
			# round, row, certificates, wall ns, user s, sys s, marks (ns)
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$i" "$loop" \
			    "$(( $(tail -n 1 "$work/marks") - $(head -n 1 "$work/marks") ))" \
			    "$(awk '{print $2 "\t" $3}' "$work/time.txt")" \
			    "$(paste -sd, "$work/marks")" >>"$res/loops.tsv"
		done
		# The loop's database must hold one row per certificate.
		n=$(sqlite3 -readonly "$home1/db/ca.db" 'SELECT count(*) FROM certs')
		[ "$n" = "$loop" ] || die "disk home holds $n certificates after $loop issuances"
	done
fi

# --- after N certificates: the write-ahead log ---------------------------------

# One issuance in each home after one that is not counted (the first
# process after ca-init is not the steady state).
counted() { # tag, home
	mint1 >"$work/cg.tok"
	dash -c "$(offline_cmd "$2" "$work/cg.tok") >/dev/null"
	mint1 >"$work/cg.tok"
	count "$1" "$csr" "$casign" --offline --dir "$2" --token-file "$work/cg.tok"
}

if [ "$loop" -gt 0 ]; then
	mintdir 40 "$work/tok"
	strace -f -c -o "$work/strace-grown.txt" dash -c "$(seqscript "$home1" 1 20)"
	grownframes=$(walframes "$home1")
	grownbytes=$(stat -c %s "$home1/db/ca.db-wal")
	# Instructions in this state, before the checkpoint below folds it.
	[ "$profile" = 0 ] || counted grown "$home1" >"$work/grown.count"
	# The same home, per certificate: as it is, then after a TRUNCATE
	# checkpoint by the sqlite3 shell (the WAL folded into the database and
	# emptied); 20 runs each.
	growncmd="exec $(offline_cmd "$home1" "$work/cur0")"
	mint 25 "$work/pool0"
	hyperfine --style basic -S dash -w 3 -r 20 -p "$(pop 0)" \
	    --export-json "$res/grown.json" -n "after $loop certificates ($grownframes WAL frames)" \
	    "$growncmd" >"$work/hyperfine.log" 2>&1 || die "hyperfine: $(tail -n 5 "$work/hyperfine.log")"
	sqlite3 "$home1/db/ca.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
	ckframes=$(walframes "$home1")
	mint 25 "$work/pool0"
	hyperfine --style basic -S dash -w 3 -r 20 -p "$(pop 0)" \
	    --export-json "$res/checkpointed.json" -n "the same after PRAGMA wal_checkpoint(TRUNCATE) ($ckframes frames)" \
	    "$growncmd" >"$work/hyperfine.log" 2>&1 || die "hyperfine: $(tail -n 5 "$work/hyperfine.log")"
	{
		echo "after $loop certificates: WAL $grownbytes bytes, $grownframes frames"
		echo "syscalls per issuance over the next 20 (strace -f -c):"
		awk '$NF ~ /^(pread64|pwrite64|fdatasync|fsync|ftruncate)$/ {printf "  %s: %.1f\n", $NF, $4 / 20}' "$work/strace-grown.txt"
	} | tee "$res/wal.txt"
fi
echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at end" |
    tee -a "$res/machine.txt"

# --- summary ----------------------------------------------------------------

ms() { # field $3 of result $2 in hyperfine export $1, seconds to milliseconds
	jq -r --argjson i "$2" ".results[\$i].$3 * 1000" "$1"
}
cpums() { jq -r --argjson i "$2" '(.results[$i].user + .results[$i].system) * 1000' "$1"; }
fmt() { awk -v x="$1" 'BEGIN {printf "%.2f", x}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
sub2() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a - b}'; }

J=$res/offline.json
base=$(ms "$J" 0 median)
basemin=$(ms "$J" 0 min)
basecpu=$(cpums "$J" 0)
row() { # export, index, label
	local med min c
	med=$(ms "$1" "$2" median)
	min=$(ms "$1" "$2" min)
	c=$(cpums "$1" "$2")
	echo "| $3 | $(fmt "$med") | $(fmt "$(ms "$1" "$2" mean)") ± $(fmt "$(ms "$1" "$2" stddev)") | $(fmt "$min")–$(fmt "$(ms "$1" "$2" max)") | $(fmt "$c") | $(sub2 "$(ms "$1" "$2" mean)" "$c") | $(ratio "$med" "$base") | $(ratio "$min" "$basemin") | $(ratio "$c" "$basecpu") |"
}
{
	echo
	echo "per certificate (ms; ratios: row / ${labels[0]}, above 1: ca-sign is faster)"
	echo
	echo "| command | median | mean ± σ | min–max | user+sys | wall − CPU | median ratio | min ratio | CPU ratio |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for i in "${!labels[@]}"; do
		row "$J" "$i" "${labels[$i]}"
	done
	for i in 0 1 2 3; do
		row "$res/noshell.json" "$i" "$(jq -r --argjson i "$i" '.results[$i].command' "$res/noshell.json")"
	done
	row "$res/catoken-offline.json" 0 "$(jq -r '.results[0].command' "$res/catoken-offline.json")"
	echo
	cf=$(ms "$J" 6 median)
	echo "cfssl sign / ca-sign --offline ($inititer iteration), wall, median: $(ratio "$cf" "$base")x; by minimum: $(ratio "$(ms "$J" 6 min)" "$basemin")x; CPU (user+sys): $(ratio "$(cpums "$J" 6)" "$basecpu")x"
	echo "  each round, wall medians: $(jq -r '.results[6].median / .results[0].median * 100 | round / 100' "$res"/offline-round*.json | sort -n | tr '\n' ' ')"
	echo "  each round, CPU: $(jq -r '(.results[6].user + .results[6].system) / (.results[0].user + .results[0].system) * 100 | round / 100' "$res"/offline-round*.json | sort -n | tr '\n' ' ')"
	echo "cfssl sign / ca-sign --offline on /dev/shm, wall: $(ratio "$cf" "$(ms "$J" 4 median)")x; CPU: $(ratio "$(cpums "$J" 6)" "$(cpums "$J" 4)")x"
	echo "openssl ca -batch / ca-sign --offline, wall: $(ratio "$(ms "$J" 7 median)" "$base")x; lean: $(ratio "$(ms "$J" 8 median)" "$base")x"
	echo "disk wait, ca-sign --offline disk - /dev/shm (medians): $(sub2 "$base" "$(ms "$J" 4 median)") ms"
	echo "token and database, ca-sign --offline unencrypted - stateless unencrypted (medians): $(sub2 "$(ms "$J" 1 median)" "$(ms "$J" 5 median)") ms wall, $(sub2 "$(cpums "$J" 1)" "$(cpums "$J" 5)") ms CPU"
	echo
	echo "intermediate key decryption per process, row - unencrypted key (medians, ms):"
	for i in 0 2 3; do
		echo "  ${labels[$i]}: $(sub2 "$(ms "$J" "$i" median)" "$(ms "$J" 1 median)") wall, $(sub2 "$(cpums "$J" "$i")" "$(cpums "$J" 1)") CPU"
	done
	if [ "$loop" -gt 0 ]; then
		echo
		echo "$loop certificates in a loop ($loop_rounds loops per command; ms per certificate, median over loops, min–max;"
		echo "first and last tenth of the loop: ms per certificate, medians over loops):"
		echo
		echo "| command | wall | min–max | user+sys | first tenth | last tenth |"
		echo "|---|---:|---:|---:|---:|---:|"
		for i in "${!looprows[@]}"; do
			awk -F '\t' -v i="$i" -v label="${looprows[$i]}" '
			    function med(a, n,   j, k, t) {
			        for (j = 1; j <= n; j++) for (k = j + 1; k <= n; k++)
			            if (a[k] < a[j]) {t = a[j]; a[j] = a[k]; a[k] = t}
			        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
			    }
			    $2 == i {
			        n++; w[n] = $4 / $3 / 1e6; c[n] = ($5 + $6) * 1000 / $3
			        m = split($7, t, ",")
			        f[n] = (t[2] - t[1]) / ($3 / (m - 1)) / 1e6
			        l[n] = (t[m] - t[m - 1]) / ($3 / (m - 1)) / 1e6
			        if (n == 1 || w[n] < lo) lo = w[n]
			        if (n == 1 || w[n] > hi) hi = w[n]
			    }
			    END {printf "| %s | %.2f | %.2f–%.2f | %.2f | %.2f | %.2f |\n",
			        label, med(w, n), lo, hi, med(c, n), med(f, n), med(l, n)}' "$res/loops.tsv"
		done
		lw() { awk -F '\t' -v i="$1" '$2 == i {print $4 / $3 / 1e6}' "$res/loops.tsv" | sort -n | awk '{a[NR] = $1} END {print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
		lc() { awk -F '\t' -v i="$1" '$2 == i {print ($5 + $6) * 1000 / $3}' "$res/loops.tsv" | sort -n | awk '{a[NR] = $1} END {print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
		echo
		echo "cfssl sign / ca-sign --offline, $loop in a loop: wall $(ratio "$(lw 2)" "$(lw 0)")x, CPU $(ratio "$(lc 2)" "$(lc 0)")x; against /dev/shm: wall $(ratio "$(lw 2)" "$(lw 1)")x, CPU $(ratio "$(lc 2)" "$(lc 1)")x"
		echo "the same with the empty loop's cost taken off both: wall $(ratio "$(sub2 "$(lw 2)" "$(lw 5)")" "$(sub2 "$(lw 0)" "$(lw 5)")")x"
		echo
		echo "per certificate after $loop certificates, and after a TRUNCATE checkpoint (20 runs each):"
		echo
		echo "| state | median | min–max | user+sys | wall − CPU |"
		echo "|---|---:|---:|---:|---:|"
		for f in grown checkpointed; do
			echo "| $(jq -r '.results[0].command' "$res/$f.json") | $(fmt "$(ms "$res/$f.json" 0 median)") | $(fmt "$(ms "$res/$f.json" 0 min)")–$(fmt "$(ms "$res/$f.json" 0 max)") | $(fmt "$(cpums "$res/$f.json" 0)") | $(sub2 "$(ms "$res/$f.json" 0 mean)" "$(cpums "$res/$f.json" 0)") |"
		done
	fi
} | tee "$res/summary.md"

# --- instruction counts -----------------------------------------------------

[ "$profile" = 1 ] || exit 0

{
	grown=
	[ ! -s "$work/grown.count" ] || grown=$(cat "$work/grown.count")
	reset_state
	echo
	echo "instructions (callgrind, millions; valgrind's CPU model: no SHA-NI or"
	echo "AVX-512 paths in libcrypto, so PBKDF2 counts high; cfssl's Go runtime"
	echo "does not run under valgrind 3.19 and has no count):"
	echo
	echo "| command | Minstr |"
	echo "|---|---:|"
	echo "| ${labels[0]} | $(mi "$(counted off "$home1")") |"
	echo "| ${labels[1]} | $(mi "$(counted plain "$homep")") |"
	echo "| ${labels[2]} | $(mi "$(counted k2048 "$home2k")") |"
	[ -z "$grown" ] || echo "| ${labels[0]}, after $loop certificates (WAL not checkpointed) | $(mi "$grown") |"
	echo "| ${labels[5]} | $(mi "$(count sign "$csr" "$casign" --ca-cert "$crt" --ca-key "$key")") |"
	reset_oca
	echo "| ${labels[7]} | $(mi "$(count oca /dev/null openssl ca -batch -config "$oca/openssl.cnf" -notext -in "$csr")") |"
	echo "| ${labels[8]} | $(mi "$(count ocalean /dev/null OPENSSL_CONF=/dev/null SSL_CERT_FILE=/dev/null SSL_CERT_DIR=/nonexistent openssl ca -batch -config "$oca/openssl.cnf" -notext -in "$csr")") |"
	echo "| ${labels[9]} | $(mi "$(count ver /dev/null openssl version)") |"

	t=$work/off.tree
	tot=$(awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}' "$t")
	pct() { awk -v x="$1" -v t="$tot" 'BEGIN {printf "%.2f | %4.1f%%", x / 1e6, 100 * x / t}'; }
	f() { incl "$t" "$1"; }
	main=$(f main)
	csrin=$(f pem_load_csr)
	aopen=$(f authority_open)
	cfg=$(f config_read_json)
	pol=$(f policy_validate)
	certs=$(f pem_load_certs)
	dbopen=$(f db_open)
	asign=$(f authority_sign)
	tv=$(f token_verify)
	jparse=$(f jws_parse)
	jimp=$(f jwk_import)
	jver=$(f jws_verify)
	csrck=$(f csr_check)
	nms=$(( $(f csr_requested_names) + $(f token_sans) + $(f sans_equal) ))
	polck=$(f policy_check)
	keyf=$(f pem_load_key_file)
	keyck=$(f X509_check_private_key)
	begin=$(f db_begin)
	prune=$(f db_prune_tokens)
	use=$(f db_use_token)
	issue=$(f x509_issue)
	rand=$(f RAND_bytes)
	xsign=$(f X509_sign)
	xver=$(f X509_verify)
	put=$(f db_put_cert)
	commit=$(f db_commit)
	enc=$(( $(f x509_serial_dec) + $(f sans_json) ))
	fin=$(f finish)
	close=$(f authority_close)
	echo
	echo "where ${labels[0]} spends its instructions (inclusive):"
	echo
	echo "| phase | Minstr | share |"
	echo "|---|---:|---:|"
	echo "| total | $(pct "$tot") |"
	echo "| dynamic loader: map and relocate $(ldd "$casign" | awk '$1 ~ /^lib/ {sub(/\.so.*/, "", $1); printf "%s%s", s, $1; s = ", "}') | $(pct "$(f _dl_start)") |"
	echo "| main | $(pct "$main") |"
	echo "| . CSR: pem_load_csr (d2i_X509_REQ; first OSSL_DECODER use) | $(pct "$csrin") |"
	echo "| . authority_open | $(pct "$aopen") |"
	echo "| . . ca.json: config_read_json, policy_validate | $(pct "$((cfg + pol))") |"
	echo "| . . issuer certificate: pem_load_certs | $(pct "$certs") |"
	echo "| . . db_open: sqlite3_open_v2, pragmas read back, schema version (reads the WAL) | $(pct "$dbopen") |"
	echo "| . . rest (claims, paths) | $(pct "$((aopen - cfg - pol - certs - dbopen))") |"
	echo "| . authority_sign | $(pct "$asign") |"
	echo "| . . token: token_verify | $(pct "$tv") |"
	echo "| . . . jws_parse (strict compact form, JSON) | $(pct "$jparse") |"
	echo "| . . . jwk_import (provisioner public key) | $(pct "$jimp") |"
	echo "| . . . jws_verify (ES256 verify) | $(pct "$jver") |"
	echo "| . . . claims, audiences, times | $(pct "$((tv - jparse - jimp - jver))") |"
	echo "| . . CSR signature: csr_check (X509_REQ_verify) | $(pct "$csrck") |"
	echo "| . . names: token's sans, CSR's names, compared | $(pct "$nms") |"
	echo "| . . policy_check | $(pct "$polck") |"
	echo "| . . key: pem_load_key_file (PBES2 decryption) | $(pct "$keyf") |"
	echo "| . . key: X509_check_private_key | $(pct "$keyck") |"
	echo "| . . transaction: db_begin, db_prune_tokens, db_use_token | $(pct "$((begin + prune + use))") |"
	echo "| . . x509_issue | $(pct "$issue") |"
	echo "| . . . RAND_bytes (serial) | $(pct "$rand") |"
	echo "| . . . X509_sign (ECDSA P-256) | $(pct "$xsign") |"
	echo "| . . . X509_verify (our own signature) | $(pct "$xver") |"
	echo "| . . . lint, names, extensions, rest | $(pct "$((issue - rand - xsign - xver))") |"
	echo "| . . row: serial and names as text | $(pct "$enc") |"
	echo "| . . transaction: db_put_cert, db_commit | $(pct "$((put + commit))") |"
	echo "| . . rest of authority_sign (claims, validity, DER encoding) | $(pct "$((asign - tv - csrck - nms - polck - keyf - keyck - begin - prune - use - issue - enc - put - commit))") |"
	echo "| . output: finish (PEM chain) | $(pct "$fin") |"
	echo "| . authority_close | $(pct "$close") |"
	echo "| . rest of main (options, token file, frees) | $(pct "$((main - csrin - aopen - asign - fin - close))") |"
	echo "| across phases: OSSL_DECODER_CTX_new_for_pkey | $(pct "$(f OSSL_DECODER_CTX_new_for_pkey)") |"
	echo "| across phases: EVP_CIPHER_fetch (first fetch builds the cipher table) | $(pct "$(f EVP_CIPHER_fetch)") |"
	p=$work/plain.tree
	k=$work/k2048.tree
	echo
	echo "key decryption: pem_load_key_file $(mi "$(incl "$p" pem_load_key_file)") Minstr unencrypted," \
	    "$(mi "$keyf") at $inititer iteration(s), $(mi "$(incl "$k" pem_load_key_file)") at 2,048" \
	    "(PKCS5_v2_PBE_keyivgen_ex $(mi "$(incl "$k" PKCS5_v2_PBE_keyivgen_ex)"));" \
	    "RAND_bytes $(mi "$(incl "$p" RAND_bytes)") with the unencrypted key, $(mi "$rand") after a decryption"
	if [ -n "$grown" ]; then
		g=$work/grown.tree
		echo "after $loop certificates: db_open $(mi "$(incl "$g" db_open)") Minstr (fresh: $(mi "$dbopen")), db_commit $(mi "$(incl "$g" db_commit)") (fresh: $(mi "$commit"))"
	fi
} | tee "$res/profile.md"
