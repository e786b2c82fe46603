/**
 * Icinga 2, with Debian's icinga2: the shipped CheckCommand "conntrack" has a
 * conntrack_* variable for every option of --help; `icinga2 daemon -C`
 * accepts it with the service examples and a host using them; and a daemon of
 * our own (its own directories, an API on a free port of 127.0.0.1) runs the
 * plugin through it, and its API returns the same output, performance data
 * and exit code as the plugin run locally as nagios.
 */
import { chownSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asUser,
  BUNDLE,
  describeWith,
  ensureUser,
  FIXTURES,
  fixtureArgs,
  freePort,
  helpLongOptions,
  must,
  NODE,
  PACKAGING,
  run,
  startDaemon,
  stateDirKeeper,
  tempDir,
  uidOf,
  waitFor,
  type Daemon,
  type Run,
} from './support';

const ICINGA2 = '/usr/sbin/icinga2';
const COMMAND_FILE = join(PACKAGING, 'icinga2/check_conntrack.conf');
const SERVICES_FILE = join(PACKAGING, 'icinga2/services.conf.example');
const COMMAND = readFileSync(COMMAND_FILE, 'utf8');

/** The options --help shows with a value (`--top <n>`) and those without (flags). */
function helpFlags(): Set<string> {
  const help = run([NODE, BUNDLE, '--help']).stdout;
  const flags = new Set<string>();
  for (const m of help.matchAll(/^ {2}(?:-[A-Za-z], )?--([a-z][a-z0-9-]*)(\s+<[^>]+>)?/gm)) if (!m[2]) flags.add(m[1]!);
  return flags;
}

/** `"--key" = { ... }` blocks of the arguments dictionary. */
function argumentBlocks(): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const m of COMMAND.matchAll(/^\t\t"([^"]+)" = \{\n([\s\S]*?)^\t\t\}/gm)) blocks.set(m[1]!, m[2]!);
  return blocks;
}

const varOf = (option: string) => `conntrack_${option.replace(/-/g, '_')}`;

describe('the CheckCommand', () => {
  const options = helpLongOptions().filter((o) => o !== 'help' && o !== 'version');
  const flags = helpFlags();
  const blocks = argumentBlocks();

  it('follows the ITL conventions: PluginContribDir, an array command', () => {
    expect(COMMAND).toMatch(/^object CheckCommand "conntrack" \{\n\tcommand = \[ PluginContribDir \+ "\/check_conntrack" \]$/m);
  });

  it('has a conntrack_* variable for every option of --help, under the long option name', () => {
    const missing: string[] = [];
    for (const option of options) {
      if (option === 'verbose') continue;
      const block = blocks.get(`--${option}`);
      const expected = flags.has(option) ? `set_if = "$${varOf(option)}$"` : `value = "$${varOf(option)}$"`;
      if (!block?.includes(expected)) missing.push(`--${option}: ${expected}`);
    }
    expect(missing).toEqual([]);
  });

  it('has no argument for an option the plugin does not have', () => {
    const known = new Set([...options.map((o) => `--${o}`), '-v', '-vv', '-vvv']);
    expect([...blocks.keys()].filter((k) => !known.has(k))).toEqual([]);
    expect(blocks.has('--verbose')).toBe(false);
  });

  it('maps conntrack_verbose 1, 2, 3 to -v, -vv, -vvv', () => {
    expect(blocks.get('-v')).toContain('set_if = {{ Number(macro("$conntrack_verbose$")) == 1 }}');
    expect(blocks.get('-vv')).toContain('set_if = {{ Number(macro("$conntrack_verbose$")) == 2 }}');
    expect(blocks.get('-vvv')).toContain('set_if = {{ Number(macro("$conntrack_verbose$")) >= 3 }}');
  });

  it('describes every argument', () => {
    for (const [key, block] of blocks) if (key !== '-vv' && key !== '-vvv') expect(block, key).toMatch(/description = "[^"]+"/);
  });
});

/** Icinga 2 paths and constants that keep a daemon of ours out of /etc/icinga2 and /var/lib/icinga2. */
function defines(root: string): string[] {
  return [
    `-DDataDir=${root}/data`,
    `-DLogDir=${root}/log`,
    `-DCacheDir=${root}/cache`,
    `-DSpoolDir=${root}/spool`,
    `-DInitRunDir=${root}/run`,
    `-DStatePath=${root}/data/icinga2.state`,
    `-DObjectsPath=${root}/cache/icinga2.debug`,
    `-DVarsPath=${root}/cache/icinga2.vars`,
    `-DPidPath=${root}/run/icinga2.pid`,
    `-DModAttrPath=${root}/data/modified-attributes.conf`,
  ];
}

function makeTree(root: string): void {
  for (const d of ['etc', 'data', 'data/certs', 'log', 'cache', 'spool', 'run', 'plugins'])
    mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
  copyFileSync(COMMAND_FILE, join(root, 'etc/check_conntrack.conf'));
  copyFileSync(SERVICES_FILE, join(root, 'etc/services.conf'));
}

/** The configuration the tests add: the constants, a zone, a host the example services apply to. */
function baseConfig(root: string, extra: string[] = []): string {
  return [
    `const PluginDir = "/usr/lib/nagios/plugins"`,
    `const PluginContribDir = "${root}/plugins"`,
    `const NodeName = "cctest"`,
    `const ZoneName = "cctest"`,
    `object Endpoint NodeName { }`,
    `object Zone ZoneName { endpoints = [ NodeName ] }`,
    `include <itl>`,
    `include <plugins>`,
    `include "check_conntrack.conf"`,
    `include "services.conf"`,
    `template Service "generic-service" { max_check_attempts = 1; check_interval = 1h; retry_interval = 1h }`,
    `object Host "cctest-host" {`,
    `  check_command = "dummy"`,
    `  vars.os = "Linux"`,
    `  vars.container_host = true`,
    `  vars.nat_gateway = true`,
    `}`,
    ...extra,
    '',
  ].join('\n');
}

// icinga2 runs as root (dropping to its user) or as that user (nagios on Debian) only.
describeWith('icinga2 daemon -C', { root: true, programs: [[ICINGA2, 'icinga2']] }, () => {
  const dir = tempDir('icinga2-validate');
  afterAll(() => dir.dispose());

  it('accepts the CheckCommand with the service examples and a host using them', () => {
    makeTree(dir.path);
    writeFileSync(join(dir.path, 'etc/icinga2.conf'), baseConfig(dir.path));
    // icinga2 drops to its user (nagios on Debian), which must own the tree.
    ensureUser('nagios');
    must(['/usr/bin/chown', '-R', 'nagios:nagios', dir.path]);
    const r = run([ICINGA2, 'daemon', '-C', '-c', join(dir.path, 'etc/icinga2.conf'), ...defines(dir.path)], { timeoutMs: 120_000 });
    expect(r.stdout + r.stderr, 'icinga2 daemon -C').toContain('Finished validating the configuration file(s).');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Instantiated 3 Services.');
  });

  it('rejects a service with an unknown check command (the validation is real)', () => {
    writeFileSync(
      join(dir.path, 'etc/icinga2.conf'),
      baseConfig(dir.path, ['object Service "broken" { host_name = "cctest-host"; check_command = "conntrack-nonexistent" }']),
    );
    must(['/usr/bin/chown', '-R', 'nagios:nagios', dir.path]);
    const r = run([ICINGA2, 'daemon', '-C', '-c', join(dir.path, 'etc/icinga2.conf'), ...defines(dir.path)], { timeoutMs: 120_000 });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('conntrack-nonexistent');
  });
});

interface CheckResult {
  exit_status: number;
  output: string;
  performance_data?: string[];
  command: string[];
  execution_end: number;
}

describeWith(
  'an Icinga 2 daemon running the check',
  {
    root: true,
    programs: [
      [ICINGA2, 'icinga2'],
      ['/usr/bin/setpriv', 'util-linux'],
    ],
  },
  () => {
    const dir = tempDir('icinga2-daemon');
    const password = `cc-${process.pid}-${Date.now()}`;
    let daemon: Daemon | undefined;
    let port = 0;
    /** When the first round of checks was asked for. */
    let started = 0;

    /** What the Icinga 2 API answers: its results, read as each call expects them. */
    type ApiAnswer = { results?: unknown };
    const api = (method: string, path: string, body?: unknown) =>
      new Promise<{ status: number; json: ApiAnswer }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path,
            method,
            rejectUnauthorized: false,
            auth: `cctest:${password}`,
            headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
            timeout: 10_000,
          },
          (res) => {
            let data = '';
            res.on('data', (c: Buffer) => (data += c.toString()));
            res.on('end', () => {
              try {
                resolve({ status: res.statusCode ?? 0, json: JSON.parse(data) });
              } catch (err) {
                reject(new Error(`${method} ${path}: ${res.statusCode} ${data.slice(0, 200)}: ${String(err)}`));
              }
            });
          },
        );
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.end(body === undefined ? undefined : JSON.stringify(body));
      });

    /** The services' newest results, once every one has run since `since`. */
    const results = async (since: number): Promise<Map<string, CheckResult>> =>
      waitFor(
        'every service to have a check result',
        async () => {
          if (daemon!.child.exitCode !== null)
            throw new Error(`icinga2 exited ${daemon!.child.exitCode}: ${daemon!.output().slice(-2000)}`);
          const r = await api('GET', '/v1/objects/services?attrs=last_check_result');
          if (r.status !== 200) return undefined;
          const map = new Map<string, CheckResult>();
          for (const s of r.json.results as Array<{ name: string; attrs: { last_check_result: CheckResult | null } }>) {
            const cr = s.attrs.last_check_result;
            if (!cr || cr.execution_end < since) return undefined;
            map.set(s.name.replace(/^cctest-host!/, ''), cr);
          }
          return map.size ? map : undefined;
        },
        90_000,
        500,
      );

    const reschedule = async () => {
      const since = Date.now() / 1000;
      const r = await api('POST', '/v1/actions/reschedule-check', { type: 'Service', filter: 'true', force: true });
      expect(r.status).toBe(200);
      return since;
    };

    const fixtureService = (name: string, fixture: string) =>
      [
        `object Service "${name}" {`,
        `  import "generic-service"`,
        `  host_name = "cctest-host"`,
        `  check_command = "conntrack"`,
        `  vars.conntrack_proc = "${join(FIXTURES, fixture, 'proc')}"`,
        `  vars.conntrack_sys = "${join(FIXTURES, fixture, 'sys')}"`,
        `  vars.conntrack_no_state = true`,
        `  vars.conntrack_kernel_log = "none"`,
        `  vars.conntrack_verbose = 2`,
        `}`,
      ].join('\n');

    // The example services keep state as nagios, in /var/tmp/check_conntrack-UID/.
    let keeper: { forget(): void } | undefined;

    beforeAll(async () => {
      ensureUser('nagios');
      keeper = stateDirKeeper('nagios');
      makeTree(dir.path);
      copyFileSync(BUNDLE, join(dir.path, 'plugins/check_conntrack'));
      port = await freePort();
      const config = baseConfig(dir.path, [
        fixtureService('fixture-ok', 'linux-6.8'),
        fixtureService('fixture-warning', 'rhel5-2.6.18'),
        fixtureService('fixture-critical', 'centos6-2.6.32'),
        fixtureService('fixture-unknown', 'garbage'),
        // This host's table, as nagios, through the command's defaults.
        'object Service "host" { import "generic-service"; host_name = "cctest-host"; check_command = "conntrack"; vars.conntrack_no_state = true; vars.conntrack_kernel_log = "none" }',
        // Every variable set, to see the command line Icinga 2 builds.
        [
          'object Service "all-vars" {',
          '  import "generic-service"',
          '  host_name = "cctest-host"',
          '  check_command = "conntrack"',
          '  vars.conntrack_warning = "70%"',
          '  vars.conntrack_critical = "85%"',
          '  vars.conntrack_drop_critical = "5"',
          '  vars.conntrack_log_window = "15m"',
          '  vars.conntrack_namespaces = "host"',
          '  vars.conntrack_top = 3',
          '  vars.conntrack_fill_warning = "2h"',
          '  vars.conntrack_no_state = true',
          '  vars.conntrack_sudo = false',
          '  vars.conntrack_breakdown = false',
          '  vars.conntrack_quiet_ok = false',
          '  vars.conntrack_timeout = 20',
          '  vars.conntrack_verbose = 3',
          `  vars.conntrack_proc = "${join(FIXTURES, 'linux-6.8', 'proc')}"`,
          `  vars.conntrack_sys = "${join(FIXTURES, 'linux-6.8', 'sys')}"`,
          '  vars.conntrack_kernel_log = "none"',
          '}',
        ].join('\n'),
        `object ApiListener "api" { bind_host = "127.0.0.1"; bind_port = ${port}; accept_config = false; accept_commands = false }`,
        `object ApiUser "cctest" { password = "${password}"; permissions = [ "objects/query/*", "actions/reschedule-check" ] }`,
        `object CheckerComponent "checker" { }`,
      ]);
      writeFileSync(join(dir.path, 'etc/icinga2.conf'), config);
      must(['/usr/bin/chown', '-R', 'nagios:nagios', dir.path]);
      // A CA and a certificate for the API, in our data directory (icinga2 pki runs as nagios).
      const pki = (...args: string[]) => must([ICINGA2, 'pki', ...args, `-DDataDir=${dir.path}/data`], { timeoutMs: 120_000 });
      pki('new-ca');
      pki('new-cert', '--cn', 'cctest', '--key', `${dir.path}/data/certs/cctest.key`, '--csr', `${dir.path}/data/certs/cctest.csr`);
      pki('sign-csr', '--csr', `${dir.path}/data/certs/cctest.csr`, '--cert', `${dir.path}/data/certs/cctest.crt`);
      copyFileSync(`${dir.path}/data/ca/ca.crt`, `${dir.path}/data/certs/ca.crt`);
      const nagios = uidOf('nagios');
      chownSync(`${dir.path}/data/certs/ca.crt`, nagios, Number(must(['/usr/bin/id', '-g', 'nagios']).stdout.trim()));

      daemon = startDaemon([ICINGA2, 'daemon', '-c', join(dir.path, 'etc/icinga2.conf'), ...defines(dir.path)]);
      await waitFor(
        `the Icinga 2 API on 127.0.0.1:${port}`,
        async () => {
          if (daemon!.child.exitCode !== null)
            throw new Error(`icinga2 exited ${daemon!.child.exitCode}: ${daemon!.output().slice(-2000)}`);
          return (await api('GET', '/v1/objects/hosts?attrs=name').catch(() => ({ status: 0 }))).status === 200 ? true : undefined;
        },
        60_000,
        500,
      );
      // Checks are spread over their interval after a start: ask for all now.
      started = await reschedule();
    });

    afterAll(async () => {
      try {
        await daemon?.stop();
      } finally {
        keeper?.forget();
        dir.dispose();
      }
    });

    /** What Icinga 2 makes of a plugin's stdout: the text and the long output, and the perfdata apart. */
    const asIcinga = (local: Run) => {
      const lines = local.stdout.replace(/\n$/, '').split('\n');
      const [text, perf] = (lines[0] ?? '').split(' | ');
      return { output: [text!.trimEnd(), ...lines.slice(1)].join('\n'), perfdata: perf ? perf.split(' ') : [] };
    };

    it.each([
      ['fixture-ok', 'linux-6.8', 0],
      ['fixture-warning', 'rhel5-2.6.18', 1],
      ['fixture-critical', 'centos6-2.6.32', 2],
      ['fixture-unknown', 'garbage', 3],
    ])('reads %s through the API: the output, perfdata and exit code of a local run as nagios', async (service, fixture, code) => {
      const all = await results(started);
      const cr = all.get(service)!;
      expect(cr, service).toBeDefined();
      const local = run(asUser('nagios', [NODE, BUNDLE, ...fixtureArgs(fixture), '-vv']));
      const expected = asIcinga(local);
      expect(
        cr.output
          .split('\n')
          .map((l) => l.trimEnd())
          .join('\n'),
      ).toBe(expected.output);
      expect(cr.performance_data ?? []).toEqual(expected.perfdata);
      expect(cr.exit_status).toBe(code);
      expect(local.code).toBe(code);
      expect(cr.command[0]).toBe(join(dir.path, 'plugins/check_conntrack'));
    });

    it('checks this host as nagios with the command defaults: the status of a local run', async () => {
      let last: { icinga: string; local: string } | undefined;
      for (let attempt = 0; attempt < 4; attempt++) {
        const since = attempt === 0 ? started : await reschedule();
        const cr = (await results(since)).get('host')!;
        const local = run(asUser('nagios', [NODE, BUNDLE, '--critical', '90%', '--kernel-log', 'none', '--no-state', '--warning', '80%']));
        const expected = asIcinga(local);
        last = {
          icinga: `${cr.exit_status} ${cr.output.split('\n')[0]!.trimEnd()} | ${(cr.performance_data ?? []).join(' ')}`,
          local: `${local.code} ${expected.output.split('\n')[0]} | ${expected.perfdata.join(' ')}`,
        };
        if (last.icinga === last.local) break;
        await sleep(500);
      }
      expect(last!.icinga).toMatch(/^[0-3] CONNTRACK /);
      expect(last!.icinga).toBe(last!.local);
    });

    it('builds the command line from the conntrack_* variables: values, flags and -vvv', async () => {
      const cr = (await results(started)).get('all-vars')!;
      const argv = cr.command.slice(1);
      const pairs = (key: string) => argv[argv.indexOf(key) + 1];
      expect(pairs('--warning')).toBe('70%');
      expect(pairs('--critical')).toBe('85%');
      expect(pairs('--drop-critical')).toBe('5');
      expect(pairs('--log-window')).toBe('15m');
      expect(pairs('--namespaces')).toBe('host');
      expect(pairs('--top')).toBe('3');
      expect(pairs('--fill-warning')).toBe('2h');
      expect(pairs('--timeout')).toBe('20');
      expect(argv).toContain('--no-state');
      expect(argv).toContain('-vvv');
      for (const absent of ['--sudo', '--breakdown', '--quiet-ok', '-v', '-vv', '--exclude-unreplied', '--format', '--state-file'])
        expect(argv).not.toContain(absent);
      // And the plugin took that command line: at -vvv it ran and judged the table.
      expect(cr.exit_status).toBe(0);
      expect(cr.output).toMatch(/^CONNTRACK OK - 12\.3% of table used/);
    });

    it('runs the example services as they stand', async () => {
      const all = await results(started);
      for (const name of ['conntrack', 'conntrack-namespaces', 'conntrack-breakdown']) {
        const cr = all.get(name)!;
        expect(cr, name).toBeDefined();
        expect(cr.output, name).toMatch(/^CONNTRACK (OK|WARNING|CRITICAL|UNKNOWN) - /);
        expect([0, 1, 2, 3]).toContain(cr.exit_status);
      }
      expect(all.get('conntrack')!.command).toContain('-v');
      expect(all.get('conntrack-namespaces')!.command).toEqual(expect.arrayContaining(['--namespaces', 'all', '--top', '10']));
      expect(all.get('conntrack-breakdown')!.command).toEqual(expect.arrayContaining(['--sudo', '--breakdown', '--timeout', '30']));
    });
  },
);
