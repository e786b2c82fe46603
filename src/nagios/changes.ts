import type { SavedNotice } from '../state/schema';
import { STATE_NAMES, State } from './state';

/*
 * --changes-only: cron mails whatever a job prints, so printing only when the
 * overall state changes turns a two-hour incident into one problem mail and
 * one recovery mail.
 */

export type NoticeKind =
  /** The first non-OK run after OK (or after no record at all). */
  | 'problem'
  /** Still not OK, but another state (WARNING -> CRITICAL). */
  | 'change'
  /** The first OK run after a problem. */
  | 'recovery'
  /** Still the same non-OK state, and --repeat has passed since the last print. */
  | 'reminder'
  /** Nothing new: print nothing. */
  | 'quiet'
  /** No record could be kept or read: print, and say why, so silence never comes from a lost state. */
  | 'unkept';

export interface NoticeDecision {
  kind: NoticeKind;
  print: boolean;
  /** What to remember for the next run. */
  next: SavedNotice;
  /** The record this run compared with. */
  previous?: SavedNotice;
  /** For 'unkept': why the state could not be kept. */
  reason?: string;
  /** When the check ran (ms since the epoch). */
  atMs: number;
}

/** A summary is kept for the recovery's long output only: a short one is enough. */
const SUMMARY_KEPT = 300;

export interface NoticeInput {
  previous: SavedNotice | undefined;
  state: State;
  summary: string;
  nowMs: number;
  /** --repeat in seconds; undefined: no reminders. */
  repeatSeconds?: number;
  /** Why the previous record cannot be trusted or the next one cannot be kept; undefined when it can. */
  unkept?: string;
}

export function decideNotice(input: NoticeInput): NoticeDecision {
  const { previous, state, nowMs } = input;
  const summary = input.summary.length > SUMMARY_KEPT ? `${input.summary.slice(0, SUMMARY_KEPT - 3)}...` : input.summary;
  const ok = state === State.OK;
  const wasProblem = previous !== undefined && previous.state !== State.OK;
  const problemSinceMs = ok ? undefined : wasProblem && previous.problemSinceMs !== undefined ? previous.problemSinceMs : nowMs;
  const printed = (kind: NoticeKind): NoticeDecision => ({
    kind,
    print: true,
    atMs: nowMs,
    previous,
    next: { state, ...(problemSinceMs !== undefined ? { problemSinceMs } : {}), printedMs: nowMs, summary },
  });
  if (input.unkept !== undefined) return { ...printed('unkept'), reason: input.unkept };

  if (ok) {
    if (wasProblem) return printed('recovery');
    return {
      kind: 'quiet',
      print: false,
      atMs: nowMs,
      previous,
      next: { state, ...(previous?.printedMs !== undefined ? { printedMs: previous.printedMs } : {}) },
    };
  }
  if (!wasProblem) return printed('problem');
  if (previous.state !== state) return printed('change');
  const repeatMs = input.repeatSeconds !== undefined ? input.repeatSeconds * 1000 : undefined;
  const last = previous.printedMs ?? previous.problemSinceMs ?? nowMs;
  if (repeatMs !== undefined && nowMs - last >= repeatMs) return printed('reminder');
  return { kind: 'quiet', print: false, atMs: nowMs, previous, next: { ...previous, problemSinceMs } };
}

/** "1h 55m", "3m 5s", "2d 4h": two units are precise enough for a mail, and never round a spell to "0". */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const parts: Array<[number, string]> = [
    [Math.floor(total / 86400), 'd'],
    [Math.floor((total % 86400) / 3600), 'h'],
    [Math.floor((total % 3600) / 60), 'm'],
    [total % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, u]) => `${n}${u}`)
    .join(' ');
}

const clock = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** The words a printed change adds: a lead for the status line, and lines for the long output. */
export function describeNotice(d: NoticeDecision, repeatSeconds?: number): { lead?: string; notes: string[] } {
  const p = d.previous;
  const nowMs = d.atMs;
  switch (d.kind) {
    case 'recovery': {
      const since = p?.problemSinceMs;
      const lead = since !== undefined ? `recovered after ${formatElapsed(nowMs - since)}` : 'recovered';
      const was = p
        ? `was ${STATE_NAMES[p.state]}${since !== undefined ? ` from ${clock(since)}` : ''}${p.summary ? `: ${p.summary}` : ''}`
        : '';
      return { lead, notes: was ? [was] : [] };
    }
    case 'change':
      return {
        notes: p
          ? [
              `was ${STATE_NAMES[p.state]} before this check${p.problemSinceMs !== undefined ? `; not OK since ${clock(p.problemSinceMs)}` : ''}`,
            ]
          : [],
      };
    case 'reminder': {
      const since = p?.problemSinceMs;
      const every = repeatSeconds !== undefined ? ` (a reminder every ${formatElapsed(repeatSeconds * 1000)})` : '';
      return {
        lead: since !== undefined ? `still ${STATE_NAMES[d.next.state]} after ${formatElapsed(nowMs - since)}` : undefined,
        notes: [`not OK since ${since !== undefined ? clock(since) : 'an earlier check'}${every}`],
      };
    }
    case 'unkept':
      return {
        notes: [`--changes-only prints every check while it cannot remember the last one: ${d.reason ?? 'the state cannot be kept'}`],
      };
    default:
      return { notes: [] };
  }
}
