/*
 * What a TLS client must refuse in the server's first messages
 * (include/pqtls/hello.h): the checks RFC 8446 puts on a client for
 * ServerHello (§4.1.3), HelloRetryRequest (§4.1.4) and EncryptedExtensions
 * (§4.3.1), judged against the ClientHello the client sent. The scanner
 * runs them before it believes anything a server says, so that "verified"
 * means what a real client would find.
 */
#include <string.h>

#include "pqtls/hello.h"
#include "tls_internal.h"

/* Messages an extension may appear in (RFC 8446 §4.2's table, the IANA
 * registry's "TLS 1.3" column for later extensions; TLS12_SH is RFC 5246
 * §7.4.1.4 and the extensions' own RFCs). */
enum {
    IN_SH = 1u << 0,
    IN_HRR = 1u << 1,
    IN_EE = 1u << 2,
    IN_TLS12_SH = 1u << 3,
};

typedef struct {
    uint16_t type;
    unsigned in;
} ext_rule;

static const ext_rule ext_rules[] = {
    {0, IN_EE | IN_TLS12_SH},  /* server_name (RFC 6066) */
    {1, IN_EE | IN_TLS12_SH},  /* max_fragment_length (RFC 6066) */
    {5, IN_TLS12_SH},          /* status_request (RFC 6066; 1.3: CT, CR) */
    {10, IN_EE},               /* supported_groups (RFC 8422, 8446) */
    {11, IN_TLS12_SH},         /* ec_point_formats (RFC 8422) */
    {13, 0},                   /* signature_algorithms (CH, CR) */
    {14, IN_EE | IN_TLS12_SH}, /* use_srtp (RFC 5764) */
    {15, IN_EE | IN_TLS12_SH}, /* heartbeat (RFC 6520) */
    {16, IN_EE | IN_TLS12_SH}, /* ALPN (RFC 7301) */
    {18, IN_TLS12_SH},         /* signed_certificate_timestamp (1.3: CT) */
    {19, IN_EE | IN_TLS12_SH}, /* client_certificate_type (RFC 7250) */
    {20, IN_EE | IN_TLS12_SH}, /* server_certificate_type (RFC 7250) */
    {21, 0},                   /* padding (RFC 7685): ClientHello only */
    {22, IN_TLS12_SH},         /* encrypt_then_mac (RFC 7366) */
    {23, IN_TLS12_SH},         /* extended_master_secret (RFC 7627) */
    {27, 0},                   /* compress_certificate (RFC 8879: CH, CR) */
    {28, IN_EE | IN_TLS12_SH}, /* record_size_limit (RFC 8449) */
    {35, IN_TLS12_SH},         /* session_ticket (RFC 5077) */
    {41, IN_SH},               /* pre_shared_key */
    {42, IN_EE},               /* early_data (and NewSessionTicket) */
    {43, IN_SH | IN_HRR},      /* supported_versions */
    {44, IN_HRR},              /* cookie */
    {45, 0},                   /* psk_key_exchange_modes: CH only */
    {47, 0},                   /* certificate_authorities (CH, CR) */
    {48, 0},                   /* oid_filters (CR) */
    {49, 0},                   /* post_handshake_auth: CH only */
    {50, 0},                   /* signature_algorithms_cert (CH, CR) */
    {51, IN_SH | IN_HRR},      /* key_share */
    {57, IN_EE},               /* quic_transport_parameters (RFC 9001) */
    {0xfe0d, IN_HRR | IN_EE},  /* encrypted_client_hello */
    {0xff01, IN_TLS12_SH},     /* renegotiation_info (RFC 5746) */
};

/* The rule for a known extension type, NULL for one this table does not
 * know (which the RFC lets a client ignore, but only if it solicited it). */
static const ext_rule *find_rule(uint16_t type)
{
    for (size_t i = 0; i < sizeof(ext_rules) / sizeof(ext_rules[0]); i++) {
        if (ext_rules[i].type == type) {
            return &ext_rules[i];
        }
    }
    return NULL;
}

static int client_sent(const pqt_client_hello *ch, uint16_t type)
{
    for (size_t i = 0; i < ch->n_ext; i++) {
        if (ch->ext[i].type == type) {
            return 1;
        }
    }
    return 0;
}

/*
 * One extension block of the server's: no type twice (§4.2: "There MUST NOT
 * be more than one extension of the same type in a given extension block"),
 * no known extension outside the messages it belongs to ("If an
 * implementation receives an extension which it recognizes and which is not
 * specified for the message in which it appears, it MUST abort the
 * handshake with an 'illegal_parameter' alert"), and nothing the client did
 * not ask for ("Implementations MUST NOT send extension responses if the
 * remote endpoint did not send the corresponding extension requests, with
 * the exception of the 'cookie' extension in the HelloRetryRequest").
 * RFC 5746 §3.4 lets a TLS 1.2 server send renegotiation_info unasked.
 */
static int check_extensions(const pqt_client_hello *ch, const pqt_tls_extension *ext, size_t n,
                            unsigned in, uint16_t *what)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t t = ext[i].type;
        *what = t;
        for (size_t j = 0; j < i; j++) {
            if (ext[j].type == t) {
                return PQT_ERR_TLS_EXT_DUPLICATE;
            }
        }
        const ext_rule *rule = find_rule(t);
        if (rule != NULL && (rule->in & in) == 0) {
            return PQT_ERR_TLS_EXT_NOT_ALLOWED;
        }
        int unasked_ok = (in == IN_HRR && t == PQT_TLS_EXT_COOKIE) ||
                         (in == IN_TLS12_SH && t == PQT_TLS_EXT_RENEGOTIATION_INFO);
        if (!unasked_ok && !client_sent(ch, t)) {
            return PQT_ERR_TLS_EXT_UNSOLICITED;
        }
    }
    *what = 0;
    return 0;
}

static int offered_u16(const uint8_t *list, size_t n, uint16_t v)
{
    for (size_t i = 0; i < n; i++) {
        if (pqt_u16_at(list, i) == v) {
            return 1;
        }
    }
    return 0;
}

/* A version below TLS 1.3 is offered by supported_versions, or without
 * it by legacy_version as the highest (RFC 5246 §E.1). */
static int legacy_offered(const pqt_client_hello *ch, uint16_t v)
{
    if (ch->n_versions > 0) {
        return offered_u16(ch->versions, ch->n_versions, v);
    }
    return v >= 0x0300 && v <= ch->legacy_version;
}

/* RFC 8446 §4.1.3: "DOWNGRD" followed by 01 (TLS 1.2) or 00 (older). */
static int downgrade_sentinel(const uint8_t random[32])
{
    static const uint8_t d[7] = {0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44};
    return memcmp(random + 24, d, sizeof(d)) == 0 && (random[31] == 0 || random[31] == 1);
}

int pqt_hello_check_server(const pqt_client_hello *ch, const pqt_server_hello *sh, uint16_t *what)
{
    uint16_t dummy;
    what = what != NULL ? what : &dummy;
    *what = 0;
    int offers13 = ch->n_versions > 0 && offered_u16(ch->versions, ch->n_versions, 0x0304);

    if (sh->selected_version == 0) {
        /* No supported_versions: the version is legacy_version (TLS 1.2 or
         * older). A HelloRetryRequest exists only in TLS 1.3. */
        *what = sh->legacy_version;
        if (sh->is_hrr) {
            return PQT_ERR_TLS_VERSION;
        }
        /* §4.1.3: "TLS 1.3 clients receiving a ServerHello indicating TLS
         * 1.2 or below MUST check that the last 8 bytes are not equal to
         * either of these values." */
        if (offers13 && downgrade_sentinel(sh->random)) {
            return PQT_ERR_TLS_DOWNGRADE;
        }
        /* An old version the client did not offer: what a server without
         * TLS 1.3 answers, told apart by the caller (selected_version 0). */
        if (!legacy_offered(ch, sh->legacy_version)) {
            return PQT_ERR_TLS_VERSION;
        }
        *what = sh->cipher_suite;
        if ((sh->cipher_suite >> 8) == 0x13 ||
            !offered_u16(ch->cipher_suites, ch->n_cipher_suites, sh->cipher_suite)) {
            return PQT_ERR_TLS_CIPHER;
        }
        *what = sh->compression;
        if (sh->compression != 0) {
            return PQT_ERR_TLS_COMPRESSION;
        }
        return check_extensions(ch, sh->ext, sh->n_ext, IN_TLS12_SH, what);
    }

    /* §4.2.1: "If the 'supported_versions' extension in the ServerHello
     * contains a version not offered by the client or contains a version
     * prior to TLS 1.3, the client MUST abort the handshake with an
     * 'illegal_parameter' alert." */
    *what = sh->selected_version;
    if (sh->selected_version < 0x0304 ||
        !offered_u16(ch->versions, ch->n_versions, sh->selected_version)) {
        return PQT_ERR_TLS_VERSION;
    }
    /* §4.1.3: "the legacy_version field MUST be set to 0x0303". */
    *what = sh->legacy_version;
    if (sh->legacy_version != 0x0303) {
        return PQT_ERR_TLS_LEGACY_VERSION;
    }
    /* §4.1.3: "A client which receives a legacy_session_id_echo field that
     * does not match what it sent in the ClientHello MUST abort the
     * handshake with an 'illegal_parameter' alert." */
    *what = 0;
    if (sh->session_id_len != ch->session_id_len ||
        (ch->session_id_len > 0 &&
         memcmp(sh->session_id, ch->session_id, ch->session_id_len) != 0)) {
        return PQT_ERR_TLS_SESSION_ID;
    }
    /* §4.1.3: "A client which receives a cipher suite that was not offered
     * MUST abort the handshake with an 'illegal_parameter' alert", and a
     * TLS 1.3 handshake takes a TLS 1.3 suite (§B.4). */
    *what = sh->cipher_suite;
    if ((sh->cipher_suite >> 8) != 0x13 ||
        !offered_u16(ch->cipher_suites, ch->n_cipher_suites, sh->cipher_suite)) {
        return PQT_ERR_TLS_CIPHER;
    }
    /* §4.1.3: "legacy_compression_method: A single byte which MUST have
     * the value 0." */
    *what = sh->compression;
    if (sh->compression != 0) {
        return PQT_ERR_TLS_COMPRESSION;
    }
    PQT_TRY(check_extensions(ch, sh->ext, sh->n_ext, sh->is_hrr ? IN_HRR : IN_SH, what));
    /* §4.1.4: "Clients MUST abort the handshake with an 'illegal_parameter'
     * alert if the HelloRetryRequest would not result in any change in the
     * ClientHello." Only key_share and cookie change it (a key_share for a
     * group whose share was sent is the caller's §4.2.8 check). */
    if (sh->is_hrr) {
        int cookie = 0;
        for (size_t i = 0; i < sh->n_ext; i++) {
            cookie |= sh->ext[i].type == PQT_TLS_EXT_COOKIE;
        }
        if (!cookie && !sh->has_key_share) {
            *what = 0;
            return PQT_ERR_TLS_HRR_NO_CHANGE;
        }
    }
    return 0;
}

/* RFC 7301 §3.1: "the 'extension_data' field of the ('application_layer_
 * protocol_negotiation') extension is structured the same as described
 * above for the client 'extension_data', except that the 'ProtocolNameList'
 * MUST contain exactly one 'ProtocolName'" — one the client offered. */
static int check_alpn(const pqt_client_hello *ch, const pqt_tls_extension *e)
{
    pqt_reader r = pqt_reader_make(e->data, e->len), list, name;
    PQT_TRY(pqt_reader_vec(&r, 2, &list));
    PQT_TRY(pqt_reader_close(&r));
    PQT_TRY(pqt_reader_vec(&list, 1, &name));
    if (pqt_reader_left(&list) != 0 || pqt_reader_left(&name) == 0) {
        return PQT_ERR_TLS_ALPN;
    }
    pqt_reader offered = pqt_reader_make(ch->alpn, ch->alpn_len), p;
    while (pqt_reader_left(&offered) > 0) {
        PQT_TRY(pqt_reader_vec(&offered, 1, &p));
        if (pqt_reader_left(&p) == pqt_reader_left(&name) &&
            memcmp(p.p, name.p, pqt_reader_left(&name)) == 0) {
            return 0;
        }
    }
    return PQT_ERR_TLS_ALPN;
}

int pqt_hello_check_encrypted_extensions(const pqt_client_hello *ch, const uint8_t *body,
                                         size_t len, uint16_t *what)
{
    pqt_tls_extension ext[PQT_HELLO_MAX_EXTENSIONS] = {{0}};
    size_t n = 0;
    uint16_t dummy;
    what = what != NULL ? what : &dummy;
    *what = 0;
    /* struct { Extension extensions<0..2^16-1>; } EncryptedExtensions;
     * (§4.3.1): unlike a hello's, the block is never omitted. */
    if (len == 0) {
        return PQT_ERR_TRUNCATED;
    }
    pqt_reader r = pqt_reader_make(body, len);
    PQT_TRY(pqt_tls_parse_extensions(&r, ext, &n));
    PQT_TRY(check_extensions(ch, ext, n, IN_EE, what));
    for (size_t i = 0; i < n; i++) {
        *what = ext[i].type;
        if (ext[i].type == PQT_TLS_EXT_ALPN) {
            PQT_TRY(check_alpn(ch, &ext[i]));
        } else if (ext[i].type == PQT_TLS_EXT_SERVER_NAME && ext[i].len != 0) {
            /* RFC 6066 §3: the server's "extension_data" "SHALL be empty". */
            return PQT_ERR_SYNTAX;
        }
    }
    *what = 0;
    return 0;
}
