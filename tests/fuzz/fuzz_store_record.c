/*
 * Fuzz the store's reader of stored pqtls-scan/1 records
 * (pqt_store_record_parse, src/store/record.c): the rows `pqtls history`
 * reads back are bytes from a database file anyone may have edited.
 *
 * Input: one record, in an exact-size buffer so AddressSanitizer sees any
 * over-read. Properties: nothing crashes or reads outside the input; a
 * failure says why; a record that parses, written again by the scanner's
 * own writer (pqt_scan_write_jsonl), parses again and is written to the
 * same bytes (the reader and the writer agree on every field they share).
 */
#define _GNU_SOURCE /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pqtls/scan.h"
#include "pqtls/store.h"

/* The scanner's JSON Lines record of r, malloc'd, or NULL. */
static char *write_record(const pqt_scan_result *r, size_t *len)
{
    char *buf = NULL;
    FILE *m = open_memstream(&buf, len);
    FUZZ_CHECK(m != NULL);
    int ret = pqt_scan_write_jsonl(m, r);
    FUZZ_CHECK(fclose(m) == 0);
    if (ret != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size ? size : 1);
    FUZZ_CHECK(in != NULL);
    memcpy(in, data, size);
    static pqt_store_record rec, again;
    const char *why = NULL;
    int ret = pqt_store_record_parse(in, size, &rec, &why);
    if (ret != 0) {
        FUZZ_CHECK(why != NULL && why[0] != 0);
        free(in);
        return 0;
    }
    size_t n1 = 0, n2 = 0;
    char *once = write_record(&rec.result, &n1);
    if (once != NULL) {
        FUZZ_CHECK(pqt_store_record_parse(once, n1, &again, &why) == 0);
        char *twice = write_record(&again.result, &n2);
        FUZZ_CHECK(twice != NULL && n1 == n2 && memcmp(once, twice, n1) == 0);
        free(twice);
    }
    free(once);
    free(in);
    return 0;
}
