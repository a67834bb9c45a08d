/*
 * policy: which names the CA may sign (ca.json authority.policy.x509).
 *
 *   {"allow": {"cn":[], "dns":[], "ip":[], "email":[], "uri":[]},
 *    "deny":  {...same...}, "allowWildcardNames": false}
 *
 * A name is refused when a deny rule of its type matches it.  When any
 * allow rule exists, a name must match an allow rule of its own type (a
 * type without allow rules is then refused entirely).  DNS rules are exact
 * names or "*.domain" (exactly one more label, never the apex); IP rules
 * are addresses or CIDR ranges; email rules are addresses or "@domain"
 * (a deny rule for an address ignores the case of its local part); URI
 * rules match the URI's host like DNS rules; cn rules match the CN
 * spelled the same or naming the same name.  Wildcard names
 * ("*.x.example") are refused unless allowWildcardNames.
 */
#ifndef INCA_POLICY_H
#define INCA_POLICY_H

#include <jansson.h>

#include "san.h"

/*
 * Check the SANs and the subject CN (may be NULL) against policy (the
 * "x509" object, or NULL/empty for "allow everything but wildcards").
 * The CN must be one of the SANs (sans_find_cn), whatever the policy.
 * CA_OK, CA_REFUSED "policy: <type> name <name> is not allowed" (or
 * "... is denied", or "policy: cn <why>"), or CA_FAIL for a malformed
 * policy.
 */
int policy_check(const json_t *x509, const struct sans *sans, const char *cn);

/* Validate a policy object (every rule parses); CA_FAIL naming the bad rule. */
int policy_validate(const json_t *x509);

#endif
