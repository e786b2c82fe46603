/**
 * `--namespaces all` on the real kernel: the built bundle runs in the HOST
 * namespace (no prefix) and has to find three namespaces of our own through
 * the processes held in them and /run/netns, read each one's count and
 * counters through /proc/PID/net/stat/nf_conntrack, and let the worst lead.
 *
 *   A: 10 connections held with nf_conntrack_max lowered to 10, and 3 more
 *      attempts that the full table drops: CRITICAL, with the drops since the
 *      last check.
 *   B: 9 held: 90%, above the 80% warning but not above the 90% critical.
 *   C: 2 held: OK, in the top list.
 *
 * Every number the assertions use is read from the kernel by this file: the
 * counts from inside each namespace, the drop counter from A's own
 * /proc/net/stat/nf_conntrack, the inodes from /run/netns.
 */
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeRun, runBundle, type BundleRun } from '../support/bundle';
import { cleanUp, reportCleanup } from '../support/cleanup';
import {
  addMasquerade,
  COUNT_FILE,
  createNamespace,
  describeKernel,
  statTotal,
  holdConnections,
  readConntrackMax,
  waitForCount,
  withConntrackMax,
  type Holder,
  type Namespace,
} from '../support/netns';

const SETPRIV = '/usr/bin/setpriv';
const KMSG = '/dev/kmsg';
const NOBODY = 65534;
const AS_NOBODY = [SETPRIV, `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'];

const MAX = 10;
const A_HELD = 10;
const A_EXTRA = 3;
const B_HELD = 9;
const C_HELD = 2;

/** The host's own count: this process runs in the host namespace. */
function hostCount(): number {
  return Number(readFileSync(COUNT_FILE, 'utf8').trim());
}

/** How the plugin names one of our namespaces: `netns <ip netns name> (<inode>)`. */
function label(ns: Namespace): string {
  return `netns ${ns.name} (${ns.inode})`;
}

/** The perfdata part of the status line, split into label=value fields. */
function perfdata(run: BundleRun): Map<string, string> {
  const bar = run.status.indexOf(' | ');
  const fields =
    bar < 0
      ? []
      : run.status
          .slice(bar + 3)
          .trim()
          .split(/\s+/);
  return new Map(fields.map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)]));
}

/** The value of one perfdata field, without its warn/crit/min/max. */
function perfValue(run: BundleRun, name: string): string | undefined {
  return perfdata(run).get(name)?.split(';')[0];
}

/** The long-output lines of the namespace check: listed not-OK ones and the top list. */
function namespaceSections(run: BundleRun): { notOk: string[]; top: string[] } {
  const start = run.lines.findIndex((l) => /^namespaces: \d+ found, /.test(l));
  if (start < 0) return { notOk: [], top: [] };
  const notOk: string[] = [];
  const top: string[] = [];
  let inTop = false;
  for (const line of run.lines.slice(start + 1)) {
    if (/^top \d+ of the others by usage:$/.test(line)) {
      inTop = true;
      continue;
    }
    if (!line.startsWith('  ')) break;
    (inTop ? top : notOk).push(line.trim());
  }
  return { notOk, top };
}

/** The lines of namespaces that are not ours (another user of this host may have some). */
function foreignNotOk(lines: readonly string[], ours: readonly Namespace[]): string[] {
  return lines.filter((l) => !ours.some((ns) => l.startsWith(`${label(ns)}:`)));
}

/** line is in the top list, and first in it unless namespaces not ours have more entries. */
function expectInTop(run: BundleRun, sections: { top: string[] }, line: string, ours: readonly Namespace[]): void {
  const at = sections.top.indexOf(line);
  expect(at, `${JSON.stringify(line)} in the top list:\n${run.stdout}`).toBeGreaterThanOrEqual(0);
  const ahead = sections.top.slice(0, at);
  if (ahead.length) console.warn(`[namespaces test] namespaces not ours rank above ${line}:\n  ${ahead.join('\n  ')}`);
  expect(foreignNotOk(ahead, ours), `only namespaces not ours may rank above ${line}`).toEqual(ahead);
}

describeKernel(
  '--namespaces all on the real kernel, run from the host namespace',
  () => {
    it('finds three namespaces by their processes, leads with the fullest, counts its drops since the last check, and says what nobody cannot see', async () => {
      const namespaces: Namespace[] = [];
      const holders: Holder[] = [];
      const idle = new Map<Namespace, Holder>();
      const dirs: string[] = [];
      let passed = false;
      try {
        const [A, B, C] = [createNamespace(), createNamespace(), createNamespace()] as [Namespace, Namespace, Namespace];
        namespaces.push(A, B, C);
        for (const ns of namespaces) {
          addMasquerade(ns);
          // A process in each, so that /proc/PID/ns/net finds it and the plugin reads it through /proc/PID.
          const holder = await holdConnections(ns, 0);
          holders.push(holder);
          idle.set(ns, holder);
          expect(holder, `idle holder in ${ns.name}`).toMatchObject({ opened: 0, failed: 0 });
        }

        const rootDir = mkdtempSync(join(tmpdir(), 'cctest-ns-root-'));
        dirs.push(rootDir);
        const nobodyDir = mkdtempSync(join(tmpdir(), 'cctest-ns-nobody-'));
        dirs.push(nobodyDir);
        chownSync(nobodyDir, NOBODY, NOBODY); // mkdtemp made it 0700
        const rootState = join(rootDir, 's.json');
        const nobodyState = join(nobodyDir, 's.json');
        const common = ['--namespaces', 'all', '--kernel-log', 'kmsg', '-v'];
        const asRoot = (extra: string[] = []) => runBundle([...common, '--state-file', rootState, ...extra]);

        // ---- 1. baseline, every namespace at 0
        // A first run counts the kernel log of the last --log-window; other
        // tests' 'table full' messages would make it CRITICAL, so it looks
        // back one second only.
        const base = asRoot(['--log-window', '1s']);
        expect(base.stderr, 'baseline stderr').toBe('');
        for (const ns of namespaces)
          expect(base.status, `baseline: our namespaces are all empty, none may lead\n${describeRun(base)}`).not.toContain(ns.name);
        // Only something of the host's (or a namespace not ours) may make the baseline anything but OK.
        if (base.code !== 0) console.warn(`[namespaces test] baseline is not OK, not because of our namespaces: ${base.status}`);
        expect(base.code, `baseline: ${describeRun(base)}`).not.toBe(3);
        expect(base.stdout, `baseline sees our namespaces: ${describeRun(base)}`).toContain(label(A));
        expect(existsSync(rootState), 'state file written').toBe(true);
        const dropsBefore = statTotal(A, 'drop');

        const originalMax = readConntrackMax();
        await withConntrackMax(MAX, async () => {
          // ---- 2. fill A (and overflow it), B to 90%, C a little
          const full = await holdConnections(A, A_HELD);
          holders.push(full);
          expect(full, 'connections that fill A').toMatchObject({ opened: A_HELD, failed: 0 });
          const over = await holdConnections(A, A_EXTRA);
          holders.push(over);
          expect(over, 'connections beyond nf_conntrack_max in A').toMatchObject({ opened: 0, failed: A_EXTRA });
          await over.close();
          const b = await holdConnections(B, B_HELD);
          holders.push(b);
          expect(b, 'connections in B').toMatchObject({ opened: B_HELD, failed: 0 });
          const c = await holdConnections(C, C_HELD);
          holders.push(c);
          expect(c, 'connections in C').toMatchObject({ opened: C_HELD, failed: 0 });

          expect(await waitForCount(A, A_HELD), `count in ${A.name}`).toBe(A_HELD);
          expect(await waitForCount(B, B_HELD), `count in ${B.name}`).toBe(B_HELD);
          expect(await waitForCount(C, C_HELD), `count in ${C.name}`).toBe(C_HELD);
          expect(hostCount(), 'the host namespace has no rules and tracks nothing').toBe(0);

          const dropsAfter = statTotal(A, 'drop');
          const D = dropsAfter - dropsBefore;
          // Each failed attempt lost at least its SYN.
          expect(D, `drop counter of ${A.name}: ${dropsBefore} -> ${dropsAfter}`).toBeGreaterThanOrEqual(A_EXTRA);

          // ---- 3. CRITICAL, led by A, B the one more not OK
          const run3 = asRoot();
          console.log(`[namespaces test] A full, B at 90%, C at 20%:\n${run3.stdout}`);
          const dropsAfterRun = statTotal(A, 'drop');
          expect(dropsAfterRun, 'no drop in A while the bundle ran (else D is ambiguous)').toBe(dropsAfter);
          expect(run3.stderr, 'step 3 stderr').toBe('');
          expect(run3.code, `step 3: ${describeRun(run3)}`).toBe(2);
          const aText =
            `${label(A)}: 100.0% of table used (${A_HELD} of ${MAX} entries), ` +
            `${D} ${D === 1 ? 'packet' : 'packets'} dropped since last check (table full)`;
          const bText = `${label(B)}: 90.0% of table used (${B_HELD} of ${MAX} entries)`;
          const cText = `${label(C)}: 20.0% of table used (${C_HELD} of ${MAX} entries)`;
          const s3 = namespaceSections(run3);
          // The max is global: a namespace someone else has on this host may be over it too. Ours must then
          // still be right, but that one may lead.
          const foreign3 = foreignNotOk(s3.notOk, namespaces);
          if (foreign3.length) console.warn(`[namespaces test] step 3: namespaces not ours are not OK either:\n  ${foreign3.join('\n  ')}`);
          expect(
            s3.notOk.filter((l) => l.startsWith(`${label(A)}:`)),
            `A in the not-OK list of step 3:\n${run3.stdout}`,
          ).toHaveLength(1);
          expect(
            s3.notOk.find((l) => l.startsWith(`${label(A)}:`))!.startsWith(aText),
            `A's line starts with ${JSON.stringify(aText)}:\n${run3.stdout}`,
          ).toBe(true);
          expect(s3.notOk.indexOf(bText), `B's line in the not-OK list of step 3, after A's:\n${run3.stdout}`).toBeGreaterThan(
            s3.notOk.findIndex((l) => l.startsWith(`${label(A)}:`)),
          );
          expect(s3.notOk, `not-OK list of step 3:\n${run3.stdout}`).toHaveLength(2 + foreign3.length);
          const more3 = s3.notOk.length - 1;
          expect(run3.status, 'step 3 counts the other namespaces not OK').toMatch(
            new RegExp(`^[^|]* \\(and ${more3} more ${more3 === 1 ? 'namespace' : 'namespaces'} not OK\\)`),
          );
          if (s3.notOk[0]!.startsWith(`${label(A)}:`)) {
            const head = `CONNTRACK CRITICAL - ${aText}`;
            expect(run3.status.startsWith(head), `step 3 status starts with ${JSON.stringify(head)}:\n${describeRun(run3)}`).toBe(true);
            expect(perfValue(run3, 'worst_entries'), 'worst_entries').toBe(String(A_HELD));
            expect(perfValue(run3, 'worst_usage'), 'worst_usage').toBe('100%');
          } else {
            expect(run3.status.startsWith(`CONNTRACK CRITICAL - ${s3.notOk[0]}`), `step 3 led by ${s3.notOk[0]}`).toBe(true);
          }
          expect(run3.status, 'the host line').toContain(`0.0% of table used (0 of ${MAX} entries)`);
          expect(Number(perfValue(run3, 'namespaces')), `namespaces= in ${run3.status}`).toBeGreaterThanOrEqual(4);
          expect(run3.stdout).toMatch(
            new RegExp(`^namespaces: ${perfValue(run3, 'namespaces')} found, \\d+ checked besides this one`, 'm'),
          );
          expectInTop(run3, s3, cText, namespaces);
          // The host's own drop counter did not move: A's drops are A's alone.
          expect(run3.stdout).toMatch(/since last check \d+\S* ago: drop \+0,/);

          // ---- 4. A gone (its TIME_WAIT entries with it): WARNING, led by B
          for (const h of [full, idle.get(A)!]) await h.close();
          A.remove();
          const run4 = asRoot();
          console.log(`[namespaces test] A deleted:\n${run4.status}`);
          expect(run4.stderr, 'step 4 stderr').toBe('');
          expect(run4.stdout, 'A is gone').not.toContain(A.name);
          expect(run4.status).toContain(`0.0% of table used (0 of ${MAX} entries)`);
          expect(Number(perfValue(run4, 'namespaces')), `namespaces= in ${run4.status}`).toBeGreaterThanOrEqual(3);
          const s4 = namespaceSections(run4);
          const foreign4 = foreignNotOk(s4.notOk, namespaces);
          if (foreign4.length) console.warn(`[namespaces test] step 4: namespaces not ours are not OK either:\n  ${foreign4.join('\n  ')}`);
          expect(s4.notOk, `not-OK list of step 4:\n${run4.stdout}`).toContain(bText);
          expect(s4.notOk).toHaveLength(1 + foreign4.length);
          expectInTop(run4, s4, cText, namespaces);
          if (foreign4.length === 0) {
            expect(run4.code, `step 4: ${describeRun(run4)}`).toBe(1);
            const head4 = `CONNTRACK WARNING - ${bText}`;
            expect(run4.status.startsWith(head4), `step 4 status starts with ${JSON.stringify(head4)}:\n${describeRun(run4)}`).toBe(true);
            expect(run4.status).not.toContain('more namespace');
            expect(perfValue(run4, 'worst_entries')).toBe(String(B_HELD));
            expect(perfValue(run4, 'worst_usage')).toBe('90%');
          }

          // ---- 5. nobody: root's processes are hidden, so B cannot be read
          const run5 = runBundle(['--namespaces', 'all', '--kernel-log', 'kmsg', '-v', '--state-file', nobodyState], { prefix: AS_NOBODY });
          console.log(`[namespaces test] as nobody:\n${run5.stdout}`);
          expect(run5.stderr, 'step 5 stderr').toBe('');
          const hidden = /^(\d+) process(?:es)? could not be inspected \(their ns\/net link is not readable as uid 65534\)/m.exec(
            run5.stdout,
          );
          expect(hidden, `step 5 says how many processes could not be inspected:\n${describeRun(run5)}`).not.toBeNull();
          expect(Number(hidden![1]), 'hidden processes').toBeGreaterThan(0);
          expect(run5.stdout).toContain('run as root to see them');
          // B must not pass for OK: neither in the top list nor as a checked namespace.
          const s5 = namespaceSections(run5);
          expect(
            [...s5.notOk, ...s5.top].filter((l) => l.startsWith(label(B)) && !/of table used \(9 of 10 entries\)/.test(l)),
            'B listed with a wrong count',
          ).toEqual([]);
          expect(
            s5.top.some((l) => l.startsWith(label(B))),
            `B listed as OK to nobody:\n${run5.stdout}`,
          ).toBe(false);
          if (run5.code === 0) {
            // OK overall is only tolerable if the output says B (or namespaces like it) went unchecked.
            expect(run5.stdout, `step 5 is OK, so it must say namespaces were not checked:\n${run5.stdout}`).toMatch(
              /namespaces? not (?:checked|read)/,
            );
          }
        });
        expect(readConntrackMax(), 'nf_conntrack_max restored').toBe(originalMax);
        passed = true;
      } finally {
        const errors = await cleanUp([
          ...holders.map((h) => () => h.close()),
          ...namespaces.map((ns) => () => ns.remove()),
          ...dirs.map((d) => () => rmSync(d, { recursive: true, force: true })),
        ]);
        reportCleanup(errors, passed);
      }
    }, 90_000);
  },
  { needs: [SETPRIV, KMSG] },
);
