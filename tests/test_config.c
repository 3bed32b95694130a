/* test_config.c - the YAML loader: defaults, every key, sizes, error positions, refusal of
 * aliases, merging, files, the example config, and a deterministic mutation run. */
#include "ctxd/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

static int load(struct ctxd_config *cfg, const char *yaml, struct ctxd_error *err)
{
	return ctxd_config_load_buffer(cfg, yaml, strlen(yaml), "t.yaml", err);
}

/* Load `len` bytes into fresh defaults; expect failure with exactly `msg`. */
static void expect_error_n(const char *yaml, size_t len, const char *msg)
{
	struct ctxd_config cfg;
	struct ctxd_error err;
	ctxd_config_init(&cfg);
	ctxd_error_clear(&err);
	if (ctxd_config_load_buffer(&cfg, yaml, len, "t.yaml", &err) != -1) {
		fprintf(stderr, "unexpectedly accepted: %s\n", yaml);
		abort();
	}
	ASSERT_STR_EQ(err.msg, msg);
	ctxd_config_finish(&cfg);
}

static void expect_error(const char *yaml, const char *msg)
{
	expect_error_n(yaml, strlen(yaml), msg);
}

static void check_defaults(const struct ctxd_config *cfg)
{
	ASSERT_EQ(cfg->n_roots, 0);
	ASSERT_EQ(cfg->threads, 0);
	ASSERT_EQ(cfg->max_frame_bytes, 16 * 1024 * 1024);
	ASSERT_EQ(cfg->max_read_bytes, 256 * 1024);
	ASSERT_EQ(cfg->max_entries, 10000);
	ASSERT_EQ(cfg->max_media_bytes, 1024 * 1024);
	ASSERT_EQ(cfg->write_queue_bytes, 8 * 1024 * 1024);
	ASSERT_EQ(cfg->drain_ms, 5000);
	ASSERT_EQ(cfg->page_size, 100);
	ASSERT_EQ(cfg->call_ms, 60000);
	ASSERT_EQ(cfg->poll_ms, 100);
	ASSERT_EQ(cfg->log_level, CTXD_LOG_WARNING);
	ASSERT(cfg->landlock);
	ASSERT(!cfg->read_only);
	ASSERT_EQ(cfg->n_disabled_tools, 0);
	ASSERT_EQ(cfg->toolsets, CTXD_TOOLSET_ALL);
	ASSERT_EQ(cfg->max_copy_bytes, (size_t)1 << 30);
	ASSERT(!cfg->hardlinks_refuse);
	ASSERT_EQ(cfg->call_timeout_ms, 0);
	ASSERT_EQ(cfg->spin_us, 100);
	ASSERT_EQ(cfg->tasks_after_ms, 1000);
	ASSERT_EQ(cfg->tasks_ttl_ms, 300000);
	ASSERT_EQ(cfg->tasks_max, 100);
	ASSERT_EQ(cfg->tasks_timeout_ms, 1800000);
}

static void test_config_defaults(void)
{
	struct ctxd_config cfg;
	ctxd_config_init(&cfg);
	check_defaults(&cfg);
	ASSERT(cfg.roots == NULL);
	ASSERT(cfg.source == NULL);
	ASSERT(!ctxd_config_tool_disabled(&cfg, "read_text_file"));
	ctxd_config_finish(&cfg);
	ASSERT_EQ(cfg.max_frame_bytes, 0); /* finish zeroes */
	ctxd_config_finish(&cfg);          /* and may run twice */
	ctxd_config_finish(NULL);
}

static void test_config_every_key(void)
{
	static const char yaml[] = "roots:\n"
				   "  - /srv/a\n"
				   "  - {path: /srv/b, mode: ro}\n"
				   "  - path: /srv/c\n"
				   "    mode: rw\n"
				   "  - path: \"/srv/d e\"\n"
				   "    read_only: yes\n"
				   "threads: 8\n"
				   "limits:\n"
				   "  frame_bytes: 2MiB\n"
				   "  read_bytes: 64K\n"
				   "  entries: 500\n"
				   "  write_queue_bytes: 1048576\n"
				   "  drain_ms: 0\n"
				   "  page_size: 25\n"
				   "log:\n"
				   "  level: debug\n"
				   "sandbox:\n"
				   "  landlock: off\n"
				   "  read_only: True\n"
				   "tools:\n"
				   "  disabled: [write_file, 'move_file']\n";
	struct ctxd_config cfg;
	struct ctxd_error err;
	ctxd_config_init(&cfg);
	ctxd_error_clear(&err);
	ASSERT_EQ(load(&cfg, yaml, &err), 0);
	ASSERT_STR_EQ(err.msg, "");
	ASSERT_EQ(cfg.n_roots, 4);
	ASSERT_STR_EQ(cfg.roots[0].path, "/srv/a");
	ASSERT(!cfg.roots[0].read_only);
	ASSERT_STR_EQ(cfg.roots[1].path, "/srv/b");
	ASSERT(cfg.roots[1].read_only);
	ASSERT_STR_EQ(cfg.roots[2].path, "/srv/c");
	ASSERT(!cfg.roots[2].read_only);
	ASSERT_STR_EQ(cfg.roots[3].path, "/srv/d e");
	ASSERT(cfg.roots[3].read_only);
	ASSERT_EQ(cfg.threads, 8);
	ASSERT_EQ(cfg.max_frame_bytes, 2 * 1024 * 1024);
	ASSERT_EQ(cfg.max_read_bytes, 64 * 1024);
	ASSERT_EQ(cfg.max_entries, 500);
	ASSERT_EQ(cfg.write_queue_bytes, 1048576);
	ASSERT_EQ(cfg.drain_ms, 0);
	ASSERT_EQ(cfg.page_size, 25);
	ASSERT_EQ(cfg.log_level, CTXD_LOG_DEBUG);
	ASSERT(!cfg.landlock);
	ASSERT(cfg.read_only);
	ASSERT_EQ(cfg.n_disabled_tools, 2);
	ASSERT(ctxd_config_tool_disabled(&cfg, "write_file"));
	ASSERT(ctxd_config_tool_disabled(&cfg, "move_file"));
	ASSERT(!ctxd_config_tool_disabled(&cfg, "read_text_file"));
	ASSERT(!ctxd_config_tool_disabled(&cfg, "write"));
	ASSERT(!ctxd_config_tool_disabled(&cfg, NULL));
	ASSERT(cfg.source == NULL); /* only load_file records a source */
	ctxd_config_finish(&cfg);

	/* The other spellings: log_level at the top, threads: auto, every boolean word. */
	ctxd_config_init(&cfg);
	ASSERT_EQ(load(&cfg,
		       "threads: 3\nlog_level: error\nsandbox: {landlock: no, read_only: on}\n",
		       &err),
		  0);
	ASSERT_EQ(cfg.threads, 3);
	ASSERT_EQ(cfg.log_level, CTXD_LOG_ERROR);
	ASSERT(!cfg.landlock);
	ASSERT(cfg.read_only);
	ASSERT_EQ(load(&cfg,
		       "threads: auto\nlog: {level: 'off'}\n"
		       "sandbox: {landlock: TRUE, read_only: false}\n",
		       &err),
		  0);
	ASSERT_EQ(cfg.threads, 0);
	ASSERT_EQ(cfg.log_level, CTXD_LOG_OFF);
	ASSERT(cfg.landlock);
	ASSERT(!cfg.read_only);
	static const struct {
		const char *name;
		enum ctxd_log_level level;
	} levels[] = {
	    {"debug", CTXD_LOG_DEBUG},   {"info", CTXD_LOG_INFO},
	    {"notice", CTXD_LOG_NOTICE}, {"warning", CTXD_LOG_WARNING},
	    {"error", CTXD_LOG_ERROR},   {"critical", CTXD_LOG_CRITICAL},
	    {"alert", CTXD_LOG_ALERT},   {"emergency", CTXD_LOG_EMERGENCY},
	    {"off", CTXD_LOG_OFF},
	};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		char y[64];
		snprintf(y, sizeof(y), "log: {level: \"%s\"}", levels[i].name);
		ASSERT_EQ(load(&cfg, y, &err), 0);
		ASSERT_EQ(cfg.log_level, levels[i].level);
	}
	ASSERT_EQ(load(&cfg,
		       "threads: 256\nlimits: {entries: 1, page_size: 10000, "
		       "drain_ms: 600000, frame_bytes: 1K, read_bytes: 1GiB}\n",
		       &err),
		  0);
	ASSERT_EQ(cfg.threads, 256);
	ASSERT_EQ(cfg.max_entries, 1);
	ASSERT_EQ(cfg.page_size, 10000);
	ASSERT_EQ(cfg.drain_ms, 600000);
	ASSERT_EQ(cfg.max_frame_bytes, 1024);
	ASSERT_EQ(cfg.max_read_bytes, 1024 * 1024 * 1024);
	ctxd_config_finish(&cfg);
}

static void test_config_sizes(void)
{
	static const struct {
		const char *s;
		size_t v;
	} good[] = {
	    {"0", 0},
	    {"1", 1},
	    {"1024", 1024},
	    {"1K", 1024},
	    {"1k", 1024},
	    {"3KiB", 3 * 1024},
	    {"3 KiB", 3 * 1024},
	    {"16M", 16 * 1024 * 1024},
	    {"16MiB", 16 * 1024 * 1024},
	    {"16mib", 16 * 1024 * 1024},
	    {"2G", (size_t)2 << 30},
	    {"2GiB", (size_t)2 << 30},
	    {"007", 7},
	};
	static const char *const bad[] = {
	    "",
	    " 1",
	    "K",
	    "-1",
	    "+1",
	    "1.5M",
	    "1KB",
	    "1Ki",
	    "1 ",
	    "1T",
	    "0x10",
	    "1e3",
	    "1 K B",
	    "1MiBx",
	    "99999999999999999999999",
	    "18446744073709551615K",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t v = 12345;
		if (ctxd_config_parse_size(good[i].s, &v) != 0) {
			fprintf(stderr, "rejected size '%s'\n", good[i].s);
			abort();
		}
		ASSERT_EQ(v, good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t v = 12345;
		if (ctxd_config_parse_size(bad[i], &v) != -1) {
			fprintf(stderr, "accepted size '%s'\n", bad[i]);
			abort();
		}
		ASSERT_EQ(v, 12345); /* untouched on failure */
	}
	size_t v = 1;
	ASSERT_EQ(ctxd_config_parse_size(NULL, &v), -1);
	if (sizeof(size_t) == 8) {
		ASSERT_EQ(ctxd_config_parse_size("18446744073709551615", &v), 0);
		ASSERT(v == SIZE_MAX);
		ASSERT_EQ(ctxd_config_parse_size("17179869183G", &v), 0);
		ASSERT_EQ(ctxd_config_parse_size("17179869184G", &v), -1); /* 2^64: overflow */
	}

	/* Sizes in the file: quoted or plain, every limit that takes one. */
	struct ctxd_config cfg;
	struct ctxd_error err;
	ctxd_config_init(&cfg);
	ASSERT_EQ(load(&cfg,
		       "limits:\n  frame_bytes: \"4 MiB\"\n  read_bytes: 2k\n"
		       "  write_queue_bytes: 1G\n",
		       &err),
		  0);
	ASSERT_EQ(cfg.max_frame_bytes, 4 * 1024 * 1024);
	ASSERT_EQ(cfg.max_read_bytes, 2048);
	ASSERT_EQ(cfg.write_queue_bytes, 1024 * 1024 * 1024);
	ctxd_config_finish(&cfg);
}

static void test_config_errors(void)
{
	/* YAML syntax errors, at libyaml's problem mark. */
	expect_error("roots: [/a, /b\n",
		     "t.yaml:2:1: did not find expected ',' or ']' (while parsing a flow sequence "
		     "at line 1, column 8)");
	expect_error("limits:\n  read_bytes: 4K\n bad: 1\n",
		     "t.yaml:3:2: did not find expected key (while parsing a block mapping at "
		     "line 1, column 1)");
	expect_error("threads: 2\nthreads 3\n",
		     "t.yaml:3:1: could not find expected ':' (while scanning a simple key at "
		     "line 2, column 1)");
	expect_error("roots: [\"/a\n",
		     "t.yaml:2:1: found unexpected end of stream (while scanning a quoted scalar "
		     "at line 1, column 9)");
	expect_error("threads: @x\n",
		     "t.yaml:1:10: found character that cannot start any token (while scanning "
		     "for the next token at line 1, column 10)");
	/* Bad encoding: the offset is turned into a line and column. */
	expect_error("threads: 1\nx\xff: 2\n",
		     "t.yaml:2:2: invalid leading UTF-8 octet (byte 0xFF)");
	/* A raw NUL byte in the buffer. */
	expect_error_n("threads: 1\nlog_level: in\0fo\n", 26,
		       "t.yaml:2:14: control characters are not allowed (byte 0x00)");

	/* Unknown keys, at the key. */
	expect_error("foo: 1\n", "t.yaml:1:1: unknown key 'foo' in the top level");
	expect_error("threads: 1\nlimits:\n  frame_bytes: 1M\n  foo: 1\n",
		     "t.yaml:4:3: unknown key 'foo' in limits");
	expect_error("log:\n  lvl: info\n", "t.yaml:2:3: unknown key 'lvl' in log");
	expect_error("sandbox: {landlok: true}\n", "t.yaml:1:11: unknown key 'landlok' in sandbox");
	expect_error("tools: {enabled: [a]}\n", "t.yaml:1:9: unknown key 'enabled' in tools");
	expect_error("roots:\n  - {path: /a, mod: ro}\n",
		     "t.yaml:2:16: unknown key 'mod' in roots[0]");
	expect_error("\"a\\tb\\u00e9\": 1\n", "t.yaml:1:1: unknown key 'a?b?"
					      "?' in the top level");
	expect_error("[a]: 1\n", "t.yaml:1:1: the top level: expected a key name, got a sequence");
	expect_error("threads: 1\nthreads: 2\n",
		     "t.yaml:2:1: duplicate key 'threads' in the top level");

	/* Wrong types, at the value. */
	expect_error("limits:\n  read_bytes: [1]\n",
		     "t.yaml:2:15: limits.read_bytes: expected a size, got a sequence");
	expect_error("limits:\n  read_bytes:\n",
		     "t.yaml:2:14: limits.read_bytes: expected a size, got null");
	expect_error("limits: 5\n", "t.yaml:1:9: limits: expected a mapping, got a string");
	expect_error("threads: {a: 1}\n",
		     "t.yaml:1:10: threads: expected an integer, got a mapping");
	expect_error("threads: four\n", "t.yaml:1:10: threads: expected an integer, got 'four'");
	expect_error("threads: -1\n", "t.yaml:1:10: threads: expected an integer, got '-1'");
	expect_error("roots: /a\n", "t.yaml:1:8: roots: expected a sequence, got a string");
	expect_error("roots:\n  - [/a]\n",
		     "t.yaml:2:5: roots[0]: expected a path or a mapping, got a sequence");
	expect_error("roots:\n  - /a\n  - ~\n",
		     "t.yaml:3:5: roots[1]: expected a path or a mapping, got null");
	expect_error("roots:\n  - ''\n", "t.yaml:2:5: roots[0]: path must not be empty");
	expect_error("roots:\n  - {path: /a, mode: rx}\n",
		     "t.yaml:2:22: roots[0].mode: expected ro or rw, got 'rx'");
	expect_error(
	    "roots:\n  - {path: /a, read_only: 2}\n",
	    "t.yaml:2:27: roots[0].read_only: expected a boolean (true/false/yes/no/on/off), "
	    "got '2'");
	expect_error("roots:\n  - /a\n  - mode: ro\n", "t.yaml:3:5: roots[1]: missing 'path'");
	expect_error("roots: [\"/a\\0b\"]\n", "t.yaml:1:9: roots[0]: contains a NUL byte");
	expect_error(
	    "sandbox:\n  landlock: maybe\n",
	    "t.yaml:2:13: sandbox.landlock: expected a boolean (true/false/yes/no/on/off), "
	    "got 'maybe'");
	expect_error("log: {level: loud}\n",
		     "t.yaml:1:14: log.level: unknown log level 'loud' (debug, info, notice, "
		     "warning, error, critical, alert, emergency or off)");
	expect_error("log_level: [info]\n",
		     "t.yaml:1:12: log_level: expected a log level, got a sequence");
	expect_error("tools:\n  disabled: write_file\n",
		     "t.yaml:2:13: tools.disabled: expected a sequence, got a string");
	expect_error("tools:\n  disabled: [a, {b: 1}]\n",
		     "t.yaml:2:17: tools.disabled[1]: expected a string, got a mapping");
	expect_error(
	    "limits: {frame_bytes: 12 parsecs}\n",
	    "t.yaml:1:23: limits.frame_bytes: invalid size '12 parsecs' (an integer with an "
	    "optional K, KiB, M, MiB, G or GiB suffix)");

	/* Out of range, at the value. */
	expect_error("threads: 257\n", "t.yaml:1:10: threads: 257 is out of range (0..256)");
	expect_error("threads: 99999999999999999999999\n",
		     "t.yaml:1:10: threads: 99999999999999999999999 is out of range (0..256)");
	expect_error(
	    "limits: {frame_bytes: 1023}\n",
	    "t.yaml:1:23: limits.frame_bytes: 1023 is out of range (1024..1073741824 bytes)");
	{
		struct ctxd_config mc;
		struct ctxd_error me;
		ctxd_config_init(&mc);
		ASSERT_EQ(load(&mc, "limits: {media_bytes: 64K, call_ms: 0, poll_ms: 10}\n", &me),
			  0);
		ASSERT_EQ(mc.max_media_bytes, 64 * 1024);
		ASSERT_EQ(mc.call_ms, 0);
		ASSERT_EQ(mc.poll_ms, 10);
		ctxd_config_finish(&mc);
	}
	{ /* per-call deadlines and MCP tasks */
		struct ctxd_config mc;
		struct ctxd_error me;
		ctxd_config_init(&mc);
		ASSERT_EQ(load(&mc,
			       "limits: {call_timeout_ms: 5000, spin_us: 0}\n"
			       "tasks: {after_ms: 0, ttl_ms: 1, max: 0, timeout_ms: 0}\n",
			       &me),
			  0);
		ASSERT_EQ(mc.call_timeout_ms, 5000);
		ASSERT_EQ(mc.spin_us, 0);
		ASSERT_EQ(mc.tasks_after_ms, 0);
		ASSERT_EQ(mc.tasks_ttl_ms, 1);
		ASSERT_EQ(mc.tasks_max, 0);
		ASSERT_EQ(mc.tasks_timeout_ms, 0);
		ctxd_config_finish(&mc);
	}
	expect_error("tasks: {ttl_ms: 0}\n",
		     "t.yaml:1:17: tasks.ttl_ms: 0 is out of range (1..86400000)");
	expect_error("tasks: {max: 100001}\n",
		     "t.yaml:1:14: tasks.max: 100001 is out of range (0..100000)");
	expect_error("limits: {call_timeout_ms: 86400001}\n",
		     "t.yaml:1:27: limits.call_timeout_ms: 86400001 is out of range (0..86400000)");
	expect_error("limits: {spin_us: 10001}\n",
		     "t.yaml:1:19: limits.spin_us: 10001 is out of range (0..10000)");
	expect_error("limits: {poll_ms: 9}\n",
		     "t.yaml:1:19: limits.poll_ms: 9 is out of range (10..60000)");
	expect_error("limits: {call_ms: 86400001}\n",
		     "t.yaml:1:19: limits.call_ms: 86400001 is out of range (0..86400000)");
	expect_error(
	    "limits: {media_bytes: 512}\n",
	    "t.yaml:1:23: limits.media_bytes: 512 is out of range (1024..1073741824 bytes)");
	expect_error(
	    "limits: {read_bytes: 2GiB}\n",
	    "t.yaml:1:22: limits.read_bytes: 2GiB is out of range (1024..1073741824 bytes)");
	expect_error("limits: {write_queue_bytes: 99999999999999999999G}\n",
		     "t.yaml:1:29: limits.write_queue_bytes: 99999999999999999999G is out of range "
		     "(1024..1073741824 bytes)");
	expect_error("limits: {entries: 0}\n",
		     "t.yaml:1:19: limits.entries: 0 is out of range (1..10000000)");
	expect_error("limits: {page_size: 0}\n",
		     "t.yaml:1:21: limits.page_size: 0 is out of range (1..10000)");
	expect_error("limits: {page_size: 10001}\n",
		     "t.yaml:1:21: limits.page_size: 10001 is out of range (1..10000)");
	expect_error("limits: {drain_ms: 600001}\n",
		     "t.yaml:1:20: limits.drain_ms: 600001 is out of range (0..600000)");

	/* Document shape. */
	expect_error("- threads\n",
		     "t.yaml:1:1: expected a mapping at the top level, got a sequence");
	expect_error("threads\n", "t.yaml:1:1: expected a mapping at the top level, got a string");
	expect_error("threads: 1\n---\nthreads: 2\n",
		     "t.yaml:2:1: only one YAML document is allowed");

	/* A long key is cut short in the message. */
	char big[200];
	memset(big, 'k', 100);
	memcpy(big + 100, ": 1\n", 5);
	expect_error(
	    big, "t.yaml:1:1: unknown key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' in "
		 "the top level");

	/* A NULL err is allowed; the name defaults. */
	struct ctxd_config cfg;
	struct ctxd_error err;
	ctxd_config_init(&cfg);
	ASSERT_EQ(ctxd_config_load_buffer(&cfg, "foo: 1", 6, "x", NULL), -1);
	ASSERT_EQ(ctxd_config_load_buffer(&cfg, "foo: 1", 6, NULL, &err), -1);
	ASSERT_STR_EQ(err.msg, "<config>:1:1: unknown key 'foo' in the top level");
	ASSERT_EQ(err.kind, CTXD_ERR_TOOL);
	ctxd_config_finish(&cfg);
}

/* limits.copy_bytes and sandbox.hardlinks (issue 12, items 11 and 12). */
static void test_config_copy_hardlinks(void)
{
	struct ctxd_config mc;
	struct ctxd_error me;
	ctxd_config_init(&mc);
	ASSERT_EQ(load(&mc, "limits: {copy_bytes: 64G}\nsandbox: {hardlinks: refuse}\n", &me), 0);
	ASSERT_EQ(mc.max_copy_bytes, (size_t)64 << 30);
	ASSERT(mc.hardlinks_refuse);
	ASSERT_EQ(load(&mc, "sandbox: {hardlinks: allow}\n", &me), 0);
	ASSERT(!mc.hardlinks_refuse);
	ctxd_config_finish(&mc);
	expect_error("limits: {copy_bytes: 512}\n",
		     "t.yaml:1:22: limits.copy_bytes: 512 is out of range "
		     "(1024..1099511627776 bytes)");
	expect_error("sandbox: {hardlinks: maybe}\n",
		     "t.yaml:1:22: sandbox.hardlinks: expected allow or refuse, got 'maybe'");
}

static void test_config_aliases_refused(void)
{
	expect_error("threads: &n 4\nlimits:\n  page_size: *n\n",
		     "t.yaml:3:14: aliases are not allowed (*n)");
	expect_error("roots: &r [/a]\ntools: {disabled: *r}\n",
		     "t.yaml:2:19: aliases are not allowed (*r)");
	expect_error("*a : 1\n", "t.yaml:1:1: aliases are not allowed (*a)");
	/* The classic billion laughs is refused at its first alias, without expansion. */
	expect_error(
	    "roots: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	    "tools:\n  disabled: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	    "sandbox: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n",
	    "t.yaml:3:17: aliases are not allowed (*a)");
	/* An anchor alone is harmless. */
	struct ctxd_config cfg;
	struct ctxd_error err;
	ctxd_config_init(&cfg);
	ASSERT_EQ(load(&cfg, "threads: &n 4\n", &err), 0);
	ASSERT_EQ(cfg.threads, 4);
	ctxd_config_finish(&cfg);
}

static void test_config_deep_nesting(void)
{
	size_t n = 200000;
	char *buf = malloc(n + 16);
	ASSERT(buf != NULL);
	memcpy(buf, "roots: ", 7);
	memset(buf + 7, '[', n);
	expect_error_n(buf, n + 7,
		       "t.yaml:1:9: roots[0]: expected a path or a mapping, got a sequence");
	memset(buf, '{', n);
	expect_error_n(buf, n, "t.yaml:1:2: the top level: expected a key name, got a mapping");
	memset(buf, '[', n);
	expect_error_n(buf, n, "t.yaml:1:1: expected a mapping at the top level, got a sequence");
	free(buf);
}

static void test_config_empty(void)
{
	static const char *const empties[] = {
	    "", "\n", "# only a comment\n", "---\n", "---\n...\n", "~\n", "null", "\xef\xbb\xbf",
	};
	for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		struct ctxd_config cfg;
		struct ctxd_error err;
		ctxd_config_init(&cfg);
		ctxd_error_clear(&err);
		if (load(&cfg, empties[i], &err) != 0) {
			fprintf(stderr, "empty case %zu: %s\n", i, err.msg);
			abort();
		}
		check_defaults(&cfg);
		ctxd_config_finish(&cfg);
	}
	struct ctxd_config cfg;
	struct ctxd_error err;
	ctxd_config_init(&cfg);
	ASSERT_EQ(ctxd_config_load_buffer(&cfg, NULL, 0, "t.yaml", &err), 0);
	ASSERT_EQ(ctxd_config_load_buffer(&cfg, "threads: 9", 0, "t.yaml", &err), 0);
	check_defaults(&cfg);
	/* Not NUL-terminated: only `len` bytes are read. */
	static const char part[] = {'t', 'h', 'r', 'e', 'a', 'd', 's', ':', ' ', '7', '7'};
	ASSERT_EQ(ctxd_config_load_buffer(&cfg, part, 10, "t.yaml", &err), 0);
	ASSERT_EQ(cfg.threads, 7);
	ctxd_config_finish(&cfg);
}

static void test_config_roots_forms(void)
{
	struct ctxd_config cfg;
	struct ctxd_error err;
	ctxd_config_init(&cfg);
	ASSERT_EQ(load(&cfg,
		       "roots: [/one, {path: /two, mode: ro}, {path: /three, read_only: no}, "
		       "{mode: ro, path: /four}]\n",
		       &err),
		  0);
	ASSERT_EQ(cfg.n_roots, 4);
	ASSERT_STR_EQ(cfg.roots[0].path, "/one");
	ASSERT(!cfg.roots[0].read_only);
	ASSERT_STR_EQ(cfg.roots[1].path, "/two");
	ASSERT(cfg.roots[1].read_only);
	ASSERT_STR_EQ(cfg.roots[2].path, "/three");
	ASSERT(!cfg.roots[2].read_only);
	ASSERT_STR_EQ(cfg.roots[3].path, "/four");
	ASSERT(cfg.roots[3].read_only);

	/* ctxd_config_add_root appends after the file's roots (CLI flags come later). */
	ASSERT_EQ(ctxd_config_add_root(&cfg, "relative/dir", true), 0);
	ASSERT_EQ(cfg.n_roots, 5);
	ASSERT_STR_EQ(cfg.roots[4].path, "relative/dir");
	ASSERT(cfg.roots[4].read_only);
	ASSERT_EQ(ctxd_config_add_root(&cfg, NULL, false), -1);
	ASSERT_EQ(errno, EINVAL);

	/* A roots key replaces the list; an empty one clears it. */
	ASSERT_EQ(load(&cfg, "roots:\n  - /five\n", &err), 0);
	ASSERT_EQ(cfg.n_roots, 1);
	ASSERT_STR_EQ(cfg.roots[0].path, "/five");
	ASSERT_EQ(load(&cfg, "roots:\n", &err), 0);
	ASSERT_EQ(cfg.n_roots, 0);
	ASSERT_EQ(load(&cfg, "roots: [/six]\n", &err), 0);
	ASSERT_EQ(load(&cfg, "roots: []\n", &err), 0);
	ASSERT_EQ(cfg.n_roots, 0);

	/* A failure half way leaves the earlier list alone and leaks nothing. */
	ASSERT_EQ(load(&cfg, "roots: [/seven]\n", &err), 0);
	ASSERT_EQ(load(&cfg, "roots: [/eight, {path: /nine, mode: x}]\n", &err), -1);
	ASSERT_EQ(cfg.n_roots, 1);
	ASSERT_STR_EQ(cfg.roots[0].path, "/seven");
	ASSERT_EQ(load(&cfg, "roots: [/eight, {mode: ro, path: /nine, bad: 1}]\n", &err), -1);
	ASSERT_EQ(cfg.n_roots, 1);
	ctxd_config_finish(&cfg);
}

/* Load into fresh defaults; expect failure with a message containing `part`. */
static void mb_error(const char *yaml, const char *part)
{
	struct ctxd_config cfg;
	struct ctxd_error err;
	ctxd_config_init(&cfg);
	ASSERT_EQ(load(&cfg, yaml, &err), -1);
	ASSERT_CONTAINS(err.msg, part);
	ctxd_config_finish(&cfg);
}

static void test_config_memory_bank(void)
{
	struct ctxd_config cfg;
	struct ctxd_error err;
	ctxd_config_init(&cfg);
	ASSERT(cfg.memory_bank_path == NULL);
	ASSERT(!cfg.memory_bank_multi_project);
	ASSERT_EQ(cfg.memory_bank_history, 20);
	ASSERT_EQ(cfg.memory_bank_stale_days, 7);
	ASSERT_EQ(cfg.memory_bank_token_budget, 8000);
	ASSERT_EQ(load(&cfg,
		       "memory_bank:\n  path: docs/bank\n  multi_project: true\n"
		       "  history: 5\n  stale_days: 30\n  token_budget: 1000\n",
		       &err),
		  0);
	ASSERT_STR_EQ(cfg.memory_bank_path, "docs/bank");
	ASSERT(cfg.memory_bank_multi_project);
	ASSERT_EQ(cfg.memory_bank_history, 5);
	ASSERT_EQ(cfg.memory_bank_stale_days, 30);
	ASSERT_EQ(cfg.memory_bank_token_budget, 1000);
	ASSERT_EQ(load(&cfg, "memory_bank: {path: other}\n", &err), 0);
	ASSERT_STR_EQ(cfg.memory_bank_path, "other");
	ASSERT_EQ(cfg.memory_bank_history, 5);
	ctxd_config_finish(&cfg);
	mb_error("memory_bank: {history: 0}\n", "memory_bank.history");
	mb_error("memory_bank: {path: ''}\n", "memory_bank.path");
	mb_error("memory_bank: {stale: 3}\n", "unknown key 'stale'");
	mb_error("memory_bank: {multi_project: maybe}\n", "memory_bank.multi_project");
	mb_error("memory_bank: {token_budget: 5}\n", "memory_bank.token_budget");
}

/* memory_bank.sections (per file, the sections validation expects) and
 * memory_bank.section_variants (per section, other headings that count as it). */
static void test_config_memory_bank_sections(void)
{
	struct ctxd_config cfg;
	struct ctxd_error err;
	ctxd_config_init(&cfg);
	ASSERT_EQ(cfg.n_memory_bank_sections, 0);
	ASSERT_EQ(cfg.n_memory_bank_variants, 0);
	ASSERT_EQ(load(&cfg,
		       "memory_bank:\n"
		       "  sections:\n"
		       "    activeContext.md: [Current Focus, Blockers]\n"
		       "    decisions.md:\n"
		       "      - Decision Log\n"
		       "    progress.md: []\n"
		       "    techContext.md:\n"
		       "  section_variants:\n"
		       "    Current Focus: [\"現在のフォーカス\", Aktueller Fokus]\n",
		       &err),
		  0);
	ASSERT_EQ(cfg.n_memory_bank_sections, 4);
	ASSERT_STR_EQ(cfg.memory_bank_sections[0].key, "activeContext.md");
	ASSERT_EQ(cfg.memory_bank_sections[0].n, 2);
	ASSERT_STR_EQ(cfg.memory_bank_sections[0].names[1], "Blockers");
	ASSERT_STR_EQ(cfg.memory_bank_sections[1].names[0], "Decision Log");
	ASSERT_EQ(cfg.memory_bank_sections[2].n, 0);
	ASSERT_EQ(cfg.memory_bank_sections[3].n, 0);
	ASSERT_EQ(cfg.n_memory_bank_variants, 1);
	ASSERT_STR_EQ(cfg.memory_bank_variants[0].key, "Current Focus");
	ASSERT_STR_EQ(cfg.memory_bank_variants[0].names[0], "現在のフォーカス");
	/* a later source replaces the whole map; a failed one leaves it as it was */
	ASSERT_EQ(load(&cfg, "memory_bank: {sections: {notes.md: [Log]}}\n", &err), 0);
	ASSERT_EQ(cfg.n_memory_bank_sections, 1);
	ASSERT_EQ(cfg.n_memory_bank_variants, 1);
	ASSERT_EQ(load(&cfg, "memory_bank: {sections: {a.md: [x], b.md: [[y]]}}\n", &err), -1);
	ASSERT_CONTAINS(err.msg, "memory_bank.sections.b.md[0]: expected a string, got a sequence");
	ASSERT_EQ(cfg.n_memory_bank_sections, 1);
	ASSERT_STR_EQ(cfg.memory_bank_sections[0].key, "notes.md");
	ASSERT_EQ(load(&cfg, "memory_bank: {sections: ~, section_variants: {}}\n", &err), 0);
	ASSERT_EQ(cfg.n_memory_bank_sections, 0);
	ASSERT_EQ(cfg.n_memory_bank_variants, 0);
	ctxd_config_finish(&cfg);
	mb_error("memory_bank: {sections: {notes: [Log]}}\n",
		 "memory_bank.sections: 'notes' is not a bank file name (it must end in .md)");
	mb_error("memory_bank: {sections: {a.md: [x], a.md: [y]}}\n",
		 "memory_bank.sections: duplicate key 'a.md'");
	mb_error("memory_bank: {sections: [a.md]}\n", "memory_bank.sections: expected a mapping");
	mb_error("memory_bank: {sections: {a.md: Log}}\n",
		 "memory_bank.sections.a.md: expected a sequence of headings, got a string");
	mb_error("memory_bank: {section_variants: {Goals: ['']}}\n",
		 "memory_bank.section_variants.Goals[0]: must be 1 to 200 bytes");
	char big[2048] = "memory_bank: {section_variants: {Goals: [";
	for (int i = 0; i <= 100; i++) {
		strcat(big, i ? ", x" : "x");
	}
	strcat(big, "]}}\n");
	mb_error(big, "memory_bank.section_variants.Goals[100]: at most 100 entries");
}

static void test_config_skills(void)
{
	struct ctxd_config cfg;
	struct ctxd_error err;
	ctxd_config_init(&cfg);
	ASSERT_EQ(cfg.n_skills_dirs, 0);
	ASSERT(cfg.skills_user_dirs);
	ASSERT_EQ(cfg.skills_max_dirs, 10000);
	ASSERT_EQ(load(&cfg,
		       "skills:\n  dirs: [/opt/skills, team/skills]\n  user_dirs: false\n"
		       "  max_dirs: 50\n",
		       &err),
		  0);
	ASSERT_EQ(cfg.n_skills_dirs, 2);
	ASSERT_STR_EQ(cfg.skills_dirs[0], "/opt/skills");
	ASSERT_STR_EQ(cfg.skills_dirs[1], "team/skills");
	ASSERT(!cfg.skills_user_dirs);
	ASSERT_EQ(cfg.skills_max_dirs, 50);
	ASSERT_EQ(ctxd_config_add_skills_dir(&cfg, "/cli/skills"), 0);
	ASSERT_EQ(cfg.n_skills_dirs, 3);
	ASSERT_STR_EQ(cfg.skills_dirs[2], "/cli/skills");
	ASSERT_EQ(load(&cfg, "skills: {dirs: [x]}\n", &err), 0);
	ASSERT_EQ(cfg.n_skills_dirs, 1);
	ASSERT_STR_EQ(cfg.skills_dirs[0], "x");
	ASSERT_EQ(cfg.skills_max_dirs, 50);
	ASSERT_EQ(cfg.skills_catalogue_bytes, 8192);
	ASSERT_EQ(load(&cfg, "skills: {catalogue_bytes: 16KiB}\n", &err), 0);
	ASSERT_EQ(cfg.skills_catalogue_bytes, 16384);
	ctxd_config_finish(&cfg);
	const char *bad[][2] = {
	    {"skills: {catalogue_bytes: 100}\n", "skills.catalogue_bytes"},
	    {"skills: {catalogue_bytes: lots}\n", "skills.catalogue_bytes"},
	    {"skills: {max_dirs: 0}\n", "skills.max_dirs"},
	    {"skills: {dirs: ['']}\n", "skills.dirs[0]"},
	    {"skills: {dirs: /x}\n", "skills.dirs"},
	    {"skills: {user_dirs: maybe}\n", "skills.user_dirs"},
	    {"skills: {dir: [a]}\n", "unknown key 'dir'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ctxd_config_init(&cfg);
		ctxd_error_clear(&err);
		ASSERT_EQ(load(&cfg, bad[i][0], &err), -1);
		ASSERT_CONTAINS(err.msg, bad[i][1]);
		ctxd_config_finish(&cfg);
	}
}

static void test_config_disabled_tools(void)
{
	struct ctxd_config cfg;
	struct ctxd_error err;
	ctxd_config_init(&cfg);
	ASSERT_EQ(load(&cfg, "tools:\n  disabled:\n    - write_file\n    - edit_file\n", &err), 0);
	ASSERT_EQ(cfg.n_disabled_tools, 2);
	ASSERT_STR_EQ(cfg.disabled_tools[0], "write_file");
	ASSERT_STR_EQ(cfg.disabled_tools[1], "edit_file");
	ASSERT(ctxd_config_tool_disabled(&cfg, "edit_file"));
	ASSERT(!ctxd_config_tool_disabled(&cfg, "edit_fil"));
	ASSERT(!ctxd_config_tool_disabled(&cfg, "EDIT_FILE"));
	ASSERT(!ctxd_config_tool_disabled(NULL, "edit_file"));
	/* Replaced, not appended; a failure keeps the old list. */
	ASSERT_EQ(load(&cfg, "tools: {disabled: [move_file]}\n", &err), 0);
	ASSERT_EQ(cfg.n_disabled_tools, 1);
	ASSERT(!ctxd_config_tool_disabled(&cfg, "write_file"));
	ASSERT(ctxd_config_tool_disabled(&cfg, "move_file"));
	ASSERT_EQ(load(&cfg, "tools: {disabled: [a, b, [c]]}\n", &err), -1);
	ASSERT_EQ(cfg.n_disabled_tools, 1);
	ASSERT(ctxd_config_tool_disabled(&cfg, "move_file"));
	ASSERT_EQ(load(&cfg, "tools: {disabled: ~}\n", &err), 0);
	ASSERT_EQ(cfg.n_disabled_tools, 0);
	ASSERT(!ctxd_config_tool_disabled(&cfg, "move_file"));
	ctxd_config_finish(&cfg);
}

static void test_config_toolsets(void)
{
	struct ctxd_config cfg;
	struct ctxd_error err;
	unsigned bits = 99;
	ctxd_config_init(&cfg);
	ASSERT_EQ(cfg.toolsets, CTXD_TOOLSET_ALL);
	ASSERT_EQ(load(&cfg, "tools:\n  toolsets: [memory, files]\n", &err), 0);
	ASSERT_EQ(cfg.toolsets, CTXD_TOOLSET_MEMORY | CTXD_TOOLSET_FILES);
	/* Replaced, not merged; a failure keeps the old set. */
	ASSERT_EQ(load(&cfg, "tools: {toolsets: [skills, skills]}\n", &err), 0);
	ASSERT_EQ(cfg.toolsets, CTXD_TOOLSET_SKILLS);
	ASSERT_EQ(load(&cfg, "tools: {toolsets: [files, nope]}\n", &err), -1);
	ASSERT_EQ(cfg.toolsets, CTXD_TOOLSET_SKILLS);
	ctxd_config_finish(&cfg);
	expect_error("tools:\n  toolsets: []\n",
		     "t.yaml:2:13: tools.toolsets: name at least one of files, skills, memory");
	expect_error("tools:\n  toolsets: files\n",
		     "t.yaml:2:13: tools.toolsets: expected a sequence, got a string");
	expect_error("tools:\n  toolsets: [files, Memory]\n",
		     "t.yaml:2:21: tools.toolsets[1]: unknown tool family 'Memory' (files, skills "
		     "or memory)");
	expect_error("tools:\n  toolsets: [files, [skills]]\n",
		     "t.yaml:2:21: tools.toolsets[1]: expected a tool family name, got a sequence");
	expect_error("tools:\n  toolsets: [files]\n  toolsets: [skills]\n",
		     "t.yaml:3:3: duplicate key 'toolsets' in tools");

	/* The command line's comma-separated form. */
	ASSERT_EQ(ctxd_config_parse_toolsets("files", &bits), 0);
	ASSERT_EQ(bits, CTXD_TOOLSET_FILES);
	ASSERT_EQ(ctxd_config_parse_toolsets(" skills , memory ", &bits), 0);
	ASSERT_EQ(bits, CTXD_TOOLSET_SKILLS | CTXD_TOOLSET_MEMORY);
	ASSERT_EQ(ctxd_config_parse_toolsets("files,skills,memory,files", &bits), 0);
	ASSERT_EQ(bits, CTXD_TOOLSET_ALL);
	static const char *const bad[] = {
	    "",      ",",          "files,", ",files", "files,,skills", "file", "files skills",
	    "FILES", "memory_bank"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bits = 99;
		ASSERT_EQ(ctxd_config_parse_toolsets(bad[i], &bits), -1);
		ASSERT_EQ(bits, 99);
	}
	ASSERT_EQ(ctxd_config_parse_toolsets(NULL, &bits), -1);
	ASSERT_EQ(ctxd_config_toolset_bit("memory", 6), CTXD_TOOLSET_MEMORY);
	ASSERT_EQ(ctxd_config_toolset_bit("memoryx", 6), CTXD_TOOLSET_MEMORY);
	ASSERT_EQ(ctxd_config_toolset_bit("memory", 5), 0);
	ASSERT_EQ(ctxd_config_toolset_bit(NULL, 0), 0);
}

static void test_config_merge_order(void)
{
	struct ctxd_config cfg;
	struct ctxd_error err;
	ctxd_config_init(&cfg);
	/* defaults, then a first buffer, then a second that sets only some keys */
	ASSERT_EQ(
	    load(&cfg, "threads: 4\nlimits: {page_size: 10, entries: 20}\nlog_level: info\n", &err),
	    0);
	ASSERT_EQ(load(&cfg, "limits: {page_size: 30}\nsandbox: {read_only: yes}\n", &err), 0);
	ASSERT_EQ(cfg.threads, 4);      /* from the first */
	ASSERT_EQ(cfg.max_entries, 20); /* from the first: limits merges key by key */
	ASSERT_EQ(cfg.page_size, 30);   /* the second wins */
	ASSERT_EQ(cfg.log_level, CTXD_LOG_INFO);
	ASSERT(cfg.read_only);
	ASSERT(cfg.landlock); /* still the default */
	ASSERT_EQ(cfg.max_read_bytes, 256 * 1024);
	/* a failed load keeps what came before the error */
	ASSERT_EQ(load(&cfg, "threads: 5\nlimits: {page_size: 0}\n", &err), -1);
	ASSERT_EQ(cfg.threads, 5);
	ASSERT_EQ(cfg.page_size, 30);
	ctxd_config_finish(&cfg);
}

static char tmpdir[4096];

static void make_tmpdir(void)
{
	test_tmp_root(tmpdir, sizeof(tmpdir), "ctxd-test-config");
}

static void write_file(const char *path, const char *data, size_t len)
{
	tree_write(NULL, path, data, len);
}

static void test_config_load_file(void)
{
	struct ctxd_config cfg;
	struct ctxd_error err;
	char path[4200], big[4200];

	ctxd_config_init(&cfg);
	snprintf(path, sizeof(path), "%s/missing.yaml", tmpdir);
	ctxd_error_clear(&err);
	ASSERT_EQ(ctxd_config_load_file(&cfg, path, &err), -1);
	ASSERT_EQ(err.sys_errno, ENOENT);
	ASSERT_CONTAINS(err.msg, path);
	ASSERT_CONTAINS(err.msg, strerror(ENOENT));
	ASSERT(cfg.source == NULL);
	check_defaults(&cfg);

	ASSERT_EQ(ctxd_config_load_file(&cfg, tmpdir, &err), -1);
	ASSERT_EQ(err.sys_errno, EISDIR);

	/* A FIFO with no writer used to block the open forever; a device was read as YAML. Both
	 * are refused at once, saying what the file is. */
	snprintf(path, sizeof(path), "%s/fifo.yaml", tmpdir);
	unlink(path);
	ASSERT_EQ(mkfifo(path, 0600), 0);
	ASSERT_EQ(ctxd_config_load_file(&cfg, path, &err), -1);
	ASSERT_EQ(err.sys_errno, EINVAL);
	ASSERT_CONTAINS(err.msg, "fifo.yaml: the configuration must be a regular file, this is a "
				 "FIFO (named pipe)");
	unlink(path);
	ASSERT_EQ(ctxd_config_load_file(&cfg, "/dev/null", &err), -1);
	ASSERT_CONTAINS(err.msg, "/dev/null: the configuration must be a regular file, this is a "
				 "character device");
	ASSERT(cfg.source == NULL);
	check_defaults(&cfg);

	snprintf(path, sizeof(path), "%s/good.yaml", tmpdir);
	write_file(path, "threads: 12\nlimits:\n  read_bytes: 1MiB\n", 39);
	ASSERT_EQ(ctxd_config_load_file(&cfg, path, &err), 0);
	ASSERT_EQ(cfg.threads, 12);
	ASSERT_EQ(cfg.max_read_bytes, 1024 * 1024);
	ASSERT_STR_EQ(cfg.source, path);

	/* Errors name the file. */
	snprintf(path, sizeof(path), "%s/bad.yaml", tmpdir);
	write_file(path, "threads: 1\nlimits:\n  nope: 1\n", 28);
	ASSERT_EQ(ctxd_config_load_file(&cfg, path, &err), -1);
	char want[4400];
	snprintf(want, sizeof(want), "%s:3:3: unknown key 'nope' in limits", path);
	ASSERT_STR_EQ(err.msg, want);

	/* Exactly 1 MiB is read (a comment padded out); one byte more is refused. */
	size_t n = (size_t)1 << 20;
	char *data = malloc(n + 1);
	ASSERT(data != NULL);
	memset(data, ' ', n + 1);
	memcpy(data, "threads: 2\n#", 12);
	data[n - 1] = '\n';
	snprintf(big, sizeof(big), "%s/big.yaml", tmpdir);
	write_file(big, data, n);
	ASSERT_EQ(ctxd_config_load_file(&cfg, big, &err), 0);
	ASSERT_EQ(cfg.threads, 2);
	data[n - 1] = ' ';
	data[n] = '\n';
	write_file(big, data, n + 1);
	ASSERT_EQ(ctxd_config_load_file(&cfg, big, &err), -1);
	ASSERT_EQ(err.sys_errno, EFBIG);
	ASSERT_CONTAINS(err.msg, "big.yaml: file is larger than 1048576 bytes");
	free(data);
	ctxd_config_finish(&cfg);

	unlink(big);
	unlink(path);
	snprintf(path, sizeof(path), "%s/good.yaml", tmpdir);
	unlink(path);
}

/* config/ctxd.example.yaml must load, and hold exactly the defaults. */
static void test_config_example_file(void)
{
	char path[4096];
	const char *root = getenv("CTXD_SOURCE_ROOT");
	if (root && *root) {
		snprintf(path, sizeof(path), "%s/config/ctxd.example.yaml", root);
	} else if (access("../config/ctxd.example.yaml", R_OK) == 0) {
		snprintf(path, sizeof(path), "../config/ctxd.example.yaml");
	} else if (access("config/ctxd.example.yaml", R_OK) == 0) {
		snprintf(path, sizeof(path), "config/ctxd.example.yaml");
	} else {
		fprintf(stderr, "   skipped: CTXD_SOURCE_ROOT is not set\n");
		return;
	}
	struct ctxd_config cfg;
	struct ctxd_error err;
	ctxd_config_init(&cfg);
	ctxd_error_clear(&err);
	if (ctxd_config_load_file(&cfg, path, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		abort();
	}
	check_defaults(&cfg);

	/* Every key is spelled out in it. */
	FILE *f = fopen(path, "rb");
	ASSERT(f != NULL);
	static char text[1 << 16];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	static const char *const keys[] = {
	    "\nroots:",
	    "\nthreads:",
	    "\nlimits:",
	    "  frame_bytes:",
	    "  read_bytes:",
	    "  entries:",
	    "  write_queue_bytes:",
	    "  drain_ms:",
	    "  page_size:",
	    "  media_bytes:",
	    "\nlog:",
	    "  level:",
	    "log_level",
	    "\nsandbox:",
	    "  landlock:",
	    "  read_only:",
	    "\ntools:",
	    "  disabled:",
	    "mode: ro",
	    "  toolsets:",
	    "  call_ms:",
	    "  copy_bytes:",
	    "  hardlinks:",
	    "  poll_ms:",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		ASSERT_CONTAINS(text, keys[i]);
	}
	ctxd_config_finish(&cfg);
}

/* Deterministic mutations of valid and hostile inputs: every call must return 0 or -1 with a
 * message, and (under ASan) neither crash nor leak. */
static void test_config_mutations(void)
{
	static const char *const seeds[] = {
	    "roots:\n  - /a\n  - {path: /b, mode: ro}\nthreads: 4\nlimits:\n  frame_bytes: 16MiB\n"
	    "  read_bytes: 256KiB\n  entries: 10\n  write_queue_bytes: 8M\n  drain_ms: 5\n"
	    "  page_size: 9\nlog: {level: info}\nsandbox: {landlock: on, read_only: no}\n"
	    "tools: {disabled: [a, b]}\n",
	    "a: &x [1, *x, \"\\u0000\", !!binary aGk=, ? {a: b} : c]\n--- |\n  x\n...\n%TAG ! t\n",
	    "roots: [{path: \"/\\x41\\u263A\", read_only: y}, '/q''x', >\n  folded\n]\n",
	};
	static const char alphabet[] = "-:[]{},&*!|>'\"#%@`?~ \t\n\r\\\0\xef\xbb\xbf\xff\x80"
				       "az09K";
	uint32_t rnd = 12345;
	char buf[512];
	for (int iter = 0; iter < 30000; iter++) {
		const char *seed = seeds[iter % 3];
		size_t len = strlen(seed);
		if (len > sizeof(buf)) {
			len = sizeof(buf);
		}
		memcpy(buf, seed, len);
		int edits = 1 + iter % 8;
		for (int e = 0; e < edits; e++) {
			rnd = rnd * 1103515245u + 12345u;
			size_t pos = (rnd >> 8) % (len ? len : 1);
			rnd = rnd * 1103515245u + 12345u;
			char c = alphabet[(rnd >> 8) % (sizeof(alphabet) - 1)];
			switch ((rnd >> 20) % 3) {
			case 0: /* overwrite */
				if (len) {
					buf[pos] = c;
				}
				break;
			case 1: /* insert */
				if (len < sizeof(buf)) {
					memmove(buf + pos + 1, buf + pos, len - pos);
					buf[pos] = c;
					len++;
				}
				break;
			default: /* delete */
				if (len) {
					memmove(buf + pos, buf + pos + 1, len - pos - 1);
					len--;
				}
				break;
			}
		}
		struct ctxd_config cfg;
		struct ctxd_error err;
		ctxd_config_init(&cfg);
		ctxd_error_clear(&err);
		/* a heap copy of exactly len bytes, so ASan sees any over-read */
		char *copy = malloc(len ? len : 1);
		ASSERT(copy != NULL);
		memcpy(copy, buf, len);
		int rc = ctxd_config_load_buffer(&cfg, copy, len, "m.yaml", &err);
		ASSERT(rc == 0 || rc == -1);
		if (rc == -1) {
			ASSERT(strncmp(err.msg, "m.yaml:", 7) == 0);
		}
		free(copy);
		ctxd_config_finish(&cfg);
	}
}

/* Every limits key: its least and greatest values load into its field; one below and one
 * above are refused with the key and the range in the message. */
static void test_config_limits_bounds(void)
{
	static const struct {
		const char *key;
		unsigned long long lo, hi;
		bool bytes;
		size_t off;
		bool is_size_t; /* the field is a size_t (else unsigned) */
	} lim[] = {
	    {"frame_bytes", 1024, 1ull << 30, true, offsetof(struct ctxd_config, max_frame_bytes),
	     true},
	    {"read_bytes", 1024, 1ull << 30, true, offsetof(struct ctxd_config, max_read_bytes),
	     true},
	    {"entries", 1, 10000000, false, offsetof(struct ctxd_config, max_entries), true},
	    {"write_queue_bytes", 1024, 1ull << 30, true,
	     offsetof(struct ctxd_config, write_queue_bytes), true},
	    {"drain_ms", 0, 600000, false, offsetof(struct ctxd_config, drain_ms), false},
	    {"page_size", 1, 10000, false, offsetof(struct ctxd_config, page_size), false},
	    {"media_bytes", 1024, 1ull << 30, true, offsetof(struct ctxd_config, max_media_bytes),
	     true},
	    {"roots_timeout_ms", 100, 600000, false, offsetof(struct ctxd_config, roots_timeout_ms),
	     false},
	    {"call_ms", 0, 86400000, false, offsetof(struct ctxd_config, call_ms), false},
	    {"subscriptions", 1, 10000000, false, offsetof(struct ctxd_config, max_subscriptions),
	     false},
	    {"copy_bytes", 1024, 1ull << 40, true, offsetof(struct ctxd_config, max_copy_bytes),
	     true},
	    {"poll_ms", 10, 60000, false, offsetof(struct ctxd_config, poll_ms), false},
	};
	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		unsigned long long ok[2] = {lim[i].lo, lim[i].hi};
		for (int j = 0; j < 2; j++) {
			char y[128];
			snprintf(y, sizeof(y), "limits: {%s: %llu}\n", lim[i].key, ok[j]);
			struct ctxd_config c;
			struct ctxd_error e;
			ctxd_config_init(&c);
			ASSERT_EQ(load(&c, y, &e), 0);
			const char *f = (const char *)&c + lim[i].off;
			unsigned long long got = lim[i].is_size_t
						     ? *(const size_t *)(const void *)f
						     : *(const unsigned *)(const void *)f;
			ASSERT_EQ(got, ok[j]);
			ctxd_config_finish(&c);
		}
		unsigned long long bad[2] = {lim[i].lo - 1, lim[i].hi + 1};
		for (int j = lim[i].lo == 0 ? 1 : 0; j < 2; j++) {
			char y[128], msg[256];
			int col = snprintf(y, sizeof(y), "limits: {%s: ", lim[i].key) + 1;
			snprintf(y + col - 1, sizeof(y) - (size_t)col + 1, "%llu}\n", bad[j]);
			snprintf(msg, sizeof(msg),
				 "t.yaml:1:%d: limits.%s: %llu is out of range (%llu..%llu%s)", col,
				 lim[i].key, bad[j], lim[i].lo, lim[i].hi,
				 lim[i].bytes ? " bytes" : "");
			expect_error(y, msg);
		}
	}
}

int main(void)
{
	make_tmpdir();
	RUN(test_config_defaults);
	RUN(test_config_every_key);
	RUN(test_config_sizes);
	RUN(test_config_errors);
	RUN(test_config_copy_hardlinks);
	RUN(test_config_aliases_refused);
	RUN(test_config_deep_nesting);
	RUN(test_config_empty);
	RUN(test_config_roots_forms);
	RUN(test_config_disabled_tools);
	RUN(test_config_memory_bank);
	RUN(test_config_memory_bank_sections);
	RUN(test_config_skills);
	RUN(test_config_toolsets);
	RUN(test_config_merge_order);
	RUN(test_config_load_file);
	RUN(test_config_example_file);
	RUN(test_config_mutations);
	RUN(test_config_limits_bounds);
	ASSERT_EQ(rmdir(tmpdir), 0);
	return 0;
}
