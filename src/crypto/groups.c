/*
 * The named-group table (include/pqtls/groups.h). Share sizes:
 *   X25519 32; P-256 uncompressed 65; P-384 97; P-521 133; X448 56.
 *   ML-KEM-512/768/1024: ek 800/1184/1568, ct 768/1088/1568, secret 32.
 * RFC 10024 §3 (hybrid shares are plain concatenations): X25519MLKEM768 puts
 * the ML-KEM part first; SecP256r1MLKEM768 and SecP384r1MLKEM1024 put the EC
 * point first. The shared secret concatenates in the same order.
 */
#include <strings.h>

#include "pqtls/groups.h"

/* clang-format off */
static const pqt_group groups[] = {
    {PQT_GROUP_SECP256R1, "secp256r1", "P-256", PQT_GROUP_KIND_EC, PQT_EC_P256, 0, 0, 0, 65, 65, 65, 32, 128, 0},
    {PQT_GROUP_SECP384R1, "secp384r1", "P-384", PQT_GROUP_KIND_EC, PQT_EC_P384, 0, 0, 0, 97, 97, 97, 48, 192, 0},
    {PQT_GROUP_SECP521R1, "secp521r1", "P-521", PQT_GROUP_KIND_EC, PQT_EC_P521, 0, 0, 0, 133, 133, 133, 66, 256, 0},
    {PQT_GROUP_X25519, "x25519", "X25519", PQT_GROUP_KIND_EC, PQT_EC_X25519, 0, 0, 0, 32, 32, 32, 32, 128, 0},
    {PQT_GROUP_X448, "x448", "X448", PQT_GROUP_KIND_EC, PQT_EC_X448, 0, 0, 0, 56, 56, 56, 56, 224, 0},
    {PQT_GROUP_FFDHE2048, "ffdhe2048", NULL, PQT_GROUP_KIND_FFDHE, PQT_EC_NONE, 0, 0, 0, 0, 256, 256, 0, 103, 0},
    {PQT_GROUP_FFDHE3072, "ffdhe3072", NULL, PQT_GROUP_KIND_FFDHE, PQT_EC_NONE, 0, 0, 0, 0, 384, 384, 0, 125, 0},
    {PQT_GROUP_FFDHE4096, "ffdhe4096", NULL, PQT_GROUP_KIND_FFDHE, PQT_EC_NONE, 0, 0, 0, 0, 512, 512, 0, 150, 0},
    {PQT_GROUP_FFDHE6144, "ffdhe6144", NULL, PQT_GROUP_KIND_FFDHE, PQT_EC_NONE, 0, 0, 0, 0, 768, 768, 0, 175, 0},
    {PQT_GROUP_FFDHE8192, "ffdhe8192", NULL, PQT_GROUP_KIND_FFDHE, PQT_EC_NONE, 0, 0, 0, 0, 1024, 1024, 0, 192, 0},
    {PQT_GROUP_MLKEM512, "MLKEM512", "ML-KEM-512", PQT_GROUP_KIND_MLKEM, PQT_EC_NONE, 1, PQT_MLKEM512, 1, 0, 800, 768, 32, 128, 1},
    {PQT_GROUP_MLKEM768, "MLKEM768", "ML-KEM-768", PQT_GROUP_KIND_MLKEM, PQT_EC_NONE, 1, PQT_MLKEM768, 1, 0, 1184, 1088, 32, 192, 1},
    {PQT_GROUP_MLKEM1024, "MLKEM1024", "ML-KEM-1024", PQT_GROUP_KIND_MLKEM, PQT_EC_NONE, 1, PQT_MLKEM1024, 1, 0, 1568, 1568, 32, 256, 1},
    {PQT_GROUP_SECP256R1MLKEM768, "SecP256r1MLKEM768", NULL, PQT_GROUP_KIND_HYBRID, PQT_EC_P256, 1, PQT_MLKEM768, 0, 65, 65 + 1184, 65 + 1088, 32 + 32, 128, 1},
    {PQT_GROUP_X25519MLKEM768, "X25519MLKEM768", NULL, PQT_GROUP_KIND_HYBRID, PQT_EC_X25519, 1, PQT_MLKEM768, 1, 32, 1184 + 32, 1088 + 32, 32 + 32, 128, 1},
    {PQT_GROUP_SECP384R1MLKEM1024, "SecP384r1MLKEM1024", NULL, PQT_GROUP_KIND_HYBRID, PQT_EC_P384, 1, PQT_MLKEM1024, 0, 97, 97 + 1568, 97 + 1568, 48 + 32, 192, 1},
    /* Kyber768 round-3 draft shares: X25519 first, then the Kyber part. */
    {PQT_GROUP_X25519KYBER768DRAFT00, "X25519Kyber768Draft00", NULL, PQT_GROUP_KIND_LEGACY_PQ, PQT_EC_X25519, 0, 0, 0, 32, 32 + 1184, 32 + 1088, 64, 128, 0},
    {PQT_GROUP_SECP256R1KYBER768DRAFT00, "SecP256r1Kyber768Draft00", NULL, PQT_GROUP_KIND_LEGACY_PQ, PQT_EC_P256, 0, 0, 0, 65, 65 + 1184, 65 + 1088, 64, 128, 0},
};
/* clang-format on */

#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

const pqt_group *pqt_group_by_code(uint16_t code)
{
    for (size_t i = 0; i < NGROUPS; i++) {
        if (groups[i].code == code) {
            return &groups[i];
        }
    }
    return NULL;
}

const pqt_group *pqt_group_by_name(const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < NGROUPS; i++) {
        if (strcasecmp(groups[i].name, name) == 0 ||
            (groups[i].alias != NULL && strcasecmp(groups[i].alias, name) == 0)) {
            return &groups[i];
        }
    }
    return NULL;
}

const pqt_group *pqt_groups_all(size_t *count)
{
    if (count != NULL) {
        *count = NGROUPS;
    }
    return groups;
}

const char *pqt_group_name(uint16_t code)
{
    const pqt_group *g = pqt_group_by_code(code);
    return g ? g->name : NULL;
}

int pqt_group_is_pq(uint16_t code)
{
    const pqt_group *g = pqt_group_by_code(code);
    return g != NULL && (g->kind == PQT_GROUP_KIND_HYBRID || g->kind == PQT_GROUP_KIND_MLKEM ||
                         g->kind == PQT_GROUP_KIND_LEGACY_PQ);
}
