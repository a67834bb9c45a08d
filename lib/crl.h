/*
 * crl: the certificate revocation list the CA publishes.
 *
 * authority_crl() (declared in authority.h) keeps one current CRL in the
 * database's crl table, signed by the intermediate that issues the
 * leaves.  This header holds its configuration, read from ca.json's
 * "crl" object (confcheck has checked its members and their rules), and
 * the helpers the authority and the programs around it share.
 */
#ifndef INCA_CRL_H
#define INCA_CRL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct authority;

/* cacheDuration when ca.json does not say: nextUpdate = thisUpdate + 24h. */
#define CRL_CACHE_DEFAULT	(24 * 3600)
/*
 * How long a revoked certificate stays listed after its notAfter: a
 * relying party whose clock is a little behind still finds it, and a
 * CRL made just before the expiry keeps it for its whole life anyway.
 */
#define CRL_EXPIRY_GRACE	3600
/* Lost races for a CRL number before giving up (CA_UNAVAIL). */
#define CRL_ATTEMPTS		3

/* ca.json "crl", with the defaults filled in. */
struct crl_conf {
	int		 enabled;	/* "enabled", default true */
	int		 on_revoke;	/* "generateOnRevoke", default true */
	int		 add_dp;	/* "addDistributionPoint", default:
					   true when idpURL is set */
	int64_t		 cache;		/* "cacheDuration", seconds */
	int64_t		 renew;		/* "renewPeriod", default 2/3 cache */
	const char	*idp_url;	/* "idpURL" or NULL (borrowed) */
};

/*
 * Read conf's "crl" object (conf is the whole ca.json, already passed
 * through confcheck_ca()) into c.  Strings are borrowed from conf.
 * CA_FAIL only for a value confcheck would have refused.
 */
int crl_conf_read(const json_t *conf, struct crl_conf *c);

/*
 * The URL to put in a leaf's CRL Distribution Points extension, or NULL
 * for none: idpURL when the CRL is enabled and addDistributionPoint is
 * not false.  Borrowed from c.
 */
const char *crl_leaf_url(const struct crl_conf *c);

/*
 * After a revocation has committed: regenerate the CRL when it is enabled
 * and generateOnRevoke is not false.  A failure is written to stderr
 * (warnx_) and otherwise ignored: the revocation stands, and the next
 * request for the CRL regenerates it (a revocation newer than the stored
 * CRL makes it out of date).
 */
void crl_after_revoke(struct authority *a);

/*
 * thisUpdate and nextUpdate (unix seconds) of the DER CRL der..der+len
 * (either pointer may be NULL).  CA_INPUT if it does not parse or has no
 * nextUpdate.
 */
int crl_times(const unsigned char *der, size_t len, int64_t *this_update,
    int64_t *next_update);

#endif
