import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBundle } from '../support/bundle';
import { copyFixture, rootArgs } from '../support/fixtures';

describe('advice computed from the host (fixture trees)', () => {
  it('a 64 GiB 6.x host with a full table: double the limit, buckets at ratio 1, and the file to keep it', () => {
    const copy = copyFixture('linux-6.8');
    try {
      copy.write('proc/sys/net/netfilter/nf_conntrack_count', '250000\n');
      const r = runBundle([...rootArgs(copy.dir), '-v']);
      expect(r.code).toBe(2);
      const at = r.lines.indexOf('advice: raise the limit (peak 250000, now 262144); the table may then use up to 164 MiB:');
      expect(at).toBeGreaterThan(0);
      expect(r.lines.slice(at + 1, at + 6)).toEqual([
        '  sysctl -w net.netfilter.nf_conntrack_max=524288',
        '  sysctl -w net.netfilter.nf_conntrack_buckets=524288',
        '  and to keep it across reboots, in /etc/sysctl.d/90-conntrack.conf:',
        '    net.netfilter.nf_conntrack_max = 524288',
        '    net.netfilter.nf_conntrack_buckets = 524288',
      ]);
      expect(r.lines).toContain('memory: up to 82 MiB when full (262144 x 320 B + 262144 x 8 B) of 64299 MiB RAM');
      expect(r.lines).toContain('timeouts: TIME_WAIT 2m, established 5d, UDP 30s, UDP stream 2m');
    } finally {
      copy.dispose();
    }
  });

  it('an 8 GiB 4.x host at its memory bound, its table at 76%: track less rather than more', () => {
    const copy = copyFixture('linux-4.15');
    copy.write('proc/sys/net/netfilter/nf_conntrack_count', '200000\n');
    const r = runBundle([...rootArgs(copy.dir), '-v']);
    copy.dispose();
    expect(r.code).toBe(0);
    expect(r.lines).toContain(
      'advice: 7962 MiB of RAM carries a table of about 254784 entries (RAM / 16384 / 2); beyond that, track less (NOTRACK, shorter timeouts) rather than more',
    );
    expect(r.lines.some((l) => l.includes('sysctl -w net.netfilter.nf_conntrack_max='))).toBe(false);
  });

  it('gives no advice for a low threshold in entries on a table far from full', () => {
    const r = runBundle([...rootArgs(copyFixtureDir('linux-6.8')), '-v', '-w', '2', '-c', '5']);
    expect(r.code).toBe(2);
    expect(r.lines.some((l) => l.startsWith('advice:'))).toBe(false);
  });

  it('gives no advice when the table is far from full', () => {
    const r = runBundle([...rootArgs(copyFixtureDir('linux-6.8')), '-v']);
    expect(r.code).toBe(0);
    expect(r.lines.some((l) => l.startsWith('advice:'))).toBe(false);
  });

  it('--buckets-warning alerts on a hash table too small for the limit (seed 002)', () => {
    const copy = copyFixture('linux-4.15');
    try {
      copy.write('proc/sys/net/netfilter/nf_conntrack_max', '12262144\n');
      copy.write('proc/sys/net/netfilter/nf_conntrack_buckets', '16384\n');
      const r = runBundle([...rootArgs(copy.dir), '--buckets-warning', '8']);
      expect(r.status).toMatch(
        /^CONNTRACK WARNING - nf_conntrack_max is 748\.4 x nf_conntrack_buckets \(long hash chains; --buckets-warning 8\); 1\.2% of table used/,
      );
      expect(r.code).toBe(1);
      expect(runBundle([...rootArgs(copy.dir), '--buckets-warning', '800']).code).toBe(0);
    } finally {
      copy.dispose();
    }
  });
});

/** The committed fixture itself: tests that only read it need no copy. */
function copyFixtureDir(name: string): string {
  return join(__dirname, '../fixtures', name);
}

describe('growth forecast from the kept history', () => {
  let tree: ReturnType<typeof copyFixture>;
  let work: string;
  const BOOT = '0b7c1d7e-6a34-4d36-9d8c-5e0c2f1a9b11';
  beforeEach(() => {
    tree = copyFixture('loss-6.18');
    tree.write('proc/sys/net/netfilter/nf_conntrack_max', '10000\n');
    tree.write('proc/sys/net/netfilter/nf_conntrack_count', '6000\n');
    work = mkdtempSync(join(tmpdir(), 'cc-forecast-'));
    mkdirSync(join(work, 's'), { mode: 0o700 });
  });
  afterEach(() => {
    tree.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  /** A state file as an earlier run would have left it: one sample a minute, `perMinute` apart. */
  function history(perMinute: number, samples: number): string {
    const now = Date.now();
    const h = Array.from({ length: samples }, (_, i) => [now - (samples - i) * 60_000, 6000 - perMinute * (samples - i)]);
    const state = {
      version: 1,
      bootId: BOOT,
      savedAtMs: now - 60_000,
      namespaces: { '4026531840': { perCpu: { drop: [0, 0] }, count: h.at(-1)![1], timeMs: now - 60_000, history: h } },
    };
    const path = join(work, 's', 'state.json');
    writeFileSync(path, JSON.stringify(state), { mode: 0o600 });
    return path;
  }
  const run = (state: string, ...extra: string[]) =>
    runBundle(['--proc', join(tree.dir, 'proc'), '--sys', join(tree.dir, 'sys'), '--kernel-log', 'none', '--state-file', state, ...extra]);

  it('reports growth as perfdata and the time until full in the long output', () => {
    const r = run(history(100, 10), '-v');
    expect(r.code).toBe(0);
    expect(r.status).toMatch(/ growth=100( |$)/);
    expect(
      r.lines.some((l) =>
        /^growth: \+100 entries\/min over the last 11 samples \(6000 of 10000\), full in about 40m at this rate$/.test(l),
      ),
    ).toBe(true);
  });

  it.each([
    ['--fill-critical', '45m', 2, /^CONNTRACK CRITICAL - table full in about 40m at the current growth \(\+100 entries\/min\); /],
    ['--fill-warning', '45m', 1, /^CONNTRACK WARNING - table full in about 40m at the current growth \(\+100 entries\/min\); /],
    ['--fill-critical', '35m', 0, /^CONNTRACK OK - /],
  ])('%s %s', (option, duration, code, status) => {
    const r = run(history(100, 10), option, duration);
    expect(r.status).toMatch(status);
    expect(r.code).toBe(code);
  });

  it('says shrinking and raises nothing when the table empties', () => {
    const r = run(history(-50, 10), '-v', '--fill-critical', '1d');
    expect(r.code).toBe(0);
    expect(r.status).toMatch(/ growth=-50( |$)/);
    expect(r.lines.some((l) => l.startsWith('growth: -50 entries/min') && l.endsWith('shrinking'))).toBe(true);
  });
});
