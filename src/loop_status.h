/* loop_status.h - the runtime's own figures (internal to the runtime layer): event-loop lag,
 * uptime, and what ctxd://status, the minute log line and (HTTP) GET /metrics report. Loop
 * thread only. */
#ifndef CTXD_LOOP_STATUS_H
#define CTXD_LOOP_STATUS_H

#include <ev.h>
#include <stddef.h>

#include "ctxd/http_server.h"
#include "ctxd/mcp.h"
#include "ctxd/pool.h"
#include "ctxd/transport.h"

/* Lag samples kept: one per LAG_PERIOD_MS over the last minute. */
#define CTXD_LAG_PERIOD_MS 100
#define CTXD_LAG_SAMPLES   (60000 / CTXD_LAG_PERIOD_MS)

/* Where the figures come from (borrowed; they must outlive the status). Over stdio `tr`,
 * `mcp` and `reserved` (the answer bytes the engine holds for unfinished batches, owed to
 * the host like queued ones); in HTTP mode `http` instead (figures over every engine, plus
 * sessions and connections), the others NULL. */
struct ctxd_status_src {
	struct ev_loop *ev;
	struct ctxd_pool *pool;
	struct ctxd_transport *tr;
	struct ctxd_mcp *mcp;
	const size_t *reserved;
	struct ctxd_http_server *http;
};

/* Upper bounds (seconds) of the event-loop lag histogram's buckets (GET /metrics). */
#define CTXD_LAG_BUCKETS 11
extern const double ctxd_lag_bounds[CTXD_LAG_BUCKETS];

/* The event-loop lag: over the last minute (what ctxd://status reports; `samples` 0: no
 * percentile) and, since start, every sample counted in its bucket (not cumulative; the
 * last one is +Inf) with their sum. */
struct ctxd_lag_stats {
	size_t samples;
	double p50_ms, p99_ms;
	unsigned long long buckets[CTXD_LAG_BUCKETS + 1];
	unsigned long long count;
	double sum_s;
};

struct ctxd_loop_status;

/* Start measuring (a 100 ms timer that does not keep the loop alive) and offer ctxd://status
 * through the engine (ctxd_mcp_set_status). Returns NULL on ENOMEM (nothing offered). */
struct ctxd_loop_status *ctxd_loop_status_start(const struct ctxd_status_src *src);

/* `n` pool jobs completed (the minute log line is written only for minutes in which a request
 * or a pool job ran). */
void ctxd_loop_status_ran(struct ctxd_loop_status *st, size_t n);

/* Open /proc/self/statm for the rss_bytes figure while the filesystem is still open to the
 * process: call before Landlock is applied (after it, /proc is out of reach and rss_bytes
 * would be null). Idempotent; the descriptor stays open for the process's life. Main
 * thread, at start-up. */
void ctxd_loop_status_preopen(void);

/* The lag figures now (see struct ctxd_lag_stats). */
void ctxd_loop_status_lag(const struct ctxd_loop_status *st, struct ctxd_lag_stats *out);

/* Stop the timer and free. NULL-safe. */
void ctxd_loop_status_stop(struct ctxd_loop_status *st);

/* The p-th percentile (0 < p <= 100, nearest rank) of `v[0..n)`, which it sorts in place;
 * n > 0. */
double ctxd_lag_percentile(float *v, size_t n, unsigned p);

#endif
