import { plainNumber } from '../nagios/number';
import type { Result } from '../nagios/result';
import { State } from '../nagios/state';
import { formatDuration } from './duration';
import type { Check } from './measurements';

export interface ForecastOptions {
  /** Alert when the table will be full sooner than this many seconds. */
  readonly fillWarningSeconds?: number;
  readonly fillCriticalSeconds?: number;
}

export interface Forecast {
  /** Entries per minute, least-squares over the recent samples; undefined without enough history. */
  readonly ratePerMinute?: number;
  /** Seconds until count reaches max at that rate, when it is growing. */
  readonly secondsToFull?: number;
  readonly samples: number;
}

/** The window the rate is fitted over: recent enough to follow a change, long enough to smooth one-minute noise. */
const FIT_WINDOW_MS = 3600 * 1000;
const MIN_SPAN_MS = 30 * 1000;

export function forecast(
  history: ReadonlyArray<readonly [number, number]>,
  nowMs: number,
  count: number,
  max: number | undefined,
): Forecast {
  const points = [...history.filter(([t]) => t < nowMs && nowMs - t <= FIT_WINDOW_MS), [nowMs, count] as const];
  if (points.length < 2 || nowMs - points[0]![0] < MIN_SPAN_MS) return { samples: points.length };
  const n = points.length;
  const meanT = points.reduce((s, [t]) => s + t, 0) / n;
  const meanC = points.reduce((s, [, c]) => s + c, 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, c] of points) {
    num += (t - meanT) * (c - meanC);
    den += (t - meanT) ** 2;
  }
  const perMs = den === 0 ? 0 : num / den;
  const ratePerMinute = perMs * 60_000;
  const secondsToFull = max !== undefined && max > 0 && perMs > 0 ? Math.max(0, (max - count) / perMs / 1000) : undefined;
  return { ratePerMinute, secondsToFull, samples: n };
}

export function checkForecast(f: Forecast, count: number, max: number | undefined, options: ForecastOptions): Result {
  if (f.ratePerMinute === undefined) {
    // No label rather than U, which Icinga 2 rejects: growth is there from the first run that can measure it on.
    return {
      check: 'forecast',
      state: State.OK,
      summary: '',
      details: ['growth: not enough history yet (it needs two checks at least 30s apart)'],
      perfdata: [],
    };
  }
  const rate = Math.round(f.ratePerMinute * 10) / 10;
  const signed = `${rate > 0 ? '+' : ''}${plainNumber(rate, 1)} entries/min`;
  let state = State.OK;
  if (f.secondsToFull !== undefined) {
    if (options.fillCriticalSeconds !== undefined && f.secondsToFull <= options.fillCriticalSeconds) state = State.CRITICAL;
    else if (options.fillWarningSeconds !== undefined && f.secondsToFull <= options.fillWarningSeconds) state = State.WARNING;
  }
  const eta =
    f.secondsToFull !== undefined
      ? `full in about ${formatDuration(Math.round(f.secondsToFull))} at this rate`
      : rate < 0
        ? 'shrinking'
        : 'not growing';
  return {
    check: 'forecast',
    state,
    summary:
      state === State.OK ? '' : `table full in about ${formatDuration(Math.round(f.secondsToFull!))} at the current growth (${signed})`,
    details: [`growth: ${signed} over the last ${f.samples} samples (${count}${max ? ` of ${max}` : ''}), ${eta}`],
    perfdata: [{ label: 'growth', value: rate }],
    data: { rate_per_minute: f.ratePerMinute, seconds_to_full: f.secondsToFull ?? null, samples: f.samples },
  };
}

export const forecastCheck: Check = (m, options) => {
  if (m.table.count.status !== 'ok' || m.table.max.status !== 'ok') return [];
  const count = m.table.count.value;
  const max = m.table.max.value;
  const f = forecast(m.baseline.state ? (m.baseline.counters?.history ?? []) : [], m.identity.nowMs, count, max);
  return [checkForecast(f, count, max, options)];
};
