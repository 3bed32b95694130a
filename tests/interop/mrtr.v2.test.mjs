// mrtr.v2.test.mjs - the client's roots without server requests (MCP 2026-07-28
// basic/patterns/mrtr) through the official TypeScript v2 client
// (@modelcontextprotocol/client 2.4.0), and ctxd://status in that era.
//
// ctxd runs with no directory. The client declares the roots capability and registers a
// roots/list handler; its public callTool()/readResource() meet `input_required`, and the
// client's own multi-round-trip driver answers the embedded roots/list with that handler and
// retries with inputResponses and the byte-exact requestState: the call succeeds inside the
// root and is refused outside it. A client that declares no roots gets no input request (the
// refusal naming the fix). resources/read ctxd://status answers its figures.
//
// No sleeps: every step is a request and its answer (a watchdog fails a hang).
//
// usage: node mrtr.v2.test.mjs /path/to/ctxd
// Exit 0 when every check passed, 1 otherwise; prints one summary line on stdout.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

import {
	Tally, finishRun, instrumentTransport, killAll, serverBinary, textOf, withTimeout,
} from './common.mjs';

const MODERN = '2026-07-28';
const REQUEST_TIMEOUT = 20000;
const bin = serverBinary();
const t = new Tally('interop-mrtr-v2');
const spawned = instrumentTransport(StdioClientTransport);
const clientErrors = [];
let stderrText = '';

const base = fs.realpathSync(fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(),
	'ctxd-mrtr-')));
const root = path.join(base, 'root');
const outside = path.join(base, 'root-outside');
fs.mkdirSync(root);
fs.mkdirSync(outside);
fs.writeFileSync(path.join(root, 'a.txt'), 'hello\n');
fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret\n');

const cleanup = () => fs.rmSync(base, { recursive: true, force: true });
const watchdog = setTimeout(() => {
	console.error('interop-mrtr-v2: watchdog expired after 60 s');
	killAll(spawned);
	cleanup();
	console.log('interop-mrtr-v2: FAIL (watchdog)');
	process.exit(1);
}, 60000);

// One client on its own ctxd (no directory); `roots` (an array of directories) or null for a
// client without the roots capability. Returns { client, asked } (asked: roots/list handled).
async function connect(roots) {
	const transport = new StdioClientTransport({
		command: bin, args: ['--log-level', 'warning'], env: { ...process.env, HOME: base },
		stderr: 'pipe',
	});
	transport.stderr.on('data', (d) => {
		stderrText += d.toString();
	});
	const client = new Client({ name: 'ctxd-mrtr-v2', version: '1.0.0' }, {
		capabilities: roots ? { roots: {} } : {},
		versionNegotiation: { mode: 'auto', probe: { timeoutMs: 30000 } },
	});
	client.onerror = (e) => clientErrors.push(e);
	const state = { client, asked: 0 };
	if (roots) {
		client.setRequestHandler('roots/list', () => {
			state.asked++;
			return { roots: roots.map((d) => ({ uri: `file://${d}`, name: path.basename(d) })) };
		});
	}
	await withTimeout(client.connect(transport, { timeout: REQUEST_TIMEOUT }), 30000, 'connect');
	t.eq('negotiated protocol version', client.getNegotiatedProtocolVersion(), MODERN);
	return state;
}

const opts = { timeout: REQUEST_TIMEOUT };
const read = (client, p) => client.callTool({ name: 'read_text_file', arguments: { path: p } }, opts);

await t.section('roots through input_required, fulfilled by the client itself', async () => {
	const s = await connect([root]);
	const r = await read(s.client, path.join(root, 'a.txt'));
	t.eq('read inside the root', [r.isError, textOf(r)], [undefined, 'hello\n']);
	t.eq('the client was asked for its roots once', s.asked, 1);
	const rel = await read(s.client, 'a.txt');
	t.eq('a relative path resolves in the root', textOf(rel), 'hello\n');
	const out = await read(s.client, path.join(outside, 'secret.txt'));
	t.check('outside the root: refused', out.isError === true && !textOf(out).includes('secret\n'),
		out);
	const res = await s.client.readResource({ uri: `file://${path.join(root, 'a.txt')}` }, opts);
	t.eq('resources/read through the same round trip', res.contents[0].text, 'hello\n');
	t.eq('asked once per call', s.asked, 4);
	const st = await s.client.readResource({ uri: 'ctxd://status' }, opts);
	const fig = JSON.parse(st.contents[0].text);
	t.check('ctxd://status figures', Number.isInteger(fig.uptime_ms) &&
		Number.isInteger(fig.requests_in_flight) && Number.isInteger(fig.pool_workers) &&
		Number.isInteger(fig.bytes_owed) && 'loop_lag_p99_ms' in fig, fig);
	t.eq('ctxd://status asks for no roots', s.asked, 4);
	await s.client.close();
});

await t.section('a client without the roots capability: no input request', async () => {
	const s = await connect(null);
	const r = await read(s.client, path.join(root, 'a.txt'));
	t.check('refused, naming the fix', r.isError === true &&
		textOf(r).includes('no directory is configured'), r);
	await s.client.close();
});

clearTimeout(watchdog);
process.exit(finishRun(t, spawned, stderrText, clientErrors, cleanup));
