#!/usr/bin/env bash
# bench/pgbouncer.sh: PostgreSQL directly against PostgreSQL through
# pgbouncer in transaction pooling mode, in the same run.
#
# One CA database, reached by two copies of one CA home: one connects to
# the server's socket, the other to pgbouncer's (tests/pgbouncer.sh:
# pool_mode = transaction, --pool server connections).  Per round, each
# row in turn, --loop certificates each:
#   process     ca-sign --offline, one process per certificate: a
#               connection opened and closed by each, as an inetd-style
#               handler per request does
#   long-lived  one `ca-sign --api --offline` answering one request at a
#               time (its connection kept), as ca-serve's handlers do
#   connect     psql -c 'SELECT 1', connect, query, close
# and the ratio pgbouncer / direct of each.
#
# The cluster is a throwaway one from tests/pg.sh (unix socket only), with
# fsync and full_page_writes turned back on, as bench/pg.sh does.
#
#   bash bench/pgbouncer.sh [--loop N] [--rounds R] [--pool N] [--out DIR]
#
# Expects `make` to have built bin/.  Tools: a PostgreSQL server
# (postgresql), pgbouncer, openssl, jq, /usr/bin/python3 with
# cryptography.  See bench/README.md.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

prog=${0##*/}
loop=100
rounds=3
pool=2
out=

usage() {
	echo "usage: $prog [--loop N] [--rounds R] [--pool N] [--out DIR]"
	exit "$1"
}
num() { case $2 in '' | *[!0-9]* | 0) die "$1: a positive number" ;; esac; }
while [ $# -gt 0 ]; do
	case $1 in
	--loop) [ $# -ge 2 ] || usage 2; loop=$2; shift 2 ;;
	--rounds) [ $# -ge 2 ] || usage 2; rounds=$2; shift 2 ;;
	--pool) [ $# -ge 2 ] || usage 2; pool=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || usage 2; out=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) usage 2 ;;
	esac
done
num --loop "$loop"
num --rounds "$rounds"
num --pool "$pool"

top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/bin
for b in ca-init ca-sign; do
	[ -x "$bin/$b" ] || die "$bin/$b not found: run make first"
done
for t in psql openssl jq; do
	command -v "$t" >/dev/null || die "$t is needed"
done
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] ||
	die "pgbouncer is needed (Debian package pgbouncer)"
tokpy=$top/tests/bats/helpers/tok.py
unset OPENSSL_CONF SSL_CERT_FILE SSL_CERT_DIR CA_DIR CA_URL CA_ROOT PGSERVICE

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/inca-pgbbench.XXXXXX")
pgd=$(mktemp -d /tmp/inca-pgbbench-db.XXXXXX)
pbd=$(mktemp -d /tmp/inca-pgbbench-pb.XXXXXX)
cleanup() {
	sh "$top/tests/pgbouncer.sh" stop "$pbd" >/dev/null 2>&1 || true
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

# --- the cluster, the pooler, the CA homes ----------------------------------

echo "setting up in $work, $pgd and $pbd" >&2
sh "$top/tests/pg.sh" start "$pgd" >&2
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
sh "$top/tests/pgbouncer.sh" start "$pbd" "$pgd" "$pool"
viapool=$(sh "$top/tests/pgbouncer.sh" database "$pbd" "$pgd")
dbname=${viapool#postgresql:///}
dbname=${dbname%%\?*}
direct="postgresql:///$dbname?host=$pgd&user=postgres"

"$bin/ca-init" --dir "$work/direct" --dns 127.0.0.1 --key-iterations 1 \
    --db "$direct" >/dev/null
cp -a "$work/direct" "$work/pgbouncer"
jq --arg u "$viapool" '.db.dataSource = $u' "$work/direct/config/ca.json" \
    >"$work/pgbouncer/config/ca.json"
name=bench.example.com
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$work/leaf.key" -subj "/CN=$name" \
    -addext "subjectAltName=DNS:$name" -out "$work/csr.pem" 2>/dev/null
/usr/bin/python3 "$tokpy" key "$work/direct/config/ca.json" \
    "$work/direct/secrets/password" >"$work/prov.jwk"
# bodies N FILE: N request lines with fresh tokens.
bodies() {
	/usr/bin/python3 "$tokpy" mint "$work/prov.jwk" "$work/direct/config/ca.json" \
	    --sub "$name" --set exp=now+3600 -n "$1" |
	    jq -R -c --rawfile c "$work/csr.pem" '{csr: $c, ott: .}' >"$2"
}

cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
{
	echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpu:       ${cpu:-unknown} ($(nproc) online CPUs), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
	echo "kernel:    $(uname -sr)"
	echo "postgres:  $(psql -X -At -h "$pgd" -U postgres -d postgres -c 'SHOW server_version'), unix socket, fsync on"
	echo "pgbouncer: $(pgbouncer --version 2>/dev/null | head -n 1 || /usr/sbin/pgbouncer --version | head -n 1), unix socket, pool_mode transaction, $pool server connections"
	echo "inca:      $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start"
	echo "runs:      $rounds round(s), --loop $loop"
} | tee "$res/machine.txt" >&2


: >"$res/pgbouncer.jsonl"
for r in $(seq "$rounds"); do
	for h in direct pgbouncer; do
		bodies "$loop" "$work/p.$h"
		bodies "$loop" "$work/l.$h"
	done
	pd=$(process "$work/direct" "$work/p.direct")
	pp=$(process "$work/pgbouncer" "$work/p.pgbouncer")
	ld=$(lockstep "$work/direct" "$work/l.direct")
	lp=$(lockstep "$work/pgbouncer" "$work/l.pgbouncer")
	cd_=$(bare "$direct")
	cp_=$(bare "$viapool")
	jq -nc --arg r "$r" --arg pd "$pd" --arg pp "$pp" --arg ld "$ld" \
	    --arg lp "$lp" --arg cd "$cd_" --arg cp "$cp_" \
	    '{round: ($r | tonumber), process_direct_ms: ($pd | tonumber),
	      process_pgbouncer_ms: ($pp | tonumber),
	      longlived_direct_ms: ($ld | tonumber),
	      longlived_pgbouncer_ms: ($lp | tonumber),
	      connect_direct_ms: ($cd | tonumber),
	      connect_pgbouncer_ms: ($cp | tonumber)}' >>"$res/pgbouncer.jsonl"
	tail -n 1 "$res/pgbouncer.jsonl" >&2
done
echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at end" | tee -a "$res/machine.txt" >&2

# Every certificate answered is a row: 4 rows of --loop a round, and
# ca-init's own.
rows=$(psql -X -At -d "$direct" -c 'select count(*) from certs')
[ "$rows" = $((rounds * loop * 4 + 1)) ] ||
	die "$rows rows, $((rounds * loop * 4 + 1)) expected"

{
	echo "## Direct against pgbouncer (transaction pooling, $pool server connections), $loop certificates a row, ms per certificate"
	echo
	echo "| round | path | direct | pgbouncer | ratio pgbouncer / direct |"
	echo "|---:|---|---:|---:|---:|"
	jq -r 'def r2: . * 100 | round / 100;
	    "| \(.round) | process per certificate | \(.process_direct_ms | r2) | \(.process_pgbouncer_ms | r2) | \(.process_pgbouncer_ms / .process_direct_ms | r2) |",
	    "| \(.round) | long-lived handler | \(.longlived_direct_ms | r2) | \(.longlived_pgbouncer_ms | r2) | \(.longlived_pgbouncer_ms / .longlived_direct_ms | r2) |",
	    "| \(.round) | psql -c \"SELECT 1\" | \(.connect_direct_ms | r2) | \(.connect_pgbouncer_ms | r2) | \(.connect_pgbouncer_ms / .connect_direct_ms | r2) |"' \
	    "$res/pgbouncer.jsonl"
} | tee "$res/summary.md"
