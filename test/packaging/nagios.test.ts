/**
 * Nagios Core 4, with Debian's nagios4-core: packaging/nagios/commands.cfg
 * and its (commented-out) service examples pass `nagios4 -v`, and a Nagios of
 * our own (its own directories, running as nagios) runs the commands: the
 * status it keeps is what the plugin prints when run locally as nagios.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  asUser,
  BUNDLE,
  describeWith,
  ensureUser,
  fixtureArgs,
  must,
  NODE,
  PACKAGING,
  run,
  startDaemon,
  stateDirKeeper,
  tempDir,
  waitFor,
  type Daemon,
} from './support';

const NAGIOS = '/usr/sbin/nagios4';
const COMMANDS = join(PACKAGING, 'nagios/commands.cfg');

/** The service examples at the end of commands.cfg, uncommented. */
function exampleServices(): string {
  const text = readFileSync(COMMANDS, 'utf8');
  const from = text.indexOf('# Services using them');
  expect(from).toBeGreaterThan(0);
  return text
    .slice(from)
    .split('\n')
    .map((l) => l.replace(/^# (define \w+ \{|\}| {4}\S.*)$/, '$1'))
    .join('\n');
}

/** What a Nagios configuration needs besides our commands: a time period, a contact, templates and the hosts. */
const OBJECTS = `
define timeperiod {
    timeperiod_name 24x7
    alias           24x7
    sunday          00:00-24:00
    monday          00:00-24:00
    tuesday         00:00-24:00
    wednesday       00:00-24:00
    thursday        00:00-24:00
    friday          00:00-24:00
    saturday        00:00-24:00
}
define command {
    command_name    cc-true
    command_line    /bin/true
}
define contact {
    contact_name                    cctest
    service_notification_period     24x7
    host_notification_period        24x7
    service_notification_options    n
    host_notification_options       n
    service_notification_commands   cc-true
    host_notification_commands      cc-true
}
define host {
    name                    generic-host
    register                0
    max_check_attempts      1
    check_period            24x7
    check_command           cc-true
    contacts                cctest
    notification_period     24x7
    notifications_enabled   0
}
define service {
    name                    generic-service
    register                0
    max_check_attempts      1
    check_interval          60
    retry_interval          60
    notification_interval   0
    check_period            24x7
    contacts                cctest
    notification_period     24x7
    notifications_enabled   0
}
define host {
    use         generic-host
    host_name   localhost
    address     127.0.0.1
}
define host {
    use         generic-host
    host_name   web01
    address     127.0.0.1
}
`;

function mainConfig(dir: string, pluginDir: string, extraCfg: string[]): void {
  writeFileSync(join(dir, 'resource.cfg'), `$USER1$=${pluginDir}\n`);
  writeFileSync(join(dir, 'objects.cfg'), OBJECTS);
  writeFileSync(join(dir, 'services.cfg'), exampleServices());
  copyFileSync(COMMANDS, join(dir, 'commands.cfg'));
  writeFileSync(
    join(dir, 'nagios.cfg'),
    [
      `log_file=${dir}/nagios.log`,
      `cfg_file=${dir}/objects.cfg`,
      `cfg_file=${dir}/commands.cfg`,
      `cfg_file=${dir}/services.cfg`,
      ...extraCfg.map((f) => `cfg_file=${f}`),
      `resource_file=${dir}/resource.cfg`,
      `check_result_path=${dir}/checkresults`,
      `lock_file=${dir}/nagios.lock`,
      `temp_file=${dir}/nagios.tmp`,
      `temp_path=${dir}`,
      `status_file=${dir}/status.dat`,
      'status_update_interval=1',
      'retain_state_information=0',
      `state_retention_file=${dir}/retention.dat`,
      `object_cache_file=${dir}/objects.cache`,
      `precached_object_file=${dir}/objects.precache`,
      'check_external_commands=1',
      `command_file=${dir}/nagios.cmd`,
      'check_result_reaper_frequency=1',
      'max_service_check_spread=1',
      'enable_notifications=0',
      'nagios_user=nagios',
      'nagios_group=nagios',
      'use_syslog=0',
      'illegal_macro_output_chars=`~$&|\'"<>',
      '',
    ].join('\n'),
  );
}

describeWith(
  'Nagios Core with the shipped commands',
  {
    root: true,
    programs: [
      [NAGIOS, 'nagios4-core'],
      ['/usr/bin/setpriv', 'util-linux'],
    ],
  },
  () => {
    const dir = tempDir('nagios');
    let daemon: Daemon | undefined;
    // The example service keeps state as nagios, in /var/tmp/check_conntrack-UID/.
    let keeper: { forget(): void } | undefined;

    beforeAll(() => {
      const pluginDir = join(dir.path, 'plugins');
      ensureUser('nagios');
      keeper = stateDirKeeper('nagios');
      must(['/usr/bin/mkdir', '-p', pluginDir, join(dir.path, 'checkresults')]);
      copyFileSync(BUNDLE, join(pluginDir, 'check_conntrack'));
      // check_nrpe for the NRPE example, where nagios-nrpe-plugin is installed.
      if (run(['/usr/bin/test', '-x', '/usr/lib/nagios/plugins/check_nrpe']).code === 0)
        copyFileSync('/usr/lib/nagios/plugins/check_nrpe', join(pluginDir, 'check_nrpe'));
      must(['/usr/bin/chmod', '0755', join(pluginDir, 'check_conntrack')]);
      const fixture = join(dir.path, 'fixture.cfg');
      writeFileSync(
        fixture,
        [
          'define service {',
          '    use                     generic-service',
          '    host_name               localhost',
          '    service_description     conntrack-fixture',
          `    check_command           check_conntrack_opts!70%!85%!${fixtureArgs('rhel5-2.6.18').join(' ')} -vv`,
          '}',
          '',
        ].join('\n'),
      );
      mainConfig(dir.path, pluginDir, [fixture]);
      must(['/usr/bin/chown', '-R', 'nagios:nagios', dir.path]);
    });
    afterAll(async () => {
      try {
        await daemon?.stop();
      } finally {
        keeper?.forget();
        dir.dispose();
      }
    });

    it('passes nagios4 -v with the service examples', () => {
      const r = run([NAGIOS, '-v', join(dir.path, 'nagios.cfg')]);
      expect(r.stdout).toContain('Total Errors:   0');
      expect(r.stdout).toContain('Total Warnings: 0');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Checked 3 services\./);
    });

    it('runs them: the state, output and perfdata Nagios keeps are those of a local run as nagios', async () => {
      daemon = startDaemon([NAGIOS, join(dir.path, 'nagios.cfg')]);
      // Ask for every check now rather than when the spread schedules it.
      await waitFor(
        'the external command pipe',
        () => (run(['/usr/bin/test', '-p', join(dir.path, 'nagios.cmd')]).code === 0 ? true : undefined),
        30_000,
      );
      const now = Math.floor(Date.now() / 1000);
      writeFileSync(
        join(dir.path, 'nagios.cmd'),
        ['conntrack', 'conntrack-fixture'].map((s) => `[${now}] SCHEDULE_FORCED_SVC_CHECK;localhost;${s};${now}\n`).join('') +
          `[${now}] SCHEDULE_FORCED_SVC_CHECK;web01;conntrack;${now}\n`,
      );

      type Status = Record<string, string>;
      const statuses = await waitFor(
        'check results in status.dat',
        () => {
          if (daemon!.child.exitCode !== null)
            throw new Error(`nagios4 exited ${daemon!.child.exitCode}: ${daemon!.output().slice(-2000)}`);
          const text = readFileSync(join(dir.path, 'status.dat'), 'utf8');
          const blocks = [...text.matchAll(/servicestatus \{\n([\s\S]*?)\n\t\}/g)].map(
            (m) =>
              Object.fromEntries(
                m[1]!.split('\n').map((l) => {
                  const i = l.indexOf('=');
                  return [l.slice(0, i).trim(), l.slice(i + 1)];
                }),
              ) as Status,
          );
          const done = blocks.filter((b) => Number(b.last_check) >= now);
          return done.length === 3 ? new Map(done.map((b) => [`${b.host_name}/${b.service_description}`, b])) : undefined;
        },
        60_000,
        500,
      );

      // The fixture service through check_conntrack_opts: every part, exactly.
      const fixture = statuses.get('localhost/conntrack-fixture')!;
      const local = run(asUser('nagios', [NODE, BUNDLE, '-w', '70%', '-c', '85%', ...fixtureArgs('rhel5-2.6.18'), '-vv']));
      const [text, perf] = local.status.split(' | ');
      expect(fixture.plugin_output).toBe(text!.trimEnd());
      expect(fixture.performance_data).toBe(perf);
      expect(fixture.long_plugin_output!.split('\\n')).toEqual(local.stdout.replace(/\n$/, '').split('\n').slice(1));
      expect(Number(fixture.current_state)).toBe(local.code);
      expect(local.code).toBe(2); // 89.9% against 70%/85%

      // The local example, this host: a real check, the same kind of line as a local run.
      const host = statuses.get('localhost/conntrack')!;
      expect(host.plugin_output).toMatch(/^CONNTRACK (OK|WARNING|CRITICAL|UNKNOWN) - /);
      expect(host.performance_data).toMatch(/^entries=\d+;\d+;\d+;0;\d+ usage=/);

      // The NRPE example ran check_nrpe (nothing listens on web01's port 5666 here).
      const nrpe = statuses.get('web01/conntrack')!;
      expect(nrpe.check_command).toBe('check_nrpe_conntrack!check_conntrack');
      expect(nrpe.plugin_output).not.toMatch(/^CONNTRACK/);
    });
  },
);
