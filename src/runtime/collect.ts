import { checkPacketLoss, SAVED_COUNTERS } from '../checks/packet-loss';
import { checkTable } from '../checks/table-usage';
import type { Result } from '../nagios/result';
import { State } from '../nagios/state';
import { probeCounters } from '../probes/counters';
import type { HostPaths } from '../probes/host-paths';
import { probeIdentity } from '../probes/identity';
import { scanKernelLog } from '../probes/kernel-log';
import { probePrivileges } from '../probes/privileges';
import { probeTable } from '../probes/table';
import { chooseBaseline, nextState } from '../state/baseline';
import { defaultStatePath, loadState, saveState } from '../state/state-file';
import type { Options } from './options';

/** Each child process gets at most this share of the whole run's time. */
const COMMAND_SHARE = 0.8;

/**
 * The composition root: runs the probes the options call for, hands their
 * measurements to the checks, and keeps the state for the next run. Nothing
 * here parses or judges.
 */
export async function collect(options: Options, signal: AbortSignal): Promise<Result[]> {
  const host: HostPaths = { procRoot: options.procRoot, sysRoot: options.sysRoot };
  const [table, privileges, identity] = await Promise.all([probeTable(host), probePrivileges(host), probeIdentity(host)]);
  const tableResult = checkTable(table, options);
  // Without conntrack there are no counters to read and no drops to find.
  if (table.count.status === 'missing' && table.module === 'absent') return [tableResult];

  const statePath = options.stateFile === false ? undefined : (options.stateFile ?? defaultStatePath(privileges.uid, identity.netns, options.procRoot));
  const loaded = statePath ? await loadState(statePath, privileges.uid) : undefined;
  const baseline = chooseBaseline(loaded, identity);

  const timeoutMs = options.timeoutSeconds * 1000 * COMMAND_SHARE;
  const [counters, log] = await Promise.all([
    probeCounters(host, { privileges, sudo: options.sudo, signal, timeoutMs }),
    scanKernelLog({
      choice: options.kernelLog,
      previous: baseline.state ? baseline.log : undefined,
      windowSeconds: options.logWindowSeconds,
      identity,
      privileges,
      sudo: options.sudo,
      signal,
      timeoutMs,
    }),
  ]);

  const results = [
    tableResult,
    ...checkPacketLoss(
      counters,
      log,
      baseline,
      {
        drop: { warning: options.dropWarning, critical: options.dropCritical },
        earlyDrop: { warning: options.earlyDropWarning, critical: options.earlyDropCritical },
        insertFailed: { warning: options.insertFailedWarning, critical: options.insertFailedCritical },
        logDrops: { warning: options.logDropsWarning, critical: options.logDropsCritical },
        logWindowSeconds: options.logWindowSeconds,
      },
      identity.nowMs,
    ),
  ];

  const stateNotes = [...baseline.notes];
  if (statePath) {
    const next = nextState(
      baseline,
      identity,
      counters.status === 'ok' ? pick(counters.stats.perCpu, SAVED_COUNTERS) : undefined,
      table.count.status === 'ok' ? table.count.value : undefined,
      log.status === 'ok' ? log.position : undefined,
    );
    const saved = await saveState(statePath, next, privileges.uid);
    if (saved.status === 'failed') stateNotes.push(`${saved.reason}; the next check cannot compare with this one`);
  }
  if (stateNotes.length) results.push({ check: 'state', state: State.OK, summary: '', details: [], notes: stateNotes, perfdata: [] });
  return results;
}

/** Only the counters that are compared are kept: a 4096-CPU host would otherwise write 70,000 numbers a run. */
function pick(perCpu: Record<string, number[]>, names: readonly string[]): Record<string, number[]> {
  const kept: Record<string, number[]> = {};
  for (const name of names) if (perCpu[name]) kept[name] = perCpu[name];
  return kept;
}
