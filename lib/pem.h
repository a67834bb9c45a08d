/*
 * pem: strict PEM and DER input, PEM output.
 *
 * Input is either one DER object or a sequence of PEM blocks with nothing
 * but whitespace around them: text outside a block, a block without its
 * END line, PEM headers (legacy encrypted keys) and bad base64 are all
 * CA_INPUT.  Sizes are checked against CA_MAX_PEM by the caller's read.
 */
#ifndef INCA_PEM_H
#define INCA_PEM_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct pem_block {
	char name[64];          /* "CERTIFICATE", "CERTIFICATE REQUEST", ... */
	unsigned char *der;     /* owned; wiped and freed by pem_blocks_free() */
	size_t len;
};

/*
 * Split data into blocks.  DER input (not starting with "-----BEGIN " after
 * whitespace) gives one block named "" holding the whole input.  At most
 * max blocks (more is CA_INPUT).  Frees nothing of data.
 */
int pem_decode(const unsigned char *data, size_t len, size_t max,
    struct pem_block **out, size_t *n);
void pem_blocks_free(struct pem_block *b, size_t n);
/* 1 if data looks like PEM (first non-space bytes are "-----BEGIN "). */
int pem_is_pem(const unsigned char *data, size_t len);
/*
 * 1 if data claims to be a CRL: its first PEM block is an X509 CRL, or
 * its DER headers are a CRL's (nothing is decoded: the object's own
 * loader does that once).  Decides which size limit applies to an input
 * (CA_MAX_CRL_TEXT instead of CA_MAX_PEM); proves nothing else.
 */
int pem_is_crl(const unsigned char *data, size_t len);

/*
 * Certificates: PEM CERTIFICATE blocks (at most CA_MAX_CHAIN) or one DER
 * certificate.  Each must be strict DER (der_check_cert(); CA_INPUT
 * "certificate: not DER (...)") and consumed exactly (no trailing bytes).
 * *out is a new stack; free with sk_X509_pop_free(*out, X509_free).
 */
int pem_load_certs(const unsigned char *data, size_t len, STACK_OF(X509) **out);
/*
 * One DER certificate, CSR or CRL that takes up all len bytes (at most
 * CA_MAX_PEM; a CRL at most CA_MAX_CRL), as OpenSSL decodes it: BER is accepted here, and the
 * loaders above and below add der_check_cert()/der_check_csr().  NULL
 * when it does not decode (the reason is on OpenSSL's error queue).
 * Free with X509_free(), X509_REQ_free(), X509_CRL_free().
 */
X509 *pem_d2i_cert(const unsigned char *der, size_t len);
X509_REQ *pem_d2i_csr(const unsigned char *der, size_t len);
X509_CRL *pem_d2i_crl(const unsigned char *der, size_t len);

/*
 * The certificates of a file (pem_load_certs; "-" is stdin); a message
 * about its content names the file.
 */
int pem_load_certs_file(const char *path, STACK_OF(X509) **out);
/* Exactly one certificate from a file. */
int pem_load_cert_file(const char *path, X509 **out);

/*
 * One CSR: a PEM "CERTIFICATE REQUEST" block or DER, strict DER
 * throughout (der_check_csr(); CA_INPUT "csr: not DER (...)").  Signature
 * not checked.
 */
int pem_load_csr(const unsigned char *data, size_t len, X509_REQ **out);

/*
 * One private key: PEM "PRIVATE KEY" (PKCS#8), "ENCRYPTED PRIVATE KEY"
 * (needs password; a wrong one is CA_REFUSED), or "EC PRIVATE KEY".
 * password may be NULL for unencrypted keys.
 */
int pem_load_key(const unsigned char *data, size_t len, const char *password,
    EVP_PKEY **out);
int pem_load_key_file(const char *path, const char *password, EVP_PKEY **out);

/* Encode DER as one PEM block (64-column base64).  malloc'd, NUL-terminated. */
char *pem_encode(const char *name, const unsigned char *der, size_t len);
/* A certificate as PEM; malloc'd. */
char *pem_cert(X509 *x);
/*
 * A private key as PKCS#8 PEM: encrypted with PBES2 (AES-256-CBC,
 * PBKDF2-HMAC-SHA256, iter iterations) when password is non-NULL.
 * malloc'd; the caller wipes (io_wipe_str) and frees it.
 */
char *pem_key(EVP_PKEY *key, const char *password, int iter);

#endif
