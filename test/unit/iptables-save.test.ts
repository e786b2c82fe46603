import { describe, expect, it } from 'vitest';
import { classifyRule, parseIptablesSave, tokenizeRule } from '../../src/parse/iptables-save';
import { CONNTRACK_MATCHES, CONNTRACK_TARGETS } from '../../src/parse/rule-policy';
import { MAX_RULE_TEXT, mergeScans, type RuleScan } from '../../src/parse/rule-scan';
import { reason, sample, scan } from '../support/rule-scans';

/** One table holding the given rule lines, as iptables-save prints it. */
function dump(table: string, ...rules: string[]): string {
  return [`*${table}`, ':INPUT ACCEPT [0:0]', ...rules, 'COMMIT', ''].join('\n');
}

describe('parseIptablesSave: each fixture', () => {
  it('iptables-nft-save of a Docker host: conntrack match, two MASQUERADE, one DNAT', () => {
    const s = scan(parseIptablesSave(sample('iptables-nft-save-docker.txt')));
    expect(s.tables).toEqual(['filter', 'nat']);
    expect(s.rules).toBe(18);
    expect(s.needsConntrack).toEqual([
      {
        table: 'filter',
        chain: 'FORWARD',
        text: '-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        why: 'conntrack match',
      },
      { table: 'nat', chain: 'POSTROUTING', text: '-A POSTROUTING -s 192.0.2.0/24 ! -o docker0 -j MASQUERADE', why: 'MASQUERADE target' },
      {
        table: 'nat',
        chain: 'POSTROUTING',
        text: '-A POSTROUTING -s 192.0.2.2/32 -d 192.0.2.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE',
        why: 'MASQUERADE target',
      },
      {
        table: 'nat',
        chain: 'DOCKER',
        text: '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.2:80',
        why: 'DNAT target',
      },
    ]);
    expect(s.exempts).toEqual([]);
  });

  it('iptables-legacy-save after seed 004 flushed: a nat table with only policies is no rule', () => {
    expect(scan(parseIptablesSave(sample('iptables-legacy-save-empty-nat.txt')))).toEqual({
      tables: ['nat', 'filter'],
      rules: 0,
      needsConntrack: [],
      exempts: [],
    });
  });

  it('raw table: NOTRACK and CT --notrack exempt, CT --helper needs', () => {
    const s = scan(parseIptablesSave(sample('iptables-save-raw-notrack.txt')));
    expect(s.tables).toEqual(['filter', 'raw']);
    expect(s.rules).toBe(9);
    expect(s.needsConntrack).toEqual([
      {
        table: 'raw',
        chain: 'PREROUTING',
        text: '-A PREROUTING -d 192.0.2.21/32 -p tcp -m tcp --dport 21 -j CT --helper ftp',
        why: 'CT target',
      },
    ]);
    expect(s.exempts.map((r) => [r.table, r.chain, r.why])).toEqual([
      ['raw', 'PREROUTING', 'NOTRACK target'],
      ['raw', 'PREROUTING', 'CT --notrack'],
      ['raw', 'OUTPUT', 'CT --notrack'],
      ['raw', 'OUTPUT', 'CT --notrack'],
    ]);
    expect(s.exempts[0]?.text).toBe('-A PREROUTING -d 192.0.2.53/32 -p udp -m udp --dport 53 -j NOTRACK');
  });

  it('OpenStack Neutron: state matches and CT zones; comments that talk about conntrack are not rules that use it', () => {
    const text = sample('iptables-save-state.txt');
    const s = scan(parseIptablesSave(text));
    expect(s.tables).toEqual(['filter', 'raw']);
    expect(s.rules).toBe(33);
    expect(s.needsConntrack.map((r) => [r.table, r.chain, r.why])).toEqual([
      ['filter', 'neutron-openvswi-i3f2a1b7c-4', 'state match'],
      ['filter', 'neutron-openvswi-i3f2a1b7c-4', 'state match'],
      ['filter', 'neutron-openvswi-o3f2a1b7c-4', 'state match'],
      ['filter', 'neutron-openvswi-o3f2a1b7c-4', 'state match'],
      ['raw', 'neutron-openvswi-PREROUTING', 'CT target'],
      ['raw', 'neutron-openvswi-PREROUTING', 'CT target'],
      ['raw', 'neutron-openvswi-PREROUTING', 'CT target'],
    ]);
    expect(s.needsConntrack[0]?.text).toBe(
      '-A neutron-openvswi-i3f2a1b7c-4 -m state --state RELATED,ESTABLISHED -m comment --comment "Direct packets associated with a known session to the RETURN chain." -j RETURN',
    );
    // The fixture does mention conntrack in comments of rules that do not use it.
    expect(text).toContain('do not have an entry in conntrack.');
    expect(s.exempts).toEqual([]);
  });

  it('ip6tables-save with an empty filter table', () => {
    expect(scan(parseIptablesSave(sample('ip6tables-save-empty.txt')))).toEqual({
      tables: ['filter'],
      rules: 0,
      needsConntrack: [],
      exempts: [],
    });
  });

  it('no output at all (iptables-save where no table exists) is no tables', () => {
    expect(scan(parseIptablesSave(''))).toEqual({ tables: [], rules: 0, needsConntrack: [], exempts: [] });
  });
});

describe('classifyRule: what needs conntrack', () => {
  it.each([
    ['-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', 'conntrack match'],
    ['-A INPUT -m state --state NEW -j ACCEPT', 'state match'],
    ['-A INPUT -m connmark --mark 0x1 -j ACCEPT', 'connmark match'],
    [
      '-A INPUT -p tcp -m tcp --dport 22 -m connlimit --connlimit-above 10 --connlimit-mask 32 --connlimit-saddr -j REJECT',
      'connlimit match',
    ],
    ['-A INPUT -p tcp -m helper --helper ftp -j ACCEPT', 'helper match'],
    ['-A FORWARD -m connbytes --connbytes 10000 --connbytes-dir both --connbytes-mode bytes -j ACCEPT', 'connbytes match'],
    ['-A POSTROUTING -o eth0 -j MASQUERADE', 'MASQUERADE target'],
    ['-A POSTROUTING -o eth0 -j SNAT --to-source 192.0.2.1', 'SNAT target'],
    ['-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 192.0.2.2:8080', 'DNAT target'],
    ['-A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 3128', 'REDIRECT target'],
    ['-A PREROUTING -d 192.0.2.0/24 -j NETMAP --to 198.51.100.0/24', 'NETMAP target'],
    ['-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff', 'CONNMARK target'],
    ['-A PREROUTING -p tcp --dport 21 -j CT --helper ftp', 'CT target'],
    ['-A PREROUTING -i tap0 -j CT --zone 4097', 'CT target'],
    ['-A PREROUTING -j CT --timeout udp-short', 'CT target'],
    // Option spellings getopt also takes.
    ['-A INPUT -mstate --state NEW -j ACCEPT', 'state match'],
    ['-A INPUT --match conntrack --ctstate NEW --jump ACCEPT', 'conntrack match'],
    ['-A INPUT --match=state --state=NEW -j ACCEPT', 'state match'],
    ['-A POSTROUTING -jMASQUERADE', 'MASQUERADE target'],
    ['-A POSTROUTING --jump=SNAT --to-source 192.0.2.1', 'SNAT target'],
    // An option without its -m (iptables would want the -m, but the intent is plain).
    ['-A INPUT --ctstate NEW -j ACCEPT', 'conntrack match'],
    ['-A INPUT --state NEW -j ACCEPT', 'state match'],
  ])('%s -> %s', (line, why) => {
    expect(classifyRule(line)).toEqual({ need: why });
  });

  it('the first reason in rule order is the one given', () => {
    expect(classifyRule('-A PREROUTING -m state --state NEW -p tcp -j DNAT --to-destination 192.0.2.2')).toEqual({ need: 'state match' });
    expect(classifyRule('-A PREROUTING -m connmark --mark 1 -m conntrack --ctstate NEW -j CONNMARK --set-mark 2')).toEqual({
      need: 'connmark match',
    });
    // CT counts from where -j stands.
    expect(classifyRule('-A PREROUTING -m conntrack --ctstate NEW -j CT --zone 1')).toEqual({ need: 'conntrack match' });
    expect(classifyRule('-A PREROUTING -j CT --zone 1 --ctstate NEW')).toEqual({ need: 'CT target' });
  });

  it('NOTRACK and CT --notrack exempt, even with a match that needs conntrack', () => {
    expect(classifyRule('-A PREROUTING -p udp --dport 53 -j NOTRACK')).toEqual({ exempt: 'NOTRACK target' });
    expect(classifyRule('-A PREROUTING -p udp --dport 53 -j CT --notrack')).toEqual({ exempt: 'CT --notrack' });
    expect(classifyRule('-A PREROUTING -m conntrack --ctstate NEW -j CT --notrack')).toEqual({ exempt: 'CT --notrack' });
  });

  it('lists the names it counts', () => {
    expect(CONNTRACK_MATCHES).toEqual(expect.arrayContaining(['conntrack', 'state', 'connmark', 'connlimit', 'helper']));
    expect(CONNTRACK_TARGETS).toEqual(expect.arrayContaining(['MASQUERADE', 'SNAT', 'DNAT', 'REDIRECT', 'CONNMARK', 'NETMAP', 'CT']));
    expect(CONNTRACK_TARGETS).not.toContain('NOTRACK');
  });
});

describe('classifyRule: lookalikes that need nothing', () => {
  it.each([
    ['a bare comment word (iptables-save leaves it unquoted)', '-A INPUT -m comment --comment MASQUERADE -j ACCEPT'],
    ['a quoted comment spelling a target', '-A INPUT -m comment --comment "-j MASQUERADE" -j ACCEPT'],
    ['a bare comment that is an option name', '-A INPUT -m comment --comment -j -j ACCEPT'],
    ['a comment spelling a match', '-A INPUT -m comment --comment "-m state --state NEW" -j ACCEPT'],
    ['a comment of just -m, then a real match', '-A INPUT -m comment --comment -m statistic --mode random --probability 0.5 -j DROP'],
    ['-m statistic is not -m state', '-A INPUT -m statistic --mode random --probability 0.50000000000 -j DROP'],
    ['-m conntrackx is not -m conntrack', '-A INPUT -m conntrackx -j ACCEPT'],
    ['a log prefix spelling a match', '-A INPUT -j LOG --log-prefix "-m state "'],
    ['a bare log prefix spelling a target', '-A INPUT -j LOG --log-prefix MASQUERADE'],
    ['a user chain called like a target but in lower case', '-A FORWARD -j masquerade'],
    ['a goto to a chain whose name contains a target', '-A FORWARD -g DNAT-RULES'],
    ['a jump to a chain whose name contains a target', '-A FORWARD -j KUBE-MARK-MASQ'],
    ['MARK is not CONNMARK', '-A PREROUTING -j MARK --set-xmark 0x4000/0x4000'],
    ['an address or interface named like an option', '-A INPUT -i state -s 192.0.2.1/32 -j ACCEPT'],
    ['a string match for the word conntrack', '-A INPUT -m string --string "-m conntrack" --algo bm -j DROP'],
    ['a recent match named state', '-A INPUT -m recent --name state --set -j ACCEPT'],
    ['--notrack without CT is nothing', '-A INPUT --notrack -j ACCEPT'],
  ])('%s', (_, line) => {
    expect(classifyRule(line)).toEqual({});
  });

  it('a "# -m state" comment line in a dump is not a rule', () => {
    const s = scan(parseIptablesSave(dump('filter', '# -A INPUT -m state --state NEW -j ACCEPT', '#-j MASQUERADE')));
    expect(s.rules).toBe(0);
    expect(s.needsConntrack).toEqual([]);
  });

  it('a MASQUERADE comment in a real dump is one rule that needs nothing', () => {
    const s = scan(parseIptablesSave(dump('filter', '-A INPUT -m comment --comment MASQUERADE -j ACCEPT')));
    expect(s.rules).toBe(1);
    expect(s.needsConntrack).toEqual([]);
  });
});

describe('tokenizeRule: as iptables-restore splits words', () => {
  it.each([
    ['-A INPUT  -j\tACCEPT', ['-A', 'INPUT', '-j', 'ACCEPT']],
    ['--comment "a b"', ['--comment', 'a b']],
    ['--comment "say \\"hi\\" \\\\ there"', ['--comment', 'say "hi" \\ there']],
    ['--comment ""', ['--comment', '']],
    ['--comment x"y z"w', ['--comment', 'xy zw']],
    ['--comment "unclosed -j MASQUERADE', ['--comment', 'unclosed -j MASQUERADE']],
    ["--comment 'single'", ['--comment', "'single'"]],
    ['', []],
  ])('%s', (line, tokens) => {
    expect(tokenizeRule(line)).toEqual(tokens);
  });

  it('an unclosed quote swallows the target, as it would in iptables-restore', () => {
    expect(classifyRule('-A INPUT -m comment --comment "oops -j MASQUERADE')).toEqual({});
  });
});

describe('parseIptablesSave: the dump format', () => {
  it('counters in front of rules (iptables-save -c), CRLF, indentation', () => {
    const text =
      '*nat\r\n:POSTROUTING ACCEPT [10:600]\r\n[12:720] -A POSTROUTING -o eth0 -j MASQUERADE\r\n  -I POSTROUTING 1 -j RETURN\r\nCOMMIT\r\n';
    const s = scan(parseIptablesSave(text));
    expect(s.rules).toBe(2);
    expect(s.needsConntrack).toEqual([
      { table: 'nat', chain: 'POSTROUTING', text: '-A POSTROUTING -o eth0 -j MASQUERADE', why: 'MASQUERADE target' },
    ]);
  });

  it('iptables and ip6tables output run together: tables once each', () => {
    const text = dump('filter', '-A INPUT -m state --state NEW -j ACCEPT') + dump('filter', '-A INPUT -j ACCEPT');
    const s = scan(parseIptablesSave(text));
    expect(s.tables).toEqual(['filter']);
    expect(s.rules).toBe(2);
    expect(s.needsConntrack).toHaveLength(1);
  });

  it('the warnings iptables-nft-save prints are comments', () => {
    const text = `${dump('filter')}# Warning: iptables-legacy tables present, use iptables-legacy-save to see them\n`;
    expect(scan(parseIptablesSave(text)).tables).toEqual(['filter']);
  });

  it.each([
    [
      'an error message instead of a dump',
      'iptables-save v1.8.9 (legacy): Cannot initialize: Permission denied (you must be root)\n',
      /^line 1: .* is not part of an iptables-save dump$/,
    ],
    [
      'a dump cut short',
      '*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth0 -j MASQUERADE\n',
      /^table 'nat' \(line 1\) has no COMMIT: the dump is cut short$/,
    ],
    ['a rule before any table', '-A INPUT -j ACCEPT\n', /^line 1: a rule outside a table$/],
    ['a chain before any table', ':INPUT ACCEPT [0:0]\n', /^line 1: a chain outside a table$/],
    ['COMMIT without a table', 'COMMIT\n', /^line 1: COMMIT outside a table$/],
    [
      'a table opened inside another',
      '*nat\n*filter\nCOMMIT\n',
      /^line 2 starts table 'filter' before table 'nat' \(line 1\) has its COMMIT$/,
    ],
    ['a table name with a NUL', '*fil\0ter\nCOMMIT\n', /^line 1: 'fil\?ter' is not a table name$/],
    ['-A without a chain', '*filter\n-A\nCOMMIT\n', /^line 2: -A without a chain$/],
    ['a rule of a command iptables-save never prints', '*filter\n-D INPUT -j ACCEPT\nCOMMIT\n', /^line 2: /],
  ])('refuses %s', (_, text, pattern) => {
    expect(reason(parseIptablesSave(text))).toMatch(pattern);
  });
});

describe('parseIptablesSave: hostile input never throws', () => {
  const hostile: Array<[string, unknown]> = [
    ['a 1 MB line', 'x'.repeat(1 << 20)],
    ['a 1 MB rule inside a table', dump('filter', `-A INPUT ${'-m state '.repeat(1 << 17)}-j ACCEPT`)],
    ['a 1 MB unclosed quote', dump('filter', `-A INPUT -m comment --comment "${'\\'.repeat(1 << 20)}`)],
    ['1 MB of quotes', dump('filter', `-A INPUT ${'"'.repeat(1 << 20)}`)],
    ['1 MB of NUL bytes', '\0'.repeat(1 << 20)],
    ['NUL bytes inside a rule', dump('filter', '-A INPUT -m st\0ate -j MASQ\0UERADE')],
    ['binary noise', Array.from({ length: 65536 }, (_, i) => String.fromCharCode((i * 7919) % 65536)).join('')],
    ['100k rules', dump('nat', ...Array.from({ length: 100_000 }, (_, i) => `-A POSTROUTING -s 192.0.2.${i % 256}/32 -j MASQUERADE`))],
    ['not a string', { length: 3 }],
  ];
  it.each(hostile)('%s', (_, input) => {
    const result = parseIptablesSave(input as string);
    expect(typeof result.ok).toBe('boolean');
    if (!result.ok) expect(result.reason.length).toBeLessThan(200);
    else {
      const longest = [...result.scan.needsConntrack, ...result.scan.exempts].reduce((max, ref) => Math.max(max, ref.text.length), 0);
      expect(longest).toBeLessThanOrEqual(MAX_RULE_TEXT + 3);
    }
  });

  it('a 1 MB rule is one rule, its text bounded and printable', () => {
    const s = scan(
      parseIptablesSave(dump('filter', `-A INPUT -m state --state NEW -m comment --comment "${'a|\x01'.repeat(1 << 18)}" -j ACCEPT`)),
    );
    expect(s.rules).toBe(1);
    const text = s.needsConntrack[0]?.text ?? '';
    expect(text.length).toBe(MAX_RULE_TEXT + 3);
    expect(text.endsWith('...')).toBe(true);
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\x00-\x1f|]/);
  });

  it('100k MASQUERADE rules are all counted', () => {
    const s = scan(parseIptablesSave(dump('nat', ...Array.from({ length: 100_000 }, () => '-A POSTROUTING -j MASQUERADE'))));
    expect(s.rules).toBe(100_000);
    expect(s.needsConntrack).toHaveLength(100_000);
  });
});

describe('mergeScans', () => {
  it('tables once each in first-seen order, counts added, lists joined, inputs untouched', () => {
    const v4 = scan(parseIptablesSave(sample('iptables-nft-save-docker.txt')));
    const v6 = scan(parseIptablesSave(sample('ip6tables-save-empty.txt')));
    const raw = scan(parseIptablesSave(sample('iptables-save-raw-notrack.txt')));
    const before = JSON.stringify([v4, v6, raw]);
    const merged = mergeScans([v4, v6, raw]);
    expect(merged.tables).toEqual(['filter', 'nat', 'raw']);
    expect(merged.rules).toBe(18 + 0 + 9);
    expect(merged.needsConntrack.map((r) => r.why)).toEqual([
      'conntrack match',
      'MASQUERADE target',
      'MASQUERADE target',
      'DNAT target',
      'CT target',
    ]);
    expect(merged.exempts).toHaveLength(4);
    merged.needsConntrack[0]!.why = 'changed';
    merged.tables.push('changed');
    expect(JSON.stringify([v4, v6, raw])).toBe(before);
  });

  it('nothing merges to an empty scan', () => {
    expect(mergeScans([])).toEqual({ tables: [], rules: 0, needsConntrack: [], exempts: [] });
    expect(mergeScans(undefined as unknown as RuleScan[])).toEqual({ tables: [], rules: 0, needsConntrack: [], exempts: [] });
  });
});
