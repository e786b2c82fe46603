import { describe, expect, it } from 'vitest';
import { checkStaleModules, STALE_SUMMARY, type StaleModulesInput } from '../../src/checks/stale-modules';
import { formatPerfdata } from '../../src/nagios/perfdata';
import { State } from '../../src/nagios/state';
import type { ModuleInfo } from '../../src/parse/proc-modules';
import type { RuleScan } from '../../src/parse/rule-scan';
import type { HookSetting, ModulesMeasurement } from '../../src/probes/modules';
import type { RulesMeasurement } from '../../src/probes/rules';
import type { TableMeasurement } from '../../src/probes/table';

const mod = (name: string, users: string[] = [], useCount = users.length): ModuleInfo => ({
  name,
  size: 10000,
  useCount,
  users,
  state: 'Live',
});

/** Seed 004's hosts after the nat rules were flushed (3.x, /proc/modules as lsmod showed it). */
const SEED_MODULES = [
  mod('nf_conntrack_ipv4', ['iptable_nat', 'nf_nat'], 3),
  mod('nf_conntrack', ['ipt_MASQUERADE', 'iptable_nat', 'nf_nat', 'nf_conntrack_ipv4']),
  mod('nf_defrag_ipv4', ['nf_conntrack_ipv4']),
  mod('ip_tables', ['iptable_nat', 'iptable_filter']),
  mod('x_tables', ['ipt_MASQUERADE', 'iptable_nat', 'ip_tables']),
  mod('iptable_nat'),
  mod('nf_nat', ['ipt_MASQUERADE', 'iptable_nat']),
  mod('ipt_MASQUERADE'),
  mod('iptable_filter'),
];

const table = (count: number, module: TableMeasurement['module'] = 'loadable'): TableMeasurement => ({
  count: { status: 'ok', path: '/proc/sys/net/netfilter/nf_conntrack_count', value: count },
  max: { status: 'ok', path: '/proc/sys/net/netfilter/nf_conntrack_max', value: 65536 },
  buckets: { status: 'ok', path: '/proc/sys/net/netfilter/nf_conntrack_buckets', value: 16384 },
  module,
  moduleName: 'nf_conntrack',
});

const modules = (release: string, list: ModuleInfo[] | 'absent', enableHooks?: boolean): ModulesMeasurement => {
  const [major, minor] = release.split('.').map(Number) as [number, number];
  return { modules: list === 'absent' ? { status: 'absent' } : { status: 'ok', list }, enableHooks, kernel: { major, minor }, release };
};

const scan = (over: Partial<RuleScan> = {}): RuleScan => ({
  tables: ['nat', 'filter'],
  rules: 0,
  needsConntrack: [],
  exempts: [],
  ...over,
});
const rules = (s: RuleScan, failures: string[] = []): RulesMeasurement => ({
  status: 'ok',
  scan: s,
  sources: ['/usr/sbin/iptables-legacy-save'],
  failures,
});

const input = (over: Partial<StaleModulesInput>): StaleModulesInput => ({
  table: table(5000),
  modules: modules('3.10', SEED_MODULES),
  rules: rules(scan()),
  staleState: State.WARNING,
  ...over,
});

describe('checkStaleModules: the verdict by kernel era', () => {
  it('seed 004: modules loaded, no rule, a kernel before 4.10: every connection is tracked', () => {
    const r = checkStaleModules(input({}));
    expect(r.state).toBe(State.WARNING);
    expect(r.summary).toBe(STALE_SUMMARY);
    expect(r.summary).toBe('conntrack modules loaded but no rule uses them: every connection is tracked');
    expect(r.perfdata.map(formatPerfdata)).toEqual(['modules=6', 'conntrack_rules=0']);
    const rmmod = r.advice?.find((d) => d.startsWith('remedy: unload them'));
    expect(rmmod).toBeDefined();
    // Every module comes after all of its users.
    const order = rmmod!.replace(/^.*rmmod /, '').split(' ');
    for (const m of SEED_MODULES) {
      if (!order.includes(m.name)) continue;
      for (const user of m.users)
        if (order.includes(user)) expect(order.indexOf(user), `${user} before ${m.name}`).toBeLessThan(order.indexOf(m.name));
    }
    expect(r.advice?.some((d) => d.includes('/etc/modprobe.d/no-conntrack.conf'))).toBe(true);
  });

  it('honours --stale-modules', () => {
    expect(checkStaleModules(input({ staleState: State.CRITICAL })).state).toBe(State.CRITICAL);
    expect(checkStaleModules(input({ staleState: State.OK })).state).toBe(State.OK);
  });

  it('4.9 is still the old era; 4.10 registers hooks on demand', () => {
    expect(checkStaleModules(input({ modules: modules('4.9', SEED_MODULES) })).summary).toBe(STALE_SUMMARY);
    const r = checkStaleModules(input({ modules: modules('4.10', SEED_MODULES) }));
    expect(r.state).toBe(State.OK);
    expect(r.summary).toBe('');
    expect(r.details).toContain(
      'no rule needs conntrack [/usr/sbin/iptables-legacy-save]; kernel 4.10 tracks only while a rule needs it: 5000 entries left will expire (established TCP after up to 5 days)',
    );
  });

  it('enable_hooks=1 tracks regardless on a new kernel', () => {
    const r = checkStaleModules(input({ modules: modules('6.8', SEED_MODULES, true) }));
    expect(r.summary).toBe(STALE_SUMMARY);
    expect(r.details.some((d) => d.includes('nf_conntrack.enable_hooks=1 tracks in every namespace'))).toBe(true);
  });

  it('enable_hooks=1 where it can be seen: the kernel command line, or modprobe.d for a module', () => {
    const cmdline = { value: true, where: '/proc/cmdline', kind: 'cmdline' as const };
    const conf = (value: boolean) => ({ value, where: '/etc/modprobe.d/hooks.conf line 2', kind: 'modprobe.d' as const });
    const withSettings = (release: string, hookSettings: HookSetting[]): ModulesMeasurement => ({
      ...modules(release, SEED_MODULES),
      hookSettings,
    });

    const fromCmdline = checkStaleModules(input({ modules: withSettings('6.1', [cmdline]) }));
    expect(fromCmdline.summary).toBe(STALE_SUMMARY);
    expect(fromCmdline.details).toContain(
      'no rule needs conntrack [/usr/sbin/iptables-legacy-save]; nf_conntrack.enable_hooks=1 (set in /proc/cmdline) tracks in every namespace',
    );
    expect(fromCmdline.advice?.[0]).toBe(
      'remedy: remove nf_conntrack.enable_hooks=1 (the kernel command line) so that only rules switch tracking on',
    );

    const fromConf = checkStaleModules(input({ modules: withSettings('6.12', [conf(true)]) }));
    expect(fromConf.summary).toBe(STALE_SUMMARY);
    expect(fromConf.advice?.[0]).toBe(
      'remedy: remove nf_conntrack.enable_hooks=1 (/etc/modprobe.d/hooks.conf line 2) so that only rules switch tracking on',
    );
    // A later modprobe.d line overrides the command line for a module.
    expect(checkStaleModules(input({ modules: withSettings('6.1', [cmdline, conf(false)]) })).summary).toBe('');
    // A built-in nf_conntrack never reads modprobe.d.
    expect(checkStaleModules(input({ table: table(0, 'builtin'), modules: withSettings('6.1', [conf(true)]) })).summary).toBe('');
    expect(checkStaleModules(input({ table: table(0, 'builtin'), modules: withSettings('6.1', [cmdline]) })).summary).toBe(STALE_SUMMARY);
    // 5.13 brought the parameter, and stable kernels got it (Debian's 5.10 has it).
    expect(checkStaleModules(input({ modules: withSettings('5.10', [cmdline]) })).summary).toBe(STALE_SUMMARY);
  });

  it('built-in conntrack without /proc/modules on an old kernel is the same case, without rmmod', () => {
    const r = checkStaleModules(input({ table: table(10, 'builtin'), modules: modules('4.4', 'absent') }));
    expect(r.summary).toBe(STALE_SUMMARY);
    expect(r.perfdata.map(formatPerfdata)).toEqual(['conntrack_rules=0']);
    expect(r.details[0]).toBe('nf_conntrack built into the kernel');
    expect(r.advice).toContain('nf_conntrack is built into this kernel and cannot be unloaded');
    expect(r.advice?.some((d) => d.startsWith('remedy: unload'))).toBe(false);
  });

  it('a new kernel that keeps tracking without rules warns', () => {
    const byInsert = checkStaleModules(input({ modules: modules('6.8', SEED_MODULES), newEntries: 42 }));
    expect(byInsert.state).toBe(State.WARNING);
    expect(byInsert.summary).toBe(
      'conntrack modules loaded but no rule uses them, yet connections are still tracked (42 new entries since the last check)',
    );
    const byCount = checkStaleModules(input({ modules: modules('6.8', SEED_MODULES), previousCount: 4000 }));
    expect(byCount.summary).toBe(
      'conntrack modules loaded but no rule uses them, yet connections are still tracked (the count rose from 4000 to 5000)',
    );
    expect(checkStaleModules(input({ modules: modules('6.8', SEED_MODULES), previousCount: 5000, newEntries: 0 })).state).toBe(State.OK);
  });
});

describe('checkStaleModules: when rules need conntrack or cannot be read', () => {
  it('says nothing on the status line when a rule needs conntrack', () => {
    const r = checkStaleModules(
      input({
        rules: rules(
          scan({
            rules: 3,
            needsConntrack: [{ table: 'nat', chain: 'POSTROUTING', text: '-A POSTROUTING -j MASQUERADE', why: 'MASQUERADE target' }],
            exempts: [{ table: 'raw', chain: 'PREROUTING', text: '-A PREROUTING -j NOTRACK', why: 'notrack' }],
          }),
        ),
      }),
    );
    expect(r.state).toBe(State.OK);
    expect(r.summary).toBe('');
    expect(r.details).toContain(
      '1 rule needs conntrack (MASQUERADE target: nat POSTROUTING); 1 rule exempts traffic from tracking [/usr/sbin/iptables-legacy-save]',
    );
    expect(r.perfdata.map(formatPerfdata)).toEqual(['modules=6', 'conntrack_rules=1']);
  });

  it('does not judge when rules could not be read, and does not change the state', () => {
    const r = checkStaleModules(input({ rules: { status: 'unreadable', reasons: ['listing rules needs CAP_NET_ADMIN: run as root'] } }));
    expect(r.state).toBe(State.OK);
    expect(r.summary).toBe('');
    expect(r.details).toContain(
      'rules not read, so whether conntrack is needed is not known: listing rules needs CAP_NET_ADMIN: run as root',
    );
    expect(r.perfdata.map(formatPerfdata)).toEqual(['modules=6']);
  });

  it('does not judge when one of the listings failed', () => {
    const r = checkStaleModules(input({ rules: rules(scan(), ['/usr/sbin/nft -j list ruleset: Operation not permitted']) }));
    expect(r.state).toBe(State.OK);
    expect(r.details).toContain(
      'no rule needs conntrack in the listings read, but some failed: /usr/sbin/nft -j list ruleset: Operation not permitted',
    );
    // The label stays, with what was read: a grapher keeps one series however one listing fared this time.
    expect(r.perfdata.map(formatPerfdata)).toEqual(['modules=6', 'conntrack_rules=0']);
  });

  it('every listing failed this time: no label, never U (Icinga 2 rejects it)', () => {
    const failed = checkStaleModules(
      input({ rules: { status: 'unreadable', reasons: ['/usr/sbin/nft -j list ruleset: timed out'], attempted: true } }),
    );
    expect(failed.perfdata.map(formatPerfdata)).toEqual(['modules=6']);
  });
});
