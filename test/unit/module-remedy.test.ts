import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blacklistLines, unloadOrder } from '../../src/checks/module-remedy';
import { isConntrackModule, parseProcModules, PERMANENT, type ModuleInfo } from '../../src/parse/proc-modules';
import { FIXTURES } from '../support/fixtures';

function fixtureModules(name: string): ModuleInfo[] {
  const result = parseProcModules(readFileSync(join(FIXTURES, 'modules', name), 'utf8'));
  if (!result.ok) throw new Error(result.reason);
  return result.modules;
}

/** A module as /proc/modules would list it; the use count defaults to its users. */
function mod(name: string, users: string[] = [], useCount = users.length): ModuleInfo {
  return { name, size: 16384, useCount, users, state: 'Live' };
}

/**
 * The property rmmod needs: every module in the order comes after every module
 * that uses it, and each appears once.
 */
function violations(modules: ModuleInfo[], order: string[]): string[] {
  const at = new Map(order.map((name, i) => [name, i]));
  const problems: string[] = [];
  if (at.size !== order.length) problems.push('a module appears twice');
  for (const name of order) {
    const module = modules.find((m) => m.name === name);
    if (module === undefined) {
      problems.push(`${name} is not loaded`);
      continue;
    }
    for (const user of module.users) {
      if (user === PERMANENT) continue;
      const u = at.get(user);
      if (u === undefined) problems.push(`${name} is removed while ${user}, which uses it, stays`);
      else if (u > (at.get(name) as number)) problems.push(`${name} comes before its user ${user}`);
    }
  }
  return problems;
}

const SEED_RMMOD = ['iptable_nat', 'ipt_MASQUERADE', 'nf_nat', 'nf_conntrack_ipv4', 'nf_conntrack', 'nf_defrag_ipv4'];

describe("unloadOrder: seed 004's module graph", () => {
  const seed = fixtureModules('3.10-seed004.txt');

  it("the seed's own rmmod sequence passes the validity check (the check itself is right)", () => {
    expect(violations(seed, SEED_RMMOD)).toEqual([]);
    expect(violations(seed, ['nf_conntrack', ...SEED_RMMOD.filter((n) => n !== 'nf_conntrack')])).not.toEqual([]);
  });

  it("the seed's targets: all six go, each after all of its users, in /proc/modules order where free", () => {
    const plan = unloadOrder(seed, SEED_RMMOD);
    expect(plan.blocked).toEqual([]);
    expect(plan.order).toEqual(['ipt_MASQUERADE', 'iptable_nat', 'nf_nat', 'nf_conntrack_ipv4', 'nf_conntrack', 'nf_defrag_ipv4']);
    expect(violations(seed, plan.order)).toEqual([]);
  });

  it("nf_conntrack_ipv4 has 3 references for 2 users: not blocked, the third is nf_nat's and goes with it", () => {
    const ipv4 = seed.find((m) => m.name === 'nf_conntrack_ipv4');
    expect(ipv4?.useCount).toBe(3);
    expect(ipv4?.users).toHaveLength(2);
    expect(unloadOrder(seed, ['nf_conntrack_ipv4']).blocked).toEqual([]);
  });

  it('asking for nf_conntrack alone brings in its users, not what it uses or the table machinery', () => {
    const plan = unloadOrder(seed, ['nf_conntrack']);
    expect(plan.order).toEqual(['ipt_MASQUERADE', 'iptable_nat', 'nf_nat', 'nf_conntrack_ipv4', 'nf_conntrack']);
    expect(plan.blocked).toEqual([]);
    expect(violations(seed, plan.order)).toEqual([]);
  });

  it('every conntrack module the seed host has, found with isConntrackModule', () => {
    const plan = unloadOrder(
      seed,
      seed.filter((m) => isConntrackModule(m.name)).map((m) => m.name),
    );
    expect([...plan.order].sort()).toEqual([...SEED_RMMOD].sort());
    expect(violations(seed, plan.order)).toEqual([]);
  });

  it('before the flush (a MASQUERADE rule still live), what the rule holds blocks everything under it', () => {
    const live = seed.map((m) => (m.name === 'ipt_MASQUERADE' || m.name === 'iptable_nat' ? { ...m, useCount: 1 } : m));
    const plan = unloadOrder(live, SEED_RMMOD);
    expect(plan.order).toEqual([]);
    expect(plan.blocked).toEqual([
      { name: 'ipt_MASQUERADE', why: 'held by 1 reference from no module: a live rule, table or socket' },
      { name: 'iptable_nat', why: 'held by 1 reference from no module: a live rule, table or socket' },
      { name: 'nf_nat', why: 'used by ipt_MASQUERADE, which cannot be unloaded' },
      { name: 'nf_conntrack_ipv4', why: 'used by iptable_nat, which cannot be unloaded' },
      { name: 'nf_conntrack', why: 'used by ipt_MASQUERADE, which cannot be unloaded' },
      { name: 'nf_defrag_ipv4', why: 'used by nf_conntrack_ipv4, which cannot be unloaded' },
    ]);
  });
});

describe('unloadOrder: the other fixtures', () => {
  it('6.8 Docker host: only nf_conntrack_netlink is free; rules hold the rest', () => {
    const list = fixtureModules('6.8-docker.txt');
    const plan = unloadOrder(
      list,
      list.filter((m) => isConntrackModule(m.name)).map((m) => m.name),
    );
    expect(plan.order).toEqual(['nf_conntrack_netlink']);
    expect(plan.blocked).toEqual([
      { name: 'xt_conntrack', why: 'held by 1 reference from no module: a live rule, table or socket' },
      { name: 'xt_MASQUERADE', why: 'held by 1 reference from no module: a live rule, table or socket' },
      { name: 'nft_chain_nat', why: 'held by 4 references from no module: a live rule, table or socket' },
      { name: 'nf_nat', why: 'used by xt_MASQUERADE, which cannot be unloaded' },
      { name: 'nf_conntrack', why: 'used by xt_conntrack, which cannot be unloaded' },
      { name: 'nf_defrag_ipv6', why: 'used by nf_conntrack, which cannot be unloaded' },
      { name: 'nf_defrag_ipv4', why: 'used by nf_conntrack, which cannot be unloaded' },
    ]);
  });

  it('CentOS 6 with its state rules: all blocked, xt_state by its four rules', () => {
    const list = fixtureModules('2.6.32-centos6.txt');
    const plan = unloadOrder(list, ['nf_conntrack']);
    expect(plan.order).toEqual([]);
    expect(plan.blocked.find((b) => b.name === 'xt_state')?.why).toBe('held by 4 references from no module: a live rule, table or socket');
    expect(plan.blocked.map((b) => b.name)).toEqual(['nf_conntrack_ipv4', 'nf_conntrack_ipv6', 'xt_state', 'nf_conntrack']);
  });

  it('a host without conntrack has nothing to do', () => {
    expect(unloadOrder(fixtureModules('no-conntrack.txt'), [])).toEqual({ order: [], blocked: [] });
  });
});

describe('unloadOrder: shapes of graph', () => {
  it('a chain 10 levels deep comes out top first, whatever the input order', () => {
    const chain = Array.from({ length: 10 }, (_, i) => mod(`m${i}`, i < 9 ? [`m${i + 1}`] : []));
    const expected = Array.from({ length: 10 }, (_, i) => `m${9 - i}`);
    for (const list of [
      chain,
      [...chain].reverse(),
      [chain[4], chain[0], chain[9], ...chain.slice(5, 9), ...chain.slice(1, 4)] as ModuleInfo[],
    ]) {
      const plan = unloadOrder(list, ['m0']);
      expect(plan).toEqual({ order: expected, blocked: [] });
      expect(violations(list, plan.order)).toEqual([]);
    }
    // From the middle: only what uses m5.
    expect(unloadOrder(chain, ['m5']).order).toEqual(['m9', 'm8', 'm7', 'm6', 'm5']);
  });

  it('a diamond: the top first, the base last, the sides in /proc/modules order', () => {
    const list = [mod('top'), mod('right', ['top']), mod('left', ['top']), mod('base', ['left', 'right'])];
    const plan = unloadOrder(list, ['base']);
    expect(plan).toEqual({ order: ['top', 'right', 'left', 'base'], blocked: [] });
    expect(violations(list, plan.order)).toEqual([]);
  });

  it('users outside the targets are brought in and go first; unrelated modules stay out', () => {
    const list = [
      mod('app_a'),
      mod('app_b'),
      mod('helper', ['app_a']),
      mod('core', ['helper', 'app_b']),
      mod('other'),
      mod('lib', ['core']),
    ];
    const plan = unloadOrder(list, ['core']);
    expect(plan.order).toEqual(['app_a', 'app_b', 'helper', 'core']);
    expect(plan.order).not.toContain('lib');
    expect(plan.order).not.toContain('other');
    expect(violations(list, plan.order)).toEqual([]);
  });

  it('targets given twice, with dashes, or in any order give one plan', () => {
    const seed = fixtureModules('3.10-seed004.txt');
    const a = unloadOrder(seed, SEED_RMMOD);
    expect(unloadOrder(seed, [...SEED_RMMOD].reverse())).toEqual(a);
    expect(unloadOrder(seed, [...SEED_RMMOD, 'nf-conntrack', 'nf_nat'])).toEqual(a);
  });

  it('a cycle in corrupt input is reported as blocked, not looped over', () => {
    // a and b use each other; c is used by a (below the cycle); d uses a (above it, free).
    const list = [mod('d'), mod('a', ['b', 'd']), mod('b', ['a']), mod('c', ['a'])];
    const plan = unloadOrder(list, ['c']);
    expect(plan.order).toEqual(['d']);
    expect(plan.blocked).toEqual([
      { name: 'a', why: 'caught in a cycle of users, which /proc/modules never shows: the input is corrupt' },
      { name: 'b', why: 'caught in a cycle of users, which /proc/modules never shows: the input is corrupt' },
      { name: 'c', why: 'used by a, which cannot be unloaded' },
    ]);
  });

  it('below a cycle, each module names the one above it', () => {
    // a <-> b; c is used by a, e is used by c; the target is e.
    const list = [mod('a', ['b']), mod('b', ['a']), mod('c', ['a']), mod('e', ['c'])];
    expect(unloadOrder(list, ['e']).blocked).toEqual([
      { name: 'a', why: 'caught in a cycle of users, which /proc/modules never shows: the input is corrupt' },
      { name: 'b', why: 'caught in a cycle of users, which /proc/modules never shows: the input is corrupt' },
      { name: 'c', why: 'used by a, which cannot be unloaded' },
      { name: 'e', why: 'used by c, which cannot be unloaded' },
    ]);
  });

  it('a module that uses itself, and a long cycle, end', () => {
    expect(unloadOrder([mod('x', ['x'])], ['x']).blocked.map((b) => b.name)).toEqual(['x']);
    const ring = Array.from({ length: 1000 }, (_, i) => mod(`r${i}`, [`r${(i + 1) % 1000}`]));
    const plan = unloadOrder(ring, ['r0']);
    expect(plan.order).toEqual([]);
    expect(plan.blocked).toHaveLength(1000);
  });

  it('a 20000-module chain is ordered quickly', () => {
    const n = 20_000;
    const list = Array.from({ length: n }, (_, i) => mod(`m${i}`, i < n - 1 ? [`m${i + 1}`] : []));
    const started = Date.now();
    const plan = unloadOrder(list, ['m0']);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(plan.order).toHaveLength(n);
    expect(plan.order[0]).toBe(`m${n - 1}`);
    expect(plan.order[n - 1]).toBe('m0');
  });
});

describe('unloadOrder: what blocks', () => {
  it('[permanent], and what it uses', () => {
    const list = [mod('perm', [PERMANENT], 0), mod('base', ['perm'])];
    expect(unloadOrder(list, ['base']).blocked).toEqual([
      { name: 'perm', why: 'permanent: it has no exit function, so the kernel cannot unload it' },
      { name: 'base', why: 'used by perm, which cannot be unloaded' },
    ]);
  });

  it('a kernel without module unloading', () => {
    expect(unloadOrder([mod('nf_conntrack', [], -1)], ['nf_conntrack']).blocked).toEqual([
      { name: 'nf_conntrack', why: 'the kernel was built without module unloading' },
    ]);
  });

  it('a target not in /proc/modules (built in, or not loaded), and a user the file lacks', () => {
    const list = [mod('nf_nat', ['ghost'])];
    expect(unloadOrder(list, ['nf_conntrack', 'nf_nat'])).toEqual({
      order: [],
      blocked: [
        { name: 'nf_nat', why: 'used by ghost, which cannot be unloaded' },
        { name: 'nf_conntrack', why: 'not in /proc/modules: built into the kernel, or not loaded' },
        { name: 'ghost', why: 'listed as a user, but not in /proc/modules' },
      ],
    });
  });

  it('references with no module users block; extra references beside module users do not', () => {
    const list = [mod('xt_a', [], 2), mod('core', ['xt_a', 'free'], 5), mod('free')];
    expect(unloadOrder(list, ['xt_a']).blocked).toEqual([
      { name: 'xt_a', why: 'held by 2 references from no module: a live rule, table or socket' },
    ]);
    expect(unloadOrder([mod('free'), mod('core', ['free'], 3)], ['core'])).toEqual({ order: ['free', 'core'], blocked: [] });
  });

  it('no targets, no modules, or nonsense never throw', () => {
    expect(unloadOrder([], [])).toEqual({ order: [], blocked: [] });
    expect(unloadOrder(undefined as unknown as ModuleInfo[], undefined as unknown as string[])).toEqual({ order: [], blocked: [] });
    const odd = [
      { name: 'a', size: 1, useCount: NaN, users: ['b'], state: '' },
      { name: 'b', size: 1, useCount: 0, users: undefined as unknown as string[], state: '' },
      null as unknown as ModuleInfo,
      { name: 'a', size: 1, useCount: 0, users: [], state: '' },
    ];
    const plan = unloadOrder(odd, ['a', '', 7 as unknown as string]);
    expect(plan.blocked.map((b) => b.name)).toEqual(['a']);
  });
});

describe('blacklistLines', () => {
  it('both lines per module, by name, once each, in the kernel spelling', () => {
    expect(blacklistLines(['nf_conntrack', 'nf-defrag-ipv4', 'iptable_nat', 'nf_conntrack'])).toEqual([
      'blacklist iptable_nat',
      'install iptable_nat /bin/false',
      'blacklist nf_conntrack',
      'install nf_conntrack /bin/false',
      'blacklist nf_defrag_ipv4',
      'install nf_defrag_ipv4 /bin/false',
    ]);
  });

  it("the seed's modules, in any order, give the same lines", () => {
    expect(blacklistLines([...SEED_RMMOD].reverse())).toEqual(blacklistLines(SEED_RMMOD));
    expect(blacklistLines(SEED_RMMOD)).toHaveLength(12);
  });

  it('leaves out anything that is not a module name, so no input adds a directive', () => {
    expect(blacklistLines(['nf_nat\ninstall sshd /bin/false', 'a b', '', '../x', 'x'.repeat(65), 7 as unknown as string])).toEqual([]);
    expect(blacklistLines(undefined as unknown as string[])).toEqual([]);
  });
});
