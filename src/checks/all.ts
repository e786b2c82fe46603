import type { Result } from '../nagios/result';
import type { Options } from '../runtime/option-table';
import { breakdownCheck } from './breakdown';
import { forecastCheck } from './forecast';
import { foreignDropsCheck } from './log-owner';
import type { Check, Measurements } from './measurements';
import { namespacesCheck } from './namespaces';
import { packetLossCheck } from './packet-loss';
import { sizingCheck } from './sizing';
import { staleModulesCheck } from './stale-modules';
import { tableCheck } from './table-usage';

/** Every check, in the order of the output. A new check is a function of this shape and a line here. */
export const CHECKS: readonly Check[] = [
  tableCheck,
  packetLossCheck,
  foreignDropsCheck,
  staleModulesCheck,
  namespacesCheck,
  breakdownCheck,
  forecastCheck,
  sizingCheck,
];

export function runChecks(m: Measurements, options: Options): Result[] {
  return CHECKS.flatMap((check) => check(m, options));
}
