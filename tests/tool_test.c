/* tool_test.c - the tool families' unit test helpers (tool_test.h). */
#include "tool_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

const struct ctxd_tool *tt_tool(const struct ctxd_tool *tools, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(tools[i].name, name) == 0) {
			return &tools[i];
		}
	}
	fprintf(stderr, "no tool %s\n", name);
	abort();
}

json_t *tt_args(size_t flags, const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	int len = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	ASSERT(len >= 0);
	char *buf = malloc((size_t)len + 1);
	ASSERT(buf);
	vsnprintf(buf, (size_t)len + 1, fmt, ap);
	json_error_t je;
	json_t *args = json_loadb(buf, (size_t)len, flags, &je);
	if (!args) {
		fprintf(stderr, "bad test json %s: %s\n", buf, je.text);
		abort();
	}
	free(buf);
	return args;
}

json_t *tt_run(const struct ctxd_tool *t, const struct ctxd_tool_ctx *ctx, json_t *args)
{
	json_t *res = t->fn(ctx, args);
	if (!res || !json_is_array(json_object_get(res, "content"))) {
		fprintf(stderr, "%s: no CallToolResult\n", t->name);
		abort();
	}
	json_t *s = json_object_get(res, "structuredContent");
	if (s && t->output_schema) {
		json_error_t je;
		json_t *schema = json_loads(t->output_schema, 0, &je);
		ASSERT(schema);
		struct ctxd_error err;
		if (ctxd_schema_validate(schema, s, "structuredContent", &err) < 0) {
			fprintf(stderr, "%s: %s\n", t->name, err.msg);
			abort();
		}
		json_decref(schema);
	}
	return res;
}

bool tt_is_error(json_t *res)
{
	return json_is_true(json_object_get(res, "isError"));
}

const char *tt_text(json_t *res)
{
	return json_string_value(
	    json_object_get(json_array_get(json_object_get(res, "content"), 0), "text"));
}
