/* fs_search.c - search_files: globs compiled once (braces expanded with a budget), the
 * parallel walk of fs_pwalk.c with the ignore rules of fs_ignore.c, sorted absolute paths.
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
#include "fs_ignore.h"
#include "fs_priv.h"
#include "fs_pwalk.h"
#include "fs_walk.h"
#include "schemas/schemas.h"

/* ---- search_files: glob patterns -------------------------------------------------- */

#define GLOB_MAX_COMPS 63
#define GLOB_MAX_ALTS  64

/* One brace-free pattern split into path components. State i of its matcher means "the
 * next path component must match comps[i]"; state n means "matched completely". */
struct glob {
	char *buf;
	char *comps[GLOB_MAX_COMPS];
	bool star2[GLOB_MAX_COMPS];   /* the component is exactly "**" */
	bool literal[GLOB_MAX_COMPS]; /* no glob characters: strcmp is enough */
	unsigned n;
	bool dir_only; /* written with a trailing '/' */
	bool basename; /* exclude pattern without '/': matches any entry's name */
	bool exclude;
};

struct globset {
	struct glob *v;
	size_t n, cap;
};

static void globset_free(struct globset *gs)
{
	for (size_t i = 0; i < gs->n; i++) {
		free(gs->v[i].buf);
	}
	free(gs->v);
}

static uint64_t glob_closure(const struct glob *g, uint64_t m)
{
	for (unsigned i = 0; i < g->n; i++) {
		if ((m >> i & 1) && g->star2[i]) {
			m |= (uint64_t)1 << (i + 1);
		}
	}
	return m;
}

static uint64_t glob_step(const struct glob *g, uint64_t m, const char *comp)
{
	uint64_t out = 0;
	for (unsigned i = 0; i < g->n; i++) {
		if (!(m >> i & 1)) {
			continue;
		}
		if (g->star2[i]) {
			out |= (uint64_t)1 << i;
		} else if (g->literal[i] ? strcmp(g->comps[i], comp) == 0
					 : fnmatch(g->comps[i], comp, 0) == 0) {
			out |= (uint64_t)1 << (i + 1);
		}
	}
	return glob_closure(g, out);
}

/* Compile one brace-free pattern. Returns 0, or -1 when it has too many components. */
static int glob_compile(struct globset *gs, const char *pat, size_t len, bool exclude)
{
	if (ctxd_grow((void **)&gs->v, &gs->cap, gs->n + 1, sizeof(*gs->v), 8)) {
		return -ENOMEM;
	}
	struct glob *g = &gs->v[gs->n];
	memset(g, 0, sizeof(*g));
	g->buf = strndup(pat, len);
	if (!g->buf) {
		return -ENOMEM;
	}
	gs->n++;
	g->exclude = exclude;
	g->basename = exclude && !memchr(pat, '/', len);
	char *s = g->buf;
	while (s[0] == '.' && s[1] == '/') {
		s += 2;
	}
	size_t sl = strlen(s);
	if (sl > 0 && s[sl - 1] == '/') {
		g->dir_only = true;
	}
	char *save = NULL;
	for (char *c = strtok_r(s, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		bool star2 = strcmp(c, "**") == 0;
		if (star2 && g->n > 0 && g->star2[g->n - 1]) {
			continue; /* '**' after '**' adds nothing */
		}
		if (g->n == GLOB_MAX_COMPS) {
			return -E2BIG;
		}
		g->comps[g->n] = c;
		g->star2[g->n] = star2;
		g->literal[g->n] = strpbrk(c, "*?[\\") == NULL;
		g->n++;
	}
	return 0;
}

/* The first '{' (leftmost) that has a matching '}' and a ',' at its own level, found in one
 * pass with a stack of open braces (a scan from every '{' was quadratic: 4 s for 100,000
 * unmatched '{'). Sets *open and *close; false when there is none. `st` holds len slots. */
static bool brace_group(const char *pat, size_t len, size_t *st, bool *comma, size_t *open,
			size_t *close)
{
	size_t depth = 0;
	bool found = false;
	for (size_t i = 0; i < len; i++) {
		if (pat[i] == '\\') {
			i++;
		} else if (pat[i] == '{') {
			comma[depth] = false;
			st[depth++] = i;
		} else if (pat[i] == ',' && depth > 0) {
			comma[depth - 1] = true;
		} else if (pat[i] == '}' && depth > 0) {
			depth--;
			if (comma[depth] && (!found || st[depth] < *open)) {
				found = true;
				*open = st[depth];
				*close = i;
			}
		}
	}
	return found;
}

static int brace_expand(const char *pat, size_t *budget,
			int (*emit)(void *ud, const char *p, size_t len), void *ud)
{
	size_t len = strlen(pat), i = 0, j = 0;
	size_t *st = malloc((len + 1) * sizeof(*st));
	bool *comma = malloc(len + 1);
	bool found = st && comma && brace_group(pat, len, st, comma, &i, &j);
	free(st);
	free(comma);
	if (!st || !comma) {
		return -ENOMEM;
	}
	if (!found) {
		if (*budget == 0) {
			return -ERANGE;
		}
		(*budget)--;
		return emit(ud, pat, len);
	}
	/* Alternatives are the top-level comma-separated pieces of pat[i+1, j). */
	size_t a = i + 1, depth = 0;
	for (size_t k = i + 1; k <= j; k++) {
		if (k < j && pat[k] == '\\') {
			k++;
			continue;
		}
		if (k < j && pat[k] == '{') {
			depth++;
		} else if (k < j && pat[k] == '}') {
			depth--;
		}
		if (k == j || (pat[k] == ',' && depth == 0)) {
			size_t nl = i + (k - a) + (len - j - 1);
			char *alt = malloc(nl + 1);
			if (!alt) {
				return -ENOMEM;
			}
			memcpy(alt, pat, i);
			memcpy(alt + i, pat + a, k - a);
			memcpy(alt + i + (k - a), pat + j + 1, len - j - 1);
			alt[nl] = '\0';
			int rc = brace_expand(alt, budget, emit, ud);
			free(alt);
			if (rc < 0) {
				return rc;
			}
			a = k + 1;
		}
	}
	return 0;
}

/* Expand {a,b} alternatives of `pat` (nested allowed, backslash escapes), calling `emit`
 * for each resulting pattern; at most *budget results (-ERANGE past it). A '{' without a
 * matching '}' or without a top-level ',' is literal. Patterns longer than
 * CTXD_FS_GLOB_MAX are refused (-E2BIG) before any work. Shared by search_files and grep. */
int ctxd_fs_brace_expand(const char *pat, size_t *budget,
			 int (*emit)(void *ud, const char *p, size_t len), void *ud)
{
	if (strlen(pat) > CTXD_FS_GLOB_MAX) {
		return -E2BIG;
	}
	return brace_expand(pat, budget, emit, ud);
}

struct glob_emit_ud {
	struct globset *gs;
	bool exclude;
};

static int glob_emit(void *ud, const char *p, size_t len)
{
	struct glob_emit_ud *u = ud;
	return glob_compile(u->gs, p, len, u->exclude);
}

/* Expand `pat`'s alternatives and compile each into `gs`. */
static int glob_expand(struct globset *gs, const char *pat, bool exclude, size_t *budget)
{
	struct glob_emit_ud u = {gs, exclude};
	return ctxd_fs_brace_expand(pat, budget, glob_emit, &u);
}

struct search_state {
	struct globset gs;
	uint64_t *rows; /* per walk slot: the matcher state of the entry being classified */
	size_t max;
};

/* The matcher state after the entry's name, from its directory's state; the entry's
 * walk flags (KEEP when it matches, DESCEND when a glob may match below it). */
static unsigned search_classify(struct ctxd_fs_pw *w, unsigned slot, struct ctxd_fs_pw_node *d,
				uint32_t i, const char *rel, size_t rel_len, void **child_state)
{
	struct search_state *s = ctxd_fs_pw_ud(w);
	struct ctxd_fs_pw_ent *e = &d->ents[i];
	const char *name = d->names + e->name_off;
	size_t ng = s->gs.n;
	const uint64_t *up = d->state;
	uint64_t *row = s->rows + (size_t)slot * ng;
	bool is_dir = e->type == CTXD_FS_WALK_DIR;
	bool matched = false, descend = false;
	(void)rel;
	(void)rel_len;
	for (size_t k = 0; k < ng; k++) {
		const struct glob *g = &s->gs.v[k];
		if (g->exclude && g->basename) {
			if (g->n == 1 && fnmatch(g->comps[0], name, 0) == 0) {
				return 0;
			}
			continue;
		}
		row[k] = glob_step(g, up[k], name);
		bool full = (row[k] >> g->n & 1) && (!g->dir_only || is_dir);
		if (g->exclude) {
			if (full) {
				return 0;
			}
			continue;
		}
		matched |= full;
		descend |= (row[k] & (((uint64_t)1 << g->n) - 1)) != 0;
	}
	unsigned f = 0;
	if (matched) {
		e->hits = 1;
		f |= CTXD_FS_PW_KEEP;
	}
	if (is_dir && descend) {
		uint64_t *st = malloc(ng * sizeof(*st));
		if (!st) {
			ctxd_fs_pw_abort(w);
			return f;
		}
		memcpy(st, row, ng * sizeof(*st));
		*child_state = st;
		f |= CTXD_FS_PW_DESCEND;
	}
	return f;
}

static void search_free_state(void *ud, void *state)
{
	(void)ud;
	free(state);
}

/* The matches in walk order, up to the limit (walk order decides which are kept, as one
 * pass over the tree would), with the counts that say what was not reached. */
struct search_merge {
	size_t max;
	char *arena; /* relative paths, NUL-separated */
	size_t arena_len, arena_cap;
	size_t *offs;
	size_t n, cap;
	size_t unreadable, too_long;
	bool truncated, oom;
};

static int search_each(void *ud, const struct ctxd_fs_pw_node *d, const struct ctxd_fs_pw_ent *e,
		       const char *rel, size_t rel_len)
{
	struct search_merge *m = ud;
	(void)d;
	if (e->flags & CTXD_FS_PW_LONG) {
		m->too_long++;
		return 0;
	}
	if (e->flags & CTXD_FS_PW_KEEP) {
		if (m->n == m->max) {
			m->truncated = true;
			return 1;
		}
		if (ctxd_grow((void **)&m->offs, &m->cap, m->n + 1, sizeof(*m->offs), 64) < 0 ||
		    ctxd_grow((void **)&m->arena, &m->arena_cap, m->arena_len + rel_len + 1, 1,
			      4096) < 0) {
			m->oom = true;
			return 1;
		}
		m->offs[m->n++] = m->arena_len;
		memcpy(m->arena + m->arena_len, rel, rel_len + 1);
		m->arena_len += rel_len + 1;
	}
	if (e->flags & CTXD_FS_PW_UNREADABLE) {
		m->unreadable++;
	}
	return 0;
}

/* The isError result for a glob glob_expand refused (rc -E2BIG or -ERANGE); `arg` names
 * the argument. At most 200 bytes of the glob are echoed back. */
static json_t *glob_refused(const char *arg, const char *pat, int rc)
{
	if (strlen(pat) > CTXD_FS_GLOB_MAX) {
		return ctxd_fs_fail("argument '%s' is longer than %d bytes: shorten the glob", arg,
				    CTXD_FS_GLOB_MAX);
	}
	size_t len = strlen(pat);
	return ctxd_fs_fail("argument '%s' (\"%.*s%s\") is not a usable glob: %s", arg,
			    (int)(len > 200 ? 200 : len), pat, len > 200 ? "..." : "",
			    rc == -ERANGE ? "more than 64 brace alternatives"
					  : "more than 63 path components");
}

static int cmp_rel(const void *a, const void *b, void *arena)
{
	const char *base = arena;
	return strcmp(base + *(const size_t *)a, base + *(const size_t *)b);
}

/* Compile `pattern` and every excludePatterns glob into gs; false with *res set (NULL when
 * out of memory) when one is empty or unusable. */
static bool search_globs(json_t *args, const char *pattern, struct globset *gs, json_t **res)
{
	size_t budget = GLOB_MAX_ALTS;
	int rc = glob_expand(gs, pattern, false, &budget);
	if (rc < 0) {
		if (rc != -ENOMEM) {
			*res = glob_refused("pattern", pattern, rc);
		}
		return false;
	}
	json_t *ex = json_object_get(args, "excludePatterns");
	size_t i;
	json_t *v;
	json_array_foreach(ex, i, v)
	{
		const char *xp = json_string_value(v);
		if (!xp || xp[0] == '\0') {
			*res = ctxd_fs_fail(
			    "argument 'excludePatterns[%zu]' must be a non-empty glob", i);
			return false;
		}
		budget = GLOB_MAX_ALTS;
		rc = glob_expand(gs, xp, true, &budget);
		if (rc < 0) {
			if (rc != -ENOMEM) {
				char arg[48];
				snprintf(arg, sizeof(arg), "excludePatterns[%zu]", i);
				*res = glob_refused(arg, xp, rc);
			}
			return false;
		}
	}
	return true;
}

/* A search's walk: the options and start path its tree points into (they must outlive it,
 * until ctxd_fs_pw_free), the tree, the ignore files above the start. */
struct search_walk {
	struct ctxd_fs_pw_opts o;
	char abs[2 * CTXD_PATH_MAX];
	struct ctxd_fs_pw *w;
	struct ctxd_fs_ignore_level *above;
	bool timed_out; /* the call's deadline cut the walk short */
};

/* Walk the tree under fd (opened at loc) classifying entries against s's globs, into sw.
 * False with *res set (NULL when out of memory or aborted) when the walk failed. */
static bool search_walk(const struct ctxd_tool_ctx *ctx, json_t *args, int fd,
			const struct ctxd_sandbox_loc *loc, struct search_state *s,
			uint64_t *root_state, struct search_walk *sw, json_t **res)
{
	size_t max_depth = 0;
	ctxd_fs_int_arg(args, "maxDepth", &max_depth);
	static const struct ctxd_fs_pw_ops ops = {.classify = search_classify,
						  .free_state = search_free_state};
	sw->o = (struct ctxd_fs_pw_opts){
	    .max_depth = (unsigned)(max_depth > 4096 ? 4096 : max_depth),
	    .limit = s->max,
	    .ops = &ops,
	    .ud = s,
	    .root_state = root_state,
	};
	if (ctxd_fs_pw_prepare(&sw->o, ctx, loc,
			       !json_is_false(json_object_get(args, "respectGitignore")), sw->abs,
			       sizeof(sw->abs), &sw->above) < 0) {
		return false;
	}
	int rc = ctxd_fs_pw_run(fd, &sw->o, &sw->w);
	if (rc == -ENOMEM || rc == -ECONNABORTED) {
		return false;
	}
	if (rc == -ECANCELED) {
		*res = ctxd_fs_fail("search in '%s' cancelled", loc->abs);
		return false;
	}
	sw->timed_out = rc == -ETIMEDOUT;
	if (rc < 0 && !sw->timed_out) {
		*res = ctxd_fs_fail("cannot search '%s': %s", loc->abs, strerror(-rc));
		return false;
	}
	return true;
}

/* The matches' absolute paths, each JSON-escaped once into esc (it is written twice: in the
 * text and in matches); path i is esc[eoff[i], eoff[i + 1]). *blen is the length of the
 * location's prefix with its '/'. False when out of memory. */
static bool search_escape(const struct search_merge *m, const char *base, struct ctxd_strbuf *esc,
			  size_t **eoff, size_t *blen)
{
	/* Absolute path = the location's display path + "/" + rel ("/" root: no doubling). */
	*blen = strlen(base);
	bool slash_root = *blen == 1 && base[0] == '/';
	*eoff = malloc((m->n + 1) * sizeof(**eoff));
	char *full = malloc(*blen + 1 + CTXD_PATH_MAX);
	if (!*eoff || !full) {
		free(full);
		return false;
	}
	memcpy(full, base, *blen);
	if (!slash_root) {
		full[(*blen)++] = '/';
	}
	ctxd_strbuf_reserve(esc, m->arena_len + m->n * *blen + m->arena_len / 8);
	for (size_t i = 0; i < m->n; i++) {
		const char *rel = m->arena + m->offs[i];
		size_t rl = strlen(rel);
		memcpy(full + *blen, rel, rl);
		(*eoff)[i] = esc->len;
		ctxd_json_text_part(esc, full, *blen + rl);
	}
	(*eoff)[m->n] = esc->len;
	free(full);
	return true;
}

/* The notes after the matches (none found, truncated, deadline, depth, unreadable) and the
 * truncatedReasons, each as ",\"reason\"". */
static void search_notes(const struct search_merge *m, bool timed_out, struct ctxd_strbuf *notes,
			 struct ctxd_strbuf *why)
{
	if (m->n == 0) {
		ctxd_strbuf_str(notes, "No matches found\n");
	}
	if (m->truncated) {
		ctxd_strbuf_printf(
		    notes, "(truncated after %zu matches; narrow the pattern or the path)\n",
		    m->max);
		ctxd_strbuf_str(why, ",\"maxResults\"");
	}
	if (timed_out) {
		ctxd_strbuf_str(notes, "(stopped at the call's time limit (limits.call_ms): the "
				       "result is incomplete; search a smaller directory)\n");
		ctxd_strbuf_str(why, ",\"deadline\"");
	}
	if (m->too_long) {
		ctxd_fs_report_depth_cut(notes, NULL, m->too_long);
		ctxd_strbuf_str(why, ",\"depth\"");
	}
	if (m->unreadable) {
		ctxd_strbuf_printf(notes,
				   "(%zu directories could not be read and were skipped: the "
				   "result may be incomplete)\n",
				   m->unreadable);
	}
}

/* The tool result for the sorted matches, written as JSON straight into ctx->out (or a
 * local buffer); NULL when out of memory. */
static json_t *search_result(const struct ctxd_tool_ctx *ctx, const char *base, const char *pattern,
			     const struct search_merge *m, bool timed_out)
{
	struct ctxd_strbuf esc = {0}, notes = {0}, why = {0};
	size_t *eoff = NULL, blen;
	if (!search_escape(m, base, &esc, &eoff, &blen)) {
		free(eoff);
		return NULL;
	}
	search_notes(m, timed_out, &notes, &why);

	struct ctxd_strbuf local = {0}, *b = ctx->out ? ctx->out : &local;
	size_t from = b->len;
	ctxd_strbuf_reserve(b, 2 * esc.len + 4 * m->n + 2 * notes.len + 2 * blen +
				   4 * strlen(pattern) + 256);
	ctxd_strbuf_str(b, "{\"content\":[{\"type\":\"text\",\"text\":\"");
	for (size_t i = 0; i < m->n; i++) {
		ctxd_strbuf_add(b, esc.p + eoff[i], eoff[i + 1] - eoff[i]);
		ctxd_strbuf_add(b, "\\n", 2);
	}
	if (notes.len) {
		ctxd_json_text_part(b, notes.p, notes.len);
	}
	b->len -= 2; /* the text's last "\n" */
	ctxd_strbuf_str(b, "\"}],\"structuredContent\":{\"path\":");
	ctxd_json_text(b, base, strlen(base));
	ctxd_strbuf_str(b, ",\"pattern\":");
	ctxd_json_text(b, pattern, strlen(pattern));
	ctxd_strbuf_str(b, ",\"matches\":[");
	for (size_t i = 0; i < m->n; i++) {
		ctxd_strbuf_add(b, i ? ",\"" : "\"", i ? 2 : 1);
		ctxd_strbuf_add(b, esc.p + eoff[i], eoff[i + 1] - eoff[i]);
		ctxd_strbuf_add(b, "\"", 1);
	}
	ctxd_strbuf_printf(b, "],\"count\":%zu,\"truncated\":%s,\"unreadable\":%zu", m->n,
			   why.len ? "true" : "false", m->unreadable);
	if (why.len) {
		ctxd_strbuf_str(b, ",\"truncatedReasons\":[");
		ctxd_strbuf_add(b, why.p + 1, why.len - 1);
		ctxd_strbuf_str(b, "]");
	}
	ctxd_strbuf_str(b, "}}");
	if (esc.oom || notes.oom || why.oom) {
		b->oom = true;
	}
	free(esc.p);
	free(notes.p);
	free(why.p);
	free(eoff);
	return ctxd_tool_written(ctx, b, from);
}

json_t *ctxd_fs_search_files(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *pattern = json_string_value(json_object_get(args, "pattern"));
	if (!pattern || pattern[0] == '\0') {
		return ctxd_fs_fail("argument 'pattern' must be a non-empty glob, e.g. \"**/*.c\"");
	}
	struct search_state s = {.max = ctxd_fs_cfg_entries(ctx)};
	struct search_merge m = {.max = s.max};
	struct search_walk sw = {0};
	uint64_t *root_state = NULL;
	json_t *res = NULL;
	struct ctxd_fs_arg a; /* not zeroed: a path of 4 KiB */
	a.fd = -1;
	if (!search_globs(args, pattern, &s.gs, &res)) {
		goto out;
	}
	unsigned n_slots = ctxd_fs_pw_slots(ctx->pool);
	s.rows = malloc(n_slots * s.gs.n * sizeof(*s.rows));
	root_state = malloc(s.gs.n * sizeof(*root_state));
	if (!s.rows || !root_state) {
		goto out;
	}
	for (size_t i = 0; i < s.gs.n; i++) {
		root_state[i] = glob_closure(&s.gs.v[i], 1);
	}

	res = ctxd_fs_open_arg(ctx, args, O_PATH | O_DIRECTORY, CTXD_FS_ARG_DIR_HINT, &a);
	if (res) {
		goto out;
	}
	if (!search_walk(ctx, args, a.fd, &a.loc, &s, root_state, &sw, &res)) {
		goto out;
	}
	if (ctxd_fs_pw_each(sw.w, search_each, &m) == -ENOMEM || m.oom) {
		goto out;
	}
	if (m.n > 1) {
		qsort_r(m.offs, m.n, sizeof(*m.offs), cmp_rel, m.arena);
	}
	res = search_result(ctx, a.loc.abs, pattern, &m, sw.timed_out);
out:
	ctxd_fs_pw_free(sw.w);
	ctxd_fs_ignore_chain_free(sw.above);
	if (a.fd >= 0) {
		close(a.fd);
	}
	globset_free(&s.gs);
	free(s.rows);
	free(root_state);
	free(m.arena);
	free(m.offs);
	return res;
}
