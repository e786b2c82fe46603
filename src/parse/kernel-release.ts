/** "4.9.0-19-amd64" -> [4, 9]; the era rules only need major and minor. */
export function parseKernelRelease(release: string): { major: number; minor: number } | undefined {
  const m = /^(\d{1,4})\.(\d{1,4})/.exec(release.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/** At least major.minor? */
export function isAtLeast(v: { major: number; minor: number }, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}
