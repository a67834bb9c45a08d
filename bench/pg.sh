#!/usr/bin/env bash
# bench/pg.sh: the PostgreSQL backend against SQLite, in the same run.
#
#   1. Throughput: POST /1.0/sign through ca-serve --listen (bench/loadgen,
#      kept-alive connections, a fresh token per request) on
#        sqlite   one host, the CA home's SQLite database
#        pg-1     one host on PostgreSQL
#        pg-2     two hosts (two ca-serve, two copies of the CA home, one
#                 PostgreSQL database), the clients split between them
#      the rows interleaved round by round, so that a change of load lands
#      on every row.
#   2. The inventory's weight: issuance latency (one client, one request at
#      a time) on an empty database and on one holding --fill rows, each
#      backend (SQLite filled by bench/fill-inventory.sh, PostgreSQL by the
#      same rows in SQL).
#   3. The connect cost: ca-sign --offline, one process per certificate (a
#      PostgreSQL connection opened and closed by each, as an inetd-style
#      handler per request does), against one long-lived
#      `ca-sign --api --offline` answering one request at a time, each
#      backend.
#
# The cluster is a throwaway one from tests/pg.sh (unix socket only), with
# fsync and full_page_writes turned back on: a commit is durable on both
# backends (SQLite: WAL, synchronous=FULL).
#
#   bash bench/pg.sh [--duration S] [--clients N] [--rounds R] [--fill N]
#                    [--loop N] [--out DIR]
#
# Expects `make` to have built bin/; builds bench/loadgen itself.  Tools:
# a PostgreSQL server (postgresql), sqlite3, openssl, jq, /usr/bin/time,
# /usr/bin/python3 with cryptography.  See bench/README.md.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

prog=${0##*/}
duration=10
clients=8
rounds=2
fill=1000000
loop=100
out=

usage() {
	cat <<EOF
usage: $prog [--duration S] [--clients N] [--rounds R] [--fill N] [--loop N]
       [--out DIR]
EOF
	exit "$1"
}
num() { case $2 in '' | *[!0-9]* | 0) die "$1: a positive number" ;; esac; }
while [ $# -gt 0 ]; do
	case $1 in
	--duration) [ $# -ge 2 ] || usage 2; duration=$2; shift 2 ;;
	--clients) [ $# -ge 2 ] || usage 2; clients=$2; shift 2 ;;
	--rounds) [ $# -ge 2 ] || usage 2; rounds=$2; shift 2 ;;
	--fill) [ $# -ge 2 ] || usage 2; fill=$2; shift 2 ;;
	--loop) [ $# -ge 2 ] || usage 2; loop=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || usage 2; out=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) usage 2 ;;
	esac
done
num --duration "$duration"
num --clients "$clients"
num --rounds "$rounds"
num --fill "$fill"
num --loop "$loop"
[ "$clients" -ge 2 ] || die "--clients: at least 2 (two hosts share them)"

top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/bin
for b in ca-init ca-sign ca-serve; do
	[ -x "$bin/$b" ] || die "$bin/$b not found: run make first"
done
for t in sqlite3 psql openssl jq; do
	command -v "$t" >/dev/null || die "$t is needed"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is needed (Debian package time)"
make -s -C "$top" bench/loadgen >&2 || die "cannot build bench/loadgen"
loadgen=$top/bench/loadgen
tokpy=$top/tests/bats/helpers/tok.py
unset OPENSSL_CONF SSL_CERT_FILE SSL_CERT_DIR CA_DIR CA_URL CA_ROOT PGSERVICE

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/inca-pgbench.XXXXXX")
pgd=$(mktemp -d /tmp/inca-pgbench-db.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	sh "$top/tests/pg.sh" stop "$pgd" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ -n "$out" ]; then
	mkdir -p "$out"
	res=$(cd "$out" && pwd)
else
	res=$work/results
	mkdir -p "$res"
fi

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
	for _ in $(seq 600); do
		port_open "$1" && return 0
		sleep 0.05
	done
	die "nothing listens on 127.0.0.1:$1"
}

# --- the cluster and the CA homes -------------------------------------------

echo "setting up in $work and $pgd" >&2
sh "$top/tests/pg.sh" start "$pgd" >&2
# tests/pg.sh runs it with fsync off: started again with the defaults
# (fsync, full_page_writes and synchronous_commit on), as the tests' own
# options on the command line would override ALTER SYSTEM.
sh "$top/tests/pg.sh" down "$pgd"
pgbin=$(printf "%s\n" /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_owner() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
as_owner "$pgbin/pg_ctl" -D "$pgd/data" -l "$pgd/server.log" -w -t 60 \
    -o "-c listen_addresses='' -k '$pgd' -c max_connections=300" start >/dev/null ||
	die "the cluster did not start again: $(tail -n 5 "$pgd/server.log")"
[ "$(psql -X -At -h "$pgd" -U postgres -d postgres -c 'SHOW fsync')" = on ] ||
	die "fsync did not come back on"

# One port for every CA home: the tokens' audience names it, whichever
# port a host then listens on (the hosts stand behind one name).
aport=$(free_port)
# mkhome DIR [ca-init options...]
mkhome() {
	"$bin/ca-init" --dir "$1" --dns 127.0.0.1 --address "127.0.0.1:$aport" \
	    --key-iterations 1 "${@:2}" >/dev/null
	[ -s "$1/certs/server.crt" ] || die "$1: ca-init made no server certificate"
}
mkhome "$work/sqlite"
mkhome "$work/pg" --db "$(sh "$top/tests/pg.sh" db "$pgd")"
cp -a "$work/pg" "$work/pgb"
# For the inventory's weight: an empty home and a filled one of each.
mkhome "$work/sqlite-full"
mkhome "$work/pg-full" --db "$(sh "$top/tests/pg.sh" db "$pgd")"
mkhome "$work/sqlite-empty"
mkhome "$work/pg-empty" --db "$(sh "$top/tests/pg.sh" db "$pgd")"
# Each home its own provisioner key: tokens per home.
name=bench.example.com
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$work/leaf.key" -subj "/CN=$name" \
    -addext "subjectAltName=DNS:$name" -out "$work/csr.pem" 2>/dev/null
# bodies HOME N FILE: N request lines with fresh tokens of HOME.
bodies() {
	[ -s "$1.jwk" ] || /usr/bin/python3 "$tokpy" key "$1/config/ca.json" \
	    "$1/secrets/password" >"$1.jwk"
	/usr/bin/python3 "$tokpy" mint "$1.jwk" "$1/config/ca.json" --sub "$name" \
	    --set exp=now+3600 -n "$2" |
	    jq -R -c --rawfile c "$work/csr.pem" '{csr: $c, ott: .}' >"$3"
}

cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
{
	echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpu:       ${cpu:-unknown} ($(nproc) online CPUs), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
	echo "kernel:    $(uname -sr)"
	echo "disk:      $(findmnt -n -o SOURCE,FSTYPE --target "$work" | head -n 1) (CA homes), $(findmnt -n -o SOURCE,FSTYPE --target "$pgd" | head -n 1) (cluster)"
	echo "postgres:  $(psql -X -At -h "$pgd" -U postgres -d postgres -c 'SHOW server_version'), unix socket, fsync on, synchronous_commit $(psql -X -At -h "$pgd" -U postgres -d postgres -c 'SHOW synchronous_commit')"
	echo "sqlite:    $(sqlite3 --version | cut -d' ' -f1), WAL, synchronous=FULL"
	echo "inca:      $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start"
	echo "runs:      $clients clients, ${duration}s per run, $rounds round(s); --fill $fill, --loop $loop"
} | tee "$res/machine.txt" >&2

# --- 1. throughput ----------------------------------------------------------

# serve NAME HOME: ca-serve --listen for HOME on a free port ($port), its
# pid appended to $srv, its root in $root.
serve() {
	port=$(free_port)
	root=$2/certs/root_ca.crt
	"$bin/ca-serve" --dir "$2" --listen "127.0.0.1:$port" \
	    </dev/null >/dev/null 2>"$work/$1.log" &
	pids+=($!)
	srv="$srv $!"
	wait_port "$port"
}
stop_servers() {
	local p
	for p in $srv; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	srv=
}
# lg TAG PORT CLIENTS BODIES [loadgen options...]: loadgen into TAG.json.
lg() {
	"$loadgen" --connect "127.0.0.1:$2" --cacert "$root" \
	    --clients "$3" --keepalive --path /1.0/sign --expect 201 --bodies "$4" \
	    "${@:5}" >"$res/$1.json" || die "$1: $(cat "$res/$1.json")"
}

# Enough tokens for every run at a generous rate, per home.
per=$((duration * 300 + 200))
echo "minting tokens" >&2
for r in $(seq "$rounds"); do
	bodies "$work/sqlite" "$per" "$work/sqlite.r$r"
	bodies "$work/pg" "$per" "$work/pg1.r$r"
	bodies "$work/pg" "$per" "$work/pg2.r$r"
done
: >"$res/throughput.jsonl"
srv=
for r in $(seq "$rounds"); do
	serve sqlite "$work/sqlite"
	lg "sqlite-r$r" "$port" "$clients" "$work/sqlite.r$r" --duration "$duration"
	stop_servers
	serve pg-a "$work/pg"
	lg "pg1-r$r" "$port" "$clients" "$work/pg1.r$r" --duration "$duration"
	stop_servers
	serve pg-a "$work/pg"
	pa=$port
	serve pg-b "$work/pgb"
	pb=$port
	half=$(( ($(wc -l <"$work/pg2.r$r") + 1) / 2 ))
	head -n "$half" "$work/pg2.r$r" >"$work/pg2a"
	tail -n +"$((half + 1))" "$work/pg2.r$r" >"$work/pg2b"
	lg "pg2a-r$r" "$pa" $((clients / 2)) "$work/pg2a" --duration "$duration" &
	la=$!
	lg "pg2b-r$r" "$pb" $((clients - clients / 2)) "$work/pg2b" --duration "$duration"
	wait "$la"
	stop_servers
	{
	jq -c --arg r "$r" '{round: ($r | tonumber), row: "sqlite, 1 host", rps, p50_ms, p99_ms, errors, ok}' \
	    "$res/sqlite-r$r.json"
	jq -c --arg r "$r" '{round: ($r | tonumber), row: "PostgreSQL, 1 host", rps, p50_ms, p99_ms, errors, ok}' \
	    "$res/pg1-r$r.json"
	jq -s -c --arg r "$r" '{round: ($r | tonumber), row: "PostgreSQL, 2 hosts",
	    rps: (.[0].rps + .[1].rps), p50_ms: ([.[].p50_ms] | max),
	    p99_ms: ([.[].p99_ms] | max), errors: (.[0].errors + .[1].errors),
	    ok: (.[0].ok + .[1].ok)}' "$res/pg2a-r$r.json" "$res/pg2b-r$r.json"
	} >>"$res/throughput.jsonl"
	tail -n 3 "$res/throughput.jsonl" >&2
done
# Every certificate a client got is a row: the counts agree.
got=$(jq -s '[.[] | select(.row != "sqlite, 1 host") | .ok] | add' "$res/throughput.jsonl")
rows=$(psql -X -At -d "$(jq -r .db.dataSource "$work/pg/config/ca.json")" -c 'select count(*) - 1 from certs')
[ "$got" = "$rows" ] || die "PostgreSQL: $got certificates answered, $rows rows"

# --- 2. the inventory's weight ----------------------------------------------

# One certificate in each, for the DER the filled rows copy.
for h in sqlite-full pg-full; do
	bodies "$work/$h" 1 "$work/one"
	"$bin/ca-sign" --api --offline --dir "$work/$h" <"$work/one" | jq -e .crt >/dev/null
done
echo "filling with $fill rows" >&2
s=$(date +%s%N)
bash "$top/bench/fill-inventory.sh" "$work/sqlite-full/db/ca.db" "$fill" $((fill / 1000))
e=$(date +%s%N)
echo "sqlite fill: $(ms_each "$s" "$e" 1000) s" | tee "$res/fill.txt" >&2
url=$(jq -r .db.dataSource "$work/pg-full/config/ca.json")
s=$(date +%s%N)
# The rows of bench/fill-inventory.sh, in PostgreSQL's SQL.
psql -X -q -v ON_ERROR_STOP=1 -d "$url" <<EOF
BEGIN;
CREATE TEMP TABLE gen AS
SELECT i, lpad((1 + (random() * 7)::int)::text, 1) ||
    lpad(((random() * 9e18)::bigint)::text, 19, '0') ||
    lpad(((random() * 5e8)::bigint)::text, 9, '0') ||
    lpad(i::text, 19, '0') AS serial,
  extract(epoch FROM now())::bigint - ($fill - i) * 864 / 10 AS t
FROM generate_series(1, $fill) AS i;
INSERT INTO certs (serial, issued_at, not_before, not_after, subject, sans,
    provisioner, renewed_from, der)
SELECT serial, t, t - 60, t + 86400, 'host' || i || '.example.com',
  '["dns:host' || i || '.example.com"]', 'admin', NULL,
  (SELECT der FROM certs ORDER BY issued_at DESC LIMIT 1)
FROM gen ORDER BY i;
INSERT INTO revocations (serial, revoked_at, reason_code, reason, method)
SELECT serial, t + 3600, 1, NULL, 'offline' FROM gen WHERE i % 1000 = 0;
COMMIT;
ANALYZE;
EOF
e=$(date +%s%N)
echo "PostgreSQL fill: $(ms_each "$s" "$e" 1000) s" | tee -a "$res/fill.txt" >&2

: >"$res/inventory.jsonl"
n1=$((loop * 3))
for r in $(seq "$rounds"); do
	for h in sqlite-empty sqlite-full pg-empty pg-full; do
		bodies "$work/$h" "$n1" "$work/inv"
		serve "$h" "$work/$h"
		lg "inv-$h-r$r" "$port" 1 "$work/inv" --requests "$n1"
		stop_servers
		jq -c --arg r "$r" --arg h "$h" '{round: ($r | tonumber), row: $h, rps, p50_ms, p99_ms, errors, ok}' \
		    "$res/inv-$h-r$r.json" >>"$res/inventory.jsonl"
		tail -n 1 "$res/inventory.jsonl" >&2
	done
done
for h in sqlite-full pg-full; do
	echo "$h: $(case $h in sqlite*) sqlite3 "$work/$h/db/ca.db" 'select count(*) from certs' ;;
	    *) psql -X -At -d "$(jq -r .db.dataSource "$work/$h/config/ca.json")" -c 'select count(*) from certs' ;; esac) rows at the end"
done | tee "$res/inventory-rows.txt" >&2

# --- 3. the connect cost ----------------------------------------------------

: >"$res/connect.jsonl"
pgurl=$(jq -r .db.dataSource "$work/pg-empty/config/ca.json")
for r in $(seq "$rounds"); do
	for h in sqlite-empty pg-empty; do
		bodies "$work/$h" "$loop" "$work/c1"
		bodies "$work/$h" "$loop" "$work/c2"
		p=$(process "$work/$h" "$work/c1")
		l=$(lockstep "$work/$h" "$work/c2")
		jq -nc --arg r "$r" --arg h "$h" --arg p "$p" --arg l "$l" \
		    '{round: ($r | tonumber), home: $h, process_ms: ($p | tonumber), longlived_ms: ($l | tonumber)}' \
		    >>"$res/connect.jsonl"
		tail -n 1 "$res/connect.jsonl" >&2
	done
	s=$(date +%s%N)
	for _ in $(seq "$loop"); do "$pgbin/psql" --version >/dev/null; done
	e=$(date +%s%N)
	jq -nc --arg r "$r" --arg c "$(bare "$pgurl")" --arg v "$(ms_each "$s" "$e" "$loop")" \
	    '{round: ($r | tonumber), psql_select1_ms: ($c | tonumber), psql_version_ms: ($v | tonumber)}' \
	    >>"$res/connect.jsonl"
	tail -n 1 "$res/connect.jsonl" >&2
done
echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at end" | tee -a "$res/machine.txt" >&2

# --- summary ----------------------------------------------------------------

{
	echo "## Throughput, POST /1.0/sign, $clients clients, kept-alive, ${duration}s a run"
	echo
	echo "| round | row | req/s | p50 ms | p99 ms | errors | ratio to SQLite |"
	echo "|---:|---|---:|---:|---:|---:|---:|"
	jq -s -r 'def r2: . * 100 | round / 100; . as $all | .[] | . as $x
	    | ($all | map(select(.round == $x.round and .row == "sqlite, 1 host")) | first) as $s
	    | "| \(.round) | \(.row) | \(.rps | r2) | \(.p50_ms | r2) | \(.p99_ms | r2) | \(.errors) | \(.rps / $s.rps | r2) |"' \
	    "$res/throughput.jsonl"
	echo
	echo "## Issuance with $fill rows against an empty database, one client, $n1 requests"
	echo
	echo "| round | home | req/s | p50 ms | p99 ms | errors | p50 ratio, full / empty |"
	echo "|---:|---|---:|---:|---:|---:|---:|"
	jq -s -r 'def r2: . * 100 | round / 100; . as $all | .[] | . as $x
	    | ($x.row | sub("-full$"; "-empty")) as $e
	    | ($all | map(select(.round == $x.round and .row == $e)) | first) as $b
	    | "| \(.round) | \(.row) | \(.rps | r2) | \(.p50_ms | r2) | \(.p99_ms | r2) | \(.errors) | \(if .row | endswith("-full") then (.p50_ms / $b.p50_ms | r2) else "" end) |"' \
	    "$res/inventory.jsonl"
	echo
	echo "## A process per certificate against one long-lived handler, $loop certificates, ms per certificate"
	echo
	echo "| round | backend | process per certificate | long-lived handler | difference | ratio |"
	echo "|---:|---|---:|---:|---:|---:|"
	jq -r 'def r2: . * 100 | round / 100; select(.home)
	    | "| \(.round) | \(.home | sub("-empty$"; "")) | \(.process_ms | r2) | \(.longlived_ms | r2) | \(.process_ms - .longlived_ms | r2) | \(.process_ms / .longlived_ms | r2) |"' \
	    "$res/connect.jsonl"
	echo
	echo "| round | psql -c 'SELECT 1' (connect, query, close), ms | psql --version, ms | connection alone, ms |"
	echo "|---:|---:|---:|---:|"
	jq -r 'def r2: . * 100 | round / 100; select(.psql_select1_ms)
	    | "| \(.round) | \(.psql_select1_ms | r2) | \(.psql_version_ms | r2) | \(.psql_select1_ms - .psql_version_ms | r2) |"' \
	    "$res/connect.jsonl"
} | tee "$res/summary.md"
