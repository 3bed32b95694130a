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

/* ---- .gitignore ------------------------------------------------------------------- */

#define IGNORE_FILE_MAX (1u << 20)

struct rule {
	char *pat;
	bool neg, dir_only, anchored;
};

struct level {
	unsigned depth;    /* depth of the directory whose .gitignore this is (start = 0) */
	size_t prefix_len; /* length of that directory's relative path */
	struct rule *rules;
	size_t n;
	char *text;
};

struct ctxd_fs_ignore {
	struct level *lv;
	size_t n, cap;
	bool oom;
};

bool ctxd_fs_glob_path(const char *pat, const char *s)
{
	const char *dd = strstr(pat, "**");
	if (!dd) {
		return fnmatch(pat, s, FNM_PATHNAME) == 0;
	}
	bool lead_ok = dd == pat || dd[-1] == '/';
	bool tail_ok = dd[2] == '\0' || dd[2] == '/';
	if (!lead_ok || !tail_ok) {
		/* "a**b": the stars stay within one component, like a single '*' */
		return fnmatch(pat, s, FNM_PATHNAME) == 0;
	}
	size_t pre = (size_t)(dd - pat); /* includes its trailing '/' */
	char head[CTXD_PATH_MAX];
	if (pre >= sizeof(head)) {
		return false;
	}
	memcpy(head, pat, pre);
	head[pre] = '\0';
	const char *post = dd[2] == '/' ? dd + 3 : NULL; /* NULL: "**" ends the pattern */
	size_t sl = strlen(s);
	for (size_t i = 0; i <= sl; i++) {
		if (i > 0 && s[i - 1] != '/') {
			continue;
		}
		if (pre == 0 ? i != 0 : i == 0) {
			continue;
		}
		char part[CTXD_PATH_MAX];
		if (i >= sizeof(part)) {
			return false;
		}
		memcpy(part, s, i);
		part[i] = '\0';
		if (pre > 0 && fnmatch(head, part, FNM_PATHNAME) != 0) {
			continue;
		}
		const char *r = s + i;
		if (!post) {
			if (*r) {
				return true;
			}
			continue;
		}
		for (const char *q = r;; q++) {
			if ((q == r || q[-1] == '/') && ctxd_fs_glob_path(post, q)) {
				return true;
			}
			if (!*q) {
				break;
			}
		}
		if (pre == 0) {
			break;
		}
	}
	return false;
}

static void level_free(struct level *l)
{
	free(l->rules);
	free(l->text);
}

/* Parse .gitignore text (owned by the level afterwards). */
static int parse_rules(struct level *l, char *text, size_t len)
{
	l->text = text;
	size_t cap = 0;
	for (size_t i = 0; i < len;) {
		char *line = text + i;
		char *nl = memchr(line, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - line) : len - i;
		i += ll + 1;
		line[ll] = '\0';
		while (ll > 0 && (line[ll - 1] == '\r' || line[ll - 1] == ' ' || line[ll - 1] == '\t') &&
		       !(ll >= 2 && line[ll - 2] == '\\')) {
			line[--ll] = '\0';
		}
		if (ll == 0 || line[0] == '#') {
			continue;
		}
		struct rule r = {0};
		if (line[0] == '!') {
			r.neg = true;
			line++;
			ll--;
		} else if (line[0] == '\\' && (line[1] == '#' || line[1] == '!')) {
			line++;
			ll--;
		}
		if (ll > 0 && line[ll - 1] == '/') {
			r.dir_only = true;
			line[--ll] = '\0';
		}
		if (line[0] == '/') {
			r.anchored = true;
			line++;
			ll--;
		} else if (strchr(line, '/')) {
			r.anchored = true;
		}
		if (ll == 0) {
			continue;
		}
		r.pat = line;
		if (l->n == cap) {
			size_t c = cap ? cap * 2 : 16;
			struct rule *v = realloc(l->rules, c * sizeof(*v));
			if (!v) {
				return -1;
			}
			l->rules = v;
			cap = c;
		}
		l->rules[l->n++] = r;
	}
	return 0;
}

/* Push the level of the directory reached by (fd, rel) at `depth`. */
static void push_level(struct ctxd_fs_ignore *ig, int fd, const char *rel, unsigned depth,
		       size_t prefix_len)
{
	if (ig->n == ig->cap) {
		size_t c = ig->cap ? ig->cap * 2 : 16;
		struct level *v = realloc(ig->lv, c * sizeof(*v));
		if (!v) {
			ig->oom = true;
			return;
		}
		ig->lv = v;
		ig->cap = c;
	}
	struct level *l = &ig->lv[ig->n++];
	memset(l, 0, sizeof(*l));
	l->depth = depth;
	l->prefix_len = prefix_len;
	int gfd = ctxd_sandbox_openat(fd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, true);
	if (gfd < 0) {
		return;
	}
	struct stat st;
	char *text = NULL;
	if (fstat(gfd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (size_t)st.st_size <= IGNORE_FILE_MAX && (text = malloc((size_t)st.st_size + 1))) {
		ssize_t got = pread(gfd, text, (size_t)st.st_size, 0);
		if (got < 0 || parse_rules(l, text, (size_t)got) < 0) {
			if (!l->text) {
				free(text);
			}
		}
	}
	close(gfd);
}

struct ctxd_fs_ignore *ctxd_fs_ignore_create(int start_fd)
{
	struct ctxd_fs_ignore *ig = calloc(1, sizeof(*ig));
	if (!ig) {
		return NULL;
	}
	push_level(ig, start_fd, ".gitignore", 0, 0);
	if (ig->oom) {
		ctxd_fs_ignore_destroy(ig);
		return NULL;
	}
	return ig;
}

void ctxd_fs_ignore_destroy(struct ctxd_fs_ignore *ig)
{
	if (!ig) {
		return;
	}
	for (size_t i = 0; i < ig->n; i++) {
		level_free(&ig->lv[i]);
	}
	free(ig->lv);
	free(ig);
}

bool ctxd_fs_ignore_match(struct ctxd_fs_ignore *ig, const struct ctxd_fs_walk_entry *e)
{
	if (e->name_len == 4 && memcmp(e->name, ".git", 4) == 0) {
		return true;
	}
	while (ig->n > 1 && ig->lv[ig->n - 1].depth >= e->depth) {
		level_free(&ig->lv[--ig->n]);
	}
	if (e->depth >= 2 && ig->lv[ig->n - 1].depth < e->depth - 1) {
		/* First entry inside the parent directory: read its .gitignore. at_path
		 * reaches this entry from at_fd, so its dirname reaches the parent. */
		char rel[CTXD_PATH_MAX];
		size_t dl = strlen(e->at_path) - e->name_len;
		if (dl + sizeof(".gitignore") <= sizeof(rel)) {
			memcpy(rel, e->at_path, dl);
			memcpy(rel + dl, ".gitignore", sizeof(".gitignore"));
			push_level(ig, e->at_fd, rel, e->depth - 1, e->rel_len - e->name_len - 1);
		}
	}
	bool is_dir = e->type == CTXD_FS_WALK_DIR;
	for (size_t i = ig->n; i-- > 0;) {
		const struct level *l = &ig->lv[i];
		const char *sub = e->rel + l->prefix_len + (l->prefix_len ? 1 : 0);
		for (size_t k = l->n; k-- > 0;) {
			const struct rule *r = &l->rules[k];
			if (r->dir_only && !is_dir) {
				continue;
			}
			bool m = r->anchored ? ctxd_fs_glob_path(r->pat, sub)
					     : fnmatch(r->pat, e->name, 0) == 0;
			if (m) {
				return !r->neg;
			}
		}
	}
	return false;
}
