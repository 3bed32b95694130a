/* config.c - the settings (struct ctxd_config): defaults, roots, skill directories, toolsets,
 * sizes. The YAML file is read by config_load.c with config_yaml.c.
 */
#include "ctxd/config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config_priv.h"

void ctxd_config_init(struct ctxd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->threads = 0;
	cfg->max_frame_bytes = (size_t)16 << 20;
	cfg->max_read_bytes = (size_t)256 << 10;
	cfg->max_entries = 10000;
	cfg->write_queue_bytes = (size_t)8 << 20;
	cfg->drain_ms = 5000;
	cfg->page_size = 100;
	cfg->roots_timeout_ms = 10000;
	cfg->max_media_bytes = (size_t)1 << 20;
	cfg->call_ms = 60000;
	cfg->poll_ms = 100;
	cfg->log_level = CTXD_LOG_WARNING;
	cfg->landlock = true;
	cfg->read_only = false;
	cfg->toolsets = CTXD_TOOLSET_ALL;
	cfg->memory_bank_history = 20;
	cfg->memory_bank_stale_days = 7;
	cfg->memory_bank_token_budget = 8000;
	cfg->skills_user_dirs = true;
	cfg->skills_max_dirs = 10000;
	cfg->skills_catalogue_bytes = 8192;
	cfg->max_subscriptions = 10000;
	cfg->max_copy_bytes = (size_t)1 << 30;
	cfg->hardlinks_refuse = false;
	cfg->call_timeout_ms = 0;
	cfg->spin_us = 100;
	cfg->tasks_after_ms = 1000;
	cfg->tasks_ttl_ms = 300000;
	cfg->tasks_max = 100;
	cfg->tasks_timeout_ms = 1800000;
	ctxd_cfg_http_init(&cfg->http);
}

void ctxd_cfg_free_roots(struct ctxd_config_root *roots, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(roots[i].path);
	}
	free(roots);
}

void ctxd_cfg_free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i]);
	}
	free(v);
}

void ctxd_cfg_free_names(struct ctxd_config_names *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		ctxd_cfg_free_strs(v[i].names, v[i].n);
	}
	free(v);
}

void ctxd_config_finish(struct ctxd_config *cfg)
{
	if (!cfg) {
		return;
	}
	ctxd_cfg_free_roots(cfg->roots, cfg->n_roots);
	ctxd_cfg_free_strs(cfg->disabled_tools, cfg->n_disabled_tools);
	ctxd_cfg_free_strs(cfg->skills_dirs, cfg->n_skills_dirs);
	free(cfg->memory_bank_path);
	ctxd_cfg_free_names(cfg->memory_bank_sections, cfg->n_memory_bank_sections);
	ctxd_cfg_free_names(cfg->memory_bank_variants, cfg->n_memory_bank_variants);
	free(cfg->source);
	ctxd_cfg_http_finish(&cfg->http);
	memset(cfg, 0, sizeof(*cfg));
}

int ctxd_cfg_push_root(struct ctxd_config_root **roots, size_t *n, const char *path, bool read_only)
{
	char *copy = strdup(path);
	if (!copy) {
		return -1;
	}
	struct ctxd_config_root *grown = realloc(*roots, (*n + 1) * sizeof(**roots));
	if (!grown) {
		free(copy);
		errno = ENOMEM;
		return -1;
	}
	grown[*n].path = copy;
	grown[*n].read_only = read_only;
	*roots = grown;
	(*n)++;
	return 0;
}

int ctxd_config_add_root(struct ctxd_config *cfg, const char *path, bool read_only)
{
	if (!path) {
		errno = EINVAL;
		return -1;
	}
	return ctxd_cfg_push_root(&cfg->roots, &cfg->n_roots, path, read_only);
}

int ctxd_config_add_skills_dir(struct ctxd_config *cfg, const char *path)
{
	if (!path) {
		errno = EINVAL;
		return -1;
	}
	char *copy = strdup(path);
	char **grown =
	    copy ? realloc(cfg->skills_dirs, (cfg->n_skills_dirs + 1) * sizeof(*grown)) : NULL;
	if (!grown) {
		free(copy);
		errno = ENOMEM;
		return -1;
	}
	cfg->skills_dirs = grown;
	cfg->skills_dirs[cfg->n_skills_dirs++] = copy;
	return 0;
}

bool ctxd_config_tool_disabled(const struct ctxd_config *cfg, const char *name)
{
	if (!cfg || !name) {
		return false;
	}
	for (size_t i = 0; i < cfg->n_disabled_tools; i++) {
		if (strcmp(cfg->disabled_tools[i], name) == 0) {
			return true;
		}
	}
	return false;
}

unsigned ctxd_config_toolset_bit(const char *name, size_t len)
{
	static const struct {
		const char *name;
		unsigned bit;
	} sets[] = {
	    {"files", CTXD_TOOLSET_FILES},
	    {"skills", CTXD_TOOLSET_SKILLS},
	    {"memory", CTXD_TOOLSET_MEMORY},
	};
	for (size_t i = 0; name && i < sizeof(sets) / sizeof(sets[0]); i++) {
		if (len == strlen(sets[i].name) && memcmp(name, sets[i].name, len) == 0) {
			return sets[i].bit;
		}
	}
	return 0;
}

int ctxd_config_parse_toolsets(const char *s, unsigned *out)
{
	unsigned bits = 0;
	if (!s) {
		return -1;
	}
	for (;;) {
		while (*s == ' ' || *s == '\t') {
			s++;
		}
		size_t len = strcspn(s, ",");
		size_t n = len;
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
			n--;
		}
		unsigned bit = ctxd_config_toolset_bit(s, n);
		if (!bit) {
			return -1;
		}
		bits |= bit;
		if (s[len] == '\0') {
			break;
		}
		s += len + 1;
	}
	*out = bits;
	return 0;
}

/* Decimal digits only (no sign, no blanks, no 0x). Returns 0, -1 for junk, -2 for overflow. */
static int parse_digits(const char *s, const char **end, unsigned long long *out)
{
	if (*s < '0' || *s > '9') {
		return -1;
	}
	errno = 0;
	char *e;
	unsigned long long v = strtoull(s, &e, 10);
	if (errno == ERANGE) {
		return -2;
	}
	*end = e;
	*out = v;
	return 0;
}

int ctxd_cfg_parse_uint(const char *s, unsigned long long *out)
{
	const char *end;
	int rc = parse_digits(s, &end, out);
	if (rc == 0 && *end != '\0') {
		return -1;
	}
	return rc;
}

/* Like ctxd_config_parse_size, telling junk (-1) from overflow (-2). */
int ctxd_cfg_parse_size(const char *s, size_t *out)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {
	    {"", 0}, {"K", 10}, {"KiB", 10}, {"M", 20}, {"MiB", 20}, {"G", 30}, {"GiB", 30},
	};
	if (!s) {
		return -1;
	}
	const char *end;
	unsigned long long v;
	int rc = parse_digits(s, &end, &v);
	if (rc) {
		return rc;
	}
	while (*end == ' ') {
		end++;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].suffix) != 0) {
			continue;
		}
		if (end > s && end[-1] == ' ' && units[i].shift == 0) {
			return -1; /* trailing blanks and no suffix */
		}
		if (v > SIZE_MAX || (size_t)v > (SIZE_MAX >> units[i].shift)) {
			return -2;
		}
		*out = (size_t)v << units[i].shift;
		return 0;
	}
	return -1;
}

int ctxd_config_parse_size(const char *s, size_t *out)
{
	size_t v;
	if (ctxd_cfg_parse_size(s, &v) != 0) {
		return -1;
	}
	*out = v;
	return 0;
}
