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
#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/sandbox.h"
#include "fs_priv.h"

/* Levels that keep their directory fd open; deeper ones (but the deepest) reopen through
 * the deepest kept. */
#define FS_WALK_FD_DEPTH       64
#define FS_WALK_DENTS_BUF      32768
#define FS_WALK_PROGRESS_EVERY 1000
/* Entries between two looks at the clock for the deadline (the cancel flag: every entry). */
#define FS_WALK_CLOCK_EVERY 64

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

enum ctxd_fs_walk_type ctxd_fs_dirent_type(int dirfd, const char *name, unsigned char d_type)
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

int ctxd_fs_read_dir(
    int fd, char *buf, size_t buf_len, const struct ctxd_job *job, int64_t deadline_ms,
    int (*add)(void *ud, const char *name, size_t len, enum ctxd_fs_walk_type type), void *ud)
{
	for (;;) {
		if (ctxd_job_cancelled(job)) {
			return -ECANCELED;
		}
		if (ctxd_deadline_passed(deadline_ms)) {
			return -ETIMEDOUT;
		}
		ssize_t n = getdents64(fd, buf, buf_len);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		if (n == 0) {
			return 0;
		}
		for (ssize_t off = 0; off < n;) {
			const struct dirent64 *d = (const struct dirent64 *)(buf + off);
			off += d->d_reclen;
			const char *nm = d->d_name;
			if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0'))) {
				continue;
			}
			int rc = add(ud, nm, strlen(nm), ctxd_fs_dirent_type(fd, nm, d->d_type));
			if (rc < 0) {
				return rc;
			}
		}
	}
}

static int walk_add(void *ud, const char *nm, size_t len, enum ctxd_fs_walk_type type)
{
	struct walk *w = ud;
	if (ctxd_grow((void **)&w->ents, &w->cap_ents, w->n_ents + 1, sizeof(*w->ents), 64) ||
	    ctxd_grow((void **)&w->names, &w->cap_names, w->n_names + len + 1, 1, 64)) {
		return -ENOMEM;
	}
	struct ent *e = &w->ents[w->n_ents++];
	e->name_off = w->n_names;
	e->name_len = len;
	e->type = type;
	memcpy(w->names + w->n_names, nm, len + 1);
	w->n_names += len + 1;
	return 0;
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
	int rc = ctxd_fs_read_dir(fd, w->dents, sizeof(w->dents), w->o->job, w->o->deadline_ms,
				  walk_add, w);
	if (rc < 0) {
		return rc;
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
	if (ctxd_grow((void **)&w->frames, &w->cap_frames, w->n_frames + 1, sizeof(*w->frames),
		      64)) {
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
	f->fd = fd;
	w->n_frames++;
	/* Below FS_WALK_FD_DEPTH only the deepest level keeps its fd: the parent gives its fd
	 * back now (its later entries are reached from the anchor), while this level's own
	 * entries and children open from its fd, so a chain of 3,000 directories costs one
	 * short open per level instead of a path walk from the anchor each. */
	size_t pi = w->n_frames - 2;
	if (w->n_frames >= 2 && pi >= FS_WALK_FD_DEPTH && w->frames[pi].fd >= 0) {
		close(w->frames[pi].fd);
		w->frames[pi].fd = -1;
	}
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

/* Fills e for the next entry of level f (its path written into w->path); false when the path
 * reaches CTXD_PATH_MAX (counted as too long, not visited). */
static bool next_entry(struct walk *w, struct frame *f, struct ctxd_fs_walk_entry *e)
{
	const struct ent *en = &w->ents[f->next++];
	const char *name = w->names + en->name_off;
	size_t sep = f->rel_len ? 1 : 0;
	size_t rel_len = f->rel_len + sep + en->name_len;
	if (rel_len >= CTXD_PATH_MAX) {
		if (w->st) {
			w->st->too_long++;
		}
		return false;
	}
	if (sep) {
		w->path[f->rel_len] = '/';
	}
	memcpy(w->path + f->rel_len + sep, name, en->name_len + 1);

	*e = (struct ctxd_fs_walk_entry){
	    .rel = w->path,
	    .rel_len = rel_len,
	    .name = w->path + f->rel_len + sep,
	    .name_len = en->name_len,
	    .type = en->type,
	    .depth = (unsigned)w->n_frames,
	};
	reach(w, f, e->name, &e->at_fd, &e->at_path);
	return true;
}

/* Counts the entry seen and checks the job and the clock: 0, -ECANCELED or -ETIMEDOUT. */
static int note_seen(struct walk *w, size_t seen)
{
	const struct ctxd_fs_walk_opts *opts = w->o;
	if (w->st) {
		w->st->entries = seen;
	}
	if (ctxd_job_cancelled(opts->job)) {
		return -ECANCELED;
	}
	if (seen % FS_WALK_CLOCK_EVERY == 0 && ctxd_deadline_passed(opts->deadline_ms)) {
		return -ETIMEDOUT;
	}
	if (opts->progress && seen % FS_WALK_PROGRESS_EVERY == 0) {
		opts->progress->report(opts->progress, (double)seen, -1, NULL);
	}
	return 0;
}

/* Opens directory e and makes it the deepest level; 0 (an unreadable one is counted and
 * skipped) or the negative errno that ends the walk. */
static int descend(struct walk *w, const struct ctxd_fs_walk_entry *e)
{
	int cfd =
	    ctxd_sandbox_openat(e->at_fd, e->at_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, true);
	if (cfd < 0) {
		if (w->st) {
			w->st->unreadable++;
		}
		return 0;
	}
	int prc = push(w, cfd, e->rel_len);
	if (prc == -ENOMEM || prc == -ECANCELED || prc == -ETIMEDOUT) {
		return prc;
	}
	if (prc < 0 && w->st) {
		w->st->unreadable++;
	}
	return 0;
}

/* Closes the levels still open and frees the walk. */
static void walk_free(struct walk *w)
{
	while (w->n_frames > 0) {
		pop(w);
	}
	free(w->frames);
	free(w->ents);
	free(w->names);
	free(w);
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
		struct ctxd_fs_walk_entry e;
		if (!next_entry(w, f, &e)) {
			continue;
		}
		rc = note_seen(w, ++seen);
		if (rc < 0) {
			goto out;
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
		rc = descend(w, &e);
		if (rc < 0) {
			goto out;
		}
	}
out:
	walk_free(w);
	return rc;
}

/* ---- path globs --------------------------------------------------------------------
 *
 * Why not fnmatch(3) on the whole path and recursion for '**': a pattern of 1,000 '**'
 * components recursed once per component and overflowed the stack, and the work grew
 * exponentially with their number. Components are matched one by one instead (fnmatch only
 * ever sees one component), '**' runs collapse, and the classic greedy wildcard loop with a
 * single backtrack point treats '**' as the star over components: O(pattern components x
 * path components) component tests at worst, no recursion, no allocation. */

enum comp_kind {
	COMP_LIT,  /* no glob character: strcmp */
	COMP_ANY,  /* '*' alone: any one component */
	COMP_PAT,  /* fnmatch on the component */
	COMP_STAR, /* '**': zero or more components */
};

struct gcomp {
	const char *s;
	enum comp_kind kind;
};

struct ctxd_fs_glob {
	struct gcomp *c;
	size_t n;
	size_t fixed; /* components other than COMP_STAR: a path needs at least this many */
	size_t tail;  /* index just after the last COMP_STAR (0 when there is none) */
	bool has_star;
	bool never;  /* an empty component or a NUL byte: the glob matches nothing */
	char text[]; /* the components, NUL-separated */
};

static void glob_push(struct ctxd_fs_glob *g, const char *s, enum comp_kind k)
{
	if (k == COMP_STAR && g->n > 0 && g->c[g->n - 1].kind == COMP_STAR) {
		return; /* '**' after '**' adds nothing */
	}
	g->c[g->n].s = s;
	g->c[g->n].kind = k;
	g->n++;
	if (k == COMP_STAR) {
		g->has_star = true;
		g->tail = g->n;
	} else {
		g->fixed++;
	}
}

int ctxd_fs_glob_compile(const char *pat, size_t len, struct ctxd_fs_glob **out)
{
	*out = NULL;
	if (len > CTXD_FS_GLOB_MAX) {
		return -E2BIG;
	}
	size_t slots = 2; /* a trailing '**' takes two */
	for (size_t i = 0; i < len; i++) {
		slots += pat[i] == '/';
	}
	struct ctxd_fs_glob *g = calloc(1, sizeof(*g) + len + 1);
	if (!g || !(g->c = malloc(slots * sizeof(*g->c)))) {
		free(g);
		return -ENOMEM;
	}
	if (len) { /* memcpy's arguments must be valid even for 0 bytes */
		memcpy(g->text, pat, len);
	}
	g->never = memchr(pat, '\0', len) != NULL;
	for (char *p = g->text;;) {
		char *slash = memchr(p, '/', len - (size_t)(p - g->text));
		if (slash) {
			*slash = '\0';
		}
		size_t cl = slash ? (size_t)(slash - p) : len - (size_t)(p - g->text);
		if (cl == 0) {
			g->never = true;
		} else if (cl == 2 && p[0] == '*' && p[1] == '*') {
			if (!slash) {
				/* trailing '**': one or more components */
				glob_push(g, p, COMP_ANY);
			}
			glob_push(g, p, COMP_STAR);
		} else if (cl == 1 && p[0] == '*') {
			glob_push(g, p, COMP_ANY);
		} else {
			glob_push(g, p, strpbrk(p, "*?[\\") ? COMP_PAT : COMP_LIT);
		}
		if (!slash) {
			break;
		}
		p = slash + 1;
	}
	*out = g;
	return 0;
}

void ctxd_fs_glob_free(struct ctxd_fs_glob *g)
{
	if (g) {
		free(g->c);
		free(g);
	}
}

static bool comp_match(const struct gcomp *c, const char *name)
{
	switch (c->kind) {
	case COMP_LIT:
		return strcmp(c->s, name) == 0;
	case COMP_ANY:
		return true;
	case COMP_PAT:
		return fnmatch(c->s, name, 0) == 0;
	default:
		return false;
	}
}

/* The glob against the path split into `ns` NUL-terminated components at buf + off[k]. */
static bool glob_split_match(const struct ctxd_fs_glob *g, const char *buf, const uint32_t *off,
			     size_t ns)
{
	/* The components after the last '**' are anchored at the end of the path. */
	size_t tl = g->n - g->tail;
	for (size_t k = 0; k < tl; k++) {
		if (!comp_match(&g->c[g->tail + k], buf + off[ns - tl + k])) {
			return false;
		}
	}
	if (!g->has_star) {
		return true; /* ns == g->n was checked */
	}
	/* The rest ends with '**': greedy, backtracking only to the last '**' seen. */
	size_t pn = g->tail, sn = ns - tl;
	size_t p = 0, i = 0, star = SIZE_MAX, star_i = 0;
	while (i < sn) {
		if (p < pn && g->c[p].kind == COMP_STAR) {
			star = p++;
			star_i = i;
		} else if (p < pn && comp_match(&g->c[p], buf + off[i])) {
			p++;
			i++;
		} else if (star != SIZE_MAX) {
			p = star + 1;
			i = ++star_i;
		} else {
			return false;
		}
	}
	while (p < pn && g->c[p].kind == COMP_STAR) {
		p++;
	}
	return p == pn;
}

bool ctxd_fs_glob_match(const struct ctxd_fs_glob *g, const char *path, size_t len)
{
	if (g->never) {
		return false;
	}
	size_t ns = 1;
	for (const char *q = path; (q = memchr(q, '/', len - (size_t)(q - path))); q++) {
		ns++;
	}
	if (ns < g->fixed || (!g->has_star && ns != g->n)) {
		return false;
	}
	char sbuf[CTXD_PATH_MAX];
	uint32_t soff[CTXD_PATH_MAX];
	char *buf = sbuf;
	uint32_t *off = soff;
	if (len >= sizeof(sbuf)) {
		buf = malloc(len + 1);
		off = malloc(ns * sizeof(*off));
		if (!buf || !off || len > UINT32_MAX) {
			free(buf);
			free(off);
			return false;
		}
	}
	if (len) {
		memcpy(buf, path, len);
	}
	buf[len] = '\0';
	size_t k = 0;
	off[k++] = 0;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '/') {
			buf[i] = '\0';
			off[k++] = (uint32_t)(i + 1);
		}
	}
	bool m = glob_split_match(g, buf, off, ns);
	if (buf != sbuf) {
		free(buf);
		free(off);
	}
	return m;
}

int ctxd_fs_globs_add(struct ctxd_fs_globs *gl, const char *pat, size_t len)
{
	if (len > CTXD_FS_GLOB_MAX) {
		return -E2BIG;
	}
	struct ctxd_fs_globs_item *v = realloc(gl->v, (gl->n + 1) * sizeof(*v));
	if (!v) {
		return -ENOMEM;
	}
	gl->v = v;
	struct ctxd_fs_globs_item it = {0};
	if (memchr(pat, '/', len) || memchr(pat, '\0', len)) { /* with a NUL: never matches */
		if (pat[0] == '/') {
			pat++;
			len--;
		}
		int rc = ctxd_fs_glob_compile(pat, len, &it.path);
		if (rc < 0) {
			return rc;
		}
	} else if (!(it.name_pat = strndup(pat, len))) {
		return -ENOMEM;
	}
	gl->v[gl->n++] = it;
	return 0;
}

bool ctxd_fs_globs_match(const struct ctxd_fs_globs *gl, const char *rel, size_t rel_len,
			 const char *name)
{
	for (size_t i = 0; i < gl->n; i++) {
		const struct ctxd_fs_globs_item *it = &gl->v[i];
		if (it->name_pat ? fnmatch(it->name_pat, name, 0) == 0
				 : ctxd_fs_glob_match(it->path, rel, rel_len)) {
			return true;
		}
	}
	return false;
}

void ctxd_fs_globs_finish(struct ctxd_fs_globs *gl)
{
	if (!gl) {
		return;
	}
	for (size_t i = 0; i < gl->n; i++) {
		free(gl->v[i].name_pat);
		ctxd_fs_glob_free(gl->v[i].path);
	}
	free(gl->v);
	gl->v = NULL;
	gl->n = 0;
}
