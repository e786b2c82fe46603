import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import {
  kmsgPriority,
  namesSender,
  parseDmesgLine,
  parseJournalLine,
  parseKmsgRecord,
  parseSyslogLine,
  type LogRecord,
} from '../parse/log-lines';
import { mightMatter } from '../parse/log-message';
import { LogScanner } from '../parse/log-scanner';
import { DMESG, journalKernel, journalKernelBefore, type CommandSpec } from './commands';
import { streamCommand } from './run-command';
import { preview } from '../parse/printable';
import { bootTime, Collector, finish, type Cutoff } from './log-collector';
import type { LogAttempt, LogRequest, LogScan } from './log-scan';

/* The kernel log's readers: /dev/kmsg, the log programs (dmesg, journalctl) and syslog files. */

export const SYSLOG_FILES = ['/var/log/kern.log', '/var/log/messages'];
export const JOURNAL_DIRS = ['/run/log/journal', '/var/log/journal'];
export const KMSG = '/dev/kmsg';
const MAX_LOG_BYTES = 64 * 1024 * 1024;
/** A rotated-daily kern.log is far smaller; this only bounds a runaway file. */
const MAX_FILE_BYTES = 4 * 1024 * 1024 * 1024;
/** A writer as fast as the reader would keep a read of /dev/kmsg going forever. */
const MAX_KMSG_RECORDS = 1_000_000;
/** How many records /dev/kmsg's reader reads between looks at the clock. */
const DEADLINE_EVERY = 1024;

/**
 * /dev/kmsg, non-blocking: each read() returns one record; EAGAIN is the end;
 * EPIPE means the ring buffer overwrote records since the last read (reading
 * goes on from the oldest record still there). Synchronous reads are safe
 * here because O_NONBLOCK makes none of them wait; but a synchronous loop lets
 * no timer fire, so the run's timeout cannot stop it: it watches the deadline
 * itself. Each read is a system call, and a ring buffer of a million records on
 * a slow (or emulated) machine takes longer than a check may.
 */
export function readKmsg(request: LogRequest, cutoff: Cutoff): LogScan | LogAttempt {
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
  /** The last record read and not yet taken: its buffer and length. */
  let unread: Buffer | undefined;
  let unreadLength = 0;
  let records = 0;
  /** Why reading stopped before the end, when it did: the count is then a lower bound. */
  let cut: string | undefined;
  let firstSeq: number | undefined;
  const take = (raw: Buffer): void => {
    const record = parseKmsgRecord(raw.toString('utf8'));
    if (!record) return;
    firstSeq ??= record.seq;
    collector.advance(record);
    if (mightMatter(record.text)) collector.offer(record);
  };
  try {
    for (;;) {
      if (records % DEADLINE_EVERY === 0 && Date.now() >= request.deadlineMs) {
        if (records === 0) return { source: KMSG, reason: 'no record read before the check ran out of time' };
        cut = `at the time limit, after ${records} records (raise -t/--timeout)`;
        break;
      }
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
        cut = `after ${records} records: ${(err as Error).message}`;
        break;
      }
      if (n === 0) break;
      records++;
      // Every record is looked at, so this is the loop's cost. User space's
      // records (daemons write to /dev/kmsg too) never count: their priority,
      // read from the bytes, passes them by. For the kernel's, latin1 makes one
      // character of each byte (the words looked for are ASCII, found as in the
      // bytes), and one string costs half of two searches of a view of the buffer.
      if (firstSeq === undefined || (kmsgPriority(buf, n) < 8 && mightMatter(buf.toString('latin1', 0, n)))) {
        take(buf.subarray(0, n));
        unread = undefined;
      } else {
        unread = buf;
        unreadLength = n;
      }
      if (records >= MAX_KMSG_RECORDS) {
        cut = `after ${records} records, as many as it reads in one check`;
        break;
      }
    }
  } finally {
    closeSync(fd);
  }
  // The position saved for the next run is the last record read.
  if (unread) take(unread.subarray(0, unreadLength));
  if (cut) notes.push(`reading ${KMSG} stopped ${cut}: newer records were not read, so the count is a lower bound`);
  // Sequence numbers are dense: a first record past the saved one + 1 means
  // the ring buffer overwrote messages between runs, unread.
  if (cutoff.seq !== undefined && firstSeq !== undefined && firstSeq > cutoff.seq + 1) {
    notes.push(`${firstSeq - cutoff.seq - 1} kernel messages were overwritten in the ring buffer before this check could read them`);
  }
  return finish('kmsg', KMSG, collector, request, cutoff, notes, cut !== undefined);
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

export function readDmesg(request: LogRequest, cutoff: Cutoff, sudo: boolean): Promise<LogScan | LogAttempt> {
  return readCommandLog(DMESG, parseDmesgLine, request, cutoff, sudo);
}

export function readJournal(request: LogRequest, cutoff: Cutoff): Promise<LogScan | LogAttempt> {
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
export async function readLogFile(path: string, request: LogRequest, cutoff: Cutoff): Promise<LogScan | LogAttempt> {
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
    /** Why reading stopped before the end, when it did: the count is then a lower bound. */
    let cut: string | undefined;
    for (let n = 1; ; n++) {
      // The reads are synchronous, so the run's timer fires only when the loop
      // yields: it watches the deadline itself, as the kmsg reader does.
      if ((n === 1 || n % 32 === 0) && Date.now() >= request.deadlineMs) {
        if (n === 1) return { source: path, reason: 'no line read before the check ran out of time' };
        cut = 'at the time limit (raise -t/--timeout)';
        break;
      }
      if (n % 256 === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (request.signal.aborted) {
          cut = 'when the check was stopped';
          break;
        }
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
        cut = 'at as much as it reads in one check';
        break;
      }
    }
    if (cut)
      notes.push(`reading ${path} stopped ${cut}, after ${at - start} bytes: later lines were not read, so the count is a lower bound`);
    const last = lastLine ? parse(lastLine) : undefined;
    if (last) c.advance(last);
    const scan = finish('file', path, c, request, cutoff, notes, cut !== undefined);
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
