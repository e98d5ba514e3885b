/*
 * Unit tests for src/mask/pseudonym.c as observe --pseudonymise uses it:
 * keyed, prefix-preserving IPv4 and IPv6 pseudonyms, case-insensitive name
 * pseudonyms, another key giving other names, a cleared key refusing.
 */
#include <stdio.h>
#include <string.h>

#include "pqtls/mask.h"

#include "obs_check.h"

/* ---- pseudonyms -------------------------------------------------------------- */

static void test_pseudonym(void)
{
    pqt_pseudonym ps, other;
    uint8_t key[32], a[4] = {10, 1, 2, 3}, b[4] = {10, 1, 2, 200}, c[4] = {10, 1, 3, 3};
    uint8_t pa[4], pb[4], pc[4], pa2[4];
    char n1[PQT_PSEUDONYM_NAME_SIZE], n2[PQT_PSEUDONYM_NAME_SIZE];
    for (int i = 0; i < 32; i++) {
        key[i] = (uint8_t)i;
    }
    CHECK(pqt_pseudonym_init(&ps, key, 15) == PQT_ERR_LENGTH);
    CHECK(pqt_pseudonym_init(&ps, key, 32) == 0);
    CHECK(pqt_pseudonym_ipv4(&ps, a, pa) == 0 && pqt_pseudonym_ipv4(&ps, b, pb) == 0 &&
          pqt_pseudonym_ipv4(&ps, c, pc) == 0 && pqt_pseudonym_ipv4(&ps, a, pa2) == 0);
    CHECK(memcmp(pa, pa2, 4) == 0 && memcmp(pa, a, 4) != 0);
    CHECK(memcmp(pa, pb, 3) == 0 && pa[3] != pb[3]); /* shared /24 kept */
    CHECK(memcmp(pa, pc, 2) == 0 && pa[2] != pc[2]); /* /16 shared, third octet differs */
    uint8_t v6a[16] = {0x20, 0x01, 0x0d, 0xb8}, v6b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1}, o6a[16],
            o6b[16];
    CHECK(pqt_pseudonym_ipv6(&ps, v6a, o6a) == 0 && pqt_pseudonym_ipv6(&ps, v6b, o6b) == 0);
    CHECK(memcmp(o6a, o6b, 4) == 0 && memcmp(o6a, v6a, 16) != 0);
    CHECK(pqt_pseudonym_name(&ps, (const uint8_t *)"Example.COM", 11, n1) == 0);
    CHECK(pqt_pseudonym_name(&ps, (const uint8_t *)"example.com", 11, n2) == 0);
    CHECK(strcmp(n1, n2) == 0 && strncmp(n1, "h-", 2) == 0 && strlen(n1) == 22);
    key[0] ^= 1;
    CHECK(pqt_pseudonym_init(&other, key, 32) == 0);
    CHECK(pqt_pseudonym_name(&other, (const uint8_t *)"example.com", 11, n2) == 0 &&
          strcmp(n1, n2) != 0);
    pqt_pseudonym_clear(&ps);
    CHECK(ps.key_len == 0);
    CHECK(pqt_pseudonym_name(&ps, (const uint8_t *)"x", 1, n1) != 0); /* cleared key refuses */
}

int main(void)
{
    test_pseudonym();
    printf("test_observe_pseudonym: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
