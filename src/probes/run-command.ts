import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { isAllowed, SEARCH_DIRS, SUDO_COMMANDS, type CommandSpec } from './commands';

export interface CommandOutcome {
  /** How the user would type it, for messages: `/usr/bin/dmesg -r`. */
  readonly label: string;
  readonly status: 'ok' | 'not-installed' | 'failed' | 'timed-out' | 'cancelled';
  readonly stdout: string;
  readonly exitCode?: number;
  /** The program's own complaint (first line of stderr) or why it did not run. */
  readonly reason?: string;
  /** Output beyond maxBytes was cut off and the program stopped. */
  readonly truncated?: boolean;
}

export interface RunOptions {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  readonly maxBytes?: number;
  readonly sudo?: boolean;
}

const found = new Map<string, string | undefined>();

/** Absolute path of a program in the standard directories, never through $PATH. */
export async function findProgram(name: string): Promise<string | undefined> {
  if (found.has(name)) return found.get(name);
  let path: string | undefined;
  for (const dir of SEARCH_DIRS) {
    try {
      await access(`${dir}/${name}`, constants.X_OK);
      path = `${dir}/${name}`;
      break;
    } catch {
      // not in this directory
    }
  }
  found.set(name, path);
  return path;
}

type Prepared = { file: string; args: string[]; shownLabel: string };

/** What every child gets: no shell, no stdin, a minimal environment, a time limit and the run's abort signal. */
function common(options: RunOptions) {
  return {
    reject: false,
    shell: false,
    stdin: 'ignore',
    extendEnv: false,
    env: { PATH: SEARCH_DIRS.join(':'), LC_ALL: 'C' },
    timeout: options.timeoutMs,
    cancelSignal: options.signal,
    // SIGKILL so nothing outlives the check; through sudo only SIGTERM is
    // passed on to the program, so that one gets SIGTERM.
    killSignal: options.sudo ? 'SIGTERM' : 'SIGKILL',
    forceKillAfterDelay: options.sudo ? 200 : false,
  } as const;
}

/** The argv to run, through `sudo -n` when asked, or why it cannot run. */
async function prepare(spec: CommandSpec, program: string, label: string, options: RunOptions): Promise<Prepared | CommandOutcome> {
  if (!options.sudo) return { file: program, args: [...spec.args], shownLabel: label };
  if (!SUDO_COMMANDS.includes(spec)) throw new Error(`${label} is not a command --sudo may run`);
  const sudo = await findProgram('sudo');
  if (!sudo) return { label: `sudo -n ${label}`, status: 'not-installed', stdout: '', reason: 'sudo is not installed' };
  return { file: sudo, args: ['-n', '--', program, ...spec.args], shownLabel: `sudo -n ${label}` };
}

async function locate(spec: CommandSpec): Promise<{ program?: string; label: string }> {
  if (!isAllowed(spec)) throw new Error(`refusing to run ${spec.program} ${spec.args.join(' ')}: not in the command catalogue`);
  const program = await findProgram(spec.program);
  return { program, label: `${program ?? spec.program} ${spec.args.join(' ')}`.trim() };
}

/**
 * Runs one catalogued command: absolute path, argument array, no shell, a time
 * limit, a cap on output, and the run's abort signal (the plugin's timeout). A
 * command outside the catalogue is refused here, whatever the caller.
 */
export async function runCommand(spec: CommandSpec, options: RunOptions): Promise<CommandOutcome> {
  const { program, label } = await locate(spec);
  if (!program) return { label, status: 'not-installed', stdout: '', reason: `${spec.program} is not installed (looked in ${SEARCH_DIRS.join(', ')})` };

  const prepared = await prepare(spec, program, label, options);
  if ('status' in prepared) return prepared;
  const { file, args, shownLabel } = prepared;
  if (options.signal.aborted) return { label: shownLabel, status: 'cancelled', stdout: '' };

  // execa is loaded only when a command really runs: most unprivileged checks
  // run none, and loading it costs start-up time on every run.
  const { execa } = await import('execa');
  const result = await execa(file, args, {
    ...common(options),
    maxBuffer: { stdout: options.maxBytes ?? 16 * 1024 * 1024, stderr: 64 * 1024 },
    stripFinalNewline: false,
    encoding: 'utf8',
  });
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  const complaint = stderr.split('\n').find((l) => l.trim() !== '')?.trim();
  if (result.isCanceled) return { label: shownLabel, status: 'cancelled', stdout };
  if (result.timedOut) return { label: shownLabel, status: 'timed-out', stdout, reason: `no answer within ${options.timeoutMs / 1000}s` };
  if (result.isMaxBuffer) return { label: shownLabel, status: 'ok', stdout, truncated: true };
  if (result.failed) {
    const why = complaint ?? (result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`);
    return { label: shownLabel, status: 'failed', stdout, exitCode: result.exitCode, reason: why };
  }
  return { label: shownLabel, status: 'ok', stdout, exitCode: result.exitCode };
}

/**
 * Runs one catalogued command and hands its output to `onChunk` as it comes,
 * buffering none of it: for output that grows with the conntrack table.
 * `onChunk` returning false stops the program (the reader has enough, or its
 * deadline passed).
 */
export async function streamCommand(spec: CommandSpec, options: RunOptions, onChunk: (chunk: Uint8Array) => boolean): Promise<CommandOutcome> {
  const { program, label } = await locate(spec);
  if (!program) return { label, status: 'not-installed', stdout: '', reason: `${spec.program} is not installed (looked in ${SEARCH_DIRS.join(', ')})` };
  const prepared = await prepare(spec, program, label, options);
  if ('status' in prepared) return prepared;
  const { file, args, shownLabel } = prepared;
  if (options.signal.aborted) return { label: shownLabel, status: 'cancelled', stdout: '' };
  const { execa } = await import('execa');
  const child = execa(file, args, {
    ...common(options),
    buffer: { stdout: false, stderr: true },
    maxBuffer: { stderr: 64 * 1024 },
    encoding: 'buffer',
  });
  let stopped = false;
  child.stdout?.on('data', (chunk: Buffer) => {
    if (stopped) return;
    if (!onChunk(chunk)) {
      stopped = true;
      child.kill(options.sudo ? 'SIGTERM' : 'SIGKILL');
    }
  });
  const result = await child;
  const stderr = result.stderr instanceof Uint8Array ? Buffer.from(result.stderr).toString('utf8') : '';
  const complaint = stderr.split('\n').find((l) => l.trim() !== '' && !/flow entries have been shown/.test(l))?.trim();
  if (stopped) return { label: shownLabel, status: 'ok', stdout: '', truncated: true };
  if (result.isCanceled) return { label: shownLabel, status: 'cancelled', stdout: '' };
  if (result.timedOut) return { label: shownLabel, status: 'timed-out', stdout: '', reason: `no answer within ${options.timeoutMs / 1000}s` };
  if (result.failed) return { label: shownLabel, status: 'failed', stdout: '', exitCode: result.exitCode, reason: complaint ?? (result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`) };
  return { label: shownLabel, status: 'ok', stdout: '', exitCode: result.exitCode };
}
