/**
 * The reader of /dev/kmsg and the run's deadline, on this machine's kernel.
 * The reader is synchronous (O_NONBLOCK reads, one record each): no timer can
 * fire while it runs, so the run's timeout cannot stop it and it must watch the
 * deadline itself. The test/vm runtime file shows it stopping part-way through
 * 200,000 records; here the deadline is already past when it starts, which
 * needs no timing: nothing is read, and the source says why rather than
 * answering a count of nothing.
 */
import { expect, it } from 'vitest';
import { probeIdentity } from '../../src/probes/identity';
import { DEFAULT_HOST_PATHS } from '../../src/probes/host-paths';
import { scanKernelLog, type LogRequest } from '../../src/probes/kernel-log';
import { probePrivileges } from '../../src/probes/privileges';
import { describeKernel } from '../support/netns';

async function request(deadlineMs: number): Promise<LogRequest> {
  const [identity, privileges] = await Promise.all([probeIdentity(DEFAULT_HOST_PATHS), probePrivileges(DEFAULT_HOST_PATHS)]);
  return { choice: 'kmsg', windowSeconds: 3600, identity, privileges, sudo: false, signal: new AbortController().signal, deadlineMs };
}

describeKernel('the kmsg reader and the deadline', () => {
  it('with time left it reads to the end of the ring buffer and notes nothing', async () => {
    const scan = await scanKernelLog(await request(Date.now() + 60_000));
    expect(scan).toMatchObject({ status: 'ok', source: '/dev/kmsg', notes: [] });
  });

  it('past the deadline it reads nothing and says so: the log is unread, not quiet', async () => {
    const scan = await scanKernelLog(await request(Date.now() - 1));
    expect(scan).toEqual({
      status: 'unreadable',
      attempts: [{ source: '/dev/kmsg', reason: 'no record read before the check ran out of time' }],
    });
  });
});
