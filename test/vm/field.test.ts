/**
 * The field scenario on stock Debian kernels, where conntrack is a module:
 * a fresh boot, `iptables -t nat -L` loading the modules, a nat rule, the
 * flush that leaves them loaded, and the printed remedy run for real.
 */
import { expect, it } from 'vitest';
import { CONNTRACK_MODULES } from '../../src/parse/proc-modules';
import { describeKernels, describeStep, lines } from './harness';

const IPT = '/usr/sbin/iptables-legacy';
const CONNTRACK_NAMES = new Set(CONNTRACK_MODULES);

describeKernels(
  'stale modules, field scenario',
  () => ({}),
  (ctx) => {
    let remedyLines: string[] = [];

    it('a fresh boot: nothing of netfilter loaded, and the check as root with every default source loads no module', async () => {
      const vm = ctx.vm();
      const before = await vm.modules();
      expect(before.filter((m) => CONNTRACK_NAMES.has(m))).toEqual([]);
      const r = await vm.check('');
      expect(r.stdout, describeStep(r)).toMatch(/^CONNTRACK OK - connection tracking is not active/);
      expect(await vm.modules()).toEqual(before);
    });

    it('`iptables -t nat -L` loads the conntrack modules', async () => {
      const vm = ctx.vm();
      const r = await vm.sh(`${IPT} -t nat -L -n`);
      expect(r.code, describeStep(r)).toBe(0);
      expect(await vm.modules()).toEqual(
        expect.arrayContaining(['iptable_nat', 'nf_nat', 'nf_conntrack', 'nf_defrag_ipv4', 'nf_defrag_ipv6']),
      );
    });

    // Lists rules only through programs that cannot load a module: nft and
    // iptables-nft-save only where nf_tables is loaded already.
    it('with conntrack loaded and nf_tables not, the check loads no module (nft is not run)', async () => {
      const vm = ctx.vm();
      const before = await vm.modules();
      expect(before).not.toContain('nf_tables');
      const r = await vm.check('-v');
      expect(r.code, describeStep(r)).toBe(0);
      expect(await vm.modules()).toEqual(before);
    });

    it('a nat rule: conntrack_rules counts it', async () => {
      const vm = ctx.vm();
      const add = await vm.sh(`${IPT} -t nat -A POSTROUTING -s 10.0.0.0/8 -o eth0 -j MASQUERADE && /usr/bin/node /opt/cc/connect.cjs 5`);
      expect(add.stdout, describeStep(add)).toContain('{"opened":5}');
      const r = await vm.check('-v --no-state');
      expect(r.code, describeStep(r)).toBe(0);
      expect(r.stdout).toMatch(/ conntrack_rules=1\b/);
      expect(lines(r).find((l) => l.startsWith('conntrack modules loaded: '))).toMatch(/\bnf_conntrack\b/);
      expect(
        // A listing stops at the first rule that needs conntrack: its count is a lower bound.
        lines(r).some((l) => /^(?:at least )?1 rule needs conntrack \(.*nat POSTROUTING\)/.test(l)),
        describeStep(r),
      ).toBe(true);
    });

    it('flushed: OK on these kernels (hooks only while a rule needs them), the leftover entries counted, the remedy at -v', async () => {
      const vm = ctx.vm();
      const flush = await vm.sh(`${IPT} -t nat -F && ${IPT} -t nat -X && cat /proc/sys/net/netfilter/nf_conntrack_count`);
      expect(flush.code, describeStep(flush)).toBe(0);
      const left = Number(flush.stdout.trim());
      expect(left).toBeGreaterThanOrEqual(5);
      const r = await vm.check('-v --no-state');
      expect(r.code, describeStep(r)).toBe(0);
      expect(r.stdout).toMatch(/ conntrack_rules=0\b/);
      const kernel = (await vm.sh('cat /proc/sys/kernel/osrelease')).stdout.trim();
      const verdict = lines(r).find((l) => l.startsWith('no rule needs conntrack'));
      expect(verdict, describeStep(r)).toMatch(
        new RegExp(`kernel ${kernel.replace(/[.+]/g, '\\$&')} tracks only while a rule needs it: \\d+ entries left will expire`),
      );
      expect(Number(/: (\d+) entries left/.exec(verdict!)![1])).toBeGreaterThanOrEqual(5);
      remedyLines = lines(r);
      expect(remedyLines.some((l) => l.startsWith('remedy: unload them, users first (this empties the table): rmmod '))).toBe(true);
    });

    it('the printed rmmod line unloads every conntrack module', async () => {
      const vm = ctx.vm();
      const rmmod = remedyLines.find((l) => l.startsWith('remedy: unload them'))!.replace(/^.*: rmmod /, '');
      const r = await vm.sh(`/usr/sbin/rmmod ${rmmod}`);
      expect(r.code, describeStep(r)).toBe(0);
      expect((await vm.modules()).filter((m) => CONNTRACK_NAMES.has(m))).toEqual([]);
      expect((await vm.sh('test -e /proc/sys/net/netfilter/nf_conntrack_count')).code).not.toBe(0);
    });

    it('the printed modprobe.d lines keep `iptables -t nat -L` from loading nf_conntrack, and the check says so', async () => {
      const vm = ctx.vm();
      const at = remedyLines.findIndex((l) => l.includes('in /etc/modprobe.d/no-conntrack.conf:'));
      const conf = remedyLines
        .slice(at + 1)
        .filter((l) => /^ {2}(blacklist|install) /.test(l))
        .map((l) => l.trim());
      expect(conf).toContain('install nf_conntrack /bin/false');
      const write = await vm.sh(`cat > /etc/modprobe.d/no-conntrack.conf <<'EOF'\n${conf.join('\n')}\nEOF\n${IPT} -t nat -L -n`);
      expect(write.code, describeStep(write)).not.toBe(0);
      expect(await vm.modules()).not.toContain('nf_conntrack');
      const r = await vm.check('-v --no-state');
      expect(r.stdout, describeStep(r)).toMatch(/^CONNTRACK OK - connection tracking is not active/);
    });
  },
);
