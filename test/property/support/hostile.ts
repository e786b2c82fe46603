/**
 * Generators of hostile input for the property tests: the real fixtures, cut and
 * mutated; binary garbage; NUL bytes; huge, negative and malformed numbers; lone
 * surrogates and other text a parser may choke on.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { FIXTURES } from '../../support/fixtures';

/** Every fixture file of test/fixtures/<dir> (READMEs left out), as text. */
export function fixtureTexts(dir: string): string[] {
  const root = join(FIXTURES, dir);
  return readdirSync(root)
    .filter((name) => !/^README/i.test(name))
    .sort()
    .map((name) => readFileSync(join(root, name), 'utf8'));
}

/** Snippets that have broken parsers before: numbers at and past every limit, separators, escapes. */
export const SNIPPETS: readonly string[] = [
  '\0',
  '\0\0\0\0',
  '\r',
  '\r\n',
  '\n',
  '\n\n',
  '\t',
  ' ',
  '    ',
  '\v',
  '\f',
  '-',
  '-1',
  '-0',
  '+1',
  '-2147483648',
  '2147483648',
  '4294967295',
  '4294967296',
  '9007199254740991',
  '9007199254740993',
  '18446744073709551615',
  '18446744073709551616',
  '99999999999999999999999999999999',
  '1e308',
  '1e309',
  '0.5',
  '.5',
  'Infinity',
  '-Infinity',
  'NaN',
  '0x10',
  '0b1',
  'ffffffff',
  'FFFFFFFF',
  '100000000',
  'fffffffff',
  '00000000000000000000',
  '\u0660\u0661',
  '\uff11',
  '\ufffd',
  '\ud800',
  '\udfff',
  '\udbff\udfff',
  '\u2028',
  '\u00a0',
  '\ufeff',
  '\x7f',
  '\x85',
  '\x1b[31m',
  '\x1b]0;title\x07',
  '|',
  '||',
  '%',
  '%s%n',
  '${x}',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '"',
  "'",
  '`',
  '\\',
  '\\"',
  '[',
  ']',
  '[]',
  '{',
  '}',
  '{}',
  '(',
  ')',
  ':',
  '::',
  '=',
  '==',
  ',',
  ';',
  '#',
  '*',
  '@',
  '~',
  '9'.repeat(400),
  'a'.repeat(300),
  ' '.repeat(300),
  'table full',
  'suppressed',
  'nf_conntrack: table full, dropping packet',
  'nf_conntrack: nf_conntrack: table full in netns 99999999999999999999, dropping packet',
  'net_ratelimit: 99999999999999999 callbacks suppressed',
  'cpu=',
  'src=',
  'dst=',
  'dport=',
  '[UNREPLIED]',
  '[ASSURED]',
  '[OFFLOAD]',
  '-A',
  '*nat',
  'COMMIT',
  '-j MASQUERADE',
  '-m conntrack --ctstate',
  'kernel:',
  'entries',
];

export const snippet: fc.Arbitrary<string> = fc.constantFrom(...SNIPPETS);

/** Any UTF-16 code unit, lone surrogates included (what a latin1 or broken decode can leave). */
const anyCodeUnit: fc.Arbitrary<string> = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
/** Mostly ASCII, with control characters and the odd high character. */
const asciiish: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: anyCodeUnit },
);

/** Bytes as a latin1 string (one character per byte) or as UTF-8 decoded (U+FFFD for bad bytes). */
export const bytesAsText: fc.Arbitrary<string> = fc
  .tuple(fc.uint8Array({ maxLength: 600 }), fc.boolean())
  .map(([bytes, latin1]) => Buffer.from(bytes).toString(latin1 ? 'latin1' : 'utf8'));

/**
 * `length` bytes from a seed, every byte value densely: what the short garbage
 * above rarely holds all at once. Deterministic, so a failing seed replays.
 */
export function randomBytes(seed: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i += 1) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

/** Random text of every kind, short. */
export const garbage: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: anyCodeUnit, maxLength: 200 }),
  fc.string({ unit: asciiish, maxLength: 300 }),
  bytesAsText,
);

/** Tokens of the kind the parsers split on, joined by their separators: closer to real input than raw bytes. */
export function tokenSoup(tokens: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const separator = fc.constantFrom(' ', ' ', ' ', '  ', '\t', '\n', '\n', '\r\n', ',', '=', ':', '');
  return fc
    .array(
      fc.tuple(fc.oneof({ weight: 3, arbitrary: tokens }, { weight: 1, arbitrary: snippet }, { weight: 1, arbitrary: garbage }), separator),
      {
        maxLength: 60,
      },
    )
    .map((pairs) => pairs.map(([t, s]) => t + s).join(''));
}

type MutationKind =
  | 'truncate'
  | 'cut'
  | 'insert'
  | 'replace-char'
  | 'replace-token'
  | 'dup-line'
  | 'drop-line'
  | 'swap-lines'
  | 'drop-header'
  | 'crlf'
  | 'nul-fill';

interface Mutation {
  kind: MutationKind;
  a: number;
  b: number;
  text: string;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom<MutationKind>(
    'truncate',
    'cut',
    'insert',
    'replace-char',
    'replace-token',
    'dup-line',
    'drop-line',
    'swap-lines',
    'drop-header',
    'crlf',
    'nul-fill',
  ),
  a: fc.nat(),
  b: fc.nat({ max: 200 }),
  text: fc.oneof({ weight: 3, arbitrary: snippet }, { weight: 1, arbitrary: garbage }),
});

function applyMutation(text: string, m: Mutation): string {
  const at = (n: number) => (text.length === 0 ? 0 : n % (text.length + 1));
  const lines = () => text.split('\n');
  switch (m.kind) {
    case 'truncate':
      return text.slice(0, at(m.a));
    case 'cut': {
      const from = at(m.a);
      return text.slice(0, from) + text.slice(from + m.b);
    }
    case 'insert': {
      const from = at(m.a);
      return text.slice(0, from) + m.text + text.slice(from);
    }
    case 'replace-char': {
      const from = at(m.a);
      return text.slice(0, from) + m.text.slice(0, 1) + text.slice(from + 1);
    }
    case 'replace-token': {
      const parts = text.split(/([ \t\n]+)/);
      const tokens = parts.map((p, i) => ({ p, i })).filter(({ p }) => p !== '' && !/^[ \t\n]+$/.test(p));
      const chosen = tokens[m.a % Math.max(1, tokens.length)];
      if (chosen === undefined) return text + m.text;
      parts[chosen.i] = m.text;
      return parts.join('');
    }
    case 'dup-line': {
      const all = lines();
      const i = m.a % all.length;
      all.splice(i, 0, all[i] ?? '');
      return all.join('\n');
    }
    case 'drop-line': {
      const all = lines();
      all.splice(m.a % all.length, 1);
      return all.join('\n');
    }
    case 'swap-lines': {
      const all = lines();
      const i = m.a % all.length;
      const j = m.b % all.length;
      [all[i], all[j]] = [all[j] ?? '', all[i] ?? ''];
      return all.join('\n');
    }
    case 'drop-header':
      return lines().slice(1).join('\n');
    case 'crlf':
      return text.replace(/\n/g, '\r\n');
    case 'nul-fill': {
      const from = at(m.a);
      return text.slice(0, from) + '\0'.repeat(m.b) + text.slice(from + m.b);
    }
  }
}

/** A fixture with one to six mutations: cut short, lines lost or repeated, tokens swapped for hostile ones. */
export function mutatedFixture(texts: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...texts), fc.array(mutation, { minLength: 1, maxLength: 6 }))
    .map(([text, mutations]) => mutations.reduce(applyMutation, text));
}

/** A prefix of a fixture: a read cut short anywhere, mid-line included. */
export function truncatedFixture(texts: readonly string[]): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...texts), fc.nat()).map(([text, n]) => text.slice(0, n % (text.length + 1)));
}

/** The mix most parser properties run on: the fixtures as they are, cut, mutated, and unrelated garbage. */
export function hostileText(texts: readonly string[], tokens: fc.Arbitrary<string> = fc.string({ maxLength: 12 })): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom(...texts) },
    { weight: 2, arbitrary: truncatedFixture(texts) },
    { weight: 5, arbitrary: mutatedFixture(texts) },
    { weight: 2, arbitrary: garbage },
    { weight: 2, arbitrary: tokenSoup(tokens) },
  );
}

/** Lowercase hex of exactly `length` digits. */
export function hex(length: number): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
}

/** Positions to cut a byte array at, in order: a chunking of it. */
export function chunked(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1))))].sort((x, y) => x - y);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

/** Control characters that must never reach a monitoring system's output (newline aside). */
// eslint-disable-next-line no-control-regex -- control characters are what this looks for
export const CONTROL = /[\x00-\x09\x0b-\x1f\x7f]/;

/** True for a plain record (not an array), the shape every parsed object has. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const UINT32_MAX = 0xffffffff;
export const isUint32 = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= UINT32_MAX;
export const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
