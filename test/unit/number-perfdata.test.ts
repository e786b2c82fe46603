import { describe, expect, it } from 'vitest';
import { percentText, plainNumber } from '../../src/nagios/number';
import { formatPerfdata } from '../../src/nagios/perfdata';

describe('plainNumber', () => {
  it.each([
    [0, '0'],
    [-0, '0'],
    [262144, '262144'],
    [12.3, '12.3'],
    [0.1 + 0.2, '0.3'],
    [1e21, '1000000000000000000000'],
    [1.5e22, '15000000000000000000000'],
    [123456789012, '123456789012'],
    [1e-7, '0'],
    [-5.25, '-5.25'],
    [2 ** 53, '9007199254740992'],
  ])('%d -> %s', (n, text) => {
    expect(plainNumber(n)).toBe(text);
    expect(plainNumber(n)).not.toMatch(/e|,/);
  });

  it('honours the number of decimals', () => {
    expect(plainNumber(76.2939453125, 2)).toBe('76.29');
    expect(plainNumber(2 / 3, 3)).toBe('0.667');
  });

  it('refuses what perfdata cannot carry', () => {
    expect(() => plainNumber(Infinity)).toThrow();
    expect(() => plainNumber(NaN)).toThrow();
  });
});

describe('percentText: one decimal, rounded down so that 100.0% means full', () => {
  it.each([
    [32245, 262144, '12.3'],
    [8, 10, '80.0'],
    [9, 10, '90.0'],
    [10, 10, '100.0'],
    [262143, 262144, '99.9'],
    [0, 262144, '0.0'],
    [11, 10, '110.0'],
  ])('%d of %d -> %s', (part, whole, text) => {
    expect(percentText(part, whole)).toBe(text);
  });
});

describe('formatPerfdata', () => {
  it('writes every field', () => {
    expect(formatPerfdata({ label: 'entries', value: 32245, warning: '209715', critical: '235929', min: 0, max: 262144 })).toBe(
      'entries=32245;209715;235929;0;262144',
    );
  });
  it('writes the unit after the value', () => {
    expect(formatPerfdata({ label: 'usage', value: 12.3, uom: '%', warning: '80', critical: '90', min: 0, max: 100 })).toBe(
      'usage=12.3%;80;90;0;100',
    );
    expect(formatPerfdata({ label: 'drop', value: 16, uom: 'c' })).toBe('drop=16c');
  });
  it('drops trailing empty fields but keeps inner ones', () => {
    expect(formatPerfdata({ label: 'entries', value: 5 })).toBe('entries=5');
    expect(formatPerfdata({ label: 'entries', value: 5, min: 0 })).toBe('entries=5;;;0');
    expect(formatPerfdata({ label: 'entries', value: 5, critical: '9' })).toBe('entries=5;;9');
  });
  it('quotes labels with spaces and removes what cannot be escaped', () => {
    expect(formatPerfdata({ label: 'netns web 1', value: 1 })).toBe("'netns web 1'=1");
    expect(formatPerfdata({ label: "a'b=c|d", value: 1 })).toBe('a_b_c_d=1');
  });
  it('never writes an exponent', () => {
    expect(formatPerfdata({ label: 'x', value: 1e21, max: 1e22 })).toBe('x=1000000000000000000000;;;;10000000000000000000000');
  });
});
