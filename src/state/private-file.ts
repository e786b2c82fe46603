import { constants } from 'node:fs';
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Files the plugin keeps between runs (the state, the compiled-code cache)
 * live in a directory only their owner may write, and are read and replaced
 * without following links: a file another user can swap is a file that can
 * make the check lie, or run their code.
 */

export type PrivateRead =
  | { status: 'ok'; data: Buffer }
  | { status: 'missing' }
  /** Present but not to be trusted or used: a link, another owner, too large. `fix`: what the operator can do. */
  | { status: 'unusable'; reason: string; fix?: string };

export type PrivateWrite = { status: 'ok' } | { status: 'failed'; reason: string; fix?: string };

function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? '';
}

/**
 * The directory must be ours (or root's) and writable by nobody else: a
 * directory another user owns or may write to lets that user swap the file
 * under us. Undefined when it is fine or does not exist yet.
 */
export function directoryProblem(dir: string, uid: number): string | undefined {
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    return errno(err) === 'ENOENT' ? undefined : `cannot inspect ${dir}: ${(err as Error).message}`;
  }
  if (st.isSymbolicLink()) return `${dir} is a symbolic link`;
  if (!st.isDirectory()) return `${dir} is not a directory`;
  if (st.uid !== uid && st.uid !== 0) return `${dir} belongs to uid ${st.uid}, not to this user (uid ${uid}) or root`;
  if ((st.mode & 0o022) !== 0) return `${dir} is writable by others (mode ${(st.mode & 0o7777).toString(8)})`;
  return undefined;
}

/** A directory that is not this user's alone is someone else's to remove: the plugin never takes it over. */
function directoryFix(dir: string): string {
  return `remove ${dir} (as root; it is recreated safely) or choose another place with --state-file`;
}

/** Reads `path` (called `what` in messages) if it and its directory are the user's alone. */
export function readPrivateFile(path: string, what: string, uid: number, maxBytes: number): PrivateRead {
  const dirProblem = directoryProblem(dirname(path), uid);
  if (dirProblem) return { status: 'unusable', reason: `refusing ${what} ${path}: ${dirProblem}`, fix: directoryFix(dirname(path)) };
  const unusable = (reason: string): PrivateRead => ({ status: 'unusable', reason, fix: `remove ${path}` });
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = errno(err);
    if (code === 'ENOENT') return { status: 'missing' };
    if (code === 'ELOOP') return unusable(`refusing ${what} ${path}: it is a symbolic link`);
    return {
      status: 'unusable',
      reason: `cannot read ${what} ${path}: ${(err as Error).message}`,
      fix: `let uid ${uid} read ${path}, or remove it`,
    };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return unusable(`refusing ${what} ${path}: it is not a regular file`);
    if (st.uid !== uid) return unusable(`refusing ${what} ${path}: it belongs to uid ${st.uid}`);
    if ((st.mode & 0o022) !== 0)
      return unusable(`refusing ${what} ${path}: it is writable by others (mode ${(st.mode & 0o777).toString(8)})`);
    if (st.size > maxBytes) return unusable(`ignoring ${what} ${path}: ${st.size} bytes is too large`);
    const buf = Buffer.alloc(st.size);
    let length = 0;
    while (length < buf.length) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return { status: 'ok', data: buf.subarray(0, length) };
  } catch (err) {
    return unusable(`cannot read ${what} ${path}: ${(err as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

/** What may be replaced: a file the plugin wrote, never a file that only happens to be at the path given. */
export interface ReplaceGuard {
  /** In words, for the refusal: 'a check_conntrack state file'. */
  kind: string;
  maxBytes: number;
  replaceable(data: Buffer): boolean;
}

/**
 * Atomic: a new file (mode 0600) beside the old one, then rename, so that a
 * reader (or a concurrent run) sees the old file or the new one, never half
 * of either.
 */
export function writePrivateFile(path: string, what: string, data: Uint8Array, uid: number, guard?: ReplaceGuard): PrivateWrite {
  const dir = dirname(path);
  // Only the last directory is made: a missing parent is the operator's to
  // create (and a recursive mkdir under /proc spins forever in Node 20).
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    const code = errno(err);
    if (code === 'ENOENT')
      return { status: 'failed', reason: `cannot create ${dir}: its parent directory does not exist`, fix: `create ${dirname(dir)}` };
    if (code !== 'EEXIST')
      return {
        status: 'failed',
        reason: `cannot create ${dir}: ${(err as Error).message}`,
        fix: `let uid ${uid} create ${dir}, or choose another place with --state-file`,
      };
  }
  const dirProblem = directoryProblem(dir, uid);
  if (dirProblem) return { status: 'failed', reason: `not writing ${what} ${path}: ${dirProblem}`, fix: directoryFix(dir) };

  // rename() would replace a symbolic link with our file: an operator's link
  // stays as it is, and this run keeps nothing.
  try {
    if (lstatSync(path).isSymbolicLink())
      return { status: 'failed', reason: `not writing ${what} ${path}: it is a symbolic link`, fix: `remove ${path}` };
  } catch {
    // not there yet
  }
  if (guard) {
    const existing = readPrivateFile(path, what, uid, guard.maxBytes);
    if (existing.status === 'unusable') return { status: 'failed', reason: existing.reason, fix: existing.fix };
    if (existing.status === 'ok' && !guard.replaceable(existing.data)) {
      return {
        status: 'failed',
        reason: `not replacing ${path}: it is not ${guard.kind}`,
        fix: `choose another --state-file, or remove ${path} if nothing needs it`,
      };
    }
  }
  // O_EXCL below makes a clash fail safely; the name only has to differ between concurrent runs.
  const temp = join(dir, `.${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
    return { status: 'ok' };
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // never created
    }
    return {
      status: 'failed',
      reason: `cannot write ${what} ${path}: ${(err as Error).message}`,
      fix: `let uid ${uid} write to ${dir}, or choose another place with --state-file`,
    };
  }
}
