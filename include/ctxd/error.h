/* error.h - a caller-owned error record for failures a client will see.
 *
 * Modelled on jansson's json_error_t: the caller owns the struct, the callee fills it,
 * nothing is allocated, so it is safe on any thread. `code` holds a JSON-RPC error code
 * (see rpc.h) when the failure is a protocol fault, or 0 for a tool-level failure that
 * becomes an `isError` result. `msg` is one human-readable sentence, NUL-terminated.
 */
#ifndef CTXD_ERROR_H
#define CTXD_ERROR_H

#define CTXD_ERROR_MSG_MAX 512

struct ctxd_error {
	int code;                     /* JSON-RPC code, or 0 for a tool-level failure */
	int sys_errno;                /* the errno behind the failure, or 0 */
	char msg[CTXD_ERROR_MSG_MAX]; /* always NUL-terminated */
};

/* Fill `err` (may be NULL: then nothing happens) with `code`, errno 0 and a printf-style
 * message truncated to CTXD_ERROR_MSG_MAX-1 bytes. Thread-safe. */
void ctxd_error_set(struct ctxd_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like ctxd_error_set, and record `sys_errno` too. Thread-safe. */
void ctxd_error_set_errno(struct ctxd_error *err, int code, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reset `err` to code 0, errno 0 and an empty message. */
void ctxd_error_clear(struct ctxd_error *err);

#endif
