/**
 * Hostile /proc and /sys trees for whole-bundle runs, and the checks every run's
 * output must pass: one valid status line, an exit code that matches it, nothing
 * on stderr, no stack trace, and the transport limits (1 KiB, 8 KiB at -v).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import fc from 'fast-check';
import { expect } from 'vitest';
import { version } from '../../../package.json';
import { BUNDLE, REPO, type BundleRun } from '../../support/bundle';
import { copyFixture } from '../../support/fixtures';
import { CONTROL, fixtureTexts, garbage, mutatedFixture, snippet, truncatedFixture } from './hostile';

/** What to put where a file should be. */
export type Content =
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'missing' }
  | { kind: 'directory' }
  | { kind: 'fifo' }
  | { kind: 'symlink'; target: string }
  | { kind: 'stat-rows'; rows: number; seed: number; broken: boolean }
  | { kind: 'long-line'; char: string; bytes: number; prefix: string };

const MB = 1 << 20;

export const specialFile: fc.Arbitrary<Content> = fc.oneof(
  fc.constant<Content>({ kind: 'missing' }),
  fc.constant<Content>({ kind: 'directory' }),
  fc.constant<Content>({ kind: 'fifo' }),
  fc.constant<Content>({ kind: 'symlink', target: '/dev/zero' }),
  fc.constant<Content>({ kind: 'symlink', target: '/dev/null' }),
  fc.constant<Content>({ kind: 'symlink', target: 'loop' }),
);

const text = (a: fc.Arbitrary<string>): fc.Arbitrary<Content> => a.map((t) => ({ kind: 'text', text: t }));
const bytes: fc.Arbitrary<Content> = fc.uint8Array({ maxLength: 2000 }).map((b) => ({ kind: 'bytes', bytes: b }));
const longLine = (prefixes: string[]): fc.Arbitrary<Content> =>
  fc.record({
    kind: fc.constant('long-line' as const),
    char: fc.constantFrom('9', ' ', 'a', '\0', 'f', '['),
    bytes: fc.constantFrom(MB, MB + 1, 70_000),
    prefix: fc.constantFrom(...prefixes),
  });

/** A sysctl holding one number: right, wrong, huge, negative, empty, binary... */
export const numberFile: fc.Arbitrary<Content> = fc.oneof(
  {
    weight: 3,
    arbitrary: text(
      fc.oneof(
        fc.nat().map((n) => `${n}\n`),
        fc.maxSafeNat().map((n) => `${n}\n`),
        fc.constantFrom(
          '0\n',
          '1\n',
          '262144\n',
          '4294967295\n',
          '4294967296\n',
          '18446744073709551615\n',
          '99999999999999999999999999\n',
          '-1\n',
          '-262144\n',
          '1e6\n',
          '0x40000\n',
          ' 42 \n',
          '42\0\n',
          '\0',
          '',
          '\n',
          '262144\n262144\n',
          '12.5\n',
          '\u0661\u0662\n',
        ),
      ),
    ),
  },
  { weight: 2, arbitrary: text(fc.oneof(snippet, garbage)) },
  { weight: 1, arbitrary: bytes },
  { weight: 1, arbitrary: longLine(['', '1']) },
  { weight: 1, arbitrary: specialFile },
);

const STAT = fixtureTexts('stat').filter((t) => !t.includes('cpu='));
export const statFile: fc.Arbitrary<Content> = fc.oneof(
  { weight: 4, arbitrary: text(fc.oneof(mutatedFixture(STAT), truncatedFixture(STAT))) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('stat-rows' as const),
      rows: fc.constantFrom(4096, 4097, 65536, 65537),
      seed: fc.nat(),
      broken: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: text(garbage) },
  { weight: 1, arbitrary: bytes },
  { weight: 1, arbitrary: longLine(['entries found drop\n', '', 'drop\n']) },
  { weight: 1, arbitrary: specialFile },
);

const MODULES = fixtureTexts('modules');
export const modulesFile: fc.Arbitrary<Content> = fc.oneof(
  { weight: 4, arbitrary: text(fc.oneof(mutatedFixture(MODULES), truncatedFixture(MODULES))) },
  { weight: 1, arbitrary: text(garbage) },
  { weight: 1, arbitrary: bytes },
  { weight: 1, arbitrary: longLine(['nf_conntrack 1 1 ', '']) },
  { weight: 1, arbitrary: specialFile },
);

export const releaseFile: fc.Arbitrary<Content> = fc.oneof(
  {
    weight: 2,
    arbitrary: text(
      fc.constantFrom(
        '6.8.0-45-generic\n',
        '2.6.18\n',
        '99999.99999.0\n',
        '0.0\n',
        '\n',
        '6.8\x1b[31mred\n',
        '6.8\0hidden\n',
        '6.8|x=1\n',
        '6.8 \u202etxt.exe\n',
      ),
    ),
  },
  { weight: 2, arbitrary: text(fc.oneof(snippet, garbage)) },
  { weight: 1, arbitrary: longLine(['6.8.', '']) },
  { weight: 1, arbitrary: specialFile },
);

const ENTRIES = fixtureTexts('entries');
export const entriesFile: fc.Arbitrary<Content> = fc.oneof(
  { weight: 3, arbitrary: text(fc.oneof(mutatedFixture(ENTRIES), truncatedFixture(ENTRIES))) },
  { weight: 1, arbitrary: text(garbage) },
  { weight: 1, arbitrary: longLine(['ipv4 2 tcp 6 1 ', '']) },
  { weight: 1, arbitrary: fc.constantFrom<Content>({ kind: 'missing' }, { kind: 'directory' }, { kind: 'fifo' }) },
);

/** The files of the linux-6.8 tree a hostile host may get wrong, relative to the tree. */
export const TREE_FILES = {
  count: 'proc/sys/net/netfilter/nf_conntrack_count',
  max: 'proc/sys/net/netfilter/nf_conntrack_max',
  buckets: 'proc/sys/net/netfilter/nf_conntrack_buckets',
  stat: 'proc/net/stat/nf_conntrack',
  modules: 'proc/modules',
  osrelease: 'proc/sys/kernel/osrelease',
  initstate: 'sys/module/nf_conntrack/initstate',
  uptime: 'proc/uptime',
  bootId: 'proc/sys/kernel/random/boot_id',
  entries: 'proc/net/nf_conntrack',
  meminfo: 'proc/meminfo',
  tcpTimeout: 'proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established',
} as const;

export type TreeSpec = Partial<Record<keyof typeof TREE_FILES, Content>>;

/** Each file kept as it is, or replaced (about half the time) by hostile content. */
export const treeSpec: fc.Arbitrary<TreeSpec> = fc.record(
  {
    count: numberFile,
    max: numberFile,
    buckets: numberFile,
    stat: statFile,
    modules: modulesFile,
    osrelease: releaseFile,
    initstate: text(fc.oneof(fc.constantFrom('live\n', 'coming\n', 'going\n', ''), garbage)),
    uptime: text(fc.oneof(fc.constantFrom('12345.67 23456.78\n', '1e308 0\n', '-5 0\n', 'NaN\n', '99999999999999999999999 0\n'), garbage)),
    bootId: text(
      fc.oneof(
        fc.uuid().map((u) => `${u}\n`),
        garbage,
      ),
    ),
    entries: entriesFile,
    meminfo: fc.oneof(
      text(
        fc.constantFrom(
          'MemTotal: 99999999999999999999999 kB\n',
          'MemTotal: -1 kB\n',
          'MemTotal: 0 kB\n',
          'MemTotal:\n',
          'MemTotal: 1e308 kB\n',
          'MemTotal: 65842372 MB\n',
        ),
      ),
      text(garbage),
      specialFile,
    ),
    tcpTimeout: numberFile,
  },
  { requiredKeys: [] },
);

function statRows(rows: number, seed: number, broken: boolean): string {
  const names =
    'entries clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error expect_new expect_create expect_delete search_restart'.split(
      ' ',
    );
  const out = [names.join(' ')];
  let x = seed >>> 0;
  for (let cpu = 0; cpu < rows; cpu += 1) {
    const row: string[] = [];
    for (let i = 0; i < names.length; i += 1) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      row.push(x.toString(16).padStart(8, '0'));
    }
    out.push(row.join(' '));
  }
  if (broken) out[Math.floor(rows / 2)] = `${out[Math.floor(rows / 2)]} ffffffff`;
  return `${out.join('\n')}\n`;
}

/** Puts `content` at `path`, replacing whatever is there. */
export function place(path: string, content: Content): void {
  rmSync(path, { recursive: true, force: true });
  if (content.kind === 'missing') return;
  mkdirSync(dirname(path), { recursive: true });
  switch (content.kind) {
    case 'text':
      writeFileSync(path, content.text);
      return;
    case 'bytes':
      writeFileSync(path, content.bytes);
      return;
    case 'directory':
      mkdirSync(path);
      return;
    case 'fifo':
      execFileSync('mkfifo', [path]);
      return;
    case 'symlink':
      symlinkSync(content.target === 'loop' ? path : content.target, path);
      return;
    case 'stat-rows':
      writeFileSync(path, statRows(content.rows, content.seed, content.broken));
      return;
    case 'long-line':
      writeFileSync(path, content.prefix + content.char.repeat(content.bytes) + '\n');
      return;
  }
}

/** A copy of the linux-6.8 tree with `spec` applied, removed by `dispose`. */
export function hostileTree(spec: TreeSpec): { dir: string; dispose(): void } {
  const copy = copyFixture('linux-6.8');
  for (const [key, content] of Object.entries(spec) as Array<[keyof typeof TREE_FILES, Content | undefined]>) {
    if (content !== undefined) place(join(copy.dir, TREE_FILES[key]), content);
  }
  return { dir: copy.dir, dispose: copy.dispose };
}

/** A short description of a spec for failure messages (fast-check prints the whole value too). */
export function describeSpec(spec: TreeSpec): string {
  return Object.entries(spec)
    .map(([k, c]) => `${k}=${c === undefined ? 'kept' : c.kind === 'text' ? JSON.stringify(c.text.slice(0, 60)) : c.kind}`)
    .join(' ');
}

const schema = JSON.parse(readFileSync(join(REPO, 'schema/check_conntrack.schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

const STATUS = /^CONNTRACK (OK|WARNING|CRITICAL|UNKNOWN) - /;
const CODES: Record<string, number> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };
const PERF_ITEM = /^(?:'[^'=]+'|[^\s'=|]+)=(?:-?\d+(?:\.\d+)?|U)(?:%|s|ms|us|B|KB|MB|TB|c)?(?:;[-\d.:~@]*){0,4}$/;

export interface Expectation {
  verbosity: number;
  format: 'nagios' | 'json';
  /** The argv may ask for --help or --version (then the text is not a status line). */
  mayBeInfo?: boolean;
}

/** Everything the guidelines and issue 8 ask of any run, whatever its input. */
export function checkRun(r: BundleRun, e: Expectation, context: string): void {
  const where = `${context}\n--- stdout ---\n${r.stdout.slice(0, 3000)}\n--- stderr ---\n${r.stderr.slice(0, 2000)}`;
  expect(r.code, `exit code: ${where}`).not.toBeNull();
  expect([0, 1, 2, 3], `exit code ${r.code}: ${where}`).toContain(r.code);
  expect(r.stderr, `stderr: ${where}`).toBe('');
  // A stack frame ("    at fn (file:1:2)" or "    at file:1:2"), not any line
  // that starts with "at" (the help text wraps "... at all" onto one).
  expect(r.stdout, `stack trace: ${where}`).not.toMatch(/^\s+at (?:.+ \()?\S+:\d+:\d+\)?$/m);
  expect(r.stdout, `JavaScript error: ${where}`).not.toMatch(/\b(?:[A-Z][A-Za-z]*)?Error: /);
  expect(r.stdout, `internal error: ${where}`).not.toMatch(/internal error/i);
  expect(r.stdout, `hang: ${where}`).not.toMatch(/timed out after/);

  if (e.mayBeInfo && !STATUS.test(r.status) && !r.status.startsWith('{')) {
    // --help or --version: text, and UNKNOWN as the guidelines say.
    expect(r.stdout === `${version}\n` || r.stdout.startsWith('Usage: check_conntrack'), `info: ${where}`).toBe(true);
    expect(r.code, `info exit code: ${where}`).toBe(3);
    return;
  }

  if (e.format === 'json' && r.status.startsWith('{')) {
    const body = JSON.parse(r.stdout);
    const valid = validate(body);
    expect(validate.errors ?? [], `schema: ${JSON.stringify(validate.errors)}: ${where}`).toEqual([]);
    expect(valid).toBe(true);
    expect(body.exit_code, `json exit_code: ${where}`).toBe(r.code);
    // The summary is the Nagios status text: the same rule on control characters holds.
    expect(body.summary, `control characters in the JSON summary: ${where}`).not.toMatch(CONTROL);
    return;
  }

  expect(r.status, `status line: ${where}`).toMatch(STATUS);
  const state = STATUS.exec(r.status)?.[1] as string;
  expect(r.code, `exit code vs state: ${where}`).toBe(CODES[state]);
  const limit = e.verbosity >= 1 ? 8192 : 1024;
  expect(Buffer.byteLength(r.stdout, 'utf8'), `output size (limit ${limit}): ${where}`).toBeLessThanOrEqual(limit);
  expect(r.stdout, `control characters: ${where}`).not.toMatch(CONTROL);
  // Perfdata: after the first '|' only, whole items only; no '|' in the long output.
  const [, perf, ...more] = r.status.split('|');
  expect(more, `a second '|' in the status line: ${where}`).toEqual([]);
  if (perf !== undefined) {
    for (const item of perf
      .trim()
      .split(' ')
      .filter((i) => i !== ''))
      expect(item, `perfdata item: ${where}`).toMatch(PERF_ITEM);
  }
  for (const line of r.lines.slice(1)) expect(line, `'|' in long output: ${where}`).not.toContain('|');
}

/**
 * runBundle of test/support/bundle.ts, but asynchronous (a property of many runs
 * must not block the test worker's event loop for its whole length) and with room
 * for output far beyond the limits, so that an oversized output fails an assertion
 * that shows it rather than spawnSync's ENOBUFS.
 */
export function runBundleCapped(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<BundleRun> {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run 'node build.mjs' first`);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BUNDLE, ...args],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        timeout: options.timeoutMs ?? 30_000,
        maxBuffer: 256 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number' && !error.killed) {
          reject(error);
          return;
        }
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        const lines = stdout.split('\n').filter((l, i, all) => !(l === '' && i === all.length - 1));
        resolve({ stdout, stderr, code, status: lines[0] ?? '', lines });
      },
    );
  });
}
