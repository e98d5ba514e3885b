/*
 * Keyed pseudonyms (see include/pqtls/mask.h): HMAC-SHA256 from
 * libcrypto, prefix-preserving addresses after Crypto-PAn (Xu, Fan, Ammar,
 * Moon, 2002) with HMAC in place of the AES-based PRF.
 */
#include <ctype.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "pqtls/mask.h"

int pqt_pseudonym_init(pqt_pseudonym *ps, const uint8_t *key, size_t len)
{
    if (ps == NULL || key == NULL) {
        return PQT_ERR_ARG;
    }
    memset(ps, 0, sizeof(*ps));
    if (len < PQT_PSEUDONYM_MIN_KEY || len > PQT_PSEUDONYM_MAX_KEY) {
        return PQT_ERR_LENGTH;
    }
    memcpy(ps->key, key, len);
    ps->key_len = len;
    return 0;
}

int pqt_pseudonym_init_random(pqt_pseudonym *ps)
{
    uint8_t key[32];
    if (ps == NULL) {
        return PQT_ERR_ARG;
    }
    if (RAND_bytes(key, sizeof(key)) != 1) {
        memset(ps, 0, sizeof(*ps));
        return PQT_ERR_RANDOM;
    }
    int ret = pqt_pseudonym_init(ps, key, sizeof(key));
    OPENSSL_cleanse(key, sizeof(key));
    return ret;
}

void pqt_pseudonym_clear(pqt_pseudonym *ps)
{
    if (ps != NULL) {
        OPENSSL_cleanse(ps, sizeof(*ps));
    }
}

/* HMAC-SHA256(key, label || 0 || msg). */
static int mac(const pqt_pseudonym *ps, const char *label, const uint8_t *msg, size_t len,
               uint8_t out[32])
{
    uint8_t buf[256 + 32];
    size_t ll = strlen(label) + 1;
    unsigned int outlen = 0;
    if (ps->key_len == 0 || ll + len > sizeof(buf)) {
        return PQT_ERR_ARG;
    }
    memcpy(buf, label, ll);
    memcpy(buf + ll, msg, len);
    if (HMAC(EVP_sha256(), ps->key, (int)ps->key_len, buf, ll + len, out, &outlen) == NULL ||
        outlen != 32) {
        return PQT_ERR_CRYPTO_LIB;
    }
    return 0;
}

int pqt_pseudonym_name(const pqt_pseudonym *ps, const uint8_t *name, size_t len,
                       char out[PQT_PSEUDONYM_NAME_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t lower[256], md[32];
    if (ps == NULL || out == NULL || (name == NULL && len > 0)) {
        return PQT_ERR_ARG;
    }
    out[0] = 0;
    if (len > sizeof(lower)) {
        len = sizeof(lower); /* DNS names are at most 253 bytes; longer is junk */
    }
    for (size_t i = 0; i < len; i++) {
        lower[i] = (uint8_t)tolower(name[i]);
    }
    int ret = mac(ps, "name", lower, len, md);
    if (ret != 0) {
        return ret;
    }
    out[0] = 'h';
    out[1] = '-';
    for (size_t i = 0; i < 10; i++) {
        out[2 + 2 * i] = hex[md[i] >> 4];
        out[3 + 2 * i] = hex[md[i] & 15];
    }
    out[22] = 0;
    return 0;
}

/* Crypto-PAn over nbits bits of in. */
static int prefix_preserving(const pqt_pseudonym *ps, const char *label, const uint8_t *in,
                             uint8_t *out, unsigned nbytes)
{
    uint8_t msg[1 + 16], md[32];
    for (unsigned i = 0; i < nbytes; i++) {
        out[i] = 0;
    }
    for (unsigned bit = 0; bit < 8 * nbytes; bit++) {
        /* msg = bit index, then the first `bit` bits of the input (rest 0) */
        memset(msg, 0, sizeof(msg));
        msg[0] = (uint8_t)bit;
        for (unsigned j = 0; j < bit; j++) {
            if (in[j / 8] & (0x80 >> (j % 8))) {
                msg[1 + j / 8] |= (uint8_t)(0x80 >> (j % 8));
            }
        }
        int ret = mac(ps, label, msg, 1 + nbytes, md);
        if (ret != 0) {
            memset(out, 0, nbytes);
            return ret;
        }
        unsigned inbit = (in[bit / 8] >> (7 - bit % 8)) & 1;
        if ((inbit ^ (md[0] & 1)) != 0) {
            out[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
        }
    }
    return 0;
}

int pqt_pseudonym_ipv4(const pqt_pseudonym *ps, const uint8_t in[4], uint8_t out[4])
{
    if (ps == NULL || in == NULL || out == NULL) {
        return PQT_ERR_ARG;
    }
    return prefix_preserving(ps, "ip4", in, out, 4);
}

int pqt_pseudonym_ipv6(const pqt_pseudonym *ps, const uint8_t in[16], uint8_t out[16])
{
    if (ps == NULL || in == NULL || out == NULL) {
        return PQT_ERR_ARG;
    }
    return prefix_preserving(ps, "ip6", in, out, 16);
}
