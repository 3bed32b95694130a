/* test_pwalk.c - the parallel walk (src/tools/fs_pwalk.c) behind grep and search_files:
 * answers identical to one thread's, cancellation and the deadline reach every sub-job,
 * and a request sent during a big grep gets a worker before the grep ends.
 *
 * Threads are ordered by state, never by time: the walk's test hook
 * (ctxd_fs_pw_test_hook, called at the start of every task with the thread's slot) waits
 * on a condition variable for the state a test needs (a helper running, a request
 * queued, an answer sent). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/tools/fs_pwalk.h"
#include "ctxd/config.h"
#include "ctxd/fs.h"
#include "ctxd/mcp.h"
#include "ctxd/pool.h"
#include "ctxd/rpc.h"
#include "ctxd/sandbox.h"
#include "test.h"

#define WORKERS 4
#define DIRS    24
#define FILES   40

static char root[2048];
static struct ctxd_config cfg;
static struct ctxd_sandbox *sb;

/* ---- the shared tree ------------------------------------------------------------------ */

static void put(const char *rel, const char *s)
{
	tree_put(root, rel, s);
}

static void mkd(const char *rel)
{
	tree_mkdir(root, rel);
}

/* DIRS directories of FILES files each (every third file holds "needle" on two lines),
 * a nested level under every fourth directory, and ignore files that hide some of it. */
static void make_tree(void)
{
	char rel[256], body[256];
	mkd("t");
	put("t/.gitignore", "*.log\nd03/\n!keep.log\n");
	for (int d = 0; d < DIRS; d++) {
		snprintf(rel, sizeof(rel), "t/d%02d", d);
		mkd(rel);
		if (d % 4 == 1) {
			snprintf(rel, sizeof(rel), "t/d%02d/deep", d);
			mkd(rel);
			snprintf(rel, sizeof(rel), "t/d%02d/deep/x.c", d);
			put(rel, "int needle_deep;\n");
			snprintf(rel, sizeof(rel), "t/d%02d/.ignore", d);
			put(rel, "f1*.txt\n");
		}
		for (int f = 0; f < FILES; f++) {
			snprintf(rel, sizeof(rel), "t/d%02d/f%02d.%s", d, f,
				 f % 5 == 4 ? "log" : "txt");
			if (f % 3 == 0) {
				snprintf(body, sizeof(body), "a needle %d.%d\nno\nneedle again\n",
					 d, f);
			} else {
				snprintf(body, sizeof(body), "nothing here %d.%d\n", d, f);
			}
			put(rel, body);
		}
	}
	put("t/keep.log", "needle kept\n");
}

/* ---- the hook: states, not time ------------------------------------------------------ */

enum mode {
	M_OFF = 0,
	M_SPREAD,      /* slot 0 waits at its second task until a helper ran a task */
	M_CANCEL,      /* a helper's first task sets the cancel flag */
	M_CANCEL_FILE, /* a helper's first file callback sets it (count_file) */
	M_REQUEST,     /* the read-during-grep choreography (test_request_during_grep) */
};

enum { P_START = 0, P_HELPER_RUNNING, P_REQUEST_QUEUED, P_REQUEST_ANSWERED };

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum mode mode;
	unsigned owner_tasks;       /* tasks slot 0 started */
	unsigned helper_tasks;      /* tasks other slots started */
	int phase;                  /* M_REQUEST */
	unsigned late_helper_tasks; /* helper tasks started while a request waited */
	struct ctxd_job *job;       /* M_CANCEL: the job to cancel */
	atomic_bool cancelled;      /* M_CANCEL: set */
} h = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void hook(unsigned slot)
{
	pthread_mutex_lock(&h.mu);
	bool first_helper = slot != 0 && h.helper_tasks == 0;
	if (slot == 0) {
		h.owner_tasks++;
	} else {
		h.helper_tasks++;
	}
	pthread_cond_broadcast(&h.cv);
	switch (h.mode) {
	case M_OFF:
		break;
	case M_SPREAD:
		if (slot == 0 && h.owner_tasks == 2) {
			while (h.helper_tasks == 0) {
				pthread_cond_wait(&h.cv, &h.mu);
			}
		}
		break;
	case M_CANCEL:
	case M_CANCEL_FILE:
		if (first_helper && h.mode == M_CANCEL) {
			atomic_store(&h.job->cancel, true);
			atomic_store(&h.cancelled, true);
		} else if (slot == 0 && h.owner_tasks == 2) {
			while (h.helper_tasks == 0) {
				pthread_cond_wait(&h.cv, &h.mu);
			}
		}
		break;
	case M_REQUEST:
		if (slot == 0 && h.owner_tasks >= 2) {
			/* the grep's own thread stays here until the request was answered */
			while (h.phase < P_REQUEST_ANSWERED) {
				pthread_cond_wait(&h.cv, &h.mu);
			}
		} else if (slot != 0 && first_helper) {
			h.phase = P_HELPER_RUNNING;
			pthread_cond_broadcast(&h.cv);
			while (h.phase < P_REQUEST_QUEUED) {
				pthread_cond_wait(&h.cv, &h.mu);
			}
		} else if (slot != 0 && h.phase == P_REQUEST_QUEUED) {
			h.late_helper_tasks++; /* a helper kept the worker a request waits for */
		}
		break;
	}
	pthread_mutex_unlock(&h.mu);
}

static void hook_reset(enum mode mode)
{
	pthread_mutex_lock(&h.mu);
	h.mode = mode;
	h.owner_tasks = h.helper_tasks = h.late_helper_tasks = 0;
	h.phase = P_START;
	h.job = NULL;
	atomic_store(&h.cancelled, false);
	pthread_mutex_unlock(&h.mu);
}

/* ---- calling tools directly ----------------------------------------------------------- */

static const struct ctxd_tool *tool(const char *name)
{
	for (size_t i = 0; i < ctxd_fs_tools_count; i++) {
		if (strcmp(ctxd_fs_tools[i].name, name) == 0) {
			return &ctxd_fs_tools[i];
		}
	}
	ASSERT(0);
	return NULL;
}

/* Call `name` with the JSON text `args`, on `pool` (NULL: the calling thread alone); the
 * answer as the JSON text the tool writes into a response frame (ctx.out), malloc'd. */
static char *call_text(struct ctxd_pool *pool, struct ctxd_job *job, const char *name,
		       const char *args)
{
	json_error_t je;
	json_t *a = json_loads(args, 0, &je);
	ASSERT(a);
	struct ctxd_strbuf out = {0};
	struct ctxd_tool_ctx ctx = {
	    .cfg = &cfg,
	    .sandbox = sb,
	    .job = job,
	    .pool = pool,
	    .out = &out,
	};
	json_t *r = tool(name)->fn(&ctx, a);
	json_decref(a);
	if (r != CTXD_TOOL_WRITTEN) {
		/* a tool that answered with a value (an error): its text */
		ASSERT(r);
		ASSERT(!out.oom);
		free(out.p);
		char *s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(r);
		return s;
	}
	ASSERT(!out.oom && out.p);
	return out.p;
}

/* Run `args` on one thread and on the pool (with helpers made to take part): the answers
 * must be the same bytes. */
static void same_answer(struct ctxd_pool *pool, const char *name, const char *args,
			const char *must_hold)
{
	hook_reset(M_OFF);
	char *one = call_text(NULL, NULL, name, args);
	ASSERT_EQ(h.helper_tasks, 0);
	hook_reset(M_SPREAD);
	char *many = call_text(pool, NULL, name, args);
	ASSERT(h.helper_tasks > 0);
	if (strcmp(one, many) != 0) {
		fprintf(stderr, "%s %s\none thread: %.600s\nthe pool:   %.600s\n", name, args, one,
			many);
		abort();
	}
	if (!strstr(one, must_hold)) {
		fprintf(stderr, "%s %s: the answer lacks %s\n", name, args, must_hold);
		abort();
	}
	free(one);
	free(many);
}

/* Issue 13 item 1: the pool's answers are byte for byte those of one thread (sorted by
 * path as before), for grep with and without a result limit and for search_files. */
static void test_parallel_same(struct ctxd_pool *pool)
{
	char args[4096];
	snprintf(args, sizeof(args), "{\"path\":\"%s/t\",\"pattern\":\"needle\"}", root);
	same_answer(pool, "grep", args, "d23/f36.txt");
	snprintf(args, sizeof(args), "{\"path\":\"%s/t\",\"pattern\":\"needle\",\"maxResults\":37}",
		 root);
	same_answer(pool, "grep", args, "\"truncated\":true");
	snprintf(args, sizeof(args),
		 "{\"path\":\"%s/t\",\"pattern\":\"needle\",\"outputMode\":\"files_with_matches\"}",
		 root);
	same_answer(pool, "grep", args, "keep.log");
	snprintf(args, sizeof(args), "{\"path\":\"%s/t\",\"pattern\":\"**/*.txt\"}", root);
	same_answer(pool, "search_files", args, "d22/f38.txt");
	snprintf(args, sizeof(args),
		 "{\"path\":\"%s/t\",\"pattern\":\"**\",\"respectGitignore\":false}", root);
	same_answer(pool, "search_files", args, "d03/f04.log");
}

/* Issue 13 item 1: cancelling a call stops every sub-job. A helper's first file sets the
 * cancel flag; the walk ends (ctxd_fs_pw_run returns only when no helper is left), says
 * so, and after the flag each other thread starts at most the one file it was about to
 * start (the helper itself none: it is in the middle of a batch of files). The same
 * through grep, cancelled when a helper's first task starts. */
static struct {
	atomic_uint files, files_after;
} cnt;

static unsigned count_classify(struct ctxd_fs_pw *w, unsigned slot, struct ctxd_fs_pw_node *d,
			       uint32_t i, const char *rel, size_t rel_len, void **child_state)
{
	(void)w;
	(void)slot;
	(void)rel;
	(void)rel_len;
	(void)child_state;
	return d->ents[i].type == CTXD_FS_WALK_DIR ? CTXD_FS_PW_DESCEND
						   : CTXD_FS_PW_KEEP | CTXD_FS_PW_FILE;
}

static void count_file(struct ctxd_fs_pw *w, unsigned slot, struct ctxd_fs_pw_node *d, uint32_t i,
		       const char *rel, size_t rel_len)
{
	(void)w;
	(void)d;
	(void)i;
	(void)rel;
	(void)rel_len;
	atomic_fetch_add(&cnt.files, 1);
	if (atomic_load(&h.cancelled)) {
		atomic_fetch_add(&cnt.files_after, 1);
	} else if (h.mode == M_CANCEL_FILE && slot != 0) {
		/* in the middle of a batch of files: this thread must stop at the next one */
		atomic_store(&h.job->cancel, true);
		atomic_store(&h.cancelled, true);
	}
}

static int walk(struct ctxd_pool *pool, struct ctxd_job *job, int64_t deadline,
		struct ctxd_fs_pw **out)
{
	static const struct ctxd_fs_pw_ops ops = {.classify = count_classify, .file = count_file};
	struct ctxd_fs_pw_opts o = {
	    .job = job,
	    .deadline_ms = deadline,
	    .pool = pool,
	    .ops = &ops,
	};
	char p[4096];
	snprintf(p, sizeof(p), "%s/t", root);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT(fd >= 0);
	atomic_store(&cnt.files, 0);
	atomic_store(&cnt.files_after, 0);
	int rc = ctxd_fs_pw_run(fd, &o, out);
	close(fd);
	return rc;
}

static void test_parallel_cancel(struct ctxd_pool *pool)
{
	struct ctxd_fs_pw *w;
	/* the whole walk first: how many files there are */
	hook_reset(M_OFF);
	ASSERT_EQ(walk(pool, NULL, 0, &w), 0);
	unsigned all = atomic_load(&cnt.files);
	ASSERT(all > DIRS * FILES);
	ctxd_fs_pw_free(w);

	struct ctxd_job job;
	memset(&job, 0, sizeof(job));
	hook_reset(M_CANCEL_FILE);
	h.job = &job;
	ASSERT_EQ(walk(pool, &job, 0, &w), -ECANCELED);
	ASSERT(h.helper_tasks > 0);
	ASSERT(atomic_load(&h.cancelled));
	ASSERT(atomic_load(&cnt.files_after) <= WORKERS - 1);
	ASSERT(atomic_load(&cnt.files) < all);
	ctxd_fs_pw_free(w);

	/* the deadline too: long past, no thread works on a file */
	hook_reset(M_OFF);
	ASSERT_EQ(walk(pool, NULL, 1, &w), -ETIMEDOUT);
	ASSERT_EQ(atomic_load(&cnt.files), 0);
	ctxd_fs_pw_free(w);

	/* and through grep: the answer says the call was cancelled */
	memset(&job, 0, sizeof(job));
	hook_reset(M_CANCEL);
	h.job = &job;
	char args[4096];
	snprintf(args, sizeof(args), "{\"path\":\"%s/t\",\"pattern\":\"needle\"}", root);
	char *s = call_text(pool, &job, "grep", args);
	ASSERT(h.helper_tasks > 0);
	ASSERT(strstr(s, "cancelled"));
	free(s);
	hook_reset(M_OFF);
}

/* ---- a request during a big grep, through the MCP engine ------------------------------ */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned wakes;
	char order[8][32]; /* ids of the responses, in the order they were sent */
	unsigned n;
	char *grep_answer;
} io = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void on_wake(void *ud)
{
	(void)ud;
	pthread_mutex_lock(&io.mu);
	io.wakes++;
	pthread_cond_signal(&io.cv);
	pthread_mutex_unlock(&io.mu);
}

static void on_send(void *ud, char *buf, size_t len)
{
	(void)ud;
	json_error_t je;
	json_t *v = json_loadb(buf, len, 0, &je);
	ASSERT(v);
	json_t *id = json_object_get(v, "id");
	if (json_is_string(id) && io.n < 8) {
		snprintf(io.order[io.n++], sizeof(io.order[0]), "%s", json_string_value(id));
		if (strcmp(json_string_value(id), "grep") == 0) {
			io.grep_answer = strndup(buf, len);
		}
	}
	json_decref(v);
	free(buf);
}

static bool answered(const char *id)
{
	for (unsigned i = 0; i < io.n; i++) {
		if (strcmp(io.order[i], id) == 0) {
			return true;
		}
	}
	return false;
}

/* Run completions (the loop's part) until `id` was answered. */
static void serve_until(struct ctxd_mcp *m, struct ctxd_pool *pool, const char *id)
{
	while (!answered(id)) {
		ctxd_mcp_poll(m);
		ctxd_pool_drain(pool);
		if (answered(id)) {
			break;
		}
		pthread_mutex_lock(&io.mu);
		while (io.wakes == 0) {
			pthread_cond_wait(&io.cv, &io.mu);
		}
		io.wakes = 0;
		pthread_mutex_unlock(&io.mu);
	}
}

static void frame(struct ctxd_mcp *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void frame(struct ctxd_mcp *m, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ctxd_mcp_handle_frame(m, buf, strlen(buf));
}

/* Issue 13 item 1: one huge call does not starve other requests. Two workers: the grep's
 * own and one helper. While the helper runs a task, a get_file_info (a call that needs a
 * worker: read_text_file of a small cached file would be answered on the loop thread) and a
 * ping arrive; the helper must give its worker to the call after that task (no helper task
 * starts while the call waits), and both are answered while the grep still runs (its
 * thread waits in the hook until the call's answer was sent). */
static void test_request_during_grep(void)
{
	struct ctxd_registry *reg = ctxd_registry_create();
	struct ctxd_error err;
	ASSERT(reg);
	ASSERT_EQ(ctxd_registry_add(reg, ctxd_fs_tools, ctxd_fs_tools_count, &cfg, NULL, &err), 0);
	struct ctxd_pool *pool = ctxd_pool_create(2, on_wake, NULL);
	ASSERT(pool);
	struct ctxd_mcp_deps deps = {
	    .cfg = &cfg,
	    .sandbox = sb,
	    .registry = reg,
	    .pool = pool,
	    .send = on_send,
	    .wake = on_wake,
	};
	struct ctxd_mcp *m = ctxd_mcp_create(&deps);
	ASSERT(m);
	frame(m, "{\"jsonrpc\":\"2.0\",\"id\":\"init\",\"method\":\"initialize\",\"params\":"
		 "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":"
		 "{\"name\":\"t\",\"version\":\"1\"}}}");
	serve_until(m, pool, "init");
	frame(m, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");

	hook_reset(M_REQUEST);
	frame(m,
	      "{\"jsonrpc\":\"2.0\",\"id\":\"grep\",\"method\":\"tools/call\",\"params\":"
	      "{\"name\":\"grep\",\"arguments\":{\"path\":\"%s/t\",\"pattern\":\"needle\"}}}",
	      root);
	pthread_mutex_lock(&h.mu);
	while (h.phase < P_HELPER_RUNNING) {
		pthread_cond_wait(&h.cv, &h.mu);
	}
	pthread_mutex_unlock(&h.mu);
	/* the helper is inside a task: queue a read (it waits for a worker) and a ping */
	frame(m,
	      "{\"jsonrpc\":\"2.0\",\"id\":\"read\",\"method\":\"tools/call\",\"params\":"
	      "{\"name\":\"get_file_info\",\"arguments\":{\"path\":\"%s/t/keep.log\"}}}",
	      root);
	frame(m, "{\"jsonrpc\":\"2.0\",\"id\":\"ping\",\"method\":\"ping\"}");
	pthread_mutex_lock(&h.mu);
	h.phase = P_REQUEST_QUEUED;
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.mu);

	serve_until(m, pool, "read");
	ASSERT(answered("ping"));
	ASSERT(!answered("grep"));
	pthread_mutex_lock(&h.mu);
	ASSERT_EQ(h.late_helper_tasks, 0);
	h.phase = P_REQUEST_ANSWERED;
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.mu);

	serve_until(m, pool, "grep");
	hook_reset(M_OFF);
	ASSERT_STR_EQ(io.order[io.n - 1], "grep");
	ASSERT(strstr(io.grep_answer, "needle kept"));
	ASSERT(strstr(io.grep_answer, "d23/f36.txt"));
	free(io.grep_answer);
	ctxd_pool_destroy(pool);
	ctxd_mcp_poll(m);
	ctxd_mcp_destroy(m);
	ctxd_registry_destroy(reg);
}

int main(void)
{
	test_tmp_root(root, sizeof(root), "ctxd-pwalk");
	ctxd_config_init(&cfg);
	cfg.landlock = false;
	sb = ctxd_sandbox_create();
	ASSERT(sb);
	struct ctxd_error err;
	ASSERT_EQ(ctxd_sandbox_add_root(sb, root, false, &err), 0);
	ctxd_sandbox_seal(sb);
	make_tree();
	ctxd_fs_pw_test_hook = hook;

	struct ctxd_pool *pool = ctxd_pool_create(WORKERS, on_wake, NULL);
	ASSERT(pool);
	/* the calls below run on this thread as if it were a worker: the pool's own workers
	 * run the helpers */
	RUN_ARG(test_parallel_same, pool);
	RUN_ARG(test_parallel_cancel, pool);
	ctxd_pool_destroy(pool);
	RUN(test_request_during_grep);

	ctxd_sandbox_destroy(sb);
	ctxd_config_finish(&cfg);
	tree_rm_rf(root);
	return 0;
}
