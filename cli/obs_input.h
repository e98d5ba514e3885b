/* Captures into the passive observer, for the commands built on it
 * (observe, advise): files and standard input, or a live interface. */
#ifndef PQTLS_CLI_OBS_INPUT_H
#define PQTLS_CLI_OBS_INPUT_H

#include <signal.h>
#include <stdint.h>

#include "pqtls/observe.h"

/* "\rpqtls: CMD: N packets, M handshakes" on standard error. */
void cli_obs_progress(const char *cmd, const pqt_obs_stats *st, int final);

/*
 * Read one capture file ("-": standard input) into obs, frame by frame,
 * until its end or until *stop is set. Errors are printed, naming the
 * file. Returns CLI_EXIT_OK, CLI_EXIT_FAILED (not a capture, or truncated
 * or corrupt: the frames before the damage were fed), CLI_EXIT_IO (cannot
 * open) or CLI_EXIT_UNSUPPORTED (link type).
 */
int cli_obs_feed_file(const char *cmd, pqt_obs *obs, const char *path, int show_progress,
                      volatile sig_atomic_t *stop);

/*
 * Capture on iface (BPF filter bpf, "" for none) into obs until *stop is
 * set, duration_s seconds have passed (0: no limit) or count handshakes
 * were seen (0: no limit); idle flows are expired as time passes.
 * *dropped receives the kernel's drop count. Returns CLI_EXIT_OK,
 * CLI_EXIT_USAGE (bad filter), CLI_EXIT_UNSUPPORTED (cannot capture) or
 * CLI_EXIT_IO.
 */
int cli_obs_feed_live(const char *cmd, pqt_obs *obs, const char *iface, const char *bpf,
                      int promisc, uint64_t duration_s, uint64_t count, volatile sig_atomic_t *stop,
                      uint64_t *dropped);

/* The built-in client families, with --families FILE before them (path
 * NULL: none). Errors are printed; returns a CLI_EXIT_* code. */
int cli_obs_load_families(const char *cmd, const char *path, pqt_obs_families **fam);

#endif
