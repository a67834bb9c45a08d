#!/bin/sh
# Compiler flag variables are word lists, split on purpose; diag reads
# its argument or its input.
# shellcheck disable=SC2086,SC2119,SC2120,SC2013
# Build and run the libFuzzer harnesses fuzz/fuzz_*.c; see fuzz/README.md.
#
#   fuzz/run.sh [-h NAME]... [SECONDS]     fuzz each harness for SECONDS (20)
#   fuzz/run.sh --replay [-h NAME]... [PATH...]
#                                          run every seed (or PATH) once,
#                                          without libFuzzer
#
# Output is TAP, one line per harness.  Each harness fuzzes a copy of its
# seed corpus fuzz/corpus/NAME/ (the committed corpus never changes), in a
# work directory whose path is printed; crash artifacts and logs stay
# there.  The work directory is removed when every harness passed, unless
# FUZZ_KEEP=1 or FUZZ_OUT=DIR (use DIR, keep it).  Exit status 0 when every
# harness built and ran clean, 1 when one failed, 2 for a usage error.
#
# Environment: FUZZ_CC (clang), REPLAY_CC (gcc), FUZZ_ARGS (more libFuzzer
# flags, e.g. "-max_len=65536"), FUZZ_TIMEOUT (seconds per input, 10),
# FUZZ_OUT, FUZZ_KEEP.

usage() {
	echo "usage: fuzz/run.sh [-h NAME]... [SECONDS]" >&2
	echo "       fuzz/run.sh --replay [-h NAME]... [PATH...]" >&2
	exit 2
}

orig=$(pwd)
cd "$(dirname "$0")/.." || exit 2
top=$(pwd)

mode=fuzz
secs=20
names=
paths=
while [ $# -gt 0 ]; do
	case $1 in
	-h)	[ $# -ge 2 ] || usage
		names="$names $2"
		shift 2 ;;
	--replay)
		mode=replay
		shift ;;
	--help)	sed -n '2,18s/^# \{0,1\}//p' "$0"
		exit 0 ;;
	-*)	usage ;;
	*[!0-9]*)
		# Not a number: an input to replay (no spaces in its path).
		case $1 in
		/*) paths="$paths $1" ;;
		*) paths="$paths $orig/$1" ;;
		esac
		shift ;;
	*)	secs=$1
		shift ;;
	esac
done
if [ -n "$paths" ] && [ "$mode" != replay ]; then
	echo "fuzz/run.sh: input paths only go with --replay" >&2
	usage
fi
[ "$secs" -gt 0 ] 2>/dev/null || usage
for n in $names; do
	case $n in
	*[!A-Za-z0-9_-]*|"") echo "fuzz/run.sh: bad harness name: $n" >&2; usage ;;
	esac
done
if [ -z "$names" ]; then
	# Every harness present now; none at all is not an error.
	for f in fuzz/fuzz_*.c; do
		[ -f "$f" ] || continue
		n=${f#fuzz/fuzz_}
		names="$names ${n%.c}"
	done
fi

# ---- toolchain -------------------------------------------------------------

LIBS="-lssl -lcrypto -ljansson -lsqlite3 -lpq -lidn2 -lcurl"
PKG_CFLAGS=$(pkg-config --cflags openssl jansson sqlite3 libpq libidn2 libcurl 2>/dev/null)
PKG_LDFLAGS=$(pkg-config --libs-only-L openssl jansson sqlite3 libpq libidn2 libcurl 2>/dev/null)
# The version string some modules send (lib/oidc.c's User-Agent), as the
# Makefile defines it. The quotes are meant to reach the compiler as they
# are: they make the macro a string literal.
VERSION=$(sed -n 's/^VERSION *[:?]*= *//p' Makefile | head -n 1)
# shellcheck disable=SC2089
COMMON="-g -O1 -std=c11 -D_GNU_SOURCE -DINCA_VERSION=\"${VERSION:-0}\" $PKG_CFLAGS -iquote lib"

if [ "$mode" = fuzz ]; then
	CC=${FUZZ_CC:-clang}
	if ! command -v "$CC" >/dev/null 2>&1; then
		echo "fuzz/run.sh: $CC not found (FUZZ_CC); fuzz/run.sh --replay runs the seeds without it" >&2
		exit 2
	fi
	SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
	objdir=fuzz/bin/obj-fuzz
	prefix=fuzz_
else
	CC=${REPLAY_CC:-}
	if [ -z "$CC" ]; then
		for c in gcc cc clang; do
			command -v "$c" >/dev/null 2>&1 && { CC=$c; break; }
		done
	fi
	if [ -z "$CC" ] || ! command -v "$CC" >/dev/null 2>&1; then
		echo "fuzz/run.sh: no C compiler found (REPLAY_CC)" >&2
		exit 2
	fi
	objdir=fuzz/bin/obj-replay
	prefix=replay_
fi

mkdir -p fuzz/bin || exit 2
if [ -n "${FUZZ_OUT:-}" ]; then
	work=$FUZZ_OUT
	mkdir -p "$work" || exit 2
	FUZZ_KEEP=1
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/inca-fuzz.XXXXXX") || exit 2
fi
work=$(cd "$work" && pwd)

if [ "$mode" = replay ]; then
	# Sanitizers if this compiler has them, else a plain build.
	SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
	printf 'int main(void){return 0;}\n' >"$work/probe.c"
	if ! $CC $SAN "$work/probe.c" -o "$work/probe" >/dev/null 2>&1; then
		SAN=
	fi
	rm -f "$work/probe" "$work/probe.c"
	cat >"$work/replay_main.c" <<'EOF'
/* Run LLVMFuzzerTestOneInput once on each file (directories: their files). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static long count;

static int
one(const char *path)
{
	FILE *f;
	struct stat st;
	uint8_t *buf;
	size_t n;

	fprintf(stderr, "replay: %s\n", path);
	if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &st) != 0) {
		perror(path);
		return 1;
	}
	/* Exactly the input's size, so that an over-read is caught. */
	if ((buf = malloc(st.st_size ? (size_t)st.st_size : 1)) == NULL) {
		fclose(f);
		return 1;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	count++;
	return 0;
}

static int
skip(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int
main(int argc, char **argv)
{
	struct dirent **list;
	struct stat st;
	char path[4096];
	int i, k, n, rc = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			rc = 1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc |= one(argv[i]);
			continue;
		}
		if ((n = scandir(argv[i], &list, skip, alphasort)) < 0) {
			perror(argv[i]);
			rc = 1;
			continue;
		}
		for (k = 0; k < n; k++) {
			snprintf(path, sizeof(path), "%s/%s", argv[i], list[k]->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
				rc |= one(path);
			free(list[k]);
		}
		free(list);
	}
	printf("replayed %ld inputs\n", count);
	return rc;
}
EOF
fi
FLAGS="$COMMON $SAN"

# Sanitizer reports with stacks; a UB report is fatal (-fno-sanitize-recover).
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export UBSAN_OPTIONS
# The inputs are bytes with a length, never C strings: a string function
# that reads one past its length (strndup, strlen) is a finding.
ASAN_OPTIONS=${ASAN_OPTIONS:-strict_string_checks=1:detect_stack_use_after_return=1}
export ASAN_OPTIONS

# ---- the library, built once per flag set and reused ------------------------

# Rebuild an object when its source, any lib header or the flags changed.
# Objects are written aside and renamed, so concurrent runs do not collide.
build_lib() {
	mkdir -p "$objdir" || return 1
	stamp="$CC $FLAGS"
	if [ "$(cat "$objdir/flags" 2>/dev/null)" != "$stamp" ]; then
		rm -f "$objdir"/*.o
		printf '%s\n' "$stamp" >"$objdir/flags"
	fi
	pids=
	for src in lib/*.c; do
		[ -f "$src" ] || continue
		o=$objdir/$(basename "$src" .c).o
		if [ -f "$o" ] && [ -z "$(find "$src" lib/*.h -newer "$o" 2>/dev/null)" ]; then
			continue
		fi
		# shellcheck disable=SC2090
		( $CC $FLAGS -c "$src" -o "$o.$$" >"$work/lib-$(basename "$src").log" 2>&1 &&
		    mv "$o.$$" "$o" ) &
		pids="$pids $!"
	done
	ok=0
	for p in $pids; do
		wait "$p" || ok=1
	done
	# Objects of sources that no longer exist must not be linked.
	for o in "$objdir"/*.o; do
		[ -f "$o" ] || continue
		[ -f "lib/$(basename "$o" .o).c" ] || rm -f "$o"
	done
	if [ "$ok" -ne 0 ]; then
		cat "$work"/lib-*.log >"$work/lib-build.log" 2>/dev/null
		return 1
	fi
	return 0
}

libok=1
[ -n "$names" ] && { build_lib || libok=0; }

# ---- one harness ------------------------------------------------------------

# Indent a file as TAP diagnostics.
diag() {
	sed -e 's/^/# /' "$@"
}

# A sanitizer SUMMARY line without its "SUMMARY: " and binary offsets.
summary() {
	grep -E '^SUMMARY: ' "$1" | head -n 1 | sed -E -e 's/^SUMMARY: //' \
	    -e 's/ \(BuildId: [0-9a-f]+\)//g' -e 's/ \([^ ()]+\+0x[0-9a-f]+\)//g'
}

# First stack frame in this repository (lib/ or fuzz/), as "func file:line".
first_frame() {
	grep -E "^ *#[0-9]+ 0x[0-9a-f]+ in [^ ]+ ($top/)?(lib|fuzz)/[^ ]+:[0-9]+" "$1" |
	    grep -v 'LLVMFuzzer' | head -n 1 |
	    sed -E "s|^ *#[0-9]+ 0x[0-9a-f]+ in ([^ ]+) ($top/)?([^ ]+:[0-9]+).*|\\1 \\3|"
}

# The first frames of the first stack in a log, without the fuzzer's own.
stack() {
	awk '/^ *#0 0x/ { k++ } k == 1 && /^ *#[0-9]+ 0x/' "$1" |
	    grep -v 'fuzzer::\|libc_start\| _start \| main ' | head -n 10 |
	    sed -E 's/ \(BuildId: [0-9a-f]+\)//' | diag
}

guard=
command -v timeout >/dev/null 2>&1 && guard="timeout -k 10 $((secs * 2 + 60))"

fail=0
i=0
total=$(set -- $names; echo $#)
echo "1..$total"
echo "# work dir: $work"

for n in $names; do
	i=$((i + 1))
	src=fuzz/fuzz_$n.c
	bin=fuzz/bin/$prefix$n
	d=$work/$n
	mkdir -p "$d/corpus"
	what="fuzz $n"
	[ "$mode" = replay ] && what="replay $n"
	if [ ! -f "$src" ]; then
		echo "not ok $i - $what: $src not found"
		fail=1
		continue
	fi
	if [ "$libok" -ne 1 ]; then
		echo "not ok $i - $what: build failed (lib/)"
		grep -E 'error|warning: implicit' "$work/lib-build.log" | head -n 20 | diag
		fail=1
		continue
	fi
	extra=
	[ "$mode" = replay ] && extra=$work/replay_main.c
	# shellcheck disable=SC2090
	if ! $CC $FLAGS "$src" $extra "$objdir"/*.o $PKG_LDFLAGS $LIBS \
	    -o "$bin.$$" >"$d/build.log" 2>&1 || ! mv "$bin.$$" "$bin"; then
		rm -f "$bin.$$"
		echo "not ok $i - $what: build failed"
		tail -n 20 "$d/build.log" | diag
		fail=1
		continue
	fi

	if [ "$mode" = replay ]; then
		if [ -n "$paths" ]; then
			set -- $paths
		else
			set -- "fuzz/corpus/$n"
			[ -d "fuzz/corpus/$n" ] || set --
		fi
		$guard "$bin" "$@" >"$d/log" 2>&1
		st=$?
		cnt=$(sed -n 's/^replayed \([0-9]*\) inputs$/\1/p' "$d/log")
		if [ "$st" -eq 0 ]; then
			echo "ok $i - $what: ${cnt:-0} inputs, no crash"
			continue
		fi
		fail=1
		# A leak is reported at exit: find the input by replaying one at a time.
		culprit=$(sed -n 's/^replay: //p' "$d/log" | tail -n 1)
		if grep -q 'LeakSanitizer' "$d/log"; then
			culprit="(not found alone)"
			for f in $(sed -n 's/^replay: //p' "$d/log"); do
				if ! $guard "$bin" "$f" >"$d/log.one" 2>&1; then
					culprit=$f
					mv "$d/log.one" "$d/log"
					break
				fi
			done
			rm -f "$d/log.one"
		fi
		sum=$(summary "$d/log")
		why=$(grep -E '^fuzz_[a-z0-9_]+: |runtime error:' "$d/log" | head -n 1)
		frame=$(first_frame "$d/log")
		echo "not ok $i - $what: ${sum:-exit status $st}${why:+ ($why)}${frame:+ [at $frame]}"
		echo "# input: $culprit"
		echo "# log: $d/log"
		stack "$d/log"
		continue
	fi

	[ -d "fuzz/corpus/$n" ] && cp -R "fuzz/corpus/$n/." "$d/corpus/"
	seeds=$(find "$d/corpus" -type f | wc -l | tr -d ' ')
	dict=
	[ -f "fuzz/$n.dict" ] && dict=-dict=fuzz/$n.dict
	start=$(date +%s)
	$guard "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout="${FUZZ_TIMEOUT:-10}" \
	    -print_final_stats=1 -artifact_prefix="$d/" $dict ${FUZZ_ARGS:-} \
	    "$d/corpus" >"$d/log" 2>&1
	st=$?
	took=$(($(date +%s) - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$d/log" | tail -n 1)
	cov=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED)' "$d/log" | tail -n 1 |
	    sed -E 's/.*(cov: [0-9]+ ft: [0-9]+ corp: [0-9]+).*/\1/')
	if [ "$st" -eq 0 ]; then
		echo "ok $i - $what: ${runs:-?} runs, no crash"
		echo "# $what: ${runs:-?} runs in ${took}s (${rate:-?} exec/s), $seeds seeds, ${cov:-no coverage line}"
		continue
	fi
	fail=1
	art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$d/log" | tail -n 1)
	sum=$(summary "$d/log")
	[ -n "$sum" ] || sum=$(grep -E '==ERROR: libFuzzer: |ERROR: LeakSanitizer' "$d/log" |
	    head -n 1 | sed 's/^==[0-9]*== *//')
	why=$(grep -E '^fuzz_[a-z0-9_]+: |runtime error:' "$d/log" | head -n 1)
	frame=$(first_frame "$d/log")
	[ "$st" -eq 124 ] || [ "$st" -eq 137 ] && sum="killed after $((secs * 2 + 60))s (hang outside libFuzzer's -timeout)"
	echo "not ok $i - $what: ${sum:-exit status $st}${why:+ ($why)}${frame:+ [at $frame]}"
	[ -n "$art" ] && echo "# artifact: $art" &&
	    echo "# reproduce: $bin $art   (or: fuzz/run.sh --replay -h $n $art)"
	echo "# log: $d/log"
	stack "$d/log"
done

if [ "$fail" -eq 0 ] && [ "${FUZZ_KEEP:-0}" != 1 ]; then
	rm -rf "$work"
	echo "# all clean; work dir removed (FUZZ_KEEP=1 keeps it)"
elif [ "$fail" -ne 0 ]; then
	echo "# artifacts and logs kept in $work"
fi
exit "$fail"
