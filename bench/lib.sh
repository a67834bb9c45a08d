# shellcheck shell=bash
# Shared by the benchmark scripts (sourced, not run).

# die MESSAGE...: "$prog: MESSAGE" on stderr, exit 1 (the caller sets prog).
# shellcheck disable=SC2154
die() {
	echo "$prog: $*" >&2
	exit 1
}

# pool FILE...: the rounds' hyperfine exports pooled into one
# hyperfine-shaped JSON on stdout, per command: runs, median, mean,
# stddev, min, max (seconds), user and system (means).  The individual
# times stay in the rounds' files.
pool() {
	jq -s '
	    def med: sort | if length % 2 == 1 then .[(length - 1) / 2]
	        else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	    {results: [range(0; .[0].results | length) as $i
	        | [.[].results[$i]] as $r
	        | ($r | map(.times) | add) as $t
	        | ($t | add / length) as $m
	        | {command: $r[0].command, runs: ($t | length), median: ($t | med),
	           mean: $m, stddev: ($t | map((. - $m) * (. - $m)) | add
	               / ([length - 1, 1] | max) | sqrt),
	           min: ($t | min), max: ($t | max),
	           user: ($r | map(.user) | add / length),
	           system: ($r | map(.system) | add / length)}]}' "$@"
}

# callgrind's instruction count for one run of a program, without a shell:
# count NAME STDIN [VAR=VALUE...] PROGRAM ARGS...  The annotated call tree
# is kept in $work/NAME.tree.  Uses the caller's $work and die().
# shellcheck disable=SC2154
count() {
	local tag=$1 in=$2
	shift 2
	local vars=()
	while [ $# -gt 0 ] && [[ $1 == *=* ]]; do
		vars+=("$1")
		shift
	done
	env "${vars[@]}" valgrind --tool=callgrind \
	    --callgrind-out-file="$work/$tag.cg" "$@" <"$in" >/dev/null \
	    2>"$work/$tag.log" || die "valgrind $*: $(tail -n 3 "$work/$tag.log")"
	callgrind_annotate --inclusive=yes --tree=calling --threshold=100 \
	    "$work/$tag.cg" >"$work/$tag.tree" 2>/dev/null
	awk '/I *refs:/ {gsub(",", "", $NF); print $NF}' "$work/$tag.log" | tail -n 1
}
# Inclusive instructions of function $2 in tree $1 (0 when absent).
incl() {
	awk -v f="$2" '/\*  / && index($0, ":" f " [") {gsub(",", "", $1); print $1; found = 1; exit}
	    END {if (!found) print 0}' "$1"
}
# Instructions in millions, two decimals.
mi() { awk -v x="$1" 'BEGIN {printf "%.2f", x / 1e6}'; }

# The PostgreSQL benches' timings (bench/pg.sh, bench/pgbouncer.sh); they
# use the caller's $bin (the programs), $pgbin (the server's own psql),
# $work (csr.pem), $loop and die().

# ms_each START_NS END_NS N: the milliseconds of each of N between two
# date +%s%N readings.
ms_each() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {printf "%.3f", (b - a) / 1e6 / n}'; }

# process HOME BODIES: one ca-sign --offline per certificate; ms each.
# shellcheck disable=SC2154
process() {
	local s e tok toks
	mapfile -t toks < <(jq -r .ott "$2")
	s=$(date +%s%N)
	for tok in "${toks[@]}"; do
		"$bin/ca-sign" --offline --dir "$1" --token "$tok" <"$work/csr.pem" >/dev/null
	done
	e=$(date +%s%N)
	ms_each "$s" "$e" "${#toks[@]}"
}
# lockstep HOME BODIES: one ca-sign --api --offline, the next request sent
# once the answer came; ms per certificate.
# shellcheck disable=SC2154
lockstep() {
	local s e
	s=$(date +%s%N)
	/usr/bin/python3 -c '
import subprocess, sys
p = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
for line in open(sys.argv[1], "rb"):
    p.stdin.write(line)
    p.stdin.flush()
    if not p.stdout.readline().startswith(b"{\"crt\""):
        sys.exit("not a certificate")
p.stdin.close()
sys.exit(p.wait())
' "$2" "$bin/ca-sign" --api --offline --dir "$1" || die "lockstep on $1 failed"
	e=$(date +%s%N)
	ms_each "$s" "$e" "$(wc -l <"$2")"
}
# bare URL: psql connecting, running SELECT 1 and closing; ms each.
# shellcheck disable=SC2154
bare() {
	local s e
	s=$(date +%s%N)
	for _ in $(seq "$loop"); do "$pgbin/psql" -X -At -d "$1" -c 'SELECT 1' >/dev/null; done
	e=$(date +%s%N)
	ms_each "$s" "$e" "$loop"
}
