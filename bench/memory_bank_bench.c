/* memory_bank_bench.c - memory bank figures: validate a 50-file bank, search 1,000 files x
 * 10 KiB (cold and warm), memory_bank_write section-append calls/s (every call fsyncs file,
 * history and dirs).
 *
 * Build (after `meson setup build-x && ninja -C build-x`, or any build dir with libctxd.a):
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude bench/memory_bank_bench.c build-x/libctxd.a \
 *      -ljansson -lyaml -lev -lnettle -lpcre2-8 -lpthread -lm -o /tmp/mbbench
 * Run: /tmp/mbbench [DIR]   (DIR: where to build the fixtures, default $TMPDIR or /tmp)
 * Calls the tool handlers directly (no JSON-RPC framing), on one thread.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ctxd/config.h"
#include "ctxd/memory_bank.h"
#include "ctxd/sandbox.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static const struct ctxd_tool *tool(const char *name)
{
	for (size_t i = 0; i < ctxd_memory_bank_tools_count; i++) {
		if (strcmp(ctxd_memory_bank_tools[i].name, name) == 0) {
			return &ctxd_memory_bank_tools[i];
		}
	}
	abort();
}

static double run(struct ctxd_tool_ctx *ctx, const char *name, const char *args)
{
	json_t *a = json_loads(args, 0, NULL);
	double t0 = now_ms();
	json_t *r = tool(name)->fn(ctx, a);
	double t = now_ms() - t0;
	if (!r || json_is_true(json_object_get(r, "isError"))) {
		fprintf(stderr, "%s failed\n", name);
		exit(1);
	}
	json_decref(r);
	json_decref(a);
	return t;
}

static const char *words[] = {
    "parser",   "index",   "release",  "deploy",  "cache",   "thread",  "socket",  "schema",
    "token",    "budget",  "history",  "section", "heading", "lock",    "rename",  "fsync",
    "agent",    "bank",    "search",   "ranking", "phrase",  "snippet", "project", "context",
    "progress", "pattern", "decision", "module",  "config",  "sandbox", "worker",  "queue",
};

static void fill(char *buf, size_t size, unsigned seed, int file)
{
	size_t n = (size_t)snprintf(buf, size, "# File %d\n\n", file);
	int sec = 0;
	while (n + 200 < size) {
		if (n % 1500 < 100) {
			n += (size_t)snprintf(buf + n, size - n, "\n## Section %d\n\n", sec++);
		}
		for (int w = 0; w < 12; w++) {
			seed = seed * 1103515245u + 12345u;
			n += (size_t)snprintf(
			    buf + n, size - n, "%s ",
			    words[(seed >> 16) % (sizeof(words) / sizeof(*words))]);
		}
		buf[n++] = '\n';
	}
	buf[n] = '\0';
}

static void mk_bank(const char *dir, int files, size_t size)
{
	char p[4200];
	mkdir(dir, 0755);
	snprintf(p, sizeof(p), "%s/memory-bank", dir);
	mkdir(p, 0755);
	char *buf = malloc(size + 1);
	for (int i = 0; i < files; i++) {
		snprintf(p, sizeof(p), "%s/memory-bank/notes%04d.md", dir, i);
		fill(buf, size, (unsigned)i * 7919u + 1, i);
		FILE *f = fopen(p, "w");
		fputs(buf, f);
		fclose(f);
	}
	free(buf);
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

struct env {
	struct ctxd_config cfg;
	struct ctxd_sandbox *sb;
	struct ctxd_mb *mb;
	struct ctxd_tool_ctx ctx;
};

static void env_init(struct env *e, const char *dir)
{
	struct ctxd_error err;
	ctxd_config_init(&e->cfg);
	e->sb = ctxd_sandbox_create();
	if (ctxd_sandbox_add_root(e->sb, dir, false, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	ctxd_sandbox_seal(e->sb);
	e->mb = ctxd_mb_create(&e->cfg, e->sb, &err);
	e->ctx = (struct ctxd_tool_ctx){.cfg = &e->cfg, .sandbox = e->sb, .ud = e->mb};
}

static void env_finish(struct env *e)
{
	ctxd_mb_destroy(e->mb);
	ctxd_sandbox_destroy(e->sb);
	ctxd_config_finish(&e->cfg);
}

int main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char d1[4096], d2[4096], d3[4096];
	snprintf(d1, sizeof(d1), "%s/mbbench-validate", base);
	snprintf(d2, sizeof(d2), "%s/mbbench-search", base);
	snprintf(d3, sizeof(d3), "%s/mbbench-update", base);
	struct env e;
	double t[200];

	/* validate: 6 core files from init + 44 notes of 2 KiB = 50 files */
	mk_bank(d1, 44, 2048);
	env_init(&e, d1);
	run(&e.ctx, "memory_bank_init", "{}");
	for (int i = 0; i < 200; i++) {
		t[i] = run(&e.ctx, "memory_bank_validate", "{}");
	}
	qsort(t, 200, sizeof(*t), cmp_d);
	printf("validate 50-file bank: median %.3f ms, p90 %.3f ms (200 runs; goal < 5 ms)\n",
	       t[100], t[180]);
	env_finish(&e);

	/* search: 1,000 files x 10 KiB */
	mk_bank(d2, 1000, 10240);
	env_init(&e, d2);
	double cold = run(&e.ctx, "memory_bank_search", "{\"query\": \"parser\"}");
	static const char *qs[] = {
	    "{\"query\": \"fsync rename\"}", "{\"query\": \"snippet ranking phrase\"}",
	    "{\"query\": \"worker queue\", \"limit\": 20}", "{\"query\": \"sandbox\"}"};
	for (int i = 0; i < 100; i++) {
		t[i] = run(&e.ctx, "memory_bank_search", qs[i % 4]);
	}
	qsort(t, 100, sizeof(*t), cmp_d);
	printf("search 1,000 files x 10 KiB: cold (index build) %.1f ms; warm median %.3f ms, "
	       "p90 %.3f ms (100 queries; goal < 20 ms warm)\n",
	       cold, t[50], t[90]);
	env_finish(&e);

	/* memory_bank_write on one section, with fsync: appends to it */
	mk_bank(d3, 0, 0);
	env_init(&e, d3);
	run(&e.ctx, "memory_bank_init", "{}");
	int n = 200;
	double t0 = now_ms();
	for (int i = 0; i < n; i++) {
		char a[256];
		snprintf(a, sizeof(a),
			 "{\"file\": \"progress.md\", \"section\": \"What Works\", "
			 "\"content\": \"- item %d\", \"mode\": \"append\"}",
			 i);
		run(&e.ctx, "memory_bank_write", a);
	}
	double el = now_ms() - t0;
	printf("section append with fsync + history: %.0f calls/s (%d calls, %.2f ms "
	       "each)\n",
	       n / (el / 1e3), n, el / n);
	env_finish(&e);

	nftw(d1, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	nftw(d2, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	nftw(d3, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
