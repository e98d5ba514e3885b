/*
 * The server models: which group a server picks for a ClientHello, whether
 * it first sends a HelloRetryRequest, or whether it refuses the hello.
 *
 * The rules follow what the servers do, not what a configuration file
 * suggests; the comments name the code each rule comes from. RFC 8446
 * §4.1.1: "If the server selects an (EC)DHE group and the client did not
 * offer a compatible "key_share" extension in the initial ClientHello, the
 * server MUST respond with a HelloRetryRequest message."
 */
#include <stdio.h>
#include <string.h>

#include "pqtls/advise.h"
#include "pqtls/groups.h"

static const char *const stage_names[PQT_ADV_N_STAGES] = {"supported", "preferred", "required"};
static const char *const model_names[PQT_ADV_N_MODELS] = {"openssl30", "openssl35", "hrr",
                                                          "openssl35-serverpref"};

const char *pqt_adv_stage_name(pqt_adv_stage s)
{
    return (unsigned)s < PQT_ADV_N_STAGES ? stage_names[s] : "?";
}

const char *pqt_adv_model_name(pqt_adv_model m)
{
    return (unsigned)m < PQT_ADV_N_MODELS ? model_names[m] : "?";
}

int pqt_adv_model_from_name(const char *name)
{
    for (int i = 0; name != NULL && i < PQT_ADV_N_MODELS; i++) {
        if (strcmp(name, model_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

int pqt_adv_server_init(pqt_adv_server *s, pqt_adv_model m, const char *groups, char *err,
                        size_t errlen)
{
    char name[64];
    size_t n_pq = 0;
    if (s == NULL || (unsigned)m >= PQT_ADV_N_MODELS) {
        return PQT_ERR_ARG;
    }
    memset(s, 0, sizeof(*s));
    s->model = m;
    if (groups == NULL) {
        groups = PQT_ADV_DEFAULT_GROUPS;
    }
    const char *p = groups;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len == 0 || len >= sizeof(name)) {
            snprintf(err, errlen, "'%s': an empty or overlong group name at offset %zu", groups,
                     (size_t)(p - groups));
            return PQT_ERR_SYNTAX;
        }
        memcpy(name, p, len);
        name[len] = 0;
        const pqt_group *g = pqt_group_by_name(name);
        if (g == NULL) {
            snprintf(err, errlen, "'%s' is not a group pqtls knows (e.g. X25519MLKEM768, x25519)",
                     name);
            return PQT_ERR_SYNTAX;
        }
        for (size_t i = 0; i < s->n_groups; i++) {
            if (s->groups[i] == g->code) {
                snprintf(err, errlen, "'%s' is listed twice", name);
                return PQT_ERR_SYNTAX;
            }
        }
        if (s->n_groups == PQT_ADV_MAX_GROUPS) {
            snprintf(err, errlen, "more than %d groups", PQT_ADV_MAX_GROUPS);
            return PQT_ERR_SYNTAX;
        }
        s->groups[s->n_groups++] = g->code;
        n_pq += (size_t)pqt_group_is_pq(g->code);
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    if (n_pq == 0 || n_pq == s->n_groups) {
        snprintf(err, errlen,
                 "'%s' needs at least one hybrid group (X25519MLKEM768, ...) and one "
                 "classical group (x25519, ...) to compare the stages",
                 groups);
        return PQT_ERR_SYNTAX;
    }
    return 0;
}

void pqt_adv_hello_from_client(const pqt_client_hello *ch, pqt_adv_hello *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < ch->n_groups && out->n_groups < PQT_ADV_MAX_CLIENT_GROUPS; i++) {
        uint16_t g = pqt_u16_at(ch->groups, i);
        if (!pqt_tls_is_grease(g)) {
            out->groups[out->n_groups++] = g;
        }
    }
    for (size_t i = 0; i < ch->n_key_shares && i < PQT_HELLO_MAX_KEY_SHARES; i++) {
        if (!pqt_tls_is_grease(ch->key_shares[i].group)) {
            out->shares[out->n_shares++] = ch->key_shares[i].group;
        }
    }
    /* TLS 1.3 (0x0304) or one of its drafts (0x7fxx): key shares and HRR.
     * Without supported_versions the legacy version counts (drafts before
     * 22 put 0x0304 there). */
    for (size_t i = 0; i < ch->n_versions || (i == 0 && ch->n_versions == 0); i++) {
        uint16_t v = ch->n_versions ? pqt_u16_at(ch->versions, i) : ch->legacy_version;
        if (v == 0x0304 || (v >> 8) == 0x7f) {
            out->tls13 = 1;
        }
    }
}

/* The server's groups as one stage arranges them: a list in preference
 * order cut into tuples (OpenSSL 3.5; one tuple for the other models). */
typedef struct {
    uint16_t g[PQT_ADV_MAX_GROUPS];
    size_t n;
    size_t tuple_end[2]; /* end index of each tuple */
    size_t n_tuples;
} stage_groups;

static int is_openssl35(pqt_adv_model m)
{
    return m == PQT_ADV_OPENSSL35 || m == PQT_ADV_OPENSSL35_SERVERPREF;
}

static void arrange(const pqt_adv_server *s, pqt_adv_stage st, stage_groups *out)
{
    memset(out, 0, sizeof(*out));
    /* Two passes: pass 0 takes the hybrid groups, pass 1 the classical.
     * supported puts the classical groups first, except on OpenSSL 3.5:
     * there both kinds share one tuple, where a key share decides before
     * the order does, and hybrid-first makes a server that prefers its own
     * order take a hybrid share too. */
    int first = st == PQT_ADV_SUPPORTED && !is_openssl35(s->model) ? 1 : 0;
    for (int k = 0; k < 2; k++) {
        int want_pq = (first + k) % 2 == 0;
        if (st == PQT_ADV_REQUIRED && !want_pq) {
            break;
        }
        for (size_t i = 0; i < s->n_groups; i++) {
            if (pqt_group_is_pq(s->groups[i]) == want_pq) {
                out->g[out->n++] = s->groups[i];
            }
        }
        /* preferred on OpenSSL 3.5: "?*X25519MLKEM768 / ?*x25519:..." (its
         * default list) -- the hybrid tuple, then the classical one. */
        if (st == PQT_ADV_PREFERRED && is_openssl35(s->model)) {
            out->tuple_end[out->n_tuples++] = out->n;
        }
    }
    if (out->n_tuples == 0) {
        out->tuple_end[out->n_tuples++] = out->n;
    }
}

void pqt_adv_stage_groups(const pqt_adv_server *s, pqt_adv_stage st, char *out, size_t cap)
{
    stage_groups sg;
    size_t n = 0, t = 0;
    if (cap == 0) {
        return;
    }
    out[0] = 0;
    arrange(s, st, &sg);
    for (size_t i = 0; i < sg.n; i++) {
        const char *sep = i == 0 ? "" : ":";
        if (i > 0 && t < sg.n_tuples && i == sg.tuple_end[t]) {
            sep = " / ";
        }
        while (t < sg.n_tuples && i >= sg.tuple_end[t]) {
            t++;
        }
        const char *name = pqt_group_name(sg.g[i]);
        int w = snprintf(out + n, cap - n, "%s%s", sep, name != NULL ? name : "?");
        if (w < 0 || (size_t)w >= cap - n) {
            return;
        }
        n += (size_t)w;
    }
}

static int in_list(uint16_t g, const uint16_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i] == g) {
            return 1;
        }
    }
    return 0;
}

static void choose(pqt_adv_choice *out, uint16_t group, int hrr)
{
    out->group = group;
    out->hrr = hrr;
    out->hybrid = pqt_group_is_pq(group);
}

/*
 * OpenSSL 3.0-3.4, ssl/statem/extensions_srvr.c tls_parse_ctos_key_share:
 * the client's key shares are walked in the client's order and the first
 * one for a group the server has is taken, whatever the server's order
 * ("Skip if we've already found a match"). Without one, final_key_share in
 * ssl/statem/extensions.c looks for "the first group we allow that is also
 * in client's list", in the server's order, and sends an HRR for it.
 */
static void select_openssl30(const stage_groups *sg, const pqt_adv_hello *h, pqt_adv_choice *out)
{
    for (size_t i = 0; i < h->n_shares; i++) {
        if (in_list(h->shares[i], sg->g, sg->n)) {
            choose(out, h->shares[i], 0);
            return;
        }
    }
    for (size_t i = 0; i < sg->n; i++) {
        if (in_list(sg->g[i], h->groups, h->n_groups)) {
            choose(out, sg->g[i], 1);
            return;
        }
    }
    out->refused = 1;
}

/*
 * OpenSSL 3.5, tls_parse_ctos_key_share with tuples: for each tuple in the
 * server's order, a key share for a group of the tuple is accepted; else,
 * if the client lists a group of the tuple, the server asks for it with an
 * HRR; else the next tuple. Within a tuple the client's order decides
 * (its first key share, its first listed group), unless the server prefers
 * its own order (SSL_OP_CIPHER_SERVER_PREFERENCE: nginx's
 * ssl_prefer_server_ciphers on, Node.js's default): then the tuple's order
 * decides both. check_overlap() is called with the two lists swapped.
 */
static void select_openssl35(const stage_groups *sg, int server_pref, const pqt_adv_hello *h,
                             pqt_adv_choice *out)
{
    size_t start = 0;
    for (size_t t = 0; t < sg->n_tuples; t++) {
        const uint16_t *tuple = sg->g + start;
        size_t tn = sg->tuple_end[t] - start;
        start = sg->tuple_end[t];
        for (int hrr = 0; hrr < 2; hrr++) {
            const uint16_t *cl = hrr ? h->groups : h->shares;
            size_t cn = hrr ? h->n_groups : h->n_shares;
            if (server_pref) {
                for (size_t i = 0; i < tn; i++) {
                    if (in_list(tuple[i], cl, cn)) {
                        choose(out, tuple[i], hrr);
                        return;
                    }
                }
            } else {
                for (size_t i = 0; i < cn; i++) {
                    if (in_list(cl[i], tuple, tn)) {
                        choose(out, cl[i], hrr);
                        return;
                    }
                }
            }
        }
    }
    out->refused = 1;
}

/* Strict server preference: the server's first group the client lists,
 * with an HRR when the client sent no share for it. */
static void select_hrr(const stage_groups *sg, const pqt_adv_hello *h, pqt_adv_choice *out)
{
    for (size_t i = 0; i < sg->n; i++) {
        if (in_list(sg->g[i], h->groups, h->n_groups)) {
            choose(out, sg->g[i], !in_list(sg->g[i], h->shares, h->n_shares));
            return;
        }
    }
    out->refused = 1;
}

void pqt_adv_select(const pqt_adv_server *s, pqt_adv_stage st, const pqt_adv_hello *h,
                    pqt_adv_choice *out)
{
    stage_groups sg;
    memset(out, 0, sizeof(*out));
    arrange(s, st, &sg);
    if (!h->tls13) {
        /* TLS 1.2 has no hybrid groups: an ECDHE group the client lists if
         * the server has one (else RSA or FFDHE key exchange, still
         * classical); at required the server speaks only hybrid TLS 1.3. */
        if (st == PQT_ADV_REQUIRED) {
            out->refused = 1;
            return;
        }
        for (size_t i = 0; i < h->n_groups; i++) {
            if (!pqt_group_is_pq(h->groups[i]) && in_list(h->groups[i], sg.g, sg.n)) {
                out->group = h->groups[i];
                return;
            }
        }
        return;
    }
    /* OpenSSL refuses a key share for a group the client does not list
     * ("Check if this share is in supported_groups sent from client":
     * illegal_parameter); so does every model here. */
    for (size_t i = 0; i < h->n_shares; i++) {
        if (!in_list(h->shares[i], h->groups, h->n_groups)) {
            out->refused = 1;
            return;
        }
    }
    switch (s->model) {
    case PQT_ADV_OPENSSL35:
    case PQT_ADV_OPENSSL35_SERVERPREF:
        select_openssl35(&sg, s->model == PQT_ADV_OPENSSL35_SERVERPREF, h, out);
        break;
    case PQT_ADV_HRR:
        select_hrr(&sg, h, out);
        break;
    default:
        select_openssl30(&sg, h, out);
        break;
    }
}
