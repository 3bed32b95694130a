/* config_yaml.c - walking libyaml's events for the settings file (config_load.c).
 *
 * The loader walks the event stream directly instead of building a libyaml document: that
 * way an alias is seen (and refused) before anything is expanded, every value is checked
 * against the one shape its key allows, and the first surprise ends the walk. Since no
 * subtree is ever skipped, our own recursion is bounded by the schema; the depth counter in
 * ctxd_cfg_next_event() is a second fence in case the schema ever grows.
 */

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

#include "config_priv.h"

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

void ctxd_cfg_fail_at(struct loader *ld, yaml_mark_t mark, const char *fmt, ...)
{
	char msg[CTXD_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctxd_error_set(ld->err, CTXD_ERR_TOOL, "%.200s:%zu:%zu: %s", ld->name, mark.line + 1,
		       mark.column + 1, msg);
}

/* Report a libyaml failure. Reader errors (bad encoding) only carry a byte offset, so the
 * line and column are counted from the buffer. */
static void syntax_error(struct loader *ld)
{
	yaml_parser_t *p = &ld->parser;
	const char *problem = p->problem ? p->problem : "invalid YAML";

	if (p->error == YAML_MEMORY_ERROR) {
		ctxd_error_set(ld->err, CTXD_ERR_TOOL, "%.200s: out of memory while parsing",
			       ld->name);
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
			ctxd_cfg_fail_at(ld, mark, "%s (byte 0x%02X)", problem,
					 (unsigned)p->problem_value);
		} else {
			ctxd_cfg_fail_at(ld, mark, "%s", problem);
		}
		return;
	}
	if (p->context) {
		ctxd_cfg_fail_at(ld, p->problem_mark, "%s (%s at line %zu, column %zu)", problem,
				 p->context, p->context_mark.line + 1, p->context_mark.column + 1);
	} else {
		ctxd_cfg_fail_at(ld, p->problem_mark, "%s", problem);
	}
}

/* Advance to the next event. Aliases and over-deep nesting end the walk here. */
int ctxd_cfg_next_event(struct loader *ld)
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
		ctxd_cfg_fail_at(ld, ld->ev.start_mark, "aliases are not allowed (*%s)", a);
		return -1;
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (++ld->depth > MAX_DEPTH) {
			ctxd_cfg_fail_at(ld, ld->ev.start_mark, "nesting deeper than %d levels",
					 MAX_DEPTH);
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

bool ctxd_cfg_is_null(const yaml_event_t *ev)
{
	if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		return false;
	}
	const char *v = (const char *)ev->data.scalar.value;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

const char *ctxd_cfg_kind(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SEQUENCE_START_EVENT:
		return "a sequence";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_SCALAR_EVENT:
		return ctxd_cfg_is_null(ev) ? "null" : "a string";
	default:
		return "nothing";
	}
}

/* The current event as a NUL-free, non-null scalar, or -1 with "WHAT: expected EXPECTED". */
int ctxd_cfg_scalar(struct loader *ld, const char *what, const char *expected, const char **out)
{
	yaml_event_t *ev = &ld->ev;
	if (ev->type != YAML_SCALAR_EVENT || ctxd_cfg_is_null(ev)) {
		ctxd_cfg_fail_at(ld, ev->start_mark, "%s: expected %s, got %s", what, expected,
				 ctxd_cfg_kind(ev));
		return -1;
	}
	const char *v = (const char *)ev->data.scalar.value;
	if (strlen(v) != ev->data.scalar.length) {
		ctxd_cfg_fail_at(ld, ev->start_mark, "%s: contains a NUL byte", what);
		return -1;
	}
	*out = v;
	return 0;
}

const char *ctxd_cfg_value_excerpt(struct loader *ld, char *dst, size_t size)
{
	return excerpt(dst, size, ld->ev.data.scalar.value, ld->ev.data.scalar.length);
}

int ctxd_cfg_get_uint(struct loader *ld, const char *what, unsigned long long lo,
		      unsigned long long hi, unsigned long long *out)
{
	const char *s;
	char ex[64];
	unsigned long long v = 0;
	if (ctxd_cfg_scalar(ld, what, "an integer", &s)) {
		return -1;
	}
	int rc = ctxd_cfg_parse_uint(s, &v);
	if (rc == -1) {
		ctxd_cfg_fail_at(ld, ld->ev.start_mark, "%s: expected an integer, got '%s'", what,
				 ctxd_cfg_value_excerpt(ld, ex, sizeof(ex)));
		return -1;
	}
	if (rc == -2 || v < lo || v > hi) {
		ctxd_cfg_fail_at(ld, ld->ev.start_mark, "%s: %s is out of range (%llu..%llu)", what,
				 ctxd_cfg_value_excerpt(ld, ex, sizeof(ex)), lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

int ctxd_cfg_get_size(struct loader *ld, const char *what, size_t lo, size_t hi, size_t *out)
{
	const char *s;
	char ex[64];
	size_t v = 0;
	if (ctxd_cfg_scalar(ld, what, "a size", &s)) {
		return -1;
	}
	int rc = ctxd_cfg_parse_size(s, &v);
	if (rc == -1) {
		ctxd_cfg_fail_at(
		    ld, ld->ev.start_mark,
		    "%s: invalid size '%s' (an integer with an optional K, KiB, M, MiB, G or "
		    "GiB suffix)",
		    what, ctxd_cfg_value_excerpt(ld, ex, sizeof(ex)));
		return -1;
	}
	if (rc == -2 || v < lo || v > hi) {
		ctxd_cfg_fail_at(ld, ld->ev.start_mark, "%s: %s is out of range (%zu..%zu bytes)",
				 what, ctxd_cfg_value_excerpt(ld, ex, sizeof(ex)), lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

int ctxd_cfg_get_bool(struct loader *ld, const char *what, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	const char *s;
	char ex[64];
	if (ctxd_cfg_scalar(ld, what, "a boolean", &s)) {
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
	ctxd_cfg_fail_at(ld, ld->ev.start_mark,
			 "%s: expected a boolean (true/false/yes/no/on/off), got '%s'", what,
			 ctxd_cfg_value_excerpt(ld, ex, sizeof(ex)));
	return -1;
}

int ctxd_cfg_get_level(struct loader *ld, const char *what, enum ctxd_log_level *out)
{
	const char *s;
	char ex[64];
	if (ctxd_cfg_scalar(ld, what, "a log level", &s)) {
		return -1;
	}
	if (ctxd_log_level_parse(s, out) != 0) {
		ctxd_cfg_fail_at(ld, ld->ev.start_mark,
				 "%s: unknown log level '%s' (debug, info, notice, warning, error, "
				 "critical, alert, emergency or off)",
				 what, ctxd_cfg_value_excerpt(ld, ex, sizeof(ex)));
		return -1;
	}
	return 0;
}

/* sandbox.hardlinks: "allow" (false) or "refuse" (true). */
int ctxd_cfg_get_hardlinks(struct loader *ld, const char *what, bool *refuse)
{
	const char *s;
	char ex[64];
	if (ctxd_cfg_scalar(ld, what, "allow or refuse", &s)) {
		return -1;
	}
	if (strcasecmp(s, "allow") == 0 || strcasecmp(s, "refuse") == 0) {
		*refuse = strcasecmp(s, "refuse") == 0;
		return 0;
	}
	ctxd_cfg_fail_at(ld, ld->ev.start_mark, "%s: expected allow or refuse, got '%s'", what,
			 ctxd_cfg_value_excerpt(ld, ex, sizeof(ex)));
	return -1;
}

int ctxd_cfg_get_string(struct loader *ld, const char *what, char **out)
{
	const char *s;
	if (ctxd_cfg_scalar(ld, what, "a string", &s)) {
		return -1;
	}
	char *copy = strdup(s);
	if (!copy) {
		ctxd_error_set_errno(ld->err, CTXD_ERR_TOOL, ENOMEM, "%.200s: out of memory",
				     ld->name);
		return -1;
	}
	*out = copy;
	return 0;
}

int ctxd_cfg_expect(struct loader *ld, yaml_event_type_t type, const char *what,
		    const char *expected)
{
	if (ld->ev.type != type) {
		ctxd_cfg_fail_at(ld, ld->ev.start_mark, "%s: expected %s, got %s", what, expected,
				 ctxd_cfg_kind(&ld->ev));
		return -1;
	}
	return 0;
}

/* Read the next key of the mapping being walked. Returns 1 with *index set (its position in
 * `keys`) and the parser moved onto the value, 0 at the end of the mapping, or -1. */
int ctxd_cfg_next_key(struct loader *ld, const char *section, const char *const *keys,
		      size_t n_keys, unsigned *seen, size_t *index)
{
	if (ctxd_cfg_next_event(ld)) {
		return -1;
	}
	if (ld->ev.type == YAML_MAPPING_END_EVENT) {
		return 0;
	}
	if (ld->ev.type != YAML_SCALAR_EVENT || ctxd_cfg_is_null(&ld->ev)) {
		ctxd_cfg_fail_at(ld, ld->ev.start_mark, "%s: expected a key name, got %s", section,
				 ctxd_cfg_kind(&ld->ev));
		return -1;
	}
	const char *key = (const char *)ld->ev.data.scalar.value;
	size_t len = ld->ev.data.scalar.length;
	for (size_t i = 0; i < n_keys; i++) {
		if (len == strlen(keys[i]) && memcmp(key, keys[i], len) == 0) {
			if (*seen & (1u << i)) {
				ctxd_cfg_fail_at(ld, ld->ev.start_mark, "duplicate key '%s' in %s",
						 keys[i], section);
				return -1;
			}
			*seen |= 1u << i;
			*index = i;
			return ctxd_cfg_next_event(ld) ? -1 : 1;
		}
	}
	char ex[64];
	ctxd_cfg_fail_at(ld, ld->ev.start_mark, "unknown key '%s' in %s",
			 ctxd_cfg_value_excerpt(ld, ex, sizeof(ex)), section);
	return -1;
}
