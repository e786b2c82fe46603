import { preview } from './decimal';
import { CONNTRACK_MATCHES, CONNTRACK_TARGETS, emptyScan, MAX_RULE_TEXT, ruleText, type RuleScan, type RuleScanParse } from './iptables-save';

/**
 * Keys of rule expressions and statements that need conntrack, as libnftables
 * spells them in JSON, with the reason a scan gives. `ct` is the expression
 * (`ct state`, `ct mark`...), whether matched or set (`{"mangle": {"key": {"ct": ...}}}`).
 */
const NEED_KEYS: ReadonlyMap<string, string> = new Map([
  ['ct', 'ct expression'],
  ['ct count', 'ct count'],
  ['ct helper', 'ct helper'],
  ['ct timeout', 'ct timeout'],
  ['ct expectation', 'ct expectation'],
  ['masquerade', 'masquerade'],
  ['snat', 'snat'],
  ['dnat', 'dnat'],
  ['redirect', 'redirect'],
  // Flowtable offload and SYN proxying both work on conntrack entries.
  ['flow', 'flow offload'],
  ['synproxy', 'synproxy'],
]);

const XT_MATCHES: ReadonlySet<string> = new Set(CONNTRACK_MATCHES);
const XT_TARGETS: ReadonlySet<string> = new Set(CONNTRACK_TARGETS);

/**
 * Every rule has a handful of expressions; the cap bounds the time a hostile input
 * can take, and a rule that reaches it is read as far as it got.
 */
const MAX_NODES_PER_RULE = 100_000;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function own(object: JsonObject, key: string): Json | undefined {
  return Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
}

function stringOf(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * What iptables-nft rules look like to `nft -j`: `{"xt": {"type": "match", "name":
 * "conntrack"}}`, the options left out. So `-j CT --notrack` and `-j NOTRACK` both
 * show as target CT, which is counted as a need: the text dump of
 * iptables-nft-save tells them apart, this cannot.
 */
function xtReason(value: Json | undefined): { need?: string; exempt?: string } {
  if (!isObject(value)) return {};
  const type = stringOf(own(value, 'type'));
  const name = stringOf(own(value, 'name'));
  if (name === undefined) return {};
  if (type === 'match' && XT_MATCHES.has(name)) return { need: `${name} match (xt)` };
  if (type === 'target' && name === 'NOTRACK') return { exempt: 'NOTRACK target (xt)' };
  if (type === 'target' && XT_TARGETS.has(name)) return { need: `${name} target (xt)` };
  return {};
}

/**
 * Every key of every object in a rule's expressions, depth first in document
 * order, without recursion (JSON.parse accepts nesting far deeper than a stack).
 * Keys are schema words in libnftables JSON; user data (names, comments,
 * addresses) only ever appears as values, so a set called "ct" or a comment
 * saying "masquerade" is never taken for one.
 */
function classifyExpr(expr: Json | undefined): { need?: string; exempt?: string } {
  let need: string | undefined;
  let exempt: string | undefined;
  const stack: Json[] = [expr ?? null];
  let nodes = 0;
  while (stack.length > 0 && nodes < MAX_NODES_PER_RULE) {
    const node = stack.pop() as Json;
    nodes += 1;
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i -= 1) stack.push(node[i] as Json);
      continue;
    }
    if (!isObject(node)) continue;
    const keys = Object.keys(node);
    for (const key of keys) {
      if (key === 'notrack') exempt ??= 'notrack';
      else if (key === 'xt') {
        const xt = xtReason(node[key]);
        if (xt.exempt !== undefined) exempt ??= xt.exempt;
        if (xt.need !== undefined) need ??= xt.need;
      } else {
        const why = NEED_KEYS.get(key);
        if (why !== undefined) need ??= why;
      }
    }
    for (let i = keys.length - 1; i >= 0; i -= 1) stack.push(node[keys[i] as string] as Json);
  }
  return exempt !== undefined ? { exempt } : need !== undefined ? { need } : {};
}

// ---- a readable rendering, close to `nft list ruleset` for the usual shapes ----

const MAX_RENDER_DEPTH = 6;
const VERDICTS = new Set(['accept', 'drop', 'continue', 'return', 'queue']);
const UNQUALIFIED_META = new Set(['iif', 'oif', 'iifname', 'oifname', 'iiftype', 'oiftype', 'mark', 'skuid', 'skgid']);

function renderValue(value: Json | undefined, depth: number): string {
  if (depth > MAX_RENDER_DEPTH) return '...';
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.slice(0, 32).map((v) => renderValue(v, depth + 1)).join(',');
  const [key] = Object.keys(value);
  if (key === undefined) return '{}';
  const inner = value[key];
  if (key === 'set' && Array.isArray(inner)) return `{ ${inner.slice(0, 32).map((v) => renderValue(v, depth + 1)).join(', ')} }`;
  if (isObject(inner)) {
    if (key === 'prefix') return `${renderValue(own(inner, 'addr'), depth + 1)}/${renderValue(own(inner, 'len'), depth + 1)}`;
    if (key === 'payload') return `${renderValue(own(inner, 'protocol'), depth + 1)} ${renderValue(own(inner, 'field'), depth + 1)}`;
    if (key === 'meta') {
      const metaKey = renderValue(own(inner, 'key'), depth + 1);
      return UNQUALIFIED_META.has(metaKey) ? metaKey : `meta ${metaKey}`;
    }
    if (key === 'ct') {
      const dir = stringOf(own(inner, 'dir'));
      return `ct ${dir === undefined ? '' : `${dir} `}${renderValue(own(inner, 'key'), depth + 1)}`;
    }
  }
  if (key === 'range' && Array.isArray(inner)) return inner.map((v) => renderValue(v, depth + 1)).join('-');
  // JSON.stringify would recurse through any depth and overflow the stack.
  const text = shallowJson(value, 3);
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

function renderStatement(statement: Json, depth: number): string {
  if (!isObject(statement)) return renderValue(statement, depth);
  const [key] = Object.keys(statement);
  if (key === undefined) return '';
  const body = statement[key];
  if (VERDICTS.has(key)) return key;
  if (key === 'jump' || key === 'goto') return `${key} ${renderValue(isObject(body) ? own(body, 'target') : body, depth + 1)}`;
  if (key === 'counter') return 'counter';
  if (key === 'match' && isObject(body)) {
    const op = stringOf(own(body, 'op')) ?? '==';
    const shownOp = op === '==' || op === 'in' ? '' : `${op} `;
    return `${renderValue(own(body, 'left'), depth + 1)} ${shownOp}${renderValue(own(body, 'right'), depth + 1)}`;
  }
  if (key === 'mangle' && isObject(body)) {
    return `${renderValue(own(body, 'key'), depth + 1)} set ${renderValue(own(body, 'value'), depth + 1)}`;
  }
  if ((key === 'snat' || key === 'dnat' || key === 'masquerade' || key === 'redirect') && isObject(body)) {
    const addr = own(body, 'addr');
    const port = own(body, 'port');
    const to = `${addr === undefined ? '' : renderValue(addr, depth + 1)}${port === undefined ? '' : `:${renderValue(port, depth + 1)}`}`;
    return to === '' ? key : `${key} to ${to}`;
  }
  if (key === 'xt' && isObject(body)) return `xt ${renderValue(own(body, 'type'), depth + 1)} ${renderValue(own(body, 'name'), depth + 1)}`;
  if (key === 'ct helper' || key === 'ct timeout' || key === 'ct expectation') return `${key} set ${renderValue(body, depth + 1)}`;
  if (key === 'ct count' && isObject(body)) {
    return `ct count ${own(body, 'inv') === true ? 'over ' : ''}${renderValue(own(body, 'val'), depth + 1)}`;
  }
  if (key === 'flow' && isObject(body)) return `flow add ${renderValue(own(body, 'flowtable'), depth + 1)}`;
  return body === null ? key : `${key} ${renderValue(body, depth + 1)}`;
}

/** A rule's expressions as one line; length bounded as it is built. */
export function renderNftExpr(expr: unknown): string {
  if (!Array.isArray(expr)) return '';
  const parts: string[] = [];
  let length = 0;
  for (const statement of expr as Json[]) {
    const part = renderStatement(statement, 0).trim();
    if (part === '') continue;
    parts.push(part);
    length += part.length + 1;
    if (length > MAX_RULE_TEXT) break;
  }
  return ruleText(parts.join(' '));
}

function excerpt(text: string): string {
  return preview(text.length > 41 ? text.slice(0, 41) : text);
}

/**
 * `nft -j list ruleset` output. Tables are reported as 'family name'; every `rule`
 * object counts as a rule, so a nat chain declared with no rules in it adds none.
 * Objects of unknown shape are skipped, so newer schema versions still read; text
 * that is not JSON, or JSON without the `nftables` array, is refused.
 */
export function parseNftRuleset(json: string): RuleScanParse {
  if (typeof json !== 'string') return { ok: false, reason: 'it is not text' };
  if (json.trim() === '') return { ok: false, reason: 'it is empty' };
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (error) {
    return { ok: false, reason: `it is not JSON: ${excerpt(error instanceof Error ? error.message : String(error))}` };
  }
  const items = isObject(data) ? own(data, 'nftables') : undefined;
  if (!Array.isArray(items)) return { ok: false, reason: "it has no 'nftables' array, so it is not `nft -j list ruleset` output" };

  const scan: RuleScan = emptyScan();
  const seen = new Set<string>();
  const addTable = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    scan.tables.push(name);
  };
  for (const item of items) {
    if (!isObject(item)) continue;
    const table = own(item, 'table');
    if (isObject(table)) {
      const family = stringOf(own(table, 'family'));
      const name = stringOf(own(table, 'name'));
      if (family !== undefined && name !== undefined) addTable(`${family} ${name}`);
      continue;
    }
    const rule = own(item, 'rule');
    if (!isObject(rule)) continue;
    const family = stringOf(own(rule, 'family'));
    const tableName = stringOf(own(rule, 'table'));
    const chain = stringOf(own(rule, 'chain'));
    if (family === undefined || tableName === undefined || chain === undefined) continue;
    const tableLabel = `${family} ${tableName}`;
    // nft prints a table before its rules; a ruleset pieced together may not.
    addTable(tableLabel);
    scan.rules += 1;
    const expr = own(rule, 'expr');
    const verdict = classifyExpr(expr);
    if (verdict.exempt === undefined && verdict.need === undefined) continue;
    const ref = { table: tableLabel, chain, text: renderNftExpr(expr), why: (verdict.exempt ?? verdict.need) as string };
    if (verdict.exempt !== undefined) scan.exempts.push(ref);
    else scan.needsConntrack.push(ref);
  }
  return { ok: true, scan };
}

/** JSON text of a value down to `depth` levels; deeper levels are written as '...'. */
function shallowJson(value: Json | undefined, depth: number): string {
  if (value === undefined || value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (depth <= 0) return '...';
  if (Array.isArray(value)) return `[${value.slice(0, 8).map((v) => shallowJson(v, depth - 1)).join(',')}]`;
  return `{${Object.keys(value)
    .slice(0, 8)
    .map((k) => `${JSON.stringify(k)}:${shallowJson(value[k], depth - 1)}`)
    .join(',')}}`;
}
