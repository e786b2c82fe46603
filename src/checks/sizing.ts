import { isAtLeast } from '../parse/kernel-release';
import { plainNumber } from '../nagios/number';
import { formatRange, type Range } from '../nagios/range';
import type { Result } from '../nagios/result';
import { State } from '../nagios/state';
import { evaluate } from '../nagios/thresholds';
import type { SizingMeasurement } from '../probes/sizing';
import { formatDuration } from './duration';
import type { Check } from './measurements';
import { packetsLost } from './packet-loss';

/** Slab object (248-320 B) plus extensions: the upper end, so estimates err on the side of caution. */
export const BYTES_PER_ENTRY = 320;
export const BYTES_PER_BUCKET = 8;

export interface SizingInput {
  readonly count: number;
  readonly max: number;
  readonly buckets?: number;
  readonly kernel?: { major: number; minor: number };
  readonly sizing: SizingMeasurement;
  /** The highest count seen in the kept history. */
  readonly peak?: number;
  readonly archBits: number;
  /** Range on max/buckets, for those who want an alert on long hash chains. */
  readonly bucketsWarning?: Range;
  /** The table is under pressure (a threshold alerts, drops happened, or the peak came close): advise a size. */
  readonly pressing: boolean;
}

/** The kernel's own default max/buckets for its era: 1 since 5.15, 4 before. */
export function defaultRatio(kernel: { major: number; minor: number } | undefined): number {
  return kernel && isAtLeast(kernel, 5, 15) ? 1 : 4;
}

/** The operators' rule of thumb: RAM / 16384 / (arch bits / 32). */
export function memoryBoundMax(memTotalBytes: number, archBits: number): number {
  return Math.floor(memTotalBytes / 16384 / (archBits / 32));
}

export function tableBytes(max: number, buckets: number): number {
  return max * BYTES_PER_ENTRY + buckets * BYTES_PER_BUCKET;
}

/** MiB for a table of any size worth the unit; a small one in KiB rather than "0 MiB". */
function mib(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${plainNumber(Math.round(bytes / 1024 / 1024))} MiB`;
  return bytes >= 1024 ? `${plainNumber(Math.ceil(bytes / 1024))} KiB` : `${bytes} B`;
}

function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}

/** sysctl lines for a bigger table, sized from the peak seen and bounded by this host's memory. */
export function adviseSize(input: SizingInput): string[] {
  const { max, count, kernel, sizing, archBits } = input;
  const ratio = defaultRatio(kernel);
  const peak = Math.max(input.peak ?? 0, count);
  let target = Math.max(max * 2, nextPowerOfTwo(peak * 2));
  const lines: string[] = [];
  if (sizing.memTotalBytes !== undefined) {
    const bound = memoryBoundMax(sizing.memTotalBytes, archBits);
    if (target > bound) {
      lines.push(
        `advice: ${mib(sizing.memTotalBytes)} of RAM carries a table of about ${bound} entries (RAM / 16384 / ${archBits / 32}); beyond that, track less (NOTRACK, shorter timeouts) rather than more`,
      );
      target = Math.max(max, bound);
    }
  }
  if (target <= max) return lines;
  // Never advise fewer buckets than the host has: a bigger table with shorter-lived chains, not longer.
  const buckets = Math.max(1024, input.buckets ?? 0, Math.ceil(target / ratio));
  const runtimeBuckets =
    kernel && !isAtLeast(kernel, 4, 7)
      ? `echo ${buckets} > /sys/module/nf_conntrack/parameters/hashsize`
      : `sysctl -w net.netfilter.nf_conntrack_buckets=${buckets}`;
  lines.push(
    `advice: raise the limit (peak ${peak}, now ${max}); the table may then use up to ${mib(tableBytes(target, buckets))}:`,
    `  sysctl -w net.netfilter.nf_conntrack_max=${target}`,
    `  ${runtimeBuckets}`,
    '  and to keep it across reboots, in /etc/sysctl.d/90-conntrack.conf:',
    `    net.netfilter.nf_conntrack_max = ${target}`,
    `    net.netfilter.nf_conntrack_buckets = ${buckets}`,
    `  (where nf_conntrack is a module loaded after sysctl runs, also: options nf_conntrack hashsize=${buckets} in /etc/modprobe.d/conntrack.conf)`,
  );
  return lines;
}

export function checkSizing(input: SizingInput): Result {
  const { count, max, buckets, sizing } = input;
  const details: string[] = [];
  let state = State.OK;
  let summary = '';
  const ratio = defaultRatio(input.kernel);
  if (buckets !== undefined && buckets > 0) {
    const r = max / buckets;
    details.push(
      `hash table: ${buckets} buckets for ${max} entries: max/buckets ${plainNumber(r, r < 0.01 ? 6 : 2)} (this kernel's default is ${ratio}); average chain ${plainNumber((count * 2) / buckets, 2)} now, ${plainNumber((max * 2) / buckets, 2)} when full`,
    );
    details.push(
      `memory: up to ${mib(tableBytes(max, buckets))} when full (${max} x ${BYTES_PER_ENTRY} B + ${buckets} x ${BYTES_PER_BUCKET} B)${sizing.memTotalBytes ? ` of ${mib(sizing.memTotalBytes)} RAM` : ''}`,
    );
    if (input.bucketsWarning) {
      state = evaluate(r, { warning: input.bucketsWarning });
      if (state !== State.OK)
        summary = `nf_conntrack_max is ${plainNumber(r, 1)} x nf_conntrack_buckets (long hash chains; --buckets-warning ${formatRange(input.bucketsWarning, plainNumber)})`;
    }
  }
  const t = sizing.timeouts;
  const shown = [
    t.timeWait !== undefined ? `TIME_WAIT ${formatDuration(t.timeWait)}` : '',
    t.established !== undefined ? `established ${formatDuration(t.established)}` : '',
    t.udp !== undefined ? `UDP ${formatDuration(t.udp)}` : '',
    t.udpStream !== undefined ? `UDP stream ${formatDuration(t.udpStream)}` : '',
  ].filter(Boolean);
  if (shown.length) details.push(`timeouts: ${shown.join(', ')}`);
  const advice = input.pressing ? adviseSize(input) : [];
  if (state !== State.OK && buckets !== undefined && advice.length === 0) {
    const wanted = Math.ceil(max / ratio);
    advice.push(`advice: sysctl -w net.netfilter.nf_conntrack_buckets=${wanted} (max/${ratio}, this kernel's default ratio)`);
  }
  return {
    check: 'sizing',
    state,
    summary,
    details,
    advice,
    perfdata: [],
    data: {
      max,
      buckets: buckets ?? null,
      ratio: buckets ? max / buckets : null,
      default_ratio: ratio,
      average_chain: buckets ? (count * 2) / buckets : null,
      bytes_when_full: buckets ? tableBytes(max, buckets) : null,
      mem_total_bytes: sizing.memTotalBytes ?? null,
      timeouts: sizing.timeouts,
      peak: input.peak ?? null,
    },
  };
}

/**
 * Whether to advise a bigger table: only when it came close to full (the
 * highest count seen, here or in any namespace, at 70% of max) or packets were
 * lost. A threshold in entries set low on purpose is not a full table.
 */
export function underPressure(peak: number, max: number, packetsLost: boolean): boolean {
  return packetsLost || (max > 0 && peak >= 0.7 * max);
}

export const sizingCheck: Check = (m, options) => {
  if (m.table.count.status !== 'ok' || m.table.max.status !== 'ok' || m.table.max.value <= 0) return [];
  const count = m.table.count.value;
  const max = m.table.max.value;
  const history = m.baseline.state ? (m.baseline.counters?.history ?? []) : [];
  // A table can fill in a namespace while the host's own count is low.
  const namespaces = m.namespaceEntries.map((e) => (e.stats.status === 'ok' ? (e.stats.stats.entries ?? 0) : 0));
  const peak = Math.max(count, ...namespaces, ...history.map(([, c]) => c));
  return [
    checkSizing({
      count,
      max,
      buckets: m.table.buckets.status === 'ok' ? m.table.buckets.value : undefined,
      kernel: m.modules.kernel,
      sizing: m.sizing,
      peak,
      archBits: m.archBits,
      bucketsWarning: options.bucketsWarning,
      pressing: underPressure(peak, max, packetsLost(m, options)),
    }),
  ];
};
