/*
 * Which application protocol carried a TLS handshake (app_protocol in
 * every output; the rules are in docs/observe.md, "Application protocol").
 *
 * A STARTTLS-style dialogue leaves cleartext before the ClientHello in one
 * or both directions; this file names its protocol from the first
 * PQT_OBS_APP_PEEK bytes of each, keeping nothing: the observer already
 * holds those bytes while it searches them for the first TLS record, and
 * it asks once, when the client's first record starts. Handshakes with no
 * recognised dialogue are named by the engine from the ClientHello's ALPN
 * and the server port (pqt_obs_app_direct).
 *
 * Text lines are read to their LF only, so a command cut at the end of the
 * window never matches by its prefix; binary dialogues (LDAP, PostgreSQL,
 * MySQL) through the bounded reader.
 */
#include <string.h>

#include "obs_internal.h"
#include "pqtls/wire.h"

static const char *const app_names[PQT_OBS_N_APPS] = {
    "unknown", "https", "smtp", "imap", "pop3", "ftp", "ldap", "postgres", "mysql", "xmpp",
};

const char *pqt_obs_app_protocol_name(pqt_obs_app_protocol p)
{
    return (unsigned)p < PQT_OBS_N_APPS ? app_names[p] : "unknown";
}

int pqt_obs_app_protocol_from_name(const char *name)
{
    for (int i = 0; name != NULL && i < PQT_OBS_N_APPS; i++) {
        if (strcmp(name, app_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

const char *pqt_obs_app_source_name(pqt_obs_app_source s)
{
    switch (s) {
    case PQT_OBS_APP_BY_PREAMBLE:
        return "preamble";
    case PQT_OBS_APP_BY_ALPN:
        return "alpn";
    case PQT_OBS_APP_BY_PORT:
        return "port";
    case PQT_OBS_APP_BY_ANSWER:
        return "answer";
    default:
        return NULL;
    }
}

/* ---- binary dialogues ---- */

/* PostgreSQL SSLRequest (protocol docs, "SSL Session Encryption"): length
 * 8, then the code 80877103 = 0x04d2162f; libpq may first have asked for
 * GSSAPI encryption (GSSENCRequest, code 80877104, answered 'N'). */
static int postgres_ssl_request(const uint8_t *c, size_t n)
{
    static const uint8_t ssl_request[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
    static const uint8_t gssenc_request[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30};
    if (n >= 16 && memcmp(c, gssenc_request, 8) == 0) {
        c += 8;
        n -= 8;
    }
    return n >= sizeof(ssl_request) && memcmp(c, ssl_request, sizeof(ssl_request)) == 0;
}

/* A BER tag and definite length (X.690 §8.1): short form, or long form of
 * up to 3 length bytes; the contents as a sub-reader. */
static int ber_get(pqt_reader *r, uint8_t want_tag, pqt_reader *contents)
{
    uint8_t tag = 0, first = 0;
    uint32_t len = 0;
    if (pqt_reader_u8(r, &tag) != 0 || tag != want_tag || pqt_reader_u8(r, &first) != 0) {
        return -1;
    }
    if (first < 0x80) {
        len = first;
    } else {
        unsigned k = first & 0x7f;
        if (k == 0 || k > 3) {
            return -1;
        }
        for (unsigned i = 0; i < k; i++) {
            uint8_t b = 0;
            if (pqt_reader_u8(r, &b) != 0) {
                return -1;
            }
            len = (len << 8) | b;
        }
    }
    const uint8_t *p = NULL;
    if (pqt_reader_bytes(r, len, &p) != 0) {
        return -1;
    }
    *contents = pqt_reader_make(p, len);
    return 0;
}

/*
 * LDAP StartTLS (RFC 4511 §4.14.1): LDAPMessage ::= SEQUENCE { messageID
 * INTEGER, protocolOp ExtendedRequest ::= [APPLICATION 23] SEQUENCE {
 * requestName [0] LDAPOID "1.3.6.1.4.1.1466.20037", ... }, ... }.
 */
static int ldap_start_tls(const uint8_t *c, size_t n)
{
    static const char oid[] = "1.3.6.1.4.1.1466.20037";
    pqt_reader r = pqt_reader_make(c, n), msg, id, op, name;
    return ber_get(&r, 0x30, &msg) == 0 && ber_get(&msg, 0x02, &id) == 0 &&
           ber_get(&msg, 0x77, &op) == 0 && ber_get(&op, 0x80, &name) == 0 &&
           pqt_reader_left(&name) == sizeof(oid) - 1 && memcmp(name.p, oid, sizeof(oid) - 1) == 0;
}

/* MySQL/MariaDB packets: a 3-byte little-endian length, a sequence number. */
static int mysql_packet(pqt_reader *r, uint8_t *seq, pqt_reader *payload)
{
    uint8_t l[3];
    const uint8_t *p = NULL;
    if (pqt_reader_copy(r, l, 3) != 0 || pqt_reader_u8(r, seq) != 0) {
        return -1;
    }
    uint32_t len = (uint32_t)l[0] | (uint32_t)l[1] << 8 | (uint32_t)l[2] << 16;
    size_t have = pqt_reader_left(r);
    /* The window may end inside a long greeting: read what is there. */
    if (pqt_reader_bytes(r, len < have ? len : have, &p) != 0) {
        return -1;
    }
    *payload = pqt_reader_make(p, len < have ? len : have);
    return len > 0 ? 0 : -1;
}

/* Initial Handshake Packet, protocol version 10: 0x0a, then the server
 * version, printable and NUL-terminated ("5.7.16", "5.5.5-10.11.6-MariaDB"). */
static int mysql_greeting(const uint8_t *s, size_t n)
{
    pqt_reader r = pqt_reader_make(s, n), pl;
    uint8_t seq = 0xff, proto = 0, ch = 0;
    size_t chars = 0;
    if (mysql_packet(&r, &seq, &pl) != 0 || seq != 0 || pqt_reader_u8(&pl, &proto) != 0 ||
        proto != 10) {
        return 0;
    }
    while (pqt_reader_u8(&pl, &ch) == 0) {
        if (ch == 0) {
            return chars > 0;
        }
        if (ch < 0x20 || ch > 0x7e) {
            return 0;
        }
        chars++;
    }
    return 0;
}

/* SSLRequest packet: the client's first packet (sequence 1), 32 bytes,
 * capability flags with CLIENT_PROTOCOL_41 (0x200) and CLIENT_SSL (0x800). */
static int mysql_ssl_request(const uint8_t *c, size_t n)
{
    pqt_reader r = pqt_reader_make(c, n), pl;
    uint8_t seq = 0, caps[4];
    if (mysql_packet(&r, &seq, &pl) != 0 || seq != 1 || pqt_reader_left(&pl) != 32 ||
        pqt_reader_copy(&pl, caps, 4) != 0) {
        return 0;
    }
    return (caps[1] & 0x0a) == 0x0a; /* 0x0200 | 0x0800, little-endian */
}

/* ---- text dialogues ---- */

static int contains(const uint8_t *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; k <= n && i <= n - k; i++) {
        if (p[i] == (uint8_t)s[0] && memcmp(p + i, s, k) == 0) {
            return 1;
        }
    }
    return 0;
}

static int upper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* One line of a text dialogue: [p, p + n) without its CR LF. */
typedef struct {
    const uint8_t *p;
    size_t n;
} text_line;

/* The next complete (LF-terminated) line of r; 0 when there is none. */
static int next_line(pqt_reader *r, text_line *l)
{
    size_t left = pqt_reader_left(r);
    const uint8_t *lf = left > 0 ? memchr(r->p, '\n', left) : NULL;
    const uint8_t *p = NULL;
    if (lf == NULL || pqt_reader_bytes(r, (size_t)(lf - r->p) + 1, &p) != 0) {
        return 0;
    }
    l->p = p;
    l->n = (size_t)(lf - p);
    if (l->n > 0 && l->p[l->n - 1] == '\r') {
        l->n--;
    }
    return 1;
}

/* Token i (0-based, space-separated) of a line; 0 when it has fewer. */
static int token(const text_line *l, unsigned i, text_line *t)
{
    size_t k = 0;
    for (unsigned j = 0;; j++) {
        while (k < l->n && l->p[k] == ' ') {
            k++;
        }
        size_t start = k;
        while (k < l->n && l->p[k] != ' ') {
            k++;
        }
        if (k == start) {
            return 0;
        }
        if (j == i) {
            t->p = l->p + start;
            t->n = k - start;
            return 1;
        }
    }
}

/* The token is word, ASCII case-insensitively. */
static int is_word(const text_line *t, const char *word)
{
    size_t k = strlen(word);
    if (t->n != k) {
        return 0;
    }
    for (size_t i = 0; i < k; i++) {
        if (upper(t->p[i]) != word[i]) {
            return 0;
        }
    }
    return 1;
}

static int starts_with(const uint8_t *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    return n >= k && memcmp(p, s, k) == 0;
}

/* The port of an HTTP CONNECT authority ("host:443", "[::1]:443"); 0 if none. */
static uint16_t authority_port(const text_line *t)
{
    size_t i = t->n;
    uint32_t port = 0, mul = 1;
    while (i > 0 && t->p[i - 1] >= '0' && t->p[i - 1] <= '9' && mul <= 10000) {
        port += (uint32_t)(t->p[i - 1] - '0') * mul;
        mul *= 10;
        i--;
    }
    if (i == 0 || i == t->n || t->p[i - 1] != ':' || port == 0 || port > 65535) {
        return 0;
    }
    return (uint16_t)port;
}

/*
 * A client command that names its protocol: SMTP's EHLO/HELO (LMTP's
 * LHLO) or an untagged STARTTLS (RFC 3207), IMAP's tagged STARTTLS
 * (RFC 9051 §6.2.1), POP3's STLS (RFC 2595 §4), FTP's AUTH TLS / AUTH SSL
 * (RFC 4217 §4). A CONNECT request line sets *connect_port instead.
 */
static pqt_obs_app_protocol client_command(const text_line *l, uint16_t *connect_port)
{
    text_line t0 = {NULL, 0}, t1 = {NULL, 0}, t2 = {NULL, 0};
    if (!token(l, 0, &t0)) {
        return PQT_OBS_APP_UNKNOWN;
    }
    int two = token(l, 1, &t1), three = two && token(l, 2, &t2);
    if (is_word(&t0, "EHLO") || is_word(&t0, "HELO") || is_word(&t0, "LHLO")) {
        return PQT_OBS_APP_SMTP;
    }
    if (!two && is_word(&t0, "STARTTLS")) {
        return PQT_OBS_APP_SMTP;
    }
    if (two && !three && is_word(&t1, "STARTTLS")) {
        return PQT_OBS_APP_IMAP;
    }
    if (!two && is_word(&t0, "STLS")) {
        return PQT_OBS_APP_POP3;
    }
    if (two && !three && is_word(&t0, "AUTH") &&
        (is_word(&t1, "TLS") || is_word(&t1, "SSL") || is_word(&t1, "TLS-C") ||
         is_word(&t1, "TLS-P"))) {
        return PQT_OBS_APP_FTP;
    }
    if (three && *connect_port == 0 && is_word(&t0, "CONNECT") &&
        starts_with(t2.p, t2.n, "HTTP/")) {
        *connect_port = authority_port(&t1);
    }
    return PQT_OBS_APP_UNKNOWN;
}

/*
 * The server's side alone, when the client's commands said nothing: the
 * greeting (IMAP "* OK" / "* PREAUTH", POP3 "+OK", a 220 banner that says
 * SMTP or FTP), an EHLO reply offering STARTTLS, FTP's 234 to AUTH TLS.
 */
static pqt_obs_app_protocol server_replies(const uint8_t *s, size_t n)
{
    pqt_reader r = pqt_reader_make(s, n);
    text_line l;
    int first = 1;
    while (next_line(&r, &l)) {
        if (first && (starts_with(l.p, l.n, "* OK") || starts_with(l.p, l.n, "* PREAUTH"))) {
            return PQT_OBS_APP_IMAP;
        }
        if (first && starts_with(l.p, l.n, "+OK")) {
            return PQT_OBS_APP_POP3;
        }
        if (first && (starts_with(l.p, l.n, "220 ") || starts_with(l.p, l.n, "220-"))) {
            if (contains(l.p, l.n, "SMTP")) {
                return PQT_OBS_APP_SMTP;
            }
            if (contains(l.p, l.n, "FTP")) {
                return PQT_OBS_APP_FTP;
            }
        }
        if (starts_with(l.p, l.n, "250-STARTTLS") || starts_with(l.p, l.n, "250 STARTTLS")) {
            return PQT_OBS_APP_SMTP;
        }
        if (starts_with(l.p, l.n, "234 ")) {
            return PQT_OBS_APP_FTP;
        }
        first = 0;
    }
    return PQT_OBS_APP_UNKNOWN;
}

pqt_obs_app_protocol pqt_obs_app_from_preamble(const uint8_t *client, size_t client_len,
                                               const uint8_t *server, size_t server_len,
                                               uint16_t *connect_port)
{
    uint16_t port = 0;
    pqt_obs_app_protocol app = PQT_OBS_APP_UNKNOWN;
    size_t cn = client != NULL ? client_len : 0, sn = server != NULL ? server_len : 0;
    cn = cn < PQT_OBS_APP_PEEK ? cn : PQT_OBS_APP_PEEK;
    sn = sn < PQT_OBS_APP_PEEK ? sn : PQT_OBS_APP_PEEK;
    if (postgres_ssl_request(client, cn)) {
        app = PQT_OBS_APP_POSTGRES;
    } else if (ldap_start_tls(client, cn)) {
        app = PQT_OBS_APP_LDAP;
    } else if (mysql_ssl_request(client, cn) || mysql_greeting(server, sn)) {
        app = PQT_OBS_APP_MYSQL;
    } else if (contains(client, cn, "<stream:stream") || contains(server, sn, "<stream:stream") ||
               contains(client, cn, "urn:ietf:params:xml:ns:xmpp-tls")) {
        /* RFC 6120 §4.2 stream header, §5.4.2.1 <starttls/>. */
        app = PQT_OBS_APP_XMPP;
    } else {
        pqt_reader r = pqt_reader_make(client, cn);
        text_line l;
        while (app == PQT_OBS_APP_UNKNOWN && next_line(&r, &l)) {
            app = client_command(&l, &port);
        }
        if (app == PQT_OBS_APP_UNKNOWN && port == 0) {
            app = server_replies(server, sn);
        }
    }
    if (connect_port != NULL) {
        *connect_port = app == PQT_OBS_APP_UNKNOWN ? port : 0;
    }
    return app;
}

/* ---- direct TLS ---- */

/* ALPN protocol IDs (IANA TLS ALPN registry) that name one of ours. */
static pqt_obs_app_protocol alpn_app(const uint8_t *p, size_t n)
{
    static const struct {
        const char *id;
        pqt_obs_app_protocol app;
    } ids[] = {
        {"h2", PQT_OBS_APP_HTTPS},
        {"h3", PQT_OBS_APP_HTTPS}, /* HTTP/3 over QUIC (RFC 9114) */
        {"http/1.1", PQT_OBS_APP_HTTPS},
        {"http/1.0", PQT_OBS_APP_HTTPS},
        {"http/0.9", PQT_OBS_APP_HTTPS},
        {"postgresql", PQT_OBS_APP_POSTGRES},
        {"imap", PQT_OBS_APP_IMAP},
        {"pop3", PQT_OBS_APP_POP3},
        {"ftp", PQT_OBS_APP_FTP},
        {"xmpp-client", PQT_OBS_APP_XMPP},
        {"xmpp-server", PQT_OBS_APP_XMPP},
    };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        if (strlen(ids[i].id) == n && memcmp(ids[i].id, p, n) == 0) {
            return ids[i].app;
        }
    }
    return PQT_OBS_APP_UNKNOWN;
}

/* Server ports of direct (implicit) TLS: RFC 9110 §4.2.2 (443), RFC 8314
 * §7.3 (465, 993, 995), RFC 4513 §3 / IANA (636), RFC 4217 / IANA (990),
 * XEP-0368 (5223); 8443 by convention. */
static pqt_obs_app_protocol port_app(uint16_t port)
{
    switch (port) {
    case 443:
    case 8443:
        return PQT_OBS_APP_HTTPS;
    case 465:
        return PQT_OBS_APP_SMTP;
    case 993:
        return PQT_OBS_APP_IMAP;
    case 995:
        return PQT_OBS_APP_POP3;
    case 636:
        return PQT_OBS_APP_LDAP;
    case 990:
        return PQT_OBS_APP_FTP;
    case 5223:
        return PQT_OBS_APP_XMPP;
    default:
        return PQT_OBS_APP_UNKNOWN;
    }
}

pqt_obs_app_protocol pqt_obs_app_direct(const pqt_client_hello *ch, uint16_t port,
                                        const pqt_obs_app_port *ports, size_t n_ports,
                                        pqt_obs_app_source *by)
{
    /* RFC 7301 §3.1: ProtocolNameList, in the client's order of preference. */
    if (ch != NULL && ch->alpn != NULL) {
        pqt_reader list = pqt_reader_make(ch->alpn, ch->alpn_len), name;
        while (pqt_reader_vec(&list, 1, &name) == 0) {
            pqt_obs_app_protocol app = alpn_app(name.p, pqt_reader_left(&name));
            if (app != PQT_OBS_APP_UNKNOWN) {
                *by = PQT_OBS_APP_BY_ALPN;
                return app;
            }
        }
    }
    for (size_t i = 0; i < n_ports; i++) {
        if (ports[i].port == port && ports[i].app != PQT_OBS_APP_UNKNOWN) {
            *by = PQT_OBS_APP_BY_PORT;
            return ports[i].app;
        }
    }
    pqt_obs_app_protocol app = port_app(port);
    *by = app != PQT_OBS_APP_UNKNOWN ? PQT_OBS_APP_BY_PORT : PQT_OBS_APP_BY_NONE;
    return app;
}
