import type { RunIdentity } from '../run-identity';
import { savedCounters } from './kept-counters';
import type { SavedCounters, SavedLogPosition, SavedNotice, SavedState } from './schema';
import type { StateLoad } from './state-file';

/** What the previous run left that this run may compare with, and if nothing, why. */
export interface Baseline {
  /** The previous state, only when it is from this boot. */
  state?: SavedState;
  counters?: SavedCounters;
  log?: SavedLogPosition;
  /** Why there is no counter baseline; undefined when there is one. */
  missing?: string;
  /** Problems with the state file itself, for the long output. */
  notes: string[];
  /** --no-state: no run ever has a baseline, so saying so each time is noise. */
  stateless?: boolean;
}

/** The state file keys counters by namespace inode; 'unknown' when /proc would not say. */
export function namespaceKey(identity: RunIdentity): string {
  return String(identity.netns ?? 'unknown');
}

export function chooseBaseline(load: StateLoad | undefined, identity: RunIdentity): Baseline {
  if (!load) return { missing: 'no state kept (--no-state)', notes: [], stateless: true };
  if (load.status === 'missing') return { missing: 'first check', notes: [] };
  if (load.status === 'unusable')
    return { missing: 'no usable state from the last check', notes: [`${load.reason}; starting a new baseline`] };
  const state = load.state;
  if (!identity.bootId || state.bootId !== identity.bootId) {
    return { missing: identity.bootId ? 'the host rebooted since the last check' : 'no boot id to compare with', notes: [] };
  }
  const counters = state.namespaces[namespaceKey(identity)];
  return {
    state,
    counters,
    log: state.log,
    missing: counters ? undefined : 'first check in this network namespace',
    notes: [],
  };
}

export function nextState(
  baseline: Baseline,
  identity: RunIdentity,
  /** This namespace's per-CPU counters as read now: only those worth comparing are kept. */
  counters: Readonly<Record<string, number[]>> | undefined,
  count: number | undefined,
  log: SavedLogPosition | undefined,
  /** With --namespaces all: every other namespace's baseline; namespaces that are gone are dropped. */
  others?: Record<string, SavedCounters>,
  /** --changes-only's record, kept whatever the boot. */
  notice?: SavedNotice,
): SavedState {
  const previous = baseline.state?.namespaces ?? {};
  const own = previous[namespaceKey(identity)];
  const namespaces: Record<string, SavedCounters> = others
    ? { ...others, ...(own ? { [namespaceKey(identity)]: own } : {}) }
    : { ...previous };
  // A run that could not read the counters keeps the last good baseline, so
  // the next run still reports what was dropped in between.
  if (counters || count !== undefined) {
    const key = namespaceKey(identity);
    namespaces[key] = {
      perCpu: counters ? savedCounters(counters) : (own?.perCpu ?? {}),
      count,
      timeMs: counters ? identity.nowMs : (own?.timeMs ?? identity.nowMs),
      history: appendSample(own?.history, identity.nowMs, count),
    };
  }
  return {
    version: 1,
    bootId: identity.bootId,
    savedAtMs: identity.nowMs,
    namespaces,
    // A log position is worth keeping across a run that could not read the log.
    log: sanePosition(log) ?? baseline.log,
    ...(notice ? { notice } : {}),
  };
}

/** Samples kept for the forecast: the last few hours at most, a few dozen at most. */
export const HISTORY_SAMPLES = 60;
export const HISTORY_SPAN_MS = 6 * 3600 * 1000;

function appendSample(
  history: Array<[number, number]> | undefined,
  nowMs: number,
  count: number | undefined,
): Array<[number, number]> | undefined {
  const kept = (history ?? []).filter(([t]) => t < nowMs && nowMs - t <= HISTORY_SPAN_MS);
  if (count !== undefined) kept.push([nowMs, count]);
  return kept.length ? kept.slice(-HISTORY_SAMPLES) : undefined;
}

/**
 * Only what the next run will accept: a position computed from a hostile
 * source (a log line dated before 1970, an absurd uptime) would make the whole
 * state file unusable, run after run.
 */
function sanePosition(log: SavedLogPosition | undefined): SavedLogPosition | undefined {
  if (!log) return undefined;
  const ok = (n: number | undefined) => (n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined);
  return {
    source: log.source,
    ...(ok(log.seq) !== undefined ? { seq: ok(log.seq) } : {}),
    ...(ok(log.bootUsec) !== undefined ? { bootUsec: ok(log.bootUsec) } : {}),
    ...(ok(log.wallMs) !== undefined ? { wallMs: ok(log.wallMs) } : {}),
    ...(log.file && ok(log.file.ino) !== undefined && ok(log.file.offset) !== undefined ? { file: log.file } : {}),
  };
}
