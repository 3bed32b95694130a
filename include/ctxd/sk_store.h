/* sk_store.h - the Agent Skills store: the object that finds skills (SKILL.md folders) on
 * disk and keeps their catalogue current. It knows no protocol and no tools layer: the
 * upper layer reads the catalogue (sk_catalog.h), opens skill files (sk_dirs.h), and hears
 * about catalogue changes through the callback it registers with ctxd_sk_on_change.
 *
 * The store's files: sk_store.c (this object, hot reload: watches and the reload job),
 * sk_dirs.c (where skills are looked for, and the symlink rules), sk_scan.c (discovery),
 * sk_catalog.c (snapshots); the pure parts: skill_md.c (SKILL.md), skill_args.c
 * (argument substitution). docs/architecture.md has the map.
 *
 * Discovery roots, highest precedence first: cfg->skills_dirs; for each sandbox root (or,
 * with none configured, each client root: ctxd_sk_set_roots) ROOT/.claude/skills and
 * ROOT/.agents/skills; then ~/.claude/skills and ~/.agents/skills (unless
 * cfg->skills_user_dirs is false). A directory holding a SKILL.md (or a lowercase
 * skill.md) is a skill (its subdirectories are its bundled files); other directories are
 * searched for skills down to depth 5; .git and node_modules are skipped; at most
 * cfg->skills_max_dirs directories are visited per scan.
 *
 * Symlinks. The configured and user-level directories are trusted (the user chose them):
 * every symlink in them is followed wherever it points (the dotfiles setup, `npx skills`
 * linking ~/.claude/skills/x to ~/.agents/skills/x); they are opened once at create time
 * as O_PATH fds, and the targets of their symlinks are listed for Landlock. The
 * .claude/skills and .agents/skills of a root are not: there a symlink is followed only
 * when its target stays inside an allowed root (ctxd_sandbox_open). Either way a skill's
 * own files are read beneath the skill folder's descriptor: a symlink inside a skill
 * folder never leads out of it. Cycles are detected; dangling or refused links get a
 * diagnostic naming the target.
 *
 * Every open of skill content (SKILL.md, bundled files, directories) uses O_NONBLOCK and
 * refuses anything but a regular file or a directory, so a FIFO can never stall a scan.
 */
#ifndef CTXD_SK_STORE_H
#define CTXD_SK_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "ctxd/config.h"
#include "ctxd/error.h"
#include "ctxd/pool.h"
#include "ctxd/sandbox.h"
#include "ctxd/watch.h"

struct ctxd_skills;

/* Create the store. Resolves (realpath) and opens the configured and user-level skill
 * directories that lie outside every sandbox root right away, without parsing, so
 * ctxd_sk_extra_dirs works before Landlock is applied; discovery itself is lazy. `cfg`,
 * `sb` and `pool` are borrowed and must outlive the store (`pool` may be NULL: then no hot
 * reload). Returns NULL with err set (ENOMEM). Loop thread. */
struct ctxd_skills *ctxd_sk_create(const struct ctxd_config *cfg, const struct ctxd_sandbox *sb,
				   struct ctxd_pool *pool, struct ctxd_error *err);

/* Client-roots mode (no directory configured; MCP 2025-11-25 client/roots): discover
 * skills in ROOT/.claude/skills and ROOT/.agents/skills of each root of `roots` (borrowed
 * for the call; the client's order gives their precedence, between the configured skills
 * directories and the user-level ones), like configured directories. The catalogue follows
 * at once: readers (ctxd_sk_snapshot) rescan before they get a catalogue built for
 * earlier roots, a reload job runs, and a root's skills disappear with it. Each root's
 * directories are read through a sandbox of their own, confined to that root. A change is
 * reported (the change callback) like any other. At most 64 distinct roots per session are
 * followed. Does nothing when `sk` was created with a sandbox that has roots. Loop
 * thread. */
void ctxd_sk_set_roots(struct ctxd_skills *sk, const struct ctxd_sandbox *roots);

/* Set the pool used for reload jobs when it did not exist at create time (Landlock must be
 * applied before the pool starts, and create runs before Landlock). Loop thread, before
 * ctxd_sk_attach. */
void ctxd_sk_set_pool(struct ctxd_skills *sk, struct ctxd_pool *pool);

/* Register the change callback: `fn(ud)` is called on the loop thread when a reload
 * replaced a catalogue the upper layer could have noticed (one handed to a reader by
 * ctxd_sk_snapshot or ctxd_sk_snapshot_peek) by a different one; the first scan, and
 * catalogues nobody read, are not reported. The upper layer turns it into
 * notifications/{tools,prompts,resources}/list_changed. `fn` may be NULL (no callback).
 * Loop thread, before ctxd_sk_attach. */
void ctxd_sk_on_change(struct ctxd_skills *sk, void (*fn)(void *ud), void *ud);

/* Start hot reload: submits a discovery job at once, then watches every skill directory
 * with `w` (may be NULL: no watching) and reloads on a change. Call once, on the loop
 * thread, after the loop and pool exist. */
void ctxd_sk_attach(struct ctxd_skills *sk, struct ctxd_watch *w);

/* Stop hot reload: removes every watch registration and submits no more jobs. Call on the
 * loop thread before ctxd_watch_destroy. NULL-safe; idempotent. */
void ctxd_sk_detach(struct ctxd_skills *sk);

/* Free everything. Call after ctxd_sk_detach and after the pool is destroyed (so no
 * discovery job is in flight). NULL-safe. */
void ctxd_sk_destroy(struct ctxd_skills *sk);

/* The configuration given to create (borrowed; may be NULL). Any thread. */
const struct ctxd_config *ctxd_sk_config(const struct ctxd_skills *sk);

#endif
