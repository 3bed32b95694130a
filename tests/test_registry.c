/* Unit tests for tools/registry.c: registration, tools/list entries, argument validation. */
#include "ctxd/registry.h"
#include "test.h"

static json_t *echo(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	(void)ctx;
	return ctxd_tool_result("ok", json_incref(args));
}

static const struct ctxd_tool tools[] = {
    {
	.name = "echo",
	.title = "Echo",
	.description = "Echo the arguments",
	.input_schema = "{\"type\":\"object\",\"properties\":{"
			"\"path\":{\"type\":\"string\",\"minLength\":1},"
			"\"n\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10},"
			"\"mode\":{\"type\":\"string\",\"enum\":[\"a\",\"b\"]},"
			"\"list\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
			"\"maxItems\":2},"
			"\"flag\":{\"type\":\"boolean\"}},"
			"\"required\":[\"path\"],\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"description\":\"prose\",\"properties\":{"
			 "\"description\":{\"type\":\"string\",\"description\":\"prose\"},"
			 "\"list\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
			 "\"description\":\"prose\",\"properties\":{\"a\":{\"type\":"
			 "\"integer\",\"description\":\"prose\"}}}},"
			 "\"required\":{\"type\":\"boolean\"}},"
			 "\"required\":[\"description\"]}",
	.flags = CTXD_TOOL_READ_ONLY | CTXD_TOOL_IDEMPOTENT,
	.fn = echo,
    },
    {
	.name = "writer",
	.title = "Writer",
	.description = "Writes",
	.input_schema = "{\"type\":\"object\",\"additionalProperties\":false}",
	.flags = CTXD_TOOL_DESTRUCTIVE,
	.writes = true,
	.fn = echo,
    },
};

static void expect_invalid(struct ctxd_registry *reg, const char *args, const char *msg)
{
	struct ctxd_error e;
	json_t *a = json_loads(args, 0, NULL);
	ASSERT(a);
	ASSERT_EQ(ctxd_registry_validate(reg, ctxd_registry_find(reg, "echo"), a, &e), -1);
	ASSERT_CONTAINS(e.msg, msg);
	json_decref(a);
}

static void test_registry_validate(void)
{
	struct ctxd_registry *reg = ctxd_registry_create();
	struct ctxd_error e;
	ASSERT_EQ(ctxd_registry_add(reg, tools, 2, NULL, NULL, &e), 0);
	ASSERT_EQ(ctxd_registry_count(reg), 2);
	const struct ctxd_tool *t = ctxd_registry_find(reg, "echo");
	ASSERT(t);
	json_t *ok =
	    json_pack("{s:s, s:i, s:[s], s:b}", "path", "x", "n", 3, "list", "a", "flag", 1);
	ASSERT_EQ(ctxd_registry_validate(reg, t, ok, &e), 0);
	json_decref(ok);
	ok = json_pack("{s:s, s:f}", "path", "x", "n", 3.0); /* 3.0 is an integer in 2020-12 */
	ASSERT_EQ(ctxd_registry_validate(reg, t, ok, &e), 0);
	json_decref(ok);
	ASSERT_EQ(ctxd_registry_validate(reg, t, NULL, &e), -1);
	ASSERT_CONTAINS(e.msg, "missing required argument 'path'");
	expect_invalid(reg, "{\"path\":1}", "argument 'path': expected string, got integer");
	expect_invalid(reg, "{\"path\":\"\"}", "argument 'path': must be at least 1 characters");
	expect_invalid(reg, "{\"path\":\"x\",\"n\":0}", "argument 'n': must be at least 1");
	expect_invalid(reg, "{\"path\":\"x\",\"n\":11}", "argument 'n': must be at most 10");
	expect_invalid(reg, "{\"path\":\"x\",\"n\":2.5}", "argument 'n': expected integer");
	expect_invalid(reg, "{\"path\":\"x\",\"mode\":\"c\"}", "must be one of [\"a\",\"b\"]");
	expect_invalid(reg, "{\"path\":\"x\",\"list\":[1]}", "argument 'list'[0]: expected string");
	expect_invalid(reg, "{\"path\":\"x\",\"list\":[\"a\",\"b\",\"c\"]}", "at most 2 items");
	expect_invalid(reg, "{\"path\":\"x\",\"bogus\":1}", "unknown argument 'bogus'");
	/* where the value is, written only for the message: items of items */
	json_t *schema = json_loads("{\"type\":\"array\",\"items\":{\"type\":\"array\","
				    "\"items\":{\"type\":\"string\"}}}",
				    0, NULL);
	json_t *grid = json_loads("[[\"a\"],[\"b\",1]]", 0, NULL);
	ASSERT(schema && grid);
	ASSERT_EQ(ctxd_schema_validate(schema, grid, "grid", &e), -1);
	ASSERT_STR_EQ(e.msg, "grid[1][1]: expected string, got integer");
	json_decref(grid);
	json_decref(schema);
	ctxd_registry_destroy(reg);
}

static void test_registry_entries_and_filters(void)
{
	struct ctxd_registry *reg = ctxd_registry_create();
	struct ctxd_error e;
	struct ctxd_config cfg;
	ctxd_config_init(&cfg);
	cfg.read_only = true; /* hides writing tools */
	ASSERT_EQ(ctxd_registry_add(reg, tools, 2, &cfg, NULL, &e), 0);
	ASSERT_EQ(ctxd_registry_count(reg), 1);
	ASSERT(!ctxd_registry_find(reg, "writer"));
	json_t *entry = ctxd_registry_entry(reg, 0);
	json_decref(entry); /* the registry keeps its own reference */
	ASSERT_STR_EQ(json_string_value(json_object_get(entry, "name")), "echo");
	json_t *ann = json_object_get(entry, "annotations");
	/* only the hints that differ from the MCP defaults, plus readOnlyHint; no second title */
	ASSERT(json_is_true(json_object_get(ann, "readOnlyHint")));
	ASSERT_EQ(json_object_size(ann), 1);
	/* the outputSchema keeps its structure without prose or "required"; properties named
	 * "description" and "required" stay */
	char *out =
	    json_dumps(json_object_get(entry, "outputSchema"), JSON_COMPACT | JSON_SORT_KEYS);
	ASSERT_STR_EQ(out, "{\"properties\":{\"description\":{\"type\":\"string\"},\"list\":{"
			   "\"items\":{\"properties\":{\"a\":{\"type\":\"integer\"}},\"type\":"
			   "\"object\"},\"type\":\"array\"},\"required\":{\"type\":\"boolean\"}},"
			   "\"type\":\"object\"}");
	free(out);
	ASSERT(json_is_object(json_object_get(entry, "inputSchema")));
	/* a duplicate name is refused */
	ASSERT_EQ(ctxd_registry_add(reg, tools, 1, NULL, NULL, &e), -1);
	ASSERT_CONTAINS(e.msg, "registered twice");
	ctxd_registry_destroy(reg);
	/* a destructive, non-idempotent writer: readOnlyHint false, the defaults left out */
	reg = ctxd_registry_create();
	ASSERT_EQ(ctxd_registry_add(reg, &tools[1], 1, NULL, NULL, &e), 0);
	entry = ctxd_registry_entry(reg, 0);
	json_decref(entry);
	ann = json_object_get(entry, "annotations");
	ASSERT(json_is_false(json_object_get(ann, "readOnlyHint")));
	ASSERT_EQ(json_object_size(ann), 1);
	ASSERT(!json_object_get(entry, "outputSchema"));
	ctxd_registry_destroy(reg);
	ctxd_config_finish(&cfg);
}

/* Drops "secret" from the schema unless the config is read-only (a stand-in for a config
 * switch that makes a property meaningless). */
static void hide_secret(json_t *input, const struct ctxd_config *cfg)
{
	if (cfg && !cfg->read_only) {
		json_object_del(json_object_get(input, "properties"), "secret");
	}
}

static const struct ctxd_tool gated[] = {
    {
	.name = "gated",
	.title = "Gated",
	.description = "Has a property the config hides, and a status answer",
	.input_schema = "{\"type\":\"object\",\"properties\":{\"secret\":{\"type\":\"string\"},"
			"\"path\":{\"type\":\"string\"}},\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"}}}",
	.output_unlisted = true,
	.flags = CTXD_TOOL_READ_ONLY,
	.input_for_config = hide_secret,
	.fn = echo,
    },
};

/* input_for_config trims the schema both listed and validated against; output_unlisted
 * lists no outputSchema. */
static void test_registry_config_hooks(void)
{
	struct ctxd_config cfg;
	ctxd_config_init(&cfg);
	struct ctxd_error e;
	for (int ro = 0; ro < 2; ro++) {
		cfg.read_only = ro;
		struct ctxd_registry *reg = ctxd_registry_create();
		ASSERT_EQ(ctxd_registry_add(reg, gated, 1, &cfg, NULL, &e), 0);
		json_t *entry = ctxd_registry_entry(reg, 0);
		json_decref(entry);
		json_t *props =
		    json_object_get(json_object_get(entry, "inputSchema"), "properties");
		ASSERT(json_object_get(props, "path"));
		ASSERT_EQ(json_object_get(props, "secret") != NULL, ro == 1);
		ASSERT(!json_object_get(entry, "outputSchema"));
		json_t *a = json_pack("{s:s}", "secret", "x");
		int rc = ctxd_registry_validate(reg, &gated[0], a, &e);
		json_decref(a);
		if (ro) {
			ASSERT_EQ(rc, 0);
		} else {
			ASSERT_EQ(rc, -1);
			ASSERT_CONTAINS(e.msg, "unknown argument 'secret'");
		}
		ctxd_registry_destroy(reg);
	}
	ctxd_config_finish(&cfg);
}

static void test_tool_result_helpers(void)
{
	json_t *r = ctxd_tool_error("bad %s", "path");
	ASSERT(json_is_true(json_object_get(r, "isError")));
	ASSERT_STR_EQ(json_string_value(json_object_get(
			  json_array_get(json_object_get(r, "content"), 0), "text")),
		      "bad path");
	json_decref(r);
	r = ctxd_tool_result("hi", json_pack("{s:i}", "a", 1));
	ASSERT(json_is_object(json_object_get(r, "structuredContent")));
	ASSERT(!json_object_get(r, "isError"));
	json_decref(r);
}

int main(void)
{
	RUN(test_registry_validate);
	RUN(test_registry_entries_and_filters);
	RUN(test_registry_config_hooks);
	RUN(test_tool_result_helpers);
	return 0;
}
