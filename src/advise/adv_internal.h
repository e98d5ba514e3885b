/* Shared by advise.c (counting) and output.c (writing): the per-service
 * counts and the verdict. */
#ifndef PQTLS_ADV_INTERNAL_H
#define PQTLS_ADV_INTERNAL_H

#include "pqtls/advise.h"

#define ADV_MAX_FAMILIES 256    /* distinct family names; later ones are "(other)" */
#define ADV_SERVICE_FAMILIES 32 /* per service; later ones count as "(other)" */
#define ADV_SERVICE_PATHS 32    /* client prefixes per service; later ones "(other)" */
#define ADV_MAX_SERVICES 65536  /* later services are folded into one "(other)" */
#define ADV_OTHER_FAMILY 0      /* family id 0 is "(other)" */

typedef struct {
    uint64_t hybrid, hrr, refused;
} adv_stage_count;

typedef struct {
    uint16_t id;    /* index into pqt_adv.family */
    uint64_t total; /* replayed handshakes of this family */
    adv_stage_count st[PQT_ADV_N_STAGES];
} adv_family_count;

typedef struct {
    uint8_t ip_version; /* 0: "(other)" */
    uint8_t plen;
    uint8_t prefix[16];
    uint64_t handshakes, large, failed_large, failed_small;
} adv_path_count;

typedef struct {
    /* The key: server address, port, transport and SNI (as seen, at most
     * 255 bytes). */
    uint8_t ip_version; /* 0: the "(other)" service */
    uint8_t server[16];
    uint16_t port;
    uint8_t transport; /* pqt_obs_transport: HTTPS over TCP and HTTP/3 are two services */
    uint16_t sni_len;
    int has_sni;
    uint8_t sni[255];
    uint64_t hash;

    uint64_t handshakes, replayed, tls12;
    uint64_t observed_hybrid, observed_hrr, observed_hrr_hybrid;
    uint64_t completed, failed_after_ch;
    uint64_t large, failed_large; /* hellos over one TCP segment; and then failed */
    unsigned apps;                /* 1 << pqt_obs_app_protocol */
    adv_stage_count st[PQT_ADV_N_STAGES];
    adv_family_count *fam; /* grown as families appear, at most ADV_SERVICE_FAMILIES */
    size_t n_fam, cap_fam;
    adv_path_count *path; /* at most ADV_SERVICE_PATHS */
    size_t n_path, cap_path;
} adv_service;

struct pqt_adv {
    pqt_adv_config cfg;
    adv_service **slot; /* open addressing, cap a power of two */
    size_t cap, used;
    adv_service *other; /* services past ADV_MAX_SERVICES */
    char *family[ADV_MAX_FAMILIES];
    size_t n_family;
    struct {
        const char *ptr;
        uint16_t id;
    } fam_cache[16];
    uint64_t seed;
    int err;
};

/* The verdict for a service: the stage it seems to be at, the next one,
 * and whether it is ready for it, with the reasons in numbers. */
#define ADV_MAX_REASONS 6
typedef struct {
    int current; /* -1: classical (no hybrid seen), else the stage seen */
    int next;    /* the stage judged */
    int ready;
    size_t n_reasons;
    char reason[ADV_MAX_REASONS][512];
    char text[1024];
} adv_verdict;

void adv_verdict_of(const pqt_adv *a, const adv_service *s, adv_verdict *v);
/* Services by handshakes, most first (ties by key); NULL when out of memory. */
adv_service **adv_sorted_services(const pqt_adv *a, size_t *n);
/* Families of a service by count within a stage column: which = 0 hybrid,
 * 1 hrr, 2 refused, 3 all replayed; returns how many have a non-zero count. */
size_t adv_families_by(const pqt_adv *a, const adv_service *s, int stage, int which,
                       const adv_family_count *out[ADV_SERVICE_FAMILIES]);
uint64_t adv_stage_value(const adv_stage_count *c, int which);
/* "192.0.2.7", "2001:db8::1", "(other)". */
void adv_server_text(const adv_service *s, char out[64]);
/* "203.0.113.0/24", "(other)". */
void adv_path_text(const adv_path_count *p, char out[80]);
double adv_pct(uint64_t part, uint64_t whole);

#endif
