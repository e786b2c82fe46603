import { writeSync } from 'node:fs';
import { run } from './runtime/run';

/**
 * Writes all of `text` to stdout synchronously. process.stdout would load
 * Node's stream machinery (some 5 ms of every run) to write one short text,
 * and a synchronous write is complete before the process exits.
 */
function writeOut(text: string): void {
  const data = Buffer.from(text, 'utf8');
  let done = 0;
  let spins = 0;
  while (done < data.length) {
    try {
      done += writeSync(1, data, done);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A non-blocking pipe that is full: the reader is slow, not gone.
      if (code === 'EAGAIN' && spins++ < 100_000) continue;
      return; // EPIPE and the like: nobody is reading any more
    }
  }
}

/**
 * Entry point of the bundle. Anything that escapes run() still ends as one
 * UNKNOWN line on stdout: Node's own exit code for an uncaught error is 1,
 * which Nagios would read as WARNING.
 */
function finish(text: string, code: number): void {
  writeOut(text);
  process.exitCode = code;
  // The output is written: exit now, so that a stray timer or child cannot
  // keep a finished check alive past its timeout.
  process.exit(code);
}

const oneLine = (err: unknown) => `CONNTRACK UNKNOWN - internal error: ${(err instanceof Error ? err.message : String(err)).replace(/[|\r\n]/g, ' ')}\n`;

process.on('uncaughtException', (err) => finish(oneLine(err), 3));
process.on('unhandledRejection', (err) => finish(oneLine(err), 3));

run(process.argv.slice(2)).then(
  (out) => finish(out.text, out.state),
  (err: unknown) => finish(oneLine(err), 3),
);
