import type { Measurements } from '../checks/measurements';
import { probeBreakdown } from '../probes/breakdown';
import { probeCounters } from '../probes/counters';
import type { HostPaths } from '../probes/host-paths';
import { probeIdentity } from '../probes/identity';
import { scanKernelLog } from '../probes/kernel-log';
import { probeModules } from '../probes/modules';
import { readNamespaceStats, type NamespaceEntry } from '../probes/namespace-stats';
import { discoverNamespaces } from '../probes/namespaces';
import { probePrivileges } from '../probes/privileges';
import { probeRules } from '../probes/rules';
import { probeSizing } from '../probes/sizing';
import { probeTable, type TableMeasurement } from '../probes/table';
import { chooseBaseline } from '../state/baseline';
import { defaultStatePath, loadState } from '../state/state-file';
import type { Options } from './options';

/** Pointer size of the machine the plugin runs on: the kernel's sizing rule depends on it. */
const ARCH_BITS = ['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el'].includes(process.arch) ? 64 : 32;

/** The breakdown's share of the run's time: the rest is for the other probes and the output. */
const BREAKDOWN_SHARE = 0.6;

/** Programs must be gone by this share of the run's time, leaving the rest for the output. */
const COMMAND_SHARE = 0.8;

/** What one run measured; only the table when the kernel tracks nothing, for there is nothing else to read. */
export type Measured = { kind: 'measured'; m: Measurements } | { kind: 'no-conntrack'; table: TableMeasurement };

/** Runs the probes the options call for, at once where they can, each within its share of the run's time. */
export async function measure(options: Options, signal: AbortSignal): Promise<Measured> {
  const host: HostPaths = { procRoot: options.procRoot, sysRoot: options.sysRoot, root: options.root };
  const started = Date.now();
  const [table, privileges, identity] = await Promise.all([probeTable(host), probePrivileges(host), probeIdentity(host)]);
  // Without conntrack there are no counters to read and no drops to find.
  if (table.count.status === 'missing' && table.module === 'absent') return { kind: 'no-conntrack', table };

  const statePath = options.noState ? undefined : (options.stateFile ?? defaultStatePath(privileges.uid, identity.netns, options.procRoot));
  const loaded = statePath ? await loadState(statePath, privileges.uid) : undefined;
  const baseline = chooseBaseline(loaded, identity);

  // One deadline for every program, however many run one after another.
  const deadlineMs = started + options.timeoutSeconds * 1000 * COMMAND_SHARE;
  const inventory = options.namespaces === 'all' ? discoverNamespaces(host) : undefined;
  const [counters, log, modules, rules, namespaceEntries, sizing, breakdown] = await Promise.all([
    probeCounters(host, { privileges, sudo: options.sudo, signal, deadlineMs }),
    scanKernelLog({
      choice: options.kernelLog,
      previous: baseline.state ? baseline.log : undefined,
      windowSeconds: options.logWindowSeconds,
      identity,
      privileges,
      sudo: options.sudo,
      signal,
      deadlineMs,
    }),
    probeModules(host),
    probeRules({ procRoot: options.procRoot, privileges, sudo: options.sudo, signal, deadlineMs }),
    Promise.all(
      (inventory?.namespaces ?? [])
        .filter((info) => info.inode !== identity.netns)
        .map(async (info): Promise<NamespaceEntry> => ({
          info,
          stats: await readNamespaceStats(host, info, { privileges, signal, deadlineMs, hiddenProcesses: inventory?.hiddenProcesses }),
        })),
    ),
    probeSizing(host),
    // The breakdown may read a million entries: it stops at its share of the timeout and reports what it counted.
    options.breakdown
      ? probeBreakdown(host, {
          privileges,
          sudo: options.sudo,
          signal,
          deadlineMs: started + options.timeoutSeconds * 1000 * BREAKDOWN_SHARE,
          top: options.top,
        })
      : undefined,
  ]);
  // A message that names a namespace is worth a look at the namespaces there are, even with --namespaces host.
  const seen = inventory ?? (log.status === 'ok' && log.drops.some((d) => d.netns !== undefined) ? discoverNamespaces(host) : undefined);
  return {
    kind: 'measured',
    m: {
      table,
      privileges,
      identity,
      baseline,
      counters,
      log,
      modules,
      rules,
      sizing,
      breakdown,
      inventory,
      namespaceEntries,
      seen,
      stateFile: { path: statePath, loaded },
      archBits: ARCH_BITS,
    },
  };
}
