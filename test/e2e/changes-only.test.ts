/**
 * --changes-only, as cron runs it: the built bundle against a fixture host
 * whose count is changed between runs, with a real state file. Times that
 * matter (--repeat) are set in the state file, never waited for.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeRun, runBundle, type BundleRun } from '../support/bundle';
import { copyFixture } from '../support/fixtures';

const COUNT = 'proc/sys/net/netfilter/nf_conntrack_count';
/** linux-6.8 has nf_conntrack_max 262144: 80% is 209715, 90% 235929. */
const OK_COUNT = '1000\n';
const CRITICAL_COUNT = '250000\n';
const WARNING_COUNT = '220000\n';

describe('--changes-only (fixture host, real state file)', () => {
  let tree: ReturnType<typeof copyFixture>;
  let work: string;
  let state: string;

  beforeEach(() => {
    tree = copyFixture('linux-6.8');
    work = mkdtempSync(join(tmpdir(), 'cc-changes-'));
    state = join(work, 'state', 'conntrack.json');
  });
  afterEach(() => {
    tree.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  const check = (count: string, extra: string[] = [], statePath = state): BundleRun => {
    tree.write(COUNT, count);
    return runBundle([
      '--proc',
      join(tree.dir, 'proc'),
      '--sys',
      join(tree.dir, 'sys'),
      '--kernel-log',
      'none',
      '--state-file',
      statePath,
      '--changes-only',
      ...extra,
    ]);
  };
  const saved = () => JSON.parse(readFileSync(state, 'utf8')) as { notice?: Record<string, unknown> };
  /** Moves the remembered times back, as if the runs had happened that long ago. */
  const age = (ms: number) => {
    const s = saved();
    const n = s.notice!;
    for (const key of ['problemSinceMs', 'printedMs']) if (typeof n[key] === 'number') n[key] = (n[key] as number) - ms;
    writeFileSync(state, JSON.stringify(s));
  };

  it('OK -> CRITICAL -> CRITICAL -> OK prints exactly the problem and the recovery, with the real exit codes', () => {
    const ok = check(OK_COUNT);
    expect([ok.stdout, ok.code], describeRun(ok)).toEqual(['', 0]);

    const problem = check(CRITICAL_COUNT);
    expect(problem.code).toBe(2);
    expect(problem.status).toMatch(/^CONNTRACK CRITICAL - 95\.3% of table used \(250000 of 262144 entries\)/);

    const again = check(CRITICAL_COUNT);
    expect([again.stdout, again.code], describeRun(again)).toEqual(['', 2]);

    age(115 * 60_000);
    const recovery = check(OK_COUNT);
    expect(recovery.code).toBe(0);
    expect(recovery.status).toMatch(/^CONNTRACK OK - recovered after 1h 55m: 0\.3% of table used \(1000 of 262144 entries\)/);
    // What it recovered from, and the details of the table now, without -v.
    expect(recovery.lines[1]).toMatch(
      /^was CRITICAL from \d{4}-\d\d-\d\d \d\d:\d\d UTC: 95\.3% of table used \(250000 of 262144 entries\)/,
    );
    expect(recovery.lines).toContain('table: 1000 of 262144 entries used (0.3%), 261144 free');

    const after = check(OK_COUNT);
    expect([after.stdout, after.code], describeRun(after)).toEqual(['', 0]);
  });

  it('says so when the state gets worse or better without becoming OK', () => {
    check(WARNING_COUNT);
    const worse = check(CRITICAL_COUNT);
    expect(worse.status).toMatch(/^CONNTRACK CRITICAL - /);
    expect(worse.lines).toContain(worse.lines.find((l) => /^was WARNING before this check; not OK since /.test(l)));
    const better = check(WARNING_COUNT);
    expect(better.status).toMatch(/^CONNTRACK WARNING - /);
    expect(better.code).toBe(1);
  });

  it('--repeat prints again once that long has passed since the last print, and not before', () => {
    const first = check(CRITICAL_COUNT, ['--repeat', '1h']);
    expect(first.code).toBe(2);
    expect(first.stdout).not.toBe('');

    age(59 * 60_000);
    const early = check(CRITICAL_COUNT, ['--repeat', '1h']);
    expect([early.stdout, early.code], describeRun(early)).toEqual(['', 2]);

    age(60_000);
    const reminder = check(CRITICAL_COUNT, ['--repeat', '1h']);
    expect(reminder.code).toBe(2);
    expect(reminder.status).toMatch(/^CONNTRACK CRITICAL - still CRITICAL after 1h: 95\.3% of table used/);
    expect(reminder.lines.some((l) => /^not OK since .* \(a reminder every 1h\)$/.test(l))).toBe(true);

    const next = check(CRITICAL_COUNT, ['--repeat', '1h']);
    expect([next.stdout, next.code], describeRun(next)).toEqual(['', 2]);
  });

  it('prints every run, and says why, when the state file cannot be kept', () => {
    // A state file planted as a link by someone else: refused, never followed.
    mkdirSync(join(work, 'state'), { mode: 0o700 });
    writeFileSync(join(work, 'victim'), 'not ours\n');
    symlinkSync(join(work, 'victim'), state);
    for (const count of [OK_COUNT, OK_COUNT, CRITICAL_COUNT, CRITICAL_COUNT]) {
      const r = check(count);
      // With the kernel log not searched, counters that can never be compared cannot say OK.
      expect(r.status, describeRun(r)).toMatch(/^CONNTRACK (UNKNOWN|CRITICAL) - .*state could not be kept/);
      expect(
        r.lines.some((l) => l.startsWith('--changes-only prints every check while it cannot remember the last one: ')),
        describeRun(r),
      ).toBe(true);
    }
    expect(readFileSync(join(work, 'victim'), 'utf8')).toBe('not ours\n');
  });

  it('prints every run with --no-state, which keeps nothing to compare with', () => {
    tree.write(COUNT, OK_COUNT);
    const args = ['--proc', join(tree.dir, 'proc'), '--sys', join(tree.dir, 'sys'), '--kernel-log', 'none', '--no-state', '--changes-only'];
    for (let i = 0; i < 2; i++) {
      const r = runBundle(args);
      expect(r.code).toBe(0);
      expect(r.lines).toContain(
        '--changes-only prints every check while it cannot remember the last one: --no-state keeps nothing between runs',
      );
    }
  });

  it('keeps what it said across a plain run in between (NRPE and cron sharing one user)', () => {
    check(CRITICAL_COUNT);
    tree.write(COUNT, CRITICAL_COUNT);
    const plain = runBundle([
      '--proc',
      join(tree.dir, 'proc'),
      '--sys',
      join(tree.dir, 'sys'),
      '--kernel-log',
      'none',
      '--state-file',
      state,
    ]);
    expect(plain.status).toMatch(/^CONNTRACK CRITICAL - /);
    const quiet = check(CRITICAL_COUNT);
    expect([quiet.stdout, quiet.code], describeRun(quiet)).toEqual(['', 2]);
  });

  it.each([
    [['--repeat', '1h'], /--repeat works with --changes-only/],
    [['--changes-only', '--format', 'json'], /--changes-only is for text/],
    [['--changes-only', '--repeat', '0s'], /is not a duration/],
  ])('refuses %j with a usage error (UNKNOWN)', (args, message) => {
    const r = runBundle(['--no-state', '--kernel-log', 'none', ...args]);
    expect(r.code).toBe(3);
    expect(r.status).toMatch(message);
  });
});
