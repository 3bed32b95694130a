/* config_priv.h - what the configuration's sources share: config.c (the settings and their
 * API), config_yaml.c (libyaml event walking, scalars checked against their shapes) and
 * config_load.c (the file, the document, one parser per section). Calls run one way:
 * config_load.c -> config_yaml.c -> config.c. Internal to the base layer.
 */
#ifndef CTXD_CONFIG_PRIV_H
#define CTXD_CONFIG_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "ctxd/config.h"

#define MAX_DEPTH       16                /* nested mappings/sequences */
#define MAX_FILE_BYTES  ((size_t)1 << 20) /* ctxd_config_load_file refuses bigger files */
#define MAX_BYTES_LIMIT ((size_t)1 << 30) /* upper bound of every size limit: 1 GiB */
#define MAX_COPY_LIMIT  ((size_t)1 << 40) /* ... but limits.copy_bytes: 1 TiB */
#define KEY_MAX         64                /* longer keys are unknown anyway */

struct loader {
	yaml_parser_t parser;
	yaml_event_t ev; /* the current event, valid while have_ev */
	bool have_ev;
	int depth;
	const char *name;
	const unsigned char *buf;
	size_t len;
	struct ctxd_error *err;
};

/* A list being built; it replaces the configured one only when complete. */
struct str_list {
	char **v;
	size_t n, cap;
};

/* Elements of a key table. */
#define N_KEYS(a) (sizeof(a) / sizeof((a)[0]))

/* config.c: list freeing, number parsing (0, or -1 when not a number in range), root lists
 * (0, or -1 on ENOMEM). */
void ctxd_cfg_free_names(struct ctxd_config_names *v, size_t n);
void ctxd_cfg_free_roots(struct ctxd_config_root *roots, size_t n);
void ctxd_cfg_free_strs(char **v, size_t n);
int ctxd_cfg_parse_size(const char *s, size_t *out);
int ctxd_cfg_parse_uint(const char *s, unsigned long long *out);
int ctxd_cfg_push_root(struct ctxd_config_root **roots, size_t *n, const char *path,
		       bool read_only);

/* config_yaml.c: the event walk. Functions returning int give 0, or -1 with ld->err set to
 * "NAME:LINE:COLUMN: what: expected ..., got ..."; ctxd_cfg_next_key gives 1 with *index set and
 * the parser on the value, 0 at the end of the mapping, or -1. */
int ctxd_cfg_expect(struct loader *ld, yaml_event_type_t type, const char *what,
		    const char *expected);
void ctxd_cfg_fail_at(struct loader *ld, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ctxd_cfg_get_bool(struct loader *ld, const char *what, bool *out);
int ctxd_cfg_get_hardlinks(struct loader *ld, const char *what, bool *refuse);
int ctxd_cfg_get_level(struct loader *ld, const char *what, enum ctxd_log_level *out);
int ctxd_cfg_get_size(struct loader *ld, const char *what, size_t lo, size_t hi, size_t *out);
int ctxd_cfg_get_string(struct loader *ld, const char *what, char **out);
int ctxd_cfg_get_uint(struct loader *ld, const char *what, unsigned long long lo,
		      unsigned long long hi, unsigned long long *out);

/* A numeric key of a section: its name, its kind (a byte size with an optional unit
 * suffix, or a plain count stored in a size_t or an unsigned field), its bounds, and where
 * it goes (offset of the field in struct ctxd_config). */
enum ctxd_cfg_num_kind {
	CTXD_CFG_BYTES, /* ctxd_cfg_get_size into a size_t */
	CTXD_CFG_COUNT, /* ctxd_cfg_get_uint into a size_t */
	CTXD_CFG_UINT,  /* ctxd_cfg_get_uint into an unsigned */
};
struct ctxd_cfg_num {
	const char *key;
	enum ctxd_cfg_num_kind kind;
	unsigned long long lo, hi;
	size_t off;
};
/* Read <section>.<l->key> into its field of `cfg`. Returns 0 or -1 with the loader's error
 * set. */
int ctxd_cfg_get_num(struct loader *ld, const char *section, const struct ctxd_cfg_num *l,
		     struct ctxd_config *cfg);
bool ctxd_cfg_is_null(const yaml_event_t *ev);
const char *ctxd_cfg_kind(const yaml_event_t *ev);
int ctxd_cfg_next_event(struct loader *ld);
int ctxd_cfg_next_key(struct loader *ld, const char *section, const char *const *keys,
		      size_t n_keys, unsigned *seen, size_t *index);
int ctxd_cfg_scalar(struct loader *ld, const char *what, const char *expected, const char **out);
const char *ctxd_cfg_value_excerpt(struct loader *ld, char *dst, size_t size);

/* config_http.c: the http section's defaults, frees and parser (0, or -1 with ld->err). */
void ctxd_cfg_http_init(struct ctxd_config_http *h);
void ctxd_cfg_http_finish(struct ctxd_config_http *h);
int ctxd_cfg_parse_http(struct loader *ld, struct ctxd_config *cfg);
#endif
