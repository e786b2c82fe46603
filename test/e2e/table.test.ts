import { chmodSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { version as VERSION } from '../../package.json';
import { NODES, runBundle } from '../support/bundle';
import { copyFixture, fixture, rootArgs } from '../support/fixtures';

const COUNT = 'proc/sys/net/netfilter/nf_conntrack_count';
/** The counters of the linux-6.8 tree and of the zeroed 5.15+ stat files, as perfdata. */
const COUNTERS_68 = ' drop=0c early_drop=0c insert_failed=3c invalid=10c search_restart=4c clashres=7c chainlength=0c modules=8';
const COUNTERS_ZERO = ' drop=0c early_drop=0c insert_failed=0c invalid=0c search_restart=0c clashres=0c chainlength=0c';
const MAX = 'proc/sys/net/netfilter/nf_conntrack_max';

describe.each(NODES)('the bundle on $name', ({ path: node }) => {
  beforeAll(() => {
    if (!existsSync(node)) throw new Error(`${node} is missing: run 'npm run setup:node18' (npm test does)`);
  });

  const run = (args: string[]) => {
    const r = runBundle(args, { node });
    // Monitoring cores read stdout only: nothing may go anywhere else.
    expect(r.stderr).toBe('');
    return r;
  };

  describe('each kernel era', () => {
    it.each([
      [
        'linux-6.8',
        0,
        'CONNTRACK OK - 12.3% of table used (32245 of 262144 entries) | entries=32245;209715;235929;0;262144 usage=12.3%;80;90;0;100 drop=0c early_drop=0c insert_failed=3c invalid=10c search_restart=4c clashres=7c chainlength=0c modules=8',
      ],
      [
        'linux-6.18-builtin',
        0,
        'CONNTRACK OK - 0.4% of table used (1200 of 262144 entries) | entries=1200;209715;235929;0;262144 usage=0.4%;80;90;0;100 drop=0c early_drop=0c insert_failed=0c invalid=2c search_restart=0c clashres=0c chainlength=0c',
      ],
      [
        'linux-4.15',
        0,
        'CONNTRACK OK - 57.2% of table used (150000 of 262144 entries) | entries=150000;209715;235929;0;262144 usage=57.2%;80;90;0;100 drop=0c early_drop=0c insert_failed=1c invalid=50c search_restart=20c modules=8',
      ],
      [
        'centos6-2.6.32',
        2,
        'CONNTRACK CRITICAL - 91.5% of table used (60000 of 65536 entries) | entries=60000;52428;58982;0;65536 usage=91.5%;80;90;0;100 drop=0c early_drop=0c insert_failed=0c invalid=8c modules=6',
      ],
      // 58982 is 89.99%: above 80% (52428.8) and not above 90% (58982.4). The percentage shown is rounded down.
      [
        'rhel5-2.6.18',
        1,
        'CONNTRACK WARNING - 89.9% of table used (58982 of 65536 entries) | entries=58982;52428;58982;0;65536 usage=89.9%;80;90;0;100 drop=0c early_drop=0c insert_failed=0c invalid=2c',
      ],
      [
        'unlimited',
        0,
        'CONNTRACK OK - 5000 entries (no table limit: nf_conntrack_max is 0) | entries=5000;;;0 drop=0c early_drop=0c insert_failed=0c invalid=0c search_restart=0c clashres=0c chainlength=0c',
      ],
    ])('%s', (name, code, status) => {
      const r = run(rootArgs(fixture(name).dir));
      expect(r.status).toBe(status);
      expect(r.code).toBe(code);
    });

    it('explains itself at -v on a 4.x kernel', () => {
      const r = run([...rootArgs(fixture('linux-4.15').dir), '-v']);
      expect(r.lines.slice(1)).toEqual([
        'table: 150000 of 262144 entries used (57.2%), 112144 free',
        'warning above 209715 entries (above 80%); critical above 235929 entries (above 90%)',
        'nf_conntrack: loaded as a module (kernel 4.15.0-213-generic)',
        `counters since the namespace was created (${join(fixture('linux-4.15').proc, 'net/stat/nf_conntrack')}, 2 CPU rows): drop 0, early_drop 0, insert_failed 1, invalid 50, search_restart 20`,
        'with --no-state there is no earlier check to compare with: only the kernel log can show new drops',
        'conntrack modules loaded: ipt_MASQUERADE, nf_nat_masquerade_ipv4, iptable_nat, nf_conntrack_ipv4, nf_defrag_ipv4, nf_nat_ipv4, nf_nat, nf_conntrack',
        `rules not read, so whether conntrack is needed is not known: rules are not listed with --proc ${fixture('linux-4.15').proc}: the listings would show this host's rules`,
        'growth: not enough history yet (it needs two checks at least 30s apart)',
        "hash table: 65536 buckets for 262144 entries: max/buckets 4 (this kernel's default is 4); average chain 4.58 now, 8 when full",
        'memory: up to 81 MiB when full (262144 x 320 B + 65536 x 8 B) of 7962 MiB RAM',
        'timeouts: TIME_WAIT 2m, established 5d, UDP 30s, UDP stream 2m',
      ]);
    });

    it('names the files it read at -vv (RHEL 5 names)', () => {
      const f = fixture('rhel5-2.6.18');
      const r = run([...rootArgs(f.dir), '-vv']);
      expect(r.lines).toContain(`read ${join(f.proc, 'sys/net/ipv4/netfilter/ip_conntrack_count')}: 58982`);
      expect(r.lines).toContain(`read ${join(f.proc, 'sys/net/ipv4/netfilter/ip_conntrack_max')}: 65536`);
      expect(r.lines).toContain('ip_conntrack: loaded as a module (kernel 2.6.18-419.el5)');
    });
  });

  describe('at and around each threshold', () => {
    const copy = copyFixture('linux-6.8');
    afterAll(() => copy.dispose());
    const at = (count: number, max: number, extra: string[] = []) => {
      copy.write(COUNT, `${count}\n`);
      copy.write(MAX, `${max}\n`);
      return run([...rootArgs(copy.dir), ...extra]);
    };

    it.each([
      [8, 0, 'CONNTRACK OK - 80.0% of table used (8 of 10 entries) | entries=8;8;9;0;10 usage=80%;80;90;0;100' + COUNTERS_68],
      [9, 1, 'CONNTRACK WARNING - 90.0% of table used (9 of 10 entries) | entries=9;8;9;0;10 usage=90%;80;90;0;100' + COUNTERS_68],
      [10, 2, 'CONNTRACK CRITICAL - 100.0% of table used (10 of 10 entries) | entries=10;8;9;0;10 usage=100%;80;90;0;100' + COUNTERS_68],
    ])('%d of 10', (count, code, status) => {
      const r = at(count, 10);
      expect(r.status).toBe(status);
      expect(r.code).toBe(code);
    });

    it.each([
      [209715, 0],
      [209716, 1],
      [235929, 1],
      [235930, 2],
    ])('%d of 262144', (count, code) => {
      const r = at(count, 262144);
      expect(r.code).toBe(code);
      expect(r.status).toMatch(
        new RegExp(
          `^CONNTRACK (OK|WARNING|CRITICAL) - [0-9.]+% of table used \\(${count} of 262144 entries\\) \\| entries=${count};209715;235929;0;262144 usage=[0-9.]+%;80;90;0;100${COUNTERS_68}$`,
        ),
      );
      expect(r.status.split(' ')[1]).toBe(['OK', 'WARNING', 'CRITICAL'][code]);
    });

    it.each([
      [['-w', '100', '-c', '200'], 100, 0],
      [['-w', '100', '-c', '200'], 101, 1],
      [['-w', '100', '-c', '200'], 200, 1],
      [['-w', '100', '-c', '200'], 201, 2],
      [['-w', '@50:60%', '-c', '95%'], 499, 0],
      [['-w', '@50:60%', '-c', '95%'], 500, 1],
      [['-w', '@50:60%', '-c', '95%'], 600, 1],
      [['-w', '@50:60%', '-c', '95%'], 601, 0],
      [['-w', '~:80%', '-c', '10:'], 9, 2],
      [['-w', '~:80%', '-c', '10:'], 10, 0],
    ])('%j at %d of 1000', (args, count, code) => {
      expect(at(count, 1000, args).code).toBe(code);
    });

    it('echoes entry thresholds as plain numbers and converts them for usage', () => {
      expect(at(150, 1000, ['-w', '100', '-c', '200']).status).toBe(
        'CONNTRACK WARNING - 15.0% of table used (150 of 1000 entries) | entries=150;100;200;0;1000 usage=15%;10;20;0;100' + COUNTERS_68,
      );
    });
  });

  describe('when conntrack is absent, unreadable or broken', () => {
    it('says OK by default when the kernel tracks nothing', () => {
      const r = run(rootArgs(fixture('absent').dir));
      expect(r.stdout).toBe('CONNTRACK OK - connection tracking is not active (nf_conntrack not loaded)\n');
      expect(r.code).toBe(0);
    });

    it.each([
      ['warning', 1],
      ['critical', 2],
      ['unknown', 3],
    ])('--not-loaded %s', (state, code) => {
      const r = run([...rootArgs(fixture('absent').dir), '--not-loaded', state]);
      expect(r.status).toBe(`CONNTRACK ${state.toUpperCase()} - connection tracking is not active (nf_conntrack not loaded)`);
      expect(r.code).toBe(code);
    });

    it('names the file with garbage in it', () => {
      const f = fixture('garbage');
      const r = run(rootArgs(f.dir));
      expect(r.stdout).toBe(
        `CONNTRACK UNKNOWN - unexpected content in ${join(f.proc, 'sys/net/netfilter/nf_conntrack_count')}: '12x4?5' is not a whole number |${COUNTERS_ZERO}\n`,
      );
      expect(r.code).toBe(3);
    });

    it('does not call built-in conntrack absent when /proc is the wrong tree', () => {
      const r = run(['--proc', fixture('absent').proc, '--sys', fixture('linux-6.18-builtin').sys, '--no-state', '--kernel-log', 'none']);
      expect(r.status).toMatch(
        /^CONNTRACK UNKNOWN - nf_conntrack is built into the kernel but .* are missing: is --proc this host's \/proc\?; /,
      );
      expect(r.code).toBe(3);
    });

    it('names the file it may not read', () => {
      const copy = copyFixture('unreadable');
      try {
        const count = join(copy.dir, COUNT);
        chmodSync(count, 0o000);
        // Root reads any file: drop to nobody so the kernel really refuses.
        const asRoot = process.getuid?.() === 0;
        if (asRoot) chmodSync(copy.dir, 0o755);
        const r = runBundle(rootArgs(copy.dir), {
          node,
          prefix: asRoot ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] : [],
        });
        expect(r.stdout).toBe(
          `CONNTRACK UNKNOWN - cannot read ${count}: permission denied (it is normally world-readable; check the mount options of /proc and any security module profile) |${COUNTERS_ZERO}\n`,
        );
        expect(r.code).toBe(3);
      } finally {
        copy.dispose();
      }
    });

    it('does not hang on a FIFO where a sysctl should be', () => {
      const copy = copyFixture('linux-6.8');
      try {
        const count = join(copy.dir, COUNT);
        spawnSync('/bin/rm', ['-f', count]);
        const made = spawnSync('/usr/bin/mkfifo', [count]);
        expect(made.status).toBe(0);
        const started = Date.now();
        const r = run([...rootArgs(copy.dir), '-t', '5']);
        expect(r.stdout).toBe(`CONNTRACK UNKNOWN - unexpected content in ${count}: it is empty |${COUNTERS_68}\n`);
        expect(r.code).toBe(3);
        expect(Date.now() - started).toBeLessThan(4_000);
      } finally {
        copy.dispose();
      }
    });
  });

  describe('standard options', () => {
    it('prints help on stdout and exits UNKNOWN', () => {
      const r = run(['--help']);
      expect(r.status).toBe('Usage: check_conntrack [options]');
      expect(r.stdout).toContain('-w, --warning <range>');
      expect(r.stdout).toContain('Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN');
      expect(r.code).toBe(3);
      expect(run(['-h']).stdout).toBe(r.stdout);
    });

    it('prints the version and exits UNKNOWN', () => {
      const r = run(['--version']);
      expect(r.stdout).toBe(`${VERSION}\n`);
      expect(r.code).toBe(3);
    });

    it.each([
      [['--frobnicate'], "CONNTRACK UNKNOWN - unknown option '--frobnicate'"],
      [
        ['-w', '2:1'],
        "CONNTRACK UNKNOWN - option '-w, --warning <range>' argument '2:1' is invalid. invalid range '2:1': start is greater than end",
      ],
      [
        ['-c', '90%%'],
        "CONNTRACK UNKNOWN - option '-c, --critical <range>' argument '90%%' is invalid. invalid range '90%%': '90%%' is not a number",
      ],
      [
        ['-t', '-1'],
        "CONNTRACK UNKNOWN - option '-t, --timeout <seconds>' argument '-1' is invalid. '-1' is not a number of seconds between 0 and 3600",
      ],
      [['positional'], 'CONNTRACK UNKNOWN - too many arguments. Expected 0 arguments but got 1.'],
    ])('refuses %j with usage and UNKNOWN', (args, status) => {
      const r = run(args);
      expect(r.lines).toEqual([
        status,
        expect.stringMatching(/^Usage: check_conntrack /),
        "Try 'check_conntrack --help' for more information.",
      ]);
      expect(r.code).toBe(3);
    });
  });
});
