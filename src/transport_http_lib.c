/* transport_http_lib.c - GNU libmicrohttpd loaded at run time (dlopen), in HTTP mode only.
 *
 * Linked normally, libmicrohttpd brings GnuTLS and its dependencies into every ctxd process:
 * measured on the stdio path, 1.5 ms more from fork to the initialize answer and 2.2 MiB
 * more idle RSS (GnuTLS initialises itself when loaded). Loading it when --http is given
 * keeps stdio as it was; the headers still come from libmicrohttpd-dev, so the types and
 * constants are checked at build time. */
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

#include "ctxd/transport_http.h"
#include "ctxd_version.h"
#include "transport_http_priv.h"

struct ctxd_mhd ctxd_mhd;

int ctxd_http_lib_load(struct ctxd_error *err)
{
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
	    {"MHD_start_daemon", offsetof(struct ctxd_mhd, start_daemon)},
	    {"MHD_stop_daemon", offsetof(struct ctxd_mhd, stop_daemon)},
	    {"MHD_quiesce_daemon", offsetof(struct ctxd_mhd, quiesce_daemon)},
	    {"MHD_run", offsetof(struct ctxd_mhd, run)},
	    {"MHD_get_timeout", offsetof(struct ctxd_mhd, get_timeout)},
	    {"MHD_get_daemon_info", offsetof(struct ctxd_mhd, get_daemon_info)},
	    {"MHD_get_connection_info", offsetof(struct ctxd_mhd, get_connection_info)},
	    {"MHD_lookup_connection_value", offsetof(struct ctxd_mhd, lookup_connection_value)},
	    {"MHD_suspend_connection", offsetof(struct ctxd_mhd, suspend_connection)},
	    {"MHD_resume_connection", offsetof(struct ctxd_mhd, resume_connection)},
	    {"MHD_queue_response", offsetof(struct ctxd_mhd, queue_response)},
	    {"MHD_create_response_from_buffer",
	     offsetof(struct ctxd_mhd, create_response_from_buffer)},
	    {"MHD_create_response_from_callback",
	     offsetof(struct ctxd_mhd, create_response_from_callback)},
	    {"MHD_add_response_header", offsetof(struct ctxd_mhd, add_response_header)},
	    {"MHD_destroy_response", offsetof(struct ctxd_mhd, destroy_response)},
	};
	if (ctxd_mhd.start_daemon) {
		return 0;
	}
	void *lib = dlopen(CTXD_MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		ctxd_error_set(err, CTXD_ERR_TOOL,
			       "--http needs GNU libmicrohttpd (%s), which cannot be loaded: %s; "
			       "install it (Debian: apt-get install libmicrohttpd12)",
			       CTXD_MHD_SONAME, dlerror());
		return -1;
	}
	struct ctxd_mhd m;
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(lib, syms[i].name);
		if (!f) {
			ctxd_error_set(err, CTXD_ERR_TOOL,
				       "%s has no %s: ctxd needs libmicrohttpd 0.9.71 or newer",
				       CTXD_MHD_SONAME, syms[i].name);
			dlclose(lib);
			return -1;
		}
		memcpy((char *)&m + syms[i].off, &f, sizeof(f));
	}
	ctxd_mhd = m; /* the library stays loaded for the life of the process */
	return 0;
}
