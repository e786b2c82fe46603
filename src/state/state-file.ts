import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { readPrivateFile, writePrivateFile, type PrivateWrite } from './private-file';
import { parseState, type SavedState } from './schema';

export type StateLoad =
  | { status: 'ok'; state: SavedState }
  | { status: 'missing' }
  /** Present but not to be trusted or used: a link, another owner, bad JSON. */
  | { status: 'unusable'; reason: string; fix?: string };

export type StateSave = PrivateWrite;

const MAX_STATE_BYTES = 4 * 1024 * 1024;

/** Made by the packages for the monitoring user (mode 0700): nobody else can create or replace it. */
export const PACKAGE_STATE_DIRECTORY = '/var/lib/check_conntrack';

/**
 * One file per network namespace the plugin runs in, so that `ip netns exec a
 * check_conntrack` and `... b ...` do not share a baseline. The directory is
 * the packages' when it is this user's alone; otherwise one per user under
 * /var/tmp (kept across reboots, unlike /tmp on many hosts), which any local
 * user could create first: then the state cannot be kept, and the output says so.
 */
export function defaultStatePath(
  uid: number,
  netns: number | undefined,
  procRoot: string,
  packageDirectory = PACKAGE_STATE_DIRECTORY,
): string {
  const tree = procRoot === '/proc' ? '' : `-${fnv1a(procRoot)}`;
  return join(chooseStateDirectory(uid, packageDirectory), `state-${netns ?? 'unknown'}${tree}.json`);
}

/** Where the state and the code cache live by default: the packages' directory when it is this user's alone. */
export function chooseStateDirectory(uid: number, packageDirectory = PACKAGE_STATE_DIRECTORY): string {
  return ownDirectory(packageDirectory, uid) ? packageDirectory : defaultStateDirectory(uid);
}

/** Exists, is a directory and not a link, belongs to `uid`, and nobody else may write to it. */
function ownDirectory(dir: string, uid: number): boolean {
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

export function defaultStateDirectory(uid: number): string {
  return `/var/tmp/check_conntrack-${uid}`;
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

const WHAT = 'the state file';

export async function loadState(path: string, uid: number): Promise<StateLoad> {
  const read = readPrivateFile(path, WHAT, uid, MAX_STATE_BYTES);
  if (read.status !== 'ok') return read;
  const parsed = parseState(read.data.toString('utf8'));
  if (!parsed.ok)
    return {
      status: 'unusable',
      reason: `ignoring the state file ${path}: ${parsed.reason}`,
      fix: `remove ${path} if it is a state file of this plugin; otherwise choose another --state-file`,
    };
  return { status: 'ok', state: parsed.state };
}

/**
 * Replaces only a file that is ours: a --state-file naming a configuration
 * file, or anything else that is not a state file, is left as it is.
 */
export async function saveState(path: string, state: SavedState, uid: number): Promise<StateSave> {
  return writePrivateFile(path, WHAT, Buffer.from(JSON.stringify(state)), uid, {
    kind: 'a check_conntrack state file',
    maxBytes: MAX_STATE_BYTES,
    replaceable: (data) => data.length === 0 || looksLikeState(data.toString('utf8')),
  });
}

/**
 * A state file, perhaps of another version, damaged in its details or cut
 * short (a full disk), but ours to replace: this plugin writes every state
 * file as compact JSON that begins {"version":N,"bootId": or ,"savedAtMs":.
 */
function looksLikeState(text: string): boolean {
  return parseState(text).ok || /^\{"version":\d+,"(bootId|savedAtMs)":/.test(text);
}
