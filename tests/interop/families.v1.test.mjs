// families.v1.test.mjs - the three tool families (file tools, Agent Skills, memory bank)
// end to end through the official TypeScript SDK v1 client (@modelcontextprotocol/sdk
// 1.32.2, `initialize` handshake, 2025-11-25), on a copy of examples/workspace.
//
// usage: node families.v1.test.mjs /path/to/ctxd
// Exit 0 when every check passed, 1 otherwise; prints one summary line on stdout.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
	PromptListChangedNotificationSchema, ResourceListChangedNotificationSchema,
	ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';

import {
	HANG_GUARD, Tally, childProcesses, instrumentTransport, killAll, serverBinary, withTimeout,
} from './common.mjs';
import {
	checkEscapes, checkFileTools, checkMemoryBank, checkReadOnly, checkSkills, checkToolList,
	makeWorkspace, serverArgs,
} from './families_common.mjs';

const REQUEST_TIMEOUT = HANG_GUARD;
const bin = serverBinary();
const t = new Tally('interop-families-v1');
const ws = makeWorkspace();
const spawned = instrumentTransport(StdioClientTransport);
const clientErrors = [];
let stderrText = '';

const watchdog = setTimeout(() => {
	console.error('interop-families-v1: watchdog expired after 55 s');
	killAll(spawned);
	ws.cleanup();
	console.log('interop-families-v1: FAIL (watchdog)');
	process.exit(1);
}, 55000);

const passthrough = z.object({}).passthrough();

async function connect(extraArgs) {
	const transport = new StdioClientTransport({
		command: bin, args: serverArgs(ws, extraArgs), env: ws.env, stderr: 'pipe',
	});
	transport.stderr.on('data', (d) => {
		stderrText += d.toString();
	});
	const client = new Client({ name: 'ctxd-families-v1', version: '1.0.0' }, { capabilities: {} });
	client.onerror = (e) => clientErrors.push(e);
	const notes = [];
	for (const schema of [ToolListChangedNotificationSchema, PromptListChangedNotificationSchema,
		ResourceListChangedNotificationSchema]) {
		client.setNotificationHandler(schema, (n) => {
			notes.push(n.method);
		});
	}
	await withTimeout(client.connect(transport, { timeout: REQUEST_TIMEOUT }), REQUEST_TIMEOUT, 'initialize');
	const opts = { timeout: REQUEST_TIMEOUT };
	const adapter = {
		legacy: true,
		notes,
		listTools: () => client.listTools(undefined, opts),
		call: (name, args) => client.callTool({ name, arguments: args }, undefined, opts),
		request: (method, params) => client.request({ method, params }, passthrough, opts),
		listPrompts: () => client.listPrompts(undefined, opts),
		getPrompt: (name, args) => client.getPrompt({ name, arguments: args }, opts),
		readResource: (uri) => client.readResource({ uri }, opts),
	};
	return { client, adapter, rec: spawned[spawned.length - 1] };
}

async function closeAndCheck(conn, label) {
	const t0 = Date.now();
	await conn.client.close();
	const exit = await withTimeout(conn.rec.exited, HANG_GUARD, `${label} exit`);
	t.eq(`${label}: exit 0 on stdin EOF`, exit, { code: 0, signal: null });
	// no time limit here: exit_prompt*.session checks without timing that ctxd does not
	// wait for its drain limit
	console.error(`${t.label}: ${label}: exit ${Date.now() - t0} ms after close`);
}

let conn;
await t.section('connect', async () => {
	conn = await connect([]);
	t.eq('negotiated a legacy session', conn.client.getServerVersion()?.name, 'ctxd');
	t.check('skills extension advertised', conn.client.getServerCapabilities()?.extensions?.[
		'io.modelcontextprotocol/skills'] !== undefined, conn.client.getServerCapabilities());
});
if (conn) {
	let tools = new Map();
	await t.section('tools/list', async () => {
		tools = await checkToolList(t, conn.adapter);
	});
	await checkFileTools(t, conn.adapter, tools, ws);
	await checkEscapes(t, conn.adapter, ws);
	await checkSkills(t, conn.adapter, tools, ws);
	await checkMemoryBank(t, conn.adapter, tools, ws);
	await t.section('close', () => closeAndCheck(conn, 'session'));
}

await t.section('--read-only server', async () => {
	const ro = await connect(['--read-only']);
	await checkReadOnly(t, ro.adapter, ws);
	await closeAndCheck(ro, 'read-only session');
});

const kids = childProcesses();
if (kids !== null)
	t.eq('no server process left', kids.map((k) => k.pid), []);
t.check('no sanitizer report on the server\'s stderr',
	!/AddressSanitizer|LeakSanitizer|runtime error:/.test(stderrText), stderrText.slice(-2000));
t.eq('client saw no transport/protocol errors', clientErrors.map((e) => String(e.message || e)), []);

clearTimeout(watchdog);
killAll(spawned);
ws.cleanup();
if (t.failed.length > 0 && stderrText)
	console.error(`--- ctxd stderr ---\n${stderrText.slice(0, 4000)}`);
process.exit(t.finish());
