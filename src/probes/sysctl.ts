import { parseUnsignedDecimal } from '../parse/decimal';
import { readSmallFile } from './file-read';
import { procPath, type HostPaths } from './host-paths';

export type SysctlReading =
  | { readonly status: 'ok'; readonly path: string; readonly value: number }
  | { readonly status: 'missing'; readonly path: string; readonly tried: readonly string[] }
  | { readonly status: 'denied'; readonly path: string }
  | { readonly status: 'invalid'; readonly path: string; readonly reason: string }
  | { readonly status: 'error'; readonly path: string; readonly message: string };

/**
 * Reads the first of several names a kernel may give one number (the
 * nf_conntrack_* names, then the ip_conntrack_* names of 2.6-era kernels).
 * Only a missing file moves on to the next name: a file that exists but cannot
 * be read or parsed is the answer, and the user must hear about it.
 */
export async function readSysctlNumber(host: HostPaths, candidates: readonly string[]): Promise<SysctlReading> {
  const tried: string[] = [];
  for (const relative of candidates) {
    const path = procPath(host, relative);
    const read = await readSmallFile(path);
    switch (read.status) {
      case 'missing':
        tried.push(path);
        continue;
      case 'denied':
        return { status: 'denied', path };
      case 'error':
        return { status: 'error', path, message: read.message };
      case 'ok': {
        const parsed = parseUnsignedDecimal(read.text);
        return parsed.ok ? { status: 'ok', path, value: parsed.value } : { status: 'invalid', path, reason: parsed.reason };
      }
    }
  }
  return { status: 'missing', path: tried[0] ?? '', tried };
}
