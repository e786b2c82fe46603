import { formatPerfdata, type Perfdata } from './perfdata';
import type { Rendered } from './render';
import { PLUGIN_NAME, bySeverity, statusSummary } from './render';
import type { Result } from './result';
import { STATE_NAMES, worst } from './state';

/** Bumped when a field changes meaning or goes away; new fields do not bump it. */
export const JSON_FORMAT_VERSION = 1;

function perfJson(p: Perfdata) {
  return {
    label: p.label,
    value: p.value,
    uom: p.uom ?? '',
    warning: p.warning ?? null,
    critical: p.critical ?? null,
    min: p.min ?? null,
    max: p.max ?? null,
    text: formatPerfdata(p),
  };
}

/**
 * One object with every finding, measurement, threshold and piece of advice,
 * for scripts; the exit code is the same as in Nagios format. Documented by
 * schema/check_conntrack.schema.json.
 */
export function renderJson(results: readonly Result[], meta: { version: string; thresholds: Record<string, unknown> }): Rendered {
  const state = worst(results.map((r) => r.state));
  const ordered = bySeverity(results);
  const body = {
    format: JSON_FORMAT_VERSION,
    plugin: 'check_conntrack',
    version: meta.version,
    state: STATE_NAMES[state],
    exit_code: state as number,
    summary: `${PLUGIN_NAME} ${STATE_NAMES[state]} - ${statusSummary(results)}`,
    perfdata: results.flatMap((r) => r.perfdata.map(perfJson)),
    thresholds: meta.thresholds,
    advice: ordered.flatMap((r) => r.advice ?? []),
    checks: ordered.map((r) => ({
      check: r.check,
      state: STATE_NAMES[r.state],
      summary: r.summary,
      details: r.details,
      notes: r.notes ?? [],
      advice: r.advice ?? [],
      trace: r.trace ?? [],
      perfdata: r.perfdata.map(perfJson),
      data: r.data ?? {},
    })),
  };
  return { state, text: `${JSON.stringify(body, jsonSafe, 2)}\n` };
}

/** Infinity (an open range end) is not JSON: write it as null. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  if (typeof value === 'bigint') return value.toString();
  return value;
}
