/**
 * Unprivileged --namespaces all on a host where /run/netns names nothing (a
 * Docker host): a network namespace held by root's process is invisible to
 * nobody, and must not pass for checked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeRun, runBundle } from '../support/bundle';
import { describeKernel } from '../support/netns';

const SETPRIV = '/usr/bin/setpriv';
const UNSHARE = '/usr/bin/unshare';
const SLEEP = '/bin/sleep';
const AS_NOBODY = [SETPRIV, '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

describeKernel(
  'unprivileged --namespaces all and a namespace only root can see',
  () => {
    it(
      "is UNKNOWN for the namespace of root's process, counted in namespaces=, with no name in /run/netns",
      { timeout: 60_000 },
      async () => {
        let holder: ChildProcess | undefined;
        try {
          // Root's process in a namespace of its own, never named with ip netns.
          holder = spawn(UNSHARE, ['--net', SLEEP, '60'], { stdio: 'ignore' });
          const pid = holder.pid!;
          let link = '';
          for (let i = 0; i < 200 && !/^net:\[\d+\]$/.test(link); i++) {
            await new Promise((r) => setTimeout(r, 20));
            try {
              link = readlinkSync(`/proc/${pid}/ns/net`);
            } catch {
              // not yet
            }
          }
          expect(link, 'the holder runs in a new namespace').not.toBe(readlinkSync('/proc/self/ns/net'));
          const r = runBundle(['--namespaces', 'all', '--no-state', '--kernel-log', 'none'], { prefix: AS_NOBODY });
          expect(r.stderr).toBe('');
          expect(r.status, describeRun(r)).toMatch(/not checked: (its|their) processes are hidden from uid 65534 \(needs root\)/);
          expect(r.code, describeRun(r)).toBe(3);
          expect(r.status).toMatch(/ namespaces=([2-9]|\d{2,})(?: |$)/);
          // As root the same namespace is found, read and judged.
          const root = runBundle(['--namespaces', 'all', '--no-state', '--kernel-log', 'none', '-v']);
          expect(root.stdout, describeRun(root)).toContain(`(${/\d+/.exec(link)![0]})`);
          expect(root.status).not.toContain('hidden from');
        } finally {
          holder?.kill('SIGKILL');
        }
      },
    );
  },
  { needs: [SETPRIV, UNSHARE, SLEEP] },
);
