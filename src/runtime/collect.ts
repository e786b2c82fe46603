import { counterIncrease } from '../checks/counter-delta';
import { checkPacketLoss, describeLog, savedCounters, type PacketLossOptions } from '../checks/packet-loss';
import { checkBreakdown, unrepliedNote, unrepliedToExclude } from '../checks/breakdown';
import { checkForecast, forecast } from '../checks/forecast';
import { assignLogOwners, checkForeignDrops, creationTime, dropEvidence, type Candidate, type LogOwnersInput } from '../checks/log-owner';
import { checkNamespaces, namespaceLabel, type NamespaceEntry } from '../checks/namespaces';
import { checkSizing, underPressure } from '../checks/sizing';
import { checkStaleModules } from '../checks/stale-modules';
import { checkTable } from '../checks/table-usage';
import { decideNotice, type NoticeDecision } from '../nagios/changes';
import { statusSummary } from '../nagios/render';
import type { Result } from '../nagios/result';
import { State, worst } from '../nagios/state';
import { probeBreakdown } from '../probes/breakdown';
import { probeCounters, type CountersMeasurement } from '../probes/counters';
import type { HostPaths } from '../probes/host-paths';
import { probeIdentity, type RunIdentity } from '../probes/identity';
import type { LogScan } from '../probes/kernel-log';
import { probeModules } from '../probes/modules';
import { readNamespaceStats } from '../probes/namespace-stats';
import { discoverNamespaces, type NamespaceInventory } from '../probes/namespaces';
import { probeRules } from '../probes/rules';
import { probeSizing } from '../probes/sizing';
import { scanKernelLog } from '../probes/kernel-log';
import { probePrivileges } from '../probes/privileges';
import { probeTable } from '../probes/table';
import { chooseBaseline, nextState, type Baseline } from '../state/baseline';
import { defaultStatePath, loadState, saveState, stateNotKept, type StateSave } from '../state/state-file';
import type { Options } from './options';

/** Pointer size of the machine the plugin runs on: the seed's sizing rule depends on it. */
const ARCH_BITS = ['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el'].includes(process.arch) ? 64 : 32;

/** The breakdown's share of the run's time: the rest is for the other probes and the output. */
const BREAKDOWN_SHARE = 0.6;

/** Programs must be gone by this share of the run's time, leaving the rest for the output. */
const COMMAND_SHARE = 0.8;

/**
 * The composition root: runs the probes the options call for, hands their
 * measurements to the checks, and keeps the state for the next run. Nothing
 * here parses or judges.
 */
export interface Collected {
  results: Result[];
  /** With --changes-only: whether this run prints, and what it says about the change. */
  notice?: NoticeDecision;
}

export async function collect(options: Options, signal: AbortSignal): Promise<Collected> {
  const host: HostPaths = { procRoot: options.procRoot, sysRoot: options.sysRoot, root: options.root };
  const started = Date.now();
  const [table, privileges, identity] = await Promise.all([probeTable(host), probePrivileges(host), probeIdentity(host)]);
  const ownLabel = (r: Result): Result => (r.summary ? { ...r, summary: `host: ${r.summary}` } : r);
  // Without conntrack there are no counters to read and no drops to find.
  if (table.count.status === 'missing' && table.module === 'absent') return { results: [checkTable(table, options)] };

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
  const checkedTable = checkTable(table, {
    ...options,
    excludedUnreplied: options.excludeUnreplied ? unrepliedToExclude(table, breakdown) : undefined,
  });
  const tableResult = options.excludeUnreplied
    ? { ...checkedTable, notes: [...(checkedTable.notes ?? []), unrepliedNote(breakdown)] }
    : checkedTable;

  // A message that names a namespace is worth a look at the namespaces there are, even with --namespaces host.
  const seen = inventory ?? (log.status === 'ok' && log.drops.some((d) => d.netns !== undefined) ? discoverNamespaces(host) : undefined);
  const owners =
    log.status === 'ok'
      ? assignLogOwners(logOwnersInput(log, seen, namespaceEntries, counters, baseline, identity, Boolean(inventory)))
      : undefined;

  const namespaces = inventory
    ? checkNamespaces({
        own: identity.netns,
        inventory,
        entries: namespaceEntries,
        max: table.max.status === 'ok' ? table.max.value : undefined,
        warning: options.warning,
        critical: options.critical,
        loss: lossOptions(options, privileges.user),
        baselines: baseline.state?.namespaces,
        logByNetns: owners?.byNamespace ?? {},
        top: options.top,
        uid: privileges.uid,
        nowMs: identity.nowMs,
      })
    : undefined;
  // Messages of other namespaces belong to them, never to this one's log finding.
  const ownLog: LogScan = owners?.own ?? log;
  const foreign =
    owners && log.status === 'ok'
      ? checkForeignDrops(owners.foreign, options.otherNamespacesDrops, describeLog(log, options.logWindowSeconds))
      : undefined;

  // Kept before judging: whether the next check can compare with this one decides what the counters may say.
  const stateNotes = [...baseline.notes];
  // The record of what was last said outlives a reboot, unlike the counters: a recovery after one is still news.
  const lastNotice = loaded?.status === 'ok' ? loaded.state.notice : undefined;
  const keepState = async (notice: typeof lastNotice): Promise<StateSave | undefined> => {
    if (!statePath) return undefined;
    const next = nextState(
      baseline,
      identity,
      counters.status === 'ok' ? savedCounters(counters.stats.perCpu) : undefined,
      table.count.status === 'ok' ? table.count.value : undefined,
      log.status === 'ok' ? log.position : undefined,
      namespaces?.counters,
      notice,
    );
    return saveState(statePath, next, privileges.uid);
  };
  let saved = await keepState(lastNotice);
  const stateLost = saved?.status === 'failed' ? saved.reason : undefined;

  const loss = checkPacketLoss(counters, ownLog, baseline, lossOptions(options, privileges.user), identity.nowMs, stateLost);
  // Only this namespace's own losses say its table filled: not an unknown, nor messages naming another namespace.
  const ownMessages = ownLog.status === 'ok' && ((ownLog.byNetns[''] ?? 0) > 0 || (ownLog.byNetns[String(identity.netns)] ?? 0) > 0);
  const alerting = (r: Result) => r.state === State.WARNING || r.state === State.CRITICAL;
  const lost = loss.some((r) => (r.check === 'counters' || (r.check === 'kernel-log' && ownMessages)) && alerting(r));
  const results = [
    // Beside namespace findings, the host's own line needs saying whose it is.
    inventory ? ownLabel(tableResult) : tableResult,
    ...loss,
    ...(foreign ? [foreign] : []),
    checkStaleModules({
      table,
      modules,
      rules,
      newEntries: counterIncrease(baseline.counters?.perCpu, counters.status === 'ok' ? counters.stats.perCpu : undefined, 'insert'),
      previousCount: baseline.counters?.count,
      staleState: options.staleModules,
    }),
    ...(namespaces ? [namespaces.result] : []),
    // What fills the table is worth changing only when it is under pressure.
    ...(breakdown ? [checkBreakdown(breakdown, alerting(tableResult) || lost)] : []),
  ];

  if (table.count.status === 'ok' && table.max.status === 'ok') {
    const count = table.count.value;
    const max = table.max.value;
    const history = baseline.state ? (baseline.counters?.history ?? []) : [];
    const f = forecast(history, identity.nowMs, count, max);
    results.push(
      checkForecast(f, count, max, { fillWarningSeconds: options.fillWarningSeconds, fillCriticalSeconds: options.fillCriticalSeconds }),
    );
    const peak = Math.max(count, namespaces?.highestCount ?? 0, ...history.map(([, c]) => c));
    if (max > 0) {
      results.push(
        checkSizing({
          count,
          max,
          buckets: table.buckets.status === 'ok' ? table.buckets.value : undefined,
          kernel: modules.kernel,
          sizing,
          peak,
          archBits: ARCH_BITS,
          bucketsWarning: options.bucketsWarning,
          pressing: underPressure(peak, max, lost),
        }),
      );
    }
  }

  // Once the findings are known, what this run says is kept with the rest (--changes-only).
  let notice = options.changesOnly
    ? decideNotice({
        previous: lastNotice,
        state: worst(results.map((r) => r.state)),
        summary: statusSummary(results),
        nowMs: identity.nowMs,
        repeatSeconds: options.repeatSeconds,
        unkept: !statePath ? '--no-state keeps nothing between runs' : loaded?.status === 'unusable' ? loaded.reason : stateLost,
      })
    : undefined;
  if (notice && stateLost === undefined && statePath) {
    const again = await keepState(notice.next);
    if (again?.status === 'failed') {
      saved = again;
      if (notice.kind !== 'unkept') notice = { ...notice, kind: 'unkept', print: true, reason: again.reason };
    }
  }
  // Not kept, the next check has nothing to compare with: that belongs in the status line, not only below it.
  const notKept = stateNotKept(loaded, saved);
  const notes = notKept && loaded?.status === 'unusable' && saved?.status === 'failed' && saved.reason === loaded.reason ? [] : stateNotes;
  if (notKept || notes.length) {
    results.push({
      check: 'state',
      state: State.OK,
      summary: notKept ?? '',
      details: [],
      notes,
      perfdata: [],
      data: { path: statePath ?? null, kept: !notKept },
    });
  }
  return { results, notice };
}

/** Every namespace there is now, with what its counters say, for giving each kernel log message to its namespace. */
function logOwnersInput(
  log: Extract<LogScan, { status: 'ok' }>,
  seen: NamespaceInventory | undefined,
  entries: readonly NamespaceEntry[],
  counters: CountersMeasurement,
  baseline: Baseline,
  identity: RunIdentity,
  judgedElsewhere: boolean,
): LogOwnersInput {
  const bootMs = identity.uptimeSeconds !== undefined ? identity.nowMs - identity.uptimeSeconds * 1000 : undefined;
  const read = new Map(entries.map((e) => [e.info.inode, e.stats.status === 'ok' ? e.stats.stats : undefined]));
  const others = new Map<number, Candidate>();
  let ownCreated: number | undefined;
  for (const info of seen?.namespaces ?? []) {
    const created = creationTime(info, bootMs);
    if (info.inode === identity.netns) ownCreated = created;
    else
      others.set(info.inode, {
        label: namespaceLabel(info),
        evidence: dropEvidence(read.get(info.inode), baseline.state?.namespaces[String(info.inode)], created),
      });
  }
  return {
    scan: log,
    own: {
      inode: identity.netns,
      evidence: dropEvidence(counters.status === 'ok' ? counters.stats : undefined, baseline.counters, ownCreated),
    },
    others,
    judgedElsewhere,
    complete: seen !== undefined && seen.hiddenProcesses === 0,
  };
}

function lossOptions(options: Options, user?: string): PacketLossOptions {
  return {
    drop: { warning: options.dropWarning, critical: options.dropCritical },
    earlyDrop: { warning: options.earlyDropWarning, critical: options.earlyDropCritical },
    insertFailed: { warning: options.insertFailedWarning, critical: options.insertFailedCritical },
    logDrops: { warning: options.logDropsWarning, critical: options.logDropsCritical },
    logWindowSeconds: options.logWindowSeconds,
    user,
  };
}
