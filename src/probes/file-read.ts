import { constants } from 'node:fs';
import { access, open } from 'node:fs/promises';

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
 * otherwise block a thread-pool thread in open(), and Node joins those threads
 * on exit, so even the timeout could not end the process.
 */
const MAX_BYTES = 64 * 1024;

export async function readSmallFile(path: string, maxBytes = MAX_BYTES): Promise<FileRead> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    return failure(path, err);
  }
  try {
    const buf = Buffer.alloc(maxBytes);
    let length = 0;
    while (length < maxBytes) {
      const { bytesRead } = await handle.read(buf, length, maxBytes - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return { path, status: 'ok', text: buf.toString('utf8', 0, length) };
  } catch (err) {
    return failure(path, err);
  } finally {
    await handle.close();
  }
}

function failure(path: string, err: unknown): FileRead {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return { path, status: 'missing' };
  if (code === 'EACCES' || code === 'EPERM') return { path, status: 'denied' };
  return { path, status: 'error', message: (err as Error).message };
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
