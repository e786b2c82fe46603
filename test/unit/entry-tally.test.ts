import { describe, expect, it } from 'vitest';
import { parseEntryLine } from '../../src/parse/conntrack-entry-line';
import { EntryTally, type TallySummary } from '../../src/parse/entry-tally';
import { FILES, readBytes, readLines, TRAILER } from '../support/entry-samples';

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 4294967296;
  };
}

function tallyOf(bytes: Uint8Array, options?: { top?: number; sketchCapacity?: number }, chunks: number[] = []): EntryTally {
  const tally = new EntryTally(options);
  let from = 0;
  for (const at of chunks) {
    tally.push(bytes.subarray(from, at));
    from = at;
  }
  tally.push(bytes.subarray(from));
  tally.end();
  return tally;
}

const summaryOf = (bytes: Uint8Array, top = 10): TallySummary => tallyOf(bytes, { top }).summary();

const udpLine = (dst: string, dport = 53): string =>
  `ipv4     2 udp      17 29 src=10.9.0.1 dst=${dst} sport=40000 dport=${dport} src=${dst} dst=10.9.0.1 sport=${dport} dport=40000 mark=0 zone=0 use=2\n`;

/** The summary computed the slow way, from parseEntryLine, for comparison. */
function reference(text: string, top: number): Omit<TallySummary, 'truncated'> {
  const count = (record: Record<string, number>, key: string): void => {
    record[key] = (record[key] ?? 0) + 1;
  };
  const summary = {
    entries: 0,
    skipped: 0,
    unreplied: 0,
    assured: 0,
    offloaded: 0,
    byProtocol: {} as Record<string, number>,
    tcpStates: {} as Record<string, number>,
    unrepliedByProtocol: {} as Record<string, number>,
  };
  const ports = new Map<string, { protocol: string; port: number; count: number }>();
  const destinations = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.trim() === TRAILER) continue;
    const entry = parseEntryLine(line);
    if (!entry) {
      summary.skipped += 1;
      continue;
    }
    summary.entries += 1;
    count(summary.byProtocol, entry.protocol);
    if (entry.unreplied) {
      summary.unreplied += 1;
      count(summary.unrepliedByProtocol, entry.protocol);
    }
    if (entry.assured) summary.assured += 1;
    if (entry.offload) summary.offloaded += 1;
    if (entry.protocol === 'tcp' && entry.state !== undefined) count(summary.tcpStates, entry.state);
    if (entry.dport !== undefined) {
      const key = `${entry.protocol}/${entry.dport}`;
      const seen = ports.get(key) ?? { protocol: entry.protocol, port: entry.dport, count: 0 };
      seen.count += 1;
      ports.set(key, seen);
    }
    destinations.set(entry.dst, (destinations.get(entry.dst) ?? 0) + 1);
  }
  const topPorts = [...ports.values()]
    .sort((a, b) => b.count - a.count || (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : a.port - b.port))
    .slice(0, top);
  const topDestinations = [...destinations]
    .map(([address, n]) => ({ address, count: n, error: 0 }))
    .sort((a, b) => b.count - a.count || (a.address < b.address ? -1 : 1))
    .slice(0, top);
  return { ...summary, topPorts, topDestinations };
}

describe('EntryTally: the samples', () => {
  it('sums up /proc/net/nf_conntrack on 6.18', () => {
    expect(summaryOf(readBytes('proc-6.18.txt'), 7)).toEqual({
      entries: 34,
      skipped: 0,
      byProtocol: { udp: 12, tcp: 16, icmpv6: 1, icmp: 2, sctp: 1, gre: 1, unknown: 1 },
      // The offloaded TCP entry has no state, and SCTP's ESTABLISHED is not TCP's.
      tcpStates: { ESTABLISHED: 7, TIME_WAIT: 4, CLOSE: 2, SYN_SENT: 2 },
      unreplied: 8,
      assured: 18,
      offloaded: 3,
      unrepliedByProtocol: { udp: 5, tcp: 2, icmp: 1 },
      topPorts: [
        { protocol: 'tcp', port: 7000, count: 6 },
        { protocol: 'tcp', port: 7001, count: 4 },
        { protocol: 'udp', port: 5300, count: 4 },
        { protocol: 'tcp', port: 9, count: 2 },
        { protocol: 'tcp', port: 443, count: 2 },
        { protocol: 'udp', port: 53, count: 2 },
        { protocol: 'udp', port: 4500, count: 2 },
      ],
      topDestinations: [
        { address: '127.0.0.1', count: 13, error: 0 },
        { address: '::1', count: 10, error: 0 },
        { address: '10.0.0.80', count: 1, error: 0 },
        { address: '10.0.0.99', count: 1, error: 0 },
        { address: '10.1.0.9', count: 1, error: 0 },
        { address: '10.2.0.2', count: 1, error: 0 },
        { address: '10.3.0.2', count: 1, error: 0 },
      ],
      truncated: false,
    });
  });

  it('sums up /proc/net/ip_conntrack on 2.6.18', () => {
    expect(summaryOf(readBytes('ip_conntrack-2.6.18.txt'), 3)).toEqual({
      entries: 8,
      skipped: 0,
      byProtocol: { tcp: 4, udp: 2, icmp: 1, unknown: 1 },
      tcpStates: { ESTABLISHED: 1, TIME_WAIT: 2, SYN_SENT: 1 },
      unreplied: 2,
      assured: 4,
      offloaded: 0,
      unrepliedByProtocol: { tcp: 1, udp: 1 },
      topPorts: [
        { protocol: 'tcp', port: 6379, count: 2 },
        { protocol: 'tcp', port: 22, count: 1 },
        { protocol: 'tcp', port: 443, count: 1 },
      ],
      topDestinations: [
        { address: '10.0.0.1', count: 2, error: 0 },
        { address: '10.0.0.20', count: 2, error: 0 },
        { address: '10.0.0.123', count: 1, error: 0 },
      ],
      truncated: false,
    });
  });

  it('does not count the conntrack-tools trailer as a skipped line, and gives /proc and conntrack -L the same summary', () => {
    const listed = summaryOf(readBytes('conntrack-L-1.4.7.txt'));
    expect(listed.entries).toBe(23);
    expect(listed.skipped).toBe(0);
    const proc = summaryOf(Buffer.from(readLines('proc-6.18.txt').slice(0, 23).join('\n')));
    expect(listed).toEqual(proc);
    expect(summaryOf(readBytes('conntrack-L-extended-1.4.7.txt'))).toEqual(proc);
  });

  it.each(FILES)('%s: the same numbers as parseEntryLine line by line', (name) => {
    const bytes = readBytes(name);
    expect(summaryOf(bytes, 1000)).toEqual({ ...reference(bytes.toString('utf8'), 1000), truncated: false });
  });
});

describe('EntryTally: chunks', () => {
  // Small enough to split at every byte: each form once, a multi-byte character, CRLF,
  // blank and unparsable lines, and a last line cut before its reply tuple, with no newline.
  const proc = readLines('proc-6.18.txt');
  const rhel5 = readLines('ip_conntrack-2.6.18.txt');
  const sample = Buffer.from(
    [
      ...[1, 2, 7, 14, 18, 24, 28, 34].map((n) => proc[n - 1] as string),
      '',
      '   ',
      `${(readLines('proc-old-2.6.32.txt')[0] as string).replace('secmark=0', 'secctx=système_u:rôle')}\r`,
      'not an entry',
      ...rhel5.slice(0, 2),
      (rhel5[4] as string).slice(0, 60),
    ].join('\n'),
  );
  const whole = summaryOf(sample);

  it('the sample holds what the test means it to', () => {
    expect(whole).toMatchObject({ entries: 8 + 1 + 2, skipped: 2, unreplied: 4, assured: 4, offloaded: 2 });
    expect(sample.includes(Buffer.from('è'))).toBe(true);
  });

  it('gives the same summary however the bytes are split in two', () => {
    for (let at = 0; at <= sample.length; at += 1) {
      expect(tallyOf(sample, { top: 10 }, [at]).summary(), `split at ${at}`).toEqual(whole);
    }
  });

  it('gives the same summary one byte at a time, and in random pieces', () => {
    const tally = new EntryTally({ top: 10 });
    for (let i = 0; i < sample.length; i += 1) tally.push(sample.subarray(i, i + 1));
    tally.end();
    expect(tally.summary()).toEqual(whole);
    const next = random(7);
    for (let trial = 0; trial < 100; trial += 1) {
      const cuts = Array.from({ length: 1 + Math.floor(next() * 20) }, () => Math.floor(next() * sample.length)).sort((a, b) => a - b);
      expect(tallyOf(sample, { top: 10 }, cuts).summary(), `cuts ${cuts.join(',')}`).toEqual(whole);
    }
  });

  it('copies what it keeps, so the caller may reuse its read buffer', () => {
    const tally = new EntryTally({ top: 10 });
    const buffer = Buffer.alloc(100);
    for (let from = 0; from < sample.length; from += 100) {
      const n = sample.copy(buffer, 0, from, from + 100);
      tally.push(buffer.subarray(0, n));
      buffer.fill(0x41);
    }
    tally.end();
    expect(tally.summary()).toEqual(whole);
  });

  it('takes any kind of byte view', () => {
    const tally = new EntryTally({ top: 10 });
    tally.push(new Uint8Array(sample.buffer.slice(sample.byteOffset, sample.byteOffset + sample.length)));
    tally.end();
    expect(tally.summary()).toEqual(whole);
  });
});

describe('EntryTally: destinations (Space-Saving sketch)', () => {
  /** A stream with known counts: `heavy` addresses with the given counts, then noise over `spread` addresses. */
  function stream(
    heavy: number[],
    noise: number,
    spread: number,
    order: 'shuffled' | 'heavy-last',
    seed: number,
  ): { text: string; truth: Map<string, number> } {
    const next = random(seed);
    const keys: string[] = [];
    heavy.forEach((n, i) => {
      for (let k = 0; k < n; k += 1) keys.push(`192.0.2.${i + 1}`);
    });
    const noiseKeys: string[] = [];
    for (let k = 0; k < noise; k += 1) noiseKeys.push(`10.${Math.floor(next() * spread) >> 8}.${Math.floor(next() * spread) & 255}.1`);
    let all: string[];
    if (order === 'shuffled') {
      all = [...keys, ...noiseKeys];
      for (let i = all.length - 1; i > 0; i -= 1) {
        const j = Math.floor(next() * (i + 1));
        [all[i], all[j]] = [all[j] as string, all[i] as string];
      }
    } else {
      all = [...noiseKeys, ...keys];
    }
    const truth = new Map<string, number>();
    for (const key of all) truth.set(key, (truth.get(key) ?? 0) + 1);
    return { text: all.map((key) => udpLine(key)).join(''), truth };
  }

  it.each(['shuffled', 'heavy-last'] as const)('keeps every address over n/capacity, with true bounds (%s)', (order) => {
    const capacity = 32;
    const { text, truth } = stream([1500, 900, 700, 400], 16_000, 4000, order, order === 'shuffled' ? 3 : 4);
    const n = [...truth.values()].reduce((a, b) => a + b, 0);
    const summary = tallyOf(Buffer.from(text), { sketchCapacity: capacity, top: capacity }).summary();
    expect(summary.entries).toBe(n);
    const reported = new Map(summary.topDestinations.map((d) => [d.address, d]));
    for (const [address, count] of truth) {
      if (count > n / capacity) expect(reported.has(address), `${address} (${count} of ${n})`).toBe(true);
    }
    for (const { address, count, error } of summary.topDestinations) {
      const real = truth.get(address) ?? 0;
      expect(count, address).toBeGreaterThanOrEqual(real);
      expect(count - error, address).toBeLessThanOrEqual(real);
      expect(error).toBeLessThanOrEqual(Math.floor(n / capacity));
    }
    // Space-Saving's invariant: the counts of a full sketch add up to the stream's length.
    expect(summary.topDestinations.reduce((sum, d) => sum + d.count, 0)).toBe(n);
    expect(summary.topDestinations[0]?.address).toBe('192.0.2.1');
  });

  it('is exact while there are no more addresses than slots', () => {
    const { text, truth } = stream([30, 20, 10], 200, 8, 'shuffled', 5);
    const summary = tallyOf(Buffer.from(text), { sketchCapacity: 64, top: 64 }).summary();
    expect(summary.topDestinations.every((d) => d.error === 0 && d.count === truth.get(d.address))).toBe(true);
    expect(summary.topDestinations).toHaveLength(truth.size);
  });

  it('counts one IPv6 host once whichever way its address is spelled', () => {
    const full = '2001:0db8:0000:0000:0000:0000:0000:0001';
    const text = [udpLine(full), udpLine('2001:db8::1'), udpLine(full)].join('').replace(/ipv4/g, 'ipv6');
    expect(tallyOf(Buffer.from(text)).summary().topDestinations).toEqual([{ address: '2001:db8::1', count: 3, error: 0 }]);
  });
});

describe('EntryTally: ports', () => {
  it('ranks destination ports exactly, over all protocols', () => {
    const next = random(11);
    const protocols: Array<[string, number]> = [
      ['tcp', 6],
      ['udp', 17],
      ['sctp', 132],
    ];
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i += 1) {
      const [name, number] = protocols[Math.floor(next() * 3)] as [string, number];
      // Few ports, so that counts are large and ties common.
      const port = Math.floor(Math.pow(next(), 2) * 300) * 200;
      lines.push(
        `ipv4     2 ${name.padEnd(8)} ${number} 30 src=10.0.0.1 dst=10.0.0.2 sport=1234 dport=${port} src=10.0.0.2 dst=10.0.0.1 sport=${port} dport=1234 mark=0 zone=0 use=2`,
      );
    }
    const text = lines.join('\n');
    expect(summaryOf(Buffer.from(text), 50).topPorts).toEqual(reference(text, 50).topPorts);
    expect(summaryOf(Buffer.from(text), 50).topPorts).toHaveLength(50);
  });

  it('counts ports 0 and 65535', () => {
    const text = udpLine('10.0.0.1', 0) + udpLine('10.0.0.1', 65535) + udpLine('10.0.0.1', 65535);
    expect(summaryOf(Buffer.from(text)).topPorts).toEqual([
      { protocol: 'udp', port: 65535, count: 2 },
      { protocol: 'udp', port: 0, count: 1 },
    ]);
  });

  it('summary(top) overrides the constructor, and top 0 lists nothing', () => {
    const tally = tallyOf(readBytes('proc-6.18.txt'), { top: 2 });
    expect(tally.summary().topPorts).toHaveLength(2);
    expect(tally.summary().topDestinations).toHaveLength(2);
    expect(tally.summary(4).topPorts).toHaveLength(4);
    expect(tally.summary(0)).toMatchObject({ topPorts: [], topDestinations: [] });
    expect(new EntryTally().summary()).toMatchObject({ entries: 0, skipped: 0, topPorts: [], topDestinations: [], truncated: false });
  });
});

describe('EntryTally: garbage', () => {
  it('skips a line over 1 MiB, within a chunk or across many, and goes on', () => {
    const good = readLines('proc-6.18.txt')[6] as string;
    const long = `${good} ${'x'.repeat(3 << 20)}\n${good}\n`;
    const oneChunk = summaryOf(Buffer.from(long));
    expect(oneChunk).toMatchObject({ entries: 1, skipped: 1 });
    const tally = new EntryTally();
    const bytes = Buffer.from(long);
    for (let at = 0; at < bytes.length; at += 65536) tally.push(bytes.subarray(at, at + 65536));
    tally.end();
    expect(tally.summary()).toEqual(oneChunk);
    // And a line of exactly the limit is read.
    const padded = `${good}${' '.repeat((1 << 20) - good.length)}\n`;
    expect(summaryOf(Buffer.from(padded))).toMatchObject({ entries: 1, skipped: 0 });
  });

  it('counts lines without a space as skipped, however many share a chunk', () => {
    const text = `${'xx\n'.repeat(50_000)}a b\n${readLines('proc-6.18.txt')[6] as string}\n`;
    expect(summaryOf(Buffer.from(text))).toMatchObject({ entries: 1, skipped: 50_001 });
  });

  it('ignores what is not bytes', () => {
    const tally = new EntryTally();
    for (const input of [undefined, null, 'text', 42, {}]) expect(() => tally.push(input as unknown as Uint8Array)).not.toThrow();
    expect(tally.summary()).toMatchObject({ entries: 0, skipped: 0 });
  });

  it('tolerates options that make no sense', () => {
    for (const options of [
      { top: -1 },
      { top: Number.NaN },
      { sketchCapacity: 0 },
      { sketchCapacity: -5 },
      { top: 1e12, sketchCapacity: 1e12 },
    ]) {
      const tally = tallyOf(readBytes('proc-6.18.txt'), options);
      expect(tally.summary().entries).toBe(34);
    }
    expect(tallyOf(readBytes('proc-6.18.txt'), { sketchCapacity: 1 }).summary().topDestinations).toHaveLength(1);
  });

  it('keeps the set of protocol names bounded: names past 64 are counted as (other)', () => {
    const lines: string[] = [];
    for (let i = 0; i < 100; i += 1)
      lines.push(`ipv4     2 proto${i} 99 30 src=10.0.0.1 dst=10.0.0.2 src=10.0.0.2 dst=10.0.0.1 mark=0 use=2`);
    const summary = summaryOf(Buffer.from(lines.join('\n')));
    expect(summary.entries).toBe(100);
    expect(Object.keys(summary.byProtocol)).toHaveLength(65);
    expect(summary.byProtocol['(other)']).toBe(36);
    expect(Object.values(summary.byProtocol).reduce((a, b) => a + b, 0)).toBe(100);
  });
});

describe('EntryTally: stop()', () => {
  it('marks the summary as truncated and drops the line the deadline cut', () => {
    const bytes = readBytes('proc-6.18.txt');
    const cut = bytes.indexOf(10, 1000) + 50;
    const tally = new EntryTally();
    tally.push(bytes.subarray(0, cut));
    expect(tally.summary().truncated).toBe(false);
    tally.stop();
    const summary = tally.summary();
    expect(summary.truncated).toBe(true);
    expect(summary.skipped).toBe(0);
    expect(summary.entries).toBe(bytes.subarray(0, cut).toString('latin1').split('\n').length - 1);
    // Input after the deadline is ignored.
    tally.push(bytes.subarray(cut));
    tally.end();
    expect(tally.summary()).toEqual(summary);
  });
});
