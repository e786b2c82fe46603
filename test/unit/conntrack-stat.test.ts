import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseConntrackStatistics,
  parseProcStat,
  REPORTED_COUNTERS,
  type ConntrackStats,
  type StatParse,
} from '../../src/parse/conntrack-stat';
import { FIXTURES } from '../support/fixtures';

const sample = (name: string) => readFileSync(join(FIXTURES, 'stat', name), 'utf8');

function stats(result: StatParse): ConntrackStats {
  if (!result.ok) throw new Error(`expected a parse, got: ${result.reason}`);
  return result.stats;
}

function reason(result: StatParse): string {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.stats)}`);
  return result.reason;
}

const HEADER_2_6_32 =
  'entries  searched found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete';
const HEADER_4_15 = `${HEADER_2_6_32} search_restart`;
const HEADER_5_10 = HEADER_4_15.replace('searched', 'clashres');
const HEADER_5_15 =
  'entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart';

const COLUMNS_5_15 = HEADER_5_15.split(/ +/).slice(1);

/** A 5.15+ row whose every counter is `value` (entries = `entries`), as the kernel spaces it. */
function row515(entries: number, value: number, overrides: Record<number, number> = {}): string {
  const v = COLUMNS_5_15.map((_, i) => (overrides[i] ?? value).toString(16).padStart(8, '0'));
  const e = entries.toString(16).padStart(8, '0');
  return `${e}  ${v.slice(0, 12).join(' ')}  ${v.slice(12).join(' ')}`;
}

describe('parseProcStat: each kernel era', () => {
  it('2.6.32 (CentOS 6): 16 columns, rows ending in a space', () => {
    const text = sample('2.6.32-centos6.txt');
    expect(text.split('\n')[1]?.endsWith('00000000 ')).toBe(true);
    const s = stats(parseProcStat(text));
    expect(s.columns).toEqual(HEADER_2_6_32.split(/ +/).slice(1));
    expect(s.cpus).toBe(4);
    // 0xea60 on every row: the count once, not 4 x 60000.
    expect(s.entries).toBe(60000);
    // 0x51c + 0x4f7 + 0x533 + 0x4e2 = 1308 + 1271 + 1331 + 1250
    expect(s.perCpu.drop).toEqual([1308, 1271, 1331, 1250]);
    expect(s.totals.drop).toBe(5160);
    // 0x22 + 0x1d + 0x19 + 0x18 = 34 + 29 + 25 + 24
    expect(s.totals.early_drop).toBe(112);
    expect(s.totals.insert_failed).toBe(6);
    // 0xe2a + 0xb13 + 0xa9c + 0x9d0 = 3626 + 2835 + 2716 + 2512
    expect(s.totals.invalid).toBe(11689);
    expect(s.totals.icmp_error).toBe(288);
    // 0xfe3b91c2 + 0x8c0a3317 + 0x7713a0be + 0x6fe21d4a: well past 2^32, kept exact
    expect(s.totals.searched).toBe(4265316802 + 2349478679 + 1997775038 + 1877089610);
    expect(s.totals.searched).toBe(10489660129);
    expect(s.totals.expect_new).toBe(0);
    expect('search_restart' in s.totals).toBe(false);
    expect('entries' in s.totals).toBe(false);
    expect('entries' in s.perCpu).toBe(false);
  });

  it('4.15: search_restart appended, searched/new/delete/delete_list constant 0', () => {
    const s = stats(parseProcStat(sample('4.15.txt')));
    expect(s.columns).toEqual(HEADER_4_15.split(/ +/).slice(1));
    expect(s.columns).toHaveLength(16);
    expect(s.cpus).toBe(4);
    expect(s.entries).toBe(150000);
    // 0xa9e3 + 0xa47b + 0xa6c0 + 0xa512 = 43491 + 42107 + 42688 + 42258
    expect(s.totals.search_restart).toBe(170544);
    // 0x2f1 + 0x2c8 + 0x2d9 + 0x2bf = 753 + 712 + 729 + 703
    expect(s.totals.insert_failed).toBe(2897);
    expect(s.totals.invalid).toBe(1218085);
    expect(s.totals.ignore).toBe(1801214156);
    expect(s.totals).toMatchObject({ searched: 0, new: 0, delete: 0, delete_list: 0, drop: 0, early_drop: 0 });
  });

  it('5.10: searched renamed clashres; a sum past 2^32', () => {
    const s = stats(parseProcStat(sample('5.10.txt')));
    expect(s.columns).toEqual(HEADER_5_10.split(/ +/).slice(1));
    expect(s.columns).not.toContain('searched');
    expect(s.cpus).toBe(3);
    expect(s.entries).toBe(0x7d2e);
    expect(s.entries).toBe(32046);
    // 0x3a41 + 0x39ff + 0x3b10 = 14913 + 14847 + 15120
    expect(s.totals.clashres).toBe(44880);
    // 0xf3a1c2d4 + 0xe8b0710c + 0xef0044a2 = 4087464660 + 3903877388 + 4009772194
    expect(s.perCpu.found).toEqual([4087464660, 3903877388, 4009772194]);
    expect(s.totals.found).toBe(12001114242);
    expect(s.totals.drop).toBe(12);
    expect(s.totals.early_drop).toBe(1);
    expect(s.totals.expect_create).toBe(36);
  });

  it('6.18, copied from this machine: the 5.15+ header, all zeros', () => {
    const s = stats(parseProcStat(sample('6.18.txt')));
    expect(s.columns).toEqual(COLUMNS_5_15);
    expect(s.columns).toContain('chainlength');
    expect(s.columns).not.toContain('delete_list');
    expect(s.cpus).toBeGreaterThanOrEqual(1);
    expect(s.entries).toBeGreaterThanOrEqual(0);
    for (const column of s.columns) expect(s.perCpu[column]).toHaveLength(s.cpus);
    expect(s.totals.drop).toBe(0);
  });

  it('6.18 with drops: every total', () => {
    const s = stats(parseProcStat(sample('6.18-busy.txt')));
    expect(s.cpus).toBe(4);
    expect(s.entries).toBe(1200);
    expect({ ...s.totals }).toEqual({
      clashres: 300 + 279 + 289 + 269,
      found: 426461,
      new: 0,
      invalid: 13350,
      ignore: 0,
      delete: 0,
      chainlength: 3,
      insert: 979068,
      insert_failed: 17 + 14 + 16 + 12,
      drop: 799 + 741 + 769 + 713,
      early_drop: 3210 + 3028 + 3089 + 2974,
      icmp_error: 97,
      expect_new: 0,
      expect_create: 0,
      expect_delete: 0,
      search_restart: 255,
    });
    expect(s.totals.drop).toBe(3022);
    expect(s.totals.early_drop).toBe(12301);
    expect(s.totals.clashres).toBe(1137);
    expect(s.perCpu.chainlength).toEqual([2, 0, 1, 0]);
  });
});

describe('parseProcStat: layout', () => {
  it('sums ffffffff rows beyond 2^32 and reads each value as unsigned', () => {
    const drop = COLUMNS_5_15.indexOf('drop');
    const text = [HEADER_5_15, ...[0, 1, 2].map(() => row515(5, 1, { [drop]: 0xffffffff }))].join('\n');
    const s = stats(parseProcStat(text));
    expect(s.perCpu.drop).toEqual([4294967295, 4294967295, 4294967295]);
    expect(s.totals.drop).toBe(12884901885);
    expect(s.totals.early_drop).toBe(3);
    expect(s.entries).toBe(5);
  });

  it('finds columns by name, whatever their order', () => {
    const lines = sample('6.18-busy.txt').trimEnd().split('\n');
    const reversed = lines.map((line) => line.split(/ +/).reverse().join(' ')).join('\n');
    expect(reversed.startsWith('search_restart expect_delete')).toBe(true);
    const s = stats(parseProcStat(reversed));
    expect(s.columns).toEqual([...COLUMNS_5_15].reverse());
    expect(s.entries).toBe(1200);
    expect(s.totals.drop).toBe(3022);
    expect(s.totals.early_drop).toBe(12301);
    expect({ ...s.totals }).toEqual({ ...stats(parseProcStat(sample('6.18-busy.txt'))).totals });
  });

  it('keeps an unknown future column, and works without entries', () => {
    const text = 'found future_thing\n00000001 0000000a\n00000002 000000ff\n';
    const s = stats(parseProcStat(text));
    expect(s.entries).toBeUndefined();
    expect(s.columns).toEqual(['found', 'future_thing']);
    expect(s.totals).toEqual({ found: 3, future_thing: 265 });
  });

  it('takes entries from the first row even when rows disagree', () => {
    const s = stats(parseProcStat(`${HEADER_5_15}\n${row515(7, 0)}\n${row515(9, 0)}\n`));
    expect(s.entries).toBe(7);
  });

  it('accepts CRLF, no final newline, extra final newlines, tabs and leading spaces', () => {
    const lf = sample('4.15.txt');
    const expected = stats(parseProcStat(lf));
    expect(stats(parseProcStat(lf.replace(/\n/g, '\r\n')))).toEqual(expected);
    expect(stats(parseProcStat(lf.trimEnd()))).toEqual(expected);
    expect(stats(parseProcStat(`${lf}\n\n  \n`))).toEqual(expected);
    expect(stats(parseProcStat(lf.replace(/ {2}/g, '\t').replace(/\n0/g, '\n   0')))).toEqual(expected);
  });

  it('reads 64 CPU rows, more than this machine has', () => {
    const drop = COLUMNS_5_15.indexOf('drop');
    const rows = Array.from({ length: 64 }, (_, cpu) => row515(1200, 0, { [drop]: cpu }));
    const s = stats(parseProcStat([HEADER_5_15, ...rows].join('\n') + '\n'));
    expect(s.cpus).toBe(64);
    expect(s.entries).toBe(1200);
    expect(s.perCpu.drop).toHaveLength(64);
    expect(s.perCpu.drop?.[63]).toBe(63);
    // 0 + 1 + ... + 63
    expect(s.totals.drop).toBe(2016);
  });

  it('treats a column named like an Object property as just a column', () => {
    const s = stats(parseProcStat('__proto__ constructor toString\n00000001 00000002 00000003\n'));
    expect(s.totals.__proto__).toBe(1);
    expect(s.totals.constructor).toBe(2);
    expect(s.totals.toString).toBe(3);
    expect(({} as Record<string, unknown>).__proto__).toBe(Object.prototype);
    // A name that is absent is absent, not inherited.
    expect(stats(parseProcStat(sample('4.15.txt'))).totals.constructor).toBeUndefined();
  });
});

describe('parseProcStat: refusals', () => {
  it.each([
    ['', 'it is empty'],
    ['\n', 'it is empty'],
    [' \r\n\t\n', 'it is empty'],
  ])('empty input %j', (text, expected) => {
    expect(parseProcStat(text)).toEqual({ ok: false, reason: expected });
  });

  it('a missing header', () => {
    const rows = sample('6.18-busy.txt').split('\n').slice(1).join('\n');
    expect(reason(parseProcStat(rows))).toBe('line 1 holds values, not the column names: the header is missing');
    // Hex digits that happen to spell names are still values.
    expect(reason(parseProcStat('ffffffff  abcdef01 deadbeef\nffffffff  abcdef01 deadbeef\n'))).toMatch(/header is missing/);
    expect(reason(parseProcStat('\nentries found\n00000001 00000002\n'))).toBe(
      'line 1 is empty where the header (the column names) should be',
    );
  });

  it('a header without rows', () => {
    expect(reason(parseProcStat(`${HEADER_5_15}\n`))).toBe('there are no rows under the header');
    expect(reason(parseProcStat(`${HEADER_5_15}`))).toBe('there are no rows under the header');
    expect(reason(parseProcStat(`${HEADER_5_15}\r\n\r\n`))).toBe('there are no rows under the header');
  });

  it('a short or long row, naming its line', () => {
    const lines = sample('4.15.txt').split('\n');
    const short = [...lines];
    short[2] = (short[2] ?? '').replace(/ [0-9a-f]{8}$/, '');
    expect(reason(parseProcStat(short.join('\n')))).toBe('line 3 has 16 fields, the header has 17');
    const long = [...lines];
    long[4] = `${long[4] ?? ''} 00000001`;
    expect(reason(parseProcStat(long.join('\n')))).toBe('line 5 has 18 fields, the header has 17');
  });

  it('a field that is not a 32-bit hex value, naming its line and column', () => {
    const text = `${HEADER_5_15}\n${row515(1, 0)}\n${row515(1, 0).replace(/^(\S+ +(?:\S+ +){9})\S+/, '$1zz00ff00')}\n`;
    expect(reason(parseProcStat(text))).toBe("line 3, column 'drop': 'zz00ff00' is not a 32-bit hex value");
    for (const bad of ['100000000', '-0000001', '0x000001', '1.5', '']) {
      const r = parseProcStat(`entries drop\n00000001 ${bad}\n`);
      expect(r.ok).toBe(false);
    }
    expect(reason(parseProcStat('entries drop\n00000001 100000000\n'))).toBe(
      "line 2, column 'drop': '100000000' is not a 32-bit hex value",
    );
  });

  it('a blank line between rows', () => {
    const text = `${HEADER_5_15}\n${row515(1, 0)}\n\n${row515(1, 0)}\n`;
    expect(reason(parseProcStat(text))).toBe('line 3 is empty, but rows follow it');
  });

  it('a header that is not column names, or names one twice', () => {
    expect(reason(parseProcStat('entries dr-op\n00000001 00000002\n'))).toBe("line 1: 'dr-op' is not a column name");
    expect(reason(parseProcStat('entries drop drop\n00000001 00000002 00000003\n'))).toBe("line 1 names the column 'drop' twice");
  });

  it('keeps control characters out of the reason', () => {
    const r = reason(parseProcStat('entries drop\n00000001 0000\u00000001\n'));
    expect(r).toBe("line 2, column 'drop': '0000?0001' is not a 32-bit hex value");
  });

  it('more than 65536 rows', () => {
    const row = row515(1, 1);
    const ok = stats(parseProcStat([HEADER_5_15, ...Array<string>(65536).fill(row)].join('\n')));
    expect(ok.cpus).toBe(65536);
    expect(ok.totals.drop).toBe(65536);
    expect(reason(parseProcStat([HEADER_5_15, ...Array<string>(65537).fill(row)].join('\n')))).toBe('there are more than 65536 rows');
  });
});

describe('parseProcStat: hostile input', () => {
  it('4096 CPU rows', () => {
    const rows = Array.from({ length: 4096 }, () => row515(300, 0xffffffff));
    const s = stats(parseProcStat([HEADER_5_15, ...rows].join('\n')));
    expect(s.cpus).toBe(4096);
    expect(s.entries).toBe(300);
    expect(s.totals.drop).toBe(4096 * 4294967295);
  });

  it('1 MB lines', () => {
    const long = 'a'.repeat(1 << 20);
    expect(reason(parseProcStat(`${long}\n00000001\n`))).toBe(`line 1: '${'a'.repeat(40)}...' is not a column name`);
    expect(parseProcStat(`entries drop\n${'0'.repeat(1 << 20)} 00000001\n`).ok).toBe(false);
    expect(parseProcStat(`entries drop\n${'00000001 '.repeat(1 << 17)}\n`).ok).toBe(false);
    expect(reason(parseProcStat(`${'a '.repeat(1 << 19)}\n`))).toMatch(/^line 1 has 524288 columns, more than \d+$/);
    expect(parseProcStat(' '.repeat(1 << 20) + 'x').ok).toBe(false);
  });

  it('binary and NUL bytes are refused', () => {
    expect(parseProcStat('\u0000'.repeat(1000)).ok).toBe(false);
    expect(
      parseProcStat(
        readFileSync(process.execPath)
          .subarray(0, 1 << 16)
          .toString('latin1'),
      ).ok,
    ).toBe(false);
  });
});

describe('parseConntrackStatistics: conntrack -S', () => {
  const NETLINK_1_4_7 = [
    'found',
    'invalid',
    'insert',
    'insert_failed',
    'drop',
    'early_drop',
    'icmp_error',
    'search_restart',
    'clashres',
    'chainlength',
  ];

  it('1.4.7 output captured on this machine, names in procfs spelling', () => {
    const text = sample('conntrack-S-1.4.7.txt');
    expect(text).toMatch(/^cpu=0 {3}\tfound=0 .* error=0 .* clash_resolve=0 chaintoolong=0 \n/);
    const s = stats(parseConntrackStatistics(text));
    expect(s.columns).toEqual(NETLINK_1_4_7);
    expect(s.entries).toBeUndefined();
    expect(s.cpus).toBeGreaterThanOrEqual(1);
    expect(s.totals.drop).toBe(0);
  });

  it('1.4.7 with drops matches the procfs totals of the same host', () => {
    const s = stats(parseConntrackStatistics(sample('conntrack-S-1.4.7-busy.txt')));
    expect(s.columns).toEqual(NETLINK_1_4_7);
    expect(s.cpus).toBe(4);
    expect(s.perCpu.drop).toEqual([799, 741, 769, 713]);
    expect(s.totals).toMatchObject({ drop: 3022, early_drop: 12301, insert_failed: 59, clashres: 1137, chainlength: 3, icmp_error: 97 });
    const proc = stats(parseProcStat(sample('6.18-busy.txt')));
    for (const name of s.columns) expect([name, s.totals[name]]).toEqual([name, proc.totals[name]]);
  });

  it('1.4.4 (older names, searched .. delete_list) matches the 4.15 procfs totals', () => {
    const s = stats(parseConntrackStatistics(sample('conntrack-S-1.4.4.txt')));
    expect(s.columns).toEqual([
      'searched',
      'found',
      'new',
      'invalid',
      'ignore',
      'delete',
      'delete_list',
      'insert',
      'insert_failed',
      'drop',
      'early_drop',
      'icmp_error',
      'search_restart',
    ]);
    expect(s.cpus).toBe(4);
    expect(s.totals.insert_failed).toBe(753 + 712 + 729 + 703);
    expect(s.totals.icmp_error).toBe(1078);
    expect(s.totals.search_restart).toBe(170544);
    const proc = stats(parseProcStat(sample('4.15.txt')));
    for (const name of s.columns) expect([name, s.totals[name]]).toEqual([name, proc.totals[name]]);
  });

  it('orders CPUs by number, whatever the line order, and allows gaps', () => {
    const lines = sample('conntrack-S-1.4.7-busy.txt').trimEnd().split('\n');
    const s = stats(parseConntrackStatistics([lines[2], lines[0], lines[3], lines[1]].join('\n')));
    expect(s.perCpu.drop).toEqual([799, 741, 769, 713]);
    expect(s.perCpu.chainlength).toEqual([2, 0, 1, 0]);
    const gaps = stats(parseConntrackStatistics('cpu=7   \tdrop=3 \ncpu=0   \tdrop=1 \ncpu=12  \tdrop=5 \n'));
    expect(gaps.perCpu.drop).toEqual([1, 3, 5]);
    expect(gaps.cpus).toBe(3);
  });

  it('ignores other lines, accepts CRLF and no final newline', () => {
    const text = [
      'conntrack v1.4.7 (conntrack-tools): warning',
      '',
      'cpu=1   \tdrop=4294967295 error=2 ',
      'something else',
      'cpu=0   \tdrop=4294967295 error=1',
    ].join('\r\n');
    const s = stats(parseConntrackStatistics(text));
    expect(s.columns).toEqual(['drop', 'icmp_error']);
    expect(s.totals).toEqual({ drop: 8589934590, icmp_error: 3 });
  });

  it('accepts the same counters in another order on some line', () => {
    const s = stats(parseConntrackStatistics('cpu=0 drop=1 error=2\ncpu=1 error=20 drop=10\n'));
    expect(s.columns).toEqual(['drop', 'icmp_error']);
    expect(s.perCpu).toEqual({ drop: [1, 10], icmp_error: [2, 20] });
  });

  it('treats a counter named like an Object property as just a counter', () => {
    const s = stats(parseConntrackStatistics('cpu=0 constructor=1 __proto__=2 toString=3\n'));
    expect(s.columns).toEqual(['constructor', '__proto__', 'toString']);
    expect(s.totals.constructor).toBe(1);
    expect(s.totals.__proto__).toBe(2);
    expect(s.totals.toString).toBe(3);
  });

  it('takes entries once from the procfs fallback of old conntrack-tools', () => {
    const text = 'cpu=0   \tentries=1200 searched=0 found=9 icmp_error=1 \ncpu=1   \tentries=1200 searched=0 found=4 icmp_error=2 \n';
    const s = stats(parseConntrackStatistics(text));
    expect(s.entries).toBe(1200);
    expect(s.columns).toEqual(['searched', 'found', 'icmp_error']);
    expect(s.totals).toEqual({ searched: 0, found: 13, icmp_error: 3 });
  });

  it.each([
    ['', 'it is empty'],
    ['conntrack v1.4.7 (conntrack-tools): Operation not permitted\n', "there are no 'cpu=' lines"],
    ['cpu=0 drop=1 early_drop=2\ncpu=1 drop=1\n', "line 2 (cpu=1) lacks 'early_drop', which cpu=0 gives"],
    ['cpu=1 drop=1 early_drop=2\ncpu=0 drop=1\n', "line 1 (cpu=1) gives 'early_drop', which cpu=0 lacks"],
    ['cpu=0 drop=1\ncpu=0 drop=2\n', 'line 2 repeats cpu=0 of line 1'],
    ['cpu=0 drop=0x10\n', "line 1, counter 'drop': '0x10' is not a 32-bit decimal value"],
    ['cpu=0 drop=4294967296\n', "line 1, counter 'drop': '4294967296' is not a 32-bit decimal value"],
    ['cpu=0 drop=-1\n', "line 1, counter 'drop': '-1' is not a 32-bit decimal value"],
    ['cpu=0 drop\n', "line 1: 'drop' is not a name=value pair"],
    ['cpu=0 drop=1\ncpu=1 drop\n', "line 2: 'drop' is not a name=value pair"],
    ['cpu=0 =1\n', "line 1: '=1' is not a name=value pair"],
    ['cpu=0 drop=\n', "line 1, counter 'drop': '' is not a 32-bit decimal value"],
    ['cpu=0 drop=1 drop=2\n', "line 1 gives 'drop' twice"],
    ['cpu=0 cpu=1\n', "line 1 gives 'cpu' twice"],
    ['cpu=0   \t\ncpu=1   \t\n', 'line 1 (cpu=0) gives no counters'],
    ['cpu=x drop=1\n', "line 1: 'cpu=x' is not a CPU number"],
    ['cpu=0 error=1 icmp_error=2\n', "line 1 gives 'icmp_error' twice"],
  ])('refuses %j', (text, expected) => {
    expect(parseConntrackStatistics(text)).toEqual({ ok: false, reason: expected });
  });

  it('4096 CPUs, more than 65536 refused, 1 MB lines', () => {
    const line = (cpu: number) => `cpu=${String(cpu).padEnd(4)}\tfound=1 drop=4294967295 error=0 clash_resolve=2 chaintoolong=0 `;
    const s = stats(parseConntrackStatistics(Array.from({ length: 4096 }, (_, i) => line(4095 - i)).join('\n')));
    expect(s.cpus).toBe(4096);
    expect(s.totals.drop).toBe(4096 * 4294967295);
    expect(s.totals.clashres).toBe(8192);
    expect(reason(parseConntrackStatistics(Array.from({ length: 65537 }, (_, i) => line(i)).join('\n')))).toBe(
      'there are more than 65536 cpu= lines',
    );
    expect(parseConntrackStatistics(`cpu=0 ${'x'.repeat(1 << 20)}=1\n`).ok).toBe(false);
    expect(parseConntrackStatistics(`cpu=0 ${'a=1 '.repeat(1 << 18)}\n`).ok).toBe(false);
    expect(parseConntrackStatistics('x'.repeat(1 << 20)).ok).toBe(false);
  });
});

describe('REPORTED_COUNTERS', () => {
  it('lists the counters a check reports, in order', () => {
    expect(REPORTED_COUNTERS).toEqual(['drop', 'early_drop', 'insert_failed', 'invalid', 'search_restart', 'clashres', 'chainlength']);
  });

  it('selects only those present in each era', () => {
    const present = (name: string) => REPORTED_COUNTERS.filter((c) => c in stats(parseProcStat(sample(name))).totals);
    expect(present('2.6.32-centos6.txt')).toEqual(['drop', 'early_drop', 'insert_failed', 'invalid']);
    expect(present('4.15.txt')).toEqual(['drop', 'early_drop', 'insert_failed', 'invalid', 'search_restart']);
    expect(present('5.10.txt')).toEqual(['drop', 'early_drop', 'insert_failed', 'invalid', 'search_restart', 'clashres']);
    expect(present('6.18-busy.txt')).toEqual([...REPORTED_COUNTERS]);
    const netlink = stats(parseConntrackStatistics(sample('conntrack-S-1.4.7.txt')));
    expect(REPORTED_COUNTERS.filter((c) => c in netlink.totals)).toEqual([...REPORTED_COUNTERS]);
  });
});
