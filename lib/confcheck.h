/*
 * confcheck: a CA home's configuration is checked, not trusted.
 *
 * Every member of ca.json that inca reads is in a schema with its JSON
 * type, at every level.  A member the schema does not know is refused
 * with its JSON path ("authority.provisioners[1].claims.maxTlsCertDuration:
 * unknown member"), so that a misspelt name cannot switch a setting off
 * in silence.  Members of step-ca's ca.json that inca deliberately does
 * not use are accepted, with one warning line each when asked to warn.
 *
 * One check per member: the name policy's rules belong to policy_validate()
 * (called for authority.policy.x509), the order of the claims and the
 * database's busy timeout bound to authority_open(), the database itself
 * to db_open().
 */
#ifndef INCA_CONFCHECK_H
#define INCA_CONFCHECK_H

#include <jansson.h>

/*
 * Check the parsed ca.json conf against the schema: unknown members, JSON
 * types, required members, durations, provisioners (at least one JWK
 * provisioner, names unique, each "key" a public JWK whose "kid" is its
 * RFC 7638 thumbprint).  With warn, each ignored step-ca member is named
 * on stderr (warnx_).  CA_OK, or CA_FAIL "ca.json: PATH: why".
 */
int confcheck_ca(const json_t *conf, int warn);

/*
 * Check the CA home: config/ca.json as confcheck_ca(), then the files it
 * names.  The root and the intermediate chain parse; the intermediate is a
 * CA certificate that chains to the self-signed root and is valid now;
 * "key" and "passwordFile" are regular files nobody but the owner may
 * read; the key decrypts with the password and matches the intermediate;
 * the configuration, the certificates and the SQLite database are not
 * writable by group or others; defaults.json, when present, has the
 * root's fingerprint.  With warn, the ignored members are named once all
 * of this has passed.  Nothing is written.  CA_OK, or CA_FAIL naming the
 * file.  The database's schema and the authority's own decisions are
 * authority_open()'s to check.
 */
int confcheck_home(const char *home, int warn);

#endif
