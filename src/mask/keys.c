/*
 * pqtls mask: the pseudonyms (include/pqtls/mask.h). One 32-byte key;
 * subkeys are HMAC-SHA256(key, label). Addresses: Crypto-PAn with AES-128
 * (Xu, Fan, Ammar, Moon 2002, the construction of the original
 * implementation: AES key = subkey[0..16), pad = AES(subkey[16..32))); the
 * 32 or 128 one-bit PRF calls of an address are independent of each other,
 * so they go to AES-ECB as one batch. Names, MACs and other fields: keyed
 * SipHash-2-4 (128-bit output), expanded with AES-128 in counter mode where
 * more bytes are needed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "mask_internal.h"

/* ---- SipHash-2-4, 64- and 128-bit outputs (Aumasson, Bernstein) ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND           \
    do {                   \
        v0 += v1;          \
        v1 = ROTL(v1, 13); \
        v1 ^= v0;          \
        v0 = ROTL(v0, 32); \
        v2 += v3;          \
        v3 = ROTL(v3, 16); \
        v3 ^= v2;          \
        v0 += v3;          \
        v3 = ROTL(v3, 21); \
        v3 ^= v0;          \
        v2 += v1;          \
        v1 = ROTL(v1, 17); \
        v1 ^= v2;          \
        v2 = ROTL(v2, 32); \
    } while (0)

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static void siphash(const uint64_t k[2], const uint8_t *p, size_t n, uint8_t *out, int outlen)
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ k[0], v1 = 0x646f72616e646f6dULL ^ k[1];
    uint64_t v2 = 0x6c7967656e657261ULL ^ k[0], v3 = 0x7465646279746573ULL ^ k[1];
    uint64_t b = ((uint64_t)n) << 56;
    if (outlen == 16) {
        v1 ^= 0xee;
    }
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t m = le64(p + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    for (size_t j = 0; i + j < n; j++) {
        b |= ((uint64_t)p[i + j]) << (8 * j);
    }
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= (outlen == 16) ? 0xee : 0xff;
    for (int r = 0; r < 4; r++) {
        SIPROUND;
    }
    b = v0 ^ v1 ^ v2 ^ v3;
    for (int j = 0; j < 8; j++) {
        out[j] = (uint8_t)(b >> (8 * j));
    }
    if (outlen == 16) {
        v1 ^= 0xdd;
        for (int r = 0; r < 4; r++) {
            SIPROUND;
        }
        b = v0 ^ v1 ^ v2 ^ v3;
        for (int j = 0; j < 8; j++) {
            out[8 + j] = (uint8_t)(b >> (8 * j));
        }
    }
}

void pqt_m_siphash128(const uint64_t k[2], const uint8_t *p, size_t n, uint8_t out[16])
{
    siphash(k, p, n, out, 16);
}

uint64_t pqt_m_siphash64(const uint64_t k[2], const uint8_t *p, size_t n)
{
    uint8_t o[8];
    siphash(k, p, n, o, 8);
    return le64(o);
}

/* ---- setup ---- */

static int subkey(const uint8_t key[32], const char *label, uint8_t out[32])
{
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), key, 32, (const uint8_t *)label, strlen(label), out, &len) == NULL ||
        len != 32) {
        return PQT_ERR_CRYPTO_LIB;
    }
    return 0;
}

static int ecb_ctx(EVP_CIPHER_CTX **ctx, const uint8_t key[16])
{
    *ctx = EVP_CIPHER_CTX_new();
    if (*ctx == NULL || EVP_EncryptInit_ex(*ctx, EVP_aes_128_ecb(), NULL, key, NULL) != 1) {
        return PQT_ERR_CRYPTO_LIB;
    }
    EVP_CIPHER_CTX_set_padding(*ctx, 0);
    return 0;
}

static void ecb(EVP_CIPHER_CTX *ctx, const uint8_t *in, uint8_t *out, size_t n)
{
    int outl = 0;
    /* ECB without padding on whole blocks cannot fail once initialised. */
    (void)EVP_EncryptUpdate(ctx, out, &outl, in, (int)n);
}

int pqt_mask_new(const uint8_t key[PQT_MASK_KEY_SIZE], const pqt_mask_opts *opts, pqt_mask **out)
{
    uint8_t k[32];
    int ret = PQT_ERR_NOMEM;
    if (key == NULL || out == NULL) {
        return PQT_ERR_ARG;
    }
    *out = NULL;
    pqt_mask *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return PQT_ERR_NOMEM;
    }
    if (opts != NULL) {
        m->opts = *opts;
    }
    if (m->opts.max_hold_bytes == 0) {
        m->opts.max_hold_bytes = 64u << 20;
    }
    if (m->opts.max_flows == 0) {
        m->opts.max_flows = 65536;
    }
    m->cache4 = calloc(MASK_ADDR_CACHE, sizeof(mask_addr_entry));
    m->cache6 = calloc(MASK_ADDR_CACHE, sizeof(mask_addr_entry));
    if (m->cache4 == NULL || m->cache6 == NULL) {
        goto cleanup;
    }
    static const char *const labels[4] = {"pqtls mask name", "pqtls mask bytes", "pqtls mask mac",
                                          "pqtls mask flow"};
    uint64_t *dst[4] = {m->sip_name, m->sip_bytes, m->sip_mac, m->sip_flow};
    for (int i = 0; i < 4; i++) {
        if ((ret = subkey(key, labels[i], k)) != 0) {
            goto cleanup;
        }
        dst[i][0] = le64(k);
        dst[i][1] = le64(k + 8);
    }
    if ((ret = subkey(key, "pqtls mask stream", k)) != 0 || (ret = ecb_ctx(&m->stream, k)) != 0) {
        goto cleanup;
    }
    /* Crypto-PAn: AES key from the first half, the pad is the second half
     * encrypted under it. */
    if ((ret = subkey(key, "pqtls mask crypto-pan", k)) != 0 || (ret = ecb_ctx(&m->pan, k)) != 0) {
        goto cleanup;
    }
    ecb(m->pan, k + 16, m->pan_pad, 16);
    OPENSSL_cleanse(k, sizeof(k));
    *out = m;
    return 0;
cleanup:
    OPENSSL_cleanse(k, sizeof(k));
    pqt_mask_free(m);
    return ret;
}

void pqt_mask_free(pqt_mask *m)
{
    if (m == NULL) {
        return;
    }
    EVP_CIPHER_CTX_free(m->pan);
    EVP_CIPHER_CTX_free(m->stream);
    free(m->cache4);
    free(m->cache6);
    free(m->keep_addr);
    for (size_t i = 0; i < m->n_keep_names; i++) {
        free(m->keep_names[i]);
    }
    free(m->keep_names);
    OPENSSL_cleanse(m, sizeof(*m));
    free(m);
}

int pqt_mask_keep_address(pqt_mask *m, const char *prefix)
{
    char buf[64];
    mask_keep_prefix kp;
    memset(&kp, 0, sizeof(kp));
    if (m == NULL || prefix == NULL || strlen(prefix) >= sizeof(buf)) {
        return PQT_ERR_ARG;
    }
    strcpy(buf, prefix);
    char *slash = strchr(buf, '/');
    long bits = -1;
    if (slash != NULL) {
        char *end = NULL;
        *slash = 0;
        bits = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end != 0 || bits < 0) {
            return PQT_ERR_SYNTAX;
        }
    }
    if (inet_pton(AF_INET, buf, kp.addr) == 1) {
        kp.version = 4;
        if (bits > 32) {
            return PQT_ERR_SYNTAX;
        }
        kp.bits = (uint8_t)(bits < 0 ? 32 : bits);
    } else if (inet_pton(AF_INET6, buf, kp.addr) == 1) {
        kp.version = 6;
        if (bits > 128) {
            return PQT_ERR_SYNTAX;
        }
        kp.bits = (uint8_t)(bits < 0 ? 128 : bits);
    } else {
        return PQT_ERR_SYNTAX;
    }
    mask_keep_prefix *n = realloc(m->keep_addr, (m->n_keep_addr + 1) * sizeof(*n));
    if (n == NULL) {
        return PQT_ERR_NOMEM;
    }
    m->keep_addr = n;
    m->keep_addr[m->n_keep_addr++] = kp;
    memset(m->cache4, 0, MASK_ADDR_CACHE * sizeof(mask_addr_entry));
    memset(m->cache6, 0, MASK_ADDR_CACHE * sizeof(mask_addr_entry));
    return 0;
}

int pqt_mask_keep_name(pqt_mask *m, const char *suffix)
{
    if (m == NULL || suffix == NULL || suffix[0] == 0) {
        return PQT_ERR_ARG;
    }
    while (*suffix == '.') {
        suffix++;
    }
    char **n = realloc(m->keep_names, (m->n_keep_names + 1) * sizeof(*n));
    if (n == NULL) {
        return PQT_ERR_NOMEM;
    }
    m->keep_names = n;
    if ((n[m->n_keep_names] = strdup(suffix)) == NULL) {
        return PQT_ERR_NOMEM;
    }
    for (char *c = n[m->n_keep_names]; *c; c++) {
        *c = (char)tolower((unsigned char)*c);
    }
    m->n_keep_names++;
    return 0;
}

/* ---- mapping file ---- */

static void put_escaped(FILE *f, const uint8_t *p, size_t n, int binary)
{
    for (size_t i = 0; i < n; i++) {
        if (binary) {
            fprintf(f, "%s%02x", (i && binary == 2) ? ":" : "", p[i]);
        } else if (p[i] < 0x21 || p[i] > 0x7e || p[i] == '\\') {
            fprintf(f, "\\x%02x", p[i]);
        } else {
            fputc(p[i], f);
        }
    }
}

void pqt_m_map_line(pqt_mask *m, const char *kind, const uint8_t *orig, size_t olen,
                    const uint8_t *masked, size_t mlen, int binary)
{
    FILE *f = m->opts.mapping;
    if (f == NULL || (olen == mlen && memcmp(orig, masked, olen) == 0)) {
        return;
    }
    fprintf(f, "%s\t", kind);
    put_escaped(f, orig, olen, binary);
    fputc('\t', f);
    put_escaped(f, masked, mlen, binary);
    fputc('\n', f);
}

static void map_addr(pqt_mask *m, int version, const uint8_t *in, const uint8_t *out)
{
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
    if (m->opts.mapping == NULL || memcmp(in, out, version == 4 ? 4 : 16) == 0) {
        return;
    }
    inet_ntop(version == 4 ? AF_INET : AF_INET6, in, a, sizeof(a));
    inet_ntop(version == 4 ? AF_INET : AF_INET6, out, b, sizeof(b));
    fprintf(m->opts.mapping, "ip%d\t%s\t%s\n", version, a, b);
}

/* ---- addresses: Crypto-PAn ---- */

static int kept_addr(const pqt_mask *m, int version, const uint8_t *a)
{
    for (size_t i = 0; i < m->n_keep_addr; i++) {
        const mask_keep_prefix *k = &m->keep_addr[i];
        if (k->version != version) {
            continue;
        }
        unsigned full = k->bits / 8, rest = k->bits % 8;
        if (memcmp(k->addr, a, full) != 0) {
            continue;
        }
        if (rest != 0 && ((k->addr[full] ^ a[full]) & (uint8_t)(0xff00 >> rest)) != 0) {
            continue;
        }
        return 1;
    }
    return 0;
}

static void crypto_pan(pqt_mask *m, const uint8_t *in, uint8_t *out, unsigned nbytes)
{
    uint8_t blocks[128 * 16], enc[128 * 16];
    unsigned nbits = 8 * nbytes;
    for (unsigned i = 0; i < nbits; i++) {
        uint8_t *b = blocks + 16 * i;
        memcpy(b, m->pan_pad, 16);
        /* the first i bits from the address, the rest from the pad */
        for (unsigned j = 0; j < nbytes && 8 * j < i; j++) {
            unsigned take = i - 8 * j >= 8 ? 8 : i - 8 * j;
            uint8_t keep = (uint8_t)(0xff00 >> take);
            b[j] = (uint8_t)((in[j] & keep) | (m->pan_pad[j] & (uint8_t)~keep));
        }
    }
    ecb(m->pan, blocks, enc, 16 * (size_t)nbits);
    memcpy(out, in, nbytes);
    for (unsigned i = 0; i < nbits; i++) {
        out[i / 8] ^= (uint8_t)((enc[16 * i] >> 7) << (7 - i % 8));
    }
}

static void mask_addr(pqt_mask *m, int version, const uint8_t *in, uint8_t *out)
{
    unsigned n = version == 4 ? 4 : 16;
    mask_addr_entry *cache = version == 4 ? m->cache4 : m->cache6;
    uint32_t h = 2166136261u;
    for (unsigned i = 0; i < n; i++) {
        h = (h ^ in[i]) * 16777619u;
    }
    mask_addr_entry *e = &cache[(h ^ (h >> 15)) % MASK_ADDR_CACHE];
    if (e->used && memcmp(e->in, in, n) == 0) {
        memcpy(out, e->out, n);
        return;
    }
    uint8_t tmp[16];
    if (kept_addr(m, version, in)) {
        memcpy(tmp, in, n);
    } else {
        crypto_pan(m, in, tmp, n);
    }
    map_addr(m, version, in, tmp);
    memcpy(e->in, in, n);
    memcpy(e->out, tmp, n);
    e->used = 1;
    memcpy(out, tmp, n);
}

void pqt_mask_ipv4(pqt_mask *m, const uint8_t in[4], uint8_t out[4])
{
    mask_addr(m, 4, in, out);
}

void pqt_mask_ipv6(pqt_mask *m, const uint8_t in[16], uint8_t out[16])
{
    mask_addr(m, 6, in, out);
}

void pqt_mask_mac(pqt_mask *m, const uint8_t in[6], uint8_t out[6])
{
    static const uint8_t zero[6];
    uint8_t h[16], tmp[6];
    /* Multicast and broadcast (I/G bit set) name groups, not hosts; all-zero
     * is the loopback "address": kept. */
    if ((in[0] & 1) != 0 || memcmp(in, zero, 6) == 0) {
        memmove(out, in, 6);
        return;
    }
    pqt_m_siphash128(m->sip_mac, in, 6, h);
    memcpy(tmp, h, 6);
    /* IEEE 802: bit 0 of the first byte is I/G (kept 0 here), bit 1 U/L. */
    tmp[0] = (uint8_t)((tmp[0] & 0xfc) | (in[0] & 0x03));
    pqt_m_map_line(m, "mac", in, 6, tmp, 6, 2);
    memcpy(out, tmp, 6);
}

/* ---- keyed bytes ---- */

void pqt_m_keystream(pqt_mask *m, uint64_t id, uint64_t off, uint8_t *dst, size_t n)
{
    uint8_t ctr[4096], ks[4096];
    while (n > 0) {
        uint64_t blk = off / 16;
        size_t skip = (size_t)(off % 16);
        size_t nblk = (skip + n + 15) / 16;
        if (nblk > sizeof(ctr) / 16) {
            nblk = sizeof(ctr) / 16;
        }
        for (size_t i = 0; i < nblk; i++) {
            uint64_t c = blk + i;
            memcpy(ctr + 16 * i, &id, 8);
            memcpy(ctr + 16 * i + 8, &c, 8);
        }
        ecb(m->stream, ctr, ks, 16 * nblk);
        size_t take = 16 * nblk - skip;
        if (take > n) {
            take = n;
        }
        memcpy(dst, ks + skip, take);
        dst += take;
        off += take;
        n -= take;
    }
}

void pqt_mask_bytes(pqt_mask *m, const char *label, uint8_t *p, size_t len)
{
    uint8_t h[16];
    uint64_t k[2] = {m->sip_bytes[0] ^
                         pqt_m_siphash64(m->sip_bytes, (const uint8_t *)label, strlen(label)),
                     m->sip_bytes[1]};
    if (len == 0) {
        return;
    }
    pqt_m_siphash128(k, p, len, h);
    uint64_t id;
    memcpy(&id, h, 8);
    id |= 1ull << 63; /* apart from the flow ids, which have the top bit clear */
    pqt_m_keystream(m, id, 0, p, len);
    m->st.fields++;
}

/* ---- names ---- */

/* Top-level labels kept as the public suffix (besides every two-letter
 * country code), and the second levels kept under a country code. */
static const char *const tlds[] = {
    "com",     "net",     "org",   "edu",  "gov",   "mil",  "int",   "info",     "biz",
    "io",      "ai",      "app",   "dev",  "cloud", "arpa", "local", "internal", "test",
    "example", "invalid", "onion", "name", "pro",   "mobi", "xyz",   "online",   "site",
    "tech",    "store",   "lan",   "home", "corp",  NULL};
static const char *const sld[] = {"co", "com", "net", "org", "gov", "edu", "ac",  "ne",      "or",
                                  "go", "gob", "mil", "ltd", "plc", "sch", "nic", "in-addr", NULL};

static int label_in(const uint8_t *p, size_t n, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strlen(list[i]) == n && strncasecmp((const char *)p, list[i], n) == 0) {
            return 1;
        }
    }
    return 0;
}

int pqt_m_name_kept(const pqt_mask *m, const uint8_t *name, size_t len)
{
    if (len == 9 && strncasecmp((const char *)name, "localhost", 9) == 0) {
        return 1;
    }
    for (size_t i = 0; i < m->n_keep_names; i++) {
        size_t sl = strlen(m->keep_names[i]);
        if (sl > len || strncasecmp((const char *)name + len - sl, m->keep_names[i], sl) != 0) {
            continue;
        }
        if (sl == len || name[len - sl - 1] == '.') {
            return 1;
        }
    }
    return 0;
}

int pqt_m_is_dnsish(const uint8_t *p, size_t n)
{
    int dot = 0, alpha = 0;
    if (n < 3 || p[0] == '.' || p[n - 1] == '.') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '.') {
            dot = 1;
        } else if (isalpha(c)) {
            alpha = 1;
        } else if (!isdigit(c) && c != '-' && c != '_' && c != '*') {
            return 0;
        }
    }
    return dot && alpha;
}

/* Replace the characters of p[0..n) from the bytes of h (length hn):
 * letters stay letters (case kept), digits digits; keep[c] characters stay. */
static void fill_class(uint8_t *p, size_t n, const uint64_t key[2], const uint8_t *seed,
                       size_t seedlen, const char *keep)
{
    uint8_t h[16], msg[300];
    size_t used = 16;
    unsigned blk = 0;
    if (seedlen > sizeof(msg) - 4) {
        seedlen = sizeof(msg) - 4;
    }
    memcpy(msg, seed, seedlen);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (strchr(keep, c) != NULL && c != 0) {
            continue;
        }
        if (used == 16) {
            memcpy(msg + seedlen, &blk, 4);
            pqt_m_siphash128(key, msg, seedlen + 4, h);
            blk++;
            used = 0;
        }
        uint8_t r = h[used++];
        if (isdigit(c)) {
            p[i] = (uint8_t)('0' + r % 10);
        } else if (isupper(c)) {
            p[i] = (uint8_t)('A' + r % 26);
        } else {
            p[i] = (uint8_t)('a' + r % 26);
        }
    }
}

void pqt_mask_name(pqt_mask *m, uint8_t *name, size_t len)
{
    uint8_t orig[256], lower[256];
    size_t starts[128], nl = 0;
    if (len == 0 || pqt_m_name_kept(m, name, len)) {
        return;
    }
    if (len > sizeof(orig)) {
        /* Not a DNS name (at most 253 bytes): free text. */
        pqt_mask_text(m, name, len);
        return;
    }
    memcpy(orig, name, len);
    for (size_t i = 0; i < len; i++) {
        lower[i] = (uint8_t)tolower(name[i]);
    }
    starts[nl++] = 0;
    for (size_t i = 0; i < len && nl < 128; i++) {
        if (name[i] == '.') {
            starts[nl++] = i + 1;
        }
    }
    /* Public suffix: the top label when it is known or a country code, and a
     * second level such as co.uk under a country code. */
    size_t keep = 0;
    if (nl >= 2) {
        size_t s = starts[nl - 1];
        size_t tl = len - s;
        int alpha2 = tl == 2 && isalpha(name[s]) && isalpha(name[s + 1]);
        if (alpha2 || label_in(name + s, tl, tlds)) {
            keep = 1;
            if (alpha2 && nl >= 3 &&
                label_in(name + starts[nl - 2], starts[nl - 1] - 1 - starts[nl - 2], sld)) {
                keep = 2;
            }
        }
    }
    for (size_t l = 0; l + keep < nl; l++) {
        size_t s = starts[l];
        size_t e = (l + 1 < nl) ? starts[l + 1] - 1 : len;
        if (e - s == 1 && name[s] == '*') {
            continue; /* a wildcard label stays a wildcard */
        }
        /* Keyed by the label and every original label to its right. */
        fill_class(name + s, e - s, m->sip_name, lower + s, len - s, "-_*");
    }
    m->st.names++;
    pqt_m_map_line(m, "name", orig, len, name, len, 0);
}

/* A word of free text: an e-mail address, a DNS-like name, or a token. */
static void mask_word(pqt_mask *m, uint8_t *p, size_t n)
{
    uint8_t *at = memchr(p, '@', n);
    if (at != NULL) {
        size_t local = (size_t)(at - p);
        uint8_t lower[256];
        size_t ll = local < sizeof(lower) ? local : sizeof(lower);
        for (size_t i = 0; i < ll; i++) {
            lower[i] = (uint8_t)tolower(p[i]);
        }
        fill_class(p, local, m->sip_name, lower, ll, ".-_+%");
        pqt_mask_name(m, at + 1, n - local - 1);
        return;
    }
    /* A DNS name has at most 253 bytes; pqt_mask_name gives a longer one
     * back to pqt_mask_text, which would come here again. */
    if (n <= 253 && pqt_m_is_dnsish(p, n)) {
        pqt_mask_name(m, p, n);
        return;
    }
    fill_class(p, n, m->sip_bytes, p, n, "-_.:/+=%~");
}

void pqt_mask_text(pqt_mask *m, uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        if (!(isalnum(c) || c == '@' || c >= 0x80)) {
            i++;
            continue;
        }
        size_t s = i;
        while (i < len && (isalnum(p[i]) || p[i] >= 0x80 || strchr("@.-_+%", p[i]) != NULL) &&
               p[i] != 0) {
            i++;
        }
        size_t e = i;
        while (e > s && p[e - 1] == '.') {
            e--;
        }
        /* bytes >= 0x80 (UTF-8, UTF-16 halves) are replaced as letters */
        mask_word(m, p + s, e - s);
    }
}
