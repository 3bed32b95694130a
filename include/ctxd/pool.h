/* pool.h - a fixed pool of worker threads with a work/done split (libuv threadpool model).
 *
 * The caller embeds a struct ctxd_job in its own request record. `work` runs on a worker
 * thread and must not touch loop-owned state; `done` runs on the loop thread, from
 * ctxd_pool_drain(). After a job completes, the worker pushes it on a mutex-guarded
 * completion queue and calls the `wake` callback (the loop's ev_async_send), which may
 * coalesce; ctxd_pool_drain() therefore empties the whole queue on each call.
 * The pool itself knows nothing about libev.
 */
#ifndef CTXD_POOL_H
#define CTXD_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct ctxd_pool;
struct ctxd_job;

/* Runs on a worker. */
typedef void (*ctxd_work_fn)(struct ctxd_job *job);
/* Runs on the loop thread. `dropped` is true when the job was cancelled before a worker
 * started it (work never ran). The job memory is the caller's again after this call. */
typedef void (*ctxd_done_fn)(struct ctxd_job *job, bool dropped);
/* Called from a worker after it queued a completion; must be thread-safe. */
typedef void (*ctxd_wake_fn)(void *ud);

struct ctxd_job {
	/* public: set by the caller, read by work via ctxd_job_cancelled() */
	atomic_bool cancel;
	/* private to the pool */
	struct ctxd_job *next;
	ctxd_work_fn work;
	ctxd_done_fn done;
	int state;
	bool dropped;
};

/* Start `nthreads` workers (0 = online CPU count, at least 2). `wake` is called after each
 * completion is queued. Returns NULL with errno set on failure. Call json_object_seed(0)
 * before this if workers use jansson. */
struct ctxd_pool *ctxd_pool_create(unsigned nthreads, ctxd_wake_fn wake, void *ud);

/* Stop and join all workers (queued jobs are dropped and their done runs with
 * dropped=true from this call), then free. NULL-safe. Loop thread. */
void ctxd_pool_destroy(struct ctxd_pool *pool);

/* Number of worker threads. */
unsigned ctxd_pool_size(const struct ctxd_pool *pool);

/* Queue `job`. The job memory must stay valid until `done` has run. Loop thread.
 * Returns 0 (never fails: the queue is an intrusive list). */
int ctxd_pool_submit(struct ctxd_pool *pool, struct ctxd_job *job, ctxd_work_fn work,
		     ctxd_done_fn done);

/* Queue a helper job: work a running job hands to workers that would otherwise be idle
 * (a search fanning out). A worker starts it only when no job of ctxd_pool_submit is
 * waiting, so new requests go first. `work` runs on a worker; there is no done callback:
 * the owner learns of the end through its own synchronisation, and the pool touches `job`
 * no more once `work` has been called (the owner may free it as soon as work says it is
 * finished). Helper jobs still queued when the pool stops are not run: the owner must
 * withdraw them. Any thread (typically a worker running the owner). */
void ctxd_pool_submit_helper(struct ctxd_pool *pool, struct ctxd_job *job, ctxd_work_fn work);

/* Take back a helper job that no worker has started. Returns 0 when it was still queued
 * (it will never run), -EBUSY when a worker started it. Any thread. */
int ctxd_pool_withdraw(struct ctxd_pool *pool, struct ctxd_job *job);

/* True when jobs of ctxd_pool_submit wait for a worker and the pool is not held
 * (ctxd_pool_hold): a helper job checks it between pieces of work and returns early, so
 * that the worker takes the request. Helper jobs themselves run while the pool is held
 * (they finish a job already running). Lock-free; any thread. */
bool ctxd_pool_contended(struct ctxd_pool *pool);

/* Ask `job` to stop: sets its cancel flag; a job not yet started is removed from the
 * queue and completes with dropped=true at the next drain. Returns 0 when it was still
 * queued, -EBUSY when already running or finished (work sees the flag at its checkpoints).
 * Loop thread. */
int ctxd_pool_cancel(struct ctxd_pool *pool, struct ctxd_job *job);

/* Make every worker call fn(ud) once, before it starts its next job (a worker busy with a
 * job calls it when that job ends; idle workers are woken). Used to enforce a Landlock
 * ruleset that arrives after the workers started: every job dequeued after this call runs
 * after fn. `ud` must stay valid until ctxd_pool_destroy. One broadcast at a time: a
 * second call replaces a pending one. Loop thread. */
void ctxd_pool_broadcast(struct ctxd_pool *pool, void (*fn)(void *ud), void *ud);

/* Hold (true) or release (false) the workers: while held, no worker starts a queued job
 * (jobs already running finish; submitting, cancelling and draining work as usual), so
 * queued requests wait cheaply instead of building answers nobody can take yet (the
 * loop holds the pool while the bytes owed to the host exceed their budget). Destroying
 * the pool ignores the hold. Loop thread. */
void ctxd_pool_hold(struct ctxd_pool *pool, bool held);

/* Jobs running on a worker right now. Thread-safe. */
unsigned ctxd_pool_running(struct ctxd_pool *pool);

/* Jobs of ctxd_pool_submit waiting for a worker right now (helper jobs not counted).
 * Lock-free; any thread. */
unsigned ctxd_pool_queued(const struct ctxd_pool *pool);

/* Run `done` for every completed job. Loop thread. Returns how many ran. */
size_t ctxd_pool_drain(struct ctxd_pool *pool);

/* True when work should stop (the cancel flag is set). Worker. */
static inline bool ctxd_job_cancelled(const struct ctxd_job *job)
{
	return job && atomic_load_explicit(&job->cancel, memory_order_relaxed);
}

#endif
