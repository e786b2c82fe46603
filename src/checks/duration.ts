/** Durations as the output writes them: 90s, 15m, 2h, 3d. */
export function formatDuration(seconds: number): string {
  // An exact 1m, 1h or 1d reads better than 60s or 24h; otherwise the unit
  // that keeps the number small.
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (seconds === size) return `1${unit}`;
  }
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86400)}d`;
}
