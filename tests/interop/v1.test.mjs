// v1.test.mjs - ctxd against the official TypeScript SDK v1 client
// (@modelcontextprotocol/sdk 1.32.2, `initialize` handshake, protocol 2025-11-25).
//
// usage: node v1.test.mjs /path/to/ctxd   (or CTXD_BIN=/path/to/ctxd node v1.test.mjs)
// Exit 0 when every check passed, 1 otherwise; prints one summary line on stdout.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

import {
	HANG_GUARD, Tally, checkBadCalls, checkConcurrent, checkGoodCalls, checkTools, childProcesses,
	instrumentTransport, killAll, makeTree, serverArgs, serverBinary, withTimeout,
} from './common.mjs';

const REQUEST_TIMEOUT = HANG_GUARD;

const bin = serverBinary();
const t = new Tally('interop-v1');
const tree = makeTree();
const spawned = instrumentTransport(StdioClientTransport);

const watchdog = setTimeout(() => {
	console.error('interop-v1: watchdog expired after 100 s');
	killAll(spawned);
	tree.cleanup();
	console.log('interop-v1: FAIL (watchdog)');
	process.exit(1);
}, 100000);

let stderrText = '';
const transport = new StdioClientTransport({
	command: bin,
	args: serverArgs(tree.root),
	stderr: 'pipe',
});
transport.stderr.on('data', (d) => {
	stderrText += d.toString();
});

// The v1 client calls setProtocolVersion (if the transport has it) with the version the
// server answered in the initialize result.
let negotiated;
transport.setProtocolVersion = (v) => {
	negotiated = v;
};

const client = new Client({ name: 'ctxd-interop-v1', version: '1.0.0' }, { capabilities: {} });
const clientErrors = [];
client.onerror = (e) => clientErrors.push(e);

const adapter = {
	listTools: () => client.listTools(undefined, { timeout: REQUEST_TIMEOUT }),
	call: (name, args) => client.callTool({ name, arguments: args }, undefined,
		{ timeout: REQUEST_TIMEOUT }),
};

await t.section('connect', async () => {
	await withTimeout(client.connect(transport, { timeout: REQUEST_TIMEOUT }), REQUEST_TIMEOUT,
		'initialize');
	const info = client.getServerVersion();
	t.eq('serverInfo.name', info && info.name, 'ctxd');
	t.check('serverInfo.version is a string', typeof info?.version === 'string' &&
		info.version.length > 0, info);
	t.eq('negotiated protocol version', negotiated, '2025-11-25');
	t.check('server advertises tools', client.getServerCapabilities()?.tools !== undefined,
		client.getServerCapabilities());
	t.eq('one server process spawned', spawned.length, 1);
});

if (client.getServerVersion() !== undefined) {
	await t.section('ping', async () => {
		t.eq('ping answers {}', await client.ping({ timeout: REQUEST_TIMEOUT }), {});
	});
	let tools = new Map();
	await t.section('tools/list', async () => {
		tools = await checkTools(t, adapter);
	});
	await checkGoodCalls(t, adapter, tools, tree);
	await checkBadCalls(t, adapter, tree);
	await t.section('concurrency', () => checkConcurrent(t, adapter, tree));
}

await t.section('close and exit', async () => {
	const rec = spawned[0];
	if (!rec)
		return;
	// Exit code only: that ctxd exits at once rather than after its drain limit is checked
	// without timing by tests/protocol/cases/exit_prompt*.session.
	const t0 = Date.now();
	await client.close();
	const exit = await withTimeout(rec.exited, HANG_GUARD, 'server exit');
	t.eq('server exit on stdin EOF: code', exit, { code: 0, signal: null });
	console.error(`interop-v1: server exited ${(rec.exitedAt ?? Date.now()) - t0} ms after close`);
	const kids = childProcesses();
	if (kids !== null)
		t.eq('no server process left', kids.map((k) => k.pid), []);
});

t.eq('client saw no transport/protocol errors', clientErrors.map((e) => String(e.message || e)), []);

clearTimeout(watchdog);
killAll(spawned);
tree.cleanup();
if (t.failed.length > 0 && stderrText)
	console.error(`--- ctxd stderr ---\n${stderrText.slice(0, 4000)}`);
process.exit(t.finish());
