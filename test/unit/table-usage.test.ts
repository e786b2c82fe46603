import { describe, expect, it } from 'vitest';
import { checkTable, type TableCheckOptions } from '../../src/checks/table-usage';
import { parseRange } from '../../src/nagios/range';
import { State } from '../../src/nagios/state';
import { formatPerfdata } from '../../src/nagios/perfdata';
import type { TableMeasurement } from '../../src/probes/table';
import type { SysctlReading } from '../../src/probes/sysctl';

const ok = (path: string, value: number): SysctlReading => ({ status: 'ok', path, value });
const COUNT = '/proc/sys/net/netfilter/nf_conntrack_count';
const MAX = '/proc/sys/net/netfilter/nf_conntrack_max';
const BUCKETS = '/proc/sys/net/netfilter/nf_conntrack_buckets';

function table(count: number, max: number, buckets = max): TableMeasurement {
  return {
    count: ok(COUNT, count),
    max: ok(MAX, max),
    buckets: ok(BUCKETS, buckets),
    module: 'builtin',
    moduleName: 'nf_conntrack',
    kernelRelease: '6.18.44',
  };
}

const defaults: TableCheckOptions = { warning: parseRange('80%'), critical: parseRange('90%'), notLoaded: State.OK };

describe('checkTable: usage against thresholds', () => {
  it('gives the issue example line exactly', () => {
    const r = checkTable(table(32245, 262144), defaults);
    expect(r.state).toBe(State.OK);
    expect(r.summary).toBe('12.3% of table used (32245 of 262144 entries)');
    expect(r.perfdata.map(formatPerfdata).join(' ')).toBe('entries=32245;209715;235929;0;262144 usage=12.3%;80;90;0;100');
  });

  it.each([
    [209715, State.OK],
    [209716, State.WARNING],
    [235929, State.WARNING],
    [235930, State.CRITICAL],
    [262144, State.CRITICAL],
    [0, State.OK],
  ])('%d of 262144 with 80%/90% -> %d', (count, state) => {
    expect(checkTable(table(count, 262144), defaults).state).toBe(state);
  });

  it.each([
    [8, State.OK, '80.0% of table used (8 of 10 entries)'],
    [9, State.WARNING, '90.0% of table used (9 of 10 entries)'],
    [10, State.CRITICAL, '100.0% of table used (10 of 10 entries)'],
  ])('small table: %d of 10', (count, state, summary) => {
    const r = checkTable(table(count, 10), defaults);
    expect(r.state).toBe(state);
    expect(r.summary).toBe(summary);
  });

  it('takes thresholds in entries and converts them to percent for usage', () => {
    const r = checkTable(table(200001, 262144), { ...defaults, warning: parseRange('200000'), critical: parseRange('250000') });
    expect(r.state).toBe(State.WARNING);
    expect(r.perfdata.map(formatPerfdata).join(' ')).toBe('entries=200001;200000;250000;0;262144 usage=76.2%;76.293945;95.367432;0;100');
  });

  it('passes ranges that are not plain numbers through as ranges', () => {
    const r = checkTable(table(140000, 262144), { ...defaults, warning: parseRange('@50:60%'), critical: parseRange('10%:') });
    expect(r.state).toBe(State.WARNING);
    expect(r.perfdata.map(formatPerfdata)[0]).toBe('entries=140000;@131072:157286;26215:;0;262144');
    expect(r.perfdata.map(formatPerfdata)[1]).toBe('usage=53.4%;@50:60;10:;0;100');
  });

  it('alerts on a lower bound (table suspiciously empty)', () => {
    expect(checkTable(table(5, 262144), { notLoaded: State.OK, critical: parseRange('10:') }).state).toBe(State.CRITICAL);
    expect(checkTable(table(10, 262144), { notLoaded: State.OK, critical: parseRange('10:') }).state).toBe(State.OK);
  });

  it('explains thresholds at -v (sizing is its own check)', () => {
    const r = checkTable(table(150000, 262144, 65536), defaults);
    expect(r.details).toEqual([
      'table: 150000 of 262144 entries used (57.2%), 112144 free',
      'warning above 209715 entries (above 80%); critical above 235929 entries (above 90%)',
      'nf_conntrack: built into the kernel (kernel 6.18.44)',
    ]);
  });
});

describe('checkTable: when the numbers cannot be had', () => {
  const missing: SysctlReading = { status: 'missing', path: COUNT, tried: [COUNT, '/proc/sys/net/ipv4/netfilter/ip_conntrack_count'] };

  it('reports conntrack absent as the chosen state', () => {
    const m: TableMeasurement = { ...table(0, 0), count: missing, module: 'absent', moduleName: undefined };
    for (const s of [State.OK, State.WARNING, State.CRITICAL, State.UNKNOWN]) {
      const r = checkTable(m, { ...defaults, notLoaded: s });
      expect(r.state).toBe(s);
      expect(r.summary).toBe('connection tracking is not active (nf_conntrack not loaded)');
      expect(r.perfdata).toEqual([]);
    }
  });

  it('does not call built-in conntrack absent', () => {
    const r = checkTable({ ...table(0, 0), count: missing }, defaults);
    expect(r.state).toBe(State.UNKNOWN);
    expect(r.summary).toContain('nf_conntrack is built into the kernel but');
    expect(r.summary).toContain('is --proc this host');
  });

  it('names the unreadable file', () => {
    const r = checkTable({ ...table(0, 0), count: { status: 'denied', path: COUNT } }, defaults);
    expect(r.state).toBe(State.UNKNOWN);
    expect(r.summary).toBe(
      `cannot read ${COUNT}: permission denied (it is normally world-readable; check the mount options of /proc and any security module profile)`,
    );
  });

  it('names the file with garbage in it', () => {
    const r = checkTable({ ...table(0, 10), count: { status: 'invalid', path: COUNT, reason: "'abc' is not a whole number" } }, defaults);
    expect(r.state).toBe(State.UNKNOWN);
    expect(r.summary).toBe(`unexpected content in ${COUNT}: 'abc' is not a whole number`);
  });

  it('reports a missing max', () => {
    const r = checkTable({ ...table(5, 0), max: { status: 'missing', path: MAX, tried: [MAX] } }, defaults);
    expect(r.state).toBe(State.UNKNOWN);
    expect(r.summary).toBe(`nf_conntrack_max not found (looked for ${MAX})`);
  });

  it('treats max 0 as no limit, without dividing by it', () => {
    const r = checkTable(table(5000, 0, 0), defaults);
    expect(r.state).toBe(State.OK);
    expect(r.summary).toBe('5000 entries (no table limit: nf_conntrack_max is 0)');
    expect(r.notes?.[0]).toContain('percentage thresholds do not apply');
    expect(r.perfdata.map(formatPerfdata)).toEqual(['entries=5000;;;0']);
    const e = checkTable(table(5000, 0, 0), { ...defaults, warning: parseRange('4000') });
    expect(e.state).toBe(State.WARNING);
    expect(e.perfdata.map(formatPerfdata)).toEqual(['entries=5000;4000;;0']);
  });
});
