import { runChecks } from '../checks/all';
import { stateLost, type Measurements } from '../checks/measurements';
import { stateCheck } from '../checks/state-kept';
import { checkTable } from '../checks/table-usage';
import { decideNotice, type NoticeDecision } from '../nagios/changes';
import { statusSummary } from '../nagios/render';
import type { Result } from '../nagios/result';
import { worst } from '../nagios/state';
import { nextState } from '../state/baseline';
import { namespaceBaselines } from '../state/kept-counters';
import type { SavedNotice, SavedState } from '../state/schema';
import { saveState } from '../state/state-file';
import { measure } from './measure';
import type { Options } from './options';

export interface Collected {
  results: Result[];
  /** With --changes-only: whether this run prints, and what it says about the change. */
  notice?: NoticeDecision;
}

/**
 * The composition root: measures, runs every check on the measurements, and
 * keeps the state for the next run. Nothing here parses or judges.
 */
export async function collect(options: Options, signal: AbortSignal): Promise<Collected> {
  const measured = await measure(options, signal);
  if (measured.kind === 'no-conntrack') return { results: [checkTable(measured.table, options)] };
  return conclude(measured.m, options);
}

/** Every check on what was measured, and the state kept for the next run (once, with what --changes-only said). */
export async function conclude(measured: Measurements, options: Options): Promise<Collected> {
  let m = measured;
  let results = runChecks(m, options);
  let notice = decide(m, results, options);
  const path = m.stateFile.path;
  if (path) {
    const saved = await saveState(path, stateToKeep(m, notice), m.privileges.uid);
    m = { ...m, stateFile: { ...m.stateFile, saved } };
    // Whether the next check can compare with this one decides what the counters may say.
    if (saved.status === 'failed') {
      results = runChecks(m, options);
      notice = decide(m, results, options);
    }
  }
  return { results: [...results, ...stateCheck(m, options)], notice };
}

/** What --changes-only last said: it outlives a reboot, unlike the counters, for a recovery after one is still news. */
function lastNotice(m: Measurements): SavedNotice | undefined {
  const loaded = m.stateFile.loaded;
  return loaded?.status === 'ok' ? loaded.state.notice : undefined;
}

/** With --changes-only: whether this run's findings are news. */
function decide(m: Measurements, results: readonly Result[], options: Options): NoticeDecision | undefined {
  if (!options.changesOnly) return undefined;
  const { path, loaded } = m.stateFile;
  return decideNotice({
    previous: lastNotice(m),
    state: worst(results.map((r) => r.state)),
    summary: statusSummary(results),
    nowMs: m.identity.nowMs,
    repeatSeconds: options.repeatSeconds,
    unkept: !path ? '--no-state keeps nothing between runs' : loaded?.status === 'unusable' ? loaded.reason : stateLost(m),
  });
}

function stateToKeep(m: Measurements, notice: NoticeDecision | undefined): SavedState {
  const others = m.inventory
    ? namespaceBaselines(
        m.namespaceEntries.map(({ info, stats }) => ({
          inode: info.inode,
          read: stats.status === 'ok' ? { perCpu: stats.stats.perCpu, entries: stats.stats.entries } : undefined,
        })),
        m.baseline.state?.namespaces,
        m.identity.nowMs,
      )
    : undefined;
  return nextState(
    m.baseline,
    m.identity,
    m.counters.status === 'ok' ? m.counters.stats.perCpu : undefined,
    m.table.count.status === 'ok' ? m.table.count.value : undefined,
    m.log.status === 'ok' ? m.log.position : undefined,
    others,
    notice ? notice.next : lastNotice(m),
  );
}
