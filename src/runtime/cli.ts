import { Command, CommanderError, Option } from 'commander';
import { version } from '../../package.json';
import { State } from '../nagios/state';
import { parseRange } from '../nagios/range';
import {
  countArgument,
  countRangeArgument,
  directoryArgument,
  durationArgument,
  formatArgument,
  kernelLogArgument,
  namespacesArgument,
  MAX_VERBOSITY,
  rangeArgument,
  stateArgument,
  alertStateArgument,
  stateFileArgument,
  timeoutArgument,
  type Options,
} from './options';

export const PROGRAM = 'check_conntrack';

export type CliOutcome =
  | { kind: 'run'; options: Options }
  /** --help or --version: text for stdout, then UNKNOWN as the guidelines say. */
  | { kind: 'info'; text: string }
  | { kind: 'usage-error'; message: string; usage: string[] };

const HELP_FOOTER = `
Ranges (-w, -c): [@]start:end, Nagios syntax. Alert outside start..end (ends
inclusive), or inside it with @. start defaults to 0, ~ is minus infinity, an
empty end is infinity. A % after a number makes the range a percentage of
nf_conntrack_max; otherwise it counts entries.
  80%      more than 80% of the table      200000   more than 200000 entries
  ~:80%    the same, written out           @50:60%  between 50% and 60%

Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for --help, --version).

Examples:
  ${PROGRAM}                          warn at 80%, critical at 90%
  ${PROGRAM} -w 70% -c 85% -v         tighter thresholds, with details
  ${PROGRAM} --proc /host/proc        a host's /proc mounted into a container
`;

function buildCommand(): Command {
  return new Command(PROGRAM)
    .description('Checks how full the Linux connection-tracking table (nf_conntrack) is.')
    .helpOption('-h, --help', 'show this help and exit (UNKNOWN)')
    .version(version, '-V, --version', 'show the version and exit (UNKNOWN)')
    .addOption(
      new Option('-w, --warning <range>', 'warning threshold on table usage').default(parseRange('80%'), '80%').argParser(rangeArgument),
    )
    .addOption(
      new Option('-c, --critical <range>', 'critical threshold on table usage').default(parseRange('90%'), '90%').argParser(rangeArgument),
    )
    .addOption(
      new Option('--not-loaded <state>', 'state when the kernel tracks no connections at all: ok, warning, critical or unknown')
        .default(State.OK, 'ok')
        .argParser(stateArgument),
    )
    .addOption(new Option('--drop-warning <range>', 'warning on packets dropped since the last check').argParser(countRangeArgument))
    .addOption(
      new Option('--drop-critical <range>', 'critical on packets dropped since the last check').default(parseRange('0'), '0: any drop').argParser(countRangeArgument),
    )
    .addOption(
      new Option('--early-drop-warning <range>', 'warning on entries evicted early since the last check (the table was full)')
        .default(parseRange('0'), '0: any eviction')
        .argParser(countRangeArgument),
    )
    .addOption(new Option('--early-drop-critical <range>', 'critical on early evictions since the last check').argParser(countRangeArgument))
    .addOption(new Option('--insert-failed-warning <range>', 'warning on failed insertions since the last check').argParser(countRangeArgument))
    .addOption(new Option('--insert-failed-critical <range>', 'critical on failed insertions since the last check').argParser(countRangeArgument))
    .addOption(
      new Option('--kernel-log <source>', "where to look for 'table full' messages: auto, kmsg, dmesg, journal, none or a file path")
        .default('auto' as const)
        .argParser(kernelLogArgument),
    )
    .addOption(
      new Option('--log-window <duration>', 'on the first run, how far back the kernel log counts').default(3600, '1h').argParser(durationArgument),
    )
    .addOption(new Option('--log-drops-warning <range>', "warning on 'table full' messages since the last check").argParser(countRangeArgument))
    .addOption(
      new Option('--log-drops-critical <range>', "critical on 'table full' messages since the last check").default(parseRange('0'), '0: any message').argParser(countRangeArgument),
    )
    .addOption(
      new Option('--stale-modules <state>', 'state when conntrack is loaded, no rule needs it, and the kernel tracks every connection: ok, warning or critical')
        .default(State.WARNING, 'warning')
        .argParser(alertStateArgument),
    )
    .addOption(
      new Option('--namespaces <which>', 'host: the namespace the plugin runs in; all: every network namespace on the host too')
        .default('host' as const)
        .argParser(namespacesArgument),
    )
    .addOption(new Option('--top <n>', 'how many namespaces (--namespaces all), ports and destinations (--breakdown) to list').default(5).argParser(countArgument))
    .addOption(new Option('--buckets-warning <range>', 'warning on nf_conntrack_max / nf_conntrack_buckets (long hash chains)').argParser(rangeArgument))
    .addOption(new Option('--fill-warning <duration>', 'warning when the table will be full sooner than this at the current growth').argParser(durationArgument))
    .addOption(new Option('--fill-critical <duration>', 'critical when the table will be full sooner than this').argParser(durationArgument))
    .option('--breakdown', 'count what fills the table (protocols, TCP states, top ports and destinations); needs root or --sudo', false)
    .option('--exclude-unreplied', 'leave [UNREPLIED] entries out of the usage the thresholds see (implies --breakdown)', false)
    .addOption(new Option('--format <format>', 'nagios or json').default('nagios' as const).argParser(formatArgument))
    .option('--quiet-ok', 'print nothing when the state is OK (for cron, which mails whatever is printed); --format json prints JSON still', false)
    .option('--changes-only', 'print only when the overall state changes, and once on recovery (for cron: one mail per problem); the exit code is always the real state', false)
    .addOption(new Option('--repeat <duration>', 'with --changes-only: print again while the state stays non-OK this long, e.g. 1h').argParser(durationArgument))
    .option('--syslog', "also send the status line of each change (or of every non-OK run) to syslog, facility daemon, through 'logger'", false)
    .option('--state-file <path>', 'absolute path of the file that keeps counters between runs (default: in /var/lib/check_conntrack/ when it is this user\'s, else /var/tmp/check_conntrack-UID/); a file that is not a state file is never replaced', stateFileArgument)
    .option('--no-state', 'keep nothing between runs (counters are then compared with nothing, and the code is compiled afresh)')
    .option('--sudo', "run the privileged readers through 'sudo -n' (see the README for the sudoers lines)", false)
    .option('-t, --timeout <seconds>', 'give up and report UNKNOWN after this long', timeoutArgument, 10)
    .option('-v, --verbose', 'more detail: -v what was seen and what to change, -vv also where each figure came from, -vvv also the stack of an internal error', (_value: string, previous: number) => previous + 1, 0)
    .option('--proc <dir>', 'where /proc is (a host /proc mounted elsewhere)', directoryArgument, '/proc')
    .option('--sys <dir>', 'where /sys is', directoryArgument, '/sys')
    .option('--root <dir>', "where the host's file system is, for /run/netns and the container runtimes' files that name containers", directoryArgument, '/')
    .addHelpText('after', HELP_FOOTER)
    .allowExcessArguments(false)
    .exitOverride()
    .configureHelp({ sortOptions: false });
}

export function shortUsage(): string[] {
  return [
    `Usage: ${PROGRAM} [-w RANGE] [-c RANGE] [--drop-critical RANGE] [--kernel-log SOURCE] [--state-file PATH] [-t SECONDS] [-v] [--sudo]`,
    `Try '${PROGRAM} --help' for more information.`,
  ];
}

export function parseCommandLine(argv: readonly string[]): CliOutcome {
  const command = buildCommand();
  let out = '';
  let err = '';
  command.configureOutput({
    writeOut: (s) => (out += s),
    writeErr: (s) => (err += s),
    outputError: (s) => (err += s),
  });
  try {
    command.parse([...argv], { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
      return { kind: 'info', text: out };
    }
    const message = (err.trim() || e.message).replace(/^error: /, '');
    return { kind: 'usage-error', message, usage: shortUsage() };
  }
  const o = command.opts();
  const conflict =
    o.repeat !== undefined && !o.changesOnly
      ? '--repeat works with --changes-only: add --changes-only, or leave --repeat out'
      : o.changesOnly && o.format === 'json'
        ? '--changes-only is for text that cron or a timer mails: leave it out with --format json'
        : undefined;
  if (conflict) return { kind: 'usage-error', message: conflict, usage: shortUsage() };
  return {
    kind: 'run',
    options: {
      warning: o.warning,
      critical: o.critical,
      notLoaded: o.notLoaded,
      timeoutSeconds: o.timeout,
      verbosity: Math.min(o.verbose, MAX_VERBOSITY),
      procRoot: o.proc,
      sysRoot: o.sys,
      root: o.root,
      stateFile: o.state === false ? false : o.stateFile,
      dropWarning: o.dropWarning,
      dropCritical: o.dropCritical,
      earlyDropWarning: o.earlyDropWarning,
      earlyDropCritical: o.earlyDropCritical,
      insertFailedWarning: o.insertFailedWarning,
      insertFailedCritical: o.insertFailedCritical,
      kernelLog: o.kernelLog,
      logWindowSeconds: o.logWindow,
      logDropsWarning: o.logDropsWarning,
      logDropsCritical: o.logDropsCritical,
      sudo: o.sudo,
      staleModules: o.staleModules,
      namespaces: o.namespaces,
      top: o.top,
      bucketsWarning: o.bucketsWarning,
      fillWarningSeconds: o.fillWarning,
      fillCriticalSeconds: o.fillCritical,
      breakdown: o.breakdown || o.excludeUnreplied,
      excludeUnreplied: o.excludeUnreplied,
      format: o.format,
      quietOk: o.quietOk,
      changesOnly: o.changesOnly,
      repeatSeconds: o.repeat,
      syslog: o.syslog,
    },
  };
}
