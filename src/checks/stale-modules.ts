import { isAtLeast } from '../parse/kernel-release';
import { isConntrackModule } from '../parse/proc-modules';
import type { Perfdata } from '../nagios/perfdata';
import type { Result } from '../nagios/result';
import { State } from '../nagios/state';
import type { ModulesMeasurement } from '../probes/modules';
import type { RulesMeasurement } from '../probes/rules';
import type { TableMeasurement } from '../probes/table';
import { counterIncrease } from './counter-delta';
import type { Check } from './measurements';
import { blacklistLines, unloadOrder } from './module-remedy';

export interface StaleModulesInput {
  readonly table: TableMeasurement;
  readonly modules: ModulesMeasurement;
  readonly rules: RulesMeasurement;
  /** New entries since the last check (the `insert` counter), when known. */
  readonly newEntries?: number;
  /** The table count at the last check, when known. */
  readonly previousCount?: number;
  /** The state for "loaded, unused, and tracking every connection". */
  readonly staleState: State;
}

const CHECK = 'modules';
export const STALE_SUMMARY = 'conntrack modules loaded but no rule uses them: every connection is tracked';

/**
 * Where nf_conntrack.enable_hooks=1 is in effect, if it is: sysfs where a
 * kernel shows it, else the last setting that reaches this nf_conntrack (a
 * built-in one reads only the command line). No version is asked: the
 * parameter came with 5.13 and was backported (Debian's 5.10 has it).
 */
export function hooksForcedBy(m: ModulesMeasurement, builtin: boolean): string | undefined {
  if (m.enableHooks !== undefined) return m.enableHooks ? 'sysfs' : undefined;
  const last = (m.hookSettings ?? []).filter((h) => h.kind === 'cmdline' || !builtin).at(-1);
  return last?.value ? last.where : undefined;
}

/**
 * Before 4.10 (commit "register hooks in netns when needed by ruleset") a
 * loaded nf_conntrack_ipv4 tracked every packet of the host until it was
 * unloaded; since, the hooks exist only while a rule needs them, unless
 * nf_conntrack.enable_hooks=1 turns them on everywhere.
 */
function tracksRegardless(m: ModulesMeasurement, hooks: string | undefined): boolean | undefined {
  if (hooks) return true;
  if (!m.kernel) return undefined;
  return !isAtLeast(m.kernel, 4, 10);
}

function remedy(m: ModulesMeasurement, loaded: string[], builtin: boolean, hooks: string | undefined): string[] {
  const lines: string[] = [];
  if (hooks) {
    const where =
      hooks === 'sysfs'
        ? 'modprobe.d option or kernel command line'
        : hooks.startsWith('/proc/cmdline')
          ? 'the kernel command line'
          : hooks;
    lines.push(`remedy: remove nf_conntrack.enable_hooks=1 (${where}) so that only rules switch tracking on`);
  }
  if (m.modules.status === 'ok' && loaded.length) {
    const { order, blocked } = unloadOrder(m.modules.list, loaded);
    if (order.length) lines.push(`remedy: unload them, users first (this empties the table): rmmod ${order.join(' ')}`);
    for (const b of blocked) lines.push(`  ${b.name} cannot be unloaded now: ${b.why}`);
    lines.push('remedy: keep them from loading again (even `iptables -t nat -L` loads them), in /etc/modprobe.d/no-conntrack.conf:');
    for (const l of blacklistLines(loaded)) lines.push(`  ${l}`);
  }
  if (builtin) lines.push('nf_conntrack is built into this kernel and cannot be unloaded');
  lines.push(
    'remedy: or keep tracking only what needs it: exempt the rest in the raw table, e.g. iptables -t raw -A PREROUTING -p tcp --dport 80 -j NOTRACK and iptables -t raw -A OUTPUT -p tcp --sport 80 -j NOTRACK (nft: notrack in a chain of priority raw)',
  );
  return lines;
}

export function checkStaleModules(input: StaleModulesInput): Result {
  const { table, modules, rules } = input;
  const builtin = table.module === 'builtin';
  const hooks = hooksForcedBy(modules, builtin);
  const loaded = modules.modules.status === 'ok' ? modules.modules.list.filter((x) => isConntrackModule(x.name)).map((x) => x.name) : [];
  const perfdata: Perfdata[] = [];
  if (modules.modules.status === 'ok') perfdata.push({ label: 'modules', value: loaded.length });
  // The rules read are counted even when another listing failed (the count is a lower bound anyway: a listing
  // stops at the first rule that needs conntrack); only a run that read none has no label, never U, which Icinga 2 rejects.
  if (rules.status === 'ok') perfdata.push({ label: 'conntrack_rules', value: rules.scan.needsConntrack.length });

  const listing = modules.modules.status;
  const what = builtin
    ? 'nf_conntrack built into the kernel'
    : loaded.length
      ? `conntrack modules loaded: ${loaded.join(', ')}`
      : listing === 'ok'
        ? 'no conntrack modules loaded'
        : listing === 'absent'
          ? 'no /proc/modules to list modules from'
          : 'conntrack modules not known';
  const details = [what];
  if (modules.modules.status === 'error') details.push(modules.modules.reason);
  const result = (state: State, summary: string, more: string[], advice: string[] = []): Result => ({
    check: CHECK,
    state,
    summary,
    details: [...details, ...more],
    advice,
    perfdata,
    data: {
      builtin,
      loaded,
      kernel: modules.release,
      enableHooks: hooks !== undefined || modules.enableHooks,
      rules:
        rules.status === 'ok'
          ? { needsConntrack: rules.scan.needsConntrack, exempts: rules.scan.exempts, sources: rules.sources, failures: rules.failures }
          : { unreadable: rules.reasons },
    },
  });

  if (!builtin && loaded.length === 0 && table.module === 'absent') return result(State.OK, '', []);
  const forced = hooks
    ? `nf_conntrack.enable_hooks=1${hooks === 'sysfs' ? '' : ` (set in ${hooks})`} tracks in every namespace`
    : undefined;
  if (rules.status === 'unreadable') {
    return result(State.OK, '', [
      `rules not read, so whether conntrack is needed is not known: ${rules.reasons.join('; ')}`,
      ...(forced ? [forced] : []),
    ]);
  }

  const { needsConntrack, exempts } = rules.scan;
  const exempt = exempts.length
    ? `; ${exempts.length} ${exempts.length === 1 ? 'rule exempts' : 'rules exempt'} traffic from tracking`
    : '';
  if (needsConntrack.length > 0) {
    const first = needsConntrack[0]!;
    return result(State.OK, '', [
      `${rules.scan.stoppedAtNeed ? 'at least ' : ''}${needsConntrack.length} ${needsConntrack.length === 1 ? 'rule needs' : 'rules need'} conntrack (${first.why}: ${first.table} ${first.chain})${exempt} [${rules.sources.join(', ')}]`,
    ]);
  }
  if (rules.failures.length > 0) {
    // A listing that failed may hold the rule that needs conntrack: no verdict.
    return result(State.OK, '', [`no rule needs conntrack in the listings read, but some failed: ${rules.failures.join('; ')}`]);
  }

  const regardless = tracksRegardless(modules, hooks);
  const kernel = modules.release ? `kernel ${modules.release}` : 'this kernel';
  const noRule = `no rule needs conntrack${exempt} [${rules.sources.join(', ')}]`;
  if (regardless === true) {
    const why = forced ?? `${kernel} (before 4.10) tracks every connection while the modules are loaded`;
    return result(input.staleState, STALE_SUMMARY, [`${noRule}; ${why}`], remedy(modules, loaded, builtin, hooks));
  }
  const count = table.count.status === 'ok' ? table.count.value : undefined;
  const rising = (input.newEntries ?? 0) > 0 || (count !== undefined && input.previousCount !== undefined && count > input.previousCount);
  if (rising) {
    const growth = input.newEntries
      ? `${input.newEntries} new entries since the last check`
      : `the count rose from ${input.previousCount} to ${count}`;
    const subject = builtin ? 'conntrack is built in and no rule uses it' : 'conntrack modules loaded but no rule uses them';
    return result(
      State.WARNING,
      `${subject}, yet connections are still tracked (${growth})`,
      [
        `${noRule}; something still tracks (another namespace's rule does not count here: openvswitch, act_ct, or a rule this check cannot see)`,
      ],
      remedy(modules, loaded, builtin, hooks),
    );
  }
  if (regardless === undefined)
    return result(State.OK, '', [`${noRule}; the kernel version is not known, so whether it tracks regardless is not known`]);
  if (count === 0) return result(State.OK, '', [`${noRule}; ${kernel} tracks only while a rule needs it, and nothing is tracked`]);
  return result(
    State.OK,
    '',
    [
      `${noRule}; ${kernel} tracks only while a rule needs it: ${count ?? 'the'} ${count === 1 ? 'entry' : 'entries'} left will expire (established TCP after up to 5 days)`,
    ],
    remedy(modules, loaded, builtin, hooks),
  );
}

export const staleModulesCheck: Check = (m, options) => [
  checkStaleModules({
    table: m.table,
    modules: m.modules,
    rules: m.rules,
    newEntries: counterIncrease(m.baseline.counters?.perCpu, m.counters.status === 'ok' ? m.counters.stats.perCpu : undefined, 'insert'),
    previousCount: m.baseline.counters?.count,
    staleState: options.staleModules,
  }),
];
