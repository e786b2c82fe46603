import { closeSync, constants, openSync, read } from 'node:fs';
import { EntryTally, type TallySummary } from '../parse/entry-tally';
import { CONNTRACK_LIST } from './commands';
import { procPath, type HostPaths } from './host-paths';
import type { Privileges } from './privileges';
import { streamCommand } from './run-command';

export type BreakdownMeasurement =
  | { readonly status: 'ok'; readonly source: string; readonly summary: TallySummary; readonly elapsedMs: number }
  | { readonly status: 'unavailable'; readonly reasons: string[] };

export interface BreakdownRequest {
  readonly privileges: Privileges;
  readonly sudo: boolean;
  readonly signal: AbortSignal;
  /** Stop reading and report what was counted at this time (ms since the epoch). */
  readonly deadlineMs: number;
  readonly top: number;
}

/** The tables' own files: nf_conntrack since 2.6.15, ip_conntrack on RHEL 5. */
const ENTRY_FILES = ['net/nf_conntrack', 'net/ip_conntrack'];
const CHUNK = 256 * 1024;

/**
 * Reads the table as a stream into a running tally: memory stays the same
 * whatever the table's size, and at the deadline the reader stops and the
 * summary says it is partial rather than the check failing.
 */
async function readFile(path: string, tally: EntryTally, request: BreakdownRequest): Promise<'ok' | 'missing' | string> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    return code === 'EACCES' || code === 'EPERM' ? `${path} is readable by root only` : `cannot read ${path}: ${(err as Error).message}`;
  }
  // The kernel writes the text in read() itself, as much CPU as the tally
  // takes to read it: the next read runs on libuv's thread pool while this
  // thread tallies the chunk before it, so the two overlap on two CPUs.
  const next = (buf: Buffer) =>
    new Promise<number>((resolve, reject) => read(fd, buf, 0, buf.length, null, (err, n) => (err ? reject(err) : resolve(n))));
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  let pending = next(buffers[0]!);
  let current = 0;
  try {
    for (;;) {
      // procfs sequential files ignore the position: each read goes on from the last.
      const bytesRead = await pending;
      if (bytesRead === 0) break;
      if (Date.now() >= request.deadlineMs || request.signal.aborted) {
        tally.stop();
        break;
      }
      const chunk = buffers[current]!.subarray(0, bytesRead);
      current ^= 1;
      pending = next(buffers[current]!);
      tally.push(chunk);
    }
    tally.end();
    return 'ok';
  } catch (err) {
    return `cannot read ${path}: ${(err as Error).message}`;
  } finally {
    // No read may still be on its way into a closed (and perhaps reused) descriptor.
    await pending.catch(() => 0);
    closeSync(fd);
  }
}

export async function probeBreakdown(host: HostPaths, request: BreakdownRequest): Promise<BreakdownMeasurement> {
  const started = Date.now();
  const reasons: string[] = [];
  for (const relative of ENTRY_FILES) {
    const path = procPath(host, relative);
    const tally = new EntryTally({ top: request.top });
    const outcome = await readFile(path, tally, request);
    if (outcome === 'ok') return { status: 'ok', source: path, summary: tally.summary(request.top), elapsedMs: Date.now() - started };
    if (outcome !== 'missing') {
      reasons.push(outcome);
      break;
    }
  }
  if (reasons.length === 0) reasons.push(`${procPath(host, ENTRY_FILES[0]!)} is missing (kernel built without CONFIG_NF_CONNTRACK_PROCFS)`);

  // conntrack -L answers for this process's namespace: not for another --proc tree.
  if (host.procRoot !== '/proc') return { status: 'unavailable', reasons };
  const sudo = !request.privileges.netAdmin;
  if (sudo && !request.sudo) {
    reasons.push("'conntrack -L' needs CAP_NET_ADMIN: run as root or use --sudo with the sudoers lines from the README");
    return { status: 'unavailable', reasons };
  }
  const tally = new EntryTally({ top: request.top });
  const outcome = await streamCommand(CONNTRACK_LIST, { signal: request.signal, deadlineMs: request.deadlineMs, sudo }, (chunk) => {
    tally.push(chunk);
    return Date.now() < request.deadlineMs;
  });
  if (outcome.status === 'ok' || outcome.status === 'timed-out') {
    if (outcome.truncated || outcome.status === 'timed-out') tally.stop();
    tally.end();
    return { status: 'ok', source: outcome.label, summary: tally.summary(request.top), elapsedMs: Date.now() - started };
  }
  reasons.push(
    `${outcome.label}: ${outcome.reason ?? outcome.status}${outcome.status === 'not-installed' ? ' (install the conntrack package)' : ''}`,
  );
  return { status: 'unavailable', reasons };
}
