/* fs_ignore.c - ignore files (.gitignore, .ignore, .rgignore, .git/info/exclude) compiled
 * once per file, cached across calls, and applied as ripgrep applies them.
 *
 * Why compiled: the walk used to try every rule of every level on every entry (fnmatch on
 * each; u-boot's root .gitignore alone has 97 rules), which was 62% of search_files' CPU.
 * A file's rules are sorted into buckets that answer without trying them one by one:
 * literal names and literal anchored paths (hash tables), extensions ("*.o": a hash table
 * on the name's extension), and the rest (suffixes "*~", prefixes "foo*", other globs) in a
 * list tried from the last rule back, only while a rule could still beat the best match the
 * tables found. The answer is the same as trying every rule (the last matching rule wins;
 * ctxd_fs_ignore_path_linear is that reference, and the fuzz target compares the two).
 *
 * Why cached: each call used to read and parse every ignore file of the tree again. Files
 * are cached by (device, inode) and checked against their size, mtime and ctime at every
 * use, which is exact once a file's timestamps are older than the filesystem's timestamp
 * granularity: a file changed within the last two seconds (as git's "racily clean" index
 * entries) is compiled for the call and not kept. The watcher, when attached, drops an
 * entry as soon as its file changes, so stale rule sets do not linger in memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/sandbox.h"
#include "ctxd/strbuf.h"
#include "ctxd/watch.h"
#include "fs_ignore.h"
#include "fs_walk.h"

#define IGNORE_FILE_MAX (1u << 20)
/* Rules tested between two checks of the cancel flag and the deadline. */
#define IGNORE_CHECK_EVERY 256
/* Files modified this recently (seconds) are not kept in the cache (see above). */
#define IGNORE_RACY_S 2
/* Most files the cache keeps; past it, it starts afresh. */
#define IGNORE_CACHE_MAX 4096

enum rule_kind {
	R_NAME_LIT,  /* a name without glob characters: hash table */
	R_NAME_EXT,  /* "*.ext" (one dot, no glob characters after it): hash table */
	R_NAME_ANY,  /* "*" */
	R_SUFFIX,    /* "*LIT": the name ends with LIT */
	R_PREFIX,    /* "LIT*": the name starts with LIT */
	R_NAME_GLOB, /* fnmatch on the name */
	R_PATH_LIT,  /* anchored, no glob characters: hash table on the relative path */
	R_PATH_GLOB, /* anchored: a path glob */
};

struct rule {
	const char *pat; /* the pattern text (name or path), NUL-terminated, in set->text */
	size_t len;
	struct ctxd_fs_glob *glob; /* R_PATH_GLOB */
	unsigned char kind;
	bool neg, dir_only;
};

struct hent {
	const char *key;
	size_t len;
	int any; /* last rule index for any entry, or -1 */
	int dir; /* last rule index for directories only, or -1 */
};

struct htab {
	struct hent *v;
	size_t mask; /* capacity - 1 (a power of two), or 0 when empty */
	size_t n;
};

/* One ignore file, compiled. Read-only once built. */
struct ignore_set {
	struct rule *rules;
	size_t n;
	struct htab names, exts, paths;
	int *others; /* indices of the other rules, last first */
	size_t n_others;
	char *text;
};

/* ---- compiling a file -------------------------------------------------------------- */

static size_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 29));
}

static struct hent *hfind(const struct htab *t, const char *key, size_t len)
{
	if (!t->mask) {
		return NULL;
	}
	for (size_t i = hash(key, len) & t->mask;; i = (i + 1) & t->mask) {
		struct hent *e = &t->v[i];
		if (!e->key) {
			return NULL;
		}
		if (e->len == len && memcmp(e->key, key, len) == 0) {
			return e;
		}
	}
}

static int hput(struct htab *t, const char *key, size_t len, int idx, bool dir_only)
{
	if ((t->n + 1) * 2 > t->mask + 1 || !t->mask) {
		size_t cap = t->mask ? (t->mask + 1) * 2 : 16;
		struct hent *v = calloc(cap, sizeof(*v));
		if (!v) {
			return -1;
		}
		for (size_t i = 0; t->mask && i <= t->mask; i++) {
			if (t->v[i].key) {
				size_t j = hash(t->v[i].key, t->v[i].len) & (cap - 1);
				while (v[j].key) {
					j = (j + 1) & (cap - 1);
				}
				v[j] = t->v[i];
			}
		}
		free(t->v);
		t->v = v;
		t->mask = cap - 1;
	}
	size_t i = hash(key, len) & t->mask;
	while (t->v[i].key && !(t->v[i].len == len && memcmp(t->v[i].key, key, len) == 0)) {
		i = (i + 1) & t->mask;
	}
	struct hent *e = &t->v[i];
	if (!e->key) {
		*e = (struct hent){.key = key, .len = len, .any = -1, .dir = -1};
		t->n++;
	}
	if (dir_only) {
		e->dir = idx;
	} else {
		e->any = idx;
	}
	return 0;
}

/* The last rule of the table that matches `key` (for an entry that is a directory or
 * not), or -1. */
static int hbest(const struct htab *t, const char *key, size_t len, bool is_dir)
{
	const struct hent *e = hfind(t, key, len);
	if (!e) {
		return -1;
	}
	return is_dir && e->dir > e->any ? e->dir : e->any;
}

static bool has_glob(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '*' || s[i] == '?' || s[i] == '[' || s[i] == '\\') {
			return true;
		}
	}
	return false;
}

static bool has_slash(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '/') {
			return true;
		}
	}
	return false;
}

static void set_free(struct ignore_set *s)
{
	if (!s) {
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		ctxd_fs_glob_free(s->rules[i].glob);
	}
	free(s->rules);
	free(s->names.v);
	free(s->exts.v);
	free(s->paths.v);
	free(s->others);
	free(s->text);
	free(s);
}

/* Sort rule `i` into its bucket. Returns 0 or -1 (ENOMEM). */
static int bucket(struct ignore_set *s, int i)
{
	struct rule *r = &s->rules[i];
	const char *p = r->pat;
	size_t n = r->len;
	switch (r->kind) {
	case R_NAME_LIT:
		return hput(&s->names, p, n, i, r->dir_only);
	case R_NAME_EXT:
		return hput(&s->exts, p + 2, n - 2, i, r->dir_only);
	case R_PATH_LIT:
		return hput(&s->paths, p, n, i, r->dir_only);
	default:
		s->others[s->n_others++] = i;
		return 0;
	}
}

/* Decide how rule `r` (its pattern already stripped of '!', a trailing '/' and a leading
 * '/') is matched. */
static int classify_rule(struct rule *r, bool anchored)
{
	const char *p = r->pat;
	size_t n = r->len;
	if (anchored) {
		if (!has_glob(p, n)) {
			r->kind = R_PATH_LIT;
			return 0;
		}
		r->kind = R_PATH_GLOB;
		return ctxd_fs_glob_compile(p, n, &r->glob) < 0 ? -1 : 0;
	}
	if (!has_glob(p, n)) {
		r->kind = R_NAME_LIT;
	} else if (n == 1 || (n == 2 && p[1] == '*')) {
		r->kind = p[0] == '*' ? R_NAME_ANY : R_NAME_GLOB;
	} else if (p[0] == '*' && !has_glob(p + 1, n - 1)) {
		bool ext = p[1] == '.' && n > 2 && !memchr(p + 2, '.', n - 2);
		r->kind = ext ? R_NAME_EXT : R_SUFFIX;
	} else if (p[n - 1] == '*' && !has_glob(p, n - 1)) {
		r->kind = R_PREFIX;
	} else {
		r->kind = R_NAME_GLOB;
	}
	return 0;
}

/* Parse and compile ignore text (`text` is owned by the set afterwards, even on failure).
 * The syntax is gitignore(5)'s: blank lines and '#' comments skipped, trailing blanks
 * trimmed unless escaped, '\#' and '\!' escapes, '!' negation, a trailing '/' for
 * directories only, a leading or inner '/' anchoring the pattern to the file's directory.
 * Rules longer than CTXD_FS_GLOB_MAX or holding a NUL byte are not applied. NULL on
 * ENOMEM. */
static struct ignore_set *set_compile(char *text, size_t len)
{
	struct ignore_set *s = calloc(1, sizeof(*s));
	if (!s) {
		free(text);
		return NULL;
	}
	s->text = text;
	size_t cap = 0;
	for (size_t i = 0; i < len;) {
		char *line = text + i;
		char *nl = memchr(line, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - line) : len - i;
		i += ll + 1;
		line[ll] = '\0';
		while (ll > 0 &&
		       (line[ll - 1] == '\r' || line[ll - 1] == ' ' || line[ll - 1] == '\t') &&
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
		bool anchored = false;
		if (ll > 0 && line[0] == '/') {
			anchored = true;
			line++;
			ll--;
		}
		if (ll > 3 && line[0] == '*' && line[1] == '*' && line[2] == '/' &&
		    !has_slash(line + 3, ll - 3)) {
			/* "**" then a name: that name at any depth, as an unanchored pattern */
			anchored = false;
			line += 3;
			ll -= 3;
		} else if (memchr(line, '/', ll)) {
			anchored = true;
		}
		if (ll == 0 || ll > CTXD_FS_GLOB_MAX || memchr(line, '\0', ll)) {
			continue; /* nothing to match, too long to apply, or cut by a NUL byte */
		}
		r.pat = line;
		r.len = ll;
		if (classify_rule(&r, anchored) < 0) {
			set_free(s);
			return NULL;
		}
		if (ctxd_grow((void **)&s->rules, &cap, s->n + 1, sizeof(*s->rules), 16) < 0) {
			ctxd_fs_glob_free(r.glob);
			set_free(s);
			return NULL;
		}
		s->rules[s->n++] = r;
	}
	s->others = malloc((s->n ? s->n : 1) * sizeof(*s->others));
	if (!s->others) {
		set_free(s);
		return NULL;
	}
	for (size_t k = s->n; k-- > 0;) {
		if (bucket(s, (int)k) < 0) {
			set_free(s);
			return NULL;
		}
	}
	return s;
}

/* ---- matching ----------------------------------------------------------------------- */

/* Count one rule test; every IGNORE_CHECK_EVERY, look at the cancel flag and the deadline.
 * True when the walk must give up. */
static bool tested(struct ctxd_fs_ignore_ctx *c)
{
	if (!c || ++c->tested < IGNORE_CHECK_EVERY) {
		return false;
	}
	c->tested = 0;
	if (ctxd_job_cancelled(c->job) || ctxd_deadline_passed(c->deadline_ms)) {
		c->gave_up = true;
	}
	return c->gave_up;
}

static bool rule_matches(const struct rule *r, const char *path, size_t plen, const char *name,
			 size_t nlen)
{
	switch (r->kind) {
	case R_NAME_LIT:
		return nlen == r->len && memcmp(name, r->pat, nlen) == 0;
	case R_NAME_EXT:
	case R_SUFFIX:
		return nlen >= r->len - 1 &&
		       memcmp(name + nlen - (r->len - 1), r->pat + 1, r->len - 1) == 0;
	case R_NAME_ANY:
		return true;
	case R_PREFIX:
		return nlen >= r->len - 1 && memcmp(name, r->pat, r->len - 1) == 0;
	case R_NAME_GLOB:
		return fnmatch(r->pat, name, 0) == 0;
	case R_PATH_LIT:
		return plen == r->len && memcmp(path, r->pat, plen) == 0;
	case R_PATH_GLOB:
		return ctxd_fs_glob_match(r->glob, path, plen);
	default:
		return false;
	}
}

/* The index of the last rule of `s` that matches the entry (path relative to the file's
 * directory, and its final component `name`, NUL-terminated), or -1. */
static int set_match(const struct ignore_set *s, struct ctxd_fs_ignore_ctx *c, const char *path,
		     size_t plen, const char *name, size_t nlen, bool is_dir)
{
	int best = hbest(&s->names, name, nlen, is_dir);
	if (s->exts.n) {
		const char *dot = memrchr(name, '.', nlen);
		if (dot) {
			int b = hbest(&s->exts, dot + 1, nlen - (size_t)(dot + 1 - name), is_dir);
			best = b > best ? b : best;
		}
	}
	if (s->paths.n) {
		int b = hbest(&s->paths, path, plen, is_dir);
		best = b > best ? b : best;
	}
	for (size_t k = 0; k < s->n_others && s->others[k] > best; k++) {
		const struct rule *r = &s->rules[s->others[k]];
		if (r->dir_only && !is_dir) {
			continue;
		}
		if (tested(c)) {
			return -1;
		}
		if (rule_matches(r, path, plen, name, nlen)) {
			return s->others[k];
		}
	}
	return best;
}

/* ---- a single text (tests, fuzzing) --------------------------------------------------- */

struct ctxd_fs_ignore {
	struct ignore_set *set;
};

struct ctxd_fs_ignore *ctxd_fs_ignore_create_text(const char *text, size_t len)
{
	struct ctxd_fs_ignore *ig = calloc(1, sizeof(*ig));
	char *copy = ig ? malloc(len + 1) : NULL;
	if (!copy) {
		free(ig);
		return NULL;
	}
	if (len) {
		memcpy(copy, text, len);
	}
	copy[len] = '\0';
	if (!(ig->set = set_compile(copy, len))) {
		free(ig);
		return NULL;
	}
	return ig;
}

void ctxd_fs_ignore_destroy(struct ctxd_fs_ignore *ig)
{
	if (ig) {
		set_free(ig->set);
		free(ig);
	}
}

/* `rel` as a NUL-terminated copy in `buf` and its final component. False when it cannot be
 * tested (too long, or a NUL byte inside). */
static bool split_name(const char *rel, size_t len, char *buf, const char **name, size_t *nlen)
{
	if (len >= CTXD_PATH_MAX || memchr(rel, '\0', len)) {
		return false;
	}
	memcpy(buf, rel, len);
	buf[len] = '\0';
	const char *slash = memrchr(buf, '/', len);
	*name = slash ? slash + 1 : buf;
	*nlen = len - (size_t)(*name - buf);
	return true;
}

bool ctxd_fs_ignore_path(struct ctxd_fs_ignore *ig, const char *rel, size_t len, bool is_dir,
			 struct ctxd_fs_ignore_ctx *c)
{
	char buf[CTXD_PATH_MAX];
	const char *name;
	size_t nlen;
	if (!split_name(rel, len, buf, &name, &nlen)) {
		return false;
	}
	int k = set_match(ig->set, c, buf, len, name, nlen, is_dir);
	if (c && c->gave_up) {
		return true;
	}
	return k >= 0 && !ig->set->rules[k].neg;
}

bool ctxd_fs_ignore_path_linear(struct ctxd_fs_ignore *ig, const char *rel, size_t len, bool is_dir)
{
	char buf[CTXD_PATH_MAX];
	const char *name;
	size_t nlen;
	if (!split_name(rel, len, buf, &name, &nlen)) {
		return false;
	}
	for (size_t k = ig->set->n; k-- > 0;) {
		const struct rule *r = &ig->set->rules[k];
		if ((!r->dir_only || is_dir) && rule_matches(r, buf, len, name, nlen)) {
			return !r->neg;
		}
	}
	return false;
}

/* ---- the cache ------------------------------------------------------------------------- */

/* A cached (or, when racy, call-private) compiled ignore file. */
struct ignore_file {
	atomic_uint refs;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	struct ignore_set *set;   /* NULL: the file could not be read (applies nothing) */
	char *dir;                /* absolute directory path, for the watcher (or NULL) */
	int watch_id;             /* watcher registration, or 0 */
	struct ignore_file *next; /* in its cache bucket */
};

#define CACHE_BUCKETS 256

struct ctxd_fs_ignore_cache {
	pthread_mutex_t mu;
	struct ignore_file *b[CACHE_BUCKETS]; /* by (device, inode) */
	size_t n;
	struct ctxd_watch *watch; /* NULL: entries are dropped only when found stale */
	size_t hits, misses;
};

static void file_put(struct ignore_file *f)
{
	if (f && atomic_fetch_sub(&f->refs, 1) == 1) {
		set_free(f->set);
		free(f->dir);
		free(f);
	}
}

static size_t bucket_of(dev_t dev, ino_t ino)
{
	uint64_t h =
	    ((uint64_t)dev * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)ino * 0xC2B2AE3D27D4EB4FULL);
	return (size_t)(h >> 56) % CACHE_BUCKETS;
}

struct ctxd_fs_ignore_cache *ctxd_fs_ignore_cache_create(void)
{
	struct ctxd_fs_ignore_cache *c = calloc(1, sizeof(*c));
	if (c) {
		pthread_mutex_init(&c->mu, NULL);
	}
	return c;
}

/* Unlink *pp (the caller holds c->mu) and drop the cache's reference and registration. */
static void cache_unlink(struct ctxd_fs_ignore_cache *c, struct ignore_file **pp)
{
	struct ignore_file *f = *pp;
	*pp = f->next;
	c->n--;
	if (f->watch_id > 0 && c->watch) {
		ctxd_watch_remove(c->watch, f->watch_id);
	}
	file_put(f);
}

static void cache_clear_locked(struct ctxd_fs_ignore_cache *c)
{
	for (size_t i = 0; i < CACHE_BUCKETS; i++) {
		while (c->b[i]) {
			cache_unlink(c, &c->b[i]);
		}
	}
}

void ctxd_fs_ignore_cache_destroy(struct ctxd_fs_ignore_cache *c)
{
	if (!c) {
		return;
	}
	pthread_mutex_lock(&c->mu);
	cache_clear_locked(c);
	pthread_mutex_unlock(&c->mu);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static bool ignore_file_name(const char *name)
{
	for (size_t k = 0; k < 3; k++) {
		static const char *const names[] = {".gitignore", ".ignore", ".rgignore"};
		if (strcmp(name, names[k]) == 0) {
			return true;
		}
	}
	return strcmp(name, "exclude") == 0 || name[0] == '\0';
}

/* The watcher saw `name` change in `dir`: drop the entries of ignore files read from there
 * (a change of the directory itself, "" or a lost event, drops them all). Loop thread. */
static void on_change(void *ud, const char *dir, const char *name, uint32_t mask)
{
	struct ctxd_fs_ignore_cache *c = ud;
	(void)mask;
	if (!ignore_file_name(name)) {
		return;
	}
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < CACHE_BUCKETS; i++) {
		for (struct ignore_file **pp = &c->b[i]; *pp;) {
			if ((*pp)->dir && strcmp((*pp)->dir, dir) == 0) {
				cache_unlink(c, pp);
			} else {
				pp = &(*pp)->next;
			}
		}
	}
	pthread_mutex_unlock(&c->mu);
}

void ctxd_fs_ignore_cache_attach(struct ctxd_fs_ignore_cache *c, struct ctxd_watch *w)
{
	if (!c) {
		return;
	}
	pthread_mutex_lock(&c->mu);
	cache_clear_locked(c); /* entries made before have no registration, or an old one */
	c->watch = w;
	pthread_mutex_unlock(&c->mu);
}

void ctxd_fs_ignore_cache_stats(struct ctxd_fs_ignore_cache *c, size_t *hits, size_t *misses,
				size_t *entries)
{
	pthread_mutex_lock(&c->mu);
	*hits = c->hits;
	*misses = c->misses;
	*entries = c->n;
	pthread_mutex_unlock(&c->mu);
}

static bool same_stat(const struct ignore_file *f, const struct stat *st)
{
	return f->size == st->st_size && f->mtime.tv_sec == st->st_mtim.tv_sec &&
	       f->mtime.tv_nsec == st->st_mtim.tv_nsec && f->ctime.tv_sec == st->st_ctim.tv_sec &&
	       f->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

int ctxd_fs_ignore_racy_s = IGNORE_RACY_S;

/* Changed so recently that a later change might carry the same timestamps. */
static bool racy(const struct stat *st)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	time_t newest =
	    st->st_mtim.tv_sec > st->st_ctim.tv_sec ? st->st_mtim.tv_sec : st->st_ctim.tv_sec;
	return newest + ctxd_fs_ignore_racy_s >= now.tv_sec;
}

/* The compiled file `rel` beneath `dirfd` (a new reference), or NULL when there is none or
 * it is not a regular file. `abs_dir` (may be NULL) is the absolute path of the directory
 * holding it, for the watcher. *oom is set when memory ran out. */
static struct ignore_file *file_get(struct ctxd_fs_ignore_cache *c, int dirfd, const char *rel,
				    const char *abs_dir, bool *oom)
{
	int fd = ctxd_sandbox_openat(dirfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, true);
	if (fd < 0) {
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	size_t bk = bucket_of(st.st_dev, st.st_ino);
	if (c) {
		pthread_mutex_lock(&c->mu);
		for (struct ignore_file **pp = &c->b[bk]; *pp; pp = &(*pp)->next) {
			struct ignore_file *f = *pp;
			if (f->dev != st.st_dev || f->ino != st.st_ino) {
				continue;
			}
			if (same_stat(f, &st)) {
				atomic_fetch_add(&f->refs, 1);
				c->hits++;
				pthread_mutex_unlock(&c->mu);
				close(fd);
				return f;
			}
			cache_unlink(c, pp); /* the file changed: this entry is stale */
			break;
		}
		c->misses++;
		pthread_mutex_unlock(&c->mu);
	}
	struct ignore_file *f = calloc(1, sizeof(*f));
	if (!f) {
		close(fd);
		*oom = true;
		return NULL;
	}
	atomic_init(&f->refs, 1);
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = st.st_size;
	f->mtime = st.st_mtim;
	f->ctime = st.st_ctim;
	if (st.st_size > 0 && (size_t)st.st_size <= IGNORE_FILE_MAX) {
		char *text = malloc((size_t)st.st_size + 1);
		ssize_t got = text ? pread(fd, text, (size_t)st.st_size, 0) : -1;
		if (!text) {
			*oom = true;
		} else if (got < 0) {
			free(text);
		} else if (!(f->set = set_compile(text, (size_t)got))) {
			*oom = true;
		}
	}
	close(fd);
	if (*oom) {
		file_put(f);
		return NULL;
	}
	if (!c || racy(&st)) {
		return f; /* the caller's only */
	}
	pthread_mutex_lock(&c->mu);
	if (c->n >= IGNORE_CACHE_MAX) {
		cache_clear_locked(c);
	}
	bool keep = true;
	if (c->watch) {
		/* one registration per file: the watcher shares an inotify watch per directory */
		f->dir = abs_dir ? strdup(abs_dir) : NULL;
		f->watch_id = f->dir ? ctxd_watch_add(c->watch, f->dir, on_change, c) : -1;
		keep = f->watch_id > 0;
	}
	for (struct ignore_file *o = c->b[bk]; o && keep; o = o->next) {
		keep = o->dev != f->dev || o->ino != f->ino; /* another call cached it meanwhile */
	}
	if (keep) {
		atomic_fetch_add(&f->refs, 1);
		f->next = c->b[bk];
		c->b[bk] = f;
		c->n++;
	} else if (f->watch_id > 0) {
		ctxd_watch_remove(c->watch, f->watch_id);
		f->watch_id = 0;
	}
	pthread_mutex_unlock(&c->mu);
	return f;
}

/* ---- levels: one directory's ignore files in a chain ------------------------------------ */

enum { CAT_RG, CAT_IGNORE, CAT_GIT, CAT_EXCLUDE, N_CAT };

struct ctxd_fs_ignore_level {
	const struct ctxd_fs_ignore_level *up;
	struct ignore_file *files[N_CAT];
	bool has_git;
	size_t skip; /* at or below the walk's start: bytes of an entry's path to skip */
	char *above; /* above the start: the start's path relative to this directory, + '/' */
	size_t above_len;
};

void ctxd_fs_ignore_level_free(struct ctxd_fs_ignore_level *lv)
{
	if (!lv) {
		return;
	}
	for (int k = 0; k < N_CAT; k++) {
		file_put(lv->files[k]);
	}
	free(lv->above);
	free(lv);
}

static const char *const cat_names[N_CAT] = {".rgignore", ".ignore", ".gitignore",
					     ".git/info/exclude"};

struct ctxd_fs_ignore_level *ctxd_fs_ignore_enter(struct ctxd_fs_ignore_cache *c, int dirfd,
						  const char *abs_dir, unsigned has,
						  const struct ctxd_fs_ignore_level *up,
						  size_t skip, const char *above, bool *oom)
{
	*oom = false;
	if (!has) {
		return NULL;
	}
	struct ctxd_fs_ignore_level *lv = calloc(1, sizeof(*lv));
	if (!lv) {
		*oom = true;
		return NULL;
	}
	lv->up = up;
	lv->skip = skip;
	lv->has_git = has & CTXD_FS_HAS_GIT;
	if (above && !(lv->above = strdup(above))) {
		free(lv);
		*oom = true;
		return NULL;
	}
	lv->above_len = above ? strlen(above) : 0;
	static const unsigned bits[N_CAT] = {CTXD_FS_HAS_RGIGNORE, CTXD_FS_HAS_IGNORE,
					     CTXD_FS_HAS_GITIGNORE, CTXD_FS_HAS_GIT};
	bool any = lv->has_git;
	for (int k = 0; k < N_CAT && !*oom; k++) {
		if (!(has & bits[k])) {
			continue;
		}
		char dir[CTXD_PATH_MAX];
		const char *wdir = abs_dir;
		if (k == CAT_EXCLUDE && abs_dir) {
			/* the watcher watches .git/info, where the file is */
			snprintf(dir, sizeof(dir), "%s/.git/info", abs_dir);
			wdir = dir;
		}
		lv->files[k] = file_get(c, dirfd, cat_names[k], wdir, oom);
		any |= lv->files[k] && lv->files[k]->set && lv->files[k]->set->n;
	}
	if (*oom || !any) {
		ctxd_fs_ignore_level_free(lv);
		return NULL;
	}
	return lv;
}

const struct ctxd_fs_ignore_level *ctxd_fs_ignore_level_up(const struct ctxd_fs_ignore_level *lv)
{
	return lv->up;
}

bool ctxd_fs_ignore_test(const struct ctxd_fs_ignore_level *lv, struct ctxd_fs_ignore_ctx *c,
			 const char *rel, size_t rel_len, const char *name, size_t name_len,
			 bool is_dir)
{
	if (c->gave_up) {
		return true;
	}
	int decided[N_CAT] = {0, 0, 0, 0}; /* 0 none, 1 ignore, 2 whitelist */
	bool saw_git = false;
	char buf[2 * CTXD_PATH_MAX];
	for (; lv; lv = lv->up) {
		for (int k = 0; k < N_CAT; k++) {
			const struct ignore_file *f = lv->files[k];
			if (decided[k] || !f || !f->set || (k >= CAT_GIT && saw_git)) {
				continue;
			}
			const char *path = rel + lv->skip;
			size_t plen = rel_len - lv->skip;
			if (lv->above) {
				if (lv->above_len + rel_len >= sizeof(buf)) {
					continue;
				}
				memcpy(buf, lv->above, lv->above_len);
				memcpy(buf + lv->above_len, rel, rel_len);
				buf[lv->above_len + rel_len] = '\0';
				path = buf;
				plen = lv->above_len + rel_len;
			}
			int r = set_match(f->set, c, path, plen, name, name_len, is_dir);
			if (c->gave_up) {
				return true;
			}
			if (r >= 0) {
				decided[k] = f->set->rules[r].neg ? 2 : 1;
			}
		}
		saw_git |= lv->has_git;
		if (decided[CAT_RG]) {
			break; /* the first category decides: nothing further up can change it */
		}
	}
	for (int k = 0; k < N_CAT; k++) {
		if (decided[k]) {
			return decided[k] == 1;
		}
	}
	return false;
}

void ctxd_fs_ignore_chain_free(struct ctxd_fs_ignore_level *lv)
{
	while (lv) {
		struct ctxd_fs_ignore_level *up = (struct ctxd_fs_ignore_level *)lv->up;
		ctxd_fs_ignore_level_free(lv);
		lv = up;
	}
}

struct ctxd_fs_ignore_level *ctxd_fs_ignore_parents(struct ctxd_fs_ignore_cache *c, int root_fd,
						    const char *root_abs, const char *start_rel,
						    bool *oom)
{
	*oom = false;
	size_t sl = strlen(start_rel);
	if (sl == 0 || strcmp(start_rel, ".") == 0 || sl >= CTXD_PATH_MAX) {
		return NULL; /* the start is the root: nothing above it */
	}
	struct ctxd_fs_ignore_level *chain = NULL;
	char prefix[CTXD_PATH_MAX], above[CTXD_PATH_MAX + 1], abs[2 * CTXD_PATH_MAX];
	/* each ancestor: the root (prefix ""), then start_rel cut before each '/' */
	for (size_t cut = 0;;) {
		memcpy(prefix, start_rel, cut);
		prefix[cut] = '\0';
		size_t rest = cut ? cut + 1 : 0;
		memcpy(above, start_rel + rest, sl - rest);
		above[sl - rest] = '/';
		above[sl - rest + 1] = '\0';
		int fd = ctxd_sandbox_openat(root_fd, cut ? prefix : ".", O_RDONLY | O_DIRECTORY, 0,
					     false);
		if (fd >= 0) {
			struct stat st;
			unsigned has =
			    CTXD_FS_HAS_RGIGNORE | CTXD_FS_HAS_IGNORE | CTXD_FS_HAS_GITIGNORE;
			if (fstatat(fd, ".git", &st, AT_SYMLINK_NOFOLLOW) == 0) {
				has |= CTXD_FS_HAS_GIT;
			}
			snprintf(abs, sizeof(abs), "%s%s%s", root_abs, cut ? "/" : "", prefix);
			struct ctxd_fs_ignore_level *lv = ctxd_fs_ignore_enter(
			    c, fd, root_abs ? abs : NULL, has, chain, 0, above, oom);
			close(fd);
			if (*oom) {
				ctxd_fs_ignore_chain_free(chain);
				return NULL;
			}
			if (lv) {
				chain = lv;
			}
		}
		const char *slash = memchr(start_rel + rest, '/', sl - rest);
		if (!slash) {
			break;
		}
		cut = (size_t)(slash - start_rel);
	}
	return chain;
}
