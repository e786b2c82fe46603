import { readlinkSync } from 'node:fs';
import { readSmallFile } from './file-read';
import { procPath, type HostPaths } from './host-paths';
import type { RunIdentity } from '../run-identity';

export type { RunIdentity };

export function parseNetnsLink(link: string): number | undefined {
  const m = /^net:\[(\d+)\]$/.exec(link);
  const n = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

export async function probeIdentity(host: HostPaths, pid: number | 'self' = 'self'): Promise<RunIdentity> {
  const [boot, uptime, netns] = await Promise.all([
    readSmallFile(procPath(host, 'sys/kernel/random/boot_id')),
    readSmallFile(procPath(host, 'uptime')),
    netnsOf(procPath(host, `${pid}/ns/net`)),
  ]);
  const bootId = boot.status === 'ok' && /^[0-9a-f-]{36}$/.test(boot.text.trim()) ? boot.text.trim() : undefined;
  const up = uptime.status === 'ok' ? Number(uptime.text.split(' ')[0]) : NaN;
  // A century of uptime is not a real one: nothing derived from it could be saved.
  return { bootId, netns, uptimeSeconds: Number.isFinite(up) && up >= 0 && up < 100 * 365 * 86400 ? up : undefined, nowMs: Date.now() };
}

function netnsOf(link: string): number | undefined {
  try {
    return parseNetnsLink(readlinkSync(link));
  } catch {
    return undefined;
  }
}
