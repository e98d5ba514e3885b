/*
 * Unit tests for src/observe/family.c: client families from JA4 (exact
 * and by the cipher and extension parts), "unknown" for the rest.
 */
#include <stdio.h>
#include <string.h>

#include "pqtls/observe.h"

#include "obs_check.h"

/* ---- families ---------------------------------------------------------------- */

static void test_families(void)
{
    pqt_obs_families *f = NULL;
    CHECK(pqt_obs_families_new(&f) == 0);
    CHECK(strcmp(pqt_obs_family(f, "t13d1516h2_8daaf6152771_02713d6af862"), "Chrome") == 0);
    CHECK(strcmp(pqt_obs_family(f, "t13d1516h2_8daaf6152771_ffffffffffff"), "Chrome") == 0);
    CHECK(strcmp(pqt_obs_family(f, "t13d9999h2_aaaaaaaaaaaa_bbbbbbbbbbbb"), "unknown") == 0);
    CHECK(strcmp(pqt_obs_family(f, ""), "unknown") == 0);
    pqt_obs_families_free(f);
}

int main(void)
{
    test_families();
    printf("test_observe_family: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
