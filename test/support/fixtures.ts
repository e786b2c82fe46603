import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const FIXTURES = resolve(__dirname, '../fixtures');

export function fixture(name: string): { proc: string; sys: string; dir: string } {
  const dir = join(FIXTURES, name);
  return { dir, proc: join(dir, 'proc'), sys: join(dir, 'sys') };
}

/**
 * Arguments that point the plugin at a fixture tree, and keep it away from
 * what the tree cannot stand in for: this machine's kernel log and a state
 * file shared with other runs.
 */
export function rootArgs(dir: string): string[] {
  return ['--proc', join(dir, 'proc'), '--sys', join(dir, 'sys'), '--no-state', '--kernel-log', 'none'];
}

/** rootArgs with a state file of the test's own instead of none: for runs that follow on from each other. */
export function keptStateArgs(dir: string, stateFile: string): string[] {
  return ['--proc', join(dir, 'proc'), '--sys', join(dir, 'sys'), '--kernel-log', 'none', '--state-file', stateFile];
}

/**
 * A writable copy of a fixture tree, for tests that change a file (a count at a
 * boundary, a mode git cannot store). The caller removes it with `dispose`.
 */
export function copyFixture(name: string): { dir: string; write(relative: string, text: string): void; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), `cc-fixture-${name}-`));
  // verbatimSymlinks: proc/self/ns/net is a link to 'net:[N]', which must stay as written.
  cpSync(join(FIXTURES, name), dir, { recursive: true, verbatimSymlinks: true });
  return {
    dir,
    write: (relative, text) => writeFileSync(join(dir, relative), text),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
