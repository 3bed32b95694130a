/* mcp_priv.h - the protocol engine's state and what its sources share (mcp.c,
 * mcp_requests.c, mcp_resources.c, mcp_listen.c, mcp_roots.c). Internal to the protocol layer;
 * loop thread unless a function says otherwise. */
#ifndef CTXD_MCP_PRIV_H
#define CTXD_MCP_PRIV_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "ctxd/mcp.h"
#include "ctxd/rpc.h"
#include "ctxd/session.h"
#include "ctxd/subs.h"

#define META_VERSION      "io.modelcontextprotocol/protocolVersion"
#define META_CAPS         "io.modelcontextprotocol/clientCapabilities"
#define META_INFO         "io.modelcontextprotocol/clientInfo"
#define META_SERVER_INFO  "io.modelcontextprotocol/serverInfo"
#define META_SUBSCRIPTION "io.modelcontextprotocol/subscriptionId"
#define EXT_TASKS         "io.modelcontextprotocol/tasks"
#define META_TIMEOUT      "dev.ctxd/timeoutMs" /* per-request deadline on a call's work */

#include "mcp_tasks.h"

struct ctxd_batch {
	size_t pending; /* answers still owed, +1 while the batch is being dispatched */
	char **frames;  /* each a response frame ending in '\n' */
	size_t *lens;
	size_t n, cap;
	size_t bytes;                   /* held in `frames`: owed to the host, not yet queued */
	struct ctxd_batch *prev, *next; /* the engine's open batches */
};

struct sbref {
	struct ctxd_sandbox *sb; /* owned unless it is the configured one */
	bool owned;
	int refs;
};

struct note {
	struct note *next;
	int kind;    /* NOTE_* */
	int list;    /* enum ctxd_list_kind */
	char *uri;   /* NOTE_UPDATED */
	char *key;   /* NOTE_PROGRESS: the request's table key */
	char *frame; /* NOTE_PROGRESS: the serialised notification */
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
	unsigned lists; /* bit (1 << enum ctxd_list_kind) per list_changed agreed */
	char **uris;    /* resource subscriptions agreed (owned), each held in m->subs */
	size_t n_uris;
	bool resources;   /* resourceSubscriptions agreed (possibly empty) */
	json_t *task_ids; /* taskIds agreed (array of strings, owned), or NULL: not asked */
	struct listen *prev, *next;
};

struct pending_out {
	struct pending_out *next;
	char *id;        /* our request id (string) */
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
	json_t *extra_caps;      /* capabilities added by families */
	char *instructions;      /* initialize/server/discover `instructions` (owned), or NULL */
	struct sbref *sb;        /* the sandbox new requests see */
	struct sbref configured; /* the configured one (not owned) */
	struct ctxd_subs *subs;  /* resource subscriptions of both eras (NULL: no watch) */
	struct listen *listens;  /* open subscriptions/listen streams */
	size_t n_listens;
	size_t sub_reserved;        /* subscriptions counted while their paths are resolved */
	unsigned lists_deferred;    /* list_changed bits held while the host is not reading */
	bool congested;             /* the host is not reading: hold notifications, flush batches */
	bool closing;               /* shutdown: streams were closed, open no new ones */
	struct ctxd_batch *batches; /* batches with answers still owed */
	size_t held_bytes;          /* answers held in unfinished batches */
	struct pending_out *out_reqs;
	unsigned next_out_id;
	bool client_has_roots;
	int landlock_fd;                   /* ruleset enforced in client-roots mode, or -1 */
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
	char *roots_logged;        /* the note of the last root set logged (owned) */
	struct roots_job *roots_q; /* roots answers being resolved on a worker, oldest first */
	size_t roots_jobs;         /* how many (in flight: ctxd_mcp_inflight counts them) */
	ctxd_roots_fn roots_fn;
	void *roots_ud;
	struct sbref *mrtr_sb;    /* MRTR: the root set the next submitted request takes (owned) */
	struct sbref *mrtr_ready; /* MRTR: the resolved root set of the call run again (owned) */
	char principal[64];       /* who sends the frames now (ctxd_mcp_set_principal), or "" */
	size_t completed;         /* requests completed (ctxd_mcp_completed) */
	struct ctxd_status_ops status; /* ctxd://status (status.figures NULL: not offered) */
	struct ctxd_tasks tasks;       /* MCP tasks of both eras (mcp_tasks.c) */
};

/* What a method handler sees. */
struct call {
	json_t *id;
	json_t *params; /* object or NULL */
	bool modern;
	struct ctxd_batch *batch;
	const struct call_plan *plan; /* tools/call: applied to the request before submission */
};

/* A handler returns a new result object, or NULL with `e` filled (code, message, data),
 * or ASYNC when it handed the request to the pool. */
struct rpc_err {
	int code;
	char msg[CTXD_ERROR_MSG_MAX];
	json_t *data; /* new reference or NULL */
};

extern json_t ctxd_mcp_async_marker; /* mcp.c */
#define ASYNC (&ctxd_mcp_async_marker)

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
	json_t *keep;    /* worker -> loop private data (e.g. resolved watch paths) */
	size_t reserved; /* subscriptions counted for this request until it completes */
	bool taken;      /* the after hook answered (or chose silence) itself */
	struct prog prog;
	bool hold;                /* test hook: pause after the first progress (see test_hold) */
	unsigned long hold_until; /* ... until frames_handled reaches this */
	struct mreq *held_next;   /* waiting for the client's first roots (roots_hold) */
	struct ctxd_strbuf raw;   /* a response frame a tool wrote itself (CTXD_TOOL_WRITTEN) */
	bool nowait;              /* the loop thread's attempt is running (CTXD_TOOL_NOWAIT) */
	bool would_block;         /* ... and found that the call has to run on a worker */
	/* tools/call deadlines and tasks (mcp_tasks.c); loop thread unless marked */
	bool task_capable;          /* (worker) may become a task: leaves room in the frame,
				     * reports progress into status_text */
	struct ctxd_task *task;     /* the task it became, or NULL */
	bool batch_released;        /* its batch was released when it became a task */
	bool timed_out;             /* its deadline passed: the work was told to stop */
	int64_t budget_ms;          /* (worker) a search's budget (limits.call_ms); 0 = none */
	double start_ms;            /* mono_ms() at submission */
	double task_at;             /* mono_ms() time it becomes a task; 0 = never */
	double deadline_at;         /* mono_ms() time its work is cut off; 0 = none */
	unsigned timeout_ms;        /* the deadline in ms from the start, for the message */
	const char *timeout_key;    /* what set it (a config key or the _meta key) */
	bool timeout_override;      /* set by the request's _meta */
	bool task_now;              /* becomes a task as soon as it is submitted */
	long long ttl_req;          /* 2025-11-25 params.task.ttl, or -1 */
	struct mreq *tprev, *tnext; /* m->tasks.timed: requests with task_at or deadline_at */
	bool timed;
	char status_text[160]; /* (worker, under notifier.mu) the last progress, as words */
};

/* Fill `e` with `code` and a printf-style message. */
static inline void set_err(struct rpc_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void set_err(struct rpc_err *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	e->code = code;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

/* CLOCK_MONOTONIC in milliseconds. */
static inline double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The three lists with list_changed notifications (enum ctxd_list_kind). */
#define N_LISTS 3

/* mcp_output.c */
/* Drop the dispatcher's hold on batch `b`; the batch is written once nothing is owed. */
void ctxd_mcp_batch_release(struct ctxd_mcp *m, struct ctxd_batch *b);
/* Write out the answers a batch holds so far (congested host: in parts). */
void ctxd_mcp_batch_flush(struct ctxd_mcp *m, struct ctxd_batch *b);
/* Queue the response frame `frame` (owned, ends in '\n') alone or in batch `b`. */
void ctxd_mcp_emit(struct ctxd_mcp *m, struct ctxd_batch *b, char *frame, size_t len);
/* Serialise `msg` (stolen) and emit it. */
void ctxd_mcp_emit_json(struct ctxd_mcp *m, struct ctxd_batch *b, json_t *msg);
/* Emit a JSON-RPC error response for `id` (`data` stolen, may be NULL). */
void ctxd_mcp_send_error(struct ctxd_mcp *m, struct ctxd_batch *b, json_t *id, int code,
			 const char *msg, json_t *data);
/* mcp.c */
/* Worker side of tools/call: run the tool against the request's sandbox. Worker thread. */
json_t *ctxd_mcp_w_tool(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
			struct rpc_err *e);

/* mcp_listen.c */
/* Send list_changed for the lists in `bits` (1 << enum ctxd_list_kind) to the legacy
 * session and every listen stream that agreed to them. */
void ctxd_mcp_deliver_lists(struct ctxd_mcp *m, unsigned bits);
/* Close listen stream `L`, answering its request when `respond`. */
void ctxd_mcp_listen_close(struct ctxd_mcp *m, struct listen *L, bool respond);
/* The method handlers (m_*): a new result, ASYNC (handed to the pool), or NULL with `e`
 * set. Loop thread. */
json_t *ctxd_mcp_m_listen(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e);
json_t *ctxd_mcp_m_subscribe(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e);
json_t *ctxd_mcp_m_unsubscribe(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e);
/* The watcher's callback for a subscribed `uri` held by `holder` (a session or a stream). */
void ctxd_mcp_on_resource_changed(void *ud, const char *uri, void *holder);

/* mcp_errors.c: the one mapping from an error kind to a JSON-RPC error code. */
/* The JSON-RPC error code a failure of `kind` is answered with, for a client of the modern
 * era (2026-07-28) or not. Pure; any thread. */
int ctxd_mcp_error_code(enum ctxd_err_kind kind, bool modern);
/* Fill `e` with the JSON-RPC error for a provider's failure `pe`: its code for the era, its
 * message (a standard text when empty) and, for a resource not found, data {uri} when `uri`
 * is not NULL. Any thread. */
void ctxd_mcp_map_provider_error(const struct ctxd_error *pe, bool modern, const char *uri,
				 struct rpc_err *e);

/* mcp_requests.c */
/* The largest response frame request `q` may send (limits.frame_bytes). */
size_t ctxd_mcp_frame_limit(const struct ctxd_mcp *m, const struct mreq *q);
/* Page `all` (stolen) of list `list` under `key` by the cursor in `params`. */
json_t *ctxd_mcp_paginate(struct ctxd_mcp *m, json_t *params, const char *list, const char *key,
			  json_t *all, struct rpc_err *e);
/* The pool's completion (loop thread) and work (worker thread) of a request. */
void ctxd_mcp_req_done(struct ctxd_job *job, bool dropped);
void ctxd_mcp_req_work(struct ctxd_job *job);
/* Take and release a reference on the sandbox new requests see. */
struct sbref *ctxd_mcp_sb_get(struct ctxd_mcp *m);
void ctxd_mcp_sb_put(struct ctxd_mcp *m, struct sbref *s);
/* Hand a request to the pool (held first while the client's first roots are awaited):
 * ASYNC, or NULL with `e` set. ctxd_mcp_submit_req returns the request itself. */
json_t *ctxd_mcp_submit(struct ctxd_mcp *m, const struct call *c, work_fn work, after_fn after,
			const void *target, json_t *params, bool cacheable, struct rpc_err *e);
struct mreq *ctxd_mcp_submit_req(struct ctxd_mcp *m, const struct call *c, work_fn work,
				 after_fn after, const void *target, json_t *params, bool cacheable,
				 struct rpc_err *e);
/* As ctxd_mcp_submit; `*live` is set to the request while it is still running (on the pool,
 * or waiting for the client's roots), to NULL when it was answered on the loop thread. */
json_t *ctxd_mcp_submit_live(struct ctxd_mcp *m, const struct call *c, work_fn work, after_fn after,
			     const void *target, json_t *params, bool cacheable, struct rpc_err *e,
			     struct mreq **live);
/* The "ctxd.test/hold" test hook (inert without CTXD_TEST_HOOKS=1). Worker thread. */
void ctxd_mcp_test_hold(struct mreq *q);
/* Bytes a tool-written frame still needs after the result (the closing of the frame). */
size_t ctxd_mcp_written_tail(const struct mreq *q);

/* mcp_resources.c */
json_t *ctxd_mcp_m_complete(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e);
json_t *ctxd_mcp_m_prompts_get(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e);
json_t *ctxd_mcp_m_prompts_list(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e);
json_t *ctxd_mcp_m_resources_list(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e);
json_t *ctxd_mcp_m_resources_read(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e);
json_t *ctxd_mcp_m_templates_list(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e);
/* The provider whose scheme serves `uri`, or NULL. */
const struct ctxd_resource_provider *ctxd_mcp_provider_for(const struct ctxd_mcp *m,
							   const char *uri);
/* The provider of the request's `uri` argument, or NULL with `e` set. */
const struct ctxd_resource_provider *ctxd_mcp_resource_arg(struct ctxd_mcp *m, const struct call *c,
							   bool modern, struct rpc_err *e);

/* mcp_roots.c */
/* A response from the client to a request the server sent (roots/list). */
void ctxd_mcp_handle_response(struct ctxd_mcp *m, const struct ctxd_rpc_msg *msg);
/* Ask for the client's roots once it is initialised (when it offers them). */
void ctxd_mcp_roots_begin(struct ctxd_mcp *m);
/* True when request `q` was held until the first roots answer (it is submitted then). */
bool ctxd_mcp_roots_hold(struct ctxd_mcp *m, struct mreq *q);
/* Send roots/list to the client. */
void ctxd_mcp_send_roots_request(struct ctxd_mcp *m);
/* Forget the roots answers not yet resolved (engine destroyed; the pool is gone first). */
void ctxd_mcp_roots_finish(struct ctxd_mcp *m);
/* MRTR: build the call's own root set from the client's roots (`roots`, a roots/list result's
 * array; nothing configured) on a pool worker, then run the call (`method` with c's id and
 * params, copied) again on the loop thread with m->mrtr_ready holding that set (sealed; the
 * first one with a root fixes the Landlock domain, as the first roots/list answer does in the
 * legacy era). `hold`: the test hook (resolve once the next frame was handled). 0, or -1 on
 * ENOMEM. Loop thread. */
int ctxd_mcp_roots_defer(struct ctxd_mcp *m, const struct call *c, const char *method,
			 json_t *roots, bool hold);

/* mcp_mrtr.c */
/* The longest requestState accepted (those issued are 140 bytes). */
#define CTXD_MRTR_STATE_MAX 256
/* The MRTR step of a tools/call or resources/read (`method`) before it is submitted: NULL with
 * e->code 0 to go on (with m->mrtr_sb set to the call's own root set when the retry carried
 * them: the call runs again once they are resolved), ASYNC when the retry's roots are being
 * resolved on a worker, the InputRequiredResult to answer, or NULL with `e` set (-32602: a bad
 * requestState or inputResponses). Loop thread. */
json_t *ctxd_mcp_mrtr_roots(struct ctxd_mcp *m, const struct call *c, const char *method,
			    struct rpc_err *e);

#endif
