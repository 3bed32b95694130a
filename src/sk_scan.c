/* sk_scan.c - discovery: walk every base (src/sk_dirs.c) for skill folders, read and
 * parse their SKILL.md (only when its inode, size or mtime changed since the last scan),
 * list their bundled files, settle name collisions by precedence, and build a new
 * catalogue snapshot with the directories to watch for the next change.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/sandbox.h"
#include "ctxd/strbuf.h"
#include "sk_priv.h"

struct cand {
	struct ctxd_skill s;
	size_t order;
};

struct scan {
	struct ctxd_skills *sk;
	struct cand *c;
	size_t n, cap;
	struct ctxd_skill_diags ds;
	struct docref *docs;
	size_t n_docs, cap_docs;
	struct watch_want *want;
	size_t n_want, cap_want;
	size_t visited;
	bool cap_hit;
	bool oom;
	struct {
		dev_t dev;
		ino_t ino;
	} stack[SK_MAX_DEPTH + SK_FILE_DEPTH + 2];
	int depth;
};

static void want_add(struct scan *sc, const char *dir, const char *filter)
{
	if (ctxd_grow((void **)&sc->want, &sc->cap_want, sc->n_want + 1, sizeof(*sc->want), 16)) {
		sc->oom = true;
		return;
	}
	char *d = strdup(dir);
	if (!d) {
		sc->oom = true;
		return;
	}
	sc->want[sc->n_want++] = (struct watch_want){d, filter};
}

static size_t max_dirs(const struct ctxd_skills *sk)
{
	return sk->cfg && sk->cfg->skills_max_dirs ? sk->cfg->skills_max_dirs : 10000;
}

/* Count one more directory; false (and one diagnostic) once the cap is passed. */
static bool visit(struct scan *sc, const char *abs)
{
	if (sc->cap_hit) {
		return false;
	}
	if (++sc->visited > max_dirs(sc->sk)) {
		sc->cap_hit = true;
		ctxd_skill_md_diag_add(
		    &sc->ds, abs, 0, 0, "dir-cap", false, NULL,
		    "stopped at '%.300s': more than %zu directories visited (skills.max_dirs); "
		    "skills beyond it are not listed",
		    abs, max_dirs(sc->sk));
		return false;
	}
	return true;
}

static bool on_stack(struct scan *sc, const struct stat *st)
{
	for (int i = 0; i < sc->depth; i++) {
		if (sc->stack[i].dev == st->st_dev && sc->stack[i].ino == st->st_ino) {
			return true;
		}
	}
	return false;
}

static void push(struct scan *sc, const struct stat *st)
{
	sc->stack[sc->depth].dev = st->st_dev;
	sc->stack[sc->depth].ino = st->st_ino;
	sc->depth++;
}

struct files {
	char **v;
	uint64_t *sz;
	size_t n, cap;
	bool truncated;
};

static void files_add(struct scan *sc, struct files *fl, const char *rel, uint64_t size)
{
	if (fl->n + 1 >= CTXD_SKILL_FILES_MAX) { /* SKILL.md is one of the 512 */
		fl->truncated = true;
		return;
	}
	if (ctxd_grow_pair((void **)&fl->v, sizeof(*fl->v), (void **)&fl->sz, sizeof(*fl->sz),
			   &fl->cap, fl->n + 1, 8)) {
		sc->oom = true;
		return;
	}
	char *c = strdup(rel);
	if (!c) {
		sc->oom = true;
		return;
	}
	fl->v[fl->n] = c;
	fl->sz[fl->n++] = size;
}

/* List the regular files below the skill folder `skill_fd` (at `abs`), under `prefix`,
 * except its SKILL.md (`md`). */
static void list_files(struct scan *sc, int skill_fd, const char *abs, const char *md,
		       const char *prefix, int depth, struct files *fl)
{
	int fd = *prefix ? ctxd_sandbox_openat(skill_fd, prefix,
					       O_RDONLY | O_DIRECTORY | O_NONBLOCK, 0, false)
			 : fcntl(skill_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		return;
	}
	struct stat st;
	char dabs[CTXD_PATH_MAX];
	snprintf(dabs, sizeof(dabs), "%s%s%s", abs, *prefix ? "/" : "", prefix);
	if (fstat(fd, &st) < 0 || (depth > 0 && on_stack(sc, &st)) ||
	    sc->depth >= (int)(sizeof(sc->stack) / sizeof(sc->stack[0])) ||
	    (depth > 0 && !visit(sc, dabs))) {
		close(fd);
		return;
	}
	if (depth > 0) {
		want_add(sc, dabs, NULL);
	}
	size_t n = 0;
	unsigned char *types = NULL;
	char **names = ctxd_sk_read_names(fd, &n, &types);
	if (!names) {
		free(types);
		sc->oom = true;
		close(fd);
		return;
	}
	push(sc, &st);
	for (size_t i = 0; i < n && !sc->oom; i++) {
		const char *name = names[i];
		if ((depth == 0 && strcmp(name, md) == 0) || ctxd_sk_skipped_dir(name)) {
			continue;
		}
		char child[CTXD_PATH_MAX];
		if ((size_t)snprintf(child, sizeof(child), "%s%s%s", prefix, *prefix ? "/" : "",
				     name) >= sizeof(child)) {
			continue;
		}
		struct stat cs;
		if (types[i] == DT_DIR || types[i] == DT_REG) {
			if (fstatat(fd, name, &cs, AT_SYMLINK_NOFOLLOW) < 0) {
				continue;
			}
		} else {
			/* a symlink (followed only while it stays in the folder) or unknown */
			int cfd = ctxd_sandbox_openat(skill_fd, child, O_PATH, 0, false);
			if (cfd < 0) {
				continue;
			}
			int rc = fstat(cfd, &cs);
			close(cfd);
			if (rc < 0) {
				continue;
			}
		}
		if (S_ISDIR(cs.st_mode)) {
			if (depth + 1 < SK_FILE_DEPTH) {
				list_files(sc, skill_fd, abs, md, child, depth + 1, fl);
			}
		} else if (S_ISREG(cs.st_mode)) {
			files_add(sc, fl, child, (uint64_t)cs.st_size);
		}
	}
	sc->depth--;
	ctxd_sk_free_names(names, n, types);
	close(fd);
}

static struct ctxd_skill_doc *prev_doc(struct ctxd_skills *sk, const char *path,
				       const struct stat *st)
{
	size_t lo = 0, hi = sk->n_docs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(sk->docs[mid].path, path);
		if (c == 0) {
			struct ctxd_skill_doc *d = sk->docs[mid].doc;
			int64_t mt = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
			if (d->dev == st->st_dev && d->ino == st->st_ino &&
			    d->size == st->st_size && d->mtime_ns == mt) {
				return ctxd_skill_md_get(d);
			}
			return NULL;
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return NULL;
}

static void docs_add(struct scan *sc, const char *path, struct ctxd_skill_doc *doc)
{
	if (ctxd_grow((void **)&sc->docs, &sc->cap_docs, sc->n_docs + 1, sizeof(*sc->docs), 16)) {
		sc->oom = true;
		return;
	}
	char *p = strdup(path);
	if (!p) {
		sc->oom = true;
		return;
	}
	sc->docs[sc->n_docs++] = (struct docref){p, ctxd_skill_md_get(doc)};
}

/* What is wrong with the entry `name` of directory `dfd` that could not be opened with
 * errno `e`, as a phrase naming a symlink's target when it is one. Returns true for a
 * symlink. */
static bool entry_problem(int dfd, const char *name, int e, bool trusted, char *out, size_t n)
{
	char target[1024], why[64];
	ssize_t tl = readlinkat(dfd, name, target, sizeof(target) - 1);
	if (tl < 0) {
		snprintf(out, n, "%s", ctxd_sk_why(e, why, sizeof(why)));
		return false;
	}
	target[tl] = '\0';
	if (e == ENOENT) {
		snprintf(out, n,
			 "it is a symlink to '%.400s', which does not exist (a dangling "
			 "link)",
			 target);
	} else if (!trusted && (e == EXDEV || e == EACCES)) {
		snprintf(out, n,
			 "it is a symlink to '%.400s', which lies outside every allowed "
			 "directory; in a project's skills folder symlinks are followed only "
			 "inside the allowed directories (add the target with --skills-dir to "
			 "use it)",
			 target);
	} else {
		snprintf(out, n, "it is a symlink to '%.400s', which cannot be followed: %s",
			 target, ctxd_sk_why(e, why, sizeof(why)));
	}
	return true;
}

/* Open, read and parse the SKILL.md `md_name` of the skill folder `dfd` (at `abs`; the
 * file is `md`) of base `b`, or take the previous scan's doc when the file did not change.
 * Returns a doc reference, or NULL (a diagnostic, or sc->oom). */
static struct ctxd_skill_doc *read_doc(struct scan *sc, const struct base *b, int dfd,
				       const char *abs, const char *md_name, const char *md)
{
	const char *folder = strrchr(abs, '/');
	folder = folder ? folder + 1 : abs;
	int fd = ctxd_sk_open_entry(sc->sk, b, dfd, abs, md_name, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	char why[64];
	if (fd < 0) {
		char msg[700];
		entry_problem(dfd, md_name, errno, b->kind == BASE_FD, msg, sizeof(msg));
		ctxd_skill_md_diag_add(&sc->ds, md, 0, 0, "unreadable", true, NULL,
				       "%s cannot be read: %s", md_name, msg);
		return NULL;
	}
	bool stat_ok = fstat(fd, &st) == 0;
	if (!stat_ok || !S_ISREG(st.st_mode)) {
		ctxd_skill_md_diag_add(
		    &sc->ds, md, 0, 0, "unreadable", true, NULL, "%s cannot be read: %s", md_name,
		    !stat_ok ? ctxd_sk_why(errno, why, sizeof(why))
			     : "it is not a regular file (a FIFO, socket, device or directory)");
		close(fd);
		return NULL;
	}
	struct ctxd_skill_doc *doc = prev_doc(sc->sk, md, &st);
	if (doc) {
		close(fd);
		return doc;
	}
	char *buf = NULL;
	size_t len = 0;
	if (ctxd_read_all(fd, CTXD_SKILL_MD_MAX, &buf, &len) < 0) {
		bool big = errno == EFBIG;
		ctxd_skill_md_diag_add(&sc->ds, md, 0, 0, big ? "file-too-large" : "unreadable",
				       true, NULL, "%s cannot be read: %s", md_name,
				       big ? "it is larger than 1 MiB"
					   : ctxd_sk_why(errno, why, sizeof(why)));
		close(fd);
		return NULL;
	}
	close(fd);
	doc = ctxd_skill_md_parse(buf, len, folder, md);
	free(buf);
	if (!doc) {
		sc->oom = true;
		return NULL;
	}
	doc->dev = st.st_dev;
	doc->ino = st.st_ino;
	doc->size = st.st_size;
	doc->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return doc;
}

/* Add the candidate skill `doc` (a reference, passed on) found at `abs` (`rel` under base
 * `bi`; its SKILL.md `md`, named `md_name`) with its bundled files `fl` (passed on). */
static void cand_add(struct scan *sc, size_t bi, const char *rel, const char *abs, const char *md,
		     const char *md_name, struct ctxd_skill_doc *doc, struct files *fl)
{
	if (ctxd_grow((void **)&sc->c, &sc->cap, sc->n + 1, sizeof(*sc->c), 16)) {
		sc->oom = true;
	}
	char *d = strdup(abs), *m = strdup(md), *r = strdup(rel);
	if (sc->oom || !d || !m || !r) {
		sc->oom = true;
		free(d);
		free(m);
		free(r);
		for (size_t i = 0; i < fl->n; i++) {
			free(fl->v[i]);
		}
		free(fl->v);
		free(fl->sz);
		ctxd_skill_md_put(doc);
		return;
	}
	struct cand *c = &sc->c[sc->n];
	c->s = (struct ctxd_skill){doc,
				   doc->name,
				   d,
				   m,
				   bi,
				   r,
				   fl->v,
				   fl->sz,
				   fl->n,
				   fl->truncated,
				   strcmp(md_name, "skill.md") == 0};
	c->order = sc->n++;
}

/* The folder `rel` of base `bi` (open as `dfd`, at `abs`) holds a SKILL.md (`md`, or a
 * lowercase skill.md). */
static void handle_skill(struct scan *sc, size_t bi, const char *rel, const char *abs, int dfd,
			 const char *md_name)
{
	char md[CTXD_PATH_MAX];
	if ((size_t)snprintf(md, sizeof(md), "%s/%s", abs, md_name) >= sizeof(md)) {
		return;
	}
	struct ctxd_skill_doc *doc = read_doc(sc, &sc->sk->bases[bi], dfd, abs, md_name, md);
	if (!doc) {
		return;
	}
	docs_add(sc, md, doc);
	for (size_t i = 0; i < doc->n_diags; i++) {
		if (ctxd_skill_md_diag_copy(&sc->ds, &doc->diags[i]) < 0) {
			sc->oom = true;
		}
	}
	if (!doc->valid || sc->oom) {
		ctxd_skill_md_put(doc);
		return;
	}
	struct files fl = {0};
	list_files(sc, dfd, abs, md_name, "", 0, &fl);
	if (fl.truncated) {
		ctxd_skill_md_diag_add(&sc->ds, md, 0, 0, "too-many-files", false, NULL,
				       "the skill folder holds more than %d files; only the first "
				       "%zu are listed",
				       CTXD_SKILL_FILES_MAX - 1, fl.n);
	}
	cand_add(sc, bi, rel, abs, md, md_name, doc, &fl);
}

/* `parent_fd` (-1 for the base itself) is the open parent directory: children are opened
 * relative to it under the base's symlink rule (ctxd_sk_open_entry). */
static void walk(struct scan *sc, size_t bi, int parent_fd, const char *rel, int depth)
{
	struct ctxd_skills *sk = sc->sk;
	const struct base *b = &sk->bases[bi];
	char abs[CTXD_PATH_MAX];
	if ((size_t)snprintf(abs, sizeof(abs), "%s%s%s", b->abs, *rel ? "/" : "", rel) >=
	    sizeof(abs)) {
		return;
	}
	const char *name = strrchr(rel, '/');
	name = name ? name + 1 : rel;
	int fd;
	if (parent_fd >= 0) {
		char pabs[CTXD_PATH_MAX];
		snprintf(pabs, sizeof(pabs), "%.*s", (int)(strlen(abs) - strlen(name) - 1), abs);
		fd = ctxd_sk_open_entry(sk, b, parent_fd, pabs, name,
					O_RDONLY | O_DIRECTORY | O_NONBLOCK);
	} else {
		fd = ctxd_sk_base_open(sk, b, rel, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
	}
	if (fd < 0) {
		int e = errno;
		if (depth == 0 && b->root_path) {
			/* a root without .claude/skills yet: watch for its creation */
			bool agents = strstr(b->abs + strlen(b->root_path), ".agents") != NULL;
			char parent[CTXD_PATH_MAX];
			snprintf(parent, sizeof(parent), "%s/%s", b->root_path,
				 agents ? ".agents" : ".claude");
			int pfd = ctxd_sk_base_open(sk, b, "..", O_PATH | O_DIRECTORY);
			if (pfd >= 0) {
				close(pfd);
				want_add(sc, parent, "skills");
			} else {
				want_add(sc, b->root_path, agents ? ".agents" : ".claude");
			}
		} else if (depth > 0 && e != ENOTDIR) {
			char msg[700];
			bool link =
			    entry_problem(parent_fd, name, e, b->kind == BASE_FD, msg, sizeof(msg));
			/* a plain missing entry raced with a delete: nothing to say */
			if (e != ENOENT || link) {
				ctxd_skill_md_diag_add(&sc->ds, abs, 0, 0, "unreadable-dir", false,
						       NULL, "'%.300s' is skipped: %s", abs, msg);
			}
		}
		return;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return;
	}
	if (on_stack(sc, &st)) {
		ctxd_skill_md_diag_add(
		    &sc->ds, abs, 0, 0, "symlink-cycle", false, NULL,
		    "directory '%.300s' is a symlink back to one of its parents; not entered", abs);
		close(fd);
		return;
	}
	if (!visit(sc, abs)) {
		close(fd);
		return;
	}
	want_add(sc, abs, NULL);
	size_t n = 0;
	unsigned char *types = NULL;
	char **names = ctxd_sk_read_names(fd, &n, &types);
	if (!names) {
		sc->oom = true;
		close(fd);
		return;
	}
	const char *md = ctxd_sk_md_name(names, n);
	push(sc, &st);
	if (md) {
		handle_skill(sc, bi, rel, abs, fd, md);
	} else if (depth < SK_MAX_DEPTH) {
		for (size_t i = 0; i < n && !sc->oom && !sc->cap_hit; i++) {
			unsigned char t = types[i];
			if (ctxd_sk_skipped_dir(names[i]) ||
			    (t != DT_DIR && t != DT_LNK && t != DT_UNKNOWN)) {
				continue;
			}
			char child[CTXD_PATH_MAX];
			if ((size_t)snprintf(child, sizeof(child), "%s%s%s", rel, *rel ? "/" : "",
					     names[i]) < sizeof(child)) {
				walk(sc, bi, fd, child, depth + 1);
			}
		}
	}
	sc->depth--;
	ctxd_sk_free_names(names, n, types);
	close(fd);
}

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = strcmp(x->s.name, y->s.name);
	return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_doc(const void *a, const void *b)
{
	return strcmp(((const struct docref *)a)->path, ((const struct docref *)b)->path);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *u = p;
	for (size_t i = 0; i < n; i++) {
		h = (h ^ u[i]) * 1099511628211ULL;
	}
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s, strlen(s) + 1);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Skipped skills: the distinct files among the error diagnostics. */
static size_t count_skipped(const struct ctxd_skill_diag *d, size_t n)
{
	const char **files = malloc((n ? n : 1) * sizeof(*files));
	size_t m = 0, skipped = 0;
	for (size_t i = 0; files && i < n; i++) {
		if (d[i].error) {
			files[m++] = d[i].file;
		}
	}
	if (!files) { /* out of memory: an upper bound */
		for (size_t i = 0; i < n; i++) {
			skipped += d[i].error;
		}
		return skipped;
	}
	if (m > 1) {
		qsort(files, m, sizeof(*files), cmp_str);
	}
	for (size_t i = 0; i < m; i++) {
		skipped += i == 0 || strcmp(files[i - 1], files[i]) != 0;
	}
	free(files);
	return skipped;
}

/* Walk every base in precedence order; a directory reached again under another spelling
 * is walked once. */
static void walk_bases(struct scan *sc)
{
	struct ctxd_skills *sk = sc->sk;
	struct {
		dev_t dev;
		ino_t ino;
	} seen[64];
	size_t n_seen = 0;
	size_t *by_order = malloc((sk->n_bases ? sk->n_bases : 1) * sizeof(*by_order));
	size_t nb = by_order ? ctxd_sk_dirs_by_order(sk, by_order) : 0;
	sc->oom = !by_order;
	for (size_t oi = 0; oi < nb && !sc->oom && !sc->cap_hit; oi++) {
		size_t bi = by_order[oi];
		int fd = ctxd_sk_base_open(sk, &sk->bases[bi], "", O_PATH | O_DIRECTORY);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0) {
			bool dup = false;
			for (size_t j = 0; j < n_seen; j++) {
				dup = dup || (seen[j].dev == st.st_dev && seen[j].ino == st.st_ino);
			}
			close(fd);
			if (dup) {
				continue; /* the same directory under another spelling */
			}
			if (n_seen < sizeof(seen) / sizeof(seen[0])) {
				seen[n_seen].dev = st.st_dev;
				seen[n_seen++].ino = st.st_ino;
			}
		} else if (fd >= 0) {
			close(fd);
		}
		walk(sc, bi, -1, "", 0);
	}
	free(by_order);
}

/* The signature of the catalogue as the host sees it, with skill `k` added to `h`. */
static uint64_t sign_skill(uint64_t h, const struct ctxd_skill *k)
{
	h = fnv_str(h, k->name);
	h = fnv_str(h, k->doc->description);
	h = fnv_str(h, k->skill_md);
	h = fnv(h, &k->doc->md_size, sizeof(k->doc->md_size));
	for (size_t j = 0; j < k->doc->n_arg_names; j++) {
		h = fnv_str(h, k->doc->arg_names[j]);
	}
	for (size_t j = 0; j < k->doc->n_hint_names; j++) {
		h = fnv_str(h, k->doc->hint_names[j]);
	}
	for (size_t j = 0; j < k->n_files; j++) {
		h = fnv_str(h, k->files[j]);
		h = fnv(h, &k->sizes[j], sizeof(k->sizes[j]));
	}
	return h;
}

/* Move the candidates into `snap`: sorted by name, the first found (highest precedence)
 * keeps a name, the others are shadowed. */
static void settle(struct scan *sc, struct ctxd_skills_snapshot *snap)
{
	if (sc->n > 1) {
		qsort(sc->c, sc->n, sizeof(*sc->c), cmp_cand);
	}
	snap->skills = calloc(sc->n ? sc->n : 1, sizeof(*snap->skills));
	if (!snap->skills) {
		sc->oom = true;
	}
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < sc->n; i++) {
		struct ctxd_skill *k = &sc->c[i].s;
		if (i > 0 && strcmp(sc->c[i - 1].s.name, k->name) == 0) {
			size_t w = snap->n_skills - 1;
			const struct ctxd_skill_doc *wd = snap->skills ? snap->skills[w].doc : NULL;
			if (wd && wd->dev == k->doc->dev && wd->ino == k->doc->ino) {
				/* the same SKILL.md reached twice (a link from ~/.claude/skills
				 * into
				 * ~/.agents/skills): one skill, nothing shadowed */
				ctxd_sk_skill_release(k);
				continue;
			}
			ctxd_skill_md_diag_add(&sc->ds, k->skill_md, 0, 0, "shadowed", false,
					       snap->skills ? snap->skills[w].skill_md : NULL,
					       "skill '%s' at %.300s is shadowed by the one at "
					       "%.300s, which takes precedence",
					       k->name, k->skill_md,
					       snap->skills ? snap->skills[w].skill_md : "?");
			ctxd_sk_skill_release(k);
			continue;
		}
		if (!snap->skills) {
			ctxd_sk_skill_release(k);
			continue;
		}
		snap->skills[snap->n_skills++] = *k;
		h = sign_skill(h, k);
	}
	free(sc->c);
	snap->signature = h;
}

struct ctxd_skills_snapshot *ctxd_sk_scan(struct ctxd_skills *sk)
{
	struct scan *sc = calloc(1, sizeof(*sc));
	struct ctxd_skills_snapshot *snap = calloc(1, sizeof(*snap));
	if (!sc || !snap) {
		free(sc);
		free(snap);
		return NULL;
	}
	sc->sk = sk;
	for (size_t i = 0; i < sk->init_diags.n; i++) {
		ctxd_skill_md_diag_copy(&sc->ds, &sk->init_diags.v[i]);
	}
	ctxd_sk_dirs_apply_roots(sk);
	walk_bases(sc);
	settle(sc, snap);
	snap->diags = sc->ds.v;
	snap->n_diags = sc->ds.n;
	snap->n_skipped = count_skipped(snap->diags, snap->n_diags);
	snap->dirs_visited = sc->visited;
	snap->dir_cap_hit = sc->cap_hit;
	atomic_init((_Atomic unsigned *)&snap->refs, 1);
	if (sc->n_docs > 1) { /* qsort needs a valid array even for 0 items */
		qsort(sc->docs, sc->n_docs, sizeof(*sc->docs), cmp_doc);
	}
	if (sc->oom || sc->ds.oom) {
		ctxd_sk_docs_free(sc->docs, sc->n_docs);
		ctxd_sk_want_free(sc->want, sc->n_want);
		free(sc);
		ctxd_sk_snapshot_free(snap);
		return NULL;
	}
	ctxd_sk_docs_free(sk->docs, sk->n_docs);
	sk->docs = sc->docs;
	sk->n_docs = sc->n_docs;
	ctxd_sk_want_free(sk->want, sk->n_want);
	sk->want = sc->want;
	sk->n_want = sc->n_want;
	free(sc);
	return snap;
}

void ctxd_sk_want_free(struct watch_want *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(w[i].dir);
	}
	free(w);
}

void ctxd_sk_docs_free(struct docref *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].path);
		ctxd_skill_md_put(d[i].doc);
	}
	free(d);
}
