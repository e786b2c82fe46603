import { closeSync, existsSync, openSync, readSync } from 'node:fs';

/** The outcome of reading one small file, with the reasons a user can act on kept apart. */
export type FileRead =
  | { readonly path: string; readonly status: 'ok'; readonly text: string }
  | { readonly path: string; readonly status: 'missing' }
  | { readonly path: string; readonly status: 'denied' }
  | { readonly path: string; readonly status: 'error'; readonly message: string };

/**
 * /proc/sys and /sys attributes hold a few bytes; a cap keeps a hostile or
 * mistaken path (a fixture pointing at a huge file, /dev/zero) from costing
 * memory. Reads are synchronous on purpose: these files answer from kernel
 * memory at once, and a thread-pool round trip per file would cost more.
 */
const MAX_BYTES = 64 * 1024;

export function readSmallFile(path: string, maxBytes = MAX_BYTES): FileRead {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return failure(path, err);
  }
  try {
    const buf = Buffer.alloc(maxBytes);
    let length = 0;
    while (length < maxBytes) {
      const n = readSync(fd, buf, length, maxBytes - length, null);
      if (n === 0) break;
      length += n;
    }
    return { path, status: 'ok', text: buf.toString('utf8', 0, length) };
  } catch (err) {
    return failure(path, err);
  } finally {
    closeSync(fd);
  }
}

function failure(path: string, err: unknown): FileRead {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return { path, status: 'missing' };
  if (code === 'EACCES' || code === 'EPERM') return { path, status: 'denied' };
  return { path, status: 'error', message: (err as Error).message };
}

export function pathExists(path: string): boolean {
  return existsSync(path);
}
