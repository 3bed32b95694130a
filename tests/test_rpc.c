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

/* Our serialiser must produce exactly what jansson's JSON_COMPACT dump produces. */
static void expect_same_as_jansson(json_t *v)
{
	size_t len;
	char *ours = ctxd_rpc_dump(v, &len);
	char *theirs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	ASSERT(ours && theirs);
	ASSERT_EQ(len, strlen(theirs) + 1);
	ASSERT(memcmp(ours, theirs, len - 1) == 0);
	ASSERT(ours[len - 1] == '\n' && ours[len] == '\0');
	free(ours);
	free(theirs);
}

static void test_rpc_dump_matches_jansson(void)
{
	json_t *v = json_pack("{s:[i,I,f,f,f,b,b,n], s:{}, s:[], s:s, s:{s:{s:[{}]}}}", "nums", 0,
			      (json_int_t)-9007199254740993LL, 0.1, 1e300, -2.5e-7, 1, 0, "e", "a",
			      "s", "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80 / \\ \"", "deep",
			      "x", "y");
	expect_same_as_jansson(v);
	json_decref(v);
	/* every control character and escape, at every alignment of the 8-byte scanner */
	unsigned seed = 12345;
	for (int round = 0; round < 2000; round++) {
		char buf[300];
		size_t n = (size_t)(round % 97) + 1;
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			unsigned r = (seed >> 16) % 100;
			buf[i] = r < 10 ? (char)(r % 32) : r < 15 ? '"' : r < 20 ? '\\' : (char)('a' + r % 26);
		}
		json_t *str = json_stringn(buf, n); /* may hold NUL bytes */
		ASSERT(str);
		expect_same_as_jansson(str);
		json_t *obj = json_pack("{s:O}", "k\n\"", str);
		expect_same_as_jansson(obj);
		json_decref(obj);
		json_decref(str);
	}
}

int main(void)
{
	RUN(test_rpc_dump_matches_jansson);
	RUN(test_rpc_parse_error);
	RUN(test_rpc_classify);
	RUN(test_rpc_envelopes);
	return 0;
}
