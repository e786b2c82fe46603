import type { Range } from '../nagios/range';

/**
 * Percent thresholds become whole-entry thresholds: a start rounds up and an end
 * rounds down, which alerts on exactly the same integer counts as the percent
 * itself (count > 209715.2 is count > 209715), and gives Icinga 2 plain numbers.
 */
export function percentToEntries(range: Range, max: number): Range {
  if (!range.percent) return range;
  return {
    ...range,
    percent: false,
    start: Number.isFinite(range.start) ? Math.ceil(nearInteger((range.start * max) / 100)) : range.start,
    end: Number.isFinite(range.end) ? Math.floor(nearInteger((range.end * max) / 100)) : range.end,
  };
}

/** The same range expressed as a percentage of max, for the `usage` perfdata. */
export function entriesToPercent(range: Range, max: number): Range {
  if (range.percent) return range;
  const scale = (n: number) => (Number.isFinite(n) ? (n * 100) / max : n);
  return { ...range, percent: true, start: scale(range.start), end: scale(range.end) };
}

/**
 * 57% of 100 must be 57, not 57.00000000000001 (which would round the wrong way
 * at a boundary): snap results within floating-point noise of an integer.
 */
function nearInteger(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - r) <= 1e-9 * Math.max(1, Math.abs(x)) ? r : x;
}
