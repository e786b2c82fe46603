import type { ChildProcessByStdio } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Readable } from 'node:stream';
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

type StdoutMode = { buffer: true; maxBytes: number } | { buffer: false; onChunk: (chunk: Uint8Array) => boolean };

/** Enough of stderr for the line that says what went wrong. */
const STDERR_BYTES = 64 * 1024;

/** Started and not yet exited: pid, and whether it is sudo (which only SIGTERM may reach). */
const live = new Map<number, boolean>();

// However the run ends (process.exit after the output, an internal error), nothing it started stays.
process.on('exit', () => {
  for (const [pid, sudo] of live) killGroup(pid, sudo);
});

/**
 * Starts a prepared command in a process group of its own and ends the whole
 * group at the deadline, on the run's abort, or when the reader stops it: a
 * program's own children (a pager, a helper holding its output) must not
 * outlive the check. Through sudo only sudo itself may be signalled, and it
 * passes SIGTERM on to the program.
 *
 * node:child_process, not execa: execa costs 25-35 ms to load and some 10 ms
 * more per program, on a check whose whole budget over bare node is ~25 ms.
 */
async function spawnPrepared(p: Prepared, options: RunOptions, stdout: StdoutMode): Promise<Spawned> {
  if (options.signal.aborted) return { outcome: { label: p.label, status: 'cancelled', stdout: '' } };
  // Loaded only when a command really runs: most unprivileged checks run none.
  const { spawn } = await import('node:child_process');
  const sudo = options.sudo === true;
  return new Promise<Spawned>((resolve) => {
    let child: ChildProcessByStdio<null, Readable, Readable>;
    try {
      child = spawn(p.file, p.args, {
        shell: false,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: SEARCH_DIRS.join(':'), LC_ALL: 'C' },
        detached: true,
      });
    } catch (e) {
      resolve({ outcome: { label: p.label, status: 'failed', stdout: '', reason: `cannot start it: ${(e as Error).message}` } });
      return;
    }
    const pid = child.pid;
    if (pid !== undefined) live.set(pid, sudo);
    running.add(p.label);

    let why: 'timed-out' | 'cancelled' | 'stopped' | undefined;
    const end = (reason: 'timed-out' | 'cancelled' | 'stopped') => {
      why ??= reason;
      if (pid !== undefined && live.has(pid)) killGroup(pid, sudo);
    };
    const timer = setTimeout(() => end('timed-out'), Math.max(0, options.deadlineMs - Date.now()));
    const onAbort = () => end('cancelled');
    options.signal.addEventListener('abort', onAbort, { once: true });

    const out: Buffer[] = [];
    let outBytes = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      if (why !== undefined) return;
      if (!stdout.buffer) {
        if (!stdout.onChunk(chunk)) end('stopped');
        return;
      }
      // The cap is on what is kept: the program is stopped as soon as it is reached.
      const room = stdout.maxBytes - outBytes;
      out.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      outBytes += Math.min(room, chunk.length);
      if (outBytes >= stdout.maxBytes) end('stopped');
    });
    const err: Buffer[] = [];
    let errBytes = 0;
    child.stderr.on('data', (chunk: Buffer) => {
      const room = STDERR_BYTES - errBytes;
      if (room <= 0) return;
      err.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      errBytes += Math.min(room, chunk.length);
    });

    // A pipe that fails is a program whose output ends there: 'close' still
    // follows, and an unheard 'error' would end the whole check instead.
    child.stdout.on('error', () => undefined);
    child.stderr.on('error', () => undefined);

    let settled = false;
    const settle = (code: number | null, signal: NodeJS.Signals | null, startError?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      running.delete(p.label);
      const base = { label: p.label, stdout: Buffer.concat(out).toString('utf8'), exitCode: code ?? undefined };
      if (startError) return resolve({ outcome: { ...base, exitCode: undefined, status: 'failed', reason: `cannot start it: ${startError.message}` } });
      if (why === 'timed-out') return resolve({ outcome: { ...base, status: 'timed-out', reason: 'no answer before the check ran out of time' } });
      if (why === 'cancelled') return resolve({ outcome: { ...base, status: 'cancelled' } });
      if (why === 'stopped') return resolve({ outcome: { ...base, status: 'ok', truncated: true } });
      if (code === 0) return resolve({ outcome: { ...base, status: 'ok' } });
      const complaint = Buffer.concat(err)
        .toString('utf8')
        .split('\n')
        .find((l) => l.trim() !== '' && !/flow entries have been shown/.test(l))
        ?.trim();
      resolve({ outcome: { ...base, status: 'failed', reason: complaint ?? (signal ? `killed by ${signal}` : `exit code ${code}`) } });
    };
    // Only a program that never started ends with 'error' alone; otherwise 'close' follows.
    child.on('error', (e) => {
      if (pid === undefined) settle(null, null, e);
    });
    // 'exit' always comes before 'close': from here the pid may be another process's.
    child.on('exit', () => {
      if (pid === undefined) return;
      live.delete(pid);
      // Whatever the program left running in its group (holding the pipes open) goes with it.
      if (!sudo) killGroup(pid, false);
    });
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => settle(code, signal));
  });
}

function killGroup(pid: number, sudo: boolean): void {
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
