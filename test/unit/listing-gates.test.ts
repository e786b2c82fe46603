import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listingGates } from '../../src/probes/listing-gates';
import { copyFixture, fixture } from '../support/fixtures';

/**
 * Listing rules must never load a module: nft and the -nft-save dumps only
 * where nf_tables is loaded, -legacy-save only where its tables exist.
 */
const trees: Array<{ dispose(): void }> = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.dispose();
});

function tree(name: string) {
  const t = copyFixture(name);
  trees.push(t);
  return { ...t, proc: join(t.dir, 'proc'), sys: join(t.dir, 'sys') };
}

const withoutModules = (text: string, ...names: string[]) =>
  text
    .split('\n')
    .filter((l) => !names.includes(l.split(' ')[0]!))
    .join('\n');

describe('listingGates', () => {
  it('nf_tables in /proc/modules: nft may run; no ip_tables_names: no legacy listing', async () => {
    const t = fixture('linux-6.8');
    const g = await listingGates({ procRoot: t.proc, sysRoot: t.sys });
    expect(g.nfTables).toBe(true);
    expect(g.legacy).toEqual({ ip: false, ip6: false });
    expect(g.notes).toEqual([
      `no iptables-legacy tables (${t.proc}/net/ip_tables_names)`,
      `no ip6tables-legacy tables (${t.proc}/net/ip6_tables_names)`,
    ]);
  });

  it('a fresh boot of a modular kernel (nf_tables not loaded): nft may not run, and the note says why', async () => {
    const t = tree('linux-6.8');
    t.write(
      'proc/modules',
      withoutModules(readFileSync(join(t.proc, 'modules'), 'utf8'), 'nf_tables', 'nft_chain_nat', 'nft_compat', 'nf_tables_set'),
    );
    const g = await listingGates({ procRoot: t.proc, sysRoot: t.sys });
    expect(g.nfTables).toBe(false);
    expect(g.notes[0]).toBe(`nf_tables not loaded (${t.proc}/modules): no nftables rules`);
  });

  it('nf_tables built into a modular kernel shows in /sys/module only', async () => {
    const t = tree('linux-6.8');
    t.write('proc/modules', withoutModules(readFileSync(join(t.proc, 'modules'), 'utf8'), 'nf_tables'));
    mkdirSync(join(t.sys, 'module/nf_tables'), { recursive: true });
    expect((await listingGates({ procRoot: t.proc, sysRoot: t.sys })).nfTables).toBe(true);
  });

  it('a kernel without module support (no /proc/modules) can load nothing: nft may run', async () => {
    const t = fixture('linux-6.18-builtin');
    expect((await listingGates({ procRoot: t.proc, sysRoot: t.sys })).nfTables).toBe(true);
  });

  it('iptables-legacy tables: a name in ip_tables_names; an empty file is none', async () => {
    const t = tree('linux-6.8');
    t.write('proc/net/ip_tables_names', 'filter\nnat\n');
    t.write('proc/net/ip6_tables_names', '');
    expect((await listingGates({ procRoot: t.proc, sysRoot: t.sys })).legacy).toEqual({ ip: true, ip6: false });
  });

  it('ip_tables_names unreadable: the ip_tables module says whether there can be tables', async () => {
    const t = tree('linux-6.8');
    // A directory where the file should be cannot be read, whoever we are.
    mkdirSync(join(t.proc, 'net/ip_tables_names'));
    mkdirSync(join(t.proc, 'net/ip6_tables_names'));
    const modules = readFileSync(join(t.proc, 'modules'), 'utf8');
    expect(modules).toMatch(/^ip_tables /m);
    t.write('proc/modules', withoutModules(modules, 'ip6_tables'));
    expect((await listingGates({ procRoot: t.proc, sysRoot: t.sys })).legacy).toEqual({ ip: true, ip6: false });
  });
});
