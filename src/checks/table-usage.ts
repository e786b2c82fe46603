import { plainNumber, percentText } from '../nagios/number';
import type { Perfdata } from '../nagios/perfdata';
import { formatRange, type Range } from '../nagios/range';
import type { Result } from '../nagios/result';
import { State } from '../nagios/state';
import { evaluate } from '../nagios/thresholds';
import type { BreakdownMeasurement } from '../probes/breakdown';
import type { SysctlReading } from '../probes/sysctl';
import type { TableMeasurement } from '../probes/table';
import { entriesToPercent, percentToEntries } from './entry-ranges';
import type { Check } from './measurements';
import { describeRange } from './range-words';

export interface TableCheckOptions {
  readonly warning?: Range;
  readonly critical?: Range;
  /** The state to report when the kernel has no connection tracking at all. */
  readonly notLoaded: State;
  /** --exclude-unreplied: [UNREPLIED] entries the thresholds do not see; the kernel's count is still the one shown. */
  readonly excludedUnreplied?: number;
}

const CHECK = 'table';

export const NOT_ACTIVE_SUMMARY = 'connection tracking is not active (nf_conntrack not loaded)';

/** Why a number could not be had, in words that name the file and the way out. */
export function readingProblem(reading: SysctlReading, what: string): string {
  switch (reading.status) {
    case 'ok':
      return '';
    case 'missing':
      return `${what} not found (looked for ${reading.tried.join(', ')})`;
    case 'denied':
      return `cannot read ${reading.path}: permission denied (it is normally world-readable; check the mount options of /proc and any security module profile)`;
    case 'invalid':
      return `unexpected content in ${reading.path}: ${reading.reason}`;
    case 'error':
      return `cannot read ${reading.path}: ${reading.message}`;
  }
}

function unknown(summary: string, details: string[] = []): Result {
  return { check: CHECK, state: State.UNKNOWN, summary, details, perfdata: [] };
}

function moduleDetail(m: TableMeasurement): string {
  const kernel = m.kernelRelease ? ` (kernel ${m.kernelRelease})` : '';
  switch (m.module) {
    case 'builtin':
      return `${m.moduleName}: built into the kernel${kernel}`;
    case 'loadable':
      return `${m.moduleName}: loaded as a module${kernel}`;
    case 'absent':
      return `nf_conntrack: no /sys/module entry${kernel}`;
  }
}

function notPresent(m: TableMeasurement, options: TableCheckOptions): Result {
  if (m.count.status !== 'missing') throw new Error('notPresent needs a missing count');
  if (m.module !== 'absent') {
    // The kernel has conntrack, yet the count file is not where it must be:
    // most often --proc names a tree that is not this host's /proc.
    return unknown(
      `${m.moduleName} is ${m.module === 'builtin' ? 'built into the kernel' : 'loaded'} but ${m.count.tried.join(' and ')} ${m.count.tried.length > 1 ? 'are' : 'is'} missing: is --proc this host's /proc?`,
      [moduleDetail(m)],
    );
  }
  return {
    check: CHECK,
    state: options.notLoaded,
    summary: NOT_ACTIVE_SUMMARY,
    details: [
      `none of ${m.count.tried.join(', ')} exists and there is no /sys/module/nf_conntrack: the kernel tracks no connections, so the table cannot fill`,
      'choose the state for this case with --not-loaded ok|warning|critical|unknown',
    ],
    perfdata: [],
  };
}

/**
 * `-w 80% -c 70%`: CRITICAL comes first and WARNING never shows, which is
 * seldom what was meant. The check still does as told; the note says so.
 */
function tighterCritical(options: TableCheckOptions, warning: Range | undefined, critical: Range | undefined): string | undefined {
  if (!warning || !critical || warning.inside || critical.inside || critical.start !== warning.start || critical.end >= warning.end)
    return undefined;
  const given = (r: Range) => formatRange(r, (n) => `${plainNumber(n)}${r.percent ? '%' : ''}`);
  return `-c ${given(options.critical!)} is tighter than -w ${given(options.warning!)}: the table goes from OK straight to CRITICAL and WARNING is never reported (the usual order is -w ${given(options.critical!)} -c ${given(options.warning!)})`;
}

function thresholdWords(entries: Range | undefined, max: number, name: string): string {
  if (!entries) return `${name}: none`;
  const percent = entriesToPercent(entries, max);
  return `${name} ${describeRange(entries, ' entries')} (${describeRange(percent, '%')})`;
}

export function checkTable(m: TableMeasurement, options: TableCheckOptions): Result {
  if (m.count.status === 'missing') return notPresent(m, options);
  if (m.count.status !== 'ok') return unknown(readingProblem(m.count, 'conntrack count'), [moduleDetail(m)]);
  if (m.max.status !== 'ok') return unknown(readingProblem(m.max, 'nf_conntrack_max'), [moduleDetail(m)]);

  const kernelCount = m.count.value;
  const excluded = options.excludedUnreplied ?? 0;
  // What the thresholds see; the kernel's own count stays in every line a person reads.
  const count = kernelCount - excluded;
  const max = m.max.value;
  const trace = [`read ${m.count.path}: ${kernelCount}`, `read ${m.max.path}: ${max}`];
  const details: string[] = [];
  const notes: string[] = [];

  if (m.buckets.status === 'ok') {
    trace.push(`read ${m.buckets.path}: ${m.buckets.value}`);
  } else if (m.buckets.status !== 'missing') {
    notes.push(readingProblem(m.buckets, 'nf_conntrack_buckets'));
  }

  if (max === 0) return unlimited(m, options, count, trace, notes);

  const warning = options.warning && percentToEntries(options.warning, max);
  const critical = options.critical && percentToEntries(options.critical, max);
  const state = evaluate(count, { warning, critical });
  const usage = percentText(count, max);

  const left = options.excludedUnreplied === undefined ? '' : `, ${excluded} [UNREPLIED] left out`;
  details.push(
    `table: ${kernelCount} of ${max} entries used (${percentText(kernelCount, max)}%), ${max - kernelCount} free${options.excludedUnreplied === undefined ? '' : `; without ${excluded} [UNREPLIED]: ${count} (${usage}%)`}`,
  );
  details.push(`${thresholdWords(warning, max, 'warning')}; ${thresholdWords(critical, max, 'critical')}`);
  const tighter = tighterCritical(options, warning, critical);
  if (tighter) notes.push(tighter);
  details.push(moduleDetail(m));

  const perfdata: Perfdata[] = [
    {
      label: 'entries',
      value: count,
      warning: warning && formatRange(warning, plainNumber),
      critical: critical && formatRange(critical, plainNumber),
      min: 0,
      max,
    },
    {
      label: 'usage',
      value: Number(usage),
      uom: '%',
      warning: warning && formatRange(options.warning!.percent ? options.warning! : entriesToPercent(warning, max), plainNumber),
      critical: critical && formatRange(options.critical!.percent ? options.critical! : entriesToPercent(critical, max), plainNumber),
      min: 0,
      max: 100,
    },
  ];

  return {
    check: CHECK,
    state,
    summary:
      options.excludedUnreplied === undefined
        ? `${usage}% of table used (${count} of ${max} entries)`
        : `${usage}% of table used without [UNREPLIED] (${count} of ${max} entries; the kernel counts ${kernelCount}${left})`,
    details,
    notes,
    trace,
    perfdata,
    data: {
      ...tableData(m, kernelCount, max),
      ...(options.excludedUnreplied === undefined
        ? {}
        : { counted: count, unreplied_excluded: excluded, counted_usage_percent: (count * 100) / max }),
    },
  };
}

function tableData(m: TableMeasurement, count: number, max: number): Record<string, unknown> {
  return {
    count,
    max,
    buckets: m.buckets.status === 'ok' ? m.buckets.value : null,
    usage_percent: max > 0 ? (count * 100) / max : null,
    module: m.module,
    kernel: m.kernelRelease ?? null,
    sources: { count: m.count.path, max: m.max.path, buckets: m.buckets.path },
  };
}

/** nf_conntrack_max = 0 lifts the limit (the kernel skips the check): only entry thresholds apply. */
function unlimited(m: TableMeasurement, options: TableCheckOptions, count: number, trace: string[], notes: string[]): Result {
  const usable = (r: Range | undefined) => (r && !r.percent ? r : undefined);
  const warning = usable(options.warning);
  const critical = usable(options.critical);
  if (options.warning?.percent || options.critical?.percent) {
    notes.push(
      'nf_conntrack_max is 0, so the table has no limit and percentage thresholds do not apply; give thresholds in entries to alert on the count',
    );
  }
  return {
    check: CHECK,
    state: evaluate(count, { warning, critical }),
    summary: `${count} ${count === 1 ? 'entry' : 'entries'} (no table limit: nf_conntrack_max is 0)`,
    details: [`table: ${count} ${count === 1 ? 'entry' : 'entries'}, no limit`, moduleDetail(m)],
    notes,
    trace,
    data: tableData(m, count, 0),
    perfdata: [
      {
        label: 'entries',
        value: count,
        warning: warning && formatRange(warning, plainNumber),
        critical: critical && formatRange(critical, plainNumber),
        min: 0,
      },
    ],
  };
}

/**
 * --exclude-unreplied: how many [UNREPLIED] entries (scans, dead peers, DNS)
 * to leave out of the count the thresholds see. Only a complete breakdown can
 * say; undefined when it cannot.
 */
export function unrepliedToExclude(table: TableMeasurement, breakdown: BreakdownMeasurement | undefined): number | undefined {
  if (breakdown?.status !== 'ok' || breakdown.summary.truncated || table.count.status !== 'ok') return undefined;
  return Math.min(table.count.value, breakdown.summary.unreplied);
}

export function unrepliedNote(breakdown: BreakdownMeasurement | undefined): string {
  if (breakdown?.status !== 'ok')
    return '--exclude-unreplied: the entries could not be read, so [UNREPLIED] entries are counted like the rest';
  if (breakdown.summary.truncated)
    return '--exclude-unreplied: the breakdown stopped early, so [UNREPLIED] entries are counted like the rest';
  const n = breakdown.summary.unreplied;
  return `--exclude-unreplied: ${n} [UNREPLIED] ${n === 1 ? 'entry is' : 'entries are'} left out of the usage`;
}

/** The host's table (or the namespace the check runs in); beside namespace findings, its line says whose it is. */
export const tableCheck: Check = (m, options) => {
  const excludedUnreplied = options.excludeUnreplied ? unrepliedToExclude(m.table, m.breakdown) : undefined;
  const checked = checkTable(m.table, { ...options, excludedUnreplied });
  const noted = options.excludeUnreplied ? { ...checked, notes: [...(checked.notes ?? []), unrepliedNote(m.breakdown)] } : checked;
  return [m.inventory && noted.summary ? { ...noted, summary: `host: ${noted.summary}` } : noted];
};
