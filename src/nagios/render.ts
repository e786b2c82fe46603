import { formatPerfdata } from './perfdata';
import type { Result } from './result';
import { severity, STATE_NAMES, worst, type State } from './state';

export const PLUGIN_NAME = 'CONNTRACK';

/**
 * What the transports carry: NRPE v2 cuts at 1024 bytes, Nagios Core at 8 KiB.
 * The default output stays inside the first, -v inside the second.
 */
export const OUTPUT_LIMITS = { brief: 1024, verbose: 8192 } as const;

/**
 * Nagios takes the first '|' as the start of perfdata; Icinga splits on it
 * too. Control characters (an escape sequence from a hostile file) would reach
 * a terminal or a web page: they become '?'.
 */
export function clean(text: string): string {
  return (
    text
      .replace(/\|/g, '/')
      .replace(/[\r\n\t]+/g, ' ')
      // eslint-disable-next-line no-control-regex -- control characters are what this replaces
      .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?')
  );
}

export interface Rendered {
  state: State;
  text: string;
  /** When the text must be written by (ms since the epoch): the end of the run's -t. */
  writeByMs?: number;
}

/** Results with the worst first; equal states keep the checks' order. */
export function bySeverity(results: readonly Result[]): Result[] {
  return results
    .map((r, i) => ({ r, i }))
    .sort((a, b) => severity(b.r.state) - severity(a.r.state) || a.i - b.i)
    .map(({ r }) => r);
}

export function statusSummary(results: readonly Result[]): string {
  return bySeverity(results)
    .map((r) => r.summary)
    .filter((s) => s !== '')
    .join('; ');
}

const byteLength = (s: string) => Buffer.byteLength(s, 'utf8');

/** Cuts text to at most `bytes` bytes of UTF-8 without splitting a character. */
function cutBytes(text: string, bytes: number): string {
  if (byteLength(text) <= bytes) return text;
  // A cut inside a character decodes to U+FFFD, which is 3 bytes: drop it.
  let cut = Buffer.from(text, 'utf8').subarray(0, bytes).toString('utf8');
  while (cut.endsWith('\uFFFD') || byteLength(cut) > bytes) cut = cut.slice(0, -1);
  return cut;
}

/**
 * The status line within `limit`: the summary is shortened first; perfdata
 * items are dropped whole from the end, never cut in the middle.
 */
function fitStatusLine(head: string, summary: string, perf: string[], limit: number): string {
  const perfText = (items: string[]) => (items.length ? ` | ${items.join(' ')}` : '');
  const items = [...perf];
  // Keep room for a useful summary before giving up perfdata items.
  while (items.length && byteLength(head) + 40 + byteLength(perfText(items)) > limit) items.pop();
  const room = limit - byteLength(head) - byteLength(perfText(items));
  const text = byteLength(summary) <= room ? summary : `${cutBytes(summary, Math.max(0, room - 3))}...`;
  return `${head}${text}${perfText(items)}`;
}

/**
 * Status line, then long output: notes always, details and advice at -v,
 * where the figures came from at -vv. The worst findings lead the status line;
 * a result with an empty summary adds only detail and perfdata. The whole fits
 * in OUTPUT_LIMITS, cut at a line with a note saying so. A lead ("recovered
 * after 1h 55m") goes before the summary.
 */
export function render(results: readonly Result[], verbosity: number, lead?: string): Rendered {
  const state = worst(results.map((r) => r.state));
  const ordered = bySeverity(results);
  const perf = results.flatMap((r) => r.perfdata.map(formatPerfdata));
  const limit = verbosity >= 1 ? OUTPUT_LIMITS.verbose : OUTPUT_LIMITS.brief;
  const summary = statusSummary(results);
  // The newline after each line counts against the limit too.
  const first = fitStatusLine(`${PLUGIN_NAME} ${STATE_NAMES[state]} - `, clean(lead ? `${lead}: ${summary}` : summary), perf, limit - 1);

  // A line said once is enough: the same sample log line three times, or two checks noting one fact, is noise.
  const seen = new Set<string>();
  const more: string[] = [];
  const add = (line: string) => {
    const text = clean(line);
    if (!seen.has(text)) more.push(text);
    seen.add(text);
  };
  for (const r of ordered) {
    for (const n of r.notes ?? []) add(n);
    if (verbosity >= 1) for (const d of [...r.details, ...(r.advice ?? [])]) add(d);
    if (verbosity >= 2) for (const t of r.trace ?? []) add(t);
  }
  const lines = [first];
  let used = byteLength(first) + 1;
  // One huge line (a top-1000 list) must not push every later line out: it is shortened instead.
  const lineLimit = Math.floor(limit / 4);
  const level = verbosity >= 1 ? `-${'v'.repeat(verbosity)}` : 'the default output';
  for (let i = 0; i < more.length; i++) {
    const line = shorten(more[i]!, lineLimit);
    const left = more.length - i;
    const cutNote = `(output cut at ${limit} bytes for ${level}: ${left} more ${left === 1 ? 'line' : 'lines'}; ${verbosity >= 1 ? '--format json has everything' : 'see -v or --format json'})`;
    if (used + byteLength(line) + 1 + (i + 1 < more.length ? byteLength(cutNote) + 1 : 0) > limit) {
      lines.push(cutNote);
      break;
    }
    lines.push(line);
    used += byteLength(line) + 1;
  }
  return { state, text: lines.join('\n') + '\n' };
}

/** A line within `bytes`, cut at a character, saying how much was left out. */
function shorten(line: string, bytes: number): string {
  const total = byteLength(line);
  if (total <= bytes) return line;
  const tail = ` ... (line shortened: ${total} bytes)`;
  return `${cutBytes(line, bytes - byteLength(tail))}${tail}`;
}

/** One line for a check that could not run at all (bad usage, crash, timeout). */
export function renderUnknown(message: string, extra: readonly string[] = []): Rendered {
  const head = `${PLUGIN_NAME} ${STATE_NAMES[3]} - `;
  const tail = extra.map(clean);
  // Whatever the message echoes (a 5,000-character argument), the whole stays within the brief limit.
  const room = OUTPUT_LIMITS.brief - byteLength(head) - tail.reduce((n, l) => n + byteLength(l) + 1, 0) - 1;
  const text = clean(message);
  const first = `${head}${byteLength(text) <= room ? text : `${cutBytes(text, Math.max(0, room - 3))}...`}`;
  return { state: 3, text: [first, ...tail].join('\n') + '\n' };
}
