import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { probeTable } from '../../src/probes/table';
import { mkdirSync, rmSync } from 'node:fs';
import { copyFixture, fixture } from '../support/fixtures';

async function probe(name: string) {
  const f = fixture(name);
  return { m: await probeTable({ procRoot: f.proc, sysRoot: f.sys }), f };
}

describe('probeTable on each kernel era', () => {
  it('6.x with a loadable module', async () => {
    const { m, f } = await probe('linux-6.8');
    expect(m.count).toEqual({ status: 'ok', path: join(f.proc, 'sys/net/netfilter/nf_conntrack_count'), value: 32245 });
    expect(m.max).toMatchObject({ status: 'ok', value: 262144 });
    expect(m.buckets).toMatchObject({ status: 'ok', value: 262144 });
    expect(m.module).toBe('loadable');
    expect(m.kernelRelease).toBe('6.8.0-45-generic');
  });

  it('built-in conntrack without /proc/modules', async () => {
    const { m } = await probe('linux-6.18-builtin');
    expect(m.module).toBe('builtin');
    expect(m.moduleName).toBe('nf_conntrack');
    expect(m.count).toMatchObject({ status: 'ok', value: 1200 });
  });

  it('4.x with max = 4 x buckets', async () => {
    const { m } = await probe('linux-4.15');
    expect(m.max).toMatchObject({ value: 262144 });
    expect(m.buckets).toMatchObject({ value: 65536 });
  });

  it('CentOS 6 prefers the nf_conntrack names over the compatibility ones', async () => {
    const { m, f } = await probe('centos6-2.6.32');
    expect(m.count).toMatchObject({ status: 'ok', path: join(f.proc, 'sys/net/netfilter/nf_conntrack_count'), value: 60000 });
    expect(m.buckets).toMatchObject({ value: 16384 });
  });

  it('RHEL 5 falls back to the ip_conntrack names', async () => {
    const { m, f } = await probe('rhel5-2.6.18');
    expect(m.count).toEqual({ status: 'ok', path: join(f.proc, 'sys/net/ipv4/netfilter/ip_conntrack_count'), value: 58982 });
    expect(m.max).toEqual({ status: 'ok', path: join(f.proc, 'sys/net/ipv4/netfilter/ip_conntrack_max'), value: 65536 });
    expect(m.buckets).toMatchObject({ status: 'ok', value: 8192 });
    expect(m.module).toBe('loadable');
    expect(m.moduleName).toBe('ip_conntrack');
  });

  it('conntrack absent: every name tried, no module', async () => {
    const { m, f } = await probe('absent');
    expect(m.count).toEqual({
      status: 'missing',
      path: join(f.proc, 'sys/net/netfilter/nf_conntrack_count'),
      tried: [join(f.proc, 'sys/net/netfilter/nf_conntrack_count'), join(f.proc, 'sys/net/ipv4/netfilter/ip_conntrack_count')],
    });
    expect(m.module).toBe('absent');
  });

  it('nf_conntrack listed in /proc/modules is a module even where initstate cannot be read', async () => {
    const copy = copyFixture('linux-6.8');
    try {
      rmSync(join(copy.dir, 'sys/module/nf_conntrack/initstate'));
      const host = { procRoot: join(copy.dir, 'proc'), sysRoot: join(copy.dir, 'sys') };
      expect(await probeTable(host)).toMatchObject({ module: 'loadable', moduleName: 'nf_conntrack' });
      // /sys not mounted at all (a container): /proc/modules still tells.
      expect(await probeTable({ ...host, sysRoot: join(copy.dir, 'no-sys') })).toMatchObject({
        module: 'loadable',
        moduleName: 'nf_conntrack',
      });
    } finally {
      copy.dispose();
    }
  });

  it('garbage is invalid, not missing', async () => {
    const { m } = await probe('garbage');
    expect(m.count).toMatchObject({ status: 'invalid', reason: "'12x4?5' is not a whole number" });
  });

  it('a directory where a file should be is an error that names the path', async () => {
    const copy = copyFixture('linux-6.8');
    try {
      const count = join(copy.dir, 'proc/sys/net/netfilter/nf_conntrack_count');
      rmSync(count);
      mkdirSync(count);
      const m = await probeTable({ procRoot: join(copy.dir, 'proc'), sysRoot: join(copy.dir, 'sys') });
      expect(m.count).toMatchObject({ status: 'error', path: count });
      expect(m.count.status === 'error' && m.count.message).toMatch(/EISDIR/);
    } finally {
      copy.dispose();
    }
  });
});
