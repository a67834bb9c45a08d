#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/param_build.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "err.h"
#include "io.h"
#include "ca_limits.h"
#include "der.h"
#include "key.h"
#include "pem.h"

static const char BEGIN[] = "-----BEGIN ";
static const char END[] = "-----END ";

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
pem_is_pem(const unsigned char *p, size_t len)
{
	size_t i = 0;

	while (i < len && is_space(p[i]))
		i++;
	return len - i >= sizeof(BEGIN) - 1 &&
	    memcmp(p + i, BEGIN, sizeof(BEGIN) - 1) == 0;
}

/*
 * The next element's header at *p (before end): its tag, or -1 when it
 * is not a universal tag with a definite length inside end.  *p moves to
 * the contents, *clen is their length.
 */
static int
der_header(const unsigned char **p, const unsigned char *end, long *clen)
{
	int tag, cls, r;

	r = ASN1_get_object(p, clen, &tag, &cls, end - *p);
	if ((r & 0x80) != 0 || r == 0x21 || cls != V_ASN1_UNIVERSAL)
		return -1;
	return tag;
}

int
pem_is_crl(const unsigned char *p, size_t len)
{
	static const char crl[] = "-----BEGIN X509 CRL-----";
	const unsigned char *q = p, *end = p + len;
	long n;
	int tag;
	size_t i = 0;

	while (i < len && is_space(p[i]))
		i++;
	if (pem_is_pem(p, len))
		return len - i >= sizeof(crl) - 1 &&
		    memcmp(p + i, crl, sizeof(crl) - 1) == 0;
	/*
	 * DER: the headers alone, nothing decoded.  A CertificateList is
	 * SEQUENCE { SEQUENCE { [INTEGER version,] SEQUENCE signature,
	 * SEQUENCE issuer, Time thisUpdate ... } ... } taking up all len
	 * bytes; a certificate has a SEQUENCE (validity) where the CRL has
	 * its Time, a CSR a SEQUENCE (its key) after its two.
	 */
	if (der_header(&q, end, &n) != V_ASN1_SEQUENCE || q + n != end ||
	    der_header(&q, end, &n) != V_ASN1_SEQUENCE)
		goto no;
	end = q + n;
	if ((tag = der_header(&q, end, &n)) == V_ASN1_INTEGER) {
		q += n;
		tag = der_header(&q, end, &n);
	}
	if (tag != V_ASN1_SEQUENCE)
		goto no;
	q += n;
	if (der_header(&q, end, &n) != V_ASN1_SEQUENCE)
		goto no;
	q += n;
	tag = der_header(&q, end, &n);
	ERR_clear_error();
	return tag == V_ASN1_UTCTIME || tag == V_ASN1_GENERALIZEDTIME;
no:
	ERR_clear_error();
	return 0;
}

/* Decode the base64 body (line breaks removed) strictly. */
static int
decode_body(const char *b64, size_t n, unsigned char **der, size_t *dlen)
{
	unsigned char *out;
	size_t pad = 0, i;
	int r;

	if (n == 0 || n % 4 != 0)
		return err_set(CA_INPUT, "PEM: bad base64 length");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b64[i];
		if (c == '=') {
			/* Padding only at the very end, at most two. */
			if (i < n - 2)
				return err_set(CA_INPUT, "PEM: misplaced padding");
			pad++;
		} else if (pad || !(isalnum(c) || c == '+' || c == '/'))
			return err_set(CA_INPUT, "PEM: bad base64");
	}
	if ((out = malloc(n / 4 * 3 + 1)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	r = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
	if (r < 0 || (size_t)r < pad) {
		/* Part of a private key may already be decoded here. */
		OPENSSL_cleanse(out, n / 4 * 3 + 1);
		free(out);
		return err_set(CA_INPUT, "PEM: bad base64");
	}
	*der = out;
	*dlen = (size_t)r - pad;
	return CA_OK;
}

void
pem_blocks_free(struct pem_block *b, size_t n)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (b[i].der != NULL) {
			OPENSSL_cleanse(b[i].der, b[i].len);
			free(b[i].der);
		}
	}
	free(b);
}

/* Read one line [*p, eol) and advance *p past its newline. */
static const char *
next_line(const char **p, const char *end, size_t *llen)
{
	const char *s = *p, *nl;
	size_t n;

	nl = memchr(s, '\n', (size_t)(end - s));
	n = nl ? (size_t)(nl - s) : (size_t)(end - s);
	*p = nl ? nl + 1 : end;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	*llen = n;
	return s;
}

int
pem_decode(const unsigned char *data, size_t len, size_t max,
    struct pem_block **out, size_t *nout)
{
	const char *p = (const char *)data, *end = p + len, *line;
	struct pem_block *blocks = NULL;
	size_t n = 0, llen, blen;
	char *body = NULL;
	int rc = CA_INPUT;

	*out = NULL;
	*nout = 0;
	if (!pem_is_pem(data, len)) {
		if (len == 0)
			return err_set(CA_INPUT, "empty input");
		if ((blocks = calloc(1, sizeof(*blocks))) == NULL ||
		    (blocks[0].der = malloc(len)) == NULL) {
			free(blocks);
			return err_set(CA_FAIL, "out of memory");
		}
		memcpy(blocks[0].der, data, len);
		blocks[0].len = len;
		*out = blocks;
		*nout = 1;
		return CA_OK;
	}
	if ((body = malloc(len + 1)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	if (memchr(data, '\0', len) != NULL) {
		err_set(CA_INPUT, "PEM: NUL byte in input");
		goto out;
	}
	while (p < end) {
		struct pem_block *nb;
		char name[64];
		size_t i;

		line = next_line(&p, end, &llen);
		for (i = 0; i < llen && is_space((unsigned char)line[i]); i++)
			;
		if (i == llen)
			continue;       /* blank line between blocks */
		if (llen < sizeof(BEGIN) - 1 + 5 ||
		    memcmp(line, BEGIN, sizeof(BEGIN) - 1) != 0 ||
		    memcmp(line + llen - 5, "-----", 5) != 0) {
			err_set(CA_INPUT, "PEM: text outside a PEM block");
			goto out;
		}
		i = llen - (sizeof(BEGIN) - 1) - 5;
		if (i == 0 || i >= sizeof(name)) {
			err_set(CA_INPUT, "PEM: bad BEGIN line");
			goto out;
		}
		memcpy(name, line + sizeof(BEGIN) - 1, i);
		name[i] = '\0';
		if (n == max) {
			err_set(CA_INPUT, "PEM: more than %zu blocks", max);
			goto out;
		}
		blen = 0;
		for (;;) {
			if (p >= end) {
				err_set(CA_INPUT, "PEM: missing END line for %s", name);
				goto out;
			}
			line = next_line(&p, end, &llen);
			if (llen >= sizeof(END) - 1 &&
			    memcmp(line, END, sizeof(END) - 1) == 0)
				break;
			if (memchr(line, ':', llen) != NULL) {
				err_set(CA_INPUT, "PEM: headers are not accepted");
				goto out;
			}
			memcpy(body + blen, line, llen);
			blen += llen;
		}
		if (llen != sizeof(END) - 1 + strlen(name) + 5 ||
		    memcmp(line + sizeof(END) - 1, name, strlen(name)) != 0 ||
		    memcmp(line + llen - 5, "-----", 5) != 0) {
			err_set(CA_INPUT, "PEM: END line does not match %s", name);
			goto out;
		}
		if ((nb = realloc(blocks, (n + 1) * sizeof(*blocks))) == NULL) {
			err_set(CA_FAIL, "out of memory");
			goto out;
		}
		blocks = nb;
		memset(&blocks[n], 0, sizeof(blocks[n]));
		memcpy(blocks[n].name, name, sizeof(name));
		if ((rc = decode_body(body, blen, &blocks[n].der,
		    &blocks[n].len)) != CA_OK) {
			n++;
			goto out;
		}
		rc = CA_INPUT;  /* every later exit from the loop is an error */
		n++;
	}
	if (n == 0) {
		err_set(CA_INPUT, "PEM: no block found");
		goto out;
	}
	rc = CA_OK;
	*out = blocks;
	*nout = n;
	blocks = NULL;
out:
	if (body != NULL) {
		OPENSSL_cleanse(body, len);
		free(body);
	}
	if (rc != CA_OK)
		pem_blocks_free(blocks, n);
	return rc == CA_OK ? CA_OK : err_code();
}

X509 *
pem_d2i_cert(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	if (len > CA_MAX_PEM)
		return NULL;
	x = d2i_X509(NULL, &p, (long)len);
	if (x != NULL && p != der + len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

X509_REQ *
pem_d2i_csr(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509_REQ *r;

	if (len > CA_MAX_PEM)
		return NULL;
	r = d2i_X509_REQ(NULL, &p, (long)len);
	if (r != NULL && p != der + len) {
		X509_REQ_free(r);
		return NULL;
	}
	return r;
}

X509_CRL *
pem_d2i_crl(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509_CRL *c;

	if (len > CA_MAX_CRL)
		return NULL;
	c = d2i_X509_CRL(NULL, &p, (long)len);
	if (c != NULL && p != der + len) {
		X509_CRL_free(c);
		return NULL;
	}
	return c;
}

int
pem_load_certs(const unsigned char *data, size_t len, STACK_OF(X509) **out)
{
	struct pem_block *b;
	STACK_OF(X509) *sk;
	size_t n, i;
	int rc;

	*out = NULL;
	if ((rc = pem_decode(data, len, CA_MAX_CHAIN, &b, &n)) != CA_OK) {
		if (strstr(err_msg(), "more than") != NULL)
			err_set(CA_INPUT, "more than %d certificates", CA_MAX_CHAIN);
		return rc;
	}
	if ((sk = sk_X509_new_null()) == NULL) {
		pem_blocks_free(b, n);
		return err_set(CA_FAIL, "out of memory");
	}
	for (i = 0; i < n; i++) {
		X509 *x;

		if (b[i].name[0] != '\0' && strcmp(b[i].name, "CERTIFICATE") != 0) {
			rc = err_set(CA_INPUT, "expected CERTIFICATE, found %s",
			    b[i].name);
			break;
		}
		if ((x = pem_d2i_cert(b[i].der, b[i].len)) == NULL) {
			rc = err_ssl(CA_INPUT, "malformed certificate");
			break;
		}
		if ((rc = der_check_cert(x, b[i].der, b[i].len)) != CA_OK) {
			X509_free(x);
			err_prefix("certificate");
			break;
		}
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			rc = err_set(CA_FAIL, "out of memory");
			break;
		}
	}
	pem_blocks_free(b, n);
	if (rc != CA_OK) {
		sk_X509_pop_free(sk, X509_free);
		return rc;
	}
	*out = sk;
	return CA_OK;
}

int
pem_load_certs_file(const char *path, STACK_OF(X509) **out)
{
	struct buf b;
	int rc;

	*out = NULL;
	if ((rc = io_read_file(path, CA_MAX_PEM, &b)) != CA_OK)
		return rc;
	rc = pem_load_certs(b.data, b.len, out);
	buf_free(&b);
	if (rc != CA_OK)
		err_prefix("%s", path);
	return rc;
}

int
pem_load_cert_file(const char *path, X509 **out)
{
	STACK_OF(X509) *sk;
	int rc;

	*out = NULL;
	if ((rc = pem_load_certs_file(path, &sk)) != CA_OK)
		return rc;
	if (sk_X509_num(sk) != 1) {
		sk_X509_pop_free(sk, X509_free);
		return err_set(CA_INPUT, "%s: expected one certificate", path);
	}
	*out = sk_X509_shift(sk);
	sk_X509_free(sk);
	return CA_OK;
}

int
pem_load_csr(const unsigned char *data, size_t len, X509_REQ **out)
{
	struct pem_block *b;
	X509_REQ *req;
	size_t n;
	int rc;

	*out = NULL;
	if ((rc = pem_decode(data, len, 1, &b, &n)) != CA_OK) {
		if (strstr(err_msg(), "more than") != NULL)
			err_set(CA_INPUT, "expected one certificate request");
		return rc;
	}
	if (b[0].name[0] != '\0' &&
	    strcmp(b[0].name, "CERTIFICATE REQUEST") != 0 &&
	    strcmp(b[0].name, "NEW CERTIFICATE REQUEST") != 0) {
		rc = err_set(CA_INPUT, "expected CERTIFICATE REQUEST, found %s",
		    b[0].name);
		pem_blocks_free(b, n);
		return rc;
	}
	if ((req = pem_d2i_csr(b[0].der, b[0].len)) == NULL) {
		pem_blocks_free(b, n);
		return err_ssl(CA_INPUT, "malformed certificate request");
	}
	rc = der_check_csr(req, b[0].der, b[0].len);
	pem_blocks_free(b, n);
	if (rc != CA_OK) {
		X509_REQ_free(req);
		err_prefix("csr");
		return rc;
	}
	*out = req;
	return CA_OK;
}

/* Read one DER element of the expected tag at *p; advance past it. */
static int
der_next(const unsigned char **p, long *left, int want_tag, int want_class,
    const unsigned char **val, long *vlen)
{
	const unsigned char *q = *p;
	int tag, cls, r;

	r = ASN1_get_object(&q, vlen, &tag, &cls, *left);
	if ((r & 0x80) || tag != want_tag || cls != want_class ||
	    *vlen > *left - (q - *p))
		return 0;
	*val = q;
	*left -= (q - *p) + *vlen;
	*p = q + *vlen;
	return 1;
}

/*
 * EC and Ed25519 keys straight from PKCS#8 into the provider with
 * EVP_PKEY_fromdata.  OpenSSL 3.0's generic route (the decoder framework)
 * enumerates every decoder of every provider on each call: several times
 * the cost of the import itself, paid by every issuing process.  Returns
 * NULL (no message) when the key is not one of these shapes; the caller
 * then takes the generic route.  A mismatched key pair cannot slip
 * through: every issued certificate is verified with the issuer's public
 * key before it is released (x509_issue).
 */
static EVP_PKEY *
fast_pkcs8(const PKCS8_PRIV_KEY_INFO *p8)
{
	const ASN1_OBJECT *oid;
	const X509_ALGOR *alg;
	const unsigned char *der, *p, *priv = NULL, *pub = NULL, *v;
	const void *pval;
	int dlen, ptype, nid, curve;
	long left, vlen, privlen = 0, publen = 0;
	const char *group;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *d = NULL;

	if (!PKCS8_pkey_get0(&oid, &der, &dlen, &alg, p8))
		return NULL;
	nid = OBJ_obj2nid(oid);
	p = der;
	left = dlen;
	if (nid == NID_ED25519) {
		if (!der_next(&p, &left, V_ASN1_OCTET_STRING, V_ASN1_UNIVERSAL, &v, &vlen) ||
		    vlen != 32 || left != 0)
			return NULL;
		return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, v, 32);
	}
	if (nid != NID_X9_62_id_ecPublicKey)
		return NULL;
	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	if (ptype != V_ASN1_OBJECT)
		return NULL;
	curve = OBJ_obj2nid(pval);
	group = curve == NID_X9_62_prime256v1 ? "P-256" :
	    curve == NID_secp384r1 ? "P-384" : curve == NID_secp521r1 ? "P-521" : NULL;
	if (group == NULL)
		return NULL;
	/* ECPrivateKey ::= SEQUENCE { 1, OCTET STRING, [0] params OPT, [1] BIT STRING OPT } */
	if (!der_next(&p, &left, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, &v, &vlen) || left != 0)
		return NULL;
	p = v;
	left = vlen;
	if (!der_next(&p, &left, V_ASN1_INTEGER, V_ASN1_UNIVERSAL, &v, &vlen) ||
	    vlen != 1 || v[0] != 1 ||
	    !der_next(&p, &left, V_ASN1_OCTET_STRING, V_ASN1_UNIVERSAL, &priv, &privlen))
		return NULL;
	if (left > 0 && (*p & 0x1f) == 0 && (*p & 0xc0) == 0x80 &&
	    !der_next(&p, &left, 0, V_ASN1_CONTEXT_SPECIFIC, &v, &vlen))
		return NULL;
	if (left > 0) {
		const unsigned char *bs;
		long bslen;

		if (!der_next(&p, &left, 1, V_ASN1_CONTEXT_SPECIFIC, &v, &vlen))
			return NULL;
		bs = v;
		if (!der_next(&bs, &vlen, V_ASN1_BIT_STRING, V_ASN1_UNIVERSAL, &v, &bslen) ||
		    bslen < 2 || v[0] != 0)
			return NULL;
		pub = v + 1;
		publen = bslen - 1;
	}
	if (left != 0 || pub == NULL)
		return NULL;
	if ((d = BN_secure_new()) == NULL || BN_bin2bn(priv, (int)privlen, d) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    (size_t)publen) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) <= 0) {
		EVP_PKEY_free(pk);
		pk = NULL;
		ERR_clear_error();
	}

	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);       /* the builder's copy of d is wiped */
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	return pk;
}

/*
 * A key file names its own PBKDF2 iteration count: bound it before
 * deriving, so that a crafted file cannot pin a CPU for hours.  Only
 * PBES2 with PBKDF2 is accepted (what ca-init and openssl pkcs8 -v2 write).
 */
static int
check_pbes2(const X509_SIG *sig)
{
	const X509_ALGOR *alg;
	const ASN1_OBJECT *oid;
	const void *pval;
	PBE2PARAM *pbe2 = NULL;
	PBKDF2PARAM *kdf = NULL;
	long iter = -1;
	int ptype, rc;

	X509_SIG_get0(sig, &alg, NULL);
	X509_ALGOR_get0(&oid, &ptype, &pval, alg);
	if (OBJ_obj2nid(oid) != NID_pbes2 || ptype != V_ASN1_SEQUENCE)
		return err_set(CA_INPUT, "encrypted key: only PBES2 is accepted");
	pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM),
	    &(ASN1_TYPE){ .type = V_ASN1_SEQUENCE, .value.sequence = (ASN1_STRING *)pval });
	if (pbe2 == NULL || OBJ_obj2nid(pbe2->keyfunc->algorithm) != NID_id_pbkdf2 ||
	    (kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
	    pbe2->keyfunc->parameter)) == NULL)
		rc = err_set(CA_INPUT, "encrypted key: only PBES2 with PBKDF2 is accepted");
	else if ((iter = ASN1_INTEGER_get(kdf->iter)) < 1 || iter > CA_MAX_KEY_ITER)
		rc = err_set(CA_INPUT, "encrypted key: %ld PBKDF2 iterations (1..%d accepted)",
		    iter, CA_MAX_KEY_ITER);
	else
		rc = CA_OK;
	PBKDF2PARAM_free(kdf);
	PBE2PARAM_free(pbe2);
	ERR_clear_error();
	return rc;
}

static EVP_PKEY *
p8_to_pkey(const PKCS8_PRIV_KEY_INFO *p8)
{
	EVP_PKEY *pk = fast_pkcs8(p8);
	EVP_PKEY_CTX *cc;

	if (pk == NULL)
		pk = EVP_PKCS82PKEY(p8);
	if (pk != NULL && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
		/* 1 <= d < n: a cheap range check (not the pairwise one). */
		cc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
		if (cc == NULL || EVP_PKEY_private_check(cc) != 1) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
		EVP_PKEY_CTX_free(cc);
	}
	return pk;
}

int
pem_load_key(const unsigned char *data, size_t len, const char *password,
    EVP_PKEY **out)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	struct pem_block *b;
	const unsigned char *p;
	EVP_PKEY *pk = NULL;
	size_t n;
	int rc;

	*out = NULL;
	if ((rc = pem_decode(data, len, 1, &b, &n)) != CA_OK)
		return rc;
	p = b[0].der;
	if (strcmp(b[0].name, "ENCRYPTED PRIVATE KEY") == 0) {
		X509_SIG *sig;

		if (password == NULL) {
			pem_blocks_free(b, n);
			return err_set(CA_USAGE, "key is encrypted: a password file is needed");
		}
		sig = d2i_X509_SIG(NULL, &p, (long)b[0].len);
		if (sig == NULL || p != b[0].der + b[0].len) {
			X509_SIG_free(sig);
			pem_blocks_free(b, n);
			return err_ssl(CA_INPUT, "malformed encrypted key");
		}
		if ((rc = check_pbes2(sig)) != CA_OK) {
			X509_SIG_free(sig);
			pem_blocks_free(b, n);
			return rc;
		}
		p8 = PKCS8_decrypt(sig, password, (int)strlen(password));
		X509_SIG_free(sig);
		if (p8 == NULL) {
			pem_blocks_free(b, n);
			ERR_clear_error();
			return err_set(CA_REFUSED, "cannot decrypt key: wrong password");
		}
		pk = p8_to_pkey(p8);
	} else if (strcmp(b[0].name, "PRIVATE KEY") == 0) {
		p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)b[0].len);
		if (p8 != NULL && p == b[0].der + b[0].len)
			pk = p8_to_pkey(p8);
	} else if (strcmp(b[0].name, "EC PRIVATE KEY") == 0) {
		pk = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, (long)b[0].len);
		if (pk != NULL && p != b[0].der + b[0].len) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
	} else {
		rc = err_set(CA_INPUT, "expected a private key, found %s",
		    b[0].name[0] ? b[0].name : "DER");
		pem_blocks_free(b, n);
		return rc;
	}
	PKCS8_PRIV_KEY_INFO_free(p8);   /* wipes the key material */
	pem_blocks_free(b, n);
	if (pk == NULL)
		return err_ssl(CA_INPUT, "malformed private key");
	/* A CA or provisioner key passes the rule a certified key does. */
	if ((rc = key_check(pk)) != CA_OK) {
		EVP_PKEY_free(pk);
		return rc;
	}
	*out = pk;
	return CA_OK;
}

int
pem_load_key_file(const char *path, const char *password, EVP_PKEY **out)
{
	struct buf b;
	int rc;

	if ((rc = io_read_secret(path, CA_MAX_PEM, &b)) != CA_OK)
		return rc;
	rc = pem_load_key(b.data, b.len, password, out);
	buf_free(&b);
	if (rc != CA_OK)
		err_prefix("%s", path);
	return rc;
}

char *
pem_encode(const char *name, const unsigned char *der, size_t len)
{
	size_t b64len = 4 * ((len + 2) / 3), lines = b64len / 64 + 1;
	size_t cap = b64len + lines + 2 * strlen(name) + 64, i, o;
	char *b64, *out;

	if ((b64 = malloc(b64len + 1)) == NULL)
		return NULL;
	if ((out = malloc(cap)) == NULL) {
		free(b64);
		return NULL;
	}
	EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
	o = (size_t)snprintf(out, cap, "-----BEGIN %s-----\n", name);
	for (i = 0; i < b64len; i += 64) {
		size_t k = b64len - i < 64 ? b64len - i : 64;
		memcpy(out + o, b64 + i, k);
		o += k;
		out[o++] = '\n';
	}
	snprintf(out + o, cap - o, "-----END %s-----\n", name);
	OPENSSL_cleanse(b64, b64len);
	free(b64);
	return out;
}

char *
pem_cert(X509 *x)
{
	unsigned char *der = NULL;
	char *s;
	int n;

	if ((n = i2d_X509(x, &der)) <= 0)
		return NULL;
	s = pem_encode("CERTIFICATE", der, (size_t)n);
	OPENSSL_free(der);
	return s;
}

char *
pem_key(EVP_PKEY *key, const char *password, int iter)
{
	PKCS8_PRIV_KEY_INFO *p8;
	X509_SIG *sig = NULL;
	unsigned char *der = NULL;
	char *s = NULL;
	int n;

	if ((p8 = EVP_PKEY2PKCS8(key)) == NULL)
		return NULL;
	if (password == NULL) {
		n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
		if (n > 0)
			s = pem_encode("PRIVATE KEY", der, (size_t)n);
	} else {
		X509_ALGOR *alg;

		alg = PKCS5_pbe2_set_iv(EVP_aes_256_cbc(), iter, NULL, 0, NULL,
		    NID_hmacWithSHA256);
		if (alg != NULL)
			sig = PKCS8_set0_pbe(password, (int)strlen(password), p8, alg);
		if (sig == NULL)
			X509_ALGOR_free(alg);
		n = sig ? i2d_X509_SIG(sig, &der) : -1;
		if (n > 0)
			s = pem_encode("ENCRYPTED PRIVATE KEY", der, (size_t)n);
	}
	if (der != NULL) {
		OPENSSL_cleanse(der, (size_t)(n > 0 ? n : 0));
		OPENSSL_free(der);
	}
	X509_SIG_free(sig);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return s;
}
