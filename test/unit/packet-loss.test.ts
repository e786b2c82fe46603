import { describe, expect, it } from 'vitest';
import { checkCounters, checkKernelLog, checkPacketLoss, logFix, type PacketLossOptions } from '../../src/checks/packet-loss';
import { parseRange } from '../../src/nagios/range';
import { SAVED_COUNTERS } from '../../src/state/kept-counters';
import { render } from '../../src/nagios/render';
import type { Result } from '../../src/nagios/result';
import { State, worst } from '../../src/nagios/state';
import type { ConntrackStats } from '../../src/parse/conntrack-stat';
import type { CountersMeasurement } from '../../src/probes/counters';
import type { LogMatch, LogScan } from '../../src/probes/kernel-log';
import type { Baseline } from '../../src/state/baseline';

const MAX32 = 0xffffffff;
const SOURCE = '/proc/net/stat/nf_conntrack';
const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

/** The CLI's defaults: --drop-critical 0, --early-drop-warning 0, --log-drops-critical 0, --log-window 1h. */
const DEFAULTS: PacketLossOptions = {
  drop: { critical: parseRange('0') },
  earlyDrop: { warning: parseRange('0') },
  insertFailed: {},
  logDrops: { critical: parseRange('0') },
  logWindowSeconds: 3600,
};

function withOptions(o: Partial<PacketLossOptions>): PacketLossOptions {
  return { ...DEFAULTS, ...o };
}

/** Stats as the parser gives them: per-CPU values, totals as the row sums. */
function stats(perCpu: Record<string, number[]>, extraColumns: string[] = []): ConntrackStats {
  const totals: Record<string, number> = {};
  for (const [name, values] of Object.entries(perCpu)) totals[name] = values.reduce((a, b) => a + b, 0);
  const cpus = Object.values(perCpu)[0]?.length ?? 0;
  return { entries: 0, columns: [...extraColumns, ...Object.keys(perCpu)], perCpu, totals, cpus };
}

function okCounters(perCpu: Record<string, number[]>, source = SOURCE): CountersMeasurement {
  return { status: 'ok', source, stats: stats(perCpu) };
}

/** A counters row for two CPUs; everything 0 unless given. */
function two(over: Partial<Record<'drop' | 'early_drop' | 'insert_failed' | 'invalid', [number, number]>> = {}): Record<string, number[]> {
  return { drop: [0, 0], early_drop: [0, 0], insert_failed: [0, 0], invalid: [0, 0], ...over };
}

function baselineOf(perCpu: Record<string, number[]>, timeMs = NOW - 300_000): Baseline {
  return { counters: { perCpu, timeMs }, notes: [] };
}

const FIRST: Baseline = { missing: 'first check', notes: [] };

/** A scan as the log probe reports it: counts derived from the matching lines given. */
function okScan(matches: LogMatch[], over: Partial<Extract<LogScan, { status: 'ok' }>> = {}): LogScan {
  const byNetns: Record<string, number> = {};
  for (const m of matches) {
    const key = m.netns === undefined ? '' : String(m.netns);
    byNetns[key] = (byNetns[key] ?? 0) + (m.count ?? 1);
  }
  const times = matches.map((m) => m.timeMs).filter((t): t is number => t !== undefined);
  return {
    status: 'ok',
    source: 'kmsg',
    messages: matches.reduce((n, m) => n + (m.count ?? 1), 0),
    byNetns,
    drops: matches.map((m) => ({ netns: m.netns, timeMs: m.timeMs, count: m.count ?? 1 })),
    newestMs: times.length ? Math.max(...times) : undefined,
    matches,
    suppressed: 0,
    position: { source: 'kmsg', seq: 400 },
    sinceLastRun: true,
    attempts: [],
    notes: [],
    ...over,
  };
}

const LINE = 'nf_conntrack: nf_conntrack: table full, dropping packet';
const NETNS_LINE = (n: number) => `nf_conntrack: nf_conntrack: table full in netns ${n}, dropping packet`;

describe('checkCounters: counters that could not be read', () => {
  it('says why, as a note, and stays OK (the combination decides UNKNOWN)', () => {
    const m: CountersMeasurement = {
      status: 'unavailable',
      reasons: ['/proc/net/stat/nf_conntrack is missing', "'conntrack -S' needs CAP_NET_ADMIN"],
    };
    expect(checkCounters(m, FIRST, DEFAULTS, NOW)).toStrictEqual({
      check: 'counters',
      state: State.OK,
      summary: '',
      details: [],
      notes: ["drop counters unavailable: /proc/net/stat/nf_conntrack is missing; 'conntrack -S' needs CAP_NET_ADMIN"],
      perfdata: [],
    });
  });

  it('gives the reason of an error', () => {
    const m: CountersMeasurement = { status: 'error', source: SOURCE, reason: `cannot read ${SOURCE}: permission denied` };
    const r = checkCounters(m, baselineOf(two()), DEFAULTS, NOW);
    expect(r.state).toBe(State.OK);
    expect(r.notes).toEqual([`drop counters unavailable: cannot read ${SOURCE}: permission denied`]);
    expect(r.perfdata).toEqual([]);
  });
});

describe('checkCounters: first run', () => {
  it('records the baseline, says so, raises nothing', () => {
    const r = checkCounters(okCounters(two()), FIRST, DEFAULTS, NOW);
    expect(r).toStrictEqual({
      check: 'counters',
      state: State.OK,
      summary: 'first check: drop counters recorded as the baseline',
      details: [`counters since the namespace was created (${SOURCE}, 2 CPU rows): drop 0, early_drop 0, insert_failed 0, invalid 0`],
      perfdata: [
        { label: 'drop', value: 0, uom: 'c' },
        { label: 'early_drop', value: 0, uom: 'c' },
        { label: 'insert_failed', value: 0, uom: 'c' },
        { label: 'invalid', value: 0, uom: 'c' },
      ],
      data: {
        source: SOURCE,
        cpus: 2,
        totals: { drop: 0, early_drop: 0, insert_failed: 0, invalid: 0 },
        increases: null,
        baseline: 'first check',
      },
    });
  });

  it('mentions drops before the first run but stays OK whatever the counters', () => {
    const r = checkCounters(okCounters(two({ drop: [7, 5], early_drop: [100, 0], insert_failed: [9, 9] })), FIRST, DEFAULTS, NOW);
    expect(r.state).toBe(State.OK);
    expect(r.summary).toBe('first check: drop counters recorded as the baseline (12 dropped before)');
    expect(r.details).toEqual([
      `counters since the namespace was created (${SOURCE}, 2 CPU rows): drop 12, early_drop 100, insert_failed 18, invalid 0`,
    ]);
  });

  it('uses the reason the baseline gives', () => {
    const r = checkCounters(
      okCounters(two({ drop: [1, 0] })),
      { missing: 'the host rebooted since the last check', notes: [] },
      DEFAULTS,
      NOW,
    );
    expect(r.summary).toBe('the host rebooted since the last check: drop counters recorded as the baseline (1 dropped before)');
    expect(r.state).toBe(State.OK);
  });

  it('with --no-state: no summary, a detail that only the log can show new drops', () => {
    const r = checkCounters(
      okCounters(two({ drop: [4, 0] })),
      { missing: 'no state kept (--no-state)', notes: [], stateless: true },
      DEFAULTS,
      NOW,
    );
    expect(r.state).toBe(State.OK);
    expect(r.summary).toBe('');
    expect(r.details).toEqual([
      `counters since the namespace was created (${SOURCE}, 2 CPU rows): drop 4, early_drop 0, insert_failed 0, invalid 0`,
      'with --no-state there is no earlier check to compare with: only the kernel log can show new drops',
    ]);
  });

  it("says 'first check' when the baseline gives no reason", () => {
    expect(checkCounters(okCounters(two()), { notes: [] }, DEFAULTS, NOW).summary).toBe(
      'first check: drop counters recorded as the baseline',
    );
  });

  it('speaks of one CPU row in the singular, and lists only counters present, in reporting order', () => {
    const m = okCounters({ invalid: [3], found: [99], drop: [2], icmp_error: [1], chainlength: [4] });
    const r = checkCounters(m, FIRST, DEFAULTS, NOW);
    expect(r.details).toEqual([`counters since the namespace was created (${SOURCE}, 1 CPU row): drop 2, invalid 3, chainlength 4`]);
    expect(r.perfdata.map((p) => p.label)).toEqual(['drop', 'invalid', 'chainlength']);
  });

  it('without a drop column, says nothing of drops before', () => {
    const r = checkCounters(okCounters({ invalid: [3] }), FIRST, DEFAULTS, NOW);
    expect(r.summary).toBe('first check: drop counters recorded as the baseline');
  });
});

describe('checkCounters: against the previous check (defaults)', () => {
  it('no growth: OK, empty summary, the deltas in the details', () => {
    const r = checkCounters(okCounters(two({ drop: [3, 4] })), baselineOf(two({ drop: [3, 4] })), DEFAULTS, NOW);
    expect(r).toStrictEqual({
      check: 'counters',
      state: State.OK,
      summary: '',
      details: [
        `counters (${SOURCE}, 2 CPU rows): drop 7, early_drop 0, insert_failed 0, invalid 0; since last check 5m ago: drop +0, early_drop +0, insert_failed +0, invalid +0`,
      ],
      notes: [],
      perfdata: [
        { label: 'drop', value: 7, uom: 'c' },
        { label: 'early_drop', value: 0, uom: 'c' },
        { label: 'insert_failed', value: 0, uom: 'c' },
        { label: 'invalid', value: 0, uom: 'c' },
      ],
      data: {
        source: SOURCE,
        cpus: 2,
        totals: { drop: 7, early_drop: 0, insert_failed: 0, invalid: 0 },
        increases: { drop: 0, early_drop: 0, insert_failed: 0, invalid: 0 },
        since_ms: 300_000,
        recreated: null,
      },
    });
  });

  it('one dropped packet is CRITICAL (--drop-critical 0)', () => {
    const r = checkCounters(okCounters(two({ drop: [3, 5] })), baselineOf(two({ drop: [3, 4] })), DEFAULTS, NOW);
    expect(r.state).toBe(State.CRITICAL);
    expect(r.summary).toBe('1 packet dropped since last check (table full)');
  });

  it('counts drops over every CPU and across a 32-bit wrap', () => {
    const r = checkCounters(okCounters(two({ drop: [2, 10] })), baselineOf(two({ drop: [MAX32 - 1, 4] })), DEFAULTS, NOW);
    expect(r.state).toBe(State.CRITICAL);
    expect(r.summary).toBe('10 packets dropped since last check (table full)');
    expect(r.details[0]).toContain('drop +10,');
  });

  it('one early eviction is WARNING (--early-drop-warning 0), plural from two', () => {
    const one = checkCounters(okCounters(two({ early_drop: [1, 0] })), baselineOf(two()), DEFAULTS, NOW);
    expect(one.state).toBe(State.WARNING);
    expect(one.summary).toBe('1 entry evicted early since last check (table full)');
    const more = checkCounters(okCounters(two({ early_drop: [1, 1] })), baselineOf(two()), DEFAULTS, NOW);
    expect(more.summary).toBe('2 entries evicted early since last check (table full)');
  });

  it('failed insertions raise nothing while their thresholds are unset', () => {
    const r = checkCounters(okCounters(two({ insert_failed: [500000, 1] })), baselineOf(two()), DEFAULTS, NOW);
    expect(r.state).toBe(State.OK);
    expect(r.summary).toBe('');
    expect(r.details[0]).toContain('insert_failed +500001');
  });

  it('counters without thresholds (invalid) show growth but never alert', () => {
    const r = checkCounters(okCounters(two({ invalid: [MAX32, MAX32] })), baselineOf(two()), DEFAULTS, NOW);
    expect(r.state).toBe(State.OK);
    expect(r.summary).toBe('');
    expect(r.details[0]).toContain(`invalid +${2 * MAX32}`);
  });

  it('lists every alert, in reporting order, and takes the worst state', () => {
    const r = checkCounters(
      okCounters(two({ drop: [0, 2], early_drop: [1, 0], insert_failed: [0, 3] })),
      baselineOf(two()),
      withOptions({ insertFailed: { warning: parseRange('2') } }),
      NOW,
    );
    expect(r.state).toBe(State.CRITICAL);
    expect(r.summary).toBe(
      '2 packets dropped since last check (table full), 1 entry evicted early since last check (table full), 3 insertions failed since last check',
    );
  });

  it('says how long ago the last check was', () => {
    const at = (ms: number) => checkCounters(okCounters(two()), baselineOf(two(), NOW - ms), DEFAULTS, NOW).details[0];
    expect(at(90_000)).toContain('since last check 90s ago:');
    expect(at(3_600_000)).toContain('since last check 1h ago:');
    expect(at(0)).toContain('since last check 0s ago:');
    // a clock that went backwards is not a negative time
    expect(at(-60_000)).toContain('since last check 0s ago:');
  });

  it('skips counters the previous check did not keep', () => {
    const r = checkCounters(okCounters(two({ insert_failed: [4, 4] })), baselineOf({ drop: [0, 0] }), DEFAULTS, NOW);
    expect(r.details[0]).toBe(
      `counters (${SOURCE}, 2 CPU rows): drop 0, early_drop 0, insert_failed 8, invalid 0; since last check 5m ago: drop +0`,
    );
    expect(r.state).toBe(State.OK);
  });

  it("says 'not comparable' when nothing could be compared", () => {
    const r = checkCounters(okCounters(two()), baselineOf({ found: [1, 1] }), DEFAULTS, NOW);
    expect(r.details[0]).toMatch(/since last check 5m ago: not comparable$/);
    expect(r.state).toBe(State.OK);
  });
});

describe('checkCounters: threshold boundaries on the increase', () => {
  const grow = (counter: 'drop' | 'early_drop' | 'insert_failed', n: number, options: PacketLossOptions) =>
    checkCounters(okCounters(two({ [counter]: [n, 0] })), baselineOf(two()), options, NOW);

  it.each([
    [0, State.OK],
    [1, State.CRITICAL],
  ])('drop +%d with the defaults: %s', (n, state) => {
    expect(grow('drop', n, DEFAULTS).state).toBe(state);
  });

  it.each([
    [0, State.OK, ''],
    [10, State.OK, '10 packets dropped since last check (table full)'],
    [11, State.WARNING, '11 packets dropped since last check (table full)'],
    [100, State.WARNING, '100 packets dropped since last check (table full)'],
    [101, State.CRITICAL, '101 packets dropped since last check (table full)'],
  ])('drop +%d with --drop-warning 10 --drop-critical 100: %s', (n, state, summary) => {
    const r = grow('drop', n, withOptions({ drop: { warning: parseRange('10'), critical: parseRange('100') } }));
    expect(r.state).toBe(state);
    // a drop is always named, even below the thresholds
    expect(r.summary).toBe(summary);
  });

  it.each([
    [0, State.OK],
    [1, State.WARNING],
    [1000000, State.WARNING],
  ])('early_drop +%d with the defaults: %s', (n, state) => {
    expect(grow('early_drop', n, DEFAULTS).state).toBe(state);
  });

  it.each([
    [5, State.OK, ''],
    [6, State.WARNING, '6 entries evicted early since last check (table full)'],
    [50, State.WARNING, '50 entries evicted early since last check (table full)'],
    [51, State.CRITICAL, '51 entries evicted early since last check (table full)'],
  ])('early_drop +%d with warning 5, critical 50: %s', (n, state, summary) => {
    const r = grow('early_drop', n, withOptions({ earlyDrop: { warning: parseRange('5'), critical: parseRange('50') } }));
    expect(r.state).toBe(state);
    expect(r.summary).toBe(summary);
  });

  it.each([
    [0, State.OK, ''],
    [1, State.OK, ''],
    [2, State.OK, ''],
    [3, State.WARNING, '3 insertions failed since last check'],
    [9, State.WARNING, '9 insertions failed since last check'],
    [10, State.CRITICAL, '10 insertions failed since last check'],
  ])('insert_failed +%d with warning 2, critical @10:: %s', (n, state, summary) => {
    const r = grow('insert_failed', n, withOptions({ insertFailed: { warning: parseRange('2'), critical: parseRange('@10:') } }));
    expect(r.state).toBe(state);
    expect(r.summary).toBe(summary);
  });

  it('one failed insertion is singular', () => {
    expect(grow('insert_failed', 1, withOptions({ insertFailed: { critical: parseRange('0') } })).summary).toBe(
      '1 insertion failed since last check',
    );
  });
});

describe('checkCounters: a counter that went down (namespace recreated)', () => {
  const NOTE = (what: string) =>
    `counters went down since the last check (${what}): the namespace was recreated, so its totals count as new`;

  it('counts the current totals as new: drops since the reset are CRITICAL', () => {
    const r = checkCounters(okCounters(two({ drop: [3, 0] })), baselineOf(two({ drop: [10, 0] })), DEFAULTS, NOW);
    expect(r.state).toBe(State.CRITICAL);
    expect(r.summary).toBe('3 packets dropped since last check (table full)');
    expect(r.notes).toEqual([NOTE('drop it went down on CPU 0 (from 10 to 3)')]);
    expect(r.details[0]).toBe(
      `counters (${SOURCE}, 2 CPU rows): drop 3, early_drop 0, insert_failed 0, invalid 0; since last check 5m ago: drop +3, early_drop +0, insert_failed +0, invalid +0`,
    );
  });

  it('a reset with no drops since: OK, the note only', () => {
    const r = checkCounters(okCounters(two({ invalid: [1, 0] })), baselineOf(two({ drop: [10, 10], invalid: [7, 7] })), DEFAULTS, NOW);
    expect(r.state).toBe(State.OK);
    expect(r.summary).toBe('');
    expect(r.notes).toEqual([NOTE('drop it went down on CPU 0 (from 10 to 0)')]);
  });

  it('found and insert (saved for this purpose) betray a recreated namespace even when the watched counters grew', () => {
    expect(SAVED_COUNTERS).toEqual([
      'drop',
      'early_drop',
      'insert_failed',
      'invalid',
      'search_restart',
      'clashres',
      'chainlength',
      'found',
      'insert',
    ]);
    const before = { ...two({ drop: [5, 0] }), found: [1000, 1000], insert: [50, 50] };
    const after = { ...two({ drop: [7, 0], early_drop: [1, 0] }), found: [3, 0], insert: [1, 0] };
    const r = checkCounters(okCounters(after), baselineOf(before), DEFAULTS, NOW);
    // not +2: all 7 drops belong to the new namespace
    expect(r.summary).toBe('7 packets dropped since last check (table full), 1 entry evicted early since last check (table full)');
    expect(r.state).toBe(State.CRITICAL);
    expect(r.notes).toEqual([NOTE('found it went down on CPU 0 (from 1000 to 3)')]);
  });

  it('a reset of a counter without thresholds makes the watched totals count', () => {
    const r = checkCounters(
      okCounters(two({ drop: [0, 9], invalid: [0, 0] })),
      baselineOf(two({ drop: [0, 4], invalid: [5, 0] })),
      DEFAULTS,
      NOW,
    );
    expect(r.state).toBe(State.CRITICAL);
    expect(r.summary).toBe('9 packets dropped since last check (table full)');
    expect(r.notes).toEqual([NOTE('invalid it went down on CPU 0 (from 5 to 0)')]);
  });

  it('names only the first counter that went down', () => {
    const r = checkCounters(okCounters(two()), baselineOf(two({ early_drop: [1, 0], insert_failed: [0, 1] })), DEFAULTS, NOW);
    expect(r.notes).toEqual([NOTE('early_drop it went down on CPU 0 (from 1 to 0)')]);
  });

  it('a changed number of CPU rows is not comparable: a new baseline, no alert', () => {
    const r = checkCounters(
      okCounters({ drop: [7, 0, 0], early_drop: [0, 0, 0] }),
      baselineOf({ drop: [0, 0], early_drop: [0, 0] }),
      DEFAULTS,
      NOW,
    );
    expect(r.summary).toBe(
      'counters not comparable with the last check (drop: the number of CPU rows changed from 2 to 3): drop counters recorded as the baseline',
    );
    expect(r.state).toBe(State.OK);
  });

  it('a 32-bit wrap is not a reset', () => {
    const before = { drop: [MAX32, 0], found: [MAX32 - 1, 0] };
    const after = { drop: [1, 0], found: [5, 0] };
    const r = checkCounters(okCounters(after), baselineOf(before), DEFAULTS, NOW);
    expect(r.notes).toEqual([]);
    expect(r.summary).toBe('2 packets dropped since last check (table full)');
  });

  it('a saved counter the source no longer gives cannot signal a reset', () => {
    const r = checkCounters(okCounters(two()), baselineOf({ ...two(), found: [100, 100] }), DEFAULTS, NOW);
    expect(r.notes).toEqual([]);
    expect(r.state).toBe(State.OK);
  });
});

describe('checkKernelLog', () => {
  it('gives nothing when the log is disabled', () => {
    expect(checkKernelLog({ status: 'disabled' }, DEFAULTS)).toBeUndefined();
  });

  it('unreadable: a detail (at -v) with every attempt and the fix for the user running the check, state OK, no summary, no note', () => {
    const scan: LogScan = {
      status: 'unreadable',
      attempts: [
        { source: 'kmsg', reason: '/dev/kmsg: Operation not permitted' },
        { source: 'dmesg', reason: 'dmesg: read kernel buffer failed: Operation not permitted' },
      ],
    };
    expect(checkKernelLog(scan, { ...DEFAULTS, user: 'icinga' })).toStrictEqual({
      check: 'kernel-log',
      state: State.OK,
      summary: '',
      details: [
        `kernel log not readable (kmsg: /dev/kmsg: Operation not permitted; dmesg: dmesg: read kernel buffer failed: Operation not permitted); ${logFix('icinga')}`,
      ],
      notes: [],
      perfdata: [],
      data: { unreadable: scan.attempts },
    });
  });

  it('the fix names the user, the groups and the sudoers line for that user', () => {
    expect(logFix('icinga')).toContain(
      'to let icinga read it: add icinga to group systemd-journal (journalctl -k) or, on Debian and Ubuntu, adm (/var/log/kern.log)',
    );
    expect(logFix('icinga')).toContain("'icinga ALL=(root) NOPASSWD: /usr/bin/dmesg -r'");
    expect(logFix()).toContain("'nagios ALL=(root) NOPASSWD: /usr/bin/dmesg -r'");
  });

  it('no message since the last check: OK, no summary', () => {
    const r = checkKernelLog(okScan([], { attempts: [{ source: 'kmsg', reason: 'EPERM' }], notes: ['a note'] }), DEFAULTS);
    expect(r).toStrictEqual({
      check: 'kernel-log',
      state: State.OK,
      summary: '',
      details: ["kernel log (kmsg): 0 'table full' messages since last check"],
      notes: ['a note'],
      trace: ['kernel log: kmsg not used: EPERM'],
      perfdata: [],
      data: {
        source: 'kmsg',
        messages: 0,
        suppressed: 0,
        since_last_check: true,
        window_seconds: null,
        newest_ms: null,
        namespaces: [],
        lines: [],
      },
    });
  });

  it('on a first run speaks of the window', () => {
    const r = checkKernelLog(okScan([], { sinceLastRun: false, source: 'journal' }), withOptions({ logWindowSeconds: 5400 }));
    expect(r!.details).toEqual(["kernel log (journal): 0 'table full' messages in the last 90m"]);
    const m = checkKernelLog(okScan([{ count: 1, text: LINE }], { sinceLastRun: false }), DEFAULTS);
    expect(m!.summary).toBe("1 'table full' message in the kernel log in the last 1h");
    expect(m!.details[0]).toBe("kernel log (kmsg): 1 'table full' message in the last 1h");
  });

  it('one message: CRITICAL (--log-drops-critical 0), with its time and namespace', () => {
    const r = checkKernelLog(
      okScan([{ count: 1, text: NETNS_LINE(4026532315), netns: 4026532315, timeMs: Date.UTC(2025, 0, 15, 11, 58, 7, 123) }]),
      DEFAULTS,
    );
    expect(r!.state).toBe(State.CRITICAL);
    expect(r!.summary).toBe("1 'table full' message in the kernel log since last check (newest 2025-01-15T11:58:07Z, netns 4026532315)");
    expect(r!.details).toEqual(["kernel log (kmsg): 1 'table full' message since last check", `  ${NETNS_LINE(4026532315)}`]);
  });

  it('several messages: the newest time, each namespace once, by inode, suppressed count, the last three lines', () => {
    const matches: LogMatch[] = [
      { count: 1, text: 'a', netns: 222, timeMs: Date.UTC(2025, 0, 15, 11, 0, 0) },
      { count: 1, text: 'b', netns: 111, timeMs: Date.UTC(2025, 0, 15, 11, 30, 0) },
      { count: 1, text: 'c', timeMs: Date.UTC(2025, 0, 15, 11, 10, 0) },
      { count: 1, text: 'd', netns: 222 },
      { count: 1, text: 'e', netns: 111, timeMs: Date.UTC(2025, 0, 15, 11, 20, 0) },
    ];
    const r = checkKernelLog(okScan(matches, { suppressed: 3939 }), DEFAULTS);
    expect(r!.summary).toBe(
      "5 'table full' messages in the kernel log since last check (newest 2025-01-15T11:30:00Z, netns 111, 222, up to 3939 more messages may have been suppressed)",
    );
    expect(r!.details).toEqual(["kernel log (kmsg): 5 'table full' messages since last check", '  c', '  d', '  e']);
  });

  it('a line that stands for several messages (rsyslog repeats) counts each', () => {
    const r = checkKernelLog(
      okScan([
        { count: 5, text: LINE },
        { count: 1, text: LINE },
      ]),
      withOptions({ logDrops: { critical: parseRange('5') } }),
    );
    expect(r!.state).toBe(State.CRITICAL);
    expect(r!.summary).toBe("6 'table full' messages in the kernel log since last check");
    expect(r!.details).toEqual(["kernel log (kmsg): 6 'table full' messages since last check", `  ${LINE}`, `  ${LINE}`]);
  });

  it('a match without a count stands for one message', () => {
    const r = checkKernelLog(okScan([{ text: LINE }, { count: 2, text: LINE }]), DEFAULTS);
    expect(r!.summary).toBe("3 'table full' messages in the kernel log since last check");
  });

  it('without times or namespaces, no parenthesis', () => {
    const r = checkKernelLog(
      okScan([
        { count: 1, text: LINE },
        { count: 1, text: LINE },
      ]),
      DEFAULTS,
    );
    expect(r!.summary).toBe("2 'table full' messages in the kernel log since last check");
  });

  it('suppressed callbacks alone, without a drop line, raise nothing', () => {
    const r = checkKernelLog(okScan([], { suppressed: 12 }), DEFAULTS);
    expect(r!.state).toBe(State.OK);
    expect(r!.summary).toBe('');
  });

  it.each([
    [0, State.OK, false],
    [2, State.OK, true],
    [3, State.WARNING, true],
    [5, State.WARNING, true],
    [6, State.CRITICAL, true],
  ])('%d messages with --log-drops-warning 2 --log-drops-critical 5: %s', (n, state, headline) => {
    const r = checkKernelLog(
      okScan(Array.from({ length: n }, () => ({ count: 1, text: LINE }))),
      withOptions({ logDrops: { warning: parseRange('2'), critical: parseRange('5') } }),
    );
    expect(r!.state).toBe(state);
    expect(r!.summary).toBe(headline ? `${n} 'table full' messages in the kernel log since last check` : '');
  });

  it('without log thresholds, messages are still named but OK', () => {
    const r = checkKernelLog(okScan([{ count: 1, text: LINE }]), withOptions({ logDrops: {} }));
    expect(r!.state).toBe(State.OK);
    expect(r!.summary).toBe("1 'table full' message in the kernel log since last check");
  });

  // Doubtful (reported): a threshold that alerts on zero (`@0`, `1:`) makes the
  // result non-OK while its headline is empty, so the status line does not say why.
  it('a non-OK log result always has a summary', () => {
    const r = checkKernelLog(okScan([]), withOptions({ logDrops: { warning: parseRange('1:') } }));
    expect(r!.state).toBe(State.WARNING);
    expect(r!.summary).not.toBe('');
  });
});

describe('checkPacketLoss: combining counters and log', () => {
  const unavailable: CountersMeasurement = { status: 'unavailable', reasons: ['no stat file'] };
  const failed: CountersMeasurement = { status: 'error', source: SOURCE, reason: 'bad' };
  const unreadable: LogScan = { status: 'unreadable', attempts: [{ source: 'dmesg', reason: 'EPERM' }] };
  const UNKNOWN_SUMMARY = 'cannot tell whether packets were dropped: no drop counters, and the kernel log is not readable';

  it('counters and log: two results, in that order', () => {
    const rs = checkPacketLoss(okCounters(two()), okScan([]), baselineOf(two()), DEFAULTS, NOW);
    expect(rs.map((r) => r.check)).toEqual(['counters', 'kernel-log']);
    expect(worst(rs.map((r) => r.state))).toBe(State.OK);
  });

  it('log disabled: only the counters', () => {
    const rs = checkPacketLoss(okCounters(two()), { status: 'disabled' }, baselineOf(two()), DEFAULTS, NOW);
    expect(rs.map((r) => r.check)).toEqual(['counters']);
  });

  it.each([
    ['unavailable', unavailable],
    ['error', failed],
  ])('counters %s and log unreadable: an UNKNOWN result', (_name, counters) => {
    const rs = checkPacketLoss(counters, unreadable, baselineOf(two()), DEFAULTS, NOW);
    expect(rs.map((r) => r.check)).toEqual(['counters', 'kernel-log', 'packet-loss']);
    expect(rs[2]).toStrictEqual({ check: 'packet-loss', state: State.UNKNOWN, summary: UNKNOWN_SUMMARY, details: [], perfdata: [] });
    expect(render(rs, 0).state).toBe(State.UNKNOWN);
  });

  it('counters unavailable and log disabled: UNKNOWN too, naming --kernel-log none', () => {
    const rs = checkPacketLoss(unavailable, { status: 'disabled' }, FIRST, DEFAULTS, NOW);
    expect(rs.map((r) => [r.check, r.state])).toEqual([
      ['counters', State.OK],
      ['packet-loss', State.UNKNOWN],
    ]);
    expect(rs[1]!.summary).toBe(
      'cannot tell whether packets were dropped: no drop counters, and the kernel log is not searched (--kernel-log none)',
    );
  });

  it('counters unavailable but log readable: no UNKNOWN, the log decides', () => {
    const quiet = checkPacketLoss(unavailable, okScan([]), FIRST, DEFAULTS, NOW);
    expect(quiet.map((r) => r.check)).toEqual(['counters', 'kernel-log']);
    expect(worst(quiet.map((r) => r.state))).toBe(State.OK);
    const loud = checkPacketLoss(unavailable, okScan([{ count: 1, text: LINE }]), FIRST, DEFAULTS, NOW);
    expect(worst(loud.map((r) => r.state))).toBe(State.CRITICAL);
  });

  it('counters unavailable and a log read only in part that found nothing: UNKNOWN, for the newest messages were not read', () => {
    const partial = okScan([], { source: '/dev/kmsg', partial: true });
    const rs = checkPacketLoss(unavailable, partial, FIRST, DEFAULTS, NOW);
    expect(rs.map((r) => [r.check, r.state])).toEqual([
      ['counters', State.OK],
      ['kernel-log', State.OK],
      ['packet-loss', State.UNKNOWN],
    ]);
    expect(rs[2]!.summary).toBe(
      'cannot tell whether packets were dropped: no drop counters, and the kernel log (/dev/kmsg) was read only in part',
    );
    // What it did find is a loss all the same; and the counters, when there are some, decide alone.
    expect(
      worst(checkPacketLoss(unavailable, okScan([{ count: 1, text: LINE }], { partial: true }), FIRST, DEFAULTS, NOW).map((r) => r.state)),
    ).toBe(State.CRITICAL);
    expect(checkPacketLoss(okCounters(two()), partial, baselineOf(two()), DEFAULTS, NOW).map((r) => r.check)).toEqual([
      'counters',
      'kernel-log',
    ]);
  });

  it('counters readable but log unreadable: no UNKNOWN, the fix at -v only', () => {
    const rs = checkPacketLoss(okCounters(two()), unreadable, baselineOf(two()), DEFAULTS, NOW);
    expect(rs.map((r) => r.check)).toEqual(['counters', 'kernel-log']);
    expect(worst(rs.map((r) => r.state))).toBe(State.OK);
    expect(render(rs, 0).text).not.toContain('kernel log not readable');
    expect(render(rs, 1).text).toContain(logFix());
  });

  it('first run with counters: OK, no delta alert even with drops and log lines before', () => {
    const rs = checkPacketLoss(
      okCounters(two({ drop: [50, 50], early_drop: [9, 9] })),
      okScan([], { sinceLastRun: false }),
      FIRST,
      DEFAULTS,
      NOW,
    );
    expect(worst(rs.map((r) => r.state))).toBe(State.OK);
    expect(rs[0]!.summary).toBe('first check: drop counters recorded as the baseline (100 dropped before)');
  });
});

/**
 * The promise the check makes: when the drop counter grew since the last check,
 * the overall state is never OK, whatever else was or was not readable and
 * whatever the other thresholds say (with the default --drop-critical).
 */
describe('never OK while drops grew since the last check', () => {
  type Counters = Record<string, number[]>;
  /** Same namespace: counters only grow (or wrap). */
  const dropCases: Array<{ name: string; before: number[]; after: number[]; grew: number }> = [
    { name: 'one CPU +1', before: [0, 0], after: [1, 0], grew: 1 },
    { name: 'other CPU +1', before: [7, 7], after: [7, 8], grew: 1 },
    { name: 'both CPUs', before: [100, 200], after: [150, 260], grew: 110 },
    { name: 'wrap to 0', before: [MAX32, 0], after: [0, 0], grew: 1 },
    { name: 'wrap past 0', before: [MAX32 - 5, 3], after: [10, 3], grew: 16 },
    { name: 'wrap and growth', before: [MAX32, 1], after: [1, 2], grew: 3 },
    { name: 'large growth', before: [0, 0], after: [2 ** 31, 2 ** 31], grew: 2 ** 32 },
  ];
  const otherCases: Array<{ name: string; before: Counters; after: Counters }> = [
    { name: 'others flat', before: {}, after: {} },
    { name: 'early_drop grew', before: {}, after: { early_drop: [1, 0] } },
    { name: 'early_drop wrapped', before: { early_drop: [MAX32, MAX32] }, after: { early_drop: [0, 0] } },
    { name: 'insert_failed grew', before: {}, after: { insert_failed: [4, 0] } },
    { name: 'invalid wrapped', before: { invalid: [MAX32 - 1, 0] }, after: { invalid: [3, 0] } },
    { name: 'found and insert grew', before: { found: [10, 10], insert: [5, 5] }, after: { found: [20, 11], insert: [9, 5] } },
  ];
  /** Recreated namespace: some counter went down, so every current drop is new. */
  const recreatedCases: Array<{ name: string; before: Counters; after: Counters; dropped: number }> = [
    { name: 'drop went down', before: two({ drop: [10, 0] }), after: two({ drop: [3, 0] }), dropped: 3 },
    { name: 'drop down on one CPU, up on another', before: two({ drop: [10, 1] }), after: two({ drop: [3, 9] }), dropped: 12 },
    {
      name: 'found went down, drop looks flat',
      before: { ...two({ drop: [2, 0] }), found: [500, 500] },
      after: { ...two({ drop: [2, 0] }), found: [1, 1] },
      dropped: 2,
    },
    {
      name: 'insert went down, drop looks +1',
      before: { ...two({ drop: [4, 0] }), insert: [90, 0] },
      after: { ...two({ drop: [5, 0] }), insert: [2, 0] },
      dropped: 5,
    },
    { name: 'early_drop went down', before: two({ early_drop: [8, 8] }), after: two({ drop: [0, 1] }), dropped: 1 },
  ];
  const scans: Array<[string, LogScan]> = [
    ['log disabled', { status: 'disabled' }],
    ['log unreadable', { status: 'unreadable', attempts: [{ source: 'kmsg', reason: 'EPERM' }] }],
    ['log quiet since last run', okScan([])],
    ['log quiet in window', okScan([], { sinceLastRun: false })],
    ['log has a line', okScan([{ count: 1, text: LINE, netns: 5, timeMs: NOW - 1000 }])],
    ['log has a folded line', okScan([{ count: 40, text: LINE }], { suppressed: 100 })],
    ['log suppressed only', okScan([], { suppressed: 10 })],
  ];
  const optionSets: Array<[string, PacketLossOptions]> = [
    ['defaults', DEFAULTS],
    ['lenient others', withOptions({ earlyDrop: {}, insertFailed: {}, logDrops: {} })],
    [
      'strict others',
      withOptions({ earlyDrop: { critical: parseRange('0') }, insertFailed: { warning: parseRange('0'), critical: parseRange('0') } }),
    ],
    ['log thresholds high', withOptions({ logDrops: { warning: parseRange('100'), critical: parseRange('1000') } })],
    ['drop warning added', withOptions({ drop: { warning: parseRange('0'), critical: parseRange('0') } })],
  ];
  const elapsed = [0, 1000, 300_000, 86_400_000 * 3];

  function verify(label: string, before: Counters, after: Counters, dropped: number, failures: string[]): void {
    for (const [scanName, scan] of scans)
      for (const [optName, options] of optionSets)
        for (const ms of elapsed) {
          const results: Result[] = checkPacketLoss(okCounters(after), scan, baselineOf(before, NOW - ms), options, NOW);
          const rendered = render(results, 0);
          const where = `${label} / ${scanName} / ${optName} / ${ms}ms`;
          if (rendered.state !== State.CRITICAL) failures.push(`${where}: state ${rendered.state}`);
          const said = `${dropped} ${dropped === 1 ? 'packet' : 'packets'} dropped since last check (table full)`;
          if (!rendered.text.split('\n')[0]!.includes(said)) failures.push(`${where}: status line lacks '${said}'`);
        }
  }

  it('holds for every combination in one namespace', () => {
    const failures: string[] = [];
    let n = 0;
    for (const d of dropCases)
      for (const o of otherCases) {
        verify(
          `${d.name} / ${o.name}`,
          { ...two(), ...o.before, drop: d.before },
          { ...two(), ...o.after, drop: d.after },
          d.grew,
          failures,
        );
        n++;
      }
    expect(failures).toEqual([]);
    expect(n).toBe(dropCases.length * otherCases.length);
  });

  it('holds for every combination after the namespace was recreated', () => {
    const failures: string[] = [];
    for (const c of recreatedCases) verify(c.name, c.before, c.after, c.dropped, failures);
    expect(failures).toEqual([]);
  });

  it('and no drop growth, with everything else quiet, is OK (the tests above can fail)', () => {
    const rs = checkPacketLoss(okCounters(two({ drop: [5, 5] })), okScan([]), baselineOf(two({ drop: [5, 5] })), DEFAULTS, NOW);
    expect(render(rs, 0).state).toBe(State.OK);
  });

  it('when drops cannot be counted at all, the state is UNKNOWN, not OK', () => {
    const counters: CountersMeasurement[] = [
      { status: 'unavailable', reasons: ['x'] },
      { status: 'error', source: SOURCE, reason: 'y' },
    ];
    const blind: LogScan[] = [{ status: 'disabled' }, { status: 'unreadable', attempts: [] }];
    for (const c of counters)
      for (const s of blind)
        for (const b of [FIRST, baselineOf(two())]) expect(render(checkPacketLoss(c, s, b, DEFAULTS, NOW), 0).state).toBe(State.UNKNOWN);
  });
});
