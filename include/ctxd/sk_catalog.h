/* sk_catalog.h - the skills catalogue: an immutable, refcounted snapshot of the discovered
 * skills and the diagnostics of the scan that built it. Readers take a reference under a
 * short lock and never wait for a re-scan; a scan builds a new snapshot (re-parsing only
 * the SKILL.md files whose size/mtime/inode changed) and swaps it in.
 *
 * A snapshot also holds a few memo slots: values an upper layer derives from it (a tool's
 * unfiltered answer, a description), built at most once per snapshot and freed with it.
 * The store never looks inside them.
 */
#ifndef CTXD_SK_CATALOG_H
#define CTXD_SK_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctxd/skill_md.h"

struct ctxd_skills;

/* A discovered, valid skill in a snapshot. */
struct ctxd_skill {
	struct ctxd_skill_doc *doc; /* a reference */
	const char *name;           /* == doc->name */
	char *dir;                  /* absolute path of the skill folder (owned) */
	char *skill_md;             /* absolute path of its SKILL.md (owned) */
	size_t base;                /* index of the discovery base it was found under */
	char *rel;                  /* folder path relative to that base (owned) */
	char **files;               /* bundled files relative to the folder, in walk order
				     * (names sorted per directory), SKILL.md excluded (owned) */
	uint64_t *sizes;            /* their sizes */
	size_t n_files;
	bool files_truncated; /* more than CTXD_SKILL_FILES_MAX */
	bool lower_md;        /* the file is a lowercase skill.md (served as SKILL.md) */
};

#define CTXD_SK_MEMO_SLOTS 4

/* An immutable catalogue. Take with ctxd_sk_snapshot, release with ctxd_sk_snapshot_put. */
struct ctxd_skills_snapshot {
	unsigned refs;             /* atomic */
	struct ctxd_skill *skills; /* valid skills sorted by name (names unique) */
	size_t n_skills;
	struct ctxd_skill_diag *diags; /* every diagnostic of the scan (owned copies) */
	size_t n_diags;
	size_t n_skipped; /* skills skipped (SKILL.md files with an error), each
			   * counted once however many errors it has */
	size_t dirs_visited;
	bool dir_cap_hit;
	uint64_t signature;             /* changes when the catalogue the host sees changes */
	void *memo[CTXD_SK_MEMO_SLOTS]; /* ctxd_sk_memo (__atomic) */
	void (*memo_free[CTXD_SK_MEMO_SLOTS])(void *);
};

/* The current catalogue (discovering it first, on the calling worker, when there is none
 * yet; concurrent first callers wait for that one scan). Returns a new reference (release
 * with ctxd_sk_snapshot_put), or NULL on ENOMEM. Worker thread. */
struct ctxd_skills_snapshot *ctxd_sk_snapshot(struct ctxd_skills *sk);

/* The current catalogue if one exists, else NULL; never scans. New reference. Any thread. */
struct ctxd_skills_snapshot *ctxd_sk_snapshot_peek(struct ctxd_skills *sk);

/* Release a snapshot reference. NULL-safe. Any thread. */
void ctxd_sk_snapshot_put(struct ctxd_skills_snapshot *snap);

/* Re-scan now, on the calling thread (tests, the reload job). Returns true when the
 * catalogue signature changed. Worker thread. */
bool ctxd_sk_rescan(struct ctxd_skills *sk);

/* Find a skill by name in `snap` (binary search), or NULL. Any thread. */
const struct ctxd_skill *ctxd_sk_find(const struct ctxd_skills_snapshot *snap, const char *name);

/* Memo slot `slot` (< CTXD_SK_MEMO_SLOTS; the caller's layer assigns them) of `snap`:
 * with `value` NULL, returns what the slot holds (NULL: nothing yet). With `value` set,
 * stores it unless the slot holds something already: returns the value that stays in the
 * slot, and frees `value` with `free_fn` when another thread's value won. A stored value
 * is freed with `free_fn` (may be NULL) when the snapshot goes. Any thread. */
void *ctxd_sk_memo(struct ctxd_skills_snapshot *snap, unsigned slot, void *value,
		   void (*free_fn)(void *));

#endif
