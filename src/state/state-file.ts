import { join } from 'node:path';
import { readPrivateFile, writePrivateFile, type PrivateWrite } from './private-file';
import { parseState, type SavedState } from './schema';

export type StateLoad =
  | { status: 'ok'; state: SavedState }
  | { status: 'missing' }
  /** Present but not to be trusted or used: a link, another owner, bad JSON. */
  | { status: 'unusable'; reason: string };

export type StateSave = PrivateWrite;

const MAX_STATE_BYTES = 4 * 1024 * 1024;

/**
 * One directory per user under /var/tmp (kept across reboots, unlike /tmp on
 * many hosts), one file per network namespace the plugin runs in, so that
 * `ip netns exec a check_conntrack` and `... b ...` do not share a baseline.
 */
export function defaultStatePath(uid: number, netns: number | undefined, procRoot: string): string {
  const tree = procRoot === '/proc' ? '' : `-${fnv1a(procRoot)}`;
  return join(defaultStateDirectory(uid), `state-${netns ?? 'unknown'}${tree}.json`);
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
  if (!parsed.ok) return { status: 'unusable', reason: `ignoring the state file ${path}: ${parsed.reason}` };
  return { status: 'ok', state: parsed.state };
}

export async function saveState(path: string, state: SavedState, uid: number): Promise<StateSave> {
  return writePrivateFile(path, WHAT, Buffer.from(JSON.stringify(state)), uid);
}
