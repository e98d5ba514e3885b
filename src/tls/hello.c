/*
 * ClientHello / ServerHello parsing and ClientHello building (RFC 8446
 * §4.1.2-4.1.4, §4.2). Every read goes through pqt_reader; the parsed
 * structures point into the caller's buffer.
 */
#include <string.h>

#include "pqtls/hello.h"
#include "tls_internal.h"

/* RFC 8446 §4.1.3: SHA-256("HelloRetryRequest") as the ServerHello random. */
static const uint8_t hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

/* A vector of u16 values with a prefix of prefix_bytes: must be non-empty
 * and of even length. */
static int u16_list(pqt_reader *r, unsigned prefix_bytes, const uint8_t **list, size_t *n)
{
    pqt_reader v;
    PQT_TRY(pqt_reader_vec(r, prefix_bytes, &v));
    size_t len = pqt_reader_left(&v);
    if (len == 0 || len % 2 != 0) {
        return PQT_ERR_SYNTAX;
    }
    *list = v.p;
    *n = len / 2;
    return 0;
}

/* Extensions block shared by both hellos and EncryptedExtensions:
 * split into (type, data). */
int pqt_tls_parse_extensions(pqt_reader *r, pqt_tls_extension *ext, size_t *n_ext)
{
    pqt_reader block;
    *n_ext = 0;
    if (pqt_reader_left(r) == 0) {
        return 0; /* TLS 1.2 and earlier may omit the block entirely */
    }
    PQT_TRY(pqt_reader_vec(r, 2, &block));
    while (pqt_reader_left(&block) > 0) {
        pqt_reader data;
        uint16_t type;
        PQT_TRY(pqt_reader_u16(&block, &type));
        PQT_TRY(pqt_reader_vec(&block, 2, &data));
        if (*n_ext == PQT_HELLO_MAX_EXTENSIONS) {
            return PQT_ERR_LENGTH;
        }
        ext[*n_ext].type = type;
        ext[*n_ext].data = data.p;
        ext[*n_ext].len = (uint16_t)pqt_reader_left(&data);
        (*n_ext)++;
    }
    return pqt_reader_close(r);
}

/* server_name (RFC 6066 §3): the first host_name entry. */
static int parse_sni(pqt_reader *r, pqt_client_hello *ch)
{
    pqt_reader list;
    PQT_TRY(pqt_reader_vec(r, 2, &list));
    while (pqt_reader_left(&list) > 0) {
        uint8_t type;
        pqt_reader name;
        PQT_TRY(pqt_reader_u8(&list, &type));
        PQT_TRY(pqt_reader_vec(&list, 2, &name));
        if (type == 0 && ch->sni == NULL) {
            if (pqt_reader_left(&name) == 0) {
                return PQT_ERR_SYNTAX;
            }
            ch->sni = name.p;
            ch->sni_len = pqt_reader_left(&name);
        }
    }
    return 0;
}

/* ALPN (RFC 7301 §3.1): a non-empty list of non-empty u8-prefixed names. */
static int parse_alpn(pqt_reader *r, pqt_client_hello *ch)
{
    pqt_reader list;
    PQT_TRY(pqt_reader_vec(r, 2, &list));
    if (pqt_reader_left(&list) == 0) {
        return PQT_ERR_SYNTAX;
    }
    ch->alpn = list.p;
    ch->alpn_len = pqt_reader_left(&list);
    while (pqt_reader_left(&list) > 0) {
        pqt_reader name;
        PQT_TRY(pqt_reader_vec(&list, 1, &name));
        if (pqt_reader_left(&name) == 0) {
            return PQT_ERR_SYNTAX;
        }
    }
    return 0;
}

/* key_share in a ClientHello (RFC 8446 §4.2.8): KeyShareEntry list. */
static int parse_client_key_shares(pqt_reader *r, pqt_client_hello *ch)
{
    pqt_reader list;
    PQT_TRY(pqt_reader_vec(r, 2, &list));
    while (pqt_reader_left(&list) > 0) {
        uint16_t group;
        pqt_reader ke;
        PQT_TRY(pqt_reader_u16(&list, &group));
        PQT_TRY(pqt_reader_vec(&list, 2, &ke));
        if (ch->n_key_shares == PQT_HELLO_MAX_KEY_SHARES) {
            return PQT_ERR_LENGTH;
        }
        pqt_key_share *ks = &ch->key_shares[ch->n_key_shares++];
        ks->group = group;
        ks->share = ke.p;
        ks->len = (uint16_t)pqt_reader_left(&ke);
    }
    return 0;
}

static int first_of_type(const pqt_tls_extension *ext, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (ext[j].type == ext[i].type) {
            return 0;
        }
    }
    return 1;
}

/* Decode the extensions pqtls reports; each must be consumed exactly. */
static int decode_client_extensions(pqt_client_hello *ch)
{
    for (size_t i = 0; i < ch->n_ext; i++) {
        const pqt_tls_extension *e = &ch->ext[i];
        pqt_reader r = pqt_reader_make(e->data, e->len);
        if (!first_of_type(ch->ext, i)) {
            continue; /* RFC 8446 §4.2 forbids duplicates; report the first */
        }
        switch (e->type) {
        case PQT_TLS_EXT_SERVER_NAME:
            PQT_TRY(parse_sni(&r, ch));
            break;
        case PQT_TLS_EXT_ALPN:
            PQT_TRY(parse_alpn(&r, ch));
            break;
        case PQT_TLS_EXT_SUPPORTED_VERSIONS:
            PQT_TRY(u16_list(&r, 1, &ch->versions, &ch->n_versions));
            break;
        case PQT_TLS_EXT_SUPPORTED_GROUPS:
            PQT_TRY(u16_list(&r, 2, &ch->groups, &ch->n_groups));
            break;
        case PQT_TLS_EXT_SIGNATURE_ALGORITHMS:
            PQT_TRY(u16_list(&r, 2, &ch->sig_algs, &ch->n_sig_algs));
            break;
        case PQT_TLS_EXT_KEY_SHARE:
            PQT_TRY(parse_client_key_shares(&r, ch));
            break;
        default:
            continue; /* carried opaquely */
        }
        PQT_TRY(pqt_reader_close(&r));
    }
    return 0;
}

int pqt_hello_parse_client(const uint8_t *body, size_t len, pqt_client_hello *ch)
{
    pqt_reader r = pqt_reader_make(body, len), v;
    memset(ch, 0, sizeof(*ch));
    PQT_TRY(pqt_reader_u16(&r, &ch->legacy_version));
    PQT_TRY(pqt_reader_bytes(&r, 32, &ch->random));
    PQT_TRY(pqt_reader_vec(&r, 1, &v));
    if (pqt_reader_left(&v) > 32) {
        return PQT_ERR_SYNTAX;
    }
    ch->session_id = v.p;
    ch->session_id_len = (uint8_t)pqt_reader_left(&v);
    PQT_TRY(u16_list(&r, 2, &ch->cipher_suites, &ch->n_cipher_suites));
    PQT_TRY(pqt_reader_vec(&r, 1, &v));
    if (pqt_reader_left(&v) == 0) {
        return PQT_ERR_SYNTAX;
    }
    ch->compression = v.p;
    ch->n_compression = (uint8_t)pqt_reader_left(&v);
    PQT_TRY(pqt_tls_parse_extensions(&r, ch->ext, &ch->n_ext));
    return decode_client_extensions(ch);
}

uint16_t pqt_hello_client_max_version(const pqt_client_hello *ch)
{
    uint16_t best = 0;
    for (size_t i = 0; i < ch->n_versions; i++) {
        uint16_t v = pqt_u16_at(ch->versions, i);
        if (!pqt_tls_is_grease(v) && v > best) {
            best = v;
        }
    }
    return best ? best : ch->legacy_version;
}

int pqt_hello_parse_server(const uint8_t *body, size_t len, pqt_server_hello *sh)
{
    pqt_reader r = pqt_reader_make(body, len), v;
    memset(sh, 0, sizeof(*sh));
    PQT_TRY(pqt_reader_u16(&r, &sh->legacy_version));
    PQT_TRY(pqt_reader_bytes(&r, 32, &sh->random));
    sh->is_hrr = memcmp(sh->random, hrr_random, 32) == 0;
    PQT_TRY(pqt_reader_vec(&r, 1, &v));
    if (pqt_reader_left(&v) > 32) {
        return PQT_ERR_SYNTAX;
    }
    sh->session_id = v.p;
    sh->session_id_len = (uint8_t)pqt_reader_left(&v);
    PQT_TRY(pqt_reader_u16(&r, &sh->cipher_suite));
    PQT_TRY(pqt_reader_u8(&r, &sh->compression));
    PQT_TRY(pqt_tls_parse_extensions(&r, sh->ext, &sh->n_ext));
    for (size_t i = 0; i < sh->n_ext; i++) {
        const pqt_tls_extension *e = &sh->ext[i];
        pqt_reader x = pqt_reader_make(e->data, e->len);
        if (!first_of_type(sh->ext, i)) {
            sh->duplicate = e->type;
            return PQT_ERR_TLS_EXT_DUPLICATE; /* RFC 8446 §4.2: never twice in one block */
        }
        if (e->type == PQT_TLS_EXT_SUPPORTED_VERSIONS) {
            PQT_TRY(pqt_reader_u16(&x, &sh->selected_version));
        } else if (e->type == PQT_TLS_EXT_KEY_SHARE) {
            sh->has_key_share = 1;
            PQT_TRY(pqt_reader_u16(&x, &sh->key_share_group));
            if (!sh->is_hrr) {
                pqt_reader ke;
                PQT_TRY(pqt_reader_vec(&x, 2, &ke));
                sh->key_share = ke.p;
                sh->key_share_len = pqt_reader_left(&ke);
            }
        } else {
            continue;
        }
        PQT_TRY(pqt_reader_close(&x));
    }
    return 0;
}

int pqt_hello_parse_server_key_exchange_group(const uint8_t *body, size_t len, uint16_t *group)
{
    pqt_reader r = pqt_reader_make(body, len);
    uint8_t curve_type;
    PQT_TRY(pqt_reader_u8(&r, &curve_type));
    if (curve_type != 3) { /* named_curve; explicit curves are deprecated */
        return PQT_ERR_UNSUPPORTED;
    }
    return pqt_reader_u16(&r, group);
}

static void put_u16_list(pqt_writer *w, unsigned prefix, const uint16_t *v, size_t n)
{
    pqt_writer_open(w, prefix);
    for (size_t i = 0; i < n; i++) {
        pqt_writer_u16(w, v[i]);
    }
    pqt_writer_close(w);
}

int pqt_hello_build_client(const pqt_client_hello_spec *s, uint8_t *out, size_t cap, size_t *len)
{
    pqt_writer w;
    if (s == NULL || s->random == NULL || s->n_cipher_suites == 0 || out == NULL || len == NULL) {
        return PQT_ERR_ARG;
    }
    pqt_writer_init(&w, out, cap);
    pqt_writer_u8(&w, PQT_TLS_HS_CLIENT_HELLO);
    pqt_writer_open(&w, 3);
    size_t body_start = w.len;
    pqt_writer_u16(&w, 0x0303); /* legacy_version (RFC 8446 §4.1.2) */
    pqt_writer_bytes(&w, s->random, 32);
    pqt_writer_open(&w, 1);
    if (s->session_id != NULL) {
        pqt_writer_bytes(&w, s->session_id, 32);
    }
    pqt_writer_close(&w);
    put_u16_list(&w, 2, s->cipher_suites, s->n_cipher_suites);
    pqt_writer_u8(&w, 1); /* legacy_compression_methods: null only */
    pqt_writer_u8(&w, 0);

    pqt_writer_open(&w, 2); /* extensions */
    if (s->sni != NULL) {
        pqt_writer_u16(&w, PQT_TLS_EXT_SERVER_NAME);
        pqt_writer_open(&w, 2);
        pqt_writer_open(&w, 2);
        pqt_writer_u8(&w, 0); /* host_name */
        pqt_writer_open(&w, 2);
        pqt_writer_bytes(&w, s->sni, strlen(s->sni));
        pqt_writer_close(&w);
        pqt_writer_close(&w);
        pqt_writer_close(&w);
    }
    if (s->tls12_too) {
        /* ec_point_formats: uncompressed, for TLS 1.2 ECDHE servers. */
        static const uint8_t epf[] = {0x00, 0x0B, 0x00, 0x02, 0x01, 0x00};
        pqt_writer_bytes(&w, epf, sizeof(epf));
    }
    pqt_writer_u16(&w, PQT_TLS_EXT_SUPPORTED_GROUPS);
    pqt_writer_open(&w, 2);
    put_u16_list(&w, 2, s->groups, s->n_groups);
    pqt_writer_close(&w);
    if (s->n_sig_algs > 0) {
        pqt_writer_u16(&w, PQT_TLS_EXT_SIGNATURE_ALGORITHMS);
        pqt_writer_open(&w, 2);
        put_u16_list(&w, 2, s->sig_algs, s->n_sig_algs);
        pqt_writer_close(&w);
    }
    if (s->alpn != NULL && s->alpn[0] != NULL) {
        pqt_writer_u16(&w, PQT_TLS_EXT_ALPN);
        pqt_writer_open(&w, 2);
        pqt_writer_open(&w, 2);
        for (size_t i = 0; s->alpn[i] != NULL; i++) {
            pqt_writer_open(&w, 1);
            pqt_writer_bytes(&w, s->alpn[i], strlen(s->alpn[i]));
            pqt_writer_close(&w);
        }
        pqt_writer_close(&w);
        pqt_writer_close(&w);
    }
    pqt_writer_u16(&w, PQT_TLS_EXT_SUPPORTED_VERSIONS);
    pqt_writer_open(&w, 2);
    pqt_writer_open(&w, 1);
    pqt_writer_u16(&w, 0x0304);
    if (s->tls12_too) {
        pqt_writer_u16(&w, 0x0303);
    }
    pqt_writer_close(&w);
    pqt_writer_close(&w);
    if (s->cookie != NULL) {
        /* RFC 8446 §4.2.2: the HelloRetryRequest's cookie, echoed verbatim. */
        if (s->cookie_len == 0 || s->cookie_len > 0xFFFF - 2) {
            return PQT_ERR_ARG;
        }
        pqt_writer_u16(&w, PQT_TLS_EXT_COOKIE);
        pqt_writer_open(&w, 2);
        pqt_writer_open(&w, 2);
        pqt_writer_bytes(&w, s->cookie, s->cookie_len);
        pqt_writer_close(&w);
        pqt_writer_close(&w);
    }
    pqt_writer_u16(&w, PQT_TLS_EXT_KEY_SHARE);
    pqt_writer_open(&w, 2);
    pqt_writer_open(&w, 2);
    for (size_t i = 0; i < s->n_key_shares; i++) {
        pqt_writer_u16(&w, s->key_shares[i].group);
        pqt_writer_open(&w, 2);
        pqt_writer_bytes(&w, s->key_shares[i].share, s->key_shares[i].len);
        pqt_writer_close(&w);
    }
    pqt_writer_close(&w);
    pqt_writer_close(&w);
    /* RFC 7685 padding, to push the body to pad_to bytes (segmentation
     * probes); an extension costs 4 bytes of header. */
    size_t body_len = w.len - body_start;
    if (s->pad_to > body_len + 4) {
        pqt_writer_u16(&w, PQT_TLS_EXT_PADDING);
        pqt_writer_open(&w, 2);
        pqt_writer_zeros(&w, s->pad_to - body_len - 4);
        pqt_writer_close(&w);
    }
    pqt_writer_close(&w); /* extensions */
    pqt_writer_close(&w); /* handshake body */
    return pqt_writer_finish(&w, len);
}
