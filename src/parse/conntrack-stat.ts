import { preview } from './printable';

export interface ConntrackStats {
  /** The `entries` column (the namespace's count), taken once from the first row; undefined when absent (conntrack -S has none). */
  entries?: number;
  /** Column names as the header gives them, in order, 'entries' excluded. */
  columns: string[];
  /** Column name -> one unsigned 32-bit value per CPU row, in row order. */
  perCpu: Record<string, number[]>;
  /** Column name -> sum over the CPU rows (a plain number; may exceed 2^32). */
  totals: Record<string, number>;
  /** Number of CPU rows. */
  cpus: number;
}

export type StatParse = { ok: true; stats: ConntrackStats } | { ok: false; reason: string };

/** The counters a check reports, in the order it reports them: only those present. */
export const REPORTED_COUNTERS: readonly string[] = Object.freeze([
  'drop',
  'early_drop',
  'insert_failed',
  'invalid',
  'search_restart',
  'clashres',
  'chainlength',
]);

/**
 * The kernel prints one row per possible CPU, and NR_CPUS tops out at 8192; the
 * cap only stops a runaway input, and keeps every sum below 2^48 (exact in a double).
 */
const MAX_ROWS = 65536;
/** The kernel has 17 columns; a header far wider than that is not a statistics file. */
const MAX_COLUMNS = 1024;

// conntrack-tools keeps 64 bytes per name; the kernel's longest is 14 characters.
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const ROW_VALUE = /^[0-9a-fA-F]{8}$/;
const UINT32_MAX = 0xffffffff;

/** netlink attribute names (conntrack -S) that the procfs header spells differently. */
const NETLINK_TO_PROCFS: ReadonlyMap<string, string> = new Map([
  ['error', 'icmp_error'],
  ['clash_resolve', 'clashres'],
  ['chaintoolong', 'chainlength'],
]);

interface Line {
  number: number;
  text: string;
}

/**
 * Lines one at a time, so a refusal early in a huge input costs nothing for
 * the rest of it. CRLF and a missing final newline are both accepted.
 */
function* linesOf(text: string): Generator<Line> {
  let start = 0;
  let number = 1;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.charCodeAt(end - 1) === 13 && end > start ? text.slice(start, end - 1) : text.slice(start, end);
    yield { number, text: line };
    start = end + 1;
    number += 1;
  }
}

/**
 * Fields split on runs of spaces and tabs only: the kernel pads with spaces
 * (double ones between groups, a trailing one on 2.6.3x rows), and any other
 * character, NUL included, must stay inside a field so that it is refused there.
 */
function fieldsOf(line: string): string[] {
  const fields = line.split(/[ \t]+/);
  if (fields[0] === '') fields.shift();
  if (fields[fields.length - 1] === '') fields.pop();
  return fields;
}

/**
 * The fields of a procfs row as numbers, NaN for a field that is not 1 to 8
 * hex digits (%08x of an unsigned int never has more, so a value never exceeds
 * 2^32 - 1). A hand scan rather than split and parseInt, which make a string
 * of every field first: a host may have thousands of CPU rows.
 */
function hexRow(line: string): number[] {
  const values: number[] = [];
  const length = line.length;
  let i = 0;
  while (i < length) {
    let c = line.charCodeAt(i);
    if (c === 32 || c === 9) {
      i += 1;
      continue;
    }
    let value = 0;
    let digits = 0;
    let bad = false;
    for (; i < length && (c = line.charCodeAt(i)) !== 32 && c !== 9; i += 1) {
      const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (digit < 0) bad = true;
      else value = value * 16 + digit;
      digits += 1;
    }
    values.push(bad || digits > 8 ? NaN : value);
  }
  return values;
}

/** Null-prototype maps, so that a column called `constructor` or `__proto__` is just a column. */
function emptyRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/**
 * The result from one array of per-CPU values per name (`entries` among them,
 * if present), every array `cpus` long.
 */
function build(names: readonly string[], values: ReadonlyArray<number[]>, cpus: number): ConntrackStats {
  const columns: string[] = [];
  const perCpu = emptyRecord<number[]>();
  const totals = emptyRecord<number>();
  let entries: number | undefined;
  names.forEach((name, i) => {
    const column = values[i] ?? [];
    // The count of the namespace, repeated on every row: summing it would multiply it by the CPUs.
    if (name === 'entries') {
      entries = column[0];
      return;
    }
    columns.push(name);
    perCpu[name] = column;
    let sum = 0;
    for (const value of column) sum += value;
    totals[name] = sum;
  });
  const stats: ConntrackStats = { columns, perCpu, totals, cpus };
  if (entries !== undefined) stats.entries = entries;
  return stats;
}

/** preview() of the start only: it would otherwise copy all of a 1 MB field first. */
function excerpt(text: string): string {
  return preview(text.length > 41 ? text.slice(0, 41) : text);
}

function parseHeader(line: string): { ok: true; names: string[] } | { ok: false; reason: string } {
  const names = fieldsOf(line);
  if (names.length === 0) return { ok: false, reason: 'line 1 is empty where the header (the column names) should be' };
  if (names.length > MAX_COLUMNS) return { ok: false, reason: `line 1 has ${names.length} columns, more than ${MAX_COLUMNS}` };
  // Checked first: a row such as `ffffffff  abcdef01 ...` would pass for names.
  if (names.every((field) => ROW_VALUE.test(field))) {
    return { ok: false, reason: 'line 1 holds values, not the column names: the header is missing' };
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (!NAME.test(name)) return { ok: false, reason: `line 1: '${excerpt(name)}' is not a column name` };
    if (seen.has(name)) return { ok: false, reason: `line 1 names the column '${name}' twice` };
    seen.add(name);
  }
  return { ok: true, names };
}

/** /proc/net/stat/nf_conntrack or /proc/net/stat/ip_conntrack text. */
export function parseProcStat(text: string): StatParse {
  if (typeof text !== 'string' || text.trim() === '') return { ok: false, reason: 'it is empty' };
  const lines = linesOf(text);
  const first = lines.next();
  if (first.done) return { ok: false, reason: 'it is empty' };
  const header = parseHeader(first.value.text);
  if (!header.ok) return header;
  const names = header.names;

  const values = names.map((): number[] => []);
  let rows = 0;
  // A blank line is fine only at the end (a final newline, or several).
  let blankAt: number | undefined;
  for (const { number, text: line } of lines) {
    const row = hexRow(line);
    if (row.length === 0) {
      blankAt ??= number;
      continue;
    }
    if (blankAt !== undefined) return { ok: false, reason: `line ${blankAt} is empty, but rows follow it` };
    if (rows >= MAX_ROWS) return { ok: false, reason: `there are more than ${MAX_ROWS} rows` };
    if (row.length !== names.length) {
      return { ok: false, reason: `line ${number} has ${row.length} fields, the header has ${names.length}` };
    }
    for (let i = 0; i < row.length; i += 1) {
      const value = row[i] as number;
      if (Number.isNaN(value)) {
        const [name, field] = [names[i] as string, fieldsOf(line)[i] ?? ''];
        return { ok: false, reason: `line ${number}, column '${excerpt(name)}': '${excerpt(field)}' is not a 32-bit hex value` };
      }
      (values[i] as number[]).push(value);
    }
    rows += 1;
  }
  if (rows === 0) return { ok: false, reason: 'there are no rows under the header' };
  return { ok: true, stats: build(names, values, rows) };
}

interface CpuRow {
  cpu: number;
  line: number;
  /** Counter names in the line's order, already in procfs spelling. */
  names: string[];
  values: number[];
}

/** An unsigned 32-bit decimal from `start` to the end, NaN if it is anything else. */
function decimalFrom(text: string, start: number): number {
  if (start >= text.length || text.length - start > 10) return NaN;
  let value = 0;
  for (let i = start; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return NaN;
    value = value * 10 + (c - 48);
  }
  return value > UINT32_MAX ? NaN : value;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * One `cpu=N name=value ...` line. `known` maps each name already checked to its
 * procfs spelling: every line repeats the same few names, so each is checked once.
 */
function parseCpuLine(line: Line, fields: string[], known: Map<string, string>): { ok: true; row: CpuRow } | { ok: false; reason: string } {
  const cpuField = fields[0] as string;
  const cpu = decimalFrom(cpuField, 'cpu='.length);
  if (Number.isNaN(cpu)) return { ok: false, reason: `line ${line.number}: '${excerpt(cpuField)}' is not a CPU number` };
  if (fields.length - 1 > MAX_COLUMNS) return { ok: false, reason: `line ${line.number} has more than ${MAX_COLUMNS} counters` };
  const names: string[] = [];
  const values: number[] = [];
  for (let i = 1; i < fields.length; i += 1) {
    const field = fields[i] as string;
    const eq = field.indexOf('=');
    const key = field.slice(0, Math.max(eq, 0));
    let name = known.get(key);
    if (name === undefined) {
      if (!NAME.test(key)) return { ok: false, reason: `line ${line.number}: '${excerpt(field)}' is not a name=value pair` };
      name = NETLINK_TO_PROCFS.get(key) ?? key;
      known.set(key, name);
    }
    const value = decimalFrom(field, eq + 1);
    if (Number.isNaN(value)) {
      return {
        ok: false,
        reason: `line ${line.number}, counter '${excerpt(key)}': '${excerpt(field.slice(eq + 1))}' is not a 32-bit decimal value`,
      };
    }
    names.push(name);
    values.push(value);
  }
  return { ok: true, row: { cpu, line: line.number, names, values } };
}

/** The first name a line gives twice, `cpu` counting as given. */
function repeatedName(names: readonly string[]): string | undefined {
  const seen = new Set<string>(['cpu']);
  for (const name of names) {
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}

/** `conntrack -S` output (conntrack-tools), one `cpu=N key=value ...` line per CPU. */
export function parseConntrackStatistics(text: string): StatParse {
  if (typeof text !== 'string' || text.trim() === '') return { ok: false, reason: 'it is empty' };
  const rows: CpuRow[] = [];
  const lineOfCpu = new Map<number, number>();
  const known = new Map<string, string>();
  // Lines nearly always give the same names in the same order: check those once.
  let checked: readonly string[] | undefined;
  for (const line of linesOf(text)) {
    // Anything else (a version banner, an error on stderr merged in) is not ours to judge.
    if (!/^[ \t]*cpu=/.test(line.text)) continue;
    if (rows.length >= MAX_ROWS) return { ok: false, reason: `there are more than ${MAX_ROWS} cpu= lines` };
    const parsed = parseCpuLine(line, fieldsOf(line.text), known);
    if (!parsed.ok) return parsed;
    const row = parsed.row;
    if (checked === undefined || !sameNames(row.names, checked)) {
      const twice = repeatedName(row.names);
      if (twice !== undefined) return { ok: false, reason: `line ${line.number} gives '${twice}' twice` };
      checked = row.names;
    }
    const earlier = lineOfCpu.get(row.cpu);
    if (earlier !== undefined) return { ok: false, reason: `line ${line.number} repeats cpu=${row.cpu} of line ${earlier}` };
    lineOfCpu.set(row.cpu, line.number);
    rows.push(row);
  }
  const first = rows.sort((a, b) => a.cpu - b.cpu)[0];
  if (first === undefined) return { ok: false, reason: "there are no 'cpu=' lines" };

  // Every CPU must give the same counters, or a sum would silently leave some out.
  const names = first.names;
  if (names.length === 0) return { ok: false, reason: `line ${first.line} (cpu=${first.cpu}) gives no counters` };
  for (const row of rows) {
    if (sameNames(row.names, names)) continue;
    const given = new Set(row.names);
    const missing = names.find((name) => !given.has(name));
    if (missing !== undefined) {
      return { ok: false, reason: `line ${row.line} (cpu=${row.cpu}) lacks '${missing}', which cpu=${first.cpu} gives` };
    }
    const extra = row.names.find((name) => !names.includes(name));
    if (extra !== undefined) {
      return { ok: false, reason: `line ${row.line} (cpu=${row.cpu}) gives '${extra}', which cpu=${first.cpu} lacks` };
    }
    // The same names in another order.
    row.values = names.map((name) => row.values[row.names.indexOf(name)] as number);
    row.names = names;
  }
  const columns = names.map((_, i) => rows.map((row) => row.values[i] as number));
  return { ok: true, stats: build(names, columns, rows.length) };
}
