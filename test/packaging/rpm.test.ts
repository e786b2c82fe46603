/**
 * The .rpm, built with rpmbuild from Debian's rpm package and read back with
 * rpm -qp: the plugin in /usr/lib64/nagios/plugins with mode 0755, the man
 * page, documentation and licenses, Requires nodejs >= 18.19 (also where
 * nodejs carries an Epoch, as on Fedora and RHEL), the version of
 * package.json, and the same bytes when built twice.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUNDLE, buildArtifact, describeWith, ensureUser, must, run, tempDir, uidOf, VERSION } from './support';

/** The regular files of a cpio archive in the "newc" format rpm2cpio writes. */
function readCpio(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const pad = (n: number) => (n + 3) & ~3;
  let at = 0;
  while (at + 110 <= archive.length) {
    const magic = archive.toString('latin1', at, at + 6);
    if (magic !== '070701' && magic !== '070702') throw new Error(`not a newc cpio archive at byte ${at}`);
    const field = (i: number) => parseInt(archive.toString('latin1', at + 6 + i * 8, at + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const name = archive.toString('utf8', at + 110, at + 110 + nameSize - 1);
    if (name === 'TRAILER!!!') break;
    const dataAt = pad(at + 110 + nameSize);
    if ((mode & 0o170000) === 0o100000) files.set(name, archive.subarray(dataAt, dataAt + size));
    at = pad(dataAt + size);
  }
  return files;
}

const RPM = '/usr/bin/rpm';
const RPMBUILD = '/usr/bin/rpmbuild';
const PLUGIN = '/usr/lib64/nagios/plugins/check_conntrack';
const CRON_FILE = '/etc/cron.d/check_conntrack';
const SCHEDULER_FILES = [CRON_FILE, '/usr/lib/systemd/system/check_conntrack.service', '/usr/lib/systemd/system/check_conntrack.timer'];

describeWith(
  'the .rpm',
  {
    programs: [
      [RPM, 'rpm'],
      [RPMBUILD, 'rpm'],
    ],
  },
  () => {
    const out = tempDir('rpm');
    let rpm = '';
    const query = (...args: string[]) => must([RPM, '-qp', '--nosignature', ...args, rpm]).stdout;

    beforeAll(() => {
      rpm = buildArtifact('rpm', out.path);
    });
    afterAll(() => out.dispose());

    it('is named and versioned from package.json', () => {
      expect(rpm).toBe(join(out.path, `check-conntrack-${VERSION.replace(/-/g, '~')}-1.noarch.rpm`));
      expect(query('--queryformat', '%{NAME} %{VERSION} %{RELEASE} %{ARCH}')).toBe(
        `check-conntrack ${VERSION.replace(/-/g, '~')} 1 noarch`,
      );
      expect(query('--queryformat', '%{LICENSE}')).toMatch(/^MIT\b/);
    });

    it("the License: field names the license of every package bundled into it (package-lock.json's runtime packages)", () => {
      const lock = JSON.parse(readFileSync(join(__dirname, '../../package-lock.json'), 'utf8')) as {
        packages: Record<string, { dev?: boolean; devOptional?: boolean; license?: string }>;
      };
      const bundled = Object.entries(lock.packages).filter(([path, e]) => path !== '' && !e.dev && !e.devOptional);
      const expected = [...new Set(['MIT', ...bundled.map(([, e]) => e.license ?? '?')])].sort();
      expect(query('--queryformat', '%{LICENSE}').split(' AND ').sort()).toEqual(expected);
    });

    it('lists the plugin, the man page, the documentation and the licenses (rpm -qlp)', () => {
      const files = query('-l').trim().split('\n');
      for (const path of [
        PLUGIN,
        '/usr/share/man/man8/check_conntrack.8.gz',
        '/usr/share/doc/check-conntrack/README.md',
        '/usr/share/doc/check-conntrack/changelog',
        '/usr/share/doc/check-conntrack/check_conntrack.schema.json',
        '/usr/share/doc/check-conntrack/examples/icinga2/check_conntrack.conf',
        '/usr/share/doc/check-conntrack/examples/icinga2/services.conf.example',
        '/usr/share/doc/check-conntrack/examples/nagios/commands.cfg',
        '/usr/share/doc/check-conntrack/examples/nrpe/check_conntrack.cfg',
        '/usr/share/doc/check-conntrack/examples/sudoers/check_conntrack',
        '/usr/share/doc/check-conntrack/examples/systemd/mail.conf',
        '/usr/share/licenses/check-conntrack/LICENSE',
        '/usr/share/licenses/check-conntrack/THIRD-PARTY-LICENSES',
        ...SCHEDULER_FILES,
      ]) {
        expect(files).toContain(path);
      }
      // Nothing in Debian's places; outside /usr only the cron example.
      expect(
        files.filter(
          (f) => (f.startsWith('/usr/lib/') && !f.startsWith('/usr/lib/systemd/')) || (!f.startsWith('/usr/') && f !== CRON_FILE),
        ),
      ).toEqual([]);
    });

    it('keeps an edited cron file across upgrades, and ships the cron line and the timer off', () => {
      expect(query('-c').trim().split('\n')).toEqual([CRON_FILE]);
      expect(query('--queryformat', '[%{FILEFLAGS:fflags} %{FILENAMES}\n]')).toMatch(new RegExp(`^cn ${CRON_FILE}$`, 'm'));
      const scripts = query('--scripts');
      expect(scripts).not.toMatch(/systemctl|enable/);
      expect(query('-l')).not.toMatch(/\.wants\//);
    });

    it('gives the plugin mode 0755, root-owned, and every other file 0644', () => {
      const rows = query('--queryformat', '[%{FILEMODES:octal} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]').trim().split('\n');
      const byPath = new Map(rows.map((r) => [r.split(' ')[2]!, r]));
      expect(byPath.get(PLUGIN)).toBe(`100755 root:root ${PLUGIN}`);
      for (const [path, row] of byPath) {
        expect(row, path).toMatch(/^(100644|100755|40755) root:root /);
        if (path !== PLUGIN) expect(row, path).not.toMatch(/^100755/);
      }
    });

    it('marks the documentation and the licenses as such', () => {
      expect(query('-d')).toContain('/usr/share/doc/check-conntrack/README.md');
      expect(query('-L').trim().split('\n').sort()).toEqual([
        '/usr/share/licenses/check-conntrack/LICENSE',
        '/usr/share/licenses/check-conntrack/THIRD-PARTY-LICENSES',
      ]);
    });

    it('requires nodejs >= 18.19 and nothing guessed from the files', () => {
      const requires = query('--requires')
        .trim()
        .split('\n')
        .filter((r) => !r.startsWith('rpmlib('));
      // /bin/sh: for the scriptlets that make and remove the state directory.
      expect([...new Set(requires)].sort()).toEqual(['(nodejs(engine) >= 18.19 if nodejs(engine))', '/bin/sh', 'nodejs >= 18.19']);
      expect(query('--queryformat', '[%{REQUIRENAME} %{REQUIREFLAGS:depflags} %{REQUIREVERSION}\n]')).toContain('nodejs >= 18.19\n');
    });

    it('carries the bundle, with the packaged interpreter on its first line', () => {
      const archive = spawnSync('/usr/bin/rpm2cpio', [rpm], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
      expect(archive.status).toBe(0);
      const files = readCpio(archive.stdout);
      const plugin = files.get(`.${PLUGIN}`);
      expect(plugin).toBeDefined();
      const bundle = readFileSync(BUNDLE, 'utf8');
      expect(plugin!.toString('utf8')).toBe(bundle.replace(/^#!\/usr\/bin\/env node\n/, '#!/usr/bin/node\n'));
      // The examples point at this package's plugin directory.
      expect(files.get('./usr/share/doc/check-conntrack/examples/nrpe/check_conntrack.cfg')!.toString()).toContain(
        `command[check_conntrack]=${PLUGIN} -w 80% -c 90%`,
      );
      expect(files.get(`.${CRON_FILE}`)!.toString()).toContain(` nagios ${PLUGIN} --changes-only `);
      expect(files.get('./usr/lib/systemd/system/check_conntrack.service')!.toString()).toContain(`ExecStart=${PLUGIN} --changes-only`);
      expect(files.get('./usr/share/doc/check-conntrack/examples/systemd/mail.conf')!.toString()).toContain(
        `ExecStart=${PLUGIN} --changes-only --syslog --mail-to root`,
      );
    });

    describeWith('its scriptlets', { root: true, programs: [] }, () => {
      it('make /var/lib/check_conntrack for the monitoring user (0700) and remove it on erase, not on upgrade', () => {
        const dir = '/var/lib/check_conntrack';
        if (existsSync(dir)) throw new Error(`${dir} exists already: this test makes and removes it, so it leaves the host's alone`);
        ensureUser('nagios');
        try {
          must(['/bin/sh', '-c', query('--queryformat', '%{POSTIN}')]);
          const st = statSync(dir);
          expect(st.mode & 0o7777).toBe(0o700);
          expect(st.uid).toBe(uidOf('nagios'));
          must(['/bin/sh', '-c', query('--queryformat', '%{POSTUN}'), 'postun', '1']);
          expect(existsSync(dir), 'an upgrade keeps the state').toBe(true);
          must(['/bin/sh', '-c', query('--queryformat', '%{POSTUN}'), 'postun', '0']);
          expect(existsSync(dir), 'an erase leaves nothing').toBe(false);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    });

    it('has the changelog of packaging/changelog', () => {
      const changelog = query('--changelog');
      expect(changelog).toMatch(new RegExp(`^\\* \\w{3} \\w{3} \\d\\d \\d{4} .+ <.+> - ${VERSION.replace(/[.~-]/g, '.')}-1$`, 'm'));
      expect(changelog).toContain('- First release.');
    });

    it('is the same, byte for byte, when built again', () => {
      const again = tempDir('rpm-again');
      try {
        const second = buildArtifact('rpm', again.path);
        const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
        expect(sha(second)).toBe(sha(rpm));
      } finally {
        again.dispose();
      }
    });

    it.each([
      ['refused beside nodejs 1:16.20.2 (RHEL 9 AppStream: an Epoch, and nodejs(engine))', 1, '16.20.2', true, false],
      ['accepted beside nodejs 1:20.11.1 (Fedora, RHEL module streams)', 1, '20.11.1', true, true],
      ['accepted beside nodejs 18.19.0 without an Epoch', 0, '18.19.0', false, true],
      ['refused beside nodejs 16.20.0 without an Epoch', 0, '16.20.0', false, false],
      ['accepted beside nodejs 2:20.0.0 (NodeSource: no nodejs(engine))', 2, '20.0.0', false, true],
    ])('is %s', (_name, epoch, version, engine, installable) => {
      // A stand-in nodejs package in a throw-away rpm database: does rpm accept
      // check-conntrack beside it?
      const work = tempDir('rpm-nodejs');
      try {
        mkdirSync(join(work.path, 'SPECS'));
        const spec = join(work.path, 'SPECS/nodejs.spec');
        writeFileSync(
          spec,
          [
            'Name: nodejs',
            `Epoch: ${epoch}`,
            `Version: ${version}`,
            'Release: 1',
            'Summary: a stand-in',
            'License: MIT',
            'BuildArch: noarch',
            ...(engine ? [`Provides: nodejs(engine) = ${version}`] : []),
            // The scriptlets need a shell, which bash provides on every real system.
            'Provides: /bin/sh',
            '%description',
            'A stand-in.',
            '%files',
            '',
          ].join('\n'),
        );
        must([RPMBUILD, '-bb', '--quiet', '--define', `_topdir ${work.path}`, spec], { timeoutMs: 60_000 });
        const db = join(work.path, 'db');
        mkdirSync(db);
        const inDb = (...args: string[]) => run([RPM, '--dbpath', db, '--nosignature', ...args], { timeoutMs: 60_000 });
        expect(inDb('--initdb').code).toBe(0);
        expect(inDb('-i', '--justdb', join(work.path, `RPMS/noarch/nodejs-${version}-1.noarch.rpm`)).code).toBe(0);
        const test = inDb('-i', '--test', '--justdb', rpm);
        expect(test.code === 0 && !test.stderr.includes('Failed dependencies'), test.stderr).toBe(installable);
      } finally {
        work.dispose();
      }
    });
  },
);
