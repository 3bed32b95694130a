/* Unit tests for rpc.c: parsing, classification, envelopes. */
#include <stdint.h>

#include "ctxd/json_write.h"
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
	ASSERT_EQ(e.kind, CTXD_ERR_PARSE);
	ASSERT_CONTAINS(e.msg, "Parse error");
	ASSERT(!ctxd_rpc_parse("42", 2, &e));                   /* a bare scalar is not a frame */
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
	ASSERT_EQ(e.kind, CTXD_ERR_INVALID_REQUEST);
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
		ASSERT_EQ(e.kind, CTXD_ERR_INVALID_REQUEST);
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
	s = ctxd_rpc_dump_new(
	    ctxd_rpc_error_new(id, -32602, "bad \xff", json_pack("{s:i}", "x", 1)), &len);
	ASSERT_CONTAINS(s, "\"message\":\"Invalid params\"");
	ASSERT_CONTAINS(s, "\"data\":{\"x\":1}");
	free(s);
	s = ctxd_rpc_dump_new(ctxd_rpc_notification_new("n", NULL), &len);
	ASSERT_STR_EQ(s, "{\"jsonrpc\":\"2.0\",\"method\":\"n\"}\n");
	free(s);
	json_t *nid = json_integer(9);
	s = ctxd_rpc_dump_new(ctxd_rpc_request_new(nid, "roots/list", json_object()), &len);
	ASSERT_STR_EQ(s,
		      "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"roots/list\",\"params\":{}}\n");
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
	json_t *v =
	    json_pack("{s:[i,I,f,f,f,b,b,n], s:{}, s:[], s:s, s:{s:{s:[{}]}}}", "nums", 0,
		      (json_int_t)-9007199254740993LL, 0.1, 1e300, -2.5e-7, 1, 0, "e", "a", "s",
		      "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80 / \\ \"", "deep", "x", "y");
	expect_same_as_jansson(v);
	json_decref(v);
	/* integers are written by hand: zero, signs, the ends of the range */
	v = json_pack("[I,I,I,I,I,I]", (json_int_t)0, (json_int_t)-1, (json_int_t)1000000007,
		      (json_int_t)-1000000007, (json_int_t)INT64_MAX, (json_int_t)INT64_MIN);
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
			buf[i] = r < 10   ? (char)(r % 32)
				 : r < 15 ? '"'
				 : r < 20 ? '\\'
					  : (char)('a' + r % 26);
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

/* What ctxd_json_text must write for s[0..n): the obvious byte-by-byte escaping, each byte
 * that does not start a valid UTF-8 sequence as U+FFFD. */
static void reference_text(struct ctxd_strbuf *o, const unsigned char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	ctxd_strbuf_add(o, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c >= 0x80) {
			json_t *one = NULL;
			size_t k = 0;
			for (size_t len = 2; len <= 4 && i + len <= n && !one; len++) {
				one = json_stringn((const char *)s + i, len);
				k = len;
			}
			if (one) {
				ctxd_strbuf_add(o, (const char *)s + i, k);
				json_decref(one);
				i += k;
			} else {
				ctxd_strbuf_add(o, "\xEF\xBF\xBD", 3);
				i++;
			}
			continue;
		}
		char e[7] = {'\\', 0};
		switch (c) {
		case '"':
			e[1] = '"';
			break;
		case '\\':
			e[1] = '\\';
			break;
		case '\n':
			e[1] = 'n';
			break;
		case '\r':
			e[1] = 'r';
			break;
		case '\t':
			e[1] = 't';
			break;
		case '\b':
			e[1] = 'b';
			break;
		case '\f':
			e[1] = 'f';
			break;
		default:
			if (c < 0x20) {
				e[1] = 'u', e[2] = '0', e[3] = '0', e[4] = hex[c >> 4],
				e[5] = hex[c & 15];
			} else {
				e[0] = (char)c;
			}
		}
		ctxd_strbuf_str(o, e);
		i++;
	}
	ctxd_strbuf_add(o, "\"", 1);
}

/* The JSON writer's strings, short (escaped in one pass) and long (measured first), and
 * near a buffer's limit: the same bytes as the reference escaping, and a limit reached
 * only when the escaped text really passes it. */
static void test_json_write_strings(void)
{
	static const char *pieces[] = {
	    "plain ascii text ",
	    "\n",
	    "\"quoted\"",
	    "back\\slash",
	    "\x01\x1f\x7f",
	    "\t\r\b\f",
	    "caf\xc3\xa9 ",
	    "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80",
	    "\xff",
	    "\xc3",
	    "\xe2\x82",
	    "\xed\xa0\x80",
	    "\xc0\xaf",
	    "",
	    "0123456789abcdef0123456789abcdef",
	};
	size_t np = sizeof(pieces) / sizeof(pieces[0]);
	unsigned seed = 1;
	for (int round = 0; round < 400; round++) {
		struct ctxd_strbuf in = {0}, want = {0}, got = {0};
		size_t target = round < 390 ? (size_t)(round * 7) : 70000 + (size_t)round;
		while (in.len < target) {
			seed = seed * 1103515245u + 12345u;
			ctxd_strbuf_str(&in, pieces[(seed >> 16) % np]);
		}
		reference_text(&want, (const unsigned char *)(in.p ? in.p : ""), in.len);
		ctxd_json_text(&got, in.p ? in.p : "", in.len);
		ASSERT(!got.oom && !want.oom);
		ASSERT_EQ(got.len, want.len);
		ASSERT(memcmp(got.p, want.p, got.len) == 0);
		/* a limit the text just fits in, and one a byte short of it */
		struct ctxd_strbuf fit = {.max = want.len}, short_by_one = {.max = want.len - 1};
		ctxd_json_text(&fit, in.p ? in.p : "", in.len);
		ctxd_json_text(&short_by_one, in.p ? in.p : "", in.len);
		ASSERT(!fit.oom && fit.len == want.len);
		ASSERT(short_by_one.oom && short_by_one.too_big);
		free(fit.p);
		free(short_by_one.p);
		free(in.p);
		free(want.p);
		free(got.p);
	}
}

int main(void)
{
	RUN(test_rpc_dump_matches_jansson);
	RUN(test_json_write_strings);
	RUN(test_rpc_parse_error);
	RUN(test_rpc_classify);
	RUN(test_rpc_envelopes);
	return 0;
}
