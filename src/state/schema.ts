import { preview } from '../parse/printable';

/**
 * What one run leaves for the next, so that alerts are about what happened
 * since the last check and not since boot.
 */
export interface SavedCounters {
  /** Counter name -> per-CPU values as the kernel gave them (32-bit, may wrap). */
  perCpu: Record<string, number[]>;
  /** Table count at that time, for growth and "still tracking" findings. */
  count?: number;
  timeMs: number;
  /** Recent [timeMs, count] samples, oldest first, for the growth forecast. */
  history?: Array<[number, number]>;
}

export interface SavedLogPosition {
  /** Which reader left it; a position from another reader is not comparable. */
  source: string;
  /** /dev/kmsg sequence number of the last record read. */
  seq?: number;
  /** Microseconds since boot of the last record read (kmsg, dmesg). */
  bootUsec?: number;
  /** Wall-clock time up to which the log was read (journal, files). */
  wallMs?: number;
  /** For log files: which file, and how far it was read. */
  file?: { path: string; ino: number; offset: number };
}

/**
 * What --changes-only remembers between runs: the overall state of the last
 * run, since when the host has been out of OK, and when that was last said.
 */
export interface SavedNotice {
  /** Exit code of the last run: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
  state: 0 | 1 | 2 | 3;
  /** When the current non-OK spell began (ms since the epoch); absent while OK. */
  problemSinceMs?: number;
  /** When a run last printed (ms since the epoch). */
  printedMs?: number;
  /** The status line's summary at the last print, for the recovery's long output. */
  summary?: string;
}

export interface SavedState {
  version: 1;
  bootId?: string;
  savedAtMs: number;
  /** Keyed by network namespace inode (as a string). */
  namespaces: Record<string, SavedCounters>;
  log?: SavedLogPosition;
  /** --changes-only: what the last run said; kept across reboots, unlike the counters. */
  notice?: SavedNotice;
}

export const STATE_VERSION = 1;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** A per-CPU kernel counter: 32 bits, as the kernel keeps it. */
const isCounter32 = (v: unknown): v is number => isCount(v) && v < 2 ** 32;
const optional = <T>(v: unknown, check: (x: unknown) => x is T): v is T | undefined => v === undefined || check(v);
const isString = (v: unknown): v is string => typeof v === 'string';

const isSample = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && isCount(v[0]) && isCount(v[1]);

function isCounters(v: unknown): v is SavedCounters {
  if (!isRecord(v) || !isCount(v.timeMs) || !optional(v.count, isCount) || !isRecord(v.perCpu)) return false;
  if (v.history !== undefined && !(Array.isArray(v.history) && v.history.every(isSample))) return false;
  return Object.values(v.perCpu).every((a) => Array.isArray(a) && a.every(isCounter32));
}

function isLogPosition(v: unknown): v is SavedLogPosition {
  if (!isRecord(v) || !isString(v.source)) return false;
  if (!optional(v.seq, isCount) || !optional(v.bootUsec, isCount) || !optional(v.wallMs, isCount)) return false;
  if (v.file === undefined) return true;
  return isRecord(v.file) && isString(v.file.path) && isCount(v.file.ino) && isCount(v.file.offset);
}

function isNotice(v: unknown): v is SavedNotice {
  if (!isRecord(v) || !(v.state === 0 || v.state === 1 || v.state === 2 || v.state === 3)) return false;
  return optional(v.problemSinceMs, isCount) && optional(v.printedMs, isCount) && optional(v.summary, isString);
}

/** Validates untrusted JSON: anything that lacks our shape is rejected as a whole (extra fields are ignored). */
export function parseState(text: string): { ok: true; state: SavedState } | { ok: false; reason: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'it is not valid JSON' };
  }
  if (!isRecord(data)) return { ok: false, reason: 'it is not a JSON object' };
  if (data.version !== STATE_VERSION)
    return { ok: false, reason: `it has version ${preview(JSON.stringify(data.version) ?? 'none')}, not ${STATE_VERSION}` };
  if (!optional(data.bootId, isString) || !isCount(data.savedAtMs) || !isRecord(data.namespaces)) {
    return { ok: false, reason: 'it lacks bootId, savedAtMs or namespaces' };
  }
  if (!Object.values(data.namespaces).every(isCounters)) return { ok: false, reason: 'a namespace entry is malformed' };
  if (!optional(data.log, isLogPosition)) return { ok: false, reason: 'the log position is malformed' };
  if (!optional(data.notice, isNotice)) return { ok: false, reason: 'the --changes-only record is malformed' };
  return { ok: true, state: data as unknown as SavedState };
}
