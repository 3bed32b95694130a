// families.v2.test.mjs - the three tool families (file tools, Agent Skills, memory bank)
// end to end through the official TypeScript v2 client (@modelcontextprotocol/client
// 2.4.0): a modern (2026-07-28, server/discover) session for every family, the client's
// own skills extension (SkillsClient: list, get, read with digest verification), a
// --read-only server, and a legacy-mode connection for the hot reload notifications
// (the stateless era has no channel for them).
//
// usage: node families.v2.test.mjs /path/to/ctxd
// Exit 0 when every check passed, 1 otherwise; prints one summary line on stdout.

import fs from 'node:fs';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/client';
import { SkillsClient } from '@modelcontextprotocol/client/ext/skills';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import * as z from 'zod';

import {
	HANG_GUARD, Tally, childProcesses, instrumentTransport, killAll, serverBinary, withTimeout,
} from './common.mjs';
import {
	EXAMPLE_SKILLS, checkEscapes, checkFileTools, checkMemoryBank, checkReadOnly, checkSkills,
	checkToolList, makeWorkspace, serverArgs, sha256, sleep,
} from './families_common.mjs';

const MODERN = '2026-07-28';
const REQUEST_TIMEOUT = HANG_GUARD;
const bin = serverBinary();
const t = new Tally('interop-families-v2');
const ws = makeWorkspace();
const spawned = instrumentTransport(StdioClientTransport);
const clientErrors = [];
let stderrText = '';

const watchdog = setTimeout(() => {
	console.error('interop-families-v2: watchdog expired after 55 s');
	killAll(spawned);
	ws.cleanup();
	console.log('interop-families-v2: FAIL (watchdog)');
	process.exit(1);
}, 55000);

const passthrough = z.looseObject({});
const LIST_CHANGED = ['notifications/tools/list_changed', 'notifications/prompts/list_changed',
	'notifications/resources/list_changed'];

async function connect(extraArgs, modern) {
	const transport = new StdioClientTransport({
		command: bin, args: serverArgs(ws, extraArgs), env: ws.env, stderr: 'pipe',
	});
	transport.stderr.on('data', (d) => {
		stderrText += d.toString();
	});
	const options = { capabilities: {} };
	if (modern)
		options.versionNegotiation = { mode: 'auto', probe: { timeoutMs: HANG_GUARD } };
	const client = new Client({ name: 'ctxd-families-v2', version: '1.0.0' }, options);
	client.onerror = (e) => clientErrors.push(e);
	const notes = [];
	for (const m of LIST_CHANGED)
		client.setNotificationHandler(m, () => {
			notes.push(m);
		});
	await withTimeout(client.connect(transport, { timeout: REQUEST_TIMEOUT }), 2 * HANG_GUARD, 'connect');
	const opts = { timeout: REQUEST_TIMEOUT };
	const adapter = {
		legacy: !modern,
		notes,
		listTools: () => client.listTools(undefined, opts),
		call: (name, args) => client.callTool({ name, arguments: args }, opts),
		request: (method, params) => client.request({ method, params }, passthrough, opts),
		listPrompts: () => client.listPrompts(undefined, opts),
		getPrompt: (name, args) => client.getPrompt({ name, arguments: args }, opts),
		readResource: (uri) => client.readResource({ uri }, opts),
	};
	const rec = spawned.find((s) => s.pid === transport.pid);
	return { client, adapter, rec };
}

async function closeAndCheck(conn, label) {
	const t0 = Date.now();
	await conn.client.close();
	if (!conn.rec)
		return;
	const exit = await withTimeout(conn.rec.exited, HANG_GUARD, `${label} exit`);
	t.eq(`${label}: exit 0 on stdin EOF`, exit, { code: 0, signal: null });
	// no time limit here: exit_prompt*.session checks without timing that ctxd does not
	// wait for its drain limit
	console.error(`${t.label}: ${label}: exit ${Date.now() - t0} ms after close`);
}

async function checkSkillsClient(client, era) {
	const sk = new SkillsClient(client);
	t.eq(`SkillsClient (${era}): extension supported`, sk.supported, true);
	await t.section(`SkillsClient.list (${era})`, async () => {
		const listing = await sk.list();
		t.eq(`SkillsClient.list (${era}): no invalid entries`, listing.invalid, []);
		const names = listing.skills.map((s) => s.frontmatter?.name).sort();
		t.check(`SkillsClient.list (${era}): the example skills`,
			EXAMPLE_SKILLS.every((n) => names.includes(n)), names);
	});
	let skill;
	await t.section(`SkillsClient.get (${era})`, async () => {
		({ skill } = await sk.get('skill://commit-message/SKILL.md'));
		t.eq(`SkillsClient.get (${era}): commit-message`, skill.frontmatter?.name, 'commit-message');
	});
	if (!skill)
		return;
	await t.section(`SkillsClient.read (${era})`, async () => {
		const main = await sk.read(skill);
		const dir = ws.p('.claude/skills/commit-message');
		t.eq(`SkillsClient.read SKILL.md (${era}): verified`, main.verified, true);
		t.eq(`SkillsClient.read SKILL.md (${era}): bytes`, sha256(Buffer.from(main.bytes)),
			sha256(fs.readFileSync(path.join(dir, 'SKILL.md'))));
		t.check(`SkillsClient.read SKILL.md (${era}): body`,
			(main.body ?? '').includes('# Commit message writer'), main.body);
		const ref = await sk.read(skill, 'references/types.md');
		t.eq(`SkillsClient.read reference (${era}): verified`, ref.verified, true);
		t.eq(`SkillsClient.read reference (${era}): text`, ref.text ?? Buffer.from(ref.bytes).toString('utf8'),
			fs.readFileSync(path.join(dir, 'references/types.md'), 'utf8'));
	});
}

let conn;
await t.section('modern connect', async () => {
	conn = await connect([], true);
	t.eq('negotiated protocol version', conn.client.getNegotiatedProtocolVersion(), MODERN);
	t.eq('protocol era', conn.client.getProtocolEra(), 'modern');
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
	await checkSkillsClient(conn.client, 'modern');
	await checkSkills(t, conn.adapter, tools, ws);
	await checkMemoryBank(t, conn.adapter, tools, ws);
	await t.section('modern close', () => closeAndCheck(conn, 'modern session'));
}

await t.section('--read-only server (modern)', async () => {
	const ro = await connect(['--read-only'], true);
	await checkReadOnly(t, ro.adapter, ws);
	await closeAndCheck(ro, 'read-only session');
});

await t.section('legacy-mode client: hot reload notifications', async () => {
	const lc = await connect([], false);
	t.eq('legacy mode: negotiated 2025-11-25', lc.client.getNegotiatedProtocolVersion(), '2025-11-25');
	await checkSkillsClient(lc.client, 'legacy');
	const dir = ws.p('.claude/skills/hot-skill');
	fs.mkdirSync(dir);
	fs.writeFileSync(path.join(dir, 'SKILL.md'),
		'---\nname: hot-skill\ndescription: Appears while the session runs.\n---\nHot body\n');
	// the file is written in two steps (create, then data): ask until the catalogue has it
	let r;
	const t0 = Date.now();
	while (Date.now() - t0 < HANG_GUARD) {
		r = await lc.adapter.call('skill_list', { query: 'hot-skill' });
		if (r.structuredContent?.skills?.length)
			break;
		await sleep(10);
	}
	t.eq('legacy mode: skill_list has the new skill', r?.structuredContent?.skills?.map((s) => s.name),
		['hot-skill']);
	// list_changed follows the catalogue's change (sent once the rescan is done)
	const t1 = Date.now();
	while (Date.now() - t1 < HANG_GUARD && !LIST_CHANGED.every((m) => lc.adapter.notes.includes(m)))
		await sleep(10);
	for (const m of LIST_CHANGED)
		t.check(`legacy mode: ${m} after a skill appears`, lc.adapter.notes.includes(m), lc.adapter.notes);
	const { prompts } = await lc.adapter.listPrompts();
	t.check('legacy mode: prompts/list has it', prompts.some((p) => p.name === 'hot-skill'), prompts);
	await closeAndCheck(lc, 'legacy session');
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
