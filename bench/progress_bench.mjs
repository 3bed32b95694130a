// progress_bench.mjs - the cost of progress notifications on a 100,000-file walk
// (issue 4, goal: < 2% slower with a progressToken than without).
//
// usage: node bench/progress_bench.mjs [/path/to/ctxd]    (default build-release/ctxd)
//   env: REPS (default 21), TREE (as in cancel_bench.mjs; shared, generated once)
//
// One ctxd process; each repetition runs the same search_files walk (a pattern that never
// matches, so the whole tree is walked) once without and once with _meta.progressToken,
// alternating which goes first, each timed from the request to its answer. Medians and the
// median of the per-pair ratios. Prints a table and a JSON line.

import os from 'node:os';

import { benchTree, ctxdBinary, median, startServer } from './cancel_bench.mjs';

const bin = ctxdBinary();
const tree = benchTree();
const reps = Number(process.env.REPS || 21);
const srv = await startServer(bin, ['--log-level', 'warning', tree]);
let notices = 0;
srv.onNotification((m) => {
	if (m.method === 'notifications/progress')
		notices++;
});
const args = { name: 'search_files', arguments: { path: tree, pattern: '**/*.nomatch' } };
async function walk(token) {
	const params = token === undefined ? args : { ...args, _meta: { progressToken: token } };
	const t0 = performance.now();
	const r = await srv.call('tools/call', params);
	if (r.m.error || r.m.result?.isError)
		throw new Error(`walk failed: ${JSON.stringify(r.m).slice(0, 300)}`);
	return r.at - t0;
}
for (let i = 0; i < 3; i++)
	await walk();

const without = [], withP = [], ratio = [];
for (let r = 0; r < reps; r++) {
	let a, b;
	if (r % 2 === 0) {
		a = await walk();
		b = await walk(`p${r}`);
	} else {
		b = await walk(`p${r}`);
		a = await walk();
	}
	without.push(a);
	withP.push(b);
	ratio.push(b / a);
}
srv.close();

const mw = median(without), mp = median(withP), mr = median(ratio);
console.log(`progress_bench: ${reps} pairs, 100,000-file walk (${bin})`);
console.log(`load average: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; CPUs: ${os.cpus().length}`);
console.log(`median walk without progressToken   ${mw.toFixed(2).padStart(9)} ms`);
console.log(`median walk with progressToken      ${mp.toFixed(2).padStart(9)} ms`);
console.log(`difference of the medians           ${(100 * (mp / mw - 1)).toFixed(2).padStart(9)} %`);
console.log(`median of per-pair ratios           ${(100 * (mr - 1)).toFixed(2).padStart(9)} %   goal < 2 %`);
console.log(`progress notices received           ${notices} (${(notices / reps).toFixed(1)} per walk)`);
console.log(JSON.stringify({ bench: 'progress', reps, median_without_ms: mw, median_with_ms: mp,
	overhead_pct_medians: 100 * (mp / mw - 1), overhead_pct_pair_ratio: 100 * (mr - 1),
	notices, loadavg: os.loadavg() }));
