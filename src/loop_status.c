/* loop_status.c - what the async core is doing: event-loop lag (how late a 100 ms timer
 * fires, kept for the last minute in a fixed ring, percentiles computed on read, and counted
 * in a histogram since start), uptime, the pool, requests in flight, tasks, bytes owed to the
 * host (HTTP: to every client, and the sessions and connections) and RSS; served as
 * ctxd://status and written as one `info` line per minute in which a request or a pool job
 * ran. */
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
	unsigned long long buckets[CTXD_LAG_BUCKETS + 1]; /* every sample since start */
	unsigned long long total;
	double sum_s;
	bool running; /* the first firing came: the loop runs (start-up is not lag) */
};

const double ctxd_lag_bounds[CTXD_LAG_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
						  0.1,   0.25,   0.5,   1,    2.5};

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

/* /proc/self/statm, opened before Landlock hides /proc (ctxd_loop_status_preopen), or -1. */
static int statm_fd = -1;

void ctxd_loop_status_preopen(void)
{
	if (statm_fd < 0) {
		statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	}
}

/* Resident set size in bytes from /proc/self/statm, or -1 where there is none. */
static long long rss_bytes(void)
{
	char buf[128];
	int fd = statm_fd >= 0 ? statm_fd : open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -1;
	}
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (fd != statm_fd) {
		close(fd);
	}
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

void ctxd_loop_status_lag(const struct ctxd_loop_status *st, struct ctxd_lag_stats *out)
{
	double now = now_ms();
	float lags[CTXD_LAG_SAMPLES];
	size_t n = 0;
	for (size_t i = 0; i < st->count; i++) {
		if (now - st->ring[i].at_ms <= 60000.0) {
			lags[n++] = st->ring[i].lag_ms;
		}
	}
	out->samples = n;
	out->p50_ms = n ? ctxd_lag_percentile(lags, n, 50) : 0;
	out->p99_ms = n ? ctxd_lag_percentile(lags, n, 99) : 0;
	memcpy(out->buckets, st->buckets, sizeof(out->buckets));
	out->count = st->total;
	out->sum_s = st->sum_s;
}

/* The figures, in the order the log line shows them; in HTTP mode over every engine, with
 * the open sessions and connections. */
static json_t *figures(void *ud)
{
	struct ctxd_loop_status *st = ud;
	struct ctxd_lag_stats lag;
	ctxd_loop_status_lag(st, &lag);
	json_t *p50 = json_null(), *p99 = json_null();
	if (lag.samples > 0) {
		p50 = json_real(lag.p50_ms);
		p99 = json_real(lag.p99_ms);
	}
	long long rss = rss_bytes();
	struct ctxd_http_figures hf = {0};
	if (st->src.http) {
		ctxd_http_server_figures(st->src.http, &hf);
	} else {
		hf.inflight = ctxd_mcp_inflight(st->src.mcp);
		hf.tasks = ctxd_mcp_tasks_live(st->src.mcp);
		hf.owed = ctxd_transport_queued(st->src.tr) + *st->src.reserved;
	}
	json_t *o =
	    json_pack("{s:I, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "uptime_ms",
		      (json_int_t)(now_ms() - st->started_ms), "loop_lag_p50_ms", p50,
		      "loop_lag_p99_ms", p99, "loop_lag_samples", (json_int_t)lag.samples,
		      "pool_queued", (json_int_t)ctxd_pool_queued(st->src.pool), "pool_busy",
		      (json_int_t)ctxd_pool_running(st->src.pool), "pool_workers",
		      (json_int_t)ctxd_pool_size(st->src.pool), "requests_in_flight",
		      (json_int_t)hf.inflight, "tasks_live", (json_int_t)hf.tasks, "bytes_owed",
		      (json_int_t)hf.owed, "rss_bytes", rss >= 0 ? json_integer(rss) : json_null());
	if (o && st->src.http) {
		json_object_set_new(o, "sessions", json_integer((json_int_t)hf.sessions));
		json_object_set_new(o, "http_connections",
				    json_integer((json_int_t)hf.connections));
	}
	return o;
}

/* Requests completed since start (every engine's, in HTTP mode). */
static size_t completed(const struct ctxd_loop_status *st)
{
	if (st->src.http) {
		struct ctxd_http_figures hf = {0};
		ctxd_http_server_figures(st->src.http, &hf);
		return hf.completed;
	}
	return ctxd_mcp_completed(st->src.mcp);
}

/* The minute is over: one line with the figures when a request or a pool job ran in it. */
static void end_minute(void *ud)
{
	struct ctxd_loop_status *st = ud;
	size_t done = completed(st);
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
		double s = lag > 0 ? lag / 1000.0 : 0;
		size_t b = 0;
		while (b < CTXD_LAG_BUCKETS && s > ctxd_lag_bounds[b]) {
			b++;
		}
		st->buckets[b]++;
		st->total++;
		st->sum_s += s;
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
	st->completed = completed(st);
	ev_now_update(src->ev);
	st->due_ms = now_ms() + CTXD_LAG_PERIOD_MS;
	ev_timer_init(&st->timer, on_timer, CTXD_LAG_PERIOD_MS / 1000.0, 0.);
	st->timer.data = st;
	ev_timer_start(src->ev, &st->timer);
	ev_unref(src->ev); /* the measurement alone does not keep the loop alive */
	struct ctxd_status_ops ops = {.figures = figures, .end_minute = end_minute, .ud = st};
	if (src->http) {
		ctxd_http_server_set_status(src->http, &ops, st);
	} else {
		ctxd_mcp_set_status(src->mcp, &ops);
	}
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
