/* rpc.c - JSON-RPC 2.0 envelopes (https://www.jsonrpc.org/specification). */
#include "ctxd/rpc.h"

#include <errno.h>

#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *ctxd_rpc_parse(const char *buf, size_t len, struct ctxd_error *err)
{
	json_error_t je;
	/* No JSON_DECODE_ANY: a frame must be an object or an array. Duplicate keys are
	 * refused so a message cannot carry two different ids; NUL bytes inside strings
	 * are allowed here so that the tools can refuse them with a clear message. */
	json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (!v) {
		ctxd_error_set(err, CTXD_RPC_PARSE_ERROR, "Parse error: %s at line %d column %d",
			       je.text, je.line, je.column);
	}
	return v;
}

static bool valid_id(const json_t *id)
{
	return json_is_string(id) || json_is_integer(id);
}

enum ctxd_rpc_kind ctxd_rpc_classify(json_t *msg, struct ctxd_rpc_msg *out,
				     struct ctxd_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(msg)) {
		ctxd_error_set(err, CTXD_RPC_INVALID_REQUEST,
			       "Invalid Request: a message must be a JSON object");
		return CTXD_RPC_INVALID;
	}
	json_t *id = json_object_get(msg, "id");
	if (id && valid_id(id)) {
		out->id = id;
	}
	json_t *ver = json_object_get(msg, "jsonrpc");
	if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0) {
		ctxd_error_set(err, CTXD_RPC_INVALID_REQUEST,
			       "Invalid Request: \"jsonrpc\" must be \"2.0\"");
		return CTXD_RPC_INVALID;
	}
	json_t *method = json_object_get(msg, "method");
	if (method) {
		if (!json_is_string(method)) {
			ctxd_error_set(err, CTXD_RPC_INVALID_REQUEST,
				       "Invalid Request: \"method\" must be a string");
			return CTXD_RPC_INVALID;
		}
		out->method = json_string_value(method);
		json_t *params = json_object_get(msg, "params");
		if (params && !json_is_object(params) && !json_is_array(params)) {
			ctxd_error_set(err, CTXD_RPC_INVALID_REQUEST,
				       "Invalid Request: \"params\" must be an object or an array");
			return CTXD_RPC_INVALID;
		}
		out->params = params;
		if (!id) {
			out->kind = CTXD_RPC_NOTIFICATION;
			return out->kind;
		}
		if (!valid_id(id)) {
			ctxd_error_set(err, CTXD_RPC_INVALID_REQUEST,
				       "Invalid Request: \"id\" must be a string or an integer");
			return CTXD_RPC_INVALID;
		}
		out->kind = CTXD_RPC_REQUEST;
		return out->kind;
	}
	json_t *result = json_object_get(msg, "result");
	json_t *error = json_object_get(msg, "error");
	if (!id || (!result && !error)) {
		ctxd_error_set(err, CTXD_RPC_INVALID_REQUEST,
			       "Invalid Request: missing \"method\"");
		return CTXD_RPC_INVALID;
	}
	if ((result && error) || (!valid_id(id) && !json_is_null(id))) {
		ctxd_error_set(err, CTXD_RPC_INVALID_REQUEST,
			       "Invalid Request: malformed response");
		return CTXD_RPC_INVALID;
	}
	out->result = result;
	out->error = error;
	out->kind = CTXD_RPC_RESPONSE;
	return out->kind;
}

json_t *ctxd_rpc_result_new(json_t *id, json_t *result)
{
	if (!result) {
		return NULL;
	}
	return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(),
			 "result", result);
}

json_t *ctxd_rpc_error_new(json_t *id, int code, const char *message, json_t *data)
{
	json_t *e = json_pack("{s:i, s:s}", "code", code, "message",
			      message ? message : ctxd_rpc_code_message(code));
	if (!e) {
		/* message was not valid UTF-8: fall back to the standard text */
		e = json_pack("{s:i, s:s}", "code", code, "message", ctxd_rpc_code_message(code));
	}
	if (e && data) {
		json_object_set_new(e, "data", data);
	} else {
		json_decref(data);
	}
	return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(),
			 "error", e);
}

json_t *ctxd_rpc_notification_new(const char *method, json_t *params)
{
	json_t *n = json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method", method);
	if (n && params) {
		json_object_set_new(n, "params", params);
	} else {
		json_decref(params);
	}
	return n;
}

json_t *ctxd_rpc_request_new(json_t *id, const char *method, json_t *params)
{
	json_t *r = json_pack("{s:s, s:O, s:s}", "jsonrpc", "2.0", "id", id, "method", method);
	if (r && params) {
		json_object_set_new(r, "params", params);
	} else {
		json_decref(params);
	}
	return r;
}

/* Serialisation. jansson's own dumper validates and copies strings one code point at a
 * time, which made it most of the cost of answering a file read (measured with perf:
 * 64% of server CPU for 4 KiB reads). jansson strings are valid UTF-8 by construction,
 * so this writer only has to escape '"', '\\' and control characters, and finds them
 * eight bytes at a time. Output is compact JSON, identical to JSON_COMPACT except that
 * reals are written with %.17g like jansson. */
struct dumpbuf {
	char *p;
	size_t len, cap;
	size_t max; /* most bytes of content, 0 = no limit */
};

static int reserve(struct dumpbuf *d, size_t extra)
{
	if (d->max && (extra > d->max || d->len > d->max - extra)) {
		errno = E2BIG; /* stop before building a frame larger than the limit */
		return -1;
	}
	if (d->p && d->len + extra + 2 <= d->cap) {
		return 0;
	}
	size_t cap = d->cap ? d->cap : 512;
	while (cap < d->len + extra + 2) {
		cap *= 2;
	}
	if (d->max && cap > d->max + 2) {
		cap = d->max + 2;
	}
	char *p = realloc(d->p, cap);
	if (!p) {
		return -1;
	}
	d->p = p;
	d->cap = cap;
	return 0;
}

static int put(struct dumpbuf *d, const char *s, size_t n)
{
	if (reserve(d, n) < 0) {
		return -1;
	}
	memcpy(d->p + d->len, s, n);
	d->len += n;
	return 0;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

#if !defined(__SSE2__)
/* True when one of the eight bytes needs escaping: < 0x20, '"' or '\\'. */
static inline bool word_needs_escape(uint64_t w)
{
	uint64_t ctl = (w - ONES * 0x20) & ~w;
	uint64_t q = w ^ (ONES * '"');
	uint64_t bs = w ^ (ONES * '\\');
	return ((ctl | ((q - ONES) & ~q) | ((bs - ONES) & ~bs)) & HIGHS) != 0;
}
#endif

/* Bytes the escaped form of a byte adds beyond itself (0 when it is copied as is). */
static const unsigned char escape_extra_tab[256] = {
	/* control characters: \u00XX, except \b \t \n \f \r */
	5, 5, 5, 5, 5, 5, 5, 5, 1, 1, 1, 5, 1, 1, 5, 5,
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
	['"'] = 1, ['\\'] = 1,
};
#define escape_extra(c) ((size_t)escape_extra_tab[(unsigned char)(c)])

/* Index of the first byte at or after `i` that needs escaping, or `n`. SSE2 (x86-64
 * baseline) looks at 16 bytes per step; elsewhere eight bytes per step in a register. */
static inline size_t next_escape(const char *s, size_t i, size_t n)
{
#if defined(__SSE2__)
	const __m128i ctl = _mm_set1_epi8(0x1F), quote = _mm_set1_epi8('"'),
		      bslash = _mm_set1_epi8('\\');
	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i hit = _mm_or_si128(_mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl),
					   _mm_or_si128(_mm_cmpeq_epi8(x, quote),
							_mm_cmpeq_epi8(x, bslash)));
		unsigned mask = (unsigned)_mm_movemask_epi8(hit);
		if (mask) {
			return i + (size_t)__builtin_ctz(mask);
		}
	}
#else
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if (word_needs_escape(w)) {
			break;
		}
	}
#endif
	while (i < n && !escape_extra(s[i])) {
		i++;
	}
	return i;
}

/* Two passes: count what escaping adds, reserve once, then copy clean runs with memcpy
 * and write the escapes in place. */
static int put_escaped(struct dumpbuf *d, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t extra = 0;
	for (size_t i = next_escape(s, 0, n); i < n; i = next_escape(s, i + 1, n)) {
		extra += escape_extra(s[i]);
	}
	if (reserve(d, n + extra + 2) < 0) {
		return -1;
	}
	char *o = d->p + d->len;
	*o++ = '"';
	size_t start = 0;
	for (size_t i = extra ? next_escape(s, 0, n) : n; i < n; i = next_escape(s, i + 1, n)) {
		unsigned char c = (unsigned char)s[i];
		memcpy(o, s + start, i - start);
		o += i - start;
		start = i + 1;
		*o++ = '\\';
		switch (c) {
		case '"':
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		case '\b':
			*o++ = 'b';
			break;
		case '\f':
			*o++ = 'f';
			break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	memcpy(o, s + start, n - start);
	o += n - start;
	*o++ = '"';
	d->len = (size_t)(o - d->p);
	return 0;
}

static int dump_value(struct dumpbuf *d, const json_t *v, int depth)
{
	char num[64];
	int n;
	if (depth > 2048) {
		return -1; /* jansson values we build are never this deep */
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		if (put(d, "{", 1) < 0) {
			return -1;
		}
		bool first = true;
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)v, key, val) {
			if ((!first && put(d, ",", 1) < 0) || put_escaped(d, key, strlen(key)) < 0 ||
			    put(d, ":", 1) < 0 || dump_value(d, val, depth + 1) < 0) {
				return -1;
			}
			first = false;
		}
		return put(d, "}", 1);
	}
	case JSON_ARRAY: {
		if (put(d, "[", 1) < 0) {
			return -1;
		}
		size_t i;
		json_t *val;
		json_array_foreach(v, i, val) {
			if ((i > 0 && put(d, ",", 1) < 0) || dump_value(d, val, depth + 1) < 0) {
				return -1;
			}
		}
		return put(d, "]", 1);
	}
	case JSON_STRING:
		return put_escaped(d, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return put(d, num, (size_t)n);
	case JSON_REAL: {
		double x = json_real_value(v);
		if (x != x || x - x != 0) {
			return -1; /* NaN and infinities have no JSON form */
		}
		n = snprintf(num, sizeof(num), "%.17g", x);
		char *e = strchr(num, 'e');
		if (!e && !strchr(num, '.')) {
			num[n++] = '.';
			num[n++] = '0';
		} else if (e) {
			/* like jansson: 1e300, 1e-07 -> 1e-7: no '+', no leading zeros */
			char *src = e + 1, *dst = e + 1;
			if (*src == '+') {
				src++;
			} else if (*src == '-') {
				*dst++ = *src++;
			}
			while (*src == '0' && src[1]) {
				src++;
			}
			memmove(dst, src, strlen(src) + 1);
			n = (int)strlen(num);
		}
		return put(d, num, (size_t)n);
	}
	case JSON_TRUE:
		return put(d, "true", 4);
	case JSON_FALSE:
		return put(d, "false", 5);
	case JSON_NULL:
		return put(d, "null", 4);
	}
	return -1;
}

char *ctxd_rpc_dump_max(const json_t *msg, size_t max, size_t *len)
{
	struct dumpbuf d = { .max = max };
	if (!msg || dump_value(&d, msg, 0) < 0) {
		int e = errno;
		free(d.p);
		errno = e == E2BIG ? E2BIG : ENOMEM;
		return NULL;
	}
	d.max = 0; /* the newline is not part of the limit */
	if (reserve(&d, 2) < 0) {
		free(d.p);
		errno = ENOMEM;
		return NULL;
	}
	d.p[d.len++] = '\n';
	d.p[d.len] = '\0';
	*len = d.len;
	return d.p;
}

char *ctxd_rpc_dump(const json_t *msg, size_t *len)
{
	return ctxd_rpc_dump_max(msg, 0, len);
}

char *ctxd_rpc_dump_new(json_t *msg, size_t *len)
{
	if (!msg) {
		return NULL;
	}
	char *s = ctxd_rpc_dump(msg, len);
	json_decref(msg);
	return s;
}

const char *ctxd_rpc_code_message(int code)
{
	switch (code) {
	case CTXD_RPC_PARSE_ERROR:
		return "Parse error";
	case CTXD_RPC_INVALID_REQUEST:
		return "Invalid Request";
	case CTXD_RPC_METHOD_NOT_FOUND:
		return "Method not found";
	case CTXD_RPC_INVALID_PARAMS:
		return "Invalid params";
	case CTXD_RPC_INTERNAL_ERROR:
		return "Internal error";
	case CTXD_RPC_RESOURCE_NOT_FOUND:
		return "Resource not found";
	case CTXD_RPC_MISSING_CAPABILITY:
		return "Missing required client capability";
	case CTXD_RPC_UNSUPPORTED_VERSION:
		return "Unsupported protocol version";
	default:
		return "Server error";
	}
}
