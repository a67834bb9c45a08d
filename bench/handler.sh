#!/bin/bash
# Per-certificate cost of the signing handler, ca-sign --api --offline,
# three ways in the same run, on the same CA home:
#   process  one process per request (the request on stdin, as a CGI-style
#            handler would run it): start-up, ca.json, key decryption and
#            a database open and transaction each time
#   lockstep one process, one request at a time (the next sent after the
#            answer came): the authority kept, one transaction each
#   stream   one process, every request written at once: the authority
#            kept, requests that are waiting together recorded in one
#            transaction (group commit, at most 64 a batch)
# Tokens are minted beforehand with tests/bats/helpers/tok.py (not timed).
#
#   bash bench/handler.sh [N]      N requests per way (default 1000)
set -eu
N=${1:-1000}
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/bin
py=/usr/bin/python3
tok=$top/tests/bats/helpers/tok.py
w=$(mktemp -d)
trap '[ -n "${KEEP-}" ] || rm -rf "$w"' EXIT
umask 077

"$bin/ca-init" --dir "$w/ca" --dns ca.bench.test >/dev/null
"$py" "$tok" key "$w/ca/config/ca.json" "$w/ca/secrets/password" >"$w/prov.jwk"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$w/leaf.key" -out "$w/leaf.csr" -subj /CN=bench.example.com \
	-addext subjectAltName=DNS:bench.example.com 2>/dev/null

# requests FILE: N request lines, each with a fresh token.
requests() {
	"$py" "$tok" mint "$w/prov.jwk" "$w/ca/config/ca.json" --sub bench.example.com \
		--set exp=now+3600 -n "$N" |
	"$py" -c '
import json, sys
csr = open(sys.argv[1]).read()
for t in sys.stdin:
    print(json.dumps({"csr": csr, "ott": t.strip()}, separators=(",", ":")))
' "$w/leaf.csr" >"$1"
}

now() { date +%s.%N; }

# check FILE: every answer a certificate.
check() {
	local ok
	ok=$(grep -c '^{"crt":' "$1" || true)
	if [ "$ok" -ne "$N" ]; then
		echo "only $ok of $N answers are certificates" >&2
		exit 1
	fi
}

run_stream() {
	local t0 t1
	t0=$(now)
	"$bin/ca-sign" --api --offline --dir "$w/ca" <"$1" >"$w/out"
	t1=$(now)
	check "$w/out"
	echo "$t0 $t1"
}

run_lockstep() {
	local t0 t1
	t0=$(now)
	"$py" -c '
import subprocess, sys
p = subprocess.Popen(sys.argv[3:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
out = open(sys.argv[2], "wb")
for line in open(sys.argv[1], "rb"):
    p.stdin.write(line)
    p.stdin.flush()
    out.write(p.stdout.readline())
p.stdin.close()
sys.exit(p.wait())
' "$1" "$w/out" "$bin/ca-sign" --api --offline --dir "$w/ca"
	t1=$(now)
	check "$w/out"
	echo "$t0 $t1"
}

run_process() {
	local t0 t1 line
	t0=$(now)
	while IFS= read -r line; do
		printf '%s\n' "$line" | "$bin/ca-sign" --api --offline --dir "$w/ca"
	done <"$1" >"$w/out"
	t1=$(now)
	check "$w/out"
	echo "$t0 $t1"
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "kernel: $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "inca: $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown); N=$N"
declare -A ms
for way in stream lockstep process; do
	requests "$w/req.$way"
	read -r t0 t1 < <("run_$way" "$w/req.$way")
	ms[$way]=$(echo "($t1 - $t0) * 1000 / $N" | bc -l)
done
echo "certs in the database: $(sqlite3 "$w/ca/db/ca.db" 'select count(*) from certs')"
printf '%-9s %10s %12s\n' way "ms/cert" "vs process"
for way in process lockstep stream; do
	printf '%-9s %10.3f %11.1fx\n' "$way" "${ms[$way]}" \
		"$(echo "${ms[process]} / ${ms[$way]}" | bc -l)"
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
