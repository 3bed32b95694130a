/* rpc.h - JSON-RPC 2.0 envelopes: parse, classify, build responses and errors.
 *
 * Knows nothing about MCP. Defines the JSON-RPC error codes (the wire's numbers) that the
 * protocol layer answers with; its own failures are error kinds (error.h), which the
 * protocol layer maps to codes in one place (ctxd_mcp_error_code, src/mcp_errors.c). Pure
 * functions, safe on any thread (each call works on its own jansson values).
 */
#ifndef CTXD_RPC_H
#define CTXD_RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctxd/error.h"
#include "ctxd/strbuf.h"

/* JSON-RPC 2.0 standard codes (spec section 5.1). */
#define CTXD_RPC_PARSE_ERROR      -32700
#define CTXD_RPC_INVALID_REQUEST  -32600
#define CTXD_RPC_METHOD_NOT_FOUND -32601
#define CTXD_RPC_INVALID_PARAMS   -32602
#define CTXD_RPC_INTERNAL_ERROR   -32603
/* MCP codes carried by JSON-RPC errors. */
#define CTXD_RPC_RESOURCE_NOT_FOUND  -32002 /* MCP 2025-11-25 resources */
#define CTXD_RPC_MISSING_CAPABILITY  -32021 /* MCP 2026-07-28 */
#define CTXD_RPC_UNSUPPORTED_VERSION -32022 /* MCP 2026-07-28 */

enum ctxd_rpc_kind {
	CTXD_RPC_INVALID = 0,  /* not a JSON-RPC 2.0 message; see the error */
	CTXD_RPC_REQUEST,      /* method + id */
	CTXD_RPC_NOTIFICATION, /* method, no id */
	CTXD_RPC_RESPONSE,     /* id + result|error, no method */
};

/* A classified message. All pointers are borrowed from the message passed to classify. */
struct ctxd_rpc_msg {
	enum ctxd_rpc_kind kind;
	json_t *id;         /* request/response id (string or integer), or NULL */
	const char *method; /* request/notification method */
	json_t *params;     /* object or array, or NULL */
	json_t *result;     /* response result */
	json_t *error;      /* response error */
};

/* Parse one frame (`len` bytes, need not be NUL-terminated). Returns a new reference, or
 * NULL with err->kind = CTXD_ERR_PARSE and a message quoting jansson's error text. */
json_t *ctxd_rpc_parse(const char *buf, size_t len, struct ctxd_error *err);

/* Classify one message (an object; arrays are the caller's batch business). Fills `out`.
 * Returns the kind; CTXD_RPC_INVALID with err->kind = CTXD_ERR_INVALID_REQUEST and a
 * message for: not an object, jsonrpc != "2.0", bad id type (null, float, bool, object),
 * method not a string, params not structured, response with both/neither result and
 * error. When an id of a valid type was present, out->id is set even for an invalid
 * message so the error can carry it. */
enum ctxd_rpc_kind ctxd_rpc_classify(json_t *msg, struct ctxd_rpc_msg *out, struct ctxd_error *err);

/* {"jsonrpc":"2.0","id":id,"result":result}. `id` borrowed (copied); `result` stolen.
 * Returns a new reference, or NULL on ENOMEM. */
json_t *ctxd_rpc_result_new(json_t *id, json_t *result);

/* {"jsonrpc":"2.0","id":id|null,"error":{code,message,data?}}. `id` borrowed (NULL gives
 * null); `data` stolen (may be NULL). Returns a new reference. */
json_t *ctxd_rpc_error_new(json_t *id, int code, const char *message, json_t *data);

/* {"jsonrpc":"2.0","method":m,"params":params?}. `params` stolen (may be NULL). */
json_t *ctxd_rpc_notification_new(const char *method, json_t *params);

/* {"jsonrpc":"2.0","id":id,"method":m,"params":params?}. `id` borrowed, params stolen. */
json_t *ctxd_rpc_request_new(json_t *id, const char *method, json_t *params);

/* Serialise `msg` compactly with a trailing '\n' (one frame). Returns a malloc'd buffer
 * (caller frees, NUL-terminated after the newline) and its length in *len (without
 * the NUL), or NULL on ENOMEM. Control characters are
 * escaped, so the frame never contains a raw newline. */
char *ctxd_rpc_dump(const json_t *msg, size_t *len);

/* Same, but refuse to build a frame of more than `max` bytes (the newline not counted;
 * 0 = no limit): returns NULL with errno E2BIG as soon as the output would pass it (only
 * up to `max` bytes are ever allocated), or NULL with errno ENOMEM. Any thread. */
char *ctxd_rpc_dump_max(const json_t *msg, size_t max, size_t *len);

/* Same as ctxd_rpc_dump, and decref `msg` (steals it). */
char *ctxd_rpc_dump_new(json_t *msg, size_t *len);

/* A response frame written in three steps, for results too large to build as jansson
 * values: ctxd_rpc_result_open appends `{"jsonrpc":"2.0","id":ID,"result":` to `b` (`id`
 * borrowed; NULL gives null), the caller appends the result object as compact JSON (see
 * json_write.h), and ctxd_rpc_result_close appends `}` and the frame's newline. The frame
 * equals what ctxd_rpc_dump(ctxd_rpc_result_new(id, result)) gives for the same result.
 * Memory failures set b->oom. Any thread. */
void ctxd_rpc_result_open(struct ctxd_strbuf *b, json_t *id);
void ctxd_rpc_result_close(struct ctxd_strbuf *b);

/* The standard message for a code ("Parse error", "Invalid Request", ...). */
const char *ctxd_rpc_code_message(int code);

#endif
