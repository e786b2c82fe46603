/**
 * Entry lines of the connection-tracking table, from each place a check may read them:
 * /proc/net/nf_conntrack, /proc/net/ip_conntrack (kernels up to 2.6.2x) and the output
 * of `conntrack -L`. A full table is a million lines and some 200 MB, so EntryTally
 * summarises it as it streams in: each chunk becomes one latin1 string, each line is
 * read once by a tokenizer that records positions in a reused record, and every
 * counter lives in a structure whose size is fixed in advance. parseEntryLine runs the
 * same tokenizer, so a line counts in a tally exactly when parseEntryLine accepts it.
 */

import { LineCarry } from './line-carry';

export interface ConntrackEntry {
  /** The l3 column where the source prints it, else inferred from the address ('ipv6' when it holds a colon). */
  l3: 'ipv4' | 'ipv6' | string;
  /** As printed: 'tcp', 'udp', 'icmp', 'icmpv6', 'sctp', 'gre', 'unknown'... */
  protocol: string;
  /** Seconds left; undefined for offloaded entries, which the kernel prints without one. */
  timeout?: number;
  /** TCP, SCTP or DCCP state, e.g. 'TIME_WAIT'; offloaded TCP entries print none. */
  state?: string;
  /** ORIGINAL direction; IPv6 in the compact form `conntrack -L` prints (the kernel prints all 32 digits). */
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  unreplied: boolean;
  assured: boolean;
  /** [OFFLOAD] or [HW_OFFLOAD]: the kernel prints these instead of [ASSURED], and without a timeout. */
  offload: boolean;
  /** zone=, or zone-orig= / zone-reply= for a zone that applies to one direction only. */
  zone?: number;
  mark?: number;
}

/**
 * A running summary of a table read as a stream, in memory that does not grow with the
 * table: exact counts by protocol, TCP state and flag; destination ports counted exactly
 * per protocol in arrays of 65536 slots; destination addresses through a Space-Saving
 * sketch, whose counts are upper bounds.
 */
export interface TallySummary {
  /** Lines that parsed. */
  entries: number;
  /** Lines that did not; blank lines and conntrack-tools' closing "N flow entries have been shown." are not counted. */
  skipped: number;
  byProtocol: Record<string, number>;
  /** TCP entries by state; offloaded TCP entries print no state, so this may sum to less than byProtocol.tcp. */
  tcpStates: Record<string, number>;
  unreplied: number;
  assured: number;
  offloaded: number;
  unrepliedByProtocol: Record<string, number>;
  /** Top destination ports over all protocols, exact. */
  topPorts: Array<{ protocol: string; port: number; count: number }>;
  /**
   * Top destination addresses. `count` is an upper bound of the true count, `error` how
   * far above it may be (true count >= count - error). Any address holding more than
   * entries / capacity of the table is listed, if `top` leaves room for it.
   */
  topDestinations: Array<{ address: string; count: number; error: number }>;
  /** The reader stopped early (see EntryTally.stop): the counts cover part of the table. */
  truncated: boolean;
}

/** Real lines are under 1 KiB; a longer one is not an entry, and holding it would let memory grow with the input. */
const MAX_LINE = 1 << 20;
/** INET6_ADDRSTRLEN less its NUL. */
const MAX_ADDRESS = 45;
/** The kernel knows about ten protocol names and eleven TCP states; a few more are garbage, counted as OTHER. */
const MAX_NAMES = 64;
/** tcp, udp, udplite, sctp and dccp carry ports: room for a few more, each 256 KiB. */
const MAX_PORT_PROTOCOLS = 8;
/** Where names past MAX_NAMES are counted; no real name has parentheses. */
const OTHER = '(other)';
/** The most of a chunk decoded into one string; see EntryTally.region. */
const WINDOW = 64 * 1024;
const DEFAULT_TOP = 10;
const DEFAULT_CAPACITY = 1024;
const MAX_CAPACITY = 1 << 20;

/**
 * One line's fields as positions and numbers (-1: absent), so that reading a line
 * allocates nothing; only parseEntryLine turns them into strings.
 */
class Scan {
  l3Start = -1;
  l3End = -1;
  protoStart = 0;
  protoEnd = 0;
  timeout = -1;
  stateStart = -1;
  stateEnd = -1;
  srcStart = 0;
  srcEnd = 0;
  dstStart = 0;
  dstEnd = 0;
  sport = -1;
  dport = -1;
  zone = -1;
  mark = -1;
  unreplied = false;
  assured = false;
  offload = false;
  /**
   * The first '[' at or after the last place searched, in the text being read (its
   * length when there is none); -1 until the first search in a new text. Lines are read
   * in order, so each stretch of a chunk is searched once even when lines lack flags.
   */
  nextBracket = -1;
  /** The same for ' ': the first space at or after spaceFrom. */
  nextSpace = -1;
  spaceFrom = 0;

  /** Forget the positions found in the last text: call before reading a new one. */
  newText(): void {
    this.nextBracket = -1;
    this.nextSpace = -1;
    this.spaceFrom = 0;
  }

  reset(): void {
    this.l3Start = -1;
    this.l3End = -1;
    this.timeout = -1;
    this.stateStart = -1;
    this.stateEnd = -1;
    this.sport = -1;
    this.dport = -1;
    this.zone = -1;
    this.mark = -1;
    this.unreplied = false;
    this.assured = false;
    this.offload = false;
  }
}

// Fields are split on spaces only: the kernel and conntrack-tools pad with spaces, and
// any other character must stay inside a field so that the field is refused there.
function skipBlanks(s: string, i: number, end: number): number {
  while (i < end && s.charCodeAt(i) === 32) i += 1;
  return i;
}

/**
 * A native search, which beat a charCode loop by a fifth of the whole tally on 1M lines.
 * It may look past `end`, through lines without a space: remembering where it stopped
 * keeps a chunk of such lines from being searched once per line.
 */
function tokenEnd(s: string, i: number, end: number, r: Scan): number {
  let space = r.nextSpace;
  if (space < i || r.spaceFrom > i) {
    space = s.indexOf(' ', i);
    if (space < 0) space = s.length;
    r.spaceFrom = i;
    r.nextSpace = space;
  }
  return space > end ? end : space;
}

/** The token starts with `key` ('src=', 'dport=', ...). A charCode loop: startsWith is a call per token. */
function keyIs(s: string, a: number, b: number, key: string): boolean {
  const n = key.length;
  if (b - a < n) return false;
  for (let k = 0; k < n; k += 1) if (s.charCodeAt(a + k) !== key.charCodeAt(k)) return false;
  return true;
}

function tokenIs(s: string, a: number, b: number, word: string): boolean {
  return b - a === word.length && keyIs(s, a, b, word);
}

/** A protocol name as the kernel and conntrack-tools print them: lower case, 'icmpv6', 'udplite'. */
function isName(s: string, a: number, b: number): boolean {
  if (b <= a || b - a > 16) return false;
  const c0 = s.charCodeAt(a);
  if (c0 < 97 || c0 > 122) return false;
  for (let i = a + 1; i < b; i += 1) {
    const c = s.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95)) return false;
  }
  return true;
}

/** TIME_WAIT, SYN_SENT2, COOKIE_ECHOED... */
function isState(s: string, a: number, b: number): boolean {
  if (b <= a || b - a > 32) return false;
  const c0 = s.charCodeAt(a);
  if (c0 < 65 || c0 > 90) return false;
  for (let i = a + 1; i < b; i += 1) {
    const c = s.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95)) return false;
  }
  return true;
}

/** An unsigned decimal of at most 10 digits and at most `max`; -1 for anything else. */
function decimalAt(s: string, a: number, b: number, max: number): number {
  if (b <= a || b - a > 10) return -1;
  let value = 0;
  for (let i = a; i < b; i += 1) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    value = value * 10 + (c - 48);
  }
  return value > max ? -1 : value;
}

/**
 * The seconds-left column; -1 when the token is not one. Before 4.7 the kernel printed
 * `expires - jiffies` of an entry whose timer was due but had not yet run: 2.6.32 as a
 * signed long (a small negative number), ip_conntrack as an unsigned one (near 2^64 / HZ,
 * beyond 2^53). Both mean "expired", so both read as 0.
 */
function timeoutAt(s: string, a: number, b: number): number {
  let i = a;
  const negative = i < b && s.charCodeAt(i) === 45;
  if (negative) i += 1;
  if (b <= i || b - i > 20) return -1;
  let value = 0;
  for (; i < b; i += 1) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    value = value * 10 + (c - 48);
  }
  return negative || value > Number.MAX_SAFE_INTEGER ? 0 : value;
}

/** Hex digits, dots and colons, with a dot or a colon: an IPv4 or IPv6 address in any spelling the sources use. */
function isAddress(s: string, a: number, b: number): boolean {
  if (b - a < 2 || b - a > MAX_ADDRESS) return false;
  let separator = false;
  for (let i = a; i < b; i += 1) {
    const c = s.charCodeAt(i);
    if (c === 46 || c === 58) separator = true;
    else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  return separator;
}

/** Within the token only: a search that may run past it would cost a whole chunk per bad line. */
function hasEquals(s: string, a: number, b: number): boolean {
  for (let i = a; i < b; i += 1) if (s.charCodeAt(i) === 61) return true;
  return false;
}

/** [UNREPLIED] may stand anywhere, the others follow the reply tuple; unknown brackets are ignored like unknown fields. */
function takeFlag(s: string, a: number, b: number, r: Scan): void {
  if (tokenIs(s, a, b, '[UNREPLIED]')) r.unreplied = true;
  else if (tokenIs(s, a, b, '[ASSURED]')) r.assured = true;
  else if (tokenIs(s, a, b, '[OFFLOAD]') || tokenIs(s, a, b, '[HW_OFFLOAD]')) r.offload = true;
}

/**
 * zone=, zone-orig=, zone-reply= (the kernel prints one of them at most). A malformed
 * value is left out rather than refusing the line: the tally does not read these
 * fields, and a line must count there exactly when parseEntryLine accepts it.
 */
function takeZone(s: string, a: number, b: number, r: Scan): void {
  const at = keyIs(s, a, b, 'zone=') ? a + 5 : keyIs(s, a, b, 'zone-orig=') ? a + 10 : keyIs(s, a, b, 'zone-reply=') ? a + 11 : -1;
  if (at < 0 || r.zone >= 0) return;
  const zone = decimalAt(s, at, b, 0xffff);
  if (zone >= 0) r.zone = zone;
}

/** Position of the first '[' at or after `from` (s.length if none), through the scan's cursor. */
function bracketFrom(s: string, from: number, r: Scan): number {
  if (r.nextBracket < from) {
    const at = s.indexOf('[', from);
    r.nextBracket = at < 0 ? s.length : at;
  }
  return r.nextBracket;
}

/**
 * Reads the entry in s[start, end) into r. False for anything that is not an entry;
 * a malformed number in a field the tally uses refuses the line rather than guess.
 *
 * Shapes: `ipv4 2 tcp 6 117 TIME_WAIT src= dst= sport= dport= [UNREPLIED] src= dst= ...
 * [ASSURED] mark= zone= use=` (nf_conntrack); the same without the two l3 columns
 * (ip_conntrack, conntrack -L); no timeout and no TCP state for [OFFLOAD] entries.
 *
 * Without `everything`, the reply tuple and what follows it are not split into fields:
 * the flags there are found with a search for '[' (most of a line's length, at memchr
 * speed), and mark= and zone= are not read.
 */
function scanEntry(s: string, start: number, end: number, r: Scan, everything: boolean): boolean {
  r.reset();
  let a = skipBlanks(s, start, end);
  let b = tokenEnd(s, a, end, r);
  if (!isName(s, a, b)) return false;
  const nameStart = a;
  const nameEnd = b;
  a = skipBlanks(s, b, end);
  b = tokenEnd(s, a, end, r);
  const number = decimalAt(s, a, b, 0xffff);
  if (number < 0) return false;
  a = skipBlanks(s, b, end);
  b = tokenEnd(s, a, end, r);
  // After "tcp 6" comes a timeout, a state or src=, never a lower-case name: a name
  // means the first pair was the l3 one.
  if (isName(s, a, b)) {
    const numberStart = skipBlanks(s, b, end);
    const numberEnd = tokenEnd(s, numberStart, end, r);
    if (decimalAt(s, numberStart, numberEnd, 255) < 0) return false;
    r.l3Start = nameStart;
    r.l3End = nameEnd;
    r.protoStart = a;
    r.protoEnd = b;
    a = skipBlanks(s, numberEnd, end);
    b = tokenEnd(s, a, end, r);
  } else {
    if (number > 255) return false;
    r.protoStart = nameStart;
    r.protoEnd = nameEnd;
  }

  const timeout = timeoutAt(s, a, b);
  if (timeout >= 0) {
    r.timeout = timeout;
    a = skipBlanks(s, b, end);
    b = tokenEnd(s, a, end, r);
  }
  // Between the head and the tuple: the state, or on old kernels GRE's
  // "timeout=180, stream_timeout=18000".
  for (let first = true; !keyIs(s, a, b, 'src='); first = false) {
    if (a >= end) return false;
    if (first && isState(s, a, b)) {
      r.stateStart = a;
      r.stateEnd = b;
    } else if (!hasEquals(s, a, b)) {
      return false;
    }
    a = skipBlanks(s, b, end);
    b = tokenEnd(s, a, end, r);
  }
  if (!isAddress(s, a + 4, b)) return false;
  r.srcStart = a + 4;
  r.srcEnd = b;
  a = skipBlanks(s, b, end);
  b = tokenEnd(s, a, end, r);
  if (!keyIs(s, a, b, 'dst=') || !isAddress(s, a + 4, b)) return false;
  r.dstStart = a + 4;
  r.dstEnd = b;

  // The rest of the original direction, up to the reply tuple's src=.
  for (;;) {
    a = skipBlanks(s, b, end);
    if (a >= end) return false;
    b = tokenEnd(s, a, end, r);
    const c = s.charCodeAt(a);
    if (c === 115 /* s */) {
      if (keyIs(s, a, b, 'src=')) break;
      if (r.sport < 0 && keyIs(s, a, b, 'sport=')) {
        r.sport = decimalAt(s, a + 6, b, 0xffff);
        if (r.sport < 0) return false;
      }
    } else if (c === 100 /* d */) {
      if (r.dport < 0 && keyIs(s, a, b, 'dport=')) {
        r.dport = decimalAt(s, a + 6, b, 0xffff);
        if (r.dport < 0) return false;
      }
    } else if (c === 91 /* [ */) {
      takeFlag(s, a, b, r);
    } else if (c === 122 /* z */) {
      takeZone(s, a, b, r);
    }
  }
  // A line cut short stops before the reply tuple: requiring it keeps a half line from
  // passing for an entry. Its addresses are not reported, so they are not checked either
  // (that cost a tenth of the tally).
  if (b - a <= 4) return false;
  a = skipBlanks(s, b, end);
  b = tokenEnd(s, a, end, r);
  if (!keyIs(s, a, b, 'dst=') || b - a <= 4) return false;

  if (!everything) {
    for (let at = bracketFrom(s, b, r); at < end; at = bracketFrom(s, at + 1, r)) {
      // Only a whole field: the one before it ends at a blank.
      if (s.charCodeAt(at - 1) === 32) takeFlag(s, at, tokenEnd(s, at, end, r), r);
    }
    return true;
  }
  for (;;) {
    a = skipBlanks(s, b, end);
    if (a >= end) return true;
    b = tokenEnd(s, a, end, r);
    const c = s.charCodeAt(a);
    if (c === 91 /* [ */) {
      takeFlag(s, a, b, r);
    } else if (c === 109 /* m */) {
      // Like a zone, a malformed mark is left out.
      if (r.mark < 0 && keyIs(s, a, b, 'mark=')) r.mark = decimalAt(s, a + 5, b, 0xffffffff);
    } else if (c === 122 /* z */) {
      takeZone(s, a, b, r);
    }
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * The kernel prints IPv6 addresses as eight groups of four digits (%pI6), conntrack -L
 * as inet_ntop does; this gives the kernel's form the same compact spelling, with glibc's
 * rules (the first longest run of two or more zero groups becomes "::", a mapped IPv4
 * address keeps its dots), so one host reads the same from either source. Any other
 * spelling is returned as it is.
 */
export function compactAddress(address: string): string {
  if (address.length !== 39) return address;
  const words: number[] = [];
  for (let g = 0; g < 8; g += 1) {
    const at = g * 5;
    if (g < 7 && address.charCodeAt(at + 4) !== 58) return address;
    let word = 0;
    for (let k = 0; k < 4; k += 1) {
      const digit = hexValue(address.charCodeAt(at + k));
      if (digit < 0) return address;
      word = word * 16 + digit;
    }
    words.push(word);
  }
  let bestBase = -1;
  let bestLength = 0;
  let runBase = -1;
  for (let i = 0; i < 8; i += 1) {
    if (words[i] !== 0) {
      runBase = -1;
      continue;
    }
    if (runBase < 0) runBase = i;
    if (i - runBase + 1 > bestLength) {
      bestBase = runBase;
      bestLength = i - runBase + 1;
    }
  }
  if (bestLength < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i += 1) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLength) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    const word = words[i] as number;
    if (i === 6 && bestBase === 0 && (bestLength === 6 || (bestLength === 5 && words[5] === 0xffff))) {
      const low = words[7] as number;
      return `${out}${word >> 8}.${word & 255}.${low >> 8}.${low & 255}`;
    }
    out += word.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLength === 8) out += ':';
  return out;
}

/** Where the line's text ends once a final "\n" or "\r\n" is left out. */
function chompedEnd(line: string): number {
  let end = line.length;
  if (end > 0 && line.charCodeAt(end - 1) === 10) end -= 1;
  if (end > 0 && line.charCodeAt(end - 1) === 13) end -= 1;
  return end;
}

const lineScan = new Scan();

/** One line of /proc/net/nf_conntrack, /proc/net/ip_conntrack or `conntrack -L`; undefined for anything else. */
export function parseEntryLine(line: string): ConntrackEntry | undefined {
  if (typeof line !== 'string' || line.length > MAX_LINE) return undefined;
  const r = lineScan;
  r.newText();
  if (!scanEntry(line, 0, chompedEnd(line), r, true)) return undefined;
  const src = compactAddress(line.slice(r.srcStart, r.srcEnd));
  const dst = compactAddress(line.slice(r.dstStart, r.dstEnd));
  const entry: ConntrackEntry = {
    l3: r.l3Start >= 0 ? line.slice(r.l3Start, r.l3End) : dst.includes(':') ? 'ipv6' : 'ipv4',
    protocol: line.slice(r.protoStart, r.protoEnd),
    src,
    dst,
    unreplied: r.unreplied,
    assured: r.assured,
    offload: r.offload,
  };
  if (r.timeout >= 0) entry.timeout = r.timeout;
  if (r.stateStart >= 0) entry.state = line.slice(r.stateStart, r.stateEnd);
  if (r.sport >= 0) entry.sport = r.sport;
  if (r.dport >= 0) entry.dport = r.dport;
  if (r.zone >= 0) entry.zone = r.zone;
  if (r.mark >= 0) entry.mark = r.mark;
  return entry;
}

/**
 * A copy that shares no memory with `text`: V8 may keep a short slice of a string as a
 * view into its parent, and a sketch key that is a view would keep a whole chunk alive.
 * Keys are addresses and names, ASCII by the time they get here.
 */
function detach(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

/**
 * Space-Saving (Metwally, Agrawal, El Abbadi 2005) over at most `capacity` keys. A new
 * key takes the slot of the least counted one and inherits its count, which becomes the
 * new key's possible overcount. So every count is an upper bound, count - error a lower
 * one, and a key seen more than total / capacity times always holds a slot. The slots
 * form a min-heap on count so that the least counted one is found at once.
 */
class SpaceSaving {
  private readonly slotOf = new Map<string, number>();
  private readonly keys: string[] = [];
  private readonly counts: Float64Array;
  private readonly errors: Float64Array;
  /** Slot numbers, least count first. */
  private readonly heap: Int32Array;
  /** Slot number -> its place in the heap. */
  private readonly place: Int32Array;
  private size = 0;

  constructor(private readonly capacity: number) {
    this.counts = new Float64Array(capacity);
    this.errors = new Float64Array(capacity);
    this.heap = new Int32Array(capacity);
    this.place = new Int32Array(capacity);
  }

  offer(key: string): void {
    const known = this.slotOf.get(key);
    if (known !== undefined) {
      this.counts[known] = (this.counts[known] as number) + 1;
      this.down(this.place[known] as number);
      return;
    }
    if (this.size < this.capacity) {
      const slot = this.size;
      this.size += 1;
      const copy = detach(key);
      this.keys[slot] = copy;
      this.slotOf.set(copy, slot);
      this.counts[slot] = 1;
      this.errors[slot] = 0;
      this.heap[slot] = slot;
      this.place[slot] = slot;
      // Every count is at least 1, so a new 1 goes no higher than the leaves' parents.
      this.up(slot);
      return;
    }
    const victim = this.heap[0] as number;
    const floor = this.counts[victim] as number;
    this.slotOf.delete(this.keys[victim] as string);
    const copy = detach(key);
    this.keys[victim] = copy;
    this.slotOf.set(copy, victim);
    this.counts[victim] = floor + 1;
    this.errors[victim] = floor;
    this.down(0);
  }

  items(): Array<{ key: string; count: number; error: number }> {
    const items: Array<{ key: string; count: number; error: number }> = [];
    for (let slot = 0; slot < this.size; slot += 1) {
      items.push({ key: this.keys[slot] as string, count: this.counts[slot] as number, error: this.errors[slot] as number });
    }
    return items;
  }

  private countAt(i: number): number {
    return this.counts[this.heap[i] as number] as number;
  }

  private swap(i: number, j: number): void {
    const si = this.heap[i] as number;
    const sj = this.heap[j] as number;
    this.heap[i] = sj;
    this.heap[j] = si;
    this.place[sj] = i;
    this.place[si] = j;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.countAt(parent) <= this.countAt(i)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const size = this.size;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= size) return;
      const right = left + 1;
      const child = right < size && this.countAt(right) < this.countAt(left) ? right : left;
      if (this.countAt(i) <= this.countAt(child)) return;
      this.swap(i, child);
      i = child;
    }
  }
}

/** Null-prototype maps, so that a protocol called `constructor` is just a protocol. */
function emptyRecord(): Record<string, number> {
  return Object.create(null) as Record<string, number>;
}

function wholeNumber(value: unknown, fallback: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, Math.floor(value)));
}

/** A small, bounded set of names met in the stream, each with an id for counter arrays. */
class Names {
  readonly names: string[] = [];
  private last = 0;

  /** The id of s[a, b); names past MAX_NAMES share the id of OTHER. */
  idOf(s: string, a: number, b: number): number {
    const length = b - a;
    const names = this.names;
    // Real tables use a handful of names, mostly the one before: compare in place
    // rather than slice a string per line to look it up.
    const last = names[this.last];
    if (last !== undefined && last.length === length && s.startsWith(last, a)) return this.last;
    for (let id = 0; id < names.length; id += 1) {
      const name = names[id] as string;
      if (name.length === length && s.startsWith(name, a)) {
        this.last = id;
        return id;
      }
    }
    return this.intern(names.length < MAX_NAMES ? s.slice(a, b) : OTHER);
  }

  private intern(name: string): number {
    const known = this.names.indexOf(name);
    if (known >= 0) return known;
    this.names.push(detach(name));
    return this.names.length - 1;
  }
}

const BLANK = /^[ \t\r]*$/;
const TRAILER = /^conntrack v[0-9.]{1,20} \(conntrack-tools\): \d{1,20} flow entr(?:y|ies) ha(?:s|ve) been shown\.$/;

/** Ports counted for one protocol; topPorts takes from these. */
interface PortCounts {
  protocol: number;
  counts: Uint32Array;
}

/** Keeps the `limit` best of the candidates offered, best first on demand, in O(limit) memory. */
class BestOf<T> {
  private readonly heap: T[] = [];

  /** `better(a, b)`: a ranks before b. */
  constructor(
    private readonly limit: number,
    private readonly better: (a: T, b: T) => boolean,
  ) {}

  /** The item a newcomer must beat, once `limit` are kept; undefined before. */
  worst(): T | undefined {
    return this.heap.length < this.limit ? undefined : this.heap[0];
  }

  offer(item: T): void {
    const heap = this.heap;
    if (heap.length < this.limit) {
      heap.push(item);
      let i = heap.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.better(heap[parent] as T, heap[i] as T)) break;
        [heap[parent], heap[i]] = [heap[i] as T, heap[parent] as T];
        i = parent;
      }
      return;
    }
    if (heap.length === 0 || !this.better(item, heap[0] as T)) return;
    heap[0] = item;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      // The heap's root is its worst item: a parent must rank after its children.
      const child = right < heap.length && this.better(heap[left] as T, heap[right] as T) ? right : left;
      if (!this.better(heap[i] as T, heap[child] as T)) break;
      [heap[child], heap[i]] = [heap[i] as T, heap[child] as T];
      i = child;
    }
  }

  sorted(): T[] {
    return [...this.heap].sort((a, b) => (this.better(a, b) ? -1 : this.better(b, a) ? 1 : 0));
  }
}

/**
 * Summarises one read of a table (see TallySummary). Per line it keeps nothing but
 * counter increments, so memory is set by the options, not by the table.
 */
export class EntryTally {
  private readonly scan = new Scan();
  private readonly top: number;
  private readonly sketch: SpaceSaving;
  private readonly protocols = new Names();
  private readonly states = new Names();
  /** By protocol id; MAX_NAMES + 1 slots leave room for OTHER. */
  private readonly perProtocol = new Float64Array(MAX_NAMES + 1);
  private readonly unrepliedPerProtocol = new Float64Array(MAX_NAMES + 1);
  private readonly perState = new Float64Array(MAX_NAMES + 1);
  private readonly ports: PortCounts[] = [];
  private tcp = -1;
  private entries = 0;
  private skipped = 0;
  private unreplied = 0;
  private assured = 0;
  private offloaded = 0;
  private truncated = false;
  private readonly carry = new LineCarry(MAX_LINE);

  constructor(options?: { top?: number; sketchCapacity?: number }) {
    this.top = wholeNumber(options?.top, DEFAULT_TOP, 0, MAX_CAPACITY);
    this.sketch = new SpaceSaving(wholeNumber(options?.sketchCapacity, DEFAULT_CAPACITY, 1, MAX_CAPACITY));
  }

  /** Feed raw bytes as they arrive (chunks may split lines anywhere, including inside a multi-byte character). */
  push(chunk: Uint8Array): void {
    if (this.truncated || !ArrayBuffer.isView(chunk)) return;
    this.carry.feed(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), this.carried, this.region);
  }

  /** Feed the final partial line, if any. */
  end(): void {
    if (this.truncated) return;
    const whole = this.carry.finish(Buffer.alloc(0));
    if (whole !== undefined) this.carried(whole);
  }

  /**
   * Mark the summary as partial (the reader gave up at a deadline). The partial line
   * held back is dropped rather than counted as skipped, since the deadline cut it, and
   * later input is ignored.
   */
  stop(): void {
    this.truncated = true;
    this.carry.clear();
  }

  summary(top?: number): TallySummary {
    const limit = wholeNumber(top, this.top, 0, MAX_CAPACITY);
    const byProtocol = emptyRecord();
    const unrepliedByProtocol = emptyRecord();
    this.protocols.names.forEach((name, id) => {
      const count = this.perProtocol[id] as number;
      if (count > 0) byProtocol[name] = count;
      const unreplied = this.unrepliedPerProtocol[id] as number;
      if (unreplied > 0) unrepliedByProtocol[name] = unreplied;
    });
    const tcpStates = emptyRecord();
    this.states.names.forEach((name, id) => {
      const count = this.perState[id] as number;
      if (count > 0) tcpStates[name] = count;
    });
    return {
      entries: this.entries,
      skipped: this.skipped,
      byProtocol,
      tcpStates,
      unreplied: this.unreplied,
      assured: this.assured,
      offloaded: this.offloaded,
      unrepliedByProtocol,
      topPorts: this.topPorts(limit),
      topDestinations: this.topDestinations(limit),
      truncated: this.truncated,
    };
  }

  /**
   * The whole lines of data[start, last), data[last] being a newline, decoded a window
   * at a time: V8 keeps a string over about 1 MB outside its heap, where it was slower
   * to read and was freed late (RSS 117 MB, not 53, with 1 MiB chunks).
   */
  private readonly region = (data: Buffer, start: number, last: number): void => {
    while (start <= last) {
      let stop = last;
      if (last - start > WINDOW) {
        const cut = data.lastIndexOf(10, start + WINDOW);
        stop = cut >= start ? cut : data.indexOf(10, start + WINDOW);
      }
      // Bytes map one to one onto a latin1 string, so every ASCII field reads the same
      // whatever the encoding, and a character split between chunks cannot matter.
      if (stop - start > MAX_LINE) this.skipped += 1;
      else this.lines(data.toString('latin1', start, stop));
      start = stop + 1;
    }
  };

  private lines(text: string): void {
    this.scan.newText();
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      const stop = newline < 0 ? text.length : newline;
      if (stop - start > MAX_LINE) this.skipped += 1;
      else this.line(text, start, stop);
      if (newline < 0) return;
      start = newline + 1;
    }
  }

  private line(s: string, start: number, end: number): void {
    if (end > start && s.charCodeAt(end - 1) === 13) end -= 1;
    const r = this.scan;
    if (!scanEntry(s, start, end, r, false)) {
      const text = s.slice(start, end);
      if (!BLANK.test(text) && !(text.length < 120 && TRAILER.test(text.trim()))) this.skipped += 1;
      return;
    }
    this.entries += 1;
    const protocol = this.protocols.idOf(s, r.protoStart, r.protoEnd);
    this.perProtocol[protocol] = (this.perProtocol[protocol] as number) + 1;
    if (r.unreplied) {
      this.unreplied += 1;
      this.unrepliedPerProtocol[protocol] = (this.unrepliedPerProtocol[protocol] as number) + 1;
    }
    if (r.assured) this.assured += 1;
    if (r.offload) this.offloaded += 1;
    if (this.tcp < 0 && this.protocols.names[protocol] === 'tcp') this.tcp = protocol;
    if (protocol === this.tcp && r.stateStart >= 0) {
      const state = this.states.idOf(s, r.stateStart, r.stateEnd);
      this.perState[state] = (this.perState[state] as number) + 1;
    }
    if (r.dport >= 0) {
      const counts = this.portCounts(protocol);
      // A table holds far fewer than 2^32 entries, so a 32-bit slot cannot wrap.
      if (counts !== undefined) counts[r.dport] = (counts[r.dport] as number) + 1;
    }
    this.sketch.offer(s.slice(r.dstStart, r.dstEnd));
  }

  private portCounts(protocol: number): Uint32Array | undefined {
    for (const ports of this.ports) if (ports.protocol === protocol) return ports.counts;
    if (this.ports.length >= MAX_PORT_PROTOCOLS || this.protocols.names[protocol] === OTHER) return undefined;
    const counts = new Uint32Array(65536);
    this.ports.push({ protocol, counts });
    return counts;
  }

  private topPorts(limit: number): TallySummary['topPorts'] {
    type Port = TallySummary['topPorts'][number];
    const better = (a: Port, b: Port): boolean =>
      a.count !== b.count ? a.count > b.count : a.protocol !== b.protocol ? a.protocol < b.protocol : a.port < b.port;
    const best = new BestOf<Port>(limit, better);
    for (const { protocol: id, counts } of this.ports) {
      const protocol = this.protocols.names[id] as string;
      for (let port = 0; port < 65536; port += 1) {
        const count = counts[port] as number;
        // Most slots are empty or too small: decide before building an object.
        const worst = best.worst();
        if (count === 0 || (worst !== undefined && count < worst.count)) continue;
        best.offer({ protocol, port, count });
      }
    }
    return best.sorted();
  }

  private topDestinations(limit: number): TallySummary['topDestinations'] {
    // The two spellings of one IPv6 address would only meet in a mixed feed; adding
    // their bounds keeps both an upper bound and a valid error.
    const merged = new Map<string, { address: string; count: number; error: number }>();
    for (const { key, count, error } of this.sketch.items()) {
      const address = compactAddress(key);
      const seen = merged.get(address);
      if (seen) {
        seen.count += count;
        seen.error += error;
      } else {
        merged.set(address, { address, count, error });
      }
    }
    return [...merged.values()]
      .sort((a, b) => b.count - a.count || a.error - b.error || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0))
      .slice(0, limit);
  }

  /** The line that began in an earlier chunk, now whole. */
  private readonly carried = (whole: Buffer | 'overlong'): void => {
    if (whole === 'overlong') {
      this.skipped += 1;
      return;
    }
    const text = whole.toString('latin1');
    this.scan.newText();
    this.line(text, 0, text.length);
  };
}
