/* fs_walk.c - confined depth-first directory walk with getdents64 and d_type.
 *
 * Why getdents64 rather than readdir: we keep one reusable 32 KiB buffer for the whole
 * walk instead of a DIR (and its buffer) per open level, and copy each directory's names
 * into one stack-like arena, so a walk of 10,000 entries does a handful of allocations.
 * Entries of a directory are read completely before any of them is visited, which makes
 * sorted order cheap and lets deep levels give their fd back early.
 */
#include "fs_walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/sandbox.h"

/* Levels that keep their directory fd open; deeper ones reopen through the deepest kept. */
#define FS_WALK_FD_DEPTH       64
#define FS_WALK_DENTS_BUF      32768
#define FS_WALK_PROGRESS_EVERY 1000

struct ent {
	size_t name_off;
	size_t name_len;
	enum ctxd_fs_walk_type type;
};

struct frame {
	int fd;         /* -1 once released (deep levels) */
	size_t rel_len; /* length of this directory's relative path in walk.path */
	size_t ents_lo; /* this directory's entries: ents[ents_lo, ents_hi) */
	size_t ents_hi;
	size_t next;     /* next entry to visit */
	size_t names_lo; /* arena mark to restore on pop */
};

struct walk {
	const struct ctxd_fs_walk_opts *o;
	struct ctxd_fs_walk_stats *st;
	struct frame *frames;
	size_t n_frames, cap_frames;
	struct ent *ents;
	size_t n_ents, cap_ents;
	char *names;
	size_t n_names, cap_names;
	char path[CTXD_PATH_MAX];
	char dents[FS_WALK_DENTS_BUF];
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap) {
		return 0;
	}
	size_t n = *cap ? *cap : 64;
	while (n < need) {
		n *= 2;
	}
	void *q = realloc(*p, n * elem);
	if (!q) {
		return -1;
	}
	*p = q;
	*cap = n;
	return 0;
}

static enum ctxd_fs_walk_type type_of_mode(mode_t m)
{
	if (S_ISREG(m)) {
		return CTXD_FS_WALK_FILE;
	}
	if (S_ISDIR(m)) {
		return CTXD_FS_WALK_DIR;
	}
	if (S_ISLNK(m)) {
		return CTXD_FS_WALK_SYMLINK;
	}
	return CTXD_FS_WALK_OTHER;
}

static enum ctxd_fs_walk_type type_of_dirent(int dirfd, const char *name, unsigned char d_type)
{
	switch (d_type) {
	case DT_REG:
		return CTXD_FS_WALK_FILE;
	case DT_DIR:
		return CTXD_FS_WALK_DIR;
	case DT_LNK:
		return CTXD_FS_WALK_SYMLINK;
	case DT_UNKNOWN: {
		struct stat sb;
		if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
			return type_of_mode(sb.st_mode);
		}
		return CTXD_FS_WALK_OTHER;
	}
	default:
		return CTXD_FS_WALK_OTHER;
	}
}

static int cmp_ent(const void *a, const void *b, void *arg)
{
	const char *names = arg;
	const struct ent *x = a, *y = b;
	return strcmp(names + x->name_off, names + y->name_off);
}

/* Read every entry of `fd` into the arena. Returns 0 or -errno. */
static int read_dir(struct walk *w, int fd, size_t *lo, size_t *hi)
{
	*lo = w->n_ents;
	for (;;) {
		if (ctxd_job_cancelled(w->o->job)) {
			return -ECANCELED;
		}
		ssize_t n = getdents64(fd, w->dents, sizeof(w->dents));
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		if (n == 0) {
			break;
		}
		for (ssize_t off = 0; off < n;) {
			const struct dirent64 *d = (const struct dirent64 *)(w->dents + off);
			off += d->d_reclen;
			const char *nm = d->d_name;
			if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0'))) {
				continue;
			}
			size_t len = strlen(nm);
			if (grow((void **)&w->ents, &w->cap_ents, w->n_ents + 1,
			         sizeof(*w->ents)) ||
			    grow((void **)&w->names, &w->cap_names, w->n_names + len + 1, 1)) {
				return -ENOMEM;
			}
			struct ent *e = &w->ents[w->n_ents++];
			e->name_off = w->n_names;
			e->name_len = len;
			e->type = type_of_dirent(fd, nm, d->d_type);
			memcpy(w->names + w->n_names, nm, len + 1);
			w->n_names += len + 1;
		}
	}
	*hi = w->n_ents;
	if (w->o->sorted && *hi - *lo > 1) {
		qsort_r(w->ents + *lo, *hi - *lo, sizeof(*w->ents), cmp_ent, w->names);
	}
	if (w->st) {
		w->st->dirs++;
	}
	return 0;
}

/* Push a frame for the directory open as `fd` (ownership passes to the walk). */
static int push(struct walk *w, int fd, size_t rel_len)
{
	if (grow((void **)&w->frames, &w->cap_frames, w->n_frames + 1, sizeof(*w->frames))) {
		close(fd);
		return -ENOMEM;
	}
	struct frame *f = &w->frames[w->n_frames];
	f->names_lo = w->n_names;
	f->rel_len = rel_len;
	int rc = read_dir(w, fd, &f->ents_lo, &f->ents_hi);
	if (rc < 0) {
		w->n_ents = f->ents_lo;
		w->n_names = f->names_lo;
		close(fd);
		return rc;
	}
	f->next = f->ents_lo;
	if (w->n_frames >= FS_WALK_FD_DEPTH) {
		close(fd);
		fd = -1;
	}
	f->fd = fd;
	w->n_frames++;
	return 0;
}

static void pop(struct walk *w)
{
	struct frame *f = &w->frames[--w->n_frames];
	if (f->fd >= 0) {
		close(f->fd);
	}
	w->n_ents = f->ents_lo;
	w->n_names = f->names_lo;
}

/* The (fd, relative path) pair that reaches `rel` from the deepest level holding an fd. */
static void reach(const struct walk *w, const struct frame *parent, const char *name, int *fd,
                  const char **path)
{
	if (parent->fd >= 0) {
		*fd = parent->fd;
		*path = name;
		return;
	}
	const struct frame *a = &w->frames[FS_WALK_FD_DEPTH - 1];
	*fd = a->fd;
	*path = w->path + a->rel_len + (a->rel_len ? 1 : 0);
}

int ctxd_fs_walk(int dirfd, const struct ctxd_fs_walk_opts *opts, struct ctxd_fs_walk_stats *stats)
{
	struct walk *w = calloc(1, sizeof(*w));
	if (!w) {
		return -ENOMEM;
	}
	w->o = opts;
	w->st = stats;
	if (stats) {
		memset(stats, 0, sizeof(*stats));
	}
	int rc = 0;
	int fd = ctxd_sandbox_openat(dirfd, ".", O_RDONLY | O_DIRECTORY, 0, false);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = push(w, fd, 0);
	if (rc < 0) {
		goto out;
	}
	size_t seen = 0;
	while (w->n_frames > 0) {
		struct frame *f = &w->frames[w->n_frames - 1];
		if (f->next == f->ents_hi) {
			pop(w);
			continue;
		}
		const struct ent *en = &w->ents[f->next++];
		const char *name = w->names + en->name_off;
		size_t sep = f->rel_len ? 1 : 0;
		size_t rel_len = f->rel_len + sep + en->name_len;
		if (rel_len >= CTXD_PATH_MAX) {
			if (stats) {
				stats->too_long++;
			}
			continue;
		}
		if (sep) {
			w->path[f->rel_len] = '/';
		}
		memcpy(w->path + f->rel_len + sep, name, en->name_len + 1);

		struct ctxd_fs_walk_entry e = {
		    .rel = w->path,
		    .rel_len = rel_len,
		    .name = w->path + f->rel_len + sep,
		    .name_len = en->name_len,
		    .type = en->type,
		    .depth = (unsigned)w->n_frames,
		};
		reach(w, f, e.name, &e.at_fd, &e.at_path);

		seen++;
		if (stats) {
			stats->entries = seen;
		}
		if (ctxd_job_cancelled(opts->job)) {
			rc = -ECANCELED;
			goto out;
		}
		if (opts->progress && seen % FS_WALK_PROGRESS_EVERY == 0) {
			opts->progress->report(opts->progress, (double)seen, -1, NULL);
		}
		if (opts->exclude && opts->exclude(&e, opts->ud)) {
			continue;
		}
		int act = opts->visit(&e, opts->ud);
		if (act == CTXD_FS_WALK_STOP) {
			rc = 1;
			goto out;
		}
		if (e.type != CTXD_FS_WALK_DIR || act == CTXD_FS_WALK_SKIP ||
		    (opts->max_depth && w->n_frames >= opts->max_depth)) {
			continue;
		}
		int cfd = ctxd_sandbox_openat(e.at_fd, e.at_path,
		                              O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, true);
		if (cfd < 0) {
			if (stats) {
				stats->unreadable++;
			}
			continue;
		}
		int prc = push(w, cfd, rel_len);
		if (prc == -ENOMEM || prc == -ECANCELED) {
			rc = prc;
			goto out;
		}
		if (prc < 0 && stats) {
			stats->unreadable++;
		}
	}
out:
	while (w->n_frames > 0) {
		pop(w);
	}
	free(w->frames);
	free(w->ents);
	free(w->names);
	free(w);
	return rc;
}
