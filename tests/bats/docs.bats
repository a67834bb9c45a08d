#!/usr/bin/env bats
# The manual pages: one per program, lint clean, and in step with each
# program's -h (every long option of -h is in the page, every long option
# of the page's SYNOPSIS is in -h), and ca.json(5) names every field
# ca-init writes.

load common

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	export VERSION
	VERSION=$(sed -n 's/^VERSION *= *//p' "$TOP/Makefile")
	ca-init --dir "$D/ca" >/dev/null
}

need_mandoc() {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
}

# The programs: every bin/ca-*, whoever added it.
programs() {
	local p
	for p in "$BIN"/ca-*; do
		[ -x "$p" ] && basename "$p"
	done
}

# The page of program $1: man/$1.1 or man/$1.8; empty if none.
page_of() {
	local s
	for s in 1 8; do
		if [ -f "$TOP/man/$1.$s" ]; then
			echo "$TOP/man/$1.$s"
			return
		fi
	done
}

# A page as plain text.
render() {
	mandoc -Tascii "$1" | col -b
}

# The long options (--name) in the text on stdin, one a line, sorted.
long_options() {
	grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

# The SYNOPSIS section of a rendered page on stdin.
synopsis() {
	awk '/^SYNOPSIS$/ { on = 1; next } /^[A-Z]/ { on = 0 } on'
}

@test "docs: there are programs to document" {
	run -0 programs
	assert_line ca-init
	assert_line ca-sign
	assert_line ca-token
	assert_line ca-revoke
	assert_line ca-list
}

@test "docs: every program has a man page" {
	local p missing=""
	for p in $(programs); do
		[ -n "$(page_of "$p")" ] || missing="$missing $p"
	done
	assert_equal "${missing# }" ""
}

@test "docs: every program page is mandoc -Tlint clean" {
	need_mandoc
	local p m out=""
	for p in $(programs); do
		m=$(page_of "$p")
		[ -n "$m" ] || continue
		out="$out$(mandoc -Tlint -Wwarning "$m" 2>&1)"
	done
	assert_equal "$out" ""
}

@test "docs: inca.7 and ca.json.5 are mandoc -Tlint clean" {
	need_mandoc
	[ -f "$TOP/man/inca.7" ]
	[ -f "$TOP/man/ca.json.5" ]
	run -0 mandoc -Tlint -Wwarning "$TOP/man/inca.7" "$TOP/man/ca.json.5"
	assert_output ""
}

@test "docs: every page in man/ is mandoc -Tlint clean" {
	need_mandoc
	run -0 mandoc -Tlint -Wwarning "$TOP"/man/*.[0-9]
	assert_output ""
}

@test "docs: -h exits 0 and prints usage: <prog> on stdout only" {
	local p
	for p in $(programs); do
		run -0 --separate-stderr "$p" -h
		assert_line --index 0 --partial "usage: $p"
		assert_equal "$stderr" ""
	done
}

@test "docs: --version prints <prog> <version>" {
	[ -n "$VERSION" ]
	local p
	for p in $(programs); do
		run -0 --separate-stderr "$p" --version
		assert_equal "$output" "$p $VERSION"
		assert_equal "$stderr" ""
	done
}

@test "docs: every long option of -h is in the program's page" {
	need_mandoc
	local p m o text missing=""
	for p in $(programs); do
		m=$(page_of "$p")
		[ -n "$m" ] || continue
		text=$(render "$m")
		for o in $("$p" -h | long_options); do
			grep -qF -- "$o" <<<"$text" || missing="$missing $p:$o"
		done
	done
	assert_equal "${missing# }" ""
}

@test "docs: every long option of a page's SYNOPSIS is in -h" {
	need_mandoc
	local p m o help extra=""
	for p in $(programs); do
		m=$(page_of "$p")
		[ -n "$m" ] || continue
		help=$("$p" -h | long_options)
		for o in $(render "$m" | synopsis | long_options); do
			grep -qxF -- "$o" <<<"$help" || extra="$extra $p:$o"
		done
	done
	assert_equal "${extra# }" ""
}

@test "docs: each SYNOPSIS is found and names its program" {
	need_mandoc
	local p m bad=""
	for p in $(programs); do
		m=$(page_of "$p")
		[ -n "$m" ] || continue
		render "$m" | synopsis | grep -qF -- "$p" || bad="$bad $p"
	done
	assert_equal "${bad# }" ""
}

@test "docs: ca.json.5 names every field ca-init writes into ca.json" {
	need_mandoc
	local f text missing=""
	text=$(render "$TOP/man/ca.json.5")
	# Every path's last member name, ignoring array indices and the
	# members of the provisioner's JWK.
	for f in $(jq -r 'paths | map(tostring) | join(".")' "$D/ca/config/ca.json" |
	    grep -vE '^authority\.provisioners\.[0-9]+\.key\.' |
	    tr '.' '\n' | grep -vE '^[0-9]+$' | sort -u); do
		grep -qF -- "\"$f\"" <<<"$text" || missing="$missing $f"
	done
	assert_equal "${missing# }" ""
}

@test "docs: ca.json.5 names every field ca-init writes into defaults.json" {
	need_mandoc
	local f text missing=""
	text=$(render "$TOP/man/ca.json.5")
	for f in $(jq -r 'keys[]' "$D/ca/config/defaults.json"); do
		grep -qF -- "\"$f\"" <<<"$text" || missing="$missing $f"
	done
	assert_equal "${missing# }" ""
}

@test "docs: the field check sees the nested fields" {
	run -0 bash -c "jq -r 'paths | map(tostring) | join(\".\")' '$D/ca/config/ca.json'"
	assert_line authority.claims.minTLSCertDuration
	assert_line authority.provisioners.0.encryptedKey
	assert_line db.dataSource
	assert_line tls.minVersion
}

@test "docs: every program refuses an unknown option with one line and exit 2" {
	for p in "$BIN"/ca-*; do
		n=$(basename "$p")
		run -2 --separate-stderr "$p" --no-such-option
		assert_equal "$output" ""
		assert_equal "$stderr" "$n: unrecognized option '--no-such-option' (see -h)"
		run -2 --separate-stderr "$p" -Z
		assert_equal "$stderr" "$n: unrecognized option '-Z' (see -h)"
	done
}

# Page $1 as groff renders it through man(1), 80 columns, warnings on stderr.
man_render() {
	MANWIDTH=80 MAN_KEEP_FORMATTING=0 man -l -Tascii "$1" | col -bx
}

# The text on stdin without its header and footer lines, whitespace,
# hyphens (hyphenation differs) and the spelling of quotes: what is left
# must not depend on the formatter.
text_only() {
	sed '1d;$d' | sed "s/[‘’“”\`\"]/'/g" | tr -d ' \n-' | fold -w 60
}

@test "docs: every page renders through man -l (groff) without a warning" {
	local m out=""
	for m in "$TOP"/man/*.[0-9]; do
		out="$out$(MANWIDTH=80 man -l -Tutf8 "$m" 2>&1 >/dev/null)"
		out="$out$(groff -mandoc -Tutf8 -ww -z "$m" 2>&1)"
	done
	assert_equal "$out" ""
}

@test "docs: groff and mandoc render every page to the same text" {
	local m bad=""
	for m in "$TOP"/man/*.[0-9]; do
		diff <(man_render "$m" | text_only) \
			<(mandoc -Tascii "$m" | col -bx | text_only) >/dev/null ||
			bad="$bad $(basename "$m")"
	done
	assert_equal "${bad# }" ""
}

@test "docs: no quote opens inside another or closes twice, under either formatter" {
	local m r bad=""
	for m in "$TOP"/man/*.[0-9]; do
		for r in "mandoc -Tutf8" "groff -mandoc -Tutf8"; do
			if $r "$m" 2>/dev/null | col -bx | tr '\n' ' ' |
				grep -qE '‘[^’]*‘|“[^”]*“|’[^‘]*’|”[^“]*”'; then
				bad="$bad ${r%% *}:$(basename "$m")"
			fi
		done
	done
	assert_equal "${bad# }" ""
}

@test "docs: inca(7)'s limits table is one line a row under groff, as under mandoc" {
	local rows
	rows=$(mandoc -Tascii "$TOP/man/inca.7" | col -bx |
		awk '/Limits are checked/ { on = 1; next } /^ *Database$/ { on = 0 } on && NF' |
		tr -s ' ')
	# Enough rows were found for the comparison to mean something.
	[ "$(wc -l <<<"$rows")" -ge 14 ]
	run -0 bash -c "MANWIDTH=80 man -l -Tascii '$TOP/man/inca.7' 2>/dev/null | col -bx | tr -s ' '"
	while IFS= read -r r; do
		assert_line "$r"
	done <<<"$rows"
	assert_line ' "jti" 128 bytes'
	assert_line ' HTTP request head, body (ca-serve) 16 KiB, 64 KiB'
}

@test "docs: every test SECURITY.md names by its suite prefix is an @test of that exact name" {
	# A quoted "PREFIX: ..." whose PREFIX begins some @test name is a
	# reference to a test: it must be one, whole; "PREFIX: words ..."
	# (ending in three dots) names the tests that begin with the words.
	run -0 --separate-stderr python3 - "$TOP/docs/SECURITY.md" "$TOP"/tests/bats/*.bats <<'PY'
import re, sys
names = set()
for f in sys.argv[2:]:
	for m in re.finditer(r'^@test "((?:[^"\\]|\\.)*)"', open(f).read(), re.M):
		names.add(re.sub(r'\s+', ' ', m.group(1)))
prefixes = {n.split(': ', 1)[0] for n in names if ': ' in n}
doc = re.sub(r'\s+', ' ', open(sys.argv[1]).read())
seen = 0
alt = '|'.join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
for m in re.finditer(r'(?="((?:%s): [^"]*)")' % alt, doc):
	q = m.group(1)
	seen += 1
	if q.endswith('...'):
		if not any(n.startswith(q[:-3].rstrip()) for n in names):
			print('no test begins:', q)
	elif q not in names:
		print('no test named:', q)
print('checked', seen, file=sys.stderr)
PY
	assert_output ""
	# The references were found: the check above looked at something.
	[ "${stderr#checked }" -ge 100 ]
}
