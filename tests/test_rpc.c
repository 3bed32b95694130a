/* Unit tests for rpc.c: parsing, classification, envelopes. */
#include "ctxd/rpc.h"
#include "test.h"

static enum ctxd_rpc_kind kind_of(const char *text, struct ctxd_rpc_msg *m, struct ctxd_error *e,
				  json_t **keep)
{
	json_t *v = ctxd_rpc_parse(text, strlen(text), e);
	ASSERT(v);
	*keep = v;
	return ctxd_rpc_classify(v, m, e);
}

static void test_rpc_parse_error(void)
{
	struct ctxd_error e;
	ASSERT(!ctxd_rpc_parse("{\"a\":", 5, &e));
	ASSERT_EQ(e.code, CTXD_RPC_PARSE_ERROR);
	ASSERT_CONTAINS(e.msg, "Parse error");
	ASSERT(!ctxd_rpc_parse("42", 2, &e)); /* a bare scalar is not a frame */
	ASSERT(!ctxd_rpc_parse("{\"id\":1,\"id\":2}", 15, &e)); /* duplicate keys */
}

static void test_rpc_classify(void)
{
	struct ctxd_rpc_msg m;
	struct ctxd_error e;
	json_t *v;
	ASSERT_EQ(kind_of("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"ping\"}", &m, &e, &v),
		  CTXD_RPC_REQUEST);
	ASSERT(json_is_integer(m.id) && json_integer_value(m.id) == 0);
	ASSERT_STR_EQ(m.method, "ping");
	json_decref(v);
	ASSERT_EQ(kind_of("{\"jsonrpc\":\"2.0\",\"id\":\"7\",\"method\":\"x\",\"params\":{}}", &m,
			  &e, &v),
		  CTXD_RPC_REQUEST);
	ASSERT(json_is_string(m.id));
	json_decref(v);
	ASSERT_EQ(kind_of("{\"jsonrpc\":\"2.0\",\"method\":\"n\"}", &m, &e, &v),
		  CTXD_RPC_NOTIFICATION);
	json_decref(v);
	ASSERT_EQ(kind_of("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}", &m, &e, &v),
		  CTXD_RPC_RESPONSE);
	json_decref(v);
	/* invalid: wrong version keeps the id for the error */
	ASSERT_EQ(kind_of("{\"jsonrpc\":\"1.0\",\"id\":5,\"method\":\"x\"}", &m, &e, &v),
		  CTXD_RPC_INVALID);
	ASSERT_EQ(e.code, CTXD_RPC_INVALID_REQUEST);
	ASSERT_EQ(json_integer_value(m.id), 5);
	json_decref(v);
	const char *bad[] = {
		"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"x\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"x\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"x\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":3}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":7}",
		"{\"jsonrpc\":\"2.0\",\"id\":1}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{}}",
		"{\"id\":1,\"method\":\"x\"}",
		"[]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(kind_of(bad[i], &m, &e, &v), CTXD_RPC_INVALID);
		ASSERT_EQ(e.code, CTXD_RPC_INVALID_REQUEST);
		json_decref(v);
	}
}

static void test_rpc_envelopes(void)
{
	json_t *id = json_string("a\nb");
	size_t len;
	char *s = ctxd_rpc_dump_new(ctxd_rpc_result_new(id, json_object()), &len);
	ASSERT_STR_EQ(s, "{\"jsonrpc\":\"2.0\",\"id\":\"a\\nb\",\"result\":{}}\n");
	ASSERT_EQ(len, strlen(s));
	free(s);
	s = ctxd_rpc_dump_new(ctxd_rpc_error_new(NULL, CTXD_RPC_PARSE_ERROR, NULL, NULL), &len);
	ASSERT_STR_EQ(s, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,"
			 "\"message\":\"Parse error\"}}\n");
	free(s);
	/* invalid UTF-8 in a message falls back to the standard text */
	s = ctxd_rpc_dump_new(ctxd_rpc_error_new(id, -32602, "bad \xff", json_pack("{s:i}", "x", 1)),
			      &len);
	ASSERT_CONTAINS(s, "\"message\":\"Invalid params\"");
	ASSERT_CONTAINS(s, "\"data\":{\"x\":1}");
	free(s);
	s = ctxd_rpc_dump_new(ctxd_rpc_notification_new("n", NULL), &len);
	ASSERT_STR_EQ(s, "{\"jsonrpc\":\"2.0\",\"method\":\"n\"}\n");
	free(s);
	json_t *nid = json_integer(9);
	s = ctxd_rpc_dump_new(ctxd_rpc_request_new(nid, "roots/list", json_object()), &len);
	ASSERT_STR_EQ(s, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"roots/list\",\"params\":{}}\n");
	free(s);
	json_decref(nid);
	json_decref(id);
	ASSERT_STR_EQ(ctxd_rpc_code_message(-32601), "Method not found");
}

int main(void)
{
	RUN(test_rpc_parse_error);
	RUN(test_rpc_classify);
	RUN(test_rpc_envelopes);
	return 0;
}
