import { preview } from './printable';

/** One rule that matters to conntrack, and why. */
export interface RuleRef {
  /** 'nat', 'raw'... for iptables; 'family name' ('inet filter') for nftables. */
  table: string;
  chain: string;
  /** The rule as dumped, bounded and made printable (see ruleText). */
  text: string;
  /** The first reason found, e.g. 'state match', 'MASQUERADE target', 'ct expression', 'CT --notrack'. */
  why: string;
}

export interface RuleScan {
  /** Tables present (e.g. 'nat', 'filter', or 'inet filter' for nft). */
  tables: string[];
  /** Number of rules seen in all. */
  rules: number;
  /** Rules that need connection tracking. */
  needsConntrack: RuleRef[];
  /** Rules that exempt traffic from tracking (NOTRACK, -j CT --notrack, nft notrack) — the cure, not a need. */
  exempts: RuleRef[];
  /**
   * A listing stopped at its first rule that needs conntrack (what the verdict
   * needs): the rules after it were not read, so the counts are a lower bound.
   */
  stoppedAtNeed?: boolean;
}

export type RuleScanParse = { ok: true; scan: RuleScan } | { ok: false; reason: string };

/**
 * `-m` matches that look at the connection, so make the kernel track it (reference
 * section 4, plus connbytes, connlabel and cluster, which read the entry too).
 */
export const CONNTRACK_MATCHES: readonly string[] = Object.freeze([
  'conntrack',
  'state',
  'connmark',
  'connlimit',
  'helper',
  'connbytes',
  'connlabel',
  'cluster',
]);

/**
 * `-j` targets that act on the connection. CT is here for --helper, --zone,
 * --timeout and the event masks; `CT --notrack` is an exemption instead. SAME is
 * the 2.6 NAT target, CLUSTERIP and SYNPROXY work on conntrack entries.
 */
export const CONNTRACK_TARGETS: readonly string[] = Object.freeze([
  'MASQUERADE',
  'SNAT',
  'DNAT',
  'REDIRECT',
  'NETMAP',
  'CONNMARK',
  'CT',
  'CONNSECMARK',
  'SAME',
  'CLUSTERIP',
  'SYNPROXY',
]);

const MATCHES: ReadonlySet<string> = new Set(CONNTRACK_MATCHES);
const TARGETS: ReadonlySet<string> = new Set(CONNTRACK_TARGETS);

// Options of the conntrack match, in case a hand-written dump gives one without
// its `-m conntrack` (iptables itself would refuse it, but it says what is meant).
const CONNTRACK_OPTIONS: ReadonlySet<string> = new Set([
  '--ctstate',
  '--ctproto',
  '--ctorigsrc',
  '--ctorigdst',
  '--ctreplsrc',
  '--ctrepldst',
  '--ctorigsrcport',
  '--ctorigdstport',
  '--ctreplsrcport',
  '--ctrepldstport',
  '--ctstatus',
  '--ctexpire',
  '--ctdir',
]);

/**
 * Options whose one argument is free text. iptables-save quotes a value only when
 * it holds something other than letters, digits, `-` and `_`, so a comment that is
 * just `-j` or `MASQUERADE` comes out bare and must be skipped by position.
 */
const FREE_TEXT_OPTIONS: ReadonlySet<string> = new Set([
  '--comment',
  '--log-prefix',
  '--nflog-prefix',
  '--ulog-prefix',
  '--string',
  '--hex-string',
  '--name',
  '--hashlimit-name',
  '--match-set',
]);

/** A rule's text is for an operator to read; a k8s rule is some 300 characters. */
export const MAX_RULE_TEXT = 512;

/** Bounded and printable (no control characters, no `|` to break a plugin's perfdata). */
export function ruleText(text: string): string {
  return preview(text.length > MAX_RULE_TEXT + 1 ? text.slice(0, MAX_RULE_TEXT + 1) : text, MAX_RULE_TEXT);
}

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

export interface RuleClass {
  /** Why the rule needs conntrack, if it does: the first reason in the rule's order. */
  need?: string;
  /** Why the rule exempts traffic from tracking, if it does. */
  exempt?: string;
}

/**
 * An option and the value given with it: `--opt=value` or `-mname` in one word, or
 * the word after it. Returns the index of the last word used.
 */
function optionValue(tokens: readonly string[], i: number, attached: string | undefined): { value: string | undefined; last: number } {
  if (attached !== undefined) return { value: attached, last: i };
  const next = tokens[i + 1];
  return next === undefined ? { value: undefined, last: i } : { value: next, last: i + 1 };
}

/**
 * What one rule (the words after `-A CHAIN`) does to conntrack. Options are read
 * by position, as getopt reads them: the word after `-m` is a match name, the word
 * after `-j` a target, the word after `--comment` text to skip, so a comment or a
 * log prefix that spells `-j MASQUERADE` is not a target, and `-m statistic` is
 * not `-m state`. A rule both exempting and needing (`-j CT --notrack` with a
 * conntrack match) exempts: that is what it does to the packet.
 */
export function classifyRuleTokens(tokens: readonly string[]): RuleClass {
  let need: string | undefined;
  let target: string | undefined;
  let notrackOption = false;
  // Whether -j CT came before any other reason: CT's options decide only at the
  // end whether it is a need at all, but its place is where -j stands.
  let ctFirst = false;
  for (let i = 0; i < tokens.length; i += 1) {
    const word = tokens[i] as string;
    if (!word.startsWith('-') || word === '-') continue;
    let name = word;
    let attached: string | undefined;
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      if (eq > 0) {
        name = word.slice(0, eq);
        attached = word.slice(eq + 1);
      }
    } else if (word.length > 2) {
      // getopt takes `-mstate` as `-m state`.
      name = word.slice(0, 2);
      attached = word.slice(2);
    }
    if (FREE_TEXT_OPTIONS.has(name)) {
      i = optionValue(tokens, i, attached).last;
      continue;
    }
    if (name === '-m' || name === '--match') {
      const { value, last } = optionValue(tokens, i, attached);
      i = last;
      if (value !== undefined && MATCHES.has(value)) need ??= `${value} match`;
      continue;
    }
    if (name === '-j' || name === '--jump') {
      const { value, last } = optionValue(tokens, i, attached);
      i = last;
      if (value === undefined) continue;
      target ??= value;
      if (value === 'CT' && need === undefined) ctFirst = true;
      else if (TARGETS.has(value)) need ??= `${value} target`;
      continue;
    }
    if (name === '-g' || name === '--goto') {
      i = optionValue(tokens, i, attached).last;
      continue;
    }
    if (name === '--notrack' && target === 'CT') notrackOption = true;
    else if (CONNTRACK_OPTIONS.has(name)) need ??= 'conntrack match';
    else if (name === '--state') need ??= 'state match';
  }
  if (target === 'NOTRACK') return { exempt: 'NOTRACK target' };
  if (target === 'CT' && notrackOption) return { exempt: 'CT --notrack' };
  if (target === 'CT' && (ctFirst || need === undefined)) need = 'CT target';
  return need === undefined ? {} : { need };
}

/** The same for a whole `-A CHAIN ...` line. */
export function classifyRule(line: string): RuleClass {
  return classifyRuleTokens(tokenizeRule(typeof line === 'string' ? line : ''));
}

const TABLE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
// `iptables-save -c` puts the counters in front: `[12:3456] -A INPUT ...`.
const COUNTERS = /^\[\d{1,20}:\d{1,20}\][ \t]+/;
const RULE_COMMANDS: ReadonlySet<string> = new Set(['-A', '--append', '-I', '--insert']);
// iptables-nft-save 1.8: "# Table `filter' is incompatible, use 'nft' tool." / "# Table `nat' contains incompatible base-chains, ...".
/**
 * Every word that can make a rule need or exempt from conntrack, as getopt
 * would find it (`-m state`, `-mstate`, `--match=state`, `-j CT`, `--ctstate`):
 * a line without any cannot, whatever else it says.
 */
const MAY_MATTER = new RegExp(
  `(?:-m|--match)[ \\t="]*(?:${CONNTRACK_MATCHES.join('|')})\\b|(?:-j|--jump)[ \\t="]*(?:${[...CONNTRACK_TARGETS, 'NOTRACK'].join('|')})\\b|--ct|--state|--notrack`,
);
/** A rule line as iptables-save writes it: `-A CHAIN ...`, with counters in front under -c. */
const PLAIN_RULE = /^(?:\[\d{1,20}:\d{1,20}\][ \t]+)?(?:-A|-I|--append|--insert)[ \t]+[^- \t"]/;
const INCOMPATIBLE = /^# Table `([A-Za-z0-9_-]{1,64})' (?:is incompatible|contains incompatible)/;

export function emptyScan(): RuleScan {
  return { tables: [], rules: 0, needsConntrack: [], exempts: [] };
}

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
    if (table !== undefined && !MAY_MATTER.test(line) && PLAIN_RULE.test(line)) {
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
 * Several scans as one (iptables, ip6tables, nft): tables once each in first-seen
 * order, rule counts added, rule lists joined in order. Inputs are not changed.
 */
export function mergeScans(scans: RuleScan[]): RuleScan {
  const merged = emptyScan();
  const seen = new Set<string>();
  for (const scan of Array.isArray(scans) ? scans : []) {
    for (const table of scan.tables) {
      if (seen.has(table)) continue;
      seen.add(table);
      merged.tables.push(table);
    }
    merged.rules += scan.rules;
    if (scan.stoppedAtNeed) merged.stoppedAtNeed = true;
    for (const ref of scan.needsConntrack) merged.needsConntrack.push({ ...ref });
    for (const ref of scan.exempts) merged.exempts.push({ ...ref });
  }
  return merged;
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
