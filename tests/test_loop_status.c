/* Unit tests for loop_status.c: the event-loop lag percentiles (nearest rank) ctxd://status
 * and the minute log line report. */
#include "../src/loop_status.h"
#include "test.h"

static void test_percentile_nearest_rank(void)
{
	float one[] = {7.0f};
	ASSERT(ctxd_lag_percentile(one, 1, 50) == 7.0);
	ASSERT(ctxd_lag_percentile(one, 1, 99) == 7.0);
	/* 1..100 in reverse: p50 is the 50th smallest, p99 the 99th */
	float v[100];
	for (int i = 0; i < 100; i++) {
		v[i] = (float)(100 - i);
	}
	ASSERT(ctxd_lag_percentile(v, 100, 50) == 50.0);
	ASSERT(ctxd_lag_percentile(v, 100, 99) == 99.0);
	ASSERT(ctxd_lag_percentile(v, 100, 100) == 100.0);
	/* one slow firing among 600 (a minute of samples) shows in p99 only when it is one of
	 * the six largest */
	float m[CTXD_LAG_SAMPLES];
	for (int i = 0; i < CTXD_LAG_SAMPLES; i++) {
		m[i] = i < 6 ? 250.0f : 0.5f;
	}
	ASSERT(ctxd_lag_percentile(m, CTXD_LAG_SAMPLES, 50) == 0.5);
	ASSERT(ctxd_lag_percentile(m, CTXD_LAG_SAMPLES, 99) == 0.5);
	m[6] = 250.0f;
	ASSERT(ctxd_lag_percentile(m, CTXD_LAG_SAMPLES, 99) == 250.0);
}

int main(void)
{
	RUN(test_percentile_nearest_rank);
	return 0;
}
