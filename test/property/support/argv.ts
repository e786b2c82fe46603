/**
 * Command lines: real option names with values of the right kind, the wrong kind
 * or none, repeated options, `--`, very long strings and unicode.
 */
import fc from 'fast-check';
import { garbage, snippet } from './hostile';

/** Every option that takes a value, long and short spellings. */
export const WITH_VALUE = [
  '-w',
  '--warning',
  '-c',
  '--critical',
  '--not-loaded',
  '--drop-warning',
  '--drop-critical',
  '--early-drop-warning',
  '--early-drop-critical',
  '--insert-failed-warning',
  '--insert-failed-critical',
  '--kernel-log',
  '--log-window',
  '--log-drops-warning',
  '--log-drops-critical',
  '--stale-modules',
  '--other-namespaces-drops',
  '--namespaces',
  '--top',
  '--buckets-warning',
  '--fill-warning',
  '--fill-critical',
  '--format',
  '--state-file',
  '-t',
  '--timeout',
  '--proc',
  '--sys',
];
export const FLAGS = [
  '-v',
  '-vv',
  '-vvv',
  '-vvvvvv',
  '--verbose',
  '--breakdown',
  '--exclude-unreplied',
  '--quiet-ok',
  '--no-state',
  '--sudo',
  '-h',
  '--help',
  '-V',
  '--version',
  '--',
  '-',
  '--no-such-option',
  '-x',
  '--warn',
  '--verb',
];

export const values = fc.oneof(
  fc.constantFrom(
    '80%',
    '90%',
    '0',
    '10',
    '~:80%',
    '@50:60%',
    '10:20',
    '-5:10',
    '@~:5',
    '5:',
    ':',
    '@',
    '',
    '%',
    '1e3',
    '80%%',
    '20:10',
    '0.5',
    '3600',
    '3600.0',
    '3600.5',
    '0.0',
    '0',
    '1',
    '1000',
    '1001',
    '-1',
    'ok',
    'OK',
    'warning',
    'Critical',
    'unknown',
    'bogus',
    'auto',
    'kmsg',
    'dmesg',
    'journal',
    'none',
    '/var/log/kern.log',
    'relative/path',
    '90s',
    '15m',
    '1h',
    '2d',
    '366d',
    '367d',
    '0s',
    '1.5h',
    'host',
    'all',
    'nagios',
    'json',
    'xml',
    '/proc',
    '/sys',
    '\u2603',
    '١٠',
    '８０%',
  ),
  fc.stringMatching(/^@?(~|-?\d{1,4}(\.\d{1,3})?%?)?(:(-?\d{1,4}(\.\d{1,3})?%?)?)?$/),
  fc.stringMatching(/^\d{1,8}(\.\d{1,8})?[smhd]?$/),
  snippet,
  garbage,
  fc.string({ unit: 'binary', minLength: 5_000, maxLength: 20_000 }),
);

export const word = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...WITH_VALUE, ...FLAGS) },
  { weight: 3, arbitrary: values },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...WITH_VALUE.filter((o) => o.startsWith('--'))), values).map(([o, v]) => `${o}=${v}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('-w', '-c', '-t'), values).map(([o, v]) => `${o}${v}`) },
);
/** Options followed by a value, mostly: the argv of a plausible but careless command definition. */
const pairs = fc.array(fc.tuple(fc.constantFrom(...WITH_VALUE), values), { maxLength: 8 }).map((p) => p.flat());
/** For each option, values of the kind it takes (some still out of range): argv that mostly runs. */
const range = fc.stringMatching(/^@?(~|\d{1,6}(\.\d{1,3})?%?)?(:(\d{1,6}(\.\d{1,3})?%?)?)?$/);
const countRange = fc.stringMatching(/^@?(~|\d{1,6})?(:(\d{1,6})?)?$/);
const state = fc.mixedCase(fc.constantFrom('ok', 'warning', 'critical', 'unknown'));
const duration = fc.stringMatching(/^\d{1,6}(\.\d{1,2})?[smhd]?$/);
const path = fc.stringMatching(/^\/[a-z0-9/._-]{0,30}$/);
const KIND_OF: Record<string, fc.Arbitrary<string>> = {
  '--warning': range,
  '--critical': range,
  '--buckets-warning': range,
  '--drop-warning': countRange,
  '--drop-critical': countRange,
  '--early-drop-warning': countRange,
  '--early-drop-critical': countRange,
  '--insert-failed-warning': countRange,
  '--insert-failed-critical': countRange,
  '--log-drops-warning': countRange,
  '--log-drops-critical': countRange,
  '--not-loaded': state,
  '--stale-modules': state,
  '--other-namespaces-drops': state,
  '--kernel-log': fc.oneof(fc.constantFrom('auto', 'kmsg', 'dmesg', 'journal', 'none'), path),
  '--log-window': duration,
  '--fill-warning': duration,
  '--fill-critical': duration,
  '--namespaces': fc.constantFrom('host', 'all'),
  '--top': fc.stringMatching(/^\d{1,4}$/),
  '--format': fc.constantFrom('nagios', 'json'),
  '--state-file': path,
  '--timeout': fc.stringMatching(/^\d{1,4}(\.\d{1,3})?$/),
  '--proc': path,
  '--sys': path,
};
const fitting = fc
  .array(
    fc.constantFrom(...Object.keys(KIND_OF)).chain((o) => fc.tuple(fc.constant(o), KIND_OF[o] as fc.Arbitrary<string>, fc.boolean())),
    { maxLength: 10 },
  )
  .chain((p) =>
    fc.tuple(
      fc.constant(p),
      fc.array(fc.constantFrom('-v', '--breakdown', '--exclude-unreplied', '--quiet-ok', '--no-state', '--sudo'), { maxLength: 3 }),
    ),
  )
  .map(([p, flags]) => [...p.flatMap(([o, v, joined]) => (joined ? [`${o}=${v}`] : [o, v])), ...flags]);
export const argv = fc.oneof(
  { weight: 2, arbitrary: fc.array(word, { maxLength: 12 }) },
  { weight: 1, arbitrary: pairs },
  { weight: 3, arbitrary: fitting },
  { weight: 1, arbitrary: fc.tuple(pairs, fc.array(word, { maxLength: 4 })).map(([a, b]) => [...a, ...b]) },
);
