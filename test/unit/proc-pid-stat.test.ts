import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProcPidStat, parseStatStartTime } from '../../src/parse/proc-pid-stat';

/** Fields 3..52 after the name, with the start time (field 22) given. */
function tail(startTime: string): string {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  fields[0] = 'S';
  fields[22 - 3] = startTime;
  return fields.join(' ');
}

describe('parseProcPidStat', () => {
  it('a real line (systemd, started in the first tick)', () => {
    const text =
      '1 (systemd) S 0 1 1 0 -1 4194560 51235 1917361 94 1210 230 236 3473 1640 20 0 1 0 13 23097344 3264 18446744073709551615 1 1 0 0 0 0 671173123 4096 1260 0 0 0 17 3 0 0 0 0 0 0 0 0 0 0 0 0 0\n';
    expect(parseProcPidStat(text)).toStrictEqual({ comm: 'systemd', startTime: 13 });
  });

  it.each([
    ['spaces', 'nginx: worker process'],
    ["')' and '('", 'a) (b) S 1 2'],
    ['only a )', ')'],
    ['empty', ''],
    ['a kernel worker with its workqueue', 'kworker/3:1-events_power_efficient'],
  ])('a name with %s', (_, comm) => {
    expect(parseProcPidStat(`4242 (${comm}) ${tail('123456789')}\n`)).toStrictEqual({ comm, startTime: 123456789 });
  });

  it('this process', () => {
    const parsed = parseProcPidStat(readFileSync('/proc/self/stat', 'utf8'));
    expect(parsed?.comm).toBe(readFileSync('/proc/self/comm', 'utf8').replace(/\n$/, ''));
    expect(parsed?.startTime).toBeGreaterThanOrEqual(0);
  });

  it.each([
    ['empty', ''],
    ['no name', '4242 S 1 2 3'],
    ['no pid', '(x) ' + tail('5')],
    ['pid not a number', 'x (y) ' + tail('5')],
    ['truncated before field 22', '4242 (x) S 1 2 3 4 5'],
    ['start time not a number', `4242 (x) ${tail('12a')}`],
    ['start time negative', `4242 (x) ${tail('-1')}`],
    ['start time too large', `4242 (x) ${tail('99999999999999999999')}`],
  ])('refuses %s', (_, text) => {
    expect(parseProcPidStat(text)).toBeUndefined();
    expect(parseStatStartTime(text)).toBeUndefined();
  });
});

describe('parseStatStartTime', () => {
  it('is field 22, counted from the last )', () => {
    expect(parseStatStartTime(`7 (x) 1 2) ${tail('999')}`)).toBe(999);
  });
});
