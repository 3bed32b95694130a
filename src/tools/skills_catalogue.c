/* tools/skills_catalogue.c - skill_activate's description: the tool's text and the
 * catalogue of skills the model chooses from, fitted to skills.catalogue_bytes (the most
 * specific descriptions kept whole, the rest shortened, then names only), built once per
 * catalogue snapshot (a memo slot of the snapshot).
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxd/strbuf.h"
#include "skills_priv.h"

#define DESCRIBE_MAX 8192u

/* ---- the catalogue in skill_activate's description ---------------------------------- */

#define DESC_MIN 48 /* descriptions are never shortened below this many bytes */

/* One catalogue entry: the description flattened to one line (blanks collapsed). */
struct centry {
	const char *name;
	char *desc;
	size_t name_len, desc_len;
	double specificity; /* information of its description's words (see specificity) */
	bool keep;          /* listed with a description (else by name only) */
};

/* Bytes of the description cut to `cap` bytes (at a UTF-8 boundary, preferably a blank)
 * plus an ellipsis; the whole description when it fits. */
static size_t cut_len(const struct centry *e, size_t cap)
{
	if (e->desc_len <= cap) {
		return e->desc_len;
	}
	size_t n = ctxd_utf8_trim(e->desc, cap);
	for (size_t k = n; k > 0 && n - k < 24; k--) {
		if (e->desc[k - 1] == ' ') {
			return k - 1;
		}
	}
	return n;
}

/* Size of a catalogue: "\n- name: desc" for kept entries (descriptions cut to `cap`, with
 * "..." when cut), and "\nAlso installed ...: a, b, c" for the names-only ones. */
#define ALSO_HEAD "\nAlso installed (call skill_list for their descriptions): "

static size_t cat_size(const struct centry *e, size_t n, size_t cap)
{
	size_t total = 0, others = 0;
	for (size_t i = 0; i < n; i++) {
		if (e[i].keep) {
			size_t d = cut_len(&e[i], cap);
			total += 5 + e[i].name_len + d + (d < e[i].desc_len ? 3 : 0);
		} else {
			total += e[i].name_len + (others++ ? 2 : 0);
		}
	}
	return total + (others ? strlen(ALSO_HEAD) : 0);
}

static int cmp_word(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A byte of a word: ASCII letters and digits, and every byte of a non-ASCII character. */
static bool ident_like(char c)
{
	unsigned char u = (unsigned char)c;
	return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
	       u >= 0x80;
}

static int cmp_pair(const void *a, const void *b)
{
	const struct {
		char *w;
		size_t i;
	} *x = a, *y = b;
	int c = strcmp(x->w, y->w);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Words that say nothing about what a skill is for: English function words and the
 * generic verbs and nouns of skill descriptions. Sorted (bsearch). */
static const char *const generic_words[] = {
    "about",   "all",   "and",     "any",     "are",   "assist", "assists", "can",  "for",  "from",
    "general", "help",  "helper",  "helpful", "helps", "how",    "into",    "its",  "make", "many",
    "more",    "other", "purpose", "should",  "skill", "skills", "some",    "such", "task", "tasks",
    "that",    "the",   "their",   "them",    "these", "thing",  "things",  "this", "tool", "tools",
    "use",     "used",  "useful",  "user",    "uses",  "using",  "various", "what", "when", "which",
    "with",    "work",  "working", "you",     "your",
};

static bool generic_word(const char *w)
{
	return bsearch(&w, generic_words, sizeof(generic_words) / sizeof(generic_words[0]),
		       sizeof(generic_words[0]), cmp_word) != NULL;
}

/* Specificity of each description: the sum over its distinct words (3+ letters or digits,
 * lowercased, generic words left out) of log(N / number of skills using the word), the
 * information it gives the model to tell the skill apart. Generic descriptions ("helps
 * with tasks") score near 0. Returns -1 on ENOMEM. */
static int specificity(struct centry *e, size_t n)
{
	struct pair {
		char *w;
		size_t i;
	} *v = NULL;
	size_t nv = 0, cap = 0;
	char **words = calloc(n ? n : 1, sizeof(*words));
	if (!words) {
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		words[i] = strdup(e[i].desc);
		if (!words[i]) {
			rc = -1;
			break;
		}
		for (char *p = words[i]; *p;) {
			while (*p && !ident_like(*p)) {
				p++;
			}
			char *s = p;
			while (*p && ident_like(*p)) {
				*p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
				p++;
			}
			bool shortw = p - s < 3;
			if (*p) {
				*p++ = '\0';
			}
			if (shortw || generic_word(s)) {
				continue;
			}
			if (ctxd_grow((void **)&v, &cap, nv + 1, sizeof(*v), 256)) {
				rc = -1;
				break;
			}
			v[nv++] = (struct pair){s, i};
		}
	}
	if (rc == 0 && nv > 1) {
		qsort(v, nv, sizeof(*v), cmp_pair);
	}
	for (size_t a = 0; rc == 0 && a < nv;) {
		size_t b = a, df = 0;
		while (b < nv && strcmp(v[b].w, v[a].w) == 0) {
			df += b == a || v[b].i != v[b - 1].i;
			b++;
		}
		double idf = log((double)n / (double)df);
		for (size_t k = a; k < b; k++) {
			if (k == a || v[k].i != v[k - 1].i) {
				e[v[k].i].specificity += idf;
			}
		}
		a = b;
	}
	free(v);
	for (size_t i = 0; i < n; i++) {
		free(words[i]);
	}
	free(words);
	return rc;
}

static int cmp_specific(const void *a, const void *b)
{
	const struct centry *x = *(const struct centry *const *)a;
	const struct centry *y = *(const struct centry *const *)b;
	if (x->specificity != y->specificity) {
		return x->specificity < y->specificity ? -1 : 1;
	}
	return strcmp(y->name, x->name); /* ties: later names lose their description first */
}

/* Choose what fits `budget`: every description whole; else all cut to the largest common
 * length >= DESC_MIN; else the least specific lose their description (listed by name only)
 * until the rest fits at DESC_MIN, then the common length is raised again. Returns the cut
 * length to use, or 0 when even the names alone do not fit. */
static size_t cat_plan(struct centry *e, size_t n, size_t budget)
{
	size_t longest = 0;
	for (size_t i = 0; i < n; i++) {
		e[i].keep = true;
		longest = e[i].desc_len > longest ? e[i].desc_len : longest;
	}
	if (cat_size(e, n, SIZE_MAX) <= budget) {
		return SIZE_MAX;
	}
	if (cat_size(e, n, DESC_MIN) > budget) {
		struct centry **order = malloc((n ? n : 1) * sizeof(*order));
		if (!order || specificity(e, n) < 0) {
			free(order);
			for (size_t i = 0; i < n; i++) {
				e[i].keep = false;
			}
			return cat_size(e, n, DESC_MIN) <= budget ? DESC_MIN : 0;
		}
		for (size_t i = 0; i < n; i++) {
			order[i] = &e[i];
		}
		qsort(order, n, sizeof(*order), cmp_specific);
		/* drop one description at a time, tracking the size incrementally */
		size_t size = cat_size(e, n, DESC_MIN), others = 0;
		for (size_t k = 0; k < n && size > budget; k++) {
			struct centry *x = order[k];
			size_t d = cut_len(x, DESC_MIN);
			size -= 5 + x->name_len + d + (d < x->desc_len ? 3 : 0);
			size += x->name_len + (others ? 2 : strlen(ALSO_HEAD));
			others++;
			x->keep = false;
		}
		free(order);
		if (size > budget) {
			return 0;
		}
	}
	size_t lo = DESC_MIN, hi = longest;
	while (lo < hi) { /* the largest cut that fits */
		size_t mid = lo + (hi - lo + 1) / 2;
		if (cat_size(e, n, mid) <= budget) {
			lo = mid;
		} else {
			hi = mid - 1;
		}
	}
	return lo;
}

/* The catalogue text for `snap` under `budget` bytes (see cat_plan): every skill's name
 * appears unless the names alone exceed the budget, and then the text says how many are
 * missing and points to skill_list. */
static char *catalogue(const struct ctxd_skills_snapshot *snap, size_t budget)
{
	size_t n = snap->n_skills;
	struct centry *e = calloc(n ? n : 1, sizeof(*e));
	struct ctxd_strbuf b = {0};
	if (!e) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ctxd_skill *k = &snap->skills[i];
		e[i].name = k->name;
		e[i].name_len = strlen(k->name);
		e[i].desc = strdup(k->doc->description);
		if (!e[i].desc) {
			b.oom = true;
			break;
		}
		/* one line: collapse runs of blanks and newlines */
		size_t w = 0;
		for (const char *p = k->doc->description; *p; p++) {
			bool blank = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
			if (blank && (w == 0 || e[i].desc[w - 1] == ' ')) {
				continue;
			}
			e[i].desc[w++] = blank ? ' ' : *p;
		}
		while (w > 0 && e[i].desc[w - 1] == ' ') {
			w--;
		}
		e[i].desc[w] = '\0';
		e[i].desc_len = w;
	}
	size_t cut = b.oom ? 0 : cat_plan(e, n, budget);
	if (cut) {
		for (size_t i = 0; i < n; i++) {
			if (e[i].keep) {
				size_t d = cut_len(&e[i], cut);
				ctxd_strbuf_printf(&b, "\n- %s: %.*s%s", e[i].name, (int)d,
						   e[i].desc, d < e[i].desc_len ? "..." : "");
			}
		}
		size_t others = 0;
		for (size_t i = 0; i < n; i++) {
			if (!e[i].keep) {
				ctxd_strbuf_str(&b, others++ ? ", " : ALSO_HEAD);
				ctxd_strbuf_str(&b, e[i].name);
			}
		}
	} else if (!b.oom) {
		/* the names alone exceed the budget: as many as fit, then how many more */
		char tail[160];
		size_t shown = 0;
		ctxd_strbuf_str(&b, "\nInstalled skills (names only): ");
		for (; shown < n; shown++) {
			int tl = snprintf(tail, sizeof(tail),
					  "... and %zu more: call skill_list "
					  "(with a query to narrow it) to see them all.",
					  n - shown);
			if (b.len + e[shown].name_len + 2 + (size_t)tl > budget) {
				break;
			}
			ctxd_strbuf_str(&b, e[shown].name);
			ctxd_strbuf_str(&b, ", ");
		}
		snprintf(tail, sizeof(tail),
			 "... and %zu more: call skill_list (with a query to "
			 "narrow it) to see them all.",
			 n - shown);
		ctxd_strbuf_str(&b, tail);
	}
	for (size_t i = 0; i < n; i++) {
		free(e[i].desc);
	}
	free(e);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p ? b.p : strdup("");
}

static size_t catalogue_budget(const struct ctxd_skills *sk)
{
	const struct ctxd_config *cfg = ctxd_sk_config(sk);
	return cfg && cfg->skills_catalogue_bytes ? cfg->skills_catalogue_bytes : DESCRIBE_MAX;
}

/* skill_activate's description; ctxd_skills_describe_activate appends the catalogue to it. */
const char ctxd_skills_activate_description[] =
    "Load an Agent Skill's instructions when the task matches its description; read its "
    "files with skill_read_file.";

/* The skill_activate description, with the catalogue the model chooses from; built once
 * per snapshot. It waits for the first scan (and for a rescan after the client roots
 * changed), so tools/list never shows a catalogue that is about to change without a
 * list_changed. Worker (tools/list). */
char *ctxd_skills_describe_activate(void *ud)
{
	struct ctxd_skills *sk = ud;
	struct ctxd_skills_snapshot *snap = ctxd_sk_snapshot(sk);
	if (!snap) {
		return NULL;
	}
	char *cached = ctxd_sk_memo(snap, SKILLS_MEMO_CATALOGUE, NULL, NULL);
	if (!cached) {
		char *cat = snap->n_skills ? catalogue(snap, catalogue_budget(sk)) : NULL;
		struct ctxd_strbuf b = {0};
		ctxd_strbuf_str(&b, ctxd_skills_activate_description);
		ctxd_strbuf_str(&b, snap->n_skills ? "\n\nAvailable skills:"
						   : "\n\nNo skills are installed.");
		if (cat) {
			ctxd_strbuf_str(&b, cat);
		}
		free(cat);
		if (b.oom || (snap->n_skills && !cat)) {
			free(b.p);
			ctxd_sk_snapshot_put(snap);
			return NULL;
		}
		cached = ctxd_sk_memo(snap, SKILLS_MEMO_CATALOGUE, b.p, free);
	}
	char *out = strdup(cached);
	ctxd_sk_snapshot_put(snap);
	return out;
}
