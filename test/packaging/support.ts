/**
 * Helpers for the packaging tests: the real package tools, daemons and users
 * of this machine. Commands run as argument arrays with absolute paths and a
 * timeout, never through a shell.
 *
 * What a test needs that is missing (root, a program) makes it skip with the
 * reason in its title and on stderr on a developer's machine, and fail in CI,
 * where a skip would let a broken machine pass as green.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeReady, isRoot, notRootReason, readiness } from '../support/readiness';

export const REPO = resolve(__dirname, '../..');
export const BUNDLE = join(REPO, 'dist/check_conntrack');
export const PACKAGING = join(REPO, 'packaging');
export const FIXTURES = join(REPO, 'test/fixtures');
export const NODE = process.execPath;
export const VERSION: string = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version;

export const SETPRIV = '/usr/bin/setpriv';
export const BASH = '/bin/bash';
/** The mail transfer agent's front end; exim4-daemon-light's delivers local mail to /var/mail without a daemon. */
export const SENDMAIL = '/usr/sbin/sendmail';
/** What monitoring daemons give their checks: the system directories, nothing else. */
export const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

export interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The first line of stdout. */
  readonly status: string;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

/** Runs argv (absolute program path) and returns what it printed and its exit code. */
export function run(argv: readonly string[], options: RunOptions = {}): Run {
  const [file, ...args] = argv;
  if (file === undefined || !file.startsWith('/')) throw new Error(`commands need an absolute path, got ${JSON.stringify(file)}`);
  const result = spawnSync(file, args, {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    killSignal: 'SIGKILL',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? { PATH: SYSTEM_PATH, LC_ALL: 'C' },
    cwd: options.cwd ?? REPO,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new Error(`${argv.join(' ')}: ${result.error.message}`);
  return {
    code: result.status,
    signal: result.signal,
    stdout: result.stdout,
    stderr: result.stderr,
    status: result.stdout.split('\n')[0] ?? '',
  };
}

/** run(), and an error with its output unless it exits 0. */
export function must(argv: readonly string[], options: RunOptions = {}): Run {
  const r = run(argv, options);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** argv run as USER with that user's groups, as a monitoring daemon runs its checks. */
export function asUser(user: string, argv: readonly string[]): string[] {
  return [SETPRIV, `--reuid=${user}`, `--regid=${user}`, '--init-groups', '--reset-env', ...argv];
}

export { isRoot };

export interface Needs {
  readonly root?: boolean;
  /** Absolute paths of programs (or files) the tests use, with the Debian package that has them. */
  readonly programs?: ReadonlyArray<readonly [path: string, debianPackage: string]>;
}

export function missing(needs: Needs): string | undefined {
  if (needs.root && !isRoot()) return `not root (uid ${process.getuid?.() ?? 'unknown'})`;
  const absent = (needs.programs ?? []).filter(([path]) => !existsSync(path)).map(([path, pkg]) => `${path} (${pkg})`);
  if (!existsSync(BUNDLE)) absent.push(`${BUNDLE} (npm run build)`);
  return absent.length ? `missing ${absent.join(', ')}` : undefined;
}

/**
 * describe() for tests that need root or programs: skipped with the reason in
 * the title when they cannot run here, a failing test in CI when a program is
 * missing (not being root is a reason to skip anywhere).
 */
export function describeWith(title: string, needs: Needs, body: () => void): void {
  const root = needs.root ? notRootReason('these tests install packages and run daemons as other users') : undefined;
  const absent = root === undefined ? missing(needs) : undefined;
  describeReady('packaging tests', title, readiness({ root, missing: absent && `${absent}; .ci/run installs them` }), body);
}

/**
 * A temporary directory others may read (daemons drop to nagios), removed by
 * dispose(). Made when its path is first asked for, so that a suite that is
 * skipped (and never runs its afterAll) leaves nothing behind.
 */
export function tempDir(prefix: string): { readonly path: string; dispose(): void } {
  let path: string | undefined;
  return {
    get path() {
      if (path === undefined) {
        path = mkdtempSync(join(tmpdir(), `cc-${prefix}-`));
        chmodSync(path, 0o755);
      }
      return path;
    },
    dispose: () => {
      if (path !== undefined) rmSync(path, { recursive: true, force: true });
    },
  };
}

/** Builds one artifact with its packaging script into outDir and returns its path. */
export function buildArtifact(kind: 'deb' | 'rpm' | 'sea', outDir: string): string {
  const script = { deb: 'build-deb.sh', rpm: 'build-rpm.sh', sea: 'build-sea.sh' }[kind];
  const r = must([BASH, join(PACKAGING, script), outDir], {
    env: { PATH: `${resolve(NODE, '..')}:${SYSTEM_PATH}`, LC_ALL: 'C' },
    timeoutMs: 180_000,
  });
  const built = /^built (\/\S+) \(/m.exec(r.stdout)?.[1];
  if (!built || !existsSync(built)) throw new Error(`${script} printed no artifact:\n${r.stdout}\n${r.stderr}`);
  return built;
}

/** The long options --help lists (without the leading dashes), in its order. */
export function helpLongOptions(): string[] {
  const help = run([NODE, BUNDLE, '--help']);
  if (help.code !== 3) throw new Error(`--help exited ${help.code}`);
  const options: string[] = [];
  for (const line of help.stdout.split('\n')) {
    const m = /^ {2}(?:-[A-Za-z], )?--([a-z][a-z0-9-]*)/.exec(line);
    if (m?.[1] && !options.includes(m[1])) options.push(m[1]);
  }
  if (options.length < 10) throw new Error(`--help listed only ${options.length} long options:\n${help.stdout}`);
  return options;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(intervalMs);
  }
}

/** A long-running daemon of ours: its output kept, stopped (TERM, then KILL) by stop(). */
export interface Daemon {
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export function startDaemon(argv: readonly string[], env: NodeJS.ProcessEnv = { PATH: SYSTEM_PATH, LC_ALL: 'C' }): Daemon {
  const [file, ...args] = argv;
  if (file === undefined || !file.startsWith('/')) throw new Error(`commands need an absolute path, got ${JSON.stringify(file)}`);
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      // The daemon's own process group: it may have forked workers (Icinga 2 does).
      const signal = (s: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, s);
        } catch {
          // already gone
        }
      };
      signal('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!stopped) {
        signal('SIGKILL');
        await exited;
      }
    },
  };
}

/** Arguments that point the plugin at a fixture tree, with no state and no kernel log of this machine. */
export function fixtureArgs(name: string): string[] {
  const dir = join(FIXTURES, name);
  return ['--proc', join(dir, 'proc'), '--sys', join(dir, 'sys'), '--no-state', '--kernel-log', 'none'];
}

/** The user a monitoring daemon runs checks as; created (as a system user) if absent. */
export function ensureUser(name: string): void {
  if (run(['/usr/bin/getent', 'passwd', name]).code === 0) return;
  must([
    '/usr/sbin/useradd',
    '--system',
    '--user-group',
    '--no-create-home',
    '--home-dir',
    '/var/lib/nagios',
    '--shell',
    '/usr/sbin/nologin',
    name,
  ]);
}

export function uidOf(name: string): number {
  const entry = must(['/usr/bin/getent', 'passwd', name]).stdout.split(':');
  return Number(entry[2]);
}

/**
 * Removes the state directory a run as USER created under /var/tmp, unless it
 * was there before the tests (then it is someone else's to keep).
 */
export function stateDirKeeper(user: string): { forget(): void } {
  const dir = `/var/tmp/check_conntrack-${uidOf(user)}`;
  const existed = existsSync(dir);
  return { forget: () => (existed ? undefined : rmSync(dir, { recursive: true, force: true })) };
}

/**
 * Equal status lines from two runs of the real host taken back to back. The
 * host's table can change between two runs (other tests, real traffic), so a
 * pair that differs is taken again, up to `tries` times.
 */
export async function sameOnHost(a: () => Run | Promise<Run>, b: () => Run | Promise<Run>, tries = 4): Promise<{ a: Run; b: Run }> {
  let last: { a: Run; b: Run } | undefined;
  for (let i = 0; i < tries; i++) {
    const ra = await a();
    const rb = await b();
    last = { a: ra, b: rb };
    if (ra.status === rb.status && ra.code === rb.code) return last;
    await sleep(500);
  }
  return last!;
}

/**
 * A local user's mailbox in /var/mail, where exim4 delivers: an mbox file,
 * each message starting with a 'From ' line. `messages()` is each message,
 * its headers and body, without that line and the blank line after it.
 */
export function mailbox(user: string): { readonly path: string; clear(): void; messages(): string[] } {
  const path = `/var/mail/${user}`;
  return {
    path,
    clear: () => rmSync(path, { force: true }),
    messages: () =>
      existsSync(path)
        ? readFileSync(path, 'utf8')
            .split(/^From .*\n/m)
            .filter((m) => m.trim() !== '')
            // The blank line after each message separates it from the next one.
            .map((m) => m.replace(/\n\n$/, '\n'))
        : [],
  };
}
