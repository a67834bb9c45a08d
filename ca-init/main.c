/*
 * ca-init: create a CA home: root and intermediate keys and certificates,
 * a JWK provisioner, config/ca.json, config/defaults.json and the database.
 *
 * Everything is built in a fresh temporary directory beside the home and
 * renamed into place at the end, so a failure half-way leaves no half-made
 * home, and an existing home is never touched.  An existing empty
 * directory of the caller's (a service's state directory, a volume) is
 * accepted: the home is then built inside it and its parts moved up.
 * SIGTERM, SIGHUP and SIGINT only set a flag until the home is in place;
 * the next step notices it and removes what was made.
 *
 * --bootstrap: make a client home instead: the root of a running CA,
 * fetched by its fingerprint, and defaults.json pointing at the CA.
 *
 * --check: validate an existing home instead (confcheck, then the
 * authority opened as every issuing program opens it).
 *
 * --db URL: the CA's records go to that PostgreSQL database (which must
 * hold no CA schema yet) instead of db/ca.db; --migrate: bring the
 * configured database's schema up to this program's version, the
 * explicit step a database shared by several hosts needs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "authority.h"
#include "b64.h"
#include "ca_limits.h"
#include "cli.h"
#include "client.h"
#include "confcheck.h"
#include "config.h"
#include "csr.h"
#include "db.h"
#include "err.h"
#include "io.h"
#include "jose.h"
#include "key.h"
#include "pem.h"
#include "san.h"
#include "timeutil.h"
#include "token.h"
#include "x509.h"

#define CA_LIFE           (10LL * 365 * 86400)  /* root and intermediate: 10y */
/*
 * PBKDF2 iterations of the keys ca-init encrypts: the root, the
 * intermediate and the provisioner's (key_iter).  Stretching only helps a
 * guessable password: the one ca-init generates holds 256 random bits,
 * which no iteration count makes stronger, so every key under it gets the
 * least (one iteration; the provisioner's JWE JOSE_P2C_MIN, the least a
 * JWE may carry here).  An operator's password may be guessable, so every
 * key under one gets OWASP's figure for PBKDF2-HMAC-SHA256 (600,000): every
 * issuing process pays it once for the intermediate, about 0.3 s
 * (docs/PERFORMANCE.md), and a long-lived handler once for all its
 * requests; ca-token pays it for the provisioner's key, which anyone may
 * fetch from /provisioners.  --key-iterations sets the count of every key
 * (the JWE's at least JOSE_P2C_MIN), trading the guessing cost for speed.
 */
#define KEY_ITER_OPERATOR     600000
#define KEY_ITER_RANDOM       1
/* Every key's count within what the programs read: a JWE's p2c is bounded
 * more tightly (JOSE_P2C_MAX) than a key file's (CA_MAX_KEY_ITER). */
#define KEY_ITER_MAX          JOSE_P2C_MAX
#define MAX_DNS           16

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;

	fprintf(f,
"usage: ca-init [--dir DIR] [--name NAME] [--dns NAME]... [--address HOST:PORT]\n"
"               [--provisioner NAME] [--password-file FILE]\n"
"               [--provisioner-password-file FILE] [--kty EC|RSA|OKP]\n"
"               [--curve NAME] [--size BITS] [--root-cert FILE --root-key FILE]\n"
"               [--root-password-file FILE] [--leaf-duration DURATION]\n"
"               [--key-iterations N] [--db URL]\n"
"       ca-init --check [--dir DIR]\n"
"       ca-init --migrate [--db URL] [--dir DIR]\n"
"       ca-init --bootstrap --ca-url URL --fingerprint HEX [--dir DIR]\n"
"  --dir DIR            CA home to create or check (default $CA_DIR, else\n"
"                       $HOME/.inca)\n"
"  --name NAME          CA name: \"NAME Root CA\", \"NAME Intermediate CA\" (default inca)\n"
"  --dns NAME           DNS name or IP the CA answers on; repeatable\n"
"                       (default localhost and 127.0.0.1)\n"
"  --address HOST:PORT  address ca-serve listens on (default 127.0.0.1:9000)\n"
"  --provisioner NAME   name of the JWK provisioner (default admin)\n"
"  --password-file FILE password of the CA keys (first line); default: a random\n"
"                       one written to secrets/password (0600)\n"
"  --provisioner-password-file FILE  password of the provisioner key\n"
"                       (default: the CA keys' password)\n"
"  --kty, --curve, --size  CA key type (default EC P-256; RSA 3072; OKP Ed25519)\n"
"  --root-cert FILE, --root-key FILE  bring your own root: only the\n"
"                       intermediate is made; the root key is not copied\n"
"  --root-password-file FILE  password of an encrypted --root-key\n"
"  --leaf-duration D    default (and at least maximum) leaf lifetime (default 24h)\n"
"  --key-iterations N   PBKDF2 iterations of the CA keys and the provisioner\n"
"                       key (default: under a generated password 1, the\n"
"                       provisioner's 1000; under an operator's 600000)\n"
"  --db URL             keep the CA's records in this PostgreSQL database (a\n"
"                       postgresql:// URI or conninfo, no password: libpq's\n"
"                       password or service file holds it); it must hold no\n"
"                       CA schema yet (default: SQLite, DIR/db/ca.db)\n"
"  --migrate            migrate the database of the existing home DIR to this\n"
"                       program's schema instead (the explicit step PostgreSQL\n"
"                       needs; SQLite migrates on its own); with --db, then\n"
"                       copy it whole into that new database and point\n"
"                       ca.json at it\n"
"  --check              check the existing home DIR instead: ca.json, the files\n"
"                       it names, the database; exit 0 if sound, 4 if not\n"
"  --bootstrap          make a client home DIR for a running CA instead: its\n"
"                       root, fetched from --ca-url and accepted only if its\n"
"                       SHA-256 is --fingerprint, and config/defaults.json\n"
"  --ca-url URL         with --bootstrap: the CA (https://HOST[:PORT])\n"
"  --fingerprint HEX    with --bootstrap: the root's SHA-256 fingerprint\n"
"                       (ca-init's summary; any case, colons allowed)\n"
"  -h, --help           this text;  --version  the version\n");
	exit(code);
}

enum { O_DIR = 256, O_NAME, O_DNS, O_ADDRESS, O_PROVISIONER, O_PASSWORD_FILE,
	O_PROV_PASSWORD_FILE, O_KTY, O_CURVE, O_SIZE, O_ROOT_CERT, O_ROOT_KEY,
	O_ROOT_PASSWORD_FILE, O_LEAF_DURATION, O_KEY_ITERATIONS, O_CHECK,
	O_VERSION, O_BOOTSTRAP, O_CA_URL, O_FINGERPRINT, O_DB, O_MIGRATE };

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, O_DIR },
	{ "name", required_argument, NULL, O_NAME },
	{ "dns", required_argument, NULL, O_DNS },
	{ "address", required_argument, NULL, O_ADDRESS },
	{ "provisioner", required_argument, NULL, O_PROVISIONER },
	{ "password-file", required_argument, NULL, O_PASSWORD_FILE },
	{ "provisioner-password-file", required_argument, NULL, O_PROV_PASSWORD_FILE },
	{ "kty", required_argument, NULL, O_KTY },
	{ "curve", required_argument, NULL, O_CURVE },
	{ "size", required_argument, NULL, O_SIZE },
	{ "root-cert", required_argument, NULL, O_ROOT_CERT },
	{ "root-key", required_argument, NULL, O_ROOT_KEY },
	{ "root-password-file", required_argument, NULL, O_ROOT_PASSWORD_FILE },
	{ "leaf-duration", required_argument, NULL, O_LEAF_DURATION },
	{ "key-iterations", required_argument, NULL, O_KEY_ITERATIONS },
	{ "check", no_argument, NULL, O_CHECK },
	{ "db", required_argument, NULL, O_DB },
	{ "migrate", no_argument, NULL, O_MIGRATE },
	{ "bootstrap", no_argument, NULL, O_BOOTSTRAP },
	{ "ca-url", required_argument, NULL, O_CA_URL },
	{ "fingerprint", required_argument, NULL, O_FINGERPRINT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

struct opts {
	const char *dir, *name, *address, *provisioner, *password_file;
	const char *prov_password_file, *kty, *curve, *size, *root_cert;
	const char *root_key, *root_password_file, *leaf_duration, *key_iterations;
	const char *dns[MAX_DNS];
	const char *ca_url, *fingerprint, *db;
	size_t ndns;
	int check, bootstrap, migrate;
};

static char tmpdir[PATH_MAX];   /* the home being built; removed on failure */
static volatile sig_atomic_t caught;    /* a terminating signal arrived */

/* The parts of a home, in the order they are moved in: config/ca.json last. */
static const char *const parts[] = { "certs", "secrets", "db", "config" };

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

/*
 * Remove the home being built.  What cannot be removed is named: it may
 * hold the root key and the password.  Async-signal-unsafe: never called
 * from a handler.
 */
static void
cleanup(void)
{
	struct stat st;

	if (tmpdir[0] == '\0')
		return;
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (lstat(tmpdir, &st) == 0 || errno != ENOENT)
		fprintf(stderr, "%s: could not remove %s, which may hold the "
		    "CA's keys and password: remove it\n", err_progname(), tmpdir);
	tmpdir[0] = '\0';
}

static void
on_signal(int sig)
{
	caught = sig;
}

/* SIGTERM, SIGHUP and SIGINT (unless ignored, as under nohup) set caught. */
static void
catch_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGHUP, SIGINT };
	struct sigaction sa, old;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
}

/*
 * Between steps: after a caught signal, remove what was made and die of
 * that signal, as the sender expects.
 */
static void
check_signal(void)
{
	int sig = caught;

	if (sig == 0)
		return;
	cleanup();
	fprintf(stderr, "%s: %s: stopped; no CA home was made\n", err_progname(),
	    strsignal(sig));
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);
}

/*
 * DIR/REL in buf (PATH_MAX bytes); dies on overflow, which the bound on
 * the home's length (PATH_MAX - 64) leaves for the paths made here.
 */
static const char *
pathcat(char *buf, const char *dir, const char *rel)
{
	if ((size_t)snprintf(buf, PATH_MAX, "%s/%s", dir, rel) >= PATH_MAX)
		die(CA_FAIL, "path too long");
	return buf;
}

/* A path inside the home being built, a caught signal acted on first. */
static const char *
tpath(char *buf, const char *rel)
{
	check_signal();
	return pathcat(buf, tmpdir, rel);
}

/* "NAME.init.XXXXXX", the name mkdtemp() gives a home being built. */
static int
is_leftover(const char *entry, const char *base)
{
	size_t n = strlen(base), i;

	if (strncmp(entry, base, n) != 0 || strncmp(entry + n, ".init.", 6) != 0)
		return 0;
	for (i = n + 6; entry[i] != '\0'; i++)
		;
	return i == n + 12;
}

/*
 * Refuse to start beside (or inside) the leftover of an interrupted
 * ca-init that could not be removed (SIGKILL, a power cut): it may hold
 * the keys, and it may be another ca-init at work.
 */
static void
no_leftover(const char *dir, const char *base)
{
	struct dirent *e;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		die(CA_FAIL, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL)
		if (is_leftover(e->d_name, base))
			die(CA_REFUSED, "%s%s%s: left by an interrupted ca-init (or "
			    "one still running); it may hold the CA's keys: remove "
			    "it, then run ca-init again", strcmp(dir, ".") ? dir : "",
			    strcmp(dir, ".") ? "/" : "", e->d_name);
	closedir(d);
}

/*
 * 0 if home does not exist; 1 if it is an empty directory of the caller's,
 * not writable by others, to build the home in.  Dies on anything else.
 */
static int
home_state(const char *home)
{
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (lstat(home, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		die(CA_FAIL, "%s: %s", home, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		die(CA_REFUSED, "%s already exists: not touching it", home);
	if (st.st_uid != geteuid())
		die(CA_REFUSED, "%s already exists and is not yours: not touching it",
		    home);
	if (st.st_mode & 022)
		die(CA_REFUSED, "%s is writable by others (mode %03o): not making "
		    "a CA home in it", home, (unsigned)(st.st_mode & 0777));
	if ((d = opendir(home)) == NULL)
		die(CA_FAIL, "%s: %s", home, strerror(errno));
	no_leftover(home, "");
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			die(CA_REFUSED, "%s already exists: not touching it", home);
	closedir(d);
	return 1;
}

/* home, absolute (the working directory prefixed, not resolved); malloc'd. */
static char *
absolute(const char *home)
{
	char cwd[PATH_MAX];

	if (home[0] == '/')
		return strdup(home);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		die(CA_FAIL, "the working directory: %s", strerror(errno));
	while (home[0] == '.' && home[1] == '/')
		for (home += 2; home[0] == '/'; home++)
			;
	return io_join(cwd, home[0] != '\0' ? home : ".");
}

static void
write_excl(const char *rel, const char *data, mode_t mode)
{
	char p[PATH_MAX];

	if (io_write_excl(tpath(p, rel), data, strlen(data), mode) != CA_OK)
		die_last();
}

static void
write_cert(const char *rel, X509 *x)
{
	char *pem = pem_cert(x);

	if (pem == NULL)
		die(CA_FAIL, "encoding certificate failed");
	write_excl(rel, pem, 0644);
	free(pem);
}

static void
write_key(const char *rel, EVP_PKEY *k, const char *password, int iter)
{
	char *pem = pem_key(k, password, iter);

	if (pem == NULL)
		die(CA_FAIL, "encrypting key failed");
	write_excl(rel, pem, 0600);
	io_wipe_str(pem);
}

/*
 * A new CA key pair and its 10-year certificate, "<name> Root CA"
 * (self-signed, path length 1) or "<name> Intermediate CA" (signed by
 * issuer, path length 0).  Dies on failure.
 */
static X509 *
make_ca(enum x509_profile profile, const char *name, const struct key_spec *spec,
    X509 *issuer, EVP_PKEY *issuer_key, int64_t now, EVP_PKEY **key)
{
	struct x509_template t;
	char cn[96];
	X509 *x;

	if ((*key = key_generate(spec)) == NULL)
		die_last();
	snprintf(cn, sizeof(cn), "%s %s CA", name,
	    profile == X509_ROOT ? "Root" : "Intermediate");
	memset(&t, 0, sizeof(t));
	t.profile = profile;
	t.pubkey = *key;
	t.cn = cn;
	t.org = name;
	t.not_before = now - CA_BACKDATE;
	t.not_after = now + CA_LIFE;
	t.issuer = issuer;
	t.issuer_key = issuer ? issuer_key : *key;
	t.pathlen = profile == X509_ROOT ? 1 : 0;
	if (x509_issue(&t, &x) != CA_OK)
		die_last();
	return x;
}

/* "host:port" → port text; dies on a malformed address. */
static const char *
address_port(const char *a)
{
	const char *c = strrchr(a, ':');
	char *end;
	long port;

	if (c == NULL || c[1] == '\0')
		die(CA_USAGE, "--address %s: expected HOST:PORT", a);
	port = strtol(c + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		die(CA_USAGE, "--address %s: bad port", a);
	return c + 1;
}

static char *
random_password(void)
{
	unsigned char r[32];
	char *s;

	if (RAND_bytes(r, sizeof(r)) != 1)
		die(CA_FAIL, "random number generator failed");
	s = b64url_encode(r, sizeof(r));
	OPENSSL_cleanse(r, sizeof(r));
	if (s == NULL)
		die(CA_FAIL, "out of memory");
	return s;
}

/*
 * The PBKDF2 iteration count of a key under an operator's password or a
 * generated one, or set (nonzero); at least least.
 */
static long
key_iter(int operator, long set, long least)
{
	long n = set ? set : operator ? KEY_ITER_OPERATOR : KEY_ITER_RANDOM;

	return n < least ? least : n;
}

/* The provisioner entry: public JWK, and the private JWK encrypted (JWE). */
static json_t *
make_provisioner(const char *name, const char *password, long p2c,
    char **kid_out, EVP_PKEY **key_out)
{
	EVP_PKEY *pk;
	json_t *pub, *priv, *prov;
	char *kid, *privjson, *jwe;

	static const struct key_spec es256 = { "EC", "P-256", 0 };

	if ((pk = key_generate(&es256)) == NULL)
		die_last();
	if ((kid = jwk_thumbprint(pk)) == NULL)
		die_last();
	if ((pub = jwk_export(pk, 0)) == NULL || (priv = jwk_export(pk, 1)) == NULL)
		die_last();
	json_object_set_new(pub, "use", json_string("sig"));
	json_object_set_new(pub, "kid", json_string(kid));
	json_object_set_new(pub, "alg", json_string("ES256"));
	json_object_set_new(priv, "use", json_string("sig"));
	json_object_set_new(priv, "kid", json_string(kid));
	json_object_set_new(priv, "alg", json_string("ES256"));
	privjson = jose_json_dumps_secret(priv, JSON_COMPACT | JSON_SORT_KEYS);
	jose_json_wipe(priv);
	*key_out = pk;
	if (privjson == NULL)
		die(CA_FAIL, "encoding provisioner key failed");
	if (jwe_encrypt_pbes2(privjson, strlen(privjson), password,
	    strlen(password), p2c, "jwk+json", &jwe) != CA_OK)
		die_last();
	io_wipe_str(privjson);
	prov = json_pack("{s:s, s:s, s:o, s:s}", "type", "JWK", "name", name,
	    "key", pub, "encryptedKey", jwe);
	free(jwe);
	*kid_out = kid;
	return prov;
}

/*
 * ca-serve's own certificate: an ordinary leaf for every dnsNames entry,
 * issued the way any client gets one (a token from the new provisioner,
 * the authority's checks, a row in the database), so it is renewed,
 * listed and revoked like any other.  Its key is unencrypted (ca-serve
 * starts without a password) and 0600; ca-serve never needs more.
 */
static void
server_cert(const json_t *ca, const char *provisioner, const char *kid,
    EVP_PKEY *provkey, EVP_PKEY *intkey)
{
	static const struct key_spec p256 = { "EC", "P-256", 0 };
	const json_t *dns = json_object_get(ca, "dnsNames"), *d;
	struct token_claims c;
	struct sign_request r;
	struct authority_result res;
	struct authority *a;
	struct sans sans;
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
	X509 *leaf = NULL;
	char *aud, *ott = NULL, *pem, *all;
	size_t i, len;
	int j;

	memset(&sans, 0, sizeof(sans));
	json_array_foreach(dns, i, d) {
		if (sans_add(&sans, json_string_value(d)) != CA_OK)
			die_last();
	}
	if ((key = key_generate(&p256)) == NULL)
		die_last();
	memset(&r, 0, sizeof(r));
	if ((r.csr = csr_build(key, json_string_value(json_array_get(dns, 0)),
	    &sans)) == NULL)
		die_last();
	if ((aud = token_audience(ca, "sign")) == NULL)
		die_last();
	memset(&c, 0, sizeof(c));
	c.iss = provisioner;
	c.sub = json_string_value(json_array_get(dns, 0));
	c.aud = aud;
	c.sans = dns;
	/*
	 * The clock as it is now, not when ca-init started: making and
	 * encrypting the keys may take longer than a token lives.
	 */
	c.nbf = (int64_t)time(NULL);
	c.exp = c.nbf + TOKEN_DEFAULT_LIFE;
	if (token_mint(provkey, kid, &c, &ott) != CA_OK)
		die_last();
	r.ott = ott;
	if (authority_open(tmpdir, DB_WRITE, &a) != CA_OK ||
	    authority_use_key(a, intkey) != CA_OK)
		die_last();
	res = authority_sign(a, &r, &leaf);
	if (res.code != CA_OK)
		die(res.code, "server certificate: %s", err_msg());
	/* The leaf, then the intermediate: what a TLS server sends. */
	all = NULL;
	len = 0;
	chain = authority_chain(a);
	for (j = -1; j < sk_X509_num(chain); j++) {
		char *grown;
		size_t n;

		if ((pem = pem_cert(j < 0 ? leaf : sk_X509_value(chain, j))) == NULL)
			die(CA_FAIL, "encoding the server certificate failed");
		n = strlen(pem);
		if ((grown = realloc(all, len + n + 1)) == NULL)
			die(CA_FAIL, "out of memory");
		all = grown;
		memcpy(all + len, pem, n + 1);
		len += n;
		free(pem);
	}
	write_excl("certs/server.crt", all, 0644);
	free(all);
	write_key("secrets/server_key", key, NULL, 0);
	authority_close(a);
	io_wipe_str(ott);
	free(aud);
	X509_free(leaf);
	X509_REQ_free(r.csr);
	EVP_PKEY_free(key);
	sans_free(&sans);
}

/*
 * --check: the home's configuration and files (confcheck, warning about
 * ignored step-ca members), then the authority as an issuing program
 * opens it (claims, policy, database schema).  Exits 0 or 4.
 */
static void
check_home(const char *dir)
{
	struct authority *a;
	char *home;

	if ((home = config_home(dir)) == NULL)
		die_last();
	if (confcheck_home(home, 1) != CA_OK || authority_open(home, DB_READ, &a) != CA_OK)
		die(CA_FAIL, "%s", err_msg());
	authority_close(a);
	cli_print(home);
	cli_print(": ok\n");
	free(home);
	exit(0);
}

/*
 * --migrate: the home's database brought to this program's schema, in
 * one transaction (db_open with DB_MIGRATE); with --db URL, then copied
 * whole into that new PostgreSQL database (db_copy), and ca.json pointed
 * at it.  The old database is left as it was.  Exits 0 or 4 (5: a
 * database is unavailable).
 */
static void
migrate_home(const char *dir, const char *url)
{
	json_t *conf = NULL, *newdb;
	struct db *db, *to;
	char *home, *p;
	int rc;

	if ((home = config_home(dir)) == NULL ||
	    (p = io_join(home, "config/ca.json")) == NULL)
		die_last();
	if ((rc = config_read_json(p, &conf)) != CA_OK ||
	    (rc = confcheck_ca(conf, 0)) != CA_OK)
		die(rc == CA_INPUT ? CA_FAIL : rc, "%s", err_msg());
	if ((rc = db_open(home, json_object_get(conf, "db"), DB_MIGRATE,
	    &db)) != CA_OK)
		die(rc, "%s", err_msg());
	if (url == NULL) {
		db_close(db);
		printf("%s: database schema version %d\n", home,
		    DB_SCHEMA_VERSION);
		json_decref(conf);
		free(p);
		free(home);
		exit(0);
	}
	/* The new "db": the same settings, another database. */
	if ((newdb = json_deep_copy(json_object_get(conf, "db"))) == NULL ||
	    json_object_set_new(newdb, "type", json_string("postgresql")) ||
	    json_object_set_new(newdb, "dataSource", json_string(url)))
		die(CA_FAIL, "out of memory");
	if ((rc = db_open(home, newdb, DB_INIT, &to)) != CA_OK ||
	    (rc = db_copy(db, to)) != CA_OK)
		die(rc, "%s", err_msg());
	db_close(to);
	db_close(db);
	if (json_object_set_new(conf, "db", newdb) ||
	    config_write_json(p, conf, 0644) != CA_OK)
		die_last();
	printf("%s: database copied to %s (schema version %d); ca.json "
	    "names it now, the old database is left as it was\n", home,
	    url, DB_SCHEMA_VERSION);
	json_decref(conf);
	free(p);
	free(home);
	exit(0);
}

/* --db names a PostgreSQL database: a URI, or conninfo's key=value. */
static int
db_is_postgresql(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 ||
	    strncmp(s, "postgres://", 11) == 0 || strchr(s, '=') != NULL;
}

/*
 * Write a new public file: a temporary file beside it, then link(2),
 * which never replaces what is there (an existing path is CA_REFUSED).
 * Nothing is left behind on failure.
 */
static int
install_new(const char *path, const char *data, mode_t mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX], *slash;
	int fd, rc, dfd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp))
		return err_set(CA_FAIL, "%s: path too long", path);
	if ((fd = mkstemp(tmp)) == -1)
		return err_set(CA_FAIL, "%s: %s", tmp, strerror(errno));
	if (fchmod(fd, mode) == -1 || (rc = io_write_all(fd, data,
	    strlen(data))) != CA_OK || fsync(fd) == -1) {
		rc = err_set(CA_FAIL, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return rc;
	}
	close(fd);
	if (link(tmp, path) == -1) {
		rc = errno == EEXIST ?
		    err_set(CA_REFUSED, "%s already exists: not touching it", path) :
		    err_set(CA_FAIL, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return rc;
	}
	unlink(tmp);
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if ((dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	return CA_OK;
}

/* mkdir -p of path; what is made here is 0755 (public files only). */
static void
public_dir(const char *path)
{
	int made = !io_exists(path);

	if (io_mkdirs(path, 0755) != CA_OK)
		die_last();
	if (made && chmod(path, 0755) == -1)
		die(CA_FAIL, "%s: %s", path, strerror(errno));
}

/*
 * --bootstrap: a client home for the CA at --ca-url.  Its root is
 * fetched without trusting anything and accepted only by its SHA-256
 * fingerprint; the CA's own certificate must then verify against it
 * (lib/client).  Only then are certs/root_ca.crt and config/defaults.json
 * written, each new (an existing one is never replaced: exit 1).  Exits.
 */
static void
bootstrap(const struct opts *o)
{
	char fp[65], *home, *rootp, *defp, *abshome, *absroot, *url, *pem, *s;
	json_t *defaults, *summary;
	X509 *root;
	size_t n;

	if (o->check || o->name || o->ndns || o->address || o->provisioner ||
	    o->password_file || o->prov_password_file || o->kty || o->curve ||
	    o->size || o->root_cert || o->root_key || o->root_password_file ||
	    o->leaf_duration || o->key_iterations)
		die(CA_USAGE, "--bootstrap takes only --ca-url, --fingerprint and --dir");
	if (o->ca_url == NULL || o->fingerprint == NULL)
		die(CA_USAGE, "--bootstrap needs --ca-url and --fingerprint");
	if (!x509_fingerprint_parse(o->fingerprint, fp))
		die(CA_USAGE, "--fingerprint: 64 hexadecimal digits (SHA-256)");
	if ((home = config_home(o->dir)) == NULL)
		die_last();
	rootp = io_join(home, "certs/root_ca.crt");
	defp = io_join(home, "config/defaults.json");
	if ((abshome = absolute(home)) == NULL || rootp == NULL || defp == NULL)
		die(CA_FAIL, "out of memory");
	/* Refused before any request, and again by link(2) at the end. */
	if (io_exists(rootp))
		die(CA_REFUSED, "%s already exists: not touching it", rootp);
	if (io_exists(defp))
		die(CA_REFUSED, "%s already exists: not touching it", defp);
	if (client_bootstrap(o->ca_url, fp, &root) != CA_OK)
		die_last();
	if ((url = strdup(o->ca_url)) == NULL || (pem = pem_cert(root)) == NULL)
		die(CA_FAIL, "out of memory");
	for (n = strlen(url); n > 8 && url[n - 1] == '/'; n--)
		url[n - 1] = '\0';
	defaults = json_pack("{s:s, s:s, s:s}", "ca-url", url,
	    "root", "certs/root_ca.crt", "fingerprint", fp);
	s = defaults ? json_dumps(defaults, JSON_INDENT(2) | JSON_PRESERVE_ORDER) :
	    NULL;
	if (s == NULL)
		die(CA_FAIL, "encoding defaults.json failed");
	{
		char *d = io_join(home, "certs"), *c = io_join(home, "config");

		if (d == NULL || c == NULL)
			die(CA_FAIL, "out of memory");
		public_dir(home);
		public_dir(d);
		public_dir(c);
		free(d);
		free(c);
	}
	if (install_new(rootp, pem, 0644) != CA_OK)
		die_last();
	{
		char *line = malloc(strlen(s) + 2);

		if (line == NULL)
			die(CA_FAIL, "out of memory");
		sprintf(line, "%s\n", s);
		if (install_new(defp, line, 0644) != CA_OK) {
			/* Not half a client home: the root written above goes too. */
			unlink(rootp);
			die_last();
		}
		free(line);
	}
	free(s);
	absroot = io_join(abshome, "certs/root_ca.crt");
	summary = json_pack("{s:s, s:s, s:s, s:s}", "dir", abshome,
	    "ca-url", url, "root", absroot ? absroot : "", "fingerprint", fp);
	s = summary ? json_dumps(summary, JSON_INDENT(2) | JSON_PRESERVE_ORDER) :
	    NULL;
	signal(SIGPIPE, SIG_IGN);
	if (s == NULL || io_write_all(1, s, strlen(s)) != CA_OK ||
	    io_write_all(1, "\n", 1) != CA_OK)
		die(CA_FAIL, "%s; the client home %s is created and complete",
		    s == NULL ? "encoding summary failed" : err_msg(), abshome);
	free(s);
	free(absroot);
	json_decref(summary);
	json_decref(defaults);
	X509_free(root);
	free(pem);
	free(url);
	free(rootp);
	free(defp);
	free(abshome);
	free(home);
	exit(0);
}

int
main(int argc, char *argv[])
{
	struct opts o;
	char p[PATH_MAX], parent[PATH_MAX], *home, *abshome, *password = NULL;
	char *prov_password = NULL, *root_password = NULL, *kid = NULL;
	char fp[65], url[512];
	const char *port, *pwfile_conf;
	EVP_PKEY *rootkey = NULL, *intkey = NULL, *provkey = NULL;
	X509 *root = NULL, *inter = NULL;
	json_t *ca, *defaults, *summary, *dns, *prov, *claims;
	struct db *db;
	int64_t now = (int64_t)time(NULL), leaf = 24 * 3600, maxleaf;
	size_t i;
	int ch, inplace;
	long iter_set = 0, ca_iter, prov_iter;
	struct key_spec spec;

	cli_init(argv[0]);
	/* Keys are made here: no core file may hold them. */
	if (io_secret_guard() != CA_OK)
		die_last();
	memset(&o, 0, sizeof(o));
	while ((ch = cli_getopt(argc, argv, ":h", longopts)) != -1) {
		switch (ch) {
		case O_DIR: cli_once("--dir", &o.dir, optarg); break;
		case O_NAME: cli_once("--name", &o.name, optarg); break;
		case O_DNS:
			if (o.ndns == MAX_DNS)
				die(CA_USAGE, "at most %d --dns names", MAX_DNS);
			o.dns[o.ndns++] = optarg;
			break;
		case O_ADDRESS: cli_once("--address", &o.address, optarg); break;
		case O_PROVISIONER:
			cli_once("--provisioner", &o.provisioner, optarg);
			break;
		case O_PASSWORD_FILE:
			cli_once("--password-file", &o.password_file, optarg);
			break;
		case O_PROV_PASSWORD_FILE:
			cli_once("--provisioner-password-file",
			    &o.prov_password_file, optarg);
			break;
		case O_KTY: cli_once("--kty", &o.kty, optarg); break;
		case O_CURVE: cli_once("--curve", &o.curve, optarg); break;
		case O_SIZE: cli_once("--size", &o.size, optarg); break;
		case O_ROOT_CERT: cli_once("--root-cert", &o.root_cert, optarg); break;
		case O_ROOT_KEY: cli_once("--root-key", &o.root_key, optarg); break;
		case O_ROOT_PASSWORD_FILE:
			cli_once("--root-password-file", &o.root_password_file,
			    optarg);
			break;
		case O_LEAF_DURATION:
			cli_once("--leaf-duration", &o.leaf_duration, optarg);
			break;
		case O_KEY_ITERATIONS:
			cli_once("--key-iterations", &o.key_iterations, optarg);
			break;
		case O_CHECK: o.check = 1; break;
		case O_DB: cli_once("--db", &o.db, optarg); break;
		case O_MIGRATE: o.migrate = 1; break;
		case O_BOOTSTRAP: o.bootstrap = 1; break;
		case O_CA_URL: cli_once("--ca-url", &o.ca_url, optarg); break;
		case O_FINGERPRINT:
			cli_once("--fingerprint", &o.fingerprint, optarg);
			break;
		case O_VERSION: cli_version(); break;
		case 'h': usage(0); break;
		default: cli_badopt(ch, argv);
		}
	}
	if (optind != argc)
		die(CA_USAGE, "unexpected argument: %s", argv[optind]);
	if (o.bootstrap)
		bootstrap(&o);
	if (o.ca_url || o.fingerprint)
		die(CA_USAGE, "--ca-url and --fingerprint go with --bootstrap");
	if (o.check || o.migrate) {
		if (o.name || o.ndns || o.address || o.provisioner ||
		    o.password_file || o.prov_password_file || o.kty || o.curve ||
		    o.size || o.root_cert || o.root_key || o.root_password_file ||
		    o.leaf_duration || o.key_iterations ||
		    (o.check && (o.db || o.migrate)))
			die(CA_USAGE, "%s takes only --dir",
			    o.check ? "--check" : "--migrate and --db");
	}
	if (o.db != NULL && !db_is_postgresql(o.db))
		die(CA_USAGE, "--db: a postgresql:// URI or a conninfo string "
		    "(\"host=... dbname=...\")");
	if (o.migrate)
		migrate_home(o.dir, o.db);
	if (o.check)
		check_home(o.dir);
	if ((o.root_cert == NULL) != (o.root_key == NULL))
		die(CA_USAGE, "--root-cert and --root-key go together");
	if (o.root_password_file && !o.root_key)
		die(CA_USAGE, "--root-password-file goes with --root-key");
	if (o.name == NULL)
		o.name = "inca";
	if (o.name[0] == '\0' || strlen(o.name) > 40)
		die(CA_USAGE, "--name: 1 to 40 bytes");
	if (o.provisioner == NULL)
		o.provisioner = "admin";
	if (o.provisioner[0] == '\0' || strlen(o.provisioner) > 128)
		die(CA_USAGE, "--provisioner: 1 to 128 bytes");
	if (o.address == NULL)
		o.address = "127.0.0.1:9000";
	port = address_port(o.address);
	if (o.ndns == 0) {
		o.dns[o.ndns++] = "localhost";
		o.dns[o.ndns++] = "127.0.0.1";
	}
	dns = json_array();
	for (i = 0; i < o.ndns; i++) {
		struct san s;

		if (san_parse(o.dns[i], &s) != CA_OK)
			die(CA_USAGE, "--dns: %s", err_msg());
		if (s.type != SAN_DNS && s.type != SAN_IP)
			die(CA_USAGE, "--dns %s: not a DNS name or IP address", o.dns[i]);
		if (s.value[0] == '*')
			die(CA_USAGE, "--dns %s: no wildcards", o.dns[i]);
		json_array_append_new(dns, json_string(s.value));
		free(s.value);
	}
	if (o.leaf_duration != NULL &&
	    (time_parse_duration(o.leaf_duration, &leaf) != CA_OK || leaf < 300))
		die(CA_USAGE, "--leaf-duration: a duration of at least 5m");
	maxleaf = leaf > 24 * 3600 ? leaf : 24 * 3600;
	if (o.root_cert != NULL && (o.kty || o.curve || o.size) == 0)
		memset(&spec, 0, sizeof(spec));         /* set from the root below */
	else if (key_spec_parse(o.kty, o.curve, o.size, &spec) != CA_OK)
		die_last();
	if (o.key_iterations != NULL) {
		char *end;
		long v = strtol(o.key_iterations, &end, 10);

		if (o.key_iterations[0] == '\0' || *end != '\0' || v < 1 ||
		    v > KEY_ITER_MAX)
			die(CA_USAGE, "--key-iterations: 1..%d", KEY_ITER_MAX);
		iter_set = v;
	}
	ca_iter = key_iter(o.password_file != NULL, iter_set, 1);
	prov_iter = key_iter(o.password_file != NULL || o.prov_password_file != NULL,
	    iter_set, JOSE_P2C_MIN);

	/*
	 * The home must not exist, or be an empty directory of ours; its
	 * parent is made if need be.
	 */
	if ((home = config_home(o.dir)) == NULL)
		die_last();
	for (i = strlen(home); i > 1 && home[i - 1] == '/'; i--)
		home[i - 1] = '\0';
	/* Not quoted: the reason would not fit after it in one line. */
	if (strlen(home) > PATH_MAX - 64)
		die(CA_USAGE, "home path too long: %zu bytes, at most %d",
		    strlen(home), PATH_MAX - 64);
	inplace = home_state(home);
	snprintf(parent, sizeof(parent), "%s", home);
	{
		char *slash = strrchr(parent, '/');
		if (slash == parent)
			parent[1] = '\0';
		else if (slash != NULL)
			*slash = '\0';
		else
			snprintf(parent, sizeof(parent), ".");
	}
	if (!inplace && io_mkdirs(parent, 0755) != CA_OK)
		die_last();
	{
		const char *slash = strrchr(home, '/');

		no_leftover(parent, slash != NULL ? slash + 1 : home);
	}
	if ((abshome = absolute(home)) == NULL)
		die(CA_FAIL, "out of memory");

	/* Passwords before any work, so a bad file costs nothing. */
	if (o.password_file != NULL &&
	    io_read_password(o.password_file, &password) != CA_OK)
		die_last();
	if (o.prov_password_file != NULL &&
	    io_read_password(o.prov_password_file, &prov_password) != CA_OK)
		die_last();
	if (o.root_password_file != NULL &&
	    io_read_password(o.root_password_file, &root_password) != CA_OK)
		die_last();
	if (o.root_cert != NULL) {
		if (pem_load_cert_file(o.root_cert, &root) != CA_OK)
			die_last();
		if (pem_load_key_file(o.root_key, root_password, &rootkey) != CA_OK)
			die_last();
		if (X509_check_private_key(root, rootkey) != 1)
			die(CA_INPUT, "%s does not match %s", o.root_key, o.root_cert);
		if (X509_check_ca(root) == 0 ||
		    !(X509_get_key_usage(root) & KU_KEY_CERT_SIGN))
			die(CA_INPUT, "%s is not a CA certificate that may sign certificates",
			    o.root_cert);
		if (X509_get_pathlen(root) == 0)
			die(CA_INPUT, "%s has path length 0: it cannot have an intermediate",
			    o.root_cert);
		if (x509_time(X509_get0_notAfter(root)) <= now)
			die(CA_INPUT, "%s has expired", o.root_cert);
	}

	catch_signals();
	snprintf(tmpdir, sizeof(tmpdir), inplace ? "%s/.init.XXXXXX" :
	    "%s.init.XXXXXX", home);
	if (mkdtemp(tmpdir) == NULL) {
		tmpdir[0] = '\0';
		die(CA_FAIL, "%s: %s", inplace ? home : parent, strerror(errno));
	}
	atexit(cleanup);
	/* Modes set explicitly: the umask is 077 for everything else. */
	if (chmod(tmpdir, 0700) == -1 ||
	    mkdir(tpath(p, "config"), 0755) == -1 || chmod(p, 0755) == -1 ||
	    mkdir(tpath(p, "certs"), 0755) == -1 || chmod(p, 0755) == -1 ||
	    mkdir(tpath(p, "secrets"), 0700) == -1 ||
	    mkdir(tpath(p, "db"), 0700) == -1)
		die(CA_FAIL, "%s: %s", p, strerror(errno));
	if (password == NULL) {
		password = random_password();
		write_excl("secrets/password", password, 0600);
		/* The file holds the password on its first line. */
	}
	pwfile_conf = o.password_file ? realpath(o.password_file, NULL) :
	    "secrets/password";
	if (pwfile_conf == NULL)
		die(CA_FAIL, "%s: %s", o.password_file, strerror(errno));

	/* Root (unless brought) and intermediate. */
	if (root == NULL) {
		root = make_ca(X509_ROOT, o.name, &spec, NULL, NULL, now, &rootkey);
		write_key("secrets/root_ca_key", rootkey, password, (int)ca_iter);
	} else if (o.kty == NULL && o.curve == NULL && o.size == NULL) {
		/* Match the brought root's key type by default. */
		if (key_spec_of(rootkey, &spec) != CA_OK)
			die_last();
	}
	write_cert("certs/root_ca.crt", root);
	inter = make_ca(X509_INTERMEDIATE, o.name, &spec, root, rootkey, now, &intkey);
	write_cert("certs/intermediate_ca.crt", inter);
	write_key("secrets/intermediate_ca_key", intkey, password, (int)ca_iter);
	if (x509_fingerprint(root, fp) != CA_OK)
		die_last();

	/* The provisioner, the configuration, the database. */
	prov = make_provisioner(o.provisioner,
	    prov_password ? prov_password : password, prov_iter, &kid, &provkey);
	claims = json_pack("{s:s, s:s, s:s, s:b, s:b}",
	    "minTLSCertDuration", "5m",
	    "maxTLSCertDuration", "", "defaultTLSCertDuration", "",
	    "disableRenewal", 0, "allowRenewalAfterExpiry", 0);
	{
		char d[32];

		time_fmt_duration(maxleaf, d, sizeof(d));
		json_object_set_new(claims, "maxTLSCertDuration", json_string(d));
		time_fmt_duration(leaf, d, sizeof(d));
		json_object_set_new(claims, "defaultTLSCertDuration", json_string(d));
	}
	ca = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:{s:s, s:s},"
	    " s:{s:o, s:s, s:s, s:{}, s:[o]}, s:{s:f, s:f}}",
	    "root", "certs/root_ca.crt",
	    "crt", "certs/intermediate_ca.crt",
	    "key", "secrets/intermediate_ca_key",
	    "passwordFile", pwfile_conf,
	    "address", o.address,
	    "dnsNames", dns,
	    "db", "type", o.db ? "postgresql" : "sqlite",
	    "dataSource", o.db ? o.db : "db/ca.db",
	    "authority", "claims", claims, "backdate", "1m",
	    "maxTokenLifetime", "1h", "policy", "provisioners", prov,
	    "tls", "minVersion", 1.2, "maxVersion", 1.3);
	if (ca == NULL)
		die(CA_FAIL, "building ca.json failed");
	if (config_write_json(tpath(p, "config/ca.json"), ca, 0644) != CA_OK)
		die_last();
	{
		const char *h = json_string_value(json_array_get(dns, 0));
		int v6 = strchr(h, ':') != NULL;

		snprintf(url, sizeof(url), "https://%s%s%s:%s", v6 ? "[" : "", h,
		    v6 ? "]" : "", port);
	}
	/* Paths in the home are relative to it, so it can be moved whole. */
	defaults = json_pack("{s:s, s:s, s:s, s:s}", "ca-url", url,
	    "root", "certs/root_ca.crt", "fingerprint", fp,
	    "ca-config", "config/ca.json");
	if (config_write_json(tpath(p, "config/defaults.json"), defaults,
	    0644) != CA_OK)
		die_last();
	/* The summary is for people and scripts where they stand: absolute. */
	{
		char *rootp = io_join(abshome, "certs/root_ca.crt");
		char *cfgp = io_join(abshome, "config/ca.json");
		char *ip = io_join(abshome, "certs/intermediate_ca.crt");
		char *sp = io_join(abshome, "certs/server.crt");
		char *pw = o.password_file ? strdup(pwfile_conf) :
		    io_join(abshome, "secrets/password");

		summary = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
		    "dir", abshome, "fingerprint", fp, "ca-url", url,
		    "root", rootp, "intermediate", ip, "server", sp,
		    "ca-config", cfgp,
		    "provisioner", o.provisioner, "kid", kid,
		    "passwordFile", pw);
		free(rootp);
		free(cfgp);
		free(ip);
		free(sp);
		free(pw);
	}
	/*
	 * A new CA's database starts empty: PostgreSQL's may be one that
	 * another CA uses, which DB_INIT refuses before changing anything.
	 */
	if (db_open(tmpdir, json_object_get(ca, "db"), DB_INIT, &db) != CA_OK)
		die_last();
	db_close(db);
	check_signal();
	server_cert(ca, o.provisioner, kid, provkey, intkey);
	EVP_PKEY_free(provkey);

	/* All made: move the home into place (a caught signal: not any more). */
	check_signal();
	if (!inplace) {
		if (chmod(tmpdir, 0755) == -1 || rename(tmpdir, home) == -1)
			die(CA_FAIL, "%s: %s", home, strerror(errno));
	} else {
		char to[PATH_MAX];

		/* No signal check from here: a home is half-moved only by I/O errors. */
		for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
			if (rename(pathcat(p, tmpdir, parts[i]),
			    pathcat(to, home, parts[i])) == -1)
				die(CA_FAIL, "%s: %s", to, strerror(errno));
		}
		if (rmdir(tmpdir) == -1)
			die(CA_FAIL, "%s: %s", tmpdir, strerror(errno));
	}
	tmpdir[0] = '\0';
	{
		/*
		 * The home exists from here on: a reader that is gone is said
		 * (exit 4, the home named), not a silent death by SIGPIPE.
		 */
		char *s = json_dumps(summary, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		signal(SIGPIPE, SIG_IGN);
		if (s == NULL || io_write_all(1, s, strlen(s)) != CA_OK ||
		    io_write_all(1, "\n", 1) != CA_OK)
			die(CA_FAIL, "%s; the CA home %s is created and complete",
			    s == NULL ? "encoding summary failed" : err_msg(), abshome);
		free(s);
	}
	io_wipe_str(password);
	io_wipe_str(prov_password);
	io_wipe_str(root_password);
	EVP_PKEY_free(rootkey);
	EVP_PKEY_free(intkey);
	X509_free(root);
	X509_free(inter);
	json_decref(ca);
	json_decref(defaults);
	json_decref(summary);
	json_decref(dns);
	free(kid);
	free(home);
	free(abshome);
	return 0;
}
