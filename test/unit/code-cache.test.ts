import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeCacheDirectory, codeCachePath, readCodeCache, saveCodeCache } from '../../src/code-cache';
import { itReady, notRootReason, readiness } from '../support/readiness';

const UID = process.getuid!();
const OTHER = 65534;
const AS_ROOT = readiness({ root: notRootReason('needs root to chown') });
const V20 = { version: 'v20.20.2', arch: 'x64' };

let root: string;
let dir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cc-code-cache-'));
  dir = join(root, 'check_conntrack-x');
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('codeCacheDirectory: where the options will keep state, from the raw arguments', () => {
  it.each([
    [[], '/var/tmp/check_conntrack-1000'],
    [['-w', '80%', '-v'], '/var/tmp/check_conntrack-1000'],
    [['--state-file', '/srv/nagios/conntrack.json'], '/srv/nagios'],
    [['--state-file=/srv/nagios/conntrack.json'], '/srv/nagios'],
    // commander keeps the last one given
    [['--state-file', '/a/s.json', '--state-file', '/b/s.json'], '/b'],
    // after -- nothing is an option
    [['--', '--state-file', '/srv/s.json'], '/var/tmp/check_conntrack-1000'],
    [['--', '--no-state'], '/var/tmp/check_conntrack-1000'],
  ])('%j -> %s', (argv, expected) => {
    expect(codeCacheDirectory(argv, 1000)).toBe(expected);
  });

  it.each([
    [['--no-state']],
    [['--state-file', '/srv/s.json', '--no-state']],
    [['--no-state', '--state-file', '/srv/s.json']],
    // relative: its directory would be wherever the check was started
    [['--state-file', 'state.json']],
    [['--state-file=./s/state.json']],
    [['--state-file=']],
    // a missing value is a usage error, which keeps nothing
    [['--state-file']],
  ])('%j -> none', (argv) => {
    expect(codeCacheDirectory(argv, 1000)).toBeUndefined();
  });
});

describe('codeCachePath', () => {
  it('names the build and the runtime: V8 knows its source only by length', () => {
    expect(codeCachePath('/var/tmp/check_conntrack-0', '0123456789abcdef', V20)).toBe(
      '/var/tmp/check_conntrack-0/code-0123456789abcdef-v20.20.2-x64.cache',
    );
    expect(codeCachePath('/d', 'a', { version: 'v18.19.0', arch: 'arm64' })).toBe('/d/code-a-v18.19.0-arm64.cache');
  });
});

describe('readCodeCache and saveCodeCache', () => {
  const data = Buffer.from([0xc0, 0xde, 0, 1, 2, 3, 255]);

  it('a missing cache is missing; a saved one reads back, 0600 in a 0700 directory it made', () => {
    const path = codeCachePath(dir, 'b1', V20);
    expect(readCodeCache(path, UID)).toStrictEqual({ status: 'missing' });
    expect(saveCodeCache(path, data, UID)).toStrictEqual({ status: 'ok' });
    expect(lstatSync(dir).mode & 0o7777).toBe(0o700);
    expect(lstatSync(path).mode & 0o7777).toBe(0o600);
    expect(readCodeCache(path, UID)).toStrictEqual({ status: 'ok', data });
    // nothing but the cache: no temporary file left
    expect(readdirSync(dir)).toEqual(['code-b1-v20.20.2-x64.cache']);
  });

  it('a symbolic link is neither followed nor replaced', () => {
    mkdirSync(dir, { mode: 0o700 });
    const target = join(root, 'elsewhere');
    writeFileSync(target, 'not a cache');
    const path = codeCachePath(dir, 'b1', V20);
    symlinkSync(target, path);
    expect(readCodeCache(path, UID)).toMatchObject({
      status: 'unusable',
      reason: `refusing the code cache ${path}: it is a symbolic link`,
    });
    expect(saveCodeCache(path, data, UID)).toMatchObject({
      status: 'failed',
      reason: `not writing the code cache ${path}: it is a symbolic link`,
    });
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('not a cache');
  });

  it('a directory others may write to is refused, for reading and writing', () => {
    mkdirSync(dir, { mode: 0o700 });
    const path = codeCachePath(dir, 'b1', V20);
    writeFileSync(path, data, { mode: 0o600 });
    // chmod after mkdir: the umask would take the bits away
    chmodSync(dir, 0o777);
    expect(readCodeCache(path, UID)).toMatchObject({
      status: 'unusable',
      reason: `refusing the code cache ${path}: ${dir} is writable by others (mode 777)`,
    });
    expect(saveCodeCache(path, data, UID)).toMatchObject({
      status: 'failed',
      reason: `not writing the code cache ${path}: ${dir} is writable by others (mode 777)`,
    });
  });

  itReady('code-cache', 'a cache another user owns is refused', AS_ROOT, () => {
    mkdirSync(dir, { mode: 0o700 });
    const path = codeCachePath(dir, 'b1', V20);
    writeFileSync(path, data, { mode: 0o600 });
    chownSync(path, OTHER, OTHER);
    expect(readCodeCache(path, UID)).toMatchObject({
      status: 'unusable',
      reason: `refusing the code cache ${path}: it belongs to uid ${OTHER}`,
    });
  });

  it('saving removes the caches of other builds for the same runtime, and nothing else', () => {
    mkdirSync(dir, { mode: 0o700 });
    const keep = [
      'code-old1-v18.20.8-x64.cache',
      'code-old1-v20.20.2-arm64.cache',
      'state-4026531833.json',
      'code-notes.txt',
      'mycode-old-v20.20.2-x64.cache',
    ];
    for (const name of [...keep, 'code-old1-v20.20.2-x64.cache', 'code-old2-v20.20.2-x64.cache'])
      writeFileSync(join(dir, name), 'x', { mode: 0o600 });
    expect(saveCodeCache(codeCachePath(dir, 'new', V20), data, UID)).toStrictEqual({ status: 'ok' });
    expect(readdirSync(dir).sort()).toEqual([...keep, 'code-new-v20.20.2-x64.cache'].sort());
  });

  itReady('code-cache', "another user's file of an old build stays", AS_ROOT, () => {
    mkdirSync(dir, { mode: 0o700 });
    const theirs = join(dir, 'code-old-v20.20.2-x64.cache');
    writeFileSync(theirs, 'x', { mode: 0o600 });
    chownSync(theirs, OTHER, OTHER);
    expect(saveCodeCache(codeCachePath(dir, 'new', V20), data, UID)).toStrictEqual({ status: 'ok' });
    expect(lstatSync(theirs).uid).toBe(OTHER);
  });
});
