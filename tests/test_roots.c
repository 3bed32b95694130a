/* test_roots.c - the client's roots and the skills catalogue through the MCP engine.
 *
 * Deterministic by construction: the pool has one worker, so jobs run and complete in the
 * order they were submitted, and settle() submits a barrier job and drains completions until
 * a round in which the barrier was the only one - then every earlier job (tool calls, held
 * requests, skills reload jobs and the jobs their completions scheduled) has finished and its
 * notifications have been delivered. No sleeps, no timeouts. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/config.h"
#include "ctxd/fsutil.h"
#include "ctxd/mcp.h"
#include "ctxd/pool.h"
#include "ctxd/registry.h"
#include "ctxd/sandbox.h"
#include "ctxd/skills.h"
#include "test.h"

static char tmp[PATH_MAX];
static char root_a[PATH_MAX + 8], root_b[PATH_MAX + 8];

static sem_t woke;
static struct test_frames sent; /* what the engine sent */

static struct ctxd_config cfg;
static struct ctxd_pool *pool;
static struct ctxd_mcp *mcp;

/* The fixture: two roots, each with one skill, under `tmp`. */
static void make_tree(void)
{
	static const char *const dirs[] = {
	    "a", "a/.claude", "a/.claude/skills", "a/.claude/skills/alpha",
	    "b", "b/.agents", "b/.agents/skills", "b/.agents/skills/beta",
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		tree_mkdir(tmp, dirs[i]);
	}
	static const char *const skills[][2] = {
	    {"a/.claude/skills/alpha/SKILL.md", "alpha"},
	    {"b/.agents/skills/beta/SKILL.md", "beta"},
	};
	char md[256];
	for (size_t i = 0; i < 2; i++) {
		snprintf(md, sizeof(md), "---\nname: %s\ndescription: the %s skill\n---\nDo %s.\n",
			 skills[i][1], skills[i][1], skills[i][1]);
		tree_put(tmp, skills[i][0], md);
	}
}

static void wake_cb(void *ud)
{
	(void)ud;
	sem_post(&woke);
}

static void frame(const char *text)
{
	ctxd_mcp_handle_frame(mcp, text, strlen(text));
}

struct barrier {
	struct ctxd_job job;
	bool done;
};

static void barrier_work(struct ctxd_job *job)
{
	(void)job;
}

static void barrier_done(struct ctxd_job *job, bool dropped)
{
	(void)dropped;
	((struct barrier *)job)->done = true;
}

/* Run the loop's part until every job submitted so far (and every job their completions
 * submitted) has completed, then deliver the queued notifications. */
static void settle(void)
{
	for (;;) {
		struct barrier b = {0};
		atomic_init(&b.job.cancel, false);
		ASSERT_EQ(ctxd_pool_submit(pool, &b.job, barrier_work, barrier_done), 0);
		size_t drained = 0;
		while (!b.done) {
			while (sem_wait(&woke) < 0 && errno == EINTR) {
			}
			ctxd_mcp_poll(mcp);
			drained += ctxd_pool_drain(pool);
		}
		ctxd_mcp_poll(mcp);
		if (drained == 1) {
			return;
		}
	}
}

struct world {
	struct ctxd_sandbox *sb;
	struct ctxd_registry *reg;
	struct ctxd_skills *skills;
	struct ctxd_resource_provider res;
	struct ctxd_prompt_provider prompts;
};

static void skills_follow_roots(void *ud, const struct ctxd_sandbox *roots)
{
	ctxd_sk_set_roots(ud, roots);
}

/* The store's change callback, as main.c registers it. */
static void skills_changed(void *ud)
{
	ctxd_notify_list_changed(ud, CTXD_LIST_TOOLS);
	ctxd_notify_list_changed(ud, CTXD_LIST_PROMPTS);
	ctxd_notify_list_changed(ud, CTXD_LIST_RESOURCES);
}

/* The engine as main.c wires it, with `configured` as the only configured directory
 * (NULL: none). The skills family is attached later (attach()). */
static void start(struct world *w, const char *configured)
{
	struct ctxd_error err;
	ctxd_config_init(&cfg);
	cfg.skills_user_dirs = false;
	cfg.landlock = false;
	w->sb = ctxd_sandbox_create();
	ASSERT(w->sb);
	if (configured) {
		ASSERT_EQ(ctxd_sandbox_add_root(w->sb, configured, false, &err), 0);
	}
	ctxd_sandbox_seal(w->sb);
	pool = ctxd_pool_create(1, wake_cb, NULL);
	ASSERT(pool);
	w->skills = ctxd_sk_create(&cfg, w->sb, pool, &err);
	ASSERT(w->skills);
	w->reg = ctxd_registry_create();
	ASSERT(w->reg);
	ASSERT_EQ(ctxd_registry_add(w->reg, ctxd_skills_tools, ctxd_skills_tools_count, &cfg,
				    w->skills, &err),
		  0);
	struct ctxd_mcp_deps deps = {
	    .cfg = &cfg,
	    .sandbox = w->sb,
	    .registry = w->reg,
	    .pool = pool,
	    .send = test_frames_send,
	    .send_ud = &sent,
	    .wake = wake_cb,
	};
	mcp = ctxd_mcp_create(&deps);
	ASSERT(mcp);
	ctxd_skills_resources_init(&w->res, w->skills);
	ctxd_skills_prompts_init(&w->prompts, w->skills);
	ASSERT_EQ(ctxd_mcp_add_resource_provider(mcp, &w->res), 0);
	ASSERT_EQ(ctxd_mcp_add_prompt_provider(mcp, &w->prompts), 0);
	ctxd_mcp_on_roots(mcp, skills_follow_roots, w->skills);
}

/* Start hot reload: the start-up scan job. */
static void attach(struct world *w)
{
	ctxd_sk_on_change(w->skills, skills_changed, ctxd_mcp_notifier(mcp));
	ctxd_sk_attach(w->skills, NULL);
}

static void stop(struct world *w)
{
	ctxd_sk_detach(w->skills);
	ctxd_pool_destroy(pool);
	ctxd_mcp_destroy(mcp);
	ctxd_sk_destroy(w->skills);
	ctxd_registry_destroy(w->reg);
	ctxd_sandbox_destroy(w->sb);
	ctxd_config_finish(&cfg);
	test_frames_clear(&sent);
}

#define INIT_NO_ROOTS                                                                              \
	"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":" \
	"\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}"
#define INIT_ROOTS                                                                                 \
	"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":" \
	"\"2025-11-25\",\"capabilities\":{\"roots\":{\"listChanged\":true}},\"clientInfo\":"       \
	"{\"name\":\"t\",\"version\":\"1\"}}}"
#define INITIALIZED   "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"
#define ROOTS_CHANGED "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/roots/list_changed\"}"

static void request(const char *id, const char *method)
{
	char text[300];
	snprintf(text, sizeof(text), "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"method\":\"%s\"}", id,
		 method);
	frame(text);
}

/* Answer our roots/list request `id` with the given directories (NULL-terminated). */
static void answer_roots(const char *id, const char *const *dirs)
{
	char text[4000];
	int n = snprintf(text, sizeof(text),
			 "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{\"roots\":[", id);
	for (size_t i = 0; dirs[i]; i++) {
		n += snprintf(text + n, sizeof(text) - (size_t)n, "%s{\"uri\":\"file://%s\"}",
			      i ? "," : "", dirs[i]);
	}
	snprintf(text + n, sizeof(text) - (size_t)n, "]}}");
	frame(text);
}

/* Issue 11 section 2: the start-up skill scan racing the handshake sent tools, prompts and
 * resources list_changed right after notifications/initialized (12 of 40 starts), which
 * the Vercel AI SDK reports as errors. Here the scan is forced to finish after the
 * handshake: nothing the client could have listed changed, so nothing is announced, and a
 * list made afterwards shows the scanned catalogue. */
static void test_roots_startup_scan_not_announced(void)
{
	struct world w;
	start(&w, root_a);
	frame(INIT_NO_ROOTS);
	frame(INITIALIZED);
	ASSERT(test_frames_find(&sent, "\"id\":0", "protocolVersion"));
	attach(&w);
	settle();
	ASSERT(!test_frames_find(&sent, "list_changed", NULL));
	request("t1", "tools/list");
	request("p1", "prompts/list");
	settle();
	ASSERT(test_frames_find(&sent, "\"id\":\"t1\"", "alpha: the alpha skill"));
	ASSERT(test_frames_find(&sent, "\"id\":\"p1\"", "\"name\":\"alpha\""));
	ASSERT(!test_frames_find(&sent, "list_changed", NULL));
	stop(&w);
}

/* Issue 11 section 1: with no directory configured, the skills follow the client's roots:
 * scanned like configured directories, rescanned when the roots change, gone with their
 * root; a change the client could have noticed is announced, the first roots are not. */
static void test_roots_skills_follow_client_roots(void)
{
	struct world w;
	start(&w, NULL);
	attach(&w);
	settle();
	frame(INIT_ROOTS);
	frame(INITIALIZED);
	ASSERT(test_frames_find(&sent, "\"id\":\"ctxd-roots-1\"", "roots/list"));
	/* asked before the roots arrive: waits for them */
	request("p1", "prompts/list");
	request("t1", "tools/list");
	settle();
	ASSERT(!test_frames_find(&sent, "\"id\":\"p1\"", NULL));
	ASSERT(!test_frames_find(&sent, "\"id\":\"t1\"", NULL));
	const char *first[] = {root_a, NULL};
	answer_roots("ctxd-roots-1", first);
	settle();
	ASSERT(test_frames_find(&sent, "\"id\":\"p1\"", "\"name\":\"alpha\""));
	ASSERT(test_frames_find(&sent, "\"id\":\"t1\"", "alpha: the alpha skill"));
	ASSERT(!test_frames_find(&sent, "list_changed", NULL));
	test_frames_clear(&sent);

	/* the client switches to root B: alpha goes, beta comes, and the client hears of it */
	frame(ROOTS_CHANGED);
	ASSERT(test_frames_find(&sent, "\"id\":\"ctxd-roots-2\"", "roots/list"));
	const char *second[] = {root_b, NULL};
	answer_roots("ctxd-roots-2", second);
	settle();
	ASSERT(test_frames_find(&sent, "notifications/prompts/list_changed", NULL));
	ASSERT(test_frames_find(&sent, "notifications/tools/list_changed", NULL));
	ASSERT(test_frames_find(&sent, "notifications/resources/list_changed", NULL));
	request("p2", "prompts/list");
	settle();
	const char *p2 = test_frames_find(&sent, "\"id\":\"p2\"", NULL);
	ASSERT_CONTAINS(p2, "\"name\":\"beta\"");
	ASSERT(!strstr(p2, "alpha"));
	test_frames_clear(&sent);

	/* both roots, in the client's order: both catalogues, announced */
	frame(ROOTS_CHANGED);
	const char *both[] = {root_b, root_a, NULL};
	answer_roots("ctxd-roots-3", both);
	request("p3", "prompts/list");
	settle();
	ASSERT(test_frames_find(&sent, "notifications/prompts/list_changed", NULL));
	ASSERT(test_frames_find(&sent, "\"id\":\"p3\"", "\"name\":\"alpha\""));
	ASSERT(test_frames_find(&sent, "\"id\":\"p3\"", "\"name\":\"beta\""));
	test_frames_clear(&sent);

	/* root A leaves, B stays: alpha goes with its root (announced), beta stays, and the
	 * skill of the root that left can no longer be activated */
	frame(ROOTS_CHANGED);
	const char *only_b[] = {root_b, NULL};
	answer_roots("ctxd-roots-4", only_b);
	settle();
	ASSERT(test_frames_find(&sent, "notifications/prompts/list_changed", NULL));
	ASSERT(test_frames_find(&sent, "notifications/tools/list_changed", NULL));
	ASSERT(test_frames_find(&sent, "notifications/resources/list_changed", NULL));
	request("p4", "prompts/list");
	frame("{\"jsonrpc\":\"2.0\",\"id\":\"c4\",\"method\":\"tools/call\",\"params\":"
	      "{\"name\":\"skill_activate\",\"arguments\":{\"name\":\"alpha\"}}}");
	settle();
	const char *p4 = test_frames_find(&sent, "\"id\":\"p4\"", NULL);
	ASSERT_CONTAINS(p4, "\"name\":\"beta\"");
	ASSERT(!strstr(p4, "alpha"));
	ASSERT(test_frames_find(&sent, "\"id\":\"c4\"", "\"isError\":true"));
	test_frames_clear(&sent);

	/* then none: no skills, announced */
	frame(ROOTS_CHANGED);
	const char *none[] = {NULL};
	answer_roots("ctxd-roots-5", none);
	request("p5", "prompts/list");
	settle();
	ASSERT(test_frames_find(&sent, "notifications/prompts/list_changed", NULL));
	const char *p5 = test_frames_find(&sent, "\"id\":\"p5\"", NULL);
	ASSERT(p5 && !strstr(p5, "alpha") && !strstr(p5, "beta"));
	stop(&w);
}

#define MODERN_META                                                                                \
	"\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","                   \
	"\"io.modelcontextprotocol/clientCapabilities\":{\"roots\":{}}}"

/* A modern skill_list call (id `id`), with a retry's `state` and root A when state is set. */
static void mrtr_call(const char *id, const char *state)
{
	char text[1200];
	int n = snprintf(text, sizeof(text),
			 "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"method\":\"tools/call\",\"params\":"
			 "{\"name\":\"skill_list\",\"arguments\":{}," MODERN_META,
			 id);
	if (state) {
		n += snprintf(text + n, sizeof(text) - (size_t)n,
			      ",\"requestState\":\"%s\",\"inputResponses\":{\"roots\":{\"roots\":"
			      "[{\"uri\":\"file://%s\"}]}}",
			      state, root_a);
	}
	snprintf(text + n, sizeof(text) - (size_t)n, "}}");
	frame(text);
}

/* Issue 15 item 5: requestState is authenticated as a whole. Every single-bit change of a
 * state this server issued (version, expiry, request digest, principal digest or MAC), and a
 * cut one, is refused with -32602 before anything runs; the state as issued is served, on the
 * client's root. */
static void test_roots_mrtr_state_tamper(void)
{
	struct world w;
	start(&w, NULL);
	mrtr_call("q", NULL);
	const char *ir = test_frames_find(&sent, "\"id\":\"q\"", "\"input_required\"");
	ASSERT(ir);
	json_t *msg = json_loads(ir, 0, NULL);
	const char *state =
	    json_string_value(json_object_get(json_object_get(msg, "result"), "requestState"));
	ASSERT(state);
	unsigned char raw[128];
	size_t n = 0;
	ASSERT_EQ(ctxd_base64_decode(state, strlen(state), raw, &n), 0);
	ASSERT_EQ(n, (size_t)105);
	for (size_t i = 0; i < n; i++) {
		for (unsigned bit = 0; bit < 8; bit += 7) {
			raw[i] ^= (unsigned char)(1u << bit);
			char *bad = ctxd_base64_encode(raw, n, NULL);
			raw[i] ^= (unsigned char)(1u << bit);
			ASSERT(bad);
			char id[32];
			snprintf(id, sizeof(id), "t%zu-%u", i, bit);
			mrtr_call(id, bad);
			free(bad);
			char want[48];
			snprintf(want, sizeof(want), "\"id\":\"%s\"", id);
			ASSERT(test_frames_find(&sent, want, "\"code\":-32602"));
		}
	}
	char cut[200];
	snprintf(cut, sizeof(cut), "%.*s", (int)strlen(state) - 4, state);
	mrtr_call("cut", cut);
	ASSERT(test_frames_find(&sent, "\"id\":\"cut\"", "\"code\":-32602"));
	mrtr_call("ok", state);
	settle();
	ASSERT(test_frames_find(&sent, "\"id\":\"ok\"", "\"resultType\":\"complete\""));
	ASSERT(!test_frames_find(&sent, "\"id\":\"ok\"", "\"error\""));
	json_decref(msg);
	stop(&w);
}

int main(void)
{
	test_tmp_root(tmp, sizeof(tmp), "roots");
	snprintf(root_a, sizeof(root_a), "%s/a", tmp);
	snprintf(root_b, sizeof(root_b), "%s/b", tmp);
	make_tree();
	ASSERT_EQ(sem_init(&woke, 0, 0), 0);
	json_object_seed(0);

	RUN(test_roots_startup_scan_not_announced);
	RUN(test_roots_skills_follow_client_roots);
	RUN(test_roots_mrtr_state_tamper);

	ASSERT_EQ(tree_rm_rf(tmp), 0);
	sem_destroy(&woke);
	return 0;
}
