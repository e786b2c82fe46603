import { closeSync, constants, existsSync, openSync, readSync } from 'node:fs';

/** The outcome of reading one small file, with the reasons a user can act on kept apart. */
export type FileRead =
  | { readonly path: string; readonly status: 'ok'; readonly text: string }
  | { readonly path: string; readonly status: 'missing' }
  | { readonly path: string; readonly status: 'denied' }
  | { readonly path: string; readonly status: 'error'; readonly message: string };

/**
 * /proc/sys and /sys attributes hold a few bytes; the cap keeps a hostile or
 * mistaken path (a fixture pointing at a huge file, /dev/zero) from costing
 * memory. O_NONBLOCK matters: a FIFO planted where a sysctl should be would
 * otherwise block in open(), and nothing could end the process.
 */
const MAX_BYTES = 64 * 1024;

export async function readSmallFile(path: string, maxBytes = MAX_BYTES): Promise<FileRead> {
  return readSmallFileSync(path, maxBytes);
}

/**
 * Synchronous: procfs and sysfs answer from kernel memory, and O_NONBLOCK
 * keeps a FIFO from waiting, so nothing here blocks; a thread-pool round trip
 * per file cost more than the reads themselves (some 30 files a run).
 */
export function readSmallFileSync(path: string, maxBytes = MAX_BYTES): FileRead {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    return failure(path, err);
  }
  try {
    const buf = Buffer.allocUnsafe(Math.min(maxBytes, 64 * 1024));
    const parts: Buffer[] = [];
    let length = 0;
    while (length < maxBytes) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, maxBytes - length), null);
      if (n === 0) break;
      parts.push(Buffer.from(buf.subarray(0, n)));
      length += n;
    }
    return { path, status: 'ok', text: Buffer.concat(parts, length).toString('utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A FIFO with a writer that writes nothing: no content, not an error to wait for.
    if (code === 'EAGAIN') return { path, status: 'ok', text: '' };
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

export async function pathExists(path: string): Promise<boolean> {
  return existsSync(path);
}
