/*
 * `pqtls mask`: scrub a capture or a log before it is shared, keeping every
 * handshake analysable (src/mask/, docs/mask.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "pqtls/common.h"
#include "pqtls/mask.h"
#include "util.h"

void cli_help_mask(FILE *out)
{
    fputs("Usage: pqtls mask [OPTIONS] CAPTURE\n"
          "       pqtls mask --log jsonl|nginx|haproxy|text [OPTIONS] FILE\n"
          "\n"
          "Writes a copy of a pcap or pcapng capture (gzip-compressed input is\n"
          "recognised; '-' is standard input) in which addresses, MAC addresses,\n"
          "SNI and every name in the handshake (TLS 1.2 certificates,\n"
          "CertificateRequest), randoms, session ids, tickets, PSK identities and\n"
          "ECH payloads are keyed pseudonyms of the same length, cleartext\n"
          "credentials are masked and encrypted data is replaced, while `pqtls\n"
          "observe` still reads the same JA4, groups, key-share sizes, HRRs,\n"
          "outcomes, sizes and segment counts. pcapng comments, interface names,\n"
          "hardware/OS options, name resolution and decryption secrets blocks are\n"
          "removed. Checksums are recomputed; lengths, timestamps and segment\n"
          "boundaries are kept. QUIC (HTTP/3) handshakes are masked the same way:\n"
          "Initial packets (v1, v2) are decrypted, masked and sealed again with keys\n"
          "of the pseudonymised connection ID, so the copy still decrypts;\n"
          "connection IDs are keyed pseudonyms; other UDP payloads are zeroed.\n"
          "With --log, log lines get the same pseudonyms.\n"
          "What is kept and why: docs/mask.md.\n"
          "\n"
          "Options:\n"
          "  --key-file FILE          the 32-byte key (created, mode 0600, when missing);\n"
          "                           the same key gives the same pseudonyms in every\n"
          "                           file. Without it a random key is used (no\n"
          "                           correlation across runs)\n"
          "  -o, --output FILE        write there (default: standard output)\n"
          "  --mapping FILE           also write original -> pseudonym lines (mode 0600)\n"
          "  --keep-addresses LIST    addresses/prefixes left as they are\n"
          "                           (comma-separated, repeatable: 192.0.2.0/24,2001:db8::/32)\n"
          "  --keep-names LIST        names left as they are, with everything under them\n"
          "  --payload MODE           keep-length (default: cleartext masked field by\n"
          "                           field, encrypted data keyed bytes), zero, or drop\n"
          "                           (cut from the captured frames)\n"
          "  --round-time USEC        round timestamps down to a multiple of USEC\n"
          "  --max-hold MIB           frames held while a field spans packets (64)\n"
          "  --log FORMAT             mask a log instead: jsonl (pqtls observe/scan),\n"
          "                           nginx, haproxy, text\n"
          "  -q, --quiet              no summary on standard error\n"
          "  -h, --help               this text\n"
          "\n"
          "Examples:\n"
          "  pqtls mask --key-file team.key -o shared.pcapng incident.pcapng\n"
          "  pqtls mask --key-file team.key --log nginx -o pq.log /var/log/nginx/pq.log\n"
          "  tcpdump -w - -i eth0 port 443 | pqtls mask --key-file k -o out.pcap -\n"
          "\n"
          "Exit codes: 0 done; 1 the input is damaged (what came before the damage\n"
          "is written, masked); 2 usage; 3 I/O (input, output, key file); 5 internal.\n",
          out);
}

enum {
    OPT_KEY = 256,
    OPT_MAPPING,
    OPT_KEEP_ADDR,
    OPT_KEEP_NAMES,
    OPT_PAYLOAD,
    OPT_ROUND,
    OPT_HOLD,
    OPT_LOG
};

static const struct option mask_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"output", required_argument, NULL, 'o'},
    {"quiet", no_argument, NULL, 'q'},
    {"key-file", required_argument, NULL, OPT_KEY},
    {"mapping", required_argument, NULL, OPT_MAPPING},
    {"keep-addresses", required_argument, NULL, OPT_KEEP_ADDR},
    {"keep-names", required_argument, NULL, OPT_KEEP_NAMES},
    {"payload", required_argument, NULL, OPT_PAYLOAD},
    {"round-time", required_argument, NULL, OPT_ROUND},
    {"max-hold", required_argument, NULL, OPT_HOLD},
    {"log", required_argument, NULL, OPT_LOG},
    {NULL, 0, NULL, 0},
};

/* Read the key, or create it (0600, O_EXCL) with fresh random bytes. */
static int load_key(const char *path, uint8_t key[PQT_MASK_KEY_SIZE])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (pqt_random_bytes(key, PQT_MASK_KEY_SIZE) != 0) {
            cli_error("mask", "the system random generator failed");
            return CLI_EXIT_INTERNAL;
        }
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, key, PQT_MASK_KEY_SIZE) != PQT_MASK_KEY_SIZE || close(fd) != 0) {
            cli_error("mask", "--key-file %s: cannot create it: %s", path, strerror(errno));
            return CLI_EXIT_IO;
        }
        return 0;
    }
    if (fd < 0) {
        cli_error("mask", "--key-file %s: %s", path, strerror(errno));
        return CLI_EXIT_IO;
    }
    uint8_t extra;
    ssize_t n = read(fd, key, PQT_MASK_KEY_SIZE);
    ssize_t more = read(fd, &extra, 1);
    close(fd);
    if (n != PQT_MASK_KEY_SIZE || more != 0) {
        cli_error("mask",
                  "--key-file %s: a key file holds exactly 32 bytes; this one does not "
                  "(remove it to have a new key created, or give the right file)",
                  path);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static int add_list(pqt_mask *m, const char *list, int names)
{
    char *copy = strdup(list), *save = NULL;
    if (copy == NULL) {
        return CLI_EXIT_INTERNAL;
    }
    for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        int r = names ? pqt_mask_keep_name(m, t) : pqt_mask_keep_address(m, t);
        if (r != 0) {
            cli_error("mask", "%s: '%s' is not %s", names ? "--keep-names" : "--keep-addresses", t,
                      names ? "a name" : "an address or prefix (192.0.2.0/24, 2001:db8::/32)");
            free(copy);
            return CLI_EXIT_USAGE;
        }
    }
    free(copy);
    return 0;
}

static int mask_log(pqt_mask *m, pqt_mask_log_format fmt, FILE *in, FILE *out, const char *name)
{
    char *line = NULL;
    size_t lcap = 0;
    ssize_t n;
    size_t cap = 0;
    char *buf = NULL;
    int status = CLI_EXIT_OK;
    while ((n = getline(&line, &lcap, in)) > 0) {
        size_t len = (size_t)n;
        int nl = line[len - 1] == '\n';
        if (nl) {
            len--;
        }
        if (cap < 4 * len + 64) {
            cap = 4 * len + 64;
            char *b = realloc(buf, cap);
            if (b == NULL) {
                status = CLI_EXIT_INTERNAL;
                break;
            }
            buf = b;
        }
        memcpy(buf, line, len);
        if (pqt_mask_log_line(m, fmt, buf, &len, cap) != 0) {
            cli_error("mask", "%s: a line could not be masked; it is left out", name);
            continue;
        }
        fwrite(buf, 1, len, out);
        if (nl) {
            fputc('\n', out);
        }
    }
    if (ferror(in)) {
        cli_error("mask", "%s: read failed", name);
        status = CLI_EXIT_IO;
    }
    free(line);
    free(buf);
    return status;
}

int cli_cmd_mask(int argc, char **argv)
{
    cli_opts o = {.cmd = "mask", .optstring = "-:ho:q", .longopts = mask_options};
    const char *key_file = NULL, *out_path = NULL, *map_path = NULL, *input = NULL;
    const char *keep_addr[64], *keep_names[64], *log = NULL;
    size_t nka = 0, nkn = 0;
    int quiet = 0, code, status = CLI_EXIT_OK;
    unsigned long long round = 0, hold = 64;
    pqt_mask_opts opts;
    memset(&opts, 0, sizeof(opts));
    while ((code = cli_getopt(&o, argc, argv)) != CLI_OPT_END) {
        switch (code) {
        case CLI_OPT_OPERAND:
            if (input != NULL) {
                cli_error("mask", "one input at a time ('%s' and '%s'); see 'pqtls mask --help'",
                          input, o.arg);
                return CLI_EXIT_USAGE;
            }
            input = o.arg;
            break;
        case 'h':
            cli_help_mask(stdout);
            return cli_finish_output("mask");
        case 'o':
            out_path = o.value;
            break;
        case 'q':
            quiet = 1;
            break;
        case OPT_KEY:
            key_file = o.value;
            break;
        case OPT_MAPPING:
            map_path = o.value;
            break;
        case OPT_KEEP_ADDR:
        case OPT_KEEP_NAMES:
            if ((code == OPT_KEEP_ADDR ? nka : nkn) == 64) {
                cli_error("mask", "%s: at most 64 times (use a comma-separated list)", o.arg);
                return CLI_EXIT_USAGE;
            }
            if (code == OPT_KEEP_ADDR) {
                keep_addr[nka++] = o.value;
            } else {
                keep_names[nkn++] = o.value;
            }
            break;
        case OPT_PAYLOAD:
            if (strcmp(o.value, "keep-length") == 0) {
                opts.payload = PQT_MASK_PAYLOAD_KEEP_LENGTH;
            } else if (strcmp(o.value, "zero") == 0) {
                opts.payload = PQT_MASK_PAYLOAD_ZERO;
            } else if (strcmp(o.value, "drop") == 0) {
                opts.payload = PQT_MASK_PAYLOAD_DROP;
            } else {
                cli_error("mask", "--payload: '%s'; use keep-length, zero or drop", o.value);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_ROUND:
            if ((status = cli_parse_uint("mask", o.arg, o.value, 1, 86400000000ull, &round)) != 0) {
                return status;
            }
            break;
        case OPT_HOLD:
            if ((status = cli_parse_uint("mask", o.arg, o.value, 1, 65536, &hold)) != 0) {
                return status;
            }
            break;
        case OPT_LOG:
            log = o.value;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (input == NULL) {
        cli_error("mask", "no input; give a capture file, or '-' for standard input (see "
                          "'pqtls mask --help')");
        return CLI_EXIT_USAGE;
    }
    pqt_mask_log_format fmt = PQT_MASK_LOG_JSONL;
    if (log != NULL) {
        static const char *const names[] = {"jsonl", "nginx", "haproxy", "text"};
        int found = -1;
        for (int i = 0; i < 4; i++) {
            if (strcmp(log, names[i]) == 0) {
                found = i;
            }
        }
        if (found < 0) {
            cli_error("mask", "--log: '%s'; use jsonl, nginx, haproxy or text", log);
            return CLI_EXIT_USAGE;
        }
        fmt = (pqt_mask_log_format)found;
    }
    uint8_t key[PQT_MASK_KEY_SIZE];
    if (key_file != NULL) {
        if ((status = load_key(key_file, key)) != 0) {
            return status;
        }
    } else if (pqt_random_bytes(key, sizeof(key)) != 0) {
        cli_error("mask", "the system random generator failed");
        return CLI_EXIT_INTERNAL;
    }
    FILE *map = NULL;
    if (map_path != NULL) {
        int fd = open(map_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || fchmod(fd, 0600) != 0 || (map = fdopen(fd, "w")) == NULL) {
            cli_error("mask", "--mapping %s: %s", map_path, strerror(errno));
            cli_wipe(key, sizeof(key));
            return CLI_EXIT_IO;
        }
    }
    opts.round_ts_us = round;
    opts.max_hold_bytes = (size_t)hold << 20;
    opts.mapping = map;
    pqt_mask *m = NULL;
    int r = pqt_mask_new(key, &opts, &m);
    cli_wipe(key, sizeof(key));
    if (r != 0) {
        cli_error("mask", "cannot set up the masker: %s", pqt_strerror(r));
        return CLI_EXIT_INTERNAL;
    }
    for (size_t i = 0; i < nka && status == 0; i++) {
        status = add_list(m, keep_addr[i], 0);
    }
    for (size_t i = 0; i < nkn && status == 0; i++) {
        status = add_list(m, keep_names[i], 1);
    }
    int in_fd = -1, out_fd = -1;
    if (status != 0) {
        goto cleanup;
    }
    in_fd = strcmp(input, "-") == 0 ? 0 : open(input, O_RDONLY | O_CLOEXEC);
    if (in_fd < 0) {
        cli_error("mask", "%s: %s", input, strerror(errno));
        status = CLI_EXIT_IO;
        goto cleanup;
    }
    if (out_path == NULL || strcmp(out_path, "-") == 0) {
        if (log == NULL && isatty(1)) {
            cli_error("mask", "not writing a capture to a terminal; give -o FILE or redirect");
            status = CLI_EXIT_USAGE;
            goto cleanup;
        }
        out_fd = 1;
    } else {
        out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out_fd < 0) {
            cli_error("mask", "-o %s: %s", out_path, strerror(errno));
            status = CLI_EXIT_IO;
            goto cleanup;
        }
    }
    if (log != NULL) {
        FILE *in = fdopen(dup(in_fd), "r"), *out = fdopen(dup(out_fd), "w");
        if (in == NULL || out == NULL) {
            status = CLI_EXIT_IO;
        } else {
            status = mask_log(m, fmt, in, out, input);
        }
        if (in != NULL) {
            fclose(in);
        }
        if (out != NULL && fclose(out) != 0) {
            cli_error("mask", "%s: write failed", out_path ? out_path : "standard output");
            status = CLI_EXIT_IO;
        }
    } else {
        char err[512];
        pqt_mask_stats st;
        r = pqt_mask_capture(m, in_fd, out_fd, &st, err, sizeof(err));
        if (r != 0) {
            cli_error("mask", "%s: %s", input, err[0] ? err : pqt_strerror(r));
            status = r == PQT_ERR_IO ? CLI_EXIT_IO : CLI_EXIT_FAILED;
        }
        if (!quiet) {
            fprintf(stderr,
                    "pqtls mask: %llu frames (%llu TCP), %llu ClientHellos, %llu names, %llu "
                    "fields masked; %llu fields spanning packets given up and %llu handshake "
                    "messages that do not parse (masked whole); "
                    "%llu pcapng blocks and %llu options removed; at most %llu bytes held; "
                    "%llu flows let go after 300 s idle; %llu QUIC Initials sealed again, "
                    "%llu zeroed (did not open, parse or fit the bound)\n",
                    (unsigned long long)st.frames, (unsigned long long)st.tcp_frames,
                    (unsigned long long)st.tls_handshakes, (unsigned long long)st.names,
                    (unsigned long long)st.fields, (unsigned long long)st.forced,
                    (unsigned long long)st.unparsed, (unsigned long long)st.blocks_removed,
                    (unsigned long long)st.options_removed, (unsigned long long)st.held_max_bytes,
                    (unsigned long long)st.flows_idle, (unsigned long long)st.quic_initials,
                    (unsigned long long)st.quic_zeroed);
        }
    }
cleanup:
    if (in_fd > 0) {
        close(in_fd);
    }
    if (out_fd > 1 && close(out_fd) != 0 && status == 0) {
        cli_error("mask", "-o %s: %s", out_path, strerror(errno));
        status = CLI_EXIT_IO;
    }
    if (map != NULL && fclose(map) != 0 && status == 0) {
        cli_error("mask", "--mapping %s: write failed", map_path);
        status = CLI_EXIT_IO;
    }
    pqt_mask_free(m);
    return status;
}
