import { alerts, type Range } from './range';
import { State } from './state';

export interface Thresholds {
  readonly warning?: Range;
  readonly critical?: Range;
}

/** Critical is checked first, then warning, as the plugin guidelines require. */
export function evaluate(value: number, thresholds: Thresholds): State {
  if (thresholds.critical && alerts(thresholds.critical, value)) return State.CRITICAL;
  if (thresholds.warning && alerts(thresholds.warning, value)) return State.WARNING;
  return State.OK;
}
