/* fs_resources.c - file:// resources over the allowed directories: resources/list,
 * templates, read, subscriptions' watch paths and path completion.
 */
#include "ctxd/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/json_write.h"
#include "ctxd/provider.h"
#include "ctxd/sandbox.h"
#include "ctxd/uri.h"
#include "fs_priv.h"
#include "fs_pwalk.h"
#include "fs_walk.h"
#include "schemas/schemas.h"

/* ---- file:// resources ------------------------------------------------------------ */

#define RES_LIST_MAX 1000u

static int res_list(void *ud, const struct ctxd_provider_ctx *ctx, json_t *out,
		    struct ctxd_error *err)
{
	(void)ud;
	size_t added = 0;
	size_t nr = ctxd_sandbox_root_count(ctx->sandbox);
	for (size_t r = 0; r < nr && added < RES_LIST_MAX; r++) {
		const struct ctxd_root *root = ctxd_sandbox_root(ctx->sandbox, r);
		int dfd = ctxd_sandbox_openat(root->fd, ".", O_RDONLY | O_DIRECTORY, 0, false);
		if (dfd < 0) {
			continue;
		}
		DIR *d = fdopendir(dfd);
		if (!d) {
			close(dfd);
			continue;
		}
		struct dirent *de;
		while ((de = readdir(d)) && added < RES_LIST_MAX) {
			struct stat st;
			if (de->d_name[0] == '.' ||
			    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISREG(st.st_mode)) {
				continue;
			}
			char abs[CTXD_PATH_MAX], uri[3 * CTXD_PATH_MAX + 16];
			bool slash = strcmp(root->path, "/") == 0;
			if ((size_t)snprintf(abs, sizeof(abs), "%s%s%s", root->path,
					     slash ? "" : "/", de->d_name) >= sizeof(abs) ||
			    ctxd_path_to_file_uri(abs, uri, sizeof(uri)) < 0) {
				continue;
			}
			const char *mime = ctxd_fs_sniff_mime(NULL, 0, de->d_name);
			json_t *j = json_pack("{s:s, s:o, s:I}", "uri", uri, "name",
					      ctxd_utf8_json(de->d_name, strlen(de->d_name)),
					      "size", (json_int_t)st.st_size);
			if (j && mime) {
				json_object_set_new(j, "mimeType", json_string(mime));
			}
			if (!j || json_array_append_new(out, j) < 0) {
				closedir(d);
				ctxd_error_set(err, CTXD_ERR_INTERNAL, "out of memory");
				return -1;
			}
			added++;
		}
		closedir(d);
	}
	return 0;
}

static int res_templates(void *ud, json_t *out)
{
	(void)ud;
	return json_array_append_new(
	    out, json_pack("{s:s, s:s, s:s, s:s}", "uriTemplate", "file:///{+path}", "name", "file",
			   "title", "Files in the allowed directories", "description",
			   "Any file inside an allowed directory, by absolute path."));
}

static json_t *res_read(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri,
			struct ctxd_error *err)
{
	(void)ud;
	char path[CTXD_PATH_MAX];
	long pl = ctxd_file_uri_to_path(uri, path, sizeof(path));
	if (pl <= 0) {
		ctxd_error_set(err, CTXD_ERR_NOT_FOUND, "not a file:// URI: %s", uri);
		return NULL;
	}
	struct ctxd_error e2 = {0};
	struct ctxd_sandbox_loc loc;
	int fd = ctxd_sandbox_open(ctx->sandbox, path, (size_t)pl, O_RDONLY | O_NONBLOCK | O_NOCTTY,
				   0, false, &loc, &e2);
	if (fd < 0) {
		ctxd_error_set(err, CTXD_ERR_NOT_FOUND, "Resource not found: %s", uri);
		return NULL;
	}
	struct stat st;
	size_t cap = ctx->cfg && ctx->cfg->max_media_bytes > ctx->cfg->max_read_bytes
			 ? ctx->cfg->max_media_bytes
		     : ctx->cfg && ctx->cfg->max_read_bytes ? ctx->cfg->max_read_bytes
							    : (size_t)1 << 20;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		ctxd_error_set(err, CTXD_ERR_NOT_FOUND, "Resource not found: %s (not a file)", uri);
		return NULL;
	}
	char *buf = NULL;
	size_t n = 0;
	if (ctxd_read_all(fd, cap, &buf, &n) < 0) {
		int e = errno;
		close(fd);
		ctxd_error_set(err, CTXD_ERR_INTERNAL, "cannot read %s: %s", uri,
			       e == EFBIG ? "larger than the server's read limit" : strerror(e));
		return NULL;
	}
	close(fd);
	const char *mime = ctxd_fs_sniff_mime((const unsigned char *)buf, n, loc.abs);
	bool text = !ctxd_fs_looks_binary(buf, n) && ctxd_utf8_invalid_at(buf, n) == n &&
		    (!mime || strncmp(mime, "text/", 5) == 0 || strstr(mime, "json") ||
		     strstr(mime, "xml") || strstr(mime, "yaml"));
	json_t *c = text ? json_pack("{s:s, s:s, s:s%}", "uri", uri, "mimeType",
				     mime ? mime : "text/plain", "text", buf, n)
			 : json_pack("{s:s, s:s, s:o}", "uri", uri, "mimeType",
				     mime ? mime : "application/octet-stream", "blob",
				     ctxd_fs_base64((const unsigned char *)buf, n));
	free(buf);
	json_t *arr = c ? json_pack("[o]", c) : NULL;
	if (!arr) {
		ctxd_error_set(err, CTXD_ERR_INTERNAL, "out of memory");
	}
	return arr;
}

static int res_watch_path(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri, char *buf,
			  size_t n)
{
	(void)ud;
	char path[CTXD_PATH_MAX];
	long pl = ctxd_file_uri_to_path(uri, path, sizeof(path));
	if (pl <= 0) {
		return -1;
	}
	struct ctxd_error err = {0};
	struct ctxd_sandbox_loc loc;
	int fd = ctxd_sandbox_open(ctx->sandbox, path, (size_t)pl, O_PATH, 0, false, &loc, &err);
	if (fd < 0) {
		return -1;
	}
	close(fd);
	if (strlen(loc.abs) >= n) {
		return -1;
	}
	memcpy(buf, loc.abs, strlen(loc.abs) + 1);
	return 0;
}

struct complete_state {
	json_t *out;
	const char *dir; /* value up to and including its last '/' */
	size_t dir_len;
	const char *prefix;
	size_t prefix_len;
	size_t total;
};

static int complete_visit(const struct ctxd_fs_walk_entry *e, void *ud)
{
	struct complete_state *s = ud;
	if (e->name_len < s->prefix_len || memcmp(e->name, s->prefix, s->prefix_len) != 0) {
		return CTXD_FS_WALK_SKIP;
	}
	s->total++;
	if (json_array_size(s->out) < 100) {
		struct ctxd_strbuf b = {0};
		ctxd_strbuf_add(&b, s->dir, s->dir_len);
		ctxd_strbuf_add(&b, e->name, e->name_len);
		if (e->type == CTXD_FS_WALK_DIR) {
			ctxd_strbuf_add(&b, "/", 1);
		}
		if (!b.oom) {
			json_array_append_new(s->out, ctxd_utf8_json(b.p, b.len));
		}
		free(b.p);
	}
	return CTXD_FS_WALK_SKIP;
}

/* Completion of {path} in file:///{+path}: the value is an absolute path without its
 * leading '/'. Entries of the directory it names that start with its last component; with
 * no directory inside a root yet, the roots themselves. */
static int res_complete(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri_template,
			const char *var, const char *value, json_t *context_args, json_t *out,
			size_t *total, struct ctxd_error *err)
{
	(void)ud;
	(void)uri_template;
	(void)context_args;
	*total = 0;
	if (strcmp(var, "path") != 0) {
		return 0;
	}
	const char *v = value ? value : "";
	while (*v == '/') {
		v++;
	}
	const char *slash = strrchr(v, '/');
	struct complete_state s = {.out = out,
				   .dir = v,
				   .dir_len = slash ? (size_t)(slash - v) + 1 : 0,
				   .prefix = slash ? slash + 1 : v};
	s.prefix_len = strlen(s.prefix);
	char dir[CTXD_PATH_MAX];
	int k = snprintf(dir, sizeof(dir), "/%.*s", (int)s.dir_len, v);
	int fd = -1;
	struct ctxd_error e2 = {0};
	if (k > 0 && (size_t)k < sizeof(dir)) {
		fd = ctxd_sandbox_open(ctx->sandbox, dir, (size_t)k, O_PATH | O_DIRECTORY, 0, false,
				       NULL, &e2);
	}
	if (fd < 0) {
		/* not inside a root yet: offer the roots */
		size_t nr = ctxd_sandbox_root_count(ctx->sandbox);
		for (size_t i = 0; i < nr; i++) {
			const char *rp = ctxd_sandbox_root(ctx->sandbox, i)->path + 1;
			if (strncmp(rp, v, strlen(v)) == 0) {
				(*total)++;
				if (json_array_size(out) < 100) {
					json_array_append_new(out, ctxd_utf8_json(rp, strlen(rp)));
				}
			}
		}
		return 0;
	}
	struct ctxd_fs_walk_opts o = {
	    .max_depth = 1,
	    .sorted = true,
	    .job = ctx->job,
	    .visit = complete_visit,
	    .ud = &s,
	};
	int rc = ctxd_fs_walk(fd, &o, NULL);
	close(fd);
	if (rc < 0 && rc != -ECANCELED) {
		ctxd_error_set(err, CTXD_ERR_INTERNAL, "cannot list %s: %s", dir, strerror(-rc));
		return -1;
	}
	*total = s.total;
	return 0;
}

static const struct ctxd_resource_provider fs_provider = {
    .scheme = "file",
    .ud = NULL,
    .list = res_list,
    .templates = res_templates,
    .read = res_read,
    .watch_path = res_watch_path,
    .complete = res_complete,
};

const struct ctxd_resource_provider *ctxd_fs_resources(void)
{
	return &fs_provider;
}
