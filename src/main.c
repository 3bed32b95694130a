/* main.c - command line, wiring and exit codes.
 *
 * Exit codes: 0 clean shutdown; 1 runtime failure (cannot start); 2 usage or
 * configuration error. */
#include <errno.h>
#include <getopt.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxd/config.h"
#include "ctxd/fs.h"
#include "ctxd/instructions.h"
#include "ctxd/log.h"
#include "ctxd/loop.h"
#include "ctxd/mcp.h"
#include "ctxd/memory_bank.h"
#include "ctxd/registry.h"
#include "ctxd/sandbox.h"
#include "ctxd/skills.h"
#include "ctxd/transport_http.h"
#include "ctxd_version.h"
#include "loop_status.h"

static const char usage[] =
    "Usage: ctxd [OPTIONS] [DIR...]\n"
    "\n"
    "An MCP server over stdio (newline-delimited JSON-RPC 2.0) that gives an AI agent\n"
    "sandboxed file tools inside the given directories, Agent Skills and a memory bank.\n"
    "Launch it from an MCP host.\n"
    "\n"
    "Each DIR becomes an allowed root (read-write unless --read-only or --ro).\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE      YAML config file (default: $CTXD_CONFIG, else none)\n"
    "      --ro DIR           add DIR as a read-only root (repeatable)\n"
    "  -r, --read-only        make every root read-only and hide writing tools\n"
    "  -t, --threads N        worker threads (default: online CPUs, at least 2)\n"
    "  -l, --log-level LEVEL  stderr log level: debug, info, notice, warning, error,\n"
    "                         critical, alert, emergency, off (default: warning)\n"
    "      --max-frame SIZE   largest accepted message (default 16MiB)\n"
    "      --max-read SIZE    byte cap of one read_text_file answer (default 256KiB)\n"
    "      --skills-dir DIR   also discover Agent Skills in DIR (repeatable; highest\n"
    "                         precedence)\n"
    "      --toolsets LIST    tool families to offer, comma-separated: files, skills,\n"
    "                         memory (default: all three)\n"
    "      --no-landlock      do not restrict the process with Landlock\n"
    "      --http ADDR        serve Streamable HTTP on ADDR (HOST:PORT or [IPV6]:PORT,\n"
    "                         repeatable) instead of stdio; replaces http.listen\n"
    "  -h, --help             show this help and exit\n"
    "  -V, --version          print the version and exit\n"
    "\n"
    "Exit status: 0 clean shutdown (stdin closed, SIGTERM or SIGINT); 1 start-up failure;\n"
    "2 bad command line or configuration.\n";

/* LeakSanitizer reads /proc/PID/task at exit; in sanitizer builds only, let it. */
#if defined(__SANITIZE_ADDRESS__)
#define CTXD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CTXD_SANITIZER 1
#endif
#endif

/* Directories outside the roots that Landlock must still let us read: skill directories
 * (and /proc in sanitizer builds). NULL-terminated. */
#define MAX_EXTRA_RO 256 /* skill directories and their symlink targets outside the roots */
static const char *extra_ro[MAX_EXTRA_RO + 1];

/* The directories of the HTTP transport's files (tokens, TLS): read when the server
 * starts, after Landlock. */
static char http_dirs[3][4096];

static void collect_extra_ro(struct ctxd_skills *skills, const struct ctxd_config *cfg)
{
	size_t n = 0;
#ifdef CTXD_SANITIZER
	extra_ro[n++] = "/proc";
#endif
	const char *files[3] = {cfg->http.tokens_file, cfg->http.tls_cert, cfg->http.tls_key};
	for (size_t i = 0; i < 3 && cfg->http.n_listen > 0; i++) {
		if (!files[i]) {
			continue;
		}
		const char *slash = strrchr(files[i], '/');
		if (!slash) {
			snprintf(http_dirs[i], sizeof(http_dirs[i]), ".");
		} else {
			snprintf(http_dirs[i], sizeof(http_dirs[i]), "%.*s",
				 (int)(slash == files[i] ? 1 : slash - files[i]), files[i]);
		}
		extra_ro[n++] = http_dirs[i];
	}
	const char *dirs[MAX_EXTRA_RO];
	size_t total = skills ? ctxd_sk_extra_dirs(skills, dirs, MAX_EXTRA_RO) : 0;
	for (size_t i = 0; i < total && i < MAX_EXTRA_RO && n < MAX_EXTRA_RO; i++) {
		extra_ro[n++] = dirs[i];
	}
	if (total > MAX_EXTRA_RO) {
		ctxd_warn("Landlock: only the first %d skill directories outside the roots are "
			  "readable",
			  MAX_EXTRA_RO);
	}
	extra_ro[n] = NULL;
}

/* The skills extension's methods (SEP-2640), served on a worker. */
static struct ctxd_method_provider skills_list_method = {"skills/list", NULL,
							 ctxd_skills_list_method};
static struct ctxd_method_provider skills_get_method = {"skills/get", NULL, ctxd_skills_get_method};

/* The skills family's resource and prompt providers: filled by the family, registered here. */
static struct ctxd_resource_provider skills_resources;
static struct ctxd_prompt_provider skills_prompts;

/* The skills store's change callback: a catalogue the clients could have seen changed. */
static void skills_changed(void *ud)
{
	ctxd_loop_list_changed(ud, CTXD_LIST_TOOLS);
	ctxd_loop_list_changed(ud, CTXD_LIST_PROMPTS);
	ctxd_loop_list_changed(ud, CTXD_LIST_RESOURCES);
}

/* With no directory configured the skills follow the client's roots (a no-op otherwise). */
static void skills_follow_roots(void *ud, const struct ctxd_sandbox *roots)
{
	ctxd_sk_set_roots(ud, roots);
}

/* The memory bank's resource provider: its table filled by the tool family, registered here. */
static struct ctxd_resource_provider mbank_resources;

/* What every engine is given (engine_setup): the families that are on, and the
 * instructions naming the tools each registry offers. */
struct families {
	const struct ctxd_config *cfg;
	struct ctxd_skills *skills;
	struct ctxd_mb *mbank;
	bool follow_roots;    /* stdio: the skills follow the one client's roots */
	char *text, *text_ro; /* instructions for the full and the read-only registry (owned) */
	bool failed;
};

/* Hand the enabled families' resources, prompts, methods and capabilities to engine `mcp`,
 * with instructions naming only its registry's tools. Loop thread, before its first frame. */
static void engine_setup(void *ud, struct ctxd_mcp *mcp, bool read_only)
{
	struct families *f = ud;
	const struct ctxd_config *cfg = f->cfg;
	const char *text = read_only && f->text_ro ? f->text_ro : f->text;
	if (ctxd_mcp_set_instructions(mcp, text) < 0 ||
	    ((cfg->toolsets & CTXD_TOOLSET_FILES) &&
	     ctxd_mcp_add_resource_provider(mcp, ctxd_fs_resources()) < 0)) {
		f->failed = true;
		return;
	}
	if (f->skills) {
		if (f->follow_roots) {
			ctxd_mcp_on_roots(mcp, skills_follow_roots, f->skills);
		}
		if (ctxd_mcp_add_resource_provider(mcp, &skills_resources) < 0 ||
		    ctxd_mcp_add_prompt_provider(mcp, &skills_prompts) < 0 ||
		    ctxd_mcp_add_method(mcp, &skills_list_method) < 0 ||
		    ctxd_mcp_add_method(mcp, &skills_get_method) < 0 ||
		    ctxd_mcp_set_capability(mcp, "extensions",
					    json_pack("{s:o}", "io.modelcontextprotocol/skills",
						      ctxd_skills_capability())) < 0) {
			f->failed = true;
			return;
		}
	}
	if (f->mbank && ctxd_mcp_add_resource_provider(mcp, &mbank_resources) < 0) {
		f->failed = true;
	}
}

static struct families families;

/* Wire the enabled families once (hot reload, the watcher, the providers' tables), then
 * hand them to every engine through engine_setup. `skills` and `mbank` are NULL when their
 * family is off (tools.toolsets); `reg_ro` is the read-only registry (HTTP) or NULL.
 * Loop thread, before the first frame. */
static int wire_families(struct ctxd_loop *loop, const struct ctxd_config *cfg,
			 const struct ctxd_registry *reg, const struct ctxd_registry *reg_ro,
			 struct ctxd_skills *skills, struct ctxd_mb *mbank,
			 struct ctxd_fs_family *files)
{
	families = (struct families){.cfg = cfg, .skills = skills, .mbank = mbank};
	families.follow_roots = !ctxd_loop_is_http(loop);
	families.text = ctxd_instructions_build(reg);
	if (!families.text && errno) {
		return -1;
	}
	if (reg_ro && !(families.text_ro = ctxd_instructions_build(reg_ro)) && errno) {
		return -1;
	}
	ctxd_fs_family_attach(files, ctxd_loop_watch(loop));
	if (skills) {
		skills_list_method.ud = skills_get_method.ud = skills;
		ctxd_sk_set_pool(skills, ctxd_loop_pool(loop));
		ctxd_sk_on_change(skills, skills_changed, loop);
		ctxd_sk_attach(skills, ctxd_loop_watch(loop));
		ctxd_skills_resources_init(&skills_resources, skills);
		ctxd_skills_prompts_init(&skills_prompts, skills);
	}
	if (mbank) {
		ctxd_memory_bank_provider_init(mbank, &mbank_resources);
	}
	ctxd_loop_set_engine_setup(loop, engine_setup, &families);
	return families.failed ? -1 : 0;
}

#define KIB ((size_t)1024)
#define GIB ((size_t)1024 * 1024 * 1024)

enum {
	OPT_RO = 256,
	OPT_NO_LANDLOCK,
	OPT_MAX_FRAME,
	OPT_MAX_READ,
	OPT_SKILLS_DIR,
	OPT_TOOLSETS,
	OPT_HTTP,
};

struct cli {
	const char *config;
	long threads; /* -1 = not given */
	const char *log_level;
	const char *max_frame, *max_read;
	const char *toolsets;
	int read_only, no_landlock;
};

static int die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ctxd: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'ctxd --help'.\n");
	va_end(ap);
	return 2;
}

static int apply_cli(struct ctxd_config *cfg, const struct cli *c)
{
	if (c->threads >= 0) {
		cfg->threads = (unsigned)c->threads;
	}
	if (c->log_level && ctxd_log_level_parse(c->log_level, &cfg->log_level) < 0) {
		return die_usage("unknown log level '%s'", c->log_level);
	}
	if (c->max_frame && (ctxd_config_parse_size(c->max_frame, &cfg->max_frame_bytes) < 0 ||
			     cfg->max_frame_bytes < KIB || cfg->max_frame_bytes > GIB)) {
		return die_usage("--max-frame: '%s' is not a size from 1KiB to 1GiB", c->max_frame);
	}
	if (c->max_read && (ctxd_config_parse_size(c->max_read, &cfg->max_read_bytes) < 0 ||
			    cfg->max_read_bytes < KIB || cfg->max_read_bytes > GIB)) {
		return die_usage("--max-read: '%s' is not a size from 1KiB to 1GiB", c->max_read);
	}
	if (c->toolsets && ctxd_config_parse_toolsets(c->toolsets, &cfg->toolsets) < 0) {
		return die_usage("--toolsets: '%s' is not a comma-separated list of files, skills, "
				 "memory",
				 c->toolsets);
	}
	if (c->read_only) {
		cfg->read_only = true;
	}
	if (c->no_landlock) {
		cfg->landlock = false;
	}
	return 0;
}

/* Memory given back after big answers (issue 13): glibc raises its mmap threshold to the
 * size of each large block freed (up to 32 MiB), so after one big answer the next ones
 * (frames of many MiB, built on a worker and freed on the loop thread) come from the
 * workers' arenas, which keep them: RSS grew to 103 MiB after ten 100,000-match greps
 * with 8 workers. A fixed 1 MiB threshold keeps every block that large in its own
 * mapping, returned when freed (17 MiB after the same ten; capping arenas at 2 gave
 * 62 MiB, malloc_trim after each large answer 91 MiB: bench/RESULTS.md). */
#define CTXD_MMAP_THRESHOLD (1 << 20)

/* Setting the mmap threshold also freezes glibc's trim threshold at its 128 KiB default:
 * the top of the loop thread's heap then shrank and grew again around every answer frame
 * of a small call (tens of KiB), a page fault per page each time - a third of a 4 KiB
 * read_text_file's CPU time. 2 MiB of free heap top may stay per arena instead (blocks of
 * 1 MiB and more are mappings of their own in any case). bench/RESULTS.md. */
#define CTXD_TRIM_THRESHOLD (2 << 20)

/* Reads the options into c and the roots and skill directories given on the command line
 * into cli_roots. Returns -1 to go on, else the exit code (0 after --help or --version, 2 on
 * a usage error). */
static int parse_args(int argc, char **argv, struct cli *c, struct ctxd_config *cli_roots)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"ro", required_argument, NULL, OPT_RO},
	    {"read-only", no_argument, NULL, 'r'},
	    {"threads", required_argument, NULL, 't'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"max-frame", required_argument, NULL, OPT_MAX_FRAME},
	    {"max-read", required_argument, NULL, OPT_MAX_READ},
	    {"skills-dir", required_argument, NULL, OPT_SKILLS_DIR},
	    {"no-landlock", no_argument, NULL, OPT_NO_LANDLOCK},
	    {"toolsets", required_argument, NULL, OPT_TOOLSETS},
	    {"http", required_argument, NULL, OPT_HTTP},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "c:rt:l:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			c->config = optarg;
			break;
		case OPT_RO:
			ctxd_config_add_root(cli_roots, optarg, true);
			break;
		case 'r':
			c->read_only = 1;
			break;
		case 't': {
			char *end;
			errno = 0;
			c->threads = strtol(optarg, &end, 10);
			if (errno || *end || c->threads < 0 || c->threads > 256) {
				return die_usage("--threads: '%s' is not a number from 0 to 256",
						 optarg);
			}
			break;
		}
		case 'l':
			c->log_level = optarg;
			break;
		case OPT_MAX_FRAME:
			c->max_frame = optarg;
			break;
		case OPT_MAX_READ:
			c->max_read = optarg;
			break;
		case OPT_SKILLS_DIR:
			ctxd_config_add_skills_dir(cli_roots, optarg);
			break;
		case OPT_NO_LANDLOCK:
			c->no_landlock = 1;
			break;
		case OPT_TOOLSETS:
			c->toolsets = optarg;
			break;
		case OPT_HTTP:
			ctxd_config_add_listen(cli_roots, optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("ctxd %s\n", CTXD_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'ctxd --help'.\n");
			return 2;
		}
	}
	for (int i = optind; i < argc; i++) {
		ctxd_config_add_root(cli_roots, argv[i], false);
	}
	return -1;
}

/* The settings in force: the configuration file (--config, else $CTXD_CONFIG), then the
 * options, then the command line's roots and skill directories after the file's. Returns 0,
 * or 2 once the error is written to stderr. */
static int load_settings(struct ctxd_config *cfg, struct cli *c,
			 const struct ctxd_config *cli_roots)
{
	struct ctxd_error err = {0};
	if (!c->config) {
		const char *env = getenv("CTXD_CONFIG");
		c->config = env && *env ? env : NULL;
	}
	if (c->config && ctxd_config_load_file(cfg, c->config, &err) < 0) {
		fprintf(stderr, "ctxd: %s\n", err.msg);
		return 2;
	}
	if (apply_cli(cfg, c) != 0) {
		return 2;
	}
	for (size_t i = 0; i < cli_roots->n_roots; i++) {
		ctxd_config_add_root(cfg, cli_roots->roots[i].path, cli_roots->roots[i].read_only);
	}
	for (size_t i = 0; i < cli_roots->n_skills_dirs; i++) {
		ctxd_config_add_skills_dir(cfg, cli_roots->skills_dirs[i]);
	}
	if (cli_roots->http.n_listen > 0) { /* --http replaces http.listen */
		struct ctxd_config_http *h = &cfg->http;
		for (size_t i = 0; i < h->n_listen; i++) {
			free(h->listen[i]);
		}
		free(h->listen);
		h->listen = NULL;
		h->n_listen = 0;
		for (size_t i = 0; i < cli_roots->http.n_listen; i++) {
			ctxd_config_add_listen(cfg, cli_roots->http.listen[i]);
		}
	}
	ctxd_log_set_level(cfg->log_level);
	return 0;
}

/* What main starts and tears down; a family that is off (tools.toolsets) stays NULL. */
struct app {
	struct ctxd_sandbox *sb;
	struct ctxd_registry *reg;
	struct ctxd_sandbox *sb_ro;   /* HTTP: every root read-only, for read-only tokens */
	struct ctxd_registry *reg_ro; /* HTTP: no writing tool, for read-only tokens */
	struct ctxd_config cfg_ro;    /* HTTP: the settings with sandbox.read_only */
	struct ctxd_loop *loop;
	struct ctxd_skills *skills;
	struct ctxd_mb *mbank;
	struct ctxd_fs_family *files;
};

/* HTTP: the sandbox and registry of clients whose token is read-only: every root
 * read-only, no writing tool (cfg_ro: the settings with sandbox.read_only, sharing cfg's
 * strings). Returns 0, or 1 once the error is written to stderr. */
static int app_read_only(struct app *a, const struct ctxd_config *cfg)
{
	struct ctxd_error err = {0};
	a->cfg_ro = *cfg;
	a->cfg_ro.read_only = true;
	a->sb_ro = ctxd_sandbox_create();
	a->reg_ro = ctxd_registry_create();
	if (!a->sb_ro || !a->reg_ro) {
		fprintf(stderr, "ctxd: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < cfg->n_roots; i++) {
		if (ctxd_sandbox_add_root(a->sb_ro, cfg->roots[i].path, true, &err) < 0) {
			fprintf(stderr, "ctxd: %s\n", err.msg);
			return 2;
		}
	}
	ctxd_sandbox_seal(a->sb_ro);
	const struct ctxd_config *c = &a->cfg_ro;
	if ((a->files && ctxd_registry_add(a->reg_ro, ctxd_fs_tools, ctxd_fs_tools_count, c,
					   a->files, &err) < 0) ||
	    (a->skills && ctxd_registry_add(a->reg_ro, ctxd_skills_tools, ctxd_skills_tools_count,
					    c, a->skills, &err) < 0) ||
	    (a->mbank && ctxd_registry_add(a->reg_ro, ctxd_memory_bank_tools,
					   ctxd_memory_bank_tools_count, c, a->mbank, &err) < 0)) {
		fprintf(stderr, "ctxd: %s\n", err.msg);
		return 1;
	}
	return 0;
}

/* Creates the enabled tool families and registers their tools. A family that is off
 * (tools.toolsets) is not even created: no skill directories opened or scanned, no bank
 * looked for, nothing watched. Returns 0, or 1 once the error is written to stderr. */
static int app_families(struct app *a, const struct ctxd_config *cfg)
{
	struct ctxd_error err = {0};
	if (cfg->toolsets & CTXD_TOOLSET_SKILLS) {
		a->skills = ctxd_sk_create(cfg, a->sb, NULL, &err);
		if (!a->skills) {
			fprintf(stderr, "ctxd: %s\n", err.msg);
			return 1;
		}
	}
	collect_extra_ro(a->skills, cfg);
	if (cfg->toolsets & CTXD_TOOLSET_MEMORY) {
		a->mbank = ctxd_mb_create(cfg, a->sb, &err);
		if (!a->mbank) {
			fprintf(stderr, "ctxd: %s\n", err.msg);
			return 1;
		}
	}
	if ((cfg->toolsets & CTXD_TOOLSET_FILES) && !(a->files = ctxd_fs_family_create())) {
		fprintf(stderr, "ctxd: out of memory\n");
		return 1;
	}
	if (((cfg->toolsets & CTXD_TOOLSET_FILES) &&
	     ctxd_registry_add(a->reg, ctxd_fs_tools, ctxd_fs_tools_count, cfg, a->files, &err) <
		 0) ||
	    (a->skills && ctxd_registry_add(a->reg, ctxd_skills_tools, ctxd_skills_tools_count, cfg,
					    a->skills, &err) < 0) ||
	    (a->mbank &&
	     ctxd_registry_add(a->reg, ctxd_memory_bank_tools, ctxd_memory_bank_tools_count, cfg,
			       a->mbank, &err) < 0)) {
		fprintf(stderr, "ctxd: %s\n", err.msg);
		return 1;
	}
	return cfg->http.n_listen > 0 ? app_read_only(a, cfg) : 0;
}

/* Landlock at start-up on the configured directories. It binds the calling thread and
 * threads it creates later: apply it before the worker pool starts. */
static void landlock_at_start(const struct ctxd_config *cfg, struct ctxd_sandbox *sb)
{
	struct ctxd_error err = {0};
	if (cfg->landlock && ctxd_sandbox_root_count(sb) > 0) {
		if (ctxd_sandbox_apply_landlock(sb, extra_ro, &err) == CTXD_SANDBOX_LANDLOCK) {
			ctxd_info(
			    "sandbox: Landlock active on %zu root(s) + openat2 path confinement",
			    ctxd_sandbox_root_count(sb));
		} else {
			ctxd_warn("sandbox: Landlock unavailable (%s); path confinement only",
				  err.msg);
		}
	} else if (!cfg->landlock) {
		ctxd_info("sandbox: path confinement only (Landlock disabled by configuration)");
	}
}

/* Builds the sandbox, the families, the protocol's stdout and the loop, ready to run.
 * Returns 0, or the exit code (1 cannot start, 2 configuration error) once the error is
 * written to stderr; a's parts are app_stop's to free either way. */
static int app_start(struct app *a, const struct ctxd_config *cfg)
{
	struct ctxd_error err = {0};
	a->sb = ctxd_sandbox_create();
	a->reg = ctxd_registry_create();
	if (!a->sb || !a->reg) {
		fprintf(stderr, "ctxd: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < cfg->n_roots; i++) {
		bool ro = cfg->read_only || cfg->roots[i].read_only;
		if (ctxd_sandbox_add_root(a->sb, cfg->roots[i].path, ro, &err) < 0) {
			fprintf(stderr, "ctxd: %s\n", err.msg);
			return 2;
		}
	}
	ctxd_sandbox_seal(a->sb);
	ctxd_sandbox_set_hardlinks(cfg->hardlinks_refuse);
	/* HTTP mode: the library is loaded now, before Landlock hides its file */
	if (cfg->http.n_listen > 0 && ctxd_http_lib_load(&err) < 0) {
		fprintf(stderr, "ctxd: %s\n", err.msg);
		return 2;
	}
	int rc = app_families(a, cfg);
	if (rc != 0) {
		return rc;
	}

	/* stdout is for protocol frames only: keep a private descriptor for them and point
	 * fd 1 at stderr, so stray output from any library cannot corrupt the stream. */
	int out_fd = dup(STDOUT_FILENO);
	if (out_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		fprintf(stderr, "ctxd: cannot set up stdout: %s\n", strerror(errno));
		return 1;
	}
	ctxd_loop_status_preopen(); /* /proc/self/statm for ctxd://status, before Landlock */
	landlock_at_start(cfg, a->sb);

	a->loop = ctxd_loop_create(cfg, a->sb, a->reg, STDIN_FILENO, out_fd, &err);
	if (!a->loop) {
		fprintf(stderr, "ctxd: %s\n", err.msg);
		return 1;
	}
	ctxd_loop_set_read_only(a->loop, a->sb_ro, a->reg_ro);
	if (cfg->landlock && ctxd_sandbox_root_count(a->sb) == 0 && ctxd_loop_is_http(a->loop)) {
		ctxd_info("sandbox: no directories configured: each HTTP session's roots narrow "
			  "its own sandbox; Landlock is process-wide and is not applied to "
			  "client roots when serving many clients");
	} else if (cfg->landlock && ctxd_sandbox_root_count(a->sb) == 0) {
		ctxd_info(
		    "sandbox: no directories configured: the client's roots will be used, and "
		    "Landlock applied to the first ones that arrive");
		ctxd_loop_landlock_client_roots(a->loop, extra_ro);
	}
	if (wire_families(a->loop, cfg, a->reg, a->reg_ro, a->skills, a->mbank, a->files) < 0) {
		fprintf(stderr, "ctxd: out of memory\n");
		return 1;
	}
	return 0;
}

/* Tears down what app_start made, in the order the threads need. */
static void app_stop(struct app *a)
{
	ctxd_sk_detach(a->skills); /* before the watcher goes */
	ctxd_fs_family_attach(a->files, NULL);
	ctxd_loop_destroy(a->loop);
	ctxd_fs_family_destroy(a->files); /* after the pool: no search in flight */
	ctxd_sk_destroy(a->skills);       /* after the pool: no discovery job in flight */
	ctxd_mb_destroy(a->mbank);
	ctxd_registry_destroy(a->reg);
	ctxd_sandbox_destroy(a->sb);
	ctxd_registry_destroy(a->reg_ro);
	ctxd_sandbox_destroy(a->sb_ro);
	free(families.text);
	free(families.text_ro);
}

/* Starts the server on cfg and runs it until the client goes or a signal comes; the exit
 * code. */
static int app_run(const struct ctxd_config *cfg)
{
	struct app a = {0};
	int rc = app_start(&a, cfg);
	if (rc == 0) {
		rc = ctxd_loop_run(a.loop);
		if (ctxd_loop_abandoned(a.loop)) {
			/* a worker is still inside a system call: do not wait for it */
			_exit(rc);
		}
	}
	app_stop(&a);
	return rc;
}

int main(int argc, char **argv)
{
#if defined(__GLIBC__)
	mallopt(M_MMAP_THRESHOLD, CTXD_MMAP_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, CTXD_TRIM_THRESHOLD);
#endif
	ctxd_loop_hold_signals();
	struct cli c = {.threads = -1};
	struct ctxd_config cfg;
	ctxd_config_init(&cfg);
	/* CLI roots are added after the file's, so keep them aside first */
	struct ctxd_config cli_roots;
	ctxd_config_init(&cli_roots);
	int rc = parse_args(argc, argv, &c, &cli_roots);
	if (rc < 0) {
		rc = load_settings(&cfg, &c, &cli_roots);
		if (rc == 0) {
			rc = app_run(&cfg);
		}
	}
	ctxd_config_finish(&cli_roots);
	ctxd_config_finish(&cfg);
	return rc;
}
