import { describe, expect, it } from 'vitest';
import { adviseBreakdown, checkBreakdown } from '../../src/checks/breakdown';
import { formatPerfdata } from '../../src/nagios/perfdata';
import { State } from '../../src/nagios/state';
import type { TallySummary } from '../../src/parse/entry-tally';
import type { BreakdownMeasurement } from '../../src/probes/breakdown';

const summary = (over: Partial<TallySummary>): TallySummary => ({
  entries: 1000,
  skipped: 0,
  byProtocol: { tcp: 800, udp: 200 },
  tcpStates: { TIME_WAIT: 700, ESTABLISHED: 100 },
  unreplied: 150,
  assured: 300,
  offloaded: 0,
  unrepliedByProtocol: { udp: 150 },
  topPorts: [
    { protocol: 'tcp', port: 6379, count: 650 },
    { protocol: 'udp', port: 53, count: 200 },
  ],
  topDestinations: [{ address: '10.0.0.5', count: 660, error: 0 }],
  truncated: false,
  ...over,
});
const ok = (s: TallySummary): Extract<BreakdownMeasurement, { status: 'ok' }> => ({
  status: 'ok',
  source: '/proc/net/nf_conntrack',
  summary: s,
  elapsedMs: 1234,
});

describe('checkBreakdown', () => {
  it('says what fills the table, in counts and shares', () => {
    const r = checkBreakdown(ok(summary({})));
    expect(r.state).toBe(State.OK);
    expect(r.details).toEqual([
      'what fills the table (1000 entries from /proc/net/nf_conntrack): tcp 800 (80%: TIME_WAIT 700 (70%), ESTABLISHED 100 (10%)), udp 200 (20%: [UNREPLIED] 150 (15%))',
      'flags: 150 [UNREPLIED] (15%), 300 [ASSURED]',
      'top destination ports: tcp/6379 650 (65%), udp/53 200 (20%)',
      'top destinations: 10.0.0.5 660',
    ]);
    expect(r.perfdata.map(formatPerfdata)).toEqual(['unreplied=150']);
  });

  it('seed 003: TIME_WAIT to one Redis: pooling and a shorter timeout; NOTRACK for the dominant port', () => {
    const advice = adviseBreakdown(ok(summary({})));
    expect(advice[0]).toBe(
      'advice: 70% of the table is TIME_WAIT: many short connections (most to 10.0.0.5); reuse connections (a pool) where you can, and halve how long they stay:',
    );
    expect(advice).toContain('  sysctl -w net.netfilter.nf_conntrack_tcp_timeout_time_wait=60');
    expect(advice).toContain(
      '  as the server: iptables -t raw -A PREROUTING -p tcp --dport 6379 -j NOTRACK; iptables -t raw -A OUTPUT -p tcp --sport 6379 -j NOTRACK',
    );
  });

  it('a count of the approximate top-N reads as the upper bound it is', () => {
    const r = checkBreakdown(
      ok(
        summary({
          topDestinations: [
            { address: '10.0.0.5', count: 660, error: 0 },
            { address: '10.0.0.9', count: 3, error: 2 },
          ],
        }),
      ),
    );
    expect(r.details.at(-1)).toBe('top destinations: 10.0.0.5 660, 10.0.0.9 at most 3');
  });

  it('advises only a table under pressure; otherwise says there is nothing to change', () => {
    const m = ok(summary({}));
    expect(checkBreakdown(m, true).advice).toEqual(adviseBreakdown(m));
    expect(checkBreakdown(m, false).advice).toEqual(['nothing to change: the table is below its warning threshold and lost no packets']);
  });

  it('gives no advice when nothing dominates', () => {
    expect(
      adviseBreakdown(
        ok(summary({ tcpStates: { TIME_WAIT: 500, ESTABLISHED: 300 }, topPorts: [{ protocol: 'tcp', port: 443, count: 299 }] })),
      ),
    ).toEqual([]);
  });

  it('at the boundaries: TIME_WAIT above half, a port at 30%', () => {
    expect(adviseBreakdown(ok(summary({ tcpStates: { TIME_WAIT: 501 }, topPorts: [] })))[0]).toMatch(/TIME_WAIT/);
    expect(adviseBreakdown(ok(summary({ tcpStates: { TIME_WAIT: 500 }, topPorts: [] })))).toEqual([]);
    expect(adviseBreakdown(ok(summary({ tcpStates: {}, topPorts: [{ protocol: 'udp', port: 53, count: 300 }] })))[0]).toMatch(
      /30% of the table is udp\/53/,
    );
    expect(adviseBreakdown(ok(summary({ tcpStates: {}, topPorts: [{ protocol: 'icmp', port: 0, count: 900 }] })))).toEqual([]);
  });

  it('says when the count is partial', () => {
    const r = checkBreakdown(ok(summary({ truncated: true })));
    expect(r.details[0]).toContain('partial: stopped after 1.2s');
    expect(r.notes).toEqual(['--breakdown stopped at its deadline after 1000 entries: the counts are partial']);
  });

  it('says why the entries could not be read, without changing the state', () => {
    const r = checkBreakdown({ status: 'unavailable', reasons: ['/proc/net/nf_conntrack is readable by root only'] });
    expect(r.state).toBe(State.OK);
    expect(r.notes).toEqual(['--breakdown: the entries could not be read: /proc/net/nf_conntrack is readable by root only']);
  });
});
