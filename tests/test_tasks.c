/* test_tasks.c - MCP tasks and per-call deadlines in the engine, on an injected clock: the
 * housekeeping tick (ctxd_mcp_tick) is given the time, so the threshold (tasks.after_ms), the
 * deadline (limits.call_timeout_ms) and expiry (tasks.ttl_ms) are crossed exactly when the
 * test says, never by waiting. The tool is a stand-in that runs until the test releases it or
 * its cancel flag is set; the pool has one worker. No sleeps, no timeouts. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctxd/config.h"
#include "ctxd/mcp.h"
#include "ctxd/pool.h"
#include "ctxd/registry.h"
#include "ctxd/sandbox.h"
#include "test.h"

static sem_t woke;
static struct test_frames sent; /* what the engine sent */
static struct ctxd_config cfg;
static struct ctxd_pool *pool;
static struct ctxd_mcp *mcp;
static struct ctxd_sandbox *sb;
static struct ctxd_registry *reg;

static atomic_bool release_tool, tool_started;

/* Runs until released or cancelled. */
static json_t *slow_fn(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	(void)args;
	atomic_store(&tool_started, true);
	while (!atomic_load(&release_tool) && !ctxd_job_cancelled(ctx->job)) {
		sched_yield();
	}
	return ctxd_tool_result("done", NULL);
}

static const struct ctxd_tool tools[] = {{
    .name = "slow",
    .title = "Slow",
    .description = "Runs until released.",
    .input_schema = "{\"type\":\"object\"}",
    .flags = CTXD_TOOL_READ_ONLY | CTXD_TOOL_LONG,
    .fn = slow_fn,
}};

static void wake_cb(void *ud)
{
	(void)ud;
	sem_post(&woke);
}

static void frame(const char *text)
{
	ctxd_mcp_handle_frame(mcp, text, strlen(text));
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Wait for the next completion and run the loop's part of it. */
static void complete_one(void)
{
	size_t n = 0;
	while (n == 0) {
		while (sem_wait(&woke) < 0 && errno == EINTR) {
		}
		ctxd_mcp_poll(mcp);
		n = ctxd_pool_drain(pool);
	}
}

static void start(unsigned after_ms, unsigned timeout_ms)
{
	struct ctxd_error err;
	ctxd_config_init(&cfg);
	cfg.landlock = false;
	cfg.tasks_after_ms = after_ms;
	cfg.call_timeout_ms = timeout_ms;
	cfg.tasks_ttl_ms = 60000;
	sb = ctxd_sandbox_create();
	ASSERT(sb);
	ctxd_sandbox_seal(sb);
	pool = ctxd_pool_create(1, wake_cb, NULL);
	ASSERT(pool);
	reg = ctxd_registry_create();
	ASSERT(reg);
	ASSERT_EQ(ctxd_registry_add(reg, tools, 1, &cfg, NULL, &err), 0);
	struct ctxd_mcp_deps deps = {
	    .cfg = &cfg,
	    .sandbox = sb,
	    .registry = reg,
	    .pool = pool,
	    .send = test_frames_send,
	    .send_ud = &sent,
	    .wake = wake_cb,
	};
	mcp = ctxd_mcp_create(&deps);
	ASSERT(mcp);
	atomic_store(&release_tool, false);
	atomic_store(&tool_started, false);
}

static void stop(void)
{
	ctxd_pool_destroy(pool);
	ctxd_mcp_destroy(mcp);
	ctxd_registry_destroy(reg);
	ctxd_sandbox_destroy(sb);
	ctxd_config_finish(&cfg);
	test_frames_clear(&sent);
}

#define MODERN_META                                                                                \
	"\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","                   \
	"\"io.modelcontextprotocol/clientCapabilities\":{\"extensions\":{"                         \
	"\"io.modelcontextprotocol/tasks\":{}}}}"

/* The threshold: nothing before tasks.after_ms, the CreateTaskResult at the first tick past
 * it; the work goes on and its result lands in the task; expiry frees it. */
static void test_threshold_and_expiry(void)
{
	start(1000, 0);
	double t0 = now_ms();
	frame("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
	      "\"slow\",\"arguments\":{}," MODERN_META "}}");
	while (!atomic_load(&tool_started)) {
		sched_yield();
	}
	ctxd_mcp_tick(mcp, t0 + 999); /* a tick before the threshold */
	ASSERT_EQ(sent.n, 0);
	ASSERT_EQ(ctxd_mcp_tasks_live(mcp), 0);
	ctxd_mcp_tick(mcp, now_ms() + 1001);
	const char *f =
	    test_frames_find(&sent, "\"resultType\":\"task\"", "\"status\":\"working\"");
	ASSERT(f);
	json_t *v = json_loads(f, 0, NULL);
	ASSERT(v);
	char id[64];
	snprintf(id, sizeof(id), "%s",
		 json_string_value(json_object_get(json_object_get(v, "result"), "taskId")));
	json_decref(v);
	ASSERT_EQ(strlen(id), 32);
	ASSERT_EQ(ctxd_mcp_tasks_live(mcp), 1);
	ASSERT_EQ(ctxd_mcp_inflight(mcp), 1); /* its work still runs */
	atomic_store(&release_tool, true);
	complete_one();
	ASSERT_EQ(ctxd_mcp_inflight(mcp), 0);
	test_frames_clear(&sent);
	char get[512];
	snprintf(get, sizeof(get),
		 "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/get\",\"params\":{\"taskId\":"
		 "\"%s\"," MODERN_META "}}",
		 id);
	frame(get);
	ASSERT(test_frames_find(&sent, "\"status\":\"completed\"", "\"text\":\"done\""));
	/* kept tasks.ttl_ms after it ended, then freed */
	ctxd_mcp_tick(mcp, now_ms() + 30000);
	ASSERT_EQ(ctxd_mcp_tasks_live(mcp), 1);
	ctxd_mcp_tick(mcp, now_ms() + 60001);
	ASSERT_EQ(ctxd_mcp_tasks_live(mcp), 0);
	test_frames_clear(&sent);
	frame(get);
	ASSERT(test_frames_find(&sent, "-32602", "Task has expired"));
	stop();
}

/* limits.call_timeout_ms: the tick past it sets the work's cancel flag; the call answers an
 * isError result naming the tool and the limit. */
static void test_deadline(void)
{
	start(1000, 5000);
	frame("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
	      "\"slow\",\"arguments\":{},\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":"
	      "\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":{}}}}");
	while (!atomic_load(&tool_started)) {
		sched_yield();
	}
	ctxd_mcp_tick(mcp, now_ms() + 4000);
	ASSERT_EQ(sent.n, 0);
	ctxd_mcp_tick(mcp, now_ms() + 5001);
	complete_one();
	ASSERT(test_frames_find(&sent, "\"isError\":true",
				"slow timed out after 5000 ms (limits.call_timeout_ms)"));
	ASSERT(!test_frames_find(&sent, "\"resultType\":\"task\"",
				 NULL)); /* the client did not declare tasks */
	ASSERT_EQ(ctxd_mcp_tasks_live(mcp), 0);
	stop();
}

/* Many tasks expire in one tick, and their memory with them (the cap is the only bound on
 * what is held; ASan's leak check sees anything left). */
static void test_many_expire(void)
{
	start(0, 0);
	cfg.tasks_ttl_ms = 1;
	atomic_store(&release_tool, true);
	char req[512];
	for (int i = 0; i < 100; i++) {
		snprintf(req, sizeof(req),
			 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{"
			 "\"name\":\"slow\",\"arguments\":{}," MODERN_META "}}",
			 i);
		frame(req);
		complete_one();
	}
	ASSERT_EQ(ctxd_mcp_tasks_live(mcp), 100);
	test_frames_clear(&sent);
	frame(req); /* the cap (tasks.max 100): this one stays a plain request */
	ASSERT(!test_frames_find(&sent, "\"error\"",
				 NULL)); /* not refused: the client did not ask for a task */
	complete_one();
	ASSERT(test_frames_find(&sent, "\"resultType\":\"complete\"", "\"text\":\"done\""));
	ASSERT(!test_frames_find(&sent, "\"resultType\":\"task\"", NULL));
	ASSERT_EQ(ctxd_mcp_tasks_live(mcp), 100);
	ctxd_mcp_tick(mcp, now_ms() + 10);
	ASSERT_EQ(ctxd_mcp_tasks_live(mcp), 0);
	stop();
}

int main(void)
{
	sem_init(&woke, 0, 0);
	json_object_seed(0);
	RUN(test_threshold_and_expiry);
	RUN(test_deadline);
	RUN(test_many_expire);
	return 0;
}
