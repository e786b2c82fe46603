import { IptablesSaveScan } from '../parse/iptables-save';
import { mergeScans, type RuleScan, type RuleScanParse } from '../parse/rule-scan';
import { NftTextScan, parseNftTables } from '../parse/nft-text';
import { NFT_RULESET, NFT_TABLE_NAME, NFT_TABLES, nftListTable, RULE_LISTINGS, RULE_LISTINGS_PLAIN, type CommandSpec } from './commands';
import { listingGates } from './listing-gates';
import type { Privileges } from './privileges';
import { findProgram, runCommand, streamCommand } from './run-command';

export type RulesMeasurement =
  | { readonly status: 'ok'; readonly scan: RuleScan; readonly sources: string[]; readonly failures: string[] }
  /** The rules could not be listed: why, and what would allow it. */
  /** attempted: listings were run and all failed (this time), as opposed to a host where they cannot run. */
  | { readonly status: 'unreadable'; readonly reasons: string[]; readonly attempted?: boolean };

export interface RulesRequest {
  readonly procRoot: string;
  /** Where /sys is, for whether nf_tables is loaded; /sys unless told. */
  readonly sysRoot?: string;
  readonly privileges: Privileges;
  readonly sudo: boolean;
  readonly signal: AbortSignal;
  /** When every program it starts must be gone (ms since the epoch). */
  readonly deadlineMs: number;
}

export const RULES_FIX =
  "run as root, or use --sudo with the sudoers lines from the README (they allow the -save listings and 'nft list ruleset', nothing else)";

/**
 * A listing's output is read as it comes and never kept: the cap only bounds
 * the time a program that floods can take. A 20,000-rule dump is some 6 MB.
 */
const MAX_LISTING_BYTES = 16 * 1024 * 1024;
/** No line of a listing is this long; one that is means the output is not a listing. */
const MAX_LINE_CHARS = 1024 * 1024;

interface Scanner {
  line(text: string): boolean;
  end(): RuleScanParse;
}

type Listing = { readonly label: string; readonly scan?: RuleScan; readonly failure?: string };

const needs = (listings: readonly Listing[]) => listings.some((l) => l.scan && l.scan.needsConntrack.length > 0);

/**
 * Runs one listing and feeds its output to `scanner` line by line. The scanner
 * stops the program when it has what the verdict needs (the first rule that
 * needs conntrack) or when the text is not what the program prints.
 */
async function list(spec: CommandSpec, scanner: Scanner, request: RulesRequest, sudo: boolean): Promise<Listing> {
  const decoder = new TextDecoder();
  let carry = '';
  let bytes = 0;
  let overflow: string | undefined;
  let stopped = false;
  const outcome = await streamCommand(spec, { signal: request.signal, deadlineMs: request.deadlineMs, sudo }, (chunk) => {
    bytes += chunk.length;
    if (bytes > MAX_LISTING_BYTES) overflow = `more than ${MAX_LISTING_BYTES >> 20} MiB of output`;
    const text = carry + decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0 && !stopped; nl = text.indexOf('\n', start)) {
      stopped = !scanner.line(text.slice(start, nl));
      start = nl + 1;
    }
    carry = text.slice(start);
    if (carry.length > MAX_LINE_CHARS) overflow = `a line of more than ${MAX_LINE_CHARS} characters`;
    return !stopped && overflow === undefined;
  });
  if (outcome.status !== 'ok') return { label: outcome.label, failure: `${outcome.label}: ${outcome.reason ?? outcome.status}` };
  if (overflow !== undefined && !stopped) return { label: outcome.label, failure: `${outcome.label}: stopped after ${overflow}` };
  if (!stopped && !outcome.truncated) {
    const last = carry + decoder.decode();
    if (last !== '') scanner.line(last);
  }
  const parsed = scanner.end();
  return parsed.ok
    ? { label: outcome.label, scan: parsed.scan }
    : { label: outcome.label, failure: `${outcome.label}: unexpected output: ${parsed.reason}` };
}

const familyOf = (program: string): 'ip' | 'ip6' => (program.startsWith('ip6') ? 'ip6' : 'ip');

async function installed(specs: readonly CommandSpec[]): Promise<CommandSpec[]> {
  const found = await Promise.all(specs.map(async (c) => ((await findProgram(c.program)) ? c : undefined)));
  return found.filter((c): c is CommandSpec => c !== undefined);
}

/**
 * With this many iptables-nft rules read, nft would spend more fetching and
 * translating them again (`nft list ruleset`) than `nft list tables` (which,
 * in nft 1.0, fetches every rule too, but prints none) and one `nft list
 * table` per other table.
 */
const MANY_XTABLES_RULES = 1000;

/**
 * What the -save dumps cannot show: the native nftables tables, and the tables
 * with an iptables name that a dump calls incompatible. `covered` are the
 * tables a dump showed ('family name').
 */
async function nativeListings(request: RulesRequest, sudo: boolean, covered: Set<string>, xtRules: number): Promise<Listing[]> {
  const stopAtNeed = { stopAtNeed: true };
  if (sudo || xtRules < MANY_XTABLES_RULES)
    return [await list(NFT_RULESET, new NftTextScan({ ...stopAtNeed, skip: covered }), request, sudo)];
  const tables = await runCommand(NFT_TABLES, { signal: request.signal, deadlineMs: request.deadlineMs, sudo, maxBytes: 1024 * 1024 });
  const parsed = tables.status === 'ok' && !tables.truncated ? parseNftTables(tables.stdout) : undefined;
  if (!parsed?.ok) {
    return [
      {
        label: tables.label,
        failure: `${tables.label}: ${tables.status !== 'ok' ? (tables.reason ?? tables.status) : parsed ? `unexpected output: ${parsed.reason}` : 'output cut off'}`,
      },
    ];
  }
  const native = parsed.tables.filter((t) => !covered.has(`${t.family} ${t.name}`));
  // nft joins its arguments into one command line: an odd name is read as more words.
  if (!native.every((t) => NFT_TABLE_NAME.test(t.name)))
    return [await list(NFT_RULESET, new NftTextScan({ ...stopAtNeed, skip: covered }), request, sudo)];
  return [
    { label: tables.label, scan: mergeScans([]) },
    ...(await Promise.all(native.map((t) => list(nftListTable(t.family, t.name), new NftTextScan(stopAtNeed), request, sudo)))),
  ];
}

/**
 * The listings to run, and only those that can show something and load no
 * module: each program started costs more than the rest of a check, and a
 * listing stops at the first rule that needs conntrack (the verdict needs no
 * more). The -save dumps go first (on a Kubernetes node they answer alone);
 * nft, which costs most, only when they have found no such rule.
 */
async function runListings(request: RulesRequest, sudo: boolean): Promise<{ listings: Listing[]; notes: string[] }> {
  const gates = await listingGates({ procRoot: request.procRoot, sysRoot: request.sysRoot ?? '/sys' });
  const split = await installed(RULE_LISTINGS);
  // Hosts older than the -legacy/-nft split have only the legacy tools, under the plain names.
  const legacyTools = split.length > 0 ? split.filter((c) => c.program.includes('-legacy-')) : await installed(RULE_LISTINGS_PLAIN);
  const legacy = legacyTools.filter((c) => gates.legacy[familyOf(c.program)]);
  const nftSaves = gates.nfTables ? split.filter((c) => c.program.includes('-nft-')) : [];

  const covered = new Set<string>();
  let xtRules = 0;
  const save = async (spec: CommandSpec, nftables: boolean): Promise<Listing> => {
    const scanner = new IptablesSaveScan({ stopAtNeed: true });
    const listing = await list(spec, scanner, request, sudo);
    if (nftables && listing.scan) {
      const family = familyOf(spec.program);
      xtRules += listing.scan.rules;
      // What the dump could not show, nft must.
      for (const table of listing.scan.tables) if (!scanner.incompatible.includes(table)) covered.add(`${family} ${table}`);
    }
    return listing;
  };
  const listings = await Promise.all([...legacy.map((c) => save(c, false)), ...nftSaves.map((c) => save(c, true))]);
  if (!gates.nfTables || needs(listings) || !(await findProgram(NFT_RULESET.program))) return { listings, notes: gates.notes };
  return { listings: [...listings, ...(await nativeListings(request, sudo, covered, xtRules))], notes: gates.notes };
}

export async function probeRules(request: RulesRequest): Promise<RulesMeasurement> {
  // The listings answer for the namespace this process runs in, not for a
  // tree named with --proc.
  if (request.procRoot !== '/proc')
    return {
      status: 'unreadable',
      reasons: [`rules are not listed with --proc ${request.procRoot}: the listings would show this host's rules`],
    };
  const sudo = !request.privileges.netAdmin;
  if (sudo && !request.sudo) return { status: 'unreadable', reasons: [`listing rules needs CAP_NET_ADMIN: ${RULES_FIX}`] };

  const anything = await Promise.all([...RULE_LISTINGS, ...RULE_LISTINGS_PLAIN, NFT_TABLES].map((c) => findProgram(c.program)));
  if (!anything.some(Boolean)) return { status: 'unreadable', reasons: ['neither iptables-save nor nft is installed'] };
  const { listings, notes } = await runListings(request, sudo);
  const scans = listings.flatMap((l) => (l.scan ? [l.scan] : []));
  const failures = listings.flatMap((l) => (l.failure ? [l.failure] : []));
  // Nothing listed because nothing is loaded: no rules, as the notes say.
  if (scans.length === 0 && failures.length === 0) return { status: 'ok', scan: mergeScans([]), sources: notes, failures };
  if (scans.length === 0) return { status: 'unreadable', reasons: failures, attempted: true };
  return { status: 'ok', scan: mergeScans(scans), sources: [...listings.filter((l) => l.scan).map((l) => l.label), ...notes], failures };
}
