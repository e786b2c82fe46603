import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';
import { run } from './runtime/run';

/** How long a run that was given no -t (help, a usage error) may wait for its reader. */
const DEFAULT_WRITE_MS = 10_000;

/**
 * stdout when it is a pipe, opened again non-blocking: a reader that never
 * reads must not hold the check past its timeout once the pipe is full. Only
 * a pipe: reopening a file would write from its start; anything else keeps fd 1.
 */
function nonBlockingStdout(): number | undefined {
  try {
    if (!fstatSync(1).isFIFO()) return undefined;
    return openSync('/proc/self/fd/1', constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `text` to stdout synchronously, by `writeByMs` at the latest.
 * process.stdout would load Node's stream machinery, a noticeable part of a
 * short run, to write one short text, and a synchronous write is complete before the
 * process exits.
 */
function writeOut(text: string, writeByMs: number): void {
  const data = Buffer.from(text, 'utf8');
  const reopened = nonBlockingStdout();
  const fd = reopened ?? 1;
  let done = 0;
  try {
    while (done < data.length) {
      try {
        done += writeSync(fd, data, done);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // A full pipe: the reader is slow, or never reads. Wait for it, within the run's time.
        if (code === 'EAGAIN' && Date.now() < writeByMs) {
          Atomics.wait(pause, 0, 0, 5);
          continue;
        }
        return; // EPIPE and the like: nobody is reading any more
      }
    }
  } finally {
    if (reopened !== undefined) closeSync(reopened);
  }
}

/**
 * Entry point of the bundle. Anything that escapes run() still ends as one
 * UNKNOWN line on stdout: Node's own exit code for an uncaught error is 1,
 * which Nagios would read as WARNING.
 */
function finish(text: string, code: number, writeByMs = Date.now() + DEFAULT_WRITE_MS): void {
  writeOut(text, writeByMs);
  process.exitCode = code;
  // The output is written: exit now, so that a stray timer or child cannot
  // keep a finished check alive past its timeout.
  process.exit(code);
}

const oneLine = (err: unknown) =>
  `CONNTRACK UNKNOWN - internal error: ${(err instanceof Error ? err.message : String(err)).replace(/[|\r\n]/g, ' ')}\n`;

process.on('uncaughtException', (err) => finish(oneLine(err), 3));
process.on('unhandledRejection', (err) => finish(oneLine(err), 3));

run(process.argv.slice(2)).then(
  (out) => finish(out.text, out.state, out.writeByMs),
  (err: unknown) => finish(oneLine(err), 3),
);
