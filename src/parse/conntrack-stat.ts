import { preview } from './decimal';

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
const DECIMAL = /^\d{1,10}$/;
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
 * hex digits (%08x of an unsigned int never has more, so never exceeds 2^32 - 1). A hand scan rather than split and parseInt: several times
 * faster, which matters on hosts with thousands of CPU rows.
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
 * if present), every array as long as the others.
 */
function build(names: readonly string[], values: ReadonlyArray<number[]>): ConntrackStats {
  const columns: string[] = [];
  const perCpu = emptyRecord<number[]>();
  const totals = emptyRecord<number>();
  let entries: number | undefined;
  let cpus = 0;
  names.forEach((name, i) => {
    const column = values[i] ?? [];
    cpus = column.length;
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
  return { ok: true, stats: build(names, values) };
}

interface CpuRow {
  cpu: number;
  line: number;
  values: Map<string, number>;
}

function parseCpuLine(line: Line, fields: string[]): { ok: true; row: CpuRow } | { ok: false; reason: string } {
  const cpuText = (fields[0] as string).slice('cpu='.length);
  if (!DECIMAL.test(cpuText) || Number(cpuText) > UINT32_MAX) {
    return { ok: false, reason: `line ${line.number}: 'cpu=${excerpt(cpuText)}' is not a CPU number` };
  }
  const values = new Map<string, number>();
  for (let i = 1; i < fields.length; i += 1) {
    const field = fields[i] as string;
    const eq = field.indexOf('=');
    const key = eq < 0 ? field : field.slice(0, eq);
    const value = eq < 0 ? '' : field.slice(eq + 1);
    if (eq < 0 || !NAME.test(key)) return { ok: false, reason: `line ${line.number}: '${excerpt(field)}' is not a name=value pair` };
    if (!DECIMAL.test(value) || Number(value) > UINT32_MAX) {
      return { ok: false, reason: `line ${line.number}, counter '${excerpt(key)}': '${excerpt(value)}' is not a 32-bit decimal value` };
    }
    const name = NETLINK_TO_PROCFS.get(key) ?? key;
    if (name === 'cpu' || values.has(name)) return { ok: false, reason: `line ${line.number} gives '${name}' twice` };
    if (values.size >= MAX_COLUMNS) return { ok: false, reason: `line ${line.number} has more than ${MAX_COLUMNS} counters` };
    values.set(name, Number(value));
  }
  return { ok: true, row: { cpu: Number(cpuText), line: line.number, values } };
}

/** `conntrack -S` output (conntrack-tools), one `cpu=N key=value ...` line per CPU. */
export function parseConntrackStatistics(text: string): StatParse {
  if (typeof text !== 'string' || text.trim() === '') return { ok: false, reason: 'it is empty' };
  const rows: CpuRow[] = [];
  const lineOfCpu = new Map<number, number>();
  for (const line of linesOf(text)) {
    // Anything else (a version banner, an error on stderr merged in) is not ours to judge.
    if (!/^[ \t]*cpu=/.test(line.text)) continue;
    const fields = fieldsOf(line.text);
    if (rows.length >= MAX_ROWS) return { ok: false, reason: `there are more than ${MAX_ROWS} cpu= lines` };
    const parsed = parseCpuLine(line, fields);
    if (!parsed.ok) return parsed;
    const earlier = lineOfCpu.get(parsed.row.cpu);
    if (earlier !== undefined) {
      return { ok: false, reason: `line ${line.number} repeats cpu=${parsed.row.cpu} of line ${earlier}` };
    }
    lineOfCpu.set(parsed.row.cpu, line.number);
    rows.push(parsed.row);
  }
  const first = rows.sort((a, b) => a.cpu - b.cpu)[0];
  if (first === undefined) return { ok: false, reason: "there are no 'cpu=' lines" };

  // Every CPU must give the same counters, or a sum would silently leave some out.
  const names = [...first.values.keys()];
  for (const row of rows) {
    for (const name of names) {
      if (!row.values.has(name)) {
        return { ok: false, reason: `line ${row.line} (cpu=${row.cpu}) lacks '${name}', which cpu=${first.cpu} gives` };
      }
    }
    if (row.values.size !== names.length) {
      const extra = [...row.values.keys()].find((name) => !first.values.has(name)) ?? '';
      return { ok: false, reason: `line ${row.line} (cpu=${row.cpu}) gives '${extra}', which cpu=${first.cpu} lacks` };
    }
  }
  return { ok: true, stats: build(names, names.map((name) => rows.map((row) => row.values.get(name) ?? 0))) };
}
