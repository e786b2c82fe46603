import { parseRange, type Range } from '../nagios/range';
import { State } from '../nagios/state';
import type { LogChoice } from '../probes/kernel-log';
import {
  countArgument,
  countRangeArgument,
  directoryArgument,
  durationArgument,
  alertStateArgument,
  formatArgument,
  kernelLogArgument,
  mailAddressArgument,
  MAX_VERBOSITY,
  namespacesArgument,
  rangeArgument,
  stateArgument,
  stateFileArgument,
  timeoutArgument,
} from './options';

/**
 * Every option, defined once. The commander options (and so --help), the
 * Options type the rest of the plugin reads, the thresholds in --format json,
 * docs/options.md and the Icinga 2 CheckCommand are made from this table;
 * the man page and the JSON schema are tested against it. docs/adding-a-check.md
 * says how a new threshold goes in.
 */

/** The part of the check that reads an option: how docs/options.md groups them. */
export type OptionGroup = 'table' | 'packet loss' | 'kernel log' | 'modules' | 'namespaces' | 'diagnosis' | 'output' | 'state' | 'run';

/** How an option appears among the thresholds of --format json. */
export type JsonKind = 'range' | 'seconds' | 'state' | 'flag';

export interface OptionSpec<K extends string, V> {
  /** commander's flags: `-w, --warning <range>`, `--sudo`. */
  readonly flags: string;
  /** The field of Options that holds the value. */
  readonly key: K;
  readonly help: string;
  readonly group: OptionGroup;
  /** Turns the argument into the value (commander's argParser); none for a flag. */
  readonly parse?: (value: string, previous: V) => V;
  readonly default?: V;
  /** How --help and docs/options.md show the default. */
  readonly shown?: string;
  /** Its name among the thresholds of --format json, and how it is written there. */
  readonly json?: { readonly name: string; readonly kind: JsonKind };
  /** From commander's value to the option's: for --no-state, whose attribute is `state`. */
  readonly from?: (raw: unknown) => V;
}

const define = <K extends string, V>(spec: OptionSpec<K, V>): OptionSpec<K, V> => spec;

/** A threshold range, with the parser that says what it may count. */
const threshold =
  (parse: (value: string) => Range) =>
  <K extends string>(key: K, flags: string, help: string, group: OptionGroup, json: string, def?: string, shown?: string) =>
    define<K, Range | undefined>({
      key,
      flags,
      help,
      group,
      parse,
      ...(def !== undefined ? { default: parseRange(def), shown: shown ?? def } : {}),
      json: { name: json, kind: 'range' },
    });

/** A threshold on usage or a ratio: a % makes it a share of nf_conntrack_max. */
const usage = threshold(rangeArgument);

/** A threshold on an increase since the last check: it counts events, so no %. */
const events = threshold(countRangeArgument);

const flag = <K extends string>(key: K, flags: string, help: string, group: OptionGroup, json?: string) =>
  define<K, boolean>({ key, flags, help, group, default: false, ...(json ? { json: { name: json, kind: 'flag' as const } } : {}) });

export const OPTION_TABLE = [
  usage('warning', '-w, --warning <range>', 'warning threshold on table usage', 'table', 'warning', '80%'),
  usage('critical', '-c, --critical <range>', 'critical threshold on table usage', 'table', 'critical', '90%'),
  define({
    key: 'notLoaded',
    flags: '--not-loaded <state>',
    help: 'state when the kernel tracks no connections at all: ok, warning, critical or unknown',
    group: 'table',
    parse: stateArgument,
    default: State.OK as State,
    shown: 'ok',
    json: { name: 'not_loaded', kind: 'state' },
  }),
  events('dropWarning', '--drop-warning <range>', 'warning on packets dropped since the last check', 'packet loss', 'drop_warning'),
  events(
    'dropCritical',
    '--drop-critical <range>',
    'critical on packets dropped since the last check',
    'packet loss',
    'drop_critical',
    '0',
    '0: any drop',
  ),
  events(
    'earlyDropWarning',
    '--early-drop-warning <range>',
    'warning on entries evicted early since the last check (the table was full)',
    'packet loss',
    'early_drop_warning',
    '0',
    '0: any eviction',
  ),
  events(
    'earlyDropCritical',
    '--early-drop-critical <range>',
    'critical on early evictions since the last check',
    'packet loss',
    'early_drop_critical',
  ),
  events(
    'insertFailedWarning',
    '--insert-failed-warning <range>',
    'warning on failed insertions since the last check',
    'packet loss',
    'insert_failed_warning',
  ),
  events(
    'insertFailedCritical',
    '--insert-failed-critical <range>',
    'critical on failed insertions since the last check',
    'packet loss',
    'insert_failed_critical',
  ),
  define({
    key: 'kernelLog',
    flags: '--kernel-log <source>',
    help: "where to look for 'table full' messages: auto, kmsg, dmesg, journal, none or a file path",
    group: 'kernel log',
    parse: kernelLogArgument,
    default: 'auto' as LogChoice,
    shown: 'auto',
  }),
  define({
    key: 'logWindowSeconds',
    flags: '--log-window <duration>',
    help: 'on the first run, how far back the kernel log counts',
    group: 'kernel log',
    parse: durationArgument,
    default: 3600,
    shown: '1h',
    json: { name: 'log_window_seconds', kind: 'seconds' },
  }),
  events(
    'logDropsWarning',
    '--log-drops-warning <range>',
    "warning on 'table full' messages since the last check",
    'kernel log',
    'log_drops_warning',
  ),
  events(
    'logDropsCritical',
    '--log-drops-critical <range>',
    "critical on 'table full' messages since the last check",
    'kernel log',
    'log_drops_critical',
    '0',
    '0: any message',
  ),
  define({
    key: 'staleModules',
    flags: '--stale-modules <state>',
    help: 'state when conntrack is loaded, no rule needs it, and the kernel tracks every connection: ok, warning or critical',
    group: 'modules',
    parse: alertStateArgument,
    default: State.WARNING as State,
    shown: 'warning',
    json: { name: 'stale_modules', kind: 'state' },
  }),
  define({
    key: 'otherNamespacesDrops',
    flags: '--other-namespaces-drops <state>',
    help: "state when the kernel log shows 'table full' messages of other network namespaces: ok, warning or critical",
    group: 'kernel log',
    parse: alertStateArgument,
    default: State.WARNING as State,
    shown: 'warning',
    json: { name: 'other_namespaces_drops', kind: 'state' },
  }),
  define({
    key: 'namespaces',
    flags: '--namespaces <which>',
    help: 'host: the namespace the plugin runs in; all: every network namespace on the host too',
    group: 'namespaces',
    parse: namespacesArgument,
    default: 'host' as 'host' | 'all',
    shown: 'host',
  }),
  define({
    key: 'top',
    flags: '--top <n>',
    help: 'how many namespaces (--namespaces all), ports and destinations (--breakdown) to list',
    group: 'output',
    parse: countArgument,
    default: 5,
    shown: '5',
  }),
  usage(
    'bucketsWarning',
    '--buckets-warning <range>',
    'warning on nf_conntrack_max / nf_conntrack_buckets (long hash chains)',
    'diagnosis',
    'buckets_warning',
  ),
  define<'fillWarningSeconds', number | undefined>({
    key: 'fillWarningSeconds',
    flags: '--fill-warning <duration>',
    help: 'warning when the table will be full sooner than this at the current growth',
    group: 'diagnosis',
    parse: durationArgument,
    json: { name: 'fill_warning_seconds', kind: 'seconds' },
  }),
  define<'fillCriticalSeconds', number | undefined>({
    key: 'fillCriticalSeconds',
    flags: '--fill-critical <duration>',
    help: 'critical when the table will be full sooner than this',
    group: 'diagnosis',
    parse: durationArgument,
    json: { name: 'fill_critical_seconds', kind: 'seconds' },
  }),
  flag(
    'breakdown',
    '--breakdown',
    'count what fills the table (protocols, TCP states, top ports and destinations); needs root or --sudo',
    'diagnosis',
  ),
  flag(
    'excludeUnreplied',
    '--exclude-unreplied',
    'leave [UNREPLIED] entries out of the usage the thresholds see (implies --breakdown)',
    'table',
    'exclude_unreplied',
  ),
  define({
    key: 'format',
    flags: '--format <format>',
    help: 'nagios or json',
    group: 'output',
    parse: formatArgument,
    default: 'nagios' as 'nagios' | 'json',
    shown: 'nagios',
  }),
  flag(
    'quietOk',
    '--quiet-ok',
    'print nothing when the state is OK (for cron, which mails whatever is printed); --format json prints JSON still',
    'output',
  ),
  flag(
    'changesOnly',
    '--changes-only',
    'print only when the overall state changes, and once on recovery (for cron: one mail per problem); the exit code is always the real state',
    'output',
  ),
  define<'repeatSeconds', number | undefined>({
    key: 'repeatSeconds',
    flags: '--repeat <duration>',
    help: 'with --changes-only: print again while the state stays non-OK this long, e.g. 1h',
    group: 'output',
    parse: durationArgument,
  }),
  flag(
    'syslog',
    '--syslog',
    "also send the status line of each change (or of every non-OK run) to syslog, facility daemon, through 'logger'",
    'output',
  ),
  define<'mailTo', string | undefined>({
    key: 'mailTo',
    flags: '--mail-to <address>',
    help: "also mail what is printed to this user or address through the mail transfer agent's /usr/sbin/sendmail: each change with --changes-only, else each non-OK run",
    group: 'output',
    parse: mailAddressArgument,
  }),
  define<'stateFile', string | undefined>({
    key: 'stateFile',
    flags: '--state-file <path>',
    help: "absolute path of the file that keeps counters between runs (default: in /var/lib/check_conntrack/ when it is this user's, else /var/tmp/check_conntrack-UID/); a file that is not a state file is never replaced",
    group: 'state',
    parse: stateFileArgument,
  }),
  define<'noState', boolean>({
    key: 'noState',
    flags: '--no-state',
    help: 'keep nothing between runs (counters are then compared with nothing, and the code is compiled afresh)',
    group: 'state',
    // commander keeps --no-state as `state`, true unless given.
    from: (raw) => raw === false,
  }),
  flag('sudo', '--sudo', "run the privileged readers through 'sudo -n' (see man 8 check_conntrack for the sudoers lines)", 'run'),
  define({
    key: 'timeoutSeconds',
    flags: '-t, --timeout <seconds>',
    help: 'give up and report UNKNOWN after this long',
    group: 'run',
    parse: timeoutArgument,
    default: 10,
    shown: '10',
  }),
  define({
    key: 'verbosity',
    flags: '-v, --verbose',
    help: 'more detail: -v what was seen and what to change, -vv also where each figure came from, -vvv also the stack of an internal error',
    group: 'output',
    parse: (_value: string, previous: number) => Math.min(previous + 1, MAX_VERBOSITY),
    default: 0,
  }),
  define({
    key: 'procRoot',
    flags: '--proc <dir>',
    help: 'where /proc is (a host /proc mounted elsewhere)',
    group: 'run',
    parse: directoryArgument,
    default: '/proc',
    shown: '/proc',
  }),
  define({
    key: 'sysRoot',
    flags: '--sys <dir>',
    help: 'where /sys is',
    group: 'run',
    parse: directoryArgument,
    default: '/sys',
    shown: '/sys',
  }),
  define({
    key: 'root',
    flags: '--root <dir>',
    help: "where the host's file system is, for /run/netns, the container runtimes' files that name containers, and modprobe.d",
    group: 'namespaces',
    parse: directoryArgument,
    default: '/',
    shown: '/',
  }),
] as const;

type Spec = (typeof OPTION_TABLE)[number];

/** Everything the user chose, validated: the rest of the plugin never sees raw strings. */
export type Options = { [S in Spec as S['key']]: S extends OptionSpec<string, infer V> ? V : never };
