import { REPORTED_COUNTERS } from '../parse/conntrack-stat';
import type { SavedCounters } from './schema';

/**
 * Kept between runs: the reported counters, plus two that grow with every
 * connection and so betray a namespace that was recreated under a reused inode.
 */
export const SAVED_COUNTERS: readonly string[] = [...REPORTED_COUNTERS, 'found', 'insert'];

/** The per-CPU values worth keeping for the next run: a 4096-CPU host would otherwise write 70,000 numbers a run. */
export function savedCounters(perCpu: Readonly<Record<string, number[]>>): Record<string, number[]> {
  const kept: Record<string, number[]> = {};
  for (const name of SAVED_COUNTERS) if (perCpu[name]) kept[name] = perCpu[name];
  return kept;
}

/** What was read in another namespace this run; no `read` when it could not be. */
export interface NamespaceReading {
  readonly inode: number;
  readonly read?: { readonly perCpu: Readonly<Record<string, number[]>>; readonly entries?: number };
}

/**
 * Baselines for the next run, by inode: the namespaces read now, and the last
 * good one of those that could not be read (so their drops in between are
 * still found). Namespaces that are gone are dropped.
 */
export function namespaceBaselines(
  readings: readonly NamespaceReading[],
  previous: Readonly<Record<string, SavedCounters>> | undefined,
  nowMs: number,
): Record<string, SavedCounters> {
  const kept: Record<string, SavedCounters> = {};
  for (const { inode, read } of readings) {
    const key = String(inode);
    if (read) kept[key] = { perCpu: savedCounters(read.perCpu), count: read.entries, timeMs: nowMs };
    else if (previous?.[key]) kept[key] = previous[key]!;
  }
  return kept;
}
