/*
 * CHECK for the observer's unit programs (tests/observe/test_*.c, one per
 * module): CHECK(condition) counts the check and, when the condition is
 * false, the failure, and prints the file, line and condition on stderr.
 * Each program prints `checks` and `failures` at the end and exits nonzero
 * if any failed. Also put16, the big-endian writer of the synthetic
 * inputs. Include it once, from the test's own .c file.
 */
#ifndef PQT_TESTS_OBS_CHECK_H
#define PQT_TESTS_OBS_CHECK_H

#include <stdint.h>
#include <stdio.h>

static int failures, checks;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        checks++;                                                                    \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

#endif
