/* tools/skills_resources.c - the `skill://` resources (MCP 2025-11-25 server/resources):
 * skill://<name>/SKILL.md and skill://<name>/<path> of every bundled file, their templates,
 * subscriptions (the file's path) and completion; and the SEP-2640 skills/list and
 * skills/get methods, whose manifests name the same URIs with their sha256 digests.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxd/fsutil.h"
#include "ctxd/uri.h"
#include "skills_priv.h"

/* ---- resources ------------------------------------------------------------------------ */

/* Split skill://NAME/PATH (percent-decoded) into name and path. */
static bool parse_uri(const char *uri, char *name, size_t nsz, char *path, size_t psz)
{
	if (strncmp(uri, "skill://", 8) != 0) {
		return false;
	}
	const char *s = uri + 8;
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || (size_t)(slash - s) >= nsz) {
		return false;
	}
	memcpy(name, s, (size_t)(slash - s));
	name[slash - s] = '\0';
	const char *p = slash + 1;
	return ctxd_percent_decode(p, strcspn(p, "?#"), path, psz, false) > 0;
}

static json_t *resource_entry(const struct ctxd_skill *k, const char *rel, uint64_t size)
{
	char uri[CTXD_PATH_MAX + 80];
	snprintf(uri, sizeof(uri), "skill://%s/%s", k->name, rel);
	bool md = strcmp(rel, "SKILL.md") == 0;
	char nm[CTXD_PATH_MAX + 80];
	snprintf(nm, sizeof(nm), "%s/%s", k->name, rel);
	json_t *o =
	    json_pack("{s:o, s:o, s:I}", "uri", ctxd_skills_jstr(uri), "name",
		      md ? json_string(k->name) : ctxd_skills_jstr(nm), "size", (json_int_t)size);
	const char *mime = md ? "text/markdown" : ctxd_skills_mime(rel);
	if (o && mime) {
		json_object_set_new(o, "mimeType", json_string(mime));
	}
	if (o && md) {
		json_object_set_new(o, "title", json_string(k->name));
		json_object_set_new(o, "description", json_string(k->doc->description));
	}
	return o;
}

static int res_list(void *ud, const struct ctxd_provider_ctx *ctx, json_t *out,
		    struct ctxd_error *err)
{
	(void)ctx;
	struct ctxd_skills_snapshot *snap = ctxd_sk_snapshot(ud);
	if (!snap) {
		ctxd_error_set(err, CTXD_ERR_INTERNAL, "skills: out of memory");
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < snap->n_skills && rc == 0; i++) {
		const struct ctxd_skill *k = &snap->skills[i];
		rc = json_array_append_new(out, resource_entry(k, "SKILL.md", k->doc->md_size));
		for (size_t j = 0; j < k->n_files && rc == 0; j++) {
			rc =
			    json_array_append_new(out, resource_entry(k, k->files[j], k->sizes[j]));
		}
	}
	ctxd_sk_snapshot_put(snap);
	if (rc) {
		ctxd_error_set(err, CTXD_ERR_INTERNAL, "skills: out of memory");
	}
	return rc ? -1 : 0;
}

static int res_templates(void *ud, json_t *out)
{
	(void)ud;
	json_t *a =
	    json_pack("{s:s, s:s, s:s, s:s}", "uriTemplate", "skill://{name}/SKILL.md", "name",
		      "skill", "description", "A skill's SKILL.md (frontmatter and instructions)",
		      "mimeType", "text/markdown");
	json_t *b = json_pack("{s:s, s:s, s:s}", "uriTemplate", "skill://{name}/{+path}", "name",
			      "skill-file", "description",
			      "A file bundled with a skill, path relative to its folder");
	if (!a || !b || json_array_append_new(out, a) < 0 || json_array_append_new(out, b) < 0) {
		json_decref(b);
		return -1;
	}
	return 0;
}

static json_t *res_read(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri,
			struct ctxd_error *err)
{
	(void)ctx;
	struct ctxd_skills *sk = ud;
	char name[CTXD_SKILL_NAME_BYTES + 1], path[CTXD_PATH_MAX];
	if (!parse_uri(uri, name, sizeof(name), path, sizeof(path))) {
		ctxd_error_set(err, CTXD_ERR_NOT_FOUND, "not a skill resource: %.300s", uri);
		return NULL;
	}
	struct ctxd_skills_snapshot *snap = ctxd_sk_snapshot(sk);
	if (!snap) {
		ctxd_error_set(err, CTXD_ERR_INTERNAL, "skills: out of memory");
		return NULL;
	}
	const struct ctxd_skill *k = ctxd_sk_find(snap, name);
	json_t *res = NULL;
	char *buf = NULL;
	size_t len = 0, total = 0;
	int rc = k ? ctxd_skills_read_file(sk, k, path, RESOURCE_MAX, &buf, &len, &total) : -ENOENT;
	if (rc < 0) {
		char why[64];
		ctxd_error_set(err,
			       rc == -ENOENT || rc == -EACCES || rc == -EISDIR || rc == -NOT_REGULAR
				   ? CTXD_ERR_NOT_FOUND
				   : CTXD_ERR_INTERNAL,
			       "resource not found: %.300s (%s)", uri,
			       ctxd_skills_read_problem(rc, why, sizeof(why)));
	} else if (len < total) {
		ctxd_error_set(err, CTXD_ERR_INTERNAL, "%.300s is larger than 16 MiB", uri);
	} else {
		const char *mime =
		    strcmp(path, "SKILL.md") == 0 ? "text/markdown" : ctxd_skills_mime(path);
		if (ctxd_skills_is_text(buf, len)) {
			res = json_pack("[{s:s, s:s, s:s%}]", "uri", uri, "mimeType",
					mime ? mime : "text/plain", "text", buf, len);
		} else {
			char *enc = ctxd_skills_b64((unsigned char *)buf, len);
			res = enc ? json_pack("[{s:s, s:s, s:s}]", "uri", uri, "mimeType",
					      mime ? mime : "application/octet-stream", "blob", enc)
				  : NULL;
			free(enc);
		}
		if (!res) {
			ctxd_error_set(err, CTXD_ERR_INTERNAL, "skills: out of memory");
		}
	}
	free(buf);
	ctxd_sk_snapshot_put(snap);
	return res;
}

static int res_watch_path(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri, char *buf,
			  size_t n)
{
	(void)ctx;
	char name[CTXD_SKILL_NAME_BYTES + 1], path[CTXD_PATH_MAX];
	if (!parse_uri(uri, name, sizeof(name), path, sizeof(path))) {
		return -1;
	}
	struct ctxd_skills_snapshot *snap = ctxd_sk_snapshot(ud);
	const struct ctxd_skill *k = ctxd_sk_find(snap, name);
	int rc = -1;
	if (k && strcmp(path, "SKILL.md") == 0) {
		if ((size_t)snprintf(buf, n, "%s", k->skill_md) < n) { /* SKILL.md or skill.md */
			rc = 0;
		}
	} else if (k && ctxd_skills_has_file(k, path) &&
		   (size_t)snprintf(buf, n, "%s/%s", k->dir, path) < n) {
		rc = 0;
	}
	ctxd_sk_snapshot_put(snap);
	return rc;
}

static int res_complete(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri_template,
			const char *var, const char *value, json_t *context_args, json_t *out,
			size_t *total, struct ctxd_error *err)
{
	(void)ctx;
	(void)uri_template;
	struct ctxd_skills_snapshot *snap = ctxd_sk_snapshot(ud);
	if (!snap) {
		ctxd_error_set(err, CTXD_ERR_INTERNAL, "skills: out of memory");
		return -1;
	}
	size_t vl = value ? strlen(value) : 0;
	*total = 0;
	if (strcmp(var, "name") == 0) {
		for (size_t i = 0; i < snap->n_skills; i++) {
			if (strncmp(snap->skills[i].name, value ? value : "", vl) == 0) {
				if (++*total <= 100) {
					json_array_append_new(out,
							      json_string(snap->skills[i].name));
				}
			}
		}
	} else if (strcmp(var, "path") == 0) {
		const char *nm = json_string_value(json_object_get(context_args, "name"));
		const struct ctxd_skill *k = nm ? ctxd_sk_find(snap, nm) : NULL;
		for (size_t i = 0; k && i <= k->n_files; i++) {
			const char *f = i == 0 ? "SKILL.md" : k->files[i - 1];
			if (strncmp(f, value ? value : "", vl) == 0 && ++*total <= 100) {
				json_array_append_new(out, ctxd_skills_jstr(f));
			}
		}
	}
	ctxd_sk_snapshot_put(snap);
	return 0;
}

void ctxd_skills_resources_init(struct ctxd_resource_provider *p, struct ctxd_skills *sk)
{
	*p = (struct ctxd_resource_provider){
	    .scheme = "skill",
	    .ud = sk,
	    .list = res_list,
	    .templates = res_templates,
	    .read = res_read,
	    .watch_path = res_watch_path,
	    .complete = res_complete,
	};
}

/* ---- SEP-2640 ------------------------------------------------------------------------- */

static json_t *digest_entry(struct ctxd_skills *sk, const struct ctxd_skill *k, const char *rel)
{
	char *buf = NULL;
	size_t len = 0, total = 0;
	if (ctxd_skills_read_file(sk, k, rel, RESOURCE_MAX, &buf, &len, &total) < 0) {
		return NULL;
	}
	char hex[CTXD_SHA256_HEX_LEN + 1];
	ctxd_sha256_hex(buf, len, hex);
	free(buf);
	char uri[CTXD_PATH_MAX + 80], dg[CTXD_SHA256_HEX_LEN + 8];
	snprintf(uri, sizeof(uri), "skill://%s/%s", k->name, rel);
	snprintf(dg, sizeof(dg), "sha256:%s", hex);
	return json_pack("{s:o, s:s, s:I}", "uri", ctxd_skills_jstr(uri), "digest", dg, "size",
			 (json_int_t)len);
}

/* A Skill entry {uri, frontmatter, resources}; files that vanished since the scan are left
 * out of the manifest. */
static json_t *skill_entry(struct ctxd_skills *sk, const struct ctxd_skill *k)
{
	json_t *res = json_array();
	for (size_t i = 0; res && i <= k->n_files; i++) {
		json_t *e = digest_entry(sk, k, i == 0 ? "SKILL.md" : k->files[i - 1]);
		if (e && json_array_append_new(res, e) < 0) {
			json_decref(res);
			res = NULL;
		}
	}
	char uri[CTXD_SKILL_NAME_BYTES + 32];
	snprintf(uri, sizeof(uri), "skill://%s/SKILL.md", k->name);
	return res ? json_pack("{s:s, s:O, s:o}", "uri", uri, "frontmatter", k->doc->frontmatter,
			       "resources", res)
		   : NULL;
}

/* skills/list: a page of Skill entries. */
static json_t *sep_list(struct ctxd_skills *sk, const struct ctxd_provider_ctx *ctx,
			const struct ctxd_skills_snapshot *snap, json_t *params,
			struct ctxd_error *err)
{
	json_t *cur = json_object_get(params, "cursor");
	size_t start = 0;
	if (cur && !json_is_null(cur)) {
		const char *c = json_string_value(cur);
		char *end = NULL;
		unsigned long long v = c && *c >= '0' && *c <= '9' ? strtoull(c, &end, 10) : 0;
		if (!c || !end || *end || v > snap->n_skills) {
			ctxd_error_set(err, CTXD_ERR_INVALID_PARAMS, "invalid cursor");
			return NULL;
		}
		start = (size_t)v;
	}
	const struct ctxd_config *cfg = ctx && ctx->cfg ? ctx->cfg : ctxd_sk_config(sk);
	size_t page = cfg && cfg->page_size ? cfg->page_size : 100;
	json_t *arr = json_array();
	size_t i = start;
	for (; arr && i < snap->n_skills && i < start + page; i++) {
		if (ctx && ctxd_job_cancelled(ctx->job)) {
			break;
		}
		if (json_array_append_new(arr, skill_entry(sk, &snap->skills[i])) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	json_t *out = arr ? json_pack("{s:o}", "skills", arr) : NULL;
	if (out && i < snap->n_skills) {
		char c[32];
		snprintf(c, sizeof(c), "%zu", i);
		json_object_set_new(out, "nextCursor", json_string(c));
	}
	if (!out) {
		ctxd_error_set(err, CTXD_ERR_INTERNAL, "skills: out of memory");
	}
	return out;
}

/* skills/get: the Skill entry of params.uri (a skill's SKILL.md URI). */
static json_t *sep_get(struct ctxd_skills *sk, const struct ctxd_skills_snapshot *snap,
		       json_t *params, struct ctxd_error *err)
{
	const char *uri = json_string_value(json_object_get(params, "uri"));
	char name[CTXD_SKILL_NAME_BYTES + 1], path[CTXD_PATH_MAX];
	const struct ctxd_skill *k = NULL;
	if (uri && parse_uri(uri, name, sizeof(name), path, sizeof(path)) &&
	    strcmp(path, "SKILL.md") == 0) {
		k = ctxd_sk_find(snap, name);
	}
	if (!uri) {
		ctxd_error_set(err, CTXD_ERR_INVALID_PARAMS, "params.uri (string) is required");
		return NULL;
	}
	if (!k) {
		ctxd_error_set(err, CTXD_ERR_INVALID_PARAMS, "not a skill served here: %.300s",
			       uri);
		return NULL;
	}
	json_t *e = skill_entry(sk, k);
	json_t *out = e ? json_pack("{s:o}", "skill", e) : NULL;
	if (!out) {
		ctxd_error_set(err, CTXD_ERR_INTERNAL, "skills: out of memory");
	}
	return out;
}

/* Both methods: check the params, take the catalogue, answer. */
static json_t *sep_call(struct ctxd_skills *sk, const struct ctxd_provider_ctx *ctx, bool list,
			json_t *params, struct ctxd_error *err)
{
	if (params && !json_is_object(params)) {
		ctxd_error_set(err, CTXD_ERR_INVALID_PARAMS, "params must be an object");
		return NULL;
	}
	struct ctxd_skills_snapshot *snap = ctxd_sk_snapshot(sk);
	if (!snap) {
		ctxd_error_set(err, CTXD_ERR_INTERNAL, "skills: out of memory");
		return NULL;
	}
	json_t *out = list ? sep_list(sk, ctx, snap, params, err) : sep_get(sk, snap, params, err);
	ctxd_sk_snapshot_put(snap);
	return out;
}

json_t *ctxd_skills_list_method(void *ud, const struct ctxd_provider_ctx *ctx, const char *method,
				json_t *params, struct ctxd_error *err)
{
	(void)method;
	return sep_call(ud, ctx, true, params, err);
}

json_t *ctxd_skills_get_method(void *ud, const struct ctxd_provider_ctx *ctx, const char *method,
			       json_t *params, struct ctxd_error *err)
{
	(void)method;
	return sep_call(ud, ctx, false, params, err);
}

json_t *ctxd_skills_capability(void)
{
	return json_object();
}
