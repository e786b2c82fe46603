import { formatPerfdata } from './perfdata';
import type { Result } from './result';
import { severity, STATE_NAMES, worst, type State } from './state';

export const PLUGIN_NAME = 'CONNTRACK';

/** Nagios takes the first '|' as the start of perfdata; Icinga splits on it too. */
function clean(text: string): string {
  return text.replace(/\|/g, '/').replace(/[\r\n]+/g, ' ');
}

export interface Rendered {
  state: State;
  text: string;
}

/**
 * Status line, then long output. The worst findings lead the status line; a
 * result with an empty summary adds only detail and perfdata.
 */
export function render(results: readonly Result[], verbosity: number): Rendered {
  const state = worst(results.map((r) => r.state));
  const ordered = results
    .map((r, i) => ({ r, i }))
    .sort((a, b) => severity(b.r.state) - severity(a.r.state) || a.i - b.i)
    .map(({ r }) => r);
  const summary = ordered
    .map((r) => r.summary)
    .filter((s) => s !== '')
    .join('; ');
  const perf = results.flatMap((r) => r.perfdata.map(formatPerfdata)).join(' ');

  let first = `${PLUGIN_NAME} ${STATE_NAMES[state]} - ${clean(summary)}`;
  if (perf) first += ` | ${perf}`;

  const lines = [first];
  for (const r of ordered) {
    for (const n of r.notes ?? []) lines.push(clean(n));
    if (verbosity >= 1) for (const d of r.details) lines.push(clean(d));
    if (verbosity >= 2) for (const t of r.trace ?? []) lines.push(clean(t));
  }
  return { state, text: lines.join('\n') + '\n' };
}

/** One line for a check that could not run at all (bad usage, crash, timeout). */
export function renderUnknown(message: string, extra: readonly string[] = []): Rendered {
  const lines = [`${PLUGIN_NAME} ${STATE_NAMES[3]} - ${clean(message)}`, ...extra.map(clean)];
  return { state: 3, text: lines.join('\n') + '\n' };
}
