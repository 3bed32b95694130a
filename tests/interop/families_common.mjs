// families_common.mjs - end-to-end scenario for the three tool families (file tools,
// Agent Skills, memory bank), shared by families.v1.test.mjs and families.v2.test.mjs.
//
// The workspace is a copy of examples/workspace (three skills in .claude/skills) in a
// temp dir, with HOME pointing at an empty temp dir so the user's own skills stay out.
// Each test file supplies an adapter around one official client:
//   listTools() -> {tools}
//   call(name, args) -> CallToolResult (throws on a JSON-RPC error)
//   request(method, params) -> raw result object (passthrough schema)
//   listPrompts() / getPrompt(name, args) / readResource(uri)
//   notes: array of notification method names received (legacy era only)
//   legacy: true when server-initiated notifications can arrive
// A failed check never stops the run; the Tally prints one summary line.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { HANG_GUARD, checkStructured, short, textOf } from './common.mjs';

export const FILE_TOOLS = [
	'read_text_file', 'list_directory', 'get_file_info', 'search_files', 'list_allowed_directories',
	'read_media_file', 'read_multiple_files', 'directory_tree', 'grep',
	'write_file', 'edit_file', 'append_file', 'copy_file', 'move_file', 'delete_file',
	'create_directory',
];
export const WRITE_TOOLS = ['write_file', 'edit_file', 'append_file', 'copy_file', 'move_file',
	'delete_file', 'create_directory'];
export const SKILL_TOOLS = ['skill_list', 'skill_activate', 'skill_read_file', 'skill_diagnostics'];
export const MB_TOOLS = ['memory_bank_init', 'memory_bank_list', 'memory_bank_read',
	'memory_bank_write', 'memory_bank_search', 'memory_bank_validate', 'memory_bank_history'];
export const EXAMPLE_SKILLS = ['changelog', 'code-review', 'commit-message'];
export const CORE_FILES = ['projectbrief.md', 'productContext.md', 'activeContext.md',
	'systemPatterns.md', 'techContext.md', 'progress.md'];

const SECRET = 'FAMILY SECRET 91c2';
const OUTSIDE_RE = /outside|denied|not allowed|permission|sandbox|allowed|escape|beneath|forbidden|access|symlink/i;
// A 1x1 PNG.
const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

export const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sc = (r) => (r && r.structuredContent) || {};

function allText(result) {
	if (!result || !Array.isArray(result.content))
		return '';
	return result.content.filter((c) => c && c.type === 'text').map((c) => c.text).join('\n');
}

// ---------------------------------------------------------------------------------------
// Workspace

export function makeWorkspace() {
	const here = path.dirname(fileURLToPath(import.meta.url));
	const example = path.resolve(here, '..', '..', 'examples', 'workspace');
	const tmp = process.env.TMPDIR || os.tmpdir();
	const base = fs.realpathSync(fs.mkdtempSync(path.join(tmp, 'ctxd-families-')));
	const root = path.join(base, 'root');
	const outside = path.join(base, 'root-outside');
	const home = path.join(base, 'home');
	fs.cpSync(example, root, { recursive: true });
	fs.mkdirSync(outside);
	fs.mkdirSync(home);
	fs.writeFileSync(path.join(outside, 'secret.txt'), SECRET + '\n');
	fs.symlinkSync(outside, path.join(root, 'escape-dir'));
	fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'secret-link'));
	fs.symlinkSync(path.join(outside, 'ghost.txt'), path.join(root, 'dangling-out'));
	fs.symlinkSync(path.join(outside, 'ghost-dir'), path.join(root, 'dangling-dir'));

	// search_files / grep fixture with its own .gitignore
	const gi = path.join(root, 'gi-test');
	const giFiles = {
		'.gitignore': 'ignored/\n*.log\n',
		'a.md': 'alpha needle\n',
		'keep.log': 'needle in a log\n',
		'ignored/b.md': 'needle ignored\n',
		'sub/c.md': 'gamma\nNEEDLE upper\n',
		'sub/deep/d.md': 'delta needle\n',
		'.git/e.md': 'needle in git\n',
	};
	for (const [rel, text] of Object.entries(giFiles)) {
		fs.mkdirSync(path.dirname(path.join(gi, rel)), { recursive: true });
		fs.writeFileSync(path.join(gi, rel), text);
	}
	fs.mkdirSync(path.join(root, 'play'));
	const p = (rel) => path.join(root, rel);
	return {
		base, root, outside, home, gi, p,
		secretPath: path.join(outside, 'secret.txt'),
		env: { ...process.env, HOME: home },
		cleanup() {
			fs.rmSync(base, { recursive: true, force: true });
		},
	};
}

export function serverArgs(ws, extra = []) {
	return ['--log-level', 'warning', ...extra, ws.root];
}

// Every path (and file content) below dir, for "nothing changed" checks.
function snapshot(dir) {
	const out = {};
	const walk = (d, rel) => {
		for (const e of fs.readdirSync(d, { withFileTypes: true })) {
			const r = rel ? rel + '/' + e.name : e.name;
			const full = path.join(d, e.name);
			if (e.isDirectory()) {
				out[r + '/'] = 'dir';
				walk(full, r);
			} else if (e.isSymbolicLink()) {
				out[r] = 'link:' + fs.readlinkSync(full);
			} else {
				out[r] = fs.readFileSync(full, 'utf8');
			}
		}
	};
	walk(dir, '');
	return out;
}

// ---------------------------------------------------------------------------------------
// Call helpers

async function callOk(t, client, tools, name, args, what) {
	what = what || `${name} ${short(args, 160)}`;
	let r;
	try {
		r = await client.call(name, args);
	} catch (e) {
		t.check(`${what}: no JSON-RPC error`, false, `${e.code} ${e.message}`);
		return {};
	}
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
		return {};
	}
	t.eq(`${what}: isError`, r && r.isError, true);
	const msg = allText(r);
	t.check(`${what}: message is clear`, msg.length > 0 && msg.length < 2000 && re.test(msg), msg);
	t.check(`${what}: secret not leaked`, !JSON.stringify(r).includes(SECRET), r);
	return r || {};
}

// Ask until fn() returns something truthy (the server's state changed); HANG_GUARD only
// turns a change that never comes into a failure.
async function waitFor(what, fn, ms = HANG_GUARD) {
	const t0 = Date.now();
	let last;
	while (Date.now() - t0 < ms) {
		last = await fn();
		if (last)
			return last;
		await sleep(10);
	}
	return last;
}

// ---------------------------------------------------------------------------------------
// tools/list

export async function checkToolList(t, client) {
	const { tools } = await client.listTools();
	const byName = new Map(tools.map((x) => [x.name, x]));
	for (const n of [...FILE_TOOLS, ...SKILL_TOOLS, ...MB_TOOLS])
		t.check(`tools/list has ${n}`, byName.has(n), [...byName.keys()]);
	t.eq('tools/list: 16 file tools', FILE_TOOLS.filter((n) => byName.has(n)).length, 16);
	for (const n of WRITE_TOOLS)
		t.eq(`${n}: readOnlyHint false`, byName.get(n)?.annotations?.readOnlyHint, false);
	for (const n of SKILL_TOOLS)
		t.eq(`${n}: readOnlyHint true`, byName.get(n)?.annotations?.readOnlyHint, true);
	return byName;
}

// ---------------------------------------------------------------------------------------
// File tools: good calls

export async function checkFileTools(t, client, tools, ws) {
	const { p } = ws;

	await t.section('write_file + read back', async () => {
		const text = 'first line\nsecond line\n';
		const r = await callOk(t, client, tools, 'write_file', { path: p('play/new.txt'), content: text });
		t.eq('write new.txt: created', sc(r).created, true);
		t.eq('write new.txt: bytes', sc(r).bytes, Buffer.byteLength(text));
		t.eq('write new.txt: sha256', sc(r).sha256, sha256(text));
		t.eq('write new.txt: on disk', fs.readFileSync(p('play/new.txt'), 'utf8'), text);
		const back = await callOk(t, client, tools, 'read_text_file', { path: 'play/new.txt' });
		t.eq('read back new.txt', textOf(back), text);
		const r2 = await callOk(t, client, tools, 'write_file',
			{ path: p('play/new.txt'), content: 'v2\n', expectedSha256: sha256(text) });
		t.eq('overwrite with expectedSha256: created false', sc(r2).created, false);
		t.eq('overwrite with expectedSha256: on disk', fs.readFileSync(p('play/new.txt'), 'utf8'), 'v2\n');
		const bad = await callErr(t, client, 'write_file',
			{ path: p('play/new.txt'), content: 'v3\n', expectedSha256: sha256(text) },
			/changed|sha256/i, 'write_file stale expectedSha256');
		t.check('write_file stale sha: names the current sha256',
			allText(bad).includes(sha256('v2\n')), allText(bad));
		t.eq('write_file stale sha: file unchanged', fs.readFileSync(p('play/new.txt'), 'utf8'), 'v2\n');
		await callErr(t, client, 'write_file', { path: p('play/no-such-dir/x.txt'), content: 'x' },
			/no such|not exist|parent|missing|not found/i, 'write_file into a missing directory');
	});

	await t.section('edit_file CRLF, dry run, sha', async () => {
		const crlf = 'alpha\r\nbeta\r\ngamma\r\n';
		fs.writeFileSync(p('play/crlf.txt'), crlf);
		const dry = await callOk(t, client, tools, 'edit_file', { path: p('play/crlf.txt'),
			edits: [{ oldText: 'beta', newText: 'BETA' }], dryRun: true });
		const diff = sc(dry).diff || '';
		t.check('edit dry run: diff removes beta', /^-beta\r?$/m.test(diff), diff);
		t.check('edit dry run: diff adds BETA', /^\+BETA\r?$/m.test(diff), diff);
		t.check('edit dry run: diff has a hunk header', /^@@ -\d+(,\d+)? \+\d+(,\d+)? @@/m.test(diff), diff);
		t.eq('edit dry run: dryRun flag', sc(dry).dryRun, true);
		t.eq('edit dry run: nothing written', fs.readFileSync(p('play/crlf.txt'), 'utf8'), crlf);
		const want = 'alpha\r\nBETA\r\ngamma\r\n';
		t.eq('edit dry run: sha256 of the would-be content', sc(dry).sha256, sha256(want));

		await callErr(t, client, 'edit_file', { path: p('play/crlf.txt'),
			edits: [{ oldText: 'beta', newText: 'X' }], expectedSha256: sha256('other') },
		/changed|sha256/i, 'edit_file stale expectedSha256');
		t.eq('edit stale sha: nothing written', fs.readFileSync(p('play/crlf.txt'), 'utf8'), crlf);

		const real = await callOk(t, client, tools, 'edit_file', { path: p('play/crlf.txt'),
			edits: [{ oldText: 'beta', newText: 'BETA' }], expectedSha256: sha256(crlf) });
		t.eq('edit real: CRLF kept on disk', fs.readFileSync(p('play/crlf.txt'), 'utf8'), want);
		t.eq('edit real: applied', sc(real).applied, 1);
		t.eq('edit real: sha256 matches disk', sc(real).sha256, sha256(want));

		const multi = await callOk(t, client, tools, 'edit_file', { path: p('play/crlf.txt'),
			edits: [{ oldText: 'a', newText: 'A', replaceAll: true }, { oldText: 'gAmmA', newText: 'G' }] });
		t.eq('edit replaceAll then chained edit', fs.readFileSync(p('play/crlf.txt'), 'utf8'),
			'AlphA\r\nBETA\r\nG\r\n');
		t.eq('edit chained: applied', sc(multi).applied, 2);

		const none = await callErr(t, client, 'edit_file', { path: p('play/crlf.txt'),
			edits: [{ oldText: 'no such text', newText: 'x' }] }, /0 times|not found|no match/i,
		'edit_file oldText absent');
		t.check('edit absent: names the edit', /edit 1/i.test(allText(none)), allText(none));
		fs.writeFileSync(p('play/twice.txt'), 'dup\ndup\n');
		await callErr(t, client, 'edit_file', { path: p('play/twice.txt'),
			edits: [{ oldText: 'dup', newText: 'x' }] }, /2 times|twice|more than once|matches 2/i,
		'edit_file oldText twice');
		t.eq('edit ambiguous: nothing written', fs.readFileSync(p('play/twice.txt'), 'utf8'), 'dup\ndup\n');
	});

	await t.section('append/copy/move/delete/create_directory', async () => {
		const a = await callOk(t, client, tools, 'append_file', { path: p('play/log.txt'), content: 'one\n' });
		t.eq('append to missing file: created', sc(a).created, true);
		await callOk(t, client, tools, 'append_file', { path: p('play/log.txt'), content: 'two\n' });
		t.eq('append twice: on disk', fs.readFileSync(p('play/log.txt'), 'utf8'), 'one\ntwo\n');

		await callOk(t, client, tools, 'copy_file', { source: p('play/log.txt'), destination: p('play/copy.txt') });
		t.eq('copy: destination content', fs.readFileSync(p('play/copy.txt'), 'utf8'), 'one\ntwo\n');
		t.eq('copy: source kept', fs.existsSync(p('play/log.txt')), true);
		fs.writeFileSync(p('play/other.txt'), 'other\n');
		await callErr(t, client, 'copy_file', { source: p('play/other.txt'), destination: p('play/copy.txt') },
			/exists/i, 'copy onto an existing file without overwrite');
		t.eq('copy refused: destination unchanged', fs.readFileSync(p('play/copy.txt'), 'utf8'), 'one\ntwo\n');
		await callOk(t, client, tools, 'copy_file',
			{ source: p('play/other.txt'), destination: p('play/copy.txt'), overwrite: true });
		t.eq('copy overwrite: destination replaced', fs.readFileSync(p('play/copy.txt'), 'utf8'), 'other\n');

		await callOk(t, client, tools, 'move_file', { source: p('play/copy.txt'), destination: p('play/moved.txt') });
		t.eq('move: source gone', fs.existsSync(p('play/copy.txt')), false);
		t.eq('move: destination content', fs.readFileSync(p('play/moved.txt'), 'utf8'), 'other\n');
		await callErr(t, client, 'move_file', { source: p('play/moved.txt'), destination: p('play/log.txt') },
			/exists/i, 'move onto an existing file');
		t.eq('move refused: both kept', [fs.readFileSync(p('play/moved.txt'), 'utf8'),
			fs.readFileSync(p('play/log.txt'), 'utf8')], ['other\n', 'one\ntwo\n']);

		const c = await callOk(t, client, tools, 'create_directory', { path: p('play/d1/d2/d3') });
		t.eq('create_directory: exists', fs.statSync(p('play/d1/d2/d3')).isDirectory(), true);
		t.eq('create_directory: createdLevels', sc(c).createdLevels, 3);
		await callOk(t, client, tools, 'create_directory', { path: p('play/d1/d2/d3') },
			'create_directory again (idempotent)');
		fs.writeFileSync(p('play/d1/d2/f.txt'), 'f');

		await callOk(t, client, tools, 'delete_file', { path: p('play/moved.txt') });
		t.eq('delete file: gone', fs.existsSync(p('play/moved.txt')), false);
		await callErr(t, client, 'delete_file', { path: p('play/d1') }, /recursive|director|not empty/i,
			'delete a directory without recursive');
		t.eq('delete refused: directory kept', fs.existsSync(p('play/d1/d2/f.txt')), true);
		const d = await callOk(t, client, tools, 'delete_file', { path: p('play/d1'), recursive: true });
		t.eq('delete recursive: gone', fs.existsSync(p('play/d1')), false);
		t.check('delete recursive: removed count', sc(d).removed >= 4, sc(d));
		await callErr(t, client, 'delete_file', { path: p('play/nothing') }, /no such|not exist|not found/i,
			'delete a missing file');
	});

	await t.section('list_directory sizes', async () => {
		fs.writeFileSync(p('play/sizes-small.txt'), 'x');
		const r = await callOk(t, client, tools, 'list_directory', { path: p('docs'), sizes: true, sortBy: 'size' });
		const want = fs.readdirSync(p('docs')).map((n) => ({ name: n, type: 'file',
			size: fs.statSync(p('docs/' + n)).size })).sort((x, y) => y.size - x.size);
		t.eq('sizes docs: entries sorted by size', sc(r).entries, want);
		t.eq('sizes docs: totalSize', sc(r).totalSize, want.reduce((s, e) => s + e.size, 0));
		t.eq('sizes docs: totalFiles', sc(r).totalFiles, want.length);
		t.check('sizes docs: text lists each file', want.every((e) => (textOf(r) ?? '').includes(e.name)),
			textOf(r));
		const byName = await callOk(t, client, tools, 'list_directory', { path: p('gi-test'), sizes: true });
		const names = (sc(byName).entries || []).map((e) => e.name);
		t.eq('sizes gi-test: sorted by name', names, [...names].sort());
		t.check('sizes gi-test: sub is a directory',
			(sc(byName).entries || []).some((e) => e.name === 'sub' && /dir/.test(e.type)), sc(byName));
	});

	await t.section('directory_tree', async () => {
		const r = await callOk(t, client, tools, 'directory_tree', { path: p('gi-test'), maxDepth: 2,
			excludePatterns: ['*.log'] });
		const tree = sc(r).tree || [];
		const find = (nodes, n) => nodes.find((x) => x.name === n);
		t.check('tree: has a.md', find(tree, 'a.md')?.type === 'file', tree);
		t.check('tree: excludePatterns drops keep.log', !find(tree, 'keep.log'), tree);
		const sub = find(tree, 'sub');
		t.check('tree: sub has children', Array.isArray(sub?.children), sub);
		const deep = sub && find(sub.children || [], 'deep');
		t.check('tree: deep at the depth limit', deep && deep.type === 'directory', sub);
		t.check('tree: maxDepth 2 stops below deep', deep && !(deep.children || []).length, deep);
		t.eq('tree: truncated', sc(r).truncated, false);
		const full = await callOk(t, client, tools, 'directory_tree', { path: p('gi-test/sub') });
		t.eq('tree sub: whole subtree', sc(full).tree, [
			{ name: 'c.md', type: 'file' },
			{ name: 'deep', type: 'directory', children: [{ name: 'd.md', type: 'file' }] },
		]);
		t.eq('tree sub: entries', sc(full).entries, 3);
	});

	await t.section('search_files maxDepth and .gitignore', async () => {
		const gi = (rel) => path.join(ws.gi, rel);
		const m = async (args) => ((sc(await callOk(t, client, tools, 'search_files',
			{ path: ws.gi, pattern: '**/*.md', ...args })).matches) || []).slice().sort();
		t.eq('search default: gitignored and .git skipped', await m({}),
			[gi('a.md'), gi('sub/c.md'), gi('sub/deep/d.md')]);
		const all = await m({ respectGitignore: false });
		t.check('search respectGitignore false: ignored/b.md found', all.includes(gi('ignored/b.md')), all);
		t.eq('search maxDepth 1', await m({ maxDepth: 1 }), [gi('a.md')]);
		t.eq('search maxDepth 2', await m({ maxDepth: 2 }), [gi('a.md'), gi('sub/c.md')]);
		const logs = sc(await callOk(t, client, tools, 'search_files', { path: ws.gi, pattern: '**/*.log' }));
		t.eq('search *.log: ignored by .gitignore', logs.matches, []);
	});

	await t.section('grep', async () => {
		// structuredContent lists each file once, its matches under it
		const flat = (s) => (s.files || []).flatMap((f) => f.matches.map((m) => ({ ...m, path: f.path })));
		const lit = await callOk(t, client, tools, 'grep', { path: p('.claude'), pattern: '$ARGUMENTS',
			literal: true, include: '*.md', contextLines: 1 });
		const ms = flat(sc(lit));
		t.eq('grep literal $ARGUMENTS: one match per SKILL.md', ms.map((x) => path.relative(p('.claude/skills'),
			x.path)), EXAMPLE_SKILLS.map((s) => s + '/SKILL.md'));
		for (const x of ms) {
			const lines = fs.readFileSync(x.path, 'utf8').split('\n');
			t.eq(`grep ${path.basename(path.dirname(x.path))}: text is the line`, x.text, lines[x.line - 1]);
			t.eq(`grep ${path.basename(path.dirname(x.path))}: column`, x.column,
				lines[x.line - 1].indexOf('$ARGUMENTS') + 1);
			t.eq(`grep ${path.basename(path.dirname(x.path))}: context`, [x.before, x.after],
				[[lines[x.line - 2]], [lines[x.line]]]);
		}
		t.check('grep text: path:line:column:text',
			ms.every((x) => (textOf(lit) ?? '').includes(`${x.path}:${x.line}:${x.column}:${x.text}`)), textOf(lit));
		const regex = sc(await callOk(t, client, tools, 'grep', { path: p('.claude'), pattern: '\\$ARGUMENTS\\b' }));
		t.eq('grep regex: same 3 matches', regex.count, 3);
		const ci = sc(await callOk(t, client, tools, 'grep', { path: ws.gi, pattern: 'needle',
			caseInsensitive: true }));
		t.eq('grep caseInsensitive, gitignore respected', flat(ci).map((x) =>
			`${path.relative(ws.gi, x.path)}:${x.line}`), ['a.md:1', 'sub/c.md:2', 'sub/deep/d.md:1']);
		const cs = sc(await callOk(t, client, tools, 'grep', { path: ws.gi, pattern: 'needle' }));
		t.eq('grep case-sensitive: NEEDLE not matched', flat(cs).map((x) =>
			path.relative(ws.gi, x.path)), ['a.md', 'sub/deep/d.md']);
		const inc = sc(await callOk(t, client, tools, 'grep', { path: ws.root, pattern: 'printf',
			include: '*.c' }));
		t.eq('grep include *.c', flat(inc).map((x) => path.relative(ws.root, x.path)), ['src/main.c']);
		await callErr(t, client, 'grep', { path: ws.root, pattern: '(' }, /regex|pattern|parenthes|compile/i,
			'grep with a bad regex');
	});

	await t.section('read_media_file', async () => {
		fs.writeFileSync(p('play/dot.png'), Buffer.from(PNG_B64, 'base64'));
		const r = await callOk(t, client, tools, 'read_media_file', { path: p('play/dot.png') });
		const img = (r.content || []).find((c) => c.type === 'image');
		t.check('media: image block', img !== undefined, r.content);
		t.eq('media: mimeType', img?.mimeType, 'image/png');
		t.eq('media: base64 of the bytes', img?.data, PNG_B64);
	});

	await t.section('read_multiple_files', async () => {
		const r = await callOk(t, client, tools, 'read_multiple_files',
			{ paths: [p('README.md'), p('play/missing.txt'), 'docs/changelog.md'] });
		const files = sc(r).files || [];
		t.eq('multi: failed count', sc(r).failed, 1);
		t.eq('multi: three entries in order', files.length, 3);
		t.eq('multi: README content', files[0]?.content, fs.readFileSync(p('README.md'), 'utf8'));
		t.check('multi: missing reported inline', typeof files[1]?.error === 'string' &&
			/no such|not found|not exist/i.test(files[1].error), files[1]);
		t.eq('multi: changelog content', files[2]?.content, fs.readFileSync(p('docs/changelog.md'), 'utf8'));
		t.check('multi: text mentions the error', /missing\.txt: Error/.test(textOf(r) ?? ''), textOf(r));
	});
}

// ---------------------------------------------------------------------------------------
// File tools: escapes on every writing tool

export async function checkEscapes(t, client, ws) {
	const { p, outside } = ws;
	const before = snapshot(outside);
	const rootBefore = new Set(fs.readdirSync(ws.root));
	const abs = path.join(outside, 'x.txt');
	const dotdot = p('play/../../root-outside/x.txt');
	const viaLink = p('escape-dir/x.txt');
	const dangling = p('dangling-out');
	const secretVia = p('escape-dir/secret.txt');
	const cases = [];
	for (const [kind, target] of [['absolute outside', abs], ['..', dotdot], ['symlink dir out', viaLink],
		['dangling symlink out', dangling]]) {
		cases.push(['write_file', { path: target, content: 'pwned' }, kind]);
		cases.push(['append_file', { path: target, content: 'pwned' }, kind]);
		cases.push(['copy_file', { source: p('README.md'), destination: target }, `${kind} (destination)`]);
		// a dangling symlink is an existing entry: move_file never replaces one
		cases.push(['move_file', { source: p('docs/changelog.md'), destination: target }, `${kind} (destination)`,
			kind === 'dangling symlink out' ? /exists/i : OUTSIDE_RE]);
		const editTarget = {
			'absolute outside': ws.secretPath,
			'..': p('play/../../root-outside/secret.txt'),
			'symlink dir out': secretVia,
			'dangling symlink out': dangling,
		}[kind];
		cases.push(['edit_file', { path: editTarget, edits: [{ oldText: 'FAMILY', newText: 'pwned' }] }, kind]);
	}
	cases.push(['edit_file', { path: p('secret-link'), edits: [{ oldText: 'FAMILY', newText: 'pwned' }] },
		'file symlink out']);
	cases.push(['write_file', { path: p('secret-link'), content: 'pwned' }, 'file symlink out']);
	cases.push(['append_file', { path: p('secret-link'), content: 'pwned' }, 'file symlink out']);
	cases.push(['create_directory', { path: path.join(outside, 'newdir') }, 'absolute outside']);
	cases.push(['create_directory', { path: p('play/../../root-outside/newdir') }, '..']);
	cases.push(['create_directory', { path: p('escape-dir/newdir') }, 'symlink dir out']);
	cases.push(['create_directory', { path: p('dangling-dir/sub') }, 'dangling symlink out']);
	cases.push(['delete_file', { path: ws.secretPath }, 'absolute outside']);
	cases.push(['delete_file', { path: p('play/../../root-outside/secret.txt') }, '..']);
	cases.push(['delete_file', { path: secretVia }, 'symlink dir out']);
	for (const [kind, src] of [['absolute outside', ws.secretPath],
		['..', p('play/../../root-outside/secret.txt')], ['symlink dir out', secretVia],
		['file symlink out', p('secret-link')]]) {
		cases.push(['copy_file', { source: src, destination: p('play/stolen-copy.txt') }, `${kind} (source)`]);
		if (kind !== 'file symlink out')
			cases.push(['move_file', { source: src, destination: p('play/stolen-move.txt') }, `${kind} (source)`]);
	}
	for (const [name, args, kind, re] of cases)
		await t.section(`${name} escape: ${kind}`, () =>
			callErr(t, client, name, args, re || OUTSIDE_RE, `${name} escape: ${kind}`));

	// recursive delete of the symlink-to-outside may legitimately remove the link itself,
	// but never what it points at
	t.eq('escapes: the outside directory is unchanged', snapshot(outside), before);
	t.eq('escapes: no ghost file created through the dangling symlink',
		fs.existsSync(path.join(outside, 'ghost.txt')), false);
	t.eq('escapes: nothing stolen into the root', [fs.existsSync(p('play/stolen-copy.txt')),
		fs.existsSync(p('play/stolen-move.txt'))], [false, false]);
	t.eq('escapes: moved sources still in place', fs.existsSync(p('docs/changelog.md')), true);
	t.check('escapes: root entries kept', [...rootBefore].every((n) => {
		try {
			fs.lstatSync(p(n));
			return true;
		} catch {
			return false;
		}
	}), [...rootBefore]);

	// deleting a symlink to an outside directory, recursively, removes the link only
	await t.section('delete_file recursive on a symlink to outside', async () => {
		const r = await client.call('delete_file', { path: p('escape-dir'), recursive: true });
		t.check('delete symlink dir: the link is gone (or refused)', r.isError === true ||
			!fs.existsSync(p('escape-dir')), r);
		t.eq('delete symlink dir: outside untouched', snapshot(outside), before);
		if (!fs.existsSync(p('escape-dir')))
			fs.symlinkSync(outside, p('escape-dir'));
	});
}

// A --read-only server: writing tools hidden, reads still work.
export async function checkReadOnly(t, client, ws) {
	const { tools } = await client.listTools();
	const names = tools.map((x) => x.name);
	for (const n of WRITE_TOOLS)
		t.check(`read-only: ${n} hidden`, !names.includes(n), names);
	for (const n of ['read_text_file', 'grep', 'directory_tree', 'skill_list', 'memory_bank_read'])
		t.check(`read-only: ${n} listed`, names.includes(n), names);
	let refused = false;
	try {
		const r = await client.call('write_file', { path: ws.p('play/ro.txt'), content: 'x' });
		refused = r && r.isError === true;
	} catch (e) {
		refused = e.code === -32602;
	}
	t.check('read-only: write_file refused', refused);
	t.eq('read-only: nothing written', fs.existsSync(ws.p('play/ro.txt')), false);
	const r = await client.call('read_text_file', { path: ws.p('README.md') });
	t.eq('read-only: reads work', textOf(r), fs.readFileSync(ws.p('README.md'), 'utf8'));
}

// ---------------------------------------------------------------------------------------
// Skills

const NEW_SKILL = `---
name: release-notes
description: Draft release notes for a version. Use when asked for release notes.
---
# Release notes

Draft notes for version $0 (codename $ARGUMENTS[1]); cost $$5; all: $ARGUMENTS.
Templates live in \${SKILL_DIR}/references.
`;

export async function checkSkills(t, client, tools, ws) {
	const skillDir = (n) => ws.p(`.claude/skills/${n}`);

	await t.section('skill_list', async () => {
		const r = await callOk(t, client, tools, 'skill_list', {});
		const list = sc(r).skills || [];
		t.eq('skill_list: the three example skills', list.map((s) => s.name), EXAMPLE_SKILLS);
		t.eq('skill_list: total', sc(r).total, 3);
		for (const s of list) {
			t.eq(`skill_list ${s.name}: location`, s.location, path.join(skillDir(s.name), 'SKILL.md'));
			t.eq(`skill_list ${s.name}: files`, s.files, 2);
			t.check(`skill_list ${s.name}: description`, s.description.length > 20, s);
			t.check(`skill_list ${s.name}: text lists it`, (textOf(r) ?? '').includes(s.name), textOf(r));
		}
		const q = sc(await callOk(t, client, tools, 'skill_list', { query: 'CONVENTIONAL' }));
		t.eq('skill_list query: case-insensitive filter', (q.skills || []).map((s) => s.name), ['commit-message']);
	});

	await t.section('skill_activate', async () => {
		const r = await callOk(t, client, tools, 'skill_activate',
			{ name: 'commit-message', arguments: 'fix the parser' });
		const body = sc(r).body || '';
		t.check('activate: $ARGUMENTS substituted', body.includes('described by: fix the parser'), body);
		t.check('activate: no placeholder left', !body.includes('$ARGUMENTS'), body);
		t.check('activate: frontmatter stripped', !body.includes('name: commit-message') &&
			body.startsWith('# Commit message writer'), body.slice(0, 100));
		t.eq('activate: baseDir', sc(r).baseDir, skillDir('commit-message'));
		t.eq('activate: bundled files', (sc(r).files || []).slice().sort(),
			['references/examples.md', 'references/types.md']);
		t.check('activate: text block has the body', (textOf(r) ?? '').includes('fix the parser'), textOf(r));
		await callErr(t, client, 'skill_activate', { name: 'no-such-skill' }, /no-such-skill|unknown|not found|no skill/i,
			'skill_activate unknown skill');
	});

	await t.section('skill_read_file', async () => {
		const r = await callOk(t, client, tools, 'skill_read_file',
			{ name: 'code-review', path: 'references/checklist.md' });
		const want = fs.readFileSync(path.join(skillDir('code-review'), 'references/checklist.md'), 'utf8');
		t.eq('skill_read_file: content', sc(r).content, want);
		t.eq('skill_read_file: encoding', sc(r).encoding, 'utf-8');
		t.eq('skill_read_file: size', sc(r).size, Buffer.byteLength(want));
		await callErr(t, client, 'skill_read_file', { name: 'code-review', path: '../commit-message/SKILL.md' },
			/outside|escape|\.\.|not allowed|invalid|folder/i, 'skill_read_file ../ escape');
		await callErr(t, client, 'skill_read_file', { name: 'code-review', path: 'references/nope.md' },
			/no such|not found|not exist/i, 'skill_read_file missing file');
	});

	await t.section('prompts', async () => {
		const { prompts } = await client.listPrompts();
		t.eq('prompts/list: one per skill', prompts.map((x) => x.name), EXAMPLE_SKILLS);
		t.check('prompts/list: optional arguments argument', prompts.every((x) =>
			x.arguments?.length === 1 && x.arguments[0].name === 'arguments' && x.arguments[0].required !== true),
		prompts);
		const g = await client.getPrompt('code-review', { arguments: 'src/main.c' });
		t.eq('prompts/get: one user message', g.messages?.map((m) => m.role), ['user']);
		const text = g.messages?.[0]?.content?.text ?? '';
		t.check('prompts/get: activated body', text.includes('Review src/main.c.') &&
			!text.includes('$ARGUMENTS') && !text.includes('license: MIT'), text);
	});

	await t.section('skill:// resources', async () => {
		const r = await client.readResource('skill://code-review/SKILL.md');
		t.eq('resources/read SKILL.md: text', r.contents?.[0]?.text,
			fs.readFileSync(path.join(skillDir('code-review'), 'SKILL.md'), 'utf8'));
		t.eq('resources/read SKILL.md: uri', r.contents?.[0]?.uri, 'skill://code-review/SKILL.md');
		const f = await client.readResource('skill://changelog/references/template.md');
		t.eq('resources/read bundled file', f.contents?.[0]?.text,
			fs.readFileSync(path.join(skillDir('changelog'), 'references/template.md'), 'utf8'));
		let code;
		try {
			await client.readResource('skill://changelog/../code-review/SKILL.md');
		} catch (e) {
			code = e.code;
		}
		t.check('resources/read skill:// with .. refused', code !== undefined, code);
	});

	await t.section('skills/list and skills/get (SEP-2640, raw)', async () => {
		const r = await client.request('skills/list', {});
		const skills = r.skills || [];
		t.eq('skills/list: uris', skills.map((s) => s.uri), EXAMPLE_SKILLS.map((n) => `skill://${n}/SKILL.md`));
		for (const s of skills) {
			const name = s.frontmatter?.name;
			t.check(`skills/list ${name}: frontmatter`, typeof s.frontmatter?.description === 'string', s);
			for (const res of s.resources || []) {
				const rel = res.uri.replace(`skill://${name}/`, '');
				const bytes = fs.readFileSync(path.join(skillDir(name), rel));
				t.eq(`skills/list ${res.uri}: digest`, res.digest, 'sha256:' + sha256(bytes));
				t.eq(`skills/list ${res.uri}: size`, res.size, bytes.length);
			}
			t.eq(`skills/list ${name}: three resources`, (s.resources || []).length, 3);
		}
		const g = await client.request('skills/get', { uri: 'skill://changelog/SKILL.md' });
		t.eq('skills/get: the skill', g.skill?.frontmatter?.name, 'changelog');
		t.eq('skills/get: same entry as skills/list', g.skill, skills.find((s) => s.frontmatter?.name === 'changelog'));
	});

	await t.section('skill_diagnostics with a broken skill', async () => {
		const d0 = sc(await callOk(t, client, tools, 'skill_diagnostics', {}));
		t.eq('diagnostics: clean at start', d0.diagnostics, []);
		t.eq('diagnostics: validSkills', d0.validSkills, 3);
		const broken = skillDir('broken-skill');
		fs.mkdirSync(broken);
		fs.writeFileSync(path.join(broken, 'SKILL.md'), '---\nname: broken-skill\n---\nNo description here.\n');
		const d = await waitFor('broken skill diagnosed', async () => {
			const x = sc(await client.call('skill_diagnostics', {}));
			return (x.diagnostics || []).some((e) => e.file.includes('broken-skill')) ? x : null;
		});
		const e = (d?.diagnostics || []).find((x) => x.file.includes('broken-skill'));
		t.check('diagnostics: broken skill listed', e !== undefined, d);
		t.eq('diagnostics: severity error', e?.severity, 'error');
		t.check('diagnostics: names the description rule', /description/i.test(`${e?.rule} ${e?.message}`), e);
		t.eq('diagnostics: file is its SKILL.md', e?.file, path.join(broken, 'SKILL.md'));
		const l = sc(await callOk(t, client, tools, 'skill_list', {}));
		t.check('skill_list: broken skill not listed', !(l.skills || []).some((s) => s.name === 'broken-skill'), l);
		t.eq('skill_list: skipped counts it', l.skipped, 1);
	});

	await t.section('hot reload', async () => {
		client.notes.length = 0;
		const dir = skillDir('release-notes');
		fs.mkdirSync(path.join(dir, 'references'), { recursive: true });
		fs.writeFileSync(path.join(dir, 'references', 'template.md'), '# Notes template\n');
		fs.writeFileSync(path.join(dir, 'SKILL.md'), NEW_SKILL);
		const l = await waitFor('new skill listed', async () => {
			const x = sc(await client.call('skill_list', {}));
			return (x.skills || []).some((s) => s.name === 'release-notes') ? x : null;
		});
		t.eq('hot reload: skill_list has the new skill', (l?.skills || []).map((s) => s.name),
			[...EXAMPLE_SKILLS, 'release-notes'].sort());
		if (client.legacy) {
			await waitFor('list_changed', async () => client.notes.includes('notifications/tools/list_changed'));
			t.check('hot reload: notifications/tools/list_changed', client.notes.includes(
				'notifications/tools/list_changed'), client.notes);
			t.check('hot reload: notifications/prompts/list_changed', client.notes.includes(
				'notifications/prompts/list_changed'), client.notes);
		}
		const { prompts } = await client.listPrompts();
		t.check('hot reload: prompts/list has it', prompts.some((x) => x.name === 'release-notes'), prompts);
		const a = sc(await callOk(t, client, tools, 'skill_activate',
			{ name: 'release-notes', arguments: '2.0 "big bang" extra' }));
		// $N, $ARGUMENTS[N] and $ARGUMENTS filled; $$ and ${SKILL_DIR} stay as written
		t.eq('hot reload: activate with $N, $ARGUMENTS[N], $ARGUMENTS', a.body,
			'# Release notes\n\nDraft notes for version 2.0 (codename big bang); cost $$5; ' +
			'all: 2.0 "big bang" extra.\nTemplates live in ${SKILL_DIR}/references.\n');
		// delete it again: gone from the catalogue
		fs.rmSync(dir, { recursive: true });
		const gone = await waitFor('skill removed', async () => {
			const x = sc(await client.call('skill_list', {}));
			return (x.skills || []).some((s) => s.name === 'release-notes') ? null : x;
		});
		t.check('hot reload: deleted skill leaves the catalogue', gone && gone.total === 3, gone);
	});
}

// ---------------------------------------------------------------------------------------
// Memory bank

export async function checkMemoryBank(t, client, tools, ws) {
	const bank = ws.p('memory-bank');
	const disk = (f) => fs.readFileSync(path.join(bank, f), 'utf8');

	await t.section('memory_bank_init', async () => {
		const r = await callOk(t, client, tools, 'memory_bank_init', {});
		t.eq('init: six core files created', sc(r).created, CORE_FILES);
		t.eq('init: bank path', sc(r).bank, bank);
		t.check('init: files on disk', CORE_FILES.every((f) => fs.existsSync(path.join(bank, f))));
		const again = sc(await callOk(t, client, tools, 'memory_bank_init', {}));
		t.eq('init again: nothing overwritten', [again.created, again.overwritten, again.kept.slice().sort()],
			[[], [], CORE_FILES.slice().sort()]);
	});

	await t.section('memory_bank_list and read', async () => {
		const l = sc(await callOk(t, client, tools, 'memory_bank_list', {}));
		t.eq('list: core files', (l.files || []).map((f) => f.file).sort(), CORE_FILES.slice().sort());
		t.eq('list: none missing', l.missingCore, []);
		for (const f of l.files || [])
			t.eq(`list ${f.file}: sha256`, f.sha256, sha256(disk(f.file)));
		const core = sc(await callOk(t, client, tools, 'memory_bank_read', { core: true }));
		t.eq('read core: standard order', (core.files || []).map((f) => f.file), CORE_FILES);
		t.check('read core: contents match disk', (core.files || []).every((f) => f.content === disk(f.file)));
		const sec = sc(await callOk(t, client, tools, 'memory_bank_read',
			{ file: 'activeContext.md', section: 'Next Steps' }));
		t.check('read section: heading and its body only', /^## Next Steps\n/.test(sec.files?.[0]?.content ?? '') &&
			!(sec.files?.[0]?.content ?? '').includes('Active Decisions'), sec.files?.[0]);
		await callErr(t, client, 'memory_bank_read', { file: '../README.md' }, /name|invalid|file/i,
			'memory_bank_read unsafe name');
	});

	await t.section('memory_bank_write on one section', async () => {
		const sha0 = sha256(disk('activeContext.md'));
		const r = sc(await callOk(t, client, tools, 'memory_bank_write', { file: 'activeContext.md',
			section: 'Current Focus', content: 'Working on the zebra parser.', mode: 'replace',
			expectedSha256: sha0 }));
		t.eq('update replace: sha256 of disk', r.sha256, sha256(disk('activeContext.md')));
		t.check('update replace: section replaced', /## Current Focus\n\nWorking on the zebra parser\.\n\n## Recent/
			.test(disk('activeContext.md')), disk('activeContext.md'));
		const r2 = sc(await callOk(t, client, tools, 'memory_bank_write', { file: 'activeContext.md',
			section: 'Current Focus', content: 'Then the lexer.', mode: 'append', expectedSha256: r.sha256 }));
		t.check('update append: after the old body', /Working on the zebra parser\.\n+Then the lexer\.\n/
			.test(disk('activeContext.md')), disk('activeContext.md'));
		const before = disk('activeContext.md');
		const stale = await callErr(t, client, 'memory_bank_write', { file: 'activeContext.md',
			section: 'Current Focus', content: 'lost', mode: 'replace', expectedSha256: sha0 },
		/precondition|changed/i, 'memory_bank_write section stale sha');
		t.eq('stale sha: currentSha256', sc(stale).currentSha256, r2.sha256);
		t.eq('stale sha: error code', sc(stale).error, 'precondition_failed');
		t.eq('stale sha: nothing written', disk('activeContext.md'), before);
		const n = sc(await callOk(t, client, tools, 'memory_bank_write', { file: 'progress.md',
			section: 'Release Plan', content: 'Ship the zebra release on Friday.', mode: 'append' }));
		t.eq('update append to a new heading: sectionCreated', n.sectionCreated, true);
		t.check('update new heading: on disk', disk('progress.md').includes('Release Plan') &&
			disk('progress.md').includes('Ship the zebra release'), disk('progress.md'));
		await callErr(t, client, 'memory_bank_write', { file: 'progress.md', section: 'Nope',
			content: 'x', mode: 'replace' }, /Nope|not found|no section|heading/i, 'update replace of a missing heading');
		const w = sc(await callOk(t, client, tools, 'memory_bank_write', { file: 'notes.md',
			content: '# Notes\n\n## Animals\n\nA zebra has stripes.\n', mode: 'create' }));
		t.eq('write create: created', w.created, true);
		await callErr(t, client, 'memory_bank_write', { file: 'notes.md', content: 'x', mode: 'create' },
			/exists/i, 'memory_bank_write create on an existing file');
	});

	await t.section('memory_bank_search', async () => {
		const s = sc(await callOk(t, client, tools, 'memory_bank_search', { query: 'zebra parser' }));
		const res = s.results || [];
		t.check('search: several results', res.length >= 2, res);
		t.eq('search: best hit is the phrase in activeContext', [res[0]?.file, res[0]?.heading],
			['activeContext.md', 'Current Focus']);
		t.check('search: ranked by score', res.every((x, i) => i === 0 || res[i - 1].score >= x.score), res);
		t.check('search: snippet marks the match', /«zebra»/i.test(res[0]?.snippet ?? ''), res[0]);
		if (res[0]) {
			const lines = disk(res[0].file).split('\n');
			t.check('search: line points at the match', /zebra/i.test(lines[res[0].line - 1] ?? ''), res[0]);
		}
		const none = sc(await callOk(t, client, tools, 'memory_bank_search', { query: 'xylophone' }));
		t.eq('search without hits', none.results, []);
	});

	await t.section('memory_bank_validate', async () => {
		const ok = sc(await callOk(t, client, tools, 'memory_bank_validate', {}));
		t.eq('validate: ok before breaking', ok.ok, true);
		fs.writeFileSync(path.join(bank, 'techContext.md'),
			'# Tech Context\n\n## Technologies Used\n\n<<<<<<< HEAD\nC11\n=======\nC17\n>>>>>>> branch\n\n' +
			'See [the brief](missing-file.md).\n');
		const v = sc(await callOk(t, client, tools, 'memory_bank_validate', {}));
		const f = (v.findings || []).filter((x) => x.file === 'techContext.md');
		t.eq('validate broken: ok false', v.ok, false);
		t.check('validate broken: merge conflict marker found', f.some((x) => /conflict/i.test(x.code) &&
			x.severity === 'error' && x.line === 5), f);
		t.check('validate broken: missing sections reported', f.some((x) => /section/i.test(x.code) &&
			/Development Setup/.test(x.message)), f);
		t.check('validate broken: broken link reported', f.some((x) => /link/i.test(x.code)), f);
		t.check('validate broken: every finding has a hint', f.every((x) => typeof x.hint === 'string' &&
			x.hint.length > 0), f);
	});

	await t.section('memory_bank_history and memory_bank_write fromVersion', async () => {
		const h = sc(await callOk(t, client, tools, 'memory_bank_history', { file: 'activeContext.md' }));
		const vs = h.versions || [];
		t.eq('history: three versions (init, replace, append)', vs.map((x) => x.version), [1, 2, 3]);
		t.eq('history: newest sha is the file', vs[vs.length - 1]?.sha256, sha256(disk('activeContext.md')));
		const r = sc(await callOk(t, client, tools, 'memory_bank_write', { file: 'activeContext.md',
			fromVersion: 1, expectedSha256: sha256(disk('activeContext.md')) }));
		t.eq('restore: content is version 1', sha256(disk('activeContext.md')), vs[0]?.sha256);
		t.eq('restore: restoredVersion', r.restoredVersion, 1);
		t.check('restore: template back', disk('activeContext.md').includes('<!-- What is being worked on'),
			disk('activeContext.md'));
		const h2 = sc(await callOk(t, client, tools, 'memory_bank_history', { file: 'activeContext.md' }));
		t.eq('restore: recorded as a new version', (h2.versions || []).length, 4);
		await callErr(t, client, 'memory_bank_write', { file: 'activeContext.md', fromVersion: 99 },
			/version|not found|no such/i, 'restore a missing version');
	});

	await t.section('memory-bank:// resource', async () => {
		fs.appendFileSync(path.join(bank, 'activeContext.md'), '\nEdited outside ctxd.\n');
		const r = await client.readResource('memory-bank://default/activeContext.md');
		t.eq('resources/read memory-bank://default/activeContext.md', r.contents?.[0]?.text,
			disk('activeContext.md'));
		t.eq('resources/read memory-bank mimeType', r.contents?.[0]?.mimeType, 'text/markdown');
	});
}
