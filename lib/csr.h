/*
 * csr: certificate requests: the signature check, the names, and
 * building one for a key generated here.  Nothing but the public key and
 * the names is ever read from a CSR.
 */
#ifndef INCA_CSR_H
#define INCA_CSR_H

#include <openssl/x509.h>

#include "san.h"

/*
 * CA_OK if the CSR's self-signature verifies and its key is accepted
 * (key_check).  CA_INPUT otherwise, with the reason.
 */
int csr_check(X509_REQ *req);

/*
 * The CSR's subject CN into cn (empty if none) and its SANs (from the
 * extensionRequest attribute) into *sans, normalised.  CA_INPUT for a
 * malformed name or extension.  The caller frees sans with sans_free().
 */
int csr_names(X509_REQ *req, char *cn, size_t cnlen, struct sans *sans);

/*
 * The names a request asks for: its SANs or, when it has none, its CN
 * read as a name (a CSR made with only -subj /CN=host).  The set is empty
 * when there are no SANs and the CN is absent or not a name.
 */
int csr_requested_names(X509_REQ *req, char *cn, size_t cnlen, struct sans *sans);

/*
 * A CSR for key with subject CN cn (may be NULL) and the given SANs,
 * signed with key.  NULL on failure (message recorded).
 */
X509_REQ *csr_build(EVP_PKEY *key, const char *cn, const struct sans *sans);

/* base64url(SHA-256(DER)) of the CSR, as in a token's cnf.x5rt#S256. */
int csr_thumbprint(X509_REQ *req, char out[44]);

#endif
