import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CAP_NET_ADMIN,
  CAP_SYSLOG,
  hasCapability,
  parseGroupFile,
  parseProcStatus,
  type ProcessPrivileges,
} from '../../src/parse/proc-status';
import { DEFAULT_HOST_PATHS } from '../../src/probes/host-paths';
import { parseNetnsLink, probeIdentity } from '../../src/probes/identity';

/** What `nagios` (uid 110, in groups adm and nagios) sees in /proc/self/status: no capabilities. */
const UNPRIVILEGED = [
  'Name:\tcheck_conntrack',
  'Umask:\t0022',
  'State:\tR (running)',
  'Tgid:\t4242',
  'Ngid:\t0',
  'Pid:\t4242',
  'PPid:\t4200',
  'TracerPid:\t0',
  'Uid:\t110\t110\t110\t110',
  'Gid:\t118\t118\t118\t118',
  'FDSize:\t64',
  'Groups:\t4 118 ',
  'NStgid:\t4242',
  'NSpid:\t4242',
  'VmPeak:\t  1012345 kB',
  'CapInh:\t0000000000000000',
  'CapPrm:\t0000000000000000',
  'CapEff:\t0000000000000000',
  'CapBnd:\t000001ffffffffff',
  'CapAmb:\t0000000000000000',
  'NoNewPrivs:\t0',
  'Seccomp:\t0',
  '',
].join('\n');

function status(uid: string, capEff: string, extra: string[] = []): string {
  return [`Uid:\t${uid}`, 'Gid:\t0\t0\t0\t0', 'Groups:\t', `CapEff:\t${capEff}`, ...extra, ''].join('\n');
}

/** Independent reading of one bit of a CapEff hex string, nibble by nibble. */
function bitOf(hex: string, cap: number): boolean {
  const digit = hex[hex.length - 1 - Math.floor(cap / 4)];
  return digit !== undefined && ((parseInt(digit, 16) >> (cap % 4)) & 1) === 1;
}

describe('capability numbers', () => {
  it('CAP_NET_ADMIN is 12 and CAP_SYSLOG is 34 (linux/capability.h)', () => {
    expect(CAP_NET_ADMIN).toBe(12);
    expect(CAP_SYSLOG).toBe(34);
  });
});

describe('parseProcStatus on this machine', () => {
  const text = readFileSync('/proc/self/status', 'utf8');
  const parsed = parseProcStatus(text);

  it('gives the effective uid and every group of this process', () => {
    expect(parsed).toBeDefined();
    expect(parsed!.uid).toBe(process.geteuid!());
    expect([...parsed!.gids].sort((a, b) => a - b)).toEqual(
      [...new Set([process.getegid!(), ...process.getgroups!()])].sort((a, b) => a - b),
    );
  });

  it('gives CapEff exactly as the file has it', () => {
    const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(text)![1]!;
    expect(parsed!.capEff).toBe(BigInt(`0x${hex}`));
    for (const cap of [0, 1, 12, 21, 24, 34, 40]) expect(hasCapability(parsed!, cap)).toBe(bitOf(hex, cap));
  });

  it('as root in this environment, has CAP_NET_ADMIN and CAP_SYSLOG', () => {
    // The test suite runs as root with the usual container set (no CAP_SYS_RESOURCE, bit 24).
    expect(process.geteuid!()).toBe(0);
    expect(hasCapability(parsed!, CAP_NET_ADMIN)).toBe(true);
    expect(hasCapability(parsed!, CAP_SYSLOG)).toBe(true);
  });
});

describe('parseProcStatus on crafted text', () => {
  it('an unprivileged user: uid, gid then supplementary groups, no capabilities', () => {
    const p = parseProcStatus(UNPRIVILEGED);
    expect(p).toStrictEqual({ uid: 110, gids: [118, 4], capEff: 0n });
    expect(hasCapability(p!, CAP_NET_ADMIN)).toBe(false);
    expect(hasCapability(p!, CAP_SYSLOG)).toBe(false);
  });

  it("root's container set 000001fffeffffff: both capabilities, but not bit 24", () => {
    const p = parseProcStatus(status('0\t0\t0\t0', '000001fffeffffff'))!;
    expect(p.capEff).toBe(0x1fffeffffffn);
    expect(hasCapability(p, CAP_NET_ADMIN)).toBe(true);
    expect(hasCapability(p, CAP_SYSLOG)).toBe(true);
    expect(hasCapability(p, 24)).toBe(false);
    expect(hasCapability(p, 41)).toBe(false);
  });

  it.each([
    ['0000000000001000', true, false],
    ['0000000400000000', false, true],
    ['0000000400001000', true, true],
    ['0000000000000800', false, false], // bit 11
    ['0000000000002000', false, false], // bit 13
    ['0000000200000000', false, false], // bit 33
    ['0000000800000000', false, false], // bit 35
    ['fffffffbffffefff', false, false], // everything but 12 and 34
    ['FFFFFFFFFFFFFFFF', true, true], // upper-case hex
    ['1000', true, false], // short
    ['400001000', true, true],
  ])('CapEff %s: NET_ADMIN %s, SYSLOG %s', (hex, netAdmin, syslog) => {
    const p = parseProcStatus(status('1000\t1000\t1000\t1000', hex))!;
    expect(p.capEff).toBe(BigInt(`0x${hex}`));
    expect(hasCapability(p, CAP_NET_ADMIN)).toBe(netAdmin);
    expect(hasCapability(p, CAP_SYSLOG)).toBe(syslog);
  });

  it('takes the effective uid and gid, not the real ones (setuid, setgid)', () => {
    const p = parseProcStatus(['Uid:\t1000\t0\t0\t0', 'Gid:\t1000\t4\t4\t4', 'Groups:\t', 'CapEff:\t0000000000000000'].join('\n'));
    expect(p).toStrictEqual({ uid: 0, gids: [4], capEff: 0n });
  });

  it('lists a group once even when it is both the gid and a supplementary group', () => {
    const p = parseProcStatus(['Uid:\t5\t5\t5\t5', 'Gid:\t4\t4\t4\t4', 'Groups:\t4 27 4 101', 'CapEff:\t0'].join('\n'));
    expect(p!.gids).toEqual([4, 27, 101]);
  });

  it('an empty Groups line adds nothing', () => {
    expect(parseProcStatus(status('7\t7\t7\t7', '0'))!.gids).toEqual([0]);
  });

  it('CRLF line ends are tolerated', () => {
    expect(parseProcStatus(UNPRIVILEGED.replace(/\n/g, '\r\n'))).toStrictEqual({ uid: 110, gids: [118, 4], capEff: 0n });
  });

  it('without a Gid line, no gids but still a result', () => {
    expect(parseProcStatus('Uid:\t3\t3\t3\t3\nCapEff:\t0000000000000000\n')).toStrictEqual({ uid: 3, gids: [], capEff: 0n });
  });

  it.each([
    ['no Uid line', 'Gid:\t0\t0\t0\t0\nCapEff:\t0000000000000000\n'],
    ['no CapEff line', 'Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n'],
    ['Uid with one field only', 'Uid:\t0\nCapEff:\t0000000000000000\n'],
    ['Uid not a number', 'Uid:\troot\troot\troot\troot\nCapEff:\t0000000000000000\n'],
    ['CapEff empty', status('0\t0\t0\t0', '')],
    ['CapEff not hex', status('0\t0\t0\t0', '000001fffeffffzz')],
    ['CapEff with 0x', status('0\t0\t0\t0', '0x1000')],
    ['CapEff of 33 digits', status('0\t0\t0\t0', '1'.repeat(33))],
    ['CapEff negative', status('0\t0\t0\t0', '-1')],
    ['empty text', ''],
    ['not a status file', 'hello world\nno colons here\n'],
  ])('%s: undefined', (_name, text) => {
    expect(parseProcStatus(text)).toBeUndefined();
  });

  it('keys must match exactly: CapEffX or a lower-case uid are ignored', () => {
    expect(parseProcStatus('uid:\t0\t0\t0\t0\nCapEffX:\t0\nUid:\t9\t9\t9\t9\nCapEff:\t1000\n')).toStrictEqual({
      uid: 9,
      gids: [],
      capEff: 0x1000n,
    });
  });

  it('the type is what the probes use', () => {
    const p: ProcessPrivileges = { uid: 0, gids: [], capEff: 1n << 34n };
    expect(hasCapability(p, CAP_SYSLOG)).toBe(true);
    expect(hasCapability(p, CAP_NET_ADMIN)).toBe(false);
  });

  // Doubtful (reported): Number() accepts hex, exponent and empty forms, so a
  // uid field of '0x10' reads as 16 and '1e3' as 1000.
  it('rejects a uid that is not plain decimal', () => {
    expect(parseProcStatus('Uid:\t1e3\t1e3\t1e3\t1e3\nCapEff:\t0\n')).toBeUndefined();
  });
});

describe('parseGroupFile', () => {
  it("reads this machine's /etc/group", () => {
    const text = readFileSync('/etc/group', 'utf8');
    const groups = parseGroupFile(text);
    expect(groups.get('root')).toBe(0);
    const lines = text.split('\n').filter((l) => /^[^:]+:[^:]*:\d+:/.test(l));
    expect(groups.size).toBe(new Set(lines.map((l) => l.split(':')[0])).size);
    for (const l of lines) {
      const [name, , gid] = l.split(':');
      expect(groups.has(name!)).toBe(true);
      if (lines.filter((m) => m.startsWith(`${name}:`)).length === 1) expect(groups.get(name!)).toBe(Number(gid));
    }
  });

  it('maps names to gids and skips what is not a group line', () => {
    const text = [
      'root:x:0:',
      'adm:x:4:syslog,nagios',
      'systemd-journal:x:101:nagios',
      '',
      '# a comment',
      'bad:x:abc:',
      'negative:x:-1:',
      'nogid:x::',
      'short:x',
      '+:::',
      ':x:5:',
      'nagios:x:118:\r',
    ].join('\n');
    expect([...parseGroupFile(text)]).toEqual([
      ['root', 0],
      ['adm', 4],
      ['systemd-journal', 101],
      ['nagios', 118],
    ]);
  });

  it('an empty file gives no groups', () => {
    expect(parseGroupFile('').size).toBe(0);
  });

  // Doubtful (reported): getgrnam() returns the first entry of a name; the map keeps the last.
  it('with two entries of one name, the first wins, as getgrnam does', () => {
    expect(parseGroupFile('adm:x:4:\nadm:x:999:\n').get('adm')).toBe(4);
  });
});

describe('parseNetnsLink', () => {
  it("reads this process's namespace link, the inode stat gives", () => {
    const link = readlinkSync('/proc/self/ns/net');
    expect(parseNetnsLink(link)).toBe(statSync('/proc/self/ns/net').ino);
    expect(link).toBe(`net:[${statSync('/proc/self/ns/net').ino}]`);
  });

  it.each([
    ['net:[4026531833]', 4026531833],
    ['net:[4026532315]', 4026532315],
    ['net:[0]', 0],
    ['net:[007]', 7],
    ['net:[9007199254740991]', 9007199254740991],
  ])('%s is %d', (link, n) => {
    expect(parseNetnsLink(link)).toBe(n);
  });

  it.each([
    [''],
    ['net:[]'],
    ['net:[-1]'],
    ['net:[1.5]'],
    ['net:[12a]'],
    ['net:[0x10]'],
    ['net:4026531833'],
    ['mnt:[4026531840]'],
    ['netns:[1]'],
    ['NET:[1]'],
    [' net:[1]'],
    ['net:[1] '],
    ['net:[1]\n'],
    ['net:[ 1]'],
    ['net:[9007199254740993]'],
    ['/proc/1/ns/net'],
  ])('%j is not a namespace link', (link) => {
    expect(parseNetnsLink(link)).toBeUndefined();
  });
});

describe('probeIdentity on this machine', () => {
  it('gives the boot id, the namespace inode, the uptime and the time', async () => {
    const before = Date.now();
    const id = await probeIdentity(DEFAULT_HOST_PATHS);
    const after = Date.now();
    expect(id.bootId).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(id.netns).toBe(statSync('/proc/self/ns/net').ino);
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    expect(id.uptimeSeconds).toBeGreaterThan(0);
    expect(Math.abs(id.uptimeSeconds! - uptime)).toBeLessThan(5);
    expect(id.nowMs).toBeGreaterThanOrEqual(before);
    expect(id.nowMs).toBeLessThanOrEqual(after);
  });

  it('in a tree without those files, says nothing but the time', async () => {
    const id = await probeIdentity({ procRoot: '/nonexistent-proc', sysRoot: '/nonexistent-sys' });
    expect(id.bootId).toBeUndefined();
    expect(id.netns).toBeUndefined();
    expect(id.uptimeSeconds).toBeUndefined();
    expect(typeof id.nowMs).toBe('number');
  });
});
