/* sk_dirs.c - where the skills store looks for skills: the bases (configured and
 * user-level directories, trusted and opened once as O_PATH fds; each root's and client
 * root's .claude/skills and .agents/skills, read through a sandbox), the targets of the
 * trusted directories' symlinks (for Landlock), and every open of skill content under the
 * base's symlink rule (include/ctxd/sk_store.h).
 */
#include "ctxd/sk_dirs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/log.h"
#include "ctxd/strbuf.h"
#include "sk_priv.h"

static int add_base(struct ctxd_skills *sk, enum base_kind kind, const char *abs, int fd,
		    const char *root_path)
{
	struct base *b = realloc(sk->bases, (sk->n_bases + 1) * sizeof(*b));
	if (!b) {
		return -1;
	}
	sk->bases = b;
	char *copy = strdup(abs);
	if (!copy) {
		return -1;
	}
	b[sk->n_bases++] = (struct base){kind, copy, fd, root_path};
	return 0;
}

const char *ctxd_sk_why(int err, char *buf, size_t n)
{
	switch (err) {
	case ENOENT:
		return "it does not exist";
	case EACCES:
	case EPERM:
		return "ctxd may not read it (file permissions, or ctxd's Landlock sandbox, which "
		       "admits only the skill directories and symlink targets present when ctxd "
		       "started: restart ctxd after adding new ones)";
	case ENOTDIR:
		return "a part of the path is not a directory";
	case ELOOP:
		return "it goes through too many symlinks (a symlink loop?)";
	case EXDEV:
		return "a symlink on the way leads outside the allowed directories";
	case ENAMETOOLONG:
		return "the path is too long";
	case EMFILE:
	case ENFILE:
		return "too many files are open; retry later";
	case ENOMEM:
		return "out of memory";
	case EISDIR:
		return "it is a directory, not a file";
	case EIO:
		return "the storage reported an I/O error";
	case EFBIG:
		return "it is too large";
	default:
		snprintf(buf, n, "the system refused it (errno %d)", err);
		return buf;
	}
}

/* True when `real` (canonical) is inside a root or beneath an already listed path. */
static bool readable_already(const struct ctxd_skills *sk, const char *real)
{
	struct ctxd_sandbox_loc *loc = malloc(sizeof(*loc));
	struct ctxd_error e;
	bool inside =
	    loc && sk->sb && ctxd_sandbox_locate(sk->sb, real, strlen(real), loc, &e) == 0;
	free(loc);
	for (size_t i = 0; !inside && i < sk->n_extra; i++) {
		size_t l = strlen(sk->extra[i]);
		inside = strncmp(sk->extra[i], real, l) == 0 && (real[l] == '/' || real[l] == '\0');
	}
	return inside;
}

/* List `real` (canonical) for Landlock unless it is readable already. -1 on ENOMEM. */
static int extra_add(struct ctxd_skills *sk, const char *real)
{
	if (readable_already(sk, real)) {
		return 0;
	}
	char **x = realloc(sk->extra, (sk->n_extra + 1) * sizeof(*x));
	if (!x) {
		return -1;
	}
	sk->extra = x;
	if (!(x[sk->n_extra] = strdup(real))) {
		return -1;
	}
	sk->n_extra++;
	return 0;
}

/* A configured or user-level directory: trusted, read beneath its own O_PATH fd; listed
 * for Landlock when it lies outside every root. */
static int add_dir(struct ctxd_skills *sk, const char *path, bool configured)
{
	char real[PATH_MAX], why[64];
	if (!realpath(path, real)) {
		if (configured) {
			ctxd_skill_md_diag_add(&sk->init_diags, path, 0, 0, "skills-dir", false,
					       NULL, "skills directory '%.300s' cannot be used: %s",
					       path, ctxd_sk_why(errno, why, sizeof(why)));
		}
		return sk->init_diags.oom ? -1 : 0;
	}
	for (size_t i = 0; i < sk->n_bases; i++) {
		if (strcmp(sk->bases[i].abs, real) == 0) {
			return 0;
		}
	}
	int fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (configured) {
			ctxd_skill_md_diag_add(&sk->init_diags, real, 0, 0, "skills-dir", false,
					       NULL,
					       "skills directory '%.300s' cannot be opened: %s",
					       real, ctxd_sk_why(errno, why, sizeof(why)));
		}
		return sk->init_diags.oom ? -1 : 0;
	}
	if (add_base(sk, BASE_FD, real, fd, NULL) < 0) {
		close(fd);
		return -1;
	}
	return extra_add(sk, real);
}

/* ---- Landlock: the targets of symlinks in the trusted directories ---------------------- */

struct link_walk {
	struct ctxd_skills *sk;
	size_t budget; /* directories still to visit */
	struct {
		dev_t dev;
		ino_t ino;
	} stack[SK_MAX_DEPTH + 2];
	int depth;
	bool oom;
};

/* Record the target of `abs` (a symlink) when it is not readable yet. */
static void link_target(struct link_walk *lw, const char *abs)
{
	char real[PATH_MAX];
	if (realpath(abs, real) && extra_add(lw->sk, real) < 0) {
		lw->oom = true;
	}
}

/* Walk directory `dfd` (at `abs`) of a trusted base as discovery would, following links,
 * and record every symlink target on the way: linked skill folders, linked SKILL.md files
 * and linked directories of skills. */
static void link_walk(struct link_walk *lw, int dfd, const char *abs, int depth)
{
	struct stat st;
	if (lw->budget == 0 || fstat(dfd, &st) < 0 || lw->depth >= SK_MAX_DEPTH + 2) {
		return;
	}
	for (int i = 0; i < lw->depth; i++) {
		if (lw->stack[i].dev == st.st_dev && lw->stack[i].ino == st.st_ino) {
			return;
		}
	}
	lw->budget--;
	size_t n = 0;
	unsigned char *types = NULL;
	char **names = ctxd_sk_read_names(dfd, &n, &types);
	if (!names) {
		lw->oom = true;
		return;
	}
	lw->stack[lw->depth].dev = st.st_dev;
	lw->stack[lw->depth].ino = st.st_ino;
	lw->depth++;
	const char *md = ctxd_sk_md_name(names, n);
	for (size_t i = 0; i < n && !lw->oom; i++) {
		unsigned char t = types[i];
		char child[CTXD_PATH_MAX];
		if ((md && strcmp(names[i], md) != 0) || ctxd_sk_skipped_dir(names[i]) ||
		    (t != DT_DIR && t != DT_LNK && t != DT_UNKNOWN) ||
		    (size_t)snprintf(child, sizeof(child), "%s/%s", abs, names[i]) >=
			sizeof(child)) {
			continue;
		}
		struct stat ls;
		if (t != DT_DIR && fstatat(dfd, names[i], &ls, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(ls.st_mode)) {
			link_target(lw, child);
		}
		if (md || depth >= SK_MAX_DEPTH) {
			continue;
		}
		int cfd = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
		if (cfd >= 0) {
			link_walk(lw, cfd, child, depth + 1);
			close(cfd);
		}
	}
	lw->depth--;
	ctxd_sk_free_names(names, n, types);
}

static int add_link_targets(struct ctxd_skills *sk)
{
	struct link_walk lw = {
	    .sk = sk,
	    .budget = sk->cfg && sk->cfg->skills_max_dirs ? sk->cfg->skills_max_dirs : 10000};
	for (size_t i = 0; i < sk->n_bases && !lw.oom; i++) {
		const struct base *b = &sk->bases[i];
		int fd = b->kind == BASE_FD ? openat(b->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
					    : -1;
		if (fd >= 0) {
			link_walk(&lw, fd, b->abs, 0);
			close(fd);
		}
	}
	return lw.oom ? -1 : 0;
}

int ctxd_sk_dirs_init(struct ctxd_skills *sk)
{
	const struct ctxd_config *cfg = sk->cfg;
	const struct ctxd_sandbox *sb = sk->sb;
	for (size_t i = 0; cfg && i < cfg->n_skills_dirs; i++) {
		if (add_dir(sk, cfg->skills_dirs[i], true) < 0) {
			return -1;
		}
	}
	size_t nroots = sb ? ctxd_sandbox_root_count(sb) : 0;
	for (size_t i = 0; i < nroots; i++) {
		const struct ctxd_root *r = ctxd_sandbox_root(sb, i);
		static const char *const subs[] = {"/.claude/skills", "/.agents/skills"};
		for (size_t k = 0; k < 2; k++) {
			char p[CTXD_PATH_MAX];
			if ((size_t)snprintf(p, sizeof(p), "%s%s", r->path, subs[k]) >= sizeof(p)) {
				continue;
			}
			bool dup = false;
			for (size_t j = 0; j < sk->n_bases; j++) {
				dup = dup || strcmp(sk->bases[j].abs, p) == 0;
			}
			if (!dup && add_base(sk, BASE_SANDBOX, p, -1, r->path) < 0) {
				return -1;
			}
		}
	}
	sk->n_before_user = sk->n_bases;
	if (!cfg || cfg->skills_user_dirs) {
		const char *home = getenv("HOME");
		if (home && home[0] == '/') {
			static const char *const subs[] = {"/.claude/skills", "/.agents/skills"};
			for (size_t k = 0; k < 2; k++) {
				char p[CTXD_PATH_MAX];
				if ((size_t)snprintf(p, sizeof(p), "%s%s", home, subs[k]) <
					sizeof(p) &&
				    add_dir(sk, p, false) < 0) {
					return -1;
				}
			}
		}
	}
	if (sk->init_diags.oom || add_link_targets(sk) < 0) {
		return -1;
	}
	for (size_t i = 0; i < sk->n_bases; i++) {
		sk->bases[i].order = (unsigned)i + (i < sk->n_before_user ? 0 : CLIENT_BASES_MAX);
	}
	struct base *room = realloc(sk->bases, (sk->n_bases + CLIENT_BASES_MAX) * sizeof(*room));
	if (!room) {
		return -1;
	}
	sk->bases = room;
	sk->cap_bases = sk->n_bases + CLIENT_BASES_MAX;
	return 0;
}

void ctxd_sk_dirs_free(struct ctxd_skills *sk)
{
	for (size_t i = 0; i < sk->n_bases; i++) {
		if (sk->bases[i].kind == BASE_FD && sk->bases[i].fd >= 0) {
			close(sk->bases[i].fd);
		}
		if (sk->bases[i].owns_sb) {
			ctxd_sandbox_destroy(sk->bases[i].sb);
		}
		free(sk->bases[i].abs);
	}
	free(sk->bases);
	for (size_t i = 0; i < sk->n_client_roots; i++) {
		free(sk->client_roots[i]);
	}
	free(sk->client_roots);
	for (size_t i = 0; i < sk->n_extra; i++) {
		free(sk->extra[i]);
	}
	free(sk->extra);
	for (size_t i = 0; i < sk->init_diags.n; i++) {
		ctxd_skill_md_diag_free(&sk->init_diags.v[i]);
	}
	free(sk->init_diags.v);
}

size_t ctxd_sk_extra_dirs(struct ctxd_skills *sk, const char **out, size_t max)
{
	for (size_t i = 0; i < sk->n_extra && i < max; i++) {
		out[i] = sk->extra[i];
	}
	return sk->n_extra;
}
/* ---- confined opens ------------------------------------------------------------------- */

/* Open absolute path `p` inside the roots of `sb` (the configured sandbox, or a client
 * root's own; flags as for ctxd_sandbox_open): in its own root, following symlinks that
 * stay there; or, when a symlink leads elsewhere, at its canonical target provided that
 * lies inside an allowed root too. A target outside every
 * root is refused with EXDEV, a dangling one with ENOENT. */
static int open_in_roots(const struct ctxd_sandbox *sb, const char *p, int flags)
{
	struct ctxd_error e = {0};
	int fd = ctxd_sandbox_open(sb, p, strlen(p), flags, 0, false, NULL, &e);
	if (fd >= 0) {
		return fd;
	}
	int err = e.sys_errno ? e.sys_errno : EACCES;
	if (err != EXDEV && err != ELOOP && err != EACCES) {
		errno = err;
		return -1;
	}
	char real[PATH_MAX];
	if (!realpath(p, real)) {
		errno = errno == ENOENT ? ENOENT : err;
		return -1;
	}
	if (strcmp(real, p) == 0) {
		errno = err;
		return -1;
	}
	fd = ctxd_sandbox_open(sb, real, strlen(real), flags, 0, false, NULL, &e);
	if (fd < 0) {
		errno = e.sys_errno && e.sys_errno != EACCES ? e.sys_errno : EXDEV;
	}
	return fd;
}

/* Open `name` (one component) of directory `dfd`, which is at `dir_abs`, under the symlink
 * rule of base `b` (see struct base). Returns fd or -1 with errno. */
int ctxd_sk_open_entry(const struct ctxd_skills *sk, const struct base *b, int dfd,
		       const char *dir_abs, const char *name, int flags)
{
	if (b->kind == BASE_FD) {
		return openat(dfd, name, flags | O_CLOEXEC);
	}
	int fd = ctxd_sandbox_openat(dfd, name, flags, 0, false);
	if (fd >= 0 || (errno != EXDEV && errno != ELOOP)) {
		return fd;
	}
	/* a symlink climbing above `dfd`: resolve it from the roots */
	char p[CTXD_PATH_MAX];
	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir_abs, name) >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open_in_roots(b->sb ? b->sb : sk->sb, p, flags);
}

/* Open `rel` ("" = the base itself) beneath base `b`. Returns fd or -1 with errno. */
int ctxd_sk_base_open(const struct ctxd_skills *sk, const struct base *b, const char *rel,
		      int flags)
{
	if (b->kind == BASE_FD) {
		return openat(b->fd, *rel ? rel : ".", flags | O_CLOEXEC);
	}
	char p[CTXD_PATH_MAX];
	int n = snprintf(p, sizeof(p), "%s%s%s", b->abs, *rel ? "/" : "", rel);
	if (n < 0 || (size_t)n >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open_in_roots(b->sb ? b->sb : sk->sb, p, flags);
}

/* The SKILL.md of a skill folder: "SKILL.md", else a lowercase "skill.md", else NULL. */
const char *ctxd_sk_md_name(char **names, size_t n)
{
	const char *found = NULL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], "SKILL.md") == 0) {
			return "SKILL.md";
		}
		if (strcmp(names[i], "skill.md") == 0) {
			found = "skill.md";
		}
	}
	return found;
}

/* A relative path inside a skill folder: no leading '/', no '..' or empty component. */
static bool rel_ok(const char *rel)
{
	if (!rel || !*rel || *rel == '/' || strlen(rel) >= CTXD_PATH_MAX) {
		return false;
	}
	for (const char *p = rel; *p;) {
		const char *s = strchr(p, '/');
		size_t l = s ? (size_t)(s - p) : strlen(p);
		if (l == 0 || (l == 2 && p[0] == '.' && p[1] == '.')) {
			return false;
		}
		p += l + (s ? 1 : 0);
	}
	return true;
}

int ctxd_sk_open_file(struct ctxd_skills *sk, const struct ctxd_skill *skill, const char *rel,
		      int flags)
{
	if (!rel_ok(rel)) {
		errno = EACCES;
		return -1;
	}
	const struct base *b = &sk->bases[skill->base];
	if (__atomic_load_n(&b->gone, __ATOMIC_ACQUIRE)) {
		errno = EACCES; /* its client root is no longer allowed */
		return -1;
	}
	int dfd = ctxd_sk_base_open(sk, b, skill->rel, O_PATH | O_DIRECTORY);
	if (dfd < 0) {
		return -1;
	}
	int fd;
	if (strcmp(rel, "SKILL.md") == 0) {
		/* the skill's own SKILL.md may be a symlink: the discovery rule applies */
		fd = ctxd_sk_open_entry(sk, b, dfd, skill->dir,
					skill->lower_md ? "skill.md" : "SKILL.md",
					flags | O_NONBLOCK | O_NOCTTY);
	} else {
		fd = ctxd_sandbox_openat(dfd, rel, flags | O_NONBLOCK | O_NOCTTY, 0, false);
		if (fd < 0 && (errno == EXDEV || errno == ELOOP)) {
			errno = EACCES;
		}
	}
	int e = errno;
	close(dfd);
	errno = e;
	return fd;
}
/* Read the names in directory `dirfd` (not consumed), sorted, with their d_type. */
char **ctxd_sk_read_names(int dirfd, size_t *n, unsigned char **types)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0) {
			close(fd);
		}
		return NULL;
	}
	rewinddir(d); /* the dup shares its offset with `dirfd`, which may have been read */
	char **v = NULL;
	unsigned char *t = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
			continue;
		}
		if (ctxd_grow((void **)&v, &cap, cnt + 1, sizeof(*v), 16)) {
			goto fail;
		}
		/* names and their d_type share one block: pointers first, then types */
		v[cnt] = malloc(strlen(e->d_name) + 2);
		if (!v[cnt]) {
			goto fail;
		}
		v[cnt][0] = (char)e->d_type;
		strcpy(v[cnt] + 1, e->d_name);
		cnt++;
	}
	closedir(d);
	/* sort by name (skipping the type byte) */
	for (size_t i = 1; i < cnt; i++) {
		char *x = v[i];
		size_t j = i;
		for (; j > 0 && strcmp(v[j - 1] + 1, x + 1) > 0; j--) {
			v[j] = v[j - 1];
		}
		v[j] = x;
	}
	t = malloc(cnt ? cnt : 1);
	if (!t) {
		for (size_t i = 0; i < cnt; i++) {
			free(v[i]);
		}
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < cnt; i++) {
		t[i] = (unsigned char)v[i][0];
		memmove(v[i], v[i] + 1, strlen(v[i] + 1) + 1);
	}
	if (!v && !(v = calloc(1, sizeof(char *)))) { /* an empty directory: a valid empty list */
		free(t);
		return NULL;
	}
	*types = t;
	*n = cnt;
	return v;
fail:
	for (size_t i = 0; i < cnt; i++) {
		free(v[i]);
	}
	free(v);
	closedir(d);
	return NULL;
}

void ctxd_sk_free_names(char **v, size_t n, unsigned char *t)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i]);
	}
	free(v);
	free(t);
}

bool ctxd_sk_skipped_dir(const char *name)
{
	return strcmp(name, ".git") == 0 || strcmp(name, "node_modules") == 0;
}
/* Make the client-root bases match the list ctxd_sk_set_roots left: a new root gets
 * its two bases (and a sandbox of its own to read them through), a root that left is
 * marked gone, the others take their place in the client's order. Caller holds scan_lock. */
void ctxd_sk_dirs_apply_roots(struct ctxd_skills *sk)
{
	pthread_mutex_lock(&sk->snap_lock);
	char **roots = sk->client_roots;
	size_t n = sk->n_client_roots;
	bool pending = sk->roots_pending;
	sk->client_roots = NULL;
	sk->n_client_roots = 0;
	sk->roots_pending = false;
	sk->applied_gen = sk->roots_gen; /* stale until a scan with these bases is published */
	pthread_mutex_unlock(&sk->snap_lock);
	if (!pending) {
		return;
	}
	static const char *const subs[] = {"/.claude/skills", "/.agents/skills"};
	for (size_t i = 0; i < sk->n_bases; i++) {
		if (sk->bases[i].client) {
			__atomic_store_n(&sk->bases[i].gone, true, __ATOMIC_RELEASE);
		}
	}
	for (size_t r = 0; r < n && r < CLIENT_BASES_MAX / 2; r++) {
		unsigned order = (unsigned)(sk->n_before_user + 2 * r);
		size_t found = 0;
		for (size_t i = 0; i < sk->n_bases; i++) {
			struct base *b = &sk->bases[i];
			if (b->client && strcmp(b->root_path, roots[r]) == 0) {
				bool agents = strstr(b->abs + strlen(roots[r]), ".agents") != NULL;
				b->order = order + agents;
				__atomic_store_n(&b->gone, false, __ATOMIC_RELEASE);
				found++;
			}
		}
		if (found) {
			continue;
		}
		struct ctxd_error err;
		struct ctxd_sandbox *own = ctxd_sandbox_create();
		if (sk->n_bases + 2 > sk->cap_bases) {
			snprintf(err.msg, sizeof(err.msg),
				 "more than %d client roots in one session", CLIENT_BASES_MAX / 2);
		} else if (!own) {
			snprintf(err.msg, sizeof(err.msg), "out of memory");
		}
		if (sk->n_bases + 2 > sk->cap_bases || !own ||
		    ctxd_sandbox_add_root(own, roots[r], true, &err) < 0) {
			ctxd_warn("skills: the skills of the client's root %.300s are not read: %s",
				  roots[r], err.msg);
			ctxd_sandbox_destroy(own);
			continue;
		}
		ctxd_sandbox_seal(own);
		const char *root_path = ctxd_sandbox_root(own, 0)->path;
		for (size_t k = 0; k < 2; k++) {
			char p[CTXD_PATH_MAX];
			snprintf(p, sizeof(p), "%s%s", root_path, subs[k]);
			char *abs = strdup(p);
			if (!abs) {
				if (k == 0) {
					ctxd_sandbox_destroy(own);
				}
				break;
			}
			sk->bases[sk->n_bases] = (struct base){
			    .kind = BASE_SANDBOX,
			    .abs = abs,
			    .fd = -1,
			    .root_path = root_path,
			    .sb = own,
			    .owns_sb = k == 0,
			    .order = order + (unsigned)k,
			    .client = true,
			};
			sk->n_bases++;
		}
	}
	for (size_t r = 0; r < n; r++) {
		free(roots[r]);
	}
	free(roots);
}

/* The bases to scan, in precedence order, without the client roots that left. */
size_t ctxd_sk_dirs_by_order(const struct ctxd_skills *sk, size_t *out)
{
	size_t n = 0;
	for (size_t i = 0; i < sk->n_bases; i++) {
		if (__atomic_load_n(&sk->bases[i].gone, __ATOMIC_ACQUIRE)) {
			continue;
		}
		size_t j = n++;
		for (; j > 0 && sk->bases[out[j - 1]].order > sk->bases[i].order; j--) {
			out[j] = out[j - 1];
		}
		out[j] = i;
	}
	return n;
}
