/* sk_priv.h - the skills store's state, shared by its files (src/sk_*.c) and by nothing
 * else: the tools layer sees only the functions of include/ctxd/sk_*.h.
 */
#ifndef CTXD_SK_PRIV_H
#define CTXD_SK_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "ctxd/pool.h"
#include "ctxd/sk_catalog.h"
#include "ctxd/sk_dirs.h"
#include "ctxd/sk_store.h"
#include "ctxd/skill_md.h"
#include "ctxd/watch.h"

#define SK_MAX_DEPTH  5 /* skill folders nested at most this deep under a base */
#define SK_FILE_DEPTH 8 /* bundled files at most this deep under a skill folder */

enum base_kind { BASE_SANDBOX, BASE_FD };

/* BASE_SANDBOX: a root's .claude/skills or .agents/skills, read through the sandbox; a
 * symlink is followed only while its target stays inside an allowed root.
 * BASE_FD: a configured (skills.dirs, --skills-dir) or user-level directory, trusted: read
 * beneath its own O_PATH fd, symlinks followed wherever they point. */
struct base {
	enum base_kind kind;
	char *abs;             /* absolute path (canonical for BASE_FD) */
	int fd;                /* BASE_FD: O_PATH directory fd */
	const char *root_path; /* BASE_SANDBOX made from a root: the root's path */
	/* client roots (ctxd_sk_set_roots) */
	struct ctxd_sandbox *sb; /* BASE_SANDBOX read through this one, not sk->sb, or NULL */
	bool owns_sb;            /* sb is freed with this base */
	unsigned order;          /* precedence in a scan, lowest first */
	bool client;             /* made from a client root */
	bool gone;               /* that root left: not scanned, not read (__atomic) */
};

/* Bases for client roots (two per root) are appended into room reserved at create time, so
 * the array never moves while workers read it, and are marked gone rather than removed, so
 * the base index a snapshot's skill holds stays valid. */
#define CLIENT_BASES_MAX 128

struct docref {
	char *path; /* SKILL.md absolute path */
	struct ctxd_skill_doc *doc;
};

struct watch_reg {
	struct ctxd_skills *sk;
	char *dir;
	const char *filter; /* only this entry name matters, or NULL for any */
	int id;
};

struct watch_want {
	char *dir;
	const char *filter;
};

struct reload_job {
	struct ctxd_job job;
	struct ctxd_skills *sk;
	bool changed;
	struct watch_want *want;
	size_t n_want;
};

struct ctxd_skills {
	const struct ctxd_config *cfg;
	const struct ctxd_sandbox *sb;
	struct ctxd_pool *pool;
	struct base *bases;
	size_t n_bases;
	size_t n_before_user; /* bases before the user-level directories */
	size_t cap_bases;     /* room in bases (fixed after create) */
	char **extra;         /* readable paths outside the roots, for Landlock (owned copies) */
	size_t n_extra;
	struct ctxd_skill_diags init_diags; /* the configured directories' problems */

	pthread_mutex_t scan_lock; /* one scan at a time; guards docs and want */
	pthread_mutex_t snap_lock; /* guards cur */
	struct ctxd_skills_snapshot *cur;
	struct docref *docs;
	size_t n_docs;
	struct watch_want *want;
	size_t n_want;
	unsigned applied_gen; /* the roots_gen the bases match (under scan_lock) */
	/* under snap_lock */
	char **client_roots; /* the client roots to apply at the next scan (owned) */
	size_t n_client_roots;
	bool roots_pending; /* client_roots holds a new list */
	unsigned roots_gen; /* counts ctxd_sk_set_roots calls */
	bool stale;         /* cur predates the client roots: readers rescan first */
	bool cur_served;    /* cur was handed to a reader: its replacement is a change the
			     * client could notice */
	bool announce;      /* a catalogue a reader saw was replaced: call on_change */

	/* loop thread only */
	struct ctxd_watch *watch;
	void (*on_change)(void *ud); /* ctxd_sk_on_change */
	void *on_change_ud;
	struct watch_reg **regs;
	size_t n_regs;
	struct reload_job rj;
	bool busy, dirty, detached, attached;
};

/* ---- sk_dirs.c: the bases, opened under their symlink rule ---- */

/* Build the bases of `sk` from its configuration and sandbox (configured directories, each
 * root's .claude/skills and .agents/skills, the user-level directories), open the trusted
 * ones and list what Landlock must allow; reserve room for the client roots' bases. -1 on
 * ENOMEM. Create time. */
int ctxd_sk_dirs_init(struct ctxd_skills *sk);

/* Close and free the bases, the extra directories and the client roots. */
void ctxd_sk_dirs_free(struct ctxd_skills *sk);

/* Make the client-root bases match the list ctxd_sk_set_roots left. Caller holds
 * scan_lock. */
void ctxd_sk_dirs_apply_roots(struct ctxd_skills *sk);

/* Write the indexes of the bases to scan, in precedence order, without the client roots
 * that left, to `out` (room for sk->n_bases). Returns their count. */
size_t ctxd_sk_dirs_by_order(const struct ctxd_skills *sk, size_t *out);

/* Open `rel` ("" = the base itself) beneath base `b`; `name` (one component) of directory
 * `dfd`, which is at `dir_abs`. Both follow the base's symlink rule (struct base). Return
 * an fd or -1 with errno. */
int ctxd_sk_base_open(const struct ctxd_skills *sk, const struct base *b, const char *rel,
		      int flags);
int ctxd_sk_open_entry(const struct ctxd_skills *sk, const struct base *b, int dfd,
		       const char *dir_abs, const char *name, int flags);

/* The names in directory `dirfd` (not consumed), sorted, with their d_type in *types;
 * NULL on failure. Free with ctxd_sk_free_names. */
char **ctxd_sk_read_names(int dirfd, size_t *n, unsigned char **types);
void ctxd_sk_free_names(char **v, size_t n, unsigned char *t);

/* .git and node_modules are never searched. */
bool ctxd_sk_skipped_dir(const char *name);

/* The SKILL.md among a folder's `names`: "SKILL.md", else a lowercase "skill.md", else
 * NULL. */
const char *ctxd_sk_md_name(char **names, size_t n);

/* ---- sk_scan.c: discovery ---- */

/* Scan every base into a new snapshot (re-parsing only the SKILL.md files whose identity
 * changed since sk->docs), and replace sk->docs and sk->want. Caller holds scan_lock. NULL
 * on ENOMEM. */
struct ctxd_skills_snapshot *ctxd_sk_scan(struct ctxd_skills *sk);

/* Free a list of watch wishes. */
void ctxd_sk_want_free(struct watch_want *w, size_t n);

/* Free the parsed SKILL.md references of a scan. */
void ctxd_sk_docs_free(struct docref *d, size_t n);

/* ---- sk_catalog.c: snapshots ---- */

/* Free a snapshot whatever its reference count (a scan that failed half-way). */
void ctxd_sk_snapshot_free(struct ctxd_skills_snapshot *s);

/* Free what a skill of a snapshot owns (not `k` itself). */
void ctxd_sk_skill_release(struct ctxd_skill *k);

/* Swap in `snap` (the reference passes to sk); true when the catalogue differs from the
 * previous one. */
bool ctxd_sk_publish(struct ctxd_skills *sk, struct ctxd_skills_snapshot *snap);

#endif
