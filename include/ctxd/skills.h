/* skills.h - Agent Skills (SKILL.md folders): discovery, parsing and validation, the cached
 * catalogue with hot reload, and what the tools/prompts/resources/SEP-2640 layer uses.
 *
 * Discovery roots, highest precedence first: cfg->skills_dirs; for each sandbox root (or,
 * with none configured, each client root: ctxd_skills_set_roots) ROOT/.claude/skills and
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
 *
 * Validation is lenient, as the Agent Skills client guide says: a skill is skipped only
 * when its frontmatter cannot be read or its description is missing or empty; a name that
 * breaks the specification's rules (not matching the folder, too long, not lowercase)
 * loads with a warning; names may hold Unicode lowercase letters and digits (NFKC, as
 * skills-ref checks them).
 *
 * The catalogue is an immutable, refcounted snapshot: readers take a reference under a
 * short lock and never wait for a re-scan; a scan builds a new snapshot (re-parsing only the
 * SKILL.md files whose size/mtime/inode changed) and swaps it in.
 */
#ifndef CTXD_SKILLS_H
#define CTXD_SKILLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctxd/config.h"
#include "ctxd/error.h"
#include "ctxd/pool.h"
#include "ctxd/provider.h"
#include "ctxd/sandbox.h"
#include "ctxd/tool.h"
#include "ctxd/watch.h"

#define CTXD_SKILL_NAME_MAX 64     /* characters the specification allows (longer: a warning) */
#define CTXD_SKILL_NAME_BYTES 255  /* a served name is at most this long (else: the folder's) */
#define CTXD_SKILL_DESC_MAX 1024
#define CTXD_SKILL_COMPAT_MAX 500
#define CTXD_SKILL_MD_MAX ((size_t)1 << 20) /* a larger SKILL.md is refused */
#define CTXD_SKILL_FILES_MAX 512            /* bundled files listed per skill (SEP-2640) */

struct ctxd_skills;

/* One diagnostic: a skipped ("error"), degraded or shadowed ("warning") skill. */
struct ctxd_skill_diag {
	char *file;     /* absolute path of the SKILL.md (owned) */
	unsigned line;  /* 1-based, 0 when not tied to a position */
	unsigned col;   /* 1-based, 0 when not tied to a position */
	const char *rule;     /* static rule id, e.g. "name-format", "yaml-syntax" */
	bool error;           /* true: the skill is skipped; false: warning */
	char *message;  /* one sentence (owned) */
	char *other;    /* for "shadowed": the winning SKILL.md path (owned), else NULL */
};

/* The parsed SKILL.md: immutable once built, shared between snapshots (refcounted). */
struct ctxd_skill_doc {
	unsigned refs;          /* atomic (see skills.c) */
	bool valid;             /* no error diagnostic: usable */
	char *name;             /* frontmatter name (owned; NULL when missing) */
	char *description;      /* owned; NULL when missing */
	json_t *frontmatter;    /* the frontmatter as a JSON object (owned reference) */
	char *body;             /* markdown after the frontmatter and the blank lines that
				 * separate them (owned, NUL-terminated) */
	size_t body_len;
	char **arg_names;       /* names of the frontmatter `arguments:` list, in order: `$name`
				 * is argument word i (owned; NULL when none) */
	size_t n_arg_names;
	char **hint_names;      /* the words of `argument-hint` ("[file] [mode]" -> file, mode),
				 * used to declare prompt arguments when there is no `arguments:`
				 * (owned; NULL when none or when the hint is not a list of words) */
	size_t n_hint_names;
	size_t md_size;         /* bytes of the whole SKILL.md */
	struct ctxd_skill_diag *diags;
	size_t n_diags;
	/* identity of the file it came from, to skip re-parsing an unchanged file */
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
};

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
	bool files_truncated;       /* more than CTXD_SKILL_FILES_MAX */
	bool lower_md;              /* the file is a lowercase skill.md (served as SKILL.md) */
};

/* An immutable catalogue. Take with ctxd_skills_snapshot, release with ..._snapshot_put. */
struct ctxd_skills_snapshot {
	unsigned refs;                /* atomic */
	struct ctxd_skill *skills;    /* valid skills sorted by name (names unique) */
	size_t n_skills;
	struct ctxd_skill_diag *diags; /* every diagnostic of the scan (owned copies) */
	size_t n_diags;
	size_t n_skipped;             /* skills skipped (SKILL.md files with an error), each
				       * counted once however many errors it has */
	size_t dirs_visited;
	bool dir_cap_hit;
	uint64_t signature;           /* changes when the catalogue the host sees changes */
	json_t *list_cache;           /* skill_list's unfiltered result, built once per snapshot
				       * (set with __atomic compare-exchange; freed with it) */
	char *catalogue_cache;        /* skill_activate's description, built once per snapshot
				       * (same rules as list_cache) */
};

/* Create the skills family. Resolves (realpath) and opens the configured and user-level
 * skill directories that lie outside every sandbox root right away, without parsing, so
 * ctxd_skills_extra_dirs works before Landlock is applied; discovery itself is lazy.
 * `cfg`, `sb` and `pool` are borrowed and must outlive the family (`pool` may be NULL:
 * then no hot reload). Returns NULL with err set (ENOMEM). Loop thread. */
struct ctxd_skills *ctxd_skills_create(const struct ctxd_config *cfg, const struct ctxd_sandbox *sb,
				       struct ctxd_pool *pool, struct ctxd_error *err);

/* Client-roots mode (no directory configured; MCP 2025-11-25 client/roots): discover
 * skills in ROOT/.claude/skills and ROOT/.agents/skills of each root of `roots` (borrowed
 * for the call; the client's order gives their precedence, between the configured skills
 * directories and the user-level ones), like configured directories. The catalogue follows
 * at once: readers (ctxd_skills_snapshot) rescan before they get a catalogue built for
 * earlier roots, a reload job runs, and a root's skills disappear with it. Each root's
 * directories are read through a sandbox of their own, confined to that root. A change is
 * announced (list_changed) like any other. At most 64 distinct roots per session are
 * followed. Does nothing when `sk` was created with a sandbox that has roots. Loop
 * thread. */
void ctxd_skills_set_roots(struct ctxd_skills *sk, const struct ctxd_sandbox *roots);

/* Set the pool used for reload jobs when it did not exist at create time (Landlock must be
 * applied before the pool starts, and create runs before Landlock). Loop thread, before
 * ctxd_skills_attach. */
void ctxd_skills_set_pool(struct ctxd_skills *sk, struct ctxd_pool *pool);

/* Start hot reload: submits a discovery job at once, then watches every skill directory
 * with `w` (may be NULL: no watching) and, when the catalogue changes, calls
 * ctxd_notify_list_changed on `n` (may be NULL) for tools, prompts and resources - only for
 * a change the client could have noticed: the catalogue replaced was handed to a reader
 * (the first scan, and catalogues nobody read, are not announced). Call once, on the loop
 * thread, after the loop and pool exist. */
void ctxd_skills_attach(struct ctxd_skills *sk, struct ctxd_watch *w, struct ctxd_notifier *n);

/* Stop hot reload: removes every watch registration and submits no more jobs. Call on the
 * loop thread before ctxd_watch_destroy. NULL-safe; idempotent. */
void ctxd_skills_detach(struct ctxd_skills *sk);

/* Free everything. Call after ctxd_skills_detach and after the pool is destroyed (so no
 * discovery job is in flight). NULL-safe. */
void ctxd_skills_destroy(struct ctxd_skills *sk);

/* The extra directories (canonical absolute paths, borrowed until destroy) outside every
 * root that skills are read from: to allow read-only in Landlock. Writes up to `max` to
 * `out`; returns the total count. Valid right after create. Any thread. */
size_t ctxd_skills_extra_dirs(struct ctxd_skills *sk, const char **out, size_t max);

/* The current catalogue (discovering it first, on the calling worker, when there is none
 * yet; concurrent first callers wait for that one scan). Returns a new reference (release
 * with ctxd_skills_snapshot_put), or NULL on ENOMEM. Worker thread. */
struct ctxd_skills_snapshot *ctxd_skills_snapshot(struct ctxd_skills *sk);

/* The current catalogue if one exists, else NULL; never scans. New reference. Any thread. */
struct ctxd_skills_snapshot *ctxd_skills_snapshot_peek(struct ctxd_skills *sk);

/* Release a snapshot reference. NULL-safe. Any thread. */
void ctxd_skills_snapshot_put(struct ctxd_skills_snapshot *snap);

/* Re-scan now, on the calling thread (tests, the reload job). Returns true when the
 * catalogue signature changed. Worker thread. */
bool ctxd_skills_rescan(struct ctxd_skills *sk);

/* The configuration given to create (borrowed; may be NULL). */
const struct ctxd_config *ctxd_skills_config(const struct ctxd_skills *sk);

/* Find a skill by name in `snap` (binary search), or NULL. */
const struct ctxd_skill *ctxd_skills_find(const struct ctxd_skills_snapshot *snap,
					  const char *name);

/* Open a file of `skill`: `rel` is relative to the skill folder ("SKILL.md" is the skill's
 * SKILL.md or skill.md, opened under the same symlink rules as during discovery;
 * "references/x.md" ...). Bundled files are confined to the skill folder (no "..", no
 * absolute path, no symlink leaving it). O_NONBLOCK is added to `flags`, so a FIFO never
 * blocks; the caller checks the file type. Returns an fd (caller closes) or -1 with errno
 * set (EACCES for a path that leaves the folder, ENOENT ...). Worker thread. */
int ctxd_skills_open_file(struct ctxd_skills *sk, const struct ctxd_skill *skill,
			  const char *rel, int flags);

/* Parse one SKILL.md from memory. `folder` is the skill folder's name (for the name rule),
 * `file` the path used in diagnostics. Always returns a doc (valid or not, with its
 * diagnostics), or NULL on ENOMEM. Release with ctxd_skill_doc_put. Pure; thread-safe. */
struct ctxd_skill_doc *ctxd_skill_parse(const char *buf, size_t len, const char *folder,
					const char *file);

/* Release a doc reference. NULL-safe. */
void ctxd_skill_doc_put(struct ctxd_skill_doc *doc);

/* Argument substitution (conventions.md "Skills"), of `body` with the argument string
 * `args` (NULL or blank: no arguments) and the names of the frontmatter `arguments:` list
 * (`names`, `n_names`; may be NULL/0):
 * - no arguments: the body as written, except that $ARGUMENTS and $ARGUMENTS[N] become empty;
 * - arguments: $ARGUMENTS is `args`, $ARGUMENTS[N] word N (zero-based, shell-style split:
 *   quotes group words and are removed; past the last word: empty), $name the word at the
 *   name's position; the shorthand $N is word N only when that word was given, the next
 *   character is not a digit, '.' or ',', the previous one not a letter, digit or '$', and
 *   it is not inside a fenced code block or an inline code span;
 * - `\$` directly before a placeholder that would be replaced keeps it literal (the
 *   backslash is removed); `$$` is never collapsed; anything else stays as written;
 * - with arguments and no placeholder replaced, "\n\nARGUMENTS: <args>" is appended.
 * The output is never built past `cap` bytes: beyond it the function stops and returns
 * -E2BIG (so a body of 100,000 `$0` and a 10 KB argument costs at most `cap` bytes).
 * Returns 0 with *out set to a malloc'd NUL-terminated string (caller frees) and *out_len
 * its length (may be NULL), -E2BIG, or -ENOMEM. Pure; thread-safe. */
int ctxd_skills_substitute(const char *body, const char *args, char *const *names,
			   size_t n_names, size_t cap, char **out, size_t *out_len);

/* Why an open or read failed, as a phrase for a message ("it does not exist", ...), never
 * the raw strerror text. `buf` (at least 64 bytes) holds the text for unusual errnos.
 * Returns `buf` or a static string. Any thread. */
const char *ctxd_skills_why(int err, char *buf, size_t n);

/* ---- the MCP surface (src/tools/skills.c) ---- */

/* skill_list, skill_activate, skill_read_file, skill_diagnostics: register with
 * ud = the struct ctxd_skills *. */
extern const struct ctxd_tool ctxd_skills_tools[];
extern const size_t ctxd_skills_tools_count;

/* The `skill` resource provider and the prompt provider (one prompt per valid skill).
 * Borrowed, valid until destroy; their ud is `sk`. */
const struct ctxd_resource_provider *ctxd_skills_resources(struct ctxd_skills *sk);
const struct ctxd_prompt_provider *ctxd_skills_prompts(struct ctxd_skills *sk);

/* Module-internal: the provider tables of src/tools/skills.c (ud NULL); the two functions
 * above return copies bound to `sk`. */
extern const struct ctxd_resource_provider ctxd_skills_resource_table;
extern const struct ctxd_prompt_provider ctxd_skills_prompt_table;

/* SEP-2640 methods "skills/list" ({cursor?} -> {skills, nextCursor?}) and "skills/get"
 * ({uri} -> {skill}). `params` is borrowed (may be NULL). Returns a new result object
 * (without the era-specific resultType/ttlMs/cacheScope, which the engine adds), or NULL
 * with err->code set to a JSON-RPC code: -32602 for bad params, an invalid cursor or an
 * unknown skill URI, -32601 for another method, -32603 otherwise. Worker thread. */
json_t *ctxd_skills_method(struct ctxd_skills *sk, const struct ctxd_provider_ctx *ctx,
			   const char *method, json_t *params, struct ctxd_error *err);

/* The capability value to advertise under capabilities.extensions
 * ["io.modelcontextprotocol/skills"] (a new object: {} - no directoryRead). */
json_t *ctxd_skills_capability(void);

#endif
