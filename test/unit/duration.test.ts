import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/checks/duration';
import { parseDuration } from '../../src/parse/duration';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['1', 1],
    ['90', 90],
    ['90s', 90],
    ['15m', 900],
    ['1h', 3600],
    ['2d', 172800],
    ['1.5h', 5400],
    ['0.5m', 30],
    ['  30m  ', 1800],
    ['\t2h\n', 7200],
    ['007s', 7],
  ])('%j is %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each([
    [''],
    ['   '],
    ['s'],
    ['h1'],
    ['1w'],
    ['1y'],
    ['1ms'],
    ['1S'],
    ['1H'],
    ['1 h'],
    ['-5'],
    ['-5m'],
    ['+5'],
    ['1.'],
    ['.5'],
    ['1e3'],
    ['0x10'],
    ['1,5h'],
    ['1h30m'],
    ['NaN'],
    ['Infinity'],
  ])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('rejects a number too large to be finite', () => {
    expect(parseDuration(`${'9'.repeat(400)}d`)).toBeUndefined();
    expect(parseDuration('9'.repeat(400))).toBeUndefined();
  });

  it('keeps a very large but finite number', () => {
    expect(parseDuration('1'.padEnd(300, '0'))).toBe(1e299);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [1, '1s'],
    [59, '59s'],
    [60, '1m'],
    [61, '61s'],
    [90, '90s'],
    [119, '119s'],
    [120, '2m'],
    [121, '2m'],
    [150, '3m'],
    [900, '15m'],
    [3599, '60m'],
    [3600, '1h'],
    [3660, '61m'],
    [5400, '90m'],
    [7199, '120m'],
    [7200, '2h'],
    [7260, '2h'],
    [7261, '2h'],
    [86340, '24h'],
    [86400, '1d'],
    [90000, '25h'],
    [172799, '48h'],
    [172800, '2d'],
    [172801, '2d'],
    [259200, '3d'],
    [604800, '7d'],
    [0.4, '0s'],
    [0.5, '1s'],
    [30.2, '30s'],
  ])('%d seconds reads %j', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('round-trips every whole unit it prints', () => {
    for (const text of ['45s', '1m', '15m', '1h', '6h', '1d', '3d']) {
      expect(formatDuration(parseDuration(text)!)).toBe(text);
    }
  });
});
