/**
 * Kernel log lines from every source: kmsg records, `dmesg -r`, the journal and
 * syslog files. Any line parses to a record with safe integers or to nothing; any
 * message classifies to a valid event or to nothing; the line scanners see the
 * same lines however the bytes arrive.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  kmsgPriority,
  parseDmesgLine,
  parseJournalLine,
  parseKmsgRecord,
  parseSyslogLine,
  type LogRecord,
} from '../../src/parse/log-lines';
import { classifyMessage, mightMatter, type LogEvent } from '../../src/parse/log-message';
import { forEachCandidateLine, LogScanner } from '../../src/parse/log-scanner';
import { chunked, fixtureTexts, garbage, hostileText, isCount, randomBytes, snippet } from './support/hostile';

const RUNS = { numRuns: 800, interruptAfterTimeLimit: 8_000 };
const LOGS = fixtureTexts('logs');
const LOG_LINES = [...new Set(LOGS.flatMap((t) => t.split('\n')))].filter((l) => l !== '');

const logToken = fc.oneof(
  fc.constantFrom(
    'kernel:',
    'kernel[0]:',
    'host',
    '<4>',
    '[  152.332874]',
    '4,350,152332874,-;',
    '1700000000.123456',
    'Dec 14 15:00:05',
    '2024-05-01T10:00:00.123456+02:00',
  ),
  fc.constantFrom(
    'nf_conntrack:',
    'table full,',
    'dropping packet',
    'in netns',
    'callbacks suppressed',
    'message repeated 3 times: [',
    ']',
  ),
  fc.stringMatching(/^\d{1,22}$/),
  snippet,
);
/**
 * Pieces of real lines with their own spaces and punctuation, glued in any order:
 * a mix is mostly a near miss of a real line, such as a message in the wrong place.
 */
const glued = fc
  .array(
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          'nf_conntrack: ',
          'ip_conntrack:',
          'table full',
          ' in netns ',
          ', dropping packet',
          ' callbacks',
          ' suppressed',
          'printk:',
          '<4>',
          '[  152.332874] ',
          '[',
          ']',
          '<',
          '>',
          ';',
          ',',
          ':',
          ' ',
          '\uffff',
          '-- ',
          'kernel: ',
          'Dec 14 15:00:05 ',
          '2024-05-01T10:00:00.123456+02:00 ',
          '1700000000.123456 ',
          'host ',
          '4,350,152332874,-;',
          'message repeated 3 times: [ ',
        ),
      },
      { weight: 1, arbitrary: snippet },
    ),
    { minLength: 1, maxLength: 12 },
  )
  .map((pieces) => pieces.join(''));
/** One line: a real one cut or mutated, a plausible one, or garbage. */
const line = hostileText(LOG_LINES, logToken);
/** A message text as classifyMessage gets it. */
const message = fc.oneof(
  line,
  fc.array(logToken, { maxLength: 12 }).map((t) => t.join(' ')),
);

const dates = fc.oneof(
  fc.date({ min: new Date(0), max: new Date(Date.UTC(2200, 0, 1)), noInvalidDate: true }),
  fc.constantFrom(
    new Date(Number.NaN),
    new Date(8.64e15),
    new Date(-8.64e15),
    new Date(Date.UTC(2024, 11, 31, 23, 59, 59)),
    new Date(Date.UTC(2025, 0, 1, 0, 0, 1)),
  ),
);

function checkRecord(r: LogRecord | undefined): void {
  if (r === undefined) return;
  expect(typeof r.text).toBe('string');
  for (const key of ['seq', 'bootUsec', 'prio', 'repeated'] as const) {
    if (r[key] !== undefined) expect(isCount(r[key]), `${key} = ${r[key]}`).toBe(true);
  }
  if (r.wallMs !== undefined) expect(Number.isSafeInteger(r.wallMs), `wallMs = ${r.wallMs}`).toBe(true);
}

function checkEvent(e: LogEvent | undefined): void {
  if (e === undefined) return;
  if (e.kind === 'table-full') {
    expect(Object.keys(e).every((k) => k === 'kind' || k === 'netns')).toBe(true);
    if (e.netns !== undefined) expect(isCount(e.netns)).toBe(true);
  } else {
    expect(e.kind).toBe('suppressed');
    expect(isCount(e.count)).toBe(true);
  }
}

describe('line parsers', () => {
  /** Every line parser on one line, and classifyMessage on the text of what it gives, as a reader does. */
  const checkLine = (text: string, now: Date): void => {
    for (const record of [parseKmsgRecord(text), parseDmesgLine(text), parseJournalLine(text), parseSyslogLine(text, now)]) {
      checkRecord(record);
      if (record !== undefined) checkEvent(classifyMessage(record.text));
    }
  };

  it('parseKmsgRecord, parseDmesgLine, parseJournalLine and parseSyslogLine never throw, give safe integers and text that classifies', () => {
    fc.assert(fc.property(line, dates, checkLine), RUNS);
  });

  it('the same, and classifyMessage on the whole line, on pieces of real lines glued in any order', () => {
    fc.assert(
      fc.property(glued, dates, (text, now) => {
        checkLine(text, now);
        const event = classifyMessage(text);
        checkEvent(event);
        if (event !== undefined) expect(mightMatter(text)).toBe(true);
      }),
      { numRuns: 3000, interruptAfterTimeLimit: 8_000 },
    );
  });

  it('the same on 4 KiB of random bytes, read as latin1 or as UTF-8', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.boolean(), dates, (seed, latin1, now) => {
        const bytes = randomBytes(seed, 4096);
        const text = bytes.toString(latin1 ? 'latin1' : 'utf8');
        checkLine(text, now);
        checkEvent(classifyMessage(text));
      }),
      { numRuns: 200, interruptAfterTimeLimit: 8_000 },
    );
  });

  it('parseSyslogLine gives the same answer whatever line it parsed before (its cache never leaks)', () => {
    fc.assert(
      fc.property(line, line, line, dates, (before1, before2, text, now) => {
        parseSyslogLine(before1, now);
        const first = parseSyslogLine(text, now);
        parseSyslogLine(before2, now);
        expect(parseSyslogLine(text, now)).toEqual(first);
      }),
      RUNS,
    );
  });

  const text = fc.string({ unit: fc.constantFrom(...'abc xyz:[]<>()=,.-_01239'.split(''), '\u00e9', '\u2603'), maxLength: 60 });

  it('parseKmsgRecord reads back any record', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 191 }),
        fc.maxSafeNat(),
        fc.maxSafeNat(),
        fc.constantFrom('-', 'c', '+', '-,caller=T123'),
        text,
        fc.constantFrom('', '\n', '\n SUBSYSTEM=net\n'),
        (prio, seq, usec, flags, msg, tail) => {
          expect(parseKmsgRecord(`${prio},${seq},${usec},${flags};${msg}${tail}`)).toEqual({ text: msg, seq, bootUsec: usec, prio });
        },
      ),
      RUNS,
    );
  });

  it('kmsgPriority passes by only records the kernel-log finding would not count (user space, facility > 0)', () => {
    const digits = fc.stringMatching(/^\d{1,14}$/);
    const record = fc.oneof(
      fc
        .tuple(fc.oneof(digits, fc.integer({ min: 0, max: 191 }).map(String)), fc.maxSafeNat(), fc.maxSafeNat(), text)
        .map(([prio, seq, usec, msg]) => `${prio},${seq},${usec},-;${msg}\n`),
      fc.string({ maxLength: 60 }),
    );
    fc.assert(
      fc.property(record, (raw) => {
        const bytes = Buffer.from(raw, 'utf8');
        // a record in a larger buffer, as the reader has it
        const buf = Buffer.concat([bytes, Buffer.from('99999,1,2,-;table full')]);
        const parsed = parseKmsgRecord(raw);
        if (kmsgPriority(buf, bytes.length) >= 8) expect(parsed === undefined || parsed.prio! >> 3 !== 0).toBe(true);
        if (parsed) expect(kmsgPriority(buf, bytes.length) >= 8).toBe(parsed.prio! >> 3 !== 0);
      }),
      RUNS,
    );
  });

  it('parseDmesgLine reads back any `dmesg -r` line', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 191 }),
        fc.integer({ min: 0, max: 99_999_999 }),
        fc.integer({ min: 0, max: 999_999 }),
        text,
        fc.constantFrom('', '\n', '\r\n'),
        (prio, sec, usec, msg, eol) => {
          const stamp = `[${String(sec).padStart(5, ' ')}.${String(usec).padStart(6, '0')}]`;
          const parsed = parseDmesgLine(`<${prio}>${stamp} ${msg}${eol}`);
          expect(parsed).toEqual({ text: msg, prio, bootUsec: sec * 1_000_000 + usec });
        },
      ),
      RUNS,
    );
  });

  it('parseJournalLine reads back any `journalctl -o short-unix` kernel line', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 999_999_999_999 }),
        fc.integer({ min: 0, max: 999_999 }),
        fc.stringMatching(/^[a-z0-9.-]{1,20}$/),
        text,
        (sec, usec, host, msg) => {
          // A message that starts with a boot stamp has it taken off (or is refused when it is unusable).
          if (/^\[ {0,12}\d+\.\d+\]/.test(msg)) return;
          const frac = String(usec).padStart(6, '0');
          const parsed = parseJournalLine(`${sec}.${frac} ${host} kernel: ${msg}`);
          expect(parsed).toEqual({ text: msg, wallMs: sec * 1000 + Math.floor(usec / 1000) });
        },
      ),
      RUNS,
    );
  });

  it('parseSyslogLine reads back the time of any RFC 3339 line, whatever its offset', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date(Date.UTC(1971, 0, 1)), max: new Date(Date.UTC(2199, 0, 1)), noInvalidDate: true }),
        fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
        fc.stringMatching(/^[a-z0-9.-]{1,20}$/),
        dates,
        (at, offsetMin, host, now) => {
          const local = new Date(at.getTime() + offsetMin * 60_000);
          const pad = (n: number, w = 2) => String(n).padStart(w, '0');
          const sign = offsetMin < 0 ? '-' : '+';
          const off = Math.abs(offsetMin);
          const stamp = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}.${pad(local.getUTCMilliseconds(), 3)}${sign}${pad(Math.floor(off / 60))}:${pad(off % 60)}`;
          const parsed = parseSyslogLine(`${stamp} ${host} kernel: nf_conntrack: table full, dropping packet`, now);
          expect(parsed).toEqual({ text: 'nf_conntrack: table full, dropping packet', wallMs: at.getTime() });
        },
      ),
      RUNS,
    );
  });
});

describe('classifyMessage', () => {
  it('gives a valid event or undefined for any text, and mightMatter never hides one', () => {
    fc.assert(
      fc.property(message, (text) => {
        const event = classifyMessage(text);
        checkEvent(event);
        if (event !== undefined) expect(mightMatter(text)).toBe(true);
      }),
      RUNS,
    );
  });

  it('mightMatter on the latin1 reading of a record, as the kmsg reader pre-filters it, agrees with mightMatter on its UTF-8 text', () => {
    // The needles are ASCII: a byte of theirs is never part of a UTF-8 sequence, so
    // one character per byte finds them exactly where the decoded text has them.
    const bytes = fc.oneof(
      fc.string({ maxLength: 40 }).map((s) => Buffer.from(s)),
      fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    );
    fc.assert(
      fc.property(bytes, message, bytes, (before, text, after) => {
        const record = Buffer.concat([before, Buffer.from(text), after]);
        expect(mightMatter(record.toString('latin1'))).toBe(mightMatter(record.toString('utf8')));
        if (mightMatter(text)) expect(mightMatter(record.toString('latin1'))).toBe(true);
      }),
      RUNS,
    );
  });

  it('finds every drop message, with its namespace, after any prefix a source puts in front', () => {
    const prefix = fc.constantFrom('', 'kernel: ', '<4>', '[  152.332874] ', 'Kernel:', ' ', '\t');
    const head = fc.constantFrom('nf_conntrack: ', 'ip_conntrack: ', 'nf_conntrack: nf_conntrack: ', 'NF_CONNTRACK:  ');
    fc.assert(
      fc.property(
        prefix,
        head,
        fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
        fc.string({ maxLength: 30 }),
        (p, h, netns, tail) => {
          const text = `${p}${h}table full${netns === undefined ? '' : ` in netns ${netns}`}, dropping packet${tail}`;
          expect(classifyMessage(text)).toEqual(netns === undefined ? { kind: 'table-full' } : { kind: 'table-full', netns });
        },
      ),
      RUNS,
    );
  });

  it('reads the count of every suppression message', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z_]{1,24}$/),
        fc.integer({ min: 0, max: 999_999_999_999_999 }),
        fc.constantFrom('callbacks', 'messages'),
        (name, count, what) => {
          expect(classifyMessage(`${name}: ${count} ${what} suppressed`)).toEqual({ kind: 'suppressed', count });
        },
      ),
      RUNS,
    );
  });
});

describe('line scanners', () => {
  const visitedBy = (chunks: Uint8Array[]): string[] => {
    const seen: string[] = [];
    const scanner = new LogScanner((l) => seen.push(l));
    for (const c of chunks) scanner.push(c);
    scanner.end();
    return seen;
  };
  const logText = fc.oneof(
    fc
      .array(
        fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom(...LOG_LINES) },
          { weight: 2, arbitrary: line },
          { weight: 1, arbitrary: garbage },
        ),
        { maxLength: 40 },
      )
      .map((l) => l.join('\n')),
    hostileText(LOGS, logToken),
  );

  it('LogScanner sees the same lines however the bytes are cut, and the same as forEachCandidateLine', () => {
    fc.assert(
      fc.property(logText, fc.boolean(), fc.array(fc.nat(), { maxLength: 12 }), (text, latin1, cuts) => {
        const bytes = Buffer.from(text, latin1 ? 'latin1' : 'utf8');
        const whole = visitedBy([bytes]);
        expect(visitedBy(chunked(bytes, cuts))).toEqual(whole);
        const expected: string[] = [];
        forEachCandidateLine(bytes.toString('utf8'), (l) => expected.push(l));
        expect(whole).toEqual(expected);
        for (const l of whole) expect(mightMatter(l)).toBe(true);
      }),
      RUNS,
    );
  });

  it('LogScanner skips a line longer than 1 MiB whole, however the bytes are cut', () => {
    // The documented limit: "a line longer than 1 MiB is skipped whole". A line that
    // arrives inside one chunk must not be treated differently from one cut across
    // several (the file reader uses 128 KiB chunks, a pipe reader whatever it gets).
    const MiB = 1 << 20;
    fc.assert(
      fc.property(fc.integer({ min: MiB - 2, max: MiB + 2 }), fc.constantFrom(4096, 65536, 128 * 1024, 4 * MiB), (length, chunkSize) => {
        const needle = 'nf_conntrack: table full, dropping packet';
        const long = Buffer.alloc(length, 0x61);
        long.write(needle, 0, 'latin1');
        const last = `kernel: ${needle}`;
        const bytes = Buffer.concat([Buffer.from('first line\n'), long, Buffer.from(`\n${last}\n`)]);
        const chunks: Uint8Array[] = [];
        for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(bytes.subarray(at, at + chunkSize));
        const seen = visitedBy(chunks);
        expect(seen.map((l) => l.length)).toEqual(length > MiB ? [last.length] : [length, last.length]);
      }),
      { numRuns: 20, examples: [[MiB + 1, 4 * MiB]] },
    );
  });
});
