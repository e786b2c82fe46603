/**
 * Kubernetes-sized rule sets for the benchmark, each in a network namespace
 * of its own (the host's rules are never touched): 20,000 iptables-nft rules
 * as kube-proxy's iptables mode makes them plus the one MASQUERADE rule, or
 * 20,000 native nftables rules in kube-proxy's nftables shape (`ct state
 * new` in its prerouting chain, `dnat to` in every endpoint chain).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mustRun, run } from './commands.mjs';

export const IP = '/usr/sbin/ip';
const NETNS_DIR = '/run/netns';

const octets = (i) => `${(i >> 8) & 255}.${i & 255}`;

/** iptables-nft-restore input: `rules` filter rules that need nothing, then nat's one MASQUERADE. */
export function iptablesRules(rules) {
  const lines = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':KUBE-SERVICES - [0:0]',
    '-A INPUT -j KUBE-SERVICES',
  ];
  for (let i = 0; i < rules - 1; i++) {
    lines.push(
      `-A KUBE-SERVICES -d 10.96.${octets(i)}/32 -p tcp -m comment --comment "default/svc-${i}:http cluster IP" -m tcp --dport 80 -j ACCEPT`,
    );
  }
  lines.push('COMMIT', '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]');
  lines.push('-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE', 'COMMIT', '');
  return lines.join('\n');
}

/** nft -f input: kube-proxy's nftables mode, about `rules` rules (6 a service with two endpoints). */
export function nftRules(rules) {
  const services = Math.ceil((rules - 6) / 6);
  const out = [
    'table ip kube-proxy {',
    '  chain mark-for-masquerade { meta mark set meta mark | 0x00004000; }',
    '  chain masquerading { type nat hook postrouting priority srcnat; policy accept; meta mark & 0x00004000 == 0x00000000 return; meta mark set meta mark ^ 0x00004000; masquerade fully-random; }',
    '  chain firewall-check { }',
    '  chain filter-prerouting { type filter hook prerouting priority dstnat - 10; policy accept; ct state new jump firewall-check; }',
    '  chain services { }',
    '  chain nat-prerouting { type nat hook prerouting priority dstnat; policy accept; jump services; }',
  ];
  for (let s = 0; s < services; s++) {
    for (const k of [0, 1]) {
      const ep = `10.244.${octets(s * 2 + k)}`;
      out.push(`  chain endpoint-${s}-${k} { ip saddr ${ep} jump mark-for-masquerade; meta l4proto tcp dnat to ${ep}:8080; }`);
    }
    out.push(
      `  chain service-${s} { ip daddr 10.96.${octets(s)} tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade; numgen random mod 2 vmap { 0 : goto endpoint-${s}-0, 1 : goto endpoint-${s}-1 }; }`,
    );
    out.push(`  add rule ip kube-proxy services ip daddr 10.96.${octets(s)} tcp dport 80 goto service-${s}`);
  }
  out.push('}', '');
  // `add rule` is not valid inside a table block: those lines go after it.
  const inside = out.filter((l) => !l.startsWith('  add rule'));
  const after = out.filter((l) => l.startsWith('  add rule')).map((l) => l.trim());
  return [...inside, ...after, ''].join('\n');
}

export function deleteNamespace(name) {
  if (!existsSync(join(NETNS_DIR, name))) return true;
  const r = run([IP, 'netns', 'delete', name], 60_000);
  return r.status === 0 || !existsSync(join(NETNS_DIR, name));
}

/** A namespace holding `text` loaded with `loader` (argv taking the file): iptables-nft-restore or nft -f. */
export function namespaceWith(name, loader, text, scratch) {
  deleteNamespace(name);
  mustRun([IP, 'netns', 'add', name]);
  const file = join(scratch, `${name}.rules`);
  writeFileSync(file, text);
  mustRun([IP, 'netns', 'exec', name, ...loader, file], 120_000);
  mustRun([IP, 'netns', 'exec', name, IP, 'link', 'set', 'lo', 'up']);
}
