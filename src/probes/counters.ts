import { parseConntrackStatistics, parseProcStat, type ConntrackStats } from '../parse/conntrack-stat';
import { CONNTRACK_STATS } from './commands';
import { readSmallFile } from './file-read';
import { procPath, type HostPaths } from './host-paths';
import type { Privileges } from './privileges';
import { runCommand } from './run-command';

export type CountersMeasurement =
  | { readonly status: 'ok'; readonly source: string; readonly stats: ConntrackStats }
  /** No source could give counters; each reason says why and what would help. */
  | { readonly status: 'unavailable'; readonly reasons: string[] }
  | { readonly status: 'error'; readonly source: string; readonly reason: string };

/** New kernels, then the IPv4 copy that 2.6-era kernels also kept. */
export const STAT_FILES = ['net/stat/nf_conntrack', 'net/stat/ip_conntrack'];

/** A row is ~150 bytes; 4096 possible CPUs stay far below this. */
const MAX_STAT_BYTES = 8 * 1024 * 1024;

export interface CounterRequest {
  readonly privileges: Privileges;
  readonly sudo: boolean;
  readonly signal: AbortSignal;
  /** When every program it starts must be gone (ms since the epoch). */
  readonly deadlineMs: number;
}

export async function probeCounters(host: HostPaths, request: CounterRequest): Promise<CountersMeasurement> {
  const missing: string[] = [];
  for (const relative of STAT_FILES) {
    const path = procPath(host, relative);
    const read = await readSmallFile(path, MAX_STAT_BYTES);
    if (read.status === 'missing') {
      missing.push(path);
      continue;
    }
    if (read.status === 'denied') return { status: 'error', source: path, reason: `cannot read ${path}: permission denied` };
    if (read.status === 'error') return { status: 'error', source: path, reason: `cannot read ${path}: ${read.message}` };
    const parsed = parseProcStat(read.text);
    return parsed.ok
      ? { status: 'ok', source: path, stats: parsed.stats }
      : { status: 'error', source: path, reason: `unexpected content in ${path}: ${parsed.reason}` };
  }

  // Kernels built without CONFIG_NF_CONNTRACK_PROCFS (no longer on by default
  // since 6.0) have no stat file: netlink is the only other way, and needs
  // CAP_NET_ADMIN.
  const reasons = [`${missing[0]} is missing (kernel built without CONFIG_NF_CONNTRACK_PROCFS)`];
  const { privileges, sudo } = request;
  // Netlink answers for the namespace this process runs in, whatever --proc
  // names: with another tree the numbers would belong to another host.
  if (host.procRoot !== '/proc') {
    reasons.push(`'conntrack -S' is not used with --proc ${host.procRoot}: it would report this host's counters`);
    return { status: 'unavailable', reasons };
  }
  if (!privileges.netAdmin && !sudo) {
    reasons.push(`'conntrack -S' needs CAP_NET_ADMIN: run as root or use --sudo with the sudoers line from the README`);
    return { status: 'unavailable', reasons };
  }
  const outcome = await runCommand(CONNTRACK_STATS, {
    signal: request.signal,
    deadlineMs: request.deadlineMs,
    sudo: !privileges.netAdmin && sudo,
    maxBytes: MAX_STAT_BYTES,
  });
  if (outcome.status !== 'ok') {
    reasons.push(
      `${outcome.label}: ${outcome.reason ?? outcome.status}${outcome.status === 'not-installed' ? ' (install the conntrack package)' : ''}`,
    );
    return { status: 'unavailable', reasons };
  }
  const parsed = parseConntrackStatistics(outcome.stdout);
  return parsed.ok
    ? { status: 'ok', source: outcome.label, stats: parsed.stats }
    : { status: 'error', source: outcome.label, reason: `unexpected output from ${outcome.label}: ${parsed.reason}` };
}
