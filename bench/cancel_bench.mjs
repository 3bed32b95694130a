// cancel_bench.mjs - how fast a cancelled 100,000-file walk stops (issue 4, goal < 10 ms).
//
// usage: node bench/cancel_bench.mjs [/path/to/ctxd]      (default build-release/ctxd)
//   env: REPS (default 11), TREE (default $TMPDIR/ctxd-bench-100k, generated once and kept)
//
// ctxd runs with ONE worker thread (--threads 1), so a request that needs a worker is
// answered only once the worker is free. Each repetition:
//   full    a search_files walk of the whole tree (pattern that never matches), timed to
//           its answer;
//   cancel  the same walk; when its first progress notice arrives (the worker is walking)
//           the bench writes notifications/cancelled + a probe tools/call
//           (list_allowed_directories) in one write; "cancel -> idle" is the time from that
//           write to the probe's answer;
//   nocancel the same, but only the probe is written: the probe waits for the whole walk;
//   idle    the probe alone on an idle server (round trip + the probe's own work).
// "stop latency" = cancel->idle - idle. Medians over REPS. Prints one table and a JSON line.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export function median(xs) {
	const s = [...xs].sort((a, b) => a - b);
	const n = s.length;
	return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// 20 x 100 leaf directories x 50 empty files = 100,000 files (+2,020 directories).
export function benchTree() {
	const root = process.env.TREE || path.join(process.env.TMPDIR || os.tmpdir(), 'ctxd-bench-100k');
	const done = path.join(root, '.complete');
	if (fs.existsSync(done))
		return root;
	fs.rmSync(root, { recursive: true, force: true });
	fs.mkdirSync(root, { recursive: true });
	const t0 = Date.now();
	const script = 'set -e; cd "$1"; for i in $(seq 0 19); do mkdir d$i; (cd d$i && ' +
		'mkdir $(seq -f "e%g" 0 99) && for e in $(seq 0 99); do for f in $(seq 0 49); do ' +
		'printf "e%s/f%s.txt\\n" $e $f; done; done | xargs touch); done';
	const r = spawnSync('sh', ['-c', script, 'gen', root], { stdio: 'inherit' });
	if (r.status !== 0)
		throw new Error('tree generation failed');
	fs.writeFileSync(done, '');
	console.error(`generated 100,000 files in ${root} in ${Date.now() - t0} ms`);
	return root;
}

export function ctxdBinary() {
	const bin = process.argv[2] || process.env.CTXD || path.join(HERE, 'build-release', 'ctxd');
	if (!fs.existsSync(bin)) {
		console.error(`ctxd not found at ${bin}: build it (meson setup bench/build-release ` +
			'--buildtype=release && ninja -C bench/build-release) or pass its path');
		process.exit(2);
	}
	return path.resolve(bin);
}

// A minimal newline-delimited JSON-RPC client over the child's pipes.
export async function startServer(bin, args) {
	const proc = spawn(bin, args, { stdio: ['pipe', 'pipe', 'inherit'] });
	const waiting = new Map();
	const listeners = [];
	readline.createInterface({ input: proc.stdout }).on('line', (line) => {
		const at = performance.now();
		const m = JSON.parse(line);
		if (m.method) {
			for (const l of listeners)
				l(m, at);
		} else if (waiting.has(m.id)) {
			waiting.get(m.id)({ m, at });
			waiting.delete(m.id);
		}
	});
	let next = 1;
	const srv = {
		proc,
		onNotification: (fn) => listeners.push(fn),
		write: (...msgs) => proc.stdin.write(msgs.map((x) => JSON.stringify({ jsonrpc: '2.0', ...x }) + '\n').join('')),
		// Returns [id, promise of {m, at}].
		request(method, params) {
			const id = next++;
			const p = new Promise((resolve) => waiting.set(id, resolve));
			return [id, p];
		},
		async call(method, params) {
			const [id, p] = srv.request();
			srv.write({ id, method, params });
			return p;
		},
		close: () => proc.stdin.end(),
	};
	await srv.call('initialize', { protocolVersion: '2025-11-25', capabilities: {},
		clientInfo: { name: 'ctxd-bench', version: '1' } });
	srv.write({ method: 'notifications/initialized' });
	return srv;
}

const walkArgs = (tree) => ({ path: tree, pattern: '**/*.nomatch' });

async function main() {
	const bin = ctxdBinary();
	const tree = benchTree();
	const reps = Number(process.env.REPS || 11);
	const srv = await startServer(bin, ['--log-level', 'warning', '--threads', '1', tree]);
	const probe = { name: 'list_allowed_directories', arguments: {} };
	let onProgress = null;
	srv.onNotification((m, at) => {
		if (m.method === 'notifications/progress' && onProgress)
			onProgress(m, at);
	});
	const firstProgress = (token) => new Promise((resolve) => {
		onProgress = (m, at) => {
			if (m.params.progressToken === token) {
				onProgress = null;
				resolve(at);
			}
		};
	});
	// warm the caches
	for (let i = 0; i < 2; i++)
		await srv.call('tools/call', { name: 'search_files', arguments: walkArgs(tree) });

	const rows = { full: [], cancelIdle: [], noCancelIdle: [], idle: [], startedAfter: [] };
	let answeredCancelled = 0;
	for (let r = 0; r < reps; r++) {
		let t0 = performance.now();
		const full = await srv.call('tools/call', { name: 'search_files', arguments: walkArgs(tree) });
		rows.full.push(full.at - t0);

		for (const cancel of [true, false]) {
			const token = `bench-${r}-${cancel}`;
			const [wid, wp] = srv.request();
			const started = firstProgress(token);
			t0 = performance.now();
			srv.write({ id: wid, method: 'tools/call', params: { name: 'search_files',
				arguments: walkArgs(tree), _meta: { progressToken: token } } });
			const seen = await started;
			const [pid, pp] = srv.request();
			const msgs = [];
			if (cancel)
				msgs.push({ method: 'notifications/cancelled', params: { requestId: wid, reason: 'bench' } });
			msgs.push({ id: pid, method: 'tools/call', params: probe });
			const tw = performance.now();
			srv.write(...msgs);
			const pr = await pp;
			(cancel ? rows.cancelIdle : rows.noCancelIdle).push(pr.at - tw);
			rows.startedAfter.push(seen - t0);
			if (cancel) {
				// a cancelled walk must stay silent: give it the rest of a full walk
				const late = await Promise.race([wp.then(() => true),
					new Promise((res) => setTimeout(() => res(false), 300))]);
				if (late)
					answeredCancelled++;
			} else {
				await wp;
			}
		}
		t0 = performance.now();
		const idle = await srv.call('tools/call', probe);
		rows.idle.push(idle.at - t0);
	}
	srv.close();

	const med = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)]));
	const stop = med.cancelIdle - med.idle;
	const f = (x) => x.toFixed(2).padStart(9);
	console.log(`cancel_bench: ${reps} repetitions, 100,000-file walk, ctxd --threads 1 (${bin})`);
	console.log(`load average: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; CPUs: ${os.cpus().length}`);
	console.log('median ms                                        value');
	console.log(`full walk (request -> answer)               ${f(med.full)}`);
	console.log(`probe after the walk started, no cancel     ${f(med.noCancelIdle)}   (waits for the walk)`);
	console.log(`probe after cancel (cancel -> idle)         ${f(med.cancelIdle)}`);
	console.log(`probe on an idle server                     ${f(med.idle)}`);
	console.log(`stop latency (cancel->idle - idle)          ${f(stop)}   goal < 10 ms`);
	console.log(`first progress after the walk was sent      ${f(med.startedAfter)}`);
	console.log(`cancelled walks that still answered: ${answeredCancelled}/${reps}`);
	console.log(JSON.stringify({ bench: 'cancel', reps, medians_ms: med, stop_latency_ms: stop,
		answered_after_cancel: answeredCancelled, loadavg: os.loadavg() }));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url))
	await main();
