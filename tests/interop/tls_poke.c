/*
 * tls_poke: send one TLS 1.3 ClientHello with a chosen (possibly malformed)
 * key share to a real server and report what it answers. The interop tests
 * use it to check that servers running the pqtls provider reject every class
 * of bad hybrid share with the alert the RFCs name, and keep serving.
 *
 * Usage: tls_poke HOST PORT --group NAME [--mode MODE] [--sni NAME]
 *                 [--timeout-ms N] [--expect-alert CODE | --expect-group NAME]
 * Modes: valid, short (one byte missing), long (one byte extra),
 *        ek-modulus (an ML-KEM coefficient = 4095 >= q),
 *        ec-offcurve (P-256/P-384 point off the curve),
 *        ec-zero (the classical part all zero: X25519 low order / no point).
 * Prints one line: "serverhello GROUP", "hrr GROUP", "alert LEVEL CODE",
 * "closed", "reset" or "timeout". Exit 0 when the expectation holds (or
 * none was given), 1 when not, 2 for usage or local errors.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pqtls/groups.h"
#include "pqtls/hello.h"
#include "pqtls/hybrid.h"

static int usage(void)
{
    fprintf(stderr, "usage: tls_poke HOST PORT --group NAME [--mode valid|short|long|ek-modulus|"
                    "ec-offcurve|ec-zero] [--sni NAME] [--timeout-ms N] "
                    "[--expect-alert CODE | --expect-group NAME]\n");
    return 2;
}

static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0) {
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

/* Read until n bytes are buffered; 0, or 1 closed, 2 reset, 3 timeout. */
static int read_at_least(int fd, uint8_t *buf, size_t cap, size_t *have, size_t n, int timeout_ms)
{
    while (*have < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);
        if (r == 0) {
            return 3;
        }
        if (r < 0) {
            return 2;
        }
        ssize_t got = read(fd, buf + *have, cap - *have);
        if (got == 0) {
            return 1;
        }
        if (got < 0) {
            return errno == ECONNRESET ? 2 : 1;
        }
        *have += (size_t)got;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        return usage();
    }
    const char *host = argv[1], *port = argv[2], *group_name = NULL, *mode = "valid";
    const char *sni = "localhost", *expect_group = NULL;
    int expect_alert = -1, timeout_ms = 5000;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--group") == 0) {
            group_name = argv[i + 1];
        } else if (strcmp(argv[i], "--mode") == 0) {
            mode = argv[i + 1];
        } else if (strcmp(argv[i], "--sni") == 0) {
            sni = argv[i + 1];
        } else if (strcmp(argv[i], "--timeout-ms") == 0) {
            timeout_ms = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--expect-alert") == 0) {
            expect_alert = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--expect-group") == 0) {
            expect_group = argv[i + 1];
        } else {
            return usage();
        }
    }
    const pqt_group *g = group_name ? pqt_group_by_name(group_name) : NULL;
    if (g == NULL || !g->pqtls_implements) {
        fprintf(stderr,
                "tls_poke: --group must name a group pqtls implements (e.g. X25519MLKEM768)\n");
        return 2;
    }
    uint8_t share[PQT_HYBRID_MAX_CLIENT_SHARE + 1];
    size_t share_len = 0;
    pqt_hybrid_client *c = NULL;
    if (pqt_hybrid_client_new(g->code, &c, share, sizeof(share), &share_len) != 0) {
        fprintf(stderr, "tls_poke: cannot make a key share\n");
        return 2;
    }
    pqt_hybrid_client_free(c);
    size_t ek_off = g->mlkem_first ? 0 : g->ec_share_bytes;
    size_t ec_off = g->mlkem_first ? share_len - g->ec_share_bytes : 0;
    if (strcmp(mode, "short") == 0) {
        share_len--;
    } else if (strcmp(mode, "long") == 0) {
        share[share_len++] = 0;
    } else if (strcmp(mode, "ek-modulus") == 0) {
        share[ek_off] = 0xFF;
        share[ek_off + 1] |= 0x0F;
    } else if (strcmp(mode, "ec-offcurve") == 0 && (g->ec == PQT_EC_P256 || g->ec == PQT_EC_P384)) {
        share[ec_off + g->ec_share_bytes - 1] ^= 1;
    } else if (strcmp(mode, "ec-zero") == 0 && g->ec != PQT_EC_NONE) {
        memset(share + ec_off, 0, g->ec_share_bytes);
    } else if (strcmp(mode, "valid") != 0) {
        fprintf(stderr, "tls_poke: mode %s does not apply to %s\n", mode, g->name);
        return 2;
    }

    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303};
    static const uint16_t sigs[] = {0x0403, 0x0503, 0x0603, 0x0804, 0x0805,
                                    0x0806, 0x0401, 0x0501, 0x0601};
    uint8_t random[32], sid[32], msg[4096], rec[4096 + 5];
    if (getrandom(random, 32, 0) != 32 || getrandom(sid, 32, 0) != 32) {
        return 2;
    }
    pqt_key_share ks = {g->code, share, (uint16_t)share_len};
    pqt_client_hello_spec spec = {.sni = sni,
                                  .cipher_suites = suites,
                                  .n_cipher_suites = 3,
                                  .groups = &g->code,
                                  .n_groups = 1,
                                  .key_shares = &ks,
                                  .n_key_shares = 1,
                                  .sig_algs = sigs,
                                  .n_sig_algs = 9,
                                  .random = random,
                                  .session_id = sid};
    size_t mlen = 0;
    if (pqt_hello_build_client(&spec, msg, sizeof(msg), &mlen) != 0) {
        fprintf(stderr, "tls_poke: cannot build the ClientHello\n");
        return 2;
    }
    pqt_writer w;
    size_t rlen = 0;
    pqt_writer_init(&w, rec, sizeof(rec));
    pqt_writer_u8(&w, PQT_TLS_CT_HANDSHAKE);
    pqt_writer_u16(&w, 0x0301);
    pqt_writer_open(&w, 2);
    pqt_writer_bytes(&w, msg, mlen);
    pqt_writer_close(&w);
    if (pqt_writer_finish(&w, &rlen) != 0) {
        return 2;
    }

    int fd = connect_to(host, port);
    if (fd < 0) {
        fprintf(stderr, "tls_poke: cannot connect to %s:%s\n", host, port);
        return 2;
    }
    if (write(fd, rec, rlen) != (ssize_t)rlen) {
        fprintf(stderr, "tls_poke: write failed\n");
        close(fd);
        return 2;
    }
    static uint8_t in[1 << 17];
    size_t have = 0;
    char result[96] = "closed";
    int st = read_at_least(fd, in, sizeof(in), &have, 5, timeout_ms);
    int got_alert = -1;
    const char *got_group = NULL;
    if (st == 0) {
        pqt_reader r = pqt_reader_make(in, have);
        pqt_record_header h;
        if (pqt_record_header_parse(&r, &h) != 0) {
            snprintf(result, sizeof(result), "malformed");
        } else if ((st = read_at_least(fd, in, sizeof(in), &have, 5 + (size_t)h.length,
                                       timeout_ms)) != 0) {
            snprintf(result, sizeof(result), "truncated");
        } else if (h.type == PQT_TLS_CT_ALERT && h.length >= 2) {
            got_alert = in[6];
            snprintf(result, sizeof(result), "alert %u %u", in[5], in[6]);
        } else if (h.type == PQT_TLS_CT_HANDSHAKE && h.length >= 4 &&
                   in[5] == PQT_TLS_HS_SERVER_HELLO) {
            size_t body = ((size_t)in[6] << 16) | ((size_t)in[7] << 8) | in[8];
            pqt_server_hello sh;
            if (body + 4 > h.length || pqt_hello_parse_server(in + 9, body, &sh) != 0) {
                snprintf(result, sizeof(result), "malformed");
            } else {
                const char *name = pqt_group_name(sh.key_share_group);
                got_group = name;
                snprintf(result, sizeof(result), "%s %s", sh.is_hrr ? "hrr" : "serverhello",
                         name ? name : "unknown");
            }
        } else {
            snprintf(result, sizeof(result), "unexpected record type %u", h.type);
        }
    } else {
        snprintf(result, sizeof(result), "%s", st == 1 ? "closed" : st == 2 ? "reset" : "timeout");
    }
    close(fd);
    printf("%s\n", result);
    if (expect_alert >= 0) {
        return got_alert == expect_alert ? 0 : 1;
    }
    if (expect_group != NULL) {
        return got_group != NULL && strstr(result, "serverhello") == result &&
                       strcasecmp(got_group, expect_group) == 0
                   ? 0
                   : 1;
    }
    return 0;
}
