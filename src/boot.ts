import { Script } from 'node:vm';
import { buildId, code } from 'check-conntrack:main';
import { codeCacheDirectory, codeCachePath, readCodeCache, saveCodeCache } from './code-cache';

/**
 * The bundle's entry: compiles the plugin (src/main.ts, carried as a string)
 * with V8's code cache from the previous run, runs it, and keeps the cache
 * for the next one when there was none to use. Compiling the plugin and each
 * function it calls is a third of what a check costs over bare node; Node 18
 * and 20 have no compile cache of their own for a script.
 *
 * Nothing here may stop the check: whatever goes wrong with the cache, the
 * plugin runs, compiled the slow way.
 */
const wrapped = `(function (exports, require, module, __filename, __dirname) {${code}\n})`;
const compile = (cachedData?: Buffer) => new Script(wrapped, { filename: __filename, cachedData });

function cached(): { script: Script; save?: () => void } {
  const uid = process.getuid?.();
  const dir = uid === undefined ? undefined : codeCacheDirectory(process.argv.slice(2), uid);
  if (uid === undefined || dir === undefined) return { script: compile() };
  const path = codeCachePath(dir, buildId, process);
  const read = readCodeCache(path, uid);
  // Someone else's file, or a link: not ours to use, nor to replace.
  if (read.status === 'unusable') return { script: compile() };
  const script = compile(read.status === 'ok' ? read.data : undefined);
  if (read.status === 'ok' && !script.cachedDataRejected) return { script };
  return { script, save: () => saveCodeCache(path, script.createCachedData(), uid) };
}

let compiled: { script: Script; save?: () => void };
try {
  compiled = cached();
} catch {
  compiled = { script: compile() };
}
const { script, save } = compiled;
if (save) {
  // At exit the cache holds every function this run compiled, not just the top level.
  process.on('exit', () => {
    try {
      save();
    } catch {
      // the next run compiles again
    }
  });
}
script.runInThisContext()(exports, require, module, __filename, __dirname);
