import { State } from '../nagios/state';
import type { StateLoad, StateSave } from '../state/state-file';
import type { Check } from './measurements';

/**
 * Whether the next check can compare with this one. Not kept, it has nothing
 * to compare with: that belongs in the status line, not only below it. Runs
 * once the state is saved, and is never part of what --changes-only compares.
 */
export const stateCheck: Check = (m) => {
  const { path, loaded, saved } = m.stateFile;
  const notKept = stateNotKept(loaded, saved);
  // The same refusal read and written says it once.
  const repeated = notKept && loaded?.status === 'unusable' && saved?.status === 'failed' && saved.reason === loaded.reason;
  const notes = repeated ? [] : m.baseline.notes;
  if (!notKept && !notes.length) return [];
  return [
    {
      check: 'state',
      state: State.OK,
      summary: notKept ?? '',
      details: [],
      notes,
      perfdata: [],
      data: { path: path ?? null, kept: !notKept },
    },
  ];
};

/**
 * The status-line words when this run could not keep its state, so the next
 * one has nothing to compare with; undefined when it was kept (or not wanted).
 */
export function stateNotKept(load: StateLoad | undefined, save: StateSave | undefined): string | undefined {
  // A file this run could read but not use is replaced when it is ours: only the save decides then.
  const problem = save ? (save.status === 'failed' ? save : undefined) : load?.status === 'unusable' ? load : undefined;
  if (!problem) return undefined;
  return `state could not be kept: ${problem.reason}${problem.fix ? `, fix: ${problem.fix}` : ''}`;
}
