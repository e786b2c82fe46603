/**
 * nf_conntrack.enable_hooks=1 on stock kernels: no sysfs file shows it (mode
 * 0), so the check finds it on the kernel command line or in modprobe.d, and
 * from the rising count where it was given to modprobe by hand. Debian's
 * 5.10 has the parameter too (a stable backport of 5.13's).
 */
import { expect, it } from 'vitest';
import { STALE_SUMMARY } from '../../src/checks/stale-modules';
import { describeKernels, describeStep, type VmContext } from './harness';

/** The count after a few loopback connections: they are tracked only while something enables the hooks. */
async function countAfterTraffic(ctx: VmContext): Promise<number> {
  const r = await ctx.vm().sh('/usr/bin/node /opt/cc/connect.cjs 4 >/dev/null && cat /proc/sys/net/netfilter/nf_conntrack_count');
  expect(r.code, describeStep(r)).toBe(0);
  return Number(r.stdout.trim());
}

describeKernels(
  'enable_hooks on the kernel command line',
  () => ({ append: 'nf_conntrack.enable_hooks=1' }),
  (ctx) => {
    it('modprobe applies it; the first run warns and names /proc/cmdline', async () => {
      const vm = ctx.vm();
      expect((await vm.sh('/usr/sbin/modprobe nf_conntrack')).code).toBe(0);
      const r = await vm.check('-v');
      expect(r.code, describeStep(r)).toBe(1);
      expect(r.stdout).toContain(STALE_SUMMARY);
      expect(r.stdout).toMatch(
        /^no rule needs conntrack \[.*\]; nf_conntrack\.enable_hooks=1 \(set in \/proc\/cmdline\) tracks in every namespace$/m,
      );
      expect(r.stdout).toContain(
        'remedy: remove nf_conntrack.enable_hooks=1 (the kernel command line) so that only rules switch tracking on',
      );
    });

    it('and the kernel really tracks without a rule', async () => {
      expect(await countAfterTraffic(ctx)).toBe(4);
    });
  },
);

describeKernels(
  'enable_hooks in modprobe.d, then given to modprobe',
  () => ({}),
  (ctx) => {
    it('an options line in /etc/modprobe.d: the first run warns and names the file', async () => {
      const vm = ctx.vm();
      const load = await vm.sh(
        "echo 'options nf_conntrack enable_hooks=1' > /etc/modprobe.d/hooks.conf && /usr/sbin/modprobe nf_conntrack",
      );
      expect(load.code, describeStep(load)).toBe(0);
      const r = await vm.check('-v --no-state');
      expect(r.code, describeStep(r)).toBe(1);
      expect(r.stdout).toMatch(
        /^no rule needs conntrack \[.*\]; nf_conntrack\.enable_hooks=1 \(set in \/etc\/modprobe\.d\/hooks\.conf line 1\) tracks in every namespace$/m,
      );
      expect(await countAfterTraffic(ctx)).toBe(4);
    });

    it('`modprobe nf_conntrack enable_hooks=1` leaves no trace: the rising count tells', async () => {
      const vm = ctx.vm();
      const reload = await vm.sh(
        'rm /etc/modprobe.d/hooks.conf && /usr/sbin/modprobe -r nf_conntrack && /usr/sbin/modprobe nf_conntrack enable_hooks=1 && mkdir -m 700 /root/state',
      );
      expect(reload.code, describeStep(reload)).toBe(0);
      const first = await vm.check('-v --state-file /root/state/hooks.json');
      expect(first.code, describeStep(first)).toBe(0);
      expect(first.stdout).not.toContain('enable_hooks=1 (set in');
      expect(await countAfterTraffic(ctx)).toBe(4);
      const second = await vm.check('-v --state-file /root/state/hooks.json');
      expect(second.code, describeStep(second)).toBe(1);
      expect(second.stdout).toMatch(
        /^CONNTRACK WARNING - .*conntrack modules loaded but no rule uses them, yet connections are still tracked \((\d+ new entries since the last check|the count rose from 0 to 4)\)/,
      );
    });
  },
);
