import { lstatSync, readdirSync, unlinkSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { readPrivateFile, writePrivateFile, type PrivateRead, type PrivateWrite } from './state/private-file';
import { chooseStateDirectory } from './state/state-file';

/**
 * V8's compiled code for the plugin, kept beside the state: with it a run
 * skips compiling the bundle and every function it calls, a third of what
 * the plugin costs over bare node. It is code the next run executes, so it
 * gets the state file's protection (the user's own directory and file, no
 * links), and nothing is kept with --no-state.
 */

const WHAT = 'the code cache';
const MAX_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * The directory the options will keep state in, read from the raw arguments:
 * the cache is needed before the code that parses options exists. Undefined
 * with --no-state, or when the state file is given as a relative path (its
 * directory would be wherever the check happens to be started).
 */
export function codeCacheDirectory(argv: readonly string[], uid: number): string | undefined {
  let dir: string | undefined = chooseStateDirectory(uid);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg === '--no-state') return undefined;
    let file: string | undefined;
    if (arg === '--state-file') file = argv[++i];
    else if (arg.startsWith('--state-file=')) file = arg.slice('--state-file='.length);
    else continue;
    dir = file !== undefined && isAbsolute(file) ? dirname(file) : undefined;
  }
  return dir;
}

/**
 * One file per build and runtime: V8 refuses a cache from another V8 or
 * other flags, but it recognises its source by length only, so the build's
 * hash is in the name.
 */
export function codeCachePath(dir: string, buildId: string, runtime: { version: string; arch: string }): string {
  return join(dir, `code-${buildId}-${runtime.version}-${runtime.arch}.cache`);
}

export function readCodeCache(path: string, uid: number): PrivateRead {
  return readPrivateFile(path, WHAT, uid, MAX_CACHE_BYTES);
}

/**
 * Writes the cache, and removes the user's caches of other builds for the
 * same runtime: those were left by an upgrade of the plugin. Another
 * runtime's cache stays (a second node on the host would otherwise replace
 * the cache on every run).
 */
export function saveCodeCache(path: string, data: Uint8Array, uid: number): PrivateWrite {
  const saved = writePrivateFile(path, WHAT, data, uid);
  if (saved.status !== 'ok') return saved;
  const dir = dirname(path);
  const own = basename(path);
  const runtime = own.slice(own.indexOf('-', 'code-'.length));
  for (const name of readdirSync(dir)) {
    if (!name.startsWith('code-') || !name.endsWith(runtime) || name === own) continue;
    try {
      const st = lstatSync(join(dir, name));
      if (st.isFile() && st.uid === uid) unlinkSync(join(dir, name));
    } catch {
      // gone already, or another run's
    }
  }
  return saved;
}
