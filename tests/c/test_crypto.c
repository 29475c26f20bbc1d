/* sys/crypto against published test vectors: FIPS 180-2 (SHA-256),
 * RFC 4231 (HMAC-SHA256) and RFC 4648 §10 (base64). */
#include <stdlib.h>

#include "sys/crypto.h"
#include "tap.h"

static void hexstr(const uint8_t *d, size_t n, char *out)
{
    au_hex_encode(d, n, out);
    out[2 * n] = '\0';
}

static void check_sha(const char *msg, size_t len, const char *want, const char *name)
{
    uint8_t d[AU_SHA256_LEN];
    char hex[65];
    ok(au_sha256(msg, len, d) == 0, "sha256 %s runs", name);
    hexstr(d, sizeof d, hex);
    is_str(hex, want, "sha256 %s", name);
}

static void check_hmac(const uint8_t *key, size_t klen, const char *msg, size_t mlen,
                       const char *want, size_t want_bytes, const char *name)
{
    uint8_t d[AU_SHA256_LEN];
    char hex[65];
    au_hmac_sha256(key, klen, msg, mlen, d);
    hexstr(d, want_bytes, hex);
    is_str(hex, want, "hmac_sha256 RFC 4231 %s", name);
}

int main(void)
{
    check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "\"abc\"");
    check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_sha(m448, strlen(m448), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "448-bit");
    char *million = malloc(1000000);
    memset(million, 'a', 1000000);
    check_sha(million, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "one million a");
    free(million);

    uint8_t k[131];
    memset(k, 0x0b, 20);
    check_hmac(k, 20, "Hi There", 8, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", 32, "case 1");
    check_hmac((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28,
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 32, "case 2");
    char data[50];
    memset(k, 0xaa, 20);
    memset(data, 0xdd, 50);
    check_hmac(k, 20, data, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", 32, "case 3");
    for (int i = 0; i < 25; i++) k[i] = (uint8_t)(i + 1);
    memset(data, 0xcd, 50);
    check_hmac(k, 25, data, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", 32, "case 4");
    memset(k, 0x0c, 20);
    check_hmac(k, 20, "Test With Truncation", 20, "a3b6167473100ee06e0c796c2955552b", 16, "case 5 (truncated)");
    memset(k, 0xaa, 131);
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    check_hmac(k, 131, m6, strlen(m6), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", 32, "case 6");
    const char *m7 = "This is a test using a larger than block-size key and a larger than block-size data. "
                     "The key needs to be hashed before being used by the HMAC algorithm.";
    check_hmac(k, 131, m7, strlen(m7), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", 32, "case 7");

    static const char *b64[][2] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof b64 / sizeof b64[0]; i++) {
        char enc[16] = {0};
        uint8_t dec[16] = {0};
        size_t n = strlen(b64[i][0]);
        au_base64_encode((const uint8_t *)b64[i][0], n, enc);
        is_str(enc, b64[i][1], "base64 RFC 4648 \"%s\"", b64[i][0]);
        long m = au_base64_decode(b64[i][1], strlen(b64[i][1]), dec);
        ok(m == (long)n && memcmp(dec, b64[i][0], n) == 0, "unbase64 RFC 4648 \"%s\"", b64[i][1]);
    }
    uint8_t junk[8];
    is_int(au_base64_decode("Zm9", 3, junk), -1, "base64: length not a multiple of 4 refused");
    is_int(au_base64_decode("Zm9*", 4, junk), -1, "base64: bad character refused");
    is_int(au_base64_decode("Zh==", 4, junk), -1, "base64: stray bits under padding refused");
    is_int(au_base64_decode("Z===", 4, junk), -1, "base64: three pads refused");
    is_int(au_base64_decode("Zg==Zg==", 8, junk), -1, "base64: padding in the middle refused");
    is_int(au_hex_decode("abc", 3, junk), -1, "hex: odd length refused");
    is_int(au_hex_decode("zz", 2, junk), -1, "hex: non-hex refused");
    is_int(au_hex_decode("0aFF", 4, junk), 2, "hex: mixed case decodes");
    ok(junk[0] == 0x0a && junk[1] == 0xff, "hex: values right");

    uint8_t r1[32], r2[32];
    ok(au_random_bytes(r1, sizeof r1) == 0 && au_random_bytes(r2, sizeof r2) == 0, "random bytes");
    ok(memcmp(r1, r2, sizeof r1) != 0, "two random draws differ");
    return done_testing();
}
