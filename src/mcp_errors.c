/* mcp_errors.c - the one place where a failure's kind (enum ctxd_err_kind, error.h) becomes
 * a JSON-RPC error code. The layers below report kinds; the protocol layer picks the code
 * for the client's era here. */
#include <stdbool.h>

#include "ctxd/error.h"
#include "ctxd/rpc.h"
#include "mcp_priv.h"

int ctxd_mcp_error_code(enum ctxd_err_kind kind, bool modern)
{
	switch (kind) {
	case CTXD_ERR_PARSE:
		return CTXD_RPC_PARSE_ERROR;
	case CTXD_ERR_INVALID_REQUEST:
		return CTXD_RPC_INVALID_REQUEST;
	case CTXD_ERR_INVALID_PARAMS:
		return CTXD_RPC_INVALID_PARAMS;
	case CTXD_ERR_NOT_FOUND:
		/* 2025-11-25 server/resources "Error Handling" names -32002 for an unknown
		 * resource; 2026-07-28 answers it as invalid params */
		return modern ? CTXD_RPC_INVALID_PARAMS : CTXD_RPC_RESOURCE_NOT_FOUND;
	case CTXD_ERR_TOOL:
	case CTXD_ERR_PRECONDITION:
	case CTXD_ERR_INTERNAL:
		break;
	}
	return CTXD_RPC_INTERNAL_ERROR;
}

void ctxd_mcp_map_provider_error(const struct ctxd_error *pe, bool modern, const char *uri,
				 struct rpc_err *e)
{
	const char *fallback = "Internal error";
	if (pe->kind == CTXD_ERR_NOT_FOUND) {
		fallback = "Not found";
	} else if (pe->kind == CTXD_ERR_INVALID_PARAMS) {
		fallback = "";
	}
	set_err(e, ctxd_mcp_error_code(pe->kind, modern), "%s", pe->msg[0] ? pe->msg : fallback);
	if (uri && pe->kind == CTXD_ERR_NOT_FOUND) {
		e->data = json_pack("{s:s}", "uri", uri);
	}
}
