import { preview } from './printable';
import { classifyRuleTokens, mayConcernConntrack, type RuleClass } from './rule-policy';
import { emptyScan, ruleText, type RuleScanParse } from './rule-scan';

/** preview() of the start only: it would otherwise copy all of a 1 MB line first. */
function excerpt(text: string): string {
  return preview(text.length > 41 ? text.slice(0, 41) : text);
}

/**
 * Words of a rule as iptables-restore splits them: spaces and tabs separate, a
 * double quote opens and closes a quoted stretch, and inside one a backslash takes
 * the next character literally. An unclosed quote runs to the end of the line.
 */
export function tokenizeRule(line: string): string[] {
  const tokens: string[] = [];
  const length = line.length;
  let parts: string[] = [];
  let inToken = false;
  let i = 0;
  while (i < length) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9) {
      if (inToken) tokens.push(parts.join(''));
      parts = [];
      inToken = false;
      i += 1;
      continue;
    }
    inToken = true;
    if (c === 34) {
      // A quoted stretch: plain runs are sliced whole, a backslash keeps the next character.
      i += 1;
      let runStart = i;
      while (i < length) {
        const q = line.charCodeAt(i);
        if (q === 34) break;
        if (q === 92) {
          parts.push(line.slice(runStart, i));
          if (i + 1 < length) parts.push(line[i + 1] as string);
          i += 2;
          runStart = i;
          continue;
        }
        i += 1;
      }
      parts.push(line.slice(runStart, Math.min(i, length)));
      i += 1;
      continue;
    }
    const runStart = i;
    while (i < length) {
      const u = line.charCodeAt(i);
      if (u === 32 || u === 9 || u === 34) break;
      i += 1;
    }
    parts.push(line.slice(runStart, i));
  }
  if (inToken) tokens.push(parts.join(''));
  return tokens;
}

/** What a whole `-A CHAIN ...` line does to conntrack: classifyRuleTokens of its words. */
export function classifyRule(line: string): RuleClass {
  return classifyRuleTokens(tokenizeRule(typeof line === 'string' ? line : ''));
}

const TABLE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
// `iptables-save -c` puts the counters in front: `[12:3456] -A INPUT ...`.
const COUNTERS = /^\[\d{1,20}:\d{1,20}\][ \t]+/;
const RULE_COMMANDS: ReadonlySet<string> = new Set(['-A', '--append', '-I', '--insert']);
/** A rule line as iptables-save writes it: `-A CHAIN ...`, with counters in front under -c. */
const PLAIN_RULE = /^(?:\[\d{1,20}:\d{1,20}\][ \t]+)?(?:-A|-I|--append|--insert)[ \t]+[^- \t"]/;
// iptables-nft-save 1.8: "# Table `filter' is incompatible, use 'nft' tool." / "# Table `nat' contains incompatible base-chains, ...".
const INCOMPATIBLE = /^# Table `([A-Za-z0-9_-]{1,64})' (?:is incompatible|contains incompatible)/;

/**
 * `iptables-save` / `ip6tables-save` output, legacy or nft flavour. A table with
 * only chain policies has no rules; an empty dump (what iptables-save prints where
 * no table exists) is a scan with no tables. A table left without COMMIT means the
 * dump was cut short, and is refused rather than read as "fewer rules".
 */
export function parseIptablesSave(text: string, options: { stopAtNeed?: boolean } = {}): RuleScanParse {
  if (typeof text !== 'string') return { ok: false, reason: 'it is not text' };
  const scan = new IptablesSaveScan(options);
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (!scan.line(text.slice(start, end))) break;
    start = end + 1;
  }
  return scan.end();
}

/**
 * The same scan fed a line at a time, as the dump streams in. `line()` returns
 * false once the reader may stop: a rule that needs conntrack was found (when
 * asked to stop there), or the text is not a dump. It also keeps the chains
 * the dump declares (see declaredChains).
 */
export class IptablesSaveScan {
  private readonly scan = emptyScan();
  private readonly seenTables = new Set<string>();
  /**
   * Tables iptables-nft-save says it cannot show (native nftables chains or
   * rules in a table with an iptables name, such as the usual `table ip nat`):
   * their rules must be read with nft.
   */
  readonly incompatible: string[] = [];
  private table: string | undefined;
  private tableLine = 0;
  private number = 0;
  private error: string | undefined;

  constructor(private readonly options: { stopAtNeed?: boolean } = {}) {}

  line(text: string): boolean {
    if (this.error !== undefined) return false;
    this.number += 1;
    const number = this.number;
    const line = trimBlanks(text.charCodeAt(text.length - 1) === 13 ? text.slice(0, -1) : text);
    if (line.startsWith('#')) {
      const m = INCOMPATIBLE.exec(line);
      if (m) this.incompatible.push(m[1]!);
      return true;
    }
    if (line === '') return true;
    const table = this.table;

    if (line.startsWith('*')) {
      const name = line.slice(1);
      if (!TABLE_NAME.test(name)) return this.fail(`line ${number}: '${excerpt(name)}' is not a table name`);
      if (table !== undefined)
        return this.fail(`line ${number} starts table '${name}' before table '${table}' (line ${this.tableLine}) has its COMMIT`);
      this.table = name;
      this.tableLine = number;
      if (!this.seenTables.has(name)) {
        this.seenTables.add(name);
        this.scan.tables.push(name);
      }
      return true;
    }
    if (line === 'COMMIT') {
      if (table === undefined) return this.fail(`line ${number}: COMMIT outside a table`);
      this.table = undefined;
      return true;
    }
    if (line.startsWith(':')) {
      if (table === undefined) return this.fail(`line ${number}: a chain outside a table`);
      return true;
    }

    // Most rules of a big dump name nothing conntrack reads: counted without being split into words.
    if (table !== undefined && !mayConcernConntrack(line) && PLAIN_RULE.test(line)) {
      this.scan.rules += 1;
      return true;
    }
    const body = line.replace(COUNTERS, '');
    const tokens = tokenizeRule(body);
    const command = tokens[0];
    if (command === undefined || !RULE_COMMANDS.has(command)) {
      return this.fail(`line ${number}: '${excerpt(line)}' is not part of an iptables-save dump`);
    }
    if (table === undefined) return this.fail(`line ${number}: a rule outside a table`);
    const chain = tokens[1];
    if (chain === undefined || chain.startsWith('-')) return this.fail(`line ${number}: ${command} without a chain`);
    this.scan.rules += 1;
    const verdict = classifyRuleTokens(tokens.slice(2));
    if (verdict.exempt !== undefined) this.scan.exempts.push({ table, chain, text: ruleText(body), why: verdict.exempt });
    else if (verdict.need !== undefined) {
      this.scan.needsConntrack.push({ table, chain, text: ruleText(body), why: verdict.need });
      if (this.options.stopAtNeed) {
        this.scan.stoppedAtNeed = true;
        return false;
      }
    }
    return true;
  }

  private fail(reason: string): false {
    this.error = reason;
    return false;
  }

  /** The scan, once the dump has ended (or the reader stopped at a need). */
  end(): RuleScanParse {
    if (this.error !== undefined) return { ok: false, reason: this.error };
    if (this.table !== undefined && !this.scan.stoppedAtNeed) {
      return { ok: false, reason: `table '${this.table}' (line ${this.tableLine}) has no COMMIT: the dump is cut short` };
    }
    return { ok: true, scan: this.scan };
  }
}

/**
 * The chains a dump declares (`:NAME POLICY [p:b]` under `*table`), as
 * `table chain`. iptables-nft-save shows only the chains it can express, so
 * a native nftables chain in the same table is not among them.
 */
export function declaredChains(text: string): string[] {
  const chains: string[] = [];
  let table: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) table = line.slice(1).trim();
    else if (line === 'COMMIT') table = undefined;
    else if (table && line.startsWith(':')) {
      const name = line.slice(1).split(/\s+/)[0];
      if (name) chains.push(`${table} ${name}`);
    }
  }
  return chains;
}

/** Spaces and tabs off both ends, in one pass: /[ \t]+$/ is quadratic on a long run of blanks. */
function trimBlanks(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text.charCodeAt(start) === 32 || text.charCodeAt(start) === 9)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  return text.slice(start, end);
}
