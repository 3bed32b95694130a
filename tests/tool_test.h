/* tool_test.h - what the unit tests of the tool families share (tests/tool_test.c, linked
 * with the tools layer): finding a tool in a family's table, running it with its result
 * checked (a CallToolResult with a content array whose structuredContent, when present,
 * satisfies the declared outputSchema), and reading a result. Every helper aborts with a
 * message naming the tool on failure. Single-threaded. */
#ifndef CTXD_TOOL_TEST_H
#define CTXD_TOOL_TEST_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctxd/registry.h"

/* The tool `name` of the table `tools` (`n` entries). Borrowed; aborts when there is none. */
const struct ctxd_tool *tt_tool(const struct ctxd_tool *tools, size_t n, const char *name);

/* The JSON text made from the printf-style `fmt` and `ap`, parsed with json_loads `flags`
 * (e.g. JSON_ALLOW_NUL). New reference; aborts on text that is not JSON. */
json_t *tt_args(size_t flags, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Run `t` with `args` (borrowed) in `ctx` and check the result as above. New reference. */
json_t *tt_run(const struct ctxd_tool *t, const struct ctxd_tool_ctx *ctx, json_t *args);

/* True when the result is an isError result. */
bool tt_is_error(json_t *res);

/* The text of the result's first content block (borrowed), or NULL. */
const char *tt_text(json_t *res);

#endif
