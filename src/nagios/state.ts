/** Plugin states, numbered as the exit codes Nagios, Icinga and NRPE expect. */
export enum State {
  OK = 0,
  WARNING = 1,
  CRITICAL = 2,
  UNKNOWN = 3,
}

export const STATE_NAMES: Record<State, string> = {
  [State.OK]: 'OK',
  [State.WARNING]: 'WARNING',
  [State.CRITICAL]: 'CRITICAL',
  [State.UNKNOWN]: 'UNKNOWN',
};

/**
 * How bad a state is, for combining results: CRITICAL > WARNING > UNKNOWN > OK
 * (monitoring-plugins' max_state_alt). A full table stays CRITICAL even when some
 * other part of the check could not be measured; the unmeasured part still shows
 * in the summary.
 */
const SEVERITY: Record<State, number> = {
  [State.OK]: 0,
  [State.UNKNOWN]: 1,
  [State.WARNING]: 2,
  [State.CRITICAL]: 3,
};

export function severity(state: State): number {
  return SEVERITY[state];
}

export function worst(states: Iterable<State>): State {
  let result = State.OK;
  for (const s of states) if (SEVERITY[s] > SEVERITY[result]) result = s;
  return result;
}

export function parseStateName(text: string): State | undefined {
  switch (text.toLowerCase()) {
    case 'ok':
      return State.OK;
    case 'warning':
      return State.WARNING;
    case 'critical':
      return State.CRITICAL;
    case 'unknown':
      return State.UNKNOWN;
    default:
      return undefined;
  }
}
