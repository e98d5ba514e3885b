/*
 * Enough of OpenSSL's configuration format (NCONF, as OpenSSL 3 reads it)
 * to tell whether a file loads pqtls: sections, "key = value" with quotes
 * and '#' comments, continuation lines, .include of files and directories.
 * The lines of an included file are read as if they stood where the
 * .include is: its sections stay open after it, which is why an .include
 * at the top of Debian's file silently swallows the lines that follow
 * (docs/deploy.md). Bounded: files, nesting, bytes per file, entries.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "host_internal.h"

#define MAX_ENTRIES 8192
#define NAME_MAX_LEN 128
#define VALUE_MAX_LEN 1024

typedef struct {
    char *section, *key, *value;
} entry;

typedef struct {
    pqt_host_cnf_load_fn load;
    void *ctx;
    entry *e;
    size_t n, cap;
    char section[NAME_MAX_LEN];
    const char *stack[PQT_HOST_CNF_MAX_DEPTH + 1];
    unsigned depth;
    pqt_host_cnf *out;
    int nomem;
} parser;

static void problem(parser *p, const char *a, const char *b, const char *c)
{
    if (p->out->problem[0] != '\0') {
        return;
    }
    size_t cap = sizeof(p->out->problem);
    size_t n = 0;
    const char *parts[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        for (const char *s = parts[i]; s != NULL && *s != '\0' && n + 1 < cap; s++) {
            p->out->problem[n++] = *s;
        }
    }
    p->out->problem[n] = '\0';
}

static char *dup_n(const uint8_t *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        if (n > 0) {
            memcpy(d, s, n);
        }
        d[n] = '\0';
    }
    return d;
}

static void add(parser *p, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn)
{
    if (p->n >= MAX_ENTRIES) {
        problem(p, "more than 8192 settings; the rest is ignored", NULL, NULL);
        return;
    }
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 64;
        entry *ne = realloc(p->e, ncap * sizeof(*ne));
        if (ne == NULL) {
            p->nomem = 1;
            return;
        }
        p->e = ne;
        p->cap = ncap;
    }
    entry *e = &p->e[p->n];
    e->section = dup_n((const uint8_t *)p->section, strlen(p->section));
    e->key = dup_n(k, kn);
    e->value = dup_n(v, vn);
    if (e->section == NULL || e->key == NULL || e->value == NULL) {
        free(e->section);
        free(e->key);
        free(e->value);
        p->nomem = 1;
        return;
    }
    p->n++;
}

static int blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Trim blanks on both sides of [*s, *s + *n). */
static void trim(const uint8_t **s, size_t *n)
{
    while (*n > 0 && blank(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && blank((*s)[*n - 1])) {
        (*n)--;
    }
}

/* A value: quotes ("..." or '...') taken off, a '#' outside quotes starts
 * a comment, backslash escapes the next character. Written to dst. */
static size_t unquote(const uint8_t *s, size_t n, uint8_t *dst, size_t cap)
{
    size_t o = 0;
    uint8_t q = 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        uint8_t c = s[i];
        if (q != 0) {
            if (c == q) {
                q = 0;
            } else if (c == '\\' && i + 1 < n) {
                dst[o++] = s[++i];
            } else {
                dst[o++] = c;
            }
        } else if (c == '"' || c == '\'') {
            q = c;
        } else if (c == '#') {
            break;
        } else if (c == '\\' && i + 1 < n) {
            dst[o++] = s[++i];
        } else {
            dst[o++] = c;
        }
    }
    while (o > 0 && blank(dst[o - 1])) {
        o--;
    }
    return o;
}

static void parse_buffer(parser *p, const uint8_t *data, size_t len);

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void include(parser *p, const char *path)
{
    if (p->depth >= PQT_HOST_CNF_MAX_DEPTH) {
        problem(p, "includes nested deeper than 32 at ", path, "; not followed");
        return;
    }
    for (unsigned i = 0; i < p->depth; i++) {
        if (strcmp(p->stack[i], path) == 0) {
            /* OpenSSL 3.0 follows the cycle until it cannot open a file,
             * then ignores the whole configuration (tested: openssl list
             * -providers shows only the implicit default). */
            problem(p, "include cycle: ", path,
                    " includes itself; OpenSSL then ignores the whole configuration");
            p->out->unusable = 1;
            return;
        }
    }
    if (p->out->files >= PQT_HOST_CNF_MAX_FILES) {
        problem(p, "more than 32 configuration files; ", path, " not read");
        return;
    }
    int is_dir = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    if (p->load(p->ctx, path, &is_dir, &data, &len) != 0) {
        if (p->depth > 0) {
            problem(p, "cannot read included ", path, NULL);
        }
        return;
    }
    p->stack[p->depth++] = path;
    if (!is_dir) {
        p->out->files++;
        if (p->depth == 1) {
            p->out->read = 1;
        }
        parse_buffer(p, data,
                     len > PQT_HOST_CNF_MAX_FILE_BYTES ? PQT_HOST_CNF_MAX_FILE_BYTES : len);
    } else {
        /* The directory's files ending .cnf or .conf (OpenSSL's rule), in name
         * order so that the result does not depend on readdir. */
        const char *names[PQT_HOST_CNF_MAX_FILES];
        size_t nn = 0;
        pqt_reader r = pqt_reader_make(data, len);
        while (pqt_reader_left(&r) > 0 && nn < PQT_HOST_CNF_MAX_FILES) {
            const char *name = (const char *)r.p;
            size_t l = 0;
            while (pqt_reader_left(&r) > 0 && *r.p != '\0') {
                r.p++;
                l++;
            }
            if (pqt_reader_left(&r) == 0) {
                break; /* not NUL-terminated */
            }
            r.p++;
            if (l > 0 && l < 256 && strchr(name, '/') == NULL &&
                (has_suffix(name, ".cnf") || has_suffix(name, ".conf"))) {
                names[nn++] = name;
            }
        }
        qsort(names, nn, sizeof(names[0]), cmp_str);
        for (size_t i = 0; i < nn; i++) {
            size_t pl = strlen(path), l = strlen(names[i]);
            char *full = malloc(pl + l + 2);
            if (full == NULL) {
                p->nomem = 1;
                break;
            }
            memcpy(full, path, pl);
            full[pl] = '/';
            memcpy(full + pl + 1, names[i], l + 1);
            include(p, full);
            free(full);
        }
    }
    p->depth--;
    free(data);
}

static void parse_line(parser *p, const uint8_t *s, size_t n)
{
    trim(&s, &n);
    if (n == 0 || s[0] == '#') {
        return;
    }
    if (s[0] == '[') {
        size_t close = 1;
        while (close < n && s[close] != ']') {
            close++;
        }
        if (close == n) {
            problem(p, "a section header without ']'", NULL, NULL);
            return;
        }
        const uint8_t *name = s + 1;
        size_t nl = close - 1;
        trim(&name, &nl);
        pqt_host_copy(p->section, sizeof(p->section), name, nl);
        return;
    }
    if (n > 8 && memcmp(s, ".include", 8) == 0 && (blank(s[8]) || s[8] == '=')) {
        const uint8_t *v = s + 8;
        size_t vn = n - 8;
        trim(&v, &vn);
        if (vn > 0 && v[0] == '=') {
            v++;
            vn--;
            trim(&v, &vn);
        }
        uint8_t path[VALUE_MAX_LEN + 1];
        size_t pl = unquote(v, vn, path, VALUE_MAX_LEN);
        path[pl] = '\0';
        if (pl > 0) {
            include(p, (const char *)path);
        }
        return;
    }
    if (s[0] == '.') {
        return; /* .pragma and the like */
    }
    size_t eq = 0;
    while (eq < n && s[eq] != '=') {
        eq++;
    }
    if (eq == n) {
        return; /* OpenSSL rejects such a line; nothing to learn from it */
    }
    const uint8_t *k = s;
    size_t kn = eq;
    trim(&k, &kn);
    const uint8_t *v = s + eq + 1;
    size_t vn = n - eq - 1;
    trim(&v, &vn);
    uint8_t val[VALUE_MAX_LEN];
    size_t vl = unquote(v, vn, val, sizeof(val));
    if (kn == 0 || kn >= NAME_MAX_LEN) {
        return;
    }
    add(p, k, kn, val, vl);
}

static void parse_buffer(parser *p, const uint8_t *data, size_t len)
{
    pqt_reader r = pqt_reader_make(data, len);
    uint8_t *joined = NULL;
    size_t jn = 0;
    while (pqt_reader_left(&r) > 0 && !p->nomem) {
        const uint8_t *line = r.p;
        size_t n = 0;
        while (pqt_reader_left(&r) > 0 && *r.p != '\n') {
            r.p++;
            n++;
        }
        if (pqt_reader_left(&r) > 0) {
            r.p++;
        }
        const uint8_t *s = line;
        size_t sn = n;
        while (sn > 0 && s[sn - 1] == '\r') {
            sn--;
        }
        /* A trailing backslash continues the line (OpenSSL's rule). */
        int cont = sn > 0 && s[sn - 1] == '\\';
        if (cont || jn > 0) {
            size_t add_n = cont ? sn - 1 : sn;
            if (jn + add_n > 64 * 1024) {
                problem(p, "a continued line longer than 64 KiB", NULL, NULL);
                jn = 0;
                continue;
            }
            uint8_t *nj = realloc(joined, jn + add_n + 1);
            if (nj == NULL) {
                p->nomem = 1;
                break;
            }
            joined = nj;
            if (add_n > 0) {
                memcpy(joined + jn, s, add_n);
            }
            jn += add_n;
            if (cont) {
                continue;
            }
            parse_line(p, joined, jn);
            jn = 0;
            continue;
        }
        parse_line(p, s, sn);
    }
    if (jn > 0 && !p->nomem) {
        parse_line(p, joined, jn);
    }
    free(joined);
}

/* The last value of key in section (later settings replace earlier ones). */
static const char *get(const parser *p, const char *section, const char *key)
{
    for (size_t i = p->n; i > 0; i--) {
        const entry *e = &p->e[i - 1];
        if (strcmp(e->section, section) == 0 && strcmp(e->key, key) == 0) {
            return e->value;
        }
    }
    return NULL;
}

static int truthy(const char *v)
{
    return v != NULL && strcmp(v, "0") != 0 && strcasecmp(v, "no") != 0 &&
           strcasecmp(v, "false") != 0 && strcasecmp(v, "off") != 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s != NULL ? s + 1 : path;
}

static int section_exists(const parser *p, const char *section)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->e[i].section, section) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * A provider section's other keys become the provider's parameters, and a
 * value that names a section is read as a nested set of parameters
 * (OpenSSL 3's provider_conf_params). A chain that comes back to a section
 * already on it makes OpenSSL refuse the provider: that is what happens
 * when lines meant for the default section land in an included file's
 * last section ("openssl_conf = openssl_init" inside [pqtls_sect] leads
 * back through [openssl_init] and [provider_sect]). 0 if fine, -1 with the
 * problem written.
 */
static int params_ok(parser *p, const char *section, const char **chain, unsigned depth)
{
    for (unsigned i = 0; i < depth; i++) {
        if (strcmp(chain[i], section) == 0) {
            problem(p, "a provider parameter leads back to [", section,
                    "] (lines that landed in an included file's last section?): OpenSSL "
                    "refuses the provider");
            return -1;
        }
    }
    if (depth >= 10) {
        problem(p, "provider parameters nested deeper than 10 under [", section, "]");
        return -1;
    }
    chain[depth] = section;
    for (size_t i = 0; i < p->n; i++) {
        const entry *e = &p->e[i];
        if (strcmp(e->section, section) != 0) {
            continue;
        }
        if (depth == 0 && (strcmp(e->key, "module") == 0 || strcmp(e->key, "activate") == 0 ||
                           strcmp(e->key, "identity") == 0 || strcmp(e->key, "soft_load") == 0)) {
            continue;
        }
        if (section_exists(p, e->value) && params_ok(p, e->value, chain, depth + 1) != 0) {
            return -1;
        }
    }
    return 0;
}

int pqt_host_cnf_eval(const char *path, pqt_host_cnf_load_fn load, void *ctx, pqt_host_cnf *out)
{
    parser p;
    memset(out, 0, sizeof(*out));
    memset(&p, 0, sizeof(p));
    p.load = load;
    p.ctx = ctx;
    p.out = out;
    /* Lines before any section header belong to OpenSSL's "default". */
    strcpy(p.section, "default");
    include(&p, path);
    int ret = p.nomem ? PQT_ERR_NOMEM : 0;
    out->default_active = 1;
    const char *init = get(&p, "default", "openssl_conf");
    if (ret == 0 && init != NULL && section_exists(&p, init)) {
        out->init = 1;
        const char *provs = get(&p, init, "providers");
        if (provs != NULL) {
            out->providers_listed = 1;
            out->default_active = 0;
            for (size_t i = 0; i < p.n; i++) {
                const entry *e = &p.e[i];
                if (strcmp(e->section, provs) != 0) {
                    continue;
                }
                const char *module = get(&p, e->value, "module");
                const char *activate = get(&p, e->value, "activate");
                int active = truthy(activate);
                int is_pqtls = module != NULL ? strcmp(base_name(module), "pqtls.so") == 0
                                              : strcmp(e->key, "pqtls") == 0;
                const char *chain[11];
                if (is_pqtls) {
                    int params = params_ok(&p, e->value, chain, 0) == 0;
                    out->pqtls_listed = 1;
                    out->pqtls_active |= active && params;
                    out->pqtls_active_any |= activate != NULL && params;
                    if (module != NULL) {
                        pqt_host_copy(out->pqtls_module, sizeof(out->pqtls_module),
                                      (const uint8_t *)module, strlen(module));
                    }
                } else if (strcmp(e->key, "default") == 0 && module == NULL) {
                    out->default_active |= active;
                }
            }
        }
        const char *ssl = get(&p, init, "ssl_conf");
        const char *sys = ssl != NULL ? get(&p, ssl, "system_default") : NULL;
        const char *groups = sys != NULL ? get(&p, sys, "Groups") : NULL;
        if (groups == NULL && sys != NULL) {
            groups = get(&p, sys, "Curves");
        }
        if (groups != NULL) {
            pqt_host_copy(out->groups, sizeof(out->groups), (const uint8_t *)groups,
                          strlen(groups));
        }
    }
    if (out->unusable) {
        out->pqtls_active = out->pqtls_active_any = 0;
        out->default_active = 1;
    }
    for (size_t i = 0; i < p.n; i++) {
        free(p.e[i].section);
        free(p.e[i].key);
        free(p.e[i].value);
    }
    free(p.e);
    return ret;
}
