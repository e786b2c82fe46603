import { describe, expect, it } from 'vitest';
import { LineCarry } from '../../src/parse/line-carry';

/** Feeds the chunks and records what LineCarry hands on, as text. */
function feedAll(maxBytes: number, chunks: string[]): string[] {
  const carry = new LineCarry(maxBytes);
  const seen: string[] = [];
  const finished = (line: Buffer | 'overlong') => seen.push(line === 'overlong' ? '<overlong>' : `carried:${line.toString('utf8')}`);
  for (const c of chunks) {
    carry.feed(Buffer.from(c, 'utf8'), finished, (data, start, end) => seen.push(`lines:${data.toString('utf8', start, end)}`));
  }
  const last = carry.finish(Buffer.alloc(0));
  if (last !== undefined) finished(last);
  return seen;
}

describe('LineCarry.feed', () => {
  it('hands on the complete lines of a chunk as one span and holds the tail', () => {
    expect(feedAll(100, ['a\nb\nc\nd'])).toEqual(['carried:a', 'lines:b\nc', 'carried:d']);
  });

  it('joins a line split over several chunks, inside a multi-byte character too', () => {
    const bytes = Buffer.from('xä\ny\n', 'utf8');
    const carry = new LineCarry(100);
    const seen: string[] = [];
    for (const chunk of [bytes.subarray(0, 2), bytes.subarray(2, 3), bytes.subarray(3)]) {
      carry.feed(
        chunk,
        (l) => seen.push(l === 'overlong' ? '<overlong>' : l.toString('utf8')),
        (d, s, e) => seen.push(`lines:${d.toString('utf8', s, e)}`),
      );
    }
    expect(seen).toEqual(['xä', 'lines:y']);
    expect(carry.finish(Buffer.alloc(0))).toBeUndefined();
  });

  it('gives no span when a chunk holds a single newline, and nothing for an empty held line', () => {
    expect(feedAll(100, ['ab', '\n', 'cd\n'])).toEqual(['carried:ab', 'carried:cd']);
    expect(feedAll(100, ['\n\n'])).toEqual(['lines:']);
  });

  it('drops a held line longer than its bound whole and says so once it ends', () => {
    expect(feedAll(4, ['abc', 'de', 'f\nok\n'])).toEqual(['<overlong>', 'lines:ok']);
    // Exactly at the bound is still a line.
    expect(feedAll(4, ['ab', 'cd\n'])).toEqual(['carried:abcd']);
    expect(feedAll(4, ['ab', 'cde\n'])).toEqual(['<overlong>']);
  });
});
