import { plainNumber, percentText } from '../nagios/number';
import type { Perfdata } from '../nagios/perfdata';
import type { Range } from '../nagios/range';
import type { Result } from '../nagios/result';
import { severity, State, STATE_NAMES, worst } from '../nagios/state';
import { evaluate } from '../nagios/thresholds';
import type { NamespaceEntry } from '../probes/namespace-stats';
import type { NamespaceInfo, NamespaceInventory } from '../probes/namespaces';
import type { SavedCounters } from '../state/schema';
import { percentToEntries } from './entry-ranges';
import { namespaceLabel } from './namespace-label';
import { compareCounters } from './counter-delta';
import { logOwnersOf } from './log-owner';
import type { Check } from './measurements';
import { judgeGrowth, lossOptions, type PacketLossOptions } from './packet-loss';

export type { NamespaceEntry };
export { namespaceLabel };

export interface NamespacesInput {
  /** The namespace the plugin runs in: the host checks cover it. */
  readonly own?: number;
  readonly inventory: NamespaceInventory;
  readonly entries: readonly NamespaceEntry[];
  /** The one global nf_conntrack_max; every namespace has it as its limit. */
  readonly max?: number;
  readonly warning?: Range;
  readonly critical?: Range;
  readonly loss: PacketLossOptions;
  /** Baselines from the last check, by inode; only from this boot. */
  readonly baselines?: Readonly<Record<string, SavedCounters>>;
  /** 'table full' messages by the namespace inode they name. */
  readonly logByNetns: Readonly<Record<string, number>>;
  readonly top: number;
  readonly uid: number;
  readonly nowMs: number;
}

interface Judged {
  readonly info: NamespaceInfo;
  readonly state: State;
  readonly count: number;
  readonly usage?: number;
  readonly text: string;
}

function judge(entry: NamespaceEntry, input: NamespacesInput): Judged | undefined {
  if (entry.stats.status !== 'ok') return undefined;
  const stats = entry.stats.stats;
  const count = stats.entries ?? 0;
  const states: State[] = [];
  const facts: string[] = [];
  const max = input.max;
  let usage: number | undefined;
  if (max !== undefined && max > 0) {
    usage = (count * 100) / max;
    const warning = input.warning && percentToEntries(input.warning, max);
    const critical = input.critical && percentToEntries(input.critical, max);
    states.push(evaluate(count, { warning, critical }));
    facts.push(`${percentText(count, max)}% of table used (${count} of ${max} entries)`);
  } else {
    facts.push(`${count} ${count === 1 ? 'entry' : 'entries'}`);
  }
  const previous = input.baselines?.[String(entry.info.inode)];
  if (previous) {
    const growth = compareCounters(previous.perCpu, stats);
    if (growth.kind === 'growth') {
      for (const j of judgeGrowth(growth.increases, input.loss)) {
        states.push(j.state);
        if (j.state !== State.OK || (j.name === 'drop' && j.value > 0)) facts.push(j.text);
      }
    }
  }
  const messages = input.logByNetns[String(entry.info.inode)] ?? 0;
  if (messages > 0) {
    states.push(evaluate(messages, input.loss.logDrops));
    facts.push(`${messages} 'table full' ${messages === 1 ? 'message' : 'messages'} in the kernel log`);
  }
  return { info: entry.info, state: worst(states), count, usage, text: `${namespaceLabel(entry.info)}: ${facts.join(', ')}` };
}

/**
 * Every namespace but the plugin's own, against the same thresholds: the
 * count is per namespace and the global max applies to each. The worst
 * namespace decides and leads; perfdata stays the same size however many
 * namespaces there are.
 */
export function checkNamespaces(input: NamespacesInput): Result {
  const others = input.entries.filter((e) => e.info.inode !== input.own);
  const judged = others.map((e) => judge(e, input)).filter((j): j is Judged => j !== undefined);
  const unread = others.filter((e) => e.stats.status !== 'ok');
  const ranked = [...judged].sort((a, b) => severity(b.state) - severity(a.state) || (b.usage ?? b.count) - (a.usage ?? a.count));
  const notOk = ranked.filter((j) => j.state !== State.OK);
  const worstOne = ranked[0];

  const details = [
    `namespaces: ${input.inventory.namespaces.length} found, ${judged.length} checked besides this one${unread.length ? `, ${unread.length} not read` : ''}`,
    ...notOk.map((j) => `  ${j.text}`),
  ];
  const topN = ranked.filter((j) => j.state === State.OK).slice(0, input.top);
  if (topN.length) details.push(`top ${topN.length} of the others by usage:`, ...topN.map((j) => `  ${j.text}`));

  const notes: string[] = [];
  if (input.inventory.hiddenProcesses > 0) {
    notes.push(
      `${input.inventory.hiddenProcesses} ${input.inventory.hiddenProcesses === 1 ? 'process' : 'processes'} could not be inspected (their ns/net link is not readable as uid ${input.uid}): the namespaces they are in are not checked${input.uid === 0 ? ' (refused even to root: a security module or a capability this process lacks)' : '; run as root to see them'}`,
    );
  }
  if (unread.length) {
    const first = unread[0]!;
    notes.push(
      `${unread.length} ${unread.length === 1 ? 'namespace' : 'namespaces'} not checked, e.g. ${namespaceLabel(first.info)}: ${first.stats.status === 'unread' ? first.stats.reason : ''}`,
    );
  }
  for (const p of input.inventory.problems.slice(0, 3)) notes.push(`namespaces: ${p}`);

  // Namespaces known to exist only through their hidden processes count too: they are there.
  const unseen = input.inventory.hiddenNamespaces ?? 0;
  const perfdata: Perfdata[] = [{ label: 'namespaces', value: input.inventory.namespaces.length + unseen }];
  if (worstOne) {
    perfdata.push({ label: 'worst_entries', value: worstOne.count, min: 0, ...(input.max ? { max: input.max } : {}) });
    if (worstOne.usage !== undefined)
      perfdata.push({
        label: 'worst_usage',
        value: Number(plainNumber(Math.floor(worstOne.usage * 10) / 10, 1)),
        uom: '%',
        min: 0,
        max: 100,
      });
  }

  const parts: string[] = [];
  if (notOk.length)
    parts.push(
      `${notOk[0]!.text}${notOk.length > 1 ? ` (and ${notOk.length - 1} more ${notOk.length === 2 ? 'namespace' : 'namespaces'} not OK)` : ''}`,
    );
  // Never let a namespace that was not read pass for one that is fine.
  if (unread.length)
    parts.push(`${unread.length} ${unread.length === 1 ? 'namespace' : 'namespaces'} not checked${input.uid === 0 ? '' : ' (needs root)'}`);
  if (unseen)
    parts.push(
      `${unseen} more ${unseen === 1 ? 'namespace' : 'namespaces'} not checked: ${unseen === 1 ? 'its' : 'their'} processes are hidden from uid ${input.uid}${input.uid === 0 ? '' : ' (needs root)'}`,
    );
  const summary = parts.join('; ');

  return {
    check: 'namespaces',
    // A namespace that could not be read is not known to be fine.
    state: worst([...judged.map((j) => j.state), ...(unread.length || unseen ? [State.UNKNOWN] : [])]),
    summary,
    details,
    notes,
    trace: input.inventory.namingTrace ?? [],
    perfdata,
    data: {
      found: input.inventory.namespaces.length,
      hidden_processes: input.inventory.hiddenProcesses,
      hidden_namespaces: unseen,
      checked: ranked.map((j) => ({
        inode: j.info.inode,
        label: namespaceLabel(j.info),
        container: containerData(j.info),
        state: STATE_NAMES[j.state],
        entries: j.count,
        usage_percent: j.usage ?? null,
        finding: j.text,
      })),
      not_read: unread.map((e) => ({
        inode: e.info.inode,
        label: namespaceLabel(e.info),
        reason: e.stats.status === 'unread' ? e.stats.reason : '',
      })),
    },
  };
}

/** The container or pod behind a namespace, for JSON: the same names the label shows, as fields. */
function containerData(info: NamespaceInfo): Record<string, string | null> | null {
  const c = info.container;
  if (!c) return null;
  return { runtime: c.runtime, id: c.id, name: c.name ?? null, pod: c.pod ? `${c.pod.namespace}/${c.pod.name}` : null };
}

/** With --namespaces all: every other namespace against the same thresholds. */
export const namespacesCheck: Check = (m, options) =>
  m.inventory
    ? [
        checkNamespaces({
          own: m.identity.netns,
          inventory: m.inventory,
          entries: m.namespaceEntries,
          max: m.table.max.status === 'ok' ? m.table.max.value : undefined,
          warning: options.warning,
          critical: options.critical,
          loss: lossOptions(options, m.privileges.user),
          baselines: m.baseline.state?.namespaces,
          logByNetns: logOwnersOf(m)?.byNamespace ?? {},
          top: options.top,
          uid: m.privileges.uid,
          nowMs: m.identity.nowMs,
        }),
      ]
    : [];
