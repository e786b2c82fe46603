import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../parse/duration';
import type { LogChoice } from '../probes/kernel-log';
import { MAIL_ADDRESS } from '../probes/commands';
import { parseRange, RangeSyntaxError, type Range } from '../nagios/range';
import { parseStateName, State } from '../nagios/state';

export type { Options } from './option-table';

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

/** A state the plugin may be told to report for a finding it can tell: UNKNOWN is for what it cannot. */
export function alertStateArgument(value: string): State {
  const state = parseStateName(value);
  if (state === undefined || state === State.UNKNOWN) throw new InvalidArgumentError(`'${value}' is not one of ok, warning, critical`);
  return state;
}

export function directoryArgument(value: string): string {
  if (value === '') throw new InvalidArgumentError('it is empty');
  return value;
}

/**
 * Absolute, so that the file does not depend on the directory the daemon
 * happens to start the check in; and never an option swallowed as the value
 * (`--state-file -v`).
 */
export function stateFileArgument(value: string): string {
  if (value.startsWith('-')) throw new InvalidArgumentError(`'${value}' begins with '-': give the absolute path of the file`);
  if (!value.startsWith('/')) throw new InvalidArgumentError(`'${value}' is not an absolute path (it must begin with /)`);
  return value;
}

/** A year is more kernel log than any ring buffer or rotated kern.log keeps. */
const MAX_LOG_WINDOW = 366 * 86400;

export function durationArgument(value: string): number {
  const seconds = parseDuration(value);
  if (seconds === undefined || seconds <= 0 || seconds > MAX_LOG_WINDOW) {
    throw new InvalidArgumentError(`'${value}' is not a duration from 1s to 366d, such as 90s, 15m, 1h or 2d`);
  }
  return seconds;
}

/** A range on an increase (a count of events): percentages make no sense there. */
export function countRangeArgument(value: string): Range {
  const range = rangeArgument(value);
  if (range.percent) throw new InvalidArgumentError(`'${value}' is a percentage, but this threshold counts events`);
  return range;
}

const LOG_SOURCES = ['auto', 'kmsg', 'dmesg', 'journal', 'none'] as const;

export function kernelLogArgument(value: string): LogChoice {
  if ((LOG_SOURCES as readonly string[]).includes(value)) return value as LogChoice;
  if (value.startsWith('/')) return { file: value };
  throw new InvalidArgumentError(`'${value}' is not one of ${LOG_SOURCES.join(', ')} or an absolute file path`);
}

export function namespacesArgument(value: string): 'host' | 'all' {
  if (value === 'host' || value === 'all') return value;
  throw new InvalidArgumentError(`'${value}' is not host or all`);
}

export function countArgument(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 1000) throw new InvalidArgumentError(`'${value}' is not a whole number from 0 to 1000`);
  return n;
}

export function formatArgument(value: string): 'nagios' | 'json' {
  if (value === 'nagios' || value === 'json') return value;
  throw new InvalidArgumentError(`'${value}' is not nagios or json`);
}

/**
 * One recipient, checked here so that a typo fails the run that sets it up
 * rather than every mail that run would have sent.
 */
export function mailAddressArgument(value: string): string {
  const shown = `'${value}'`;
  if (value === '') throw new InvalidArgumentError('it is empty: give a user (root) or an address (ops@example.com)');
  if (value.startsWith('-')) throw new InvalidArgumentError(`${shown} begins with '-': give a user (root) or an address (ops@example.com)`);
  if (/\s/.test(value)) throw new InvalidArgumentError(`${shown} contains white space: give one address`);
  if (/[,;]/.test(value))
    throw new InvalidArgumentError(`${shown} is a list: give one address, an alias in /etc/aliases for several people`);
  if (!MAIL_ADDRESS.test(value))
    throw new InvalidArgumentError(
      `${shown} is not a mail address such as root or ops@example.com (letters, digits, '.', '_', '+', '=', '-', one '@')`,
    );
  return value;
}
