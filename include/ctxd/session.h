/* session.h - per-connection protocol state owned by the loop thread: the negotiated era
 * and version, the client's capabilities and log level, and the table of in-flight
 * requests keyed by JSON-RPC id (MCP 2025-11-25 basic/lifecycle, basic/utilities/cancellation).
 * Nothing here is touched by worker threads.
 */
#ifndef CTXD_SESSION_H
#define CTXD_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctxd/log.h"
#include "ctxd/pool.h"

enum ctxd_era {
	CTXD_ERA_NONE = 0, /* nothing decided yet */
	CTXD_ERA_LEGACY,   /* initialize handshake (2024-11-05 .. 2025-11-25) */
	CTXD_ERA_MODERN,   /* stateless 2026-07-28: version in every request's _meta */
};

struct ctxd_batch;

/* One request being worked on. The job is embedded so the pool needs no allocation.
 * Fields marked (worker) are read by the worker while the job runs; the loop leaves them
 * alone until the job's done callback. */
struct ctxd_request {
	struct ctxd_job job; /* must stay first */
	json_t *id;          /* owned copy of the request id (worker: echoed) */
	char *key;           /* hash key derived from the id (owned) */
	struct ctxd_request *hnext;
	bool in_table;
	bool cancelled;           /* notifications/cancelled arrived: answer nothing */
	bool stream;              /* an open subscriptions/listen stream, not pool work: it stays
				   * in the table (its id taken) until it is closed */
	bool modern;              /* (worker) answer in the 2026-07-28 shape */
	struct ctxd_batch *batch; /* non-NULL inside a 2025-03-26 batch */
	json_t *progress_token;   /* owned, or NULL */
	json_t *args;             /* (worker) owned */
	void *server;             /* back pointer for callbacks */
	char *out;                /* (worker) the serialised response frame */
	size_t out_len;
};

struct ctxd_session {
	enum ctxd_era era;
	bool initialize_answered; /* legacy: initialize answered */
	bool initialized;         /* legacy: notifications/initialized received */
	char version[32];         /* negotiated protocol version */
	json_t *client_caps;      /* owned, or NULL */
	json_t *client_info;      /* owned, or NULL */
	bool client_log_set;      /* logging/setLevel received */
	enum ctxd_log_level client_log_level;
	/* in-flight table */
	struct ctxd_request **buckets;
	size_t nbuckets, count;
};

/* Initialise empty state. Returns 0 or -1 (ENOMEM). */
int ctxd_session_init(struct ctxd_session *s);

/* Free owned state (not the requests in the table: their owners do). */
void ctxd_session_finish(struct ctxd_session *s);

/* Make the table key for `id` (string or integer; "s:" / "i:" prefix keeps "1" and 1
 * apart). Returns a malloc'd string, or NULL on ENOMEM or for another JSON type. */
char *ctxd_session_id_key(const json_t *id);

/* Add `req` (req->key set) to the in-flight table. Returns 0, or -EEXIST when a request
 * with the same id is in flight, or -ENOMEM. */
int ctxd_session_add(struct ctxd_session *s, struct ctxd_request *req);

/* Find the in-flight request with `id` (borrowed), or NULL. */
struct ctxd_request *ctxd_session_find(struct ctxd_session *s, const json_t *id);

/* Find the in-flight request whose table key is `key`, or NULL. */
struct ctxd_request *ctxd_session_find_key(struct ctxd_session *s, const char *key);

/* Remove `req` from the table (no-op when absent). */
void ctxd_session_remove(struct ctxd_session *s, struct ctxd_request *req);

/* Call `fn` for every in-flight request (the table must not change during the walk). */
void ctxd_session_foreach(struct ctxd_session *s, void (*fn)(struct ctxd_request *, void *),
			  void *ud);

#endif
