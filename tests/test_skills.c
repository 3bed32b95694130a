/* test_skills.c - SKILL.md parsing (corpus), substitution, discovery, the skill tools,
 * prompts, resources, SEP-2640 methods and hot reload. */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
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
#include "ctxd/skill_args.h"
#include "ctxd/skills.h"
#include "ctxd/watch.h"
#include "test.h"
#include "tool_test.h"

static char tmp[1024];   /* everything lives here */
static char root[1100];  /* the sandbox root */
static char extra[1100]; /* a config skills dir outside the root */
static char home[1100];
static char corpus[CTXD_PATH_MAX];

/* ---- file helpers ---- */

static void put(const char *path, const char *data)
{
	tree_put(NULL, path, data);
}

/* mkdir -p */
static void mkp(const char *path)
{
	tree_mkdirs(NULL, path);
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
	char *buf = tree_slurp(NULL, path, len);
	ASSERT(buf);
	return buf;
}

/* ---- parser corpus ---- */

struct expect {
	const char *file;
	bool valid;
	const char *rule; /* a diagnostic that must be present (NULL: none at all) */
	unsigned line, col;
	const char *name;   /* the name served (NULL: "demo-skill") */
	const char *folder; /* the folder name given to the parser (NULL: "demo-skill") */
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
	    {"good/basic.md", true, NULL, 0, 0, NULL, NULL},
	    {"good/crlf.md", true, NULL, 0, 0, NULL, NULL},
	    {"good/bom.md", true, NULL, 0, 0, NULL, NULL},
	    {"good/empty-body.md", true, NULL, 0, 0, NULL, NULL},
	    {"good/all-fields.md", true, NULL, 0, 0, NULL, NULL},
	    {"good/lenient-colon.md", true, "yaml-unquoted-value", 3, 1, NULL, NULL},
	    {"good/unknown-key.md", true, "unknown-key", 4, 1, NULL, NULL},
	    {"good/unicode-name.md", true, NULL, 0, 0,
	     "donn\xc3\xa9"
	     "es",
	     "donn\xc3\xa9"
	     "es"},
	    {"good/arguments.md", true, NULL, 0, 0, NULL, NULL},
	    {"good/argument-hint-list.md", true, NULL, 0, 0, NULL, NULL},
	    /* loaded with a warning, as the Agent Skills client guide says */
	    {"warn/name-missing.md", true, "name-required", 2, 1, NULL, NULL},
	    {"warn/name-format.md", true, "name-format", 2, 7, "Demo_Skill", NULL},
	    {"warn/name-format.md", true, "name-case", 2, 7, "Demo_Skill", NULL},
	    {"warn/name-hyphen.md", true, "name-hyphen", 2, 7, "demo--skill", NULL},
	    {"warn/name-length.md", true, "name-length", 2, 7,
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL},
	    {"warn/name-mismatch.md", true, "name-mismatch", 2, 7, "other-skill", NULL},
	    {"warn/name-served.md", true, "name-served", 2, 7, "Demo-Skill--v2", NULL},
	    {"warn/description-length.md", true, "description-length", 3, 14, NULL, NULL},
	    {"warn/compatibility-length.md", true, "compatibility-length", 4, 16, NULL, NULL},
	    {"warn/duplicate-key.md", true, "duplicate-key", 4, 1, NULL, NULL},
	    {"warn/argument-hint-unquoted.md", true, "yaml-unquoted-value", 4, 1, NULL, NULL},
	    /* skipped: the frontmatter cannot be read, or no description */
	    {"bad/no-frontmatter.md", false, "frontmatter-missing", 1, 1, NULL, NULL},
	    {"bad/unterminated.md", false, "frontmatter-unterminated", 1, 1, NULL, NULL},
	    {"bad/yaml-syntax.md", false, "yaml-syntax", 4, 1, NULL, NULL},
	    {"bad/description-required.md", false, "description-required", 2, 1, NULL, NULL},
	    {"bad/description-empty.md", false, "description-length", 3, 14, NULL, NULL},
	    {"bad/not-mapping.md", false, "frontmatter-not-mapping", 2, 1, NULL, NULL},
	    {"bad/encoding.md", false, "encoding", 3, 17, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct expect *e = &cases[i];
		char p[CTXD_PATH_MAX * 2];
		snprintf(p, sizeof(p), "%s/%s", corpus, e->file);
		size_t len;
		char *buf = slurp(p, &len);
		struct ctxd_skill_doc *d =
		    ctxd_skill_md_parse(buf, len, e->folder ? e->folder : "demo-skill", p);
		free(buf);
		ASSERT(d);
		if (d->valid != e->valid) {
			fprintf(stderr, "%s: valid=%d\n", e->file, d->valid);
			for (size_t k = 0; k < d->n_diags; k++) {
				fprintf(stderr, "  %u:%u %s %s\n", d->diags[k].line,
					d->diags[k].col, d->diags[k].rule, d->diags[k].message);
			}
			abort();
		}
		if (!e->rule) {
			ASSERT_EQ(d->n_diags, 0);
		} else {
			const struct ctxd_skill_diag *g = find_diag(d, e->rule);
			if (!g || g->line != e->line || g->col != e->col) {
				fprintf(stderr, "%s: want %s at %u:%u, got %s at %u:%u\n", e->file,
					e->rule, e->line, e->col, g ? g->rule : "-",
					g ? g->line : 0, g ? g->col : 0);
				abort();
			}
			ASSERT_STR_EQ(g->file, p);
			ASSERT(g->message[0]);
			ASSERT_EQ(g->error, !e->valid);
		}
		for (size_t k = 0; k < d->n_diags; k++) { /* no raw strerror text */
			ASSERT(!strstr(d->diags[k].message, "cross-device"));
		}
		if (d->valid) {
			ASSERT_STR_EQ(d->name, e->name ? e->name : "demo-skill");
			ASSERT(json_is_object(d->frontmatter));
		}
		ctxd_skill_md_put(d);
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
		struct ctxd_skill_doc *d = ctxd_skill_md_parse(buf, len, "demo-skill", p);
		free(buf);
		ASSERT(d && d->valid);
		ASSERT_STR_EQ(strcmp(checks[i].field, "body") == 0 ? d->body : d->description,
			      checks[i].want);
		ctxd_skill_md_put(d);
	}
	char p[CTXD_PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/good/all-fields.md", corpus);
	size_t len;
	char *buf = slurp(p, &len);
	struct ctxd_skill_doc *d = ctxd_skill_md_parse(buf, len, "demo-skill", p);
	free(buf);
	char *fm = json_dumps(d->frontmatter, JSON_SORT_KEYS | JSON_COMPACT);
	ASSERT_CONTAINS(fm, "\"metadata\":{\"author\":\"ctxd\",\"version\":\"1.2\"}");
	ASSERT_CONTAINS(fm, "\"license\":\"MIT\"");
	ASSERT_CONTAINS(fm, "\"allowed-tools\":\"Bash(git:*) Read\"");
	free(fm);
	ctxd_skill_md_put(d);
	/* the huge description loads, with a warning giving its length */
	snprintf(p, sizeof(p), "%s/warn/description-length.md", corpus);
	buf = slurp(p, &len);
	d = ctxd_skill_md_parse(buf, len, "demo-skill", p);
	free(buf);
	ASSERT(d->valid);
	ASSERT_CONTAINS(find_diag(d, "description-length")->message, "1100");
	ASSERT_EQ(strlen(d->description), 1100);
	ctxd_skill_md_put(d);
	/* argument names: `arguments:` (a list), `argument-hint` words ([a] [b] unquoted, a
	 * one-item YAML list, or a quoted string) */
	struct {
		const char *file;
		const char *args;  /* arg_names joined by ',' */
		const char *hints; /* hint_names joined by ',' */
	} an[] = {
	    {"good/arguments.md", "file,mode", "file,mode"},
	    {"warn/argument-hint-unquoted.md", "", "pr-number,priority"},
	    {"good/argument-hint-list.md", "", "issue-number"},
	    {"good/basic.md", "", ""},
	};
	for (size_t i = 0; i < sizeof(an) / sizeof(an[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", corpus, an[i].file);
		buf = slurp(p, &len);
		d = ctxd_skill_md_parse(buf, len, "demo-skill", p);
		free(buf);
		ASSERT(d && d->valid);
		char got[200] = "", hint[200] = "";
		for (size_t k = 0; k < d->n_arg_names; k++) {
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", k ? "," : "",
				 d->arg_names[k]);
		}
		for (size_t k = 0; k < d->n_hint_names; k++) {
			snprintf(hint + strlen(hint), sizeof(hint) - strlen(hint), "%s%s",
				 k ? "," : "", d->hint_names[k]);
		}
		ASSERT_STR_EQ(got, an[i].args);
		ASSERT_STR_EQ(hint, an[i].hints);
		ctxd_skill_md_put(d);
	}
	/* no name: the folder's, made safe for a prompt name and a URI (any bytes) */
	static const char *const folders[][2] = {
	    {"bad\xff name", "bad--name"},
	    {"..", "--"},
	    {"a:b/c", "a-b-c"},
	    {"ok", "ok"},
	};
	for (size_t i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		const char *md = "---\ndescription: d\n---\nx\n";
		d = ctxd_skill_md_parse(md, strlen(md), folders[i][0], "x");
		ASSERT(d && d->valid);
		ASSERT_STR_EQ(d->name, folders[i][1]);
		ctxd_skill_md_put(d);
	}
	{
		const char *md = "---\ndescription: d\n---\nx\n";
		d = ctxd_skill_md_parse(md, strlen(md), "", "x"); /* no name to serve it under */
		ASSERT(d && !d->valid);
		ASSERT(find_diag(d, "name-required")->error);
		ctxd_skill_md_put(d);
	}
	/* hints that are not a list of words declare nothing */
	static const char *const nohint[] = {
	    "---\nname: a\ndescription: d\nargument-hint: add [tagId] | remove [tagId]\n---\n",
	    "---\nname: a\ndescription: d\nargument-hint: {x: 1}\n---\n",
	    "---\nname: a\ndescription: d\narguments: [\"two words\", 7]\n---\n",
	};
	for (size_t i = 0; i < sizeof(nohint) / sizeof(nohint[0]); i++) {
		d = ctxd_skill_md_parse(nohint[i], strlen(nohint[i]), "a", "x");
		ASSERT(d && d->valid);
		ASSERT_EQ(d->n_hint_names, 0);
		ASSERT_EQ(d->n_arg_names, 0);
		ctxd_skill_md_put(d);
	}
	/* arbitrary bytes never crash the parser */
	unsigned seed = 7;
	for (int r = 0; r < 2000; r++) {
		char junk[256] = "---\nname: demo-skill\n";
		size_t n = strlen(junk);
		for (; n < sizeof(junk); n++) {
			seed = seed * 1103515245 + 12345;
			junk[n] = "ab: \n-\"'[{}]#|>&*!%\r\t\xc3\xa9"[(seed >> 16) % 24];
		}
		d = ctxd_skill_md_parse(junk, sizeof(junk), "demo-skill", "junk");
		ASSERT(d);
		ctxd_skill_md_put(d);
	}
}

/* ---- substitution ---- */

static void sub_names(const char *body, const char *args, char *const *names, size_t n,
		      const char *want)
{
	char *got = NULL;
	ASSERT_EQ(ctxd_skill_args_substitute(body, args, names, n, 1 << 20, &got, NULL), 0);
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "body %s\nargs %s\n got  %s\n want %s\n", body,
			args ? args : "(none)", got, want);
		abort();
	}
	free(got);
}

static void sub_is(const char *body, const char *args, const char *want)
{
	sub_names(body, args, NULL, 0, want);
}

static void test_skills_substitute(void)
{
	/* the placeholders */
	sub_is("Fix $ARGUMENTS.", "issue 12", "Fix issue 12.");
	sub_is("a=$0 b=$1 c=$2", "one \"two three\" 'four five'", "a=one b=two three c=four five");
	sub_is("x=$ARGUMENTS[1] y=$ARGUMENTS[9]", "p q", "x=q y=");
	sub_is("no placeholder", "a b", "no placeholder\n\nARGUMENTS: a b");
	sub_is("ends with newline\n", "z", "ends with newline\n\nARGUMENTS: z");
	sub_is("$1", "a\\ b c", "c");
	sub_is("$0", "a\\ b c", "a b");
	sub_is("", "only", "ARGUMENTS: only");
	sub_is("$10 and $1", "a b c d e f g h i j k", "k and b");
	/* no arguments: the body as written, $ARGUMENTS and $ARGUMENTS[N] empty */
	sub_is("no args, no append", NULL, "no args, no append");
	sub_is("lone $ and $x stay", NULL, "lone $ and $x stay");
	sub_is("a $ARGUMENTS b $ARGUMENTS[0] c $0 $1 $name", NULL, "a  b  c $0 $1 $name");
	sub_is("blank is none: $0 [$ARGUMENTS]", " \t", "blank is none: $0 []");
	sub_is("${SKILL_DIR} and ${CLAUDE_SKILL_DIR} stay", NULL,
	       "${SKILL_DIR} and ${CLAUDE_SKILL_DIR} stay");
	/* the real patterns public skills hold, with and without arguments */
	static const char *const plain[] = {
	    /* outside code these hold $N that arguments do fill; without arguments they
	     * stay as written */
	    "BASE_SHA=$(git log --oneline | grep \"Task 1\" | awk '{print $1}')\n",
	    "INSERT INTO t VALUES ($1, $2, $3);\n",
	};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		sub_is(plain[i], NULL, plain[i]);
	}
	static const char *const literal[] = {
	    "- Example: Use =B5*(1+$B$6) instead of =B5*1.05\n",
	    "```\nBASE_SHA=$(git log | awk '{print $1}')\n```\n",
	    "$$ct^{d}$$ and $$x$$\n",
	    "It costs $30/month, or $1.20 a day, $3,000 a year.\n",
	    "```bash\nawk '{print $1}' file | sort\necho $2\n```\n",
	    "~~~\nprintf \"%s\" $1\n~~~\n",
	    "Run `awk '{print $1}'` or ``echo $2 `x` $3`` inline.\n",
	    "Cell A$1 and $$1 and 5$1 stay.\n",
	};
	for (size_t i = 0; i < sizeof(literal) / sizeof(literal[0]); i++) {
		sub_is(literal[i], NULL, literal[i]);
		/* with arguments, none of these is a placeholder: the text stays and the
		 * arguments are appended */
		char want[512];
		snprintf(want, sizeof(want), "%s\nARGUMENTS: p q r s", literal[i]);
		sub_is(literal[i], "p q r s", want);
	}
	/* $N outside code is replaced, inside a fence or a span it is not */
	sub_is("Use $0 now.\n```\nawk '{print $0}'\n```\nThen `$1` and $1 too.\n", "x y",
	       "Use x now.\n```\nawk '{print $0}'\n```\nThen `$1` and y too.\n");
	sub_is("Use $0. Or $1, or $0x.", "x y", "Use $0. Or $1, or xx.");
	/* an unclosed fence runs to the end; an unclosed backtick is literal */
	sub_is("```\n$0\n", "x", "```\n$0\n\nARGUMENTS: x");
	sub_is("a ` b $0\n", "x", "a ` b x\n");
	/* a span does not cross a blank line */
	sub_is("`a\n\n$0 b`\n", "x", "`a\n\nx b`\n");
	/* $ARGUMENTS is replaced everywhere, code included */
	sub_is("```\nrun $ARGUMENTS\n```\n", "x y", "```\nrun x y\n```\n");
	/* \$ keeps a placeholder literal; \$ before anything else stays as written */
	sub_is("\\$ARGUMENTS is $ARGUMENTS; \\$0 is $0; \\$9 and \\$x stay", "a",
	       "$ARGUMENTS is a; $0 is a; \\$9 and \\$x stay");
	sub_is("\\$ARGUMENTS", NULL, "$ARGUMENTS");
	sub_is("\\$$ and $$ARGUMENTS", "a", "\\$$ and $$ARGUMENTS\n\nARGUMENTS: a");
	/* names from the frontmatter `arguments:` list */
	char *names[] = {"file", "mode", "file-name"};
	sub_names("Review $file in $mode mode ($file-name); $filex stays; $0 is $1",
		  "a.c strict b.c", names, 3,
		  "Review a.c in strict mode (b.c); $filex stays; a.c is strict");
	sub_names("```\ngit diff $file\n```\n", "a.c", names, 3, "```\ngit diff a.c\n```\n");
	sub_names("$mode past the end", "a.c", names, 3, " past the end");
	sub_names("\\$file stays", "a.c", names, 3, "$file stays\n\nARGUMENTS: a.c");
	sub_names("$file without arguments", NULL, names, 3, "$file without arguments");
	/* the cap: no output past it, whatever the amplification (issue 12 item 7: "$0" x
	 * 100,000 with a 10 KB argument reached 3 GB) */
	char *body = malloc(240001);
	for (size_t i = 0; i < 80000; i++) {
		memcpy(body + 3 * i, "$0 ", 3);
	}
	body[240000] = '\0';
	char *arg = malloc(10001);
	memset(arg, 'x', 10000);
	arg[10000] = '\0';
	char *out = NULL;
	ASSERT_EQ(ctxd_skill_args_substitute(body, arg, NULL, 0, 256 << 10, &out, NULL), -E2BIG);
	ASSERT(out == NULL);
	arg[10] = '\0'; /* 80,000 x 11 bytes: still past 256 KiB */
	ASSERT_EQ(ctxd_skill_args_substitute(body, arg, NULL, 0, 256 << 10, &out, NULL), -E2BIG);
	arg[1] = '\0'; /* 160,000 bytes fit */
	size_t len = 0;
	ASSERT_EQ(ctxd_skill_args_substitute(body, arg, NULL, 0, 256 << 10, &out, &len), 0);
	ASSERT_EQ(len, 160000);
	free(out);
	for (size_t i = 0; i < 20000; i++) { /* $ARGUMENTS needs no separator */
		memcpy(body + 10 * i, "$ARGUMENTS", 10);
	}
	body[200000] = '\0';
	memset(arg, 'y', 10000);
	ASSERT_EQ(ctxd_skill_args_substitute(body, arg, NULL, 0, 256 << 10, &out, NULL), -E2BIG);
	free(arg);
	free(body);
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
	struct ctxd_tool_ctx ctx = {&cfg, sb, NULL, NULL, sk};
	json_t *res = tt_run(tt_tool(ctxd_skills_tools, ctxd_skills_tools_count, name), &ctx, args);
	json_decref(args);
	return res;
}
static json_t *sc(json_t *res)
{
	return json_object_get(res, "structuredContent");
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
	      "Review $ARGUMENTS[0] against references/checklist.md (${SKILL_DIR} stays).\n");
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
	sk = ctxd_sk_create(&cfg, sb, NULL, &err);
	ASSERT(sk);
}

static void teardown(void)
{
	ctxd_sk_detach(sk);
	ctxd_sk_destroy(sk);
	ctxd_sandbox_destroy(sb);
	ctxd_config_finish(&cfg);
}

static void test_skills_discovery(void)
{
	const char *x[8];
	size_t nx = ctxd_sk_extra_dirs(sk, x, 8);
	ASSERT_EQ(nx, 2); /* the config dir and ~/.claude/skills (no ~/.agents/skills) */
	char real[CTXD_PATH_MAX];
	ASSERT(realpath(extra, real));
	ASSERT_STR_EQ(x[0], real);
	ASSERT(ctxd_sk_snapshot_peek(sk) == NULL); /* lazy */
	struct ctxd_skills_snapshot *s = ctxd_sk_snapshot(sk);
	ASSERT(s);
	const char *want[] = {"agent-only", "deep5", "dup", "home-only", "linked", "review"};
	ASSERT_EQ(s->n_skills, 6);
	for (size_t i = 0; i < 6; i++) {
		ASSERT_STR_EQ(s->skills[i].name, want[i]);
	}
	const struct ctxd_skill *d = ctxd_sk_find(s, "dup");
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
	ASSERT(!ctxd_sk_find(s, "deep6"));
	ASSERT(!ctxd_sk_find(s, "hidden-a"));
	ASSERT(!ctxd_sk_find(s, "hidden-b"));
	const struct ctxd_skill *r = ctxd_sk_find(s, "review");
	ASSERT_EQ(r->n_files, 2);
	ASSERT_STR_EQ(r->files[0], "logo.bin");
	ASSERT_STR_EQ(r->files[1], "references/checklist.md");
	/* a second scan with nothing changed re-uses every parsed document */
	struct ctxd_skill_doc *before = r->doc;
	ASSERT(!ctxd_sk_rescan(sk));
	struct ctxd_skills_snapshot *s2 = ctxd_sk_snapshot(sk);
	ASSERT(s2 != s);
	ASSERT(ctxd_sk_find(s2, "review")->doc == before);
	ctxd_sk_snapshot_put(s2);
	ctxd_sk_snapshot_put(s);
}

static void test_skills_dir_cap(void)
{
	struct ctxd_config c2;
	ctxd_config_init(&c2);
	c2.skills_max_dirs = 3;
	c2.skills_user_dirs = false;
	struct ctxd_error err;
	struct ctxd_skills *k = ctxd_sk_create(&c2, sb, NULL, &err);
	ASSERT(k);
	struct ctxd_skills_snapshot *s = ctxd_sk_snapshot(k);
	ASSERT(s && s->dir_cap_hit);
	ASSERT(snap_diag(s, "dir-cap", NULL));
	ASSERT(s->n_skills < 4);
	ctxd_sk_snapshot_put(s);
	ctxd_sk_destroy(k);
	ctxd_config_finish(&c2);
}

static void test_skills_tools(void)
{
	json_t *r = call("skill_list", "{}");
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "skills")), 6);
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "skipped")), 1);
	ASSERT_CONTAINS(tt_text(r), "review: Review code changes with a checklist");
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
	ASSERT(!tt_is_error(r));
	const char *body = json_string_value(json_object_get(sc(r), "body"));
	ASSERT_STR_EQ(body, "Review src/main.c against references/checklist.md (${SKILL_DIR} "
			    "stays).\n");
	ASSERT_CONTAINS(tt_text(r), "/.claude/skills/review\n");
	ASSERT_EQ(json_array_size(json_object_get(sc(r), "files")), 2);
	ASSERT_CONTAINS(tt_text(r), "Base directory: ");
	ASSERT_CONTAINS(tt_text(r), "- references/checklist.md");
	json_decref(r);
	r = call("skill_activate", "{\"name\":\"agent-only\",\"arguments\":\"go\"}");
	ASSERT_STR_EQ(json_string_value(json_object_get(sc(r), "body")), "agents\n\nARGUMENTS: go");
	json_decref(r);
	r = call("skill_activate", "{\"name\":\"broken\"}");
	ASSERT(tt_is_error(r));
	ASSERT_CONTAINS(tt_text(r), "unknown skill 'broken'");
	json_decref(r);

	r = call("skill_read_file", "{\"name\":\"review\",\"path\":\"references/checklist.md\"}");
	ASSERT(!tt_is_error(r));
	ASSERT_STR_EQ(tt_text(r), "# Checklist\n- tests\n");
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
		ASSERT(tt_is_error(r));
		json_decref(r);
	}

	r = call("skill_diagnostics", "{}");
	ASSERT_CONTAINS(tt_text(r), "broken/SKILL.md:2:1: error [description-required]");
	ASSERT_CONTAINS(tt_text(r), "[shadowed]");
	json_decref(r);

	/* the skill_activate description embeds the catalogue */
	const struct ctxd_tool *act = &ctxd_skills_tools[1];
	char *desc = act->describe(sk);
	ASSERT_CONTAINS(desc, "- review: Review code changes with a checklist");
	free(desc);
}

/* A bundled file whose name is not UTF-8 (a Latin-1 e-acute) is shown with U+FFFD in
 * skill_activate's text and JSON, as every tool shows such names (it was '?' in the JSON,
 * and the raw byte made the text block fail). */
static void test_skills_invalid_utf8_name(void)
{
	char dir[CTXD_PATH_MAX], f[CTXD_PATH_MAX + 32];
	snprintf(dir, sizeof(dir), "%s/latin1", tmp);
	skill(dir, "latin", "A bundled file named in Latin-1", "Body.\n");
	snprintf(f, sizeof(f), "%s/latin/caf\xe9.txt", dir);
	put(f, "x\n");
	struct ctxd_config c2;
	ctxd_config_init(&c2);
	c2.skills_user_dirs = false;
	ASSERT_EQ(ctxd_config_add_skills_dir(&c2, dir), 0);
	struct ctxd_error err;
	struct ctxd_skills *k = ctxd_sk_create(&c2, sb, NULL, &err);
	ASSERT(k);
	const struct ctxd_tool *act = &ctxd_skills_tools[1];
	ASSERT_STR_EQ(act->name, "skill_activate");
	struct ctxd_tool_ctx ctx = {&c2, sb, NULL, NULL, k};
	json_t *args = json_pack("{s:s}", "name", "latin");
	json_t *r = act->fn(&ctx, args);
	json_decref(args);
	ASSERT(r && !tt_is_error(r));
	json_t *files = json_object_get(sc(r), "files");
	ASSERT_EQ(json_array_size(files), 1);
	ASSERT_STR_EQ(json_string_value(json_array_get(files, 0)), "caf\xEF\xBF\xBD.txt");
	ASSERT_CONTAINS(tt_text(r), "\n- caf\xEF\xBF\xBD.txt");
	json_decref(r);
	ctxd_sk_destroy(k);
	ctxd_config_finish(&c2);
}

static void test_skills_providers(void)
{
	struct ctxd_provider_ctx pc = {&cfg, sb, NULL, NULL};
	struct ctxd_error err;
	struct ctxd_prompt_provider prompts;
	ctxd_skills_prompts_init(&prompts, sk);
	const struct ctxd_prompt_provider *pp = &prompts;
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
	ASSERT_EQ(err.kind, CTXD_ERR_NOT_FOUND);
	args = json_pack("{s:i}", "arguments", 3);
	ASSERT(!pp->get(pp->ud, &pc, "review", args, &err));
	ASSERT_EQ(err.kind, CTXD_ERR_INVALID_PARAMS);
	json_decref(args);

	struct ctxd_resource_provider res;
	ctxd_skills_resources_init(&res, sk);
	const struct ctxd_resource_provider *rp = &res;
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
	ASSERT_EQ(err.kind, CTXD_ERR_NOT_FOUND);
	ASSERT(!rp->read(rp->ud, &pc, "skill://review/../dup/SKILL.md", &err));
	ASSERT(!rp->read(rp->ud, &pc, "skill://broken/SKILL.md", &err));
	ASSERT_EQ(err.kind, CTXD_ERR_NOT_FOUND);
	char wp[CTXD_PATH_MAX];
	ASSERT_EQ(rp->watch_path(rp->ud, &pc, "skill://review/SKILL.md", wp, sizeof(wp)), 0);
	ASSERT_CONTAINS(wp, "/.claude/skills/review/SKILL.md");
	out = json_array();
	size_t total = 0;
	ASSERT_EQ(rp->complete(rp->ud, &pc, "skill://{name}/SKILL.md", "name", "d", NULL, out,
			       &total, &err),
		  0);
	ASSERT_EQ(total, 2); /* deep5, dup */
	json_decref(out);
	out = json_array();
	json_t *ctxa = json_pack("{s:s}", "name", "review");
	ASSERT_EQ(rp->complete(rp->ud, &pc, "skill://{name}/{+path}", "path", "ref", ctxa, out,
			       &total, &err),
		  0);
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
	json_t *r = ctxd_skills_list_method(sk, &pc, "skills/list", NULL, &err);
	ASSERT(r);
	ASSERT_EQ(json_array_size(json_object_get(r, "skills")), 4);
	ASSERT_STR_EQ(json_string_value(json_object_get(r, "nextCursor")), "4");
	json_decref(r);
	json_t *p = json_pack("{s:s}", "cursor", "4");
	r = ctxd_skills_list_method(sk, &pc, "skills/list", p, &err);
	json_decref(p);
	ASSERT_EQ(json_array_size(json_object_get(r, "skills")), 2);
	ASSERT(!json_object_get(r, "nextCursor"));
	json_t *rev = json_array_get(json_object_get(r, "skills"), 1);
	ASSERT_STR_EQ(json_string_value(json_object_get(rev, "uri")), "skill://review/SKILL.md");
	ASSERT_STR_EQ(
	    json_string_value(json_object_get(json_object_get(rev, "frontmatter"), "name")),
	    "review");
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
	ASSERT(!ctxd_skills_list_method(sk, &pc, "skills/list", p, &err));
	ASSERT_EQ(err.kind, CTXD_ERR_INVALID_PARAMS);
	json_decref(p);
	p = json_pack("{s:s}", "uri", "skill://dup/SKILL.md");
	r = ctxd_skills_get_method(sk, &pc, "skills/get", p, &err);
	json_decref(p);
	ASSERT(r);
	ASSERT_STR_EQ(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(r, "skill"), "frontmatter"), "description")),
	    "from the config dir");
	json_decref(r);
	p = json_pack("{s:s}", "uri", "skill://broken/SKILL.md");
	ASSERT(!ctxd_skills_get_method(sk, &pc, "skills/get", p, &err));
	ASSERT_EQ(err.kind, CTXD_ERR_INVALID_PARAMS);
	json_decref(p);
	json_t *bad = json_array();
	ASSERT(!ctxd_skills_list_method(sk, &pc, "skills/list", bad, &err));
	ASSERT_EQ(err.kind, CTXD_ERR_INVALID_PARAMS);
	json_decref(bad);
	json_t *cap = ctxd_skills_capability();
	ASSERT(json_is_object(cap) && json_object_size(cap) == 0);
	json_decref(cap);
}

/* ---- leniency on real patterns, in a --skills-dir of its own ---- */

static struct ctxd_skills *make_family(struct ctxd_config *c, const char *dir, size_t budget)
{
	ctxd_config_init(c);
	c->skills_user_dirs = false;
	if (budget) {
		c->skills_catalogue_bytes = budget;
	}
	ASSERT_EQ(ctxd_config_add_skills_dir(c, dir), 0);
	struct ctxd_error err;
	struct ctxd_skills *k = ctxd_sk_create(c, NULL, NULL, &err);
	ASSERT(k);
	return k;
}

static void test_skills_lenient(void)
{
	char dir[1200], p[CTXD_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/lenient", tmp);
	mkp(dir);
	/* anthropics/skills' template: the name differs from its folder */
	snprintf(p, sizeof(p), "%s/template", dir);
	mkp(p);
	snprintf(p, sizeof(p), "%s/template/SKILL.md", dir);
	put(p,
	    "---\nname: template-skill\ndescription: Replace with a description.\n---\n# Body\n");
	/* claude-api: a description over 1,024 characters */
	char longdesc[1200];
	memset(longdesc, 'd', 1068);
	longdesc[1068] = '\0';
	skill(dir, "long-desc", longdesc, "Long.\n");
	/* a lowercase skill.md, and a Unicode lowercase name */
	snprintf(p, sizeof(p), "%s/lower", dir);
	mkp(p);
	snprintf(p, sizeof(p), "%s/lower/skill.md", dir);
	put(p, "---\nname: lower\ndescription: A lowercase skill.md.\n---\nLower body.\n");
	skill(dir,
	      "donn\xc3\xa9"
	      "es",
	      "Un nom en minuscules Unicode.", "Corps.\n");
	/* one skill with two errors counts once in skill_list's skipped */
	snprintf(p, sizeof(p), "%s/two-errors", dir);
	mkp(p);
	snprintf(p, sizeof(p), "%s/two-errors/SKILL.md", dir);
	put(p, "---\nname: two-errors\ndescription: [not, a, string]\n---\nx\n");
	/* a name over 64 characters loads, and its skill:// URI works */
	char longname[80];
	memset(longname, 'n', 70);
	longname[70] = '\0';
	skill(dir, longname, "A long name.", "Long name body.\n");
	struct ctxd_config c;
	struct ctxd_skills *k = make_family(&c, dir, 0);
	struct ctxd_skills_snapshot *s = ctxd_sk_snapshot(k);
	ASSERT(s);
	const char *want[] = {"donn\xc3\xa9"
			      "es",
			      "long-desc", "lower", longname, "template-skill"};
	ASSERT_EQ(s->n_skills, 5);
	for (size_t i = 0; i < 5; i++) {
		ASSERT_STR_EQ(s->skills[i].name, want[i]);
	}
	ASSERT(snap_diag(s, "name-length", longname));
	struct ctxd_provider_ctx pc = {&c, NULL, NULL, NULL};
	struct ctxd_error perr;
	struct ctxd_resource_provider res;
	ctxd_skills_resources_init(&res, k);
	const struct ctxd_resource_provider *rp = &res;
	char uri[200];
	snprintf(uri, sizeof(uri), "skill://%s/SKILL.md", longname);
	json_t *rr = rp->read(rp->ud, &pc, uri, &perr);
	ASSERT(rr);
	ASSERT_CONTAINS(json_string_value(json_object_get(json_array_get(rr, 0), "text")),
			"Long name body.");
	json_decref(rr);
	ASSERT(snap_diag(s, "name-mismatch", "template/SKILL.md"));
	ASSERT(snap_diag(s, "description-length", "long-desc/SKILL.md"));
	size_t errors = 0;
	for (size_t i = 0; i < s->n_diags; i++) {
		errors += s->diags[i].error;
		ASSERT(!s->diags[i].error || strstr(s->diags[i].file, "two-errors"));
	}
	ASSERT_EQ(errors, 2);
	ASSERT_EQ(s->n_skipped, 1);
	const struct ctxd_skill *lo = ctxd_sk_find(s, "lower");
	ASSERT(lo->lower_md);
	ASSERT_EQ(lo->n_files, 0);
	ASSERT_CONTAINS(lo->skill_md, "/lower/skill.md");
	ctxd_sk_snapshot_put(s);
	struct ctxd_skills *saved = sk;
	sk = k;
	json_t *r = call("skill_list", "{}");
	ASSERT_EQ(json_integer_value(json_object_get(sc(r), "skipped")), 1);
	ASSERT_CONTAINS(tt_text(r), "1 skill was skipped");
	json_decref(r);
	r = call("skill_read_file", "{\"name\":\"lower\",\"path\":\"SKILL.md\"}");
	ASSERT_CONTAINS(json_string_value(json_object_get(sc(r), "content")), "Lower body.");
	json_decref(r);
	r = call("skill_activate", "{\"name\":\"template-skill\"}");
	ASSERT_STR_EQ(json_string_value(json_object_get(sc(r), "body")), "# Body\n");
	json_decref(r);
	sk = saved;
	ctxd_sk_destroy(k);
	ctxd_config_finish(&c);
}

/* ---- the catalogue in skill_activate's description ---- */

static const char *const generic[] = {"Helps with tasks.", "Useful helper for various things.",
				      "A general purpose helper skill."};

/* 771 skills: names k000..k770; every 50th has a generic description, the others a
 * specific one of varying length. */
static void make_catalogue(const char *dir)
{
	mkp(dir);
	for (int i = 0; i < 771; i++) {
		char name[16], desc[400];
		snprintf(name, sizeof(name), "k%03d", i);
		if (i % 50 == 7) {
			snprintf(desc, sizeof(desc), "%s", generic[i % 3]);
		} else {
			int n = snprintf(desc, sizeof(desc),
					 "Convert quarterly ledger%03d exports into reconciled "
					 "spreadsheet%03d reports with audit trails",
					 i, i);
			for (int k = 0; k < i % 5; k++) {
				n += snprintf(desc + n, sizeof(desc) - (size_t)n,
					      " and widget%03d-%d checks", i, k);
			}
		}
		char p[CTXD_PATH_MAX], md[CTXD_PATH_MAX + 16];
		snprintf(p, sizeof(p), "%s/%s", dir, name);
		ASSERT_EQ(mkdir(p, 0755), 0); /* not mkp: one call per folder keeps this fast */
		snprintf(md, sizeof(md), "%s/SKILL.md", p);
		char text[600];
		snprintf(text, sizeof(text), "---\nname: %s\ndescription: %s\n---\nBody.\n", name,
			 desc);
		put(md, text);
	}
}

/* The catalogue part of skill_activate's description (after "Available skills:"). */
static char *catalogue_of(struct ctxd_skills *k)
{
	struct ctxd_skills_snapshot *s = ctxd_sk_snapshot(k);
	ctxd_sk_snapshot_put(s);
	char *d = ctxd_skills_tools[1].describe(k);
	ASSERT(d);
	char *c = strstr(d, "Available skills:");
	ASSERT(c);
	char *out = strdup(c + strlen("Available skills:"));
	free(d);
	return out;
}

static bool listed(const char *cat, const char *name)
{
	char a[32], b[32];
	snprintf(a, sizeof(a), "\n- %s: ", name);
	snprintf(b, sizeof(b), " %s,", name);
	size_t l = strlen(cat), nl = strlen(name);
	return strstr(cat, a) || strstr(cat, b) ||
	       (l > nl && strcmp(cat + l - nl, name) == 0 && cat[l - nl - 1] == ' ');
}

static void test_skills_catalogue(void)
{
	char dir[1200];
	snprintf(dir, sizeof(dir), "%s/catalogue", tmp);
	make_catalogue(dir);
	struct {
		size_t budget;
		int mode; /* 0 whole, 1 shortened, 2 some names only, 3 names cut */
	} cases[] = {{0, 2}, {1 << 20, 0}, {60000, 1}, {12000, 2}, {3000, 3}};
	struct ctxd_config c;
	struct ctxd_skills *k = make_family(&c, dir, 0);
	ASSERT_EQ(c.skills_catalogue_bytes, 8192); /* the default */
	for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
		if (cases[ci].budget) {
			c.skills_catalogue_bytes = cases[ci].budget;
		}
		ctxd_sk_rescan(k); /* a new snapshot: the catalogue is built again */
		char *cat = catalogue_of(k);
		size_t budget = c.skills_catalogue_bytes;
		if (strlen(cat) > budget) {
			fprintf(stderr, "budget %zu: catalogue of %zu bytes\n", budget,
				strlen(cat));
			abort();
		}
		size_t missing = 0, described = 0, cut = 0;
		for (int i = 0; i < 771; i++) {
			char name[16];
			snprintf(name, sizeof(name), "k%03d", i);
			missing += !listed(cat, name);
			char a[32];
			snprintf(a, sizeof(a), "\n- %s: ", name);
			const char *e = strstr(cat, a);
			described += e != NULL;
			const char *eol = e ? strchr(e + 1, '\n') : NULL;
			cut += e && (eol ? memcmp(eol - 3, "...", 3) == 0 : false);
		}
		switch (cases[ci].mode) {
		case 0:
			ASSERT_EQ(missing, 0);
			ASSERT_EQ(described, 771);
			ASSERT_EQ(cut, 0);
			ASSERT(!strstr(cat, "Also installed"));
			break;
		case 1:
			ASSERT_EQ(missing, 0);
			ASSERT_EQ(described, 771);
			ASSERT(cut > 0);
			break;
		case 2:
			/* every name, some without description: the generic ones first */
			ASSERT_EQ(missing, 0);
			ASSERT(described < 771);
			ASSERT_CONTAINS(cat,
					"Also installed (call skill_list for their descriptions):");
			for (int i = 7; i < 771; i += 50) {
				char a[32];
				snprintf(a, sizeof(a), "\n- k%03d: ", i);
				ASSERT(!strstr(cat, a));
			}
			break;
		case 3: {
			/* the names alone exceed the budget: how many are missing, and skill_list
			 */
			ASSERT(missing > 0);
			char tail[80];
			snprintf(tail, sizeof(tail), "... and %zu more: call skill_list", missing);
			ASSERT_CONTAINS(cat, tail);
			ASSERT(listed(cat, "k000"));
			break;
		}
		}
		free(cat);
	}
	ctxd_sk_destroy(k);
	ctxd_config_finish(&c);
}

/* ---- hot reload: a real loop, watch and pool ---- */

static void nowake(void *ud)
{
	(void)ud;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One turn of the loop and the pool; fails the test after 60 s (a hang guard only: every
 * caller waits for an event, never for a time). */
static void turn(struct ev_loop *loop, struct ctxd_pool *pool, double start)
{
	ASSERT(now_s() - start < 60.0);
	ev_run(loop, EVRUN_NOWAIT);
	ctxd_pool_drain(pool);
	struct timespec ts = {0, 1000 * 1000};
	nanosleep(&ts, NULL);
}

/* Run the loop until the catalogue holds (or lacks) `name`. */
static bool wait_for(struct ev_loop *loop, struct ctxd_pool *pool, const char *name, bool present,
		     const char *desc)
{
	for (double start = now_s();; turn(loop, pool, start)) {
		struct ctxd_skills_snapshot *s = ctxd_sk_snapshot_peek(sk);
		const struct ctxd_skill *k = s ? ctxd_sk_find(s, name) : NULL;
		bool ok = present ? k && (!desc || strcmp(k->doc->description, desc) == 0) : !k;
		ctxd_sk_snapshot_put(s);
		if (ok) {
			return true;
		}
	}
}

/* Run the loop until the watch holds more than `than` registrations. A rescan publishes
 * its catalogue on the worker and registers its watches afterwards on the loop (all at
 * once), so a test that changes a skill's files must wait for this, not only for the
 * catalogue, or the change can happen before its directory is watched. */
static void wait_watches(struct ev_loop *loop, struct ctxd_pool *pool, struct ctxd_watch *w,
			 size_t than)
{
	for (double start = now_s(); ctxd_watch_count(w) <= than; turn(loop, pool, start)) {
	}
}

static void test_skills_hot_reload(void)
{
	json_object_seed(0);
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct ctxd_watch *w = ctxd_watch_create(loop, 20);
	struct ctxd_pool *pool = ctxd_pool_create(2, nowake, NULL);
	ASSERT(loop && w && pool);
	struct ctxd_error err;
	struct ctxd_skills *k = ctxd_sk_create(&cfg, sb, pool, &err);
	ASSERT(k);
	struct ctxd_skills *saved = sk;
	sk = k;
	ctxd_sk_attach(k, w);
	ASSERT(wait_for(loop, pool, "review", true, NULL));
	wait_watches(loop, pool, w, 0); /* the first scan registered its watches */
	ASSERT(ctxd_watch_count(w) > 5);
	char cl[1200], p[CTXD_PATH_MAX];
	snprintf(cl, sizeof(cl), "%s/.claude/skills", root);
	/* create */
	size_t watched = ctxd_watch_count(w);
	skill(cl, "fresh", "a new skill", "new\n");
	ASSERT(wait_for(loop, pool, "fresh", true, NULL));
	wait_watches(loop, pool, w, watched); /* fresh/ is watched now */
	/* edit */
	snprintf(p, sizeof(p), "%s/fresh/SKILL.md", cl);
	put(p, "---\nname: fresh\ndescription: edited text\n---\nedited\n");
	ASSERT(wait_for(loop, pool, "fresh", true, "edited text"));
	/* delete */
	ASSERT_EQ(unlink(p), 0);
	ASSERT(wait_for(loop, pool, "fresh", false, NULL));
	snprintf(p, sizeof(p), "%s/fresh", cl);
	rmdir(p);
	ctxd_sk_detach(k);
	ASSERT_EQ(ctxd_watch_count(w), 0);
	ctxd_pool_destroy(pool);
	ctxd_sk_destroy(k);
	ctxd_watch_destroy(w);
	ev_loop_destroy(loop);
	sk = saved;
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "%s/skills-XXXXXX", test_tmp_base());
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
	RUN(test_skills_invalid_utf8_name);
	RUN(test_skills_sep);
	RUN(test_skills_hot_reload);
	RUN(test_skills_lenient);
	RUN(test_skills_catalogue);
	teardown();
	tree_rm_rf(tmp);
	return 0;
}
