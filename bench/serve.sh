#!/usr/bin/env bash
# bench/serve.sh: throughput of the online CA over HTTPS, ca-serve in each
# of its process models, against the peer `cfssl serve`, on the same
# machine in the same run, reported as ratios.
#
# Every row signs the same P-256 CSR with the same intermediate key, behind
# the same server certificate, for N concurrent clients (bench/loadgen):
#   - a new TLS connection per request (full handshake, nothing resumed),
#   - kept-alive connections (one per client, many requests each).
# cfssl: POST /api/v1/cfssl/sign {"certificate_request": CSR}, the endpoint
# that signs a given CSR like ours (no token, no database).  inca: POST
# /1.0/sign {"csr","ott"}, a fresh one-time token per request, checked and
# spent in the CA's database with the certificate (synchronous=FULL).
# Rows (--rows):
#   cfssl         cfssl serve
#   listen        ca-serve --listen: pre-forked workers, handler pool
#   activate      systemd-socket-activate -l (Accept=no): LISTEN_FDS, the
#                 same accept loop
#   inetd-socket  systemd-socket-activate --accept --inetd (Accept=yes): a ca-serve
#                 per connection, relaying to one long-lived
#                 `ca-sign --api --offline --socket` (ca.json "handlers")
#   inetd-coproc  the same, a `ca-sign --api --offline` coprocess per
#                 connection
# Each (row, mode) gets a fresh copy of the CA home and a fresh server; the
# server's CPU time (the process and every child it reaped, from
# /usr/bin/time) is reported per request, as is the load generator's.
# Then, unless --no-stages, where the time goes: TLS + HTTP without an
# issuance (GET /health of --listen and of a ca-serve per connection, a
# sign request the handler refuses; cfssl: a 404), the public-key
# operations alone (openssl speed), the handler alone (a stream of 1,000
# requests on the disk and on /dev/shm), a handler process's start
# (hyperfine), and an SQLite commit by itself (sqlite3, synchronous FULL /
# NORMAL / OFF).
#
#   bash bench/serve.sh [--duration S] [--clients N] [--rows "ROW..."]
#                       [--modes "new keepalive"] [--rounds R] [--port P]
#                       [--tokens N] [--no-stages] [--profile] [--out DIR]
#
# Expects `make` to have built bin/ (ca-serve among them); builds
# bench/loadgen itself (`make bench/loadgen`).  Without bin/ca-serve only
# the cfssl rows run.  Tools: cfssl (golang-cfssl), systemd-socket-activate
# (systemd), hyperfine, openssl, sqlite3, jq, dash, /usr/bin/time,
# /usr/bin/python3 with jwcrypto and cryptography.  See bench/README.md.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

prog=${0##*/}
duration=10
clients=8
rows="cfssl listen activate inetd-socket inetd-coproc"
modes="new keepalive"
rounds=1
port=18443
tokens=
stages=1
profile=0
out=

usage() {
	cat <<EOF
usage: $prog [--duration S] [--clients N] [--rows "ROW..."] [--modes "MODE..."]
       [--rounds R] [--port P] [--tokens N] [--no-stages] [--profile] [--out DIR]
  --duration S   seconds per measured run (default 10)
  --clients N    concurrent clients (default 8)
  --rows LIST    of: cfssl listen activate inetd-socket inetd-coproc
                 (default: all)
  --modes LIST   of: new keepalive (default: both)
  --rounds R     times to run every row (default 1)
  --port P       the TCP port on 127.0.0.1 (default 18443)
  --tokens N     one-time tokens minted per run (default 3000 x duration)
  --no-stages    skip the breakdown of where the time goes
  --profile      also count instructions (valgrind's callgrind): the handler
                 and ca-serve per request, ca-serve per connection
  --out DIR      keep the raw results and the summary here
EOF
	exit "${1:-0}"
}

num() { # option value must be a positive number
	case $2 in ''|*[!0-9]*|0) die "$1: a positive number" ;; esac
}

while [ $# -gt 0 ]; do
	case $1 in
	--duration) [ $# -ge 2 ] || usage 2; duration=$2; shift 2 ;;
	--clients) [ $# -ge 2 ] || usage 2; clients=$2; shift 2 ;;
	--rows) [ $# -ge 2 ] || usage 2; rows=$2; shift 2 ;;
	--modes) [ $# -ge 2 ] || usage 2; modes=$2; shift 2 ;;
	--rounds) [ $# -ge 2 ] || usage 2; rounds=$2; shift 2 ;;
	--port) [ $# -ge 2 ] || usage 2; port=$2; shift 2 ;;
	--tokens) [ $# -ge 2 ] || usage 2; tokens=$2; shift 2 ;;
	--no-stages) stages=0; shift ;;
	--profile) profile=1; shift ;;
	--out) [ $# -ge 2 ] || usage 2; out=$2; shift 2 ;;
	-h|--help) usage 0 ;;
	*) echo "$prog: unknown argument: $1" >&2; usage 2 ;;
	esac
done
num --duration "$duration"
num --clients "$clients"
num --rounds "$rounds"
num --port "$port"
[ -z "$tokens" ] || num --tokens "$tokens"
: "${tokens:=$((3000 * duration))}"
for r in $rows; do
	case $r in cfssl|listen|activate|inetd-socket|inetd-coproc) ;;
	*) die "--rows: unknown row $r" ;; esac
done
for m in $modes; do
	case $m in new|keepalive) ;; *) die "--modes: new or keepalive" ;; esac
done

top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/bin
for b in ca-init ca-token ca-sign; do
	[ -x "$bin/$b" ] || die "$bin/$b not found: run make first"
done
have_serve=0
[ -x "$bin/ca-serve" ] && have_serve=1
for t in cfssl systemd-socket-activate hyperfine openssl sqlite3 jq dash; do
	command -v "$t" >/dev/null || die "$t is needed"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is needed (Debian package time)"
if [ "$profile" = 1 ]; then
	for t in valgrind callgrind_annotate; do
		command -v "$t" >/dev/null || die "--profile needs $t (Debian package valgrind)"
	done
fi
/usr/bin/python3 -c 'import jwcrypto, cryptography' 2>/dev/null ||
    die "/usr/bin/python3 with jwcrypto and cryptography is needed"
make -s -C "$top" bench/loadgen >&2 || die "cannot build bench/loadgen"
loadgen=$top/bench/loadgen
tokpy=$top/tests/bats/helpers/tok.py

unset OPENSSL_CONF SSL_CERT_FILE SSL_CERT_DIR CA_DIR CA_URL CA_ROOT

# --- processes: every one started here is stopped at exit -------------------

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/inca-serve.XXXXXX")
shm=
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	sleep 0.2
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work"
	[ -z "$shm" ] || rm -rf "$shm"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
shm=$(mktemp -d /dev/shm/inca-serve.XXXXXX)
if [ -n "$out" ]; then
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	res=$out
	rm -rf "$res"/*.json "$res"/*.jsonl "$res"/*.time "$res"/logs
else
	res=$work/results
	mkdir -p "$res"
fi
mkdir -p "$res/logs"
logs=$work/logs
mkdir -p "$logs"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
port_open && die "127.0.0.1:$port is in use (--port)"

# run_bg NAME CMD...: start CMD under /usr/bin/time (its CPU time and that
# of every child it reaps go to NAME.time), output to NAME.log.  Sets
# $tpid (time) and $spid (the command itself).
run_bg() {
	local name=$1
	shift
	/usr/bin/time -f '%e %U %S %R' -o "$res/$name.time" "$@" \
	    >"$logs/$name.log" 2>&1 &
	tpid=$!
	pids+=("$tpid")
	spid=
	for _ in $(seq 100); do
		spid=$(pgrep -P "$tpid" | head -n 1) && [ -n "$spid" ] && break
		sleep 0.01
	done
	[ -n "$spid" ] || die "$name did not start: $(tail -n 5 "$logs/$name.log")"
	pids+=("$spid")
}
# stop_bg PID TPID: SIGTERM to the command, wait for its /usr/bin/time.
# The servers log every request: only the last lines of each log are kept.
stop_bg() {
	local f
	kill -TERM "$1" 2>/dev/null || true
	wait "$2" 2>/dev/null || true
	for f in "$logs"/*.log; do
		[ -e "$f" ] || continue
		tail -n 20 "$f" >"$res/logs/${f##*/}"
		rm -f "$f"
	done
}
wait_port() {
	for _ in $(seq 500); do
		port_open && return 0
		sleep 0.02
	done
	die "nothing listens on 127.0.0.1:$port: $(tail -n 5 "$logs/$1.log")"
}
# user + system seconds (the last line: a first may say "terminated by signal")
cpu_of() { tail -n 1 "$res/$1.time" | awk '{printf "%.3f", $2 + $3}'; }
# minor page faults (the process and its reaped children)
faults_of() { tail -n 1 "$res/$1.time" | awk '{print $4 + 0}'; }

# --- inputs -----------------------------------------------------------------

echo "setting up in $work" >&2
home=$work/pristine
"$bin/ca-init" --dir "$home" --dns 127.0.0.1 --address "127.0.0.1:$port" \
    --key-iterations 1 >/dev/null
conf=$home/config/ca.json
root=$home/certs/root_ca.crt
# The server certificate for 127.0.0.1, ca-serve's and cfssl's alike.
if [ ! -s "$home/certs/server.crt" ]; then
	"$bin/ca-sign" --offline --dir "$home" --key-out "$home/secrets/server_key" \
	    --token "$("$bin/ca-token" --offline --dir "$home" --san 127.0.0.1 127.0.0.1)" \
	    >"$home/certs/server.crt"
fi
chmod 0644 "$home/certs/server.crt"
openssl verify -CAfile "$root" -untrusted "$home/certs/intermediate_ca.crt" \
    "$home/certs/server.crt" >/dev/null || die "server certificate does not verify"
# cfssl takes the intermediate key unencrypted.
openssl pkcs8 -in "$home/secrets/intermediate_ca_key" \
    -passin "file:$home/secrets/password" -out "$work/int.key"
name=bench.example.com
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$work/leaf.key" -subj "/CN=$name" \
    -addext "subjectAltName=DNS:$name" -out "$work/csr.pem" 2>/dev/null
jq -n -c --rawfile c "$work/csr.pem" '{certificate_request: $c}' >"$work/cfssl.json"
cp -a "$home/db" "$work/pristine-db"

# Tokens: the provisioner key decrypted once, then minted by tok.py (no
# PBKDF2 per token), aud https://127.0.0.1:PORT/1.0/sign, valid for the
# hour ca.json allows.  Every run gets a fresh copy of the home, so the same
# tokens serve every run; warm-up tokens are apart from the measured ones.
/usr/bin/python3 "$tokpy" key "$conf" "$home/secrets/password" >"$work/prov.jwk"
nwarm=$((clients * 4))
echo "minting $((tokens + nwarm + 1200)) tokens" >&2
/usr/bin/python3 "$tokpy" mint "$work/prov.jwk" "$conf" --sub "$name" \
    --set exp=now+3600 -n $((tokens + nwarm + 1200)) |
    jq -R -c --rawfile c "$work/csr.pem" '{csr: $c, ott: .}' >"$work/all.jsonl"
head -n "$nwarm" "$work/all.jsonl" >"$work/warm.jsonl"
sed -n "$((nwarm + 1)),$((nwarm + tokens))p" "$work/all.jsonl" >"$work/bodies.jsonl"
tail -n 1200 "$work/all.jsonl" >"$work/stage.jsonl"
minted_at=$(date +%s)

# A fresh CA home for one run: D/home, with handlers.sign when asked.
fresh_home() { # dir [socket]
	rm -rf "$1"
	mkdir -p "$1"
	cp -a "$home" "$1/home"
	rm -rf "$1/home/db"
	cp -a "$work/pristine-db" "$1/home/db"
	if [ -n "${2:-}" ]; then
		jq --arg s "$2" '.handlers = {sign: $s}' "$conf" >"$1/home/config/ca.json"
	fi
}

# The sign handler of a CA home answers at all: one request on a pipe.
probe_handler() {
	sed -n 1p "$work/stage.jsonl" | "$bin/ca-sign" --api --offline --dir "$1" |
	    jq -e '.crt' >/dev/null
}

# --- one run ----------------------------------------------------------------

# lg NAME MODE ARGS...: loadgen into NAME.json.
lg() {
	local tag=$1 mode=$2 ka=
	shift 2
	[ "$mode" = keepalive ] && ka=--keepalive
	"$loadgen" --connect "127.0.0.1:$port" --cacert "$root" \
	    --clients "$clients" ${ka:+"$ka"} "$@" >"$res/$tag.json" || {
		echo "$prog: $tag: $(cat "$res/$tag.json" 2>/dev/null)" >&2
		return 0
	}
}

# measure ROW MODE ROUND
measure() {
	local row=$1 mode=$2 rnd=$3 tag="$1-$2-r$3" d=$work/run hpid='' htpid=''
	local sock=$work/run/sign.sock path=/1.0/sign expect=201 body=() warm=()
	case $row in
	cfssl)
		run_bg "$tag" cfssl serve -address 127.0.0.1 -port "$port" \
		    -ca "$home/certs/intermediate_ca.crt" -ca-key "$work/int.key" \
		    -tls-cert "$home/certs/server.crt" -tls-key "$home/secrets/server_key"
		path=/api/v1/cfssl/sign
		expect=200
		body=(--body "$work/cfssl.json")
		warm=(--body "$work/cfssl.json" --requests "$nwarm")
		;;
	listen|activate|inetd-coproc)
		fresh_home "$d"
		;;&
	inetd-socket)
		fresh_home "$d" "$sock"
		run_bg "$tag-handler" "$bin/ca-sign" --api --offline --dir "$d/home" \
		    --socket "$sock"
		hpid=$spid htpid=$tpid
		for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.01; done
		[ -S "$sock" ] || die "the handler socket did not appear: $(tail -n 5 "$logs/$tag-handler.log")"
		;;&
	listen)
		run_bg "$tag" "$bin/ca-serve" --dir "$d/home" --listen "127.0.0.1:$port" ;;
	activate)
		run_bg "$tag" systemd-socket-activate -l "127.0.0.1:$port" \
		    "$bin/ca-serve" --dir "$d/home" ;;
	inetd-*)
		run_bg "$tag" systemd-socket-activate --accept --inetd -l "127.0.0.1:$port" \
		    "$bin/ca-serve" --dir "$d/home" ;;
	esac
	if [ "$row" != cfssl ]; then
		body=(--bodies "$work/bodies.jsonl")
		warm=(--bodies "$work/warm.jsonl")
	fi
	wait_port "$tag"
	# Warm-up: the server's first requests (handlers starting, caches).
	lg "$tag-warm" "$mode" --path "$path" --expect "$expect" "${warm[@]}" -v
	if [ "$(jq '.ok' "$res/$tag-warm.json")" -gt 0 ]; then
		lg "$tag" "$mode" --path "$path" --expect "$expect" "${body[@]}" \
		    --duration "$duration" -v
	else
		echo "$prog: $tag: no request of the warm-up succeeded: not measured" >&2
		cp "$res/$tag-warm.json" "$res/$tag.json"
	fi
	sleep 0.3
	stop_bg "$spid" "$tpid"
	[ -z "$hpid" ] || stop_bg "$hpid" "$htpid"
	local cpu hcpu=0 flt hflt=0 nreq
	cpu=$(cpu_of "$tag")
	flt=$(faults_of "$tag")
	[ -z "$hpid" ] || hcpu=$(cpu_of "$tag-handler")
	[ -z "$hpid" ] || hflt=$(faults_of "$tag-handler")
	nreq=$(jq -s 'map(.ok) | add' "$res/$tag-warm.json" "$res/$tag.json")
	jq -c --arg row "$row" --argjson round "$rnd" --argjson cpu "$cpu" \
	    --argjson hcpu "$hcpu" --argjson n "$nreq" --argjson f "$((flt + hflt))" \
	    '. + {row: $row, round: $round, server_cpu_s: ($cpu + $hcpu),
	          server_faults_per_req: (if $n > 0 then $f / $n else null end),
	          server_ms_per_req: (if $n > 0 then ($cpu + $hcpu) * 1000 / $n else null end),
	          client_ms_per_req: (if .ok > 0 then .client_cpu_s * 1000 / .ok else null end)}' \
	    "$res/$tag.json" >>"$res/runs.jsonl"
	jq -r '"\(.row) \(.mode): \(.rps) req/s, p99 \(.p99_ms) ms, \(.errors) errors, server \(.server_ms_per_req // 0 | . * 100 | round / 100) ms CPU/req"' \
	    <<<"$(tail -n 1 "$res/runs.jsonl")" >&2
	rm -rf "$d"
}

# --- machine ----------------------------------------------------------------

# The cost of one page fault: the first write to each page of a fresh
# anonymous mapping (what a forked child's copy-on-write and a new process
# pay per page they touch), microseconds, median of 3.
pagefault() {
	/usr/bin/python3 -c '
import mmap, time
n = 16384
r = []
for _ in range(3):
    m = mmap.mmap(-1, n * 4096)
    t = time.perf_counter()
    for i in range(0, n * 4096, 4096):
        m[i] = 1
    r.append((time.perf_counter() - t) / n * 1e6)
    m.close()
print("%.2f" % sorted(r)[1])'
}
cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
pkgv() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo '?'; }
{
	echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpu:       ${cpu:-unknown} ($(nproc) online CPUs), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
	echo "kernel:    $(uname -sr)"
	echo "disk:      $(findmnt -n -o SOURCE,FSTYPE,OPTIONS --target "$work" 2>/dev/null | head -n 1) (the CA homes)"
	echo "openssl:   $(openssl version) (libssl3 $(pkgv libssl3))"
	echo "sqlite:    libsqlite3-0 $(pkgv libsqlite3-0)"
	echo "cfssl:     golang-cfssl $(pkgv golang-cfssl), $(cfssl version 2>/dev/null | awk '/Runtime/ {print $2}')"
	echo "systemd:   $(systemd-socket-activate --version | head -n 1)"
	echo "inca:      $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$top" diff --quiet HEAD -- lib ca-serve ca-sign 2>/dev/null || echo ' (modified)')"
	echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start"
	echo "faults:    $(pagefault) µs per page fault (first write to a fresh anonymous page; python3 mmap, 16,384 pages, median of 3): what a fork's copy-on-write and a process start pay per page touched"
	echo "runs:      $clients clients, ${duration}s per run, $rounds round(s); rows: $rows; modes: $modes"
	[ "$have_serve" = 1 ] || echo "ca-serve:  not built: cfssl rows only"
} | tee "$res/machine.txt" >&2

# --- the comparison ---------------------------------------------------------

: >"$res/runs.jsonl"
for rnd in $(seq "$rounds"); do
	for row in $rows; do
		if [ "$row" != cfssl ] && [ "$have_serve" = 0 ]; then
			continue
		fi
		for mode in $modes; do
			# The tokens live an hour; a long run mints again.
			if [ $(( $(date +%s) - minted_at )) -gt 3000 ]; then
				die "tokens minted too long ago: use fewer rounds or rows"
			fi
			measure "$row" "$mode" "$rnd"
		done
	done
done

# --- where the time goes ----------------------------------------------------

stage_lines=()
stage() { stage_lines+=("$(printf '| %s | %s |' "$1" "$2")"); }
if [ "$stages" = 1 ]; then
	half=$(( duration > 1 ? duration / 2 : 1 ))
	# TLS and HTTP without an issuance, each mode: a 404 from cfssl (it has
	# no health route); GET /health of ca-serve --listen and of a ca-serve
	# per connection (Accept=yes: the process start and the CA home read
	# each time); a sign request the handler refuses at once (its token
	# does not parse: TLS, the request's JSON, the hop to the handler and
	# back, nothing signed or written).
	head -n 1 "$work/stage.jsonl" | jq -c '.ott = "x.y.z"' >"$work/refused.json"
	# stage_get TAG LABEL LOADGEN-ARGS...: one row of stages.jsonl from the
	# server already started by run_bg TAG.
	stage_get() {
		local tag=$1 label=$2
		shift 2
		wait_port "$tag"
		lg "$tag" "$mode" "$@" --duration "$half"
		sleep 0.3
		stop_bg "$spid" "$tpid"
		jq -c --arg row "$label" --argjson cpu "$(cpu_of "$tag")" \
		    --argjson f "$(faults_of "$tag")" \
		    '. + {row: $row, server_ms_per_req: ($cpu * 1000 / .ok),
		          server_faults_per_req: ($f / .ok)}' \
		    "$res/$tag.json" >>"$res/stages.jsonl"
	}
	for mode in $modes; do
		run_bg "stage-cfssl404-$mode" cfssl serve -address 127.0.0.1 -port "$port" \
		    -ca "$home/certs/intermediate_ca.crt" -ca-key "$work/int.key" \
		    -tls-cert "$home/certs/server.crt" -tls-key "$home/secrets/server_key"
		stage_get "stage-cfssl404-$mode" "cfssl GET 404" --path /nothing --expect 404
		[ "$have_serve" = 1 ] || continue
		fresh_home "$work/run"
		run_bg "stage-health-$mode" "$bin/ca-serve" --dir "$work/run/home" \
		    --listen "127.0.0.1:$port"
		stage_get "stage-health-$mode" "ca-serve --listen, GET /health" \
		    --path /health --expect 200
		run_bg "stage-inetd-health-$mode" systemd-socket-activate --accept --inetd \
		    -l "127.0.0.1:$port" "$bin/ca-serve" --dir "$work/run/home"
		stage_get "stage-inetd-health-$mode" "ca-serve per connection (Accept=yes), GET /health" \
		    --path /health --expect 200
		run_bg "stage-refused-$mode" "$bin/ca-serve" --dir "$work/run/home" \
		    --listen "127.0.0.1:$port"
		stage_get "stage-refused-$mode" "ca-serve --listen, a sign request the handler refuses (401)" \
		    --path /1.0/sign --expect 401 --body "$work/refused.json"
		rm -rf "$work/run"
	done

	# The public-key operations an issuance cannot skip, by themselves:
	# OpenSSL's own figures for P-256 (the intermediate's key, the token's
	# ES256, the CSR's key here) and X25519 (the TLS key exchange).
	if openssl speed -seconds 2 ecdsap256 ecdhx25519 >"$res/logs/speed.txt" 2>/dev/null; then
		stage "openssl speed: P-256 ECDSA sign / verify, µs each" \
		    "$(awk '/ecdsa \(nistp256\)/ {printf "%.1f / %.1f", 1e6 / $(NF-1), 1e6 / $NF}' "$res/logs/speed.txt")"
		stage "openssl speed: X25519 key agreement, µs each" \
		    "$(awk '/ecdh \(X25519\)/ {printf "%.1f", 1e6 / $NF}' "$res/logs/speed.txt")"
	fi

	# The handler alone: 1,000 requests on one stream, in a fresh home on
	# the disk and on /dev/shm (where a commit's fsync costs nothing).
	sed -n 2,1001p "$work/stage.jsonl" >"$work/stream.jsonl"
	for where in disk shm; do
		if [ "$where" = disk ]; then sd=$work/stream; else sd=$shm/stream; fi
		fresh_home "$sd"
		s=$(date +%s%N)
		/usr/bin/time -f '%e %U %S' -o "$res/stream-$where.time" \
		    "$bin/ca-sign" --api --offline --dir "$sd/home" \
		    <"$work/stream.jsonl" >"$work/stream.out" 2>"$res/logs/stream-$where.log" || true
		e=$(date +%s%N)
		ok=$(jq -c 'select(.crt)' "$work/stream.out" 2>/dev/null | wc -l)
		if [ "$ok" = 1000 ]; then
			stage "handler stream, 1,000 requests, home on $where: wall / CPU ms per certificate" \
			    "$(awk -v w=$((e - s)) -v c="$(cpu_of "stream-$where")" \
			        'BEGIN {printf "%.3f / %.3f", w / 1e9, c}')"
		else
			stage "handler stream, home on $where" "n/a: $ok of 1000 certificates (a stream of one request only?)"
		fi
		rm -rf "$sd"
	done

	# A handler process per request: start, one certificate, exit.  Each
	# run needs a fresh token: hyperfine's preparation moves the next
	# request into cur.json (not timed).
	fresh_home "$work/cop"
	sed -n 1002,1200p "$work/stage.jsonl" >"$work/cop.pool"
	cat >"$work/next.sh" <<EOF
head -n 1 '$work/cop.pool' >'$work/cur.json'
sed -i 1d '$work/cop.pool'
EOF
	hyperfine --style basic -S dash --runs 60 --warmup 5 \
	    --prepare "dash $work/next.sh" --export-json "$res/coprocess.json" \
	    -n "ca-sign --api --offline, one request" \
	    "exec $bin/ca-sign --api --offline --dir $work/cop/home < $work/cur.json > /dev/null" \
	    -n "ca-sign --version" "exec $bin/ca-sign --version > /dev/null" \
	    >"$res/logs/hyperfine.log" 2>&1 || true
	if [ -s "$res/coprocess.json" ]; then
		stage "a handler process per request: ca-sign --api --offline, one request, start to exit: median ms (hyperfine, shell start subtracted)" \
		    "$(jq -r '.results[0].median * 1000 | . * 100 | round / 100' "$res/coprocess.json")"
		stage "ca-sign --version (the loader and OpenSSL's initialisation alone): median ms" \
		    "$(jq -r '.results[1].median * 1000 | . * 100 | round / 100' "$res/coprocess.json")"
	else
		stage "a handler process per request" "n/a: $(tail -n 3 "$res/logs/hyperfine.log")"
	fi
	rm -rf "$work/cop"

	# An SQLite commit alone: 500 one-row transactions of 1 KiB in WAL mode
	# on the CA's disk, by synchronous setting.
	for sync in FULL NORMAL OFF; do
		db=$work/commit-$sync.db
		sqlite3 "$db" 'PRAGMA journal_mode=WAL; CREATE TABLE t(x BLOB);' >/dev/null
		{
			echo "PRAGMA synchronous=$sync;"
			for _ in $(seq 500); do
				echo "INSERT INTO t VALUES(randomblob(1024));"
			done
		} >"$work/commit.sql"
		s=$(date +%s%N)
		sqlite3 "$db" <"$work/commit.sql"
		e=$(date +%s%N)
		stage "sqlite3 commit, WAL, synchronous=$sync, ms per transaction" \
		    "$(awk -v w=$((e - s)) 'BEGIN {printf "%.3f", w / 1e6 / 500}')"
		rm -f "$db"*
	done
fi
# --- instructions (--profile) ------------------------------------------------

prof_lines=()
prof() { prof_lines+=("$(printf '| %s | %s |' "$1" "$2")"); }
# Inclusive instructions of function $2 in tree $1: the largest of its
# entries (callgrind may list a function under its source path and again
# under its object, the same calls or a share of them).
inclmax() {
	awk -v f="$2" '/\*  / && (index($0, ":" f " [") || $NF ~ (":" f "$")) {
	    gsub(",", "", $1); if ($1 + 0 > m) m = $1 + 0}
	    END {print m + 0}' "$1"
}
# per N TREE FUNCTION: inclusive instructions of FUNCTION per request, M.
per() { awk -v x="$(inclmax "$2" "$3")" -v n="$1" 'BEGIN {printf "%.3f", x / n / 1e6}'; }
# cg_wait N: until N callgrind files of ca-serve are written and closed.
cg_wait() {
	for _ in $(seq 600); do
		[ "$(find "$work" -maxdepth 1 -name 'srv.*.cg' | wc -l)" -ge "$1" ] &&
		    ! pgrep -P "$spid" >/dev/null && return 0
		sleep 0.1
	done
	die "callgrind of ca-serve did not finish"
}
if [ "$profile" = 1 ]; then
	echo "counting instructions (valgrind)" >&2
	np=200
	sed -n 1p "$work/stage.jsonl" >"$work/p1.jsonl"
	sed -n "2,$((np + 1))p" "$work/stage.jsonl" >"$work/pn.jsonl"
	# The handler: one request, then 1 + N on one stream, each in a fresh home.
	fresh_home "$work/prof"
	h1=$(count handler1 "$work/p1.jsonl" "$bin/ca-sign" --api --offline --dir "$work/prof/home")
	fresh_home "$work/prof"
	cat "$work/p1.jsonl" "$work/pn.jsonl" >"$work/p1n.jsonl"
	hn=$(count handlerN "$work/p1n.jsonl" "$bin/ca-sign" --api --offline --dir "$work/prof/home")
	t=$work/handlerN.tree
	prof "handler, one request in its own process (start, one certificate, exit)" "$(mi "$h1")"
	prof "handler, per further request on a stream (1 + $np requests: (total − one) / $np)" \
	    "$(awk -v a="$hn" -v b="$h1" -v n="$np" 'BEGIN {printf "%.2f", (a - b) / n / 1e6}')"
	for f in pem_load_csr der_check_csr X509_REQ_dup d2i_X509_REQ authority_sign \
	    jws_verify csr_check x509_issue X509_sign X509_verify db_commit; do
		prof "… of which \`$f\` (inclusive, the same difference)" \
		    "$(awk -v a="$(inclmax "$t" "$f")" -v b="$(inclmax "$work/handler1.tree" "$f")" \
		        -v n="$np" 'BEGIN {printf "%.3f", (a - b) / n / 1e6}')"
	done
	# ca-serve, inetd style under callgrind (its coprocess not traced):
	# one connection with one GET /health; one connection with 1 sign
	# request; one with 1 + N.  Each connection is one ca-serve process.
	fresh_home "$work/prof"
	rm -f "$work"/srv.*.cg
	run_bg prof-serve systemd-socket-activate --accept --inetd -l "127.0.0.1:$port" \
	    valgrind --tool=callgrind --callgrind-out-file="$work/srv.%p.cg" \
	    "$bin/ca-serve" --dir "$work/prof/home"
	sleep 1
	"$loadgen" --connect "127.0.0.1:$port" --cacert "$root" --clients 1 \
	    --timeout 120 --path /health --requests 1 >"$res/prof-health.json" || true
	cg_wait 1
	"$loadgen" --connect "127.0.0.1:$port" --cacert "$root" --clients 1 \
	    --timeout 120 --keepalive --path /1.0/sign --expect 201 \
	    --bodies "$work/p1.jsonl" >"$res/prof-sign1.json" || true
	cg_wait 2
	"$loadgen" --connect "127.0.0.1:$port" --cacert "$root" --clients 1 \
	    --timeout 120 --keepalive --path /1.0/sign --expect 201 \
	    --bodies <(sed -n "$((np + 2)),$((2 * np + 2))p" "$work/stage.jsonl") \
	    >"$res/prof-signN.json" || true
	cg_wait 3
	stop_bg "$spid" "$tpid"
	mapfile -t cgs < <(ls -tr "$work"/srv.*.cg)
	i=0
	for tag in serve-health serve-sign1 serve-signN; do
		cp "${cgs[$i]}" "$work/$tag.cg"
		callgrind_annotate --inclusive=yes --tree=calling --threshold=100 \
		    "$work/$tag.cg" >"$work/$tag.tree" 2>/dev/null
		i=$((i + 1))
	done
	tot() { callgrind_annotate "$work/$1.cg" 2>/dev/null |
	    awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'; }
	sh1=$(tot serve-health) ss1=$(tot serve-sign1) ssn=$(tot serve-signN)
	prof "ca-serve, one connection, one GET /health (process start and exit included)" "$(mi "$sh1")"
	prof "… of which the TLS handshake (\`SSL_accept\`)" "$(per 1 "$work/serve-health.tree" SSL_accept)"
	prof "… of which reading the CA home and the TLS context (\`state_load\`)" "$(per 1 "$work/serve-health.tree" state_load)"
	nn=$(jq '.ok' "$res/prof-signN.json")
	[ "$nn" -gt 1 ] || die "--profile: the kept-alive sign requests failed: $(cat "$res/prof-signN.json")"
	prof "ca-serve, per further sign request on a kept-alive connection ($nn requests: (total − one) / $((nn - 1)))" \
	    "$(awk -v a="$ssn" -v b="$ss1" -v n="$((nn - 1))" 'BEGIN {printf "%.2f", (a - b) / n / 1e6}')"
	for f in pem_load_certs json_loadb json_dumps hop_call SSL_read SSL_write; do
		prof "… of which \`$f\` (inclusive, the same difference)" \
		    "$(awk -v a="$(inclmax "$work/serve-signN.tree" "$f")" \
		        -v b="$(inclmax "$work/serve-sign1.tree" "$f")" -v n="$((nn - 1))" \
		        'BEGIN {printf "%.3f", (a - b) / n / 1e6}')"
	done
	rm -rf "$work/prof"
fi
{
	echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at end"
	echo "faults:    $(pagefault) µs per page fault at end"
} | tee -a "$res/machine.txt" >&2

# --- summary ----------------------------------------------------------------

{
	echo "## The comparison"
	echo
	echo "req/s of requests answered with the expected status (201; cfssl 200);"
	echo "latency of those, ms; CPU ms per request: the server (every process"
	echo "of it) and the load generator; server faults: its minor page faults"
	echo "per request; ratio: req/s over cfssl's in the"
	echo "same mode and round (above 1: faster than cfssl); CPU ratio: cfssl's"
	echo "server CPU per request over this row's (above 1: cheaper than cfssl)."
	echo
	echo "| round | server | mode | req/s | p50 | p90 | p99 | errors | server CPU | client CPU | server faults | ratio | CPU ratio |"
	echo "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	jq -s -r '
	    def r2: if . == null then "" else . * 100 | round / 100 end;
	    . as $all
	    | .[]
	    | . as $x
	    | ($all | map(select(.row == "cfssl" and .mode == $x.mode
	          and .round == $x.round)) | first) as $c
	    | "| \(.round) | \(.row) | \(.mode) | \(.rps | r2) | \(.p50_ms | r2) | \(.p90_ms | r2) | \(.p99_ms | r2) | \(.errors) | \(.server_ms_per_req | r2) | \(.client_ms_per_req | r2) | \(.server_faults_per_req | if . == null then "" else round end) | \(if $c and $c.rps > 0 then (.rps / $c.rps | r2) else "" end) | \(if $c and .server_ms_per_req then ($c.server_ms_per_req / .server_ms_per_req | r2) else "" end) |"' \
	    "$res/runs.jsonl"
	if [ "$stages" = 1 ]; then
		echo
		echo "## Where the time goes"
		echo
		echo "| no issuance (${half}s) | mode | req/s | p50 | p99 | server CPU ms/req | client CPU ms/req | server faults/req |"
		echo "|---|---|---:|---:|---:|---:|---:|---:|"
		jq -r 'def r2: . * 100 | round / 100;
		    "| \(.row) | \(.mode) | \(.rps | r2) | \(.p50_ms | r2) | \(.p99_ms | r2) | \(.server_ms_per_req | r2) | \(.client_cpu_s * 1000 / .ok | r2) | \(.server_faults_per_req | r2) |"' \
		    "$res/stages.jsonl"
		echo
		echo "| stage | figure |"
		echo "|---|---:|"
		printf '%s\n' "${stage_lines[@]}"
	fi
	if [ "$profile" = 1 ]; then
		echo
		echo "## Instructions (callgrind), millions"
		echo
		echo "| | M instr |"
		echo "|---|---:|"
		printf '%s\n' "${prof_lines[@]}"
	fi
} | tee "$res/summary.md"
