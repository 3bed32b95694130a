/* skills.c - Agent Skills: SKILL.md parsing (libyaml) and validation, discovery over the
 * skill roots, the refcounted catalogue snapshot, and hot reload (watch + pool job).
 *
 * Parsing is pure (ctxd_skill_parse); discovery never parses a SKILL.md whose inode, size
 * and mtime match the previous scan, so a reload after one edit re-parses one file.
 */
#include "ctxd/skills.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistd.h>
#include <unistr.h>
#include <yaml.h>

#include "ctxd/fsutil.h"
#include "ctxd/log.h"

#define MAX_DEPTH       5   /* skill folders nested at most this deep under a root */
#define FILE_DEPTH      8   /* bundled files at most this deep under a skill folder */
#define JSON_NODES_MAX  10000
#define JSON_DEPTH_MAX  64

/* ---- diagnostics ---------------------------------------------------------------------- */

struct diags {
	struct ctxd_skill_diag *v;
	size_t n, cap;
	bool oom;
};

static void diag_free(struct ctxd_skill_diag *d)
{
	free(d->file);
	free(d->message);
	free(d->other);
}

static void diag_add(struct diags *ds, const char *file, unsigned line, unsigned col,
		     const char *rule, bool error, const char *other, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));
static void diag_add(struct diags *ds, const char *file, unsigned line, unsigned col,
		     const char *rule, bool error, const char *other, const char *fmt, ...)
{
	if (ds->n == ds->cap) {
		size_t cap = ds->cap ? ds->cap * 2 : 4;
		struct ctxd_skill_diag *v = realloc(ds->v, cap * sizeof(*v));
		if (!v) {
			ds->oom = true;
			return;
		}
		ds->v = v;
		ds->cap = cap;
	}
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct ctxd_skill_diag *d = &ds->v[ds->n];
	d->file = strdup(file ? file : "");
	d->message = strdup(msg);
	d->other = other ? strdup(other) : NULL;
	d->line = line;
	d->col = col;
	d->rule = rule;
	d->error = error;
	if (!d->file || !d->message || (other && !d->other)) {
		diag_free(d);
		ds->oom = true;
		return;
	}
	ds->n++;
}

static int diag_copy(struct diags *ds, const struct ctxd_skill_diag *d)
{
	size_t n = ds->n;
	diag_add(ds, d->file, d->line, d->col, d->rule, d->error, d->other, "%s", d->message);
	return ds->n == n + 1 ? 0 : -1;
}

/* ---- UTF-8 ---------------------------------------------------------------------------- */

/* Offset of the first invalid UTF-8 byte in s[0..n), or n when all valid. */
static size_t utf8_invalid_at(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		unsigned char lo = 0x80, hi = 0xBF;
		if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			lo = c == 0xE0 ? 0xA0 : 0x80;
			hi = c == 0xED ? 0x9F : 0xBF;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			lo = c == 0xF0 ? 0x90 : 0x80;
			hi = c == 0xF4 ? 0x8F : 0xBF;
		} else {
			return i;
		}
		if (n - i < len || s[i + 1] < lo || s[i + 1] > hi) {
			return i;
		}
		for (size_t k = 2; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80) {
				return i;
			}
		}
		i += len;
	}
	return n;
}

/* Number of code points in valid UTF-8 `s`. */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		n += (*p & 0xC0) != 0x80;
	}
	return n;
}

static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ---- YAML to JSON --------------------------------------------------------------------- */

static bool plain_null(const char *v)
{
	return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
	       strcmp(v, "NULL") == 0;
}

/* A scalar as JSON: plain scalars that YAML's core schema types (null, bool, int, float)
 * keep their type; everything else is a string. */
static json_t *scalar_json(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strlen(v) == len) {
		if (plain_null(v)) {
			return json_null();
		}
		if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0) {
			return json_true();
		}
		if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 ||
		    strcmp(v, "FALSE") == 0) {
			return json_false();
		}
		char *end;
		errno = 0;
		long long ll = strtoll(v, &end, 10);
		if (*v && !*end && errno == 0) {
			return json_integer(ll);
		}
		if ((*v >= '0' && *v <= '9') || ((*v == '-' || *v == '+' || *v == '.') && v[1] &&
						 v[1] >= '0' && v[1] <= '9')) {
			errno = 0;
			double d = strtod(v, &end);
			if (!*end && errno == 0) {
				return json_real(d);
			}
		}
	}
	return json_stringn(v, len);
}

struct conv {
	yaml_document_t *doc;
	size_t nodes;
};

static json_t *node_json(struct conv *c, yaml_node_t *n, int depth)
{
	if (!n || depth > JSON_DEPTH_MAX || ++c->nodes > JSON_NODES_MAX) {
		return NULL;
	}
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return scalar_json(n);
	case YAML_SEQUENCE_NODE: {
		json_t *a = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     a && it < n->data.sequence.items.top; it++) {
			json_t *v = node_json(c, yaml_document_get_node(c->doc, *it), depth + 1);
			if (!v || json_array_append_new(a, v) < 0) {
				json_decref(a);
				a = NULL;
			}
		}
		return a;
	}
	case YAML_MAPPING_NODE: {
		json_t *o = json_object();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     o && p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
			if (!k || k->type != YAML_SCALAR_NODE) {
				json_decref(o);
				return NULL;
			}
			json_t *v = node_json(c, yaml_document_get_node(c->doc, p->value),
					      depth + 1);
			if (!v || json_object_setn_new(o, (const char *)k->data.scalar.value,
						       k->data.scalar.length, v) < 0) {
				json_decref(o);
				o = NULL;
			}
		}
		return o;
	}
	default:
		return NULL;
	}
}

/* ---- parsing -------------------------------------------------------------------------- */

struct parse {
	struct ctxd_skill_doc *doc;
	struct diags ds;
	const char *file;
	unsigned line0; /* file line of the first frontmatter line */
	size_t fixed_lines[16];
	size_t n_fixed;
};

static void pd(struct parse *p, const yaml_mark_t *m, const char *rule, bool error,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void pd(struct parse *p, const yaml_mark_t *m, const char *rule, bool error,
	       const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	unsigned line = m ? p->line0 + (unsigned)m->line : 1;
	unsigned col = m ? (unsigned)m->column + 1 : 1;
	diag_add(&p->ds, p->file, line, col, rule, error, NULL, "%s", msg);
}

/* A value that opens a flow collection and has more text after its end: "[file] [mode]"
 * (Claude Code's argument-hint style), which YAML cannot read. */
static bool flow_then_text(const char *s, size_t n)
{
	if (n == 0 || (s[0] != '[' && s[0] != '{')) {
		return false;
	}
	int depth = 0;
	for (size_t i = 0; i < n; i++) {
		depth += s[i] == '[' || s[i] == '{';
		depth -= s[i] == ']' || s[i] == '}';
		if (depth == 0) {
			size_t j = i + 1;
			while (j < n && (s[j] == ' ' || s[j] == '\t')) {
				j++;
			}
			return j < n && s[j] != '#';
		}
	}
	return false;
}

/* Quote the values of top-level `key: value` lines whose plain value holds ": " (the most
 * common frontmatter slip) or is a flow collection followed by more text ("[a] [b]").
 * Returns a new buffer, or NULL when nothing was changed. */
static char *lenient_fix(struct parse *p, const char *fm, size_t len, size_t *out_len)
{
	FILE *f;
	char *out = NULL;
	size_t n = 0;
	f = open_memstream(&out, &n);
	if (!f) {
		return NULL;
	}
	size_t line = 0;
	p->n_fixed = 0;
	for (size_t i = 0; i < len; line++) {
		const char *s = fm + i;
		const char *nl = memchr(s, '\n', len - i);
		size_t l = nl ? (size_t)(nl - s) : len - i;
		size_t content = l > 0 && s[l - 1] == '\r' ? l - 1 : l;
		size_t k = 0;
		while (k < content && (s[k] == '-' || s[k] == '_' || (s[k] >= 'a' && s[k] <= 'z') ||
				       (s[k] >= 'A' && s[k] <= 'Z') || (s[k] >= '0' && s[k] <= '9'))) {
			k++;
		}
		size_t v = k + 1;
		while (v < content && (s[v] == ' ' || s[v] == '\t')) {
			v++;
		}
		size_t vend = content;
		while (vend > v && (s[vend - 1] == ' ' || s[vend - 1] == '\t')) {
			vend--;
		}
		bool value = k > 0 && k < content && s[k] == ':' && v > k + 1 && v < vend &&
			     p->n_fixed < sizeof(p->fixed_lines) / sizeof(p->fixed_lines[0]);
		bool fix = value && ((!strchr("\"'|>[{&*!#", s[v]) &&
				      memmem(s + v, vend - v, ": ", 2)) ||
				     flow_then_text(s + v, vend - v));
		if (fix) {
			p->fixed_lines[p->n_fixed++] = line;
			fwrite(s, 1, k, f);
			fputs(": \"", f);
			for (size_t j = v; j < vend; j++) {
				if (s[j] == '"' || s[j] == '\\') {
					fputc('\\', f);
				}
				fputc(s[j], f);
			}
			fputc('"', f);
			fwrite(s + content, 1, l - content, f);
		} else {
			fwrite(s, 1, l, f);
		}
		if (nl) {
			fputc('\n', f);
		}
		i += l + (nl ? 1 : 0);
	}
	if (fclose(f) != 0 || p->n_fixed == 0) {
		free(out);
		return NULL;
	}
	*out_len = n;
	return out;
}

static bool load_yaml(const char *buf, size_t len, yaml_document_t *doc, yaml_mark_t *mark,
		      char *problem, size_t psz)
{
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		snprintf(problem, psz, "out of memory");
		memset(mark, 0, sizeof(*mark));
		return false;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	bool ok = yaml_parser_load(&parser, doc) != 0;
	if (!ok) {
		*mark = parser.problem_mark;
		snprintf(problem, psz, "%s%s%s", parser.problem ? parser.problem : "syntax error",
			 parser.context ? " " : "", parser.context ? parser.context : "");
	}
	yaml_parser_delete(&parser);
	return ok;
}

/* A copy of `s` in NFKC, or NULL (ENOMEM or invalid UTF-8). */
static char *nfkc(const char *s, size_t *len)
{
	size_t n = 0;
	uint8_t *r = u8_normalize(UNINORM_NFKC, (const uint8_t *)s, strlen(s), NULL, &n);
	char *c = r ? malloc(n + 1) : NULL;
	if (c) {
		memcpy(c, r, n);
		c[n] = '\0';
		*len = n;
	}
	free(r);
	return c;
}

/* The name rules of the specification, checked as skills-ref does (NFKC; Unicode letters
 * and digits; lowercase), each broken rule a warning: the Agent Skills client guide loads
 * such a skill anyway. */
static void check_name(struct parse *p, const yaml_mark_t *m, const char *v, const char *folder)
{
	size_t len = 0;
	char *nf = nfkc(v, &len);
	if (!nf) {
		p->ds.oom = true;
		return;
	}
	size_t chars = u8_mbsnlen((const uint8_t *)nf, len);
	if (chars > CTXD_SKILL_NAME_MAX) {
		pd(p, m, "name-length", false,
		   "name should be at most 64 characters, got %zu (loaded anyway)", chars);
	}
	size_t ll = 0;
	uint8_t *lower = u8_tolower((const uint8_t *)nf, len, NULL, NULL, NULL, &ll);
	if (!lower) {
		p->ds.oom = true;
	} else if (ll != len || memcmp(lower, nf, len) != 0) {
		pd(p, m, "name-case", false, "name '%.64s' should be lowercase (loaded anyway)", v);
	}
	free(lower);
	const uint8_t *u = (const uint8_t *)nf;
	uc_general_category_t alnum = uc_general_category_or(UC_CATEGORY_L, UC_CATEGORY_N);
	for (size_t i = 0; i < len;) {
		ucs4_t c;
		int k = u8_mbtouc(&c, u + i, len - i);
		if (c != '-' && !uc_is_general_category(c, alnum)) {
			pd(p, m, "name-format", false,
			   "name '%.64s' should hold only letters, digits and hyphens (character %zu "
			   "is not one; loaded anyway)", v, u8_mbsnlen(u, i) + 1);
			break;
		}
		i += k > 0 ? (size_t)k : 1;
	}
	if (nf[0] == '-' || nf[len - 1] == '-' || strstr(nf, "--")) {
		pd(p, m, "name-hyphen", false,
		   "name '%.64s' should not start or end with a hyphen or contain '--' (loaded "
		   "anyway)", v);
	}
	size_t fl = 0;
	char *fnf = folder ? nfkc(folder, &fl) : NULL;
	if (fnf && strcmp(fnf, nf) != 0) {
		pd(p, m, "name-mismatch", false,
		   "name '%.64s' should equal the folder name '%.200s' (loaded anyway)", v, folder);
	}
	free(fnf);
	free(nf);
}

/* The name a skill is served under: the frontmatter name (or, when it has none, the
 * folder's), with ASCII characters that cannot stand in a prompt name or a skill:// URI
 * (blanks, '/', ':', '%', controls ...) and bytes that are not UTF-8 (a folder name may
 * hold any) replaced by '-'; a name of dots only becomes hyphens. NULL on ENOMEM. */
static char *served_name(const char *name)
{
	char *s = strdup(name);
	if (!s) {
		return NULL;
	}
	size_t n = strlen(s);
	for (const uint8_t *bad; (bad = u8_check((const uint8_t *)s, n));) {
		s[bad - (const uint8_t *)s] = '-';
	}
	for (char *c = s; *c; c++) {
		unsigned char u = (unsigned char)*c;
		if (u < 0x80 && !ident_char(*c) && *c != '-' && *c != '.' && *c != '~') {
			*c = '-';
		}
	}
	if (strspn(s, ".") == n) {
		memset(s, '-', n);
	}
	return s;
}

/* A prompt argument name: [A-Za-z0-9_-], not all digits (that would be $N), 1-64 bytes. */
static bool arg_name_ok(const char *s, size_t n)
{
	bool nondigit = false;
	for (size_t i = 0; i < n; i++) {
		if (!ident_char(s[i]) && s[i] != '-') {
			return false;
		}
		nondigit = nondigit || !digit(s[i]);
	}
	return n > 0 && n <= 64 && nondigit && s[0] != '-';
}

/* Append a copy of s[0, n) to the list unless it is there already. -1 on ENOMEM. */
static int names_add(char ***v, size_t *nv, const char *s, size_t n)
{
	for (size_t i = 0; i < *nv; i++) {
		if (strlen((*v)[i]) == n && memcmp((*v)[i], s, n) == 0) {
			return 0;
		}
	}
	char **g = realloc(*v, (*nv + 1) * sizeof(*g));
	if (!g) {
		return -1;
	}
	*v = g;
	if (!(g[*nv] = strndup(s, n))) {
		return -1;
	}
	(*nv)++;
	return 0;
}

static void names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i]);
	}
	free(v);
}

#define ARG_NAMES_MAX 16

/* `arguments:` (a list, or a string of words separated by blanks or commas): the names
 * of $name placeholders, in position order (a repeated key: the last one). A bad entry is
 * a warning. */
static void parse_arguments(struct parse *p, yaml_document_t *ydoc, const yaml_node_t *v)
{
	struct ctxd_skill_doc *doc = p->doc;
	bool bad = false;
	names_free(doc->arg_names, doc->n_arg_names);
	doc->arg_names = NULL;
	doc->n_arg_names = 0;
	if (v->type == YAML_SCALAR_NODE) {
		const char *s = (const char *)v->data.scalar.value;
		while (*s) {
			s += strspn(s, " \t\r\n,");
			size_t n = strcspn(s, " \t\r\n,");
			if (n == 0) {
				break;
			}
			if (!arg_name_ok(s, n) || doc->n_arg_names >= ARG_NAMES_MAX) {
				bad = true;
			} else if (names_add(&doc->arg_names, &doc->n_arg_names, s, n) < 0) {
				p->ds.oom = true;
			}
			s += n;
		}
	} else if (v->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = v->data.sequence.items.start;
		     it < v->data.sequence.items.top; it++) {
			yaml_node_t *e = yaml_document_get_node(ydoc, *it);
			const char *s = e && e->type == YAML_SCALAR_NODE
						? (const char *)e->data.scalar.value : NULL;
			if (!s || !arg_name_ok(s, strlen(s)) ||
			    doc->n_arg_names >= ARG_NAMES_MAX) {
				bad = true;
			} else if (names_add(&doc->arg_names, &doc->n_arg_names, s, strlen(s)) < 0) {
				p->ds.oom = true;
			}
		}
	} else {
		bad = true;
	}
	if (bad) {
		pd(p, &v->start_mark, "arguments-format", false,
		   "arguments should list up to %d names made of letters, digits, '_' and '-' "
		   "(not only digits); the others are ignored", ARG_NAMES_MAX);
	}
}

/* One word of an argument-hint: "[file]", "<mode>", "(n)", "files..." -> the name, or
 * false when it is not a plain name ("|", "--force=x"). */
static bool hint_word(const char *s, size_t n, const char **out, size_t *on)
{
	while (n > 0 && strchr("[<(", *s)) {
		s++;
		n--;
	}
	while (n > 0 && strchr("]>)", s[n - 1])) {
		n--;
	}
	while (n >= 3 && memcmp(s + n - 3, "...", 3) == 0) {
		n -= 3;
	}
	while (n > 0 && strchr("]>)", s[n - 1])) {
		n--;
	}
	*out = s;
	*on = n;
	return arg_name_ok(s, n);
}

/* `argument-hint:` ("[file] [mode]", or a YAML list when written `[file]`): its words
 * name the prompt's arguments, when every word is a plain name; otherwise there are none
 * (one free-text argument), silently: a hint is display text. */
static void parse_hint(struct parse *p, yaml_document_t *ydoc, const yaml_node_t *v)
{
	struct ctxd_skill_doc *doc = p->doc;
	bool ok = true;
	char **names = NULL;
	size_t n = 0;
	bool seq = v->type == YAML_SEQUENCE_NODE;
	const yaml_node_item_t *it = seq ? v->data.sequence.items.start : NULL;
	const yaml_node_item_t *top = seq ? v->data.sequence.items.top : NULL;
	ok = seq || v->type == YAML_SCALAR_NODE;
	for (const yaml_node_t *cur = v; ok;) {
		if (seq) {
			if (it == top) {
				break;
			}
			cur = yaml_document_get_node(ydoc, *it++);
			if (!cur || cur->type != YAML_SCALAR_NODE) {
				ok = false;
				break;
			}
		}
		for (const char *s = (const char *)cur->data.scalar.value; ok && *s;) {
			s += strspn(s, " \t\r\n");
			size_t wl = strcspn(s, " \t\r\n");
			const char *w;
			size_t l;
			if (wl == 0) {
				break;
			}
			ok = hint_word(s, wl, &w, &l) && n < ARG_NAMES_MAX;
			if (ok && names_add(&names, &n, w, l) < 0) {
				p->ds.oom = true;
				ok = false;
			}
			s += wl;
		}
		if (!seq) {
			break;
		}
	}
	names_free(doc->hint_names, doc->n_hint_names); /* a repeated key: the last one */
	doc->hint_names = ok && n > 0 ? names : NULL;
	doc->n_hint_names = ok && n > 0 ? n : 0;
	if (!doc->hint_names) {
		names_free(names, n);
	}
}

static const char *const known_keys[] = {
	"name", "description", "license", "compatibility", "metadata", "allowed-tools",
	"arguments", "argument-hint",
};

static void validate(struct parse *p, yaml_document_t *ydoc, const char *folder)
{
	struct ctxd_skill_doc *doc = p->doc;
	yaml_node_t *root = yaml_document_get_root_node(ydoc);
	yaml_mark_t top = {0, 0, 0};
	if (root && root->type == YAML_SCALAR_NODE && plain_null((char *)root->data.scalar.value)) {
		root = NULL; /* an empty frontmatter: an empty mapping */
	}
	if (root && root->type != YAML_MAPPING_NODE) {
		pd(p, &root->start_mark, "frontmatter-not-mapping", true,
		   "the frontmatter must be a mapping of keys to values");
		return;
	}
	struct conv c = {ydoc, 0};
	doc->frontmatter = root ? node_json(&c, root, 0) : json_object();
	if (!doc->frontmatter) {
		pd(p, &root->start_mark, "frontmatter-complex", true,
		   "the frontmatter has non-string keys or is too large or deep to represent");
		return;
	}
	const yaml_node_t *name = NULL, *desc = NULL;
	size_t npairs = root ? (size_t)(root->data.mapping.pairs.top -
					root->data.mapping.pairs.start) : 0;
	for (size_t i = 0; i < npairs; i++) {
		yaml_node_pair_t *pr = root->data.mapping.pairs.start + i;
		yaml_node_t *k = yaml_document_get_node(ydoc, pr->key);
		yaml_node_t *v = yaml_document_get_node(ydoc, pr->value);
		const char *key = (const char *)k->data.scalar.value;
		for (size_t j = 0; j < i; j++) {
			yaml_node_t *k2 = yaml_document_get_node(ydoc,
								 root->data.mapping.pairs.start[j].key);
			if (strcmp((const char *)k2->data.scalar.value, key) == 0) {
				pd(p, &k->start_mark, "duplicate-key", false,
				   "key '%.100s' appears more than once; the last one is used", key);
			}
		}
		size_t kind = sizeof(known_keys) / sizeof(known_keys[0]);
		for (size_t j = 0; j < kind; j++) {
			if (strcmp(known_keys[j], key) == 0) {
				kind = j;
				break;
			}
		}
		bool scalar = v->type == YAML_SCALAR_NODE;
		switch (kind) {
		case 0:
			if (!scalar) {
				pd(p, &v->start_mark, "name-type", false,
				   "name should be a string; the folder name is used");
				name = NULL;
			} else {
				name = v;
			}
			break;
		case 1:
			if (!scalar) {
				pd(p, &v->start_mark, "description-type", true,
				   "description must be a string");
			} else {
				desc = v;
			}
			break;
		case 2:
			if (!scalar) {
				pd(p, &v->start_mark, "license-type", false,
				   "license should be a string");
			}
			break;
		case 3:
			if (!scalar) {
				pd(p, &v->start_mark, "compatibility-type", false,
				   "compatibility should be a string");
			} else if (utf8_chars((const char *)v->data.scalar.value) >
				   CTXD_SKILL_COMPAT_MAX) {
				pd(p, &v->start_mark, "compatibility-length", false,
				   "compatibility should be at most 500 characters, got %zu (loaded "
				   "anyway)", utf8_chars((const char *)v->data.scalar.value));
			}
			break;
		case 4: {
			bool ok = v->type == YAML_MAPPING_NODE;
			for (yaml_node_pair_t *q = ok ? v->data.mapping.pairs.start : NULL;
			     ok && q < v->data.mapping.pairs.top; q++) {
				yaml_node_t *mv = yaml_document_get_node(ydoc, q->value);
				ok = mv && mv->type == YAML_SCALAR_NODE;
			}
			if (!ok) {
				pd(p, &v->start_mark, "metadata-type", false,
				   "metadata should map string keys to string values");
			}
			break;
		}
		case 5: {
			bool ok = scalar || v->type == YAML_SEQUENCE_NODE;
			for (yaml_node_item_t *it = scalar ? NULL : v->data.sequence.items.start;
			     ok && it && it < v->data.sequence.items.top; it++) {
				yaml_node_t *iv = yaml_document_get_node(ydoc, *it);
				ok = iv && iv->type == YAML_SCALAR_NODE;
			}
			if (!ok) {
				pd(p, &v->start_mark, "allowed-tools-type", false,
				   "allowed-tools should be a space-separated string or a list of "
				   "strings");
			}
			break;
		}
		case 6:
			parse_arguments(p, ydoc, v);
			break;
		case 7:
			parse_hint(p, ydoc, v);
			break;
		default:
			pd(p, &k->start_mark, "unknown-key", false,
			   "unknown key '%.100s' (known: name, description, license, compatibility, "
			   "metadata, allowed-tools, arguments, argument-hint)", key);
			break;
		}
	}
	const char *nm = name ? (const char *)name->data.scalar.value : NULL;
	bool have_folder = folder && *folder;
	if (nm && (!*nm || strlen(nm) > CTXD_SKILL_NAME_BYTES)) {
		pd(p, &name->start_mark, "name-length", false, "name is %s%s",
		   *nm ? "over 255 bytes" : "empty", have_folder ? "; the folder name is used" : "");
		nm = NULL;
	} else if (!name && have_folder) {
		pd(p, root ? &root->start_mark : &top, "name-required", false,
		   "the frontmatter has no name; the folder name is used");
	}
	if (nm) {
		check_name(p, &name->start_mark, nm, folder);
	}
	if (nm || have_folder) {
		doc->name = served_name(nm ? nm : folder);
		if (!doc->name) {
			p->ds.oom = true;
		} else if (strcmp(doc->name, nm ? nm : folder) != 0) {
			pd(p, nm ? &name->start_mark : &top, "name-served", false,
			   "served as '%.64s': characters that cannot stand in a prompt name or a "
			   "skill:// URI became '-'", doc->name);
		}
	} else {
		pd(p, root ? &root->start_mark : &top, "name-required", true,
		   "the frontmatter has no name and there is no folder name to use");
	}
	if (!desc) {
		pd(p, root ? &root->start_mark : &top, "description-required", true,
		   "the frontmatter has no description");
	} else {
		const char *d = (const char *)desc->data.scalar.value;
		size_t chars = utf8_chars(d);
		doc->description = strdup(d);
		if (chars == 0 || strspn(d, " \t\r\n") == strlen(d)) {
			pd(p, &desc->start_mark, "description-length", true,
			   "description must not be empty");
		} else if (chars > CTXD_SKILL_DESC_MAX) {
			pd(p, &desc->start_mark, "description-length", false,
			   "description should be at most 1024 characters, got %zu (loaded anyway)",
			   chars);
		}
	}
}

/* Length of the line starting at s (without its terminator) and of the terminator. */
static size_t line_len(const char *s, size_t n, size_t *term)
{
	const char *nl = memchr(s, '\n', n);
	size_t l = nl ? (size_t)(nl - s) : n;
	*term = nl ? 1 : 0;
	if (l > 0 && s[l - 1] == '\r') {
		l--;
		(*term)++;
	}
	return l;
}

static bool is_fence(const char *s, size_t l)
{
	if (l < 3 || memcmp(s, "---", 3) != 0) {
		return false;
	}
	for (size_t i = 3; i < l; i++) {
		if (s[i] != ' ' && s[i] != '\t') {
			return false;
		}
	}
	return true;
}

struct ctxd_skill_doc *ctxd_skill_parse(const char *buf, size_t len, const char *folder,
					const char *file)
{
	struct parse p;
	memset(&p, 0, sizeof(p));
	p.file = file;
	p.line0 = 2;
	p.doc = calloc(1, sizeof(*p.doc));
	if (!p.doc) {
		return NULL;
	}
	struct ctxd_skill_doc *doc = p.doc;
	atomic_init((_Atomic unsigned *)&doc->refs, 1);
	doc->md_size = len;
	const unsigned char *u = (const unsigned char *)buf;
	size_t bad = utf8_invalid_at(u, len);
	if (bad < len) {
		unsigned line = 1, col = 1;
		for (size_t i = 0; i < bad; i++) {
			if (u[i] == '\n') {
				line++;
				col = 1;
			} else if ((u[i] & 0xC0) != 0x80) {
				col++;
			}
		}
		diag_add(&p.ds, file, line, col, "encoding", true, NULL,
			 "SKILL.md is not valid UTF-8 (byte 0x%02X at offset %zu)", u[bad], bad);
		goto out;
	}
	size_t off = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	size_t term;
	size_t l = line_len(buf + off, len - off, &term);
	if (!is_fence(buf + off, l) || (term == 0 && off + l < len)) {
		diag_add(&p.ds, file, 1, 1, "frontmatter-missing", true, NULL,
			 "SKILL.md must start with a '---' line opening the YAML frontmatter");
		goto out;
	}
	size_t fm_start = off + l + term, pos = fm_start, fm_end = 0, body = 0;
	bool closed = false;
	while (pos < len) {
		l = line_len(buf + pos, len - pos, &term);
		if (is_fence(buf + pos, l)) {
			fm_end = pos;
			body = pos + l + term;
			closed = true;
			break;
		}
		pos += l + term;
		if (term == 0) {
			break;
		}
	}
	if (!closed) {
		diag_add(&p.ds, file, 1, 1, "frontmatter-unterminated", true, NULL,
			 "the frontmatter opened on line 1 has no closing '---' line");
		goto out;
	}
	/* the body, without the blank lines that separate it from the frontmatter */
	while (body < len) {
		l = line_len(buf + body, len - body, &term);
		size_t blanks = 0; /* bounded: buf is not NUL-terminated */
		while (blanks < l && (buf[body + blanks] == ' ' || buf[body + blanks] == '\t')) {
			blanks++;
		}
		if (blanks != l || term == 0) {
			break;
		}
		body += l + term;
	}
	doc->body_len = len - body;
	doc->body = malloc(doc->body_len + 1);
	if (!doc->body) {
		goto oom;
	}
	memcpy(doc->body, buf + body, doc->body_len);
	doc->body[doc->body_len] = '\0';

	yaml_document_t ydoc;
	yaml_mark_t mark;
	char problem[300];
	const char *fm = buf + fm_start;
	size_t fm_len = fm_end - fm_start;
	if (!load_yaml(fm, fm_len, &ydoc, &mark, problem, sizeof(problem))) {
		size_t fixed_len;
		char *fixed = lenient_fix(&p, fm, fm_len, &fixed_len);
		yaml_mark_t m2;
		char problem2[300];
		if (fixed && load_yaml(fixed, fixed_len, &ydoc, &m2, problem2, sizeof(problem2))) {
			for (size_t i = 0; i < p.n_fixed; i++) {
				yaml_mark_t fm_mark = {0, p.fixed_lines[i], 0};
				pd(&p, &fm_mark, "yaml-unquoted-value", false,
				   "a value YAML cannot read unquoted (it holds ': ', or text after a "
				   "[list]); read leniently as one string (quote the value to fix)");
			}
			free(fixed);
		} else {
			free(fixed);
			pd(&p, &mark, "yaml-syntax", true, "frontmatter YAML: %s", problem);
			goto out;
		}
	}
	validate(&p, &ydoc, folder);
	yaml_document_delete(&ydoc);
out:
	if (p.ds.oom) {
		goto oom;
	}
	doc->diags = p.ds.v;
	doc->n_diags = p.ds.n;
	doc->valid = true;
	for (size_t i = 0; i < doc->n_diags; i++) {
		if (doc->diags[i].error) {
			doc->valid = false;
		}
	}
	if (doc->valid && (!doc->name || !doc->description || !doc->frontmatter)) {
		goto oom;
	}
	return doc;
oom:
	doc->diags = p.ds.v;
	doc->n_diags = p.ds.n;
	ctxd_skill_doc_put(doc);
	return NULL;
}

static struct ctxd_skill_doc *doc_get(struct ctxd_skill_doc *doc)
{
	atomic_fetch_add((_Atomic unsigned *)&doc->refs, 1);
	return doc;
}

void ctxd_skill_doc_put(struct ctxd_skill_doc *doc)
{
	if (!doc || atomic_fetch_sub((_Atomic unsigned *)&doc->refs, 1) != 1) {
		return;
	}
	free(doc->name);
	free(doc->description);
	json_decref(doc->frontmatter);
	free(doc->body);
	names_free(doc->arg_names, doc->n_arg_names);
	names_free(doc->hint_names, doc->n_hint_names);
	for (size_t i = 0; i < doc->n_diags; i++) {
		diag_free(&doc->diags[i]);
	}
	free(doc->diags);
	free(doc);
}

/* ---- argument substitution ------------------------------------------------------------ */

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
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		size_t(*v)[2] = realloc(r->v, cap * sizeof(*v));
		if (!v) {
			r->oom = true;
			return;
		}
		r->v = v;
		r->cap = cap;
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
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			struct run *g = realloc(runs, cap * sizeof(*g));
			if (!g) {
				free(runs);
				r->oom = true;
				return;
			}
			runs = g;
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
	bool given;           /* arguments were given (non-blank) */
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

int ctxd_skills_substitute(const char *body, const char *args, char *const *names,
			   size_t n_names, size_t cap, char **out, size_t *out_len)
{
	struct subst st = {.body = body, .len = strlen(body), .args = args, .names = names,
			   .n_names = n_names};
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

/* ---- the family state ----------------------------------------------------------------- */

enum base_kind { BASE_SANDBOX, BASE_FD };

/* BASE_SANDBOX: a root's .claude/skills or .agents/skills, read through the sandbox; a
 * symlink is followed only while its target stays inside an allowed root.
 * BASE_FD: a configured (skills.dirs, --skills-dir) or user-level directory, trusted: read
 * beneath its own O_PATH fd, symlinks followed wherever they point. */
struct base {
	enum base_kind kind;
	char *abs; /* absolute path (canonical for BASE_FD) */
	int fd;    /* BASE_FD: O_PATH directory fd */
	const char *root_path; /* BASE_SANDBOX made from a root: the root's path */
	/* client roots (ctxd_skills_set_roots) */
	struct ctxd_sandbox *sb; /* BASE_SANDBOX read through this one, not sk->sb, or NULL */
	bool owns_sb;            /* sb is freed with this base */
	unsigned order;          /* precedence in a scan, lowest first */
	bool client;             /* made from a client root */
	bool gone;               /* that root left: not scanned, not read (__atomic) */
};

/* Bases for client roots (two per root) are appended into room reserved at create time, so
 * the array never moves while workers read it, and are marked gone rather than removed, so
 * the base index a snapshot's skill holds stays valid. */
#define CLIENT_BASES_MAX 128

struct docref {
	char *path; /* SKILL.md absolute path */
	struct ctxd_skill_doc *doc;
};

struct watch_reg {
	struct ctxd_skills *sk;
	char *dir;
	const char *filter; /* only this entry name matters, or NULL for any */
	int id;
};

struct watch_want {
	char *dir;
	const char *filter;
};

struct reload_job {
	struct ctxd_job job;
	struct ctxd_skills *sk;
	bool changed;
	struct watch_want *want;
	size_t n_want;
};

struct ctxd_skills {
	const struct ctxd_config *cfg;
	const struct ctxd_sandbox *sb;
	struct ctxd_pool *pool;
	struct base *bases;
	size_t n_bases;
	size_t n_before_user; /* bases before the user-level directories */
	size_t cap_bases;     /* room in bases (fixed after create) */
	char **extra; /* readable paths outside the roots, for Landlock (owned copies) */
	size_t n_extra;
	struct diags init_diags;

	pthread_mutex_t scan_lock; /* one scan at a time; guards docs and want */
	pthread_mutex_t snap_lock; /* guards cur */
	struct ctxd_skills_snapshot *cur;
	struct docref *docs;
	size_t n_docs;
	struct watch_want *want;
	size_t n_want;
	unsigned applied_gen; /* the roots_gen the bases match (under scan_lock) */
	/* under snap_lock */
	char **client_roots;  /* the client roots to apply at the next scan (owned) */
	size_t n_client_roots;
	bool roots_pending;   /* client_roots holds a new list */
	unsigned roots_gen;   /* counts ctxd_skills_set_roots calls */
	bool stale;           /* cur predates the client roots: readers rescan first */
	bool cur_served;      /* cur was handed to a reader: its replacement is a change the
			       * client could notice */
	bool announce;        /* a catalogue a reader saw was replaced: send list_changed */

	/* loop thread only */
	struct ctxd_watch *watch;
	struct ctxd_notifier *notifier;
	struct watch_reg **regs;
	size_t n_regs;
	struct reload_job rj;
	bool busy, dirty, detached, attached;

	struct ctxd_resource_provider res;
	struct ctxd_prompt_provider prompts;
};

static int add_base(struct ctxd_skills *sk, enum base_kind kind, const char *abs, int fd,
		    const char *root_path)
{
	struct base *b = realloc(sk->bases, (sk->n_bases + 1) * sizeof(*b));
	if (!b) {
		return -1;
	}
	sk->bases = b;
	char *copy = strdup(abs);
	if (!copy) {
		return -1;
	}
	b[sk->n_bases++] = (struct base){kind, copy, fd, root_path};
	return 0;
}

const char *ctxd_skills_why(int err, char *buf, size_t n)
{
	switch (err) {
	case ENOENT:
		return "it does not exist";
	case EACCES:
	case EPERM:
		return "ctxd may not read it (file permissions, or ctxd's Landlock sandbox, which "
		       "admits only the skill directories and symlink targets present when ctxd "
		       "started: restart ctxd after adding new ones)";
	case ENOTDIR:
		return "a part of the path is not a directory";
	case ELOOP:
		return "it goes through too many symlinks (a symlink loop?)";
	case EXDEV:
		return "a symlink on the way leads outside the allowed directories";
	case ENAMETOOLONG:
		return "the path is too long";
	case EMFILE:
	case ENFILE:
		return "too many files are open; retry later";
	case ENOMEM:
		return "out of memory";
	case EISDIR:
		return "it is a directory, not a file";
	case EIO:
		return "the storage reported an I/O error";
	case EFBIG:
		return "it is too large";
	default:
		snprintf(buf, n, "the system refused it (errno %d)", err);
		return buf;
	}
}

/* True when `real` (canonical) is inside a root or beneath an already listed path. */
static bool readable_already(const struct ctxd_skills *sk, const char *real)
{
	struct ctxd_sandbox_loc *loc = malloc(sizeof(*loc));
	struct ctxd_error e;
	bool inside = loc && sk->sb && ctxd_sandbox_locate(sk->sb, real, strlen(real), loc, &e) == 0;
	free(loc);
	for (size_t i = 0; !inside && i < sk->n_extra; i++) {
		size_t l = strlen(sk->extra[i]);
		inside = strncmp(sk->extra[i], real, l) == 0 && (real[l] == '/' || real[l] == '\0');
	}
	return inside;
}

/* List `real` (canonical) for Landlock unless it is readable already. -1 on ENOMEM. */
static int extra_add(struct ctxd_skills *sk, const char *real)
{
	if (readable_already(sk, real)) {
		return 0;
	}
	char **x = realloc(sk->extra, (sk->n_extra + 1) * sizeof(*x));
	if (!x) {
		return -1;
	}
	sk->extra = x;
	if (!(x[sk->n_extra] = strdup(real))) {
		return -1;
	}
	sk->n_extra++;
	return 0;
}

/* A configured or user-level directory: trusted, read beneath its own O_PATH fd; listed
 * for Landlock when it lies outside every root. */
static int add_dir(struct ctxd_skills *sk, const char *path, bool configured)
{
	char real[PATH_MAX], why[64];
	if (!realpath(path, real)) {
		if (configured) {
			diag_add(&sk->init_diags, path, 0, 0, "skills-dir", false, NULL,
				 "skills directory '%.300s' cannot be used: %s", path,
				 ctxd_skills_why(errno, why, sizeof(why)));
		}
		return sk->init_diags.oom ? -1 : 0;
	}
	for (size_t i = 0; i < sk->n_bases; i++) {
		if (strcmp(sk->bases[i].abs, real) == 0) {
			return 0;
		}
	}
	int fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (configured) {
			diag_add(&sk->init_diags, real, 0, 0, "skills-dir", false, NULL,
				 "skills directory '%.300s' cannot be opened: %s", real,
				 ctxd_skills_why(errno, why, sizeof(why)));
		}
		return sk->init_diags.oom ? -1 : 0;
	}
	if (add_base(sk, BASE_FD, real, fd, NULL) < 0) {
		close(fd);
		return -1;
	}
	return extra_add(sk, real);
}

/* ---- Landlock: the targets of symlinks in the trusted directories ---------------------- */

static char **read_names(int dirfd, size_t *n, unsigned char **types);
static void free_names(char **v, size_t n, unsigned char *t);
static bool skipped_dir(const char *name);
static const char *skill_md_name(char **names, size_t n);

struct link_walk {
	struct ctxd_skills *sk;
	size_t budget; /* directories still to visit */
	struct {
		dev_t dev;
		ino_t ino;
	} stack[MAX_DEPTH + 2];
	int depth;
	bool oom;
};

/* Record the target of `abs` (a symlink) when it is not readable yet. */
static void link_target(struct link_walk *lw, const char *abs)
{
	char real[PATH_MAX];
	if (realpath(abs, real) && extra_add(lw->sk, real) < 0) {
		lw->oom = true;
	}
}

/* Walk directory `dfd` (at `abs`) of a trusted base as discovery would, following links,
 * and record every symlink target on the way: linked skill folders, linked SKILL.md files
 * and linked directories of skills. */
static void link_walk(struct link_walk *lw, int dfd, const char *abs, int depth)
{
	struct stat st;
	if (lw->budget == 0 || fstat(dfd, &st) < 0 || lw->depth >= MAX_DEPTH + 2) {
		return;
	}
	for (int i = 0; i < lw->depth; i++) {
		if (lw->stack[i].dev == st.st_dev && lw->stack[i].ino == st.st_ino) {
			return;
		}
	}
	lw->budget--;
	size_t n = 0;
	unsigned char *types = NULL;
	char **names = read_names(dfd, &n, &types);
	if (!names) {
		lw->oom = true;
		return;
	}
	lw->stack[lw->depth].dev = st.st_dev;
	lw->stack[lw->depth].ino = st.st_ino;
	lw->depth++;
	const char *md = skill_md_name(names, n);
	for (size_t i = 0; i < n && !lw->oom; i++) {
		unsigned char t = types[i];
		char child[CTXD_PATH_MAX];
		if ((md && strcmp(names[i], md) != 0) || skipped_dir(names[i]) ||
		    (t != DT_DIR && t != DT_LNK && t != DT_UNKNOWN) ||
		    (size_t)snprintf(child, sizeof(child), "%s/%s", abs, names[i]) >= sizeof(child)) {
			continue;
		}
		struct stat ls;
		if (t != DT_DIR && fstatat(dfd, names[i], &ls, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(ls.st_mode)) {
			link_target(lw, child);
		}
		if (md || depth >= MAX_DEPTH) {
			continue;
		}
		int cfd = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
		if (cfd >= 0) {
			link_walk(lw, cfd, child, depth + 1);
			close(cfd);
		}
	}
	lw->depth--;
	free_names(names, n, types);
}

static int add_link_targets(struct ctxd_skills *sk)
{
	struct link_walk lw = {.sk = sk, .budget = sk->cfg && sk->cfg->skills_max_dirs
							   ? sk->cfg->skills_max_dirs : 10000};
	for (size_t i = 0; i < sk->n_bases && !lw.oom; i++) {
		const struct base *b = &sk->bases[i];
		int fd = b->kind == BASE_FD ? openat(b->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
					    : -1;
		if (fd >= 0) {
			link_walk(&lw, fd, b->abs, 0);
			close(fd);
		}
	}
	return lw.oom ? -1 : 0;
}

struct ctxd_skills *ctxd_skills_create(const struct ctxd_config *cfg, const struct ctxd_sandbox *sb,
				       struct ctxd_pool *pool, struct ctxd_error *err)
{
	struct ctxd_skills *sk = calloc(1, sizeof(*sk));
	if (!sk) {
		ctxd_error_set_errno(err, 0, ENOMEM, "skills: out of memory");
		return NULL;
	}
	sk->cfg = cfg;
	sk->sb = sb;
	sk->pool = pool;
	pthread_mutex_init(&sk->scan_lock, NULL);
	pthread_mutex_init(&sk->snap_lock, NULL);
	sk->res = ctxd_skills_resource_table;
	sk->res.ud = sk;
	sk->prompts = ctxd_skills_prompt_table;
	sk->prompts.ud = sk;
	for (size_t i = 0; cfg && i < cfg->n_skills_dirs; i++) {
		if (add_dir(sk, cfg->skills_dirs[i], true) < 0) {
			goto oom;
		}
	}
	size_t nroots = sb ? ctxd_sandbox_root_count(sb) : 0;
	for (size_t i = 0; i < nroots; i++) {
		const struct ctxd_root *r = ctxd_sandbox_root(sb, i);
		static const char *const subs[] = {"/.claude/skills", "/.agents/skills"};
		for (size_t k = 0; k < 2; k++) {
			char p[CTXD_PATH_MAX];
			if ((size_t)snprintf(p, sizeof(p), "%s%s", r->path, subs[k]) >= sizeof(p)) {
				continue;
			}
			bool dup = false;
			for (size_t j = 0; j < sk->n_bases; j++) {
				dup = dup || strcmp(sk->bases[j].abs, p) == 0;
			}
			if (!dup && add_base(sk, BASE_SANDBOX, p, -1, r->path) < 0) {
				goto oom;
			}
		}
	}
	sk->n_before_user = sk->n_bases;
	if (!cfg || cfg->skills_user_dirs) {
		const char *home = getenv("HOME");
		if (home && home[0] == '/') {
			static const char *const subs[] = {"/.claude/skills", "/.agents/skills"};
			for (size_t k = 0; k < 2; k++) {
				char p[CTXD_PATH_MAX];
				if ((size_t)snprintf(p, sizeof(p), "%s%s", home, subs[k]) <
					    sizeof(p) &&
				    add_dir(sk, p, false) < 0) {
					goto oom;
				}
			}
		}
	}
	if (sk->init_diags.oom || add_link_targets(sk) < 0) {
		goto oom;
	}
	for (size_t i = 0; i < sk->n_bases; i++) {
		sk->bases[i].order = (unsigned)i + (i < sk->n_before_user ? 0 : CLIENT_BASES_MAX);
	}
	struct base *room = realloc(sk->bases, (sk->n_bases + CLIENT_BASES_MAX) * sizeof(*room));
	if (!room) {
		goto oom;
	}
	sk->bases = room;
	sk->cap_bases = sk->n_bases + CLIENT_BASES_MAX;
	return sk;
oom:
	ctxd_error_set_errno(err, 0, ENOMEM, "skills: out of memory");
	ctxd_skills_destroy(sk);
	return NULL;
}

size_t ctxd_skills_extra_dirs(struct ctxd_skills *sk, const char **out, size_t max)
{
	for (size_t i = 0; i < sk->n_extra && i < max; i++) {
		out[i] = sk->extra[i];
	}
	return sk->n_extra;
}

static void snapshot_free(struct ctxd_skills_snapshot *s)
{
	json_decref(__atomic_load_n(&s->list_cache, __ATOMIC_ACQUIRE));
	free(__atomic_load_n(&s->catalogue_cache, __ATOMIC_ACQUIRE));
	for (size_t i = 0; i < s->n_skills; i++) {
		struct ctxd_skill *k = &s->skills[i];
		ctxd_skill_doc_put(k->doc);
		free(k->dir);
		free(k->skill_md);
		free(k->rel);
		for (size_t j = 0; j < k->n_files; j++) {
			free(k->files[j]);
		}
		free(k->files);
		free(k->sizes);
	}
	free(s->skills);
	for (size_t i = 0; i < s->n_diags; i++) {
		diag_free(&s->diags[i]);
	}
	free(s->diags);
	free(s);
}

void ctxd_skills_snapshot_put(struct ctxd_skills_snapshot *snap)
{
	if (snap && atomic_fetch_sub((_Atomic unsigned *)&snap->refs, 1) == 1) {
		snapshot_free(snap);
	}
}

static void free_want(struct watch_want *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(w[i].dir);
	}
	free(w);
}

void ctxd_skills_destroy(struct ctxd_skills *sk)
{
	if (!sk) {
		return;
	}
	for (size_t i = 0; i < sk->n_regs; i++) {
		free(sk->regs[i]->dir);
		free(sk->regs[i]);
	}
	free(sk->regs);
	free_want(sk->rj.want, sk->rj.n_want);
	free_want(sk->want, sk->n_want);
	ctxd_skills_snapshot_put(sk->cur);
	for (size_t i = 0; i < sk->n_docs; i++) {
		free(sk->docs[i].path);
		ctxd_skill_doc_put(sk->docs[i].doc);
	}
	free(sk->docs);
	for (size_t i = 0; i < sk->n_bases; i++) {
		if (sk->bases[i].kind == BASE_FD && sk->bases[i].fd >= 0) {
			close(sk->bases[i].fd);
		}
		if (sk->bases[i].owns_sb) {
			ctxd_sandbox_destroy(sk->bases[i].sb);
		}
		free(sk->bases[i].abs);
	}
	free(sk->bases);
	for (size_t i = 0; i < sk->n_client_roots; i++) {
		free(sk->client_roots[i]);
	}
	free(sk->client_roots);
	names_free(sk->extra, sk->n_extra);
	for (size_t i = 0; i < sk->init_diags.n; i++) {
		diag_free(&sk->init_diags.v[i]);
	}
	free(sk->init_diags.v);
	pthread_mutex_destroy(&sk->scan_lock);
	pthread_mutex_destroy(&sk->snap_lock);
	free(sk);
}

/* ---- confined opens ------------------------------------------------------------------- */

/* Open absolute path `p` inside the roots of `sb` (the configured sandbox, or a client
 * root's own; flags as for ctxd_sandbox_open): in its own root, following symlinks that
 * stay there; or, when a symlink leads elsewhere, at its canonical target provided that
 * lies inside an allowed root too. A target outside every
 * root is refused with EXDEV, a dangling one with ENOENT. */
static int open_in_roots(const struct ctxd_sandbox *sb, const char *p, int flags)
{
	struct ctxd_error e = {0};
	int fd = ctxd_sandbox_open(sb, p, strlen(p), flags, 0, false, NULL, &e);
	if (fd >= 0) {
		return fd;
	}
	int err = e.sys_errno ? e.sys_errno : EACCES;
	if (err != EXDEV && err != ELOOP && err != EACCES) {
		errno = err;
		return -1;
	}
	char real[PATH_MAX];
	if (!realpath(p, real)) {
		errno = errno == ENOENT ? ENOENT : err;
		return -1;
	}
	if (strcmp(real, p) == 0) {
		errno = err;
		return -1;
	}
	fd = ctxd_sandbox_open(sb, real, strlen(real), flags, 0, false, NULL, &e);
	if (fd < 0) {
		errno = e.sys_errno && e.sys_errno != EACCES ? e.sys_errno : EXDEV;
	}
	return fd;
}

/* Open `name` (one component) of directory `dfd`, which is at `dir_abs`, under the symlink
 * rule of base `b` (see struct base). Returns fd or -1 with errno. */
static int open_entry(const struct ctxd_skills *sk, const struct base *b, int dfd,
		      const char *dir_abs, const char *name, int flags)
{
	if (b->kind == BASE_FD) {
		return openat(dfd, name, flags | O_CLOEXEC);
	}
	int fd = ctxd_sandbox_openat(dfd, name, flags, 0, false);
	if (fd >= 0 || (errno != EXDEV && errno != ELOOP)) {
		return fd;
	}
	/* a symlink climbing above `dfd`: resolve it from the roots */
	char p[CTXD_PATH_MAX];
	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir_abs, name) >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open_in_roots(b->sb ? b->sb : sk->sb, p, flags);
}

/* Open `rel` ("" = the base itself) beneath base `b`. Returns fd or -1 with errno. */
static int base_open(const struct ctxd_skills *sk, const struct base *b, const char *rel,
		     int flags)
{
	if (b->kind == BASE_FD) {
		return openat(b->fd, *rel ? rel : ".", flags | O_CLOEXEC);
	}
	char p[CTXD_PATH_MAX];
	int n = snprintf(p, sizeof(p), "%s%s%s", b->abs, *rel ? "/" : "", rel);
	if (n < 0 || (size_t)n >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open_in_roots(b->sb ? b->sb : sk->sb, p, flags);
}

/* The SKILL.md of a skill folder: "SKILL.md", else a lowercase "skill.md", else NULL. */
static const char *skill_md_name(char **names, size_t n)
{
	const char *found = NULL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], "SKILL.md") == 0) {
			return "SKILL.md";
		}
		if (strcmp(names[i], "skill.md") == 0) {
			found = "skill.md";
		}
	}
	return found;
}

/* A relative path inside a skill folder: no leading '/', no '..' or empty component. */
static bool rel_ok(const char *rel)
{
	if (!rel || !*rel || *rel == '/' || strlen(rel) >= CTXD_PATH_MAX) {
		return false;
	}
	for (const char *p = rel; *p;) {
		const char *s = strchr(p, '/');
		size_t l = s ? (size_t)(s - p) : strlen(p);
		if (l == 0 || (l == 2 && p[0] == '.' && p[1] == '.')) {
			return false;
		}
		p += l + (s ? 1 : 0);
	}
	return true;
}

int ctxd_skills_open_file(struct ctxd_skills *sk, const struct ctxd_skill *skill,
			  const char *rel, int flags)
{
	if (!rel_ok(rel)) {
		errno = EACCES;
		return -1;
	}
	const struct base *b = &sk->bases[skill->base];
	if (__atomic_load_n(&b->gone, __ATOMIC_ACQUIRE)) {
		errno = EACCES; /* its client root is no longer allowed */
		return -1;
	}
	int dfd = base_open(sk, b, skill->rel, O_PATH | O_DIRECTORY);
	if (dfd < 0) {
		return -1;
	}
	int fd;
	if (strcmp(rel, "SKILL.md") == 0) {
		/* the skill's own SKILL.md may be a symlink: the discovery rule applies */
		fd = open_entry(sk, b, dfd, skill->dir, skill->lower_md ? "skill.md" : "SKILL.md",
				flags | O_NONBLOCK | O_NOCTTY);
	} else {
		fd = ctxd_sandbox_openat(dfd, rel, flags | O_NONBLOCK | O_NOCTTY, 0, false);
		if (fd < 0 && (errno == EXDEV || errno == ELOOP)) {
			errno = EACCES;
		}
	}
	int e = errno;
	close(dfd);
	errno = e;
	return fd;
}

/* ---- discovery ------------------------------------------------------------------------ */

struct cand {
	struct ctxd_skill s;
	size_t order;
};

struct scan {
	struct ctxd_skills *sk;
	struct cand *c;
	size_t n, cap;
	struct diags ds;
	struct docref *docs;
	size_t n_docs, cap_docs;
	struct watch_want *want;
	size_t n_want, cap_want;
	size_t visited;
	bool cap_hit;
	bool oom;
	struct {
		dev_t dev;
		ino_t ino;
	} stack[MAX_DEPTH + FILE_DEPTH + 2];
	int depth;
};

static void want_add(struct scan *sc, const char *dir, const char *filter)
{
	if (sc->n_want == sc->cap_want) {
		size_t cap = sc->cap_want ? sc->cap_want * 2 : 16;
		struct watch_want *w = realloc(sc->want, cap * sizeof(*w));
		if (!w) {
			sc->oom = true;
			return;
		}
		sc->want = w;
		sc->cap_want = cap;
	}
	char *d = strdup(dir);
	if (!d) {
		sc->oom = true;
		return;
	}
	sc->want[sc->n_want++] = (struct watch_want){d, filter};
}

/* Read the names in directory `dirfd` (not consumed), sorted, with their d_type. */
static char **read_names(int dirfd, size_t *n, unsigned char **types)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0) {
			close(fd);
		}
		return NULL;
	}
	rewinddir(d); /* the dup shares its offset with `dirfd`, which may have been read */
	char **v = NULL;
	unsigned char *t = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
			continue;
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			char **g = realloc(v, cap * sizeof(*v));
			if (!g) {
				goto fail;
			}
			v = g;
		}
		/* names and their d_type share one block: pointers first, then types */
		v[cnt] = malloc(strlen(e->d_name) + 2);
		if (!v[cnt]) {
			goto fail;
		}
		v[cnt][0] = (char)e->d_type;
		strcpy(v[cnt] + 1, e->d_name);
		cnt++;
	}
	closedir(d);
	/* sort by name (skipping the type byte) */
	for (size_t i = 1; i < cnt; i++) {
		char *x = v[i];
		size_t j = i;
		for (; j > 0 && strcmp(v[j - 1] + 1, x + 1) > 0; j--) {
			v[j] = v[j - 1];
		}
		v[j] = x;
	}
	t = malloc(cnt ? cnt : 1);
	if (!t) {
		for (size_t i = 0; i < cnt; i++) {
			free(v[i]);
		}
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < cnt; i++) {
		t[i] = (unsigned char)v[i][0];
		memmove(v[i], v[i] + 1, strlen(v[i] + 1) + 1);
	}
	if (!v && !(v = calloc(1, sizeof(char *)))) { /* an empty directory: a valid empty list */
		free(t);
		return NULL;
	}
	*types = t;
	*n = cnt;
	return v;
fail:
	for (size_t i = 0; i < cnt; i++) {
		free(v[i]);
	}
	free(v);
	closedir(d);
	return NULL;
}

static void free_names(char **v, size_t n, unsigned char *t)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i]);
	}
	free(v);
	free(t);
}

static bool skipped_dir(const char *name)
{
	return strcmp(name, ".git") == 0 || strcmp(name, "node_modules") == 0;
}

static size_t max_dirs(const struct ctxd_skills *sk)
{
	return sk->cfg && sk->cfg->skills_max_dirs ? sk->cfg->skills_max_dirs : 10000;
}

/* Count one more directory; false (and one diagnostic) once the cap is passed. */
static bool visit(struct scan *sc, const char *abs)
{
	if (sc->cap_hit) {
		return false;
	}
	if (++sc->visited > max_dirs(sc->sk)) {
		sc->cap_hit = true;
		diag_add(&sc->ds, abs, 0, 0, "dir-cap", false, NULL,
			 "stopped at '%.300s': more than %zu directories visited (skills.max_dirs); "
			 "skills beyond it are not listed", abs, max_dirs(sc->sk));
		return false;
	}
	return true;
}

static bool on_stack(struct scan *sc, const struct stat *st)
{
	for (int i = 0; i < sc->depth; i++) {
		if (sc->stack[i].dev == st->st_dev && sc->stack[i].ino == st->st_ino) {
			return true;
		}
	}
	return false;
}

static void push(struct scan *sc, const struct stat *st)
{
	sc->stack[sc->depth].dev = st->st_dev;
	sc->stack[sc->depth].ino = st->st_ino;
	sc->depth++;
}

struct files {
	char **v;
	uint64_t *sz;
	size_t n, cap;
	bool truncated;
};

static void files_add(struct scan *sc, struct files *fl, const char *rel, uint64_t size)
{
	if (fl->n + 1 >= CTXD_SKILL_FILES_MAX) { /* SKILL.md is one of the 512 */
		fl->truncated = true;
		return;
	}
	if (fl->n == fl->cap) {
		size_t cap = fl->cap ? fl->cap * 2 : 8;
		char **v = realloc(fl->v, cap * sizeof(*v));
		if (v) {
			fl->v = v;
		}
		uint64_t *z = v ? realloc(fl->sz, cap * sizeof(*z)) : NULL;
		if (!z) {
			sc->oom = true;
			return;
		}
		fl->sz = z;
		fl->cap = cap;
	}
	char *c = strdup(rel);
	if (!c) {
		sc->oom = true;
		return;
	}
	fl->v[fl->n] = c;
	fl->sz[fl->n++] = size;
}

/* List the regular files below the skill folder `skill_fd` (at `abs`), under `prefix`,
 * except its SKILL.md (`md`). */
static void list_files(struct scan *sc, int skill_fd, const char *abs, const char *md,
		       const char *prefix, int depth, struct files *fl)
{
	int fd = *prefix ? ctxd_sandbox_openat(skill_fd, prefix,
					       O_RDONLY | O_DIRECTORY | O_NONBLOCK, 0, false)
			 : fcntl(skill_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		return;
	}
	struct stat st;
	char dabs[CTXD_PATH_MAX];
	snprintf(dabs, sizeof(dabs), "%s%s%s", abs, *prefix ? "/" : "", prefix);
	if (fstat(fd, &st) < 0 || (depth > 0 && on_stack(sc, &st)) ||
	    sc->depth >= (int)(sizeof(sc->stack) / sizeof(sc->stack[0])) ||
	    (depth > 0 && !visit(sc, dabs))) {
		close(fd);
		return;
	}
	if (depth > 0) {
		want_add(sc, dabs, NULL);
	}
	size_t n = 0;
	unsigned char *types = NULL;
	char **names = read_names(fd, &n, &types);
	if (!names) {
		free(types);
		sc->oom = true;
		close(fd);
		return;
	}
	push(sc, &st);
	for (size_t i = 0; i < n && !sc->oom; i++) {
		const char *name = names[i];
		if ((depth == 0 && strcmp(name, md) == 0) || skipped_dir(name)) {
			continue;
		}
		char child[CTXD_PATH_MAX];
		if ((size_t)snprintf(child, sizeof(child), "%s%s%s", prefix, *prefix ? "/" : "",
				     name) >= sizeof(child)) {
			continue;
		}
		struct stat cs;
		if (types[i] == DT_DIR || types[i] == DT_REG) {
			if (fstatat(fd, name, &cs, AT_SYMLINK_NOFOLLOW) < 0) {
				continue;
			}
		} else {
			/* a symlink (followed only while it stays in the folder) or unknown */
			int cfd = ctxd_sandbox_openat(skill_fd, child, O_PATH, 0, false);
			if (cfd < 0) {
				continue;
			}
			int rc = fstat(cfd, &cs);
			close(cfd);
			if (rc < 0) {
				continue;
			}
		}
		if (S_ISDIR(cs.st_mode)) {
			if (depth + 1 < FILE_DEPTH) {
				list_files(sc, skill_fd, abs, md, child, depth + 1, fl);
			}
		} else if (S_ISREG(cs.st_mode)) {
			files_add(sc, fl, child, (uint64_t)cs.st_size);
		}
	}
	sc->depth--;
	free_names(names, n, types);
	close(fd);
}

static struct ctxd_skill_doc *prev_doc(struct ctxd_skills *sk, const char *path,
				       const struct stat *st)
{
	size_t lo = 0, hi = sk->n_docs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(sk->docs[mid].path, path);
		if (c == 0) {
			struct ctxd_skill_doc *d = sk->docs[mid].doc;
			int64_t mt = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
			if (d->dev == st->st_dev && d->ino == st->st_ino && d->size == st->st_size &&
			    d->mtime_ns == mt) {
				return doc_get(d);
			}
			return NULL;
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return NULL;
}

static void docs_add(struct scan *sc, const char *path, struct ctxd_skill_doc *doc)
{
	if (sc->n_docs == sc->cap_docs) {
		size_t cap = sc->cap_docs ? sc->cap_docs * 2 : 16;
		struct docref *d = realloc(sc->docs, cap * sizeof(*d));
		if (!d) {
			sc->oom = true;
			return;
		}
		sc->docs = d;
		sc->cap_docs = cap;
	}
	char *p = strdup(path);
	if (!p) {
		sc->oom = true;
		return;
	}
	sc->docs[sc->n_docs++] = (struct docref){p, doc_get(doc)};
}

/* What is wrong with the entry `name` of directory `dfd` that could not be opened with
 * errno `e`, as a phrase naming a symlink's target when it is one. Returns true for a
 * symlink. */
static bool entry_problem(int dfd, const char *name, int e, bool trusted, char *out, size_t n)
{
	char target[1024], why[64];
	ssize_t tl = readlinkat(dfd, name, target, sizeof(target) - 1);
	if (tl < 0) {
		snprintf(out, n, "%s", ctxd_skills_why(e, why, sizeof(why)));
		return false;
	}
	target[tl] = '\0';
	if (e == ENOENT) {
		snprintf(out, n, "it is a symlink to '%.400s', which does not exist (a dangling "
			 "link)", target);
	} else if (!trusted && (e == EXDEV || e == EACCES)) {
		snprintf(out, n, "it is a symlink to '%.400s', which lies outside every allowed "
			 "directory; in a project's skills folder symlinks are followed only "
			 "inside the allowed directories (add the target with --skills-dir to "
			 "use it)", target);
	} else {
		snprintf(out, n, "it is a symlink to '%.400s', which cannot be followed: %s",
			 target, ctxd_skills_why(e, why, sizeof(why)));
	}
	return true;
}

/* The folder `rel` of base `bi` (open as `dfd`, at `abs`) holds a SKILL.md (`md`, or a
 * lowercase skill.md). */
static void handle_skill(struct scan *sc, size_t bi, const char *rel, const char *abs, int dfd,
			 const char *md_name)
{
	struct ctxd_skills *sk = sc->sk;
	const struct base *b = &sk->bases[bi];
	char md[CTXD_PATH_MAX];
	if ((size_t)snprintf(md, sizeof(md), "%s/%s", abs, md_name) >= sizeof(md)) {
		return;
	}
	const char *folder = strrchr(abs, '/');
	folder = folder ? folder + 1 : abs;
	int fd = open_entry(sk, b, dfd, abs, md_name, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	if (fd < 0) {
		char msg[700];
		entry_problem(dfd, md_name, errno, b->kind == BASE_FD, msg, sizeof(msg));
		diag_add(&sc->ds, md, 0, 0, "unreadable", true, NULL, "%s cannot be read: %s",
			 md_name, msg);
		return;
	}
	bool stat_ok = fstat(fd, &st) == 0;
	if (!stat_ok || !S_ISREG(st.st_mode)) {
		char why[64];
		diag_add(&sc->ds, md, 0, 0, "unreadable", true, NULL, "%s cannot be read: %s",
			 md_name, !stat_ok ? ctxd_skills_why(errno, why, sizeof(why))
			 : "it is not a regular file (a FIFO, socket, device or directory)");
		close(fd);
		return;
	}
	struct ctxd_skill_doc *doc = prev_doc(sk, md, &st);
	if (!doc) {
		char *buf = NULL;
		size_t len = 0;
		if (ctxd_read_all(fd, CTXD_SKILL_MD_MAX, &buf, &len) < 0) {
			char why[64];
			diag_add(&sc->ds, md, 0, 0, errno == EFBIG ? "file-too-large" : "unreadable",
				 true, NULL, "%s cannot be read: %s", md_name,
				 errno == EFBIG ? "it is larger than 1 MiB"
						: ctxd_skills_why(errno, why, sizeof(why)));
			close(fd);
			return;
		}
		doc = ctxd_skill_parse(buf, len, folder, md);
		free(buf);
		if (!doc) {
			sc->oom = true;
			close(fd);
			return;
		}
		doc->dev = st.st_dev;
		doc->ino = st.st_ino;
		doc->size = st.st_size;
		doc->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	}
	close(fd);
	docs_add(sc, md, doc);
	for (size_t i = 0; i < doc->n_diags; i++) {
		if (diag_copy(&sc->ds, &doc->diags[i]) < 0) {
			sc->oom = true;
		}
	}
	if (!doc->valid || sc->oom) {
		ctxd_skill_doc_put(doc);
		return;
	}
	struct files fl = {0};
	list_files(sc, dfd, abs, md_name, "", 0, &fl);
	if (fl.truncated) {
		diag_add(&sc->ds, md, 0, 0, "too-many-files", false, NULL,
			 "the skill folder holds more than %d files; only the first %zu are "
			 "listed", CTXD_SKILL_FILES_MAX - 1, fl.n);
	}
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 16;
		struct cand *c = realloc(sc->c, cap * sizeof(*c));
		if (!c) {
			sc->oom = true;
		} else {
			sc->c = c;
			sc->cap = cap;
		}
	}
	char *d = strdup(abs), *m = strdup(md), *r = strdup(rel);
	if (sc->oom || !d || !m || !r) {
		sc->oom = true;
		free(d);
		free(m);
		free(r);
		for (size_t i = 0; i < fl.n; i++) {
			free(fl.v[i]);
		}
		free(fl.v);
		free(fl.sz);
		ctxd_skill_doc_put(doc);
		return;
	}
	struct cand *c = &sc->c[sc->n];
	c->s = (struct ctxd_skill){doc,  doc->name, d,	   m,	       bi,
				   r,	 fl.v,	    fl.sz, fl.n,       fl.truncated,
				   strcmp(md_name, "skill.md") == 0};
	c->order = sc->n++;
}

/* `parent_fd` (-1 for the base itself) is the open parent directory: children are opened
 * relative to it under the base's symlink rule (open_entry). */
static void walk(struct scan *sc, size_t bi, int parent_fd, const char *rel, int depth)
{
	struct ctxd_skills *sk = sc->sk;
	const struct base *b = &sk->bases[bi];
	char abs[CTXD_PATH_MAX];
	if ((size_t)snprintf(abs, sizeof(abs), "%s%s%s", b->abs, *rel ? "/" : "", rel) >=
	    sizeof(abs)) {
		return;
	}
	const char *name = strrchr(rel, '/');
	name = name ? name + 1 : rel;
	int fd;
	if (parent_fd >= 0) {
		char pabs[CTXD_PATH_MAX];
		snprintf(pabs, sizeof(pabs), "%.*s", (int)(strlen(abs) - strlen(name) - 1), abs);
		fd = open_entry(sk, b, parent_fd, pabs, name, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
	} else {
		fd = base_open(sk, b, rel, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
	}
	if (fd < 0) {
		int e = errno;
		if (depth == 0 && b->root_path) {
			/* a root without .claude/skills yet: watch for its creation */
			bool agents = strstr(b->abs + strlen(b->root_path), ".agents") != NULL;
			char parent[CTXD_PATH_MAX];
			snprintf(parent, sizeof(parent), "%s/%s", b->root_path,
				 agents ? ".agents" : ".claude");
			int pfd = base_open(sk, b, "..", O_PATH | O_DIRECTORY);
			if (pfd >= 0) {
				close(pfd);
				want_add(sc, parent, "skills");
			} else {
				want_add(sc, b->root_path, agents ? ".agents" : ".claude");
			}
		} else if (depth > 0 && e != ENOTDIR) {
			char msg[700];
			bool link = entry_problem(parent_fd, name, e, b->kind == BASE_FD, msg,
						  sizeof(msg));
			/* a plain missing entry raced with a delete: nothing to say */
			if (e != ENOENT || link) {
				diag_add(&sc->ds, abs, 0, 0, "unreadable-dir", false, NULL,
					 "'%.300s' is skipped: %s", abs, msg);
			}
		}
		return;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return;
	}
	if (on_stack(sc, &st)) {
		diag_add(&sc->ds, abs, 0, 0, "symlink-cycle", false, NULL,
			 "directory '%.300s' is a symlink back to one of its parents; not entered",
			 abs);
		close(fd);
		return;
	}
	if (!visit(sc, abs)) {
		close(fd);
		return;
	}
	want_add(sc, abs, NULL);
	size_t n = 0;
	unsigned char *types = NULL;
	char **names = read_names(fd, &n, &types);
	if (!names) {
		sc->oom = true;
		close(fd);
		return;
	}
	const char *md = skill_md_name(names, n);
	push(sc, &st);
	if (md) {
		handle_skill(sc, bi, rel, abs, fd, md);
	} else if (depth < MAX_DEPTH) {
		for (size_t i = 0; i < n && !sc->oom && !sc->cap_hit; i++) {
			unsigned char t = types[i];
			if (skipped_dir(names[i]) || (t != DT_DIR && t != DT_LNK && t != DT_UNKNOWN)) {
				continue;
			}
			char child[CTXD_PATH_MAX];
			if ((size_t)snprintf(child, sizeof(child), "%s%s%s", rel, *rel ? "/" : "",
					     names[i]) < sizeof(child)) {
				walk(sc, bi, fd, child, depth + 1);
			}
		}
	}
	sc->depth--;
	free_names(names, n, types);
	close(fd);
}

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = strcmp(x->s.name, y->s.name);
	return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_doc(const void *a, const void *b)
{
	return strcmp(((const struct docref *)a)->path, ((const struct docref *)b)->path);
}

static void skill_release(struct ctxd_skill *k)
{
	ctxd_skill_doc_put(k->doc);
	free(k->dir);
	free(k->skill_md);
	free(k->rel);
	for (size_t j = 0; j < k->n_files; j++) {
		free(k->files[j]);
	}
	free(k->files);
	free(k->sizes);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *u = p;
	for (size_t i = 0; i < n; i++) {
		h = (h ^ u[i]) * 1099511628211ULL;
	}
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s, strlen(s) + 1);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Skipped skills: the distinct files among the error diagnostics. */
static size_t count_skipped(const struct ctxd_skill_diag *d, size_t n)
{
	const char **files = malloc((n ? n : 1) * sizeof(*files));
	size_t m = 0, skipped = 0;
	for (size_t i = 0; files && i < n; i++) {
		if (d[i].error) {
			files[m++] = d[i].file;
		}
	}
	if (!files) { /* out of memory: an upper bound */
		for (size_t i = 0; i < n; i++) {
			skipped += d[i].error;
		}
		return skipped;
	}
	if (m > 1) {
		qsort(files, m, sizeof(*files), cmp_str);
	}
	for (size_t i = 0; i < m; i++) {
		skipped += i == 0 || strcmp(files[i - 1], files[i]) != 0;
	}
	free(files);
	return skipped;
}

/* Make the client-root bases match the list ctxd_skills_set_roots left: a new root gets
 * its two bases (and a sandbox of its own to read them through), a root that left is
 * marked gone, the others take their place in the client's order. Caller holds scan_lock. */
static void client_roots_apply(struct ctxd_skills *sk)
{
	pthread_mutex_lock(&sk->snap_lock);
	char **roots = sk->client_roots;
	size_t n = sk->n_client_roots;
	bool pending = sk->roots_pending;
	sk->client_roots = NULL;
	sk->n_client_roots = 0;
	sk->roots_pending = false;
	sk->applied_gen = sk->roots_gen; /* stale until a scan with these bases is published */
	pthread_mutex_unlock(&sk->snap_lock);
	if (!pending) {
		return;
	}
	static const char *const subs[] = {"/.claude/skills", "/.agents/skills"};
	for (size_t i = 0; i < sk->n_bases; i++) {
		if (sk->bases[i].client) {
			__atomic_store_n(&sk->bases[i].gone, true, __ATOMIC_RELEASE);
		}
	}
	for (size_t r = 0; r < n && r < CLIENT_BASES_MAX / 2; r++) {
		unsigned order = (unsigned)(sk->n_before_user + 2 * r);
		size_t found = 0;
		for (size_t i = 0; i < sk->n_bases; i++) {
			struct base *b = &sk->bases[i];
			if (b->client && strcmp(b->root_path, roots[r]) == 0) {
				bool agents = strstr(b->abs + strlen(roots[r]), ".agents") != NULL;
				b->order = order + agents;
				__atomic_store_n(&b->gone, false, __ATOMIC_RELEASE);
				found++;
			}
		}
		if (found) {
			continue;
		}
		struct ctxd_error err;
		struct ctxd_sandbox *own = ctxd_sandbox_create();
		if (sk->n_bases + 2 > sk->cap_bases) {
			snprintf(err.msg, sizeof(err.msg),
				 "more than %d client roots in one session", CLIENT_BASES_MAX / 2);
		} else if (!own) {
			snprintf(err.msg, sizeof(err.msg), "out of memory");
		}
		if (sk->n_bases + 2 > sk->cap_bases || !own ||
		    ctxd_sandbox_add_root(own, roots[r], true, &err) < 0) {
			ctxd_warn("skills: the skills of the client's root %.300s are not read: %s",
				  roots[r], err.msg);
			ctxd_sandbox_destroy(own);
			continue;
		}
		ctxd_sandbox_seal(own);
		const char *root_path = ctxd_sandbox_root(own, 0)->path;
		for (size_t k = 0; k < 2; k++) {
			char p[CTXD_PATH_MAX];
			snprintf(p, sizeof(p), "%s%s", root_path, subs[k]);
			char *abs = strdup(p);
			if (!abs) {
				if (k == 0) {
					ctxd_sandbox_destroy(own);
				}
				break;
			}
			sk->bases[sk->n_bases] = (struct base){
				.kind = BASE_SANDBOX, .abs = abs, .fd = -1, .root_path = root_path,
				.sb = own, .owns_sb = k == 0, .order = order + (unsigned)k,
				.client = true,
			};
			sk->n_bases++;
		}
	}
	for (size_t r = 0; r < n; r++) {
		free(roots[r]);
	}
	free(roots);
}

/* The bases to scan, in precedence order, without the client roots that left. */
static size_t bases_by_order(const struct ctxd_skills *sk, size_t *out)
{
	size_t n = 0;
	for (size_t i = 0; i < sk->n_bases; i++) {
		if (__atomic_load_n(&sk->bases[i].gone, __ATOMIC_ACQUIRE)) {
			continue;
		}
		size_t j = n++;
		for (; j > 0 && sk->bases[out[j - 1]].order > sk->bases[i].order; j--) {
			out[j] = out[j - 1];
		}
		out[j] = i;
	}
	return n;
}

/* Scan every base into a new snapshot. Caller holds scan_lock. NULL on ENOMEM. */
static struct ctxd_skills_snapshot *scan_all(struct ctxd_skills *sk)
{
	struct scan *sc = calloc(1, sizeof(*sc));
	struct ctxd_skills_snapshot *snap = calloc(1, sizeof(*snap));
	struct {
		dev_t dev;
		ino_t ino;
	} seen[64];
	size_t n_seen = 0;
	if (!sc || !snap) {
		free(sc);
		free(snap);
		return NULL;
	}
	sc->sk = sk;
	for (size_t i = 0; i < sk->init_diags.n; i++) {
		diag_copy(&sc->ds, &sk->init_diags.v[i]);
	}
	client_roots_apply(sk);
	size_t *by_order = malloc((sk->n_bases ? sk->n_bases : 1) * sizeof(*by_order));
	size_t nb = by_order ? bases_by_order(sk, by_order) : 0;
	sc->oom = !by_order;
	for (size_t oi = 0; oi < nb && !sc->oom && !sc->cap_hit; oi++) {
		size_t bi = by_order[oi];
		int fd = base_open(sk, &sk->bases[bi], "", O_PATH | O_DIRECTORY);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0) {
			bool dup = false;
			for (size_t j = 0; j < n_seen; j++) {
				dup = dup || (seen[j].dev == st.st_dev && seen[j].ino == st.st_ino);
			}
			close(fd);
			if (dup) {
				continue; /* the same directory under another spelling */
			}
			if (n_seen < sizeof(seen) / sizeof(seen[0])) {
				seen[n_seen].dev = st.st_dev;
				seen[n_seen++].ino = st.st_ino;
			}
		} else if (fd >= 0) {
			close(fd);
		}
		walk(sc, bi, -1, "", 0);
	}
	free(by_order);
	/* collisions: the first found (highest precedence) keeps the name */
	if (sc->n > 1) {
		qsort(sc->c, sc->n, sizeof(*sc->c), cmp_cand);
	}
	snap->skills = calloc(sc->n ? sc->n : 1, sizeof(*snap->skills));
	if (!snap->skills) {
		sc->oom = true;
	}
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < sc->n; i++) {
		struct ctxd_skill *k = &sc->c[i].s;
		if (i > 0 && strcmp(sc->c[i - 1].s.name, k->name) == 0) {
			size_t w = snap->n_skills - 1;
			const struct ctxd_skill_doc *wd = snap->skills ? snap->skills[w].doc : NULL;
			if (wd && wd->dev == k->doc->dev && wd->ino == k->doc->ino) {
				/* the same SKILL.md reached twice (a link from ~/.claude/skills into
				 * ~/.agents/skills): one skill, nothing shadowed */
				skill_release(k);
				continue;
			}
			diag_add(&sc->ds, k->skill_md, 0, 0, "shadowed", false,
				 snap->skills ? snap->skills[w].skill_md : NULL,
				 "skill '%s' at %.300s is shadowed by the one at %.300s, which takes "
				 "precedence", k->name, k->skill_md,
				 snap->skills ? snap->skills[w].skill_md : "?");
			skill_release(k);
			continue;
		}
		if (!snap->skills) {
			skill_release(k);
			continue;
		}
		snap->skills[snap->n_skills++] = *k;
		h = fnv_str(h, k->name);
		h = fnv_str(h, k->doc->description);
		h = fnv_str(h, k->skill_md);
		h = fnv(h, &k->doc->md_size, sizeof(k->doc->md_size));
		for (size_t j = 0; j < k->doc->n_arg_names; j++) {
			h = fnv_str(h, k->doc->arg_names[j]);
		}
		for (size_t j = 0; j < k->doc->n_hint_names; j++) {
			h = fnv_str(h, k->doc->hint_names[j]);
		}
		for (size_t j = 0; j < k->n_files; j++) {
			h = fnv_str(h, k->files[j]);
			h = fnv(h, &k->sizes[j], sizeof(k->sizes[j]));
		}
	}
	free(sc->c);
	snap->signature = h;
	snap->diags = sc->ds.v;
	snap->n_diags = sc->ds.n;
	snap->n_skipped = count_skipped(snap->diags, snap->n_diags);
	snap->dirs_visited = sc->visited;
	snap->dir_cap_hit = sc->cap_hit;
	atomic_init((_Atomic unsigned *)&snap->refs, 1);
	if (sc->n_docs > 1) { /* qsort needs a valid array even for 0 items */
		qsort(sc->docs, sc->n_docs, sizeof(*sc->docs), cmp_doc);
	}
	if (sc->oom || sc->ds.oom) {
		for (size_t i = 0; i < sc->n_docs; i++) {
			free(sc->docs[i].path);
			ctxd_skill_doc_put(sc->docs[i].doc);
		}
		free(sc->docs);
		free_want(sc->want, sc->n_want);
		free(sc);
		snapshot_free(snap);
		return NULL;
	}
	for (size_t i = 0; i < sk->n_docs; i++) {
		free(sk->docs[i].path);
		ctxd_skill_doc_put(sk->docs[i].doc);
	}
	free(sk->docs);
	sk->docs = sc->docs;
	sk->n_docs = sc->n_docs;
	free_want(sk->want, sk->n_want);
	sk->want = sc->want;
	sk->n_want = sc->n_want;
	free(sc);
	return snap;
}

/* Swap in `snap`; true when the catalogue differs from the previous one. */
static bool publish(struct ctxd_skills *sk, struct ctxd_skills_snapshot *snap)
{
	pthread_mutex_lock(&sk->snap_lock);
	struct ctxd_skills_snapshot *old = sk->cur;
	sk->cur = snap;
	/* list_changed only for a change the client could have noticed: the start-up scan and
	 * a catalogue no reader saw are not such changes (an identical rescan stays seen) */
	bool differs = old && old->signature != snap->signature;
	sk->announce = sk->announce || (differs && sk->cur_served);
	sk->cur_served = sk->cur_served && !differs;
	sk->stale = sk->stale && sk->applied_gen != sk->roots_gen;
	pthread_mutex_unlock(&sk->snap_lock);
	bool changed = old ? old->signature != snap->signature : snap->n_skills > 0;
	ctxd_skills_snapshot_put(old);
	return changed;
}

/* The current catalogue for a reader (NULL when there is none, or with `fresh` when the
 * client roots changed since it was built). */
static struct ctxd_skills_snapshot *snapshot_take(struct ctxd_skills *sk, bool fresh)
{
	pthread_mutex_lock(&sk->snap_lock);
	struct ctxd_skills_snapshot *s = fresh && sk->stale ? NULL : sk->cur;
	if (s) {
		atomic_fetch_add((_Atomic unsigned *)&s->refs, 1);
		sk->cur_served = true;
	}
	pthread_mutex_unlock(&sk->snap_lock);
	return s;
}

struct ctxd_skills_snapshot *ctxd_skills_snapshot_peek(struct ctxd_skills *sk)
{
	return snapshot_take(sk, false);
}

struct ctxd_skills_snapshot *ctxd_skills_snapshot(struct ctxd_skills *sk)
{
	struct ctxd_skills_snapshot *s = snapshot_take(sk, true);
	if (s) {
		return s;
	}
	pthread_mutex_lock(&sk->scan_lock);
	s = snapshot_take(sk, true);
	if (!s) {
		struct ctxd_skills_snapshot *fresh = scan_all(sk);
		if (fresh) {
			publish(sk, fresh);
			s = ctxd_skills_snapshot_peek(sk);
		}
	}
	pthread_mutex_unlock(&sk->scan_lock);
	return s;
}

bool ctxd_skills_rescan(struct ctxd_skills *sk)
{
	pthread_mutex_lock(&sk->scan_lock);
	struct ctxd_skills_snapshot *fresh = scan_all(sk);
	bool changed = fresh ? publish(sk, fresh) : false;
	pthread_mutex_unlock(&sk->scan_lock);
	return changed;
}

const struct ctxd_skill *ctxd_skills_find(const struct ctxd_skills_snapshot *snap,
					  const char *name)
{
	size_t lo = 0, hi = snap ? snap->n_skills : 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(snap->skills[mid].name, name);
		if (c == 0) {
			return &snap->skills[mid];
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return NULL;
}

/* ---- hot reload ----------------------------------------------------------------------- */

static void schedule(struct ctxd_skills *sk);

static void reload_work(struct ctxd_job *job)
{
	struct reload_job *rj = (struct reload_job *)job;
	struct ctxd_skills *sk = rj->sk;
	ctxd_skills_rescan(sk);
	pthread_mutex_lock(&sk->snap_lock);
	rj->changed = sk->announce;
	sk->announce = false;
	pthread_mutex_unlock(&sk->snap_lock);
	pthread_mutex_lock(&sk->scan_lock);
	rj->want = calloc(sk->n_want ? sk->n_want : 1, sizeof(*rj->want));
	rj->n_want = 0;
	for (size_t i = 0; rj->want && i < sk->n_want; i++) {
		rj->want[i].dir = strdup(sk->want[i].dir);
		rj->want[i].filter = sk->want[i].filter;
		if (!rj->want[i].dir) {
			break;
		}
		rj->n_want++;
	}
	pthread_mutex_unlock(&sk->scan_lock);
}

static int want_cmp(const char *d1, const char *f1, const char *d2, const char *f2)
{
	int c = strcmp(d1, d2);
	if (c) {
		return c;
	}
	return strcmp(f1 ? f1 : "", f2 ? f2 : "");
}

static int cmp_want(const void *a, const void *b)
{
	const struct watch_want *x = a, *y = b;
	return want_cmp(x->dir, x->filter, y->dir, y->filter);
}

static void on_change(void *ud, const char *dir, const char *name, uint32_t mask)
{
	(void)dir;
	(void)mask;
	struct watch_reg *r = ud;
	if (r->filter && strcmp(name, r->filter) != 0) {
		return;
	}
	schedule(r->sk);
}

/* Make the registrations match `want` (sorted here): loop thread. */
static void sync_watches(struct ctxd_skills *sk, struct watch_want *want, size_t n)
{
	if (!sk->watch) {
		return;
	}
	if (n > 1) { /* qsort needs a valid array even for 0 items */
		qsort(want, n, sizeof(*want), cmp_want);
	}
	size_t u = 0;
	for (size_t i = 0; i < n; i++) {
		if (u > 0 && cmp_want(&want[u - 1], &want[i]) == 0) {
			free(want[i].dir);
			want[i].dir = NULL;
			continue;
		}
		want[u++] = want[i];
	}
	for (size_t i = u; i < n; i++) {
		want[i].dir = NULL;
	}
	struct watch_reg **next = calloc(n ? n : 1, sizeof(*next));
	if (!next) {
		return; /* keep the old registrations */
	}
	n = u;
	size_t i = 0, j = 0, k = 0;
	while (i < sk->n_regs || j < n) {
		int c = i == sk->n_regs ? 1
			: j == n        ? -1
					: want_cmp(sk->regs[i]->dir, sk->regs[i]->filter,
						   want[j].dir, want[j].filter);
		if (c < 0) {
			ctxd_watch_remove(sk->watch, sk->regs[i]->id);
			free(sk->regs[i]->dir);
			free(sk->regs[i]);
			i++;
		} else if (c == 0) {
			next[k++] = sk->regs[i++];
			j++;
		} else {
			struct watch_reg *r = malloc(sizeof(*r));
			if (r) {
				*r = (struct watch_reg){sk, want[j].dir, want[j].filter, 0};
				r->id = ctxd_watch_add(sk->watch, r->dir, on_change, r);
				if (r->id > 0) {
					want[j].dir = NULL; /* now owned by r */
					next[k++] = r;
				} else {
					free(r);
				}
			}
			j++;
		}
	}
	free(sk->regs);
	sk->regs = next;
	sk->n_regs = k;
}

static void reload_done(struct ctxd_job *job, bool dropped)
{
	struct reload_job *rj = (struct reload_job *)job;
	struct ctxd_skills *sk = rj->sk;
	sk->busy = false;
	if (!dropped && !sk->detached) {
		if (rj->changed) {
			ctxd_notify_list_changed(sk->notifier, CTXD_LIST_TOOLS);
			ctxd_notify_list_changed(sk->notifier, CTXD_LIST_PROMPTS);
			ctxd_notify_list_changed(sk->notifier, CTXD_LIST_RESOURCES);
		}
		sync_watches(sk, rj->want, rj->n_want);
	}
	free_want(rj->want, rj->n_want);
	rj->want = NULL;
	rj->n_want = 0;
	if (!dropped && sk->dirty && !sk->detached) {
		sk->dirty = false;
		schedule(sk);
	}
}

static void schedule(struct ctxd_skills *sk)
{
	if (sk->detached || !sk->pool) {
		return;
	}
	if (sk->busy) {
		sk->dirty = true;
		return;
	}
	sk->busy = true;
	memset(&sk->rj.job, 0, sizeof(sk->rj.job));
	atomic_init(&sk->rj.job.cancel, false);
	sk->rj.sk = sk;
	sk->rj.changed = false;
	ctxd_pool_submit(sk->pool, &sk->rj.job, reload_work, reload_done);
}

void ctxd_skills_set_roots(struct ctxd_skills *sk, const struct ctxd_sandbox *roots)
{
	if (!sk || (sk->sb && ctxd_sandbox_root_count(sk->sb) > 0)) {
		return; /* configured directories: the client's roots do not move the skills */
	}
	size_t n = roots ? ctxd_sandbox_root_count(roots) : 0;
	char **v = calloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; v && i < n; i++) {
		if (!(v[i] = strdup(ctxd_sandbox_root(roots, i)->path))) {
			while (i > 0) {
				free(v[--i]);
			}
			free(v);
			v = NULL;
		}
	}
	if (!v) {
		ctxd_warn("skills: out of memory: the skills keep following the previous roots");
		return;
	}
	pthread_mutex_lock(&sk->snap_lock);
	for (size_t i = 0; i < sk->n_client_roots; i++) {
		free(sk->client_roots[i]);
	}
	free(sk->client_roots);
	sk->client_roots = v;
	sk->n_client_roots = n;
	sk->roots_pending = sk->stale = true;
	sk->roots_gen++;
	pthread_mutex_unlock(&sk->snap_lock);
	schedule(sk);
}

void ctxd_skills_set_pool(struct ctxd_skills *sk, struct ctxd_pool *pool)
{
	sk->pool = pool;
}

void ctxd_skills_attach(struct ctxd_skills *sk, struct ctxd_watch *w, struct ctxd_notifier *n)
{
	if (!sk || sk->attached) {
		return;
	}
	sk->attached = true;
	sk->watch = w;
	sk->notifier = n;
	schedule(sk);
}

void ctxd_skills_detach(struct ctxd_skills *sk)
{
	if (!sk || sk->detached) {
		return;
	}
	sk->detached = true;
	for (size_t i = 0; i < sk->n_regs; i++) {
		if (sk->watch) {
			ctxd_watch_remove(sk->watch, sk->regs[i]->id);
		}
		free(sk->regs[i]->dir);
		free(sk->regs[i]);
	}
	free(sk->regs);
	sk->regs = NULL;
	sk->n_regs = 0;
}

const struct ctxd_resource_provider *ctxd_skills_resources(struct ctxd_skills *sk)
{
	return &sk->res;
}

const struct ctxd_prompt_provider *ctxd_skills_prompts(struct ctxd_skills *sk)
{
	return &sk->prompts;
}

const struct ctxd_config *ctxd_skills_config(const struct ctxd_skills *sk)
{
	return sk->cfg;
}
