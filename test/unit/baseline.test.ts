import { describe, expect, it } from 'vitest';
import type { RunIdentity } from '../../src/probes/identity';
import { chooseBaseline, namespaceKey, nextState, type Baseline } from '../../src/state/baseline';
import type { SavedCounters, SavedLogPosition, SavedState } from '../../src/state/schema';

const BOOT = '0f3c6a4e-2b1d-4c1e-9a77-5d2f0e8b1c42';
const OTHER_BOOT = '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d';
const NS = 4026531833;
const OTHER_NS = 4026532315;
const NOW = 1_736_942_400_000;

const identity = (over: Partial<RunIdentity> = {}): RunIdentity => ({ bootId: BOOT, netns: NS, uptimeSeconds: 1000, nowMs: NOW, ...over });

const ours: SavedCounters = { perCpu: { drop: [1, 2], early_drop: [0, 0] }, count: 17, timeMs: NOW - 300_000 };
const theirs: SavedCounters = { perCpu: { drop: [9, 9] }, timeMs: NOW - 200_000 };
const kmsgAt: SavedLogPosition = { source: 'kmsg', seq: 350, bootUsec: 152_332_874 };

function saved(over: Partial<SavedState> = {}): SavedState {
  return {
    version: 1,
    bootId: BOOT,
    savedAtMs: NOW - 300_000,
    namespaces: { [String(NS)]: ours, [String(OTHER_NS)]: theirs },
    log: kmsgAt,
    ...over,
  };
}

describe('namespaceKey', () => {
  it('is the namespace inode as a string', () => {
    expect(namespaceKey(identity())).toBe('4026531833');
  });
  it("is 'unknown' when /proc would not say", () => {
    expect(namespaceKey(identity({ netns: undefined }))).toBe('unknown');
  });
  it('keeps 0 as 0', () => {
    expect(namespaceKey(identity({ netns: 0 }))).toBe('0');
  });
});

describe('chooseBaseline', () => {
  it('--no-state (no load at all): stateless, no counters', () => {
    expect(chooseBaseline(undefined, identity())).toStrictEqual({ missing: 'no state kept (--no-state)', notes: [], stateless: true });
  });

  it('missing file: first check', () => {
    expect(chooseBaseline({ status: 'missing' }, identity())).toStrictEqual({ missing: 'first check', notes: [] });
  });

  it('unusable file: no baseline, the reason as a note', () => {
    expect(chooseBaseline({ status: 'unusable', reason: 'refusing the state file /x: it is a symbolic link' }, identity())).toStrictEqual({
      missing: 'no usable state from the last check',
      notes: ['refusing the state file /x: it is a symbolic link; starting a new baseline'],
    });
  });

  it('another boot: no baseline, no state, no log position', () => {
    const b = chooseBaseline({ status: 'ok', state: saved({ bootId: OTHER_BOOT }) }, identity());
    expect(b).toStrictEqual({ missing: 'the host rebooted since the last check', notes: [] });
  });

  it('a state saved without a boot id, now with one: treated as another boot', () => {
    const b = chooseBaseline({ status: 'ok', state: saved({ bootId: undefined }) }, identity());
    expect(b).toStrictEqual({ missing: 'the host rebooted since the last check', notes: [] });
  });

  it('no boot id now: nothing can be compared, even against a state with none either', () => {
    expect(chooseBaseline({ status: 'ok', state: saved() }, identity({ bootId: undefined }))).toStrictEqual({
      missing: 'no boot id to compare with',
      notes: [],
    });
    expect(chooseBaseline({ status: 'ok', state: saved({ bootId: undefined }) }, identity({ bootId: undefined }))).toStrictEqual({
      missing: 'no boot id to compare with',
      notes: [],
    });
  });

  it('an empty boot id counts as none', () => {
    expect(chooseBaseline({ status: 'ok', state: saved({ bootId: '' }) }, identity({ bootId: '' })).missing).toBe(
      'no boot id to compare with',
    );
  });

  it('same boot, same namespace: our counters and the log position', () => {
    const state = saved();
    const b = chooseBaseline({ status: 'ok', state }, identity());
    expect(b).toStrictEqual({ state, counters: ours, log: kmsgAt, missing: undefined, notes: [] });
    expect(b.counters).toBe(ours);
  });

  it('same boot, another namespace: the state and log, but no counters', () => {
    const state = saved();
    const b = chooseBaseline({ status: 'ok', state }, identity({ netns: 4026533000 }));
    expect(b).toStrictEqual({ state, counters: undefined, log: kmsgAt, missing: 'first check in this network namespace', notes: [] });
  });

  it("same boot, the other namespace's counters for a run in that namespace", () => {
    const b = chooseBaseline({ status: 'ok', state: saved() }, identity({ netns: OTHER_NS }));
    expect(b.counters).toBe(theirs);
    expect(b.missing).toBeUndefined();
  });

  it("an unknown namespace uses the 'unknown' entry, never a numbered one", () => {
    const unknown: SavedCounters = { perCpu: { drop: [0] }, timeMs: 1 };
    expect(chooseBaseline({ status: 'ok', state: saved() }, identity({ netns: undefined })).counters).toBeUndefined();
    expect(chooseBaseline({ status: 'ok', state: saved({ namespaces: { unknown } }) }, identity({ netns: undefined })).counters).toBe(
      unknown,
    );
  });

  it('same boot without a log position: log undefined', () => {
    const b = chooseBaseline({ status: 'ok', state: saved({ log: undefined }) }, identity());
    expect(b.log).toBeUndefined();
    expect(b.counters).toBe(ours);
  });
});

describe('nextState', () => {
  const counters = { drop: [5, 6], early_drop: [1, 0] };

  it('replaces our namespace and keeps the others', () => {
    const b = chooseBaseline({ status: 'ok', state: saved() }, identity());
    const next = nextState(b, identity(), counters, 42, { source: 'kmsg', seq: 400 });
    expect(next).toStrictEqual({
      version: 1,
      bootId: BOOT,
      savedAtMs: NOW,
      namespaces: {
        [String(NS)]: { perCpu: counters, count: 42, timeMs: NOW, history: [[NOW, 42]] },
        [String(OTHER_NS)]: theirs,
      },
      log: { source: 'kmsg', seq: 400 },
    });
  });

  it('does not change the loaded state it started from', () => {
    const state = saved();
    const copy = structuredClone(state);
    nextState(chooseBaseline({ status: 'ok', state }, identity()), identity(), counters, 1, undefined);
    expect(state).toStrictEqual(copy);
  });

  it('adds our namespace beside the others on the first check in it', () => {
    const b = chooseBaseline({ status: 'ok', state: saved() }, identity({ netns: 7 }));
    const next = nextState(b, identity({ netns: 7 }), counters, undefined, undefined);
    expect(Object.keys(next.namespaces).sort()).toEqual([String(NS), String(OTHER_NS), '7'].sort());
    expect(next.namespaces['7']).toStrictEqual({ perCpu: counters, count: undefined, timeMs: NOW, history: undefined });
    expect(next.namespaces[String(NS)]).toBe(ours);
  });

  it('keeps the old log position when this run gives none', () => {
    const b = chooseBaseline({ status: 'ok', state: saved() }, identity());
    expect(nextState(b, identity(), counters, 1, undefined).log).toBe(kmsgAt);
  });

  it('takes the new log position when there is one', () => {
    const b = chooseBaseline({ status: 'ok', state: saved() }, identity());
    const journal: SavedLogPosition = { source: 'journal', wallMs: NOW - 1 };
    expect(nextState(b, identity(), counters, 1, journal).log).toStrictEqual(journal);
  });

  it('without counters this run, keeps the last good counter baseline of ours (with its time) and the others, and records the count', () => {
    const state = saved();
    const b = chooseBaseline({ status: 'ok', state }, identity());
    const next = nextState(b, identity(), undefined, 3, undefined);
    expect(next.namespaces).toStrictEqual({
      ...state.namespaces,
      [String(NS)]: { perCpu: ours.perCpu, count: 3, timeMs: ours.timeMs, history: [[NOW, 3]] },
    });
    expect(Object.keys(next.namespaces)).toContain(String(OTHER_NS));
  });

  it('keeps a bounded history of counts for the forecast, dropping samples older than 6 hours', () => {
    let state = nextState(chooseBaseline({ status: 'missing' }, identity()), identity(), counters, 1, undefined);
    for (let i = 1; i <= 70; i++) {
      const at = identity({ nowMs: NOW + i * 60_000 });
      state = nextState(chooseBaseline({ status: 'ok', state }, at), at, counters, i + 1, undefined);
    }
    const history = state.namespaces[String(NS)]!.history!;
    expect(history).toHaveLength(60);
    expect(history.at(-1)).toEqual([NOW + 70 * 60_000, 71]);
    expect(history[0]).toEqual([NOW + 11 * 60_000, 12]);
    const muchLater = identity({ nowMs: NOW + 70 * 60_000 + 7 * 3600_000 });
    const after = nextState(chooseBaseline({ status: 'ok', state }, muchLater), muchLater, counters, 5, undefined);
    expect(after.namespaces[String(NS)]!.history).toEqual([[muchLater.nowMs, 5]]);
  });

  it('after a reboot, starts from nothing: old namespaces and old log position are gone', () => {
    const b = chooseBaseline({ status: 'ok', state: saved({ bootId: OTHER_BOOT }) }, identity());
    expect(nextState(b, identity(), counters, 2, undefined)).toStrictEqual({
      version: 1,
      bootId: BOOT,
      savedAtMs: NOW,
      namespaces: { [String(NS)]: { perCpu: counters, count: 2, timeMs: NOW, history: [[NOW, 2]] } },
      log: undefined,
    });
  });

  it('from a missing or unusable file: only this run', () => {
    for (const b of [chooseBaseline({ status: 'missing' }, identity()), chooseBaseline({ status: 'unusable', reason: 'x' }, identity())]) {
      const next = nextState(b, identity(), counters, 2, { source: 'dmesg', bootUsec: 5 });
      expect(next.namespaces).toStrictEqual({ [String(NS)]: { perCpu: counters, count: 2, timeMs: NOW, history: [[NOW, 2]] } });
      expect(next.log).toStrictEqual({ source: 'dmesg', bootUsec: 5 });
    }
  });

  it('with no boot id, saves none', () => {
    const b: Baseline = { missing: 'no boot id to compare with', notes: [] };
    const next = nextState(b, identity({ bootId: undefined, netns: undefined }), counters, undefined, undefined);
    expect(next.bootId).toBeUndefined();
    expect(Object.keys(next.namespaces)).toEqual(['unknown']);
  });

  it('round-trips: the next run in the same boot and namespace gets what this run saved', () => {
    const first = nextState(chooseBaseline({ status: 'missing' }, identity()), identity(), counters, 9, kmsgAt);
    const later = identity({ nowMs: NOW + 60_000 });
    const b = chooseBaseline({ status: 'ok', state: JSON.parse(JSON.stringify(first)) as SavedState }, later);
    expect(b.counters).toStrictEqual({ perCpu: counters, count: 9, timeMs: NOW, history: [[NOW, 9]] });
    expect(b.log).toStrictEqual(kmsgAt);
    expect(b.missing).toBeUndefined();
  });
});
