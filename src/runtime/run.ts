import { render, renderUnknown, type Rendered } from '../nagios/render';
import { parseCommandLine } from './cli';
import { collect } from './collect';
import { TimeoutError, withTimeout } from './timeout';

/**
 * The only impure layer: parses options, bounds the run in time and turns every
 * failure into an UNKNOWN line. Returns what to print and the exit code; the
 * entry point writes it.
 */
export async function run(argv: readonly string[]): Promise<Rendered> {
  let cli;
  try {
    cli = parseCommandLine(argv);
  } catch (err) {
    return renderUnknown(`cannot parse the command line: ${describe(err)}`);
  }
  if (cli.kind === 'info') return { state: 3, text: cli.text.endsWith('\n') ? cli.text : `${cli.text}\n` };
  if (cli.kind === 'usage-error') return renderUnknown(cli.message, cli.usage);

  const { options } = cli;
  const controller = new AbortController();
  try {
    const results = await withTimeout(options.timeoutSeconds, controller, (signal) => collect(options, signal));
    return render(results, options.verbosity);
  } catch (err) {
    if (err instanceof TimeoutError) {
      return renderUnknown(`check timed out after ${err.seconds}s (raise it with -t/--timeout)`);
    }
    return renderUnknown(`internal error: ${describe(err)}`, options.verbosity >= 3 && err instanceof Error && err.stack ? [err.stack] : []);
  } finally {
    controller.abort();
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
