import { REPORTED_COUNTERS } from '../parse/conntrack-stat';
import type { Perfdata } from '../nagios/perfdata';
import type { Result } from '../nagios/result';
import { State, worst } from '../nagios/state';
import { evaluate, type Thresholds } from '../nagios/thresholds';
import type { CountersMeasurement } from '../probes/counters';
import type { LogScan } from '../probes/kernel-log';
import type { Options } from '../runtime/option-table';
import type { Baseline } from '../state/baseline';
import { compareCounters } from './counter-delta';
import { formatDuration } from './duration';
import { describeLog, logOwnersOf } from './log-owner';
import { stateLost, type Check, type Measurements } from './measurements';

export interface PacketLossOptions {
  readonly drop: Thresholds;
  readonly earlyDrop: Thresholds;
  readonly insertFailed: Thresholds;
  readonly logDrops: Thresholds;
  readonly logWindowSeconds: number;
  /** Who runs the check, for the fix when the log is closed to it. */
  readonly user?: string;
}

/** The counters that get thresholds, and how to say that one of them grew. */
const WATCHED: ReadonlyArray<{ name: string; option: keyof PacketLossOptions; say(n: number): string }> = [
  { name: 'drop', option: 'drop', say: (n) => `${n} ${n === 1 ? 'packet' : 'packets'} dropped since last check (table full)` },
  {
    name: 'early_drop',
    option: 'earlyDrop',
    say: (n) => `${n} ${n === 1 ? 'entry' : 'entries'} evicted early since last check (table full)`,
  },
  { name: 'insert_failed', option: 'insertFailed', say: (n) => `${n} ${n === 1 ? 'insertion' : 'insertions'} failed since last check` },
];

/** How to open the kernel log to `user` (the user running the check): groups, or sudo for dmesg alone. */
export function logFix(user = 'nagios'): string {
  return (
    `to let ${user} read it: add ${user} to group systemd-journal (journalctl -k) or, on Debian and Ubuntu, adm (/var/log/kern.log); ` +
    `or pass --sudo with the sudoers line '${user} ALL=(root) NOPASSWD: /usr/bin/dmesg -r' (sudo package; the full file is in examples/sudoers of the check-conntrack package's documentation)`
  );
}

function counterPerfdata(m: CountersMeasurement): Perfdata[] {
  if (m.status !== 'ok') return [];
  return REPORTED_COUNTERS.filter((name) => name in m.stats.totals).map((name) => ({
    label: name,
    value: m.stats.totals[name]!,
    uom: 'c' as const,
  }));
}

/** The watched counters' increases against their thresholds, with the words for each. */
export function judgeGrowth(
  increases: Record<string, number>,
  options: PacketLossOptions,
): Array<{ name: string; value: number; state: State; text: string }> {
  return WATCHED.filter((w) => w.name in increases).map((w) => {
    const value = increases[w.name]!;
    return { name: w.name, value, state: evaluate(value, options[w.option] as Thresholds), text: w.say(value) };
  });
}

function pickTotals(totals: Record<string, number>, names: readonly string[]): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, totals[n]!]));
}

export function checkCounters(m: CountersMeasurement, baseline: Baseline, options: PacketLossOptions, nowMs: number): Result {
  if (m.status !== 'ok') {
    const why = m.status === 'unavailable' ? m.reasons.join('; ') : m.reason;
    return { check: 'counters', state: State.OK, summary: '', details: [], notes: [`drop counters unavailable: ${why}`], perfdata: [] };
  }
  const totals = m.stats.totals;
  const present = REPORTED_COUNTERS.filter((name) => name in totals);
  const listing = present.map((n) => `${n} ${totals[n]}`).join(', ');
  const source = `${m.source}, ${m.stats.cpus} CPU ${m.stats.cpus === 1 ? 'row' : 'rows'}`;
  const perfdata = counterPerfdata(m);

  if (!baseline.counters) {
    const drops = totals.drop ?? 0;
    const summary = `${baseline.missing ?? 'first check'}: drop counters recorded as the baseline${drops > 0 ? ` (${drops} dropped before)` : ''}`;
    return {
      check: 'counters',
      state: State.OK,
      data: {
        source: m.source,
        cpus: m.stats.cpus,
        totals: pickTotals(totals, present),
        increases: null,
        baseline: baseline.missing ?? null,
      },
      summary: baseline.stateless ? '' : summary,
      details: [
        `counters since the namespace was created (${source}): ${listing}`,
        ...(baseline.stateless
          ? ['with --no-state there is no earlier check to compare with: only the kernel log can show new drops']
          : []),
      ],
      perfdata,
    };
  }

  const previous = baseline.counters;
  const elapsed = formatDuration(Math.max(0, (nowMs - previous.timeMs) / 1000));
  const growth = compareCounters(previous.perCpu, m.stats);
  if (growth.kind === 'incomparable') {
    return {
      check: 'counters',
      state: State.OK,
      summary: `counters not comparable with the last check (${growth.reason}): drop counters recorded as the baseline`,
      details: [`counters (${source}): ${listing}`],
      perfdata,
    };
  }
  const notes = growth.recreated
    ? [`counters went down since the last check (${growth.recreated}): the namespace was recreated, so its totals count as new`]
    : [];
  const judged = judgeGrowth(growth.increases, options);
  const states = judged.map((j) => j.state);
  const alerts = judged.filter((j) => j.state !== State.OK || (j.name === 'drop' && j.value > 0)).map((j) => j.text);
  const listed = present.filter((n) => n in growth.increases).map((n) => `${n} +${growth.increases[n]}`);
  return {
    check: 'counters',
    state: worst(states),
    data: {
      source: m.source,
      cpus: m.stats.cpus,
      totals: pickTotals(totals, present),
      increases: growth.increases,
      since_ms: nowMs - previous.timeMs,
      recreated: growth.recreated ?? null,
    },
    summary: alerts.join(', '),
    details: [`counters (${source}): ${listing}; since last check ${elapsed} ago: ${listed.join(', ') || 'not comparable'}`],
    notes,
    perfdata,
  };
}

export function checkKernelLog(scan: LogScan, options: PacketLossOptions): Result | undefined {
  if (scan.status === 'disabled') return undefined;
  if (scan.status === 'unreadable') {
    const tried = scan.attempts.map((a) => `${a.source}: ${a.reason}`).join('; ');
    // The fix for a refusal is a privilege; a program that hung or crashed needs no group.
    const refused = scan.attempts.some((a) => /permi|CAP_SYSLOG|dmesg_restrict|needs root|systemd-journal|EACCES|EPERM/i.test(a.reason));
    // A file the user named that cannot be read has not said that nothing was dropped.
    if (scan.requested !== undefined) {
      return {
        check: 'kernel-log',
        state: State.UNKNOWN,
        summary: `cannot read the kernel log ${scan.requested} given with --kernel-log (${tried})`,
        details: [],
        perfdata: [],
        data: { unreadable: scan.attempts },
      };
    }
    return {
      check: 'kernel-log',
      state: State.OK,
      summary: '',
      // The counters answer for drops: that the log is closed is detail, not something to print on every healthy run.
      details: [`kernel log not readable (${tried})${refused ? `; ${logFix(options.user)}` : ''}`],
      notes: [],
      perfdata: [],
      data: { unreadable: scan.attempts },
    };
  }
  const n = scan.messages;
  const when = describeLog(scan, options.logWindowSeconds);
  const state = evaluate(n, options.logDrops);
  const newest = scan.newestMs;
  const namespaces = Object.keys(scan.byNetns)
    .filter((k) => k !== '')
    .map(Number);
  const facts: string[] = [];
  if (newest !== undefined) facts.push(`newest ${new Date(newest).toISOString().replace(/\.\d+Z$/, 'Z')}`);
  if (namespaces.length) facts.push(`netns ${namespaces.join(', ')}`);
  // net_ratelimit is shared by all of networking: what it swallowed may or may not have been conntrack's.
  if (scan.suppressed)
    facts.push(`up to ${scan.suppressed} more ${scan.suppressed === 1 ? 'message' : 'messages'} may have been suppressed`);
  const headline = `${n} 'table full' ${n === 1 ? 'message' : 'messages'} in the kernel log ${when}${facts.length ? ` (${facts.join(', ')})` : ''}`;
  const details = [`kernel log (${scan.source}): ${n} 'table full' ${n === 1 ? 'message' : 'messages'} ${when}`];
  for (const m of scan.matches.slice(-3)) details.push(`  ${m.text}`);
  return {
    check: 'kernel-log',
    state,
    summary: state !== State.OK || n > 0 ? headline : '',
    details,
    notes: scan.notes,
    trace: scan.attempts.map((a) => `kernel log: ${a.source} not used: ${a.reason}`),
    perfdata: [],
    data: {
      source: scan.source,
      messages: n,
      suppressed: scan.suppressed,
      since_last_check: scan.sinceLastRun,
      window_seconds: scan.sinceLastRun ? null : options.logWindowSeconds,
      newest_ms: newest ?? null,
      namespaces,
      lines: scan.matches.slice(-20).map((m) => m.text),
    },
  };
}

/** What the loss checks cannot say, and why: an UNKNOWN, never a quiet OK. */
function cannotTell(why: string): Result {
  return {
    check: 'packet-loss',
    state: State.UNKNOWN,
    summary: `cannot tell whether packets were dropped: ${why}`,
    details: [],
    perfdata: [],
  };
}

/** Why the kernel log gave no answer. */
function unread(scan: LogScan): string {
  return scan.status === 'disabled' ? 'the kernel log is not searched (--kernel-log none)' : 'the kernel log is not readable';
}

/**
 * Never a false OK: when neither the counters nor the log could be read, the
 * check cannot say that no packets were lost.
 */
export function checkPacketLoss(
  counters: CountersMeasurement,
  scan: LogScan,
  baseline: Baseline,
  options: PacketLossOptions,
  nowMs: number,
  /** Why the state for the next check could not be kept, when it could not. */
  stateLost?: string,
): Result[] {
  const countersResult = checkCounters(counters, baseline, options, nowMs);
  // No baseline is being recorded: saying so would promise a comparison that will never come.
  if (stateLost !== undefined && !baseline.counters) countersResult.summary = '';
  const results = [countersResult];
  const log = checkKernelLog(scan, options);
  if (log) results.push(log);
  // Counters with nothing to compare with, run after run, would read OK for ever:
  // only a kernel log that answers for the interval can say nothing was dropped.
  if (stateLost !== undefined && !baseline.counters && counters.status === 'ok' && scan.status !== 'ok') {
    results.push(cannotTell(`the state could not be kept, so the drop counters have nothing to compare with, and ${unread(scan)}`));
  }
  // The newest messages are the ones a reader stopped early missed: a part read that was quiet says nothing.
  if (counters.status !== 'ok' && scan.status === 'ok' && scan.partial && scan.messages === 0) {
    results.push(cannotTell(`no drop counters, and the kernel log (${scan.source}) was read only in part`));
  }
  if (counters.status !== 'ok' && scan.status !== 'ok') {
    results.push(cannotTell(`no drop counters, and ${unread(scan)}`));
  }
  return results;
}

/** The thresholds on losses, from the options: the host's and every namespace's. */
export function lossOptions(options: Options, user?: string): PacketLossOptions {
  return {
    drop: { warning: options.dropWarning, critical: options.dropCritical },
    earlyDrop: { warning: options.earlyDropWarning, critical: options.earlyDropCritical },
    insertFailed: { warning: options.insertFailedWarning, critical: options.insertFailedCritical },
    logDrops: { warning: options.logDropsWarning, critical: options.logDropsCritical },
    logWindowSeconds: options.logWindowSeconds,
    user,
  };
}

/** The log as this namespace's finding must count it: without the messages other namespaces logged. */
function ownLog(m: Measurements): LogScan {
  return logOwnersOf(m)?.own ?? m.log;
}

export const packetLossCheck: Check = (m, options) =>
  checkPacketLoss(m.counters, ownLog(m), m.baseline, lossOptions(options, m.privileges.user), m.identity.nowMs, stateLost(m));

/**
 * Whether this namespace lost packets: its counters alert, or its own messages
 * do. An UNKNOWN is not a loss, nor a message another namespace logged.
 */
export function packetsLost(m: Measurements, options: Options): boolean {
  const log = ownLog(m);
  const ownMessages = log.status === 'ok' && ((log.byNetns[''] ?? 0) > 0 || (log.byNetns[String(m.identity.netns)] ?? 0) > 0);
  return packetLossCheck(m, options).some(
    (r) =>
      (r.check === 'counters' || (r.check === 'kernel-log' && ownMessages)) && (r.state === State.WARNING || r.state === State.CRITICAL),
  );
}
