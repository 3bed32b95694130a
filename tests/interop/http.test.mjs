// http.test.mjs - ctxd --http against both official TypeScript clients over Streamable HTTP:
// StreamableHTTPClientTransport of @modelcontextprotocol/sdk 1.32.2 (a 2025-11-25 session:
// Mcp-Session-Id, the GET stream) and of the v2 client @modelcontextprotocol/client 2.4.0
// (the stateless 2026-07-28 era). One daemon serves both clients at once: every tool
// family (files, skills, memory bank), progress, cancellation, and change notifications
// (resources/subscribe on the session's GET stream; Client.listen() in the modern era).
//
// usage: node http.test.mjs /path/to/ctxd
// Exit 0 when every check passed, 1 otherwise; prints one summary line on stdout.
//
// No check depends on time: every wait is for an event (an answer, a notification, a log
// line, an exit) and HANG_GUARD only turns a hang into a failure.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
	PromptListChangedNotificationSchema, ResourceListChangedNotificationSchema,
	ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';

import { HANG_GUARD, Tally, serverBinary, withTimeout } from './common.mjs';
import {
	checkFileTools, checkMemoryBank, checkSkills, checkToolList, makeWorkspace, serverArgs,
} from './families_common.mjs';

const REQUEST_TIMEOUT = HANG_GUARD;
const bin = serverBinary();
const t = new Tally('interop-http');
const ws = makeWorkspace();
const ws2 = makeWorkspace(); // the v2 client's family checks, on a second daemon
const clientErrors = [];
let stderrText = '';

const watchdog = setTimeout(() => {
	console.error('interop-http: watchdog expired after 110 s');
	for (const d of daemons)
		d.proc.kill('SIGKILL');
	ws.cleanup();
	ws2.cleanup();
	console.log('interop-http: FAIL (watchdog)');
	process.exit(1);
}, 110000);

// A daemon on port 0 (the kernel's free port, read from its log) serving workspace `w`.
const daemons = [];
async function startDaemon(w) {
	const proc = spawn(bin, ['--http', '127.0.0.1:0', ...serverArgs(w, ['--log-level', 'info'])],
		{ env: { ...w.env, CTXD_TEST_HOOKS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
	const d = { proc, log: '', waiters: [] };
	d.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
	proc.stderr.on('data', (chunk) => {
		d.log += chunk.toString();
		stderrText += chunk.toString();
		for (const w2 of d.waiters.splice(0))
			if (!w2())
				d.waiters.push(w2);
	});
	daemons.push(d);
	const m = await withTimeout(new Promise((resolve) => {
		const test = () => {
			const x = d.log.match(/\(port (\d+)\)/);
			if (x)
				resolve(x);
			return !!x;
		};
		if (!test())
			d.waiters.push(test);
	}), HANG_GUARD, 'listening');
	d.url = new URL(`http://127.0.0.1:${m[1]}/mcp`);
	return d;
}
const main = await startDaemon(ws);
const url = main.url;
const passthrough = z.object({}).passthrough();

function adapterOf(client, legacy, v2) {
	const opts = { timeout: REQUEST_TIMEOUT };
	const notes = [];
	if (v2) {
		for (const m of ['notifications/tools/list_changed', 'notifications/prompts/list_changed',
			'notifications/resources/list_changed'])
			client.setNotificationHandler(m, () => notes.push(m));
	} else {
		for (const schema of [ToolListChangedNotificationSchema, PromptListChangedNotificationSchema,
			ResourceListChangedNotificationSchema])
			client.setNotificationHandler(schema, (n) => notes.push(n.method));
	}
	return {
		legacy,
		notes,
		listTools: () => client.listTools(undefined, opts),
		call: (name, args, { meta, ...extra } = {}) => v2
			? client.callTool({ name, arguments: args, ...(meta ? { _meta: meta } : {}) },
				{ ...opts, ...extra })
			: client.callTool({ name, arguments: args, ...(meta ? { _meta: meta } : {}) },
				undefined, { ...opts, ...extra }),
		request: (method, params) => client.request({ method, params },
			v2 ? z.looseObject({}) : passthrough, opts),
		listPrompts: () => client.listPrompts(undefined, opts),
		getPrompt: (name, args) => client.getPrompt({ name, arguments: args }, opts),
		readResource: (uri) => client.readResource({ uri }, opts),
	};
}

// A search over enough files that progress comes (one report per 1,000 entries).
function progressTree() {
	const dir = path.join(ws.root, 'progress-tree');
	for (let d = 0; d < 5; d++) {
		fs.mkdirSync(path.join(dir, `d${d}`), { recursive: true });
		for (let f = 0; f < 600; f++)
			fs.writeFileSync(path.join(dir, `d${d}`, `f${f}.txt`), '');
	}
	return dir;
}

async function connectV2(u) {
	const transport = new HttpV2(u);
	const client = new ClientV2({ name: 'ctxd-http-v2', version: '1.0.0' }, {
		capabilities: {}, versionNegotiation: { mode: 'auto', probe: { timeoutMs: HANG_GUARD } },
	});
	client.onerror = (e) => clientErrors.push(e);
	await withTimeout(client.connect(transport, { timeout: REQUEST_TIMEOUT }), 2 * HANG_GUARD, 'connect v2');
	return { client, transport, a: adapterOf(client, false, true) };
}

async function checkProgressAndCancel(a, label) {
	const dir = path.join(ws.root, 'progress-tree');
	const seen = [];
	const r = await a.call('search_files', { path: dir, pattern: '**/*.nomatch' },
		{ onprogress: (p) => seen.push(p.progress) });
	t.check(`${label}: search_files succeeded`, r && r.isError !== true, r);
	t.check(`${label}: progress arrived before the result`, seen.length >= 1, seen);
	t.check(`${label}: progress strictly increasing`,
		seen.every((v, i) => i === 0 || v > seen[i - 1]), seen);
	// cancellation: the walk holds (test hook) after its first progress report until the
	// server has handled one more frame of the client (its notifications/cancelled, or for
	// the stateless era the cancellation the closed stream stands for); the client aborts
	// on that first report, so a server that ignored the cancel would answer the call,
	// which the client reports as an error (checked at the end)
	const ac = new AbortController();
	let rejected = null;
	try {
		await a.call('search_files', { path: dir, pattern: '**/*.nomatch' }, {
			signal: ac.signal, onprogress: () => ac.abort(new Error('interop: cancelled')),
			meta: { 'ctxd.test/hold': true },
		});
	} catch (e) {
		rejected = e;
	}
	t.check(`${label}: cancelled call rejected by the client`, rejected !== null, rejected);
	const alive = await a.call('list_allowed_directories', {});
	t.check(`${label}: server answers after the cancel`, alive && alive.isError !== true, alive);
}

let v1;
await t.section('v1 client (2025-11-25 session over HTTP)', async () => {
	const transport = new HttpV1(url);
	const client = new ClientV1({ name: 'ctxd-http-v1', version: '1.0.0' }, { capabilities: {} });
	client.onerror = (e) => clientErrors.push(e);
	await withTimeout(client.connect(transport, { timeout: REQUEST_TIMEOUT }), REQUEST_TIMEOUT, 'connect v1');
	t.check('v1: a session id', typeof transport.sessionId === 'string' &&
		/^[0-9a-f]{32}$/.test(transport.sessionId), transport.sessionId);
	t.eq('v1: serverInfo.name', client.getServerVersion()?.name, 'ctxd');
	v1 = { client, transport, a: adapterOf(client, true, false) };
});

let v2;
await t.section('v2 client (2026-07-28 over HTTP)', async () => {
	v2 = await connectV2(url);
	t.eq('v2: the modern era', v2.client.getProtocolEra(), 'modern');
});

if (v1 && v2) {
	progressTree();
	// the family checks change their workspace: the v2 client runs them on a second daemon
	const second = await startDaemon(ws2);
	const v2b = await connectV2(second.url);
	for (const [label, c, w] of [['v1', v1, ws], ['v2', v2b, ws2]]) {
		let tools = new Map();
		await t.section(`${label}: tools/list`, async () => {
			tools = await checkToolList(t, c.a);
		});
		await checkFileTools(t, c.a, tools, w);
		await checkSkills(t, c.a, tools, w);
		await checkMemoryBank(t, c.a, tools, w);
	}
	await v2b.client.close();
	second.proc.kill('SIGTERM');
	t.eq('second daemon: exit 0 after SIGTERM', await withTimeout(second.exited, HANG_GUARD, 'exit'),
		{ code: 0, signal: null });
	// both clients on the first daemon at once
	for (const [label, c] of [['v1', v1], ['v2', v2]])
		await t.section(`${label}: progress and cancellation`, () => checkProgressAndCancel(c.a, label));

	await t.section('v1: resources/updated on the session\'s GET stream', async () => {
		const file = path.join(ws.root, 'watched-v1.txt');
		fs.writeFileSync(file, 'one\n');
		const uri = `file://${file}`;
		const got = new Promise((resolve) => v1.client.setNotificationHandler(
			ResourceUpdatedNotificationSchema, (n) => resolve(n.params.uri)));
		await v1.client.subscribeResource({ uri }, { timeout: REQUEST_TIMEOUT });
		fs.appendFileSync(file, 'two\n');
		t.eq('v1: updated uri', await withTimeout(got, HANG_GUARD, 'resources/updated'), uri);
	});

	await t.section('v2: Client.listen() stream over HTTP', async () => {
		const file = path.join(ws.root, 'watched-v2.txt');
		fs.writeFileSync(file, 'one\n');
		const uri = `file://${file}`;
		const got = new Promise((resolve) => v2.client.setNotificationHandler(
			'notifications/resources/updated', (n) => resolve(n.params.uri)));
		const sub = await withTimeout(v2.client.listen({ resourceSubscriptions: [uri] },
			{ timeout: REQUEST_TIMEOUT }), HANG_GUARD, 'listen');
		t.eq('v2: listen acknowledged', sub.honoredFilter, { resourceSubscriptions: [uri] });
		fs.appendFileSync(file, 'two\n');
		t.eq('v2: updated uri', await withTimeout(got, HANG_GUARD, 'resources/updated'), uri);
		await sub.close?.();
	});

	await t.section('close both clients; SIGTERM ends the daemon', async () => {
		await v1.transport.terminateSession?.();
		await v1.client.close();
		await v2.client.close();
		main.proc.kill('SIGTERM');
		t.eq('daemon exit 0 after SIGTERM', await withTimeout(main.exited, HANG_GUARD, 'exit'),
			{ code: 0, signal: null });
	});
}

t.check('no sanitizer report on the server\'s stderr',
	!/AddressSanitizer|LeakSanitizer|runtime error:/.test(stderrText), stderrText.slice(-2000));
// the v2 client reports its own abort of a cancelled call's stream: that one is expected
t.eq('clients saw no transport/protocol errors', clientErrors.map((e) => String(e.message || e))
	.filter((m) => !/^SSE stream disconnected: AbortError/.test(m)), []);
clearTimeout(watchdog);
for (const d of daemons)
	d.proc.kill('SIGKILL');
ws.cleanup();
ws2.cleanup();
if (t.failed.length > 0 && stderrText)
	console.error(`--- ctxd stderr ---\n${stderrText.slice(-4000)}`);
process.exit(t.finish());
