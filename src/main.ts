import { run } from './runtime/run';

/**
 * Entry point of the bundle. Anything that escapes run() still ends as one
 * UNKNOWN line on stdout: Node's own exit code for an uncaught error is 1,
 * which Nagios would read as WARNING.
 */
function finish(text: string, code: number): void {
  process.exitCode = code;
  // Exit once stdout has taken the text, so a stray timer or child cannot keep
  // a finished check alive past its timeout.
  process.stdout.write(text, () => process.exit(code));
}

process.on('uncaughtException', (err) => finish(`CONNTRACK UNKNOWN - internal error: ${err.message.replace(/\|/g, '/')}\n`, 3));
process.on('unhandledRejection', (err) => finish(`CONNTRACK UNKNOWN - internal error: ${String(err).replace(/\|/g, '/')}\n`, 3));

run(process.argv.slice(2)).then(
  (out) => finish(out.text, out.state),
  (err: unknown) => finish(`CONNTRACK UNKNOWN - internal error: ${String(err).replace(/\|/g, '/')}\n`, 3),
);
