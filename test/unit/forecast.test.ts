import { describe, expect, it } from 'vitest';
import { checkForecast, forecast } from '../../src/checks/forecast';
import { formatPerfdata } from '../../src/nagios/perfdata';
import { State } from '../../src/nagios/state';

const NOW = 1_795_329_668_000;
const min = 60_000;
/** A count that grows by `perMinute` a minute, sampled every minute for `n` minutes before NOW. */
const linear = (start: number, perMinute: number, n: number): Array<[number, number]> =>
  Array.from({ length: n }, (_, i) => [NOW - (n - i) * min, start + perMinute * i] as [number, number]);

describe('forecast', () => {
  it('fits the growth rate and the time until full', () => {
    const history = linear(1000, 100, 10); // 1000 .. 1900, then 2000 now
    const f = forecast(history, NOW, 2000, 10_000);
    expect(f.ratePerMinute).toBeCloseTo(100, 9);
    expect(f.secondsToFull).toBeCloseTo(80 * 60, 6);
    expect(f.samples).toBe(11);
  });

  it('has no time to full when shrinking or flat', () => {
    expect(forecast(linear(5000, -50, 10), NOW, 4500, 10_000)).toMatchObject({ secondsToFull: undefined });
    expect(forecast(linear(5000, -50, 10), NOW, 4500, 10_000).ratePerMinute).toBeCloseTo(-50, 9);
    expect(forecast(linear(300, 0, 5), NOW, 300, 10_000)).toMatchObject({ ratePerMinute: 0, secondsToFull: undefined });
  });

  it('needs two samples at least 30 s apart', () => {
    expect(forecast([], NOW, 10, 100)).toEqual({ samples: 1 });
    expect(forecast([[NOW - 29_000, 5]], NOW, 10, 100)).toEqual({ samples: 2 });
    expect(forecast([[NOW - 30_000, 5]], NOW, 10, 100).ratePerMinute).toBeCloseTo(10, 9);
  });

  it('ignores samples older than an hour and samples from the future (a clock step)', () => {
    const f = forecast(
      [
        [NOW - 2 * 3600_000, 0],
        [NOW - 10 * min, 900],
        [NOW + min, 50],
      ],
      NOW,
      1000,
      2000,
    );
    expect(f.samples).toBe(2);
    expect(f.ratePerMinute).toBeCloseTo(10, 9);
  });

  it('after a reboot the history is empty: no rate', () => {
    expect(forecast([], NOW, 12345, 262144).ratePerMinute).toBeUndefined();
  });

  it('says zero seconds when already over max', () => {
    expect(forecast(linear(100, 10, 5), NOW, 150, 120).secondsToFull).toBe(0);
  });
});

describe('checkForecast: the fill thresholds, at their boundaries', () => {
  const f = (secondsToFull: number | undefined, ratePerMinute = 100) => ({ ratePerMinute, secondsToFull, samples: 5 });
  it.each([
    [1799, State.CRITICAL],
    [1800, State.CRITICAL],
    [1801, State.WARNING],
    [3600, State.WARNING],
    [3601, State.OK],
  ])('%d s to full with --fill-warning 1h --fill-critical 30m', (seconds, state) => {
    expect(checkForecast(f(seconds), 100, 1000, { fillWarningSeconds: 3600, fillCriticalSeconds: 1800 }).state).toBe(state);
  });

  it('says when and how fast in the status line, and reports growth as perfdata', () => {
    const r = checkForecast(f(1500, 120.04), 900, 1000, { fillCriticalSeconds: 1800 });
    expect(r.summary).toBe('table full in about 25m at the current growth (+120 entries/min)');
    expect(r.perfdata.map(formatPerfdata)).toEqual(['growth=120']);
    expect(r.details).toEqual(['growth: +120 entries/min over the last 5 samples (900 of 1000), full in about 25m at this rate']);
  });

  it('is OK without fill thresholds, and says shrinking', () => {
    const r = checkForecast(f(undefined, -3.25), 900, 1000, {});
    expect(r.state).toBe(State.OK);
    expect(r.summary).toBe('');
    expect(r.perfdata.map(formatPerfdata)).toEqual(['growth=-3.2']);
    expect(r.details[0]).toContain('shrinking');
  });

  it('without a rate: no growth label, never U (Icinga 2 rejects it)', () => {
    const r = checkForecast({ samples: 1 }, 1, 10, { fillWarningSeconds: 60 });
    expect(r.state).toBe(State.OK);
    expect(r.perfdata).toEqual([]);
  });
});
