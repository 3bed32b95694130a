/* loop_status.h - the runtime's own figures (internal to the runtime layer): event-loop lag,
 * uptime, and what ctxd://status and the minute log line report. Loop thread only. */
#ifndef CTXD_LOOP_STATUS_H
#define CTXD_LOOP_STATUS_H

#include <ev.h>
#include <stddef.h>

#include "ctxd/mcp.h"
#include "ctxd/pool.h"
#include "ctxd/transport.h"

/* Lag samples kept: one per LAG_PERIOD_MS over the last minute. */
#define CTXD_LAG_PERIOD_MS 100
#define CTXD_LAG_SAMPLES   (60000 / CTXD_LAG_PERIOD_MS)

/* Where the figures come from (borrowed; they must outlive the status). `reserved` points at
 * the answer bytes the engine holds for unfinished batches (owed to the host like queued
 * ones). */
struct ctxd_status_src {
	struct ev_loop *ev;
	struct ctxd_pool *pool;
	struct ctxd_transport *tr;
	struct ctxd_mcp *mcp;
	const size_t *reserved;
};

struct ctxd_loop_status;

/* Start measuring (a 100 ms timer that does not keep the loop alive) and offer ctxd://status
 * through the engine (ctxd_mcp_set_status). Returns NULL on ENOMEM (nothing offered). */
struct ctxd_loop_status *ctxd_loop_status_start(const struct ctxd_status_src *src);

/* `n` pool jobs completed (the minute log line is written only for minutes in which a request
 * or a pool job ran). */
void ctxd_loop_status_ran(struct ctxd_loop_status *st, size_t n);

/* Stop the timer and free. NULL-safe. */
void ctxd_loop_status_stop(struct ctxd_loop_status *st);

/* The p-th percentile (0 < p <= 100, nearest rank) of `v[0..n)`, which it sorts in place;
 * n > 0. */
double ctxd_lag_percentile(float *v, size_t n, unsigned p);

#endif
