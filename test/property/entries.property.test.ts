/**
 * Entry lines of the conntrack table (/proc/net/nf_conntrack, ip_conntrack,
 * `conntrack -L`) and the streaming EntryTally: any line parses to a well-formed
 * entry or to nothing, every printed entry reads back, and the tally gives the
 * same summary however its bytes are cut, counting exactly the lines
 * parseEntryLine accepts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEntryLine, type ConntrackEntry } from '../../src/parse/conntrack-entry-line';
import { EntryTally, type TallySummary } from '../../src/parse/entry-tally';
import { compactAddress } from '../../src/parse/ipv6-text';
import { chunked, fixtureTexts, hostileText, isCount, randomBytes, snippet } from './support/hostile';

const RUNS = { numRuns: 500, interruptAfterTimeLimit: 8_000 };
const ENTRIES = fixtureTexts('entries');
const ENTRY_LINES = [...new Set(ENTRIES.flatMap((t) => t.split('\n')))].filter((l) => l !== '');

const entryToken = fc.oneof(
  fc.constantFrom(
    'ipv4',
    'ipv6',
    '2',
    '10',
    'tcp',
    'udp',
    'icmp',
    '6',
    '17',
    '1',
    '117',
    'TIME_WAIT',
    'ESTABLISHED',
    '[UNREPLIED]',
    '[ASSURED]',
    '[OFFLOAD]',
    'use=1',
    'mark=0',
    'zone=0',
  ),
  fc.stringMatching(/^(src|dst)=[0-9a-f.:]{0,45}$/),
  fc.stringMatching(/^(sport|dport|zone|mark|zone-orig|zone-reply)=-?\d{0,12}$/),
  fc.stringMatching(/^-?\d{1,22}$/),
  snippet,
);
const line = hostileText(ENTRY_LINES, entryToken);

function checkEntry(e: ConntrackEntry | undefined): void {
  if (e === undefined) return;
  expect(e.protocol).toMatch(/^[a-z][a-z0-9_]{0,15}$/);
  expect(typeof e.l3).toBe('string');
  expect(e.src.length).toBeGreaterThan(0);
  expect(e.dst.length).toBeGreaterThan(0);
  expect(e.src).toMatch(/^[0-9a-fA-F.:]+$/);
  expect(e.dst).toMatch(/^[0-9a-fA-F.:]+$/);
  for (const port of [e.sport, e.dport, e.zone])
    if (port !== undefined) expect(Number.isInteger(port) && port >= 0 && port <= 0xffff).toBe(true);
  if (e.mark !== undefined) expect(Number.isInteger(e.mark) && e.mark >= 0 && e.mark <= 0xffffffff).toBe(true);
  if (e.timeout !== undefined) expect(isCount(e.timeout)).toBe(true);
  if (e.state !== undefined) expect(e.state).toMatch(/^[A-Z][A-Z0-9_]{0,31}$/);
  for (const flag of [e.unreplied, e.assured, e.offload]) expect(typeof flag).toBe('boolean');
}

describe('parseEntryLine', () => {
  it('gives a well-formed entry or undefined for any line', () => {
    fc.assert(
      fc.property(line, (text) => {
        checkEntry(parseEntryLine(text));
      }),
      RUNS,
    );
  });

  const ipv4 = fc.ipV4();
  const words = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 });
  /** The kernel's %pI6: eight groups of four digits. */
  const kernelIpv6 = (w: readonly number[]) => w.map((x) => x.toString(16).padStart(4, '0')).join(':');
  const entry = fc.record({
    kernel: fc.boolean(),
    v6: fc.boolean(),
    a4: ipv4,
    b4: ipv4,
    a6: words,
    b6: fc.oneof(words, fc.constant<number[]>([0, 0, 0, 0, 0, 0, 0, 1]), fc.constant<number[]>([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001])),
    proto: fc.constantFrom(['tcp', 6, true], ['udp', 17, false], ['udplite', 136, false], ['sctp', 132, true], ['dccp', 33, true]),
    timeout: fc.option(fc.integer({ min: 0, max: 2 ** 31 }), { nil: undefined }),
    state: fc.constantFrom('ESTABLISHED', 'TIME_WAIT', 'SYN_SENT', 'SYN_SENT2', 'CLOSE_WAIT', 'COOKIE_ECHOED'),
    sport: fc.integer({ min: 0, max: 0xffff }),
    dport: fc.integer({ min: 0, max: 0xffff }),
    unreplied: fc.boolean(),
    assured: fc.boolean(),
    mark: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
    zone: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
    gap: fc.constantFrom(' ', '  ', '      '),
  });
  type Gen = typeof entry extends fc.Arbitrary<infer T> ? T : never;

  /** The line as the source prints it, and what parseEntryLine must read from it. */
  function printed(g: Gen): { text: string; expected: ConntrackEntry } {
    const [protocol, number, stateful] = g.proto as [string, number, boolean];
    const offload = g.timeout === undefined;
    const src = g.v6 ? (g.kernel ? kernelIpv6(g.a6) : compactAddress(kernelIpv6(g.a6))) : g.a4;
    const dst = g.v6 ? (g.kernel ? kernelIpv6(g.b6) : compactAddress(kernelIpv6(g.b6))) : g.b4;
    const head = g.kernel ? `${g.v6 ? 'ipv6' : 'ipv4'}${g.gap}${g.v6 ? 10 : 2} ` : '';
    const state = stateful && !offload ? `${g.state} ` : '';
    const text =
      `${head}${protocol}${g.gap}${number} ${offload ? '' : `${g.timeout} `}${state}` +
      `src=${src} dst=${dst} sport=${g.sport} dport=${g.dport} ${g.unreplied ? '[UNREPLIED] ' : ''}` +
      `src=${dst} dst=${src} sport=${g.dport} dport=${g.sport} ${offload ? '[OFFLOAD] ' : g.assured ? '[ASSURED] ' : ''}` +
      `${g.mark === undefined ? '' : `mark=${g.mark} `}${g.zone === undefined ? '' : `zone=${g.zone} `}use=2`;
    const expected: ConntrackEntry = {
      l3: g.v6 ? 'ipv6' : 'ipv4',
      protocol,
      src: g.v6 ? compactAddress(kernelIpv6(g.a6)) : g.a4,
      dst: g.v6 ? compactAddress(kernelIpv6(g.b6)) : g.b4,
      sport: g.sport,
      dport: g.dport,
      unreplied: g.unreplied,
      assured: !offload && g.assured,
      offload,
    };
    if (!offload) expected.timeout = g.timeout;
    if (stateful && !offload) expected.state = g.state;
    if (g.mark !== undefined) expected.mark = g.mark;
    if (g.zone !== undefined) expected.zone = g.zone;
    return { text, expected };
  }

  it('reads back any entry as the kernel or conntrack -L prints it', () => {
    fc.assert(
      fc.property(entry, fc.constantFrom('', '\n', '\r\n'), (g, eol) => {
        const { text, expected } = printed(g);
        const parsed = parseEntryLine(text + eol);
        checkEntry(parsed);
        expect(parsed).toEqual(expected);
      }),
      RUNS,
    );
  });

  it('refuses an entry cut short before its reply tuple', () => {
    fc.assert(
      fc.property(entry, fc.nat(), (g, n) => {
        const { text } = printed(g);
        const reply = text.indexOf(' src=', text.indexOf('src=') + 1);
        expect(parseEntryLine(text.slice(0, n % (reply + 1)))).toBeUndefined();
      }),
      RUNS,
    );
  });

  it('compactAddress spells the address the kernel printed, as inet_ntop does', () => {
    fc.assert(
      fc.property(fc.oneof(words, fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff), { minLength: 8, maxLength: 8 })), (w) => {
        const full = kernelIpv6(w);
        const compact = compactAddress(full);
        // The WHATWG URL parser is an independent IPv6 reader: both spellings must be one address.
        expect(new URL(`http://[${compact}]/`).hostname).toBe(new URL(`http://[${full}]/`).hostname);
        // Without a dotted quad, inet_ntop and the URL serializer agree (RFC 5952).
        if (!compact.includes('.')) expect(`[${compact}]`).toBe(new URL(`http://[${full}]/`).hostname);
      }),
      RUNS,
    );
  });
});

describe('EntryTally', () => {
  const tallyOf = (chunks: Uint8Array[]): TallySummary => {
    const tally = new EntryTally({ top: 5, sketchCapacity: 8 });
    for (const c of chunks) tally.push(c);
    tally.end();
    return tally.summary();
  };

  const table = fc.oneof(
    fc
      .array(
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...ENTRY_LINES) },
          { weight: 2, arbitrary: line },
          { weight: 1, arbitrary: fc.constantFrom('', ' ', '\r', 'conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.') },
        ),
        {
          maxLength: 60,
        },
      )
      .map((l) => l.join('\n')),
    hostileText(ENTRIES, entryToken),
  );

  it('gives the same summary however the bytes are cut', () => {
    fc.assert(
      fc.property(table, fc.boolean(), fc.array(fc.nat(), { maxLength: 16 }), (text, latin1, cuts) => {
        const bytes = Buffer.from(text, latin1 ? 'latin1' : 'utf8');
        expect(tallyOf(chunked(bytes, cuts))).toEqual(tallyOf([bytes]));
      }),
      RUNS,
    );
  });

  it('counts exactly the lines parseEntryLine accepts, with the same protocols, states and flags', () => {
    fc.assert(
      fc.property(table, fc.boolean(), (text, latin1) => {
        const bytes = Buffer.from(text, latin1 ? 'latin1' : 'utf8');
        const summary = tallyOf([bytes]);
        const lines = bytes.toString('latin1').split('\n');
        const parsed = lines.map((l) => parseEntryLine(l)).filter((e): e is ConntrackEntry => e !== undefined);
        const count = (f: (e: ConntrackEntry) => boolean) => parsed.filter(f).length;
        const by = (key: (e: ConntrackEntry) => string | undefined, only: (e: ConntrackEntry) => boolean = () => true) => {
          // A Map: a protocol may be called `constructor` or `__proto__`.
          const out = new Map<string, number>();
          for (const e of parsed) {
            const k = key(e);
            if (k !== undefined && only(e)) out.set(k, (out.get(k) ?? 0) + 1);
          }
          return Object.fromEntries(out);
        };
        expect(summary.entries).toBe(parsed.length);
        expect(summary.unreplied).toBe(count((e) => e.unreplied));
        expect(summary.assured).toBe(count((e) => e.assured));
        expect(summary.offloaded).toBe(count((e) => e.offload));
        expect({ ...summary.byProtocol }).toEqual(by((e) => e.protocol));
        expect({ ...summary.unrepliedByProtocol }).toEqual(
          by(
            (e) => e.protocol,
            (e) => e.unreplied,
          ),
        );
        expect({ ...summary.tcpStates }).toEqual(by((e) => (e.protocol === 'tcp' ? e.state : undefined)));
        const trailer = /^conntrack v[0-9.]{1,20} \(conntrack-tools\): \d{1,20} flow entr(?:y|ies) ha(?:s|ve) been shown\.$/;
        // Blank lines and the trailer are not counted. Whether a line of other white
        // space (\v, \f, U+00A0) is blank is left open: it must count as one or the other.
        const rejected = lines.filter((l) => parseEntryLine(l) === undefined);
        const atLeast = rejected.filter((l) => l.trim() !== '' && !trailer.test(l.trim())).length;
        const atMost = rejected.filter((l) => !/^[ \t\r]*$/.test(l)).length;
        expect(summary.skipped).toBeGreaterThanOrEqual(atLeast);
        expect(summary.skipped).toBeLessThanOrEqual(atMost);
        expect(summary.truncated).toBe(false);
        const ports = summary.topPorts;
        for (const p of ports) expect(p.count).toBe(count((e) => e.protocol === p.protocol && e.dport === p.port));
        for (const d of summary.topDestinations) {
          const exact = count((e) => e.dst === d.address);
          expect(d.count).toBeGreaterThanOrEqual(exact);
          expect(d.count - d.error).toBeLessThanOrEqual(exact);
        }
      }),
      RUNS,
    );
  });

  it('skips a line longer than 1 MiB whole and still counts the rest, however it is cut', () => {
    const MiB = 1 << 20;
    const good = ENTRY_LINES[0] as string;
    fc.assert(
      fc.property(fc.integer({ min: MiB - 2, max: MiB + 2 }), fc.constantFrom(4096, 128 * 1024, 4 * MiB), (length, chunkSize) => {
        const long = Buffer.alloc(length, 0x20);
        long.write(good, 0, 'latin1');
        const bytes = Buffer.concat([Buffer.from(`${good}\n`), long, Buffer.from(`\n${good}\n`)]);
        const chunks: Uint8Array[] = [];
        for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(bytes.subarray(at, at + chunkSize));
        const summary = tallyOf(chunks);
        expect(summary.entries).toBe(length > MiB ? 2 : 3);
        expect(summary.skipped).toBe(length > MiB ? 1 : 0);
      }),
      { numRuns: 15 },
    );
  });

  it('reads random bytes, up to 1 MiB in the 64 KiB chunks of the reader, as lines parseEntryLine refuses', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 1 << 20 }), (seed, length) => {
        const bytes = randomBytes(seed, length);
        const chunks: Uint8Array[] = [];
        for (let at = 0; at < length; at += 65536) chunks.push(bytes.subarray(at, at + 65536));
        const summary = tallyOf(chunks);
        const lines = bytes.toString('latin1').split('\n');
        const rejected = lines.filter((l) => parseEntryLine(l) === undefined);
        expect(summary.entries).toBe(lines.length - rejected.length);
        expect(summary.skipped).toBeGreaterThanOrEqual(rejected.filter((l) => l.trim() !== '').length);
        expect(summary.skipped).toBeLessThanOrEqual(rejected.filter((l) => !/^[ \t\r]*$/.test(l)).length);
      }),
      { numRuns: 10, examples: [[13, 1 << 20]] },
    );
  });
});
