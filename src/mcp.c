/* mcp.c - MCP lifecycle, both protocol eras, the method table, tools/list and tools/call.
 *
 * Era rules (one binary serves both): an `initialize` request selects the legacy
 * (handshake) era for the process; a request whose params._meta carries
 * io.modelcontextprotocol/protocolVersion selects the modern (2026-07-28, stateless) era.
 * Whichever comes first decides. `server/discover` is answered in both and decides
 * nothing, so a host may probe it and then fall back to `initialize`. */
#include "ctxd/mcp.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/log.h"
#include "ctxd/rpc.h"
#include "ctxd/session.h"
#include "ctxd/subs.h"
#include "ctxd/watch.h"
#include "ctxd_version.h"

#define META_VERSION "io.modelcontextprotocol/protocolVersion"
#define META_CAPS "io.modelcontextprotocol/clientCapabilities"
#define META_INFO "io.modelcontextprotocol/clientInfo"
#define META_SERVER_INFO "io.modelcontextprotocol/serverInfo"
#define META_SUBSCRIPTION "io.modelcontextprotocol/subscriptionId"

static const char *const legacy_versions[] = {
	"2025-11-25",
	"2025-06-18",
	"2025-03-26",
	"2024-11-05",
};
#define N_LEGACY (sizeof(legacy_versions) / sizeof(legacy_versions[0]))

struct ctxd_batch {
	size_t pending; /* answers still owed, +1 while the batch is being dispatched */
	char **frames;  /* each a response frame ending in '\n' */
	size_t *lens;
	size_t n, cap;
	size_t bytes;   /* held in `frames`: owed to the host, not yet queued */
	struct ctxd_batch *prev, *next; /* the engine's open batches */
};

struct sbref {
	struct ctxd_sandbox *sb; /* owned unless it is the configured one */
	bool owned;
	int refs;
};

struct note {
	struct note *next;
	int kind;        /* NOTE_* */
	int list;        /* enum ctxd_list_kind */
	char *uri;       /* NOTE_UPDATED */
	char *key;       /* NOTE_PROGRESS: the request's table key */
	char *frame;     /* NOTE_PROGRESS: the serialised notification */
	size_t len;
};
enum { NOTE_LIST = 1, NOTE_UPDATED, NOTE_PROGRESS };

struct ctxd_notifier {
	pthread_mutex_t mu;
	struct note *head, *tail;
	void (*wake)(void *ud);
	void *wake_ud;
};

/* An open subscriptions/listen stream (MCP 2026-07-28 basic/patterns/subscriptions). It
 * sits in the in-flight table under its request id (r.stream set) until the client
 * cancels it or the server closes it. */
struct listen {
	struct ctxd_request r;
	unsigned lists;  /* bit (1 << enum ctxd_list_kind) per list_changed agreed */
	char **uris;     /* resource subscriptions agreed (owned), each held in m->subs */
	size_t n_uris;
	bool resources;  /* resourceSubscriptions agreed (possibly empty) */
	struct listen *prev, *next;
};

struct pending_out {
	struct pending_out *next;
	char *id;       /* our request id (string) */
	double deadline; /* ms */
};

struct ctxd_mcp {
	struct ctxd_mcp_deps d;
	struct ctxd_session sess;
	struct ctxd_notifier notifier;
	const struct ctxd_resource_provider **res;
	size_t n_res;
	const struct ctxd_prompt_provider **prompts;
	size_t n_prompts;
	const struct ctxd_method_provider **ext;
	size_t n_ext;
	json_t *extra_caps;       /* capabilities added by families */
	char *instructions;       /* initialize/server/discover `instructions` (owned), or NULL */
	struct sbref *sb;         /* the sandbox new requests see */
	struct sbref configured;  /* the configured one (not owned) */
	struct ctxd_subs *subs;   /* resource subscriptions of both eras (NULL: no watch) */
	struct listen *listens;   /* open subscriptions/listen streams */
	size_t n_listens;
	size_t sub_reserved;      /* subscriptions counted while their paths are resolved */
	unsigned lists_deferred;  /* list_changed bits held while the host is not reading */
	bool congested;           /* the host is not reading: hold notifications, flush batches */
	bool closing;             /* shutdown: streams were closed, open no new ones */
	struct ctxd_batch *batches; /* batches with answers still owed */
	size_t held_bytes;        /* answers held in unfinished batches */
	struct pending_out *out_reqs;
	unsigned next_out_id;
	bool client_has_roots;
	int landlock_fd; /* ruleset enforced in client-roots mode, or -1 */
	bool landlock_pending;             /* client-roots mode: enforce on the first roots */
	const char *const *landlock_extra; /* borrowed */
	bool test_hooks; /* CTXD_TEST_HOOKS=1 at start-up: honour "ctxd.test/hold" (tests only) */
	atomic_ulong frames_handled; /* with test_hooks: frames handled so far (test_hold) */
	/* Until the client's first roots answer (or its timeout) the allowed directories are
	 * not known: requests for the pool wait here, so none is answered from a root set
	 * that is about to change (see roots_hold). */
	bool roots_wait;
	double roots_wait_deadline; /* ms, monotonic */
	struct mreq *held, **held_tail;
	char *roots_logged; /* the note of the last root set logged (owned) */
	ctxd_roots_fn roots_fn;
	void *roots_ud;
};

/* What a method handler sees. */
struct call {
	json_t *id;
	json_t *params; /* object or NULL */
	bool modern;
	struct ctxd_batch *batch;
};

/* A handler returns a new result object, or NULL with `e` filled (code, message, data),
 * or ASYNC when it handed the request to the pool. */
struct rpc_err {
	int code;
	char msg[CTXD_ERROR_MSG_MAX];
	json_t *data; /* new reference or NULL */
};

static json_t async_marker;
#define ASYNC (&async_marker)

enum {
	M_BEFORE_INIT = 1 << 0, /* legacy: allowed before initialize */
	M_LEGACY = 1 << 1,      /* exists in the legacy era */
	M_MODERN = 1 << 2,      /* exists in the modern era */
	M_CACHEABLE = 1 << 3,   /* modern: result carries ttlMs + cacheScope */
};

typedef json_t *(*method_fn)(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e);

struct method {
	const char *name;
	method_fn fn;
	unsigned flags;
};

/* A request handed to the pool: the session's part first. */
struct mreq;
typedef json_t *(*work_fn)(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
			   struct rpc_err *e);
typedef void (*after_fn)(struct ctxd_mcp *m, struct mreq *q);

struct prog {
	struct ctxd_progress base;
	struct mreq *q;
	double last_ms;
	double last_value;
	bool any;
};

struct mreq {
	struct ctxd_request r;
	work_fn work;
	after_fn after;     /* loop thread, before the response is written */
	bool cacheable;     /* modern: ttlMs + cacheScope on the result */
	const void *target; /* the tool or provider */
	struct sbref *sb;
	json_t *keep;       /* worker -> loop private data (e.g. resolved watch paths) */
	size_t reserved;    /* subscriptions counted for this request until it completes */
	bool taken;         /* the after hook answered (or chose silence) itself */
	struct prog prog;
	bool hold;                /* test hook: pause after the first progress (see test_hold) */
	unsigned long hold_until; /* ... until frames_handled reaches this */
	struct mreq *held_next; /* waiting for the client's first roots (roots_hold) */
	struct ctxd_strbuf raw; /* a response frame a tool wrote itself (CTXD_TOOL_WRITTEN) */
};

static void set_err(struct rpc_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(struct rpc_err *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	e->code = code;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- output ---- */

static void batch_add(struct ctxd_mcp *m, struct ctxd_batch *b, char *frame, size_t len);
static void batch_release(struct ctxd_mcp *m, struct ctxd_batch *b);

static void emit(struct ctxd_mcp *m, struct ctxd_batch *b, char *frame, size_t len)
{
	if (!frame) {
		ctxd_err("out of memory serialising a response");
		return;
	}
	if (b) {
		batch_add(m, b, frame, len);
	} else {
		m->d.send(m->d.send_ud, frame, len);
	}
}

static void emit_json(struct ctxd_mcp *m, struct ctxd_batch *b, json_t *msg)
{
	size_t len = 0;
	char *s = ctxd_rpc_dump_new(msg, &len);
	emit(m, b, s, len);
}

static void send_error(struct ctxd_mcp *m, struct ctxd_batch *b, json_t *id, int code,
		       const char *msg, json_t *data)
{
	emit_json(m, b, ctxd_rpc_error_new(id, code, msg, data));
}

/* Tell the transport how many answer bytes unfinished batches hold: they are owed to
 * the host as much as queued ones. */
static void held_changed(struct ctxd_mcp *m)
{
	if (m->d.reserve) {
		m->d.reserve(m->d.send_ud, m->held_bytes);
	}
}

/* Write the answers a batch holds as one JSON array frame (one part of the batch's
 * answer). */
static void batch_flush(struct ctxd_mcp *m, struct ctxd_batch *b)
{
	if (b->n == 0) {
		return;
	}
	/* Take the answers out first: sending may call back into the engine (congestion)
	 * and flush batches again. */
	size_t n = b->n, bytes = b->bytes;
	b->n = 0;
	b->bytes = 0;
	size_t total = 2;
	for (size_t i = 0; i < n; i++) {
		total += b->lens[i]; /* each ends in '\n', which becomes ',' or ']' */
	}
	char *out = malloc(total + 1);
	size_t o = 0;
	if (out) {
		out[o++] = '[';
		for (size_t i = 0; i < n; i++) {
			memcpy(out + o, b->frames[i], b->lens[i] - 1);
			o += b->lens[i] - 1;
			out[o++] = i + 1 < n ? ',' : ']';
		}
		out[o++] = '\n';
	} else {
		ctxd_err("out of memory writing the answers of a batch");
	}
	for (size_t i = 0; i < n; i++) {
		free(b->frames[i]);
	}
	m->held_bytes -= bytes;
	if (out) {
		m->d.send(m->d.send_ud, out, o);
	}
	held_changed(m);
}

/* Keep one answer of a batch. A batch's answer leaves as one array frame when it is
 * complete, unless that array would pass the frame limit or the host is not reading
 * (the held bytes must not wait for workers that are held): then the answers held so far
 * leave as one part, an array of their own, and the rest follows in later parts. */
static void batch_add(struct ctxd_mcp *m, struct ctxd_batch *b, char *frame, size_t len)
{
	size_t limit = m->d.cfg->max_frame_bytes;
	if (b->n > 0 && b->bytes + len + 1 > limit) {
		batch_flush(m, b);
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		char **f = realloc(b->frames, cap * sizeof(*f));
		size_t *l = f ? realloc(b->lens, cap * sizeof(*l)) : NULL;
		if (f) {
			b->frames = f;
		}
		if (!f || !l) {
			free(frame);
			return;
		}
		b->lens = l;
		b->cap = cap;
	}
	b->frames[b->n] = frame;
	b->lens[b->n++] = len;
	b->bytes += len;
	m->held_bytes += len;
	held_changed(m);
	if (m->congested) {
		batch_flush(m, b);
	}
}

/* Drop one reference; the last one writes the rest of the batch's answer (nothing at all
 * when every element was a notification). */
static void batch_release(struct ctxd_mcp *m, struct ctxd_batch *b)
{
	if (--b->pending > 0) {
		return;
	}
	batch_flush(m, b);
	*(b->prev ? &b->prev->next : &m->batches) = b->next;
	if (b->next) {
		b->next->prev = b->prev;
	}
	free(b->frames);
	free(b->lens);
	free(b);
}

/* ---- capabilities, info ---- */

static bool any_completion(const struct ctxd_mcp *m)
{
	for (size_t i = 0; i < m->n_res; i++) {
		if (m->res[i]->complete) {
			return true;
		}
	}
	for (size_t i = 0; i < m->n_prompts; i++) {
		if (m->prompts[i]->complete) {
			return true;
		}
	}
	return false;
}

/* Only what is implemented is advertised (MCP 2025-11-25 basic/lifecycle). */
static json_t *server_capabilities(const struct ctxd_mcp *m, bool modern)
{
	json_t *caps = json_pack("{s:{s:b}}", "tools", "listChanged", 1);
	if (!modern) {
		json_object_set_new(caps, "logging", json_object());
	}
	if (m->n_res > 0) {
		/* resources/subscribe (legacy) and resourceSubscriptions of subscriptions/listen
		 * (modern) are the same index: offered when changes can be watched */
		bool subscribe = m->subs != NULL;
		json_object_set_new(caps, "resources",
				    json_pack("{s:b, s:b}", "subscribe", subscribe, "listChanged", 1));
	}
	if (m->n_prompts > 0) {
		json_object_set_new(caps, "prompts", json_pack("{s:b}", "listChanged", 1));
	}
	if (any_completion(m)) {
		json_object_set_new(caps, "completions", json_object());
	}
	if (m->extra_caps) {
		json_object_update(caps, m->extra_caps);
	}
	return caps;
}

static json_t *server_info(void)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "name", "ctxd", "title",
			 "ctxd: files, skills and memory bank", "version", CTXD_VERSION,
			 "description",
			 "Fast, sandboxed MCP server for project files, Agent Skills and memory banks");
}

/* ---- sandbox snapshots ---- */

static struct sbref *sb_get(struct ctxd_mcp *m)
{
	m->sb->refs++;
	return m->sb;
}

static void sb_put(struct ctxd_mcp *m, struct sbref *s)
{
	if (s && --s->refs == 0 && s != m->sb && s->owned) {
		ctxd_sandbox_destroy(s->sb);
		free(s);
	}
}

/* ---- requests on the pool ---- */

static void request_free(struct ctxd_mcp *m, struct mreq *q)
{
	json_decref(q->r.id);
	json_decref(q->r.args);
	json_decref(q->r.progress_token);
	free(q->r.key);
	free(q->r.out);
	json_decref(q->keep);
	m->sub_reserved -= q->reserved;
	free(q->raw.p);
	sb_put(m, q->sb);
	free(q);
}

/* Test hook, only with CTXD_TEST_HOOKS=1 in the environment at start-up: a request whose
 * _meta holds "ctxd.test/hold": true pauses on its worker right after its first progress
 * notification (or, without a progressToken, before its work starts) until the loop has
 * handled one more frame from the client, then carries on. Cancellation tests use it: the
 * client's next frame is its notifications/cancelled, so the request is certainly still
 * running when the cancel takes effect, however fast or loaded the machine is; and a
 * server that ignored the cancel still finishes the request and answers it, which the
 * test sees. With "ctxd.test/hold": "until-cancelled" only cancellation (the client's, or
 * the drain limit's at shutdown) ends the pause: the drain-limit tests use it. Worker. */
static void test_hold(struct mreq *q)
{
	if (!q->hold) {
		return;
	}
	q->hold = false;
	struct ctxd_mcp *m = q->r.server;
	struct timespec tick = {0, 1000 * 1000};
	while (!ctxd_job_cancelled(&q->r.job) &&
	       (q->hold_until == 0 ||
	        atomic_load_explicit(&m->frames_handled, memory_order_acquire) < q->hold_until)) {
		nanosleep(&tick, NULL);
	}
}

/* Worker: progress for this request, strictly increasing and at most ~10 per second.
 * The frame is built here and queued; the loop drops it if the response went first. */
static void progress_report(struct ctxd_progress *p, double progress, double total,
			    const char *message)
{
	struct prog *pg = (struct prog *)p;
	struct mreq *q = pg->q;
	struct ctxd_mcp *m = q->r.server;
	if (!q->r.progress_token || ctxd_job_cancelled(&q->r.job)) {
		return;
	}
	double now = mono_ms();
	if ((pg->any && progress <= pg->last_value) || (pg->any && now - pg->last_ms < 100.0)) {
		return;
	}
	pg->any = true;
	pg->last_ms = now;
	pg->last_value = progress;
	json_t *params = json_pack("{s:O, s:f}", "progressToken", q->r.progress_token, "progress",
				   progress);
	if (!params) {
		return;
	}
	if (total >= 0) {
		json_object_set_new(params, "total", json_real(total));
	}
	if (message) {
		json_object_set_new(params, "message", json_string(message));
	}
	struct note *n = calloc(1, sizeof(*n));
	if (!n) {
		json_decref(params);
		return;
	}
	n->kind = NOTE_PROGRESS;
	n->key = strdup(q->r.key);
	n->frame = ctxd_rpc_dump_new(ctxd_rpc_notification_new("notifications/progress", params),
				     &n->len);
	if (!n->key || !n->frame) {
		free(n->key);
		free(n->frame);
		free(n);
		return;
	}
	struct ctxd_notifier *nt = &m->notifier;
	pthread_mutex_lock(&nt->mu);
	if (nt->tail) {
		nt->tail->next = n;
	} else {
		nt->head = n;
	}
	nt->tail = n;
	pthread_mutex_unlock(&nt->mu);
	nt->wake(nt->wake_ud);
	test_hold(q);
}

static void map_provider_error(const struct ctxd_mcp *m, const struct ctxd_error *pe, bool modern,
			       bool resource, const char *uri, struct rpc_err *e)
{
	(void)m;
	if (pe->code < 0) { /* already a JSON-RPC code */
		set_err(e, pe->code, "%s", pe->msg[0] ? pe->msg : ctxd_rpc_code_message(pe->code));
		if (uri && pe->code == CTXD_RPC_RESOURCE_NOT_FOUND) {
			e->data = json_pack("{s:s}", "uri", uri);
		}
	} else if (pe->code == CTXD_PROVIDER_NOT_FOUND) {
		set_err(e, resource && !modern ? CTXD_RPC_RESOURCE_NOT_FOUND : CTXD_RPC_INVALID_PARAMS,
			"%s", pe->msg[0] ? pe->msg : "Not found");
		if (uri) {
			e->data = json_pack("{s:s}", "uri", uri);
		}
	} else if (pe->code == CTXD_PROVIDER_INVALID) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "%s", pe->msg);
	} else {
		set_err(e, CTXD_RPC_INTERNAL_ERROR, "%s", pe->msg[0] ? pe->msg : "Internal error");
	}
}

static json_t *w_tool(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
		      struct rpc_err *e);

/* The most bytes one answer frame may have (its newline not counted): the frame limit
 * bounds our answers as it bounds the host's requests; inside a batch, leave room for the
 * array's brackets. */
static size_t frame_limit(const struct ctxd_mcp *m, const struct mreq *q)
{
	return m->d.cfg->max_frame_bytes - (q->r.batch ? 2 : 0);
}

/* What req_work appends after a result a tool wrote itself (CTXD_TOOL_WRITTEN): the
 * modern era's resultType inside the result object, then the frame's closing brace. */
#define WRITTEN_MODERN ",\"resultType\":\"complete\"}"
static size_t written_tail(const struct mreq *q)
{
	return 1 + (q->r.modern ? sizeof(WRITTEN_MODERN) - 2 : 0);
}

/* Worker: the answer to `q` would pass `limit` bytes. A tool call gets an isError result
 * telling the model how to ask for less; any other request a JSON-RPC error. */
static char *too_big_answer(struct ctxd_mcp *m, struct mreq *q, size_t limit, size_t *len)
{
	(void)m;
	json_t *resp;
	if (q->work == w_tool) {
		const struct ctxd_tool *tool = q->target;
		json_t *r = ctxd_tool_error(
			"%s: the answer is larger than %zu bytes, the most one message may "
			"carry (limits.frame_bytes), so it was not sent. Ask for less in each "
			"call: fewer files per call, a window of a file (head, tail, offset and "
			"limit), a smaller maxDepth or maxResults, or a narrower path or pattern.",
			tool->name, limit);
		if (r && q->r.modern) {
			json_object_set_new(r, "resultType", json_string("complete"));
		}
		resp = r ? ctxd_rpc_result_new(q->r.id, r) : NULL;
	} else {
		char msg[CTXD_ERROR_MSG_MAX];
		snprintf(msg, sizeof(msg),
			 "Internal error: the answer is larger than %zu bytes, the most one "
			 "message may carry (limits.frame_bytes); ask for less, e.g. a narrower "
			 "request",
			 limit);
		resp = ctxd_rpc_error_new(q->r.id, CTXD_RPC_INTERNAL_ERROR, msg, NULL);
	}
	return ctxd_rpc_dump_new(resp, len);
}

/* Worker: run the method, serialise the whole response frame. */
static void req_work(struct ctxd_job *job)
{
	struct mreq *q = (struct mreq *)job;
	struct ctxd_mcp *m = q->r.server;
	if (!q->r.progress_token) {
		test_hold(q);
	}
	if (ctxd_job_cancelled(job)) {
		return;
	}
	q->prog.base.report = progress_report;
	q->prog.q = q;
	struct ctxd_provider_ctx ctx = {
		.cfg = m->d.cfg,
		.sandbox = q->sb->sb,
		.job = job,
		.progress = q->r.progress_token ? &q->prog.base : NULL,
	};
	struct rpc_err e = { 0 };
	json_t *result = q->work(m, q, &ctx, &e);
	if (ctxd_job_cancelled(job)) {
		json_decref(result);
		json_decref(e.data);
		return;
	}
	if (result == CTXD_TOOL_WRITTEN) {
		/* the tool wrote the frame's result into q->raw after ctxd_rpc_result_open, and
		 * left room for what follows (q->raw.max) */
		q->raw.max = 0;
		if (q->r.modern) {
			q->raw.len--; /* the result object's '}' */
			ctxd_strbuf_str(&q->raw, WRITTEN_MODERN);
		}
		ctxd_rpc_result_close(&q->raw);
		if (!q->raw.oom) {
			q->r.out = q->raw.p;
			q->r.out_len = q->raw.len;
			q->raw = (struct ctxd_strbuf){ 0 };
		}
		return;
	}
	bool written_too_big = q->raw.too_big;
	free(q->raw.p);
	q->raw = (struct ctxd_strbuf){ 0 };
	if (!result && written_too_big) {
		/* a tool writing its result itself reached the frame limit */
		json_decref(e.data);
		q->r.out = too_big_answer(m, q, frame_limit(m, q), &q->r.out_len);
		return;
	}
	json_t *resp;
	if (!result) {
		resp = ctxd_rpc_error_new(q->r.id, e.code ? e.code : CTXD_RPC_INTERNAL_ERROR,
					  e.msg[0] ? e.msg : "Internal error", e.data);
	} else {
		if (q->r.modern) {
			json_object_set_new(result, "resultType", json_string("complete"));
			if (q->cacheable) {
				json_object_set_new(result, "ttlMs", json_integer(0));
				json_object_set_new(result, "cacheScope", json_string("private"));
			}
		}
		resp = ctxd_rpc_result_new(q->r.id, result);
	}
	/* Never build a line the host cannot read: the frame limit bounds our answers as it
	 * bounds the host's requests (inside a batch, leave room for the array's brackets). */
	size_t limit = frame_limit(m, q);
	q->r.out = ctxd_rpc_dump_max(resp, limit, &q->r.out_len);
	bool too_big = !q->r.out && errno == E2BIG;
	json_decref(resp);
	if (too_big) {
		q->r.out = too_big_answer(m, q, limit, &q->r.out_len);
	}
}

/* Loop: the job finished (or was dropped before it ran). */
static void req_done(struct ctxd_job *job, bool dropped)
{
	struct mreq *q = (struct mreq *)job;
	struct ctxd_mcp *m = q->r.server;
	ctxd_session_remove(&m->sess, &q->r);
	if (!q->r.cancelled) {
		if (q->after && q->r.out) {
			q->after(m, q);
		}
		if (q->taken) {
			/* the after hook answered, or the request stays open (a listen stream) */
		} else if (q->r.out) {
			emit(m, q->r.batch, q->r.out, q->r.out_len);
			q->r.out = NULL;
		} else if (!dropped) {
			send_error(m, q->r.batch, q->r.id, CTXD_RPC_INTERNAL_ERROR,
				   "Internal error: out of memory", NULL);
		}
	}
	if (q->r.batch) {
		batch_release(m, q->r.batch);
	}
	request_free(m, q);
	if (m->sess.count == m->n_listens && m->d.idle) {
		m->d.idle(m->d.idle_ud);
	}
}

static bool roots_hold(struct ctxd_mcp *m, struct mreq *q);
static void roots_begin(struct ctxd_mcp *m);

/* Hand the request to the pool. Returns it, or NULL with `e` set. */
static struct mreq *submit_req(struct ctxd_mcp *m, const struct call *c, work_fn work,
			       after_fn after, const void *target, json_t *params, bool cacheable,
			       struct rpc_err *e)
{
	struct mreq *q = calloc(1, sizeof(*q));
	if (!q) {
		set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
		return NULL;
	}
	/* The worker gets its own references, not copies: the loop drops the frame's root
	 * right after dispatch and never touches these values again, and jansson's reference
	 * counts are atomic, so sharing the read-only subtree is safe. */
	q->r.id = json_incref(c->id);
	q->r.key = ctxd_session_id_key(c->id);
	q->r.args = json_is_object(params) ? json_incref(params) : json_object();
	q->r.modern = c->modern;
	q->r.server = m;
	q->r.batch = c->batch;
	q->work = work;
	q->after = after;
	q->target = target;
	q->cacheable = cacheable;
	q->sb = sb_get(m);
	json_t *meta = json_object_get(c->params, "_meta");
	json_t *tok = json_object_get(meta, "progressToken");
	if (json_is_string(tok) || json_is_integer(tok)) {
		q->r.progress_token = json_incref(tok);
	}
	json_t *hold = m->test_hooks ? json_object_get(meta, "ctxd.test/hold") : NULL;
	q->hold = json_is_true(hold) ||
	          (json_is_string(hold) && strcmp(json_string_value(hold), "until-cancelled") == 0);
	/* the frame carrying this request counts once it is handled: wait for the one after
	 * (0: until cancelled) */
	q->hold_until = json_is_true(hold)
	                    ? atomic_load_explicit(&m->frames_handled, memory_order_relaxed) + 2
	                    : 0;
	if (!q->r.id || !q->r.key || !q->r.args) {
		request_free(m, q);
		set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
		return NULL;
	}
	int rc = ctxd_session_add(&m->sess, &q->r);
	if (rc < 0) {
		request_free(m, q);
		if (rc == -EEXIST) {
			set_err(e, CTXD_RPC_INVALID_REQUEST,
				"Invalid Request: a request with this id is still in flight");
		} else {
			set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
		}
		return NULL;
	}
	if (q->r.batch) {
		q->r.batch->pending++;
	}
	if (roots_hold(m, q)) {
		return q;
	}
	ctxd_pool_submit(m->d.pool, &q->r.job, req_work, req_done);
	return q;
}

/* Hand the request to the pool. Returns ASYNC, or NULL with `e` set. */
static json_t *submit(struct ctxd_mcp *m, const struct call *c, work_fn work, after_fn after,
		      const void *target, json_t *params, bool cacheable, struct rpc_err *e)
{
	return submit_req(m, c, work, after, target, params, cacheable, e) ? ASYNC : NULL;
}

/* ---- pagination: opaque cursors (base64 of "ctxd:<list>:<offset>") ---- */

static json_t *make_cursor(const char *list, size_t offset)
{
	char raw[64];
	int n = snprintf(raw, sizeof(raw), "ctxd:%s:%zu", list, offset);
	char *enc = ctxd_base64_encode(raw, (size_t)n, NULL);
	json_t *cursor = enc ? json_string(enc) : NULL;
	free(enc);
	return cursor;
}

/* Returns the offset, or -1 for a cursor we did not issue. */
static long parse_cursor(json_t *cursor, const char *list, size_t total)
{
	if (!cursor || json_is_null(cursor)) {
		return 0;
	}
	if (!json_is_string(cursor) || json_string_length(cursor) == 0 ||
	    json_string_length(cursor) > 80 || json_string_length(cursor) % 4 != 0) {
		return -1;
	}
	char dec[96] = { 0 };
	size_t n;
	if (ctxd_base64_decode(json_string_value(cursor), json_string_length(cursor), dec, &n) < 0 ||
	    n >= sizeof(dec)) {
		return -1;
	}
	char prefix[40];
	snprintf(prefix, sizeof(prefix), "ctxd:%s:", list);
	size_t pl = strlen(prefix);
	if (strncmp(dec, prefix, pl) != 0) {
		return -1;
	}
	char *end;
	errno = 0;
	unsigned long off = strtoul(dec + pl, &end, 10);
	if (errno || end == dec + pl || *end != '\0' || off == 0 || off > total) {
		return -1;
	}
	return (long)off;
}

/* Cut `all` (stolen) to the page the cursor names; sets `key` (and nextCursor) in a new
 * result object. NULL with `e` set for a bad cursor. */
static json_t *paginate(struct ctxd_mcp *m, json_t *params, const char *list, const char *key,
			json_t *all, struct rpc_err *e)
{
	size_t total = json_array_size(all);
	long off = parse_cursor(json_object_get(params, "cursor"), list, total);
	if (off < 0) {
		json_decref(all);
		set_err(e, CTXD_RPC_INVALID_PARAMS, "Invalid params: unknown or expired cursor");
		return NULL;
	}
	size_t page = m->d.cfg->page_size ? m->d.cfg->page_size : 100;
	json_t *items = json_array();
	for (size_t i = (size_t)off; i < total && i < (size_t)off + page; i++) {
		json_array_append(items, json_array_get(all, i));
	}
	json_decref(all);
	json_t *result = json_pack("{s:o}", key, items);
	if (result && (size_t)off + page < total) {
		json_object_set_new(result, "nextCursor", make_cursor(list, (size_t)off + page));
	}
	return result;
}

/* ---- methods ---- */

static json_t *m_initialize(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	struct ctxd_session *s = &m->sess;
	if (s->era == CTXD_ERA_MODERN) {
		set_err(e, CTXD_RPC_INVALID_REQUEST,
			"initialize is not used in protocol %s: this connection already serves "
			"stateless requests", CTXD_MCP_MODERN_VERSION);
		return NULL;
	}
	if (s->initialize_answered) {
		set_err(e, CTXD_RPC_INVALID_REQUEST, "initialize was already received");
		return NULL;
	}
	json_t *pv = json_object_get(c->params, "protocolVersion");
	if (!json_is_string(pv)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"initialize: params.protocolVersion must be a string");
		return NULL;
	}
	json_t *caps = json_object_get(c->params, "capabilities");
	if (caps && !json_is_object(caps)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"initialize: params.capabilities must be an object");
		return NULL;
	}
	const char *want = json_string_value(pv);
	const char *chosen = legacy_versions[0];
	for (size_t i = 0; i < N_LEGACY; i++) {
		if (strcmp(want, legacy_versions[i]) == 0) {
			chosen = legacy_versions[i];
		}
	}
	s->era = CTXD_ERA_LEGACY;
	s->initialize_answered = true;
	snprintf(s->version, sizeof(s->version), "%s", chosen);
	json_decref(s->client_caps);
	s->client_caps = caps ? json_incref(caps) : json_object();
	m->client_has_roots = json_is_object(json_object_get(s->client_caps, "roots"));
	roots_begin(m);
	json_t *info = json_object_get(c->params, "clientInfo");
	json_decref(s->client_info);
	s->client_info = json_is_object(info) ? json_incref(info) : NULL;
	json_t *name = json_object_get(info, "name");
	json_t *ver = json_object_get(info, "version");
	ctxd_info("initialize: client %s %s asked for %s, using %s",
		  json_is_string(name) ? json_string_value(name) : "?",
		  json_is_string(ver) ? json_string_value(ver) : "?", want, chosen);
	return json_pack("{s:s, s:o, s:o, s:s*}", "protocolVersion", chosen, "capabilities",
			 server_capabilities(m, false), "serverInfo", server_info(), "instructions",
			 m->instructions);
}

static json_t *m_ping(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	(void)m;
	(void)c;
	(void)e;
	return json_object();
}

static json_t *m_discover(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	(void)c;
	(void)e;
	json_t *versions = json_pack("[s]", CTXD_MCP_MODERN_VERSION);
	for (size_t i = 0; i < N_LEGACY; i++) {
		json_array_append_new(versions, json_string(legacy_versions[i]));
	}
	return json_pack("{s:o, s:o, s:s*, s:{s:o}}", "supportedVersions", versions,
			 "capabilities", server_capabilities(m, true), "instructions",
			 m->instructions, "_meta", META_SERVER_INFO, server_info());
}

static json_t *m_set_level(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *lv = json_object_get(c->params, "level");
	enum ctxd_log_level level;
	if (!json_is_string(lv) || ctxd_log_level_parse(json_string_value(lv), &level) < 0 ||
	    level == CTXD_LOG_OFF || strcmp(json_string_value(lv), "warn") == 0) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"logging/setLevel: level must be one of debug, info, notice, warning, "
			"error, critical, alert, emergency");
		return NULL;
	}
	m->sess.client_log_set = true;
	m->sess.client_log_level = level;
	return json_object();
}


static json_t *w_tools_list(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
			    struct rpc_err *e)
{
	(void)ctx;
	json_t *all = json_array();
	size_t n = ctxd_registry_count(m->d.registry);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(all, ctxd_registry_entry(m->d.registry, i));
	}
	return paginate(m, q->r.args, "tools", "tools", all, e);
}

static json_t *m_tools_list(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	/* On a worker: descriptions may be computed (skill catalogue) and cost I/O. */
	return submit(m, c, w_tools_list, NULL, NULL, c->params, true, e);
}

static json_t *w_tool(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
		      struct rpc_err *e)
{
	const struct ctxd_tool *tool = q->target;
	struct ctxd_error err;
	json_t *args = json_object_get(q->r.args, "arguments");
	if (!json_is_object(args)) {
		args = NULL;
	}
	if (ctxd_registry_validate(m->d.registry, tool, args, &err) < 0) {
		return ctxd_tool_error("%s: invalid arguments: %s", tool->name, err.msg);
	}
	json_t *empty = args ? NULL : json_object();
	struct ctxd_tool_ctx tctx = {
		.cfg = ctx->cfg,
		.sandbox = ctx->sandbox,
		.job = ctx->job,
		.progress = ctx->progress,
		.ud = ctxd_registry_tool_ud(m->d.registry, tool),
		.deadline_ms = ctx->cfg->call_ms ? ctxd_clock_ms() + ctx->cfg->call_ms : 0,
		.pool = m->d.pool,
		.out = &q->raw,
	};
	/* A tool that writes its result itself appends it to the frame's start, within the
	 * frame limit less what req_work appends after it (see frame_limit). */
	ctxd_rpc_result_open(&q->raw, q->r.id);
	size_t start = q->raw.len;
	q->raw.max = frame_limit(m, q) - written_tail(q);
	json_t *result = tool->fn(&tctx, args ? args : empty);
	if (result != CTXD_TOOL_WRITTEN || q->raw.len <= start) {
		q->raw.len = 0;
		if (result == CTXD_TOOL_WRITTEN) {
			result = NULL; /* nothing written: a bug, answered as an internal error */
		}
	}
	json_decref(empty);
	if (!result) {
		set_err(e, CTXD_RPC_INTERNAL_ERROR,
			"Internal error: the tool could not build its result");
	}
	return result;
}

static json_t *m_tools_call(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *name = json_object_get(c->params, "name");
	if (!json_is_string(name)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "tools/call: params.name must be a string");
		return NULL;
	}
	json_t *args = json_object_get(c->params, "arguments");
	if (args && !json_is_object(args) && !json_is_null(args)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"tools/call: params.arguments must be an object");
		return NULL;
	}
	const struct ctxd_tool *tool = ctxd_registry_find(m->d.registry, json_string_value(name));
	if (!tool) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "Unknown tool: %s", json_string_value(name));
		e->data = json_pack("{s:O}", "name", name);
		return NULL;
	}
	return submit(m, c, w_tool, NULL, tool, c->params, false, e);
}

/* ---- resources ---- */

static const struct ctxd_resource_provider *provider_for(const struct ctxd_mcp *m, const char *uri)
{
	const char *colon = uri ? strchr(uri, ':') : NULL;
	if (!colon) {
		return NULL;
	}
	size_t n = (size_t)(colon - uri);
	for (size_t i = 0; i < m->n_res; i++) {
		if (strlen(m->res[i]->scheme) == n && strncmp(m->res[i]->scheme, uri, n) == 0) {
			return m->res[i];
		}
	}
	return NULL;
}

static json_t *w_resources_list(struct ctxd_mcp *m, struct mreq *q,
				const struct ctxd_provider_ctx *ctx, struct rpc_err *e)
{
	json_t *all = json_array();
	for (size_t i = 0; i < m->n_res; i++) {
		struct ctxd_error pe = { 0 };
		if (m->res[i]->list && m->res[i]->list(m->res[i]->ud, ctx, all, &pe) < 0) {
			ctxd_warn("resources/list: %s provider: %s", m->res[i]->scheme, pe.msg);
		}
		if (ctx->progress) {
			ctx->progress->report(ctx->progress, (double)(i + 1), (double)m->n_res,
					      m->res[i]->scheme);
		}
	}
	return paginate(m, q->r.args, "resources", "resources", all, e);
}

static json_t *m_resources_list(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	return submit(m, c, w_resources_list, NULL, NULL, c->params, true, e);
}

static json_t *m_templates_list(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *all = json_array();
	for (size_t i = 0; i < m->n_res; i++) {
		if (m->res[i]->templates) {
			m->res[i]->templates(m->res[i]->ud, all);
		}
	}
	return paginate(m, c->params, "templates", "resourceTemplates", all, e);
}

static json_t *w_resources_read(struct ctxd_mcp *m, struct mreq *q,
				const struct ctxd_provider_ctx *ctx, struct rpc_err *e)
{
	const struct ctxd_resource_provider *p = q->target;
	const char *uri = json_string_value(json_object_get(q->r.args, "uri"));
	struct ctxd_error pe = { 0 };
	json_t *contents = p->read(p->ud, ctx, uri, &pe);
	if (!contents) {
		map_provider_error(m, &pe, q->r.modern, true, uri, e);
		return NULL;
	}
	return json_pack("{s:o}", "contents", contents);
}

static const struct ctxd_resource_provider *resource_arg(struct ctxd_mcp *m, const struct call *c,
							 bool modern, struct rpc_err *e)
{
	json_t *uri = json_object_get(c->params, "uri");
	if (!json_is_string(uri) || json_string_length(uri) == 0) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "Invalid params: params.uri must be a string");
		return NULL;
	}
	if (strlen(json_string_value(uri)) != json_string_length(uri)) {
		/* providers see a C string: "x.md\u0000y" would read x.md */
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"Invalid params: params.uri contains a NUL character; give the URI "
			"without it");
		return NULL;
	}
	const struct ctxd_resource_provider *p = provider_for(m, json_string_value(uri));
	if (!p || !p->read) {
		set_err(e, modern ? CTXD_RPC_INVALID_PARAMS : CTXD_RPC_RESOURCE_NOT_FOUND,
			"Resource not found: %.300s", json_string_value(uri));
		e->data = json_pack("{s:O}", "uri", uri);
		return NULL;
	}
	return p;
}

static json_t *m_resources_read(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	const struct ctxd_resource_provider *p = resource_arg(m, c, c->modern, e);
	return p ? submit(m, c, w_resources_read, NULL, p, c->params, true, e) : NULL;
}

/* ---- subscriptions: resources/subscribe (legacy) and subscriptions/listen (modern) ----
 *
 * One index (m->subs) holds every (URI, holder) pair of both eras; the holder is the
 * legacy session (&m->sess) or a listen stream. limits.subscriptions caps the pairs plus
 * the open streams (plus those being set up) of the session. */

static size_t subs_held(const struct ctxd_mcp *m)
{
	return (m->subs ? ctxd_subs_count(m->subs) : 0) + m->n_listens + m->sub_reserved;
}

/* Room for `need` more subscriptions, or false with a -32602 error saying how to make
 * room. */
static bool subs_room(const struct ctxd_mcp *m, size_t need, struct rpc_err *e)
{
	size_t limit = m->d.cfg->max_subscriptions;
	size_t held = subs_held(m);
	if (need <= limit && held <= limit - need) {
		return true;
	}
	set_err(e, CTXD_RPC_INVALID_PARAMS,
		"Too many subscriptions: this session holds %zu of at most %zu "
		"(limits.subscriptions) and this request needs %zu more. Unsubscribe from "
		"resources or close subscriptions/listen streams first, or raise "
		"limits.subscriptions in the server's configuration",
		held, limit, need);
	e->data = json_pack("{s:I, s:I, s:I}", "held", (json_int_t)held, "limit",
			    (json_int_t)limit, "requested", (json_int_t)need);
	return false;
}

/* Worker: where changes of `uri` show on disk, as {uri, dir, name} (name "" when the URI
 * is a directory, watched itself; a file is watched through its directory). NULL when no
 * provider can watch it (unknown scheme, no such resource, outside the roots). */
static json_t *resolve_watch(const struct ctxd_mcp *m, const struct ctxd_provider_ctx *ctx,
			     const char *uri)
{
	const struct ctxd_resource_provider *p = provider_for(m, uri);
	char path[CTXD_PATH_MAX];
	if (!p || !p->watch_path || p->watch_path(p->ud, ctx, uri, path, sizeof(path)) < 0) {
		return NULL;
	}
	struct stat st;
	const char *dir = path, *name = "";
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		char *slash = strrchr(path, '/');
		if (!slash) {
			return NULL;
		}
		*slash = '\0';
		name = slash + 1;
		dir = path[0] ? path : "/";
	}
	return json_pack("{s:s, s:s, s:s}", "uri", uri, "dir", dir, "name", name);
}

/* Why a directory could not be watched, in words (errno from the watch). */
static const char *watch_failure(int err)
{
	switch (err) {
	case ENOSPC:
		return "the system's limit of inotify watches is reached "
		       "(raise fs.inotify.max_user_watches)";
	case ENOENT:
	case ENOTDIR:
		return "it no longer exists";
	case EACCES:
		return "permission denied";
	case ENOMEM:
		return "out of memory";
	default:
		return "the kernel refused to watch it";
	}
}

/* Loop: replace the answer the worker built with an error. */
static void replace_with_error(struct mreq *q, int code, const char *msg)
{
	free(q->r.out);
	q->r.out = ctxd_rpc_dump_new(ctxd_rpc_error_new(q->r.id, code, msg, NULL), &q->r.out_len);
}

static json_t *w_subscribe(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
			   struct rpc_err *e)
{
	const char *uri = json_string_value(json_object_get(q->r.args, "uri"));
	q->keep = resolve_watch(m, ctx, uri);
	if (!q->keep) {
		set_err(e, CTXD_RPC_RESOURCE_NOT_FOUND, "Resource not found: %.300s", uri);
		e->data = json_pack("{s:s}", "uri", uri);
		return NULL;
	}
	return json_object();
}

/* Loop: the watched path is known; add the subscription before answering. */
static void after_subscribe(struct ctxd_mcp *m, struct mreq *q)
{
	if (!q->keep) {
		return; /* the lookup failed: the error is the answer, nothing to watch */
	}
	const char *uri = json_string_value(json_object_get(q->keep, "uri"));
	const char *dir = json_string_value(json_object_get(q->keep, "dir"));
	if (ctxd_subs_add(m->subs, uri, dir, json_string_value(json_object_get(q->keep, "name")),
			  &m->sess) < 0) {
		char msg[640];
		snprintf(msg, sizeof(msg), "resources/subscribe %.200s: cannot watch %.200s: %s",
			 uri, dir, watch_failure(errno));
		ctxd_warn("%s", msg);
		replace_with_error(q, CTXD_RPC_INTERNAL_ERROR, msg);
	}
}

static json_t *m_subscribe(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	const struct ctxd_resource_provider *p = resource_arg(m, c, false, e);
	if (!p) {
		return NULL;
	}
	if (ctxd_subs_held(m->subs, json_string_value(json_object_get(c->params, "uri")),
			   &m->sess)) {
		return json_object(); /* already subscribed: idempotent */
	}
	if (!subs_room(m, 1, e)) {
		return NULL;
	}
	struct mreq *q = submit_req(m, c, w_subscribe, after_subscribe, p, c->params, false, e);
	if (!q) {
		return NULL;
	}
	q->reserved = 1;
	m->sub_reserved += 1;
	return ASYNC;
}

static json_t *m_unsubscribe(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *uri = json_object_get(c->params, "uri");
	if (!json_is_string(uri)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "Invalid params: params.uri must be a string");
		return NULL;
	}
	ctxd_subs_remove(m->subs, json_string_value(uri), &m->sess);
	return json_object();
}

/* The list_changed notifications, by enum ctxd_list_kind. */
static const char *const list_methods[] = {
	"notifications/tools/list_changed",
	"notifications/prompts/list_changed",
	"notifications/resources/list_changed",
};
static const char *const list_filter_keys[] = {
	"toolsListChanged",
	"promptsListChanged",
	"resourcesListChanged",
};
#define N_LISTS 3

/* Which lists have a listChanged capability (bit 1 << enum ctxd_list_kind). */
static unsigned lists_offered(const struct ctxd_mcp *m)
{
	unsigned bits = 1u << CTXD_LIST_TOOLS;
	if (m->n_prompts > 0) {
		bits |= 1u << CTXD_LIST_PROMPTS;
	}
	if (m->n_res > 0) {
		bits |= 1u << CTXD_LIST_RESOURCES;
	}
	return bits;
}

/* Send `method` on stream `L`: `params` (stolen; NULL = none) gets the stream's id in
 * _meta, as every message of a subscription carries it. */
static void listen_note(struct ctxd_mcp *m, struct listen *L, const char *method, json_t *params)
{
	if (!params) {
		params = json_object();
	}
	if (params) {
		json_object_set_new(params, "_meta",
				    json_pack("{s:O}", META_SUBSCRIPTION, L->r.id));
	}
	emit_json(m, NULL, ctxd_rpc_notification_new(method, params));
}

/* The first message of a stream: the subset of the filter the server honours. */
static void listen_ack(struct ctxd_mcp *m, struct listen *L)
{
	json_t *filter = json_object();
	for (int i = 0; i < N_LISTS; i++) {
		if (L->lists & (1u << i)) {
			json_object_set_new(filter, list_filter_keys[i], json_true());
		}
	}
	if (L->resources) {
		json_t *uris = json_array();
		for (size_t i = 0; i < L->n_uris; i++) {
			json_array_append_new(uris, json_string(L->uris[i]));
		}
		json_object_set_new(filter, "resourceSubscriptions", uris);
	}
	listen_note(m, L, "notifications/subscriptions/acknowledged",
		    json_pack("{s:o}", "notifications", filter));
}

/* Open stream `id` (borrowed) in the in-flight table. NULL on ENOMEM or when a request
 * with this id is in flight (`*dup` set). */
static struct listen *listen_open(struct ctxd_mcp *m, json_t *id, unsigned lists, bool resources,
				  bool *dup)
{
	struct listen *L = calloc(1, sizeof(*L));
	*dup = false;
	if (!L) {
		return NULL;
	}
	L->r.id = json_incref(id);
	L->r.key = ctxd_session_id_key(id);
	L->r.stream = true;
	L->r.server = m;
	L->lists = lists;
	L->resources = resources;
	int rc = L->r.key ? ctxd_session_add(&m->sess, &L->r) : -ENOMEM;
	if (rc < 0) {
		*dup = rc == -EEXIST;
		json_decref(L->r.id);
		free(L->r.key);
		free(L);
		return NULL;
	}
	L->next = m->listens;
	if (m->listens) {
		m->listens->prev = L;
	}
	m->listens = L;
	m->n_listens++;
	return L;
}

/* The graceful end of stream `id` (borrowed): the listen request's empty result, whose
 * _meta names the stream as every message of it does. */
static void send_stream_closed(struct ctxd_mcp *m, json_t *id)
{
	emit_json(m, NULL,
		  ctxd_rpc_result_new(id, json_pack("{s:s, s:{s:O}}", "resultType", "complete",
						    "_meta", META_SUBSCRIPTION, id)));
}

/* End stream `L`: drop its subscriptions; with `respond`, answer the listen request with
 * the empty result that tells the client the stream closed gracefully (shutdown). After
 * the client's notifications/cancelled nothing more is sent for it. */
static void listen_close(struct ctxd_mcp *m, struct listen *L, bool respond)
{
	for (size_t i = 0; i < L->n_uris; i++) {
		ctxd_subs_remove(m->subs, L->uris[i], L);
		free(L->uris[i]);
	}
	free(L->uris);
	ctxd_session_remove(&m->sess, &L->r);
	*(L->prev ? &L->prev->next : &m->listens) = L->next;
	if (L->next) {
		L->next->prev = L->prev;
	}
	m->n_listens--;
	if (respond) {
		send_stream_closed(m, L->r.id);
	}
	json_decref(L->r.id);
	free(L->r.key);
	free(L);
}

/* Worker: resolve where each requested URI's changes show on disk. */
static json_t *w_listen(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
			struct rpc_err *e)
{
	(void)e;
	json_t *uris = json_object_get(q->r.args, "uris");
	q->keep = json_array();
	size_t i;
	json_t *u;
	json_array_foreach(uris, i, u) {
		if ((i & 255) == 0 && ctxd_job_cancelled(ctx->job)) {
			break;
		}
		json_t *w = resolve_watch(m, ctx, json_string_value(u));
		if (w) {
			json_array_append_new(q->keep, w);
		}
	}
	return q->keep ? json_object() : NULL;
}

/* Loop: subscribe the stream to every URI that could be resolved and acknowledge it. The
 * listen request stays open: it is answered only when the server closes the stream. */
static void after_listen(struct ctxd_mcp *m, struct mreq *q)
{
	q->taken = true;
	if (m->closing) { /* shut down while the URIs were resolved: closed at once */
		send_stream_closed(m, q->r.id);
		return;
	}
	bool dup;
	unsigned lists = (unsigned)json_integer_value(json_object_get(q->r.args, "lists"));
	struct listen *L = listen_open(m, q->r.id, lists, true, &dup);
	size_t n = json_array_size(q->keep);
	if (L && n > 0 && !(L->uris = calloc(n, sizeof(*L->uris)))) {
		listen_close(m, L, false);
		L = NULL;
	}
	if (!L) {
		send_error(m, NULL, q->r.id,
			   dup ? CTXD_RPC_INVALID_REQUEST : CTXD_RPC_INTERNAL_ERROR,
			   dup ? "Invalid Request: a request with this id is in flight"
			       : "Internal error: out of memory",
			   NULL);
		return;
	}
	size_t i;
	json_t *w;
	json_array_foreach(q->keep, i, w) {
		const char *uri = json_string_value(json_object_get(w, "uri"));
		const char *dir = json_string_value(json_object_get(w, "dir"));
		char *copy = strdup(uri);
		if (!copy) {
			continue;
		}
		if (ctxd_subs_add(m->subs, uri, dir, json_string_value(json_object_get(w, "name")),
				  L) < 0) {
			ctxd_warn("subscriptions/listen: not subscribing to %.200s: cannot watch "
				  "%.200s: %s", uri, dir, watch_failure(errno));
			free(copy);
			continue;
		}
		L->uris[L->n_uris++] = copy;
	}
	listen_ack(m, L);
}

/* subscriptions/listen (MCP 2026-07-28): check the filter, agree to what can be
 * delivered, and open the stream (at once, or after a worker resolved its URIs). */
static json_t *m_listen(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *f = json_object_get(c->params, "notifications");
	if (!json_is_object(f)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"subscriptions/listen: params.notifications (the notification filter) must "
			"be an object");
		return NULL;
	}
	unsigned lists = 0, offered = lists_offered(m);
	for (int i = 0; i < N_LISTS; i++) {
		json_t *v = json_object_get(f, list_filter_keys[i]);
		if (v && !json_is_boolean(v)) {
			set_err(e, CTXD_RPC_INVALID_PARAMS,
				"subscriptions/listen: notifications.%s must be a boolean",
				list_filter_keys[i]);
			return NULL;
		}
		if (json_is_true(v) && (offered & (1u << i))) {
			lists |= 1u << i;
		}
	}
	json_t *rs = json_object_get(f, "resourceSubscriptions");
	if (rs && !json_is_array(rs)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"subscriptions/listen: notifications.resourceSubscriptions must be an "
			"array of resource URIs");
		return NULL;
	}
	size_t i;
	json_t *u;
	json_array_foreach(rs, i, u) {
		if (!json_is_string(u) || json_string_length(u) == 0 ||
		    strlen(json_string_value(u)) != json_string_length(u)) {
			set_err(e, CTXD_RPC_INVALID_PARAMS,
				"subscriptions/listen: notifications.resourceSubscriptions[%zu] "
				"must be a non-empty URI string without NUL characters",
				i);
			return NULL;
		}
	}
	/* resource updates are agreed when changes can be watched; each URI once */
	bool resources = rs && m->subs && m->n_res > 0;
	json_t *uris = json_array(), *seen = json_object();
	json_array_foreach(resources ? rs : NULL, i, u) {
		if (!json_object_get(seen, json_string_value(u))) {
			json_object_set_new(seen, json_string_value(u), json_true());
			json_array_append(uris, u);
		}
	}
	json_decref(seen);
	size_t n = json_array_size(uris);
	if (!subs_room(m, 1 + n, e)) {
		json_decref(uris);
		return NULL;
	}
	if (n == 0) {
		json_decref(uris);
		bool dup;
		struct listen *L = listen_open(m, c->id, lists, resources, &dup);
		if (!L) {
			set_err(e, dup ? CTXD_RPC_INVALID_REQUEST : CTXD_RPC_INTERNAL_ERROR,
				dup ? "Invalid Request: a request with this id is still in flight"
				    : "Internal error: out of memory");
			return NULL;
		}
		listen_ack(m, L);
		return ASYNC; /* answered only when the stream ends */
	}
	/* the providers resolve URIs against the filesystem: on a worker */
	json_t *args = json_pack("{s:o, s:I}", "uris", uris, "lists", (json_int_t)lists);
	struct mreq *q = args ? submit_req(m, c, w_listen, after_listen, NULL, args, false, e)
			      : NULL;
	json_decref(args);
	if (!q) {
		if (!args) {
			set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
		}
		return NULL;
	}
	q->reserved = 1 + n;
	m->sub_reserved += q->reserved;
	return ASYNC;
}

/* Loop: `uri` changed for `holder` (the legacy session or a listen stream). */
static void on_resource_changed(void *ud, const char *uri, void *holder)
{
	struct ctxd_mcp *m = ud;
	json_t *params = json_pack("{s:s}", "uri", uri);
	if (holder != &m->sess) {
		listen_note(m, holder, "notifications/resources/updated", params);
	} else if (m->sess.era == CTXD_ERA_LEGACY && m->sess.initialized) {
		emit_json(m, NULL, ctxd_rpc_notification_new("notifications/resources/updated",
							     params));
	} else {
		json_decref(params);
	}
}

/* Loop: the lists in `bits` changed: tell the legacy client (once it is initialized) and
 * every stream that asked for them. */
static void deliver_lists(struct ctxd_mcp *m, unsigned bits)
{
	bits &= lists_offered(m);
	bool legacy = m->sess.era == CTXD_ERA_LEGACY && m->sess.initialized;
	for (int i = 0; i < N_LISTS; i++) {
		if (!(bits & (1u << i))) {
			continue;
		}
		if (legacy) {
			emit_json(m, NULL, ctxd_rpc_notification_new(list_methods[i], NULL));
		}
		for (struct listen *L = m->listens; L; L = L->next) {
			if (L->lists & (1u << i)) {
				listen_note(m, L, list_methods[i], NULL);
			}
		}
	}
}

/* ---- prompts ---- */

static json_t *w_prompts_list(struct ctxd_mcp *m, struct mreq *q,
			      const struct ctxd_provider_ctx *ctx, struct rpc_err *e)
{
	json_t *all = json_array();
	for (size_t i = 0; i < m->n_prompts; i++) {
		struct ctxd_error pe = { 0 };
		if (m->prompts[i]->list(m->prompts[i]->ud, ctx, all, &pe) < 0) {
			ctxd_warn("prompts/list: %s", pe.msg);
		}
	}
	return paginate(m, q->r.args, "prompts", "prompts", all, e);
}

static json_t *m_prompts_list(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	return submit(m, c, w_prompts_list, NULL, NULL, c->params, true, e);
}

static json_t *w_prompts_get(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
			     struct rpc_err *e)
{
	const char *name = json_string_value(json_object_get(q->r.args, "name"));
	json_t *args = json_object_get(q->r.args, "arguments");
	for (size_t i = 0; i < m->n_prompts; i++) {
		struct ctxd_error pe = { 0 };
		json_t *r = m->prompts[i]->get(m->prompts[i]->ud, ctx, name, args, &pe);
		if (r) {
			return r;
		}
		if (pe.code != CTXD_PROVIDER_NOT_FOUND) {
			map_provider_error(m, &pe, q->r.modern, false, NULL, e);
			return NULL;
		}
	}
	set_err(e, CTXD_RPC_INVALID_PARAMS, "Unknown prompt: %.200s", name);
	return NULL;
}

static json_t *m_prompts_get(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *name = json_object_get(c->params, "name");
	json_t *args = json_object_get(c->params, "arguments");
	if (!json_is_string(name)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "Invalid params: params.name must be a string");
		return NULL;
	}
	if (args && !json_is_null(args)) {
		const char *k;
		json_t *v;
		if (!json_is_object(args)) {
			set_err(e, CTXD_RPC_INVALID_PARAMS,
				"Invalid params: params.arguments must be an object");
			return NULL;
		}
		json_object_foreach(args, k, v) {
			if (!json_is_string(v)) {
				set_err(e, CTXD_RPC_INVALID_PARAMS,
					"Invalid params: argument '%.100s' must be a string", k);
				return NULL;
			}
		}
	}
	return submit(m, c, w_prompts_get, NULL, NULL, c->params, false, e);
}

/* ---- completion ---- */

static json_t *w_complete(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
			  struct rpc_err *e)
{
	json_t *ref = json_object_get(q->r.args, "ref");
	json_t *arg = json_object_get(q->r.args, "argument");
	const char *type = json_string_value(json_object_get(ref, "type"));
	const char *aname = json_string_value(json_object_get(arg, "name"));
	const char *value = json_string_value(json_object_get(arg, "value"));
	json_t *context = json_object_get(json_object_get(q->r.args, "context"), "arguments");
	json_t *values = json_array();
	size_t total = 0;
	struct ctxd_error pe = { 0 };
	int rc = 0;
	bool known = false;
	if (strcmp(type, "ref/prompt") == 0) {
		const char *name = json_string_value(json_object_get(ref, "name"));
		for (size_t i = 0; i < m->n_prompts && !known; i++) {
			if (!m->prompts[i]->complete) {
				/* no completion offered: a prompt it lists completes to nothing */
				json_t *all = json_array();
				m->prompts[i]->list(m->prompts[i]->ud, ctx, all, &pe);
				size_t k;
				json_t *pr;
				json_array_foreach(all, k, pr) {
					const char *pn = json_string_value(json_object_get(pr, "name"));
					known |= pn && strcmp(pn, name) == 0;
				}
				json_decref(all);
				pe = (struct ctxd_error){ 0 };
				continue;
			}
			rc = m->prompts[i]->complete(m->prompts[i]->ud, ctx, name, aname, value,
						     context, values, &total, &pe);
			if (rc == 0 || pe.code != CTXD_PROVIDER_NOT_FOUND) {
				known = true; /* answered, or a real failure */
				break;
			}
			rc = 0; /* not this provider's prompt: try the next one */
			pe = (struct ctxd_error){ 0 };
		}
	} else {
		const char *uri = json_string_value(json_object_get(ref, "uri"));
		const struct ctxd_resource_provider *p = provider_for(m, uri);
		if (p && p->complete) {
			rc = p->complete(p->ud, ctx, uri, aname, value, context, values, &total, &pe);
			known = true;
		}
	}
	if (!known || rc < 0) {
		json_decref(values);
		if (!known) {
			set_err(e, CTXD_RPC_INVALID_PARAMS,
				"Invalid params: no prompt or resource template matches this ref");
		} else {
			map_provider_error(m, &pe, q->r.modern, false, NULL, e);
		}
		return NULL;
	}
	while (json_array_size(values) > 100) {
		json_array_remove(values, json_array_size(values) - 1);
	}
	size_t n = json_array_size(values);
	if (total < n) {
		total = n;
	}
	return json_pack("{s:{s:o, s:I, s:b}}", "completion", "values", values, "total",
			 (json_int_t)total, "hasMore", total > n);
}

static json_t *m_complete(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *ref = json_object_get(c->params, "ref");
	json_t *arg = json_object_get(c->params, "argument");
	const char *type = json_string_value(json_object_get(ref, "type"));
	bool prompt = type && strcmp(type, "ref/prompt") == 0;
	bool resource = type && strcmp(type, "ref/resource") == 0;
	if ((!prompt && !resource) ||
	    !json_is_string(json_object_get(ref, prompt ? "name" : "uri")) ||
	    !json_is_string(json_object_get(arg, "name")) ||
	    !json_is_string(json_object_get(arg, "value"))) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"Invalid params: completion/complete needs ref {type: ref/prompt, name} or "
			"{type: ref/resource, uri} and argument {name, value}");
		return NULL;
	}
	return submit(m, c, w_complete, NULL, NULL, c->params, false, e);
}

/* ---- extension methods ---- */

static json_t *w_ext(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
		     struct rpc_err *e)
{
	const struct ctxd_method_provider *p = q->target;
	struct ctxd_error pe = { 0 };
	json_t *r = p->call(p->ud, ctx, p->method, q->r.args, &pe);
	if (!r) {
		map_provider_error(m, &pe, q->r.modern, true,
				   json_string_value(json_object_get(q->r.args, "uri")), e);
	}
	return r;
}

static const struct ctxd_method_provider *find_ext(const struct ctxd_mcp *m, const char *name)
{
	for (size_t i = 0; i < m->n_ext; i++) {
		if (strcmp(m->ext[i]->method, name) == 0) {
			return m->ext[i];
		}
	}
	return NULL;
}

static const struct method methods[] = {
	{ "initialize", m_initialize, M_BEFORE_INIT | M_LEGACY | M_MODERN },
	{ "ping", m_ping, M_BEFORE_INIT | M_LEGACY },
	{ "server/discover", m_discover, M_BEFORE_INIT | M_LEGACY | M_MODERN | M_CACHEABLE },
	{ "logging/setLevel", m_set_level, M_LEGACY },
	{ "tools/list", m_tools_list, M_LEGACY | M_MODERN },
	{ "tools/call", m_tools_call, M_LEGACY | M_MODERN },
	{ "resources/list", m_resources_list, M_LEGACY | M_MODERN },
	{ "resources/templates/list", m_templates_list, M_LEGACY | M_MODERN | M_CACHEABLE },
	{ "resources/read", m_resources_read, M_LEGACY | M_MODERN },
	{ "resources/subscribe", m_subscribe, M_LEGACY },
	{ "resources/unsubscribe", m_unsubscribe, M_LEGACY },
	{ "prompts/list", m_prompts_list, M_LEGACY | M_MODERN },
	{ "prompts/get", m_prompts_get, M_LEGACY | M_MODERN },
	{ "completion/complete", m_complete, M_LEGACY | M_MODERN },
	{ "subscriptions/listen", m_listen, M_MODERN },
};

static const struct method *find_method(const char *name)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strcmp(methods[i].name, name) == 0) {
			return &methods[i];
		}
	}
	return NULL;
}

/* Is `meth` offered at all? Families decide resources/prompts/completion. */
static bool method_offered(const struct ctxd_mcp *m, const struct method *meth)
{
	if (strncmp(meth->name, "resources/", 10) == 0) {
		if (m->n_res == 0) {
			return false;
		}
		return strstr(meth->name, "subscribe") == NULL || m->subs != NULL;
	}
	if (strncmp(meth->name, "prompts/", 8) == 0) {
		return m->n_prompts > 0;
	}
	if (strcmp(meth->name, "completion/complete") == 0) {
		return any_completion(m);
	}
	return true;
}
static int check_modern(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *meta = json_object_get(c->params, "_meta");
	json_t *pv = json_object_get(meta, META_VERSION);
	if (!pv || m->sess.era == CTXD_ERA_LEGACY) {
		return 0;
	}
	if (!json_is_string(pv)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "_meta.%s must be a string", META_VERSION);
		return -1;
	}
	if (strcmp(json_string_value(pv), CTXD_MCP_MODERN_VERSION) != 0) {
		set_err(e, CTXD_RPC_UNSUPPORTED_VERSION, "Unsupported protocol version: %s",
			json_string_value(pv));
		e->data = json_pack("{s:[s], s:O}", "supported", CTXD_MCP_MODERN_VERSION,
				    "requested", pv);
		return -1;
	}
	if (!json_is_object(json_object_get(meta, META_CAPS))) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"_meta.%s is required and must be an object", META_CAPS);
		return -1;
	}
	return 1;
}

static void handle_request(struct ctxd_mcp *m, const struct ctxd_rpc_msg *msg,
			   struct ctxd_batch *b)
{
	struct call c = { .id = msg->id, .batch = b };
	struct rpc_err e = { 0 };
	if (msg->params && !json_is_object(msg->params)) {
		send_error(m, b, msg->id, CTXD_RPC_INVALID_PARAMS,
			   "Invalid params: MCP params must be an object", NULL);
		return;
	}
	c.params = msg->params;
	int modern = check_modern(m, &c, &e);
	if (modern < 0) {
		send_error(m, b, msg->id, e.code, e.msg, e.data);
		return;
	}
	c.modern = modern == 1;
	const struct method *meth = find_method(msg->method);
	const struct ctxd_method_provider *ext = meth ? NULL : find_ext(m, msg->method);
	unsigned need = c.modern ? M_MODERN : M_LEGACY;
	if (!ext && (!meth || !(meth->flags & need) || !method_offered(m, meth))) {
		char text[300];
		snprintf(text, sizeof(text), "Method not found: %.200s", msg->method);
		send_error(m, b, msg->id, CTXD_RPC_METHOD_NOT_FOUND, text, NULL);
		return;
	}
	bool before_init_ok = meth && (meth->flags & M_BEFORE_INIT);
	if (!c.modern && !m->sess.initialize_answered && !before_init_ok) {
		send_error(m, b, msg->id, CTXD_RPC_INVALID_PARAMS,
			   "Server not initialized: send initialize first, or carry "
			   "_meta." META_VERSION " (2026-07-28) in params",
			   NULL);
		return;
	}
	if (c.modern && m->sess.era == CTXD_ERA_NONE && strcmp(msg->method, "server/discover")) {
		m->sess.era = CTXD_ERA_MODERN;
		ctxd_info("serving the stateless %s era", CTXD_MCP_MODERN_VERSION);
	}
	json_t *result = meth ? meth->fn(m, &c, &e)
			      : submit(m, &c, w_ext, NULL, ext, c.params, true, &e);
	if (result == ASYNC) {
		return;
	}
	if (!result) {
		send_error(m, b, msg->id, e.code ? e.code : CTXD_RPC_INTERNAL_ERROR,
			   e.msg[0] ? e.msg : NULL, e.data);
		return;
	}
	if (c.modern || strcmp(msg->method, "server/discover") == 0) {
		json_object_set_new(result, "resultType", json_string("complete"));
		if (meth && (meth->flags & M_CACHEABLE)) {
			json_object_set_new(result, "ttlMs", json_integer(0));
			json_object_set_new(result, "cacheScope", json_string("private"));
		}
	}
	emit_json(m, b, ctxd_rpc_result_new(msg->id, result));
}


static void cancel_one(struct ctxd_mcp *m, struct ctxd_request *r)
{
	r->cancelled = true;
	ctxd_pool_cancel(m->d.pool, &r->job);
}

/* ---- roots (MCP 2025-11-25 client/roots) ---- */

static unsigned roots_timeout_ms(const struct ctxd_mcp *m)
{
	return m->d.cfg->roots_timeout_ms ? m->d.cfg->roots_timeout_ms : 10000;
}

static void send_roots_request(struct ctxd_mcp *m)
{
	struct pending_out *p = calloc(1, sizeof(*p));
	char id[32];
	snprintf(id, sizeof(id), "ctxd-roots-%u", ++m->next_out_id);
	if (!p || !(p->id = strdup(id))) {
		free(p);
		return;
	}
	p->deadline = mono_ms() + roots_timeout_ms(m);
	if (m->roots_wait) {
		m->roots_wait_deadline = p->deadline;
	}
	p->next = m->out_reqs;
	m->out_reqs = p;
	json_t *jid = json_string(id);
	emit_json(m, NULL, ctxd_rpc_request_new(jid, "roots/list", NULL));
	json_decref(jid);
}

/* Make `sb` (sealed, owned) the root set new requests see. */
static void roots_install(struct ctxd_mcp *m, struct ctxd_sandbox *sb)
{
	struct sbref *ref = calloc(1, sizeof(*ref));
	if (!ref) {
		ctxd_sandbox_destroy(sb);
		return;
	}
	ref->sb = sb;
	ref->owned = true;
	ref->refs = 1;
	struct sbref *old = m->sb;
	m->sb = ref;
	sb_put(m, old);
}

/* An empty root set whose refusals say why it is empty (`why` completes "no directory is
 * configured and the client ..."). */
static void roots_install_none(struct ctxd_mcp *m, const char *why)
{
	char note[400];
	snprintf(note, sizeof(note),
		 "no directory is configured and the client %s: start ctxd with one (ctxd DIR) "
		 "or list it under roots: in the config file",
		 why);
	struct ctxd_sandbox *sb = ctxd_sandbox_create();
	if (!sb) {
		return;
	}
	ctxd_sandbox_set_note(sb, note);
	ctxd_sandbox_seal(sb);
	roots_install(m, sb);
}

/* Pool requests wait while the first roots are awaited (legacy era, roots capability),
 * so that a call made between `initialized` and the client's answer gets the answer the
 * same call gets after it. Takes the request when it must wait. */
static bool roots_hold(struct ctxd_mcp *m, struct mreq *q)
{
	if (!m->roots_wait) {
		return false;
	}
	q->held_next = NULL;
	if (!m->held) {
		m->held_tail = &m->held;
	}
	*m->held_tail = q;
	m->held_tail = &q->held_next;
	return true;
}

/* The first roots are settled (answered, failed, timed out, or no more input can bring
 * them): run the waiting requests, in arrival order, on the root set now in force. */
static void roots_release(struct ctxd_mcp *m)
{
	m->roots_wait = false;
	struct mreq *q = m->held;
	m->held = NULL;
	while (q) {
		struct mreq *next = q->held_next;
		sb_put(m, q->sb);
		q->sb = sb_get(m);
		ctxd_pool_submit(m->d.pool, &q->r.job, req_work, req_done);
		q = next;
	}
}

/* initialize was answered: decide whether requests must wait for the client's roots. */
static void roots_begin(struct ctxd_mcp *m)
{
	if (m->client_has_roots) {
		m->roots_wait = true;
		m->roots_wait_deadline = mono_ms() + roots_timeout_ms(m);
	} else if (ctxd_sandbox_root_count(m->configured.sb) == 0) {
		roots_install_none(m, "does not offer roots");
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* file:///a%20b -> /a b. Returns 0 or -1 (not a local file URI, or a NUL byte). */
static int uri_to_path(const char *uri, char *out, size_t n)
{
	const char *p;
	if (strncmp(uri, "file:///", 8) == 0) {
		p = uri + 7;
	} else if (strncmp(uri, "file://localhost/", 17) == 0) {
		p = uri + 16;
	} else {
		return -1;
	}
	size_t o = 0;
	for (; *p && *p != '?' && *p != '#'; p++) {
		char c = *p;
		if (c == '%') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
			if (lo < 0) {
				return -1;
			}
			c = (char)(hi * 16 + lo);
			if (c == '\0') {
				return -1;
			}
			p += 2;
		}
		if (o + 1 >= n) {
			return -1;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return o > 0 ? 0 : -1;
}

/* `inner` equals `outer` or lies beneath it, component-wise (both canonical). */
static bool path_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);
	if (n == 1 && outer[0] == '/') {
		return true;
	}
	return strncmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

/* Worker: restrict this thread with the client-roots ruleset before its next job. */
static void enforce_on_worker(void *ud)
{
	if (ctxd_sandbox_landlock_enforce(*(int *)ud) < 0) {
		ctxd_log(CTXD_LOG_CRITICAL, "Landlock could not be enforced on a worker: %s",
			 strerror(errno));
	}
}

/* The first roots in client-roots mode fix the Landlock domain for the whole process:
 * later root changes can narrow within it, never widen it. */
static void landlock_client_roots(struct ctxd_mcp *m, const struct ctxd_sandbox *sb)
{
	if (!m->landlock_pending || m->landlock_fd >= 0 ||
	    ctxd_sandbox_root_count(sb) == 0) {
		return;
	}
	struct ctxd_error err = { 0 };
	int rs = ctxd_sandbox_landlock_ruleset(sb, m->landlock_extra, &err);
	if (rs < 0) {
		ctxd_warn("sandbox: %s", err.msg);
		return;
	}
	if (ctxd_sandbox_landlock_enforce(rs) < 0) {
		ctxd_warn("sandbox: Landlock could not be enforced: %s", strerror(errno));
		close(rs);
		return;
	}
	m->landlock_fd = rs;
	ctxd_pool_broadcast(m->d.pool, enforce_on_worker, &m->landlock_fd);
	ctxd_info("sandbox: Landlock active on the client's %zu root(s)",
		  ctxd_sandbox_root_count(sb));
}

/* Two root sets allow the same directories with the same access. */
static bool roots_same(const struct ctxd_sandbox *a, const struct ctxd_sandbox *b)
{
	size_t n = ctxd_sandbox_root_count(a);
	if (n != ctxd_sandbox_root_count(b)) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ctxd_root *x = ctxd_sandbox_root(a, i), *y = ctxd_sandbox_root(b, i);
		if (strcmp(x->path, y->path) != 0 || x->read_only != y->read_only) {
			return false;
		}
	}
	return true;
}

/* Append ", NAME" to a bounded list of root names for messages ("..." once it is full). */
static void roots_name_add(char *list, size_t n, const char *name)
{
	size_t l = strlen(list);
	if (l + 4 >= n || strcmp(list + (l > 3 ? l - 3 : 0), "...") == 0) {
		return;
	}
	int w = snprintf(list + l, n - l, "%s%s", l ? ", " : "", name);
	if (w < 0 || (size_t)w >= n - l) {
		snprintf(list + l, n - l, "%s...", l ? ", " : "");
	}
}

/* The policy (the client's roots may narrow the configured directories, never widen them,
 * never empty them):
 * - directories configured, the client sends no roots ([]): keep the configured ones;
 * - directories configured, roots overlapping them: the overlap (a root inside a configured
 *   directory, or a configured directory inside a root);
 * - directories configured, every root disjoint from them (or unusable): keep the configured
 *   ones, with a warning; a disjoint root is never allowed;
 * - nothing configured: the client's roots are the allowed set; with none usable, nothing
 *   is allowed and refusals say why.
 * Each resulting set carries a note naming its case, which refusals quote. Landlock, applied
 * at start-up to the configured directories, keeps holding whatever the client says; in
 * client-roots mode the first roots fix the Landlock domain. */
static void apply_roots(struct ctxd_mcp *m, json_t *roots)
{
	const struct ctxd_sandbox *conf = m->configured.sb;
	size_t nconf = ctxd_sandbox_root_count(conf);
	size_t given = json_array_size(roots), usable = 0;
	char outside[240] = "";
	struct ctxd_sandbox *sb = ctxd_sandbox_create();
	if (!sb) {
		return;
	}
	size_t i;
	json_t *r;
	json_array_foreach(roots, i, r) {
		const char *uri = json_string_value(json_object_get(r, "uri"));
		char path[CTXD_PATH_MAX];
		struct ctxd_error err;
		if (!uri || uri_to_path(uri, path, sizeof(path)) < 0) {
			ctxd_warn("roots/list: ignoring root '%.200s': not a file:// URI",
				  uri ? uri : "(none)");
			continue;
		}
		char *canon = realpath(path, NULL);
		if (!canon) {
			ctxd_warn("roots/list: ignoring root %.200s: %s", path, strerror(errno));
			continue;
		}
		usable++;
		if (nconf == 0 && ctxd_sandbox_add_root(sb, canon, m->d.cfg->read_only, &err) < 0) {
			ctxd_warn("roots/list: %s", err.msg);
		}
		bool overlap = false;
		for (size_t k = 0; k < nconf; k++) {
			const struct ctxd_root *cr = ctxd_sandbox_root(conf, k);
			const char *keep = path_within(canon, cr->path)	  ? canon
					   : path_within(cr->path, canon) ? cr->path
									  : NULL;
			overlap = overlap || keep;
			if (keep && ctxd_sandbox_add_root(sb, keep, cr->read_only, &err) < 0) {
				ctxd_warn("roots/list: %s", err.msg);
			}
		}
		if (nconf > 0 && !overlap) {
			roots_name_add(outside, sizeof(outside), canon);
		}
		free(canon);
	}
	char note[400];
	bool warn = outside[0] != '\0';
	if (nconf > 0 && ctxd_sandbox_root_count(sb) == 0) {
		/* never empty a configured set: keep it, as configured */
		ctxd_sandbox_destroy(sb);
		sb = ctxd_sandbox_create();
		if (!sb) {
			return;
		}
		for (size_t k = 0; k < nconf; k++) {
			const struct ctxd_root *cr = ctxd_sandbox_root(conf, k);
			struct ctxd_error err;
			if (ctxd_sandbox_add_root(sb, cr->given, cr->read_only, &err) < 0) {
				ctxd_warn("roots: %s", err.msg);
			}
		}
		if (given == 0) {
			snprintf(note, sizeof(note),
				 "the configured directories; the client sent no roots");
		} else if (usable == 0) {
			snprintf(note, sizeof(note),
				 "the configured directories; none of the client's roots is a "
				 "local directory");
		} else {
			snprintf(note, sizeof(note),
				 "the configured directories; the client's roots (%s) lie outside "
				 "them and are not allowed",
				 outside);
		}
	} else if (nconf > 0) {
		snprintf(note, sizeof(note),
			 "the client's roots within the configured directories%s%s%s",
			 warn ? "; the client's roots (" : "", outside,
			 warn ? ") lie outside them and are not allowed" : "");
	} else if (ctxd_sandbox_root_count(sb) > 0) {
		snprintf(note, sizeof(note), "the client's roots");
	} else {
		ctxd_sandbox_destroy(sb);
		roots_install_none(m, given == 0 ? "sent no roots"
						 : "sent no root that is a local directory");
		sb = NULL;
		warn = true;
	}
	if (sb) {
		ctxd_sandbox_set_note(sb, note);
		ctxd_sandbox_seal(sb);
		if (nconf == 0) {
			landlock_client_roots(m, sb);
		}
		roots_install(m, sb);
	}
	/* one line per new situation, not one per answer */
	const struct ctxd_sandbox *now = m->sb->sb;
	const char *said = ctxd_sandbox_note(now);
	said = said ? said : "the configured directories";
	if (!m->roots_logged || strcmp(m->roots_logged, said) != 0) {
		size_t n = ctxd_sandbox_root_count(now);
		const char *dirs = n == 1 ? "directory" : "directories";
		if (warn) {
			ctxd_warn("roots: %zu allowed %s: %s", n, dirs, said);
		} else {
			ctxd_info("roots: %zu allowed %s: %s", n, dirs, said);
		}
		free(m->roots_logged);
		m->roots_logged = strdup(said);
	}
}

/* The client's roots could not be had (an error answer, or none in time). The set in
 * force stays; with nothing configured and no roots yet, refusals say what happened. */
static void roots_failed(struct ctxd_mcp *m, const char *why)
{
	if (m->roots_wait && ctxd_sandbox_root_count(m->configured.sb) == 0) {
		roots_install_none(m, why);
	}
}

/* A new root set is in force: tell the families (skills follow the roots) and, when it
 * differs from one the client could already have listed, the client. */
static void roots_changed(struct ctxd_mcp *m, const struct ctxd_sandbox *before, bool first)
{
	const struct ctxd_sandbox *now = m->sb->sb;
	if (roots_same(before, now)) {
		return;
	}
	if (m->roots_fn) {
		m->roots_fn(m->roots_ud, now);
	}
	if (!first) { /* before the first roots every list request waited for them */
		ctxd_notify_list_changed(&m->notifier, CTXD_LIST_RESOURCES);
	}
}

static void handle_response(struct ctxd_mcp *m, const struct ctxd_rpc_msg *msg)
{
	const char *id = json_string_value(msg->id);
	struct pending_out **pp = &m->out_reqs;
	while (id && *pp && strcmp((*pp)->id, id) != 0) {
		pp = &(*pp)->next;
	}
	if (!id || !*pp) {
		ctxd_debug("dropping a response nobody waits for");
		return;
	}
	struct pending_out *p = *pp;
	*pp = p->next;
	free(p->id);
	free(p);
	struct sbref *before = sb_get(m);
	bool first = m->roots_wait;
	json_t *roots = json_object_get(msg->result, "roots");
	if (msg->error || !json_is_array(roots)) {
		const char *why = "the answer has no roots array";
		if (msg->error) {
			why = json_string_value(json_object_get(msg->error, "message"));
		}
		ctxd_warn("roots/list failed: %.200s; keeping the current directories",
			  why ? why : "(no message)");
		roots_failed(m, "answered roots/list with an error");
	} else {
		apply_roots(m, roots);
	}
	roots_changed(m, before->sb, first);
	sb_put(m, before);
	if (first) {
		roots_release(m);
	}
}

void ctxd_mcp_tick(struct ctxd_mcp *m, double now_ms)
{
	for (struct pending_out **pp = &m->out_reqs; *pp;) {
		struct pending_out *p = *pp;
		if (p->deadline > now_ms) {
			pp = &p->next;
			continue;
		}
		ctxd_warn("roots/list: no answer from the client within %u ms; keeping the current "
			  "directories", roots_timeout_ms(m));
		json_t *params = json_pack("{s:s, s:s}", "requestId", p->id, "reason", "timeout");
		emit_json(m, NULL, ctxd_rpc_notification_new("notifications/cancelled", params));
		*pp = p->next;
		free(p->id);
		free(p);
	}
	if (m->roots_wait && m->roots_wait_deadline <= now_ms) {
		char why[80];
		snprintf(why, sizeof(why), "did not answer roots/list within %u ms",
			 roots_timeout_ms(m));
		struct sbref *before = sb_get(m);
		roots_failed(m, why);
		roots_changed(m, before->sb, true);
		sb_put(m, before);
		roots_release(m);
	}
}

void ctxd_mcp_input_closed(struct ctxd_mcp *m)
{
	if (m->roots_wait) {
		ctxd_info("roots: input closed before the client's roots arrived; waiting "
			  "requests run on the current directories");
		struct sbref *before = sb_get(m);
		roots_failed(m, "closed its input before sending roots");
		roots_changed(m, before->sb, true);
		sb_put(m, before);
		roots_release(m);
	}
}

void ctxd_mcp_on_roots(struct ctxd_mcp *m, ctxd_roots_fn fn, void *ud)
{
	m->roots_fn = fn;
	m->roots_ud = ud;
}

static void handle_notification(struct ctxd_mcp *m, const struct ctxd_rpc_msg *msg)
{
	const char *method = msg->method;
	if (strcmp(method, "notifications/initialized") == 0) {
		if (m->sess.era == CTXD_ERA_LEGACY && !m->sess.initialized && m->client_has_roots) {
			send_roots_request(m);
		}
		m->sess.initialized = true;
	} else if (strcmp(method, "notifications/roots/list_changed") == 0) {
		if (m->sess.era == CTXD_ERA_LEGACY && m->sess.initialized && m->client_has_roots) {
			send_roots_request(m);
		}
	} else if (strcmp(method, "notifications/cancelled") == 0) {
		json_t *rid = json_object_get(msg->params, "requestId");
		struct ctxd_request *r = rid ? ctxd_session_find(&m->sess, rid) : NULL;
		if (r) {
			json_t *reason = json_object_get(msg->params, "reason");
			ctxd_debug("request %s cancelled by the client%s%s", r->key,
				   json_is_string(reason) ? ": " : "",
				   json_is_string(reason) ? json_string_value(reason) : "");
			if (r->stream) {
				listen_close(m, (struct listen *)r, false);
			} else {
				cancel_one(m, r);
			}
		}
	} else {
		ctxd_debug("ignoring notification %.200s", method);
	}
}
static void handle_message(struct ctxd_mcp *m, json_t *v, struct ctxd_batch *b)
{
	struct ctxd_rpc_msg msg;
	struct ctxd_error err;
	switch (ctxd_rpc_classify(v, &msg, &err)) {
	case CTXD_RPC_REQUEST:
		handle_request(m, &msg, b);
		break;
	case CTXD_RPC_NOTIFICATION:
		handle_notification(m, &msg);
		break;
	case CTXD_RPC_RESPONSE:
		handle_response(m, &msg);
		break;
	case CTXD_RPC_INVALID:
		/* A malformed notification (method, no id) is still never answered. */
		if (json_is_object(v) && json_object_get(v, "method") && !json_object_get(v, "id")) {
			ctxd_debug("ignoring a malformed notification: %s", err.msg);
			break;
		}
		send_error(m, b, msg.id, err.code, err.msg, NULL);
		break;
	}
}

static void handle_batch(struct ctxd_mcp *m, json_t *arr)
{
	if (json_array_size(arr) == 0) {
		send_error(m, NULL, NULL, CTXD_RPC_INVALID_REQUEST,
			   "Invalid Request: empty batch", NULL);
		return;
	}
	struct ctxd_batch *b = calloc(1, sizeof(*b));
	if (!b) {
		send_error(m, NULL, NULL, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory",
			   NULL);
		return;
	}
	b->pending = 1;
	b->next = m->batches;
	if (m->batches) {
		m->batches->prev = b;
	}
	m->batches = b;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		/* initialize may not be batched (2025-03-26 basic/lifecycle) */
		json_t *meth = json_object_get(v, "method");
		if (json_is_string(meth) && strcmp(json_string_value(meth), "initialize") == 0) {
			json_t *id = json_object_get(v, "id");
			send_error(m, b, json_is_string(id) || json_is_integer(id) ? id : NULL,
				   CTXD_RPC_INVALID_REQUEST,
				   "Invalid Request: initialize cannot be part of a batch", NULL);
			continue;
		}
		handle_message(m, v, b);
	}
	batch_release(m, b);
}

static void handle_frame(struct ctxd_mcp *m, const char *line, size_t len)
{
	if (!line) {
		char text[160];
		snprintf(text, sizeof(text),
			 "Parse error: message exceeds the %zu-byte frame limit and was dropped",
			 m->d.cfg->max_frame_bytes);
		ctxd_warn("%s", text);
		send_error(m, NULL, NULL, CTXD_RPC_PARSE_ERROR, text, NULL);
		return;
	}
	struct ctxd_error err;
	json_t *v = ctxd_rpc_parse(line, len, &err);
	if (!v) {
		send_error(m, NULL, NULL, CTXD_RPC_PARSE_ERROR, err.msg, NULL);
		return;
	}
	if (json_is_array(v)) {
		if (m->sess.era == CTXD_ERA_LEGACY && strcmp(m->sess.version, "2025-03-26") == 0) {
			handle_batch(m, v);
		} else {
			send_error(m, NULL, NULL, CTXD_RPC_INVALID_REQUEST,
				   "Invalid Request: JSON-RPC batches are only accepted with "
				   "protocol 2025-03-26",
				   NULL);
		}
	} else {
		handle_message(m, v, NULL);
	}
	json_decref(v);
}

void ctxd_mcp_handle_frame(struct ctxd_mcp *m, const char *line, size_t len)
{
	handle_frame(m, line, len);
	if (m->test_hooks) { /* after the frame took effect: see test_hold */
		atomic_fetch_add_explicit(&m->frames_handled, 1, memory_order_release);
	}
}

/* ---- log forwarding (logging capability) ---- */

static void log_sink(void *ud, enum ctxd_log_level level, const char *logger, const char *msg)
{
	struct ctxd_mcp *m = ud;
	if (m->sess.era != CTXD_ERA_LEGACY || !m->sess.client_log_set ||
	    level < m->sess.client_log_level || level >= CTXD_LOG_OFF) {
		return;
	}
	json_t *params = json_pack("{s:s, s:s, s:s}", "level", ctxd_log_level_name(level),
				   "logger", logger, "data", msg);
	if (params) {
		emit_json(m, NULL, ctxd_rpc_notification_new("notifications/message", params));
	}
}

/* ---- notifier ---- */

static void notifier_push(struct ctxd_notifier *n, struct note *note)
{
	pthread_mutex_lock(&n->mu);
	if (n->tail) {
		n->tail->next = note;
	} else {
		n->head = note;
	}
	n->tail = note;
	pthread_mutex_unlock(&n->mu);
	n->wake(n->wake_ud);
}

void ctxd_notify_list_changed(struct ctxd_notifier *n, enum ctxd_list_kind kind)
{
	struct note *note = n ? calloc(1, sizeof(*note)) : NULL;
	if (note) {
		note->kind = NOTE_LIST;
		note->list = (int)kind;
		notifier_push(n, note);
	}
}

void ctxd_notify_resource_updated(struct ctxd_notifier *n, const char *uri)
{
	struct note *note = n ? calloc(1, sizeof(*note)) : NULL;
	if (note && !(note->uri = strdup(uri))) {
		free(note);
		return;
	}
	if (note) {
		note->kind = NOTE_UPDATED;
		notifier_push(n, note);
	}
}

void ctxd_mcp_poll(struct ctxd_mcp *m)
{
	pthread_mutex_lock(&m->notifier.mu);
	struct note *n = m->notifier.head;
	m->notifier.head = m->notifier.tail = NULL;
	pthread_mutex_unlock(&m->notifier.mu);
	unsigned lists = 0;
	while (n) {
		struct note *next = n->next;
		if (n->kind == NOTE_PROGRESS) {
			struct ctxd_request *r = ctxd_session_find_key(&m->sess, n->key);
			if (r && !r->cancelled && !r->stream) { /* none after the response */
				emit(m, NULL, n->frame, n->len);
				n->frame = NULL;
			}
		} else if (n->kind == NOTE_LIST && n->list >= 0 && n->list < N_LISTS) {
			lists |= 1u << n->list;
		} else if (n->kind == NOTE_UPDATED && m->subs) {
			ctxd_subs_uri_changed(m->subs, n->uri); /* held back while congested */
		}
		free(n->uri);
		free(n->key);
		free(n->frame);
		free(n);
		n = next;
	}
	/* Server-initiated notifications only to whom may receive them: a legacy client
	 * after notifications/initialized, a stream that asked for them. While the host is
	 * not reading they are only remembered, each kind once. */
	if (m->congested) {
		m->lists_deferred |= lists;
	} else if (lists) {
		deliver_lists(m, lists);
	}
}

void ctxd_mcp_congested(struct ctxd_mcp *m, bool on)
{
	m->congested = on;
	if (m->subs) {
		ctxd_subs_defer(m->subs, on);
	}
	if (on) {
		/* answers held for unfinished batches leave now, so that the workers the loop
		 * holds are not needed before the host can drain what it is owed */
		for (struct ctxd_batch *b = m->batches; b; b = b->next) {
			batch_flush(m, b);
		}
	} else if (m->lists_deferred) {
		unsigned bits = m->lists_deferred;
		m->lists_deferred = 0;
		deliver_lists(m, bits);
	}
}

void ctxd_mcp_close_streams(struct ctxd_mcp *m)
{
	m->closing = true;
	while (m->listens) {
		listen_close(m, m->listens, true);
	}
}

void ctxd_mcp_landlock_client_roots(struct ctxd_mcp *m, const char *const *extra_ro)
{
	m->landlock_pending = true;
	m->landlock_extra = extra_ro;
}

struct ctxd_notifier *ctxd_mcp_notifier(struct ctxd_mcp *m)
{
	return &m->notifier;
}

/* ---- registration ---- */

#define APPEND(arr, n, item)                                                                \
	do {                                                                                \
		void *grown_ = realloc((void *)(arr), ((n) + 1) * sizeof(*(arr)));          \
		if (!grown_) {                                                              \
			return -1;                                                          \
		}                                                                           \
		(arr) = grown_;                                                             \
		(arr)[(n)++] = (item);                                                      \
	} while (0)

int ctxd_mcp_add_resource_provider(struct ctxd_mcp *m, const struct ctxd_resource_provider *p)
{
	APPEND(m->res, m->n_res, p);
	return 0;
}

int ctxd_mcp_add_prompt_provider(struct ctxd_mcp *m, const struct ctxd_prompt_provider *p)
{
	APPEND(m->prompts, m->n_prompts, p);
	return 0;
}

int ctxd_mcp_add_method(struct ctxd_mcp *m, const struct ctxd_method_provider *p)
{
	APPEND(m->ext, m->n_ext, p);
	return 0;
}

int ctxd_mcp_set_capability(struct ctxd_mcp *m, const char *key, json_t *value)
{
	if (!m->extra_caps && !(m->extra_caps = json_object())) {
		json_decref(value);
		return -1;
	}
	return json_object_set_new(m->extra_caps, key, value);
}

int ctxd_mcp_set_instructions(struct ctxd_mcp *m, const char *text)
{
	char *copy = NULL;
	if (text && !(copy = strdup(text))) {
		return -1;
	}
	free(m->instructions);
	m->instructions = copy;
	return 0;
}

/* ---- life cycle ---- */

struct ctxd_mcp *ctxd_mcp_create(const struct ctxd_mcp_deps *deps)
{
	struct ctxd_mcp *m = calloc(1, sizeof(*m));
	if (!m) {
		return NULL;
	}
	m->d = *deps;
	if (ctxd_session_init(&m->sess) < 0) {
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->notifier.mu, NULL);
	m->notifier.wake = deps->wake;
	m->notifier.wake_ud = deps->wake_ud;
	/* the configured sandbox is borrowed; it is never freed through a reference */
	m->configured.sb = (struct ctxd_sandbox *)deps->sandbox;
	m->configured.refs = 1;
	m->sb = &m->configured;
	m->landlock_fd = -1;
	if (deps->watch && !(m->subs = ctxd_subs_create(deps->watch, on_resource_changed, m))) {
		ctxd_mcp_destroy(m);
		return NULL;
	}
	const char *hooks = getenv("CTXD_TEST_HOOKS");
	m->test_hooks = hooks && strcmp(hooks, "1") == 0;
	atomic_init(&m->frames_handled, 0);
	ctxd_log_set_sink(log_sink, m);
	return m;
}

void ctxd_mcp_destroy(struct ctxd_mcp *m)
{
	if (!m) {
		return;
	}
	ctxd_log_set_sink(NULL, NULL);
	while (m->listens) {
		listen_close(m, m->listens, false);
	}
	ctxd_subs_destroy(m->subs);
	while (m->out_reqs) {
		struct pending_out *p = m->out_reqs;
		m->out_reqs = p->next;
		free(p->id);
		free(p);
	}
	for (struct note *n = m->notifier.head; n;) { /* undelivered: drop */
		struct note *next = n->next;
		free(n->uri);
		free(n->key);
		free(n->frame);
		free(n);
		n = next;
	}
	if (m->sb != &m->configured) {
		struct sbref *s = m->sb;
		m->sb = &m->configured;
		sb_put(m, s);
	}
	pthread_mutex_destroy(&m->notifier.mu);
	free(m->roots_logged);
	if (m->landlock_fd >= 0) {
		close(m->landlock_fd);
	}
	json_decref(m->extra_caps);
	free(m->instructions);
	free(m->res);
	free(m->prompts);
	free(m->ext);
	ctxd_session_finish(&m->sess);
	free(m);
}
size_t ctxd_mcp_inflight(const struct ctxd_mcp *m)
{
	return m->sess.count - m->n_listens; /* open streams are not work in flight */
}

static void cancel_cb(struct ctxd_request *r, void *ud)
{
	if (!r->stream) {
		cancel_one(ud, r);
	}
}

void ctxd_mcp_cancel_all(struct ctxd_mcp *m)
{
	ctxd_session_foreach(&m->sess, cancel_cb, m);
}
