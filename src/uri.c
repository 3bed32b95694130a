/* uri.c - the file:// URI codec (see include/ctxd/uri.h). */
#include "ctxd/uri.h"

#include <stdbool.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

long ctxd_percent_decode(const char *s, size_t n, char *out, size_t cap, bool strict)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int hi, lo;
		if (c == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
		    (lo = hexval(s[i + 2])) >= 0) {
			c = (char)(hi * 16 + lo);
			if (c == '\0') {
				return -1;
			}
			i += 2;
		} else if (c == '%' && strict) {
			return -1;
		}
		if (o + 1 >= cap) {
			return -1;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return (long)o;
}

long ctxd_file_uri_to_path(const char *uri, char *out, size_t cap)
{
	const char *p;
	if (strncmp(uri, "file:///", 8) == 0) {
		p = uri + 7;
	} else if (strncmp(uri, "file://localhost/", 17) == 0) {
		p = uri + 16;
	} else {
		return -1;
	}
	long n = ctxd_percent_decode(p, strcspn(p, "?#"), out, cap, true);
	return n > 0 ? n : -1;
}

int ctxd_path_to_file_uri(const char *abs, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	static const char pre[] = "file://";
	if (cap < sizeof(pre)) {
		return -1;
	}
	memcpy(out, pre, sizeof(pre) - 1);
	size_t w = sizeof(pre) - 1;
	for (const unsigned char *p = (const unsigned char *)abs; *p; p++) {
		bool keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || strchr("-._~/", *p);
		if (w + (keep ? 1 : 3) >= cap) {
			return -1;
		}
		if (keep) {
			out[w++] = (char)*p;
		} else {
			out[w++] = '%';
			out[w++] = hex[*p >> 4];
			out[w++] = hex[*p & 15];
		}
	}
	out[w] = '\0';
	return 0;
}
