/*
 * inspect: describe a certificate, chain, CSR, CRL or JWT as JSON.
 *
 * Nothing is verified and nothing is trusted: the input may be hostile,
 * so every field is read without failing on what a verifier would refuse
 * (unknown name types, odd extensions, invalid UTF-8, BER), and all text
 * from the input leaves here as escaped JSON strings.  Only input that
 * cannot be parsed at all is an error.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "b64.h"
#include "ca_limits.h"
#include "der.h"
#include "err.h"
#include "inspect.h"
#include "io.h"
#include "jose.h"
#include "jsonerr.h"
#include "key.h"
#include "pem.h"
#include "timeutil.h"

/*
 * JSON building.  Every json_t constructor returns NULL only when out of
 * memory; set() and push() take the reference either way and remember the
 * failure, so the builders below stay linear and inspect_bytes() checks once.
 */
static int oom;

static void
set(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		oom = 1;
}

static void
push(json_t *a, json_t *v)
{
	if (v == NULL || json_array_append_new(a, v) != 0)
		oom = 1;
}

static json_t *
new_object(void)
{
	json_t *o = json_object();

	/* set() on a NULL object fails and drops the value: no crash. */
	if (o == NULL)
		oom = 1;
	return o;
}

/* Length of the valid UTF-8 sequence at p (n > 0 bytes), 0 if invalid. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned long cp;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * A JSON string of n bytes from the input.  Bytes that are not valid UTF-8
 * become U+FFFD, so a hostile name is still shown rather than refused;
 * NUL and control characters are kept and escaped by jansson.
 */
static json_t *
jstr(const void *data, size_t n)
{
	const unsigned char *p = data;
	unsigned char *s;
	size_t i = 0, o = 0, k;
	json_t *j;

	if (n > SIZE_MAX / 3 || (s = malloc(3 * n + 1)) == NULL)
		return NULL;
	while (i < n) {
		if ((k = utf8_seq(p + i, n - i)) == 0) {
			memcpy(s + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(s + o, p + i, k);
			o += k;
			i += k;
		}
	}
	j = json_stringn((char *)s, o);
	free(s);
	return j;
}

/* Lowercase hex, as a JSON string; prefix (may be "") goes first. */
static json_t *
jhex(const char *prefix, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t plen = strlen(prefix), i;
	char *s;
	json_t *j;

	if ((s = malloc(plen + 2 * n + 1)) == NULL)
		return NULL;
	memcpy(s, prefix, plen);
	for (i = 0; i < n; i++) {
		s[plen + 2 * i] = digits[p[i] >> 4];
		s[plen + 2 * i + 1] = digits[p[i] & 0xf];
	}
	s[plen + 2 * n] = '\0';
	j = json_string(s);
	free(s);
	return j;
}

/* An OID in dotted form ("2.5.29.17"), never a name. */
static json_t *
joid(const ASN1_OBJECT *obj)
{
	char buf[128], *s;
	json_t *j;
	int n;

	if ((n = OBJ_obj2txt(buf, sizeof(buf), obj, 1)) < 0)
		return json_null();
	if ((size_t)n < sizeof(buf))
		return json_string(buf);
	/* Absurdly long OIDs come only from hostile input; show them whole. */
	if ((s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	OBJ_obj2txt(s, n + 1, obj, 1);
	j = json_string(s);
	free(s);
	return j;
}

/* OpenSSL's long name of an algorithm OID ("ecdsa-with-SHA256"), else dotted. */
static json_t *
jalg(const X509_ALGOR *alg)
{
	const ASN1_OBJECT *obj;
	int nid;

	if (alg == NULL)
		return json_null();
	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	if ((nid = OBJ_obj2nid(obj)) != NID_undef && OBJ_nid2ln(nid) != NULL)
		return json_string(OBJ_nid2ln(nid));
	return joid(obj);
}

/* RFC 3339 UTC; null for a time OpenSSL cannot read. */
static json_t *
jtime(const ASN1_TIME *t)
{
	struct tm tm;
	char buf[32];

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return json_null();
	time_fmt((int64_t)timegm(&tm), buf, sizeof(buf));
	return json_string(buf);
}

/* A JSON integer, or null if it does not fit in 64 bits. */
static json_t *
jint(const ASN1_INTEGER *ai)
{
	int64_t v;

	if (ai == NULL || !ASN1_INTEGER_get_int64(&v, ai)) {
		ERR_clear_error();
		return json_null();
	}
	return json_integer((json_int_t)v);
}

/* Decimal text of an INTEGER of any size (serials, CRL numbers). */
static json_t *
jdec(const ASN1_INTEGER *ai)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
	char *s = bn ? BN_bn2dec(bn) : NULL;
	json_t *j = s ? json_string(s) : NULL;

	OPENSSL_free(s);
	BN_free(bn);
	return j;
}

/*
 * {"decimal","hex"}: hex is lowercase with an even number of digits, as
 * `openssl x509 -serial` prints it; a negative serial (invalid, but
 * possible) gets a leading "-" in both.
 */
static json_t *
jserial(const ASN1_INTEGER *ai)
{
	json_t *o = new_object();
	BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL, *p;

	for (p = hex; p && *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	set(o, "decimal", jdec(ai));
	set(o, "hex", hex ? json_string(hex) : NULL);
	OPENSSL_free(hex);
	BN_free(bn);
	return o;
}

/* ---- names ------------------------------------------------------------ */

/* The fields of a name object, by attribute type. */
static const struct {
	int nid;
	const char *field;
} name_fields[] = {
	{ NID_commonName, "commonName" },
	{ NID_surname, "surname" },
	{ NID_givenName, "givenName" },
	{ NID_initials, "initials" },
	{ NID_generationQualifier, "generationQualifier" },
	{ NID_title, "title" },
	{ NID_pseudonym, "pseudonym" },
	{ NID_serialNumber, "serialNumber" },
	{ NID_organizationName, "organization" },
	{ NID_organizationalUnitName, "organizationalUnit" },
	{ NID_localityName, "locality" },
	{ NID_stateOrProvinceName, "stateOrProvince" },
	{ NID_streetAddress, "street" },
	{ NID_postalCode, "postalCode" },
	{ NID_countryName, "country" },
	{ NID_domainComponent, "domainComponent" },
	{ NID_userId, "userId" },
	{ NID_pkcs9_emailAddress, "emailAddress" },
	{ NID_businessCategory, "businessCategory" },
	{ NID_dnQualifier, "dnQualifier" },
	{ NID_organizationIdentifier, "organizationIdentifier" },
};

/*
 * An attribute value as text: UTF-8 for the string types, else RFC 4514's
 * "#" and the hex of its DER (a value that is no string, or a string whose
 * encoding does not convert).
 */
static json_t *
jname_value(const ASN1_STRING *s)
{
	unsigned char *utf8 = NULL, *der, *p;
	int n, type = ASN1_STRING_type(s), len;
	json_t *j;

	if ((n = ASN1_STRING_to_UTF8(&utf8, s)) >= 0) {
		j = jstr(utf8, (size_t)n);
		OPENSSL_free(utf8);
		return j;
	}
	ERR_clear_error();
	len = ASN1_STRING_length(s);
	type &= ~V_ASN1_NEG;
	if (type < 0 || type > 30)
		return jstr(ASN1_STRING_get0_data(s), (size_t)len);
	n = ASN1_object_size(type == V_ASN1_SEQUENCE || type == V_ASN1_SET,
	    len, type);
	if (n <= 0 || (der = malloc((size_t)n)) == NULL)
		return NULL;
	p = der;
	ASN1_put_object(&p, type == V_ASN1_SEQUENCE || type == V_ASN1_SET,
	    len, type, V_ASN1_UNIVERSAL);
	memcpy(p, ASN1_STRING_get0_data(s), (size_t)len);
	j = jhex("#", der, (size_t)n);
	free(der);
	return j;
}

/* The RFC 4514 one-line form, UTF-8 left unescaped. */
static json_t *
jname_text(const X509_NAME *name)
{
	unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;
	json_t *j;

	if (bio == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, name, 0, flags) < 0) {
		ERR_clear_error();
		BIO_free(bio);
		return json_null();
	}
	n = BIO_get_mem_data(bio, &p);
	j = jstr(p, n > 0 ? (size_t)n : 0);
	BIO_free(bio);
	return j;
}

/*
 * {"commonName":..., "organization":..., ..., "text", "attributes"}.
 * A named field holds the last value of its type (the most specific one,
 * RFC 6125); "attributes" lists every value in encoding order.
 */
static json_t *
jname(const X509_NAME *name)
{
	json_t *o = new_object(), *attrs = json_array();
	int i, n;
	size_t k;

	n = name ? X509_NAME_entry_count(name) : 0;
	for (i = 0; i < n; i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(e);
		json_t *a = new_object(), *v;
		const char *field = NULL;
		int nid = OBJ_obj2nid(obj);

		for (k = 0; k < sizeof(name_fields) / sizeof(name_fields[0]); k++)
			if (name_fields[k].nid == nid)
				field = name_fields[k].field;
		v = jname_value(X509_NAME_ENTRY_get_data(e));
		set(a, "oid", joid(obj));
		if (field != NULL)
			set(a, "name", json_string(field));
		else if (nid != NID_undef)
			set(a, "name", json_string(OBJ_nid2sn(nid)));
		else
			set(a, "name", json_null());
		set(a, "value", json_incref(v));
		push(attrs, a);
		if (field != NULL)
			set(o, field, json_incref(v));
		json_decref(v);
	}
	set(o, "text", name ? jname_text(name) : json_string(""));
	set(o, "attributes", attrs);
	return o;
}

/* ---- keys, names, extensions ---------------------------------------- */

/*
 * {"type","curve","bits","algorithm","spkiSha256"}: type and curve as in
 * JOSE (EC P-256, RSA, OKP Ed25519), or the OpenSSL group name for other
 * curves; null what the key does not say or what does not decode.
 */
static json_t *
jpubkey(X509_PUBKEY *pub)
{
	json_t *o = new_object();
	ASN1_OBJECT *alg = NULL;
	EVP_PKEY *pk;
	const char *kty = NULL, *crv = NULL;
	char group[64];
	unsigned char *der = NULL, md[32];
	int bits = 0, nid, n;
	size_t glen;

	if (pub != NULL)
		X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, pub);
	nid = alg ? OBJ_obj2nid(alg) : NID_undef;
	pk = pub ? X509_PUBKEY_get0(pub) : NULL;
	ERR_clear_error();
	if (pk != NULL) {
		key_info(pk, &kty, &crv, &bits);
		if (nid == NID_X9_62_id_ecPublicKey && crv == NULL &&
		    EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
		    sizeof(group), &glen))
			crv = group;
	}
	switch (nid) {
	case NID_X9_62_id_ecPublicKey: kty = "EC"; break;
	case NID_rsaEncryption: case NID_rsassaPss: kty = "RSA"; break;
	case NID_ED25519: kty = "OKP"; crv = "Ed25519"; break;
	case NID_ED448: kty = "OKP"; crv = "Ed448"; break;
	case NID_X25519: kty = "OKP"; crv = "X25519"; break;
	case NID_X448: kty = "OKP"; crv = "X448"; break;
	default: break;
	}
	set(o, "type", kty ? json_string(kty) : json_null());
	set(o, "curve", crv ? json_string(crv) : json_null());
	set(o, "bits", bits > 0 ? json_integer(bits) : json_null());
	if (alg == NULL)
		set(o, "algorithm", json_null());
	else if (nid != NID_undef)
		set(o, "algorithm", json_string(OBJ_nid2ln(nid)));
	else
		set(o, "algorithm", joid(alg));
	if (pub != NULL && (n = i2d_X509_PUBKEY(pub, &der)) > 0 &&
	    EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL))
		set(o, "spkiSha256", jhex("", md, sizeof(md)));
	else
		set(o, "spkiSha256", json_null());
	OPENSSL_free(der);
	ERR_clear_error();
	return o;
}

/* {"type","value"} for any GeneralName, hostile or not. */
static json_t *
jgeneral_name(const GENERAL_NAME *g)
{
	json_t *o = new_object();
	const ASN1_STRING *s;
	unsigned char *der = NULL;
	char ip[INET6_ADDRSTRLEN];
	int n;

	switch (g->type) {
	case GEN_DNS:
	case GEN_EMAIL:
	case GEN_URI:
		s = g->type == GEN_DNS ? g->d.dNSName : g->type == GEN_EMAIL ?
		    g->d.rfc822Name : g->d.uniformResourceIdentifier;
		set(o, "type", json_string(g->type == GEN_DNS ? "dns" :
		    g->type == GEN_EMAIL ? "email" : "uri"));
		set(o, "value", jstr(ASN1_STRING_get0_data(s),
		    (size_t)ASN1_STRING_length(s)));
		break;
	case GEN_IPADD:
		s = g->d.iPAddress;
		n = ASN1_STRING_length(s);
		set(o, "type", json_string("ip"));
		if ((n == 4 || n == 16) && inet_ntop(n == 4 ? AF_INET : AF_INET6,
		    ASN1_STRING_get0_data(s), ip, sizeof(ip)) != NULL)
			set(o, "value", json_string(ip));
		else
			set(o, "value", jhex("#", ASN1_STRING_get0_data(s),
			    (size_t)n));
		break;
	case GEN_OTHERNAME:
		set(o, "type", json_string("other"));
		set(o, "value", joid(g->d.otherName->type_id));
		break;
	case GEN_DIRNAME:
		set(o, "type", json_string("dirName"));
		set(o, "value", jname_text(g->d.directoryName));
		break;
	case GEN_RID:
		set(o, "type", json_string("registeredID"));
		set(o, "value", joid(g->d.registeredID));
		break;
	default:
		set(o, "type", json_string(g->type == GEN_X400 ? "x400Address" :
		    "ediPartyName"));
		if ((n = i2d_GENERAL_NAME(g, &der)) > 0)
			set(o, "value", jhex("#", der, (size_t)n));
		else
			set(o, "value", json_null());
		OPENSSL_free(der);
		break;
	}
	return o;
}

static json_t *
jsans(const GENERAL_NAMES *gens)
{
	json_t *a = json_array();
	int i;

	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++)
		push(a, jgeneral_name(sk_GENERAL_NAME_value(gens, i)));
	return a;
}

/* RFC 5280 4.2.1.3, by bit number. */
static const char *const ku_names[] = {
	"digitalSignature", "contentCommitment", "keyEncipherment",
	"dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign",
	"encipherOnly", "decipherOnly"
};

static json_t *
jkey_usage(const ASN1_BIT_STRING *ku)
{
	json_t *a = json_array();
	char buf[32];
	int i;

	for (i = 0; i < 8 * ASN1_STRING_length(ku); i++) {
		if (!ASN1_BIT_STRING_get_bit(ku, i))
			continue;
		if ((size_t)i < sizeof(ku_names) / sizeof(ku_names[0]))
			push(a, json_string(ku_names[i]));
		else {
			snprintf(buf, sizeof(buf), "bit%d", i);
			push(a, json_string(buf));
		}
	}
	return a;
}

/* RFC 5280 4.2.1.12 names; any other purpose as its dotted OID. */
static const struct {
	const char *oid, *name;
} eku_names[] = {
	{ "1.3.6.1.5.5.7.3.1", "serverAuth" },
	{ "1.3.6.1.5.5.7.3.2", "clientAuth" },
	{ "1.3.6.1.5.5.7.3.3", "codeSigning" },
	{ "1.3.6.1.5.5.7.3.4", "emailProtection" },
	{ "1.3.6.1.5.5.7.3.8", "timeStamping" },
	{ "1.3.6.1.5.5.7.3.9", "OCSPSigning" },
	{ "2.5.29.37.0", "anyExtendedKeyUsage" },
};

static json_t *
jext_key_usage(const EXTENDED_KEY_USAGE *eku)
{
	json_t *a = json_array(), *oid;
	size_t k;
	int i;

	for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		oid = joid(sk_ASN1_OBJECT_value(eku, i));
		for (k = 0; oid != NULL && json_is_string(oid) &&
		    k < sizeof(eku_names) / sizeof(eku_names[0]); k++) {
			if (strcmp(json_string_value(oid), eku_names[k].oid) == 0) {
				json_decref(oid);
				oid = json_string(eku_names[k].name);
				break;
			}
		}
		push(a, oid);
	}
	return a;
}

/*
 * Extension names: RFC 5280 and friends, so the output does not change
 * with OpenSSL's spelling; then OpenSSL's short name; else null.
 */
static const struct {
	const char *oid, *name;
} ext_names[] = {
	{ "2.5.29.9", "subjectDirectoryAttributes" },
	{ "2.5.29.14", "subjectKeyIdentifier" },
	{ "2.5.29.15", "keyUsage" },
	{ "2.5.29.17", "subjectAltName" },
	{ "2.5.29.18", "issuerAltName" },
	{ "2.5.29.19", "basicConstraints" },
	{ "2.5.29.20", "cRLNumber" },
	{ "2.5.29.21", "reasonCode" },
	{ "2.5.29.24", "invalidityDate" },
	{ "2.5.29.27", "deltaCRLIndicator" },
	{ "2.5.29.28", "issuingDistributionPoint" },
	{ "2.5.29.29", "certificateIssuer" },
	{ "2.5.29.30", "nameConstraints" },
	{ "2.5.29.31", "cRLDistributionPoints" },
	{ "2.5.29.32", "certificatePolicies" },
	{ "2.5.29.33", "policyMappings" },
	{ "2.5.29.35", "authorityKeyIdentifier" },
	{ "2.5.29.36", "policyConstraints" },
	{ "2.5.29.37", "extKeyUsage" },
	{ "2.5.29.46", "freshestCRL" },
	{ "2.5.29.54", "inhibitAnyPolicy" },
	{ "1.3.6.1.5.5.7.1.1", "authorityInfoAccess" },
	{ "1.3.6.1.5.5.7.1.11", "subjectInfoAccess" },
	{ "1.3.6.1.5.5.7.1.24", "tlsFeature" },
	{ "1.3.6.1.5.5.7.48.1.5", "ocspNoCheck" },
	{ "1.3.6.1.4.1.11129.2.4.2", "signedCertificateTimestampList" },
	{ "1.3.6.1.4.1.11129.2.4.3", "precertificatePoison" },
};

/* 1 if OpenSSL knows the extension's type and its value does not decode. */
static int
ext_malformed(X509_EXTENSION *e)
{
	const X509V3_EXT_METHOD *m = X509V3_EXT_get(e);
	void *v;

	if (m == NULL)
		return 0;
	if ((v = X509V3_EXT_d2i(e)) == NULL) {
		ERR_clear_error();
		return 1;
	}
	if (m->it != NULL)
		ASN1_item_free(v, ASN1_ITEM_ptr(m->it));
	else if (m->ext_free != NULL)
		m->ext_free(v);
	return 0;
}

/* [{"oid","name","critical","malformed"}] in encoding order. */
static json_t *
jextensions(const STACK_OF(X509_EXTENSION) *exts)
{
	json_t *a = json_array(), *o, *oid;
	const char *name;
	size_t k;
	int i, nid;

	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
		const ASN1_OBJECT *obj = X509_EXTENSION_get_object(e);

		o = new_object();
		oid = joid(obj);
		name = NULL;
		for (k = 0; oid != NULL && json_is_string(oid) &&
		    k < sizeof(ext_names) / sizeof(ext_names[0]); k++)
			if (strcmp(json_string_value(oid), ext_names[k].oid) == 0)
				name = ext_names[k].name;
		if (name == NULL && (nid = OBJ_obj2nid(obj)) != NID_undef)
			name = OBJ_nid2sn(nid);
		set(o, "oid", oid);
		set(o, "name", name ? json_string(name) : json_null());
		set(o, "critical", json_boolean(X509_EXTENSION_get_critical(e)));
		set(o, "malformed", json_boolean(ext_malformed(e)));
		push(a, o);
	}
	return a;
}

/*
 * The first extension of type nid, decoded.  *crit is -1 if there is
 * none, else its critical flag; NULL with *crit >= 0 means malformed.
 * The caller frees the result with the type's free function.
 */
static void *
ext_get(const STACK_OF(X509_EXTENSION) *exts, int nid, int *crit)
{
	X509_EXTENSION *e;
	void *v;
	int i;

	*crit = -1;
	if (exts == NULL || (i = X509v3_get_ext_by_NID(exts, nid, -1)) < 0)
		return NULL;
	e = X509v3_get_ext(exts, i);
	*crit = X509_EXTENSION_get_critical(e) ? 1 : 0;
	if ((v = X509V3_EXT_d2i(e)) == NULL)
		ERR_clear_error();
	return v;
}

/* The key identifier of an AKI, or null. */
static json_t *
jaki(const STACK_OF(X509_EXTENSION) *exts)
{
	AUTHORITY_KEYID *aki;
	json_t *j;
	int crit;

	aki = ext_get(exts, NID_authority_key_identifier, &crit);
	if (aki != NULL && aki->keyid != NULL)
		j = jhex("", ASN1_STRING_get0_data(aki->keyid),
		    (size_t)ASN1_STRING_length(aki->keyid));
	else
		j = json_null();
	AUTHORITY_KEYID_free(aki);
	return j;
}

/* RFC 5280 4.2.1.13 ReasonFlags, by bit number. */
static const char *const reason_flags[] = {
	"unused", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold",
	"privilegeWithdrawn", "aACompromise"
};

/* The ReasonFlags set, by name ("bitN" past the known ones); null if none. */
static json_t *
jreason_flags(const ASN1_BIT_STRING *b)
{
	json_t *a;
	char name[16];
	int i, n;

	if (b == NULL)
		return json_null();
	a = json_array();
	n = ASN1_STRING_length(b) * 8;
	for (i = 0; i < n && i < 256; i++) {
		if (!ASN1_BIT_STRING_get_bit(b, i))
			continue;
		if ((size_t)i < sizeof(reason_flags) / sizeof(reason_flags[0]))
			push(a, json_string(reason_flags[i]));
		else {
			snprintf(name, sizeof(name), "bit%d", i);
			push(a, json_string(name));
		}
	}
	return a;
}

/*
 * A DistributionPointName: {"fullName": [general names]} or
 * {"relativeName": "CN=..."} (relative to the CRL issuer); null if absent.
 */
static json_t *
jdp_name(const DIST_POINT_NAME *dpn)
{
	json_t *o;
	X509_NAME *rdn;
	int i;

	if (dpn == NULL)
		return json_null();
	o = new_object();
	if (dpn->type == 0) {
		set(o, "fullName", jsans(dpn->name.fullname));
		return o;
	}
	if ((rdn = X509_NAME_new()) == NULL) {
		json_decref(o);
		return json_null();
	}
	for (i = 0; i < sk_X509_NAME_ENTRY_num(dpn->name.relativename); i++)
		(void)X509_NAME_add_entry(rdn, sk_X509_NAME_ENTRY_value(
		    dpn->name.relativename, i), -1, i == 0 ? 0 : -1);
	set(o, "relativeName", jname_text(rdn));
	X509_NAME_free(rdn);
	ERR_clear_error();
	return o;
}

/*
 * A certificate's cRLDistributionPoints: [{"distributionPoint",
 * "reasons", "crlIssuer"}], each member null when absent; null without
 * the extension.
 */
static json_t *
jcrl_dps(const STACK_OF(X509_EXTENSION) *exts)
{
	STACK_OF(DIST_POINT) *dps;
	DIST_POINT *dp;
	json_t *a, *o;
	int crit, i;

	if ((dps = ext_get(exts, NID_crl_distribution_points, &crit)) == NULL)
		return json_null();
	a = json_array();
	for (i = 0; i < sk_DIST_POINT_num(dps); i++) {
		dp = sk_DIST_POINT_value(dps, i);
		o = new_object();
		set(o, "distributionPoint", jdp_name(dp->distpoint));
		set(o, "reasons", jreason_flags(dp->reasons));
		set(o, "crlIssuer", dp->CRLissuer ? jsans(dp->CRLissuer) :
		    json_null());
		push(a, o);
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return a;
}

/*
 * A CRL's issuingDistributionPoint (RFC 5280 5.2.5): its scope.  The
 * booleans are false when absent (their DEFAULT); null without the
 * extension.
 */
static json_t *
jidp(const STACK_OF(X509_EXTENSION) *exts)
{
	ISSUING_DIST_POINT *idp;
	json_t *o;
	int crit;

	if ((idp = ext_get(exts, NID_issuing_distribution_point, &crit)) ==
	    NULL)
		return json_null();
	o = new_object();
	set(o, "distributionPoint", jdp_name(idp->distpoint));
	set(o, "onlyContainsUserCerts", json_boolean(idp->onlyuser > 0));
	set(o, "onlyContainsCACerts", json_boolean(idp->onlyCA > 0));
	set(o, "onlySomeReasons", jreason_flags(idp->onlysomereasons));
	set(o, "indirectCRL", json_boolean(idp->indirectCRL > 0));
	set(o, "onlyContainsAttributeCerts", json_boolean(idp->onlyattr > 0));
	set(o, "critical", json_boolean(crit == 1));
	ISSUING_DIST_POINT_free(idp);
	return o;
}

/*
 * The typed certificate extensions, from the first occurrence of each
 * (all occurrences are in "extensions"); a malformed one reads as absent.
 */
static void
cert_extensions(json_t *o, const STACK_OF(X509_EXTENSION) *exts)
{
	GENERAL_NAMES *gens;
	ASN1_BIT_STRING *ku;
	EXTENDED_KEY_USAGE *eku;
	BASIC_CONSTRAINTS *bc;
	ASN1_OCTET_STRING *ski;
	json_t *b;
	int crit;

	gens = ext_get(exts, NID_subject_alt_name, &crit);
	set(o, "sans", jsans(gens));
	GENERAL_NAMES_free(gens);

	ku = ext_get(exts, NID_key_usage, &crit);
	set(o, "keyUsage", ku ? jkey_usage(ku) : json_null());
	set(o, "keyUsageCritical", json_boolean(crit == 1));
	ASN1_BIT_STRING_free(ku);

	eku = ext_get(exts, NID_ext_key_usage, &crit);
	set(o, "extKeyUsage", eku ? jext_key_usage(eku) : json_null());
	EXTENDED_KEY_USAGE_free(eku);

	if ((bc = ext_get(exts, NID_basic_constraints, &crit)) != NULL) {
		b = new_object();
		set(b, "ca", json_boolean(bc->ca));
		set(b, "pathLen", bc->pathlen ? jint(bc->pathlen) : json_null());
		set(b, "critical", json_boolean(crit == 1));
		set(o, "basicConstraints", b);
		BASIC_CONSTRAINTS_free(bc);
	} else
		set(o, "basicConstraints", json_null());

	ski = ext_get(exts, NID_subject_key_identifier, &crit);
	set(o, "subjectKeyId", ski ? jhex("", ASN1_STRING_get0_data(ski),
	    (size_t)ASN1_STRING_length(ski)) : json_null());
	ASN1_OCTET_STRING_free(ski);

	set(o, "authorityKeyId", jaki(exts));
	set(o, "crlDistributionPoints", jcrl_dps(exts));
}

/* ---- the four kinds of input ------------------------------------------ */

/*
 * "notDer": why an object is not strict DER (der.h), only when it is not:
 * described all the same, since nothing here is trusted, while every
 * program that uses one refuses it.
 */
static void
not_der(json_t *o, int rc)
{
	const char *m = err_msg(), *p = "not DER (";
	size_t n = strlen(m);

	if (rc == CA_OK)
		return;
	if (n > strlen(p) + 1 && strncmp(m, p, strlen(p)) == 0 && m[n - 1] == ')')
		set(o, "notDer", jstr(m + strlen(p), n - strlen(p) - 1));
	else
		set(o, "notDer", jstr(m, n));
	err_clear();
}

/* der/len: the certificate's encoding as read, which the fingerprints cover. */
static json_t *
jcert(X509 *x, const unsigned char *der, size_t len)
{
	json_t *o = new_object(), *v, *fp;
	const X509_ALGOR *alg;
	unsigned char md[32];

	set(o, "type", json_string("certificate"));
	set(o, "version", json_integer(X509_get_version(x) + 1));
	set(o, "subject", jname(X509_get_subject_name(x)));
	set(o, "issuer", jname(X509_get_issuer_name(x)));
	set(o, "serial", jserial(X509_get0_serialNumber(x)));
	v = new_object();
	set(v, "notBefore", jtime(X509_get0_notBefore(x)));
	set(v, "notAfter", jtime(X509_get0_notAfter(x)));
	set(o, "validity", v);
	set(o, "publicKey", jpubkey(X509_get_X509_PUBKEY(x)));
	X509_get0_signature(NULL, &alg, x);
	set(o, "signatureAlgorithm", jalg(alg));
	cert_extensions(o, X509_get0_extensions(x));
	fp = new_object();
	if (EVP_Digest(der, len, md, NULL, EVP_sha256(), NULL))
		set(fp, "sha256", jhex("", md, 32));
	else
		set(fp, "sha256", json_null());
	if (EVP_Digest(der, len, md, NULL, EVP_sha1(), NULL))
		set(fp, "sha1", jhex("", md, 20));
	else
		set(fp, "sha1", json_null());
	set(o, "fingerprints", fp);
	/* Issuer matches subject and the signature verifies with its own key. */
	set(o, "selfSigned", json_boolean(X509_self_signed(x, 1) == 1));
	set(o, "extensions", jextensions(X509_get0_extensions(x)));
	not_der(o, der_check_cert(x, der, len));
	ERR_clear_error();
	return o;
}

static json_t *
jcsr(X509_REQ *req, const unsigned char *der, size_t len)
{
	json_t *o = new_object();
	const X509_ALGOR *alg;
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *gens;
	EVP_PKEY *pk;
	int crit;

	exts = X509_REQ_get_extensions(req);
	ERR_clear_error();
	set(o, "type", json_string("csr"));
	set(o, "version", json_integer(X509_REQ_get_version(req) + 1));
	set(o, "subject", jname(X509_REQ_get_subject_name(req)));
	set(o, "publicKey", jpubkey(X509_REQ_get_X509_PUBKEY(req)));
	X509_REQ_get0_signature(req, NULL, &alg);
	set(o, "signatureAlgorithm", jalg(alg));
	pk = X509_REQ_get0_pubkey(req);
	set(o, "signatureValid", json_boolean(pk != NULL &&
	    X509_REQ_verify(req, pk) == 1));
	gens = ext_get(exts, NID_subject_alt_name, &crit);
	set(o, "sans", jsans(gens));
	GENERAL_NAMES_free(gens);
	set(o, "extensions", jextensions(exts));
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	not_der(o, der_check_csr(req, der, len));
	ERR_clear_error();
	return o;
}

/* RFC 5280 5.3.1 CRLReason names; value 7 is unused. */
static const char *const reason_names[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", NULL,
	"removeFromCRL", "privilegeWithdrawn", "aACompromise"
};

const char *
inspect_crl_reason(long long code)
{
	if (code < 0 || (size_t)code >= sizeof(reason_names) /
	    sizeof(reason_names[0]))
		return NULL;
	return reason_names[code];
}

static json_t *
jrevoked(const X509_REVOKED *r)
{
	json_t *o = new_object();
	const STACK_OF(X509_EXTENSION) *exts = X509_REVOKED_get0_extensions(r);
	ASN1_ENUMERATED *reason;
	ASN1_GENERALIZEDTIME *inv;
	int64_t v;
	int crit, known = 0;

	set(o, "serial", jserial(X509_REVOKED_get0_serialNumber(r)));
	set(o, "revocationDate", jtime(X509_REVOKED_get0_revocationDate(r)));
	reason = ext_get(exts, NID_crl_reason, &crit);
	if (reason != NULL && ASN1_ENUMERATED_get_int64(&v, reason)) {
		set(o, "reasonCode", json_integer((json_int_t)v));
		known = v >= 0 && (size_t)v < sizeof(reason_names) /
		    sizeof(reason_names[0]) && reason_names[v] != NULL;
		set(o, "reason", known ? json_string(reason_names[v]) :
		    json_null());
	} else {
		set(o, "reasonCode", json_null());
		set(o, "reason", json_null());
	}
	ASN1_ENUMERATED_free(reason);
	inv = ext_get(exts, NID_invalidity_date, &crit);
	set(o, "invalidityDate", inv ? jtime(inv) : json_null());
	ASN1_GENERALIZEDTIME_free(inv);
	set(o, "extensions", jextensions(exts));
	ERR_clear_error();
	return o;
}

static json_t *
jcrl(X509_CRL *crl, const unsigned char *der, size_t len)
{
	json_t *o = new_object(), *a;
	const STACK_OF(X509_EXTENSION) *exts = X509_CRL_get0_extensions(crl);
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
	const X509_ALGOR *alg;
	ASN1_INTEGER *num;
	int crit, i;

	set(o, "type", json_string("crl"));
	set(o, "version", json_integer(X509_CRL_get_version(crl) + 1));
	set(o, "issuer", jname(X509_CRL_get_issuer(crl)));
	set(o, "thisUpdate", jtime(X509_CRL_get0_lastUpdate(crl)));
	set(o, "nextUpdate", jtime(X509_CRL_get0_nextUpdate(crl)));
	num = ext_get(exts, NID_crl_number, &crit);
	set(o, "number", num ? jdec(num) : json_null());
	ASN1_INTEGER_free(num);
	set(o, "issuingDistributionPoint", jidp(exts));
	set(o, "authorityKeyId", jaki(exts));
	X509_CRL_get0_signature(crl, NULL, &alg);
	set(o, "signatureAlgorithm", jalg(alg));
	a = json_array();
	for (i = 0; i < sk_X509_REVOKED_num(rev); i++)
		push(a, jrevoked(sk_X509_REVOKED_value(rev, i)));
	set(o, "revoked", a);
	set(o, "extensions", jextensions(exts));
	not_der(o, der_check_crl(crl, der, len));
	ERR_clear_error();
	return o;
}

/* One base64url segment of a token, decoded and parsed as a JSON object. */
static int
jose_part(const char *s, size_t len, const char *what, json_t **out)
{
	struct buf b;
	json_error_t e;
	json_t *j;
	char why[JSONERR_LEN];
	int rc;

	*out = NULL;
	if ((rc = b64url_decode(s, len, &b)) != CA_OK) {
		err_prefix("%s", what);
		return rc;
	}
	/* Duplicate members make a token mean two things: refuse it. */
	j = json_loadb((const char *)b.data, b.len,
	    JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
	buf_free(&b);
	if (j == NULL)
		return err_set(CA_INPUT, "%s: invalid JSON: %s", what,
		    jsonerr_text(&e, why, sizeof(why)));
	if (!json_is_object(j)) {
		json_decref(j);
		return err_set(CA_INPUT, "%s: not a JSON object", what);
	}
	*out = j;
	return CA_OK;
}

/* A compact JWS (3 segments) or JWE (5): header and claims, unverified. */
static int
jtoken(const char *tok, size_t len, json_t **out)
{
	size_t off[5], seglen[5], n, i;
	struct buf b;
	json_t *o, *header, *claims = NULL;
	int rc;

	*out = NULL;
	if (len > CA_MAX_JWT)
		return err_set(CA_INPUT, "token exceeds %d bytes", CA_MAX_JWT);
	if ((n = jose_split(tok, len, 5, off, seglen)) > 5)
		return err_set(CA_INPUT, "malformed token: more than 5 segments");
	if (n != 3 && n != 5)
		return err_set(CA_INPUT, "malformed token: %zu segments "
		    "(a JWT has 3, a JWE 5)", n);
	if ((rc = jose_part(tok + off[0], seglen[0], n == 3 ? "JWT header" :
	    "JWE header", &header)) != CA_OK)
		return rc;
	if (n == 3 && (rc = jose_part(tok + off[1], seglen[1], "JWT claims",
	    &claims)) != CA_OK) {
		json_decref(header);
		return rc;
	}
	/* The segments not shown must be strict base64url all the same. */
	for (i = n == 3 ? 2 : 1; i < n; i++) {
		if ((rc = b64url_decode(tok + off[i], seglen[i], &b)) != CA_OK) {
			err_prefix("token segment %zu", i + 1);
			json_decref(header);
			json_decref(claims);
			return rc;
		}
		buf_free(&b);
	}
	o = new_object();
	if (n == 5) {
		set(o, "type", json_string("jwe"));
		set(o, "header", header);
	} else {
		set(o, "type", json_string("jwt"));
		set(o, "verified", json_false());
		set(o, "header", header);
		set(o, "claims", claims);
	}
	*out = o;
	return CA_OK;
}

/* ---- detection --------------------------------------------------------- */

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* 1 if s is nothing but base64url characters and at least one dot. */
static int
looks_like_token(const unsigned char *s, size_t len)
{
	size_t i, dots = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '.')
			dots++;
		else if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return 0;
	}
	return dots > 0;
}

static const char UNRECOGNISED[] =
    "unrecognised input (expected a certificate, CSR, CRL or JWT)";

/* Certificates only: one object, or a chain of them. */
static int
jcerts(const struct pem_block *b, size_t n, json_t **out)
{
	json_t *a, *o;
	X509 *x;
	size_t i;

	a = json_array();
	for (i = 0; i < n; i++) {
		if ((x = pem_d2i_cert(b[i].der, b[i].len)) == NULL) {
			json_decref(a);
			if (n == 1)
				return err_ssl(CA_INPUT, "malformed certificate");
			return err_ssl(CA_INPUT, "certificate %zu of %zu: "
			    "malformed", i + 1, n);
		}
		push(a, jcert(x, b[i].der, b[i].len));
		X509_free(x);
	}
	if (n == 1) {
		*out = json_incref(json_array_get(a, 0));
		json_decref(a);
		if (*out == NULL)
			oom = 1;
		return CA_OK;
	}
	o = new_object();
	set(o, "type", json_string("chain"));
	set(o, "certificates", a);
	*out = o;
	return CA_OK;
}

/* PEM blocks: all certificates, or exactly one CSR or CRL. */
static int
jpem(const struct pem_block *b, size_t n, json_t **out)
{
	X509_REQ *req;
	X509_CRL *crl;
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(b[i].name, "CERTIFICATE") != 0)
			break;
	if (i == n)
		return jcerts(b, n, out);
	if (strcmp(b[i].name, "CERTIFICATE REQUEST") == 0 ||
	    strcmp(b[i].name, "NEW CERTIFICATE REQUEST") == 0) {
		if (n != 1)
			return err_set(CA_INPUT, "a certificate request must be "
			    "the only PEM block");
		if ((req = pem_d2i_csr(b[0].der, b[0].len)) == NULL)
			return err_ssl(CA_INPUT, "malformed certificate request");
		*out = jcsr(req, b[0].der, b[0].len);
		X509_REQ_free(req);
		return CA_OK;
	}
	if (strcmp(b[i].name, "X509 CRL") == 0) {
		if (n != 1)
			return err_set(CA_INPUT, "a CRL must be the only PEM block");
		if (b[0].len > CA_MAX_CRL)
			return err_set(CA_INPUT, "CRL exceeds %d bytes of DER",
			    CA_MAX_CRL);
		if ((crl = pem_d2i_crl(b[0].der, b[0].len)) == NULL)
			return err_ssl(CA_INPUT, "malformed CRL");
		*out = jcrl(crl, b[0].der, b[0].len);
		X509_CRL_free(crl);
		return CA_OK;
	}
	return err_set(CA_INPUT, "unexpected PEM block %s (expected a "
	    "certificate, CSR or CRL)", b[i].name);
}

/* Tell what data is and describe it. */
static int
describe(const unsigned char *data, size_t len, json_t **out)
{
	struct pem_block *b;
	const unsigned char *s = data;
	size_t n, slen = len;
	X509 *x;
	X509_REQ *req;
	X509_CRL *crl;
	int rc;

	*out = NULL;
	while (slen > 0 && is_space(s[0]))
		s++, slen--;
	while (slen > 0 && is_space(s[slen - 1]))
		slen--;
	if (slen == 0)
		return err_set(CA_INPUT, "empty input");
	if (pem_is_pem(data, len)) {
		/* The input bounds the number of blocks. */
		if ((rc = pem_decode(data, len, CA_MAX_PEM, &b, &n)) != CA_OK)
			return rc;
		rc = jpem(b, n, out);
		pem_blocks_free(b, n);
		return rc;
	}
	if (looks_like_token(s, slen))
		return jtoken((const char *)s, slen, out);
	if (memmem(data, len, "-----BEGIN ", 11) != NULL)
		return err_set(CA_INPUT, "PEM: text outside a PEM block");
	if ((x = pem_d2i_cert(data, len)) != NULL) {
		*out = jcert(x, data, len);
		X509_free(x);
	} else if ((req = pem_d2i_csr(data, len)) != NULL) {
		*out = jcsr(req, data, len);
		X509_REQ_free(req);
	} else if ((crl = pem_d2i_crl(data, len)) != NULL) {
		*out = jcrl(crl, data, len);
		X509_CRL_free(crl);
	} else {
		ERR_clear_error();
		return err_set(CA_INPUT, "%s", UNRECOGNISED);
	}
	ERR_clear_error();
	return CA_OK;
}

/* ---- output ------------------------------------------------------------ */

/*
 * Characters jansson leaves raw that a terminal or an editor may act on:
 * DEL, the C1 controls (U+009B is CSI to some terminals), line and
 * paragraph separators, and the bidirectional controls that can make text
 * read differently from what it is.
 */
static int
is_unsafe(unsigned long cp)
{
	return cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c ||
	    cp == 0x200e || cp == 0x200f || cp == 0x2028 || cp == 0x2029 ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * The JSON text with those characters written as \u escapes.  They occur
 * only inside strings, where the escape means the same character, so the
 * document is unchanged for a JSON reader.  json is valid UTF-8 (jansson
 * wrote it).  Returns a malloc'd string ending in a newline, or NULL.
 */
static char *
escape_unsafe(const char *json)
{
	const unsigned char *p = (const unsigned char *)json;
	size_t n = strlen(json), i = 0, o = 0, k, j;
	unsigned long cp;
	char *out;

	if (n > (SIZE_MAX - 2) / 6 || (out = malloc(6 * n + 2)) == NULL)
		return NULL;
	while (i < n) {
		k = p[i] < 0x80 ? 1 : p[i] < 0xe0 ? 2 : p[i] < 0xf0 ? 3 : 4;
		if (k > n - i)
			k = n - i;
		cp = k == 1 ? p[i] : p[i] & (0x7f >> k);
		for (j = 1; j < k; j++)
			cp = cp << 6 | (p[i + j] & 0x3f);
		if (is_unsafe(cp)) {
			snprintf(out + o, 7, "\\u%04lX", cp);
			o += 6;
		} else {
			memcpy(out + o, p + i, k);
			o += k;
		}
		i += k;
	}
	out[o++] = '\n';
	out[o] = '\0';
	return out;
}

int
inspect_bytes(const unsigned char *data, size_t len, json_t **out)
{
	int rc;

	*out = NULL;
	if (len > CA_MAX_CRL_TEXT || (len > CA_MAX_PEM && !pem_is_crl(data, len)))
		return err_set(CA_INPUT, "input exceeds %d bytes", CA_MAX_PEM);
	if (len > CA_MAX_CRL && !pem_is_pem(data, len))
		return err_set(CA_INPUT, "CRL exceeds %d bytes of DER",
		    CA_MAX_CRL);
	oom = 0;
	if ((rc = describe(data, len, out)) != CA_OK) {
		json_decref(*out);
		*out = NULL;
		return rc;
	}
	if (oom || *out == NULL) {
		json_decref(*out);
		*out = NULL;
		return err_set(CA_FAIL, "out of memory");
	}
	return CA_OK;
}

char *
inspect_dump(const json_t *j, int compact)
{
	char *text, *out;

	text = json_dumps(j, compact ? JSON_COMPACT : JSON_INDENT(2));
	if (text == NULL) {
		err_set(CA_FAIL, "out of memory");
		return NULL;
	}
	if ((out = escape_unsafe(text)) == NULL)
		err_set(CA_FAIL, "out of memory");
	free(text);
	return out;
}
