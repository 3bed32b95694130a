/* fuzz_config.c - the YAML config loader (ctxd_config_load_buffer).
 *
 * The input is loaded over the defaults; on success the result is checked for sanity (the
 * counts match their arrays, every string is set) and the same input is loaded a second
 * time over the first result (a key present replaces, lists included), which must succeed
 * too and give the same root count. ctxd_config_finish releases everything (LeakSanitizer
 * checks it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxd/config.h"
#include "ctxd/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct ctxd_config *cfg)
{
	if ((cfg->n_roots && !cfg->roots) || (cfg->n_disabled_tools && !cfg->disabled_tools) ||
	    (cfg->n_skills_dirs && !cfg->skills_dirs)) {
		abort();
	}
	for (size_t i = 0; i < cfg->n_roots; i++) {
		if (!cfg->roots[i].path) {
			abort();
		}
	}
	for (size_t i = 0; i < cfg->n_disabled_tools; i++) {
		if (!cfg->disabled_tools[i]) {
			abort();
		}
	}
	for (size_t i = 0; i < cfg->n_skills_dirs; i++) {
		if (!cfg->skills_dirs[i]) {
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet) {
		ctxd_log_set_level(CTXD_LOG_OFF);
		quiet = 1;
	}
	struct ctxd_config cfg;
	struct ctxd_error err = {0};
	ctxd_config_init(&cfg);
	int rc = ctxd_config_load_buffer(&cfg, (const char *)data, size, "fuzz.yaml", &err);
	check(&cfg);
	if (rc < 0) {
		if (err.msg[0] == '\0') {
			fprintf(stderr, "load failed without a message\n");
			abort();
		}
	} else {
		size_t roots = cfg.n_roots;
		if (ctxd_config_load_buffer(&cfg, (const char *)data, size, "fuzz.yaml", &err) <
		    0) {
			fprintf(stderr, "second load of an accepted input failed: %s\n", err.msg);
			abort();
		}
		check(&cfg);
		if (cfg.n_roots != roots) {
			fprintf(stderr, "root count changed on reload: %zu -> %zu\n", roots,
				cfg.n_roots);
			abort();
		}
	}
	ctxd_config_finish(&cfg);
	return 0;
}
