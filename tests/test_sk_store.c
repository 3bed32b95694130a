/* test_sk_store.c - the skills store on its own, linked without src/tools/ and without the
 * protocol engine (tests/meson.build): discovery into a snapshot, lookup, the confined
 * open of skill files, the memo slots, and the change callback of hot reload. */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/config.h"
#include "ctxd/fsutil.h"
#include "ctxd/pool.h"
#include "ctxd/sandbox.h"
#include "ctxd/sk_catalog.h"
#include "ctxd/sk_dirs.h"
#include "ctxd/sk_store.h"
#include "ctxd/skill_args.h"
#include "ctxd/skill_md.h"
#include "test.h"

static char tmp[1024];    /* everything lives here */
static char root[1100];   /* <tmp>/root */
static char skills[1200]; /* <tmp>/root/.claude/skills */
static struct ctxd_config cfg;

static void put(const char *path, const char *data)
{
	tree_put(NULL, path, data);
}

/* A skill folder <skills>/<name> with a SKILL.md and one bundled file. */
static void skill(const char *name, const char *desc)
{
	char p[1500], md[600];
	snprintf(p, sizeof(p), "%s/%s", skills, name);
	ASSERT_EQ(mkdir(p, 0755), 0);
	snprintf(md, sizeof(md), "---\nname: %s\ndescription: %s\n---\nDo $0.\n", name, desc);
	snprintf(p, sizeof(p), "%s/%s/SKILL.md", skills, name);
	put(p, md);
	snprintf(p, sizeof(p), "%s/%s/notes.txt", skills, name);
	put(p, "notes\n");
}

static void setup(void)
{
	snprintf(tmp, sizeof(tmp), "%s/ctxd-sk-store-XXXXXX", test_tmp_base());
	ASSERT(mkdtemp(tmp));
	snprintf(root, sizeof(root), "%s/root", tmp);
	ASSERT_EQ(mkdir(root, 0755), 0);
	char p[1120];
	snprintf(p, sizeof(p), "%s/.claude", root);
	ASSERT_EQ(mkdir(p, 0755), 0);
	snprintf(skills, sizeof(skills), "%s/.claude/skills", root);
	ASSERT_EQ(mkdir(skills, 0755), 0);
	ctxd_config_init(&cfg);
	cfg.skills_user_dirs = false;
}

static void teardown(void)
{
	tree_rm_rf(tmp);
	ctxd_config_finish(&cfg);
}

/* The pure parts: a SKILL.md and a substitution. */
static void test_pure(void)
{
	const char *md = "---\nname: demo\ndescription: A demo.\n---\n\nRun $0 on $ARGUMENTS[1].\n";
	struct ctxd_skill_doc *d = ctxd_skill_md_parse(md, strlen(md), "demo", "/x/SKILL.md");
	ASSERT(d && d->valid);
	ASSERT_STR_EQ(d->name, "demo");
	ASSERT_STR_EQ(d->body, "Run $0 on $ARGUMENTS[1].\n");
	char *out = NULL;
	ASSERT_EQ(ctxd_skill_args_substitute(d->body, "a b", NULL, 0, 1024, &out, NULL), 0);
	ASSERT_STR_EQ(out, "Run a on b.\n");
	free(out);
	ctxd_skill_md_put(d);
	d = ctxd_skill_md_parse("---\nname: demo\n---\n", 19, "demo", "/x/SKILL.md");
	ASSERT(d && !d->valid);
	ASSERT_STR_EQ(d->diags[d->n_diags - 1].rule, "description-required");
	ctxd_skill_md_put(d);
}

static void free_str(void *p)
{
	free(p);
}

/* Discovery under a sandbox root, lookup, confined opens, memo slots. */
static void test_catalogue(void)
{
	skill("alpha", "First.");
	skill("beta", "Second.");
	struct ctxd_error err;
	struct ctxd_sandbox *sb = ctxd_sandbox_create();
	ASSERT(sb);
	ASSERT_EQ(ctxd_sandbox_add_root(sb, root, true, &err), 0);
	ctxd_sandbox_seal(sb);
	struct ctxd_skills *sk = ctxd_sk_create(&cfg, sb, NULL, &err);
	ASSERT(sk);
	ASSERT(ctxd_sk_config(sk) == &cfg);
	ASSERT(!ctxd_sk_snapshot_peek(sk)); /* discovery is lazy */
	struct ctxd_skills_snapshot *s = ctxd_sk_snapshot(sk);
	ASSERT(s);
	ASSERT_EQ(s->n_skills, 2);
	const struct ctxd_skill *a = ctxd_sk_find(s, "alpha");
	ASSERT(a && !ctxd_sk_find(s, "gamma"));
	ASSERT_EQ(a->n_files, 1);
	ASSERT_STR_EQ(a->files[0], "notes.txt");
	int fd = ctxd_sk_open_file(sk, a, "notes.txt", O_RDONLY);
	ASSERT(fd >= 0);
	close(fd);
	ASSERT_EQ(ctxd_sk_open_file(sk, a, "../beta/notes.txt", O_RDONLY), -1);
	ASSERT_EQ(errno, EACCES);
	char why[64];
	ASSERT_STR_EQ(ctxd_sk_why(ENOENT, why, sizeof(why)), "it does not exist");
	/* memo: the first value stays, a later one is freed by the store */
	ASSERT(!ctxd_sk_memo(s, 0, NULL, NULL));
	char *v1 = strdup("one"), *v2 = strdup("two");
	ASSERT(ctxd_sk_memo(s, 0, v1, free_str) == v1);
	ASSERT(ctxd_sk_memo(s, 0, v2, free_str) == v1);
	ASSERT(ctxd_sk_memo(s, 0, NULL, NULL) == v1);
	ASSERT(!ctxd_sk_rescan(sk)); /* nothing changed */
	ctxd_sk_snapshot_put(s);
	ctxd_sk_destroy(sk);
	ctxd_sandbox_destroy(sb);
}

/* ---- hot reload and the change callback ---- */

static sem_t woken;

static void wake(void *ud)
{
	(void)ud;
	sem_post(&woken);
}

/* Run the completions of the pool until one job completed (the reload job), as the loop
 * would. The 60 s limit is a hang guard only. */
static void reload_done(struct ctxd_pool *pool)
{
	for (;;) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 60;
		ASSERT_EQ(sem_timedwait(&woken, &until), 0);
		if (ctxd_pool_drain(pool) > 0) {
			return;
		}
	}
}

static void count_change(void *ud)
{
	(*(int *)ud)++;
}

/* The callback reports a replaced catalogue a reader saw, and nothing else. Client-roots
 * mode (no sandbox root): each ctxd_sk_set_roots runs one reload job. */
static void test_change_callback(void)
{
	skill("alpha", "First.");
	ASSERT_EQ(sem_init(&woken, 0, 0), 0);
	struct ctxd_pool *pool = ctxd_pool_create(1, wake, NULL);
	ASSERT(pool);
	struct ctxd_error err;
	struct ctxd_skills *sk = ctxd_sk_create(&cfg, NULL, pool, &err);
	ASSERT(sk);
	int changes = 0;
	ctxd_sk_on_change(sk, count_change, &changes);
	ctxd_sk_attach(sk, NULL);
	reload_done(pool);
	ASSERT_EQ(changes, 0); /* the first scan is no change */
	struct ctxd_sandbox *roots = ctxd_sandbox_create();
	ASSERT(roots);
	ASSERT_EQ(ctxd_sandbox_add_root(roots, root, true, &err), 0);
	ctxd_sandbox_seal(roots);
	ctxd_sk_set_roots(sk, roots);
	reload_done(pool);
	ASSERT_EQ(changes, 0); /* nobody read the empty catalogue it replaced */
	struct ctxd_skills_snapshot *s = ctxd_sk_snapshot_peek(sk); /* a reader sees it */
	ASSERT(s && ctxd_sk_find(s, "alpha"));
	ctxd_sk_snapshot_put(s);
	ctxd_sk_set_roots(sk, roots);
	reload_done(pool);
	ASSERT_EQ(changes, 0); /* the same catalogue again */
	skill("beta", "Second.");
	ctxd_sk_set_roots(sk, roots);
	reload_done(pool);
	ASSERT_EQ(changes, 1); /* a catalogue a reader saw was replaced */
	ctxd_sk_detach(sk);
	ctxd_pool_destroy(pool);
	ctxd_sk_destroy(sk);
	ctxd_sandbox_destroy(roots);
	sem_destroy(&woken);
}

int main(void)
{
	RUN(test_pure);
	setup();
	RUN(test_catalogue);
	teardown();
	setup();
	RUN(test_change_callback);
	teardown();
	return 0;
}
