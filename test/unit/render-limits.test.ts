import { describe, expect, it } from 'vitest';
import { OUTPUT_LIMITS, render } from '../../src/nagios/render';
import type { Result } from '../../src/nagios/result';
import { State } from '../../src/nagios/state';

const result = (over: Partial<Result>): Result => ({ check: 'table', state: State.OK, summary: '', details: [], perfdata: [], ...over });
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('output limits', () => {
  const many = Array.from({ length: 400 }, (_, i) => `detail line ${i} ${'x'.repeat(60)}`);
  const perf = Array.from({ length: 12 }, (_, i) => ({ label: `metric_${i}`, value: i, min: 0, max: 1000000 }));

  it('keeps the default output within 1 KiB, cut at a line with a note', () => {
    const out = render([result({ summary: 's', notes: many, perfdata: perf })], 0).text;
    expect(bytes(out)).toBeLessThanOrEqual(OUTPUT_LIMITS.brief);
    const lines = out.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^\(output cut at 1024 bytes for the default output: \d+ more lines; see -v or --format json\)$/);
    expect(lines[0]).toContain('| metric_0=0;;;0;1000000');
  });

  it('keeps -v within 8 KiB', () => {
    const out = render([result({ summary: 's', details: many, advice: many })], 1).text;
    expect(bytes(out)).toBeLessThanOrEqual(OUTPUT_LIMITS.verbose);
    expect(out.trimEnd().split('\n').at(-1)).toMatch(/^\(output cut at 8192 bytes for -v: \d+ more lines; --format json has everything\)$/);
  });

  it('the cut note names the level given: -vv is not told to try -v', () => {
    const out = render([result({ summary: 's', details: many, trace: many })], 2).text;
    expect(out.trimEnd().split('\n').at(-1)).toMatch(
      /^\(output cut at 8192 bytes for -vv: \d+ more lines; --format json has everything\)$/,
    );
  });

  it('one huge line (--top 1000) is shortened; the lines after it are kept', () => {
    const huge = `top destinations: ${Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255} ${1000 - i}`).join(', ')}`;
    const out = render([result({ summary: 's', details: ['before', huge, 'after 1', 'after 2'] })], 1).text;
    const lines = out.trimEnd().split('\n');
    expect(lines.slice(1, 2)).toEqual(['before']);
    expect(lines[2]).toMatch(
      new RegExp(`^top destinations: 10\\.0\\.0\\.0 1000, .* \\.\\.\\. \\(line shortened: ${bytes(huge)} bytes\\)$`),
    );
    expect(bytes(lines[2]!)).toBeLessThanOrEqual(OUTPUT_LIMITS.verbose / 4);
    expect(lines.slice(3)).toEqual(['after 1', 'after 2']);
  });

  it('shortens a long summary but never cuts a perfdata item', () => {
    const out = render([result({ state: State.CRITICAL, summary: 'y'.repeat(3000), perfdata: perf })], 0).text;
    const first = out.split('\n')[0]!;
    expect(bytes(first)).toBeLessThanOrEqual(OUTPUT_LIMITS.brief);
    const [text, items] = first.split(' | ');
    expect(text).toMatch(/^CONNTRACK CRITICAL - y+\.\.\.$/);
    for (const item of items!.split(' ')) expect(item).toMatch(/^metric_\d+=\d+;;;0;1000000$/);
  });

  it('drops whole perfdata items from the end when they alone are too long', () => {
    const huge = Array.from({ length: 200 }, (_, i) => ({ label: `m_${i}`, value: 123456789, min: 0, max: 987654321 }));
    const first = render([result({ summary: 'short', perfdata: huge })], 0).text.split('\n')[0]!;
    expect(bytes(first)).toBeLessThanOrEqual(OUTPUT_LIMITS.brief);
    const items = first.split(' | ')[1]!.split(' ');
    expect(items.length).toBeGreaterThan(5);
    expect(items.at(-1)).toMatch(/^m_\d+=123456789;;;0;987654321$/);
    expect(items[0]).toBe('m_0=123456789;;;0;987654321');
  });

  it('does not cut multi-byte characters', () => {
    const out = render([result({ summary: 'é'.repeat(2000) })], 0).text;
    expect(out).not.toContain('\uFFFD');
    expect(bytes(out)).toBeLessThanOrEqual(OUTPUT_LIMITS.brief);
  });

  it('leaves output that fits alone', () => {
    expect(render([result({ summary: 'fine', notes: ['a', 'b'] })], 0).text).toBe('CONNTRACK OK - fine\na\nb\n');
  });
});
