/* test_grep.c - grep, .gitignore handling (grep, search_files), directory_tree,
 * list_directory_with_sizes, read_media_file, read_multiple_files and the file:// provider. */
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/tools/fs_walk.h"
#include "ctxd/config.h"
#include "ctxd/sandbox.h"
#include "ctxd/tools_fs.h"
#include "test.h"

static char root[2048];
static struct ctxd_config cfg;
static struct ctxd_sandbox *sb;
static struct ctxd_tool_ctx ctx;

static void putn(const char *rel, const char *data, size_t len)
{
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	FILE *f = fopen(p, "wb");
	ASSERT(f);
	ASSERT_EQ(fwrite(data, 1, len, f), len);
	ASSERT_EQ(fclose(f), 0);
}

static void put(const char *rel, const char *s)
{
	putn(rel, s, strlen(s));
}

static void mkd(const char *rel)
{
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	ASSERT_EQ(mkdir(p, 0755), 0);
}

static json_t *call(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *call(const char *name, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_error_t je;
	json_t *args = json_loads(buf, 0, &je);
	ASSERT(args);
	const struct ctxd_tool *t = NULL;
	for (size_t i = 0; i < ctxd_fs_tools_count; i++) {
		if (strcmp(ctxd_fs_tools[i].name, name) == 0) {
			t = &ctxd_fs_tools[i];
		}
	}
	ASSERT(t);
	json_t *res = t->fn(&ctx, args);
	json_decref(args);
	ASSERT(res);
	json_t *s = json_object_get(res, "structuredContent");
	if (s && t->output_schema) {
		json_t *schema = json_loads(t->output_schema, 0, &je);
		struct ctxd_error err;
		ASSERT(schema);
		if (ctxd_schema_validate(schema, s, "structuredContent", &err) < 0) {
			fprintf(stderr, "%s: %s\n", name, err.msg);
			abort();
		}
		json_decref(schema);
	}
	return res;
}

static bool is_error(json_t *r)
{
	return json_is_true(json_object_get(r, "isError"));
}

static const char *text(json_t *r)
{
	return json_string_value(
	    json_object_get(json_array_get(json_object_get(r, "content"), 0), "text"));
}

static json_t *sc(json_t *r)
{
	return json_object_get(r, "structuredContent");
}

static void test_grep_basic(void)
{
	mkd("g");
	mkd("g/sub");
	put("g/a.c", "int main(void)\n{\n\treturn foo(1);\n}\n");
	put("g/b.h", "#define FOO 1\nint foo(int);\n");
	put("g/sub/c.txt", "nothing here\nfoo foo\n");
	putn("g/bin.dat", "foo\0bar", 7);
	char want[4 * CTXD_PATH_MAX];
	json_t *r = call("grep", "{\"path\":\"%s/g\",\"pattern\":\"foo\"}", root);
	ASSERT(!is_error(r));
	snprintf(want, sizeof(want),
		 "%s/g/a.c:3:9:\treturn foo(1);\n%s/g/b.h:2:5:int foo(int);\n"
		 "%s/g/sub/c.txt:2:1:foo foo",
		 root, root, root);
	ASSERT_STR_EQ(text(r), want);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "count")), 3);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "binarySkipped")), 1);
	json_decref(r);
	/* case-insensitive, include with braces, literal, exclude */
	r = call("grep", "{\"path\":\"%s/g\",\"pattern\":\"foo\",\"caseInsensitive\":true,"
			 "\"include\":\"*.{h,x}\"}",
		 root);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "count")), 2);
	json_decref(r);
	r = call("grep", "{\"path\":\"%s/g\",\"pattern\":\"foo(1)\",\"literal\":true}", root);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "count")), 1);
	json_decref(r);
	r = call("grep", "{\"path\":\"%s/g\",\"pattern\":\"foo\",\"exclude\":\"sub\"}", root);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "count")), 2);
	json_decref(r);
	/* context lines and maxResults */
	r = call("grep", "{\"path\":\"%s/g/a.c\",\"pattern\":\"return\",\"contextLines\":1}", root);
	snprintf(want, sizeof(want), "%s/g/a.c-2-{\n%s/g/a.c:3:2:\treturn foo(1);\n%s/g/a.c-4-}",
		 root, root, root);
	ASSERT_STR_EQ(text(r), want);
	json_t *m0 = json_array_get(json_object_get(sc(r), "matches"), 0);
	ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(m0, "before"), 0)), "{");
	ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(m0, "after"), 0)), "}");
	json_decref(r);
	r = call("grep", "{\"path\":\"%s/g\",\"pattern\":\"o\",\"maxResults\":2}", root);
	ASSERT(json_is_true(json_object_get(sc(r), "truncated")));
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "count")), 2);
	json_decref(r);
	/* nothing found is not an error; a bad regex is */
	r = call("grep", "{\"path\":\"%s/g\",\"pattern\":\"zzz\"}", root);
	ASSERT(!is_error(r));
	ASSERT_CONTAINS(text(r), "No matches");
	json_decref(r);
	r = call("grep", "{\"path\":\"%s/g\",\"pattern\":\"(unclosed\"}", root);
	ASSERT(is_error(r));
	ASSERT_CONTAINS(text(r), "(unclosed");
	json_decref(r);
	r = call("grep", "{\"path\":\"/etc\",\"pattern\":\"root\"}");
	ASSERT(is_error(r));
	json_decref(r);
}

static void test_gitignore(void)
{
	mkd("repo");
	mkd("repo/.git");
	mkd("repo/build");
	mkd("repo/src");
	mkd("repo/src/gen");
	put("repo/.gitignore", "# comment\nbuild/\n*.log\n!keep.log\n/top.txt\nsrc/**/*.tmp\n");
	put("repo/.git/config", "needle\n");
	put("repo/build/out.c", "needle\n");
	put("repo/a.log", "needle\n");
	put("repo/keep.log", "needle\n");
	put("repo/top.txt", "needle\n");
	put("repo/src/top.txt", "needle\n");
	put("repo/src/x.tmp", "needle\n");
	put("repo/src/gen/y.tmp", "needle\n");
	put("repo/src/gen/.gitignore", "z.c\n");
	put("repo/src/gen/z.c", "needle\n");
	put("repo/src/main.c", "needle\n");
	json_t *r = call("grep", "{\"path\":\"%s/repo\",\"pattern\":\"needle\"}", root);
	json_t *m = json_object_get(sc(r), "matches");
	const char *want[] = {"keep.log", "src/main.c", "src/top.txt"};
	ASSERT_EQ(json_array_size(m), 3);
	for (size_t i = 0; i < 3; i++) {
		const char *p = json_string_value(json_object_get(json_array_get(m, i), "path"));
		ASSERT_CONTAINS(p, want[i]);
	}
	json_decref(r);
	r = call("grep", "{\"path\":\"%s/repo\",\"pattern\":\"needle\",\"respectGitignore\":false}",
		 root);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "count")), 10);
	json_decref(r);
	r = call("search_files", "{\"path\":\"%s/repo\",\"pattern\":\"**/*.{c,tmp,log}\"}", root);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "count")), 2); /* keep.log, main.c */
	json_decref(r);
	r = call("search_files", "{\"path\":\"%s/repo\",\"pattern\":\"**/*.c\",\"maxDepth\":1,"
				 "\"respectGitignore\":false}",
		 root);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "count")), 0);
	json_decref(r);
	ASSERT(ctxd_fs_glob_path("a/**/b", "a/b"));
	ASSERT(ctxd_fs_glob_path("a/**/b", "a/x/y/b"));
	ASSERT(!ctxd_fs_glob_path("a/**/b", "a/x/c"));
	ASSERT(ctxd_fs_glob_path("**/b", "x/b"));
	ASSERT(ctxd_fs_glob_path("a/**", "a/x/y"));
	ASSERT(!ctxd_fs_glob_path("a/*", "a/x/y"));
}

/* The tree as compact JSON, from structuredContent. */
static char *tree_json(json_t *r)
{
	return json_dumps(json_object_get(json_object_get(r, "structuredContent"), "tree"),
			  JSON_COMPACT);
}

static void test_tree_sizes(void)
{
	json_t *r = call("directory_tree", "{\"path\":\"%s/g\"}", root);
	ASSERT_STR_EQ(text(r), "a.c\nb.h\nbin.dat\nsub/\n  c.txt\n");
	char *j = tree_json(r);
	ASSERT_STR_EQ(j, "[{\"name\":\"a.c\",\"type\":\"file\"},{\"name\":\"b.h\",\"type\":"
			 "\"file\"},{\"name\":\"bin.dat\",\"type\":\"file\"},{\"name\":\"sub\","
			 "\"type\":\"directory\",\"children\":[{\"name\":\"c.txt\",\"type\":"
			 "\"file\"}]}]");
	free(j);
	json_decref(r);
	r = call("directory_tree", "{\"path\":\"%s/g\",\"maxDepth\":1,\"excludePatterns\":[\"*.h\"]}",
		 root);
	ASSERT_STR_EQ(text(r), "a.c\nbin.dat\nsub/\n");
	j = tree_json(r);
	ASSERT_STR_EQ(j, "[{\"name\":\"a.c\",\"type\":\"file\"},{\"name\":\"bin.dat\",\"type\":"
			 "\"file\"},{\"name\":\"sub\",\"type\":\"directory\"}]");
	free(j);
	json_decref(r);
	r = call("directory_tree", "{\"path\":\"%s/g/a.c\"}", root);
	ASSERT(is_error(r));
	json_decref(r);
	r = call("list_directory_with_sizes", "{\"path\":\"%s/g\",\"sortBy\":\"size\"}", root);
	json_t *e = json_object_get(sc(r), "entries");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(e, 0), "name")), "a.c");
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "totalFiles")), 3);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "totalDirectories")), 1);
	ASSERT_CONTAINS(text(r), "Total: 3 files, 1 directories");
	json_decref(r);
}

static void test_media_multi(void)
{
	static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
	putn("p.bin", png, sizeof(png) - 1);
	json_t *r = call("read_media_file", "{\"path\":\"p.bin\"}");
	json_t *b = json_array_get(json_object_get(r, "content"), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(b, "type")), "image");
	ASSERT_STR_EQ(json_string_value(json_object_get(b, "mimeType")), "image/png");
	ASSERT_STR_EQ(json_string_value(json_object_get(b, "data")), "iVBORw0KGgoAAAANSUhEUg==");
	json_decref(r);
	putn("s.mp3", "ID3\3\0\0\0\0\0\0", 10);
	r = call("read_media_file", "{\"path\":\"s.mp3\"}");
	b = json_array_get(json_object_get(r, "content"), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(b, "type")), "audio");
	json_decref(r);
	r = call("read_media_file", "{\"path\":\"g/a.c\"}");
	ASSERT(is_error(r));
	json_decref(r);
	/* over the cap: a resource_link */
	static char big[4096];
	memcpy(big, png, sizeof(png) - 1);
	putn("big.png", big, sizeof(big));
	cfg.max_media_bytes = 1024;
	r = call("read_media_file", "{\"path\":\"big.png\"}");
	b = json_array_get(json_object_get(r, "content"), 1);
	ASSERT_STR_EQ(json_string_value(json_object_get(b, "type")), "resource_link");
	char uri[CTXD_PATH_MAX + 16];
	snprintf(uri, sizeof(uri), "file://%s/big.png", root);
	ASSERT_STR_EQ(json_string_value(json_object_get(b, "uri")), uri);
	json_decref(r);
	cfg.max_media_bytes = 1 << 20;
	r = call("read_multiple_files", "{\"paths\":[\"g/b.h\",\"missing\",\"g/sub/c.txt\"]}");
	ASSERT(!is_error(r));
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "failed")), 1);
	ASSERT_CONTAINS(text(r), "int foo(int);\n\n---\nmissing: Error - ");
	ASSERT_CONTAINS(text(r), "c.txt:\nnothing here\nfoo foo\n");
	json_decref(r);
}

static void test_provider(void)
{
	const struct ctxd_resource_provider *p = ctxd_fs_resources();
	struct ctxd_provider_ctx pc = {.cfg = &cfg, .sandbox = sb};
	struct ctxd_error err;
	json_t *list = json_array();
	ASSERT_EQ(p->list(p->ud, &pc, list, &err), 0);
	ASSERT(json_array_size(list) >= 3);
	json_decref(list);
	json_t *t = json_array();
	ASSERT_EQ(p->templates(p->ud, t), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(t, 0), "uriTemplate")),
		      "file:///{+path}");
	json_decref(t);
	char uri[CTXD_PATH_MAX + 32];
	snprintf(uri, sizeof(uri), "file://%s/g/b.h", root);
	json_t *c = p->read(p->ud, &pc, uri, &err);
	ASSERT(c);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(c, 0), "text")),
		      "#define FOO 1\nint foo(int);\n");
	json_decref(c);
	snprintf(uri, sizeof(uri), "file://%s/p.bin", root);
	c = p->read(p->ud, &pc, uri, &err);
	ASSERT(json_object_get(json_array_get(c, 0), "blob"));
	json_decref(c);
	ASSERT(!p->read(p->ud, &pc, "file:///etc/passwd", &err));
	ASSERT_EQ(err.code, CTXD_PROVIDER_NOT_FOUND);
	snprintf(uri, sizeof(uri), "file://%s/nope", root);
	ASSERT(!p->read(p->ud, &pc, uri, &err));
	ASSERT_EQ(err.code, CTXD_PROVIDER_NOT_FOUND);
	char w[CTXD_PATH_MAX];
	snprintf(uri, sizeof(uri), "file://%s/g/b.h", root);
	ASSERT_EQ(p->watch_path(p->ud, &pc, uri, w, sizeof(w)), 0);
	ASSERT_CONTAINS(w, "/g/b.h");
	json_t *out = json_array();
	size_t total = 0;
	char val[CTXD_PATH_MAX];
	snprintf(val, sizeof(val), "%s/g/s", root + 1);
	ASSERT_EQ(p->complete(p->ud, &pc, "file:///{+path}", "path", val, NULL, out, &total, &err),
		  0);
	ASSERT_EQ(total, 1);
	ASSERT_CONTAINS(json_string_value(json_array_get(out, 0)), "/g/sub/");
	json_decref(out);
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int main(void)
{
	const char *tmp = getenv("CTXD_TEST_TMP");
	if (!tmp) {
		tmp = getenv("TMPDIR");
	}
	if (!tmp) {
		tmp = "/tmp";
	}
	char tmpl[CTXD_PATH_MAX];
	snprintf(tmpl, sizeof(tmpl), "%s/ctxd-grep-XXXXXX", tmp);
	ASSERT(mkdtemp(tmpl));
	/* realpath() may write PATH_MAX bytes: resolve into a buffer that large */
	char canon[CTXD_PATH_MAX];
	ASSERT(realpath(tmpl, canon));
	ASSERT(strlen(canon) < sizeof(root));
	snprintf(root, sizeof(root), "%s", canon);
	ctxd_config_init(&cfg);
	sb = ctxd_sandbox_create();
	ASSERT(sb);
	struct ctxd_error err;
	ASSERT_EQ(ctxd_sandbox_add_root(sb, root, false, &err), 0);
	ctxd_sandbox_seal(sb);
	ctx.cfg = &cfg;
	ctx.sandbox = sb;

	RUN(test_grep_basic);
	RUN(test_gitignore);
	RUN(test_tree_sizes);
	RUN(test_media_multi);
	RUN(test_provider);

	ctxd_sandbox_destroy(sb);
	ctxd_config_finish(&cfg);
	nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
