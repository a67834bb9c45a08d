# inca: a private certificate authority as small Unix programs.
# Honours CC CFLAGS LDFLAGS PREFIX DESTDIR.  `make WERROR=1` adds -Werror (CI).

.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

PREFIX   ?= /usr/local
BINDIR    = $(PREFIX)/bin
MANDIR    = $(PREFIX)/share/man
VERSION   = 0.1.0

CC       ?= cc
CFLAGS   ?= -O2 -g
PKGS      = openssl jansson sqlite3 libidn2 libcurl libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
WARN      = -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN     += -Werror
endif
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DINCA_VERSION='"$(VERSION)"' \
             -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE \
             $(WARN) $(PKG_CFLAGS) -iquote lib $(CFLAGS)
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(LDFLAGS)

# Libraries per program: only what each needs.
LIBS_crypto = -lcrypto
LIBS_json   = -ljansson
LIBS_db     = -lsqlite3 -lpq
LIBS_idn    = -lidn2
# HTTPS to ca-serve: only the online clients (lib/client.c) link it.
LIBS_curl   = -lcurl
LIBS_ssl    = -lssl
LIBS_ca-init    = $(LIBS_crypto) $(LIBS_json) $(LIBS_db) $(LIBS_idn) $(LIBS_curl)
LIBS_ca-sign    = $(LIBS_crypto) $(LIBS_json) $(LIBS_db) $(LIBS_idn) $(LIBS_curl)
LIBS_ca-token   = $(LIBS_crypto) $(LIBS_json) $(LIBS_idn) $(LIBS_curl)
LIBS_ca-renew   = $(LIBS_crypto) $(LIBS_json) $(LIBS_db) $(LIBS_idn) $(LIBS_curl)
LIBS_ca-revoke  = $(LIBS_crypto) $(LIBS_json) $(LIBS_db) $(LIBS_idn) $(LIBS_curl)
LIBS_ca-inspect = $(LIBS_crypto) $(LIBS_json) $(LIBS_db) $(LIBS_idn)
# ca-verify --offline opens only the database (lib/db, as ca.json says),
# never lib/authority: no libcurl.
LIBS_ca-verify  = $(LIBS_crypto) $(LIBS_json) $(LIBS_db) $(LIBS_idn)
# ca-serve: TLS and JSON only; never lib/authority or lib/db (it relays
# to the handlers), which linking without sqlite3 and libidn2 enforces.
LIBS_ca-serve   = $(LIBS_ssl) $(LIBS_crypto) $(LIBS_json)
# ca-acme-va: the challenge validator; the network (curl, TLS) and JSON,
# never the authority, the database or a key.
LIBS_ca-acme-va = $(LIBS_ssl) $(LIBS_crypto) $(LIBS_json) $(LIBS_idn) $(LIBS_curl)
LIBS_ALL        = $(LIBS_ssl) $(LIBS_crypto) $(LIBS_json) $(LIBS_db) $(LIBS_idn) $(LIBS_curl)

# OUT: where objects and programs go (empty: in the tree).  `make
# check-asan` builds into build/asan/ with the sanitizers, leaving the
# ordinary build alone.
OUT      ?=
PROGS    := $(patsubst %/main.c,%,$(wildcard ca-*/main.c))
BINS     := $(addprefix $(OUT)bin/,$(PROGS))
LIB_SRC  := $(wildcard lib/*.c)
LIB_OBJ  := $(addprefix $(OUT),$(LIB_SRC:.c=.o))
LIB_HDR  := $(wildcard lib/*.h)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNITS    := $(patsubst tests/unit/%.c,$(OUT)bin/%,$(UNIT_SRC))
MANS     := $(wildcard man/*.[0-9])

all: $(BINS)

$(OUT)lib/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(OUT)lib/libinca.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(OUT)ca-%/main.o: ca-%/main.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(OUT)bin/ca-%: $(OUT)ca-%/main.o $(OUT)lib/libinca.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(OUT)lib/libinca.a $(or $(LIBS_ca-$*),$(LIBS_ALL))

# ca-serve is split in parts (ca-serve/*.c) around one private header.
SERVE_OBJ := $(addprefix $(OUT),$(patsubst %.c,%.o,$(wildcard ca-serve/*.c)))

$(OUT)ca-serve/%.o: ca-serve/%.c ca-serve/serve.h $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(OUT)bin/ca-serve: $(SERVE_OBJ) $(OUT)lib/libinca.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(SERVE_OBJ) $(OUT)lib/libinca.a $(LIBS_ca-serve)

$(OUT)bin/test_%: tests/unit/test_%.c tests/unit/tap.h $(OUT)lib/libinca.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -iquote tests/unit $(ALL_LDFLAGS) -o $@ $< $(OUT)lib/libinca.a $(LIBS_ALL)

units: $(UNITS)

# The load generator of bench/serve.sh; not part of all.
bench/loadgen: bench/loadgen.c
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -pthread -o $@ $< -lssl -lcrypto

# Debian packages needed to build, test and benchmark.
DEPS = build-essential pkg-config libssl-dev libjansson-dev libsqlite3-dev libidn2-dev \
       libcurl4-openssl-dev libpq-dev postgresql pgbouncer \
       openssl sqlite3 bats bats-assert bats-support jq faketime mandoc \
       clang libclang-rt-14-dev shellcheck python3-jwcrypto python3-cryptography \
       hyperfine golang-cfssl valgrind strace bsdextrautils socat curl systemd ucspi-tcp \
       groff-base man-db xxd certbot lego pebble

deps:
	@sh tests/deps.sh $(DEPS)

check: deps
	$(MAKE) all units
	@sh tests/run.sh

# The same programs and unit tests built with AddressSanitizer and
# UndefinedBehaviorSanitizer into build/asan/, then the tests run against
# them (tests/run.sh with INCA_BIN): any report aborts the program, so the
# test that ran it fails.  ASAN_TESTS chooses the bats suites: by default
# every suite except ASAN_SKIP, those that run no program of the build
# under test or cannot run under the sanitizers (memcheck: valgrind; fuzz:
# its own sanitizer build; lint, docs: text; demo, build: make in the
# tree).  The suites of PG_SUITES run on PostgreSQL too, as in make check.
ASAN_DIR    = build/asan/
# FORTIFY's checked copies would bypass ASan's own; warnings are the
# ordinary builds' business (WERROR is off here: -O1 warns differently).
ASAN_FLAGS  = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=all -U_FORTIFY_SOURCE
ASAN_SKIP   = memcheck fuzz lint docs demo build
ASAN_TESTS ?= $(filter-out $(ASAN_SKIP),$(patsubst tests/bats/%.bats,%,$(wildcard tests/bats/*.bats)))
# verify_asan_link_order=0: the tests preload faketime and a fault shim
# ahead of the ASan runtime; both only wrap libc calls ASan also wraps.
ASAN_ENV    = ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=0:detect_stack_use_after_return=1:strict_string_checks=1:verify_asan_link_order=0:exitcode=99 \
              UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=99

asan:
	$(MAKE) OUT=$(ASAN_DIR) WERROR=0 CFLAGS='$(ASAN_FLAGS)' \
	    LDFLAGS='-fsanitize=address,undefined' all units

# The ordinary build too: a few tests run it on purpose (valgrind on
# ca-renew, a faked clock for ca-init by its path).
check-asan: deps all asan
	@$(ASAN_ENV) INCA_BIN=$(CURDIR)/$(ASAN_DIR)bin \
	    TESTS='$(ASAN_TESTS)' sh tests/run.sh

# The tests alone, assuming dependencies and a build.
test: all units
	@sh tests/run.sh

demo: deps
	$(MAKE) all
	@sh contrib/demo.sh

lint:
	mandoc -Tlint -Wwarning $(MANS)
	shellcheck -x .ci/run tests/*.sh tests/bats/helpers/bin/* contrib/*.sh $(wildcard bench/*.sh fuzz/*.sh)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)
	for m in $(MANS); do \
	    s=$${m##*.}; install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s; done

clean:
	rm -rf bin lib/*.o lib/libinca.a ca-*/*.o fuzz/bin build

.PHONY: all units deps check test demo lint install clean asan check-asan
