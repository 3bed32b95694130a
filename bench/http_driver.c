/* http_driver.c - load driver for ctxd --http: C concurrent clients on loopback, each a
 * keep-alive HTTP/1.1 connection sending one POST at a time (the stateless 2026-07-28 era, or
 * with --sessions a 2025-11-25 session per client), and reports calls/s and latency
 * percentiles; or, with --idle N, opens N sessions and leaves them idle.
 *
 * Build: cc -O2 -o http_driver http_driver.c
 * Usage: http_driver --port P [--clients C] [--calls N] [--warmup W] [--path FILE]
 *                    [--sessions] [--version V] [--label TEXT] [--json]
 *        http_driver --port P --idle N      (open N sessions, print "ready", wait for EOF on
 *                                            stdin, then exit)
 * Each call is tools/call read_text_file {"path": FILE}; without --sessions its params carry
 * the 2026-07-28 _meta (protocolVersion, clientCapabilities) and the MCP-Protocol-Version
 * header says V (default 2026-07-28; a server of the 2025-11-25 era, such as the TypeScript
 * SDK's stateless example, gets the same body with --version 2025-11-25). A response counts
 * as an error when its status is not 200 or its body holds "\"error\"" or
 * "\"isError\":true"; a response without Content-Length is refused (exit 2). With --json a
 * second line holds the figures as JSON. Exit status 0 when every measured call succeeded,
 * 1 otherwise, 2 on usage or connection failure.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct client {
	int fd;
	char sid[64];
	char in[1 << 16];
	size_t in_len;
	double sent_at;
	int done, errors;
};

static int port = 0, n_clients = 64, n_calls = 20000, n_warmup = 2000, use_sessions = 0;
static int json_out = 0;
static const char *file = "a.txt", *label = "http", *stateless_version = "2026-07-28";

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int connect_one(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(2);
	}
	return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			perror("write");
			exit(2);
		}
		p += w;
		n -= (size_t)w;
	}
}

static void send_call(struct client *c, int id)
{
	char body[1024], req[2048];
	int bl;
	if (use_sessions) {
		bl =
		    snprintf(body, sizeof(body),
			     "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{"
			     "\"name\":\"read_text_file\",\"arguments\":{\"path\":\"%s\"}}}",
			     id, file);
	} else {
		bl = snprintf(
		    body, sizeof(body),
		    "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{"
		    "\"name\":\"read_text_file\",\"arguments\":{\"path\":\"%s\"},\"_meta\":{"
		    "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
		    "\"io.modelcontextprotocol/clientCapabilities\":{}}}}",
		    id, file);
	}
	int rl = snprintf(req, sizeof(req),
			  "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: "
			  "application/json\r\nAccept: application/json, text/event-stream\r\n"
			  "MCP-Protocol-Version: %s\r\nMcp-Method: tools/call\r\nMcp-Name: "
			  "read_text_file\r\n%s%s%sContent-Length: %d\r\n\r\n%s",
			  port, use_sessions ? "2025-11-25" : stateless_version,
			  c->sid[0] ? "Mcp-Session-Id: " : "", c->sid, c->sid[0] ? "\r\n" : "", bl,
			  body);
	c->sent_at = now_ms();
	send_all(c->fd, req, (size_t)rl);
}

/* The length of a whole chunked body at `p` (the chunks with their size lines, up to the
 * last-chunk "0\r\n\r\n"; no trailers) in *len: 1, or 0 when more is needed. The body
 * handed on is the chunked bytes as they came (enough for the error checks). */
static int chunked_len(const char *p, size_t n, size_t *len)
{
	size_t at = 0;
	for (;;) {
		const char *eol = memmem(p + at, n - at, "\r\n", 2);
		if (!eol) {
			return 0;
		}
		size_t sz = strtoul(p + at, NULL, 16);
		at = (size_t)(eol - p) + 2;
		if (sz == 0) {
			if (n - at < 2) {
				return 0;
			}
			*len = at + 2;
			return 1;
		}
		if (n - at < sz + 2) {
			return 0;
		}
		at += sz + 2;
	}
}

/* A whole response in c->in: its length (headers + body), or 0 when more is needed. */
static size_t response_len(struct client *c, int *status, const char **body, size_t *blen)
{
	c->in[c->in_len < sizeof(c->in) ? c->in_len : sizeof(c->in) - 1] = '\0';
	char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
	if (!end) {
		return 0;
	}
	size_t head = (size_t)(end - c->in) + 4;
	const char *cl = strcasestr(c->in, "\r\nContent-Length:");
	const char *te = strcasestr(c->in, "\r\nTransfer-Encoding: chunked");
	size_t len;
	if (cl && cl < end) {
		len = strtoul(cl + 17, NULL, 10);
	} else if (te && te < end) {
		if (!chunked_len(c->in + head, c->in_len - head, &len)) {
			return 0;
		}
	} else {
		fprintf(stderr, "http_driver: a response with neither Content-Length nor chunked "
				"transfer coding\n");
		exit(2);
	}
	if (c->in_len < head + len) {
		return 0;
	}
	*status = atoi(c->in + 9);
	*body = c->in + head;
	*blen = len;
	const char *sid = strcasestr(c->in, "\r\nMcp-Session-Id:");
	if (sid && sid < end && !c->sid[0]) {
		sid += 17;
		while (*sid == ' ') {
			sid++;
		}
		size_t n = strcspn(sid, "\r");
		snprintf(c->sid, sizeof(c->sid), "%.*s", (int)n, sid);
	}
	return head + len;
}

/* Read one whole response on a blocking socket (set-up). */
static void read_response(struct client *c)
{
	for (;;) {
		int st;
		const char *b;
		size_t bl, n = response_len(c, &st, &b, &bl);
		if (n) {
			memmove(c->in, c->in + n, c->in_len - n);
			c->in_len -= n;
			return;
		}
		ssize_t r = read(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len);
		if (r <= 0) {
			fprintf(stderr, "http_driver: connection closed during set-up\n");
			exit(2);
		}
		c->in_len += (size_t)r;
	}
}

static void post_raw(struct client *c, const char *body)
{
	char req[2048];
	int rl = snprintf(req, sizeof(req),
			  "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: "
			  "application/json\r\nAccept: application/json, text/event-stream\r\n"
			  "%s%s%sContent-Length: %zu\r\n\r\n%s",
			  port, c->sid[0] ? "Mcp-Session-Id: " : "", c->sid,
			  c->sid[0] ? "\r\n" : "", strlen(body), body);
	send_all(c->fd, req, (size_t)rl);
	read_response(c);
}

static void open_session(struct client *c)
{
	post_raw(c, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
		    "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{"
		    "\"name\":\"http_driver\",\"version\":\"1\"}}}");
	post_raw(c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int idle_sessions(int n)
{
	struct client *c = calloc(1, sizeof(*c));
	for (int i = 0; i < n; i++) {
		c->fd = connect_one();
		c->sid[0] = '\0';
		c->in_len = 0;
		open_session(c);
		close(c->fd); /* the session stays; its connection goes */
	}
	printf("ready\n");
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof(buf)) > 0) {
	}
	free(c);
	return 0;
}

int main(int argc, char **argv)
{
	int idle = 0;
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : "";
		if (!strcmp(argv[i], "--port")) {
			port = atoi(v), i++;
		} else if (!strcmp(argv[i], "--clients")) {
			n_clients = atoi(v), i++;
		} else if (!strcmp(argv[i], "--calls")) {
			n_calls = atoi(v), i++;
		} else if (!strcmp(argv[i], "--warmup")) {
			n_warmup = atoi(v), i++;
		} else if (!strcmp(argv[i], "--path")) {
			file = v, i++;
		} else if (!strcmp(argv[i], "--label")) {
			label = v, i++;
		} else if (!strcmp(argv[i], "--idle")) {
			idle = atoi(v), i++;
		} else if (!strcmp(argv[i], "--version")) {
			stateless_version = v, i++;
		} else if (!strcmp(argv[i], "--json")) {
			json_out = 1;
		} else if (!strcmp(argv[i], "--sessions")) {
			use_sessions = 1;
		} else {
			fprintf(stderr, "http_driver: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (!port) {
		fprintf(stderr, "http_driver: --port is required\n");
		return 2;
	}
	if (idle) {
		return idle_sessions(idle);
	}
	struct client *cs = calloc((size_t)n_clients, sizeof(*cs));
	int ep = epoll_create1(0);
	for (int i = 0; i < n_clients; i++) {
		cs[i].fd = connect_one();
		if (use_sessions) {
			open_session(&cs[i]);
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	int total = n_calls + n_warmup, sent = 0, answered = 0, errors = 0;
	double *lat = calloc((size_t)n_calls, sizeof(double));
	size_t n_lat = 0;
	double t0 = 0;
	if (n_warmup == 0) {
		t0 = now_ms();
	}
	for (int i = 0; i < n_clients && sent < total; i++) {
		send_call(&cs[i], ++sent);
	}
	struct epoll_event evs[256];
	while (answered < total) {
		int n = epoll_wait(ep, evs, 256, 30000);
		if (n <= 0) {
			fprintf(stderr, "http_driver: no answer for 30 s\n");
			return 2;
		}
		for (int k = 0; k < n; k++) {
			struct client *c = evs[k].data.ptr;
			ssize_t r = read(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len);
			if (r <= 0) {
				fprintf(stderr, "http_driver: the server closed a connection\n");
				return 2;
			}
			c->in_len += (size_t)r;
			int st;
			const char *b;
			size_t bl, len;
			while ((len = response_len(c, &st, &b, &bl)) > 0) {
				double now = now_ms();
				int bad = st != 200 || memmem(b, bl, "\"isError\":true", 14) ||
					  memmem(b, bl < 64 ? bl : 64, "\"error\"", 7);
				if (answered >= n_warmup) {
					lat[n_lat++] = now - c->sent_at;
					errors += bad;
				}
				answered++;
				if (answered == n_warmup) {
					t0 = now;
				}
				memmove(c->in, c->in + len, c->in_len - len);
				c->in_len -= len;
				if (sent < total) {
					send_call(c, ++sent);
				}
			}
		}
	}
	double secs = (now_ms() - t0) / 1000.0;
	qsort(lat, n_lat, sizeof(double), cmp);
	printf("%s: %d clients, %zu calls in %.3f s: %.0f calls/s, p50 %.3f ms, p99 %.3f ms, "
	       "%d error(s)\n",
	       label, n_clients, n_lat, secs, (double)n_lat / secs, lat[n_lat / 2],
	       lat[(size_t)((double)n_lat * 0.99)], errors);
	if (json_out) {
		printf("{\"label\":\"%s\",\"clients\":%d,\"calls\":%zu,\"secs\":%.3f,"
		       "\"calls_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"errors\":%d}\n",
		       label, n_clients, n_lat, secs, (double)n_lat / secs, lat[n_lat / 2],
		       lat[(size_t)((double)n_lat * 0.99)], errors);
	}
	return errors ? 1 : 0;
}
