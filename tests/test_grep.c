/* test_grep.c - grep, .gitignore handling (grep, search_files), directory_tree,
 * list_directory with sizes, read_media_file, read_multiple_files and the file:// provider. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/tools/fs_ignore.h"
#include "../src/tools/fs_walk.h"
#include "ctxd/config.h"
#include "ctxd/fs.h"
#include "ctxd/sandbox.h"
#include "ctxd/strbuf.h"
#include "test.h"
#include "tool_test.h"

static char root[2048];
static struct ctxd_config cfg;
static struct ctxd_sandbox *sb;
static struct ctxd_tool_ctx ctx;

static void putn(const char *rel, const char *data, size_t len)
{
	tree_write(root, rel, data, len);
}

static void put(const char *rel, const char *s)
{
	tree_put(root, rel, s);
}

static void mkd(const char *rel)
{
	tree_mkdir(root, rel);
}

/* Call tool `name` with `args` (stolen); the result's structuredContent is checked
 * against the tool's output schema. */
static json_t *call_json(const char *name, json_t *args)
{
	ASSERT(args);
	json_t *res = tt_run(tt_tool(ctxd_fs_tools, ctxd_fs_tools_count, name), &ctx, args);
	json_decref(args);
	return res;
}

static json_t *call(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *call(const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *args = tt_args(0, fmt, ap);
	va_end(ap);
	return call_json(name, args);
}

static json_t *sc(json_t *r)
{
	return json_object_get(r, "structuredContent");
}

static long long num(json_t *r, const char *key)
{
	return json_integer_value(json_object_get(sc(r), key));
}

/* The k-th match of a grep answer (the files' matches in order); *path (may be NULL) gets
 * its file. NULL past the last. */
static json_t *nth_match(json_t *r, size_t k, const char **path)
{
	json_t *files = json_object_get(sc(r), "files");
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f)
	{
		json_t *ms = json_object_get(f, "matches");
		if (k < json_array_size(ms)) {
			if (path) {
				*path = json_string_value(json_object_get(f, "path"));
			}
			return json_array_get(ms, k);
		}
		k -= json_array_size(ms);
	}
	return NULL;
}

/* ctxd_fs_glob_compile + ctxd_fs_glob_match of NUL-terminated strings. */
static bool glob(const char *pat, const char *path)
{
	struct ctxd_fs_glob *g;
	ASSERT_EQ(ctxd_fs_glob_compile(pat, strlen(pat), &g), 0);
	bool m = ctxd_fs_glob_match(g, path, strlen(path));
	ctxd_fs_glob_free(g);
	return m;
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
	ASSERT(!tt_is_error(r));
	snprintf(want, sizeof(want),
		 "%s/g/a.c:3:9:\treturn foo(1);\n%s/g/b.h:2:5:int foo(int);\n"
		 "%s/g/sub/c.txt:2:1:foo foo",
		 root, root, root);
	ASSERT_STR_EQ(tt_text(r), want);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "count")), 3);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "binarySkipped")), 1);
	json_decref(r);
	/* case-insensitive, include with braces, literal, exclude */
	r = call("grep",
		 "{\"path\":\"%s/g\",\"pattern\":\"foo\",\"caseInsensitive\":true,"
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
	ASSERT_STR_EQ(tt_text(r), want);
	json_t *m0 = nth_match(r, 0, NULL);
	ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(m0, "before"), 0)), "{");
	ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(m0, "after"), 0)), "}");
	json_decref(r);
	r = call("grep", "{\"path\":\"%s/g\",\"pattern\":\"o\",\"maxResults\":2}", root);
	ASSERT(json_is_true(json_object_get(sc(r), "truncated")));
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "count")), 2);
	json_decref(r);
	/* nothing found is not an error; a bad regex is */
	r = call("grep", "{\"path\":\"%s/g\",\"pattern\":\"zzz\"}", root);
	ASSERT(!tt_is_error(r));
	ASSERT_CONTAINS(tt_text(r), "No matches");
	json_decref(r);
	r = call("grep", "{\"path\":\"%s/g\",\"pattern\":\"(unclosed\"}", root);
	ASSERT(tt_is_error(r));
	ASSERT_CONTAINS(tt_text(r), "(unclosed");
	json_decref(r);
	r = call("grep", "{\"path\":\"/etc\",\"pattern\":\"root\"}");
	ASSERT(tt_is_error(r));
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
	const char *want[] = {"keep.log", "src/main.c", "src/top.txt"};
	ASSERT_EQ(num(r, "count"), 3);
	for (size_t i = 0; i < 3; i++) {
		const char *p = NULL;
		ASSERT(nth_match(r, i, &p));
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
	r = call("search_files",
		 "{\"path\":\"%s/repo\",\"pattern\":\"**/*.c\",\"maxDepth\":1,"
		 "\"respectGitignore\":false}",
		 root);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "count")), 0);
	json_decref(r);
	ASSERT(glob("a/**/b", "a/b"));
	ASSERT(glob("a/**/b", "a/x/y/b"));
	ASSERT(!glob("a/**/b", "a/x/c"));
	ASSERT(glob("**/b", "x/b"));
	ASSERT(glob("a/**", "a/x/y"));
	ASSERT(!glob("a/*", "a/x/y"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lay out tests/fixtures/ignore_tree.txt under root/`dir` (see the manifest's header). */
static void lay_out_manifest(const char *dir)
{
	const char *src = getenv("CTXD_SOURCE_ROOT");
	ASSERT(src);
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/tests/fixtures/ignore_tree.txt", src);
	FILE *in = fopen(p, "r");
	ASSERT(in);
	mkd(dir);
	char line[1024];
	FILE *out = NULL;
	bool empty = false;
	while (fgets(line, sizeof(line), in)) {
		if (strncmp(line, "=== ", 4) != 0) {
			if (out) {
				ASSERT(fputs(line, out) >= 0);
				empty = false;
			}
			continue;
		}
		if (out) {
			ASSERT(!empty || fputs("hit\n", out) >= 0);
			ASSERT_EQ(fclose(out), 0);
			out = NULL;
		}
		line[strcspn(line, "\n")] = '\0';
		snprintf(p, sizeof(p), "%s/%s/%s", root, dir, line + 4);
		/* make the parent directories (and the directory of a "PATH/" line) */
		for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')) != NULL; s++) {
			*s = '\0';
			ASSERT(mkdir(p, 0755) == 0 || errno == EEXIST);
			*s = '/';
		}
		if (p[strlen(p) - 1] != '/') {
			out = fopen(p, "w");
			ASSERT(out);
			empty = true;
		}
	}
	if (out) {
		ASSERT(!empty || fputs("hit\n", out) >= 0);
		ASSERT_EQ(fclose(out), 0);
	}
	fclose(in);
}

/* Issue 13 item 2: the files search_files and grep see under nested .gitignore, .ignore,
 * .rgignore and .git/info/exclude files (negations, anchored and directory patterns,
 * character classes, escapes) are exactly those ripgrep lists (the expected list was made
 * with `rg --files --hidden --no-require-git`, see the manifest). */
static void test_ignore_like_rg(void)
{
	lay_out_manifest("igrg");
	const char *src = getenv("CTXD_SOURCE_ROOT");
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/tests/fixtures/ignore_tree.expected", src);
	FILE *f = fopen(p, "r");
	ASSERT(f);
	struct ctxd_strbuf want = {0};
	char line[1024];
	size_t n_want = 0;
	while (fgets(line, sizeof(line), f)) {
		ctxd_strbuf_str(&want, line);
		n_want++;
	}
	fclose(f);
	ASSERT(n_want > 10);

	/* search_files lists directories too: keep the files, relative, in C order */
	json_t *r = call("search_files", "{\"path\":\"%s/igrg\",\"pattern\":\"**\"}", root);
	ASSERT(!tt_is_error(r));
	json_t *m = json_object_get(sc(r), "matches");
	size_t prefix = strlen(root) + strlen("/igrg/");
	char **rel = calloc(json_array_size(m) + 1, sizeof(*rel));
	size_t n = 0, i;
	json_t *v;
	ASSERT(rel);
	json_array_foreach(m, i, v)
	{
		struct stat st;
		const char *abs = json_string_value(v);
		ASSERT(lstat(abs, &st) == 0);
		if (S_ISREG(st.st_mode)) {
			rel[n++] = strdup(abs + prefix);
		}
	}
	json_decref(r);
	qsort(rel, n, sizeof(*rel), cmp_str);
	struct ctxd_strbuf got = {0};
	for (i = 0; i < n; i++) {
		ctxd_strbuf_printf(&got, "%s\n", rel[i]);
		free(rel[i]);
	}
	free(rel);
	ASSERT_STR_EQ(got.p, want.p);

	/* grep searches the same files */
	r = call("grep", "{\"path\":\"%s/igrg\",\"pattern\":\"zzz-nowhere\"}", root);
	ASSERT_EQ(num(r, "filesSearched"), (long long)n_want);
	json_decref(r);
	free(got.p);
	free(want.p);
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
	ASSERT_STR_EQ(tt_text(r), "a.c\nb.h\nbin.dat\nsub/\n  c.txt\n");
	char *j = tree_json(r);
	ASSERT_STR_EQ(j, "[{\"name\":\"a.c\",\"type\":\"file\"},{\"name\":\"b.h\",\"type\":"
			 "\"file\"},{\"name\":\"bin.dat\",\"type\":\"file\"},{\"name\":\"sub\","
			 "\"type\":\"directory\",\"children\":[{\"name\":\"c.txt\",\"type\":"
			 "\"file\"}]}]");
	free(j);
	json_decref(r);
	r = call("directory_tree",
		 "{\"path\":\"%s/g\",\"maxDepth\":1,\"excludePatterns\":[\"*.h\"]}", root);
	ASSERT_STR_EQ(tt_text(r), "a.c\nbin.dat\nsub/\n");
	j = tree_json(r);
	ASSERT_STR_EQ(j, "[{\"name\":\"a.c\",\"type\":\"file\"},{\"name\":\"bin.dat\",\"type\":"
			 "\"file\"},{\"name\":\"sub\",\"type\":\"directory\"}]");
	free(j);
	json_decref(r);
	r = call("directory_tree", "{\"path\":\"%s/g/a.c\"}", root);
	ASSERT(tt_is_error(r));
	json_decref(r);
	r = call("list_directory", "{\"path\":\"%s/g\",\"sizes\":true,\"sortBy\":\"size\"}", root);
	json_t *e = json_object_get(sc(r), "entries");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(e, 0), "name")), "a.c");
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "totalFiles")), 3);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "totalDirectories")), 1);
	ASSERT_CONTAINS(tt_text(r), "Total: 3 files, 1 directories");
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
	ASSERT(tt_is_error(r));
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
	ASSERT(!tt_is_error(r));
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "failed")), 1);
	ASSERT_CONTAINS(tt_text(r), "int foo(int);\n\n---\nmissing: Error - ");
	ASSERT_CONTAINS(tt_text(r), "c.txt:\nnothing here\nfoo foo\n");
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
	ASSERT_EQ(err.kind, CTXD_ERR_NOT_FOUND);
	snprintf(uri, sizeof(uri), "file://%s/nope", root);
	ASSERT(!p->read(p->ud, &pc, uri, &err));
	ASSERT_EQ(err.kind, CTXD_ERR_NOT_FOUND);
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

/* `unit` n times, then `tail`: a new string. */
static char *repeat(const char *unit, size_t n, const char *tail)
{
	size_t ul = strlen(unit), tl = strlen(tail);
	char *p = malloc(ul * n + tl + 1);
	ASSERT(p);
	for (size_t i = 0; i < n; i++) {
		memcpy(p + i * ul, unit, ul);
	}
	memcpy(p + ul * n, tail, tl + 1);
	return p;
}

/* `r` is an isError result whose text holds `needle`; released. */
static void expect_refused(json_t *r, const char *needle)
{
	ASSERT(tt_is_error(r));
	ASSERT_CONTAINS(tt_text(r), needle);
	json_decref(r);
}

/* True when structuredContent.truncatedReasons holds `why`. */
static bool reason(json_t *r, const char *why)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(sc(r), "truncatedReasons"), i, v)
	{
		if (strcmp(json_string_value(v), why) == 0) {
			return true;
		}
	}
	return false;
}

/* Matches of grep `pattern` under root/`rel`. */
static long long grep_count(const char *rel, const char *pattern)
{
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	json_t *r = call_json("grep", json_pack("{s:s, s:s}", "path", p, "pattern", pattern));
	ASSERT(!tt_is_error(r));
	long long n = num(r, "count");
	json_decref(r);
	return n;
}

/* The path glob's rules: '**' spans, collapses, trailing '**' needs one component, empty
 * components never match, a pattern longer than CTXD_FS_GLOB_MAX is refused. */
static void test_glob_api(void)
{
	ASSERT(glob("**/**/**/x", "x"));
	ASSERT(glob("**/**/**/x", "a/b/x"));
	ASSERT(!glob("**/**/**/x", "a/b/y"));
	ASSERT(!glob("a/**", "a"));
	ASSERT(glob("a/**", "a/b"));
	ASSERT(glob("**", "a"));
	ASSERT(glob("a/**/**", "a/b"));
	ASSERT(!glob("a/**/**", "a"));
	ASSERT(!glob("a//b", "a/b"));
	ASSERT(!glob("a/", "a"));
	ASSERT(glob("a**b/c", "axxb/c"));
	ASSERT(!glob("a**b/c", "ax/xb/c"));
	ASSERT(glob("*/b/**/c/*", "x/b/c/d"));
	ASSERT(glob("*/b/**/c/*", "x/b/1/2/c/d"));
	ASSERT(!glob("*/b/**/c/*", "x/b/1/2/c"));
	ASSERT(glob("[ab]/?/\\*", "a/x/*"));
	ASSERT(!glob("[ab]/?/\\*", "a/x/y"));
	ASSERT(glob("**/a/**/a/**/b", "a/x/a/a/b"));
	ASSERT(!glob("**/a/**/a/**/b", "a/b"));
	ASSERT(glob(".*/*", ".git/x"));

	char *p = repeat("**/", 1300, "x"); /* 3,901 bytes: one '**' once collapsed */
	ASSERT(glob(p, "x"));
	ASSERT(glob(p, "d/d/d/d/x"));
	ASSERT(!glob(p, "x/y"));
	free(p);
	struct ctxd_fs_glob *g;
	p = repeat("**/", 3000, "x");
	ASSERT_EQ(ctxd_fs_glob_compile(p, strlen(p), &g), -E2BIG);
	free(p);
	/* 800 '*' components apart: needs 801 path components, no backtracking blow-up */
	p = repeat("*/**/", 800, "x");
	char *deep = repeat("d/", 1000, "x");
	ASSERT(glob(p, deep));
	ASSERT(!glob(p, deep + 2 * 300));
	free(deep);
	free(p);
}

/* Issue 12 item 1 and 4: '**' x 1,300 (old code: stack overflow, SIGSEGV) in excludePatterns
 * and in a .gitignore over a 5-deep tree; '**' x 3,000 is refused with a clear isError. */
static void test_glob_deep_pattern(void)
{
	char rel[64] = "deep5";
	mkd(rel);
	for (int i = 0;; i++) {
		char f[96];
		snprintf(f, sizeof(f), "%s/x", rel);
		put(f, "needle\n");
		snprintf(f, sizeof(f), "%s/y", rel);
		put(f, "needle\n");
		if (i == 5) {
			break;
		}
		strcat(rel, "/d");
		mkd(rel);
	}
	char dir[CTXD_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/deep5", root);
	char *pat = repeat("**/", 1300, "x");
	json_t *r = call_json("directory_tree",
			      json_pack("{s:s, s:[s]}", "path", dir, "excludePatterns", pat));
	ASSERT(!tt_is_error(r));
	ASSERT_EQ(num(r, "entries"), 11); /* 5 directories and 6 y */
	json_decref(r);
	r = call_json("search_files", json_pack("{s:s, s:s, s:[s]}", "path", dir, "pattern", "**",
						"excludePatterns", pat));
	ASSERT(!tt_is_error(r));
	ASSERT_EQ(num(r, "count"), 11);
	json_decref(r);
	char *big = repeat("**/", 3000, "x");
	r = call_json("directory_tree",
		      json_pack("{s:s, s:[s]}", "path", dir, "excludePatterns", big));
	expect_refused(r, "excludePatterns[0]' is longer than 4096 bytes");
	r = call_json(
	    "grep", json_pack("{s:s, s:s, s:s}", "path", dir, "pattern", "needle", "exclude", big));
	expect_refused(r, "longer than 4096 bytes");
	r = call_json("search_files", json_pack("{s:s, s:s}", "path", dir, "pattern", big));
	expect_refused(r, "longer than 4096 bytes");
	free(big);

	/* the same rule in a cloned repository's .gitignore */
	char *gi = repeat("**/", 1300, "x\n");
	put("deep5/.gitignore", gi);
	free(gi);
	r = call("grep", "{\"path\":\"%s\",\"pattern\":\"needle\"}", dir);
	ASSERT(!tt_is_error(r));
	ASSERT_EQ(num(r, "count"), 6);
	json_decref(r);
	r = call("search_files", "{\"path\":\"%s\",\"pattern\":\"**/x\"}", dir);
	ASSERT_EQ(num(r, "count"), 0);
	json_decref(r);
	r = call("search_files", "{\"path\":\"%s\",\"pattern\":\"**/y\"}", dir);
	ASSERT_EQ(num(r, "count"), 6);
	json_decref(r);
	free(pat);
}

/* A .gitignore matcher checks the cancel flag every 256 rules; once cancelled it ignores
 * every entry and says that it gave up, so a walk that ends before noticing the cancel
 * itself still knows its answer is incomplete. */
static void test_ignore_gives_up(void)
{
	char *rules = repeat("nomatch*.x\n", 300, "");
	struct ctxd_fs_ignore *ig = ctxd_fs_ignore_create_text(rules, strlen(rules));
	free(rules);
	ASSERT(ig);
	struct ctxd_job job;
	memset(&job, 0, sizeof(job));
	struct ctxd_fs_ignore_ctx c = {.job = &job};
	ASSERT(!ctxd_fs_ignore_path(ig, "a.txt", 5, false, &c));
	ASSERT(!c.gave_up);
	atomic_store(&job.cancel, true);
	ASSERT(ctxd_fs_ignore_path(ig, "a.txt", 5, false, &c));
	ASSERT(c.gave_up);
	c = (struct ctxd_fs_ignore_ctx){.deadline_ms = 1}; /* a deadline long past */
	ASSERT(ctxd_fs_ignore_path(ig, "a.txt", 5, false, &c));
	ASSERT(c.gave_up);
	ctxd_fs_ignore_destroy(ig);
}

/* Issue 12 item 4: '{' x 100,000 took 4.2 s (quadratic brace scan); now refused up front.
 * Deep nesting within the cap stays bounded by the alternatives budget. */
static void test_brace_bound(void)
{
	char *b = repeat("{", 100000, "");
	json_t *r = call_json("search_files", json_pack("{s:s, s:s}", "path", root, "pattern", b));
	expect_refused(r, "longer than 4096 bytes");
	r = call_json("grep",
		      json_pack("{s:s, s:s, s:s}", "path", root, "pattern", "x", "include", b));
	expect_refused(r, "'include' is longer than 4096 bytes");
	free(b);
	char *close_all = repeat("}", 1000, "");
	b = repeat("{a,", 1000, close_all);
	free(close_all);
	r = call_json("search_files", json_pack("{s:s, s:s}", "path", root, "pattern", b));
	expect_refused(r, "more than 64 brace alternatives");
	free(b);
	/* 4,000 unmatched '{' then one real group: two alternatives, answered */
	b = repeat("{", 4000, "{g,zz}");
	r = call_json("search_files", json_pack("{s:s, s:s}", "path", root, "pattern", b));
	ASSERT(!tt_is_error(r));
	ASSERT_EQ(num(r, "count"), 0);
	json_decref(r);
	free(b);
}

/* Issue 11 section 5: a regex match lies within one line, as ripgrep's. */
static void test_grep_within_lines(void)
{
	mkd("wl");
	put("wl/a.c", "static int\nfoo_init(void)\nstatic int bar_init(void)\nstatic\n");
	put("wl/b.txt", "abc\nbar\nfoo\nfoo x\n");
	json_t *r = call("grep",
			 "{\"path\":\"%s/wl\",\"pattern\":\"\\\\bstatic\\\\s+int\\\\s+"
			 "\\\\w+_init\\\\(\"}",
			 root);
	ASSERT_EQ(num(r, "count"), 1);
	json_t *m = nth_match(r, 0, NULL);
	ASSERT_EQ(json_integer_value(json_object_get(m, "line")), 3);
	json_decref(r);
	/* [^x] and \s can consume a newline: only a match inside a line counts */
	ASSERT_EQ(grep_count("wl/b.txt", "[^x]+bar"), 0);
	ASSERT_EQ(grep_count("wl", "static\\s*"), 3);
	/* lookahead and \A, \z see the line alone (ripgrep -P does the same) */
	ASSERT_EQ(grep_count("wl/b.txt", "foo(?!\\n)"), 2);
	ASSERT_EQ(grep_count("wl/b.txt", "\\A(foo|bar)\\z"), 2);
	ASSERT_EQ(grep_count("wl/b.txt", "c\\n\\Kbar"), 0); /* \K cannot hide a newline */
	/* start positions are tried a window at a time: matches past the first window count */
	char *longf = repeat("a filler line of forty bytes or so.....\n", 3000, "needle\n");
	longf[40 * 2500] = 'n';
	memcpy(longf + 40 * 2500 + 1, "eedle", 5);
	put("long.txt", longf);
	free(longf);
	ASSERT_EQ(grep_count("long.txt", "\\bneedle"), 2);
	/* a NUL byte past the 8 KiB probe makes a matching file binary (ripgrep's count) */
	char *late = repeat("filler line\n", 1000, "needle\n");
	size_t ll = strlen(late);
	late[ll - 1] = '\0';
	putn("wl/late.bin", late, ll);
	free(late);
	r = call("grep", "{\"path\":\"%s/wl\",\"pattern\":\"needle\"}", root);
	ASSERT_EQ(num(r, "count"), 0);
	ASSERT_EQ(num(r, "binarySkipped"), 1);
	json_decref(r);
}

/* Issue 12 item 3: catastrophic backtracking hits PCRE2's limits; those lines are reported,
 * the rest of the search goes on, and a file is given up after 8 such lines. */
static void test_grep_regex_limit(void)
{
	mkd("cat");
	char *a40 = repeat("a", 40, "\n");
	char *ten = repeat(a40, 10, "y!\n");
	char body[2048];
	snprintf(body, sizeof(body), "x!\n%s", ten);
	put("cat/a.txt", body);
	snprintf(body, sizeof(body), "%sok!\n", a40);
	put("cat/b.txt", body);
	free(ten);
	free(a40);
	json_t *r = call("grep", "{\"path\":\"%s/cat\",\"pattern\":\"(a+)+b|!\"}", root);
	ASSERT(!tt_is_error(r));
	ASSERT_EQ(num(r, "count"), 2); /* a.txt:1 and b.txt:2; a.txt:12 was given up */
	ASSERT(json_is_true(json_object_get(sc(r), "truncated")));
	ASSERT(reason(r, "regexLimit"));
	json_t *lim = json_object_get(sc(r), "regexLimit");
	ASSERT_EQ(json_integer_value(json_object_get(lim, "lines")), 9);
	ASSERT_EQ(json_integer_value(json_object_get(lim, "filesGivenUp")), 1);
	json_t *at = json_object_get(lim, "at");
	ASSERT_EQ(json_array_size(at), 9);
	ASSERT_EQ(json_integer_value(json_object_get(json_array_get(at, 0), "line")), 2);
	ASSERT(json_is_false(json_object_get(json_array_get(at, 0), "restOfFile")));
	ASSERT_EQ(json_integer_value(json_object_get(json_array_get(at, 7), "line")), 9);
	ASSERT(json_is_true(json_object_get(json_array_get(at, 7), "restOfFile")));
	ASSERT_CONTAINS(json_string_value(json_object_get(json_array_get(at, 8), "path")),
			"cat/b.txt");
	ASSERT_CONTAINS(tt_text(r), "9 lines were not searched");
	ASSERT_CONTAINS(tt_text(r), "cat/a.txt:9 (and every line after it)");
	json_decref(r);
}

struct cancel_progress {
	struct ctxd_progress base;
	struct ctxd_job *job;
	int calls;
};

static void cancel_on_report(struct ctxd_progress *p, double progress, double total,
			     const char *message)
{
	(void)progress;
	(void)total;
	(void)message;
	struct cancel_progress *cp = (struct cancel_progress *)p;
	cp->calls++;
	atomic_store(&cp->job->cancel, true);
}

/* Issue 12 item 3: cancelling stops a search inside one large file (checked per chunk: the
 * progress report after the first chunk cancels the job; the call must stop there). */
static void test_grep_cancel_in_file(void)
{
	char *big = repeat("needle and a line of ninety-nine bytes of text, to fill three "
			   "mebibytes of one file quickly....\n",
			   32 * 1024, "");
	putn("big.txt", big, strlen(big));
	free(big);
	struct ctxd_job job;
	memset(&job, 0, sizeof(job));
	struct cancel_progress cp = {.base.report = cancel_on_report, .job = &job};
	ctx.job = &job;
	ctx.progress = &cp.base;
	json_t *r = call("grep",
			 "{\"path\":\"%s/big.txt\",\"pattern\":\"needle\","
			 "\"maxResults\":100000}",
			 root);
	ctx.job = NULL;
	ctx.progress = NULL;
	ASSERT(tt_is_error(r));
	ASSERT_CONTAINS(tt_text(r), "cancelled");
	ASSERT_EQ(cp.calls, 1);
	json_decref(r);
}

/* The call deadline (limits.call_ms): a search past it answers with what it has, marked
 * truncated with the reason, instead of running on. */
static void test_deadline(void)
{
	ctx.deadline_ms = 1; /* long past */
	json_t *r = call("grep", "{\"path\":\"%s/g\",\"pattern\":\"foo\"}", root);
	ASSERT(!tt_is_error(r));
	ASSERT(json_is_true(json_object_get(sc(r), "truncated")));
	ASSERT(reason(r, "deadline"));
	ASSERT_CONTAINS(tt_text(r), "limits.call_ms");
	json_decref(r);
	r = call("grep", "{\"path\":\"%s/big.txt\",\"pattern\":\"needle\"}", root);
	ASSERT(reason(r, "deadline"));
	ASSERT_EQ(num(r, "count"), 0);
	json_decref(r);
	r = call("search_files", "{\"path\":\"%s\",\"pattern\":\"**\"}", root);
	ASSERT(!tt_is_error(r));
	ASSERT(reason(r, "deadline"));
	json_decref(r);
	r = call("directory_tree", "{\"path\":\"%s\"}", root);
	ASSERT(!tt_is_error(r));
	ASSERT(reason(r, "deadline"));
	json_decref(r);
	ctx.deadline_ms = 0;
}

/* A chain of `levels` directories named `name` under root/top, made with *at() calls only
 * (its paths may exceed PATH_MAX). Returns an fd of the deepest directory. */
static int chain_make(const char *top, int levels, const char *name)
{
	mkd(top);
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", root, top);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT(fd >= 0);
	for (int i = 0; i < levels; i++) {
		ASSERT_EQ(mkdirat(fd, name, 0755), 0);
		int nfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ASSERT(nfd >= 0);
		close(fd);
		fd = nfd;
	}
	return fd;
}

/* Remove what chain_make made (and a needle.txt at the bottom) bottom-up through "..". */
static void chain_remove(int fd, int levels, const char *name)
{
	ASSERT_EQ(unlinkat(fd, "needle.txt", 0), 0);
	for (int i = 0; i < levels; i++) {
		int up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ASSERT(up >= 0);
		close(fd);
		ASSERT_EQ(unlinkat(up, name, AT_REMOVEDIR), 0);
		fd = up;
	}
	close(fd);
}

static void put_needle(int dirfd)
{
	int ffd = openat(dirfd, "needle.txt", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ASSERT(ffd >= 0);
	ASSERT_EQ(write(ffd, "needle\n", 7), 7);
	close(ffd);
}

/* Issue 12 item 12: a file past the path-length cap (the cap a 3,000-level tree of 1-byte
 * names hits at level 2,048; here 45 levels of 100-byte names, as deep in bytes and
 * cheaper to build) is reported as a cut, not as "No matches"; so are entries below
 * directory_tree's 256 levels. */
static void test_depth_cut(void)
{
	char name[101];
	memset(name, 'n', 100);
	name[100] = '\0';
	int fd = chain_make("tall", 45, name);
	put_needle(fd);
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/tall", root);
	json_t *r = call("search_files", "{\"path\":\"%s\",\"pattern\":\"**/needle.txt\"}", p);
	ASSERT_EQ(num(r, "count"), 0);
	ASSERT(json_is_true(json_object_get(sc(r), "truncated")));
	ASSERT(reason(r, "depth"));
	ASSERT_CONTAINS(tt_text(r), "deeper than the 4096-byte path limit");
	json_decref(r);
	r = call("grep", "{\"path\":\"%s\",\"pattern\":\"needle\"}", p);
	ASSERT_EQ(num(r, "count"), 0);
	ASSERT(json_is_true(json_object_get(sc(r), "truncated")));
	ASSERT(reason(r, "depth"));
	json_decref(r);
	r = call("directory_tree", "{\"path\":\"%s\"}", p);
	ASSERT(json_is_true(json_object_get(sc(r), "truncated")));
	ASSERT(reason(r, "depth"));
	json_decref(r);
	chain_remove(fd, 45, name);

	fd = chain_make("tall2", 258, "d");
	put_needle(fd);
	snprintf(p, sizeof(p), "%s/tall2", root);
	r = call("directory_tree", "{\"path\":\"%s\"}", p);
	ASSERT(json_is_true(json_object_get(sc(r), "truncated")));
	ASSERT(reason(r, "depth"));
	ASSERT_CONTAINS(tt_text(r), "deeper than 256 levels");
	json_decref(r);
	r = call("search_files", "{\"path\":\"%s\",\"pattern\":\"**/needle.txt\"}", p);
	ASSERT_EQ(num(r, "count"), 1); /* well within the path limit: found */
	ASSERT(json_is_false(json_object_get(sc(r), "truncated")));
	json_decref(r);
	chain_remove(fd, 258, "d");
}

int main(void)
{
	test_tmp_root(root, sizeof(root), "ctxd-grep");
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
	RUN(test_ignore_like_rg);
	RUN(test_tree_sizes);
	RUN(test_media_multi);
	RUN(test_provider);
	RUN(test_glob_api);
	RUN(test_glob_deep_pattern);
	RUN(test_ignore_gives_up);
	RUN(test_brace_bound);
	RUN(test_grep_within_lines);
	RUN(test_grep_regex_limit);
	RUN(test_grep_cancel_in_file);
	RUN(test_deadline);
	RUN(test_depth_cut);

	ctxd_sandbox_destroy(sb);
	ctxd_config_finish(&cfg);
	tree_rm_rf(root);
	return 0;
}
