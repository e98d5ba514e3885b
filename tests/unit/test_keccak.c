/*
 * Keccak-f[1600] implementations (crypto/keccak/keccak_impl.h) against a
 * reference written from the FIPS 202 §3.2 step mappings, on random states,
 * and against each other through the sponges and ML-KEM: the portable
 * (lane-complemented) permutation, the BMI1/BMI2 one and the AVX2 and
 * AVX-512VL four-way ones must give identical bits; paths the CPU lacks are
 * skipped and named. STYLE.md "Fast paths".
 *
 *   test_keccak            the tests
 *   test_keccak --bench    median rdtsc ticks per permutation of each path
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keccak/fips202.h"
#include "crypto/keccak/keccak_f1600_impl.h"
#include "crypto/keccak/keccak_impl.h"
#include "pqtls/mlkem.h"

#ifdef PQT_CONFIG_X86_64
#include <x86intrin.h>

#include "crypto/mlkem/x86_64/keccak_x4_avx2.h"
int pqt_cpu_has_avx2(void); /* crypto/mlkem/impl.h */
#endif

#include "../check.h"

#define TEST_RNG_SEED 0x3C6EF372FE94F82BULL, 0xA54FF53A5F1D36F1ULL
#include "../rng.h"

/* FIPS 202 Algorithm 5, rc(t): one bit of the degree-8 LFSR. */
static unsigned ref_rc_bit(unsigned t)
{
    unsigned r = 1;
    for (unsigned i = 0; i < t % 255; i++) {
        r <<= 1;
        if (r & 0x100) {
            r ^= 0x171; /* x^8 + x^6 + x^5 + x^4 + 1 */
        }
    }
    return r & 1;
}

static uint64_t ref_rol(uint64_t x, unsigned n)
{
    n %= 64;
    return n == 0 ? x : (x << n) | (x >> (64 - n));
}

/* Keccak-p[1600, 24] as the step mappings of FIPS 202 §3.2 read, A[x + 5y]. */
static void ref_f1600(uint64_t a[25])
{
    for (unsigned ir = 0; ir < 24; ir++) {
        uint64_t c[5], b[25];
        for (unsigned x = 0; x < 5; x++) { /* theta */
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        }
        for (unsigned x = 0; x < 5; x++) {
            uint64_t d = c[(x + 4) % 5] ^ ref_rol(c[(x + 1) % 5], 1);
            for (unsigned y = 0; y < 5; y++) {
                a[x + 5 * y] ^= d;
            }
        }
        /* rho: offsets (t+1)(t+2)/2 along (x,y) -> (y, 2x+3y), from (1,0). */
        unsigned x = 1, y = 0;
        for (unsigned t = 0; t < 24; t++) {
            a[x + 5 * y] = ref_rol(a[x + 5 * y], (t + 1) * (t + 2) / 2);
            unsigned nx = y, ny = (2 * x + 3 * y) % 5;
            x = nx, y = ny;
        }
        for (x = 0; x < 5; x++) { /* pi: A'[x,y] = A[x+3y, x] */
            for (y = 0; y < 5; y++) {
                b[x + 5 * y] = a[(x + 3 * y) % 5 + 5 * x];
            }
        }
        for (x = 0; x < 5; x++) { /* chi */
            for (y = 0; y < 5; y++) {
                a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
            }
        }
        uint64_t rc = 0; /* iota */
        for (unsigned j = 0; j <= 6; j++) {
            rc |= (uint64_t)ref_rc_bit(j + 7 * ir) << ((1u << j) - 1);
        }
        a[0] ^= rc;
    }
}

/* The previous round code (plain chi) compiled portably, for --bench. */
static void plain_f1600(uint64_t s[25])
{
    keccakf1600_andn(s);
}

static void test_reference(void)
{
    /* Keccak-f[1600] of the zero state, first lane (the Keccak team's
     * KeccakF-1600 intermediate values): the reference itself must be right. */
    uint64_t s[25] = {0};
    ref_f1600(s);
    CHECK(s[0] == 0xF1258F7940E1DDE7ULL, "reference: lane 0 = %016llx", (unsigned long long)s[0]);
    CHECK(s[24] == 0xEAF1FF7B5CECA249ULL, "reference: lane 24 = %016llx",
          (unsigned long long)s[24]);
}

static void compare_scalar(const char *name, void (*f)(uint64_t[25]))
{
    for (unsigned it = 0; it < 2000; it++) {
        uint64_t a[25], b[25];
        rng_bytes((uint8_t *)a, sizeof(a));
        memcpy(b, a, sizeof(a));
        ref_f1600(a);
        f(b);
        CHECK(memcmp(a, b, sizeof(a)) == 0, "%s differs from the reference (iteration %u)", name,
              it);
    }
    /* A changed input bit must change the output (the comparison can fail). */
    uint64_t a[25] = {0}, b[25] = {0};
    b[7] = 1ULL << 33;
    f(a);
    f(b);
    CHECK(memcmp(a, b, sizeof(a)) != 0, "%s ignores its input", name);
    printf("ok   %s = reference\n", name);
}

#ifdef PQT_CONFIG_X86_64
static void compare_x4(const char *name, void (*f)(__m256i *))
{
    for (unsigned it = 0; it < 500; it++) {
        _Alignas(32) uint64_t v[25][4];
        uint64_t st[4][25];
        rng_bytes((uint8_t *)st, sizeof(st));
        for (unsigned i = 0; i < 25; i++) {
            for (unsigned j = 0; j < 4; j++) {
                v[i][j] = st[j][i];
            }
        }
        f((__m256i *)v);
        for (unsigned j = 0; j < 4; j++) {
            ref_f1600(st[j]);
            for (unsigned i = 0; i < 25; i++) {
                CHECK(v[i][j] == st[j][i], "%s: instance %u lane %u differs (iteration %u)", name,
                      j, i, it);
            }
        }
    }
    printf("ok   %s = reference\n", name);
}
#endif

/* Sponge outputs and ML-KEM outputs under one implementation cap. */
typedef struct {
    uint8_t sha3_256[32], sha3_512[64], shake256[300], shake128[3 * 168];
    uint8_t ek[3][1568], dk[3][3168], ct[3][1568], ss[3][32], ss2[3][32];
} outputs;

static void run_all(outputs *o, const uint8_t *msg, size_t len, const uint8_t seed[64],
                    const uint8_t m[32])
{
    uint64_t s[25];
    pqt_sha3_256(o->sha3_256, msg, len);
    pqt_sha3_512(o->sha3_512, msg, len);
    pqt_shake256(o->shake256, sizeof(o->shake256), msg, len);
    pqt_shake128_absorb_once(s, msg, len < 160 ? len : 160);
    pqt_shake128_squeezeblocks(o->shake128, 3, s);
    for (int alg = PQT_MLKEM512; alg <= PQT_MLKEM1024; alg++) {
        const pqt_mlkem_params *p = pqt_mlkem_params_get((pqt_mlkem_alg)alg);
        int r1 = pqt_mlkem_keygen_derand((pqt_mlkem_alg)alg, o->ek[alg], p->ek_bytes, o->dk[alg],
                                         p->dk_bytes, seed);
        int r2 = pqt_mlkem_encaps_derand((pqt_mlkem_alg)alg, o->ct[alg], p->ct_bytes, o->ss[alg],
                                         o->ek[alg], p->ek_bytes, m);
        int r3 = pqt_mlkem_decaps((pqt_mlkem_alg)alg, o->ss2[alg], o->ct[alg], p->ct_bytes,
                                  o->dk[alg], p->dk_bytes);
        CHECK(r1 == 0 && r2 == 0 && r3 == 0, "%s: %d %d %d", p->name, r1, r2, r3);
        CHECK(memcmp(o->ss[alg], o->ss2[alg], 32) == 0, "%s: decaps(encaps) differs", p->name);
    }
}

static void compare_caps(pqt_backend backend)
{
    static const pqt_keccak_impl caps[] = {PQT_KECCAK_PORTABLE, PQT_KECCAK_BMI, PQT_KECCAK_AVX512};
    static const char *names[] = {"portable", "bmi", "avx512"};
    static outputs out[3];
    if (pqt_mlkem_set_backend(backend) != 0) {
        printf("skip backend %s: not available\n", pqt_backend_name(backend));
        return;
    }
    for (unsigned it = 0; it < 20; it++) {
        uint8_t msg[700], seed[64], m[32];
        size_t len = (size_t)(rng_next() % sizeof(msg));
        rng_bytes(msg, sizeof(msg));
        rng_bytes(seed, sizeof(seed));
        rng_bytes(m, sizeof(m));
        for (unsigned c = 0; c < 3; c++) {
            pqt_keccak_set_max_impl(caps[c]);
            run_all(&out[c], msg, len, seed, m);
        }
        for (unsigned c = 1; c < 3; c++) {
            CHECK(memcmp(&out[0], &out[c], sizeof(out[0])) == 0,
                  "backend %s: Keccak capped at %s differs from portable (len %zu)",
                  pqt_backend_name(backend), names[c], len);
        }
    }
    pqt_keccak_set_max_impl(PQT_KECCAK_AVX512);
    printf("ok   backend %s: sponges and ML-KEM identical with Keccak capped at portable, bmi, "
           "avx512\n",
           pqt_backend_name(backend));
}

#ifdef PQT_CONFIG_X86_64
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

#define BENCH_SAMPLES 20001
#define BENCH_INNER 8

/* Median rdtsc ticks of one call, over BENCH_SAMPLES timings of BENCH_INNER calls. */
static uint64_t bench_scalar(void (*f)(uint64_t[25]))
{
    static uint64_t t[BENCH_SAMPLES];
    uint64_t s[25] = {0};
    for (unsigned i = 0; i < 2000; i++) {
        f(s);
    }
    for (unsigned i = 0; i < BENCH_SAMPLES; i++) {
        uint64_t t0 = __rdtsc();
        for (unsigned k = 0; k < BENCH_INNER; k++) {
            f(s);
        }
        t[i] = (__rdtsc() - t0) / BENCH_INNER;
    }
    qsort(t, BENCH_SAMPLES, sizeof(t[0]), cmp_u64);
    return t[BENCH_SAMPLES / 2];
}

static void (*bench_x4_fn)(__m256i *);
static _Alignas(32) uint64_t bench_x4_state[25][4];

static void bench_x4_call(uint64_t s[25])
{
    (void)s;
    bench_x4_fn((__m256i *)bench_x4_state);
}

static void bench_row(const char *label, void (*f)(uint64_t[25]))
{
    printf("  %-56s %6llu\n", label, (unsigned long long)bench_scalar(f));
}

static int bench(void)
{
    uint64_t warm[25] = {0};
    /* Let the core reach its steady clock before the first row. */
    for (unsigned i = 0; i < 300000; i++) {
        plain_f1600(warm);
    }
    printf("Keccak-f[1600], median rdtsc ticks per call (%d x %d calls)\n", BENCH_SAMPLES,
           BENCH_INNER);
    bench_row("scalar, plain chi, portable flags (the previous code)", plain_f1600);
    bench_row("scalar, lane-complemented, portable", pqt_keccakf1600_portable);
    if (pqt_cpu_has_bmi()) {
        bench_row("scalar, BMI1/BMI2 (ANDN, RORX)", pqt_keccakf1600_bmi);
    }
    bench_row("scalar, as dispatched (pqt_keccakf1600)", pqt_keccakf1600);
    if (pqt_cpu_has_avx2()) {
        bench_x4_fn = pqt_keccakx4_f1600_avx2;
        bench_row("4-way, AVX2", bench_x4_call);
    }
    if (pqt_cpu_has_avx512vl()) {
        bench_x4_fn = pqt_keccakx4_f1600_avx512;
        bench_row("4-way, AVX-512VL (VPROLQ, VPTERNLOGQ)", bench_x4_call);
    }
    return 0;
}
#endif

#ifdef PQT_CONFIG_X86_64
/*
 * pqt_cpu_disable_features (mlkem.h) turns the optional Keccak paths off:
 * the feature queries say no, and the dispatched permutations, now on
 * another path, still match the reference.
 */
static void test_disable_features(void)
{
    const unsigned saved = pqt_cpu_disabled_features();
    pqt_cpu_disable_features(PQT_CPU_AVX512 | PQT_CPU_BMI);
    CHECK(!pqt_cpu_has_avx512vl(), "PQT_CPU_AVX512 disabled: no avx512vl");
    CHECK(!pqt_cpu_has_bmi(), "PQT_CPU_BMI disabled: no bmi");
    compare_scalar("pqt_keccakf1600 (BMI disabled)", pqt_keccakf1600);
    if (pqt_cpu_has_avx2()) {
        compare_x4("pqt_keccakx4_f1600 (AVX-512 disabled)", pqt_keccakx4_f1600);
    }
    pqt_cpu_disable_features(saved);
}
#endif

int main(int argc, char **argv)
{
    if (argc > 1) {
#ifdef PQT_CONFIG_X86_64
        if (strcmp(argv[1], "--bench") == 0) {
            return bench();
        }
#endif
        fprintf(stderr, "usage: %s [--bench]\n", argv[0]);
        return 2;
    }
    test_reference();
    compare_scalar("plain chi (portable flags)", plain_f1600);
    compare_scalar("pqt_keccakf1600_portable", pqt_keccakf1600_portable);
    compare_scalar("pqt_keccakf1600 (dispatched)", pqt_keccakf1600);
#ifdef PQT_CONFIG_X86_64
    if (pqt_cpu_has_bmi()) {
        compare_scalar("pqt_keccakf1600_bmi", pqt_keccakf1600_bmi);
    } else {
        printf("skip pqt_keccakf1600_bmi: CPU has no BMI1/BMI2\n");
    }
    if (pqt_cpu_has_avx2()) {
        compare_x4("pqt_keccakx4_f1600_avx2", pqt_keccakx4_f1600_avx2);
        compare_x4("pqt_keccakx4_f1600 (dispatched)", pqt_keccakx4_f1600);
    } else {
        printf("skip 4-way AVX2: CPU has no AVX2\n");
    }
    if (pqt_cpu_has_avx512vl()) {
        compare_x4("pqt_keccakx4_f1600_avx512", pqt_keccakx4_f1600_avx512);
    } else {
        printf("skip pqt_keccakx4_f1600_avx512: no AVX-512F/VL (or OS/valgrind/"
               "PQT_DISABLE_AVX512)\n");
    }
    test_disable_features();
#endif
    compare_caps(PQT_BACKEND_PORTABLE);
    compare_caps(PQT_BACKEND_AVX2);
    if (pqt_mlkem_set_backend(PQT_BACKEND_AUTO) != 0) {
        failures++;
    }
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all Keccak checks passed\n");
    return 0;
}
