/* mcp_tasks.h - MCP tasks in both eras and per-call deadlines: the task table of one engine
 * (one struct ctxd_mcp, so one per session), the tools/call requests that may become tasks
 * or have a deadline, and the methods tasks/get, tasks/result, tasks/list, tasks/cancel and
 * tasks/update. Internal to the protocol layer (included by mcp_priv.h); loop thread only.
 *
 * Eras: 2026-07-28, the extension io.modelcontextprotocol/tasks (ext-tasks
 * specification/draft/tasks.md): the server decides, after tasks.after_ms, to answer a
 * tools/call with a CreateTaskResult (resultType "task") when the request declared the
 * extension; tasks/get, tasks/update, tasks/cancel; notifications/tasks on
 * subscriptions/listen. 2025-11-25 basic/utilities/tasks (experimental): a tools/call
 * carrying params.task is answered with {task} at once; tasks/get, tasks/result (blocks
 * until the task ends), tasks/list, tasks/cancel; notifications/tasks/status. */
#ifndef CTXD_MCP_TASKS_H
#define CTXD_MCP_TASKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct ctxd_mcp;
struct ctxd_batch;
struct mreq;
struct call;
struct rpc_err;

enum task_status { TASK_WORKING, TASK_COMPLETED, TASK_FAILED, TASK_CANCELLED };

/* A legacy tasks/result request waiting for its task to end. */
struct task_waiter {
	struct task_waiter *next;
	json_t *id; /* owned */
	struct ctxd_batch *batch;
};

struct ctxd_task {
	char id[33]; /* 32 hex digits: unguessable (HMAC of a counter under a per-process key) */
	enum task_status status;
	bool modern;                  /* 2026-07-28 shape, else 2025-11-25 */
	struct timespec created_wall; /* CLOCK_REALTIME, for createdAt */
	struct timespec updated_wall; /* for lastUpdatedAt */
	double created_ms;            /* mono_ms() */
	double expires_ms;            /* mono_ms() time it is freed; 0 while working */
	long long ttl_ms;             /* reported ttl(Ms): from creation, grows when it ends */
	unsigned keep_ms;             /* how long it is kept after it ended */
	char *status_msg;             /* owned, or NULL */
	json_t *outcome;              /* completed: the CallToolResult; failed: the error */
	struct mreq *q;               /* the work, while it runs */
	struct task_waiter *waiters;
	struct ctxd_task *next;
};

#define TASK_TOMBSTONES 64

struct ctxd_tasks {
	struct ctxd_task *head;
	size_t count;       /* tasks held (working or ended and not expired) */
	size_t jobs;        /* tasks whose work still runs on the pool */
	struct mreq *timed; /* tools/call requests with a threshold or a deadline */
	unsigned char key[32];
	unsigned long long serial;
	/* ids of the last tasks that expired, to tell "expired" from "unknown" */
	char expired[TASK_TOMBSTONES][33];
	size_t n_expired;
	double next_expiry; /* mono_ms() of the earliest expiry; 0 = none */
};

/* Set up / free the table (ctxd_mcp_create / ctxd_mcp_destroy). Init returns 0 or -1. */
int ctxd_mcp_tasks_init(struct ctxd_mcp *m);
void ctxd_mcp_tasks_finish(struct ctxd_mcp *m);

/* What a tools/call will be: decided before it is submitted (the worker reads part of it). */
struct call_plan {
	bool task_capable;   /* may become a task */
	bool task_now;       /* becomes one at once (2025-11-25 params.task, tasks.after_ms 0) */
	long long ttl_req;   /* 2025-11-25 params.task.ttl, or -1 */
	long long budget_ms; /* a search's budget (limits.call_ms), 0 = none */
	unsigned timeout_ms; /* deadline on the work, 0 = none */
	const char *timeout_key;
	bool timeout_override;
};

/* tools/call: decide the request's deadline, search budget and whether it may become a
 * task, from the config, its _meta and (2025-11-25) params.task. Returns 0, or -1 with `e`
 * set (a bad _meta value, params.task on a tool that is never a task, the tasks.max cap).
 * `tool` is the struct ctxd_tool. */
int ctxd_mcp_call_plan(struct ctxd_mcp *m, const struct call *c, const void *tool,
		       struct call_plan *p, struct rpc_err *e);

/* Copy the plan into the request before it is submitted (ctxd_mcp_submit_req). */
void ctxd_mcp_plan_apply(struct mreq *q, const struct call_plan *p);

/* After submission: arm the threshold and deadline of `q` (a tools/call) and, when it is to
 * be a task at once, make it one and return the CreateTaskResult (NULL with `e` set on
 * failure). Returns ASYNC when nothing is to be answered now. */
json_t *ctxd_mcp_call_started(struct ctxd_mcp *m, struct mreq *q, struct rpc_err *e);

/* The pool finished `q` (loop, from ctxd_mcp_req_done). Returns true when `q` was a task
 * (its outcome is stored in the task; nothing is to be answered for the request), false
 * for a plain request: then a deadline that passed has replaced a missing answer. */
bool ctxd_mcp_call_done(struct ctxd_mcp *m, struct mreq *q, bool dropped);

/* Housekeeping at `now_ms` (mono_ms() clock): thresholds, deadlines, expiry. */
void ctxd_mcp_tasks_tick(struct ctxd_mcp *m, double now_ms);

/* Stop the work of every running task (the client's input closed, or shutdown ran out of
 * time): they end cancelled. */
void ctxd_mcp_tasks_cancel_all(struct ctxd_mcp *m);

/* Tasks are offered: tasks.max > 0 and, in the legacy era, protocol 2025-11-25. */
bool ctxd_mcp_tasks_on(const struct ctxd_mcp *m, bool modern);

/* The capability objects advertised: legacy `tasks`, modern extensions entry; NULL when
 * tasks are not offered. */
json_t *ctxd_mcp_tasks_capability(const struct ctxd_mcp *m, bool modern);

/* True when the request's per-request client capabilities declare the tasks extension. */
bool ctxd_mcp_declares_tasks(const struct call *c);

/* The task with `id`, or NULL. */
struct ctxd_task *ctxd_mcp_task_find(struct ctxd_mcp *m, const char *id);

/* Method handlers (tasks/get, tasks/result, tasks/list, tasks/cancel, tasks/update). */
json_t *ctxd_mcp_m_tasks_get(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e);
json_t *ctxd_mcp_m_tasks_result(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e);
json_t *ctxd_mcp_m_tasks_list(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e);
json_t *ctxd_mcp_m_tasks_cancel(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e);
json_t *ctxd_mcp_m_tasks_update(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e);

/* The -32021 error for a modern request that did not declare the extension. */
void ctxd_mcp_tasks_missing(struct rpc_err *e, const char *what);

/* mcp_listen.c: send `task` (its notifications/tasks form, stolen) on every stream that
 * agreed to its id. */
void ctxd_mcp_listen_task(struct ctxd_mcp *m, const char *id, json_t *params);

#endif
