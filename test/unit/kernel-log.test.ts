import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDmesgLine, parseJournalLine, parseKmsgRecord, parseSyslogLine, type LogRecord } from '../../src/parse/log-lines';
import { classifyMessage, mightMatter, type LogEvent } from '../../src/parse/log-message';
import { forEachCandidateLine, LogScanner } from '../../src/parse/log-scanner';
import { FIXTURES } from '../support/fixtures';

const LOGS = join(FIXTURES, 'logs');
const readLog = (name: string): string => readFileSync(join(LOGS, name), 'utf8');
const linesOf = (text: string): string[] => text.split('\n').filter((line) => line !== '');

describe('classifyMessage: drop messages of every era', () => {
  it.each([
    ['nf_conntrack: table full, dropping packet', '2.6.2x .. 4.x'],
    ['nf_conntrack: table full, dropping packet.', '2.6.2x, trailing period'],
    ['ip_conntrack: table full, dropping packet.', '2.4 .. 2.6.2x, RHEL 5'],
    ['nf_conntrack: nf_conntrack: table full, dropping packet', '4.x+, pr_fmt doubles the prefix'],
    ['kernel: nf_conntrack: table full, dropping packet', 'syslog tag left in'],
    ['<4>ip_conntrack: table full, dropping packet.', 'klogd left the level in'],
    ['xen_netfront: nf_conntrack: table full, dropping packet', 'another tag in front'],
    ['[  152.332874] nf_conntrack: table full, dropping packet', 'timestamp left in'],
    ['Kernel:ip_conntrack:table full, dropping packet.', 'seed 001: no space after the colons'],
    ['ip_conntrack:table full, Dropping packet.', 'seed 001: capital D'],
    ['nf_conntrack:  table full,  dropping packet', 'doubled spaces'],
    ['nf_conntrack: table full, dropping packetThese drops were caused', 'seed 002: text glued on'],
  ])('%j (%s)', (text) => {
    expect(classifyMessage(text)).toEqual({ kind: 'table-full' });
  });

  it('names the namespace (6.17+)', () => {
    expect(classifyMessage('nf_conntrack: nf_conntrack: table full in netns 4026532315, dropping packet')).toEqual({
      kind: 'table-full',
      netns: 4026532315,
    });
    expect(classifyMessage('nf_conntrack: table full in netns 1, dropping packet')).toEqual({ kind: 'table-full', netns: 1 });
  });

  it('keeps a drop whose namespace number is corrupt, without the number', () => {
    expect(classifyMessage('nf_conntrack: nf_conntrack: table full in netns 99999999999999999999, dropping packet')).toEqual({
      kind: 'table-full',
    });
  });

  it('finds the drop in a mangled line that glues several messages together (seed 001)', () => {
    const seed =
      'Kernel:ip_conntrack:table full, dropping packet.kernel:printk:1 messages suppressed.kernel:ip_conntrack:table full, Dropping packet.';
    expect(classifyMessage(seed)).toEqual({ kind: 'table-full' });
    expect(classifyMessage('nf_conntrack: expectation table full; nf_conntrack: table full, dropping packet')).toEqual({
      kind: 'table-full',
    });
  });
});

describe('classifyMessage: rate-limit lines', () => {
  it.each([
    ['net_ratelimit: 3939 callbacks suppressed', 3939],
    ['__ratelimit: 83 callbacks suppressed', 83],
    ['printk: 1 messages suppressed.', 1],
    ['printk: 14 messages suppressed.', 14],
    ['nf_conntrack: 12 callbacks suppressed', 12],
    ['nf_ct_proto_6: 5 callbacks suppressed', 5],
    ['kernel: net_ratelimit: 7 callbacks suppressed', 7],
    ['kernel:printk:1 messages suppressed.', 1],
    ['net_ratelimit: 9007199254740991 callbacks suppressed', Number.MAX_SAFE_INTEGER],
  ])('%j -> %d', (text, count) => {
    expect(classifyMessage(text)).toEqual({ kind: 'suppressed', count });
  });
});

describe('classifyMessage: lookalikes and everything else', () => {
  it.each([
    ['nf_conntrack: expectation table full', 'a different problem'],
    ['ip_conntrack: expectation table full', 'a different problem, old name'],
    ['nf_conntrack: falling back to vmalloc.', 'allocation notice'],
    ['nf_conntrack version 0.5.0 (65536 buckets, 262144 max)', 'module load'],
    ["COMMAND=/usr/bin/grep 'nf_conntrack: table full, dropping packet' /var/log/messages", 'single-quoted by user space'],
    ['saw "nf_conntrack: table full, dropping packet" 10 times', 'double-quoted by user space'],
    ['xnf_conntrack: table full, dropping packet', 'another word that ends in the prefix'],
    ['nf_conntrack: table full', 'no "dropping packet"'],
    ['table full, dropping packet', 'no prefix'],
    ['nf_conntrack: table full in netns , dropping packet', 'netns without a number'],
    ['Suppressed 1234 messages from user@1000.service', 'journald, not the kernel ratelimit'],
    ['net_ratelimit: callbacks suppressed', 'no number'],
    ['net_ratelimit: -3 callbacks suppressed', 'negative'],
    ['net_ratelimit: 99999999999999999 callbacks suppressed', 'more than a safe integer'],
    ['net_ratelimit: 9007199254740993 callbacks suppressed', 'just above a safe integer'],
    ['12 callbacks suppressed', 'no name'],
    ['table full', 'needle alone'],
    ['suppressed', 'needle alone'],
    ['', 'empty'],
  ])('%j is nothing (%s)', (text) => {
    expect(classifyMessage(text)).toBeUndefined();
  });
});

describe('mightMatter', () => {
  it.each([
    'Dec 14 15:00:05 host kernel: nf_conntrack: table full, dropping packet',
    '4,339,157334390,-;__ratelimit: 83 callbacks suppressed',
    '<4>[  162.400000] printk: 4 messages suppressed.',
    'nf_conntrack: expectation table full',
  ])('lets %j through', (line) => {
    expect(mightMatter(line)).toBe(true);
  });
  it.each(['<6>[   11.207612] nf_conntrack version 0.5.0 (65536 buckets, 262144 max)', 'nf_conntrack: falling back to vmalloc.', ''])(
    'stops %j',
    (line) => {
      expect(mightMatter(line)).toBe(false);
    },
  );
});

describe('parseKmsgRecord: /dev/kmsg', () => {
  it('splits the header off (6.18) [seen]', () => {
    expect(parseKmsgRecord('4,350,152332874,-;nf_conntrack: nf_conntrack: table full in netns 4026532315, dropping packet')).toEqual({
      text: 'nf_conntrack: nf_conntrack: table full in netns 4026532315, dropping packet',
      seq: 350,
      bootUsec: 152332874,
      prio: 4,
    });
  });
  it('takes extra header fields and a facility other than the kernel', () => {
    expect(parseKmsgRecord('12,7,1000,c,caller=T123;hello')).toEqual({ text: 'hello', seq: 7, bootUsec: 1000, prio: 12 });
  });
  it('keeps \\x escapes as the kernel wrote them', () => {
    expect(parseKmsgRecord('6,350,173500000,-;usb 1-1: Product: \\x1b[31mtable\\x0a')?.text).toBe('usb 1-1: Product: \\x1b[31mtable\\x0a');
  });
  it('keeps semicolons in the text', () => {
    expect(parseKmsgRecord('6,1,0,-;a; b;c')?.text).toBe('a; b;c');
  });
  it('ends the message at the newline of a whole read() with continuation lines', () => {
    expect(parseKmsgRecord('6,301,3981224,-;e1000e eth0: NIC Link is Up\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:1f.6\n')).toEqual({
      text: 'e1000e eth0: NIC Link is Up',
      seq: 301,
      bootUsec: 3981224,
      prio: 6,
    });
  });
  it('gives an empty message as empty text', () => {
    expect(parseKmsgRecord('6,3,5,-;')).toEqual({ text: '', seq: 3, bootUsec: 5, prio: 6 });
  });
  it.each([
    [' SUBSYSTEM=pci', 'continuation line'],
    [' DEVICE=+pci:0000:00:1f.6', 'continuation line'],
    ['', 'empty'],
    ['nf_conntrack: table full, dropping packet', 'no header'],
    ['4,350,152332874;text', 'no flags'],
    ['4,350;text', 'too few fields'],
    ['4,-350,152332874,-;text', 'negative seq'],
    ['4,350,-1,-;text', 'negative usec'],
    ['4,x,152332874,-;text', 'not a number'],
    ['4,9007199254740992,1,-;text', 'seq beyond a safe integer'],
    ['4,1,99999999999999999999,-;text', 'usec beyond a safe integer'],
    [`4,1,1,-${'x'.repeat(300)};text`, 'a header too long to be one'],
  ])('%j is refused (%s)', (record) => {
    expect(parseKmsgRecord(record)).toBeUndefined();
  });
});

describe('parseDmesgLine: dmesg -r', () => {
  it.each<[string, LogRecord]>([
    [
      '<4>[  152.332874] nf_conntrack: table full, dropping packet',
      { text: 'nf_conntrack: table full, dropping packet', prio: 4, bootUsec: 152332874 },
    ],
    ['<6>[    0.000000] Linux version 5.4.0', { text: 'Linux version 5.4.0', prio: 6, bootUsec: 0 }],
    ['<12>[123456.000001] user text', { text: 'user text', prio: 12, bootUsec: 123456000001 }],
    ['[  152.332874] plain dmesg', { text: 'plain dmesg', bootUsec: 152332874 }],
    ['<4>ip_conntrack: table full, dropping packet.', { text: 'ip_conntrack: table full, dropping packet.', prio: 4 }],
    ['<6>[drm] Initialized i915', { text: '[drm] Initialized i915', prio: 6 }],
    ['no prefix at all', { text: 'no prefix at all' }],
    ['<4>[  152.5] short fraction', { text: 'short fraction', prio: 4, bootUsec: 152500000 }],
    ['<4>[  152.332874] crlf\r\n', { text: 'crlf', prio: 4, bootUsec: 152332874 }],
    ['<4>[  152.332874]', { text: '', prio: 4, bootUsec: 152332874 }],
  ])('%j', (line, record) => {
    expect(parseDmesgLine(line)).toEqual(record);
  });
  it.each([
    ['', 'empty'],
    ['\n', 'empty'],
    ['<4>[99999999999.000000] text', 'usec beyond a safe integer'],
    ['<4>[99999999999999999999.000000] text', 'seconds beyond a safe integer'],
    ['<99999999999999999999>text', 'priority beyond a safe integer'],
  ])('%j is refused (%s)', (line) => {
    expect(parseDmesgLine(line)).toBeUndefined();
  });
});

describe('parseJournalLine: journalctl -k -o short-unix', () => {
  it('reads the time and the text', () => {
    expect(parseJournalLine('1700000000.123456 host kernel: nf_conntrack: table full, dropping packet')).toEqual({
      text: 'nf_conntrack: table full, dropping packet',
      wallMs: 1700000000123,
    });
  });
  it('takes a time without a fraction and a boot stamp left in the text', () => {
    expect(parseJournalLine('1700000000 host kernel: [  152.332874] x')).toEqual({ text: 'x', wallMs: 1700000000000, bootUsec: 152332874 });
  });
  it.each([
    ['-- Boot 3b1f0c2e8d8b4a6f9e2d1c0b7a5e4f3d --', 'marker'],
    ['-- No entries --', 'marker'],
    ['1700000163.000000 web01 conntrack-alert[901]: nf_conntrack: table full, dropping packet', 'user space writing to /dev/kmsg'],
    ['1700000003.120004 web01 systemd[1]: Inserted module', 'user space writing to /dev/kmsg'],
    ['1700000000.123456 kernel: text', 'no host'],
    ['Dec 14 15:00:05 host kernel: text', 'another format'],
    ['99999999999999.000000 host kernel: text', 'beyond a safe integer'],
    ['', 'empty'],
  ])('%j is refused (%s)', (line) => {
    expect(parseJournalLine(line)).toBeUndefined();
  });
});

describe('parseSyslogLine: traditional format, local time, no year', () => {
  const december = new Date(2024, 11, 15, 12, 0, 0);
  it('reads the time and strips the boot stamp (Debian kern.log)', () => {
    expect(
      parseSyslogLine('Dec 14 15:00:05 w-openstack08 kernel: [  152.332874] nf_conntrack: table full, dropping packet', december),
    ).toEqual({
      text: 'nf_conntrack: table full, dropping packet',
      wallMs: new Date(2024, 11, 14, 15, 0, 5).getTime(),
      bootUsec: 152332874,
    });
  });
  it('reads a space-padded day and a line without a boot stamp (RHEL 5)', () => {
    expect(parseSyslogLine('Mar  3 10:15:01 web5 kernel: ip_conntrack: table full, dropping packet.', new Date(2017, 2, 4))).toEqual({
      text: 'ip_conntrack: table full, dropping packet.',
      wallMs: new Date(2017, 2, 3, 10, 15, 1).getTime(),
    });
  });
  it('unwraps rsyslog "message repeated N times"', () => {
    expect(
      parseSyslogLine(
        'Dec 14 15:00:17 h kernel: message repeated 4 times: [ nf_conntrack: nf_conntrack: table full, dropping packet]',
        december,
      ),
    ).toEqual({
      text: 'nf_conntrack: nf_conntrack: table full, dropping packet',
      wallMs: new Date(2024, 11, 14, 15, 0, 17).getTime(),
      repeated: 4,
    });
  });

  describe('the year, read on New Year', () => {
    const newYear = new Date(2025, 0, 1, 0, 0, 30);
    it.each<[string, Date]>([
      ['Dec 31 23:59:58', new Date(2024, 11, 31, 23, 59, 58)],
      ['Dec 14 15:00:05', new Date(2024, 11, 14, 15, 0, 5)],
      ['Jan  1 00:00:10', new Date(2025, 0, 1, 0, 0, 10)],
      // A few minutes ahead is a clock a little fast; further ahead is last year's line.
      ['Jan  1 00:03:00', new Date(2025, 0, 1, 0, 3, 0)],
      ['Jan  1 23:59:59', new Date(2024, 0, 1, 23, 59, 59)],
      ['Jan  2 00:00:10', new Date(2024, 0, 2, 0, 0, 10)],
      ['Jan  3 00:00:00', new Date(2024, 0, 3, 0, 0, 0)],
      ['Jun 10 08:00:00', new Date(2024, 5, 10, 8, 0, 0)],
    ])('%s is %s', (time, expected) => {
      expect(parseSyslogLine(`${time} host kernel: x`, newYear)?.wallMs).toBe(expected.getTime());
    });
    it('puts Feb 29 in the last leap year rather than rolling it into March', () => {
      expect(parseSyslogLine('Feb 29 10:00:00 host kernel: x', new Date(2025, 0, 1))?.wallMs).toBe(new Date(2024, 1, 29, 10).getTime());
      expect(parseSyslogLine('Feb 29 10:00:00 host kernel: x', new Date(2026, 0, 1))).toBeUndefined();
    });
  });

  it.each([
    ['Dec 14 15:00:14 w-openstack08 root: nf_conntrack: table full, dropping packet', 'logger, not the kernel'],
    ['Mar  3 10:15:12 web5 last message repeated 3 times', 'sysklogd, no tag'],
    ['Dec 14 15:00:14 host sudo:    alice : COMMAND=/usr/bin/grep nf_conntrack: table full, dropping packet', 'sudo'],
    ['Dec 14 15:00:14 host kernelx: text', 'another tag'],
    ['Dec 14 15:00:14 kernel: text', 'no host'],
    ['Foo 14 15:00:05 host kernel: text', 'no such month'],
    ['Dec 32 15:00:05 host kernel: text', 'no such day'],
    ['Feb 30 15:00:05 host kernel: text', 'no such day'],
    ['Dec 14 25:00:05 host kernel: text', 'no such hour'],
    ['Dec 14 15:00:05', 'nothing after the time'],
    ['<4>[  152.332874] text', 'another format'],
    ['Dec 14 15:00:05 host kernel: [99999999999.000000] text', 'boot stamp beyond a safe integer'],
    ['Dec 14 15:00:05 host kernel: message repeated 99999999999999999 times: [ x]', 'repeat beyond a safe integer'],
  ])('%j is refused (%s)', (line) => {
    expect(parseSyslogLine(line, december)).toBeUndefined();
  });
  it('dates the same line anew for another now or another time zone', () => {
    const line = 'Dec 14 15:00:05 host kernel: x';
    expect(parseSyslogLine(line, december)?.wallMs).toBe(new Date(2024, 11, 14, 15, 0, 5).getTime());
    expect(parseSyslogLine(line, new Date(2026, 0, 1))?.wallMs).toBe(new Date(2025, 11, 14, 15, 0, 5).getTime());
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'UTC';
      expect(parseSyslogLine(line, december)?.wallMs).toBe(Date.UTC(2024, 11, 14, 15, 0, 5));
      process.env.TZ = 'Asia/Tokyo';
      expect(parseSyslogLine(line, december)?.wallMs).toBe(Date.UTC(2024, 11, 14, 6, 0, 5));
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
  it('refuses a traditional line when now is not a date', () => {
    expect(parseSyslogLine('Dec 14 15:00:05 host kernel: x', new Date(Number.NaN))).toBeUndefined();
  });
});

describe('parseSyslogLine: RFC 3339', () => {
  const now = new Date(2024, 4, 2);
  it.each<[string, number]>([
    ['2024-05-01T10:00:00.123456+02:00', Date.UTC(2024, 4, 1, 8, 0, 0, 123)],
    ['2024-05-01T08:00:09.000000Z', Date.UTC(2024, 4, 1, 8, 0, 9)],
    ['2024-05-01T10:00:10+02:00', Date.UTC(2024, 4, 1, 8, 0, 10)],
    ['2024-05-01T02:30:00.5-05:30', Date.UTC(2024, 4, 1, 8, 0, 0, 500)],
    ['2024-12-31T23:59:59.999+00:00', Date.UTC(2024, 11, 31, 23, 59, 59, 999)],
  ])('%s', (time, wallMs) => {
    expect(parseSyslogLine(`${time} gw01 kernel: nf_conntrack: table full, dropping packet`, now)).toEqual({
      text: 'nf_conntrack: table full, dropping packet',
      wallMs,
    });
  });
  it('ignores now: the line carries its year', () => {
    expect(parseSyslogLine('2019-01-01T00:00:00Z h kernel: x', new Date(2030, 0, 1))?.wallMs).toBe(Date.UTC(2019, 0, 1));
  });
  it('strips a boot stamp', () => {
    expect(parseSyslogLine('2024-05-01T10:00:11.000000+02:00 gw01 kernel: [ 4410.000001] x', now)).toEqual({
      text: 'x',
      wallMs: Date.UTC(2024, 4, 1, 8, 0, 11),
      bootUsec: 4410000001,
    });
  });
  it.each([
    [
      '2024-05-01T10:00:07.000000+02:00 gw01 sudo[2211]:    alice : COMMAND=/usr/bin/grep nf_conntrack: table full, dropping packet',
      'sudo',
    ],
    ['2024-05-01T10:00:08.000000+02:00 gw01 check_conntrack[3001]: nf_conntrack: table full, dropping packet', 'a check quoting it'],
    ['2024-13-01T10:00:00Z h kernel: x', 'no such month'],
    ['2024-02-30T10:00:00Z h kernel: x', 'no such day'],
    ['2024-05-01T10:00:00+25:00 h kernel: x', 'no such offset'],
    ['2024-05-01T10:00:00 h kernel: x', 'no offset'],
    ['2024-05-01 10:00:00Z h kernel: x', 'no T'],
  ])('%j is refused (%s)', (line) => {
    expect(parseSyslogLine(line, now)).toBeUndefined();
  });
});

describe('hostile input', () => {
  const now = new Date(2025, 0, 1);

  it('a 1 MB line: the message at its end is found, the text after its tag kept whole', () => {
    const big = 'a'.repeat(1 << 20);
    expect(classifyMessage(`${big} nf_conntrack: table full, dropping packet`)).toEqual({ kind: 'table-full' });
    expect(parseSyslogLine(`Dec 14 15:00:05 host kernel: ${big}`, now)?.text).toBe(big);
  });

  it('values that are not strings give nothing', () => {
    for (const value of [undefined, null, 42, {}, []] as never[]) {
      expect(mightMatter(value)).toBe(false);
      expect(classifyMessage(value)).toBeUndefined();
      expect(parseKmsgRecord(value)).toBeUndefined();
      expect(parseDmesgLine(value)).toBeUndefined();
      expect(parseJournalLine(value)).toBeUndefined();
      expect(parseSyslogLine(value, now)).toBeUndefined();
      const seen: string[] = [];
      forEachCandidateLine(value, (line) => seen.push(line));
      expect(seen).toEqual([]);
    }
  });
});

/** Counts what a check would count: drops (times rsyslog's repeats), drops naming a namespace, and suppressed messages. */
function tally(lines: string[], parse: (line: string) => LogRecord | undefined) {
  const t = { records: 0, drops: 0, netnsDrops: 0, suppressed: 0 };
  for (const line of lines) {
    const record = parse(line);
    if (!record) continue;
    t.records++;
    // The cheap filter must never hide a line that classifies.
    const event: LogEvent | undefined = classifyMessage(record.text);
    if (event) expect(mightMatter(line)).toBe(true);
    if (!mightMatter(line)) continue;
    if (event?.kind === 'table-full') {
      t.drops += record.repeated ?? 1;
      if (event.netns !== undefined) t.netnsDrops++;
    } else if (event?.kind === 'suppressed') {
      t.suppressed += event.count;
    }
  }
  return t;
}

describe('fixture logs, counted by hand', () => {
  it.each<[string, (line: string) => LogRecord | undefined, { records: number; drops: number; netnsDrops: number; suppressed: number }]>([
    // 26 lines, 2 of them continuation lines; the quoted line from user space (prio 12) is no drop.
    ['kmsg.txt', parseKmsgRecord, { records: 24, drops: 10, netnsDrops: 3, suppressed: 3939 + 83 + 12 + 2 }],
    ['dmesg-raw.txt', parseDmesgLine, { records: 21, drops: 7, netnsDrops: 1, suppressed: 211 + 9 + 4 + 1 }],
    // 2 boot markers and 2 user-space identifiers are no records.
    ['journal-short-unix.txt', parseJournalLine, { records: 17, drops: 6, netnsDrops: 1, suppressed: 3939 + 27 + 3 }],
    // "root:" (logger) is not the kernel; "message repeated 4 times" counts 4.
    [
      'kern.log',
      (l) => parseSyslogLine(l, new Date(2024, 11, 15)),
      { records: 18, drops: 7 + 4, netnsDrops: 1, suppressed: 1203 + 15 + 6 + 2 },
    ],
    // systemd, sudo, check_conntrack, NetworkManager and journald are not the kernel.
    [
      'messages-iso.log',
      (l) => parseSyslogLine(l, new Date(2024, 4, 2)),
      { records: 13, drops: 7, netnsDrops: 1, suppressed: 5000 + 7 + 1 + 3 },
    ],
    // syslogd, "last message repeated", sshd and root (logger) are not the kernel.
    [
      'rhel5-messages.log',
      (l) => parseSyslogLine(l, new Date(2017, 2, 4)),
      { records: 18, drops: 8, netnsDrops: 1, suppressed: 1 + 14 + 20 + 31 + 2 },
    ],
  ])('%s', (name, parse, expected) => {
    expect(tally(linesOf(readLog(name)), parse)).toEqual(expected);
  });

  it('dates the syslog files', () => {
    const kern = linesOf(readLog('kern.log')).map((l) => parseSyslogLine(l, new Date(2024, 11, 15)));
    expect(kern[2]?.wallMs).toBe(new Date(2024, 11, 14, 15, 0, 5).getTime());
    expect(kern[2]?.bootUsec).toBe(152332874);
    // Read on New Year's Day, December's lines are last year's.
    expect(parseSyslogLine(linesOf(readLog('kern.log'))[2] ?? '', new Date(2025, 0, 1))?.wallMs).toBe(
      new Date(2024, 11, 14, 15, 0, 5).getTime(),
    );
    const iso = linesOf(readLog('messages-iso.log')).map((l) => parseSyslogLine(l, new Date(2024, 4, 2)));
    expect(iso[1]?.wallMs).toBe(Date.UTC(2024, 4, 1, 8, 0, 0, 123));
  });

  it('keeps kmsg sequence numbers in order', () => {
    const seqs = linesOf(readLog('kmsg.txt'))
      .map((l) => parseKmsgRecord(l)?.seq)
      .filter((s): s is number => s !== undefined);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(seqs.at(-1)).toBe(350);
  });
});

describe('scanning a whole log for the lines that might matter', () => {
  const names = ['kmsg.txt', 'dmesg-raw.txt', 'journal-short-unix.txt', 'kern.log', 'messages-iso.log', 'rhel5-messages.log'];
  const expected = (text: string): string[] => text.split('\n').filter(mightMatter);

  it.each(names)('forEachCandidateLine gives exactly the lines mightMatter passes: %s', (name) => {
    const text = readLog(name);
    const seen: string[] = [];
    forEachCandidateLine(text, (line) => seen.push(line));
    expect(seen).toEqual(expected(text));
    expect(seen.length).toBeGreaterThan(0);
  });

  it.each(names)('LogScanner gives the same lines, whatever the chunk size: %s', (name) => {
    const bytes = readFileSync(join(LOGS, name));
    for (const size of [1, 7, 64, 1000, bytes.length]) {
      const seen: string[] = [];
      const scanner = new LogScanner((line) => seen.push(line));
      // One reused buffer, as a read loop would use it.
      const buffer = Buffer.alloc(size);
      for (let at = 0; at < bytes.length; at += size) {
        const n = bytes.copy(buffer, 0, at, at + size);
        scanner.push(buffer.subarray(0, n));
      }
      scanner.end();
      expect(seen, `chunks of ${size}`).toEqual(expected(bytes.toString('utf8')));
    }
  });

  it('handles a last line without a newline, CRLF, bad UTF-8 and a line too long to be a log line', () => {
    const seen: string[] = [];
    const scanner = new LogScanner((line) => seen.push(line));
    scanner.push(Buffer.from('a\r\n<4>[ 1.0] nf_conntrack: table full, dropping packet\r\n'));
    scanner.push(Buffer.concat([Buffer.from('<4>\xff\xfe net_ratelimit: 1 callbacks suppressed\n', 'latin1')]));
    scanner.push(Buffer.from(`${'table full '.repeat(200_000)}`));
    scanner.push(Buffer.from('still the long line\nprintk: 2 messages suppressed.'));
    scanner.end();
    expect(seen).toEqual([
      '<4>[ 1.0] nf_conntrack: table full, dropping packet\r',
      '<4>\ufffd\ufffd net_ratelimit: 1 callbacks suppressed',
      'printk: 2 messages suppressed.',
    ]);
    expect(parseDmesgLine(seen[0] ?? '')?.text).toBe('nf_conntrack: table full, dropping packet');
    expect(classifyMessage(seen[1] ?? '')).toEqual({ kind: 'suppressed', count: 1 });
  });
});
