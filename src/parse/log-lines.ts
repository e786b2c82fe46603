/**
 * Kernel log lines from each place a check may read them: /dev/kmsg, `dmesg -r`,
 * `journalctl -k -o short-unix` and syslog files, each read into the message text
 * and whatever position or time its source gives. Every parser looks at a bounded
 * part of its line with anchored or sticky regexes, so a hostile line of a huge
 * log costs no more than a real one.
 */

/** One kernel message with whatever position/time its source gives. */
export interface LogRecord {
  text: string;
  /** /dev/kmsg sequence number. */
  seq?: number;
  /** Microseconds since boot (kmsg, dmesg -r, kern.log's "[  152.332874]" prefix). */
  bootUsec?: number;
  /** Wall-clock time, ms since the epoch (journal, syslog files). */
  wallMs?: number;
  /** facility * 8 + level, where the source gives it (kmsg, dmesg -r). Facility 0 is the kernel itself. */
  prio?: number;
  /**
   * rsyslog folds identical lines into "message repeated N times: [ text ]"; `text` is
   * then the inner message and this is N, so a caller counting drops can multiply.
   */
  repeated?: number;
}

/** A line read from a file or a pipe may keep its end-of-line characters. */
function chomp(line: string): string {
  let end = line.length;
  if (end > 0 && line.charCodeAt(end - 1) === 10) end--;
  if (end > 0 && line.charCodeAt(end - 1) === 13) end--;
  return end === line.length ? line : line.slice(0, end);
}

/** "152" and "332874" -> 152332874; fractions other than 6 digits are scaled. */
function bootUsecOf(seconds: string, fraction: string): number | undefined {
  if (seconds.length > 15) return undefined;
  const usec = Number(seconds) * 1_000_000 + Number((fraction + '000000').slice(0, 6));
  return Number.isSafeInteger(usec) ? usec : undefined;
}

// kmsg header: prio,seq,usec,flags and, on newer kernels, more comma fields such as
// "caller=T123". The header holds no ';', so the first one ends it.
const KMSG_HEADER = /^(\d{1,10}),(\d{1,20}),(\d{1,20}),[^,;]*(?:,[^;]*)?$/;
const KMSG_MAX_HEADER = 256;

/**
 * The priority at the head of a raw /dev/kmsg record ("prio,seq,..."), read
 * from the bytes before any decoding: facility * 8 + level. -1 when the record
 * does not start with digits. A record at 8 or above is user space's, which
 * never counts, so a reader can pass it by without decoding it.
 */
export function kmsgPriority(raw: Uint8Array, length: number): number {
  let prio = -1;
  for (let i = 0; i < length; i++) {
    const c = raw[i]!;
    if (c < 48 || c > 57) break;
    prio = (prio < 0 ? 0 : prio) * 10 + (c - 48);
    // Past the facility bits nothing more is needed, and the number stays small.
    if (prio >= 8) return prio;
  }
  return prio;
}

/** "4,350,152332874,-;text": /dev/kmsg record (ignore continuation lines starting with a space: return undefined). */
export function parseKmsgRecord(record: string): LogRecord | undefined {
  if (typeof record !== 'string' || record.length === 0 || record.charCodeAt(0) === 32) return undefined;
  const semi = record.slice(0, KMSG_MAX_HEADER + 1).indexOf(';');
  if (semi < 0) return undefined;
  const m = KMSG_HEADER.exec(record.slice(0, semi));
  if (!m || m[1] === undefined || m[2] === undefined || m[3] === undefined) return undefined;
  const seq = Number(m[2]);
  const bootUsec = Number(m[3]);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(bootUsec)) return undefined;
  // One read() of /dev/kmsg returns the record and its " KEY=value" continuation
  // lines; the message ends at the first newline (real newlines in it are escaped).
  const newline = record.indexOf('\n', semi + 1);
  const text = record.slice(semi + 1, newline < 0 ? record.length : newline);
  return { text, seq, bootUsec, prio: Number(m[1]) };
}

const DMESG_PRIO = /<(\d+)>/y;
// dmesg pads the seconds to 5 columns; a longer run of spaces is not a timestamp.
const BOOT_STAMP = /\[ {0,12}(\d+)\.(\d+)\] ?/y;

/**
 * Strips a "[  152.332874] " prefix at `from`. null when the prefix is there but its
 * number is unusable, so the caller can refuse the line rather than guess.
 */
function takeBootStamp(line: string, from: number): { bootUsec?: number; next: number } | null {
  if (line.charCodeAt(from) !== 91 /* [ */) return { next: from };
  BOOT_STAMP.lastIndex = from;
  const m = BOOT_STAMP.exec(line);
  // "[drm] ..." and the like are message text, not a timestamp.
  if (!m || m[1] === undefined || m[2] === undefined) return { next: from };
  const bootUsec = bootUsecOf(m[1], m[2]);
  return bootUsec === undefined ? null : { bootUsec, next: BOOT_STAMP.lastIndex };
}

/** `dmesg -r` line: "<4>[  152.332874] text"; also tolerate "[  152.332874] text" and "<4>text" (no timestamp, CONFIG_PRINTK_TIME off). */
export function parseDmesgLine(line: string): LogRecord | undefined {
  if (typeof line !== 'string') return undefined;
  line = chomp(line);
  if (line.length === 0) return undefined;
  const record: LogRecord = { text: '' };
  let pos = 0;
  DMESG_PRIO.lastIndex = 0;
  const p = DMESG_PRIO.exec(line);
  if (p && p[1] !== undefined) {
    const prio = Number(p[1]);
    if (!Number.isSafeInteger(prio)) return undefined;
    record.prio = prio;
    pos = DMESG_PRIO.lastIndex;
  }
  const stamp = takeBootStamp(line, pos);
  if (stamp === null) return undefined;
  if (stamp.bootUsec !== undefined) record.bootUsec = stamp.bootUsec;
  record.text = line.slice(stamp.next);
  return record;
}

const HOST_MAX = 255;
const KERNEL_TAG = /kernel(?:\[\d{1,10}\])?:/y;

/**
 * After the time: "host kernel: text". Returns where the text starts, or -1 when the
 * line is not from the kernel. Only one space is eaten after the colon, so a message
 * keeps its own indentation.
 */
function kernelTextStart(line: string, from: number): number {
  const space = line.indexOf(' ', from);
  if (space <= from || space - from > HOST_MAX) return -1;
  KERNEL_TAG.lastIndex = space + 1;
  if (!KERNEL_TAG.test(line)) return -1;
  const next = KERNEL_TAG.lastIndex;
  return line.charCodeAt(next) === 32 ? next + 1 : next;
}

const JOURNAL_TIME = /^(\d{1,12})(?:\.(\d{1,9}))? /;

/** `journalctl -k -o short-unix` line: "1700000000.123456 host kernel: text". Lines starting with "-- " are journal markers: undefined. */
export function parseJournalLine(line: string): LogRecord | undefined {
  if (typeof line !== 'string') return undefined;
  line = chomp(line);
  if (line.startsWith('-- ')) return undefined;
  const m = JOURNAL_TIME.exec(line);
  if (!m || m[1] === undefined) return undefined;
  const wallMs = Number(m[1]) * 1000 + Number(((m[2] ?? '') + '000').slice(0, 3));
  if (!Number.isSafeInteger(wallMs)) return undefined;
  // journalctl -k shows every record of /dev/kmsg, including those user space wrote
  // there (systemd[1]: ...); only the "kernel" identifier is the kernel speaking.
  const start = kernelTextStart(line, m[0].length);
  if (start < 0) return undefined;
  return kernelText(line, start, { text: '', wallMs });
}

/** The message after the tag, with an optional boot stamp and rsyslog's repeat wrapper taken off. */
function kernelText(line: string, start: number, record: LogRecord): LogRecord | undefined {
  let text = line.slice(start);
  const repeat = REPEATED.exec(text);
  if (repeat && repeat[1] !== undefined && repeat[2] !== undefined) {
    const repeated = Number(repeat[1]);
    if (!Number.isSafeInteger(repeated)) return undefined;
    record.repeated = repeated;
    text = repeat[2];
  }
  const stamp = takeBootStamp(text, 0);
  if (stamp === null) return undefined;
  if (stamp.bootUsec !== undefined) record.bootUsec = stamp.bootUsec;
  record.text = stamp.next === 0 ? text : text.slice(stamp.next);
  return record;
}

// rsyslog: 'message repeated %d times: [%.800s]', the message keeping its leading space.
const REPEATED = /^message repeated (\d+) times: \[ ?(.*)\]$/s;

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};
const TRADITIONAL_TIME = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) /;
const RFC3339_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2})) /;
/** A line a few minutes ahead is this year's, written by a clock a little fast; further ahead, it is last year's. */
const FUTURE_SLACK_MS = 5 * 60 * 1000;

/**
 * True when the line starts like a syslog file or journal line (a time, then a host
 * and a sender): such a line is the kernel's only with the `kernel:` tag, so a reader
 * trying several formats must not read it again as a bare dmesg line.
 */
export function namesSender(line: string): boolean {
  if (typeof line !== 'string') return false;
  const code = line.charCodeAt(0);
  if (code >= 48 && code <= 57) return RFC3339_TIME.test(line) || JOURNAL_TIME.test(line);
  return TRADITIONAL_TIME.test(line);
}

/**
 * A syslog file line (kern.log, messages): traditional "Dec 14 15:00:05 host kernel: text" (local time, no year:
 * take the year of `now`, and the previous year if that would put it in the future) or RFC 3339
 * "2024-05-01T10:00:00.123456+02:00 host kernel: text". Only lines from the kernel ("kernel:" tag) count: others
 * return undefined. Strip an optional "[  152.332874] " prefix into bootUsec.
 */
export function parseSyslogLine(line: string, now: Date): LogRecord | undefined {
  if (typeof line !== 'string') return undefined;
  line = chomp(line);
  const code = line.charCodeAt(0);
  const time = code >= 48 && code <= 57 ? rfc3339Time(line) : traditionalTime(line, now);
  if (time === undefined) return undefined;
  const start = kernelTextStart(line, time.length);
  if (start < 0) return undefined;
  return kernelText(line, start, { text: '', wallMs: time.wallMs });
}

interface LineTime {
  wallMs: number;
  /** Characters up to and including the space after the time. */
  length: number;
}

// Many lines share a second, and local-time conversion is the dearest step of a
// syslog line, so the last answer is kept (keyed on the zone too: tests change TZ).
let lastTraditional = { prefix: '', nowMs: Number.NaN, zone: 0, wallMs: 0 };

function traditionalTime(line: string, now: Date): LineTime | undefined {
  if (!(now instanceof Date)) return undefined;
  const nowMs = now.getTime();
  if (Number.isNaN(nowMs)) return undefined;
  const zone = now.getTimezoneOffset();
  const last = lastTraditional;
  if (last.nowMs === nowMs && last.zone === zone && line.startsWith(last.prefix))
    return { wallMs: last.wallMs, length: last.prefix.length };
  const m = TRADITIONAL_TIME.exec(line);
  if (!m) return undefined;
  const [prefix, mon = '', day = '', hh = '', mm = '', ss = ''] = m;
  const month = MONTHS[mon];
  if (month === undefined) return undefined;
  const at = (year: number): number | undefined => localTime(year, month, Number(day), Number(hh), Number(mm), Number(ss));
  const year = now.getFullYear();
  // A line from late December read on New Year's Day would otherwise land almost a
  // year ahead, and a line from last year's tomorrow would count as new.
  let wallMs = at(year);
  if (wallMs === undefined || wallMs > nowMs + FUTURE_SLACK_MS) wallMs = at(year - 1);
  if (wallMs === undefined) return undefined;
  lastTraditional = { prefix, nowMs, zone, wallMs };
  return { wallMs, length: prefix.length };
}

/** Local time; undefined for a date the calendar lacks (Feb 29 in a common year) rather than Date's rollover. */
function localTime(year: number, month: number, day: number, h: number, min: number, s: number): number | undefined {
  if (h > 23 || min > 59 || s > 60) return undefined;
  const d = new Date(year, month, day, h, min, s);
  return d.getMonth() === month && d.getDate() === day ? d.getTime() : undefined;
}

function rfc3339Time(line: string): LineTime | undefined {
  const m = RFC3339_TIME.exec(line);
  if (!m) return undefined;
  const [, y = '', mo = '', d = '', hh = '', mi = '', ss = '', frac = '', zulu, sign, oh = '0', om = '0'] = m;
  const month = Number(mo) - 1;
  const day = Number(d);
  if (Number(hh) > 23 || Number(mi) > 59 || Number(ss) > 60 || Number(oh) > 23 || Number(om) > 59) return undefined;
  const utc = new Date(Date.UTC(Number(y), month, day, Number(hh), Number(mi), Number(ss)));
  if (utc.getUTCMonth() !== month || utc.getUTCDate() !== day) return undefined;
  const offsetMs = zulu !== undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  const wallMs = utc.getTime() - offsetMs + Number((frac + '000').slice(0, 3));
  return Number.isSafeInteger(wallMs) ? { wallMs, length: m[0].length } : undefined;
}
