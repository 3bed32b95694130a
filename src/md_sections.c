/* md_sections.c - markdown headings and sections, lines, fenced code and blank text, for the
 * memory bank's reads, section edits, validation and search. Pure: no I/O, no globals.
 */
#include "ctxd/md_sections.h"
#include "ctxd/strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One line from `pos`. Line endings as in CommonMark: "\n", "\r\n", or a "\r" not
 * followed by "\n" (so a lone CR never ends up inside a heading's title). */
void ctxd_md_line(const char *buf, size_t len, size_t pos, struct ctxd_md_line *l)
{
	size_t e = pos;
	while (e < len && buf[e] != '\n' && buf[e] != '\r') {
		e++;
	}
	l->s = pos;
	l->e = e;
	if (e == len) {
		l->next = len;
	} else if (buf[e] == '\r' && e + 1 < len && buf[e + 1] == '\n') {
		l->next = e + 2;
	} else {
		l->next = e + 1;
	}
}

/* Columns of leading blanks (a tab counts 4) and the first non-blank byte. */
static size_t md_indent(const char *buf, const struct ctxd_md_line *l, size_t *first)
{
	size_t i = l->s, col = 0;
	while (i < l->e && (buf[i] == ' ' || buf[i] == '\t')) {
		col += buf[i] == '\t' ? 4 : 1;
		i++;
	}
	*first = i;
	return col;
}

static bool md_blank(const char *buf, const struct ctxd_md_line *l)
{
	for (size_t i = l->s; i < l->e; i++) {
		if (buf[i] != ' ' && buf[i] != '\t') {
			return false;
		}
	}
	return true;
}

/* A run of `c` from p; the rest of the line must be blank when `rest_blank`. */
static size_t md_run(const char *buf, size_t p, size_t e, char c)
{
	size_t i = p;
	while (i < e && buf[i] == c) {
		i++;
	}
	return i - p;
}

static bool md_rest_blank(const char *buf, size_t p, size_t e)
{
	for (; p < e; p++) {
		if (buf[p] != ' ' && buf[p] != '\t') {
			return false;
		}
	}
	return true;
}

/* "---", "***", "___" (blanks allowed between) with nothing else: a thematic break. */
static bool md_break(const char *buf, size_t p, size_t e)
{
	char c = buf[p];
	if (c != '-' && c != '*' && c != '_') {
		return false;
	}
	size_t n = 0;
	for (; p < e; p++) {
		if (buf[p] == c) {
			n++;
		} else if (buf[p] != ' ' && buf[p] != '\t') {
			return false;
		}
	}
	return n >= 3;
}

/* Whether a paragraph starting with this line could be a setext heading's text: list
 * items, block quotes and table rows cannot (their underline is a break or a row). */
static bool md_para_ok(const char *buf, size_t p, size_t e)
{
	char c = buf[p];
	if (c == '>' || c == '|' || c == '<') {
		return false;
	}
	if ((c == '-' || c == '*' || c == '+') &&
	    (p + 1 == e || buf[p + 1] == ' ' || buf[p + 1] == '\t')) {
		return false;
	}
	size_t d = 0;
	while (p + d < e && buf[p + d] >= '0' && buf[p + d] <= '9') {
		d++;
	}
	if (d > 0 && d < 10 && p + d < e && (buf[p + d] == '.' || buf[p + d] == ')')) {
		return false;
	}
	return true;
}

void ctxd_md_trim(const char *buf, size_t *s, size_t *e)
{
	while (*s < *e && (buf[*s] == ' ' || buf[*s] == '\t')) {
		(*s)++;
	}
	while (*e > *s && (buf[*e - 1] == ' ' || buf[*e - 1] == '\t')) {
		(*e)--;
	}
}

struct secvec {
	struct ctxd_md_section *v;
	size_t n, cap;
};

static int sec_push(struct secvec *sv, const struct ctxd_md_section *s)
{
	if (ctxd_grow((void **)&sv->v, &sv->cap, sv->n + 1, sizeof(*sv->v), 16)) {
		return -1;
	}
	sv->v[sv->n++] = *s;
	return 0;
}

/* Offset just past a leading YAML front matter block, or 0 when there is none. */
static size_t md_front_matter(const char *buf, size_t len)
{
	struct ctxd_md_line l;
	ctxd_md_line(buf, len, 0, &l);
	if (l.e - l.s != 3 || memcmp(buf, "---", 3) != 0 || l.next >= len) {
		return 0;
	}
	for (size_t pos = l.next; pos < len;) {
		ctxd_md_line(buf, len, pos, &l);
		size_t n = l.e - l.s;
		if (n == 3 &&
		    (memcmp(buf + l.s, "---", 3) == 0 || memcmp(buf + l.s, "...", 3) == 0)) {
			return l.next;
		}
		pos = l.next;
	}
	return 0;
}

/* The scanner's state between lines: an open fence, the paragraph a setext underline would
 * turn into a heading, and the headings found so far. */
struct scan {
	const char *buf;
	size_t len;
	char fence; /* '`' or '~' inside a fenced block, else 0 */
	size_t fence_len;
	bool in_para, para_ok;
	size_t para_start, para_line, para_s, para_first_e;
	struct secvec sv;
};

/* An ATX heading ("## Title ##") on line `l`, first non-blank at `first`: 1 when found and
 * recorded, 0 when the line is none, -1 on ENOMEM. */
static int atx_heading(struct scan *sc, const struct ctxd_md_line *l, size_t first, size_t lineno)
{
	const char *buf = sc->buf;
	size_t r = md_run(buf, first, l->e, '#');
	size_t after = first + r;
	if (r > 6 || (after != l->e && buf[after] != ' ' && buf[after] != '\t')) {
		return 0;
	}
	size_t ts = after, te = l->e;
	ctxd_md_trim(buf, &ts, &te);
	/* closing sequence: blanks then #s at the end (or only #s) */
	size_t k = te;
	while (k > ts && buf[k - 1] == '#') {
		k--;
	}
	if (k < te && (k == ts || buf[k - 1] == ' ' || buf[k - 1] == '\t')) {
		te = k;
		ctxd_md_trim(buf, &ts, &te);
	}
	struct ctxd_md_section s = {
	    .level = (int)r,
	    .setext = false,
	    .line = lineno,
	    .start = l->s,
	    .body = l->next,
	    .title = ts,
	    .title_len = te - ts,
	};
	return sec_push(&sc->sv, &s) ? -1 : 1;
}

/* A setext underline (=== or ---) of the open paragraph on line `l`, made of `c`: 1 when
 * found and recorded, 0 when the line is none, -1 on ENOMEM. */
static int setext_heading(struct scan *sc, const struct ctxd_md_line *l, size_t first, char c)
{
	size_t r = md_run(sc->buf, first, l->e, c);
	if (!md_rest_blank(sc->buf, first + r, l->e)) {
		return 0;
	}
	/* a multi-line setext heading is titled by its first line, so a title never holds a
	 * line ending */
	size_t ts = sc->para_s, te = sc->para_first_e;
	ctxd_md_trim(sc->buf, &ts, &te);
	struct ctxd_md_section s = {
	    .level = c == '=' ? 1 : 2,
	    .setext = true,
	    .line = sc->para_line,
	    .start = sc->para_start,
	    .body = l->next,
	    .title = ts,
	    .title_len = te - ts,
	};
	return sec_push(&sc->sv, &s) ? -1 : 1;
}

/* Does line `l` open a fence (``` or ~~~)? Records it when it does. */
static bool fence_open(struct scan *sc, const struct ctxd_md_line *l, size_t first)
{
	const char *buf = sc->buf;
	char c = buf[first];
	if (c != '`' && c != '~') {
		return false;
	}
	size_t r = md_run(buf, first, l->e, c);
	if (r < 3 || (c == '`' && memchr(buf + first + r, '`', l->e - first - r))) {
		return false;
	}
	sc->fence = c;
	sc->fence_len = r;
	return true;
}

/* One line of the document. Returns 0, or -1 on ENOMEM. */
static int scan_line(struct scan *sc, const struct ctxd_md_line *l, size_t lineno)
{
	const char *buf = sc->buf;
	size_t first;
	size_t ind = md_indent(buf, l, &first);
	if (sc->fence) {
		size_t r = md_run(buf, first, l->e, sc->fence);
		if (ind <= 3 && r >= sc->fence_len && md_rest_blank(buf, first + r, l->e)) {
			sc->fence = 0;
		}
		return 0;
	}
	if (md_blank(buf, l)) {
		sc->in_para = false;
		return 0;
	}
	if (ind >= 4) {
		return 0;
	}
	char c = buf[first];
	int rc = 0;
	if (fence_open(sc, l, first)) {
		rc = 1;
	} else if (c == '#') {
		rc = atx_heading(sc, l, first, lineno);
	}
	if (rc == 0 && sc->in_para && sc->para_ok && (c == '=' || c == '-')) {
		rc = setext_heading(sc, l, first, c);
	}
	if (rc == 0 && md_break(buf, first, l->e)) {
		rc = 1;
	}
	if (rc != 0) {
		sc->in_para = false;
		return rc < 0 ? -1 : 0;
	}
	if (!sc->in_para) {
		sc->in_para = true;
		sc->para_ok = md_para_ok(buf, first, l->e);
		sc->para_start = l->s;
		sc->para_line = lineno;
		sc->para_s = first;
		sc->para_first_e = l->e;
	}
	return 0;
}

int ctxd_md_sections(const char *buf, size_t len, struct ctxd_md_section **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!buf) {
		return 0;
	}
	struct scan sc = {.buf = buf, .len = len};
	size_t pos = md_front_matter(buf, len);
	size_t lineno = 1;
	for (size_t i = 0; i < pos; i++) {
		lineno += buf[i] == '\n';
	}
	while (pos < len) {
		struct ctxd_md_line l;
		ctxd_md_line(buf, len, pos, &l);
		if (scan_line(&sc, &l, lineno)) {
			free(sc.sv.v);
			errno = ENOMEM;
			return -1;
		}
		pos = l.next;
		lineno++;
	}
	struct ctxd_md_section *v = sc.sv.v;
	for (size_t i = 0; i < sc.sv.n; i++) {
		v[i].own_end = i + 1 < sc.sv.n ? v[i + 1].start : len;
		v[i].end = len;
		for (size_t j = i + 1; j < sc.sv.n; j++) {
			if (v[j].level <= v[i].level) {
				v[i].end = v[j].start;
				break;
			}
		}
	}
	*out = v;
	*n = sc.sv.n;
	return 0;
}

/* Is [s, e) only blanks and HTML comments? */
bool ctxd_md_blank(const char *s, const char *e)
{
	while (s < e) {
		if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
			s++;
		} else if (e - s >= 4 && memcmp(s, "<!--", 4) == 0) {
			const char *c = memmem(s + 4, (size_t)(e - s - 4), "-->", 3);
			if (!c) {
				return true;
			}
			s = c + 3;
		} else {
			return false;
		}
	}
	return true;
}

/* Fenced-code mask per line: true when line i (0-based) is inside or is a fence. */
bool *ctxd_md_fence_mask(const char *buf, size_t len, size_t *nlines)
{
	size_t n = 1;
	for (size_t i = 0; i < len; i++) {
		n += buf[i] == '\n';
	}
	bool *m = calloc(n, sizeof(*m));
	*nlines = n;
	if (!m) {
		return NULL;
	}
	char fence = 0;
	size_t flen = 0, li = 0;
	for (size_t pos = 0; pos < len; li++) {
		struct ctxd_md_line l;
		ctxd_md_line(buf, len, pos, &l);
		size_t first;
		size_t ind = md_indent(buf, &l, &first);
		if (fence) {
			m[li] = true;
			size_t r = md_run(buf, first, l.e, fence);
			if (ind <= 3 && r >= flen && md_rest_blank(buf, first + r, l.e)) {
				fence = 0;
			}
		} else if (ind <= 3 && first < l.e && (buf[first] == '`' || buf[first] == '~')) {
			char c = buf[first];
			size_t r = md_run(buf, first, l.e, c);
			if (r >= 3 &&
			    (c == '~' || !memchr(buf + first + r, '`', l.e - first - r))) {
				fence = c;
				flen = r;
				m[li] = true;
			}
		}
		pos = l.next;
	}
	return m;
}
