import { version } from '../../package.json';
import { render, renderUnknown, type Rendered } from '../nagios/render';
import { renderJson } from '../nagios/render-json';
import { formatRange } from '../nagios/range';
import { plainNumber } from '../nagios/number';
import { STATE_NAMES, State } from '../nagios/state';
import type { Options } from './options';
import { parseCommandLine } from './cli';
import { commandsStillRunning } from '../probes/run-command';
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
  const writeByMs = Date.now() + options.timeoutSeconds * 1000;
  const controller = new AbortController();
  try {
    const results = await withTimeout(options.timeoutSeconds, controller, (signal) => collect(options, signal));
    const out = options.format === 'json' ? renderJson(results, { version, thresholds: thresholdsOf(options) }) : render(results, options.verbosity);
    // cron mails whatever a job prints: --quiet-ok prints nothing when all is well. A script reading JSON gets JSON, always.
    return options.quietOk && options.format !== 'json' && out.state === State.OK ? { state: out.state, text: '' } : { ...out, writeByMs };
  } catch (err) {
    if (err instanceof TimeoutError) {
      const still = commandsStillRunning();
      return renderUnknown(`check timed out after ${err.seconds}s${still.length ? ` while ${still.join(', ')} had not answered` : ''} (raise it with -t/--timeout)`);
    }
    return renderUnknown(`internal error: ${describe(err)}`, options.verbosity >= 3 && err instanceof Error && err.stack ? [err.stack] : []);
  } finally {
    controller.abort();
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The thresholds in force, for --format json: ranges in Nagios syntax, durations in seconds. */
function thresholdsOf(o: Options): Record<string, unknown> {
  // A percent range gets its % after each bound, so that it reads back as the same range.
  const r = (range: Options['warning']) => (range ? formatRange(range, range.percent ? (n) => `${plainNumber(n)}%` : plainNumber) : null);
  return {
    warning: r(o.warning),
    critical: r(o.critical),
    drop_warning: r(o.dropWarning),
    drop_critical: r(o.dropCritical),
    early_drop_warning: r(o.earlyDropWarning),
    early_drop_critical: r(o.earlyDropCritical),
    insert_failed_warning: r(o.insertFailedWarning),
    insert_failed_critical: r(o.insertFailedCritical),
    log_drops_warning: r(o.logDropsWarning),
    log_drops_critical: r(o.logDropsCritical),
    buckets_warning: r(o.bucketsWarning),
    fill_warning_seconds: o.fillWarningSeconds ?? null,
    fill_critical_seconds: o.fillCriticalSeconds ?? null,
    log_window_seconds: o.logWindowSeconds,
    not_loaded: STATE_NAMES[o.notLoaded],
    stale_modules: STATE_NAMES[o.staleModules],
    exclude_unreplied: o.excludeUnreplied,
  };
}
