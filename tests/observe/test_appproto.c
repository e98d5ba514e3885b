/*
 * Unit tests for src/observe/appproto.c: the application protocol of a
 * handshake from the cleartext before its ClientHello, each rule on the
 * dialogue a real client and server speak (the LDAP, MySQL and SMTP bytes
 * are those of the Arkime captures in ../shared/pcaps), and what must not
 * match: a cut line, an OID one digit off, a MySQL request without the SSL
 * bit, bytes past the window, SMTP's AUTH PLAIN. Then direct TLS: the ALPN
 * protocol IDs, --app-port before the built-in ports, and the names.
 */
#include <stdio.h>
#include <string.h>

#include "obs_internal.h"
#include "pqtls/observe.h"

#include "obs_check.h"

static pqt_obs_app_protocol text(const char *client, const char *server)
{
    uint16_t port = 1;
    pqt_obs_app_protocol app =
        pqt_obs_app_from_preamble((const uint8_t *)client, client ? strlen(client) : 0,
                                  (const uint8_t *)server, server ? strlen(server) : 0, &port);
    CHECK(app == PQT_OBS_APP_UNKNOWN || port == 0);
    return app;
}

static pqt_obs_app_protocol bin(const uint8_t *c, size_t cn, const uint8_t *s, size_t sn)
{
    return pqt_obs_app_from_preamble(c, cn, s, sn, NULL);
}

static void test_text_dialogues(void)
{
    /* SMTP (RFC 3207), as in arkime/smtp-starttls.pcap. */
    CHECK(text("EHLO xxxxxxxxxxxxx.xxx.com\r\nSTARTTLS\r\n",
               "220 mx.google.com ESMTP s4si9696358qcc.63 - gsmtp\r\n"
               "250-mx.google.com at your service\r\n250-STARTTLS\r\n250 CHUNKING\r\n"
               "220 2.0.0 Ready to start TLS\r\n") == PQT_OBS_APP_SMTP);
    CHECK(text("ehlo x\r\n", NULL) == PQT_OBS_APP_SMTP);
    CHECK(text("LHLO x\r\n", NULL) == PQT_OBS_APP_SMTP);
    CHECK(text("STARTTLS\r\n", NULL) == PQT_OBS_APP_SMTP);
    CHECK(text(NULL, "220 mail.pqtls.test ESMTP Postfix (Debian/GNU)\r\n") == PQT_OBS_APP_SMTP);
    CHECK(text(NULL, "220-first\r\n250-SIZE 1000\r\n250 STARTTLS\r\n") == PQT_OBS_APP_SMTP);
    /* IMAP (RFC 9051 §6.2.1): a tagged STARTTLS, or the greeting. */
    CHECK(text("a001 CAPABILITY\r\na002 STARTTLS\r\n",
               "* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n") == PQT_OBS_APP_IMAP);
    CHECK(text(". starttls\r\n", NULL) == PQT_OBS_APP_IMAP);
    CHECK(text(NULL, "* PREAUTH ready\r\n") == PQT_OBS_APP_IMAP);
    /* POP3 (RFC 2595 §4). */
    CHECK(text("CAPA\r\nSTLS\r\n", "+OK Dovecot ready.\r\n") == PQT_OBS_APP_POP3);
    CHECK(text(NULL, "+OK ready\r\n") == PQT_OBS_APP_POP3);
    /* FTP (RFC 4217 §4): AUTH TLS decides over a 220 banner that does not
     * name its protocol. */
    CHECK(text("AUTH TLS\r\n", "220 (vsFTPd 3.0.3)\r\n234 Proceed with negotiation.\r\n") ==
          PQT_OBS_APP_FTP);
    CHECK(text("auth ssl\r\n", NULL) == PQT_OBS_APP_FTP);
    CHECK(text(NULL, "220 ProFTPD Server ready.\r\n") == PQT_OBS_APP_FTP);
    CHECK(text(NULL, "220 (vsFTPd 3.0.3)\r\n234 AUTH TLS OK.\r\n") == PQT_OBS_APP_FTP);
    /* SMTP's AUTH is never TLS. */
    CHECK(text("AUTH PLAIN AGZvbwBiYXI=\r\n", NULL) == PQT_OBS_APP_UNKNOWN);
    /* XMPP (RFC 6120): the stream header either way, or <starttls/>. */
    CHECK(text("<?xml version='1.0'?><stream:stream to='xmpp.test' xmlns='jabber:client' "
               "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
               NULL) == PQT_OBS_APP_XMPP);
    CHECK(text("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", NULL) == PQT_OBS_APP_XMPP);
    CHECK(text("x", "<?xml version='1.0'?><stream:stream from='xmpp.test' id='1'>") ==
          PQT_OBS_APP_XMPP);

    /* Not matches. A command cut before its line end is not read. */
    CHECK(text("EHLO x", NULL) == PQT_OBS_APP_UNKNOWN);
    CHECK(text("STARTTLS", NULL) == PQT_OBS_APP_UNKNOWN);
    CHECK(text("a001 STARTTLS now\r\n", NULL) == PQT_OBS_APP_UNKNOWN);
    CHECK(text("GET / HTTP/1.1\r\nHost: x\r\n\r\n", NULL) == PQT_OBS_APP_UNKNOWN);
    CHECK(text(NULL, "220 welcome\r\n") == PQT_OBS_APP_UNKNOWN);
    CHECK(text(NULL, NULL) == PQT_OBS_APP_UNKNOWN);
    CHECK(text("", "") == PQT_OBS_APP_UNKNOWN);
    /* Only the first PQT_OBS_APP_PEEK bytes of each side are read. */
    char big[PQT_OBS_APP_PEEK + 64];
    memset(big, 'x', sizeof(big));
    memcpy(big + PQT_OBS_APP_PEEK - 2, "\r\nEHLO x\r\n", 11);
    CHECK(text(big, NULL) == PQT_OBS_APP_UNKNOWN);
    memcpy(big + PQT_OBS_APP_PEEK - 12, "\r\nEHLO x\r\n", 11);
    CHECK(text(big, NULL) == PQT_OBS_APP_SMTP);
}

static void test_connect(void)
{
    uint16_t port = 0;
    static const char *const req[] = {
        "CONNECT www.example:443 HTTP/1.1\r\nHost: www.example:443\r\n\r\n",
        "CONNECT [2001:db8::1]:8443 HTTP/1.0\r\n\r\n",
        "CONNECT www.example HTTP/1.1\r\n\r\n",
        "CONNECT www.example:0 HTTP/1.1\r\n\r\n",
        "CONNECT www.example:70000 HTTP/1.1\r\n\r\n",
    };
    static const uint16_t want[] = {443, 8443, 0, 0, 0};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        port = 1;
        CHECK(pqt_obs_app_from_preamble((const uint8_t *)req[i], strlen(req[i]), NULL, 0, &port) ==
                  PQT_OBS_APP_UNKNOWN &&
              port == want[i]);
    }
}

static void test_binary_dialogues(void)
{
    /* LDAP StartTLS, arkime/ldap-ssl.pcap: messageID 1, ExtendedRequest
     * [0] "1.3.6.1.4.1.1466.20037". */
    static const uint8_t ldap[] = {0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16, '1', '.',
                                   '3',  '.',  '6',  '.',  '1',  '.',  '4',  '.',  '1',  '.', '1',
                                   '4',  '6',  '6',  '.',  '2',  '0',  '0',  '3',  '7'};
    static const uint8_t ldap_resp[] = {0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07,
                                        0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00};
    uint8_t b[64];
    CHECK(bin(ldap, sizeof(ldap), ldap_resp, sizeof(ldap_resp)) == PQT_OBS_APP_LDAP);
    /* Long-form lengths (X.690 §8.1.3.5), as some clients write them. */
    memcpy(b, (const uint8_t[]){0x30, 0x81, 0x1e, 0x02, 0x01, 0x01, 0x77, 0x81, 0x18}, 9);
    memcpy(b + 9, ldap + 7, sizeof(ldap) - 7);
    CHECK(bin(b, 9 + sizeof(ldap) - 7, NULL, 0) == PQT_OBS_APP_LDAP);
    memcpy(b, ldap, sizeof(ldap));
    b[sizeof(ldap) - 1] = '8'; /* another OID */
    CHECK(bin(b, sizeof(ldap), NULL, 0) == PQT_OBS_APP_UNKNOWN);
    CHECK(bin(ldap, 20, NULL, 0) == PQT_OBS_APP_UNKNOWN); /* cut short */
    CHECK(bin(ldap_resp, sizeof(ldap_resp), NULL, 0) == PQT_OBS_APP_UNKNOWN);

    /* PostgreSQL: SSLRequest, also after a refused GSSENCRequest. */
    static const uint8_t ssl_req[] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
    static const uint8_t gss_req[] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30};
    static const uint8_t cancel[] = {0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e};
    CHECK(bin(ssl_req, 8, (const uint8_t *)"S", 1) == PQT_OBS_APP_POSTGRES);
    memcpy(b, gss_req, 8);
    memcpy(b + 8, ssl_req, 8);
    CHECK(bin(b, 16, (const uint8_t *)"NS", 2) == PQT_OBS_APP_POSTGRES);
    CHECK(bin(gss_req, 8, NULL, 0) == PQT_OBS_APP_UNKNOWN);
    CHECK(bin(cancel, 8, NULL, 0) == PQT_OBS_APP_UNKNOWN);
    CHECK(bin(ssl_req, 7, NULL, 0) == PQT_OBS_APP_UNKNOWN);

    /* MySQL, arkime/mysql-tls.pcap: the server's protocol-10 greeting
     * ("5.7.16") and the client's 32-byte SSLRequest (CLIENT_SSL 0x800). */
    static const uint8_t greeting[] = {0x4a, 0,   0, 0,    0x0a, '5',  '.',  '7',  '.',
                                       '1',  '6', 0, 0x4d, 0x68, 0x20, 0x00, 0x09, 0x37};
    uint8_t ssl[36] = {0x20, 0, 0, 1, 0x8f, 0xaa, 0x3a, 0x00, 0xff, 0xff, 0xff, 0x00, 0x21};
    CHECK(bin(ssl, sizeof(ssl), greeting, sizeof(greeting)) == PQT_OBS_APP_MYSQL);
    CHECK(bin(NULL, 0, greeting, sizeof(greeting)) == PQT_OBS_APP_MYSQL);
    CHECK(bin(ssl, sizeof(ssl), NULL, 0) == PQT_OBS_APP_MYSQL);
    ssl[5] = 0xa2; /* CLIENT_SSL cleared: a login, not a TLS request */
    CHECK(bin(ssl, sizeof(ssl), NULL, 0) == PQT_OBS_APP_UNKNOWN);
    memcpy(b, greeting, sizeof(greeting));
    b[4] = 9; /* protocol 9 */
    CHECK(bin(NULL, 0, b, sizeof(greeting)) == PQT_OBS_APP_UNKNOWN);
    b[4] = 10;
    b[7] = 0x01; /* a control byte in the version */
    CHECK(bin(NULL, 0, b, sizeof(greeting)) == PQT_OBS_APP_UNKNOWN);
}

static pqt_obs_app_protocol direct(const char *const *alpn, uint16_t port,
                                   const pqt_obs_app_port *ports, size_t n, pqt_obs_app_source *by)
{
    uint8_t list[128];
    size_t len = 0;
    pqt_client_hello ch;
    memset(&ch, 0, sizeof(ch));
    for (size_t i = 0; alpn != NULL && alpn[i] != NULL; i++) {
        size_t k = strlen(alpn[i]);
        list[len++] = (uint8_t)k;
        memcpy(list + len, alpn[i], k);
        len += k;
    }
    ch.alpn = alpn != NULL ? list : NULL;
    ch.alpn_len = len;
    return pqt_obs_app_direct(&ch, port, ports, n, by);
}

static void test_direct(void)
{
    pqt_obs_app_source by = PQT_OBS_APP_BY_NONE;
    static const char *const h2[] = {"h2", "http/1.1", NULL}, *const pg[] = {"postgresql", NULL},
                             *const acme_imap[] = {"acme-tls/1", "imap", NULL},
                             *const other[] = {"smb", NULL};
    static const pqt_obs_app_port ports[] = {{10465, PQT_OBS_APP_SMTP}, {443, PQT_OBS_APP_IMAP}};
    CHECK(direct(h2, 12345, NULL, 0, &by) == PQT_OBS_APP_HTTPS && by == PQT_OBS_APP_BY_ALPN);
    CHECK(direct(pg, 5432, NULL, 0, &by) == PQT_OBS_APP_POSTGRES && by == PQT_OBS_APP_BY_ALPN);
    CHECK(direct(acme_imap, 443, NULL, 0, &by) == PQT_OBS_APP_IMAP && by == PQT_OBS_APP_BY_ALPN);
    /* ALPN before any port, the client said what it speaks. */
    CHECK(direct(h2, 10465, ports, 2, &by) == PQT_OBS_APP_HTTPS && by == PQT_OBS_APP_BY_ALPN);
    CHECK(direct(other, 443, NULL, 0, &by) == PQT_OBS_APP_HTTPS && by == PQT_OBS_APP_BY_PORT);
    static const struct {
        uint16_t port;
        pqt_obs_app_protocol app;
    } builtin[] = {{443, PQT_OBS_APP_HTTPS},   {8443, PQT_OBS_APP_HTTPS}, {465, PQT_OBS_APP_SMTP},
                   {993, PQT_OBS_APP_IMAP},    {995, PQT_OBS_APP_POP3},   {636, PQT_OBS_APP_LDAP},
                   {990, PQT_OBS_APP_FTP},     {5223, PQT_OBS_APP_XMPP},  {25, PQT_OBS_APP_UNKNOWN},
                   {5432, PQT_OBS_APP_UNKNOWN}};
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
        CHECK(direct(NULL, builtin[i].port, NULL, 0, &by) == builtin[i].app);
        CHECK(by == (builtin[i].app ? PQT_OBS_APP_BY_PORT : PQT_OBS_APP_BY_NONE));
    }
    /* --app-port: a port of its own, and before the built-in one. */
    CHECK(direct(NULL, 10465, ports, 2, &by) == PQT_OBS_APP_SMTP && by == PQT_OBS_APP_BY_PORT);
    CHECK(direct(NULL, 443, ports, 2, &by) == PQT_OBS_APP_IMAP && by == PQT_OBS_APP_BY_PORT);
    CHECK(pqt_obs_app_direct(NULL, 12345, NULL, 0, &by) == PQT_OBS_APP_UNKNOWN &&
          by == PQT_OBS_APP_BY_NONE);
}

static void test_names(void)
{
    static const char *const names[] = {"unknown", "https", "smtp",     "imap",  "pop3",
                                        "ftp",     "ldap",  "postgres", "mysql", "xmpp"};
    CHECK(sizeof(names) / sizeof(names[0]) == PQT_OBS_N_APPS);
    for (int i = 0; i < PQT_OBS_N_APPS; i++) {
        CHECK(strcmp(pqt_obs_app_protocol_name((pqt_obs_app_protocol)i), names[i]) == 0);
        CHECK(pqt_obs_app_protocol_from_name(names[i]) == i);
    }
    CHECK(strcmp(pqt_obs_app_protocol_name(PQT_OBS_N_APPS), "unknown") == 0);
    CHECK(pqt_obs_app_protocol_from_name("HTTPS") == -1 &&
          pqt_obs_app_protocol_from_name(NULL) == -1);
    CHECK(pqt_obs_app_source_name(PQT_OBS_APP_BY_NONE) == NULL);
    CHECK(strcmp(pqt_obs_app_source_name(PQT_OBS_APP_BY_PREAMBLE), "preamble") == 0);
    CHECK(strcmp(pqt_obs_app_source_name(PQT_OBS_APP_BY_ALPN), "alpn") == 0);
    CHECK(strcmp(pqt_obs_app_source_name(PQT_OBS_APP_BY_PORT), "port") == 0);
    CHECK(strcmp(pqt_obs_app_source_name(PQT_OBS_APP_BY_ANSWER), "answer") == 0);
}

int main(void)
{
    test_text_dialogues();
    test_connect();
    test_binary_dialogues();
    test_direct();
    test_names();
    printf("test_observe_appproto: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
