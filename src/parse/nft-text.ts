import { preview } from './printable';
import { classifyNftWords } from './rule-policy';
import { emptyScan, ruleText, type RuleScan, type RuleScanParse } from './rule-scan';

/**
 * `nft list ruleset` / `nft list table F N` as text, read a line at a time:
 * the text nft prints anyway, without the cost of its JSON (a 20,000-rule
 * ruleset is some 7 MB of JSON, and nft itself peaks at several times that
 * building it). A reader that only wants to know whether any rule needs
 * conntrack stops at the first one.
 */

/** A table in `nft list tables` output: `table inet filter`. */
export interface NftTable {
  readonly family: string;
  readonly name: string;
}

const FAMILIES: ReadonlySet<string> = new Set(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);
/** nft prints a name bare when it is an identifier, quoted otherwise. */
const NAME = /^(?:[A-Za-z_][A-Za-z0-9_./-]{0,255}|"[^"\\]{1,256}")$/;

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1) : name;
}

function excerpt(text: string): string {
  return preview(text.length > 41 ? text.slice(0, 41) : text);
}

/** `nft list tables`: one `table FAMILY NAME` a line. */
export function parseNftTables(text: string): { ok: true; tables: NftTable[] } | { ok: false; reason: string } {
  if (typeof text !== 'string') return { ok: false, reason: 'it is not text' };
  const tables: NftTable[] = [];
  let number = 0;
  for (const raw of text.split('\n')) {
    number += 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const words = line.split(/[ \t]+/);
    if (words.length !== 3 || words[0] !== 'table' || !FAMILIES.has(words[1]!) || !NAME.test(words[2]!)) {
      return { ok: false, reason: `line ${number}: '${excerpt(line)}' is not 'table FAMILY NAME'` };
    }
    tables.push({ family: words[1]!, name: unquote(words[2]!) });
  }
  return { ok: true, tables };
}

/** Blocks inside a table that hold no rules: named sets, maps, stateful objects, flowtables. */
const OBJECT_BLOCKS: ReadonlySet<string> = new Set([
  'set',
  'map',
  'flowtable',
  'counter',
  'quota',
  'limit',
  'secmark',
  'synproxy',
  'ct',
  'meter',
  'tunnel',
]);
/** Lines of a chain that describe it rather than being rules. */
const CHAIN_ATTRIBUTES: ReadonlySet<string> = new Set(['type', 'policy', 'comment', 'devices', 'flags']);
/** A rule line nft prints is a few hundred characters; a longer one is cut (the classification sees only its start). */
const MAX_LINE = 64 * 1024;

/**
 * Words of a rule outside quoted strings (comments, interface names, log
 * prefixes), and how many braces it leaves open. Quoted text is user data
 * and never a keyword.
 */
function words(line: string): { words: string[]; depth: number } {
  const out: string[] = [];
  let depth = 0;
  let i = 0;
  const n = Math.min(line.length, MAX_LINE);
  while (i < n) {
    const c = line.charCodeAt(i);
    if (c === 34) {
      const close = line.indexOf('"', i + 1);
      out.push('""');
      i = close < 0 || close >= n ? n : close + 1;
      continue;
    }
    if (c === 32 || c === 9 || c === 44) {
      i += 1;
      continue;
    }
    if (c === 123 || c === 125) {
      depth += c === 123 ? 1 : -1;
      out.push(c === 123 ? '{' : '}');
      i += 1;
      continue;
    }
    const start = i;
    while (i < n) {
      const d = line.charCodeAt(i);
      if (d === 32 || d === 9 || d === 44 || d === 34 || d === 123 || d === 125) break;
      i += 1;
    }
    out.push(line.slice(start, i));
  }
  return { words: out, depth };
}

/**
 * The scan of nft's text output, fed a line at a time. `line()` returns false
 * once the reader may stop: a rule that needs conntrack was found (when asked
 * to stop there), or the text is not nft's. Tables in `skip` ('family name')
 * are passed over: another listing reads them.
 */
export class NftTextScan {
  private readonly scan: RuleScan = emptyScan();
  private table: string | undefined;
  private chain: string | undefined;
  /** Open braces of a block that holds no rules (a set, a map...), or of a rule spread over lines. */
  private skipping = 0;
  private rule: { text: string; words: string[]; depth: number } | undefined;
  private error: string | undefined;
  private number = 0;

  constructor(private readonly options: { stopAtNeed?: boolean; skip?: ReadonlySet<string> } = {}) {}

  line(raw: string): boolean {
    if (this.error !== undefined) return false;
    this.number += 1;
    const line = raw.length > MAX_LINE ? raw.slice(0, MAX_LINE) : raw;
    const text = line.trim();
    if (this.rule) return this.continueRule(text);
    if (text === '' || text.startsWith('#')) return true;
    if (this.skipping > 0) {
      this.skipping += words(text).depth;
      return true;
    }
    if (this.table === undefined) {
      const m = /^table[ \t]+(\S+)[ \t]+(\S+)[ \t]*\{$/.exec(text);
      if (!m || !FAMILIES.has(m[1]!) || !NAME.test(m[2]!)) return this.fail(`'${excerpt(text)}' is not a table of nft's listing`);
      this.table = `${m[1]} ${unquote(m[2]!)}`;
      if (this.options.skip?.has(this.table)) this.skipping = 1;
      else if (!this.scan.tables.includes(this.table)) this.scan.tables.push(this.table);
      if (this.skipping) this.table = undefined;
      return true;
    }
    if (this.chain === undefined) {
      if (text === '}') {
        this.table = undefined;
        return true;
      }
      const m = /^chain[ \t]+(\S+)[ \t]*\{$/.exec(text);
      if (m) {
        this.chain = unquote(m[1]!);
        return true;
      }
      const first = text.split(/[ \t]/, 1)[0]!;
      if (OBJECT_BLOCKS.has(first)) this.skipping = Math.max(0, words(text).depth);
      // Anything else at table level (flags, comment) holds no rule.
      return true;
    }
    if (text === '}') {
      this.chain = undefined;
      return true;
    }
    const first = text.split(/[ \t]/, 1)[0]!;
    if (CHAIN_ATTRIBUTES.has(first)) return true;
    const w = words(text);
    this.rule = { text, words: w.words, depth: w.depth };
    return this.rule.depth > 0 ? true : this.endRule();
  }

  /** An anonymous set or map printed over several lines belongs to the rule that opened it. */
  private continueRule(text: string): boolean {
    const rule = this.rule!;
    const w = words(text);
    if (rule.words.length < 4096) rule.words.push(...w.words);
    if (rule.text.length < 1024) rule.text += ` ${text}`;
    rule.depth += w.depth;
    return rule.depth > 0 ? true : this.endRule();
  }

  private endRule(): boolean {
    const rule = this.rule!;
    this.rule = undefined;
    this.scan.rules += 1;
    const verdict = classifyNftWords(rule.words);
    const ref = { table: this.table!, chain: this.chain!, text: ruleText(rule.text), why: (verdict.exempt ?? verdict.need)! };
    if (verdict.exempt !== undefined) this.scan.exempts.push(ref);
    else if (verdict.need !== undefined) {
      this.scan.needsConntrack.push(ref);
      if (this.options.stopAtNeed) {
        this.scan.stoppedAtNeed = true;
        return false;
      }
    }
    return true;
  }

  private fail(why: string): false {
    this.error = `line ${this.number}: ${why}`;
    return false;
  }

  /** The scan, once the text has ended (or the reader stopped at a need). Text cut off anywhere else is refused. */
  end(): RuleScanParse {
    if (this.error !== undefined) return { ok: false, reason: this.error };
    if (this.scan.stoppedAtNeed) return { ok: true, scan: this.scan };
    if (this.table !== undefined || this.skipping > 0 || this.rule)
      return { ok: false, reason: 'a table is not closed: the listing was cut short' };
    return { ok: true, scan: this.scan };
  }
}

/** The whole text at once (tests, small listings). */
export function parseNftText(text: string, options: { stopAtNeed?: boolean; skip?: ReadonlySet<string> } = {}): RuleScanParse {
  if (typeof text !== 'string') return { ok: false, reason: 'it is not text' };
  const scan = new NftTextScan(options);
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (!scan.line(text.slice(start, end))) break;
    start = end + 1;
  }
  return scan.end();
}
