import { InvalidArgumentError } from 'commander';
import { parseRange, RangeSyntaxError, type Range } from '../nagios/range';
import { parseStateName, State } from '../nagios/state';

/** Everything the user chose, validated: the rest of the plugin never sees raw strings. */
export interface Options {
  warning?: Range;
  critical?: Range;
  notLoaded: State;
  timeoutSeconds: number;
  verbosity: number;
  procRoot: string;
  sysRoot: string;
}

export const MAX_VERBOSITY = 3;

export function rangeArgument(value: string): Range {
  try {
    return parseRange(value);
  } catch (err) {
    if (err instanceof RangeSyntaxError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

export function timeoutArgument(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0) || n > 3600) {
    throw new InvalidArgumentError(`'${value}' is not a number of seconds between 0 and 3600`);
  }
  return n;
}

export function stateArgument(value: string): State {
  const state = parseStateName(value);
  if (state === undefined) throw new InvalidArgumentError(`'${value}' is not one of ok, warning, critical, unknown`);
  return state;
}

export function directoryArgument(value: string): string {
  if (value === '') throw new InvalidArgumentError('the directory name is empty');
  return value;
}
