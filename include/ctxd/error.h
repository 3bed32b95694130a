/* error.h - a caller-owned error record for failures a client will see.
 *
 * Modelled on jansson's json_error_t: the caller owns the struct, the callee fills it,
 * nothing is allocated, so it is safe on any thread. `kind` says what went wrong in the
 * project's own terms; no layer below the protocol knows JSON-RPC error codes. The protocol
 * layer maps a kind to the code for the client's era in one place (ctxd_mcp_error_code,
 * src/mcp_errors.c). `msg` is one human-readable sentence, NUL-terminated.
 */
#ifndef CTXD_ERROR_H
#define CTXD_ERROR_H

#define CTXD_ERROR_MSG_MAX 512

/* What kind of failure a struct ctxd_error reports. */
enum ctxd_err_kind {
	CTXD_ERR_TOOL = 0,        /* a tool-level failure the model can fix: an isError result
				   * (reaching the protocol as an error, e.g. from a resource
				   * provider, it is an internal error) */
	CTXD_ERR_PARSE,           /* the frame is not JSON (JSON-RPC parse error) */
	CTXD_ERR_INVALID_REQUEST, /* the frame is not a valid JSON-RPC 2.0 message */
	CTXD_ERR_INVALID_PARAMS,  /* bad request arguments (an invalid cursor, a missing prompt
				   * argument, a URI this provider does not serve) */
	CTXD_ERR_NOT_FOUND,       /* the resource a request names does not exist (a prompt
				   * provider: not its prompt, the engine asks the next one) */
	CTXD_ERR_PRECONDITION,    /* an expected state did not hold (the memory bank's
				   * expected sha256); the tools answer it as an isError result */
	CTXD_ERR_INTERNAL,        /* anything else the client cannot fix (out of memory) */
};

struct ctxd_error {
	enum ctxd_err_kind kind;      /* CTXD_ERR_TOOL unless said otherwise */
	int sys_errno;                /* the errno behind the failure, or 0 */
	char msg[CTXD_ERROR_MSG_MAX]; /* always NUL-terminated */
};

/* Fill `err` (may be NULL: then nothing happens) with `kind`, errno 0 and a printf-style
 * message truncated to CTXD_ERROR_MSG_MAX-1 bytes. Thread-safe. */
void ctxd_error_set(struct ctxd_error *err, enum ctxd_err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like ctxd_error_set, and record `sys_errno` too. Thread-safe. */
void ctxd_error_set_errno(struct ctxd_error *err, enum ctxd_err_kind kind, int sys_errno,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Reset `err` to CTXD_ERR_TOOL, errno 0 and an empty message. */
void ctxd_error_clear(struct ctxd_error *err);

#endif
