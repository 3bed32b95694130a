/* skill_md.c - one SKILL.md parsed (libyaml) and validated: the frontmatter as JSON, the
 * name rules (libunistring: NFKC, case, letter/digit classes), `arguments:` and
 * `argument-hint`, the body. Pure; see include/ctxd/skill_md.h.
 */
#include "ctxd/skill_md.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>
#include <yaml.h>

#include "ctxd/utf8.h"

#define JSON_NODES_MAX 10000
#define JSON_DEPTH_MAX 64

/* ---- diagnostics ---------------------------------------------------------------------- */

void ctxd_skill_md_diag_free(struct ctxd_skill_diag *d)
{
	free(d->file);
	free(d->message);
	free(d->other);
}

void ctxd_skill_md_diag_add(struct ctxd_skill_diags *ds, const char *file, unsigned line,
			    unsigned col, const char *rule, bool error, const char *other,
			    const char *fmt, ...)
{
	if (ctxd_grow((void **)&ds->v, &ds->cap, ds->n + 1, sizeof(*ds->v), 4)) {
		ds->oom = true;
		return;
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
		ctxd_skill_md_diag_free(d);
		ds->oom = true;
		return;
	}
	ds->n++;
}

int ctxd_skill_md_diag_copy(struct ctxd_skill_diags *ds, const struct ctxd_skill_diag *d)
{
	size_t n = ds->n;
	ctxd_skill_md_diag_add(ds, d->file, d->line, d->col, d->rule, d->error, d->other, "%s",
			       d->message);
	return ds->n == n + 1 ? 0 : -1;
}

/* ---- UTF-8 ---------------------------------------------------------------------------- */

/* Number of code points in valid UTF-8 `s`. */
static size_t utf8_chars(const char *s)
{
	return u8_mbsnlen((const uint8_t *)s, strlen(s));
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
		if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "FALSE") == 0) {
			return json_false();
		}
		char *end;
		errno = 0;
		long long ll = strtoll(v, &end, 10);
		if (*v && !*end && errno == 0) {
			return json_integer(ll);
		}
		if ((*v >= '0' && *v <= '9') ||
		    ((*v == '-' || *v == '+' || *v == '.') && v[1] && v[1] >= '0' && v[1] <= '9')) {
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
			json_t *v =
			    node_json(c, yaml_document_get_node(c->doc, p->value), depth + 1);
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
	struct ctxd_skill_diags ds;
	const char *file;
	unsigned line0; /* file line of the first frontmatter line */
	size_t fixed_lines[16];
	size_t n_fixed;
};

static void pd(struct parse *p, const yaml_mark_t *m, const char *rule, bool error, const char *fmt,
	       ...) __attribute__((format(printf, 5, 6)));
static void pd(struct parse *p, const yaml_mark_t *m, const char *rule, bool error, const char *fmt,
	       ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	unsigned line = m ? p->line0 + (unsigned)m->line : 1;
	unsigned col = m ? (unsigned)m->column + 1 : 1;
	ctxd_skill_md_diag_add(&p->ds, p->file, line, col, rule, error, NULL, "%s", msg);
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
		while (k < content &&
		       (s[k] == '-' || s[k] == '_' || (s[k] >= 'a' && s[k] <= 'z') ||
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
		bool fix =
		    value && ((!strchr("\"'|>[{&*!#", s[v]) && memmem(s + v, vend - v, ": ", 2)) ||
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
			   "name '%.64s' should hold only letters, digits and hyphens (character "
			   "%zu "
			   "is not one; loaded anyway)",
			   v, u8_mbsnlen(u, i) + 1);
			break;
		}
		i += k > 0 ? (size_t)k : 1;
	}
	if (nf[0] == '-' || nf[len - 1] == '-' || strstr(nf, "--")) {
		pd(p, m, "name-hyphen", false,
		   "name '%.64s' should not start or end with a hyphen or contain '--' (loaded "
		   "anyway)",
		   v);
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
					    ? (const char *)e->data.scalar.value
					    : NULL;
			if (!s || !arg_name_ok(s, strlen(s)) || doc->n_arg_names >= ARG_NAMES_MAX) {
				bad = true;
			} else if (names_add(&doc->arg_names, &doc->n_arg_names, s, strlen(s)) <
				   0) {
				p->ds.oom = true;
			}
		}
	} else {
		bad = true;
	}
	if (bad) {
		pd(p, &v->start_mark, "arguments-format", false,
		   "arguments should list up to %d names made of letters, digits, '_' and '-' "
		   "(not only digits); the others are ignored",
		   ARG_NAMES_MAX);
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
    "name",     "description",   "license",   "compatibility",
    "metadata", "allowed-tools", "arguments", "argument-hint",
};

/* metadata: string keys to string values. */
static void check_metadata(struct parse *p, yaml_document_t *ydoc, const yaml_node_t *v)
{
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
}

/* allowed-tools: a string, or a list of strings. */
static void check_allowed_tools(struct parse *p, yaml_document_t *ydoc, const yaml_node_t *v)
{
	bool scalar = v->type == YAML_SCALAR_NODE;
	bool ok = scalar || v->type == YAML_SEQUENCE_NODE;
	for (yaml_node_item_t *it = scalar ? NULL : v->data.sequence.items.start;
	     ok && it && it < v->data.sequence.items.top; it++) {
		yaml_node_t *iv = yaml_document_get_node(ydoc, *it);
		ok = iv && iv->type == YAML_SCALAR_NODE;
	}
	if (!ok) {
		pd(p, &v->start_mark, "allowed-tools-type", false,
		   "allowed-tools should be a space-separated string or a list of strings");
	}
}

/* Check pair `i` of the frontmatter mapping `root`; a name or description value (a
 * string) is left in *name / *desc for the checks that need the whole frontmatter. */
static void check_pair(struct parse *p, yaml_document_t *ydoc, const yaml_node_t *root, size_t i,
		       const yaml_node_t **name, const yaml_node_t **desc)
{
	yaml_node_pair_t *pr = root->data.mapping.pairs.start + i;
	yaml_node_t *k = yaml_document_get_node(ydoc, pr->key);
	yaml_node_t *v = yaml_document_get_node(ydoc, pr->value);
	const char *key = (const char *)k->data.scalar.value;
	for (size_t j = 0; j < i; j++) {
		yaml_node_t *k2 =
		    yaml_document_get_node(ydoc, root->data.mapping.pairs.start[j].key);
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
			*name = NULL;
		} else {
			*name = v;
		}
		break;
	case 1:
		if (!scalar) {
			pd(p, &v->start_mark, "description-type", true,
			   "description must be a string");
		} else {
			*desc = v;
		}
		break;
	case 2:
		if (!scalar) {
			pd(p, &v->start_mark, "license-type", false, "license should be a string");
		}
		break;
	case 3:
		if (!scalar) {
			pd(p, &v->start_mark, "compatibility-type", false,
			   "compatibility should be a string");
		} else if (utf8_chars((const char *)v->data.scalar.value) > CTXD_SKILL_COMPAT_MAX) {
			pd(p, &v->start_mark, "compatibility-length", false,
			   "compatibility should be at most 500 characters, got %zu (loaded "
			   "anyway)",
			   utf8_chars((const char *)v->data.scalar.value));
		}
		break;
	case 4:
		check_metadata(p, ydoc, v);
		break;
	case 5:
		check_allowed_tools(p, ydoc, v);
		break;
	case 6:
		parse_arguments(p, ydoc, v);
		break;
	case 7:
		parse_hint(p, ydoc, v);
		break;
	default:
		pd(p, &k->start_mark, "unknown-key", false,
		   "unknown key '%.100s' (known: name, description, license, compatibility, "
		   "metadata, allowed-tools, arguments, argument-hint)",
		   key);
		break;
	}
}

/* The name and description, once every key is known. */
static void check_name_desc(struct parse *p, const yaml_node_t *root, const yaml_node_t *name,
			    const yaml_node_t *desc, const char *folder)
{
	struct ctxd_skill_doc *doc = p->doc;
	yaml_mark_t top = {0, 0, 0};
	const char *nm = name ? (const char *)name->data.scalar.value : NULL;
	bool have_folder = folder && *folder;
	if (nm && (!*nm || strlen(nm) > CTXD_SKILL_NAME_BYTES)) {
		pd(p, &name->start_mark, "name-length", false, "name is %s%s",
		   *nm ? "over 255 bytes" : "empty",
		   have_folder ? "; the folder name is used" : "");
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
			   "skill:// URI became '-'",
			   doc->name);
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

static void validate(struct parse *p, yaml_document_t *ydoc, const char *folder)
{
	struct ctxd_skill_doc *doc = p->doc;
	yaml_node_t *root = yaml_document_get_root_node(ydoc);
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
	size_t npairs =
	    root ? (size_t)(root->data.mapping.pairs.top - root->data.mapping.pairs.start) : 0;
	for (size_t i = 0; i < npairs; i++) {
		check_pair(p, ydoc, root, i, &name, &desc);
	}
	check_name_desc(p, root, name, desc, folder);
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

/* Report the first invalid UTF-8 byte of buf[0, len), if any: false then. */
static bool check_utf8(struct parse *p, const char *buf, size_t len)
{
	const unsigned char *u = (const unsigned char *)buf;
	size_t bad = ctxd_utf8_invalid_at(buf, len);
	if (bad == len) {
		return true;
	}
	unsigned line = 1, col = 1;
	for (size_t i = 0; i < bad; i++) {
		if (u[i] == '\n') {
			line++;
			col = 1;
		} else if ((u[i] & 0xC0) != 0x80) {
			col++;
		}
	}
	ctxd_skill_md_diag_add(&p->ds, p->file, line, col, "encoding", true, NULL,
			       "SKILL.md is not valid UTF-8 (byte 0x%02X at offset %zu)", u[bad],
			       bad);
	return false;
}

/* Find the frontmatter, buf[*fm_start, *fm_end), between the '---' lines, and where the
 * body starts (*body), after the blank lines that follow the frontmatter. False (with an
 * error diagnostic) when there is no frontmatter. */
static bool split_frontmatter(struct parse *p, const char *buf, size_t len, size_t *fm_start,
			      size_t *fm_end, size_t *body)
{
	size_t off = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
	size_t term;
	size_t l = line_len(buf + off, len - off, &term);
	if (!is_fence(buf + off, l) || (term == 0 && off + l < len)) {
		ctxd_skill_md_diag_add(&p->ds, p->file, 1, 1, "frontmatter-missing", true, NULL,
				       "SKILL.md must start with a '---' line opening the YAML "
				       "frontmatter");
		return false;
	}
	size_t pos = off + l + term;
	*fm_start = pos;
	bool closed = false;
	while (pos < len) {
		l = line_len(buf + pos, len - pos, &term);
		if (is_fence(buf + pos, l)) {
			*fm_end = pos;
			*body = pos + l + term;
			closed = true;
			break;
		}
		pos += l + term;
		if (term == 0) {
			break;
		}
	}
	if (!closed) {
		ctxd_skill_md_diag_add(&p->ds, p->file, 1, 1, "frontmatter-unterminated", true,
				       NULL,
				       "the frontmatter opened on line 1 has no closing '---' "
				       "line");
		return false;
	}
	/* the body, without the blank lines that separate it from the frontmatter */
	while (*body < len) {
		l = line_len(buf + *body, len - *body, &term);
		size_t blanks = 0; /* bounded: buf is not NUL-terminated */
		while (blanks < l && (buf[*body + blanks] == ' ' || buf[*body + blanks] == '\t')) {
			blanks++;
		}
		if (blanks != l || term == 0) {
			break;
		}
		*body += l + term;
	}
	return true;
}

/* Load the frontmatter fm[0, fm_len) into `ydoc`, retrying leniently (lenient_fix) when
 * YAML cannot read it. False (with an error diagnostic) when neither reads. */
static bool load_frontmatter(struct parse *p, const char *fm, size_t fm_len, yaml_document_t *ydoc)
{
	yaml_mark_t mark;
	char problem[300];
	if (load_yaml(fm, fm_len, ydoc, &mark, problem, sizeof(problem))) {
		return true;
	}
	size_t fixed_len;
	char *fixed = lenient_fix(p, fm, fm_len, &fixed_len);
	yaml_mark_t m2;
	char problem2[300];
	if (!fixed || !load_yaml(fixed, fixed_len, ydoc, &m2, problem2, sizeof(problem2))) {
		free(fixed);
		pd(p, &mark, "yaml-syntax", true, "frontmatter YAML: %s", problem);
		return false;
	}
	for (size_t i = 0; i < p->n_fixed; i++) {
		yaml_mark_t fm_mark = {0, p->fixed_lines[i], 0};
		pd(p, &fm_mark, "yaml-unquoted-value", false,
		   "a value YAML cannot read unquoted (it holds ': ', or text after a "
		   "[list]); read leniently as one string (quote the value to fix)");
	}
	free(fixed);
	return true;
}

struct ctxd_skill_doc *ctxd_skill_md_parse(const char *buf, size_t len, const char *folder,
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
	size_t fm_start = 0, fm_end = 0, body = 0;
	if (check_utf8(&p, buf, len) &&
	    split_frontmatter(&p, buf, len, &fm_start, &fm_end, &body)) {
		doc->body_len = len - body;
		doc->body = malloc(doc->body_len + 1);
		if (!doc->body) {
			goto oom;
		}
		memcpy(doc->body, buf + body, doc->body_len);
		doc->body[doc->body_len] = '\0';
		yaml_document_t ydoc;
		if (load_frontmatter(&p, buf + fm_start, fm_end - fm_start, &ydoc)) {
			validate(&p, &ydoc, folder);
			yaml_document_delete(&ydoc);
		}
	}
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
	ctxd_skill_md_put(doc);
	return NULL;
}

struct ctxd_skill_doc *ctxd_skill_md_get(struct ctxd_skill_doc *doc)
{
	atomic_fetch_add((_Atomic unsigned *)&doc->refs, 1);
	return doc;
}

void ctxd_skill_md_put(struct ctxd_skill_doc *doc)
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
		ctxd_skill_md_diag_free(&doc->diags[i]);
	}
	free(doc->diags);
	free(doc);
}
