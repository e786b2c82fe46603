/**
 * What a scan of a rule listing gives, whichever program printed it
 * (iptables-save, ip6tables-save, nft): the rules that need conntrack and
 * those that exempt traffic from it, with enough of each for an operator.
 */

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

/** A rule's text is for an operator to read; a k8s rule is some 300 characters. */
export const MAX_RULE_TEXT = 512;

/** Bounded and printable (no control characters, no `|` to break a plugin's perfdata). */
export function ruleText(text: string): string {
  return preview(text.length > MAX_RULE_TEXT + 1 ? text.slice(0, MAX_RULE_TEXT + 1) : text, MAX_RULE_TEXT);
}

export function emptyScan(): RuleScan {
  return { tables: [], rules: 0, needsConntrack: [], exempts: [] };
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
