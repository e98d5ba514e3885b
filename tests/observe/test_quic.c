/*
 * Unit tests for src/net/quic.c: the sample packets of RFC 9001 Appendix A
 * (QUIC v1) and RFC 9369 Appendix A (QUIC v2), client and server Initial,
 * written out below from the RFCs' text: the Initial keys, header
 * protection removal, decryption, the packet numbers, the frames, and
 * sealing the plaintext again into the same protected bytes. Then the
 * header parser on Version Negotiation, Retry, coalesced and damaged
 * packets, varints (RFC 9000 §A.1), the frame walker on hostile frames,
 * and CRYPTO reassembly by offset under a budget: out of order, in
 * pieces, overlapping, too far, too many holes, endless data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/quic.h"

#include "obs_check.h"

/* RFC 9001 A.2 / RFC 9369 A.2: the client Initial (1200 bytes). */
static const char V1_CLIENT[] = "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
                                "d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
                                "1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
                                "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
                                "30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
                                "457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
                                "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
                                "4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
                                "485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
                                "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
                                "7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
                                "9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
                                "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
                                "68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
                                "c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
                                "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
                                "291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
                                "25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
                                "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
                                "ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
                                "e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
                                "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
                                "203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
                                "cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
                                "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
                                "a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
                                "90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
                                "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
                                "40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
                                "6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
                                "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
                                "be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
                                "54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
                                "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
                                "f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
                                "056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
                                "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
                                "e221af44860018ab0856972e194cd934";

static const char V1_SERVER[] = "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a"
                                "5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3"
                                "dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84"
                                "022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4"
                                "2158407dd074ee";

static const char CLIENT_PAYLOAD[] =
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
    "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
    "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
    "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
    "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
    "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
    "75300901100f088394c8f03e51570806048000ffff";

static const char SERVER_PAYLOAD[] =
    "02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739"
    "88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94"
    "0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00"
    "020304";

static const char V2_CLIENT[] = "d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485"
                                "dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04"
                                "9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d"
                                "250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a"
                                "12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500"
                                "cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68"
                                "18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33"
                                "12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3"
                                "d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd"
                                "6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520"
                                "bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045"
                                "636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f"
                                "ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12"
                                "16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5"
                                "4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4"
                                "fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b"
                                "8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7"
                                "14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9"
                                "9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91"
                                "abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd"
                                "80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db"
                                "848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18"
                                "d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15"
                                "c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc"
                                "7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61"
                                "f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710"
                                "10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b"
                                "3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e"
                                "06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce"
                                "8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1"
                                "34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1"
                                "e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd"
                                "5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3"
                                "8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89"
                                "d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53"
                                "6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19"
                                "9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b"
                                "a18b2faa745b6fe189cf772a9f84cbfc";

static const char V2_SERVER[] = "dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698"
                                "baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17"
                                "f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2"
                                "c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca8"
                                "4bed8521e2e140";

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (s[0] && s[1] && n < cap) {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1) {
            break;
        }
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static int eq_hex(const uint8_t *p, size_t n, const char *hex)
{
    uint8_t want[64];
    size_t wn = unhex(hex, want, sizeof(want));
    return wn == n && memcmp(p, want, n) == 0;
}

typedef struct {
    uint64_t off[8];
    size_t len[8];
    uint8_t first[8];
    int n, closes;
    uint64_t close_code;
} frames_seen;

static void on_crypto(void *ctx, uint64_t off, const uint8_t *p, size_t n)
{
    frames_seen *s = ctx;
    if (s->n < 8) {
        s->off[s->n] = off;
        s->len[s->n] = n;
        s->first[s->n] = n > 0 ? p[0] : 0;
    }
    s->n++;
}

static void on_close(void *ctx, uint64_t code, int app)
{
    frames_seen *s = ctx;
    (void)app;
    s->closes++;
    s->close_code = code;
}

static void test_keys(void)
{
    pqt_quic_keys c, s;
    const uint8_t dcid[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
    /* RFC 9001 A.1 */
    CHECK(pqt_quic_initial_keys(PQT_QUIC_V1, dcid, 8, &c, &s) == 0);
    CHECK(eq_hex(c.key, 16, "1f369613dd76d5467730efcbe3b1a22d"));
    CHECK(eq_hex(c.iv, 12, "fa044b2f42a3fd3b46fb255c"));
    CHECK(eq_hex(c.hp, 16, "9f50449e04a0e810283a1e9933adedd2"));
    CHECK(eq_hex(s.key, 16, "cf3a5331653c364c88f0f379b6067e37"));
    CHECK(eq_hex(s.iv, 12, "0ac1493ca1905853b0bba03e"));
    CHECK(eq_hex(s.hp, 16, "c206b8d9b9f0f37644430b490eeaa314"));
    /* RFC 9369 A.1 */
    CHECK(pqt_quic_initial_keys(PQT_QUIC_V2, dcid, 8, &c, &s) == 0);
    CHECK(eq_hex(c.key, 16, "8b1a0bc121284290a29e0971b5cd045d"));
    CHECK(eq_hex(c.iv, 12, "91f73e2351d8fa91660e909f"));
    CHECK(eq_hex(c.hp, 16, "45b95e15235d6f45a6b19cbcb0294ba9"));
    CHECK(eq_hex(s.key, 16, "82db637861d55e1d011f19ea71d5d2a7"));
    CHECK(eq_hex(s.iv, 12, "dd13c276499c0249d3310652"));
    CHECK(eq_hex(s.hp, 16, "edf6d05c83121201b436e16877593c3a"));
    CHECK(pqt_quic_initial_keys(0xff00001d, dcid, 8, &c, &s) == PQT_ERR_UNSUPPORTED);
    /* An empty DCID is allowed (a client may choose one after a Retry). */
    CHECK(pqt_quic_initial_keys(PQT_QUIC_V1, NULL, 0, &c, NULL) == 0);
}

/* Open a sample packet with the right keys, check what comes out, seal the
 * plaintext again and get the same bytes back; then damage it. */
static void check_packet(pqt_quic_opener *op, uint32_t version, const char *hex, int server,
                         const char *unprot_hdr, uint64_t want_pn, const char *payload_hex,
                         size_t pad)
{
    static uint8_t pkt[1500], out[1500], again[1500], plain[1500];
    const uint8_t dcid[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
    size_t n = unhex(hex, pkt, sizeof(pkt));
    size_t pn_len = unhex(payload_hex, plain, sizeof(plain));
    memset(plain + pn_len, 0, pad);
    size_t plain_len = pn_len + pad;
    pqt_quic_keys keys[2];
    pqt_quic_header h;
    uint64_t pn = 0;
    const uint8_t *payload = NULL;
    size_t payload_len = 0;
    CHECK(pqt_quic_initial_keys(version, dcid, 8, &keys[0], &keys[1]) == 0);
    CHECK(pqt_quic_parse_header(pkt, n, &h) == 0);
    CHECK(h.type == PQT_QUIC_PKT_INITIAL && h.version == version && h.len == n);
    CHECK(h.pn_offset == 18);
    CHECK(server ? (h.dcid_len == 0 && h.scid_len == 8) : (h.dcid_len == 8 && h.scid_len == 0));
    CHECK(pqt_quic_open(op, &keys[server], pkt, &h, -1, out, &pn, &payload, &payload_len) == 0);
    CHECK(pn == want_pn);
    size_t hdr_len = (size_t)(payload - out);
    CHECK(eq_hex(out, hdr_len, unprot_hdr));
    CHECK(payload_len == plain_len && memcmp(payload, plain, plain_len) == 0);
    /* The frames: the client's one CRYPTO frame (the ClientHello) and its
     * padding; the server's ACK and CRYPTO frame (the ServerHello). */
    frames_seen fs;
    memset(&fs, 0, sizeof(fs));
    pqt_quic_frame_sink sink = {on_crypto, on_close, &fs};
    unsigned seen = 0;
    CHECK(pqt_quic_frames(payload, payload_len, &sink, &seen) == 0);
    CHECK(fs.n == 1 && fs.off[0] == 0);
    CHECK(fs.len[0] == (server ? 90u : 241u) && fs.first[0] == (server ? 2 : 1));
    CHECK(seen == (server ? (PQT_QUIC_F_ACK | PQT_QUIC_F_CRYPTO)
                          : (PQT_QUIC_F_CRYPTO | PQT_QUIC_F_PADDING)));
    /* Sealing the plaintext gives the RFC's protected packet again. */
    CHECK(pqt_quic_seal(op, &keys[server], out, h.pn_offset, hdr_len - h.pn_offset, pn, payload,
                        payload_len, again) == 0);
    CHECK(memcmp(again, pkt, n) == 0);
    /* The other direction's keys, or the other version's, do not open it. */
    CHECK(pqt_quic_open(op, &keys[1 - server], pkt, &h, -1, out, &pn, &payload, &payload_len) ==
          PQT_ERR_CRYPTO_LIB);
    pqt_quic_keys other;
    CHECK(pqt_quic_initial_keys(version == PQT_QUIC_V1 ? PQT_QUIC_V2 : PQT_QUIC_V1, dcid, 8,
                                server ? NULL : &other, server ? &other : NULL) == 0);
    CHECK(pqt_quic_open(op, &other, pkt, &h, -1, out, &pn, &payload, &payload_len) ==
          PQT_ERR_CRYPTO_LIB);
    /* One flipped ciphertext bit fails the tag. */
    pkt[n - 40] ^= 1;
    CHECK(pqt_quic_open(op, &keys[server], pkt, &h, -1, out, &pn, &payload, &payload_len) ==
          PQT_ERR_CRYPTO_LIB);
    pkt[n - 40] ^= 1;
    /* A packet number decoded against a larger one (RFC 9000 §A.3). */
    unsigned bits = (unsigned)(8 * (hdr_len - h.pn_offset));
    CHECK(pqt_quic_open(op, &keys[server], pkt, &h, ((int64_t)1 << bits) + 10, out, &pn, &payload,
                        &payload_len) == PQT_ERR_CRYPTO_LIB); /* another nonce */
    CHECK(pn == ((uint64_t)1 << bits) + want_pn);
    /* Every shorter datagram: an error, never a read past the end. */
    for (size_t cut = 0; cut < n; cut += (cut < 64 ? 1 : 97)) {
        pqt_quic_header hc;
        int ret = pqt_quic_parse_header(pkt, cut, &hc);
        CHECK(ret != 0);
    }
    /* A packet whose Length leaves no room for the sample. */
    pqt_quic_header hs = h;
    hs.len = h.pn_offset + 19;
    CHECK(pqt_quic_open(op, &keys[server], pkt, &hs, -1, out, &pn, &payload, &payload_len) ==
          PQT_ERR_TRUNCATED);
}

static void test_rfc_packets(void)
{
    pqt_quic_opener *op = NULL;
    CHECK(pqt_quic_opener_new(&op) == 0);
    if (op == NULL) {
        return;
    }
    /* RFC 9001 A.2, A.3 */
    check_packet(op, PQT_QUIC_V1, V1_CLIENT, 0, "c300000001088394c8f03e5157080000449e00000002", 2,
                 CLIENT_PAYLOAD, 917);
    check_packet(op, PQT_QUIC_V1, V1_SERVER, 1, "c1000000010008f067a5502a4262b50040750001", 1,
                 SERVER_PAYLOAD, 0);
    /* RFC 9369 A.2, A.3 */
    check_packet(op, PQT_QUIC_V2, V2_CLIENT, 0, "d36b3343cf088394c8f03e5157080000449e00000002", 2,
                 CLIENT_PAYLOAD, 917);
    check_packet(op, PQT_QUIC_V2, V2_SERVER, 1, "d16b3343cf0008f067a5502a4262b50040750001", 1,
                 SERVER_PAYLOAD, 0);
    pqt_quic_opener_free(op);
}

static void test_headers(void)
{
    uint8_t p[256];
    pqt_quic_header h;
    /* Version Negotiation (RFC 9000 §17.2.1): two versions. */
    const char *vn = "800000000000"
                     "0408090a0b"
                     "000000010000000200000001";
    size_t n = unhex(vn, p, sizeof(p));
    /* dcid_len 0, scid_len 4 ... */
    CHECK(pqt_quic_parse_header(p, n, &h) == 0 && h.type == PQT_QUIC_PKT_VN && h.version == 0);
    CHECK(h.dcid_len == 0 && h.scid_len == 4 && h.n_versions == 3 && h.len == n);
    CHECK(pqt_quic_parse_header(p, n - 1, &h) == PQT_ERR_SYNTAX); /* not whole versions */
    /* Retry, v1 (RFC 9001 A.4): token "token", then the integrity tag. */
    n = unhex("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba", p,
              sizeof(p));
    CHECK(pqt_quic_parse_header(p, n, &h) == 0 && h.type == PQT_QUIC_PKT_RETRY);
    CHECK(h.scid_len == 8 && h.token_len == 5 && memcmp(h.token, "token", 5) == 0);
    /* v2 Retry has type bits 00 (RFC 9369 §3.2). */
    n = unhex("cf6b3343cf0008f067a5502a4262b5746f6b656ec8646ce8bfe33952d955543665dcc7b6", p,
              sizeof(p));
    CHECK(pqt_quic_parse_header(p, n, &h) == 0 && h.type == PQT_QUIC_PKT_RETRY);
    CHECK(h.version == PQT_QUIC_V2);
    /* A short header takes the rest of the datagram. */
    p[0] = 0x40;
    CHECK(pqt_quic_parse_header(p, 30, &h) == 0 && h.type == PQT_QUIC_PKT_SHORT && h.len == 30);
    /* An unknown version: CIDs read, the rest taken. */
    n = unhex("c0ff00001d0401020304000102", p, sizeof(p));
    CHECK(pqt_quic_parse_header(p, n, &h) == 0 && h.type == PQT_QUIC_PKT_UNKNOWN);
    CHECK(h.dcid_len == 4 && h.len == n);
    /* A 21-byte CID in v1 is malformed; in an unknown version unsupported. */
    memset(p, 0, sizeof(p));
    p[0] = 0xc0;
    p[4] = 1;
    p[5] = 21;
    CHECK(pqt_quic_parse_header(p, 100, &h) == PQT_ERR_SYNTAX);
    p[4] = 7;
    CHECK(pqt_quic_parse_header(p, 100, &h) == PQT_ERR_UNSUPPORTED);
    CHECK(pqt_quic_parse_header(p, 0, &h) == PQT_ERR_UNSUPPORTED);
    /* Two coalesced packets: an Initial and a Handshake packet. */
    n = unhex("c0000000010000000400000000"
              "e0000000010000"
              "04aabbccdd",
              p, sizeof(p));
    /* Initial: dcid 0, scid 0, token 0, length 4, then the Handshake packet. */
    CHECK(pqt_quic_parse_header(p, n, &h) == 0 && h.type == PQT_QUIC_PKT_INITIAL);
    CHECK(h.pn_offset == 9 && h.len == 13);
    pqt_quic_header h2;
    CHECK(pqt_quic_parse_header(p + h.len, n - h.len, &h2) == 0);
    CHECK(h2.type == PQT_QUIC_PKT_HANDSHAKE && h2.len == n - h.len);
    /* A Length beyond the datagram, a token length beyond it. */
    p[8] = 0x3f;
    CHECK(pqt_quic_parse_header(p, n, &h) == PQT_ERR_TRUNCATED);
    p[7] = 0x80; /* 4-byte token-length varint 0x80000000... */
    CHECK(pqt_quic_parse_header(p, n, &h) == PQT_ERR_TRUNCATED);
}

static void test_varint(void)
{
    /* RFC 9000 §A.1 sample decodings. */
    static const struct {
        const char *hex;
        uint64_t v;
    } cases[] = {
        {"c2197c5eff14e88c", 151288809941952652ull},
        {"9d7f3e7d", 494878333},
        {"7bbd", 15293},
        {"25", 37},
        {"4025", 37},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t b[8];
        size_t n = unhex(cases[i].hex, b, sizeof(b));
        pqt_reader r = pqt_reader_make(b, n);
        uint64_t v = 0;
        CHECK(pqt_quic_varint(&r, &v) == 0 && v == cases[i].v && pqt_reader_left(&r) == 0);
        r = pqt_reader_make(b, n - 1);
        CHECK(n == 1 || pqt_quic_varint(&r, &v) == PQT_ERR_TRUNCATED);
    }
}

static void test_frames(void)
{
    uint8_t p[256];
    frames_seen fs;
    pqt_quic_frame_sink sink = {on_crypto, on_close, &fs};
    unsigned seen;
    size_t n;
    /* PING, PADDING, CRYPTO at offset 5 ("abc"), ACK with ECN and one
     * range, CONNECTION_CLOSE with 0x128 (TLS alert 40) and a reason. */
    memset(&fs, 0, sizeof(fs));
    n = unhex("01000006050361626303050001010101000000"
              "1c412806026869",
              p, sizeof(p));
    CHECK(pqt_quic_frames(p, n, &sink, &seen) == 0);
    CHECK(fs.n == 1 && fs.off[0] == 5 && fs.len[0] == 3 && fs.first[0] == 'a');
    CHECK(fs.closes == 1 && fs.close_code == 0x128);
    CHECK(seen == (PQT_QUIC_F_PING | PQT_QUIC_F_PADDING | PQT_QUIC_F_CRYPTO | PQT_QUIC_F_ACK |
                   PQT_QUIC_F_CLOSE));
    /* A STREAM frame cannot be in an Initial: an error after what came
     * before was delivered. */
    memset(&fs, 0, sizeof(fs));
    n = unhex("060001780800", p, sizeof(p));
    CHECK(pqt_quic_frames(p, n, &sink, &seen) == PQT_ERR_SYNTAX && fs.n == 1);
    /* CRYPTO longer than the payload; an offset at 2^62 - 1. */
    n = unhex("0600056162", p, sizeof(p));
    CHECK(pqt_quic_frames(p, n, &sink, &seen) == PQT_ERR_TRUNCATED);
    n = unhex("06ffffffffffffffff0161", p, sizeof(p));
    CHECK(pqt_quic_frames(p, n, &sink, &seen) == PQT_ERR_SYNTAX);
    /* An ACK claiming 2^62 ranges ends at the payload's end, at once. */
    n = unhex("020000bfffffffffffffff000000", p, sizeof(p));
    CHECK(pqt_quic_frames(p, n, &sink, &seen) == PQT_ERR_TRUNCATED);
    /* Only padding. */
    memset(p, 0, 64);
    CHECK(pqt_quic_frames(p, 64, &sink, &seen) == 0 && seen == PQT_QUIC_F_PADDING);
}

static void test_crypto_reasm(void)
{
    pqt_budget mem = {0, 1u << 20, 0, NULL, NULL, NULL};
    pqt_budget b = {0, 1u << 20, 0, &mem, NULL, NULL};
    pqt_quic_crypto c;
    uint8_t data[3000];
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 7 + 1);
    }
    memset(&c, 0, sizeof(c));
    /* Chrome's order: a later piece first, then the start, then the middle
     * overlapping both. */
    CHECK(pqt_quic_crypto_add(&c, &b, 4096, 2000, data + 2000, 1000) == PQT_QUIC_C_OUT_OF_ORDER);
    CHECK(c.contig == 0 && c.n_ranges == 1);
    CHECK(pqt_quic_crypto_add(&c, &b, 4096, 0, data, 900) == 0);
    CHECK(c.contig == 900 && c.n_ranges == 2);
    CHECK(pqt_quic_crypto_add(&c, &b, 4096, 800, data + 800, 1300) == PQT_QUIC_C_OVERLAP);
    CHECK(c.contig == 3000 && c.n_ranges == 1 && memcmp(c.buf, data, 3000) == 0);
    CHECK(b.used == c.cap && c.cap == 4096 && mem.used == pqt_heap_cost(4096));
    /* The first copy wins. */
    uint8_t other[10] = {0};
    CHECK(pqt_quic_crypto_add(&c, &b, 4096, 10, other, 10) == PQT_QUIC_C_OVERLAP);
    CHECK(memcmp(c.buf, data, 3000) == 0);
    /* Beyond the limit: cut, or dropped; never buffered. */
    CHECK(pqt_quic_crypto_add(&c, &b, 4096, 3000, data, 2000) == PQT_QUIC_C_TOO_FAR);
    CHECK(c.contig == 4096 && c.cap == 4096);
    CHECK(pqt_quic_crypto_add(&c, &b, 4096, (uint64_t)1 << 61, data, 10) == PQT_QUIC_C_TOO_FAR);
    pqt_quic_crypto_free(&c, &b);
    CHECK(b.used == 0 && mem.used == 0 && c.buf == NULL);
    /* Holes: at most PQT_QUIC_MAX_RANGES ranges are kept. */
    unsigned bits = 0;
    for (int i = 0; i < 40; i++) {
        bits |= pqt_quic_crypto_add(&c, &b, 65536, 100 + (uint64_t)i * 20, data, 10);
    }
    CHECK((bits & PQT_QUIC_C_RANGES) && c.n_ranges == PQT_QUIC_MAX_RANGES);
    /* Filling the holes merges them. */
    CHECK(pqt_quic_crypto_add(&c, &b, 65536, 0, data, 1000) == PQT_QUIC_C_OVERLAP);
    CHECK(c.n_ranges == 1 && c.contig == 1000);
    pqt_quic_crypto_free(&c, &b);
    /* A budget too small: dropped and said so. */
    pqt_budget tiny = {0, 1000, 0, NULL, NULL, NULL};
    CHECK(pqt_quic_crypto_add(&c, &tiny, 65536, 0, data, 100) == PQT_QUIC_C_BUDGET);
    CHECK(c.buf == NULL && tiny.used == 0);
    /* Endless data at growing offsets stays within the limit. */
    for (uint64_t off = 0; off < 1000000; off += 1000) {
        (void)pqt_quic_crypto_add(&c, &b, 16384, off, data, 1000);
    }
    CHECK(c.cap == 16384 && c.contig == 16384 && b.used == 16384);
    pqt_quic_crypto_free(&c, &b);
}

int main(void)
{
    test_keys();
    test_rfc_packets();
    test_headers();
    test_varint();
    test_frames();
    test_crypto_reasm();
    printf("checks %d failures %d\n", checks, failures);
    return failures != 0;
}
