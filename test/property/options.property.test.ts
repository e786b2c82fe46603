/**
 * Option parsing: any argv ends as options to run with, help or version text, or a
 * usage error, never as an exception; and options to run with are always valid.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRange, type Range } from '../../src/nagios/range';
import { parseCommandLine } from '../../src/runtime/cli';
import type { Options } from '../../src/runtime/options';
import { argv, FLAGS, values, WITH_VALUE } from './support/argv';

const RUNS = { numRuns: 400, interruptAfterTimeLimit: 10_000 };

const DAY = 86400;

function checkRange(r: Range | undefined, counts: boolean): void {
  if (r === undefined) return;
  expect(Number.isNaN(r.start) || Number.isNaN(r.end)).toBe(false);
  expect(r.start).toBeLessThanOrEqual(r.end);
  expect(typeof r.text).toBe('string');
  if (counts) expect(r.percent).toBe(false);
  const again = parseRange(r.text);
  expect([again.start, again.end, again.inside, again.percent]).toEqual([r.start, r.end, r.inside, r.percent]);
}

function checkOptions(o: Options): void {
  checkRange(o.warning, false);
  checkRange(o.critical, false);
  checkRange(o.bucketsWarning, false);
  for (const r of [
    o.dropWarning,
    o.dropCritical,
    o.earlyDropWarning,
    o.earlyDropCritical,
    o.insertFailedWarning,
    o.insertFailedCritical,
    o.logDropsWarning,
    o.logDropsCritical,
  ])
    checkRange(r, true);
  for (const s of [o.notLoaded, o.staleModules, o.otherNamespacesDrops]) expect([0, 1, 2, 3]).toContain(s);
  expect(Number.isFinite(o.timeoutSeconds) && o.timeoutSeconds > 0 && o.timeoutSeconds <= 3600).toBe(true);
  expect(Number.isInteger(o.verbosity) && o.verbosity >= 0 && o.verbosity <= 3).toBe(true);
  expect(typeof o.procRoot === 'string' && o.procRoot.length > 0).toBe(true);
  expect(typeof o.sysRoot === 'string' && o.sysRoot.length > 0).toBe(true);
  expect(o.stateFile === undefined || typeof o.stateFile === 'string').toBe(true);
  expect(typeof o.noState).toBe('boolean');
  if (typeof o.kernelLog === 'string') expect(['auto', 'kmsg', 'dmesg', 'journal', 'none']).toContain(o.kernelLog);
  else expect(o.kernelLog.file.startsWith('/')).toBe(true);
  for (const d of [o.logWindowSeconds, o.fillWarningSeconds, o.fillCriticalSeconds]) {
    if (d !== undefined) expect(Number.isFinite(d) && d > 0 && d <= 366 * DAY).toBe(true);
  }
  expect(o.logWindowSeconds).toBeDefined();
  expect(['host', 'all']).toContain(o.namespaces);
  expect(Number.isInteger(o.top) && o.top >= 0 && o.top <= 1000).toBe(true);
  expect(['nagios', 'json']).toContain(o.format);
  for (const b of [o.sudo, o.breakdown, o.excludeUnreplied, o.quietOk]) expect(typeof b).toBe('boolean');
  if (o.excludeUnreplied) expect(o.breakdown).toBe(true);
}

describe('parseCommandLine', () => {
  it('ends any argv as run, info or usage-error, and every option to run with is valid', () => {
    fc.assert(
      fc.property(argv, (args) => {
        const frozen = Object.freeze([...args]);
        const outcome = parseCommandLine(frozen);
        expect(['run', 'info', 'usage-error']).toContain(outcome.kind);
        if (outcome.kind === 'run') checkOptions(outcome.options);
        else if (outcome.kind === 'info') expect(outcome.text.length).toBeGreaterThan(0);
        else {
          expect(outcome.message.trim().length).toBeGreaterThan(0);
          expect(outcome.usage.length).toBeGreaterThan(0);
        }
        // The caller's array is left alone.
        expect(frozen).toEqual(args);
      }),
      RUNS,
    );
  });

  it('takes the last of a repeated option, and counts -v up to 3', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 99 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 8 }),
        (percents, v) => {
          const args = [...percents.flatMap((p) => ['-w', `${p}%`]), ...Array.from({ length: v }, () => '-v')];
          const outcome = parseCommandLine(args);
          if (outcome.kind !== 'run') throw new Error(JSON.stringify(outcome));
          expect(outcome.options.warning?.end).toBe(percents[percents.length - 1]);
          expect(outcome.options.verbosity).toBe(Math.min(v, 3));
        },
      ),
      RUNS,
    );
  });

  it('accepts a timeout exactly when it is a plain number of seconds in (0, 3600]', () => {
    fc.assert(
      fc.property(fc.oneof(fc.stringMatching(/^\d{1,5}(\.\d{1,4})?$/), values), (value) => {
        const outcome = parseCommandLine(['-t', value]);
        const n = Number(value);
        const valid = /^\d+(\.\d+)?$/.test(value) && n > 0 && n <= 3600;
        expect(outcome.kind).toBe(valid ? 'run' : 'usage-error');
        if (outcome.kind === 'run') expect(outcome.options.timeoutSeconds).toBe(n);
      }),
      RUNS,
    );
  });

  it('leaves everything after -- alone: the plugin takes no arguments, so any is a usage error', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.oneof(fc.constantFrom(...WITH_VALUE, ...FLAGS), values), { minLength: 1, maxLength: 4 }),
        (v, after) => {
          const outcome = parseCommandLine([...Array.from({ length: v }, () => '-v'), '--', ...after]);
          expect(outcome.kind).toBe('usage-error');
        },
      ),
      RUNS,
    );
  });
});
