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
