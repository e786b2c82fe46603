import { describe, expect, it } from 'vitest';
import { MAX_RULE_TEXT, mergeScans, parseIptablesSave } from '../../src/parse/iptables-save';
import { parseNftRuleset, renderNftExpr } from '../../src/parse/nft-ruleset';
import { reason, sample, scan } from '../support/rule-scans';

const META = { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } };

/** A ruleset with one inet filter table and one rule per expression list given. */
function ruleset(...exprs: unknown[]): string {
  return JSON.stringify({
    nftables: [
      META,
      { table: { family: 'inet', name: 'filter', handle: 1 } },
      { chain: { family: 'inet', table: 'filter', name: 'input', handle: 1, type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
      ...exprs.map((expr, i) => ({ rule: { family: 'inet', table: 'filter', chain: 'input', handle: i + 2, expr } })),
    ],
  });
}

/** The one rule's verdict: [why, 'need' | 'exempt'], or undefined when it needs nothing. */
function verdict(expr: unknown): [string, 'need' | 'exempt'] | undefined {
  const s = scan(parseNftRuleset(ruleset(expr)));
  expect(s.rules).toBe(1);
  const need = s.needsConntrack[0];
  const exempt = s.exempts[0];
  expect(s.needsConntrack.length + s.exempts.length).toBeLessThanOrEqual(1);
  if (need) return [need.why, 'need'];
  if (exempt) return [exempt.why, 'exempt'];
  return undefined;
}

const accept = { accept: null };
const tcpDport = (port: number) => ({ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: port } });

describe('parseNftRuleset: each fixture', () => {
  it('ct state in an inet filter table, masquerade in an ip nat table; an empty nat chain is no rule', () => {
    const s = scan(parseNftRuleset(sample('nft-ruleset-ct.json')));
    expect(s.tables).toEqual(['inet filter', 'ip nat']);
    expect(s.rules).toBe(9);
    expect(s.needsConntrack).toEqual([
      { table: 'inet filter', chain: 'input', text: 'ct state established,related accept', why: 'ct expression' },
      { table: 'inet filter', chain: 'input', text: 'ct state invalid drop', why: 'ct expression' },
      { table: 'inet filter', chain: 'forward', text: 'ct state established,related accept', why: 'ct expression' },
      { table: 'ip nat', chain: 'postrouting', text: 'ip saddr 192.0.2.0/24 oifname eth0 masquerade', why: 'masquerade' },
    ]);
    expect(s.exempts).toEqual([]);
  });

  it('notrack in raw-priority chains is an exemption', () => {
    const s = scan(parseNftRuleset(sample('nft-ruleset-notrack.json')));
    expect(s.tables).toEqual(['inet raw', 'inet filter']);
    expect(s.rules).toBe(6);
    expect(s.needsConntrack).toEqual([]);
    expect(s.exempts).toEqual([
      { table: 'inet raw', chain: 'prerouting', text: 'ip daddr 192.0.2.53 udp dport 53 notrack', why: 'notrack' },
      { table: 'inet raw', chain: 'prerouting', text: 'ip daddr 192.0.2.53 tcp dport 53 notrack', why: 'notrack' },
      { table: 'inet raw', chain: 'output', text: 'ip saddr 192.0.2.53 udp sport 53 notrack', why: 'notrack' },
      { table: 'inet raw', chain: 'output', text: 'ip saddr 192.0.2.53 tcp sport 53 notrack', why: 'notrack' },
    ]);
  });

  it('an empty ruleset: metainfo only', () => {
    expect(scan(parseNftRuleset(sample('nft-ruleset-empty.json')))).toEqual({ tables: [], rules: 0, needsConntrack: [], exempts: [] });
  });

  it('plain filter rules need nothing, though a comment says "ct" and "masquerade"', () => {
    const text = sample('nft-ruleset-plain.json');
    expect(text).toContain('"comment": "ssh from ct admins, no masquerade"');
    expect(scan(parseNftRuleset(text))).toEqual({ tables: ['inet filter'], rules: 5, needsConntrack: [], exempts: [] });
  });

  it('ct helper / ct timeout objects are not rules; the rules that set them, ct mark set and ct count are', () => {
    const s = scan(parseNftRuleset(sample('nft-ruleset-helper.json')));
    expect(s.tables).toEqual(['inet filter']);
    expect(s.rules).toBe(5);
    expect(s.needsConntrack).toEqual([
      { table: 'inet filter', chain: 'prerouting', text: 'ip daddr 192.0.2.21 tcp dport 21 ct helper set ftp-standard', why: 'ct helper' },
      { table: 'inet filter', chain: 'prerouting', text: 'ip daddr 192.0.2.53 udp dport 53 ct timeout set dns-short', why: 'ct timeout' },
      { table: 'inet filter', chain: 'forward', text: 'ct mark set 42', why: 'ct expression' },
      { table: 'inet filter', chain: 'forward', text: 'tcp flags syn ct count over 100 drop', why: 'ct count' },
    ]);
  });

  it('iptables-nft rules as nft shows them: xt matches and targets by name', () => {
    const s = scan(parseNftRuleset(sample('nft-ruleset-iptables-nft-docker.json')));
    expect(s.tables).toEqual(['ip nat', 'ip filter']);
    expect(s.rules).toBe(18);
    expect(s.needsConntrack.map((r) => [r.table, r.chain, r.why])).toEqual([
      ['ip nat', 'POSTROUTING', 'MASQUERADE target (xt)'],
      ['ip nat', 'POSTROUTING', 'MASQUERADE target (xt)'],
      ['ip nat', 'DOCKER', 'DNAT target (xt)'],
      ['ip filter', 'FORWARD', 'conntrack match (xt)'],
    ]);
    expect(s.needsConntrack[3]?.text).toBe('oifname docker0 xt match conntrack counter accept');
    // The same rules as iptables-nft-save prints them: the same count and the same needs.
    const text = scan(parseIptablesSave(sample('iptables-nft-save-docker.txt')));
    expect(text.rules).toBe(s.rules);
    expect(text.needsConntrack).toHaveLength(s.needsConntrack.length);
  });
});

describe('parseNftRuleset: what needs conntrack', () => {
  it.each([
    ['ct state match', [{ match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } }, accept], 'ct expression'],
    ['ct direction key', [{ match: { op: '==', left: { ct: { key: 'saddr', dir: 'original' } }, right: '192.0.2.1' } }, accept], 'ct expression'],
    ['ct mark set (a mangle statement)', [{ mangle: { key: { ct: { key: 'mark' } }, value: 1 } }], 'ct expression'],
    ['ct zone set', [{ mangle: { key: { ct: { key: 'zone' } }, value: 3 } }], 'ct expression'],
    ['ct state in a verdict map', [{ vmap: { key: { ct: { key: 'state' } }, data: { set: [['established', accept]] } } }], 'ct expression'],
    ['masquerade with a port range', [{ masquerade: { port: { range: [1024, 65535] } } }], 'masquerade'],
    ['snat', [{ snat: { addr: '192.0.2.1' } }], 'snat'],
    ['dnat', [tcpDport(80), { dnat: { addr: '192.0.2.2', port: 8080 } }], 'dnat'],
    ['redirect', [tcpDport(80), { redirect: { port: 3128 } }], 'redirect'],
    ['ct helper set', [{ 'ct helper': 'ftp-standard' }], 'ct helper'],
    ['ct timeout set', [{ 'ct timeout': 'dns-short' }], 'ct timeout'],
    ['ct expectation set', [{ 'ct expectation': 'e1' }], 'ct expectation'],
    ['ct count', [{ 'ct count': { val: 10, inv: true } }, { drop: null }], 'ct count'],
    ['flow offload', [{ flow: { op: 'add', flowtable: '@ft' } }], 'flow offload'],
    ['synproxy', [{ synproxy: { mss: 1460, wscale: 7 } }], 'synproxy'],
    ['xt conntrack match', [{ xt: { type: 'match', name: 'conntrack' } }, accept], 'conntrack match (xt)'],
    ['xt connmark match', [{ xt: { type: 'match', name: 'connmark' } }, accept], 'connmark match (xt)'],
    ['xt CONNMARK target', [{ xt: { type: 'target', name: 'CONNMARK' } }], 'CONNMARK target (xt)'],
    // JSON leaves out xt options: CT --helper and CT --notrack look the same.
    ['xt CT target', [{ xt: { type: 'target', name: 'CT' } }], 'CT target (xt)'],
  ])('%s', (_, expr, why) => {
    expect(verdict(expr)).toEqual([why, 'need']);
  });

  it('the first reason in the rule is the one given', () => {
    expect(verdict([{ match: { op: 'in', left: { ct: { key: 'state' } }, right: 'new' } }, { dnat: { addr: '192.0.2.2' } }])).toEqual([
      'ct expression',
      'need',
    ]);
    expect(verdict([{ masquerade: null }, { mangle: { key: { ct: { key: 'mark' } }, value: 1 } }])).toEqual(['masquerade', 'need']);
  });

  it('notrack exempts, also when the rule has a ct expression; xt NOTRACK too', () => {
    expect(verdict([tcpDport(53), { notrack: null }])).toEqual(['notrack', 'exempt']);
    expect(verdict([{ mangle: { key: { ct: { key: 'zone' } }, value: 2 } }, { notrack: null }])).toEqual(['notrack', 'exempt']);
    expect(verdict([{ xt: { type: 'target', name: 'NOTRACK' } }])).toEqual(['NOTRACK target (xt)', 'exempt']);
  });

  it.each([
    ['a set named ct', [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@ct' } }, accept]],
    ['a jump to a chain named masquerade', [{ jump: { target: 'masquerade' } }]],
    ['a string value "notrack"', [{ match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'notrack' } }, accept]],
    ['meta mark, not ct mark', [{ mangle: { key: { meta: { key: 'mark' } }, value: 1 } }]],
    ['xt matches that need nothing', [{ xt: { type: 'match', name: 'addrtype' } }, { xt: { type: 'match', name: 'statistic' } }, accept]],
    ['an xt target called like a match', [{ xt: { type: 'target', name: 'conntrack' } }]],
    ['an xt match called like a target', [{ xt: { type: 'match', name: 'MASQUERADE' } }]],
    ['a lower-case xt target', [{ xt: { type: 'target', name: 'masquerade' } }]],
    ['a counter, log and limit', [{ counter: { packets: 0, bytes: 0 } }, { log: { prefix: 'ct masquerade notrack' } }, { limit: { rate: 10, per: 'second' } }, accept]],
  ])('needs nothing: %s', (_, expr) => {
    expect(verdict(expr)).toBeUndefined();
  });
});

describe('parseNftRuleset: unknown shapes are skipped', () => {
  it('non-object items, rules missing names, objects of future kinds', () => {
    const text = JSON.stringify({
      nftables: [
        META,
        null,
        42,
        'rule',
        [{ rule: {} }],
        { table: 'not an object' },
        { table: { family: 'ip', name: 7 } },
        { rule: { family: 'ip', table: 'nat', expr: [{ masquerade: null }] } },
        { rule: 'not an object' },
        { rule: { family: 'ip', table: 'nat', chain: 'post', expr: 'not an array' } },
        { rule: { family: 'ip', table: 'nat', chain: 'post' } },
        { rule: { family: 'ip', table: 'nat', chain: 'post', expr: [{ future: { masquerade: null } }] } },
        { 'some future object': { family: 'inet', masquerade: null } },
        { chain: { family: 'ip', table: 'nat', name: 'pre', type: 'nat', hook: 'prerouting', prio: -100 } },
      ],
    });
    const s = scan(parseNftRuleset(text));
    // A rule whose table object was never printed still names its table.
    expect(s.tables).toEqual(['ip nat']);
    expect(s.rules).toBe(3);
    // Keys anywhere in a rule's expressions count, even under a key this parser does not know.
    expect(s.needsConntrack.map((r) => r.why)).toEqual(['masquerade']);
  });

  it('JSON keys that are special to JavaScript are just keys', () => {
    const text = '{"nftables": [{"rule": {"family": "inet", "table": "filter", "chain": "input", "expr": [{"__proto__": {"ct": {"key": "state"}}}, {"constructor": null}]}}]}';
    const s = scan(parseNftRuleset(text));
    expect(s.rules).toBe(1);
    expect(s.needsConntrack.map((r) => r.why)).toEqual(['ct expression']);
  });

  it('extra top-level keys are ignored', () => {
    expect(scan(parseNftRuleset('{"nftables": [], "other": 1}'))).toEqual({ tables: [], rules: 0, needsConntrack: [], exempts: [] });
  });
});

describe('parseNftRuleset: refusals', () => {
  it.each([
    ['empty text', '', /^it is empty$/],
    ['whitespace', ' \n', /^it is empty$/],
    ['text that is not JSON', 'table inet filter {\n', /^it is not JSON: /],
    ['truncated JSON', sample('nft-ruleset-ct.json').slice(0, 500), /^it is not JSON: /],
    ['an error message', 'Error: Could not process rule: Operation not permitted', /^it is not JSON: /],
    ['two documents', '{"nftables": []}{"nftables": []}', /^it is not JSON: /],
    ['null', 'null', /no 'nftables' array/],
    ['an array', '[]', /no 'nftables' array/],
    ['an object without nftables', '{}', /no 'nftables' array/],
    ['nftables not an array', '{"nftables": {"rule": {}}}', /no 'nftables' array/],
    ['a string', '"nftables"', /no 'nftables' array/],
  ])('%s', (_, text, pattern) => {
    expect(reason(parseNftRuleset(text))).toMatch(pattern);
  });
});

describe('parseNftRuleset: hostile input never throws', () => {
  const deep = (depth: number, leaf: string) => '{"a":['.repeat(depth) + leaf + ']}'.repeat(depth);
  const hostile: Array<[string, unknown]> = [
    ['1 MB of NUL bytes', '\0'.repeat(1 << 20)],
    ['a 1 MB string', `"${'x'.repeat(1 << 20)}"`],
    ['binary noise', Array.from({ length: 65536 }, (_, i) => String.fromCharCode((i * 7919) % 65536)).join('')],
    ['nesting 200k deep outside the rules', `{"nftables": [${deep(200_000, '1')}]}`],
    ['not a string', 12],
    ['undefined', undefined],
  ];
  it.each(hostile)('%s', (_, input) => {
    const result = parseNftRuleset(input as string);
    expect(typeof result.ok).toBe('boolean');
    if (!result.ok) expect(result.reason.length).toBeLessThan(200);
  });

  it('nesting 200k deep inside a rule is walked without recursion', () => {
    const expr = `[${deep(200_000, '{"ct": {"key": "state"}}')}]`;
    const text = `{"nftables": [{"rule": {"family": "inet", "table": "filter", "chain": "input", "expr": ${expr}}}]}`;
    const s = scan(parseNftRuleset(text));
    expect(s.rules).toBe(1);
    // The walk stops at its node budget: past it, a rule is read as far as it got.
    expect(s.needsConntrack.length).toBeLessThanOrEqual(1);
    expect(s.needsConntrack[0]?.text.length ?? 0).toBeLessThanOrEqual(MAX_RULE_TEXT + 3);
  });

  it('a ct key just inside the budget is found', () => {
    const expr = `[${deep(1000, '{"ct": {"key": "state"}}')}]`;
    const text = `{"nftables": [{"rule": {"family": "inet", "table": "filter", "chain": "input", "expr": ${expr}}}]}`;
    expect(scan(parseNftRuleset(text)).needsConntrack.map((r) => r.why)).toEqual(['ct expression']);
  });

  it('a 1 MB value, a huge array and control characters give a bounded, printable text', () => {
    const big = 'a|\x01'.repeat(1 << 18);
    const s = scan(
      parseNftRuleset(
        ruleset([
          { match: { op: '==', left: { meta: { key: 'iifname' } }, right: big } },
          { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: { set: Array.from({ length: 100_000 }, (_, i) => i) } } },
          { masquerade: null },
        ]),
      ),
    );
    const text = s.needsConntrack[0]?.text ?? '';
    expect(text.length).toBeLessThanOrEqual(MAX_RULE_TEXT + 3);
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\x00-\x1f|]/);
  });

  it('100k rules are all counted', () => {
    const exprs = Array.from({ length: 100_000 }, (_, i) => (i % 2 === 0 ? [{ masquerade: null }] : [tcpDport(i % 65536), accept]));
    const s = scan(parseNftRuleset(ruleset(...exprs)));
    expect(s.rules).toBe(100_000);
    expect(s.needsConntrack).toHaveLength(50_000);
  });
});

describe('renderNftExpr', () => {
  it('reads like nft list ruleset for the usual shapes', () => {
    expect(
      renderNftExpr([
        { match: { op: '!=', left: { meta: { key: 'oifname' } }, right: 'docker0' } },
        { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: { set: ['tcp', 'udp'] } } },
        { match: { op: '==', left: { payload: { protocol: 'th', field: 'dport' } }, right: { range: [1000, 2000] } } },
        { counter: { packets: 1, bytes: 2 } },
        { snat: { addr: '192.0.2.1', port: 1024 } },
      ]),
    ).toBe('oifname != docker0 meta l4proto { tcp, udp } th dport 1000-2000 counter snat to 192.0.2.1:1024');
    expect(renderNftExpr([{ flow: { op: 'add', flowtable: '@ft' } }, { jump: { target: 'x' } }, { goto: { target: 'y' } }])).toBe('flow add @ft jump x goto y');
    expect(renderNftExpr([{ weird: { nested: [1, 2] } }])).toBe('weird {"nested":[1,2]}');
    expect(renderNftExpr('not an array')).toBe('');
  });
});

describe('mergeScans over iptables and nft', () => {
  it('nft tables keep their family, iptables tables do not', () => {
    const merged = mergeScans([
      scan(parseIptablesSave(sample('iptables-save-raw-notrack.txt'))),
      scan(parseNftRuleset(sample('nft-ruleset-ct.json'))),
      scan(parseNftRuleset(sample('nft-ruleset-notrack.json'))),
    ]);
    expect(merged.tables).toEqual(['filter', 'raw', 'inet filter', 'ip nat', 'inet raw']);
    expect(merged.rules).toBe(9 + 9 + 6);
    expect(merged.needsConntrack).toHaveLength(1 + 4);
    expect(merged.exempts).toHaveLength(4 + 4);
  });
});
