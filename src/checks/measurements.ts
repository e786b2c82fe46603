import type { Result } from '../nagios/result';
import type { BreakdownMeasurement } from '../probes/breakdown';
import type { CountersMeasurement } from '../probes/counters';
import type { LogScan } from '../probes/kernel-log';
import type { ModulesMeasurement } from '../probes/modules';
import type { NamespaceEntry } from '../probes/namespace-stats';
import type { NamespaceInventory } from '../probes/namespaces';
import type { Privileges } from '../probes/privileges';
import type { RulesMeasurement } from '../probes/rules';
import type { SizingMeasurement } from '../probes/sizing';
import type { TableMeasurement } from '../probes/table';
import type { RunIdentity } from '../run-identity';
import type { Options } from '../runtime/option-table';
import type { Baseline } from '../state/baseline';
import type { StateLoad, StateSave } from '../state/state-file';

/**
 * Everything one run measured, as plain data: what every check is handed. A
 * test builds one by hand; the probes build it on a host.
 */
export interface Measurements {
  readonly table: TableMeasurement;
  readonly privileges: Pick<Privileges, 'uid' | 'user'>;
  readonly identity: RunIdentity;
  /** What the last run left to compare with. */
  readonly baseline: Baseline;
  readonly counters: CountersMeasurement;
  readonly log: LogScan;
  readonly modules: ModulesMeasurement;
  readonly rules: RulesMeasurement;
  readonly sizing: SizingMeasurement;
  /** With --breakdown. */
  readonly breakdown?: BreakdownMeasurement;
  /** With --namespaces all: every namespace found. */
  readonly inventory?: NamespaceInventory;
  /** With --namespaces all: what was read in each namespace but this one. */
  readonly namespaceEntries: readonly NamespaceEntry[];
  /**
   * The namespaces there are, for giving kernel log messages their owner: the
   * inventory, or a look taken because a message named a namespace.
   */
  readonly seen?: NamespaceInventory;
  /**
   * The state file: where it is (none with --no-state), what was read from it,
   * and, once this run's state is saved, how that went. Checks run before the
   * save take it as kept; they run again when it was not.
   */
  readonly stateFile: { readonly path?: string; readonly loaded?: StateLoad; readonly saved?: StateSave };
  /** Pointer size of the machine: the kernel's sizing rule depends on it. */
  readonly archBits: number;
}

/**
 * The one shape of a check: measurements and options in, findings out. A check
 * with nothing to say returns none; the order of CHECKS is the order of the
 * output.
 */
export type Check = (m: Measurements, options: Options) => Result[];

/** Why the state for the next check could not be kept, when it could not. */
export function stateLost(m: Measurements): string | undefined {
  return m.stateFile.saved?.status === 'failed' ? m.stateFile.saved.reason : undefined;
}
