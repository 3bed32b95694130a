// utilities.v2.test.mjs - protocol utilities through the official TypeScript v2 client
// (@modelcontextprotocol/client 2.4.0). With versionNegotiation 'auto' the client settles
// on the modern stateless era (2026-07-28) against ctxd: cancellation of a slow search on a
// generated 100,000-file tree, progress, pagination (limits.page_size: 2; also the
// client's own page aggregation), file:// resources (not found is -32602 there), skill
// prompts and completion. The same client in its default legacy mode then checks
// resources/subscribe (legacy only). Roots are not part of the modern era (see the v1 test).
//
// usage: node utilities.v2.test.mjs /path/to/ctxd   (or CTXD_BIN=... node ...)
// Exit 0 when every check passed, 1 otherwise. Parts whose provider is not wired in the
// binary are skipped with a printed SKIP line (listed again in the summary).

import fs from 'node:fs';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

import {
	HANG_GUARD, Tally, instrumentTransport, killAll, reapAll, short, withTimeout,
} from './common.mjs';
import {
	BIG_FILES, BIG_SHAPE, checkCancel, checkPagination, checkProgress, checkPrompts, checkResources,
	bigTree, makeWorkspace, rawFullList, serverEnv, tapTransport, tmpBase, writeConfig,
} from './utilities.mjs';

const REQUEST_TIMEOUT = 30000;
const bin = process.argv[2] || process.env.CTXD_BIN;
if (!bin || !fs.existsSync(bin)) {
	console.error('usage: node utilities.v2.test.mjs /path/to/ctxd');
	process.exit(2);
}
const t = new Tally('interop-utilities-v2');
const spawned = instrumentTransport(StdioClientTransport);
const base = tmpBase('interop-util-v2');
const cleanup = () => fs.rmSync(base, { recursive: true, force: true });

const watchdog = setTimeout(() => {
	console.error('interop-utilities-v2: watchdog expired after 280 s');
	killAll(spawned);
	cleanup();
	console.log('interop-utilities-v2: FAIL (watchdog)');
	process.exit(1);
}, 280000);

let stderrText = '';
const clientErrors = [];

async function connect(args, mode) {
	const transport = new StdioClientTransport({ command: bin, args, env: serverEnv(), stderr: 'pipe' });
	transport.stderr.on('data', (d) => {
		stderrText += d.toString();
	});
	const opts = { capabilities: {} };
	if (mode === 'auto')
		opts.versionNegotiation = { mode: 'auto', probe: { timeoutMs: HANG_GUARD } };
	const client = new Client({ name: `ctxd-interop-utilities-v2-${mode}`, version: '1.0.0' }, opts);
	client.onerror = (e) => clientErrors.push(e);
	await withTimeout(client.connect(transport, { timeout: REQUEST_TIMEOUT }), 2 * HANG_GUARD,
		'connect');
	return { client, transport, tap: tapTransport(transport) };
}

function adapterFor(client, tap, transport) {
	const o = { timeout: REQUEST_TIMEOUT };
	const modern = client.getProtocolEra() === 'modern';
	const updated = [];
	if (!modern) {
		client.setNotificationHandler('notifications/resources/updated', (n) => {
			for (const cb of updated)
				cb(n.params.uri);
		});
	}
	return {
		modern,
		tap,
		pid: transport.pid,
		caps: () => client.getServerCapabilities() ?? {},
		call: (name, args, { meta, ...opts } = {}) => client.callTool(
			{ name, arguments: args, ...(meta ? { _meta: meta } : {}) }, { ...o, ...opts }),
		// The modern era has no ping: any cheap request shows the server is alive.
		alive: async () => {
			const r = await client.callTool({ name: 'list_allowed_directories', arguments: {} }, o);
			return r && r.isError !== true ? true : r;
		},
		listPage: (method, cursor) => client.request({ method, params: cursor === undefined ? {} : { cursor } }, o),
		readResource: (uri) => client.readResource({ uri }, { ...o, cacheMode: 'bypass' }),
		subscribe: (uri) => client.subscribeResource({ uri }, o),
		unsubscribe: (uri) => client.unsubscribeResource({ uri }, o),
		onUpdated: (cb) => updated.push(cb),
		// The client itself follows nextCursor here (no cursor given: all pages).
		listPrompts: () => client.listPrompts(undefined, { ...o, cacheMode: 'bypass' }),
		getPrompt: (name, args) => client.getPrompt({ name, arguments: args }, o),
		complete: (ref, argument) => client.complete({ ref, argument }, o),
	};
}

// ---------------------------------------------------------------------------------------

const { ws, png } = makeWorkspace(base);
const config = writeConfig(base, 2);
let big;
await t.section('the shared 100,000-file tree', async () => {
	const t0 = Date.now();
	big = bigTree();
	console.error(`interop-utilities-v2: ${BIG_SHAPE} (${BIG_FILES} files) ready in ${Date.now() - t0} ms: ${big}`);
});
const mainArgs = ['--log-level', 'warning', '--config', config, ws, big];
const refArgs = ['--log-level', 'warning', ws, big];

const reference = { tools: [], resources: [] };
await t.section('reference lists (default page size)', async () => {
	const tl = await rawFullList(bin, refArgs, 'tools/list', 'tools');
	reference.tools = tl.items;
	if (tl.caps.resources)
		reference.resources = (await rawFullList(bin, refArgs, 'resources/list', 'resources')).items;
	console.error(`interop-utilities-v2: capabilities ${short(tl.caps)}`);
});

let modern;
await t.section('connect (auto: modern era, page_size 2)', async () => {
	modern = await connect(mainArgs, 'auto');
	t.eq('auto: protocol era', modern.client.getProtocolEra(), 'modern');
	t.eq('auto: negotiated version', modern.client.getNegotiatedProtocolVersion(), '2026-07-28');
});

if (modern) {
	const { client } = modern;
	const a = adapterFor(client, modern.tap, modern.transport);
	await t.section('progress', () => checkProgress(t, a, big));
	await t.section('cancel on first progress', () => checkCancel(t, a, big, 'first-progress'));
	await t.section('cancel right after sending', () => checkCancel(t, a, big, 'immediate'));
	await checkPagination(t, a, reference.tools.map((x) => x.name));
	await t.section('the client aggregates pages itself', async () => {
		const { tools } = await client.listTools(undefined, { timeout: REQUEST_TIMEOUT, cacheMode: 'bypass' });
		t.eq('listTools(): all pages joined by the client', tools.map((x) => x.name).sort(),
			reference.tools.map((x) => x.name).sort());
		if (a.caps().resources) {
			const { resources } = await client.listResources(undefined,
				{ timeout: REQUEST_TIMEOUT, cacheMode: 'bypass' });
			t.eq('listResources(): all pages joined by the client', resources.map((x) => x.uri).sort(),
				reference.resources.map((x) => x.uri).sort());
		}
	});
	await checkResources(t, a, ws, png, reference.resources);
	await checkPrompts(t, a, ws);
	await t.section('close (modern)', () => client.close());
	await t.runDeferred();
}

// The same client in its default legacy mode: resources/subscribe exists only there.
await t.section('legacy-mode client: resources and subscriptions', async () => {
	const legacy = await connect(['--log-level', 'warning', ws], 'legacy');
	t.eq('legacy mode: negotiated version', legacy.client.getNegotiatedProtocolVersion(), '2025-11-25');
	const a = adapterFor(legacy.client, legacy.tap, legacy.transport);
	const wsOnly = a.caps().resources
		? (await rawFullList(bin, ['--log-level', 'warning', ws], 'resources/list', 'resources')).items
		: [];
	await checkResources(t, a, ws, png, wsOnly);
	await legacy.client.close();
	await t.runDeferred();
});

// A progress notice racing the client's own abort is reported by the SDK as an unknown
// token; checkCancel verifies on the wire that none came after the server read the cancel.
const errs = clientErrors.map((e) => String(e.message || e))
	.filter((m) => !/progress notification for an unknown token/.test(m));
t.eq('client saw no transport/protocol errors', errs, []);

clearTimeout(watchdog);
await reapAll(spawned);
cleanup();
if (t.skipped)
	console.log(`interop-utilities-v2: skipped parts: ${t.skipped.join('; ')}`);
if (t.failed.length > 0 && stderrText)
	console.error(`--- ctxd stderr ---\n${stderrText.slice(0, 4000)}`);
process.exit(t.finish());
