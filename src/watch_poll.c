/* watch_poll.c - the change watcher's portable backend (src/watch_os.h): polling.
 *
 * Every `interval` (limits.poll_ms, default 100 ms) a timer on the loop thread lists each
 * watched directory and stats its entries (lstat: a symlink is an entry, not its target),
 * and compares them with the previous listing: a new name is CREATE (a new regular file
 * CREATE|CLOSE_WRITE: it comes with its content), a missing one DELETE,
 * another inode under the same name DELETE|CREATE, a new size or mtime MODIFY|CLOSE_WRITE,
 * a new ctime, mode, owner or link count ATTRIB; a subdirectory's own times are not
 * compared (inotify does not report them either). The directory itself gone or replaced
 * is DELETE_SELF on the name "".
 *
 * Order: inotify delivers a change only after every earlier change; a poll that finds a
 * change cannot know whether a directory (or an entry) it listed earlier in the same pass
 * changed since. So changes are held as they are found and delivered only at the end of the
 * first pass that finds nothing new: that pass began after every change found before it, so
 * any earlier change in any directory has been found by then. Within the delivery they go
 * in the order they happened as far as the file system tells: by the entry's ctime (a
 * deletion by the ctime it had, a time before it went), then deletions before changes
 * before creations (a marker file replaced by rename after a change is a creation; kernels
 * since 6.13 give fine-grained ctimes to files whose ctime was looked at, so ties are rare),
 * then inode number, then the order found. Like inotify's quiet period, a directory that
 * never stops changing delays delivery.
 *
 * Coarse timestamps: a file system stamps times from a clock that advances in ticks (on
 * Linux the scheduler tick; some file systems whole seconds), so a second write of the same
 * size within the tick of a listing leaves every stat field as it was. An entry whose
 * mtime or ctime lies within RACY_NS of the listing's clock is therefore also remembered by
 * a SHA-256 of its first HASH_BYTES, and compared by content while its times stay equal
 * (the "racily clean" entries of git's index). Only regular files are read.
 *
 * Registrations come from any thread (under the watcher's lock, then ours); the timer and
 * the listings run on the loop thread, under our lock, which add/remove take only briefly.
 * Lookups walk the directory list: polling costs O(entries) per pass anyway.
 */
#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/strbuf.h"
#include "ctxd/watch.h"
#include "watch_os.h"

#define DEFAULT_INTERVAL_MS 100
/* Timestamps this close to the listing's clock may hide a later change (2 s: file systems
 * with whole-second times, e.g. FAT, NFS with some servers). */
#define RACY_NS (2LL * 1000000000LL)
/* How much of a racy file is hashed. */
#define HASH_BYTES (1 << 20)
#define READ_CHUNK 65536

#ifdef __APPLE__
#define MTIM(st) ((st)->st_mtimespec)
#define CTIM(st) ((st)->st_ctimespec)
#else
#define MTIM(st) ((st)->st_mtim)
#define CTIM(st) ((st)->st_ctim)
#endif

struct entry {
	char *name;
	struct stat st;
	bool hashed; /* racy when listed: `sum` holds its content's hash */
	uint8_t sum[SHA256_DIGEST_SIZE];
};

struct pdir {
	int handle;
	char *path;
	bool present; /* listed at the last pass (else gone, or never there) */
	dev_t dev;
	ino_t ino;
	struct entry *ents; /* sorted by name */
	size_t n;
	struct pdir *next;
};

/* A change found by a pass, handed to the watcher after our lock is released. */
struct change {
	int handle;
	uint32_t mask;
	int64_t when; /* ctime (ns) of the entry after the change, or before a deletion */
	int rank;     /* at equal times: 0 deletion, 1 change, 2 creation */
	uint64_t ino;
	uint64_t seq; /* order found */
	struct change *next;
	char name[];
};

struct ctxd_watch_os {
	struct ctxd_watch *w;
	struct ev_loop *loop;
	ev_timer tick;
	pthread_mutex_t mu;
	struct pdir *dirs;
	int next_handle;
	atomic_uint interval_ms; /* wanted; `tick` is re-armed when it differs from `cur_ms` */
	unsigned cur_ms;         /* loop thread */
	struct change *held, **held_tail; /* loop thread: found, not yet delivered */
	uint64_t seq;                     /* loop thread: changes found so far */
	char *buf;                        /* READ_CHUNK bytes for hashing, under `mu` */
};

static int64_t ts_ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static bool ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static bool racy(const struct stat *st, int64_t now)
{
	int64_t m = ts_ns(MTIM(st)), c = ts_ns(CTIM(st));
	return (m > c ? m : c) >= now - RACY_NS;
}

/* Hash the first HASH_BYTES of regular file `e` in `dfd` into e->sum. False when it cannot
 * be read as the same regular file (then it is compared by its stat only). */
static bool hash_entry(struct ctxd_watch_os *os, int dfd, struct entry *e)
{
	if (!S_ISREG(e->st.st_mode)) {
		return false;
	}
	int fd = openat(dfd, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (fd < 0) {
		return false;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_ino != e->st.st_ino ||
	    st.st_dev != e->st.st_dev) {
		close(fd);
		return false;
	}
	struct sha256_ctx ctx;
	sha256_init(&ctx);
	size_t total = 0;
	while (total < HASH_BYTES) {
		ssize_t n = read(fd, os->buf, READ_CHUNK);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		sha256_update(&ctx, (size_t)n, (const uint8_t *)os->buf);
		total += (size_t)n;
	}
	close(fd);
	sha256_digest(&ctx, SHA256_DIGEST_SIZE, e->sum);
	return true;
}

static void free_entries(struct entry *ents, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ents[i].name);
	}
	free(ents);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* List the directory open as `d` into a sorted array. Returns 0, or -1 with errno. */
static int list_dir(DIR *d, struct entry **out, size_t *nout)
{
	struct entry *ents = NULL;
	size_t n = 0, cap = 0;
	int dfd = dirfd(d);
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
			continue;
		}
		struct stat st;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT) {
				errno = 0;
				continue; /* gone since readdir: the next pass sees it missing */
			}
			goto fail;
		}
		if (ctxd_grow((void **)&ents, &cap, n + 1, sizeof(*ents), 16) < 0) {
			errno = ENOMEM;
			goto fail;
		}
		ents[n] = (struct entry){.name = strdup(de->d_name), .st = st};
		if (!ents[n].name) {
			errno = ENOMEM;
			goto fail;
		}
		n++;
		errno = 0;
	}
	if (errno) {
		goto fail;
	}
	if (n > 1) {
		qsort(ents, n, sizeof(*ents), cmp_entry);
	}
	*out = ents;
	*nout = n;
	return 0;
fail:;
	int e = errno;
	free_entries(ents, n);
	errno = e;
	return -1;
}

/* What changed between two listings of one name; hashes `nw` when it is racy, or when `old`
 * was (to compare content under equal times). */
static uint32_t entry_change(struct ctxd_watch_os *os, int dfd, const struct entry *old,
			     struct entry *nw, int64_t now)
{
	const struct stat *a = &old->st, *b = &nw->st;
	bool keep_hash = racy(b, now);
	if (a->st_dev != b->st_dev || a->st_ino != b->st_ino ||
	    (a->st_mode & S_IFMT) != (b->st_mode & S_IFMT)) {
		nw->hashed = keep_hash && hash_entry(os, dfd, nw);
		return CTXD_WATCH_DELETE | CTXD_WATCH_CREATE;
	}
	uint32_t m = 0;
	if (!S_ISDIR(b->st_mode)) {
		if (a->st_size != b->st_size || !ts_eq(MTIM(a), MTIM(b))) {
			m |= CTXD_WATCH_MODIFY | CTXD_WATCH_CLOSE_WRITE;
			nw->hashed = keep_hash && hash_entry(os, dfd, nw);
		} else if (old->hashed || keep_hash) {
			bool h = hash_entry(os, dfd, nw);
			if (h && old->hashed && memcmp(old->sum, nw->sum, sizeof(nw->sum)) != 0) {
				m |= CTXD_WATCH_MODIFY | CTXD_WATCH_CLOSE_WRITE;
			}
			nw->hashed = h && keep_hash;
		}
		if (!m && (!ts_eq(CTIM(a), CTIM(b)) || a->st_nlink != b->st_nlink)) {
			m |= CTXD_WATCH_ATTRIB;
		}
	}
	if (a->st_mode != b->st_mode || a->st_uid != b->st_uid || a->st_gid != b->st_gid) {
		m |= CTXD_WATCH_ATTRIB;
	}
	return m;
}

/* Remember the change `mask` of `name` in directory `handle`; `st` is the entry after it (or
 * before, for a deletion; NULL for the directory itself). */
static void add_change(struct ctxd_watch_os *os, int handle, const char *name, uint32_t mask,
		       const struct stat *st)
{
	size_t len = strlen(name);
	struct change *c = malloc(sizeof(*c) + len + 1);
	if (!c) {
		return; /* out of memory: this change is not reported */
	}
	c->handle = handle;
	c->mask = mask;
	c->when = st ? ts_ns(CTIM(st)) : 0;
	c->rank = mask & CTXD_WATCH_CREATE ? 2 : mask & CTXD_WATCH_DELETE ? 0 : 1;
	c->ino = st ? (uint64_t)st->st_ino : 0;
	c->seq = os->seq++;
	c->next = NULL;
	memcpy(c->name, name, len + 1);
	*os->held_tail = c;
	os->held_tail = &c->next;
}

static int cmp_change(const void *a, const void *b)
{
	const struct change *x = *(const struct change *const *)a;
	const struct change *y = *(const struct change *const *)b;
	if (x->when != y->when) {
		return x->when < y->when ? -1 : 1;
	}
	if (x->rank != y->rank) {
		return x->rank - y->rank;
	}
	if (x->ino != y->ino) {
		return x->ino < y->ino ? -1 : 1;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hand every held change to the watcher, in the order they happened, and deliver. */
static void deliver_held(struct ctxd_watch_os *os)
{
	size_t n = 0;
	for (struct change *c = os->held; c; c = c->next) {
		n++;
	}
	struct change **v = malloc(n * sizeof(*v));
	if (v) {
		n = 0;
		for (struct change *c = os->held; c; c = c->next) {
			v[n++] = c;
		}
		qsort(v, n, sizeof(*v), cmp_change);
		for (size_t i = 0; i < n; i++) {
			ctxd_watch_os_event(os->w, v[i]->handle, v[i]->name, v[i]->mask);
		}
	} else { /* out of memory: in the order found */
		for (struct change *c = os->held; c; c = c->next) {
			ctxd_watch_os_event(os->w, c->handle, c->name, c->mask);
		}
	}
	free(v);
	while (os->held) {
		struct change *c = os->held;
		os->held = c->next;
		free(c);
	}
	os->held_tail = &os->held;
	ctxd_watch_os_deliver(os->w);
}

/* List `pd` again. With `report`, hold what changed since the last listing; without, only
 * take the listing (a new registration). Returns 0, or -1 with errno when the
 * directory could not be listed for another reason than being gone (the old listing
 * stays). Under `mu`. */
static int poll_dir(struct ctxd_watch_os *os, struct pdir *pd, int64_t now, bool report)
{
	struct entry *ents = NULL;
	size_t n = 0;
	bool present = false;
	struct stat dst = {0};
	int fd = open(pd->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		int e = errno;
		if (fd >= 0) {
			close(fd);
		}
		if (e != ENOENT && e != ENOTDIR) {
			errno = e;
			return -1; /* EMFILE, EACCES ...: try again at the next pass */
		}
	} else if (fstat(dirfd(d), &dst) < 0 || list_dir(d, &ents, &n) < 0) {
		int e = errno;
		closedir(d);
		errno = e;
		return -1;
	} else {
		present = true;
	}
	bool replaced = pd->present && (!present || dst.st_dev != pd->dev || dst.st_ino != pd->ino);
	if (report && replaced) {
		add_change(os, pd->handle, "", CTXD_WATCH_DELETE_SELF, NULL);
	}
	size_t i = 0, j = 0;
	while (i < pd->n || j < n) {
		int c = i == pd->n ? 1 : j == n ? -1 : strcmp(pd->ents[i].name, ents[j].name);
		uint32_t m = 0;
		const char *name;
		const struct stat *st;
		if (c < 0) {
			m = CTXD_WATCH_DELETE;
			st = &pd->ents[i].st;
			name = pd->ents[i++].name;
		} else if (c > 0) {
			/* a new file comes with its content: as written and closed */
			m = CTXD_WATCH_CREATE |
			    (S_ISREG(ents[j].st.st_mode) ? CTXD_WATCH_CLOSE_WRITE : 0);
			ents[j].hashed =
			    racy(&ents[j].st, now) && hash_entry(os, dirfd(d), &ents[j]);
			st = &ents[j].st;
			name = ents[j++].name;
		} else {
			m = entry_change(os, dirfd(d), &pd->ents[i], &ents[j], now);
			st = &ents[j].st;
			name = ents[j].name;
			i++;
			j++;
		}
		if (report && m) {
			add_change(os, pd->handle, name, m, st);
		}
	}
	if (d) {
		closedir(d);
	}
	free_entries(pd->ents, pd->n);
	pd->ents = ents;
	pd->n = n;
	pd->present = present;
	pd->dev = dst.st_dev;
	pd->ino = dst.st_ino;
	return 0;
}

/* Test hook: called on the loop thread after a pass listed a directory (with its path), so
 * a test can change files between two listings of one pass. Not in any header on purpose. */
static void (*test_after_dir)(const char *dir);
void ctxd_watch_poll_test_hook(void (*fn)(const char *dir));

void ctxd_watch_poll_test_hook(void (*fn)(const char *dir))
{
	test_after_dir = fn;
}

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return ts_ns(t);
}

static void on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct ctxd_watch_os *os = t->data;
	(void)revents;
	unsigned ms = atomic_load(&os->interval_ms);
	if (ms != os->cur_ms) {
		os->cur_ms = ms;
		t->repeat = ms / 1000.0;
		ev_timer_again(loop, t);
	}
	uint64_t before = os->seq;
	int64_t now = now_ns(); /* before any listing: racy errs on the safe side */
	pthread_mutex_lock(&os->mu);
	for (struct pdir *pd = os->dirs; pd; pd = pd->next) {
		poll_dir(os, pd, now, true);
		if (test_after_dir) {
			test_after_dir(pd->path);
		}
	}
	pthread_mutex_unlock(&os->mu);
	if (os->seq == before && os->held) {
		deliver_held(os); /* a pass that found nothing new */
	}
}

struct ctxd_watch_os *ctxd_watch_os_create(struct ctxd_watch *w, struct ev_loop *loop)
{
	struct ctxd_watch_os *os = calloc(1, sizeof(*os));
	char *buf = malloc(READ_CHUNK);
	if (!os || !buf) {
		free(os);
		free(buf);
		errno = ENOMEM;
		return NULL;
	}
	os->w = w;
	os->loop = loop;
	os->buf = buf;
	os->held_tail = &os->held;
	os->cur_ms = DEFAULT_INTERVAL_MS;
	atomic_init(&os->interval_ms, DEFAULT_INTERVAL_MS);
	pthread_mutex_init(&os->mu, NULL);
	ev_timer_init(&os->tick, on_tick, os->cur_ms / 1000.0, os->cur_ms / 1000.0);
	os->tick.data = os;
	ev_timer_start(loop, &os->tick);
	return os;
}

static void pdir_free(struct pdir *pd)
{
	free_entries(pd->ents, pd->n);
	free(pd->path);
	free(pd);
}

void ctxd_watch_os_destroy(struct ctxd_watch_os *os)
{
	if (!os) {
		return;
	}
	ev_timer_stop(os->loop, &os->tick);
	while (os->held) {
		struct change *c = os->held;
		os->held = c->next;
		free(c);
	}
	while (os->dirs) {
		struct pdir *pd = os->dirs;
		os->dirs = pd->next;
		pdir_free(pd);
	}
	pthread_mutex_destroy(&os->mu);
	free(os->buf);
	free(os);
}

int ctxd_watch_os_add(struct ctxd_watch_os *os, const char *dir)
{
	struct stat st;
	if (stat(dir, &st) < 0) {
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	pthread_mutex_lock(&os->mu);
	for (struct pdir *pd = os->dirs; pd; pd = pd->next) {
		if (strcmp(pd->path, dir) == 0) {
			int h = pd->handle;
			pthread_mutex_unlock(&os->mu);
			return h;
		}
	}
	struct pdir *pd = calloc(1, sizeof(*pd));
	if (!pd || !(pd->path = strdup(dir))) {
		pthread_mutex_unlock(&os->mu);
		free(pd);
		errno = ENOMEM;
		return -1;
	}
	/* the first listing now: a change made after this call returns is seen */
	int rc = poll_dir(os, pd, now_ns(), false);
	if (rc < 0 || !pd->present) {
		int e = rc < 0 ? errno : ENOENT;
		pthread_mutex_unlock(&os->mu);
		pdir_free(pd);
		errno = e;
		return -1;
	}
	pd->handle = os->next_handle++;
	pd->next = os->dirs;
	os->dirs = pd;
	pthread_mutex_unlock(&os->mu);
	return pd->handle;
}

void ctxd_watch_os_remove(struct ctxd_watch_os *os, int handle)
{
	pthread_mutex_lock(&os->mu);
	for (struct pdir **pp = &os->dirs; *pp; pp = &(*pp)->next) {
		if ((*pp)->handle == handle) {
			struct pdir *pd = *pp;
			*pp = pd->next;
			pdir_free(pd);
			break;
		}
	}
	pthread_mutex_unlock(&os->mu);
}

void ctxd_watch_os_set_interval(struct ctxd_watch_os *os, unsigned ms)
{
	atomic_store(&os->interval_ms, ms ? ms : DEFAULT_INTERVAL_MS);
}
