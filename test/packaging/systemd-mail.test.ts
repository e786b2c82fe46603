/**
 * Mail from the systemd timer, with the shipped unit and the shipped drop-in
 * (packaging/systemd/mail.conf) and the real exim4. PID 1 here is not systemd,
 * so no timer or service can really run: systemd-analyze merges the unit with
 * the drop-in as systemd would and verifies it, and the merged ExecStart runs
 * as the unit's User through setpriv, with /usr and /etc read-only as its
 * ProtectSystem=full leaves them (a private mount namespace per run), against
 * a fixture host whose count goes OK -> CRITICAL -> CRITICAL -> OK. The same command with no new privileges,
 * as the hardened unit alone runs it, and with a read-only /var, as its
 * ProtectSystem=strict leaves it, show why the drop-in exists.
 */
import { chownSync, chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { copyFixture, keptStateArgs } from '../support/fixtures';
import {
  asUser,
  BUNDLE,
  describeWith,
  ensureUser,
  mailbox,
  must,
  NODE,
  PACKAGING,
  run,
  SENDMAIL,
  SETPRIV,
  tempDir,
  uidOf,
  waitFor,
  type Run,
} from './support';

const ANALYZE = '/usr/bin/systemd-analyze';
const UNSHARE = '/usr/bin/unshare';
const SH = '/bin/sh';
const UNIT = 'check_conntrack.service';
const PLUGIN = '/usr/lib/nagios/plugins/check_conntrack';
const MAIL_USER = 'ccmaildrop';
const COUNT = 'proc/sys/net/netfilter/nf_conntrack_count';

/** The [Service] settings of a merged unit as systemd applies them: an empty ExecStart= clears the list, others keep their last value. */
function serviceSettings(text: string): { execStart: string[]; get(key: string): string | undefined } {
  const last = new Map<string, string>();
  let execStart: string[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    if (/^\[.*\]$/.test(line)) section = line;
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (section !== '[Service]' || !m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'ExecStart') execStart = value === '' ? [] : [...execStart, value];
    else last.set(key, value);
  }
  return { execStart, get: (key) => last.get(key) };
}

describeWith(
  'mail from the systemd timer: the shipped unit with the shipped mail.conf drop-in, and exim4',
  {
    root: true,
    programs: [
      [SENDMAIL, 'exim4-daemon-light'],
      [ANALYZE, 'systemd'],
      [SETPRIV, 'util-linux'],
    ],
  },
  () => {
    const work = tempDir('systemd-mail');
    const inbox = mailbox(MAIL_USER);
    let merged: ReturnType<typeof serviceSettings>;
    let tree: ReturnType<typeof copyFixture>;
    let user: string;

    beforeAll(() => {
      // Where the packages put the unit, and where the admin copies the drop-in.
      const root = join(work.path, 'root');
      mkdirSync(join(root, 'usr/lib/systemd/system'), { recursive: true });
      mkdirSync(join(root, `etc/systemd/system/${UNIT}.d`), { recursive: true });
      cpSync(join(PACKAGING, 'systemd', UNIT), join(root, 'usr/lib/systemd/system', UNIT));
      cpSync(join(PACKAGING, 'systemd/mail.conf'), join(root, `etc/systemd/system/${UNIT}.d/mail.conf`));
      merged = serviceSettings(must([ANALYZE, 'cat-config', `--root=${root}`, `systemd/system/${UNIT}`]).stdout);
      user = merged.get('User') ?? 'root';
      ensureUser(user);
      ensureUser(MAIL_USER);
      inbox.clear();
      tree = copyFixture('linux-6.8');
      chmodSync(tree.dir, 0o755);
    });
    afterAll(() => {
      tree?.dispose();
      inbox.clear();
      work.dispose();
    });

    /** A state directory of the unit's user, as StateDirectory= makes it. */
    const stateDir = (name: string) => {
      const dir = join(work.path, name);
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, uidOf(user), Number(must(['/usr/bin/id', '-g', user]).stdout.trim()));
      return dir;
    };

    /** The merged ExecStart, with the bundle for the packaged plugin, the test's mailbox for root, and the fixture host. */
    const execStart = (state: string): string[] => {
      expect(merged.execStart).toHaveLength(1);
      const [program, ...args] = merged.execStart[0]!.split(' ');
      expect(program).toBe(PLUGIN);
      const to = args.indexOf('--mail-to');
      expect(args[to + 1]).toBe('root');
      args[to + 1] = MAIL_USER;
      return [NODE, BUNDLE, ...args, ...keptStateArgs(tree.dir, join(state, 's.json'))];
    };
    const at = (count: number, argv: string[], wrap = (a: string[]) => asUser(user, a)): Run => {
      tree.write(COUNT, `${count}\n`);
      return run(wrap(argv));
    };
    /**
     * What ProtectSystem= leaves writable, as far as mail goes, in a mount namespace of the run's own:
     * full makes /usr and /etc read-only, strict (here) /var as well, where the mail queue is.
     */
    const protectSystem = (level: 'full' | 'strict') => {
      const dirs = level === 'full' ? ['/usr', '/etc'] : ['/usr', '/etc', '/var'];
      const script = `${dirs.map((d) => `mount --bind ${d} ${d} && mount -o remount,bind,ro ${d}`).join(' && ')} && exec "$@"`;
      return (argv: string[]) => [UNSHARE, '--mount', '--propagation', 'private', SH, '-c', script, 'sh', ...argv];
    };
    /** Headers and body of one delivered message. */
    const parse = (message: string) => {
      const split = message.indexOf('\n\n');
      return { headers: message.slice(0, split), body: message.slice(split + 2) };
    };

    it('the drop-in lets setuid and setgid programs work and /var be written, and keeps the rest of the hardening', () => {
      expect(merged.execStart).toEqual([`${PLUGIN} --changes-only --syslog --mail-to root`]);
      expect(merged.get('NoNewPrivileges')).toBe('no');
      expect(merged.get('ProtectSystem')).toBe('full');
      expect(user).toBe('nagios');
      expect(merged.get('ProtectHome')).toBe('yes');
      expect(merged.get('PrivateTmp')).toBe('yes');
      expect(merged.get('StateDirectory')).toBe('check_conntrack');
      // The drop-in adds --mail-to to the unit's own command and changes nothing else of it.
      const unit = serviceSettings(readFileSync(join(PACKAGING, 'systemd', UNIT), 'utf8'));
      expect(merged.execStart[0]).toBe(`${unit.execStart[0]} --mail-to root`);
    });

    it('systemd-analyze verify accepts the unit with the drop-in, and reads the drop-in', () => {
      // verify checks that ExecStart's program exists: here it is the bundle.
      const dir = join(work.path, 'verify');
      mkdirSync(join(dir, `${UNIT}.d`), { recursive: true });
      const withBundle = (path: string) => readFileSync(path, 'utf8').replaceAll(PLUGIN, `${NODE} ${BUNDLE}`);
      writeFileSync(join(dir, UNIT), withBundle(join(PACKAGING, 'systemd', UNIT)));
      const dropIn = withBundle(join(PACKAGING, 'systemd/mail.conf'));
      writeFileSync(join(dir, `${UNIT}.d/mail.conf`), dropIn);
      const ok = run([ANALYZE, 'verify', '--man=no', join(dir, UNIT)]);
      expect([ok.code, ok.stderr], ok.stdout).toEqual([0, '']);
      // The same with a broken drop-in: verify says so, so it did read it.
      writeFileSync(join(dir, `${UNIT}.d/mail.conf`), dropIn.replace('NoNewPrivileges=no', 'NoNewPrivileges=maybe'));
      const broken = run([ANALYZE, 'verify', '--man=no', join(dir, UNIT)]);
      expect(broken.stderr).toMatch(/mail\.conf:\d+: Failed to parse boolean value, ignoring: maybe/);
    });

    it('OK -> CRITICAL -> CRITICAL -> OK under ProtectSystem=full: one problem mail and one recovery mail, each exactly what was printed', async () => {
      const argv = execStart(stateDir('state'));
      const full = protectSystem('full');
      const runs = [1000, 250000, 250000, 1000].map((count) => at(count, argv, (a) => full(asUser(user, a))));
      expect(
        runs.map((r) => r.code),
        runs.map((r) => r.stdout + r.stderr).join('\n'),
      ).toEqual([0, 2, 2, 0]);
      expect(runs.map((r) => r.stdout === '')).toEqual([true, false, true, false]);
      await waitFor('two mails', () => (inbox.messages().length >= 2 ? true : undefined), 30_000, 300);
      const mails = inbox.messages().map(parse);
      expect(mails, inbox.messages().join('\n')).toHaveLength(2);
      const [problem, recovery] = mails as [ReturnType<typeof parse>, ReturnType<typeof parse>];
      const subject = (h: string) => /^Subject: (.*)$/m.exec(h)?.[1];
      expect(subject(problem.headers)).toMatch(/^CONNTRACK CRITICAL - 95\.3% of table used \(250000 of 262144 entries\)/);
      expect(subject(problem.headers)).toBe(runs[1]!.status.split(' | ')[0]);
      expect(problem.headers).toMatch(/^Auto-Submitted: auto-generated$/m);
      expect(problem.headers).toMatch(new RegExp(`^From: .*\\b${user}@`, 'm'));
      expect(problem.body).toBe(runs[1]!.stdout);
      expect(subject(recovery.headers)).toMatch(/^CONNTRACK OK - recovered after [^:]+: 0\.3% of table used \(1000 of 262144 entries\)/);
      expect(subject(recovery.headers)).toBe(runs[3]!.status.split(' | ')[0]);
      expect(recovery.body).toBe(runs[3]!.stdout);
      expect(recovery.body).toMatch(/^was CRITICAL from .* UTC: 95\.3% of table used/m);
    });

    it('the same command with no new privileges, as the hardened unit alone runs it, cannot mail and says so', () => {
      const before = inbox.messages().length;
      const argv = execStart(stateDir('state-nnp'));
      const r = at(250000, argv, (a) => [SETPRIV, '--no-new-privs', ...asUser(user, a).slice(1)]);
      expect(r.code, r.stdout).toBe(2);
      expect(r.status).toMatch(/^CONNTRACK CRITICAL - 95\.3% of table used/);
      const line = r.stdout.split('\n').find((l) => l.startsWith('--mail-to: '));
      // exim4's sendmail, not setuid root, cannot write its spool: nothing is queued, so nothing arrives later.
      expect(line).toMatch(
        new RegExp(
          `^--mail-to: the CRITICAL output was not mailed to ${MAIL_USER}: ${SENDMAIL} -oi -- ${MAIL_USER}: .*Permission denied; .*NoNewPrivileges=yes`,
        ),
      );
      expect(inbox.messages()).toHaveLength(before);
    });

    it('the same command with /var read-only, as ProtectSystem=strict leaves it, cannot mail either and says so', () => {
      const before = inbox.messages().length;
      const strict = protectSystem('strict');
      const r = at(250000, execStart(stateDir('state-ro')), (a) => strict(asUser(user, a)));
      expect(r.code, r.stdout).toBe(2);
      expect(r.stdout.split('\n').find((l) => l.startsWith('--mail-to: '))).toMatch(
        new RegExp(
          `^--mail-to: the CRITICAL output was not mailed to ${MAIL_USER}: ${SENDMAIL} -oi -- ${MAIL_USER}: .*ProtectSystem=strict`,
        ),
      );
      expect(inbox.messages()).toHaveLength(before);
    });
  },
);
