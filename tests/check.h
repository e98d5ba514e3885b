/*
 * CHECK for the C test programs: CHECK(condition, printf-style message)
 * counts the check and, when the condition is false, the failure, and
 * prints the first 50 failures with file and line on stderr (a failing loop
 * over thousands of inputs would bury the first one). The program reports
 * `failures` (and `checks`) at the end and exits nonzero if any failed.
 * Include it once, from the test's own .c file.
 */
#ifndef PQT_TESTS_CHECK_H
#define PQT_TESTS_CHECK_H

#include <stdio.h>

static int failures, checks;

#define CHECK(cond, ...)                                         \
    do {                                                         \
        checks++;                                                \
        if (!(cond) && failures++ < 50) {                        \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                        \
            fputc('\n', stderr);                                 \
        }                                                        \
    } while (0)

#endif
