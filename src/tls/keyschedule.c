/*
 * TLS 1.3 key schedule and record protection (include/pqtls/keyschedule.h),
 * on libcrypto's digests, HMAC and AEAD ciphers.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#include "pqtls/common.h"
#include "pqtls/keyschedule.h"
#include "pqtls/record.h"

/*
 * Digests and AEAD ciphers are fetched from the default library context
 * once per process. EVP_sha256() and friends make every EVP_DigestInit_ex
 * and EVP_DecryptInit_ex fetch the implementation again, and the one-shot
 * HMAC() builds and fetches a MAC each call: the scanner runs the key
 * schedule thousands of times a second, and those fetches were a visible
 * share of its CPU time. Fetched objects live for the whole process.
 */
static EVP_MD *fetched_md[2];
static EVP_CIPHER *fetched_cipher[3];
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
    fetched_md[0] = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    fetched_md[1] = EVP_MD_fetch(NULL, "SHA2-384", NULL);
    fetched_cipher[0] = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    fetched_cipher[1] = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    fetched_cipher[2] = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
}

static const EVP_MD *md_of(pqt_ks_hash h)
{
    pthread_once(&fetch_once, fetch_all);
    return h == PQT_KS_SHA256 ? fetched_md[0] : h == PQT_KS_SHA384 ? fetched_md[1] : NULL;
}

/* Block size of SHA-256 / SHA-384 (RFC 2104's B). */
static size_t block_len(pqt_ks_hash h)
{
    return h == PQT_KS_SHA384 ? 128 : 64;
}

size_t pqt_ks_hash_len(pqt_ks_hash h)
{
    return h == PQT_KS_SHA256 ? 32 : h == PQT_KS_SHA384 ? 48 : 0;
}

void pqt_ks_wipe(void *p, size_t n)
{
    pqt_wipe(p, n);
}

int pqt_ks_suite(uint16_t suite, pqt_ks_hash *h, size_t *key_len)
{
    switch (suite) {
    case 0x1301: /* TLS_AES_128_GCM_SHA256 */
        *h = PQT_KS_SHA256;
        *key_len = 16;
        return 0;
    case 0x1302: /* TLS_AES_256_GCM_SHA384 */
        *h = PQT_KS_SHA384;
        *key_len = 32;
        return 0;
    case 0x1303: /* TLS_CHACHA20_POLY1305_SHA256 */
        *h = PQT_KS_SHA256;
        *key_len = 32;
        return 0;
    default:
        return PQT_ERR_UNSUPPORTED;
    }
}

int pqt_ks_transcript(pqt_ks_hash h, const uint8_t *const *parts, const size_t *lens, size_t n,
                      uint8_t *out)
{
    const EVP_MD *md = md_of(h);
    EVP_MD_CTX *ctx = NULL;
    int ret = PQT_ERR_CRYPTO_LIB;
    if (md == NULL) {
        return PQT_ERR_ARG;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        if (lens[i] > 0 && EVP_DigestUpdate(ctx, parts[i], lens[i]) != 1) {
            goto cleanup;
        }
    }
    if (EVP_DigestFinal_ex(ctx, out, NULL) == 1) {
        ret = 0;
    }
cleanup:
    EVP_MD_CTX_free(ctx);
    return ret;
}

/* HMAC (RFC 2104) over two digest passes on the pre-fetched digest:
 * H((K ^ opad) || H((K ^ ipad) || msg)). */
static int hmac(pqt_ks_hash h, const uint8_t *key, size_t key_len, const uint8_t *msg,
                size_t msg_len, uint8_t *out)
{
    const EVP_MD *md = md_of(h);
    size_t hl = pqt_ks_hash_len(h), bl = block_len(h);
    uint8_t k[128], pad[128], inner[PQT_KS_MAX_HASH];
    EVP_MD_CTX *ctx = NULL;
    int ret = PQT_ERR_CRYPTO_LIB;
    if (md == NULL || hl == 0) {
        return md == NULL && hl != 0 ? PQT_ERR_CRYPTO_LIB : PQT_ERR_ARG;
    }
    memset(k, 0, sizeof(k));
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        goto cleanup;
    }
    if (key_len > bl) {
        /* RFC 2104 §2: keys longer than B are hashed first. */
        if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, key, key_len) != 1 ||
            EVP_DigestFinal_ex(ctx, k, NULL) != 1) {
            goto cleanup;
        }
    } else if (key_len > 0) {
        memcpy(k, key, key_len);
    }
    for (size_t i = 0; i < bl; i++) {
        pad[i] = k[i] ^ 0x36;
    }
    if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, pad, bl) != 1 ||
        (msg_len > 0 && EVP_DigestUpdate(ctx, msg, msg_len) != 1) ||
        EVP_DigestFinal_ex(ctx, inner, NULL) != 1) {
        goto cleanup;
    }
    for (size_t i = 0; i < bl; i++) {
        pad[i] = k[i] ^ 0x5c;
    }
    if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, pad, bl) != 1 ||
        EVP_DigestUpdate(ctx, inner, hl) != 1 || EVP_DigestFinal_ex(ctx, out, NULL) != 1) {
        goto cleanup;
    }
    ret = 0;
cleanup:
    EVP_MD_CTX_free(ctx);
    pqt_wipe(k, sizeof(k));
    pqt_wipe(pad, sizeof(pad));
    pqt_wipe(inner, sizeof(inner));
    if (ret != 0) {
        pqt_wipe(out, hl);
    }
    return ret;
}

int pqt_ks_extract(pqt_ks_hash h, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                   size_t ikm_len, uint8_t *prk)
{
    uint8_t zeros[PQT_KS_MAX_HASH] = {0};
    size_t hl = pqt_ks_hash_len(h);
    if (hl == 0) {
        return PQT_ERR_ARG;
    }
    if (salt == NULL) {
        salt = zeros;
        salt_len = hl;
    }
    if (ikm == NULL) {
        ikm = zeros;
        ikm_len = hl;
    }
    return hmac(h, salt, salt_len, ikm, ikm_len, prk);
}

int pqt_ks_expand_label(pqt_ks_hash h, const uint8_t *secret, const char *label,
                        const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len)
{
    /* struct { uint16 length; opaque label<7..255> = "tls13 " + Label;
     *          opaque context<0..255>; } HkdfLabel;  (RFC 8446 §7.1) */
    uint8_t info[2 + 1 + 255 + 1 + 255 + 1];
    uint8_t t[PQT_KS_MAX_HASH];
    size_t hl = pqt_ks_hash_len(h), label_len = strlen(label), info_len = 0, done = 0;
    int ret = 0;
    if (hl == 0 || label_len > 249 || context_len > 255 || out_len > 255 * hl || out_len > 0xFFFF) {
        return PQT_ERR_ARG;
    }
    info[info_len++] = (uint8_t)(out_len >> 8);
    info[info_len++] = (uint8_t)out_len;
    info[info_len++] = (uint8_t)(6 + label_len);
    memcpy(info + info_len, "tls13 ", 6);
    info_len += 6;
    memcpy(info + info_len, label, label_len);
    info_len += label_len;
    info[info_len++] = (uint8_t)context_len;
    if (context_len > 0) {
        memcpy(info + info_len, context, context_len);
        info_len += context_len;
    }
    /* HKDF-Expand (RFC 5869 §2.3): T(i) = HMAC(PRK, T(i-1) | info | i). */
    uint8_t block[PQT_KS_MAX_HASH + sizeof(info) + 1];
    size_t prev = 0;
    for (uint8_t i = 1; done < out_len; i++) {
        memcpy(block, t, prev);
        memcpy(block + prev, info, info_len);
        block[prev + info_len] = i;
        ret = hmac(h, secret, hl, block, prev + info_len + 1, t);
        if (ret != 0) {
            break;
        }
        size_t take = out_len - done < hl ? out_len - done : hl;
        memcpy(out + done, t, take);
        done += take;
        prev = hl;
    }
    pqt_wipe(t, sizeof(t));
    pqt_wipe(block, sizeof(block));
    if (ret != 0) {
        pqt_wipe(out, out_len);
    }
    return ret;
}

int pqt_ks_derive_secret(pqt_ks_hash h, const uint8_t *secret, const char *label,
                         const uint8_t *transcript_hash, uint8_t *out)
{
    size_t hl = pqt_ks_hash_len(h);
    return pqt_ks_expand_label(h, secret, label, transcript_hash, hl, out, hl);
}

/* Derive-Secret(secret, "derived", "") */
static int derived(pqt_ks_hash h, const uint8_t *secret, uint8_t *out)
{
    uint8_t empty_hash[PQT_KS_MAX_HASH];
    int ret = pqt_ks_transcript(h, NULL, NULL, 0, empty_hash);
    if (ret == 0) {
        ret = pqt_ks_derive_secret(h, secret, "derived", empty_hash, out);
    }
    return ret;
}

int pqt_ks_early(pqt_ks_secrets *s, pqt_ks_hash h, const uint8_t *psk, size_t psk_len,
                 const uint8_t *th_client_hello)
{
    int ret;
    memset(s, 0, sizeof(*s));
    s->hash = h;
    s->hash_len = pqt_ks_hash_len(h);
    if (s->hash_len == 0) {
        return PQT_ERR_ARG;
    }
    ret = pqt_ks_extract(h, NULL, 0, psk, psk_len, s->early);
    if (ret == 0 && th_client_hello != NULL) {
        ret = pqt_ks_derive_secret(h, s->early, "c e traffic", th_client_hello,
                                   s->client_early_traffic);
        if (ret == 0) {
            ret = pqt_ks_derive_secret(h, s->early, "e exp master", th_client_hello,
                                       s->early_exporter);
        }
    }
    if (ret != 0) {
        pqt_wipe(s, sizeof(*s));
    }
    return ret;
}

int pqt_ks_handshake(pqt_ks_secrets *s, const uint8_t *shared, size_t shared_len,
                     const uint8_t *th_server_hello)
{
    uint8_t salt[PQT_KS_MAX_HASH];
    int ret = derived(s->hash, s->early, salt);
    if (ret == 0) {
        ret = pqt_ks_extract(s->hash, salt, s->hash_len, shared, shared_len, s->handshake);
    }
    if (ret == 0) {
        ret = pqt_ks_derive_secret(s->hash, s->handshake, "c hs traffic", th_server_hello,
                                   s->client_hs_traffic);
    }
    if (ret == 0) {
        ret = pqt_ks_derive_secret(s->hash, s->handshake, "s hs traffic", th_server_hello,
                                   s->server_hs_traffic);
    }
    pqt_wipe(salt, sizeof(salt));
    return ret;
}

int pqt_ks_master(pqt_ks_secrets *s, const uint8_t *th_server_finished)
{
    uint8_t salt[PQT_KS_MAX_HASH];
    int ret = derived(s->hash, s->handshake, salt);
    if (ret == 0) {
        ret = pqt_ks_extract(s->hash, salt, s->hash_len, NULL, 0, s->master);
    }
    if (ret == 0) {
        ret = pqt_ks_derive_secret(s->hash, s->master, "c ap traffic", th_server_finished,
                                   s->client_ap_traffic);
    }
    if (ret == 0) {
        ret = pqt_ks_derive_secret(s->hash, s->master, "s ap traffic", th_server_finished,
                                   s->server_ap_traffic);
    }
    if (ret == 0) {
        ret =
            pqt_ks_derive_secret(s->hash, s->master, "exp master", th_server_finished, s->exporter);
    }
    pqt_wipe(salt, sizeof(salt));
    return ret;
}

int pqt_ks_resumption(pqt_ks_secrets *s, const uint8_t *th_client_finished)
{
    return pqt_ks_derive_secret(s->hash, s->master, "res master", th_client_finished,
                                s->resumption);
}

int pqt_record_keys_init(pqt_record_keys *k, uint16_t suite, const uint8_t *traffic_secret)
{
    pqt_ks_hash h;
    size_t key_len;
    int ret = pqt_ks_suite(suite, &h, &key_len);
    memset(k, 0, sizeof(*k));
    if (ret != 0) {
        return ret;
    }
    k->suite = suite;
    k->key_len = key_len;
    ret = pqt_ks_expand_label(h, traffic_secret, "key", NULL, 0, k->key, key_len);
    if (ret == 0) {
        ret = pqt_ks_expand_label(h, traffic_secret, "iv", NULL, 0, k->iv, PQT_KS_IV);
    }
    if (ret != 0) {
        pqt_wipe(k, sizeof(*k));
    }
    return ret;
}

static const EVP_CIPHER *aead_of(uint16_t suite)
{
    pthread_once(&fetch_once, fetch_all);
    switch (suite) {
    case 0x1301:
        return fetched_cipher[0];
    case 0x1302:
        return fetched_cipher[1];
    case 0x1303:
        return fetched_cipher[2];
    default:
        return NULL;
    }
}

/* RFC 8446 §5.3: the 64-bit sequence number, left-padded, XORed with the IV. */
static void record_nonce(const pqt_record_keys *k, uint8_t nonce[PQT_KS_IV])
{
    memcpy(nonce, k->iv, PQT_KS_IV);
    for (unsigned i = 0; i < 8; i++) {
        nonce[PQT_KS_IV - 1 - i] ^= (uint8_t)(k->seq >> (8 * i));
    }
}

int pqt_record_decrypt(pqt_record_keys *k, const uint8_t header[5], const uint8_t *ct,
                       size_t ct_len, uint8_t *pt, size_t *pt_len, uint8_t *content_type)
{
    const EVP_CIPHER *c = aead_of(k->suite);
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t nonce[PQT_KS_IV];
    int n = 0, fin = 0, ret = PQT_ERR_CRYPTO_LIB;
    *pt_len = 0;
    if (c == NULL) {
        return PQT_ERR_UNSUPPORTED;
    }
    /* RFC 8446 §5.2: the encrypted_record is at most 2^14 + 256 bytes. */
    if (ct_len < PQT_KS_TAG + 1 || ct_len > 16384 + 256) {
        return PQT_ERR_LENGTH;
    }
    size_t body = ct_len - PQT_KS_TAG;
    record_nonce(k, nonce);
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL || EVP_DecryptInit_ex(ctx, c, NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, PQT_KS_IV, NULL) != 1 ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, k->key, nonce) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &n, header, 5) != 1 ||
        EVP_DecryptUpdate(ctx, pt, &n, ct, (int)body) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, PQT_KS_TAG, (void *)(ct + body)) != 1 ||
        EVP_DecryptFinal_ex(ctx, pt + n, &fin) != 1) {
        pqt_wipe(pt, body);
        goto cleanup;
    }
    /* RFC 8446 §5.4: strip zero padding; the last non-zero byte is the type. */
    size_t len = body;
    while (len > 0 && pt[len - 1] == 0) {
        len--;
    }
    if (len == 0) {
        ret = PQT_ERR_SYNTAX; /* "unexpected_message" */
        goto cleanup;
    }
    *content_type = pt[len - 1];
    *pt_len = len - 1;
    k->seq++;
    ret = 0;
cleanup:
    EVP_CIPHER_CTX_free(ctx);
    return ret;
}

int pqt_record_encrypt(pqt_record_keys *k, uint8_t content_type, const uint8_t *pt, size_t pt_len,
                       uint8_t *out, size_t cap, size_t *out_len)
{
    const EVP_CIPHER *c = aead_of(k->suite);
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t nonce[PQT_KS_IV];
    int n = 0, fin = 0, ret = PQT_ERR_CRYPTO_LIB;
    *out_len = 0;
    if (c == NULL) {
        return PQT_ERR_UNSUPPORTED;
    }
    size_t inner = pt_len + 1, total = 5 + inner + PQT_KS_TAG;
    if (pt_len > 16384 || cap < total) {
        return PQT_ERR_LENGTH;
    }
    /* RFC 8446 §5.2: opaque_type application_data, legacy_record_version 0x0303. */
    ret = pqt_record_header_put(out, PQT_TLS_CT_APPLICATION_DATA, 0x0303, inner + PQT_KS_TAG);
    if (ret != 0) {
        return ret;
    }
    ret = PQT_ERR_CRYPTO_LIB;
    memmove(out + 5, pt, pt_len);
    out[5 + pt_len] = content_type;
    record_nonce(k, nonce);
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL || EVP_EncryptInit_ex(ctx, c, NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, PQT_KS_IV, NULL) != 1 ||
        EVP_EncryptInit_ex(ctx, NULL, NULL, k->key, nonce) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &n, out, 5) != 1 ||
        EVP_EncryptUpdate(ctx, out + 5, &n, out + 5, (int)inner) != 1 ||
        EVP_EncryptFinal_ex(ctx, out + 5 + n, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, PQT_KS_TAG, out + 5 + inner) != 1) {
        pqt_wipe(out, total);
        goto cleanup;
    }
    k->seq++;
    *out_len = total;
    ret = 0;
cleanup:
    EVP_CIPHER_CTX_free(ctx);
    return ret;
}
