/**
 * Entry lines of the connection-tracking table, from each place a check may read them:
 * /proc/net/nf_conntrack, /proc/net/ip_conntrack (kernels up to 2.6.2x) and the output
 * of `conntrack -L`. A full table is a million lines, so a line is read once by a
 * tokenizer that records positions in a reused record and allocates nothing; EntryTally
 * runs the same tokenizer, so a line counts in a tally exactly when parseEntryLine
 * accepts it.
 */

import { compactAddress } from './ipv6-text';

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

/** Real lines are under 1 KiB; a longer one is not an entry, and holding it would let memory grow with the input. */
export const MAX_LINE = 1 << 20;
/** INET6_ADDRSTRLEN less its NUL. */
const MAX_ADDRESS = 45;

/**
 * One line's fields as positions and numbers (-1: absent), so that reading a line
 * allocates nothing; only parseEntryLine turns them into strings.
 */
export class Scan {
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
 * A native search: every token of every line goes through here, and a charCode loop
 * was markedly slower.
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
export function scanEntry(s: string, start: number, end: number, r: Scan, everything: boolean): boolean {
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
  // passing for an entry. Its addresses are not reported, so they are not checked either:
  // that would cost time on every line for nothing.
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
