// v2.test.mjs - ctxd against the official TypeScript v2 client
// (@modelcontextprotocol/client 2.4.0; stateless 2026-07-28 era with `server/discover`).
//
// usage: node v2.test.mjs /path/to/ctxd   (or CTXD_BIN=/path/to/ctxd node v2.test.mjs)
// Exit 0 when every check passed, 1 otherwise; prints one summary line on stdout.
//
// With versionNegotiation 'auto' the client first spawns a short-lived probe copy of the
// server, sends it `server/discover`, reaps it, and only then starts the session process.
// The test first asks the server itself (raw JSON-RPC) whether it speaks 2026-07-28:
// a conforming discover result means the client must end up modern; -32601 means it must
// fall back to `initialize` 2025-11-25. Anything else (silence, exit, bad reply) fails.
//
// No check depends on time: waits are bounded by HANG_GUARD only, and the order of the
// probe's exit and the session's start is taken from event sequence numbers. That ctxd
// exits at once on EOF or SIGTERM rather than after its drain limit is checked without
// timing by tests/protocol/cases/exit_prompt*.session.

import { spawn } from 'node:child_process';
import readline from 'node:readline';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

import {
	HANG_GUARD, Tally, READ_TOOLS, checkBadCalls, checkConcurrent, checkGoodCalls, checkTools,
	childProcesses, instrumentTransport, killAll, makeTree, serverArgs, serverBinary, short, textOf,
	withTimeout,
} from './common.mjs';

const MODERN = '2026-07-28';
const LEGACY = '2025-11-25';
const REQUEST_TIMEOUT = HANG_GUARD;
// The client's probe timeout is a hang guard too: a probe that got no answer shows as the
// legacy era, whatever the time it took.
const PROBE_TIMEOUT = HANG_GUARD;

const bin = serverBinary();
const t = new Tally('interop-v2');
const tree = makeTree();
const spawned = instrumentTransport(StdioClientTransport);
const rawProcs = [];

const watchdog = setTimeout(() => {
	console.error('interop-v2: watchdog expired after 100 s');
	killAll(spawned);
	for (const p of rawProcs)
		p.kill('SIGKILL');
	tree.cleanup();
	console.log('interop-v2: FAIL (watchdog)');
	process.exit(1);
}, 100000);

let stderrText = '';

// ---------------------------------------------------------------------------------------
// 1. Raw probe: what does the server answer to server/discover before anything else?

async function rawProbe() {
	const proc = spawn(bin, serverArgs(tree.root), { stdio: ['pipe', 'pipe', 'pipe'] });
	rawProcs.push(proc);
	const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
	proc.stderr.on('data', (d) => {
		stderrText += d.toString();
	});
	const lines = [];
	const badLines = [];
	const id = 'raw-probe-1';
	const answer = new Promise((resolve) => {
		readline.createInterface({ input: proc.stdout }).on('line', (line) => {
			let msg;
			try {
				msg = JSON.parse(line);
			} catch {
				badLines.push(line);
				return;
			}
			lines.push(msg);
			if (msg.id === id)
				resolve(msg);
		});
	});
	const t0 = Date.now();
	proc.stdin.write(JSON.stringify({
		jsonrpc: '2.0', id, method: 'server/discover',
		params: { _meta: {
			'io.modelcontextprotocol/protocolVersion': MODERN,
			'io.modelcontextprotocol/clientInfo': { name: 'ctxd-interop-raw', version: '1.0.0' },
			'io.modelcontextprotocol/clientCapabilities': {},
		} },
	}) + '\n');
	let reply;
	try {
		reply = await withTimeout(answer, HANG_GUARD, 'server/discover');
	} catch (e) {
		t.check('raw server/discover answered', false, e.message);
	}
	console.error(`interop-v2: raw server/discover answered in ${Date.now() - t0} ms`);
	let era;
	if (reply) {
		t.eq('raw server/discover: jsonrpc', reply.jsonrpc, '2.0');
		if (reply.result !== undefined) {
			era = 'modern';
			const r = reply.result;
			t.eq('discover: resultType', r.resultType, 'complete');
			t.check(`discover: supportedVersions has ${MODERN}`,
				Array.isArray(r.supportedVersions) && r.supportedVersions.includes(MODERN), r);
			t.check('discover: capabilities.tools', r.capabilities && typeof r.capabilities.tools === 'object', r);
			t.check('discover: ttlMs >= 0', Number.isInteger(r.ttlMs) && r.ttlMs >= 0, r.ttlMs);
			t.check('discover: cacheScope', ['public', 'private'].includes(r.cacheScope), r.cacheScope);
			t.eq('discover: _meta serverInfo.name',
				r._meta?.['io.modelcontextprotocol/serverInfo']?.name, 'ctxd');
		} else {
			era = 'legacy';
			t.eq('raw server/discover: legacy server answers -32601', reply.error?.code, -32601);
		}
	}
	t.eq('raw probe: every stdout line is JSON', badLines, []);
	t.eq('raw probe: no other stdout messages', lines.filter((m) => m.id !== id), []);
	proc.stdin.end();
	let exit;
	try {
		exit = await withTimeout(exited, HANG_GUARD, 'raw probe exit');
	} catch (e) {
		proc.kill('SIGKILL');
		exit = await exited;
	}
	t.eq('raw probe: exit on stdin EOF', exit, { code: 0, signal: null });

	// The client reaps its probe with stdin EOF and SIGTERM at once: check SIGTERM alone.
	const p2 = spawn(bin, serverArgs(tree.root), { stdio: ['pipe', 'pipe', 'ignore'] });
	rawProcs.push(p2);
	const exited2 = new Promise((resolve) => p2.once('exit', (code, signal) => resolve({ code, signal })));
	const answered2 = new Promise((resolve) => {
		readline.createInterface({ input: p2.stdout }).on('line', resolve);
	});
	p2.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 'raw-probe-2', method: 'server/discover',
		params: { _meta: {
			'io.modelcontextprotocol/protocolVersion': MODERN,
			'io.modelcontextprotocol/clientCapabilities': {},
		} } }) + '\n');
	await withTimeout(answered2, HANG_GUARD, 'second server/discover').catch(() => {});
	p2.kill('SIGTERM');
	let exit2;
	try {
		exit2 = await withTimeout(exited2, HANG_GUARD, 'exit on SIGTERM');
	} catch {
		p2.kill('SIGKILL');
		exit2 = await exited2;
	}
	t.eq('raw probe: exit on SIGTERM', exit2, { code: 0, signal: null });
	return era;
}

let era;
await t.section('raw server/discover', async () => {
	era = await rawProbe();
});
const wantVersion = era === 'modern' ? MODERN : LEGACY;
if (era)
	console.error(`interop-v2: server/discover says ${era}; expecting the client to negotiate ${wantVersion}`);

// ---------------------------------------------------------------------------------------
// 2. The v2 client with versionNegotiation 'auto' (probe sibling + session process)

function newTransport() {
	const tr = new StdioClientTransport({ command: bin, args: serverArgs(tree.root), stderr: 'pipe' });
	tr.stderr.on('data', (d) => {
		stderrText += d.toString();
	});
	return tr;
}

const clientErrors = [];

function adapterFor(client) {
	return {
		listTools: () => client.listTools(undefined, { timeout: REQUEST_TIMEOUT }),
		call: (name, args) => client.callTool({ name, arguments: args }, { timeout: REQUEST_TIMEOUT }),
	};
}

async function closeAndCheck(client, rec, label) {
	await client.close();
	const exit = await withTimeout(rec.exited, HANG_GUARD, `${label} server exit`);
	t.eq(`${label}: server exit on stdin EOF`, exit, { code: 0, signal: null });
	const kids = childProcesses();
	if (kids !== null)
		t.eq(`${label}: no server process left`, kids, []);
}

if (era) {
	const before = spawned.length;
	const transport = newTransport();
	const client = new Client({ name: 'ctxd-interop-v2', version: '1.0.0' }, {
		capabilities: {},
		versionNegotiation: { mode: 'auto', probe: { timeoutMs: PROBE_TIMEOUT } },
	});
	client.onerror = (e) => clientErrors.push(e);
	const adapter = adapterFor(client);
	let connected = false;

	await t.section('auto connect', async () => {
		// A probe that got no answer would time out and fall back to the legacy era: the
		// negotiated version shows whether ctxd answered it, not the time it took.
		const t0 = Date.now();
		await withTimeout(client.connect(transport, { timeout: REQUEST_TIMEOUT }), 2 * HANG_GUARD, 'connect');
		connected = true;
		console.error(`interop-v2: auto connect (probe + handshake) took ${Date.now() - t0} ms`);
		t.eq('auto connect: negotiated protocol version', client.getNegotiatedProtocolVersion(),
			wantVersion);
		t.eq('auto connect: protocol era', client.getProtocolEra(), era);
		t.eq('auto connect: serverInfo.name', client.getServerVersion()?.name, 'ctxd');
		t.check('auto connect: server advertises tools',
			client.getServerCapabilities()?.tools !== undefined, client.getServerCapabilities());

		const mine = spawned.slice(before);
		t.eq('auto connect: two processes (probe, then session)', mine.length, 2);
		const [probe, session] = mine;
		t.eq('auto connect: session pid is the transport pid', session?.pid, transport.pid);
		if (probe) {
			t.check('probe: reaped before the session started', probe.exit !== null &&
				session !== undefined && probe.exitSeq < session.startSeq,
				{ exit: probe.exit, exitSeq: probe.exitSeq, sessionStartSeq: session?.startSeq });
			t.eq('probe: exit status (stdin EOF + SIGTERM)', probe.exit, { code: 0, signal: null });
		}
		const kids = childProcesses();
		if (kids !== null)
			t.eq('auto connect: only the session process is running', kids.map((k) => k.pid),
				[transport.pid]);
	});

	if (connected) {
		let tools = new Map();
		await t.section('tools/list', async () => {
			tools = await checkTools(t, adapter);
		});
		await checkGoodCalls(t, adapter, tools, tree);
		await checkBadCalls(t, adapter, tree);
		await t.section('concurrency', () => checkConcurrent(t, adapter, tree));
	}
	await t.section('auto close and exit', async () => {
		const rec = spawned.find((s) => s.pid === transport.pid);
		if (rec)
			await closeAndCheck(client, rec, 'auto');
		else
			await client.close();
	});
}

// ---------------------------------------------------------------------------------------
// 3. The v2 client's default mode ('legacy'): plain initialize, no probe

await t.section('legacy-mode v2 client', async () => {
	const before = spawned.length;
	const transport = newTransport();
	const client = new Client({ name: 'ctxd-interop-v2-legacy', version: '1.0.0' }, { capabilities: {} });
	client.onerror = (e) => clientErrors.push(e);
	await withTimeout(client.connect(transport, { timeout: REQUEST_TIMEOUT }), 2 * HANG_GUARD, 'connect');
	t.eq('legacy mode: one process, no probe', spawned.length - before, 1);
	t.eq('legacy mode: negotiated protocol version', client.getNegotiatedProtocolVersion(), LEGACY);
	t.eq('legacy mode: serverInfo.name', client.getServerVersion()?.name, 'ctxd');
	t.eq('legacy mode: ping', await client.ping({ timeout: REQUEST_TIMEOUT }), {});
	const adapter = adapterFor(client);
	const { tools } = await adapter.listTools();
	const names = tools.map((x) => x.name);
	t.check('legacy mode: read tools listed', READ_TOOLS.every((n) => names.includes(n)), names);
	const r = await adapter.call('read_text_file', { path: tree.p('crlf.txt'), head: 2 });
	t.check('legacy mode: read head 2', (textOf(r) ?? '').startsWith(tree.crlfLines[0] + tree.crlfLines[1].trimEnd()),
		textOf(r));
	await closeAndCheck(client, spawned[spawned.length - 1], 'legacy mode');
});

t.eq('client saw no transport/protocol errors', clientErrors.map((e) => String(e.message || e)), []);

clearTimeout(watchdog);
killAll(spawned);
for (const p of rawProcs)
	if (p.exitCode === null && p.signalCode === null)
		p.kill('SIGKILL');
tree.cleanup();
if (t.failed.length > 0 && stderrText)
	console.error(`--- ctxd stderr ---\n${stderrText.slice(0, 4000)}`);
process.exit(t.finish());
