/**
 * Nagios threshold ranges: `[@]start:end` as in the Monitoring Plugins
 * guidelines. Alert when the value is outside start..end (ends inclusive), or
 * inside it with `@`. `start` defaults to 0 and may be `~` (minus infinity); a
 * missing end is plus infinity.
 *
 * Our one extension: a `%` after a number marks the whole range as a percentage
 * (of the conntrack table's max); the caller converts it before use.
 */
export interface Range {
  readonly start: number;
  readonly end: number;
  readonly inside: boolean;
  readonly percent: boolean;
  /** As the user wrote it, for messages. */
  readonly text: string;
}

export class RangeSyntaxError extends Error {}

const NUMBER = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(%?)$/;

interface Bound {
  value: number;
  percent: boolean;
}

function parseBound(text: string, whole: string): Bound {
  const m = NUMBER.exec(text);
  if (!m) throw new RangeSyntaxError(`invalid range '${whole}': '${text}' is not a number`);
  const value = Number(m[1]);
  if (!Number.isFinite(value)) throw new RangeSyntaxError(`invalid range '${whole}': '${text}' is too large`);
  return { value, percent: m[2] === '%' };
}

export function parseRange(text: string): Range {
  let body = text;
  let inside = false;
  if (body.startsWith('@')) {
    inside = true;
    body = body.slice(1);
  }
  if (body === '') throw new RangeSyntaxError(`invalid range '${text}': it is empty`);

  let start: Bound = { value: 0, percent: false };
  let end: Bound = { value: Infinity, percent: false };
  const colon = body.indexOf(':');
  if (colon < 0) {
    end = parseBound(body, text);
  } else {
    const head = body.slice(0, colon);
    const tail = body.slice(colon + 1);
    if (head === '~') start = { value: -Infinity, percent: false };
    else if (head !== '') start = parseBound(head, text);
    if (tail !== '') end = parseBound(tail, text);
    if (head === '' && tail === '') throw new RangeSyntaxError(`invalid range '${text}': it has no bounds`);
  }
  if (start.value > end.value) {
    throw new RangeSyntaxError(`invalid range '${text}': start is greater than end`);
  }
  return { start: start.value, end: end.value, inside, percent: start.percent || end.percent, text };
}

/** True when `value` should raise an alert under `range`. */
export function alerts(range: Range, value: number): boolean {
  const within = value >= range.start && value <= range.end;
  return range.inside ? within : !within;
}

/**
 * The range written back in Nagios syntax, as perfdata carries it. A plain
 * `0:N` range becomes the bare number N, which is the only form Icinga 2 keeps.
 */
export function formatRange(range: Range, format: (n: number) => string): string {
  const prefix = range.inside ? '@' : '';
  if (range.start === 0 && range.end !== Infinity) return prefix + format(range.end);
  const start = range.start === -Infinity ? '~' : format(range.start);
  const end = range.end === Infinity ? '' : format(range.end);
  return `${prefix}${start}:${end}`;
}
