import { accessSync, constants } from 'node:fs';
import { isAllowed, SEARCH_DIRS, SUDO_COMMANDS, type CommandSpec } from './commands';

export interface CommandOutcome {
  /** How the user would type it, for messages: `/usr/bin/dmesg -r`. */
  readonly label: string;
  readonly status: 'ok' | 'not-installed' | 'failed' | 'timed-out' | 'cancelled';
  readonly stdout: string;
  readonly exitCode?: number;
  /** The program's own complaint (first line of stderr) or why it did not run. */
  readonly reason?: string;
  /** Output beyond maxBytes was cut off, or the reader stopped it: the program was stopped. */
  readonly truncated?: boolean;
}

export interface RunOptions {
  readonly signal: AbortSignal;
  /** When the program must be gone (ms since the epoch): the run's own deadline, so that programs run one after another share it. */
  readonly deadlineMs: number;
  readonly maxBytes?: number;
  readonly sudo?: boolean;
}

const found = new Map<string, string | undefined>();

/** Programs started and not yet ended, for the timeout message. */
const running = new Set<string>();

export function commandsStillRunning(): string[] {
  return [...running];
}

/** Absolute path of a program in the standard directories, never through $PATH. */
export async function findProgram(name: string): Promise<string | undefined> {
  if (found.has(name)) return found.get(name);
  let path: string | undefined;
  for (const dir of SEARCH_DIRS) {
    try {
      accessSync(`${dir}/${name}`, constants.X_OK);
      path = `${dir}/${name}`;
      break;
    } catch {
      // not in this directory
    }
  }
  found.set(name, path);
  return path;
}

type Prepared = { file: string; args: string[]; label: string };

/** The argv to run, through `sudo -n` when asked; or why it cannot run. A command outside the catalogue is refused here, whatever the caller. */
async function prepare(spec: CommandSpec, options: RunOptions): Promise<Prepared | CommandOutcome> {
  if (!isAllowed(spec)) throw new Error(`refusing to run ${spec.program} ${spec.args.join(' ')}: not in the command catalogue`);
  const program = await findProgram(spec.program);
  const label = `${program ?? spec.program} ${spec.args.join(' ')}`.trim();
  if (!program) return { label, status: 'not-installed', stdout: '', reason: `${spec.program} is not installed (looked in ${SEARCH_DIRS.join(', ')})` };
  if (!options.sudo) return { file: program, args: [...spec.args], label };
  if (!SUDO_COMMANDS.includes(spec)) throw new Error(`${label} is not a command --sudo may run`);
  const sudo = await findProgram('sudo');
  if (!sudo) return { label: `sudo -n ${label}`, status: 'not-installed', stdout: '', reason: 'sudo is not installed' };
  return { file: sudo, args: ['-n', '--', program, ...spec.args], label: `sudo -n ${label}` };
}

interface Spawned {
  outcome: CommandOutcome;
}

/**
 * Starts a prepared command in a process group of its own and ends the whole
 * group at the deadline, on the run's abort, or when the reader stops it: a
 * program's own children (a pager, a helper holding its output) must not
 * outlive the check. Through sudo only sudo itself may be signalled, and it
 * passes SIGTERM on to the program.
 */
async function spawnPrepared(
  p: Prepared,
  options: RunOptions,
  stdout: { buffer: true; maxBytes: number } | { buffer: false; onChunk: (chunk: Uint8Array) => boolean },
): Promise<Spawned> {
  if (options.signal.aborted) return { outcome: { label: p.label, status: 'cancelled', stdout: '' } };
  // execa is loaded only when a command really runs: most unprivileged checks
  // run none, and loading it costs start-up time on every run.
  const { execa } = await import('execa');
  const child = execa(p.file, p.args, {
    reject: false,
    shell: false,
    stdin: 'ignore',
    extendEnv: false,
    env: { PATH: SEARCH_DIRS.join(':'), LC_ALL: 'C' },
    detached: true,
    cleanup: true,
    encoding: stdout.buffer ? 'utf8' : 'buffer',
    stripFinalNewline: false,
    buffer: { stdout: stdout.buffer, stderr: true },
    maxBuffer: { stdout: stdout.buffer ? stdout.maxBytes : Infinity, stderr: 64 * 1024 },
  });
  let why: 'timed-out' | 'cancelled' | 'stopped' | undefined;
  const end = (reason: 'timed-out' | 'cancelled' | 'stopped') => {
    why ??= reason;
    killGroup(child.pid, options.sudo === true);
  };
  const timer = setTimeout(() => end('timed-out'), Math.max(0, options.deadlineMs - Date.now()));
  const onAbort = () => end('cancelled');
  options.signal.addEventListener('abort', onAbort, { once: true });
  if (!stdout.buffer) {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (why === undefined && !stdout.onChunk(chunk)) end('stopped');
    });
  }
  running.add(p.label);
  try {
    const result = await child;
    // Whatever the program left running in its group goes with it.
    killGroup(child.pid, options.sudo === true);
    const text = typeof result.stdout === 'string' ? result.stdout : '';
    const stderr = typeof result.stderr === 'string' ? result.stderr : result.stderr instanceof Uint8Array ? Buffer.from(result.stderr).toString('utf8') : '';
    const complaint = stderr
      .split('\n')
      .find((l) => l.trim() !== '' && !/flow entries have been shown/.test(l))
      ?.trim();
    const base = { label: p.label, stdout: text, exitCode: result.exitCode };
    if (why === 'timed-out') return { outcome: { ...base, status: 'timed-out', reason: 'no answer before the check ran out of time' } };
    if (why === 'cancelled') return { outcome: { ...base, status: 'cancelled' } };
    if (why === 'stopped' || result.isMaxBuffer) return { outcome: { ...base, status: 'ok', truncated: true } };
    if (result.failed) {
      return { outcome: { ...base, status: 'failed', reason: complaint ?? (result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`) } };
    }
    return { outcome: { ...base, status: 'ok' } };
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onAbort);
    running.delete(p.label);
  }
}

function killGroup(pid: number | undefined, sudo: boolean): void {
  if (pid === undefined) return;
  try {
    if (sudo) process.kill(pid, 'SIGTERM');
    else process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Runs one catalogued command: absolute path, argument array, no shell, the
 * run's deadline, a cap on output, and the run's abort signal.
 */
export async function runCommand(spec: CommandSpec, options: RunOptions): Promise<CommandOutcome> {
  const p = await prepare(spec, options);
  if ('status' in p) return p;
  return (await spawnPrepared(p, options, { buffer: true, maxBytes: options.maxBytes ?? 16 * 1024 * 1024 })).outcome;
}

/**
 * Runs one catalogued command and hands its output to `onChunk` as it comes,
 * buffering none of it: for output that grows with the table or the log.
 * `onChunk` returning false stops the program (the reader has enough).
 */
export async function streamCommand(spec: CommandSpec, options: RunOptions, onChunk: (chunk: Uint8Array) => boolean): Promise<CommandOutcome> {
  const p = await prepare(spec, options);
  if ('status' in p) return p;
  return (await spawnPrepared(p, options, { buffer: false, onChunk })).outcome;
}
