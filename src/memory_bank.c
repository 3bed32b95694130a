/* memory_bank.c - the memory bank's layout, markdown section parser, locked atomic writes
 * with history, validation and the BM25 search index. The tools and the resource provider
 * over it live in src/tools/memory_bank.c.
 *
 * Concurrency: writers serialise on an exclusive flock of <bank>/.history/.lock (see
 * lock_bank), which works across processes (two ctxd servers, or anything else that honours
 * the lock) and across the worker threads of one process (each transaction opens its own
 * descriptor, and flock locks belong to the open file description). Readers take no lock:
 * files are only ever replaced by rename, so a reader sees the old or the new content, never
 * a mix.
 */
#include "ctxd/memory_bank.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "ctxd/fsutil.h"

#define FILE_MAX ((size_t)16 << 20)
#define HISTORY_DIR ".history"
#define LOCK_NAME ".lock"         /* inside HISTORY_DIR */
#define OLD_LOCK_NAME ".lock"     /* in the bank itself, where earlier ctxd kept it */
#define GITIGNORE_NAME ".gitignore" /* inside HISTORY_DIR */
#define GITIGNORE_TEXT                                                                       \
	"# Written by ctxd: the memory bank's write lock and file history stay out of git.\n"  \
	"# Edit this file (rather than delete it: it is written again) to track them.\n*\n"

/* ---- markdown sections ------------------------------------------------------------- */

struct mdline {
	size_t s, e, next; /* content [s, e) without "\r\n"; next line starts at `next` */
};

/* One line from `pos`. Line endings as in CommonMark: "\n", "\r\n", or a "\r" not
 * followed by "\n" (so a lone CR never ends up inside a heading's title). */
static void md_line(const char *buf, size_t len, size_t pos, struct mdline *l)
{
	size_t e = pos;
	while (e < len && buf[e] != '\n' && buf[e] != '\r') {
		e++;
	}
	l->s = pos;
	l->e = e;
	if (e == len) {
		l->next = len;
	} else if (buf[e] == '\r' && e + 1 < len && buf[e + 1] == '\n') {
		l->next = e + 2;
	} else {
		l->next = e + 1;
	}
}

/* Columns of leading blanks (a tab counts 4) and the first non-blank byte. */
static size_t md_indent(const char *buf, const struct mdline *l, size_t *first)
{
	size_t i = l->s, col = 0;
	while (i < l->e && (buf[i] == ' ' || buf[i] == '\t')) {
		col += buf[i] == '\t' ? 4 : 1;
		i++;
	}
	*first = i;
	return col;
}

static bool md_blank(const char *buf, const struct mdline *l)
{
	for (size_t i = l->s; i < l->e; i++) {
		if (buf[i] != ' ' && buf[i] != '\t') {
			return false;
		}
	}
	return true;
}

/* A run of `c` from p; the rest of the line must be blank when `rest_blank`. */
static size_t md_run(const char *buf, size_t p, size_t e, char c)
{
	size_t i = p;
	while (i < e && buf[i] == c) {
		i++;
	}
	return i - p;
}

static bool md_rest_blank(const char *buf, size_t p, size_t e)
{
	for (; p < e; p++) {
		if (buf[p] != ' ' && buf[p] != '\t') {
			return false;
		}
	}
	return true;
}

/* "---", "***", "___" (blanks allowed between) with nothing else: a thematic break. */
static bool md_break(const char *buf, size_t p, size_t e)
{
	char c = buf[p];
	if (c != '-' && c != '*' && c != '_') {
		return false;
	}
	size_t n = 0;
	for (; p < e; p++) {
		if (buf[p] == c) {
			n++;
		} else if (buf[p] != ' ' && buf[p] != '\t') {
			return false;
		}
	}
	return n >= 3;
}

/* Whether a paragraph starting with this line could be a setext heading's text: list
 * items, block quotes and table rows cannot (their underline is a break or a row). */
static bool md_para_ok(const char *buf, size_t p, size_t e)
{
	char c = buf[p];
	if (c == '>' || c == '|' || c == '<') {
		return false;
	}
	if ((c == '-' || c == '*' || c == '+') && (p + 1 == e || buf[p + 1] == ' ' ||
						   buf[p + 1] == '\t')) {
		return false;
	}
	size_t d = 0;
	while (p + d < e && buf[p + d] >= '0' && buf[p + d] <= '9') {
		d++;
	}
	if (d > 0 && d < 10 && p + d < e && (buf[p + d] == '.' || buf[p + d] == ')')) {
		return false;
	}
	return true;
}

static void md_trim(const char *buf, size_t *s, size_t *e)
{
	while (*s < *e && (buf[*s] == ' ' || buf[*s] == '\t')) {
		(*s)++;
	}
	while (*e > *s && (buf[*e - 1] == ' ' || buf[*e - 1] == '\t')) {
		(*e)--;
	}
}

struct secvec {
	struct ctxd_md_section *v;
	size_t n, cap;
};

static int sec_push(struct secvec *sv, const struct ctxd_md_section *s)
{
	if (sv->n == sv->cap) {
		size_t c = sv->cap ? sv->cap * 2 : 16;
		struct ctxd_md_section *q = realloc(sv->v, c * sizeof(*q));
		if (!q) {
			return -1;
		}
		sv->v = q;
		sv->cap = c;
	}
	sv->v[sv->n++] = *s;
	return 0;
}

/* Offset just past a leading YAML front matter block, or 0 when there is none. */
static size_t md_front_matter(const char *buf, size_t len)
{
	struct mdline l;
	md_line(buf, len, 0, &l);
	if (l.e - l.s != 3 || memcmp(buf, "---", 3) != 0 || l.next >= len) {
		return 0;
	}
	for (size_t pos = l.next; pos < len;) {
		md_line(buf, len, pos, &l);
		size_t n = l.e - l.s;
		if (n == 3 && (memcmp(buf + l.s, "---", 3) == 0 || memcmp(buf + l.s, "...", 3) == 0)) {
			return l.next;
		}
		pos = l.next;
	}
	return 0;
}

int ctxd_md_sections(const char *buf, size_t len, struct ctxd_md_section **out, size_t *n)
{
	struct secvec sv = {NULL, 0, 0};
	*out = NULL;
	*n = 0;
	if (!buf) {
		return 0;
	}
	size_t pos = md_front_matter(buf, len);
	size_t lineno = 1;
	for (size_t i = 0; i < pos; i++) {
		lineno += buf[i] == '\n';
	}
	char fence = 0;
	size_t fence_len = 0;
	bool in_para = false, para_ok = false;
	size_t para_start = 0, para_line = 0, para_s = 0, para_first_e = 0;

	while (pos < len) {
		struct mdline l;
		md_line(buf, len, pos, &l);
		size_t first;
		size_t ind = md_indent(buf, &l, &first);
		if (fence) {
			if (ind <= 3 && md_run(buf, first, l.e, fence) >= fence_len &&
			    md_rest_blank(buf, first + md_run(buf, first, l.e, fence), l.e)) {
				fence = 0;
			}
			goto next;
		}
		if (md_blank(buf, &l)) {
			in_para = false;
			goto next;
		}
		if (ind >= 4) {
			goto next;
		}
		char c = buf[first];
		if (c == '`' || c == '~') {
			size_t r = md_run(buf, first, l.e, c);
			if (r >= 3 && (c == '~' || !memchr(buf + first + r, '`', l.e - first - r))) {
				fence = c;
				fence_len = r;
				in_para = false;
				goto next;
			}
		}
		if (c == '#') {
			size_t r = md_run(buf, first, l.e, '#');
			size_t after = first + r;
			if (r <= 6 && (after == l.e || buf[after] == ' ' || buf[after] == '\t')) {
				size_t ts = after, te = l.e;
				md_trim(buf, &ts, &te);
				/* closing sequence: blanks then #s at the end (or only #s) */
				size_t k = te;
				while (k > ts && buf[k - 1] == '#') {
					k--;
				}
				if (k < te && (k == ts || buf[k - 1] == ' ' || buf[k - 1] == '\t')) {
					te = k;
					md_trim(buf, &ts, &te);
				}
				struct ctxd_md_section s = {
					.level = (int)r, .setext = false, .line = lineno,
					.start = l.s, .body = l.next, .title = ts,
					.title_len = te - ts,
				};
				if (sec_push(&sv, &s)) {
					goto oom;
				}
				in_para = false;
				goto next;
			}
		}
		if (in_para && para_ok && (c == '=' || c == '-')) {
			size_t r = md_run(buf, first, l.e, c);
			if (md_rest_blank(buf, first + r, l.e)) {
				/* a multi-line setext heading is titled by its first line, so
				 * a title never holds a line ending */
				size_t ts = para_s, te = para_first_e;
				md_trim(buf, &ts, &te);
				struct ctxd_md_section s = {
					.level = c == '=' ? 1 : 2, .setext = true, .line = para_line,
					.start = para_start, .body = l.next, .title = ts,
					.title_len = te - ts,
				};
				if (sec_push(&sv, &s)) {
					goto oom;
				}
				in_para = false;
				goto next;
			}
		}
		if (md_break(buf, first, l.e)) {
			in_para = false;
			goto next;
		}
		if (!in_para) {
			in_para = true;
			para_ok = md_para_ok(buf, first, l.e);
			para_start = l.s;
			para_line = lineno;
			para_s = first;
			para_first_e = l.e;
		}
next:
		pos = l.next;
		lineno++;
	}
	for (size_t i = 0; i < sv.n; i++) {
		sv.v[i].own_end = i + 1 < sv.n ? sv.v[i + 1].start : len;
		sv.v[i].end = len;
		for (size_t j = i + 1; j < sv.n; j++) {
			if (sv.v[j].level <= sv.v[i].level) {
				sv.v[i].end = sv.v[j].start;
				break;
			}
		}
	}
	*out = sv.v;
	*n = sv.n;
	return 0;
oom:
	free(sv.v);
	errno = ENOMEM;
	return -1;
}

/* ---- names and templates ----------------------------------------------------------- */

static bool safe_chars(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max || s[0] == '.') {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-')) {
			return false;
		}
	}
	return true;
}

bool ctxd_memory_bank_file_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	return n > 3 && safe_chars(name, 200) && strcmp(name + n - 3, ".md") == 0;
}

bool ctxd_memory_bank_project_ok(const char *name)
{
	return name && safe_chars(name, 100);
}

const char *const ctxd_memory_bank_core[CTXD_MB_CORE_COUNT] = {
	"projectbrief.md", "productContext.md", "activeContext.md",
	"systemPatterns.md", "techContext.md", "progress.md",
};

struct core_def {
	const char *title;
	const char *sections[5];
	const char *hints[4];
};

static const struct core_def core_defs[CTXD_MB_CORE_COUNT] = {
	{"Project Brief",
	 {"Overview", "Core Requirements", "Goals", "Scope", NULL},
	 {"What the project is, in a few sentences; the source of truth for its scope.",
	  "The requirements every change must keep.", "What success looks like.",
	  "What is in and out of scope."}},
	{"Product Context",
	 {"Why This Project Exists", "Problems It Solves", "How It Should Work",
	  "User Experience Goals", NULL},
	 {"The need behind the project.", "The problems users have without it.",
	  "How it behaves from the user's side.", "What using it should feel like."}},
	{"Active Context",
	 {"Current Focus", "Recent Changes", "Next Steps", "Active Decisions", NULL},
	 {"What is being worked on right now.", "What changed lately, newest first.",
	  "What comes next.", "Decisions and considerations in play."}},
	{"System Patterns",
	 {"Architecture", "Key Technical Decisions", "Design Patterns",
	  "Component Relationships", NULL},
	 {"How the system is built.", "Decisions and their reasons.",
	  "Patterns in use and where.", "How the parts connect."}},
	{"Tech Context",
	 {"Technologies Used", "Development Setup", "Technical Constraints", "Dependencies",
	  NULL},
	 {"Languages, frameworks, tools.", "How to build, run and test.",
	  "Limits the design must respect.", "External dependencies and versions."}},
	{"Progress",
	 {"What Works", "What's Left to Build", "Current Status", "Known Issues", NULL},
	 {"Features that are done and working.", "Remaining work.", "Where things stand.",
	  "Bugs and limitations known today."}},
};

static char core_templates[CTXD_MB_CORE_COUNT][1024];
static pthread_once_t templates_once = PTHREAD_ONCE_INIT;

static void build_templates(void)
{
	for (int i = 0; i < CTXD_MB_CORE_COUNT; i++) {
		char *p = core_templates[i];
		size_t left = sizeof(core_templates[i]);
		int w = snprintf(p, left, "# %s\n", core_defs[i].title);
		for (int k = 0; core_defs[i].sections[k] && w > 0 && (size_t)w < left; k++) {
			p += w;
			left -= (size_t)w;
			w = snprintf(p, left, "\n## %s\n\n<!-- %s -->\n", core_defs[i].sections[k],
				     core_defs[i].hints[k]);
		}
	}
}

static int core_index(const char *file)
{
	for (int i = 0; i < CTXD_MB_CORE_COUNT; i++) {
		if (strcmp(file, ctxd_memory_bank_core[i]) == 0) {
			return i;
		}
	}
	return -1;
}

const char *const *ctxd_memory_bank_core_sections(const char *file)
{
	int i = core_index(file);
	return i < 0 ? NULL : core_defs[i].sections;
}

const char *ctxd_memory_bank_template(const char *file)
{
	int i = core_index(file);
	if (i < 0) {
		return NULL;
	}
	pthread_once(&templates_once, build_templates);
	return core_templates[i];
}

/* ---- state and layout -------------------------------------------------------------- */

struct sindex;

struct ctxd_memory_bank {
	const struct ctxd_config *cfg;
	const struct ctxd_sandbox *sb;
	unsigned history;
	unsigned stale_days;
	size_t token_budget;
	bool multi;
	pthread_mutex_t lock; /* guards `indexes` and every index in it */
	struct sindex *indexes;
	struct ctxd_resource_provider provider;
};

unsigned ctxd_memory_bank_history_max(const struct ctxd_memory_bank *mb)
{
	return mb->history;
}

bool ctxd_memory_bank_multi(const struct ctxd_memory_bank *mb)
{
	return mb->multi;
}


struct ctxd_memory_bank *ctxd_memory_bank_create(const struct ctxd_config *cfg,
						 const struct ctxd_sandbox *sb,
						 struct ctxd_error *err)
{
	struct ctxd_memory_bank *mb = calloc(1, sizeof(*mb));
	if (!mb) {
		ctxd_error_set_errno(err, 0, ENOMEM, "memory bank: out of memory");
		return NULL;
	}
	mb->cfg = cfg;
	mb->sb = sb;
	mb->history = cfg && cfg->memory_bank_history ? cfg->memory_bank_history : 20;
	mb->stale_days = cfg && cfg->memory_bank_stale_days ? cfg->memory_bank_stale_days : 7;
	mb->token_budget =
		cfg && cfg->memory_bank_token_budget ? cfg->memory_bank_token_budget : 8000;
	mb->multi = cfg && cfg->memory_bank_multi_project;
	pthread_mutex_init(&mb->lock, NULL);
	ctxd_memory_bank_provider_init(mb, &mb->provider);
	return mb;
}

const struct ctxd_resource_provider *ctxd_memory_bank_resources(struct ctxd_memory_bank *mb)
{
	return &mb->provider;
}

/* The bank root as a user path for the sandbox (relative = against the first root). */
static int bank_root(struct ctxd_memory_bank *mb, const struct ctxd_sandbox *sb, char *out,
		     size_t n, struct ctxd_error *err)
{
	if (mb->cfg && mb->cfg->memory_bank_path) {
		if ((size_t)snprintf(out, n, "%s", mb->cfg->memory_bank_path) >= n) {
			ctxd_error_set_errno(err, 0, ENAMETOOLONG, "memory_bank.path is too long");
			return -1;
		}
		return 0;
	}
	if (ctxd_sandbox_root_count(sb) == 0) {
		ctxd_error_set_errno(err, 0, ENOENT,
				     "no allowed directories (%s): the memory bank needs a root to "
				     "live in", ctxd_sandbox_note(sb));
		return -1;
	}
	static const char *const cands[] = {"memory-bank", ".cursor/memory-bank",
					     ".cortex/memory-bank"};
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		struct ctxd_error e2;
		int fd = ctxd_sandbox_open(sb, cands[i], strlen(cands[i]),
					   O_RDONLY | O_DIRECTORY, 0, false, NULL, &e2);
		if (fd >= 0) {
			close(fd);
			snprintf(out, n, "%s", cands[i]);
			return 0;
		}
	}
	snprintf(out, n, "%s", cands[0]);
	return 0;
}

/* mkdir -p through the sandbox: every prefix inside a root is created when missing. */
static int mkdir_confined(const struct ctxd_sandbox *sb, const char *path, struct ctxd_error *err)
{
	size_t len = strlen(path);
	for (size_t i = 1; i <= len; i++) {
		if (i < len && path[i] != '/') {
			continue;
		}
		char name[CTXD_PATH_MAX];
		struct ctxd_sandbox_loc loc;
		struct ctxd_error e2;
		int pfd = ctxd_sandbox_open_parent(sb, path, i, name, &loc, &e2);
		if (pfd < 0) {
			if (i == len) {
				*err = e2;
				return -1;
			}
			continue;
		}
		if (ctxd_sandbox_loc_read_only(&loc)) {
			struct stat st;
			bool exists = fstatat(pfd, name, &st, 0) == 0;
			close(pfd);
			if (exists) {
				continue;
			}
			ctxd_error_set_errno(err, 0, EROFS,
					     "cannot create the memory bank at '%s': it is in a "
					     "read-only root",
					     loc.abs);
			return -1;
		}
		if (mkdirat(pfd, name, 0755) < 0 && errno != EEXIST) {
			int e = errno;
			close(pfd);
			ctxd_error_set_errno(err, 0, e, "cannot create '%s': %s", loc.abs,
					     strerror(e));
			return -1;
		}
		close(pfd);
	}
	return 0;
}

int ctxd_memory_bank_open(struct ctxd_memory_bank *mb, const struct ctxd_sandbox *sb,
			  const char *project, bool create, struct ctxd_mb_dir *dir,
			  struct ctxd_error *err)
{
	char path[CTXD_PATH_MAX];
	if (!sb) {
		sb = mb->sb;
	}
	dir->fd = -1;
	if (mb->multi) {
		if (!project) {
			ctxd_error_set_errno(err, 0, EINVAL,
					     "argument 'project' is required: this server keeps one "
					     "memory bank per project (memory_bank.multi_project)");
			return -1;
		}
	} else if (project && strcmp(project, CTXD_MEMORY_BANK_DEFAULT_PROJECT) != 0) {
		ctxd_error_set_errno(err, 0, EINVAL,
				     "argument 'project': this server keeps a single memory bank "
				     "(project \"default\"); omit 'project' or pass \"default\"");
		return -1;
	}
	if (project && !ctxd_memory_bank_project_ok(project)) {
		ctxd_error_set_errno(err, 0, EINVAL,
				     "argument 'project': '%.100s' is not a valid project name "
				     "(letters, digits, '.', '_', '-'; no leading dot)",
				     project);
		return -1;
	}
	if (bank_root(mb, sb, path, sizeof(path), err)) {
		return -1;
	}
	if (mb->multi) {
		size_t l = strlen(path);
		if (l + strlen(project) + 2 > sizeof(path)) {
			ctxd_error_set_errno(err, 0, ENAMETOOLONG, "memory bank path too long");
			return -1;
		}
		snprintf(path + l, sizeof(path) - l, "/%s", project);
	}
	snprintf(dir->project, sizeof(dir->project), "%s",
		 mb->multi ? project : CTXD_MEMORY_BANK_DEFAULT_PROJECT);
	struct ctxd_sandbox_loc loc;
	int fd = ctxd_sandbox_open(sb, path, strlen(path), O_RDONLY | O_DIRECTORY, 0, false,
				   &loc, err);
	if (fd < 0 && err->sys_errno == ENOENT && create) {
		if (mkdir_confined(sb, path, err)) {
			return -1;
		}
		fd = ctxd_sandbox_open(sb, path, strlen(path), O_RDONLY | O_DIRECTORY, 0,
				       false, &loc, err);
	}
	if (fd < 0) {
		if (err->sys_errno == ENOENT) {
			ctxd_error_set_errno(err, 0, ENOENT,
					     "there is no memory bank%s%s yet (looked for '%s'); "
					     "create it with memory_bank_init",
					     mb->multi ? " for project " : "",
					     mb->multi ? project : "", path);
		}
		return -1;
	}
	dir->fd = fd;
	dir->read_only = ctxd_sandbox_loc_read_only(&loc);
	snprintf(dir->abs, sizeof(dir->abs), "%s", loc.abs);
	dir->root_fd = loc.root->fd;
	snprintf(dir->rel, sizeof(dir->rel), "%s", loc.rel);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Entries of `dirfd` passing `keep` (d_type DT_DIR wanted or regular), sorted. */
static json_t *list_names(int dirfd, bool dirs, bool (*keep)(const char *),
			  struct ctxd_error *err)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		int e = errno;
		if (fd >= 0) {
			close(fd);
		}
		ctxd_error_set_errno(err, 0, e, "cannot list the memory bank: %s", strerror(e));
		return NULL;
	}
	size_t n = 0, cap = 0;
	char **v = NULL;
	struct dirent *de;
	bool oom = false;
	while ((de = readdir(d))) {
		if (!keep(de->d_name)) {
			continue;
		}
		unsigned char t = de->d_type;
		if (t == DT_UNKNOWN || t == DT_LNK) {
			struct stat st;
			if (fstatat(dirfd, de->d_name, &st, 0) < 0) {
				continue;
			}
			t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
		}
		if (dirs ? t != DT_DIR : t != DT_REG) {
			continue;
		}
		if (n == cap) {
			size_t c = cap ? cap * 2 : 16;
			char **q = realloc(v, c * sizeof(*q));
			if (!q) {
				oom = true;
				break;
			}
			v = q;
			cap = c;
		}
		if (!(v[n] = strdup(de->d_name))) {
			oom = true;
			break;
		}
		n++;
	}
	closedir(d);
	json_t *arr = oom ? NULL : json_array();
	if (arr) {
		if (n > 1) {
			qsort(v, n, sizeof(*v), cmp_str);
		}
		for (size_t i = 0; i < n; i++) {
			json_array_append_new(arr, json_string(v[i]));
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(v[i]);
	}
	free(v);
	if (!arr) {
		ctxd_error_set_errno(err, 0, ENOMEM, "out of memory");
	}
	return arr;
}

json_t *ctxd_memory_bank_files(int dirfd, struct ctxd_error *err)
{
	return list_names(dirfd, false, ctxd_memory_bank_file_ok, err);
}

json_t *ctxd_memory_bank_projects(struct ctxd_memory_bank *mb, const struct ctxd_sandbox *sb,
				  struct ctxd_error *err)
{
	if (!sb) {
		sb = mb->sb;
	}
	if (!mb->multi) {
		return json_pack("[s]", CTXD_MEMORY_BANK_DEFAULT_PROJECT);
	}
	char path[CTXD_PATH_MAX];
	if (bank_root(mb, sb, path, sizeof(path), err)) {
		return NULL;
	}
	int fd = ctxd_sandbox_open(sb, path, strlen(path), O_RDONLY | O_DIRECTORY, 0, false,
				   NULL, err);
	if (fd < 0) {
		return err->sys_errno == ENOENT ? json_array() : NULL;
	}
	json_t *a = list_names(fd, true, ctxd_memory_bank_project_ok, err);
	close(fd);
	return a;
}

/* errno for a non-regular file: EISDIR for a directory, EINVAL for the rest (FIFO, socket,
 * device); ctxd_memory_bank_read_error tells them apart again. */
static int not_regular_errno(mode_t m)
{
	return S_ISDIR(m) ? EISDIR : EINVAL;
}

int ctxd_memory_bank_read_file(int dirfd, const char *name, char **out, size_t *len)
{
	/* Look before opening: even with O_NONBLOCK, opening a FIFO would release a writer
	 * blocked in open(2) on it. The fstat after the open closes the race. */
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISLNK(st.st_mode)) {
		errno = not_regular_errno(st.st_mode);
		return -1;
	}
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		return -1;
	}
	int e = fstat(fd, &st) < 0    ? errno
		: S_ISREG(st.st_mode) ? 0
				      : not_regular_errno(st.st_mode);
	if (e) {
		close(fd);
		errno = e;
		return -1;
	}
	if (ctxd_sandbox_link_refused(&st)) { /* sandbox.hardlinks: refuse */
		close(fd);
		errno = EMLINK;
		return -1;
	}
	int rc = ctxd_read_all(fd, FILE_MAX, out, len);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

const char *ctxd_memory_bank_read_error(int dirfd, const char *name, int e, char *buf, size_t n)
{
	struct stat st;
	const char *kind = NULL;
	if (e == EINVAL && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		kind = S_ISFIFO(st.st_mode)   ? "a FIFO (named pipe)"
		       : S_ISSOCK(st.st_mode) ? "a socket"
		       : S_ISCHR(st.st_mode)  ? "a character device"
		       : S_ISBLK(st.st_mode)  ? "a block device"
					      : NULL;
	}
	if (e == ENOENT) {
		snprintf(buf, n, "'%s' does not exist in the bank", name);
	} else if (e == EISDIR) {
		snprintf(buf, n, "'%s' is a directory, not a bank file", name);
	} else if (e == ELOOP) {
		snprintf(buf, n, "'%s' is a symbolic link; bank files must be regular files", name);
	} else if (e == EINVAL) {
		snprintf(buf, n, "'%s' is %s, not a regular file; bank files must be regular files",
			 name, kind ? kind : "not a regular file");
	} else if (e == EFBIG) {
		snprintf(buf, n, "'%s' is larger than %zu MiB, the most a bank file may hold", name,
			 FILE_MAX >> 20);
	} else if (e == EMLINK) {
		snprintf(buf, n, "'%s' is refused: " CTXD_SANDBOX_HARDLINK_WHY, name);
	} else {
		snprintf(buf, n, "cannot read '%s': %s", name, strerror(e));
	}
	return buf;
}

/* ---- history ----------------------------------------------------------------------- */

/* Open (creating with `create`) <bank>/.history/<file>/. */
static int history_dir(int bankfd, const char *file, bool create)
{
	if (create && mkdirat(bankfd, HISTORY_DIR, 0755) < 0 && errno != EEXIST) {
		return -1;
	}
	int h = openat(bankfd, HISTORY_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (h < 0) {
		return -1;
	}
	if (create && mkdirat(h, file, 0755) < 0 && errno != EEXIST) {
		int e = errno;
		close(h);
		errno = e;
		return -1;
	}
	int fd = openat(h, file, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	close(h);
	errno = e;
	return fd;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

/* Version numbers present in a history directory, ascending (malloc'd). */
static int history_versions(int hfd, long **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int fd = openat(hfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		if (de->d_name[0] < '1' || de->d_name[0] > '9') {
			continue;
		}
		errno = 0;
		long v = strtol(de->d_name, &end, 10);
		if (errno || strcmp(end, ".md") != 0) {
			continue;
		}
		if (*n == cap) {
			size_t c = cap ? cap * 2 : 32;
			long *q = realloc(*out, c * sizeof(*q));
			if (!q) {
				closedir(d);
				free(*out);
				*out = NULL;
				errno = ENOMEM;
				return -1;
			}
			*out = q;
			cap = c;
		}
		(*out)[(*n)++] = v;
	}
	closedir(d);
	if (*n) {
		qsort(*out, *n, sizeof(**out), cmp_long);
	}
	return 0;
}

static int read_version(int hfd, long v, char **out, size_t *len)
{
	char name[32];
	snprintf(name, sizeof(name), "%ld.md", v);
	return ctxd_memory_bank_read_file(hfd, name, out, len);
}

/* Record `data` as the next version; prune to `keep`. Returns the version or -1. */
static long history_add(int hfd, const char *data, size_t len, unsigned keep,
			struct ctxd_error *err)
{
	long *vs;
	size_t n;
	if (history_versions(hfd, &vs, &n)) {
		ctxd_error_set_errno(err, 0, errno, "cannot read the history: %s", strerror(errno));
		return -1;
	}
	long next = n ? vs[n - 1] + 1 : 1;
	char name[32];
	snprintf(name, sizeof(name), "%ld.md", next);
	if (ctxd_atomic_write(hfd, name, data, len, 0644, true, err)) {
		free(vs);
		return -1;
	}
	/* n + 1 versions now; drop the oldest beyond `keep` */
	for (size_t i = 0; i + keep < n + 1 && i < n; i++) {
		snprintf(name, sizeof(name), "%ld.md", vs[i]);
		unlinkat(hfd, name, 0);
	}
	free(vs);
	return next;
}

/* The sha256 of the newest version, or "" when there is none. */
static void history_last_sha(int hfd, char sha[65])
{
	long *vs;
	size_t n;
	sha[0] = '\0';
	if (history_versions(hfd, &vs, &n) || n == 0) {
		free(vs);
		return;
	}
	char *d;
	size_t l;
	if (read_version(hfd, vs[n - 1], &d, &l) == 0) {
		ctxd_sha256_hex(d, l, sha);
		free(d);
	}
	free(vs);
}

/* ---- the write transaction --------------------------------------------------------- */

/* Open a lock file `name` in `dfd` (created when `create`) and check that it is a regular
 * file; O_NONBLOCK so that a FIFO planted under that name cannot stall the open. */
static int open_lock_file(int dfd, const char *name, bool create)
{
	int fd = openat(dfd, name,
			O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY |
				(create ? O_CREAT : 0),
			0644);
	if (fd < 0) {
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

static int flock_ex(int fd)
{
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

/* Take the bank's write lock: an exclusive flock of <bank>/.history/.lock. The lock and the
 * history live in .history/, which holds a .gitignore of "*" (written when missing), so a
 * repository that commits its bank does not show them as untracked files and the user's own
 * .gitignore is never touched. A bank last written by an older ctxd has its lock at
 * <bank>/.lock: that file is locked first (a writer still using it finishes before we go
 * on), then removed. Returns the locked descriptor (unlock and close it), or -1 with err
 * set. */
static int lock_bank(const struct ctxd_mb_dir *dir, struct ctxd_error *err)
{
	if (mkdirat(dir->fd, HISTORY_DIR, 0755) < 0 && errno != EEXIST) {
		int e = errno;
		ctxd_error_set_errno(err, 0, e, "cannot create '%s/%s' for the bank's lock and "
				     "history: %s",
				     dir->abs, HISTORY_DIR, strerror(e));
		return -1;
	}
	int hfd = openat(dir->fd, HISTORY_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (hfd < 0) {
		int e = errno;
		ctxd_error_set_errno(err, 0, e, "'%s/%s' is not a directory (%s); the memory bank "
				     "keeps its lock and history there: move it away",
				     dir->abs, HISTORY_DIR, strerror(e));
		return -1;
	}
	struct stat st;
	if (fstatat(hfd, GITIGNORE_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
		/* best effort: without it only `git status` is noisier */
		struct ctxd_error ignored;
		ctxd_atomic_write(hfd, GITIGNORE_NAME, GITIGNORE_TEXT, strlen(GITIGNORE_TEXT), 0644,
				  true, &ignored);
	}
	int old = open_lock_file(dir->fd, OLD_LOCK_NAME, false);
	if (old >= 0) {
		if (flock_ex(old) == 0) {
			unlinkat(dir->fd, OLD_LOCK_NAME, 0);
		}
		close(old);
	}
	int lfd = open_lock_file(hfd, LOCK_NAME, true);
	int e = errno;
	close(hfd);
	if (lfd < 0 || flock_ex(lfd) < 0) {
		if (lfd >= 0) {
			e = errno;
			close(lfd);
		}
		if (e == EINVAL) {
			ctxd_error_set_errno(err, 0, e,
					     "the bank's lock '%s/%s/%s' is not a regular file; "
					     "remove it",
					     dir->abs, HISTORY_DIR, LOCK_NAME);
		} else {
			ctxd_error_set_errno(err, 0, e, "cannot lock the bank ('%s/%s/%s'): %s",
					     dir->abs, HISTORY_DIR, LOCK_NAME, strerror(e));
		}
		return -1;
	}
	return lfd;
}

int ctxd_memory_bank_edit(struct ctxd_memory_bank *mb, const struct ctxd_mb_dir *dir,
			  const char *file, const char *expected, ctxd_mb_edit_fn fn, void *arg,
			  struct ctxd_mb_result *res, char *cur_sha, struct ctxd_error *err)
{
	memset(res, 0, sizeof(*res));
	if (cur_sha) {
		cur_sha[0] = '\0';
	}
	if (dir->read_only) {
		ctxd_error_set_errno(err, 0, EROFS,
				     "the memory bank at '%s' is in a read-only root; writes are "
				     "refused",
				     dir->abs);
		return -1;
	}
	if (!ctxd_memory_bank_file_ok(file)) {
		ctxd_error_set_errno(err, 0, EINVAL,
				     "argument 'file': '%.200s' is not a bank file name (letters, "
				     "digits, '.', '_', '-', ending in .md, no leading dot)",
				     file);
		return -1;
	}
	int lfd = lock_bank(dir, err);
	if (lfd < 0) {
		return -1;
	}
	int rc = -1, hfd = -1;
	char *cur = NULL, *neu = NULL;
	size_t cur_len = 0, neu_len = 0;
	char sha[65] = "";
	/* The bank lock orders bank transactions; the directory's write lock (the one every
	 * file tool takes, in this process and others) keeps append_file and friends out
	 * between the read below and the rename. Always taken after the bank lock. */
	struct ctxd_dir_lock dlk = {.fd = -1};
	if (ctxd_dir_lock(dir->fd, &dlk, err) < 0) {
		goto out;
	}
	if (ctxd_memory_bank_read_file(dir->fd, file, &cur, &cur_len) < 0) {
		if (errno != ENOENT) {
			int e = errno;
			char why[400];
			ctxd_error_set_errno(err, 0, e, "%s (in '%s')",
					     ctxd_memory_bank_read_error(dir->fd, file, e, why,
									 sizeof(why)),
					     dir->abs);
			goto out;
		}
		cur = NULL;
	} else {
		ctxd_sha256_hex(cur, cur_len, sha);
	}
	if (cur_sha) {
		memcpy(cur_sha, sha, 65);
	}
	if (expected && strcmp(expected, sha) != 0) {
		ctxd_error_set_errno(err, CTXD_MB_PRECONDITION, 0,
				     cur ? "precondition failed: '%s' changed (expectedSha256 %.64s, "
					   "current %s); read it again and retry"
					 : "precondition failed: '%s' does not exist (expectedSha256 "
					   "%.64s%s); create it with mode create",
				     file, expected, sha);
		goto out;
	}
	if (fn(arg, cur, cur_len, &neu, &neu_len, err)) {
		goto out;
	}
	memcpy(res->old_sha256, sha, 65);
	ctxd_sha256_hex(neu, neu_len, res->sha256);
	res->size = neu_len;
	if (cur && cur_len == neu_len && memcmp(cur, neu, neu_len) == 0) {
		res->unchanged = true;
		rc = 0;
		goto out;
	}
	hfd = mb->history ? history_dir(dir->fd, file, true) : -1;
	if (hfd >= 0 && cur) {
		char last[65];
		history_last_sha(hfd, last);
		if (strcmp(last, sha) != 0 && history_add(hfd, cur, cur_len, mb->history, err) < 0) {
			goto out;
		}
	}
	if (ctxd_atomic_write(dir->fd, file, neu, neu_len, -1, cur == NULL, err)) {
		if (err->sys_errno == EEXIST) {
			ctxd_error_set_errno(err, CTXD_MB_PRECONDITION, EEXIST,
					     "'%s' appeared while writing; read it and retry", file);
		}
		goto out;
	}
	if (hfd >= 0) {
		long v = history_add(hfd, neu, neu_len, mb->history, err);
		/* the file itself is written: a history failure is not the write's failure */
		res->version = v > 0 ? v : 0;
		ctxd_error_clear(err);
	}
	rc = 0;
out:
	if (hfd >= 0) {
		close(hfd);
	}
	free(cur);
	free(neu);
	ctxd_dir_unlock(&dlk);
	flock(lfd, LOCK_UN);
	close(lfd);
	return rc;
}

/* Lines added/removed between a and b, as a multiset difference of lines. */
static uint64_t line_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	}
	return h;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t *line_hashes(const char *s, size_t len, size_t *n)
{
	size_t cap = 1;
	for (size_t i = 0; i < len; i++) {
		cap += s[i] == '\n';
	}
	uint64_t *v = malloc(cap * sizeof(*v));
	*n = 0;
	if (!v) {
		return NULL;
	}
	size_t p = 0;
	while (p < len) {
		const char *nl = memchr(s + p, '\n', len - p);
		size_t e = nl ? (size_t)(nl - s) : len;
		v[(*n)++] = line_hash(s + p, e - p);
		p = e + 1;
	}
	if (*n > 1) { /* qsort needs a valid array even for 0 items */
		qsort(v, *n, sizeof(*v), cmp_u64);
	}
	return v;
}

static void diff_stat(const char *a, size_t al, const char *b, size_t bl, size_t *added,
		      size_t *removed)
{
	size_t na, nb;
	uint64_t *ha = line_hashes(a, al, &na), *hb = line_hashes(b, bl, &nb);
	size_t i = 0, j = 0, common = 0;
	while (ha && hb && i < na && j < nb) {
		if (ha[i] == hb[j]) {
			common++;
			i++;
			j++;
		} else if (ha[i] < hb[j]) {
			i++;
		} else {
			j++;
		}
	}
	*added = nb - common;
	*removed = na - common;
	free(ha);
	free(hb);
}

json_t *ctxd_memory_bank_history(const struct ctxd_mb_dir *dir, const char *file,
				 struct ctxd_error *err)
{
	int hfd = history_dir(dir->fd, file, false);
	if (hfd < 0) {
		if (errno == ENOENT) {
			return json_array();
		}
		ctxd_error_set_errno(err, 0, errno, "cannot open the history of '%s': %s", file,
				     strerror(errno));
		return NULL;
	}
	long *vs;
	size_t n;
	json_t *arr = json_array();
	if (!arr || history_versions(hfd, &vs, &n)) {
		close(hfd);
		json_decref(arr);
		ctxd_error_set_errno(err, 0, ENOMEM, "cannot read the history of '%s'", file);
		return NULL;
	}
	char *prev = NULL;
	size_t prev_len = 0;
	for (size_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "%ld.md", vs[i]);
		struct stat st;
		char *d;
		size_t l;
		if (fstatat(hfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    read_version(hfd, vs[i], &d, &l) < 0) {
			continue;
		}
		char sha[65], ts[32];
		ctxd_sha256_hex(d, l, sha);
		struct tm tm;
		gmtime_r(&st.st_mtim.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		size_t add, rem;
		diff_stat(prev ? prev : "", prev_len, d, l, &add, &rem);
		json_array_append_new(arr, json_pack("{s:I, s:s, s:I, s:s, s:I, s:I}", "version",
						     (json_int_t)vs[i], "time", ts, "size",
						     (json_int_t)l, "sha256", sha, "added",
						     (json_int_t)add, "removed", (json_int_t)rem));
		free(prev);
		prev = d;
		prev_len = l;
	}
	free(prev);
	free(vs);
	close(hfd);
	return arr;
}

int ctxd_memory_bank_version(const struct ctxd_mb_dir *dir, const char *file, long version,
			     char **out, size_t *len, struct ctxd_error *err)
{
	int hfd = history_dir(dir->fd, file, false);
	if (hfd >= 0 && read_version(hfd, version, out, len) == 0) {
		close(hfd);
		return 0;
	}
	int e = errno;
	if (e == ENOENT) {
		ctxd_error_set_errno(err, 0, ENOENT,
				     "argument 'version': '%s' has no version %ld; "
				     "memory_bank_history lists the versions kept",
				     file, version);
	} else {
		char name[32], why[200];
		snprintf(name, sizeof(name), "%ld.md", version);
		ctxd_error_set_errno(err, 0, e, "cannot read version %ld of '%s': %s", version,
				     file,
				     hfd >= 0 ? ctxd_memory_bank_read_error(hfd, name, e, why,
									    sizeof(why))
					      : strerror(e));
	}
	if (hfd >= 0) {
		close(hfd);
	}
	return -1;
}

/* ---- words: Unicode-aware splitting and folding (libunistring) --------------------- */

/* A word character: a letter, a combining mark or a digit (Unicode general categories L, M
 * and N). Anything else (blanks, punctuation, symbols, emoji) separates words. */
static bool word_char(ucs4_t uc)
{
	if (uc < 0x80) {
		return (uc >= 'a' && uc <= 'z') || (uc >= 'A' && uc <= 'Z') ||
		       (uc >= '0' && uc <= '9');
	}
	return uc_is_general_category(uc, UC_CATEGORY_L) ||
	       uc_is_general_category(uc, UC_CATEGORY_M) ||
	       uc_is_general_category(uc, UC_CATEGORY_N);
}

/* The code point at s[i] (i < e) and its length in bytes; invalid UTF-8 gives U+FFFD (not a
 * word character) for one byte or a truncated sequence. */
static size_t char_at(const char *s, size_t i, size_t e, ucs4_t *uc)
{
	if ((unsigned char)s[i] < 0x80) {
		*uc = (unsigned char)s[i];
		return 1;
	}
	int k = u8_mbtouc(uc, (const uint8_t *)s + i, e - i);
	return k > 0 ? (size_t)k : 1;
}

/* Next word in [*p, e): sets [ws, we) and returns true. */
static bool next_word(const char *s, size_t *p, size_t e, size_t *ws, size_t *we)
{
	size_t i = *p, k = 0;
	ucs4_t uc;
	while (i < e) {
		k = char_at(s, i, e, &uc);
		if (word_char(uc)) {
			break;
		}
		i += k;
	}
	if (i >= e) {
		*p = e;
		return false;
	}
	*ws = i;
	while (i < e) {
		k = char_at(s, i, e, &uc);
		if (!word_char(uc)) {
			break;
		}
		i += k;
	}
	*we = i;
	*p = i;
	return true;
}

/* Letters with no decomposition that readers still see as a base letter with a mark. */
static ucs4_t base_letter(ucs4_t uc)
{
	switch (uc) {
	case 0x0111: /* đ (Vietnamese, Croatian) */
		return 'd';
	case 0x00F8: /* ø */
		return 'o';
	case 0x0142: /* ł */
		return 'l';
	default:
		return uc;
	}
}

/* A word folded for matching: full Unicode case folding and compatibility decomposition
 * (u8_casefold with NFKD), then combining marks dropped and the few stroked letters mapped
 * to their base, so "Tổng" and "TONG" both become "tong", "Straße" "strasse" and "ﬁle"
 * "file". Returns the folded bytes: `buf` when they fit in `cap`, else a malloc'd buffer
 * left in *heap (free it; NULL otherwise); NULL on ENOMEM. Invalid UTF-8 is kept as it is,
 * ASCII letters lowered. */
static const char *fold_word(const char *s, size_t n, char *buf, size_t cap, size_t *len,
			     char **heap)
{
	*heap = NULL;
	bool ascii = true;
	for (size_t i = 0; i < n && ascii; i++) {
		ascii = (unsigned char)s[i] < 0x80;
	}
	uint8_t *r = NULL;
	size_t rl = cap;
	if (!ascii) {
		r = u8_casefold((const uint8_t *)s, n, NULL, UNINORM_NFKD, (uint8_t *)buf, &rl);
	}
	if (!r) { /* ASCII, or not valid UTF-8: lower the ASCII letters */
		char *o = n <= cap ? buf : (*heap = malloc(n));
		if (!o) {
			return NULL;
		}
		for (size_t i = 0; i < n; i++) {
			char c = s[i];
			o[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		*len = n;
		return o;
	}
	if ((char *)r != buf) {
		*heap = (char *)r;
	}
	/* drop the combining marks NFKD split off; only ever shrinks */
	size_t w = 0;
	for (size_t i = 0; i < rl;) {
		ucs4_t uc;
		int k = u8_mbtouc(&uc, r + i, rl - i);
		if (!uc_is_general_category(uc, UC_CATEGORY_M)) {
			ucs4_t b = base_letter(uc);
			if (b != uc) {
				r[w++] = (uint8_t)b;
			} else {
				memmove(r + w, r + i, (size_t)k);
				w += (size_t)k;
			}
		}
		i += (size_t)k;
	}
	*len = w;
	return (const char *)r;
}

/* Common English words that say little about what a text is about; the search ranks by the
 * other words of a query. Folded, sorted (bsearch). "s" and "t" are what "what's" and
 * "don't" leave once the apostrophe splits them. */
static const char *const stop_words[] = {
	"a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
	"as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
	"by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for",
	"from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him",
	"his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more",
	"most", "my", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other",
	"our", "ours", "out", "over", "own", "s", "same", "she", "should", "so", "some", "such",
	"t", "than", "that", "the", "their", "theirs", "them", "then", "there", "these", "they",
	"this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we",
	"were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with",
	"would", "you", "your", "yours",
};

struct folded {
	const char *p;
	size_t n;
};

static int cmp_stop(const void *key, const void *elem)
{
	const struct folded *k = key;
	const char *w = *(const char *const *)elem;
	size_t wl = strlen(w);
	int c = memcmp(k->p, w, k->n < wl ? k->n : wl);
	return c ? c : (k->n > wl) - (k->n < wl);
}

/* Is the folded word [w, w+n) a stop word? */
static bool stop_word(const char *w, size_t n)
{
	struct folded k = {w, n};
	return bsearch(&k, stop_words, sizeof(stop_words) / sizeof(stop_words[0]),
		       sizeof(stop_words[0]), cmp_stop) != NULL;
}

/* ---- validation -------------------------------------------------------------------- */

static void finding(json_t *arr, const char *sev, const char *code, const char *file,
		    size_t line, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
static void finding(json_t *arr, const char *sev, const char *code, const char *file,
		    size_t line, const char *hint, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *m = json_string(msg);
	if (!m) {
		/* a heading with invalid UTF-8 quoted in the message */
		for (char *p = msg; *p; p++) {
			if ((unsigned char)*p >= 0x80) {
				*p = '?';
			}
		}
		m = json_string(msg);
	}
	json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, s:o, s:s}", "severity", sev,
					     "code", code, "file", file, "line", (json_int_t)line,
					     "message", m, "hint", hint));
}

/* Is [s, e) only blanks and HTML comments? */
static bool blank_or_comments(const char *s, const char *e)
{
	while (s < e) {
		if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
			s++;
		} else if (e - s >= 4 && memcmp(s, "<!--", 4) == 0) {
			const char *c = memmem(s + 4, (size_t)(e - s - 4), "-->", 3);
			if (!c) {
				return true;
			}
			s = c + 3;
		} else {
			return false;
		}
	}
	return true;
}

/* Fenced-code mask per line: true when line i (0-based) is inside or is a fence. */
static bool *fence_mask(const char *buf, size_t len, size_t *nlines)
{
	size_t n = 1;
	for (size_t i = 0; i < len; i++) {
		n += buf[i] == '\n';
	}
	bool *m = calloc(n, sizeof(*m));
	*nlines = n;
	if (!m) {
		return NULL;
	}
	char fence = 0;
	size_t flen = 0, li = 0;
	for (size_t pos = 0; pos < len; li++) {
		struct mdline l;
		md_line(buf, len, pos, &l);
		size_t first;
		size_t ind = md_indent(buf, &l, &first);
		if (fence) {
			m[li] = true;
			size_t r = md_run(buf, first, l.e, fence);
			if (ind <= 3 && r >= flen && md_rest_blank(buf, first + r, l.e)) {
				fence = 0;
			}
		} else if (ind <= 3 && first < l.e && (buf[first] == '`' || buf[first] == '~')) {
			char c = buf[first];
			size_t r = md_run(buf, first, l.e, c);
			if (r >= 3 && (c == '~' || !memchr(buf + first + r, '`', l.e - first - r))) {
				fence = c;
				flen = r;
				m[li] = true;
			}
		}
		pos = l.next;
	}
	return m;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Join `base` (a clean relative path, "." for none) and `rel` into `out` (`n` bytes),
 * resolving "." and ".." lexically. False when the result climbs above the start or does not
 * fit; "." when it is the start itself. */
static bool join_clean(const char *base, const char *rel, char *out, size_t n)
{
	size_t w = 0;
	for (int part = 0; part < 2; part++) {
		const char *p = part == 0 ? base : rel;
		while (*p) {
			const char *e = strchr(p, '/');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			if (l == 2 && p[0] == '.' && p[1] == '.') {
				if (w == 0) {
					return false;
				}
				while (w > 0 && out[w - 1] != '/') {
					w--;
				}
				w = w > 0 ? w - 1 : 0;
			} else if (l > 0 && !(l == 1 && p[0] == '.')) {
				if (w + (w > 0) + l + 1 > n) {
					return false;
				}
				if (w > 0) {
					out[w++] = '/';
				}
				memcpy(out + w, p, l);
				w += l;
			}
			p += l + (e != NULL);
		}
	}
	if (w == 0) {
		out[w++] = '.';
	}
	out[w] = '\0';
	return true;
}

/* Does the relative path `rel` name anything beneath the bank's root? */
static bool exists_in_root(const struct ctxd_mb_dir *dir, const char *rel)
{
	int fd = ctxd_sandbox_openat(dir->root_fd, rel, O_PATH, 0, false);
	if (fd < 0) {
		return false;
	}
	close(fd);
	return true;
}

/* Decode %XX escapes of a link target in place; false when one decodes to a NUL. */
static bool percent_decode(char *t)
{
	size_t w = 0;
	for (size_t i = 0; t[i]; i++) {
		int hi, lo;
		if (t[i] == '%' && (hi = hexval(t[i + 1])) >= 0 && (lo = hexval(t[i + 2])) >= 0) {
			t[w] = (char)(hi * 16 + lo);
			if (!t[w++]) {
				return false;
			}
			i += 2;
		} else {
			t[w++] = t[i];
		}
	}
	t[w] = '\0';
	return true;
}

/* A relative link in a bank file is broken only when it names nothing against the bank and
 * nothing against the root the bank lives in: agents write paths from the project root
 * ("[x](src/utils/message_format.py)"), and a bank moved to .cursor/memory-bank keeps links
 * written for memory-bank/ ("../src/x.py"), so for the root a leading run of "./" and "../"
 * is dropped. A link that leaves the root from the bank cannot be checked and is not
 * reported. */
static bool link_broken(const struct ctxd_mb_dir *dir, const char *target)
{
	char cand[CTXD_PATH_MAX];
	if (!join_clean(dir->rel, target, cand, sizeof(cand))) {
		return false;
	}
	if (exists_in_root(dir, cand)) {
		return false;
	}
	const char *t = target;
	while (t[0] == '.' && (t[1] == '/' || (t[1] == '.' && t[2] == '/'))) {
		t += t[1] == '/' ? 2 : 3;
		while (*t == '/') {
			t++;
		}
	}
	return !join_clean(".", t, cand, sizeof(cand)) || !exists_in_root(dir, cand);
}

static void check_links(const struct ctxd_mb_dir *dir, const char *file, const char *buf,
			size_t len, const bool *mask, json_t *out)
{
	size_t li = 0;
	for (size_t pos = 0; pos < len; li++) {
		struct mdline l;
		md_line(buf, len, pos, &l);
		pos = l.next;
		if (mask && mask[li]) {
			continue;
		}
		bool code = false;
		for (size_t i = l.s; i < l.e; i++) {
			if (buf[i] == '`') {
				code = !code;
				continue;
			}
			if (code || buf[i] != ']' || i + 1 >= l.e || buf[i + 1] != '(') {
				continue;
			}
			size_t ts = i + 2, te = ts;
			bool angle = ts < l.e && buf[ts] == '<';
			if (angle) {
				ts++;
				te = ts;
				while (te < l.e && buf[te] != '>') {
					te++;
				}
			} else {
				while (te < l.e && buf[te] != ')' && buf[te] != ' ' && buf[te] != '\t') {
					te++;
				}
			}
			char target[512];
			size_t tl = te - ts;
			if (tl == 0 || tl >= sizeof(target)) {
				continue;
			}
			memcpy(target, buf + ts, tl);
			target[tl] = '\0';
			char *cut = strpbrk(target, "#?");
			if (cut) {
				*cut = '\0';
			}
			if (!target[0] || target[0] == '/' || strchr(target, ':') ||
			    !percent_decode(target) || !target[0]) {
				continue; /* anchors, absolute paths and URLs are not checked */
			}
			if (link_broken(dir, target)) {
				finding(out, "warning", "broken_link", file, li + 1,
					"fix the link target, or create the file it names",
					"link to '%s' points to nothing in the bank or in the root it "
					"lives in",
					target);
			}
		}
	}
}

static void check_conflicts(const char *file, const char *buf, size_t len, const bool *mask,
			    json_t *out)
{
	size_t li = 0;
	bool open = false;
	for (size_t pos = 0; pos < len; li++) {
		struct mdline l;
		md_line(buf, len, pos, &l);
		pos = l.next;
		if (mask && mask[li]) {
			continue;
		}
		size_t n = l.e - l.s;
		const char *p = buf + l.s;
		if (n >= 7 && memcmp(p, "<<<<<<<", 7) == 0 && (n == 7 || p[7] == ' ')) {
			open = true;
			finding(out, "error", "conflict_marker", file, li + 1,
				"resolve the merge conflict: keep the right side, delete the "
				"<<<<<<< ======= >>>>>>> lines",
				"leftover merge-conflict marker '<<<<<<<'");
		} else if (n >= 7 && memcmp(p, ">>>>>>>", 7) == 0 && (n == 7 || p[7] == ' ')) {
			if (!open) {
				finding(out, "error", "conflict_marker", file, li + 1,
					"delete the stray conflict marker",
					"leftover merge-conflict marker '>>>>>>>'");
			}
			open = false;
		} else if (!open && n == 7 && memcmp(p, "|||||||", 7) == 0) {
			finding(out, "error", "conflict_marker", file, li + 1,
				"delete the stray conflict marker",
				"leftover merge-conflict marker '|||||||'");
		}
	}
}

/* Other headings that count as a core section, as Cline's and Cursor's memory bank
 * instructions word them and as real banks write them. A variant matches a heading that
 * begins with its words (see heading_matches), so "What Works" also covers "What Works
 * (Implemented)" and "Architecture" covers "Architecture Overview". */
static const char *const builtin_variants[][20] = {
	/* projectbrief.md */
	{"Overview", "Project Overview", "Summary", "Project Summary", "Introduction",
	 "Description", "Project Description", "Purpose", "Project Purpose", "Core Purpose",
	 "About", NULL},
	{"Core Requirements", "Requirements", "Key Requirements", "Functional Requirements",
	 "Technical Requirements", "Core Features", "Key Features", "Features", "Must Have", NULL},
	{"Goals", "Key Goals", "Project Goals", "Objectives", "Key Objectives",
	 "Project Objectives", "Success Criteria", "Vision", NULL},
	{"Scope", "Project Scope", "Technical Scope", "In Scope", "Boundaries", NULL},
	/* productContext.md */
	{"Why This Project Exists", "Why", "Purpose", "Product Purpose", "Project Purpose",
	 "Background", "Motivation", NULL},
	{"Problems It Solves", "Problems Solved", "Problem Statement", "Problem Space",
	 "The Problem", "Problems", "Problem", "Pain Points", NULL},
	{"How It Should Work", "How It Works", "How", "Solution", "Core Functionality",
	 "Functionality", "Key Features", "Features", "Use Cases", "User Journeys",
	 "Key User Journeys", NULL},
	{"User Experience Goals", "User Experience", "UX Goals", "UX", "Experience Goals",
	 "Target User Experience", NULL},
	/* activeContext.md */
	{"Current Focus", "Current Work Focus", "Current Work", "Current Development Focus",
	 "Current Task", "Current Tasks", "Active Focus", "Focus", "Current Sprint", NULL},
	{"Recent Changes", "Recent Updates", "Latest Changes", "Latest Updates", "Recent Work",
	 "Recently Completed", "Recent Progress", "Changes", NULL},
	{"Next Steps", "Next Actions", "Immediate Next Steps", "Upcoming", "To Do", "Todo",
	 "Next", "Immediate Tasks", "Planned Work", NULL},
	{"Active Decisions", "Decisions", "Key Decisions", "Recent Decisions", "Current Decisions",
	 "Decision Log", "Open Decisions", "Considerations", "Current Considerations",
	 "Open Questions", NULL},
	/* systemPatterns.md */
	{"Architecture", "System Architecture", "Architectural Overview", "High Level Architecture",
	 "Overall Architecture", "Technical Architecture", "Software Architecture",
	 "Application Architecture", "System Design", "System Overview", "Project Structure",
	 NULL},
	{"Key Technical Decisions", "Technical Decisions", "Key Decisions", "Design Decisions",
	 "Architecture Decisions", "Architectural Decisions", "Key Design Decisions",
	 "Technology Decisions", "Decisions", NULL},
	{"Design Patterns", "Patterns", "Core Design Patterns", "Key Patterns", "Key Design Patterns",
	 "Patterns in Use", "Code Patterns", "Coding Patterns", "Architectural Patterns",
	 "Architecture Patterns", "Common Patterns", NULL},
	{"Component Relationships", "Components", "Component Structure", "Component Architecture",
	 "Key Components", "System Components", "Key System Components", "Core Components",
	 "Component Overview", "Component Interactions", "Relationships", "Data Flow",
	 "Module Relationships", "Modules", NULL},
	/* techContext.md */
	{"Technologies Used", "Technology Stack", "Tech Stack", "Technologies", "Technology",
	 "Stack", "Core Technologies", "Core Stack", "Core Technology Stack", "Key Technologies",
	 "Languages and Frameworks", "Frameworks", "Tools and Technologies", "Built With", NULL},
	{"Development Setup", "Development Environment", "Dev Setup", "Dev Environment", "Setup",
	 "Local Development", "Local Setup", "Getting Started", "Environment Setup",
	 "Installation", "Development Workflow", "Build and Run", "Running Locally", NULL},
	{"Technical Constraints", "Constraints", "Limitations", "Technical Limitations",
	 "Known Constraints", NULL},
	{"Dependencies", "Key Dependencies", "Core Dependencies", "Main Dependencies",
	 "External Dependencies", "Project Dependencies", "Runtime Dependencies",
	 "Third Party Dependencies", "Libraries", "Packages", NULL},
	/* progress.md */
	{"What Works", "What's Working", "Working Features", "Completed", "Completed Features",
	 "Completed Work", "Completed Tasks", "Done", "Implemented", "Implemented Features",
	 "Working", "Achievements", "Accomplishments", "Features Completed", "Finished", NULL},
	{"What's Left to Build", "What's Left", "What Is Left", "Remaining Work",
	 "Remaining Tasks", "Remaining", "Left to Build", "To Do", "Todo", "Pending",
	 "In Progress", "Planned Features", "Planned", "Backlog", "Upcoming", "Coming Soon",
	 "Next Steps", "Roadmap", "Future Work", NULL},
	{"Current Status", "Status", "Overall Status", "Project Status", "Overall Progress",
	 "Current State", "Status Overview", "Development Status", "Current Progress", NULL},
	{"Known Issues", "Issues", "Known Bugs", "Bugs", "Known Problems", "Limitations",
	 "Known Limitations", "Current Limitations", "Current Issues", "Open Issues", "Blockers",
	 "Technical Debt", NULL},
};

/* A heading as a person reads it: leading emoji, numbering ("1.", "2.3", "IV.", "a)") and
 * punctuation dropped, the words folded (fold_word) and joined by single spaces, so
 * "## 🎯 2. Current Work Focus:" reads "current work focus". Writes at most `n` bytes to
 * `out` (NUL-terminated, whole words only) and returns the length. */
static size_t norm_heading(const char *s, size_t len, char *out, size_t n)
{
	size_t i = 0, w = 0;
	for (int pass = 0; pass < 2; pass++) {
		/* skip up to the first letter: emoji, marks, digits, punctuation, blanks */
		while (i < len) {
			ucs4_t uc;
			size_t k = char_at(s, i, len, &uc);
			if (uc_is_general_category(uc, UC_CATEGORY_L)) {
				break;
			}
			i += k;
		}
		/* then a roman numeral or a single letter that numbers the heading */
		size_t r = i;
		while (r < len && r - i < 4 && s[r] && strchr("IVXivx", s[r])) {
			r++;
		}
		if (r == i && i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) {
			r = i + 1;
		}
		if (r > i && r + 1 < len && (s[r] == '.' || s[r] == ')') && s[r + 1] == ' ') {
			i = r + 1;
		} else {
			break;
		}
	}
	size_t p = i, ws, we;
	while (next_word(s, &p, len, &ws, &we)) {
		char small[128], *heap;
		size_t fl;
		const char *f = fold_word(s + ws, we - ws, small, sizeof(small), &fl, &heap);
		if (f && w + (w > 0) + fl < n) {
			if (w > 0) {
				out[w++] = ' ';
			}
			memcpy(out + w, f, fl);
			w += fl;
		}
		free(heap);
		if (!f || w + 1 >= n) {
			break;
		}
	}
	out[w] = '\0';
	return w;
}

/* Does the normalised heading `h` begin with the words of the normalised name `want`? */
static bool heading_matches(const char *h, size_t hl, const char *want, size_t wl)
{
	return wl > 0 && hl >= wl && memcmp(h, want, wl) == 0 && (hl == wl || h[wl] == ' ');
}

/* A heading to match sections against: a real heading (not the file's title), or a line
 * that is all bold, "**Current Focus:**" (banks written that way use them as headings). */
struct mheading {
	char norm[256];
	size_t len;
};

/* The headings of `buf` that can stand for a section, normalised; a new array (free()) of
 * *n, NULL on ENOMEM. */
static struct mheading *match_headings(const char *buf, size_t len,
				       const struct ctxd_md_section *secs, size_t nsecs,
				       const bool *mask, size_t *n)
{
	size_t cap = nsecs + 16, li = 0;
	struct mheading *v = malloc(cap * sizeof(*v));
	*n = 0;
	if (!v) {
		return NULL;
	}
	for (size_t i = 0; i < nsecs; i++) {
		if (i == 0 && secs[i].level == 1) {
			continue; /* the file's title */
		}
		v[*n].len = norm_heading(buf + secs[i].title, secs[i].title_len, v[*n].norm,
					 sizeof(v[*n].norm));
		(*n)++;
	}
	for (size_t pos = 0; pos < len; li++) {
		struct mdline l;
		md_line(buf, len, pos, &l);
		pos = l.next;
		size_t a = l.s, e = l.e;
		md_trim(buf, &a, &e);
		if ((mask && mask[li]) || e - a < 5 || memcmp(buf + a, "**", 2) != 0) {
			continue;
		}
		if (buf[e - 1] == ':') { /* **Title**: */
			e--;
		}
		if (e - a < 5 || memcmp(buf + e - 2, "**", 2) != 0 ||
		    memmem(buf + a + 2, e - a - 4, "**", 2)) {
			continue;
		}
		if (*n == cap) {
			cap *= 2;
			struct mheading *q = realloc(v, cap * sizeof(*v));
			if (!q) {
				free(v);
				return NULL;
			}
			v = q;
		}
		v[*n].len = norm_heading(buf + a + 2, e - a - 4, v[*n].norm, sizeof(v[*n].norm));
		(*n)++;
	}
	return v;
}

/* Is section `want` among the headings `hs`, by its own words, a built-in variant or one
 * configured in memory_bank.section_variants? */
static bool section_present(const struct ctxd_memory_bank *mb, const char *want,
			    const struct mheading *hs, size_t nh)
{
	const char *const *builtin = NULL;
	for (size_t i = 0; i < sizeof(builtin_variants) / sizeof(builtin_variants[0]); i++) {
		if (strcmp(builtin_variants[i][0], want) == 0) {
			builtin = builtin_variants[i] + 1;
		}
	}
	const struct ctxd_config_names *conf = NULL;
	for (size_t i = 0; mb->cfg && i < mb->cfg->n_memory_bank_variants; i++) {
		if (strcmp(mb->cfg->memory_bank_variants[i].key, want) == 0) {
			conf = &mb->cfg->memory_bank_variants[i];
		}
	}
	size_t nb = 0;
	while (builtin && builtin[nb]) {
		nb++;
	}
	size_t total = 1 + nb + (conf ? conf->n : 0);
	for (size_t c = 0; c < total; c++) {
		const char *name = c == 0 ? want : c <= nb ? builtin[c - 1] : conf->names[c - 1 - nb];
		char norm[256];
		size_t nl = norm_heading(name, strlen(name), norm, sizeof(norm));
		for (size_t i = 0; i < nh; i++) {
			if (heading_matches(hs[i].norm, hs[i].len, norm, nl)) {
				return true;
			}
		}
	}
	return false;
}

/* The sections `file` is expected to hold: memory_bank.sections when it names the file, else
 * the core file's template sections, else none. *n gets the count. */
static const char *const *expected_sections(const struct ctxd_memory_bank *mb, const char *file,
					    size_t *n)
{
	for (size_t i = 0; mb->cfg && i < mb->cfg->n_memory_bank_sections; i++) {
		const struct ctxd_config_names *e = &mb->cfg->memory_bank_sections[i];
		if (strcmp(e->key, file) == 0) {
			*n = e->n;
			return (const char *const *)e->names;
		}
	}
	const char *const *req = ctxd_memory_bank_core_sections(file);
	*n = 0;
	while (req && req[*n]) {
		(*n)++;
	}
	return req;
}

/* Report the expected sections `file` lacks. When it has headings of its own (two or more)
 * and not one of them is an expected section, the file follows another outline (another
 * language, say): one note says so instead of a warning per section. */
static void check_sections(const struct ctxd_memory_bank *mb, const char *file,
			   const char *buf, size_t len, const struct ctxd_md_section *secs,
			   size_t nsecs, const bool *mask, json_t *out)
{
	size_t nreq, nh;
	const char *const *req = expected_sections(mb, file, &nreq);
	if (nreq == 0) {
		return;
	}
	struct mheading *hs = match_headings(buf, len, secs, nsecs, mask, &nh);
	if (!hs) {
		return;
	}
	bool *have = calloc(nreq, sizeof(*have));
	size_t found = 0;
	for (size_t k = 0; have && k < nreq; k++) {
		have[k] = section_present(mb, req[k], hs, nh);
		found += have[k];
	}
	if (have && found == 0 && nreq >= 2 && nh >= 2) {
		char names[400] = "";
		size_t w = 0;
		for (size_t k = 0; k < nreq && w < sizeof(names); k++) {
			w += (size_t)snprintf(names + w, sizeof(names) - w, "%s'%s'", k ? ", " : "",
					      req[k]);
		}
		finding(out, "info", "unrecognised_sections", file, 0,
			"if these sections go by other names (another language, say), list them "
			"under memory_bank.section_variants in the config; else add the sections",
			"none of the %zu headings is one of the expected sections (%s)", nh, names);
	} else {
		for (size_t k = 0; have && k < nreq; k++) {
			if (!have[k]) {
				finding(out, "warning", "missing_section", file, 0,
					"add the section with memory_bank_update_section (op append "
					"creates it), or name the heading it goes by in "
					"memory_bank.section_variants",
					"required section '## %s' is missing", req[k]);
			}
		}
	}
	free(have);
	free(hs);
}

static void validate_file(struct ctxd_memory_bank *mb, const struct ctxd_mb_dir *dir,
			  const char *file, const char *buf, size_t len, json_t *out)
{
	struct ctxd_md_section *secs;
	size_t n;
	if (ctxd_md_sections(buf, len, &secs, &n)) {
		return;
	}
	size_t nl;
	bool *mask = fence_mask(buf, len, &nl);
	check_sections(mb, file, buf, len, secs, n, mask, out);
	for (size_t i = 0; i < n; i++) {
		const struct ctxd_md_section *s = &secs[i];
		if (blank_or_comments(buf + s->body, buf + s->end)) {
			finding(out, "info", "empty_section", file, s->line,
				"write the section's content, or remove the heading",
				"section '%.*s' is empty", (int)(s->title_len > 200 ? 200 : s->title_len),
				buf + s->title);
		}
		for (size_t j = 0; j < i; j++) {
			if (secs[j].level == s->level && secs[j].title_len == s->title_len &&
			    memcmp(buf + secs[j].title, buf + s->title, s->title_len) == 0) {
				finding(out, "warning", "duplicate_heading", file, s->line,
					"merge the two sections or rename one: section edits act on "
					"the first",
					"heading '%.*s' repeats the one on line %zu",
					(int)(s->title_len > 200 ? 200 : s->title_len), buf + s->title,
					secs[j].line);
				break;
			}
		}
	}
	free(secs);
	check_conflicts(file, buf, len, mask, out);
	check_links(dir, file, buf, len, mask, out);
	free(mask);
	size_t tokens = len / 4;
	if (tokens > mb->token_budget) {
		finding(out, "warning", "over_budget", file, 0,
			"condense the file or move detail into a separate bank file",
			"about %zu tokens (%zu bytes / 4), over the budget of %zu", tokens, len,
			mb->token_budget);
	}
}

json_t *ctxd_memory_bank_validate(struct ctxd_memory_bank *mb, const struct ctxd_mb_dir *dir,
				  struct ctxd_error *err)
{
	json_t *files = ctxd_memory_bank_files(dir->fd, err);
	if (!files) {
		return NULL;
	}
	json_t *out = json_array();
	for (int i = 0; i < CTXD_MB_CORE_COUNT; i++) {
		bool have = false;
		size_t k;
		json_t *v;
		json_array_foreach(files, k, v) {
			have = have || strcmp(json_string_value(v), ctxd_memory_bank_core[i]) == 0;
		}
		struct stat st;
		const char *f = ctxd_memory_bank_core[i];
		if (!have && fstatat(dir->fd, f, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			/* there, but not a regular file: say what it is */
			char why[300];
			int e = S_ISLNK(st.st_mode) ? ELOOP : not_regular_errno(st.st_mode);
			finding(out, "error", "unreadable", f, 0,
				"replace it with a regular file (memory_bank_init creates the core "
				"files)",
				"%s", ctxd_memory_bank_read_error(dir->fd, f, e, why, sizeof(why)));
		} else if (!have) {
			finding(out, "error", "missing_core_file", f, 0,
				"create it with memory_bank_init (existing files are kept)",
				"core file '%s' is missing", f);
		}
	}
	struct timespec newest = {0, 0};
	char newest_file[256] = "";
	struct timespec mt[CTXD_MB_CORE_COUNT];
	bool have_mt[CTXD_MB_CORE_COUNT] = {false};
	size_t k;
	json_t *v;
	json_array_foreach(files, k, v) {
		const char *f = json_string_value(v);
		char *buf;
		size_t len;
		struct stat st;
		if (fstatat(dir->fd, f, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    ctxd_memory_bank_read_file(dir->fd, f, &buf, &len) < 0) {
			char why[300];
			finding(out, "error", "unreadable", f, 0,
				"make it a regular, readable file of at most 16 MiB", "%s",
				ctxd_memory_bank_read_error(dir->fd, f, errno, why, sizeof(why)));
			continue;
		}
		if (st.st_mtim.tv_sec > newest.tv_sec) {
			newest = st.st_mtim;
			snprintf(newest_file, sizeof(newest_file), "%s", f);
		}
		int ci = core_index(f);
		if (ci >= 0) {
			mt[ci] = st.st_mtim;
			have_mt[ci] = true;
		}
		validate_file(mb, dir, f, buf, len, out);
		free(buf);
	}
	static const int stale_files[] = {2, 5}; /* activeContext.md, progress.md */
	for (size_t i = 0; i < 2; i++) {
		int ci = stale_files[i];
		if (!have_mt[ci]) {
			continue;
		}
		double age = difftime(newest.tv_sec, mt[ci].tv_sec);
		if (age > (double)mb->stale_days * 86400.0) {
			finding(out, "warning", "stale", ctxd_memory_bank_core[ci], 0,
				"bring it up to date with the latest work (memory_bank_update_section)",
				"last changed %.0f days before the newest change in the bank (%s); "
				"the limit is %u days",
				age / 86400.0, newest_file, mb->stale_days);
		}
	}
	json_decref(files);
	return out;
}

/* ---- search ------------------------------------------------------------------------ */

struct posting {
	uint32_t chunk, tf;
};

struct term {
	char *w;
	uint32_t df;
	struct posting *p;
	uint32_t n, cap;
};

struct chunk {
	uint32_t file;
	bool dead;
	size_t start, end, line; /* bytes of the file's text; 1-based line of `start` */
	uint32_t len;            /* words */
	char *heading;
	uint32_t *terms;         /* distinct term ids (for df upkeep) */
	uint32_t nterms;
};

struct ifile {
	char *name;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char *text;
	size_t len;
	bool seen;
};

struct sindex {
	struct sindex *next;
	char abs[CTXD_PATH_MAX];
	struct term *terms;
	uint32_t nterms, cap_terms;
	uint32_t *table; /* open addressing: term id + 1, 0 = empty */
	uint32_t table_cap;
	struct chunk *chunks;
	uint32_t nchunks, cap_chunks, live;
	uint64_t total_len;
	struct ifile *files;
	uint32_t nfiles, cap_files;
};

static void sindex_free(struct sindex *ix)
{
	if (!ix) {
		return;
	}
	for (uint32_t i = 0; i < ix->nterms; i++) {
		free(ix->terms[i].w);
		free(ix->terms[i].p);
	}
	for (uint32_t i = 0; i < ix->nchunks; i++) {
		free(ix->chunks[i].heading);
		free(ix->chunks[i].terms);
	}
	for (uint32_t i = 0; i < ix->nfiles; i++) {
		free(ix->files[i].name);
		free(ix->files[i].text);
	}
	free(ix->terms);
	free(ix->table);
	free(ix->chunks);
	free(ix->files);
	free(ix);
}

void ctxd_memory_bank_destroy(struct ctxd_memory_bank *mb)
{
	if (!mb) {
		return;
	}
	while (mb->indexes) {
		struct sindex *n = mb->indexes->next;
		sindex_free(mb->indexes);
		mb->indexes = n;
	}
	pthread_mutex_destroy(&mb->lock);
	free(mb);
}

static uint32_t word_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	}
	return h;
}

/* Look up (and with `add`, insert) a word of the text; words are kept folded (fold_word),
 * so lookups match across case and accents. Returns its id or UINT32_MAX. */
static uint32_t term_id(struct sindex *ix, const char *s, size_t n, bool add)
{
	if (ix->table_cap == 0 || (add && (ix->nterms + 1) * 2 > ix->table_cap)) {
		if (!add && ix->table_cap == 0) {
			return UINT32_MAX;
		}
		uint32_t cap = ix->table_cap ? ix->table_cap * 2 : 1024;
		uint32_t *t = calloc(cap, sizeof(*t));
		if (!t) {
			return UINT32_MAX;
		}
		for (uint32_t i = 0; i < ix->nterms; i++) {
			const char *w = ix->terms[i].w;
			uint32_t h = word_hash(w, strlen(w)) & (cap - 1);
			while (t[h]) {
				h = (h + 1) & (cap - 1);
			}
			t[h] = i + 1;
		}
		free(ix->table);
		ix->table = t;
		ix->table_cap = cap;
	}
	char small[128], *heap;
	size_t fl;
	const char *f = fold_word(s, n, small, sizeof(small), &fl, &heap);
	if (!f) {
		return UINT32_MAX;
	}
	uint32_t id = UINT32_MAX;
	uint32_t h = word_hash(f, fl) & (ix->table_cap - 1);
	while (ix->table[h]) {
		uint32_t cand = ix->table[h] - 1;
		const char *w = ix->terms[cand].w;
		if (strncmp(w, f, fl) == 0 && w[fl] == '\0') { /* f holds no NUL */
			id = cand;
			goto out;
		}
		h = (h + 1) & (ix->table_cap - 1);
	}
	if (!add) {
		goto out;
	}
	if (ix->nterms == ix->cap_terms) {
		uint32_t c = ix->cap_terms ? ix->cap_terms * 2 : 1024;
		struct term *q = realloc(ix->terms, c * sizeof(*q));
		if (!q) {
			goto out;
		}
		ix->terms = q;
		ix->cap_terms = c;
	}
	char *w = malloc(fl + 1);
	if (!w) {
		goto out;
	}
	memcpy(w, f, fl);
	w[fl] = '\0';
	id = ix->nterms++;
	ix->terms[id] = (struct term){.w = w};
	ix->table[h] = id + 1;
out:
	free(heap);
	return id;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Add a chunk [s, e) of file `fi`; returns 0 or -1 (ENOMEM). */
static int add_chunk(struct sindex *ix, uint32_t fi, size_t s, size_t e, size_t line,
		     const char *title, size_t title_len)
{
	const char *text = ix->files[fi].text;
	size_t words = 0, cap = 64, p = s, ws, we;
	uint32_t *ids = malloc(cap * sizeof(*ids));
	if (!ids) {
		return -1;
	}
	while (next_word(text, &p, e, &ws, &we)) {
		uint32_t id = term_id(ix, text + ws, we - ws, true);
		if (id == UINT32_MAX) {
			free(ids);
			return -1;
		}
		if (words == cap) {
			cap *= 2;
			uint32_t *q = realloc(ids, cap * sizeof(*q));
			if (!q) {
				free(ids);
				return -1;
			}
			ids = q;
		}
		ids[words++] = id;
	}
	if (ix->nchunks == ix->cap_chunks) {
		uint32_t c = ix->cap_chunks ? ix->cap_chunks * 2 : 256;
		struct chunk *q = realloc(ix->chunks, c * sizeof(*q));
		if (!q) {
			free(ids);
			return -1;
		}
		ix->chunks = q;
		ix->cap_chunks = c;
	}
	uint32_t ci = ix->nchunks;
	if (words > 1) { /* qsort needs a valid array even for 0 items */
		qsort(ids, words, sizeof(*ids), cmp_u32);
	}
	uint32_t nd = 0;
	for (size_t i = 0; i < words;) {
		size_t j = i;
		while (j < words && ids[j] == ids[i]) {
			j++;
		}
		struct term *t = &ix->terms[ids[i]];
		if (t->n == t->cap) {
			uint32_t c = t->cap ? t->cap * 2 : 4;
			struct posting *q = realloc(t->p, c * sizeof(*q));
			if (!q) {
				free(ids);
				return -1;
			}
			t->p = q;
			t->cap = c;
		}
		t->p[t->n++] = (struct posting){ci, (uint32_t)(j - i)};
		t->df++;
		ids[nd++] = ids[i];
		i = j;
	}
	char *h = malloc(title_len + 1);
	if (!h) {
		free(ids);
		return -1;
	}
	memcpy(h, title, title_len);
	h[title_len] = '\0';
	ix->chunks[ci] = (struct chunk){
		.file = fi, .start = s, .end = e, .line = line, .len = (uint32_t)words,
		.heading = h, .terms = ids, .nterms = nd,
	};
	ix->nchunks++;
	ix->live++;
	ix->total_len += words;
	return 0;
}

static void kill_chunks(struct sindex *ix, uint32_t fi)
{
	for (uint32_t i = 0; i < ix->nchunks; i++) {
		struct chunk *c = &ix->chunks[i];
		if (c->dead || c->file != fi) {
			continue;
		}
		c->dead = true;
		for (uint32_t k = 0; k < c->nterms; k++) {
			ix->terms[c->terms[k]].df--;
		}
		ix->live--;
		ix->total_len -= c->len;
	}
}

static int index_file(struct sindex *ix, uint32_t fi)
{
	struct ifile *f = &ix->files[fi];
	struct ctxd_md_section *secs;
	size_t n;
	if (ctxd_md_sections(f->text, f->len, &secs, &n)) {
		return -1;
	}
	size_t pre_end = n ? secs[0].start : f->len;
	int rc = 0;
	if (!blank_or_comments(f->text, f->text + pre_end)) {
		rc = add_chunk(ix, fi, 0, pre_end, 1, "", 0);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = add_chunk(ix, fi, secs[i].start, secs[i].own_end, secs[i].line,
			       f->text + secs[i].title, secs[i].title_len);
	}
	free(secs);
	return rc;
}

/* Bring the index up to date with the bank directory. Under mb->lock. */
static int index_refresh(struct sindex *ix, int dirfd, struct ctxd_error *err)
{
	json_t *names = ctxd_memory_bank_files(dirfd, err);
	if (!names) {
		return -1;
	}
	for (uint32_t i = 0; i < ix->nfiles; i++) {
		ix->files[i].seen = false;
	}
	size_t k;
	json_t *v;
	int rc = 0;
	json_array_foreach(names, k, v) {
		const char *name = json_string_value(v);
		struct stat st;
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
			continue;
		}
		uint32_t fi = UINT32_MAX;
		for (uint32_t i = 0; i < ix->nfiles; i++) {
			if (ix->files[i].name && strcmp(ix->files[i].name, name) == 0) {
				fi = i;
				break;
			}
		}
		if (fi != UINT32_MAX) {
			struct ifile *f = &ix->files[fi];
			f->seen = true;
			if (f->ino == st.st_ino && f->dev == st.st_dev && f->size == st.st_size &&
			    f->mtime.tv_sec == st.st_mtim.tv_sec &&
			    f->mtime.tv_nsec == st.st_mtim.tv_nsec) {
				continue;
			}
			kill_chunks(ix, fi);
			free(f->text);
			f->text = NULL;
		} else {
			if (ix->nfiles == ix->cap_files) {
				uint32_t c = ix->cap_files ? ix->cap_files * 2 : 64;
				struct ifile *q = realloc(ix->files, c * sizeof(*q));
				if (!q) {
					rc = -1;
					break;
				}
				ix->files = q;
				ix->cap_files = c;
			}
			fi = ix->nfiles++;
			ix->files[fi] = (struct ifile){.name = strdup(name), .seen = true};
			if (!ix->files[fi].name) {
				rc = -1;
				break;
			}
		}
		struct ifile *f = &ix->files[fi];
		f->dev = st.st_dev;
		f->ino = st.st_ino;
		f->size = st.st_size;
		f->mtime = st.st_mtim;
		if (ctxd_memory_bank_read_file(dirfd, name, &f->text, &f->len) < 0) {
			f->text = NULL;
			f->len = 0;
			f->size = -1; /* retry next time */
			continue;
		}
		if (index_file(ix, fi)) {
			rc = -1;
			break;
		}
	}
	json_decref(names);
	if (rc == 0) {
		for (uint32_t i = 0; i < ix->nfiles; i++) {
			if (!ix->files[i].seen && ix->files[i].text) {
				kill_chunks(ix, i);
				free(ix->files[i].text);
				ix->files[i].text = NULL;
				ix->files[i].size = -1;
			}
		}
	}
	if (rc) {
		ctxd_error_set_errno(err, 0, ENOMEM, "search index: out of memory");
	}
	return rc;
}

struct hit {
	uint32_t chunk;
	double score;
	size_t phrase; /* offset of the query phrase in the chunk, SIZE_MAX when absent */
};

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	if (x->score != y->score) {
		return x->score < y->score ? 1 : -1;
	}
	return x->chunk < y->chunk ? -1 : x->chunk > y->chunk;
}

/* Where in [s, e) the query words q[0..nq) appear consecutively; SIZE_MAX when not. */
static size_t find_phrase(const struct sindex *ix, const char *text, size_t s, size_t e,
			  const uint32_t *q, size_t nq)
{
	size_t p = s, ws, we, match = 0, first = 0;
	while (next_word(text, &p, e, &ws, &we)) {
		uint32_t id = term_id((struct sindex *)ix, text + ws, we - ws, false);
		if (id == q[match]) {
			if (match == 0) {
				first = ws;
			}
			if (++match == nq) {
				return first;
			}
		} else {
			match = id == q[0] ? 1 : 0;
			first = ws;
		}
	}
	return SIZE_MAX;
}

static bool in_query(uint32_t id, const uint32_t *q, size_t nq)
{
	for (size_t i = 0; i < nq; i++) {
		if (q[i] == id) {
			return true;
		}
	}
	return false;
}

/* The snippet: line [ls, le) of `text`, cut to about 240 bytes around the first match,
 * query words wrapped in « ». */
static json_t *snippet(struct sindex *ix, const char *text, size_t ls, size_t le,
		       const uint32_t *q, size_t nq)
{
	while (ls < le && (text[ls] == ' ' || text[ls] == '\t')) {
		ls++;
	}
	size_t p = ls, ws, we, firstm = SIZE_MAX;
	while (next_word(text, &p, le, &ws, &we)) {
		if (in_query(term_id(ix, text + ws, we - ws, false), q, nq)) {
			firstm = ws;
			break;
		}
	}
	if (le - ls > 240) {
		size_t c = firstm == SIZE_MAX ? ls : firstm;
		size_t from = c > ls + 80 ? c - 80 : ls;
		while (from > ls && ((unsigned char)text[from] & 0xC0) == 0x80) {
			from--;
		}
		size_t to = from + 240 < le ? from + 240 : le;
		while (to < le && ((unsigned char)text[to] & 0xC0) == 0x80) {
			to++;
		}
		ls = from;
		le = to;
	}
	size_t cap = (le - ls) * 2 + 64;
	char *o = malloc(cap);
	if (!o) {
		return NULL;
	}
	size_t w = 0;
	p = ls;
	size_t copied = ls;
	while (next_word(text, &p, le, &ws, &we)) {
		if (!in_query(term_id(ix, text + ws, we - ws, false), q, nq)) {
			continue;
		}
		memcpy(o + w, text + copied, ws - copied);
		w += ws - copied;
		memcpy(o + w, "\xC2\xAB", 2);
		w += 2;
		memcpy(o + w, text + ws, we - ws);
		w += we - ws;
		memcpy(o + w, "\xC2\xBB", 2);
		w += 2;
		copied = we;
		if (w + (le - copied) + 8 > cap) {
			break;
		}
	}
	memcpy(o + w, text + copied, le - copied);
	w += le - copied;
	json_t *j = ctxd_memory_bank_json_text(o, w);
	free(o);
	return j;
}

/* The best line of chunk c: the phrase's line, else the one with most query words. */
static void best_line(struct sindex *ix, const struct chunk *c, const uint32_t *q, size_t nq,
		      size_t phrase_at, size_t *line, size_t *ls, size_t *le)
{
	const char *text = ix->files[c->file].text;
	size_t best = 0, lineno = c->line, pos = c->start;
	*line = c->line;
	*ls = c->start;
	*le = c->start;
	while (pos < c->end) {
		struct mdline l;
		md_line(text, c->end, pos, &l);
		size_t score = 0, p = l.s, ws, we;
		if (phrase_at != SIZE_MAX && phrase_at >= l.s && phrase_at < l.next) {
			score = 1000;
		}
		while (next_word(text, &p, l.e, &ws, &we)) {
			score += in_query(term_id(ix, text + ws, we - ws, false), q, nq);
		}
		if (score > best) {
			best = score;
			*line = lineno;
			*ls = l.s;
			*le = l.e;
		}
		pos = l.next;
		lineno++;
	}
}

json_t *ctxd_memory_bank_search(struct ctxd_memory_bank *mb, const struct ctxd_mb_dir *dir,
				const char *query, size_t limit, struct ctxd_error *err)
{
	pthread_mutex_lock(&mb->lock);
	struct sindex *ix = mb->indexes;
	while (ix && strcmp(ix->abs, dir->abs) != 0) {
		ix = ix->next;
	}
	if (!ix) {
		ix = calloc(1, sizeof(*ix));
		if (!ix) {
			pthread_mutex_unlock(&mb->lock);
			ctxd_error_set_errno(err, 0, ENOMEM, "search index: out of memory");
			return NULL;
		}
		snprintf(ix->abs, sizeof(ix->abs), "%s", dir->abs);
		ix->next = mb->indexes;
		mb->indexes = ix;
	}
	/* many edits leave many dead chunks: start over rather than scan tombstones */
	if (ix->nchunks > 1024 && ix->nchunks - ix->live > ix->live) {
		struct sindex *fresh = calloc(1, sizeof(*fresh));
		if (fresh) {
			memcpy(fresh->abs, ix->abs, sizeof(ix->abs));
			fresh->next = ix->next;
			struct sindex **pp = &mb->indexes;
			while (*pp != ix) {
				pp = &(*pp)->next;
			}
			*pp = fresh;
			sindex_free(ix);
			ix = fresh;
		}
	}
	json_t *out = NULL;
	struct hit *hits = NULL;
	double *score = NULL;
	/* q: the query's words found in the index, in order (the phrase); qs: those that rank,
	 * the same without stop words, unless the query has nothing but stop words */
	uint32_t q[64], qs[64];
	size_t nq = 0, nqs = 0, content_words = 0;
	if (index_refresh(ix, dir->fd, err)) {
		goto done;
	}
	size_t p = 0, ws, we, qlen = strlen(query);
	bool unknown = false;
	while (nq < 64 && next_word(query, &p, qlen, &ws, &we)) {
		char small[128], *heap;
		size_t fl;
		const char *f = fold_word(query + ws, we - ws, small, sizeof(small), &fl, &heap);
		bool stop = f && stop_word(f, fl);
		free(heap);
		content_words += !stop;
		uint32_t id = term_id(ix, query + ws, we - ws, false);
		if (id == UINT32_MAX) {
			unknown = true;
			continue;
		}
		q[nq++] = id;
		if (!stop) {
			qs[nqs++] = id;
		}
	}
	if (content_words == 0) {
		memcpy(qs, q, nq * sizeof(q[0]));
		nqs = nq;
	}
	out = json_array();
	if (!out || nqs == 0 || ix->live == 0) {
		goto done;
	}
	score = calloc(ix->nchunks, sizeof(*score));
	if (!score) {
		goto oom;
	}
	const double k1 = 1.2, b = 0.75;
	double N = ix->live, avgdl = (double)ix->total_len / ix->live;
	if (avgdl <= 0) {
		avgdl = 1;
	}
	for (size_t i = 0; i < nqs; i++) {
		if (in_query(qs[i], qs, i)) {
			continue; /* a repeated word counts once */
		}
		const struct term *t = &ix->terms[qs[i]];
		double idf = log1p((N - t->df + 0.5) / (t->df + 0.5));
		for (uint32_t k = 0; k < t->n; k++) {
			const struct chunk *c = &ix->chunks[t->p[k].chunk];
			if (c->dead) {
				continue;
			}
			double tf = t->p[k].tf;
			score[t->p[k].chunk] += idf * tf * (k1 + 1) /
						(tf + k1 * (1 - b + b * c->len / avgdl));
		}
	}
	size_t nh = 0;
	hits = malloc(ix->nchunks * sizeof(*hits));
	if (!hits) {
		goto oom;
	}
	for (uint32_t i = 0; i < ix->nchunks; i++) {
		if (score[i] > 0) {
			hits[nh++] = (struct hit){i, score[i], SIZE_MAX};
		}
	}
	if (nh > 1) { /* qsort needs a valid array even for 0 items */
		qsort(hits, nh, sizeof(*hits), cmp_hit);
	}
	/* phrase boost on the leading candidates, then rank again */
	size_t cand = limit * 4 > 64 ? limit * 4 : 64;
	if (cand > nh) {
		cand = nh;
	}
	for (size_t i = 0; i < cand && nq >= 2 && !unknown; i++) {
		const struct chunk *c = &ix->chunks[hits[i].chunk];
		hits[i].phrase = find_phrase(ix, ix->files[c->file].text, c->start, c->end, q, nq);
		if (hits[i].phrase != SIZE_MAX) {
			hits[i].score = hits[i].score * 2.0 + 1.0;
		}
	}
	if (cand > 1) { /* qsort needs a valid array even for 0 items */
		qsort(hits, cand, sizeof(*hits), cmp_hit);
	}
	for (size_t i = 0; i < cand && i < limit; i++) {
		const struct chunk *c = &ix->chunks[hits[i].chunk];
		size_t line, ls, le;
		best_line(ix, c, qs, nqs, hits[i].phrase, &line, &ls, &le);
		json_t *snip = snippet(ix, ix->files[c->file].text, ls, le, qs, nqs);
		json_t *h = json_pack("{s:s, s:o, s:I, s:f, s:o}", "file", ix->files[c->file].name,
				      "heading", ctxd_memory_bank_json_text(c->heading,
									  strlen(c->heading)),
				      "line", (json_int_t)line, "score",
				      round(hits[i].score * 1000) / 1000, "snippet",
				      snip ? snip : json_string(""));
		if (!h || json_array_append_new(out, h)) {
			goto oom;
		}
	}
	goto done;
oom:
	json_decref(out);
	out = NULL;
	ctxd_error_set_errno(err, 0, ENOMEM, "search: out of memory");
done:
	free(hits);
	free(score);
	pthread_mutex_unlock(&mb->lock);
	return out;
}

/* ---- text to JSON ------------------------------------------------------------------ */

json_t *ctxd_memory_bank_json_text(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	if (j) {
		return j;
	}
	/* invalid UTF-8: keep ASCII and valid sequences, replace the rest with U+FFFD */
	char *o = malloc(len * 3 + 1);
	if (!o) {
		return NULL;
	}
	size_t w = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t k = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
			: c >= 0xF0 && c <= 0xF4 ? 4 : 0;
		bool ok = k > 0 && i + k <= len;
		for (size_t m = 1; ok && m < k; m++) {
			ok = ((unsigned char)s[i + m] & 0xC0) == 0x80;
		}
		if (ok && k > 1) {
			json_t *t = json_stringn(s + i, k);
			ok = t != NULL;
			json_decref(t);
		}
		if (ok && c != 0) {
			memcpy(o + w, s + i, k);
			w += k;
			i += k;
		} else {
			memcpy(o + w, "\xEF\xBF\xBD", 3);
			w += 3;
			i++;
		}
	}
	j = json_stringn(o, w);
	free(o);
	return j;
}
