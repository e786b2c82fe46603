/**
 * Fault tests run the real bundle against real (fake) programs: no mocks and
 * no test hooks in the plugin. A program the plugin runs is replaced by a
 * script of ours through a bind mount in a private mount namespace, which only
 * the plugin (and what it starts) can see:
 *
 *   /usr/bin/time -f %M -o RSS \
 *     unshare --mount --net --propagation private -- /bin/sh -c \
 *       'iptables-legacy -L; nft add table ...; mount --bind FAKE /usr/bin/dmesg && exec NODE BUNDLE ARGS'
 *
 * unshare and sh exec, so the plugin keeps the PID (and /proc/$$ names it).
 * The mounts vanish with the namespace's last process; the host never sees
 * them. The fresh network namespace gets a table of each kind first (with
 * the real programs), because the plugin starts a rule listing only where
 * there are tables to list; the host's own rules stay out of it. Everything here uses absolute paths and argument arrays; the only
 * shell is that one-line wrapper in the test harness.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeReady, isRoot, notRootReason, readiness, type Readiness } from '../support/readiness';
import { BUNDLE } from '../support/bundle';

export const FAKES_DIR = join(__dirname, 'bin');
export const UNSHARE = '/usr/bin/unshare';
export const MOUNT = '/usr/bin/mount';
export const TIME = '/usr/bin/time';
export const SETPRIV = '/usr/bin/setpriv';
export const MKNOD = '/usr/bin/mknod';
const SH = '/bin/sh';
const BASH = '/bin/bash';

/** The plugin's own search order (src/probes/commands.ts SEARCH_DIRS), never $PATH. */
const SEARCH_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export type FakeKind = 'hang' | 'crash' | 'garbage' | 'flood' | 'orphan';

export const STATUS_LINE = /^CONNTRACK (OK|WARNING|CRITICAL|UNKNOWN) - \S/;
export const STATE_CODES: Record<string, number> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };

// ------------------------------------------------------------ prerequisites

export { isRoot };

/** Whether the fault tests can run here (see test/support/readiness.ts for what skips and what fails). */
export function faultReadiness(extra: readonly string[] = []): Readiness {
  const root = notRootReason('private mount namespaces, bind mounts and other uids need root');
  if (root !== undefined) return readiness({ root });
  const missing = [UNSHARE, MOUNT, TIME, BASH, SH, ...extra].filter((p) => !executable(p));
  if (!existsSync(BUNDLE)) missing.push(`${BUNDLE} (run 'node build.mjs' first)`);
  let reason: string | undefined;
  if (missing.length) reason = `missing: ${missing.join(', ')}`;
  else {
    // unshare may be refused inside a container even as root.
    const probe = spawnSync(UNSHARE, ['--mount', '--net', '--propagation', 'private', '--', '/bin/true'], {
      timeout: 5_000,
      encoding: 'utf8',
    });
    if (probe.status !== 0)
      reason = `cannot create a private mount and network namespace: ${(probe.stderr || probe.error?.message || `exit ${probe.status}`).trim()}`;
  }
  return readiness({ missing: reason });
}

/** describe() for fault tests: skipped visibly, or failing under CI, when they cannot run here. */
export function describeFaults(title: string, body: () => void, extra: readonly string[] = []): void {
  describeReady('fault tests', title, faultReadiness(extra), body);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where the plugin will find `name`: the first executable in its search directories. */
export function programPath(name: string): string | undefined {
  return SEARCH_DIRS.map((d) => `${d}/${name}`).find(executable);
}

// ---------------------------------------------------------------- scratch

let serial = 0;

export interface Work {
  readonly dir: string;
  /** A string no other process on the host has in its command line. */
  readonly marker: string;
  dispose(): void;
}

export function makeWork(label: string): Work {
  const dir = mkdtempSync(join(tmpdir(), `cc-faults-${label}-`));
  serial += 1;
  const marker = `cc-fault-${label}-${process.pid}-${serial}-${Math.random().toString(36).slice(2, 10)}`;
  return { dir, marker, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Writes test/faults/bin/<kind>.sh into the scratch directory with its
 * placeholders filled; `program` is the name it stands in for (under any
 * other name, as the twin of a multi-call binary, it behaves like an empty
 * listing).
 */
export function renderFake(work: Work, kind: FakeKind, program: string): string {
  const template = readFileSync(join(FAKES_DIR, `${kind}.sh`), 'utf8');
  const text = template.replaceAll('@WORK@', work.dir).replaceAll('@MARKER@', work.marker).replaceAll('@TARGET@', program);
  const path = join(work.dir, `fake-${kind}-${(serial += 1)}`);
  writeFileSync(path, text);
  chmodSync(path, 0o755);
  return path;
}

/** A character device no driver answers (open() fails with ENXIO), to stand in for an unreadable /dev/kmsg. */
export function deadDevice(work: Work): string {
  const used = new Set(
    readFileSync('/proc/devices', 'utf8')
      .split('Block devices:')[0]!
      .split('\n')
      .map((l) => Number.parseInt(l, 10))
      .filter((n) => Number.isInteger(n)),
  );
  const major = [240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254].find((m) => !used.has(m));
  if (major === undefined) throw new Error('no unused character major between 240 and 254');
  const path = join(work.dir, 'dead-device');
  const r = spawnSync(MKNOD, [path, 'c', String(major), '0'], { encoding: 'utf8', timeout: 5_000 });
  if (r.status !== 0) throw new Error(`mknod ${path}: ${r.stderr || r.error?.message}`);
  return path;
}

// ------------------------------------------------------------------- runs

export interface Substitution {
  /** The fake, as written by renderFake. */
  readonly fake: string;
  /** The path the plugin runs (bind mounts follow symlinks: /usr/sbin/iptables-legacy-save covers xtables-legacy-multi). */
  readonly target: string;
}

export interface FaultRunOptions {
  readonly work: Work;
  readonly substitutions: readonly Substitution[];
  readonly args: readonly string[];
  /** Hide /proc/net from the plugin (a tmpfs over /proc/<its pid>/net), so it has no stat file and asks `conntrack -S`. */
  readonly hideProcNet?: boolean;
  /** Bind this over /dev/kmsg, so that reading it fails. */
  readonly kmsg?: string;
  /**
   * Run in a fresh network namespace with an iptables-legacy table (IPv4 and
   * IPv6) and an nftables table of each family, made with the real programs
   * before any fake is mounted: the plugin starts a listing only where there
   * are tables to list, and the host's own rules stay out of the test.
   * Default true.
   */
  readonly tables?: boolean;
  /** The harness gives up (and kills the whole session) after this long: a bound on the test, not the assertion. */
  readonly hardTimeoutMs?: number;
}

export interface FaultRun extends PlainRun {
  /** The private mount namespace (`mnt:[inode]`): every process the plugin started is in it. */
  readonly mntNs: string;
}

/** Real tables in the run's own network namespace, made with the real programs (before the fakes are mounted). */
function tableSetup(): string[] {
  const steps: string[] = [];
  for (const name of ['iptables-legacy', 'ip6tables-legacy']) {
    const path = programPath(name);
    // Listing a table in a namespace instantiates it there: /proc/net/ip{,6}_tables_names then names it.
    if (path) steps.push(`${quote(path)} -w 5 -t filter -n -L >/dev/null`);
  }
  const nft = programPath('nft');
  if (nft) steps.push(`${quote(nft)} add table ip cc_faults`, `${quote(nft)} add table ip6 cc_faults`);
  return steps;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

interface Spawned {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  killedByHarness: boolean;
}

/**
 * Runs argv in its own session, so the harness can kill every process of a
 * runaway run at once, and kills the session after hardTimeoutMs. Timed to
 * 'exit' it waits at most 2 s more for the pipes (an orphan a fake left behind
 * may hold them open); timed to 'close' it waits for both.
 */
async function spawnBounded(argv: readonly string[], hardTimeoutMs: number, until: 'exit' | 'close'): Promise<Spawned> {
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  let killedByHarness = false;
  const hard = setTimeout(() => {
    killedByHarness = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, hardTimeoutMs);
  const { code, signal, wallMs } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; wallMs: number }>(
    (resolve, reject) => {
      child.once('error', reject);
      child.once(until, (c: number | null, s: NodeJS.Signals | null) =>
        resolve({ code: c, signal: s, wallMs: performance.now() - started }),
      );
    },
  );
  if (until === 'exit') {
    await new Promise<void>((resolve) => {
      if (child.stdout.readableEnded && child.stderr.readableEnded) return resolve();
      const t = setTimeout(resolve, 2_000);
      child.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  clearTimeout(hard);
  return { code, signal, stdout, stderr, wallMs, killedByHarness };
}

/** stdout as lines, without the empty one after its final newline. */
const outputLines = (stdout: string) => stdout.split('\n').filter((l, i, all) => !(l === '' && i === all.length - 1));

export async function runFaulted(options: FaultRunOptions): Promise<FaultRun> {
  const { work } = options;
  const nsFile = join(work.dir, 'mntns');
  const rssFile = join(work.dir, 'rss');
  const steps = ['set -e'];
  const tables = options.tables ?? true;
  if (tables) steps.push(...tableSetup());
  if (options.hideProcNet) steps.push('mount -t tmpfs -o size=64k,mode=0555 cc-faults /proc/$$/net');
  if (options.kmsg) steps.push(`mount --bind ${quote(options.kmsg)} /dev/kmsg`);
  for (const s of options.substitutions) steps.push(`mount --bind ${quote(s.fake)} ${quote(s.target)}`);
  // Written only once every mount is in place: its absence means the setup failed.
  steps.push(`readlink /proc/$$/ns/mnt > ${quote(nsFile)}`);
  steps.push('exec "$@"');
  const argv = [
    TIME,
    '-f',
    '%M',
    '-o',
    rssFile,
    UNSHARE,
    '--mount',
    ...(tables ? ['--net'] : []),
    '--propagation',
    'private',
    '--',
    SH,
    '-c',
    steps.join('\n'),
    'cc-faults-sh',
    process.execPath,
    BUNDLE,
    ...options.args,
  ];
  const { code, signal, stdout, stderr, wallMs, killedByHarness } = await spawnBounded(argv, options.hardTimeoutMs ?? 30_000, 'exit');

  let mntNs: string;
  try {
    mntNs = readFileSync(nsFile, 'utf8').trim();
  } catch {
    throw new Error(`the fault setup failed (no private mount namespace was made ready): exit ${code ?? signal}; stderr: ${stderr.trim()}`);
  }
  if (mntNs === readlinkSync('/proc/self/ns/mnt'))
    throw new Error(`the plugin ran in the test's own mount namespace (${mntNs}): the bind mounts would have touched the host`);
  // /usr/bin/time writes "Command exited with non-zero status N" before the figure.
  let peakRssKb: number | undefined;
  try {
    const last = readFileSync(rssFile, 'utf8').trim().split('\n').pop() ?? '';
    peakRssKb = /^\d+$/.test(last) ? Number(last) : undefined;
  } catch {
    peakRssKb = undefined;
  }
  const lines = outputLines(stdout);
  return { code, signal, stdout, stderr, lines, status: lines[0] ?? '', wallMs, peakRssKb, mntNs, killedByHarness };
}

// -------------------------------------------------------------- leftovers

interface ProcInfo {
  pid: number;
  state: string;
  cmdline: string;
  mntNs?: string;
}

function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ...": comm may hold spaces and parentheses; the state follows the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    let mntNs: string | undefined;
    try {
      mntNs = readlinkSync(`/proc/${pid}/ns/mnt`);
    } catch {
      mntNs = undefined;
    }
    return { pid, state, cmdline, mntNs };
  } catch {
    return undefined;
  }
}

/** A process that exists and is not a zombie (a zombie has ended; only its parent's wait is missing). */
function living(pid: number): ProcInfo | undefined {
  const info = readProc(pid);
  return info && info.state !== 'Z' && info.state !== 'X' ? info : undefined;
}

export function recordedPids(work: Work): number[] {
  try {
    return readFileSync(join(work.dir, 'pids'), 'utf8')
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
  } catch {
    return [];
  }
}

export interface Leftover {
  pid: number;
  why: string;
  cmdline: string;
}

function scanLeftovers(work: Work, mntNs: string): Leftover[] {
  const found = new Map<number, Leftover>();
  for (const pid of recordedPids(work)) {
    const p = living(pid);
    // A recorded PID may have been reused by an unrelated process since (PIDs
    // wrap within minutes here): only the fake itself, which carries the
    // marker or sits in the run's mount namespace, counts.
    if (p && (p.cmdline.includes(work.marker) || p.mntNs === mntNs)) {
      found.set(pid, { pid, why: 'a fake the plugin started (its recorded PID) is still alive', cmdline: p.cmdline });
    }
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid || found.has(pid)) continue;
    const p = living(pid);
    if (!p) continue;
    if (p.cmdline.includes(work.marker))
      found.set(pid, { pid, why: `its command line carries the marker ${work.marker}`, cmdline: p.cmdline });
    else if (p.mntNs === mntNs)
      found.set(pid, { pid, why: `it is still in the run's private mount namespace ${mntNs}`, cmdline: p.cmdline });
  }
  return [...found.values()];
}

/**
 * Processes the run left behind: the fakes' recorded PIDs, anything whose
 * command line carries the run's marker, anything still in the run's private
 * mount namespace. Waits up to `graceMs` for a process killed at the end of
 * the run to be gone (SIGKILL is not instantaneous), then reports what is left.
 */
export async function leftovers(work: Work, mntNs: string, graceMs = 1_000): Promise<Leftover[]> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const left = scanLeftovers(work, mntNs);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Ends what a run left behind (only processes this test caused: recorded, marked or in its namespace). */
export async function killLeftovers(work: Work, mntNs: string | undefined): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const left = mntNs
      ? scanLeftovers(work, mntNs)
      : recordedPids(work)
          .filter((p) => living(p)?.cmdline.includes(work.marker))
          .map((pid) => ({ pid }));
    if (left.length === 0) return;
    for (const { pid } of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone in between
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Bytes the flood fakes managed to write, per PID. */
export function floodSent(work: Work): number[] {
  return readdirSync(work.dir)
    .filter((f) => f.startsWith('sent-'))
    .map((f) => Number(readFileSync(join(work.dir, f), 'utf8').trim()) || 0);
}

// --------------------------------------------------------------- verdicts

/** Nagios' contract: one status line that names a state, and the exit code of that state. */
export function statusProblems(run: PlainRun): string[] {
  const problems: string[] = [];
  if (run.killedByHarness) problems.push('the harness had to kill the run');
  if (run.code === null || run.code < 0 || run.code > 3) problems.push(`exit code ${run.code ?? `signal ${run.signal}`} is not 0..3`);
  const m = STATUS_LINE.exec(run.status);
  if (!m) problems.push(`not a status line: ${JSON.stringify(run.status.slice(0, 200))}`);
  else if (STATE_CODES[m[1]!] !== run.code) problems.push(`status ${m[1]} but exit code ${run.code}`);
  if (/^\s+at .+[(:]\d+/m.test(run.stdout) || /^\s+at .+[(:]\d+/m.test(run.stderr)) problems.push('a stack trace was printed');
  if (run.stderr.trim() !== '') problems.push(`stderr is not empty: ${JSON.stringify(run.stderr.slice(0, 300))}`);
  return problems;
}

export function describeRun(run: PlainRun): string {
  return `exit ${run.code ?? run.signal} after ${Math.round(run.wallMs)} ms, peak RSS ${run.peakRssKb ?? '?'} KiB\n--- stdout ---\n${run.stdout.slice(0, 6_000)}\n--- stderr ---\n${run.stderr.slice(0, 2_000)}`;
}

/**
 * Words that say a source failed, was cut short or was given up on, as
 * opposed to "0 messages found". Lenient on wording: any of these beside the
 * program's name will do.
 */
export const FAILURE_WORDS =
  /no answer|timed? ?out|\bkilled\b|\bSIG[A-Z]{2,}|exit (?:code|status)|unexpected|unrecogni[sz]ed|not understood|cannot|could not|\bfailed\b|not readable|unreadable|cut off|cut short|truncated|garbage|not run|no time|skipped|gave up|still running|did not (?:finish|answer|end)/i;

/**
 * The output lines that name `program` (its path, or its name as a word:
 * "dmesg output was cut off") together with a failure word.
 */
export function linesBlaming(run: FaultRun, program: string): string[] {
  const base = program.slice(program.lastIndexOf('/') + 1);
  const word = new RegExp(`(?<![\\w.-])${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w.-])`, 'g');
  return run.lines.filter((l) => {
    const without = l.replaceAll(program, ' ').replace(word, ' ');
    return without !== l && FAILURE_WORDS.test(without);
  });
}

// ---------------------------------------------------------- plain bundle runs

export interface PlainRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly lines: string[];
  readonly status: string;
  /** From spawn to exit of the process that became the plugin (runFaulted), or to the close of its pipes (runBundleAsync). */
  readonly wallMs: number;
  /** Peak RSS of the plugin (and anything it waited for), from /usr/bin/time, in KiB; runBundleAsync does not measure it. */
  readonly peakRssKb: number | undefined;
  /** The harness had to kill the run. */
  readonly killedByHarness: boolean;
}

/**
 * Runs the bundle without waiting synchronously, so that many can run at once.
 * `prefix` goes before node (setpriv to another user); `umask` is set by a
 * one-line sh wrapper first, to show the plugin's modes do not rest on it.
 */
export async function runBundleAsync(
  args: readonly string[],
  options: { prefix?: readonly string[]; umask?: string; hardTimeoutMs?: number } = {},
): Promise<PlainRun> {
  const inner = [...(options.prefix ?? []), process.execPath, BUNDLE, ...args];
  const argv = options.umask !== undefined ? [SH, '-c', `umask ${options.umask} && exec "$@"`, 'cc-faults-sh', ...inner] : inner;
  const { code, signal, stdout, stderr, wallMs, killedByHarness } = await spawnBounded(argv, options.hardTimeoutMs ?? 60_000, 'close');
  const lines = outputLines(stdout);
  return { code, signal, stdout, stderr, lines, status: lines[0] ?? '', wallMs, peakRssKb: undefined, killedByHarness };
}

// ------------------------------------------------------------- other users

/**
 * Uids no one uses here: no passwd or group entry, no process, and no
 * /var/tmp/check_conntrack-<uid> (a leftover is never ours to delete).
 * Scanned downwards from 64999.
 */
export function unusedUids(count: number): number[] {
  const named = (file: string) =>
    new Set(
      readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => Number(l.split(':')[2]))
        .filter((n) => Number.isInteger(n)),
    );
  const users = named('/etc/passwd');
  const groups = named('/etc/group');
  const running = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const m = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'));
      for (const u of m?.slice(1) ?? []) running.add(Number(u));
    } catch {
      // gone
    }
  }
  const found: number[] = [];
  for (let uid = 64999; uid > 64000 && found.length < count; uid--) {
    if (users.has(uid) || groups.has(uid) || running.has(uid)) continue;
    if (existsOrLink(`/var/tmp/check_conntrack-${uid}`)) continue;
    found.push(uid);
  }
  if (found.length < count) throw new Error(`found only ${found.length} unused uids between 64001 and 64999`);
  return found;
}

export function existsOrLink(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export function asUser(uid: number): string[] {
  return [SETPRIV, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--'];
}
