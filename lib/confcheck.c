#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca_limits.h"
#include "confcheck.h"
#include "config.h"
#include "err.h"
#include "io.h"
#include "jose.h"
#include "oidc.h"
#include "pem.h"
#include "policy.h"
#include "resolve.h"
#include "san.h"
#include "timeutil.h"
#include "x509.h"

/* What a member's value must be. */
enum kind {
	K_STRING,       /* a non-empty string */
	K_BOOL,
	K_NUMBER,
	K_TLS_VERSION,  /* the number 1.2 or 1.3 */
	K_DURATION,     /* a string time_parse_duration() takes, not negative */
	K_NAMES,        /* a non-empty array of non-empty strings */
	K_OBJECT,       /* an object of the members in sub */
	K_POLICY,       /* authority.policy.x509: policy_validate() */
	K_PROVISIONERS, /* authority.provisioners */
	K_JWK,          /* a provisioner's public key */
	K_CRL,          /* the "crl" object: its members and their rules */
	K_URL,          /* an https:// URL */
	K_PORT,         /* a TCP port: an integer 1..65535 */
	K_CHALLENGES,   /* an ACME provisioner's challenge types */
	K_RULES,        /* an OIDC provisioner's rules */
	K_IGNORED,      /* step-ca's, not used by inca: accepted, warned about */
	K_REFUSED       /* step-ca's, and unsafe to ignore: refused, with why */
};

struct member {
	const char *name;
	enum kind kind;
	int required;
	const struct member *sub;       /* K_OBJECT: its members */
	const char *why;                /* K_REFUSED: the message */
};

#define END { NULL, K_IGNORED, 0, NULL, NULL }
#define IGNORED(n) { n, K_IGNORED, 0, NULL, NULL }

/*
 * The schema.  Every member here is either read by inca or listed, as
 * ignored, in ca.json(5); a change here is a change to that page.
 */
static const struct member claims_m[] = {
	{ "minTLSCertDuration", K_DURATION, 0, NULL, NULL },
	{ "maxTLSCertDuration", K_DURATION, 0, NULL, NULL },
	{ "defaultTLSCertDuration", K_DURATION, 0, NULL, NULL },
	{ "disableRenewal", K_BOOL, 0, NULL, NULL },
	{ "allowRenewalAfterExpiry", K_BOOL, 0, NULL, NULL },
	{ "maxRenewalAfterExpiry", K_DURATION, 0, NULL, NULL },
	{ "maxNotBeforeDelay", K_DURATION, 0, NULL, NULL },
	IGNORED("minUserSSHCertDuration"),
	IGNORED("maxUserSSHCertDuration"),
	IGNORED("defaultUserSSHCertDuration"),
	IGNORED("minHostSSHCertDuration"),
	IGNORED("maxHostSSHCertDuration"),
	IGNORED("defaultHostSSHCertDuration"),
	IGNORED("enableSSHCA"),
	IGNORED("disableSmallstepExtensions"),
	END
};

static const struct member policy_m[] = {
	{ "x509", K_POLICY, 0, NULL, NULL },
	END
};

static const struct member provisioner_m[] = {
	{ "type", K_STRING, 1, NULL, NULL },
	{ "name", K_STRING, 1, NULL, NULL },
	{ "key", K_JWK, 1, NULL, NULL },
	{ "encryptedKey", K_STRING, 0, NULL, NULL },
	{ "claims", K_OBJECT, 0, claims_m, NULL },
	{ "admin", K_BOOL, 0, NULL, NULL },
	IGNORED("options"),
	END
};

/* An OIDC provisioner: an issuer's ID tokens (CI jobs). */
static const struct member oidc_m[] = {
	{ "type", K_STRING, 1, NULL, NULL },
	{ "name", K_STRING, 1, NULL, NULL },
	{ "clientID", K_STRING, 1, NULL, NULL },
	{ "configurationEndpoint", K_URL, 0, NULL, NULL },
	{ "issuer", K_STRING, 0, NULL, NULL },
	{ "jwksUri", K_URL, 0, NULL, NULL },
	{ "jwksFile", K_STRING, 0, NULL, NULL },
	{ "caFile", K_STRING, 0, NULL, NULL },
	{ "admins", K_NAMES, 0, NULL, NULL },
	{ "domains", K_NAMES, 0, NULL, NULL },
	{ "groups", K_NAMES, 0, NULL, NULL },
	{ "rules", K_RULES, 0, NULL, NULL },
	{ "maxTokenAge", K_DURATION, 0, NULL, NULL },
	{ "claims", K_OBJECT, 0, claims_m, NULL },
	{ "admin", K_BOOL, 0, NULL, NULL },
	{ "clientSecret", K_REFUSED, 0, NULL,
	    "not used: inca verifies ID tokens, it never logs users in; "
	    "no secret belongs in ca.json" },
	IGNORED("tenantID"),
	IGNORED("listenAddress"),
	IGNORED("scopes"),
	IGNORED("authParams"),
	IGNORED("options"),
	END
};

/* An X5C provisioner: tokens signed by a certificate another CA issued. */
static const struct member x5c_m[] = {
	{ "type", K_STRING, 1, NULL, NULL },
	{ "name", K_STRING, 1, NULL, NULL },
	{ "roots", K_STRING, 0, NULL, NULL },
	{ "rootsFile", K_STRING, 0, NULL, NULL },
	{ "claims", K_OBJECT, 0, claims_m, NULL },
	{ "admin", K_BOOL, 0, NULL, NULL },
	IGNORED("options"),
	END
};

/*
 * How an ACME provisioner's challenges are validated (ca-acme-va's
 * options): the DNS server to ask, the ports, the deadline, and the
 * address rules over the default deny of internal addresses.
 */
static const struct member acme_validation_m[] = {
	{ "resolver", K_STRING, 0, NULL, NULL },
	{ "httpPort", K_PORT, 0, NULL, NULL },
	{ "tlsPort", K_PORT, 0, NULL, NULL },
	{ "timeout", K_DURATION, 0, NULL, NULL },
	{ "allow", K_NAMES, 0, NULL, NULL },
	{ "deny", K_NAMES, 0, NULL, NULL },
	END
};

/* An ACME provisioner (RFC 8555), served by ca-acme under /acme/{name}/. */
static const struct member acme_m[] = {
	{ "type", K_STRING, 1, NULL, NULL },
	{ "name", K_STRING, 1, NULL, NULL },
	{ "forceCN", K_BOOL, 0, NULL, NULL },
	{ "requireEAB", K_BOOL, 0, NULL, NULL },
	{ "challenges", K_CHALLENGES, 0, NULL, NULL },
	{ "claims", K_OBJECT, 0, claims_m, NULL },
	{ "validation", K_OBJECT, 0, acme_validation_m, NULL },
	{ "termsOfService", K_URL, 0, NULL, NULL },
	{ "website", K_URL, 0, NULL, NULL },
	{ "caaIdentities", K_NAMES, 0, NULL, NULL },
	IGNORED("attestationFormats"),
	IGNORED("attestationRoots"),
	IGNORED("options"),
	END
};

/* The challenge types an ACME provisioner may offer. */
static const char *acme_challenges[] = {
	"http-01", "dns-01", "tls-alpn-01", NULL
};

static const struct member authority_m[] = {
	{ "claims", K_OBJECT, 0, claims_m, NULL },
	{ "policy", K_OBJECT, 0, policy_m, NULL },
	{ "provisioners", K_PROVISIONERS, 1, NULL, NULL },
	{ "backdate", K_DURATION, 0, NULL, NULL },
	{ "maxTokenLifetime", K_DURATION, 0, NULL, NULL },
	IGNORED("type"),
	IGNORED("authorityId"),
	IGNORED("deploymentType"),
	IGNORED("enableAdmin"),
	IGNORED("disableIssuedAtCheck"),
	IGNORED("disableGetSSHHosts"),
	IGNORED("template"),
	END
};

static const struct member db_m[] = {
	{ "type", K_STRING, 1, NULL, NULL },
	{ "dataSource", K_STRING, 1, NULL, NULL },
	{ "busyTimeout", K_DURATION, 0, NULL, NULL },
	IGNORED("database"),
	IGNORED("valueDir"),
	IGNORED("badgerFileLoadingMode"),
	END
};

static const struct member tls_m[] = {
	{ "minVersion", K_TLS_VERSION, 0, NULL, NULL },
	{ "maxVersion", K_TLS_VERSION, 0, NULL, NULL },
	IGNORED("cipherSuites"),
	IGNORED("renegotiation"),
	END
};

/* Where ca-serve reaches a long-lived handler of a route kind (a unix socket). */
static const struct member handlers_m[] = {
	{ "sign", K_STRING, 0, NULL, NULL },
	{ "renew", K_STRING, 0, NULL, NULL },
	{ "revoke", K_STRING, 0, NULL, NULL },
	{ "acme", K_STRING, 0, NULL, NULL },
	END
};

/* The CRL (lib/crl.h): step-ca's names, and the leaves' distribution point. */
static const struct member crl_m[] = {
	{ "enabled", K_BOOL, 0, NULL, NULL },
	{ "generateOnRevoke", K_BOOL, 0, NULL, NULL },
	{ "cacheDuration", K_DURATION, 0, NULL, NULL },
	{ "renewPeriod", K_DURATION, 0, NULL, NULL },
	{ "idpURL", K_STRING, 0, NULL, NULL },
	{ "addDistributionPoint", K_BOOL, 0, NULL, NULL },
	END
};

static const struct member top_m[] = {
	{ "root", K_STRING, 1, NULL, NULL },
	{ "crt", K_STRING, 1, NULL, NULL },
	{ "key", K_STRING, 1, NULL, NULL },
	{ "passwordFile", K_STRING, 0, NULL, NULL },
	{ "address", K_STRING, 0, NULL, NULL },
	{ "dnsNames", K_NAMES, 1, NULL, NULL },
	{ "db", K_OBJECT, 1, db_m, NULL },
	{ "authority", K_OBJECT, 1, authority_m, NULL },
	{ "tls", K_OBJECT, 0, tls_m, NULL },
	{ "handlers", K_OBJECT, 0, handlers_m, NULL },
	{ "crl", K_CRL, 0, crl_m, NULL },
	{ "password", K_REFUSED, 0, NULL,
	    "a password in clear is not read: put it in a file of mode 0600 "
	    "named by passwordFile" },
	{ "kms", K_REFUSED, 0, NULL,
	    "not supported: \"key\" must be a key file" },
	IGNORED("federatedRoots"),
	IGNORED("insecureAddress"),
	IGNORED("metricsAddress"),
	IGNORED("commonName"),
	IGNORED("logger"),
	IGNORED("monitoring"),
	IGNORED("ssh"),
	IGNORED("templates"),
	END
};

/* step-ca's other provisioner types: accepted, not used. */
static const char *other_types[] = {
	"K8sSA", "SSHPOP", "SCEP", "AWS", "GCP",
	"Azure", "Nebula", NULL
};

/* The members a public JWK may have (RFC 7517 4, RFC 7518 6.2.1, 6.3.1). */
static const char *jwk_public[] = {
	"kty", "use", "key_ops", "alg", "kid", "x5u", "x5c", "x5t",
	"x5t#S256", "crv", "x", "y", "n", "e", NULL
};
/* Private members (RFC 7518 6.2.2, 6.3.2, 6.4; RFC 8037 2). */
static const char *jwk_private[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k", NULL
};

#define PATH_LEN 512

static int
in_list(const char *s, const char **list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* A JSON path into out (PATH_LEN bytes); truncated, never overflowing. */
static void pathf(char *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
pathf(char *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, PATH_LEN, fmt, ap);
	va_end(ap);
}

/* path.name, or name at the top. */
static void
join(char *out, const char *path, const char *name)
{
	pathf(out, "%s%s%.64s", path, path[0] ? "." : "", name);
}

static int
bad(const char *path, const char *why)
{
	return err_set(CA_FAIL, "ca.json: %s: %s", path, why);
}

static int check_value(const json_t *v, const char *path,
    const struct member *m, int warn);

static int check_object(const json_t *obj, const char *path,
    const struct member *ms, int warn);

/*
 * An http or https URL of printable ASCII without spaces, with a host:
 * it goes into the CRL's Issuing Distribution Point and the leaves' CRL
 * Distribution Points as an IA5String URI, and relying parties fetch it.
 */
static int
crl_url_ok(const char *u)
{
	const char *p;

	if (strlen(u) > CA_MAX_SAN_LEN)
		return 0;
	if (strncmp(u, "http://", 7) == 0)
		p = u + 7;
	else if (strncmp(u, "https://", 8) == 0)
		p = u + 8;
	else
		return 0;
	if (*p == '\0' || *p == '/' || *p == '?' || *p == '#')
		return 0;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return 0;
	return 1;
}

/* The "crl" object: its members, then the rules between them. */
static int
check_crl(const json_t *v, const char *path, const struct member *m,
    int warn)
{
	char cp[PATH_LEN];
	const json_t *j;
	int64_t cache = 24 * 3600, renew;
	int rc;

	if ((rc = check_object(v, path, m->sub, warn)) != CA_OK)
		return rc;
	if ((j = json_object_get(v, "cacheDuration")) != NULL) {
		time_parse_duration(json_string_value(j), &cache);
		if (cache <= 0) {
			join(cp, path, "cacheDuration");
			return bad(cp, "must be longer than 0s");
		}
	}
	if ((j = json_object_get(v, "renewPeriod")) != NULL) {
		join(cp, path, "renewPeriod");
		time_parse_duration(json_string_value(j), &renew);
		if (renew <= 0)
			return bad(cp, "must be longer than 0s");
		if (renew > cache)
			return bad(cp, "longer than cacheDuration: the CRL "
			    "would expire before it is renewed");
	}
	if ((j = json_object_get(v, "idpURL")) != NULL &&
	    !crl_url_ok(json_string_value(j))) {
		join(cp, path, "idpURL");
		return bad(cp, "must be an http:// or https:// URL with a host, "
		    "printable ASCII without spaces");
	}
	if (json_is_true(json_object_get(v, "addDistributionPoint"))) {
		join(cp, path, "addDistributionPoint");
		if (json_object_get(v, "idpURL") == NULL)
			return bad(cp, "needs idpURL, the URL to put in the "
			    "certificates");
		if (json_is_false(json_object_get(v, "enabled")))
			return bad(cp, "the CRL is disabled (enabled: false): "
			    "certificates would point to no CRL");
	}
	return CA_OK;
}

static int
check_object(const json_t *obj, const char *path, const struct member *ms,
    int warn)
{
	char cp[PATH_LEN];
	const struct member *m;
	const char *k;
	json_t *v;
	int rc;

	if (!json_is_object(obj))
		return bad(path, "must be an object");
	/* jansson keeps the file's order: the first problem is reported. */
	json_object_foreach((json_t *)obj, k, v) {
		join(cp, path, k);
		for (m = ms; m->name != NULL; m++)
			if (strcmp(m->name, k) == 0)
				break;
		if (m->name == NULL)
			return bad(cp, "unknown member");
		if ((rc = check_value(v, cp, m, warn)) != CA_OK)
			return rc;
	}
	for (m = ms; m->name != NULL; m++) {
		if (m->required && json_object_get(obj, m->name) == NULL) {
			join(cp, path, m->name);
			return bad(cp, "required");
		}
	}
	return CA_OK;
}

/* The public JWK of a provisioner; its kid must be its thumbprint. */
static int
check_jwk(const json_t *jwk, const char *path)
{
	char cp[PATH_LEN], *tp;
	const json_t *kid, *use;
	const char *k, *alg;
	EVP_PKEY *pk = NULL;
	json_t *v;
	int rc;

	if (!json_is_object(jwk))
		return bad(path, "must be an object (a public JWK)");
	json_object_foreach((json_t *)jwk, k, v) {
		join(cp, path, k);
		if (in_list(k, jwk_private))
			return bad(cp, "private key material: only the public key belongs here");
		if (!in_list(k, jwk_public))
			return bad(cp, "unknown member");
	}
	join(cp, path, "kid");
	kid = json_object_get(jwk, "kid");
	if (kid == NULL)
		return bad(cp, "required");
	if (!json_is_string(kid) || json_string_length(kid) == 0)
		return bad(cp, "must be a non-empty string");
	use = json_object_get(jwk, "use");
	if (use != NULL && !(json_is_string(use) &&
	    strcmp(json_string_value(use), "sig") == 0)) {
		join(cp, path, "use");
		return bad(cp, "must be \"sig\"");
	}
	if (jwk_import(jwk, JWK_PUBLIC, &pk) != CA_OK) {
		err_prefix("ca.json: %s", path);
		return err_set(CA_FAIL, "%s", err_msg());
	}
	if (jose_key_alg(pk, &alg) != CA_OK) {
		EVP_PKEY_free(pk);
		err_prefix("ca.json: %s", path);
		return err_set(CA_FAIL, "%s", err_msg());
	}
	tp = jwk_thumbprint(pk);
	EVP_PKEY_free(pk);
	if (tp == NULL) {
		err_prefix("ca.json: %s", path);
		return err_set(CA_FAIL, "%s", err_msg());
	}
	/*
	 * A token names its key by kid, and ca-token copies the kid from
	 * here: one that is not the key's own would be carried and accepted.
	 */
	rc = strcmp(tp, json_string_value(kid)) == 0 ? CA_OK :
	    err_set(CA_FAIL, "ca.json: %s: not the key's RFC 7638 thumbprint %s",
	    cp, tp);
	free(tp);
	return rc;
}

/* An OIDC provisioner's rules: [{"match": {claim: pattern...}, "sans": [...]}...]. */
static int
check_rules(const json_t *rules, const char *path)
{
	static const char *claims[] = OIDC_RULE_CLAIMS;
	static const char *rule_members[] = { "match", "sans", NULL };
	char rp[PATH_LEN], cp[PATH_LEN];
	const json_t *r, *m, *v;
	const char *k;
	struct san n;
	size_t i, j;

	if (!json_is_array(rules) || json_array_size(rules) == 0)
		return bad(path, "must be a non-empty array of rules");
	json_array_foreach(rules, i, r) {
		pathf(rp, "%s[%zu]", path, i);
		if (!json_is_object(r))
			return bad(rp, "must be an object {\"match\", \"sans\"}");
		json_object_foreach((json_t *)r, k, v) {
			join(cp, rp, k);
			if (!in_list(k, rule_members))
				return bad(cp, "unknown member");
		}
		m = json_object_get(r, "match");
		join(cp, rp, "match");
		if (!json_is_object(m) || json_object_size(m) == 0)
			return bad(cp, "required: an object of one claim or more "
			    "(a rule that matches every token is refused)");
		json_object_foreach((json_t *)m, k, v) {
			pathf(cp, "%s.match.%.64s", rp, k);
			if (!in_list(k, claims))
				return bad(cp, "unknown claim: repository, ref, workflow, environment or sub");
			if (!json_is_string(v) || json_string_length(v) == 0)
				return bad(cp, "must be a non-empty string");
			if (strspn(json_string_value(v), "*?") == json_string_length(v))
				return bad(cp, "a pattern of wildcards alone matches anything: name the value");
		}
		v = json_object_get(r, "sans");
		join(cp, rp, "sans");
		if (!json_is_array(v) || json_array_size(v) == 0)
			return bad(cp, "required: a non-empty array of names");
		json_array_foreach(v, j, m) {
			pathf(cp, "%s.sans[%zu]", rp, j);
			if (!json_is_string(m))
				return bad(cp, "must be a string");
			if (san_parse(json_string_value(m), &n) != CA_OK) {
				err_prefix("ca.json: %s", cp);
				return err_set(CA_FAIL, "%s", err_msg());
			}
			free(n.value);
		}
	}
	return CA_OK;
}

/* Where an OIDC provisioner's keys come from: one source, and an issuer. */
static int
check_oidc(const json_t *p, const char *pp)
{
	int ep = json_object_get(p, "configurationEndpoint") != NULL;
	int uri = json_object_get(p, "jwksUri") != NULL;
	int file = json_object_get(p, "jwksFile") != NULL;

	if (ep + uri + file != 1)
		return bad(pp, "exactly one of configurationEndpoint, jwksUri and jwksFile");
	if (!ep && json_object_get(p, "issuer") == NULL)
		return bad(pp, "issuer is required with jwksUri or jwksFile");
	if (json_object_get(p, "rules") == NULL &&
	    json_object_get(p, "admins") == NULL)
		return bad(pp, "neither rules nor admins: it could issue nothing");
	return CA_OK;
}

/*
 * The reason of a validator option's refusal, "OPT VALUE: why" or
 * "OPT: why" (lib/resolve's words for ca-acme-va's command line), as a
 * refusal of the ca.json member at path.
 */
static int
bad_option(const char *path, const char *opt, const char *value)
{
	const char *m = err_msg();
	size_t ol = strlen(opt), vl = strlen(value);

	if (strncmp(m, opt, ol) == 0) {
		if (m[ol] == ' ' && strncmp(m + ol + 1, value, vl) == 0 &&
		    strncmp(m + ol + 1 + vl, ": ", 2) == 0)
			m += ol + 1 + vl + 2;
		else if (strncmp(m + ol, ": ", 2) == 0)
			m += ol + 2;
	}
	return err_set(CA_FAIL, "ca.json: %s: %s", path, m);
}

/*
 * An ACME provisioner's "validation" (its members' types checked
 * already): what ca-acme-va would refuse at every validation is refused
 * here, once, with its path.  The address rules are parsed by the
 * validator's own parser (addr_rules_add), no more of them than its
 * arguments hold; the resolver is spelled as resolve_init() takes it;
 * the timeout is within the validator's bounds.
 */
static int
check_acme_validation(const json_t *val, const char *path)
{
	static const char *lists[] = { "allow", "deny", NULL };
	struct addr_rules rules = { NULL, 0 };
	struct resolver res;
	char cp[PATH_LEN];
	const json_t *x;
	int64_t secs;
	size_t i, k, n = 0;
	int rc = CA_OK;

	if (val == NULL)
		return CA_OK;
	for (k = 0; lists[k] != NULL; k++)
		n += json_array_size(json_object_get(val, lists[k]));
	if (n > CA_MAX_ADDR_RULES)
		return err_set(CA_FAIL, "ca.json: %s: %zu allow and deny rules: "
		    "at most %d", path, n, CA_MAX_ADDR_RULES);
	for (k = 0; lists[k] != NULL && rc == CA_OK; k++) {
		json_array_foreach(json_object_get(val, lists[k]), i, x) {
			pathf(cp, "%s.%s[%zu]", path, lists[k], i);
			if (addr_rules_add(&rules, json_string_value(x),
			    k == 0) != CA_OK) {
				rc = bad_option(cp, k == 0 ? "--allow" : "--deny",
				    json_string_value(x));
				break;
			}
		}
	}
	addr_rules_free(&rules);
	if (rc != CA_OK)
		return rc;
	if ((x = json_object_get(val, "resolver")) != NULL &&
	    resolve_init(&res, json_string_value(x), 1000) != CA_OK) {
		join(cp, path, "resolver");
		return bad_option(cp, "--resolver", json_string_value(x));
	}
	if ((x = json_object_get(val, "timeout")) != NULL &&
	    (time_parse_duration(json_string_value(x), &secs) != CA_OK ||
	    secs < 1 || secs > 300)) {
		join(cp, path, "timeout");
		return bad(cp, "a duration from 1s to 5m, such as 10s");
	}
	return CA_OK;
}

static int
check_provisioners(const json_t *provs, const char *path, int warn)
{
	char pp[PATH_LEN], cp[PATH_LEN];
	const json_t *p, *q, *type, *name;
	size_t i, j, njwk = 0;
	int rc;

	if (!json_is_array(provs))
		return bad(path, "must be an array");
	json_array_foreach(provs, i, p) {
		pathf(pp, "%s[%zu]", path, i);
		if (!json_is_object(p))
			return bad(pp, "must be an object");
		type = json_object_get(p, "type");
		join(cp, pp, "type");
		if (type == NULL)
			return bad(cp, "required");
		if (!json_is_string(type))
			return bad(cp, "must be a non-empty string");
		if (strcasecmp(json_string_value(type), "JWK") == 0) {
			if ((rc = check_object(p, pp, provisioner_m, warn)) != CA_OK)
				return rc;
			njwk++;
		} else if (strcasecmp(json_string_value(type), "OIDC") == 0) {
			if ((rc = check_object(p, pp, oidc_m, warn)) != CA_OK ||
			    (rc = check_oidc(p, pp)) != CA_OK)
				return rc;
		} else if (strcasecmp(json_string_value(type), "ACME") == 0) {
			join(cp, pp, "validation");
			if ((rc = check_object(p, pp, acme_m, warn)) != CA_OK ||
			    (rc = check_acme_validation(json_object_get(p,
			    "validation"), cp)) != CA_OK)
				return rc;
		} else if (strcasecmp(json_string_value(type), "X5C") == 0) {
			if ((rc = check_object(p, pp, x5c_m, warn)) != CA_OK)
				return rc;
			if ((json_object_get(p, "roots") == NULL) ==
			    (json_object_get(p, "rootsFile") == NULL))
				return bad(pp, "one of roots and rootsFile is required");
		} else {
			const char **t;

			for (t = other_types; *t != NULL; t++)
				if (strcasecmp(json_string_value(type), *t) == 0)
					break;
			if (*t == NULL)
				return err_set(CA_FAIL,
				    "ca.json: %s: unknown provisioner type \"%.40s\"",
				    cp, json_string_value(type));
			if (warn)
				warnx_("ca.json: %s: ignored (type %s: inca uses JWK provisioners only)",
				    pp, *t);
		}
		/* Names are unique whatever the type: a token's iss is one. */
		name = json_object_get(p, "name");
		join(cp, pp, "name");
		if (name == NULL)
			return bad(cp, "required");
		if (!json_is_string(name) || json_string_length(name) == 0)
			return bad(cp, "must be a non-empty string");
		for (j = 0; j < i; j++) {
			q = json_object_get(json_array_get(provs, j), "name");
			if (json_equal((json_t *)q, (json_t *)name))
				return err_set(CA_FAIL,
				    "ca.json: %s: duplicate name \"%.128s\" (also %s[%zu])",
				    cp, json_string_value(name), path, j);
		}
	}
	if (njwk == 0)
		return bad(path, "no JWK provisioner");
	return CA_OK;
}

static int
check_value(const json_t *v, const char *path, const struct member *m,
    int warn)
{
	const json_t *x;
	int64_t secs;
	size_t i;

	switch (m->kind) {
	case K_STRING:
		if (!json_is_string(v) || json_string_length(v) == 0)
			return bad(path, "must be a non-empty string");
		return CA_OK;
	case K_BOOL:
		return json_is_boolean(v) ? CA_OK : bad(path, "true or false");
	case K_NUMBER:
		return json_is_number(v) ? CA_OK : bad(path, "must be a number");
	case K_TLS_VERSION:
		/* What ca-serve accepts: TLS 1.2 and 1.3, nothing older. */
		if (!json_is_number(v))
			return bad(path, "must be a number");
		if (json_number_value(v) != 1.2 && json_number_value(v) != 1.3)
			return bad(path, "1.2 or 1.3");
		return CA_OK;
	case K_DURATION:
		if (!json_is_string(v) ||
		    time_parse_duration(json_string_value(v), &secs) != CA_OK ||
		    secs < 0)
			return bad(path, "a duration like \"24h\"");
		return CA_OK;
	case K_NAMES:
		if (!json_is_array(v) || json_array_size(v) == 0)
			return bad(path, "must be a non-empty array of names");
		json_array_foreach(v, i, x) {
			if (!json_is_string(x) || json_string_length(x) == 0) {
				char cp[PATH_LEN];

				pathf(cp, "%s[%zu]", path, i);
				return bad(cp, "must be a non-empty string");
			}
		}
		return CA_OK;
	case K_OBJECT:
		return check_object(v, path, m->sub, warn);
	case K_POLICY:
		/* The policy module owns its members and rules. */
		return policy_validate(v) == CA_OK ? CA_OK : CA_FAIL;
	case K_PROVISIONERS:
		return check_provisioners(v, path, warn);
	case K_JWK:
		return check_jwk(v, path);
	case K_CRL:
		return check_crl(v, path, m, warn);
	case K_URL:
		if (!json_is_string(v) ||
		    strncmp(json_string_value(v), "https://", 8) != 0 ||
		    json_string_length(v) <= 8)
			return bad(path, "must be an https:// URL");
		return CA_OK;
	case K_RULES:
		return check_rules(v, path);
	case K_PORT:
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 65535)
			return bad(path, "a port: an integer from 1 to 65535");
		return CA_OK;
	case K_CHALLENGES:
		if (!json_is_array(v) || json_array_size(v) == 0)
			return bad(path, "must be a non-empty array of http-01, "
			    "dns-01, tls-alpn-01");
		json_array_foreach(v, i, x) {
			char cp[PATH_LEN];
			size_t j;

			pathf(cp, "%s[%zu]", path, i);
			if (!json_is_string(x) ||
			    !in_list(json_string_value(x), acme_challenges))
				return bad(cp, "http-01, dns-01 or tls-alpn-01");
			for (j = 0; j < i; j++)
				if (json_equal(x, json_array_get(v, j)))
					return bad(cp, "listed twice");
		}
		return CA_OK;
	case K_IGNORED:
		if (warn)
			warnx_("ca.json: %s: ignored (a step-ca member inca does not use)",
			    path);
		return CA_OK;
	case K_REFUSED:
		return bad(path, m->why);
	}
	return bad(path, "unknown member");
}

int
confcheck_ca(const json_t *conf, int warn)
{
	return check_object(conf, "", top_m, warn);
}

/*
 * path, which others may read, must be a regular file only its owner may
 * change.  Secrets are judged by io_open_secret(), as where they are used.
 */
static int
file_ok(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return err_set(CA_FAIL, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(CA_FAIL, "%s: not a regular file", path);
	if (st.st_mode & 022)
		return err_set(CA_FAIL, "%s: mode %04o: group or others may "
		    "write it (want 0644 or stricter)", path,
		    (unsigned)(st.st_mode & 07777));
	return CA_OK;
}

/* A secret nothing here reads (the root key): checked as if it were read. */
static int
secret_ok(const char *path)
{
	int fd, rc;

	if ((rc = io_open_secret(path, &fd)) == CA_OK)
		close(fd);
	return rc;
}

/* crt's first certificate is a CA certificate chaining to root, valid now. */
static int
chain_ok(X509 *root, STACK_OF(X509) *chain, const char *crt)
{
	X509 *inter = sk_X509_value(chain, 0);
	STACK_OF(X509) *rest = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_STORE *store = NULL;
	int i, rc = CA_FAIL;

	if (X509_check_ca(inter) == 0 ||
	    !(X509_get_key_usage(inter) & KU_KEY_CERT_SIGN))
		return err_set(CA_FAIL, "%s: not a CA certificate that may sign certificates",
		    crt);
	if ((store = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL ||
	    (rest = sk_X509_new_null()) == NULL || X509_STORE_add_cert(store, root) != 1) {
		err_ssl(CA_FAIL, "checking the chain");
		goto out;
	}
	for (i = 1; i < sk_X509_num(chain); i++)
		if (sk_X509_push(rest, sk_X509_value(chain, i)) <= 0) {
			err_ssl(CA_FAIL, "checking the chain");
			goto out;
		}
	if (X509_STORE_CTX_init(ctx, store, inter, rest) != 1) {
		err_ssl(CA_FAIL, "checking the chain");
		goto out;
	}
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
	if (X509_verify_cert(ctx) != 1) {
		err_set(CA_FAIL, "%s: does not chain to the root: %s", crt,
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	rc = CA_OK;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_free(rest);
	return rc;
}

/* defaults.json, if there is one, must name the root's fingerprint. */
static int
defaults_ok(const char *home, X509 *root)
{
	char *p = io_join(home, "config/defaults.json"), fp[65];
	const char *want;
	json_t *d = NULL;
	int rc;

	if (p == NULL)
		return err_set(CA_FAIL, "out of memory");
	if (!io_exists(p)) {
		free(p);
		return CA_OK;
	}
	if ((rc = file_ok(p)) != CA_OK || (rc = config_read_json(p, &d)) != CA_OK ||
	    (rc = x509_fingerprint(root, fp)) != CA_OK)
		goto out;
	want = json_string_value(json_object_get(d, "fingerprint"));
	if (want == NULL || strcmp(want, fp) != 0)
		rc = err_set(CA_FAIL, "%s: fingerprint is not the root's (%s)", p, fp);
out:
	json_decref(d);
	free(p);
	return rc == CA_OK ? CA_OK : CA_FAIL;
}

static char *
conf_path(const char *home, const json_t *conf, const char *name)
{
	const char *v = json_string_value(json_object_get(conf, name));

	return v ? config_resolve(home, v) : NULL;
}

int
confcheck_home(const char *home, int warn)
{
	char *p, *root_p = NULL, *crt_p = NULL, *key_p = NULL, *pw_p = NULL;
	char *db_p = NULL, *rk_p = NULL, *password = NULL;
	const json_t *db;
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	X509 *root = NULL;
	json_t *conf = NULL;
	int rc;

	if ((p = io_join(home, "config/ca.json")) == NULL)
		return err_set(CA_FAIL, "out of memory");
	if (!io_exists(p)) {
		rc = err_set(CA_FAIL, "%s: no CA here (run ca-init, or give --dir)", p);
		goto out;
	}
	if ((rc = file_ok(p)) != CA_OK || (rc = config_read_json(p, &conf)) != CA_OK ||
	    (rc = confcheck_ca(conf, 0)) != CA_OK)
		goto out;
	root_p = conf_path(home, conf, "root");
	crt_p = conf_path(home, conf, "crt");
	key_p = conf_path(home, conf, "key");
	pw_p = conf_path(home, conf, "passwordFile");
	rk_p = io_join(home, "secrets/root_ca_key");
	if (root_p == NULL || crt_p == NULL || key_p == NULL || rk_p == NULL) {
		rc = err_set(CA_FAIL, "out of memory");
		goto out;
	}

	/*
	 * Who may change what; the key and the password file are judged
	 * below, when they are read, by the secret reader itself.
	 */
	if ((rc = file_ok(root_p)) != CA_OK || (rc = file_ok(crt_p)) != CA_OK ||
	    (io_exists(rk_p) && (rc = secret_ok(rk_p)) != CA_OK))
		goto out;
	db = json_object_get(conf, "db");
	if (strcmp(json_string_value(json_object_get(db, "type")), "sqlite") == 0) {
		if ((db_p = conf_path(home, db, "dataSource")) == NULL) {
			rc = err_set(CA_FAIL, "out of memory");
			goto out;
		}
		if ((rc = file_ok(db_p)) != CA_OK)
			goto out;
	}

	/* The certificates. */
	if ((rc = pem_load_cert_file(root_p, &root)) != CA_OK)
		goto out;               /* the message names the file */
	if (X509_check_issued(root, root) != X509_V_OK) {
		rc = err_set(CA_FAIL, "%s: not a self-signed root certificate", root_p);
		goto out;
	}
	if ((rc = pem_load_certs_file(crt_p, &chain)) != CA_OK)
		goto out;
	if ((rc = chain_ok(root, chain, crt_p)) != CA_OK)
		goto out;

	/* The signing key: it decrypts, and it is the intermediate's. */
	if (pw_p != NULL && (rc = io_read_password(pw_p, &password)) != CA_OK)
		goto out;
	rc = pem_load_key_file(key_p, password, &key);
	io_wipe_str(password);
	if (rc != CA_OK)
		goto out;               /* the message names the file */
	if (X509_check_private_key(sk_X509_value(chain, 0), key) != 1) {
		ERR_clear_error();
		rc = err_set(CA_FAIL, "%s: not the key of %s", key_p, crt_p);
		goto out;
	}
	if ((rc = defaults_ok(home, root)) == CA_OK && warn)
		confcheck_ca(conf, 1);  /* the warnings, for a sound home only */
out:
	EVP_PKEY_free(key);
	X509_free(root);
	sk_X509_pop_free(chain, X509_free);
	json_decref(conf);
	free(p);
	free(root_p);
	free(crt_p);
	free(key_p);
	free(pw_p);
	free(db_p);
	free(rk_p);
	/* Whatever went wrong with a CA file, the home is misconfigured. */
	if (rc != CA_OK && rc != CA_FAIL)
		err_set(CA_FAIL, "%s", err_msg());
	return rc == CA_OK ? CA_OK : CA_FAIL;
}
