/**
 * NRPE end to end, with Debian's nrpe and check_nrpe: the .deb installed, an
 * nrpe daemon of our own on 127.0.0.1 (a free port, our own configuration in a
 * temporary directory) that includes the snippet the package ships, and
 * check_nrpe -c check_conntrack giving the same status line and exit code as
 * the same command run locally as nagios, the user NRPE runs it as.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  asUser,
  buildArtifact,
  describeWith,
  ensureUser,
  FIXTURES,
  freePort,
  must,
  run,
  sameOnHost,
  startDaemon,
  stateDirKeeper,
  tempDir,
  waitFor,
  type Daemon,
} from './support';

const DPKG = '/usr/bin/dpkg';
const DPKG_QUERY = '/usr/bin/dpkg-query';
const NRPE = '/usr/sbin/nrpe';
const CHECK_NRPE = '/usr/lib/nagios/plugins/check_nrpe';
const PLUGIN = '/usr/lib/nagios/plugins/check_conntrack';
const SHIPPED = '/usr/share/doc/check-conntrack/examples/nrpe/check_conntrack.cfg';

/** command[NAME]=LINE entries of an NRPE file; with uncomment, the commented-out ones too. */
function nrpeCommands(text: string, uncomment = false): Map<string, string> {
  const commands = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = uncomment ? raw.replace(/^#(?=command\[)/, '') : raw;
    const m = /^command\[([^\]]+)\]=(.+)$/.exec(line);
    if (m) commands.set(m[1]!, m[2]!);
  }
  return commands;
}

/** An NRPE command line as argv: NRPE runs it through /bin/sh, and ours have no quoting. */
function argvOf(line: string): string[] {
  expect(line, 'the shipped lines need no shell quoting').toMatch(/^[A-Za-z0-9_./%:=@~ -]+$/);
  return line.split(/\s+/);
}

describeWith(
  'NRPE end to end',
  {
    root: true,
    programs: [
      [NRPE, 'nagios-nrpe-server'],
      [CHECK_NRPE, 'nagios-nrpe-plugin'],
      [DPKG, 'dpkg'],
      ['/usr/bin/dpkg-deb', 'dpkg'],
      ['/usr/bin/setpriv', 'util-linux'],
    ],
  },
  () => {
    const dir = tempDir('nrpe');
    let daemon: Daemon | undefined;
    let port = 0;
    let keeper: { forget(): void } | undefined;
    let installedHere = false;
    const checkNrpe = (command: string) =>
      run([CHECK_NRPE, '-H', '127.0.0.1', '-p', String(port), '-t', '60', '-c', command], { timeoutMs: 90_000 });
    const local = (line: string) => run(asUser('nagios', argvOf(line)), { timeoutMs: 60_000 });

    beforeAll(async () => {
      const status = run([DPKG_QUERY, '-W', '-f=${db:Status-Abbrev}', 'check-conntrack']);
      if (status.code === 0 && status.stdout.startsWith('i'))
        throw new Error('check-conntrack is already installed here: this test installs and removes it, so it leaves it alone');
      ensureUser('nagios');
      keeper = stateDirKeeper('nagios');
      must([DPKG, '-i', buildArtifact('deb', dir.path)], { timeoutMs: 120_000 });
      installedHere = true;

      // Every commented-out variant of the shipped file, and fixture commands
      // whose whole output is known, in a second file of our own.
      const extra = [...nrpeCommands(readFileSync(SHIPPED, 'utf8'), true)]
        .filter(([name]) => !nrpeCommands(readFileSync(SHIPPED, 'utf8')).has(name))
        .map(([name, line]) => `command[${name}]=${line}`);
      for (const [name, fixture] of [
        ['cc_ok', 'linux-6.8'],
        ['cc_warning', 'rhel5-2.6.18'],
        ['cc_critical', 'centos6-2.6.32'],
        ['cc_unknown', 'garbage'],
      ]) {
        const root = join(FIXTURES, fixture!);
        extra.push(`command[${name}]=${PLUGIN} --proc ${root}/proc --sys ${root}/sys --no-state --kernel-log none -vv`);
      }
      writeFileSync(join(dir.path, 'extra.cfg'), `${extra.join('\n')}\n`);

      port = await freePort();
      writeFileSync(
        join(dir.path, 'nrpe.cfg'),
        [
          `pid_file=${dir.path}/nrpe.pid`,
          `server_port=${port}`,
          'server_address=127.0.0.1',
          'allowed_hosts=127.0.0.1',
          'nrpe_user=nagios',
          'nrpe_group=nagios',
          'dont_blame_nrpe=0',
          'allow_bash_command_substitution=0',
          'command_timeout=60',
          'connection_timeout=300',
          'debug=0',
          `include=${SHIPPED}`,
          `include=${dir.path}/extra.cfg`,
          '',
        ].join('\n'),
      );
      daemon = startDaemon([NRPE, '-c', join(dir.path, 'nrpe.cfg'), '-f']);
      // check_nrpe with no command asks for the daemon's version.
      await waitFor(
        `nrpe on 127.0.0.1:${port}`,
        () => {
          if (daemon!.child.exitCode !== null) throw new Error(`nrpe exited ${daemon!.child.exitCode}: ${daemon!.output()}`);
          const r = run([CHECK_NRPE, '-H', '127.0.0.1', '-p', String(port), '-t', '5'], { timeoutMs: 10_000 });
          return r.code === 0 && /NRPE/.test(r.stdout) ? true : undefined;
        },
        20_000,
        250,
      );
    });

    afterAll(async () => {
      try {
        await daemon?.stop();
      } finally {
        // Purged, not only removed: the cron example is a conffile, which dpkg -r keeps.
        if (installedHere) run([DPKG, '-P', 'check-conntrack'], { timeoutMs: 120_000 });
        keeper?.forget();
        dir.dispose();
      }
    });

    it('ships command[check_conntrack] with the installed plugin and fixed thresholds', () => {
      expect(nrpeCommands(readFileSync(SHIPPED, 'utf8')).get('check_conntrack')).toBe(`${PLUGIN} -w 80% -c 90%`);
    });

    it('answers check_nrpe -c check_conntrack with the status line and exit code of a local run as nagios', async () => {
      const line = nrpeCommands(readFileSync(SHIPPED, 'utf8')).get('check_conntrack')!;
      local(line); // the first run as nagios records the counters
      const { a: remote, b: here } = await sameOnHost(
        () => checkNrpe('check_conntrack'),
        () => local(line),
      );
      expect(remote.status).toMatch(/^CONNTRACK (OK|WARNING|CRITICAL|UNKNOWN) - .* \| entries=\d+/);
      expect(remote.status).toBe(here.status);
      expect(remote.code).toBe(here.code);
    });

    it.each(['cc_ok', 'cc_warning', 'cc_critical', 'cc_unknown'])(
      'passes %s on whole: every line of the output, and the exit code',
      (name) => {
        const line = nrpeCommands(readFileSync(join(dir.path, 'extra.cfg'), 'utf8')).get(name)!;
        const here = local(line);
        const remote = checkNrpe(name);
        expect(remote.stdout.trimEnd()).toBe(here.stdout.trimEnd());
        expect(remote.code).toBe(here.code);
        expect(remote.code).toBe({ cc_ok: 0, cc_warning: 1, cc_critical: 2, cc_unknown: 3 }[name]);
      },
    );

    it('runs the commented-out variants of the shipped file as they stand', async () => {
      const variants = [...nrpeCommands(readFileSync(SHIPPED, 'utf8'), true)].filter(([name]) => name !== 'check_conntrack');
      expect(variants.map(([name]) => name).sort()).toEqual(['check_conntrack_sudo', 'check_conntrack_verbose']);
      for (const [name, line] of variants) {
        const { a: remote, b: here } = await sameOnHost(
          () => checkNrpe(name),
          () => local(line),
        );
        expect(remote.status, name).toBe(here.status);
        expect(remote.code, name).toBe(here.code);
      }
    });

    it('refuses a command it does not have', () => {
      const r = checkNrpe('check_conntrack_nonexistent');
      expect(r.code).toBe(3);
    });
  },
);
