/* crypto.h — hashing, MACs and randomness from OpenSSL, and hex/base64 codecs.
 *
 * Plain functions over caller-owned buffers: nothing here allocates.  Output sizes:
 * sha256 and hmac_sha256 write AU_SHA256_LEN bytes; hex_encode 2n; base64_encode
 * au_base64_encoded_len(n) (no terminator written by either). */
#ifndef AU_SYS_CRYPTO_H
#define AU_SYS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define AU_SHA256_LEN 32

int au_sha256(const void *data, size_t len, uint8_t out[AU_SHA256_LEN]);
int au_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                   uint8_t out[AU_SHA256_LEN]);
/* Cryptographically secure bytes (OpenSSL's RAND_bytes); 0 on success. */
int au_random_bytes(void *out, size_t len);

void au_hex_encode(const uint8_t *in, size_t len, char *out);
/* Returns the number of bytes written to out (len/2), or -1 if in is not hex of even length. */
long au_hex_decode(const char *in, size_t len, uint8_t *out);

size_t au_base64_encoded_len(size_t len);
void au_base64_encode(const uint8_t *in, size_t len, char *out);
/* Standard alphabet with '=' padding (RFC 4648 §4), strict: returns bytes written, or
 * -1 on a bad character, bad length or bad padding.  out needs len/4*3 bytes. */
long au_base64_decode(const char *in, size_t len, uint8_t *out);

#endif
