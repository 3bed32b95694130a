// listen.v2.test.mjs - change notifications in the 2026-07-28 era through the official
// TypeScript v2 client (@modelcontextprotocol/client 2.4.0): Client.listen() opens a
// subscriptions/listen stream, the server's acknowledgment carries the agreed filter, a
// skill added to a watched skills directory while the session runs arrives as
// notifications/tools/list_changed, a change of a subscribed file as
// notifications/resources/updated, and SIGTERM ends the streams gracefully (the client
// sees 'graceful', not a dropped transport).
//
// No sleeps: every step waits for the event it needs (a watchdog fails the run if one
// never comes).
//
// usage: node listen.v2.test.mjs /path/to/ctxd
// Exit 0 when every check passed, 1 otherwise; prints one summary line on stdout.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

import {
	Tally, childProcesses, instrumentTransport, killAll, serverBinary, withTimeout,
} from './common.mjs';

const MODERN = '2026-07-28';
const REQUEST_TIMEOUT = 20000;
const bin = serverBinary();
const t = new Tally('interop-listen-v2');
const spawned = instrumentTransport(StdioClientTransport);
const clientErrors = [];
let stderrText = '';

const base = fs.realpathSync(fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(),
	'ctxd-listen-')));
const root = path.join(base, 'root');
const skills = path.join(root, '.claude', 'skills');
const skill = (name, description) =>
	`---\nname: ${name}\ndescription: ${description}\n---\n# ${name}\n\nFollow the steps.\n`;
fs.mkdirSync(path.join(skills, 'existing'), { recursive: true });
fs.writeFileSync(path.join(skills, 'existing', 'SKILL.md'), skill('existing', 'Was there at start.'));
fs.writeFileSync(path.join(root, 'watched.txt'), 'first\n');

const cleanup = () => fs.rmSync(base, { recursive: true, force: true });
const watchdog = setTimeout(() => {
	console.error('interop-listen-v2: watchdog expired after 60 s');
	killAll(spawned);
	cleanup();
	console.log('interop-listen-v2: FAIL (watchdog)');
	process.exit(1);
}, 60000);

// Counts notifications by method; waitFor(method, n) resolves once n have arrived.
class Events {
	constructor() {
		this.count = new Map();
		this.waiters = [];
		this.params = [];
	}

	seen(method, params) {
		this.count.set(method, (this.count.get(method) || 0) + 1);
		this.params.push({ method, params });
		this.waiters = this.waiters.filter((w) => {
			if ((this.count.get(w.method) || 0) < w.n)
				return true;
			w.resolve();
			return false;
		});
	}

	n(method) {
		return this.count.get(method) || 0;
	}

	waitFor(method, n) {
		if (this.n(method) >= n)
			return Promise.resolve();
		return new Promise((resolve) => this.waiters.push({ method, n, resolve }));
	}
}

const events = new Events();
const transport = new StdioClientTransport({
	command: bin, args: ['--log-level', 'warning', root], env: { ...process.env, HOME: base },
	stderr: 'pipe',
});
transport.stderr.on('data', (d) => {
	stderrText += d.toString();
});
const client = new Client({ name: 'ctxd-listen-v2', version: '1.0.0' }, {
	capabilities: {}, versionNegotiation: { mode: 'auto', probe: { timeoutMs: 30000 } },
});
client.onerror = (e) => clientErrors.push(e);
for (const m of ['notifications/tools/list_changed', 'notifications/prompts/list_changed',
	'notifications/resources/updated'])
	client.setNotificationHandler(m, (n) => events.seen(m, n.params));
const opts = { timeout: REQUEST_TIMEOUT };
const skillNames = async () => {
	const r = await client.callTool({ name: 'skill_list', arguments: {} }, opts);
	return (r.structuredContent?.skills || []).map((s) => s.name).sort();
};

let sub;
await t.section('connect (2026-07-28) and server/discover', async () => {
	await withTimeout(client.connect(transport, { timeout: REQUEST_TIMEOUT }), 30000, 'connect');
	t.eq('negotiated protocol version', client.getNegotiatedProtocolVersion(), MODERN);
	const caps = client.getServerCapabilities();
	t.eq('discover advertises tools.listChanged', caps?.tools?.listChanged, true);
	t.eq('discover advertises prompts.listChanged', caps?.prompts?.listChanged, true);
	t.eq('discover advertises resources subscribe + listChanged', caps?.resources,
		{ subscribe: true, listChanged: true });
});

const watchedUri = `file://${path.join(root, 'watched.txt')}`;
await t.section('Client.listen: acknowledged filter', async () => {
	sub = await withTimeout(client.listen({
		toolsListChanged: true, promptsListChanged: true,
		resourceSubscriptions: [watchedUri, `file://${path.join(root, 'missing.txt')}`],
	}, opts), 20000, 'listen');
	t.eq('honoredFilter: lists agreed, the missing file left out', sub.honoredFilter, {
		toolsListChanged: true, promptsListChanged: true, resourceSubscriptions: [watchedUri],
	});
});

await t.section('a skill added while the session runs: tools/list_changed on the stream', async () => {
	// the catalogue's first scan is done (and its watches set) once skill_list has it
	t.eq('skill_list at start', await skillNames(), ['existing']);
	await client.listTools(undefined, opts);
	// the skill is written outside the watched tree and moved in whole, so the catalogue
	// changes once; a notification may still come from a scan that ran before the move:
	// wait for the next one until the catalogue has the skill (the watchdog bounds it)
	const staged = path.join(base, 'added-later');
	fs.mkdirSync(staged);
	fs.writeFileSync(path.join(staged, 'SKILL.md'), skill('added-later', 'Written during the test.'));
	const LC = 'notifications/tools/list_changed';
	let heard = events.n(LC);
	fs.renameSync(staged, path.join(skills, 'added-later'));
	let names = [];
	while (!names.includes('added-later')) {
		await withTimeout(events.waitFor(LC, heard + 1), 20000, 'tools/list_changed');
		heard = events.n(LC); // before asking: one arriving meanwhile is not missed
		names = await skillNames();
	}
	t.eq('skill_list after the notification', names, ['added-later', 'existing']);
	const last = events.params.filter((e) => e.method === 'notifications/tools/list_changed').pop();
	t.eq('the notification carries the stream id in _meta',
		typeof last?.params?._meta?.['io.modelcontextprotocol/subscriptionId'], 'string');
	const { tools } = await client.listTools(undefined, opts);
	t.check('tools/list still answers after the change', tools.some((x) => x.name === 'skill_list'));
	await events.waitFor('notifications/prompts/list_changed', 1);
	t.check('prompts/list_changed too', events.n('notifications/prompts/list_changed') >= 1);
});

await t.section('a subscribed file changes: resources/updated on the stream', async () => {
	const before = events.n('notifications/resources/updated');
	fs.appendFileSync(path.join(root, 'watched.txt'), 'second\n');
	await withTimeout(events.waitFor('notifications/resources/updated', before + 1), 20000,
		'resources/updated');
	const last = events.params.filter((e) => e.method === 'notifications/resources/updated').pop();
	t.eq('resources/updated names the file', last?.params?.uri, watchedUri);
});

await t.section('SIGTERM: every open stream ends gracefully', async () => {
	const sub2 = await withTimeout(client.listen({ promptsListChanged: true }, opts), 20000, 'listen 2');
	t.eq('second stream acknowledged', sub2.honoredFilter, { promptsListChanged: true });
	const rec = spawned.find((s) => s.pid === transport.pid);
	rec.proc.kill('SIGTERM');
	const closed = await withTimeout(Promise.all([sub.closed, sub2.closed]), 20000, 'closed');
	t.eq('both streams closed gracefully', closed, ['graceful', 'graceful']);
	const exit = await withTimeout(rec.exited, 10000, 'exit');
	t.eq('exit 0 after SIGTERM', exit, { code: 0, signal: null });
});

await client.close().catch(() => {});
const kids = childProcesses();
if (kids !== null)
	t.eq('no server process left', kids.map((k) => k.pid), []);
t.check('no sanitizer report on the server\'s stderr',
	!/AddressSanitizer|LeakSanitizer|runtime error:/.test(stderrText), stderrText.slice(-2000));
t.eq('client saw no transport/protocol errors', clientErrors.map((e) => String(e.message || e)), []);

clearTimeout(watchdog);
killAll(spawned);
cleanup();
if (t.failed.length > 0 && stderrText)
	console.error(`--- ctxd stderr ---\n${stderrText.slice(0, 4000)}`);
process.exit(t.finish());
