/**
 * The table-usage check against the real kernel, through the built bundle run
 * inside a namespace of our own, under every Node the bundle must support.
 * Each scenario gets a fresh namespace: closed connections linger as TIME_WAIT
 * entries for two minutes, so reusing one would carry counts over.
 */
import { expect, it } from 'vitest';
import { NODES, runBundle } from '../support/bundle';
import {
  addMasquerade,
  conntrackCount,
  describeKernel,
  holdConnections,
  nsPrefix,
  readConntrackMax,
  waitForCount,
  withConntrackMax,
  withNamespace,
  type Namespace,
} from '../support/netns';

type StateName = 'OK' | 'WARNING' | 'CRITICAL';
/** A fresh namespace whose table never overflowed: every counter is still 0. */
const COUNTERS = 'drop=0c early_drop=0c insert_failed=0c invalid=0c search_restart=0c clashres=0c chainlength=0c';
/** As root the plugin lists the rules: a namespace with the one MASQUERADE rule, or none. */
const RULES = (n: number) => ` conntrack_rules=${n}`;
const EXIT: Record<StateName, number> = { OK: 0, WARNING: 1, CRITICAL: 2 };

/**
 * The status line the defaults (-w 80% -c 90%) must give, worked out here from
 * the numbers rather than taken from the plugin's code: usage rounded down to
 * one decimal, thresholds in whole entries rounded down.
 */
function expectedStatus(state: StateName, count: number, max: number, rules: number): string {
  const usage = (Math.floor((count * 1000) / max) / 10).toFixed(1);
  const warning = Math.floor((max * 80) / 100);
  const critical = Math.floor((max * 90) / 100);
  return (
    `CONNTRACK ${state} - ${usage}% of table used (${count} of ${max} entries)` +
    ` | entries=${count};${warning};${critical};0;${max} usage=${Number(usage)}%;80;90;0;100 ${COUNTERS}${RULES(rules)}`
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Runs the bundle inside ns under each Node and checks the whole status line and the exit code. */
function expectBundle(ns: Namespace, status: string, exitCode: number): void {
  const whole = new RegExp(`^${escapeRegExp(status)}$`);
  for (const node of NODES) {
    // The table alone: no state file of this user's, and no kernel log (other
    // tests' drop messages would make every run CRITICAL).
    const run = runBundle(['--no-state', '--kernel-log', 'none'], { node: node.path, prefix: nsPrefix(ns) });
    expect(run.stderr, `${node.name} stderr`).toBe('');
    expect(run.status, node.name).toMatch(whole);
    expect(run.code, `${node.name} exit code (stdout: ${run.stdout})`).toBe(exitCode);
  }
}

/** Holds n connections in ns, checks the kernel counted `tracked` of them, then runs the bundle. */
async function holdAndCheck(ns: Namespace, n: number, tracked: number, status: string, exitCode: number): Promise<void> {
  const holder = await holdConnections(ns, n);
  try {
    expect(holder, 'connections the holder opened').toMatchObject({ opened: n, failed: 0 });
    // Guards the test itself: if the kernel did not count what we think it
    // did, a wrong status line would be the test's fault, not the plugin's.
    expect(await waitForCount(ns, tracked), `nf_conntrack_count in ${ns.name}`).toBe(tracked);
    expectBundle(ns, status, exitCode);
    expect(conntrackCount(ns), `nf_conntrack_count in ${ns.name} after the bundle ran`).toBe(tracked);
  } finally {
    await holder.close();
  }
}

describeKernel(
  'table usage on the real kernel',
  () => {
    it('reports the held connections of a namespace with a nat rule against the real nf_conntrack_max', async () => {
      await withNamespace(async (ns) => {
        addMasquerade(ns);
        const max = readConntrackMax();
        await holdAndCheck(ns, 7, 7, expectedStatus('OK', 7, max, 1), 0);
      });
    });

    // With max 10 the default thresholds are 8 and 9 entries, and "80%" means
    // alert above 80%: 8 is the last OK count, 9 warns, 10 is critical.
    it.each([
      {
        held: 8,
        state: 'OK',
        line: 'CONNTRACK OK - 80.0% of table used (8 of 10 entries) | entries=8;8;9;0;10 usage=80%;80;90;0;100 ' + COUNTERS + RULES(1),
      },
      {
        held: 9,
        state: 'WARNING',
        line: 'CONNTRACK WARNING - 90.0% of table used (9 of 10 entries) | entries=9;8;9;0;10 usage=90%;80;90;0;100 ' + COUNTERS + RULES(1),
      },
      {
        held: 10,
        state: 'CRITICAL',
        line:
          'CONNTRACK CRITICAL - 100.0% of table used (10 of 10 entries) | entries=10;8;9;0;10 usage=100%;80;90;0;100 ' +
          COUNTERS +
          RULES(1),
      },
    ] as const)('with nf_conntrack_max=10 and $held connections held: $state', async ({ held, state, line }) => {
      await withConntrackMax(10, () =>
        withNamespace(async (ns) => {
          addMasquerade(ns);
          expect(expectedStatus(state, held, 10, 1), 'the expected-line builder agrees with the literal').toBe(line);
          await holdAndCheck(ns, held, held, line, EXIT[state]);
        }),
      );
    });

    // Since 4.10 the hooks exist in a namespace only while a rule needs them:
    // traffic in a namespace without rules is not tracked at all.
    it('counts nothing in a namespace without rules, with connections held', async () => {
      await withNamespace(async (ns) => {
        const max = readConntrackMax();
        await holdAndCheck(ns, 5, 0, expectedStatus('OK', 0, max, 0), 0);
      });
    });
  },
  { needs: NODES.map((n) => n.path) },
);
