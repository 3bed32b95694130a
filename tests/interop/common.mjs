// common.mjs - shared fixture, checks and scenario for the ctxd interop tests.
//
// Each test file (v1.test.mjs, v2.test.mjs) supplies an adapter around one official
// TypeScript MCP client; this module builds a real directory tree, drives the adapter
// through every file tool (good and bad input, concurrency, shutdown) and keeps a tally.
// A failed check never stops the run: every failure is printed, then one summary line,
// and the exit code is 0 only when every check passed.
//
// No check depends on time: a wait is for an event (an answer, a notification, an exit) and
// HANG_GUARD only turns a hang into a failure. Whether something arrives late is checked
// once the server has exited and its whole output is in hand (Tally.defer).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const READ_TOOLS = [
	'read_text_file',
	'list_directory',
	'get_file_info',
	'search_files',
	'list_allowed_directories',
];

// Limit on any single wait for an event; a healthy run never comes near it.
export const HANG_GUARD = 30000;

const SECRET = 'TOP SECRET 7f3a';
const OUTSIDE_RE = /outside|denied|not allowed|permission|sandbox|allowed|escape|beneath|forbidden|access/i;

// ---------------------------------------------------------------------------------------
// Tally

export class Tally {
	constructor(label) {
		this.label = label;
		this.passed = 0;
		this.failed = [];
		this.deferred = [];
	}

	// Checks to run once the server's whole output has been read (after it exited).
	defer(fn) {
		this.deferred.push(fn);
	}

	async runDeferred() {
		const fns = this.deferred;
		this.deferred = [];
		for (const fn of fns)
			await this.section('deferred check', fn);
	}

	check(name, cond, detail) {
		if (cond) {
			this.passed++;
			return true;
		}
		const d = detail === undefined ? '' : ': ' + short(detail);
		this.failed.push(name + d);
		console.error(`FAIL ${this.label}: ${name}${d}`);
		return false;
	}

	eq(name, got, want) {
		let ok = true;
		try {
			assert.deepStrictEqual(got, want);
		} catch {
			ok = false;
		}
		return this.check(name, ok, `got ${short(got)}, want ${short(want)}`);
	}

	// Run an async section; an exception fails the section but not the run.
	async section(name, fn) {
		try {
			await fn();
		} catch (e) {
			this.check(`${name} (threw)`, false, e && e.stack ? e.stack : e);
		}
	}

	finish() {
		const total = this.passed + this.failed.length;
		if (this.failed.length === 0) {
			console.log(`${this.label}: PASS ${this.passed}/${total} checks`);
			return 0;
		}
		console.log(`${this.label}: FAIL ${this.failed.length} of ${total} checks failed`);
		return 1;
	}
}

export function short(v, max = 600) {
	let s;
	if (typeof v === 'string')
		s = JSON.stringify(v);
	else if (v instanceof Error)
		s = v.stack || String(v);
	else {
		try {
			s = JSON.stringify(v);
		} catch {
			s = String(v);
		}
	}
	if (s === undefined)
		s = String(v);
	return s.length > max ? s.slice(0, max) + '...' : s;
}

// ---------------------------------------------------------------------------------------
// Arguments and the fixture tree

export function serverBinary() {
	const bin = process.argv[2] || process.env.CTXD_BIN;
	if (!bin) {
		console.error('usage: node <test>.mjs /path/to/ctxd   (or set CTXD_BIN)');
		process.exit(2);
	}
	const abs = path.resolve(bin);
	if (!fs.existsSync(abs)) {
		console.error(`ctxd binary not found: ${abs}`);
		process.exit(2);
	}
	return abs;
}

export function serverArgs(root) {
	return ['--log-level', 'warning', root];
}

// Build base/{root, root-outside}. The outside directory shares the root's name as a
// prefix, so a string-prefix sandbox check would wrongly accept it.
export function makeTree() {
	const tmp = process.env.TMPDIR || os.tmpdir();
	const base = fs.realpathSync(fs.mkdtempSync(path.join(tmp, 'ctxd-interop-')));
	const root = path.join(base, 'root');
	const outside = path.join(base, 'root-outside');
	fs.mkdirSync(root);
	fs.mkdirSync(outside);
	fs.mkdirSync(path.join(root, 'sub', 'deeper'), { recursive: true });

	const crlfLines = [];
	for (let i = 1; i <= 300; i++)
		crlfLines.push(`line ${i}: the quick brown fox\r\n`);
	const files = {
		'hello.txt': 'hello world\n',
		'notes.md': '# Notes\n\nSome notes about nothing.\n',
		'crlf.txt': crlfLines.join(''),
		'sub/nested.txt': 'nested needle\n',
		'sub/deeper/deep.txt': 'deep down\n',
	};
	const bigLines = 4000;
	const big = [];
	for (let i = 1; i <= bigLines; i++)
		big.push(`big line ${i} `.padEnd(99, 'x') + '\n');
	files['big.txt'] = big.join('');
	for (const [rel, text] of Object.entries(files))
		fs.writeFileSync(path.join(root, rel), text);
	fs.writeFileSync(path.join(outside, 'secret.txt'), SECRET + '\n');
	fs.symlinkSync('../root-outside/secret.txt', path.join(root, 'secret-link.txt'));
	fs.symlinkSync(outside, path.join(root, 'escape'));
	fs.symlinkSync('hello.txt', path.join(root, 'inside-link.txt'));

	const p = (rel) => path.join(root, rel);
	return {
		base, root, outside, files, crlfLines, bigLines, p,
		secretPath: path.join(outside, 'secret.txt'),
		cleanup() {
			fs.rmSync(base, { recursive: true, force: true });
		},
	};
}

// ---------------------------------------------------------------------------------------
// Processes

// Record every process a StdioClientTransport class starts (the v2 client's probe
// sibling is built from the same class), with its exit code/signal, and the order of the
// starts and exits (startSeq, exitSeq: one counter for all of them).
let eventSeq = 0;
export function instrumentTransport(TransportClass) {
	const spawned = [];
	const orig = TransportClass.prototype.start;
	TransportClass.prototype.start = async function (...args) {
		await orig.apply(this, args);
		const proc = this._process;
		if (!proc)
			return;
		const rec = { pid: proc.pid, proc, startedAt: Date.now(), startSeq: ++eventSeq, exit: null,
			exitedAt: null, exitSeq: null };
		rec.exited = new Promise((resolve) => {
			proc.once('exit', (code, signal) => {
				rec.exit = { code, signal };
				rec.exitedAt = Date.now();
				rec.exitSeq = ++eventSeq;
				resolve(rec.exit);
			});
		});
		spawned.push(rec);
	};
	return spawned;
}

// Live (or zombie) children of this node process, from /proc; null if /proc is missing.
export function childProcesses() {
	let names;
	try {
		names = fs.readdirSync('/proc');
	} catch {
		return null;
	}
	const out = [];
	for (const n of names) {
		if (!/^\d+$/.test(n))
			continue;
		let stat;
		try {
			stat = fs.readFileSync(`/proc/${n}/stat`, 'utf8');
		} catch {
			continue;
		}
		const close = stat.lastIndexOf(')');
		const comm = stat.slice(stat.indexOf('(') + 1, close);
		const fields = stat.slice(close + 2).split(' ');
		if (Number(fields[1]) === process.pid)
			out.push({ pid: Number(n), comm, state: fields[0] });
	}
	return out;
}

export function killAll(spawned) {
	for (const rec of spawned) {
		if (rec.exit === null) {
			try {
				rec.proc.kill('SIGKILL');
			} catch {
				/* already gone */
			}
		}
	}
}

// Kill what is left and wait until every recorded process has exited.
export async function reapAll(spawned) {
	killAll(spawned);
	await Promise.all(spawned.map((rec) => rec.exited));
}

export function withTimeout(promise, ms, what) {
	let timer;
	const t = new Promise((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
	});
	return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------
// Result helpers

export function textOf(result) {
	if (!result || !Array.isArray(result.content))
		return undefined;
	const t = result.content.find((c) => c && c.type === 'text');
	return t ? t.text : undefined;
}

function allText(result) {
	if (!result || !Array.isArray(result.content))
		return '';
	return result.content.filter((c) => c && c.type === 'text').map((c) => c.text).join('\n');
}

// Lines as on disk; the last line's terminator may or may not be kept.
function sameLines(got, want) {
	return got === want || got === want.replace(/\r?\n$/, '');
}

function typeOk(type, v) {
	switch (type) {
	case 'object': return v !== null && typeof v === 'object' && !Array.isArray(v);
	case 'array': return Array.isArray(v);
	case 'string': return typeof v === 'string';
	case 'integer': return Number.isInteger(v);
	case 'number': return typeof v === 'number';
	case 'boolean': return typeof v === 'boolean';
	case 'null': return v === null;
	default: return true;
	}
}

// A light JSON Schema check (type, required, properties, items, enum). Returns a list
// of problems, empty when the instance conforms.
export function schemaProblems(schema, v, where = '$') {
	const probs = [];
	if (!schema || typeof schema !== 'object')
		return probs;
	if (schema.type !== undefined) {
		const types = Array.isArray(schema.type) ? schema.type : [schema.type];
		if (!types.some((t) => typeOk(t, v))) {
			probs.push(`${where}: expected ${types.join('|')}, got ${short(v, 80)}`);
			return probs;
		}
	}
	if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(v)))
		probs.push(`${where}: ${short(v, 80)} not in enum`);
	if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
		for (const k of schema.required || [])
			if (!(k in v))
				probs.push(`${where}: missing required '${k}'`);
		for (const [k, sub] of Object.entries(schema.properties || {}))
			if (k in v)
				probs.push(...schemaProblems(sub, v[k], `${where}.${k}`));
		if (schema.additionalProperties === false) {
			for (const k of Object.keys(v))
				if (!(schema.properties && k in schema.properties))
					probs.push(`${where}: unexpected property '${k}'`);
		}
	}
	if (Array.isArray(v) && schema.items && typeof schema.items === 'object')
		v.forEach((item, i) => probs.push(...schemaProblems(schema.items, item, `${where}[${i}]`)));
	return probs;
}

// The documented outputSchema of a tool: schemas/NAME.output.json (or the file it shares), with
// the descriptions and "required" lists that tools/list leaves out; undefined when it has none.
const SHARED_OUTPUT = {
	append_file: 'file_change', copy_file: 'file_change', move_file: 'file_change',
	delete_file: 'file_change', create_directory: 'file_change', memory_bank_write: 'memory_bank_change',
};
export function documentedOutputSchema(name) {
	const dir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'schemas');
	const file = path.join(dir, `${SHARED_OUTPUT[name] || name}.output.json`);
	return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
}

// A successful result's structuredContent against the listed outputSchema (what a host
// checks) and against the documented one, "required" included. A tool listing no
// outputSchema (a one-line status) may still send structuredContent.
export function checkStructured(t, what, tool, r) {
	const doc = documentedOutputSchema(tool.name);
	if (tool.outputSchema || doc) {
		if (!t.check(`${what}: structuredContent present`, r.structuredContent !== undefined, r))
			return;
	}
	if (tool.outputSchema)
		t.eq(`${what}: structuredContent conforms to the listed outputSchema`,
			schemaProblems(tool.outputSchema, r.structuredContent), []);
	if (doc)
		t.eq(`${what}: structuredContent conforms to schemas/*.output.json`,
			schemaProblems(doc, r.structuredContent), []);
}

// Every array-typed schema below `schema` must declare items (VS Code rejects them).
function arraysWithoutItems(schema, where, out) {
	if (!schema || typeof schema !== 'object')
		return out;
	const types = Array.isArray(schema.type) ? schema.type : [schema.type];
	if (types.includes('array') && schema.items === undefined && schema.prefixItems === undefined)
		out.push(where);
	for (const [k, sub] of Object.entries(schema.properties || {}))
		arraysWithoutItems(sub, `${where}.${k}`, out);
	if (schema.items && typeof schema.items === 'object')
		arraysWithoutItems(schema.items, `${where}[]`, out);
	for (const key of ['anyOf', 'oneOf', 'allOf'])
		(schema[key] || []).forEach((s, i) => arraysWithoutItems(s, `${where}.${key}[${i}]`, out));
	return out;
}

// ---------------------------------------------------------------------------------------
// The scenario
//
// `client` is an adapter:
//   listTools() -> {tools}
//   call(name, args) -> CallToolResult (throws on a JSON-RPC error; error.code is the code)

export async function checkTools(t, client) {
	const { tools } = await client.listTools();
	t.check('tools/list returns an array', Array.isArray(tools), tools);
	const byName = new Map();
	for (const tool of tools) {
		t.check(`tool name '${tool.name}' is valid`, /^[A-Za-z0-9_.-]{1,128}$/.test(tool.name));
		t.check(`tool '${tool.name}' is unique`, !byName.has(tool.name));
		byName.set(tool.name, tool);
		t.check(`${tool.name}: description`, typeof tool.description === 'string' &&
			tool.description.length > 0, tool.description);
		t.eq(`${tool.name}: inputSchema.type`, tool.inputSchema && tool.inputSchema.type, 'object');
		t.eq(`${tool.name}: every input array has items`,
			arraysWithoutItems(tool.inputSchema, 'inputSchema', []), []);
		const ann = tool.annotations || {};
		t.check(`${tool.name}: annotations present`, tool.annotations !== undefined, tool);
		t.check(`${tool.name}: readOnlyHint is boolean`, typeof ann.readOnlyHint === 'boolean', ann);
		t.eq(`${tool.name}: no openWorldHint (left out of tools/list)`, ann.openWorldHint, undefined);
		if (tool.outputSchema !== undefined) {
			t.eq(`${tool.name}: outputSchema.type`, tool.outputSchema.type, 'object');
			t.eq(`${tool.name}: every output array has items`,
				arraysWithoutItems(tool.outputSchema, 'outputSchema', []), []);
		}
	}
	for (const name of READ_TOOLS) {
		if (t.check(`tool ${name} listed`, byName.has(name), [...byName.keys()]))
			t.eq(`${name}: readOnlyHint`, byName.get(name).annotations?.readOnlyHint, true);
	}
	return byName;
}

// Call a tool and apply the output-schema check to a successful result.
async function callOk(t, client, tools, name, args) {
	const r = await client.call(name, args);
	const what = `${name} ${short(args, 200)}`;
	t.check(`${what}: no isError`, r && r.isError !== true, r);
	t.check(`${what}: content array`, r && Array.isArray(r.content) && r.content.length > 0, r);
	const tool = tools.get(name);
	if (tool && r && r.isError !== true)
		checkStructured(t, what, tool, r);
	return r || {};
}

async function callErr(t, client, name, args, re, what) {
	let r;
	try {
		r = await client.call(name, args);
	} catch (e) {
		t.check(`${what}: isError result, not a JSON-RPC error`, false, `${e.code} ${e.message}`);
		return;
	}
	t.eq(`${what}: isError`, r && r.isError, true);
	const msg = allText(r);
	t.check(`${what}: message is clear`, msg.length > 0 && msg.length < 2000 && re.test(msg), msg);
	t.check(`${what}: secret not leaked`, !msg.includes(SECRET) &&
		!JSON.stringify(r.structuredContent ?? null).includes(SECRET), r);
}

export async function checkGoodCalls(t, client, tools, tree) {
	const { p, root, files } = tree;
	const sc = (r) => r.structuredContent || {};

	await t.section('read_text_file whole file', async () => {
		const r = await callOk(t, client, tools, 'read_text_file', { path: p('hello.txt') });
		t.eq('read hello.txt: text', textOf(r), files['hello.txt']);
		t.eq('read hello.txt: structured content', sc(r).content, files['hello.txt']);
		t.eq('read hello.txt: totalLines', sc(r).totalLines, 1);
		t.eq('read hello.txt: startLine', sc(r).startLine, 1);
		t.eq('read hello.txt: endLine', sc(r).endLine, 1);
		t.eq('read hello.txt: truncated', sc(r).truncated, false);
		t.check('read hello.txt: path', typeof sc(r).path === 'string' &&
			sc(r).path.endsWith('hello.txt'), sc(r).path);
	});

	await t.section('read_text_file CRLF', async () => {
		const r = await callOk(t, client, tools, 'read_text_file', { path: p('crlf.txt') });
		t.check('read crlf.txt: text is the file, CRLF kept', textOf(r) === files['crlf.txt'],
			(textOf(r) || '').slice(0, 120));
		t.eq('read crlf.txt: totalLines', sc(r).totalLines, 300);
		t.eq('read crlf.txt: endLine', sc(r).endLine, 300);
		t.eq('read crlf.txt: truncated', sc(r).truncated, false);
		t.check('read crlf.txt: no nextOffset at end', sc(r).nextOffset === undefined ||
			sc(r).nextOffset === null, sc(r).nextOffset);
	});

	await t.section('read_text_file head', async () => {
		const r = await callOk(t, client, tools, 'read_text_file', { path: p('crlf.txt'), head: 5 });
		const want = tree.crlfLines.slice(0, 5).join('');
		t.check('head 5: first five lines, CRLF kept', sameLines(textOf(r) ?? '', want), textOf(r));
		t.eq('head 5: startLine', sc(r).startLine, 1);
		t.eq('head 5: endLine', sc(r).endLine, 5);
		t.eq('head 5: totalLines', sc(r).totalLines, 300);
	});

	await t.section('read_text_file tail', async () => {
		const r = await callOk(t, client, tools, 'read_text_file', { path: p('crlf.txt'), tail: 3 });
		const want = tree.crlfLines.slice(297).join('');
		t.check('tail 3: last three lines', sameLines(textOf(r) ?? '', want), textOf(r));
		t.eq('tail 3: startLine', sc(r).startLine, 298);
		t.eq('tail 3: endLine', sc(r).endLine, 300);
	});

	await t.section('read_text_file offset/limit', async () => {
		const r = await callOk(t, client, tools, 'read_text_file',
			{ path: p('crlf.txt'), offset: 10, limit: 5 });
		const want = tree.crlfLines.slice(9, 14).join('');
		t.check('offset 10 limit 5: lines 10..14', sameLines(textOf(r) ?? '', want), textOf(r));
		t.eq('offset 10 limit 5: startLine', sc(r).startLine, 10);
		t.eq('offset 10 limit 5: endLine', sc(r).endLine, 14);
		t.eq('offset 10 limit 5: not truncated', sc(r).truncated, false);
		t.check('offset 10 limit 5: no nextOffset when not truncated',
			sc(r).nextOffset === undefined, sc(r).nextOffset);
	});

	await t.section('read_text_file relative path', async () => {
		const r = await callOk(t, client, tools, 'read_text_file', { path: 'sub/nested.txt' });
		t.eq('read relative sub/nested.txt: text', textOf(r), files['sub/nested.txt']);
	});

	await t.section('read_text_file over the byte limit', async () => {
		const big = files['big.txt'];
		const r = await callOk(t, client, tools, 'read_text_file', { path: p('big.txt') });
		const text = textOf(r) ?? '';
		t.eq('read big.txt: truncated', sc(r).truncated, true);
		t.check('read big.txt: a shorter prefix of whole lines', text.length > 0 &&
			text.length < big.length && big.startsWith(text) && text.endsWith('\n'), text.length);
		const lines = text.split('\n').length - 1;
		t.eq('read big.txt: endLine', sc(r).endLine, lines);
		t.eq('read big.txt: nextOffset', sc(r).nextOffset, lines + 1);
		t.eq('read big.txt: totalLines', sc(r).totalLines, tree.bigLines);
		if (Number.isInteger(sc(r).nextOffset)) {
			const r2 = await callOk(t, client, tools, 'read_text_file',
				{ path: p('big.txt'), offset: sc(r).nextOffset });
			t.check('read big.txt: continuing at nextOffset goes on from there',
				(textOf(r2) ?? '').length > 0 && big.startsWith(text + textOf(r2).slice(0, 1000)),
				(textOf(r2) ?? '').slice(0, 100));
		}
	});

	await t.section('read_text_file through an inside symlink', async () => {
		const r = await callOk(t, client, tools, 'read_text_file', { path: p('inside-link.txt') });
		t.eq('read inside-link.txt: target text', textOf(r), files['hello.txt']);
	});

	await t.section('list_directory root', async () => {
		const r = await callOk(t, client, tools, 'list_directory', { path: root });
		const text = textOf(r) ?? '';
		const lines = text.split('\n').map((l) => l.trim());
		for (const f of ['hello.txt', 'notes.md', 'crlf.txt'])
			t.check(`list root: text has [FILE] ${f}`, lines.includes(`[FILE] ${f}`), text);
		t.check('list root: text has [DIR] sub', lines.includes('[DIR] sub'), text);
		t.check('list root: nothing from outside', !text.includes('secret.txt'), text);
		const entries = sc(r).entries || [];
		const find = (n) => entries.find((e) => e.name === n);
		t.eq('list root: hello.txt entry', find('hello.txt')?.type, 'file');
		t.eq('list root: sub entry', find('sub')?.type, 'directory');
		t.eq('list root: crlf.txt entry', find('crlf.txt')?.type, 'file');
		t.check('list root: no entry from outside', !find('secret.txt'), entries);
		t.eq('list root: truncated', sc(r).truncated, false);
	});

	await t.section('list_directory sub', async () => {
		const r = await callOk(t, client, tools, 'list_directory', { path: p('sub') });
		const entries = sc(r).entries || [];
		const names = entries.map((e) => `${e.type}:${e.name}`).sort();
		t.eq('list sub: entries', names, ['directory:deeper', 'file:nested.txt']);
		const lines = (textOf(r) ?? '').split('\n').map((l) => l.trim()).filter(Boolean).sort();
		t.eq('list sub: text lines', lines, ['[DIR] deeper', '[FILE] nested.txt']);
	});

	await t.section('get_file_info', async () => {
		const r = await callOk(t, client, tools, 'get_file_info', { path: p('crlf.txt') });
		const st = fs.statSync(p('crlf.txt'));
		t.eq('info crlf.txt: size', sc(r).size, st.size);
		t.eq('info crlf.txt: isFile', sc(r).isFile, true);
		t.eq('info crlf.txt: isDirectory', sc(r).isDirectory, false);
		t.check('info crlf.txt: type says file', /file/i.test(String(sc(r).type)), sc(r).type);
		const m = Date.parse(sc(r).modified);
		t.check('info crlf.txt: modified is a date near mtime',
			Number.isFinite(m) && Math.abs(m - st.mtimeMs) < 2000, sc(r).modified);
		t.check('info crlf.txt: permissions', sc(r).permissions !== undefined, sc(r));
		t.check('info crlf.txt: text mentions size', (textOf(r) ?? '').includes(String(st.size)),
			textOf(r));
		const d = await callOk(t, client, tools, 'get_file_info', { path: p('sub') });
		t.eq('info sub: isDirectory', sc(d).isDirectory, true);
		t.eq('info sub: isFile', sc(d).isFile, false);
		t.check('info sub: type says directory', /dir/i.test(String(sc(d).type)), sc(d).type);
	});

	await t.section('search_files', async () => {
		const r = await callOk(t, client, tools, 'search_files', { path: root, pattern: '**/*.txt' });
		const matches = (sc(r).matches || []).slice().sort();
		t.check('search **/*.txt: matches are absolute', matches.every((m) => path.isAbsolute(m)),
			matches);
		for (const f of ['hello.txt', 'crlf.txt', 'sub/nested.txt', 'sub/deeper/deep.txt'])
			t.check(`search **/*.txt: finds ${f}`, matches.includes(p(f)), matches);
		t.check('search **/*.txt: no notes.md', !matches.includes(p('notes.md')), matches);
		t.check('search **/*.txt: nothing outside the root',
			matches.every((m) => m.startsWith(root + path.sep)), matches);
		t.check('search **/*.txt: escape symlink not followed',
			!matches.some((m) => m.startsWith(p('escape') + path.sep) || m.includes('secret.txt')),
			matches);
		t.eq('search **/*.txt: count', sc(r).count, (sc(r).matches || []).length);
		t.eq('search **/*.txt: truncated', sc(r).truncated, false);
		for (const f of ['sub/nested.txt', 'sub/deeper/deep.txt'])
			t.check(`search **/*.txt: text lists ${f}`, (textOf(r) ?? '').includes(p(f)), textOf(r));

		const one = await callOk(t, client, tools, 'search_files',
			{ path: root, pattern: '**/nested*' });
		t.eq('search **/nested*: exactly nested.txt', sc(one).matches, [p('sub/nested.txt')]);
		t.eq('search **/nested*: count', sc(one).count, 1);

		const ex = await callOk(t, client, tools, 'search_files',
			{ path: root, pattern: '**/*.txt', excludePatterns: ['**/deeper/**'] });
		const exm = sc(ex).matches || [];
		t.check('search with excludePatterns: deep.txt excluded',
			!exm.includes(p('sub/deeper/deep.txt')), exm);
		t.check('search with excludePatterns: nested.txt kept',
			exm.includes(p('sub/nested.txt')), exm);

		const none = await callOk(t, client, tools, 'search_files',
			{ path: root, pattern: '**/*.nothing' });
		t.eq('search without hits: matches', sc(none).matches, []);
		t.eq('search without hits: count', sc(none).count, 0);
	});

	await t.section('list_allowed_directories', async () => {
		const r = await callOk(t, client, tools, 'list_allowed_directories', {});
		const dirs = sc(r).directories || [];
		t.eq('allowed dirs: one root', dirs.length, 1);
		t.eq('allowed dirs: path', dirs[0]?.path, root);
		t.eq('allowed dirs: readOnly', dirs[0]?.readOnly, false);
		t.check('allowed dirs: text names the root', (textOf(r) ?? '').includes(root), textOf(r));
	});
}

export async function checkBadCalls(t, client, tree) {
	const { p, root } = tree;
	const cases = [
		['read_text_file', { path: tree.secretPath }, OUTSIDE_RE, 'read outside root'],
		['read_text_file', { path: p('secret-link.txt') }, OUTSIDE_RE, 'read symlink escape'],
		['read_text_file', { path: p('escape/secret.txt') }, OUTSIDE_RE,
			'read through dir symlink escape'],
		['read_text_file', { path: root + '/../root-outside/secret.txt' }, OUTSIDE_RE,
			'read .. escape'],
		['read_text_file', { path: p('sub/../../root-outside/secret.txt') }, OUTSIDE_RE,
			'read sub/../.. escape'],
		['read_text_file', { path: '../root-outside/secret.txt' }, /./, 'read relative .. escape'],
		['read_text_file', { path: '/etc/passwd' }, OUTSIDE_RE, 'read /etc/passwd'],
		['list_directory', { path: tree.outside }, OUTSIDE_RE, 'list outside root'],
		['list_directory', { path: p('escape') }, OUTSIDE_RE, 'list symlinked outside dir'],
		['get_file_info', { path: tree.secretPath }, OUTSIDE_RE, 'info outside root'],
		['search_files', { path: tree.outside, pattern: '**/*' }, OUTSIDE_RE, 'search outside root'],
		['read_text_file', { path: p('missing.txt') }, /no such|not found|does not exist|ENOENT|missing/i,
			'read missing file'],
		['read_text_file', { path: p('crlf.txt'), head: 1, tail: 1 }, /head|tail/,
			'read with head and tail'],
		['read_text_file', { path: p('sub') }, /director/i, 'read a directory'],
		['read_text_file', {}, /path/, 'read without required path'],
		['read_text_file', { path: p('hello.txt'), head: 'five' }, /head/, 'read with head as string'],
		['read_text_file', { path: 42 }, /path/, 'read with path as number'],
		['list_directory', {}, /path/, 'list without required path'],
		['search_files', { path: root }, /pattern/, 'search without required pattern'],
		['search_files', { path: root, pattern: '*.txt', excludePatterns: 'x' }, /excludePatterns/,
			'search with excludePatterns not an array'],
	];
	for (const [name, args, re, what] of cases)
		await t.section(what, () => callErr(t, client, name, args, re, what));

	await t.section('unknown tool', async () => {
		let code, msg;
		try {
			const r = await client.call('no_such_tool', {});
			msg = `got a result: ${short(r)}`;
		} catch (e) {
			code = e.code;
			msg = e.message;
		}
		t.eq('unknown tool: JSON-RPC error code', code, -32602);
		t.check('unknown tool: message names the tool', /no_such_tool/.test(msg || ''), msg);
	});
}

export async function checkConcurrent(t, client, tree) {
	const calls = [];
	for (let i = 0; i < 50; i++) {
		if (i % 10 === 9) {
			calls.push(client.call('read_text_file', { path: tree.p('hello.txt') })
				.then((r) => [i, r, tree.files['hello.txt'], true]));
		} else {
			const line = i * 6 + 1;
			calls.push(client.call('read_text_file', { path: tree.p('crlf.txt'), offset: line, limit: 1 })
				.then((r) => [i, r, tree.crlfLines[line - 1], false]));
		}
	}
	const settled = await Promise.allSettled(calls);
	let good = 0;
	const bad = [];
	for (const s of settled) {
		if (s.status === 'rejected') {
			bad.push(String(s.reason && s.reason.message));
			continue;
		}
		const [i, r, want, exact] = s.value;
		const got = textOf(r) ?? '';
		if (r.isError !== true && (exact ? got === want : sameLines(got, want)))
			good++;
		else
			bad.push(`#${i}: ${short(got, 80)} != ${short(want, 80)}`);
	}
	t.check('50 concurrent reads all answered correctly', good === 50,
		`${good}/50 ok; ${bad.slice(0, 5).join('; ')}`);
}

// The end of a run: no server process left, no sanitizer report on its stderr (`stderrText`),
// no client error; then clean up (`cleanup()`), print the summary and return the exit code.
export function finishRun(t, spawned, stderrText, clientErrors, cleanup) {
	const kids = childProcesses();
	if (kids !== null)
		t.eq('no server process left', kids.map((k) => k.pid), []);
	t.check('no sanitizer report on the server\'s stderr',
		!/AddressSanitizer|LeakSanitizer|runtime error:/.test(stderrText), stderrText.slice(-2000));
	t.eq('client saw no transport/protocol errors',
		clientErrors.map((e) => String(e.message || e)), []);
	killAll(spawned);
	cleanup();
	if (t.failed.length > 0 && stderrText)
		console.error(`--- ctxd stderr ---\n${stderrText.slice(0, 4000)}`);
	return t.finish();
}

// The watchdog of one test file: after `ms`, kill the servers, clean up and fail the run.
export function startWatchdog(label, ms, spawned, cleanup) {
	return setTimeout(() => {
		console.error(`${label}: watchdog expired after ${ms / 1000} s`);
		killAll(spawned);
		cleanup();
		console.log(`${label}: FAIL (watchdog)`);
		process.exit(1);
	}, ms);
}
