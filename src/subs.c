/* subs.c - hashed index of resource subscriptions (see subs.h).
 *
 * Three chained hash tables over two kinds of records:
 *   - a `uent` per subscribed URI, in `by_uri` (key: the URI) and in `by_path` (key: its
 *     directory record and entry name), holding the list of its holders;
 *   - a `dent` per watched directory, in `by_dir` (key: the path), with the list of its
 *     URIs and the watch registration that reports changes in it.
 * A change of (dir, name) looks up the chain of (dir, name) and the chain of (dir, "")
 * (URIs that are the directory itself); a change of the directory itself walks its list.
 * Tables double when they hold more records than buckets. */
#include "ctxd/subs.h"
#include "ctxd/strbuf.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctxd/watch.h"

struct dent;

struct uent {
	char *uri;
	char *name; /* entry inside the directory, "" = any change */
	struct dent *dir;
	void **holders;
	size_t n_holders, cap_holders;
	struct uent *uri_next, *path_next; /* hash chains */
	struct uent *dprev, *dnext;        /* the directory's list */
	struct uent *mprev, *mnext;        /* the list of marked (deferred) URIs */
	bool marked;
};

struct dent {
	char *path;
	int watch_id;
	struct ctxd_subs *s;
	struct uent *uris; /* every URI watched here */
	struct dent *next; /* hash chain */
};

struct table {
	void **b;
	size_t n, count;
	size_t next_off;                /* where the chain pointer sits in a record */
	uint64_t (*hash)(const void *); /* a record's key hash */
};

struct ctxd_subs {
	struct ctxd_watch *watch;
	ctxd_subs_fn fn;
	void *ud;
	struct table by_uri, by_path, by_dir;
	size_t pairs;
	size_t work;
	bool deferred;
	struct uent *marked, *marked_tail;
};

/* ---- hashing ---- */

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

#define FNV_BASIS 1469598103934665603ULL

static uint64_t path_key(const struct dent *d, const char *name)
{
	return fnv(FNV_BASIS ^ (uint64_t)(uintptr_t)d * 0x9e3779b97f4a7c15ULL, name);
}

static uint64_t hash_uri(const void *rec)
{
	return fnv(FNV_BASIS, ((const struct uent *)rec)->uri);
}

static uint64_t hash_path(const void *rec)
{
	const struct uent *u = rec;
	return path_key(u->dir, u->name);
}

static uint64_t hash_dir(const void *rec)
{
	return fnv(FNV_BASIS, ((const struct dent *)rec)->path);
}

/* ---- tables ---- */

static void **next_of(const struct table *t, void *rec)
{
	return (void **)((char *)rec + t->next_off);
}

static size_t slot(const struct table *t, uint64_t h)
{
	h ^= h >> 31;
	return (size_t)(h & (t->n - 1));
}

static int table_init(struct table *t, size_t next_off, uint64_t (*hash)(const void *))
{
	t->n = 64;
	t->count = 0;
	t->next_off = next_off;
	t->hash = hash;
	t->b = calloc(t->n, sizeof(*t->b));
	return t->b ? 0 : -1;
}

static void *table_first(const struct table *t, uint64_t h)
{
	return t->b[slot(t, h)];
}

static void table_grow(struct table *t)
{
	struct table g = *t;
	g.n = t->n * 2;
	g.b = calloc(g.n, sizeof(*g.b));
	if (!g.b) {
		return; /* keep the smaller table: chains only get longer */
	}
	for (size_t i = 0; i < t->n; i++) {
		for (void *r = t->b[i], *next; r; r = next) {
			next = *next_of(t, r);
			void **head = &g.b[slot(&g, t->hash(r))];
			*next_of(t, r) = *head;
			*head = r;
		}
	}
	free(t->b);
	*t = g;
}

static void table_insert(struct table *t, void *rec)
{
	if (t->count + 1 > t->n) {
		table_grow(t);
	}
	void **head = &t->b[slot(t, t->hash(rec))];
	*next_of(t, rec) = *head;
	*head = rec;
	t->count++;
}

static void table_remove(struct table *t, void *rec)
{
	for (void **pp = &t->b[slot(t, t->hash(rec))]; *pp; pp = next_of(t, *pp)) {
		if (*pp == rec) {
			*pp = *next_of(t, rec);
			t->count--;
			return;
		}
	}
}

/* ---- records ---- */

static struct uent *find_uri(const struct ctxd_subs *s, const char *uri)
{
	for (struct uent *u = table_first(&s->by_uri, fnv(FNV_BASIS, uri)); u; u = u->uri_next) {
		if (strcmp(u->uri, uri) == 0) {
			return u;
		}
	}
	return NULL;
}

static struct dent *find_dir(const struct ctxd_subs *s, const char *path)
{
	for (struct dent *d = table_first(&s->by_dir, fnv(FNV_BASIS, path)); d; d = d->next) {
		if (strcmp(d->path, path) == 0) {
			return d;
		}
	}
	return NULL;
}

static void on_watch(void *ud, const char *dir, const char *name, uint32_t mask);

static struct dent *dir_get(struct ctxd_subs *s, const char *path)
{
	struct dent *d = find_dir(s, path);
	if (d) {
		return d;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strdup(path))) {
		free(d);
		errno = ENOMEM;
		return NULL;
	}
	d->s = s;
	if (s->watch) {
		d->watch_id = ctxd_watch_add(s->watch, path, on_watch, d);
		if (d->watch_id < 0) {
			int e = errno;
			free(d->path);
			free(d);
			errno = e;
			return NULL;
		}
	}
	table_insert(&s->by_dir, d);
	return d;
}

static void dir_put(struct ctxd_subs *s, struct dent *d)
{
	if (d->uris) {
		return;
	}
	if (s->watch && d->watch_id > 0) {
		ctxd_watch_remove(s->watch, d->watch_id);
	}
	table_remove(&s->by_dir, d);
	free(d->path);
	free(d);
}

static void unmark(struct ctxd_subs *s, struct uent *u)
{
	if (!u->marked) {
		return;
	}
	*(u->mprev ? &u->mprev->mnext : &s->marked) = u->mnext;
	*(u->mnext ? &u->mnext->mprev : &s->marked_tail) = u->mprev;
	u->mprev = u->mnext = NULL;
	u->marked = false;
}

static void uent_free(struct ctxd_subs *s, struct uent *u)
{
	unmark(s, u);
	table_remove(&s->by_uri, u);
	table_remove(&s->by_path, u);
	struct dent *d = u->dir;
	*(u->dprev ? &u->dprev->dnext : &d->uris) = u->dnext;
	if (u->dnext) {
		u->dnext->dprev = u->dprev;
	}
	free(u->uri);
	free(u->name);
	free(u->holders);
	free(u);
	dir_put(s, d);
}

/* ---- delivery ---- */

static size_t tell(struct ctxd_subs *s, struct uent *u)
{
	if (s->deferred) {
		if (!u->marked) {
			u->marked = true;
			u->mprev = s->marked_tail;
			*(s->marked_tail ? &s->marked_tail->mnext : &s->marked) = u;
			s->marked_tail = u;
		}
		return u->n_holders;
	}
	for (size_t i = 0; i < u->n_holders; i++) {
		s->fn(s->ud, u->uri, u->holders[i]);
	}
	return u->n_holders;
}

/* Every URI watched at (d, name), and those that are d itself. */
static size_t changed_in(struct ctxd_subs *s, struct dent *d, const char *name)
{
	size_t told = 0;
	if (name[0] == '\0') {
		for (struct uent *u = d->uris; u; u = u->dnext) {
			s->work++;
			told += tell(s, u);
		}
		return told;
	}
	const char *keys[2] = {name, ""};
	for (int k = 0; k < 2; k++) {
		for (struct uent *u = table_first(&s->by_path, path_key(d, keys[k])); u;
		     u = u->path_next) {
			s->work++;
			if (u->dir == d && strcmp(u->name, keys[k]) == 0) {
				told += tell(s, u);
			}
		}
	}
	return told;
}

static void on_watch(void *ud, const char *dir, const char *name, uint32_t mask)
{
	struct dent *d = ud;
	(void)dir;
	(void)mask;
	changed_in(d->s, d, name);
}

size_t ctxd_subs_changed(struct ctxd_subs *s, const char *dir, const char *name)
{
	struct dent *d = find_dir(s, dir);
	return d ? changed_in(s, d, name) : 0;
}

size_t ctxd_subs_uri_changed(struct ctxd_subs *s, const char *uri)
{
	struct uent *u = find_uri(s, uri);
	return u ? tell(s, u) : 0;
}

void ctxd_subs_defer(struct ctxd_subs *s, bool on)
{
	s->deferred = on;
	if (on) {
		return;
	}
	/* take the list first: deferral may start again while it is delivered */
	struct uent *u = s->marked;
	s->marked = s->marked_tail = NULL;
	while (u) {
		struct uent *next = u->mnext;
		u->marked = false;
		u->mprev = u->mnext = NULL;
		tell(s, u);
		u = next;
	}
}

/* ---- public ---- */

struct ctxd_subs *ctxd_subs_create(struct ctxd_watch *watch, ctxd_subs_fn fn, void *ud)
{
	struct ctxd_subs *s = calloc(1, sizeof(*s));
	if (!s) {
		return NULL;
	}
	s->watch = watch;
	s->fn = fn;
	s->ud = ud;
	if (table_init(&s->by_uri, offsetof(struct uent, uri_next), hash_uri) < 0 ||
	    table_init(&s->by_path, offsetof(struct uent, path_next), hash_path) < 0 ||
	    table_init(&s->by_dir, offsetof(struct dent, next), hash_dir) < 0) {
		ctxd_subs_destroy(s);
		return NULL;
	}
	return s;
}

void ctxd_subs_destroy(struct ctxd_subs *s)
{
	if (!s) {
		return;
	}
	for (size_t i = 0; s->by_uri.b && i < s->by_uri.n; i++) {
		while (s->by_uri.b[i]) {
			uent_free(s, s->by_uri.b[i]);
		}
	}
	free(s->by_uri.b);
	free(s->by_path.b);
	free(s->by_dir.b);
	free(s);
}

int ctxd_subs_add(struct ctxd_subs *s, const char *uri, const char *dir, const char *name,
		  void *holder)
{
	struct uent *u = find_uri(s, uri);
	if (u) {
		for (size_t i = 0; i < u->n_holders; i++) {
			if (u->holders[i] == holder) {
				return 0;
			}
		}
	} else {
		struct dent *d = dir_get(s, dir);
		if (!d) {
			return -1;
		}
		u = calloc(1, sizeof(*u));
		if (!u || !(u->uri = strdup(uri)) || !(u->name = strdup(name))) {
			if (u) {
				free(u->uri);
			}
			free(u);
			dir_put(s, d);
			errno = ENOMEM;
			return -1;
		}
		u->dir = d;
		u->dnext = d->uris;
		if (d->uris) {
			d->uris->dprev = u;
		}
		d->uris = u;
		table_insert(&s->by_uri, u);
		table_insert(&s->by_path, u);
	}
	if (ctxd_grow((void **)&u->holders, &u->cap_holders, u->n_holders + 1, sizeof(*u->holders),
		      2)) {
		if (u->n_holders == 0) {
			uent_free(s, u);
		}
		errno = ENOMEM;
		return -1;
	}
	u->holders[u->n_holders++] = holder;
	s->pairs++;
	return 1;
}

int ctxd_subs_remove(struct ctxd_subs *s, const char *uri, void *holder)
{
	struct uent *u = find_uri(s, uri);
	for (size_t i = 0; u && i < u->n_holders; i++) {
		if (u->holders[i] == holder) {
			u->holders[i] = u->holders[--u->n_holders];
			s->pairs--;
			if (u->n_holders == 0) {
				uent_free(s, u);
			}
			return 1;
		}
	}
	return 0;
}

bool ctxd_subs_held(const struct ctxd_subs *s, const char *uri, const void *holder)
{
	const struct uent *u = find_uri(s, uri);
	for (size_t i = 0; u && i < u->n_holders; i++) {
		if (u->holders[i] == holder) {
			return true;
		}
	}
	return false;
}

size_t ctxd_subs_count(const struct ctxd_subs *s)
{
	return s->pairs;
}

size_t ctxd_subs_dirs(const struct ctxd_subs *s)
{
	return s->by_dir.count;
}

size_t ctxd_subs_work(const struct ctxd_subs *s)
{
	return s->work;
}
