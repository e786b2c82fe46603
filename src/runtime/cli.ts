import { Command, CommanderError, Option } from 'commander';
import { version } from '../../package.json';
import { OPTION_TABLE, type OptionSpec } from './option-table';
import type { Options } from './options';

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
  const command = new Command(PROGRAM)
    .description('Checks how full the Linux connection-tracking table (nf_conntrack) is.')
    .helpOption('-h, --help', 'show this help and exit (UNKNOWN)')
    .version(version, '-V, --version', 'show the version and exit (UNKNOWN)');
  for (const spec of OPTION_TABLE as readonly OptionSpec<string, unknown>[]) {
    const option = new Option(spec.flags, spec.help);
    if ('default' in spec) option.default(spec.default, spec.shown);
    if (spec.parse) option.argParser(spec.parse);
    command.addOption(option);
  }
  return command.addHelpText('after', HELP_FOOTER).allowExcessArguments(false).exitOverride().configureHelp({ sortOptions: false });
}

/** Each option's value under its key in Options, read from commander's attribute for it. */
function optionsFrom(command: Command): Options {
  const raw = command.opts();
  const values: Record<string, unknown> = {};
  for (const spec of OPTION_TABLE as readonly OptionSpec<string, unknown>[]) {
    const value = raw[new Option(spec.flags).attributeName()];
    values[spec.key] = spec.from ? spec.from(value) : value;
  }
  return values as Options;
}

/** Rules between options, which no single option's parser can see. */
function conflict(o: Options): string | undefined {
  if (o.repeatSeconds !== undefined && !o.changesOnly)
    return '--repeat works with --changes-only: add --changes-only, or leave --repeat out';
  if (o.changesOnly && o.format === 'json') return '--changes-only is for text that cron or a timer mails: leave it out with --format json';
  return undefined;
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
  const options = optionsFrom(command);
  const problem = conflict(options);
  if (problem) return { kind: 'usage-error', message: problem, usage: shortUsage() };
  // --exclude-unreplied needs the entries counted.
  return { kind: 'run', options: { ...options, breakdown: options.breakdown || options.excludeUnreplied } };
}
