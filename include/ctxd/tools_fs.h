/* tools_fs.h - the file tools (read_text_file, list_directory, get_file_info,
 * search_files, list_allowed_directories, ...), names and arguments as in the reference
 * filesystem server. Every path goes through the sandbox (sandbox.h).
 */
#ifndef CTXD_TOOLS_FS_H
#define CTXD_TOOLS_FS_H

#include <stddef.h>

#include "ctxd/tool.h"

/* The file tools table (static, borrowed) and its length. */
extern const struct ctxd_tool ctxd_fs_tools[];
extern const size_t ctxd_fs_tools_count;

#endif
