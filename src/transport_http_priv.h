/* transport_http_priv.h - what the HTTP transport's sources share (transport_http.c: the
 * daemons, requests and streams; transport_http_auth.c: listening addresses, Host and
 * Origin checks, bearer tokens, TLS files). Internal to the platform layer; loop thread.
 */
#ifndef CTXD_TRANSPORT_HTTP_PRIV_H
#define CTXD_TRANSPORT_HTTP_PRIV_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "ctxd/transport_http.h"

struct MHD_Daemon;

/* One listening address: its daemon and the loop's watchers of it. */
struct ctxd_http_daemon {
	struct ctxd_http *h;
	struct MHD_Daemon *mhd;
	int fd; /* the listening socket (libmicrohttpd's once started), -1 after quiesce */
	unsigned port;
	bool loopback;
	char host[80];  /* the address as a Host value, without the port */
	ev_io io;       /* libmicrohttpd's epoll descriptor */
	ev_timer timer; /* libmicrohttpd's next timeout */
};

struct ctxd_http_token {
	unsigned char *secret; /* owned, wiped when freed */
	size_t len;
	bool read_only;
};

struct ctxd_http {
	struct ev_loop *ev;
	const struct ctxd_config_http *cfg;
	const struct ctxd_http_ops *ops;
	void *ud;
	struct ctxd_http_daemon *daemons;
	size_t n_daemons;
	struct ctxd_http_req *reqs; /* live requests */
	size_t owed;                /* stream bytes queued, not yet handed to libmicrohttpd */
	ev_idle kick;               /* run the daemons after a resume */
	ev_timer keepalive;
	struct ctxd_http_token *tokens;
	size_t n_tokens;
	char *tls_cert, *tls_key; /* PEM text (owned) */
};

/* transport_http.c */
/* Run every daemon soon (after a connection was resumed). */
void ctxd_http_kick(struct ctxd_http *h);
/* A comment line on every idle open stream. */
void ctxd_http_keepalive(struct ctxd_http *h);

/* transport_http_auth.c */
/* A listening socket for `addr` ("HOST:PORT", "[V6]:PORT") in d->fd's place: fills d's
 * host (as a Host header names it), port and loopback flag. The descriptor, or -1 with err
 * set. */
int ctxd_http_listen_socket(struct ctxd_http_daemon *d, const char *addr, struct ctxd_error *err);
/* Host header `host` names a bound address (or localhost for a loopback one) with its
 * port, or one of http.allowed_hosts. */
bool ctxd_http_host_ok(const struct ctxd_http *h, const char *host);
/* Origin header `origin` is absent, a loopback origin while every bind is loopback, or one
 * of http.allowed_origins. */
bool ctxd_http_origin_ok(const struct ctxd_http *h, const char *origin);
/* The Authorization header names a token (or none are configured): its index (-1: none
 * configured) and read-only flag. Constant time in the token's bytes. */
bool ctxd_http_auth(const struct ctxd_http *h, const char *header, int *token, bool *read_only);
/* Read http.tokens_file, http.tls_cert and http.tls_key; 0, or -1 with err set. */
int ctxd_http_load_secrets(struct ctxd_http *h, struct ctxd_error *err);
void ctxd_http_free_secrets(struct ctxd_http *h);

/* transport_http_lib.c: libmicrohttpd's functions, resolved by ctxd_http_lib_load (it is
 * loaded only in HTTP mode, so that stdio pays nothing for it or for GnuTLS). Read-only
 * once loaded. */
struct ctxd_mhd {
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_quiesce_daemon) *quiesce_daemon;
	__typeof__(MHD_run) *run;
	__typeof__(MHD_get_timeout) *get_timeout;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_get_connection_info) *get_connection_info;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_suspend_connection) *suspend_connection;
	__typeof__(MHD_resume_connection) *resume_connection;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_create_response_from_callback) *create_response_from_callback;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_destroy_response) *destroy_response;
};
extern struct ctxd_mhd ctxd_mhd;

#endif
