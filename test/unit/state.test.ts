import { describe, expect, it } from 'vitest';
import { parseStateName, severity, State, worst } from '../../src/nagios/state';
import { evaluate } from '../../src/nagios/thresholds';
import { parseRange } from '../../src/nagios/range';

describe('state ordering', () => {
  it('uses the exit codes Nagios expects', () => {
    expect([State.OK, State.WARNING, State.CRITICAL, State.UNKNOWN]).toEqual([0, 1, 2, 3]);
  });
  it('ranks CRITICAL > WARNING > UNKNOWN > OK', () => {
    expect(severity(State.CRITICAL)).toBeGreaterThan(severity(State.WARNING));
    expect(severity(State.WARNING)).toBeGreaterThan(severity(State.UNKNOWN));
    expect(severity(State.UNKNOWN)).toBeGreaterThan(severity(State.OK));
  });
  it.each([
    [[], State.OK],
    [[State.OK], State.OK],
    [[State.OK, State.UNKNOWN], State.UNKNOWN],
    [[State.UNKNOWN, State.WARNING], State.WARNING],
    [[State.CRITICAL, State.UNKNOWN], State.CRITICAL],
    [[State.WARNING, State.CRITICAL, State.OK], State.CRITICAL],
  ])('worst(%j) is %d', (states, expected) => {
    expect(worst(states)).toBe(expected);
  });
  it('parses state names in any case and nothing else', () => {
    expect(parseStateName('Warning')).toBe(State.WARNING);
    expect(parseStateName('UNKNOWN')).toBe(State.UNKNOWN);
    expect(parseStateName('warn')).toBeUndefined();
  });
});

describe('evaluate: critical first, then warning', () => {
  // test_utils.c: _set_thresholds("30", "60")
  const t = { warning: parseRange('30'), critical: parseRange('60') };
  it.each([
    [15.3, State.OK],
    [30, State.OK],
    [30.0001, State.WARNING],
    [60, State.WARNING],
    [69, State.CRITICAL],
  ])('%d -> %d', (value, state) => {
    expect(evaluate(value, t)).toBe(state);
  });
  it('reports CRITICAL, not WARNING, when both ranges alert', () => {
    expect(evaluate(100, { warning: parseRange('10'), critical: parseRange('50') })).toBe(State.CRITICAL);
  });
  it('reports CRITICAL when only the critical range alerts', () => {
    // A warning range wider than the critical one: value 7 is inside 0..80 but outside 0..5.
    expect(evaluate(7, { warning: parseRange('80'), critical: parseRange('5') })).toBe(State.CRITICAL);
  });
  it('is OK without thresholds', () => {
    expect(evaluate(1e9, {})).toBe(State.OK);
  });
});
