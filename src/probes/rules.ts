import { declaredChains, mergeScans, parseIptablesSave, type RuleScan } from '../parse/iptables-save';
import { parseNftRuleset } from '../parse/nft-ruleset';
import { NFT_RULESET, RULE_LISTINGS, RULE_LISTINGS_PLAIN, type CommandSpec } from './commands';
import type { Privileges } from './privileges';
import { findProgram, runCommand, type CommandOutcome } from './run-command';
import { readSmallFile } from './file-read';
import { join } from 'node:path';

export type RulesMeasurement =
  | { readonly status: 'ok'; readonly scan: RuleScan; readonly sources: string[]; readonly failures: string[] }
  /** The rules could not be listed: why, and what would allow it. */
  /** attempted: listings were run and all failed (this time), as opposed to a host where they cannot run. */
  | { readonly status: 'unreadable'; readonly reasons: string[]; readonly attempted?: boolean };

export interface RulesRequest {
  readonly procRoot: string;
  readonly privileges: Privileges;
  readonly sudo: boolean;
  readonly signal: AbortSignal;
  /** When every program it starts must be gone (ms since the epoch). */
  readonly deadlineMs: number;
}

export const RULES_FIX = "run as root, or use --sudo with the sudoers lines from the README (they allow the -save listings and 'nft -j list ruleset', nothing else)";

/**
 * iptables-legacy keeps its table names in /proc/net/ip{,6}_tables_names: a
 * missing or empty file means no legacy table, and no listing to start. A file
 * that cannot be read (through --sudo) says nothing, so the listing runs.
 */
async function legacyTablesExist(procRoot: string, program: string): Promise<boolean> {
  const file = program.startsWith('ip6') ? 'net/ip6_tables_names' : 'net/ip_tables_names';
  const read = await readSmallFile(join(procRoot, file));
  if (read.status === 'missing') return false;
  return read.status !== 'ok' || read.text.trim() !== '';
}

type Outcome = { spec: CommandSpec; outcome: CommandOutcome };

/**
 * The listings to run, and only those that can show something: each program
 * started costs more than the rest of a check. nft shows every nftables
 * table, so the -nft-save dumps (which classify iptables-nft's own rules
 * exactly) run only for the families nft shows; without nft, they all run.
 */
async function runListings(request: RulesRequest, sudo: boolean): Promise<Outcome[]> {
  const run = async (spec: CommandSpec): Promise<Outcome> => ({ spec, outcome: await runCommand(spec, { signal: request.signal, deadlineMs: request.deadlineMs, sudo }) });
  const installed = async (specs: readonly CommandSpec[]) => (await Promise.all(specs.map(async (c) => ((await findProgram(c.program)) ? c : undefined)))).filter((c): c is CommandSpec => c !== undefined);
  const split = await installed(RULE_LISTINGS);
  if (split.length === 0) return Promise.all([...(await installed(RULE_LISTINGS_PLAIN)), ...(await installed([NFT_RULESET]))].map(run));

  const legacy = split.filter((c) => c.program.includes('-legacy-'));
  const nftSaves = split.filter((c) => c.program.includes('-nft-'));
  const [legacyOutcomes, nft] = await Promise.all([
    Promise.all((await Promise.all(legacy.map(async (c) => ((await legacyTablesExist(request.procRoot, c.program)) ? c : undefined)))).filter((c): c is CommandSpec => c !== undefined).map(run)),
    (await findProgram(NFT_RULESET.program)) ? run(NFT_RULESET) : undefined,
  ]);
  let wanted = nftSaves;
  if (nft?.outcome.status === 'ok') {
    const parsed = parseNftRuleset(nft.outcome.stdout);
    if (parsed.ok) {
      const families = new Set(parsed.scan.tables.map((t) => t.split(' ')[0]));
      wanted = nftSaves.filter((c) => families.has(c.program.startsWith('ip6') ? 'ip6' : 'ip'));
    }
  }
  return [...legacyOutcomes, ...(nft ? [nft] : []), ...(await Promise.all(wanted.map(run)))];
}

export async function probeRules(request: RulesRequest): Promise<RulesMeasurement> {
  // The listings answer for the namespace this process runs in, not for a
  // tree named with --proc.
  if (request.procRoot !== '/proc') return { status: 'unreadable', reasons: [`rules are not listed with --proc ${request.procRoot}: the listings would show this host's rules`] };
  const sudo = !request.privileges.netAdmin;
  if (sudo && !request.sudo) return { status: 'unreadable', reasons: [`listing rules needs CAP_NET_ADMIN: ${RULES_FIX}`] };

  const anything = await Promise.all([...RULE_LISTINGS, ...RULE_LISTINGS_PLAIN, NFT_RULESET].map((c) => findProgram(c.program)));
  if (!anything.some(Boolean)) return { status: 'unreadable', reasons: ['neither iptables-save nor nft is installed'] };
  const outcomes = await runListings(request, sudo);
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
  if (scans.length === 0) return { status: 'unreadable', reasons: failures, attempted: true };
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
