import { describe, expect, it } from 'vitest';
import { IptablesSaveScan, parseIptablesSave } from '../../src/parse/iptables-save';
import { NftTextScan, parseNftTables, parseNftText } from '../../src/parse/nft-text';
import { classifyNftWords } from '../../src/parse/rule-policy';
import { reason, sample, scan } from '../support/rule-scans';

const refs = (rs: { table: string; chain: string; why: string }[]) => rs.map((r) => `${r.why}: ${r.table} ${r.chain}`);
const wordsOf = (rule: string) => rule.split(' ');

describe('parseNftTables: nft list tables', () => {
  it('reads each table, bare names as nft prints them', () => {
    expect(parseNftTables('table ip kube-proxy\ntable ip nat\ntable inet fw\n')).toEqual({
      ok: true,
      tables: [
        { family: 'ip', name: 'kube-proxy' },
        { family: 'ip', name: 'nat' },
        { family: 'inet', name: 'fw' },
      ],
    });
    expect(parseNftTables('')).toEqual({ ok: true, tables: [] });
  });

  it.each([
    ['JSON', '{"nftables": []}'],
    ['an unknown family', 'table foo x'],
    ['a rule', 'table ip nat {'],
    ['garbage', '\x7fELF garbage'],
  ])('refuses %s', (_what, text) => {
    const r = parseNftTables(text);
    expect(r.ok).toBe(false);
  });
});

describe('parseNftText: nft list ruleset / list table, as text', () => {
  it('kube-proxy in nftables mode: ct state, masquerade and dnat need conntrack; sets and maps hold no rules; a redirect message type and a log prefix do not', () => {
    const s = scan(parseNftText(sample('nft-list-table-kube-proxy.txt')));
    expect(s.tables).toEqual(['ip kube-proxy']);
    expect(s.rules).toBe(14);
    expect(refs(s.needsConntrack)).toEqual([
      'ct expression: ip kube-proxy filter-prerouting',
      'masquerade: ip kube-proxy masquerading',
      'dnat: ip kube-proxy endpoint-XYZ-default/kubernetes/tcp/https__172.18.0.2/6443',
    ]);
    expect(s.needsConntrack[0]!.text).toBe('ct state new jump firewall-check');
    expect(s.exempts).toEqual([]);
  });

  it('iptables-nft tables as nft prints them, beside native ones; notrack exempts', () => {
    const s = scan(parseNftText(sample('nft-list-ruleset-mixed.txt')));
    expect(s.tables).toEqual(['ip nat', 'ip filter', 'ip raw', 'inet fw', 'inet plain']);
    expect(s.rules).toBe(7);
    expect(refs(s.needsConntrack)).toEqual([
      'masquerade: ip nat POSTROUTING',
      'ct expression: ip filter INPUT',
      'ct expression: inet fw in',
    ]);
    expect(refs(s.exempts)).toEqual(['notrack: ip raw PREROUTING', 'notrack: inet fw in']);
  });

  it('skips the tables another listing reads', () => {
    const s = scan(parseNftText(sample('nft-list-ruleset-mixed.txt'), { skip: new Set(['ip nat', 'ip filter', 'ip raw']) }));
    expect(s.tables).toEqual(['inet fw', 'inet plain']);
    expect(refs(s.needsConntrack)).toEqual(['ct expression: inet fw in']);
  });

  it('stops at the first rule that needs conntrack, and says so', () => {
    const lines = sample('nft-list-table-kube-proxy.txt').split('\n');
    const scanner = new NftTextScan({ stopAtNeed: true });
    const fed = lines.findIndex((l) => !scanner.line(l));
    expect(lines[fed]!.trim()).toBe('ct state new jump firewall-check');
    const s = scan(scanner.end());
    expect(s.stoppedAtNeed).toBe(true);
    expect(refs(s.needsConntrack)).toEqual(['ct expression: ip kube-proxy filter-prerouting']);
  });

  it('a rule whose anonymous map spans lines is one rule', () => {
    const text =
      'table ip t {\n\tchain c {\n\t\tip daddr vmap {\n\t\t\t10.0.0.1 : goto a,\n\t\t\t10.0.0.2 : goto b\n\t\t}\n\t\tdnat to 10.0.0.9\n\t}\n}\n';
    const s = scan(parseNftText(text));
    expect(s.rules).toBe(2);
    expect(refs(s.needsConntrack)).toEqual(['dnat: ip t c']);
  });

  it.each([
    ['ct state established,related accept', 'ct expression'],
    ['ct count over 10 drop', 'ct count'],
    ['tcp dport 21 ct helper set "ftp-standard"', 'ct helper'],
    ['ct timeout set "short"', 'ct timeout'],
    ['meta mark set ct mark', 'ct expression'],
    ['ip protocol tcp flow add @ft', 'flow offload'],
    ['tcp dport 80 synproxy mss 1460 wscale 7', 'synproxy'],
    ['redirect to :8080', 'redirect'],
    ['snat to 192.0.2.1', 'snat'],
    ['xt match "conntrack" counter accept', 'conntrack match (xt)'],
    ['xt target "MASQUERADE"', 'MASQUERADE target (xt)'],
  ])('%s needs conntrack (%s)', (rule, why) => {
    expect(classifyNftWords(wordsOf(rule))).toEqual({ need: why });
  });

  it.each([
    'tcp dport 22 accept',
    'icmp type redirect drop',
    'jump dnat',
    'goto masquerade',
    'iifname "ct" accept',
    'ip saddr @ct drop',
    'ip daddr vmap { 10.0.0.1 : goto dnat }',
  ])('%s needs nothing', (rule) => {
    expect(classifyNftWords(wordsOf(rule))).toEqual({});
  });

  it('notrack exempts, even beside a ct expression', () => {
    expect(classifyNftWords(wordsOf('ct state new notrack'))).toEqual({ exempt: 'notrack' });
    expect(classifyNftWords(wordsOf('xt target "NOTRACK"'))).toEqual({ exempt: 'NOTRACK target (xt)' });
  });

  it.each([
    ['JSON', '{"nftables": [{"rule": {}}]}', /not a table of nft's listing/],
    ['an iptables-save dump', '*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n', /not a table of nft's listing/],
    ['a listing cut off in a table', 'table ip t {\n\tchain c {\n\t\tct state new accept\n', /cut short/],
  ])('refuses %s', (_what, text, pattern) => {
    expect(reason(parseNftText(text))).toMatch(pattern);
  });
});

describe('iptables-save, streamed a line at a time', () => {
  it('stops at the first rule that needs conntrack; without COMMIT that is no refusal', () => {
    const text = sample('iptables-nft-save-docker.txt');
    const whole = scan(parseIptablesSave(text));
    expect(whole.needsConntrack.length).toBeGreaterThan(1);
    const scanner = new IptablesSaveScan({ stopAtNeed: true });
    const lines = text.split('\n');
    const stoppedAt = lines.findIndex((l) => !scanner.line(l));
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeLessThan(lines.length - 1);
    const s = scan(scanner.end());
    expect(s.stoppedAtNeed).toBe(true);
    expect(s.needsConntrack).toEqual([whole.needsConntrack[0]]);
  });

  it('a dump cut off before any need is still refused', () => {
    const scanner = new IptablesSaveScan({ stopAtNeed: true });
    for (const l of ['*filter', ':INPUT ACCEPT [0:0]', '-A INPUT -p tcp --dport 22 -j ACCEPT']) expect(scanner.line(l)).toBe(true);
    expect(reason(scanner.end())).toMatch(/no COMMIT/);
  });
});
