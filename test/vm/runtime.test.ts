/**
 * How the plugin runs on stock kernels: the single executable with no node
 * at all, the bundle under the oldest supported Node (18), and the kernel-log
 * scan over a ring buffer of 200,000 records (log_buf_len=32M; printk.devkmsg=on
 * lifts the rate limit on writes to /dev/kmsg).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { buildArtifact } from '../packaging/support';
import { describeKernels, describeStep } from './harness';

const IPT = '/usr/sbin/iptables-legacy';
const FLOOD = 200_000;

let seaDir: string | undefined;
let sea: string | undefined;
/** Built once for the three boots, the way `npm run package:sea` builds it. */
function singleExecutable(): string {
  if (!sea) {
    seaDir = mkdtempSync(join(tmpdir(), 'cc-vm-sea-'));
    sea = buildArtifact('sea', seaDir);
  }
  return sea;
}
afterAll(() => {
  if (seaDir) rmSync(seaDir, { recursive: true, force: true });
});

/** Seconds since boot, from a guest's /proc/uptime. */
const uptime = "cut -d' ' -f1 /proc/uptime";

describeKernels(
  'runtime',
  () => ({ append: 'log_buf_len=32M printk.devkmsg=on', extras: { sea: singleExecutable() } }),
  (ctx) => {
    it('a full table leaves table-full messages in the log', async () => {
      const vm = ctx.vm();
      const r = await vm.sh(
        `${IPT} -A INPUT -m conntrack --ctstate INVALID -j DROP && echo 8 > /proc/sys/net/netfilter/nf_conntrack_max
(sleep 600 | /usr/bin/node /opt/cc/hold-connections.cjs 8 600 > /tmp/full.out 2>&1 &)
(sleep 600 | /usr/bin/node /opt/cc/hold-connections.cjs 6 600 > /tmp/over.out 2>&1 &)
for i in $(seq 1 120); do [ -s /tmp/full.out ] && [ -s /tmp/over.out ] && break; sleep 0.5; done
/usr/bin/dmesg | grep -c 'table full'`,
      );
      expect(Number(r.stdout.trim()), describeStep(r)).toBeGreaterThanOrEqual(1);
    });

    it('the bundle runs under Node 18', async () => {
      const r = await ctx.vm().sh('/opt/node18/node --version && /opt/node18/node /opt/cc/check_conntrack --no-state -t 60');
      expect(r.stdout, describeStep(r)).toMatch(/^v18\.\d+\.\d+\nCONNTRACK CRITICAL - 100\.0% of table used \(8 of 8 entries\)/);
    });

    it(`the log scan over ${FLOOD} records finds what dmesg | grep finds (times reported)`, async () => {
      const vm = ctx.vm();
      const flood = await vm.sh(`a=$(${uptime}); /usr/bin/node /opt/cc/flood-kmsg.cjs ${FLOOD}; b=$(${uptime}); echo "$a $b"`);
      expect(flood.code, describeStep(flood)).toBe(0);
      const grep = await vm.sh(
        `a=$(${uptime}); n=$(/usr/bin/dmesg | tee /tmp/dmesg | grep -c 'table full'); b=$(${uptime}); echo "$n $a $b"; wc -l < /tmp/dmesg`,
      );
      const [expected, g0, g1] = grep.stdout.split('\n')[0]!.split(' ').map(Number);
      const records = Number(grep.stdout.split('\n')[1]);
      expect(records).toBeGreaterThan(FLOOD);
      // Emulated (TCG), the guest runs many times slower than a real host: the
      // time is reported against the default 10 s, not asserted.
      const scan = await vm.sh(
        `a=$(${uptime}); /usr/bin/node /opt/cc/check_conntrack --no-state -t 60 -v > /tmp/scan.out; echo "$? $a $(${uptime})"; cat /tmp/scan.out`,
      );
      const [code, s0, s1] = scan.stdout.split('\n')[0]!.split(' ').map(Number);
      expect(code, describeStep(scan)).toBe(2);
      expect(scan.stdout).toContain(`kernel log (/dev/kmsg): ${expected} 'table full' messages in the last 1h`);
      const [f0, f1] = flood.stdout.trim().split(' ').map(Number);
      console.info(
        `[vm tests] Debian ${ctx.debian}: ${records} records in the ring buffer (${FLOOD} written in ${(f1! - f0!).toFixed(2)} s); ` +
          `dmesg | grep -c 'table full': ${expected} in ${(g1! - g0!).toFixed(2)} s; the check with its log scan: ${(s1! - s0!).toFixed(2)} s (default timeout 10 s; emulated)`,
      );
    });

    it('the single executable runs with no node at all', async () => {
      const r = await ctx
        .vm()
        .sh(
          'rm /usr/bin/node && ! command -v node && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /opt/cc/check_conntrack-sea --no-state -t 60',
        );
      expect(r.stdout, describeStep(r)).toMatch(/^CONNTRACK CRITICAL - 100\.0% of table used \(8 of 8 entries\)/);
    });
  },
);
