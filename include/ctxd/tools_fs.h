/* tools_fs.h - the file tools (read_text_file, read_media_file, read_multiple_files,
 * list_directory, list_directory_with_sizes, directory_tree, get_file_info, search_files,
 * grep, list_allowed_directories, and the writing tools write_file, edit_file, append_file,
 * copy_file, move_file, delete_file, create_directory), names and arguments as in the
 * reference filesystem server, plus the file:// resource provider. Every path goes through
 * the sandbox (sandbox.h).
 */
#ifndef CTXD_TOOLS_FS_H
#define CTXD_TOOLS_FS_H

#include <stddef.h>

#include "ctxd/provider.h"
#include "ctxd/tool.h"

/* The file tools table (static, borrowed) and its length. */
extern const struct ctxd_tool ctxd_fs_tools[];
extern const size_t ctxd_fs_tools_count;

/* The file:// resource provider (static, stateless: ud is NULL). resources/list gives the
 * regular files at the top level of each root (at most 1000); the template file:///{+path}
 * reads any file inside a root through the sandbox, as text (valid UTF-8, text-like MIME
 * type) or a base64 blob with its sniffed mimeType, up to the larger of limits.read_bytes
 * and limits.media_bytes; anything outside the roots or missing is
 * CTXD_PROVIDER_NOT_FOUND. watch_path gives the file's absolute path; complete proposes
 * paths inside the roots for {path}. main.c registers it with
 * ctxd_mcp_add_resource_provider(mcp, ctxd_fs_resources()). Any thread. */
const struct ctxd_resource_provider *ctxd_fs_resources(void);

#endif
