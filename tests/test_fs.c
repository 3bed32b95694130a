/* test_fs.c - the read-only file tools, called directly through ctxd_fs_tools[]. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../src/tools/fs_priv.h"
#include "../src/tools/fs_walk.h"
#include "ctxd/config.h"
#include "ctxd/fs.h"
#include "ctxd/sandbox.h"
#include "ctxd_version.h"
#include "test.h"
#include "tool_test.h"

static char root[CTXD_PATH_MAX];
static struct ctxd_config cfg;
static struct ctxd_sandbox *sb;
static struct ctxd_tool_ctx ctx;

static void put(const char *rel, const char *data, size_t len)
{
	tree_write(root, rel, data, len);
}

static void puts_file(const char *rel, const char *s)
{
	tree_put(root, rel, s);
}

static void mkd(const char *rel)
{
	tree_mkdir(root, rel);
}

static void lnk(const char *target, const char *rel)
{
	tree_symlink(target, root, rel);
}

static const struct ctxd_tool *tool(const char *name)
{
	return tt_tool(ctxd_fs_tools, ctxd_fs_tools_count, name);
}

/* Call `name` with args built from a printf format (JSON text). */
static json_t *call(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *call(const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *args = tt_args(0, fmt, ap);
	va_end(ap);
	json_t *res = tt_run(tool(name), &ctx, args);
	json_decref(args);
	return res;
}

static json_t *sc(json_t *res)
{
	json_t *s = json_object_get(res, "structuredContent");
	ASSERT(json_is_object(s));
	return s;
}

static long long num(json_t *res, const char *key)
{
	json_t *v = json_object_get(sc(res), key);
	ASSERT(json_is_integer(v));
	return json_integer_value(v);
}

static const char *str(json_t *res, const char *key)
{
	return json_string_value(json_object_get(sc(res), key));
}

static bool flag(json_t *res, const char *key)
{
	json_t *v = json_object_get(sc(res), key);
	ASSERT(json_is_boolean(v));
	return json_is_true(v);
}

/* read_text_file with extra args (a JSON fragment starting with ',' or empty). */
static json_t *rd(const char *rel, const char *extra)
{
	return call("read_text_file", "{\"path\":\"%s/%s\"%s}", root, rel, extra);
}

static void expect_read(const char *rel, const char *extra, const char *content, long long total,
			long long start, long long end)
{
	json_t *r = rd(rel, extra);
	if (tt_is_error(r)) {
		fprintf(stderr, "unexpected error for %s %s: %s\n", rel, extra, tt_text(r));
		abort();
	}
	ASSERT_STR_EQ(str(r, "content"), content);
	ASSERT_STR_EQ(tt_text(r), content);
	ASSERT_EQ(num(r, "totalLines"), total);
	ASSERT_EQ(num(r, "startLine"), start);
	ASSERT_EQ(num(r, "endLine"), end);
	ASSERT(!flag(r, "truncated"));
	ASSERT(!json_object_get(sc(r), "nextOffset"));
	json_decref(r);
}

static void expect_error(json_t *r, const char *needle)
{
	ASSERT(tt_is_error(r));
	ASSERT_CONTAINS(tt_text(r), needle);
	ASSERT(!json_object_get(r, "structuredContent"));
	json_decref(r);
}

static void test_fs_read_selections(void)
{
	puts_file("abc.txt", "a\nb\nc\n");
	expect_read("abc.txt", "", "a\nb\nc\n", 3, 1, 3);
	expect_read("abc.txt", ",\"head\":2", "a\nb\n", 3, 1, 2);
	expect_read("abc.txt", ",\"head\":0", "", 3, 1, 0);
	expect_read("abc.txt", ",\"head\":9", "a\nb\nc\n", 3, 1, 3);
	expect_read("abc.txt", ",\"tail\":2", "b\nc\n", 3, 2, 3);
	expect_read("abc.txt", ",\"tail\":1", "c\n", 3, 3, 3);
	expect_read("abc.txt", ",\"tail\":3", "a\nb\nc\n", 3, 1, 3);
	expect_read("abc.txt", ",\"tail\":7", "a\nb\nc\n", 3, 1, 3);
	expect_read("abc.txt", ",\"tail\":0", "", 3, 4, 3);
	expect_read("abc.txt", ",\"offset\":2", "b\nc\n", 3, 2, 3);
	expect_read("abc.txt", ",\"offset\":2,\"limit\":1", "b\n", 3, 2, 2);
	expect_read("abc.txt", ",\"offset\":3,\"limit\":5", "c\n", 3, 3, 3);
	expect_read("abc.txt", ",\"limit\":0", "", 3, 1, 0);
	expect_read("abc.txt", ",\"limit\":2", "a\nb\n", 3, 1, 2);
	expect_error(rd("abc.txt", ",\"offset\":5"), "offset");

	/* No final newline: the last line still counts, and tail finds it. */
	puts_file("nofinal.txt", "x\ny\nz");
	expect_read("nofinal.txt", "", "x\ny\nz", 3, 1, 3);
	expect_read("nofinal.txt", ",\"tail\":1", "z", 3, 3, 3);
	expect_read("nofinal.txt", ",\"tail\":2", "y\nz", 3, 2, 3);
	expect_read("nofinal.txt", ",\"head\":1", "x\n", 3, 1, 1);
	expect_read("nofinal.txt", ",\"offset\":3", "z", 3, 3, 3);

	/* CRLF stays CRLF. */
	puts_file("crlf.txt", "l1\r\nl2\r\nl3\r\n");
	expect_read("crlf.txt", ",\"head\":1", "l1\r\n", 3, 1, 1);
	expect_read("crlf.txt", ",\"tail\":1", "l3\r\n", 3, 3, 3);
	expect_read("crlf.txt", ",\"offset\":2,\"limit\":1", "l2\r\n", 3, 2, 2);

	/* Empty lines are lines; a lone newline is one line. */
	puts_file("blank.txt", "\n\n");
	expect_read("blank.txt", ",\"tail\":1", "\n", 2, 2, 2);
	puts_file("one.txt", "\n");
	expect_read("one.txt", "", "\n", 1, 1, 1);

	/* Empty file. */
	puts_file("empty.txt", "");
	expect_read("empty.txt", "", "", 0, 1, 0);
	expect_read("empty.txt", ",\"tail\":3", "", 0, 1, 0);
	expect_read("empty.txt", ",\"head\":3", "", 0, 1, 0);
	expect_read("empty.txt", ",\"offset\":1", "", 0, 1, 0);

	/* Invalid UTF-8 is replaced, not a protocol failure. */
	puts_file("latin1.txt", "caf\xe9\n");
	/* not UTF-8: a clear error pointing at read_media_file; a UTF-8 BOM is stripped */
	expect_error(rd("latin1.txt", ""), "not UTF-8 text");
	expect_error(rd("latin1.txt", ""), "read_media_file");
	put("utf16.txt", "\xFF\xFEh\0i\0", 6);
	expect_error(rd("utf16.txt", ""), "UTF-16");
	puts_file("bom.txt", "\xEF\xBB\xBFone\ntwo\n");
	expect_read("bom.txt", "", "one\ntwo\n", 2, 1, 2);
	expect_read("bom.txt", ",\"offset\":2", "two\n", 2, 2, 2);
	json_t *ln = rd("bom.txt", ",\"lineNumbers\":true");
	ASSERT_STR_EQ(tt_text(ln), "     1\tone\n     2\ttwo\n");
	ASSERT_STR_EQ(str(ln, "content"), "one\ntwo\n");
	json_decref(ln);
	ln = rd("bom.txt", ",\"offset\":2,\"lineNumbers\":true");
	ASSERT_STR_EQ(tt_text(ln), "     2\ttwo\n");
	json_decref(ln);

	/* Relative paths resolve against the first root. */
	json_t *r = call("read_text_file", "{\"path\":\"abc.txt\",\"head\":1}");
	ASSERT(!tt_is_error(r));
	ASSERT_STR_EQ(str(r, "content"), "a\n");
	json_decref(r);
}

static void test_fs_read_errors(void)
{
	expect_error(rd("abc.txt", ",\"head\":1,\"tail\":1"), "'head' and 'tail'");
	expect_error(rd("abc.txt", ",\"head\":1,\"offset\":2"), "'head'");
	expect_error(rd("abc.txt", ",\"tail\":1,\"limit\":2"), "'tail'");

	put("bin.dat", "ab\0cd\n", 6);
	expect_error(rd("bin.dat", ""), "binary");
	expect_error(rd("bin.dat", ",\"tail\":1"), "binary");

	mkd("adir");
	expect_error(rd("adir", ""), "directory");
	expect_error(call("read_text_file", "{\"path\":\"%s\"}", root), "directory");

	expect_error(call("read_text_file", "{\"path\":\"/etc/passwd\"}"), "/etc/passwd");
	expect_error(call("read_text_file", "{\"path\":\"../../../../etc/passwd\"}"), "outside");
	expect_error(rd("missing.txt", ""), "missing.txt");

	/* A symlink out of the root is not followed. */
	lnk("/etc/passwd", "escape");
	expect_error(rd("escape", ""), "escape");
}

/* How every file tool that takes a `path` words a missing argument and a path of the wrong
 * kind (ctxd_fs_open_arg): the listing tools that take hints say which tool reads a file,
 * read_text_file says which lists a directory, the others give the sandbox's refusal. */
static void test_fs_path_arg_messages(void)
{
	const char *tools[] = {"read_text_file", "read_media_file", "list_directory",
			       "directory_tree", "get_file_info"};
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		expect_error(call(tools[i], "{}"), "argument 'path' is required");
	}
	expect_error(call("search_files", "{\"pattern\":\"*\"}"), "argument 'path' is required");
	expect_error(call("grep", "{\"pattern\":\"x\"}"), "argument 'path' is required");
	puts_file("pa_file.txt", "x\n");
	mkd("pa_dir");
	const char *hint = "is not a directory; use read_text_file or get_file_info for a file";
	expect_error(call("list_directory", "{\"path\":\"%s/pa_file.txt\"}", root), hint);
	expect_error(call("list_directory", "{\"path\":\"%s/pa_file.txt\",\"sizes\":true}", root),
		     hint);
	expect_error(call("search_files", "{\"path\":\"%s/pa_file.txt\",\"pattern\":\"*\"}", root),
		     hint);
	json_t *t = call("directory_tree", "{\"path\":\"%s/pa_file.txt\"}", root);
	ASSERT(tt_is_error(t));
	ASSERT(strstr(tt_text(t), "use read_text_file") == NULL);
	expect_error(t, "pa_file.txt");
	expect_error(call("read_text_file", "{\"path\":\"%s/pa_dir\"}", root),
		     "pa_dir' is a directory, not a file; use list_directory to see its entries");
	json_t *r = call("read_media_file", "{\"path\":\"%s/pa_dir\"}", root);
	ASSERT(strstr(tt_text(r), "use list_directory") == NULL);
	expect_error(r, "pa_dir");
}

/* Newlines counted in 16-byte lanes whose per-lane counts are summed every 255 rounds: all
 * newlines (every lane full), none, and every length and alignment of a short tail. */
static void test_fs_count_nl(void)
{
	char buf[20000];
	memset(buf, '\n', sizeof(buf));
	ASSERT_EQ(ctxd_fs_count_nl(buf, sizeof(buf)), sizeof(buf));
	ASSERT_EQ(ctxd_fs_count_nl(buf + 3, 16 * 255 + 1), 16 * 255 + 1);
	memset(buf, 'x', sizeof(buf));
	ASSERT_EQ(ctxd_fs_count_nl(buf, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i += 7) {
		buf[i] = '\n';
	}
	for (size_t off = 0; off < 20; off++) {
		for (size_t n = 0; n < 100; n++) {
			size_t want = 0;
			for (size_t i = off; i < off + n; i++) {
				want += buf[i] == '\n';
			}
			ASSERT_EQ(ctxd_fs_count_nl(buf + off, n), want);
		}
	}
	ASSERT_EQ(ctxd_fs_count_nl(buf, sizeof(buf)), (sizeof(buf) + 6) / 7);
}

/* The cap reached in the line that spans two read chunks, after a whole chunk was taken in
 * one piece: the answer ends at the last whole line of the first chunk. 70-byte lines: line
 * 937 runs from byte 65,520 across the 64 KiB chunk boundary. */
static void test_fs_read_cap_chunks(void)
{
	size_t saved = cfg.max_read_bytes;
	cfg.max_read_bytes = 65560;
	size_t lines = 2000, len = 70;
	char *text = malloc(lines * len + 1);
	ASSERT(text);
	for (size_t i = 0; i < lines; i++) {
		memset(text + i * len, 'a' + (int)(i % 26), len - 1);
		text[i * len + len - 1] = '\n';
	}
	text[lines * len] = '\0';
	puts_file("chunks.txt", text);
	json_t *r = rd("chunks.txt", "");
	ASSERT(!tt_is_error(r));
	ASSERT(flag(r, "truncated"));
	ASSERT_EQ(num(r, "endLine"), 936);
	ASSERT_EQ(num(r, "nextOffset"), 937);
	ASSERT_EQ(num(r, "totalLines"), 2000);
	ASSERT_EQ(strlen(str(r, "content")), 936 * len);
	ASSERT_EQ(memcmp(str(r, "content"), text, 936 * len), 0);
	json_decref(r);
	/* under the cap: all of it, in whole chunks */
	cfg.max_read_bytes = 1 << 20;
	r = rd("chunks.txt", "");
	ASSERT(!flag(r, "truncated"));
	ASSERT_EQ(num(r, "endLine"), 2000);
	ASSERT_STR_EQ(str(r, "content"), text);
	json_decref(r);
	cfg.max_read_bytes = saved;
	free(text);
}

static void test_fs_read_cap(void)
{
	size_t saved = cfg.max_read_bytes;
	cfg.max_read_bytes = 10;
	puts_file("five.txt", "1234\n1234\n1234\n1234\n1234\n");
	json_t *r = rd("five.txt", "");
	ASSERT(!tt_is_error(r));
	ASSERT_STR_EQ(str(r, "content"), "1234\n1234\n");
	ASSERT(flag(r, "truncated"));
	ASSERT_EQ(num(r, "nextOffset"), 3);
	ASSERT_EQ(num(r, "endLine"), 2);
	ASSERT_EQ(num(r, "totalLines"), 5);
	/* The note block tells the model how to continue. */
	const char *note = json_string_value(
	    json_object_get(json_array_get(json_object_get(r, "content"), 1), "text"));
	ASSERT_CONTAINS(note, "offset=3");
	json_decref(r);

	r = rd("five.txt", ",\"offset\":5");
	ASSERT_STR_EQ(str(r, "content"), "1234\n");
	ASSERT(!flag(r, "truncated"));
	json_decref(r);

	/* 11 bytes do not fit: only one line, and it continues at line 2. */
	puts_file("eleven.txt", "12345\n12345\n");
	r = rd("eleven.txt", "");
	ASSERT_STR_EQ(str(r, "content"), "12345\n");
	ASSERT_EQ(num(r, "nextOffset"), 2);
	json_decref(r);

	/* tail beyond the cap: the tail window's first lines, then continue. */
	r = rd("five.txt", ",\"tail\":3");
	ASSERT_STR_EQ(str(r, "content"), "1234\n1234\n");
	ASSERT_EQ(num(r, "startLine"), 3);
	ASSERT_EQ(num(r, "endLine"), 4);
	ASSERT_EQ(num(r, "nextOffset"), 5);
	json_decref(r);

	/* A single line longer than the cap: its first bytes, next line after it. */
	puts_file("long.txt", "abcdefghijklmnopqrstuvwxyz\nshort\n");
	r = rd("long.txt", "");
	ASSERT_STR_EQ(str(r, "content"), "abcdefghij");
	ASSERT(flag(r, "truncated"));
	ASSERT_EQ(num(r, "nextOffset"), 2);
	json_decref(r);
	/* ... cut on a UTF-8 boundary (each e-acute is 2 bytes: 10 bytes = 5 chars). */
	puts_file("utf8.txt", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x\xc3\xa9\xc3\xa9\n");
	r = rd("utf8.txt", "");
	ASSERT_STR_EQ(str(r, "content"), "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x");
	json_decref(r);

	/* A large file read page by page through nextOffset reassembles exactly. */
	cfg.max_read_bytes = 100000;
	size_t nlines = 120000, cap = nlines * 16;
	char *big = malloc(cap);
	ASSERT(big);
	size_t len = 0;
	for (size_t i = 1; i <= nlines; i++) {
		len += (size_t)sprintf(big + len, i % 7 ? "line %zu\n" : "l%zu\r\n", i);
	}
	put("big.txt", big, len);
	char *again = malloc(len + 1);
	ASSERT(again);
	size_t got = 0;
	long long off = 1;
	int pages = 0;
	for (;;) {
		char extra[64];
		snprintf(extra, sizeof(extra), ",\"offset\":%lld", off);
		r = rd("big.txt", extra);
		ASSERT(!tt_is_error(r));
		ASSERT_EQ(num(r, "totalLines"), (long long)nlines);
		ASSERT_EQ(num(r, "startLine"), off);
		const char *c = str(r, "content");
		size_t cl = strlen(c);
		ASSERT(cl <= 100000);
		memcpy(again + got, c, cl);
		got += cl;
		pages++;
		if (!flag(r, "truncated")) {
			json_decref(r);
			break;
		}
		ASSERT_EQ(num(r, "nextOffset"), num(r, "endLine") + 1);
		off = num(r, "nextOffset");
		json_decref(r);
	}
	ASSERT_EQ(got, len);
	ASSERT(memcmp(big, again, len) == 0);
	ASSERT(pages > 5);

	/* tail of the big file: exact lines and line numbers. */
	r = rd("big.txt", ",\"tail\":3");
	ASSERT_STR_EQ(str(r, "content"), "line 119998\nline 119999\nline 120000\n");
	ASSERT_EQ(num(r, "startLine"), 119998);
	json_decref(r);
	r = rd("big.txt", ",\"head\":2");
	ASSERT_STR_EQ(str(r, "content"), "line 1\nline 2\n");
	ASSERT_EQ(num(r, "totalLines"), (long long)nlines);
	json_decref(r);
	free(big);
	free(again);
	cfg.max_read_bytes = saved;
}

/* Over 16 MiB: tail reads backwards without counting; head stops early. */
static void test_fs_read_huge(void)
{
	size_t line = 64, n = (17u << 20) / line + 1;
	char *buf = malloc(n * line);
	ASSERT(buf);
	for (size_t i = 0; i < n; i++) {
		memset(buf + i * line, 'a' + (int)(i % 26), line - 1);
		buf[i * line + line - 1] = '\n';
	}
	put("huge.txt", buf, n * line);
	json_t *r = rd("huge.txt", ",\"tail\":2");
	ASSERT(!tt_is_error(r));
	ASSERT_EQ(strlen(str(r, "content")), 2 * line);
	ASSERT(memcmp(str(r, "content"), buf + (n - 2) * line, 2 * line) == 0);
	ASSERT(!json_object_get(sc(r), "startLine"));
	ASSERT(!json_object_get(sc(r), "totalLines"));
	json_decref(r);
	r = rd("huge.txt", ",\"head\":2");
	ASSERT_EQ(num(r, "startLine"), 1);
	ASSERT_EQ(num(r, "endLine"), 2);
	ASSERT(!json_object_get(sc(r), "totalLines"));
	ASSERT(memcmp(str(r, "content"), buf, 2 * line) == 0);
	json_decref(r);
	/* A window that reaches the end knows the total. */
	char extra[64];
	snprintf(extra, sizeof(extra), ",\"offset\":%zu", n - 1);
	r = rd("huge.txt", extra);
	ASSERT_EQ(num(r, "totalLines"), (long long)n);
	ASSERT_EQ(num(r, "endLine"), (long long)n);
	json_decref(r);
	/* Whole-file read: truncated with a usable nextOffset. */
	r = rd("huge.txt", "");
	ASSERT(flag(r, "truncated"));
	ASSERT_EQ(num(r, "nextOffset"), (long long)(cfg.max_read_bytes / line) + 1);
	json_decref(r);
	free(buf);
}

static json_t *entry_named(json_t *entries, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(entries, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0) {
			return e;
		}
	}
	return NULL;
}

static void test_fs_list_directory(void)
{
	mkd("ls");
	puts_file("ls/b.txt", "b");
	puts_file("ls/a.txt", "a");
	mkd("ls/c_dir");
	lnk("a.txt", "ls/d_link");
	mkd("ls/.dot");
	json_t *r = call("list_directory", "{\"path\":\"%s/ls\"}", root);
	ASSERT(!tt_is_error(r));
	json_t *ents = json_object_get(sc(r), "entries");
	ASSERT_EQ(json_array_size(ents), 5);
	const char *order[] = {".dot", "a.txt", "b.txt", "c_dir", "d_link"};
	for (size_t i = 0; i < 5; i++) {
		ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(ents, i), "name")),
			      order[i]);
	}
	ASSERT_STR_EQ(json_string_value(json_object_get(entry_named(ents, "c_dir"), "type")),
		      "directory");
	ASSERT_STR_EQ(json_string_value(json_object_get(entry_named(ents, "a.txt"), "type")),
		      "file");
	ASSERT_STR_EQ(json_string_value(json_object_get(entry_named(ents, "d_link"), "type")),
		      "symlink");
	ASSERT_STR_EQ(tt_text(r), "[DIR] .dot\n[FILE] a.txt\n[FILE] b.txt\n[DIR] c_dir\n"
				  "[LINK] d_link");
	ASSERT(!flag(r, "truncated"));
	json_decref(r);

	cfg.max_entries = 2;
	r = call("list_directory", "{\"path\":\"%s/ls\"}", root);
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "entries")), 2);
	ASSERT(flag(r, "truncated"));
	ASSERT_CONTAINS(tt_text(r), "truncated");
	json_decref(r);
	cfg.max_entries = 10000;

	mkd("emptydir");
	r = call("list_directory", "{\"path\":\"%s/emptydir\"}", root);
	ASSERT(!tt_is_error(r));
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "entries")), 0);
	json_decref(r);

	expect_error(call("list_directory", "{\"path\":\"%s/ls/a.txt\"}", root), "not a directory");
	expect_error(call("list_directory", "{\"path\":\"/etc\"}"), "/etc");
}

/* list_directory with sizes names a FIFO (or any other non-file, non-link) [OTHER], not
 * [LINK] (issue 12 item 13); a symlink stays [LINK]. */
static void test_fs_list_sizes_types(void)
{
	mkd("lsz");
	puts_file("lsz/f.txt", "abc");
	lnk("f.txt", "lsz/l");
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/lsz/fifo", root);
	ASSERT_EQ(mkfifo(p, 0644), 0);
	json_t *r = call("list_directory", "{\"path\":\"%s/lsz\",\"sizes\":true}", root);
	ASSERT(!tt_is_error(r));
	ASSERT_CONTAINS(tt_text(r), "[OTHER] fifo");
	ASSERT_CONTAINS(tt_text(r), "[LINK] l ");
	ASSERT_CONTAINS(tt_text(r), "[FILE] f.txt");
	ASSERT(!strstr(tt_text(r), "[LINK] fifo"));
	ASSERT_STR_EQ(json_string_value(json_object_get(
			  entry_named(json_object_get(sc(r), "entries"), "fifo"), "type")),
		      "other");
	json_decref(r);
}

static void test_fs_get_file_info(void)
{
	puts_file("info.txt", "hello");
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/info.txt", root);
	ASSERT_EQ(chmod(p, 0640), 0);
	json_t *r = call("get_file_info", "{\"path\":\"%s\"}", p);
	ASSERT(!tt_is_error(r));
	ASSERT_EQ(num(r, "size"), 5);
	ASSERT_STR_EQ(str(r, "type"), "file");
	ASSERT_STR_EQ(str(r, "permissions"), "640");
	ASSERT(flag(r, "isFile"));
	ASSERT(!flag(r, "isDirectory"));
	ASSERT(!flag(r, "isSymlink"));
	const char *m = str(r, "modified");
	ASSERT(m && strlen(m) == 24 && m[4] == '-' && m[10] == 'T' && m[23] == 'Z');
	ASSERT(str(r, "accessed"));
	ASSERT_STR_EQ(str(r, "path"), p);
	ASSERT_CONTAINS(tt_text(r), "size: 5");
	ASSERT_CONTAINS(tt_text(r), "permissions: 640");
	ASSERT_CONTAINS(tt_text(r), "isFile: true");
	ASSERT_CONTAINS(tt_text(r), m);
	json_decref(r);

	lnk("info.txt", "info.lnk");
	r = call("get_file_info", "{\"path\":\"%s/info.lnk\"}", root);
	ASSERT(!tt_is_error(r));
	ASSERT(flag(r, "isSymlink"));
	ASSERT(flag(r, "isFile"));
	ASSERT_EQ(num(r, "size"), 5);
	json_decref(r);

	/* a link leading out of the roots is refused like every other tool refuses it, not
	 * described by the link's own lstat (issue 11 section 5) */
	r = call("get_file_info", "{\"path\":\"%s/escape\"}", root);
	ASSERT(tt_is_error(r));
	ASSERT_CONTAINS(tt_text(r), "escapes its root");
	ASSERT(!json_object_get(r, "structuredContent"));
	json_decref(r);
	/* a dangling link inside the root is still described itself */
	lnk("no-such-target", "dangling.lnk");
	r = call("get_file_info", "{\"path\":\"%s/dangling.lnk\"}", root);
	ASSERT(!tt_is_error(r));
	ASSERT(flag(r, "isSymlink"));
	ASSERT_STR_EQ(str(r, "type"), "symlink");
	ASSERT_CONTAINS(tt_text(r), "target is missing");
	json_decref(r);

	r = call("get_file_info", "{\"path\":\"%s\"}", root);
	ASSERT(flag(r, "isDirectory"));
	ASSERT_STR_EQ(str(r, "type"), "directory");
	json_decref(r);

	expect_error(call("get_file_info", "{\"path\":\"%s/nope\"}", root), "nope");
	expect_error(call("get_file_info", "{\"path\":\"/etc/passwd\"}"), "/etc/passwd");
}

/* search_files under root/s; `expect` is the sorted list of relative matches. */
static void expect_search(const char *pattern, const char *excludes, const char *const *expect,
			  size_t n)
{
	json_t *r;
	if (excludes) {
		r = call("search_files",
			 "{\"path\":\"%s/s\",\"pattern\":\"%s\",\"excludePatterns\":%s}", root,
			 pattern, excludes);
	} else {
		r = call("search_files", "{\"path\":\"%s/s\",\"pattern\":\"%s\"}", root, pattern);
	}
	if (tt_is_error(r)) {
		fprintf(stderr, "search %s failed: %s\n", pattern, tt_text(r));
		abort();
	}
	json_t *m = json_object_get(sc(r), "matches");
	if (json_array_size(m) != n) {
		fprintf(stderr, "search %s: got\n%s\n", pattern, tt_text(r));
	}
	ASSERT_EQ(json_array_size(m), n);
	ASSERT_EQ(num(r, "count"), (long long)n);
	ASSERT(!flag(r, "truncated"));
	ASSERT_STR_EQ(str(r, "pattern"), pattern);
	char want[3 * CTXD_PATH_MAX];
	for (size_t i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "%s/s/%s", root, expect[i]);
		ASSERT_STR_EQ(json_string_value(json_array_get(m, i)), want);
		ASSERT_CONTAINS(tt_text(r), want);
	}
	if (n == 0) {
		ASSERT_STR_EQ(tt_text(r), "No matches found");
	}
	json_decref(r);
}

static void test_fs_search_files(void)
{
	mkd("s");
	puts_file("s/a.txt", "");
	puts_file("s/b.md", "");
	mkd("s/sub");
	puts_file("s/sub/c.txt", "");
	mkd("s/sub/deep");
	puts_file("s/sub/deep/d.txt", "");
	mkd("s/.hidden");
	puts_file("s/.hidden/e.txt", "");
	mkd("s/node_modules");
	puts_file("s/node_modules/f.txt", "");
	lnk("sub", "s/linkdir");

	const char *top[] = {"a.txt"};
	expect_search("*.txt", NULL, top, 1);
	const char *all[] = {".hidden/e.txt", "a.txt", "node_modules/f.txt", "sub/c.txt",
			     "sub/deep/d.txt"};
	expect_search("**/*.txt", NULL, all, 5);
	const char *subs[] = {"sub", "sub/c.txt", "sub/deep", "sub/deep/d.txt"};
	expect_search("sub/**", NULL, subs, 4);
	const char *ex[] = {"a.txt", "sub/c.txt", "sub/deep/d.txt"};
	expect_search("**/*.txt", "[\"node_modules\",\".hidden\"]", ex, 3);
	const char *ex2[] = {".hidden/e.txt", "a.txt", "node_modules/f.txt", "sub/c.txt"};
	expect_search("**/*.txt", "[\"sub/deep\"]", ex2, 4);
	const char *ex3[] = {"a.txt", "node_modules/f.txt", "sub/c.txt", "sub/deep/d.txt"};
	expect_search("**/*.txt", "[\"**/.hid*\"]", ex3, 4);
	const char *brace[] = {"a.txt", "b.md"};
	expect_search("*.{txt,md}", NULL, brace, 2);
	const char *tops[] = {".hidden", "a.txt", "b.md", "linkdir", "node_modules", "sub"};
	expect_search("*", NULL, tops, 6);
	const char *deep[] = {"sub/deep"};
	expect_search("**/deep/", NULL, deep, 1);
	const char *q[] = {"sub/deep/d.txt"};
	expect_search("sub/*/?.txt", NULL, q, 1);
	expect_search("*.nothing", NULL, NULL, 0);
	expect_search("zzz/**/*.c", NULL, NULL, 0);

	/* The symlinked directory is listed, never entered. */
	json_t *r = call("search_files", "{\"path\":\"%s/s\",\"pattern\":\"**\"}", root);
	ASSERT(!tt_is_error(r));
	ASSERT_EQ(num(r, "count"), 11);
	ASSERT(!strstr(tt_text(r), "linkdir/"));
	ASSERT_CONTAINS(tt_text(r), "/s/linkdir");
	json_decref(r);

	cfg.max_entries = 2;
	r = call("search_files", "{\"path\":\"%s/s\",\"pattern\":\"**\"}", root);
	ASSERT_EQ(num(r, "count"), 2);
	ASSERT(flag(r, "truncated"));
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "matches")), 2);
	ASSERT_CONTAINS(tt_text(r), "truncated");
	json_decref(r);
	cfg.max_entries = 10000;

	expect_error(call("search_files", "{\"path\":\"%s/s\",\"pattern\":\"\"}", root),
		     "'pattern'");
	expect_error(call("search_files", "{\"path\":\"%s/s/a.txt\",\"pattern\":\"*\"}", root),
		     "not a directory");
	expect_error(call("search_files", "{\"path\":\"/etc\",\"pattern\":\"*\"}"), "/etc");
}

struct counting_progress {
	struct ctxd_progress base;
	int calls;
};

static void count_report(struct ctxd_progress *p, double progress, double total,
			 const char *message)
{
	(void)progress;
	(void)total;
	(void)message;
	((struct counting_progress *)p)->calls++;
}

static void test_fs_search_big_tree(void)
{
	/* 40 dirs x 50 files: the walk must see all of them, matches sorted. */
	mkd("t");
	char rel[256];
	for (int d = 0; d < 40; d++) {
		snprintf(rel, sizeof(rel), "t/d%02d", d);
		mkd(rel);
		for (int f = 0; f < 50; f++) {
			snprintf(rel, sizeof(rel), "t/d%02d/f%02d.%s", d, f, f % 2 ? "c" : "h");
			puts_file(rel, "");
		}
	}
	struct counting_progress cp = {.base.report = count_report};
	ctx.progress = &cp.base;
	json_t *r = call("search_files", "{\"path\":\"%s/t\",\"pattern\":\"**/*.c\"}", root);
	ctx.progress = NULL;
	ASSERT_EQ(cp.calls, 2); /* 2040 entries: at 1000 and 2000 */
	ASSERT_EQ(num(r, "count"), 1000);
	json_t *m = json_object_get(sc(r), "matches");
	for (size_t i = 1; i < json_array_size(m); i++) {
		ASSERT(strcmp(json_string_value(json_array_get(m, i - 1)),
			      json_string_value(json_array_get(m, i))) < 0);
	}
	json_decref(r);
	r = call("search_files", "{\"path\":\"%s/t\",\"pattern\":\"d07/f1?.h\"}", root);
	ASSERT_EQ(num(r, "count"), 5);
	json_decref(r);
}

/* Deeper than the walker keeps fds for: entries below are reached through the anchor. */
static void test_fs_search_deep(void)
{
	char rel[1024] = "deep";
	mkd(rel);
	for (int i = 0; i < 80; i++) {
		strcat(rel, i % 2 ? "/n" : "/m");
		mkd(rel);
	}
	strcat(rel, "/leaf.txt");
	puts_file(rel, "x");
	json_t *r =
	    call("search_files", "{\"path\":\"%s/deep\",\"pattern\":\"**/leaf.txt\"}", root);
	ASSERT_EQ(num(r, "count"), 1);
	char want[2 * CTXD_PATH_MAX];
	snprintf(want, sizeof(want), "%s/%s", root, rel);
	ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(sc(r), "matches"), 0)),
		      want);
	json_decref(r);
	r = call("search_files", "{\"path\":\"%s/deep\",\"pattern\":\"**\"}", root);
	ASSERT_EQ(num(r, "count"), 81);
	json_decref(r);
}

struct walk_log {
	char seen[4096];
	int stop_after;
	int n;
};

static bool walk_exclude(const struct ctxd_fs_walk_entry *e, void *ud)
{
	(void)ud;
	return strcmp(e->name, "node_modules") == 0;
}

static int walk_visit(const struct ctxd_fs_walk_entry *e, void *ud)
{
	struct walk_log *w = ud;
	strcat(w->seen, e->rel);
	strcat(w->seen, e->type == CTXD_FS_WALK_DIR ? "/ " : " ");
	/* Every entry can be opened through its (at_fd, at_path) pair. */
	int fd = ctxd_sandbox_openat(e->at_fd, e->at_path, O_PATH, 0, true);
	ASSERT(fd >= 0);
	close(fd);
	if (++w->n == w->stop_after) {
		return CTXD_FS_WALK_STOP;
	}
	return strcmp(e->name, "deep") == 0 ? CTXD_FS_WALK_SKIP : CTXD_FS_WALK_CONTINUE;
}

/* The walker API itself: order, exclude, SKIP, STOP, max_depth, stats. */
static void test_fs_walk_api(void)
{
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/s", root);
	int dfd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ASSERT(dfd >= 0);
	struct walk_log w = {.stop_after = -1};
	struct ctxd_fs_walk_opts o = {
	    .sorted = true, .exclude = walk_exclude, .visit = walk_visit, .ud = &w};
	struct ctxd_fs_walk_stats st;
	ASSERT_EQ(ctxd_fs_walk(dfd, &o, &st), 0);
	ASSERT_STR_EQ(w.seen,
		      ".hidden/ .hidden/e.txt a.txt b.md linkdir sub/ sub/c.txt sub/deep/ ");
	ASSERT_EQ(st.entries, 9);
	ASSERT_EQ(st.dirs, 3);

	memset(&w, 0, sizeof(w));
	w.stop_after = 3;
	ASSERT_EQ(ctxd_fs_walk(dfd, &o, NULL), 1);
	ASSERT_STR_EQ(w.seen, ".hidden/ .hidden/e.txt a.txt ");

	memset(&w, 0, sizeof(w));
	w.stop_after = -1;
	o.max_depth = 1;
	o.exclude = NULL;
	ASSERT_EQ(ctxd_fs_walk(dfd, &o, NULL), 0);
	ASSERT_STR_EQ(w.seen, ".hidden/ a.txt b.md linkdir node_modules/ sub/ ");
	close(dfd);
}

static void test_fs_cancel(void)
{
	struct ctxd_job job;
	memset(&job, 0, sizeof(job));
	atomic_store(&job.cancel, true);
	ctx.job = &job;
	expect_error(call("search_files", "{\"path\":\"%s/s\",\"pattern\":\"**\"}", root),
		     "cancelled");
	expect_error(rd("abc.txt", ""), "cancelled");
	ctx.job = NULL;
}

static void test_fs_allowed_directories(void)
{
	json_t *r = call("list_allowed_directories", "{}");
	ASSERT(!tt_is_error(r));
	char want[CTXD_PATH_MAX + 32];
	snprintf(want, sizeof(want), "Allowed directories:\n%s", root);
	ASSERT_STR_EQ(tt_text(r), want);
	json_t *dirs = json_object_get(sc(r), "directories");
	ASSERT_EQ(json_array_size(dirs), 1);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(dirs, 0), "path")), root);
	ASSERT(json_is_false(json_object_get(json_array_get(dirs, 0), "readOnly")));
	json_decref(r);
}

static void test_fs_table(void)
{
	ASSERT_EQ(ctxd_fs_tools_count, 16);
	size_t writers = 0;
	for (size_t i = 0; i < ctxd_fs_tools_count; i++) {
		const struct ctxd_tool *t = &ctxd_fs_tools[i];
		ASSERT(t->title && t->description && t->fn);
		if (t->writes) {
			writers++;
			ASSERT(!(t->flags & CTXD_TOOL_READ_ONLY));
		} else {
			ASSERT_EQ(t->flags & ~(CTXD_TOOL_NOWAIT | CTXD_TOOL_LONG),
				  CTXD_TOOL_READ_ONLY | CTXD_TOOL_IDEMPOTENT);
		}
		/* the walkers may run long (MCP tasks); nothing else does */
		bool walker = strcmp(t->name, "grep") == 0 ||
			      strcmp(t->name, "search_files") == 0 ||
			      strcmp(t->name, "directory_tree") == 0;
		ASSERT_EQ(!!(t->flags & CTXD_TOOL_LONG), walker);
		json_error_t je;
		json_t *in = json_loads(t->input_schema, 0, &je);
		json_t *out =
		    t->output_schema ? json_loads(t->output_schema, 0, &je) : json_object();
		ASSERT(in && out);
		ASSERT(json_is_false(json_object_get(in, "additionalProperties")));
		json_decref(in);
		json_decref(out);
	}
	ASSERT_EQ(writers, 7);
}

/* Whether the file system under `path` reads from the page cache without waiting
 * (preadv2 RWF_NOWAIT): tmpfs, where scripts/test.sh puts the test trees, does not
 * (EOPNOTSUPP), so the loop thread's attempt always hands its calls to a worker there. */
static bool reads_nowait(const char *path)
{
	int fd = open(path, O_RDONLY);
	ASSERT(fd >= 0);
	char c;
	struct iovec iov = {&c, 1};
	ssize_t n = preadv2(fd, &iov, 1, 0, RWF_NOWAIT);
	close(fd);
	return n >= 0;
}

/* The attempt on a small cached file gives the very answer a worker gives (`dir` holds
 * small.txt; `tctx` is confined to it), or, where the file system cannot read without
 * waiting, or in the portable build (no openat2 RESOLVE_CACHED), hands the call on. */
static void expect_nowait_answers(const struct ctxd_tool_ctx *tctx, const char *dir)
{
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/small.txt", dir);
	bool cached = reads_nowait(p) && !CTXD_PORTABLE_BUILD; /* no cached open there */
	const char *cases[] = {"", ",\"tail\":1", ",\"offset\":2,\"limit\":1,\"lineNumbers\":true"};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char a[3 * CTXD_PATH_MAX];
		snprintf(a, sizeof(a), "{\"path\":\"%s\"%s}", p, cases[i]);
		json_t *args = json_loads(a, 0, NULL);
		ASSERT(args);
		json_t *want = tool("read_text_file")->fn(tctx, args);
		ASSERT(want && !tt_is_error(want));
		struct ctxd_tool_ctx nw = *tctx;
		nw.nowait = true;
		json_t *got = tool("read_text_file")->fn(&nw, args);
		if (cached) {
			ASSERT(got && got != CTXD_TOOL_WOULD_BLOCK);
			ASSERT(json_equal(got, want));
			json_decref(got);
		} else {
			ASSERT(got == CTXD_TOOL_WOULD_BLOCK);
		}
		json_decref(want);
		json_decref(args);
	}
}

/* The loop thread's attempt (ctx.nowait, CTXD_TOOL_NOWAIT): a small cached file gets the
 * very answer a worker gives; anything that could wait or fail - a file over 64 KiB, a
 * missing path, a directory, a FIFO (which must not block the attempt), an escape - is
 * handed back as CTXD_TOOL_WOULD_BLOCK, and the worker's run then gives the message. */
static void test_fs_read_nowait(void)
{
	ASSERT(tool("read_text_file")->flags & CTXD_TOOL_NOWAIT);
	mkd("nw");
	puts_file("nw/small.txt", "one\ntwo\nthree\n");
	char big[100 * 1024];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	puts_file("nw/big.txt", big);
	mkd("nw/dir");
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/nw/fifo", root);
	ASSERT_EQ(mkfifo(p, 0644), 0);
	lnk("../../outside", "nw/esc");
	snprintf(p, sizeof(p), "%s/nw", root);
	expect_nowait_answers(&ctx, p);
	const char *blocked[] = {"nw/big.txt", "nw/missing.txt", "nw/dir",
				 "nw/fifo",    "nw/esc",         "../etc/passwd"};
	for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, blocked[i]);
		json_t *args = json_pack("{s:s}", "path", p);
		struct ctxd_tool_ctx nw = ctx;
		nw.nowait = true;
		ASSERT(tool("read_text_file")->fn(&nw, args) == CTXD_TOOL_WOULD_BLOCK);
		/* the worker's run answers it: read, or refused with its message */
		json_t *r = tool("read_text_file")->fn(&ctx, args);
		ASSERT(r && r != CTXD_TOOL_WOULD_BLOCK);
		ASSERT_EQ(tt_is_error(r), i != 0);
		json_decref(r);
		json_decref(args);
	}
	/* a bad argument needs no file: answered by the attempt itself */
	json_t *args = json_pack("{s:s, s:i, s:i}", "path", "nw/small.txt", "head", 1, "tail", 1);
	struct ctxd_tool_ctx nw = ctx;
	nw.nowait = true;
	json_t *r = tool("read_text_file")->fn(&nw, args);
	ASSERT(r && r != CTXD_TOOL_WOULD_BLOCK && tt_is_error(r));
	json_decref(r);
	json_decref(args);
}

/* What the loop thread's attempt answers, compared with a worker's answer to the same
 * arguments; `blocked` when the attempt must hand the call on instead. */
static void expect_nowait_same(const struct ctxd_tool_ctx *tctx, const char *path, bool blocked)
{
	json_t *args = json_pack("{s:s}", "path", path);
	struct ctxd_tool_ctx nw = *tctx;
	nw.nowait = true;
	json_t *got = tool("read_text_file")->fn(&nw, args);
	json_t *want = tool("read_text_file")->fn(tctx, args);
	ASSERT(want && want != CTXD_TOOL_WOULD_BLOCK);
	if (blocked) {
		ASSERT(got == CTXD_TOOL_WOULD_BLOCK);
	} else {
		ASSERT(got && got != CTXD_TOOL_WOULD_BLOCK);
		ASSERT(json_equal(got, want));
		json_decref(got);
	}
	json_decref(want);
	json_decref(args);
}

static char hook_path[2 * CTXD_PATH_MAX];
static int hook_change; /* bytes appended (> 0) or cut off the end (< 0) */

/* ctxd_fs_nowait_test_hook: change the file between the attempt's fstat and its read. */
static void change_file(int fd)
{
	(void)fd;
	struct stat st;
	ASSERT_EQ(stat(hook_path, &st), 0);
	if (hook_change > 0) {
		int w = open(hook_path, O_WRONLY | O_APPEND);
		ASSERT(w >= 0);
		char more[100];
		memset(more, 'y', sizeof(more));
		ASSERT_EQ(write(w, more, (size_t)hook_change), hook_change);
		close(w);
	} else {
		ASSERT_EQ(truncate(hook_path, st.st_size + hook_change), 0);
	}
}

/* The attempt's one read (its RWF_NOWAIT probe is the read the answer is made of) at its
 * edges, where the file system reads without waiting: an empty file, exactly 64 KiB (the
 * most it takes), text that is not UTF-8 (the same refusal a worker gives); a file grown past
 * 64 KiB, and a file that grows or shrinks between the fstat and the read, go to a worker. */
static void expect_nowait_edges(const struct ctxd_tool_ctx *tctx, const char *dir)
{
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/small.txt", dir);
	if (!reads_nowait(p) || CTXD_PORTABLE_BUILD) {
		return; /* every attempt hands on: expect_nowait_answers checked that */
	}
	static char big[64 * 1024 + 1];
	memset(big, 'x', sizeof(big) - 1);
	for (size_t i = 99; i < sizeof(big) - 1; i += 100) {
		big[i] = '\n';
	}
	tree_put(dir, "empty.txt", "");
	tree_put(dir, "exact.txt", big);
	tree_put(dir, "latin1.txt", "caf\xe9\n");
	const char *same[] = {"empty.txt", "exact.txt", "latin1.txt"};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, same[i]);
		int fd = open(p, O_RDONLY); /* into the page cache */
		ASSERT(fd >= 0);
		ASSERT(read(fd, big, 0) == 0);
		close(fd);
		expect_nowait_same(tctx, p, false);
	}
	/* one byte past 64 KiB */
	snprintf(p, sizeof(p), "%s/exact.txt", dir);
	int fd = open(p, O_WRONLY | O_APPEND);
	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, "z", 1), 1);
	close(fd);
	expect_nowait_same(tctx, p, true);
	/* changed between the fstat and the read: grown (even within 64 KiB), shrunk */
	tree_put(dir, "moving.txt", "one\ntwo\nthree\n");
	snprintf(hook_path, sizeof(hook_path), "%s/moving.txt", dir);
	int changes[] = {1, 50, -1, -14};
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		expect_nowait_same(tctx, hook_path, false); /* cached, unchanged: answered */
		hook_change = changes[i];
		ctxd_fs_nowait_test_hook = change_file;
		expect_nowait_same(tctx, hook_path, true);
		ctxd_fs_nowait_test_hook = NULL;
	}
}

/* The same on a directory made in the working directory (the build tree, on disk when the
 * test trees are on tmpfs), so that the answer of the attempt itself is checked wherever
 * the build's file system allows it. */
static void test_fs_read_nowait_disk(void)
{
	char dir[CTXD_PATH_MAX + 32], cwd[CTXD_PATH_MAX];
	ASSERT(getcwd(cwd, sizeof(cwd)));
	snprintf(dir, sizeof(dir), "%s/ctxd-nowait-XXXXXX", cwd);
	ASSERT(mkdtemp(dir));
	tree_put(dir, "small.txt", "one\ntwo\nthree\n");
	struct ctxd_sandbox *dsb = ctxd_sandbox_create();
	struct ctxd_error err;
	ASSERT(dsb);
	ASSERT_EQ(ctxd_sandbox_add_root(dsb, dir, false, &err), 0);
	ctxd_sandbox_seal(dsb);
	struct ctxd_tool_ctx dctx = ctx;
	dctx.sandbox = dsb;
	expect_nowait_answers(&dctx, dir);
	expect_nowait_edges(&dctx, dir);
	ctxd_sandbox_destroy(dsb);
	tree_rm_rf(dir);
}

int main(void)
{
	test_tmp_root(root, sizeof(root), "ctxd-fs");

	ctxd_config_init(&cfg);
	sb = ctxd_sandbox_create();
	ASSERT(sb);
	struct ctxd_error err;
	ASSERT_EQ(ctxd_sandbox_add_root(sb, root, false, &err), 0);
	ctxd_sandbox_seal(sb);
	ctx.cfg = &cfg;
	ctx.sandbox = sb;

	RUN(test_fs_table);
	RUN(test_fs_read_selections);
	RUN(test_fs_read_errors);
	RUN(test_fs_path_arg_messages);
	RUN(test_fs_read_cap);
	RUN(test_fs_read_cap_chunks);
	RUN(test_fs_count_nl);
	RUN(test_fs_read_huge);
	RUN(test_fs_read_nowait);
	RUN(test_fs_read_nowait_disk);
	RUN(test_fs_list_directory);
	RUN(test_fs_get_file_info);
	RUN(test_fs_list_sizes_types);
	RUN(test_fs_search_files);
	RUN(test_fs_search_big_tree);
	RUN(test_fs_search_deep);
	RUN(test_fs_walk_api);
	RUN(test_fs_cancel);
	RUN(test_fs_allowed_directories);

	ctxd_sandbox_destroy(sb);
	ctxd_config_finish(&cfg);
	tree_rm_rf(root);
	return 0;
}
