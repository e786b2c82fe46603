import { parseProcStat, type ConntrackStats } from '../parse/conntrack-stat';
import { NETNS_NAME, netnsStat } from './commands';
import { readSmallFile } from './file-read';
import { procPath, type HostPaths } from './host-paths';
import type { NamespaceInfo } from './namespaces';
import type { Privileges } from './privileges';
import { findProgram, runCommand } from './run-command';

export type NamespaceStats =
  | { readonly status: 'ok'; readonly source: string; readonly stats: ConntrackStats }
  | { readonly status: 'unread'; readonly reason: string };

/** One namespace and what could be read in it. */
export interface NamespaceEntry {
  readonly info: NamespaceInfo;
  readonly stats: NamespaceStats;
}

export interface NamespaceStatsRequest {
  readonly privileges: Privileges;
  readonly signal: AbortSignal;
  /** When every program it starts must be gone (ms since the epoch). */
  readonly deadlineMs: number;
  /** Processes whose namespace could not be seen: a namespace may have processes that were not found. */
  readonly hiddenProcesses?: number;
}

const MAX_STAT_BYTES = 8 * 1024 * 1024;

/**
 * A namespace's count and counters through one of its processes
 * (PROC/PID/net/stat/nf_conntrack is readable by anyone, for any process): no
 * setns(), no child process. Only a named namespace that no process is in
 * needs `ip netns exec`, and that needs root.
 */
export async function readNamespaceStats(host: HostPaths, ns: NamespaceInfo, request: NamespaceStatsRequest): Promise<NamespaceStats> {
  if (ns.oldestPid !== undefined) {
    const path = procPath(host, `${ns.oldestPid}/net/stat/nf_conntrack`);
    const read = await readSmallFile(path, MAX_STAT_BYTES);
    if (read.status === 'ok') {
      const parsed = parseProcStat(read.text);
      return parsed.ok
        ? { status: 'ok', source: path, stats: parsed.stats }
        : { status: 'unread', reason: `unexpected content in ${path}: ${parsed.reason}` };
    }
    // The process may have gone since the scan; a named namespace can still be read another way.
    if (ns.names.length === 0)
      return { status: 'unread', reason: read.status === 'missing' ? `${path} is missing` : `cannot read ${path}` };
  }
  const name = ns.names.find((n) => NETNS_NAME.test(n));
  if (!name) return { status: 'unread', reason: 'no process in it and no usable ip netns name' };
  if (host.procRoot !== '/proc')
    return { status: 'unread', reason: `no process in it, and ip netns exec is not used with --proc ${host.procRoot}` };
  if (!request.privileges.root) {
    const seen = request.hiddenProcesses
      ? `no process of it could be seen (${request.hiddenProcesses} processes are hidden from uid ${request.privileges.uid})`
      : 'no process in it';
    return { status: 'unread', reason: `${seen}: reading it by name needs 'ip netns exec ${name}', which needs root` };
  }
  const cat = await findProgram('cat');
  if (!cat) return { status: 'unread', reason: 'cat is not installed' };
  const outcome = await runCommand(netnsStat(name, cat), {
    signal: request.signal,
    deadlineMs: request.deadlineMs,
    maxBytes: MAX_STAT_BYTES,
  });
  if (outcome.status !== 'ok') return { status: 'unread', reason: `${outcome.label}: ${outcome.reason ?? outcome.status}` };
  const parsed = parseProcStat(outcome.stdout);
  return parsed.ok
    ? { status: 'ok', source: outcome.label, stats: parsed.stats }
    : { status: 'unread', reason: `unexpected output from ${outcome.label}: ${parsed.reason}` };
}
