/* fs_edit.c - edit_file: replacements applied in order, all or nothing; an exact match, else
 * a whitespace-tolerant one that keeps the file's indentation (linear, cancellable); CRLF and
 * a BOM kept; the unified diff of fs_diff.c returned. Writes go through fs_write.c's lock and
 * targets, as every writing tool's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/sandbox.h"
#include "ctxd/strbuf.h"
#include "fs_priv.h"
#include "fs_write_priv.h"

/* ---- edit_file: matching ---------------------------------------------------------- */

struct text {
	char *p;
	size_t len;
};

static void tx_free(struct text *t)
{
	free(t->p);
	t->p = NULL;
	t->len = 0;
}

/* Copy of s[0..n) with every "\r\n" turned into "\n". */
static int to_lf(const char *s, size_t n, struct text *out)
{
	out->p = malloc(n + 1);
	if (!out->p) {
		return -1;
	}
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
			continue;
		}
		out->p[w++] = s[i];
	}
	out->p[w] = '\0';
	out->len = w;
	return 0;
}

static int dup_n(const char *s, size_t n, struct text *out)
{
	out->p = malloc(n + 1);
	if (!out->p) {
		return -1;
	}
	memcpy(out->p, s, n);
	out->p[n] = '\0';
	out->len = n;
	return 0;
}

/* True when every '\n' is preceded by '\r' and there is at least one. */
static bool all_crlf(const char *s, size_t n)
{
	bool any = false;
	for (const char *q = memchr(s, '\n', n); q;
	     q = memchr(q + 1, '\n', n - (size_t)(q + 1 - s))) {
		if (q == s || q[-1] != '\r') {
			return false;
		}
		any = true;
	}
	return any;
}

/* Non-overlapping occurrences of needle; positions of the first `maxpos` kept. */
static size_t count_occ(const char *h, size_t hl, const char *n, size_t nl, size_t *pos,
			size_t maxpos)
{
	size_t c = 0;
	const char *p = h, *e = h + hl;
	while ((size_t)(e - p) >= nl) {
		const char *q = memmem(p, (size_t)(e - p), n, nl);
		if (!q) {
			break;
		}
		if (c < maxpos) {
			pos[c] = (size_t)(q - h);
		}
		c++;
		p = q + nl;
	}
	return c;
}

static size_t line_of(const char *s, size_t off)
{
	size_t n = 1;
	for (const char *q = memchr(s, '\n', off); q;
	     q = memchr(q + 1, '\n', off - (size_t)(q + 1 - s))) {
		n++;
	}
	return n;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char *s, size_t a, size_t b, size_t *ta, size_t *tb)
{
	while (a < b && is_ws(s[a])) {
		a++;
	}
	while (b > a && is_ws(s[b - 1])) {
		b--;
	}
	*ta = a;
	*tb = b;
}

/* Bigram Dice similarity (0..1000) between two strings, for "closest line" hints. */
static unsigned similarity(const char *a, size_t al, const char *b, size_t bl)
{
	if (al < 2 || bl < 2) {
		return al == bl && al && a[0] == b[0] ? 1000 : 0;
	}
	if (al > 400) {
		al = 400;
	}
	if (bl > 400) {
		bl = 400;
	}
	unsigned short cnt[1024];
	memset(cnt, 0, sizeof(cnt));
	unsigned prev = (unsigned char)a[0];
	for (size_t i = 1; i < al; i++) { /* each byte read once: bigram (prev, cur) */
		unsigned cur = (unsigned char)a[i];
		cnt[(prev * 31u + cur) & 1023]++;
		prev = cur;
	}
	unsigned common = 0;
	for (size_t i = 0; i + 1 < bl; i++) {
		unsigned h = ((unsigned char)b[i] * 31u + (unsigned char)b[i + 1]) & 1023;
		if (cnt[h]) {
			cnt[h]--;
			common++;
		}
	}
	return (unsigned)(2000u * common / (unsigned)(al - 1 + bl - 1));
}

/* "closest line N: "text"" for a failed edit, into `out`. */
static void closest_line(const char *s, size_t len, const char *old, size_t olen, char *out,
			 size_t n)
{
	size_t oa = 0, ob = 0;
	/* the first non-blank line of oldText */
	for (size_t i = 0; i < olen;) {
		const char *q = memchr(old + i, '\n', olen - i);
		size_t e = q ? (size_t)(q - old) : olen;
		trim(old, i, e, &oa, &ob);
		if (ob > oa) {
			break;
		}
		i = e + 1;
	}
	out[0] = '\0';
	if (ob <= oa) {
		return;
	}
	unsigned best = 0;
	size_t best_line = 0, bl_a = 0, bl_b = 0, line = 0;
	for (size_t i = 0; i < len;) {
		const char *q = memchr(s + i, '\n', len - i);
		size_t e = q ? (size_t)(q - s) : len;
		size_t a, b;
		trim(s, i, e, &a, &b);
		line++;
		if (b > a) {
			unsigned sim = similarity(old + oa, ob - oa, s + a, b - a);
			if (sim > best) {
				best = sim;
				best_line = line;
				bl_a = a;
				bl_b = b;
			}
		}
		i = e + 1;
	}
	if (best >= 300) {
		size_t show = bl_b - bl_a > 160 ? 160 : bl_b - bl_a;
		show = ctxd_utf8_trim(s + bl_a, show);
		snprintf(out, n, "; the closest line is %zu: \"%.*s\"", best_line, (int)show,
			 s + bl_a);
	}
}

/* Replace [a, b) of *t by r[0..rl). */
static int tx_splice(struct text *t, size_t a, size_t b, const char *r, size_t rl)
{
	size_t nl = t->len - (b - a) + rl;
	char *p = malloc(nl + 1);
	if (!p) {
		return -1;
	}
	memcpy(p, t->p, a);
	memcpy(p + a, r, rl);
	memcpy(p + a + rl, t->p + b, t->len - b);
	p[nl] = '\0';
	free(t->p);
	t->p = p;
	t->len = nl;
	return 0;
}

/* Replace every occurrence (non-overlapping) of o by r; returns 0 or -1 on ENOMEM. */
static int replace_all(struct text *t, const char *o, size_t ol, const char *r, size_t rl,
		       size_t count)
{
	size_t nl = t->len - count * ol + count * rl;
	char *p = malloc(nl + 1);
	if (!p) {
		return -1;
	}
	size_t w = 0;
	const char *s = t->p, *e = t->p + t->len;
	while (s < e) {
		const char *q = (size_t)(e - s) >= ol ? memmem(s, (size_t)(e - s), o, ol) : NULL;
		if (!q) {
			break;
		}
		memcpy(p + w, s, (size_t)(q - s));
		w += (size_t)(q - s);
		memcpy(p + w, r, rl);
		w += rl;
		s = q + ol;
	}
	memcpy(p + w, s, (size_t)(e - s));
	w += (size_t)(e - s);
	p[w] = '\0';
	free(t->p);
	t->p = p;
	t->len = w;
	return 0;
}

static size_t indent_len(const char *s, size_t a, size_t b)
{
	size_t i = a;
	while (i < b && (s[i] == ' ' || s[i] == '\t')) {
		i++;
	}
	return i - a;
}

/* newText re-indented: a line starting with oldText's first-line indent gets the matched
 * line's indent instead; other lines are kept. */
static int reindent(const char *nt, size_t nl, const char *old_ind, size_t oil, const char *act_ind,
		    size_t ail, struct ctxd_strbuf *out)
{
	for (size_t i = 0; i < nl;) {
		const char *q = memchr(nt + i, '\n', nl - i);
		size_t e = q ? (size_t)(q - nt) : nl;
		size_t a, b;
		trim(nt, i, e, &a, &b);
		if (b > a && e - i >= oil && memcmp(nt + i, old_ind, oil) == 0) {
			ctxd_strbuf_add(out, act_ind, ail);
			ctxd_strbuf_add(out, nt + i + oil, e - i - oil);
		} else {
			ctxd_strbuf_add(out, nt + i, e - i);
		}
		if (q) {
			ctxd_strbuf_add(out, "\n", 1);
		}
		i = e + 1;
	}
	if (nl == 0) {
		ctxd_strbuf_add(out, "", 0);
	}
	return out->oom ? -1 : 0;
}

/* ---- edit_file: the whitespace-tolerant match ------------------------------------- */

/* A line trimmed of blanks, as a sort key; `id` numbers the distinct keys of oldText. */
struct tline {
	const char *p;
	size_t len;
	uint32_t id;
};

static int tline_cmp(const void *a, const void *b)
{
	const struct tline *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = n ? memcmp(x->p, y->p, n) : 0;
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

#define NO_LINE UINT32_MAX

/* The windows of lines of `t` equal to the lines of oldText after trimming: leftmost first,
 * non-overlapping (the next search starts after a window). Each line of oldText gets the
 * number of its distinct trimmed text (sort + binary search: O((N + M) log M) comparisons,
 * each bounded by its line's length, whatever the input), then Knuth-Morris-Pratt finds
 * the windows in one pass over the file's lines. The old scan compared every start with
 * up to M lines: a 1M-line file and a 100k-line oldText that misses on its last line took
 * 10^11 line comparisons. Returns the number of windows (their first-line indexes in *wins,
 * malloc'd, caller frees), -1 on ENOMEM, CANCELLED when the job was cancelled. */
static long ws_windows(const struct text *t, const struct lines *L, const char *o,
		       const struct lines *OL, const struct ctxd_job *job, size_t **wins)
{
	*wins = NULL;
	size_t m = OL->n, n = L->n;
	if (m == 0 || n < m) {
		return 0;
	}
	long found = -1;
	struct tline *keys = malloc(m * sizeof(*keys));
	uint32_t *pid = malloc(m * sizeof(*pid));
	size_t *fail = malloc(m * sizeof(*fail));
	size_t cap = 0;
	if (!keys || !pid || !fail) {
		goto out;
	}
	for (size_t j = 0; j < m; j++) {
		size_t a, b;
		trim(o, OL->start[j], OL->end[j], &a, &b);
		keys[j] = (struct tline){.p = o + a, .len = b - a, .id = (uint32_t)j};
	}
	qsort(keys, m, sizeof(*keys), tline_cmp);
	uint32_t next = 0;
	for (size_t j = 0; j < m; j++) {
		uint32_t line = keys[j].id;
		if (j > 0 && tline_cmp(&keys[j - 1], &keys[j]) != 0) {
			next++;
		}
		keys[j].id = next;
		pid[line] = next;
	}
	fail[0] = 0;
	for (size_t j = 1, k = 0; j < m; j++) {
		while (k > 0 && pid[j] != pid[k]) {
			k = fail[k - 1];
		}
		if (pid[j] == pid[k]) {
			k++;
		}
		fail[j] = k;
	}
	found = 0;
	for (size_t i = 0, q = 0; i < n; i++) {
		if ((i & 0xffff) == 0 && ctxd_job_cancelled(job)) {
			found = CANCELLED;
			goto out;
		}
		size_t a, b;
		trim(t->p, L->start[i], L->end[i], &a, &b);
		struct tline key = {.p = t->p + a, .len = b - a};
		const struct tline *hit = bsearch(&key, keys, m, sizeof(*keys), tline_cmp);
		uint32_t id = hit ? hit->id : NO_LINE;
		while (q > 0 && pid[q] != id) {
			q = fail[q - 1];
		}
		if (pid[q] == id) {
			q++;
		}
		if (q == m) {
			if (ctxd_grow((void **)wins, &cap, (size_t)found + 1, sizeof(**wins), 16)) {
				found = -1;
				goto out;
			}
			(*wins)[found++] = i + 1 - m;
			q = 0; /* windows do not overlap */
		}
	}
out:
	if (found < 0) {
		free(*wins);
		*wins = NULL;
	}
	free(keys);
	free(pid);
	free(fail);
	return found;
}

/* Apply one edit with the whitespace-tolerant fallback: when exactly one window matches,
 * or any number with `all`, every window is replaced (newText re-indented to the window's
 * indentation) in one pass over the text. Returns the windows found (the first `max`
 * first-line numbers, 1-based, in `at`), -1 on ENOMEM or CANCELLED. */
static long apply_ws(struct text *t, const char *o, size_t ol, const char *nt, size_t nl, bool all,
		     const struct ctxd_job *job, size_t *at, size_t max)
{
	/* A trailing newline in oldText (and then in newText) belongs to the last line. */
	bool o_nl = ol > 0 && o[ol - 1] == '\n';
	if (o_nl) {
		ol--;
		if (nl > 0 && nt[nl - 1] == '\n') {
			nl--;
		}
	}
	struct lines L = {0}, OL = {0};
	size_t *wins = NULL;
	struct ctxd_strbuf r = {0};
	long found = -1;
	if (ctxd_fs_split_lines(t->p, t->len, &L) < 0 || ctxd_fs_split_lines(o, ol, &OL) < 0) {
		goto out;
	}
	size_t fj = 0; /* the first non-blank line of oldText gives the indentation */
	while (fj < OL.n) {
		size_t a, b;
		trim(o, OL.start[fj], OL.end[fj], &a, &b);
		if (b > a) {
			break;
		}
		fj++;
	}
	if (fj == OL.n) { /* an all-blank oldText matches nothing */
		found = 0;
		goto out;
	}
	found = ws_windows(t, &L, o, &OL, job, &wins);
	for (long w = 0; w < found && (size_t)w < max; w++) {
		at[w] = wins[w] + 1;
	}
	if (found != 1 && !(all && found > 1)) {
		goto out;
	}
	size_t oil = indent_len(o, OL.start[fj], OL.end[fj]);
	size_t prev = 0;
	for (long w = 0; w < found; w++) {
		size_t i = wins[w];
		size_t ls = L.start[i + fj];
		ctxd_strbuf_add(&r, t->p + prev, L.start[i] - prev);
		if (reindent(nt, nl, o + OL.start[fj], oil, t->p + ls,
			     indent_len(t->p, ls, L.end[i + fj]), &r) < 0) {
			found = -1;
			goto out;
		}
		prev = L.end[i + OL.n - 1];
	}
	ctxd_strbuf_add(&r, t->p + prev, t->len - prev);
	ctxd_strbuf_add(&r, "", 0);
	if (r.oom) {
		found = -1;
		goto out;
	}
	free(t->p);
	t->p = r.p;
	t->len = r.len;
	r.p = NULL;
out:
	free(r.p);
	free(wins);
	ctxd_fs_lines_free(&L);
	ctxd_fs_lines_free(&OL);
	return found;
}

/* ---- edit_file -------------------------------------------------------------------- */

#define MAX_POS 8

/* One edit_file call: the target, the file as read and its conventions, the text being
 * edited (LF line ends, no BOM) and the current edit's oldText/newText. */
struct edit_run {
	const struct ctxd_tool_ctx *ctx;
	size_t ne; /* number of edits */
	int dfd;
	char name[CTXD_PATH_MAX];
	struct ctxd_sandbox_loc loc;
	char *raw;
	size_t rlen;
	mode_t mode;
	bool bom, crlf, has_cr;
	struct text cur, orig, on, nn;
};

/* Read the file, check expectedSha256 and that it is text, and set up cur and orig; false
 * with *res set (NULL when out of memory) otherwise. */
static bool edit_load(struct edit_run *e, const char *expected, json_t **res)
{
	int rc = ctxd_fs_read_existing(e->dfd, e->name, &e->loc, &e->raw, &e->rlen, &e->mode, res);
	if (rc == 1) {
		*res = ctxd_fs_fail("'%s' does not exist; use write_file to create it", e->loc.abs);
	}
	if (rc != 0) {
		return false;
	}
	if ((*res = ctxd_fs_check_sha(expected, e->raw, e->rlen, true, &e->loc))) {
		return false;
	}
	e->bom = e->rlen >= 3 && memcmp(e->raw, "\xEF\xBB\xBF", 3) == 0;
	const char *body = e->raw + (e->bom ? 3 : 0);
	size_t blen = e->rlen - (e->bom ? 3 : 0);
	if (ctxd_fs_looks_binary(body, blen < FS_BINARY_PROBE ? blen : FS_BINARY_PROBE)) {
		*res = ctxd_fs_fail(
		    "'%s' is a binary file (it contains NUL bytes); edit_file edits text",
		    e->loc.abs);
		return false;
	}
	e->crlf = all_crlf(body, blen);
	e->has_cr = memchr(body, '\r', blen) != NULL;
	if (e->crlf ? to_lf(body, blen, &e->cur) < 0 : dup_n(body, blen, &e->cur) < 0) {
		return false;
	}
	if (!(e->orig.p = malloc(e->cur.len + 1))) {
		return false;
	}
	memcpy(e->orig.p, e->cur.p, e->cur.len + 1);
	e->orig.len = e->cur.len;
	return true;
}

/* Edit i's oldText and newText into e->on and e->nn, normalized to the file's line ends;
 * false with *res set (NULL when out of memory) when they are missing or oldText is empty. */
static bool edit_texts(struct edit_run *e, json_t *ed, size_t i, json_t **res)
{
	json_t *jo = json_object_get(ed, "oldText"), *jn = json_object_get(ed, "newText");
	if (!json_is_string(jo) || !json_is_string(jn)) {
		*res =
		    ctxd_fs_fail("edit %zu of %zu needs string oldText and newText", i + 1, e->ne);
		return false;
	}
	/* the model writes LF; CR-LF in its text is normalized unless the file mixes */
	tx_free(&e->on);
	tx_free(&e->nn);
	if (!e->has_cr || e->crlf) {
		if (to_lf(json_string_value(jo), json_string_length(jo), &e->on) < 0 ||
		    to_lf(json_string_value(jn), json_string_length(jn), &e->nn) < 0) {
			return false;
		}
	} else if (dup_n(json_string_value(jo), json_string_length(jo), &e->on) < 0 ||
		   dup_n(json_string_value(jn), json_string_length(jn), &e->nn) < 0) {
		return false;
	}
	if (e->on.len == 0) {
		*res = ctxd_fs_fail("edit %zu of %zu: oldText is empty; give the exact text to "
				    "replace",
				    i + 1, e->ne);
		return false;
	}
	return true;
}

/* The first `n` line numbers in `at`, comma-separated, into `where` (cut at its size). */
static void line_list(char *where, size_t size, const size_t *at, size_t n)
{
	size_t k = 0;
	where[0] = '\0';
	for (size_t q = 0; q < n; q++) {
		k += (size_t)snprintf(where + k, size - k, "%s%zu", q ? ", " : "", at[q]);
		if (k >= size) {
			break;
		}
	}
}

/* Edit i has no exact match: apply the whitespace-tolerant one; false with *res set (NULL
 * when out of memory) when that matches nothing, or more than once without replaceAll. */
static bool edit_apply_ws(struct edit_run *e, size_t i, bool all, json_t **res)
{
	size_t pos[MAX_POS];
	long w = apply_ws(&e->cur, e->on.p, e->on.len, e->nn.p, e->nn.len, all, e->ctx->job, pos,
			  MAX_POS);
	if (w == CANCELLED) {
		*res = ctxd_fs_fail("edit of '%s' cancelled; nothing was written", e->loc.abs);
		return false;
	}
	if (w < 0) {
		return false;
	}
	if (w == 1 || (w > 1 && all)) {
		return true;
	}
	if (w > 1) {
		char where[128];
		line_list(where, sizeof(where), pos, w < MAX_POS ? (size_t)w : MAX_POS);
		*res = ctxd_fs_fail("edit %zu of %zu: oldText matches %ld times in '%s' when "
				    "whitespace is ignored (at lines %s%s); include more "
				    "surrounding lines to make it unique, or set replaceAll",
				    i + 1, e->ne, w, e->loc.abs, where, w > MAX_POS ? ", ..." : "");
		return false;
	}
	char hint[300];
	closest_line(e->cur.p, e->cur.len, e->on.p, e->on.len, hint, sizeof(hint));
	*res = ctxd_fs_fail("edit %zu of %zu: oldText matches 0 times in '%s' (also with "
			    "whitespace ignored)%s%s",
			    i + 1, e->ne, e->loc.abs, hint,
			    i > 0 ? "; note that earlier edits were applied first" : "");
	return false;
}

/* Apply edit i to e->cur: its exact match, else the whitespace-tolerant one; false with
 * *res set (NULL when out of memory) when it cannot be applied. */
static bool edit_apply_one(struct edit_run *e, json_t *ed, size_t i, json_t **res)
{
	bool all = json_is_true(json_object_get(ed, "replaceAll"));
	if (!edit_texts(e, ed, i, res)) {
		return false;
	}
	size_t pos[MAX_POS];
	size_t c = count_occ(e->cur.p, e->cur.len, e->on.p, e->on.len, pos, MAX_POS);
	if (c == 1 || (c > 1 && all)) {
		int r2 = c == 1 ? tx_splice(&e->cur, pos[0], pos[0] + e->on.len, e->nn.p, e->nn.len)
				: replace_all(&e->cur, e->on.p, e->on.len, e->nn.p, e->nn.len, c);
		return r2 >= 0;
	}
	if (c == 0) {
		return edit_apply_ws(e, i, all, res);
	}
	size_t shown = c < MAX_POS ? c : MAX_POS;
	for (size_t q = 0; q < shown; q++) {
		pos[q] = line_of(e->cur.p, pos[q]);
	}
	char where[128];
	line_list(where, sizeof(where), pos, shown);
	*res = ctxd_fs_fail("edit %zu of %zu: oldText matches %zu times in '%s' (at lines %s%s); "
			    "include more surrounding lines to make it unique, or set "
			    "replaceAll: true",
			    i + 1, e->ne, c, e->loc.abs, where, c > MAX_POS ? ", ..." : "");
	return false;
}

/* Apply every edit in order; false with *res set (NULL when out of memory) at the first
 * that fails or when cancelled. */
static bool edit_apply_all(struct edit_run *e, json_t *edits, json_t **res)
{
	size_t i;
	json_t *ed;
	json_array_foreach(edits, i, ed)
	{
		if (ctxd_job_cancelled(e->ctx->job)) {
			*res =
			    ctxd_fs_fail("edit of '%s' cancelled; nothing was written", e->loc.abs);
			return false;
		}
		if (!edit_apply_one(e, ed, i, res)) {
			return false;
		}
	}
	return true;
}

/* e->cur back in the file's conventions (CRLF, the BOM): a new buffer of *olen bytes (plus
 * one spare), NULL when out of memory. */
static char *edit_encode(const struct edit_run *e, size_t *olen)
{
	size_t extra = e->bom ? 3 : 0;
	if (e->crlf) {
		for (size_t q = 0; q < e->cur.len; q++) {
			extra += e->cur.p[q] == '\n';
		}
	}
	*olen = e->cur.len + extra;
	char *out = malloc(*olen + 1);
	if (!out) {
		return NULL;
	}
	size_t w = 0;
	if (e->bom) {
		memcpy(out, "\xEF\xBB\xBF", 3);
		w = 3;
	}
	if (e->crlf) {
		for (size_t q = 0; q < e->cur.len; q++) {
			if (e->cur.p[q] == '\n') {
				out[w++] = '\r';
			}
			out[w++] = e->cur.p[q];
		}
	} else {
		memcpy(out + w, e->cur.p, e->cur.len);
	}
	return out;
}

/* Write the edited file unless this is a dry run or nothing changed, filling its sha256
 * and *changed; false with *res set (NULL when out of memory) otherwise. */
static bool edit_write(struct edit_run *e, bool dry, char *sha, bool *changed, json_t **res)
{
	size_t olen;
	char *out = edit_encode(e, &olen);
	if (!out) {
		return false;
	}
	ctxd_sha256_hex(out, olen, sha);
	*changed = olen != e->rlen || memcmp(out, e->raw, e->rlen) != 0;
	bool ok = true;
	if (!dry && *changed) {
		struct ctxd_error err = {0};
		if (ctxd_atomic_write(e->dfd, e->name, out, olen, (int)e->mode, false, &err) < 0) {
			*res = ctxd_fs_fail("cannot write '%s': %s", e->loc.abs, err.msg);
			ok = false;
		}
	}
	free(out);
	return ok;
}

/* The tool result: the diff as text and structuredContent; NULL when out of memory. */
static json_t *edit_result(const struct edit_run *e, const struct ctxd_strbuf *diff, bool dry,
			   const char *sha, bool changed)
{
	const char *d = diff->p ? diff->p : "";
	json_t *dj = ctxd_utf8_json(d, diff->len);
	json_t *sc = dj ? json_pack("{s:s, s:o, s:I, s:b, s:s}", "path", e->loc.abs, "diff", dj,
				    "applied", (json_int_t)e->ne, "dryRun", dry, "sha256", sha)
			: NULL;
	if (!sc) {
		return NULL;
	}
	struct ctxd_strbuf t = {0};
	if (!changed) {
		ctxd_strbuf_printf(&t, "No changes: the edits leave '%s' as it was", e->loc.abs);
	} else {
		ctxd_strbuf_str(&t, json_string_value(dj));
		if (dry) {
			ctxd_strbuf_str(&t, "(dry run: nothing was written)");
		}
	}
	if (t.oom) {
		json_decref(sc);
		return NULL;
	}
	json_t *res = ctxd_tool_result(t.p, sc);
	free(t.p);
	return res;
}

json_t *ctxd_fs_edit_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *path;
	size_t plen;
	if (!ctxd_fs_get_path(args, &path, &plen)) {
		return ctxd_fs_fail("argument 'path' is required");
	}
	json_t *edits = json_object_get(args, "edits");
	size_t ne = json_array_size(edits);
	if (ne == 0) {
		return ctxd_fs_fail(
		    "argument 'edits' must hold at least one {oldText, newText} edit");
	}
	bool dry = json_is_true(json_object_get(args, "dryRun"));
	const char *expected = ctxd_fs_opt_str(args, "expectedSha256", NULL);
	struct edit_run e = {.ctx = ctx, .ne = ne, .mode = 0644};
	json_t *res = NULL;
	e.dfd = ctxd_fs_write_target(ctx, path, plen, e.name, &e.loc, &res);
	if (e.dfd < 0) {
		return res;
	}
	if (!dry && (res = ctxd_fs_refuse_read_only(&e.loc))) {
		close(e.dfd);
		return res;
	}
	/* A dry run only reads: replacements are atomic renames, so no lock is needed. */
	struct ctxd_dir_lock lk = {.fd = -1};
	if (!dry && (res = ctxd_fs_lock_dir(e.dfd, &e.loc, &lk))) {
		close(e.dfd);
		return res;
	}
	struct ctxd_strbuf diff = {0};
	char sha[CTXD_SHA256_HEX_LEN + 1];
	bool changed = false;
	if (!edit_load(&e, expected, &res) || !edit_apply_all(&e, edits, &res)) {
		goto out;
	}
	int dr = ctxd_fs_unified_diff(e.loc.abs, e.orig.p, e.orig.len, e.cur.p, e.cur.len, ctx->job,
				      &diff);
	if (dr == CANCELLED) {
		res = ctxd_fs_fail("edit of '%s' cancelled; nothing was written", e.loc.abs);
		goto out;
	}
	if (dr >= 0 && edit_write(&e, dry, sha, &changed, &res)) {
		res = edit_result(&e, &diff, dry, sha, changed);
	}
out:
	ctxd_dir_unlock(&lk);
	close(e.dfd);
	free(e.raw);
	free(diff.p);
	tx_free(&e.cur);
	tx_free(&e.orig);
	tx_free(&e.on);
	tx_free(&e.nn);
	return res;
}
