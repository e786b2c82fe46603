/** The two fields of /proc/PID/stat that name a process and order processes by age. */
export interface PidStat {
  /** The kernel's task name (what /proc/PID/comm shows): at most 15 bytes, or 63 for a kernel worker with its workqueue. */
  comm: string;
  /** Field 22: when the process started, in clock ticks since boot. */
  startTime: number;
}

/**
 * `4242 (nginx: worker) S 1 ...`. The name is printed raw, so it may hold
 * spaces, '(' and ')': only the last ')' ends it, and the fields are counted
 * from there (field 3, the state, is the first one after it).
 */
export function parseProcPidStat(text: string): PidStat | undefined {
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open || !/^\d+$/.test(text.slice(0, open))) return undefined;
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const start = fields[22 - 3] ?? '';
  const startTime = Number(start);
  if (!/^\d+$/.test(start) || !Number.isSafeInteger(startTime)) return undefined;
  return { comm: text.slice(open + 2, close), startTime };
}

export function parseStatStartTime(text: string): number | undefined {
  return parseProcPidStat(text)?.startTime;
}
