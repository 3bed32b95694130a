/* http_metrics.c - GET /metrics of the HTTP transport (http.metrics), in the Prometheus text
 * exposition format 0.0.4: requests by method and by tool, their latency histogram,
 * JSON-RPC errors by code, tasks by status, the event-loop lag (histogram, last minute's
 * p50/p99), sessions, requests in flight, busy workers, the pool's queue, connections and
 * the bytes owed to clients' streams (http_server_priv.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctxd/pool.h"
#include "ctxd/strbuf.h"
#include "http_server_priv.h"
#include "loop_status.h"

#define MAX_LABELS 64 /* distinct values per label; later ones count as "other" */

static const double bounds[N_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
					 0.25,   0.5,   1,      2.5,   5,    10,    30};

char *ctxd_http_metrics_tool(json_t *msg)
{
	const char *m = json_string_value(json_object_get(msg, "method"));
	const char *name =
	    json_string_value(json_object_get(json_object_get(msg, "params"), "name"));
	return m && name && strcmp(m, "tools/call") == 0 ? strdup(name) : NULL;
}

static void count(struct counters *c, const char *label)
{
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->v[i].label, label) == 0) {
			c->v[i].n++;
			return;
		}
	}
	if (c->n >= MAX_LABELS) {
		label = "other";
		for (size_t i = 0; i < c->n; i++) {
			if (strcmp(c->v[i].label, label) == 0) {
				c->v[i].n++;
				return;
			}
		}
	}
	struct counter *grown = realloc(c->v, (c->n + 1) * sizeof(*c->v));
	char *copy = strdup(label);
	if (!grown || !copy) {
		free(copy);
		if (grown) {
			c->v = grown;
		}
		return;
	}
	c->v = grown;
	c->v[c->n++] = (struct counter){copy, 1};
}

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void ctxd_http_metrics_done(struct ctxd_http_server *s, const struct pend *p, const char *buf,
			    size_t len)
{
	double secs = (mono_ms() - p->t0) / 1000.0;
	size_t b = 0;
	while (b < N_BUCKETS && secs > bounds[b]) {
		b++;
	}
	s->buckets[b]++;
	s->latency_sum += secs;
	s->latency_count++;
	count(&s->by_method, p->method);
	if (p->tool) {
		count(&s->by_tool, p->tool);
	}
	/* {"jsonrpc":"2.0","id":ID,"error":{"code":N,... */
	const char *err = memmem(buf, len < 256 ? len : 256, ",\"error\":{\"code\":", 17);
	if (err) {
		char code[16];
		size_t n = 0;
		for (const char *c = err + 17; c < buf + len && n + 1 < sizeof(code) &&
					       (*c == '-' || (*c >= '0' && *c <= '9'));
		     c++) {
			code[n++] = *c;
		}
		code[n] = '\0';
		count(&s->by_code, n ? code : "unknown");
	}
}

/* A label value with \, " and newlines escaped. */
static void label(struct ctxd_strbuf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"') {
			ctxd_strbuf_add(b, "\\", 1);
			ctxd_strbuf_add(b, v, 1);
		} else if (*v == '\n') {
			ctxd_strbuf_str(b, "\\n");
		} else {
			ctxd_strbuf_add(b, v, 1);
		}
	}
}

static void family(struct ctxd_strbuf *b, const char *name, const char *type, const char *help)
{
	ctxd_strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counters(struct ctxd_strbuf *b, const char *name, const char *key,
		     const struct counters *c, const char *help)
{
	family(b, name, "counter", help);
	for (size_t i = 0; i < c->n; i++) {
		ctxd_strbuf_printf(b, "%s{%s=\"", name, key);
		label(b, c->v[i].label);
		ctxd_strbuf_printf(b, "\"} %llu\n", c->v[i].n);
	}
}

static void gauge(struct ctxd_strbuf *b, const char *name, const char *help, double v)
{
	family(b, name, "gauge", help);
	if (isnan(v)) {
		ctxd_strbuf_printf(b, "%s NaN\n", name);
	} else {
		ctxd_strbuf_printf(b, "%s %.17g\n", name, v);
	}
}

/* The event-loop lag as ctxd://status measures it (how late a 100 ms timer fires): every
 * sample since start in a histogram, and the last minute's p50 and p99 (NaN before the
 * first sample). */
static void lag_metrics(struct ctxd_strbuf *b, const struct ctxd_loop_status *st)
{
	struct ctxd_lag_stats lag;
	ctxd_loop_status_lag(st, &lag);
	family(b, "ctxd_event_loop_lag_seconds", "histogram",
	       "How late the event loop's 100 ms timer fired, every firing since start");
	unsigned long long cum = 0;
	for (size_t i = 0; i < CTXD_LAG_BUCKETS; i++) {
		cum += lag.buckets[i];
		ctxd_strbuf_printf(b, "ctxd_event_loop_lag_seconds_bucket{le=\"%g\"} %llu\n",
				   ctxd_lag_bounds[i], cum);
	}
	cum += lag.buckets[CTXD_LAG_BUCKETS];
	ctxd_strbuf_printf(b, "ctxd_event_loop_lag_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
	ctxd_strbuf_printf(b, "ctxd_event_loop_lag_seconds_sum %.9f\n", lag.sum_s);
	ctxd_strbuf_printf(b, "ctxd_event_loop_lag_seconds_count %llu\n", lag.count);
	gauge(b, "ctxd_event_loop_lag_p50_seconds", "Event-loop lag, median of the last minute",
	      lag.samples ? lag.p50_ms / 1000.0 : NAN);
	gauge(b, "ctxd_event_loop_lag_p99_seconds",
	      "Event-loop lag, 99th percentile of the last minute",
	      lag.samples ? lag.p99_ms / 1000.0 : NAN);
}

void ctxd_http_metrics_serve(struct ctxd_http_server *s, struct ctxd_http_req *r)
{
	struct ctxd_strbuf b = {0};
	counters(&b, "ctxd_requests_total", "method", &s->by_method,
		 "JSON-RPC requests answered, by method");
	counters(&b, "ctxd_tool_calls_total", "tool", &s->by_tool,
		 "tools/call requests answered, by tool");
	counters(&b, "ctxd_errors_total", "code", &s->by_code,
		 "JSON-RPC error responses, by error code");
	family(&b, "ctxd_request_duration_seconds", "histogram",
	       "Time from a request's arrival to its response");
	unsigned long long cum = 0;
	for (size_t i = 0; i <= N_BUCKETS; i++) {
		cum += s->buckets[i];
		if (i < N_BUCKETS) {
			ctxd_strbuf_printf(&b,
					   "ctxd_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
					   bounds[i], cum);
		} else {
			ctxd_strbuf_printf(
			    &b, "ctxd_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
		}
	}
	ctxd_strbuf_printf(&b, "ctxd_request_duration_seconds_sum %.9f\n", s->latency_sum);
	ctxd_strbuf_printf(&b, "ctxd_request_duration_seconds_count %llu\n", s->latency_count);
	struct ctxd_http_figures f;
	ctxd_http_server_figures(s, &f);
	family(&b, "ctxd_tasks", "gauge",
	       "MCP tasks held (working, or ended and kept until tasks.ttl_ms), by status");
	for (size_t i = 0; i < CTXD_TASK_STATUSES; i++) {
		ctxd_strbuf_printf(&b, "ctxd_tasks{status=\"%s\"} %zu\n", ctxd_task_status_names[i],
				   f.tasks_by[i]);
	}
	if (s->loop_stat) {
		lag_metrics(&b, s->loop_stat);
	}
	gauge(&b, "ctxd_sessions", "Open 2025-11-25 sessions", (double)s->n_sessions);
	family(&b, "ctxd_sessions_created_total", "counter", "2025-11-25 sessions created");
	ctxd_strbuf_printf(&b, "ctxd_sessions_created_total %llu\n", s->sessions_total);
	gauge(&b, "ctxd_inflight_requests", "Requests handed to an engine and not yet answered",
	      (double)ctxd_http_server_inflight(s));
	gauge(&b, "ctxd_pool_busy_workers", "Worker threads running a job",
	      (double)ctxd_pool_running(s->d.pool));
	gauge(&b, "ctxd_pool_workers", "Worker threads", (double)ctxd_pool_size(s->d.pool));
	gauge(&b, "ctxd_pool_queued_jobs", "Jobs waiting for a worker",
	      (double)ctxd_pool_queued(s->d.pool));
	gauge(&b, "ctxd_http_connections", "Open HTTP connections",
	      (double)ctxd_http_connections(s->http));
	gauge(&b, "ctxd_http_owed_bytes", "Stream bytes queued for clients and not yet written",
	      (double)ctxd_http_owed(s->http));
	family(&b, "ctxd_http_requests_total", "counter", "HTTP requests that passed the checks");
	ctxd_strbuf_printf(&b, "ctxd_http_requests_total %llu\n", s->http_requests);
	family(&b, "ctxd_http_aborted_total", "counter",
	       "Exchanges the client ended before its answer");
	ctxd_strbuf_printf(&b, "ctxd_http_aborted_total %llu\n", s->aborted);
	if (b.oom) {
		free(b.p);
		ctxd_http_respond(r, 500, NULL, NULL, 0, NULL);
		return;
	}
	ctxd_http_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len, NULL);
}

static void counters_free(struct counters *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].label);
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

void ctxd_http_metrics_free(struct ctxd_http_server *s)
{
	counters_free(&s->by_method);
	counters_free(&s->by_tool);
	counters_free(&s->by_code);
}
