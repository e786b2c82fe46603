#!/usr/bin/env node
// What one check costs, beside what it is compared with: whole-process wall
// time and peak RSS (from /usr/bin/time), several runs each, medians.
//   node bench/cost.mjs [--runs 15]        (root: the unprivileged case runs as nobody)
// Every command runs in the environment NRPE, Icinga 2 and cron give a plugin,
// PATH alone: a shell's NODE_OPTIONS or NODE_EXTRA_CA_CERTS would change what
// node itself costs (the latter adds tens of ms to every node start).
// Prints a table; writes nothing but temp files it removes. The plugin keeps
// its state (and the code cache) in a private temporary directory per case,
// as it would in /var/tmp/check_conntrack-UID; the first run of each case,
// which makes them, is not counted.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, openSync, writeSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ENV } from './support/commands.mjs';
import { median, TIME } from './support/timing.mjs';

const REPO = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const BUNDLE = join(REPO, 'dist/check_conntrack');
const NODE = process.execPath;
const RUNS = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 15;
const NOBODY = ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: npm run build`);
if (!existsSync(TIME)) throw new Error('/usr/bin/time is missing: apt-get install time');
const STRACE = '/usr/bin/strace';
/** What NRPE, Icinga 2 and cron give a plugin: a PATH and nothing of node's. */
const CLEAN_ENV = ENV;

const scratch = mkdtempSync(join(tmpdir(), 'cc-bench-'));
chmodSync(scratch, 0o711); // nobody reaches its own state directory inside
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

/** A state file in a fresh private directory, owned by `uid`, as the plugin's own would be. */
function stateFile(name, uid = 0) {
  const dir = mkdtempSync(join(scratch, `${name}-`));
  if (uid !== 0) chownSync(dir, uid, uid);
  return join(dir, 'state.json');
}

/**
 * A bundle of a few lines, built as the plugin is (esbuild, minified CJS):
 * what a part of the plugin costs on its own, the floor under a budget.
 */
async function floorBundle(name, contents) {
  const { build } = await import('esbuild');
  const { common, lazyChildProcessForCommander } = await import('../build.mjs');
  const outfile = join(scratch, `${name}.cjs`);
  await build({ ...common, stdin: { contents, resolveDir: REPO, loader: 'js' }, outfile, plugins: [lazyChildProcessForCommander] });
  chmodSync(outfile, 0o644);
  return outfile;
}

/**
 * The programs a run of `argv` starts, each as its argv, from an strace of
 * one run: the root budget is against the programs it really runs here.
 */
function programsStarted(argv) {
  if (!existsSync(STRACE)) throw new Error(`${STRACE} is missing (it finds the programs the check runs): apt-get install strace`);
  const log = join(scratch, 'strace.txt');
  const r = spawnSync(STRACE, ['-f', '-qq', '-e', 'trace=execve', '-e', 'signal=none', '-o', log, ...argv], {
    stdio: 'ignore',
    env: CLEAN_ENV,
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  const started = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const m = /execve\("([^"]+)", \[(.*)\], .* = 0$/.exec(line);
    if (!m || m[1] === argv[0]) continue;
    started.push([m[1], ...[...m[2].matchAll(/"((?:[^"\\]|\\.)*)"/g)].slice(1).map((a) => a[1])]);
  }
  return started;
}

/**
 * Commands side by side, RUNS times each, in turn (a, b, c, a, b, c, ...), so
 * that a busy moment of the machine weighs on all of them alike: median wall
 * seconds and median peak RSS in KiB of each. The first round only warms the
 * page cache (and lets the plugin make its state and code cache).
 */
function measure(...commands) {
  return measureIn(CLEAN_ENV, ...commands);
}

/** The same with fewer runs, for commands that take a second each. */
function measureRuns(runs, ...commands) {
  return measureIn(CLEAN_ENV, ...commands, runs);
}

function measureIn(env, ...args) {
  const runs = typeof args[args.length - 1] === 'number' ? args.pop() : RUNS;
  const commands = args;
  const work = mkdtempSync(join(tmpdir(), 'cc-bench-'));
  const walls = commands.map(() => []);
  const rss = commands.map(() => []);
  try {
    for (let i = 0; i < runs + 1; i++) {
      commands.forEach((argv, c) => {
        const out = join(work, 'time');
        const started = process.hrtime.bigint();
        // stdout is a pipe, as under a monitoring core (and grep -c stops at the first match on /dev/null).
        const r = spawnSync(TIME, ['-f', '%M', '-o', out, ...argv], {
          stdio: ['ignore', 'pipe', 'ignore'],
          env,
          timeout: 120_000,
          maxBuffer: 64 * 1024 * 1024,
        });
        const wall = Number(process.hrtime.bigint() - started) / 1e9;
        if (r.error) throw r.error;
        if (i === 0) return;
        walls[c].push(wall);
        rss[c].push(Number(readFileSync(out, 'utf8').trim().split('\n').pop()));
      });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return commands.map((_, c) => ({ wall: median(walls[c]), rss: median(rss[c]) }));
}

const rows = [];
/** Why a budget is missed, where the bench can measure it. */
const reasons = [];
function row(name, m, peer, budget) {
  rows.push({ name, wall: m.wall, rss: m.rss, peer, budget });
}

// 1. Unprivileged, default options, as NRPE runs it.
const asRoot = process.getuid?.() === 0;
const unpriv = asRoot ? NOBODY : [];
const commanderOnly = await floorBundle(
  'commander-only',
  "const { Command } = require('commander'); new Command('c').option('-w, --warning <range>').option('-c, --critical <range>').parse();",
);
const [nodeAlone, plugin, commanderFloor] = measure(
  [...unpriv, NODE, '-e', '0'],
  [...unpriv, NODE, BUNDLE, '--state-file', stateFile('unprivileged', asRoot ? 65534 : 0)],
  [...unpriv, NODE, commanderOnly, '-w', '80%'],
);
row('node -e 0 (unprivileged)', nodeAlone);
row('check_conntrack, defaults, unprivileged', plugin, nodeAlone, { wall: 1.3, rss: 1.2 });
row('  floor: commander alone, bundled as the plugin is', commanderFloor, nodeAlone);

// 2. As root: the kernel log and the rule listings, against node plus each program alone.
if (asRoot) {
  const rootArgv = [NODE, BUNDLE, '--state-file', stateFile('root')];
  const programs = programsStarted(rootArgv);
  // node:child_process starting the same programs at once and reading their output: no plugin around it.
  const spawnOnly = await floorBundle(
    'spawn-only',
    `const { spawn } = require('node:child_process');
     for (const [file, ...args] of ${JSON.stringify(programs)}) spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin' } }).stdout.resume();`,
  );
  const [rootNode, rootPlugin, spawnFloor, ...alone] = measure([NODE, '-e', '0'], rootArgv, [NODE, spawnOnly], ...programs);
  let sum = rootNode.wall;
  programs.forEach((p, i) => {
    sum += alone[i].wall;
    row(`  ${p.join(' ')}`, alone[i]);
  });
  row('node -e 0 + those programs (sum)', { wall: sum, rss: rootNode.rss });
  row('check_conntrack, defaults, root (kmsg + rules)', rootPlugin, { wall: sum, rss: rootNode.rss }, { wall: 1.3 });
  row('  floor: node starting those programs, nothing else', spawnFloor, { wall: sum, rss: rootNode.rss });
}

// 3. As root on Kubernetes-sized rule sets, each in a namespace of its own
// (deleted afterwards): the check against the one listing that answers alone.
if (asRoot) {
  const { deleteNamespace, iptablesRules, IP, namespaceWith, nftRules } = await import('./support/rulesets.mjs');
  const RULES = 20_000;
  const cases = [
    {
      ns: 'cc-bench-rules-ipt',
      what: `${RULES.toLocaleString('en')} iptables-nft rules + MASQUERADE`,
      loader: ['/usr/sbin/iptables-nft-restore'],
      text: iptablesRules(RULES),
      peer: ['/usr/sbin/iptables-nft-save'],
    },
    {
      ns: 'cc-bench-rules-nft',
      what: `${RULES.toLocaleString('en')} native nft rules (kube-proxy nftables)`,
      loader: ['/usr/sbin/nft', '-f'],
      text: nftRules(RULES),
      peer: ['/usr/sbin/nft', 'list', 'ruleset'],
    },
  ];
  const made = new Set();
  const removeAll = () => [...made].every((ns) => deleteNamespace(ns) && made.delete(ns));
  const onSignal = (signal) => {
    removeAll();
    process.kill(process.pid, signal);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(sig, onSignal);
  try {
    for (const c of cases) {
      made.add(c.ns);
      namespaceWith(c.ns, c.loader, c.text, scratch);
      const inNs = (argv) => [IP, 'netns', 'exec', c.ns, ...argv];
      const [nodeNs, check, peer] = measureRuns(
        Math.min(RUNS, 7),
        inNs([NODE, '-e', '0']),
        inNs([NODE, BUNDLE, '--state-file', stateFile(c.ns)]),
        inNs(c.peer),
      );
      row(`node -e 0 (in the namespace)`, nodeNs);
      row(`  ${c.peer.join(' ')} (${c.what})`, peer);
      row(`check_conntrack, defaults, root (${c.what})`, check, peer, { wall: 1.3, rss: 1.3 });
      if (check.rss > 1.3 * peer.rss && nodeNs.rss > 1.3 * peer.rss) {
        reasons.push(
          `${c.what}: node itself peaks at ${(nodeNs.rss / 1024).toFixed(1)} MiB doing nothing, x${(nodeNs.rss / peer.rss).toFixed(2)} of ${c.peer[0].split('/').pop()}'s ${(peer.rss / 1024).toFixed(1)} MiB: no node program can meet x1.3 of it`,
        );
      }
      if (check.wall > 1.3 * peer.wall) {
        reasons.push(
          `${c.what}: node's own start takes ${nodeNs.wall.toFixed(3)} s of the check's ${check.wall.toFixed(3)} s; the listing alone ${peer.wall.toFixed(3)} s`,
        );
      }
      deleteNamespace(c.ns);
      made.delete(c.ns);
    }
  } finally {
    if (!removeAll()) console.error(`could not delete every namespace: ${[...made].join(', ')}`);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeListener(sig, onSignal);
  }
}

// 4. The log scan of a 1,000,000-line kernel log, against grep -c.
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
  const [grep, scan] = measure(['/usr/bin/grep', '-c', 'table full', log], [NODE, BUNDLE, '--no-state', '--kernel-log', log]);
  row("grep -c 'table full' (1,000,000 lines)", grep);
  row('check_conntrack --kernel-log FILE (same file)', scan, grep, { wall: 4 });
} finally {
  rmSync(work, { recursive: true, force: true });
}

// What this shell's environment would have added to node itself, for comparison with figures taken in it.
const inherited = ['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS'].filter((k) => process.env[k]);
const notes = [];
if (inherited.length) {
  const [inShell] = measureIn({ ...CLEAN_ENV, ...Object.fromEntries(inherited.map((k) => [k, process.env[k]])) }, [NODE, '-e', '0']);
  notes.push(
    `this shell sets ${inherited.join(' and ')}: node -e 0 takes ${inShell.wall.toFixed(3)} s with it, left out above as NRPE, Icinga 2 and cron leave it out`,
  );
}

// The table.
const pad = (s, n) => String(s).padEnd(n);
console.log(`${RUNS} runs each, in turn, medians; node ${process.version}; environment: PATH only, as NRPE, Icinga 2 and cron give`);
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
for (const n of notes) console.log(`note: ${n}`);
for (const r of reasons) console.log(`why: ${r}`);
process.exitCode = failed ? 1 : 0;
