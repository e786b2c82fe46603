/**
 * Helpers for tests against the real kernel: network namespaces of our own, a
 * nat rule that makes the kernel track them, loopback connections held open,
 * and the global nf_conntrack_max changed for the length of one callback.
 *
 * Everything runs as argument arrays with absolute paths and a timeout, never
 * through a shell, and touches only loopback traffic in namespaces named
 * `cctest-<pid>-<n>` that these helpers created.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll } from 'vitest';
import { describeReady, isRoot, notRootReason, readiness, type Readiness } from './readiness';

export const IP = '/usr/sbin/ip';
const IPTABLES_CANDIDATES = ['/usr/sbin/iptables-nft', '/usr/sbin/iptables'];
const CAT_CANDIDATES = ['/usr/bin/cat', '/bin/cat'];

export const COUNT_FILE = '/proc/sys/net/netfilter/nf_conntrack_count';
export const MAX_FILE = '/proc/sys/net/netfilter/nf_conntrack_max';
const NETNS_DIR = '/run/netns';
const PREFIX = 'cctest-';
const OURS = new RegExp(`^${PREFIX}(\\d+)-\\d+$`);

/** Kept in /run so that a run killed mid-test leaves the next run a way to put the value back. */
const MAX_LOCK = '/run/cctest-nf_conntrack_max.lock';
/** One kernel suite at a time across processes: they share the global max and each other's counts. */
const SUITE_LOCK = '/run/cctest-kernel-suite.lock';

const HOLDER_SCRIPT = join(__dirname, 'hold-connections.cjs');
const COMMAND_TIMEOUT_MS = 10_000;
const HOLDER_START_TIMEOUT_MS = 20_000;
const HOLDER_STOP_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------- prerequisites

function firstExisting(paths: readonly string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}

/** Throws unless we are root: namespaces, nat rules and nf_conntrack_max all need it. */
export function requireRoot(): void {
  if (!isRoot()) throw new Error(`kernel test helpers need root (uid is ${process.getuid?.() ?? 'unknown'})`);
}

export type KernelReadiness = Readiness;

/** Whether kernel tests can run here (see readiness.ts for what skips and what fails). */
export function kernelReadiness(extraPaths: readonly string[] = []): KernelReadiness {
  const missing: string[] = [];
  if (!existsSync(IP)) missing.push(`${IP} (iproute2)`);
  if (!firstExisting(IPTABLES_CANDIDATES)) missing.push(`${IPTABLES_CANDIDATES.join(' or ')} (iptables)`);
  if (!firstExisting(CAT_CANDIDATES)) missing.push(CAT_CANDIDATES.join(' or '));
  if (!existsSync(COUNT_FILE)) missing.push(`${COUNT_FILE} (the kernel has no connection tracking)`);
  if (!existsSync(HOLDER_SCRIPT)) missing.push(HOLDER_SCRIPT);
  for (const p of extraPaths) if (!existsSync(p)) missing.push(p);
  return readiness({
    root: notRootReason('namespaces and nf_conntrack_max need root'),
    missing: missing.length ? `missing: ${missing.join(', ')}` : undefined,
  });
}

/**
 * A describe() for real-kernel tests, skipped or failed by readiness. When
 * they can run, it takes the cross-process suite lock and clears leftovers of
 * crashed runs before and after.
 */
export function describeKernel(title: string, body: () => void, options: { needs?: readonly string[] } = {}): void {
  describeReady('kernel tests', title, kernelReadiness(options.needs), () => {
    let release: (() => void) | undefined;
    beforeAll(async () => {
      release = await acquireLock(SUITE_LOCK, () => ({}), 45_000);
      await cleanupAll();
    });
    afterAll(async () => {
      try {
        await cleanupAll();
      } finally {
        release?.();
      }
    });
    body();
  });
}

// ------------------------------------------------------------------- commands

export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runCommand(argv: readonly string[], timeoutMs: number): CommandResult {
  const [file, ...args] = argv;
  if (file === undefined || !file.startsWith('/')) throw new Error(`commands need an absolute path, got ${JSON.stringify(file)}`);
  const result = spawnSync(file, args, {
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  if (result.error) throw new Error(`${argv.join(' ')}: ${result.error.message}`);
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

function describeFailure(argv: readonly string[], r: CommandResult): string {
  const how = r.signal ? `killed by ${r.signal} (timeout?)` : `exit ${r.code}`;
  return `${argv.join(' ')}: ${how}${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`;
}

/** Runs argv and throws, with its stderr, unless it exits 0. */
export function mustRun(argv: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): CommandResult {
  const r = runCommand(argv, timeoutMs);
  if (r.code !== 0) throw new Error(describeFailure(argv, r));
  return r;
}

// ----------------------------------------------------------------- namespaces

export interface Namespace {
  readonly name: string;
  /** The nsfs inode: the number the kernel prints in "table full in netns N". */
  readonly inode: number;
  /** Deletes the namespace; safe to call twice. */
  remove(): void;
}

let counter = 0;

function deleteNamespace(name: string): void {
  const r = runCommand([IP, 'netns', 'delete', name], COMMAND_TIMEOUT_MS);
  // Gone already is what we wanted; anything else leaves a namespace behind.
  if (r.code !== 0 && existsSync(join(NETNS_DIR, name))) throw new Error(describeFailure([IP, 'netns', 'delete', name], r));
}

/** A fresh namespace with only `lo`, up. Its name carries our pid so that cleanupAll can tell stale ones from a live run's. */
export function createNamespace(): Namespace {
  requireRoot();
  counter += 1;
  const name = `${PREFIX}${process.pid}-${counter}`;
  mustRun([IP, 'netns', 'add', name]);
  try {
    mustRun([IP, 'netns', 'exec', name, IP, 'link', 'set', 'lo', 'up']);
    const inode = statSync(join(NETNS_DIR, name)).ino;
    // If the bind mount failed silently we would be testing the host's namespace.
    if (inode === statSync('/proc/self/ns/net').ino) throw new Error(`${name} has the host's network namespace inode ${inode}`);
    let removed = false;
    return {
      name,
      inode,
      remove() {
        if (removed) return;
        deleteNamespace(name);
        removed = true;
      },
    };
  } catch (err) {
    deleteNamespace(name);
    throw err;
  }
}

/** Runs fn with a fresh namespace and deletes it afterwards, whatever happens. */
export async function withNamespace<T>(fn: (ns: Namespace) => Promise<T> | T): Promise<T> {
  const ns = createNamespace();
  try {
    return await fn(ns);
  } finally {
    ns.remove();
  }
}

type NsRef = Namespace | string;
const nameOf = (ns: NsRef): string => (typeof ns === 'string' ? ns : ns.name);

/** The prefix that runs a command inside ns, e.g. for runBundle's `prefix`. */
export function nsPrefix(ns: NsRef): string[] {
  return [IP, 'netns', 'exec', nameOf(ns)];
}

/** Runs argv (absolute path first) inside ns. Throws unless it exits 0, or returns the result with allowFailure. */
export function nsExec(ns: NsRef, argv: readonly string[], options: { timeoutMs?: number; allowFailure?: boolean } = {}): CommandResult {
  if (!argv[0]?.startsWith('/')) throw new Error(`nsExec needs an absolute path, got ${JSON.stringify(argv[0])}`);
  const full = [...nsPrefix(ns), ...argv];
  const r = runCommand(full, options.timeoutMs ?? COMMAND_TIMEOUT_MS);
  if (r.code !== 0 && !options.allowFailure) throw new Error(describeFailure(full, r));
  return r;
}

export function iptablesPath(): string {
  const found = firstExisting(IPTABLES_CANDIDATES);
  if (!found) throw new Error(`no iptables at ${IPTABLES_CANDIDATES.join(' or ')}`);
  return found;
}

/**
 * A rule that needs conntrack, so that the kernel (4.10+) registers its hooks in
 * ns. It matches a documentation address no test talks to: MASQUERADE on
 * `-o lo` would rewrite and break the loopback traffic the tests rely on.
 */
export function addMasquerade(ns: NsRef): void {
  nsExec(ns, [iptablesPath(), '-w', '5', '-t', 'nat', '-A', 'POSTROUTING', '-d', '192.0.2.1', '-j', 'MASQUERADE']);
}

/** ns's conntrack count, read from inside it: /proc/sys/net is per namespace of the reader. */
export function conntrackCount(ns: NsRef): number {
  const cat = firstExisting(CAT_CANDIDATES);
  if (!cat) throw new Error(`no cat at ${CAT_CANDIDATES.join(' or ')}`);
  const text = nsExec(ns, [cat, COUNT_FILE]).stdout.trim();
  if (!/^\d+$/.test(text)) throw new Error(`unexpected ${COUNT_FILE} in ${nameOf(ns)}: ${JSON.stringify(text)}`);
  return Number(text);
}

/** A column of ns's /proc/net/stat/nf_conntrack (`drop`, `insert` ...) summed over the CPU rows, found by header name. */
export function statTotal(ns: NsRef, name: string): number {
  const cat = firstExisting(CAT_CANDIDATES);
  if (!cat) throw new Error(`no cat at ${CAT_CANDIDATES.join(' or ')}`);
  const text = nsExec(ns, [cat, '/proc/net/stat/nf_conntrack']).stdout;
  const [header, ...rows] = text.split('\n').filter((l) => l.trim() !== '');
  const column = (header ?? '').trim().split(/\s+/).indexOf(name);
  if (column < 0) throw new Error(`no ${name} column in /proc/net/stat/nf_conntrack of ${nameOf(ns)}: ${JSON.stringify(header)}`);
  if (rows.length === 0) throw new Error(`no CPU rows in /proc/net/stat/nf_conntrack of ${nameOf(ns)}`);
  let total = 0;
  for (const row of rows) {
    const cell = row.trim().split(/\s+/)[column];
    if (cell === undefined || !/^[0-9a-f]+$/i.test(cell))
      throw new Error(`bad row in /proc/net/stat/nf_conntrack of ${nameOf(ns)}: ${JSON.stringify(row)}`);
    total += parseInt(cell, 16);
  }
  return total;
}

/**
 * Polls the count until it equals `expected` or the time is up, and returns the
 * last value read, so the caller's assertion shows what the kernel really had.
 */
export async function waitForCount(ns: NsRef, expected: number, timeoutMs = 2_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const count = conntrackCount(ns);
    if (count === expected || Date.now() >= deadline) return count;
    await sleep(50);
  }
}

// ------------------------------------------------------------------ holders

export interface Holder {
  readonly opened: number;
  readonly failed: number;
  readonly pid: number;
  /** Ends the holder (stdin closed, then SIGKILL if it lingers) and waits for it to exit. */
  close(): Promise<void>;
}

const holders = new Set<ChildProcess>();

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (!exited(child)) {
    child.stdin?.end();
    if (!(await waitForExit(child, HOLDER_STOP_TIMEOUT_MS))) {
      child.kill('SIGKILL');
      if (!(await waitForExit(child, HOLDER_STOP_TIMEOUT_MS))) throw new Error(`holder ${child.pid} did not exit after SIGKILL`);
    }
  }
  holders.delete(child);
}

/**
 * Opens n loopback TCP connections inside ns and keeps them open until
 * close(). Resolves once every attempt has connected or failed; rejects (and
 * kills the child) if that takes more than 20 s or the child dies first.
 * `ip netns exec` execs the command rather than forking, so the child we hold
 * is the holder itself and signals reach it directly.
 */
export function holdConnections(ns: NsRef, n: number, node: string = process.execPath): Promise<Holder> {
  const child = spawn(IP, ['netns', 'exec', nameOf(ns), node, HOLDER_SCRIPT, String(n)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  holders.add(child);
  return new Promise<Holder>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      void waitForExit(child, HOLDER_STOP_TIMEOUT_MS).then(() => holders.delete(child));
      reject(new Error(`holdConnections(${nameOf(ns)}, ${n}): ${message}${stderr.trim() ? `; stderr: ${stderr.trim()}` : ''}`));
    };
    const timer = setTimeout(() => fail(`no report within ${HOLDER_START_TIMEOUT_MS} ms`), HOLDER_START_TIMEOUT_MS);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline < 0 || settled) return;
      let report: unknown;
      try {
        report = JSON.parse(stdout.slice(0, newline));
      } catch {
        fail(`unreadable report ${JSON.stringify(stdout.slice(0, newline))}`);
        return;
      }
      const { opened, failed } = (report ?? {}) as { opened?: unknown; failed?: unknown };
      if (typeof opened !== 'number' || typeof failed !== 'number') {
        fail(`unexpected report ${JSON.stringify(report)}`);
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve({ opened, failed, pid: child.pid!, close: () => stopChild(child) });
    });
    child.on('error', (err) => fail(err.message));
    child.on('exit', (code, signal) => fail(`exited (${signal ?? code}) before reporting`));
  });
}

// ------------------------------------------------------------ nf_conntrack_max

export function readConntrackMax(): number {
  const text = readFileSync(MAX_FILE, 'utf8').trim();
  if (!/^\d+$/.test(text)) throw new Error(`unexpected ${MAX_FILE}: ${JSON.stringify(text)}`);
  return Number(text);
}

function writeConntrackMax(value: number): void {
  writeFileSync(MAX_FILE, `${value}\n`);
  const now = readConntrackMax();
  if (now !== value) throw new Error(`wrote ${value} to ${MAX_FILE} but it reads ${now}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface LockData {
  pid: number;
  [key: string]: unknown;
}

function readLock(path: string): LockData | undefined {
  try {
    const data = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof data === 'object' && data !== null && typeof (data as LockData).pid === 'number') return data as LockData;
  } catch {
    // Unreadable or half-written: the caller decides by the file's age.
  }
  return undefined;
}

function lockIsStale(path: string): { stale: boolean; data?: LockData } {
  const data = readLock(path);
  if (data) return { stale: data.pid !== process.pid && !processAlive(data.pid), data };
  // Between create and write the file is empty for a moment; only an old empty one is abandoned.
  try {
    return { stale: Date.now() - statSync(path).mtimeMs > 2_000 };
  } catch {
    return { stale: false };
  }
}

/**
 * A lock file created with O_EXCL holding our pid. A lock whose owner is dead
 * is taken over, after onStale has undone whatever that owner left behind.
 * The contents are computed only once the lock is ours, so they cannot be
 * another run's half-finished state.
 */
async function acquireLock(
  path: string,
  contents: () => Record<string, unknown>,
  waitMs: number,
  onStale: (data: LockData | undefined) => void = () => {},
): Promise<() => void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, JSON.stringify({ ...contents(), pid: process.pid }));
      } catch (err) {
        closeSync(fd);
        unlinkSync(path);
        throw err;
      }
      closeSync(fd);
      return () => {
        if (readLock(path)?.pid === process.pid) unlinkSync(path);
      };
    }
    const { stale, data } = lockIsStale(path);
    if (data?.pid === process.pid) throw new Error(`${path} is already held by this process (nested use?)`);
    if (stale) {
      onStale(data);
      try {
        unlinkSync(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      continue;
    }
    if (Date.now() >= deadline) throw new Error(`${path} is held by pid ${data?.pid ?? 'unknown'} for more than ${waitMs} ms`);
    await sleep(100);
  }
}

function restoreFromStaleMaxLock(data: LockData | undefined): void {
  const original = data?.original;
  if (typeof original === 'number' && Number.isInteger(original) && original >= 0) {
    console.warn(`[kernel tests] restoring ${MAX_FILE} to ${original}, left changed by dead pid ${data?.pid}`);
    writeConntrackMax(original);
  }
}

/**
 * Sets the global nf_conntrack_max for the length of fn and always puts the
 * old value back. It applies to every namespace on the host, so a lock keeps
 * two runs from saving each other's lowered value as the "original", and the
 * lock file records the original so a run killed in between can be undone.
 */
export async function withConntrackMax<T>(value: number, fn: () => Promise<T> | T): Promise<T> {
  requireRoot();
  let original: number | undefined;
  const release = await acquireLock(
    MAX_LOCK,
    () => {
      original = readConntrackMax();
      return { original };
    },
    30_000,
    restoreFromStaleMaxLock,
  );
  try {
    writeConntrackMax(value);
    return await fn();
  } finally {
    try {
      writeConntrackMax(original!);
    } finally {
      release();
    }
  }
}

// ------------------------------------------------------------------- cleanup

/**
 * Ends our holders, deletes our namespaces and those of runs whose process is
 * gone, and puts back an nf_conntrack_max a dead run left lowered. Namespaces
 * of a live run (another pid still running) are left alone.
 * Returns the namespaces it deleted.
 */
export async function cleanupAll(): Promise<string[]> {
  const errors: string[] = [];
  for (const child of [...holders]) {
    try {
      await stopChild(child);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }

  let names: string[] = [];
  try {
    names = readdirSync(NETNS_DIR).filter((n) => n.startsWith(PREFIX));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    const owner = OURS.exec(name)?.[1];
    const ownerPid = owner === undefined ? undefined : Number(owner);
    if (ownerPid !== undefined && ownerPid !== process.pid && processAlive(ownerPid)) continue;
    try {
      deleteNamespace(name);
      removed.push(name);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }

  if (existsSync(MAX_LOCK)) {
    const { stale, data } = lockIsStale(MAX_LOCK);
    if (stale) {
      try {
        restoreFromStaleMaxLock(data);
        unlinkSync(MAX_LOCK);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  }

  if (errors.length > 0) throw new Error(`cleanup failed: ${errors.join('; ')}`);
  return removed;
}
