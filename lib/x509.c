#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "key.h"
#include "x509.h"

int64_t
x509_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

int
x509_subject_cn(const X509_NAME *name, char *buf, size_t len)
{
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	const ASN1_STRING *s;
	unsigned char *utf8 = NULL;
	int n;

	buf[0] = '\0';
	if (i < 0)
		return CA_OK;
	if (X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0)
		return err_set(CA_INPUT, "more than one common name");
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	if ((n = ASN1_STRING_to_UTF8(&utf8, s)) < 0)
		return err_set(CA_INPUT, "malformed common name");
	if ((size_t)n >= len || memchr(utf8, '\0', (size_t)n) != NULL) {
		OPENSSL_free(utf8);
		return err_set(CA_INPUT, "common name too long or has a NUL byte");
	}
	memcpy(buf, utf8, (size_t)n);
	buf[n] = '\0';
	OPENSSL_free(utf8);
	return CA_OK;
}

int
x509_fingerprint(X509 *x, char hex[65])
{
	unsigned char md[32];
	unsigned int n = 0, i;

	if (!X509_digest(x, EVP_sha256(), md, &n) || n != 32)
		return err_ssl(CA_FAIL, "certificate digest");
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return CA_OK;
}

int
x509_fingerprint_parse(const char *s, char hex[65])
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		char c = *s;

		if (c == ':')
			continue;
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) ||
		    n == 64)
			return 0;
		hex[n++] = c;
	}
	hex[n] = '\0';
	return n == 64;
}

char *
x509_serial_dec(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *s = bn ? BN_bn2dec(bn) : NULL;

	BN_free(bn);
	return s;
}

/* Longest serial text: 20 octets are 40 hex digits with 19 colons. */
#define SERIAL_TEXT_MAX 64

char *
x509_serial_parse(const char *text)
{
	static const char forms[] = "decimal digits, or hexadecimal as 0xHEX, "
	    "HH:HH:..., serial=HEX (openssl x509 -serial), or digits with a "
	    "letter a-f";
	char digits[SERIAL_TEXT_MAX + 1], *dec = NULL, *out;
	const char *s = text;
	BIGNUM *bn = NULL;
	size_t i, n = 0, group = 0;
	int hex = 0, colons = 0, letters = 0;

	if (strncmp(s, "serial=", 7) == 0) {
		s += 7;
		hex = 1;
	} else if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		hex = 1;
	}
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ':' && group > 0 && group <= 2 && s[i + 1] != '\0') {
			colons = 1;
			group = 0;
			continue;
		}
		if (!isxdigit(c) || n >= SERIAL_TEXT_MAX)
			goto bad;
		letters |= !isdigit(c);
		digits[n++] = (char)c;
		group++;
	}
	digits[n] = '\0';
	if (colons && (hex || group > 2))
		goto bad;
	hex |= colons | letters;
	if (n == 0 || (hex ? BN_hex2bn(&bn, digits) : BN_dec2bn(&bn, digits)) == 0)
		goto bad;
	if (!BN_is_zero(bn) && BN_num_bytes(bn) <= 20)
		dec = BN_bn2dec(bn);
	BN_free(bn);
	if (dec == NULL)
		goto bad;
	out = strdup(dec);
	OPENSSL_free(dec);
	if (out == NULL)
		err_set(CA_FAIL, "out of memory");
	return out;
bad:
	err_set(CA_INPUT, "%.80s: not a serial number (%s)", text, forms);
	return NULL;
}

/*
 * A new random serial in x: 0 with the error set, the generator's failure
 * named as such (OpenSSL may queue no reason for it).
 */
static int
set_serial(X509 *x)
{
	unsigned char b[CA_SERIAL_OCTETS];
	ASN1_INTEGER *ai;
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1) {
		err_ssl(CA_FAIL, "serial number: the random generator failed");
		return 0;
	}
	/* Positive (top bit clear) and always 20 octets (next bit set). */
	b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);
	bn = BN_bin2bn(b, sizeof(b), NULL);
	ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	ok = ai != NULL && X509_set_serialNumber(x, ai);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	if (!ok)
		err_ssl(CA_FAIL, "building certificate");
	return ok;
}

static int
set_time(ASN1_TIME *t, int64_t when)
{
	/* UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
	return ASN1_TIME_adj(t, (time_t)when, 0, 0) != NULL;
}

static int
add_ku(X509 *x, const int *bits, size_t n)
{
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	size_t i;
	int ok = ku != NULL;

	for (i = 0; ok && i < n; i++)
		ok = ASN1_BIT_STRING_set_bit(ku, bits[i], 1);
	ok = ok && X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT);
	ASN1_BIT_STRING_free(ku);
	return ok;
}

static int
add_bc(X509 *x, int ca, int pathlen)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	int ok = bc != NULL;

	if (ok && ca) {
		bc->ca = 0xff;
		if (pathlen >= 0) {
			ok = (bc->pathlen = ASN1_INTEGER_new()) != NULL &&
			    ASN1_INTEGER_set(bc->pathlen, pathlen);
		}
	}
	ok = ok && X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1,
	    X509V3_ADD_DEFAULT);
	BASIC_CONSTRAINTS_free(bc);
	return ok;
}

static int
add_eku(X509 *x)
{
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	int ok = eku != NULL &&
	    sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)) &&
	    sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)) &&
	    X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_DEFAULT);

	/* The objects are static NIDs: free the stack only. */
	sk_ASN1_OBJECT_free(eku);
	return ok;
}

static int
add_ski(X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;
	ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
	int ok;

	/* RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits. */
	ok = ski != NULL && X509_pubkey_digest(x, EVP_sha1(), md, &n) &&
	    ASN1_OCTET_STRING_set(ski, md, (int)n) &&
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0,
	    X509V3_ADD_DEFAULT);
	ASN1_OCTET_STRING_free(ski);
	return ok;
}

static int
add_aki(X509 *x, X509 *issuer)
{
	const ASN1_OCTET_STRING *iski = X509_get0_subject_key_id(issuer);
	AUTHORITY_KEYID *aki;
	int ok;

	if (iski == NULL)
		return err_set(CA_INPUT, "issuer certificate has no subject key identifier"), 0;
	if ((aki = AUTHORITY_KEYID_new()) == NULL)
		return 0;
	ok = (aki->keyid = ASN1_OCTET_STRING_dup(iski)) != NULL &&
	    X509_add1_ext_i2d(x, NID_authority_key_identifier, aki, 0,
	    X509V3_ADD_DEFAULT);
	AUTHORITY_KEYID_free(aki);
	return ok;
}

/*
 * CRL Distribution Points, not critical: one distribution point whose
 * fullName is the URL where the CA publishes its CRL (the CRL's Issuing
 * Distribution Point names the same URL, which RFC 5280 6.3.3 matches).
 */
static int
add_cdp(X509 *x, const char *url)
{
	CRL_DIST_POINTS *cdp = NULL;
	DIST_POINT *dp = NULL;
	GENERAL_NAME *gn = NULL;
	ASN1_IA5STRING *uri = NULL;
	int ok;

	ok = (cdp = CRL_DIST_POINTS_new()) != NULL &&
	    (dp = DIST_POINT_new()) != NULL &&
	    (dp->distpoint = DIST_POINT_NAME_new()) != NULL &&
	    (dp->distpoint->name.fullname = GENERAL_NAMES_new()) != NULL &&
	    (gn = GENERAL_NAME_new()) != NULL &&
	    (uri = ASN1_IA5STRING_new()) != NULL &&
	    ASN1_STRING_set(uri, url, (int)strlen(url));
	if (ok) {
		dp->distpoint->type = 0;        /* fullName */
		GENERAL_NAME_set0_value(gn, GEN_URI, uri);
		uri = NULL;
		ok = sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn) > 0;
		if (ok)
			gn = NULL;
	}
	if (ok) {
		ok = sk_DIST_POINT_push(cdp, dp) > 0;
		if (ok)
			dp = NULL;
	}
	ok = ok && X509_add1_ext_i2d(x, NID_crl_distribution_points, cdp, 0,
	    X509V3_ADD_DEFAULT);
	ASN1_IA5STRING_free(uri);
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(cdp);
	return ok;
}

/*
 * An EC key re-encoded with its point uncompressed: a compressed (or
 * hybrid) point from a CSR is not copied into a certificate, since some
 * verifiers reject it (RFC 5480 2.2: uncompressed MUST be supported,
 * compressed MAY).  The key is the same; only its encoding changes.
 */
static int
set_uncompressed(X509 *x, EVP_PKEY *pk)
{
	EVP_PKEY *d = EVP_PKEY_dup(pk);
	int ok = d != NULL && EVP_PKEY_set_utf8_string_param(d,
	    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) &&
	    X509_set_pubkey(x, d);

	EVP_PKEY_free(d);
	return ok;
}

/* 1 if the SPKI is an EC key whose point is not in uncompressed form. */
static int
ec_not_uncompressed(const X509_PUBKEY *spki)
{
	const unsigned char *bits;
	ASN1_OBJECT *oid;
	int len;

	if (!X509_PUBKEY_get0_param(&oid, &bits, &len, NULL, (X509_PUBKEY *)spki))
		return 1;
	return OBJ_obj2nid(oid) == NID_X9_62_id_ecPublicKey &&
	    (len < 1 || bits[0] != POINT_CONVERSION_UNCOMPRESSED);
}

/*
 * The subject public key.  Copying the CSR's encoding skips OpenSSL 3.0's
 * encoder lookup, the most expensive step of building a certificate.
 * The lint checks the copy against t->pubkey.
 */
static int
set_spki(X509 *x, const struct x509_template *t)
{
	const ASN1_OBJECT *oid;
	const unsigned char *bits;
	const X509_ALGOR *alg;
	const void *pval;
	unsigned char *enc;
	ASN1_OBJECT *o;
	void *pv = NULL;
	int len, ptype;

	if (t->spki != NULL && ec_not_uncompressed(t->spki))
		return set_uncompressed(x, t->pubkey);
	if (t->spki == NULL) {
		if (!X509_set_pubkey(x, t->pubkey))
			return 0;
		return !ec_not_uncompressed(X509_get_X509_PUBKEY(x)) ||
		    set_uncompressed(x, t->pubkey);
	}
	if (!X509_PUBKEY_get0_param((ASN1_OBJECT **)&oid, &bits, &len,
	    (X509_ALGOR **)&alg, (X509_PUBKEY *)t->spki))
		return 0;
	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	if (ptype == V_ASN1_OBJECT)
		pv = OBJ_dup(pval);
	else if (ptype == V_ASN1_SEQUENCE)
		pv = ASN1_STRING_dup(pval);
	else if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL)
		return 0;
	if ((ptype == V_ASN1_OBJECT || ptype == V_ASN1_SEQUENCE) && pv == NULL)
		return 0;
	o = OBJ_dup(oid);
	enc = OPENSSL_memdup(bits, (size_t)len);
	if (o == NULL || enc == NULL || !X509_PUBKEY_set0_param(
	    X509_get_X509_PUBKEY(x), o, ptype, pv, enc, len)) {
		ASN1_OBJECT_free(o);
		OPENSSL_free(enc);
		if (ptype == V_ASN1_OBJECT)
			ASN1_OBJECT_free(pv);
		else
			ASN1_STRING_free(pv);
		return 0;
	}
	return 1;
}

static X509_NAME *
make_name(const char *cn, const char *org)
{
	X509_NAME *n = X509_NAME_new();

	if (n == NULL)
		return NULL;
	if (org != NULL && !X509_NAME_add_entry_by_NID(n, NID_organizationName,
	    MBSTRING_UTF8, (const unsigned char *)org, -1, -1, 0))
		goto fail;
	if (cn != NULL && !X509_NAME_add_entry_by_NID(n, NID_commonName,
	    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0))
		goto fail;
	return n;
fail:
	X509_NAME_free(n);
	return NULL;
}

static int x509_lint(X509 *, const struct x509_template *);

int
x509_issue(const struct x509_template *t, X509 **out)
{
	X509 *x = NULL;
	X509_NAME *subj = NULL;
	GENERAL_NAMES *gens = NULL;
	EVP_PKEY *ipub;
	int64_t nb = t->not_before, na = t->not_after;
	const char *cn = t->cn;
	int rc = CA_FAIL, san_critical = 0;

	*out = NULL;
	if (cn != NULL && strlen(cn) > 64) {
		/* ub-common-name is 64: such a name lives in the SANs only. */
		if (t->profile != X509_LEAF)
			return err_set(CA_INPUT, "CA name longer than 64 bytes");
		cn = NULL;
	}
	if (t->issuer != NULL) {
		/* notAfter within every issuer's on the path. */
		int i, n = t->chain != NULL ? sk_X509_num(t->chain) : 1;

		for (i = 0; i < n; i++) {
			X509 *c = t->chain != NULL ? sk_X509_value(t->chain, i) :
			    t->issuer;
			int64_t ina = x509_time(X509_get0_notAfter(c));

			if (na > ina)
				na = ina;
		}
	}
	if (na <= nb)
		return err_set(CA_INPUT, "certificate would not be valid: notAfter is not after notBefore");
	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3))
		goto sslfail;
	if (!set_serial(x)) {
		rc = err_code();
		goto out;
	}
	if (!set_time(X509_getm_notBefore(x), nb) ||
	    !set_time(X509_getm_notAfter(x), na) || !set_spki(x, t))
		goto sslfail;
	if ((subj = make_name(cn, t->org)) == NULL ||
	    !X509_set_subject_name(x, subj))
		goto sslfail;
	if (!X509_set_issuer_name(x, t->issuer ?
	    X509_get_subject_name(t->issuer) : subj))
		goto sslfail;
	if (!add_ski(x))
		goto sslfail;
	if (t->profile == X509_LEAF) {
		static const int ec_ku[] = { 0 }, rsa_ku[] = { 0, 2 };
		int rsa = EVP_PKEY_get_base_id(t->pubkey) == EVP_PKEY_RSA;

		if (t->sans == NULL || t->sans->n == 0) {
			rc = err_set(CA_INPUT, "a certificate needs at least one name");
			goto out;
		}
		san_critical = cn == NULL;
		if (!add_bc(x, 0, -1) || !(rsa ? add_ku(x, rsa_ku, 2) :
		    add_ku(x, ec_ku, 1)) || !add_eku(x))
			goto sslfail;
		if ((gens = sans_to_general_names(t->sans)) == NULL)
			goto out;
		if (!X509_add1_ext_i2d(x, NID_subject_alt_name, gens,
		    san_critical, X509V3_ADD_DEFAULT))
			goto sslfail;
		if (t->crl_url != NULL && !add_cdp(x, t->crl_url))
			goto sslfail;
	} else {
		static const int ca_ku[] = { 5, 6 };

		if (!add_bc(x, 1, t->pathlen) || !add_ku(x, ca_ku, 2))
			goto sslfail;
	}
	if (t->issuer != NULL && !add_aki(x, t->issuer)) {
		if (err_code() == CA_INPUT) {
			rc = CA_INPUT;
			goto out;
		}
		goto sslfail;
	}
	if ((rc = x509_lint(x, t)) != CA_OK)
		goto out;
	if (X509_sign(x, t->issuer_key, key_digest(t->issuer_key)) <= 0)
		goto sslfail;
	/* Check our own signature before the certificate leaves this function. */
	ipub = t->issuer ? X509_get0_pubkey(t->issuer) : t->pubkey;
	if (ipub == NULL || X509_verify(x, ipub) != 1) {
		rc = err_ssl(CA_FAIL, "issued certificate does not verify with the issuer key");
		goto out;
	}
	*out = x;
	x = NULL;
	rc = CA_OK;
	goto out;
sslfail:
	rc = err_ssl(CA_FAIL, "building certificate");
out:
	GENERAL_NAMES_free(gens);
	X509_NAME_free(subj);
	X509_free(x);
	return rc;
}

static int
lint_fail(const char *rule)
{
	return err_set(CA_FAIL, "certificate lint: %s", rule);
}

/*
 * The issuer path of the certificate x being made: t->issuer, then the
 * rest of t->chain.  Every certificate on it must be a CA (basic
 * constraints CA:TRUE: no v1 or key-usage-only CA), allow certificate
 * signing when it has a key usage (RFC 5280 4.2.1.3: without one every
 * use is allowed), have a path length that leaves room for the CA
 * certificates below it, the new one included when it is a CA (whose own
 * path length must then fit too), and not expire before x.  Each
 * certificate must be the issuer of the one below it.  CA_REFUSED naming
 * the first broken rule.  (notBefore is not nested: a certificate
 * backdated under a CA made a moment ago is valid from the CA's start.)
 */
static int
lint_path(X509 *x, const struct x509_template *t, int ca, long pathlen)
{
	int64_t na = x509_time(X509_get0_notAfter(x));
	X509 *below = x, *c;
	int i, n, cas = ca;     /* non-self-issued CA certificates below c */
	long pl;
	char where[128], cn[65];

	n = t->chain != NULL ? sk_X509_num(t->chain) : 1;
	if (t->chain != NULL && (n < 1 || X509_cmp(sk_X509_value(t->chain, 0),
	    t->issuer) != 0))
		return err_set(CA_FAIL, "certificate lint: the chain does not start with the issuer");
	for (i = 0; i < n; i++) {
		uint32_t fl;

		c = t->chain != NULL ? sk_X509_value(t->chain, i) : t->issuer;
		if (x509_subject_cn(X509_get_subject_name(c), cn, sizeof(cn)) != CA_OK)
			cn[0] = '\0';
		err_clear();
		snprintf(where, sizeof(where), "issuer path: %s \"%s\"",
		    i == 0 ? "issuer" : "chain certificate", cn);
		fl = X509_get_extension_flags(c);
		if (fl & EXFLAG_INVALID)
			return err_set(CA_REFUSED, "%s has malformed extensions", where);
		if (!(fl & EXFLAG_BCONS) || !(fl & EXFLAG_CA))
			return err_set(CA_REFUSED, "%s is not a CA (basicConstraints CA:TRUE)", where);
		if ((fl & EXFLAG_KUSAGE) && !(X509_get_key_usage(c) & KU_KEY_CERT_SIGN))
			return err_set(CA_REFUSED, "%s may not sign certificates (no keyCertSign)", where);
		if (i > 0 && X509_check_issued(c, below) != X509_V_OK)
			return err_set(CA_REFUSED, "%s is not the issuer of the certificate before it", where);
		pl = X509_get_pathlen(c);
		if (pl >= 0 && cas > pl)
			return err_set(CA_REFUSED, "%s has path length %ld: no room for %d CA certificate%s below it",
			    where, pl, cas, cas == 1 ? "" : "s");
		if (pl >= 0 && ca && (pathlen < 0 || pathlen + cas > pl))
			return err_set(CA_REFUSED, "%s has path length %ld: the new CA's path length must be at most %ld",
			    where, pl, pl - cas);
		if (na > x509_time(X509_get0_notAfter(c)))
			return err_set(CA_REFUSED, "%s expires before the new certificate", where);
		if (X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(c)) != 0)
			cas++;          /* self-issued certificates do not count */
		below = c;
	}
	return CA_OK;
}

/*
 * A leaf's CRL Distribution Points: exactly the one URL asked for, not
 * critical; none when none was asked for.  (CA certificates get none.)
 */
static int
lint_cdp(X509 *x, const char *url)
{
	CRL_DIST_POINTS *cdp;
	DIST_POINT *dp;
	GENERAL_NAME *gn;
	int crit = -1, ok;

	cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, &crit, NULL);
	if (url == NULL) {
		CRL_DIST_POINTS_free(cdp);
		return crit == -1 ? CA_OK :
		    lint_fail("CRL distribution points not asked for");
	}
	ok = cdp != NULL && crit == 0 && sk_DIST_POINT_num(cdp) == 1 &&
	    (dp = sk_DIST_POINT_value(cdp, 0))->distpoint != NULL &&
	    dp->reasons == NULL && dp->CRLissuer == NULL &&
	    dp->distpoint->type == 0 &&
	    sk_GENERAL_NAME_num(dp->distpoint->name.fullname) == 1 &&
	    (gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0))->
	    type == GEN_URI &&
	    (size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier) ==
	    strlen(url) &&
	    memcmp(ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier), url,
	    strlen(url)) == 0;
	CRL_DIST_POINTS_free(cdp);
	return ok ? CA_OK : lint_fail("CRL distribution point is not the "
	    "one URL asked for, not critical");
}

/*
 * The lint: every check a certificate of the template's profile must
 * pass, run on the to-be-signed certificate.  CA_FAIL naming the first
 * broken rule (an internal error: the issuing code built it wrong).
 */
static int
x509_lint(X509 *x, const struct x509_template *t)
{
	const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
	const ASN1_OCTET_STRING *ski, *aki;
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku;
	EXTENDED_KEY_USAGE *eku;
	GENERAL_NAMES *gens;
	uint32_t exflags;
	int64_t nb, na;
	int crit, i, ca, ok;
	long pathlen;

	if (X509_get_version(x) != X509_VERSION_3)
		return lint_fail("not version 3");
	if (ASN1_STRING_type(serial) != V_ASN1_INTEGER ||
	    ASN1_STRING_length(serial) < 16 || ASN1_STRING_length(serial) > 20)
		return lint_fail("serial must be positive, 16 to 20 octets");
	nb = x509_time(X509_get0_notBefore(x));
	na = x509_time(X509_get0_notAfter(x));
	if (nb == 0 || na <= nb)
		return lint_fail("validity period is empty");
	if (t->issuer != NULL) {
		if (na > x509_time(X509_get0_notAfter(t->issuer)))
			return lint_fail("notAfter past the issuer's notAfter");
		if (X509_NAME_cmp(X509_get_issuer_name(x),
		    X509_get_subject_name(t->issuer)) != 0)
			return lint_fail("issuer name is not the issuer's subject");
	}
	if (key_check(t->pubkey) != CA_OK)
		return lint_fail("subject key not accepted");
	if (ec_not_uncompressed(X509_get_X509_PUBKEY(x)))
		return lint_fail("EC subject key point is not uncompressed");
	if (t->spki != NULL) {
		/*
		 * A copy must be exactly the encoding it was taken from; a
		 * re-encoding (a compressed point made uncompressed) must be
		 * the same key.
		 */
		unsigned char *a = NULL, *b = NULL;
		int la = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &a);
		int lb = i2d_X509_PUBKEY(t->spki, &b);
		int same = la > 0 && la == lb && memcmp(a, b, (size_t)la) == 0;

		OPENSSL_free(a);
		OPENSSL_free(b);
		if (!same && (!ec_not_uncompressed(t->spki) ||
		    EVP_PKEY_eq(X509_get0_pubkey(x), t->pubkey) != 1))
			return lint_fail("subject public key is not the requested key");
	}
	exflags = X509_get_extension_flags(x);
	if (exflags & EXFLAG_INVALID)
		return lint_fail("malformed extensions");
	ski = X509_get0_subject_key_id(x);
	if (ski == NULL)
		return lint_fail("no subject key identifier");
	if (t->issuer != NULL) {
		aki = X509_get0_authority_key_id(x);
		if (aki == NULL || ASN1_OCTET_STRING_cmp(aki,
		    X509_get0_subject_key_id(t->issuer)) != 0)
			return lint_fail("authority key identifier is not the issuer's");
	}
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	if (bc == NULL || !crit) {
		BASIC_CONSTRAINTS_free(bc);
		return lint_fail("basic constraints missing or not critical");
	}
	ca = bc->ca != 0;
	pathlen = bc->pathlen ? ASN1_INTEGER_get(bc->pathlen) : -1;
	BASIC_CONSTRAINTS_free(bc);
	ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	if (ku == NULL || !crit) {
		ASN1_BIT_STRING_free(ku);
		return lint_fail("key usage missing or not critical");
	}
	ok = 1;
	if (t->profile == X509_LEAF) {
		if (ca)
			ok = 0;
		if (ASN1_BIT_STRING_get_bit(ku, 5) || ASN1_BIT_STRING_get_bit(ku, 6) ||
		    !ASN1_BIT_STRING_get_bit(ku, 0))
			ok = 0;
	} else {
		if (!ca || pathlen != t->pathlen || !ASN1_BIT_STRING_get_bit(ku, 5))
			ok = 0;
	}
	ASN1_BIT_STRING_free(ku);
	if (!ok)
		return lint_fail(t->profile == X509_LEAF ?
		    "leaf must be CA:FALSE with digitalSignature and no certificate signing" :
		    "CA profile needs CA:TRUE, its path length and keyCertSign");
	if (t->issuer != NULL && (i = lint_path(x, t, ca, pathlen)) != CA_OK)
		return i;
	if (t->profile != X509_LEAF)
		return CA_OK;
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	ok = eku != NULL && sk_ASN1_OBJECT_num(eku) == 2;
	for (i = 0; ok && i < sk_ASN1_OBJECT_num(eku); i++) {
		int nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
		ok = nid == NID_server_auth || nid == NID_client_auth;
	}
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	if (!ok)
		return lint_fail("leaf extended key usage must be serverAuth and clientAuth");
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	ok = gens != NULL && sk_GENERAL_NAME_num(gens) > 0 &&
	    (X509_NAME_entry_count(X509_get_subject_name(x)) > 0 || crit);
	GENERAL_NAMES_free(gens);
	if (!ok)
		return lint_fail("leaf needs subject alternative names (critical when the subject is empty)");
	if ((i = lint_cdp(x, t->crl_url)) != CA_OK)
		return i;
	/* No leaf names in its CN what its SANs do not. */
	if (t->cn != NULL && t->cn[0] != '\0') {
		const struct san *f;

		if (t->sans == NULL || sans_find_cn(t->sans, t->cn, &f) != CA_OK ||
		    strcmp(f->value, t->cn) != 0)
			return lint_fail("leaf common name is not one of its subject alternative names");
	}
	return CA_OK;
}
