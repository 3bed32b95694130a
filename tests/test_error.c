/* Unit tests for error.c and log.c. */
#include "ctxd/error.h"
#include "ctxd/log.h"
#include "test.h"

static void test_error_set_truncates(void)
{
	struct ctxd_error e;
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ctxd_error_set(&e, CTXD_ERR_INVALID_PARAMS, "%s", big);
	ASSERT_EQ(e.kind, CTXD_ERR_INVALID_PARAMS);
	ASSERT_EQ(strlen(e.msg), CTXD_ERROR_MSG_MAX - 1);
	ctxd_error_set_errno(&e, CTXD_ERR_TOOL, 2, "no %s", "file");
	ASSERT_EQ(e.sys_errno, 2);
	ASSERT_STR_EQ(e.msg, "no file");
	ctxd_error_clear(&e);
	ASSERT_STR_EQ(e.msg, "");
	ctxd_error_set(NULL, CTXD_ERR_INTERNAL, "ignored");
}

static void test_log_levels(void)
{
	enum ctxd_log_level l;
	ASSERT_EQ(ctxd_log_level_parse("DEBUG", &l), 0);
	ASSERT_EQ(l, CTXD_LOG_DEBUG);
	ASSERT_EQ(ctxd_log_level_parse("warn", &l), 0);
	ASSERT_EQ(l, CTXD_LOG_WARNING);
	ASSERT_EQ(ctxd_log_level_parse("emergency", &l), 0);
	ASSERT_EQ(l, CTXD_LOG_EMERGENCY);
	ASSERT_EQ(ctxd_log_level_parse("loud", &l), -1);
	ASSERT_STR_EQ(ctxd_log_level_name(CTXD_LOG_NOTICE), "notice");
}

static int sink_calls;
static void sink(void *ud, enum ctxd_log_level level, const char *logger, const char *msg)
{
	(void)ud;
	(void)logger;
	ASSERT_EQ(level, CTXD_LOG_ERROR);
	ASSERT_STR_EQ(msg, "boom 7");
	sink_calls++;
}

static void test_log_sink(void)
{
	ctxd_log_set_level(CTXD_LOG_OFF);
	ctxd_log_set_sink(sink, NULL);
	ctxd_log(CTXD_LOG_ERROR, "boom %d", 7);
	ASSERT_EQ(sink_calls, 1);
	ctxd_log_set_sink(NULL, NULL);
	ctxd_log(CTXD_LOG_ERROR, "boom %d", 7);
	ASSERT_EQ(sink_calls, 1);
}

int main(void)
{
	RUN(test_error_set_truncates);
	RUN(test_log_levels);
	RUN(test_log_sink);
	return 0;
}
