import { describe, expect, it } from 'vitest';
import { alerts, formatRange, parseRange, RangeSyntaxError } from '../../src/nagios/range';
import { plainNumber } from '../../src/nagios/number';

describe('parseRange: the forms of the Nagios guidelines', () => {
  it.each([
    ['10', { start: 0, end: 10, inside: false }],
    ['10:', { start: 10, end: Infinity, inside: false }],
    ['~:10', { start: -Infinity, end: 10, inside: false }],
    ['10:20', { start: 10, end: 20, inside: false }],
    ['@10:20', { start: 10, end: 20, inside: true }],
    // monitoring-plugins lib/tests/test_utils.c
    ['6', { start: 0, end: 6, inside: false }],
    ['-7:23', { start: -7, end: 23, inside: false }],
    [':5.75', { start: 0, end: 5.75, inside: false }],
    ['~:-95.99', { start: -Infinity, end: -95.99, inside: false }],
    ['~:0', { start: -Infinity, end: 0, inside: false }],
    ['@0:657.8210567', { start: 0, end: 657.8210567, inside: true }],
    ['1:1', { start: 1, end: 1, inside: false }],
    ['~:', { start: -Infinity, end: Infinity, inside: false }],
    ['+5', { start: 0, end: 5, inside: false }],
    ['.5', { start: 0, end: 0.5, inside: false }],
  ])('%s', (text, expected) => {
    expect(parseRange(text)).toEqual({ ...expected, percent: false, text });
  });

  it('marks a range with % as a percentage, whichever bound carries it', () => {
    expect(parseRange('80%')).toMatchObject({ start: 0, end: 80, percent: true });
    expect(parseRange('@50:60%')).toMatchObject({ start: 50, end: 60, inside: true, percent: true });
    expect(parseRange('10%:')).toMatchObject({ start: 10, end: Infinity, percent: true });
    expect(parseRange('~:80%')).toMatchObject({ start: -Infinity, end: 80, percent: true });
    expect(parseRange('50%:60%')).toMatchObject({ start: 50, end: 60, percent: true });
  });

  it('takes a number too large to hold exactly, as the C library does', () => {
    const r = parseRange('12345678901234567890:');
    const big = Number('12345678901234567890');
    expect(r.start).toBe(big);
    expect(alerts(r, big / 1.1)).toBe(true);
    expect(alerts(r, big)).toBe(false);
    expect(alerts(r, big * 2)).toBe(false);
  });

  it.each([
    '',
    '@',
    ':',
    '2:1',
    'abc',
    '10:abc',
    '1e3',
    '10::20',
    '@@5',
    '5 ',
    ' 5',
    '%',
    '80%%',
    '--5',
    '~',
    '~5',
    'Infinity',
    'NaN',
    '0x10',
    '1,5',
    '10:~',
    '1' + '0'.repeat(400),
  ])('rejects %j', (text) => {
    expect(() => parseRange(text)).toThrow(RangeSyntaxError);
  });

  it('names the range and the reason in its message', () => {
    expect(() => parseRange('2:1')).toThrow("invalid range '2:1': start is greater than end");
    expect(() => parseRange('abc')).toThrow("invalid range 'abc': 'abc' is not a number");
  });
});

describe('alerts: ends inclusive, @ inverts', () => {
  const cases: Array<[string, number, boolean]> = [
    ['10', -1, true],
    ['10', 0, false],
    ['10', 10, false],
    ['10', 10.0001, true],
    ['10:', 9.999, true],
    ['10:', 10, false],
    ['10:', 1e12, false],
    ['~:10', -1e12, false],
    ['~:10', 10, false],
    ['~:10', 11, true],
    ['10:20', 9, true],
    ['10:20', 10, false],
    ['10:20', 20, false],
    ['10:20', 21, true],
    ['@10:20', 9.99, false],
    ['@10:20', 10, true],
    ['@10:20', 20, true],
    ['@10:20', 20.01, false],
    // test_utils.c
    ['~:0', 0.5, true],
    ['~:0', -10, false],
    ['~:0', 0, false],
    ['@0:657.8210567', 32.88, true],
    ['@0:657.8210567', -2, false],
    ['@0:657.8210567', 657.8210567, true],
    ['@0:657.8210567', 0, true],
    ['1:1', 0.5, true],
    ['1:1', 1, false],
    ['1:1', 5.2, true],
    ['~:', -1e300, false],
    ['~:', 1e300, false],
    ['0', 0, false],
    ['0', 1, true],
  ];
  it.each(cases)('range %s, value %d -> alert %s', (text, value, expected) => {
    expect(alerts(parseRange(text), value)).toBe(expected);
  });
});

describe('formatRange: back to Nagios syntax for perfdata', () => {
  it.each([
    ['80', '80'],
    ['10:', '10:'],
    ['~:10', '~:10'],
    ['10:20', '10:20'],
    ['@10:20', '@10:20'],
    ['@5', '@5'],
    ['~:', '~:'],
  ])('%s -> %s', (text, expected) => {
    expect(formatRange(parseRange(text), plainNumber)).toBe(expected);
  });
});
