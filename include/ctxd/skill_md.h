/* skill_md.h - one SKILL.md, parsed (Agent Skills specification: YAML frontmatter, then a
 * markdown body): its frontmatter as JSON, name, description, `arguments:` and
 * `argument-hint` names, body, and the diagnostics of the checks. Pure: no file system, no
 * protocol; fuzzed by tests/fuzz/fuzz_skill.c.
 *
 * Validation is lenient, as the Agent Skills client guide says: a skill is skipped only
 * when its frontmatter cannot be read or its description is missing or empty; a name that
 * breaks the specification's rules (not matching the folder, too long, not lowercase)
 * loads with a warning; names may hold Unicode lowercase letters and digits (NFKC, as
 * skills-ref checks them).
 */
#ifndef CTXD_SKILL_MD_H
#define CTXD_SKILL_MD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CTXD_SKILL_NAME_MAX   64  /* characters the specification allows (longer: a warning) */
#define CTXD_SKILL_NAME_BYTES 255 /* a served name is at most this long (else: the folder's) */
#define CTXD_SKILL_DESC_MAX   1024
#define CTXD_SKILL_COMPAT_MAX 500
#define CTXD_SKILL_MD_MAX     ((size_t)1 << 20) /* a larger SKILL.md is refused */
#define CTXD_SKILL_FILES_MAX  512               /* bundled files listed per skill (SEP-2640) */

/* One diagnostic: a skipped ("error"), degraded or shadowed ("warning") skill. */
struct ctxd_skill_diag {
	char *file;       /* absolute path of the SKILL.md (owned) */
	unsigned line;    /* 1-based, 0 when not tied to a position */
	unsigned col;     /* 1-based, 0 when not tied to a position */
	const char *rule; /* static rule id, e.g. "name-format", "yaml-syntax" */
	bool error;       /* true: the skill is skipped; false: warning */
	char *message;    /* one sentence (owned) */
	char *other;      /* for "shadowed": the winning SKILL.md path (owned), else NULL */
};

/* A growing list of diagnostics (the parser's, and the discovery's in src/sk_scan.c). */
struct ctxd_skill_diags {
	struct ctxd_skill_diag *v;
	size_t n, cap;
	bool oom; /* an append failed (ENOMEM): the list is incomplete */
};

/* The parsed SKILL.md: immutable once built, shared between snapshots (refcounted). */
struct ctxd_skill_doc {
	unsigned refs;       /* atomic (ctxd_skill_md_get / ctxd_skill_md_put) */
	bool valid;          /* no error diagnostic: usable */
	char *name;          /* frontmatter name (owned; NULL when missing) */
	char *description;   /* owned; NULL when missing */
	json_t *frontmatter; /* the frontmatter as a JSON object (owned reference) */
	char *body;          /* markdown after the frontmatter and the blank lines that
			      * separate them (owned, NUL-terminated) */
	size_t body_len;
	char **arg_names; /* names of the frontmatter `arguments:` list, in order: `$name`
			   * is argument word i (owned; NULL when none) */
	size_t n_arg_names;
	char **hint_names; /* the words of `argument-hint` ("[file] [mode]" -> file, mode),
			    * used to declare prompt arguments when there is no `arguments:`
			    * (owned; NULL when none or when the hint is not a list of words) */
	size_t n_hint_names;
	size_t md_size; /* bytes of the whole SKILL.md */
	struct ctxd_skill_diag *diags;
	size_t n_diags;
	/* identity of the file it came from, to skip re-parsing an unchanged file (set by the
	 * discovery, not by the parser) */
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
};

/* Parse one SKILL.md from memory (`buf`, `len` bytes, need not be NUL-terminated).
 * `folder` is the skill folder's name (for the name rule; may be NULL or ""), `file` the
 * path used in diagnostics. Always returns a doc (valid or not, with its diagnostics), or
 * NULL on ENOMEM. Release with ctxd_skill_md_put. Pure; thread-safe. */
struct ctxd_skill_doc *ctxd_skill_md_parse(const char *buf, size_t len, const char *folder,
					   const char *file);

/* Take one more reference to `doc`; returns `doc`. Any thread. */
struct ctxd_skill_doc *ctxd_skill_md_get(struct ctxd_skill_doc *doc);

/* Release a doc reference (the last one frees it). NULL-safe. Any thread. */
void ctxd_skill_md_put(struct ctxd_skill_doc *doc);

/* Append a diagnostic to `ds`: `file` (copied; NULL: ""), `line`/`col` (0: no position),
 * `rule` (static), `error`, `other` (copied; may be NULL) and a printf-style message (cut
 * at 767 bytes). On ENOMEM nothing is appended and ds->oom is set. Thread: the owner of
 * `ds`. */
void ctxd_skill_md_diag_add(struct ctxd_skill_diags *ds, const char *file, unsigned line,
			    unsigned col, const char *rule, bool error, const char *other,
			    const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* Append a copy of `d` to `ds`. Returns 0, or -1 (ENOMEM; ds->oom set). */
int ctxd_skill_md_diag_copy(struct ctxd_skill_diags *ds, const struct ctxd_skill_diag *d);

/* Free the strings of one diagnostic (not `d` itself). */
void ctxd_skill_md_diag_free(struct ctxd_skill_diag *d);

#endif
