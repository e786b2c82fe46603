#!/usr/bin/env node
// What one check costs, beside what it is compared with: whole-process wall
// time and peak RSS (from /usr/bin/time), several runs each, medians.
//   node bench/cost.mjs [--runs 15]        (root: the unprivileged case runs as nobody)
// Prints a table; writes nothing but temp files it removes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const BUNDLE = join(REPO, 'dist/check_conntrack');
const NODE = process.execPath;
const RUNS = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 15;
const TIME = '/usr/bin/time';
const NOBODY = ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: npm run build`);
if (!existsSync(TIME)) throw new Error('/usr/bin/time is missing: apt-get install time');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** One command, RUNS times: median wall seconds and median peak RSS in KiB. */
function measure(argv, { stdout } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'cc-bench-'));
  const walls = [];
  const rss = [];
  try {
    for (let i = 0; i < RUNS + 1; i++) {
      const out = join(work, 'time');
      const started = process.hrtime.bigint();
      const r = spawnSync(TIME, ['-f', '%M', '-o', out, ...argv], { stdio: ['ignore', stdout ? 'pipe' : 'ignore', 'ignore'], timeout: 120_000 });
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      if (r.error) throw r.error;
      if (i === 0) continue; // warm the page cache
      walls.push(wall);
      rss.push(Number(readFileSync(out, 'utf8').trim().split('\n').pop()));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { wall: median(walls), rss: median(rss) };
}

const rows = [];
function row(name, m, peer, budget) {
  rows.push({ name, wall: m.wall, rss: m.rss, peer, budget });
}

// 1. Unprivileged, default options, as NRPE runs it.
const asRoot = process.getuid?.() === 0;
const unpriv = asRoot ? NOBODY : [];
const nodeAlone = measure([...unpriv, NODE, '-e', '0']);
row('node -e 0 (unprivileged)', nodeAlone);
const plugin = measure([...unpriv, NODE, BUNDLE]);
row('check_conntrack, defaults, unprivileged', plugin, nodeAlone, { wall: 1.3, rss: 1.2 });

// 2. As root: the kernel log and the rule listings, against node plus each program alone.
if (asRoot) {
  const programs = [
    ['/usr/sbin/iptables-legacy-save'],
    ['/usr/sbin/iptables-nft-save'],
    ['/usr/sbin/ip6tables-legacy-save'],
    ['/usr/sbin/ip6tables-nft-save'],
    ['/usr/sbin/nft', '-j', 'list', 'ruleset'],
  ].filter(([p]) => existsSync(p));
  const rootNode = measure([NODE, '-e', '0']);
  let sum = rootNode.wall;
  for (const p of programs) {
    const m = measure(p);
    sum += m.wall;
    row(`  ${p.join(' ')}`, m);
  }
  row('node -e 0 + those programs (sum)', { wall: sum, rss: rootNode.rss });
  row('check_conntrack, defaults, root (kmsg + rules)', measure([NODE, BUNDLE, '--no-state']), { wall: sum, rss: rootNode.rss }, { wall: 1.3 });
}

// 3. The log scan of a 1,000,000-line kernel log, against grep -c.
const work = mkdtempSync(join(tmpdir(), 'cc-bench-log-'));
try {
  const log = join(work, 'kern.log');
  const fd = openSync(log, 'w');
  const t0 = Date.now() - 3 * 3600_000;
  let chunk = [];
  for (let i = 0; i < 1_000_000; i++) {
    const at = new Date(t0 + i * 10).toISOString().replace('Z', '+00:00');
    chunk.push(
      i % 200 === 0
        ? `${at} web01 kernel: [ 8123.456789] nf_conntrack: nf_conntrack: table full, dropping packet`
        : `${at} web01 kernel: [ 8123.456789] e1000e 0000:00:19.0 eth0: unrelated message number ${i}`,
    );
    if (chunk.length === 10000) {
      writeSync(fd, chunk.join('\n') + '\n');
      chunk = [];
    }
  }
  closeSync(fd);
  const grep = measure(['/usr/bin/grep', '-c', 'table full', log], { stdout: true });
  row("grep -c 'table full' (1,000,000 lines)", grep);
  row('check_conntrack --kernel-log FILE (same file)', measure([NODE, BUNDLE, '--no-state', '--kernel-log', log]), grep, { wall: 4 });
} finally {
  rmSync(work, { recursive: true, force: true });
}

// The table.
const pad = (s, n) => String(s).padEnd(n);
console.log(`${RUNS} runs each, medians; node ${process.version}`);
console.log(`${pad('command', 50)} ${pad('wall s', 8)} ${pad('peak RSS MiB', 13)} vs peer`);
let failed = false;
for (const r of rows) {
  let versus = '';
  if (r.peer) {
    const w = r.wall / r.peer.wall;
    const m = r.rss / r.peer.rss;
    const okW = !r.budget?.wall || w <= r.budget.wall;
    const okM = !r.budget?.rss || m <= r.budget.rss;
    failed ||= !okW || !okM;
    versus = `wall x${w.toFixed(2)}${r.budget?.wall ? ` (budget ${r.budget.wall})` : ''}, RSS x${m.toFixed(2)}${r.budget?.rss ? ` (budget ${r.budget.rss})` : ''}${okW && okM ? '' : '  OVER BUDGET'}`;
  }
  console.log(`${pad(r.name, 50)} ${pad(r.wall.toFixed(3), 8)} ${pad((r.rss / 1024).toFixed(1), 13)} ${versus}`);
}
process.exitCode = failed ? 1 : 0;
