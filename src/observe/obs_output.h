/* Shared by output.c and agg.c: a handshake as it is written out, with
 * addresses, prefixes and SNI already pseudonymised when asked to. */
#ifndef PQTLS_OBS_OUTPUT_H
#define PQTLS_OBS_OUTPUT_H

#include "pqtls/observe.h"

typedef struct {
    char client[64], server[64];
    char client_prefix[72], server_prefix[72];
    const uint8_t *sni;
    size_t sni_len;
    char sni_pseudo[PQT_PSEUDONYM_NAME_SIZE];
} obs_view;

int pqt_obs_view_init(obs_view *v, const pqt_obs_handshake *hs, const pqt_obs_output_opts *opts);

#endif
