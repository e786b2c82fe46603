import { describe, expect, it } from 'vitest';
import { entriesToPercent, percentToEntries } from '../../src/checks/entry-ranges';
import { alerts, parseRange } from '../../src/nagios/range';

describe('percentToEntries', () => {
  it('rounds an end down and a start up', () => {
    expect(percentToEntries(parseRange('80%'), 262144)).toMatchObject({ start: 0, end: 209715, percent: false });
    expect(percentToEntries(parseRange('90%'), 262144)).toMatchObject({ end: 235929 });
    expect(percentToEntries(parseRange('10%:'), 262144)).toMatchObject({ start: 26215, end: Infinity });
    expect(percentToEntries(parseRange('@50:60%'), 262144)).toMatchObject({ start: 131072, end: 157286, inside: true });
    expect(percentToEntries(parseRange('~:80%'), 10)).toMatchObject({ start: -Infinity, end: 8 });
  });

  it('does not let floating-point noise move an exact boundary', () => {
    // 57 * 100 / 100 and 12.3 * 1000 / 100 are not exact in binary.
    expect(percentToEntries(parseRange('57%'), 100).end).toBe(57);
    expect(percentToEntries(parseRange('12.3%:'), 1000).start).toBe(123);
    expect(percentToEntries(parseRange('33%'), 300).end).toBe(99);
  });

  it('alerts on the same whole counts as the percentage itself', () => {
    for (const max of [7, 10, 100, 65536, 262144, 1503232]) {
      for (const text of ['80%', '90%', '10%:', '@50:60%', '33.3%', '~:99.9%', '0%', '100%']) {
        const percent = parseRange(text);
        const entries = percentToEntries(percent, max);
        for (let count = 0; count <= max; count += Math.max(1, Math.floor(max / 997))) {
          expect(alerts(entries, count), `${text} of ${max} at ${count}`).toBe(alerts(percent, (count * 100) / max));
        }
      }
    }
  });

  it('leaves entry ranges alone', () => {
    const r = parseRange('200000');
    expect(percentToEntries(r, 262144)).toBe(r);
  });
});

describe('entriesToPercent', () => {
  it('scales entries to a percentage of max', () => {
    expect(entriesToPercent(parseRange('200000'), 262144)).toMatchObject({ start: 0, end: 76.2939453125, percent: true });
    expect(entriesToPercent(parseRange('~:5'), 10)).toMatchObject({ start: -Infinity, end: 50 });
  });
});
