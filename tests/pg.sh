#!/bin/sh
# A throwaway PostgreSQL cluster for the tests.
#
#   tests/pg.sh start DIR     initdb into DIR/data, start it listening only
#                             on a unix socket in DIR (no TCP port), trust
#                             authentication for the superuser "postgres"
#   tests/pg.sh stop DIR      stop it at once and remove DIR
#   tests/pg.sh down DIR      stop it at once (as a crash would), keep DIR
#   tests/pg.sh up DIR        start it again after down
#   tests/pg.sh db DIR        a new empty schema in the cluster's database
#                             "inca" (a CA per schema: milliseconds, where
#                             CREATE DATABASE takes most of a second);
#                             prints the URI that selects it
#   tests/pg.sh database DIR  a new empty database; prints its URI
#
# As root the server runs as the postgres user (PostgreSQL refuses root),
# which then owns DIR; otherwise as the caller.  fsync is off: the
# cluster lives as long as one test run and the machine does not crash
# under it, while a server killed at once (pg_ctl -m immediate) still
# keeps every commit, as the durability tests need.
set -eu

bindir() {
	if [ -n "${PG_BINDIR:-}" ]; then
		echo "$PG_BINDIR"
		return
	fi
	d=""
	for x in /usr/lib/postgresql/*/bin; do
		[ ! -x "$x/initdb" ] || d=$x
	done
	[ -n "$d" ] || { echo "pg.sh: no PostgreSQL server installed (make deps)" >&2; exit 1; }
	echo "$d"
}

# as_owner COMMAND...: run COMMAND as the cluster's owner.
as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

cmd=${1:-}
dir=${2:-}
[ -n "$dir" ] || { echo "usage: pg.sh start|stop|down|up|db|database DIR" >&2; exit 2; }
bin=$(bindir)

case $cmd in
start)
	mkdir -p "$dir"
	[ "$(id -u)" != 0 ] || chown postgres: "$dir"
	chmod 0755 "$dir"
	as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
		--locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses='' -k '$dir' -c fsync=off -c full_page_writes=off -c max_connections=300" \
		start >/dev/null ||
		{ cat "$dir/server.log" >&2; exit 1; }
	"$bin/psql" -X -q -h "$dir" -U postgres -d postgres \
		-c "CREATE DATABASE inca" >/dev/null
	# SQLite's hex() for the tests' queries, which both backends answer.
	"$bin/psql" -X -q -h "$dir" -U postgres -d inca -c "CREATE FUNCTION \
		public.hex(bytea) RETURNS text IMMUTABLE LANGUAGE sql \
		AS 'SELECT upper(encode(\$1, ''hex''))'" >/dev/null
	;;
stop)
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop \
			>/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
down)
	as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
	;;
up)
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses='' -k '$dir' -c fsync=off -c full_page_writes=off -c max_connections=300" \
		start >/dev/null ||
		{ cat "$dir/server.log" >&2; exit 1; }
	;;
db)
	name=ca_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	"$bin/psql" -X -q -h "$dir" -U postgres -d inca \
		-c "CREATE SCHEMA $name" >/dev/null
	echo "postgresql:///inca?host=$dir&user=postgres&options=-c%20search_path%3D$name%2Cpublic"
	;;
database)
	name=ca_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	"$bin/psql" -X -q -h "$dir" -U postgres -d postgres \
		-c "CREATE DATABASE $name" >/dev/null
	echo "postgresql:///$name?host=$dir&user=postgres"
	;;
*)
	echo "usage: pg.sh start|stop|down|up|db|database DIR" >&2
	exit 2
	;;
esac
