/**
 * What makes a rule need connection tracking, or exempt traffic from it, in
 * both the iptables words (matches, targets, conntrack options) and the nft
 * statements that say the same. Both rule parsers judge a rule here, so an
 * iptables rule and its nft twin get the same verdict.
 */

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

/**
 * Every word that can make a rule need or exempt from conntrack, as getopt
 * would find it (`-m state`, `-mstate`, `--match=state`, `-j CT`, `--ctstate`):
 * a line without any cannot, whatever else it says.
 */
const MAY_CONCERN = new RegExp(
  `(?:-m|--match)[ \\t="]*(?:${CONNTRACK_MATCHES.join('|')})\\b|(?:-j|--jump)[ \\t="]*(?:${[...CONNTRACK_TARGETS, 'NOTRACK'].join('|')})\\b|--ct|--state|--notrack`,
);

/** False only for an iptables rule line that classifyRuleTokens would find neither a need nor an exemption in. */
export function mayConcernConntrack(line: string): boolean {
  return MAY_CONCERN.test(line);
}

/** Words whose next word is a name (a chain, a prefix, a comment), never a keyword. */
const NAMES_NEXT: ReadonlySet<string> = new Set(['jump', 'goto', 'comment', 'prefix', 'to']);
/** Statements and expressions that need conntrack, as nft prints them, with the reason a scan gives. */
const NEED_WORDS: ReadonlyMap<string, string> = new Map([
  ['masquerade', 'masquerade'],
  ['snat', 'snat'],
  ['dnat', 'dnat'],
  ['redirect', 'redirect'],
  // Flowtable offload and SYN proxying both work on conntrack entries.
  ['flow', 'flow offload'],
  ['synproxy', 'synproxy'],
]);
const CT_KEYS: ReadonlyMap<string, string> = new Map([
  ['count', 'ct count'],
  ['helper', 'ct helper'],
  ['timeout', 'ct timeout'],
  ['expectation', 'ct expectation'],
]);

/**
 * What one nft rule (its words, as the nft scan splits them) does to conntrack;
 * a rule that exempts exempts, as in the iptables scan.
 */
export function classifyNftWords(ws: readonly string[]): RuleClass {
  let need: string | undefined;
  // Inside braces are set elements and map values (`{ 22, 80 }`, `{ 0 : goto x }`): data, not statements.
  let braces = 0;
  for (let i = 0; i < ws.length; i += 1) {
    const w = ws[i]!;
    if (w === '{' || w === '}') {
      braces = Math.max(0, braces + (w === '{' ? 1 : -1));
      continue;
    }
    if (NAMES_NEXT.has(w)) {
      // `dnat to 10.0.0.1:80` is still dnat: only the word after `to` is skipped.
      i += 1;
      continue;
    }
    // `icmp type redirect` is a message type, not the statement.
    if (braces > 0 || ws[i - 1] === 'type' || ws[i - 1] === 'code') continue;
    if (w === 'notrack') return { exempt: 'notrack' };
    if (need !== undefined) continue;
    if (w === 'ct') need = CT_KEYS.get(ws[i + 1] ?? '') ?? 'ct expression';
    else if (w === 'xt') {
      // iptables-nft's compat expressions: `xt match "conntrack"`, `xt target "MASQUERADE"`.
      const kind = ws[i + 1];
      const name = (ws[i + 2] ?? '').replace(/^"|"$/g, '');
      if (kind === 'target' && name === 'NOTRACK') return { exempt: 'NOTRACK target (xt)' };
      if ((kind === 'match' && MATCHES.has(name)) || (kind === 'target' && TARGETS.has(name))) need = `${name} ${kind} (xt)`;
    } else need = NEED_WORDS.get(w);
  }
  return need === undefined ? {} : { need };
}
