#!/usr/bin/env python3
"""Small fake STARTTLS servers for tests/scan/test_starttls.sh and
bench/scan_bench.sh --starttls.

Each one speaks the plaintext side of one protocol the way the real
servers do (postfix's multi-line EHLO reply, dovecot's greeting with
[CAPABILITY], OpenLDAP's ExtendedResponse, PostgreSQL's 'S', a MariaDB
protocol 10 greeting, an ejabberd/prosody stream with <starttls/>), and at
the go-ahead splices the socket to a real TLS server (BACKEND: openssl
s_server with the pqtls provider), so what the scanner negotiates after the
dialogue is a real hybrid handshake.

usage: starttls_servers.py BACKEND_PORT SERVICE... [--lifetime SECONDS]
  SERVICE is NAME=MODE, e.g. smtp=good, smtp=nostarttls, pop3=refuse;
  modes: good (dialogue, then TLS), nostarttls (the capability is not
  offered), refuse (the command is refused), direct (no dialogue: splice at
  once, the direct-TLS twin of a service, for the benchmark), banner (a
  plaintext greeting whatever the client sends: what a direct ClientHello
  meets on a STARTTLS port).
Prints one JSON line {"NAME=MODE": port, ...} once every listener is up;
exits on SIGTERM or after the lifetime (default 300 s).
"""
import asyncio
import json
import signal
import sys

BACKEND = ("127.0.0.1", 0)
XMPP_DOMAIN = "xmpp.test"


async def splice(reader, writer):
    """Connect to the TLS backend and copy both ways until either side ends."""
    try:
        br, bw = await asyncio.open_connection(*BACKEND)
    except OSError:
        writer.close()
        return

    async def pipe(src, dst):
        try:
            while True:
                data = await src.read(65536)
                if not data:
                    break
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                dst.close()
            except (ConnectionError, OSError):
                pass

    await asyncio.gather(pipe(reader, bw), pipe(br, writer))


async def line(reader):
    data = await reader.readline()
    if not data:
        raise ConnectionError("closed")
    return data.decode("latin-1").rstrip("\r\n")


async def smtp(reader, writer, mode):
    # postfix: multi-line greeting is rare but legal; the EHLO reply is.
    writer.write(b"220-relay.test ESMTP Postfix (Debian/GNU)\r\n220 relay.test ready\r\n")
    ehlo = await line(reader)
    if not ehlo.upper().startswith("EHLO "):
        writer.write(b"500 5.5.2 Error: bad syntax\r\n")
        return False
    caps = [b"PIPELINING", b"SIZE 10240000", b"VRFY", b"ETRN"]
    if mode != "nostarttls":
        caps.append(b"STARTTLS")
    caps += [b"ENHANCEDSTATUSCODES", b"8BITMIME", b"DSN", b"CHUNKING"]
    reply = b"250-relay.test\r\n" + b"".join(b"250-" + c + b"\r\n" for c in caps[:-1])
    writer.write(reply + b"250 " + caps[-1] + b"\r\n")
    cmd = await line(reader)
    if cmd.upper() != "STARTTLS":
        writer.write(b"502 5.5.1 Error: command not implemented\r\n")
        return False
    if mode == "refuse":
        writer.write(b"454 4.7.0 TLS not available due to local problem\r\n")
        return False
    writer.write(b"220 2.0.0 Ready to start TLS\r\n")
    return True


async def imap(reader, writer, mode):
    # dovecot: capabilities in the greeting.
    caps = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+"
    if mode != "nostarttls":
        caps += " STARTTLS"
    writer.write(f"* OK [CAPABILITY {caps} LOGINDISABLED] Dovecot (Debian) ready.\r\n".encode())
    cmd = await line(reader)
    tag, _, verb = cmd.partition(" ")
    if verb.upper() != "STARTTLS":
        writer.write(f"{tag} BAD Error in IMAP command\r\n".encode())
        return False
    if mode == "refuse":
        writer.write(f"{tag} NO [UNAVAILABLE] TLS support isn't enabled.\r\n".encode())
        return False
    writer.write(f"{tag} OK Begin TLS negotiation now.\r\n".encode())
    return True


async def pop3(reader, writer, mode):
    writer.write(b"+OK Dovecot (Debian) ready.\r\n")
    cmd = await line(reader)
    if cmd.upper() == "CAPA":
        caps = [b"CAPA", b"TOP", b"UIDL", b"RESP-CODES", b"PIPELINING", b"AUTH-RESP-CODE"]
        if mode != "nostarttls":
            caps.append(b"STLS")
        caps += [b"USER", b"SASL PLAIN"]
        writer.write(b"+OK\r\n" + b"".join(c + b"\r\n" for c in caps) + b".\r\n")
        cmd = await line(reader)
    if cmd.upper() != "STLS":
        writer.write(b"-ERR Unknown command.\r\n")
        return False
    if mode == "refuse":
        writer.write(b"-ERR TLS support isn't enabled.\r\n")
        return False
    writer.write(b"+OK Begin TLS negotiation now.\r\n")
    return True


async def ftp(reader, writer, mode):
    writer.write(b"220-Welcome to the test FTP service.\r\n  Be nice.\r\n220 (vsFTPd 3.0.3)\r\n")
    cmd = await line(reader)
    if cmd.upper() != "AUTH TLS" or mode == "nostarttls":
        writer.write(b"500 Unknown command.\r\n")
        return False
    if mode == "refuse":
        writer.write(b"534 Request denied for policy reasons.\r\n")
        return False
    writer.write(b"234 Proceed with negotiation.\r\n")
    return True


LDAP_OID = b"1.3.6.1.4.1.1466.20037"


def ber(tag, content, long_form=False):
    n = len(content)
    if long_form:  # Active Directory writes every length in four bytes
        return bytes([tag, 0x84]) + n.to_bytes(4, "big") + content
    assert n < 128
    return bytes([tag, n]) + content


async def ldap(reader, writer, mode):
    hdr = await reader.readexactly(2)
    body = await reader.readexactly(hdr[1])
    if hdr[0] != 0x30 or LDAP_OID not in body:
        return False
    code = {"good": 0, "nostarttls": 2, "refuse": 52}.get(mode, 0)
    diag = b"" if code == 0 else b"unsupported extended operation" if code == 2 else b"TLS not configured"
    long_form = mode == "good"
    res = ber(0x0A, bytes([code])) + ber(0x04, b"") + ber(0x04, diag)
    if code == 0:
        res += ber(0x8A, LDAP_OID)
    msg = ber(0x02, b"\x01") + ber(0x78, res, long_form)
    writer.write(ber(0x30, msg, long_form))
    return code == 0


async def postgres(reader, writer, mode):
    req = await reader.readexactly(8)
    if req != b"\x00\x00\x00\x08\x04\xd2\x16\x2f":
        return False
    if mode in ("nostarttls", "refuse"):
        writer.write(b"N")
        return False
    writer.write(b"S")
    return True


async def mysql(reader, writer, mode):
    caps = 0xFFFF if mode != "nostarttls" else 0xF7FF  # CLIENT_SSL = 0x0800
    version = b"5.5.5-10.11.6-MariaDB-0+deb12u1"
    payload = (b"\x0a" + version + b"\x00" + (42).to_bytes(4, "little") + b"abcdefgh" + b"\x00" +
               caps.to_bytes(2, "little") + b"\x2d" + (2).to_bytes(2, "little") +
               (0x81BF).to_bytes(2, "little") + bytes([21]) + b"\x00" * 6 +
               (0x1D).to_bytes(4, "little") + b"ijklmnopqrst\x00" + b"mysql_native_password\x00")
    writer.write(len(payload).to_bytes(3, "little") + b"\x00" + payload)
    if mode == "nostarttls":
        await reader.read(1)
        return False
    hdr = await reader.readexactly(4)
    n = int.from_bytes(hdr[:3], "little")
    body = await reader.readexactly(n)
    if hdr[3] != 1 or n != 32 or not (int.from_bytes(body[:4], "little") & 0x0800):
        return False
    return True


async def xmpp(reader, writer, mode):
    data = b""
    while b"<stream:stream" not in data or not data.rstrip().endswith(b">"):
        chunk = await reader.read(4096)
        if not chunk:
            return False
        data += chunk
    head = (b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            b"xmlns:stream='http://etherx.jabber.org/streams' id='4f2a' from='" +
            XMPP_DOMAIN.encode() + b"' version='1.0' xml:lang='en'>")
    if f"to='{XMPP_DOMAIN}'".encode() not in data:
        writer.write(head + b"<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                     b"</stream:error></stream:stream>")
        return False
    feats = b"<stream:features>"
    if mode != "nostarttls":
        feats += b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
    feats += (b"<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>"
              b"</mechanisms></stream:features>")
    writer.write(head + feats)
    if mode == "nostarttls":
        await reader.read(1)
        return False
    cmd = b""
    while b"/>" not in cmd:
        chunk = await reader.read(4096)
        if not chunk:
            return False
        cmd += chunk
    if b"<starttls" not in cmd:
        return False
    if mode == "refuse":
        writer.write(b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>")
        return False
    writer.write(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    return True


async def banner(reader, writer, name):
    """A STARTTLS port met with a direct ClientHello: the greeting comes
    first anyway, then the server complains about the bytes."""
    greet = {
        "smtp": b"220 mail.test ESMTP Postfix (Debian/GNU)\r\n",
        "imap": b"* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot (Debian) ready.\r\n",
        "pop3": b"+OK Dovecot (Debian) ready.\r\n",
        "ftp": b"220 (vsFTPd 3.0.3)\r\n",
        "ssh": b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
    }[name]
    writer.write(greet)
    await writer.drain()
    await reader.read(4096)
    writer.write(b"500 5.5.2 Error: bad syntax\r\n" if name in ("smtp", "ftp") else b"")
    return False


DIALOGUES = {"smtp": smtp, "imap": imap, "pop3": pop3, "ftp": ftp, "ldap": ldap,
             "postgres": postgres, "mysql": mysql, "xmpp": xmpp}


def handler(name, mode):
    async def handle(reader, writer):
        try:
            if mode == "direct":
                ok = True
            elif mode == "banner":
                ok = await banner(reader, writer, name)
            else:
                ok = await DIALOGUES[name](reader, writer, mode)
            await writer.drain()
            if ok:
                await splice(reader, writer)
                return
            # The scanner closes; wait for it (bounded) rather than close first.
            await asyncio.wait_for(reader.read(65536), 5)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            pass
        finally:
            try:
                writer.close()
            except (ConnectionError, OSError):
                pass
    return handle


async def main():
    global BACKEND
    args = [a for a in sys.argv[1:]]
    lifetime = 300
    if "--lifetime" in args:
        i = args.index("--lifetime")
        lifetime = int(args[i + 1])
        del args[i:i + 2]
    BACKEND = ("127.0.0.1", int(args[0]))
    ports = {}
    servers = []
    for spec in args[1:]:
        name, _, mode = spec.partition("=")
        srv = await asyncio.start_server(handler(name, mode or "good"), "127.0.0.1", 0,
                                         backlog=1024)
        servers.append(srv)
        ports[spec] = srv.sockets[0].getsockname()[1]
    print(json.dumps(ports), flush=True)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(0))
    try:
        await asyncio.wait_for(stop, lifetime)
    except asyncio.TimeoutError:
        pass


if __name__ == "__main__":
    asyncio.run(main())
