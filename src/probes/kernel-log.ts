import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import {
  classifyMessage,
  LogScanner,
  mightMatter,
  namesSender,
  mightMatterBytes,
  parseDmesgLine,
  parseJournalLine,
  parseKmsgRecord,
  parseSyslogLine,
  type LogRecord,
} from '../parse/kernel-log';
import type { SavedLogPosition } from '../state/schema';
import { DMESG, journalKernel, journalKernelBefore, type CommandSpec } from './commands';
import type { RunIdentity } from './identity';
import type { Privileges } from './privileges';
import { streamCommand } from './run-command';
import { preview } from '../parse/printable';

export type LogChoice = 'auto' | 'kmsg' | 'dmesg' | 'journal' | 'none' | { file: string };

export interface LogMatch {
  /** How many messages this line stands for (rsyslog folds repeats into one line); 1 when absent. */
  count?: number;
  netns?: number;
  /** Wall-clock time, ms since the epoch, when the source tells. */
  timeMs?: number;
  text: string;
}

/** 'table full' messages of one namespace (or of none named) at one time. */
export interface LogDrops {
  netns?: number;
  /** Wall-clock time, ms since the epoch, when the source tells. */
  timeMs?: number;
  count: number;
}

export interface LogAttempt {
  source: string;
  reason: string;
}

export type LogScan =
  | { status: 'disabled' }
  | {
      status: 'ok';
      source: string;
      /** 'table full' messages found (a folded rsyslog repeat counts each time). */
      messages: number;
      /** The same by the namespace they name; '' for messages that name none. */
      byNetns: Record<string, number>;
      /**
       * Every message with its namespace and time, oldest first, so that each can be
       * given to the namespace that existed and dropped packets when it was logged.
       * Bounded: past the cap, a message is added to the last entry of its namespace.
       */
      drops: LogDrops[];
      newestMs?: number;
      /** The last few matching lines, as samples: a flood keeps the same memory as a trickle. */
      matches: LogMatch[];
      /** Messages the kernel's rate limiter swallowed: the drop lines are a lower bound. */
      suppressed: number;
      position: SavedLogPosition;
      /** True when "new" means since the previous run, false when it means the window. */
      sinceLastRun: boolean;
      /** Sources tried before this one, and why they failed. */
      attempts: LogAttempt[];
      notes: string[];
    }
  /** `requested`: the source the user named (--kernel-log FILE), whose silence is not to be taken for quiet. */
  | { status: 'unreadable'; attempts: LogAttempt[]; requested?: string };

export interface LogRequest {
  choice: LogChoice;
  /** The previous run's position, only when it is from this boot. */
  previous?: SavedLogPosition;
  windowSeconds: number;
  identity: RunIdentity;
  privileges: Privileges;
  sudo: boolean;
  signal: AbortSignal;
  /** When every program it starts must be gone (ms since the epoch). */
  deadlineMs: number;
}

/** Where "new" starts: the first of these the source can compare against decides. */
interface Cutoff {
  seq?: number;
  bootUsec?: number;
  wallMs: number;
  sinceLastRun: boolean;
}

const SYSLOG_FILES = ['/var/log/kern.log', '/var/log/messages'];
const JOURNAL_DIRS = ['/run/log/journal', '/var/log/journal'];
const KMSG = '/dev/kmsg';
const MAX_LOG_BYTES = 64 * 1024 * 1024;
/** A rotated-daily kern.log is far smaller; this only bounds a runaway file. */
const MAX_FILE_BYTES = 4 * 1024 * 1024 * 1024;

/** Wall-clock ms of a record, from its own time or from seconds since boot. */
function wallTime(record: LogRecord, bootTimeMs: number | undefined): number | undefined {
  if (record.wallMs !== undefined) return record.wallMs;
  if (record.bootUsec !== undefined && bootTimeMs !== undefined) return bootTimeMs + record.bootUsec / 1000;
  return undefined;
}

function cutoffFor(request: LogRequest): Cutoff {
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
class Collector {
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

function bootTime(identity: RunIdentity): number | undefined {
  return identity.uptimeSeconds !== undefined ? identity.nowMs - identity.uptimeSeconds * 1000 : undefined;
}

/**
 * /dev/kmsg, non-blocking: each read() returns one record; EAGAIN is the end;
 * EPIPE means the ring buffer overwrote records since the last read (reading
 * goes on from the oldest record still there). Synchronous reads are safe
 * here because O_NONBLOCK makes none of them wait.
 */
function readKmsg(request: LogRequest, cutoff: Cutoff): LogScan | LogAttempt {
  let fd: number;
  try {
    fd = openSync(KMSG, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    return { source: KMSG, reason: (err as Error).message };
  }
  const collector = new Collector(cutoff, bootTime(request.identity));
  const notes: string[] = [];
  // Most records are not about conntrack: they are neither decoded nor parsed,
  // except the first (where reading began) and the last (where it ended). Two
  // buffers in turn keep the previous record intact until the end is known.
  const buffers = [Buffer.alloc(16 * 1024), Buffer.alloc(16 * 1024)] as const;
  let records = 0;
  let firstSeq: number | undefined;
  let unread: Buffer | undefined;
  const take = (raw: Buffer): void => {
    const record = parseKmsgRecord(raw.toString('utf8'));
    if (!record) return;
    firstSeq ??= record.seq;
    collector.advance(record);
    if (mightMatter(record.text)) collector.offer(record);
  };
  try {
    for (;;) {
      const buf = records & 1 ? buffers[1] : buffers[0];
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') break;
        if (code === 'EPIPE') {
          notes.push('the kernel ring buffer overwrote records while it was read: some messages were lost');
          continue;
        }
        if (records === 0) return { source: KMSG, reason: (err as Error).message };
        break;
      }
      if (n === 0) break;
      records++;
      const raw = buf.subarray(0, n);
      if (firstSeq === undefined || mightMatterBytes(raw)) {
        take(raw);
        unread = undefined;
      } else {
        unread = raw;
      }
      if (records > 1_000_000) break;
    }
  } finally {
    closeSync(fd);
  }
  // The position saved for the next run is the last record read.
  if (unread) take(unread);
  // Sequence numbers are dense: a first record past the saved one + 1 means
  // the ring buffer overwrote messages between runs, unread.
  if (cutoff.seq !== undefined && firstSeq !== undefined && firstSeq > cutoff.seq + 1) {
    notes.push(`${firstSeq - cutoff.seq - 1} kernel messages were overwritten in the ring buffer before this check could read them`);
  }
  return finish('kmsg', KMSG, collector, request, cutoff, notes);
}

function finish(
  source: string,
  label: string,
  c: Collector,
  request: LogRequest,
  cutoff: Cutoff,
  notes: string[] = [],
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
  };
}

/** What a log program may print before it is stopped: far more than any ring buffer holds. */
const MAX_COMMAND_BYTES = MAX_LOG_BYTES;

/**
 * A log program's output, scanned as it streams: only candidate lines are
 * decoded, memory stays flat however much it prints, and the event loop stays
 * free for the timeout. Output that cannot be a log at all (no line of it
 * carries a time) is a failure of that source, not an empty log.
 */
async function readCommandLog(
  spec: CommandSpec,
  parse: (line: string) => LogRecord | undefined,
  request: LogRequest,
  cutoff: Cutoff,
  sudo: boolean,
  /** When the program printed nothing: why that is not a quiet log, or undefined when it is. */
  whyEmpty?: () => Promise<string | undefined>,
): Promise<LogScan | LogAttempt> {
  const c = new Collector(cutoff, bootTime(request.identity));
  let bytes = 0;
  let lastLine = '';
  let dated = false;
  const scanner = new LogScanner((line) => {
    const record = parse(line);
    if (!record) return;
    dated ||= isDated(record);
    c.offer(record);
  });
  const outcome = await streamCommand(spec, { signal: request.signal, deadlineMs: request.deadlineMs, sudo }, (chunk) => {
    bytes += chunk.length;
    scanner.push(chunk);
    const data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const newline = data.lastIndexOf(10);
    if (newline > 0) lastLine = data.toString('utf8', data.lastIndexOf(10, newline - 1) + 1, newline);
    return bytes < MAX_COMMAND_BYTES;
  });
  if (outcome.status !== 'ok') return { source: outcome.label, reason: outcome.reason ?? outcome.status };
  if (!outcome.truncated) scanner.end();
  const last = lastLine ? parse(lastLine) : undefined;
  if (last) {
    dated ||= isDated(last);
    c.advance(last);
  }
  if (bytes > 0 && !dated)
    return { source: outcome.label, reason: `unexpected output, not a kernel log (last line: '${preview(lastLine)}')` };
  const empty = bytes === 0 && whyEmpty ? await whyEmpty() : undefined;
  if (empty) return { source: outcome.label, reason: empty };
  const notes = outcome.truncated
    ? [`${outcome.label} printed more than ${MAX_COMMAND_BYTES / 1024 / 1024} MiB: it was stopped and the rest cut off unread`]
    : [];
  return finish(spec === DMESG ? 'dmesg' : 'journal', outcome.label, c, request, cutoff, notes);
}

function isDated(record: LogRecord): boolean {
  return record.seq !== undefined || record.bootUsec !== undefined || record.wallMs !== undefined;
}

function readDmesg(request: LogRequest, cutoff: Cutoff, sudo: boolean): Promise<LogScan | LogAttempt> {
  return readCommandLog(DMESG, parseDmesgLine, request, cutoff, sudo);
}

function readJournal(request: LogRequest, cutoff: Cutoff): Promise<LogScan | LogAttempt> {
  // --since takes whole seconds: ask from the second before, and let the
  // collector drop what is not newer than the cutoff.
  return readCommandLog(journalKernel(cutoff.wallMs / 1000), parseJournalLine, request, cutoff, false, () =>
    journalHoldsKernel(request, cutoff),
  );
}

/**
 * An empty window is a quiet kernel only if the journal records the kernel at
 * all: with no journal files, or journald not reading /dev/kmsg, every window is
 * empty. A kernel message of this boot from before the window says it does.
 */
async function journalHoldsKernel(request: LogRequest, cutoff: Cutoff): Promise<string | undefined> {
  const spec = journalKernelBefore(cutoff.wallMs / 1000 + 1);
  let text = '';
  const outcome = await streamCommand(spec, { signal: request.signal, deadlineMs: request.deadlineMs, sudo: false }, (chunk) => {
    text += Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8');
    return text.length < 64 * 1024;
  });
  if (outcome.status !== 'ok') return `cannot tell whether the journal holds kernel messages: ${outcome.reason ?? outcome.status}`;
  return text.split('\n').some((line) => parseJournalLine(line) !== undefined)
    ? undefined
    : 'the journal holds no kernel message of this boot (no journal files, or journald does not read the kernel log): an empty answer is not a quiet kernel';
}

/**
 * A log file, read in chunks and searched as bytes: only lines that contain a
 * message worth parsing are decoded, so a million-line kern.log costs about
 * what grep costs, in memory that does not grow with the file. A file read
 * before (same inode, not shorter) is read from where the last run stopped.
 */
async function readLogFile(path: string, request: LogRequest, cutoff: Cutoff): Promise<LogScan | LogAttempt> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    return { source: path, reason: (err as Error).message };
  }
  const c = new Collector(cutoff, bootTime(request.identity));
  const notes: string[] = [];
  const now = new Date(request.identity.nowMs);
  // A line with a sender is the kernel's only when the sender is: never read it again as a bare dmesg line.
  const parse = (line: string) =>
    namesSender(line) ? (parseSyslogLine(line, now) ?? parseJournalLine(line)) : (parseDmesgLine(line) ?? parseKmsgRecord(line));
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { source: path, reason: 'not a regular file' };
    const prev = request.previous?.file;
    const resumed = prev !== undefined && prev.path === path && prev.ino === st.ino && prev.offset <= st.size;
    const start = resumed ? prev.offset : 0;
    // Lines after the saved offset are new whatever their time says.
    const scanner = new LogScanner((line) => {
      const record = parse(line);
      if (record) c.offer(record, resumed);
    });
    // Synchronous reads of a regular file: an asynchronous read costs a
    // thread-pool round trip each. 128 KiB measured fastest with LogScanner
    // (bigger chunks make bigger latin1 strings and more memory). The loop
    // yields now and then so the timeout can fire.
    const chunk = Buffer.alloc(128 * 1024);
    let at = start;
    /** End of the last complete line: a line still being written is read whole next time. */
    let consumed = start;
    let lastLine = '';
    for (let n = 1; ; n++) {
      if (n % 256 === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (request.signal.aborted) break;
      }
      const bytesRead = readSync(fd, chunk, 0, chunk.length, at);
      if (bytesRead === 0) break;
      const data = chunk.subarray(0, bytesRead);
      scanner.push(data);
      const newline = data.lastIndexOf(10);
      if (newline >= 0) {
        // Only its time matters (for the position), so a line begun in an
        // earlier chunk may be cut here.
        lastLine = data.toString('utf8', data.lastIndexOf(10, newline - 1) + 1, newline);
        consumed = at + newline + 1;
      }
      at += bytesRead;
      if (at - start >= MAX_FILE_BYTES) {
        notes.push(`stopped reading ${path} after ${at - start} bytes`);
        break;
      }
    }
    const last = lastLine ? parse(lastLine) : undefined;
    if (last) c.advance(last);
    const scan = finish('file', path, c, request, cutoff, notes);
    if ('status' in scan && scan.status === 'ok') {
      scan.position.file = { path, ino: st.ino, offset: consumed };
      scan.sinceLastRun = resumed || cutoff.sinceLastRun;
    }
    return scan;
  } catch (err) {
    return { source: path, reason: (err as Error).message };
  } finally {
    closeSync(fd);
  }
}

async function journalReadable(privileges: Privileges): Promise<string | undefined> {
  let present = false;
  for (const dir of JOURNAL_DIRS) {
    try {
      const st = statSync(dir);
      if (st.isDirectory()) present = true;
    } catch {
      // not there
    }
  }
  if (!present) return 'no journal on this host (neither /run/log/journal nor /var/log/journal)';
  if (privileges.root || privileges.logGroups.some((g) => g === 'systemd-journal' || g === 'adm' || g === 'wheel')) return undefined;
  return 'the system journal needs root or membership of systemd-journal or adm';
}

function kernelLogRefusal(p: Privileges): string | undefined {
  if (p.mayReadKernelLog) return undefined;
  return `kernel.dmesg_restrict=${p.dmesgRestrict ?? '?'} and this process lacks CAP_SYSLOG`;
}

export async function scanKernelLog(request: LogRequest): Promise<LogScan> {
  const { choice, privileges } = request;
  if (choice === 'none') return { status: 'disabled' };
  const cutoff = cutoffFor(request);
  const attempts: LogAttempt[] = [];
  const take = (r: LogScan | LogAttempt): LogScan | undefined => {
    if ('status' in r) {
      if (r.status === 'ok') r.attempts = attempts;
      return r;
    }
    attempts.push(r);
    return undefined;
  };

  if (typeof choice === 'object')
    return take(await readLogFile(choice.file, request, cutoff)) ?? { status: 'unreadable', attempts, requested: choice.file };

  const refusal = kernelLogRefusal(privileges);
  if (choice === 'auto' || choice === 'kmsg') {
    // Learnt from /proc: a source the kernel will refuse is not even tried.
    if (refusal) attempts.push({ source: KMSG, reason: refusal });
    else {
      const scan = take(readKmsg(request, cutoff));
      if (scan) return scan;
    }
    if (choice === 'kmsg') return { status: 'unreadable', attempts };
  }
  if (choice === 'auto' || choice === 'dmesg') {
    if (!refusal || request.sudo) {
      const scan = take(await readDmesg(request, cutoff, Boolean(refusal) && request.sudo));
      if (scan) return scan;
    } else attempts.push({ source: DMESG.program, reason: refusal });
    if (choice === 'dmesg') return { status: 'unreadable', attempts };
  }
  if (choice === 'auto' || choice === 'journal') {
    const why = await journalReadable(privileges);
    if (why) attempts.push({ source: 'journalctl -k', reason: why });
    else {
      const scan = take(await readJournal(request, cutoff));
      if (scan) return scan;
    }
    if (choice === 'journal') return { status: 'unreadable', attempts };
  }
  for (const file of SYSLOG_FILES) {
    try {
      statSync(file);
    } catch {
      attempts.push({ source: file, reason: 'not present' });
      continue;
    }
    const scan = take(await readLogFile(file, request, cutoff));
    if (scan) return scan;
  }
  return { status: 'unreadable', attempts };
}
