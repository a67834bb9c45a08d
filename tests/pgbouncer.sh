#!/bin/sh
# A throwaway pgbouncer in transaction pooling mode, in front of a cluster
# of tests/pg.sh.
#
#   tests/pgbouncer.sh start DIR PGDIR [POOL]
#                             start pgbouncer listening only on a unix
#                             socket in DIR (port 6432, no TCP port), every
#                             database name passed on to the cluster in
#                             PGDIR as the superuser "postgres", at most
#                             POOL server connections (default 2) per
#                             database, shared by all its clients
#   tests/pgbouncer.sh stop DIR
#                             stop it and remove DIR
#   tests/pgbouncer.sh database DIR PGDIR
#                             a new empty database in the cluster; prints
#                             the URI that reaches it through pgbouncer
#   tests/pgbouncer.sh admin DIR SQL
#                             run SQL (SHOW POOLS, SHOW SERVERS...) on
#                             pgbouncer's admin console; rows as "a|b"
#
# As root pgbouncer runs as the postgres user, which then owns DIR, as
# tests/pg.sh does for the server; otherwise as the caller.  Unix socket
# connections only, with trust authentication: the tests' cluster's own.
# A CA home that selects its schema with "options=-c search_path=..." does
# not pass through pgbouncer (it refuses that startup parameter), hence a
# database per CA home here.
set -eu

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

cmd=${1:-}
dir=${2:-}
[ -n "$dir" ] || { echo "usage: pgbouncer.sh start|stop|database|admin DIR [PGDIR [POOL] | SQL]" >&2; exit 2; }

case $cmd in
start)
	pgdir=${3:?pgbouncer.sh start DIR PGDIR [POOL]}
	pool=${4:-2}
	bouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
	[ -x "$bouncer" ] || { echo "pgbouncer.sh: pgbouncer is not installed (make deps)" >&2; exit 1; }
	mkdir -p "$dir"
	chmod 0755 "$dir"
	echo '"postgres" ""' >"$dir/users.txt"
	cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=$pgdir user=postgres

[pgbouncer]
listen_addr =
listen_port = 6432
unix_socket_dir = $dir
auth_type = trust
auth_file = $dir/users.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = $pool
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 500
server_reset_query =
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
	[ "$(id -u)" != 0 ] || chown -R postgres: "$dir"
	as_owner "$bouncer" -d -q "$dir/pgbouncer.ini" ||
		{ cat "$dir/pgbouncer.log" >&2 2>/dev/null; exit 1; }
	i=0
	while [ ! -S "$dir/.s.PGSQL.6432" ]; do
		i=$((i + 1))
		[ "$i" -le 100 ] || { echo "pgbouncer.sh: pgbouncer did not start" >&2; cat "$dir/pgbouncer.log" >&2; exit 1; }
		sleep 0.1
	done
	;;
stop)
	if [ -f "$dir/pgbouncer.pid" ]; then
		pid=$(cat "$dir/pgbouncer.pid")
		kill "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
			i=$((i + 1))
			sleep 0.1
		done
	fi
	rm -rf "$dir"
	;;
database)
	pgdir=${3:?pgbouncer.sh database DIR PGDIR}
	url=$(sh "$(dirname "$0")/pg.sh" database "$pgdir")
	name=${url#postgresql:///}
	name=${name%%\?*}
	echo "postgresql:///$name?host=$dir&port=6432&user=postgres"
	;;
admin)
	psql -X -q -At -h "$dir" -p 6432 -U postgres -d pgbouncer -c "${3:?pgbouncer.sh admin DIR SQL}"
	;;
*)
	echo "usage: pgbouncer.sh start|stop|database|admin DIR [PGDIR [POOL] | SQL]" >&2
	exit 2
	;;
esac
