/**
 * The part of a line that one chunk of a stream ended in, held until the
 * chunk that ends it arrives. Bounded: a "line" longer than `maxBytes` is not
 * a line of any file we read, and holding it would let memory grow with the
 * input, so it is dropped whole and reported as overlong when it ends.
 */
export class LineCarry {
  private parts: Buffer[] = [];
  private bytes = 0;
  private overlong = false;

  constructor(private readonly maxBytes: number) {}

  /** Holds `part` (copied: the caller may reuse its read buffer). */
  keep(part: Uint8Array): void {
    if (part.length === 0 || this.overlong) return;
    if (this.bytes + part.length > this.maxBytes) {
      this.clear();
      this.overlong = true;
      return;
    }
    this.parts.push(Buffer.from(part));
    this.bytes += part.length;
  }

  /**
   * Splits the next chunk of the stream. The line held from earlier chunks ends
   * at the chunk's first newline and goes to `finished`; the complete lines after
   * it go to `lines` as one span of `data`, from the byte after that newline up
   * to the last newline (exclusive); what follows the last newline is held.
   */
  feed(data: Buffer, finished: (line: Buffer | 'overlong') => void, lines: (data: Buffer, start: number, end: number) => void): void {
    const first = data.indexOf(10);
    if (first < 0) {
      this.keep(data);
      return;
    }
    const whole = this.finish(data.subarray(0, first));
    if (whole !== undefined) finished(whole);
    const last = data.lastIndexOf(10);
    if (last > first) lines(data, first + 1, last);
    this.keep(data.subarray(last + 1));
  }

  /**
   * The whole line, now that `tail` ends it: 'overlong' when it went past the
   * bound, undefined when there was nothing held and the tail is empty.
   */
  finish(tail: Buffer): Buffer | 'overlong' | undefined {
    const overlong = this.overlong || this.bytes + tail.length > this.maxBytes;
    const parts = this.parts;
    this.clear();
    if (overlong) return 'overlong';
    if (parts.length === 0) return tail.length === 0 ? undefined : tail;
    return Buffer.concat([...parts, tail]);
  }

  /** Forgets what is held (a reader that stopped mid-line). */
  clear(): void {
    this.parts = [];
    this.bytes = 0;
    this.overlong = false;
  }
}
