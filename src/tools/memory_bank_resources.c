/* tools/memory_bank_resources.c - the memory bank's resources: memory-bank://<project>/<file>
 * for every bank file (list, read, the URI template, completion of project and file, and the
 * path whose changes a subscription watches). main.c registers the provider table filled here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/memory_bank.h"
#include "ctxd/utf8.h"

/* ---- resources: memory-bank://<project>/<file> ------------------------------------- */

#define SCHEME "memory-bank://"

/* Split a URI into project and file; false when it is not one of ours. */
static bool parse_uri(const char *uri, char *project, size_t pn, char *file, size_t fn)
{
	size_t sl = strlen(SCHEME);
	if (strncmp(uri, SCHEME, sl) != 0) {
		return false;
	}
	const char *p = uri + sl, *slash = strchr(p, '/');
	if (!slash || (size_t)(slash - p) >= pn || strlen(slash + 1) >= fn) {
		return false;
	}
	memcpy(project, p, (size_t)(slash - p));
	project[slash - p] = '\0';
	strcpy(file, slash + 1);
	return ctxd_mb_project_ok(project) && ctxd_mb_file_ok(file);
}

static int res_open(struct ctxd_mb *mb, const struct ctxd_provider_ctx *ctx, const char *project,
		    struct ctxd_mb_dir *dir, struct ctxd_error *err)
{
	return ctxd_mb_open(mb, ctx ? ctx->sandbox : NULL, project, false, dir, err);
}

static int res_list(void *ud, const struct ctxd_provider_ctx *ctx, json_t *out,
		    struct ctxd_error *err)
{
	(void)ctx;
	json_t *projects = ctxd_mb_projects(ud, ctx ? ctx->sandbox : NULL, err);
	if (!projects) {
		return -1;
	}
	size_t i;
	json_t *p;
	json_array_foreach(projects, i, p)
	{
		struct ctxd_mb_dir dir;
		struct ctxd_error e2;
		if (res_open(ud, ctx, json_string_value(p), &dir, &e2)) {
			continue;
		}
		json_t *files = ctxd_mb_files(dir.fd, &e2);
		size_t k;
		json_t *f;
		json_array_foreach(files, k, f)
		{
			const char *name = json_string_value(f);
			struct stat st;
			if (fstatat(dir.fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				continue;
			}
			char uri[512], title[300];
			snprintf(uri, sizeof(uri), SCHEME "%s/%s", dir.project, name);
			snprintf(title, sizeof(title), "%s/%s", dir.project, name);
			json_array_append_new(
			    out, json_pack("{s:s, s:s, s:s, s:s, s:I}", "uri", uri, "name", title,
					   "description", "Memory bank file", "mimeType",
					   "text/markdown", "size", (json_int_t)st.st_size));
		}
		json_decref(files);
		close(dir.fd);
	}
	json_decref(projects);
	return 0;
}

static int res_templates(void *ud, json_t *out)
{
	(void)ud;
	return json_array_append_new(
	    out, json_pack("{s:s, s:s, s:s, s:s}", "uriTemplate", SCHEME "{project}/{file}", "name",
			   "memory-bank-file", "description",
			   "A memory bank file; the project is \"default\" "
			   "unless the server keeps one bank per project",
			   "mimeType", "text/markdown"));
}

static json_t *res_read(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri,
			struct ctxd_error *err)
{
	(void)ctx;
	char project[128], file[256];
	if (!parse_uri(uri, project, sizeof(project), file, sizeof(file))) {
		ctxd_error_set(err, CTXD_ERR_NOT_FOUND, "not a memory bank file URI: %.300s", uri);
		return NULL;
	}
	struct ctxd_mb_dir dir;
	if (res_open(ud, ctx, project, &dir, err)) {
		err->kind = CTXD_ERR_NOT_FOUND;
		return NULL;
	}
	char *data;
	size_t len;
	int rc = ctxd_mb_read_file(dir.fd, file, &data, &len);
	if (rc) {
		int e = errno;
		char why[400];
		ctxd_mb_read_error(dir.fd, file, e, why, sizeof(why));
		ctxd_error_set_errno(err, e == ENOENT ? CTXD_ERR_NOT_FOUND : CTXD_ERR_INTERNAL, e,
				     "cannot read %.300s: %s", uri, why);
		close(dir.fd);
		return NULL;
	}
	close(dir.fd);
	json_t *r = json_pack("[{s:s, s:s, s:o}]", "uri", uri, "mimeType", "text/markdown", "text",
			      ctxd_utf8_json(data, len));
	free(data);
	if (!r) {
		ctxd_error_set(err, CTXD_ERR_INTERNAL, "out of memory");
	}
	return r;
}

static int res_watch_path(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri, char *buf,
			  size_t n)
{
	(void)ctx;
	char project[128], file[256];
	if (!parse_uri(uri, project, sizeof(project), file, sizeof(file))) {
		return -1;
	}
	struct ctxd_mb_dir dir;
	struct ctxd_error err;
	if (res_open(ud, ctx, project, &dir, &err)) {
		return -1;
	}
	struct stat st;
	int rc = fstatat(dir.fd, file, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
			 (size_t)snprintf(buf, n, "%s/%s", dir.abs, file) < n
		     ? 0
		     : -1;
	close(dir.fd);
	return rc;
}

static int res_complete(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri_template,
			const char *var, const char *value, json_t *context_args, json_t *out,
			size_t *total, struct ctxd_error *err)
{
	(void)ctx;
	(void)uri_template;
	json_t *cands = NULL;
	*total = 0;
	if (strcmp(var, "project") == 0) {
		cands = ctxd_mb_projects(ud, ctx ? ctx->sandbox : NULL, err);
	} else if (strcmp(var, "file") == 0) {
		const char *project = json_string_value(json_object_get(context_args, "project"));
		struct ctxd_mb_dir dir;
		struct ctxd_error e2;
		if (!ctxd_mb_multi(ud) && project &&
		    strcmp(project, CTXD_MB_DEFAULT_PROJECT) != 0) {
			return 0;
		}
		if (res_open(ud, ctx, ctxd_mb_multi(ud) ? project : NULL, &dir, &e2)) {
			return 0;
		}
		cands = ctxd_mb_files(dir.fd, err);
		close(dir.fd);
	} else {
		return 0;
	}
	if (!cands) {
		return -1;
	}
	size_t i, vl = value ? strlen(value) : 0;
	json_t *c;
	json_array_foreach(cands, i, c)
	{
		if (strncmp(json_string_value(c), value ? value : "", vl) == 0) {
			if (*total < 100) {
				json_array_append(out, c);
			}
			(*total)++;
		}
	}
	json_decref(cands);
	return 0;
}

void ctxd_memory_bank_provider_init(struct ctxd_mb *mb, struct ctxd_resource_provider *p)
{
	p->scheme = "memory-bank";
	p->ud = mb;
	p->list = res_list;
	p->templates = res_templates;
	p->read = res_read;
	p->watch_path = res_watch_path;
	p->complete = res_complete;
}
