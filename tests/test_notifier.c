/* test_notifier.c - the change notifier (ctxd_notify_list_changed,
 * ctxd_notify_resource_updated, ctxd_mcp_poll in src/mcp.c): every note wakes the loop,
 * from any thread; a poll delivers each changed list once, in the fixed order tools,
 * prompts, resources, whatever order and however often they were noted; nothing reaches a
 * legacy client before notifications/initialized; while the host is congested lists are
 * remembered and delivered once when it catches up. Links only the protocol layer; no
 * sleeps (threads are joined before the poll). */
#include <pthread.h>
#include <stdatomic.h>

#include "ctxd/mcp.h"
#include "ctxd/pool.h"
#include "test.h"

static atomic_int wakes;
static struct test_frames sent; /* what the engine sent */

static void wake_cb(void *ud)
{
	(void)ud;
	atomic_fetch_add(&wakes, 1);
}

/* Providers that offer the prompts and resources lists (never called here). */
static int no_list(void *ud, const struct ctxd_provider_ctx *ctx, json_t *out,
		   struct ctxd_error *err)
{
	(void)ud;
	(void)ctx;
	(void)out;
	(void)err;
	return 0;
}

static struct ctxd_config cfg;
static struct ctxd_sandbox *sb;
static struct ctxd_registry *reg;
static struct ctxd_pool *pool;
static struct ctxd_mcp *mcp;
static struct ctxd_resource_provider res = {.scheme = "t", .list = no_list};
static struct ctxd_prompt_provider prompts = {.list = no_list};

static void frame(const char *text)
{
	ctxd_mcp_handle_frame(mcp, text, strlen(text));
}

static void start(void)
{
	ctxd_config_init(&cfg);
	sb = ctxd_sandbox_create();
	ASSERT(sb);
	ctxd_sandbox_seal(sb);
	reg = ctxd_registry_create();
	ASSERT(reg);
	pool = ctxd_pool_create(1, wake_cb, NULL);
	ASSERT(pool);
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
	ASSERT_EQ(ctxd_mcp_add_resource_provider(mcp, &res), 0);
	ASSERT_EQ(ctxd_mcp_add_prompt_provider(mcp, &prompts), 0);
}

static void stop(void)
{
	ctxd_pool_destroy(pool);
	ctxd_mcp_poll(mcp); /* frees what is still queued */
	ctxd_mcp_destroy(mcp);
	ctxd_registry_destroy(reg);
	ctxd_sandbox_destroy(sb);
	ctxd_config_finish(&cfg);
	test_frames_clear(&sent);
}

#define INIT                                                                                       \
	"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":" \
	"\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}"
#define INITIALIZED "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"

static void handshake(void)
{
	frame(INIT);
	frame(INITIALIZED);
	ctxd_mcp_poll(mcp);
	ASSERT_EQ(sent.n, 1); /* the initialize result */
	ASSERT_CONTAINS(sent.v[0], "\"id\":0");
	test_frames_clear(&sent);
}

/* The methods of the frames sent since the last test_frames_clear(&sent), in order, joined by a
 * space, are `want`; then test_frames_clear(&sent). */
static void expect_lists(const char *want)
{
	char got[512] = "";
	for (size_t i = 0; i < sent.n; i++) {
		json_t *j = json_loads(sent.v[i], 0, NULL);
		ASSERT(j);
		const char *m = json_string_value(json_object_get(j, "method"));
		ASSERT(m);
		ASSERT(!json_object_get(j, "id")); /* notifications only */
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "", m);
		json_decref(j);
	}
	ASSERT_STR_EQ(got, want);
	test_frames_clear(&sent);
}

#define TOOLS     "notifications/tools/list_changed"
#define PROMPTS   "notifications/prompts/list_changed"
#define RESOURCES "notifications/resources/list_changed"

static void test_coalesce_order(void)
{
	start();
	handshake();
	struct ctxd_notifier *n = ctxd_mcp_notifier(mcp);
	int w0 = atomic_load(&wakes);
	ctxd_notify_list_changed(n, CTXD_LIST_RESOURCES);
	ctxd_notify_list_changed(n, CTXD_LIST_TOOLS);
	ctxd_notify_list_changed(n, CTXD_LIST_RESOURCES);
	ctxd_notify_list_changed(n, CTXD_LIST_PROMPTS);
	ctxd_notify_list_changed(n, CTXD_LIST_TOOLS);
	ASSERT_EQ(atomic_load(&wakes) - w0, 5); /* every note wakes the loop */
	ASSERT_EQ(sent.n, 0);                   /* nothing leaves before the poll */
	ctxd_mcp_poll(mcp);
	expect_lists(TOOLS " " PROMPTS " " RESOURCES);
	ctxd_mcp_poll(mcp); /* the queue is empty now */
	expect_lists("");
	ctxd_notify_list_changed(n, CTXD_LIST_PROMPTS);
	ctxd_mcp_poll(mcp);
	expect_lists(PROMPTS);
	/* NULL-safe, and an update of a URI nobody subscribed sends nothing */
	ctxd_notify_list_changed(NULL, CTXD_LIST_TOOLS);
	ctxd_notify_resource_updated(NULL, "t://x");
	ctxd_notify_resource_updated(n, "t://x");
	ctxd_mcp_poll(mcp);
	expect_lists("");
	stop();
}

struct noter {
	struct ctxd_notifier *n;
	enum ctxd_list_kind kind;
};

static void *noter_main(void *p)
{
	struct noter *t = p;
	for (int i = 0; i < 1000; i++) {
		ctxd_notify_list_changed(t->n, t->kind);
		ctxd_notify_resource_updated(t->n, "t://nobody");
	}
	return NULL;
}

/* Notes from other threads: every one wakes the loop, none is lost or duplicated into
 * more than one notification per list. */
static void test_threads(void)
{
	start();
	handshake();
	int w0 = atomic_load(&wakes);
	pthread_t th[3];
	struct noter t[3] = {{ctxd_mcp_notifier(mcp), CTXD_LIST_TOOLS},
			     {ctxd_mcp_notifier(mcp), CTXD_LIST_PROMPTS},
			     {ctxd_mcp_notifier(mcp), CTXD_LIST_TOOLS}};
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(pthread_create(&th[i], NULL, noter_main, &t[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(pthread_join(th[i], NULL), 0);
	}
	ASSERT_EQ(atomic_load(&wakes) - w0, 3 * 2000);
	ctxd_mcp_poll(mcp);
	expect_lists(TOOLS " " PROMPTS);
	stop();
}

/* Before notifications/initialized a legacy client gets no list_changed (the note is
 * consumed, not held); while congested, lists are remembered once each and delivered
 * when the host catches up. */
static void test_initialized_congested(void)
{
	start();
	frame(INIT);
	ctxd_mcp_poll(mcp);
	ASSERT_EQ(sent.n, 1);
	test_frames_clear(&sent);
	struct ctxd_notifier *n = ctxd_mcp_notifier(mcp);
	ctxd_notify_list_changed(n, CTXD_LIST_TOOLS);
	ctxd_mcp_poll(mcp);
	expect_lists("");
	frame(INITIALIZED);
	ctxd_mcp_poll(mcp);
	expect_lists("");

	ctxd_mcp_congested(mcp, true);
	ctxd_notify_list_changed(n, CTXD_LIST_RESOURCES);
	ctxd_notify_list_changed(n, CTXD_LIST_TOOLS);
	ctxd_mcp_poll(mcp);
	ctxd_notify_list_changed(n, CTXD_LIST_TOOLS);
	ctxd_mcp_poll(mcp);
	expect_lists("");
	ctxd_mcp_congested(mcp, false);
	expect_lists(TOOLS " " RESOURCES);
	ctxd_mcp_congested(mcp, true); /* nothing remembered any more */
	ctxd_mcp_congested(mcp, false);
	expect_lists("");
	stop();
}

int main(void)
{
	RUN(test_coalesce_order);
	RUN(test_threads);
	RUN(test_initialized_congested);
	return 0;
}
