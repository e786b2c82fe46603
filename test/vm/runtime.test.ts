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

    it(`the log scan over ${FLOOD} records ends within the default timeout with what dmesg | grep finds (times reported)`, async () => {
      const vm = ctx.vm();
      const flood = await vm.sh(`a=$(${uptime}); /usr/bin/node /opt/cc/flood-kmsg.cjs ${FLOOD}; b=$(${uptime}); echo "$a $b"`);
      expect(flood.code, describeStep(flood)).toBe(0);
      const grep = await vm.sh(
        `a=$(${uptime}); n=$(/usr/bin/dmesg | tee /tmp/dmesg | grep -c 'table full'); b=$(${uptime}); echo "$n $a $b"; wc -l < /tmp/dmesg`,
      );
      const [expected, g0, g1] = grep.stdout.split('\n')[0]!.split(' ').map(Number);
      const records = Number(grep.stdout.split('\n')[1]);
      expect(records).toBeGreaterThan(FLOOD);
      // What is timed is the scan: with the rule gone and its table unloaded no rule
      // listing runs (the entries stay, held open); the table stays full.
      const quiet = await vm.sh(
        `${IPT} -D INPUT -m conntrack --ctstate INVALID -j DROP && /usr/sbin/rmmod iptable_filter && cat /proc/net/ip_tables_names && cat /proc/sys/net/netfilter/nf_conntrack_count`,
      );
      expect(quiet.stdout, describeStep(quiet)).toBe('8\n');
      // No -t: the default timeout. The reader stops at its share of it and says
      // so; a complete count with no note is a scan that ended in time.
      const scan = await vm.sh(
        `a=$(${uptime}); /usr/bin/node /opt/cc/check_conntrack --no-state --kernel-log kmsg --format json > /tmp/scan.json; echo "$? $a $(${uptime})"; cat /tmp/scan.json`,
      );
      const [code, s0, s1] = scan.stdout.split('\n')[0]!.split(' ').map(Number);
      expect(code, describeStep(scan)).toBe(2);
      const json = JSON.parse(scan.stdout.slice(scan.stdout.indexOf('\n') + 1)) as {
        checks: { check: string; notes: string[]; trace: string[]; data: { source?: string; messages?: number } }[];
      };
      const log = json.checks.find((c) => c.check === 'kernel-log');
      expect(log, describeStep(scan)).toMatchObject({ notes: [], trace: [], data: { source: '/dev/kmsg', messages: expected } });
      expect(scan.stdout).not.toMatch(/timed out|out of time|stopped|lower bound/);
      // Where the time goes: node's start, the reads of /dev/kmsg alone, and the check without the log.
      const parts = await vm.sh(
        `a=$(${uptime}); /usr/bin/node -e 0; b=$(${uptime}); r=$(/usr/bin/node /opt/cc/read-kmsg.cjs); c=$(${uptime}); /usr/bin/node /opt/cc/check_conntrack --no-state --kernel-log none > /dev/null; d=$(${uptime}); echo "$a $b $c $d $r"`,
      );
      const [p0, p1, p2, p3, read, readMs] = parts.stdout.trim().split(' ').map(Number);
      expect(read, describeStep(parts)).toBeGreaterThan(FLOOD);
      const [f0, f1] = flood.stdout.trim().split(' ').map(Number);
      const s = (a: number | undefined, b: number | undefined) => `${(b! - a!).toFixed(2)} s`;
      console.info(
        `[vm tests] Debian ${ctx.debian}: ${records} records in the ring buffer (${FLOOD} written in ${s(f0, f1)}); ` +
          `dmesg | grep -c 'table full': ${expected} in ${s(g0, g1)}; the check with its log scan, default timeout 10 s: ${s(s0, s1)} ` +
          `(emulated; node's start ${s(p0, p1)}, ${read} reads of /dev/kmsg alone ${(readMs! / 1000).toFixed(2)} s, the check without the log ${s(p2, p3)})`,
      );
    });

    it('a scan the timeout cuts short says so', async () => {
      // Emulated, 200,000 reads of /dev/kmsg take seconds: with -t 2 the reader
      // reaches its deadline (1.6 s into the run) long before the end of the ring
      // buffer. It must stop there and say so, or the check must report the
      // timeout: never a count that looks complete after the time it was given.
      const r = await ctx.vm().check('--no-state --kernel-log kmsg -t 2');
      const cut =
        /reading \/dev\/kmsg stopped at the time limit, after \d+ records \(raise -t\/--timeout\): newer records were not read, so the count is a lower bound/;
      const timedOut = /^CONNTRACK UNKNOWN - check timed out after 2s/;
      expect(cut.test(r.stdout) || timedOut.test(r.stdout), describeStep(r)).toBe(true);
      console.info(`[vm tests] Debian ${ctx.debian}, -t 2: ${cut.exec(r.stdout)?.[0] ?? r.stdout.split('\n', 1)[0]}`);
    });

    it('the single executable runs with no node at all', async () => {
      const r = await ctx
        .vm()
        .sh(
          'rm /usr/bin/node /opt/node18/node && ! command -v node && ! find / -xdev -name node -type f | grep . && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /opt/cc/check_conntrack-sea --no-state -t 60',
        );
      expect(r.stdout, describeStep(r)).toMatch(/^CONNTRACK CRITICAL - 100\.0% of table used \(8 of 8 entries\)/);
    });
  },
);
