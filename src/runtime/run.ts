import { version } from '../../package.json';
import { describeNotice, type NoticeDecision } from '../nagios/changes';
import { render, renderUnknown, type Rendered } from '../nagios/render';
import type { Result } from '../nagios/result';
import { renderJson } from '../nagios/render-json';
import { formatRange, type Range } from '../nagios/range';
import { plainNumber } from '../nagios/number';
import { STATE_NAMES, State } from '../nagios/state';
import { OPTION_TABLE, type OptionSpec } from './option-table';
import type { Options } from './options';
import { parseCommandLine } from './cli';
import { commandsStillRunning } from '../probes/run-command';
import { collect } from './collect';
import { mailsThisRun, sendMail } from './mail';
import { sendToSyslog } from './syslog';
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
  const deadlineMs = Date.now() + options.timeoutSeconds * 1000;
  const controller = new AbortController();
  let out: Rendered;
  let notice: NoticeDecision | undefined;
  try {
    const collected = await withTimeout(options.timeoutSeconds, controller, (signal) => collect(options, signal));
    notice = collected.notice;
    out =
      options.format === 'json'
        ? renderJson(collected.results, { version, thresholds: thresholdsOf(options) })
        : renderText(collected.results, options, notice);
  } catch (err) {
    if (err instanceof TimeoutError) {
      const still = commandsStillRunning();
      out = renderUnknown(
        `check timed out after ${err.seconds}s${still.length ? ` while ${still.join(', ')} had not answered` : ''} (raise it with -t/--timeout)`,
      );
    } else {
      out = renderUnknown(
        `internal error: ${describe(err)}`,
        options.verbosity >= 3 && err instanceof Error && err.stack ? [err.stack] : [],
      );
    }
  } finally {
    controller.abort();
  }
  // cron mails whatever a job prints: --quiet-ok prints nothing when all is well (a script reading JSON
  // gets JSON, always), --changes-only nothing that was said before. The exit code stays the real state.
  const silent = notice ? !notice.print : options.quietOk && options.format !== 'json' && out.state === State.OK;
  if (options.syslog && (notice ? notice.print && (notice.kind !== 'unkept' || out.state !== State.OK) : out.state !== State.OK)) {
    const failed = await sendToSyslog(out.state, out.text.split('\n', 1)[0]!, deadlineMs);
    if (failed && !silent) out = withLine(out, failed, options.format);
  }
  // The mail holds what is printed, so it goes last; only what went wrong with it is added after.
  if (options.mailTo !== undefined && mailsThisRun(out.state, notice)) {
    const failed = await sendMail(options.mailTo, out.state, out.text, deadlineMs);
    if (failed) out = withLine(out, failed, options.format);
  }
  return silent ? { state: out.state, text: '' } : { ...out, writeByMs: deadlineMs };
}

/** The text output, with what --changes-only says about the change: a recovery shows what it recovered from. */
function renderText(results: Result[], options: Options, notice: NoticeDecision | undefined): Rendered {
  if (!notice?.print) return render(results, options.verbosity);
  const { lead, notes } = describeNotice(notice, options.repeatSeconds);
  const said: Result = { check: 'changes', state: State.OK, summary: '', details: [], notes, perfdata: [] };
  return render(
    notes.length ? [said, ...results] : results,
    notice.kind === 'recovery' ? Math.max(1, options.verbosity) : options.verbosity,
    lead,
  );
}

/** A line about the run itself (a log or mail that failed): in the long output, or among the advice of --format json, which stays JSON. */
function withLine(out: Rendered, line: string, format: Options['format']): Rendered {
  if (format === 'json') {
    try {
      const body = JSON.parse(out.text) as { advice?: unknown };
      if (Array.isArray(body.advice)) {
        body.advice.push(line);
        return { ...out, text: `${JSON.stringify(body, null, 2)}\n` };
      }
    } catch {
      // not JSON (an UNKNOWN line from a timeout): a line like any other
    }
  }
  return { ...out, text: `${out.text}${line}\n` };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The thresholds in force, for --format json: ranges in Nagios syntax, durations in seconds, states by name. */
function thresholdsOf(o: Options): Record<string, unknown> {
  const values = o as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const spec of OPTION_TABLE as readonly OptionSpec<string, unknown>[]) {
    if (!spec.json) continue;
    const v = values[spec.key];
    out[spec.json.name] =
      v === undefined
        ? null
        : spec.json.kind === 'range'
          ? rangeText(v as Range)
          : spec.json.kind === 'state'
            ? STATE_NAMES[v as State]
            : v;
  }
  return out;
}

/** A percent range gets its % after each bound, so that it reads back as the same range. */
const rangeText = (range: Range) => formatRange(range, range.percent ? (n) => `${plainNumber(n)}%` : plainNumber);
