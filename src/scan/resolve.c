/*
 * Name resolution off the event loop (src/scan/scan_internal.h).
 *
 * getaddrinfo blocks, for seconds when a DNS server is slow, and cannot be
 * cancelled. The engine reads targets ahead into a bounded window and
 * hands the names in it to a few worker threads; the loop wakes up on an
 * eventfd when an answer is in and starts targets in input order. A name
 * whose lookup runs longer than the timeout is reported as failed; its
 * worker finishes the call on its own and the answer is thrown away
 * (generation numbers), so a hung lookup costs one thread, never the loop.
 *
 * Worker threads may outlive pqt_scan_run (stuck in getaddrinfo): the pool
 * is reference-counted, and its memory and eventfd go with the last user.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "scan_internal.h"

#define POOL_MAX_THREADS 16

typedef struct {
    unsigned gen;   /* bumped when the slot is abandoned or reused */
    int state;      /* PQT_RESOLVE_* */
    uint64_t start; /* ms, when a worker took it (0: still queued) */
    char host[PQT_SCAN_HOST_MAX + 1];
    char port[8];
    int numeric;
    int rc; /* getaddrinfo result */
    struct sockaddr_storage addr;
    socklen_t addr_len;
} job;

struct pqt_scan_resolver {
    pthread_mutex_t lock;
    pthread_cond_t work;
    job *jobs;
    unsigned n_jobs;
    unsigned next_queued; /* round-robin scan start */
    int stop;
    int refs;
    int efd;
    unsigned n_threads;
    pthread_t threads[POOL_MAX_THREADS];
    int busy[POOL_MAX_THREADS];
    pqt_scan_getaddrinfo_fn gai;
};

typedef struct {
    pqt_scan_resolver *r;
    unsigned index;
} worker_arg;

static void pool_release(pqt_scan_resolver *r)
{
    pthread_mutex_lock(&r->lock);
    int last = --r->refs == 0;
    pthread_mutex_unlock(&r->lock);
    if (last) {
        pthread_mutex_destroy(&r->lock);
        pthread_cond_destroy(&r->work);
        close(r->efd);
        free(r->jobs);
        free(r);
    }
}

static int take_job(pqt_scan_resolver *r, unsigned *slot)
{
    for (unsigned k = 0; k < r->n_jobs; k++) {
        unsigned i = (r->next_queued + k) % r->n_jobs;
        if (r->jobs[i].state == PQT_RESOLVE_QUEUED) {
            r->next_queued = (i + 1) % r->n_jobs;
            *slot = i;
            return 1;
        }
    }
    return 0;
}

static void *worker(void *argp)
{
    worker_arg a = *(worker_arg *)argp;
    pqt_scan_resolver *r = a.r;
    free(argp);
    pthread_mutex_lock(&r->lock);
    for (;;) {
        unsigned i = 0;
        while (!r->stop && !take_job(r, &i)) {
            pthread_cond_wait(&r->work, &r->lock);
        }
        if (r->stop) {
            break;
        }
        job *j = &r->jobs[i];
        char host[sizeof(j->host)], port[sizeof(j->port)];
        unsigned gen = j->gen;
        int numeric = j->numeric;
        memcpy(host, j->host, sizeof(host));
        memcpy(port, j->port, sizeof(port));
        j->state = PQT_RESOLVE_RUNNING;
        j->start = pqt_scan_now_ms();
        r->busy[a.index] = 1;
        pthread_mutex_unlock(&r->lock);

        struct addrinfo hints, *ai = NULL;
        memset(&hints, 0, sizeof(hints));
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV | (numeric ? AI_NUMERICHOST : 0);
        int rc = r->gai(host, port, &hints, &ai);

        pthread_mutex_lock(&r->lock);
        r->busy[a.index] = 0;
        if (j->gen == gen && j->state == PQT_RESOLVE_RUNNING) {
            j->rc = rc != 0 ? rc : ai == NULL ? EAI_NONAME : 0;
            if (j->rc == 0 && ai->ai_addrlen <= sizeof(j->addr)) {
                memcpy(&j->addr, ai->ai_addr, ai->ai_addrlen);
                j->addr_len = ai->ai_addrlen;
            } else if (j->rc == 0) {
                j->rc = EAI_FAMILY;
            }
            j->state = PQT_RESOLVE_DONE;
        }
        if (ai != NULL) {
            freeaddrinfo(ai);
        }
        if (!r->stop) {
            uint64_t one = 1;
            ssize_t w = write(r->efd, &one, sizeof(one));
            (void)w; /* a full counter still wakes the loop */
        }
    }
    pthread_mutex_unlock(&r->lock);
    pool_release(r);
    return NULL;
}

int pqt_scan_resolver_new(unsigned slots, unsigned threads, pqt_scan_getaddrinfo_fn gai,
                          pqt_scan_resolver **out)
{
    pqt_scan_resolver *r = calloc(1, sizeof(*r));
    *out = NULL;
    if (r == NULL) {
        return PQT_ERR_NOMEM;
    }
    r->jobs = calloc(slots, sizeof(*r->jobs));
    r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->jobs == NULL || r->efd < 0 || pthread_mutex_init(&r->lock, NULL) != 0) {
        if (r->efd >= 0) {
            close(r->efd);
        }
        free(r->jobs);
        free(r);
        return PQT_ERR_NOMEM;
    }
    pthread_cond_init(&r->work, NULL);
    r->n_jobs = slots;
    r->gai = gai ? gai : getaddrinfo;
    r->refs = 1;
    threads = threads == 0 ? 1 : threads > POOL_MAX_THREADS ? POOL_MAX_THREADS : threads;
    for (unsigned i = 0; i < threads; i++) {
        worker_arg *a = malloc(sizeof(*a));
        if (a == NULL) {
            break;
        }
        a->r = r;
        a->index = i;
        pthread_mutex_lock(&r->lock);
        r->refs++;
        pthread_mutex_unlock(&r->lock);
        if (pthread_create(&r->threads[i], NULL, worker, a) != 0) {
            free(a);
            pthread_mutex_lock(&r->lock);
            r->refs--;
            pthread_mutex_unlock(&r->lock);
            break;
        }
        r->n_threads++;
    }
    if (r->n_threads == 0) {
        pool_release(r);
        return PQT_ERR_NOMEM;
    }
    *out = r;
    return 0;
}

int pqt_scan_resolver_fd(const pqt_scan_resolver *r)
{
    return r->efd;
}

void pqt_scan_resolver_drain(pqt_scan_resolver *r)
{
    uint64_t v;
    while (read(r->efd, &v, sizeof(v)) > 0) {
    }
}

void pqt_scan_resolver_submit(pqt_scan_resolver *r, unsigned slot, const char *host, uint16_t port,
                              int numeric)
{
    pthread_mutex_lock(&r->lock);
    job *j = &r->jobs[slot];
    j->gen++;
    j->state = PQT_RESOLVE_QUEUED;
    j->start = 0;
    j->rc = 0;
    j->numeric = numeric;
    snprintf(j->host, sizeof(j->host), "%s", host);
    snprintf(j->port, sizeof(j->port), "%u", port);
    pthread_cond_signal(&r->work);
    pthread_mutex_unlock(&r->lock);
}

int pqt_scan_resolver_poll(pqt_scan_resolver *r, unsigned slot, uint64_t now, unsigned timeout_ms,
                           struct sockaddr_storage *addr, socklen_t *addr_len, int *rc,
                           uint64_t *deadline)
{
    pthread_mutex_lock(&r->lock);
    job *j = &r->jobs[slot];
    int state = j->state;
    if (state == PQT_RESOLVE_DONE) {
        *rc = j->rc;
        if (j->rc == 0) {
            memcpy(addr, &j->addr, j->addr_len);
            *addr_len = j->addr_len;
        }
        j->state = PQT_RESOLVE_IDLE;
    } else if (state == PQT_RESOLVE_RUNNING && now >= j->start + timeout_ms) {
        /* Abandon it: the worker's answer will not match the generation. */
        j->gen++;
        j->state = PQT_RESOLVE_IDLE;
        state = PQT_RESOLVE_TIMEOUT;
    } else if (state == PQT_RESOLVE_RUNNING && deadline != NULL) {
        *deadline = j->start + timeout_ms;
    }
    pthread_mutex_unlock(&r->lock);
    return state;
}

void pqt_scan_resolver_free(pqt_scan_resolver *r)
{
    if (r == NULL) {
        return;
    }
    pthread_t join[POOL_MAX_THREADS];
    unsigned n_join = 0;
    pthread_mutex_lock(&r->lock);
    r->stop = 1;
    pthread_cond_broadcast(&r->work);
    for (unsigned i = 0; i < r->n_threads; i++) {
        if (r->busy[i]) {
            /* Inside getaddrinfo, which cannot be interrupted: let it
             * finish on its own; it drops its reference when it does. */
            pthread_detach(r->threads[i]);
        } else {
            join[n_join++] = r->threads[i];
        }
    }
    pthread_mutex_unlock(&r->lock);
    for (unsigned i = 0; i < n_join; i++) {
        pthread_join(join[i], NULL);
    }
    pool_release(r);
}
