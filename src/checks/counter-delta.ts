import { REPORTED_COUNTERS, type ConntrackStats } from '../parse/conntrack-stat';

/**
 * How much a per-CPU kernel counter grew between two runs. The kernel keeps
 * each CPU's value in 32 bits, so a CPU's counter may wrap; a counter that went
 * down by less than half the range did not wrap, it started again: the
 * namespace was recreated (its inode reused).
 */
export type CounterDelta =
  | { kind: 'delta'; value: number }
  /** Not comparable. `recreated`: the counter went down, so it counted from zero since. */
  | { kind: 'reset'; recreated: boolean; reason: string };

const RANGE = 2 ** 32;

export function counterDelta(previous: readonly number[], current: readonly number[]): CounterDelta {
  if (previous.length !== current.length) {
    return { kind: 'reset', recreated: false, reason: `the number of CPU rows changed from ${previous.length} to ${current.length}` };
  }
  let total = 0;
  for (let cpu = 0; cpu < current.length; cpu++) {
    const before = previous[cpu]!;
    const now = current[cpu]!;
    if (before >= RANGE || now >= RANGE) {
      return { kind: 'reset', recreated: false, reason: `a value on CPU ${cpu} does not fit in 32 bits` };
    }
    if (now >= before) total += now - before;
    else if (before - now > RANGE / 2) total += now + RANGE - before;
    else return { kind: 'reset', recreated: true, reason: `it went down on CPU ${cpu} (from ${before} to ${now})` };
  }
  return { kind: 'delta', value: total };
}

/** Growth of one counter between a saved baseline and now; undefined when not comparable. */
export function counterIncrease(
  previous: Record<string, number[]> | undefined,
  current: Record<string, number[]> | undefined,
  name: string,
): number | undefined {
  const before = previous?.[name];
  const now = current?.[name];
  if (!before || !now) return undefined;
  const d = counterDelta(before, now);
  return d.kind === 'delta' ? d.value : undefined;
}

export type CounterGrowth =
  { kind: 'growth'; increases: Record<string, number>; recreated?: string } | { kind: 'incomparable'; reason: string };

/**
 * How each reported counter grew since a saved baseline. One counter going
 * down means the namespace behind this inode is not the one last seen
 * (recreated, its inode reused): everything it counted happened since the last
 * check, so its totals are the increase. Counters that cannot be compared at
 * all (the CPU rows changed) start a new baseline.
 */
export function compareCounters(previous: Record<string, number[]>, stats: ConntrackStats): CounterGrowth {
  let recreated: string | undefined;
  for (const [name, before] of Object.entries(previous)) {
    const now = stats.perCpu[name];
    if (!now) continue;
    const d = counterDelta(before, now);
    if (d.kind === 'reset' && !d.recreated) return { kind: 'incomparable', reason: `${name}: ${d.reason}` };
    if (d.kind === 'reset') {
      recreated = `${name} ${d.reason}`;
      break;
    }
  }
  const increases: Record<string, number> = {};
  for (const name of REPORTED_COUNTERS) {
    const before = previous[name];
    const now = stats.perCpu[name];
    if (!now) continue;
    if (recreated) increases[name] = stats.totals[name]!;
    else if (before) {
      const d = counterDelta(before, now);
      // Every counter was compared above: none resets here.
      if (d.kind === 'delta') increases[name] = d.value;
    }
  }
  return { kind: 'growth', increases, recreated };
}
