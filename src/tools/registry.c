/* registry.c - the tool table, tools/list entries and argument validation.
 *
 * Schemas are parsed once at start-up; after that the registry is read-only and shared by
 * the loop thread and the workers (jansson allows concurrent reads). Validation covers the
 * JSON Schema keywords our tools use, so every handler gets arguments of the declared
 * shape and every refusal names the argument. */
#include "ctxd/registry.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistr.h>

#include "ctxd/log.h"

struct reg_entry {
	const struct ctxd_tool *tool;
	json_t *input;  /* parsed inputSchema */
	json_t *listed; /* the tools/list entry */
	void *ud;       /* family state */
};

struct ctxd_registry {
	struct reg_entry *v;
	size_t n, cap;
};

struct ctxd_registry *ctxd_registry_create(void)
{
	return calloc(1, sizeof(struct ctxd_registry));
}

void ctxd_registry_destroy(struct ctxd_registry *reg)
{
	if (!reg) {
		return;
	}
	for (size_t i = 0; i < reg->n; i++) {
		json_decref(reg->v[i].input);
		json_decref(reg->v[i].listed);
	}
	free(reg->v);
	free(reg);
}

/* Trims an outputSchema for tools/list: removes its prose ("description" keywords at every
 * schema level, never a property that happens to be named "description") and its
 * "required" lists, which the model never reads and every tools/list carries (hosts still
 * type-check structuredContent against the types and enums that stay), and its
 * "additionalProperties", so that a host holding an older list still accepts a result with
 * a field added since. schemas/NAME.output.json keeps all three as the documentation of
 * structuredContent, and the tests check results against those files, "required" included. */
static void trim_output_schema(json_t *schema)
{
	if (!json_is_object(schema)) {
		return;
	}
	json_object_del(schema, "description");
	json_object_del(schema, "required");
	json_object_del(schema, "additionalProperties");
	static const char *const maps[] = {"properties", "patternProperties", "$defs"};
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(schema, maps[i]), k, v)
		{
			trim_output_schema(v);
		}
	}
	static const char *const subs[] = {"items", "additionalProperties", "not"};
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		trim_output_schema(json_object_get(schema, subs[i]));
	}
	static const char *const lists[] = {"anyOf", "oneOf", "allOf"};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		size_t j;
		json_t *v;
		json_array_foreach(json_object_get(schema, lists[i]), j, v)
		{
			trim_output_schema(v);
		}
	}
}

/* Annotations carry readOnlyHint always (hosts read it to decide on confirmations), and
 * destructiveHint and idempotentHint only where they differ from the defaults of the MCP
 * schema (ToolAnnotations: destructiveHint true, idempotentHint false); both mean nothing
 * for a read-only tool. openWorldHint is left out (22 bytes a tool in every tools/list for a
 * hint hosts do not act on). The title is the tool's own, not repeated here. */
static json_t *build_annotations(const struct ctxd_tool *t)
{
	json_t *ann = json_object();
	json_object_set_new(ann, "readOnlyHint", json_boolean(t->flags & CTXD_TOOL_READ_ONLY));
	if (!(t->flags & CTXD_TOOL_READ_ONLY)) {
		if (!(t->flags & CTXD_TOOL_DESTRUCTIVE)) {
			json_object_set_new(ann, "destructiveHint", json_false());
		}
		if (t->flags & CTXD_TOOL_IDEMPOTENT) {
			json_object_set_new(ann, "idempotentHint", json_true());
		}
	}
	return ann;
}

static json_t *build_entry(const struct ctxd_tool *t, json_t *input, json_t *output)
{
	json_t *e = json_pack("{s:s, s:s, s:s, s:O, s:o}", "name", t->name, "title", t->title,
			      "description", t->description, "inputSchema", input, "annotations",
			      build_annotations(t));
	if (e && output) {
		trim_output_schema(output);
		json_object_set(e, "outputSchema", output);
	}
	return e;
}

/* tools.disabled naming a tool merged into `t`: the config still loads, as it did before
 * the merge, but the name disables nothing now, which the user is told once. */
static void warn_merged(const struct ctxd_tool *t, const struct ctxd_config *cfg)
{
	for (const struct ctxd_tool_merged *m = t->merged; cfg && m && m->name; m++) {
		if (ctxd_config_tool_disabled(cfg, m->name)) {
			ctxd_warn("tools.disabled: %s was merged into %s (its %s argument) and "
				  "disables nothing now; disable %s to hide both",
				  m->name, t->name, m->argument, t->name);
		}
	}
}

int ctxd_registry_add(struct ctxd_registry *reg, const struct ctxd_tool *tools, size_t n,
		      const struct ctxd_config *cfg, void *ud, struct ctxd_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct ctxd_tool *t = &tools[i];
		warn_merged(t, cfg);
		if (cfg &&
		    (ctxd_config_tool_disabled(cfg, t->name) || (cfg->read_only && t->writes))) {
			continue;
		}
		if (ctxd_registry_find(reg, t->name)) {
			ctxd_error_set(err, CTXD_ERR_TOOL, "tool '%s' registered twice", t->name);
			return -1;
		}
		json_error_t je;
		json_t *input = json_loads(t->input_schema, 0, &je);
		if (!json_is_object(input)) {
			ctxd_error_set(err, CTXD_ERR_TOOL, "tool '%s': inputSchema: %s", t->name,
				       je.text);
			json_decref(input);
			return -1;
		}
		if (t->input_for_config) {
			t->input_for_config(input, cfg);
		}
		json_t *output = NULL;
		if (t->output_schema && !t->output_unlisted) {
			output = json_loads(t->output_schema, 0, &je);
			if (!json_is_object(output)) {
				ctxd_error_set(err, CTXD_ERR_TOOL, "tool '%s': outputSchema: %s",
					       t->name, je.text);
				json_decref(input);
				json_decref(output);
				return -1;
			}
		}
		if (ctxd_grow((void **)&reg->v, &reg->cap, reg->n + 1, sizeof(*reg->v), 16)) {
			json_decref(input);
			json_decref(output);
			ctxd_error_set(err, CTXD_ERR_TOOL, "out of memory");
			return -1;
		}
		json_t *listed = build_entry(t, input, output);
		json_decref(output);
		if (!listed) {
			json_decref(input);
			ctxd_error_set(err, CTXD_ERR_TOOL, "out of memory");
			return -1;
		}
		reg->v[reg->n++] =
		    (struct reg_entry){.tool = t, .input = input, .listed = listed, .ud = ud};
	}
	return 0;
}

size_t ctxd_registry_count(const struct ctxd_registry *reg)
{
	return reg->n;
}

static const struct reg_entry *find_entry(const struct ctxd_registry *reg, const char *name)
{
	for (size_t i = 0; i < reg->n; i++) {
		if (strcmp(reg->v[i].tool->name, name) == 0) {
			return &reg->v[i];
		}
	}
	return NULL;
}

const struct ctxd_tool *ctxd_registry_find(const struct ctxd_registry *reg, const char *name)
{
	const struct reg_entry *e = name ? find_entry(reg, name) : NULL;
	return e ? e->tool : NULL;
}

json_t *ctxd_registry_entry(const struct ctxd_registry *reg, size_t i)
{
	if (i >= reg->n) {
		return NULL;
	}
	const struct reg_entry *e = &reg->v[i];
	char *desc = e->tool->describe ? e->tool->describe(e->ud) : NULL;
	if (!desc) {
		return json_incref(e->listed);
	}
	json_t *copy = json_copy(e->listed); /* shallow: schemas stay shared */
	if (copy) {
		json_object_set_new(copy, "description", json_string(desc));
	}
	free(desc);
	return copy;
}

void *ctxd_registry_tool_ud(const struct ctxd_registry *reg, const struct ctxd_tool *tool)
{
	for (size_t i = 0; i < reg->n; i++) {
		if (reg->v[i].tool == tool) {
			return reg->v[i].ud;
		}
	}
	return NULL;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

static bool type_matches(const char *want, const json_t *v)
{
	if (strcmp(want, "number") == 0) {
		return json_is_number(v);
	}
	if (strcmp(want, "integer") == 0) {
		if (json_is_integer(v)) {
			return true;
		}
		/* 2020-12: a number with zero fractional part is an integer */
		return json_is_real(v) && floor(json_real_value(v)) == json_real_value(v) &&
		       fabs(json_real_value(v)) < 9.0e15;
	}
	return strcmp(want, type_name(v)) == 0;
}

/* Count UTF-8 code points (maxLength counts characters, not bytes). */
static size_t utf8_len(const char *s, size_t n)
{
	return u8_mbsnlen((const uint8_t *)s, n);
}

/* Where in the arguments a value is, kept as a chain and written out only for an error
 * message (building the text for every property cost more than the checks). */
struct where {
	const struct where *up; /* the array of an item; NULL otherwise */
	const char *name;       /* the root's text, or the property's name */
	bool prop;              /* a property: "argument '<name>'" */
	size_t index;           /* an item of `up`: "<up>[<index>]" */
};

/* Write `w` into out[0..size) as the messages name it. */
static void where_text(const struct where *w, char *out, size_t size)
{
	if (w->up) {
		size = size < 300 ? size : 300;
		where_text(w->up, out, size);
		size_t n = strlen(out);
		snprintf(out + n, size - n, "[%zu]", w->index);
	} else if (w->prop) {
		snprintf(out, size < 256 ? size : 256, "argument '%s'", w->name);
	} else {
		snprintf(out, size, "%s", w->name);
	}
}

/* Set `err` to "<where>: <what>" (what: printf-style). */
static void where_error(struct ctxd_error *err, const struct where *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void where_error(struct ctxd_error *err, const struct where *w, const char *fmt, ...)
{
	char at[300], what[CTXD_ERROR_MSG_MAX];
	where_text(w, at, sizeof(at));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	ctxd_error_set(err, CTXD_ERR_TOOL, "%s: %s", at, what);
}

static int check(json_t *schema, json_t *v, const struct where *where, struct ctxd_error *err);

static int check_type(json_t *schema, json_t *v, const struct where *where, struct ctxd_error *err)
{
	json_t *type = json_object_get(schema, "type");
	if (json_is_string(type)) {
		if (!type_matches(json_string_value(type), v)) {
			where_error(err, where, "expected %s, got %s", json_string_value(type),
				    type_name(v));
			return -1;
		}
	} else if (json_is_array(type)) {
		size_t i;
		json_t *t;
		json_array_foreach(type, i, t)
		{
			if (json_is_string(t) && type_matches(json_string_value(t), v)) {
				return 0;
			}
		}
		where_error(err, where, "unexpected type %s", type_name(v));
		return -1;
	}
	return 0;
}

static int check_object(json_t *schema, json_t *v, const struct where *where,
			struct ctxd_error *err)
{
	json_t *props = json_object_get(schema, "properties");
	json_t *req = json_object_get(schema, "required");
	size_t i;
	json_t *r;
	json_array_foreach(req, i, r)
	{
		if (json_is_string(r) && !json_object_get(v, json_string_value(r))) {
			ctxd_error_set(err, CTXD_ERR_TOOL, "missing required argument '%s'",
				       json_string_value(r));
			return -1;
		}
	}
	bool closed = json_is_false(json_object_get(schema, "additionalProperties"));
	const char *key;
	json_t *val;
	json_object_foreach(v, key, val)
	{
		json_t *ps = json_object_get(props, key);
		struct where sub = {.name = key, .prop = true};
		if (!ps) {
			if (closed) {
				ctxd_error_set(err, CTXD_ERR_TOOL, "unknown argument '%s'", key);
				return -1;
			}
			continue;
		}
		if (check(ps, val, &sub, err) < 0) {
			return -1;
		}
	}
	(void)where;
	return 0;
}

static int check_bounds(json_t *schema, json_t *v, const struct where *where,
			struct ctxd_error *err)
{
	json_t *k;
	if (json_is_number(v)) {
		double d = json_number_value(v);
		if ((k = json_object_get(schema, "minimum")) && d < json_number_value(k)) {
			where_error(err, where, "must be at least %g, got %g", json_number_value(k),
				    d);
			return -1;
		}
		if ((k = json_object_get(schema, "maximum")) && d > json_number_value(k)) {
			where_error(err, where, "must be at most %g, got %g", json_number_value(k),
				    d);
			return -1;
		}
	}
	/* counting the characters only when a bound needs them */
	if (json_is_string(v) &&
	    (json_object_get(schema, "minLength") || json_object_get(schema, "maxLength"))) {
		size_t len = utf8_len(json_string_value(v), json_string_length(v));
		if ((k = json_object_get(schema, "minLength")) &&
		    (json_int_t)len < json_integer_value(k)) {
			where_error(err, where,
				    "must be at least %" JSON_INTEGER_FORMAT " characters long",
				    json_integer_value(k));
			return -1;
		}
		if ((k = json_object_get(schema, "maxLength")) &&
		    (json_int_t)len > json_integer_value(k)) {
			where_error(err, where,
				    "must be at most %" JSON_INTEGER_FORMAT " characters long",
				    json_integer_value(k));
			return -1;
		}
	}
	if (json_is_array(v)) {
		json_int_t n = (json_int_t)json_array_size(v);
		if ((k = json_object_get(schema, "minItems")) && n < json_integer_value(k)) {
			where_error(err, where, "needs at least %" JSON_INTEGER_FORMAT " items",
				    json_integer_value(k));
			return -1;
		}
		if ((k = json_object_get(schema, "maxItems")) && n > json_integer_value(k)) {
			where_error(err, where, "takes at most %" JSON_INTEGER_FORMAT " items",
				    json_integer_value(k));
			return -1;
		}
	}
	return 0;
}

static int check(json_t *schema, json_t *v, const struct where *where, struct ctxd_error *err)
{
	if (!json_is_object(schema)) {
		return 0;
	}
	if (check_type(schema, v, where, err) < 0 || check_bounds(schema, v, where, err) < 0) {
		return -1;
	}
	json_t *en = json_object_get(schema, "enum");
	if (json_is_array(en)) {
		size_t i;
		json_t *e;
		bool found = false;
		json_array_foreach(en, i, e)
		{
			if (json_equal(e, v)) {
				found = true;
				break;
			}
		}
		if (!found) {
			char *allowed = json_dumps(en, JSON_COMPACT);
			where_error(err, where, "must be one of %s",
				    allowed ? allowed : "the listed values");
			free(allowed);
			return -1;
		}
	}
	if (json_is_object(v)) {
		return check_object(schema, v, where, err);
	}
	if (json_is_array(v)) {
		json_t *items = json_object_get(schema, "items");
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			struct where sub = {.up = where, .index = i};
			if (check(items, e, &sub, err) < 0) {
				return -1;
			}
		}
	}
	return 0;
}

int ctxd_schema_validate(json_t *schema, json_t *instance, const char *where,
			 struct ctxd_error *err)
{
	struct where root = {.name = where};
	return check(schema, instance, &root, err);
}

int ctxd_registry_validate(const struct ctxd_registry *reg, const struct ctxd_tool *tool,
			   json_t *args, struct ctxd_error *err)
{
	const struct reg_entry *e = NULL;
	for (size_t i = 0; i < reg->n && !e; i++) { /* pointer compare: no strcmp per call */
		e = reg->v[i].tool == tool ? &reg->v[i] : NULL;
	}
	if (!e) {
		ctxd_error_set(err, CTXD_ERR_TOOL, "unknown tool '%s'", tool->name);
		return -1;
	}
	json_t *empty = NULL;
	if (!args) {
		args = empty = json_object();
	}
	struct where root = {.name = "arguments"};
	int rc = check(e->input, args, &root, err);
	json_decref(empty);
	return rc;
}

json_t *ctxd_tool_error(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text", "text", msg, "isError",
			 1);
}

/* refcount (size_t)-1: jansson leaves it alone, as it does its own static values */
json_t ctxd_tool_written_marker = {JSON_NULL, (size_t)-1};
json_t ctxd_tool_would_block_marker = {JSON_NULL, (size_t)-1};

json_t *ctxd_tool_written(const struct ctxd_tool_ctx *ctx, struct ctxd_strbuf *b, size_t from)
{
	if (b == ctx->out) {
		if (b->oom) {
			b->len = from;
			return NULL;
		}
		return CTXD_TOOL_WRITTEN;
	}
	json_t *r = NULL;
	if (!b->oom && b->p) {
		json_error_t je;
		r = json_loadb(b->p + from, b->len - from, JSON_ALLOW_NUL, &je);
		if (!r) {
			ctxd_err("a tool wrote a result that does not parse: %s at %d", je.text,
				 je.position);
		}
	}
	free(b->p);
	*b = (struct ctxd_strbuf){0};
	return r;
}

json_t *ctxd_tool_result(const char *text, json_t *structured)
{
	json_t *r = json_pack("{s:[{s:s, s:s}]}", "content", "type", "text", "text", text);
	if (!r) {
		json_decref(structured);
		return NULL;
	}
	if (structured) {
		json_object_set_new(r, "structuredContent", structured);
	}
	return r;
}

/* The coarse clock (a few ms resolution) costs a seventh of CLOCK_MONOTONIC here (8 vs
 * 57 ns on the 2-core VM) and deadlines are checked per walked entry. */
int64_t ctxd_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool ctxd_deadline_passed(int64_t deadline_ms)
{
	return deadline_ms != 0 && ctxd_clock_ms() >= deadline_ms;
}
