import { describe, expect, it } from 'vitest';
import { parseEntryLine, type ConntrackEntry } from '../../src/parse/conntrack-entry-line';
import { FILES, readLines, TRAILER } from '../support/entry-samples';

describe('parseEntryLine: /proc/net/nf_conntrack on 6.18 (captured)', () => {
  const lines = readLines('proc-6.18.txt');
  const line = (n: number): string => lines[n - 1] as string;

  it.each<[number, ConntrackEntry]>([
    [
      1,
      {
        l3: 'ipv4',
        protocol: 'udp',
        timeout: 27,
        src: '127.0.0.1',
        dst: '127.0.0.1',
        sport: 53190,
        dport: 53,
        unreplied: true,
        assured: false,
        offload: false,
        zone: 0,
        mark: 0,
      },
    ],
    [
      2,
      {
        l3: 'ipv6',
        protocol: 'udp',
        timeout: 27,
        src: '::1',
        dst: '::1',
        sport: 54148,
        dport: 53,
        unreplied: true,
        assured: false,
        offload: false,
        zone: 0,
        mark: 0,
      },
    ],
    [
      3,
      {
        l3: 'ipv6',
        protocol: 'udp',
        timeout: 27,
        src: '::1',
        dst: '::1',
        sport: 52963,
        dport: 5300,
        unreplied: false,
        assured: false,
        offload: false,
        zone: 0,
        mark: 0,
      },
    ],
    [
      4,
      {
        l3: 'ipv4',
        protocol: 'udp',
        timeout: 27,
        src: '127.0.0.1',
        dst: '127.0.0.1',
        sport: 34380,
        dport: 5353,
        unreplied: false,
        assured: false,
        offload: false,
        zone: 0,
        mark: 7,
      },
    ],
    [
      5,
      {
        l3: 'ipv4',
        protocol: 'udp',
        timeout: 27,
        src: '127.0.0.1',
        dst: '127.0.0.1',
        sport: 36252,
        dport: 5454,
        unreplied: true,
        assured: false,
        offload: false,
        zone: 5,
        mark: 0,
      },
    ],
    [
      6,
      {
        l3: 'ipv6',
        protocol: 'tcp',
        timeout: 431997,
        state: 'ESTABLISHED',
        src: '::1',
        dst: '::1',
        sport: 56978,
        dport: 7000,
        unreplied: false,
        assured: true,
        offload: false,
        zone: 0,
        mark: 0,
      },
    ],
    [
      7,
      {
        l3: 'ipv4',
        protocol: 'tcp',
        timeout: 116,
        state: 'TIME_WAIT',
        src: '127.0.0.1',
        dst: '127.0.0.1',
        sport: 54934,
        dport: 7001,
        unreplied: false,
        assured: true,
        offload: false,
        zone: 0,
        mark: 0,
      },
    ],
    [
      8,
      {
        l3: 'ipv4',
        protocol: 'tcp',
        timeout: 7,
        state: 'CLOSE',
        src: '127.0.0.1',
        dst: '127.0.0.1',
        sport: 40988,
        dport: 7000,
        unreplied: false,
        assured: true,
        offload: false,
        zone: 0,
        mark: 0,
      },
    ],
    [
      14,
      {
        l3: 'ipv4',
        protocol: 'tcp',
        timeout: 117,
        state: 'SYN_SENT',
        src: '127.0.0.1',
        dst: '127.0.0.1',
        sport: 57960,
        dport: 9,
        unreplied: true,
        assured: false,
        offload: false,
        zone: 0,
        mark: 0,
      },
    ],
    [
      15,
      {
        l3: 'ipv4',
        protocol: 'udp',
        timeout: 119,
        src: '127.0.0.1',
        dst: '127.0.0.1',
        sport: 41055,
        dport: 5300,
        unreplied: false,
        assured: true,
        offload: false,
        zone: 0,
        mark: 0,
      },
    ],
    [
      18,
      {
        l3: 'ipv6',
        protocol: 'icmpv6',
        timeout: 27,
        src: '::1',
        dst: '::1',
        unreplied: false,
        assured: false,
        offload: false,
        zone: 0,
        mark: 0,
      },
    ],
    [
      21,
      {
        l3: 'ipv4',
        protocol: 'icmp',
        timeout: 27,
        src: '127.0.0.1',
        dst: '127.0.0.1',
        unreplied: false,
        assured: false,
        offload: false,
        zone: 0,
        mark: 0,
      },
    ],
  ])('line %i', (n, entry) => {
    expect(parseEntryLine(line(n))).toEqual(entry);
  });
});

describe('parseEntryLine: /proc/net/nf_conntrack, constructed 6.x lines', () => {
  const lines = readLines('proc-6.18.txt');
  const line = (n: number): string => lines[n - 1] as string;

  it('[OFFLOAD] TCP: no timeout and no state, not assured as printed', () => {
    expect(parseEntryLine(line(24))).toEqual({
      l3: 'ipv4',
      protocol: 'tcp',
      src: '192.168.10.20',
      dst: '198.51.100.7',
      sport: 51514,
      dport: 443,
      unreplied: false,
      assured: false,
      offload: true,
      zone: 0,
      mark: 0,
    });
  });

  it('[HW_OFFLOAD] counts as offloaded', () => {
    expect(parseEntryLine(line(25))).toMatchObject({ protocol: 'udp', offload: true, assured: false, dport: 4500 });
    expect(parseEntryLine(line(25))).not.toHaveProperty('timeout');
  });

  it('secctx=, accounting and delta-time= are skipped; mark and zone read past them', () => {
    expect(parseEntryLine(line(26))).toEqual({
      l3: 'ipv4',
      protocol: 'tcp',
      timeout: 299,
      state: 'ESTABLISHED',
      src: '10.1.0.4',
      dst: '10.1.0.9',
      sport: 42000,
      dport: 5432,
      unreplied: false,
      assured: true,
      offload: false,
      zone: 0,
      mark: 0,
    });
    expect(parseEntryLine(line(27))).toEqual({
      l3: 'ipv4',
      protocol: 'tcp',
      timeout: 86398,
      state: 'ESTABLISHED',
      src: '10.0.0.5',
      dst: '10.0.0.80',
      sport: 33000,
      dport: 80,
      unreplied: false,
      assured: true,
      offload: false,
      zone: 12,
      mark: 4096,
    });
  });

  it('zone-orig= (a zone for one direction) is the zone', () => {
    expect(parseEntryLine(line(28))).toEqual({
      l3: 'ipv4',
      protocol: 'udp',
      timeout: 29,
      src: '10.2.0.1',
      dst: '10.2.0.2',
      sport: 5000,
      dport: 6000,
      unreplied: true,
      assured: false,
      offload: false,
      zone: 7,
      mark: 0,
    });
    expect(
      parseEntryLine(
        line(28).replace('zone-orig=7 [UNREPLIED] ', '[UNREPLIED] ').replace('dport=5000 mark=0', 'dport=5000 zone-reply=9 mark=0'),
      ),
    ).toMatchObject({ zone: 9 });
  });

  it('icmp without a reply, sctp with its state, gre keys, the generic protocol', () => {
    expect(parseEntryLine(line(29))).toEqual({
      l3: 'ipv4',
      protocol: 'icmp',
      timeout: 29,
      src: '10.0.0.5',
      dst: '10.0.0.99',
      unreplied: true,
      assured: false,
      offload: false,
      zone: 0,
      mark: 0,
    });
    expect(parseEntryLine(line(30))).toEqual({
      l3: 'ipv4',
      protocol: 'sctp',
      timeout: 204,
      state: 'ESTABLISHED',
      src: '10.3.0.1',
      dst: '10.3.0.2',
      sport: 36412,
      dport: 38412,
      unreplied: false,
      assured: true,
      offload: false,
      zone: 0,
      mark: 0,
    });
    expect(parseEntryLine(line(31))).toEqual({
      l3: 'ipv4',
      protocol: 'gre',
      timeout: 178,
      src: '10.4.0.1',
      dst: '10.4.0.2',
      unreplied: false,
      assured: true,
      offload: false,
      zone: 0,
      mark: 0,
    });
    expect(parseEntryLine(line(32))).toEqual({
      l3: 'ipv4',
      protocol: 'unknown',
      timeout: 599,
      src: '10.5.0.1',
      dst: '10.5.0.2',
      unreplied: false,
      assured: true,
      offload: false,
      zone: 0,
      mark: 0,
    });
  });

  it('IPv6 addresses come out compact, as conntrack -L prints them', () => {
    expect(parseEntryLine(line(33))).toEqual({
      l3: 'ipv6',
      protocol: 'tcp',
      timeout: 431999,
      state: 'ESTABLISHED',
      src: '2001:db8::10',
      dst: '2001:db8::1:0:0:20',
      sport: 50000,
      dport: 443,
      unreplied: false,
      assured: true,
      offload: false,
      zone: 0,
      mark: 0,
    });
    expect(parseEntryLine(line(34))).toEqual({
      l3: 'ipv6',
      protocol: 'udp',
      src: 'fd00::5',
      dst: '2001:db8::ffff:c633:6435',
      sport: 40001,
      dport: 4500,
      unreplied: false,
      assured: false,
      offload: true,
      zone: 0,
      mark: 0,
    });
  });
});

describe('parseEntryLine: conntrack -L (conntrack-tools 1.4.7, captured)', () => {
  const lines = readLines('conntrack-L-1.4.7.txt');

  it('infers l3 from the address; zone= only when not 0', () => {
    expect(parseEntryLine(lines[0] as string)).toEqual({
      l3: 'ipv4',
      protocol: 'udp',
      timeout: 27,
      src: '127.0.0.1',
      dst: '127.0.0.1',
      sport: 53190,
      dport: 53,
      unreplied: true,
      assured: false,
      offload: false,
      mark: 0,
    });
    expect(parseEntryLine(lines[1] as string)).toEqual({
      l3: 'ipv6',
      protocol: 'udp',
      timeout: 27,
      src: '::1',
      dst: '::1',
      sport: 54148,
      dport: 53,
      unreplied: true,
      assured: false,
      offload: false,
      mark: 0,
    });
    expect(parseEntryLine(lines[4] as string)).toEqual({
      l3: 'ipv4',
      protocol: 'udp',
      timeout: 27,
      src: '127.0.0.1',
      dst: '127.0.0.1',
      sport: 36252,
      dport: 5454,
      unreplied: true,
      assured: false,
      offload: false,
      zone: 5,
      mark: 0,
    });
    expect(parseEntryLine(lines[5] as string)).toEqual({
      l3: 'ipv6',
      protocol: 'tcp',
      timeout: 431997,
      state: 'ESTABLISHED',
      src: '::1',
      dst: '::1',
      sport: 56978,
      dport: 7000,
      unreplied: false,
      assured: true,
      offload: false,
      mark: 0,
    });
    expect(parseEntryLine(lines[17] as string)).toEqual({
      l3: 'ipv6',
      protocol: 'icmpv6',
      timeout: 27,
      src: '::1',
      dst: '::1',
      unreplied: false,
      assured: false,
      offload: false,
      mark: 0,
    });
  });

  it('the closing count line is not an entry', () => {
    expect(lines[lines.length - 1]).toBe(TRAILER);
    expect(parseEntryLine(TRAILER)).toBeUndefined();
  });

  it('-o extended puts the l3 columns back', () => {
    const extended = readLines('conntrack-L-extended-1.4.7.txt');
    expect(parseEntryLine(extended[1] as string)).toEqual({
      l3: 'ipv6',
      protocol: 'udp',
      timeout: 27,
      src: '::1',
      dst: '::1',
      sport: 54148,
      dport: 53,
      unreplied: true,
      assured: false,
      offload: false,
      mark: 0,
    });
  });

  it('reads every entry of the table exactly as /proc/net/nf_conntrack does, timeouts aside', () => {
    // The two were read a moment apart from the same namespace, in the same order.
    const proc = readLines('proc-6.18.txt').slice(0, 23);
    const listed = lines.slice(0, 23);
    const extended = readLines('conntrack-L-extended-1.4.7.txt');
    const comparable = (line: string): Partial<ConntrackEntry> => {
      const { timeout: _timeout, zone, ...rest } = parseEntryLine(line) as ConntrackEntry;
      // conntrack -L leaves out zone=0.
      return zone ? { ...rest, zone } : rest;
    };
    proc.forEach((line, i) => {
      expect(comparable(listed[i] as string)).toEqual(comparable(line));
      expect(comparable(extended[i] as string)).toEqual(comparable(line));
    });
  });
});

describe('parseEntryLine: older kernels', () => {
  const old = readLines('proc-old-2.6.32.txt');
  const rhel5 = readLines('ip_conntrack-2.6.18.txt');

  it('2.6.32: secmark=, every TCP state, accounting', () => {
    expect(parseEntryLine(old[0] as string)).toEqual({
      l3: 'ipv4',
      protocol: 'tcp',
      timeout: 431999,
      state: 'ESTABLISHED',
      src: '10.0.0.5',
      dst: '10.0.0.1',
      sport: 51234,
      dport: 22,
      unreplied: false,
      assured: true,
      offload: false,
      mark: 0,
    });
    expect(old.map((line) => parseEntryLine(line)?.state)).toEqual([
      'ESTABLISHED',
      'TIME_WAIT',
      'TIME_WAIT',
      'SYN_RECV',
      'SYN_SENT',
      'CLOSE_WAIT',
      'FIN_WAIT',
      'LAST_ACK',
      'CLOSE',
      'TIME_WAIT',
      'ESTABLISHED',
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      'ESTABLISHED',
      undefined,
    ]);
    expect(parseEntryLine(old[10] as string)).toMatchObject({ dport: 5672, mark: 3, assured: true });
  });

  it('2.6.32: an overdue timer printed as a negative number reads as 0 seconds left', () => {
    expect(parseEntryLine(old[9] as string)).toMatchObject({ timeout: 0, state: 'TIME_WAIT', sport: 48014 });
  });

  it("2.6.32: GRE's timeout=, stream_timeout= before the tuple", () => {
    expect(parseEntryLine(old[15] as string)).toEqual({
      l3: 'ipv4',
      protocol: 'gre',
      timeout: 178,
      src: '10.0.0.5',
      dst: '203.0.113.70',
      unreplied: false,
      assured: true,
      offload: false,
      mark: 0,
    });
  });

  it('2.6.32: IPv6 link-local and multicast, unreplied icmpv6', () => {
    expect(parseEntryLine(old[18] as string)).toEqual({
      l3: 'ipv6',
      protocol: 'icmpv6',
      timeout: 29,
      src: 'fe80::211:22ff:fe33:4455',
      dst: 'ff02::1',
      unreplied: true,
      assured: false,
      offload: false,
      mark: 0,
    });
  });

  it('2.6.18 ip_conntrack: no l3 columns, accounting after each tuple', () => {
    expect(parseEntryLine(rhel5[0] as string)).toEqual({
      l3: 'ipv4',
      protocol: 'tcp',
      timeout: 431999,
      state: 'ESTABLISHED',
      src: '10.0.0.5',
      dst: '10.0.0.1',
      sport: 51234,
      dport: 22,
      unreplied: false,
      assured: true,
      offload: false,
      mark: 0,
    });
    expect(parseEntryLine(rhel5[2] as string)).toEqual({
      l3: 'ipv4',
      protocol: 'tcp',
      timeout: 101,
      state: 'SYN_SENT',
      src: '10.0.0.5',
      dst: '192.0.2.44',
      sport: 39001,
      dport: 443,
      unreplied: true,
      assured: false,
      offload: false,
      mark: 0,
    });
    expect(parseEntryLine(rhel5[7] as string)).toEqual({
      l3: 'ipv4',
      protocol: 'unknown',
      timeout: 593,
      src: '10.0.0.5',
      dst: '203.0.113.70',
      unreplied: false,
      assured: false,
      offload: false,
      mark: 0,
    });
  });

  it('2.6.18: an overdue timer printed unsigned (near 2^64 / HZ) reads as 0', () => {
    expect(parseEntryLine(rhel5[3] as string)).toMatchObject({ timeout: 0, sport: 48015 });
  });

  it('every line of every sample is an entry, the conntrack-tools trailer aside', () => {
    for (const name of FILES) {
      for (const line of readLines(name)) {
        if (line === TRAILER) continue;
        expect(parseEntryLine(line), `${name}: ${line}`).toBeDefined();
      }
    }
  });
});

describe('parseEntryLine: what it accepts and refuses', () => {
  const good = readLines('proc-6.18.txt')[6] as string;

  it('keeps CRLF and a final newline out of the last field', () => {
    expect(parseEntryLine(`${good}\r\n`)).toEqual(parseEntryLine(good));
    expect(parseEntryLine(`${good}\n`)).toEqual(parseEntryLine(good));
  });

  it('refuses a line cut before the reply tuple', () => {
    const reply = good.indexOf('src=', good.indexOf('dport=')) + 'src=127.0.0.1 dst='.length;
    for (let end = 0; end <= reply; end += 1) expect(parseEntryLine(good.slice(0, end)), good.slice(0, end)).toBeUndefined();
    expect(parseEntryLine(good.slice(0, reply + 1))).toMatchObject({ dport: 7001, assured: false });
  });

  it.each([
    ['a port out of range', good.replace('dport=7001', 'dport=70001')],
    ['a port that is not a number', good.replace('sport=54934', 'sport=5x')],
    ['no dst= after src=', good.replace(' dst=127.0.0.1 sport=54934', ' sport=54934')],
    ['an address with other characters', good.replace('dst=127.0.0.1 sport=54934', 'dst=127.0.0.1/8 sport=54934')],
    ['a protocol number over 255', good.replace('tcp      6 ', 'tcp      600 ')],
    ['a word where the state goes, in lower case', good.replace('TIME_WAIT', 'time_wait')],
    ['an event line of conntrack -E', `    [NEW] ${good.slice(good.indexOf('tcp'))}`],
    ['tabs for separators', good.replace(/ +/g, '\t')],
  ])('refuses %s', (_why, line) => {
    expect(parseEntryLine(line)).toBeUndefined();
  });

  it('leaves out a malformed mark or zone rather than refusing the entry', () => {
    const entry = parseEntryLine(good.replace('mark=0', 'mark=x').replace('zone=0', 'zone=70000'));
    expect(entry).toMatchObject({ dport: 7001, assured: true });
    expect(entry).not.toHaveProperty('mark');
    expect(entry).not.toHaveProperty('zone');
  });

  it('gives undefined for what is not a string', () => {
    for (const input of [undefined, null, 42, {}, []]) expect(parseEntryLine(input as unknown as string)).toBeUndefined();
  });

  it('reads a line of many fields up to 1 MiB, and refuses a longer one', () => {
    expect(parseEntryLine(`${good} ${'x=y '.repeat(250_000)}`)).toMatchObject({ dport: 7001, mark: 0 });
    expect(parseEntryLine(good + ' '.repeat(2 << 20))).toBeUndefined();
  });
});
