/*
 * The TLS 1.3 key schedule (src/tls/keyschedule.c) against standard vectors:
 *
 * 1. RFC 8448 §3 (../shared/vectors/rfc8448/rfc8448.txt): from the X25519
 *    shared secret and ClientHello || ServerHello, derive the server
 *    handshake traffic secret, key and IV, decrypt the server's protected
 *    handshake record and compare it with the trace's plaintext (which
 *    begins with EncryptedExtensions); re-encrypt and compare the record;
 *    a flipped bit must fail the tag check.
 * 2. NIST ACVP TLS-v1.3-KDF-RFC8446 (all 250 records, 8 secrets each), with
 *    the transcript rule of its PROVENANCE.md: the "random" fields stand for
 *    whole messages and Derive-Secret hashes their concatenation.
 *
 * usage: test_keyschedule VECTORS_DIR
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/keyschedule.h"

#include "../check.h"

/* ---- RFC 8448 text ---------------------------------------------------------- */

#define MAX_ITEMS 400
typedef struct {
    char step[160];
    char name[64];
    uint8_t *p;
    size_t len, want;
} item;
static item items[MAX_ITEMS];
static size_t n_items;

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void add_hex(item *it, const char *s)
{
    while (*s) {
        if (hexval(s[0]) >= 0 && hexval(s[1]) >= 0) {
            if (it->len < it->want) {
                it->p[it->len] = (uint8_t)(hexval(s[0]) * 16 + hexval(s[1]));
            }
            it->len++;
            s += 2;
        } else {
            s++;
        }
    }
}

static int is_hex_line(const char *s)
{
    int digits = 0;
    for (; *s && *s != '\n'; s++) {
        if (hexval(*s) >= 0) {
            digits++;
        } else if (*s != ' ' && *s != '\r') {
            return 0;
        }
    }
    return digits > 0;
}

/* Section 3 only: the simple 1-RTT handshake. */
static int load_rfc(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512], step[160] = "";
    int in3 = 0;
    item *cur = NULL;
    if (f == NULL) {
        printf("FAIL cannot open %s (vectors are read from ../shared/vectors)\n", path);
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "3.  Simple 1-RTT Handshake", 26) == 0) {
            in3 = 1;
            continue;
        }
        if (strncmp(line, "4.  Resumed 0-RTT Handshake", 27) == 0) {
            break;
        }
        if (!in3 || strchr(line, '\f') || strncmp(line, "RFC 8448", 8) == 0 ||
            strncmp(line, "Thomson", 7) == 0) {
            continue;
        }
        if (strncmp(line, "   {", 4) == 0) {
            snprintf(step, sizeof(step), "%.150s", line + 3);
            step[strcspn(step, "\n")] = 0;
            cur = NULL;
            continue;
        }
        const char *oct = strstr(line, " octets):");
        if (strncmp(line, "      ", 6) == 0 && line[6] != ' ' && oct != NULL &&
            n_items < MAX_ITEMS) {
            const char *open = oct;
            while (open > line && *open != '(') {
                open--;
            }
            cur = &items[n_items++];
            snprintf(cur->step, sizeof(cur->step), "%s", step);
            snprintf(cur->name, sizeof(cur->name), "%.*s", (int)(open - line - 7), line + 6);
            cur->want = strtoul(open + 1, NULL, 10);
            cur->p = calloc(cur->want + 1, 1);
            add_hex(cur, oct + 9);
            continue;
        }
        if (cur != NULL && line[0] == ' ' && is_hex_line(line)) {
            add_hex(cur, line);
        } else if (line[0] == '\n') {
            continue;
        } else {
            cur = NULL;
        }
    }
    fclose(f);
    for (size_t i = 0; i < n_items; i++) {
        if (items[i].len != items[i].want) {
            printf("FAIL rfc8448: %s / %s: %zu bytes, expected %zu\n", items[i].step, items[i].name,
                   items[i].len, items[i].want);
            return -1;
        }
    }
    return 0;
}

/* The k-th (0-based) item named name whose step contains step_part. */
static const item *find(const char *step_part, const char *name, int k)
{
    for (size_t i = 0; i < n_items; i++) {
        if (strcmp(items[i].name, name) == 0 && strstr(items[i].step, step_part) != NULL &&
            k-- == 0) {
            return &items[i];
        }
    }
    printf("FAIL rfc8448: no item '%s' in a step '%s'\n", name, step_part);
    failures++;
    return NULL;
}

static void test_rfc8448(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/rfc8448/rfc8448.txt", dir);
    if (load_rfc(path) != 0) {
        failures++;
        return;
    }
    const item *ch = find("construct a ClientHello", "ClientHello", 0);
    const item *sh = find("construct a ServerHello", "ServerHello", 0);
    const item *ikm = find("{server}  extract secret \"handshake\"", "IKM", 0);
    const item *s_hs = find("derive secret \"tls13 s hs traffic\"", "expanded", 0);
    const item *key =
        find("{server}  derive write traffic keys for handshake data", "key expanded", 0);
    const item *iv =
        find("{server}  derive write traffic keys for handshake data", "iv expanded", 0);
    const item *ee = find("EncryptedExtensions", "EncryptedExtensions", 0);
    const item *plain = find("{server}  send handshake record", "payload", 1);
    const item *rec = find("{server}  send handshake record", "complete record", 1);
    if (!ch || !sh || !ikm || !s_hs || !key || !iv || !ee || !plain || !rec) {
        return;
    }

    pqt_ks_secrets ks;
    uint8_t th[PQT_KS_MAX_HASH];
    const uint8_t *parts[2] = {ch->p, sh->p};
    size_t lens[2] = {ch->len, sh->len};
    CHECK(pqt_ks_transcript(PQT_KS_SHA256, parts, lens, 2, th) == 0, "transcript");
    CHECK(pqt_ks_early(&ks, PQT_KS_SHA256, NULL, 0, NULL) == 0, "early secret");
    CHECK(pqt_ks_handshake(&ks, ikm->p, ikm->len, th) == 0, "handshake secret");
    CHECK(memcmp(ks.server_hs_traffic, s_hs->p, 32) == 0, "rfc8448 §3 server hs traffic secret");

    pqt_record_keys rk;
    CHECK(pqt_record_keys_init(&rk, 0x1301, ks.server_hs_traffic) == 0, "record keys");
    CHECK(rk.key_len == 16 && memcmp(rk.key, key->p, 16) == 0, "rfc8448 §3 server handshake key");
    CHECK(memcmp(rk.iv, iv->p, 12) == 0, "rfc8448 §3 server handshake iv");

    /* Decrypt the protected flight; it must start with EncryptedExtensions. */
    CHECK(rec->p[0] == 0x17 && rec->len > 5, "the second server record is application_data");
    uint8_t pt[2048], ct_type = 0;
    size_t pt_len = 0;
    CHECK(pqt_record_decrypt(&rk, rec->p, rec->p + 5, rec->len - 5, pt, &pt_len, &ct_type) == 0,
          "rfc8448 §3: decrypt the server's handshake record");
    CHECK(ct_type == 22 && pt_len == plain->len && memcmp(pt, plain->p, pt_len) == 0,
          "decrypted record equals the trace's plaintext");
    CHECK(pt_len >= ee->len && memcmp(pt, ee->p, ee->len) == 0 && pt[0] == 8,
          "decrypted record begins with EncryptedExtensions");
    CHECK(rk.seq == 1, "sequence number advanced");

    /* Encrypting the same plaintext with seq 0 reproduces the record. */
    pqt_record_keys wk;
    uint8_t out[2048];
    size_t out_len = 0;
    CHECK(pqt_record_keys_init(&wk, 0x1301, ks.server_hs_traffic) == 0, "record keys");
    CHECK(pqt_record_encrypt(&wk, 22, plain->p, plain->len, out, sizeof(out), &out_len) == 0 &&
              out_len == rec->len && memcmp(out, rec->p, out_len) == 0,
          "rfc8448 §3: encrypting the plaintext reproduces the record");

    /* Negative: a flipped ciphertext bit, a flipped AAD bit, a short record. */
    uint8_t bad[2048];
    memcpy(bad, rec->p, rec->len);
    bad[100] ^= 1;
    CHECK(pqt_record_keys_init(&rk, 0x1301, ks.server_hs_traffic) == 0, "record keys");
    CHECK(pqt_record_decrypt(&rk, bad, bad + 5, rec->len - 5, pt, &pt_len, &ct_type) ==
              PQT_ERR_CRYPTO_LIB,
          "a flipped ciphertext bit fails the tag");
    memcpy(bad, rec->p, rec->len);
    bad[1] ^= 1;
    CHECK(pqt_record_decrypt(&rk, bad, bad + 5, rec->len - 5, pt, &pt_len, &ct_type) ==
              PQT_ERR_CRYPTO_LIB,
          "a changed record header (AAD) fails the tag");
    CHECK(pqt_record_decrypt(&rk, rec->p, rec->p + 5, 16, pt, &pt_len, &ct_type) == PQT_ERR_LENGTH,
          "a record with no room for a content type is rejected");
    CHECK(rk.seq == 0, "failed decryptions do not advance the sequence number");
    pqt_record_keys zk;
    CHECK(pqt_record_keys_init(&zk, 0x1304, ks.server_hs_traffic) == PQT_ERR_UNSUPPORTED,
          "TLS_AES_128_CCM_SHA256 is not supported");
    printf("  rfc8448 §3: %zu items parsed, handshake keys derived, EncryptedExtensions "
           "decrypted\n",
           n_items);
    for (size_t i = 0; i < n_items; i++) {
        free(items[i].p);
    }
}

/* ---- ACVP ------------------------------------------------------------------ */

static int hex_field(json_t *o, const char *k, uint8_t *out, size_t cap, size_t *len)
{
    const char *s = json_string_value(json_object_get(o, k));
    *len = 0;
    if (s == NULL) {
        return -1;
    }
    size_t n = strlen(s);
    if (n % 2 || n / 2 > cap) {
        return -1;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i] | 0x20), lo = hexval(s[2 * i + 1] | 0x20);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (uint8_t)(hi * 16 + lo);
    }
    *len = n / 2;
    return 0;
}

static void test_acvp(const char *dir)
{
    char path[1024];
    json_error_t err;
    snprintf(path, sizeof(path), "%s/nist-acvp/TLS-v1.3-KDF-RFC8446/internalProjection.json", dir);
    json_t *root = json_load_file(path, 0, &err);
    if (root == NULL) {
        printf("FAIL cannot load %s: %s\n", path, err.text);
        failures++;
        return;
    }
    unsigned n = 0, bad = 0;
    json_t *groups = json_object_get(root, "testGroups");
    for (size_t gi = 0; gi < json_array_size(groups); gi++) {
        json_t *g = json_array_get(groups, gi);
        const char *alg = json_string_value(json_object_get(g, "hmacAlg"));
        const char *mode = json_string_value(json_object_get(g, "runningMode"));
        pqt_ks_hash h = alg && strcmp(alg, "SHA2-384") == 0 ? PQT_KS_SHA384 : PQT_KS_SHA256;
        size_t hl = pqt_ks_hash_len(h);
        json_t *tests = json_object_get(g, "tests");
        for (size_t ti = 0; ti < json_array_size(tests); ti++) {
            json_t *t = json_array_get(tests, ti);
            uint8_t psk[128], dhe[128], hcr[512], hsr[512], fsr[512], fcr[512], want[64];
            size_t psk_len, dhe_len, l1, l2, l3, l4, wl;
            int have_psk = hex_field(t, "psk", psk, sizeof(psk), &psk_len) == 0 && psk_len > 0;
            int have_dhe = hex_field(t, "dhe", dhe, sizeof(dhe), &dhe_len) == 0 && dhe_len > 0;
            if (hex_field(t, "helloClientRandom", hcr, sizeof(hcr), &l1) ||
                hex_field(t, "helloServerRandom", hsr, sizeof(hsr), &l2) ||
                hex_field(t, "finishedServerRandom", fsr, sizeof(fsr), &l3) ||
                hex_field(t, "finishedClientRandom", fcr, sizeof(fcr), &l4)) {
                printf("FAIL acvp tcId %lld: bad input fields\n",
                       (long long)json_integer_value(json_object_get(t, "tcId")));
                bad++;
                continue;
            }
            uint8_t th1[48], th2[48], th3[48], th4[48];
            const uint8_t *parts[4] = {hcr, hsr, fsr, fcr};
            size_t lens[4] = {l1, l2, l3, l4};
            pqt_ks_secrets ks;
            int ok = pqt_ks_transcript(h, parts, lens, 1, th1) == 0 &&
                     pqt_ks_transcript(h, parts, lens, 2, th2) == 0 &&
                     pqt_ks_transcript(h, parts, lens, 3, th3) == 0 &&
                     pqt_ks_transcript(h, parts, lens, 4, th4) == 0 &&
                     pqt_ks_early(&ks, h, have_psk ? psk : NULL, psk_len, th1) == 0 &&
                     pqt_ks_handshake(&ks, have_dhe ? dhe : NULL, dhe_len, th2) == 0 &&
                     pqt_ks_master(&ks, th3) == 0 && pqt_ks_resumption(&ks, th4) == 0;
            static const char *const names[8] = {
                "clientEarlyTrafficSecret",       "earlyExporterMasterSecret",
                "clientHandshakeTrafficSecret",   "serverHandshakeTrafficSecret",
                "clientApplicationTrafficSecret", "serverApplicationTrafficSecret",
                "exporterMasterSecret",           "resumptionMasterSecret"};
            const uint8_t *got[8] = {ks.client_early_traffic,
                                     ks.early_exporter,
                                     ks.client_hs_traffic,
                                     ks.server_hs_traffic,
                                     ks.client_ap_traffic,
                                     ks.server_ap_traffic,
                                     ks.exporter,
                                     ks.resumption};
            for (int i = 0; ok && i < 8; i++) {
                if (hex_field(t, names[i], want, sizeof(want), &wl) != 0 || wl != hl ||
                    memcmp(got[i], want, hl) != 0) {
                    printf("FAIL acvp tcId %lld (%s %s): %s differs\n",
                           (long long)json_integer_value(json_object_get(t, "tcId")), alg, mode,
                           names[i]);
                    ok = 0;
                }
            }
            bad += !ok;
            n++;
            pqt_ks_wipe(&ks, sizeof(ks));
        }
    }
    json_decref(root);
    checks++;
    if (n < 250 || bad > 0) {
        failures++;
        printf("FAIL acvp TLS-v1.3-KDF: %u records, %u failed (expected 250, 0)\n", n, bad);
    } else {
        printf("  acvp TLS-v1.3-KDF-RFC8446: %u records x 8 secrets match\n", n);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s VECTORS_DIR\n", argv[0]);
        return 2;
    }
    test_rfc8448(argv[1]);
    test_acvp(argv[1]);
    printf("test_keyschedule: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
