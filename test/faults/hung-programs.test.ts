/**
 * Issue 8, item 3: a dmesg, journalctl, iptables-save, nft or conntrack that
 * hangs, crashes, prints garbage or floods megabytes. The plugin must stay
 * inside --timeout, kill what it started (no process left behind), cap what
 * it reads, and say which program failed.
 *
 * Each program is replaced, for the plugin's eyes only, by a fake from
 * test/faults/bin/ bind-mounted over it in a private mount namespace (see
 * support.ts). The plugin is the real bundle, run as root on this host's real
 * /proc, with --no-state so that the host's state file is left alone.
 */
import { existsSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { itReady, readiness, type Readiness } from '../support/readiness';
import {
  deadDevice,
  describeFaults,
  describeRun,
  floodSent,
  killLeftovers,
  leftovers,
  linesBlaming,
  makeWork,
  MKNOD,
  programPath,
  recordedPids,
  renderFake,
  runFaulted,
  statusProblems,
  type FakeKind,
  type FaultRun,
  type Substitution,
  type Work,
} from './support';

const TIMEOUT_S = 3;
/** Node's start-up, unshare and the wrapper, on a loaded 2-CPU machine. */
const MARGIN_MS = 2_000;
const MAX_RSS_KB = 300 * 1024;
const FLOOD_BYTES = 200 * 1024 * 1024;
const COMMON = ['--no-state', '-t', String(TIMEOUT_S), '-vv'];

interface Target {
  /** The program name, as the plugin looks it up. */
  readonly name: string;
  /** Options that make the plugin run it. */
  readonly args: readonly string[];
  /** Hide /proc/net: `conntrack -S` runs only when the stat file is missing. */
  readonly hideProcNet?: boolean;
  /** Why it cannot be tested here, if it cannot. */
  readonly unavailable?: string;
}

const JOURNAL_DIRS = ['/run/log/journal', '/var/log/journal'];

function target(name: string, args: readonly string[], extra: { hideProcNet?: boolean; needs?: string } = {}): Target {
  const path = programPath(name);
  const unavailable = !path ? `${name} is not installed (the plugin would not run it)` : extra.needs;
  return { name, args, hideProcNet: extra.hideProcNet, unavailable };
}

/** A program this machine lacks: a skip on a developer's machine, a failure under CI. */
const lacking = (missing: string | undefined): Readiness => readiness({ missing });

const TARGETS: readonly Target[] = [
  target('dmesg', ['--kernel-log', 'dmesg']),
  // As root the plugin asks the journal only when one of its directories exists.
  target('journalctl', ['--kernel-log', 'journal'], {
    needs: JOURNAL_DIRS.some((d) => existsSync(d))
      ? undefined
      : `neither ${JOURNAL_DIRS.join(' nor ')} exists, so the plugin never runs journalctl`,
  }),
  // The rule listings run as root whenever --proc is /proc. A bind mount follows
  // the symlink, so the ip6tables twin of each (same multi-call binary) is the
  // fake too.
  target('iptables-legacy-save', ['--kernel-log', 'none']),
  target('iptables-nft-save', ['--kernel-log', 'none']),
  target('nft', ['--kernel-log', 'none']),
  target('conntrack', ['--kernel-log', 'none'], { hideProcNet: true }),
];

const KINDS: ReadonlyArray<{ kind: FakeKind; what: string }> = [
  { kind: 'hang', what: 'hangs and ignores SIGTERM' },
  { kind: 'crash', what: 'crashes (SIGSEGV)' },
  { kind: 'garbage', what: 'prints garbage and exits 0' },
  { kind: 'flood', what: 'floods 200 MiB' },
];

let current: { work: Work; mntNs?: string } | undefined;

afterEach(async () => {
  if (!current) return;
  try {
    await killLeftovers(current.work, current.mntNs);
  } finally {
    current.work.dispose();
    current = undefined;
  }
});

async function run(
  label: string,
  build: (work: Work) => { substitutions: Substitution[]; args: readonly string[]; hideProcNet?: boolean; kmsg?: string },
): Promise<{ run: FaultRun; work: Work }> {
  const work = makeWork(label);
  current = { work };
  const spec = build(work);
  const result = await runFaulted({ work, ...spec, args: [...COMMON, ...spec.args] });
  current.mntNs = result.mntNs;
  return { run: result, work };
}

/** The properties every faulted run must have, each reported on its own. */
async function expectContained(r: FaultRun, work: Work, blamed: readonly string[]): Promise<void> {
  const context = describeRun(r);
  // CC_FAULTS_VERBOSE=1 shows what each run said about the programs, pass or fail.
  if (process.env.CC_FAULTS_VERBOSE)
    console.log(
      `${r.status.slice(0, 160)}\n${blamed.map((p) => `  ${p}: ${JSON.stringify(linesBlaming(r, p))}`).join('\n')}\n  ${Math.round(r.wallMs)} ms, ${r.peakRssKb} KiB`,
    );
  expect
    .soft(r.wallMs, `the run must end within -t ${TIMEOUT_S} plus ${MARGIN_MS} ms\n${context}`)
    .toBeLessThan(TIMEOUT_S * 1000 + MARGIN_MS);
  expect.soft(statusProblems(r), `a valid status line, exit code 0..3, no stack trace\n${context}`).toEqual([]);
  const left = await leftovers(work, r.mntNs);
  expect.soft(left, `no process may outlive the check\n${context}`).toEqual([]);
  expect.soft(r.peakRssKb, `peak RSS must be measured and stay under ${MAX_RSS_KB} KiB\n${context}`).toBeLessThan(MAX_RSS_KB);
  for (const program of blamed) {
    expect
      .soft(linesBlaming(r, program), `the output (at -vv) must name ${program} as the program that failed\n${context}`)
      .not.toEqual([]);
  }
}

describeFaults(
  'programs that hang, crash, print garbage or flood (real processes, private mount namespace)',
  () => {
    for (const t of TARGETS) {
      for (const { kind, what } of KINDS) {
        itReady(
          'faults',
          `${t.name} that ${what}`,
          lacking(t.unavailable),
          async () => {
            const path = programPath(t.name)!;
            const { run: r, work } = await run(`${kind}-${t.name}`, (w) => ({
              substitutions: [{ fake: renderFake(w, kind, t.name), target: path }],
              args: t.args,
              hideProcNet: t.hideProcNet,
            }));
            // The fake really ran: otherwise the test proves nothing.
            expect(recordedPids(work).length, `the fake ${t.name} never ran\n${describeRun(r)}`).toBeGreaterThan(0);
            await expectContained(r, work, [path]);
            if (kind === 'flood') {
              // Capped: the plugin stopped reading (and the writer) long before the end.
              const sent = floodSent(work);
              expect.soft(sent.length, `the flood fake recorded nothing\n${describeRun(r)}`).toBeGreaterThan(0);
              for (const bytes of sent)
                expect
                  .soft(bytes, `the plugin read the whole flood (${bytes} bytes) instead of stopping at its cap\n${describeRun(r)}`)
                  .toBeLessThan(FLOOD_BYTES);
            }
          },
          60_000,
        );
      }
    }

    const runnable = TARGETS.filter((t) => t.unavailable === undefined && t.name !== 'journalctl');
    it(`every program the plugin runs at once (${runnable.map((t) => t.name).join(', ')}) hangs`, { timeout: 60_000 }, async () => {
      const { run: r, work } = await run('all-hang', (w) => ({
        substitutions: runnable.map((t) => ({ fake: renderFake(w, 'hang', t.name), target: programPath(t.name)! })),
        args: ['--kernel-log', 'dmesg'],
        hideProcNet: true,
      }));
      // Hiding /proc/PID/net (so that conntrack -S runs) also hides
      // ip_tables_names: with no legacy table in sight the plugin rightly
      // starts no iptables-legacy-save, so only the others can be named.
      await expectContained(
        r,
        work,
        runnable.filter((t) => t.name !== 'iptables-legacy-save').map((t) => programPath(t.name)!),
      );
    });

    // The -nft-save dumps run after `nft -j list ruleset` has answered (they
    // run only for the families it shows, or all when it fails): two hung
    // listings in a row, again longer than the run's own timeout.
    const nftChain = ['nft', 'iptables-nft-save'].map((n) => TARGETS.find((t) => t.name === n)!);
    const nftChainSkip = nftChain.find((t) => t.unavailable)?.unavailable;
    itReady(
      'faults',
      `nft hangs, then iptables-nft-save hangs`,
      lacking(nftChainSkip),
      async () => {
        const { run: r, work } = await run('nft-chain', (w) => ({
          substitutions: nftChain.map((t) => ({ fake: renderFake(w, 'hang', t.name), target: programPath(t.name)! })),
          args: ['--kernel-log', 'none'],
        }));
        await expectContained(
          r,
          work,
          nftChain.map((t) => programPath(t.name)!),
        );
      },
      60_000,
    );

    // --kernel-log auto tries /dev/kmsg, then dmesg, then the journal, one after
    // the other: two hung programs in a row take 2 x 0.8 x --timeout, so the
    // run's own timeout must fire, kill journalctl, and still say who hung.
    const chain = TARGETS.filter((t) => t.name === 'dmesg' || t.name === 'journalctl');
    const chainSkip = chain.find((t) => t.unavailable)?.unavailable ?? (existsSync(MKNOD) ? undefined : `${MKNOD} is missing`);
    itReady(
      'faults',
      `--kernel-log auto with /dev/kmsg unreadable: dmesg hangs, then journalctl hangs (the run's own timeout fires)`,
      lacking(chainSkip),
      async () => {
        const { run: r, work } = await run('auto-chain', (w) => ({
          substitutions: [
            { fake: renderFake(w, 'hang', 'dmesg'), target: programPath('dmesg')! },
            { fake: renderFake(w, 'hang', 'journalctl'), target: programPath('journalctl')! },
          ],
          args: ['--kernel-log', 'auto'],
          kmsg: deadDevice(w),
        }));
        await expectContained(r, work, [programPath('dmesg')!, programPath('journalctl')!]);
      },
      60_000,
    );

    // A program that leaves a helper behind in its process group (a wrapper
    // script, a pager): killing only the program leaves the helper running.
    const dmesg = TARGETS.find((t) => t.name === 'dmesg')!;
    itReady(
      'faults',
      `dmesg that starts a helper sharing its output, then hangs`,
      lacking(dmesg.unavailable),
      async () => {
        const { run: r, work } = await run('orphan-dmesg', (w) => ({
          substitutions: [{ fake: renderFake(w, 'orphan', 'dmesg'), target: programPath('dmesg')! }],
          args: dmesg.args,
        }));
        await expectContained(r, work, [programPath('dmesg')!]);
      },
      60_000,
    );
  },
  [MKNOD],
);
