import { declaredChains, mergeScans, parseIptablesSave, type RuleScan } from '../parse/iptables-save';
import { parseNftRuleset } from '../parse/nft-ruleset';
import { NFT_RULESET, RULE_LISTINGS, RULE_LISTINGS_PLAIN, type CommandSpec } from './commands';
import type { Privileges } from './privileges';
import { findProgram, runCommand } from './run-command';

export type RulesMeasurement =
  | { readonly status: 'ok'; readonly scan: RuleScan; readonly sources: string[]; readonly failures: string[] }
  /** The rules could not be listed: why, and what would allow it. */
  | { readonly status: 'unreadable'; readonly reasons: string[] };

export interface RulesRequest {
  readonly procRoot: string;
  readonly privileges: Privileges;
  readonly sudo: boolean;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

export const RULES_FIX = "run as root, or use --sudo with the sudoers lines from the README (they allow the -save listings and 'nft -j list ruleset', nothing else)";

/** Which listings this host has: both iptables backends where they exist, the plain names where they do not, and nft. */
async function listingsFor(): Promise<CommandSpec[]> {
  const split = [];
  for (const c of RULE_LISTINGS) if (await findProgram(c.program)) split.push(c);
  const iptables = split.length ? split : (await Promise.all(RULE_LISTINGS_PLAIN.map(async (c) => ((await findProgram(c.program)) ? c : undefined)))).filter((c): c is CommandSpec => c !== undefined);
  return (await findProgram(NFT_RULESET.program)) ? [...iptables, NFT_RULESET] : iptables;
}

export async function probeRules(request: RulesRequest): Promise<RulesMeasurement> {
  // The listings answer for the namespace this process runs in, not for a
  // tree named with --proc.
  if (request.procRoot !== '/proc') return { status: 'unreadable', reasons: [`rules are not listed with --proc ${request.procRoot}: the listings would show this host's rules`] };
  const sudo = !request.privileges.netAdmin;
  if (sudo && !request.sudo) return { status: 'unreadable', reasons: [`listing rules needs CAP_NET_ADMIN: ${RULES_FIX}`] };

  const listings = await listingsFor();
  if (listings.length === 0) return { status: 'unreadable', reasons: ['neither iptables-save nor nft is installed'] };
  const outcomes = await Promise.all(
    listings.map(async (spec) => ({ spec, outcome: await runCommand(spec, { signal: request.signal, timeoutMs: request.timeoutMs, sudo }) })),
  );
  const scans: RuleScan[] = [];
  const sources: string[] = [];
  const failures: string[] = [];
  // Chains iptables-nft made are nftables chains too: `nft -j` shows them
  // again (with -j CT --notrack as a bare "xt target CT"), so their rules are
  // taken from the -nft-save dumps only. Native chains beside them in the same
  // table (which those dumps leave out) still come from nft.
  const nftDumped = new Set<string>();
  for (const { spec, outcome } of outcomes) {
    if (outcome.status !== 'ok' || !spec.program.endsWith('-nft-save')) continue;
    const family = spec.program.startsWith('ip6') ? 'ip6' : 'ip';
    for (const chain of declaredChains(outcome.stdout)) nftDumped.add(`${family} ${chain}`);
  }
  for (const { spec, outcome } of outcomes) {
    if (outcome.status !== 'ok') {
      failures.push(`${outcome.label}: ${outcome.reason ?? outcome.status}`);
      continue;
    }
    const parsed = spec === NFT_RULESET ? parseNftRuleset(outcome.stdout) : parseIptablesSave(outcome.stdout);
    if (!parsed.ok) {
      failures.push(`${outcome.label}: unexpected output: ${parsed.reason}`);
      continue;
    }
    scans.push(spec === NFT_RULESET ? withoutChains(parsed.scan, nftDumped) : parsed.scan);
    sources.push(outcome.label);
  }
  if (scans.length === 0) return { status: 'unreadable', reasons: failures };
  return { status: 'ok', scan: mergeScans(scans), sources, failures };
}

/** A scan less the rules of the given `family table chain`s (the rule total loses the ones that mattered). */
export function withoutChains(scan: RuleScan, chains: ReadonlySet<string>): RuleScan {
  if (chains.size === 0) return scan;
  const keep = (r: { table: string; chain: string }) => !chains.has(`${r.table} ${r.chain}`);
  const needsConntrack = scan.needsConntrack.filter(keep);
  const exempts = scan.exempts.filter(keep);
  const dropped = scan.needsConntrack.length + scan.exempts.length - needsConntrack.length - exempts.length;
  return { ...scan, rules: Math.max(0, scan.rules - dropped), needsConntrack, exempts };
}
