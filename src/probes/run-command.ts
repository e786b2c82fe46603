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
  /** What the program reads on stdin (a mail for sendmail); without it, stdin is closed. */
  readonly input?: string;
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

/**
 * The argv to run, through `sudo -n` when asked; or why it cannot run. A command outside the catalogue is
 * refused here, whatever the caller.
 */
async function prepare(spec: CommandSpec, options: RunOptions): Promise<Prepared | CommandOutcome> {
  if (!isAllowed(spec)) throw new Error(`refusing to run ${spec.program} ${spec.args.join(' ')}: not in the command catalogue`);
  const program = await findProgram(spec.program);
  const label = `${program ?? spec.program} ${spec.args.join(' ')}`.trim();
  if (!program)
    return { label, status: 'not-installed', stdout: '', reason: `${spec.program} is not installed (looked in ${SEARCH_DIRS.join(', ')})` };
  if (!options.sudo) return { file: program, args: [...spec.args], label };
  if (!SUDO_COMMANDS.includes(spec)) throw new Error(`${label} is not a command --sudo may run`);
  const sudo = await findProgram('sudo');
  if (!sudo) return { label: `sudo -n ${label}`, status: 'not-installed', stdout: '', reason: 'sudo is not installed' };
  return { file: sudo, args: ['-n', '--', program, ...spec.args], label: `sudo -n ${label}` };
}

type StdoutMode = { buffer: true; maxBytes: number } | { buffer: false; onChunk: (chunk: Uint8Array) => boolean };

/** Enough of stderr for the line that says what went wrong. */
const STDERR_BYTES = 64 * 1024;

const NO_TIME = 'no answer before the check ran out of time';
/** Earlier sources used the time up: this one was never started, which is not the same as one that hung. */
const NOT_STARTED = 'not started: the check had run out of time (raise -t/--timeout)';

/** Started and not yet exited: pid, and whether it is sudo (which only SIGTERM may reach). */
const live = new Map<number, boolean>();

// However the run ends (process.exit after the output, an internal error), nothing it started stays.
process.on('exit', () => {
  for (const [pid, sudo] of live) killGroup(pid, sudo);
});

/**
 * Starts a prepared command through execa in a process group of its own
 * (`detached`) and ends the whole group at the deadline (`timeout`), on the
 * run's abort (`cancelSignal`), when the output reaches its cap (`maxBuffer`)
 * or when the reader stops it: a program's own children (a pager, a helper
 * holding its output) must not outlive the check. execa ends the program
 * itself; what it left in its group goes when it exits. Through sudo only sudo
 * itself may be signalled, and it passes SIGTERM on to the program.
 */
async function spawnPrepared(p: Prepared, options: RunOptions, stdout: StdoutMode): Promise<CommandOutcome> {
  if (options.signal.aborted) return { label: p.label, status: 'cancelled', stdout: '' };
  const timeout = options.deadlineMs - Date.now();
  if (timeout <= 0) return { label: p.label, status: 'timed-out', stdout: '', reason: NOT_STARTED };
  // Loaded only when a command really runs: most unprivileged checks run none.
  const { execa } = await import('execa');
  const sudo = options.sudo === true;
  const killSignal = sudo ? 'SIGTERM' : 'SIGKILL';
  const child = execa(p.file, p.args, {
    shell: false,
    ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' as const }),
    encoding: 'buffer',
    buffer: { stdout: stdout.buffer, stderr: false },
    maxBuffer: { stdout: stdout.buffer ? stdout.maxBytes : Number.MAX_SAFE_INTEGER },
    stripFinalNewline: false,
    reject: false,
    detached: true,
    // execa leaves a detached program running at exit: the exit hook above ends its whole group instead.
    cleanup: true,
    timeout,
    cancelSignal: options.signal,
    killSignal,
    // SIGKILL cannot be outlived; sudo may not be sent it.
    forceKillAfterDelay: false,
    env: { PATH: SEARCH_DIRS.join(':'), LC_ALL: 'C' },
    extendEnv: false,
  });
  const pid = child.pid;
  if (pid !== undefined) live.set(pid, sudo);
  running.add(p.label);
  // 'exit' comes before the pipes close: from here the pid may be another
  // process's, and whatever the program left in its group (holding the pipes
  // open) goes with it.
  child.on('exit', () => {
    if (pid === undefined) return;
    live.delete(pid);
    if (!sudo) killGroup(pid, false);
  });

  let stopped = false;
  if (!stdout.buffer) {
    child.stdout.on('data', (chunk: Uint8Array) => {
      if (stopped) return;
      if (stdout.onChunk(chunk)) return;
      stopped = true;
      child.kill(killSignal);
    });
  }
  const err: Buffer[] = [];
  let errBytes = 0;
  child.stderr.on('data', (chunk: Buffer) => {
    const room = STDERR_BYTES - errBytes;
    if (room <= 0) return;
    err.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
    errBytes += Math.min(room, chunk.length);
  });

  const r = await child;
  running.delete(p.label);
  const out =
    stdout.buffer && r.stdout instanceof Uint8Array
      ? Buffer.from(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength).toString('utf8')
      : '';
  const base = { label: p.label, stdout: out, exitCode: r.exitCode };
  if (r.timedOut) return { ...base, status: 'timed-out', reason: NO_TIME };
  if (r.isCanceled) return { ...base, status: 'cancelled' };
  if (stopped || r.isMaxBuffer) return { ...base, status: 'ok', truncated: true };
  if (r.exitCode === 0) return { ...base, status: 'ok' };
  // Only a program that never started has no pid.
  if (pid === undefined) return { ...base, status: 'failed', reason: `cannot start it: ${r.originalMessage || r.shortMessage}` };
  const complaint = Buffer.concat(err)
    .toString('utf8')
    .split('\n')
    .find((l) => l.trim() !== '' && !/flow entries have been shown/.test(l))
    ?.trim();
  return { ...base, status: 'failed', reason: complaint ?? (r.signal ? `killed by ${r.signal}` : `exit code ${r.exitCode}`) };
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
  return spawnPrepared(p, options, { buffer: true, maxBytes: options.maxBytes ?? 16 * 1024 * 1024 });
}

/**
 * Runs one catalogued command and hands its output to `onChunk` as it comes,
 * buffering none of it: for output that grows with the table or the log.
 * `onChunk` returning false stops the program (the reader has enough).
 */
export async function streamCommand(
  spec: CommandSpec,
  options: RunOptions,
  onChunk: (chunk: Uint8Array) => boolean,
): Promise<CommandOutcome> {
  const p = await prepare(spec, options);
  if ('status' in p) return p;
  return spawnPrepared(p, options, { buffer: false, onChunk });
}
