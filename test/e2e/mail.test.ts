/**
 * --mail-to on a host without sendmail: the bundle runs in a mount namespace
 * of its own where an empty tmpfs hides /usr/sbin (and so /sbin), the way a
 * host without a mail transfer agent looks to the catalogue's lookup. Nothing
 * outside that namespace changes. That mail arrives where sendmail exists is
 * the packaging test's part (test/packaging/systemd-mail.test.ts), with exim4.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeRun, runBundle, type BundleRun } from '../support/bundle';
import { copyFixture, fixture, keptStateArgs, rootArgs } from '../support/fixtures';
import { describeReady, notRootReason, readiness } from '../support/readiness';

const UNSHARE = '/usr/bin/unshare';
const SH = '/bin/sh';
/** The mount is the namespace's own: it goes when the run ends. */
const WITHOUT_SBIN = [
  UNSHARE,
  '--mount',
  '--propagation',
  'private',
  SH,
  '-c',
  'mount -t tmpfs -o size=1m none /usr/sbin && exec "$@"',
  'sh',
];

const NO_SENDMAIL =
  '--mail-to: the CRITICAL output was not mailed to root: sendmail is not installed (looked in /usr/sbin, /usr/bin, /sbin, /bin): install a mail transfer agent (exim4, postfix) that provides /usr/sbin/sendmail, or leave --mail-to out';

const withoutSendmail = (args: string[]): BundleRun => runBundle(args, { prefix: WITHOUT_SBIN, env: { PATH: '/usr/bin:/bin' } });

describeReady(
  'e2e tests',
  '--mail-to where no sendmail is installed',
  readiness({
    root: notRootReason('a mount namespace hides /usr/sbin'),
    missing: existsSync(UNSHARE) ? undefined : `${UNSHARE} (util-linux) is missing`,
  }),
  () => {
    it('the hidden /usr/sbin really hides sendmail, and nothing else changes for the check', () => {
      const [file, ...args] = [...WITHOUT_SBIN, '/usr/bin/ls', '/usr/sbin/', '/sbin/'];
      const probe = spawnSync(file!, args, { encoding: 'utf8', timeout: 20_000 });
      expect([probe.stdout, probe.status], probe.stderr).toEqual(['/sbin/:\n\n/usr/sbin/:\n', 0]);
      const plain = runBundle(rootArgs(fixture('centos6-2.6.32').dir));
      const hidden = withoutSendmail(rootArgs(fixture('centos6-2.6.32').dir));
      expect([hidden.stdout, hidden.code]).toEqual([plain.stdout, plain.code]);
    });

    it('a CRITICAL run says in its output that it could not mail, and exits CRITICAL', () => {
      const r = withoutSendmail([...rootArgs(fixture('centos6-2.6.32').dir), '--mail-to', 'root']);
      expect(r.code, describeRun(r)).toBe(2);
      expect(r.status).toMatch(/^CONNTRACK CRITICAL - 91\.5% of table used/);
      expect(r.lines.at(-1)).toBe(NO_SENDMAIL);
      expect(r.stderr).toBe('');
    });

    it('an OK run mails nothing, so it has nothing to say about sendmail', () => {
      const r = withoutSendmail([...rootArgs(fixture('linux-6.8').dir), '--mail-to', 'root']);
      expect(r.code, describeRun(r)).toBe(0);
      expect(r.stdout).not.toContain('--mail-to');
    });

    it('with --format json the line is among the advice, and the output stays JSON', () => {
      const r = withoutSendmail([...rootArgs(fixture('centos6-2.6.32').dir), '--mail-to', 'root', '--format', 'json']);
      expect(r.code, describeRun(r)).toBe(2);
      const body = JSON.parse(r.stdout) as { state: string; advice: string[] };
      expect(body.state).toBe('CRITICAL');
      expect(body.advice.at(-1)).toBe(NO_SENDMAIL);
    });

    describe('with --changes-only and a state file', () => {
      let tree: ReturnType<typeof copyFixture>;
      let work: string;
      beforeEach(() => {
        tree = copyFixture('linux-6.8');
        work = mkdtempSync(join(tmpdir(), 'cc-mail-'));
        chmodSync(work, 0o700);
      });
      afterEach(() => {
        tree.dispose();
        rmSync(work, { recursive: true, force: true });
      });

      const check = (count: string) => {
        tree.write('proc/sys/net/netfilter/nf_conntrack_count', count);
        return withoutSendmail([...keptStateArgs(tree.dir, join(work, 'state.json')), '--changes-only', '--mail-to', 'root']);
      };

      it('the problem and the recovery each say it; the quiet runs in between stay quiet; the exit codes are the real state', () => {
        const runs = ['1000\n', '250000\n', '250000\n', '1000\n'].map(check);
        expect(runs.map((r) => r.code)).toEqual([0, 2, 2, 0]);
        expect(runs.map((r) => r.stdout === '')).toEqual([true, false, true, false]);
        expect(runs[1]!.lines.at(-1)).toBe(NO_SENDMAIL);
        expect(runs[3]!.status).toMatch(/^CONNTRACK OK - recovered after /);
        expect(runs[3]!.lines.at(-1)).toBe(NO_SENDMAIL.replace('CRITICAL', 'OK'));
      });
    });
  },
);
