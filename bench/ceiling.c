/* ceiling.c - the pipe ceiling: a stdio "server" that does no work.
 *
 * Answers every request line that has a numeric "id" with a canned result holding a text of
 * SIZE bytes (default 4096) twice, as a content text and as structuredContent, the shape of
 * both servers' read_text_file answers (so the ceiling is for answers of their size), and
 * ignores notifications. Running the driver against it gives
 * the most the driver, the pipes and the scheduler allow on this machine, so a server's
 * figures can be read against it.
 *
 * Build: cc -O2 -o ceiling ceiling.c      Usage: ceiling [SIZE]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *out;
static size_t out_len, out_cap;

static void put(const char *p, size_t n)
{
	if (out_len + n > out_cap) {
		while (out_len + n > out_cap)
			out_cap = out_cap ? out_cap * 2 : 1 << 16;
		out = realloc(out, out_cap);
		if (!out)
			exit(1);
	}
	memcpy(out + out_len, p, n);
	out_len += n;
}

static int flush_out(void)
{
	size_t off = 0;

	while (off < out_len) {
		ssize_t n = write(1, out + off, out_len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	out_len = 0;
	return 0;
}

int main(int argc, char **argv)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":";
	static const char mid[] = ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"";
	static const char mid2[] = "\"}],\"structuredContent\":{\"content\":\"";
	static const char tail[] = "\"}}}\n";
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 10) : 4096;
	size_t cap = 1 << 20, len = 0;
	char *text = malloc(size + 1);
	char *in = malloc(cap);

	if (!text || !in)
		return 1;
	memset(text, 'x', size);
	for (;;) {
		ssize_t n = read(0, in + len, cap - len);
		char *p, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		p = in;
		while ((nl = memchr(p, '\n', len - (size_t)(p - in)))) {
			char *id;

			*nl = '\0';
			id = strstr(p, "\"id\":");
			if (id) {
				char num[32], *e;
				long long v = strtoll(id + 5, &e, 10);

				if (e != id + 5) {
					int k = snprintf(num, sizeof(num), "%lld", v);

					put(head, sizeof(head) - 1);
					put(num, (size_t)k);
					put(mid, sizeof(mid) - 1);
					put(text, size);
					put(mid2, sizeof(mid2) - 1);
					put(text, size);
					put(tail, sizeof(tail) - 1);
				}
			}
			p = nl + 1;
		}
		len -= (size_t)(p - in);
		memmove(in, p, len);
		if (len == cap) {
			cap *= 2;
			in = realloc(in, cap);
			if (!in)
				return 1;
		}
		if (flush_out())
			return 1;
	}
	return 0;
}
