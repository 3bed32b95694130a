/* config.c - the YAML settings file, read with libyaml's event API.
 *
 * The loader walks the event stream directly instead of building a libyaml document: that
 * way an alias is seen (and refused) before anything is expanded, every value is checked
 * against the one shape its key allows, and the first surprise ends the walk. Since no
 * subtree is ever skipped, our own recursion is bounded by the schema; the depth counter in
 * next_event() is a second fence in case the schema ever grows.
 */
#include "ctxd/config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define MAX_DEPTH 16                     /* nested mappings/sequences */
#define MAX_FILE_BYTES ((size_t)1 << 20) /* ctxd_config_load_file refuses bigger files */
#define MAX_BYTES_LIMIT ((size_t)1 << 30) /* upper bound of every size limit: 1 GiB */
#define MAX_COPY_LIMIT  ((size_t)1 << 40) /* ... but limits.copy_bytes: 1 TiB */
#define KEY_MAX 64                       /* longer keys are unknown anyway */

struct loader {
	yaml_parser_t parser;
	yaml_event_t ev; /* the current event, valid while have_ev */
	bool have_ev;
	int depth;
	const char *name;
	const unsigned char *buf;
	size_t len;
	struct ctxd_error *err;
};

/* A list being built; it replaces the configured one only when complete. */
struct str_list {
	char **v;
	size_t n;
};

void ctxd_config_init(struct ctxd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->threads = 0;
	cfg->max_frame_bytes = (size_t)16 << 20;
	cfg->max_read_bytes = (size_t)256 << 10;
	cfg->max_entries = 10000;
	cfg->write_queue_bytes = (size_t)8 << 20;
	cfg->drain_ms = 5000;
	cfg->page_size = 100;
	cfg->roots_timeout_ms = 10000;
	cfg->max_media_bytes = (size_t)1 << 20;
	cfg->call_ms = 60000;
	cfg->log_level = CTXD_LOG_WARNING;
	cfg->landlock = true;
	cfg->read_only = false;
	cfg->toolsets = CTXD_TOOLSET_ALL;
	cfg->memory_bank_history = 20;
	cfg->memory_bank_stale_days = 7;
	cfg->memory_bank_token_budget = 8000;
	cfg->skills_user_dirs = true;
	cfg->skills_max_dirs = 10000;
	cfg->skills_catalogue_bytes = 8192;
	cfg->max_subscriptions = 10000;
	cfg->max_copy_bytes = (size_t)1 << 30;
	cfg->hardlinks_refuse = false;
}

static void free_roots(struct ctxd_config_root *roots, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(roots[i].path);
	}
	free(roots);
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i]);
	}
	free(v);
}

static void free_names(struct ctxd_config_names *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free_strs(v[i].names, v[i].n);
	}
	free(v);
}

void ctxd_config_finish(struct ctxd_config *cfg)
{
	if (!cfg) {
		return;
	}
	free_roots(cfg->roots, cfg->n_roots);
	free_strs(cfg->disabled_tools, cfg->n_disabled_tools);
	free_strs(cfg->skills_dirs, cfg->n_skills_dirs);
	free(cfg->memory_bank_path);
	free_names(cfg->memory_bank_sections, cfg->n_memory_bank_sections);
	free_names(cfg->memory_bank_variants, cfg->n_memory_bank_variants);
	free(cfg->source);
	memset(cfg, 0, sizeof(*cfg));
}

static int push_root(struct ctxd_config_root **roots, size_t *n, const char *path, bool read_only)
{
	char *copy = strdup(path);
	if (!copy) {
		return -1;
	}
	struct ctxd_config_root *grown = realloc(*roots, (*n + 1) * sizeof(**roots));
	if (!grown) {
		free(copy);
		errno = ENOMEM;
		return -1;
	}
	grown[*n].path = copy;
	grown[*n].read_only = read_only;
	*roots = grown;
	(*n)++;
	return 0;
}

int ctxd_config_add_root(struct ctxd_config *cfg, const char *path, bool read_only)
{
	if (!path) {
		errno = EINVAL;
		return -1;
	}
	return push_root(&cfg->roots, &cfg->n_roots, path, read_only);
}

int ctxd_config_add_skills_dir(struct ctxd_config *cfg, const char *path)
{
	if (!path) {
		errno = EINVAL;
		return -1;
	}
	char *copy = strdup(path);
	char **grown = copy ? realloc(cfg->skills_dirs,
				      (cfg->n_skills_dirs + 1) * sizeof(*grown)) : NULL;
	if (!grown) {
		free(copy);
		errno = ENOMEM;
		return -1;
	}
	cfg->skills_dirs = grown;
	cfg->skills_dirs[cfg->n_skills_dirs++] = copy;
	return 0;
}

bool ctxd_config_tool_disabled(const struct ctxd_config *cfg, const char *name)
{
	if (!cfg || !name) {
		return false;
	}
	for (size_t i = 0; i < cfg->n_disabled_tools; i++) {
		if (strcmp(cfg->disabled_tools[i], name) == 0) {
			return true;
		}
	}
	return false;
}

unsigned ctxd_config_toolset_bit(const char *name, size_t len)
{
	static const struct {
		const char *name;
		unsigned bit;
	} sets[] = {
		{"files", CTXD_TOOLSET_FILES},
		{"skills", CTXD_TOOLSET_SKILLS},
		{"memory", CTXD_TOOLSET_MEMORY},
	};
	for (size_t i = 0; name && i < sizeof(sets) / sizeof(sets[0]); i++) {
		if (len == strlen(sets[i].name) && memcmp(name, sets[i].name, len) == 0) {
			return sets[i].bit;
		}
	}
	return 0;
}

int ctxd_config_parse_toolsets(const char *s, unsigned *out)
{
	unsigned bits = 0;
	if (!s) {
		return -1;
	}
	for (;;) {
		while (*s == ' ' || *s == '\t') {
			s++;
		}
		size_t len = strcspn(s, ",");
		size_t n = len;
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
			n--;
		}
		unsigned bit = ctxd_config_toolset_bit(s, n);
		if (!bit) {
			return -1;
		}
		bits |= bit;
		if (s[len] == '\0') {
			break;
		}
		s += len + 1;
	}
	*out = bits;
	return 0;
}

/* Decimal digits only (no sign, no blanks, no 0x). Returns 0, -1 for junk, -2 for overflow. */
static int parse_digits(const char *s, const char **end, unsigned long long *out)
{
	if (*s < '0' || *s > '9') {
		return -1;
	}
	errno = 0;
	char *e;
	unsigned long long v = strtoull(s, &e, 10);
	if (errno == ERANGE) {
		return -2;
	}
	*end = e;
	*out = v;
	return 0;
}

static int parse_uint(const char *s, unsigned long long *out)
{
	const char *end;
	int rc = parse_digits(s, &end, out);
	if (rc == 0 && *end != '\0') {
		return -1;
	}
	return rc;
}

/* Like ctxd_config_parse_size, telling junk (-1) from overflow (-2). */
static int parse_size(const char *s, size_t *out)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {
		{"", 0}, {"K", 10}, {"KiB", 10}, {"M", 20}, {"MiB", 20}, {"G", 30}, {"GiB", 30},
	};
	if (!s) {
		return -1;
	}
	const char *end;
	unsigned long long v;
	int rc = parse_digits(s, &end, &v);
	if (rc) {
		return rc;
	}
	while (*end == ' ') {
		end++;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].suffix) != 0) {
			continue;
		}
		if (end > s && end[-1] == ' ' && units[i].shift == 0) {
			return -1; /* trailing blanks and no suffix */
		}
		if (v > SIZE_MAX || (size_t)v > (SIZE_MAX >> units[i].shift)) {
			return -2;
		}
		*out = (size_t)v << units[i].shift;
		return 0;
	}
	return -1;
}

int ctxd_config_parse_size(const char *s, size_t *out)
{
	size_t v;
	if (parse_size(s, &v) != 0) {
		return -1;
	}
	*out = v;
	return 0;
}

/* Copy at most 48 bytes of `s` into `dst` for a message, with control and non-ASCII bytes
 * shown as '?', so hostile input cannot garble the error line. */
static const char *excerpt(char *dst, size_t size, const unsigned char *s, size_t len)
{
	size_t cap = size - 4, o = 0;
	if (cap > 48) {
		cap = 48;
	}
	for (size_t i = 0; i < len && o < cap; i++) {
		dst[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	}
	if (len > cap) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}

static void fail_at(struct loader *ld, yaml_mark_t mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail_at(struct loader *ld, yaml_mark_t mark, const char *fmt, ...)
{
	char msg[CTXD_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctxd_error_set(ld->err, 0, "%.200s:%zu:%zu: %s", ld->name, mark.line + 1, mark.column + 1,
		       msg);
}

/* Report a libyaml failure. Reader errors (bad encoding) only carry a byte offset, so the
 * line and column are counted from the buffer. */
static void syntax_error(struct loader *ld)
{
	yaml_parser_t *p = &ld->parser;
	const char *problem = p->problem ? p->problem : "invalid YAML";

	if (p->error == YAML_MEMORY_ERROR) {
		ctxd_error_set(ld->err, 0, "%.200s: out of memory while parsing", ld->name);
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		yaml_mark_t mark = {0, 0, 0};
		size_t off = p->problem_offset < ld->len ? p->problem_offset : ld->len;
		for (size_t i = 0; i < off; i++) {
			if (ld->buf[i] == '\n') {
				mark.line++;
				mark.column = 0;
			} else {
				mark.column++;
			}
		}
		if (p->problem_value != -1) {
			fail_at(ld, mark, "%s (byte 0x%02X)", problem, (unsigned)p->problem_value);
		} else {
			fail_at(ld, mark, "%s", problem);
		}
		return;
	}
	if (p->context) {
		fail_at(ld, p->problem_mark, "%s (%s at line %zu, column %zu)", problem,
			p->context, p->context_mark.line + 1, p->context_mark.column + 1);
	} else {
		fail_at(ld, p->problem_mark, "%s", problem);
	}
}

/* Advance to the next event. Aliases and over-deep nesting end the walk here. */
static int next_event(struct loader *ld)
{
	if (ld->have_ev) {
		yaml_event_delete(&ld->ev);
		ld->have_ev = false;
	}
	if (!yaml_parser_parse(&ld->parser, &ld->ev)) {
		syntax_error(ld);
		return -1;
	}
	ld->have_ev = true;
	switch (ld->ev.type) {
	case YAML_ALIAS_EVENT: {
		char a[64];
		const unsigned char *anchor = ld->ev.data.alias.anchor;
		excerpt(a, sizeof(a), anchor, anchor ? strlen((const char *)anchor) : 0);
		fail_at(ld, ld->ev.start_mark, "aliases are not allowed (*%s)", a);
		return -1;
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (++ld->depth > MAX_DEPTH) {
			fail_at(ld, ld->ev.start_mark, "nesting deeper than %d levels", MAX_DEPTH);
			return -1;
		}
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		ld->depth--;
		break;
	default:
		break;
	}
	return 0;
}

static bool is_null(const yaml_event_t *ev)
{
	if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		return false;
	}
	const char *v = (const char *)ev->data.scalar.value;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static const char *kind(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SEQUENCE_START_EVENT:
		return "a sequence";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_SCALAR_EVENT:
		return is_null(ev) ? "null" : "a string";
	default:
		return "nothing";
	}
}

/* The current event as a NUL-free, non-null scalar, or -1 with "WHAT: expected EXPECTED". */
static int scalar(struct loader *ld, const char *what, const char *expected, const char **out)
{
	yaml_event_t *ev = &ld->ev;
	if (ev->type != YAML_SCALAR_EVENT || is_null(ev)) {
		fail_at(ld, ev->start_mark, "%s: expected %s, got %s", what, expected, kind(ev));
		return -1;
	}
	const char *v = (const char *)ev->data.scalar.value;
	if (strlen(v) != ev->data.scalar.length) {
		fail_at(ld, ev->start_mark, "%s: contains a NUL byte", what);
		return -1;
	}
	*out = v;
	return 0;
}

static const char *value_excerpt(struct loader *ld, char *dst, size_t size)
{
	return excerpt(dst, size, ld->ev.data.scalar.value, ld->ev.data.scalar.length);
}

static int get_uint(struct loader *ld, const char *what, unsigned long long lo,
		    unsigned long long hi, unsigned long long *out)
{
	const char *s;
	char ex[64];
	unsigned long long v = 0;
	if (scalar(ld, what, "an integer", &s)) {
		return -1;
	}
	int rc = parse_uint(s, &v);
	if (rc == -1) {
		fail_at(ld, ld->ev.start_mark, "%s: expected an integer, got '%s'", what,
			value_excerpt(ld, ex, sizeof(ex)));
		return -1;
	}
	if (rc == -2 || v < lo || v > hi) {
		fail_at(ld, ld->ev.start_mark, "%s: %s is out of range (%llu..%llu)", what,
			value_excerpt(ld, ex, sizeof(ex)), lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int get_size(struct loader *ld, const char *what, size_t lo, size_t hi, size_t *out)
{
	const char *s;
	char ex[64];
	size_t v = 0;
	if (scalar(ld, what, "a size", &s)) {
		return -1;
	}
	int rc = parse_size(s, &v);
	if (rc == -1) {
		fail_at(ld, ld->ev.start_mark,
			"%s: invalid size '%s' (an integer with an optional K, KiB, M, MiB, G or "
			"GiB suffix)",
			what, value_excerpt(ld, ex, sizeof(ex)));
		return -1;
	}
	if (rc == -2 || v < lo || v > hi) {
		fail_at(ld, ld->ev.start_mark, "%s: %s is out of range (%zu..%zu bytes)", what,
			value_excerpt(ld, ex, sizeof(ex)), lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int get_bool(struct loader *ld, const char *what, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	const char *s;
	char ex[64];
	if (scalar(ld, what, "a boolean", &s)) {
		return -1;
	}
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	fail_at(ld, ld->ev.start_mark, "%s: expected a boolean (true/false/yes/no/on/off), got '%s'",
		what, value_excerpt(ld, ex, sizeof(ex)));
	return -1;
}

static int get_level(struct loader *ld, const char *what, enum ctxd_log_level *out)
{
	const char *s;
	char ex[64];
	if (scalar(ld, what, "a log level", &s)) {
		return -1;
	}
	if (ctxd_log_level_parse(s, out) != 0) {
		fail_at(ld, ld->ev.start_mark,
			"%s: unknown log level '%s' (debug, info, notice, warning, error, "
			"critical, alert, emergency or off)",
			what, value_excerpt(ld, ex, sizeof(ex)));
		return -1;
	}
	return 0;
}

/* sandbox.hardlinks: "allow" (false) or "refuse" (true). */
static int get_hardlinks(struct loader *ld, const char *what, bool *refuse)
{
	const char *s;
	char ex[64];
	if (scalar(ld, what, "allow or refuse", &s)) {
		return -1;
	}
	if (strcasecmp(s, "allow") == 0 || strcasecmp(s, "refuse") == 0) {
		*refuse = strcasecmp(s, "refuse") == 0;
		return 0;
	}
	fail_at(ld, ld->ev.start_mark, "%s: expected allow or refuse, got '%s'", what,
		value_excerpt(ld, ex, sizeof(ex)));
	return -1;
}

static int get_string(struct loader *ld, const char *what, char **out)
{
	const char *s;
	if (scalar(ld, what, "a string", &s)) {
		return -1;
	}
	char *copy = strdup(s);
	if (!copy) {
		ctxd_error_set_errno(ld->err, 0, ENOMEM, "%.200s: out of memory", ld->name);
		return -1;
	}
	*out = copy;
	return 0;
}

static int expect(struct loader *ld, yaml_event_type_t type, const char *what,
		  const char *expected)
{
	if (ld->ev.type != type) {
		fail_at(ld, ld->ev.start_mark, "%s: expected %s, got %s", what, expected,
			kind(&ld->ev));
		return -1;
	}
	return 0;
}

/* Read the next key of the mapping being walked. Returns 1 with *index set (its position in
 * `keys`) and the parser moved onto the value, 0 at the end of the mapping, or -1. */
static int next_key(struct loader *ld, const char *section, const char *const *keys,
		    size_t n_keys, unsigned *seen, size_t *index)
{
	if (next_event(ld)) {
		return -1;
	}
	if (ld->ev.type == YAML_MAPPING_END_EVENT) {
		return 0;
	}
	if (ld->ev.type != YAML_SCALAR_EVENT || is_null(&ld->ev)) {
		fail_at(ld, ld->ev.start_mark, "%s: expected a key name, got %s", section,
			kind(&ld->ev));
		return -1;
	}
	const char *key = (const char *)ld->ev.data.scalar.value;
	size_t len = ld->ev.data.scalar.length;
	for (size_t i = 0; i < n_keys; i++) {
		if (len == strlen(keys[i]) && memcmp(key, keys[i], len) == 0) {
			if (*seen & (1u << i)) {
				fail_at(ld, ld->ev.start_mark, "duplicate key '%s' in %s", keys[i],
					section);
				return -1;
			}
			*seen |= 1u << i;
			*index = i;
			return next_event(ld) ? -1 : 1;
		}
	}
	char ex[64];
	fail_at(ld, ld->ev.start_mark, "unknown key '%s' in %s", value_excerpt(ld, ex, sizeof(ex)),
		section);
	return -1;
}

#define N_KEYS(a) (sizeof(a) / sizeof((a)[0]))

static int parse_root_map(struct loader *ld, const char *what, struct ctxd_config_root **roots,
			  size_t *n)
{
	static const char *const keys[] = {"path", "mode", "read_only"};
	yaml_mark_t start = ld->ev.start_mark;
	char *path = NULL;
	bool ro = false;
	unsigned seen = 0;
	size_t k;
	int rc;
	char sub[KEY_MAX + 32], ex[64];

	while ((rc = next_key(ld, what, keys, N_KEYS(keys), &seen, &k)) == 1) {
		snprintf(sub, sizeof(sub), "%s.%s", what, keys[k]);
		if (k == 0) {
			free(path); /* next_key refuses a second 'path'; this keeps that local */
			path = NULL;
			if (get_string(ld, sub, &path)) {
				return -1;
			}
		} else if (k == 1) {
			const char *s;
			if (scalar(ld, sub, "ro or rw", &s)) {
				goto err;
			}
			if (strcmp(s, "ro") == 0) {
				ro = true;
			} else if (strcmp(s, "rw") == 0) {
				ro = false;
			} else {
				fail_at(ld, ld->ev.start_mark, "%s: expected ro or rw, got '%s'", sub,
					value_excerpt(ld, ex, sizeof(ex)));
				goto err;
			}
		} else if (get_bool(ld, sub, &ro)) {
			goto err;
		}
	}
	if (rc < 0) {
		goto err;
	}
	if (!path) {
		fail_at(ld, start, "%s: missing 'path'", what);
		return -1;
	}
	if (!path[0]) {
		fail_at(ld, start, "%s.path: must not be empty", what);
		goto err;
	}
	rc = push_root(roots, n, path, ro);
	free(path);
	if (rc) {
		ctxd_error_set_errno(ld->err, 0, ENOMEM, "%.200s: out of memory", ld->name);
		return -1;
	}
	return 0;
err:
	free(path);
	return -1;
}

/* roots: a sequence of "PATH" or {path: PATH, mode: ro|rw}. Replaces the current list. */
static int parse_roots(struct loader *ld, struct ctxd_config *cfg)
{
	struct ctxd_config_root *roots = NULL;
	size_t n = 0;
	char what[32];

	if (is_null(&ld->ev)) {
		goto done;
	}
	if (expect(ld, YAML_SEQUENCE_START_EVENT, "roots", "a sequence")) {
		return -1;
	}
	for (;;) {
		if (next_event(ld)) {
			goto err;
		}
		if (ld->ev.type == YAML_SEQUENCE_END_EVENT) {
			break;
		}
		snprintf(what, sizeof(what), "roots[%zu]", n);
		if (ld->ev.type == YAML_MAPPING_START_EVENT) {
			if (parse_root_map(ld, what, &roots, &n)) {
				goto err;
			}
			continue;
		}
		const char *s;
		if (scalar(ld, what, "a path or a mapping", &s)) {
			goto err;
		}
		if (!s[0]) {
			fail_at(ld, ld->ev.start_mark, "%s: path must not be empty", what);
			goto err;
		}
		if (push_root(&roots, &n, s, false)) {
			ctxd_error_set_errno(ld->err, 0, ENOMEM, "%.200s: out of memory", ld->name);
			goto err;
		}
	}
done:
	free_roots(cfg->roots, cfg->n_roots);
	cfg->roots = roots;
	cfg->n_roots = n;
	return 0;
err:
	free_roots(roots, n);
	return -1;
}

static int parse_limits(struct loader *ld, struct ctxd_config *cfg)
{
	static const char *const keys[] = {
		"frame_bytes", "read_bytes", "entries", "write_queue_bytes", "drain_ms", "page_size",
		"media_bytes", "roots_timeout_ms", "call_ms", "subscriptions", "copy_bytes",
	};
	unsigned seen = 0;
	size_t k;
	int rc;
	unsigned long long v;
	char what[48];

	if (expect(ld, YAML_MAPPING_START_EVENT, "limits", "a mapping")) {
		return -1;
	}
	while ((rc = next_key(ld, "limits", keys, N_KEYS(keys), &seen, &k)) == 1) {
		snprintf(what, sizeof(what), "limits.%s", keys[k]);
		switch (k) {
		case 0:
			rc = get_size(ld, what, 1024, MAX_BYTES_LIMIT, &cfg->max_frame_bytes);
			break;
		case 1:
			rc = get_size(ld, what, 1024, MAX_BYTES_LIMIT, &cfg->max_read_bytes);
			break;
		case 2:
			rc = get_uint(ld, what, 1, 10000000, &v);
			if (rc == 0) {
				cfg->max_entries = (size_t)v;
			}
			break;
		case 3:
			rc = get_size(ld, what, 1024, MAX_BYTES_LIMIT, &cfg->write_queue_bytes);
			break;
		case 4:
			rc = get_uint(ld, what, 0, 600000, &v);
			if (rc == 0) {
				cfg->drain_ms = (unsigned)v;
			}
			break;
		case 5:
			rc = get_uint(ld, what, 1, 10000, &v);
			if (rc == 0) {
				cfg->page_size = (unsigned)v;
			}
			break;
		case 6:
			rc = get_size(ld, what, 1024, MAX_BYTES_LIMIT, &cfg->max_media_bytes);
			break;
		case 8:
			rc = get_uint(ld, what, 0, 86400000, &v);
			if (rc == 0) {
				cfg->call_ms = (unsigned)v;
			}
			break;
		case 9:
			rc = get_uint(ld, what, 1, 10000000, &v);
			if (rc == 0) {
				cfg->max_subscriptions = (unsigned)v;
			}
			break;
		case 10:
			rc = get_size(ld, what, 1024, MAX_COPY_LIMIT, &cfg->max_copy_bytes);
			break;
		default:
			rc = get_uint(ld, what, 100, 600000, &v);
			if (rc == 0) {
				cfg->roots_timeout_ms = (unsigned)v;
			}
			break;
		}
		if (rc) {
			return -1;
		}
	}
	return rc;
}

static int parse_log(struct loader *ld, struct ctxd_config *cfg)
{
	static const char *const keys[] = {"level"};
	unsigned seen = 0;
	size_t k;
	int rc;

	if (expect(ld, YAML_MAPPING_START_EVENT, "log", "a mapping")) {
		return -1;
	}
	while ((rc = next_key(ld, "log", keys, N_KEYS(keys), &seen, &k)) == 1) {
		if (get_level(ld, "log.level", &cfg->log_level)) {
			return -1;
		}
	}
	return rc;
}

static int parse_sandbox(struct loader *ld, struct ctxd_config *cfg)
{
	static const char *const keys[] = {"landlock", "read_only", "hardlinks"};
	unsigned seen = 0;
	size_t k;
	int rc;

	if (expect(ld, YAML_MAPPING_START_EVENT, "sandbox", "a mapping")) {
		return -1;
	}
	while ((rc = next_key(ld, "sandbox", keys, N_KEYS(keys), &seen, &k)) == 1) {
		if (k == 2) {
			if (get_hardlinks(ld, "sandbox.hardlinks", &cfg->hardlinks_refuse)) {
				return -1;
			}
			continue;
		}
		if (k == 0 ? get_bool(ld, "sandbox.landlock", &cfg->landlock)
			   : get_bool(ld, "sandbox.read_only", &cfg->read_only)) {
			return -1;
		}
	}
	return rc;
}

/* tools.disabled: a sequence of tool names. Replaces the current list. */
static int parse_disabled(struct loader *ld, struct ctxd_config *cfg)
{
	struct str_list list = {NULL, 0};
	char what[40];

	if (is_null(&ld->ev)) {
		goto done;
	}
	if (expect(ld, YAML_SEQUENCE_START_EVENT, "tools.disabled", "a sequence")) {
		return -1;
	}
	for (;;) {
		if (next_event(ld)) {
			goto err;
		}
		if (ld->ev.type == YAML_SEQUENCE_END_EVENT) {
			break;
		}
		snprintf(what, sizeof(what), "tools.disabled[%zu]", list.n);
		char *name;
		if (get_string(ld, what, &name)) {
			goto err;
		}
		char **grown = realloc(list.v, (list.n + 1) * sizeof(*list.v));
		if (!grown) {
			free(name);
			ctxd_error_set_errno(ld->err, 0, ENOMEM, "%.200s: out of memory", ld->name);
			goto err;
		}
		list.v = grown;
		list.v[list.n++] = name;
	}
done:
	free_strs(cfg->disabled_tools, cfg->n_disabled_tools);
	cfg->disabled_tools = list.v;
	cfg->n_disabled_tools = list.n;
	return 0;
err:
	free_strs(list.v, list.n);
	return -1;
}

/* tools.toolsets: a non-empty sequence of family names. Replaces the current set. */
static int parse_toolsets(struct loader *ld, struct ctxd_config *cfg)
{
	unsigned bits = 0;
	size_t n = 0;
	char what[40], ex[64];

	if (expect(ld, YAML_SEQUENCE_START_EVENT, "tools.toolsets", "a sequence")) {
		return -1;
	}
	yaml_mark_t start = ld->ev.start_mark;
	for (;;) {
		if (next_event(ld)) {
			return -1;
		}
		if (ld->ev.type == YAML_SEQUENCE_END_EVENT) {
			break;
		}
		snprintf(what, sizeof(what), "tools.toolsets[%zu]", n++);
		const char *s;
		if (scalar(ld, what, "a tool family name", &s)) {
			return -1;
		}
		unsigned bit = ctxd_config_toolset_bit(s, strlen(s));
		if (!bit) {
			fail_at(ld, ld->ev.start_mark,
				"%s: unknown tool family '%s' (files, skills or memory)", what,
				value_excerpt(ld, ex, sizeof(ex)));
			return -1;
		}
		bits |= bit;
	}
	if (!bits) {
		fail_at(ld, start, "tools.toolsets: name at least one of files, skills, memory");
		return -1;
	}
	cfg->toolsets = bits;
	return 0;
}

static int parse_tools(struct loader *ld, struct ctxd_config *cfg)
{
	static const char *const keys[] = {"disabled", "toolsets"};
	unsigned seen = 0;
	size_t k;
	int rc;

	if (expect(ld, YAML_MAPPING_START_EVENT, "tools", "a mapping")) {
		return -1;
	}
	while ((rc = next_key(ld, "tools", keys, N_KEYS(keys), &seen, &k)) == 1) {
		if (k == 0 ? parse_disabled(ld, cfg) : parse_toolsets(ld, cfg)) {
			return -1;
		}
	}
	return rc;
}

#define NAMES_MAX 100     /* keys of a names map, and names under one key */
#define NAME_MAX_LEN 200  /* bytes of one key or name */

/* A non-empty string of at most NAME_MAX_LEN bytes into a new copy. */
static int get_name(struct loader *ld, const char *what, char **out)
{
	if (get_string(ld, what, out)) {
		return -1;
	}
	if (!(*out)[0] || strlen(*out) > NAME_MAX_LEN) {
		free(*out);
		fail_at(ld, ld->ev.start_mark, "%s: must be 1 to %d bytes", what, NAME_MAX_LEN);
		return -1;
	}
	return 0;
}

/* A sequence of names (or null: none) for key `key` of map `what`, into `e`. */
static int parse_names(struct loader *ld, const char *what, struct ctxd_config_names *e)
{
	char item[NAME_MAX_LEN + 96];
	if (is_null(&ld->ev)) {
		return 0;
	}
	snprintf(item, sizeof(item), "%s.%s", what, e->key);
	if (expect(ld, YAML_SEQUENCE_START_EVENT, item, "a sequence of headings")) {
		return -1;
	}
	for (;;) {
		if (next_event(ld)) {
			return -1;
		}
		if (ld->ev.type == YAML_SEQUENCE_END_EVENT) {
			return 0;
		}
		snprintf(item, sizeof(item), "%s.%s[%zu]", what, e->key, e->n);
		if (e->n == NAMES_MAX) {
			fail_at(ld, ld->ev.start_mark, "%s: at most %d entries", item, NAMES_MAX);
			return -1;
		}
		char *name;
		if (get_name(ld, item, &name)) {
			return -1;
		}
		char **grown = realloc(e->names, (e->n + 1) * sizeof(*e->names));
		if (!grown) {
			free(name);
			ctxd_error_set_errno(ld->err, 0, ENOMEM, "%.200s: out of memory", ld->name);
			return -1;
		}
		e->names = grown;
		e->names[e->n++] = name;
	}
}

/* `what`: a mapping of names to sequences of names (memory_bank.sections, whose keys are
 * bank files ending in ".md", and memory_bank.section_variants). Replaces *out when whole. */
static int parse_names_map(struct loader *ld, const char *what, bool md_keys,
			   struct ctxd_config_names **out, size_t *n_out)
{
	struct ctxd_config_names *v = NULL;
	size_t n = 0;
	if (!is_null(&ld->ev)) {
		if (expect(ld, YAML_MAPPING_START_EVENT, what, "a mapping")) {
			return -1;
		}
		for (;;) {
			if (next_event(ld)) {
				goto err;
			}
			if (ld->ev.type == YAML_MAPPING_END_EVENT) {
				break;
			}
			char *key;
			if (n == NAMES_MAX) {
				fail_at(ld, ld->ev.start_mark, "%s: at most %d entries", what,
					NAMES_MAX);
				goto err;
			}
			if (get_name(ld, what, &key)) {
				goto err;
			}
			size_t kl = strlen(key);
			bool dup = false;
			for (size_t i = 0; i < n && !dup; i++) {
				dup = strcmp(v[i].key, key) == 0;
			}
			if (dup || (md_keys && (kl < 4 || strcmp(key + kl - 3, ".md") != 0))) {
				fail_at(ld, ld->ev.start_mark,
					dup ? "%s: duplicate key '%.200s'"
					    : "%s: '%.200s' is not a bank file name (it must end in .md)",
					what, key);
				free(key);
				goto err;
			}
			struct ctxd_config_names *grown = realloc(v, (n + 1) * sizeof(*v));
			if (!grown) {
				free(key);
				ctxd_error_set_errno(ld->err, 0, ENOMEM, "%.200s: out of memory",
						     ld->name);
				goto err;
			}
			v = grown;
			v[n++] = (struct ctxd_config_names){.key = key};
			if (next_event(ld) || parse_names(ld, what, &v[n - 1])) {
				goto err;
			}
		}
	}
	free_names(*out, *n_out);
	*out = v;
	*n_out = n;
	return 0;
err:
	free_names(v, n);
	return -1;
}

/* memory_bank: {path, multi_project, history, stale_days, token_budget, sections,
 * section_variants}. */
static int parse_memory_bank(struct loader *ld, struct ctxd_config *cfg)
{
	static const char *const keys[] = {
		"path", "multi_project", "history", "stale_days", "token_budget",
		"sections", "section_variants",
	};
	unsigned seen = 0;
	size_t k;
	int rc;
	unsigned long long v;
	char what[48];

	if (expect(ld, YAML_MAPPING_START_EVENT, "memory_bank", "a mapping")) {
		return -1;
	}
	while ((rc = next_key(ld, "memory_bank", keys, N_KEYS(keys), &seen, &k)) == 1) {
		snprintf(what, sizeof(what), "memory_bank.%s", keys[k]);
		if (k == 0) {
			char *path;
			if (get_string(ld, what, &path)) {
				return -1;
			}
			if (!path[0]) {
				free(path);
				fail_at(ld, ld->ev.start_mark, "%s: must not be empty", what);
				return -1;
			}
			free(cfg->memory_bank_path);
			cfg->memory_bank_path = path;
		} else if (k == 1) {
			if (get_bool(ld, what, &cfg->memory_bank_multi_project)) {
				return -1;
			}
		} else if (k == 5) {
			if (parse_names_map(ld, what, true, &cfg->memory_bank_sections,
					    &cfg->n_memory_bank_sections)) {
				return -1;
			}
		} else if (k == 6) {
			if (parse_names_map(ld, what, false, &cfg->memory_bank_variants,
					    &cfg->n_memory_bank_variants)) {
				return -1;
			}
		} else {
			unsigned long long lo = k == 4 ? 100 : 1;
			unsigned long long hi = k == 2 ? 1000 : k == 3 ? 3650 : 10000000;
			if (get_uint(ld, what, lo, hi, &v)) {
				return -1;
			}
			if (k == 2) {
				cfg->memory_bank_history = (unsigned)v;
			} else if (k == 3) {
				cfg->memory_bank_stale_days = (unsigned)v;
			} else {
				cfg->memory_bank_token_budget = (size_t)v;
			}
		}
	}
	return rc;
}

/* skills: {dirs: [path...], user_dirs: bool, max_dirs: n, catalogue_bytes: size}. dirs
 * replaces the list. */
static int parse_skills(struct loader *ld, struct ctxd_config *cfg)
{
	static const char *const keys[] = {"dirs", "user_dirs", "max_dirs", "catalogue_bytes"};
	unsigned seen = 0;
	size_t k;
	int rc;
	unsigned long long v;

	if (expect(ld, YAML_MAPPING_START_EVENT, "skills", "a mapping")) {
		return -1;
	}
	while ((rc = next_key(ld, "skills", keys, N_KEYS(keys), &seen, &k)) == 1) {
		if (k == 1) {
			if (get_bool(ld, "skills.user_dirs", &cfg->skills_user_dirs)) {
				return -1;
			}
			continue;
		}
		if (k == 2) {
			if (get_uint(ld, "skills.max_dirs", 1, 10000000, &v)) {
				return -1;
			}
			cfg->skills_max_dirs = (size_t)v;
			continue;
		}
		if (k == 3) {
			if (get_size(ld, "skills.catalogue_bytes", 256, MAX_BYTES_LIMIT,
				     &cfg->skills_catalogue_bytes)) {
				return -1;
			}
			continue;
		}
		struct str_list list = {NULL, 0};
		if (!is_null(&ld->ev)) {
			if (expect(ld, YAML_SEQUENCE_START_EVENT, "skills.dirs", "a sequence")) {
				return -1;
			}
			for (;;) {
				char what[40];
				char *path;
				if (next_event(ld)) {
					free_strs(list.v, list.n);
					return -1;
				}
				if (ld->ev.type == YAML_SEQUENCE_END_EVENT) {
					break;
				}
				snprintf(what, sizeof(what), "skills.dirs[%zu]", list.n);
				if (get_string(ld, what, &path)) {
					free_strs(list.v, list.n);
					return -1;
				}
				if (!path[0]) {
					free(path);
					free_strs(list.v, list.n);
					fail_at(ld, ld->ev.start_mark, "%s: must not be empty", what);
					return -1;
				}
				char **grown = realloc(list.v, (list.n + 1) * sizeof(*list.v));
				if (!grown) {
					free(path);
					free_strs(list.v, list.n);
					ctxd_error_set_errno(ld->err, 0, ENOMEM, "%.200s: out of memory",
							     ld->name);
					return -1;
				}
				list.v = grown;
				list.v[list.n++] = path;
			}
		}
		free_strs(cfg->skills_dirs, cfg->n_skills_dirs);
		cfg->skills_dirs = list.v;
		cfg->n_skills_dirs = list.n;
	}
	return rc;
}

static int parse_top(struct loader *ld, struct ctxd_config *cfg)
{
	static const char *const keys[] = {
		"roots", "threads", "limits", "log", "log_level", "sandbox", "tools",
		"memory_bank", "skills",
	};
	unsigned seen = 0;
	size_t k;
	int rc;
	unsigned long long v;

	while ((rc = next_key(ld, "the top level", keys, N_KEYS(keys), &seen, &k)) == 1) {
		switch (k) {
		case 0:
			rc = parse_roots(ld, cfg);
			break;
		case 1:
			if (ld->ev.type == YAML_SCALAR_EVENT &&
			    strcmp((const char *)ld->ev.data.scalar.value, "auto") == 0) {
				cfg->threads = 0;
				rc = 0;
				break;
			}
			rc = get_uint(ld, "threads", 0, 256, &v);
			if (rc == 0) {
				cfg->threads = (unsigned)v;
			}
			break;
		case 2:
			rc = parse_limits(ld, cfg);
			break;
		case 3:
			rc = parse_log(ld, cfg);
			break;
		case 4:
			rc = get_level(ld, "log_level", &cfg->log_level);
			break;
		case 5:
			rc = parse_sandbox(ld, cfg);
			break;
		case 6:
			rc = parse_tools(ld, cfg);
			break;
		case 7:
			rc = parse_memory_bank(ld, cfg);
			break;
		default:
			rc = parse_skills(ld, cfg);
			break;
		}
		if (rc) {
			return -1;
		}
	}
	return rc;
}

static int parse_stream(struct loader *ld, struct ctxd_config *cfg)
{
	if (next_event(ld)) { /* STREAM-START */
		return -1;
	}
	if (next_event(ld)) {
		return -1;
	}
	if (ld->ev.type == YAML_STREAM_END_EVENT) {
		return 0; /* nothing but blanks and comments */
	}
	/* DOCUMENT-START, then the document's one node */
	if (next_event(ld)) {
		return -1;
	}
	if (ld->ev.type == YAML_MAPPING_START_EVENT) {
		if (parse_top(ld, cfg)) {
			return -1;
		}
	} else if (!is_null(&ld->ev)) {
		fail_at(ld, ld->ev.start_mark, "expected a mapping at the top level, got %s",
			kind(&ld->ev));
		return -1;
	}
	if (next_event(ld)) { /* DOCUMENT-END */
		return -1;
	}
	if (next_event(ld)) {
		return -1;
	}
	if (ld->ev.type != YAML_STREAM_END_EVENT) {
		fail_at(ld, ld->ev.start_mark, "only one YAML document is allowed");
		return -1;
	}
	return 0;
}

int ctxd_config_load_buffer(struct ctxd_config *cfg, const char *buf, size_t len,
			    const char *name, struct ctxd_error *err)
{
	struct loader ld;
	memset(&ld, 0, sizeof(ld));
	ld.name = name ? name : "<config>";
	ld.buf = (const unsigned char *)(buf ? buf : "");
	ld.len = buf ? len : 0;
	ld.err = err;

	if (!yaml_parser_initialize(&ld.parser)) {
		ctxd_error_set_errno(err, 0, ENOMEM, "%.200s: out of memory", ld.name);
		return -1;
	}
	yaml_parser_set_input_string(&ld.parser, ld.buf, ld.len);
	int rc = parse_stream(&ld, cfg);
	if (ld.have_ev) {
		yaml_event_delete(&ld.ev);
	}
	yaml_parser_delete(&ld.parser);
	return rc;
}

/* What a non-regular file is, for messages. */
static const char *file_kind(mode_t m)
{
	return S_ISFIFO(m)   ? "a FIFO (named pipe)"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
			     : "not a regular file";
}

/* Read at most MAX_FILE_BYTES of `path` into a new buffer. Only a regular file is read: the
 * open is O_NONBLOCK, so a FIFO given as the configuration fails at once instead of waiting
 * for a writer forever (and a device is never read). */
static int read_file(const char *path, char **out, size_t *out_len, struct ctxd_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		ctxd_error_set_errno(err, 0, e, "%.300s: %s", path, strerror(e));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		ctxd_error_set_errno(err, 0, e, "%.300s: %s", path, strerror(e));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		ctxd_error_set_errno(err, 0, EISDIR, "%.300s: %s", path, strerror(EISDIR));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		ctxd_error_set_errno(err, 0, EINVAL,
				     "%.300s: the configuration must be a regular file, this is %s",
				     path, file_kind(st.st_mode));
		return -1;
	}
	size_t cap = MAX_FILE_BYTES + 1, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		ctxd_error_set_errno(err, 0, ENOMEM, "%.300s: out of memory", path);
		return -1;
	}
	/* Reading one byte past the limit tells "exactly 1 MiB" from "too big". */
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			int e = errno;
			ctxd_error_set_errno(err, 0, e, "%.300s: %s", path, strerror(e));
			goto err;
		}
		if (n == 0) {
			break;
		}
		len += (size_t)n;
	}
	if (len > MAX_FILE_BYTES) {
		ctxd_error_set_errno(err, 0, EFBIG, "%.300s: file is larger than %zu bytes", path,
				     MAX_FILE_BYTES);
		goto err;
	}
	close(fd);
	*out = buf;
	*out_len = len;
	return 0;
err:
	close(fd);
	free(buf);
	return -1;
}

int ctxd_config_load_file(struct ctxd_config *cfg, const char *path, struct ctxd_error *err)
{
	char *buf;
	size_t len;
	if (!path) {
		ctxd_error_set_errno(err, 0, EINVAL, "no configuration file given");
		return -1;
	}
	if (read_file(path, &buf, &len, err)) {
		return -1;
	}
	char *source = strdup(path);
	if (!source) {
		free(buf);
		ctxd_error_set_errno(err, 0, ENOMEM, "%.300s: out of memory", path);
		return -1;
	}
	free(cfg->source);
	cfg->source = source;
	int rc = ctxd_config_load_buffer(cfg, buf, len, path, err);
	free(buf);
	return rc;
}
