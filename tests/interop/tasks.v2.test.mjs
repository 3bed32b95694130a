// tasks.v2.test.mjs - the tasks extension of 2026-07-28 (io.modelcontextprotocol/tasks)
// through the official TypeScript v2 client (@modelcontextprotocol/client 2.4.0). The client
// declares the extension in its capabilities, which it sends in every request's _meta; it has
// no tasks API of its own (its task types are 2025-11-25 vocabulary) and its result decoder
// refuses resultType "task" for any method, so a tools/call that becomes a task is sent raw
// through the client's own transport (its answer taken off the transport before the client
// sees it), and tasks/get / tasks/cancel go through Client.request() with a loose result
// schema. The server runs with tasks.after_ms 0: an eligible call is a task at once.
// Checked: server/discover advertises the extension; a grep becomes a task (resultType
// "task"), tasks/get sees it working (its work is held until the next frame by the test hook
// "ctxd.test/hold"), then completed with the tool's result (polled at the pollIntervalMs the
// server suggests); tasks/cancel stops a running task; a tool that never is a task answers
// through Client.callTool(); a second client that did not declare the extension gets plain
// answers and -32021 from tasks/get.
//
// usage: node tasks.v2.test.mjs /path/to/ctxd
// Exit 0 when every check passed, 1 otherwise; prints one summary line on stdout.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import * as z from 'zod/v4';

import {
	Tally, finishRun, instrumentTransport, serverBinary, startWatchdog, textOf, withTimeout,
} from './common.mjs';

const MODERN = '2026-07-28';
const EXT = 'io.modelcontextprotocol/tasks';
const REQUEST_TIMEOUT = 20000;
const bin = serverBinary();
const t = new Tally('interop-tasks-v2');
const spawned = instrumentTransport(StdioClientTransport);
const clientErrors = [];
let stderrText = '';

const base = fs.realpathSync(fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(),
	'ctxd-tasks-v2-')));
const root = path.join(base, 'root');
fs.mkdirSync(root);
fs.writeFileSync(path.join(root, 'a.txt'), 'needle one\n');
const config = path.join(base, 'ctxd.yaml');
fs.writeFileSync(config, 'tasks: {after_ms: 0}\n');
const cleanup = () => fs.rmSync(base, { recursive: true, force: true });
const watchdog = startWatchdog('interop-tasks-v2', 60000, spawned, cleanup);

const transports = new Map();

async function connect(capabilities) {
	const transport = new StdioClientTransport({
		command: bin, args: ['--no-landlock', '--log-level', 'warning', '--config', config, root],
		env: { ...process.env, HOME: base, CTXD_TEST_HOOKS: '1' }, stderr: 'pipe',
	});
	transport.stderr.on('data', (d) => {
		stderrText += d.toString();
	});
	const client = new Client({ name: 'ctxd-tasks-v2', version: '1.0.0' }, {
		capabilities, versionNegotiation: { mode: 'auto', probe: { timeoutMs: 30000 } },
	});
	client.onerror = (e) => clientErrors.push(e);
	await withTimeout(client.connect(transport, { timeout: REQUEST_TIMEOUT }), 30000, 'connect');
	transports.set(client, transport);
	return client;
}

// Send a request raw through the client's transport, with the _meta the client itself puts
// on every request; the answer (result or error) is taken off the transport.
let rawId = 0;
function rawRequest(client, method, params, capabilities) {
	const transport = transports.get(client);
	const id = `raw-${++rawId}`;
	const meta = {
		'io.modelcontextprotocol/protocolVersion': MODERN,
		'io.modelcontextprotocol/clientCapabilities': capabilities,
		...(params._meta || {}),
	};
	return withTimeout(new Promise((resolve) => {
		const orig = transport.onmessage;
		transport.onmessage = (m, extra) => {
			if (m.id !== id)
				return orig(m, extra);
			transport.onmessage = orig;
			resolve(m);
		};
		transport.send({ jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } });
	}), REQUEST_TIMEOUT, method);
}

const opts = { timeout: REQUEST_TIMEOUT };
const loose = z.object({}).loose();
const CAPS = { extensions: { [EXT]: {} } };
const grepTask = async (meta) => (await rawRequest(client, 'tools/call', {
	name: 'grep', arguments: { pattern: 'needle', path: root }, _meta: meta,
}, CAPS)).result;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// The error a request ends with (undefined when it succeeds).
const errorOf = (promise) => promise.then(() => undefined, (e) => e);

const client = await connect(CAPS);

await t.section('server/discover advertises the extension', async () => {
	t.eq('negotiated protocol version', client.getNegotiatedProtocolVersion(), MODERN);
	t.eq('capabilities.extensions tasks', client.getServerCapabilities()?.extensions?.[EXT], {});
});

await t.section('a grep becomes a task, polled to completion', async () => {
	const created = await grepTask({ 'ctxd.test/hold': true });
	t.eq('resultType task', created.resultType, 'task');
	t.eq('status working', created.status, 'working');
	t.check('taskId, createdAt, ttlMs, pollIntervalMs', typeof created.taskId === 'string' &&
		typeof created.createdAt === 'string' && created.ttlMs > 0 && created.pollIntervalMs > 0,
	created);
	const get = () => client.request({ method: 'tasks/get', params: { taskId: created.taskId } },
		loose, opts);
	let task = await get(); // the next frame: the work waits for it, so it is still running
	t.eq('first poll: working', task.status, 'working');
	while (task.status === 'working') {
		await sleep(task.pollIntervalMs); // as the spec asks a client to poll
		task = await get();
	}
	t.eq('then completed', task.status, 'completed');
	t.check('with the tool result', /a\.txt:1:1:needle one/.test(textOf(task.result) || ''), task);
});

await t.section('tasks/cancel stops a running task', async () => {
	const created = await grepTask({ 'ctxd.test/hold': 'until-cancelled' });
	t.eq('a task', created.resultType, 'task');
	const ack = await client.request({ method: 'tasks/cancel', params: { taskId: created.taskId } },
		loose, opts);
	t.eq('empty acknowledgement (the client strips resultType)', ack, {});
	const task = await client.request({ method: 'tasks/get', params: { taskId: created.taskId } },
		loose, opts);
	t.eq('cancelled', task.status, 'cancelled');
	const err = await errorOf(client.request({ method: 'tasks/get', params: { taskId: 'f'.repeat(32) } },
		loose, opts));
	t.eq('unknown taskId: -32602', err?.code, -32602);
});

await t.section('a tool that never is a task: Client.callTool', async () => {
	const r = await client.callTool({ name: 'read_text_file', arguments: { path: path.join(root, 'a.txt') } }, opts);
	t.eq('the file', textOf(r), 'needle one\n');
});

const plain = await connect({});
await t.section('a client that did not declare the extension', async () => {
	const r = await plain.callTool({ name: 'grep', arguments: { pattern: 'needle', path: root } }, opts);
	t.check('Client.callTool answers the grep plainly', /needle one/.test(textOf(r) || ''), r);
	const err = await errorOf(plain.request({ method: 'tasks/get', params: { taskId: 'f'.repeat(32) } },
		loose, opts));
	t.eq('tasks/get: -32021', err?.code, -32021);
});

await client.close().catch(() => {});
await plain.close().catch(() => {});
clearTimeout(watchdog);
process.exit(finishRun(t, spawned, stderrText, clientErrors, cleanup));
