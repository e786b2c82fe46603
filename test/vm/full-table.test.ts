/**
 * A full table on stock kernels: the drop counters and the kernel log as the
 * kernel really writes them (5.10 has the pre-5.15 stat columns), as root and
 * as nobody under Debian's dmesg_restrict=1.
 */
import { expect, it } from 'vitest';
import { describeKernels, describeStep, type VmContext } from './harness';

const IPT = '/usr/sbin/iptables-legacy';
const HELD = 16;
const EXTRA = 8;
const NOBODY = '/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups';

/** The sum of one column of /proc/net/stat/nf_conntrack (per-CPU rows in hex). */
async function statTotal(ctx: VmContext, column: string): Promise<number> {
  const r = await ctx.vm().sh('cat /proc/net/stat/nf_conntrack');
  const [header, ...rows] = r.stdout.trim().split('\n');
  const at = header!.trim().split(/\s+/).indexOf(column);
  return rows.reduce((sum, row) => sum + parseInt(row.trim().split(/\s+/)[at]!, 16), 0);
}

describeKernels(
  'full table',
  () => ({}),
  (ctx) => {
    it('the stat header of the era, and dmesg_restrict=1 by default', async () => {
      const vm = ctx.vm();
      const load = await vm.sh(
        `${IPT} -A INPUT -m conntrack --ctstate INVALID -j DROP && head -1 /proc/net/stat/nf_conntrack && cat /proc/sys/kernel/dmesg_restrict`,
      );
      expect(load.code, describeStep(load)).toBe(0);
      const [header, restrict] = load.stdout.trim().split('\n');
      const v = ctx.version();
      const columns = header!.trim().split(/\s+/);
      expect(columns).toContain(v.major > 5 || v.minor >= 15 ? 'chainlength' : 'search_restart');
      expect(columns.includes('chainlength')).toBe(v.major > 5 || v.minor >= 15);
      expect(columns).toContain('clashres');
      expect(restrict).toBe('1');
    });

    let drops = 0;
    it('baselines as root and as nobody, then connections beyond nf_conntrack_max are dropped', async () => {
      const vm = ctx.vm();
      const dirs = await vm.sh('mkdir -m 700 /root/state && mkdir -m 700 /var/tmp/nobody && chown 65534:65534 /var/tmp/nobody');
      expect(dirs.code, describeStep(dirs)).toBe(0);
      const root = await vm.check('--state-file /root/state/root.json');
      expect(root.stdout, describeStep(root)).toContain('first check: drop counters recorded as the baseline');
      const nobody = await vm.check('--state-file /var/tmp/nobody/nobody.json', 'nobody');
      expect(nobody.stdout, describeStep(nobody)).toContain('first check: drop counters recorded as the baseline');

      const before = await statTotal(ctx, 'drop');
      const fill = await vm.sh(
        `echo ${HELD} > /proc/sys/net/netfilter/nf_conntrack_max
(sleep 600 | /usr/bin/node /opt/cc/hold-connections.cjs ${HELD} 600 > /tmp/full.out 2>&1 &)
(sleep 600 | /usr/bin/node /opt/cc/hold-connections.cjs ${EXTRA} 600 > /tmp/over.out 2>&1 &)
for i in $(seq 1 120); do [ -s /tmp/full.out ] && [ -s /tmp/over.out ] && break; sleep 0.5; done
cat /tmp/full.out /tmp/over.out`,
      );
      expect(fill.stdout, describeStep(fill)).toMatch(/"opened":\d+/);
      drops = (await statTotal(ctx, 'drop')) - before;
      expect(drops).toBeGreaterThanOrEqual(EXTRA);
    });

    it('root: CRITICAL with the exact drop delta, and the log messages in the format of the kernel', async () => {
      const vm = ctx.vm();
      const log = await vm.sh("/usr/bin/dmesg | grep 'table full'");
      expect(log.stdout).toMatch(/nf_conntrack: nf_conntrack: table full, dropping packet/);
      // Every one of them came after the baseline: the table was not full before.
      const messages = log.stdout.trim().split('\n').length;
      const r = await vm.check('--state-file /root/state/root.json -v');
      expect(r.code, describeStep(r)).toBe(2);
      expect(r.stdout, describeStep(r)).toMatch(/^CONNTRACK CRITICAL - /);
      expect(r.stdout).toContain(`; ${drops} packets dropped since last check (table full); `);
      expect(r.stdout).toContain(` ${messages} 'table full' message${messages === 1 ? '' : 's'} in the kernel log since last check`);
    });

    it('nobody: CRITICAL from the counters, the kernel log reported unreadable', async () => {
      const vm = ctx.vm();
      expect((await vm.sh(`${NOBODY} /usr/bin/dmesg`)).code).not.toBe(0);
      const r = await vm.check('--state-file /var/tmp/nobody/nobody.json -v', 'nobody');
      expect(r.code, describeStep(r)).toBe(2);
      expect(r.stdout, describeStep(r)).toMatch(/^CONNTRACK CRITICAL - /);
      expect(r.stdout).toContain(`; ${drops} packets dropped since last check (table full) |`);
      expect(r.stdout).toContain('kernel log not readable (/dev/kmsg: kernel.dmesg_restrict=1 and this process lacks CAP_SYSLOG');
    });
  },
);
