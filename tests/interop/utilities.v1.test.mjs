// utilities.v1.test.mjs - protocol utilities through the official TypeScript SDK v1 client
// (@modelcontextprotocol/sdk 1.32.2, legacy era 2025-11-25): cancellation of a slow search
// on a generated 100,000-file tree, progress, pagination (limits.page_size: 2), file://
// resources with subscriptions, skill prompts, completion, and client roots.
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

import { Tally, instrumentTransport, killAll, short, textOf, withTimeout } from './common.mjs';
import {
	BIG_FILES, checkCancel, checkPagination, checkProgress, checkPrompts, checkResources, fileUri,
	makeBigTree, makeWorkspace, rawFullList, sleep, tapTransport, tmpBase, writeConfig,
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
	const transport = new StdioClientTransport({ command: bin, args, stderr: 'pipe' });
	transport.stderr.on('data', (d) => {
		stderrText += d.toString();
	});
	const client = new Client({ name: 'ctxd-interop-utilities-v1', version: '1.0.0' }, { capabilities });
	client.onerror = (e) => clientErrors.push(e);
	setup(client);
	await withTimeout(client.connect(transport, { timeout: REQUEST_TIMEOUT }), REQUEST_TIMEOUT, 'connect');
	return { client, transport, tap: tapTransport(transport) };
}

function adapterFor(client, tap) {
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
		caps: () => client.getServerCapabilities() ?? {},
		call: (name, args, opts = {}) => client.callTool({ name, arguments: args }, undefined,
			{ ...o, ...opts }),
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

const big = path.join(base, 'big');
const { ws, png } = makeWorkspace(base);
const config = writeConfig(base, 2);
await t.section('generate the 100,000-file tree', async () => {
	const ms = makeBigTree(big);
	console.error(`interop-utilities-v1: generated ${BIG_FILES} files in ${ms} ms`);
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
	const a = adapterFor(main.client, main.tap);
	let walkMs = 200;
	await t.section('progress', async () => {
		walkMs = await checkProgress(t, a, big);
	});
	await t.section('cancel on first progress', () => checkCancel(t, a, big, walkMs, 'first-progress'));
	await t.section('cancel right after sending', () => checkCancel(t, a, big, walkMs, 'immediate'));
	await checkPagination(t, a, reference.tools.map((x) => x.name));
	await checkResources(t, a, ws, png, reference.resources);
	await checkPrompts(t, a, ws);
	await t.section('close', async () => {
		await main.client.close();
	});
}

// ---------------------------------------------------------------------------------------
// 2. Roots: narrowing, no widening, list_changed, and roots as the set when none configured

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

// Wait until the server asked for roots `n` times, then until the allowed set is `want`.
async function settle(client, state, n, want, what) {
	const t0 = Date.now();
	while (state.calls < n && Date.now() - t0 < 5000)
		await sleep(10);
	t.check(`${what}: ctxd sent roots/list (#${n})`, state.calls >= n, state.calls);
	let got;
	const seen = new Set();
	do {
		got = await allowed(client);
		for (const g of got)
			seen.add(g);
		if (JSON.stringify(got) === JSON.stringify([...want].sort()))
			break;
		await sleep(20);
	} while (Date.now() - t0 < 5000);
	t.eq(`${what}: allowed directories`, got, [...want].sort());
	t.check(`${what}: the outside directory never became allowed`, !seen.has(OUT), [...seen]);
}

function rootsClient(args, roots) {
	const state = { calls: 0, roots };
	return connect(args, { roots: { listChanged: true } }, (client) => {
		client.setRequestHandler(ListRootsRequestSchema, () => {
			state.calls++;
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
	await settle(client, state, before + 1, [], 'client roots [outside] (no widening)');
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
killAll(spawned);
await sleep(50);
cleanup();
if (t.skipped)
	console.log(`interop-utilities-v1: skipped parts: ${t.skipped.join('; ')}`);
if (t.failed.length > 0 && stderrText)
	console.error(`--- ctxd stderr ---\n${stderrText.slice(0, 4000)}`);
process.exit(t.finish());
