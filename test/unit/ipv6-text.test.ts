import { describe, expect, it } from 'vitest';
import { compactAddress } from '../../src/parse/ipv6-text';

describe('compactAddress', () => {
  // Expected values from glibc's inet_ntop, which conntrack -L uses.
  it.each([
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['0000:0000:0000:0000:0000:0000:0000:0000', '::'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['0001:0000:0000:0001:0000:0000:0000:0001', '1:0:0:1::1'],
    ['2001:0db8:0000:0001:0001:0001:0001:0001', '2001:db8:0:1:1:1:1:1'],
    ['0000:0000:0000:0000:0000:ffff:c000:0201', '::ffff:192.0.2.1'],
    ['0000:0000:0000:0000:0000:0000:c000:0201', '::192.0.2.1'],
    ['fe80:0000:0000:0000:0211:22ff:fe33:4455', 'fe80::211:22ff:fe33:4455'],
    ['FE80:0000:0000:0000:0000:0000:0000:0000', 'fe80::'],
  ])('%s -> %s', (full, compact) => {
    expect(compactAddress(full)).toBe(compact);
  });

  it('returns any other spelling as it is', () => {
    for (const address of [
      '127.0.0.1',
      '::1',
      '2001:db8::1',
      '0000:0000:0000:0000:0000:0000:0000:000g',
      '0000-0000:0000:0000:0000:0000:0000:0001',
    ]) {
      expect(compactAddress(address)).toBe(address);
    }
  });
});
