import { IptablesSaveScan, mergeScans, type RuleScan, type RuleScanParse } from '../parse/iptables-save';
import { NftTextScan, parseNftTables, type NftTable } from '../parse/nft-text';
import { NFT_RULESET, NFT_TABLE_NAME, NFT_TABLES, nftListTable, RULE_LISTINGS, RULE_LISTINGS_PLAIN, type CommandSpec } from './commands';
import { listingGates } from './listing-gates';
import type { Privileges } from './privileges';
import { findProgram, runCommand, streamCommand } from './run-command';

export type RulesMeasurement =
  | { readonly status: 'ok'; readonly scan: RuleScan; readonly sources: string[]; readonly failures: string[] }
  /** The rules could not be listed: why, and what would allow it. */
  | { readonly status: 'unreadable'; readonly reasons: string[] };

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

export const RULES_FIX = "run as root, or use --sudo with the sudoers lines from the README (they allow the -save listings, 'nft list tables' and 'nft list ruleset', nothing else)";

/** The tables iptables-nft makes; the -nft-save dumps show their rules exactly (`-j CT --notrack` apart from `-j CT`). */
const XTABLES = new Set(['filter', 'nat', 'mangle', 'raw', 'security']);

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
  return parsed.ok ? { label: outcome.label, scan: parsed.scan } : { label: outcome.label, failure: `${outcome.label}: unexpected output: ${parsed.reason}` };
}

const familyOf = (program: string): 'ip' | 'ip6' => (program.startsWith('ip6') ? 'ip6' : 'ip');

async function installed(specs: readonly CommandSpec[]): Promise<CommandSpec[]> {
  const found = await Promise.all(specs.map(async (c) => ((await findProgram(c.program)) ? c : undefined)));
  return found.filter((c): c is CommandSpec => c !== undefined);
}

/**
 * The nftables tables and the -nft-save dumps that cover them: iptables-nft's
 * own tables from its dumps, every other table from nft, each table once
 * (`nft list tables` costs next to nothing; the rules themselves are the cost).
 */
async function nftablesListings(request: RulesRequest, sudo: boolean, nftSaves: CommandSpec[], tables: NftTable[] | undefined): Promise<Listing[]> {
  const stopAtNeed = { stopAtNeed: true };
  const incompatible: NftTable[] = [];
  const save = async (spec: CommandSpec): Promise<Listing> => {
    const scanner = new IptablesSaveScan(stopAtNeed);
    const listing = await list(spec, scanner, request, sudo);
    incompatible.push(...scanner.incompatible.map((name) => ({ family: familyOf(spec.program), name })));
    return listing;
  };
  // nft reads `tables` (all of them but the skipped); sudoers can name only
  // fixed commands, and nft reads an odd name as more words: the whole ruleset then.
  const nft = (wanted: NftTable[], all: NftTable[]): Promise<Listing>[] => {
    if (wanted.length === 0) return [];
    if (!sudo && wanted.every((t) => NFT_TABLE_NAME.test(t.name))) return wanted.map((t) => list(nftListTable(t.family, t.name), new NftTextScan(stopAtNeed), request, sudo));
    const skip = new Set(all.filter((t) => !wanted.includes(t)).map((t) => `${t.family} ${t.name}`));
    return [list(NFT_RULESET, new NftTextScan({ ...stopAtNeed, skip }), request, sudo)];
  };
  if (tables === undefined) return Promise.all(nftSaves.map(save));
  // A dump per family nft shows: cheap beside the rules, and exact about iptables-nft's own.
  const saves = nftSaves.filter((c) => tables.some((t) => t.family === familyOf(c.program)));
  const covered = (t: NftTable) => XTABLES.has(t.name) && saves.some((c) => familyOf(c.program) === t.family);
  const listings = await Promise.all([...saves.map(save), ...nft(tables.filter((t) => !covered(t)), tables)]);
  if (needs(listings)) return listings;
  // What a dump could not show (native chains in a table with an iptables name), nft shows.
  const again = tables.filter((t) => covered(t) && incompatible.some((i) => i.family === t.family && i.name === t.name));
  return [...listings, ...(await Promise.all(nft(again, tables)))];
}

/**
 * The listings to run, and only those that can show something and load no
 * module: each program started costs more than the rest of a check, and a
 * listing stops at the first rule that needs conntrack (the verdict needs no
 * more). Once one has found such a rule, no further listing starts.
 */
async function runListings(request: RulesRequest, sudo: boolean): Promise<{ listings: Listing[]; notes: string[] }> {
  const gates = await listingGates({ procRoot: request.procRoot, sysRoot: request.sysRoot ?? '/sys' });
  const stopAtNeed = { stopAtNeed: true };
  const run = (spec: CommandSpec, scanner: Scanner) => list(spec, scanner, request, sudo);
  const split = await installed(RULE_LISTINGS);
  // Hosts older than the -legacy/-nft split have only the legacy tools, under the plain names.
  const legacyTools = split.length > 0 ? split.filter((c) => c.program.includes('-legacy-')) : await installed(RULE_LISTINGS_PLAIN);
  const legacy = legacyTools.filter((c) => gates.legacy[familyOf(c.program)]);
  const nft = gates.nfTables && (await findProgram(NFT_TABLES.program)) !== undefined;

  const [first, tables] = await Promise.all([
    Promise.all(legacy.map((c) => run(c, new IptablesSaveScan(stopAtNeed)))),
    nft ? runCommand(NFT_TABLES, { signal: request.signal, deadlineMs: request.deadlineMs, sudo, maxBytes: 1024 * 1024 }) : undefined,
  ]);
  const listings = [...first];
  let nftTables: NftTable[] | undefined;
  if (tables) {
    const parsed = tables.status === 'ok' && !tables.truncated ? parseNftTables(tables.stdout) : undefined;
    if (parsed?.ok) {
      nftTables = parsed.tables;
      listings.push({ label: tables.label, scan: mergeScans([]) });
    } else listings.push({ label: tables.label, failure: `${tables.label}: ${tables.status !== 'ok' ? (tables.reason ?? tables.status) : parsed ? `unexpected output: ${parsed.reason}` : 'output cut off'}` });
  }
  if (!gates.nfTables || needs(listings)) return { listings, notes: gates.notes };
  const nftSaves = split.filter((c) => c.program.includes('-nft-'));
  listings.push(...(await nftablesListings(request, sudo, nftSaves, nftTables)));
  return { listings, notes: gates.notes };
}

export async function probeRules(request: RulesRequest): Promise<RulesMeasurement> {
  // The listings answer for the namespace this process runs in, not for a
  // tree named with --proc.
  if (request.procRoot !== '/proc') return { status: 'unreadable', reasons: [`rules are not listed with --proc ${request.procRoot}: the listings would show this host's rules`] };
  const sudo = !request.privileges.netAdmin;
  if (sudo && !request.sudo) return { status: 'unreadable', reasons: [`listing rules needs CAP_NET_ADMIN: ${RULES_FIX}`] };

  const anything = await Promise.all([...RULE_LISTINGS, ...RULE_LISTINGS_PLAIN, NFT_TABLES].map((c) => findProgram(c.program)));
  if (!anything.some(Boolean)) return { status: 'unreadable', reasons: ['neither iptables-save nor nft is installed'] };
  const { listings, notes } = await runListings(request, sudo);
  const scans = listings.flatMap((l) => (l.scan ? [l.scan] : []));
  const failures = listings.flatMap((l) => (l.failure ? [l.failure] : []));
  // Nothing listed because nothing is loaded: no rules, as the notes say.
  if (scans.length === 0 && failures.length === 0) return { status: 'ok', scan: mergeScans([]), sources: notes, failures };
  if (scans.length === 0) return { status: 'unreadable', reasons: failures };
  return { status: 'ok', scan: mergeScans(scans), sources: [...listings.filter((l) => l.scan).map((l) => l.label), ...notes], failures };
}
