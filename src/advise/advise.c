#define _POSIX_C_SOURCE 200809L
/*
 * Counting: every handshake record the observer reports is put under its
 * service (server address, port, SNI), its ClientHello replayed against
 * the server model at each stage (select.c), its client family and its
 * network path counted beside it. Services live in an open-addressing
 * table keyed by the binary address, port and SNI (nothing is formatted
 * per handshake); what a service holds is bounded (ADV_SERVICE_FAMILIES,
 * ADV_SERVICE_PATHS) and so is the number of services (ADV_MAX_SERVICES,
 * then one "(other)"), so memory does not grow with the capture.
 */
#include <stdlib.h>
#include <string.h>

#include "adv_internal.h"
#include "pqtls/common.h"
#include "pqtls/groups.h"

int pqt_adv_new(const pqt_adv_config *cfg, pqt_adv **out)
{
    if (cfg == NULL || out == NULL) {
        return PQT_ERR_ARG;
    }
    pqt_adv *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        return PQT_ERR_NOMEM;
    }
    a->cfg = *cfg;
    if (a->cfg.prefix_v4 == 0 || a->cfg.prefix_v4 > 32) {
        a->cfg.prefix_v4 = 24;
    }
    if (a->cfg.prefix_v6 == 0 || a->cfg.prefix_v6 > 128) {
        a->cfg.prefix_v6 = 48;
    }
    if (a->cfg.max_hrr_pct <= 0) {
        a->cfg.max_hrr_pct = 10;
    }
    a->cap = 256;
    a->slot = calloc(a->cap, sizeof(*a->slot));
    a->family[0] = strdup("(other)");
    a->n_family = 1;
    /* The table is keyed by what the traffic says (addresses, SNI): a seed
     * per run keeps crafted names from piling onto one probe sequence. */
    if (a->slot == NULL || a->family[0] == NULL ||
        pqt_random_bytes((uint8_t *)&a->seed, sizeof(a->seed)) != 0) {
        pqt_adv_free(a);
        return PQT_ERR_NOMEM;
    }
    *out = a;
    return 0;
}

static void service_free(adv_service *s)
{
    if (s != NULL) {
        free(s->fam);
        free(s->path);
        free(s);
    }
}

void pqt_adv_free(pqt_adv *a)
{
    if (a == NULL) {
        return;
    }
    for (size_t i = 0; a->slot != NULL && i < a->cap; i++) {
        service_free(a->slot[i]);
    }
    free(a->slot);
    service_free(a->other);
    for (size_t i = 0; i < a->n_family; i++) {
        free(a->family[i]);
    }
    free(a);
}

int pqt_adv_error(const pqt_adv *a)
{
    return a == NULL ? PQT_ERR_ARG : a->err;
}

/* Seeded FNV-1a over the key, with a final avalanche (the low bits index). */
static uint64_t mix(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 0x100000001b3ull;
    }
    return h;
}

static uint64_t key_hash(uint64_t seed, const adv_service *k)
{
    uint8_t head[21];
    head[0] = k->ip_version;
    memcpy(head + 1, k->server, 16);
    head[17] = (uint8_t)(k->port >> 8);
    head[18] = (uint8_t)k->port;
    head[19] = (uint8_t)k->has_sni;
    head[20] = k->transport;
    uint64_t h = mix(seed ^ 0xcbf29ce484222325ull, head, sizeof(head));
    h = mix(h, k->sni, k->sni_len);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static int key_eq(const adv_service *a, const adv_service *b)
{
    return a->hash == b->hash && a->ip_version == b->ip_version && a->port == b->port &&
           a->transport == b->transport && a->has_sni == b->has_sni && a->sni_len == b->sni_len &&
           memcmp(a->server, b->server, 16) == 0 && memcmp(a->sni, b->sni, a->sni_len) == 0;
}

static int grow(pqt_adv *a)
{
    size_t cap = a->cap * 2;
    adv_service **slot = calloc(cap, sizeof(*slot));
    if (slot == NULL) {
        return PQT_ERR_NOMEM;
    }
    for (size_t i = 0; i < a->cap; i++) {
        if (a->slot[i] != NULL) {
            size_t j = (size_t)a->slot[i]->hash & (cap - 1);
            while (slot[j] != NULL) {
                j = (j + 1) & (cap - 1);
            }
            slot[j] = a->slot[i];
        }
    }
    free(a->slot);
    a->slot = slot;
    a->cap = cap;
    return 0;
}

static adv_service *service_of(pqt_adv *a, const pqt_obs_handshake *hs)
{
    adv_service k;
    k.ip_version = hs->ip_version;
    memcpy(k.server, hs->server, 16);
    k.port = hs->server_port;
    k.transport = (uint8_t)hs->transport;
    k.has_sni = hs->has_ch && hs->ch.sni != NULL;
    k.sni_len = k.has_sni ? (uint16_t)(hs->ch.sni_len > 255 ? 255 : hs->ch.sni_len) : 0;
    if (k.sni_len > 0) {
        memcpy(k.sni, hs->ch.sni, k.sni_len);
    }
    k.hash = key_hash(a->seed, &k);
    size_t i = (size_t)k.hash & (a->cap - 1);
    while (a->slot[i] != NULL) {
        if (key_eq(a->slot[i], &k)) {
            return a->slot[i];
        }
        i = (i + 1) & (a->cap - 1);
    }
    if (a->used >= ADV_MAX_SERVICES) {
        if (a->other == NULL) {
            a->other = calloc(1, sizeof(*a->other));
            if (a->other == NULL) {
                a->err = PQT_ERR_NOMEM;
            }
        }
        return a->other;
    }
    adv_service *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        a->err = PQT_ERR_NOMEM;
        return NULL;
    }
    s->ip_version = k.ip_version;
    memcpy(s->server, k.server, 16);
    s->port = k.port;
    s->transport = k.transport;
    s->has_sni = k.has_sni;
    s->sni_len = k.sni_len;
    memcpy(s->sni, k.sni, k.sni_len);
    s->hash = k.hash;
    a->slot[i] = s;
    a->used++;
    if (a->used * 2 > a->cap && grow(a) != 0) {
        a->err = PQT_ERR_NOMEM; /* still counted, the table is only fuller */
    }
    return s;
}

/* The id of a family name: the observer hands out the same few pointers
 * (its table's names), so a small pointer cache answers nearly always. */
static uint16_t family_id(pqt_adv *a, const char *name)
{
    if (name == NULL) {
        name = "unknown";
    }
    size_t c = ((uintptr_t)name >> 4) & 15;
    if (a->fam_cache[c].ptr == name) {
        return a->fam_cache[c].id;
    }
    uint16_t id = ADV_OTHER_FAMILY;
    size_t i = 1;
    while (i < a->n_family && strcmp(a->family[i], name) != 0) {
        i++;
    }
    if (i < a->n_family) {
        id = (uint16_t)i;
    } else if (a->n_family < ADV_MAX_FAMILIES) {
        a->family[a->n_family] = strdup(name);
        if (a->family[a->n_family] == NULL) {
            a->err = PQT_ERR_NOMEM;
            return ADV_OTHER_FAMILY;
        }
        id = (uint16_t)a->n_family++;
    }
    a->fam_cache[c].ptr = name;
    a->fam_cache[c].id = id;
    return id;
}

static adv_family_count *family_count(pqt_adv *a, adv_service *s, uint16_t id)
{
    for (size_t i = 0; i < s->n_fam; i++) {
        if (s->fam[i].id == id) {
            return &s->fam[i];
        }
    }
    if (s->n_fam >= ADV_SERVICE_FAMILIES - 1 && id != ADV_OTHER_FAMILY) {
        return family_count(a, s, ADV_OTHER_FAMILY); /* the last place is "(other)"'s */
    }
    if (s->n_fam == s->cap_fam) {
        size_t cap = s->cap_fam ? s->cap_fam * 2 : 4;
        adv_family_count *f = realloc(s->fam, cap * sizeof(*f));
        if (f == NULL) {
            a->err = PQT_ERR_NOMEM;
            return NULL;
        }
        s->fam = f;
        s->cap_fam = cap;
    }
    adv_family_count *f = &s->fam[s->n_fam++];
    memset(f, 0, sizeof(*f));
    f->id = id;
    return f;
}

static adv_path_count *path_count(pqt_adv *a, adv_service *s, const pqt_obs_handshake *hs)
{
    adv_path_count k;
    memset(&k, 0, sizeof(k));
    k.ip_version = hs->ip_version;
    k.plen = (uint8_t)(hs->ip_version == 4 ? a->cfg.prefix_v4 : a->cfg.prefix_v6);
    for (unsigned bit = 0; bit < k.plen; bit += 8) {
        unsigned left = k.plen - bit;
        k.prefix[bit / 8] =
            (uint8_t)(hs->client[bit / 8] & (left >= 8 ? 0xff : 0xff << (8 - left)));
    }
    for (size_t i = 0; i < s->n_path; i++) {
        adv_path_count *p = &s->path[i];
        if (p->ip_version == k.ip_version && p->plen == k.plen &&
            memcmp(p->prefix, k.prefix, 16) == 0) {
            return p;
        }
    }
    if (s->n_path >= ADV_SERVICE_PATHS - 1) {
        memset(&k, 0, sizeof(k)); /* "(other)": ip_version 0 */
        for (size_t i = 0; i < s->n_path; i++) {
            if (s->path[i].ip_version == 0) {
                return &s->path[i];
            }
        }
    }
    if (s->n_path == s->cap_path) {
        size_t cap = s->cap_path ? s->cap_path * 2 : 2;
        adv_path_count *p = realloc(s->path, cap * sizeof(*p));
        if (p == NULL) {
            a->err = PQT_ERR_NOMEM;
            return NULL;
        }
        s->path = p;
        s->cap_path = cap;
    }
    s->path[s->n_path] = k;
    return &s->path[s->n_path++];
}

void pqt_adv_add(pqt_adv *a, const pqt_obs_handshake *hs)
{
    if (a == NULL || hs == NULL) {
        return;
    }
    adv_service *s = service_of(a, hs);
    if (s == NULL) {
        return;
    }
    s->handshakes++;
    s->apps |= 1u << (unsigned)hs->app_protocol;
    int pq = hs->group_source != PQT_OBS_GROUP_NONE && pqt_group_is_pq(hs->group);
    s->observed_hybrid += (unsigned)pq;
    s->observed_hrr += (unsigned)(hs->hrr != 0);
    s->observed_hrr_hybrid += (unsigned)(hs->hrr && pqt_group_is_pq(hs->hrr_group));
    s->completed += hs->outcome == PQT_OBS_COMPLETED;
    /* RST or FIN while the server had sent nothing since the ClientHello,
     * or for QUIC no packet at all: the middlebox signature (docs/observe.md,
     * Outcomes). A large hello is one carried by more than one TCP segment
     * or UDP datagram. */
    int failed = hs->outcome == PQT_OBS_RESET_AFTER_CH || hs->outcome == PQT_OBS_CLOSED_AFTER_CH ||
                 (hs->transport == PQT_OBS_QUIC && hs->outcome == PQT_OBS_NO_ANSWER);
    int large = hs->ch_segments > 1;
    s->failed_after_ch += (unsigned)failed;
    s->large += (unsigned)large;
    s->failed_large += (unsigned)(large && failed);
    adv_path_count *p = path_count(a, s, hs);
    if (p != NULL) {
        p->handshakes++;
        p->large += (unsigned)large;
        p->failed_large += (unsigned)(large && failed);
        p->failed_small += (unsigned)(!large && failed);
    }
    if (!hs->has_ch) {
        return; /* nothing to replay: a hello cut, too big or malformed */
    }
    pqt_adv_hello h;
    pqt_adv_hello_from_client(&hs->ch, &h);
    s->replayed++;
    s->tls12 += (unsigned)!h.tls13;
    adv_family_count *f = family_count(a, s, family_id(a, hs->client_family));
    if (f != NULL) {
        f->total++;
    }
    for (int st = 0; st < PQT_ADV_N_STAGES; st++) {
        pqt_adv_choice c;
        pqt_adv_select(&a->cfg.server, (pqt_adv_stage)st, &h, &c);
        s->st[st].hybrid += (unsigned)c.hybrid;
        s->st[st].hrr += (unsigned)c.hrr;
        s->st[st].refused += (unsigned)c.refused;
        if (f != NULL) {
            f->st[st].hybrid += (unsigned)c.hybrid;
            f->st[st].hrr += (unsigned)c.hrr;
            f->st[st].refused += (unsigned)c.refused;
        }
    }
}
