/*
 * A minimal HTTP/1.0 responder for `--metrics-listen`: it answers every
 * request on the listening socket with the current Prometheus exposition
 * and closes. One request at a time, short timeouts, no keep-alive: enough
 * for a Prometheus scraper, nothing to exploit beyond reading a request
 * line.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pqtls/observe.h"

int pqt_obs_http_listen(const char *addr_port, int *fd_out, char *errbuf, size_t errlen)
{
    char host[256];
    struct addrinfo hints, *res = NULL;
    int fd = -1, ret = PQT_ERR_SYNTAX;
    if (addr_port == NULL || fd_out == NULL) {
        return PQT_ERR_ARG;
    }
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
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 8) != 0) {
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

int pqt_obs_http_answer(int listen_fd, const char *body, size_t len)
{
    char req[1024];
    size_t have = 0;
    int c = accept(listen_fd, NULL, NULL);
    if (c < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : PQT_ERR_IO;
    }
    /* Read the request head (up to the blank line) for at most 1 s. */
    struct pollfd p = {.fd = c, .events = POLLIN};
    while (have < sizeof(req) - 1 && poll(&p, 1, 1000) == 1) {
        ssize_t n = read(c, req + have, sizeof(req) - 1 - have);
        if (n <= 0) {
            break;
        }
        have += (size_t)n;
        req[have] = 0;
        if (strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n") != NULL) {
            break;
        }
    }
    req[have] = 0;
    char head[256];
    int ok = strncmp(req, "GET /metrics", 12) == 0 || strncmp(req, "GET / ", 6) == 0;
    int hl;
    if (ok) {
        hl = snprintf(head, sizeof(head),
                      "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      len);
    } else {
        body = "only GET /metrics is served\n";
        len = strlen(body);
        hl = snprintf(head, sizeof(head),
                      "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      len);
    }
    int ret = 0;
    if (write(c, head, (size_t)hl) != hl) {
        ret = PQT_ERR_IO;
    }
    size_t off = 0;
    while (ret == 0 && off < len) {
        ssize_t n = write(c, body + off, len - off);
        if (n <= 0) {
            ret = PQT_ERR_IO;
            break;
        }
        off += (size_t)n;
    }
    close(c);
    return ret;
}
