#!/usr/bin/env bash
# bench/acme.sh: one certificate per ACME client process, inca's ca-serve
# and ca-acme against the peer Pebble, with the same client (lego), on the
# same machine in the same run, reported as a ratio.
#
#   1. Latency: hyperfine times one `lego run` per process (a new account,
#      a new order, http-01, finalize, download), fresh --path every run,
#      against each server; the rounds interleave the two servers.
#   2. Throughput: N parallel clients (default 8), each a loop of
#      certificates one lego process after another; certificates per
#      second over the wall time of all loops.
#
# inca validates every challenge for real: ca-acme-va resolves the name
# through a test DNS server (tests/bats/helpers/dns.py) and fetches
# http-01 from the port lego's own server listens on.  Pebble is run with
# PEBBLE_VA_ALWAYS_VALID=1: it validates nothing.  Pebble is also told not
# to sleep before validating (PEBBLE_VA_NOSLEEP=1), not to refuse good
# nonces (PEBBLE_WFE_NONCEREJECT=0) and not to reuse authorizations
# (PEBBLE_AUTHZREUSE=0; a fresh account per process has none to reuse on
# either server anyway).
#
#   bash bench/acme.sh [-n RUNS] [--rounds R] [--warmup N] [--clients C]
#                      [--loop N] [--port P] [--no-stages] [--out DIR]
#
# Then, unless --no-stages, where inca's time goes: the synchronous
# writes and the processes started for one certificate (strace over
# ca-serve and every process under it), and the validator alone
# (ca-acme-va for one http-01 challenge against a test responder, and its
# bare start), by hyperfine.
#
# Expects `make` to have built bin/.  Tools: lego, pebble, hyperfine,
# openssl, sqlite3, jq, curl, /usr/bin/python3, and strace unless
# --no-stages.  See bench/README.md.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

prog=${0##*/}
runs=20
rounds=3
warmup=2
clients=8
loop=5
port=18700
stages=1
out=

usage() {
	cat <<EOF
usage: $prog [-n RUNS] [--rounds R] [--warmup N] [--clients C] [--loop N]
       [--port P] [--no-stages] [--out DIR]
  -n RUNS        timed lego processes per server and round (default 20)
  --rounds R     hyperfine rounds, each timing both servers (default 3)
  --warmup N     untimed lego processes per server and round (default 2)
  --clients C    parallel clients of the throughput part (default 8)
  --loop N       certificates per client in it (default 5; 0 skips it)
  --port P       first of the TCP ports used on 127.0.0.1 (default 18700):
                 P ca-serve, P+1 and P+2 pebble, P+9 a test http-01
                 responder, P+10 lego's http-01, P+11 the shared web root
  --no-stages    skip the breakdown of inca's time (strace, the validator)
  --out DIR      keep the raw results and the summary here
EOF
	exit "${1:-0}"
}

num() { # option value must be a number (positive unless $3 = 0)
	case $2 in ''|*[!0-9]*) die "$1: a number" ;; esac
	[ "${3:-1}" = 0 ] || [ "$2" -gt 0 ] || die "$1: a positive number"
}

while [ $# -gt 0 ]; do
	case $1 in
	-n) [ $# -ge 2 ] || usage 2; runs=$2; shift 2 ;;
	--rounds) [ $# -ge 2 ] || usage 2; rounds=$2; shift 2 ;;
	--warmup) [ $# -ge 2 ] || usage 2; warmup=$2; shift 2 ;;
	--clients) [ $# -ge 2 ] || usage 2; clients=$2; shift 2 ;;
	--loop) [ $# -ge 2 ] || usage 2; loop=$2; shift 2 ;;
	--port) [ $# -ge 2 ] || usage 2; port=$2; shift 2 ;;
	--no-stages) stages=0; shift ;;
	--out) [ $# -ge 2 ] || usage 2; out=$2; shift 2 ;;
	-h|--help) usage 0 ;;
	*) echo "$prog: unknown argument: $1" >&2; usage 2 ;;
	esac
done
num -n "$runs"
num --rounds "$rounds"
num --warmup "$warmup" 0
num --clients "$clients"
num --loop "$loop" 0
num --port "$port"
[ "$clients" -le 50 ] || die "--clients: at most 50"

top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/bin
for b in ca-init ca-serve ca-acme ca-acme-va; do
	[ -x "$bin/$b" ] || die "$bin/$b not found: run make first"
done
for t in lego pebble hyperfine openssl sqlite3 jq curl; do
	command -v "$t" >/dev/null || die "$t is needed"
done
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 is needed"
[ "$stages" = 0 ] || command -v strace >/dev/null || die "strace is needed (or --no-stages)"
dnspy=$top/tests/bats/helpers/dns.py
httppy=$top/tests/bats/helpers/http01.py

unset OPENSSL_CONF SSL_CERT_FILE SSL_CERT_DIR CA_DIR CA_URL CA_ROOT

# Ports: ca-serve, pebble, pebble's management interface, and two http-01
# ports: lego's own server in the latency part (http01 0), a server of
# the parallel clients' shared web root in the throughput part (http01 1).
p_inca=$port
p_pebble=$((port + 1))
p_mgmt=$((port + 2))
http01() { echo $((port + 10 + $1)); }

# --- processes: every one started here is stopped at exit -------------------

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/inca-acme.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ -n "$out" ]; then
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	res=$out
	rm -f "$res"/*.json "$res"/*.txt "$res"/*.md "$res"/*.log
else
	res=$work/results
	mkdir -p "$res"
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$p_inca" "$p_pebble" "$p_mgmt" $((port + 9)) "$(http01 0)" "$(http01 1)"; do
	port_open "$p" && die "127.0.0.1:$p is in use (--port)"
done
wait_port() { # PORT LOG
	for _ in $(seq 1000); do
		port_open "$1" && return 0
		sleep 0.02
	done
	die "nothing listens on 127.0.0.1:$1: $(tail -n 5 "$2")"
}

# --- inca: a CA home, an ACME provisioner per client, ca-serve ---------------

echo "setting up in $work" >&2
home=$work/home
"$bin/ca-init" --dir "$home" --dns 127.0.0.1 --address "127.0.0.1:$p_inca" \
    --key-iterations 1 >/dev/null
conf=$home/config/ca.json
root=$home/certs/root_ca.crt
[ -s "$home/certs/server.crt" ] || die "ca-init made no server certificate"
name=bench.acme.test
printf '{"%s": {"A": ["127.0.0.1"]}}\n' "$name" >"$work/zone.json"
/usr/bin/python3 "$dnspy" --zone "$work/zone.json" --port-file "$work/dns.port" \
    2>"$work/dns.log" &
pids+=("$!")
for _ in $(seq 500); do [ -s "$work/dns.port" ] && break; sleep 0.02; done
[ -s "$work/dns.port" ] || die "the DNS server did not start: $(cat "$work/dns.log")"
# Provisioner acme0 checks http-01 on lego's own server (the latency
# part), acme1 on the shared web root's (the throughput part); names
# through the test DNS server.
jq --arg r "127.0.0.1:$(cat "$work/dns.port")" --argjson base "$(http01 0)" \
    '.authority.provisioners += [range(0; 2) as $i | {type: "ACME",
        name: "acme\($i)", validation: {resolver: $r, httpPort: ($base + $i),
        timeout: "5s", allow: ["127.0.0.0/8"]}}]' "$conf" >"$work/ca.json"
cp "$work/ca.json" "$conf"
# Logs opened for appending, so that truncating them between parts works.
"$bin/ca-serve" --dir "$home" --listen "127.0.0.1:$p_inca" >>"$work/serve.log" 2>&1 &
pids+=("$!")
serve_pid=$!
wait_port "$p_inca" "$work/serve.log"
dir_inca() { echo "https://127.0.0.1:$p_inca/acme/acme$1/directory"; }

# --- pebble: the same server certificate, nothing validated -----------------

jq -n --arg l "127.0.0.1:$p_pebble" --arg m "127.0.0.1:$p_mgmt" \
    --arg c "$home/certs/server.crt" --arg k "$home/secrets/server_key" \
    --argjson h "$(http01 0)" \
    '{pebble: {listenAddress: $l, managementListenAddress: $m, certificate: $c,
       privateKey: $k, httpPort: $h, tlsPort: ($h + 1), ocspResponderURL: "",
       externalAccountBindingRequired: false}}' >"$work/pebble.json"
PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
    PEBBLE_AUTHZREUSE=0 pebble -config "$work/pebble.json" >>"$work/pebble.log" 2>&1 &
pids+=("$!")
wait_port "$p_pebble" "$work/pebble.log"
wait_port "$p_mgmt" "$work/pebble.log"
dir_pebble() { echo "https://127.0.0.1:$p_pebble/dir"; }
curl -sSf --cacert "$root" "https://127.0.0.1:$p_mgmt/roots/0" >"$work/pebble-root.pem" ||
    die "pebble's root: $(tail -n 5 "$work/pebble.log")"

# --- the client ---------------------------------------------------------------

# The command line of one lego process, SERVER (inca|pebble) MODE PATH,
# into the array cmd: a new account key and a new certificate key (P-256)
# every time; MODE 0, lego's own http-01 server (provisioner acme0), 1,
# the token written into the shared web root (acme1).  Paths hold no spaces (mktemp), so "${cmd[*]}" is what
# hyperfine -N splits back into the same words.
lego_cmd() {
	local url
	if [ "$1" = inca ]; then url=$(dir_inca "$2"); else url=$(dir_pebble); fi
	cmd=(env "LEGO_CA_CERTIFICATES=$root" lego --server "$url" --path "$3"
	    --accept-tos --email ops@acme.test --domains "$name" --http)
	if [ "$2" = 0 ]; then
		cmd+=(--http.port "127.0.0.1:$(http01 0)" run)
	else
		cmd+=(--http.webroot "$work/webroot" run)
	fi
}
# check_cert SERVER PATH: lego's certificate verifies against the server's
# root and names what was ordered.
check_cert() {
	local crt=$2/certificates/$name.crt ca=$root
	[ "$1" = pebble ] && ca=$work/pebble-root.pem
	[ -s "$crt" ] || die "$1: lego left no certificate in $2"
	openssl verify -CAfile "$ca" -untrusted "$crt" "$crt" >/dev/null 2>&1 ||
	    die "$1: the certificate does not verify against its root"
	openssl x509 -in "$crt" -noout -ext subjectAltName | grep -q "DNS:$name" ||
	    die "$1: the certificate does not name $name"
}
issued() { # certificates inca recorded for its ACME provisioners
	sqlite3 "$home/db/ca.db" "SELECT count(*) FROM certs WHERE provisioner LIKE 'acme%'"
}

# requests: ca-serve's log (one JSON line per request) as "METHOD PATH
# STATUS MS", the objects' ids replaced by ID; pebble's log as "METHOD
# PATH" (it logs no time).
requests_inca() {
	jq -r 'select(type == "object" and has("ms"))
	    | "\(.method) \(.path | gsub("/[A-Za-z0-9_-]{16,}"; "/ID")) \(.status) \(.ms)"' \
	    "$work/serve.log"
}
requests_pebble() {
	grep -a -o '\(GET\|HEAD\|POST\) /[a-zA-Z-]*/\? -> ' "$work/pebble.log" |
	    sed 's/ -> //' || true
}

# One certificate from each, untimed; each must verify.  The servers' logs
# of that run say which requests one certificate takes (polls included).
one() { # SERVER
	local d=$work/one-$1 cmd
	rm -rf "$d"
	lego_cmd "$1" 0 "$d"
	"${cmd[@]}" >"$work/one-$1.log" 2>&1 ||
	    die "$1: lego failed: $(tail -n 5 "$work/one-$1.log")"
	check_cert "$1" "$d"
}
echo "one certificate from each server, untimed" >&2
one inca
one pebble
[ "$(issued)" = 1 ] || die "inca: $(issued) certificates recorded after one order"
: >"$work/serve.log"
: >"$work/pebble.log"
s0=$(date +%s%N)
one inca
s1=$(date +%s%N)
one pebble
s2=$(date +%s%N)
requests_inca >"$res/requests-inca.txt"
requests_pebble >"$res/requests-pebble.txt"
{
	echo "inca:   $(((s1 - s0) / 1000000)) ms wall, $(wc -l <"$res/requests-inca.txt") requests, ca-serve's own time $(awk '{s += $4} END {printf "%.0f", s}' "$res/requests-inca.txt") ms"
	echo "pebble: $(((s2 - s1) / 1000000)) ms wall, $(wc -l <"$res/requests-pebble.txt") requests"
	echo "lego:   $(grep -c 'Wait for certificate' "$work/one-inca.log" || true) waits for the certificate against inca, $(grep -c 'Wait for certificate' "$work/one-pebble.log" || true) against pebble"
} >"$res/one.txt"

# --- machine ----------------------------------------------------------------

cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
pkgv() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo '?'; }
{
	echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpu:       ${cpu:-unknown} ($(nproc) online CPUs), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
	echo "kernel:    $(uname -sr)"
	echo "disk:      $(findmnt -n -o SOURCE,FSTYPE,OPTIONS --target "$work" 2>/dev/null | head -n 1) (the CA home)"
	echo "openssl:   $(openssl version) (libssl3 $(pkgv libssl3))"
	echo "sqlite:    libsqlite3-0 $(pkgv libsqlite3-0)"
	echo "lego:      lego $(pkgv lego)"
	echo "pebble:    pebble $(pkgv pebble)"
	echo "hyperfine: $(hyperfine --version)"
	echo "inca:      $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$top" diff --quiet HEAD -- lib ca-serve ca-acme ca-acme-va 2>/dev/null || echo ' (modified)')"
	echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start"
	echo "runs:      $rounds round(s) of $runs per server ($warmup warm-up); $clients clients x $loop certificates"
} | tee "$res/machine.txt" >&2

# --- 1. latency: one certificate per process ---------------------------------

: >"$work/serve.log"
: >"$work/pebble.log"

for r in $(seq "$rounds"); do
	echo "round $r of $rounds" >&2
	# The order alternates, so that neither server always runs first.
	if [ $((r % 2)) = 1 ]; then order="inca pebble"; else order="pebble inca"; fi
	args=()
	for s in $order; do
		lego_cmd "$s" 0 "$work/h-$s"
		args+=(-n "$s" --prepare "rm -rf $work/h-$s" "${cmd[*]}")
	done
	hyperfine -N --style basic --warmup "$warmup" --runs "$runs" \
	    --export-json "$work/round$r.json" "${args[@]}" >"$work/round$r.txt" 2>&1 ||
	    die "hyperfine, round $r: $(tail -n 5 "$work/round$r.txt")"
	# Put the commands in one order (inca first) for pooling.
	jq '.results |= sort_by(.command != "inca")' "$work/round$r.json" >"$res/round$r.json"
	for s in inca pebble; do check_cert "$s" "$work/h-$s"; done
	echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) after round $r" >>"$res/machine.txt"
done
pool "$res"/round*.json >"$res/latency.json"
# Where inca's time goes: ca-serve's time per request, by request, over
# every process of the latency part (warm-ups included); and how often
# lego asked pebble again (each repeated poll follows a sleep of lego's).
ncert=$((rounds * (runs + warmup)))
requests_inca | awk -v n="$ncert" '
    { k = $1 " " $2; c[k]++; t[k] += $4; all += $4 }
    END { for (k in c) printf "%s\t%.2f\t%.1f\n", k, c[k] / n, t[k] / c[k];
          printf "all\t\t%.1f\n", all / n }' | sort >"$res/inca-requests.tsv"
requests_pebble | sort | uniq -c |
    awk -v n="$ncert" '{ printf "%s %s\t%.2f\n", $2, $3, $1 / n }' >"$res/pebble-requests.tsv"
want=$((2 + rounds * (runs + warmup)))
[ "$(issued)" = "$want" ] ||
    die "inca: $(issued) certificates recorded, $want ordered"

# --- 2. throughput: C clients in parallel ------------------------------------

# client I SERVER: $loop certificates one after another, each a fresh
# lego process and account; stops at the first failure.
client() {
	local i=$1 s=$2 d=$work/par-$2-$1 k cmd
	for k in $(seq "$loop"); do
		rm -rf "$d"
		lego_cmd "$s" 1 "$d"
		"${cmd[@]}" >"$work/par-$s-$i.log" 2>&1 || {
			echo "$s client $i, certificate $k: $(tail -n 3 "$work/par-$s-$i.log")" >&2
			return 1
		}
		check_cert "$s" "$d"
	done
}
: >"$res/throughput.jsonl"
if [ "$loop" -gt 0 ]; then
	# The clients' web server: every lego writes its token into one web
	# root, as clients behind one HTTP server would (they cannot each
	# listen on the one port a provisioner checks).
	mkdir -p "$work/webroot"
	/usr/bin/python3 -m http.server "$(http01 1)" --bind 127.0.0.1 \
	    --directory "$work/webroot" >"$work/webroot.log" 2>&1 &
	pids+=("$!")
	wait_port "$(http01 1)" "$work/webroot.log"
	for s in inca pebble; do
		before=$(issued)
		echo "throughput: $s, $clients clients x $loop" >&2
		cpids=()
		l0=$(cut -d' ' -f1 /proc/loadavg)
		t0=$(date +%s%N)
		for i in $(seq "$clients"); do
			client "$i" "$s" &
			cpids+=("$!")
		done
		failed=0
		for p in "${cpids[@]}"; do wait "$p" || failed=1; done
		t1=$(date +%s%N)
		[ "$failed" = 0 ] || die "$s: a client failed (above)"
		if [ "$s" = inca ]; then
			[ $(($(issued) - before)) = $((clients * loop)) ] ||
			    die "inca: $(($(issued) - before)) certificates recorded, $((clients * loop)) ordered"
		fi
		jq -n -c --arg s "$s" --argjson c "$clients" --argjson n "$loop" \
		    --argjson ns "$((t1 - t0))" --arg l0 "$l0" --arg l1 "$(cut -d' ' -f1 /proc/loadavg)" \
		    '{server: $s, clients: $c, per_client: $n, certificates: ($c * $n),
		      seconds: ($ns / 1e9), per_second: ($c * $n / ($ns / 1e9)),
		      load_before: ($l0 | tonumber), load_after: ($l1 | tonumber)}' \
		    | tee -a "$res/throughput.jsonl" >&2
	done
fi
# --- 3. where inca's time goes ------------------------------------------------

: >"$res/stages.txt"
if [ "$stages" = 1 ]; then
	echo "stages: strace over one certificate, the validator alone" >&2
	# Every process under ca-serve (its workers, the acme handler) is
	# traced, and what they start from then on.
	tree=$serve_pid
	for _ in 1 2 3; do
		for p in ${tree//,/ }; do
			for c in $(pgrep -P "$p" || true); do
				case ",$tree," in *",$c,"*) ;; *) tree=$tree,$c ;; esac
			done
		done
	done
	strace -qq -f -c -w -e trace=fdatasync,fsync,execve -o "$work/strace.txt" -p "$tree" &
	st=$!
	sleep 1
	one inca
	sleep 0.3
	kill -INT "$st"
	wait "$st" || true
	syncs=$(awk '$NF == "fdatasync" || $NF == "fsync" {n += $4} END {print n + 0}' "$work/strace.txt")
	syncms=$(awk '$NF == "fdatasync" || $NF == "fsync" {t += $2} END {printf "%.1f", t * 1000}' "$work/strace.txt")
	execs=$(awk '$NF == "execve" {n += $4} END {print n + 0}' "$work/strace.txt")
	cp "$work/strace.txt" "$res/strace.txt"
	# The validator alone: one http-01 challenge for $name, resolved by
	# the same DNS server, fetched from a test responder (Python), and
	# its bare start.
	tok=benchmarktoken0123456789ab
	ka=$tok.benchmarkthumbprint0123456789abcdefghijklmn
	jq -n --arg p "/.well-known/acme-challenge/$tok" --arg b "$ka" \
	    '{($p): {status: 200, body: $b}}' >"$work/routes.json"
	/usr/bin/python3 "$httppy" --port $((port + 9)) --routes "$work/routes.json" \
	    --log "$work/http01.log" 2>"$work/http01.err" &
	pids+=("$!")
	wait_port $((port + 9)) "$work/http01.err"
	jq -n -c --arg n "$name" --arg t "$tok" --arg k "$ka" \
	    '{type: "http-01", identifier: {type: "dns", value: $n}, token: $t,
	      keyAuthorization: $k}' >"$work/q.json"
	va="$bin/ca-acme-va --resolver 127.0.0.1:$(cat "$work/dns.port") --http-port $((port + 9)) --timeout 5s --allow 127.0.0.0/8"
	$va <"$work/q.json" | jq -e '.valid == true' >/dev/null ||
	    die "ca-acme-va: the test challenge is not valid"
	hyperfine --style basic --warmup 3 --runs 30 --export-json "$res/validator.json" \
	    -n "ca-acme-va, one http-01 challenge" "$va <$work/q.json" \
	    -n "ca-acme-va --version" "$bin/ca-acme-va --version" >"$work/validator.txt" 2>&1 ||
	    die "hyperfine: $(tail -n 5 "$work/validator.txt")"
	{
		echo "one certificate, every process under ca-serve: $syncs fdatasync/fsync ($syncms ms wall in all), $execs execve"
		jq -r '.results[] | "\(.command): median \(.median * 1000 | round) ms, mean \(.mean * 1000 | round) ± \(.stddev * 1000 | round) ms, min \(.min * 1000 | round) ms, user+sys \((.user + .system) * 1000 | round) ms"' \
		    "$res/validator.json"
	} >"$res/stages.txt"
fi
echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at end" >>"$res/machine.txt"
echo "inca:      $(issued) certificates recorded in all, each through a validated http-01 challenge" >>"$res/machine.txt"

# --- summary -----------------------------------------------------------------

{
	echo "# ACME: one certificate per lego process"
	echo
	sed 's/^/    /' "$res/machine.txt"
	echo
	echo "## Latency (hyperfine, $rounds rounds pooled)"
	echo
	echo "| server | runs | median ms | mean ± σ ms | min ms | max ms | lego user+sys ms |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	jq -r '.results[] | "| \(.command) | \(.runs) | \(.median * 1000 | round) | \(.mean * 1000 | round) ± \(.stddev * 1000 | round) | \(.min * 1000 | round) | \(.max * 1000 | round) | \((.user + .system) * 1000 | round) |"' \
	    "$res/latency.json"
	echo
	jq -r '(.results[1].median / .results[0].median) as $r
	    | (.results[1].min / .results[0].min) as $m
	    | "pebble / inca: \($r * 100 | round / 100) by median, \($m * 100 | round / 100) by minimum (above 1: inca is faster)"' \
	    "$res/latency.json"
	echo
	echo "Distribution (every timed run of every round):"
	echo
	echo "| server | p10 ms | p50 ms | p90 ms | runs over 500 ms | over 2 s |"
	echo "|---|---:|---:|---:|---:|---:|"
	jq -s -r 'map(.results[]) | group_by(.command)[]
	    | (map(.times[]) | sort | map(. * 1000)) as $t | ($t | length) as $n
	    | "| \(.[0].command) | \($t[($n * 0.1 | floor)] | round) | \($t[($n * 0.5 | floor)] | round) | \($t[($n * 0.9 | floor)] | round) | \($t | map(select(. > 500)) | length) of \($n) | \($t | map(select(. > 2000)) | length) |"' \
	    "$res"/round*.json
	echo
	echo "## Requests per certificate in the latency part ($ncert processes each)"
	echo
	echo "inca: per certificate, and ca-serve's mean ms per request (from"
	echo "reading the request to writing the answer, the handler's work included):"
	echo
	echo "| request | per certificate | mean ms |"
	echo "|---|---:|---:|"
	awk -F'\t' '{ printf "| %s | %s | %s |\n", $1, $2, $3 }' "$res/inca-requests.tsv"
	echo
	echo "pebble: per certificate (a second order or authorization poll follows"
	echo "a sleep of lego's: 500 ms for the order, a back-off of about 5 s for the"
	echo "authorization):"
	echo
	echo "| request | per certificate |"
	echo "|---|---:|"
	awk -F'\t' '{ printf "| %s | %s |\n", $1, $2 }' "$res/pebble-requests.tsv"
	echo
	echo "## One certificate, the requests (untimed run)"
	echo
	sed 's/^/    /' "$res/one.txt"
	echo
	echo "inca (method, path, status, ca-serve's ms):"
	echo
	sed 's/^/    /' "$res/requests-inca.txt"
	echo
	echo "pebble:"
	echo
	sed 's/^/    /' "$res/requests-pebble.txt"
	if [ -s "$res/stages.txt" ]; then
		echo
		echo "## Where inca's time goes"
		echo
		sed 's/^/    /' "$res/stages.txt"
	fi
	if [ -s "$res/throughput.jsonl" ]; then
		echo
		echo "## Throughput: $clients parallel clients, $loop certificates each"
		echo
		echo "| server | certificates | seconds | certificates/s | load before → after |"
		echo "|---|---:|---:|---:|---|"
		jq -r '"| \(.server) | \(.certificates) | \(.seconds * 100 | round / 100) | \(.per_second * 100 | round / 100) | \(.load_before) → \(.load_after) |"' \
		    "$res/throughput.jsonl"
	fi
} >"$res/summary.md"
cat "$res/summary.md"
