/*
 * ca-token: mint a one-time token (a JWK provisioner's JWT) that
 * authorises exactly one certificate for SUBJECT and its names, or one
 * revocation of SERIAL.
 *
 * Online (the default whenever a CA URL is known): the provisioner and
 * its encrypted key come from the CA's GET /provisioners, over HTTPS that
 * trusts only the root.  Offline: they come from the CA home's ca.json.  With --key: a bare key (PEM, or a JWK/JWE file) and the
 * issuer, key id and audience given on the command line.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ca_limits.h"
#include "cli.h"
#include "client.h"
#include "confcheck.h"
#include "config.h"
#include "csr.h"
#include "err.h"
#include "io.h"
#include "jose.h"
#include "jsonerr.h"
#include "pem.h"
#include "san.h"
#include "timeutil.h"
#include "token.h"
#include "x509.h"

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;

	fprintf(f,
"usage: ca-token --password-file FILE [--ca-url URL] [--root FILE] [--dir DIR]\n"
"                [--provisioner NAME] [--san NAME]... [--not-before TIME]\n"
"                [--not-after TIME] [--csr FILE] SUBJECT\n"
"       ca-token --offline [--dir DIR] [--provisioner NAME] [--password-file FILE]\n"
"                [--san NAME]... [--not-before TIME] [--not-after TIME]\n"
"                [--csr FILE] SUBJECT\n"
"       ca-token [--offline] [...] --revoke SERIAL\n"
"       ca-token --key FILE --issuer NAME --aud URL [--kid KID]\n"
"                [--password-file FILE] [--fingerprint HEX] [--san NAME]...\n"
"                [--not-before TIME] [--not-after TIME] [--csr FILE] SUBJECT\n"
"  --ca-url URL         the CA, whose /provisioners has the encrypted key\n"
"                       (default $CA_URL, else defaults.json's ca-url);\n"
"                       online is the default whenever a CA URL is known\n"
"  --root FILE          the root certificate to trust for it (default\n"
"                       $CA_ROOT, else defaults.json's root)\n"
"  --offline            read the provisioner from the CA home's ca.json\n"
"  --dir DIR            CA home, or the client home of defaults.json online\n"
"                       (default $CA_DIR, else $HOME/.inca)\n"
"  --provisioner NAME   JWK provisioner (default: offline the first one,\n"
"                       online the only one)\n"
"  --password-file FILE the provisioner key's password (required online;\n"
"                       offline default: the CA's passwordFile from ca.json)\n"
"  --san NAME           a name the certificate may carry; repeatable\n"
"                       (default: SUBJECT alone)\n"
"  --not-before TIME    token valid from (RFC 3339 or duration; default now)\n"
"  --not-after TIME     token valid until (default 5m after --not-before)\n"
"  --csr FILE           bind the token to this request (cnf.x5rt#S256)\n"
"  --revoke SERIAL      a revoke token for SERIAL: decimal digits, or hex as\n"
"                       0xHEX, HH:HH:..., serial=HEX, or with a letter a-f\n"
"  --key FILE           sign with this key (PEM, JWK, or JWE with --password-file)\n"
"  --issuer NAME        with --key: the provisioner name (iss)\n"
"  --kid KID            with --key: key id (default: its RFC 7638 thumbprint)\n"
"  --aud URL            with --key: audience (e.g. https://ca:9000/1.0/sign)\n"
"  --fingerprint HEX    with --key: root fingerprint for the sha claim\n"
"  -h, --help           this text;  --version  the version\n");
	exit(code);
}

enum { O_OFFLINE = 256, O_DIR, O_PROVISIONER, O_PASSWORD_FILE, O_SAN,
	O_NOT_BEFORE, O_NOT_AFTER, O_CSR, O_REVOKE, O_KEY, O_ISSUER, O_KID,
	O_AUD, O_FINGERPRINT, O_VERSION, O_CA_URL, O_ROOT };

static const struct option longopts[] = {
	{ "offline", no_argument, NULL, O_OFFLINE },
	{ "dir", required_argument, NULL, O_DIR },
	{ "provisioner", required_argument, NULL, O_PROVISIONER },
	{ "password-file", required_argument, NULL, O_PASSWORD_FILE },
	{ "san", required_argument, NULL, O_SAN },
	{ "not-before", required_argument, NULL, O_NOT_BEFORE },
	{ "not-after", required_argument, NULL, O_NOT_AFTER },
	{ "csr", required_argument, NULL, O_CSR },
	{ "revoke", required_argument, NULL, O_REVOKE },
	{ "key", required_argument, NULL, O_KEY },
	{ "issuer", required_argument, NULL, O_ISSUER },
	{ "kid", required_argument, NULL, O_KID },
	{ "aud", required_argument, NULL, O_AUD },
	{ "fingerprint", required_argument, NULL, O_FINGERPRINT },
	{ "ca-url", required_argument, NULL, O_CA_URL },
	{ "root", required_argument, NULL, O_ROOT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

struct opts {
	const char *dir, *provisioner, *password_file, *not_before, *not_after;
	const char *csr, *revoke, *key, *issuer, *kid, *aud, *fingerprint;
	const char *subject, *ca_url, *root;
	json_t *sans;           /* normalised names, in the order given */
	int offline;
};

/* A bare key: PEM private key, or a JWK / JWE (encrypted JWK) file. */
static EVP_PKEY *
load_bare_key(const char *path, const char *pwfile)
{
	EVP_PKEY *k = NULL;
	char *pw = NULL;
	struct buf b;
	json_t *j;
	size_t i = 0;

	if (pwfile != NULL && io_read_password(pwfile, &pw) != CA_OK)
		die_last();
	if (io_read_secret(path, CA_MAX_JWT, &b) != CA_OK)
		die_last();
	while (i < b.len && (b.data[i] == ' ' || b.data[i] == '\n' ||
	    b.data[i] == '\r' || b.data[i] == '\t'))
		i++;
	if (pem_is_pem(b.data, b.len)) {
		if (pem_load_key(b.data, b.len, pw, &k) != CA_OK) {
			err_prefix("%s", path);
			die_last();
		}
	} else if (i < b.len && b.data[i] == '{') {
		json_error_t e;
		char why[JSONERR_LEN];

		/* The file holds the private key: its bytes are never quoted. */
		if ((j = json_loadb((const char *)b.data, b.len,
		    JSON_REJECT_DUPLICATES, &e)) == NULL)
			die(CA_INPUT, "%s: malformed JWK: %s", path,
			    jsonerr_text(&e, why, sizeof(why)));
		if (jwk_import(j, JWK_PRIVATE, &k) != CA_OK) {
			err_prefix("%s", path);
			die_last();
		}
		jose_json_wipe(j);
	} else {
		/* A compact JWE holding the JWK, as in ca.json's encryptedKey. */
		json_t *prov;
		/* The file's bytes are not a C string: copied by length. */
		char *tok = malloc(b.len - i + 1);

		if (tok == NULL)
			die(CA_FAIL, "out of memory");
		memcpy(tok, b.data + i, b.len - i);
		tok[b.len - i] = '\0';
		tok[strcspn(tok, " \r\n\t")] = '\0';
		if (pw == NULL)
			die(CA_USAGE, "%s is encrypted: --password-file is needed", path);
		prov = json_pack("{s:s}", "encryptedKey", tok);
		if (token_provisioner_key(prov, pw, &k) != CA_OK) {
			err_prefix("%s", path);
			die_last();
		}
		json_decref(prov);
		free(tok);
	}
	buf_free(&b);
	io_wipe_str(pw);
	return k;
}

/*
 * Refuse a request the CA would refuse with this token (as its check of
 * a request does): a bad self-signature or key, names other than the
 * token's sans, a common name that is neither the subject nor a san.
 */
static void
csr_fits(X509_REQ *req, const char *path, const char *subject,
    const json_t *sans)
{
	struct sans want = { NULL, 0 }, got = { NULL, 0 };
	char cn[CA_MAX_SAN_LEN + 1];
	const json_t *v;
	struct san c;
	size_t i;
	int in;

	if (csr_check(req) != CA_OK || csr_requested_names(req, cn, sizeof(cn),
	    &got) != CA_OK) {
		err_prefix("--csr %s", path);
		die_last();
	}
	json_array_foreach(sans, i, v)
		if (sans_add(&want, json_string_value(v)) != CA_OK)
			die_last();
	if (!sans_equal(&got, &want))
		die(CA_INPUT, "--csr %s: its names differ from the token's (%s): "
		    "the CA would refuse it", path, json_array_size(sans) > 1 ?
		    "the --san names" : "SUBJECT or --san");
	if (cn[0] != '\0' && strcmp(cn, subject) != 0) {
		in = 0;
		if (san_parse(cn, &c) == CA_OK) {
			in = sans_contains(&want, &c);
			free(c.value);
		}
		if (!in)
			die(CA_INPUT, "--csr %s: its common name %s is neither SUBJECT "
			    "(%s) nor a --san: the CA would refuse it", path, cn,
			    subject);
	}
	sans_free(&want);
	sans_free(&got);
}

static char *
csr_binding(const char *path, const char *subject, const json_t *sans)
{
	X509_REQ *req;
	struct buf b;
	char tp[44];

	if (io_read_file(path, CA_MAX_PEM, &b) != CA_OK)
		die_last();
	if (pem_load_csr(b.data, b.len, &req) != CA_OK) {
		err_prefix("%s", path);
		die_last();
	}
	buf_free(&b);
	csr_fits(req, path, subject, sans);
	if (csr_thumbprint(req, tp) != CA_OK)
		die_last();
	X509_REQ_free(req);
	return strdup(tp);
}

/*
 * An audience the CA accepts for path: https://HOST[:PORT]/1.0/<path>
 * or https://HOST[:PORT]/<path>, HOST a DNS name, an IPv4 address or an
 * IPv6 address in brackets.
 */
static int
aud_ok(const char *aud, const char *path)
{
	const char *h = aud, *e, *port;
	char host[CA_MAX_SAN_LEN + 1];
	struct san s;
	size_t n;
	int ok, bracket;

	if (strncmp(h, "https://", 8) != 0)
		return 0;
	h += 8;
	if ((bracket = h[0] == '[')) {
		if ((e = strchr(h, ']')) == NULL)
			return 0;
		n = (size_t)(e - h - 1);
		h++;
		e++;
	} else {
		e = h + strcspn(h, ":/");
		n = (size_t)(e - h);
	}
	if (n == 0 || n >= sizeof(host))
		return 0;
	memcpy(host, h, n);
	host[n] = '\0';
	if (*e == ':') {
		port = ++e;
		e += strspn(e, "0123456789");
		if (e == port || e - port > 5 || atol(port) < 1 || atol(port) > 65535)
			return 0;
	}
	if (strncmp(e, "/1.0/", 5) == 0)
		e += 4;
	if (*e != '/' || strcmp(e + 1, path) != 0)
		return 0;
	if (san_parse(host, &s) != CA_OK) {
		err_clear();
		return 0;
	}
	/* Brackets around an IPv6 address, and around nothing else. */
	ok = (s.type == SAN_DNS && !bracket && strchr(host, '*') == NULL) ||
	    (s.type == SAN_IP && bracket == (strchr(host, ':') != NULL));
	free(s.value);
	return ok;
}

/* What signs the token, and what the token says of where it goes. */
struct signer {
	EVP_PKEY *key;
	char *iss, *kid, *aud;
	char fp[65];            /* the root's fingerprint (sha), or "" */
};

/*
 * The provisioner prov's private key: its encryptedKey decrypted with the
 * password of pwfile.  where names where prov came from: a malformed key
 * there is a configuration failure (CA_FAIL).  Fills s->key, s->iss and
 * s->kid; dies on failure.  Online and offline alike.
 */
static void
prov_key(const json_t *prov, const char *pwfile, const char *where,
    struct signer *s)
{
	const char *kid = json_string_value(json_object_get(json_object_get(prov,
	    "key"), "kid"));
	char *pw;
	int rc;

	s->iss = strdup(json_string_value(json_object_get(prov, "name")));
	s->kid = strdup(kid ? kid : "");
	if (s->iss == NULL || s->kid == NULL)
		die(CA_FAIL, "out of memory");
	if (io_read_password(pwfile, &pw) != CA_OK)
		die_last();
	if ((rc = token_provisioner_key(prov, pw, &s->key)) != CA_OK) {
		if (rc == CA_INPUT) {
			err_prefix("%s: provisioner %s", where, s->iss);
			die(CA_FAIL, "%s", err_msg());
		}
		die_last();
	}
	io_wipe_str(pw);
}

/* Offline: the provisioner of the CA home's ca.json. */
static void
offline_signer(const struct opts *o, const struct token_claims *c,
    struct signer *s)
{
	const json_t *prov;
	json_t *conf;
	X509 *root;
	char *home, *pwfile, *rootp;
	int64_t max;

	if (o->issuer || o->kid || o->aud || o->fingerprint)
		die(CA_USAGE, "--issuer, --kid, --aud and --fingerprint go with --key");
	/* The CA home and its limits, read as the authority reads them. */
	if (config_ca(o->dir, &home, &conf) != CA_OK)
		die_last();
	if (confcheck_ca(conf, 0) != CA_OK)
		die_last();
	/* Refuse now what the CA would refuse later. */
	if (token_max_lifetime(conf, &max) != CA_OK)
		die_last();
	if (c->exp - c->nbf > max)
		die(CA_USAGE, "token lifetime %llds exceeds the CA's maximum %llds "
		    "(maxTokenLifetime)", (long long)(c->exp - c->nbf),
		    (long long)max);
	if ((prov = token_provisioner(conf, o->provisioner, NULL)) == NULL)
		die(o->provisioner ? CA_USAGE : CA_FAIL, "%s", err_msg());
	if (o->password_file != NULL)
		pwfile = strdup(o->password_file);
	else if (json_string_value(json_object_get(conf, "passwordFile")))
		pwfile = config_resolve(home, json_string_value(
		    json_object_get(conf, "passwordFile")));
	else
		die(CA_USAGE, "the provisioner password is needed: --password-file");
	{
		/* The home's secrets directory, where ca-init keeps them. */
		char *sd = io_join(home, "secrets");

		if (sd == NULL || pwfile == NULL)
			die(CA_FAIL, "out of memory");
		if (io_exists(sd) && io_check_secret_dir(sd) != CA_OK)
			die_last();
		free(sd);
	}
	prov_key(prov, pwfile, "ca.json", s);
	free(pwfile);
	if ((s->aud = token_audience(conf, o->revoke ? "revoke" : "sign")) == NULL)
		die_last();
	rootp = config_resolve(home, json_string_value(json_object_get(conf,
	    "root")) ? json_string_value(json_object_get(conf, "root")) :
	    "certs/root_ca.crt");
	if (pem_load_cert_file(rootp, &root) != CA_OK ||
	    x509_fingerprint(root, s->fp) != CA_OK)
		die(CA_FAIL, "%s", err_msg());
	X509_free(root);
	free(rootp);
	json_decref(conf);
	free(home);
}

/*
 * Online: the provisioner from the CA's GET /provisioners, over HTTPS
 * trusting the root alone; the audience is the CA URL's own, the sha
 * claim that root's fingerprint.
 */
static void
online_signer(const struct opts *o, struct signer *s)
{
	const json_t *prov = NULL, *p;
	struct client *cl;
	json_t *list, *wrap;
	X509 *root;
	char *url, *rootp, *tp, where[2200], names[512];
	size_t i, n = 0, len = 0;

	if (o->issuer || o->kid || o->aud || o->fingerprint)
		die(CA_USAGE, "--issuer, --kid, --aud and --fingerprint go with --key");
	if (client_discover(o->dir, o->ca_url, o->root, &url, &rootp) != CA_OK)
		die_last();
	if (o->password_file == NULL)
		die(CA_USAGE, "the provisioner password is needed: --password-file");
	if (client_load_root(rootp, &root) != CA_OK ||
	    client_open(url, root, &cl) != CA_OK)
		die_last();
	if (x509_fingerprint(root, s->fp) != CA_OK)
		die_last();
	if (client_provisioners(cl, &list) != CA_OK)
		die_last();
	snprintf(where, sizeof(where), "%s/provisioners", client_url(cl));
	if ((wrap = json_pack("{s:{s:O}}", "authority", "provisioners", list)) == NULL)
		die(CA_FAIL, "out of memory");
	if (o->provisioner != NULL) {
		if ((prov = token_provisioner(wrap, o->provisioner, NULL)) == NULL)
			die(CA_USAGE, "%s at %s", err_msg(), client_url(cl));
	} else {
		/* No "first one" online: the CA's order is not the user's choice. */
		names[0] = '\0';
		json_array_foreach(list, i, p) {
			const char *t = json_string_value(json_object_get(p, "type"));
			const char *pn = json_string_value(json_object_get(p, "name"));

			if (t == NULL || strcasecmp(t, "JWK") != 0 || pn == NULL)
				continue;
			prov = p;
			if (len < sizeof(names))
				len += (size_t)snprintf(names + len, sizeof(names) - len,
				    "%s%s", n ? ", " : "", pn);
			n++;
		}
		if (n == 0)
			die(CA_FAIL, "%s: no JWK provisioner", where);
		if (n > 1)
			die(CA_USAGE, "%s: %zu JWK provisioners (%s): give --provisioner",
			    where, n, names);
	}
	prov_key(prov, o->password_file, where, s);
	/* The key the CA will check the token with is the one of kid. */
	if ((tp = jwk_thumbprint(s->key)) == NULL)
		die_last();
	if (strcmp(tp, s->kid) != 0)
		die(CA_FAIL, "%s: provisioner %s: its encryptedKey does not hold "
		    "the key of its kid", where, s->iss);
	free(tp);
	if (asprintf(&s->aud, "%s/1.0/%s", client_url(cl),
	    o->revoke ? "revoke" : "sign") == -1)
		die(CA_FAIL, "out of memory");
	json_decref(wrap);
	json_decref(list);
	X509_free(root);
	client_free(cl);
	free(url);
	free(rootp);
}

/* --key: a bare key, and the claims the command line gives. */
static void
bare_signer(const struct opts *o, struct signer *s)
{
	if (o->issuer == NULL || o->aud == NULL)
		die(CA_USAGE, "--key needs --issuer and --aud");
	if (o->dir != NULL || o->provisioner != NULL)
		die(CA_USAGE, "--dir and --provisioner do not go with --key");
	s->key = load_bare_key(o->key, o->password_file);
	s->iss = strdup(o->issuer);
	s->kid = o->kid ? strdup(o->kid) : jwk_thumbprint(s->key);
	if (s->kid == NULL || s->iss == NULL)
		die_last();
	if (!aud_ok(o->aud, o->revoke ? "revoke" : "sign"))
		die(CA_USAGE, "--aud %s: not an audience a CA accepts: "
		    "https://HOST[:PORT]/1.0/%s (or /%s)", o->aud,
		    o->revoke ? "revoke" : "sign", o->revoke ? "revoke" : "sign");
	if ((s->aud = strdup(o->aud)) == NULL)
		die(CA_FAIL, "out of memory");
	if (o->fingerprint != NULL &&
	    !x509_fingerprint_parse(o->fingerprint, s->fp))
		die(CA_USAGE, "--fingerprint: 64 hexadecimal digits (SHA-256)");
}

int
main(int argc, char *argv[])
{
	struct opts o;
	struct token_claims c;
	struct sans names = { NULL, 0 };
	struct signer sg;
	char *cnf = NULL, *serial = NULL, *tok = NULL;
	int64_t now = (int64_t)time(NULL);
	int ch;

	cli_init(argv[0]);
	memset(&o, 0, sizeof(o));
	memset(&sg, 0, sizeof(sg));
	o.sans = json_array();
	while ((ch = cli_getopt(argc, argv, ":h", longopts)) != -1) {
		switch (ch) {
		case O_OFFLINE: o.offline = 1; break;
		case O_DIR: cli_once("--dir", &o.dir, optarg); break;
		case O_PROVISIONER:
			cli_once("--provisioner", &o.provisioner, optarg);
			break;
		case O_PASSWORD_FILE:
			cli_once("--password-file", &o.password_file, optarg);
			break;
		case O_SAN: {
			struct san s;
			char *text;

			if (json_array_size(o.sans) >= CA_MAX_SANS)
				die(CA_USAGE, "at most %d --san names", CA_MAX_SANS);
			if (san_parse(optarg, &s) != CA_OK ||
			    sans_add_san(&names, &s) != CA_OK)
				die(CA_USAGE, "--san: %s", err_msg());
			/* Typed ("uri:mailto:a@b.example") when the bare value is not. */
			if ((text = san_text(&s)) == NULL)
				die(CA_FAIL, "out of memory");
			json_array_append_new(o.sans, json_string(text));
			free(text);
			free(s.value);
			break;
		}
		case O_NOT_BEFORE: cli_once("--not-before", &o.not_before, optarg); break;
		case O_NOT_AFTER: cli_once("--not-after", &o.not_after, optarg); break;
		case O_CSR: cli_once("--csr", &o.csr, optarg); break;
		case O_REVOKE: cli_once("--revoke", &o.revoke, optarg); break;
		case O_KEY: cli_once("--key", &o.key, optarg); break;
		case O_ISSUER: cli_once("--issuer", &o.issuer, optarg); break;
		case O_KID: cli_once("--kid", &o.kid, optarg); break;
		case O_AUD: cli_once("--aud", &o.aud, optarg); break;
		case O_FINGERPRINT:
			cli_once("--fingerprint", &o.fingerprint, optarg);
			break;
		case O_CA_URL: cli_once("--ca-url", &o.ca_url, optarg); break;
		case O_ROOT: cli_once("--root", &o.root, optarg); break;
		case O_VERSION: cli_version(); break;
		case 'h': usage(0); break;
		default: cli_badopt(ch, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (o.revoke != NULL) {
		if (argc != 0)
			die(CA_USAGE, "--revoke takes no SUBJECT");
		if (json_array_size(o.sans) || o.csr)
			die(CA_USAGE, "--san and --csr do not go with --revoke");
		if ((serial = x509_serial_parse(o.revoke)) == NULL)
			die(CA_USAGE, "--revoke %s", err_msg());
		o.subject = serial;
	} else {
		struct san s;

		if (argc != 1)
			die(CA_USAGE, argc ? "unexpected argument: %s" :
			    "a SUBJECT is required%s", argc ? argv[1] : "");
		o.subject = argv[0];
		if (o.subject[0] == '\0' || strlen(o.subject) > CA_MAX_SAN_LEN)
			die(CA_USAGE, "SUBJECT: 1 to %d bytes", CA_MAX_SAN_LEN);
		if (json_array_size(o.sans) == 0) {
			/* SUBJECT alone authorises itself, as a name. */
			if (san_parse_name(o.subject, &s) != CA_OK)
				die(CA_USAGE, "SUBJECT %s (or give --san)", err_msg());
			json_array_append_new(o.sans, json_string(s.value));
			free(s.value);
		} else {
			/* SUBJECT is the certificate's CN: one of the names. */
			const struct san *in;

			if (sans_find_cn(&names, o.subject, &in) != CA_OK)
				die(CA_USAGE, "SUBJECT %s: the certificate's common name must be one of the --san names", o.subject);
		}
	}
	if (o.offline && o.key != NULL)
		die(CA_USAGE, "--offline and --key are exclusive");
	if ((o.offline || o.key != NULL) && (o.ca_url || o.root))
		die(CA_USAGE, "--ca-url and --root are for online minting");

	/* Validity of the token itself. */
	c.nbf = now;
	if (o.not_before && time_parse(o.not_before, now, &c.nbf) != CA_OK)
		die(CA_USAGE, "--not-before: %s", err_msg());
	c.exp = c.nbf + TOKEN_DEFAULT_LIFE;
	if (o.not_after && time_parse(o.not_after, c.nbf, &c.exp) != CA_OK)
		die(CA_USAGE, "--not-after: %s", err_msg());
	if (c.exp <= c.nbf)
		die(CA_USAGE, "--not-after must be after --not-before");
	/* A window already over makes a token no CA accepts. */
	if (c.exp <= now) {
		char when[32];

		time_fmt_duration(now - c.exp, when, sizeof(when));
		die(CA_USAGE, "the token would have expired %s ago: give a "
		    "--not-before or --not-after later than now", when);
	}
	if (o.csr != NULL)
		cnf = csr_binding(o.csr, o.subject, o.sans);

	if (o.offline)
		offline_signer(&o, &c, &sg);
	else if (o.key != NULL)
		bare_signer(&o, &sg);
	else
		online_signer(&o, &sg);
	c.iss = sg.iss;
	c.sub = o.subject;
	c.aud = sg.aud;
	c.sha = sg.fp[0] != '\0' ? sg.fp : NULL;
	c.sans = o.revoke ? NULL : o.sans;
	c.cnf = cnf;
	if (token_mint(sg.key, sg.kid, &c, &tok) != CA_OK)
		die_last();
	cli_print(tok);
	cli_print("\n");
	io_wipe_str(tok);
	EVP_PKEY_free(sg.key);
	json_decref(o.sans);
	sans_free(&names);
	free(sg.iss);
	free(sg.aud);
	free(sg.kid);
	free(cnf);
	free(serial);
	return 0;
}
