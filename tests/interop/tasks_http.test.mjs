// tasks_http.test.mjs - MCP tasks, ctxd://status, log messages and /metrics over Streamable
// HTTP, with both official TypeScript clients against one `ctxd --http` daemon that requires
// bearer tokens (two read-write tokens, A and B) and makes every eligible call a task at once
// (tasks.after_ms 0):
//   - v1 (@modelcontextprotocol/sdk 1.32.2, StreamableHTTPClientTransport, a 2025-11-25
//     session, token A): the tasks capability; client.experimental.tasks.callToolStream()
//     runs grep as a task to its result; getTask, listTasks, getTaskResult; cancelTask of a
//     running task (held by the test hook "ctxd.test/hold" until cancelled); after
//     setLoggingLevel('debug') the server's record about the call reaches the client's
//     logging handler; ctxd://status read through the session.
//   - v2 (@modelcontextprotocol/client 2.4.0, the stateless 2026-07-28 era): a grep becomes a
//     task (sent raw through the client's own transport: the client's result decoder refuses
//     resultType "task"), tasks/get on later POSTs; a second v2 client with token B gets
//     -32602 "Task not found" from tasks/get and tasks/cancel of A's task, and A's task runs
//     on; tasks/cancel by A; a request whose _meta carries io.modelcontextprotocol/logLevel
//     gets the record on its own stream, before its answer; ctxd://status read in that era.
//   - GET /metrics (with a token): tasks by status, the event-loop lag histogram.
//
// usage: node tasks_http.test.mjs /path/to/ctxd
// Exit 0 when every check passed, 1 otherwise; prints one summary line on stdout.
//
// No check depends on time: every wait is for an answer, a notification, a log line or an
// exit; the watchdog only turns a hang into a failure.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod/v4';

import { HANG_GUARD, Tally, serverBinary, textOf, withTimeout } from './common.mjs';

const MODERN = '2026-07-28';
const EXT = 'io.modelcontextprotocol/tasks';
const TOKEN_A = 'interop-token-a-0123456789abcdef';
const TOKEN_B = 'interop-token-b-0123456789abcdef';
const opts = { timeout: HANG_GUARD };
const bin = serverBinary();
const t = new Tally('interop-tasks-http');
const clientErrors = [];
let stderrText = '';

const base = fs.realpathSync(fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(),
	'ctxd-tasks-http-')));
const root = path.join(base, 'root');
fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
fs.writeFileSync(path.join(root, 'a.txt'), 'needle one\n');
fs.writeFileSync(path.join(root, 'sub', 'b.txt'), 'hay\nneedle two\n');
fs.writeFileSync(path.join(base, 'tokens'), `${TOKEN_A}\n${TOKEN_B}\n`);
fs.writeFileSync(path.join(base, 'ctxd.yaml'), 'tasks: {after_ms: 0}\n' +
	`http: {tokens_file: ${path.join(base, 'tokens')}, metrics: true}\n`);
const cleanup = () => fs.rmSync(base, { recursive: true, force: true });

const proc = spawn(bin, ['--http', '127.0.0.1:0', '--no-landlock', '--log-level', 'info',
	'--config', path.join(base, 'ctxd.yaml'), root],
{ env: { ...process.env, HOME: base, CTXD_TEST_HOOKS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
const watchdog = setTimeout(() => {
	console.error('interop-tasks-http: watchdog expired after 80 s');
	proc.kill('SIGKILL');
	cleanup();
	console.log('interop-tasks-http: FAIL (watchdog)');
	process.exit(1);
}, 80000);
const port = await withTimeout(new Promise((resolve) => {
	proc.stderr.on('data', (chunk) => {
		stderrText += chunk.toString();
		const m = stderrText.match(/\(port (\d+)\)/);
		if (m)
			resolve(m[1]);
	});
}), HANG_GUARD, 'listening');
const url = new URL(`http://127.0.0.1:${port}/mcp`);
const auth = (token) => ({ requestInit: { headers: { Authorization: `Bearer ${token}` } } });

// Drain a callToolStream into the list of its messages.
async function drain(stream) {
	const msgs = [];
	for await (const m of stream)
		msgs.push(m);
	return msgs;
}

// ---- v1: a 2025-11-25 session ----
const v1 = new ClientV1({ name: 'ctxd-tasks-http-v1', version: '1.0.0' }, { capabilities: {} });
v1.onerror = (e) => clientErrors.push(e);
const v1Logs = [];
v1.setNotificationHandler(LoggingMessageNotificationSchema, (n) => v1Logs.push(n.params));

await t.section('v1: a session with the tasks capability', async () => {
	await withTimeout(v1.connect(new HttpV1(url, auth(TOKEN_A)), opts), HANG_GUARD, 'connect v1');
	t.eq('capabilities.tasks', v1.getServerCapabilities()?.tasks,
		{ list: {}, cancel: {}, requests: { tools: { call: {} } } });
	await v1.setLoggingLevel('debug', opts);
	// callToolStream asks for a task only for a tool whose execution.taskSupport it has seen
	const { tools } = await v1.listTools(undefined, opts);
	t.eq('grep may run as a task', tools.find((x) => x.name === 'grep')?.execution?.taskSupport,
		'optional');
});

let taskId;
await t.section('v1: callToolStream runs grep as a task to its result', async () => {
	const msgs = await withTimeout(drain(v1.experimental.tasks.callToolStream(
		{ name: 'grep', arguments: { pattern: 'needle', path: root } }, undefined, opts)),
	HANG_GUARD, 'callToolStream');
	const types = msgs.map((m) => m.type);
	t.eq('first message: taskCreated', types[0], 'taskCreated');
	t.eq('last message: result', types[types.length - 1], 'result');
	taskId = msgs[0].task?.taskId;
	const result = msgs[msgs.length - 1].result;
	t.check('the result holds both matches', /a\.txt:1:1:needle one/.test(textOf(result) || '') &&
		/b\.txt:2:1:needle two/.test(textOf(result) || ''), result);
	t.check('the log record of the call reached the logging handler',
		v1Logs.some((l) => l.level === 'debug' && String(l.data).includes(`became task ${taskId}`)),
		v1Logs);
});

await t.section('v1: getTask, listTasks, getTaskResult', async () => {
	const task = await v1.experimental.tasks.getTask(taskId, opts);
	t.eq('getTask: completed', task.status, 'completed');
	const list = await v1.experimental.tasks.listTasks(undefined, opts);
	t.check('listTasks holds it', list.tasks.some((x) => x.taskId === taskId), list);
	const payload = await v1.experimental.tasks.getTaskResult(taskId, CallToolResultSchema, opts);
	t.check('getTaskResult: the tool result', /needle one/.test(textOf(payload) || ''), payload);
});

await t.section('v1: cancelTask stops a running task', async () => {
	const msgs = [];
	for await (const m of v1.experimental.tasks.callToolStream({
		name: 'grep', arguments: { pattern: 'needle', path: root },
		_meta: { 'ctxd.test/hold': 'until-cancelled' },
	}, undefined, opts)) {
		msgs.push(m);
		if (m.type === 'taskCreated') {
			const c = await v1.experimental.tasks.cancelTask(m.task.taskId, opts);
			t.eq('cancelTask answers the cancelled task', c.status, 'cancelled');
		}
	}
	const last = msgs[msgs.length - 1];
	t.eq('the stream ends with an error', last?.type, 'error');
	t.check('saying the task was cancelled', /cancelled/.test(String(last?.error?.message)), last);
});

await t.section('v1: ctxd://status over HTTP', async () => {
	const r = await v1.readResource({ uri: 'ctxd://status' }, opts);
	const fig = JSON.parse(r.contents[0].text);
	t.check('the daemon\'s figures', fig.sessions >= 1 && fig.tasks_live >= 2 &&
		Number.isInteger(fig.http_connections) && Number.isInteger(fig.requests_in_flight), fig);
});

// ---- v2: the stateless era, tokens A and B ----
const CAPS = { extensions: { [EXT]: {} } };
const loose = z.object({}).loose();
const transports = new Map();
async function connectV2(token) {
	const transport = new HttpV2(url, auth(token));
	const client = new ClientV2({ name: 'ctxd-tasks-http-v2', version: '1.0.0' }, {
		capabilities: CAPS, versionNegotiation: { mode: 'auto', probe: { timeoutMs: HANG_GUARD } },
	});
	client.onerror = (e) => clientErrors.push(e);
	await withTimeout(client.connect(transport, opts), 2 * HANG_GUARD, 'connect v2');
	transports.set(client, transport);
	return client;
}

// Send a tools/call raw through the client's transport (with the envelope the client puts on
// every request, plus `meta`); its answer is taken off the transport, anything else before
// it (notifications) goes on to the client.
let rawId = 0;
function rawCall(client, meta) {
	const transport = transports.get(client);
	const id = `raw-${++rawId}`;
	return withTimeout(new Promise((resolve) => {
		const orig = transport.onmessage;
		transport.onmessage = (m, extra) => {
			if (m.id !== id)
				return orig(m, extra);
			transport.onmessage = orig;
			resolve(m);
		};
		transport.send({
			jsonrpc: '2.0', id, method: 'tools/call', params: {
				name: 'grep', arguments: { pattern: 'needle', path: root }, _meta: {
					'io.modelcontextprotocol/protocolVersion': MODERN,
					'io.modelcontextprotocol/clientCapabilities': CAPS, ...meta,
				},
			},
		});
	}), HANG_GUARD, 'tools/call');
}
const errorOf = (promise) => promise.then(() => undefined, (e) => e);
const taskReq = (client, method, id) => client.request({ method, params: { taskId: id } }, loose, opts);

const a = await connectV2(TOKEN_A);
const b = await connectV2(TOKEN_B);
const v2Logs = [];
a.setNotificationHandler('notifications/message', (n) => v2Logs.push(n.params));

await t.section('v2: a task bound to the token that made it', async () => {
	t.eq('the modern era', a.getNegotiatedProtocolVersion(), MODERN);
	const created = (await rawCall(a, { 'ctxd.test/hold': 'until-cancelled' })).result;
	t.eq('resultType task', created?.resultType, 'task');
	t.eq('token A: tasks/get working', (await taskReq(a, 'tasks/get', created.taskId)).status,
		'working');
	for (const method of ['tasks/get', 'tasks/cancel']) {
		const err = await errorOf(taskReq(b, method, created.taskId));
		t.eq(`token B: ${method} -32602`, err?.code, -32602);
		t.check(`token B: ${method} says Task not found`, /Task not found/.test(String(err?.message)),
			err);
	}
	t.eq('token A: still working after B\'s cancel',
		(await taskReq(a, 'tasks/get', created.taskId)).status, 'working');
	t.eq('token A: tasks/cancel', await taskReq(a, 'tasks/cancel', created.taskId), {});
	t.eq('token A: cancelled', (await taskReq(a, 'tasks/get', created.taskId)).status, 'cancelled');
});

await t.section('v2: _meta logLevel: the record on the request\'s own stream', async () => {
	const answer = await rawCall(a, { 'io.modelcontextprotocol/logLevel': 'debug' });
	const id = answer.result?.taskId;
	t.eq('a task', answer.result?.resultType, 'task');
	t.check('the record came before the answer', v2Logs.some((l) => l.level === 'debug' &&
		String(l.data).includes(`became task ${id}`)), v2Logs);
	const n = v2Logs.length;
	await rawCall(a, {});
	t.eq('without logLevel: no record', v2Logs.length, n);
});

await t.section('v2: ctxd://status in the stateless era', async () => {
	const r = await b.readResource({ uri: 'ctxd://status' }, opts);
	const fig = JSON.parse(r.contents[0].text);
	t.check('the daemon\'s figures', fig.sessions === 1 && fig.tasks_live >= 4, fig);
});

await t.section('GET /metrics: tasks by status, event-loop lag', async () => {
	const res = await fetch(new URL('/metrics', url), { headers: { Authorization: `Bearer ${TOKEN_A}` } });
	const text = await res.text();
	t.eq('200', res.status, 200);
	t.check('ctxd_tasks by status', /^ctxd_tasks\{status="cancelled"\} 2$/m.test(text) &&
		/^ctxd_tasks\{status="completed"\} [1-9]/m.test(text), text.slice(0, 600));
	t.check('the event-loop lag histogram', /^# TYPE ctxd_event_loop_lag_seconds histogram$/m.test(text) &&
		/^ctxd_event_loop_lag_seconds_count \d+$/m.test(text), text.slice(-1200));
});

await t.section('close; SIGTERM ends the daemon', async () => {
	await v1.close();
	await a.close();
	await b.close();
	proc.kill('SIGTERM');
	t.eq('exit 0 after SIGTERM', await withTimeout(exited, HANG_GUARD, 'exit'), { code: 0, signal: null });
});

t.check('no sanitizer report on the server\'s stderr',
	!/AddressSanitizer|LeakSanitizer|runtime error:/.test(stderrText), stderrText.slice(-2000));
t.check('no token in the server\'s log', !stderrText.includes(TOKEN_A) && !stderrText.includes(TOKEN_B));
// a client's close() aborts its own open stream (the session's GET stream) and reports that
t.eq('clients saw no transport/protocol errors', clientErrors.map((e) => String(e.message || e))
	.filter((m) => !/^SSE stream disconnected: AbortError/.test(m)), []);
clearTimeout(watchdog);
proc.kill('SIGKILL');
cleanup();
if (t.failed.length > 0 && stderrText)
	console.error(`--- ctxd stderr ---\n${stderrText.slice(-4000)}`);
process.exit(t.finish());
