import { plainNumber } from '../nagios/number';
import type { Range } from '../nagios/range';

/** A range in words, so the long output says what the thresholds mean. */
export function describeRange(range: Range, unit: string): string {
  const n = (x: number) => `${plainNumber(x, 2)}${unit}`;
  const lowOpen = range.start === -Infinity;
  const highOpen = range.end === Infinity;
  if (range.inside) {
    if (lowOpen && highOpen) return 'always';
    if (lowOpen) return `at or below ${n(range.end)}`;
    if (highOpen) return `at or above ${n(range.start)}`;
    return `from ${n(range.start)} to ${n(range.end)}`;
  }
  if (lowOpen && highOpen) return 'never';
  if (lowOpen) return `above ${n(range.end)}`;
  if (highOpen) return `below ${n(range.start)}`;
  if (range.start === 0) return `above ${n(range.end)}`;
  return `below ${n(range.start)} or above ${n(range.end)}`;
}
