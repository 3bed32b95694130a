/* log.c - leveled stderr logging, one write(2) per record, and an optional sink (the MCP
 * notifications/message forwarder) that only runs on the thread that registered it. */
#include "ctxd/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static atomic_int threshold = CTXD_LOG_WARNING;
static ctxd_log_sink_fn sink_fn;
static void *sink_ud;
static pthread_t sink_thread;
static _Thread_local bool in_sink;

static const char *const names[] = {
    "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency", "off",
};

void ctxd_log_set_level(enum ctxd_log_level level)
{
	atomic_store(&threshold, (int)level);
}

enum ctxd_log_level ctxd_log_get_level(void)
{
	return (enum ctxd_log_level)atomic_load(&threshold);
}

void ctxd_log_set_sink(ctxd_log_sink_fn fn, void *ud)
{
	sink_fn = fn;
	sink_ud = ud;
	sink_thread = pthread_self();
}

int ctxd_log_level_parse(const char *name, enum ctxd_log_level *out)
{
	if (!name) {
		return -1;
	}
	for (int i = 0; i <= CTXD_LOG_OFF; i++) {
		if (strcasecmp(name, names[i]) == 0) {
			*out = (enum ctxd_log_level)i;
			return 0;
		}
	}
	if (strcasecmp(name, "warn") == 0) {
		*out = CTXD_LOG_WARNING;
		return 0;
	}
	return -1;
}

const char *ctxd_log_level_name(enum ctxd_log_level level)
{
	if ((int)level < 0 || level > CTXD_LOG_OFF) {
		return "off";
	}
	return names[level];
}

void ctxd_log_write(enum ctxd_log_level level, const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if ((int)level >= atomic_load(&threshold)) {
		const char *base = strrchr(file, '/');
		base = base ? base + 1 : file;
		char rec[1200];
		int n = snprintf(rec, sizeof(rec), "ctxd: %s [%s:%d] %s\n", names[level], base,
				 line, msg);
		if (n < 0) {
			return;
		}
		if ((size_t)n >= sizeof(rec)) {
			n = sizeof(rec) - 1;
			rec[n - 1] = '\n';
		}
		int saved = errno;
		ssize_t w = write(STDERR_FILENO, rec, (size_t)n);
		(void)w;
		errno = saved;
	}
	if (sink_fn && !in_sink && pthread_equal(pthread_self(), sink_thread)) {
		in_sink = true;
		sink_fn(sink_ud, level, "ctxd", msg);
		in_sink = false;
	}
}
