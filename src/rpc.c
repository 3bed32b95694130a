/* rpc.c - JSON-RPC 2.0 envelopes (https://www.jsonrpc.org/specification). */
#include "ctxd/rpc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctxd/json_write.h"

json_t *ctxd_rpc_parse(const char *buf, size_t len, struct ctxd_error *err)
{
	json_error_t je;
	/* No JSON_DECODE_ANY: a frame must be an object or an array. Duplicate keys are
	 * refused so a message cannot carry two different ids; NUL bytes inside strings
	 * are allowed here so that the tools can refuse them with a clear message. */
	json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (!v) {
		ctxd_error_set(err, CTXD_ERR_PARSE, "Parse error: %s at line %d column %d", je.text,
			       je.line, je.column);
	}
	return v;
}

static bool valid_id(const json_t *id)
{
	return json_is_string(id) || json_is_integer(id);
}

enum ctxd_rpc_kind ctxd_rpc_classify(json_t *msg, struct ctxd_rpc_msg *out, struct ctxd_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(msg)) {
		ctxd_error_set(err, CTXD_ERR_INVALID_REQUEST,
			       "Invalid Request: a message must be a JSON object");
		return CTXD_RPC_INVALID;
	}
	json_t *id = json_object_get(msg, "id");
	if (id && valid_id(id)) {
		out->id = id;
	}
	json_t *ver = json_object_get(msg, "jsonrpc");
	if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0) {
		ctxd_error_set(err, CTXD_ERR_INVALID_REQUEST,
			       "Invalid Request: \"jsonrpc\" must be \"2.0\"");
		return CTXD_RPC_INVALID;
	}
	json_t *method = json_object_get(msg, "method");
	if (method) {
		if (!json_is_string(method)) {
			ctxd_error_set(err, CTXD_ERR_INVALID_REQUEST,
				       "Invalid Request: \"method\" must be a string");
			return CTXD_RPC_INVALID;
		}
		out->method = json_string_value(method);
		json_t *params = json_object_get(msg, "params");
		if (params && !json_is_object(params) && !json_is_array(params)) {
			ctxd_error_set(err, CTXD_ERR_INVALID_REQUEST,
				       "Invalid Request: \"params\" must be an object or an array");
			return CTXD_RPC_INVALID;
		}
		out->params = params;
		if (!id) {
			out->kind = CTXD_RPC_NOTIFICATION;
			return out->kind;
		}
		if (!valid_id(id)) {
			ctxd_error_set(err, CTXD_ERR_INVALID_REQUEST,
				       "Invalid Request: \"id\" must be a string or an integer");
			return CTXD_RPC_INVALID;
		}
		out->kind = CTXD_RPC_REQUEST;
		return out->kind;
	}
	json_t *result = json_object_get(msg, "result");
	json_t *error = json_object_get(msg, "error");
	if (!id || (!result && !error)) {
		ctxd_error_set(err, CTXD_ERR_INVALID_REQUEST,
			       "Invalid Request: missing \"method\"");
		return CTXD_RPC_INVALID;
	}
	if ((result && error) || (!valid_id(id) && !json_is_null(id))) {
		ctxd_error_set(err, CTXD_ERR_INVALID_REQUEST,
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
	return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "result",
			 result);
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
	return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error",
			 e);
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

/* Serialisation: the project's JSON writer (json_write.c), which escapes strings 16 bytes
 * at a time instead of jansson's code point at a time. The buffer's `max` stops it before
 * a frame grows past the limit (only up to `max` bytes are ever allocated). */
char *ctxd_rpc_dump_max(const json_t *msg, size_t max, size_t *len)
{
	struct ctxd_strbuf d = {.max = max};
	if (!msg || ctxd_json_value(&d, msg) < 0 || d.oom) {
		bool too_big = d.too_big;
		free(d.p);
		errno = too_big ? E2BIG : ENOMEM;
		return NULL;
	}
	d.max = 0; /* the newline is not part of the limit */
	ctxd_strbuf_add(&d, "\n", 1);
	if (d.oom) {
		free(d.p);
		errno = ENOMEM;
		return NULL;
	}
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

void ctxd_rpc_result_open(struct ctxd_strbuf *b, json_t *id)
{
	ctxd_strbuf_str(b, "{\"jsonrpc\":\"2.0\",\"id\":");
	if (!id || ctxd_json_value(b, id) < 0) {
		ctxd_strbuf_add(b, "null", 4);
	}
	ctxd_strbuf_str(b, ",\"result\":");
}

void ctxd_rpc_result_close(struct ctxd_strbuf *b)
{
	ctxd_strbuf_add(b, "}\n", 2);
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
