/* error.c - the caller-owned error record. */
#include "ctxd/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void vset(struct ctxd_error *err, enum ctxd_err_kind kind, int sys_errno, const char *fmt,
		 va_list ap) __attribute__((format(printf, 4, 0)));

static void vset(struct ctxd_error *err, enum ctxd_err_kind kind, int sys_errno, const char *fmt,
		 va_list ap)
{
	err->kind = kind;
	err->sys_errno = sys_errno;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

void ctxd_error_set(struct ctxd_error *err, enum ctxd_err_kind kind, const char *fmt, ...)
{
	if (!err) {
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vset(err, kind, 0, fmt, ap);
	va_end(ap);
}

void ctxd_error_set_errno(struct ctxd_error *err, enum ctxd_err_kind kind, int sys_errno,
			  const char *fmt, ...)
{
	if (!err) {
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vset(err, kind, sys_errno, fmt, ap);
	va_end(ap);
}

void ctxd_error_clear(struct ctxd_error *err)
{
	if (err) {
		err->kind = CTXD_ERR_TOOL;
		err->sys_errno = 0;
		err->msg[0] = '\0';
	}
}
