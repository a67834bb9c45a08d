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
export PATH="$BIN:$PATH"
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
