// utilities.mjs - fixtures and scenarios for the protocol-utilities interop tests
// (utilities.v1.test.mjs, utilities.v2.test.mjs): cancellation, progress, pagination,
// resources, prompts, completion and roots, driven through an adapter around one official
// client. A part whose provider is not wired in the binary under test is skipped with a
// printed reason (see Tally.skip), never passed silently.
//
// Nothing here waits for a time. A cancelled walk carries the test hook "ctxd.test/hold"
// (the server runs with CTXD_TEST_HOOKS=1): it pauses after its first progress notification
// until the server has read the client's next frame, the cancel, so the cancel always meets
// a running walk. Checks that nothing arrives late (no answer to a cancelled request, no
// progress after the response) are deferred until the server has exited and its whole
// output is in the transport log (Tally.defer). Subscription checks use a marker file
// replaced by rename (exactly one update; inotify keeps order, so once the marker's update
// is in, every update an earlier change caused is in too), and the burst of writes is
// made while the server is stopped (SIGSTOP), so it sees all of them at once.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { HANG_GUARD, short } from './common.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const EXAMPLE_WORKSPACE = path.resolve(HERE, '../../examples/workspace');

// Exclude patterns that never match: every entry of the walk is tested against each of
// them, which makes the 100,000-file search slow enough (a few hundred ms) to be cancelled
// while it runs and to report progress more than once at ~10/s.
export const SLOW_EXCLUDES = Array.from({ length: 64 }, (_, i) => `**/never-${i}/*.bin`);
export const BIG_FILES = 100000;
export const BIG_SHAPE = 'wide-20-100-50';

export function skip(t, what, reason) {
	const line = `SKIP ${t.label}: ${what}: ${reason}`;
	console.error(line);
	t.skipped = (t.skipped || []).concat(`${what}: ${reason}`);
}

export function tmpBase(tag) {
	const tmp = process.env.TMPDIR || os.tmpdir();
	return fs.realpathSync(fs.mkdtempSync(path.join(tmp, `ctxd-${tag}-`)));
}

// The shared read-only tree of 100,000 empty files (20 x 100 directories x 50 files,
// d{i}/e{e}/f{f}.txt), built once per checkout by tests/fixtures.py and shared with the
// other tests and the other build. Never write into it.
export function bigTree() {
	const r = spawnSync('python3', [path.resolve(HERE, '../fixtures.py'), BIG_SHAPE],
		{ stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
	if (r.status !== 0)
		throw new Error(`tests/fixtures.py ${BIG_SHAPE} failed (status ${r.status})`);
	return r.stdout.trim();
}

// The server's environment: the caller's (sanitizer options included) plus the test hooks.
export function serverEnv() {
	return { ...process.env, CTXD_TEST_HOOKS: '1' };
}

// Wait until cond() holds, re-checking whenever poke() is called (from a notification
// handler); rejects after the hang guard.
export function eventWaiter() {
	const waiting = new Set();
	return {
		poke() {
			for (const w of [...waiting])
				w();
		},
		until(what, cond) {
			return new Promise((resolve, reject) => {
				const timer = setTimeout(() => {
					waiting.delete(check);
					reject(new Error(`${what}: not within ${HANG_GUARD} ms`));
				}, HANG_GUARD);
				const check = () => {
					if (cond()) {
						clearTimeout(timer);
						waiting.delete(check);
						resolve();
					}
				};
				waiting.add(check);
				check();
			});
		},
	};
}

// The workspace root: a copy of examples/workspace (skills under .claude/skills) plus a
// text file, a binary file and a file the subscription test rewrites.
export function makeWorkspace(base) {
	const ws = path.join(base, 'ws');
	fs.cpSync(EXAMPLE_WORKSPACE, ws, { recursive: true });
	fs.writeFileSync(path.join(ws, 'hello.txt'), 'hello resources\n');
	const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13,
		0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4,
		0x89, 0, 0, 0, 0, 0xff, 0xfe, 0x80, 0x01]);
	fs.writeFileSync(path.join(ws, 'pixel.png'), png);
	fs.writeFileSync(path.join(ws, 'watched.txt'), 'version 0\n');
	fs.writeFileSync(path.join(ws, 'marker.txt'), 'marker 0\n');
	return { ws, png };
}

export function writeConfig(base, pageSize) {
	const file = path.join(base, 'ctxd.yaml');
	fs.writeFileSync(file, `limits:\n  page_size: ${pageSize}\n`);
	return file;
}

export const fileUri = (p) => pathToFileURL(p).href;

// Record every message a connected transport receives and sends, with a timestamp.
// Call after connect(): the client installs its onmessage there.
export function tapTransport(transport) {
	const log = [];
	const onmessage = transport.onmessage;
	transport.onmessage = (msg, extra) => {
		log.push({ dir: 'in', at: performance.now(), msg });
		onmessage.call(transport, msg, extra);
	};
	const send = transport.send.bind(transport);
	transport.send = (msg, opts) => {
		log.push({ dir: 'out', at: performance.now(), msg });
		return send(msg, opts);
	};
	return log;
}

export function errCode(e) {
	return e && (e.code ?? e.error?.code);
}

// With `tap`, the code and data are taken from the wire (the v2 client reports a -32002
// answer as its own ResourceNotFoundError with code -32602).
async function expectError(t, what, fn, code, checkData, tap) {
	const mark = tap ? tap.length : 0;
	try {
		const r = await fn();
		t.check(`${what}: JSON-RPC error`, false, `got a result: ${short(r)}`);
	} catch (e) {
		let got = { code: errCode(e), data: e.data };
		if (tap) {
			const w = tap.slice(mark).find((m) => m.dir === 'in' && m.msg.error !== undefined);
			got = w ? w.msg.error : { code: `no error on the wire (client: ${errCode(e)})` };
		}
		t.eq(`${what}: error code`, got.code, code);
		if (checkData)
			checkData(got.data);
	}
}

// ---------------------------------------------------------------------------------------
// Adapter contract (both clients):
//   modern                      true in the 2026-07-28 era
//   pid                         the server's process id
//   caps()                      server capabilities
//   call(name, args, opts)      callTool; opts {signal, onprogress, meta (the _meta)}
//   alive()                     a cheap request proving the server answers (ping / tool call)
//   listPage(method, cursor)    one raw page of tools|resources|resources/templates|prompts
//   readResource(uri), subscribe(uri), unsubscribe(uri)
//   listPrompts(), getPrompt(name, args), complete(ref, argument)
//   tap                         the transport log (tapTransport)

function searchArgs(big) {
	return { path: big, pattern: '**/*.nomatch', excludePatterns: SLOW_EXCLUDES };
}

// Progress on the big walk: notifications arrive, strictly increasing, at most ~10/s,
// and (checked once the server has exited) all before the result.
export async function checkProgress(t, a, big) {
	for (let attempt = 0; attempt < 3; attempt++) {
		const seen = [];
		const t0 = performance.now();
		const mark = a.tap.length;
		const r = await a.call('search_files', searchArgs(big), {
			onprogress: (p) => seen.push({ ...p, at: performance.now() }),
		});
		const ms = performance.now() - t0;
		const after = a.tap.slice(mark);
		const req = after.find((e) => e.dir === 'out' && e.msg.method === 'tools/call');
		const id = req?.msg.id;
		const token = req?.msg.params?._meta?.progressToken;
		t.check(`progress #${attempt}: the walk succeeded`, r && r.isError !== true, r);
		t.check(`progress #${attempt}: request carried a progressToken`, token !== undefined, req);
		// the first report comes at the 1,000th entry of the 100,000, whatever the timing
		t.check(`progress #${attempt}: at least one notification`, seen.length >= 1,
			`${seen.length} in ${ms.toFixed(0)} ms`);
		const vals = seen.map((p) => p.progress);
		t.check(`progress #${attempt}: strictly increasing`,
			vals.every((v, i) => typeof v === 'number' && (i === 0 || v > vals[i - 1])), vals);
		// The server spaces reports >= 100 ms apart by its clock, all within the span this
		// client measured from sending to the answer: n <= ms/100 + 1 on any machine.
		t.check(`progress #${attempt}: rate-limited (~10/s)`,
			seen.length <= Math.ceil(ms / 100) + 2, `${seen.length} in ${ms.toFixed(0)} ms`);
		for (const p of seen) {
			if (p.total !== undefined)
				t.check(`progress #${attempt}: total >= progress`, p.total >= p.progress, p);
		}
		t.defer(() => {
			const log = a.tap.slice(mark);
			const respIdx = log.findIndex((e) => e.dir === 'in' && e.msg.id === id &&
				e.msg.method === undefined);
			const progIdx = log.map((e, i) => [e, i]).filter(([e]) => e.dir === 'in' &&
				e.msg.method === 'notifications/progress' &&
				e.msg.params?.progressToken === token).map(([, i]) => i);
			t.check(`progress #${attempt}: all before the result (whole session)`,
				respIdx >= 0 && progIdx.every((i) => i < respIdx), { respIdx, progIdx });
		});
		console.error(`${t.label}: progress walk #${attempt}: ${ms.toFixed(0)} ms, ` +
			`${seen.length} notification(s): ${short(vals, 200)}`);
		if (seen.length >= 2)
			break;
	}
}

// Cancel the running walk through the client's AbortSignal: the client rejects locally,
// sends notifications/cancelled with the request id, the server answers the next request,
// never answers the cancelled id, and sends no progress for it once the cancel is read
// (both checked once the server has exited). The walk holds (test hook) until the server
// read the client's next frame: the cancel meets a running walk on any machine, and a
// server that ignored the cancel would go on to answer it.
export async function checkCancel(t, a, big, trigger) {
	const ac = new AbortController();
	const mark = a.tap.length;
	let aborted = null;
	let by = null;
	const abort = (why) => {
		if (aborted === null) {
			aborted = performance.now();
			by = why;
			ac.abort(new Error('interop: user cancelled'));
		}
	};
	const opts = { signal: ac.signal, meta: { 'ctxd.test/hold': true } };
	if (trigger === 'first-progress')
		opts.onprogress = () => abort('progress');
	const p = a.call('search_files', searchArgs(big), opts);
	if (trigger === 'immediate')
		setTimeout(() => abort('immediate'), 0);
	const guard = setTimeout(() => abort('hang guard'), HANG_GUARD);
	let rejected = null;
	try {
		const r = await p;
		t.check(`cancel (${trigger}): the call rejects locally`, false, `resolved: ${short(r)}`);
	} catch (e) {
		rejected = e;
	}
	clearTimeout(guard);
	t.eq(`cancel (${trigger}): aborted by the trigger`, by, trigger === 'first-progress' ? 'progress' : 'immediate');
	if (rejected) {
		t.check(`cancel (${trigger}): rejected by the client's abort, not a server error`,
			/cancel/i.test(String(rejected.message || rejected)) ||
			/abort/i.test(String(rejected.name)), String(rejected));
	}
	const log = a.tap.slice(mark);
	const req = log.find((e) => e.dir === 'out' && e.msg.method === 'tools/call');
	const id = req?.msg.id;
	const token = req?.msg.params?._meta?.progressToken;
	const cancelled = log.find((e) => e.dir === 'out' && e.msg.method === 'notifications/cancelled');
	t.check(`cancel (${trigger}): client sent notifications/cancelled for the request id`,
		cancelled !== undefined && cancelled.msg.params?.requestId === id, cancelled?.msg);

	const t0 = performance.now();
	const liveMark = a.tap.length;
	const live = await a.alive();
	const liveMs = performance.now() - t0;
	t.check(`cancel (${trigger}): server answers the next request`, live === true, live);
	// the answer to the liveness request: everything the server read before it is done with
	const liveOut = a.tap.slice(liveMark).find((e) => e.dir === 'out' && e.msg.id !== undefined &&
		e.msg.method !== undefined);
	t.defer(() => {
		const later = a.tap.slice(mark);
		const resp = later.filter((e) => e.dir === 'in' && e.msg.id === id && e.msg.method === undefined);
		t.eq(`cancel (${trigger}): no response for the cancelled request (whole session)`,
			resp.map((e) => e.msg), []);
		if (token !== undefined) {
			const liveIdx = a.tap.findIndex((e, i) => i >= liveMark && e.dir === 'in' &&
				liveOut && e.msg.id === liveOut.msg.id && e.msg.method === undefined);
			const lateProg = a.tap.filter((e, i) => i > liveIdx && e.dir === 'in' &&
				e.msg.method === 'notifications/progress' && e.msg.params?.progressToken === token);
			t.check(`cancel (${trigger}): the liveness answer is in the log`, liveIdx >= 0, liveOut?.msg);
			t.eq(`cancel (${trigger}): no progress once the server read the cancel (whole session)`,
				lateProg.map((e) => e.msg), []);
		}
	});
	console.error(`${t.label}: cancel (${trigger}): aborted ${aborted ? (aborted - (req?.at ?? aborted)).toFixed(1) : '?'} ms ` +
		`after the request; next request answered in ${liveMs.toFixed(1)} ms`);
	// One more full walk on the same server still works.
	const again = await a.call('search_files', { path: big, pattern: '**/f7.txt' });
	t.check(`cancel (${trigger}): a later walk on the same tree completes`,
		again && again.isError !== true && again.structuredContent?.count === 2000,
		again?.structuredContent?.count);
}

// Page through one list method with page_size 2; returns the items (or null on failure).
export async function checkPaging(t, a, method, key) {
	const items = [];
	const cursors = new Set();
	let cursor;
	let pages = 0;
	for (;;) {
		const r = await a.listPage(method, cursor);
		pages++;
		const page = r[key];
		if (!t.check(`${method}: page ${pages} has a ${key} array`, Array.isArray(page), r))
			return null;
		t.check(`${method}: page ${pages} holds at most 2 items`, page.length <= 2, page.length);
		items.push(...page);
		if (r.nextCursor === undefined)
			break;
		t.check(`${method}: cursor is an opaque non-empty string`,
			typeof r.nextCursor === 'string' && r.nextCursor.length > 0, r.nextCursor);
		t.check(`${method}: cursor not repeated`, !cursors.has(r.nextCursor), r.nextCursor);
		t.check(`${method}: page with a next cursor is full`, page.length === 2, page.length);
		cursors.add(r.nextCursor);
		cursor = r.nextCursor;
		if (pages > 500) {
			t.check(`${method}: pagination ends`, false, `${pages} pages`);
			return null;
		}
	}
	const ids = items.map((x) => x.name ?? x.uri ?? x.uriTemplate);
	t.eq(`${method}: no item twice across pages`, ids.length, new Set(ids).size);
	console.error(`${t.label}: ${method}: ${items.length} item(s) in ${pages} page(s)`);
	await expectError(t, `${method}: bad cursor`, () => a.listPage(method, 'bm90LWEtY3Vyc29y'), -32602);
	await expectError(t, `${method}: non-base64 cursor`, () => a.listPage(method, '%%%'), -32602);
	if (cursors.size > 0) {
		const other = method === 'tools/list' ? 'prompts/list' : 'tools/list';
		if (other !== 'prompts/list' || a.caps().prompts)
			await expectError(t, `${method}: its cursor is refused by ${other}`,
				() => a.listPage(other, [...cursors][0]), -32602);
	}
	return items;
}

export async function checkPagination(t, a, allToolNames) {
	await t.section('pagination tools/list', async () => {
		const tools = await checkPaging(t, a, 'tools/list', 'tools');
		if (tools) {
			t.check('tools/list: more than one page with page_size 2', tools.length > 2, tools.length);
			t.eq('tools/list: pages join to the full list',
				tools.map((x) => x.name).sort(), [...allToolNames].sort());
		}
	});
	if (a.caps().resources) {
		await t.section('pagination resources/list', () => checkPaging(t, a, 'resources/list', 'resources'));
		await t.section('pagination resources/templates/list',
			() => checkPaging(t, a, 'resources/templates/list', 'resourceTemplates'));
	} else {
		skip(t, 'pagination of resources/list', 'no resources capability: no resource provider is wired');
	}
	if (a.caps().prompts)
		await t.section('pagination prompts/list', () => checkPaging(t, a, 'prompts/list', 'prompts'));
	else
		skip(t, 'pagination of prompts/list', 'no prompts capability: the skills provider is not wired');
}

// file:// resources: list, templates, read text + blob, not found, subscribe (legacy).
export async function checkResources(t, a, ws, png, fullList) {
	const caps = a.caps();
	if (!caps.resources) {
		skip(t, 'resources', 'no resources capability: the file:// provider is not wired');
		return;
	}
	const all = fullList;
	const fileRes = all.filter((r) => r.uri.startsWith('file://'));
	if (fileRes.length === 0) {
		skip(t, 'file:// resources', `resources/list has no file:// entry (${short(all.map((r) => r.uri), 300)})`);
		return;
	}
	const helloUri = fileUri(path.join(ws, 'hello.txt'));
	const pngUri = fileUri(path.join(ws, 'pixel.png'));
	await t.section('resources/list', async () => {
		for (const r of all) {
			t.check(`resource ${r.uri}: has a name`, typeof r.name === 'string' && r.name.length > 0, r);
		}
		const hello = fileRes.find((r) => r.uri === helloUri);
		t.check('resources/list: hello.txt listed by its file:// URI', hello !== undefined,
			fileRes.map((r) => r.uri));
		if (hello && hello.size !== undefined)
			t.eq('resources/list: hello.txt size', hello.size, 'hello resources\n'.length);
		t.check('resources/list: nothing outside the roots',
			fileRes.every((r) => fileURLToPath(r.uri).startsWith(path.dirname(ws) + path.sep)),
			fileRes.map((r) => r.uri));
	});
	await t.section('resources/templates/list', async () => {
		const tpl = [];
		let cursor;
		do {
			const r = await a.listPage('resources/templates/list', cursor);
			tpl.push(...r.resourceTemplates);
			cursor = r.nextCursor;
		} while (cursor !== undefined);
		t.check('templates: file:///{+path} offered', tpl.some((x) => x.uriTemplate === 'file:///{+path}'),
			tpl.map((x) => x.uriTemplate));
		for (const x of tpl)
			t.check(`template ${x.uriTemplate}: has a name`, typeof x.name === 'string' && x.name.length > 0, x);
	});
	await t.section('resources/read', async () => {
		const r = await a.readResource(helloUri);
		const c = r.contents?.[0];
		t.eq('read hello.txt: one content item', r.contents?.length, 1);
		t.eq('read hello.txt: uri', c?.uri, helloUri);
		t.eq('read hello.txt: text', c?.text, 'hello resources\n');
		t.check('read hello.txt: text mimeType', /^text\//.test(c?.mimeType ?? ''), c?.mimeType);
		const b = await a.readResource(pngUri);
		const bc = b.contents?.[0];
		t.eq('read pixel.png: uri', bc?.uri, pngUri);
		t.eq('read pixel.png: no text', bc?.text, undefined);
		t.eq('read pixel.png: blob is the bytes in base64', bc?.blob, png.toString('base64'));
		t.eq('read pixel.png: mimeType', bc?.mimeType, 'image/png');
		// A file inside the roots but not listed (nested) reads through the template.
		const nested = fileUri(path.join(ws, 'docs', 'design.md'));
		const n = await a.readResource(nested);
		t.eq('read nested docs/design.md through the template',
			n.contents?.[0]?.text, fs.readFileSync(path.join(ws, 'docs', 'design.md'), 'utf8'));
	});
	await t.section('resources/read not found', async () => {
		const code = a.modern ? -32602 : -32002;
		for (const [what, uri] of [
			['missing file', fileUri(path.join(ws, 'no-such-file.txt'))],
			['outside the roots', fileUri('/etc/passwd')],
			['unknown scheme', 'nosuch://x/y'],
		]) {
			await expectError(t, `read ${what}`, () => a.readResource(uri), code, (data) => {
				t.eq(`read ${what}: data.uri`, data?.uri, uri);
			}, a.tap);
		}
	});
	if (a.modern) {
		skip(t, 'resources/subscribe', 'not part of the 2026-07-28 era (subscriptions/listen instead)');
		return;
	}
	if (!caps.resources.subscribe) {
		skip(t, 'resources/subscribe', 'the server does not advertise resources.subscribe');
		return;
	}
	await t.section('resources/subscribe', async () => {
		const file = path.join(ws, 'watched.txt');
		const uri = fileUri(file);
		const other = fileUri(path.join(ws, 'hello.txt'));
		const markerFile = path.join(ws, 'marker.txt');
		const markerUri = fileUri(markerFile);
		const updates = [];
		const ev = eventWaiter();
		a.onUpdated((u) => {
			updates.push({ uri: u, at: performance.now() });
			ev.poke();
		});
		const count = (u) => updates.filter((x) => x.uri === u).length;
		// Replace the marker by rename (one inotify event: exactly one update) and wait for
		// its update: every update an earlier change caused has arrived by then.
		let markers = 0;
		const sync = async (what) => {
			const before = count(markerUri);
			markers++;
			fs.writeFileSync(`${markerFile}.tmp`, `marker ${markers}\n`);
			fs.renameSync(`${markerFile}.tmp`, markerFile);
			await ev.until(`${what}: the marker's update`, () => count(markerUri) > before);
			t.eq(`${what}: exactly one update for the marker`, count(markerUri), before + 1);
		};
		t.eq('subscribe: answers {}', await a.subscribe(uri), {});
		t.eq('subscribe again: idempotent {}', await a.subscribe(uri), {});
		t.eq('subscribe the marker: answers {}', await a.subscribe(markerUri), {});
		fs.writeFileSync(file, 'version 1\n');
		const t0 = performance.now();
		await ev.until('subscribe: the update after the file changed', () => count(uri) > 0);
		console.error(`${t.label}: resources/updated ${(performance.now() - t0).toFixed(0)} ms after the write`);
		await sync('subscribe');
		// A burst of 20 writes made while the server is stopped: it sees them all at once
		// and coalesces them into one update.
		updates.length = 0;
		process.kill(a.pid, 'SIGSTOP');
		try {
			for (let i = 0; i < 20; i++)
				fs.appendFileSync(file, `burst ${i}\n`);
		} finally {
			process.kill(a.pid, 'SIGCONT');
		}
		await sync('burst');
		t.eq('subscribe: a burst of 20 writes is coalesced into one update', count(uri), 1);
		t.check('subscribe: no update for a URI nobody subscribed to',
			!updates.some((u) => u.uri === other), updates);
		t.eq('unsubscribe: answers {}', await a.unsubscribe(uri), {});
		updates.length = 0;
		fs.writeFileSync(file, 'version 2\n');
		await sync('unsubscribe');
		t.eq('unsubscribe: no update after the change', updates.filter((u) => u.uri !== markerUri), []);
		await expectError(t, 'subscribe to a missing file', () =>
			a.subscribe(fileUri(path.join(ws, 'no-such-file.txt'))), -32002, undefined, a.tap);
	});
}

// Prompts from the skills provider, and completion for a prompt argument and a file path.
export async function checkPrompts(t, a, ws) {
	const caps = a.caps();
	if (!caps.prompts) {
		skip(t, 'prompts', 'no prompts capability: the skills provider is not wired');
	} else {
		await t.section('prompts', async () => {
			const { prompts } = await a.listPrompts();
			const names = prompts.map((p) => p.name);
			const skills = fs.readdirSync(path.join(ws, '.claude', 'skills'));
			for (const s of skills)
				t.check(`prompts/list: skill ${s} is a prompt`, names.includes(s), names);
			const p = prompts.find((x) => x.name === 'changelog') ?? prompts[0];
			t.check('prompts/list: prompt has a description', typeof p?.description === 'string', p);
			const argName = p?.arguments?.[0]?.name;
			const args = argName ? { [argName]: 'v1.2.3 release' } : {};
			const r = await a.getPrompt(p.name, args);
			t.check('prompts/get: messages array', Array.isArray(r.messages) && r.messages.length > 0, r);
			const m0 = r.messages?.[0];
			t.check('prompts/get: first message is user text', m0?.role === 'user' &&
				m0?.content?.type === 'text' && m0.content.text.length > 0, m0);
			if (argName)
				t.check('prompts/get: the argument is used', (m0?.content?.text ?? '').includes('v1.2.3 release'),
					(m0?.content?.text ?? '').slice(-300));
			await expectError(t, 'prompts/get unknown prompt', () => a.getPrompt('no-such-prompt', {}), -32602);
		});
	}
	if (!caps.completions) {
		skip(t, 'completion/complete', 'no completions capability: no provider with completion is wired');
		return;
	}
	if (caps.prompts) {
		await t.section('completion for a prompt argument', async () => {
			const { prompts } = await a.listPrompts();
			const p = prompts.find((x) => x.arguments?.length) ?? prompts[0];
			const argName = p?.arguments?.[0]?.name ?? 'arguments';
			const r = await a.complete({ type: 'ref/prompt', name: p.name }, { name: argName, value: '' });
			const c = r.completion;
			t.check('complete prompt arg: values array (<= 100)', Array.isArray(c?.values) &&
				c.values.length <= 100 && c.values.every((v) => typeof v === 'string'), r);
			if (c?.total !== undefined)
				t.check('complete prompt arg: total >= values', c.total >= c.values.length, c);
			if (Array.isArray(c?.values) && c.values.length === 0)
				console.error(`${t.label}: note: prompt ${p.name} argument ${argName} offers no completion values`);
			await expectError(t, 'complete an unknown prompt', () =>
				a.complete({ type: 'ref/prompt', name: 'no-such-prompt' }, { name: 'x', value: '' }), -32602);
		});
	}
	if (caps.resources) {
		await t.section('completion for a file path template variable', async () => {
			const ref = { type: 'ref/resource', uri: 'file:///{+path}' };
			const docs = path.join(ws, 'docs').slice(1);
			const r = await a.complete(ref, { name: 'path', value: path.join(ws, 'd').slice(1) });
			const vals = r.completion?.values ?? [];
			t.check('complete path: docs/ offered', vals.some((v) => v.replace(/\/$/, '') === docs), vals);
			t.check('complete path: only entries starting with the prefix',
				vals.every((v) => v.startsWith(path.join(ws, 'd').slice(1))), vals);
			const r2 = await a.complete(ref, { name: 'path', value: docs + '/' });
			const v2 = r2.completion?.values ?? [];
			t.check('complete path: files in docs/', v2.includes(`${docs}/design.md`) &&
				v2.includes(`${docs}/changelog.md`), v2);
			t.check('complete path: total/hasMore shape', r2.completion?.total === undefined ||
				r2.completion.total >= v2.length, r2.completion);
			const r3 = await a.complete(ref, { name: 'path', value: 'etc/pass' });
			t.eq('complete path: nothing outside the roots', r3.completion?.values ?? [], []);
		});
	} else {
		skip(t, 'completion of file paths', 'no resources capability: the file:// provider is not wired');
	}
}

// Ask a fresh ctxd (default page size) for the full result of one list method over raw
// JSON-RPC, following nextCursor: the reference the paged lists are compared with.
export async function rawFullList(bin, args, method, key) {
	const { spawn } = await import('node:child_process');
	const readline = (await import('node:readline')).default;
	const proc = spawn(bin, args, { stdio: ['pipe', 'pipe', 'ignore'] });
	const waiting = new Map();
	readline.createInterface({ input: proc.stdout }).on('line', (line) => {
		let m;
		try {
			m = JSON.parse(line);
		} catch {
			return;
		}
		if (m.id !== undefined && waiting.has(m.id)) {
			waiting.get(m.id)(m);
			waiting.delete(m.id);
		}
	});
	let next = 1;
	const req = (method_, params) => new Promise((resolve, reject) => {
		const id = next++;
		const timer = setTimeout(() => reject(new Error(`${method_}: no answer`)), HANG_GUARD);
		waiting.set(id, (m) => {
			clearTimeout(timer);
			if (m.error)
				reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
			else
				resolve(m.result);
		});
		proc.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method: method_, params }) + '\n');
	});
	try {
		const init = await req('initialize', { protocolVersion: '2025-11-25', capabilities: {},
			clientInfo: { name: 'ctxd-interop-reference', version: '1' } });
		proc.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
		const items = [];
		let cursor;
		do {
			const r = await req(method, cursor ? { cursor } : {});
			items.push(...r[key]);
			cursor = r.nextCursor;
		} while (cursor !== undefined);
		return { items, caps: init.capabilities };
	} finally {
		const exited = proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve()
			: new Promise((resolve) => proc.once('exit', resolve));
		proc.stdin.end();
		const guard = setTimeout(() => proc.kill('SIGKILL'), HANG_GUARD);
		await exited;
		clearTimeout(guard);
	}
}
