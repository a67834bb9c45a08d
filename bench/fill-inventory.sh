#!/usr/bin/env bash
# bench/fill-inventory.sh DB N R: add N generated certificates to the CA
# database DB, R of them revoked, in one transaction, straight through
# sqlite3 and the schema ca-init made.  The rows look like ca-sign's: a
# 48-digit decimal serial, a DNS name as subject and SAN, provisioner
# "admin", the DER of the newest certificate already in DB (issue one
# first), valid 24 hours from one minute before issue.  Issuance runs at
# a steady 1000 a day and ends now, so whatever N is, about 1000 are still
# valid (and expire within 24h), and the R revoked ones are spread evenly
# over the history: N grows the inventory, not what --expiring and
# --revoked return.
set -euo pipefail
prog=${0##*/}
die() {
	echo "$prog: $*" >&2
	exit 1
}
[ $# -eq 3 ] || die "usage: $prog DB N R"
db=$1 n=$2 r=$3
case $n$r in '' | *[!0-9]*) die "N and R: numbers" ;; esac
[ "$n" -gt 0 ] || die "N: at least 1"
[ "$r" -le "$n" ] || die "R: at most N"
[ -f "$db" ] || die "$db: no such database"
[ "$(sqlite3 "$db" 'SELECT count(*) FROM certs')" -gt 0 ] ||
	die "$db: no certificate to copy the DER from: issue one first"
step=0
[ "$r" -eq 0 ] || step=$((n / r))

sqlite3 -bail "$db" <<EOF
PRAGMA cache_size = -262144;
PRAGMA temp_store = MEMORY;
BEGIN IMMEDIATE;
CREATE TEMP TABLE gen (i INTEGER PRIMARY KEY, serial TEXT NOT NULL, t INTEGER NOT NULL);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $n)
INSERT INTO gen
SELECT i, printf('%d%019d%09d%019d', 1 + (random() & 7),
    random() & 9223372036854775807, random() & 536870911, i),
  CAST(strftime('%s', 'now') AS INTEGER) - ($n - i) * 864 / 10
FROM s;
INSERT INTO certs (serial, issued_at, not_before, not_after, subject, sans,
    provisioner, renewed_from, der)
SELECT serial, t, t - 60, t + 86400, printf('host%d.example.com', i),
  printf('["dns:host%d.example.com"]', i), 'admin', NULL,
  (SELECT der FROM certs ORDER BY issued_at DESC LIMIT 1)
FROM gen ORDER BY i;
INSERT INTO revocations (serial, revoked_at, reason_code, reason, method)
SELECT serial, t + 3600, 1, NULL, 'offline' FROM gen
WHERE $step > 0 AND i % $step = 0 AND i / $step <= $r;
COMMIT;
EOF
