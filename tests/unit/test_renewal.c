/*
 * Unit tests for lib/renewal (when a certificate is due, the renewal
 * token, --exec), io_write_replace() and client_load_identity(): the
 * parts of ca-renew that need no CA.  Run from the repository root.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "b64.h"
#include "client.h"
#include "err.h"
#include "io.h"
#include "jose.h"
#include "pem.h"
#include "renewal.h"
#include "tap.h"

static EVP_PKEY *
ec_key(void)
{
	return EVP_EC_gen("P-256");
}

/* A certificate for cn (and DNS san, if given), signed by ikey as iname. */
static X509 *
make_cert(const char *cn, const char *san, EVP_PKEY *pub, X509 *issuer,
    EVP_PKEY *ikey, int ca, int64_t nb, int64_t na)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	char buf[300];

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(nb & 0xffffff) + ca);
	ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb);
	ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na);
	if (cn != NULL)
		X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
		    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) :
	    X509_get_subject_name(x));
	X509_set_pubkey(x, pub);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (san != NULL) {
		snprintf(buf, sizeof(buf), "DNS:%s", san);
		e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, buf);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	X509_sign(x, ikey, EVP_sha256());
	return x;
}

static char dir[] = "/tmp/test_renewal.XXXXXX";

static char *
path(const char *name)
{
	static char p[2][512];
	static int i;

	i ^= 1;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void
write_file(const char *p, const char *s)
{
	FILE *f = fopen(p, "w");

	fputs(s, f);
	fclose(f);
}

static char *
read_text(const char *p)
{
	struct buf b;

	if (io_read_file(p, 1 << 20, &b) != CA_OK)
		return NULL;
	return (char *)b.data;
}

/* A segment of a compact JWS, decoded as JSON. */
static json_t *
segment(const char *tok, int n)
{
	const char *s = tok, *e;
	struct buf raw;
	json_t *j;

	while (n-- > 0)
		s = strchr(s, '.') + 1;
	e = strchr(s, '.');
	if (b64url_decode(s, (size_t)(e - s), &raw) != CA_OK)
		return NULL;
	j = json_loadb((const char *)raw.data, raw.len, 0, NULL);
	buf_free(&raw);
	return j;
}

static void
test_audience(void)
{
	char *a;

	ok(renewal_audience("https://ca.example.com:9443", "renew", &a) == CA_OK,
	    "audience: host and port");
	is_str(a, "https://ca.example.com:9443/1.0/renew", "audience: exact");
	free(a);
	ok(renewal_audience("https://ca.example.com/some/path/", "renew", &a) ==
	    CA_OK, "audience: a URL with a path");
	is_str(a, "https://ca.example.com/1.0/renew", "audience: no path, no port");
	free(a);
	ok(renewal_audience("https://127.0.0.1:8443", "rekey", &a) == CA_OK,
	    "audience: an address");
	is_str(a, "https://127.0.0.1:8443/1.0/rekey", "audience: the route");
	free(a);
	is_int(renewal_audience("not a url", "renew", &a), CA_USAGE,
	    "audience: not a URL");
}

static void
test_token(void)
{
	EVP_PKEY *rk = ec_key(), *ik = ec_key(), *lk = ec_key(), *other = ec_key();
	int64_t now = 1800000000;
	X509 *root = make_cert("Root", NULL, rk, NULL, rk, 1, now - 100, now + 9000);
	X509 *inter = make_cert("Int", NULL, ik, root, rk, 1, now - 100, now + 9000);
	X509 *leaf = make_cert("svc.example.com", "svc.example.com", lk, inter, ik,
	    0, now - 100, now + 3000);
	X509 *nocn = make_cert(NULL, "alt.example.com", lk, inter, ik, 0,
	    now - 100, now + 3000);
	STACK_OF(X509) *chain = sk_X509_new_null(), *chain2 = sk_X509_new_null();
	struct jws jws;
	json_t *h, *c, *x5c;
	unsigned char *der = NULL;
	char *tok, *b64;
	int n;

	sk_X509_push(chain, leaf);
	sk_X509_push(chain, inter);
	sk_X509_push(chain, root);
	ok(renewal_token(lk, chain, "https://ca.example.com:9443/", now, &tok) ==
	    CA_OK, "token: minted");
	ok(jws_parse(tok, strlen(tok), &jws) == CA_OK, "token: parses");
	ok(jws_verify(&jws, lk) == CA_OK, "token: signed by the leaf's key");
	ok(jws_verify(&jws, other) != CA_OK, "token: not by another key");
	jws_free(&jws);
	h = segment(tok, 0);
	c = segment(tok, 1);
	is_str(json_string_value(json_object_get(h, "alg")), "ES256", "token: alg");
	is_str(json_string_value(json_object_get(h, "typ")), "JWT", "token: typ");
	x5c = json_object_get(h, "x5c");
	is_int(json_array_size(x5c), 2, "token: x5c is the leaf and the "
	    "intermediate, not the root");
	n = i2d_X509(leaf, &der);
	b64 = malloc(4 * ((size_t)n + 2) / 3 + 4);
	EVP_EncodeBlock((unsigned char *)b64, der, n);
	is_str(json_string_value(json_array_get(x5c, 0)), b64,
	    "token: x5c[0] is the leaf's DER in standard base64");
	OPENSSL_free(der);
	free(b64);
	is_str(json_string_value(json_object_get(c, "iss")), "step-ca-client/1.0",
	    "token: iss");
	is_str(json_string_value(json_object_get(c, "sub")), "svc.example.com",
	    "token: sub is the CN");
	is_str(json_string_value(json_object_get(c, "aud")),
	    "https://ca.example.com:9443/1.0/renew", "token: aud");
	is_int(json_integer_value(json_object_get(c, "iat")), now, "token: iat");
	is_int(json_integer_value(json_object_get(c, "nbf")), now, "token: nbf");
	is_int(json_integer_value(json_object_get(c, "exp")), now + 300,
	    "token: exp is 5 minutes on");
	is_int(strlen(json_string_value(json_object_get(c, "jti"))), 64,
	    "token: a 256-bit jti");
	json_decref(h);
	json_decref(c);
	free(tok);

	/* No CN: the first SAN. */
	sk_X509_push(chain2, nocn);
	ok(renewal_token(lk, chain2, "https://ca.example.com", now, &tok) == CA_OK,
	    "token: a certificate without CN");
	c = segment(tok, 1);
	is_str(json_string_value(json_object_get(c, "sub")), "alt.example.com",
	    "token: sub is the first SAN then");
	json_decref(c);
	free(tok);

	/* The wrong key: refused before anything is signed. */
	is_int(renewal_token(other, chain, "https://ca.example.com", now, &tok),
	    CA_INPUT, "token: a key that is not the leaf's is refused");
	ok(tok == NULL, "token: nothing minted then");

	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(chain2, X509_free);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(other);
}

static void
test_due(void)
{
	EVP_PKEY *k = ec_key();
	int64_t nb = 1800000000, life = 3000, two3 = nb + 2000, at = 0;
	X509 *x = make_cert("due.example.com", NULL, k, NULL, k, 0, nb, nb + life);
	int due = -1;

	ok(renewal_due(x, RENEW_IF_DUE, 0, nb + 10, &due, &at) == CA_OK,
	    "due: computed");
	is_int(due, 0, "due: not at the start of the lifetime");
	ok(at <= two3 && at >= two3 - life / RENEWAL_JITTER_DIV,
	    "due: within [2/3 - lifetime/20, 2/3] (%lld)", (long long)(at - nb));
	renewal_due(x, RENEW_IF_DUE, 0, at - 1, &due, NULL);
	is_int(due, 0, "due: not one second before its moment");
	renewal_due(x, RENEW_IF_DUE, 0, at, &due, NULL);
	is_int(due, 1, "due: at its moment");
	renewal_due(x, RENEW_IF_DUE, 0, two3 - life / RENEWAL_JITTER_DIV - 1, &due,
	    NULL);
	is_int(due, 0, "due: never before 2/3 minus the jitter bound");
	renewal_due(x, RENEW_IF_DUE, 0, two3, &due, NULL);
	is_int(due, 1, "due: always at 2/3");
	renewal_due(x, RENEW_IF_DUE, 0, nb + life + 100, &due, NULL);
	is_int(due, 1, "due: an expired certificate");
	{
		int64_t at2 = 0;

		renewal_due(x, RENEW_IF_DUE, 0, nb, &due, &at2);
		is_int(at2, at, "due: the same certificate, the same moment");
	}
	renewal_due(x, RENEW_EXPIRES_IN, 600, nb + life - 601, &due, &at);
	is_int(due, 0, "expires-in: not with 601 s left of 600");
	is_int(at, nb + life - 600, "expires-in: due at notAfter - D");
	renewal_due(x, RENEW_EXPIRES_IN, 600, nb + life - 600, &due, NULL);
	is_int(due, 1, "expires-in: at 600 s left");
	renewal_due(x, RENEW_ALWAYS, 0, nb, &due, NULL);
	is_int(due, 1, "always: due");
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_exec(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "echo ran > %s", path("exec.out"));
	is_int(renewal_exec(cmd), CA_OK, "exec: a command that succeeds");
	ok(io_exists(path("exec.out")), "exec: it ran");
	is_int(renewal_exec("exit 3"), CA_FAIL, "exec: a failing command");
	is_str(err_msg(), "--exec: exit 3: exited 3", "exec: its status reported");
	is_int(renewal_exec("kill -9 $$"), CA_FAIL, "exec: a killed command");
	is_str(err_msg(), "--exec: kill -9 $$: killed by signal 9",
	    "exec: the signal reported");
}

static void
test_replace(void)
{
	struct stat st;
	char *t;

	/* New file: 0644 whatever the umask. */
	umask(077);
	is_int(io_write_replace(path("new.pem"), "one\n", 4, 0644), CA_OK,
	    "replace: a new file");
	stat(path("new.pem"), &st);
	is_int(st.st_mode & 07777, 0644, "replace: a new file is 0644");
	/* An old file's mode is kept. */
	chmod(path("new.pem"), 0640);
	is_int(io_write_replace(path("new.pem"), "two\n", 4, 0644), CA_OK,
	    "replace: over an old file");
	stat(path("new.pem"), &st);
	is_int(st.st_mode & 07777, 0640, "replace: the old mode is kept");
	t = read_text(path("new.pem"));
	is_str(t, "two\n", "replace: the new bytes");
	free(t);
	/* A link: its target replaced, the link kept. */
	ok(symlink("new.pem", path("link.pem")) == 0, "replace: a link made");
	is_int(io_write_replace(path("link.pem"), "three\n", 6, 0644), CA_OK,
	    "replace: through a symbolic link");
	lstat(path("link.pem"), &st);
	ok(S_ISLNK(st.st_mode), "replace: the link is still a link");
	t = read_text(path("new.pem"));
	is_str(t, "three\n", "replace: its target has the new bytes");
	free(t);
	/* A failure leaves the old file alone. */
	mkdir(path("adir"), 0755);
	is_int(io_write_replace(path("adir"), "x", 1, 0644), CA_FAIL,
	    "replace: a directory is refused");
	ok(rmdir(path("adir")) == 0, "replace: the directory is untouched");
	is_int(io_write_replace(path("nodir/x.pem"), "x", 1, 0644), CA_FAIL,
	    "replace: a missing directory fails");
	/* A new key file gets the mode asked for. */
	is_int(io_write_replace(path("new.key"), "k", 1, 0600), CA_OK,
	    "replace: a new key");
	stat(path("new.key"), &st);
	is_int(st.st_mode & 07777, 0600, "replace: a new key is 0600");
}

static void
test_identity(void)
{
	EVP_PKEY *k = ec_key(), *other = ec_key(), *got = NULL;
	X509 *x = make_cert("id.example.com", NULL, k, NULL, k, 0, 1700000000,
	    1900000000);
	STACK_OF(X509) *chain = NULL;
	char *pem, *kpem;

	pem = pem_cert(x);
	write_file(path("id.crt"), pem);
	free(pem);
	kpem = pem_key(k, NULL, 0);
	write_file(path("id.key"), kpem);
	io_wipe_str(kpem);
	kpem = pem_key(other, NULL, 0);
	write_file(path("other.key"), kpem);
	io_wipe_str(kpem);
	kpem = pem_key(k, "pw", 1000);
	write_file(path("enc.key"), kpem);
	io_wipe_str(kpem);
	/* A group-readable key is accepted (a service's key often is). */
	chmod(path("id.key"), 0640);

	is_int(client_load_identity(path("id.crt"), path("id.key"), &chain, &got),
	    CA_OK, "identity: a certificate and its key");
	ok(chain != NULL && sk_X509_num(chain) == 1 && got != NULL,
	    "identity: loaded");
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(got);
	is_int(client_load_identity(path("id.crt"), path("other.key"), &chain,
	    &got), CA_INPUT, "identity: another key");
	{
		char want[1200];

		snprintf(want, sizeof(want), "%s does not match the certificate in %s",
		    path("other.key"), path("id.crt"));
		is_str(err_msg(), want, "identity: the mismatch named");
	}
	ok(chain == NULL && got == NULL, "identity: nothing kept on failure");
	is_int(client_load_identity(path("id.crt"), path("enc.key"), &chain, &got),
	    CA_INPUT, "identity: an encrypted key is refused");
	ok(strncmp(err_msg(), path("enc.key"), strlen(path("enc.key"))) == 0,
	    "identity: naming the key file (%s)", err_msg());
	is_int(client_load_identity(path("id.crt"), path("nokey"), &chain, &got),
	    CA_INPUT, "identity: a missing key file");
	ok(strstr(err_msg(), path("nokey")) != NULL, "identity: named (%s)",
	    err_msg());
	is_int(client_load_identity(path("nocert"), path("id.key"), &chain, &got),
	    CA_INPUT, "identity: a missing certificate file");
	ok(strstr(err_msg(), path("nocert")) != NULL, "identity: named (%s)",
	    err_msg());
	mkdir(path("kdir"), 0700);
	ok(client_load_identity(path("id.crt"), path("kdir"), &chain, &got) ==
	    CA_FAIL, "identity: an unreadable key file (%s)", err_msg());
	/* What the key file holds is never quoted back. */
	write_file(path("bad.key"), "-----BEGIN PRIVATE KEY-----\n"
	    "c2VjcmV0LXNlY3JldC1zZWNyZXQ=\n-----END PRIVATE KEY-----\n");
	ok(client_load_identity(path("id.crt"), path("bad.key"), &chain, &got) ==
	    CA_INPUT, "identity: a malformed key (%s)", err_msg());
	ok(strstr(err_msg(), "c2VjcmV0") == NULL, "identity: its bytes not quoted");
	write_file(path("garbage.crt"), "not a certificate\n");
	ok(client_load_identity(path("garbage.crt"), path("id.key"), &chain, &got)
	    == CA_INPUT, "identity: not a certificate (%s)", err_msg());
	ok(strstr(err_msg(), path("garbage.crt")) != NULL,
	    "identity: the certificate file named");
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	X509_free(x);
}

int
main(void)
{
	err_prog("test_renewal");
	if (mkdtemp(dir) == NULL)
		return 1;
	test_audience();
	test_token();
	test_due();
	test_exec();
	test_replace();
	test_identity();
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return tap_done();
}
