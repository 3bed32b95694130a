/* config_load.c - the settings file: read (a regular file, at most 1 MiB), parsed as one YAML
 * document, one parser per section (roots, limits, log, sandbox, tools, memory_bank, skills)
 * on top of config_yaml.c's event walking.
 */
#include "ctxd/config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config_priv.h"
#include "ctxd/strbuf.h"

static int parse_root_map(struct loader *ld, const char *what, struct ctxd_config_root **roots,
			  size_t *n)
{
	static const char *const keys[] = {"path", "mode", "read_only"};
	yaml_mark_t start = ld->ev.start_mark;
	char *path = NULL;
	bool ro = false;
	unsigned seen = 0;
	size_t k;
	int rc;
	char sub[KEY_MAX + 32], ex[64];

	while ((rc = ctxd_cfg_next_key(ld, what, keys, N_KEYS(keys), &seen, &k)) == 1) {
		snprintf(sub, sizeof(sub), "%s.%s", what, keys[k]);
		if (k == 0) {
			free(path); /* ctxd_cfg_next_key refuses a second 'path'; this keeps that
				       local */
			path = NULL;
			if (ctxd_cfg_get_string(ld, sub, &path)) {
				return -1;
			}
		} else if (k == 1) {
			const char *s;
			if (ctxd_cfg_scalar(ld, sub, "ro or rw", &s)) {
				goto err;
			}
			if (strcmp(s, "ro") == 0) {
				ro = true;
			} else if (strcmp(s, "rw") == 0) {
				ro = false;
			} else {
				ctxd_cfg_fail_at(ld, ld->ev.start_mark,
						 "%s: expected ro or rw, got '%s'", sub,
						 ctxd_cfg_value_excerpt(ld, ex, sizeof(ex)));
				goto err;
			}
		} else if (ctxd_cfg_get_bool(ld, sub, &ro)) {
			goto err;
		}
	}
	if (rc < 0) {
		goto err;
	}
	if (!path) {
		ctxd_cfg_fail_at(ld, start, "%s: missing 'path'", what);
		return -1;
	}
	if (!path[0]) {
		ctxd_cfg_fail_at(ld, start, "%s.path: must not be empty", what);
		goto err;
	}
	rc = ctxd_cfg_push_root(roots, n, path, ro);
	free(path);
	if (rc) {
		ctxd_error_set_errno(ld->err, CTXD_ERR_TOOL, ENOMEM, "%.200s: out of memory",
				     ld->name);
		return -1;
	}
	return 0;
err:
	free(path);
	return -1;
}

/* roots: a sequence of "PATH" or {path: PATH, mode: ro|rw}. Replaces the current list. */
static int parse_roots(struct loader *ld, struct ctxd_config *cfg)
{
	struct ctxd_config_root *roots = NULL;
	size_t n = 0;
	char what[32];

	if (ctxd_cfg_is_null(&ld->ev)) {
		goto done;
	}
	if (ctxd_cfg_expect(ld, YAML_SEQUENCE_START_EVENT, "roots", "a sequence")) {
		return -1;
	}
	for (;;) {
		if (ctxd_cfg_next_event(ld)) {
			goto err;
		}
		if (ld->ev.type == YAML_SEQUENCE_END_EVENT) {
			break;
		}
		snprintf(what, sizeof(what), "roots[%zu]", n);
		if (ld->ev.type == YAML_MAPPING_START_EVENT) {
			if (parse_root_map(ld, what, &roots, &n)) {
				goto err;
			}
			continue;
		}
		const char *s;
		if (ctxd_cfg_scalar(ld, what, "a path or a mapping", &s)) {
			goto err;
		}
		if (!s[0]) {
			ctxd_cfg_fail_at(ld, ld->ev.start_mark, "%s: path must not be empty", what);
			goto err;
		}
		if (ctxd_cfg_push_root(&roots, &n, s, false)) {
			ctxd_error_set_errno(ld->err, CTXD_ERR_TOOL, ENOMEM,
					     "%.200s: out of memory", ld->name);
			goto err;
		}
	}
done:
	ctxd_cfg_free_roots(cfg->roots, cfg->n_roots);
	cfg->roots = roots;
	cfg->n_roots = n;
	return 0;
err:
	ctxd_cfg_free_roots(roots, n);
	return -1;
}

/* Sections of plain numbers (limits, tasks), one row a key (ctxd_cfg_num). */
static const struct ctxd_cfg_num limit_keys[] = {
    {"frame_bytes", CTXD_CFG_BYTES, 1024, MAX_BYTES_LIMIT,
     offsetof(struct ctxd_config, max_frame_bytes)},
    {"read_bytes", CTXD_CFG_BYTES, 1024, MAX_BYTES_LIMIT,
     offsetof(struct ctxd_config, max_read_bytes)},
    {"entries", CTXD_CFG_COUNT, 1, 10000000, offsetof(struct ctxd_config, max_entries)},
    {"write_queue_bytes", CTXD_CFG_BYTES, 1024, MAX_BYTES_LIMIT,
     offsetof(struct ctxd_config, write_queue_bytes)},
    {"drain_ms", CTXD_CFG_UINT, 0, 600000, offsetof(struct ctxd_config, drain_ms)},
    {"page_size", CTXD_CFG_UINT, 1, 10000, offsetof(struct ctxd_config, page_size)},
    {"media_bytes", CTXD_CFG_BYTES, 1024, MAX_BYTES_LIMIT,
     offsetof(struct ctxd_config, max_media_bytes)},
    {"roots_timeout_ms", CTXD_CFG_UINT, 100, 600000,
     offsetof(struct ctxd_config, roots_timeout_ms)},
    {"call_ms", CTXD_CFG_UINT, 0, 86400000, offsetof(struct ctxd_config, call_ms)},
    {"subscriptions", CTXD_CFG_UINT, 1, 10000000, offsetof(struct ctxd_config, max_subscriptions)},
    {"copy_bytes", CTXD_CFG_BYTES, 1024, MAX_COPY_LIMIT,
     offsetof(struct ctxd_config, max_copy_bytes)},
    {"poll_ms", CTXD_CFG_UINT, 10, 60000, offsetof(struct ctxd_config, poll_ms)},
    {"call_timeout_ms", CTXD_CFG_UINT, 0, 86400000, offsetof(struct ctxd_config, call_timeout_ms)},
    {"spin_us", CTXD_CFG_UINT, 0, 10000, offsetof(struct ctxd_config, spin_us)},
};

/* tasks: MCP tasks, both eras. */
static const struct ctxd_cfg_num task_keys[] = {
    {"after_ms", CTXD_CFG_UINT, 0, 86400000, offsetof(struct ctxd_config, tasks_after_ms)},
    {"ttl_ms", CTXD_CFG_UINT, 1, 86400000, offsetof(struct ctxd_config, tasks_ttl_ms)},
    {"max", CTXD_CFG_UINT, 0, 100000, offsetof(struct ctxd_config, tasks_max)},
    {"timeout_ms", CTXD_CFG_UINT, 0, 604800000, offsetof(struct ctxd_config, tasks_timeout_ms)},
};

int ctxd_cfg_get_num(struct loader *ld, const char *section, const struct ctxd_cfg_num *l,
		     struct ctxd_config *cfg)
{
	char what[48];
	snprintf(what, sizeof(what), "%s.%s", section, l->key);
	void *field = (char *)cfg + l->off;
	if (l->kind == CTXD_CFG_BYTES) {
		return ctxd_cfg_get_size(ld, what, (size_t)l->lo, (size_t)l->hi, field);
	}
	unsigned long long v;
	if (ctxd_cfg_get_uint(ld, what, l->lo, l->hi, &v)) {
		return -1;
	}
	if (l->kind == CTXD_CFG_COUNT) {
		*(size_t *)field = (size_t)v;
	} else {
		*(unsigned *)field = (unsigned)v;
	}
	return 0;
}

/* A mapping of the `n` keys of `table` (at most 32), each read by ctxd_cfg_get_num. */
static int parse_numbers(struct loader *ld, const char *section, const struct ctxd_cfg_num *table,
			 size_t n, struct ctxd_config *cfg)
{
	const char *keys[32];
	for (size_t i = 0; i < n; i++) {
		keys[i] = table[i].key;
	}
	unsigned seen = 0;
	size_t k;
	int rc;

	if (ctxd_cfg_expect(ld, YAML_MAPPING_START_EVENT, section, "a mapping")) {
		return -1;
	}
	while ((rc = ctxd_cfg_next_key(ld, section, keys, n, &seen, &k)) == 1) {
		if (ctxd_cfg_get_num(ld, section, &table[k], cfg)) {
			return -1;
		}
	}
	return rc;
}

static int parse_limits(struct loader *ld, struct ctxd_config *cfg)
{
	_Static_assert(N_KEYS(limit_keys) <= 32, "parse_numbers takes at most 32 keys");
	return parse_numbers(ld, "limits", limit_keys, N_KEYS(limit_keys), cfg);
}

static int parse_tasks(struct loader *ld, struct ctxd_config *cfg)
{
	return parse_numbers(ld, "tasks", task_keys, N_KEYS(task_keys), cfg);
}

static int parse_log(struct loader *ld, struct ctxd_config *cfg)
{
	static const char *const keys[] = {"level"};
	unsigned seen = 0;
	size_t k;
	int rc;

	if (ctxd_cfg_expect(ld, YAML_MAPPING_START_EVENT, "log", "a mapping")) {
		return -1;
	}
	while ((rc = ctxd_cfg_next_key(ld, "log", keys, N_KEYS(keys), &seen, &k)) == 1) {
		if (ctxd_cfg_get_level(ld, "log.level", &cfg->log_level)) {
			return -1;
		}
	}
	return rc;
}

static int parse_sandbox(struct loader *ld, struct ctxd_config *cfg)
{
	static const char *const keys[] = {"landlock", "read_only", "hardlinks"};
	unsigned seen = 0;
	size_t k;
	int rc;

	if (ctxd_cfg_expect(ld, YAML_MAPPING_START_EVENT, "sandbox", "a mapping")) {
		return -1;
	}
	while ((rc = ctxd_cfg_next_key(ld, "sandbox", keys, N_KEYS(keys), &seen, &k)) == 1) {
		if (k == 2) {
			if (ctxd_cfg_get_hardlinks(ld, "sandbox.hardlinks",
						   &cfg->hardlinks_refuse)) {
				return -1;
			}
			continue;
		}
		if (k == 0 ? ctxd_cfg_get_bool(ld, "sandbox.landlock", &cfg->landlock)
			   : ctxd_cfg_get_bool(ld, "sandbox.read_only", &cfg->read_only)) {
			return -1;
		}
	}
	return rc;
}

/* `what`: null (none) or a sequence of strings (with `non_empty`, none of them ""), into
 * *out (free with ctxd_cfg_free_strs). Returns 0, or -1 with the loader's error set and
 * nothing left allocated. */
static int get_str_list(struct loader *ld, const char *what, bool non_empty, struct str_list *out)
{
	struct str_list list = {NULL, 0, 0};
	char item[48];

	if (ctxd_cfg_is_null(&ld->ev)) {
		goto done;
	}
	if (ctxd_cfg_expect(ld, YAML_SEQUENCE_START_EVENT, what, "a sequence")) {
		return -1;
	}
	for (;;) {
		if (ctxd_cfg_next_event(ld)) {
			goto err;
		}
		if (ld->ev.type == YAML_SEQUENCE_END_EVENT) {
			break;
		}
		snprintf(item, sizeof(item), "%s[%zu]", what, list.n);
		char *s;
		if (ctxd_cfg_get_string(ld, item, &s)) {
			goto err;
		}
		if (non_empty && !s[0]) {
			free(s);
			ctxd_cfg_fail_at(ld, ld->ev.start_mark, "%s: must not be empty", item);
			goto err;
		}
		if (ctxd_grow((void **)&list.v, &list.cap, list.n + 1, sizeof(*list.v), 4)) {
			free(s);
			ctxd_error_set_errno(ld->err, CTXD_ERR_TOOL, ENOMEM,
					     "%.200s: out of memory", ld->name);
			goto err;
		}
		list.v[list.n++] = s;
	}
done:
	*out = list;
	return 0;
err:
	ctxd_cfg_free_strs(list.v, list.n);
	return -1;
}

/* tools.disabled: a sequence of tool names. Replaces the current list. */
static int parse_disabled(struct loader *ld, struct ctxd_config *cfg)
{
	struct str_list list;
	if (get_str_list(ld, "tools.disabled", false, &list)) {
		return -1;
	}
	ctxd_cfg_free_strs(cfg->disabled_tools, cfg->n_disabled_tools);
	cfg->disabled_tools = list.v;
	cfg->n_disabled_tools = list.n;
	return 0;
}

/* tools.toolsets: a non-empty sequence of family names. Replaces the current set. */
static int parse_toolsets(struct loader *ld, struct ctxd_config *cfg)
{
	unsigned bits = 0;
	size_t n = 0;
	char what[40], ex[64];

	if (ctxd_cfg_expect(ld, YAML_SEQUENCE_START_EVENT, "tools.toolsets", "a sequence")) {
		return -1;
	}
	yaml_mark_t start = ld->ev.start_mark;
	for (;;) {
		if (ctxd_cfg_next_event(ld)) {
			return -1;
		}
		if (ld->ev.type == YAML_SEQUENCE_END_EVENT) {
			break;
		}
		snprintf(what, sizeof(what), "tools.toolsets[%zu]", n++);
		const char *s;
		if (ctxd_cfg_scalar(ld, what, "a tool family name", &s)) {
			return -1;
		}
		unsigned bit = ctxd_config_toolset_bit(s, strlen(s));
		if (!bit) {
			ctxd_cfg_fail_at(ld, ld->ev.start_mark,
					 "%s: unknown tool family '%s' (files, skills or memory)",
					 what, ctxd_cfg_value_excerpt(ld, ex, sizeof(ex)));
			return -1;
		}
		bits |= bit;
	}
	if (!bits) {
		ctxd_cfg_fail_at(ld, start,
				 "tools.toolsets: name at least one of files, skills, memory");
		return -1;
	}
	cfg->toolsets = bits;
	return 0;
}

static int parse_tools(struct loader *ld, struct ctxd_config *cfg)
{
	static const char *const keys[] = {"disabled", "toolsets"};
	unsigned seen = 0;
	size_t k;
	int rc;

	if (ctxd_cfg_expect(ld, YAML_MAPPING_START_EVENT, "tools", "a mapping")) {
		return -1;
	}
	while ((rc = ctxd_cfg_next_key(ld, "tools", keys, N_KEYS(keys), &seen, &k)) == 1) {
		if (k == 0 ? parse_disabled(ld, cfg) : parse_toolsets(ld, cfg)) {
			return -1;
		}
	}
	return rc;
}

#define NAMES_MAX    100 /* keys of a names map, and names under one key */
#define NAME_MAX_LEN 200 /* bytes of one key or name */

/* A non-empty string of at most NAME_MAX_LEN bytes into a new copy. */
static int get_name(struct loader *ld, const char *what, char **out)
{
	if (ctxd_cfg_get_string(ld, what, out)) {
		return -1;
	}
	if (!(*out)[0] || strlen(*out) > NAME_MAX_LEN) {
		free(*out);
		ctxd_cfg_fail_at(ld, ld->ev.start_mark, "%s: must be 1 to %d bytes", what,
				 NAME_MAX_LEN);
		return -1;
	}
	return 0;
}

/* A sequence of names (or null: none) for key `key` of map `what`, into `e`. */
static int parse_names(struct loader *ld, const char *what, struct ctxd_config_names *e)
{
	char item[NAME_MAX_LEN + 96];
	if (ctxd_cfg_is_null(&ld->ev)) {
		return 0;
	}
	snprintf(item, sizeof(item), "%s.%s", what, e->key);
	if (ctxd_cfg_expect(ld, YAML_SEQUENCE_START_EVENT, item, "a sequence of headings")) {
		return -1;
	}
	for (;;) {
		if (ctxd_cfg_next_event(ld)) {
			return -1;
		}
		if (ld->ev.type == YAML_SEQUENCE_END_EVENT) {
			return 0;
		}
		snprintf(item, sizeof(item), "%s.%s[%zu]", what, e->key, e->n);
		if (e->n == NAMES_MAX) {
			ctxd_cfg_fail_at(ld, ld->ev.start_mark, "%s: at most %d entries", item,
					 NAMES_MAX);
			return -1;
		}
		char *name;
		if (get_name(ld, item, &name)) {
			return -1;
		}
		char **grown = realloc(e->names, (e->n + 1) * sizeof(*e->names));
		if (!grown) {
			free(name);
			ctxd_error_set_errno(ld->err, CTXD_ERR_TOOL, ENOMEM,
					     "%.200s: out of memory", ld->name);
			return -1;
		}
		e->names = grown;
		e->names[e->n++] = name;
	}
}

/* `what`: a mapping of names to sequences of names (memory_bank.sections, whose keys are
 * bank files ending in ".md", and memory_bank.section_variants). Replaces *out when whole. */
static int parse_names_map(struct loader *ld, const char *what, bool md_keys,
			   struct ctxd_config_names **out, size_t *n_out)
{
	struct ctxd_config_names *v = NULL;
	size_t n = 0;
	if (!ctxd_cfg_is_null(&ld->ev)) {
		if (ctxd_cfg_expect(ld, YAML_MAPPING_START_EVENT, what, "a mapping")) {
			return -1;
		}
		for (;;) {
			if (ctxd_cfg_next_event(ld)) {
				goto err;
			}
			if (ld->ev.type == YAML_MAPPING_END_EVENT) {
				break;
			}
			char *key;
			if (n == NAMES_MAX) {
				ctxd_cfg_fail_at(ld, ld->ev.start_mark, "%s: at most %d entries",
						 what, NAMES_MAX);
				goto err;
			}
			if (get_name(ld, what, &key)) {
				goto err;
			}
			size_t kl = strlen(key);
			bool dup = false;
			for (size_t i = 0; i < n && !dup; i++) {
				dup = strcmp(v[i].key, key) == 0;
			}
			if (dup || (md_keys && (kl < 4 || strcmp(key + kl - 3, ".md") != 0))) {
				ctxd_cfg_fail_at(
				    ld, ld->ev.start_mark,
				    dup ? "%s: duplicate key '%.200s'"
					: "%s: '%.200s' is not a bank file name (it must "
					  "end in .md)",
				    what, key);
				free(key);
				goto err;
			}
			struct ctxd_config_names *grown = realloc(v, (n + 1) * sizeof(*v));
			if (!grown) {
				free(key);
				ctxd_error_set_errno(ld->err, CTXD_ERR_TOOL, ENOMEM,
						     "%.200s: out of memory", ld->name);
				goto err;
			}
			v = grown;
			v[n++] = (struct ctxd_config_names){.key = key};
			if (ctxd_cfg_next_event(ld) || parse_names(ld, what, &v[n - 1])) {
				goto err;
			}
		}
	}
	ctxd_cfg_free_names(*out, *n_out);
	*out = v;
	*n_out = n;
	return 0;
err:
	ctxd_cfg_free_names(v, n);
	return -1;
}

/* memory_bank: {path, multi_project, history, stale_days, token_budget, sections,
 * section_variants}. */
static int parse_memory_bank(struct loader *ld, struct ctxd_config *cfg)
{
	static const char *const keys[] = {
	    "path",         "multi_project", "history",          "stale_days",
	    "token_budget", "sections",      "section_variants",
	};
	unsigned seen = 0;
	size_t k;
	int rc;
	unsigned long long v;
	char what[48];

	if (ctxd_cfg_expect(ld, YAML_MAPPING_START_EVENT, "memory_bank", "a mapping")) {
		return -1;
	}
	while ((rc = ctxd_cfg_next_key(ld, "memory_bank", keys, N_KEYS(keys), &seen, &k)) == 1) {
		snprintf(what, sizeof(what), "memory_bank.%s", keys[k]);
		if (k == 0) {
			char *path;
			if (ctxd_cfg_get_string(ld, what, &path)) {
				return -1;
			}
			if (!path[0]) {
				free(path);
				ctxd_cfg_fail_at(ld, ld->ev.start_mark, "%s: must not be empty",
						 what);
				return -1;
			}
			free(cfg->memory_bank_path);
			cfg->memory_bank_path = path;
		} else if (k == 1) {
			if (ctxd_cfg_get_bool(ld, what, &cfg->memory_bank_multi_project)) {
				return -1;
			}
		} else if (k == 5) {
			if (parse_names_map(ld, what, true, &cfg->memory_bank_sections,
					    &cfg->n_memory_bank_sections)) {
				return -1;
			}
		} else if (k == 6) {
			if (parse_names_map(ld, what, false, &cfg->memory_bank_variants,
					    &cfg->n_memory_bank_variants)) {
				return -1;
			}
		} else {
			unsigned long long lo = k == 4 ? 100 : 1;
			unsigned long long hi = k == 2 ? 1000 : k == 3 ? 3650 : 10000000;
			if (ctxd_cfg_get_uint(ld, what, lo, hi, &v)) {
				return -1;
			}
			if (k == 2) {
				cfg->memory_bank_history = (unsigned)v;
			} else if (k == 3) {
				cfg->memory_bank_stale_days = (unsigned)v;
			} else {
				cfg->memory_bank_token_budget = (size_t)v;
			}
		}
	}
	return rc;
}

/* skills: {dirs: [path...], user_dirs: bool, max_dirs: n, catalogue_bytes: size}. dirs
 * replaces the list. */
static int parse_skills(struct loader *ld, struct ctxd_config *cfg)
{
	static const char *const keys[] = {"dirs", "user_dirs", "max_dirs", "catalogue_bytes"};
	unsigned seen = 0;
	size_t k;
	int rc;
	unsigned long long v;

	if (ctxd_cfg_expect(ld, YAML_MAPPING_START_EVENT, "skills", "a mapping")) {
		return -1;
	}
	while ((rc = ctxd_cfg_next_key(ld, "skills", keys, N_KEYS(keys), &seen, &k)) == 1) {
		if (k == 1) {
			if (ctxd_cfg_get_bool(ld, "skills.user_dirs", &cfg->skills_user_dirs)) {
				return -1;
			}
			continue;
		}
		if (k == 2) {
			if (ctxd_cfg_get_uint(ld, "skills.max_dirs", 1, 10000000, &v)) {
				return -1;
			}
			cfg->skills_max_dirs = (size_t)v;
			continue;
		}
		if (k == 3) {
			if (ctxd_cfg_get_size(ld, "skills.catalogue_bytes", 256, MAX_BYTES_LIMIT,
					      &cfg->skills_catalogue_bytes)) {
				return -1;
			}
			continue;
		}
		struct str_list list;
		if (get_str_list(ld, "skills.dirs", true, &list)) {
			return -1;
		}
		ctxd_cfg_free_strs(cfg->skills_dirs, cfg->n_skills_dirs);
		cfg->skills_dirs = list.v;
		cfg->n_skills_dirs = list.n;
	}
	return rc;
}

static int parse_top(struct loader *ld, struct ctxd_config *cfg)
{
	static const char *const keys[] = {
	    "roots", "threads",     "limits", "log",   "log_level", "sandbox",
	    "tools", "memory_bank", "skills", "tasks", "http",
	};
	unsigned seen = 0;
	size_t k;
	int rc;
	unsigned long long v;

	while ((rc = ctxd_cfg_next_key(ld, "the top level", keys, N_KEYS(keys), &seen, &k)) == 1) {
		switch (k) {
		case 0:
			rc = parse_roots(ld, cfg);
			break;
		case 1:
			if (ld->ev.type == YAML_SCALAR_EVENT &&
			    strcmp((const char *)ld->ev.data.scalar.value, "auto") == 0) {
				cfg->threads = 0;
				rc = 0;
				break;
			}
			rc = ctxd_cfg_get_uint(ld, "threads", 0, 256, &v);
			if (rc == 0) {
				cfg->threads = (unsigned)v;
			}
			break;
		case 2:
			rc = parse_limits(ld, cfg);
			break;
		case 3:
			rc = parse_log(ld, cfg);
			break;
		case 4:
			rc = ctxd_cfg_get_level(ld, "log_level", &cfg->log_level);
			break;
		case 5:
			rc = parse_sandbox(ld, cfg);
			break;
		case 6:
			rc = parse_tools(ld, cfg);
			break;
		case 7:
			rc = parse_memory_bank(ld, cfg);
			break;
		case 8:
			rc = parse_skills(ld, cfg);
			break;
		case 10:
			rc = ctxd_cfg_parse_http(ld, cfg);
			break;
		default:
			rc = parse_tasks(ld, cfg);
			break;
		}
		if (rc) {
			return -1;
		}
	}
	return rc;
}

static int parse_stream(struct loader *ld, struct ctxd_config *cfg)
{
	if (ctxd_cfg_next_event(ld)) { /* STREAM-START */
		return -1;
	}
	if (ctxd_cfg_next_event(ld)) {
		return -1;
	}
	if (ld->ev.type == YAML_STREAM_END_EVENT) {
		return 0; /* nothing but blanks and comments */
	}
	/* DOCUMENT-START, then the document's one node */
	if (ctxd_cfg_next_event(ld)) {
		return -1;
	}
	if (ld->ev.type == YAML_MAPPING_START_EVENT) {
		if (parse_top(ld, cfg)) {
			return -1;
		}
	} else if (!ctxd_cfg_is_null(&ld->ev)) {
		ctxd_cfg_fail_at(ld, ld->ev.start_mark,
				 "expected a mapping at the top level, got %s",
				 ctxd_cfg_kind(&ld->ev));
		return -1;
	}
	if (ctxd_cfg_next_event(ld)) { /* DOCUMENT-END */
		return -1;
	}
	if (ctxd_cfg_next_event(ld)) {
		return -1;
	}
	if (ld->ev.type != YAML_STREAM_END_EVENT) {
		ctxd_cfg_fail_at(ld, ld->ev.start_mark, "only one YAML document is allowed");
		return -1;
	}
	return 0;
}

int ctxd_config_load_buffer(struct ctxd_config *cfg, const char *buf, size_t len, const char *name,
			    struct ctxd_error *err)
{
	struct loader ld;
	memset(&ld, 0, sizeof(ld));
	ld.name = name ? name : "<config>";
	ld.buf = (const unsigned char *)(buf ? buf : "");
	ld.len = buf ? len : 0;
	ld.err = err;

	if (!yaml_parser_initialize(&ld.parser)) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM, "%.200s: out of memory", ld.name);
		return -1;
	}
	yaml_parser_set_input_string(&ld.parser, ld.buf, ld.len);
	int rc = parse_stream(&ld, cfg);
	if (ld.have_ev) {
		yaml_event_delete(&ld.ev);
	}
	yaml_parser_delete(&ld.parser);
	return rc;
}

/* What a non-regular file is, for messages. */
static const char *file_kind(mode_t m)
{
	return S_ISFIFO(m)   ? "a FIFO (named pipe)"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
			     : "not a regular file";
}

/* Read at most MAX_FILE_BYTES of `path` into a new buffer. Only a regular file is read: the
 * open is O_NONBLOCK, so a FIFO given as the configuration fails at once instead of waiting
 * for a writer forever (and a device is never read). */
static int read_file(const char *path, char **out, size_t *out_len, struct ctxd_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "%.300s: %s", path, strerror(e));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "%.300s: %s", path, strerror(e));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EISDIR, "%.300s: %s", path,
				     strerror(EISDIR));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EINVAL,
				     "%.300s: the configuration must be a regular file, this is %s",
				     path, file_kind(st.st_mode));
		return -1;
	}
	size_t cap = MAX_FILE_BYTES + 1, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM, "%.300s: out of memory", path);
		return -1;
	}
	/* Reading one byte past the limit tells "exactly 1 MiB" from "too big". */
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			int e = errno;
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "%.300s: %s", path,
					     strerror(e));
			goto err;
		}
		if (n == 0) {
			break;
		}
		len += (size_t)n;
	}
	if (len > MAX_FILE_BYTES) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EFBIG,
				     "%.300s: file is larger than %zu bytes", path, MAX_FILE_BYTES);
		goto err;
	}
	close(fd);
	*out = buf;
	*out_len = len;
	return 0;
err:
	close(fd);
	free(buf);
	return -1;
}

int ctxd_config_load_file(struct ctxd_config *cfg, const char *path, struct ctxd_error *err)
{
	char *buf;
	size_t len;
	if (!path) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EINVAL, "no configuration file given");
		return -1;
	}
	if (read_file(path, &buf, &len, err)) {
		return -1;
	}
	char *source = strdup(path);
	if (!source) {
		free(buf);
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM, "%.300s: out of memory", path);
		return -1;
	}
	free(cfg->source);
	cfg->source = source;
	int rc = ctxd_config_load_buffer(cfg, buf, len, path, err);
	free(buf);
	return rc;
}
