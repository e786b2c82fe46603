import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeRun, NODES, runBundle } from '../support/bundle';
import { fixture } from '../support/fixtures';

/**
 * The bundle keeps V8's compiled code beside its state (src/boot.ts). What
 * must hold: it is made once, then used as is; a bad or foreign file never
 * changes what the check says; --no-state keeps nothing.
 */
describe.each(NODES)('the code cache, on $name', ({ path: node }) => {
  let version = '';
  let dir: string;
  beforeAll(() => {
    if (!existsSync(node)) throw new Error(`${node} is missing: run 'npm run setup:node18' (npm test does)`);
    version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cc-code-cache-e2e-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const tree = fixture('linux-6.8');
  const args = (...extra: string[]) => [
    '--proc',
    tree.proc,
    '--sys',
    tree.sys,
    '--kernel-log',
    'none',
    '--state-file',
    join(dir, 'state.json'),
    ...extra,
  ];
  const run = (...extra: string[]) => {
    const r = runBundle(args(...extra), { node });
    expect(r.stderr, describeRun(r)).toBe('');
    expect(r.code, describeRun(r)).toBe(0);
    return r;
  };
  const caches = () => readdirSync(dir).filter((n) => n.startsWith('code-'));
  const identity = (path: string) => {
    const st = lstatSync(path);
    return { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
  };

  it('is made by the first run (0600, named for the build and this node) and used as is by the next', () => {
    run();
    expect(caches()).toHaveLength(1);
    const name = caches()[0]!;
    expect(name).toMatch(new RegExp(`^code-[0-9a-f]{16}-${version.replace(/\./g, '\\.')}-${process.arch}\\.cache$`));
    const path = join(dir, name);
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    const made = identity(path);
    expect(made.size).toBeGreaterThan(10_000);
    // A cache V8 refused would be written again: unchanged means used.
    const second = run().stdout;
    expect(run().stdout).toBe(second);
    expect(identity(path)).toStrictEqual(made);
  });

  it.each([
    ['garbage', (good: Buffer) => Buffer.alloc(good.length, 0x5a)],
    ['cut in half', (good: Buffer) => good.subarray(0, good.length >> 1)],
    ['empty', () => Buffer.alloc(0)],
  ])('a cache that is %s changes nothing the check says, and is replaced by a good one', (_what, spoil) => {
    run();
    // What the check says with a good cache: the state is the same from the second run on.
    const cached = run().stdout;
    const path = join(dir, caches()[0]!);
    const good = readFileSync(path);
    const bad = spoil(good);
    writeFileSync(path, bad, { mode: 0o600 });
    expect(run().stdout).toBe(cached);
    expect(readFileSync(path).equals(bad)).toBe(false);
    // and the replacement is good: the next run uses it as is
    const replaced = identity(path);
    run();
    expect(identity(path)).toStrictEqual(replaced);
  });

  it('a symbolic link in its place is neither followed nor replaced', () => {
    run();
    const cached = run().stdout;
    const path = join(dir, caches()[0]!);
    const target = join(dir, 'target');
    writeFileSync(target, readFileSync(path));
    const before = readFileSync(target);
    rmSync(path);
    symlinkSync(target, path);
    expect(run().stdout).toBe(cached);
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path)).toBe(target);
    expect(readFileSync(target).equals(before)).toBe(true);
  });

  it('--no-state keeps nothing: no state, no cache', () => {
    run('--no-state');
    expect(readdirSync(dir)).toEqual([]);
  });
});
