// tasks.v1.test.mjs - MCP tasks of 2025-11-25 through the official TypeScript SDK v1 client
// (@modelcontextprotocol/sdk 1.32.2): tools/list marks the long tools execution.taskSupport
// "optional", client.experimental.tasks.callToolStream() runs grep as a task (taskCreated,
// taskStatus polls, the result), getTask/listTasks/getTaskResult, cancelTask of a running
// task (its work is held until cancelled by the test hook "ctxd.test/hold", so the cancel
// always meets it running), and a tool that never is a task answers plainly.
//
// No check depends on time: each step waits for an answer (the client polls at the
// pollInterval the server suggests); the watchdog only turns a hang into a failure.
//
// usage: node tasks.v1.test.mjs /path/to/ctxd
// Exit 0 when every check passed, 1 otherwise; prints one summary line on stdout.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';

import {
	Tally, finishRun, instrumentTransport, serverBinary, startWatchdog, textOf, withTimeout,
} from './common.mjs';

const REQUEST_TIMEOUT = 20000;
const bin = serverBinary();
const t = new Tally('interop-tasks-v1');
const spawned = instrumentTransport(StdioClientTransport);
const clientErrors = [];
let stderrText = '';

const base = fs.realpathSync(fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(),
	'ctxd-tasks-v1-')));
const root = path.join(base, 'root');
fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
fs.writeFileSync(path.join(root, 'a.txt'), 'needle one\n');
fs.writeFileSync(path.join(root, 'sub', 'b.txt'), 'hay\nneedle two\n');
const cleanup = () => fs.rmSync(base, { recursive: true, force: true });
const watchdog = startWatchdog('interop-tasks-v1', 60000, spawned, cleanup);

const transport = new StdioClientTransport({
	command: bin, args: ['--no-landlock', '--log-level', 'warning', root],
	env: { ...process.env, HOME: base, CTXD_TEST_HOOKS: '1' }, stderr: 'pipe',
});
transport.stderr.on('data', (d) => {
	stderrText += d.toString();
});
const client = new Client({ name: 'ctxd-tasks-v1', version: '1.0.0' }, { capabilities: {} });
client.onerror = (e) => clientErrors.push(e);
const opts = { timeout: REQUEST_TIMEOUT };

// Drain a callToolStream into the list of its messages.
async function drain(stream) {
	const msgs = [];
	for await (const m of stream)
		msgs.push(m);
	return msgs;
}

await t.section('connect: the tasks capability', async () => {
	await withTimeout(client.connect(transport, { timeout: REQUEST_TIMEOUT }), 30000, 'connect');
	const caps = client.getServerCapabilities();
	t.eq('capabilities.tasks', caps?.tasks, { list: {}, cancel: {}, requests: { tools: { call: {} } } });
	const { tools } = await client.listTools(undefined, opts);
	const support = Object.fromEntries(tools.map((x) => [x.name, x.execution?.taskSupport]));
	t.eq('grep may run as a task', support.grep, 'optional');
	t.eq('search_files may run as a task', support.search_files, 'optional');
	t.eq('read_text_file never does', support.read_text_file, undefined);
});

let taskId;
await t.section('callToolStream: grep as a task, polled to its result', async () => {
	const msgs = await withTimeout(drain(client.experimental.tasks.callToolStream(
		{ name: 'grep', arguments: { pattern: 'needle', path: root } }, undefined, opts)),
	30000, 'callToolStream');
	const types = msgs.map((m) => m.type);
	t.eq('first message: taskCreated', types[0], 'taskCreated');
	t.eq('last message: result', types[types.length - 1], 'result');
	t.check('taskStatus polls in between', types.slice(1, -1).every((x) => x === 'taskStatus'),
		types);
	taskId = msgs[0].task?.taskId;
	t.check('a task id', typeof taskId === 'string' && taskId.length >= 16, msgs[0]);
	const result = msgs[msgs.length - 1].result;
	t.check('the result holds both matches', /a\.txt:1:1:needle one/.test(textOf(result) || '') &&
		/b\.txt:2:1:needle two/.test(textOf(result) || ''), result);
	t.check('the result is not an error', !result?.isError, result);
});

await t.section('getTask, listTasks, getTaskResult', async () => {
	const task = await client.experimental.tasks.getTask(taskId, opts);
	t.eq('getTask: completed', task.status, 'completed');
	t.check('getTask: pollInterval and ttl', task.pollInterval === 500 && task.ttl > 0, task);
	const list = await client.experimental.tasks.listTasks(undefined, opts);
	t.check('listTasks holds it', list.tasks.some((x) => x.taskId === taskId), list);
	const payload = await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema, opts);
	t.check('getTaskResult: the tool result', /needle one/.test(textOf(payload) || ''), payload);
	t.eq('getTaskResult: related-task _meta',
		payload?._meta?.['io.modelcontextprotocol/related-task'], { taskId });
	let err;
	try {
		await client.experimental.tasks.cancelTask(taskId, opts);
	} catch (e) {
		err = e;
	}
	t.eq('cancelTask of an ended task: -32602', err?.code, -32602);
});

await t.section('cancelTask stops a running task', async () => {
	const stream = client.experimental.tasks.callToolStream({
		name: 'grep', arguments: { pattern: 'needle', path: root },
		_meta: { 'ctxd.test/hold': 'until-cancelled' },
	}, undefined, opts);
	const msgs = [];
	for await (const m of stream) {
		msgs.push(m);
		if (m.type === 'taskCreated') {
			const c = await client.experimental.tasks.cancelTask(m.task.taskId, opts);
			t.eq('cancelTask answers the cancelled task', c.status, 'cancelled');
		}
	}
	const last = msgs[msgs.length - 1];
	t.eq('the stream ends with an error', last?.type, 'error');
	t.check('saying the task was cancelled', /cancelled/.test(String(last?.error?.message)), last);
});

await t.section('a tool that is never a task answers plainly', async () => {
	const msgs = await drain(client.experimental.tasks.callToolStream(
		{ name: 'read_text_file', arguments: { path: path.join(root, 'a.txt') } }, undefined, opts));
	t.eq('one result message', msgs.map((m) => m.type), ['result']);
	t.eq('the file', textOf(msgs[0].result), 'needle one\n');
});

await client.close().catch(() => {});
clearTimeout(watchdog);
process.exit(finishRun(t, spawned, stderrText, clientErrors, cleanup));
