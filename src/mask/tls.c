/*
 * pqtls mask: what inside a TLS handshake message names a tenant or links
 * sessions, replaced in place with keyed bytes of the same length, so that
 * every length field, the record and segment boundaries and JA4 stay
 * exactly as they were. Messages are read through pqt_reader; a message
 * that does not parse as its schema is masked whole (keyed bytes), since
 * an unparsed message could hold anything.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "mask_internal.h"
#include "pqtls/hello.h"
#include "pqtls/quic.h"
#include "pqtls/wire.h"

/* RFC 8446 §4.1.3: the HelloRetryRequest random (SHA-256 of
 * "HelloRetryRequest"); kept so that an HRR still reads as one. */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
/* RFC 8446 §4.1.3: the downgrade sentinel, last 8 bytes of a server random
 * ("DOWNGRD" and 01 or 00); kept so that downgrade protection reads true. */
static const uint8_t downgrade[7] = {0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44};

static uint8_t *w(const uint8_t *p)
{
    return (uint8_t *)(uintptr_t)p; /* the reader walks the message it may edit */
}

/* ---- DER (X.690) ---- */

static int der_header(pqt_reader *r, uint8_t *tag, size_t *len)
{
    uint8_t t, l;
    if (pqt_reader_u8(r, &t) != 0 || pqt_reader_u8(r, &l) != 0 || (t & 0x1f) == 0x1f) {
        return -1;
    }
    *tag = t;
    if (l < 0x80) {
        *len = l;
    } else {
        unsigned nb = l & 0x7f;
        uint32_t v = 0;
        if (nb == 0 || nb > 3 || pqt_reader_uint(r, nb, &v) != 0) {
            return -1;
        }
        *len = v;
    }
    return pqt_reader_left(r) >= *len ? 0 : -1;
}

/* 1 if p[0..n) is a sequence of whole DER elements. */
static int der_parses(const uint8_t *p, size_t n, int depth)
{
    pqt_reader r = pqt_reader_make(p, n);
    if (n == 0 || depth > 20) {
        return 0;
    }
    while (pqt_reader_left(&r) > 0) {
        uint8_t tag;
        size_t len;
        const uint8_t *body;
        if (der_header(&r, &tag, &len) != 0 || pqt_reader_bytes(&r, len, &body) != 0) {
            return 0;
        }
        if ((tag & 0x20) != 0 && !der_parses(body, len, depth + 1) && len > 0) {
            return 0;
        }
    }
    return 1;
}

/* RFC 6962 §3.3: a SignedCertificateTimestampList. The log id and time
 * find the original certificate in a CT log, the signature is over it:
 * keyed bytes; the version, lengths and algorithms stay. */
static void mask_sct_list(pqt_mask *m, uint8_t *p, size_t n)
{
    pqt_reader r = pqt_reader_make(p, n);
    while (pqt_reader_left(&r) > 0) {
        pqt_reader sct, ext, sig;
        const uint8_t *head;
        if (pqt_reader_vec(&r, 2, &sct) != 0 || pqt_reader_skip(&sct, 1) != 0 ||
            pqt_reader_bytes(&sct, 40, &head) != 0 || pqt_reader_vec(&sct, 2, &ext) != 0 ||
            pqt_reader_skip(&sct, 2) != 0 || pqt_reader_vec(&sct, 2, &sig) != 0) {
            pqt_mask_bytes(m, "sct", p, n);
            return;
        }
        pqt_mask_bytes(m, "sct", (uint8_t *)(uintptr_t)head, 40);
        pqt_mask_bytes(m, "sct", (uint8_t *)(uintptr_t)ext.p, pqt_reader_left(&ext));
        pqt_mask_bytes(m, "sct", (uint8_t *)(uintptr_t)sig.p, pqt_reader_left(&sig));
    }
}

void pqt_m_der(pqt_mask *m, uint8_t *p, size_t n, int depth)
{
    pqt_reader r = pqt_reader_make(p, n);
    if (depth > 20) {
        pqt_mask_bytes(m, "der", p, n);
        return;
    }
    while (pqt_reader_left(&r) > 0) {
        uint8_t tag;
        size_t len;
        const uint8_t *body;
        if (der_header(&r, &tag, &len) != 0 || pqt_reader_bytes(&r, len, &body) != 0) {
            /* not DER after all: the rest as keyed bytes */
            uint8_t *rest = w(r.p);
            pqt_mask_bytes(m, "der", rest, (size_t)(p + n - rest));
            return;
        }
        uint8_t *b = w(body);
        if ((tag & 0x20) != 0) {
            pqt_m_der(m, b, len, depth + 1);
            continue;
        }
        switch (tag) {
        case 0x0c: /* UTF8String */
        case 0x12: /* NumericString */
        case 0x13: /* PrintableString */
        case 0x14: /* T61String */
        case 0x16: /* IA5String */
        case 0x1a: /* VisibleString */
        case 0x1c: /* UniversalString */
        case 0x1e: /* BMPString */
        case 0x81: /* GeneralName rfc822Name */
        case 0x82: /* GeneralName dNSName */
        case 0x86: /* GeneralName URI */
            if (pqt_m_is_dnsish(b, len)) {
                pqt_mask_name(m, b, len);
            } else {
                pqt_mask_text(m, b, len);
            }
            break;
        case 0x87: /* GeneralName iPAddress */
            if (len == 4) {
                pqt_mask_ipv4(m, b, b);
            } else if (len == 16) {
                pqt_mask_ipv6(m, b, b);
            } else {
                pqt_mask_bytes(m, "der-ip", b, len);
            }
            break;
        case 0x02: /* INTEGER: serial numbers and moduli identify a key or a
                    * certificate; short ones (versions, exponents) stay */
            if (len > 8) {
                pqt_mask_bytes(m, "der-int", b + 1, len - 1);
            }
            break;
        case 0x03: /* BIT STRING: a key or a signature unless it wraps DER */
            if (len > 1 && der_parses(b + 1, len - 1, depth + 1)) {
                pqt_m_der(m, b + 1, len - 1, depth + 1);
            } else if (len > 8) {
                /* keep the unused-bits count and the point format byte */
                pqt_mask_bytes(m, "der-bits", b + 2, len - 2);
            }
            break;
        case 0x04: /* OCTET STRING: extension values wrap DER; else key ids */
            if (der_parses(b, len, depth + 1)) {
                pqt_m_der(m, b, len, depth + 1);
            } else if (len > 2 && ((size_t)b[0] << 8 | b[1]) == len - 2) {
                mask_sct_list(m, b + 2, len - 2);
            } else if (len > 4) {
                pqt_mask_bytes(m, "der-octets", b, len);
            }
            break;
        default: /* OIDs, booleans, times, NULL: structure, not identity */
            break;
        }
    }
}

/* ---- handshake messages ---- */

static void mask_vec(pqt_mask *m, const char *label, pqt_reader *r, unsigned prefix)
{
    pqt_reader v;
    if (pqt_reader_vec(r, prefix, &v) == 0) {
        pqt_mask_bytes(m, label, w(v.p), pqt_reader_left(&v));
    }
}

static int mask_server_name(pqt_mask *m, pqt_reader *e)
{
    pqt_reader list;
    if (pqt_reader_vec(e, 2, &list) != 0) {
        return -1;
    }
    while (pqt_reader_left(&list) > 0) {
        uint8_t type;
        pqt_reader name;
        if (pqt_reader_u8(&list, &type) != 0 || pqt_reader_vec(&list, 2, &name) != 0) {
            return -1;
        }
        /* RFC 6066 §3: host_name(0) is the only type; others keyed. */
        if (type == 0) {
            pqt_mask_name(m, w(name.p), pqt_reader_left(&name));
        } else {
            pqt_mask_bytes(m, "sni-other", w(name.p), pqt_reader_left(&name));
        }
    }
    return 0;
}

static int mask_psk(pqt_mask *m, pqt_reader *e)
{
    pqt_reader ids, binders;
    if (pqt_reader_vec(e, 2, &ids) != 0) {
        return -1;
    }
    while (pqt_reader_left(&ids) > 0) {
        /* RFC 8446 §4.2.11: identity<1..2^16-1>, obfuscated_ticket_age (kept:
         * it is masked by the ticket's age_add already) */
        mask_vec(m, "psk-identity", &ids, 2);
        if (pqt_reader_skip(&ids, 4) != 0) {
            return -1;
        }
    }
    if (pqt_reader_vec(e, 2, &binders) != 0) {
        return -1;
    }
    while (pqt_reader_left(&binders) > 0) {
        pqt_reader b;
        if (pqt_reader_vec(&binders, 1, &b) != 0) {
            return -1;
        }
        pqt_mask_bytes(m, "psk-binder", w(b.p), pqt_reader_left(&b));
    }
    return 0;
}

static int mask_dn_list(pqt_mask *m, pqt_reader *r)
{
    pqt_reader list;
    if (pqt_reader_vec(r, 2, &list) != 0) {
        return -1;
    }
    while (pqt_reader_left(&list) > 0) {
        pqt_reader dn;
        if (pqt_reader_vec(&list, 2, &dn) != 0) {
            return -1;
        }
        pqt_m_der(m, w(dn.p), pqt_reader_left(&dn), 0);
    }
    return 0;
}

/*
 * quic_transport_parameters (RFC 9000 §18): identifiers and lengths kept;
 * connection IDs become the pseudonyms the packet headers carry (the same
 * label, so they still match), the stateless reset token is keyed, the
 * preferred address masked like any address; integers (8 bytes or fewer)
 * and version lists kept; any other longer value (a user agent, GREASE
 * bytes) keyed. 0, or -1 when the list does not parse.
 */
static int mask_quic_tp(pqt_mask *m, pqt_reader *e)
{
    while (pqt_reader_left(e) > 0) {
        uint64_t id, len;
        const uint8_t *v;
        if (pqt_quic_varint(e, &id) != 0 || pqt_quic_varint(e, &len) != 0 ||
            len > pqt_reader_left(e) || pqt_reader_bytes(e, (size_t)len, &v) != 0) {
            return -1;
        }
        uint8_t *b = w(v);
        size_t n = (size_t)len;
        switch (id) {
        case 0x00: /* original_destination_connection_id */
        case 0x0f: /* initial_source_connection_id */
        case 0x10: /* retry_source_connection_id */
            pqt_mask_bytes(m, "quic-cid", b, n);
            break;
        case 0x02: /* stateless_reset_token */
            pqt_mask_bytes(m, "quic-reset", b, n);
            break;
        case 0x0d: /* preferred_address: v4, port, v6, port, cid<1>, token[16] */
            if (n >= 41 && n == 41u + b[24] + 16u) {
                pqt_mask_ipv4(m, b, b);
                pqt_mask_ipv6(m, b + 6, b + 6);
                pqt_mask_bytes(m, "quic-cid", b + 25, b[24]);
                pqt_mask_bytes(m, "quic-reset", b + 25 + b[24], 16);
            } else {
                pqt_mask_bytes(m, "quic-tp", b, n);
            }
            break;
        case 0x11:     /* version_information (RFC 9368) */
        case 0xff73db: /* its draft code point */
            break;
        default:
            if (n > 8) {
                pqt_mask_bytes(m, "quic-tp", b, n);
            }
            break;
        }
    }
    return 0;
}

/* One extension of a ClientHello (ch) or ServerHello/HRR. */
static void mask_extension(pqt_mask *m, uint16_t type, pqt_reader *e, int ch)
{
    uint8_t *body = w(e->p);
    size_t len = pqt_reader_left(e);
    int bad = 0;
    switch (type) {
    case 0: /* server_name */
        if (ch) {
            bad = mask_server_name(m, e);
        }
        break;
    case 57:     /* quic_transport_parameters */
    case 0xffa5: /* its draft code point */
        bad = mask_quic_tp(m, e) != 0;
        break;
    case 35: /* session_ticket (RFC 5077): the ticket */
        pqt_mask_bytes(m, "ticket", body, len);
        break;
    case 41: /* pre_shared_key: identities and binders; in a ServerHello the
              * selected index, kept */
        if (ch) {
            bad = mask_psk(m, e);
        }
        break;
    case 44:     /* cookie: server state, may encode the client */
    case 12:     /* srp: user name */
    case 6:      /* user_mapping */
    case 2:      /* client_certificate_url */
    case 0xfe0d: /* encrypted_client_hello: config id, enc and payload; the
                  * type byte and the HPKE suite stay (JA4 does not read
                  * them, but they say which ECH is in use) */
        if (type == 0xfe0d && len > 5) {
            pqt_mask_bytes(m, "ech", body + 5, len - 5);
        } else {
            pqt_mask_bytes(m, "ext-secret", body, len);
        }
        break;
    case 40: { /* key_share in TLS 1.3 drafts before 23 (now reserved): kept,
                * like 51, when it reads exactly as a client's list of (group,
                * share<2>) or a server's one share; anything else keyed */
        pqt_reader list = *e, share;
        int ok = !ch || (pqt_reader_vec(e, 2, &list) == 0 && pqt_reader_close(e) == 0);
        do {
            ok = ok && pqt_reader_skip(&list, 2) == 0 && pqt_reader_vec(&list, 2, &share) == 0;
        } while (ok && ch && pqt_reader_left(&list) > 0);
        bad = !ok || pqt_reader_close(&list) != 0;
        break;
    }
    case 47: /* certificate_authorities: distinguished names */
        bad = mask_dn_list(m, e);
        break;
    case 1:
    case 5:
    case 10:
    case 11:
    case 13:
    case 15:
    case 16:
    case 17:
    case 18:
    case 21:
    case 22:
    case 23:
    case 27:
    case 28:
    case 34:
    case 42:
    case 43:
    case 45:
    case 49:
    case 50:
    case 51:
    case 13172:
    case 17513:
    case 17613:
    case 0xff01: /* renegotiation_info: empty, or encrypted in a renegotiation */
        /* groups, key shares (ephemeral), ALPN, versions, signature
         * algorithms, padding: what the analysis needs, no identity */
        break;
    default:
        /* GREASE (RFC 8701) carries nothing; any other extension could
         * carry anything (a name under an unknown type): keyed bytes. JA4
         * reads only the types. */
        if ((type & 0x0f0f) != 0x0a0a || (type >> 8) != (type & 0xff)) {
            pqt_mask_bytes(m, "ext-unknown", body, len);
        }
        break;
    }
    if (bad) {
        pqt_mask_bytes(m, "ext-bad", body, len);
    }
}

static int mask_hello(pqt_mask *m, uint8_t *body, size_t len, int ch)
{
    pqt_reader r = pqt_reader_make(body, len), sid, exts;
    const uint8_t *random;
    uint16_t version;
    if (pqt_reader_u16(&r, &version) != 0 || pqt_reader_bytes(&r, 32, &random) != 0) {
        return -1;
    }
    if (!ch && (version >> 8) == 0x7f) {
        /* TLS 1.3 drafts before 22: no session id, no compression */
        pqt_mask_bytes(m, "server-random", w(random), 32);
        return 0;
    }
    if (ch || memcmp(random, hrr_random, 32) != 0) {
        size_t n = 32;
        if (!ch && memcmp(random + 24, downgrade, 7) == 0 && random[31] <= 1) {
            n = 24;
        }
        pqt_mask_bytes(m, ch ? "client-random" : "server-random", w(random), n);
    }
    if (pqt_reader_vec(&r, 1, &sid) != 0) {
        return -1;
    }
    /* Both sides mask the session id under one label: a ServerHello echoing
     * the client's id (TLS 1.3 compatibility mode) still echoes it. */
    pqt_mask_bytes(m, "session-id", w(sid.p), pqt_reader_left(&sid));
    if (ch) {
        pqt_reader cs, comp;
        if (pqt_reader_vec(&r, 2, &cs) != 0 || pqt_reader_vec(&r, 1, &comp) != 0) {
            return -1;
        }
    } else if (pqt_reader_skip(&r, 3) != 0) {
        return -1;
    }
    if (pqt_reader_left(&r) == 0) {
        return 0;
    }
    if (pqt_reader_vec(&r, 2, &exts) != 0 || pqt_reader_close(&r) != 0) {
        return -1;
    }
    while (pqt_reader_left(&exts) > 0) {
        uint16_t type;
        pqt_reader e;
        if (pqt_reader_u16(&exts, &type) != 0 || pqt_reader_vec(&exts, 2, &e) != 0) {
            return -1;
        }
        mask_extension(m, type, &e, ch);
    }
    return 0;
}

/* A ClientHello that does not parse: its structure kept as far as it reads
 * (version, every length prefix and extension type, so that dissectors
 * report what they reported on the original), every other byte keyed
 * (random, session id, cipher suites, compression methods, extension
 * contents: a name could hide in any of them); from the first length that
 * runs over the message, the rest is keyed bytes. */
static void mask_hello_broken(pqt_mask *m, uint8_t *body, size_t len)
{
    pqt_reader r = pqt_reader_make(body, len), exts;
    static const unsigned prefix[3] = {1, 2, 1}; /* session id, suites, compression */
    if (pqt_reader_skip(&r, 2) != 0) {
        goto rest;
    }
    for (int i = 0; i < 4; i++) {
        pqt_reader v;
        if (i == 0 ? pqt_reader_skip(&r, 32) != 0 : pqt_reader_vec(&r, prefix[i - 1], &v) != 0) {
            goto rest;
        }
        if (i == 0) {
            pqt_mask_bytes(m, "hello-bad", w(r.p) - 32, 32);
        } else {
            pqt_mask_bytes(m, "hello-bad", w(v.p), pqt_reader_left(&v));
        }
    }
    if (pqt_reader_vec(&r, 2, &exts) != 0) {
        goto rest;
    }
    while (pqt_reader_left(&exts) > 0) {
        pqt_reader e;
        if (pqt_reader_skip(&exts, 2) != 0 || pqt_reader_vec(&exts, 2, &e) != 0) {
            pqt_mask_bytes(m, "hello-bad", w(exts.p), pqt_reader_left(&exts));
            break;
        }
        pqt_mask_bytes(m, "hello-bad", w(e.p), pqt_reader_left(&e));
    }
rest:
    pqt_mask_bytes(m, "hello-bad", w(r.p), pqt_reader_left(&r));
}

static int mask_certificate(pqt_mask *m, uint8_t *body, size_t len)
{
    pqt_reader r = pqt_reader_make(body, len), list;
    if (pqt_reader_vec(&r, 3, &list) != 0 || pqt_reader_close(&r) != 0) {
        return -1;
    }
    while (pqt_reader_left(&list) > 0) {
        pqt_reader cert;
        if (pqt_reader_vec(&list, 3, &cert) != 0) {
            return -1;
        }
        pqt_m_der(m, w(cert.p), pqt_reader_left(&cert), 0);
    }
    return 0;
}

static int mask_cert_request(pqt_mask *m, uint8_t *body, size_t len)
{
    /* TLS 1.2 (RFC 5246 §7.4.4): types<1>, signature algorithms<2>, DNs<2> */
    pqt_reader r = pqt_reader_make(body, len), types, algs;
    if (pqt_reader_vec(&r, 1, &types) == 0 && pqt_reader_vec(&r, 2, &algs) == 0) {
        pqt_reader dns = r, check = r, list;
        if (pqt_reader_vec(&check, 2, &list) == 0 && pqt_reader_close(&check) == 0) {
            return mask_dn_list(m, &dns);
        }
    }
    /* TLS 1.0/1.1 (RFC 4346 §7.4.4): no signature algorithms */
    r = pqt_reader_make(body, len);
    if (pqt_reader_vec(&r, 1, &types) != 0 || mask_dn_list(m, &r) != 0 ||
        pqt_reader_close(&r) != 0) {
        return -1;
    }
    return 0;
}

void pqt_m_handshake(pqt_mask *m, uint8_t type, uint8_t *body, size_t len, int from_client)
{
    int bad = 0;
    (void)from_client;
    switch (type) {
    case 1: { /* ClientHello */
        /* Only a hello that parses as the observer parses it (every vector
         * closed, a compression method, well-formed extensions) is masked
         * field by field: a lenient reading of a broken one could take its
         * SNI for cipher suites and keep it. One that does not parse has
         * nothing the observer reports; it is keyed bytes, whole. */
        pqt_client_hello ch;
        if (pqt_hello_parse_client(body, len, &ch) != 0 || mask_hello(m, body, len, 1) != 0) {
            mask_hello_broken(m, body, len);
            m->st.unparsed++;
        }
        m->st.tls_handshakes++;
        break;
    }
    case 2: /* ServerHello, HelloRetryRequest */
        bad = mask_hello(m, body, len, 0);
        break;
    case 4: { /* NewSessionTicket (TLS 1.2: lifetime, ticket) */
        pqt_reader r = pqt_reader_make(body, len), t;
        bad = pqt_reader_skip(&r, 4) != 0 || pqt_reader_vec(&r, 2, &t) != 0;
        if (!bad) {
            pqt_mask_bytes(m, "ticket", w(t.p), pqt_reader_left(&t));
        }
        break;
    }
    case 11: /* Certificate (TLS 1.2 and older) */
        bad = mask_certificate(m, body, len);
        break;
    case 13: /* CertificateRequest */
        bad = mask_cert_request(m, body, len);
        break;
    case 22: /* CertificateStatus: an OCSP response, DER after the type byte
              * and a 3-byte length */
        if (len > 4) {
            pqt_m_der(m, body + 4, len - 4, 0);
        }
        break;
    case 0:  /* HelloRequest */
    case 12: /* ServerKeyExchange: ephemeral key and signature (the group) */
    case 14: /* ServerHelloDone */
    case 15: /* CertificateVerify */
    case 16: /* ClientKeyExchange: ephemeral */
        break;
    default: /* anything else could say anything */
        pqt_mask_bytes(m, "handshake", body, len);
        break;
    }
    if (bad) {
        pqt_mask_bytes(m, "handshake-bad", body, len);
        m->st.unparsed++;
    }
}

/* ---- cleartext (HTTP, SMTP, IMAP, POP3, before STARTTLS or instead of TLS) ---- */

/* Header values that say nothing about who: kept. */
static const char *const keep_headers[] = {"content-length",
                                           "content-type",
                                           "connection",
                                           "accept",
                                           "accept-encoding",
                                           "accept-language",
                                           "cache-control",
                                           "transfer-encoding",
                                           "upgrade",
                                           "date",
                                           "server",
                                           "user-agent",
                                           "pragma",
                                           "vary",
                                           "expires",
                                           "last-modified",
                                           "content-encoding",
                                           "keep-alive",
                                           "sec-fetch-mode",
                                           "sec-fetch-site",
                                           "sec-fetch-dest",
                                           "upgrade-insecure-requests",
                                           NULL};
/* Words of mail and HTTP dialogues that are protocol, not data. */
static const char *const keep_words[] = {
    "EHLO",        "HELO",        "MAIL",        "RCPT",     "DATA",
    "QUIT",        "RSET",        "NOOP",        "STARTTLS", "AUTH",
    "PLAIN",       "LOGIN",       "XOAUTH2",     "CRAM-MD5", "ESMTP",
    "SMTP",        "PIPELINING",  "SIZE",        "8BITMIME", "ENHANCEDSTATUSCODES",
    "CHUNKING",    "SMTPUTF8",    "DSN",         "OK",       "NO",
    "BAD",         "CAPABILITY",  "IMAP4rev1",   "IMAP4",    "LOGINDISABLED",
    "ID",          "LOGOUT",      "SELECT",      "BYE",      "PREAUTH",
    "Ready",       "ready",       "STLS",        "USER",     "PASS",
    "CAPA",        "TOP",         "UIDL",        "SASL",     "Service",
    "HTTP/1.1",    "HTTP/1.0",    "GET",         "POST",     "PUT",
    "HEAD",        "DELETE",      "OPTIONS",     "PATCH",    "CONNECT",
    "Connection",  "established", "Established", "Begin",    "TLS",
    "negotiation", "now",         "Go",          "ahead",    "completed",
    "FROM:",       "TO:",         NULL};

static int word_kept(const uint8_t *p, size_t n)
{
    for (size_t i = 0; keep_words[i] != NULL; i++) {
        if (strlen(keep_words[i]) == n && memcmp(p, keep_words[i], n) == 0) {
            return 1;
        }
    }
    /* response codes: 220, 250-, 334, +OK, * */
    size_t d = 0;
    while (d < n && isdigit(p[d])) {
        d++;
    }
    if (d == 3 && (n == 3 || (n == 4 && (p[3] == '-' || p[3] == ' ')))) {
        return 1;
    }
    return (n == 1 && (p[0] == '*' || p[0] == '+')) || (n == 3 && memcmp(p, "+OK", 3) == 0) ||
           (n == 4 && memcmp(p, "-ERR", 4) == 0);
}

static void mask_words(pqt_mask *m, uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) {
            i++;
        }
        size_t s = i;
        while (i < n && p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') {
            i++;
        }
        if (i > s && !word_kept(p + s, i - s)) {
            pqt_mask_text(m, p + s, i - s);
        }
    }
}

/* An HTTP request target: path segments as text, query names kept, values
 * masked (tokens in query strings). */

/* An IPv6 literal as text of the same length (a Host header's, whose
 * length the stream must keep): every hex digit replaced by a keyed one
 * that is never the original, so even "::1" does not survive; colons and
 * dots stay. Not the address pseudonym of the IP headers, which has its
 * own length. */
static void mask_ipv6_literal(pqt_mask *m, uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t h = pqt_m_siphash64(m->sip_name, p, n);
    for (size_t i = 0, used = 0; i < n; i++) {
        int d = isdigit(p[i]) ? p[i] - '0' : isxdigit(p[i]) ? tolower(p[i]) - 'a' + 10 : -1;
        if (d < 0) {
            continue;
        }
        if (used == 16) {
            uint8_t b[8];
            memcpy(b, &h, sizeof(b));
            h = pqt_m_siphash64(m->sip_name, b, sizeof(b));
            used = 0;
        }
        p[i] = (uint8_t)hex[(d + 1 + (int)((h >> (4 * used++)) & 0xf) % 15) % 16];
    }
}

static void mask_target(pqt_mask *m, uint8_t *p, size_t n)
{
    uint8_t *q = memchr(p, '?', n);
    size_t plen = q != NULL ? (size_t)(q - p) : n;
    pqt_mask_text(m, p, plen);
    if (q == NULL) {
        return;
    }
    size_t i = plen + 1;
    while (i < n) {
        size_t s = i;
        while (i < n && p[i] != '&') {
            i++;
        }
        uint8_t *eq = memchr(p + s, '=', i - s);
        if (eq != NULL) {
            pqt_mask_bytes(m, "query", eq + 1, (size_t)(p + i - eq - 1));
            /* keyed bytes must stay printable text: map to letters */
            for (uint8_t *c = eq + 1; c < p + i; c++) {
                *c = (uint8_t)('a' + *c % 26);
            }
        } else {
            pqt_mask_text(m, p + s, i - s);
        }
        i++;
    }
}

void pqt_m_text_line(pqt_mask *m, uint8_t *p, size_t n, int *in_headers)
{
    size_t len = n;
    while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r')) {
        len--;
    }
    for (size_t i = 0; i < len; i++) {
        if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f) {
            /* binary: nothing here is text to keep */
            pqt_mask_bytes(m, "binary", p, n);
            *in_headers = 0;
            return;
        }
    }
    if (len == 0) {
        *in_headers = 0;
        return;
    }
    uint8_t *sp1 = memchr(p, ' ', len);
    if (sp1 != NULL && len > 9 && memcmp(p + len - 9, " HTTP/1.", 8) == 0 &&
        (size_t)(sp1 - p) < len - 9) {
        /* request line: METHOD SP target SP HTTP/1.x */
        size_t ts = (size_t)(sp1 - p) + 1;
        mask_target(m, p + ts, len - 9 - ts);
        *in_headers = 1;
        return;
    }
    if (len >= 8 && memcmp(p, "HTTP/1.", 7) == 0) {
        *in_headers = 1; /* status line: kept */
        return;
    }
    uint8_t *colon = memchr(p, ':', len);
    if (*in_headers && colon != NULL) {
        size_t nl = (size_t)(colon - p);
        size_t vs = nl + 1;
        while (vs < len && p[vs] == ' ') {
            vs++;
        }
        for (size_t i = 0; keep_headers[i] != NULL; i++) {
            if (strlen(keep_headers[i]) == nl && strncasecmp((char *)p, keep_headers[i], nl) == 0) {
                return;
            }
        }
        if (nl == 4 && strncasecmp((char *)p, "host", 4) == 0) {
            /* RFC 3986 §3.2.2: an IPv6 literal is bracketed, and its colons
             * are not the port's. */
            uint8_t *close = vs < len && p[vs] == '[' ? memchr(p + vs, ']', len - vs) : NULL;
            if (close != NULL) {
                mask_ipv6_literal(m, p + vs + 1, (size_t)(close - p) - vs - 1);
                return;
            }
            uint8_t *port = memchr(p + vs, ':', len - vs);
            size_t hl = port != NULL ? (size_t)(port - p) - vs : len - vs;
            if (pqt_m_is_dnsish(p + vs, hl)) {
                pqt_mask_name(m, p + vs, hl);
            } else {
                pqt_mask_text(m, p + vs, hl);
            }
            return;
        }
        /* Authorization: keep the scheme word (Bearer, Basic) */
        if ((nl == 13 && strncasecmp((char *)p, "authorization", 13) == 0) ||
            (nl == 19 && strncasecmp((char *)p, "proxy-authorization", 19) == 0)) {
            uint8_t *sp = memchr(p + vs, ' ', len - vs);
            if (sp != NULL) {
                vs = (size_t)(sp - p) + 1;
            }
        }
        pqt_mask_text(m, p + vs, len - vs);
        return;
    }
    mask_words(m, p, len);
}
