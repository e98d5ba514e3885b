/*
 * Unit tests for src/scan/starttls.c: every dialogue against in-memory
 * servers that answer the way the real ones do (postfix's EHLO reply,
 * dovecot's greeting with [CAPABILITY] and its CAPA list, vsftpd and a
 * multi-line FTP greeting, OpenLDAP's and Active Directory's
 * ExtendedResponse, PostgreSQL's 'S'/'N'/ErrorResponse, MariaDB and MySQL
 * protocol 10 greetings, a prosody stream), each whole and byte by byte;
 * servers without STARTTLS and ones that refuse it; hostile ones (endless
 * lines, huge lengths, garbage, early close, bytes after the go-ahead);
 * and the plaintext banners a direct ClientHello may meet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/scan.h"

#include "../check.h"

/* One exchange: what the client must have sent by now (a prefix of its
 * output since the previous step; NULL: nothing), and the server's bytes. */
typedef struct {
    const char *expect;
    size_t expect_len; /* 0: strlen(expect) */
    const char *reply;
    size_t reply_len; /* 0: strlen(reply) */
} step;

typedef struct {
    int status;
    const char *error;
    char detail[PQT_PROBE_DETAIL_MAX];
    uint8_t last_out[512]; /* the client's output at the end (MySQL's SSL request) */
    size_t last_len;
    int mismatch; /* the client did not send what a step expected */
} outcome;

/* Take what the client has to send. */
static size_t take_output(pqt_starttls *d, uint8_t *buf, size_t cap)
{
    const uint8_t *out = NULL;
    size_t n = pqt_starttls_output(d, &out);
    if (n == 0) {
        return 0;
    }
    CHECK(out != NULL && n <= cap, "output of %zu bytes", n);
    if (n > cap) {
        n = cap;
    }
    memcpy(buf, out, n);
    pqt_starttls_output_taken(d);
    return n;
}

/* Run the steps, feeding each reply in pieces of chunk bytes (0: whole);
 * eof: end with a close (1) or a reset (2) after the last step. */
static outcome run(int proto, const char *domain, const step *steps, size_t n, size_t chunk,
                   int eof)
{
    outcome o;
    pqt_starttls *d = NULL;
    memset(&o, 0, sizeof(o));
    int ret = pqt_starttls_new(proto, domain, &d);
    CHECK(ret == 0, "pqt_starttls_new(%d): %d", proto, ret);
    if (ret != 0) {
        o.status = -1;
        return o;
    }
    uint8_t sent[1024];
    for (size_t i = 0; i < n; i++) {
        size_t got = take_output(d, sent, sizeof(sent));
        if (steps[i].expect != NULL) {
            size_t el = steps[i].expect_len ? steps[i].expect_len : strlen(steps[i].expect);
            if (got < el || memcmp(sent, steps[i].expect, el) != 0) {
                o.mismatch = 1;
                CHECK(0, "step %zu: the client sent '%.*s', expected '%.*s'", i, (int)got, sent,
                      (int)el, steps[i].expect);
            }
        } else if (got != 0) {
            o.mismatch = 1;
            CHECK(0, "step %zu: the client spoke first: '%.*s'", i, (int)got, sent);
        }
        size_t rl = steps[i].reply_len ? steps[i].reply_len : strlen(steps[i].reply);
        const uint8_t *r = (const uint8_t *)steps[i].reply;
        for (size_t off = 0; off < rl;) {
            size_t k = chunk == 0 || rl - off < chunk ? rl - off : chunk;
            int st = pqt_starttls_feed(d, r + off, k);
            off += k;
            if (st == PQT_STARTTLS_FAILED) {
                break;
            }
        }
        if (pqt_starttls_status(d) == PQT_STARTTLS_FAILED) {
            break;
        }
    }
    if (eof) {
        pqt_starttls_eof(d, eof == 2);
    }
    o.status = pqt_starttls_status(d);
    o.error = pqt_starttls_error(d);
    snprintf(o.detail, sizeof(o.detail), "%s", pqt_starttls_detail(d));
    o.last_len = take_output(d, o.last_out, sizeof(o.last_out));
    CHECK((o.status == PQT_STARTTLS_FAILED) == (o.error != NULL), "an error exactly when failed");
    CHECK(strlen(o.detail) < PQT_PROBE_DETAIL_MAX, "detail bounded");
    pqt_starttls_free(d);
    return o;
}

/* The same conversation whole and byte by byte must end the same way. */
static void expect_ok(const char *what, int proto, const char *domain, const step *steps, size_t n)
{
    for (size_t chunk = 0; chunk <= 1; chunk++) {
        outcome o = run(proto, domain, steps, n, chunk, 0);
        CHECK(o.status == PQT_STARTTLS_READY && !o.mismatch, "%s (%s): ready (status %d, %s: %s)",
              what, chunk ? "byte by byte" : "whole", o.status, o.error ? o.error : "-", o.detail);
    }
}

static void expect_fail(const char *what, int proto, const char *domain, const step *steps,
                        size_t n, int eof, const char *error, const char *detail_part)
{
    for (size_t chunk = 0; chunk <= 1; chunk++) {
        outcome o = run(proto, domain, steps, n, chunk, eof);
        CHECK(o.status == PQT_STARTTLS_FAILED && o.error != NULL && strcmp(o.error, error) == 0,
              "%s (%s): %s expected, got status %d %s (%s)", what, chunk ? "byte by byte" : "whole",
              error, o.status, o.error ? o.error : "-", o.detail);
        CHECK(detail_part == NULL || strstr(o.detail, detail_part) != NULL,
              "%s: detail '%s' mentions '%s'", what, o.detail, detail_part);
    }
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- SMTP --------------------------------------------------------------------- */

static const char postfix_ehlo[] = "250-mail.example.com\r\n250-PIPELINING\r\n"
                                   "250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
                                   "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
                                   "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";

static void test_smtp(void)
{
    const int P = PQT_STARTTLS_SMTP;
    step good[] = {
        {NULL, 0, "220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n", 0},
        {"EHLO pqtls.invalid\r\n", 0, postfix_ehlo, 0},
        {"STARTTLS\r\n", 0, "220 2.0.0 Ready to start TLS\r\n", 0},
    };
    expect_ok("postfix", P, NULL, good, N(good));

    /* A multi-line greeting, bare LF, lower-case keyword. */
    step exim[] = {
        {NULL, 0, "220-mx.example ESMTP Exim 4.96\n220 no UCE\n", 0},
        {"EHLO ", 0, "250-mx.example Hello\n250-SIZE 52428800\n250-starttls\n250 HELP\n", 0},
        {"STARTTLS\r\n", 0, "220 TLS go ahead\n", 0},
    };
    expect_ok("exim, bare LF", P, NULL, exim, N(exim));

    step none[] = {
        {NULL, 0, "220 mx ESMTP\r\n", 0},
        {"EHLO", 0, "250-mx\r\n250-PIPELINING\r\n250-STARTTLSX\r\n250 8BITMIME\r\n", 0},
    };
    expect_fail("no STARTTLS keyword", P, NULL, none, N(none), 0, "starttls_not_offered",
                "lists no STARTTLS");
    step one_line[] = {{NULL, 0, "220 mx ESMTP\r\n", 0}, {"EHLO", 0, "250 mx\r\n", 0}};
    expect_fail("one-line EHLO reply", P, NULL, one_line, N(one_line), 0, "starttls_not_offered",
                NULL);
    step helo_only[] = {{NULL, 0, "220 mx SMTP\r\n", 0},
                        {"EHLO", 0, "502 5.5.2 Error: command not recognized\r\n", 0}};
    expect_fail("no ESMTP", P, NULL, helo_only, N(helo_only), 0, "starttls_not_offered", "502");
    step refused[] = {
        {NULL, 0, "220 mx ESMTP\r\n", 0},
        {"EHLO", 0, postfix_ehlo, 0},
        {"STARTTLS", 0, "454 4.7.0 TLS not available due to local problem\r\n", 0},
    };
    expect_fail("454 to STARTTLS", P, NULL, refused, N(refused), 0, "starttls_refused", "454");
    step postscreen[] = {{NULL, 0, "554 5.7.1 Service unavailable; client blocked\r\n", 0}};
    expect_fail("554 greeting", P, NULL, postscreen, N(postscreen), 0, "service_refused", "554");
    step busy[] = {{NULL, 0, "421 4.3.2 too busy\r\n", 0}};
    expect_fail("421 greeting", P, NULL, busy, N(busy), 0, "service_refused", "421");

    /* Hostile. */
    step mixed[] = {{NULL, 0, "220-mx\r\n250 mx\r\n", 0}};
    expect_fail("code changes inside a reply", P, NULL, mixed, N(mixed), 0, "dialogue_syntax",
                "multi-line");
    step garbage[] = {{NULL, 0, "\x16\x03\x01\x00\x05hello\r\n", 12}};
    expect_fail("TLS bytes instead of a greeting", P, NULL, garbage, N(garbage), 0,
                "dialogue_syntax", "SMTP reply");
    step imap_greeting[] = {{NULL, 0, "* OK IMAP ready\r\n", 0}};
    expect_fail("an IMAP server", P, NULL, imap_greeting, N(imap_greeting), 0, "dialogue_syntax",
                "* OK IMAP ready");
    step after[] = {
        {NULL, 0, "220 mx ESMTP\r\n", 0},
        {"EHLO", 0, postfix_ehlo, 0},
        {"STARTTLS", 0, "220 go ahead\r\n\x16\x03\x03", 0},
    };
    expect_fail("bytes after 220 (injection)", P, NULL, after, N(after), 0, "data_after_starttls",
                NULL);
    step early[] = {{NULL, 0, "220 mx ESMTP\r\n250 extra\r\n", 0}};
    expect_fail("a second reply before EHLO", P, NULL, early, N(early), 0, "dialogue_syntax",
                "before");
    step close_greet[] = {{NULL, 0, "220 mx", 0}};
    expect_fail("close inside the greeting", P, NULL, close_greet, N(close_greet), 1,
                "closed_in_dialogue", "the SMTP greeting");
    step reset_ehlo[] = {{NULL, 0, "220 mx ESMTP\r\n", 0}, {"EHLO", 0, "250-mx\r\n", 0}};
    expect_fail("reset inside the EHLO reply", P, NULL, reset_ehlo, N(reset_ehlo), 2,
                "reset_in_dialogue", "the EHLO reply");
    step nothing[] = {{NULL, 0, "", 0}};
    expect_fail("close before a greeting", P, NULL, nothing, 0, 1, "closed_in_dialogue", "0 bytes");
    (void)nothing;

    /* A line longer than 4096 bytes; an endless multi-line reply. */
    char *huge = malloc(5000);
    memset(huge, 'a', 5000);
    memcpy(huge, "220 ", 4);
    step longline[] = {{NULL, 0, huge, 5000}};
    expect_fail("a 5000-byte line", P, NULL, longline, N(longline), 0, "line_too_long", NULL);
    free(huge);
    size_t endless_len = 70000;
    char *endless = malloc(endless_len);
    memset(endless, 'x', endless_len);
    memcpy(endless, "220 mx\r\n", 8);
    for (size_t i = 8; i + 7 <= endless_len; i += 7) {
        memcpy(endless + i, "250-x\r\n", 7);
    }
    step endless_lines[] = {{NULL, 0, endless, 8}, {"EHLO", 0, endless + 8, endless_len - 8 - 2}};
    expect_fail("endless EHLO lines", P, NULL, endless_lines, N(endless_lines), 0,
                "dialogue_too_long", "65536");
    free(endless);
}

/* ---- IMAP ---------------------------------------------------------------------- */

static void test_imap(void)
{
    const int P = PQT_STARTTLS_IMAP;
    step dovecot[] = {
        {NULL, 0,
         "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS "
         "LOGINDISABLED] Dovecot (Debian) ready.\r\n",
         0},
        {"p2 STARTTLS\r\n", 0, "p2 OK Begin TLS negotiation now.\r\n", 0},
    };
    expect_ok("dovecot", P, NULL, dovecot, N(dovecot));
    step plain[] = {
        {NULL, 0, "* OK IMAP4 server ready\r\n", 0},
        {"p1 CAPABILITY\r\n", 0,
         "* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n"
         "p1 OK CAPABILITY completed\r\n",
         0},
        {"p2 STARTTLS\r\n", 0, "* OK still here\r\np2 OK Begin TLS negotiation now\r\n", 0},
    };
    expect_ok("CAPABILITY command, untagged noise", P, NULL, plain, N(plain));
    step cap_in_ok[] = {
        {NULL, 0, "* OK ready\r\n", 0},
        {"p1 CAPABILITY", 0, "p1 OK [CAPABILITY IMAP4rev1 STARTTLS] done\r\n", 0},
        {"p2 STARTTLS", 0, "p2 ok go\r\n", 0},
    };
    expect_ok("capabilities in the tagged OK, lower case", P, NULL, cap_in_ok, N(cap_in_ok));

    step none[] = {
        {NULL, 0, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n", 0},
    };
    expect_fail("no STARTTLS in the greeting", P, NULL, none, N(none), 0, "starttls_not_offered",
                "greeting");
    step none2[] = {
        {NULL, 0, "* OK ready\r\n", 0},
        {"p1 CAPABILITY", 0, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\np1 OK done\r\n", 0},
    };
    expect_fail("no STARTTLS in CAPABILITY", P, NULL, none2, N(none2), 0, "starttls_not_offered",
                "CAPABILITY reply");
    step preauth[] = {{NULL, 0, "* PREAUTH [CAPABILITY IMAP4rev1] logged in\r\n", 0}};
    expect_fail("PREAUTH", P, NULL, preauth, N(preauth), 0, "starttls_not_offered", "PREAUTH");
    step bye[] = {{NULL, 0, "* BYE Too many connections\r\n", 0}};
    expect_fail("BYE", P, NULL, bye, N(bye), 0, "service_refused", "Too many");
    step no[] = {
        {NULL, 0, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n", 0},
        {"p2 STARTTLS", 0, "p2 NO [UNAVAILABLE] TLS support isn't enabled.\r\n", 0},
    };
    expect_fail("NO to STARTTLS", P, NULL, no, N(no), 0, "starttls_refused", "TLS support");
    step bad[] = {
        {NULL, 0, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n", 0},
        {"p2 STARTTLS", 0, "p2 BAD unknown command\r\n", 0},
    };
    expect_fail("BAD to STARTTLS", P, NULL, bad, N(bad), 0, "starttls_refused", NULL);
    step wrongtag[] = {
        {NULL, 0, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n", 0},
        {"p2 STARTTLS", 0, "a1 OK go\r\n", 0},
    };
    expect_fail("another tag", P, NULL, wrongtag, N(wrongtag), 0, "dialogue_syntax", "p2");
    step smtp[] = {{NULL, 0, "220 mx ESMTP\r\n", 0}};
    expect_fail("an SMTP server", P, NULL, smtp, N(smtp), 0, "dialogue_syntax", "220 mx");
    step after[] = {
        {NULL, 0, "* OK [CAPABILITY STARTTLS] ready\r\n", 0},
        {"p2 STARTTLS", 0, "p2 OK go\r\n* extra\r\n", 0},
    };
    expect_fail("bytes after the tagged OK", P, NULL, after, N(after), 0, "data_after_starttls",
                NULL);
    step closed[] = {
        {NULL, 0, "* OK [CAPABILITY STARTTLS] ready\r\n", 0},
        {"p2 STARTTLS", 0, "", 0},
    };
    expect_fail("close after STARTTLS", P, NULL, closed, N(closed), 1, "closed_in_dialogue",
                "the STARTTLS reply");
}

/* ---- POP3 ---------------------------------------------------------------------- */

static void test_pop3(void)
{
    const int P = PQT_STARTTLS_POP3;
    step dovecot[] = {
        {NULL, 0, "+OK Dovecot (Debian) ready.\r\n", 0},
        {"CAPA\r\n", 0,
         "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nSTLS\r\n"
         "USER\r\nSASL PLAIN\r\n.\r\n",
         0},
        {"STLS\r\n", 0, "+OK Begin TLS negotiation now.\r\n", 0},
    };
    expect_ok("dovecot", P, NULL, dovecot, N(dovecot));
    step nocapa[] = {
        {NULL, 0, "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n", 0},
        {"CAPA\r\n", 0, "-ERR unknown command\r\n", 0},
        {"STLS\r\n", 0, "+OK go\r\n", 0},
    };
    expect_ok("no CAPA: STLS anyway", P, NULL, nocapa, N(nocapa));
    step none[] = {
        {NULL, 0, "+OK ready\r\n", 0},
        {"CAPA", 0, "+OK\r\nTOP\r\nUSER\r\nSTLSX\r\n.\r\n", 0},
    };
    expect_fail("no STLS", P, NULL, none, N(none), 0, "starttls_not_offered", "STLS");
    step refused[] = {
        {NULL, 0, "+OK ready\r\n", 0},
        {"CAPA", 0, "+OK\r\nSTLS\r\n.\r\n", 0},
        {"STLS", 0, "-ERR TLS support isn't enabled.\r\n", 0},
    };
    expect_fail("-ERR to STLS", P, NULL, refused, N(refused), 0, "starttls_refused", "TLS");
    step err[] = {{NULL, 0, "-ERR [SYS/TEMP] too many connections\r\n", 0}};
    expect_fail("-ERR greeting", P, NULL, err, N(err), 0, "service_refused", "too many");
    step garbage[] = {{NULL, 0, "HTTP/1.1 400 Bad Request\r\n", 0}};
    expect_fail("an HTTP server", P, NULL, garbage, N(garbage), 0, "dialogue_syntax", "HTTP");
    step endless[] = {
        {NULL, 0, "+OK ready\r\n", 0},
        {"CAPA", 0, "+OK\r\nTOP\r\nTOP\r\nTOP\r\n", 0},
    };
    expect_fail("CAPA list without its end, then close", P, NULL, endless, N(endless), 1,
                "closed_in_dialogue", "CAPA list");
}

/* ---- FTP ------------------------------------------------------------------------ */

static void test_ftp(void)
{
    const int P = PQT_STARTTLS_FTP;
    step vsftpd[] = {
        {NULL, 0, "220 (vsFTPd 3.0.3)\r\n", 0},
        {"AUTH TLS\r\n", 0, "234 Proceed with negotiation.\r\n", 0},
    };
    expect_ok("vsftpd", P, NULL, vsftpd, N(vsftpd));
    /* RFC 959 §4.2: free text between the first and the last line. */
    step multi[] = {
        {NULL, 0, "120 ready in 1 minute\r\n220-Welcome\r\n  to the archive\r\n220-x\r\n220 ok\r\n",
         0},
        {"AUTH TLS\r\n", 0, "234-AUTH TLS ok\r\n234 go\r\n", 0},
    };
    expect_ok("120, multi-line greeting and reply", P, NULL, multi, N(multi));
    step none[] = {{NULL, 0, "220 FTP\r\n", 0}, {"AUTH TLS", 0, "500 Unknown command.\r\n", 0}};
    expect_fail("500 to AUTH TLS", P, NULL, none, N(none), 0, "starttls_not_offered", "500");
    step none502[] = {{NULL, 0, "220 FTP\r\n", 0},
                      {"AUTH TLS", 0, "502 Command not implemented.\r\n", 0}};
    expect_fail("502 to AUTH TLS", P, NULL, none502, N(none502), 0, "starttls_not_offered", NULL);
    step refused[] = {{NULL, 0, "220 FTP\r\n", 0},
                      {"AUTH TLS", 0, "534 Request denied for policy reasons.\r\n", 0}};
    expect_fail("534 to AUTH TLS", P, NULL, refused, N(refused), 0, "starttls_refused", "534");
    step busy[] = {{NULL, 0, "421 Too many users\r\n", 0}};
    expect_fail("421 greeting", P, NULL, busy, N(busy), 0, "service_refused", "421");
    step junk[] = {{NULL, 0, "SSH-2.0-OpenSSH_9.2p1\r\n", 0}};
    expect_fail("an SSH server", P, NULL, junk, N(junk), 0, "dialogue_syntax", "SSH-2.0");
}

/* ---- LDAP ------------------------------------------------------------------------ */

static void test_ldap(void)
{
    const int P = PQT_STARTTLS_LDAP;
    static const char request[] = "\x30\x1d\x02\x01\x01\x77\x18\x80\x16"
                                  "1.3.6.1.4.1.1466.20037";
    /* OpenLDAP: resultCode success, empty DN and message, the OID back. */
    static const char openldap[] = "\x30\x24\x02\x01\x01\x78\x1f\x0a\x01\x00\x04\x00\x04\x00"
                                   "\x8a\x16"
                                   "1.3.6.1.4.1.1466.20037";
    step good[] = {{request, 31, openldap, 38}};
    expect_ok("OpenLDAP", P, NULL, good, N(good));
    /* Active Directory writes lengths in the four-byte long form. */
    static const char ad[] = "\x30\x84\x00\x00\x00\x10\x02\x01\x01\x78\x84\x00\x00\x00\x07"
                             "\x0a\x01\x00\x04\x00\x04\x00";
    step good_ad[] = {{request, 31, ad, 22}};
    expect_ok("Active Directory", P, NULL, good_ad, N(good_ad));

    static const char proto_err[] = "\x30\x2a\x02\x01\x01\x78\x25\x0a\x01\x02\x04\x00\x04\x1e"
                                    "unsupported extended operation";
    step none[] = {{request, 31, proto_err, 44}};
    expect_fail("protocolError", P, NULL, none, N(none), 0, "starttls_not_offered",
                "unsupported extended operation");
    static const char unavailable[] = "\x30\x1e\x02\x01\x01\x78\x19\x0a\x01\x34\x04\x00\x04\x12"
                                      "TLS not configured";
    step refused[] = {{request, 31, unavailable, 32}};
    expect_fail("unavailable", P, NULL, refused, N(refused), 0, "starttls_refused", "unavailable");
    /* RFC 4511 §4.4.1: Notice of Disconnection, messageID 0. */
    static const char notice[] = "\x30\x2b\x02\x01\x00\x78\x26\x0a\x01\x34\x04\x00\x04\x07"
                                 "go away"
                                 "\x8a\x16"
                                 "1.3.6.1.4.1.1466.20036";
    step disc[] = {{request, 31, notice, 45}};
    expect_fail("notice of disconnection", P, NULL, disc, N(disc), 0, "service_refused", "go away");
    static const char bind_resp[] = "\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00";
    step wrong_op[] = {{request, 31, bind_resp, 14}};
    expect_fail("a BindResponse", P, NULL, wrong_op, N(wrong_op), 0, "dialogue_syntax",
                "protocolOp 0x61");
    static const char wrong_id[] = "\x30\x0c\x02\x01\x02\x78\x07\x0a\x01\x00\x04\x00\x04\x00";
    step id2[] = {{request, 31, wrong_id, 14}};
    expect_fail("messageID 2", P, NULL, id2, N(id2), 0, "dialogue_syntax", "messageID 2");
    static const char huge[] = "\x30\x84\x7f\xff\xff\xff\x02\x01\x01";
    step big[] = {{request, 31, huge, 9}};
    expect_fail("a 2 GiB message", P, NULL, big, N(big), 0, "message_too_large", NULL);
    static const char indefinite[] = "\x30\x80\x02\x01\x01\x00\x00";
    step indef[] = {{request, 31, indefinite, 7}};
    expect_fail("indefinite length", P, NULL, indef, N(indef), 0, "dialogue_syntax", NULL);
    step text[] = {{request, 31, "HTTP/1.0 400 Bad Request\r\n", 0}};
    expect_fail("an HTTP answer", P, NULL, text, N(text), 0, "dialogue_syntax", NULL);
    static const char trunc[] = "\x30\x0c\x02\x01\x01\x78\x07\x0a";
    step half[] = {{request, 31, trunc, 8}};
    expect_fail("close mid-message", P, NULL, half, N(half), 1, "closed_in_dialogue",
                "StartTLS ExtendedResponse");
    static const char junk_inside[] = "\x30\x0a\x02\x01\x01\x78\x05\x0a\x01\x00\x04\x00";
    step inner[] = {{request, 31, junk_inside, 12}};
    expect_fail("no diagnosticMessage", P, NULL, inner, N(inner), 0, "dialogue_syntax", NULL);
    char after[40];
    memcpy(after, openldap, 38);
    after[38] = 0x16;
    after[39] = 0x03;
    step inj[] = {{request, 31, after, 40}};
    expect_fail("bytes after the response", P, NULL, inj, N(inj), 0, "data_after_starttls", NULL);
}

/* ---- PostgreSQL --------------------------------------------------------------------- */

static void test_postgres(void)
{
    const int P = PQT_STARTTLS_POSTGRES;
    static const char sslrequest[] = "\x00\x00\x00\x08\x04\xd2\x16\x2f";
    step good[] = {{sslrequest, 8, "S", 1}};
    expect_ok("'S'", P, NULL, good, N(good));
    step n[] = {{sslrequest, 8, "N", 1}};
    expect_fail("'N'", P, NULL, n, N(n), 0, "starttls_refused", "'N'");
    static const char err[] = "E\x00\x00\x00\x29"
                              "SFATAL\x00"
                              "C0A000\x00"
                              "Munsupported frontend\x00\x00";
    step e[] = {{sslrequest, 8, err, 42}};
    expect_fail("ErrorResponse", P, NULL, e, N(e), 0, "starttls_refused", "unsupported frontend");
    step inj[] = {{sslrequest, 8, "S\x16\x03\x03", 4}};
    expect_fail("'S' and more (CVE-2021-23222)", P, NULL, inj, N(inj), 0, "data_after_starttls",
                NULL);
    step other[] = {{sslrequest, 8, "H", 1}};
    expect_fail("another byte", P, NULL, other, N(other), 0, "dialogue_syntax", "0x48");
    static const char big[] = "E\x7f\xff\xff\xff";
    step huge[] = {{sslrequest, 8, big, 5}};
    expect_fail("huge ErrorResponse", P, NULL, huge, N(huge), 0, "message_too_large", NULL);
    static const char tiny[] = "E\x00\x00\x00\x02";
    step bad_len[] = {{sslrequest, 8, tiny, 5}};
    expect_fail("ErrorResponse length 2", P, NULL, bad_len, N(bad_len), 0, "dialogue_syntax", NULL);
    step closed[] = {{sslrequest, 8, "", 0}};
    expect_fail("closed", P, NULL, closed, N(closed), 1, "closed_in_dialogue", "SSLRequest");
}

/* ---- MySQL ---------------------------------------------------------------------------- */

/* A protocol 10 greeting with these lower capability flags and charset. */
static size_t mysql_greeting(uint8_t *out, const char *version, uint16_t caps, uint8_t charset)
{
    size_t n = 4;
    out[n++] = 10;
    memcpy(out + n, version, strlen(version) + 1);
    n += strlen(version) + 1;
    memcpy(out + n,
           "\x2a\x00\x00\x00"
           "abcdefgh\x00",
           13);
    n += 13;
    out[n++] = (uint8_t)caps;
    out[n++] = (uint8_t)(caps >> 8);
    out[n++] = charset;
    memcpy(out + n,
           "\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00\x00\x1d\x00\x00\x00"
           "ijklmnopqrst\x00mysql_native_password\x00",
           50);
    n += 50;
    out[0] = (uint8_t)(n - 4);
    out[1] = 0;
    out[2] = 0;
    out[3] = 0;
    return n;
}

static void test_mysql(void)
{
    const int P = PQT_STARTTLS_MYSQL;
    uint8_t g[256];
    size_t gl = mysql_greeting(g, "5.5.5-10.11.6-MariaDB-0+deb12u1", 0xfffe, 0x2d);
    step mariadb[] = {{NULL, 0, (const char *)g, gl}};
    expect_ok("MariaDB 10.11", P, NULL, mariadb, N(mariadb));
    outcome o = run(P, NULL, mariadb, 1, 0, 0);
    /* Protocol::SSLRequest: 32 bytes, sequence 1, CLIENT_SSL and
     * CLIENT_PROTOCOL_41, the server's character set. */
    CHECK(o.last_len == 36 && o.last_out[0] == 32 && o.last_out[1] == 0 && o.last_out[2] == 0 &&
              o.last_out[3] == 1 && (o.last_out[5] & 0x08) && (o.last_out[5] & 0x02) &&
              o.last_out[11] == 1 && o.last_out[12] == 0x2d && o.last_out[13] == 0,
          "the SSL request packet (%zu bytes)", o.last_len);
    gl = mysql_greeting(g, "8.0.36", 0xffff, 0xff);
    step mysql8[] = {{NULL, 0, (const char *)g, gl}};
    expect_ok("MySQL 8.0", P, NULL, mysql8, N(mysql8));

    gl = mysql_greeting(g, "5.5.5-10.11.6-MariaDB", 0xf7fe, 0x2d);
    step nossl[] = {{NULL, 0, (const char *)g, gl}};
    expect_fail("no CLIENT_SSL", P, NULL, nossl, N(nossl), 0, "starttls_not_offered", "CLIENT_SSL");
    static const char err[] = "\x43\x00\x00\x00\xff\x6a\x04"
                              "Host '10.0.0.1' is not allowed to connect to this MariaDB server";
    step host[] = {{NULL, 0, err, 71}};
    expect_fail("error packet", P, NULL, host, N(host), 0, "service_refused", "1130");
    static const char v9[] = "\x08\x00\x00\x00\x09"
                             "3.23\x00\x00\x00";
    step old[] = {{NULL, 0, v9, 12}};
    expect_fail("protocol 9", P, NULL, old, N(old), 0, "starttls_not_offered", "protocol 9");
    static const char huge[] = "\xff\xff\xff\x00\x0a";
    step big[] = {{NULL, 0, huge, 5}};
    expect_fail("16 MiB greeting", P, NULL, big, N(big), 0, "message_too_large", NULL);
    static const char seq[] = "\x05\x00\x00\x03\x0a"
                              "1\x00\x00\x00";
    step bad_seq[] = {{NULL, 0, seq, 9}};
    expect_fail("sequence id 3", P, NULL, bad_seq, N(bad_seq), 0, "dialogue_syntax", "sequence");
    static const char trunc[] = "\x06\x00\x00\x00\x0a"
                                "8.0\x00\x01";
    step short_greet[] = {{NULL, 0, trunc, 10}};
    expect_fail("truncated greeting", P, NULL, short_greet, N(short_greet), 0, "dialogue_syntax",
                "truncated");
    step text[] = {{NULL, 0, "220 mx ESMTP\r\n", 0}};
    expect_fail("an SMTP greeting", P, NULL, text, N(text), 0, "dialogue_syntax", "sequence");
    gl = mysql_greeting(g, "8.0.36", 0xffff, 0xff);
    g[gl] = 0x16;
    step inj[] = {{NULL, 0, (const char *)g, gl + 1}};
    expect_fail("a byte after the greeting", P, NULL, inj, N(inj), 0, "data_after_starttls", NULL);
    step closed[] = {{NULL, 0, (const char *)g, 20}};
    expect_fail("close inside the greeting", P, NULL, closed, N(closed), 1, "closed_in_dialogue",
                "MySQL greeting");
}

/* ---- XMPP -------------------------------------------------------------------------------- */

#define XMPP_HEAD                                                                     \
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "                      \
    "xmlns:stream='http://etherx.jabber.org/streams' id='4f2a>' from='chat.example' " \
    "version='1.0' xml:lang='en'>"
#define XMPP_TLS "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"

static void test_xmpp(void)
{
    const int P = PQT_STARTTLS_XMPP;
    static const char client_head[] =
        "<?xml version='1.0'?><stream:stream to='chat.example' version='1.0' xml:lang='en' "
        "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    step prosody[] = {
        {client_head, 0,
         XMPP_HEAD "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
                   "<required/></starttls><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                   "<mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms>"
                   "</stream:features>",
         0},
        {XMPP_TLS, 0, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", 0},
    };
    expect_ok("prosody", P, "chat.example", prosody, N(prosody));
    step ejabberd[] = {
        {"<?xml", 0,
         "<?xml version=\"1.0\"?>\n<stream:stream id=\"1\" from=\"chat.example\" version=\"1.0\" "
         "xmlns=\"jabber:client\" xmlns:stream=\"http://etherx.jabber.org/streams\">\n"
         "<!-- features follow -->\n<stream:features>\n  <c "
         "xmlns='http://jabber.org/protocol/caps' "
         "hash='sha-1' node='x' ver='y'/>\n  <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
         "\n</stream:features>\n",
         0},
        {XMPP_TLS, 0, "<proceed xmlns=\"urn:ietf:params:xml:ns:xmpp-tls\"></proceed>", 0},
    };
    expect_ok("double quotes, comment, <proceed></proceed>", P, "chat.example", ejabberd,
              N(ejabberd));

    step none[] = {{"<?xml", 0,
                    XMPP_HEAD "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-"
                              "sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>",
                    0}};
    expect_fail("no <starttls/>", P, "chat.example", none, N(none), 0, "starttls_not_offered",
                NULL);
    step empty_features[] = {{"<?xml", 0, XMPP_HEAD "<stream:features/>", 0}};
    expect_fail("empty features", P, "chat.example", empty_features, N(empty_features), 0,
                "starttls_not_offered", NULL);
    step failure[] = {
        {"<?xml", 0, XMPP_HEAD "<stream:features>" XMPP_TLS "</stream:features>", 0},
        {XMPP_TLS, 0, "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>", 0},
    };
    expect_fail("<failure/>", P, "chat.example", failure, N(failure), 0, "starttls_refused",
                "failure");
    step host_unknown[] = {
        {"<?xml", 0,
         XMPP_HEAD "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                   "</stream:error></stream:stream>",
         0},
    };
    expect_fail("host-unknown", P, "chat.example", host_unknown, N(host_unknown), 0,
                "service_refused", "host-unknown");
    step end[] = {{"<?xml", 0, XMPP_HEAD "</stream:stream>", 0}};
    expect_fail("stream closed", P, "chat.example", end, N(end), 0, "service_refused", "closed");
    step dtd[] = {{"<?xml", 0, "<!DOCTYPE x [<!ENTITY a 'b'>]>", 0}};
    expect_fail("a DTD", P, "chat.example", dtd, N(dtd), 0, "dialogue_syntax", "DTD");
    step not_stream[] = {{"<?xml", 0, "<html><body>", 0}};
    expect_fail("not a stream", P, "chat.example", not_stream, N(not_stream), 0, "dialogue_syntax",
                "stream:stream");
    char *big = malloc(6000);
    memset(big, 'a', 6000);
    memcpy(big, "<stream:stream ", 15);
    step huge[] = {{"<?xml", 0, big, 6000}};
    expect_fail("a 6000-byte tag", P, "chat.example", huge, N(huge), 0, "message_too_large", NULL);
    free(big);
    char deep[8192];
    size_t dl = 0;
    dl += (size_t)snprintf(deep, sizeof(deep), "%s", XMPP_HEAD);
    for (int i = 0; i < 40; i++) {
        dl += (size_t)snprintf(deep + dl, sizeof(deep) - dl, "<a>");
    }
    step nest[] = {{"<?xml", 0, deep, dl}};
    expect_fail("nesting 40 deep", P, "chat.example", nest, N(nest), 0, "dialogue_syntax",
                "deeper");
    step inj[] = {
        {"<?xml", 0, XMPP_HEAD "<stream:features>" XMPP_TLS "</stream:features>", 0},
        {XMPP_TLS, 0, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/> ", 0},
    };
    expect_fail("bytes after <proceed/>", P, "chat.example", inj, N(inj), 0, "data_after_starttls",
                NULL);
    step closed[] = {{"<?xml", 0, XMPP_HEAD "<stream:feat", 0}};
    expect_fail("close mid-tag", P, "chat.example", closed, N(closed), 1, "closed_in_dialogue",
                "stream features");

    /* The domain goes into an attribute: nothing that could break out. */
    pqt_starttls *d = NULL;
    CHECK(pqt_starttls_new(P, "chat.example'/><x", &d) == PQT_ERR_ARG && d == NULL,
          "a quote in the domain is refused");
    CHECK(pqt_starttls_new(PQT_STARTTLS_NONE, "x", &d) == PQT_ERR_ARG, "no dialogue for none");
    CHECK(pqt_starttls_new(PQT_STARTTLS_COUNT, "x", &d) == PQT_ERR_ARG, "out of range");
}

/* ---- banners ------------------------------------------------------------------------------- */

static void test_banners(void)
{
    static const struct {
        const char *bytes;
        size_t len;
        int banner;
    } cases[] = {
        {"220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n", 0, PQT_BANNER_SMTP},
        {"220-mx.example ESMTP Exim\r\n", 0, PQT_BANNER_SMTP},
        {"554 5.7.1 blocked\r\n", 0, PQT_BANNER_SMTP},
        {"220 (vsFTPd 3.0.3)\r\n", 0, PQT_BANNER_FTP},
        {"220 ProFTPD Server (Debian) [::ffff:127.0.0.1]\r\n", 0, PQT_BANNER_FTP},
        {"220 mail.example.com\r\n", 0, PQT_BANNER_SMTP_FTP},
        {"220 m", 0, PQT_BANNER_SMTP_FTP},
        {"* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n", 0, PQT_BANNER_IMAP},
        {"* BYE too many\r\n", 0, PQT_BANNER_IMAP},
        {"+OK Dovecot ready.\r\n", 0, PQT_BANNER_POP3},
        {"-ERR go away\r\n", 0, PQT_BANNER_POP3},
        {"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", 0, PQT_BANNER_SSH},
        {"HTTP/1.1 400 Bad Request\r\n", 0, PQT_BANNER_HTTP},
        {"<?xml version='1.0'?><stream:stream", 0, PQT_BANNER_XMPP},
        {"\x5b\x00\x00\x00\x0a"
         "5.5.5-10.11.6-MariaDB",
         26, PQT_BANNER_MYSQL},
        {"\x48\x00\x00\x00\xff\x6a\x04Host", 11, PQT_BANNER_MYSQL},
        {"GARBAGE \x01\x02", 10, PQT_BANNER_NONE},
        {"\x15\x03\x03\x00\x02", 5, PQT_BANNER_NONE},
        {"220", 0, PQT_BANNER_NONE},
        {"", 0, PQT_BANNER_NONE},
        {"\x5b\x00\x00\x01\x0a" /* sequence 1 */, 5, PQT_BANNER_NONE},
    };
    for (size_t i = 0; i < N(cases); i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].bytes);
        int b = pqt_scan_banner_identify((const uint8_t *)cases[i].bytes, len);
        CHECK(b == cases[i].banner, "banner %zu ('%.12s'): %d, expected %d", i, cases[i].bytes, b,
              cases[i].banner);
    }
    CHECK(pqt_scan_banner_identify(NULL, 0) == PQT_BANNER_NONE, "no bytes");

    /* What to scan instead: the protocol from the banner (and the port
     * when a 220 does not say which), host, port and SNI kept. */
    static const struct {
        const char *target;
        int banner;
        const char *advice;
    } adv[] = {
        {"mail.example:25", PQT_BANNER_SMTP, "SMTP banner: scan smtp://mail.example:25"},
        {"mail.example:587", PQT_BANNER_SMTP, "SMTP banner: scan submission://mail.example:587"},
        {"192.0.2.1:2525,mx.example", PQT_BANNER_SMTP,
         "SMTP banner: scan smtp://192.0.2.1:2525,mx.example"},
        {"[2001:db8::1]:143", PQT_BANNER_IMAP, "IMAP banner: scan imap://[2001:db8::1]:143"},
        {"ftp.example:21", PQT_BANNER_SMTP_FTP, "SMTP or FTP banner: scan ftp://ftp.example:21"},
        {"host.example:2121", PQT_BANNER_FTP, "FTP banner: scan ftp://host.example:2121"},
        {"db.example:3306", PQT_BANNER_MYSQL, "MySQL banner: scan mysql://db.example:3306"},
        {"pop.example:110", PQT_BANNER_POP3, "POP3 banner: scan pop3://pop.example:110"},
        {"chat.example:5222", PQT_BANNER_XMPP, "XMPP banner: scan xmpp://chat.example:5222"},
        {"host.example:22", PQT_BANNER_SSH, "SSH banner: not a TLS service"},
        {"host.example:80", PQT_BANNER_HTTP, "plain HTTP"},
    };
    for (size_t i = 0; i < N(adv); i++) {
        pqt_scan_target t;
        int blank;
        const char *why;
        char buf[200];
        if (pqt_scan_target_parse(adv[i].target, &t, &blank, &why) != 0) {
            CHECK(0, "parse %s", adv[i].target);
            continue;
        }
        pqt_scan_banner_advice(adv[i].banner, &t, buf, sizeof(buf));
        CHECK(strncmp(buf, adv[i].advice, strlen(adv[i].advice)) == 0, "%s: '%s', expected '%s'",
              adv[i].target, buf, adv[i].advice);
    }
    CHECK(strcmp(pqt_scan_banner_name(PQT_BANNER_SMTP), "SMTP") == 0 &&
              pqt_scan_banner_name(PQT_BANNER_NONE) == NULL &&
              pqt_scan_banner_name(PQT_BANNER_COUNT) == NULL,
          "banner names");
}

/* Every dialogue ends: a feed after a verdict changes nothing, EOF settles
 * a running one, and the step names are never NULL. */
static void test_lifecycle(void)
{
    for (int p = PQT_STARTTLS_SMTP; p < PQT_STARTTLS_COUNT; p++) {
        pqt_starttls *d = NULL;
        if (pqt_starttls_new(p, "x.example", &d) != 0) {
            CHECK(0, "new %d", p);
            continue;
        }
        CHECK(pqt_starttls_step(d) != NULL && pqt_starttls_status(d) == PQT_STARTTLS_RUNNING,
              "%s: running, waiting for %s", pqt_starttls_name(p), pqt_starttls_step(d));
        CHECK(pqt_starttls_eof(d, 0) == PQT_STARTTLS_FAILED, "%s: EOF fails it",
              pqt_starttls_name(p));
        CHECK(pqt_starttls_feed(d, (const uint8_t *)"220 x\r\n", 7) == PQT_STARTTLS_FAILED &&
                  strcmp(pqt_starttls_error(d), "closed_in_dialogue") == 0,
              "%s: a verdict stays", pqt_starttls_name(p));
        const uint8_t *out;
        CHECK(pqt_starttls_output(d, &out) == 0, "%s: no output after failing",
              pqt_starttls_name(p));
        pqt_starttls_free(d);
    }
    CHECK(pqt_starttls_error_is_refusal("starttls_refused") &&
              pqt_starttls_error_is_refusal("starttls_not_offered") &&
              !pqt_starttls_error_is_refusal("service_refused") &&
              !pqt_starttls_error_is_refusal(NULL),
          "refusals");
}

int main(void)
{
    test_smtp();
    test_imap();
    test_pop3();
    test_ftp();
    test_ldap();
    test_postgres();
    test_mysql();
    test_xmpp();
    test_banners();
    test_lifecycle();
    printf("test_scan_starttls: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
