/* fuzz_mcp.c - the JSON-RPC layer with the MCP method table behind it: bytes in, frames
 * out (ctxd_mcp_handle_frame), wired as src/loop.c wires it.
 *
 * Once per process: a temp tree (a few files and directories), a sandbox over it (one
 * read-only root, so the tree stays the same from input to input and writing tools are
 * hidden), the file tools registry and a real worker pool. Per input: a fresh engine (a
 * fresh session), the input split into frames by the real splitter (64 KiB limit) and
 * handed to the engine, which is then told the input ended (as at EOF: requests waiting for
 * the client's roots stop waiting); then the pool is drained until nothing is in flight, and the
 * engine's clock is moved far ahead so its own pending requests (roots/list) time out.
 * Every output frame must be exactly one line of valid JSON: an object (or, for a batch,
 * an array of objects) with "jsonrpc":"2.0", and either a method, or an id with exactly
 * one of result / error {code: integer, message: string}. CTXD_FUZZ_ECHO=1 in the
 * environment copies every output frame to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/config.h"
#include "ctxd/fs.h"
#include "ctxd/log.h"
#include "ctxd/mcp.h"
#include "ctxd/pool.h"
#include "ctxd/registry.h"
#include "ctxd/sandbox.h"
#include "ctxd/transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	char base[256];
	struct ctxd_config cfg;
	struct ctxd_sandbox *sb;
	struct ctxd_registry *reg;
	struct ctxd_pool *pool;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned wakes;
	bool ready;
	bool echo; /* CTXD_FUZZ_ECHO=1: copy every output frame to stderr */
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	ctxd_pool_destroy(g.pool);
	ctxd_registry_destroy(g.reg);
	ctxd_sandbox_destroy(g.sb);
	ctxd_config_finish(&g.cfg);
	if (g.base[0]) {
		nftw(g.base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
}

static void put_file(const char *rel, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", g.base, rel);
	FILE *f = fopen(p, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(p);
		abort();
	}
}

static void wake(void *ud)
{
	(void)ud;
	pthread_mutex_lock(&g.mu);
	g.wakes++;
	pthread_cond_signal(&g.cv);
	pthread_mutex_unlock(&g.mu);
}

static void setup(void)
{
	ctxd_log_set_level(CTXD_LOG_OFF);
	g.echo = getenv("CTXD_FUZZ_ECHO") != NULL;
	const char *tmp = getenv("TMPDIR");
	snprintf(g.base, sizeof(g.base), "%s/ctxd-fuzz-mcp-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(g.base)) {
		perror("mkdtemp");
		abort();
	}
	atexit(cleanup);
	char p[512];
	snprintf(p, sizeof(p), "%s/src", g.base);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/src/deep", g.base);
	mkdir(p, 0755);
	put_file("README.md", "# demo\n\nline 3\nline 4\n");
	put_file("lines.txt", "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\n");
	put_file("src/main.c", "int main(void) { return 0; }\n");
	put_file("src/deep/notes.txt", "caf\xc3\xa9 \xe2\x82\xac\n");
	put_file("bin.dat", "\x01\x02\x00\xff\xfe binary\n");
	snprintf(p, sizeof(p), "%s/link", g.base);
	if (symlink("src/main.c", p) < 0) {
		abort();
	}

	struct ctxd_error err = {0};
	ctxd_config_init(&g.cfg);
	g.cfg.read_only = true;
	g.cfg.landlock = false;
	g.cfg.max_read_bytes = 64 * 1024;
	g.cfg.max_entries = 200;
	g.cfg.page_size = 3;
	g.cfg.roots_timeout_ms = 100;
	g.sb = ctxd_sandbox_create();
	g.reg = ctxd_registry_create();
	if (!g.sb || !g.reg || ctxd_sandbox_add_root(g.sb, g.base, true, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		abort();
	}
	ctxd_sandbox_seal(g.sb);
	if (ctxd_registry_add(g.reg, ctxd_fs_tools, ctxd_fs_tools_count, &g.cfg, NULL, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		abort();
	}
	json_object_seed(0);
	g.pool = ctxd_pool_create(2, wake, NULL);
	if (!g.pool) {
		abort();
	}
	g.ready = true;
}

static void fail_frame(const char *why, const char *buf, size_t len)
{
	fprintf(stderr, "bad output frame (%s): %.*s\n", why, (int)(len > 2000 ? 2000 : len), buf);
	abort();
}

static void check_message(json_t *msg, const char *buf, size_t len)
{
	if (!json_is_object(msg)) {
		fail_frame("not an object", buf, len);
	}
	json_t *v = json_object_get(msg, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0) {
		fail_frame("jsonrpc is not \"2.0\"", buf, len);
	}
	json_t *method = json_object_get(msg, "method");
	if (method) {
		if (!json_is_string(method)) {
			fail_frame("method not a string", buf, len);
		}
		return; /* our request or notification to the client */
	}
	json_t *id = json_object_get(msg, "id");
	json_t *result = json_object_get(msg, "result");
	json_t *error = json_object_get(msg, "error");
	if (!id || !(json_is_string(id) || json_is_integer(id) || json_is_null(id))) {
		fail_frame("response without a valid id", buf, len);
	}
	if (!result == !error) {
		fail_frame("response needs exactly one of result and error", buf, len);
	}
	if (result && !json_is_object(result)) {
		fail_frame("result is not an object", buf, len);
	}
	if (error && (!json_is_object(error) || !json_is_integer(json_object_get(error, "code")) ||
		      !json_is_string(json_object_get(error, "message")))) {
		fail_frame("malformed error object", buf, len);
	}
	if (json_is_null(id) && !error) {
		fail_frame("a result for id null", buf, len);
	}
}

static void on_send(void *ud, char *buf, size_t len)
{
	size_t *count = ud;
	++*count;
	if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\n', len - 1)) {
		fail_frame("not exactly one line", buf, len);
	}
	json_error_t jerr;
	json_t *v = json_loadb(buf, len - 1, 0, &jerr);
	if (!v) {
		fprintf(stderr, "invalid JSON: %s\n", jerr.text);
		fail_frame("invalid JSON", buf, len);
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		if (json_array_size(v) == 0) {
			fail_frame("empty batch response", buf, len);
		}
		json_array_foreach(v, i, e)
		{
			check_message(e, buf, len);
		}
	} else {
		check_message(v, buf, len);
	}
	json_decref(v);
	if (g.echo) {
		fwrite(buf, 1, len, stderr);
	}
	free(buf);
}

static void on_frame(void *ud, const char *line, size_t len)
{
	ctxd_mcp_handle_frame(ud, line, len);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Run completions until nothing is in flight (10 s at most: a hang is a finding). */
static void drain(struct ctxd_mcp *m)
{
	double limit = now_ms() + 10000;
	for (;;) {
		ctxd_mcp_poll(m);
		ctxd_pool_drain(g.pool);
		if (ctxd_mcp_inflight(m) == 0) {
			break;
		}
		if (now_ms() > limit) {
			fprintf(stderr, "%zu request(s) still in flight after 10 s\n",
				ctxd_mcp_inflight(m));
			abort();
		}
		pthread_mutex_lock(&g.mu);
		if (g.wakes == 0) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&g.cv, &g.mu, &ts);
		}
		g.wakes = 0;
		pthread_mutex_unlock(&g.mu);
	}
	ctxd_mcp_poll(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g.ready) {
		setup();
	}
	size_t sent = 0;
	struct ctxd_mcp_deps deps = {
	    .cfg = &g.cfg,
	    .sandbox = g.sb,
	    .registry = g.reg,
	    .pool = g.pool,
	    .send = on_send,
	    .send_ud = &sent,
	    .wake = wake,
	};
	struct ctxd_mcp *m = ctxd_mcp_create(&deps);
	if (!m) {
		abort();
	}
	struct ctxd_splitter sp;
	ctxd_splitter_init(&sp, 64 * 1024);
	if (ctxd_splitter_feed(&sp, (const char *)data, size, on_frame, m) < 0) {
		abort();
	}
	/* a last line without its newline is a frame too (as at EOF) */
	if (ctxd_splitter_feed(&sp, "\n", 1, on_frame, m) < 0) {
		abort();
	}
	ctxd_splitter_finish(&sp);
	ctxd_mcp_input_closed(m); /* EOF, as the loop reports it: nothing waits for roots now */
	drain(m);
	ctxd_mcp_tick(m, now_ms() + 1e9); /* time out our own requests to the client */
	drain(m);
	ctxd_mcp_destroy(m);
	return 0;
}
