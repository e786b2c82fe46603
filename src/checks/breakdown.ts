import { plainNumber } from '../nagios/number';
import type { Result } from '../nagios/result';
import { State } from '../nagios/state';
import type { BreakdownMeasurement } from '../probes/breakdown';
import type { Check } from './measurements';
import { packetsLost } from './packet-loss';
import { tableCheck } from './table-usage';

const share = (part: number, whole: number) => (whole > 0 ? `${plainNumber(Math.round((part * 1000) / whole) / 10, 1)}%` : '0%');
/** "TIME_WAIT 37 (100%)": the count a person can compare with conntrack -L, and its share. */
const counted = (part: number, whole: number) => `${part} (${share(part, whole)})`;

/** Advice on what fills the table: a shorter TIME_WAIT, and NOTRACK for the one port that dominates. */
export function adviseBreakdown(m: Extract<BreakdownMeasurement, { status: 'ok' }>): string[] {
  const s = m.summary;
  const advice: string[] = [];
  const timeWait = s.tcpStates.TIME_WAIT ?? 0;
  if (s.entries > 0 && timeWait / s.entries > 0.5) {
    const to = s.topDestinations[0];
    advice.push(
      `advice: ${share(timeWait, s.entries)} of the table is TIME_WAIT: many short connections${to ? ` (most to ${to.address})` : ''}; reuse connections (a pool) where you can, and halve how long they stay:`,
      '  sysctl -w net.netfilter.nf_conntrack_tcp_timeout_time_wait=60',
      '  and in /etc/sysctl.d/90-conntrack.conf: net.netfilter.nf_conntrack_tcp_timeout_time_wait = 60',
    );
  }
  const top = s.topPorts[0];
  if (top && s.entries > 0 && top.count / s.entries >= 0.3 && (top.protocol === 'tcp' || top.protocol === 'udp')) {
    const p = `-p ${top.protocol}`;
    advice.push(
      `advice: ${share(top.count, s.entries)} of the table is ${top.protocol}/${top.port}; if that traffic needs no NAT and no stateful rule, exempt it from tracking (raw table):`,
      `  as the server: iptables -t raw -A PREROUTING ${p} --dport ${top.port} -j NOTRACK; iptables -t raw -A OUTPUT ${p} --sport ${top.port} -j NOTRACK`,
      `  as the client: iptables -t raw -A OUTPUT ${p} --dport ${top.port} -j NOTRACK; iptables -t raw -A PREROUTING ${p} --sport ${top.port} -j NOTRACK`,
      '  then let it through stateless rules: untracked packets match neither -m state nor -m conntrack ESTABLISHED',
    );
  }
  return advice;
}

/**
 * `pressing`: the table is above its warning threshold or lost packets. Below
 * that, advice to change timeouts or tracking would fix what is not broken.
 */
export function checkBreakdown(m: BreakdownMeasurement, pressing = true): Result {
  if (m.status !== 'ok') {
    return {
      check: 'breakdown',
      state: State.OK,
      summary: '',
      details: [],
      notes: [`--breakdown: the entries could not be read: ${m.reasons.join('; ')}`],
      perfdata: [],
      data: { unavailable: m.reasons },
    };
  }
  const s = m.summary;
  const protocols = Object.entries(s.byProtocol).sort((a, b) => b[1] - a[1]);
  const states = Object.entries(s.tcpStates)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4);
  const described = protocols
    .map(([proto, n]) => {
      const inner =
        proto === 'tcp' && states.length
          ? `: ${states.map(([st, c]) => `${st} ${counted(c, s.entries)}`).join(', ')}`
          : s.unrepliedByProtocol[proto]
            ? `: [UNREPLIED] ${counted(s.unrepliedByProtocol[proto]!, s.entries)}`
            : '';
      return `${proto} ${n} (${share(n, s.entries)}${inner})`;
    })
    .join(', ');
  const partial = s.truncated ? `, partial: stopped after ${plainNumber(m.elapsedMs / 1000, 1)}s` : '';
  const details = [
    `what fills the table (${s.entries} ${s.entries === 1 ? 'entry' : 'entries'} from ${m.source}${partial}): ${described || 'nothing'}`,
    `flags: ${s.unreplied} [UNREPLIED] (${share(s.unreplied, s.entries)}), ${s.assured} [ASSURED]${s.offloaded ? `, ${s.offloaded} [OFFLOAD]` : ''}`,
  ];
  if (s.topPorts.length)
    details.push(`top destination ports: ${s.topPorts.map((p) => `${p.protocol}/${p.port} ${counted(p.count, s.entries)}`).join(', ')}`);
  if (s.topDestinations.length) {
    // A count with an error is the approximate top-N's upper bound: the true one lies between count - error and count.
    details.push(
      `top destinations: ${s.topDestinations.map((d) => `${d.address} ${d.error ? `at most ${d.count}` : d.count}`).join(', ')}`,
    );
  }
  return {
    check: 'breakdown',
    state: State.OK,
    summary: '',
    details,
    notes: s.truncated
      ? [`--breakdown stopped at its deadline after ${s.entries} ${s.entries === 1 ? 'entry' : 'entries'}: the counts are partial`]
      : [],
    advice: pressing ? adviseBreakdown(m) : ['nothing to change: the table is below its warning threshold and lost no packets'],
    perfdata: [{ label: 'unreplied', value: s.unreplied }],
    data: { source: m.source, elapsed_ms: m.elapsedMs, ...s },
  };
}

/** With --breakdown: what fills the table, and what to change only when it is under pressure. */
export const breakdownCheck: Check = (m, options) => {
  if (!m.breakdown) return [];
  const alerting = tableCheck(m, options).some((r) => r.state === State.WARNING || r.state === State.CRITICAL);
  return [checkBreakdown(m.breakdown, alerting || packetsLost(m, options))];
};
