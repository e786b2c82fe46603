import type { ConntrackStats } from '../parse/conntrack-stat';
import type { LogDrops, LogScan } from '../probes/kernel-log';
import type { NamespaceInfo } from '../probes/namespaces';
import type { SavedCounters } from '../state/schema';
import type { Result } from '../nagios/result';
import { State } from '../nagios/state';
import { compareCounters } from './counter-delta';
import { formatDuration } from './duration';
import type { Check, Measurements } from './measurements';
import { namespaceLabel } from './namespace-label';

/**
 * What says whether a namespace could have logged a 'table full' message: every
 * such message goes with a `drop` increment in the namespace that dropped, and
 * the kernel reuses the inode numbers the message names.
 */
export interface DropEvidence {
  /** The drop counter now; undefined when it could not be read. */
  total?: number;
  /** Its increase since `sinceMs` (the last check), when there is a baseline to compare with. */
  increase?: number;
  sinceMs?: number;
  /** About when the namespace was made, ms since the epoch. */
  createdMs?: number;
}

/**
 * Clocks disagree a little: kernel log times come from seconds since boot, a
 * process's start from clock ticks. A message is put before a namespace only
 * when it is clearly so.
 */
const CREATION_SLACK_MS = 1000;
/** USER_HZ: /proc/PID/stat counts start times in these on every Linux architecture. */
const TICKS_PER_SECOND = 100;

/** About when a namespace was made: its /run/netns file's time, or the start of its oldest process. */
export function creationTime(info: NamespaceInfo, bootMs: number | undefined): number | undefined {
  const started = info.startTicks !== undefined && bootMs !== undefined ? bootMs + (info.startTicks * 1000) / TICKS_PER_SECOND : undefined;
  if (started === undefined) return info.boundMs;
  return info.boundMs === undefined ? started : Math.min(started, info.boundMs);
}

/** The evidence from a namespace's counters now and at the last check. */
export function dropEvidence(
  stats: ConntrackStats | undefined,
  previous: SavedCounters | undefined,
  createdMs: number | undefined,
): DropEvidence {
  const evidence: DropEvidence = { createdMs };
  if (!stats || stats.totals.drop === undefined) return evidence;
  evidence.total = stats.totals.drop;
  if (previous) {
    const growth = compareCounters(previous.perCpu, stats);
    if (growth.kind === 'growth' && growth.increases.drop !== undefined) {
      evidence.increase = growth.increases.drop;
      evidence.sinceMs = previous.timeMs;
    }
  }
  return evidence;
}

/** Whether a namespace could have logged a message at `timeMs`. */
export function mayOwn(e: DropEvidence, timeMs: number | undefined): boolean {
  // A counter still at 0 since the namespace was made never dropped anything.
  if (e.total === 0) return false;
  // A counter that did not move since the last check dropped nothing since.
  if (e.increase === 0 && e.sinceMs !== undefined && (timeMs === undefined || timeMs > e.sinceMs)) return false;
  // A namespace made after the message is a newer one under a reused inode.
  if (e.createdMs !== undefined && timeMs !== undefined && timeMs < e.createdMs - CREATION_SLACK_MS) return false;
  return true;
}

export interface Candidate {
  readonly label: string;
  readonly evidence: DropEvidence;
}

export interface LogOwnersInput {
  readonly scan: Extract<LogScan, { status: 'ok' }>;
  /** The namespace this check judges (the one it runs in). */
  readonly own: { readonly inode?: number; readonly evidence: DropEvidence };
  /** The other namespaces there are now, by inode. */
  readonly others: ReadonlyMap<number, Candidate>;
  /** True when others are judged in their own right (--namespaces all): their messages go to them. */
  readonly judgedElsewhere: boolean;
  /** False when some processes could not be inspected: a namespace not among `others` may still be there. */
  readonly complete: boolean;
}

const NO_NAMESPACE = 'no namespace named';

/**
 * The host's network namespace has this inode on every kernel that names
 * namespaces in its messages (6.17+): those name all namespaces but this one.
 */
export const INIT_NETNS_INODE = 4026531833;

export interface ForeignDrops {
  readonly label: string;
  readonly netns?: number;
  count: number;
}

export interface LogOwners {
  /** The scan with only this namespace's messages: what its kernel-log finding counts. */
  readonly own: Extract<LogScan, { status: 'ok' }>;
  /** Messages given to another namespace that is judged in its own right, by inode. */
  readonly byNamespace: Record<string, number>;
  /** Messages of no namespace judged here: another one, a gone one, or none that could have logged them. */
  readonly foreign: ForeignDrops[];
}

/**
 * Gives each 'table full' message to the namespace that logged it: the one it
 * names, if that namespace existed then and its drop counter allows it; one
 * that names none, to this namespace if its counter allows it. Everything else
 * belongs elsewhere and must never count as this table's drops.
 */
export function assignLogOwners(input: LogOwnersInput): LogOwners {
  const { scan, own, others } = input;
  const mine: LogDrops[] = [];
  const byNamespace: Record<string, number> = {};
  const foreign = new Map<string, ForeignDrops>();
  const away = (label: string, netns: number | undefined, count: number): void => {
    const f = foreign.get(label);
    if (f) f.count += count;
    else foreign.set(label, { label, netns, count });
  };
  // An inode held now by a namespace that cannot have logged the message was an earlier one's: that one is gone.
  const gone = (netns: number, held: boolean) => `netns ${netns} (${held || input.complete ? 'gone' : 'not found'})`;
  // A kernel that names namespaces leaves out only the host's.
  const naming = scan.drops.some((d) => d.netns !== undefined);
  type Owner = { kind: 'own' } | { kind: 'judged' } | { kind: 'foreign'; label: string };
  const ownerOf = (netns: number | undefined, timeMs: number | undefined): Owner => {
    if (netns === undefined && naming && own.inode !== undefined && own.inode !== INIT_NETNS_INODE)
      return { kind: 'foreign', label: `netns ${INIT_NETNS_INODE} (the host's)` };
    if (netns === undefined) return mayOwn(own.evidence, timeMs) ? { kind: 'own' } : { kind: 'foreign', label: NO_NAMESPACE };
    if (netns === own.inode) return mayOwn(own.evidence, timeMs) ? { kind: 'own' } : { kind: 'foreign', label: gone(netns, true) };
    const other = others.get(netns);
    if (!other || !mayOwn(other.evidence, timeMs)) return { kind: 'foreign', label: gone(netns, other !== undefined) };
    return input.judgedElsewhere ? { kind: 'judged' } : { kind: 'foreign', label: other.label };
  };

  for (const d of scan.drops) {
    const owner = ownerOf(d.netns, d.timeMs);
    if (owner.kind === 'own') mine.push(d);
    else if (owner.kind === 'judged') byNamespace[d.netns!] = (byNamespace[d.netns!] ?? 0) + d.count;
    else away(owner.label, d.netns, d.count);
  }

  const byNetns: Record<string, number> = {};
  let newestMs: number | undefined;
  for (const d of mine) {
    const key = d.netns === undefined ? '' : String(d.netns);
    byNetns[key] = (byNetns[key] ?? 0) + d.count;
    if (d.timeMs !== undefined && (newestMs === undefined || d.timeMs > newestMs)) newestMs = d.timeMs;
  }
  const messages = mine.reduce((n, d) => n + d.count, 0);
  return {
    own: {
      ...scan,
      messages,
      byNetns,
      drops: mine,
      newestMs,
      matches: scan.matches.filter((m) => ownerOf(m.netns, m.timeMs).kind === 'own'),
      // A rate limiter shared by all of networking says nothing about whose messages it swallowed.
      suppressed: messages > 0 ? scan.suppressed : 0,
    },
    byNamespace,
    foreign: [...foreign.values()].sort((a, b) => b.count - a.count),
  };
}

export const OTHER_NAMESPACES_OPTION = '--other-namespaces-drops';

/**
 * 'table full' messages that are not this namespace's: worth knowing (another
 * namespace lost packets), at the state the operator chose, but never this
 * table's usage or drops and never a reason to resize it.
 */
export function checkForeignDrops(foreign: readonly ForeignDrops[], state: State, when: string): Result | undefined {
  const total = foreign.reduce((n, f) => n + f.count, 0);
  if (total === 0) return undefined;
  const part = (f: ForeignDrops, withCount: boolean) =>
    `${withCount ? `${f.count} ` : ''}${f.label === NO_NAMESPACE ? 'naming no namespace' : `from ${f.label}`}`;
  const messages = `${total} 'table full' ${total === 1 ? 'message' : 'messages'} ${when}`;
  const summary =
    foreign.length === 1 ? `${messages} ${part(foreign[0]!, false)}` : `${messages}: ${foreign.map((f) => part(f, true)).join(', ')}`;
  return {
    check: 'other-namespaces',
    state,
    summary: `other network namespaces dropped packets: ${summary}`,
    details: [
      `kernel log: ${summary}; this namespace's drop counter does not account for them, so they are not this table's drops`,
      ...(state === State.WARNING ? [`choose the state for these with ${OTHER_NAMESPACES_OPTION} ok|warning|critical`] : []),
    ],
    perfdata: [],
    data: { messages: total, sources: foreign.map((f) => ({ netns: f.netns ?? null, label: f.label, messages: f.count })) },
  };
}

/** When the messages counted were logged: since the last check, or within the window searched. */
export function describeLog(scan: Extract<LogScan, { status: 'ok' }>, windowSeconds: number): string {
  return scan.sinceLastRun ? 'since last check' : `in the last ${formatDuration(windowSeconds)}`;
}

/**
 * Each message given to its namespace, from every namespace there is now and
 * what its counters say; undefined when the log was not read.
 */
export function logOwnersOf(m: Measurements): LogOwners | undefined {
  if (m.log.status !== 'ok') return undefined;
  // Several checks ask about the same measurements, which never change once made.
  const known = owners.get(m);
  if (known) return known;
  const found = assignOwners(m, m.log);
  owners.set(m, found);
  return found;
}

const owners = new WeakMap<Measurements, LogOwners>();

function assignOwners(m: Measurements, scan: Extract<LogScan, { status: 'ok' }>): LogOwners {
  const bootMs = m.identity.uptimeSeconds !== undefined ? m.identity.nowMs - m.identity.uptimeSeconds * 1000 : undefined;
  const read = new Map(m.namespaceEntries.map((e) => [e.info.inode, e.stats.status === 'ok' ? e.stats.stats : undefined]));
  const others = new Map<number, Candidate>();
  let ownCreated: number | undefined;
  for (const info of m.seen?.namespaces ?? []) {
    const created = creationTime(info, bootMs);
    if (info.inode === m.identity.netns) ownCreated = created;
    else
      others.set(info.inode, {
        label: namespaceLabel(info),
        evidence: dropEvidence(read.get(info.inode), m.baseline.state?.namespaces[String(info.inode)], created),
      });
  }
  return assignLogOwners({
    scan,
    own: {
      inode: m.identity.netns,
      evidence: dropEvidence(m.counters.status === 'ok' ? m.counters.stats : undefined, m.baseline.counters, ownCreated),
    },
    others,
    judgedElsewhere: m.inventory !== undefined,
    complete: m.seen !== undefined && m.seen.hiddenProcesses === 0,
  });
}

/** Messages of other namespaces: never this table's drops, but losses on this host all the same. */
export const foreignDropsCheck: Check = (m, options) => {
  const owners = logOwnersOf(m);
  if (!owners || m.log.status !== 'ok') return [];
  const found = checkForeignDrops(owners.foreign, options.otherNamespacesDrops, describeLog(m.log, options.logWindowSeconds));
  return found ? [found] : [];
};
