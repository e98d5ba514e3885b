/*
 * mlkem_peer: the pqtls side of the ML-KEM differential interop test.
 *
 * Reads one request per line on stdin and writes one answer per line on
 * stdout, so that a driver in another language (tests/interop/mlkem_node.mjs)
 * can run hundreds of operations through a single process. Byte strings are
 * lower-case hex.
 *
 *   backends                    -> ok NAME...        (available at run time)
 *   backend NAME                -> ok NAME           (pqt_mlkem_set_backend)
 *   keygen ALG SEED             -> ok EK DK          (64-byte seed d || z)
 *   encaps ALG EK M             -> ok CT SS          (32-byte m)
 *   decaps ALG DK CT            -> ok SS
 *
 * ALG is any name pqt_mlkem_alg_from_name accepts ("ML-KEM-768", "768").
 * A request that fails answers "err PQT_ERR_NAME detail" and the loop goes
 * on: the driver decides whether the failure was expected. Exit status is 0
 * at end of input, 1 if stdin/stdout fail or a line is too long to be a
 * request.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/mlkem.h"

/* Largest byte string in a request: an ML-KEM-1024 decapsulation key. */
#define PEER_MAX_BYTES PQT_MLKEM1024_DK_BYTES
/* "decaps ML-KEM-1024 " + hex dk + " " + hex ct, with room to spare. */
#define PEER_MAX_LINE (64 + 2 * (PQT_MLKEM1024_DK_BYTES + PQT_MLKEM1024_CT_BYTES))

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decode exactly want bytes of hex from s into out. */
static int hex_decode(uint8_t *out, size_t want, const char *s)
{
    if (s == NULL || strlen(s) != 2 * want) {
        return PQT_ERR_LENGTH;
    }
    for (size_t i = 0; i < want; i++) {
        int hi = hexval((unsigned char)s[2 * i]);
        int lo = hexval((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return PQT_ERR_SYNTAX;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static void put_hex(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        putchar(digits[p[i] >> 4]);
        putchar(digits[p[i] & 15]);
    }
}

static void answer_err(int err, const char *detail)
{
    printf("err %s %s\n", pqt_errname(err), detail);
}

/*
 * The byte strings of one request. Static: the crypto core allocates
 * nothing, and these are too large to be comfortable on the stack.
 */
static uint8_t buf_a[PEER_MAX_BYTES];
static uint8_t buf_b[PEER_MAX_BYTES];
static uint8_t buf_ek[PQT_MLKEM1024_EK_BYTES];
static uint8_t buf_dk[PQT_MLKEM1024_DK_BYTES];
static uint8_t buf_ct[PQT_MLKEM1024_CT_BYTES];
static uint8_t buf_ss[PQT_MLKEM_SS_BYTES];

static void wipe_buffers(void)
{
    /* Test keys only, but keep the habit: secrets do not outlive a request. */
    memset(buf_a, 0, sizeof(buf_a));
    memset(buf_b, 0, sizeof(buf_b));
    memset(buf_dk, 0, sizeof(buf_dk));
    memset(buf_ss, 0, sizeof(buf_ss));
}

static int parse_backend(const char *name, pqt_backend *b)
{
    static const pqt_backend all[] = {PQT_BACKEND_AUTO, PQT_BACKEND_PORTABLE, PQT_BACKEND_AVX2};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (name != NULL && strcmp(name, pqt_backend_name(all[i])) == 0) {
            *b = all[i];
            return 0;
        }
    }
    return PQT_ERR_UNSUPPORTED;
}

static void do_backends(void)
{
    static const pqt_backend all[] = {PQT_BACKEND_PORTABLE, PQT_BACKEND_AVX2};
    fputs("ok", stdout);
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (pqt_backend_available(all[i])) {
            printf(" %s", pqt_backend_name(all[i]));
        }
    }
    putchar('\n');
}

static void do_backend(const char *name)
{
    pqt_backend b;
    int err = parse_backend(name, &b);
    if (err != 0) {
        answer_err(err, "unknown backend name");
        return;
    }
    err = pqt_mlkem_set_backend(b);
    if (err != 0) {
        answer_err(err, "pqt_mlkem_set_backend");
        return;
    }
    printf("ok %s\n", pqt_backend_name(pqt_mlkem_get_backend()));
}

static void do_keygen(const pqt_mlkem_params *p, pqt_mlkem_alg alg, const char *seed_hex)
{
    int err = hex_decode(buf_a, PQT_MLKEM_SEED_BYTES, seed_hex);
    if (err != 0) {
        answer_err(err, "seed must be 64 bytes of hex");
        return;
    }
    err = pqt_mlkem_keygen_derand(alg, buf_ek, p->ek_bytes, buf_dk, p->dk_bytes, buf_a);
    if (err != 0) {
        answer_err(err, "pqt_mlkem_keygen_derand");
        return;
    }
    fputs("ok ", stdout);
    put_hex(buf_ek, p->ek_bytes);
    putchar(' ');
    put_hex(buf_dk, p->dk_bytes);
    putchar('\n');
}

static void do_encaps(const pqt_mlkem_params *p, pqt_mlkem_alg alg, const char *ek_hex,
                      const char *m_hex)
{
    int err = hex_decode(buf_a, p->ek_bytes, ek_hex);
    if (err != 0) {
        answer_err(err, "ek hex has the wrong length or a bad digit");
        return;
    }
    err = hex_decode(buf_b, PQT_MLKEM_M_BYTES, m_hex);
    if (err != 0) {
        answer_err(err, "m must be 32 bytes of hex");
        return;
    }
    err = pqt_mlkem_encaps_derand(alg, buf_ct, p->ct_bytes, buf_ss, buf_a, p->ek_bytes, buf_b);
    if (err != 0) {
        answer_err(err, "pqt_mlkem_encaps_derand");
        return;
    }
    fputs("ok ", stdout);
    put_hex(buf_ct, p->ct_bytes);
    putchar(' ');
    put_hex(buf_ss, PQT_MLKEM_SS_BYTES);
    putchar('\n');
}

static void do_decaps(const pqt_mlkem_params *p, pqt_mlkem_alg alg, const char *dk_hex,
                      const char *ct_hex)
{
    int err = hex_decode(buf_a, p->dk_bytes, dk_hex);
    if (err != 0) {
        answer_err(err, "dk hex has the wrong length or a bad digit");
        return;
    }
    err = hex_decode(buf_b, p->ct_bytes, ct_hex);
    if (err != 0) {
        answer_err(err, "ct hex has the wrong length or a bad digit");
        return;
    }
    err = pqt_mlkem_decaps(alg, buf_ss, buf_b, p->ct_bytes, buf_a, p->dk_bytes);
    if (err != 0) {
        answer_err(err, "pqt_mlkem_decaps");
        return;
    }
    fputs("ok ", stdout);
    put_hex(buf_ss, PQT_MLKEM_SS_BYTES);
    putchar('\n');
}

/* Split line into at most max words separated by single spaces. */
static size_t split_words(char *line, char **words, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *w = strtok_r(line, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
        if (n == max) {
            return max + 1;
        }
        words[n++] = w;
    }
    return n;
}

static void handle(char *line)
{
    char *w[4];
    size_t n = split_words(line, w, 4);
    if (n == 0) {
        answer_err(PQT_ERR_SYNTAX, "empty request");
        return;
    }
    if (n == 1 && strcmp(w[0], "backends") == 0) {
        do_backends();
        return;
    }
    if (n == 2 && strcmp(w[0], "backend") == 0) {
        do_backend(w[1]);
        return;
    }

    int is_keygen = strcmp(w[0], "keygen") == 0;
    int is_encaps = strcmp(w[0], "encaps") == 0;
    int is_decaps = strcmp(w[0], "decaps") == 0;
    if (!(is_keygen && n == 3) && !((is_encaps || is_decaps) && n == 4)) {
        answer_err(PQT_ERR_SYNTAX, "unknown request or wrong number of fields");
        return;
    }
    pqt_mlkem_alg alg;
    int err = pqt_mlkem_alg_from_name(w[1], &alg);
    const pqt_mlkem_params *p = err == 0 ? pqt_mlkem_params_get(alg) : NULL;
    if (p == NULL) {
        answer_err(err != 0 ? err : PQT_ERR_UNSUPPORTED, "unknown ML-KEM parameter set");
        return;
    }
    if (is_keygen) {
        do_keygen(p, alg, w[2]);
    } else if (is_encaps) {
        do_encaps(p, alg, w[2], w[3]);
    } else {
        do_decaps(p, alg, w[2], w[3]);
    }
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int status = 0;

    while ((len = getline(&line, &cap, stdin)) != -1) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        if ((size_t)len > PEER_MAX_LINE) {
            fprintf(stderr, "mlkem_peer: request of %zd bytes is longer than any valid one\n", len);
            status = 1;
            break;
        }
        handle(line);
        wipe_buffers();
        if (ferror(stdout)) {
            break;
        }
    }
    free(line);
    if (ferror(stdin)) {
        fprintf(stderr, "mlkem_peer: reading stdin failed\n");
        status = 1;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mlkem_peer: writing stdout failed\n");
        status = 1;
    }
    return status;
}
