/**
 * Finds the lines of a log that might matter (see mightMatter) without splitting
 * the log into lines, which costs far more than searching it: one regex pass
 * finds both needles, and only the line around each hit is cut out.
 */

import { LineCarry } from './line-carry';
import { mightMatter, SUPPRESSED, TABLE_FULL } from './log-message';

// mightMatter's needles, both found in one pass over the text.
const NEEDLES = new RegExp(`${TABLE_FULL}|${SUPPRESSED}`, 'g');
/** Kernel and syslog lines are at most a few KiB; anything longer is not a log line. */
const MAX_LINE_BYTES = 1 << 20;

/**
 * Calls `visit` with each line of `text` for which mightMatter is true, in order,
 * without splitting the text into lines: the cost is one regex scan of the text.
 */
export function forEachCandidateLine(text: string, visit: (line: string) => void): void {
  if (typeof text !== 'string') return;
  scanRegion(text, 0, text.length, (from, to) => visit(text.slice(from, to)));
}

/** Finds needle hits in text[from, to) and reports the line around each once. */
function scanRegion(text: string, from: number, to: number, report: (lineStart: number, lineEnd: number) => void): void {
  NEEDLES.lastIndex = from;
  for (let m = NEEDLES.exec(text); m !== null && m.index < to; m = NEEDLES.exec(text)) {
    const lineStart = Math.max(from, text.lastIndexOf('\n', m.index) + 1);
    const newline = text.indexOf('\n', m.index);
    const lineEnd = newline < 0 || newline > to ? to : newline;
    report(lineStart, lineEnd);
    if (lineEnd >= to) break;
    NEEDLES.lastIndex = lineEnd + 1;
  }
}

/**
 * The same for a file read in chunks: feed each chunk to `push` and call `end` after
 * the last. Lines are decoded as
 * UTF-8 (bad bytes become U+FFFD, never an error); a line longer than 1 MiB is skipped
 * whole. The scanner copies what it keeps, so the caller may reuse its read buffer.
 */
export class LogScanner {
  private readonly carry = new LineCarry(MAX_LINE_BYTES);

  constructor(private readonly visit: (line: string) => void) {}

  push(chunk: Uint8Array): void {
    this.carry.feed(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), this.carried, this.region);
  }

  end(): void {
    const whole = this.carry.finish(Buffer.alloc(0));
    if (whole !== undefined) this.carried(whole);
  }

  /** The line that began in an earlier chunk, now whole. */
  private readonly carried = (whole: Buffer | 'overlong'): void => {
    if (whole === 'overlong') return;
    const line = whole.toString('utf8');
    if (mightMatter(line)) this.visit(line);
  };

  private readonly region = (data: Buffer, start: number, end: number): void => {
    // Bytes map one to one onto a latin1 string, so string positions are byte
    // offsets, and the ASCII needles and newlines are found whatever the encoding.
    const text = data.toString('latin1', start, end);
    scanRegion(text, 0, text.length, (from, to) => {
      if (to - from <= MAX_LINE_BYTES) this.visit(data.toString('utf8', start + from, start + to));
    });
  };
}
