import type { LogRecord } from '../parse/log-lines';
import { classifyMessage } from '../parse/log-message';
import type { SavedLogPosition } from '../state/schema';
import type { RunIdentity } from '../run-identity';
import type { LogAttempt, LogDrops, LogMatch, LogRequest, LogScan } from './log-scan';

/* What every kernel-log reader shares: where "new" starts, and the counting of what it reads. */

/** Where "new" starts: the first of these the source can compare against decides. */
export interface Cutoff {
  seq?: number;
  bootUsec?: number;
  wallMs: number;
  sinceLastRun: boolean;
}

/** Wall-clock ms of a record, from its own time or from seconds since boot. */
export function wallTime(record: LogRecord, bootTimeMs: number | undefined): number | undefined {
  if (record.wallMs !== undefined) return record.wallMs;
  if (record.bootUsec !== undefined && bootTimeMs !== undefined) return bootTimeMs + record.bootUsec / 1000;
  return undefined;
}

export function cutoffFor(request: LogRequest): Cutoff {
  const { previous, identity, windowSeconds } = request;
  if (previous) {
    return {
      seq: previous.source === 'kmsg' ? previous.seq : undefined,
      bootUsec: previous.bootUsec,
      wallMs: previous.wallMs ?? identity.nowMs - windowSeconds * 1000,
      sinceLastRun: true,
    };
  }
  const bootUsec = identity.uptimeSeconds !== undefined ? Math.max(0, (identity.uptimeSeconds - windowSeconds) * 1e6) : undefined;
  return { bootUsec, wallMs: identity.nowMs - windowSeconds * 1000, sinceLastRun: false };
}

/** How many matching lines are kept as samples. */
const SAMPLES = 20;
/** Drop entries kept with their own time: a flood of a million lines keeps this many. */
const MAX_DROP_ENTRIES = 4096;

/** Counts matches, keeps a few, and notes the position of the last record read. */
export class Collector {
  readonly matches: LogMatch[] = [];
  messages = 0;
  readonly byNetns: Record<string, number> = {};
  readonly drops: LogDrops[] = [];
  newestMs?: number;
  suppressed = 0;
  undated = 0;
  lastSeq?: number;
  lastBootUsec?: number;
  lastWallMs?: number;

  constructor(
    private readonly cutoff: Cutoff,
    private readonly bootTimeMs: number | undefined,
  ) {}

  isNew(record: LogRecord): boolean {
    const c = this.cutoff;
    if (c.seq !== undefined && record.seq !== undefined) return record.seq > c.seq;
    // A syslog line's own wall time wins over the "[  152.33]" it may carry:
    // that is time since *a* boot, perhaps an earlier one.
    if (record.wallMs !== undefined) return record.wallMs > c.wallMs;
    if (c.bootUsec !== undefined && record.bootUsec !== undefined) return record.bootUsec > c.bootUsec;
    const wall = wallTime(record, this.bootTimeMs);
    if (wall !== undefined) return wall > c.wallMs;
    this.undated++;
    return false;
  }

  /** Every record read moves the position, matching or not. */
  advance(record: LogRecord): void {
    if (record.seq !== undefined) this.lastSeq = record.seq;
    if (record.bootUsec !== undefined && record.wallMs === undefined) this.lastBootUsec = record.bootUsec;
    const wall = wallTime(record, this.bootTimeMs);
    if (wall !== undefined) this.lastWallMs = Math.round(wall);
  }

  offer(record: LogRecord, alwaysNew = false): void {
    // User space may write to /dev/kmsg, but the kernel gives it a facility other than 0.
    if (record.prio !== undefined && record.prio >> 3 !== 0) return;
    const event = classifyMessage(record.text);
    if (!event || !(alwaysNew || this.isNew(record))) return;
    const times = record.repeated ?? 1;
    if (event.kind === 'table-full') {
      const timeMs = wallTime(record, this.bootTimeMs);
      this.messages += times;
      const key = event.netns === undefined ? '' : String(event.netns);
      this.byNetns[key] = (this.byNetns[key] ?? 0) + times;
      this.addDrops(event.netns, timeMs, times);
      if (timeMs !== undefined && (this.newestMs === undefined || timeMs > this.newestMs)) this.newestMs = timeMs;
      this.matches.push({ count: times, netns: event.netns, timeMs, text: record.text.trim() });
      if (this.matches.length > SAMPLES) this.matches.shift();
    } else if (event.kind === 'suppressed') {
      // A suppression line counts only when it follows drop messages: other
      // subsystems share net_ratelimit.
      if (this.messages > 0) this.suppressed += event.count * times;
    }
  }

  private addDrops(netns: number | undefined, timeMs: number | undefined, count: number): void {
    const last = this.drops[this.drops.length - 1];
    if (last && last.netns === netns && last.timeMs === timeMs) {
      last.count += count;
      return;
    }
    if (this.drops.length >= MAX_DROP_ENTRIES) {
      // The newest time stands for the merged ones: a message is then never placed before a namespace existed.
      let same: LogDrops | undefined;
      for (let i = this.drops.length - 1; i >= 0 && !same; i--) if (this.drops[i]!.netns === netns) same = this.drops[i];
      if (same) {
        same.count += count;
        if (timeMs !== undefined && (same.timeMs === undefined || timeMs > same.timeMs)) same.timeMs = timeMs;
        return;
      }
    }
    this.drops.push({ netns, timeMs, count });
  }

  position(source: string, previous: SavedLogPosition | undefined, cutoff: Cutoff): SavedLogPosition {
    return {
      source,
      seq: this.lastSeq ?? (previous?.source === source ? previous.seq : undefined),
      bootUsec: this.lastBootUsec ?? cutoff.bootUsec,
      wallMs: Math.round(this.lastWallMs ?? cutoff.wallMs),
    };
  }
}

export function bootTime(identity: RunIdentity): number | undefined {
  return identity.uptimeSeconds !== undefined ? identity.nowMs - identity.uptimeSeconds * 1000 : undefined;
}

export function finish(
  source: string,
  label: string,
  c: Collector,
  request: LogRequest,
  cutoff: Cutoff,
  notes: string[] = [],
  /** Reading stopped before the end: the count is a lower bound. */
  partial = false,
): LogScan | LogAttempt {
  // Messages that cannot be placed in time cannot be called old: a log whose
  // matches are all undated has not shown that nothing was dropped.
  if (c.undated > 0 && c.messages === 0) {
    return {
      source: label,
      reason: `${c.undated} 'table full' or suppression messages carry no time that can be compared (is ${request.identity.uptimeSeconds === undefined ? 'the uptime file' : 'the clock'} readable?)`,
    };
  }
  if (c.undated > 0) notes.push(`${c.undated} messages in ${label} carry no time and were not counted`);
  return {
    status: 'ok',
    source: label,
    messages: c.messages,
    byNetns: c.byNetns,
    drops: c.drops,
    newestMs: c.newestMs,
    matches: c.matches,
    suppressed: c.suppressed,
    position: c.position(source, request.previous, cutoff),
    sinceLastRun: cutoff.sinceLastRun,
    attempts: [],
    notes,
    ...(partial ? { partial } : {}),
  };
}
