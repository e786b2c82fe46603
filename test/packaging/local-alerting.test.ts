/**
 * Local alerting without a monitoring server, with the real programs: rsyslog
 * listening on /dev/log receives what --syslog sends (facility daemon, the
 * state's severity), and Debian's cron runs the packaged cron line once a
 * minute while a real network namespace goes from CRITICAL to OK, with exim
 * delivering cron's mail to a local mailbox: one problem mail, one recovery.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  addMasquerade,
  createNamespace,
  holdConnections,
  readConntrackMax,
  withConntrackMax,
  type Holder,
  type Namespace,
} from '../support/netns';
import {
  BUNDLE,
  describeWith,
  ensureUser,
  fixtureArgs,
  mailbox,
  must,
  NODE,
  PACKAGING,
  run,
  SENDMAIL,
  startDaemon,
  tempDir,
  waitFor,
  type Daemon,
} from './support';

const RSYSLOGD = '/usr/sbin/rsyslogd';
const CRON = '/usr/sbin/cron';
const LOGGER = '/usr/bin/logger';
const DEV_LOG = '/dev/log';
const MAIL_USER = 'ccmailtest';
const CRON_FILE = '/etc/cron.d/cctest_check_conntrack';

/** rsyslog on /dev/log, writing `facility.severity tag message` lines to one file. */
function startSyslog(dir: string): { daemon: Daemon; messages: string } {
  const messages = join(dir, 'messages');
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(
    conf,
    [
      `global(workDirectory="${dir}")`,
      'module(load="imuxsock" SysSock.RateLimit.Interval="0")',
      'template(name="plain" type="string" string="%syslogfacility-text%.%syslogseverity-text% %syslogtag%%msg%\\n")',
      `*.* action(type="omfile" file="${messages}" template="plain")`,
      '',
    ].join('\n'),
  );
  const daemon = startDaemon([RSYSLOGD, '-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')]);
  return { daemon, messages };
}

const isSocket = (path: string) => existsSync(path) && lstatSync(path).isSocket();
const readOr = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');

describeWith(
  'local alerting with real syslog, cron and mail',
  {
    root: true,
    programs: [
      [RSYSLOGD, 'rsyslog'],
      [CRON, 'cron'],
      [SENDMAIL, 'exim4-daemon-light'],
      [LOGGER, 'bsdutils'],
    ],
  },
  () => {
    const work = tempDir('alerting');
    let syslog: { daemon: Daemon; messages: string } | undefined;

    beforeAll(async () => {
      // Another syslog daemon would take our lines: these tests need /dev/log to themselves.
      if (existsSync(DEV_LOG))
        throw new Error(`${DEV_LOG} exists already: another syslog daemon is running here, and these tests start their own`);
      syslog = startSyslog(work.path);
      await waitFor('rsyslogd to create /dev/log', () => (isSocket(DEV_LOG) ? true : undefined), 10_000);
    });
    afterAll(async () => {
      await syslog?.daemon.stop();
      if (isSocket(DEV_LOG)) rmSync(DEV_LOG);
      work.dispose();
    });

    const logged = () => readOr(syslog!.messages);
    const waitForLine = (pattern: RegExp) =>
      waitFor(
        `a syslog line matching ${pattern}`,
        () =>
          logged()
            .split('\n')
            .find((l) => pattern.test(l)),
        10_000,
      );

    it.each([
      ['centos6-2.6.32', 'crit', 2],
      ['rhel5-2.6.18', 'warning', 1],
      ['garbage', 'err', 3],
    ])('--syslog sends a non-OK status line from %s as daemon.%s', async (tree, severity, code) => {
      const r = run([NODE, BUNDLE, ...fixtureArgs(tree), '--syslog']);
      expect(r.code).toBe(code);
      const line = await waitForLine(new RegExp(`^daemon\\.${severity} check_conntrack: `));
      expect(line).toBe(`daemon.${severity} check_conntrack: ${r.status}`);
    });

    it('--syslog sends nothing for an OK run without --changes-only', async () => {
      const marker = `cctest-marker-${Date.now()}`;
      const r = run([NODE, BUNDLE, ...fixtureArgs('linux-6.8'), '--syslog']);
      expect(r.code).toBe(0);
      // A marker sent after it: once it is in the file, anything the check sent would be too.
      must([LOGGER, '--socket-errors=on', '-t', 'cctest', '--', marker]);
      await waitForLine(new RegExp(marker));
      expect(logged()).not.toContain(r.status);
    });

    it('a missing syslog is said in the long output, and the check keeps its state', async () => {
      await syslog!.daemon.stop();
      if (isSocket(DEV_LOG)) rmSync(DEV_LOG);
      try {
        const r = run([NODE, BUNDLE, ...fixtureArgs('centos6-2.6.32'), '--syslog']);
        expect(r.code).toBe(2);
        expect(r.stdout.split('\n')).toContain(
          '--syslog: the CRITICAL line was not logged: /usr/bin/logger: logger: socket /dev/log: No such file or directory',
        );
      } finally {
        syslog = startSyslog(work.path);
        await waitFor('rsyslogd to create /dev/log again', () => (isSocket(DEV_LOG) ? true : undefined), 10_000);
      }
    });

    it('the packaged cron line mails one problem and one recovery while a namespace fills and empties, and logs both', async () => {
      ensureUser(MAIL_USER);
      const inbox = mailbox(MAIL_USER);
      inbox.clear();
      const stateDir = join(work.path, 'cron-state');
      mkdirSync(stateDir, { mode: 0o700 });
      const state = join(stateDir, 'state.json');
      let ns: Namespace | undefined;
      let holder: Holder | undefined;
      let cron: Daemon | undefined;
      try {
        ns = createNamespace();
        addMasquerade(ns);
        holder = await holdConnections(ns, 19);
        expect(holder.failed).toBe(0);
        const original = readConntrackMax();

        // The shipped line as an admin would turn it on, for this test: every
        // minute, as root inside the namespace, with a state file and no kernel log of its own.
        const shipped = readFileSync(join(PACKAGING, 'cron/check_conntrack'), 'utf8');
        const line = shipped.split('\n').find((l) => /^#\*\/5 /.test(l));
        expect(line).toMatch(
          /^#\*\/5 \* \* \* \* nagios \/usr\/lib\/nagios\/plugins\/check_conntrack --changes-only --repeat 2h --syslog$/,
        );
        const job = line!
          .replace(/^#\*\/5 /, '* ')
          .replace(' nagios ', ' root ')
          .replace('/usr/lib/nagios/plugins/check_conntrack', `/usr/sbin/ip netns exec ${ns.name} ${NODE} ${BUNDLE}`);
        writeFileSync(CRON_FILE, `MAILTO=${MAIL_USER}\n${job} --state-file ${state} --kernel-log none\n`, { mode: 0o644 });

        const runs = () => (existsSync(state) ? (JSON.parse(readFileSync(state, 'utf8')) as { savedAtMs: number }).savedAtMs : 0);
        const nextRun = async (after: number) => waitFor('the next cron run', () => (runs() > after ? runs() : undefined), 75_000, 500);

        await withConntrackMax(20, async () => {
          cron = startDaemon([CRON, '-f']);
          // 19 of 20: CRITICAL. The first run mails the problem, the second nothing.
          const first = await nextRun(0);
          await nextRun(first);
        });
        expect(readConntrackMax()).toBe(original);
        // The table has room again: the third run mails the recovery.
        const before = runs();
        await nextRun(before);
        await waitFor('two mails', () => (inbox.messages().length >= 2 ? true : undefined), 20_000, 500);
        const bodies = inbox.messages();
        expect(bodies.length, bodies.join('\n')).toBe(2);
        expect(bodies[0]).toMatch(/^CONNTRACK CRITICAL - 95(?:\.0)?% of table used \(19 of 20 entries\)/m);
        expect(bodies[1]).toMatch(/^CONNTRACK OK - recovered after \d+[sm]/m);
        expect(bodies[1]).toMatch(/^was CRITICAL from .* UTC: 95(?:\.0)?% of table used \(19 of 20 entries\)/m);
        // And the same two lines in syslog, with their severities.
        await waitForLine(/^daemon\.info check_conntrack: CONNTRACK OK - recovered after /);
        const ours = logged()
          .split('\n')
          .filter((l) => / check_conntrack: CONNTRACK .*\(19 of 20 entries\)|recovered after/.test(l));
        expect(ours.map((l) => l.split(' ', 1)[0])).toEqual(['daemon.crit', 'daemon.info']);
      } finally {
        rmSync(CRON_FILE, { force: true });
        await cron?.stop();
        await holder?.close();
        ns?.remove();
      }
      expect(statSync(state).mode & 0o077).toBe(0);
    }, 300_000);
  },
);
