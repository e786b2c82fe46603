import { constants } from 'node:fs';
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseState, type SavedState } from './schema';

export type StateLoad =
  | { status: 'ok'; state: SavedState }
  | { status: 'missing' }
  /** Present but not to be trusted or used: a link, another owner, bad JSON. */
  | { status: 'unusable'; reason: string };

export type StateSave = { status: 'ok' } | { status: 'failed'; reason: string };

const MAX_STATE_BYTES = 4 * 1024 * 1024;

/**
 * One directory per user under /var/tmp (kept across reboots, unlike /tmp on
 * many hosts), one file per network namespace the plugin runs in, so that
 * `ip netns exec a check_conntrack` and `... b ...` do not share a baseline.
 */
export function defaultStatePath(uid: number, netns: number | undefined, procRoot: string): string {
  const tree = procRoot === '/proc' ? '' : `-${fnv1a(procRoot)}`;
  return join(`/var/tmp/check_conntrack-${uid}`, `state-${netns ?? 'unknown'}${tree}.json`);
}

/**
 * A short, stable name for a --proc path. Not for security: node:crypto would
 * cost every run a few milliseconds of module loading for this alone.
 */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? '';
}

/**
 * The directory must be ours (or root's) and writable by nobody else: a
 * directory another user owns or may write to lets that user swap the file
 * under us.
 */
async function checkDirectory(dir: string, uid: number): Promise<string | undefined> {
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

export async function loadState(path: string, uid: number): Promise<StateLoad> {
  const dirProblem = await checkDirectory(dirname(path), uid);
  if (dirProblem) return { status: 'unusable', reason: `refusing the state file ${path}: ${dirProblem}` };
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = errno(err);
    if (code === 'ENOENT') return { status: 'missing' };
    if (code === 'ELOOP') return { status: 'unusable', reason: `refusing the state file ${path}: it is a symbolic link` };
    return { status: 'unusable', reason: `cannot read the state file ${path}: ${(err as Error).message}` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { status: 'unusable', reason: `refusing the state file ${path}: it is not a regular file` };
    if (st.uid !== uid) return { status: 'unusable', reason: `refusing the state file ${path}: it belongs to uid ${st.uid}` };
    if ((st.mode & 0o022) !== 0) return { status: 'unusable', reason: `refusing the state file ${path}: it is writable by others (mode ${(st.mode & 0o777).toString(8)})` };
    if (st.size > MAX_STATE_BYTES) return { status: 'unusable', reason: `ignoring the state file ${path}: ${st.size} bytes is too large` };
    const buf = Buffer.alloc(st.size);
    let length = 0;
    while (length < buf.length) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
    const parsed = parseState(buf.toString('utf8', 0, length));
    if (!parsed.ok) return { status: 'unusable', reason: `ignoring the state file ${path}: ${parsed.reason}` };
    return { status: 'ok', state: parsed.state };
  } catch (err) {
    return { status: 'unusable', reason: `cannot read the state file ${path}: ${(err as Error).message}` };
  } finally {
    closeSync(fd);
  }
}

/**
 * Atomic: a new file beside the old one, then rename, so that a reader (or a
 * concurrent run) sees the old state or the new one, never half of either.
 */
export async function saveState(path: string, state: SavedState, uid: number): Promise<StateSave> {
  const dir = dirname(path);
  // Only the last directory is made: a missing parent is the operator's to
  // create (and a recursive mkdir under /proc spins forever in Node 20).
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    const code = errno(err);
    if (code === 'ENOENT') return { status: 'failed', reason: `cannot create ${dir}: its parent directory does not exist` };
    if (code !== 'EEXIST') return { status: 'failed', reason: `cannot create ${dir}: ${(err as Error).message}` };
  }
  const dirProblem = await checkDirectory(dir, uid);
  if (dirProblem) return { status: 'failed', reason: `not writing the state file ${path}: ${dirProblem}` };

  // rename() would replace a symbolic link with our file: an operator's link
  // stays as it is, and this run keeps no state.
  try {
    if (lstatSync(path).isSymbolicLink()) return { status: 'failed', reason: `not writing the state file ${path}: it is a symbolic link` };
  } catch {
    // not there yet
  }
  // O_EXCL below makes a clash fail safely; the name only has to differ between concurrent runs.
  const temp = join(dir, `.${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    const data = Buffer.from(JSON.stringify(state));
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
    return { status: 'failed', reason: `cannot write the state file ${path}: ${(err as Error).message}` };
  }
}
