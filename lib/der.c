#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "der.h"
#include "err.h"

/* What a message names: the start of the bytes checked, and what they are. */
struct walk {
	const unsigned char *base;
	const char *what;       /* "" or "extension 2.5.29.17: " */
};

struct tlv {
	int cls;                /* 0 universal, 1 application, 2 context, 3 private */
	int cons;               /* constructed */
	unsigned long tag;
	size_t hdr;             /* identifier and length octets */
	size_t len;             /* content octets */
};

static int
bad(const struct walk *w, const unsigned char *at, const char *why)
{
	return err_set(CA_INPUT, "not DER (%s%s at byte %zu)", w->what, why,
	    (size_t)(at - w->base));
}

/* Identifier and length octets of the element at p (left bytes remain). */
static int
header(const struct walk *w, const unsigned char *p, size_t left, struct tlv *t)
{
	size_t i = 1, n, k;

	if (left < 2)
		return bad(w, p, "truncated element");
	t->cls = p[0] >> 6;
	t->cons = (p[0] & 0x20) != 0;
	t->tag = p[0] & 0x1f;
	if (t->tag == 0x1f) {
		/* High tag numbers: base 128, no leading zero digit, >= 31. */
		if (p[1] == 0x80)
			return bad(w, p, "non-minimal tag");
		t->tag = 0;
		do {
			if (i >= left)
				return bad(w, p, "truncated element");
			if (i > 4)
				return bad(w, p, "tag number too large");
			t->tag = t->tag << 7 | (p[i] & 0x7f);
		} while (p[i++] & 0x80);
		if (t->tag < 31)
			return bad(w, p, "non-minimal tag");
	}
	if (i >= left)
		return bad(w, p, "truncated element");
	if (p[i] < 0x80)
		t->len = p[i++];
	else if (p[i] == 0x80)
		return bad(w, p, "indefinite length");
	else {
		n = p[i++] & 0x7f;
		if (n > 4)
			return bad(w, p, "length too large");
		if (left - i < n)
			return bad(w, p, "truncated element");
		if (p[i] == 0)
			return bad(w, p, "non-minimal length");
		for (t->len = 0, k = 0; k < n; k++)
			t->len = t->len << 8 | p[i + k];
		i += n;
		if (t->len < 0x80)
			return bad(w, p, "non-minimal length");
	}
	if (t->len > left - i)
		return bad(w, p, "length beyond the end");
	t->hdr = i;
	return CA_OK;
}

static int
digits(const unsigned char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return 0;
	return 1;
}

/* The content rules of X.690 10 and 11 for universal primitive types. */
static int
primitive(const struct walk *w, const unsigned char *p, unsigned long tag,
    const unsigned char *v, size_t n)
{
	size_t i;

	switch (tag) {
	case 0:
		return bad(w, p, "end-of-contents octets");
	case 1:         /* BOOLEAN */
		if (n != 1 || (v[0] != 0x00 && v[0] != 0xff))
			return bad(w, p, "BOOLEAN not 00 or FF");
		break;
	case 2:         /* INTEGER */
	case 10:        /* ENUMERATED */
		if (n == 0)
			return bad(w, p, "empty INTEGER");
		if (n > 1 && ((v[0] == 0x00 && !(v[1] & 0x80)) ||
		    (v[0] == 0xff && (v[1] & 0x80))))
			return bad(w, p, "non-minimal INTEGER");
		break;
	case 3:         /* BIT STRING */
		if (n == 0 || v[0] > 7 || (n == 1 && v[0] != 0))
			return bad(w, p, "bad BIT STRING");
		if (n > 1 && (v[n - 1] & ((1u << v[0]) - 1)) != 0)
			return bad(w, p, "BIT STRING unused bits not zero");
		break;
	case 5:         /* NULL */
		if (n != 0)
			return bad(w, p, "NULL with content");
		break;
	case 6:         /* OBJECT IDENTIFIER */
	case 13:        /* RELATIVE-OID */
		if (n == 0 || (v[n - 1] & 0x80))
			return bad(w, p, "truncated OBJECT IDENTIFIER");
		for (i = 0; i < n; i++)
			if (v[i] == 0x80 && (i == 0 || !(v[i - 1] & 0x80)))
				return bad(w, p, "non-minimal OBJECT IDENTIFIER");
		break;
	case 23:        /* UTCTime: YYMMDDHHMMSSZ */
		if (n != 13 || !digits(v, 12) || v[12] != 'Z')
			return bad(w, p, "UTCTime not YYMMDDHHMMSSZ");
		break;
	case 24:        /* GeneralizedTime: YYYYMMDDHHMMSS[.f]Z */
		if (n < 15 || !digits(v, 14) || v[n - 1] != 'Z')
			return bad(w, p, "GeneralizedTime not YYYYMMDDHHMMSSZ");
		if (n > 15 && (v[14] != '.' || n < 17 || !digits(v + 15, n - 16) ||
		    v[n - 2] == '0'))
			return bad(w, p, "GeneralizedTime fraction not minimal");
		break;
	default:
		break;
	}
	return CA_OK;
}

/*
 * X.690 11.6: SET OF elements in ascending order of their encodings, the
 * shorter one compared as if padded with zero octets.
 */
static int
set_order(const unsigned char *a, size_t alen, const unsigned char *b,
    size_t blen)
{
	size_t n = alen < blen ? alen : blen, i;
	int c = memcmp(a, b, n);

	if (c != 0)
		return c;
	for (i = n; i < alen; i++)
		if (a[i] != 0)
			return 1;
	for (i = n; i < blen; i++)
		if (b[i] != 0)
			return -1;
	return 0;
}

/* The elements filling [p, p + len) exactly; set: they are a SET's. */
static int
walk(const struct walk *w, const unsigned char *p, size_t len, int depth,
    int set)
{
	const unsigned char *prev = NULL, *v;
	size_t prevlen = 0, total;
	struct tlv t;
	int rc;

	while (len > 0) {
		if ((rc = header(w, p, len, &t)) != CA_OK)
			return rc;
		v = p + t.hdr;
		total = t.hdr + t.len;
		if (t.cls == 0) {
			/* Only these universal types have a constructed form in DER. */
			int may_cons = t.tag == 8 || t.tag == 11 || t.tag == 16 ||
			    t.tag == 17 || t.tag == 29;

			if ((t.tag == 16 || t.tag == 17) && !t.cons)
				return bad(w, p, "primitive SEQUENCE or SET");
			if (t.cons && !may_cons)
				return bad(w, p, "constructed string or scalar");
		}
		if (t.cons) {
			if (depth >= DER_MAX_DEPTH)
				return bad(w, p, "nested too deep");
			rc = walk(w, v, t.len, depth + 1, t.cls == 0 && t.tag == 17);
		} else if (t.cls == 0)
			rc = primitive(w, p, t.tag, v, t.len);
		if (rc != CA_OK)
			return rc;
		if (set && prev != NULL && set_order(prev, prevlen, p, total) > 0)
			return bad(w, p, "SET elements out of order");
		prev = p;
		prevlen = total;
		p += total;
		len -= total;
	}
	return CA_OK;
}

/* Exactly one element in [der, der + len). */
static int
one(const struct walk *w, const unsigned char *der, size_t len)
{
	struct tlv t;
	int rc;

	if ((rc = header(w, der, len, &t)) != CA_OK)
		return rc;
	if (t.hdr + t.len != len)
		return bad(w, der + t.hdr + t.len, "trailing bytes");
	return walk(w, der, len, 0, 0);
}

int
der_strict(const unsigned char *der, size_t len)
{
	struct walk w = { der, "" };

	if (len == 0)
		return err_set(CA_INPUT, "not DER (empty)");
	return one(&w, der, len);
}

/*
 * What the lenient decoders keep as read and re-encode the same: an
 * extension's critical flag written out as FALSE (its DEFAULT), and inside
 * the value of a known extension, any DEFAULT written out (basicConstraints
 * cA FALSE).  A value OpenSSL cannot decode is left to the caller.
 */
static int
check_defaults(const struct walk *w, X509_EXTENSION *e)
{
	const X509V3_EXT_METHOD *m;
	const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);
	unsigned char *enc = NULL;
	const unsigned char *q;
	void *dec;
	struct tlv t;
	int n, eq = 1;

	if ((n = i2d_X509_EXTENSION(e, &enc)) <= 0) {
		ERR_clear_error();
		return err_set(CA_INPUT, "not DER (%sdoes not encode)", w->what);
	}
	/* SEQUENCE { OID, BOOLEAN OPTIONAL, OCTET STRING }: read as encoded. */
	q = enc;
	if (header(w, q, (size_t)n, &t) == CA_OK) {
		q += t.hdr;
		if (header(w, q, (size_t)(enc + n - q), &t) == CA_OK) {
			q += t.hdr + t.len;
			if (enc + n - q >= 3 && q[0] == 0x01 && q[1] == 0x01 &&
			    q[2] == 0x00)
				eq = 0;
		}
	}
	OPENSSL_free(enc);
	err_clear();
	if (!eq)
		return err_set(CA_INPUT, "not DER (%scritical FALSE written out)",
		    w->what);
	if ((m = X509V3_EXT_get(e)) == NULL || m->it == NULL)
		return CA_OK;
	if ((dec = X509V3_EXT_d2i(e)) == NULL) {
		ERR_clear_error();
		return CA_OK;
	}
	enc = NULL;
	n = ASN1_item_i2d(dec, &enc, ASN1_ITEM_ptr(m->it));
	eq = n == ASN1_STRING_length(v) &&
	    memcmp(enc, ASN1_STRING_get0_data(v), (size_t)n) == 0;
	OPENSSL_free(enc);
	ASN1_item_free(dec, ASN1_ITEM_ptr(m->it));
	ERR_clear_error();
	if (!eq)
		return err_set(CA_INPUT, "not DER (%sencodes differently: a "
		    "default value written out)", w->what);
	return CA_OK;
}

/* Each extension's value is the DER of one element (RFC 5280 4.1). */
static int
check_extensions(const STACK_OF(X509_EXTENSION) *exts)
{
	const ASN1_OCTET_STRING *v;
	struct walk w;
	char what[96], oid[64];
	int i, rc;

	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		const X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);

		v = X509_EXTENSION_get_data((X509_EXTENSION *)e);
		if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(
		    (X509_EXTENSION *)e), 1) <= 0)
			snprintf(oid, sizeof(oid), "%d", i + 1);
		snprintf(what, sizeof(what), "extension %s: ", oid);
		w.base = ASN1_STRING_get0_data(v);
		w.what = what;
		if ((size_t)ASN1_STRING_length(v) == 0)
			return bad(&w, w.base, "empty value");
		if ((rc = one(&w, w.base, (size_t)ASN1_STRING_length(v))) != CA_OK ||
		    (rc = check_defaults(&w, (X509_EXTENSION *)e)) != CA_OK)
			return rc;
	}
	return CA_OK;
}

/* The RSAPublicKey inside an RSA SubjectPublicKeyInfo's BIT STRING. */
static int
check_pubkey(const X509_PUBKEY *pub)
{
	ASN1_OBJECT *alg = NULL;
	const unsigned char *pk = NULL;
	struct walk w;
	int n = 0;

	if (pub == NULL || !X509_PUBKEY_get0_param(&alg, &pk, &n, NULL, pub))
		return CA_OK;   /* the decoder has already refused it */
	if (OBJ_obj2nid(alg) != NID_rsaEncryption || n <= 0)
		return CA_OK;
	w.base = pk;
	w.what = "RSA public key: ";
	return one(&w, pk, (size_t)n);
}

/*
 * A copy is made by encoding and decoding again: failing that (short of
 * memory, or an object OpenSSL decodes but cannot encode), it is not DER.
 */
static int
not_again(void)
{
	ERR_clear_error();
	return err_set(CA_INPUT, "not DER (does not encode again)");
}

/* enc/n (OpenSSL's, freed here) must be the input again. */
static int
same(unsigned char *enc, int n, const unsigned char *der, size_t len)
{
	int eq;

	if (n <= 0)
		return not_again();
	eq = (size_t)n == len && memcmp(enc, der, len) == 0;
	OPENSSL_free(enc);
	if (!eq)
		return err_set(CA_INPUT, "not DER (encodes differently: a "
		    "default value written out, or a SET OF out of order)");
	return CA_OK;
}

/*
 * The re-encodings below work on a copy: re-encoding the signed part
 * (i2d_re_*_tbs) drops OpenSSL's cache of the bytes as read, which a
 * caller checking the signature must keep.
 */
int
der_check_cert(const X509 *x, const unsigned char *der, size_t len)
{
	unsigned char *enc = NULL;
	X509 *d;
	int rc, n;

	if ((rc = der_strict(der, len)) != CA_OK)
		return rc;
	if ((rc = check_extensions(X509_get0_extensions(x))) != CA_OK ||
	    (rc = check_pubkey(X509_get_X509_PUBKEY(x))) != CA_OK)
		return rc;
	if ((d = X509_dup(x)) == NULL)
		return not_again();
	n = i2d_re_X509_tbs(d, NULL) > 0 ? i2d_X509(d, &enc) : -1;
	X509_free(d);
	return same(enc, n, der, len);
}

/*
 * The extensions a request asks for are an attribute value, which OpenSSL
 * keeps as raw bytes (ANY): the re-encoding of the whole request would
 * give them back as read.  They must encode again the same by themselves.
 */
static int
check_ext_req(X509_REQ *req)
{
	const X509_ATTRIBUTE *attr;
	const ASN1_TYPE *t;
	const unsigned char *raw, *p;
	STACK_OF(X509_EXTENSION) *exts;
	unsigned char *enc = NULL;
	int i, k, n, rawlen, rc = CA_OK;

	for (i = 0; rc == CA_OK && i < X509_REQ_get_attr_count(req); i++) {
		attr = X509_REQ_get_attr(req, i);
		n = OBJ_obj2nid(X509_ATTRIBUTE_get0_object((X509_ATTRIBUTE *)attr));
		if (n != NID_ext_req && n != NID_ms_ext_req)
			continue;
		for (k = 0; rc == CA_OK &&
		    k < X509_ATTRIBUTE_count(attr); k++) {
			t = X509_ATTRIBUTE_get0_type((X509_ATTRIBUTE *)attr, k);
			if (t == NULL || t->type != V_ASN1_SEQUENCE)
				continue;       /* X509_REQ_get_extensions() refuses it */
			raw = p = ASN1_STRING_get0_data(t->value.sequence);
			rawlen = ASN1_STRING_length(t->value.sequence);
			exts = d2i_X509_EXTENSIONS(NULL, &p, rawlen);
			if (exts == NULL || p != raw + rawlen)
				rc = err_set(CA_INPUT, "not DER (extension request "
				    "does not decode)");
			else if ((n = i2d_X509_EXTENSIONS(exts, &enc)) != rawlen ||
			    memcmp(enc, raw, (size_t)rawlen) != 0)
				rc = err_set(CA_INPUT, "not DER (extension request "
				    "encodes differently: a default value written out)");
			OPENSSL_free(enc);
			enc = NULL;
			sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
			ERR_clear_error();
		}
	}
	return rc;
}

int
der_check_csr(X509_REQ *req, const unsigned char *der, size_t len)
{
	STACK_OF(X509_EXTENSION) *exts;
	unsigned char *enc = NULL;
	int rc, n;

	if ((rc = der_strict(der, len)) != CA_OK)
		return rc;
	/* NULL both for none and for an extensionRequest that does not decode. */
	exts = X509_REQ_get_extensions(req);
	ERR_clear_error();
	rc = check_extensions(exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (rc == CA_OK)
		rc = check_ext_req(req);
	if (rc == CA_OK)
		rc = check_pubkey(X509_REQ_get_X509_PUBKEY(req));
	if (rc != CA_OK)
		return rc;
	/*
	 * Re-encoded in place, not in a copy: a copy decodes the public key a
	 * second time, which costs more than the rest of issuance's parsing
	 * (OpenSSL 3.0's decoders).  The new encoding replaces the cached
	 * one only when it differs from the input, and then the request is
	 * refused here.
	 */
	n = i2d_re_X509_REQ_tbs(req, NULL) > 0 ? i2d_X509_REQ(req, &enc) : -1;
	return same(enc, n, der, len);
}

int
der_check_crl(const X509_CRL *crl, const unsigned char *der, size_t len)
{
	STACK_OF(X509_REVOKED) *rev;
	unsigned char *enc = NULL;
	X509_CRL *d;
	int rc, n, i;

	if ((rc = der_strict(der, len)) != CA_OK)
		return rc;
	if ((rc = check_extensions(X509_CRL_get0_extensions(crl))) != CA_OK)
		return rc;
	if ((d = X509_CRL_dup(crl)) == NULL)
		return not_again();
	rev = X509_CRL_get_REVOKED(d);
	for (i = 0; i < sk_X509_REVOKED_num(rev); i++)
		if ((rc = check_extensions(X509_REVOKED_get0_extensions(
		    sk_X509_REVOKED_value(rev, i)))) != CA_OK) {
			X509_CRL_free(d);
			return rc;
		}
	n = i2d_re_X509_CRL_tbs(d, NULL) > 0 ? i2d_X509_CRL(d, &enc) : -1;
	X509_CRL_free(d);
	return same(enc, n, der, len);
}
