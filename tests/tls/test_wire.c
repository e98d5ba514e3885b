/* The bounded reader and the length-prefixing writer (include/pqtls/wire.h). */
#include <stdio.h>
#include <string.h>

#include "pqtls/wire.h"

#include "../check.h"

static void test_reader(void)
{
    const uint8_t buf[] = {0x01, 0x02, 0x03, 0x00, 0x03, 0xAA, 0xBB, 0xCC, 0x02, 0x11};
    pqt_reader r = pqt_reader_make(buf, sizeof(buf)), sub;
    uint8_t b;
    uint16_t w;
    uint32_t u;
    CHECK(pqt_reader_u8(&r, &b) == 0 && b == 1, "u8");
    CHECK(pqt_reader_u16(&r, &w) == 0 && w == 0x0203, "u16");
    CHECK(pqt_reader_vec(&r, 2, &sub) == 0 && pqt_reader_left(&sub) == 3, "vec16");
    CHECK(pqt_reader_close(&sub) == PQT_ERR_TRAILING, "unconsumed sub-reader fails to close");
    CHECK(pqt_reader_skip(&sub, 3) == 0 && pqt_reader_close(&sub) == 0, "consumed sub closes");
    /* vec8 claims 2 bytes but only 1 is left: fails and does not move. */
    const uint8_t *before = r.p;
    CHECK(pqt_reader_vec(&r, 1, &sub) == PQT_ERR_TRUNCATED && r.p == before, "short vec unmoved");
    CHECK(pqt_reader_u24(&r, &u) == PQT_ERR_TRUNCATED && r.p == before, "short u24 unmoved");
    CHECK(pqt_reader_u16(&r, &w) == 0 && w == 0x0211 && pqt_reader_left(&r) == 0, "tail");
    CHECK(pqt_reader_u8(&r, &b) == PQT_ERR_TRUNCATED, "empty reader");
    pqt_reader empty = pqt_reader_make(NULL, 0);
    CHECK(pqt_reader_left(&empty) == 0 && pqt_reader_close(&empty) == 0, "empty");
}

static void test_writer(void)
{
    uint8_t buf[16];
    pqt_writer w;
    size_t len = 0;
    pqt_writer_init(&w, buf, sizeof(buf));
    pqt_writer_u8(&w, 0x16);
    pqt_writer_open(&w, 2);
    pqt_writer_open(&w, 1);
    pqt_writer_u16(&w, 0x0304);
    pqt_writer_close(&w);
    pqt_writer_bytes(&w, "ab", 2);
    pqt_writer_close(&w);
    const uint8_t want[] = {0x16, 0x00, 0x05, 0x02, 0x03, 0x04, 'a', 'b'};
    CHECK(pqt_writer_finish(&w, &len) == 0 && len == sizeof(want) && memcmp(buf, want, len) == 0,
          "nested vectors");

    pqt_writer_init(&w, buf, 4);
    pqt_writer_bytes(&w, "12345", 5);
    CHECK(pqt_writer_finish(&w, &len) == PQT_ERR_LENGTH, "overflow is sticky");

    pqt_writer_init(&w, buf, sizeof(buf));
    pqt_writer_open(&w, 1);
    CHECK(pqt_writer_finish(&w, &len) == PQT_ERR_ARG, "unclosed vector");
    pqt_writer_init(&w, buf, sizeof(buf));
    pqt_writer_close(&w);
    CHECK(pqt_writer_finish(&w, &len) == PQT_ERR_ARG, "close without open");
    pqt_writer_init(&w, buf, sizeof(buf));
    pqt_writer_uint(&w, 1, 256);
    CHECK(pqt_writer_finish(&w, &len) == PQT_ERR_ARG, "value does not fit");

    static uint8_t big[600];
    pqt_writer_init(&w, big, sizeof(big));
    pqt_writer_open(&w, 1);
    pqt_writer_zeros(&w, 256);
    pqt_writer_close(&w);
    CHECK(pqt_writer_finish(&w, &len) == PQT_ERR_LENGTH, "vector longer than its prefix");
}

int main(void)
{
    test_reader();
    test_writer();
    printf("test_wire: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
    return failures != 0;
}
