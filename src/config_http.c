/* config_http.c - the `http` section of the configuration (the Streamable HTTP transport):
 * defaults, frees and the parser. Part of the configuration's sources (config_priv.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

void ctxd_cfg_http_init(struct ctxd_config_http *h)
{
	memset(h, 0, sizeof(*h));
	h->path = NULL; /* "/mcp" unless set: see ctxd_config_http_path */
	h->max_connections = 1024;
	h->max_sessions = 10000;
	h->max_body_bytes = (size_t)4 << 20;
	h->max_queued_bytes = (size_t)8 << 20;
	h->idle_timeout_ms = 30000;
	h->session_timeout_ms = 3600000;
	h->keepalive_ms = 15000;
	h->metrics = false;
	h->max_connections_per_ip = 256;
	h->replay_buffer_bytes = (size_t)64 << 10;
}

void ctxd_cfg_http_finish(struct ctxd_config_http *h)
{
	ctxd_cfg_free_strs(h->listen, h->n_listen);
	ctxd_cfg_free_strs(h->allowed_origins, h->n_allowed_origins);
	ctxd_cfg_free_strs(h->allowed_hosts, h->n_allowed_hosts);
	free(h->path);
	free(h->tokens_file);
	free(h->tls_cert);
	free(h->tls_key);
	free(h->session_prefix);
	memset(h, 0, sizeof(*h));
}

static int push_str(char ***v, size_t *n, const char *s)
{
	char *copy = strdup(s);
	char **grown = copy ? realloc(*v, (*n + 1) * sizeof(**v)) : NULL;
	if (!grown) {
		free(copy);
		errno = ENOMEM;
		return -1;
	}
	grown[(*n)++] = copy;
	*v = grown;
	return 0;
}

int ctxd_config_add_listen(struct ctxd_config *cfg, const char *addr)
{
	if (!addr) {
		errno = EINVAL;
		return -1;
	}
	return push_str(&cfg->http.listen, &cfg->http.n_listen, addr);
}

/* A string or a sequence of non-empty strings; replaces *v when whole. */
static int parse_strs(struct loader *ld, const char *what, char ***v, size_t *n)
{
	struct str_list list = {NULL, 0};
	char *s = NULL;
	if (ld->ev.type == YAML_SCALAR_EVENT) {
		if (ctxd_cfg_get_string(ld, what, &s)) {
			return -1;
		}
		if (!s[0] || push_str(&list.v, &list.n, s)) {
			goto bad;
		}
		free(s);
		s = NULL;
	} else {
		if (ctxd_cfg_expect(ld, YAML_SEQUENCE_START_EVENT, what,
				    "a string or a sequence")) {
			return -1;
		}
		for (;;) {
			if (ctxd_cfg_next_event(ld)) {
				goto fail;
			}
			if (ld->ev.type == YAML_SEQUENCE_END_EVENT) {
				break;
			}
			if (ctxd_cfg_get_string(ld, what, &s)) {
				goto fail;
			}
			if (!s[0] || push_str(&list.v, &list.n, s)) {
				goto bad;
			}
			free(s);
			s = NULL;
		}
	}
	ctxd_cfg_free_strs(*v, *n);
	*v = list.v;
	*n = list.n;
	return 0;
bad:
	if (s && !s[0]) {
		ctxd_cfg_fail_at(ld, ld->ev.start_mark, "%s: must not be empty", what);
	} else {
		ctxd_error_set_errno(ld->err, 0, ENOMEM, "%.200s: out of memory", ld->name);
	}
	free(s);
fail:
	ctxd_cfg_free_strs(list.v, list.n);
	return -1;
}

/* One string key: replaces *out. */
static int parse_str(struct loader *ld, const char *what, char **out)
{
	char *s;
	if (ctxd_cfg_get_string(ld, what, &s)) {
		return -1;
	}
	if (!s[0]) {
		free(s);
		ctxd_cfg_fail_at(ld, ld->ev.start_mark, "%s: must not be empty", what);
		return -1;
	}
	free(*out);
	*out = s;
	return 0;
}

/* http: {listen, path, allowed_origins, allowed_hosts, tokens_file, tls_cert, tls_key,
 * max_connections, max_sessions, max_body_bytes, max_queued_bytes, idle_timeout_ms,
 * session_timeout_ms, keepalive_ms, metrics, session_prefix, max_connections_per_ip,
 * replay_buffer_bytes}. */
/* The numeric keys, read by ctxd_cfg_get_num like the limits section's. */
static const struct ctxd_cfg_num http_numbers[] = {
    {"max_connections", CTXD_CFG_UINT, 1, 1000000,
     offsetof(struct ctxd_config, http.max_connections)},
    {"max_sessions", CTXD_CFG_UINT, 1, 10000000, offsetof(struct ctxd_config, http.max_sessions)},
    {"max_body_bytes", CTXD_CFG_BYTES, 1024, MAX_BYTES_LIMIT,
     offsetof(struct ctxd_config, http.max_body_bytes)},
    {"max_queued_bytes", CTXD_CFG_BYTES, 1024, MAX_BYTES_LIMIT,
     offsetof(struct ctxd_config, http.max_queued_bytes)},
    {"idle_timeout_ms", CTXD_CFG_UINT, 1000, 86400000,
     offsetof(struct ctxd_config, http.idle_timeout_ms)},
    {"session_timeout_ms", CTXD_CFG_UINT, 1000, 604800000,
     offsetof(struct ctxd_config, http.session_timeout_ms)},
    {"keepalive_ms", CTXD_CFG_UINT, 100, 3600000, offsetof(struct ctxd_config, http.keepalive_ms)},
    {"max_connections_per_ip", CTXD_CFG_UINT, 1, 1000000,
     offsetof(struct ctxd_config, http.max_connections_per_ip)},
    {"replay_buffer_bytes", CTXD_CFG_BYTES, 0, MAX_BYTES_LIMIT,
     offsetof(struct ctxd_config, http.replay_buffer_bytes)},
};

/* Read the value of http.<keys[k]> (`what`) into `cfg`. Returns 0 or -1 with the loader's
 * error set. */
static int parse_http_key(struct loader *ld, size_t k, const char *const *keys, const char *what,
			  struct ctxd_config *cfg)
{
	struct ctxd_config_http *h = &cfg->http;
	for (size_t i = 0; i < N_KEYS(http_numbers); i++) {
		if (strcmp(keys[k], http_numbers[i].key) == 0) {
			return ctxd_cfg_get_num(ld, "http", &http_numbers[i], cfg);
		}
	}
	int rc;
	switch (k) {
	case 0:
		rc = parse_strs(ld, what, &h->listen, &h->n_listen);
		break;
	case 1:
		rc = parse_str(ld, what, &h->path);
		if (rc == 0 && h->path[0] != '/') {
			ctxd_cfg_fail_at(ld, ld->ev.start_mark, "%s: must start with '/'", what);
			rc = -1;
		}
		break;
	case 2:
		rc = parse_strs(ld, what, &h->allowed_origins, &h->n_allowed_origins);
		break;
	case 3:
		rc = parse_strs(ld, what, &h->allowed_hosts, &h->n_allowed_hosts);
		break;
	case 4:
		rc = parse_str(ld, what, &h->tokens_file);
		break;
	case 5:
		rc = parse_str(ld, what, &h->tls_cert);
		break;
	case 6:
		rc = parse_str(ld, what, &h->tls_key);
		break;
	case 14:
		rc = ctxd_cfg_get_bool(ld, what, &h->metrics);
		break;
	default:
		rc = parse_str(ld, what, &h->session_prefix);
		if (rc == 0 && (strlen(h->session_prefix) > 16 ||
				strspn(h->session_prefix,
				       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789_") != strlen(h->session_prefix))) {
			ctxd_cfg_fail_at(ld, ld->ev.start_mark,
					 "%s: at most 16 letters, digits or '_'", what);
			rc = -1;
		}
		break;
	}
	return rc;
}

int ctxd_cfg_parse_http(struct loader *ld, struct ctxd_config *cfg)
{
	static const char *const keys[] = {
	    "listen",
	    "path",
	    "allowed_origins",
	    "allowed_hosts",
	    "tokens_file",
	    "tls_cert",
	    "tls_key",
	    "max_connections",
	    "max_sessions",
	    "max_body_bytes",
	    "max_queued_bytes",
	    "idle_timeout_ms",
	    "session_timeout_ms",
	    "keepalive_ms",
	    "metrics",
	    "session_prefix",
	    "max_connections_per_ip",
	    "replay_buffer_bytes",
	};
	unsigned seen = 0;
	size_t k;
	int rc;
	char what[48];

	if (ctxd_cfg_expect(ld, YAML_MAPPING_START_EVENT, "http", "a mapping")) {
		return -1;
	}
	while ((rc = ctxd_cfg_next_key(ld, "http", keys, N_KEYS(keys), &seen, &k)) == 1) {
		snprintf(what, sizeof(what), "http.%s", keys[k]);
		rc = parse_http_key(ld, k, keys, what, cfg);
		if (rc) {
			return -1;
		}
	}
	return rc;
}
