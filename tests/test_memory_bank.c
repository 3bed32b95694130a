/* test_memory_bank.c - the memory bank: ctxd_atomic_write, every tool's success and
 * failure paths (called directly with a ctx, as in test_fs.c), the validation
 * corpus in tests/memory_bank/, resources, threads appending at once, SIGKILL mid-write. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/config.h"
#include "ctxd/fsutil.h"
#include "ctxd/mb_history.h"
#include "ctxd/memory_bank.h"
#include "ctxd/sandbox.h"
#include "test.h"
#include "tool_test.h"

static char root[CTXD_PATH_MAX];
static char bank[CTXD_PATH_MAX + 16];
static struct ctxd_config cfg;
static struct ctxd_sandbox *sb;
static struct ctxd_mb *mb;
static struct ctxd_tool_ctx ctx;

static const struct ctxd_tool *tool(const char *name)
{
	return tt_tool(ctxd_memory_bank_tools, ctxd_memory_bank_tools_count, name);
}

/* Run `name` with `args` (borrowed), which must satisfy its inputSchema (as the engine
 * checks them before a handler runs). */
static json_t *call_args(const struct ctxd_tool_ctx *c, const char *name, json_t *args)
{
	const struct ctxd_tool *t = tool(name);
	json_error_t je;
	json_t *schema = json_loads(t->input_schema, 0, &je);
	ASSERT(schema);
	struct ctxd_error err;
	if (ctxd_schema_validate(schema, args, "arguments", &err) < 0) {
		fprintf(stderr, "%s: bad test arguments: %s\n", name, err.msg);
		abort();
	}
	json_decref(schema);
	return tt_run(t, c, args);
}

static json_t *callc(const struct ctxd_tool_ctx *c, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *callc(const struct ctxd_tool_ctx *c, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *args = tt_args(0, fmt, ap);
	va_end(ap);
	json_t *res = call_args(c, name, args);
	json_decref(args);
	return res;
}

#define call(...) callc(&ctx, __VA_ARGS__)

static json_t *sc(json_t *res)
{
	json_t *s = json_object_get(res, "structuredContent");
	ASSERT(json_is_object(s));
	return s;
}

static const char *sstr(json_t *res, const char *key)
{
	return json_string_value(json_object_get(sc(res), key));
}

static void expect_error(json_t *res, const char *part)
{
	if (!tt_is_error(res)) {
		fprintf(stderr, "expected an error containing '%s', got: %s\n", part, tt_text(res));
		abort();
	}
	ASSERT_CONTAINS(tt_text(res), part);
	json_decref(res);
}

static void expect_ok(json_t *res)
{
	if (tt_is_error(res)) {
		fprintf(stderr, "unexpected error: %s\n", tt_text(res));
		abort();
	}
	json_decref(res);
}

static char *slurp(const char *path, size_t *len)
{
	char *d = tree_slurp(NULL, path, len);
	ASSERT(d);
	return d;
}

static char *bank_file(const char *name)
{
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", bank, name);
	return slurp(p, NULL);
}

static void put(const char *path, const char *data)
{
	tree_put(NULL, path, data);
}

static void put_bank(const char *name, const char *data)
{
	tree_put(bank, name, data);
}

/* A second bank at its own path (memory_bank.path), in the same sandbox. */
struct other_bank {
	struct ctxd_config c;
	struct ctxd_mb *m;
	struct ctxd_tool_ctx cx;
};

static void other_bank_open(struct other_bank *o, const char *path)
{
	ctxd_config_init(&o->c);
	o->c.memory_bank_path = strdup(path);
	struct ctxd_error err;
	o->m = ctxd_mb_create(&o->c, sb, &err);
	ASSERT(o->m);
	o->cx = (struct ctxd_tool_ctx){.cfg = &o->c, .sandbox = sb, .ud = o->m};
}

static void other_bank_close(struct other_bank *o)
{
	ctxd_mb_destroy(o->m);
	ctxd_config_finish(&o->c);
}

/* ---- tools ------------------------------------------------------------------------- */

static void test_names(void)
{
	ASSERT(ctxd_mb_file_ok("activeContext.md"));
	ASSERT(ctxd_mb_file_ok("a-b_c.1.md"));
	ASSERT(!ctxd_mb_file_ok(".hidden.md"));
	ASSERT(!ctxd_mb_file_ok("../x.md"));
	ASSERT(!ctxd_mb_file_ok("a/b.md"));
	ASSERT(!ctxd_mb_file_ok("x.txt"));
	ASSERT(!ctxd_mb_file_ok(".md"));
	ASSERT(!ctxd_mb_file_ok("a b.md"));
	ASSERT(ctxd_mb_project_ok("web-app"));
	ASSERT(!ctxd_mb_project_ok(".."));
	ASSERT(!ctxd_mb_project_ok("a/b"));
	ASSERT(!ctxd_mb_project_ok(""));
}

static void test_init_list(void)
{
	/* nothing yet: tools other than init say how to create the bank */
	expect_error(call("memory_bank_list", "{}"), "memory_bank_init");
	json_t *r = call("memory_bank_init", "{}");
	ASSERT(!tt_is_error(r));
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "created")), 6);
	ASSERT_STR_EQ(sstr(r, "bank"), bank);
	ASSERT_STR_EQ(sstr(r, "project"), "default");
	json_decref(r);
	char *t = bank_file("activeContext.md");
	ASSERT_CONTAINS(t, "# Active Context\n");
	ASSERT_CONTAINS(t, "\n## Current Focus\n");
	ASSERT_CONTAINS(t, "\n## Next Steps\n");
	free(t);
	/* a second init keeps everything; overwrite replaces */
	put_bank("progress.md", "# Progress\n\nmine\n");
	r = call("memory_bank_init", "{}");
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "kept")), 6);
	json_decref(r);
	t = bank_file("progress.md");
	ASSERT_STR_EQ(t, "# Progress\n\nmine\n");
	free(t);
	r = call("memory_bank_init", "{\"overwrite\": true}");
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "overwritten")), 1);
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "kept")), 5);
	json_decref(r);
	t = bank_file("progress.md");
	ASSERT_CONTAINS(t, "## What Works");
	free(t);
	expect_error(call("memory_bank_init", "{\"project\": \"other\"}"), "single memory bank");

	put_bank("notes.md", "# Notes\n\n## One\n\nx\n");
	put_bank(".secret.md", "hidden\n");
	put_bank("data.txt", "not markdown\n");
	r = call("memory_bank_list", "{}");
	ASSERT(!tt_is_error(r));
	json_t *files = json_object_get(sc(r), "files");
	ASSERT_EQ(json_array_size(files), 7);
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "missingCore")), 0);
	json_t *notes = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(files, i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "file")), "notes.md") == 0) {
			notes = v;
		}
	}
	ASSERT(notes);
	json_t *h = json_object_get(notes, "headings");
	ASSERT_EQ(json_array_size(h), 2);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(h, 1), "text")), "One");
	ASSERT_EQ(json_integer_value(json_object_get(json_array_get(h, 1), "line")), 3);
	ASSERT_EQ(strlen(json_string_value(json_object_get(notes, "sha256"))), 64);
	json_decref(r);
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/techContext.md", bank);
	char q[2 * CTXD_PATH_MAX];
	snprintf(q, sizeof(q), "%s/techContext.keep", bank);
	ASSERT_EQ(rename(p, q), 0);
	r = call("memory_bank_list", "{}");
	ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(sc(r), "missingCore"), 0)),
		      "techContext.md");
	ASSERT_CONTAINS(tt_text(r), "missing core files: techContext.md");
	json_decref(r);
	ASSERT_EQ(rename(q, p), 0);
}

static void test_read(void)
{
	json_t *r = call("memory_bank_read", "{\"file\": \"notes.md\"}");
	ASSERT(!tt_is_error(r));
	json_t *f = json_array_get(json_object_get(sc(r), "files"), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(f, "content")), "# Notes\n\n## One\n\nx\n");
	char sha[65];
	ctxd_sha256_hex("# Notes\n\n## One\n\nx\n", 19, sha);
	ASSERT_STR_EQ(json_string_value(json_object_get(f, "sha256")), sha);
	ASSERT_EQ(json_integer_value(json_object_get(f, "totalLines")), 5);
	json_decref(r);

	r = call("memory_bank_read", "{\"file\": \"notes.md\", \"section\": \"One\"}");
	f = json_array_get(json_object_get(sc(r), "files"), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(f, "content")), "## One\n\nx\n");
	ASSERT_STR_EQ(json_string_value(json_object_get(f, "heading")), "One");
	ASSERT_EQ(json_integer_value(json_object_get(f, "fileLine")), 3);
	ASSERT_STR_EQ(json_string_value(json_object_get(f, "sha256")), sha);
	json_decref(r);
	/* "## One" and surrounding blanks are accepted too */
	expect_ok(call("memory_bank_read", "{\"file\": \"notes.md\", \"section\": \" ## One \"}"));

	r = call("memory_bank_read", "{\"file\": \"notes.md\", \"offset\": 3, \"limit\": 2}");
	f = json_array_get(json_object_get(sc(r), "files"), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(f, "content")), "## One\n\n");
	ASSERT_EQ(json_integer_value(json_object_get(f, "startLine")), 3);
	ASSERT_EQ(json_integer_value(json_object_get(f, "endLine")), 4);
	json_decref(r);

	r = call("memory_bank_read", "{\"core\": true}");
	json_t *files = json_object_get(sc(r), "files");
	ASSERT_EQ(json_array_size(files), 6);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(files, 0), "file")),
		      "projectbrief.md");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(files, 5), "file")),
		      "progress.md");
	ASSERT_CONTAINS(tt_text(r), "==> activeContext.md");
	json_decref(r);

	r = call("memory_bank_read", "{\"files\": [\"notes.md\", \"gone.md\"], \"section\": "
				     "\"One\"}");
	ASSERT(!tt_is_error(r));
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "files")), 1);
	ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(sc(r), "missing"), 0)),
		      "gone.md");
	json_decref(r);

	expect_error(call("memory_bank_read", "{}"), "exactly one of 'file', 'files' or 'core'");
	expect_error(call("memory_bank_read", "{\"file\": \"a.md\", \"core\": true}"),
		     "exactly one");
	expect_error(call("memory_bank_read", "{\"file\": \"gone.md\"}"), "does not exist");
	expect_error(call("memory_bank_read", "{\"file\": \"../etc.md\"}"), "argument 'file'");
	expect_error(call("memory_bank_read", "{\"files\": [\"ok.md\", \"/etc/passwd\"]}"),
		     "argument 'files'");
	expect_error(call("memory_bank_read", "{\"file\": \"notes.md\", \"section\": \"Two\"}"),
		     "its headings: 'Notes', 'One'");
	/* a symlink in the bank is not followed */
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/link.md", bank);
	ASSERT_EQ(symlink("/etc/hostname", p), 0);
	expect_error(call("memory_bank_read", "{\"file\": \"link.md\"}"),
		     "is a symbolic link; bank files must be regular files");
	unlink(p);
}

static char *sha_of_file(const char *name, char out[65])
{
	char *d = bank_file(name);
	ctxd_sha256_hex(d, strlen(d), out);
	free(d);
	return out;
}

static void test_write(void)
{
	json_t *r = call("memory_bank_write", "{\"file\": \"w.md\", \"content\": \"# W\\n\", "
					      "\"mode\": \"create\"}");
	ASSERT(!tt_is_error(r));
	ASSERT(json_is_true(json_object_get(sc(r), "created")));
	char sha[65];
	ctxd_sha256_hex("# W\n", 4, sha);
	ASSERT_STR_EQ(sstr(r, "sha256"), sha);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "version")), 1);
	json_decref(r);
	/* create on an existing file: isError with the current sha256 */
	r = call("memory_bank_write", "{\"file\": \"w.md\", \"content\": \"x\", \"mode\": "
				      "\"create\"}");
	ASSERT(tt_is_error(r));
	ASSERT_STR_EQ(sstr(r, "currentSha256"), sha);
	ASSERT_STR_EQ(sstr(r, "error"), "precondition_failed");
	json_decref(r);
	/* replace with a stale expectedSha256 */
	r = call("memory_bank_write",
		 "{\"file\": \"w.md\", \"content\": \"x\", \"mode\": "
		 "\"replace\", \"expectedSha256\": \"%064d\"}",
		 0);
	ASSERT(tt_is_error(r));
	ASSERT_CONTAINS(tt_text(r), "precondition failed");
	ASSERT_CONTAINS(tt_text(r), sha);
	ASSERT_STR_EQ(sstr(r, "currentSha256"), sha);
	json_decref(r);
	char *t = bank_file("w.md");
	ASSERT_STR_EQ(t, "# W\n");
	free(t);
	/* and with the right one */
	r = call("memory_bank_write",
		 "{\"file\": \"w.md\", \"content\": \"# W2\\n\", \"mode\": "
		 "\"replace\", \"expectedSha256\": \"%s\"}",
		 sha);
	ASSERT(!tt_is_error(r));
	ASSERT_STR_EQ(sstr(r, "previousSha256"), sha);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "version")), 2);
	json_decref(r);
	/* the same content again writes nothing */
	r = call("memory_bank_write", "{\"file\": \"w.md\", \"content\": \"# W2\\n\", \"mode\": "
				      "\"replace\"}");
	ASSERT(json_is_true(json_object_get(sc(r), "unchanged")));
	json_decref(r);
	/* expectedSha256 "" = must not exist */
	expect_ok(call("memory_bank_write", "{\"file\": \"new.md\", \"content\": \"n\", \"mode\": "
					    "\"replace\", \"expectedSha256\": \"\"}"));
	r = call("memory_bank_write", "{\"file\": \"new.md\", \"content\": \"n2\", \"mode\": "
				      "\"replace\", \"expectedSha256\": \"\"}");
	ASSERT(tt_is_error(r));
	json_decref(r);
	r = call("memory_bank_write",
		 "{\"file\": \"absent.md\", \"content\": \"n2\", \"mode\": "
		 "\"replace\", \"expectedSha256\": \"%s\"}",
		 sha);
	ASSERT(tt_is_error(r));
	ASSERT_STR_EQ(sstr(r, "currentSha256"), "");
	ASSERT_CONTAINS(tt_text(r), "does not exist");
	json_decref(r);
	expect_error(call("memory_bank_write", "{\"file\": \"../../x.md\", \"content\": \"n\", "
					       "\"mode\": \"create\"}"),
		     "argument 'file'");
	expect_error(call("memory_bank_write", "{\"file\": \"x.sh\", \"content\": \"n\", "
					       "\"mode\": \"create\"}"),
		     "argument 'file'");
	/* the lock lives in .history/, next to a .gitignore that keeps both out of git */
	struct stat st;
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/.history/.lock", bank);
	ASSERT_EQ(stat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/.lock", bank);
	ASSERT(stat(p, &st) < 0 && errno == ENOENT);
	char *gi = bank_file(".history/.gitignore");
	ASSERT_CONTAINS(gi, "\n*\n");
	free(gi);
}

static void test_write_section(void)
{
	put_bank("s.md", "# S\n\n## Current Focus\n\n- one\n\n## Next Steps\n\n- later\n");
	char sha[65];
	sha_of_file("s.md", sha);
	json_t *r = call("memory_bank_write",
			 "{\"file\": \"s.md\", \"section\": \"Current Focus\", \"content\": "
			 "\"- two\", \"mode\": \"append\", \"expectedSha256\": \"%s\"}",
			 sha);
	ASSERT(!tt_is_error(r));
	ASSERT(json_is_false(json_object_get(sc(r), "sectionCreated")));
	json_decref(r);
	char *t = bank_file("s.md");
	ASSERT_STR_EQ(t, "# S\n\n## Current Focus\n\n- one\n- two\n\n## Next Steps\n\n- later\n");
	free(t);
	expect_ok(call("memory_bank_write",
		       "{\"file\": \"s.md\", \"section\": \"Current Focus\", \"content\": "
		       "\"- zero\\n\", \"mode\": \"prepend\"}"));
	t = bank_file("s.md");
	ASSERT_STR_EQ(t, "# S\n\n## Current Focus\n\n- zero\n\n- one\n- two\n\n## Next Steps\n\n"
			 "- later\n");
	free(t);
	expect_ok(call("memory_bank_write",
		       "{\"file\": \"s.md\", \"section\": \"Next Steps\", \"content\": "
		       "\"\\n\\n- ship it\\n\\n\", \"mode\": \"replace\"}"));
	t = bank_file("s.md");
	ASSERT_STR_EQ(t, "# S\n\n## Current Focus\n\n- zero\n\n- one\n- two\n\n## Next Steps\n\n"
			 "- ship it\n");
	free(t);
	/* replace keeps one blank line before the next heading */
	expect_ok(call("memory_bank_write",
		       "{\"file\": \"s.md\", \"section\": \"Current Focus\", \"content\": "
		       "\"only\", \"mode\": \"replace\"}"));
	t = bank_file("s.md");
	ASSERT_STR_EQ(t, "# S\n\n## Current Focus\n\nonly\n\n## Next Steps\n\n- ship it\n");
	free(t);
	/* append to a missing section creates it at the end */
	r = call(
	    "memory_bank_write",
	    "{\"file\": \"s.md\", \"section\": \"Decisions\", \"content\": \"- d1\", \"mode\": "
	    "\"append\"}");
	ASSERT(json_is_true(json_object_get(sc(r), "sectionCreated")));
	json_decref(r);
	t = bank_file("s.md");
	ASSERT_STR_EQ(t, "# S\n\n## Current Focus\n\nonly\n\n## Next Steps\n\n- ship it\n\n"
			 "## Decisions\n\n- d1\n");
	free(t);
	expect_error(call("memory_bank_write",
			  "{\"file\": \"s.md\", \"section\": \"Nope\", \"content\": \"x\", "
			  "\"mode\": \"replace\"}"),
		     "no section 'Nope'");
	expect_error(call("memory_bank_write",
			  "{\"file\": \"missing.md\", \"section\": \"A\", \"content\": \"x\", "
			  "\"mode\": \"append\"}"),
		     "does not exist");
	expect_error(call("memory_bank_write",
			  "{\"file\": \"s.md\", \"section\": \"  \", \"content\": \"x\", "
			  "\"mode\": \"append\"}"),
		     "argument 'section'");
	expect_error(call("memory_bank_write",
			  "{\"file\": \"s.md\", \"section\": \"Decisions\", \"content\": \"\\n\", "
			  "\"mode\": \"append\"}"),
		     "argument 'content' is empty");
	r = call("memory_bank_write",
		 "{\"file\": \"s.md\", \"section\": \"Decisions\", \"content\": \"x\", \"mode\": "
		 "\"append\", \"expectedSha256\": \"%s\"}",
		 sha);
	ASSERT(tt_is_error(r));
	ASSERT_STR_EQ(sstr(r, "currentSha256"), sha_of_file("s.md", sha));
	json_decref(r);

	/* CRLF files stay CRLF; a heading inside a code fence is not a section */
	put_bank("crlf.md", "# C\r\n\r\n```\r\n## Log\r\n```\r\n\r\n## Log\r\n\r\n- a\r\n");
	expect_ok(call("memory_bank_write",
		       "{\"file\": \"crlf.md\", \"section\": \"Log\", \"content\": \"- b\\n- c\", "
		       "\"mode\": \"append\"}"));
	t = bank_file("crlf.md");
	ASSERT_STR_EQ(t, "# C\r\n\r\n```\r\n## Log\r\n```\r\n\r\n## Log\r\n\r\n- a\r\n- b\r\n"
			 "- c\r\n");
	free(t);
	/* a heading on the last line without a newline; an empty section */
	put_bank("tail.md", "# T\n\n## Empty\n\n## End");
	expect_ok(call("memory_bank_write",
		       "{\"file\": \"tail.md\", \"section\": \"End\", \"content\": \"x\", "
		       "\"mode\": \"append\"}"));
	expect_ok(call("memory_bank_write",
		       "{\"file\": \"tail.md\", \"section\": \"Empty\", \"content\": \"y\", "
		       "\"mode\": \"prepend\"}"));
	t = bank_file("tail.md");
	ASSERT_STR_EQ(t, "# T\n\n## Empty\n\ny\n\n## End\n\nx\n");
	free(t);
	/* setext headings are sections too */
	put_bank("setext.md", "Title\n=====\n\nStatus\n------\n\nold\n");
	expect_ok(call("memory_bank_write",
		       "{\"file\": \"setext.md\", \"section\": \"Status\", \"content\": \"new\", "
		       "\"mode\": \"replace\"}"));
	t = bank_file("setext.md");
	ASSERT_STR_EQ(t, "Title\n=====\n\nStatus\n------\n\nnew\n");
	free(t);
}

/* prepend keeps one blank line between the new text and the old, so two paragraphs do not
 * run together into one */
static void test_prepend_blank_line(void)
{
	put_bank("pre.md", "# P\n\n## Notes\n\nOld paragraph.\n\n## End\n\nx\n");
	expect_ok(call("memory_bank_write",
		       "{\"file\": \"pre.md\", \"section\": \"Notes\", \"content\": "
		       "\"New paragraph.\\n\\n\\n\", \"mode\": \"prepend\"}"));
	char *t = bank_file("pre.md");
	ASSERT_STR_EQ(t, "# P\n\n## Notes\n\nNew paragraph.\n\nOld paragraph.\n\n## End\n\nx\n");
	free(t);
	/* text right under the heading, no blank line: the new text goes there, then a blank */
	put_bank("pre.md", "## Notes\nOld directly.\n");
	expect_ok(call("memory_bank_write",
		       "{\"file\": \"pre.md\", \"section\": \"Notes\", \"content\": "
		       "\"New\", \"mode\": \"prepend\"}"));
	t = bank_file("pre.md");
	ASSERT_STR_EQ(t, "## Notes\nNew\n\nOld directly.\n");
	free(t);
	put_bank("pre.md", "## N\r\n\r\nold\r\n");
	expect_ok(call("memory_bank_write",
		       "{\"file\": \"pre.md\", \"section\": \"N\", \"content\": \"new\", "
		       "\"mode\": \"prepend\"}"));
	t = bank_file("pre.md");
	ASSERT_STR_EQ(t, "## N\r\n\r\nnew\r\n\r\nold\r\n");
	free(t);
}

/* Call `tool_name` with `args` (stolen) after setting `key` to the `n` bytes at `v` (may
 * hold NUL bytes, which the JSON text callc parses cannot carry); expect an isError
 * containing `part`. */
static void expect_refused(const char *tool_name, json_t *args, const char *key, const char *v,
			   size_t n, const char *part)
{
	json_t *sv = json_stringn(v, n);
	ASSERT(sv);
	if (strcmp(key, "files") == 0) {
		json_object_set_new(args, key, json_pack("[s, o]", "notes.md", sv));
	} else {
		json_object_set_new(args, key, sv);
	}
	expect_error(call_args(&ctx, tool_name, args), part);
	json_decref(args);
}

/* "nul.md\u0000.txt" used to act on "nul.md" (json_string_value stops at the NUL): every
 * bank tool refuses a NUL or control character in a name, as the file tools do. */
static void test_nul_names(void)
{
	static const char nul[] = "nul.md\0.txt";
	size_t nl = sizeof(nul) - 1;
	expect_refused("memory_bank_write",
		       json_pack("{s:s, s:s}", "content", "x", "mode", "replace"), "file", nul, nl,
		       "argument 'file' contains a NUL byte (0x00 at byte 6)");
	expect_refused("memory_bank_write",
		       json_pack("{s:s, s:s}", "content", "x", "mode", "replace"), "file",
		       "ctl\x01.md", 7, "argument 'file' contains a control character");
	expect_refused(
	    "memory_bank_write",
	    json_pack("{s:s, s:s, s:s}", "section", "H", "content", "x", "mode", "append"), "file",
	    nul, nl, "NUL byte");
	expect_refused(
	    "memory_bank_write",
	    json_pack("{s:s, s:s, s:s}", "file", "notes.md", "content", "x", "mode", "append"),
	    "section", "One\0Two", 7, "argument 'section' contains a NUL byte");
	expect_refused("memory_bank_read", json_object(), "file", nul, nl, "NUL byte");
	expect_refused("memory_bank_read", json_object(), "files", nul, nl,
		       "argument 'files' item 1 contains a NUL byte");
	expect_refused("memory_bank_read", json_pack("{s:s}", "file", "notes.md"), "section",
		       "One\0x", 5, "argument 'section' contains a NUL byte");
	expect_refused("memory_bank_history", json_object(), "file", nul, nl, "NUL byte");
	expect_refused("memory_bank_write", json_pack("{s:i}", "fromVersion", 1), "file", nul, nl,
		       "NUL byte");
	expect_refused("memory_bank_search", json_object(), "query", "a\0b", 3,
		       "argument 'query' contains a NUL byte");
	static const char proj[] = "default\0x";
	const char *const per_project[] = {"memory_bank_list", "memory_bank_validate",
					   "memory_bank_init"};
	for (size_t i = 0; i < 3; i++) {
		expect_refused(per_project[i], json_object(), "project", proj, sizeof(proj) - 1,
			       "argument 'project' contains a NUL byte");
	}
	/* nothing was written under the cut name */
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/nul.md", bank);
	struct stat st;
	ASSERT(stat(p, &st) < 0 && errno == ENOENT);
	/* a tab in a heading is text, not a control character to refuse */
	json_t *r = call("memory_bank_read", "{\"file\": \"notes.md\", \"section\": \"a\\tb\"}");
	ASSERT(tt_is_error(r));
	ASSERT_CONTAINS(tt_text(r), "has no section");
	json_decref(r);
}

struct app {
	int id;
	int n;
};

static void *appender(void *p)
{
	struct app *a = p;
	for (int i = 0; i < a->n; i++) {
		json_t *r = call("memory_bank_write",
				 "{\"file\": \"t.md\", \"section\": \"Log\", \"content\": "
				 "\"- t%d line %04d\", \"mode\": \"append\"}",
				 a->id, i);
		ASSERT(!tt_is_error(r));
		json_decref(r);
	}
	return NULL;
}

static void test_threads_append(void)
{
	put_bank("t.md", "# T\n\n## Log\n\n## After\n\nend\n");
	pthread_t th[4];
	struct app a[4];
	for (int i = 0; i < 4; i++) {
		a[i] = (struct app){i, 100};
		ASSERT_EQ(pthread_create(&th[i], NULL, appender, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
	}
	char *t = bank_file("t.md");
	for (int i = 0; i < 4; i++) {
		for (int k = 0; k < 100; k++) {
			char line[64];
			snprintf(line, sizeof(line), "\n- t%d line %04d\n", i, k);
			ASSERT_CONTAINS(t, line);
			ASSERT(strstr(strstr(t, line) + 1, line) == NULL);
		}
	}
	ASSERT_CONTAINS(t, "line 0099\n\n## After\n\nend\n");
	free(t);
}

static void test_history_restore(void)
{
	expect_ok(call("memory_bank_write", "{\"file\": \"h.md\", \"content\": \"a\\nb\\n\", "
					    "\"mode\": \"create\"}"));
	expect_ok(call("memory_bank_write", "{\"file\": \"h.md\", \"content\": \"a\\nc\\nd\\n\", "
					    "\"mode\": \"replace\"}"));
	/* an edit made outside ctxd is recorded before the next write */
	put_bank("h.md", "external\n");
	expect_ok(call("memory_bank_write", "{\"file\": \"h.md\", \"content\": \"final\\n\", "
					    "\"mode\": \"replace\"}"));
	json_t *r = call("memory_bank_history", "{\"file\": \"h.md\"}");
	json_t *vs = json_object_get(sc(r), "versions");
	ASSERT_EQ(json_array_size(vs), 4);
	json_t *v2 = json_array_get(vs, 1);
	ASSERT_EQ(json_integer_value(json_object_get(v2, "version")), 2);
	ASSERT_EQ(json_integer_value(json_object_get(v2, "added")), 2);
	ASSERT_EQ(json_integer_value(json_object_get(v2, "removed")), 1);
	ASSERT_EQ(json_integer_value(json_object_get(json_array_get(vs, 0), "added")), 2);
	ASSERT_EQ(strlen(json_string_value(json_object_get(v2, "time"))), 20);
	json_decref(r);
	r = call("memory_bank_write", "{\"file\": \"h.md\", \"fromVersion\": 2}");
	ASSERT(!tt_is_error(r));
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "version")), 5);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "restoredVersion")), 2);
	json_decref(r);
	char *t = bank_file("h.md");
	ASSERT_STR_EQ(t, "a\nc\nd\n");
	free(t);
	expect_error(call("memory_bank_write", "{\"file\": \"h.md\", \"fromVersion\": 99}"),
		     "no version 99");
	expect_error(call("memory_bank_write", "{\"file\": \"../h.md\", \"fromVersion\": 1}"),
		     "argument 'file'");
	r = call("memory_bank_history", "{\"file\": \"never.md\"}");
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "versions")), 0);
	json_decref(r);
	/* only the last N (cfg.memory_bank_history = 20) are kept; numbers are not reused */
	for (int i = 0; i < 25; i++) {
		json_decref(call("memory_bank_write",
				 "{\"file\": \"h.md\", \"content\": \"v%d\\n\", "
				 "\"mode\": \"replace\"}",
				 i));
	}
	r = call("memory_bank_history", "{\"file\": \"h.md\"}");
	vs = json_object_get(sc(r), "versions");
	ASSERT_EQ(json_array_size(vs), 20);
	ASSERT_EQ(json_integer_value(json_object_get(json_array_get(vs, 0), "version")), 11);
	ASSERT_EQ(json_integer_value(json_object_get(json_array_get(vs, 19), "version")), 30);
	json_decref(r);
	expect_error(call("memory_bank_write", "{\"file\": \"h.md\", \"fromVersion\": 3}"),
		     "no version 3");
}

static void test_search(void)
{
	put_bank("search1.md", "# Search One\n\n## Deployment\n\nWe deploy with the blue green "
			       "strategy on Fridays.\nRollback takes five minutes.\n\n"
			       "## Testing\n\nUnit tests run on every push; green builds only.\n");
	put_bank("search2.md", "Intro text about green tea and blue skies.\n\n## Blue Green\n\n"
			       "Blue green deployment keeps two environments.\n");
	json_t *r = call("memory_bank_search", "{\"query\": \"blue green deployment\"}");
	ASSERT(!tt_is_error(r));
	json_t *res = json_object_get(sc(r), "results");
	ASSERT(json_array_size(res) >= 2);
	json_t *top = json_array_get(res, 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(top, "file")), "search2.md");
	ASSERT_STR_EQ(json_string_value(json_object_get(top, "heading")), "Blue Green");
	ASSERT_EQ(json_integer_value(json_object_get(top, "line")), 5);
	ASSERT_STR_EQ(json_string_value(json_object_get(top, "snippet")),
		      "«Blue» «green» «deployment» keeps two environments.");
	json_decref(r);
	/* case-insensitive; preamble before the first heading has heading "" */
	r = call("memory_bank_search", "{\"query\": \"TEA\", \"limit\": 1}");
	res = json_object_get(sc(r), "results");
	ASSERT_EQ(json_array_size(res), 1);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(res, 0), "heading")), "");
	ASSERT_CONTAINS(json_string_value(json_object_get(json_array_get(res, 0), "snippet")),
			"green «tea» and");
	json_decref(r);
	/* nothing found is a success with zero results */
	r = call("memory_bank_search", "{\"query\": \"zyzzyva\"}");
	ASSERT(!tt_is_error(r));
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "results")), 0);
	json_decref(r);
	/* the index follows changes: new words, removed files */
	put_bank("search3.md", "## Fresh\n\nzyzzyva appears now\n");
	r = call("memory_bank_search", "{\"query\": \"zyzzyva\"}");
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "results")), 1);
	json_decref(r);
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/search3.md", bank);
	unlink(p);
	r = call("memory_bank_search", "{\"query\": \"zyzzyva\"}");
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "results")), 0);
	json_decref(r);
	/* a phrase match outranks scattered words */
	put_bank("search4.md", "## P\n\nrollback five minutes\n");
	r = call("memory_bank_search", "{\"query\": \"five minutes\"}");
	res = json_object_get(sc(r), "results");
	ASSERT(json_array_size(res) >= 2);
	json_decref(r);
}

/* Search for `query`; the number of results goes to *n, and the best one's `key` is checked
 * against `want` (when there is a result and `want` is not NULL). */
static void search_top(const char *query, const char *key, const char *want, size_t *n)
{
	json_t *args = json_pack("{s:s}", "query", query);
	json_t *r = call_args(&ctx, "memory_bank_search", args);
	json_decref(args);
	json_t *res = json_object_get(sc(r), "results");
	*n = json_array_size(res);
	if (*n && want) {
		ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(res, 0), key)),
			      want);
	}
	json_decref(r);
}

/* Stop words do not rank: "which chains are supported" used to put first a short section
 * that matched only "are". Accents and case fold: "tong quan" finds "Tổng quan", whether the
 * file holds it composed (NFC) or decomposed (NFD). */
static void test_search_words(void)
{
	put_bank("sw1.md", "# Chains\n\n## Supported Chains\n\nThe router trades on Ethereum, Base "
			   "and Polygon; more chains are planned. Supported wallets follow the "
			   "chains we list here, and every chain has its own gas settings.\n\n"
			   "## Why\n\nChains differ in fees and supported tokens.\n");
	put_bank("sw2.md", "## Notes\n\nThese are short.\n");
	json_t *r = call("memory_bank_search", "{\"query\": \"which chains are supported\"}");
	json_t *res = json_object_get(sc(r), "results");
	ASSERT(json_array_size(res) >= 1);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(res, 0), "heading")),
		      "Supported Chains");
	size_t i, n;
	json_t *v;
	json_array_foreach(res, i, v)
	{
		/* a section holding only the query's stop words is no match at all */
		ASSERT(strcmp(json_string_value(json_object_get(v, "file")), "sw2.md") != 0);
	}
	json_decref(r);
	/* a query of nothing but stop words still finds them */
	search_top("these are", "file", "sw2.md", &n);
	ASSERT(n >= 1);
	/* stop words around a word the bank does not hold find nothing */
	search_top("what is a zyzzyva", "file", NULL, &n);
	ASSERT_EQ(n, 0);

	put_bank("sw3.md", "## 🎯 Tổng Quan Dự Án\n\nNền tảng giao dịch.\n\n"
			   "## Straße\n\nDie Hauptstraße.\n");
	/* "Tổng" written decomposed: o + U+0302 (circumflex) + U+0309 (hook above) */
	put_bank("sw4.md", "## To\xcc\x82\xcc\x89ng ke\xcc\x82\xcc\x81t\n\nCuối tuần.\n");
	search_top("tong quan", "snippet", "## 🎯 «Tổng» «Quan» Dự Án", &n);
	ASSERT(n >= 1);
	search_top("TỔNG KẾT", "file", "sw4.md", &n);
	ASSERT(n >= 1);
	search_top("STRASSE", "heading", "Straße", &n);
	ASSERT_EQ(n, 1);
	/* an emoji or a dash is no part of a word: "Dự" is found next to them */
	search_top("du an", "file", "sw3.md", &n);
	ASSERT_EQ(n, 1);
}

/* ---- validation corpus ------------------------------------------------------------- */

/* Run validate on the bank in `dir` (a read-only root) and compare with dir/expected:
 * one "severity code file line" per line, order-insensitive. The bank is dir/memory-bank or
 * dir/.cursor/memory-bank when the case has one (links from it may name files of the
 * root), else dir itself. */
static void validate_case(const char *dir)
{
	struct ctxd_config c;
	ctxd_config_init(&c);
	char bank_dir[3 * CTXD_PATH_MAX];
	struct stat st;
	snprintf(bank_dir, sizeof(bank_dir), "%s/memory-bank", dir);
	if (stat(bank_dir, &st) < 0) {
		snprintf(bank_dir, sizeof(bank_dir), "%s/.cursor/memory-bank", dir);
	}
	c.memory_bank_path = strdup(stat(bank_dir, &st) == 0 ? bank_dir : dir);
	c.memory_bank_token_budget = 200;
	struct ctxd_sandbox *s = ctxd_sandbox_create();
	struct ctxd_error err;
	ASSERT_EQ(ctxd_sandbox_add_root(s, dir, true, &err), 0);
	ctxd_sandbox_seal(s);
	struct ctxd_mb *m = ctxd_mb_create(&c, s, &err);
	struct ctxd_tool_ctx cx = {.cfg = &c, .sandbox = s, .ud = m};
	json_t *r = callc(&cx, "memory_bank_validate", "{}");
	ASSERT(!tt_is_error(r));
	char path[3 * CTXD_PATH_MAX];
	snprintf(path, sizeof(path), "%s/expected", dir);
	char *want = slurp(path, NULL);
	json_t *f = json_object_get(sc(r), "findings");
	size_t i, nwant = 0;
	json_t *v;
	json_array_foreach(f, i, v)
	{
		char line[512];
		snprintf(line, sizeof(line), "%s %s %s %lld",
			 json_string_value(json_object_get(v, "severity")),
			 json_string_value(json_object_get(v, "code")),
			 json_string_value(json_object_get(v, "file")),
			 (long long)json_integer_value(json_object_get(v, "line")));
		ASSERT(json_string_value(json_object_get(v, "hint"))[0]);
		char *hit = strstr(want, line);
		if (!hit || (hit > want && hit[-1] != '\n') || hit[strlen(line)] != '\n') {
			fprintf(stderr, "%s: unexpected finding: %s\n%s\n", dir, line, tt_text(r));
			abort();
		}
	}
	for (char *p = want; *p; p++) {
		nwant += *p == '\n';
	}
	if (nwant != json_array_size(f)) {
		fprintf(stderr, "%s: want %zu findings, got:\n%s\n", dir, nwant, tt_text(r));
		abort();
	}
	ASSERT_EQ(json_is_true(json_object_get(sc(r), "ok")), strstr(want, "error ") == NULL);
	free(want);
	json_decref(r);
	/* a read-only bank refuses writes with a clear message */
	expect_error(callc(&cx, "memory_bank_write",
			   "{\"file\": \"x.md\", \"content\": \"x\", \"mode\": \"create\"}"),
		     "read-only root");
	ctxd_mb_destroy(m);
	ctxd_sandbox_destroy(s);
	ctxd_config_finish(&c);
}

static void test_validate_corpus(void)
{
	const char *src = getenv("CTXD_SOURCE_ROOT");
	char dir[CTXD_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/tests/memory_bank", src ? src : ".");
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "no corpus at %s (set CTXD_SOURCE_ROOT)\n", dir);
		abort();
	}
	struct dirent *de;
	int cases = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.') {
			continue;
		}
		char c[2 * CTXD_PATH_MAX];
		snprintf(c, sizeof(c), "%s/%s", dir, de->d_name);
		fprintf(stderr, "   case %s\n", de->d_name);
		validate_case(c);
		cases++;
	}
	closedir(d);
	ASSERT(cases >= 8);
}

/* The codes of `r`'s findings for `file`, in order and joined by spaces, must be `want`. */
static void expect_codes(json_t *r, const char *file, const char *want)
{
	char buf[1024] = "";
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(sc(r), "findings"), i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "file")), file) == 0) {
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
				 buf[0] ? " " : "", json_string_value(json_object_get(v, "code")));
		}
	}
	ASSERT_STR_EQ(buf, want);
}

/* memory_bank.sections replaces a file's expected sections (and gives other files some);
 * memory_bank.section_variants adds headings that count, so a bank in another language
 * validates clean. */
static void test_validate_config(void)
{
	char vb[CTXD_PATH_MAX + 32];
	snprintf(vb, sizeof(vb), "%s/cfgbank", root);
	ASSERT_EQ(mkdir(vb, 0755), 0);
	const char *const core[] = {"projectbrief.md", "productContext.md", "systemPatterns.md",
				    "techContext.md"};
	for (size_t i = 0; i < 4; i++) {
		tree_put(vb, core[i], ctxd_mb_template(core[i]));
	}
	tree_put(vb, "activeContext.md",
		 "# Aktiver Kontext\n\n## 1. Aktueller Fokus\n\nx\n\n"
		 "## Nächste Schritte\n\ny\n");
	tree_put(vb, "progress.md", "# Progress\n\nfree text, no sections\n");
	tree_put(vb, "decisions.md", "# Decisions\n\n## Log\n\nz\n");
	struct other_bank ob;
	other_bank_open(&ob, vb);
	json_t *r = callc(&ob.cx, "memory_bank_validate", "{}");
	expect_codes(r, "activeContext.md", "unrecognised_sections");
	expect_codes(r, "progress.md",
		     "missing_section missing_section missing_section "
		     "missing_section");
	expect_codes(r, "decisions.md", "");
	json_decref(r);

	static const char yaml[] = "memory_bank:\n"
				   "  sections:\n"
				   "    activeContext.md: [Current Focus, Next Steps]\n"
				   "    progress.md: []\n"
				   "    decisions.md: [Decision Log]\n"
				   "  section_variants:\n"
				   "    Current Focus: [Aktueller Fokus]\n"
				   "    Next Steps: [nächste schritte]\n";
	struct ctxd_error err;
	ASSERT_EQ(ctxd_config_load_buffer(&ob.c, yaml, strlen(yaml), NULL, &err), 0);
	r = callc(&ob.cx, "memory_bank_validate", "{}");
	expect_codes(r, "activeContext.md", "");
	expect_codes(r, "progress.md", "");
	expect_codes(r, "decisions.md", "missing_section");
	ASSERT_CONTAINS(tt_text(r),
			"decisions.md:0: warning: required section '## Decision Log' is "
			"missing");
	json_decref(r);
	tree_put(vb, "decisions.md", "# Decisions\n\n## Decision Log (2024)\n\nz\n");
	r = callc(&ob.cx, "memory_bank_validate", "{}");
	expect_codes(r, "decisions.md", "");
	json_decref(r);
	other_bank_close(&ob);
}

static void test_validate_stale(void)
{
	/* the working bank: make activeContext.md 10 days older than the newest file */
	struct timespec ts[2];
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= 10 * 86400;
	ts[1] = ts[0];
	char p[2 * CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s/activeContext.md", bank);
	ASSERT_EQ(utimensat(AT_FDCWD, p, ts, 0), 0);
	json_t *r = call("memory_bank_validate", "{}");
	ASSERT_CONTAINS(tt_text(r), "activeContext.md:0: warning: last changed 10 days before");
	ASSERT(!strstr(tt_text(r), "progress.md:0: warning: last changed"));
	json_decref(r);
}

/* ---- resources, multi-project ------------------------------------------------------ */

static void test_resources(void)
{
	struct ctxd_resource_provider prov;
	ctxd_memory_bank_provider_init(mb, &prov);
	const struct ctxd_resource_provider *p = &prov;
	ASSERT_STR_EQ(p->scheme, "memory-bank");
	struct ctxd_provider_ctx pc = {.cfg = &cfg, .sandbox = sb};
	struct ctxd_error err;
	json_t *out = json_array();
	ASSERT_EQ(p->list(p->ud, &pc, out, &err), 0);
	size_t i;
	json_t *v;
	bool found = false;
	json_array_foreach(out, i, v)
	{
		found = found || strcmp(json_string_value(json_object_get(v, "uri")),
					"memory-bank://default/activeContext.md") == 0;
	}
	ASSERT(found);
	json_decref(out);
	json_t *c = p->read(p->ud, &pc, "memory-bank://default/notes.md", &err);
	ASSERT(c);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(c, 0), "text")),
		      "# Notes\n\n## One\n\nx\n");
	json_decref(c);
	ASSERT(!p->read(p->ud, &pc, "memory-bank://default/none.md", &err));
	ASSERT_EQ(err.kind, CTXD_ERR_NOT_FOUND);
	ASSERT(!p->read(p->ud, &pc, "memory-bank://default/../x.md", &err));
	ASSERT(!p->read(p->ud, &pc, "memory-bank://other/notes.md", &err));
	char buf[CTXD_PATH_MAX];
	ASSERT_EQ(p->watch_path(p->ud, &pc, "memory-bank://default/notes.md", buf, sizeof(buf)), 0);
	char want[2 * CTXD_PATH_MAX];
	snprintf(want, sizeof(want), "%s/notes.md", bank);
	ASSERT_STR_EQ(buf, want);
	ASSERT_EQ(p->watch_path(p->ud, &pc, "memory-bank://default/zz.md", buf, sizeof(buf)), -1);
	out = json_array();
	ASSERT_EQ(p->templates(p->ud, out), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(out, 0), "uriTemplate")),
		      "memory-bank://{project}/{file}");
	json_decref(out);
	out = json_array();
	size_t total;
	ASSERT_EQ(p->complete(p->ud, &pc, "memory-bank://{project}/{file}", "file", "pro", NULL,
			      out, &total, &err),
		  0);
	ASSERT_EQ(total, 3); /* productContext, progress, projectbrief */
	json_decref(out);
	out = json_array();
	ASSERT_EQ(p->complete(p->ud, &pc, "memory-bank://{project}/{file}", "project", "", NULL,
			      out, &total, &err),
		  0);
	ASSERT_EQ(total, 1);
	json_decref(out);
}

static void test_multi_project(void)
{
	struct ctxd_config c;
	ctxd_config_init(&c);
	c.memory_bank_multi_project = true;
	char p[CTXD_PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/banks", root);
	c.memory_bank_path = strdup(p);
	struct ctxd_error err;
	struct ctxd_mb *m = ctxd_mb_create(&c, sb, &err);
	struct ctxd_tool_ctx cx = {.cfg = &c, .sandbox = sb, .ud = m};
	expect_error(callc(&cx, "memory_bank_init", "{}"), "argument 'project' is required");
	expect_error(callc(&cx, "memory_bank_init", "{\"project\": \"../up\"}"),
		     "not a valid project name");
	expect_ok(callc(&cx, "memory_bank_init", "{\"project\": \"web\"}"));
	expect_ok(callc(&cx, "memory_bank_init", "{\"project\": \"api\"}"));
	json_t *r = callc(&cx, "memory_bank_list", "{\"project\": \"web\"}");
	ASSERT_STR_EQ(sstr(r, "project"), "web");
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "files")), 6);
	json_decref(r);
	expect_error(callc(&cx, "memory_bank_list", "{\"project\": \"nope\"}"),
		     "no memory bank for project nope");
	struct ctxd_resource_provider prov;
	ctxd_memory_bank_provider_init(m, &prov);
	const struct ctxd_resource_provider *rp = &prov;
	struct ctxd_provider_ctx pc = {.cfg = &c, .sandbox = sb};
	json_t *out = json_array();
	ASSERT_EQ(rp->list(rp->ud, &pc, out, &err), 0);
	ASSERT_EQ(json_array_size(out), 12);
	json_decref(out);
	json_t *rd = rp->read(rp->ud, &pc, "memory-bank://api/progress.md", &err);
	ASSERT(rd);
	json_decref(rd);
	ctxd_mb_destroy(m);
	ctxd_config_finish(&c);
}

/* ---- git status ---------------------------------------------------------------------- */

/* Run a shell command; returns its whole stdout (malloc'd) and asserts exit status 0. */
static char *run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *run(const char *fmt, ...)
{
	char cmd[4 * CTXD_PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *f = popen(cmd, "r");
	ASSERT(f);
	char *out = NULL;
	size_t len = 0;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		out = realloc(out, len + n + 1);
		ASSERT(out);
		memcpy(out + len, buf, n);
		len += n;
	}
	int st = pclose(f);
	if (st != 0) {
		fprintf(stderr, "command failed (%d): %s\n", st, cmd);
		abort();
	}
	if (!out) {
		out = strdup("");
	}
	out[len] = '\0';
	return out;
}

/* A repository that commits its bank: after writes, `git status --porcelain` shows the
 * changed bank file and nothing else (the lock and the history used to be listed as
 * untracked). A bank written by an older ctxd (lock at <bank>/.lock) keeps working: the old
 * lock is removed, its history is still read. */
static void test_git_status(void)
{
	if (system("git --version >/dev/null 2>&1") != 0) {
		fprintf(stderr, "   no git: skipped\n");
		return;
	}
	char proj[CTXD_PATH_MAX + 16], mbp[CTXD_PATH_MAX + 32];
	snprintf(proj, sizeof(proj), "%s/gitproj", root);
	snprintf(mbp, sizeof(mbp), "%s/memory-bank", proj);
	ASSERT_EQ(mkdir(proj, 0755), 0);
	ASSERT_EQ(mkdir(mbp, 0755), 0);
	char p[2 * CTXD_PATH_MAX];
	static const char ac[] = "# Active Context\n\n## Current Focus\n\n- a\n";
	tree_put(mbp, "activeContext.md", ac);
	/* the old layout: a lock file in the bank, a history version already kept */
	tree_put(mbp, ".lock", "");
	snprintf(p, sizeof(p), "%s/.history", mbp);
	ASSERT_EQ(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/.history/activeContext.md", mbp);
	ASSERT_EQ(mkdir(p, 0755), 0);
	tree_put(mbp, ".history/activeContext.md/1.md", ac);
	free(run("cd '%s' && git init -q . && git add memory-bank/activeContext.md && "
		 "git -c user.name=t -c user.email=t@example.com commit -qm bank",
		 proj));
	char *st = run("cd '%s' && git status --porcelain --untracked-files=all", proj);
	ASSERT_CONTAINS(st, "?? memory-bank/"); /* the old layout is noisy */
	free(st);

	struct other_bank ob;
	other_bank_open(&ob, mbp);
	const struct ctxd_tool_ctx *cx = &ob.cx;
	expect_ok(callc(cx, "memory_bank_write",
			"{\"file\": \"activeContext.md\", \"section\": \"Current Focus\", "
			"\"content\": \"- b\", \"mode\": \"append\"}"));
	expect_ok(callc(cx, "memory_bank_write",
			"{\"file\": \"notes.md\", \"content\": \"n\\n\", \"mode\": \"create\"}"));
	st = run("cd '%s' && git status --porcelain --untracked-files=all", proj);
	ASSERT_STR_EQ(st, " M memory-bank/activeContext.md\n?? memory-bank/notes.md\n");
	free(st);
	snprintf(p, sizeof(p), "%s/.lock", mbp);
	struct stat sst;
	ASSERT(stat(p, &sst) < 0 && errno == ENOENT);
	/* the version kept by the old layout is still there, the new ones follow it */
	json_t *r = callc(cx, "memory_bank_history", "{\"file\": \"activeContext.md\"}");
	json_t *vs = json_object_get(sc(r), "versions");
	ASSERT_EQ(json_array_size(vs), 2);
	ASSERT_EQ(json_integer_value(json_object_get(json_array_get(vs, 1), "version")), 2);
	json_decref(r);
	/* a .gitignore the user edited is left as it is */
	snprintf(p, sizeof(p), "%s/.history/.gitignore", mbp);
	put(p, "1.md\n");
	expect_ok(callc(cx, "memory_bank_write",
			"{\"file\": \"notes.md\", \"content\": \"m\\n\", \"mode\": \"replace\"}"));
	char *gi = slurp(p, NULL);
	ASSERT_STR_EQ(gi, "1.md\n");
	free(gi);
	other_bank_close(&ob);
}

/* ---- non-regular files ------------------------------------------------------------- */

/* FIFOs in a bank (a cloned repository can hold any): no tool blocks on one, none reads
 * it, and each says what the file is instead of an unrelated errno text. A FIFO here has no
 * writer, so a blocking open of it would hang the test. */
static void test_fifos(void)
{
	char fb[CTXD_PATH_MAX + 32], p[2 * CTXD_PATH_MAX];
	snprintf(fb, sizeof(fb), "%s/fifobank", root);
	ASSERT_EQ(mkdir(fb, 0755), 0);
	snprintf(p, sizeof(p), "%s/activeContext.md", fb);
	ASSERT_EQ(mkfifo(p, 0644), 0);
	tree_put(fb, "notes.md", "# Notes\n\n## Zebra\n\nA zebra has stripes.\n");
	struct other_bank ob;
	other_bank_open(&ob, fb);
	const struct ctxd_tool_ctx *cx = &ob.cx;
	static const char fifo_msg[] =
	    "'activeContext.md' is a FIFO (named pipe), not a regular file";
	expect_error(callc(cx, "memory_bank_read", "{\"file\": \"activeContext.md\"}"), fifo_msg);
	expect_error(callc(cx, "memory_bank_write",
			   "{\"file\": \"activeContext.md\", "
			   "\"content\": \"x\", \"mode\": \"replace\"}"),
		     fifo_msg);
	expect_error(callc(cx, "memory_bank_write",
			   "{\"file\": \"activeContext.md\", \"section\": \"A\", \"content\": "
			   "\"x\", \"mode\": \"append\"}"),
		     fifo_msg);
	struct stat st;
	snprintf(p, sizeof(p), "%s/activeContext.md", fb);
	ASSERT(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode)); /* never replaced */
	json_t *r = callc(cx, "memory_bank_validate", "{}");
	ASSERT_CONTAINS(tt_text(r),
			"activeContext.md:0: error: 'activeContext.md' is a FIFO (named "
			"pipe), not a regular file");
	json_decref(r);
	r = callc(cx, "memory_bank_search", "{\"query\": \"zebra\"}");
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "results")), 1);
	json_decref(r);
	r = callc(cx, "memory_bank_list", "{}");
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "files")), 1);
	json_decref(r);
	struct ctxd_resource_provider prov;
	ctxd_memory_bank_provider_init(ob.m, &prov);
	const struct ctxd_resource_provider *rp = &prov;
	struct ctxd_provider_ctx pc = {.cfg = &ob.c, .sandbox = sb};
	struct ctxd_error err;
	ASSERT(!rp->read(rp->ud, &pc, "memory-bank://default/activeContext.md", &err));
	ASSERT_CONTAINS(err.msg, fifo_msg);
	/* a FIFO among the kept versions: the history lists the others, restore says why */
	expect_ok(callc(cx, "memory_bank_write",
			"{\"file\": \"notes.md\", \"content\": "
			"\"v2\\n\", \"mode\": \"replace\"}"));
	snprintf(p, sizeof(p), "%s/.history/notes.md/3.md", fb);
	ASSERT_EQ(mkfifo(p, 0644), 0);
	r = callc(cx, "memory_bank_history", "{\"file\": \"notes.md\"}");
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "versions")), 2);
	json_decref(r);
	expect_error(callc(cx, "memory_bank_write", "{\"file\": \"notes.md\", \"fromVersion\": 3}"),
		     "cannot read version 3 of 'notes.md': '3.md' is a FIFO (named pipe)");
	/* a FIFO where the lock goes: writes are refused with what to do */
	snprintf(p, sizeof(p), "%s/.history/.lock", fb);
	ASSERT_EQ(unlink(p), 0);
	ASSERT_EQ(mkfifo(p, 0644), 0);
	expect_error(callc(cx, "memory_bank_write",
			   "{\"file\": \"notes.md\", \"content\": "
			   "\"v3\\n\", \"mode\": \"replace\"}"),
		     "/.history/.lock' is not a regular file; remove it");
	other_bank_close(&ob);
}

/* ---- SIGKILL in the middle of writes ----------------------------------------------- */

static void test_sigkill_mid_write(void)
{
	size_t big = 2u << 20;
	char *a = malloc(big + 1), *b = malloc(big + 1);
	memset(a, 'a', big);
	memset(b, 'b', big);
	a[big] = b[big] = '\0';
	char sha_a[65], sha_b[65];
	ctxd_sha256_hex(a, big, sha_a);
	ctxd_sha256_hex(b, big, sha_b);
	json_t *args =
	    json_pack("{s:s, s:s, s:s}", "file", "k.md", "content", a, "mode", "replace");
	json_decref(call_args(&ctx, "memory_bank_write", args));
	json_decref(args);
	/* The child rewrites k.md in a loop and reports each finished write on a pipe; the
	 * parent kills it after round+1 writes, i.e. while it is inside a later one (or just
	 * between two): no timing decides whether the child ever got to write. */
	for (int round = 0; round < 6; round++) {
		int pfd[2];
		ASSERT_EQ(pipe(pfd), 0);
		pid_t pid = fork();
		ASSERT(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			json_t *x = json_pack("{s:s, s:s, s:s}", "file", "k.md", "content", a,
					      "mode", "replace");
			json_t *y = json_pack("{s:s, s:s, s:s}", "file", "k.md", "content", b,
					      "mode", "replace");
			for (unsigned i = 0;; i++) {
				json_decref(tool("memory_bank_write")->fn(&ctx, i % 2 ? x : y));
				if (write(pfd[1], "w", 1) != 1) {
					_exit(1);
				}
			}
		}
		close(pfd[1]);
		for (int done = 0; done <= round;) {
			char c;
			ssize_t n = read(pfd[0], &c, 1);
			ASSERT(n == 1 || (n < 0 && errno == EINTR)); /* EOF: the child died */
			done += n == 1;
		}
		ASSERT_EQ(kill(pid, SIGKILL), 0);
		close(pfd[0]);
		int st;
		ASSERT_EQ(waitpid(pid, &st, 0), pid);
		ASSERT(WIFSIGNALED(st));
		char sha[65];
		char p[2 * CTXD_PATH_MAX];
		snprintf(p, sizeof(p), "%s/k.md", bank);
		size_t len;
		char *d2 = slurp(p, &len);
		ctxd_sha256_hex(d2, len, sha);
		free(d2);
		ASSERT(strcmp(sha, sha_a) == 0 || strcmp(sha, sha_b) == 0);
		/* the dead writer's lock went with it */
		snprintf(p, sizeof(p), "%s/.history/.lock", bank);
		int lfd = open(p, O_RDWR);
		ASSERT(lfd >= 0);
		ASSERT_EQ(flock(lfd, LOCK_EX | LOCK_NB), 0);
		close(lfd);
	}
	/* a write after the kills works, and leftover temp files are not bank files */
	json_t *r = call("memory_bank_write", "{\"file\": \"k.md\", \"content\": \"ok\\n\", "
					      "\"mode\": \"replace\"}");
	ASSERT(!tt_is_error(r));
	json_decref(r);
	r = call("memory_bank_list", "{}");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(sc(r), "files"), i, v)
	{
		ASSERT(json_string_value(json_object_get(v, "file"))[0] != '.');
	}
	json_decref(r);
	free(a);
	free(b);
}

int main(void)
{
	test_tmp_root(root, sizeof(root), "ctxd-mb");
	snprintf(bank, sizeof(bank), "%s/memory-bank", root);

	ctxd_config_init(&cfg);
	sb = ctxd_sandbox_create();
	ASSERT(sb);
	struct ctxd_error err;
	ASSERT_EQ(ctxd_sandbox_add_root(sb, root, false, &err), 0);
	ctxd_sandbox_seal(sb);
	mb = ctxd_mb_create(&cfg, sb, &err);
	ASSERT(mb);
	ctx.cfg = &cfg;
	ctx.sandbox = sb;
	ctx.ud = mb;

	RUN(test_names);
	RUN(test_init_list);
	RUN(test_read);
	RUN(test_write);
	RUN(test_write_section);
	RUN(test_prepend_blank_line);
	RUN(test_nul_names);
	RUN(test_threads_append);
	RUN(test_history_restore);
	RUN(test_search);
	RUN(test_search_words);
	RUN(test_validate_corpus);
	RUN(test_validate_config);
	RUN(test_validate_stale);
	RUN(test_resources);
	RUN(test_multi_project);
	RUN(test_sigkill_mid_write);
	RUN(test_git_status);
	RUN(test_fifos);

	ctxd_mb_destroy(mb);
	ctxd_sandbox_destroy(sb);
	ctxd_config_finish(&cfg);
	tree_rm_rf(root);
	return 0;
}
