# Shared setup for the bats suites: load the assertion libraries, put the
# freshly built programs first on PATH, and give helpers to build CAs.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load.bash'
load '/usr/lib/bats/bats-assert/load.bash'

# Files the tests write (passwords, keys, tokens) are private, as the
# programs require of a secret (attacks_secrets.bats tests the refusals).
umask 077
TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
# INCA_BIN: another build of them (make check-asan: build/asan/bin).
BIN=${INCA_BIN:-$TOP/bin}
# helpers/bin: faketime in place of the system's wrapper (see there).
export PATH="$BIN:$TOP/tests/bats/helpers/bin:$PATH"
# Keep every test away from the user's own CA home and settings.
export HOME="${BATS_FILE_TMPDIR:-$BATS_TMPDIR}/home"
unset CA_DIR CA_URL CA_ROOT
mkdir -p "$HOME"

# make_openssl_ca DIR: a root (pathlen 1) and an intermediate (pathlen 0)
# made by openssl alone, independent of the code under test.
make_openssl_ca() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/root.key" -out "$d/root.crt" -subj "/CN=Test Root CA" \
		-days 3650 -addext "basicConstraints=critical,CA:TRUE,pathlen:1" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/int.key" -out "$d/int.csr" -subj "/CN=Test Intermediate CA" 2>/dev/null
	printf '%s\n' "basicConstraints=critical,CA:TRUE,pathlen:0" \
		"keyUsage=critical,keyCertSign,cRLSign" \
		"subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >"$d/int.ext"
	openssl x509 -req -in "$d/int.csr" -CA "$d/root.crt" -CAkey "$d/root.key" \
		-set_serial 2 -days 3000 -extfile "$d/int.ext" -out "$d/int.crt" 2>/dev/null
}

# make_csr DIR NAME [openssl req -addext arguments...]: key NAME.key, CSR NAME.csr.
make_csr() {
	local d=$1 n=$2
	shift 2
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/$n.key" -out "$d/$n.csr" "$@" 2>/dev/null
}

# wait_for COMMAND...: poll until COMMAND succeeds; fail after 60 seconds.
# Tests wait on a condition (a lock is held, a file exists), never on a
# guessed sleep, so a loaded machine only makes them slower.
wait_for() {
	local i
	for i in $(seq 600); do
		"$@" && return 0
		sleep 0.1
	done
	fail "gave up waiting for: $*"
}

# put_file FILE: FILE replaced by standard input, which must not be
# empty: written to a new file beside it (mode 0600) and renamed over it,
# so that a program that reads FILE meanwhile (a handler that ca-serve
# starts, a reload) reads the old file or the new one, never a part.  The
# suites change a ca.json only this way (lint.bats): a shell redirection
# or cp truncates the file first, and a handler starting at that moment
# reads it empty, refuses to start, and its pool answers 503 until the
# next start.
put_file() {
	local t
	t=$(mktemp "$1.XXXXXX") || return 1
	if cat >"$t" && [ -s "$t" ] && mv -f "$t" "$1"; then
		return 0
	fi
	rm -f "$t"
	fail "put_file $1: no content, or not written"
}

# wait_until 'EXPR': poll until the shell expression EXPR succeeds, EXPR
# evaluated anew each time; fail after 60 seconds.  Single-quote it.  For
# a condition on a count or on a command's output: in `wait_for test
# "$(...)" -eq N` the shell would expand "$(...)" once, before the first
# poll, and wait on that one value (lint.bats refuses the form).
wait_until() { wait_for eval "$1"; }

# The database backend of the CA homes a suite makes: INCA_TEST_DB=postgresql
# (tests/run.sh sets it, and INCA_PG_DIR, the throwaway cluster it started,
# for the suites it runs a second time) or SQLite.  A test that is about
# SQLite itself (its file, its locks, its pragmas) is tagged
# `# bats test_tags=sqlite` and left out of the PostgreSQL run.
pg_test() { [ "${INCA_TEST_DB:-sqlite}" = postgresql ]; }

# db_args: ca-init's arguments for the database of a new CA home: none
# for SQLite (db/ca.db), else --db with a new empty schema of the test
# cluster.  Use unquoted: $(db_args).
db_args() {
	pg_test || return 0
	[ -n "${INCA_PG_DIR:-}" ] || { echo "INCA_TEST_DB=postgresql without INCA_PG_DIR (tests/run.sh starts the cluster)" >&2; return 1; }
	echo --db "$(sh "$TOP/tests/pg.sh" db "$INCA_PG_DIR")"
}

# clone_home SRC DST: DST, a copy of the CA home SRC with a database of its
# own, holding what SRC's holds: a copy of the files (SQLite's database is
# one of them) or, on PostgreSQL, where a copied ca.json still names SRC's
# database, its rows copied into a new schema by ca-init --migrate --db.
# (A copy that shares SRC's database, another host of the same CA, is a
# plain cp -a.)
clone_home() {
	rm -rf "${2:?}"
	cp -a "$1" "$2"
	pg_test || return 0
	ca-init --migrate --dir "$2" $(db_args) >/dev/null
}

# db_of HOME: type and src, the caller's locals, set to the backend and
# data source HOME's ca.json names.  The suites call dbq thousands of
# times and a jq start costs more than the query, so the answer is kept in
# the run's directory (bats removes it; setup_file has no test directory)
# under the file's identity (device, inode, size, mtime to the
# nanosecond): every write of a ca.json in the suites is a new file
# renamed into place (put_file), which changes it.
db_of() {
	local conf=$1/config/ca.json id cached
	local memo=$BATS_RUN_TMPDIR/db_of.${conf//\//%}
	id=$(stat -L -c '%d:%i:%s:%.9Y' "$conf") || return
	if [ -f "$memo" ] && IFS=$'\t' read -r cached type src <"$memo" &&
	    [ "$cached" = "$id" ]; then
		return 0
	fi
	IFS=$'\t' read -r type src < <(jq -r '[.db.type, .db.dataSource] | @tsv' "$conf")
	printf '%s\t%s\t%s\n' "$id" "$type" "$src" >"$memo"
}

# db_tables HOME: how many tables HOME's database has (in its schema, on
# PostgreSQL).
db_tables() {
	local type src
	db_of "$1"
	if [ "$type" = postgresql ]; then
		dbq "$1" "select count(*) from information_schema.tables where table_schema = current_schema()"
	else
		dbq "$1" "select count(*) from sqlite_master where type = 'table'"
	fi
}

# dbq HOME SQL: run SQL on the database of the CA home HOME, whichever
# backend its ca.json names; rows as "a|b" lines, as sqlite3 prints them.
dbq() {
	local home=$1 type src
	shift
	db_of "$home"
	case $type in
	postgresql) psql -X -q -At -v ON_ERROR_STOP=1 -d "$src" -c "$*" ;;
	*) case $src in /*) ;; *) src=$home/$src ;; esac
	   sqlite3 "$src" "$@" ;;
	esac
}

# hold_db_lock HOME: another writer holds the write lock of HOME's
# database (SQLite's BEGIN IMMEDIATE, or PostgreSQL's writers' lock, which
# db_pg.c takes at the start of every write transaction) until
# release_db_lock.
hold_db_lock() {
	local home=$1 type src ctl=$BATS_TEST_TMPDIR/lockctl
	db_of "$home"
	rm -f "$ctl" "$BATS_TEST_TMPDIR/locked"
	mkfifo "$ctl"
	case $type in
	postgresql) psql -X -q -v ON_ERROR_STOP=1 -d "$src" <"$ctl" >/dev/null 3>&- & ;;
	*) case $src in /*) ;; *) src=$home/$src ;; esac
	   sqlite3 -bail "$src" <"$ctl" 3>&- & ;;
	esac
	DB_LOCK_PID=$!
	exec {DB_LOCK_FD}>"$ctl"
	case $type in
	postgresql) printf 'BEGIN;\nSELECT pg_advisory_xact_lock(1768842081, hashtext(current_schema()));\n\\! touch %s\n' \
		"$BATS_TEST_TMPDIR/locked" >&"$DB_LOCK_FD" ;;
	*) printf 'BEGIN IMMEDIATE;\n.shell touch %s\n' "$BATS_TEST_TMPDIR/locked" >&"$DB_LOCK_FD" ;;
	esac
	wait_for test -e "$BATS_TEST_TMPDIR/locked"
}

release_db_lock() {
	printf 'COMMIT;\n' >&"$DB_LOCK_FD"
	exec {DB_LOCK_FD}>&-
	wait "$DB_LOCK_PID"
}

# refuse_inserts HOME NAME [SUBJECT]: a trigger NAME makes HOME's database
# refuse to insert certificates ("storage refused"), or only those for
# SUBJECT; allow_inserts HOME NAME drops it.
refuse_inserts() {
	local home=$1 name=$2 subj=${3:-} type src
	db_of "$home"
	if [ "$type" = postgresql ]; then
		dbq "$home" "CREATE FUNCTION $name() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN IF ${subj:+NEW.subject = '$subj' AND} true THEN RAISE EXCEPTION 'storage refused'; END IF; RETURN NEW; END \$\$; CREATE TRIGGER $name BEFORE INSERT ON certs FOR EACH ROW EXECUTE FUNCTION $name();"
	else
		dbq "$home" "CREATE TRIGGER $name BEFORE INSERT ON certs ${subj:+WHEN NEW.subject = '$subj'} BEGIN SELECT RAISE(ABORT, 'storage refused'); END;"
	fi
}

allow_inserts() {
	local type src
	db_of "$1"
	if [ "$type" = postgresql ]; then
		dbq "$1" "DROP TRIGGER $2 ON certs; DROP FUNCTION $2();"
	else
		dbq "$1" "DROP TRIGGER $2;"
	fi
}

# claims TOKEN / header TOKEN: the decoded JSON of a segment.
b64url_json() {
	local s=$1
	s=$(printf '%s' "$s" | tr '_-' '/+')
	while [ $(( ${#s} % 4 )) -ne 0 ]; do s="$s="; done
	printf '%s' "$s" | base64 -d
}
header() { b64url_json "$(cut -d. -f1 <<<"$1")"; }
claims() { b64url_json "$(cut -d. -f2 <<<"$1")"; }

# crl_entries FILE: the entries of the CRL in FILE (PEM), one a line,
# "SERIAL REASON" (decimal, as openssl names the reason; "-" for none),
# sorted.
crl_entries() {
	openssl crl -in "$1" -noout -text | awk '
		/Serial Number:/ { if (s != "") print s, r; s = $3; r = "-" }
		/CRL Reason Code/ { getline; gsub(/^ +| +$/, ""); r = $0 }
		END { if (s != "") print s, r }' |
	while read -r hex reason; do
		echo "$(BC_LINE_LENGTH=0 bc <<<"ibase=16; $hex") $reason"
	done | sort
}

# fault_so OUT: helpers/fault.c built into the shared object OUT, the shim
# that the fault and secrets tests preload.
fault_so() {
	cc -shared -fPIC -Wall -Wextra -Werror -I"$(pg_config --includedir)" \
		-o "$1" "$BATS_TEST_DIRNAME/helpers/fault.c" -ldl
}
