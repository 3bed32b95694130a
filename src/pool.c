/* pool.c - fixed worker threads, one job queue, one completion queue (libuv's model).
 *
 * Jobs are intrusive (struct ctxd_job embedded in the caller's request), so submitting
 * never allocates. Workers take jobs under `mu`, run `work` unlocked, then push the job
 * on the completion list and call `wake`. Wake-ups may coalesce, so drain takes the whole
 * completion list at once. A job cancelled while still queued is moved straight to the
 * completion list with dropped=true. Helper jobs (a running job's sub-jobs) wait in a
 * second queue that workers look at only when the first is empty: requests come first. */
#include "ctxd/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

enum { JOB_QUEUED = 1, JOB_RUNNING, JOB_DONE };

struct ctxd_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ctxd_job *head, *tail;   /* pending work, FIFO */
	struct ctxd_job *hhead, *htail; /* pending helper jobs: started only when head is empty */
	atomic_uint queued;             /* jobs in head..tail (read without the lock) */
	struct ctxd_job *done_head, *done_tail;
	bool stopping;
	atomic_bool held; /* ctxd_pool_hold: workers start no new job (read without mu by
			   * ctxd_pool_contended) */
	unsigned running; /* jobs inside work() now */
	ctxd_wake_fn wake;
	void *wake_ud;
	unsigned n;
	pthread_t *threads;
	unsigned bcast_gen; /* bumped by ctxd_pool_broadcast */
	void (*bcast_fn)(void *ud);
	void *bcast_ud;
};

static void push_done(struct ctxd_pool *p, struct ctxd_job *job)
{
	job->next = NULL;
	job->state = JOB_DONE;
	if (p->done_tail) {
		p->done_tail->next = job;
	} else {
		p->done_head = job;
	}
	p->done_tail = job;
}

static void *worker(void *arg)
{
	struct ctxd_pool *p = arg;
	unsigned seen_gen = 0;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while ((!p->head || p->held) && !p->hhead && !p->stopping &&
		       seen_gen == p->bcast_gen) {
			pthread_cond_wait(&p->cv, &p->mu);
		}
		if (seen_gen != p->bcast_gen) {
			void (*fn)(void *) = p->bcast_fn;
			void *ud = p->bcast_ud;
			seen_gen = p->bcast_gen;
			pthread_mutex_unlock(&p->mu);
			fn(ud);
			pthread_mutex_lock(&p->mu);
			continue;
		}
		if ((!p->head || p->held) && p->hhead && !p->stopping) {
			/* a helper job: its owner learns of the end itself and may free the job
			 * as soon as work returns, so nothing here touches it afterwards. Helpers
			 * run while the pool is held: they finish a job already running. */
			struct ctxd_job *h = p->hhead;
			p->hhead = h->next;
			if (!p->hhead) {
				p->htail = NULL;
			}
			h->state = JOB_RUNNING;
			pthread_mutex_unlock(&p->mu);
			h->work(h);
			pthread_mutex_lock(&p->mu);
			continue;
		}
		if (!p->head) {
			break; /* stopping and nothing queued */
		}
		struct ctxd_job *job = p->head;
		p->head = job->next;
		if (!p->head) {
			p->tail = NULL;
		}
		atomic_fetch_sub(&p->queued, 1);
		job->state = JOB_RUNNING;
		p->running++;
		pthread_mutex_unlock(&p->mu);

		job->work(job);

		pthread_mutex_lock(&p->mu);
		p->running--;
		push_done(p, job);
		pthread_mutex_unlock(&p->mu);
		p->wake(p->wake_ud);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 2 ? 2 : (n > 256 ? 256 : (unsigned)n);
}

struct ctxd_pool *ctxd_pool_create(unsigned nthreads, ctxd_wake_fn wake, void *ud)
{
	struct ctxd_pool *p = calloc(1, sizeof(*p));
	if (!p) {
		return NULL;
	}
	p->n = nthreads ? nthreads : default_threads();
	p->wake = wake;
	p->wake_ud = ud;
	p->threads = calloc(p->n, sizeof(pthread_t));
	if (!p->threads) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (unsigned i = 0; i < p->n; i++) {
		int rc = pthread_create(&p->threads[i], NULL, worker, p);
		if (rc != 0) {
			p->n = i;
			ctxd_pool_destroy(p);
			errno = rc;
			return NULL;
		}
	}
	return p;
}

unsigned ctxd_pool_size(const struct ctxd_pool *pool)
{
	return pool->n;
}

int ctxd_pool_submit(struct ctxd_pool *pool, struct ctxd_job *job, ctxd_work_fn work,
		     ctxd_done_fn done)
{
	job->work = work;
	job->done = done;
	job->next = NULL;
	job->dropped = false;
	job->state = JOB_QUEUED;
	pthread_mutex_lock(&pool->mu);
	if (pool->tail) {
		pool->tail->next = job;
	} else {
		pool->head = job;
	}
	pool->tail = job;
	atomic_fetch_add(&pool->queued, 1);
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
	return 0;
}

void ctxd_pool_submit_helper(struct ctxd_pool *pool, struct ctxd_job *job, ctxd_work_fn work)
{
	job->work = work;
	job->done = NULL;
	job->next = NULL;
	job->dropped = false;
	job->state = JOB_QUEUED;
	pthread_mutex_lock(&pool->mu);
	if (pool->htail) {
		pool->htail->next = job;
	} else {
		pool->hhead = job;
	}
	pool->htail = job;
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
}

int ctxd_pool_withdraw(struct ctxd_pool *pool, struct ctxd_job *job)
{
	int rc = -EBUSY;
	pthread_mutex_lock(&pool->mu);
	if (job->state == JOB_QUEUED) {
		struct ctxd_job **pp = &pool->hhead, *prev = NULL;
		while (*pp && *pp != job) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		if (*pp) {
			*pp = job->next;
			if (pool->htail == job) {
				pool->htail = prev;
			}
			job->state = 0;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&pool->mu);
	return rc;
}

bool ctxd_pool_contended(struct ctxd_pool *pool)
{
	/* requests held back by ctxd_pool_hold cannot take a worker: no reason to give way */
	return atomic_load_explicit(&pool->queued, memory_order_relaxed) > 0 &&
	       !atomic_load_explicit(&pool->held, memory_order_relaxed);
}

int ctxd_pool_cancel(struct ctxd_pool *pool, struct ctxd_job *job)
{
	atomic_store(&job->cancel, true);
	int rc = -EBUSY;
	pthread_mutex_lock(&pool->mu);
	if (job->state == JOB_QUEUED) {
		struct ctxd_job **pp = &pool->head, *prev = NULL;
		while (*pp && *pp != job) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		if (*pp) {
			*pp = job->next;
			if (pool->tail == job) {
				pool->tail = prev;
			}
			atomic_fetch_sub(&pool->queued, 1);
			job->dropped = true;
			push_done(pool, job);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&pool->mu);
	if (rc == 0) {
		pool->wake(pool->wake_ud);
	}
	return rc;
}

void ctxd_pool_broadcast(struct ctxd_pool *pool, void (*fn)(void *ud), void *ud)
{
	pthread_mutex_lock(&pool->mu);
	pool->bcast_fn = fn;
	pool->bcast_ud = ud;
	pool->bcast_gen++;
	pthread_cond_broadcast(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
}

void ctxd_pool_hold(struct ctxd_pool *pool, bool held)
{
	pthread_mutex_lock(&pool->mu);
	pool->held = held;
	if (!held) {
		pthread_cond_broadcast(&pool->cv);
	}
	pthread_mutex_unlock(&pool->mu);
}

unsigned ctxd_pool_queued(const struct ctxd_pool *pool)
{
	return atomic_load_explicit(&pool->queued, memory_order_relaxed);
}

unsigned ctxd_pool_running(struct ctxd_pool *pool)
{
	pthread_mutex_lock(&pool->mu);
	unsigned n = pool->running;
	pthread_mutex_unlock(&pool->mu);
	return n;
}

size_t ctxd_pool_drain(struct ctxd_pool *pool)
{
	pthread_mutex_lock(&pool->mu);
	struct ctxd_job *job = pool->done_head;
	pool->done_head = pool->done_tail = NULL;
	pthread_mutex_unlock(&pool->mu);
	size_t n = 0;
	while (job) {
		struct ctxd_job *next = job->next;
		job->state = 0;
		job->done(job, job->dropped);
		job = next;
		n++;
	}
	return n;
}

void ctxd_pool_destroy(struct ctxd_pool *pool)
{
	if (!pool) {
		return;
	}
	pthread_mutex_lock(&pool->mu);
	/* Queued work never starts: it completes as dropped. */
	while (pool->head) {
		struct ctxd_job *job = pool->head;
		pool->head = job->next;
		job->dropped = true;
		push_done(pool, job);
	}
	pool->tail = NULL;
	atomic_store(&pool->queued, 0);
	/* Helper jobs stay queued: their owners (jobs still running) withdraw them. */
	pool->stopping = true;
	pthread_cond_broadcast(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
	for (unsigned i = 0; i < pool->n; i++) {
		pthread_join(pool->threads[i], NULL);
	}
	ctxd_pool_drain(pool);
	pthread_mutex_destroy(&pool->mu);
	pthread_cond_destroy(&pool->cv);
	free(pool->threads);
	free(pool);
}
