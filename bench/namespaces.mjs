#!/usr/bin/env node
// How long `--namespaces all` takes on a busy host: N named namespaces
// (`ip netns add cc-bench-<i>`) with P `sleep 600` processes in each, then the
// built bundle timed with /usr/bin/time over several runs, next to `node -e 0`
// (Node's own start-up) and the host-only check.
//
//   node build.mjs && node bench/namespaces.mjs [--namespaces 200] [--per 10] [--runs 5]
//
// Root only. Touches nothing but namespaces named cc-bench-<i> and the sleeps it
// starts; it always kills the sleeps and deletes the namespaces, on success,
// failure, SIGINT, SIGTERM, SIGHUP and when its overall time limit runs out. If
// it is SIGKILLed the sleeps end by themselves after 600 s; the namespaces are
// then left behind and the next run refuses to start until `--clean-stale`.
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { alive, ENV, mustRun, run } from './support/commands.mjs';
import { runGuarded } from './support/guarded.mjs';
import { median, TIME, timeOnce } from './support/timing.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(REPO, 'dist/check_conntrack');
const IP = '/usr/sbin/ip';
const SLEEP = '/usr/bin/sleep';
const NETNS_DIR = '/run/netns';
const PREFIX = 'cc-bench-';
const OURS = new RegExp(`^${PREFIX}\\d+$`);
const LOCK = '/run/cc-bench-namespaces.lock';

const RUN_TIMEOUT_MS = 60_000;
const SETTLE_TIMEOUT_MS = 60_000;
const OVERALL_TIMEOUT_MS = 15 * 60_000;
const SPAWN_BATCH = 50;

// ------------------------------------------------------------------ arguments

function parseArgs(argv) {
  const opts = { namespaces: 200, per: 10, runs: 5, cleanStale: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const number = (max) => {
      const value = argv[++i];
      if (!/^\d+$/.test(value ?? '') || Number(value) < 1 || Number(value) > max) usage(`${arg} needs a whole number from 1 to ${max}`);
      return Number(value);
    };
    if (arg === '--namespaces') opts.namespaces = number(2000);
    else if (arg === '--per') opts.per = number(100);
    else if (arg === '--runs') opts.runs = number(50);
    else if (arg === '--clean-stale') opts.cleanStale = true;
    else if (arg === '-h' || arg === '--help') usage();
    else usage(`unknown argument ${arg}`);
  }
  if (opts.namespaces * opts.per > 20_000) usage('at most 20,000 processes');
  return opts;
}

function usage(error) {
  const text = 'usage: node bench/namespaces.mjs [--namespaces 200] [--per 10] [--runs 5] [--clean-stale]';
  if (error) {
    console.error(`${error}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

// ------------------------------------------------------------------- commands

function existingBenchNamespaces() {
  try {
    return readdirSync(NETNS_DIR).filter((n) => OURS.test(n));
  } catch (err) {
    if (err.code === 'ENOENT') return [];
    throw err;
  }
}

// ---------------------------------------------------------------- what we own

const created = []; // namespace names
const sleepers = new Map(); // pid -> ChildProcess
let lockHeld = false;
let cleanedUp = false;

function takeLock() {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(LOCK, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid }));
      closeSync(fd);
      lockHeld = true;
      return;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    let owner;
    try {
      owner = JSON.parse(readFileSync(LOCK, 'utf8')).pid;
    } catch {
      owner = undefined;
    }
    if (typeof owner === 'number' && alive(owner)) throw new Error(`another benchmark (pid ${owner}) is running: ${LOCK}`);
    unlinkSync(LOCK);
  }
  throw new Error(`cannot take ${LOCK}`);
}

/** Synchronous, so that a signal handler can run it to the end; safe to call twice. */
function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  const errors = [];
  for (const [pid, child] of sleepers) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    try {
      // Still our child (not yet reaped), so the pid cannot have been reused.
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if (err.code !== 'ESRCH') errors.push(`kill ${pid}: ${err.message}`);
    }
  }
  // Wait (bounded, synchronously: a signal handler runs this) until each sleep is dead or a zombie.
  const deadline = Date.now() + 10_000;
  let living = [...sleepers.keys()];
  while (living.length && Date.now() < deadline) {
    living = living.filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
      } catch {
        return false;
      }
    });
    if (living.length) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
  if (living.length) errors.push(`${living.length} sleeps still alive after SIGKILL (e.g. pid ${living[0]})`);
  // A namespace goes once its last process and its bind mount are gone; the
  // mount goes now, the processes are gone already.
  for (const name of created.splice(0).reverse()) {
    const r = run([IP, 'netns', 'delete', name]);
    if (r.status !== 0 && existsSync(join(NETNS_DIR, name))) errors.push(`ip netns delete ${name}: ${r.stderr.trim()}`);
  }
  if (lockHeld) {
    try {
      unlinkSync(LOCK);
    } catch {
      // gone already
    }
    lockHeld = false;
  }
  if (errors.length)
    console.error(
      `cleanup problems:\n  ${errors.slice(0, 20).join('\n  ')}${errors.length > 20 ? `\n  ... ${errors.length - 20} more` : ''}`,
    );
  return errors.length === 0;
}

// ------------------------------------------------------------------- the host

function nsInode(name) {
  return statSync(join(NETNS_DIR, name)).ino;
}

function netnsOf(pid) {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

function commOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

async function buildHost(opts) {
  const t0 = performance.now();
  const want = new Map(); // pid -> expected ns link
  for (let i = 0; i < opts.namespaces; i += 1) {
    const name = `${PREFIX}${i}`;
    mustRun([IP, 'netns', 'add', name]);
    created.push(name);
  }
  const tAdded = performance.now();
  const hostNs = netnsOf(process.pid);
  const jobs = [];
  for (const name of created) for (let k = 0; k < opts.per; k += 1) jobs.push(name);
  for (let start = 0; start < jobs.length; start += SPAWN_BATCH) {
    const batch = jobs.slice(start, start + SPAWN_BATCH);
    await Promise.all(
      batch.map(
        (name) =>
          new Promise((resolveSpawn, rejectSpawn) => {
            // `ip netns exec` execs the command, so the pid we get is the sleep's.
            const child = spawn(IP, ['netns', 'exec', name, SLEEP, '600'], { detached: true, stdio: 'ignore', env: ENV });
            child.once('error', (err) => rejectSpawn(new Error(`ip netns exec ${name} sleep: ${err.message}`)));
            child.once('spawn', () => {
              sleepers.set(child.pid, child);
              want.set(child.pid, `net:[${nsInode(name)}]`);
              child.unref();
              resolveSpawn();
            });
          }),
      ),
    );
  }
  // Wait until every sleep is in its namespace (setns and exec have happened).
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const dead = [...sleepers.values()].filter((c) => c.exitCode !== null || c.signalCode !== null);
    if (dead.length)
      throw new Error(`${dead.length} of the sleeps exited early (e.g. pid ${dead[0].pid}: ${dead[0].exitCode ?? dead[0].signalCode})`);
    const pending = [...want].filter(([pid, link]) => netnsOf(pid) !== link || commOf(pid) !== 'sleep');
    if (pending.length === 0) break;
    if (Date.now() > deadline)
      throw new Error(
        `${pending.length} sleeps not in their namespace after ${SETTLE_TIMEOUT_MS} ms (e.g. pid ${pending[0][0]}: ${netnsOf(pending[0][0])}, host ${hostNs})`,
      );
    await sleep(100);
  }
  return { addMs: tAdded - t0, spawnMs: performance.now() - tAdded };
}

// ---------------------------------------------------------------------- timing

function timed(argv, scratch) {
  return timeOnce(argv, scratch, { timeoutMs: RUN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
}

function series(label, argv, runs, scratch) {
  const results = [];
  for (let i = 0; i < runs; i += 1) results.push(timed(argv, scratch));
  return {
    label,
    results,
    wall: median(results.map((r) => r.seconds)),
    wallMin: Math.min(...results.map((r) => r.seconds)),
    wallMax: Math.max(...results.map((r) => r.seconds)),
    rss: Math.max(...results.map((r) => r.rssKb)),
    rssMedian: median(results.map((r) => r.rssKb)),
  };
}

/** What a correct `--namespaces all` run on this host must say. */
function checkOutput(run, opts) {
  const problems = [];
  const status = run.stdout.split('\n')[0] ?? '';
  const perf = new Map(
    (status.split(' | ')[1] ?? '')
      .trim()
      .split(/\s+/)
      .map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1).split(';')[0]]),
  );
  const found = Number(perf.get('namespaces'));
  const expectedAtLeast = opts.namespaces + 1;
  if (!(found >= expectedAtLeast))
    problems.push(`namespaces=${perf.get('namespaces')}, expected at least ${expectedAtLeast} (ours + the host's)`);
  const summary = /^namespaces: (\d+) found, (\d+) checked besides this one(?:, (\d+) not read)?$/m.exec(run.stdout);
  if (!summary) problems.push('no "namespaces: N found, M checked" line in the long output');
  else {
    if (Number(summary[1]) !== found) problems.push(`long output says ${summary[1]} found, perfdata ${found}`);
    if (Number(summary[2]) !== found - 1) problems.push(`${summary[2]} checked besides this one, expected ${found - 1}`);
    if (summary[3]) problems.push(`${summary[3]} namespaces not read`);
  }
  const ours = new Set(created);
  const listed = [...run.stdout.matchAll(/^ {2}netns (cc-bench-\d+) \((\d+)\): (.*)$/gm)];
  for (const [, name, inode, text] of listed) {
    if (!ours.has(name)) problems.push(`lists unknown ${name}`);
    else if (String(nsInode(name)) !== inode) problems.push(`${name} listed with inode ${inode}, /run/netns says ${nsInode(name)}`);
    if (!/^0\.0% of table used \(0 of \d+ entries\)$/.test(text)) problems.push(`${name}: ${text} (expected 0 entries: no rules there)`);
  }
  // Our namespaces are all empty, so only something else on the host (the
  // host itself, someone's test namespace) may make the run anything but OK.
  const notes = [];
  if (run.code !== 0 || !status.startsWith('CONNTRACK OK - ')) {
    if (/^CONNTRACK \w+ - netns cc-bench-/.test(status)) problems.push(`led by one of ours: ${status}`);
    else notes.push(`exit code ${run.code}, not because of the bench namespaces: ${status.split(' | ')[0]}`);
  }
  if (run.stderr.trim()) problems.push(`stderr: ${run.stderr.trim()}`);
  return { status, found, listed: listed.length, problems, notes };
}

// ------------------------------------------------------------------------ main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (process.getuid() !== 0) throw new Error('run as root: ip netns add needs it');
  for (const p of [IP, TIME, SLEEP, BUNDLE])
    if (!existsSync(p)) throw new Error(`${p} is missing${p === BUNDLE ? ": run 'node build.mjs' first" : ''}`);

  takeLock();
  const stale = existingBenchNamespaces();
  if (stale.length && !opts.cleanStale)
    throw new Error(
      `${stale.length} ${PREFIX}* namespaces left by an earlier run (e.g. ${stale[0]}): rerun with --clean-stale to delete them`,
    );
  for (const name of stale) mustRun([IP, 'netns', 'delete', name]);

  const scratch = mkdtempSync(join(tmpdir(), 'cc-bench-'));
  try {
    console.log(`building: ${opts.namespaces} namespaces x ${opts.per} sleeps = ${opts.namespaces * opts.per} processes`);
    const build = await buildHost(opts);
    const processes = readdirSync('/proc').filter((e) => /^\d+$/.test(e)).length;
    console.log(
      `  ip netns add: ${(build.addMs / 1000).toFixed(1)} s, sleeps started and settled: ${(build.spawnMs / 1000).toFixed(1)} s; ${processes} processes on the host now`,
    );

    const node = process.execPath;
    const all = [node, BUNDLE, '--namespaces', 'all', '--no-state', '--kernel-log', 'none'];
    // One untimed run first: the page cache, not the plugin, would otherwise pay for the first read of the bundle.
    timed(all, scratch);
    const rows = [
      series('node -e 0', [node, '-e', '0'], opts.runs, scratch),
      series('check_conntrack (host only)', [node, BUNDLE, '--no-state', '--kernel-log', 'none'], opts.runs, scratch),
      series(`check_conntrack --namespaces all`, all, opts.runs, scratch),
    ];

    const verbose = timed([...all, '-v', '--top', '3'], scratch);
    const check = checkOutput(verbose, opts);

    const pad = (s, n) => String(s).padEnd(n);
    const padL = (s, n) => String(s).padStart(n);
    console.log(`\n${opts.runs} runs each, node ${process.version}, ${processes} processes, ${opts.namespaces} bench namespaces`);
    console.log(`${pad('command', 36)}${padL('median s', 10)}${padL('min s', 8)}${padL('max s', 8)}${padL('peak RSS MiB', 14)}`);
    for (const r of rows) {
      console.log(
        `${pad(r.label, 36)}${padL(r.wall.toFixed(2), 10)}${padL(r.wallMin.toFixed(2), 8)}${padL(r.wallMax.toFixed(2), 8)}${padL((r.rss / 1024).toFixed(1), 14)}`,
      );
    }
    const [bare, host, nsAll] = rows;
    console.log(
      `\n--namespaces all costs ${((nsAll.wall - host.wall) * 1000).toFixed(0)} ms over the host-only check, ${((nsAll.wall - bare.wall) * 1000).toFixed(0)} ms over node -e 0`,
    );
    for (const r of rows) {
      const codes = [...new Set(r.results.map((x) => x.code))];
      if (codes.length !== 1 || (r.label !== 'node -e 0' && codes[0] !== 0))
        console.log(`  note: ${r.label} exit codes ${codes.join(', ')}`);
    }
    console.log(`\nplugin output (-v --top 3):\n${verbose.stdout.trimEnd()}`);
    console.log(
      `\ncheck of that output: namespaces=${check.found}, ${check.listed} cc-bench namespaces listed: ${check.problems.length ? `PROBLEMS:\n  ${check.problems.join('\n  ')}` : 'correct'}`,
    );
    for (const n of check.notes) console.log(`  note: ${n}`);
    return check.problems.length === 0;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

await runGuarded({
  main,
  cleanup,
  timeoutMs: OVERALL_TIMEOUT_MS,
  leftBehind: () => {
    const left = existingBenchNamespaces();
    return {
      summary: left.length ? `; ${left.length} namespaces LEFT: ${left.slice(0, 5).join(', ')}` : ', no cc-bench namespace left',
      clean: left.length === 0,
    };
  },
});
