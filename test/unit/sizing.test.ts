import { describe, expect, it } from 'vitest';
import { adviseSize, checkSizing, defaultRatio, memoryBoundMax, tableBytes, type SizingInput } from '../../src/checks/sizing';
import { parseRange } from '../../src/nagios/range';
import { State } from '../../src/nagios/state';
import { parseMemTotal } from '../../src/probes/sizing';

const GiB = 1024 ** 3;
const input = (over: Partial<SizingInput>): SizingInput => ({
  count: 1000,
  max: 262144,
  buckets: 262144,
  kernel: { major: 6, minor: 8 },
  sizing: { memTotalBytes: 24 * GiB, timeouts: { timeWait: 120, established: 432000, udp: 30, udpStream: 120 } },
  archBits: 64,
  pressing: false,
  ...over,
});

describe('the kernel formulas', () => {
  it('default ratio by era: 1 since 5.15, 4 before', () => {
    expect(defaultRatio({ major: 5, minor: 15 })).toBe(1);
    expect(defaultRatio({ major: 6, minor: 18 })).toBe(1);
    expect(defaultRatio({ major: 5, minor: 14 })).toBe(4);
    expect(defaultRatio({ major: 2, minor: 6 })).toBe(4);
    expect(defaultRatio(undefined)).toBe(4);
  });
  it("seed 002's memory rule: RAM / 16384 / (bits / 32)", () => {
    expect(memoryBoundMax(64 * GiB, 64)).toBe(2097152);
    expect(memoryBoundMax(24 * GiB, 64)).toBe(786432);
    expect(memoryBoundMax(4 * GiB, 32)).toBe(262144);
  });
  it('memory: 320 B an entry and 8 B a bucket', () => {
    expect(tableBytes(262144, 65536)).toBe(262144 * 320 + 65536 * 8);
  });
  it('reads MemTotal', () => {
    expect(parseMemTotal('MemTotal:       24683720 kB\nMemFree:  1 kB\n')).toBe(24683720 * 1024);
    expect(parseMemTotal('nothing')).toBeUndefined();
  });
});

describe('checkSizing', () => {
  it('explains the hash table, memory and timeouts', () => {
    const r = checkSizing(input({ count: 150000, max: 262144, buckets: 65536, kernel: { major: 4, minor: 15 } }));
    expect(r.state).toBe(State.OK);
    expect(r.details).toEqual([
      "hash table: 65536 buckets for 262144 entries: max/buckets 4 (this kernel's default is 4); average chain 4.58 now, 8 when full",
      'memory: up to 81 MiB when full (262144 x 320 B + 65536 x 8 B) of 24576 MiB RAM',
      'timeouts: TIME_WAIT 2m, established 5d, UDP 30s, UDP stream 2m',
    ]);
    expect(r.advice).toEqual([]);
  });

  it('seed 002: 12262144 entries on 16384 buckets warns with --buckets-warning', () => {
    const r = checkSizing(input({ count: 6_000_000, max: 12_262_144, buckets: 16384, bucketsWarning: parseRange('8') }));
    expect(r.state).toBe(State.WARNING);
    expect(r.summary).toBe('nf_conntrack_max is 748.4 x nf_conntrack_buckets (long hash chains; --buckets-warning 8)');
    expect(r.details[0]).toContain('average chain 732.42 now, 1496.84 when full');
  });

  it.each([
    [8, State.OK],
    [8.0001, State.WARNING],
  ])('--buckets-warning 8 at ratio %d', (ratio, state) => {
    expect(checkSizing(input({ max: ratio * 10000, buckets: 10000, bucketsWarning: parseRange('8') })).state).toBe(state);
  });
});

describe('adviseSize', () => {
  it('doubles the limit from the peak, with buckets at the era ratio, and the file to keep it', () => {
    const lines = adviseSize(input({ count: 250000, peak: 262144, pressing: true }));
    expect(lines).toEqual([
      'advice: raise the limit (peak 262144, now 262144); the table may then use up to 164 MiB:',
      '  sysctl -w net.netfilter.nf_conntrack_max=524288',
      '  sysctl -w net.netfilter.nf_conntrack_buckets=524288',
      '  and to keep it across reboots, in /etc/sysctl.d/90-conntrack.conf:',
      '    net.netfilter.nf_conntrack_max = 524288',
      '    net.netfilter.nf_conntrack_buckets = 524288',
      '  (where nf_conntrack is a module loaded after sysctl runs, also: options nf_conntrack hashsize=524288 in /etc/modprobe.d/conntrack.conf)',
    ]);
  });

  it('uses a quarter as many buckets on older kernels, and the module parameter before 4.7', () => {
    const lines = adviseSize(
      input({
        count: 60000,
        max: 65536,
        buckets: 16384,
        peak: 65536,
        kernel: { major: 2, minor: 6 },
        sizing: { memTotalBytes: 8 * GiB, timeouts: {} },
      }),
    );
    expect(lines[1]).toBe('  sysctl -w net.netfilter.nf_conntrack_max=131072');
    expect(lines[2]).toBe('  echo 32768 > /sys/module/nf_conntrack/parameters/hashsize');
  });

  it("stops at what the host's memory carries, and says to track less", () => {
    const lines = adviseSize(input({ count: 780000, max: 786432, peak: 786432 }));
    expect(lines).toEqual([
      'advice: 24576 MiB of RAM carries a table of about 786432 entries (RAM / 16384 / 2); beyond that, track less (NOTRACK, shorter timeouts) rather than more',
    ]);
  });

  it('is given only when the table is under pressure', () => {
    expect(checkSizing(input({ pressing: false })).advice).toEqual([]);
    expect(checkSizing(input({ pressing: true, count: 250000 })).advice?.[0]).toMatch(/^advice: raise the limit/);
  });
});
