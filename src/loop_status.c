/* loop_status.c - what the async core is doing: event-loop lag (how late a 100 ms timer
 * fires, kept for the last minute in a fixed ring, percentiles computed on read), uptime, the
 * pool, requests in flight, bytes owed to the host and RSS; served as ctxd://status and
 * written as one `info` line per minute in which a request or a pool job ran. */
#include "loop_status.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/log.h"

struct lag_sample {
	double at_ms; /* monotonic, when it was taken */
	float lag_ms;
};

struct ctxd_loop_status {
	struct ctxd_status_src src;
	ev_timer timer;
	double started_ms;      /* monotonic */
	double due_ms;          /* when the timer should fire next */
	double minute_start_ms; /* the current minute of the log line */
	size_t ran;             /* pool jobs completed in the current minute */
	size_t completed;       /* ctxd_mcp_completed when the current minute began */
	struct lag_sample ring[CTXD_LAG_SAMPLES];
	size_t next, count;
	bool running; /* the first firing came: the loop runs (start-up is not lag) */
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

double ctxd_lag_percentile(float *v, size_t n, unsigned p)
{
	qsort(v, n, sizeof(*v), cmp_float);
	size_t rank = (size_t)ceil((double)p / 100.0 * (double)n);
	return v[rank > 0 ? rank - 1 : 0];
}

/* Resident set size in bytes from /proc/self/statm, or -1 where there is none. */
static long long rss_bytes(void)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -1;
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	long long size, resident;
	if (n <= 0) {
		return -1;
	}
	buf[n] = '\0';
	if (sscanf(buf, "%lld %lld", &size, &resident) != 2) {
		return -1;
	}
	return resident * sysconf(_SC_PAGESIZE);
}

/* The figures, in the order the log line shows them. */
static json_t *figures(void *ud)
{
	struct ctxd_loop_status *st = ud;
	double now = now_ms();
	float lags[CTXD_LAG_SAMPLES];
	size_t n = 0;
	for (size_t i = 0; i < st->count; i++) {
		if (now - st->ring[i].at_ms <= 60000.0) {
			lags[n++] = st->ring[i].lag_ms;
		}
	}
	json_t *p50 = json_null(), *p99 = json_null();
	if (n > 0) {
		p50 = json_real(ctxd_lag_percentile(lags, n, 50));
		p99 = json_real(ctxd_lag_percentile(lags, n, 99));
	}
	long long rss = rss_bytes();
	size_t owed = ctxd_transport_queued(st->src.tr) + *st->src.reserved;
	return json_pack("{s:I, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "uptime_ms",
			 (json_int_t)(now - st->started_ms), "loop_lag_p50_ms", p50,
			 "loop_lag_p99_ms", p99, "loop_lag_samples", (json_int_t)n, "pool_queued",
			 (json_int_t)ctxd_pool_queued(st->src.pool), "pool_busy",
			 (json_int_t)ctxd_pool_running(st->src.pool), "pool_workers",
			 (json_int_t)ctxd_pool_size(st->src.pool), "requests_in_flight",
			 (json_int_t)ctxd_mcp_inflight(st->src.mcp), "tasks_live",
			 (json_int_t)ctxd_mcp_tasks_live(st->src.mcp), "bytes_owed",
			 (json_int_t)owed, "rss_bytes", rss >= 0 ? json_integer(rss) : json_null());
}

/* The minute is over: one line with the figures when a request or a pool job ran in it. */
static void end_minute(void *ud)
{
	struct ctxd_loop_status *st = ud;
	size_t done = ctxd_mcp_completed(st->src.mcp);
	size_t requests = done - st->completed, jobs = st->ran;
	st->minute_start_ms = now_ms();
	st->completed = done;
	st->ran = 0;
	if (requests == 0 && jobs == 0) {
		return;
	}
	json_t *fig = figures(st);
	char line[600];
	size_t o =
	    (size_t)snprintf(line, sizeof(line), "status: requests=%zu jobs=%zu", requests, jobs);
	const char *key;
	json_t *v;
	json_object_foreach(fig, key, v)
	{
		char *val = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(4));
		if (val && o < sizeof(line)) {
			o += (size_t)snprintf(line + o, sizeof(line) - o, " %s=%s", key, val);
		}
		free(val);
	}
	json_decref(fig);
	ctxd_info("%s", line);
}

/* Every 100 ms: how late this firing is (the loop was busy), then the minute's end. */
static void on_timer(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct ctxd_loop_status *st = w->data;
	(void)revents;
	double now = now_ms();
	double lag = now - st->due_ms;
	if (st->running) {
		st->ring[st->next] = (struct lag_sample){now, (float)(lag > 0 ? lag : 0)};
		st->next = (st->next + 1) % CTXD_LAG_SAMPLES;
		if (st->count < CTXD_LAG_SAMPLES) {
			st->count++;
		}
	}
	st->running = true;
	if (now - st->minute_start_ms >= 60000.0) {
		end_minute(st);
	}
	ev_now_update(ev); /* the next due time from now, not from the iteration's start */
	st->due_ms = now_ms() + CTXD_LAG_PERIOD_MS;
	ev_timer_set(w, CTXD_LAG_PERIOD_MS / 1000.0, 0.);
	ev_timer_start(ev, w);
}

struct ctxd_loop_status *ctxd_loop_status_start(const struct ctxd_status_src *src)
{
	struct ctxd_loop_status *st = calloc(1, sizeof(*st));
	if (!st) {
		return NULL;
	}
	st->src = *src;
	st->started_ms = st->minute_start_ms = now_ms();
	ev_now_update(src->ev);
	st->due_ms = now_ms() + CTXD_LAG_PERIOD_MS;
	ev_timer_init(&st->timer, on_timer, CTXD_LAG_PERIOD_MS / 1000.0, 0.);
	st->timer.data = st;
	ev_timer_start(src->ev, &st->timer);
	ev_unref(src->ev); /* the measurement alone does not keep the loop alive */
	struct ctxd_status_ops ops = {.figures = figures, .end_minute = end_minute, .ud = st};
	ctxd_mcp_set_status(src->mcp, &ops);
	return st;
}

void ctxd_loop_status_ran(struct ctxd_loop_status *st, size_t n)
{
	if (st) {
		st->ran += n;
	}
}

void ctxd_loop_status_stop(struct ctxd_loop_status *st)
{
	if (!st) {
		return;
	}
	ev_ref(st->src.ev);
	ev_timer_stop(st->src.ev, &st->timer);
	free(st);
}
