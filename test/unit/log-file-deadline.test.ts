/**
 * A kernel log file and the run's deadline. The file is read with synchronous
 * reads, so the run's timer cannot stop the loop: the reader watches the
 * deadline itself. Past it, nothing is read and the source says why, rather
 * than answering a count of nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanKernelLog, type LogRequest } from '../../src/probes/kernel-log';

const dir = mkdtempSync(join(tmpdir(), 'cc-logfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NOW = Date.UTC(2026, 11, 7, 9, 0, 0);
const file = join(dir, 'kern.log');
writeFileSync(
  file,
  [
    '2026-12-07T08:59:10.123456+00:00 web1 kernel: [36010.123456] nf_conntrack: nf_conntrack: table full, dropping packet',
    '2026-12-07T08:59:11.123456+00:00 web1 kernel: [36011.123456] nf_conntrack: nf_conntrack: table full, dropping packet',
    '',
  ].join('\n'),
);

function request(deadlineMs: number): LogRequest {
  return {
    choice: { file },
    windowSeconds: 3600,
    identity: { bootId: 'b', netns: 4026531840, uptimeSeconds: 36100, nowMs: NOW },
    privileges: { uid: 65534, root: false, mayReadKernelLog: false, netAdmin: false, logGroups: [] },
    sudo: false,
    signal: new AbortController().signal,
    deadlineMs,
  };
}

describe('a kernel log file and the deadline', () => {
  it('with time left it reads the file to its end', async () => {
    expect(await scanKernelLog(request(Date.now() + 60_000))).toMatchObject({ status: 'ok', source: file, messages: 2, notes: [] });
  });

  it('stopped part-way (here by an abort, looked for every 32 MiB) it is partial, and says the count is a lower bound', async () => {
    const big = join(dir, 'big.log');
    const line = '2026-12-07T08:59:10.123456+00:00 web1 kernel: [36010.123456] eth0: link up, 1000 Mbps, full duplex\n';
    writeFileSync(big, line.repeat(Math.ceil((33 * 1024 * 1024) / line.length)));
    const aborted = new AbortController();
    aborted.abort();
    const scan = await scanKernelLog({ ...request(Date.now() + 60_000), choice: { file: big }, signal: aborted.signal });
    expect(scan).toMatchObject({ status: 'ok', messages: 0, partial: true });
    expect(scan.status === 'ok' && scan.notes).toEqual([
      `reading ${big} stopped when the check was stopped, after ${255 * 128 * 1024} bytes: later lines were not read, so the count is a lower bound`,
    ]);
  });

  it('past the deadline it reads nothing and says so: the log is unread, not quiet', async () => {
    expect(await scanKernelLog(request(Date.now() - 1))).toEqual({
      status: 'unreadable',
      requested: file,
      attempts: [{ source: file, reason: 'no line read before the check ran out of time' }],
    });
  });
});
