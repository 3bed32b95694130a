/* test_mb_store.c - the memory bank's store through its own API, linked without the tools
 * layer (no src/tools/ source is in this binary, so a call from the store up into the
 * tools fails to link here): the bank object and its settings from the config, finding and
 * creating the bank, the write transaction, the change callback the upper layer registers,
 * history and versions, validation. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/config.h"
#include "ctxd/mb_history.h"
#include "ctxd/mb_store.h"
#include "ctxd/mb_validate.h"
#include "ctxd/sandbox.h"
#include "test.h"

static char root[CTXD_PATH_MAX];
static struct ctxd_config cfg;
static struct ctxd_sandbox *sb;

/* What the change callback saw. */
struct changes {
	int calls;
	char file[64];
	char project[128];
	long version;
};

static void on_change(void *ud, const struct ctxd_mb_dir *dir, const char *file, long version)
{
	struct changes *c = ud;
	c->calls++;
	snprintf(c->file, sizeof(c->file), "%s", file);
	snprintf(c->project, sizeof(c->project), "%s", dir->project);
	c->version = version;
}

/* An edit that writes `arg` (a string) whatever the file held. */
static int put_fn(void *arg, const char *cur, size_t len, char **out, size_t *out_len,
		  struct ctxd_error *err)
{
	*out = strdup(arg);
	*out_len = strlen(arg);
	return *out ? 0 : -1;
}

static int fail_fn(void *arg, const char *cur, size_t len, char **out, size_t *out_len,
		   struct ctxd_error *err)
{
	ctxd_error_set_errno(err, CTXD_ERR_TOOL, EINVAL, "refused by the edit");
	return -1;
}

static void test_settings(void)
{
	struct ctxd_error err;
	struct ctxd_config c;
	ctxd_config_init(&c);
	struct ctxd_mb *m = ctxd_mb_create(&c, sb, &err);
	ASSERT(m);
	/* the config's defaults, not the store's own */
	ASSERT_EQ(ctxd_mb_history_max(m), c.memory_bank_history);
	ASSERT(!ctxd_mb_multi(m));
	ASSERT(ctxd_mb_config(m) == &c);
	ASSERT(ctxd_mb_index(m) != NULL);
	c.memory_bank_history = 3;
	c.memory_bank_multi_project = true;
	ASSERT_EQ(ctxd_mb_history_max(m), 3);
	ASSERT(ctxd_mb_multi(m));
	ctxd_mb_destroy(m);
	ctxd_mb_destroy(NULL);
	ctxd_config_finish(&c);
	/* templates */
	ASSERT_EQ(ctxd_mb_core_index("progress.md"), 5);
	ASSERT_EQ(ctxd_mb_core_index("other.md"), -1);
	ASSERT(ctxd_mb_template("other.md") == NULL);
	ASSERT_CONTAINS(ctxd_mb_template("activeContext.md"), "## Current Focus\n");
	ASSERT_STR_EQ(ctxd_mb_core_sections("techContext.md")[0], "Technologies Used");
}

static void test_open_edit_callback(void)
{
	struct ctxd_error err = {0};
	struct ctxd_mb *m = ctxd_mb_create(&cfg, sb, &err);
	ASSERT(m);
	struct changes seen = {0};
	ctxd_mb_on_change(m, on_change, &seen);
	struct ctxd_mb_dir dir;
	ASSERT_EQ(ctxd_mb_open(m, NULL, NULL, false, &dir, &err), -1);
	ASSERT_EQ(err.sys_errno, ENOENT);
	ASSERT_CONTAINS(err.msg, "memory_bank_init");
	ASSERT_EQ(ctxd_mb_open(m, NULL, "other", true, &dir, &err), -1);
	ASSERT_CONTAINS(err.msg, "single memory bank");
	ASSERT_EQ(ctxd_mb_open(m, NULL, NULL, true, &dir, &err), 0);
	ASSERT_STR_EQ(dir.project, CTXD_MB_DEFAULT_PROJECT);
	ASSERT_STR_EQ(dir.rel, "memory-bank");
	ASSERT(!dir.read_only);

	struct ctxd_mb_result r;
	char cur[65];
	ASSERT_EQ(ctxd_mb_edit(m, &dir, "notes.md", "", put_fn, "one\n", &r, cur, &err), 0);
	ASSERT_STR_EQ(r.old_sha256, "");
	ASSERT_EQ(r.size, 4);
	ASSERT_EQ(r.version, 1);
	ASSERT_EQ(seen.calls, 1);
	ASSERT_STR_EQ(seen.file, "notes.md");
	ASSERT_STR_EQ(seen.project, "default");
	ASSERT_EQ(seen.version, 1);
	/* the same content again: nothing written, nothing reported */
	ASSERT_EQ(ctxd_mb_edit(m, &dir, "notes.md", NULL, put_fn, "one\n", &r, cur, &err), 0);
	ASSERT(r.unchanged);
	ASSERT_EQ(seen.calls, 1);
	char one_sha[65];
	memcpy(one_sha, r.sha256, sizeof(one_sha));
	/* a failed precondition or a refusing edit: nothing reported either */
	ASSERT_EQ(ctxd_mb_edit(m, &dir, "notes.md", "", put_fn, "two\n", &r, cur, &err), -1);
	ASSERT_EQ(err.kind, CTXD_ERR_PRECONDITION);
	ASSERT_STR_EQ(cur, one_sha);
	ASSERT_EQ(ctxd_mb_edit(m, &dir, "notes.md", NULL, fail_fn, NULL, &r, cur, &err), -1);
	ASSERT_STR_EQ(err.msg, "refused by the edit");
	ASSERT_EQ(ctxd_mb_edit(m, &dir, "../x.md", NULL, put_fn, "x", &r, cur, &err), -1);
	ASSERT_EQ(seen.calls, 1);
	/* with the sha256 just read, the write goes through and is reported */
	ASSERT_EQ(ctxd_mb_edit(m, &dir, "notes.md", cur, put_fn, "two\n", &r, cur, &err), 0);
	ASSERT_EQ(r.version, 2);
	ASSERT_EQ(seen.calls, 2);
	ASSERT_EQ(seen.version, 2);
	/* no callback registered: writes work the same */
	ctxd_mb_on_change(m, NULL, NULL);
	ASSERT_EQ(ctxd_mb_edit(m, &dir, "notes.md", NULL, put_fn, "three\n", &r, cur, &err), 0);
	ASSERT_EQ(seen.calls, 2);

	json_t *h = ctxd_mb_history(&dir, "notes.md", &err);
	ASSERT(h);
	ASSERT_EQ(json_array_size(h), 3);
	json_t *last = json_array_get(h, 2);
	ASSERT_EQ(json_integer_value(json_object_get(last, "version")), 3);
	ASSERT_EQ(json_integer_value(json_object_get(last, "added")), 1);
	ASSERT_EQ(json_integer_value(json_object_get(last, "removed")), 1);
	json_decref(h);
	char *v;
	size_t vl;
	ASSERT_EQ(ctxd_mb_version(&dir, "notes.md", 1, &v, &vl, &err), 0);
	ASSERT_EQ(vl, 4);
	ASSERT(memcmp(v, "one\n", 4) == 0);
	free(v);
	ASSERT_EQ(ctxd_mb_version(&dir, "notes.md", 9, &v, &vl, &err), -1);
	ASSERT_EQ(err.sys_errno, ENOENT);

	json_t *f = ctxd_mb_validate(m, &dir, &err);
	ASSERT(f);
	size_t missing = 0, i;
	json_t *e;
	json_array_foreach(f, i, e)
	{
		missing +=
		    strcmp(json_string_value(json_object_get(e, "code")), "missing_core_file") == 0;
	}
	ASSERT_EQ(missing, CTXD_MB_CORE_COUNT);
	json_decref(f);
	json_t *p = ctxd_mb_projects(m, NULL, &err);
	ASSERT_EQ(json_array_size(p), 1);
	ASSERT_STR_EQ(json_string_value(json_array_get(p, 0)), "default");
	json_decref(p);
	close(dir.fd);
	ctxd_mb_destroy(m);
}

int main(void)
{
	char tmpl[CTXD_PATH_MAX];
	snprintf(tmpl, sizeof(tmpl), "%s/ctxd-mbstore-XXXXXX", test_tmp_base());
	ASSERT(mkdtemp(tmpl));
	ASSERT(realpath(tmpl, root));
	ctxd_config_init(&cfg);
	sb = ctxd_sandbox_create();
	ASSERT(sb);
	struct ctxd_error err;
	ASSERT_EQ(ctxd_sandbox_add_root(sb, root, false, &err), 0);
	ctxd_sandbox_seal(sb);

	RUN(test_settings);
	RUN(test_open_edit_callback);

	ctxd_sandbox_destroy(sb);
	ctxd_config_finish(&cfg);
	char cmd[CTXD_PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ASSERT_EQ(system(cmd), 0);
	return 0;
}
