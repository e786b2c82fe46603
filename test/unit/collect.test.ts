/**
 * The runtime's part with plain measurements, no host: every check runs on
 * them in the output's order, the state is kept once with what --changes-only
 * said, and a state that could not be kept changes the verdicts it must.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHECKS, runChecks } from '../../src/checks/all';
import type { Measurements } from '../../src/checks/measurements';
import { CHECK_NAMES } from '../../src/nagios/result';
import { State } from '../../src/nagios/state';
import { parseProcStat } from '../../src/parse/conntrack-stat';
import { parseCommandLine } from '../../src/runtime/cli';
import { conclude } from '../../src/runtime/collect';
import type { Options } from '../../src/runtime/options';
import { chooseBaseline } from '../../src/state/baseline';
import { parseState, type SavedState } from '../../src/state/schema';
import { REPO } from '../support/bundle';

const NOW = Date.UTC(2026, 11, 7, 8, 0, 0);
const BOOT = 'b6a1e5a0-0000-4000-8000-000000000001';
const NETNS = 4026531840;
const UID = process.getuid!();

/** A stat table as the kernel prints it: two CPUs, `drop` as given. */
function stats(entries: number, drop: [number, number]) {
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  const row = (d: number) =>
    [entries, 0, 5, 0, 1, 0, 0, 0, 40, 0, d, 0, 0, 0, 0, 0, 0].map((n, i) => (i === 0 ? hex(n) : ` ${hex(n)}`)).join('');
  const text = `entries clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error expect_new expect_create expect_delete search_restart\n${row(drop[0])}\n${row(drop[1])}\n`;
  const parsed = parseProcStat(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.stats;
}

function options(...argv: string[]): Options {
  const cli = parseCommandLine(argv);
  if (cli.kind !== 'run') throw new Error(`not a run: ${JSON.stringify(cli)}`);
  return cli.options;
}

const reading = (path: string, value: number) => ({ status: 'ok' as const, path, value });

/** A quiet host at `count` of 1000 entries, its counters as given; what a test changes, it overrides. */
function measured(count: number, over: Partial<Measurements> = {}, previous?: SavedState): Measurements {
  const identity = { bootId: BOOT, netns: NETNS, uptimeSeconds: 3600, nowMs: NOW };
  const loaded = previous ? ({ status: 'ok', state: previous } as const) : ({ status: 'missing' } as const);
  return {
    table: {
      count: reading('/proc/sys/net/netfilter/nf_conntrack_count', count),
      max: reading('/proc/sys/net/netfilter/nf_conntrack_max', 1000),
      buckets: reading('/proc/sys/net/netfilter/nf_conntrack_buckets', 1024),
      module: 'builtin',
    },
    privileges: { uid: UID, user: 'nagios' },
    identity,
    baseline: chooseBaseline(loaded, identity),
    counters: { status: 'ok', source: '/proc/net/stat/nf_conntrack', stats: stats(count, [0, 0]) },
    log: { status: 'unreadable', attempts: [{ source: '/dev/kmsg', reason: 'permission denied' }] },
    modules: { modules: { status: 'absent' }, kernel: { major: 6, minor: 18 } },
    rules: { status: 'unreadable', reasons: ['needs root'] },
    sizing: { memTotalBytes: 8 * 2 ** 30, timeouts: {} },
    namespaceEntries: [],
    stateFile: { loaded },
    archBits: 64,
    ...over,
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-collect-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const savedAt = (path: string): SavedState => {
  const parsed = parseState(readFileSync(path, 'utf8'));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.state;
};

describe('the check contract', () => {
  it("every check's id is one the JSON schema names, and the schema names no other", () => {
    const schema = JSON.parse(readFileSync(join(REPO, 'schema/check_conntrack.schema.json'), 'utf8'));
    expect([...CHECK_NAMES]).toEqual(schema.properties.checks.items.properties.check.enum);
  });

  it('every check takes the same measurements and options and returns findings, in the order of the output', () => {
    const m = measured(950, {
      breakdown: {
        status: 'ok',
        source: '/proc/net/nf_conntrack',
        elapsedMs: 1,
        summary: {
          entries: 950,
          skipped: 0,
          byProtocol: { tcp: 950 },
          tcpStates: { TIME_WAIT: 900, ESTABLISHED: 50 },
          unreplied: 0,
          assured: 50,
          offloaded: 0,
          unrepliedByProtocol: {},
          topPorts: [{ protocol: 'tcp', port: 6379, count: 900 }],
          topDestinations: [{ address: '10.0.0.5', count: 900, error: 0 }],
          truncated: false,
        },
      },
    });
    const o = options('--breakdown');
    expect(CHECKS).toHaveLength(8);
    const results = runChecks(m, o);
    expect(results.map((r) => r.check)).toEqual(['table', 'counters', 'kernel-log', 'modules', 'breakdown', 'forecast', 'sizing']);
    expect(results.every((r) => (CHECK_NAMES as readonly string[]).includes(r.check))).toBe(true);
    expect(results[0]).toMatchObject({ state: State.CRITICAL, summary: '95.0% of table used (950 of 1000 entries)' });
    // Under pressure, what fills the table comes with advice.
    expect(results.find((r) => r.check === 'breakdown')?.advice?.length).toBeGreaterThan(0);
  });

  it('with --namespaces all, the host line says whose it is and keeps the --exclude-unreplied note', () => {
    const m = measured(950, {
      inventory: { namespaces: [], processesScanned: 1, hiddenProcesses: 0, problems: [] },
      breakdown: { status: 'unavailable', reasons: ['/proc/net/nf_conntrack: permission denied'] },
    });
    const [table] = runChecks(m, options('--namespaces', 'all', '--exclude-unreplied'));
    expect(table!.summary).toBe('host: 95.0% of table used (950 of 1000 entries)');
    expect(table!.notes).toContain('--exclude-unreplied: the entries could not be read, so [UNREPLIED] entries are counted like the rest');
  });
});

describe('conclude', () => {
  it('keeps the counters worth keeping, the count and the notice in one state file', async () => {
    const path = join(dir, 'state.json');
    const m = measured(100, { stateFile: { path, loaded: { status: 'missing' } } });
    const { results, notice } = await conclude(m, options('--changes-only'));
    expect(results.map((r) => r.check)).toEqual(['table', 'counters', 'kernel-log', 'modules', 'forecast', 'sizing']);
    expect(notice).toMatchObject({ kind: 'quiet', print: false });
    const saved = savedAt(path);
    expect(saved.bootId).toBe(BOOT);
    const own = saved.namespaces[String(NETNS)]!;
    expect(own.count).toBe(100);
    expect(Object.keys(own.perCpu).sort()).toEqual(
      ['chainlength', 'clashres', 'drop', 'early_drop', 'found', 'insert', 'insert_failed', 'invalid', 'search_restart'].sort(),
    );
    expect(saved.notice).toMatchObject({ state: State.OK });
  });

  it('the next run compares with it: drops since are CRITICAL, printed once, quiet while they go on, and the recovery said', async () => {
    const path = join(dir, 'state.json');
    await conclude(measured(100, { stateFile: { path, loaded: { status: 'missing' } } }), options('--changes-only'));
    const next = (drop: [number, number], atMs: number) => {
      const previous = savedAt(path);
      const m = measured(100, {}, previous);
      return {
        ...m,
        identity: { ...m.identity, nowMs: atMs },
        counters: { status: 'ok' as const, source: '/proc/net/stat/nf_conntrack', stats: stats(100, drop) },
        stateFile: { path, loaded: { status: 'ok' as const, state: previous } },
      };
    };
    const first = await conclude(next([3, 4], NOW + 60_000), options('--changes-only'));
    expect(first.results[1]).toMatchObject({ check: 'counters', state: State.CRITICAL });
    expect(first.results[1]!.summary).toMatch(/^7 packets dropped since last check/);
    expect(first.notice).toMatchObject({ kind: 'problem', print: true });
    const second = await conclude(next([5, 6], NOW + 120_000), options('--changes-only'));
    expect(second.results[1]).toMatchObject({ check: 'counters', state: State.CRITICAL });
    expect(second.notice).toMatchObject({ kind: 'quiet', print: false });
    // No drop since: over, and said once.
    const third = await conclude(next([5, 6], NOW + 180_000), options('--changes-only'));
    expect(third.notice).toMatchObject({ kind: 'recovery', print: true });
  });

  it('a state that cannot be kept: said in the status line, the loss UNKNOWN without a readable log, and --changes-only prints', async () => {
    writeFileSync(join(dir, 'file'), 'not a directory');
    const path = join(dir, 'file', 'state.json');
    const { results, notice } = await conclude(
      measured(100, { stateFile: { path, loaded: { status: 'missing' } } }),
      options('--changes-only'),
    );
    const state = results.find((r) => r.check === 'state');
    expect(state?.summary).toMatch(/^state could not be kept: /);
    expect(results.find((r) => r.check === 'packet-loss')).toMatchObject({ state: State.UNKNOWN });
    expect(notice).toMatchObject({ kind: 'unkept', print: true });
  });

  it('a kept state adds no state line and no packet-loss UNKNOWN', async () => {
    const { results } = await conclude(
      measured(100, { stateFile: { path: join(dir, 'state.json'), loaded: { status: 'missing' } } }),
      options(),
    );
    expect(results.some((r) => r.check === 'state' || r.check === 'packet-loss')).toBe(false);
  });
});
