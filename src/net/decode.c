/*
 * Link layer, VLAN, IPv4/IPv6, TCP and UDP headers, read through pqt_reader
 * (never by casting frame bytes to structs).
 */
#include <string.h>

#include "pqtls/net.h"
#include "pqtls/wire.h"

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86DD
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88A8
#define ETH_QINQ_OLD 0x9100

static int decode_tcp(pqt_reader *r, pqt_packet *pkt, int cut)
{
    uint16_t u16;
    uint8_t off, flags;
    PQT_TRY(pqt_reader_u16(r, &pkt->sport));
    PQT_TRY(pqt_reader_u16(r, &pkt->dport));
    PQT_TRY(pqt_reader_u32(r, &pkt->seq));
    PQT_TRY(pqt_reader_u32(r, &pkt->ack));
    PQT_TRY(pqt_reader_u8(r, &off));
    PQT_TRY(pqt_reader_u8(r, &flags));
    PQT_TRY(pqt_reader_u16(r, &u16)); /* window */
    PQT_TRY(pqt_reader_skip(r, 4));   /* checksum, urgent pointer */
    size_t hdr = (size_t)(off >> 4) * 4;
    if (hdr < 20) {
        return PQT_ERR_SYNTAX;
    }
    PQT_TRY(pqt_reader_skip(r, hdr - 20)); /* options */
    pkt->proto = PQT_IPPROTO_TCP;
    pkt->flags = flags;
    pkt->payload = r->p;
    pkt->payload_len = pqt_reader_left(r);
    pkt->payload_cut = cut;
    return 0;
}

static int decode_udp(pqt_reader *r, pqt_packet *pkt, int cut)
{
    uint16_t len;
    PQT_TRY(pqt_reader_u16(r, &pkt->sport));
    PQT_TRY(pqt_reader_u16(r, &pkt->dport));
    PQT_TRY(pqt_reader_u16(r, &len));
    PQT_TRY(pqt_reader_skip(r, 2)); /* checksum */
    /* RFC 768: the length counts the 8-byte header. Over IPv6 a jumbogram
     * has 0 here (RFC 2675); we take what the IP layer gives then. */
    if (len != 0) {
        if (len < 8) {
            return PQT_ERR_SYNTAX;
        }
        if ((size_t)len - 8 <= pqt_reader_left(r)) {
            r->end = r->p + (len - 8);
        } else {
            cut = 1;
        }
    }
    pkt->proto = PQT_IPPROTO_UDP;
    pkt->payload = r->p;
    pkt->payload_len = pqt_reader_left(r);
    pkt->payload_cut = cut;
    return 0;
}

static int decode_ipv4(pqt_reader *r, pqt_packet *pkt)
{
    uint8_t vihl, tos, ttl, proto;
    uint16_t total, id, frag;
    const uint8_t *src, *dst;
    pqt_reader start = *r;
    PQT_TRY(pqt_reader_u8(r, &vihl));
    if ((vihl >> 4) != 4 || (vihl & 15) < 5) {
        return PQT_ERR_SYNTAX;
    }
    PQT_TRY(pqt_reader_u8(r, &tos));
    PQT_TRY(pqt_reader_u16(r, &total));
    PQT_TRY(pqt_reader_u16(r, &id));
    PQT_TRY(pqt_reader_u16(r, &frag));
    PQT_TRY(pqt_reader_u8(r, &ttl));
    PQT_TRY(pqt_reader_u8(r, &proto));
    PQT_TRY(pqt_reader_skip(r, 2)); /* checksum */
    PQT_TRY(pqt_reader_bytes(r, 4, &src));
    PQT_TRY(pqt_reader_bytes(r, 4, &dst));
    size_t ihl = (size_t)(vihl & 15) * 4;
    PQT_TRY(pqt_reader_skip(r, ihl - 20));
    if (total < ihl) {
        return PQT_ERR_SYNTAX;
    }
    /* Trim link-layer padding; a capture cut short (snaplen) keeps what it has. */
    int cut = 0;
    size_t have = pqt_reader_left(&start);
    if (total <= have) {
        r->end = start.p + total;
    } else {
        cut = 1;
    }
    pkt->ip_version = 4;
    memset(pkt->src, 0, 16);
    memset(pkt->dst, 0, 16);
    memcpy(pkt->src, src, 4);
    memcpy(pkt->dst, dst, 4);
    pkt->ttl = ttl;
    if ((frag & 0x1FFF) != 0 || (frag & 0x2000) != 0) {
        pkt->fragment = 1;
        return PQT_ERR_UNSUPPORTED; /* IP fragments: counted by the caller */
    }
    if (proto == PQT_IPPROTO_UDP) {
        return decode_udp(r, pkt, cut);
    }
    if (proto != PQT_IPPROTO_TCP) {
        return PQT_ERR_UNSUPPORTED;
    }
    return decode_tcp(r, pkt, cut);
}

static int decode_ipv6(pqt_reader *r, pqt_packet *pkt)
{
    uint32_t vtc;
    uint16_t plen;
    uint8_t next, hlim;
    const uint8_t *src, *dst;
    PQT_TRY(pqt_reader_u32(r, &vtc));
    if ((vtc >> 28) != 6) {
        return PQT_ERR_SYNTAX;
    }
    PQT_TRY(pqt_reader_u16(r, &plen));
    PQT_TRY(pqt_reader_u8(r, &next));
    PQT_TRY(pqt_reader_u8(r, &hlim));
    PQT_TRY(pqt_reader_bytes(r, 16, &src));
    PQT_TRY(pqt_reader_bytes(r, 16, &dst));
    int cut = 0;
    if (plen <= pqt_reader_left(r)) {
        r->end = r->p + plen;
    } else {
        cut = 1;
    }
    pkt->ip_version = 6;
    memcpy(pkt->src, src, 16);
    memcpy(pkt->dst, dst, 16);
    pkt->ttl = hlim;
    /* RFC 8200 §4: walk the extension headers we may meet before TCP. */
    for (int i = 0; i < 8; i++) {
        uint8_t nh, len8;
        switch (next) {
        case PQT_IPPROTO_TCP:
            return decode_tcp(r, pkt, cut);
        case PQT_IPPROTO_UDP:
            return decode_udp(r, pkt, cut);
        case 0:  /* hop-by-hop */
        case 43: /* routing */
        case 60: /* destination options */
            PQT_TRY(pqt_reader_u8(r, &nh));
            PQT_TRY(pqt_reader_u8(r, &len8));
            PQT_TRY(pqt_reader_skip(r, 6 + (size_t)len8 * 8));
            next = nh;
            break;
        case 44: { /* fragment: only an atomic fragment (offset 0, M=0) goes on */
            uint16_t off;
            PQT_TRY(pqt_reader_u8(r, &nh));
            PQT_TRY(pqt_reader_skip(r, 1));
            PQT_TRY(pqt_reader_u16(r, &off));
            PQT_TRY(pqt_reader_skip(r, 4));
            if ((off & 0xFFF9) != 0) {
                pkt->fragment = 1;
                return PQT_ERR_UNSUPPORTED;
            }
            next = nh;
            break;
        }
        default:
            return PQT_ERR_UNSUPPORTED;
        }
    }
    return PQT_ERR_UNSUPPORTED;
}

static int decode_ethertype(pqt_reader *r, uint16_t type, pqt_packet *pkt)
{
    /* 802.1Q / 802.1ad tags, outermost first; deeper stacks are skipped. */
    while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
        uint16_t tci;
        PQT_TRY(pqt_reader_u16(r, &tci));
        PQT_TRY(pqt_reader_u16(r, &type));
        if (pkt->n_vlan < PQT_NET_MAX_VLAN) {
            pkt->vlan[pkt->n_vlan++] = tci & 0x0FFF;
        }
    }
    if (type == ETH_IPV4) {
        return decode_ipv4(r, pkt);
    }
    if (type == ETH_IPV6) {
        return decode_ipv6(r, pkt);
    }
    return PQT_ERR_UNSUPPORTED;
}

static int decode_ip_by_version(pqt_reader *r, pqt_packet *pkt)
{
    if (pqt_reader_left(r) < 1) {
        return PQT_ERR_TRUNCATED;
    }
    if ((r->p[0] >> 4) == 4) {
        return decode_ipv4(r, pkt);
    }
    if ((r->p[0] >> 4) == 6) {
        return decode_ipv6(r, pkt);
    }
    return PQT_ERR_UNSUPPORTED;
}

int pqt_linktype_supported(int linktype)
{
    switch (linktype) {
    case PQT_LINK_NULL:
    case PQT_LINK_ETHERNET:
    case PQT_LINK_RAW:
    case 12:
    case 14:
    case PQT_LINK_LOOP:
    case PQT_LINK_LINUX_SLL:
    case PQT_LINK_IPV4:
    case PQT_LINK_IPV6:
    case PQT_LINK_LINUX_SLL2:
        return 1;
    default:
        return 0;
    }
}

int pqt_packet_decode(int linktype, const uint8_t *frame, size_t caplen, pqt_packet *pkt)
{
    pqt_reader r = pqt_reader_make(frame, caplen);
    uint16_t type;
    if (frame == NULL || pkt == NULL) {
        return PQT_ERR_ARG;
    }
    memset(pkt, 0, sizeof(*pkt));
    switch (linktype) {
    case PQT_LINK_ETHERNET:
        PQT_TRY(pqt_reader_skip(&r, 12)); /* destination, source MAC */
        PQT_TRY(pqt_reader_u16(&r, &type));
        return decode_ethertype(&r, type, pkt);
    case PQT_LINK_NULL:
    case PQT_LINK_LOOP: {
        uint32_t be = 0;
        PQT_TRY(pqt_reader_u32(&r, &be));
        /* AF_INET is 2 everywhere; AF_INET6 is 24, 28 or 30 by OS. The
         * value is in host order for NULL: accept either byte order. */
        uint32_t le = __builtin_bswap32(be);
        uint32_t f = be < 256 ? be : le;
        if (f == 2) {
            return decode_ipv4(&r, pkt);
        }
        if (f == 24 || f == 28 || f == 30) {
            return decode_ipv6(&r, pkt);
        }
        return PQT_ERR_UNSUPPORTED;
    }
    case PQT_LINK_RAW:
    case 12: /* DLT_RAW as libpcap reports LINKTYPE_RAW on most systems */
    case 14: /* DLT_RAW on OpenBSD */
        return decode_ip_by_version(&r, pkt);
    case PQT_LINK_IPV4:
        return decode_ipv4(&r, pkt);
    case PQT_LINK_IPV6:
        return decode_ipv6(&r, pkt);
    case PQT_LINK_LINUX_SLL:
        /* packet type, ARPHRD, address length, 8-byte address, protocol */
        PQT_TRY(pqt_reader_skip(&r, 14));
        PQT_TRY(pqt_reader_u16(&r, &type));
        return decode_ethertype(&r, type, pkt);
    case PQT_LINK_LINUX_SLL2:
        /* protocol, reserved, ifindex, ARPHRD, packet type, addr len, addr */
        PQT_TRY(pqt_reader_u16(&r, &type));
        PQT_TRY(pqt_reader_skip(&r, 18));
        return decode_ethertype(&r, type, pkt);
    default:
        return PQT_ERR_UNSUPPORTED;
    }
}
