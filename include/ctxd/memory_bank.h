/* memory_bank.h - a project's markdown memory bank: layout, section parsing, locked atomic
 * writes with history, validation and ranked search; the memory_bank_* tools and the
 * memory-bank:// resources (src/memory_bank.c, src/tools/memory_bank.c).
 *
 * Layout: the bank is a directory inside an allowed root: memory_bank.path when configured,
 * else the first of memory-bank/, .cursor/memory-bank/, .cortex/memory-bank/ that exists in
 * the first root, else memory-bank/ (created by memory_bank_init). With
 * memory_bank.multi_project every project is a subdirectory of that directory; otherwise
 * there is one project, named "default" (resource URIs memory-bank://default/<file>).
 * Bank files have safe names ([A-Za-z0-9._-]+ ending in ".md", no leading dot). Every
 * write takes an exclusive flock on <bank>/.history/.lock, re-checks the caller's expected
 * sha256 under the lock, replaces the file atomically (ctxd_atomic_write) and records the
 * new content as a version under <bank>/.history/<file>/<n>.md (the last
 * memory_bank.history kept; n counts from 1 and is never reused). <bank>/.history/.gitignore
 * ("*", written when missing) keeps the lock and history out of git. A bank whose lock is
 * still <bank>/.lock (older ctxd) is migrated on its next write. Every bank file is opened
 * O_NONBLOCK and must be a regular file. All access goes through the sandbox.
 */
#ifndef CTXD_MEMORY_BANK_H
#define CTXD_MEMORY_BANK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctxd/config.h"
#include "ctxd/error.h"
#include "ctxd/provider.h"
#include "ctxd/sandbox.h"
#include "ctxd/tool.h"

/* The project name used when memory_bank.multi_project is off. */
#define CTXD_MEMORY_BANK_DEFAULT_PROJECT "default"

/* One heading of a markdown document and the section it opens. Offsets are bytes into the
 * parsed buffer; lines are 1-based. */
struct ctxd_md_section {
	int level;           /* 1..6 (setext: '=' underline 1, '-' underline 2) */
	bool setext;         /* underlined heading rather than '#' marks */
	size_t line;         /* line of the heading (setext: its text line) */
	size_t start;        /* first byte of the heading */
	size_t body;         /* first byte after the heading's line(s) (after its newline) */
	size_t end;          /* end of the section: the start of the next heading of the same
			      * or a higher level (lower number), or the buffer's length */
	size_t own_end;      /* end of the text before the next heading of any level */
	size_t title;        /* the heading text, trimmed, '#' marks and closing sequence */
	size_t title_len;    /* removed: buf[title .. title+title_len) */
};

/* Find the headings of markdown text `buf` (`len` bytes, need not be NUL-terminated; NULL
 * with len 0 is empty). ATX ("## Title", up to 3 spaces indent, optional closing #s) and
 * setext (a paragraph line underlined with = or -) headings count; lines inside fenced code
 * blocks (``` or ~~~, closed by a fence of the same character at least as long) and a
 * leading YAML front matter block (--- ... --- or ...) do not. Line ends are "\n", "\r\n"
 * or a lone "\r" (CommonMark); a title never holds one: a setext heading whose text spans
 * several lines is titled by its first line. On success *out is a new array (free()
 * it; NULL when *n is 0) of *n sections in document order. Returns 0, or -1 with errno
 * ENOMEM. Pure and thread-safe: safe on any bytes (fuzzed). */
int ctxd_md_sections(const char *buf, size_t len, struct ctxd_md_section **out, size_t *n);

struct ctxd_memory_bank;

/* Create the memory bank family state from `cfg` (the memory_bank.* keys; both borrowed,
 * must outlive the bank) and `sb` (sealed). Nothing is touched on disk: the bank directory
 * is found (or created by memory_bank_init) when a tool runs. Returns NULL with err set
 * on ENOMEM. Loop thread, at start-up. */
struct ctxd_memory_bank *ctxd_memory_bank_create(const struct ctxd_config *cfg,
						 const struct ctxd_sandbox *sb,
						 struct ctxd_error *err);

/* Free the state, its search indexes included. NULL-safe. After every tool call and
 * provider callback using it has returned. */
void ctxd_memory_bank_destroy(struct ctxd_memory_bank *mb);

/* The memory_bank_* tools (static, borrowed). Register them with
 * ctxd_registry_add(reg, ctxd_memory_bank_tools, ctxd_memory_bank_tools_count, cfg, mb,
 * err): every handler expects ctx->ud to be the struct ctxd_memory_bank. */
extern const struct ctxd_tool ctxd_memory_bank_tools[];
extern const size_t ctxd_memory_bank_tools_count;

/* The "memory-bank" resource provider (list, read, templates, watch_path, complete) over
 * URIs memory-bank://<project>/<file>; owned by `mb` (ud = mb), valid until
 * ctxd_memory_bank_destroy. Thread-safe callbacks. */
const struct ctxd_resource_provider *ctxd_memory_bank_resources(struct ctxd_memory_bank *mb);

/* ---- used by src/tools/memory_bank.c (and tests); not for other modules ------------- */

/* True when `name` is a safe bank file name: [A-Za-z0-9._-]+ ending in ".md", no leading
 * dot, at most 200 bytes. */
bool ctxd_memory_bank_file_ok(const char *name);

/* True when `name` is a safe project name: [A-Za-z0-9._-]+, no leading dot, <= 100 bytes. */
bool ctxd_memory_bank_project_ok(const char *name);

/* An open bank directory. */
struct ctxd_mb_dir {
	int fd;                       /* O_RDONLY|O_DIRECTORY, the caller closes it */
	bool read_only;               /* its root is read-only */
	char project[128];            /* the project name ("default" in single mode) */
	char abs[CTXD_PATH_MAX];      /* absolute path, for messages and watches */
	int root_fd;                  /* the root the bank lives in (O_PATH, borrowed from the
				       * sandbox: valid while the sandbox given to open is) */
	char rel[CTXD_PATH_MAX];      /* the bank's path relative to that root ("." = the root) */
};

/* Open the bank of `project` (NULL = the default project; in multi-project mode a project
 * is required) through `sb`, the sandbox of the current call (ctx->sandbox: the client's
 * roots may have narrowed the configured ones; NULL = the sandbox given at create). With
 * `create`, missing directories are created (refused on read-only roots with EROFS).
 * Returns 0, or -1 with err set (a message naming the argument or the path; sys_errno
 * ENOENT when the bank does not exist yet). Thread-safe. */
int ctxd_memory_bank_open(struct ctxd_memory_bank *mb, const struct ctxd_sandbox *sb,
			  const char *project, bool create, struct ctxd_mb_dir *dir,
			  struct ctxd_error *err);

/* Names of the projects (multi mode: subdirectories of the bank root with safe names;
 * single mode: ["default"]), looked up through `sb` (as for ctxd_memory_bank_open).
 * Returns a new array of strings, or NULL with err set. */
json_t *ctxd_memory_bank_projects(struct ctxd_memory_bank *mb, const struct ctxd_sandbox *sb,
				  struct ctxd_error *err);

/* The bank's *.md files with safe names, sorted (a new array of strings), or NULL with err
 * set. */
json_t *ctxd_memory_bank_files(int dirfd, struct ctxd_error *err);

/* Read bank file `name` in `dirfd` (at most 16 MiB). Only a regular file is read, and never
 * by following a symlink: the name is checked before it is opened (O_NONBLOCK) and again
 * after, so a FIFO, socket or device can neither stall the call nor be opened. Returns 0
 * with *out (malloc'd, NUL-terminated, caller frees) and *len; -1 with errno (ENOENT,
 * EFBIG, EISDIR, ELOOP for a symlink, EINVAL for a FIFO, socket or device, EMLINK for a
 * file with several links under sandbox.hardlinks: refuse, ...). Any thread. */
int ctxd_memory_bank_read_file(int dirfd, const char *name, char **out, size_t *len);

/* A sentence saying why ctxd_memory_bank_read_file failed on `name` in `dirfd` with errno
 * `e` ("'x.md' is a FIFO (named pipe), not a regular file; ..."), written to `buf` (`n`
 * bytes, truncated to fit) and returned. Any thread. */
const char *ctxd_memory_bank_read_error(int dirfd, const char *name, int e, char *buf, size_t n);

/* The six core files in their standard order, and the "##" sections their templates
 * define (NULL-terminated lists). */
#define CTXD_MB_CORE_COUNT 6
extern const char *const ctxd_memory_bank_core[CTXD_MB_CORE_COUNT];
const char *const *ctxd_memory_bank_core_sections(const char *file);
/* The template text of core file `file`, or NULL when it is not a core file. */
const char *ctxd_memory_bank_template(const char *file);

/* A change computed under the lock: given the current content (`cur`, `len`; cur NULL
 * when the file does not exist), produce the new content in *out (malloc'd; the
 * transaction frees it) or return -1 with err set (nothing is written). */
typedef int (*ctxd_mb_edit_fn)(void *arg, const char *cur, size_t len, char **out,
			       size_t *out_len, struct ctxd_error *err);

/* Error codes set in err->code by ctxd_memory_bank_edit. */
enum {
	CTXD_MB_PRECONDITION = 1, /* expected sha256 did not match; `cur_sha` holds the
				   * current one ("" when the file does not exist) */
};

/* What a successful edit did. */
struct ctxd_mb_result {
	char sha256[65];      /* of the new content */
	char old_sha256[65];  /* of the previous content, "" when the file was created */
	size_t size;
	long version;         /* history version recorded (0 when history is disabled) */
	bool unchanged;       /* the new content equals the old: nothing written */
};

/* The write transaction: flock(<bank>/.history/.lock, LOCK_EX); read `file`; when `expected` is
 * non-NULL compare it with the current sha256 (missing file: only "" matches) and fail
 * with code CTXD_MB_PRECONDITION and `cur_sha` (65 bytes, may be NULL) filled; run `fn`;
 * atomically replace the file; record history (a changed on-disk version not yet in the
 * history is recorded first, so external edits are kept too); unlock. Refused on a
 * read-only root. Returns 0 with `res` filled, or -1 with err set. Worker thread;
 * serialises with every other writer of the bank, in any process. */
int ctxd_memory_bank_edit(struct ctxd_memory_bank *mb, const struct ctxd_mb_dir *dir,
			  const char *file, const char *expected, ctxd_mb_edit_fn fn, void *arg,
			  struct ctxd_mb_result *res, char *cur_sha, struct ctxd_error *err);

/* History of `file`: a new array [{version, time (ISO-8601 UTC), size, sha256, added,
 * removed}] oldest first (added/removed: lines versus the previous kept version). NULL
 * with err set on failure; an empty array when there is none. */
json_t *ctxd_memory_bank_history(const struct ctxd_mb_dir *dir, const char *file,
				 struct ctxd_error *err);

/* Read version `version` of `file` from the history. Returns 0 with *out and *len (malloc'd)
 * or -1 with err set (sys_errno ENOENT for an unknown version). */
int ctxd_memory_bank_version(const struct ctxd_mb_dir *dir, const char *file, long version,
			     char **out, size_t *len, struct ctxd_error *err);

/* Validate the bank: a new array of findings {severity: error|warning|info, code, file,
 * line (0 = the file as a whole), message, hint}, or NULL with err set. The sections a file
 * must hold are memory_bank.sections' list for it, else a core file's template sections; a
 * section is present when a heading other than the title, or a line that is all bold,
 * begins with its words or those of a variant (built-in Cline/Cursor wording, plus
 * memory_bank.section_variants), compared after dropping leading emoji, numbering and
 * punctuation and folding case and accents. A file with two or more headings and none of
 * its expected sections gets one info finding "unrecognised_sections" instead of a
 * "missing_section" warning per section. A relative link is "broken_link" only when it
 * names nothing against the bank nor against the root the bank lives in (a leading run of
 * "../" dropped), and is not checked when it leaves that root. Worker thread. */
json_t *ctxd_memory_bank_validate(struct ctxd_memory_bank *mb, const struct ctxd_mb_dir *dir,
				  struct ctxd_error *err);

/* BM25 search over the bank's sections (words; a boost when the whole query appears as a
 * phrase). The index of each project is built on first use and refreshed for files whose
 * inode, size or mtime changed; a mutex serialises searches of one bank. Returns a new
 * array of at most `limit` hits {file, heading, line, score, snippet} best first (the
 * matched words in the snippet are wrapped in « and »), or NULL with err set. */
json_t *ctxd_memory_bank_search(struct ctxd_memory_bank *mb, const struct ctxd_mb_dir *dir,
				const char *query, size_t limit, struct ctxd_error *err);

/* A new JSON string from `len` bytes of disk text; invalid UTF-8 (and NUL) becomes U+FFFD.
 * NULL on ENOMEM. */
json_t *ctxd_memory_bank_json_text(const char *s, size_t len);

/* Fill the resource provider `p` for `mb` (src/tools/memory_bank.c; called by
 * ctxd_memory_bank_create). */
void ctxd_memory_bank_provider_init(struct ctxd_memory_bank *mb,
				    struct ctxd_resource_provider *p);

/* Settings in use (from the config, defaults applied). */
unsigned ctxd_memory_bank_history_max(const struct ctxd_memory_bank *mb);
bool ctxd_memory_bank_multi(const struct ctxd_memory_bank *mb);

#endif
