/* config.h - the server's settings: YAML file (libyaml) merged with CLI flags.
 *
 * Precedence: built-in defaults < config file (--config FILE, else $CTXD_CONFIG) < CLI flags.
 * The loader is pure (a buffer in, a struct out) so tests and fuzzers can drive it.
 * config/ctxd.example.yaml documents every key with its default.
 */
#ifndef CTXD_CONFIG_H
#define CTXD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "ctxd/error.h"
#include "ctxd/log.h"

struct ctxd_config_root {
	char *path;     /* as written (owned); made absolute later by the sandbox */
	bool read_only; /* mode: ro */
};

/* One entry of memory_bank.sections (key: a bank file; names: the sections it must hold)
 * or of memory_bank.section_variants (key: a section; names: other headings that count as
 * it). */
struct ctxd_config_names {
	char *key;    /* owned */
	char **names; /* owned array of owned strings */
	size_t n;
};

/* Tool families (tools.toolsets). A family that is off registers no tools, resources,
 * prompts or completions and does no start-up work. */
enum {
	CTXD_TOOLSET_FILES = 1 << 0,  /* "files": the file tools and file:// resources */
	CTXD_TOOLSET_SKILLS = 1 << 1, /* "skills": skill tools, prompts, skill:// resources */
	CTXD_TOOLSET_MEMORY = 1 << 2, /* "memory": memory bank tools and memory-bank:// */
	CTXD_TOOLSET_ALL = CTXD_TOOLSET_FILES | CTXD_TOOLSET_SKILLS | CTXD_TOOLSET_MEMORY,
};

/* The Streamable HTTP transport (section `http`; used only with --http or http.listen). */
struct ctxd_config_http {
	char **listen; /* http.listen: "HOST:PORT" or "[V6]:PORT" to bind, repeatable (owned);
			* none = stdio */
	size_t n_listen;
	char *path;             /* http.path: the MCP endpoint, default "/mcp" (owned) */
	char **allowed_origins; /* http.allowed_origins: Origin values accepted besides the
				 * loopback ones of a loopback bind (owned) */
	size_t n_allowed_origins;
	char **allowed_hosts; /* http.allowed_hosts: Host values accepted besides the bound
			       * names (owned), e.g. the name a proxy forwards */
	size_t n_allowed_hosts;
	char *tokens_file;           /* http.tokens_file: bearer tokens, NULL = none (owned) */
	char *tls_cert, *tls_key;    /* http.tls_cert, http.tls_key: PEM files (owned) */
	unsigned max_connections;    /* http.max_connections, default 1024 */
	unsigned max_sessions;       /* http.max_sessions: 2025-11-25 sessions (and, apart,
				      * per-token stateless engines), default 10000 */
	size_t max_body_bytes;       /* http.max_body_bytes: larger POSTs get 413, default 4 MiB */
	size_t max_queued_bytes;     /* http.max_queued_bytes: output one connection may owe
				      * before it is dropped, default 8 MiB */
	unsigned idle_timeout_ms;    /* http.idle_timeout_ms: a connection idle this long is
				      * closed (whole seconds), default 30000 */
	unsigned session_timeout_ms; /* http.session_timeout_ms: a session unused this long
				      * ends, default 3600000 */
	unsigned keepalive_ms;       /* http.keepalive_ms: SSE comment interval, default 15000 */
	bool metrics;                /* http.metrics: serve GET /metrics, default false */
	char *session_prefix; /* http.session_prefix: "PREFIX-" starts every Mcp-Session-Id, so
			       * a load balancer can pin a session to this instance (owned) */
	unsigned max_connections_per_ip; /* http.max_connections_per_ip: open connections from
					  * one client address, default 256 */
	size_t replay_buffer_bytes; /* http.replay_buffer_bytes: SSE events a 2025-11-25 session
				     * keeps for Last-Event-ID resumption, default 64 KiB; 0: no
				     * event ids, no resumption */
};

struct ctxd_config {
	struct ctxd_config_root *roots; /* owned array */
	size_t n_roots;
	unsigned threads;          /* 0 = online CPU count (at least 2) */
	size_t max_frame_bytes;    /* limits.frame_bytes, default 16 MiB */
	size_t max_read_bytes;     /* limits.read_bytes, default 256 KiB */
	size_t max_entries;        /* limits.entries, default 10000 */
	size_t write_queue_bytes;  /* limits.write_queue_bytes, default 8 MiB: budget of bytes owed
				    * to the host (queued + held for batches) */
	unsigned drain_ms;         /* limits.drain_ms: shutdown drain bound, default 5000 */
	unsigned page_size;        /* limits.page_size: list pagination, default 100 */
	unsigned roots_timeout_ms; /* limits.roots_timeout_ms: wait for roots/list, default 10000 */
	size_t max_media_bytes;    /* limits.media_bytes: inline media cap, default 1 MiB */
	unsigned poll_ms;          /* limits.poll_ms: how often the portable change watcher (no
				    * inotify) lists the watched directories, default 100 */
	unsigned call_ms;          /* limits.call_ms: a search (grep, search_files, directory_tree)
				    * answers with what it found after this long; 0 = no limit;
				    * default 60000 */
	enum ctxd_log_level log_level; /* log.level, default warning */
	bool landlock;                 /* sandbox.landlock, default true */
	bool read_only;                /* sandbox.read_only: every root read-only, default false */
	char **disabled_tools;         /* tools.disabled: names hidden from tools/list (owned) */
	size_t n_disabled_tools;
	unsigned toolsets;      /* tools.toolsets / --toolsets: CTXD_TOOLSET_* bits of the tool
				 * families offered, default CTXD_TOOLSET_ALL */
	char *memory_bank_path; /* memory_bank.path: bank directory (user path), NULL = auto-detect
				 * (owned) */
	bool memory_bank_multi_project; /* memory_bank.multi_project: one subdir per project */
	unsigned memory_bank_history; /* memory_bank.history: versions kept per file, default 20 */
	unsigned memory_bank_stale_days; /* memory_bank.stale_days: staleness age, default 7 */
	size_t memory_bank_token_budget; /* memory_bank.token_budget: approx tokens/file, 8000 */
	struct ctxd_config_names *memory_bank_sections; /* memory_bank.sections: per file, the
							 * sections validation expects, replacing
							 * the built-in list of that file (owned) */
	size_t n_memory_bank_sections;
	struct ctxd_config_names *memory_bank_variants; /* memory_bank.section_variants: per
							 * section, headings accepted besides the
							 * built-in variants (owned) */
	size_t n_memory_bank_variants;
	char **skills_dirs; /* skills.dirs: extra skill directories, highest precedence
			     * (owned; --skills-dir DIR appends) */
	size_t n_skills_dirs;
	bool skills_user_dirs;  /* skills.user_dirs: also ~/.claude/skills, ~/.agents/skills */
	size_t skills_max_dirs; /* skills.max_dirs: directories visited per scan, default 10000 */
	size_t skills_catalogue_bytes; /* skills.catalogue_bytes: bytes of the skill catalogue
					* embedded in skill_activate's description, default 8 KiB */
	char *source;                  /* file the settings came from, or NULL (owned) */
	unsigned max_subscriptions;    /* limits.subscriptions: subscriptions one session may hold
					* (resources/subscribe URIs, subscriptions/listen streams and
					* their URIs), default 10000 */
	size_t max_copy_bytes;         /* limits.copy_bytes: data copy_file (and move_file across
					* file systems, append_file's rewrite) may write, holes not
					* counted; default 1 GiB */
	bool hardlinks_refuse;         /* sandbox.hardlinks: refuse (true) regular files with more
					* than one link in every tool, or allow (false, default) */
	unsigned call_timeout_ms;      /* limits.call_timeout_ms: deadline on a tool call's work
					* (a per-request _meta "dev.ctxd/timeoutMs" overrides it);
					* past it the work stops and the call answers an isError
					* result; 0 = none (default) */
	unsigned tasks_after_ms;       /* tasks.after_ms: a task-eligible call still running after
					* this long becomes a task (MCP tasks); 0 = at once;
					* default 1000 */
	unsigned tasks_ttl_ms;         /* tasks.ttl_ms: how long a finished task's result is kept
					* after it finished, default 300000 */
	unsigned tasks_max;            /* tasks.max: tasks held at once (working or finished and
					* not yet expired); 0 = tasks off; default 100 */
	unsigned tasks_timeout_ms;     /* tasks.timeout_ms: deadline on a task's work, from the
					* call's start; 0 = none; default 1800000 */
	struct ctxd_config_http http;  /* http.*: the Streamable HTTP transport */

	unsigned spin_us; /* limits.spin_us: after input on stdio, how long the loop polls for
			   * the next request instead of sleeping, default 100; 0 = off */
};

/* Fill `cfg` with the built-in defaults (no roots). Never fails. Release with
 * ctxd_config_finish. */
void ctxd_config_init(struct ctxd_config *cfg);

/* Free everything `cfg` owns and zero it. NULL-safe. */
void ctxd_config_finish(struct ctxd_config *cfg);

/* Parse YAML from `buf` (`len` bytes, need not be NUL-terminated; NULL with len 0 is an
 * empty document) over the values already in `cfg` (so defaults, then file): a key present
 * in the buffer replaces the earlier value, lists (roots, tools.disabled) included, and
 * absent keys keep theirs. An empty stream or empty document changes nothing. `name` names
 * the source in messages (borrowed; NULL = "<config>").
 * Returns 0, or -1 with `err` (may be NULL) set, code 0, to "NAME:LINE:COLUMN: problem"
 * (1-based) for YAML syntax or encoding errors, unknown or duplicate keys, wrong types,
 * out-of-range values, aliases (refused: no expansion, so no "billion laughs") and more than
 * one document. On failure `cfg` keeps a valid state, possibly with the keys before the
 * error applied (a half-read list is never applied), that ctxd_config_finish can release.
 * Safe on any input bytes. Thread-safe (libyaml parser is per call). */
int ctxd_config_load_buffer(struct ctxd_config *cfg, const char *buf, size_t len, const char *name,
			    struct ctxd_error *err);

/* Read `path` (at most 1 MiB, else EFBIG) and call ctxd_config_load_buffer on it with
 * `path` as the name; once the file is read, records a copy of `path` in cfg->source.
 * Returns 0, or -1 with `err` set (I/O errors: "PATH: strerror", err->sys_errno set). */
int ctxd_config_load_file(struct ctxd_config *cfg, const char *path, struct ctxd_error *err);

/* Append a root (path copied) after those already in `cfg`. Returns 0 or -1 with errno
 * ENOMEM, or EINVAL when `path` is NULL. */
int ctxd_config_add_root(struct ctxd_config *cfg, const char *path, bool read_only);

/* Parse a size: decimal digits, optional blanks, an optional suffix K, KiB, M, MiB, G or
 * GiB (case-insensitive; powers of 1024) into bytes. Returns 0, or -1 for junk, a sign,
 * or overflow of size_t (then *out is untouched). No range check: callers apply theirs. */
int ctxd_config_parse_size(const char *s, size_t *out);

/* Append a skills directory (path copied) to cfg->skills_dirs. Returns 0 or -1 with errno
 * ENOMEM, or EINVAL when `path` is NULL. */
/* Append `addr` ("HOST:PORT", "[V6]:PORT") to http.listen (copied). 0, or -1 (ENOMEM). */
int ctxd_config_add_listen(struct ctxd_config *cfg, const char *addr);

int ctxd_config_add_skills_dir(struct ctxd_config *cfg, const char *path);

/* Parse a comma-separated list of tool family names ("files", "skills", "memory"; blanks
 * around names allowed; repeats allowed), as --toolsets takes it, into CTXD_TOOLSET_* bits.
 * Returns 0, or -1 for an empty list, an empty item or an unknown name (then *out is
 * untouched). Any thread. */
int ctxd_config_parse_toolsets(const char *s, unsigned *out);

/* The CTXD_TOOLSET_* bit of family `name` ("files", "skills", "memory"; `len` bytes, need
 * not be NUL-terminated), or 0 when the name is unknown. Any thread. */
unsigned ctxd_config_toolset_bit(const char *name, size_t len);

/* True when `name` is listed in tools.disabled (exact, case-sensitive). NULL-safe. */
bool ctxd_config_tool_disabled(const struct ctxd_config *cfg, const char *name);

#endif
