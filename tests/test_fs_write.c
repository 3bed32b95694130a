/* test_fs_write.c - the writing file tools, called directly through ctxd_fs_tools[]:
 * success and failure paths, and the escape list applied to every one of them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/config.h"
#include "ctxd/fs.h"
#include "ctxd/fsutil.h"
#include "ctxd/pool.h"
#include "ctxd/sandbox.h"
#include "ctxd/strbuf.h"
#include "test.h"
#include "tool_test.h"

static char base[2048], root[CTXD_PATH_MAX], out[CTXD_PATH_MAX], ro[CTXD_PATH_MAX];
static struct ctxd_config cfg;
static struct ctxd_sandbox *sb;
static struct ctxd_tool_ctx ctx;

static void put(const char *dir, const char *rel, const char *data)
{
	tree_put(dir, rel, data);
}

/* The file's content (NULL when it cannot be opened), valid until the next call. */
static char *slurp(const char *dir, const char *rel)
{
	static char *last;
	free(last);
	last = tree_slurp(dir, rel, NULL);
	return last;
}

static bool exists(const char *dir, const char *rel)
{
	return tree_exists(dir, rel);
}

static json_t *call(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *call(const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *args = tt_args(JSON_ALLOW_NUL, fmt, ap);
	va_end(ap);
	json_t *res = tt_run(tt_tool(ctxd_fs_tools, ctxd_fs_tools_count, name), &ctx, args);
	json_decref(args);
	return res;
}

static void ok(json_t *r)
{
	if (tt_is_error(r)) {
		fprintf(stderr, "unexpected error: %s\n", tt_text(r));
		abort();
	}
	json_decref(r);
}

static void err_has(json_t *r, const char *needle)
{
	if (!tt_is_error(r)) {
		fprintf(stderr, "expected an error containing '%s', got: %s\n", needle, tt_text(r));
		abort();
	}
	ASSERT_CONTAINS(tt_text(r), needle);
	json_decref(r);
}

static void test_write_file(void)
{
	ok(call("write_file", "{\"path\":\"%s/w.txt\",\"content\":\"one\\n\"}", root));
	ASSERT_STR_EQ(slurp(root, "w.txt"), "one\n");
	/* keeps the mode of an existing file */
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/w.txt", root);
	ASSERT_EQ(chmod(p, 0600), 0);
	json_t *r = call("write_file", "{\"path\":\"w.txt\",\"content\":\"two\\n\"}");
	char sha[CTXD_SHA256_HEX_LEN + 1];
	ctxd_sha256_hex("two\n", 4, sha);
	ASSERT_STR_EQ(
	    json_string_value(json_object_get(json_object_get(r, "structuredContent"), "sha256")),
	    sha);
	ok(r);
	struct stat st;
	ASSERT_EQ(stat(p, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	/* expectedSha256: matching passes, stale refused, missing file refused */
	ok(call("write_file",
		"{\"path\":\"w.txt\",\"content\":\"three\\n\",\"expectedSha256\":\"%s\"}", sha));
	err_has(call("write_file",
		     "{\"path\":\"w.txt\",\"content\":\"four\\n\",\"expectedSha256\":\"%s\"}", sha),
		"changed since it was read");
	ASSERT_STR_EQ(slurp(root, "w.txt"), "three\n");
	err_has(call("write_file",
		     "{\"path\":\"nope.txt\",\"content\":\"x\",\"expectedSha256\":\"%s\"}", sha),
		"does not exist");
	/* parent must exist; directories refused; read-only root refused */
	err_has(call("write_file", "{\"path\":\"nodir/x.txt\",\"content\":\"x\"}"), "");
	ASSERT(!exists(root, "nodir"));
	err_has(call("write_file", "{\"path\":\"%s\",\"content\":\"x\"}", root), "");
	mkdir(strcat(strcpy(p, root), "/d"), 0755);
	err_has(call("write_file", "{\"path\":\"d\",\"content\":\"x\"}"), "directory");
	err_has(call("write_file", "{\"path\":\"%s/x.txt\",\"content\":\"x\"}", ro), "read-only");
	ASSERT(!exists(ro, "x.txt"));
	/* a symlink inside the root is written through to its target */
	put(root, "target.txt", "old\n");
	snprintf(p, sizeof(p), "%s/link.txt", root);
	ASSERT_EQ(symlink("target.txt", p), 0);
	ok(call("write_file", "{\"path\":\"link.txt\",\"content\":\"new\\n\"}"));
	ASSERT_STR_EQ(slurp(root, "target.txt"), "new\n");
	struct stat lst;
	ASSERT_EQ(lstat(p, &lst), 0);
	ASSERT(S_ISLNK(lst.st_mode));
	/* no temp files left behind */
	DIR *d = opendir(root);
	struct dirent *de;
	while ((de = readdir(d))) {
		ASSERT(!strstr(de->d_name, ".ctxd-"));
	}
	closedir(d);
}

static void test_edit_file(void)
{
	put(root, "e.txt", "alpha\nbeta\ngamma\nbeta\n");
	json_t *r =
	    call("edit_file",
		 "{\"path\":\"e.txt\",\"edits\":[{\"oldText\":\"alpha\",\"newText\":\"ALPHA\"}"
		 ",{\"oldText\":\"gamma\\n\",\"newText\":\"\"}]}");
	ASSERT(!tt_is_error(r));
	ASSERT_CONTAINS(tt_text(r), "@@ -1,4 +1,3 @@\n-alpha\n+ALPHA\n beta\n-gamma\n beta\n");
	json_decref(r);
	ASSERT_STR_EQ(slurp(root, "e.txt"), "ALPHA\nbeta\nbeta\n");
	/* several matches: error naming the edit, the count and the lines; nothing written */
	err_has(call("edit_file",
		     "{\"path\":\"e.txt\",\"edits\":[{\"oldText\":\"ALPHA\",\"newText\":\"a\"},"
		     "{\"oldText\":\"beta\",\"newText\":\"b\"}]}"),
		"edit 2 of 2: oldText matches 2 times");
	ASSERT_STR_EQ(slurp(root, "e.txt"), "ALPHA\nbeta\nbeta\n");
	ok(call("edit_file", "{\"path\":\"e.txt\",\"edits\":[{\"oldText\":\"beta\","
			     "\"newText\":\"B\",\"replaceAll\":true}]}"));
	ASSERT_STR_EQ(slurp(root, "e.txt"), "ALPHA\nB\nB\n");
	/* no match: closest line named */
	err_has(call("edit_file", "{\"path\":\"e.txt\",\"edits\":[{\"oldText\":\"ALPHO\","
				  "\"newText\":\"x\"}]}"),
		"closest line is 1: \"ALPHA\"");
	/* dry run writes nothing */
	r = call("edit_file",
		 "{\"path\":\"e.txt\",\"dryRun\":true,\"edits\":[{\"oldText\":\"ALPHA\","
		 "\"newText\":\"Z\"}]}");
	ASSERT_CONTAINS(tt_text(r), "+Z");
	ASSERT_CONTAINS(tt_text(r), "dry run");
	json_decref(r);
	ASSERT_STR_EQ(slurp(root, "e.txt"), "ALPHA\nB\nB\n");
	/* whitespace-tolerant fallback keeps the file's indentation */
	put(root, "py.txt", "def f():\n    if x:\n        return 1\n    return 2\n");
	ok(call("edit_file",
		"{\"path\":\"py.txt\",\"edits\":[{\"oldText\":\"if x:\\n    return 1\","
		"\"newText\":\"if y:\\n    return 3\"}]}"));
	ASSERT_STR_EQ(slurp(root, "py.txt"),
		      "def f():\n    if y:\n        return 3\n    return 2\n");
	/* CRLF and BOM kept */
	put(root, "crlf.txt", "\xEF\xBB\xBFone\r\ntwo\r\nthree\r\n");
	ok(call("edit_file", "{\"path\":\"crlf.txt\",\"edits\":[{\"oldText\":\"two\\nthree\","
			     "\"newText\":\"2\\n3\"}]}"));
	ASSERT_STR_EQ(slurp(root, "crlf.txt"), "\xEF\xBB\xBFone\r\n2\r\n3\r\n");
	/* no final newline: diff marks it */
	put(root, "nonl.txt", "a\nb");
	r = call("edit_file",
		 "{\"path\":\"nonl.txt\",\"edits\":[{\"oldText\":\"b\",\"newText\":\"c\"}]}");
	ASSERT_CONTAINS(tt_text(r),
			"-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n");
	json_decref(r);
	/* expectedSha256 */
	char sha[CTXD_SHA256_HEX_LEN + 1];
	ctxd_sha256_hex("a\nc", 3, sha);
	ok(call("edit_file",
		"{\"path\":\"nonl.txt\",\"expectedSha256\":\"%s\",\"edits\":[{"
		"\"oldText\":\"a\",\"newText\":\"A\"}]}",
		sha));
	err_has(call("edit_file",
		     "{\"path\":\"nonl.txt\",\"expectedSha256\":\"%s\",\"edits\":[{"
		     "\"oldText\":\"A\",\"newText\":\"a\"}]}",
		     sha),
		"changed since it was read");
	err_has(call("edit_file", "{\"path\":\"missing.txt\",\"edits\":[{\"oldText\":\"a\","
				  "\"newText\":\"b\"}]}"),
		"does not exist");
	err_has(call("edit_file",
		     "{\"path\":\"%s/f\",\"edits\":[{\"oldText\":\"a\","
		     "\"newText\":\"b\"}]}",
		     ro),
		"read-only");
	/* a large file with edits far apart: a small diff */
	static char big[1 << 20];
	size_t n = 0;
	for (int i = 0; n + 40 < sizeof(big) - 64; i++) {
		n += (size_t)snprintf(big + n, sizeof(big) - n, "line %d of the big file\n", i);
	}
	put(root, "big.txt", big);
	r = call("edit_file", "{\"path\":\"big.txt\",\"edits\":[{\"oldText\":\"line 10 of\","
			      "\"newText\":\"LINE 10 of\"},{\"oldText\":\"line 30000 of\","
			      "\"newText\":\"LINE 30000 of\"}]}");
	ASSERT(!tt_is_error(r));
	ASSERT(strlen(tt_text(r)) < 1000);
	ASSERT_CONTAINS(tt_text(r), "+LINE 30000 of the big file\n");
	json_decref(r);
}

static void test_other_writers(void)
{
	/* append */
	ok(call("append_file", "{\"path\":\"ap.txt\",\"content\":\"a\\n\"}"));
	ok(call("append_file", "{\"path\":\"ap.txt\",\"content\":\"b\\n\"}"));
	ASSERT_STR_EQ(slurp(root, "ap.txt"), "a\nb\n");
	err_has(call("append_file", "{\"path\":\"d\",\"content\":\"x\"}"), "directory");
	/* copy */
	ok(call("copy_file", "{\"source\":\"ap.txt\",\"destination\":\"cp.txt\"}"));
	ASSERT_STR_EQ(slurp(root, "cp.txt"), "a\nb\n");
	err_has(call("copy_file", "{\"source\":\"ap.txt\",\"destination\":\"cp.txt\"}"),
		"already exists");
	put(root, "ap.txt", "c\n");
	ok(call("copy_file",
		"{\"source\":\"ap.txt\",\"destination\":\"cp.txt\",\"overwrite\":true}"));
	ASSERT_STR_EQ(slurp(root, "cp.txt"), "c\n");
	err_has(call("copy_file", "{\"source\":\"d\",\"destination\":\"d2\"}"),
		"not a regular file");
	err_has(call("copy_file", "{\"source\":\"ap.txt\",\"destination\":\"%s/c\"}", ro),
		"read-only");
	/* move */
	ok(call("move_file", "{\"source\":\"cp.txt\",\"destination\":\"d/mv.txt\"}"));
	ASSERT(!exists(root, "cp.txt"));
	ASSERT_STR_EQ(slurp(root, "d/mv.txt"), "c\n");
	err_has(call("move_file", "{\"source\":\"ap.txt\",\"destination\":\"d/mv.txt\"}"),
		"already exists");
	ASSERT_STR_EQ(slurp(root, "ap.txt"), "c\n");
	err_has(call("move_file", "{\"source\":\"%s/f\",\"destination\":\"x\"}", ro), "read-only");
	/* create_directory: -p and idempotent */
	ok(call("create_directory", "{\"path\":\"m/n/o\"}"));
	ASSERT(exists(root, "m/n/o"));
	json_t *r = call("create_directory", "{\"path\":\"m/n/o\"}");
	ASSERT_CONTAINS(tt_text(r), "already exists");
	ok(r);
	err_has(call("create_directory", "{\"path\":\"ap.txt/x\"}"), "");
	err_has(call("create_directory", "{\"path\":\"%s/newdir\"}", ro), "read-only");
	/* delete: files, symlinks (the link only), directories only with recursive */
	put(root, "m/n/o/f.txt", "x");
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/m/n/lnk", root);
	ASSERT_EQ(symlink(out, p), 0);
	err_has(call("delete_file", "{\"path\":\"m\"}"), "recursive");
	ok(call("delete_file", "{\"path\":\"m/n/lnk\"}"));
	ASSERT_STR_EQ(slurp(out, "secret.txt"), "secret\n");
	ASSERT_EQ(symlink(out, p), 0);
	ok(call("delete_file", "{\"path\":\"m\",\"recursive\":true}"));
	ASSERT(!exists(root, "m"));
	ASSERT_STR_EQ(slurp(out, "secret.txt"), "secret\n");
	err_has(call("delete_file", "{\"path\":\"m\"}"), "No such file");
	err_has(call("delete_file", "{\"path\":\"%s/f\"}", ro), "read-only");
	ASSERT(exists(ro, "f"));
	err_has(call("delete_file", "{\"path\":\"%s\",\"recursive\":true}", root), "");
	ASSERT(exists(root, "ap.txt"));
}

/* ---- hardening round two (issue 12) ---------------------------------------------- */

/* Call a tool with arguments built by jansson (for arguments too big for call()). Steals
 * `args`. */
static json_t *call_new(const char *name, json_t *args)
{
	ASSERT(args);
	json_t *res = tt_run(tt_tool(ctxd_fs_tools, ctxd_fs_tools_count, name), &ctx, args);
	json_decref(args);
	return res;
}

/* The whole file root/rel, malloc'd (NUL-terminated), its size in *len. */
static char *read_whole(const char *dir, const char *rel, size_t *len)
{
	char *buf = tree_slurp(dir, rel, len);
	ASSERT(buf);
	return buf;
}

static void put_n(const char *rel, const char *data, size_t n)
{
	tree_write(root, rel, data, n);
}

/* Item 4: the whitespace-tolerant match of a 100,000-line oldText in a 1,000,000-line
 * file. The old scan compared each of the ~900,000 start lines with up to 100,000 lines
 * of oldText (9 * 10^10 comparisons: more than half an hour); the match must now be found
 * in one pass, the edit applied and the answer given, well inside this test's timeout. */
static void test_edit_ws_scale(void)
{
	const size_t n = 1000000, m = 100000;
	struct ctxd_strbuf f = {0}, o = {0};
	for (size_t i = 0; i + 1 < n; i++) {
		ctxd_strbuf_add(&f, "  x\n", 4);
	}
	ctxd_strbuf_add(&f, "  y\n", 4);
	for (size_t i = 0; i + 1 < m; i++) {
		ctxd_strbuf_add(&o, "x\n", 2);
	}
	ctxd_strbuf_add(&o, "y", 1);
	ASSERT(!f.oom && !o.oom);
	put_n("huge.txt", f.p, f.len);
	char path[CTXD_PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/huge.txt", root);
	/* a near miss at every start line: no match, nothing written */
	o.p[o.len - 1] = 'q';
	json_t *r = call_new("edit_file", json_pack("{s:s, s:[{s:s, s:s}]}", "path", path, "edits",
						    "oldText", o.p, "newText", "z"));
	ASSERT(tt_is_error(r));
	ASSERT_CONTAINS(tt_text(r), "matches 0 times");
	json_decref(r);
	/* the one window, at the end of the file */
	o.p[o.len - 1] = 'y';
	r = call_new("edit_file", json_pack("{s:s, s:[{s:s, s:s}]}", "path", path, "edits",
					    "oldText", o.p, "newText", "z"));
	ok(r);
	size_t len;
	char *got = read_whole(root, "huge.txt", &len);
	ASSERT_EQ(len, (n - m) * 4 + 4);
	ASSERT(memcmp(got + len - 8, "  x\n  z\n", 8) == 0);
	free(got);
	free(f.p);
	free(o.p);
	unlink(path);
}

/* Item 4: a cancelled edit stops and writes nothing (the whitespace-tolerant path, the
 * one that can run long). */
static void test_edit_cancel(void)
{
	put(root, "c.txt", "def f():\n    if x:\n        return 1\n");
	static struct ctxd_job job;
	atomic_store(&job.cancel, true);
	ctx.job = &job;
	json_t *r = call("edit_file", "{\"path\":\"c.txt\",\"edits\":[{\"oldText\":\"if x:\\n    "
				      "return 1\",\"newText\":\"if y:\\n    return 2\"}]}");
	ctx.job = NULL;
	err_has(r, "cancelled");
	ASSERT_STR_EQ(slurp(root, "c.txt"), "def f():\n    if x:\n        return 1\n");
}

/* Item 8: replaceAll through the whitespace-tolerant match replaces every window, not the
 * first 8 (MAX_POS) while reporting success. */
static void test_edit_ws_replace_all(void)
{
	struct ctxd_strbuf f = {0}, want = {0};
	for (int i = 0; i < 100; i++) {
		const char *ind = i % 2 ? "\t" : "    ";
		ctxd_strbuf_printf(&f, "block %d\n%sif ready:\n%s    go()\n", i, ind, ind);
		ctxd_strbuf_printf(&want, "block %d\n%sif done:\n%s    stop()\n", i, ind, ind);
	}
	ASSERT(!f.oom && !want.oom);
	put(root, "many.txt", f.p);
	json_t *r =
	    call("edit_file", "{\"path\":\"many.txt\",\"edits\":[{\"oldText\":\"if ready:\\n"
			      "    go()\",\"newText\":\"if done:\\n    stop()\","
			      "\"replaceAll\":true}]}");
	ok(r);
	size_t len;
	char *got = read_whole(root, "many.txt", &len);
	ASSERT_STR_EQ(got, want.p);
	free(got);
	/* without replaceAll: refused, the count is the full one and nothing changes */
	put(root, "many.txt", f.p);
	err_has(call("edit_file", "{\"path\":\"many.txt\",\"edits\":[{\"oldText\":\"if ready:\\n"
				  "    go()\",\"newText\":\"x\"}]}"),
		"matches 100 times in");
	got = read_whole(root, "many.txt", &len);
	ASSERT_STR_EQ(got, f.p);
	free(got);
	free(f.p);
	free(want.p);
}

/* Item 11: a hard link inside the root to a file outside. Reads stay allowed by default;
 * append_file (like write_file and edit_file) must not change the shared inode: the link
 * is broken and the outside file keeps its content. With sandbox.hardlinks: refuse every
 * tool refuses the file and says why. */
static void test_hardlinks(void)
{
	char in[2 * CTXD_PATH_MAX], outp[2 * CTXD_PATH_MAX];
	put(out, "linked.txt", "outside\n");
	snprintf(outp, sizeof(outp), "%s/linked.txt", out);
	snprintf(in, sizeof(in), "%s/hl.txt", root);
	unlink(in);
	ASSERT_EQ(link(outp, in), 0);
	ok(call("append_file", "{\"path\":\"hl.txt\",\"content\":\"appended\\n\"}"));
	ASSERT_STR_EQ(slurp(out, "linked.txt"), "outside\n");
	ASSERT_STR_EQ(slurp(root, "hl.txt"), "outside\nappended\n");
	struct stat st;
	ASSERT_EQ(stat(outp, &st), 0);
	ASSERT_EQ(st.st_nlink, 1);
	ok(call("edit_file", "{\"path\":\"hl.txt\",\"edits\":[{\"oldText\":\"appended\","
			     "\"newText\":\"edited\"}]}"));
	ASSERT_STR_EQ(slurp(out, "linked.txt"), "outside\n");

	unlink(in);
	ASSERT_EQ(link(outp, in), 0);
	json_t *r = call("read_text_file", "{\"path\":\"hl.txt\"}");
	ASSERT(!tt_is_error(r)); /* allowed by default */
	json_decref(r);
	ctxd_sandbox_set_hardlinks(true);
	static const char *const calls[][2] = {
	    {"read_text_file", "{\"path\":\"hl.txt\"}"},
	    {"get_file_info", "{\"path\":\"hl.txt\"}"},
	    {"read_multiple_files", "{\"paths\":[\"hl.txt\"]}"},
	    {"write_file", "{\"path\":\"hl.txt\",\"content\":\"x\"}"},
	    {"edit_file", "{\"path\":\"hl.txt\",\"edits\":[{\"oldText\":\"outside\","
			  "\"newText\":\"x\"}]}"},
	    {"append_file", "{\"path\":\"hl.txt\",\"content\":\"x\"}"},
	    {"copy_file", "{\"source\":\"hl.txt\",\"destination\":\"hl-copy.txt\"}"},
	    {"move_file", "{\"source\":\"hl.txt\",\"destination\":\"hl-moved.txt\"}"},
	    {"delete_file", "{\"path\":\"hl.txt\"}"},
	};
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		r = call(calls[i][0], "%s", calls[i][1]);
		if (!strcmp(calls[i][0], "read_multiple_files")) {
			char *dump = json_dumps(r, 0);
			ASSERT_CONTAINS(dump, "hard link");
			free(dump);
			json_decref(r);
			continue;
		}
		err_has(r, "sandbox.hardlinks is 'refuse'");
	}
	ASSERT(!exists(root, "hl-copy.txt") && !exists(root, "hl-moved.txt"));
	ASSERT_STR_EQ(slurp(root, "hl.txt"), "outside\n");
	ASSERT_STR_EQ(slurp(out, "linked.txt"), "outside\n");
	/* a file with one link is unaffected */
	ok(call("read_text_file", "{\"path\":\"src.txt\"}"));
	ctxd_sandbox_set_hardlinks(false);
	unlink(in);
	unlink(outp);
}

/* Item 12: copy_file keeps holes (a 256 MiB sparse file with 3 small extents of data) and
 * copies at most limits.copy_bytes of data. */
static void test_copy_sparse(void)
{
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/sparse.bin", root);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT(fd >= 0);
	const off_t size = (off_t)256 << 20;
	ASSERT_EQ(ftruncate(fd, size), 0);
	const off_t at[3] = {0, (off_t)100 << 20, size - 4096};
	for (int i = 0; i < 3; i++) {
		char blk[4096];
		memset(blk, 'a' + i, sizeof(blk));
		ASSERT_EQ(pwrite(fd, blk, sizeof(blk), at[i]), (ssize_t)sizeof(blk));
	}
	ASSERT_EQ(close(fd), 0);
	struct stat src;
	ASSERT_EQ(stat(p, &src), 0);
	if ((off_t)src.st_blocks * 512 >= size) {
		fprintf(stderr, "   (this file system stores no holes; sparse copy not checked)\n");
		unlink(p);
		return;
	}
	ok(call("copy_file", "{\"source\":\"sparse.bin\",\"destination\":\"sparse-copy.bin\"}"));
	struct stat dst;
	snprintf(p, sizeof(p), "%s/sparse-copy.bin", root);
	ASSERT_EQ(stat(p, &dst), 0);
	ASSERT_EQ(dst.st_size, size);
	/* as much storage as the source, give or take file system rounding - not 256 MiB */
	ASSERT((off_t)dst.st_blocks * 512 <= (off_t)src.st_blocks * 512 + (1 << 20));
	fd = open(p, O_RDONLY | O_CLOEXEC);
	ASSERT(fd >= 0);
	for (int i = 0; i < 3; i++) {
		char blk[4096];
		ASSERT_EQ(pread(fd, blk, sizeof(blk), at[i]), (ssize_t)sizeof(blk));
		ASSERT(blk[0] == 'a' + i && blk[4095] == 'a' + i);
		ASSERT_EQ(pread(fd, blk, 1, at[i] + 4096 + (i < 2 ? 8192 : -8192 - 4096)), 1);
		ASSERT_EQ(blk[0], 0);
	}
	close(fd);
	/* the cap counts data, not holes: 12 KiB of data fit a 16 KiB cap, 20 KiB do not */
	cfg.max_copy_bytes = 16 << 10;
	ok(call("copy_file", "{\"source\":\"sparse.bin\",\"destination\":\"sparse-2.bin\"}"));
	static char dense[20 << 10];
	memset(dense, 'd', sizeof(dense));
	put_n("dense.bin", dense, sizeof(dense));
	err_has(call("copy_file", "{\"source\":\"dense.bin\",\"destination\":\"dense-2.bin\"}"),
		"more than limits.copy_bytes (16384 bytes)");
	ASSERT(!exists(root, "dense-2.bin"));
	/* an append rewrites the file: the same cap, and a message that says so */
	err_has(call("append_file", "{\"path\":\"dense.bin\",\"content\":\"x\"}"),
		"an append rewrites the whole file");
	size_t dl;
	char *d = read_whole(root, "dense.bin", &dl);
	ASSERT(dl == sizeof(dense) && memcmp(d, dense, dl) == 0);
	free(d);
	cfg.max_copy_bytes = (size_t)1 << 30;
	static const char *const rm[] = {"sparse.bin", "sparse-copy.bin", "sparse-2.bin",
					 "dense.bin"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", root, rm[i]);
		unlink(p);
	}
}

/* ---- the escape list -------------------------------------------------------------- */

static void outside_intact(void)
{
	DIR *d = opendir(out);
	ASSERT(d);
	struct dirent *de;
	size_t n = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			ASSERT_STR_EQ(de->d_name, "secret.txt");
			n++;
		}
	}
	closedir(d);
	ASSERT_EQ(n, 1);
	ASSERT_STR_EQ(slurp(out, "secret.txt"), "secret\n");
	struct stat st;
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/secret.txt", out);
	ASSERT_EQ(stat(p, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0644);
}

/* Links inside the root that lead out; recreated before each attempt. */
static void make_links(void)
{
	static const char *const names[] = {"esc_file", "esc_dangling", "esc_dir", "esc_rel"};
	char p[2 * CTXD_PATH_MAX], t[2 * CTXD_PATH_MAX];
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", root, names[i]);
		unlink(p);
	}
	snprintf(t, sizeof(t), "%s/secret.txt", out);
	snprintf(p, sizeof(p), "%s/esc_file", root);
	ASSERT_EQ(symlink(t, p), 0);
	snprintf(t, sizeof(t), "%s/created.txt", out);
	snprintf(p, sizeof(p), "%s/esc_dangling", root);
	ASSERT_EQ(symlink(t, p), 0);
	snprintf(p, sizeof(p), "%s/esc_dir", root);
	ASSERT_EQ(symlink(out, p), 0);
	snprintf(p, sizeof(p), "%s/esc_rel", root);
	ASSERT_EQ(symlink("../root-evil/rel.txt", p), 0);
}

static void test_escapes(void)
{
	static char longp[6000];
	memset(longp, 'a', sizeof(longp) - 1);
	for (size_t i = 100; i < sizeof(longp) - 1; i += 100) {
		longp[i] = '/';
	}
	char targets[16][8192];
	size_t nt = 0;
	snprintf(targets[nt++], 8192, "%s/secret.txt", out);             /* absolute outside */
	snprintf(targets[nt++], 8192, "%s/new.txt", out);                /* absolute outside */
	snprintf(targets[nt++], 8192, "%s/../root-evil/new.txt", root);  /* '..' leaving */
	snprintf(targets[nt++], 8192, "../root-evil/new.txt");           /* relative '..' */
	snprintf(targets[nt++], 8192, "%s-evil/secret.txt", root);       /* sibling prefix */
	snprintf(targets[nt++], 8192, "%s/esc_file", root);              /* link to outside file */
	snprintf(targets[nt++], 8192, "%s/esc_dangling", root);          /* dangling link out */
	snprintf(targets[nt++], 8192, "%s/esc_dir/new.txt", root);       /* dir link out */
	snprintf(targets[nt++], 8192, "%s/esc_dir/secret.txt", root);    /* dir link out */
	snprintf(targets[nt++], 8192, "esc_rel");                        /* relative link out */
	snprintf(targets[nt++], 8192, "%s/esc_dir/sub/deeper", root);    /* mkdir -p out */
	snprintf(targets[nt++], 8192, "ok\\u0000/../../root-evil/x");    /* NUL byte */
	int longn = snprintf(targets[nt++], 8192, "%s/%s", root, longp); /* over-long */
	ASSERT(longn > 0 && longn < 8192);
	put(root, "src.txt", "payload\n");
	for (size_t i = 0; i < nt; i++) {
		const char *t = targets[i];
		/* tools acting on the link itself may legitimately remove or move a link;
		 * everything else must be refused */
		bool link_itself =
		    strstr(t, "esc_file") || strstr(t, "esc_dangling") || strcmp(t, "esc_rel") == 0;
		json_t *r;
		make_links();
		r = call("write_file", "{\"path\":\"%s\",\"content\":\"pwned\\n\"}", t);
		ASSERT(tt_is_error(r));
		json_decref(r);
		outside_intact();
		r = call("edit_file",
			 "{\"path\":\"%s\",\"edits\":[{\"oldText\":\"secret\","
			 "\"newText\":\"pwned\"}]}",
			 t);
		ASSERT(tt_is_error(r));
		json_decref(r);
		outside_intact();
		r = call("append_file", "{\"path\":\"%s\",\"content\":\"pwned\\n\"}", t);
		ASSERT(tt_is_error(r));
		json_decref(r);
		outside_intact();
		r = call("copy_file",
			 "{\"source\":\"src.txt\",\"destination\":\"%s\",\"overwrite\":true}", t);
		ASSERT(tt_is_error(r));
		json_decref(r);
		outside_intact();
		if (!strstr(t, "secret.txt") || strstr(t, "esc_dir")) {
			r = call("copy_file", "{\"source\":\"%s\",\"destination\":\"copied.txt\"}",
				 t);
			ASSERT(tt_is_error(r));
			json_decref(r);
			ASSERT(!exists(root, "copied.txt"));
		}
		r = call("move_file", "{\"source\":\"src.txt\",\"destination\":\"%s\"}", t);
		ASSERT(tt_is_error(r));
		json_decref(r);
		ASSERT(exists(root, "src.txt"));
		outside_intact();
		r = call("move_file", "{\"source\":\"%s\",\"destination\":\"moved\"}", t);
		ASSERT(tt_is_error(r) == !link_itself);
		json_decref(r);
		unlink(strcat(strcpy(targets[15], root), "/moved"));
		outside_intact();
		make_links();
		r = call("delete_file", "{\"path\":\"%s\",\"recursive\":true}", t);
		ASSERT(tt_is_error(r) == !link_itself);
		json_decref(r);
		outside_intact();
		make_links();
		r = call("create_directory", "{\"path\":\"%s\"}", t);
		ASSERT(tt_is_error(r));
		json_decref(r);
		outside_intact();
	}
	make_links();
}

int main(void)
{
	test_tmp_root(base, sizeof(base), "ctxd-fsw");
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(out, sizeof(out), "%s/root-evil", base);
	snprintf(ro, sizeof(ro), "%s/ro", base);
	ASSERT_EQ(mkdir(root, 0755), 0);
	ASSERT_EQ(mkdir(out, 0755), 0);
	ASSERT_EQ(mkdir(ro, 0755), 0);
	put(out, "secret.txt", "secret\n");
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/secret.txt", out);
	ASSERT_EQ(chmod(p, 0644), 0);
	put(ro, "f", "read only\n");

	ctxd_config_init(&cfg);
	sb = ctxd_sandbox_create();
	ASSERT(sb);
	struct ctxd_error err;
	ASSERT_EQ(ctxd_sandbox_add_root(sb, root, false, &err), 0);
	ASSERT_EQ(ctxd_sandbox_add_root(sb, ro, true, &err), 0);
	ctxd_sandbox_seal(sb);
	ctx.cfg = &cfg;
	ctx.sandbox = sb;

	RUN(test_write_file);
	RUN(test_edit_file);
	RUN(test_other_writers);
	RUN(test_escapes);
	RUN(test_edit_ws_scale);
	RUN(test_edit_cancel);
	RUN(test_edit_ws_replace_all);
	RUN(test_hardlinks);
	RUN(test_copy_sparse);

	ctxd_sandbox_destroy(sb);
	ctxd_config_finish(&cfg);
	tree_rm_rf(base);
	return 0;
}
