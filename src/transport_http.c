/* transport_http.c - GNU libmicrohttpd on the libev loop: listening, the checks of every
 * request (path, Host, Origin, bearer token, body size), suspended exchanges, JSON answers
 * and Server-Sent Events streams (see transport_http.h). Tokens and addresses in
 * transport_http_auth.c; the library is loaded at run time by transport_http_lib.c
 * (transport_http_priv.h), so libmicrohttpd's calls go through ctxd_mhd.
 */
#include "ctxd/transport_http.h"

#include <errno.h>
#include <ev.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctxd/log.h"
#include "transport_http_priv.h"

enum { ST_HEADERS, ST_BODY, ST_WAIT, ST_ANSWERED };

struct ctxd_http_req {
	struct ctxd_http *h;
	struct MHD_Connection *con;
	struct ctxd_http_req *prev, *next; /* the server's live requests */
	int state;
	bool suspended, gone, reported, sse, sse_closed, in_handler;
	bool handed;        /* given to ops.request: ops.done is owed */
	bool answered;      /* respond or sse_open was called */
	const char *method; /* MHD's, valid for the request */
	char *path;         /* owned */
	char *body;         /* owned */
	size_t body_len, body_cap;
	bool too_big;
	int token;
	bool read_only;
	void *ud;
	struct MHD_Response *resp; /* ready to queue */
	unsigned status;
	char *out; /* SSE bytes not yet handed to MHD (owned) */
	size_t out_len, out_off, out_cap;
	ev_io watch; /* while suspended: the client closing the connection */
	int fd;
};

static void req_unlink(struct ctxd_http_req *r)
{
	struct ctxd_http *h = r->h;
	if (r->prev) {
		r->prev->next = r->next;
	} else if (h->reqs == r) {
		h->reqs = r->next;
	}
	if (r->next) {
		r->next->prev = r->prev;
	}
	r->prev = r->next = NULL;
}

static void report_done(struct ctxd_http_req *r, bool aborted)
{
	if (r->reported || !r->handed) {
		return;
	}
	r->reported = true;
	r->h->ops->done(r->h->ud, r, aborted);
}

static void owed_sub(struct ctxd_http_req *r)
{
	r->h->owed -= r->out_len - r->out_off;
	r->out_len = r->out_off = 0;
}

static void resume(struct ctxd_http_req *r)
{
	if (r->suspended) {
		ev_io_stop(r->h->ev, &r->watch);
		r->suspended = false;
		ctxd_mhd.resume_connection(r->con);
		ctxd_http_kick(r->h);
	}
}

/* While suspended libmicrohttpd does not see the client go: watch the socket ourselves.
 * Readable with nothing to read (EOF) or an error means the client closed; bytes waiting
 * (a pipelined request) end the watch. */
static void on_client_io(struct ev_loop *ev, ev_io *w, int revents)
{
	struct ctxd_http_req *r = w->data;
	char c;
	(void)revents;
	ssize_t n = recv(r->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		return;
	}
	ev_io_stop(ev, w);
	if (n > 0) {
		return;
	}
	r->gone = true;
	report_done(r, true);
	resume(r); /* libmicrohttpd closes it on its next look */
}

static void suspend(struct ctxd_http_req *r)
{
	if (r->suspended) {
		return;
	}
	r->suspended = true;
	ctxd_mhd.suspend_connection(r->con);
	if (r->fd >= 0) {
		ev_io_init(&r->watch, on_client_io, r->fd, EV_READ);
		r->watch.data = r;
		ev_io_start(r->h->ev, &r->watch);
	}
}

static void add_headers(struct MHD_Response *resp, const char *const *headers)
{
	for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2) {
		ctxd_mhd.add_response_header(resp, headers[i], headers[i + 1]);
	}
}

static enum MHD_Result queue(struct ctxd_http_req *r)
{
	struct MHD_Response *resp = r->resp;
	r->resp = NULL;
	enum MHD_Result rc = ctxd_mhd.queue_response(r->con, r->status, resp);
	ctxd_mhd.destroy_response(resp);
	return rc;
}

/* An answer of the transport itself (a failed check): a short JSON-RPC error body. */
static void respond_plain(struct ctxd_http_req *r, unsigned status, const char *msg)
{
	char *body = NULL;
	int len = asprintf(&body,
			   "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
			   "\"message\":\"%s\"}}",
			   msg);
	const char *www[] = {"WWW-Authenticate", "Bearer realm=\"ctxd\"", NULL};
	ctxd_http_respond(r, status, "application/json", len < 0 ? NULL : body,
			  len < 0 ? 0 : (size_t)len, status == 401 ? www : NULL);
}

/* The checks on the request line and headers; 0 or the status that answers it. */
static unsigned check(struct ctxd_http_req *r, const char **why)
{
	struct ctxd_http *h = r->h;
	const char *path = h->cfg->path ? h->cfg->path : "/mcp";
	bool metrics = h->cfg->metrics && strcmp(r->path, "/metrics") == 0;
	if (strcmp(r->path, path) != 0 && !metrics) {
		*why = "Not Found: the MCP endpoint is elsewhere";
		return 404;
	}
	if (!ctxd_http_host_ok(h,
			       ctxd_mhd.lookup_connection_value(r->con, MHD_HEADER_KIND, "Host"))) {
		*why = "Misdirected Request: Host is not a name this server is bound to";
		return 421;
	}
	if (!ctxd_http_origin_ok(
		h, ctxd_mhd.lookup_connection_value(r->con, MHD_HEADER_KIND, "Origin"))) {
		*why = "Forbidden: Origin not allowed";
		return 403;
	}
	const char *auth =
	    ctxd_mhd.lookup_connection_value(r->con, MHD_HEADER_KIND, "Authorization");
	if (!ctxd_http_auth(h, auth, &r->token, &r->read_only)) {
		*why = "Unauthorized: send Authorization: Bearer with a valid token";
		return 401;
	}
	const char *cl =
	    ctxd_mhd.lookup_connection_value(r->con, MHD_HEADER_KIND, "Content-Length");
	if (cl && strtoull(cl, NULL, 10) > h->cfg->max_body_bytes) {
		*why = "Payload Too Large: the body exceeds http.max_body_bytes";
		return 413;
	}
	return 0;
}

static int body_add(struct ctxd_http_req *r, const char *data, size_t n)
{
	if (r->too_big || r->body_len + n > r->h->cfg->max_body_bytes) {
		r->too_big = true;
		return 0;
	}
	if (r->body_len + n > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 4096;
		while (cap < r->body_len + n) {
			cap *= 2;
		}
		char *grown = realloc(r->body, cap);
		if (!grown) {
			return -1;
		}
		r->body = grown;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, n);
	r->body_len += n;
	return 0;
}

static struct ctxd_http_req *req_new(struct ctxd_http *h, struct MHD_Connection *con,
				     const char *url, const char *method)
{
	struct ctxd_http_req *r = calloc(1, sizeof(*r));
	if (!r || !(r->path = strdup(url))) {
		free(r);
		return NULL;
	}
	r->h = h;
	r->con = con;
	r->method = method;
	r->token = -1;
	const union MHD_ConnectionInfo *ci =
	    ctxd_mhd.get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
	r->fd = ci ? ci->connect_fd : -1;
	r->next = h->reqs;
	if (h->reqs) {
		h->reqs->prev = r;
	}
	h->reqs = r;
	return r;
}

static enum MHD_Result dispatch(struct ctxd_http_req *r)
{
	struct ctxd_http *h = r->h;
	if (r->too_big) {
		respond_plain(r, 413, "Payload Too Large: the body exceeds http.max_body_bytes");
		return queue(r);
	}
	r->state = ST_WAIT;
	r->handed = true;
	r->in_handler = true;
	h->ops->request(h->ud, r);
	r->in_handler = false;
	if (r->resp) {
		return queue(r);
	}
	if (r->gone) {
		return MHD_NO;
	}
	suspend(r);
	return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *con, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	struct ctxd_http *h = cls;
	struct ctxd_http_req *r = *con_cls;
	(void)version;
	if (!r) {
		if (!(r = req_new(h, con, url, method))) {
			return MHD_NO;
		}
		*con_cls = r;
		const char *why = NULL;
		unsigned st = check(r, &why);
		if (st) {
			respond_plain(r, st, why);
			return queue(r);
		}
		r->state = ST_BODY;
		return MHD_YES;
	}
	if (r->state == ST_BODY) {
		if (*upload_size) {
			if (body_add(r, upload, *upload_size) < 0) {
				return MHD_NO;
			}
			*upload_size = 0;
			return MHD_YES;
		}
		return dispatch(r);
	}
	/* resumed */
	if (r->gone) {
		return MHD_NO;
	}
	if (r->resp) {
		return queue(r);
	}
	if (!r->answered) {
		suspend(r);
	}
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct ctxd_http_req *r = *con_cls;
	(void)cls;
	(void)con;
	if (!r) {
		return;
	}
	*con_cls = NULL;
	if (r->suspended) {
		ev_io_stop(r->h->ev, &r->watch);
	}
	report_done(r, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK || r->gone);
	owed_sub(r);
	req_unlink(r);
	if (r->resp) {
		ctxd_mhd.destroy_response(r->resp);
	}
	free(r->path);
	free(r->body);
	free(r->out);
	free(r);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct ctxd_http_req *r = cls;
	(void)pos;
	if (r->gone) {
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	size_t have = r->out_len - r->out_off;
	if (have > 0) {
		size_t n = have < max ? have : max;
		memcpy(buf, r->out + r->out_off, n);
		r->out_off += n;
		r->h->owed -= n;
		if (r->out_off == r->out_len) {
			r->out_off = r->out_len = 0;
		}
		return (ssize_t)n;
	}
	if (r->sse_closed) {
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	suspend(r);
	return 0;
}

/* ---- the public calls ---- */

static int set_answer(struct ctxd_http_req *r, unsigned status, struct MHD_Response *resp)
{
	r->resp = resp;
	r->status = status;
	r->answered = true;
	r->state = ST_ANSWERED;
	if (!r->in_handler) {
		resume(r);
	}
	return 0;
}

int ctxd_http_respond(struct ctxd_http_req *r, unsigned status, const char *ctype, char *body,
		      size_t len, const char *const *headers)
{
	if (r->answered) {
		free(body);
		return -1;
	}
	struct MHD_Response *resp =
	    body ? ctxd_mhd.create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
		 : ctxd_mhd.create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return -1;
	}
	if (ctype) {
		ctxd_mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	}
	add_headers(resp, headers);
	return set_answer(r, status, resp);
}

int ctxd_http_sse_open(struct ctxd_http_req *r, const char *const *headers)
{
	if (r->answered) {
		return -1;
	}
	struct MHD_Response *resp =
	    ctxd_mhd.create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, sse_read, r, NULL);
	if (!resp) {
		return -1;
	}
	ctxd_mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	ctxd_mhd.add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	ctxd_mhd.add_response_header(resp, "X-Accel-Buffering", "no");
	add_headers(resp, headers);
	r->sse = true;
	return set_answer(r, 200, resp);
}

/* Append `n` bytes of `p` to the stream's queue; drop the connection past the cap. */
static int out_add(struct ctxd_http_req *r, const char *p, size_t n)
{
	struct ctxd_http *h = r->h;
	if (r->out_len - r->out_off + n > h->cfg->max_queued_bytes) {
		ctxd_warn("http: a client owes more than http.max_queued_bytes (%zu) of stream "
			  "output: dropping its connection",
			  h->cfg->max_queued_bytes);
		r->gone = true;
		if (r->fd >= 0) {
			shutdown(r->fd, SHUT_RDWR); /* libmicrohttpd sees it and closes */
		}
		/* The owner hears of it from on_completed, inside the library's run and never
		 * in the middle of an engine's fan-out that called this send (telling it here
		 * let the engine free the listen stream it was iterating over). */
		resume(r);
		return -1;
	}
	if (r->out_len + n > r->out_cap) {
		if (r->out_off > 0) {
			memmove(r->out, r->out + r->out_off, r->out_len - r->out_off);
			r->out_len -= r->out_off;
			r->out_off = 0;
		}
		size_t cap = r->out_cap ? r->out_cap : 1024;
		while (cap < r->out_len + n) {
			cap *= 2;
		}
		if (cap != r->out_cap) {
			char *grown = realloc(r->out, cap);
			if (!grown) {
				return -1;
			}
			r->out = grown;
			r->out_cap = cap;
		}
	}
	memcpy(r->out + r->out_len, p, n);
	r->out_len += n;
	h->owed += n;
	return 0;
}

int ctxd_http_sse_send(struct ctxd_http_req *r, const char *json, size_t len)
{
	return ctxd_http_sse_send_id(r, NULL, json, len);
}

int ctxd_http_sse_send_id(struct ctxd_http_req *r, const char *id, const char *json, size_t len)
{
	if (!r->sse || r->gone || r->sse_closed) {
		return -1;
	}
	while (len > 0 && (json[len - 1] == '\n' || json[len - 1] == '\r')) {
		len--;
	}
	static const char head[] = "event: message\ndata: ";
	if ((id && (out_add(r, "id: ", 4) < 0 || out_add(r, id, strlen(id)) < 0 ||
		    out_add(r, "\n", 1) < 0)) ||
	    out_add(r, head, sizeof(head) - 1) < 0 || out_add(r, json, len) < 0 ||
	    out_add(r, "\n\n", 2) < 0) {
		return -1;
	}
	if (!r->in_handler) {
		resume(r);
	}
	return 0;
}

void ctxd_http_sse_close(struct ctxd_http_req *r)
{
	if (r->sse && !r->sse_closed) {
		r->sse_closed = true;
		if (!r->in_handler) {
			resume(r);
		}
	}
}

/* Every open stream gets a comment line (keep-alive; also how a vanished client is found
 * on a stream with nothing to say). */
void ctxd_http_keepalive(struct ctxd_http *h)
{
	for (struct ctxd_http_req *r = h->reqs, *next; r; r = next) {
		next = r->next;
		if (r->sse && !r->sse_closed && !r->gone && r->out_len == r->out_off &&
		    out_add(r, ":\n\n", 3) == 0) {
			resume(r);
		}
	}
}

const char *ctxd_http_req_method(const struct ctxd_http_req *r)
{
	return r->method;
}

const char *ctxd_http_req_path(const struct ctxd_http_req *r)
{
	return r->path;
}

const char *ctxd_http_req_header(const struct ctxd_http_req *r, const char *name)
{
	return ctxd_mhd.lookup_connection_value(r->con, MHD_HEADER_KIND, name);
}

const char *ctxd_http_req_body(const struct ctxd_http_req *r, size_t *len)
{
	*len = r->body_len;
	return r->body;
}

int ctxd_http_req_token(const struct ctxd_http_req *r)
{
	return r->token;
}

bool ctxd_http_req_read_only(const struct ctxd_http_req *r)
{
	return r->read_only;
}

void ctxd_http_req_set_ud(struct ctxd_http_req *r, void *ud)
{
	r->ud = ud;
}

void *ctxd_http_req_ud(const struct ctxd_http_req *r)
{
	return r->ud;
}

bool ctxd_http_req_answered(const struct ctxd_http_req *r)
{
	return r->answered;
}

size_t ctxd_http_owed(const struct ctxd_http *h)
{
	return h->owed;
}

size_t ctxd_http_live(const struct ctxd_http *h)
{
	size_t n = 0;
	for (const struct ctxd_http_req *r = h->reqs; r; r = r->next) {
		n++;
	}
	return n;
}

/* ---- daemons on the loop ---- */

static void run_daemon(struct ctxd_http_daemon *d)
{
	ctxd_mhd.run(d->mhd);
	MHD_UNSIGNED_LONG_LONG ms;
	ev_timer_stop(d->h->ev, &d->timer);
	if (ctxd_mhd.get_timeout(d->mhd, &ms) == MHD_YES) {
		ev_timer_set(&d->timer, (double)ms / 1000.0, 0.);
		ev_timer_start(d->h->ev, &d->timer);
	}
}

static void on_epoll(struct ev_loop *ev, ev_io *w, int revents)
{
	(void)ev;
	(void)revents;
	run_daemon(w->data);
}

static void on_timer(struct ev_loop *ev, ev_timer *w, int revents)
{
	(void)ev;
	(void)revents;
	run_daemon(w->data);
}

static void on_kick(struct ev_loop *ev, ev_idle *w, int revents)
{
	struct ctxd_http *h = w->data;
	(void)revents;
	ev_idle_stop(ev, w);
	for (size_t i = 0; i < h->n_daemons; i++) {
		run_daemon(&h->daemons[i]);
	}
}

void ctxd_http_kick(struct ctxd_http *h)
{
	ev_idle_start(h->ev, &h->kick);
}

static void on_keepalive(struct ev_loop *ev, ev_timer *w, int revents)
{
	(void)ev;
	(void)revents;
	ctxd_http_keepalive(w->data);
}

/* libmicrohttpd's messages (its MHD_OPTION_EXTERNAL_LOGGER: a printf format and its
 * arguments) as debug records. */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n') {
		msg[--n] = '\0';
	}
	ctxd_debug("http: %s", msg);
}

/* libmicrohttpd's memory pool of a connection (request line, headers, read buffer, response
 * headers; bodies are ours). The library zeroes the whole pool after every request of a
 * keep-alive connection: with its default of 32 KiB that memset was 49,000 of the library's
 * 60,000 instructions per call under callgrind (bench/RESULTS.md, HTTP profile). 16 KiB
 * still takes a header block of 15 KiB (nginx's default limit per header line is 8 KiB); a
 * larger one is answered 431. */
#define CONN_POOL_BYTES ((size_t)16 * 1024)

static int start_daemon(struct ctxd_http *h, struct ctxd_http_daemon *d, const char *addr,
			struct ctxd_error *err)
{
	d->h = h;
	d->fd = ctxd_http_listen_socket(d, addr, err);
	if (d->fd < 0) {
		return -1;
	}
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (h->tls_cert) {
		flags |= MHD_USE_TLS;
	}
	unsigned timeout_s = (h->cfg->idle_timeout_ms + 999) / 1000;
	struct MHD_OptionItem tls[] = {
	    {MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key},
	    {MHD_OPTION_END, 0, NULL},
	};
	d->mhd = ctxd_mhd.start_daemon(
	    flags, 0, NULL, NULL, on_access, h, MHD_OPTION_LISTEN_SOCKET, d->fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)h->cfg->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)h->cfg->max_connections_per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    CONN_POOL_BYTES, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, MHD_OPTION_ARRAY,
	    h->tls_cert ? tls : tls + 2, MHD_OPTION_END);
	if (!d->mhd) {
		close(d->fd);
		d->fd = -1;
		ctxd_error_set(err, 0,
			       "http: cannot start serving %s (libmicrohttpd refused; with TLS, "
			       "check http.tls_cert and http.tls_key)",
			       addr);
		return -1;
	}
	const union MHD_DaemonInfo *di = ctxd_mhd.get_daemon_info(d->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	ev_io_init(&d->io, on_epoll, di->epoll_fd, EV_READ);
	d->io.data = d;
	ev_io_start(h->ev, &d->io);
	ev_init(&d->timer, on_timer);
	d->timer.data = d;
	run_daemon(d);
	return 0;
}

struct ctxd_http *ctxd_http_create(struct ev_loop *loop, const struct ctxd_config_http *cfg,
				   const struct ctxd_http_ops *ops, void *ud,
				   struct ctxd_error *err)
{
	if (ctxd_http_lib_load(err) < 0) {
		return NULL;
	}
	struct ctxd_http *h = calloc(1, sizeof(*h));
	if (!h || !(h->daemons = calloc(cfg->n_listen ? cfg->n_listen : 1, sizeof(*h->daemons)))) {
		free(h);
		ctxd_error_set(err, 0, "out of memory");
		return NULL;
	}
	h->ev = loop;
	h->cfg = cfg;
	h->ops = ops;
	h->ud = ud;
	ev_idle_init(&h->kick, on_kick);
	h->kick.data = h;
	ev_timer_init(&h->keepalive, on_keepalive, cfg->keepalive_ms / 1000.0,
		      cfg->keepalive_ms / 1000.0);
	h->keepalive.data = h;
	if (ctxd_http_load_secrets(h, err) < 0) {
		ctxd_http_destroy(h);
		return NULL;
	}
	for (size_t i = 0; i < cfg->n_listen; i++) {
		if (start_daemon(h, &h->daemons[i], cfg->listen[i], err) < 0) {
			ctxd_http_destroy(h);
			return NULL;
		}
		h->n_daemons++;
		if (!h->daemons[i].loopback && h->n_tokens == 0) {
			ctxd_error_set(
			    err, 0,
			    "http.listen: %.100s is not a loopback address and no "
			    "authentication is configured: set http.tokens_file (bearer "
			    "tokens) before serving a network, or listen on 127.0.0.1 or "
			    "[::1]",
			    cfg->listen[i]);
			ctxd_http_destroy(h);
			return NULL;
		}
	}
	ev_timer_start(loop, &h->keepalive);
	ev_unref(loop); /* the keep-alive timer alone does not keep the loop running */
	return h;
}

unsigned ctxd_http_port(const struct ctxd_http *h, size_t i)
{
	return i < h->n_daemons ? h->daemons[i].port : 0;
}

size_t ctxd_http_connections(const struct ctxd_http *h)
{
	size_t n = 0;
	for (size_t i = 0; i < h->n_daemons; i++) {
		const union MHD_DaemonInfo *di = ctxd_mhd.get_daemon_info(
		    h->daemons[i].mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		n += di ? di->num_connections : 0;
	}
	return n;
}

void ctxd_http_stop_listening(struct ctxd_http *h)
{
	for (size_t i = 0; h && i < h->n_daemons; i++) {
		struct ctxd_http_daemon *d = &h->daemons[i];
		if (d->fd >= 0) {
			MHD_socket s = ctxd_mhd.quiesce_daemon(d->mhd);
			if (s != MHD_INVALID_SOCKET) {
				close(s);
			}
			d->fd = -1;
		}
	}
}

void ctxd_http_destroy(struct ctxd_http *h)
{
	if (!h) {
		return;
	}
	for (struct ctxd_http_req *r = h->reqs; r; r = r->next) {
		r->gone = true;
		report_done(r, true);
		resume(r);
	}
	ev_idle_stop(h->ev, &h->kick);
	if (ev_is_active(&h->keepalive)) {
		ev_ref(h->ev);
		ev_timer_stop(h->ev, &h->keepalive);
	}
	for (size_t i = 0; i < h->n_daemons; i++) {
		struct ctxd_http_daemon *d = &h->daemons[i];
		ev_io_stop(h->ev, &d->io);
		ev_timer_stop(h->ev, &d->timer);
		ctxd_mhd.run(d->mhd); /* the resumed connections are closed */
		ctxd_mhd.stop_daemon(d->mhd);
	}
	ctxd_http_free_secrets(h);
	free(h->daemons);
	free(h);
}
