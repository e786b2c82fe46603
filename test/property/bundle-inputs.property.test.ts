/**
 * The built bundle given a hostile kernel log file (--kernel-log FILE), a hostile
 * state file (--state-file FILE) and random command lines. Every run ends with a
 * valid status line (or the help or version text) and a matching exit code, within
 * the output limits, with nothing on stderr and no stack trace; and a state file the
 * plugin writes is one the next run can read. Needs `node build.mjs` first.
 */
import { chmodSync, existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/runtime/cli';
import { parseState } from '../../src/state/schema';
import { fixture } from '../support/fixtures';
import { argv } from './support/argv';
import { fixtureTexts, garbage, mutatedFixture, snippet, truncatedFixture } from './support/hostile';
import { checkRun, describeSpec, hostileTree, place, runBundleCapped, specialFile, type Content, type TreeSpec } from './support/trees';

const RUNS = { numRuns: 30, interruptAfterTimeLimit: 15_000, endOnFailure: true };
const MB = 1 << 20;

/** A few files of the tree that change how the log and the state are read: uptime and boot id. */
const identitySpec: fc.Arbitrary<TreeSpec> = fc.record(
  {
    uptime: fc
      .constantFrom('12345.67 23456.78\n', '0.01 0\n', '1e308 0\n', '-5 0\n', '99999999999999999999999 0\n', 'x\n')
      .map((t): Content => ({ kind: 'text', text: t })),
    bootId: fc
      .oneof(
        fc.uuid().map((u) => `${u}\n`),
        garbage,
      )
      .map((t): Content => ({ kind: 'text', text: t })),
  },
  { requiredKeys: [] },
);

const LOGS = fixtureTexts('logs');
const logLine = fc.oneof(
  fc.constantFrom(...LOGS.flatMap((t) => t.split('\n')).filter((l) => l !== '')),
  fc.constantFrom(
    '0000-01-01T00:00:00Z host kernel: nf_conntrack: table full, dropping packet',
    '1900-01-01T00:00:00+23:59 host kernel: nf_conntrack: table full, dropping packet',
    '9999-12-31T23:59:60.999999999-23:59 host kernel: nf_conntrack: table full, dropping packet',
    '999999999999.999999 host kernel: nf_conntrack: table full in netns 99999999999999999999, dropping packet',
    '6,99999999999999999999,99999999999999999999,-;nf_conntrack: table full, dropping packet',
    '<99999999999>[99999999999999.999999] nf_conntrack: table full, dropping packet',
    'Feb 29 23:59:60 host kernel: nf_conntrack: table full, dropping packet',
    'Dec 31 23:59:59 host kernel: message repeated 99999999999999999999 times: [ nf_conntrack: table full, dropping packet]',
    'Dec 31 23:59:59 host kernel: net_ratelimit: 999999999999999 callbacks suppressed',
    'Jan  1 00:00:00 host kernel: [99999999999999999.1] nf_conntrack: table full, dropping packet',
    'Jan  1 00:00:00 host kernel: nf_conntrack: table full, dropping packet\0\0\0|perf=1',
    'Jan  1 00:00:00 host kernel: nf_conntrack: table full, dropping packet \x1b[2J\x1b[31m',
  ),
  garbage,
  snippet,
);
const logFile: fc.Arbitrary<Content> = fc.oneof(
  { weight: 3, arbitrary: fc.oneof(mutatedFixture(LOGS), truncatedFixture(LOGS)).map((t): Content => ({ kind: 'text', text: t })) },
  { weight: 3, arbitrary: fc.array(logLine, { maxLength: 60 }).map((l): Content => ({ kind: 'text', text: l.join('\n') })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...LOGS), fc.integer({ min: 1, max: 4000 }))
      .map(([t, n]): Content => ({ kind: 'text', text: t.repeat(n) })),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4000 }).map((b): Content => ({ kind: 'bytes', bytes: b })) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('long-line' as const),
      char: fc.constantFrom('a', ' ', '\0', '9'),
      bytes: fc.constantFrom(MB - 1, MB + 1, 3 * MB),
      prefix: fc.constantFrom('Jan  1 00:00:00 host kernel: nf_conntrack: table full, dropping packet', ''),
    }),
  },
  { weight: 1, arbitrary: specialFile },
);

const validState = fc.record(
  {
    version: fc.constant(1),
    bootId: fc.oneof(fc.uuid(), fc.string({ maxLength: 40 })),
    savedAtMs: fc.oneof(fc.maxSafeNat(), fc.constant(Date.now() - 60_000)),
    namespaces: fc.dictionary(
      fc.oneof(fc.stringMatching(/^\d{1,10}$/), fc.constantFrom('4026531840', '__proto__', 'constructor')),
      fc.record(
        {
          perCpu: fc.dictionary(
            fc.constantFrom(
              'drop',
              'early_drop',
              'insert_failed',
              'invalid',
              'search_restart',
              'clashres',
              'chainlength',
              '__proto__',
              'x',
            ),
            fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 6 }),
            { maxKeys: 8 },
          ),
          count: fc.maxSafeNat(),
          timeMs: fc.oneof(fc.maxSafeNat(), fc.constant(Date.now() - 60_000), fc.constant(Date.now() + 86_400_000)),
          history: fc.array(fc.tuple(fc.maxSafeNat(), fc.maxSafeNat()), { maxLength: 40 }),
        },
        { requiredKeys: ['perCpu', 'timeMs'] },
      ),
      { maxKeys: 3 },
    ),
    log: fc.record(
      {
        source: fc.constantFrom('file', 'kmsg', 'dmesg', 'journal', ''),
        seq: fc.maxSafeNat(),
        bootUsec: fc.maxSafeNat(),
        wallMs: fc.maxSafeNat(),
        file: fc.record({ path: fc.string({ maxLength: 20 }), ino: fc.maxSafeNat(), offset: fc.maxSafeNat() }),
      },
      { requiredKeys: ['source'] },
    ),
  },
  { requiredKeys: ['version', 'savedAtMs', 'namespaces'] },
);

type StateFile = { content: Content; mode: number };
const stateFile: fc.Arbitrary<StateFile> = fc.record({
  content: fc.oneof(
    { weight: 3, arbitrary: validState.map((s): Content => ({ kind: 'text', text: JSON.stringify(s) })) },
    { weight: 3, arbitrary: validState.chain((s) => mutatedFixture([JSON.stringify(s)])).map((t): Content => ({ kind: 'text', text: t })) },
    { weight: 1, arbitrary: fc.json().map((t): Content => ({ kind: 'text', text: t })) },
    {
      weight: 1,
      arbitrary: fc.jsonValue().map((v): Content => ({ kind: 'text', text: JSON.stringify({ version: v, savedAtMs: 1, namespaces: {} }) })),
    },
    { weight: 1, arbitrary: garbage.map((t): Content => ({ kind: 'text', text: t })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Content>(
        { kind: 'long-line', char: ' ', bytes: 4 * MB + 1, prefix: '{}' },
        { kind: 'text', text: `{"version":1,"savedAtMs":1,"namespaces":{},"bootId":"${'x|\\u0000'.repeat(500_000)}"}` },
        { kind: 'text', text: `${'['.repeat(200_000)}${']'.repeat(200_000)}` },
      ),
    },
    { weight: 1, arbitrary: specialFile },
  ),
  mode: fc.constantFrom(0o600, 0o600, 0o644, 0o666, 0o400),
});

function applyMode(path: string, mode: number): void {
  try {
    if (lstatSync(path).isFile()) chmodSync(path, mode);
  } catch {
    // missing, or a link: nothing to change
  }
}

/** A state file the plugin wrote (or left as it was) must be one the next run can read. */
function checkStateAfter(path: string, before: string | undefined, where: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isFile()) return;
  const text = readFileSync(path, 'utf8');
  if (text === before) return;
  const parsed = parseState(text);
  expect(
    parsed.ok,
    `the state file written is not readable by the next run (${parsed.ok ? '' : parsed.reason}): ${text.slice(0, 600)}\n${where}`,
  ).toBe(true);
  expect(st.mode & 0o077, `state file mode ${(st.mode & 0o777).toString(8)}: ${where}`).toBe(0);
}

describe('the bundle with a hostile kernel log file', () => {
  it('always ends with a valid status line, and leaves a state the next run can read', async () => {
    await fc.assert(
      fc.asyncProperty(logFile, identitySpec, fc.integer({ min: 0, max: 2 }), fc.boolean(), async (log, spec, verbosity, withState) => {
        const tree = hostileTree(spec);
        try {
          const logPath = join(tree.dir, 'kern.log');
          place(logPath, log);
          const statePath = join(tree.dir, 'state', 'state.json');
          const args = [
            '--proc',
            join(tree.dir, 'proc'),
            '--sys',
            join(tree.dir, 'sys'),
            '--kernel-log',
            logPath,
            '-t',
            '8',
            ...(withState ? ['--state-file', statePath] : ['--no-state']),
            ...(verbosity ? [`-${'v'.repeat(verbosity)}`] : []),
          ];
          const where = `${args.join(' ')}\nlog: ${describeSpec({ entries: log })}\n${describeSpec(spec)}`;
          for (let run = 0; run < (withState ? 2 : 1); run += 1) {
            const r = await runBundleCapped(args);
            checkRun(r, { verbosity, format: 'nagios' }, `run ${run + 1}: ${where}`);
            if (withState) {
              checkStateAfter(statePath, undefined, where);
              // The second run reads what the first wrote: it must not refuse it.
              if (run === 1) expect(r.stdout, `second run: ${where}`).not.toMatch(/state file .*(malformed|not valid|lacks)/);
            }
          }
        } finally {
          tree.dispose();
        }
      }),
      // Found by this property: an uptime too large for a safe bootUsec, and a line dated before 1970.
      {
        ...RUNS,
        examples: [
          [{ kind: 'text', text: '' }, { uptime: { kind: 'text', text: '1e23 0\n' } }, 0, true],
          [{ kind: 'text', text: '1969-12-31T23:59:59Z host kernel: hello\n' }, {}, 0, true],
        ],
      },
    );
  }, 120_000);
});

describe('the bundle with a hostile state file', () => {
  it('always ends with a valid status line, and never leaves a state the next run cannot read', async () => {
    await fc.assert(
      fc.asyncProperty(stateFile, identitySpec, fc.integer({ min: 0, max: 2 }), async (state, spec, verbosity) => {
        const tree = hostileTree(spec);
        try {
          const statePath = join(tree.dir, 'state.json');
          place(statePath, state.content);
          applyMode(statePath, state.mode);
          const before = existsSync(statePath) && lstatSync(statePath).isFile() ? readFileSync(statePath, 'utf8') : undefined;
          const args = [
            '--proc',
            join(tree.dir, 'proc'),
            '--sys',
            join(tree.dir, 'sys'),
            '--kernel-log',
            'none',
            '--state-file',
            statePath,
            '-t',
            '8',
            ...(verbosity ? [`-${'v'.repeat(verbosity)}`] : []),
          ];
          const where = `${args.join(' ')}\nstate: ${describeSpec({ entries: state.content })} mode ${state.mode.toString(8)}\n${describeSpec(spec)}`;
          const r = await runBundleCapped(args);
          checkRun(r, { verbosity, format: 'nagios' }, where);
          checkStateAfter(statePath, before, where);
        } finally {
          tree.dispose();
        }
      }),
      RUNS,
    );
  }, 120_000);
});

describe('the bundle with a random command line', () => {
  // Options that keep each run away from this machine (its log, its state, its
  // /proc) come last, so that they win over any random ones before them.
  const SAFE = ['--proc', fixture('linux-6.8').proc, '--sys', fixture('linux-6.8').sys, '--kernel-log', 'none', '--no-state'];

  it('always ends with a valid status line, the help or the version, inside the output limits', async () => {
    await fc.assert(
      // No '--' (it would turn the safe options into arguments) and no NUL (no OS can pass one).
      fc.asyncProperty(
        argv.map((a) => a.filter((w) => w !== '--').map((w) => w.replace(/\0/g, ''))),
        async (random) => {
          const args = [...random, ...SAFE];
          const parsed = parseCommandLine(args);
          // Whatever parsed, nothing may write outside the fixture: --no-state is last.
          if (parsed.kind === 'run') expect(parsed.options.noState).toBe(true);
          const verbosity = parsed.kind === 'run' ? parsed.options.verbosity : 0;
          const format = parsed.kind === 'run' ? parsed.options.format : 'nagios';
          const r = await runBundleCapped(args);
          if (parsed.kind === 'run' && parsed.options.quietOk && r.stdout === '') {
            expect(r.code).toBe(0);
            return;
          }
          checkRun(r, { verbosity, format, mayBeInfo: true }, JSON.stringify(args).slice(0, 2000));
        },
      ),
      // Found by this property: usage errors echoed the argument whole, control characters (a tab too) included.
      { ...RUNS, examples: [[['-w', 'x'.repeat(5000)]], [['--top', '\x1b[31m']], [['-w', 'a\tb']], [['-V']]] },
    );
  }, 120_000);
});
