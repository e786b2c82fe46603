/**
 * A namespace drops packets and is deleted; the kernel hands its inode to a new
 * namespace. The kernel log still says "table full in netns N": the new
 * namespace, whose drop counter is 0, must not be judged for them, the host
 * must not count them as its own, and `--namespaces all` reports them once, as
 * a gone namespace's.
 */
import { expect, it } from 'vitest';
import { describeRun, runBundle } from '../support/bundle';
import { cleanUp, reportCleanup } from '../support/cleanup';
import {
  addMasquerade,
  createNamespace,
  describeKernel,
  holdConnections,
  nsPrefix,
  statTotal,
  withConntrackMax,
  type Holder,
  type Namespace,
} from '../support/netns';

const HELD = 10;
const EXTRA = 3;
/** The kernel gives the lowest free number: holding the lower ones walks new namespaces up to the freed one. */
const MAX_TRIES = 300;

interface JsonCheck {
  check: string;
  state: string;
  summary: string;
  data: Record<string, unknown>;
}

function checksOf(stdout: string): JsonCheck[] {
  return (JSON.parse(stdout) as { checks: JsonCheck[] }).checks;
}

describeKernel('kernel log messages of a deleted namespace whose inode was reused', () => {
  it('are neither the new namespace’s, nor the host’s, and are reported once as a gone namespace’s', async () => {
    const started = Date.now();
    const holders: Holder[] = [];
    const spare: Namespace[] = [];
    let old: Namespace | undefined = createNamespace();
    let fresh: Namespace | undefined;
    let passed = false;
    try {
      addMasquerade(old);
      await withConntrackMax(HELD, async () => {
        const full = await holdConnections(old!, HELD);
        holders.push(full);
        const over = await holdConnections(old!, EXTRA);
        holders.push(over);
        await over.close();
      });
      expect(statTotal(old, 'drop'), 'drops in the namespace to be deleted').toBeGreaterThanOrEqual(EXTRA);
      const inode = old.inode;
      for (const h of holders.splice(0)) await h.close();
      // The new namespace must be clearly younger than the messages (the check allows a second for clocks).
      await new Promise((resolve) => setTimeout(resolve, 1500));
      old.remove();
      old = undefined;

      for (let i = 0; i < MAX_TRIES && !fresh; i++) {
        const ns = createNamespace();
        if (ns.inode === inode) fresh = ns;
        else if (ns.inode < inode) spare.push(ns);
        else {
          ns.remove();
          // The old namespace is freed by a kernel worker, a moment after its deletion.
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      expect(fresh, `a new namespace with inode ${inode} within ${MAX_TRIES} tries`).toBeDefined();
      for (const ns of spare.splice(0)) ns.remove();
      expect(statTotal(fresh!, 'drop'), 'the new namespace has dropped nothing').toBe(0);

      const window = `${Math.ceil((Date.now() - started) / 1000) + 5}s`;
      const common = ['--no-state', '--kernel-log', 'kmsg', '--log-window', window, '--format', 'json'];
      const gone = `netns ${inode} (gone)`;

      // The new namespace: its counter is 0, the messages are not its own.
      const inside = runBundle(common, { prefix: nsPrefix(fresh!) });
      expect(inside.stderr).toBe('');
      const insideChecks = checksOf(inside.stdout);
      expect(insideChecks.find((c) => c.check === 'kernel-log')?.data.messages, describeRun(inside)).toBe(0);
      const insideOther = insideChecks.find((c) => c.check === 'other-namespaces');
      expect(insideOther?.state, describeRun(inside)).toBe('WARNING');
      expect(insideOther?.summary).toContain(gone);
      expect(inside.code, describeRun(inside)).toBe(1);
      expect(inside.stdout).not.toMatch(/raise|nf_conntrack_max=/);

      // The host: the messages name another namespace, gone since.
      const host = runBundle(common);
      expect(host.stderr).toBe('');
      const hostChecks = checksOf(host.stdout);
      expect(hostChecks.find((c) => c.check === 'kernel-log')?.data.namespaces, describeRun(host)).not.toContain(inode);
      expect(hostChecks.find((c) => c.check === 'other-namespaces')?.summary, describeRun(host)).toContain(gone);

      // Every namespace: the new one is judged without them, and they are reported once.
      const all = runBundle([...common, '--namespaces', 'all']);
      expect(all.stderr).toBe('');
      const allChecks = checksOf(all.stdout);
      const judged = (allChecks.find((c) => c.check === 'namespaces')?.data.checked ?? []) as Array<{
        inode: number;
        finding: string;
        state: string;
      }>;
      const mine = judged.find((j) => j.inode === inode);
      expect(mine, describeRun(all)).toBeDefined();
      expect(mine!.finding).not.toContain("'table full'");
      expect(mine!.state).toBe('OK');
      const other = allChecks.find((c) => c.check === 'other-namespaces');
      expect(other?.summary, describeRun(all)).toContain(gone);
      expect(other!.summary.split(gone).length - 1, 'the gone namespace is named once').toBe(1);

      // Now the new namespace drops too: its own messages count for it, the old ones still do not.
      addMasquerade(fresh!);
      await withConntrackMax(HELD, async () => {
        const full = await holdConnections(fresh!, HELD);
        holders.push(full);
        const over = await holdConnections(fresh!, EXTRA);
        holders.push(over);
        await over.close();
      });
      expect(statTotal(fresh!, 'drop'), 'drops in the new namespace').toBeGreaterThanOrEqual(EXTRA);
      const again = runBundle(
        common.map((a) => (a === window ? `${Math.ceil((Date.now() - started) / 1000) + 5}s` : a)),
        { prefix: nsPrefix(fresh!) },
      );
      const againChecks = checksOf(again.stdout);
      const own = againChecks.find((c) => c.check === 'kernel-log');
      expect(own?.data.messages, describeRun(again)).toBeGreaterThanOrEqual(1);
      expect(own?.state).toBe('CRITICAL');
      const earlier = (againChecks.find((c) => c.check === 'other-namespaces')?.data.sources ?? []) as Array<{
        netns: number | null;
        label: string;
        messages: number;
      }>;
      expect(
        earlier.find((o) => o.netns === inode),
        describeRun(again),
      ).toMatchObject({ label: gone });
      passed = true;
    } finally {
      const errors = await cleanUp([
        ...holders.map((h) => () => h.close()),
        ...spare.map((ns) => () => ns.remove()),
        () => old?.remove(),
        () => fresh?.remove(),
      ]);
      reportCleanup(errors, passed);
    }
  }, 120_000);
});
