/**
 * A table read as a stream and summarised as it comes in: a full table is a million
 * lines and some 200 MB, so each chunk becomes one latin1 string, each line goes through
 * the entry-line tokenizer once, and every counter lives in a structure whose size is
 * fixed in advance.
 */

import { BestOf } from './best-of';
import { MAX_LINE, Scan, scanEntry } from './conntrack-entry-line';
import { compactAddress } from './ipv6-text';
import { LineCarry } from './line-carry';
import { detach, SpaceSaving } from './space-saving';

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
   * at a time: V8 keeps a string over about 1 MB outside its heap, where it is slower
   * to read and freed late, so large chunks decoded whole would raise peak memory.
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
