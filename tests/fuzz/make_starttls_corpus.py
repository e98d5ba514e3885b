#!/usr/bin/env python3
"""Write the seed corpus of fuzz_scan_starttls (tests/fuzz/fuzz_scan_starttls.c).

Each seed is a header (parser, read size, how the stream ends) and a
server's side of a dialogue: the replies real servers give (postfix,
dovecot, vsftpd, OpenLDAP and Active Directory, PostgreSQL, MariaDB,
prosody), a server without STARTTLS, one that refuses it, and hostile
streams; plus the plaintext banners a direct ClientHello may meet. Run once
and commit the output:

    python3 tests/fuzz/make_starttls_corpus.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "fuzz_scan_starttls")
BANNER, SMTP, IMAP, POP3, FTP, LDAP, POSTGRES, MYSQL, XMPP = range(9)
WHOLE, BYTEWISE = 0, 1
EOF_, RESET, NO_END = 0, 1, 2


def write(name, parser, chunk, end, body):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([parser, chunk, end]) + body)


def ber(tag, content, long_form=False):
    if long_form:
        return bytes([tag, 0x84]) + len(content).to_bytes(4, "big") + content
    return bytes([tag, len(content)]) + content


def ldap_response(code, diag=b"", msgid=1, name=None, long_form=False):
    res = ber(0x0A, bytes([code])) + ber(0x04, b"") + ber(0x04, diag)
    if name:
        res += ber(0x8A, name)
    return ber(0x30, ber(0x02, bytes([msgid])) + ber(0x78, res, long_form), long_form)


def mysql_greeting(version, caps, charset=0x2D):
    payload = (b"\x0a" + version + b"\x00" + (42).to_bytes(4, "little") + b"abcdefgh\x00" +
               caps.to_bytes(2, "little") + bytes([charset]) + b"\x02\x00\xff\x81\x15" +
               b"\x00" * 6 + b"\x1d\x00\x00\x00" + b"ijklmnopqrst\x00mysql_native_password\x00")
    return len(payload).to_bytes(3, "little") + b"\x00" + payload


def main():
    ehlo = (b"250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
            b"250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n")
    greet = b"220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n"
    write("smtp_postfix", SMTP, BYTEWISE, NO_END, greet + ehlo + b"220 2.0.0 Ready to start TLS\r\n")
    write("smtp_no_starttls", SMTP, BYTEWISE, EOF_, greet + b"250-mx\r\n250 8BITMIME\r\n")
    write("smtp_refused", SMTP, BYTEWISE, EOF_, greet + ehlo + b"454 4.7.0 TLS not available\r\n")
    write("smtp_554", SMTP, WHOLE, EOF_, b"554 5.7.1 blocked\r\n")
    write("smtp_endless", SMTP, 7, RESET, greet + b"250-x\r\n" * 200)
    write("smtp_garbage", SMTP, WHOLE, EOF_, b"\x16\x03\x01\x00\x05hello\r\n")

    caps = b"* OK [CAPABILITY IMAP4rev1 SASL-IR ID IDLE LITERAL+ STARTTLS LOGINDISABLED] ready.\r\n"
    write("imap_dovecot", IMAP, BYTEWISE, NO_END, caps + b"p2 OK Begin TLS negotiation now.\r\n")
    write("imap_capability", IMAP, BYTEWISE, NO_END,
          b"* OK ready\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\np1 OK done\r\np2 OK go\r\n")
    write("imap_no", IMAP, BYTEWISE, EOF_, caps + b"p2 NO [UNAVAILABLE] no TLS\r\n")
    write("imap_preauth", IMAP, WHOLE, EOF_, b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n")

    write("pop3_dovecot", POP3, BYTEWISE, NO_END,
          b"+OK Dovecot ready.\r\n+OK\r\nCAPA\r\nTOP\r\nSTLS\r\nUSER\r\nSASL PLAIN\r\n.\r\n"
          b"+OK Begin TLS negotiation now.\r\n")
    write("pop3_no_capa", POP3, BYTEWISE, EOF_, b"+OK ready\r\n-ERR no\r\n-ERR no TLS\r\n")

    write("ftp_vsftpd", FTP, BYTEWISE, NO_END, b"220 (vsFTPd 3.0.3)\r\n234 Proceed.\r\n")
    write("ftp_multiline", FTP, BYTEWISE, EOF_,
          b"120 soon\r\n220-Welcome\r\n  text\r\n220 ok\r\n500 Unknown command.\r\n")

    oid = b"1.3.6.1.4.1.1466.20037"
    write("ldap_openldap", LDAP, WHOLE, NO_END, ldap_response(0, name=oid))
    write("ldap_ad", LDAP, BYTEWISE, NO_END, ldap_response(0, long_form=True))
    write("ldap_protocol_error", LDAP, WHOLE, EOF_, ldap_response(2, b"unsupported extended operation"))
    write("ldap_notice", LDAP, WHOLE, EOF_,
          ldap_response(52, b"go away", msgid=0, name=b"1.3.6.1.4.1.1466.20036"))
    write("ldap_huge", LDAP, WHOLE, EOF_, b"\x30\x84\x7f\xff\xff\xff\x02\x01\x01")

    write("postgres_s", POSTGRES, WHOLE, NO_END, b"S")
    write("postgres_n", POSTGRES, WHOLE, EOF_, b"N")
    write("postgres_error", POSTGRES, BYTEWISE, EOF_,
          b"E\x00\x00\x00\x29SFATAL\x00C0A000\x00Munsupported frontend\x00\x00")
    write("postgres_injected", POSTGRES, WHOLE, NO_END, b"S\x16\x03\x03\x00\x02")

    write("mysql_mariadb", MYSQL, WHOLE, NO_END,
          mysql_greeting(b"5.5.5-10.11.6-MariaDB-0+deb12u1", 0xFFFE))
    write("mysql_no_ssl", MYSQL, BYTEWISE, EOF_, mysql_greeting(b"8.0.36", 0xF7FF, 0xFF))
    write("mysql_error", MYSQL, WHOLE, EOF_,
          b"\x43\x00\x00\x00\xff\x6a\x04Host '10.0.0.1' is not allowed to connect to this MariaDB server")

    head = (b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            b"xmlns:stream='http://etherx.jabber.org/streams' id='4f2a' from='xmpp.example' "
            b"version='1.0'>")
    feats = (b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
             b"</starttls><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN"
             b"</mechanism></mechanisms></stream:features>")
    write("xmpp_prosody", XMPP, BYTEWISE, NO_END,
          head + feats + b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    write("xmpp_failure", XMPP, BYTEWISE, EOF_,
          head + feats + b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>")
    write("xmpp_error", XMPP, WHOLE, EOF_,
          head + b"<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
          b"</stream:error></stream:stream>")
    write("xmpp_comment_quotes", XMPP, 3, NO_END,
          head.replace(b"'", b'"') + b"<!-- x -->" + feats + b"<proceed></proceed>")

    for name, data in (("smtp", greet), ("ftp", b"220 (vsFTPd 3.0.3)\r\n"), ("imap", caps),
                       ("pop3", b"+OK Dovecot ready.\r\n"), ("ssh", b"SSH-2.0-OpenSSH_9.2p1\r\n"),
                       ("http", b"HTTP/1.1 400 Bad Request\r\n"), ("xmpp", head),
                       ("mysql", mysql_greeting(b"8.0.36", 0xFFFF)),
                       ("garbage", b"GARBAGE \x01\x02\x03")):
        write(f"banner_{name}", BANNER, WHOLE, EOF_, data)


if __name__ == "__main__":
    main()
