/*
 * STARTTLS dialogues and plaintext banners (include/pqtls/scan.h).
 *
 * Each dialogue is a state machine with no I/O: the engine (or a test, or
 * the fuzz target) sends what pqt_starttls_output gives and feeds what the
 * server answers. Replies are framed into units (a line, a BER message, a
 * MySQL packet, an XML token) of at most ST_UNIT_MAX bytes in one buffer,
 * and every unit is read through pqt_reader. At most ST_TOTAL_MAX bytes
 * are accepted before TLS starts; the deadlines are the engine's.
 *
 * The dialogues, with the reply that decides each step:
 *   SMTP  (RFC 5321 §4.2, RFC 3207)  220 greeting, EHLO -> 250 with the
 *         STARTTLS keyword, STARTTLS -> 220
 *   IMAP  (RFC 3501 §6.2.1, RFC 2595) "* OK" greeting (its [CAPABILITY] or
 *         a CAPABILITY command), STARTTLS -> tagged OK
 *   POP3  (RFC 2449, RFC 2595 §4)    +OK greeting, CAPA -> STLS, STLS -> +OK
 *   FTP   (RFC 959 §4.2, RFC 4217)   220 greeting, AUTH TLS -> 234
 *   LDAP  (RFC 4511 §4.14)           ExtendedRequest 1.3.6.1.4.1.1466.20037
 *         -> ExtendedResponse resultCode success
 *   PostgreSQL (protocol 3, "SSL Session Encryption") SSLRequest -> 'S'
 *   MySQL (protocol 10)              greeting with CLIENT_SSL -> SSL request
 *         packet, after which the client starts TLS without an answer
 *   XMPP  (RFC 6120 §5.4)            stream header, <stream:features> with
 *         <starttls/>, <starttls/> -> <proceed/>
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/wire.h"
#include "scan_internal.h"

#define ST_UNIT_MAX 4096    /* one line, one binary message, one XML token */
#define ST_TOTAL_MAX 65536  /* bytes before TLS */
#define ST_OUT_MAX 512      /* one client command */
#define ST_XML_DEPTH_MAX 32 /* nesting inside the XMPP stream */

/* The steps; each dialogue uses a few. */
enum {
    ST_GREETING = 0, /* the server's first words (SMTP, IMAP, POP3, FTP, MySQL) */
    ST_EHLO,         /* SMTP: the EHLO reply */
    ST_CAPA,         /* IMAP CAPABILITY / POP3 CAPA status line */
    ST_CAPA_LIST,    /* POP3: the CAPA list up to "." */
    ST_COMMAND,      /* the reply to STARTTLS / STLS / AUTH TLS / the LDAP request */
    ST_PG_ANSWER,    /* PostgreSQL: the byte that answers SSLRequest */
    ST_PG_ERROR,     /* PostgreSQL: an ErrorResponse instead */
    ST_XMPP_HEADER,  /* XMPP: the server's stream header */
    ST_XMPP_FEATURES,
    ST_DONE,
};

struct pqt_starttls {
    int proto;
    int status;
    int step;
    const char *error;
    char detail[PQT_PROBE_DETAIL_MAX];
    char domain[PQT_SCAN_HOST_MAX + 1];
    uint64_t rx;
    /* Output waiting to be sent. */
    uint8_t out[ST_OUT_MAX];
    size_t out_len;
    /* The unit being framed. */
    uint8_t buf[ST_UNIT_MAX];
    size_t len;
    /* Line protocols: the multi-line reply in progress. */
    int code;        /* its reply code, 0 between replies */
    unsigned rlines; /* lines of the reply so far */
    int offered;     /* the capability was seen (STARTTLS, STLS, <starttls/>) */
    int cap_known;   /* IMAP: the greeting carried [CAPABILITY] */
    char first[72];  /* the first line of the reply, for details */
    /* XMPP tokenizer. */
    int in_tag;       /* inside "<...>" */
    uint8_t quote;    /* inside an attribute value: its quote */
    int depth;        /* open elements, the stream being 1 */
    int features_at;  /* depth of <features>, 0 outside */
    int error_at;     /* depth of <stream:error>, 0 outside */
    int proceed_open; /* <proceed> opened, waiting for </proceed> */
};

/* ---- small helpers -------------------------------------------------------- */

/* Printable copy of server text for a detail: at most cap-1 characters,
 * control and non-ASCII bytes as '.'. */
static void printable(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < cap; i++) {
        out[j++] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '.';
    }
    out[j] = 0;
}

static int fail(pqt_starttls *d, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(pqt_starttls *d, const char *error, const char *fmt, ...)
{
    if (d->status == PQT_STARTTLS_RUNNING ||
        (d->status == PQT_STARTTLS_READY && d->error == NULL)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
        va_end(ap);
        d->error = error;
        d->status = PQT_STARTTLS_FAILED;
        d->step = ST_DONE;
        d->out_len = 0;
    }
    return d->status;
}

static void ready(pqt_starttls *d)
{
    d->status = PQT_STARTTLS_READY;
    d->step = ST_DONE;
}

static void send_bytes(pqt_starttls *d, const void *p, size_t n)
{
    if (n <= sizeof(d->out)) {
        memcpy(d->out, p, n);
        d->out_len = n;
    }
}

static void send_str(pqt_starttls *d, const char *s)
{
    send_bytes(d, s, strlen(s));
}

/* Case-insensitive: does the reader start with word w, followed by the
 * end, a space, or (brackets) ']'? Consumes it and one space if so. */
static int take_word(pqt_reader *r, const char *w)
{
    size_t n = strlen(w);
    if (pqt_reader_left(r) < n) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (toupper(r->p[i]) != toupper((unsigned char)w[i])) {
            return 0;
        }
    }
    if (pqt_reader_left(r) > n && r->p[n] != ' ' && r->p[n] != ']') {
        return 0;
    }
    r->p += n;
    if (pqt_reader_left(r) > 0 && r->p[0] == ' ') {
        r->p++;
    }
    return 1;
}

/* Consume byte c if it comes next; 1 if it did. */
static int take_byte(pqt_reader *r, uint8_t c)
{
    return pqt_reader_left(r) > 0 && r->p[0] == c && pqt_reader_skip(r, 1) == 0;
}

/* A NUL-terminated string into *str, the NUL consumed; -1 without a NUL. */
static int take_cstring(pqt_reader *r, pqt_reader *str)
{
    const uint8_t *z = memchr(r->p, 0, pqt_reader_left(r));
    const uint8_t *p = NULL;
    if (z == NULL || pqt_reader_bytes(r, (size_t)(z - r->p) + 1, &p) != 0) {
        return -1;
    }
    *str = pqt_reader_make(p, (size_t)(z - p));
    return 0;
}

/* The next space-separated word of r into a sub-reader (empty at the end). */
static pqt_reader next_word(pqt_reader *r, const char *stops)
{
    while (pqt_reader_left(r) > 0 && r->p[0] == ' ') {
        r->p++;
    }
    const uint8_t *start = r->p;
    while (pqt_reader_left(r) > 0 && r->p[0] != ' ' && strchr(stops, r->p[0]) == NULL) {
        r->p++;
    }
    return pqt_reader_make(start, (size_t)(r->p - start));
}

static int word_is(pqt_reader w, const char *s)
{
    return pqt_reader_left(&w) == strlen(s) && take_word(&w, s);
}

/* A reply code (RFC 5321 §4.2: a digit 1-5, two digits) and what follows
 * it: ' ' or the end (last line), '-' (more lines). 0, or -1 if the line
 * does not start like a reply. */
static int reply_code(pqt_reader *r, int *code, int *more)
{
    const uint8_t *p;
    uint8_t sep;
    if (pqt_reader_bytes(r, 3, &p) != 0 || p[0] < '1' || p[0] > '5' || !isdigit(p[1]) ||
        !isdigit(p[2])) {
        return -1;
    }
    *code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    *more = 0;
    if (pqt_reader_u8(r, &sep) != 0) {
        return 0;
    }
    if (sep == '-') {
        *more = 1;
    } else if (sep != ' ') {
        return -1;
    }
    return 0;
}

static void keep_first(pqt_starttls *d, pqt_reader line)
{
    printable(line.p, pqt_reader_left(&line), d->first, sizeof(d->first));
}

/* ---- SMTP (RFC 5321, RFC 3207) ---------------------------------------------- */

/* The name the scanner gives in EHLO: RFC 2606 reserves .invalid, so it
 * names no real host and says what is connecting. */
#define SMTP_EHLO "EHLO pqtls.invalid\r\n"

static void smtp_line(pqt_starttls *d, pqt_reader line)
{
    pqt_reader text = line;
    int code = 0, more = 0;
    if (reply_code(&text, &code, &more) != 0) {
        char shown[64];
        printable(line.p, pqt_reader_left(&line), shown, sizeof(shown));
        fail(d, "dialogue_syntax", "expected an SMTP reply (RFC 5321 §4.2), got '%s'", shown);
        return;
    }
    if (d->rlines == 0) {
        keep_first(d, line);
    } else if (code != d->code) {
        /* RFC 5321 §4.2.1: every line of a multi-line reply has the same code. */
        fail(d, "dialogue_syntax", "reply code %d inside a multi-line %d reply", code, d->code);
        return;
    }
    d->code = code;
    /* EHLO keywords (RFC 5321 §4.1.1.1): every line after the first. */
    if (d->step == ST_EHLO && code == 250 && d->rlines > 0) {
        pqt_reader kw = next_word(&text, "");
        if (word_is(kw, "STARTTLS")) {
            d->offered = 1;
        }
    }
    d->rlines++;
    if (more) {
        return;
    }
    d->code = 0;
    d->rlines = 0;
    switch (d->step) {
    case ST_GREETING:
        if (code == 220) {
            send_str(d, SMTP_EHLO);
            d->step = ST_EHLO;
        } else if (code == 554 || code == 421) {
            fail(d, "service_refused", "the server refuses the session: '%s'", d->first);
        } else {
            fail(d, "dialogue_syntax", "SMTP greeting '%s' is not 220", d->first);
        }
        return;
    case ST_EHLO:
        if (code == 250 && d->offered) {
            send_str(d, "STARTTLS\r\n");
            d->step = ST_COMMAND;
        } else if (code == 250) {
            fail(d, "starttls_not_offered", "the EHLO reply lists no STARTTLS ('%s')", d->first);
        } else if (code == 421) {
            fail(d, "service_refused", "EHLO answered '%s'", d->first);
        } else if (code >= 500) {
            fail(d, "starttls_not_offered", "EHLO refused ('%s'): no ESMTP, so no STARTTLS",
                 d->first);
        } else {
            fail(d, "dialogue_syntax", "unexpected EHLO reply '%s'", d->first);
        }
        return;
    default: /* ST_COMMAND */
        if (code == 220) {
            ready(d);
        } else if (code >= 400) {
            fail(d, "starttls_refused", "STARTTLS refused: '%s'", d->first);
        } else {
            fail(d, "dialogue_syntax", "unexpected STARTTLS reply '%s'", d->first);
        }
        return;
    }
}

/* ---- FTP (RFC 959 §4.2, RFC 4217 §4) ------------------------------------- */

static void ftp_line(pqt_starttls *d, pqt_reader line)
{
    pqt_reader text = line;
    int code = 0, more = 0;
    if (d->code != 0) {
        /* RFC 959 §4.2: a multi-line reply ends at a line that starts with
         * the same code and a space; the lines between are free text. */
        if (reply_code(&text, &code, &more) != 0 || code != d->code || more) {
            return;
        }
    } else if (reply_code(&text, &code, &more) != 0) {
        char shown[64];
        printable(line.p, pqt_reader_left(&line), shown, sizeof(shown));
        fail(d, "dialogue_syntax", "expected an FTP reply (RFC 959 §4.2), got '%s'", shown);
        return;
    } else {
        keep_first(d, line);
    }
    if (more) {
        d->code = code;
        return;
    }
    d->code = 0;
    if (d->step == ST_GREETING) {
        if (code == 220) {
            send_str(d, "AUTH TLS\r\n");
            d->step = ST_COMMAND;
        } else if (code / 100 == 1) {
            /* 120: service ready in nnn minutes; the 220 follows. */
        } else if (code == 421 || code >= 500) {
            fail(d, "service_refused", "the server refuses the session: '%s'", d->first);
        } else {
            fail(d, "dialogue_syntax", "FTP greeting '%s' is not 220", d->first);
        }
        return;
    }
    if (code == 234) {
        ready(d);
    } else if (code == 500 || code == 502 || code == 504 || code == 202) {
        /* Command unknown or not implemented (RFC 4217 §6). */
        fail(d, "starttls_not_offered", "AUTH TLS not implemented: '%s'", d->first);
    } else if (code >= 400) {
        fail(d, "starttls_refused", "AUTH TLS refused: '%s'", d->first);
    } else {
        fail(d, "dialogue_syntax", "unexpected AUTH TLS reply '%s'", d->first);
    }
}

/* ---- IMAP (RFC 3501 §6.1.1, §6.2.1, §7.2.1) --------------------------------- */

/* Capability atoms up to the end or ']': STARTTLS among them? */
static void imap_caps(pqt_starttls *d, pqt_reader *r)
{
    d->cap_known = 1;
    for (;;) {
        pqt_reader w = next_word(r, "]");
        if (pqt_reader_left(&w) == 0) {
            return;
        }
        if (word_is(w, "STARTTLS")) {
            d->offered = 1;
        }
    }
}

static void imap_decide(pqt_starttls *d, const char *where)
{
    if (d->offered) {
        send_str(d, "p2 STARTTLS\r\n");
        d->step = ST_COMMAND;
    } else {
        fail(d, "starttls_not_offered", "%s lists no STARTTLS", where);
    }
}

static void imap_line(pqt_starttls *d, pqt_reader line)
{
    pqt_reader r = line;
    char shown[64];
    printable(line.p, pqt_reader_left(&line), shown, sizeof(shown));
    if (d->step == ST_GREETING) {
        if (!take_word(&r, "*")) {
            fail(d, "dialogue_syntax", "expected an IMAP greeting ('* OK'), got '%s'", shown);
        } else if (take_word(&r, "OK")) {
            /* "* OK [CAPABILITY IMAP4rev1 STARTTLS ...] ready" */
            if (take_byte(&r, '[') && take_word(&r, "CAPABILITY")) {
                imap_caps(d, &r);
            }
            if (d->cap_known) {
                imap_decide(d, "the greeting's CAPABILITY");
            } else {
                send_str(d, "p1 CAPABILITY\r\n");
                d->step = ST_CAPA;
            }
        } else if (take_word(&r, "PREAUTH")) {
            /* §6.2.1: STARTTLS only in the not-authenticated state. */
            fail(d, "starttls_not_offered",
                 "the server pre-authenticates the connection (PREAUTH), where STARTTLS is not "
                 "allowed");
        } else if (take_word(&r, "BYE")) {
            fail(d, "service_refused", "the server refuses the session: '%s'", shown);
        } else {
            fail(d, "dialogue_syntax", "expected an IMAP greeting ('* OK'), got '%s'", shown);
        }
        return;
    }
    if (take_word(&r, "*")) {
        if (d->step == ST_CAPA && take_word(&r, "CAPABILITY")) {
            imap_caps(d, &r);
        }
        return; /* other untagged data (§7) is not ours to judge */
    }
    const char *tag = d->step == ST_CAPA ? "p1" : "p2";
    if (!take_word(&r, tag)) {
        fail(d, "dialogue_syntax", "expected the reply tagged %s, got '%s'", tag, shown);
        return;
    }
    int ok = take_word(&r, "OK");
    int no = !ok && (take_word(&r, "NO") || take_word(&r, "BAD"));
    if (!ok && !no) {
        fail(d, "dialogue_syntax", "tagged reply '%s' is neither OK, NO nor BAD", shown);
        return;
    }
    if (d->step == ST_CAPA) {
        if (ok && take_byte(&r, '[') && take_word(&r, "CAPABILITY")) {
            imap_caps(d, &r);
        }
        if (ok) {
            imap_decide(d, "the CAPABILITY reply");
        } else {
            fail(d, "starttls_not_offered", "CAPABILITY refused: '%s'", shown);
        }
        return;
    }
    if (ok) {
        ready(d);
    } else {
        fail(d, "starttls_refused", "STARTTLS refused: '%s'", shown);
    }
}

/* ---- POP3 (RFC 1939 §3, RFC 2449 §5, RFC 2595 §4) ------------------------ */

static void pop3_line(pqt_starttls *d, pqt_reader line)
{
    pqt_reader r = line;
    char shown[64];
    printable(line.p, pqt_reader_left(&line), shown, sizeof(shown));
    if (d->step == ST_CAPA_LIST) {
        if (pqt_reader_left(&r) == 1 && r.p[0] == '.') {
            if (d->offered) {
                send_str(d, "STLS\r\n");
                d->step = ST_COMMAND;
            } else {
                fail(d, "starttls_not_offered", "the CAPA list has no STLS");
            }
            return;
        }
        pqt_reader w = next_word(&r, "");
        if (word_is(w, "STLS")) {
            d->offered = 1;
        }
        return;
    }
    int ok = take_word(&r, "+OK");
    int err = !ok && take_word(&r, "-ERR");
    if (!ok && !err) {
        fail(d, "dialogue_syntax", "expected a POP3 status (+OK or -ERR), got '%s'", shown);
        return;
    }
    switch (d->step) {
    case ST_GREETING:
        if (ok) {
            send_str(d, "CAPA\r\n");
            d->step = ST_CAPA;
        } else {
            fail(d, "service_refused", "the server refuses the session: '%s'", shown);
        }
        return;
    case ST_CAPA:
        if (ok) {
            d->step = ST_CAPA_LIST;
        } else {
            /* No CAPA (a server older than RFC 2449): ask for STLS anyway. */
            send_str(d, "STLS\r\n");
            d->step = ST_COMMAND;
        }
        return;
    default:
        if (ok) {
            ready(d);
        } else {
            fail(d, "starttls_refused", "STLS refused: '%s'", shown);
        }
        return;
    }
}

/* ---- line framing ----------------------------------------------------------- */

static int line_proto(int proto)
{
    return proto == PQT_STARTTLS_SMTP || proto == PQT_STARTTLS_IMAP || proto == PQT_STARTTLS_POP3 ||
           proto == PQT_STARTTLS_FTP;
}

static void on_line(pqt_starttls *d, pqt_reader line)
{
    switch (d->proto) {
    case PQT_STARTTLS_SMTP:
        smtp_line(d, line);
        break;
    case PQT_STARTTLS_FTP:
        ftp_line(d, line);
        break;
    case PQT_STARTTLS_IMAP:
        imap_line(d, line);
        break;
    default:
        pop3_line(d, line);
        break;
    }
}

/* Lines end in LF (CRLF by the RFCs; a bare LF is taken too). */
static size_t feed_lines(pqt_starttls *d, pqt_reader *in)
{
    size_t used = 0;
    while (d->status == PQT_STARTTLS_RUNNING && pqt_reader_left(in) > 0) {
        size_t left = pqt_reader_left(in);
        const uint8_t *nl = memchr(in->p, '\n', left);
        size_t take = nl ? (size_t)(nl - in->p) + 1 : left;
        if (d->len + take > sizeof(d->buf)) {
            fail(d, "line_too_long", "a line of more than %d bytes in %s", ST_UNIT_MAX,
                 pqt_starttls_step(d));
            break;
        }
        const uint8_t *p = NULL;
        if (pqt_reader_bytes(in, take, &p) != 0) {
            break;
        }
        memcpy(d->buf + d->len, p, take);
        d->len += take;
        used += take;
        if (nl == NULL) {
            break;
        }
        size_t n = d->len - 1;
        if (n > 0 && d->buf[n - 1] == '\r') {
            n--;
        }
        d->len = 0;
        if (d->out_len != 0) {
            /* The server speaks before our command went out. */
            fail(d, "dialogue_syntax", "the server sent more before %s was asked for",
                 pqt_starttls_step(d));
            break;
        }
        on_line(d, pqt_reader_make(d->buf, n));
    }
    return used;
}

/* ---- length-prefixed framing ------------------------------------------------ */

/*
 * Frame one length-prefixed message into d->buf. total(d) is asked once
 * d->len >= hdr: the size the message needs so far (more header bytes, or
 * the whole message), or 0 after it failed the dialogue. Returns the bytes
 * used; *complete = 1 when d->buf holds the whole message.
 */
static size_t frame(pqt_starttls *d, pqt_reader *in, size_t hdr, size_t (*total)(pqt_starttls *),
                    int *complete)
{
    size_t used = 0;
    *complete = 0;
    for (;;) {
        size_t need = hdr;
        if (d->len >= hdr) {
            need = total(d);
            if (need == 0) {
                return used;
            }
            if (d->len >= need) {
                *complete = 1;
                return used;
            }
        }
        size_t take = need - d->len;
        const uint8_t *p;
        if (take > pqt_reader_left(in)) {
            take = pqt_reader_left(in);
        }
        if (take == 0 || pqt_reader_bytes(in, take, &p) != 0) {
            return used;
        }
        memcpy(d->buf + d->len, p, take);
        d->len += take;
        used += take;
    }
}

/* ---- LDAP (RFC 4511 §4.14, BER as in §5.1) ------------------------------- */

/* The StartTLS ExtendedRequest: LDAPMessage { messageID 1,
 * [APPLICATION 23] { requestName [0] "1.3.6.1.4.1.1466.20037" } }. */
static const uint8_t ldap_starttls[] = {
    0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16, '1', '.', '3', '.', '6', '.', '1',
    '.',  '4',  '.',  '1',  '.',  '1',  '4',  '6',  '6',  '.', '2', '0', '0', '3', '7'};

/* One BER element with a definite length (RFC 4511 §5.1 forbids the
 * indefinite form); long forms up to four length bytes, which Active
 * Directory uses even for short values. */
static int ber_next(pqt_reader *r, uint8_t *tag, pqt_reader *content)
{
    pqt_reader save = *r;
    uint8_t t = 0, l = 0;
    uint32_t len = 0;
    const uint8_t *body;
    if (pqt_reader_u8(r, &t) != 0 || (t & 0x1f) == 0x1f || pqt_reader_u8(r, &l) != 0) {
        *r = save;
        return -1;
    }
    if (l < 0x80) {
        len = l;
    } else if (l == 0x80 || l > 0x84 || pqt_reader_uint(r, l & 0x7f, &len) != 0) {
        *r = save;
        return -1;
    }
    if (pqt_reader_bytes(r, len, &body) != 0) {
        *r = save;
        return -1;
    }
    *tag = t;
    *content = pqt_reader_make(body, len);
    return 0;
}

static int ber_uint(pqt_reader *r, uint8_t want, uint32_t *v)
{
    uint8_t t;
    pqt_reader c;
    if (ber_next(r, &t, &c) != 0 || t != want || pqt_reader_left(&c) == 0 ||
        pqt_reader_left(&c) > 4 || (c.p[0] & 0x80)) {
        return -1;
    }
    return pqt_reader_uint(&c, (unsigned)pqt_reader_left(&c), v);
}

static const char *ldap_result_name(uint32_t code)
{
    static const struct {
        uint32_t code;
        const char *name;
    } names[] = {
        {0, "success"},
        {1, "operationsError"},
        {2, "protocolError"},
        {7, "authMethodNotSupported"},
        {8, "strongerAuthRequired"},
        {12, "unavailableCriticalExtension"},
        {13, "confidentialityRequired"},
        {50, "insufficientAccessRights"},
        {51, "busy"},
        {52, "unavailable"},
        {53, "unwillingToPerform"},
        {80, "other"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].code == code) {
            return names[i].name;
        }
    }
    return "?";
}

static void ldap_message(pqt_starttls *d, pqt_reader msg)
{
    pqt_reader op, dn, diag;
    uint8_t tag = 0;
    uint32_t id = 0, result = 0;
    if (ber_uint(&msg, 0x02, &id) != 0 || ber_next(&msg, &tag, &op) != 0) {
        fail(d, "dialogue_syntax", "the LDAP answer is not an LDAPMessage (RFC 4511 §4.1.1)");
        return;
    }
    if (tag != 0x78) {
        fail(d, "dialogue_syntax",
             "the LDAP answer to StartTLS is protocolOp 0x%02x, not an ExtendedResponse", tag);
        return;
    }
    /* ExtendedResponse: COMPONENTS OF LDAPResult (resultCode, matchedDN,
     * diagnosticMessage, [3] referral), [10] responseName, [11] value. */
    if (ber_uint(&op, 0x0a, &result) != 0 || ber_next(&op, &tag, &dn) != 0 || tag != 0x04 ||
        ber_next(&op, &tag, &diag) != 0 || tag != 0x04) {
        fail(d, "dialogue_syntax", "the LDAP ExtendedResponse does not parse (RFC 4511 §4.12)");
        return;
    }
    while (pqt_reader_left(&op) > 0) {
        pqt_reader skip;
        if (ber_next(&op, &tag, &skip) != 0 || (tag != 0xa3 && tag != 0x8a && tag != 0x8b)) {
            fail(d, "dialogue_syntax", "the LDAP ExtendedResponse has trailing bytes");
            return;
        }
    }
    char text[64];
    printable(diag.p, pqt_reader_left(&diag), text, sizeof(text));
    if (id == 0) {
        /* §4.4.1: an unsolicited notification, e.g. Notice of Disconnection. */
        fail(d, "service_refused", "notice of disconnection: resultCode %u %s '%s'",
             (unsigned)result, ldap_result_name(result), text);
    } else if (id != 1) {
        fail(d, "dialogue_syntax", "an LDAP answer with messageID %u; the request had 1",
             (unsigned)id);
    } else if (result == 0) {
        ready(d);
    } else if (result == 2) {
        /* protocolError: the server does not know the extended operation. */
        fail(d, "starttls_not_offered", "StartTLS answered resultCode 2 protocolError '%s'", text);
    } else {
        fail(d, "starttls_refused", "StartTLS answered resultCode %u %s '%s'", (unsigned)result,
             ldap_result_name(result), text);
    }
}

/* The size of the BER element in d->buf: its header says. */
static size_t ldap_total(pqt_starttls *d)
{
    uint8_t l = d->buf[1];
    if (d->buf[0] != 0x30 || l == 0x80 || l > 0x84) {
        fail(d, "dialogue_syntax", "the LDAP answer starts %02x %02x, not an LDAPMessage SEQUENCE",
             d->buf[0], l);
        return 0;
    }
    size_t hdr = 2 + (l & 0x80 ? (size_t)(l & 0x7f) : 0);
    uint32_t len = l;
    if (d->len < hdr) {
        return hdr;
    }
    pqt_reader h = pqt_reader_make(d->buf + 2, hdr - 2);
    if (l & 0x80 && pqt_reader_uint(&h, l & 0x7f, &len) != 0) {
        fail(d, "internal", "LDAP length");
        return 0;
    }
    if ((uint64_t)hdr + len > sizeof(d->buf)) {
        fail(d, "message_too_large", "an LDAP message of %llu bytes (limit %d)",
             (unsigned long long)hdr + len, ST_UNIT_MAX);
        return 0;
    }
    return hdr + len;
}

static size_t feed_ldap(pqt_starttls *d, pqt_reader *in)
{
    int complete = 0;
    size_t used = frame(d, in, 2, ldap_total, &complete);
    if (complete) {
        pqt_reader all = pqt_reader_make(d->buf, d->len), msg;
        uint8_t tag;
        d->len = 0;
        if (ber_next(&all, &tag, &msg) != 0) {
            fail(d, "dialogue_syntax", "the LDAP answer does not parse");
        } else {
            ldap_message(d, msg);
        }
    }
    return used;
}

/* ---- PostgreSQL (protocol 3.0, SSL Session Encryption) ------------------- */

/* SSLRequest: Int32(8), Int32(80877103). */
static const uint8_t pg_sslrequest[] = {0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f};

static void pg_error(pqt_starttls *d, pqt_reader body)
{
    /* ErrorResponse fields: Byte1 type, String value; a zero ends them. */
    char msg[64] = "";
    for (;;) {
        uint8_t type;
        if (pqt_reader_u8(&body, &type) != 0) {
            break;
        }
        if (type == 0) {
            break;
        }
        pqt_reader value;
        if (take_cstring(&body, &value) != 0) {
            break;
        }
        if (type == 'M') {
            printable(value.p, pqt_reader_left(&value), msg, sizeof(msg));
        }
    }
    fail(d, "starttls_refused", "the server answers SSLRequest with an error: '%s'", msg);
}

/* 'E', Int32 length (itself included), fields. */
static size_t pg_error_total(pqt_starttls *d)
{
    pqt_reader h = pqt_reader_make(d->buf + 1, 4);
    uint32_t len = 0;
    if (pqt_reader_u32(&h, &len) != 0 || len < 4) {
        fail(d, "dialogue_syntax", "a PostgreSQL ErrorResponse of length %u", len);
        return 0;
    }
    if ((uint64_t)len + 1 > sizeof(d->buf)) {
        fail(d, "message_too_large", "a PostgreSQL ErrorResponse of %u bytes (limit %d)", len + 1,
             ST_UNIT_MAX);
        return 0;
    }
    return (size_t)len + 1;
}

static size_t feed_postgres(pqt_starttls *d, pqt_reader *in)
{
    if (d->step == ST_PG_ANSWER) {
        uint8_t b = 0;
        if (pqt_reader_u8(in, &b) != 0) {
            return 0;
        }
        if (b == 'S') {
            /* Nothing may follow before the TLS handshake (CVE-2021-23222:
             * bytes buffered after 'S' would be injected into the session). */
            ready(d);
        } else if (b == 'N') {
            fail(d, "starttls_refused", "the server answers 'N' to SSLRequest: no TLS (ssl = off)");
        } else if (b != 'E') {
            fail(d, "dialogue_syntax", "the answer to SSLRequest is 0x%02x, not 'S' or 'N'", b);
        } else {
            d->buf[0] = b;
            d->len = 1;
            d->step = ST_PG_ERROR;
        }
        return 1;
    }
    int complete = 0;
    size_t used = frame(d, in, 5, pg_error_total, &complete);
    if (complete) {
        pg_error(d, pqt_reader_make(d->buf + 5, d->len - 5));
    }
    return used;
}

/* ---- MySQL / MariaDB (Protocol::HandshakeV10, Protocol::SSLRequest) ------- */

#define MYSQL_CLIENT_LONG_PASSWORD 0x00000001u
#define MYSQL_CLIENT_PROTOCOL_41 0x00000200u
#define MYSQL_CLIENT_SSL 0x00000800u
#define MYSQL_CLIENT_SECURE_CONNECTION 0x00008000u
#define MYSQL_CLIENT_PLUGIN_AUTH 0x00080000u

/* Little-endian integers of the MySQL protocol, read through the reader. */
static int le_uint(pqt_reader *r, unsigned n, uint32_t *v)
{
    const uint8_t *p;
    if (pqt_reader_bytes(r, n, &p) != 0) {
        return -1;
    }
    uint32_t x = 0;
    for (unsigned i = n; i > 0; i--) {
        x = (x << 8) | p[i - 1];
    }
    *v = x;
    return 0;
}

static void mysql_greeting(pqt_starttls *d, uint8_t seq, pqt_reader r)
{
    uint8_t version = 0;
    if (pqt_reader_u8(&r, &version) != 0) {
        fail(d, "dialogue_syntax", "an empty MySQL greeting");
        return;
    }
    if (version == 0xff) {
        /* ERR_Packet: error code, ["#" sqlstate], message. */
        uint32_t code = 0;
        char msg[64] = "";
        if (le_uint(&r, 2, &code) == 0) {
            if (take_byte(&r, '#') && pqt_reader_skip(&r, 5) != 0) {
                msg[0] = 0; /* "#" without its five-character SQLSTATE */
            }
            printable(r.p, pqt_reader_left(&r), msg, sizeof(msg));
        }
        fail(d, "service_refused", "the server refuses the session: error %u '%s'", (unsigned)code,
             msg);
        return;
    }
    if (version == 9) {
        fail(d, "starttls_not_offered", "a MySQL protocol 9 greeting: no TLS before protocol 10");
        return;
    }
    if (version != 10) {
        fail(d, "dialogue_syntax", "a MySQL greeting with protocol version %u, not 10", version);
        return;
    }
    /* server_version NUL, connection_id(4), auth-plugin-data-part-1(8),
     * filler(1), capability_flags_1(2), then optionally character_set(1),
     * status_flags(2), capability_flags_2(2), ... */
    pqt_reader version_str;
    char server[48] = "";
    if (take_cstring(&r, &version_str) != 0) {
        fail(d, "dialogue_syntax", "the MySQL greeting's server version has no terminator");
        return;
    }
    printable(version_str.p, pqt_reader_left(&version_str), server, sizeof(server));
    uint32_t caps = 0, charset = 0x21, id = 0;
    uint8_t filler = 0;
    if (le_uint(&r, 4, &id) != 0 || pqt_reader_skip(&r, 8) != 0 ||
        pqt_reader_u8(&r, &filler) != 0 || le_uint(&r, 2, &caps) != 0) {
        fail(d, "dialogue_syntax", "the MySQL greeting (%s) is truncated", server);
        return;
    }
    if (pqt_reader_left(&r) > 0) {
        (void)le_uint(&r, 1, &charset);
    }
    if (!(caps & MYSQL_CLIENT_SSL)) {
        fail(d, "starttls_not_offered", "the MySQL greeting (%s) has no CLIENT_SSL capability",
             server);
        return;
    }
    /* SSLRequest: capability flags, max packet size, character set, 23
     * zero bytes; sequence id one above the greeting's. TLS follows at
     * once, the server does not answer it. */
    uint8_t pkt[4 + 32];
    uint32_t mine = MYSQL_CLIENT_LONG_PASSWORD | MYSQL_CLIENT_PROTOCOL_41 | MYSQL_CLIENT_SSL |
                    MYSQL_CLIENT_SECURE_CONNECTION | MYSQL_CLIENT_PLUGIN_AUTH;
    uint32_t max_packet = 1u << 24;
    memset(pkt, 0, sizeof(pkt));
    pkt[0] = 32;
    pkt[3] = (uint8_t)(seq + 1);
    for (int i = 0; i < 4; i++) {
        pkt[4 + i] = (uint8_t)(mine >> (8 * i));
        pkt[8 + i] = (uint8_t)(max_packet >> (8 * i));
    }
    pkt[12] = (uint8_t)(charset ? charset : 0x21);
    send_bytes(d, pkt, sizeof(pkt));
    ready(d);
}

/* Packet header: 3-byte little-endian payload length, sequence id. */
static size_t mysql_total(pqt_starttls *d)
{
    pqt_reader h = pqt_reader_make(d->buf, 3);
    uint32_t len = 0;
    if (le_uint(&h, 3, &len) != 0) {
        fail(d, "internal", "MySQL length");
        return 0;
    }
    if (d->buf[3] != 0) {
        fail(d, "dialogue_syntax", "a MySQL greeting with sequence id %u, not 0", d->buf[3]);
        return 0;
    }
    if ((uint64_t)len + 4 > sizeof(d->buf)) {
        fail(d, "message_too_large", "a MySQL greeting of %u bytes (limit %d)", (unsigned)len,
             ST_UNIT_MAX - 4);
        return 0;
    }
    return 4 + (size_t)len;
}

static size_t feed_mysql(pqt_starttls *d, pqt_reader *in)
{
    int complete = 0;
    size_t used = frame(d, in, 4, mysql_total, &complete);
    if (complete) {
        mysql_greeting(d, d->buf[3], pqt_reader_make(d->buf + 4, d->len - 4));
        d->len = 0;
    }
    return used;
}

/* ---- XMPP (RFC 6120 §4.2, §4.3.2, §5.4) ------------------------------------ */

static const char xmpp_starttls[] = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

/* The local part of a qualified name ("stream:features" -> "features"). */
static int local_is(pqt_reader name, const char *want)
{
    for (const uint8_t *p = name.end; p > name.p; p--) {
        if (p[-1] == ':') {
            name.p = p;
            break;
        }
    }
    return pqt_reader_left(&name) == strlen(want) && memcmp(name.p, want, strlen(want)) == 0;
}

static void xmpp_features_end(pqt_starttls *d)
{
    d->features_at = 0;
    if (d->offered) {
        send_str(d, xmpp_starttls);
        d->step = ST_COMMAND;
    } else {
        fail(d, "starttls_not_offered", "the stream features list no <starttls/>");
    }
}

static void xmpp_start(pqt_starttls *d, pqt_reader name, int empty)
{
    int depth = d->depth + 1; /* the depth of this element */
    if (d->step == ST_XMPP_HEADER) {
        if (!local_is(name, "stream") || empty) {
            fail(d, "dialogue_syntax", "the XMPP stream does not start with <stream:stream>");
            return;
        }
        d->step = ST_XMPP_FEATURES;
    } else if (depth == 2 && local_is(name, "error")) {
        d->error_at = depth;
        if (empty) {
            fail(d, "service_refused", "stream error");
            return;
        }
    } else if (d->error_at != 0 && depth == d->error_at + 1) {
        char cond[48];
        printable(name.p, pqt_reader_left(&name), cond, sizeof(cond));
        fail(d, "service_refused", "stream error <%s/>", cond);
        return;
    } else if (d->step == ST_XMPP_FEATURES && depth == 2 && local_is(name, "features")) {
        d->features_at = depth;
        if (empty) {
            xmpp_features_end(d);
            return;
        }
    } else if (d->features_at != 0 && depth == d->features_at + 1 && local_is(name, "starttls")) {
        d->offered = 1;
    } else if (d->step == ST_COMMAND && depth == 2 && local_is(name, "proceed")) {
        if (empty) {
            ready(d);
            return;
        }
        d->proceed_open = 1;
    } else if (d->step == ST_COMMAND && depth == 2 && local_is(name, "failure")) {
        fail(d, "starttls_refused", "the server answers <starttls/> with <failure/>");
        return;
    }
    if (!empty) {
        if (depth > ST_XML_DEPTH_MAX) {
            fail(d, "dialogue_syntax", "XML nested deeper than %d elements", ST_XML_DEPTH_MAX);
            return;
        }
        d->depth = depth;
    }
}

static void xmpp_end(pqt_starttls *d)
{
    int depth = d->depth;
    if (depth <= 1) {
        fail(d, "service_refused", "the server closed the XML stream");
        return;
    }
    d->depth--;
    if (d->features_at == depth) {
        xmpp_features_end(d);
    } else if (d->error_at == depth) {
        fail(d, "service_refused", "stream error");
    } else if (d->proceed_open && depth == 2) {
        ready(d);
    }
}

/* One token "<...>" in d->buf. */
static void xmpp_token(pqt_starttls *d)
{
    pqt_reader t = pqt_reader_make(d->buf + 1, d->len - 2); /* inside < > */
    size_t n = pqt_reader_left(&t);
    if (n >= 2 && t.p[0] == '?' && t.p[n - 1] == '?') {
        return; /* the XML declaration */
    }
    if (n >= 5 && memcmp(t.p, "!--", 3) == 0 && memcmp(t.p + n - 2, "--", 2) == 0) {
        return;
    }
    if (n >= 1 && t.p[0] == '!') {
        /* RFC 6120 §11.1: no DTDs; no CDATA is needed to get here. */
        fail(d, "dialogue_syntax", "a DTD or CDATA section in the XMPP stream");
        return;
    }
    int end = n >= 1 && t.p[0] == '/';
    int empty = !end && n >= 1 && t.p[n - 1] == '/';
    if (end) {
        t.p++;
    }
    pqt_reader name = next_word(&t, "/\t\r\n");
    if (pqt_reader_left(&name) == 0) {
        fail(d, "dialogue_syntax", "an XML tag without a name");
        return;
    }
    if (end) {
        xmpp_end(d);
    } else {
        xmpp_start(d, name, empty);
    }
}

static size_t feed_xmpp(pqt_starttls *d, pqt_reader *in)
{
    size_t used = 0;
    while (d->status == PQT_STARTTLS_RUNNING && pqt_reader_left(in) > 0) {
        uint8_t c;
        if (pqt_reader_u8(in, &c) != 0) {
            break;
        }
        used++;
        if (!d->in_tag) {
            if (c == '<') {
                d->in_tag = 1;
                d->quote = 0;
                d->buf[0] = c;
                d->len = 1;
            }
            continue; /* character data between elements is not needed */
        }
        if (d->len == sizeof(d->buf)) {
            fail(d, "message_too_large", "an XML tag of more than %d bytes", ST_UNIT_MAX);
            break;
        }
        d->buf[d->len++] = c;
        int comment = d->len >= 4 && memcmp(d->buf, "<!--", 4) == 0;
        if (d->quote != 0) {
            if (c == d->quote) {
                d->quote = 0;
            }
        } else if (!comment && (c == '\'' || c == '"')) {
            d->quote = c;
        } else if (c == '>' && (!comment || (d->len >= 7 && d->buf[d->len - 2] == '-' &&
                                             d->buf[d->len - 3] == '-'))) {
            d->in_tag = 0;
            if (d->out_len != 0) {
                fail(d, "dialogue_syntax", "the server sent more before %s was asked for",
                     pqt_starttls_step(d));
                break;
            }
            xmpp_token(d);
            d->len = 0;
        }
    }
    return used;
}

/* ---- the public state machine --------------------------------------------- */

int pqt_starttls_new(int dialogue, const char *domain, pqt_starttls **out)
{
    *out = NULL;
    if (dialogue <= PQT_STARTTLS_NONE || dialogue >= PQT_STARTTLS_COUNT) {
        return PQT_ERR_ARG;
    }
    size_t dl = domain != NULL ? strlen(domain) : 0;
    if (dl > PQT_SCAN_HOST_MAX) {
        return PQT_ERR_ARG;
    }
    for (size_t i = 0; i < dl; i++) {
        unsigned char c = (unsigned char)domain[i];
        if (!(isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':')) {
            return PQT_ERR_ARG; /* it goes into an XML attribute */
        }
    }
    pqt_starttls *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return PQT_ERR_NOMEM;
    }
    d->proto = dialogue;
    if (dl > 0) {
        memcpy(d->domain, domain, dl + 1);
    }
    switch (dialogue) {
    case PQT_STARTTLS_LDAP:
        send_bytes(d, ldap_starttls, sizeof(ldap_starttls));
        d->step = ST_COMMAND;
        break;
    case PQT_STARTTLS_POSTGRES:
        send_bytes(d, pg_sslrequest, sizeof(pg_sslrequest));
        d->step = ST_PG_ANSWER;
        break;
    case PQT_STARTTLS_XMPP: {
        /* RFC 6120 §4.7.2: "to" is the server's domain. */
        char hdr[ST_OUT_MAX];
        int n = snprintf(hdr, sizeof(hdr),
                         "<?xml version='1.0'?><stream:stream to='%s' version='1.0' "
                         "xml:lang='en' xmlns='jabber:client' "
                         "xmlns:stream='http://etherx.jabber.org/streams'>",
                         d->domain);
        if (n < 0 || (size_t)n >= sizeof(hdr)) {
            free(d);
            return PQT_ERR_ARG;
        }
        send_str(d, hdr);
        d->step = ST_XMPP_HEADER;
        break;
    }
    default:
        d->step = ST_GREETING;
        break;
    }
    *out = d;
    return 0;
}

void pqt_starttls_free(pqt_starttls *d)
{
    free(d);
}

size_t pqt_starttls_output(const pqt_starttls *d, const uint8_t **out)
{
    if (d->status == PQT_STARTTLS_FAILED || d->out_len == 0) {
        *out = NULL;
        return 0;
    }
    *out = d->out;
    return d->out_len;
}

void pqt_starttls_output_taken(pqt_starttls *d)
{
    d->out_len = 0;
}

int pqt_starttls_feed(pqt_starttls *d, const uint8_t *data, size_t len)
{
    if (len == 0) {
        return d->status;
    }
    if (d->status == PQT_STARTTLS_FAILED) {
        d->rx += len;
        return d->status;
    }
    if (d->status == PQT_STARTTLS_READY) {
        d->rx += len;
        return fail(d, "data_after_starttls",
                    "%zu byte%s from the server after the go-ahead, before the ClientHello", len,
                    len == 1 ? "" : "s");
    }
    if (d->rx + len > ST_TOTAL_MAX) {
        d->rx += len;
        return fail(d, "dialogue_too_long", "more than %d bytes before TLS (in %s)", ST_TOTAL_MAX,
                    pqt_starttls_step(d));
    }
    pqt_reader in = pqt_reader_make(data, len);
    while (d->status == PQT_STARTTLS_RUNNING && pqt_reader_left(&in) > 0) {
        size_t used;
        if (line_proto(d->proto)) {
            used = feed_lines(d, &in);
        } else if (d->proto == PQT_STARTTLS_LDAP) {
            used = feed_ldap(d, &in);
        } else if (d->proto == PQT_STARTTLS_POSTGRES) {
            used = feed_postgres(d, &in);
        } else if (d->proto == PQT_STARTTLS_MYSQL) {
            used = feed_mysql(d, &in);
        } else {
            used = feed_xmpp(d, &in);
        }
        if (used == 0) {
            break;
        }
    }
    d->rx += len;
    if (d->status == PQT_STARTTLS_READY && pqt_reader_left(&in) > 0) {
        fail(d, "data_after_starttls",
             "%zu byte%s from the server after the go-ahead, before the ClientHello",
             pqt_reader_left(&in), pqt_reader_left(&in) == 1 ? "" : "s");
    } else if (d->status == PQT_STARTTLS_RUNNING && pqt_reader_left(&in) > 0) {
        fail(d, "internal", "the dialogue stopped reading");
    }
    return d->status;
}

int pqt_starttls_eof(pqt_starttls *d, int reset)
{
    if (d->status != PQT_STARTTLS_RUNNING) {
        return d->status;
    }
    return fail(d, reset ? "reset_in_dialogue" : "closed_in_dialogue",
                "connection %s while waiting for %s (%llu bytes received)",
                reset ? "reset" : "closed", pqt_starttls_step(d), (unsigned long long)d->rx);
}

int pqt_starttls_status(const pqt_starttls *d)
{
    return d->status;
}

const char *pqt_starttls_error(const pqt_starttls *d)
{
    return d->error;
}

const char *pqt_starttls_detail(const pqt_starttls *d)
{
    return d->detail;
}

uint64_t pqt_starttls_received(const pqt_starttls *d)
{
    return d->rx;
}

int pqt_starttls_error_is_refusal(const char *error)
{
    return error != NULL &&
           (strcmp(error, "starttls_not_offered") == 0 || strcmp(error, "starttls_refused") == 0);
}

const char *pqt_starttls_step(const pqt_starttls *d)
{
    static const char *const greeting[PQT_STARTTLS_COUNT] = {
        NULL,
        "the SMTP greeting",
        "the IMAP greeting",
        "the POP3 greeting",
        "the FTP greeting",
        NULL,
        NULL,
        "the MySQL greeting",
        NULL,
    };
    static const char *const command[PQT_STARTTLS_COUNT] = {
        NULL,
        "the STARTTLS reply",
        "the STARTTLS reply",
        "the STLS reply",
        "the AUTH TLS reply",
        "the StartTLS ExtendedResponse",
        NULL,
        NULL,
        "the answer to <starttls/>",
    };
    switch (d->step) {
    case ST_GREETING:
        return greeting[d->proto] ? greeting[d->proto] : "the greeting";
    case ST_EHLO:
        return "the EHLO reply";
    case ST_CAPA:
        return d->proto == PQT_STARTTLS_IMAP ? "the CAPABILITY reply" : "the CAPA reply";
    case ST_CAPA_LIST:
        return "the end of the CAPA list";
    case ST_COMMAND:
        return command[d->proto] ? command[d->proto] : "the answer";
    case ST_PG_ANSWER:
        return "the answer to SSLRequest";
    case ST_PG_ERROR:
        return "the rest of an ErrorResponse";
    case ST_XMPP_HEADER:
        return "the XMPP stream header";
    case ST_XMPP_FEATURES:
        return "the XMPP stream features";
    default:
        return d->status == PQT_STARTTLS_READY ? "the ClientHello to be sent"
                                               : "nothing (the dialogue ended)";
    }
}

/* ---- plaintext banners ------------------------------------------------------ */

static const struct {
    const char *name;
    int proto; /* what to scan instead, -1 for none */
} banners[PQT_BANNER_COUNT] = {
    [PQT_BANNER_NONE] = {NULL, -1},
    [PQT_BANNER_SMTP] = {"SMTP", PQT_SCAN_PROTO_SMTP},
    [PQT_BANNER_FTP] = {"FTP", PQT_SCAN_PROTO_FTP},
    [PQT_BANNER_SMTP_FTP] = {"SMTP or FTP", PQT_SCAN_PROTO_SMTP},
    [PQT_BANNER_IMAP] = {"IMAP", PQT_SCAN_PROTO_IMAP},
    [PQT_BANNER_POP3] = {"POP3", PQT_SCAN_PROTO_POP3},
    [PQT_BANNER_MYSQL] = {"MySQL", PQT_SCAN_PROTO_MYSQL},
    [PQT_BANNER_XMPP] = {"XMPP", PQT_SCAN_PROTO_XMPP},
    [PQT_BANNER_SSH] = {"SSH", -1},
    [PQT_BANNER_HTTP] = {"HTTP", -1},
};

/* Does the text contain word w (case-insensitive)? */
static int contains_ci(pqt_reader r, const char *w)
{
    size_t n = strlen(w);
    while (pqt_reader_left(&r) >= n) {
        size_t i = 0;
        while (i < n && toupper(r.p[i]) == toupper((unsigned char)w[i])) {
            i++;
        }
        if (i == n || pqt_reader_skip(&r, 1) != 0) {
            return i == n;
        }
    }
    return 0;
}

static int starts_with(pqt_reader r, const char *s)
{
    size_t n = strlen(s);
    return pqt_reader_left(&r) >= n && memcmp(r.p, s, n) == 0;
}

int pqt_scan_banner_identify(const uint8_t *p, size_t n)
{
    pqt_reader r = pqt_reader_make(p, n > 512 ? 512 : n);
    pqt_reader line = r;
    const uint8_t *nl = p != NULL ? memchr(r.p, '\n', pqt_reader_left(&r)) : NULL;
    if (nl != NULL) {
        line.end = nl;
    }
    if (starts_with(r, "SSH-")) {
        return PQT_BANNER_SSH;
    }
    if (starts_with(r, "HTTP/")) {
        return PQT_BANNER_HTTP;
    }
    if (starts_with(r, "* OK") || starts_with(r, "* PREAUTH") || starts_with(r, "* BYE")) {
        return PQT_BANNER_IMAP;
    }
    if (starts_with(r, "+OK") || starts_with(r, "-ERR")) {
        return PQT_BANNER_POP3;
    }
    if (starts_with(r, "<?xml") || starts_with(r, "<stream:")) {
        return PQT_BANNER_XMPP;
    }
    {
        pqt_reader c = r;
        int code = 0, more = 0;
        if (reply_code(&c, &code, &more) == 0 && pqt_reader_left(&c) > 0 &&
            (code == 220 || code == 421 || code == 554)) {
            if (contains_ci(line, "SMTP")) {
                return PQT_BANNER_SMTP;
            }
            if (contains_ci(line, "FTP")) {
                return PQT_BANNER_FTP;
            }
            return code == 554 || more ? PQT_BANNER_SMTP : PQT_BANNER_SMTP_FTP;
        }
    }
    /* MySQL: a packet header (3-byte length, sequence 0), then protocol
     * 10 and a printable version, or an error packet (0xff). */
    {
        pqt_reader m = r;
        uint32_t len = 0;
        uint8_t seq = 1, kind = 0;
        if (le_uint(&m, 3, &len) == 0 && pqt_reader_u8(&m, &seq) == 0 &&
            pqt_reader_u8(&m, &kind) == 0 && seq == 0 && len >= 2 && len < 1024 &&
            (kind == 10 || kind == 0xff)) {
            if (kind == 0xff || pqt_reader_left(&m) == 0 || isdigit(m.p[0])) {
                return PQT_BANNER_MYSQL;
            }
        }
    }
    return PQT_BANNER_NONE;
}

const char *pqt_scan_banner_name(int banner)
{
    return banner > 0 && banner < PQT_BANNER_COUNT ? banners[banner].name : NULL;
}

void pqt_scan_banner_advice(int banner, const pqt_scan_target *t, char *buf, size_t cap)
{
    if (cap == 0) {
        return;
    }
    buf[0] = 0;
    if (banner <= 0 || banner >= PQT_BANNER_COUNT) {
        return;
    }
    if (banner == PQT_BANNER_SSH) {
        snprintf(buf, cap,
                 "SSH banner: not a TLS service (SSH negotiates its own key exchange; check "
                 "sshd's KexAlgorithms for mlkem768x25519-sha256)");
        return;
    }
    if (banner == PQT_BANNER_HTTP) {
        snprintf(buf, cap,
                 "plain HTTP answer: this port serves HTTP without TLS; scan the "
                 "HTTPS port instead");
        return;
    }
    int proto = banners[banner].proto;
    if (banner == PQT_BANNER_SMTP_FTP && (t->port == 21 || t->port == 990)) {
        proto = PQT_SCAN_PROTO_FTP;
    }
    if (proto == PQT_SCAN_PROTO_SMTP && t->port == 587) {
        proto = PQT_SCAN_PROTO_SUBMISSION;
    }
    pqt_scan_target alt = *t;
    alt.proto = proto;
    alt.starttls = pqt_scan_proto_get(proto)->starttls;
    char name[2 * PQT_SCAN_HOST_MAX + 48];
    pqt_scan_target_name(&alt, name, sizeof(name));
    snprintf(buf, cap, "%s banner: scan %s", banners[banner].name, name);
}
