/* The JSON writer: structure, escaping of hostile strings, error handling. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/json.h"

static int failures;

static void expect(const char *what, const char *got, const char *want)
{
    if (strcmp(got, want) != 0) {
        failures++;
        printf("FAIL %s:\n  got  %s\n  want %s\n", what, got, want);
    }
}

/* Run a writer into a memory buffer and return its text. */
static char out[4096];
static FILE *mem(void)
{
    memset(out, 0, sizeof(out));
    return fmemopen(out, sizeof(out), "w");
}

int main(void)
{
    pqt_json j;
    FILE *f = mem();
    pqt_json_init(&j, f);
    pqt_json_object_begin(&j);
    pqt_json_kv_string(&j, "target", "a.example:443");
    pqt_json_kv_int(&j, "n", -3);
    pqt_json_key(&j, "flags");
    pqt_json_array_begin(&j);
    pqt_json_string(&j, "legacy-kyber");
    pqt_json_uint(&j, 7);
    pqt_json_null(&j);
    pqt_json_array_end(&j);
    pqt_json_key(&j, "ms");
    pqt_json_double(&j, 1.25, 2);
    pqt_json_kv_bool(&j, "hrr", 1);
    pqt_json_key(&j, "id");
    pqt_json_hex(&j, (const uint8_t *)"\x11\xec", 2);
    pqt_json_key(&j, "empty");
    pqt_json_object_begin(&j);
    pqt_json_object_end(&j);
    pqt_json_object_end(&j);
    int r = pqt_json_end_line(&j);
    fclose(f);
    expect("record", out,
           "{\"target\":\"a.example:443\",\"n\":-3,\"flags\":[\"legacy-kyber\",7,null],"
           "\"ms\":1.25,\"hrr\":true,\"id\":\"11ec\",\"empty\":{}}\n");
    if (r != 0) {
        failures++, printf("FAIL end_line %d\n", r);
    }

    /* Hostile SNI bytes: quote, backslash, control, DEL, invalid UTF-8,
     * an overlong encoding, valid 2- and 4-byte UTF-8. */
    const uint8_t sni[] = {'a',  '"',  '\\', 0x01, 0x7F, 0xFF, 0xC0,
                           0xAF, 0xC3, 0xA9, 0xF0, 0x9F, 0x94, 0x91};
    f = mem();
    pqt_json_init(&j, f);
    pqt_json_string_n(&j, sni, sizeof(sni));
    r = pqt_json_end_line(&j);
    fclose(f);
    expect("escaping", out,
           "\"a\\\"\\\\\\u0001\\u007f\\u00ff\\u00c0\\u00af\xc3\xa9\xf0\x9f\x94\x91\"\n");

    /* Misuse is reported, not written as broken JSON. */
    f = mem();
    pqt_json_init(&j, f);
    pqt_json_object_begin(&j);
    pqt_json_string(&j, "value without key");
    r = pqt_json_end_line(&j);
    fclose(f);
    if (r != PQT_ERR_ARG) {
        failures++, printf("FAIL value without key gave %d\n", r);
    }
    f = mem();
    pqt_json_init(&j, f);
    pqt_json_array_begin(&j);
    r = pqt_json_end_line(&j);
    fclose(f);
    if (r != PQT_ERR_ARG) {
        failures++, printf("FAIL unclosed array gave %d\n", r);
    }
    f = mem();
    pqt_json_init(&j, f);
    pqt_json_double(&j, 1.0 / 0.0, 2);
    r = pqt_json_end_line(&j);
    fclose(f);
    expect("infinity", out, "null\n");

    printf("test_json: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
    return failures != 0;
}
