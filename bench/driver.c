/* driver.c - load driver for any stdio MCP server.
 *
 * Starts SERVER ARGS as a child with pipes on its stdin/stdout, performs the MCP handshake
 * (initialize 2025-11-25, then notifications/initialized), then sends N requests keeping D in
 * flight and reports throughput, latency percentiles, time to the initialize answer, the
 * server's peak RSS (VmHWM, read just before stdin is closed) and how long the server took to
 * exit once stdin was closed.
 *
 * Build: cc -O2 -o driver driver.c
 * Usage: driver [options] -- SERVER [ARGS...]
 *   --tool NAME        tool to call with tools/call (default: none; see --method)
 *   --args JSON        tool arguments object (default {})
 *   --method M         send method M with --params instead of tools/call
 *   --params JSON      params for --method (default {})
 *   --calls N          measured requests (default 1000; 0 = start-up and idle RSS only)
 *   --depth D          requests in flight (default 1)
 *   --warmup W         unmeasured requests sent first, same depth (default 0)
 *   --settle-ms MS     with --calls 0: wait this long after the handshake (default 500)
 *   --timeout-ms MS    give up when the server is silent this long (default 120000)
 *   --max-ms MS        stop sending measured calls after MS and report the calls answered
 *                      (so a slow server gets a bounded run; default: no bound)
 *   --label TEXT       name printed with the results
 *   --json             also print one JSON object on a line of its own
 *   --stderr           let the server's stderr through (default: /dev/null)
 *   --spin             busy-poll for answers instead of sleeping in poll(2): takes the
 *                      driver's own wake-up latency out of depth-1 figures (burns its CPU)
 *
 * Responses are newline-delimited JSON, matched to requests by numeric id; a response counts
 * as an error when it carries a JSON-RPC "error" member or result.isError is true. Frames are
 * scanned, not parsed: a single pass that skips strings with memchr and notes the top-level
 * "id", "result", "error" and "method" members and result.isError, so multi-megabyte replies
 * cost little. The JSON line also gives resp_bytes, the mean size of an answer, so two
 * servers can be checked to return the same amount of data. Exit status: 0 when every
 * measured call succeeded, 1 on call errors, 2 on usage or protocol failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROTOCOL_VERSION "2025-11-25"
#define INIT_ID          0

struct opts {
	const char *tool;
	const char *args;
	const char *method;
	const char *params;
	long calls;
	long depth;
	long warmup;
	long settle_ms;
	long timeout_ms;
	long max_ms;
	const char *label;
	bool json;
	bool show_stderr;
	bool spin;
	char **argv;
};

struct frame {
	bool has_id;
	long long id;
	bool has_result;
	bool has_error;
	bool has_method;
	bool is_error;
};

struct server {
	pid_t pid;
	int in_fd;  /* we write: server's stdin */
	int out_fd; /* we read: server's stdout */
	bool out_eof;
	/* read buffer */
	char *rbuf;
	size_t rcap, rstart, rlen,
	    rscan; /* data is rbuf[rstart, rstart+rlen); scanned up to rscan */
	/* write buffer */
	char *wbuf;
	size_t wcap, wstart, wlen;
};

struct run {
	const struct opts *o;
	struct server *s;
	char *req_prefix; /* {"jsonrpc":"2.0","id": */
	char *req_suffix; /* ,"method":...}\n */
	size_t prefix_len, suffix_len;
	long long next_id;  /* next id to send */
	long long first_id; /* first id of the current phase */
	long long end_id;   /* one past the last id of the phase */
	long long received; /* answers received in this phase */
	long inflight;
	uint64_t *sent_ns; /* indexed by id - first_id */
	uint64_t *lat_ns;  /* latencies of this phase, in arrival order */
	long long errors;
	unsigned long long resp_bytes; /* measured answers, newlines included */
	char first_error[256];
	uint64_t phase_start, phase_end;
	uint64_t deadline; /* stop issuing requests at this time (0 = never) */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "driver: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("%s", "out of memory");
	return p;
}

static long parse_long(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		die("bad value for %s", what);
	return v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: driver [--tool NAME --args JSON | --method M --params JSON] [--calls N]\n"
		"              [--depth D] [--warmup W] [--settle-ms MS] [--timeout-ms MS] "
		"[--max-ms MS]\n"
		"              [--label TEXT] [--json] [--stderr] [--spin] -- SERVER [ARGS...]\n");
	exit(2);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->calls = 1000;
	o->depth = 1;
	o->settle_ms = 500;
	o->timeout_ms = 120000;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "--json")) {
			o->json = true;
			continue;
		}
		if (!strcmp(a, "--stderr")) {
			o->show_stderr = true;
			continue;
		}
		if (!strcmp(a, "--spin")) {
			o->spin = true;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			usage();
		if (!v)
			usage();
		if (!strcmp(a, "--tool"))
			o->tool = v;
		else if (!strcmp(a, "--args"))
			o->args = v;
		else if (!strcmp(a, "--method"))
			o->method = v;
		else if (!strcmp(a, "--params"))
			o->params = v;
		else if (!strcmp(a, "--calls"))
			o->calls = parse_long(v, a);
		else if (!strcmp(a, "--depth"))
			o->depth = parse_long(v, a);
		else if (!strcmp(a, "--warmup"))
			o->warmup = parse_long(v, a);
		else if (!strcmp(a, "--settle-ms"))
			o->settle_ms = parse_long(v, a);
		else if (!strcmp(a, "--timeout-ms"))
			o->timeout_ms = parse_long(v, a);
		else if (!strcmp(a, "--max-ms"))
			o->max_ms = parse_long(v, a);
		else if (!strcmp(a, "--label"))
			o->label = v;
		else
			usage();
		i++;
	}
	if (i >= argc)
		usage();
	o->argv = argv + i;
	if (o->depth < 1)
		o->depth = 1;
	if ((o->calls || o->warmup) && !o->tool && !o->method)
		die("%s", "--tool or --method is required when --calls > 0");
	if (o->tool && o->method)
		die("%s", "--tool and --method are exclusive");
	if (!o->label)
		o->label = o->tool ? o->tool : o->method ? o->method : "startup";
}

/* ---- child process ---- */

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die("fcntl: %s", strerror(errno));
}

static void spawn(struct server *s, const struct opts *o)
{
	int to_child[2], from_child[2];

	if (pipe2(to_child, O_CLOEXEC) || pipe2(from_child, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	s->pid = fork();
	if (s->pid < 0)
		die("fork: %s", strerror(errno));
	if (s->pid == 0) {
		int err = fcntl(2, F_DUPFD_CLOEXEC, 3); /* our stderr, for the exec failure */

		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		if (!o->show_stderr) {
			int nul = open("/dev/null", O_WRONLY);

			if (nul >= 0)
				dup2(nul, 2);
		}
		execvp(o->argv[0], o->argv);
		if (err >= 0)
			dprintf(err, "driver: exec %s: %s\n", o->argv[0], strerror(errno));
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	s->in_fd = to_child[1];
	s->out_fd = from_child[0];
	set_nonblock(s->in_fd);
	set_nonblock(s->out_fd);
	/* Bigger pipes mean fewer wake-ups with large replies; failure is harmless. */
	(void)fcntl(s->out_fd, F_SETPIPE_SZ, 1 << 20);
	(void)fcntl(s->in_fd, F_SETPIPE_SZ, 1 << 20);
	s->rcap = 4u << 20;
	s->rbuf = xmalloc(s->rcap);
	s->wcap = 1u << 16;
	s->wbuf = xmalloc(s->wcap);
}

/* Read one "Key:   N kB" line from /proc/PID/status; -1 when absent. */
static long proc_status_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* utime + stime of the server (and its reaped children) in seconds; -1 on failure. */
static double proc_cpu_s(pid_t pid)
{
	char path[64], buf[4096];
	unsigned long long ut, st;
	long long cut, cst;
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* comm may hold spaces */
	if (!p)
		return -1;
	/* after ") ": state(3) ... utime(14) stime(15) cutime(16) cstime(17) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &ut,
		   &st, &cut, &cst) != 4)
		return -1;
	return (double)(ut + st + (unsigned long long)(cut + cst)) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- writing ---- */

static void wbuf_reserve(struct server *s, size_t more)
{
	if (s->wstart && s->wstart + s->wlen + more > s->wcap) {
		memmove(s->wbuf, s->wbuf + s->wstart, s->wlen);
		s->wstart = 0;
	}
	while (s->wstart + s->wlen + more > s->wcap) {
		s->wcap *= 2;
		s->wbuf = realloc(s->wbuf, s->wcap);
		if (!s->wbuf)
			die("%s", "out of memory");
	}
}

static void wbuf_append(struct server *s, const char *p, size_t n)
{
	wbuf_reserve(s, n);
	memcpy(s->wbuf + s->wstart + s->wlen, p, n);
	s->wlen += n;
}

/* Write what the pipe takes now. Returns -1 when the server closed its stdin. */
static int flush_some(struct server *s)
{
	while (s->wlen) {
		ssize_t n = write(s->in_fd, s->wbuf + s->wstart, s->wlen);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		s->wstart += (size_t)n;
		s->wlen -= (size_t)n;
	}
	s->wstart = 0;
	return 0;
}

/* ---- frame scanning ---- */

/* p is just past an opening quote; returns just past the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
	for (;;) {
		const char *q = memchr(p, '"', (size_t)(end - p));
		const char *b;
		size_t bs = 0;

		if (!q)
			return NULL;
		for (b = q; b > p && b[-1] == '\\'; b--)
			bs++;
		if (bs % 2 == 0)
			return q + 1;
		p = q + 1;
	}
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

static bool key_is(const char *k, size_t klen, const char *lit)
{
	return strlen(lit) == klen && !memcmp(k, lit, klen);
}

/* Scan one frame [p, end). Returns 0, or -1 when it is not a JSON object we can read. */
static int scan_frame(const char *p, const char *end, struct frame *f)
{
	enum { TOP_OTHER, TOP_RESULT } top = TOP_OTHER;
	int depth = 0;

	memset(f, 0, sizeof(*f));
	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return -1;
	for (; p < end; p++) {
		switch (*p) {
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			depth--;
			break;
		case '"': {
			const char *k = p + 1;
			const char *e = skip_string(k, end);
			const char *n, *v;
			size_t klen;

			if (!e)
				return -1;
			n = skip_ws(e, end);
			if (n >= end || *n != ':') {
				p = e - 1;
				break;
			}
			klen = (size_t)(e - 1 - k);
			v = skip_ws(n + 1, end);
			if (depth == 1) {
				top = TOP_OTHER;
				if (key_is(k, klen, "id")) {
					char *ie;

					f->id = strtoll(v, &ie, 10);
					f->has_id = ie != v;
				} else if (key_is(k, klen, "result")) {
					f->has_result = true;
					top = TOP_RESULT;
				} else if (key_is(k, klen, "error")) {
					f->has_error = true;
				} else if (key_is(k, klen, "method")) {
					f->has_method = true;
				}
			} else if (depth == 2 && top == TOP_RESULT && key_is(k, klen, "isError")) {
				f->is_error = end - v >= 4 && !memcmp(v, "true", 4);
			}
			p = n;
			break;
		}
		default:
			break;
		}
	}
	return depth == 0 ? 0 : -1;
}

/* ---- the run ---- */

static void note_error(struct run *r, const char *line, size_t len)
{
	r->errors++;
	if (!r->first_error[0]) {
		size_t n = len < sizeof(r->first_error) - 1 ? len : sizeof(r->first_error) - 1;

		memcpy(r->first_error, line, n);
		r->first_error[n] = '\0';
	}
}

/* A request from the server (e.g. roots/list): answer "method not found". */
static void answer_server_request(struct run *r, const char *line, size_t len)
{
	const char *p = strstr(line, "\"id\"");
	char msg[256];
	char *e;
	long long id;

	(void)len;
	if (!p)
		return;
	p = strchr(p + 4, ':');
	if (!p)
		return;
	id = strtoll(p + 1, &e, 10);
	if (e == p + 1)
		return;
	snprintf(msg, sizeof(msg),
		 "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-32601,"
		 "\"message\":\"method not found\"}}\n",
		 id);
	wbuf_append(r->s, msg, strlen(msg));
}

/* Handle one frame. Returns 1 when it answered an outstanding request, 0 otherwise. */
static int handle_frame(struct run *r, char *line, size_t len, uint64_t t)
{
	struct frame f;

	line[len] = '\0'; /* replaces the newline */
	if (scan_frame(line, line + len, &f)) {
		fprintf(stderr, "driver: unreadable frame: %.200s\n", line);
		return 0;
	}
	if (f.has_method) {
		if (f.has_id)
			answer_server_request(r, line, len);
		return 0; /* notifications are ignored */
	}
	if (!f.has_id || f.id < r->first_id || f.id >= r->next_id) {
		fprintf(stderr, "driver: response with unexpected id: %.200s\n", line);
		return 0;
	}
	if (r->sent_ns) {
		uint64_t sent = r->sent_ns[f.id - r->first_id];

		if (!sent) {
			fprintf(stderr, "driver: duplicate response for id %lld\n", f.id);
			return 0;
		}
		r->lat_ns[r->received] = t - sent;
		r->resp_bytes += len + 1;
		r->sent_ns[f.id - r->first_id] = 0;
	}
	if (f.has_error || f.is_error || !f.has_result)
		note_error(r, line, len);
	r->received++;
	r->inflight--;
	return 1;
}

/* Split complete lines out of the read buffer and handle them. */
static void drain_lines(struct run *r, uint64_t t)
{
	struct server *s = r->s;

	for (;;) {
		char *base = s->rbuf + s->rstart;
		char *nl = memchr(base + s->rscan, '\n', s->rlen - s->rscan);
		size_t len;

		if (!nl) {
			s->rscan = s->rlen;
			break;
		}
		len = (size_t)(nl - base);
		if (len)
			handle_frame(r, base, len, t);
		s->rstart += len + 1;
		s->rlen -= len + 1;
		s->rscan = 0;
	}
	if (!s->rlen)
		s->rstart = 0;
}

/* Read what is available. Returns bytes read, 0 on EAGAIN, -1 on EOF/error. */
static ssize_t read_some(struct server *s)
{
	ssize_t total = 0;

	for (;;) {
		size_t space;
		ssize_t n;

		if (s->rstart + s->rlen == s->rcap) {
			if (s->rstart) {
				memmove(s->rbuf, s->rbuf + s->rstart, s->rlen);
				s->rstart = 0;
			} else {
				s->rcap *= 2;
				s->rbuf = realloc(s->rbuf, s->rcap);
				if (!s->rbuf)
					die("%s", "out of memory");
			}
		}
		space = s->rcap - s->rstart - s->rlen;
		n = read(s->out_fd, s->rbuf + s->rstart + s->rlen, space);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return total;
			s->out_eof = true;
			return total ? total : -1;
		}
		if (n == 0) {
			s->out_eof = true;
			return total ? total : -1;
		}
		s->rlen += (size_t)n;
		total += n;
		/* A short read means the pipe is empty for now. */
		if ((size_t)n < space)
			return total;
	}
}

/* Queue as many requests as the window allows, stamping their send time. */
static void fill_window(struct run *r)
{
	char idbuf[32];
	uint64_t t = 0;

	while (r->inflight < r->o->depth && r->next_id < r->end_id) {
		int n = snprintf(idbuf, sizeof(idbuf), "%lld", r->next_id);

		if (!t) {
			t = now_ns();
			if (r->deadline && t >= r->deadline) {
				r->end_id = r->next_id; /* out of time: answer what is out */
				break;
			}
		}
		wbuf_reserve(r->s, r->prefix_len + (size_t)n + r->suffix_len);
		wbuf_append(r->s, r->req_prefix, r->prefix_len);
		wbuf_append(r->s, idbuf, (size_t)n);
		wbuf_append(r->s, r->req_suffix, r->suffix_len);
		if (r->sent_ns)
			r->sent_ns[r->next_id - r->first_id] = t;
		r->next_id++;
		r->inflight++;
	}
}

/* Pump I/O until every request of the phase is answered. Returns 0 or -1. */
static int pump(struct run *r)
{
	struct server *s = r->s;
	uint64_t last_progress = now_ns();

	fill_window(r);
	if (flush_some(s))
		return -1;
	while (r->received < r->end_id - r->first_id) {
		struct pollfd pfd[2] = {
		    {.fd = s->out_fd, .events = POLLIN},
		    {.fd = s->in_fd, .events = POLLOUT},
		};
		int np = s->wlen ? 2 : 1;
		int rc = poll(pfd, (nfds_t)np, r->o->spin ? 0 : 1000);
		uint64_t t;

		if (rc < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		t = now_ns();
		if (rc == 0) {
			if ((t - last_progress) / 1000000u > (uint64_t)r->o->timeout_ms) {
				fprintf(stderr, "driver: no answer for %ld ms\n", r->o->timeout_ms);
				return -1;
			}
			continue;
		}
		if (pfd[0].revents) {
			ssize_t n = read_some(s);
			long long before = r->received;

			if (n > 0) {
				drain_lines(r, now_ns());
				if (r->received != before)
					last_progress = t;
			} else if (n < 0) {
				fprintf(stderr, "driver: server closed stdout\n");
				return -1;
			}
		}
		fill_window(r);
		if (s->wlen && flush_some(s)) {
			fprintf(stderr, "driver: server closed stdin\n");
			return -1;
		}
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_ms(const uint64_t *sorted, long long n, double q)
{
	long long i;

	if (n <= 0)
		return 0;
	i = (long long)(q * (double)n + 0.999999) - 1; /* nearest-rank */
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return (double)sorted[i] / 1e6;
}

static void build_request(struct run *r)
{
	const struct opts *o = r->o;
	const char *pre = "{\"jsonrpc\":\"2.0\",\"id\":";
	size_t cap;

	r->req_prefix = strdup(pre);
	cap = 128 + strlen(o->tool ? o->tool : o->method) + strlen(o->args ? o->args : "") +
	      strlen(o->params ? o->params : "");
	r->req_suffix = xmalloc(cap);
	if (o->tool)
		snprintf(
		    r->req_suffix, cap,
		    ",\"method\":\"tools/call\",\"params\":{\"name\":\"%s\",\"arguments\":%s}}\n",
		    o->tool, o->args ? o->args : "{}");
	else
		snprintf(r->req_suffix, cap, ",\"method\":\"%s\",\"params\":%s}\n", o->method,
			 o->params ? o->params : "{}");
	if (!r->req_prefix)
		die("%s", "out of memory");
	r->prefix_len = strlen(r->req_prefix);
	r->suffix_len = strlen(r->req_suffix);
	if (strchr(r->req_suffix, '\n') != r->req_suffix + r->suffix_len - 1)
		die("%s", "--args/--params must be a single line");
}

/* Wait for the child to exit, reading (and discarding) what it still writes. */
static int reap(struct server *s, long timeout_ms, int *status)
{
	uint64_t t0 = now_ns();

	for (;;) {
		pid_t w = waitpid(s->pid, status, WNOHANG);

		if (w == s->pid)
			return 0;
		if (!s->out_eof) {
			struct pollfd pfd = {.fd = s->out_fd, .events = POLLIN};

			if (poll(&pfd, 1, 5) > 0 && read_some(s) > 0) {
				s->rstart = 0;
				s->rlen = 0;
				s->rscan = 0;
			}
		} else {
			struct timespec ts = {0, 200000};

			nanosleep(&ts, NULL);
		}
		if ((now_ns() - t0) / 1000000u > (uint64_t)timeout_ms) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, status, 0);
			return -1;
		}
	}
}

/* Kill the server after a failure, release everything, return the exit status 2. */
static int abandon(struct server *s, struct run *r)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	free(r->sent_ns);
	free(r->lat_ns);
	free(r->req_prefix);
	free(r->req_suffix);
	free(s->rbuf);
	free(s->wbuf);
	return 2;
}

int main(int argc, char **argv)
{
	static const char init_req[] =
	    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
	    "\"protocolVersion\":\"" PROTOCOL_VERSION "\",\"capabilities\":{},"
	    "\"clientInfo\":{\"name\":\"ctxd-bench-driver\",\"version\":\"1.0\"}}}\n";
	static const char initialized[] =
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
	struct opts o;
	struct server s;
	struct run r;
	uint64_t t_fork, t_init, t_close, t_exit;
	double init_ms, exit_ms, elapsed_s = 0, rate = 0, p50 = 0, p99 = 0, pmax = 0, cpu_s;
	long long done = 0;
	long hwm, rss;
	int status = 0, exit_code = 0;
	bool reaped;

	parse_opts(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	memset(&s, 0, sizeof(s));
	memset(&r, 0, sizeof(r));
	r.o = &o;
	r.s = &s;

	/* Start-up: fork to the initialize answer. The request is queued at once; the
	 * server reads it whenever it is ready. */
	t_fork = now_ns();
	spawn(&s, &o);
	wbuf_append(&s, init_req, sizeof(init_req) - 1);
	r.first_id = INIT_ID;
	r.next_id = INIT_ID + 1;
	r.end_id = INIT_ID + 1;
	r.inflight = 1;
	if (pump(&r) || r.errors) {
		fprintf(stderr, "driver: initialize failed%s%s\n", r.errors ? ": " : "",
			r.first_error);
		return abandon(&s, &r);
	}
	t_init = now_ns();
	init_ms = (double)(t_init - t_fork) / 1e6;
	wbuf_append(&s, initialized, sizeof(initialized) - 1);
	if (flush_some(&s))
		die("%s", "server closed stdin after initialize");

	if (o.calls || o.warmup)
		build_request(&r);
	if (o.warmup) {
		r.first_id = r.next_id;
		r.end_id = r.first_id + o.warmup;
		r.received = 0;
		r.sent_ns = NULL;
		if (pump(&r))
			return abandon(&s, &r);
		if (r.errors)
			fprintf(stderr, "driver: %lld warm-up errors, first: %s\n", r.errors,
				r.first_error);
		r.errors = 0;
		r.first_error[0] = '\0';
	}
	if (o.calls) {
		r.first_id = r.next_id;
		r.end_id = r.first_id + o.calls;
		r.received = 0;
		r.sent_ns = calloc((size_t)o.calls, sizeof(uint64_t));
		r.lat_ns = calloc((size_t)o.calls, sizeof(uint64_t));
		if (!r.sent_ns || !r.lat_ns)
			die("%s", "out of memory");
		r.phase_start = now_ns();
		if (o.max_ms)
			r.deadline = r.phase_start + (uint64_t)o.max_ms * 1000000u;
		if (pump(&r))
			return abandon(&s, &r);
		r.phase_end = now_ns();
		done = r.received;
		elapsed_s = (double)(r.phase_end - r.phase_start) / 1e9;
		rate = (double)done / elapsed_s;
		qsort(r.lat_ns, (size_t)done, sizeof(uint64_t), cmp_u64);
		p50 = pct_ms(r.lat_ns, done, 0.50);
		p99 = pct_ms(r.lat_ns, done, 0.99);
		pmax = done ? (double)r.lat_ns[done - 1] / 1e6 : 0;
	} else {
		struct timespec ts = {o.settle_ms / 1000, (o.settle_ms % 1000) * 1000000L};

		nanosleep(&ts, NULL);
	}

	hwm = proc_status_kib(s.pid, "VmHWM");
	rss = proc_status_kib(s.pid, "VmRSS");
	cpu_s = proc_cpu_s(s.pid);
	t_close = now_ns();
	close(s.in_fd);
	reaped = reap(&s, o.timeout_ms, &status) == 0;
	t_exit = now_ns();
	exit_ms = (double)(t_exit - t_close) / 1e6;

	if (o.calls)
		printf(
		    "%s: %lld calls depth %ld: %.0f calls/s, p50 %.3f ms, p99 %.3f ms, max %.3f ms,"
		    " errors %lld; init %.1f ms, peak RSS %.1f MiB, exit %.1f ms%s\n",
		    o.label, done, o.depth, rate, p50, p99, pmax, r.errors, init_ms,
		    (double)hwm / 1024.0, exit_ms, reaped ? "" : " (killed)");
	else
		printf("%s: init %.1f ms, idle RSS %.1f MiB (peak %.1f MiB), exit %.1f ms%s\n",
		       o.label, init_ms, (double)rss / 1024.0, (double)hwm / 1024.0, exit_ms,
		       reaped ? "" : " (killed)");
	if (r.errors)
		fprintf(stderr, "driver: %lld errors; first: %s\n", r.errors, r.first_error);
	if (o.json) {
		printf(
		    "{\"label\":\"%s\",\"calls\":%lld,\"depth\":%ld,\"warmup\":%ld,\"errors\":%lld,"
		    "\"elapsed_s\":%.6f,\"calls_per_s\":%.1f,\"p50_ms\":%.4f,\"p99_ms\":%.4f,"
		    "\"max_ms\":%.4f,\"init_ms\":%.3f,\"rss_kib\":%ld,\"peak_rss_kib\":%ld,"
		    "\"resp_bytes\":%.0f,\"server_cpu_s\":%.2f,\"exit_ms\":%.3f,"
		    "\"exit_status\":%d}\n",
		    o.label, done, o.depth, o.warmup, r.errors, elapsed_s, rate, p50, p99, pmax,
		    init_ms, rss, hwm, done ? (double)r.resp_bytes / (double)done : 0.0, cpu_s,
		    exit_ms,
		    !reaped             ? -1
		    : WIFEXITED(status) ? WEXITSTATUS(status)
					: 128 + WTERMSIG(status));
	}
	fflush(stdout);
	free(r.sent_ns);
	free(r.lat_ns);
	free(r.req_prefix);
	free(r.req_suffix);
	free(s.rbuf);
	free(s.wbuf);
	close(s.out_fd);
	if (r.errors)
		exit_code = 1;
	if (!reaped)
		exit_code = 2;
	return exit_code;
}
