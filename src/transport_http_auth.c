/* transport_http_auth.c - the HTTP transport's addresses and credentials: listening
 * sockets, the Host and Origin checks (DNS rebinding; MCP 2025-11-25 basic/transports,
 * "Security Warning"), bearer tokens compared in constant time (nettle's memeql_sec) and the
 * TLS files (transport_http_priv.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <nettle/memops.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport_http_priv.h"

/* Split "HOST:PORT" or "[V6]:PORT" into host (no brackets) and port. 0 or -1. */
static int split_addr(const char *addr, char *host, size_t size, unsigned long *port)
{
	const char *colon;
	const char *h = addr;
	size_t n;
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (!end || end[1] != ':') {
			return -1;
		}
		h = addr + 1;
		n = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || strchr(addr, ':') != colon) {
			return -1;
		}
		n = (size_t)(colon - addr);
	}
	if (n == 0 || n >= size || !colon[1]) {
		return -1;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	char *end;
	errno = 0;
	*port = strtoul(colon + 1, &end, 10);
	return (errno || *end || *port > 65535) ? -1 : 0;
}

static bool sa_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}

/* An IPv6 address appears in a Host header in brackets: store it so. Returns 0. */
static int ai_v6_host_brackets(struct ctxd_http_daemon *d)
{
	size_t n = strlen(d->host);
	if (strchr(d->host, ':') && n + 2 < sizeof(d->host)) {
		memmove(d->host + 1, d->host, n);
		d->host[0] = '[';
		d->host[n + 1] = ']';
		d->host[n + 2] = '\0';
	}
	return 0;
}

int ctxd_http_listen_socket(struct ctxd_http_daemon *d, const char *addr, struct ctxd_error *err)
{
	char *host = d->host;
	unsigned long p;
	if (split_addr(addr, host, sizeof(d->host), &p) < 0) {
		ctxd_error_set(err, 0,
			       "http.listen: '%.100s' is not HOST:PORT or [IPV6]:PORT (for "
			       "example 127.0.0.1:8931 or [::1]:8931)",
			       addr);
		return -1;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host, NULL, &hints, &ai);
	if (rc != 0 || !ai) {
		ctxd_error_set(err, 0, "http.listen: cannot resolve '%.100s': %s", host,
			       gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (ai->ai_family == AF_INET) {
		((struct sockaddr_in *)ai->ai_addr)->sin_port = htons((uint16_t)p);
	} else {
		((struct sockaddr_in6 *)ai->ai_addr)->sin6_port = htons((uint16_t)p);
	}
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ai->ai_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 512) < 0) {
		int e = errno;
		ctxd_error_set_errno(err, 0, e,
				     "http.listen: cannot listen on %.100s (%s): choose another "
				     "port or address",
				     addr, strerror(e));
		if (fd >= 0) {
			close(fd);
		}
		freeaddrinfo(ai);
		return -1;
	}
	d->loopback = sa_loopback(ai->ai_addr);
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (ai_v6_host_brackets(d) || getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		close(fd);
		ctxd_error_set(err, 0, "http.listen: %.100s: cannot read the bound port", addr);
		return -1;
	}
	d->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* `value` is "NAME" or "NAME:PORT" matching host `name` (case-insensitive) and `port`. */
static bool host_is(const char *value, const char *name, unsigned port)
{
	size_t n = strlen(name);
	if (strncasecmp(value, name, n) != 0) {
		return false;
	}
	if (value[n] == '\0') {
		return true;
	}
	char want[16];
	snprintf(want, sizeof(want), ":%u", port);
	return strcmp(value + n, want) == 0;
}

bool ctxd_http_host_ok(const struct ctxd_http *h, const char *host)
{
	if (!host) {
		return false; /* HTTP/1.1 requires it; an HTTP/1.0 client has no DNS rebinding
			       * protection to offer */
	}
	for (size_t i = 0; i < h->cfg->n_allowed_hosts; i++) {
		if (strcasecmp(host, h->cfg->allowed_hosts[i]) == 0 ||
		    (!strchr(h->cfg->allowed_hosts[i], ':') &&
		     strncasecmp(host, h->cfg->allowed_hosts[i],
				 strlen(h->cfg->allowed_hosts[i])) == 0 &&
		     host[strlen(h->cfg->allowed_hosts[i])] == ':')) {
			return true;
		}
	}
	for (size_t i = 0; i < h->n_daemons; i++) {
		const struct ctxd_http_daemon *d = &h->daemons[i];
		if (host_is(host, d->host, d->port) ||
		    (d->loopback && host_is(host, "localhost", d->port))) {
			return true;
		}
	}
	return false;
}

bool ctxd_http_origin_ok(const struct ctxd_http *h, const char *origin)
{
	if (!origin) {
		return true; /* not a browser: the Host check and the token stand */
	}
	for (size_t i = 0; i < h->cfg->n_allowed_origins; i++) {
		if (strcasecmp(origin, h->cfg->allowed_origins[i]) == 0) {
			return true;
		}
	}
	/* Loopback origins of the bound ports, when bound to loopback only. */
	for (size_t i = 0; i < h->n_daemons; i++) {
		const struct ctxd_http_daemon *d = &h->daemons[i];
		if (!d->loopback) {
			continue;
		}
		const char *rest = NULL;
		if (strncasecmp(origin, "http://", 7) == 0) {
			rest = origin + 7;
		} else if (strncasecmp(origin, "https://", 8) == 0) {
			rest = origin + 8;
		}
		if (rest &&
		    (host_is(rest, d->host, d->port) || host_is(rest, "localhost", d->port))) {
			return true;
		}
	}
	return false;
}

bool ctxd_http_auth(const struct ctxd_http *h, const char *header, int *token, bool *read_only)
{
	*token = -1;
	*read_only = false;
	if (h->n_tokens == 0) {
		return true;
	}
	if (!header || strncasecmp(header, "Bearer ", 7) != 0) {
		return false;
	}
	const char *t = header + 7;
	while (*t == ' ') {
		t++;
	}
	size_t len = strlen(t);
	int found = -1;
	/* Every token is compared (no early exit), each in constant time over its bytes. */
	for (size_t i = 0; i < h->n_tokens; i++) {
		const struct ctxd_http_token *k = &h->tokens[i];
		if (k->len == len && memeql_sec(k->secret, t, len) && found < 0) {
			found = (int)i;
		}
	}
	if (found < 0) {
		return false;
	}
	*token = found;
	*read_only = h->tokens[found].read_only;
	return true;
}

/* Read a whole small file (at most 1 MiB) into a NUL-terminated buffer. */
static char *slurp(const char *what, const char *path, struct ctxd_error *err)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		ctxd_error_set_errno(err, 0, e, "%s: cannot open %.200s: %s", what, path,
				     strerror(e));
		return NULL;
	}
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap + 1);
	if (buf) {
		len = fread(buf, 1, cap + 1, f);
	}
	fclose(f);
	if (!buf || len > cap) {
		free(buf);
		ctxd_error_set(err, 0, "%s: %.200s is larger than 1 MiB or unreadable", what, path);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* The tokens file: one token a line, optionally followed by blanks and `read-only`; blank
 * lines and lines starting with '#' are skipped. */
static int load_tokens(struct ctxd_http *h, struct ctxd_error *err)
{
	const char *path = h->cfg->tokens_file;
	char *text = slurp("http.tokens_file", path, err);
	if (!text) {
		return -1;
	}
	int rc = 0;
	unsigned lineno = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *tok = line + strspn(line, " \t\r");
		if (!*tok || *tok == '#') {
			continue;
		}
		size_t n = strcspn(tok, " \t\r");
		char *rest = tok + n;
		rest += strspn(rest, " \t\r");
		size_t rn = strcspn(rest, " \t\r");
		bool ro = rn == 9 && strncmp(rest, "read-only", 9) == 0;
		if ((rn && !ro) || n < 16) {
			ctxd_error_set(err, 0,
				       "http.tokens_file: %.200s, line %u: expected a token of at "
				       "least 16 characters, optionally followed by 'read-only'",
				       path, lineno);
			rc = -1;
			break;
		}
		struct ctxd_http_token *grown =
		    realloc(h->tokens, (h->n_tokens + 1) * sizeof(*h->tokens));
		unsigned char *secret = malloc(n);
		if (!grown || !secret) {
			free(secret);
			if (grown) {
				h->tokens = grown;
			}
			ctxd_error_set(err, 0, "out of memory");
			rc = -1;
			break;
		}
		memcpy(secret, tok, n);
		h->tokens = grown;
		h->tokens[h->n_tokens++] = (struct ctxd_http_token){secret, n, ro};
	}
	explicit_bzero(text, strlen(text));
	free(text);
	if (rc == 0 && h->n_tokens == 0) {
		ctxd_error_set(err, 0, "http.tokens_file: %.200s holds no token", path);
		rc = -1;
	}
	return rc;
}

int ctxd_http_load_secrets(struct ctxd_http *h, struct ctxd_error *err)
{
	const struct ctxd_config_http *c = h->cfg;
	if (c->tokens_file && load_tokens(h, err) < 0) {
		return -1;
	}
	if (!c->tls_cert != !c->tls_key) {
		ctxd_error_set(err, 0, "http: set both http.tls_cert and http.tls_key, or neither");
		return -1;
	}
	if (c->tls_cert && (!(h->tls_cert = slurp("http.tls_cert", c->tls_cert, err)) ||
			    !(h->tls_key = slurp("http.tls_key", c->tls_key, err)))) {
		return -1;
	}
	return 0;
}

void ctxd_http_free_secrets(struct ctxd_http *h)
{
	for (size_t i = 0; i < h->n_tokens; i++) {
		explicit_bzero(h->tokens[i].secret, h->tokens[i].len);
		free(h->tokens[i].secret);
	}
	free(h->tokens);
	if (h->tls_key) {
		explicit_bzero(h->tls_key, strlen(h->tls_key));
	}
	free(h->tls_key);
	free(h->tls_cert);
}

size_t ctxd_http_token_count(const struct ctxd_http *h)
{
	return h->n_tokens;
}
