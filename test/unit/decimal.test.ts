import { describe, expect, it } from 'vitest';
import { parseUnsignedDecimal } from '../../src/parse/decimal';
import { preview } from '../../src/parse/printable';

describe('parseUnsignedDecimal: a sysctl value', () => {
  it.each([
    ['262144\n', 262144],
    ['0\n', 0],
    ['  42  \n', 42],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ])('%j -> %d', (text, value) => {
    expect(parseUnsignedDecimal(text)).toEqual({ ok: true, value });
  });
  it.each([
    ['', 'it is empty'],
    ['\n', 'it is empty'],
    ['-1\n', "'-1' is not a whole number"],
    ['12x4\n', "'12x4' is not a whole number"],
    ['1.5', "'1.5' is not a whole number"],
    ['1 2', "'1 2' is not a whole number"],
    ['0x10', "'0x10' is not a whole number"],
    ['99999999999999999999', '99999999999999999999 is too large'],
  ])('%j is refused: %s', (text, reason) => {
    expect(parseUnsignedDecimal(text)).toEqual({ ok: false, reason });
  });
  it('keeps control characters and | out of the reason', () => {
    const r = parseUnsignedDecimal('a\u0000b|c\u0007');
    expect(r).toEqual({ ok: false, reason: "'a?b?c?' is not a whole number" });
  });
  it('bounds the excerpt', () => {
    expect(preview('x'.repeat(100))).toBe('x'.repeat(40) + '...');
  });
});
