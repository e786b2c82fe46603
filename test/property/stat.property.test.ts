/**
 * /proc/net/stat/nf_conntrack and `conntrack -S`: whatever the text, the parser
 * returns, and what it accepts is internally consistent.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConntrackStatistics, parseProcStat, type ConntrackStats, type StatParse } from '../../src/parse/conntrack-stat';
import { parseUnsignedDecimal } from '../../src/parse/decimal';
import { preview } from '../../src/parse/printable';
import { CONTROL, fixtureTexts, hex, hostileText, isUint32, snippet } from './support/hostile';

const RUNS = { numRuns: 600, interruptAfterTimeLimit: 8_000 };
const STAT = fixtureTexts('stat');
const PROCFS = STAT.filter((t) => !t.includes('cpu='));
const NETLINK = STAT.filter((t) => t.includes('cpu='));

/** What every accepted parse must satisfy, whatever the input was. */
function checkShape(result: StatParse): void {
  expect(typeof result.ok).toBe('boolean');
  if (!result.ok) {
    expect(typeof result.reason).toBe('string');
    expect(result.reason.length).toBeGreaterThan(0);
    return;
  }
  const s: ConntrackStats = result.stats;
  expect(Number.isInteger(s.cpus) && s.cpus >= 1).toBe(true);
  expect(new Set(s.columns).size).toBe(s.columns.length);
  expect(s.columns).not.toContain('entries');
  expect(Object.keys(s.perCpu).sort()).toEqual([...s.columns].sort());
  expect(Object.keys(s.totals).sort()).toEqual([...s.columns].sort());
  for (const column of s.columns) {
    expect(column).toMatch(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/);
    const values = s.perCpu[column] as number[];
    expect(values).toHaveLength(s.cpus);
    expect(values.every(isUint32)).toBe(true);
    expect(s.totals[column]).toBe(values.reduce((a, b) => a + b, 0));
    expect(Number.isSafeInteger(s.totals[column])).toBe(true);
  }
  if (s.entries !== undefined) expect(isUint32(s.entries)).toBe(true);
}

const statToken = fc.oneof(hex(8), hex(4), fc.stringMatching(/^[a-z_]{1,14}$/), snippet);

describe('parseProcStat', () => {
  it('returns a consistent parse or a reason for any text: fixtures cut, mutated, or garbage', () => {
    fc.assert(
      fc.property(hostileText(PROCFS, statToken), (text) => {
        checkShape(parseProcStat(text));
      }),
      RUNS,
    );
  });

  const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/).filter((n) => n !== 'entries' && !/^[0-9a-f]{8}$/.test(n));
  const blanks = fc.constantFrom(' ', '  ', '\t', ' \t ');
  const value = fc.integer({ min: 0, max: 0xffffffff });
  const table = fc
    .record({
      names: fc.uniqueArray(name, { minLength: 1, maxLength: 20 }),
      withEntries: fc.boolean(),
      cpus: fc.integer({ min: 1, max: 12 }),
      eol: fc.constantFrom('\n', '\r\n'),
      trailing: fc.integer({ min: 0, max: 3 }),
      upper: fc.boolean(),
    })
    .chain((shape) => {
      const names = shape.withEntries ? ['entries', ...shape.names] : shape.names;
      return fc.record({
        shape: fc.constant(shape),
        names: fc.constant(names),
        rows: fc.array(fc.array(fc.tuple(value, blanks), { minLength: names.length, maxLength: names.length }), {
          minLength: shape.cpus,
          maxLength: shape.cpus,
        }),
        lead: blanks,
      });
    });

  function text(t: {
    shape: { eol: string; trailing: number; upper: boolean };
    names: string[];
    rows: Array<Array<[number, string]>>;
    lead: string;
  }): string {
    const hexOf = (v: number) => {
      const h = v.toString(16).padStart(8, '0');
      return t.shape.upper ? h.toUpperCase() : h;
    };
    const header = t.names.join(' ');
    const rows = t.rows.map((row) => t.lead + row.map(([v, gap]) => hexOf(v) + gap).join(''));
    return [header, ...rows].join(t.shape.eol) + t.shape.eol.repeat(t.shape.trailing);
  }

  it('reads back every table it is given, in any spacing, CRLF or not', () => {
    fc.assert(
      fc.property(table, (t) => {
        const result = parseProcStat(text(t));
        checkShape(result);
        if (!result.ok) throw new Error(result.reason);
        expect(result.stats.cpus).toBe(t.rows.length);
        t.names.forEach((n, i) => {
          const column = t.rows.map((row) => (row[i] as [number, string])[0]);
          if (n === 'entries') expect(result.stats.entries).toBe(column[0]);
          else expect(result.stats.perCpu[n]).toEqual(column);
        });
      }),
      RUNS,
    );
  });

  it('refuses a table with one value swapped for a negative, oversized or non-hex one', () => {
    const bad = fc.constantFrom(
      '-1',
      '-00000001',
      '100000000',
      'fffffffff',
      '0x1',
      'g',
      '\0',
      '1\0',
      '\ufffd',
      'ffffffff\0',
      '+1',
      '1.0',
      '１',
    );
    fc.assert(
      fc.property(table, bad, fc.nat(), fc.nat(), (t, token, r, c) => {
        const row = t.rows[r % t.rows.length] as Array<[number, string]>;
        const col = c % row.length;
        const lines = text(t).split(t.shape.eol);
        const fields = (lines[1 + (r % t.rows.length)] as string).split(/[ \t]+/).filter((f) => f !== '');
        fields[col] = token;
        lines[1 + (r % t.rows.length)] = fields.join(' ');
        const result = parseProcStat(lines.join(t.shape.eol));
        checkShape(result);
        expect(result.ok).toBe(false);
      }),
      RUNS,
    );
  });

  it('refuses a table whose header is missing', () => {
    fc.assert(
      fc.property(table, (t) => {
        const result = parseProcStat(text(t).split(t.shape.eol).slice(1).join(t.shape.eol));
        checkShape(result);
        expect(result.ok).toBe(false);
      }),
      RUNS,
    );
  });

  it('reads a host with 4,096 CPU rows', () => {
    fc.assert(
      fc.property(
        fc.array(name, { minLength: 16, maxLength: 17 }).map((n) => [...new Set(n)]),
        fc.integer({ min: 0, max: 0xffffffff }),
        (names, seed) => {
          const rows: string[] = [];
          let x = seed;
          for (let cpu = 0; cpu < 4096; cpu += 1) {
            const row: string[] = [];
            for (let i = 0; i < names.length; i += 1) {
              x = (Math.imul(x, 1103515245) + 12345) >>> 0;
              row.push(x.toString(16).padStart(8, '0'));
            }
            rows.push(row.join(' '));
          }
          const result = parseProcStat(`${names.join(' ')}\n${rows.join('\n')}\n`);
          checkShape(result);
          expect(result.ok && result.stats.cpus).toBe(4096);
        },
      ),
      { numRuns: 5 },
    );
  });
});

describe('parseConntrackStatistics', () => {
  const statToken2 = fc.oneof(fc.stringMatching(/^(cpu|found|drop|invalid|insert_failed)=\d{1,12}$/), snippet);

  it('returns a consistent parse or a reason for any text', () => {
    fc.assert(
      fc.property(hostileText(NETLINK, statToken2), (text) => {
        checkShape(parseConntrackStatistics(text));
      }),
      RUNS,
    );
  });

  // netlink names the parser renames (error, clash_resolve, chaintoolong) are left to the unit tests.
  const name = fc
    .stringMatching(/^[a-z_][a-z0-9_]{0,15}$/)
    .filter((n) => !['cpu', 'error', 'clash_resolve', 'chaintoolong', 'icmp_error', 'clashres', 'chainlength'].includes(n));
  const lines = fc
    .record({
      names: fc.uniqueArray(name, { minLength: 1, maxLength: 12 }),
      cpus: fc.uniqueArray(fc.integer({ min: 0, max: 8191 }), { minLength: 1, maxLength: 16 }),
    })
    .chain(({ names, cpus }) =>
      fc.record({
        names: fc.constant(names),
        rows: fc.tuple(
          ...cpus.map((cpu) =>
            fc.record({
              cpu: fc.constant(cpu),
              values: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: names.length, maxLength: names.length }),
              order: fc.shuffledSubarray([...names.keys()], { minLength: names.length, maxLength: names.length }),
            }),
          ),
        ),
        noise: fc.array(fc.stringMatching(/^[^\nc \t][^\n]{0,40}$/), { maxLength: 3 }),
      }),
    );

  it('reads back every set of cpu= lines, in any order of lines and of counters within a line', () => {
    fc.assert(
      fc.property(lines, ({ names, rows, noise }) => {
        const text = [...noise, ...rows.map((r) => `cpu=${r.cpu}\t${r.order.map((i) => `${names[i]}=${r.values[i]}`).join(' ')} `)].join(
          '\n',
        );
        const result = parseConntrackStatistics(text);
        checkShape(result);
        if (!result.ok) throw new Error(result.reason);
        const sorted = [...rows].sort((a, b) => a.cpu - b.cpu);
        expect(result.stats.cpus).toBe(rows.length);
        names.forEach((n, i) => expect(result.stats.perCpu[n]).toEqual(sorted.map((r) => r.values[i])));
      }),
      RUNS,
    );
  });
});

describe('parseProcStat and parseConntrackStatistics', () => {
  // Only the characters the two parsers split on and read: dense with near misses of a row.
  const dense = fc.string({ unit: fc.constantFrom(...' \t\n\r0123456789abcdefxyz_\u0000='), maxLength: 200 });

  it('return a consistent parse or a reason for any text of the characters they read', () => {
    fc.assert(
      fc.property(dense, (text) => {
        checkShape(parseProcStat(text));
        checkShape(parseConntrackStatistics(text));
      }),
      RUNS,
    );
  });
});

describe('parseUnsignedDecimal and preview', () => {
  it('parseUnsignedDecimal gives a safe integer >= 0 or a reason, for any text', () => {
    fc.assert(
      fc.property(hostileText(['32245\n', '0\n', '262144\n'], fc.stringMatching(/^\d{1,25}$/)), (text) => {
        const r = parseUnsignedDecimal(text);
        if (r.ok) {
          expect(Number.isSafeInteger(r.value) && r.value >= 0).toBe(true);
          expect(String(r.value)).toBe(text.trim().replace(/^0+(?=\d)/, ''));
        } else {
          expect(r.reason).not.toMatch(CONTROL);
          expect(r.reason.length).toBeLessThan(200);
        }
      }),
      RUNS,
    );
  });

  it('parseUnsignedDecimal reads back any safe integer, padded as sysctls are', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.constantFrom('', '\n', ' \n', '\t'), fc.constantFrom('', ' ', '0', '00'), (n, after, before) => {
        const text = `${before}${n}${after}`;
        expect(parseUnsignedDecimal(text)).toEqual({ ok: true, value: n });
      }),
      RUNS,
    );
  });

  it('preview is bounded and has no control characters and no |', () => {
    fc.assert(
      fc.property(
        fc.oneof(hostileText(['a|b\0c']), fc.string({ unit: 'binary', maxLength: 2000 })),
        fc.integer({ min: 1, max: 100 }),
        (text, max) => {
          const p = preview(text, max);
          expect(p.length).toBeLessThanOrEqual(max + 3);
          // eslint-disable-next-line no-control-regex -- what must never reach a status line
          expect(p).not.toMatch(/[\x00-\x1f\x7f-\x9f|]/);
        },
      ),
      RUNS,
    );
  });
});
