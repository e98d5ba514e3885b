/*
 * The `--metrics-listen` endpoint: GET /metrics answered from a thread of
 * its own with the exposition the capture loop last published, so no
 * client, however slow or rude, can stop or stall the capture.
 *
 *   - The capture thread renders the exposition and hands it over with
 *     pqt_obs_http_publish: a copy behind a pointer swapped under a mutex
 *     (a refcounted snapshot, so a response in progress keeps the body it
 *     started with). It never waits for a client.
 *   - The server thread runs one poll(2) loop over non-blocking sockets: at
 *     most HTTP_MAX_CONNS connections at once (further ones wait in the
 *     kernel's listen queue until a slot is free; none is refused while
 *     that queue has room), and ONE deadline per connection, HTTP_DEADLINE_MS
 *     from accept to close, whatever the client does meanwhile (a byte a
 *     second does not extend it).
 *   - No SIGPIPE: every send is MSG_NOSIGNAL (SO_NOSIGPIPE where that is
 *     the way), so a client that resets mid-response costs an EPIPE and a
 *     close, not the process. The thread blocks all signals, so SIGINT and
 *     SIGTERM still reach the capture loop.
 *   - HTTP/1.0 answers with Content-Length and Connection: close; no
 *     keep-alive, no request body, nothing parsed beyond the request line.
 *
 * Why not libmicrohttpd (Debian's libmicrohttpd-dev is available): the job
 * is one fixed GET on a socket we own, about 300 lines here with nothing
 * to configure; the library would be a new run-time dependency for every
 * build and CI machine (scripts/deps.sh, the sanitizer builds, the static
 * binary) and several times this much code to audit for one endpoint. If
 * the endpoint ever needs TLS, keep-alive or more paths, that choice
 * should be revisited.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pqtls/observe.h"

#define HTTP_MAX_CONNS 64
#define HTTP_DEADLINE_MS 5000
#define HTTP_BACKLOG 256
#define HTTP_REQ_MAX 4096
#define HTTP_ACCEPT_PAUSE_MS 100 /* after EMFILE and the like */

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SO_NOSIGPIPE on each socket instead */
#endif

typedef struct {
    size_t refs; /* under pqt_obs_http.lock */
    size_t len;
    char body[];
} http_snapshot;

enum { CONN_READ, CONN_WRITE, CONN_DRAIN };

typedef struct {
    int fd;
    int phase;
    uint64_t deadline_ms;
    size_t have;
    http_snapshot *snap; /* the 200 body, or NULL for text */
    const char *text;    /* the body of an error answer */
    size_t body_len;
    char head[256];
    size_t head_len, sent;
    char req[HTTP_REQ_MAX];
} http_conn;

struct pqt_obs_http {
    int listen_fd, wake[2];
    pthread_t thread;
    pthread_mutex_t lock;
    http_snapshot *current; /* under lock; NULL until the first publish */
    size_t n_conns;
    http_conn conns[HTTP_MAX_CONNS];
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int set_nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        return -1;
    }
    return 0;
}

static void snap_put(pqt_obs_http *h, http_snapshot *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&h->lock);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&h->lock);
    if (last) {
        free(s);
    }
}

static http_snapshot *snap_get(pqt_obs_http *h)
{
    pthread_mutex_lock(&h->lock);
    http_snapshot *s = h->current;
    if (s != NULL) {
        s->refs++;
    }
    pthread_mutex_unlock(&h->lock);
    return s;
}

int pqt_obs_http_publish(pqt_obs_http *h, const char *body, size_t len)
{
    if (h == NULL || (body == NULL && len > 0)) {
        return PQT_ERR_ARG;
    }
    http_snapshot *s = malloc(sizeof(*s) + len);
    if (s == NULL) {
        return PQT_ERR_NOMEM;
    }
    s->refs = 1; /* the endpoint's own reference, as h->current */
    s->len = len;
    if (len > 0) {
        memcpy(s->body, body, len);
    }
    pthread_mutex_lock(&h->lock);
    http_snapshot *old = h->current;
    h->current = s;
    pthread_mutex_unlock(&h->lock);
    snap_put(h, old);
    return 0;
}

static void conn_close(pqt_obs_http *h, size_t i)
{
    http_conn *c = &h->conns[i];
    close(c->fd);
    snap_put(h, c->snap);
    h->n_conns--;
    if (i != h->n_conns) {
        *c = h->conns[h->n_conns]; /* the live connections stay in front */
    }
}

/* The answer, from the request line ("GET /metrics HTTP/1.1"). */
static void conn_answer(pqt_obs_http *h, http_conn *c, int complete)
{
    const char *status = "200 OK", *type = "text/plain; version=0.0.4", *allow = "";
    const char *sp = memchr(c->req, ' ', c->have);
    const char *target = sp != NULL ? sp + 1 : NULL;
    size_t tlen = 0;
    while (target != NULL && target + tlen < c->req + c->have && target[tlen] != ' ' &&
           target[tlen] != '?' && target[tlen] != '\r' && target[tlen] != '\n') {
        tlen++;
    }
    c->snap = NULL;
    c->text = NULL;
    if (!complete) {
        status = "431 Request Header Fields Too Large";
        c->text = "request head too large\n";
    } else if (sp == NULL || (size_t)(sp - c->req) != 3 || memcmp(c->req, "GET", 3) != 0) {
        status = "405 Method Not Allowed";
        allow = "Allow: GET\r\n";
        c->text = "only GET /metrics is served\n";
    } else if (!((tlen == 8 && memcmp(target, "/metrics", 8) == 0) ||
                 (tlen == 1 && target[0] == '/'))) {
        status = "404 Not Found";
        c->text = "only GET /metrics is served\n";
    } else if ((c->snap = snap_get(h)) == NULL) {
        status = "503 Service Unavailable";
        c->text = "no metrics yet; retry\n";
    }
    if (c->text != NULL) {
        type = "text/plain";
        c->body_len = strlen(c->text);
    } else {
        c->body_len = c->snap->len;
    }
    int n = snprintf(c->head, sizeof(c->head),
                     "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s\r\n",
                     status, type, c->body_len, allow);
    c->head_len = n > 0 && (size_t)n < sizeof(c->head) ? (size_t)n : 0;
    c->sent = 0;
    c->phase = CONN_WRITE;
}

/* Move connection i along; 1 if it is finished (to be closed). */
static int conn_step(pqt_obs_http *h, http_conn *c)
{
    if (c->phase == CONN_READ) {
        ssize_t n = recv(c->fd, c->req + c->have, sizeof(c->req) - 1 - c->have, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            return 1; /* the client went away before asking */
        }
        if (n < 0) {
            return 0;
        }
        size_t from = c->have > 3 ? c->have - 3 : 0;
        c->have += (size_t)n;
        c->req[c->have] = 0;
        int complete =
            strstr(c->req + from, "\r\n\r\n") != NULL || strstr(c->req + from, "\n\n") != NULL;
        if (!complete && c->have < sizeof(c->req) - 1) {
            return 0;
        }
        conn_answer(h, c, complete);
    }
    if (c->phase == CONN_WRITE) {
        const char *body = c->snap != NULL ? c->snap->body : c->text;
        size_t total = c->head_len + c->body_len;
        while (c->sent < total) {
            struct iovec iov[2];
            int k = 0;
            if (c->sent < c->head_len) {
                iov[k].iov_base = c->head + c->sent;
                iov[k++].iov_len = c->head_len - c->sent;
                iov[k].iov_base = (void *)body;
                iov[k++].iov_len = c->body_len;
            } else {
                iov[k].iov_base = (void *)(body + (c->sent - c->head_len));
                iov[k++].iov_len = total - c->sent;
            }
            struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)k};
            ssize_t n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
            if (n < 0) {
                return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : 1;
            }
            c->sent += (size_t)n;
        }
        /* All sent: say so, then wait for the client's close, so that
         * request bytes still unread do not turn our close into a RST that
         * could destroy the response before the client has read it. */
        snap_put(h, c->snap);
        c->snap = NULL;
        shutdown(c->fd, SHUT_WR);
        c->phase = CONN_DRAIN;
    }
    char scratch[512];
    for (;;) {
        ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);
        if (n > 0) {
            continue;
        }
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : 1;
    }
}

static void accept_some(pqt_obs_http *h, uint64_t now, uint64_t *pause_until)
{
    while (h->n_conns < HTTP_MAX_CONNS) {
        int fd = accept(h->listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                *pause_until = now + HTTP_ACCEPT_PAUSE_MS; /* else poll spins */
            }
            return; /* EAGAIN, or a connection that vanished: next time */
        }
        if (set_nonblock_cloexec(fd) != 0) {
            close(fd);
            continue;
        }
#ifdef SO_NOSIGPIPE
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#endif
        http_conn *c = &h->conns[h->n_conns++];
        c->fd = fd;
        c->phase = CONN_READ;
        c->deadline_ms = now + HTTP_DEADLINE_MS;
        c->have = 0;
        c->snap = NULL;
        c->text = NULL;
    }
}

static void *http_thread(void *arg)
{
    pqt_obs_http *h = arg;
    struct pollfd p[2 + HTTP_MAX_CONNS];
    uint64_t pause_until = 0;
    for (;;) {
        uint64_t now = mono_ms();
        int listening = h->n_conns < HTTP_MAX_CONNS && now >= pause_until;
        int timeout = -1;
        p[0] = (struct pollfd){.fd = h->wake[0], .events = POLLIN};
        p[1] = (struct pollfd){.fd = listening ? h->listen_fd : -1, .events = POLLIN};
        for (size_t i = 0; i < h->n_conns; i++) {
            http_conn *c = &h->conns[i];
            p[2 + i] =
                (struct pollfd){.fd = c->fd, .events = c->phase == CONN_WRITE ? POLLOUT : POLLIN};
            uint64_t left = c->deadline_ms > now ? c->deadline_ms - now : 0;
            if (timeout < 0 || left < (uint64_t)timeout) {
                timeout = (int)left;
            }
        }
        if (!listening && h->n_conns < HTTP_MAX_CONNS) {
            uint64_t left = pause_until - now;
            if (timeout < 0 || left < (uint64_t)timeout) {
                timeout = (int)left;
            }
        }
        int r = poll(p, 2 + h->n_conns, timeout);
        if (r < 0 && errno != EINTR) {
            break; /* cannot happen with valid fds; stop serving, not the capture */
        }
        if (r > 0 && (p[0].revents & POLLIN)) {
            break;
        }
        now = mono_ms();
        /* Backwards, so closing (which moves the last into the hole) skips
         * nothing; p[2 + i] still describes conns[i] for i below the hole. */
        for (size_t i = h->n_conns; i-- > 0;) {
            http_conn *c = &h->conns[i];
            int done = 0;
            if (r > 0 && p[2 + i].revents != 0) {
                done = conn_step(h, c);
            }
            if (done || now >= c->deadline_ms) {
                conn_close(h, i);
            }
        }
        if (r > 0 && listening && (p[1].revents & POLLIN)) {
            accept_some(h, now, &pause_until);
        }
    }
    while (h->n_conns > 0) {
        conn_close(h, h->n_conns - 1);
    }
    return NULL;
}

static int http_listen(const char *addr_port, int *fd_out, char *errbuf, size_t errlen)
{
    char host[256];
    struct addrinfo hints, *res = NULL;
    int fd = -1, ret = PQT_ERR_SYNTAX;
    *fd_out = -1;
    const char *colon = strrchr(addr_port, ':');
    if (colon == NULL || colon == addr_port || (size_t)(colon - addr_port) >= sizeof(host) ||
        colon[1] == 0) {
        snprintf(errbuf, errlen, "'%s' is not ADDR:PORT (e.g. 127.0.0.1:9464 or [::1]:9464)",
                 addr_port);
        return PQT_ERR_SYNTAX;
    }
    memcpy(host, addr_port, (size_t)(colon - addr_port));
    host[colon - addr_port] = 0;
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host, colon + 1, &hints, &res);
    if (gai != 0) {
        snprintf(errbuf, errlen, "'%s': %s", addr_port, gai_strerror(gai));
        return PQT_ERR_SYNTAX;
    }
    ret = PQT_ERR_IO;
    fd = socket(res->ai_family, SOCK_STREAM, 0);
    int one = 1;
    if (fd < 0 || set_nonblock_cloexec(fd) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, HTTP_BACKLOG) != 0) {
        snprintf(errbuf, errlen, "cannot listen on %s: %s", addr_port, strerror(errno));
        goto cleanup;
    }
    *fd_out = fd;
    fd = -1;
    ret = 0;
cleanup:
    if (fd >= 0) {
        close(fd);
    }
    freeaddrinfo(res);
    return ret;
}

int pqt_obs_http_start(const char *addr_port, pqt_obs_http **out, char *errbuf, size_t errlen)
{
    if (addr_port == NULL || out == NULL) {
        return PQT_ERR_ARG;
    }
    *out = NULL;
    pqt_obs_http *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return PQT_ERR_NOMEM;
    }
    h->wake[0] = h->wake[1] = -1;
    int ret = http_listen(addr_port, &h->listen_fd, errbuf, errlen);
    if (ret != 0) {
        free(h);
        return ret;
    }
    ret = PQT_ERR_IO;
    if (pipe(h->wake) != 0 || set_nonblock_cloexec(h->wake[0]) != 0 ||
        set_nonblock_cloexec(h->wake[1]) != 0) {
        snprintf(errbuf, errlen, "cannot make a pipe: %s", strerror(errno));
        goto fail;
    }
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        snprintf(errbuf, errlen, "cannot make a mutex");
        goto fail;
    }
    /* The server thread takes no signals: they stay with the capture loop. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&h->thread, NULL, http_thread, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        snprintf(errbuf, errlen, "cannot start the server thread: %s", strerror(e));
        pthread_mutex_destroy(&h->lock);
        goto fail;
    }
    *out = h;
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (h->wake[i] >= 0) {
            close(h->wake[i]);
        }
    }
    close(h->listen_fd);
    free(h);
    return ret;
}

void pqt_obs_http_stop(pqt_obs_http *h)
{
    if (h == NULL) {
        return;
    }
    ssize_t n;
    do {
        n = write(h->wake[1], "x", 1);
    } while (n < 0 && errno == EINTR);
    pthread_join(h->thread, NULL);
    close(h->wake[0]);
    close(h->wake[1]);
    close(h->listen_fd);
    snap_put(h, h->current);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
