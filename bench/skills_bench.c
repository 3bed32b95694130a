/* skills_bench.c - Agent Skills benchmark: cold discovery + parse of N generated skills,
 * warm skill_list per call (1,000 skills and a 10-skill catalogue), skill_activate calls/s.
 *
 * Usage: skills_bench [N=1000]. Builds its tree under $TMPDIR (or /tmp), removed at exit.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/config.h"
#include "ctxd/sandbox.h"
#include "ctxd/skills.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void make_skills(const char *dir, int n)
{
	char p[2048];
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/skill-%04d", dir, i);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/skill-%04d/references", dir, i);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/skill-%04d/SKILL.md", dir, i);
		FILE *f = fopen(p, "w");
		fprintf(f,
			"---\nname: skill-%04d\ndescription: Generated skill number %d for the "
			"benchmark; use it when the task mentions item %d.\nlicense: MIT\n"
			"metadata:\n  version: \"1.%d\"\n---\n# Skill %d\n\nDo the thing with "
			"$ARGUMENTS and read references/guide.md.\n",
			i, i, i, i, i);
		fclose(f);
		snprintf(p, sizeof(p), "%s/skill-%04d/references/guide.md", dir, i);
		f = fopen(p, "w");
		fputs("# Guide\n\nSteps.\n", f);
		fclose(f);
	}
}

static const struct ctxd_tool *tool(const char *name)
{
	for (size_t i = 0; i < ctxd_skills_tools_count; i++) {
		if (strcmp(ctxd_skills_tools[i].name, name) == 0) {
			return &ctxd_skills_tools[i];
		}
	}
	abort();
}

/* Time `iters` calls of tool `t` with `args`; returns seconds per call. */
static double per_call(struct ctxd_tool_ctx *ctx, const struct ctxd_tool *t, json_t *args,
		       int iters)
{
	double t0 = now();
	for (int i = 0; i < iters; i++) {
		json_t *r = t->fn(ctx, args);
		if (!r || json_is_true(json_object_get(r, "isError"))) {
			fprintf(stderr, "%s failed\n", t->name);
			exit(1);
		}
		json_decref(r);
	}
	return (now() - t0) / iters;
}

static void run(const char *root, int n, bool report_cold)
{
	struct ctxd_config cfg;
	ctxd_config_init(&cfg);
	cfg.skills_user_dirs = false;
	struct ctxd_sandbox *sb = ctxd_sandbox_create();
	struct ctxd_error err;
	if (ctxd_sandbox_add_root(sb, root, true, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	ctxd_sandbox_seal(sb);
	struct ctxd_skills *sk = ctxd_sk_create(&cfg, sb, NULL, &err);
	double t0 = now();
	struct ctxd_skills_snapshot *s = ctxd_sk_snapshot(sk);
	double cold = now() - t0;
	if (!s || s->n_skills != (size_t)n) {
		fprintf(stderr, "expected %d skills, got %zu\n", n, s ? s->n_skills : 0);
		exit(1);
	}
	ctxd_sk_snapshot_put(s);
	t0 = now();
	ctxd_sk_rescan(sk);
	double rescan = now() - t0;
	struct ctxd_tool_ctx ctx = {&cfg, sb, NULL, NULL, sk};
	json_t *empty = json_object();
	json_t *act = json_pack("{s:s, s:s}", "name", "skill-0000", "arguments", "a \"b c\" d");
	int iters = n >= 1000 ? 200 : 5000;
	double list = per_call(&ctx, tool("skill_list"), empty, iters);
	double activate = per_call(&ctx, tool("skill_activate"), act, 20000);
	if (report_cold) {
		printf("cold discovery + parse of %d skills: %.2f ms (goal < 50 ms)\n", n,
		       cold * 1e3);
		printf("re-scan, nothing changed (hot reload path): %.2f ms\n", rescan * 1e3);
	}
	printf("warm skill_list, %d skills in the catalogue: %.4f ms/call\n", n, list * 1e3);
	printf("skill_activate (%d skills): %.0f calls/s\n", n, 1.0 / activate);
	json_decref(empty);
	json_decref(act);
	ctxd_sk_destroy(sk);
	ctxd_sandbox_destroy(sb);
	ctxd_config_finish(&cfg);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	const char *t = getenv("TMPDIR");
	char tmp[1024], root[1100], dir[1200], small[1100], sdir[1200];
	snprintf(tmp, sizeof(tmp), "%s/skills-bench-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(root, sizeof(root), "%s/big", tmp);
	snprintf(small, sizeof(small), "%s/small", tmp);
	mkdir(root, 0755);
	mkdir(small, 0755);
	snprintf(dir, sizeof(dir), "%s/.claude", root);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/.claude/skills", root);
	mkdir(dir, 0755);
	snprintf(sdir, sizeof(sdir), "%s/.claude", small);
	mkdir(sdir, 0755);
	snprintf(sdir, sizeof(sdir), "%s/.claude/skills", small);
	mkdir(sdir, 0755);
	json_object_seed(0);
	make_skills(dir, n);
	make_skills(sdir, 10);
	/* drop nothing from the page cache: "cold" means no parsed state, files cached */
	run(root, n, true);
	run(small, 10, false);
	nftw(tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
