// skill_prompts.v1.test.mjs - skill prompts with real arguments through the official
// TypeScript SDK v1 client (@modelcontextprotocol/sdk, 2025-11-25 handshake): each skill
// prompt declares its arguments from the frontmatter (`arguments:` names, the words of
// `argument-hint`, else one free-text `arguments`), the values a host sends under those
// names reach the skill whole, and completion/complete offers paths for a path-like
// argument. Also what a host that splits a command line on blanks sends (Claude Code's
// `/mcp__ctxd__code-review src/a.c src/b.c`: one word per declared argument).
//
// usage: node skill_prompts.v1.test.mjs /path/to/ctxd
// Exit 0 when every check passed, 1 otherwise; prints one summary line on stdout.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

import { Tally, childProcesses, instrumentTransport, killAll, serverBinary, withTimeout } from './common.mjs';

const REQUEST_TIMEOUT = 20000;
const bin = serverBinary();
const t = new Tally('interop-skill-prompts-v1');
const spawned = instrumentTransport(StdioClientTransport);
let stderrText = '';

const watchdog = setTimeout(() => {
	console.error('interop-skill-prompts-v1: watchdog expired after 55 s');
	killAll(spawned);
	console.log('interop-skill-prompts-v1: FAIL (watchdog)');
	process.exit(1);
}, 55000);

// A workspace: root/{src/a.c, src/b.c, docs/} and three skills in root/.claude/skills.
const tmp = process.env.TMPDIR || os.tmpdir();
const base = fs.realpathSync(fs.mkdtempSync(path.join(tmp, 'ctxd-prompts-')));
const root = path.join(base, 'root');
const home = path.join(base, 'home');
const skills = path.join(root, '.claude', 'skills');
function skill(name, extra, body) {
	fs.mkdirSync(path.join(skills, name), { recursive: true });
	fs.writeFileSync(path.join(skills, name, 'SKILL.md'),
		`---\nname: ${name}\ndescription: The ${name} skill for tests.\n${extra}---\n${body}`);
}
fs.mkdirSync(path.join(root, 'src'), { recursive: true });
fs.mkdirSync(path.join(root, 'docs'));
fs.mkdirSync(home);
fs.writeFileSync(path.join(root, 'src', 'a.c'), 'int a;\n');
fs.writeFileSync(path.join(root, 'src', 'b.c'), 'int b;\n');
skill('code-review', 'argument-hint: [file] [against]\n',
	'Review $0 against $1 (both paths).\nAll arguments: $ARGUMENTS\n');
skill('release', 'arguments: [version, channel]\n', 'Release $version to $channel now.\n');
skill('notes', '', 'Write notes about $ARGUMENTS.\n');

const transport = new StdioClientTransport({
	command: bin, args: ['--log-level', 'warning', root], env: { ...process.env, HOME: home },
	stderr: 'pipe',
});
transport.stderr.on('data', (d) => {
	stderrText += d.toString();
});
const client = new Client({ name: 'ctxd-skill-prompts-v1', version: '1.0.0' }, { capabilities: {} });
const clientErrors = [];
client.onerror = (e) => clientErrors.push(e);
const opts = { timeout: REQUEST_TIMEOUT };
const text = (r) => r?.messages?.[0]?.content?.text;

await t.section('connect', () => withTimeout(client.connect(transport, opts), REQUEST_TIMEOUT, 'initialize'));

await t.section('prompts/list declares the arguments', async () => {
	const { prompts } = await client.listPrompts(undefined, opts);
	const args = Object.fromEntries(prompts.map((p) => [p.name, (p.arguments ?? []).map((a) => a.name)]));
	t.eq('arguments per prompt', args, {
		'code-review': ['file', 'against'],
		notes: ['arguments'],
		release: ['version', 'channel'],
	});
	t.check('no argument is required', prompts.every((p) => (p.arguments ?? []).every((a) => a.required !== true)),
		prompts);
});

await t.section('prompts/get with named arguments', async () => {
	// Claude Code: `/mcp__ctxd__code-review src/a.c src/b.c` -> one word per declared argument
	const r = await client.getPrompt({ name: 'code-review', arguments: { file: 'src/a.c', against: 'src/b.c' } }, opts);
	t.eq('a split command line reaches the skill whole', text(r),
		'Review src/a.c against src/b.c (both paths).\nAll arguments: src/a.c src/b.c\n');
	const r2 = await client.getPrompt({ name: 'release', arguments: { version: '2.1.0', channel: 'stable' } }, opts);
	t.eq('$name placeholders from `arguments:`', text(r2), 'Release 2.1.0 to stable now.\n');
	const r3 = await client.getPrompt({ name: 'code-review', arguments: { file: 'my file.c' } }, opts);
	t.eq('a value with a blank is one word', text(r3),
		'Review my file.c against $1 (both paths).\nAll arguments: \'my file.c\'\n');
	const r4 = await client.getPrompt({ name: 'notes', arguments: { arguments: 'the parser' } }, opts);
	t.eq('one free-text argument as before', text(r4), 'Write notes about the parser.\n');
	let code;
	try {
		await client.getPrompt({ name: 'release', arguments: { colour: 'red' } }, opts);
	} catch (e) {
		code = e.code;
	}
	t.eq('an undeclared argument is -32602', code, -32602);
});

await t.section('completion/complete', async () => {
	t.check('completions capability advertised', client.getServerCapabilities()?.completions !== undefined,
		client.getServerCapabilities());
	const c = await client.complete({ ref: { type: 'ref/prompt', name: 'code-review' },
		argument: { name: 'file', value: 's' } }, opts);
	t.eq('a path-like argument: entries of the root', c.completion?.values, ['src/']);
	const c2 = await client.complete({ ref: { type: 'ref/prompt', name: 'code-review' },
		argument: { name: 'file', value: 'src/' } }, opts);
	t.eq('inside a directory', c2.completion?.values, ['src/a.c', 'src/b.c']);
	const c3 = await client.complete({ ref: { type: 'ref/prompt', name: 'release' },
		argument: { name: 'channel', value: '' } }, opts);
	t.eq('nothing for another argument', c3.completion?.values, []);
});

await t.section('close', async () => {
	await client.close();
	const rec = spawned[spawned.length - 1];
	const exit = await withTimeout(rec.exited, 5000, 'exit');
	t.eq('exit 0 on stdin EOF', exit, { code: 0, signal: null });
});

const kids = childProcesses();
if (kids !== null)
	t.eq('no server process left', kids.map((k) => k.pid), []);
t.check('no sanitizer report on the server\'s stderr',
	!/AddressSanitizer|LeakSanitizer|runtime error:/.test(stderrText), stderrText.slice(-2000));
t.eq('client saw no transport/protocol errors', clientErrors.map((e) => String(e.message || e)), []);

clearTimeout(watchdog);
killAll(spawned);
fs.rmSync(base, { recursive: true, force: true });
if (t.failed.length > 0 && stderrText)
	console.error(`--- ctxd stderr ---\n${stderrText.slice(0, 4000)}`);
process.exit(t.finish());
