/* test_skills.c - SKILL.md parsing (corpus), substitution, discovery, the skill tools,
 * prompts, resources, SEP-2640 methods and hot reload. */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
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
#include "ctxd/skills.h"
#include "ctxd/watch.h"
#include "test.h"

static char tmp[1024];   /* everything lives here */
static char root[1100];  /* the sandbox root */
static char extra[1100]; /* a config skills dir outside the root */
static char home[1100];
static char corpus[CTXD_PATH_MAX];

/* ---- file helpers ---- */

static void put(const char *path, const char *data)
{
	FILE *f = fopen(path, "wb");
	ASSERT(f);
	ASSERT_EQ(fwrite(data, 1, strlen(data), f), strlen(data));
	ASSERT_EQ(fclose(f), 0);
}

/* mkdir -p */
static void mkp(const char *path)
{
	char p[CTXD_PATH_MAX];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	}
	mkdir(p, 0755);
}

/* Create a skill folder DIR/NAME with a SKILL.md (name, description) and body. */
static void skill(const char *dir, const char *name, const char *desc, const char *body)
{
	char p[CTXD_PATH_MAX], md[CTXD_PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	mkp(p);
	const char *base = strrchr(name, '/');
	snprintf(md, sizeof(md), "---\nname: %s\ndescription: %s\n---\n%s", base ? base + 1 : name,
		 desc, body);
	char f[CTXD_PATH_MAX + 16];
	snprintf(f, sizeof(f), "%s/SKILL.md", p);
	put(f, md);
}

static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	ASSERT(fd >= 0);
	char *buf;
	ASSERT_EQ(ctxd_read_all(fd, 1 << 22, &buf, len), 0);
	close(fd);
	return buf;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

/* ---- parser corpus ---- */

struct expect {
	const char *file;
	bool valid;
	const char *rule; /* a diagnostic that must be present (NULL: none at all) */
	unsigned line, col;
};

static const struct ctxd_skill_diag *find_diag(const struct ctxd_skill_doc *d, const char *rule)
{
	for (size_t i = 0; i < d->n_diags; i++) {
		if (strcmp(d->diags[i].rule, rule) == 0) {
			return &d->diags[i];
		}
	}
	return NULL;
}

static void test_skills_corpus(void)
{
	static const struct expect cases[] = {
		{"good/basic.md", true, NULL, 0, 0},
		{"good/crlf.md", true, NULL, 0, 0},
		{"good/bom.md", true, NULL, 0, 0},
		{"good/empty-body.md", true, NULL, 0, 0},
		{"good/all-fields.md", true, NULL, 0, 0},
		{"good/lenient-colon.md", true, "yaml-unquoted-colon", 3, 1},
		{"good/unknown-key.md", true, "unknown-key", 4, 1},
		{"bad/no-frontmatter.md", false, "frontmatter-missing", 1, 1},
		{"bad/unterminated.md", false, "frontmatter-unterminated", 1, 1},
		{"bad/yaml-syntax.md", false, "yaml-syntax", 4, 1},
		{"bad/name-missing.md", false, "name-required", 2, 1},
		{"bad/name-format.md", false, "name-format", 2, 7},
		{"bad/name-hyphen.md", false, "name-hyphen", 2, 7},
		{"bad/name-length.md", false, "name-length", 2, 7},
		{"bad/name-mismatch.md", false, "name-mismatch", 2, 7},
		{"bad/description-required.md", false, "description-required", 2, 1},
		{"bad/description-length.md", false, "description-length", 3, 14},
		{"bad/description-empty.md", false, "description-length", 3, 14},
		{"bad/compatibility-length.md", false, "compatibility-length", 4, 16},
		{"bad/not-mapping.md", false, "frontmatter-not-mapping", 2, 1},
		{"bad/duplicate-key.md", false, "duplicate-key", 4, 1},
		{"bad/encoding.md", false, "encoding", 3, 17},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct expect *e = &cases[i];
		char p[CTXD_PATH_MAX * 2];
		snprintf(p, sizeof(p), "%s/%s", corpus, e->file);
		size_t len;
		char *buf = slurp(p, &len);
		struct ctxd_skill_doc *d = ctxd_skill_parse(buf, len, "demo-skill", p);
		free(buf);
		ASSERT(d);
		if (d->valid != e->valid) {
			fprintf(stderr, "%s: valid=%d\n", e->file, d->valid);
			for (size_t k = 0; k < d->n_diags; k++) {
				fprintf(stderr, "  %u:%u %s %s\n", d->diags[k].line, d->diags[k].col,
					d->diags[k].rule, d->diags[k].message);
			}
			abort();
		}
		if (!e->rule) {
			ASSERT_EQ(d->n_diags, 0);
		} else {
			const struct ctxd_skill_diag *g = find_diag(d, e->rule);
			if (!g || g->line != e->line || g->col != e->col) {
				fprintf(stderr, "%s: want %s at %u:%u, got %s at %u:%u\n", e->file,
					e->rule, e->line, e->col, g ? g->rule : "-", g ? g->line : 0,
					g ? g->col : 0);
				abort();
			}
			ASSERT_STR_EQ(g->file, p);
			ASSERT(g->message[0]);
			ASSERT_EQ(g->error, !e->valid);
		}
		if (d->valid) {
			ASSERT_STR_EQ(d->name, "demo-skill");
			ASSERT(json_is_object(d->frontmatter));
			ASSERT_STR_EQ(json_string_value(json_object_get(d->frontmatter, "name")),
				      "demo-skill");
		}
		ctxd_skill_doc_put(d);
	}
	/* details: CRLF body kept, BOM stripped, lenient value, metadata, empty body */
	struct {
		const char *file, *field, *want;
	} checks[] = {
		{"good/crlf.md", "body", "Body line one.\r\nBody line two.\r\n"},
		{"good/bom.md", "body", "Body after BOM.\n"},
		{"good/empty-body.md", "body", ""},
		{"good/basic.md", "body", "# Demo\n\nRun $ARGUMENTS now.\n"},
		{"good/lenient-colon.md", "description", "Use this when: the user asks for a demo"},
		{"good/crlf.md", "description", "CRLF line endings everywhere."},
	};
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		char p[CTXD_PATH_MAX * 2];
		snprintf(p, sizeof(p), "%s/%s", corpus, checks[i].file);
		size_t len;
		char *buf = slurp(p, &len);
		struct ctxd_skill_doc *d = ctxd_skill_parse(buf, len, "demo-skill", p);
		free(buf);
		ASSERT(d && d->valid);
		ASSERT_STR_EQ(strcmp(checks[i].field, "body") == 0 ? d->body : d->description,
			      checks[i].want);
		ctxd_skill_doc_put(d);
	}
	char p[CTXD_PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/good/all-fields.md", corpus);
	size_t len;
	char *buf = slurp(p, &len);
	struct ctxd_skill_doc *d = ctxd_skill_parse(buf, len, "demo-skill", p);
	free(buf);
	char *fm = json_dumps(d->frontmatter, JSON_SORT_KEYS | JSON_COMPACT);
	ASSERT_CONTAINS(fm, "\"metadata\":{\"author\":\"ctxd\",\"version\":\"1.2\"}");
	ASSERT_CONTAINS(fm, "\"license\":\"MIT\"");
	ASSERT_CONTAINS(fm, "\"allowed-tools\":\"Bash(git:*) Read\"");
	free(fm);
	ctxd_skill_doc_put(d);
	/* the huge description is rejected with its length */
	snprintf(p, sizeof(p), "%s/bad/description-length.md", corpus);
	buf = slurp(p, &len);
	d = ctxd_skill_parse(buf, len, "demo-skill", p);
	free(buf);
	ASSERT_CONTAINS(find_diag(d, "description-length")->message, "1100");
	ctxd_skill_doc_put(d);
	/* arbitrary bytes never crash the parser */
	unsigned seed = 7;
	for (int r = 0; r < 2000; r++) {
		char junk[256] = "---\nname: demo-skill\n";
		size_t n = strlen(junk);
		for (; n < sizeof(junk); n++) {
			seed = seed * 1103515245 + 12345;
			junk[n] = "ab: \n-\"'[{}]#|>&*!%\r\t\xc3\xa9"[(seed >> 16) % 24];
		}
		d = ctxd_skill_parse(junk, sizeof(junk), "demo-skill", "junk");
		ASSERT(d);
		ctxd_skill_doc_put(d);
	}
}

/* ---- substitution ---- */

static void sub_is(const char *body, const char *args, const char *want)
{
	char *got = ctxd_skills_substitute(body, args, "/sk/dir");
	ASSERT(got);
	ASSERT_STR_EQ(got, want);
	free(got);
}

static void test_skills_substitute(void)
{
	sub_is("Fix $ARGUMENTS.", "issue 12", "Fix issue 12.");
	sub_is("a=$0 b=$1 c=$2", "one \"two three\" 'four five'", "a=one b=two three c=four five");
	sub_is("x=$ARGUMENTS[1] y=$ARGUMENTS[9]", "p q", "x=q y=");
	sub_is("cost $$5 in ${SKILL_DIR}/x", "", "cost $5 in /sk/dir/x");
	sub_is("no placeholder", "a b", "no placeholder\n\nARGUMENTS: a b");
	sub_is("ends with newline\n", "z", "ends with newline\n\nARGUMENTS: z");
	sub_is("no args, no append", NULL, "no args, no append");
	sub_is("${SKILL_DIR} is not an argument", "q", "/sk/dir is not an argument\n\nARGUMENTS: q");
	sub_is("lone $ and $x stay", NULL, "lone $ and $x stay");
	sub_is("$1", "a\\ b c", "c");
	sub_is("$0", "a\\ b c", "a b");
	sub_is("", "only", "ARGUMENTS: only");
}

/* ---- discovery + tools ---- */

static struct ctxd_config cfg;
static struct ctxd_sandbox *sb;
static struct ctxd_skills *sk;

static json_t *call(const char *name, const char *json)
{
	json_error_t je;
	json_t *args = json_loads(json, 0, &je);
	ASSERT(args);
	const struct ctxd_tool *t = NULL;
	for (size_t i = 0; i < ctxd_skills_tools_count; i++) {
		if (strcmp(ctxd_skills_tools[i].name, name) == 0) {
			t = &ctxd_skills_tools[i];
		}
	}
	ASSERT(t);
	struct ctxd_tool_ctx ctx = {&cfg, sb, NULL, NULL, sk};
	json_t *res = t->fn(&ctx, args);
	json_decref(args);
	ASSERT(res);
	json_t *s = json_object_get(res, "structuredContent");
	if (s) {
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

static const char *text(json_t *res)
{
	return json_string_value(
		json_object_get(json_array_get(json_object_get(res, "content"), 0), "text"));
}

static json_t *sc(json_t *res)
{
	return json_object_get(res, "structuredContent");
}

static bool is_error(json_t *res)
{
	return json_is_true(json_object_get(res, "isError"));
}

static const struct ctxd_skill_diag *snap_diag(const struct ctxd_skills_snapshot *s,
					       const char *rule, const char *in_file)
{
	for (size_t i = 0; i < s->n_diags; i++) {
		if (strcmp(s->diags[i].rule, rule) == 0 &&
		    (!in_file || strstr(s->diags[i].file, in_file))) {
			return &s->diags[i];
		}
	}
	return NULL;
}

static void make_tree(void)
{
	char p[CTXD_PATH_MAX], q[CTXD_PATH_MAX * 2];
	char cl[1200], ag[1200], hu[1200];
	snprintf(cl, sizeof(cl), "%s/.claude/skills", root);
	snprintf(ag, sizeof(ag), "%s/.agents/skills", root);
	snprintf(hu, sizeof(hu), "%s/.claude/skills", home);
	mkp(cl);
	mkp(ag);
	mkp(hu);
	/* precedence: "dup" in extra (wins), .claude, .agents and home */
	skill(extra, "dup", "from the config dir", "extra body\n");
	skill(cl, "dup", "from .claude", "claude body\n");
	skill(ag, "dup", "from .agents", "agents body\n");
	skill(hu, "dup", "from home", "home body\n");
	skill(ag, "agent-only", "only in .agents", "agents\n");
	skill(hu, "home-only", "only in the home dir", "home\n");
	/* a real one with bundled files */
	skill(cl, "review", "Review code changes with a checklist",
	      "Review $ARGUMENTS[0] against references/checklist.md in ${SKILL_DIR}.\n");
	snprintf(p, sizeof(p), "%s/review/references", cl);
	mkp(p);
	snprintf(q, sizeof(q), "%s/checklist.md", p);
	put(q, "# Checklist\n- tests\n");
	snprintf(q, sizeof(q), "%s/review/logo.bin", cl);
	FILE *f = fopen(q, "wb");
	fwrite("\x89PNG\0\x01\x02", 1, 7, f);
	fclose(f);
	snprintf(q, sizeof(q), "%s/review/.git", cl);
	mkp(q); /* skipped */
	snprintf(q, sizeof(q), "%s/review/.git/HEAD", cl);
	put(q, "ref\n");
	snprintf(q, sizeof(q), "%s/secret.txt", tmp);
	put(q, "outside\n");
	snprintf(p, sizeof(p), "%s/review/escape.txt", cl);
	ASSERT_EQ(symlink(q, p), 0); /* leaves the folder: never listed nor read */
	/* nesting: depth 5 found, depth 6 not */
	skill(cl, "g1/g2/g3/g4/deep5", "five levels down", "deep\n");
	skill(cl, "h1/h2/h3/h4/h5/deep6", "six levels down", "too deep\n");
	/* .git and node_modules are not searched */
	skill(cl, "node_modules/hidden-a", "in node_modules", "x\n");
	skill(cl, ".git/hidden-b", "in .git", "x\n");
	/* a symlink cycle and a symlinked skill folder */
	snprintf(p, sizeof(p), "%s/loop", cl);
	ASSERT_EQ(symlink(".", p), 0);
	skill(root, "shared/linked", "reached through a symlink", "linked\n");
	snprintf(p, sizeof(p), "%s/linked", cl);
	snprintf(q, sizeof(q), "%s/shared/linked", root);
	ASSERT_EQ(symlink(q, p), 0);
	/* a broken skill */
	snprintf(p, sizeof(p), "%s/broken", cl);
	mkp(p);
	snprintf(q, sizeof(q), "%s/SKILL.md", p);
	put(q, "---\nname: broken\n---\nno description\n");
}

static void setup(void)
{
	ctxd_config_init(&cfg);
	ASSERT_EQ(ctxd_config_add_root(&cfg, root, false), 0);
	ASSERT_EQ(ctxd_config_add_skills_dir(&cfg, extra), 0);
	sb = ctxd_sandbox_create();
	struct ctxd_error err;
	ASSERT_EQ(ctxd_sandbox_add_root(sb, root, false, &err), 0);
	ctxd_sandbox_seal(sb);
	setenv("HOME", home, 1);
	sk = ctxd_skills_create(&cfg, sb, NULL, &err);
	ASSERT(sk);
}

static void teardown(void)
{
	ctxd_skills_detach(sk);
	ctxd_skills_destroy(sk);
	ctxd_sandbox_destroy(sb);
	ctxd_config_finish(&cfg);
}

static void test_skills_discovery(void)
{
	const char *x[8];
	size_t nx = ctxd_skills_extra_dirs(sk, x, 8);
	ASSERT_EQ(nx, 2); /* the config dir and ~/.claude/skills (no ~/.agents/skills) */
	char real[CTXD_PATH_MAX];
	ASSERT(realpath(extra, real));
	ASSERT_STR_EQ(x[0], real);
	ASSERT(ctxd_skills_snapshot_peek(sk) == NULL); /* lazy */
	struct ctxd_skills_snapshot *s = ctxd_skills_snapshot(sk);
	ASSERT(s);
	const char *want[] = {"agent-only", "deep5", "dup", "home-only", "linked", "review"};
	ASSERT_EQ(s->n_skills, 6);
	for (size_t i = 0; i < 6; i++) {
		ASSERT_STR_EQ(s->skills[i].name, want[i]);
	}
	const struct ctxd_skill *d = ctxd_skills_find(s, "dup");
	ASSERT_STR_EQ(d->doc->description, "from the config dir");
	/* three shadowed copies, each naming both paths */
	size_t shadowed = 0;
	for (size_t i = 0; i < s->n_diags; i++) {
		if (strcmp(s->diags[i].rule, "shadowed") == 0) {
			shadowed++;
			ASSERT_STR_EQ(s->diags[i].other, d->skill_md);
			ASSERT(strcmp(s->diags[i].file, d->skill_md) != 0);
		}
	}
	ASSERT_EQ(shadowed, 3);
	ASSERT(snap_diag(s, "description-required", "broken/SKILL.md"));
	ASSERT(snap_diag(s, "symlink-cycle", "/loop"));
	ASSERT(!ctxd_skills_find(s, "deep6"));
	ASSERT(!ctxd_skills_find(s, "hidden-a"));
	ASSERT(!ctxd_skills_find(s, "hidden-b"));
	const struct ctxd_skill *r = ctxd_skills_find(s, "review");
	ASSERT_EQ(r->n_files, 2);
	ASSERT_STR_EQ(r->files[0], "logo.bin");
	ASSERT_STR_EQ(r->files[1], "references/checklist.md");
	/* a second scan with nothing changed re-uses every parsed document */
	struct ctxd_skill_doc *before = r->doc;
	ASSERT(!ctxd_skills_rescan(sk));
	struct ctxd_skills_snapshot *s2 = ctxd_skills_snapshot(sk);
	ASSERT(s2 != s);
	ASSERT(ctxd_skills_find(s2, "review")->doc == before);
	ctxd_skills_snapshot_put(s2);
	ctxd_skills_snapshot_put(s);
}

static void test_skills_dir_cap(void)
{
	struct ctxd_config c2;
	ctxd_config_init(&c2);
	c2.skills_max_dirs = 3;
	c2.skills_user_dirs = false;
	struct ctxd_error err;
	struct ctxd_skills *k = ctxd_skills_create(&c2, sb, NULL, &err);
	ASSERT(k);
	struct ctxd_skills_snapshot *s = ctxd_skills_snapshot(k);
	ASSERT(s && s->dir_cap_hit);
	ASSERT(snap_diag(s, "dir-cap", NULL));
	ASSERT(s->n_skills < 4);
	ctxd_skills_snapshot_put(s);
	ctxd_skills_destroy(k);
	ctxd_config_finish(&c2);
}

static void test_skills_tools(void)
{
	json_t *r = call("skill_list", "{}");
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "skills")), 6);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "skipped")), 1);
	ASSERT_CONTAINS(text(r), "review: Review code changes with a checklist");
	json_decref(r);
	r = call("skill_list", "{\"query\":\"CHECKLIST\"}");
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "skills")), 1);
	json_t *e = json_array_get(json_object_get(sc(r), "skills"), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(e, "name")), "review");
	ASSERT_EQ(json_integer_value(json_object_get(e, "files")), 2);
	ASSERT_CONTAINS(json_string_value(json_object_get(e, "location")),
			"/.claude/skills/review/SKILL.md");
	json_decref(r);

	r = call("skill_activate", "{\"name\":\"review\",\"arguments\":\"src/main.c extra\"}");
	ASSERT(!is_error(r));
	const char *body = json_string_value(json_object_get(sc(r), "body"));
	ASSERT_CONTAINS(body, "Review src/main.c against references/checklist.md in /");
	ASSERT_CONTAINS(body, "/.claude/skills/review.");
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "files")), 2);
	ASSERT_CONTAINS(text(r), "Base directory: ");
	ASSERT_CONTAINS(text(r), "- references/checklist.md");
	json_decref(r);
	r = call("skill_activate", "{\"name\":\"agent-only\",\"arguments\":\"go\"}");
	ASSERT_STR_EQ(json_string_value(json_object_get(sc(r), "body")), "agents\n\nARGUMENTS: go");
	json_decref(r);
	r = call("skill_activate", "{\"name\":\"broken\"}");
	ASSERT(is_error(r));
	ASSERT_CONTAINS(text(r), "unknown skill 'broken'");
	json_decref(r);

	r = call("skill_read_file", "{\"name\":\"review\",\"path\":\"references/checklist.md\"}");
	ASSERT(!is_error(r));
	ASSERT_STR_EQ(text(r), "# Checklist\n- tests\n");
	ASSERT_STR_EQ(json_string_value(json_object_get(sc(r), "encoding")), "utf-8");
	json_decref(r);
	r = call("skill_read_file", "{\"name\":\"review\",\"path\":\"logo.bin\"}");
	ASSERT_STR_EQ(json_string_value(json_object_get(sc(r), "encoding")), "base64");
	ASSERT_STR_EQ(json_string_value(json_object_get(sc(r), "content")), "iVBORwABAg==");
	json_decref(r);
	const char *bad[] = {"../dup/SKILL.md", "escape.txt", "/etc/passwd", "references/../../x",
			     "nope.md"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char a[256];
		snprintf(a, sizeof(a), "{\"name\":\"review\",\"path\":\"%s\"}", bad[i]);
		r = call("skill_read_file", a);
		ASSERT(is_error(r));
		json_decref(r);
	}

	r = call("skill_diagnostics", "{}");
	ASSERT_CONTAINS(text(r), "broken/SKILL.md:2:1: error [description-required]");
	ASSERT_CONTAINS(text(r), "[shadowed]");
	json_decref(r);

	/* the skill_activate description embeds the catalogue */
	const struct ctxd_tool *act = &ctxd_skills_tools[1];
	char *desc = act->describe(sk);
	ASSERT_CONTAINS(desc, "- review: Review code changes with a checklist");
	free(desc);
}

static void test_skills_providers(void)
{
	struct ctxd_provider_ctx pc = {&cfg, sb, NULL, NULL};
	struct ctxd_error err;
	const struct ctxd_prompt_provider *pp = ctxd_skills_prompts(sk);
	json_t *out = json_array();
	ASSERT_EQ(pp->list(pp->ud, &pc, out, &err), 0);
	ASSERT_EQ(json_array_size(out), 6);
	char *dump = json_dumps(json_array_get(out, 5), JSON_COMPACT | JSON_SORT_KEYS);
	ASSERT_CONTAINS(dump, "\"name\":\"review\"");
	ASSERT_CONTAINS(dump, "\"arguments\":[{\"description\":");
	ASSERT_CONTAINS(dump, "\"required\":false");
	free(dump);
	json_decref(out);
	json_t *args = json_pack("{s:s}", "arguments", "lib.c");
	json_t *g = pp->get(pp->ud, &pc, "review", args, &err);
	json_decref(args);
	ASSERT(g);
	json_t *m = json_array_get(json_object_get(g, "messages"), 0);
	ASSERT_STR_EQ(json_string_value(json_object_get(m, "role")), "user");
	ASSERT_CONTAINS(json_string_value(json_object_get(json_object_get(m, "content"), "text")),
			"Review lib.c against");
	json_decref(g);
	ASSERT(!pp->get(pp->ud, &pc, "nope", NULL, &err));
	ASSERT_EQ(err.code, CTXD_PROVIDER_NOT_FOUND);
	args = json_pack("{s:i}", "arguments", 3);
	ASSERT(!pp->get(pp->ud, &pc, "review", args, &err));
	ASSERT_EQ(err.code, CTXD_PROVIDER_INVALID);
	json_decref(args);

	const struct ctxd_resource_provider *rp = ctxd_skills_resources(sk);
	ASSERT_STR_EQ(rp->scheme, "skill");
	out = json_array();
	ASSERT_EQ(rp->list(rp->ud, &pc, out, &err), 0);
	ASSERT_EQ(json_array_size(out), 8); /* 6 SKILL.md + 2 bundled */
	dump = json_dumps(out, JSON_COMPACT);
	ASSERT_CONTAINS(dump, "\"uri\":\"skill://review/references/checklist.md\"");
	ASSERT_CONTAINS(dump, "\"uri\":\"skill://review/SKILL.md\"");
	free(dump);
	json_decref(out);
	out = json_array();
	ASSERT_EQ(rp->templates(rp->ud, out), 0);
	dump = json_dumps(out, JSON_COMPACT);
	ASSERT_CONTAINS(dump, "skill://{name}/SKILL.md");
	ASSERT_CONTAINS(dump, "skill://{name}/{+path}");
	free(dump);
	json_decref(out);
	json_t *c = rp->read(rp->ud, &pc, "skill://review/references/checklist.md", &err);
	ASSERT(c);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(c, 0), "text")),
		      "# Checklist\n- tests\n");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(c, 0), "mimeType")),
		      "text/markdown");
	json_decref(c);
	c = rp->read(rp->ud, &pc, "skill://review/SKILL.md", &err);
	ASSERT_CONTAINS(json_string_value(json_object_get(json_array_get(c, 0), "text")),
			"---\nname: review\n");
	json_decref(c);
	c = rp->read(rp->ud, &pc, "skill://review/logo.bin", &err);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(c, 0), "blob")),
		      "iVBORwABAg==");
	json_decref(c);
	ASSERT(!rp->read(rp->ud, &pc, "skill://review/escape.txt", &err));
	ASSERT_EQ(err.code, CTXD_PROVIDER_NOT_FOUND);
	ASSERT(!rp->read(rp->ud, &pc, "skill://review/../dup/SKILL.md", &err));
	ASSERT(!rp->read(rp->ud, &pc, "skill://broken/SKILL.md", &err));
	ASSERT_EQ(err.code, CTXD_PROVIDER_NOT_FOUND);
	char wp[CTXD_PATH_MAX];
	ASSERT_EQ(rp->watch_path(rp->ud, &pc, "skill://review/SKILL.md", wp, sizeof(wp)), 0);
	ASSERT_CONTAINS(wp, "/.claude/skills/review/SKILL.md");
	out = json_array();
	size_t total = 0;
	ASSERT_EQ(rp->complete(rp->ud, &pc, "skill://{name}/SKILL.md", "name", "d", NULL, out,
			       &total, &err), 0);
	ASSERT_EQ(total, 2); /* deep5, dup */
	json_decref(out);
	out = json_array();
	json_t *ctxa = json_pack("{s:s}", "name", "review");
	ASSERT_EQ(rp->complete(rp->ud, &pc, "skill://{name}/{+path}", "path", "ref", ctxa, out,
			       &total, &err), 0);
	ASSERT_EQ(total, 1);
	ASSERT_STR_EQ(json_string_value(json_array_get(out, 0)), "references/checklist.md");
	json_decref(ctxa);
	json_decref(out);
}

static void test_skills_sep(void)
{
	struct ctxd_config c = cfg;
	c.page_size = 4;
	struct ctxd_provider_ctx pc = {&c, sb, NULL, NULL};
	struct ctxd_error err;
	json_t *r = ctxd_skills_method(sk, &pc, "skills/list", NULL, &err);
	ASSERT(r);
	ASSERT_EQ(json_array_size(json_object_get(r, "skills")), 4);
	ASSERT_STR_EQ(json_string_value(json_object_get(r, "nextCursor")), "4");
	json_decref(r);
	json_t *p = json_pack("{s:s}", "cursor", "4");
	r = ctxd_skills_method(sk, &pc, "skills/list", p, &err);
	json_decref(p);
	ASSERT_EQ(json_array_size(json_object_get(r, "skills")), 2);
	ASSERT(!json_object_get(r, "nextCursor"));
	json_t *rev = json_array_get(json_object_get(r, "skills"), 1);
	ASSERT_STR_EQ(json_string_value(json_object_get(rev, "uri")), "skill://review/SKILL.md");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(rev, "frontmatter"),
							"name")), "review");
	json_t *res = json_object_get(rev, "resources");
	ASSERT_EQ(json_array_size(res), 3);
	json_t *chk = json_array_get(res, 2);
	ASSERT_STR_EQ(json_string_value(json_object_get(chk, "uri")),
		      "skill://review/references/checklist.md");
	char hex[CTXD_SHA256_HEX_LEN + 1], want[80];
	ctxd_sha256_hex("# Checklist\n- tests\n", 20, hex);
	snprintf(want, sizeof(want), "sha256:%s", hex);
	ASSERT_STR_EQ(json_string_value(json_object_get(chk, "digest")), want);
	ASSERT_EQ(json_integer_value(json_object_get(chk, "size")), 20);
	json_decref(r);
	p = json_pack("{s:s}", "cursor", "zz");
	ASSERT(!ctxd_skills_method(sk, &pc, "skills/list", p, &err));
	ASSERT_EQ(err.code, -32602);
	json_decref(p);
	p = json_pack("{s:s}", "uri", "skill://dup/SKILL.md");
	r = ctxd_skills_method(sk, &pc, "skills/get", p, &err);
	json_decref(p);
	ASSERT(r);
	ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(json_object_get(r, "skill"),
		      "frontmatter"), "description")), "from the config dir");
	json_decref(r);
	p = json_pack("{s:s}", "uri", "skill://broken/SKILL.md");
	ASSERT(!ctxd_skills_method(sk, &pc, "skills/get", p, &err));
	ASSERT_EQ(err.code, -32602);
	json_decref(p);
	ASSERT(!ctxd_skills_method(sk, &pc, "skills/other", NULL, &err));
	ASSERT_EQ(err.code, -32601);
	json_t *cap = ctxd_skills_capability();
	ASSERT(json_is_object(cap) && json_object_size(cap) == 0);
	json_decref(cap);
}

/* ---- hot reload: a real loop, watch and pool ---- */

static void nowake(void *ud)
{
	(void)ud;
}

/* Run the loop until the catalogue holds (or lacks) `name`, for at most 5 s. */
static bool wait_for(struct ev_loop *loop, struct ctxd_pool *pool, const char *name,
		     bool present, const char *desc)
{
	for (int i = 0; i < 500; i++) {
		ev_run(loop, EVRUN_NOWAIT);
		ctxd_pool_drain(pool);
		struct ctxd_skills_snapshot *s = ctxd_skills_snapshot_peek(sk);
		const struct ctxd_skill *k = s ? ctxd_skills_find(s, name) : NULL;
		bool ok = present ? k && (!desc || strcmp(k->doc->description, desc) == 0) : !k;
		ctxd_skills_snapshot_put(s);
		if (ok) {
			return true;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return false;
}

static void test_skills_hot_reload(void)
{
	json_object_seed(0);
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct ctxd_watch *w = ctxd_watch_create(loop, 20);
	struct ctxd_pool *pool = ctxd_pool_create(2, nowake, NULL);
	ASSERT(loop && w && pool);
	struct ctxd_error err;
	struct ctxd_skills *k = ctxd_skills_create(&cfg, sb, pool, &err);
	ASSERT(k);
	struct ctxd_skills *saved = sk;
	sk = k;
	ctxd_skills_attach(k, w, NULL);
	ASSERT(wait_for(loop, pool, "review", true, NULL));
	/* let the first job finish registering its watches */
	for (int i = 0; i < 20; i++) {
		ev_run(loop, EVRUN_NOWAIT);
		ctxd_pool_drain(pool);
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	ASSERT(ctxd_watch_count(w) > 5);
	char cl[1200], p[CTXD_PATH_MAX];
	snprintf(cl, sizeof(cl), "%s/.claude/skills", root);
	/* create */
	skill(cl, "fresh", "a new skill", "new\n");
	ASSERT(wait_for(loop, pool, "fresh", true, NULL));
	/* edit */
	snprintf(p, sizeof(p), "%s/fresh/SKILL.md", cl);
	put(p, "---\nname: fresh\ndescription: edited text\n---\nedited\n");
	ASSERT(wait_for(loop, pool, "fresh", true, "edited text"));
	/* delete */
	ASSERT_EQ(unlink(p), 0);
	ASSERT(wait_for(loop, pool, "fresh", false, NULL));
	snprintf(p, sizeof(p), "%s/fresh", cl);
	rmdir(p);
	ctxd_skills_detach(k);
	ASSERT_EQ(ctxd_watch_count(w), 0);
	ctxd_pool_destroy(pool);
	ctxd_skills_destroy(k);
	ctxd_watch_destroy(w);
	ev_loop_destroy(loop);
	sk = saved;
}

int main(void)
{
	const char *t = getenv("CTXD_TEST_TMP");
	snprintf(tmp, sizeof(tmp), "%s/skills-XXXXXX", t && *t ? t : "/tmp");
	ASSERT(mkdtemp(tmp));
	char real[CTXD_PATH_MAX];
	ASSERT(realpath(tmp, real));
	ASSERT(strlen(real) < 900);
	snprintf(tmp, sizeof(tmp), "%.900s", real);
	snprintf(root, sizeof(root), "%s/root", tmp);
	snprintf(extra, sizeof(extra), "%s/extra", tmp);
	snprintf(home, sizeof(home), "%s/home", tmp);
	mkp(root);
	mkp(extra);
	mkp(home);
	const char *src = getenv("CTXD_SOURCE_ROOT");
	snprintf(corpus, sizeof(corpus), "%s/tests/skills/corpus", src && *src ? src : ".");

	RUN(test_skills_corpus);
	RUN(test_skills_substitute);
	make_tree();
	setup();
	RUN(test_skills_discovery);
	RUN(test_skills_dir_cap);
	RUN(test_skills_tools);
	RUN(test_skills_providers);
	RUN(test_skills_sep);
	RUN(test_skills_hot_reload);
	teardown();
	nftw(tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
