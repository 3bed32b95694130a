/* log.h - leveled logging to stderr, and forwarding to the MCP client.
 *
 * Levels are the RFC 5424 ones MCP uses (logging capability, MCP 2025-11-25
 * server/utilities/logging), in ascending severity. Every record is written to stderr
 * with one write(2) (so lines from several threads never interleave) as
 * "ctxd: LEVEL [file:line] message\n". stdout is never touched.
 */
#ifndef CTXD_LOG_H
#define CTXD_LOG_H

#include <stdbool.h>

enum ctxd_log_level {
	CTXD_LOG_DEBUG = 0,
	CTXD_LOG_INFO,
	CTXD_LOG_NOTICE,
	CTXD_LOG_WARNING,
	CTXD_LOG_ERROR,
	CTXD_LOG_CRITICAL,
	CTXD_LOG_ALERT,
	CTXD_LOG_EMERGENCY,
	CTXD_LOG_OFF, /* only as a threshold: nothing is written */
};

/* A sink receives every record at or above its own threshold, after it went to stderr.
 * It is called on the thread that logged; ctxd_log only calls it on the thread that
 * registered it (the loop thread), so a sink may touch loop-owned state. */
typedef void (*ctxd_log_sink_fn)(void *ud, enum ctxd_log_level level, const char *logger,
				 const char *msg);

/* Set the stderr threshold (default WARNING). Thread-safe (atomic). */
void ctxd_log_set_level(enum ctxd_log_level level);

/* The current stderr threshold. */
enum ctxd_log_level ctxd_log_get_level(void);

/* Register the sink (NULL removes it) from the thread that will own it. */
void ctxd_log_set_sink(ctxd_log_sink_fn fn, void *ud);

/* Parse an RFC 5424 level name ("debug" ... "emergency", also "warn", "off").
 * Returns 0 and sets *out, or -1 for an unknown name. */
int ctxd_log_level_parse(const char *name, enum ctxd_log_level *out);

/* The RFC 5424 name of `level` ("warning", ...); "off" for CTXD_LOG_OFF. Static string. */
const char *ctxd_log_level_name(enum ctxd_log_level level);

/* Write one record. Use the ctxd_log macro, which fills file and line. Thread-safe. */
void ctxd_log_write(enum ctxd_log_level level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define ctxd_log(level, ...) ctxd_log_write((level), __FILE__, __LINE__, __VA_ARGS__)
#define ctxd_debug(...)      ctxd_log(CTXD_LOG_DEBUG, __VA_ARGS__)
#define ctxd_info(...)       ctxd_log(CTXD_LOG_INFO, __VA_ARGS__)
#define ctxd_warn(...)       ctxd_log(CTXD_LOG_WARNING, __VA_ARGS__)
#define ctxd_err(...)        ctxd_log(CTXD_LOG_ERROR, __VA_ARGS__)

#endif
