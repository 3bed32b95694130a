/* fs_info.c - list_directory, get_file_info and list_allowed_directories (names and
 * arguments as in the reference filesystem server). Every path goes through the sandbox.
 */
#include "ctxd/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/json_write.h"
#include "ctxd/provider.h"
#include "ctxd/sandbox.h"
#include "fs_priv.h"
#include "fs_pwalk.h"
#include "fs_walk.h"
#include "schemas/schemas.h"

/* ---- list_directory --------------------------------------------------------------- */

static const char *type_name(enum ctxd_fs_walk_type t)
{
	switch (t) {
	case CTXD_FS_WALK_FILE:
		return "file";
	case CTXD_FS_WALK_DIR:
		return "directory";
	case CTXD_FS_WALK_SYMLINK:
		return "symlink";
	default:
		return "other";
	}
}

static const char *type_tag(enum ctxd_fs_walk_type t)
{
	switch (t) {
	case CTXD_FS_WALK_FILE:
		return "[FILE]";
	case CTXD_FS_WALK_DIR:
		return "[DIR]";
	case CTXD_FS_WALK_SYMLINK:
		return "[LINK]";
	default:
		return "[OTHER]";
	}
}

struct list_state {
	json_t *entries;
	struct ctxd_strbuf text;
	size_t max;
	bool truncated;
	bool oom;
};

static int list_visit(const struct ctxd_fs_walk_entry *e, void *ud)
{
	struct list_state *s = ud;
	if (json_array_size(s->entries) >= s->max) {
		s->truncated = true;
		return CTXD_FS_WALK_STOP;
	}
	json_t *name = ctxd_utf8_json(e->name, e->name_len);
	json_t *ent =
	    name ? json_pack("{s:O, s:s}", "name", name, "type", type_name(e->type)) : NULL;
	if (!ent || json_array_append_new(s->entries, ent) < 0) {
		json_decref(name);
		s->oom = true;
		return CTXD_FS_WALK_STOP;
	}
	ctxd_strbuf_str(&s->text, type_tag(e->type));
	ctxd_strbuf_add(&s->text, " ", 1);
	ctxd_strbuf_str(&s->text, json_string_value(name));
	ctxd_strbuf_add(&s->text, "\n", 1);
	json_decref(name);
	return CTXD_FS_WALK_SKIP;
}

json_t *ctxd_fs_list_directory(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *sort = json_string_value(json_object_get(args, "sortBy"));
	if (json_is_true(json_object_get(args, "sizes")) || (sort && strcmp(sort, "size") == 0)) {
		return ctxd_fs_list_with_sizes(ctx, args);
	}
	struct ctxd_fs_arg a;
	json_t *res = ctxd_fs_open_arg(ctx, args, O_PATH | O_DIRECTORY, CTXD_FS_ARG_DIR_HINT, &a);
	if (res) {
		return res;
	}
	struct list_state s = {.entries = json_array(), .max = ctxd_fs_cfg_entries(ctx)};
	if (!s.entries) {
		goto out;
	}
	struct ctxd_fs_walk_opts o = {
	    .max_depth = 1,
	    .sorted = true,
	    .job = ctx->job,
	    .progress = ctx->progress,
	    .visit = list_visit,
	    .ud = &s,
	};
	int rc = ctxd_fs_walk(a.fd, &o, NULL);
	if (s.oom || rc == -ENOMEM || s.text.oom) {
		goto out;
	}
	if (rc == -ECANCELED) {
		res = ctxd_fs_fail("listing of '%s' cancelled", a.loc.abs);
		goto out;
	}
	if (rc < 0) {
		res = ctxd_fs_fail("cannot list '%s': %s", a.loc.abs, strerror(-rc));
		goto out;
	}
	if (json_array_size(s.entries) == 0) {
		ctxd_strbuf_str(&s.text, "(empty directory)\n");
	}
	if (s.truncated) {
		ctxd_strbuf_printf(&s.text, "(truncated: only the first %zu entries are listed)\n",
				   s.max);
	}
	if (s.text.oom) {
		goto out;
	}
	if (s.text.len > 0 && s.text.p[s.text.len - 1] == '\n') {
		s.text.p[--s.text.len] = '\0';
	}
	json_t *sc = json_pack("{s:s, s:O, s:b}", "path", a.loc.abs, "entries", s.entries,
			       "truncated", s.truncated);
	if (sc) {
		res = ctxd_tool_result(s.text.p, sc);
	}
out:
	json_decref(s.entries);
	free(s.text.p);
	close(a.fd);
	return res;
}

/* ---- get_file_info ---------------------------------------------------------------- */

static void iso_time(const struct statx_timestamp *ts, char *buf, size_t n)
{
	struct tm tm;
	time_t t = (time_t)ts->tv_sec;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, n, "1970-01-01T00:00:00.000Z");
		return;
	}
	size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + k, n - k, ".%03uZ", (unsigned)(ts->tv_nsec / 1000000u));
}

static const char *mode_type(mode_t m)
{
	if (S_ISREG(m)) {
		return "file";
	}
	if (S_ISDIR(m)) {
		return "directory";
	}
	if (S_ISLNK(m)) {
		return "symlink";
	}
	return "other";
}

json_t *ctxd_fs_get_file_info(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	/* First the path itself (a final symlink not followed) to learn whether it is a
	 * link, then, for a link, its target when the target stays inside the root. */
	struct ctxd_fs_arg a;
	json_t *res = ctxd_fs_open_arg(ctx, args, O_PATH, CTXD_FS_ARG_NOFOLLOW, &a);
	if (res) {
		return res;
	}
	const unsigned mask = STATX_BASIC_STATS | STATX_BTIME;
	struct statx sx;
	if (statx(a.fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, mask, &sx) < 0) {
		int e = errno;
		close(a.fd);
		return ctxd_fs_fail("cannot stat '%s': %s", a.loc.abs, strerror(e));
	}
	close(a.fd);
	bool is_link = S_ISLNK(sx.stx_mode);
	bool target_ok = true;
	if (is_link) {
		/* A link whose target leaves the allowed directories is refused as every other
		 * tool refuses it (describing the link would still confirm what lies outside);
		 * only a dangling link inside a root is described itself. */
		struct ctxd_error err2 = {0};
		int tfd =
		    ctxd_sandbox_open(ctx->sandbox, a.path, a.len, O_PATH, 0, false, NULL, &err2);
		if (tfd < 0 && err2.sys_errno != ENOENT) {
			return ctxd_fs_fail("%s", err2.msg);
		}
		struct statx tx;
		if (tfd >= 0 && statx(tfd, "", AT_EMPTY_PATH, mask, &tx) == 0) {
			sx = tx;
		} else {
			target_ok = false;
		}
		if (tfd >= 0) {
			close(tfd);
		}
	}
	char mtime[40], atime[40], btime[40], perms[8];
	iso_time(&sx.stx_mtime, mtime, sizeof(mtime));
	iso_time(&sx.stx_atime, atime, sizeof(atime));
	bool has_birth = (sx.stx_mask & STATX_BTIME) != 0;
	if (has_birth) {
		iso_time(&sx.stx_btime, btime, sizeof(btime));
	}
	snprintf(perms, sizeof(perms), "%03o", (unsigned)(sx.stx_mode & 0777));
	mode_t m = sx.stx_mode;
	json_t *sc = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:b, s:b, s:b}", "path", a.loc.abs,
			       "type", mode_type(m), "size", (json_int_t)sx.stx_size, "modified",
			       mtime, "accessed", atime, "permissions", perms, "isDirectory",
			       S_ISDIR(m), "isFile", S_ISREG(m), "isSymlink", is_link);
	if (!sc) {
		return NULL;
	}
	if (has_birth) {
		json_object_set_new(sc, "created", json_string(btime));
	}
	struct ctxd_strbuf t = {0};
	ctxd_strbuf_printf(&t, "path: %s\n", a.loc.abs);
	ctxd_strbuf_printf(&t, "type: %s\n", mode_type(m));
	ctxd_strbuf_printf(&t, "size: %llu\n", (unsigned long long)sx.stx_size);
	if (has_birth) {
		ctxd_strbuf_printf(&t, "created: %s\n", btime);
	}
	ctxd_strbuf_printf(&t, "modified: %s\naccessed: %s\n", mtime, atime);
	ctxd_strbuf_printf(&t, "isDirectory: %s\nisFile: %s\n", S_ISDIR(m) ? "true" : "false",
			   S_ISREG(m) ? "true" : "false");
	ctxd_strbuf_printf(&t, "permissions: %s\nisSymlink: %s", perms, is_link ? "true" : "false");
	if (is_link && !target_ok) {
		ctxd_strbuf_str(&t, "\n(the link's target is missing; the link itself is "
				    "described)");
	}
	if (t.oom) {
		json_decref(sc);
		return NULL;
	}
	res = ctxd_tool_result(t.p, sc);
	free(t.p);
	return res;
}

/* ---- list_allowed_directories ----------------------------------------------------- */

json_t *ctxd_fs_list_allowed_directories(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	(void)args;
	json_t *dirs = json_array();
	struct ctxd_strbuf t = {0};
	ctxd_strbuf_str(&t, "Allowed directories:");
	size_t n = ctxd_sandbox_root_count(ctx->sandbox);
	for (size_t i = 0; dirs && i < n; i++) {
		const struct ctxd_root *r = ctxd_sandbox_root(ctx->sandbox, i);
		json_t *p = ctxd_utf8_json(r->path, strlen(r->path));
		json_t *d = p ? json_pack("{s:O, s:b}", "path", p, "readOnly", r->read_only) : NULL;
		if (!d || json_array_append_new(dirs, d) < 0) {
			json_decref(p);
			json_decref(dirs);
			dirs = NULL;
			break;
		}
		ctxd_strbuf_add(&t, "\n", 1);
		ctxd_strbuf_str(&t, json_string_value(p));
		if (r->read_only) {
			ctxd_strbuf_str(&t, " (read-only)");
		}
		json_decref(p);
	}
	json_t *res = NULL;
	if (dirs && !t.oom) {
		res = ctxd_tool_result(t.p, json_pack("{s:o}", "directories", dirs));
	} else {
		json_decref(dirs);
	}
	free(t.p);
	return res;
}
