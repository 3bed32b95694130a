/* mb_store.c - the memory bank object: its settings, where the bank lives, opening it (and
 * creating it) through the sandbox, its projects, the core files' templates, and the change
 * callback the upper layer registers. Writes and history: src/mb_history.c.
 */
#include "ctxd/mb_store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/mb_search.h"

/* ---- templates --------------------------------------------------------------------- */

const char *const ctxd_mb_core[CTXD_MB_CORE_COUNT] = {
    "projectbrief.md",   "productContext.md", "activeContext.md",
    "systemPatterns.md", "techContext.md",    "progress.md",
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
     {"Architecture", "Key Technical Decisions", "Design Patterns", "Component Relationships",
      NULL},
     {"How the system is built.", "Decisions and their reasons.", "Patterns in use and where.",
      "How the parts connect."}},
    {"Tech Context",
     {"Technologies Used", "Development Setup", "Technical Constraints", "Dependencies", NULL},
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

int ctxd_mb_core_index(const char *file)
{
	for (int i = 0; i < CTXD_MB_CORE_COUNT; i++) {
		if (strcmp(file, ctxd_mb_core[i]) == 0) {
			return i;
		}
	}
	return -1;
}

const char *const *ctxd_mb_core_sections(const char *file)
{
	int i = ctxd_mb_core_index(file);
	return i < 0 ? NULL : core_defs[i].sections;
}

const char *ctxd_mb_template(const char *file)
{
	int i = ctxd_mb_core_index(file);
	if (i < 0) {
		return NULL;
	}
	pthread_once(&templates_once, build_templates);
	return core_templates[i];
}

/* ---- the bank object --------------------------------------------------------------- */

struct ctxd_mb {
	const struct ctxd_config *cfg;
	const struct ctxd_sandbox *sb;
	struct ctxd_mb_search *search;
	ctxd_mb_change_fn on_change;
	void *change_ud;
};

struct ctxd_mb *ctxd_mb_create(const struct ctxd_config *cfg, const struct ctxd_sandbox *sb,
			       struct ctxd_error *err)
{
	struct ctxd_mb *mb = calloc(1, sizeof(*mb));
	if (mb) {
		mb->search = ctxd_mb_search_create();
	}
	if (!mb || !mb->search) {
		free(mb);
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM, "memory bank: out of memory");
		return NULL;
	}
	mb->cfg = cfg;
	mb->sb = sb;
	return mb;
}

void ctxd_mb_destroy(struct ctxd_mb *mb)
{
	if (!mb) {
		return;
	}
	ctxd_mb_search_destroy(mb->search);
	free(mb);
}

void ctxd_mb_on_change(struct ctxd_mb *mb, ctxd_mb_change_fn fn, void *ud)
{
	mb->on_change = fn;
	mb->change_ud = ud;
}

void ctxd_mb_changed(const struct ctxd_mb *mb, const struct ctxd_mb_dir *dir, const char *file,
		     long version)
{
	if (mb->on_change) {
		mb->on_change(mb->change_ud, dir, file, version);
	}
}

const struct ctxd_config *ctxd_mb_config(const struct ctxd_mb *mb)
{
	return mb->cfg;
}

unsigned ctxd_mb_history_max(const struct ctxd_mb *mb)
{
	return mb->cfg->memory_bank_history;
}

bool ctxd_mb_multi(const struct ctxd_mb *mb)
{
	return mb->cfg->memory_bank_multi_project;
}

struct ctxd_mb_search *ctxd_mb_index(struct ctxd_mb *mb)
{
	return mb->search;
}

/* ---- layout ------------------------------------------------------------------------ */

/* The bank root as a user path for the sandbox (relative = against the first root). */
static int bank_root(struct ctxd_mb *mb, const struct ctxd_sandbox *sb, char *out, size_t n,
		     struct ctxd_error *err)
{
	if (mb->cfg->memory_bank_path) {
		if ((size_t)snprintf(out, n, "%s", mb->cfg->memory_bank_path) >= n) {
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENAMETOOLONG,
					     "memory_bank.path is too long");
			return -1;
		}
		return 0;
	}
	if (ctxd_sandbox_root_count(sb) == 0) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOENT,
				     "no allowed directories (%s): the memory bank needs a root to "
				     "live in",
				     ctxd_sandbox_note(sb));
		return -1;
	}
	static const char *const cands[] = {"memory-bank", ".cursor/memory-bank",
					    ".cortex/memory-bank"};
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		struct ctxd_error e2;
		int fd = ctxd_sandbox_open(sb, cands[i], strlen(cands[i]), O_RDONLY | O_DIRECTORY,
					   0, false, NULL, &e2);
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
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, EROFS,
					     "cannot create the memory bank at '%s': it is in a "
					     "read-only root",
					     loc.abs);
			return -1;
		}
		if (mkdirat(pfd, name, 0755) < 0 && errno != EEXIST) {
			int e = errno;
			close(pfd);
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "cannot create '%s': %s",
					     loc.abs, strerror(e));
			return -1;
		}
		close(pfd);
	}
	return 0;
}

int ctxd_mb_open(struct ctxd_mb *mb, const struct ctxd_sandbox *sb, const char *project,
		 bool create, struct ctxd_mb_dir *dir, struct ctxd_error *err)
{
	char path[CTXD_PATH_MAX];
	if (!sb) {
		sb = mb->sb;
	}
	dir->fd = -1;
	if (ctxd_mb_multi(mb)) {
		if (!project) {
			ctxd_error_set_errno(
			    err, CTXD_ERR_TOOL, EINVAL,
			    "argument 'project' is required: this server keeps one "
			    "memory bank per project (memory_bank.multi_project)");
			return -1;
		}
	} else if (project && strcmp(project, CTXD_MB_DEFAULT_PROJECT) != 0) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EINVAL,
				     "argument 'project': this server keeps a single memory bank "
				     "(project \"default\"); omit 'project' or pass \"default\"");
		return -1;
	}
	if (project && !ctxd_mb_project_ok(project)) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EINVAL,
				     "argument 'project': '%.100s' is not a valid project name "
				     "(letters, digits, '.', '_', '-'; no leading dot)",
				     project);
		return -1;
	}
	if (bank_root(mb, sb, path, sizeof(path), err)) {
		return -1;
	}
	if (ctxd_mb_multi(mb)) {
		size_t l = strlen(path);
		if (l + strlen(project) + 2 > sizeof(path)) {
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENAMETOOLONG,
					     "memory bank path too long");
			return -1;
		}
		snprintf(path + l, sizeof(path) - l, "/%s", project);
	}
	snprintf(dir->project, sizeof(dir->project), "%s",
		 ctxd_mb_multi(mb) ? project : CTXD_MB_DEFAULT_PROJECT);
	struct ctxd_sandbox_loc loc;
	int fd =
	    ctxd_sandbox_open(sb, path, strlen(path), O_RDONLY | O_DIRECTORY, 0, false, &loc, err);
	if (fd < 0 && err->sys_errno == ENOENT && create) {
		if (mkdir_confined(sb, path, err)) {
			return -1;
		}
		fd = ctxd_sandbox_open(sb, path, strlen(path), O_RDONLY | O_DIRECTORY, 0, false,
				       &loc, err);
	}
	if (fd < 0) {
		if (err->sys_errno == ENOENT) {
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOENT,
					     "there is no memory bank%s%s yet (looked for '%s'); "
					     "create it with memory_bank_init",
					     ctxd_mb_multi(mb) ? " for project " : "",
					     ctxd_mb_multi(mb) ? project : "", path);
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

json_t *ctxd_mb_projects(struct ctxd_mb *mb, const struct ctxd_sandbox *sb, struct ctxd_error *err)
{
	if (!sb) {
		sb = mb->sb;
	}
	if (!ctxd_mb_multi(mb)) {
		return json_pack("[s]", CTXD_MB_DEFAULT_PROJECT);
	}
	char path[CTXD_PATH_MAX];
	if (bank_root(mb, sb, path, sizeof(path), err)) {
		return NULL;
	}
	int fd =
	    ctxd_sandbox_open(sb, path, strlen(path), O_RDONLY | O_DIRECTORY, 0, false, NULL, err);
	if (fd < 0) {
		return err->sys_errno == ENOENT ? json_array() : NULL;
	}
	json_t *a = ctxd_mb_list(fd, true, ctxd_mb_project_ok, err);
	close(fd);
	return a;
}
