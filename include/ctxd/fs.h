/* fs.h - the file tools, tabled in src/tools/fs.c (read_text_file, read_media_file,
 * read_multiple_files, list_directory, directory_tree, get_file_info, search_files, grep,
 * list_allowed_directories, and the writing tools write_file, edit_file, append_file,
 * copy_file, move_file, delete_file, create_directory), names and arguments as in the
 * reference filesystem server, plus the file:// resource provider. Every path goes through
 * the sandbox (sandbox.h).
 */
#ifndef CTXD_FS_H
#define CTXD_FS_H

#include <stddef.h>

#include "ctxd/provider.h"
#include "ctxd/registry.h"

/* The file tools' shared state: compiled ignore files (.gitignore and the like) kept across
 * calls. Register the tools with it as their `ud` (ctxd_registry_add); without it (ud
 * NULL) every call reads the ignore files again. Create and destroy on the loop thread;
 * NULL on ENOMEM; destroy is NULL-safe (after the pool and after detaching). */
struct ctxd_fs_family;
struct ctxd_watch;
struct ctxd_fs_family *ctxd_fs_family_create(void);
void ctxd_fs_family_destroy(struct ctxd_fs_family *f);

/* Let the watcher drop cached ignore files as soon as they change (`w` NULL detaches; do
 * that before the watcher is destroyed). Loop thread. */
void ctxd_fs_family_attach(struct ctxd_fs_family *f, struct ctxd_watch *w);

/* The file tools table (static, borrowed) and its length. */
extern const struct ctxd_tool ctxd_fs_tools[];
extern const size_t ctxd_fs_tools_count;

/* The file:// resource provider (static, stateless: ud is NULL). resources/list gives the
 * regular files at the top level of each root (at most 1000); the template file:///{+path}
 * reads any file inside a root through the sandbox, as text (valid UTF-8, text-like MIME
 * type) or a base64 blob with its sniffed mimeType, up to the larger of limits.read_bytes
 * and limits.media_bytes; anything outside the roots or missing is
 * CTXD_ERR_NOT_FOUND. watch_path gives the file's absolute path; complete proposes
 * paths inside the roots for {path}. main.c registers it with
 * ctxd_mcp_add_resource_provider(mcp, ctxd_fs_resources()). Any thread. */
const struct ctxd_resource_provider *ctxd_fs_resources(void);

#endif
