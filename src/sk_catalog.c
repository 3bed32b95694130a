/* sk_catalog.c - the skills catalogue: refcounted snapshots, swapping a new one in,
 * handing the current one to readers (scanning first when there is none, or when the
 * client roots changed since it was built), lookup by name, and the memo slots.
 */
#include "ctxd/sk_catalog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sk_priv.h"

void ctxd_sk_skill_release(struct ctxd_skill *k)
{
	ctxd_skill_md_put(k->doc);
	free(k->dir);
	free(k->skill_md);
	free(k->rel);
	for (size_t j = 0; j < k->n_files; j++) {
		free(k->files[j]);
	}
	free(k->files);
	free(k->sizes);
}

void ctxd_sk_snapshot_free(struct ctxd_skills_snapshot *s)
{
	for (unsigned i = 0; i < CTXD_SK_MEMO_SLOTS; i++) {
		void *v = __atomic_load_n(&s->memo[i], __ATOMIC_ACQUIRE);
		void (*fn)(void *) = __atomic_load_n(&s->memo_free[i], __ATOMIC_ACQUIRE);
		if (v && fn) {
			fn(v);
		}
	}
	for (size_t i = 0; i < s->n_skills; i++) {
		ctxd_sk_skill_release(&s->skills[i]);
	}
	free(s->skills);
	for (size_t i = 0; i < s->n_diags; i++) {
		ctxd_skill_md_diag_free(&s->diags[i]);
	}
	free(s->diags);
	free(s);
}

void ctxd_sk_snapshot_put(struct ctxd_skills_snapshot *snap)
{
	if (snap && atomic_fetch_sub((_Atomic unsigned *)&snap->refs, 1) == 1) {
		ctxd_sk_snapshot_free(snap);
	}
}

bool ctxd_sk_publish(struct ctxd_skills *sk, struct ctxd_skills_snapshot *snap)
{
	pthread_mutex_lock(&sk->snap_lock);
	struct ctxd_skills_snapshot *old = sk->cur;
	sk->cur = snap;
	/* a change is reported only when the client could have noticed it: the start-up scan and
	 * a catalogue no reader saw are not such changes (an identical rescan stays seen) */
	bool differs = old && old->signature != snap->signature;
	sk->announce = sk->announce || (differs && sk->cur_served);
	sk->cur_served = sk->cur_served && !differs;
	sk->stale = sk->stale && sk->applied_gen != sk->roots_gen;
	pthread_mutex_unlock(&sk->snap_lock);
	bool changed = old ? old->signature != snap->signature : snap->n_skills > 0;
	ctxd_sk_snapshot_put(old);
	return changed;
}

/* The current catalogue for a reader (NULL when there is none, or with `fresh` when the
 * client roots changed since it was built). */
static struct ctxd_skills_snapshot *snapshot_take(struct ctxd_skills *sk, bool fresh)
{
	pthread_mutex_lock(&sk->snap_lock);
	struct ctxd_skills_snapshot *s = fresh && sk->stale ? NULL : sk->cur;
	if (s) {
		atomic_fetch_add((_Atomic unsigned *)&s->refs, 1);
		sk->cur_served = true;
	}
	pthread_mutex_unlock(&sk->snap_lock);
	return s;
}

struct ctxd_skills_snapshot *ctxd_sk_snapshot_peek(struct ctxd_skills *sk)
{
	return snapshot_take(sk, false);
}

struct ctxd_skills_snapshot *ctxd_sk_snapshot(struct ctxd_skills *sk)
{
	struct ctxd_skills_snapshot *s = snapshot_take(sk, true);
	if (s) {
		return s;
	}
	pthread_mutex_lock(&sk->scan_lock);
	s = snapshot_take(sk, true);
	if (!s) {
		struct ctxd_skills_snapshot *fresh = ctxd_sk_scan(sk);
		if (fresh) {
			ctxd_sk_publish(sk, fresh);
			s = ctxd_sk_snapshot_peek(sk);
		}
	}
	pthread_mutex_unlock(&sk->scan_lock);
	return s;
}

bool ctxd_sk_rescan(struct ctxd_skills *sk)
{
	pthread_mutex_lock(&sk->scan_lock);
	struct ctxd_skills_snapshot *fresh = ctxd_sk_scan(sk);
	bool changed = fresh ? ctxd_sk_publish(sk, fresh) : false;
	pthread_mutex_unlock(&sk->scan_lock);
	return changed;
}

const struct ctxd_skill *ctxd_sk_find(const struct ctxd_skills_snapshot *snap, const char *name)
{
	size_t lo = 0, hi = snap ? snap->n_skills : 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(snap->skills[mid].name, name);
		if (c == 0) {
			return &snap->skills[mid];
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return NULL;
}

void *ctxd_sk_memo(struct ctxd_skills_snapshot *snap, unsigned slot, void *value,
		   void (*free_fn)(void *))
{
	if (slot >= CTXD_SK_MEMO_SLOTS) {
		return NULL;
	}
	void *cur = __atomic_load_n(&snap->memo[slot], __ATOMIC_ACQUIRE);
	if (!value || cur) {
		if (value && free_fn) {
			free_fn(value);
		}
		return cur;
	}
	/* the destructor first: whoever frees the snapshot sees it once it sees the value */
	__atomic_store_n(&snap->memo_free[slot], free_fn, __ATOMIC_RELEASE);
	if (__atomic_compare_exchange_n(&snap->memo[slot], &cur, value, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		return value;
	}
	if (free_fn) {
		free_fn(value); /* another thread's value won */
	}
	return cur;
}
