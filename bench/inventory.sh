#!/usr/bin/env bash
# bench/inventory.sh: ca-list against inventories of growing size.  For
# each size, a throw-away CA home is filled by bench/fill-inventory.sh
# (1000 certificates issued a day up to now, 24 h lifetimes, R revoked
# spread over the history), then hyperfine times, output to /dev/null:
#   ca-list --revoked, ca-list --expiring 24h, ca-list --serial S (one
#   row: start-up and the database open), and the full ca-list; and the
#   peer, the sqlite3 shell answering the same two selections as JSON.
# With a fixed R, --revoked and --expiring return the same rows at every
# size, so their times should not grow with the inventory; with R as a
# fraction (--revoked 1%), --revoked returns that share of the history and
# should cost what the sqlite3 shell's own JSON of those rows costs.  The
# summary gives each query's median at every size and its ratio to the
# smallest size, and the query plans.  Expects `make` to have built bin/;
# builds nothing.
#
#   bash bench/inventory.sh [--sizes "100000 1000000"] [--revoked R|P%]
#                           [-n RUNS] [--full-runs N] [--baseline CA-LIST]
#                           [--out DIR]
#
# Tools: hyperfine, sqlite3, openssl, jq.  See bench/README.md.
set -euo pipefail

prog=${0##*/}
sizes="100000 1000000"
revoked=1000
runs=10
full_runs=3
baseline=
out=

usage() {
	cat <<EOF
usage: $prog [--sizes "N..."] [--revoked R|P%] [-n RUNS] [--full-runs N]
       [--baseline CA-LIST] [--out DIR]
  --sizes "N..."      inventory sizes, smallest first (default "100000 1000000")
  --revoked R|P%      revoked certificates at every size, or P percent of
                      each size (default 1000)
  -n RUNS             timed runs of each query (default 10, after 2 warm-up)
  --full-runs N       timed runs of the full listing (default 3; 0: not timed)
  --baseline CA-LIST  also time this ca-list build, on the same homes
  --out DIR           keep the hyperfine exports and the summary here
EOF
	exit "${1:-0}"
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

num() { # option value must be a number (positive when $3 is set)
	case $2 in '' | *[!0-9]*) die "$1: a number" ;; esac
	[ -z "${3:-}" ] || [ "$2" -gt 0 ] || die "$1: a positive number"
}

while [ $# -gt 0 ]; do
	case $1 in
	--sizes) [ $# -ge 2 ] || usage 2; sizes=$2; shift 2 ;;
	--revoked) [ $# -ge 2 ] || usage 2; revoked=$2; shift 2 ;;
	-n) [ $# -ge 2 ] || usage 2; runs=$2; shift 2 ;;
	--full-runs) [ $# -ge 2 ] || usage 2; full_runs=$2; shift 2 ;;
	--baseline) [ $# -ge 2 ] || usage 2; baseline=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || usage 2; out=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) echo "$prog: unknown argument: $1" >&2; usage 2 ;;
	esac
done
# rev_at N: the revoked count at size N.
case $revoked in
*%)
	pct=${revoked%\%}
	case $pct in '' | *[!0-9.]* | *.*.*) die "--revoked $revoked: R or P% (e.g. 1% or 0.5%)" ;; esac
	rev_at() { awk -v n="$1" -v p="$pct" 'BEGIN {printf "%d", n * p / 100}'; } ;;
*)
	num --revoked "$revoked"
	rev_at() { echo "$revoked"; } ;;
esac
for s in $sizes; do
	num --sizes "$s" 1
	[ "$s" -ge "$(rev_at "$s")" ] || die "--sizes: $s is smaller than --revoked $revoked"
done
num -n "$runs" 1
num --full-runs "$full_runs"

top=$(cd "$(dirname "$0")/.." && pwd)
calist=$top/bin/ca-list
for b in ca-list ca-init ca-token ca-sign; do
	[ -x "$top/bin/$b" ] || die "$top/bin/$b not found: run make first"
done
[ -z "$baseline" ] || [ -x "$baseline" ] || die "--baseline $baseline: not a program"
for t in hyperfine sqlite3 openssl jq; do
	command -v "$t" >/dev/null || die "$t is needed"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -z "$out" ] || mkdir -p "$out"
keep=${out:-$work}

machine() {
	echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpu:       $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1) ($(nproc) online CPUs)"
	echo "memory:    $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
	echo "kernel:    $(uname -sr)"
	echo "sqlite:    $(sqlite3 --version | cut -d' ' -f1)"
	echo "hyperfine: $(hyperfine --version)"
	echo "inca:      $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "sizes:     $sizes; $revoked revoked at each; $runs runs a query, $full_runs of the full listing"
}
machine >"$keep/machine.txt"
echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start" >>"$keep/machine.txt"

# One real certificate, so that the generated rows carry a real DER.
base=$work/base
"$top/bin/ca-init" --dir "$base" >/dev/null 2>&1 || die "ca-init failed"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$work/leaf.key" -out "$work/leaf.csr" -subj /CN=bench.example.com \
	-addext subjectAltName=DNS:bench.example.com 2>/dev/null
tok=$("$top/bin/ca-token" --offline --dir "$base" bench.example.com)
"$top/bin/ca-sign" --offline --dir "$base" --token "$tok" <"$work/leaf.csr" \
	>/dev/null || die "ca-sign failed"

# The peer: the sqlite3 shell, read-only, printing the rows ca-list
# prints (without the certificate, as ca-list without --pem) as one JSON
# array, in the same order.  Its --expiring bounds are fixed when the
# command is built (ca-list reads the clock itself): the same rows.
peer_cols="c.serial, c.subject, c.sans, c.issued_at, c.not_before,
  c.not_after, c.provisioner, c.renewed_from, r.revoked_at, r.reason_code,
  r.reason, r.method"
peer_revoked="SELECT $peer_cols FROM revocations r CROSS JOIN certs c
  ON c.serial = r.serial ORDER BY c.issued_at, c.serial"
peer_expiring() {
	echo "SELECT $peer_cols FROM certs c LEFT JOIN revocations r
  ON r.serial = c.serial WHERE r.serial IS NULL AND c.not_after >= $1
  AND c.not_after <= $(($1 + 86400)) ORDER BY c.issued_at, c.serial"
}
oneline() { tr '\n' ' ' | tr -s ' '; }

for n in $sizes; do
	home=$work/ca-$n
	r=$(rev_at "$n")
	cp -r "$base" "$home"
	start=$(date +%s)
	bash "$top/bench/fill-inventory.sh" "$home/db/ca.db" "$n" "$r"
	echo "$n rows: $r revoked, filled in $(($(date +%s) - start)) s," \
	    "$(du -h "$home/db/ca.db" | cut -f1)" >>"$keep/machine.txt"
	serial=$(sqlite3 "$home/db/ca.db" "SELECT serial FROM certs ORDER BY rowid LIMIT 1 OFFSET $((n / 2))")
	for b in "$calist" $baseline; do
		# Each query must succeed and give what the database holds.
		got=$("$b" --dir "$home" --revoked | wc -l)
		[ "$got" -eq "$r" ] || die "$b --revoked: $got rows, want $r"
		"$b" --dir "$home" --serial "$serial" >/dev/null || die "$b --serial failed"
	done
	pe=$(peer_expiring "$(date +%s)" | oneline)
	pr=$(echo "$peer_revoked" | oneline)
	got=$(sqlite3 -readonly -json "$home/db/ca.db" "$pr" | jq length)
	[ "$got" -eq "$r" ] || die "sqlite3 peer --revoked: $got rows, want $r"
	{
		echo "## $n rows: query plans"
		echo "revoked:"
		sqlite3 "$home/db/ca.db" "EXPLAIN QUERY PLAN $pr"
		echo "expiring:"
		sqlite3 "$home/db/ca.db" "EXPLAIN QUERY PLAN $pe"
	} >>"$keep/plans.txt"
	hyperfine -N --output=null -w 2 -r "$runs" --export-json "$keep/peer-$n.json" \
	    -n revoked "sqlite3 -readonly -json $home/db/ca.db \"$pr\"" \
	    -n expiring "sqlite3 -readonly -json $home/db/ca.db \"$pe\"" >/dev/null
	tag=new
	for b in "$calist" $baseline; do
		hyperfine -N --output=null -w 2 -r "$runs" --export-json "$keep/$tag-$n.json" \
		    -n revoked "$b --dir $home --revoked" \
		    -n expiring "$b --dir $home --expiring 24h" \
		    -n serial "$b --dir $home --serial $serial" >/dev/null
		if [ "$full_runs" -gt 0 ]; then
			hyperfine -N --output=null -w 0 -r "$full_runs" \
			    --export-json "$keep/$tag-full-$n.json" \
			    -n full "$b --dir $home" >/dev/null
		fi
		tag=baseline
	done
	rm -rf "$home"
done
echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at end" >>"$keep/machine.txt"

# med TAG N QUERY: the median wall time of QUERY at size N in seconds,
# or nothing; cpu TAG N QUERY: its mean user + system time.
exports() { # TAG N: the hyperfine exports there are for TAG at size N
	local f
	for f in "$keep/$1-$2.json" "$keep/$1-full-$2.json"; do
		[ ! -f "$f" ] || cat "$f"
	done
}
med() {
	exports "$1" "$2" |
	    jq -rs --arg q "$3" '[.[] | .results[] | select(.command == $q)
	        | .median][0] // empty'
}
cpu() {
	exports "$1" "$2" |
	    jq -rs --arg q "$3" '[.[] | .results[] | select(.command == $q)
	        | .user + .system][0] // empty'
}

# summary TAG: one row per query, its median (ms) at each size and the
# ratio of each size to the first (wall time: the machine's load shows
# in it), then its mean CPU time at each size.
summary() {
	local tag=$1 n first q m m0 lab=ca-list
	[ "$tag" != peer ] || lab="sqlite3 -json"
	first=${sizes%% *}
	printf '| %s |' "$tag"
	for n in $sizes; do printf ' %s rows, ms |' "$n"; done
	for n in $sizes; do [ "$n" = "$first" ] || printf ' %s / %s |' "$n" "$first"; done
	for n in $sizes; do printf ' %s rows, CPU ms |' "$n"; done
	echo
	printf '|---|'
	for n in $sizes; do printf -- '---:|'; done
	for n in $sizes; do [ "$n" = "$first" ] || printf -- '---:|'; done
	for n in $sizes; do printf -- '---:|'; done
	echo
	for q in revoked expiring serial full; do
		[ "$tag" != peer ] || [ "$q" = revoked ] || [ "$q" = expiring ] ||
		    continue
		case $q in
		revoked) printf '| %s --revoked |' "$lab" ;;
		expiring) printf '| %s --expiring 24h |' "$lab" ;;
		serial) printf '| ca-list --serial S |' ;;
		full) printf '| ca-list (all) |' ;;
		esac
		for n in $sizes; do
			m=$(med "$tag" "$n" "$q")
			if [ -n "$m" ]; then
				awk -v m="$m" 'BEGIN {printf " %.1f |", m * 1000}'
			else
				printf ' - |'
			fi
		done
		m0=$(med "$tag" "$first" "$q")
		for n in $sizes; do
			[ "$n" != "$first" ] || continue
			m=$(med "$tag" "$n" "$q")
			if [ -n "$m" ] && [ -n "$m0" ]; then
				awk -v m="$m" -v z="$m0" 'BEGIN {printf " %.2f |", m / z}'
			else
				printf ' - |'
			fi
		done
		for n in $sizes; do
			m=$(cpu "$tag" "$n" "$q")
			if [ -n "$m" ]; then
				awk -v m="$m" 'BEGIN {printf " %.1f |", m * 1000}'
			else
				printf ' - |'
			fi
		done
		echo
	done
}
{
	cat "$keep/machine.txt"
	echo
	summary new
	echo
	summary peer
	echo
	cat "$keep/plans.txt"
	if [ -n "$baseline" ]; then
		echo
		summary baseline
	fi
} | tee "$keep/summary.md"
