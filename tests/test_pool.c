/* Unit tests for pool.c: work/done split, cancellation of queued and running jobs,
 * many jobs in flight, destroy with queued work. Every wait is for the event itself
 * (a job started, a job completed); the 60 s limits only turn a hang into a failure. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/pool.h"
#include "test.h"

struct tjob {
	struct ctxd_job job;
	int value;
	bool ran, done, dropped, saw_cancel;
	atomic_bool *gate; /* when set, work waits until it becomes true */
};

static atomic_int wakes;
static atomic_int started; /* jobs that entered work() */

#define HANG_GUARD_S 60

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
static void wake(void *ud)
{
	(void)ud;
	atomic_fetch_add(&wakes, 1);
}

static void work(struct ctxd_job *j)
{
	struct tjob *t = (struct tjob *)j;
	atomic_fetch_add(&started, 1);
	if (t->gate) {
		while (!atomic_load(t->gate) && !ctxd_job_cancelled(j)) {
			usleep(100);
		}
		t->saw_cancel = ctxd_job_cancelled(j);
	}
	t->value *= 2;
	t->ran = true;
}

static void done(struct ctxd_job *j, bool dropped)
{
	struct tjob *t = (struct tjob *)j;
	t->done = true;
	t->dropped = dropped;
}

/* Wait until `n` jobs have entered work() since `started` was last reset. */
static void wait_started(int n)
{
	double end = now_s() + HANG_GUARD_S;
	while (atomic_load(&started) < n) {
		ASSERT(now_s() < end); /* hang guard */
		usleep(100);
	}
}

static void drain_until(struct ctxd_pool *p, struct tjob *jobs, size_t n)
{
	double end = now_s() + HANG_GUARD_S;
	for (;;) {
		ctxd_pool_drain(p);
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			k += jobs[i].done;
		}
		if (k == n) {
			return;
		}
		ASSERT(now_s() < end); /* hang guard: the jobs never completed */
		usleep(100);
	}
}

static void test_pool_runs_many(void)
{
	enum { N = 1000 };
	static struct tjob jobs[N];
	struct ctxd_pool *p = ctxd_pool_create(4, wake, NULL);
	ASSERT(p);
	ASSERT_EQ(ctxd_pool_size(p), 4);
	for (int i = 0; i < N; i++) {
		jobs[i] = (struct tjob){.value = i};
		ctxd_pool_submit(p, &jobs[i].job, work, done);
	}
	drain_until(p, jobs, N);
	for (int i = 0; i < N; i++) {
		ASSERT(jobs[i].ran && !jobs[i].dropped);
		ASSERT_EQ(jobs[i].value, 2 * i);
	}
	ASSERT(atomic_load(&wakes) > 0);
	ctxd_pool_destroy(p);
}

static void test_pool_cancel_queued_and_running(void)
{
	atomic_bool gate = false;
	struct ctxd_pool *p = ctxd_pool_create(2, wake, NULL);
	struct tjob blockers[2], queued = {.value = 1};
	atomic_store(&started, 0);
	for (int i = 0; i < 2; i++) {
		blockers[i] = (struct tjob){.value = 1, .gate = &gate};
		ctxd_pool_submit(p, &blockers[i].job, work, done);
	}
	wait_started(2); /* both workers are now inside work() */
	ctxd_pool_submit(p, &queued.job, work, done);
	ASSERT_EQ(ctxd_pool_cancel(p, &queued.job), 0);
	ASSERT_EQ(ctxd_pool_cancel(p, &blockers[0].job), -16 /* -EBUSY */);
	drain_until(p, &queued, 1);
	ASSERT(queued.dropped && !queued.ran);
	/* blocker 0 sees its flag and stops; blocker 1 finishes when the gate opens */
	drain_until(p, &blockers[0], 1);
	ASSERT(blockers[0].saw_cancel && !blockers[0].dropped);
	atomic_store(&gate, true);
	drain_until(p, &blockers[1], 1);
	ASSERT(!blockers[1].saw_cancel);
	ctxd_pool_destroy(p);
}

static void test_pool_destroy_drops_queued(void)
{
	atomic_bool gate = false;
	struct ctxd_pool *p = ctxd_pool_create(2, wake, NULL);
	struct tjob b[2], q[5];
	atomic_store(&started, 0);
	for (int i = 0; i < 2; i++) {
		b[i] = (struct tjob){.gate = &gate};
		ctxd_pool_submit(p, &b[i].job, work, done);
	}
	wait_started(2); /* both workers hold a blocker: the five below stay queued */
	for (int i = 0; i < 5; i++) {
		q[i] = (struct tjob){0};
		ctxd_pool_submit(p, &q[i].job, work, done);
	}
	ASSERT(ctxd_pool_queued(p) == 5); /* the figures ctxd://status reports */
	ASSERT(ctxd_pool_running(p) == 2);
	atomic_store(&gate, true);
	ctxd_pool_destroy(p);
	for (int i = 0; i < 2; i++) {
		ASSERT(b[i].done && b[i].ran);
	}
	for (int i = 0; i < 5; i++) {
		ASSERT(q[i].done); /* either ran before the stop or was dropped */
		ASSERT(q[i].ran != q[i].dropped);
	}
}

int main(void)
{
	RUN(test_pool_runs_many);
	RUN(test_pool_cancel_queued_and_running);
	RUN(test_pool_destroy_drops_queued);
	return 0;
}
