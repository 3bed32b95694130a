/* http_server_priv.h - what the runtime's HTTP sources share (http_server.c: sessions,
 * engines, routing; http_metrics.c: GET /metrics). Internal to the runtime layer; loop
 * thread unless a field says otherwise.
 */
#ifndef CTXD_HTTP_SERVER_PRIV_H
#define CTXD_HTTP_SERVER_PRIV_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctxd/http_server.h"
#include "ctxd/transport_http.h"

struct sess;
struct revent;

/* One engine: a session's, or a stateless one (sess NULL). */
struct eng {
	struct ctxd_http_server *srv;
	struct ctxd_mcp *mcp;
	struct sess *sess;
	bool ro;           /* for read-only tokens */
	struct pend *pend; /* requests whose answer is owed */
	bool dirty;        /* in srv->dirty (srv->mu) */
	struct eng *dirty_next;
	double last_ms; /* stateless: when a request last came (idle engines are freed) */
};

/* A request handed to an engine, until its response. */
struct pend {
	struct pend *prev, *next;
	struct eng *e;
	struct ctxd_http_req *req; /* NULL once the exchange ended */
	char *key;                 /* the id as the engine writes it (JSON text) */
	char *ptok;                /* the progressToken likewise, or NULL */
	json_t *orig_id;           /* stateless: the client's id and token */
	json_t *orig_ptok;
	char *method; /* for metrics */
	char *tool;   /* tools/call: the tool's name, or NULL */
	double t0;    /* ms, monotonic */
	bool accept_sse, sse, listen;
	bool log_on; /* stateless: _meta io.modelcontextprotocol/logLevel was given: */
	enum ctxd_log_level log_level; /* records at or above it go on its stream */
	unsigned stream;               /* a session's POST stream: its number in event ids, or 0 */
	unsigned long long seq;        /* the last event id's count on that stream */
};

/* A frame waiting for the session's GET stream. */
struct outq {
	struct outq *next;
	char *buf;
	size_t len;
};

/* A 2025-11-25 session. */
struct sess {
	struct sess *prev, *next;
	char id[56]; /* Mcp-Session-Id: [http.session_prefix "-"] 128 random bits in hex */
	struct eng e;
	int token;                 /* the token it was created with (-1: none configured) */
	struct ctxd_http_req *get; /* the GET stream, or NULL */
	struct outq *q, **qtail;
	size_t qbytes;
	double last_ms;
	bool ended;
	struct revent *rq, **rq_tail; /* the replay buffer (http_replay.c), oldest first */
	size_t rbytes;
	unsigned streams;           /* POST streams numbered so far */
	unsigned long long get_seq; /* events sent on the GET stream (stream 0) */
};

#define N_BUCKETS 15

struct counter {
	char *label; /* owned */
	unsigned long long n;
};

struct counters {
	struct counter *v;
	size_t n;
};

struct ctxd_http_server {
	struct ctxd_http_server_deps d;
	const struct ctxd_config *cfg;
	struct ctxd_config cfg_ro; /* *cfg with read_only set: the read-only tokens' engines */
	struct ctxd_http *http;
	ctxd_engine_setup_fn setup;
	void *setup_ud;
	const struct ctxd_sandbox *sb_ro;
	const struct ctxd_registry *reg_ro;
	/* The stateless engines: one per token (index 0 without http.tokens_file), so a task
	 * or a listen stream is reached only with the token that made it; created on first
	 * use, freed once idle for http.session_timeout_ms with nothing in flight or held. */
	struct eng **stateless;
	size_t n_stateless;
	size_t stateless_live; /* created and not freed: at most http.max_sessions */
	struct sess *sessions; /* live */
	struct sess *ended;    /* waiting for their requests to finish */
	size_t n_sessions;
	unsigned long long sessions_total, next_id, http_requests, aborted;
	size_t completed_gone;         /* requests completed by engines since freed (status line) */
	struct ctxd_status_ops status; /* ctxd://status on every engine (figures NULL: none) */
	struct ctxd_loop_status *loop_stat; /* the event-loop lag for /metrics, or NULL */
	/* Log forwarding: the engine (and request) the loop thread is working for, while it
	 * is; log_mute while a frame is being routed (a record about the transport itself is
	 * not sent through it). */
	struct eng *log_e;
	struct pend *log_p;
	const json_t *log_id; /* a completion's request id (log_p found from it when needed) */
	bool log_mute, log_scoped;
	size_t get_streams;
	bool closing;       /* shutdown began */
	bool destroying;    /* exchanges end aborted: nothing more to the engines */
	pthread_mutex_t mu; /* guards dirty and each engine's dirty flag (any thread) */
	struct eng *dirty;
	/* metrics (http_metrics.c) */
	struct counters by_method, by_tool, by_code;
	unsigned long long buckets[N_BUCKETS + 1]; /* + the +Inf bucket */
	double latency_sum;
	unsigned long long latency_count;
};

/* http_sessions.c */
/* Free pending request `p` and take it out of its engine's table. */
void ctxd_http_pend_free(struct pend *p);
/* The pending request of engine `e` whose id (or, with `by_ptok`, progressToken) has the
 * JSON text `key` (`len` bytes), or NULL. */
struct pend *ctxd_http_pend_find(struct eng *e, const char *key, size_t len, bool by_ptok);
/* The JSON text of `v` (as the engine writes it), malloc'd, or NULL. */
char *ctxd_http_json_key(const json_t *v);
/* Turn the POST of `p` into an SSE stream (when its client accepts one). */
bool ctxd_http_pend_stream(struct pend *p);
/* A frame for the session's GET stream: sent at once, on a POST stream of the session
 * while no GET stream is open, or kept (up to http.max_queued_bytes) until one opens. */
void ctxd_http_sess_push(struct sess *x, char *buf, size_t len);
/* End session `x`: no more requests; its engine is freed once nothing is in flight. */
void ctxd_http_sess_end(struct ctxd_http_server *s, struct sess *x);
/* After the session engine `e` was given `msg`: when it is notifications/cancelled naming a
 * request POSTed to `e` (2025-11-25 basic/utilities/cancellation), end that POST (the
 * engine does not answer a cancelled request): an SSE stream closes without a response,
 * a POST waiting for JSON gets a JSON-RPC error for its id. Anything else: nothing. */
void ctxd_http_sess_cancelled(struct eng *e, json_t *msg);

/* http_replay.c */
/* Send `buf` (`len` bytes, one JSON-RPC message; borrowed) as an event of the stream of
 * POST `p` (NULL: the session's GET stream) on exchange `r` (NULL: nobody listens now). In
 * a session with http.replay_buffer_bytes the event gets its id and a copy is kept for
 * Last-Event-ID; elsewhere it is sent as it is. ctxd_http_sse_send's result (0 when only
 * kept; -1 with nothing sent nor kept). */
int ctxd_http_emit(struct eng *e, struct pend *p, struct ctxd_http_req *r, const char *buf,
		   size_t len);
/* A GET of session `x` with Last-Event-ID `last_id`: replay what that stream missed. True
 * when `r` is answered (an error, or a POST's stream resumed); false when the GET stream's
 * events were replayed on `r`, now open, which the caller makes the session's GET stream. */
bool ctxd_http_sess_resume(struct sess *x, struct ctxd_http_req *r, const char *last_id);
/* Forget the replay buffer of `x`. */
void ctxd_http_replay_clear(struct sess *x);

/* http_metrics.c */
/* The tool name of a tools/call request `msg` (malloc'd), or NULL. */
char *ctxd_http_metrics_tool(json_t *msg);
/* Request `p` is answered by the response frame `buf` (`len` bytes): count it. */
void ctxd_http_metrics_done(struct ctxd_http_server *s, const struct pend *p, const char *buf,
			    size_t len);
/* Answer GET /metrics (Prometheus text format 0.0.4). */
void ctxd_http_metrics_serve(struct ctxd_http_server *s, struct ctxd_http_req *r);
void ctxd_http_metrics_free(struct ctxd_http_server *s);

#endif
