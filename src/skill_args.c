/* skill_args.c - argument substitution in a skill's body: a shell-style split of the
 * argument string, the code ranges of the markdown body ($N is not replaced inside code),
 * and the placeholders ($ARGUMENTS, $ARGUMENTS[N], $name, $N). Pure; see
 * include/ctxd/skill_args.h.
 */
#include "ctxd/skill_args.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctxd/strbuf.h"

static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Split `s` like a shell: blanks separate words, '...' is literal, "..." allows \" and \\,
 * a backslash outside quotes escapes the next character. Returns the word count, or -1. */
static long split_args(const char *s, char ***out)
{
	char **v = NULL;
	size_t n = 0;
	size_t slen = s ? strlen(s) : 0;
	char *w = malloc(slen + 1);
	if (!w) {
		return -1;
	}
	const char *p = s ? s : "";
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			p++;
		}
		if (!*p) {
			break;
		}
		size_t wl = 0;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			if (*p == '\'') {
				for (p++; *p && *p != '\''; p++) {
					w[wl++] = *p;
				}
				p += *p ? 1 : 0;
			} else if (*p == '"') {
				for (p++; *p && *p != '"'; p++) {
					if (*p == '\\' && (p[1] == '"' || p[1] == '\\')) {
						p++;
					}
					w[wl++] = *p;
				}
				p += *p ? 1 : 0;
			} else if (*p == '\\' && p[1]) {
				w[wl++] = p[1];
				p += 2;
			} else {
				w[wl++] = *p++;
			}
		}
		char **g = realloc(v, (n + 1) * sizeof(*v));
		char *word = g ? strndup(w, wl) : NULL;
		if (!word) {
			if (g) {
				v = g;
			}
			for (size_t i = 0; i < n; i++) {
				free(v[i]);
			}
			free(v);
			free(w);
			return -1;
		}
		v = g;
		v[n++] = word;
	}
	free(w);
	*out = v;
	return (long)n;
}

/* Byte ranges [start, end) of a markdown body that are code: fenced code blocks (a line
 * whose first non-blank characters are 3+ backticks or tildes, up to the closing fence of
 * the same character and at least the same length, or the end) and inline code spans (a
 * run of N backticks up to the next run of exactly N within the same paragraph). Fences
 * are recognised at any indentation, which errs on the side of leaving text alone. */
struct ranges {
	size_t (*v)[2];
	size_t n, cap;
	bool oom;
};

static void range_add(struct ranges *r, size_t a, size_t b)
{
	if (r->n > 0 && r->v[r->n - 1][1] >= a) {
		r->v[r->n - 1][1] = b > r->v[r->n - 1][1] ? b : r->v[r->n - 1][1];
		return;
	}
	if (ctxd_grow((void **)&r->v, &r->cap, r->n + 1, sizeof(*r->v), 16)) {
		r->oom = true;
		return;
	}
	r->v[r->n][0] = a;
	r->v[r->n][1] = b;
	r->n++;
}

#define SPAN_RUN_MAX 64 /* longer backtick runs never open a code span */

/* Inline code spans of the paragraph s[a, b). */
static void code_spans(const char *s, size_t a, size_t b, struct ranges *r)
{
	struct run {
		size_t pos, len;
		long next; /* index of the next run of the same length, or -1 */
	} *runs = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = a; i < b;) {
		if (s[i] != '`') {
			i++;
			continue;
		}
		size_t j = i;
		while (j < b && s[j] == '`') {
			j++;
		}
		if (ctxd_grow((void **)&runs, &cap, n + 1, sizeof(*runs), 8)) {
			free(runs);
			r->oom = true;
			return;
		}
		runs[n++] = (struct run){i, j - i, -1};
		i = j;
	}
	long last[SPAN_RUN_MAX + 1];
	for (size_t k = 0; k <= SPAN_RUN_MAX; k++) {
		last[k] = -1;
	}
	for (size_t k = n; k-- > 0;) {
		if (runs[k].len <= SPAN_RUN_MAX) {
			runs[k].next = last[runs[k].len];
			last[runs[k].len] = (long)k;
		}
	}
	for (size_t k = 0; k < n;) {
		long m = runs[k].next;
		if (m < 0) {
			k++;
			continue;
		}
		range_add(r, runs[k].pos, runs[m].pos + runs[m].len);
		k = (size_t)m + 1;
	}
	free(runs);
}

/* A fence line: blanks, then 3+ of '`' or '~' (a backtick fence's info string holds no
 * backtick). Returns the run length and sets *ch, or 0. */
static size_t fence_run(const char *s, size_t l, char *ch)
{
	size_t i = 0;
	while (i < l && (s[i] == ' ' || s[i] == '\t')) {
		i++;
	}
	if (i == l || (s[i] != '`' && s[i] != '~')) {
		return 0;
	}
	size_t j = i;
	while (j < l && s[j] == s[i]) {
		j++;
	}
	if (j - i < 3 || (s[i] == '`' && memchr(s + j, '`', l - j))) {
		return 0;
	}
	*ch = s[i];
	return j - i;
}

static bool blank_line(const char *s, size_t l)
{
	for (size_t i = 0; i < l; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') {
			return false;
		}
	}
	return true;
}

static void code_ranges(const char *s, size_t len, struct ranges *r)
{
	bool fenced = false;
	char fch = 0;
	size_t flen = 0, para = SIZE_MAX;
	for (size_t pos = 0; pos < len && !r->oom;) {
		const char *nl = memchr(s + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (s + pos)) : len - pos;
		size_t next = pos + l + (nl ? 1 : 0);
		char ch = 0;
		size_t run = fence_run(s + pos, l, &ch);
		if (fenced) {
			range_add(r, pos, next);
			if (run >= flen && ch == fch) { /* closes when only blanks follow the run */
				size_t k = strspn(s + pos, " \t");
				fenced = !blank_line(s + pos + k + run, l - k - run);
			}
		} else if (run > 0 || blank_line(s + pos, l)) {
			if (para != SIZE_MAX) {
				code_spans(s, para, pos, r);
				para = SIZE_MAX;
			}
			if (run > 0) {
				fenced = true;
				fch = ch;
				flen = run;
				range_add(r, pos, next);
			}
		} else if (para == SIZE_MAX) {
			para = pos;
		}
		pos = next;
	}
	if (para != SIZE_MAX) {
		code_spans(s, para, len, r);
	}
}

/* The output of a substitution, never grown past `cap` bytes. */
struct sink {
	char *p;
	size_t len, alloc, cap;
	int err; /* 0, -ENOMEM or -E2BIG */
};

static void sink_add(struct sink *o, const char *s, size_t n)
{
	if (o->err || n == 0) {
		return;
	}
	if (n > o->cap - o->len) {
		o->err = -E2BIG;
		return;
	}
	if (o->len + n + 1 > o->alloc) {
		size_t a = o->alloc ? o->alloc : 256;
		while (a < o->len + n + 1) {
			a = a > SIZE_MAX / 2 ? SIZE_MAX : a * 2;
		}
		if (o->cap < SIZE_MAX && a > o->cap + 1) {
			a = o->cap + 1;
		}
		char *g = realloc(o->p, a);
		if (!g) {
			o->err = -ENOMEM;
			return;
		}
		o->p = g;
		o->alloc = a;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

struct subst {
	const char *body;
	size_t len;
	const char *args;
	bool given; /* arguments were given (non-blank) */
	char **words;
	long nw;
	char *const *names;
	size_t n_names;
	struct ranges code;
	size_t ci; /* first code range that may still contain the scan position */
};

static bool in_code(struct subst *st, size_t pos)
{
	while (st->ci < st->code.n && st->code.v[st->ci][1] <= pos) {
		st->ci++;
	}
	return st->ci < st->code.n && st->code.v[st->ci][0] <= pos;
}

/* The placeholder starting with the '$' at `pos`: returns its length (0: none) and sets
 * `val` and `vlen` to its replacement. */
static size_t placeholder(struct subst *st, size_t pos, const char **val, size_t *vlen)
{
	const char *p = st->body + pos;
	size_t left = st->len - pos;
	if (left >= 10 && memcmp(p, "$ARGUMENTS", 10) == 0) {
		if (left > 11 && p[10] == '[' && digit(p[11])) {
			size_t k = 11;
			unsigned long idx = 0;
			while (k < left && digit(p[k])) {
				idx = idx < 1000000 ? idx * 10 + (unsigned long)(p[k] - '0') : idx;
				k++;
			}
			if (k < left && p[k] == ']') {
				bool have = st->given && idx < (unsigned long)st->nw;
				*val = have ? st->words[idx] : "";
				*vlen = have ? strlen(*val) : 0;
				return k + 1;
			}
		}
		if (left > 10 && ident_char(p[10])) {
			return 0;
		}
		*val = st->given ? st->args : "";
		*vlen = st->given ? strlen(st->args) : 0;
		return 10;
	}
	if (!st->given) {
		return 0;
	}
	size_t best = 0;
	for (size_t i = 0; i < st->n_names; i++) {
		size_t nl = strlen(st->names[i]);
		if (nl > best && nl < left && memcmp(p + 1, st->names[i], nl) == 0 &&
		    (nl + 1 == left || !ident_char(p[nl + 1]))) {
			best = nl;
			*val = i < (size_t)st->nw ? st->words[i] : "";
			*vlen = strlen(*val);
		}
	}
	if (best) {
		return best + 1;
	}
	if (left < 2 || !digit(p[1])) {
		return 0;
	}
	size_t k = 1;
	unsigned long idx = 0;
	while (k < left && digit(p[k])) {
		idx = idx < 1000000 ? idx * 10 + (unsigned long)(p[k] - '0') : idx;
		k++;
	}
	char prev = pos > 0 ? st->body[pos - 1] : ' ';
	if ((k < left && (p[k] == '.' || p[k] == ',')) || ident_char(prev) || prev == '$' ||
	    idx >= (unsigned long)st->nw || in_code(st, pos)) {
		return 0;
	}
	*val = st->words[idx];
	*vlen = strlen(*val);
	return k;
}

int ctxd_skill_args_substitute(const char *body, const char *args, char *const *names,
			       size_t n_names, size_t cap, char **out, size_t *out_len)
{
	struct subst st = {
	    .body = body, .len = strlen(body), .args = args, .names = names, .n_names = n_names};
	st.given = args && args[strspn(args, " \t\r\n")] != '\0';
	struct sink o = {.cap = cap};
	if (st.given) {
		st.nw = split_args(args, &st.words);
		if (st.nw < 0) {
			return -ENOMEM;
		}
		code_ranges(body, st.len, &st.code);
		if (st.code.oom) {
			o.err = -ENOMEM;
		}
	}
	bool replaced = false;
	for (size_t pos = 0; pos < st.len && !o.err;) {
		const char *d = memchr(body + pos, '$', st.len - pos);
		size_t k = d ? (size_t)(d - body) : st.len;
		/* a backslash right before a '$' is held back until we know what follows */
		size_t lit = k > pos && d && body[k - 1] == '\\' ? k - 1 - pos : k - pos;
		sink_add(&o, body + pos, lit);
		pos += lit;
		if (!d) {
			break;
		}
		bool escaped = pos < k;
		if (k + 1 < st.len && body[k + 1] == '$') {
			sink_add(&o, body + pos, k + 2 - pos); /* $$ stays, and starts nothing */
			pos = k + 2;
			continue;
		}
		const char *val = NULL;
		size_t vlen = 0;
		size_t n = placeholder(&st, k, &val, &vlen);
		if (n == 0) {
			sink_add(&o, body + pos, k + 1 - pos);
			pos = k + 1;
		} else if (escaped) {
			sink_add(&o, body + k, n); /* \$PLACEHOLDER -> $PLACEHOLDER */
			pos = k + n;
		} else {
			sink_add(&o, val, vlen);
			replaced = true;
			pos = k + n;
		}
	}
	if (st.given && !replaced) {
		const char *sep = st.len == 0 ? "" : body[st.len - 1] == '\n' ? "\n" : "\n\n";
		sink_add(&o, sep, strlen(sep));
		sink_add(&o, "ARGUMENTS: ", 11);
		sink_add(&o, args, strlen(args));
	}
	for (long i = 0; i < st.nw; i++) {
		free(st.words[i]);
	}
	free(st.words);
	free(st.code.v);
	if (!o.err && !o.p) {
		o.p = malloc(1);
		o.err = o.p ? 0 : -ENOMEM;
	}
	if (o.err) {
		free(o.p);
		return o.err;
	}
	o.p[o.len] = '\0';
	*out = o.p;
	if (out_len) {
		*out_len = o.len;
	}
	return 0;
}
