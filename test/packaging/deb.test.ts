/**
 * The .deb, built with dpkg-deb, installed on this machine with dpkg -i, run
 * from its installed path as user nagios (the same output and exit code as the
 * bundle run directly), and removed with dpkg -r, after which nothing it
 * installed is left.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asUser,
  BUNDLE,
  buildArtifact,
  describeWith,
  ensureUser,
  fixtureArgs,
  must,
  NODE,
  PACKAGING,
  run,
  sameOnHost,
  stateDirKeeper,
  uidOf,
  tempDir,
  VERSION,
} from './support';

const DPKG = '/usr/bin/dpkg';
const DPKG_DEB = '/usr/bin/dpkg-deb';
const DPKG_QUERY = '/usr/bin/dpkg-query';
const PLUGIN = '/usr/lib/nagios/plugins/check_conntrack';
const DOC = '/usr/share/doc/check-conntrack';
const STATE_DIR = '/var/lib/check_conntrack';
const DEB_VERSION = VERSION.replace(/-/g, '~');
const CRON_FILE = '/etc/cron.d/check_conntrack';
const UNITS = ['/usr/lib/systemd/system/check_conntrack.service', '/usr/lib/systemd/system/check_conntrack.timer'];
const SCHEDULER_FILES = [CRON_FILE, ...UNITS];

function installedStatus(): string {
  const r = run([DPKG_QUERY, '-W', '-f=${db:Status-Abbrev}', 'check-conntrack']);
  return r.code === 0 ? r.stdout.trim() : 'not known to dpkg';
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describeWith('the .deb', { programs: [[DPKG_DEB, 'dpkg']] }, () => {
  const out = tempDir('deb');
  let deb = '';
  const field = (name: string) => must([DPKG_DEB, '-f', deb, name]).stdout.trim();

  beforeAll(() => {
    deb = buildArtifact('deb', out.path);
  });
  afterAll(() => out.dispose());

  it('is named, versioned and described from package.json', () => {
    expect(deb).toBe(join(out.path, `check-conntrack_${DEB_VERSION}_all.deb`));
    expect(field('Package')).toBe('check-conntrack');
    expect(field('Version')).toBe(DEB_VERSION);
    expect(field('Architecture')).toBe('all');
    expect(field('Depends')).toBe('nodejs (>= 18.19)');
    expect(field('Maintainer')).toMatch(/^.+ <[^<>@\s]+@[^<>\s]+>$/);
  });

  it('holds the plugin (0755), the man page, the docs, examples, changelog and copyright, all root-owned', () => {
    const rows = must([DPKG_DEB, '-c', deb]).stdout.trim().split('\n');
    const entries = new Map(rows.map((r) => [r.split(/\s+/).slice(5).join(' ').replace(/^\./, '').replace(/\/$/, ''), r]));
    expect(entries.get(PLUGIN)).toMatch(/^-rwxr-xr-x root\/root /);
    const expected = [
      '/usr/share/man/man8/check_conntrack.8.gz',
      `${DOC}/copyright`,
      `${DOC}/changelog.gz`,
      `${DOC}/README.md.gz`,
      `${DOC}/check_conntrack.schema.json`,
      `${DOC}/examples/icinga2/check_conntrack.conf`,
      `${DOC}/examples/icinga2/services.conf.example`,
      `${DOC}/examples/nagios/commands.cfg`,
      `${DOC}/examples/nrpe/check_conntrack.cfg`,
      `${DOC}/examples/sudoers/check_conntrack`,
      `${DOC}/examples/systemd/mail.conf`,
      ...SCHEDULER_FILES,
    ];
    for (const path of expected) expect(entries.get(path), path).toMatch(/^-rw-r--r-- root\/root /);
    for (const [path, row] of entries) {
      if (path === '') continue;
      expect(row, path).toMatch(/ root\/root /);
      const shared = [
        '/usr',
        '/usr/share',
        '/usr/lib',
        '/usr/lib/nagios',
        '/usr/lib/nagios/plugins',
        '/etc',
        '/etc/cron.d',
        '/usr/lib/systemd',
        '/usr/lib/systemd/system',
      ];
      expect(path === PLUGIN || path.startsWith('/usr/share/') || SCHEDULER_FILES.includes(path) || shared.includes(path), path).toBe(true);
    }
    // The only file under /etc is the cron example, a conffile: an admin who turns it on keeps it across upgrades.
    expect([...entries.keys()].filter((p) => p.startsWith('/etc/'))).toEqual(['/etc/cron.d', CRON_FILE]);
    const conffiles = must(['/bin/sh', '-c', `${DPKG_DEB} --ctrl-tarfile "$1" | tar -xO ./conffiles`, 'sh', deb]).stdout;
    expect(conffiles).toBe(`${CRON_FILE}\n`);
  });

  it('ships the cron line and the timer off: the schedule line is commented out and no unit is enabled', () => {
    const cron = must(['/bin/sh', '-c', `${DPKG_DEB} --fsys-tarfile "$1" | tar -xO .${CRON_FILE}`, 'sh', deb]).stdout;
    expect(cron.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'))).toEqual([]);
    expect(cron).toMatch(/^#\*\/5 \* \* \* \* nagios \/usr\/lib\/nagios\/plugins\/check_conntrack --changes-only /m);
    const rows = must([DPKG_DEB, '-c', deb]).stdout;
    expect(rows).not.toMatch(/\.wants\//);
    // The mail drop-in is an example under /usr/share/doc, in no directory systemd reads.
    expect(rows).not.toMatch(/\.service\.d\//);
    // The one maintainer script makes the state directory; it enables and starts nothing.
    const postinst = must(['/bin/sh', '-c', `${DPKG_DEB} --ctrl-tarfile "$1" | tar -xO ./postinst`, 'sh', deb]).stdout;
    expect(postinst).toContain('/var/lib/check_conntrack');
    expect(postinst).not.toMatch(/systemctl|deb-systemd|invoke-rc\.d|update-rc\.d/);
  });

  it('is the same, byte for byte, when built again', () => {
    const again = tempDir('deb-again');
    try {
      expect(sha256(buildArtifact('deb', again.path))).toBe(sha256(deb));
    } finally {
      again.dispose();
    }
  });

  describeWith(
    'installed with dpkg -i',
    {
      root: true,
      programs: [
        [DPKG, 'dpkg'],
        [DPKG_QUERY, 'dpkg'],
        ['/usr/bin/setpriv', 'util-linux'],
      ],
    },
    () => {
      /** Every path the package installs, and which of them were there before (shared directories). */
      let listed: string[] = [];
      let before = new Set<string>();
      let keeper: { forget(): void } | undefined;

      beforeAll(() => {
        // Only the cron conffile left by an interrupted run (dpkg -r keeps conffiles): ours to purge.
        if (installedStatus().startsWith('rc')) must([DPKG, '-P', 'check-conntrack'], { timeoutMs: 120_000 });
        const status = installedStatus();
        if (status !== 'not known to dpkg' && !status.startsWith('un')) {
          throw new Error(
            `check-conntrack is already installed here (${status}): these tests install and remove it, so they leave it alone`,
          );
        }
        if (existsSync(STATE_DIR))
          throw new Error(`${STATE_DIR} exists already: these tests make and remove it, so they leave the host's alone`);
        ensureUser('nagios');
        keeper = stateDirKeeper('nagios');
        const contents = must([DPKG_DEB, '-c', deb]).stdout.trim().split('\n');
        const paths = contents.map((r) => r.split(/\s+/).slice(5).join(' ').replace(/^\./, '').replace(/\/$/, '')).filter((p) => p !== '');
        before = new Set(paths.filter((p) => existsSync(p)));
        must([DPKG, '-i', deb], { timeoutMs: 120_000 });
        listed = must([DPKG, '-L', 'check-conntrack'])
          .stdout.trim()
          .split('\n')
          .filter((p) => p !== '/.');
      });
      afterAll(() => {
        try {
          if (/^(i|rc)/.test(installedStatus())) run([DPKG, '-P', 'check-conntrack'], { timeoutMs: 120_000 });
        } finally {
          keeper?.forget();
        }
      });

      it('is installed, with its files where dpkg -L says', () => {
        expect(installedStatus()).toBe('ii');
        expect(listed).toContain(PLUGIN);
        for (const path of listed) expect(existsSync(path), path).toBe(true);
        const plugin = statSync(PLUGIN);
        expect(plugin.mode & 0o7777).toBe(0o755);
        expect([plugin.uid, plugin.gid]).toEqual([0, 0]);
        expect(readFileSync(PLUGIN, 'utf8').split('\n')[0]).toBe('#!/usr/bin/node');
      });

      it('installs the changelog, the man page and the copyright', () => {
        expect(gunzipSync(readFileSync(`${DOC}/changelog.gz`)).toString()).toBe(readFileSync(join(PACKAGING, 'changelog'), 'utf8'));
        const page = gunzipSync(readFileSync('/usr/share/man/man8/check_conntrack.8.gz')).toString();
        expect(page).toMatch(new RegExp(`^\\.TH CHECK_CONNTRACK 8 "[^"]+" "check_conntrack ${VERSION.replace(/\./g, '\\.')}"`, 'm'));
        if (existsSync('/usr/bin/man')) {
          expect(must(['/usr/bin/man', '-w', 'check_conntrack']).stdout.trim()).toBe('/usr/share/man/man8/check_conntrack.8.gz');
        }
        const copyright = readFileSync(`${DOC}/copyright`, 'utf8');
        expect(copyright).toMatch(/^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\//);
        expect(copyright).toContain('Permission is hereby granted, free of charge');
        expect(copyright).toContain('Files: node_modules/commander/*');
      });

      it.each([
        ['linux-6.8', 0],
        ['rhel5-2.6.18', 1],
        ['centos6-2.6.32', 2],
        ['garbage', 3],
        ['absent', 0],
      ])('runs from %s as nagios: the same output and exit code as the bundle run directly', (name, code) => {
        const args = [...fixtureArgs(name), '-v'];
        const direct = run(asUser('nagios', [NODE, BUNDLE, ...args]));
        const installed = run(asUser('nagios', [PLUGIN, ...args]));
        expect(direct.code).toBe(code);
        expect(installed.stderr).toBe('');
        expect(installed.stdout).toBe(direct.stdout);
        expect(installed.code).toBe(direct.code);
      });

      it('needs no PATH: the first line names the packaged node', () => {
        const args = fixtureArgs('linux-6.8');
        const r = run(asUser('nagios', ['/usr/bin/env', '-i', PLUGIN, ...args]));
        expect(r.code).toBe(0);
        expect(r.status).toBe(run([NODE, BUNDLE, ...args]).status);
      });

      it('checks this host as nagios with the defaults: the status line and exit code of a direct run', async () => {
        // The first run as nagios records the counters; the pair compared are both later runs.
        run(asUser('nagios', [PLUGIN]));
        const { a: installed, b: direct } = await sameOnHost(
          () => run(asUser('nagios', [PLUGIN, '-w', '80%', '-c', '90%'])),
          () => run(asUser('nagios', [NODE, BUNDLE, '-w', '80%', '-c', '90%'])),
        );
        expect(installed.status).toMatch(/^CONNTRACK (OK|WARNING|CRITICAL|UNKNOWN) - /);
        expect(installed.status).toBe(direct.status);
        expect(installed.code).toBe(direct.code);
      });

      it('makes /var/lib/check_conntrack for nagios (0700), where the plugin run as nagios keeps its state', () => {
        const st = statSync(STATE_DIR);
        expect(st.mode & 0o7777).toBe(0o700);
        expect(st.uid).toBe(uidOf('nagios'));
        run(asUser('nagios', [PLUGIN, '--kernel-log', 'none']));
        expect(readdirSync(STATE_DIR).filter((n) => /^state-\d+\.json$/.test(n))).toHaveLength(1);
      });

      it('installs systemd units that systemd-analyze verify accepts', () => {
        const analyze = '/usr/bin/systemd-analyze';
        if (!existsSync(analyze)) throw new Error(`${analyze} is missing: install the Debian package systemd`);
        const r = run([analyze, 'verify', '--man=no', ...UNITS]);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stderr).toBe('');
      });

      it('prints the package version for --version (exit 3, as the guidelines say)', () => {
        const r = run(asUser('nagios', [PLUGIN, '--version']));
        expect(r.stdout.trim()).toBe(VERSION);
        expect(r.code).toBe(3);
      });

      describe('removed with dpkg -r', () => {
        it('leaves only the cron conffile, and purged nothing of its own behind', () => {
          must([DPKG, '-r', 'check-conntrack'], { timeoutMs: 120_000 });
          expect(installedStatus()).toMatch(/^rc/);
          expect(listed.filter((p) => existsSync(p) && !before.has(p))).toEqual([CRON_FILE]);
          must([DPKG, '-P', 'check-conntrack'], { timeoutMs: 120_000 });
          expect(installedStatus()).not.toMatch(/^(ii|rc|iU|iF)/);
          const left = listed.filter((p) => existsSync(p) && !before.has(p));
          expect(left, 'paths the package created that dpkg -P left').toEqual([]);
          expect(existsSync(PLUGIN)).toBe(false);
          expect(existsSync(DOC)).toBe(false);
          expect(existsSync(STATE_DIR), 'the state directory goes with the package').toBe(false);
          expect(existsSync('/usr/share/man/man8/check_conntrack.8.gz')).toBe(false);
        });
      });
    },
  );
});
