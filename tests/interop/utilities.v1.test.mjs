// utilities.v1.test.mjs - protocol utilities through the official TypeScript SDK v1 client
// (@modelcontextprotocol/sdk 1.32.2, legacy era 2025-11-25): cancellation of a slow search
// on a generated 100,000-file tree, progress, pagination (limits.page_size: 2), file://
// resources with subscriptions, skill prompts, completion, and client roots.
//
// No check depends on time (see utilities.mjs): checks that nothing arrives late run once
// the server has exited.
//
// usage: node utilities.v1.test.mjs /path/to/ctxd   (or CTXD_BIN=... node ...)
// Exit 0 when every check passed, 1 otherwise. Parts whose provider is not wired in the
// binary are skipped with a printed SKIP line (listed again in the summary).

import fs from 'node:fs';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
	ListRootsRequestSchema, ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

import {
	HANG_GUARD, Tally, instrumentTransport, killAll, reapAll, short, textOf, withTimeout,
} from './common.mjs';
import {
	BIG_FILES, BIG_SHAPE, checkCancel, checkPagination, checkProgress, checkPrompts, checkResources, fileUri,
	bigTree, eventWaiter, makeWorkspace, rawFullList, serverEnv, tapTransport, tmpBase, writeConfig,
} from './utilities.mjs';

const REQUEST_TIMEOUT = 30000;
const bin = process.argv[2] || process.env.CTXD_BIN;
if (!bin || !fs.existsSync(bin)) {
	console.error('usage: node utilities.v1.test.mjs /path/to/ctxd');
	process.exit(2);
}
const t = new Tally('interop-utilities-v1');
const spawned = instrumentTransport(StdioClientTransport);
const base = tmpBase('interop-util-v1');
const cleanup = () => fs.rmSync(base, { recursive: true, force: true });

const watchdog = setTimeout(() => {
	console.error('interop-utilities-v1: watchdog expired after 280 s');
	killAll(spawned);
	cleanup();
	console.log('interop-utilities-v1: FAIL (watchdog)');
	process.exit(1);
}, 280000);

let stderrText = '';
const clientErrors = [];

async function connect(args, capabilities = {}, setup = () => {}) {
	const transport = new StdioClientTransport({ command: bin, args, env: serverEnv(), stderr: 'pipe' });
	transport.stderr.on('data', (d) => {
		stderrText += d.toString();
	});
	const client = new Client({ name: 'ctxd-interop-utilities-v1', version: '1.0.0' }, { capabilities });
	client.onerror = (e) => clientErrors.push(e);
	setup(client);
	await withTimeout(client.connect(transport, { timeout: REQUEST_TIMEOUT }), REQUEST_TIMEOUT, 'connect');
	return { client, transport, tap: tapTransport(transport) };
}

function adapterFor(client, tap, transport) {
	const o = { timeout: REQUEST_TIMEOUT };
	const listers = {
		'tools/list': (p) => client.listTools(p, o),
		'resources/list': (p) => client.listResources(p, o),
		'resources/templates/list': (p) => client.listResourceTemplates(p, o),
		'prompts/list': (p) => client.listPrompts(p, o),
	};
	const updated = [];
	client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
		for (const cb of updated)
			cb(n.params.uri);
	});
	return {
		modern: false,
		tap,
		pid: transport.pid,
		caps: () => client.getServerCapabilities() ?? {},
		call: (name, args, { meta, ...opts } = {}) => client.callTool(
			{ name, arguments: args, ...(meta ? { _meta: meta } : {}) }, undefined, { ...o, ...opts }),
		alive: async () => {
			const r = await client.ping(o);
			return JSON.stringify(r) === '{}' ? true : r;
		},
		listPage: (method, cursor) => listers[method](cursor === undefined ? undefined : { cursor }),
		readResource: (uri) => client.readResource({ uri }, o),
		subscribe: (uri) => client.subscribeResource({ uri }, o),
		unsubscribe: (uri) => client.unsubscribeResource({ uri }, o),
		onUpdated: (cb) => updated.push(cb),
		listPrompts: async () => {
			const prompts = [];
			let cursor;
			do {
				const r = await client.listPrompts(cursor === undefined ? undefined : { cursor }, o);
				prompts.push(...r.prompts);
				cursor = r.nextCursor;
			} while (cursor !== undefined);
			return { prompts };
		},
		getPrompt: (name, args) => client.getPrompt({ name, arguments: args }, o),
		complete: (ref, argument) => client.complete({ ref, argument }, o),
	};
}

// ---------------------------------------------------------------------------------------
// 1. The big tree, the workspace, page_size 2

const { ws, png } = makeWorkspace(base);
const config = writeConfig(base, 2);
let big;
await t.section('the shared 100,000-file tree', async () => {
	const t0 = Date.now();
	big = bigTree();
	console.error(`interop-utilities-v1: ${BIG_SHAPE} (${BIG_FILES} files) ready in ${Date.now() - t0} ms: ${big}`);
});
const mainArgs = ['--log-level', 'warning', '--config', config, ws, big];
const refArgs = ['--log-level', 'warning', ws, big];

let reference = { tools: [], resources: [] };
await t.section('reference lists (default page size)', async () => {
	const tl = await rawFullList(bin, refArgs, 'tools/list', 'tools');
	reference.tools = tl.items;
	if (tl.caps.resources)
		reference.resources = (await rawFullList(bin, refArgs, 'resources/list', 'resources')).items;
	console.error(`interop-utilities-v1: capabilities ${short(tl.caps)}`);
});

let main;
await t.section('connect (page_size 2)', async () => {
	main = await connect(mainArgs);
	t.eq('negotiated protocol', main.client.getServerVersion()?.name, 'ctxd');
});

if (main) {
	const a = adapterFor(main.client, main.tap, main.transport);
	await t.section('progress', () => checkProgress(t, a, big));
	await t.section('cancel on first progress', () => checkCancel(t, a, big, 'first-progress'));
	await t.section('cancel right after sending', () => checkCancel(t, a, big, 'immediate'));
	await checkPagination(t, a, reference.tools.map((x) => x.name));
	await checkResources(t, a, ws, png, reference.resources);
	await checkPrompts(t, a, ws);
	await t.section('close', async () => {
		await main.client.close();
	});
	await t.runDeferred();
}

// ---------------------------------------------------------------------------------------
// 2. Roots: narrowing, no widening or emptying, list_changed, and roots as the set when none
// configured

const D = path.join(base, 'D');
const OUT = path.join(base, 'D-outside');
fs.mkdirSync(path.join(D, 'sub'), { recursive: true });
fs.mkdirSync(OUT);
fs.writeFileSync(path.join(D, 'top.txt'), 'top\n');
fs.writeFileSync(path.join(D, 'sub', 'in.txt'), 'in sub\n');
fs.writeFileSync(path.join(OUT, 'o.txt'), 'outside\n');

async function allowed(client) {
	const r = await client.callTool({ name: 'list_allowed_directories', arguments: {} }, undefined,
		{ timeout: REQUEST_TIMEOUT });
	return (r.structuredContent?.directories ?? []).map((d) => d.path).sort();
}

async function readOk(client, p) {
	const r = await client.callTool({ name: 'read_text_file', arguments: { path: p } }, undefined,
		{ timeout: REQUEST_TIMEOUT });
	return r.isError !== true ? textOf(r) : null;
}

// Wait until the server asked for roots `n` times, then until the allowed set is `want`
// (the server applies a roots answer after it arrives: ask until it shows; every answer
// on the way is checked never to include the outside directory).
async function settle(client, state, n, want, what) {
	await state.ev.until(`${what}: roots/list #${n}`, () => state.calls >= n).catch(() => {});
	t.check(`${what}: ctxd sent roots/list (#${n})`, state.calls >= n, state.calls);
	let got;
	const seen = new Set();
	const end = Date.now() + HANG_GUARD;
	do {
		got = await allowed(client);
		for (const g of got)
			seen.add(g);
		if (JSON.stringify(got) === JSON.stringify([...want].sort()))
			break;
	} while (Date.now() < end);
	t.eq(`${what}: allowed directories`, got, [...want].sort());
	t.check(`${what}: the outside directory never became allowed`, !seen.has(OUT), [...seen]);
}

function rootsClient(args, roots) {
	const state = { calls: 0, roots, ev: eventWaiter() };
	return connect(args, { roots: { listChanged: true } }, (client) => {
		client.setRequestHandler(ListRootsRequestSchema, () => {
			state.calls++;
			state.ev.poke();
			return { roots: state.roots.map((p) => ({ uri: fileUri(p), name: path.basename(p) })) };
		});
	}).then((c) => ({ ...c, state }));
}

await t.section('roots narrow configured directories', async () => {
	const c = await rootsClient(['--log-level', 'warning', D], [path.join(D, 'sub')]);
	const { client, state } = c;
	await settle(client, state, 1, [path.join(D, 'sub')], 'client roots [D/sub]');
	t.eq('narrowed: file in D/sub readable', await readOk(client, path.join(D, 'sub', 'in.txt')), 'in sub\n');
	t.eq('narrowed: file in D outside D/sub refused', await readOk(client, path.join(D, 'top.txt')), null);

	state.roots = [OUT];
	const before = state.calls;
	await client.sendRootsListChanged();
	// disjoint roots never empty a configured set: D stays, the outside root is not allowed
	await settle(client, state, before + 1, [D], 'client roots [outside] (no widening)');
	t.eq('no widening: outside file refused', await readOk(client, path.join(OUT, 'o.txt')), null);

	state.roots = [D, OUT];
	const b2 = state.calls;
	await client.sendRootsListChanged();
	await settle(client, state, b2 + 1, [D], 'client roots [D, outside]');
	t.eq('back to D: top.txt readable', await readOk(client, path.join(D, 'top.txt')), 'top\n');
	t.eq('back to D: outside still refused', await readOk(client, path.join(OUT, 'o.txt')), null);
	await client.close();
});

await t.section('roots become the set when no directory is configured', async () => {
	const c = await rootsClient(['--log-level', 'warning'], [path.join(D, 'sub')]);
	const { client, state } = c;
	await settle(client, state, 1, [path.join(D, 'sub')], 'no configured dir, client roots [D/sub]');
	t.eq('client-roots mode: file in the root readable',
		await readOk(client, path.join(D, 'sub', 'in.txt')), 'in sub\n');
	t.eq('client-roots mode: file outside the root refused',
		await readOk(client, path.join(D, 'top.txt')), null);
	await client.close();
});

// ---------------------------------------------------------------------------------------

// A progress notice racing the client's own abort is reported by the SDK as an unknown
// token; checkCancel verifies on the wire that none came after the server read the cancel.
const errs = clientErrors.map((e) => String(e.message || e))
	.filter((m) => !/progress notification for an unknown token/.test(m));
t.eq('client saw no transport/protocol errors', errs, []);

clearTimeout(watchdog);
await reapAll(spawned);
cleanup();
if (t.skipped)
	console.log(`interop-utilities-v1: skipped parts: ${t.skipped.join('; ')}`);
if (t.failed.length > 0 && stderrText)
	console.error(`--- ctxd stderr ---\n${stderrText.slice(0, 4000)}`);
process.exit(t.finish());
