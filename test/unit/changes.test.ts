import { describe, expect, it } from 'vitest';
import { decideNotice, describeNotice, formatElapsed, type NoticeDecision } from '../../src/nagios/changes';
import { State } from '../../src/nagios/state';
import { parseState } from '../../src/state/schema';
import type { SavedNotice } from '../../src/state/schema';

const T0 = Date.UTC(2026, 11, 7, 5, 0, 0);
const MIN = 60_000;

/** Runs a sequence of checks through decideNotice, each feeding the next, as the state file does. */
function sequence(steps: Array<{ state: State; atMin: number; repeatSeconds?: number }>): NoticeDecision[] {
  let previous: SavedNotice | undefined;
  return steps.map(({ state, atMin, repeatSeconds }) => {
    const d = decideNotice({ previous, state, summary: `summary at ${atMin}`, nowMs: T0 + atMin * MIN, repeatSeconds });
    previous = d.next;
    return d;
  });
}

describe('--changes-only: when a run prints', () => {
  it('OK -> CRITICAL -> CRITICAL -> OK prints the problem and the recovery, nothing else', () => {
    const d = sequence([
      { state: State.OK, atMin: 0 },
      { state: State.CRITICAL, atMin: 5 },
      { state: State.CRITICAL, atMin: 10 },
      { state: State.OK, atMin: 120 },
      { state: State.OK, atMin: 125 },
    ]);
    expect(d.map((x) => [x.kind, x.print])).toEqual([
      ['quiet', false],
      ['problem', true],
      ['quiet', false],
      ['recovery', true],
      ['quiet', false],
    ]);
    expect(describeNotice(d[3]!).lead).toBe('recovered after 1h 55m');
    expect(describeNotice(d[3]!).notes).toEqual(['was CRITICAL from 2026-12-07 05:05 UTC: summary at 5']);
  });

  it('a first run that is already not OK prints; a first OK run does not', () => {
    expect(sequence([{ state: State.WARNING, atMin: 0 }])[0]!.kind).toBe('problem');
    expect(sequence([{ state: State.UNKNOWN, atMin: 0 }])[0]!.kind).toBe('problem');
    expect(sequence([{ state: State.OK, atMin: 0 }])[0]!.print).toBe(false);
  });

  it('WARNING -> CRITICAL -> WARNING each print, and the recovery counts from the first non-OK run', () => {
    const d = sequence([
      { state: State.WARNING, atMin: 0 },
      { state: State.CRITICAL, atMin: 5 },
      { state: State.WARNING, atMin: 10 },
      { state: State.OK, atMin: 15 },
    ]);
    expect(d.map((x) => x.kind)).toEqual(['problem', 'change', 'change', 'recovery']);
    expect(describeNotice(d[1]!).notes[0]).toBe('was WARNING before this check; not OK since 2026-12-07 05:00 UTC');
    expect(describeNotice(d[3]!).lead).toBe('recovered after 15m');
  });

  it('--repeat reminds exactly when that long has passed since the last print, not a second before', () => {
    const r = 3600;
    const d = sequence([
      { state: State.CRITICAL, atMin: 0, repeatSeconds: r },
      { state: State.CRITICAL, atMin: 59, repeatSeconds: r },
      { state: State.CRITICAL, atMin: 60, repeatSeconds: r },
      { state: State.CRITICAL, atMin: 119, repeatSeconds: r },
      { state: State.CRITICAL, atMin: 120, repeatSeconds: r },
    ]);
    expect(d.map((x) => x.kind)).toEqual(['problem', 'quiet', 'reminder', 'quiet', 'reminder']);
    expect(describeNotice(d[4]!, r)).toEqual({
      lead: 'still CRITICAL after 2h',
      notes: ['not OK since 2026-12-07 05:00 UTC (a reminder every 1h)'],
    });
    const edge = decideNotice({ previous: d[0]!.next, state: State.CRITICAL, summary: '', nowMs: T0 + r * 1000 - 1, repeatSeconds: r });
    expect(edge.print).toBe(false);
  });

  it('without --repeat a problem that lasts a day prints once', () => {
    const d = sequence([0, 5, 60, 600, 1440].map((atMin) => ({ state: State.CRITICAL, atMin })));
    expect(d.filter((x) => x.print)).toHaveLength(1);
  });

  it('prints every run, saying why, when the state cannot be kept', () => {
    for (const state of [State.OK, State.CRITICAL]) {
      const d = decideNotice({
        previous: { state: State.CRITICAL, problemSinceMs: T0, printedMs: T0 },
        state,
        summary: 's',
        nowMs: T0 + MIN,
        unkept: 'the state file x is a symbolic link',
      });
      expect(d.print).toBe(true);
      expect(d.kind).toBe('unkept');
      expect(describeNotice(d).notes).toEqual([
        '--changes-only prints every check while it cannot remember the last one: the state file x is a symbolic link',
      ]);
    }
  });

  it('keeps only a bounded summary for the recovery', () => {
    const d = decideNotice({ previous: undefined, state: State.CRITICAL, summary: 'x'.repeat(5000), nowMs: T0 });
    expect(d.next.summary!.length).toBe(300);
  });
});

describe('formatElapsed', () => {
  it.each([
    [0, '0s'],
    [999, '1s'],
    [59_000, '59s'],
    [60_000, '1m'],
    [65_000, '1m 5s'],
    [6_900_000, '1h 55m'],
    [7_200_000, '2h'],
    [90_061_000, '1d 1h'],
  ])('%d ms is %s', (ms, text) => expect(formatElapsed(ms)).toBe(text));
});

describe('the record in the state file', () => {
  const state = (notice: unknown) => JSON.stringify({ version: 1, savedAtMs: 1, namespaces: {}, notice });
  it('is read back', () => {
    const r = parseState(state({ state: 2, problemSinceMs: 5, printedMs: 6, summary: 'full' }));
    expect(r.ok && r.state.notice).toEqual({ state: 2, problemSinceMs: 5, printedMs: 6, summary: 'full' });
  });
  it.each([[{ state: 4 }], [{ state: '2' }], [{ state: 1, printedMs: -1 }], [{ state: 1, summary: 3 }], ['CRITICAL']])(
    'a malformed one (%j) makes the file unusable',
    (notice) => {
      const r = parseState(state(notice));
      expect(r.ok).toBe(false);
    },
  );
});
