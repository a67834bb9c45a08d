# shellcheck shell=bash
# Shared by the benchmark scripts (sourced, not run).

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
