import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONNTRACK_MODULES,
  isConntrackModule,
  normalizeModuleName,
  parseProcModules,
  PERMANENT,
  type ModuleInfo,
  type ModulesParse,
} from '../../src/parse/proc-modules';
import { FIXTURES } from '../support/fixtures';

const sample = (name: string) => readFileSync(join(FIXTURES, 'modules', name), 'utf8');

function modules(result: ModulesParse): ModuleInfo[] {
  if (!result.ok) throw new Error(`expected a parse, got: ${result.reason}`);
  return result.modules;
}

function reason(result: ModulesParse): string {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.modules)}`);
  return result.reason;
}

function byName(list: ModuleInfo[], name: string): ModuleInfo {
  const found = list.find((m) => m.name === name);
  if (found === undefined) throw new Error(`no module ${name}`);
  return found;
}

const conntrackNames = (list: ModuleInfo[]) => list.filter((m) => isConntrackModule(m.name)).map((m) => m.name);

describe('parseProcModules: each fixture', () => {
  it('2.6.32 (CentOS 6): state rules hold xt_state and nf_conntrack_ipv4, real addresses', () => {
    const list = modules(parseProcModules(sample('2.6.32-centos6.txt')));
    expect(list).toHaveLength(28);
    expect(list[0]).toEqual({ name: 'ipt_REJECT', size: 2351, useCount: 2, users: [], state: 'Live' });
    expect(byName(list, 'nf_conntrack')).toEqual({
      name: 'nf_conntrack',
      size: 79206,
      useCount: 3,
      users: ['nf_conntrack_ipv4', 'nf_conntrack_ipv6', 'xt_state'],
      state: 'Live',
    });
    expect(byName(list, 'nf_conntrack_ipv4')).toEqual({ name: 'nf_conntrack_ipv4', size: 9154, useCount: 2, users: [], state: 'Live' });
    expect(byName(list, 'xt_state').useCount).toBe(4);
    expect(byName(list, 'virtio_ring').users).toEqual(['virtio_balloon', 'virtio_net', 'virtio_blk', 'virtio_pci']);
    expect(conntrackNames(list)).toEqual([
      'nf_conntrack_ipv4',
      'nf_defrag_ipv4',
      'nf_conntrack_ipv6',
      'nf_defrag_ipv6',
      'xt_state',
      'nf_conntrack',
    ]);
  });

  it("3.10-seed004: the seed's module graph after the flush", () => {
    const list = modules(parseProcModules(sample('3.10-seed004.txt')));
    expect(list).toEqual([
      { name: 'ipt_MASQUERADE', size: 1759, useCount: 0, users: [], state: 'Live' },
      { name: 'iptable_nat', size: 4299, useCount: 0, users: [], state: 'Live' },
      { name: 'nf_nat', size: 13388, useCount: 2, users: ['ipt_MASQUERADE', 'iptable_nat'], state: 'Live' },
      { name: 'nf_conntrack_ipv4', size: 10346, useCount: 3, users: ['iptable_nat', 'nf_nat'], state: 'Live' },
      {
        name: 'nf_conntrack',
        size: 60975,
        useCount: 4,
        users: ['ipt_MASQUERADE', 'iptable_nat', 'nf_nat', 'nf_conntrack_ipv4'],
        state: 'Live',
      },
      { name: 'nf_defrag_ipv4', size: 1073, useCount: 1, users: ['nf_conntrack_ipv4'], state: 'Live' },
      { name: 'iptable_filter', size: 1442, useCount: 0, users: [], state: 'Live' },
      { name: 'ip_tables', size: 9899, useCount: 2, users: ['iptable_nat', 'iptable_filter'], state: 'Live' },
      { name: 'x_tables', size: 14175, useCount: 3, users: ['ipt_MASQUERADE', 'iptable_nat', 'ip_tables'], state: 'Live' },
    ]);
    expect(conntrackNames(list)).toEqual([
      'ipt_MASQUERADE',
      'iptable_nat',
      'nf_nat',
      'nf_conntrack_ipv4',
      'nf_conntrack',
      'nf_defrag_ipv4',
    ]);
  });

  it('4.15: a live MASQUERADE rule, nf_nat_ipv4 and nf_nat_masquerade_ipv4', () => {
    const list = modules(parseProcModules(sample('4.15-masquerade.txt')));
    expect(list).toHaveLength(40);
    expect(byName(list, 'ipt_MASQUERADE')).toEqual({ name: 'ipt_MASQUERADE', size: 16384, useCount: 1, users: [], state: 'Live' });
    expect(byName(list, 'nf_conntrack').users).toEqual([
      'ipt_MASQUERADE',
      'nf_nat_masquerade_ipv4',
      'nf_conntrack_ipv4',
      'nf_nat_ipv4',
      'nf_nat',
    ]);
    expect(byName(list, 'async_tx').users).toHaveLength(5);
    expect(conntrackNames(list)).toEqual([
      'ipt_MASQUERADE',
      'nf_nat_masquerade_ipv4',
      'iptable_nat',
      'nf_conntrack_ipv4',
      'nf_defrag_ipv4',
      'nf_nat_ipv4',
      'nf_nat',
      'nf_conntrack',
    ]);
  });

  it('5.15: iptables-nft MASQUERADE and nft ct', () => {
    const list = modules(parseProcModules(sample('5.15-nft.txt')));
    expect(list).toHaveLength(34);
    expect(byName(list, 'nf_conntrack')).toEqual({
      name: 'nf_conntrack',
      size: 172032,
      useCount: 3,
      users: ['xt_MASQUERADE', 'nf_nat', 'nft_ct'],
      state: 'Live',
    });
    expect(byName(list, 'nf_tables').useCount).toBe(58);
    expect(conntrackNames(list)).toEqual([
      'xt_MASQUERADE',
      'nft_chain_nat',
      'nf_nat',
      'nft_ct',
      'nf_conntrack',
      'nf_defrag_ipv6',
      'nf_defrag_ipv4',
    ]);
  });

  it('6.8 (Docker host): taint flags after the address', () => {
    const list = modules(parseProcModules(sample('6.8-docker.txt')));
    expect(list).toHaveLength(42);
    expect(byName(list, 'zfs')).toEqual({ name: 'zfs', size: 6582272, useCount: 6, users: [], state: 'Live' });
    expect(byName(list, 'spl')).toEqual({ name: 'spl', size: 180224, useCount: 1, users: ['zfs'], state: 'Live' });
    expect(byName(list, 'nf_conntrack').users).toEqual(['xt_conntrack', 'nf_conntrack_netlink', 'xt_MASQUERADE', 'nf_nat']);
    expect(conntrackNames(list)).toEqual([
      'xt_conntrack',
      'nf_conntrack_netlink',
      'xt_MASQUERADE',
      'nft_chain_nat',
      'nf_nat',
      'nf_conntrack',
      'nf_defrag_ipv6',
      'nf_defrag_ipv4',
    ]);
    // Netfilter, but not conntrack.
    for (const name of ['br_netfilter', 'xt_addrtype', 'nft_compat', 'nf_tables', 'ip_tables', 'x_tables', 'nfnetlink']) {
      expect(list.some((m) => m.name === name)).toBe(true);
      expect(isConntrackModule(name)).toBe(false);
    }
  });

  it('no-conntrack: a netfilter firewall with nothing that tracks', () => {
    const list = modules(parseProcModules(sample('no-conntrack.txt')));
    expect(list).toHaveLength(22);
    expect(conntrackNames(list)).toEqual([]);
    expect(byName(list, 'x_tables').users).toHaveLength(7);
  });
});

describe('parseProcModules: formats of other eras and tools', () => {
  it('the reference line', () => {
    expect(modules(parseProcModules('nf_conntrack 94208 3 nf_conntrack_ipv4,nf_nat_ipv4,nf_nat, Live 0x0000000000000000\n'))).toEqual([
      { name: 'nf_conntrack', size: 94208, useCount: 3, users: ['nf_conntrack_ipv4', 'nf_nat_ipv4', 'nf_nat'], state: 'Live' },
    ]);
  });

  it('lines without the state and address columns', () => {
    expect(modules(parseProcModules('nf_conntrack 94208 3 nf_conntrack_ipv4,nf_nat_ipv4,nf_nat,\nnf_nat 20480 0 -\n'))).toEqual([
      { name: 'nf_conntrack', size: 94208, useCount: 3, users: ['nf_conntrack_ipv4', 'nf_nat_ipv4', 'nf_nat'], state: '' },
      { name: 'nf_nat', size: 20480, useCount: 0, users: [], state: '' },
    ]);
  });

  it('lsmod output: the header, no trailing comma, no users column for an unused module, a one-word user', () => {
    const text = [
      'Module                  Size  Used by',
      'nf_conntrack_netlink    57344  0',
      'bridge                 421888  1 br_netfilter',
      'nf_conntrack          196608  2 nf_conntrack_netlink,nf_nat',
      '',
    ].join('\n');
    expect(modules(parseProcModules(text))).toEqual([
      { name: 'nf_conntrack_netlink', size: 57344, useCount: 0, users: [], state: '' },
      { name: 'bridge', size: 421888, useCount: 1, users: ['br_netfilter'], state: '' },
      { name: 'nf_conntrack', size: 196608, useCount: 2, users: ['nf_conntrack_netlink', 'nf_nat'], state: '' },
    ]);
  });

  it("a kernel without module unloading prints '-' for the count and the users", () => {
    expect(modules(parseProcModules('nf_conntrack 94208 - - Live 0x0000000000000000\n'))).toEqual([
      { name: 'nf_conntrack', size: 94208, useCount: -1, users: [], state: 'Live' },
    ]);
  });

  it('[permanent] stays in the users column as the kernel prints it', () => {
    const list = modules(
      parseProcModules('ipv6 336282 40 ip6t_REJECT,[permanent], Live 0xffffffffa0265000\nfoo 100 0 [permanent], Live 0x0\n'),
    );
    expect(list[0]?.users).toEqual(['ip6t_REJECT', PERMANENT]);
    expect(list[1]?.users).toEqual([PERMANENT]);
  });

  it('Loading and Unloading states, 32-bit addresses, taints with a state mark', () => {
    const text = 'a 4096 0 - Loading 0xf8a3c000\nb 4096 0 - Unloading 0x0000000000000000 (OE-)\nc 4096 0 - Live 0xf8a30000 (P+)\n';
    expect(modules(parseProcModules(text)).map((m) => m.state)).toEqual(['Loading', 'Unloading', 'Live']);
  });

  it('CRLF, tabs, trailing spaces, blank lines and a missing final newline', () => {
    const text =
      '\r\nnf_nat\t49152 2 xt_MASQUERADE,nft_chain_nat, Live 0x0000000000000000  \r\n\r\nnf_conntrack 172032 1 nf_nat, Live 0x0000000000000000';
    expect(modules(parseProcModules(text)).map((m) => [m.name, m.users])).toEqual([
      ['nf_nat', ['xt_MASQUERADE', 'nft_chain_nat']],
      ['nf_conntrack', ['nf_nat']],
    ]);
  });

  it('an empty file is no modules loaded', () => {
    expect(modules(parseProcModules(''))).toEqual([]);
    expect(modules(parseProcModules('\n  \n'))).toEqual([]);
  });
});

describe('parseProcModules: refusals', () => {
  it.each([
    ['an error message', 'cat: /proc/modules: No such file or directory\n', /^line 1: 'cat:' is not a module name$/],
    ['a name with a NUL', 'nf_con\0ntrack 94208 3 - Live 0x0\n', /not a module name/],
    ['a size that is not a number', 'nf_conntrack big 3 - Live 0x0\n', /size 'big'/],
    ['a negative count', 'nf_conntrack 94208 -3 - Live 0x0\n', /use count '-3'/],
    ['a name alone', 'nf_conntrack\n', /1 field,/],
    ['a users column with a space-free oddity', 'nf_conntrack 94208 3 nf$nat, Live 0x0\n', /not a list of modules/],
    ['a users column of commas only', 'nf_conntrack 94208 3 ,, Live 0x0\n', /not a list of modules/],
    ['a state that is not a word', 'nf_conntrack 94208 3 - L1ve 0x0\n', /not a module state/],
    ['an address that is not hex', 'nf_conntrack 94208 3 - Live 0xZZ\n', /not a load address/],
    ['taints that are not flags', 'nf_conntrack 94208 3 - Live 0x0 (oops)\n', /not a taint flag list/],
    ['more fields than the kernel prints', 'nf_conntrack 94208 3 - Live 0x0 (O) extra\n', /8 fields/],
    ['the lsmod header anywhere but first', 'nf_nat 1 0 -\nModule Size Used by\n', /line 2/],
  ])('%s', (_, text, pattern) => {
    expect(reason(parseProcModules(text))).toMatch(pattern);
  });

  it('a module listed twice, with both lines named', () => {
    expect(reason(parseProcModules('nf_nat 1 0 - Live 0x0\nx 1 0 - Live 0x0\nnf_nat 1 0 - Live 0x0\n'))).toBe(
      "line 3 repeats the module 'nf_nat' of line 1",
    );
  });

  it('the reason points at the line and shows a bounded, printable excerpt', () => {
    const r = reason(parseProcModules(`ok 1 0 - Live 0x0\n${'\x01'.repeat(100)} 1 0\n`));
    expect(r.startsWith('line 2:')).toBe(true);
    expect(r.length).toBeLessThan(100);
    // eslint-disable-next-line no-control-regex
    expect(r).not.toMatch(/[\x00-\x1f]/);
  });
});

describe('parseProcModules: hostile input never throws', () => {
  const hostile: Array<[string, unknown]> = [
    ['a 1 MB line', 'x'.repeat(1 << 20)],
    ['a 1 MB users column', `nf_conntrack 1 1 ${'a,'.repeat(1 << 19)} Live 0x0`],
    ['1 MB of NUL bytes', '\0'.repeat(1 << 20)],
    ['binary noise', Array.from({ length: 65536 }, (_, i) => String.fromCharCode((i * 7919) % 65536)).join('')],
    ['100k valid lines', Array.from({ length: 100_000 }, (_, i) => `m${i} 4096 0 - Live 0x0`).join('\n')],
    ['a number far past 2^53', 'nf_conntrack 99999999999999999999999 0 - Live 0x0'],
    ['not a string', 42],
    ['undefined', undefined],
  ];
  it.each(hostile)('%s', (_, input) => {
    const result = parseProcModules(input as string);
    expect(typeof result.ok).toBe('boolean');
    if (!result.ok) expect(result.reason.length).toBeLessThan(200);
  });

  it('a 1 MB users column of valid names is read in full', () => {
    const users = Array.from({ length: 50_000 }, (_, i) => `u${i}`);
    const list = modules(parseProcModules(`nf_conntrack 1 50000 ${users.join(',')}, Live 0x0`));
    expect(list[0]?.users).toHaveLength(50_000);
  });

  it('more than 65536 modules is refused, not read forever', () => {
    const text = Array.from({ length: 65_537 }, (_, i) => `m${i} 4096 0 - Live 0x0`).join('\n');
    expect(reason(parseProcModules(text))).toMatch(/more than 65536 modules/);
  });
});

describe('isConntrackModule and CONNTRACK_MODULES', () => {
  it('holds every module section 4 of the reference names', () => {
    const reference = [
      'nf_conntrack',
      'nf_conntrack_ipv4',
      'nf_conntrack_ipv6',
      'nf_defrag_ipv4',
      'nf_defrag_ipv6',
      'nf_nat',
      'iptable_nat',
      'ip6table_nat',
      'nft_chain_nat',
      'nft_nat',
      'nft_masq',
      'nft_ct',
      'xt_conntrack',
      'xt_state',
      'xt_nat',
      'xt_CT',
      'xt_connmark',
      'xt_connlimit',
      'ipt_MASQUERADE',
      'xt_MASQUERADE',
      'nf_conntrack_netlink',
      'openvswitch',
      'act_ct',
    ];
    for (const name of reference) {
      expect(CONNTRACK_MODULES).toContain(name);
      expect(isConntrackModule(name)).toBe(true);
    }
    expect(Object.isFrozen(CONNTRACK_MODULES)).toBe(true);
    expect(new Set(CONNTRACK_MODULES).size).toBe(CONNTRACK_MODULES.length);
  });

  it('takes helpers and per-family modules by prefix', () => {
    for (const name of [
      'nf_conntrack_ftp',
      'nf_conntrack_sip',
      'nf_conntrack_proto_gre',
      'nf_nat_ftp',
      'nf_nat_masquerade_ipv4',
      'nft_chain_nat_ipv4',
      'nft_masq_ipv6',
      'nft_redir_ipv4',
      'ip_conntrack_ftp',
      'ip_nat_ftp',
      'ip_conntrack',
    ]) {
      expect(isConntrackModule(name), name).toBe(true);
    }
  });

  it('not the table and match machinery that works without conntrack, nor lookalike names', () => {
    for (const name of [
      'ip_tables',
      'x_tables',
      'iptable_filter',
      'iptable_mangle',
      'iptable_raw',
      'nf_tables',
      'nft_compat',
      'nfnetlink',
      'xt_addrtype',
      'xt_statistic',
      'xt_tcpudp',
      'xt_comment',
      'br_netfilter',
      'nf_reject_ipv4',
      'nf_log_syslog',
      'nf_conntrack_',
      'nf_nat_',
      'nf_natx',
      'NF_CONNTRACK',
      'xt_conntrack2',
      '',
      'x'.repeat(1 << 20),
    ]) {
      expect(isConntrackModule(name), name.slice(0, 20)).toBe(false);
    }
    expect(isConntrackModule(undefined as unknown as string)).toBe(false);
  });

  it('takes - and _ alike, as modprobe does', () => {
    expect(normalizeModuleName('nf-conntrack-ipv4')).toBe('nf_conntrack_ipv4');
    expect(isConntrackModule('nf-conntrack')).toBe(true);
    expect(isConntrackModule('nf-conntrack-ftp')).toBe(true);
  });
});
