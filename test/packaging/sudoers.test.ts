/**
 * packaging/sudoers/check_conntrack: exactly the commands --sudo runs
 * (SUDO_COMMANDS), with exactly their arguments, for nagios and icinga; valid
 * under visudo; and, installed for real, enough for a run as nagios with
 * --sudo to read the rules and the kernel log, and no more than that.
 */
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEARCH_DIRS, SUDO_COMMANDS } from '../../src/probes/commands';
import { asUser, BUNDLE, describeWith, ensureUser, must, NODE, PACKAGING, run } from './support';

const FILE = join(PACKAGING, 'sudoers/check_conntrack');
const VISUDO = '/usr/sbin/visudo';
const SUDO = '/usr/bin/sudo';

/** Where Debian and RHEL (merged /usr) keep each program --sudo may run. */
const DEBIAN_PATHS: Record<string, string> = { dmesg: '/usr/bin/dmesg' };
const pathOf = (program: string) => DEBIAN_PATHS[program] ?? `/usr/sbin/${program}`;

/** The file as sudoers reads it: comments gone, continued lines joined. */
function logicalLines(): string[] {
  return readFileSync(FILE, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l !== '');
}

/** `/usr/sbin/nft list ruleset` as the sudoers line names it: `""` for "no arguments". */
function sudoersCommand(spec: { program: string; args: readonly string[] }): string {
  return [pathOf(spec.program), ...(spec.args.length ? spec.args : ['""'])].join(' ');
}

describe('the sudoers file', () => {
  const lines = logicalLines();

  it('grants exactly SUDO_COMMANDS, each with exactly its arguments', () => {
    const alias = lines.find((l) => l.startsWith('Cmnd_Alias'));
    expect(alias).toBeDefined();
    const granted = alias!
      .replace(/^Cmnd_Alias\s+CHECK_CONNTRACK_CMDS\s*=\s*/, '')
      .split(',')
      .map((c) => c.trim().replace(/\s+/g, ' '));
    expect(granted.sort()).toEqual(SUDO_COMMANDS.map(sudoersCommand).sort());
  });

  it('has one rule: those commands, as root, without a password, for nagios and icinga', () => {
    expect(lines.filter((l) => l.startsWith('User_Alias'))).toEqual(['User_Alias  CHECK_CONNTRACK_USERS = nagios, icinga']);
    const rules = lines.filter((l) => !/^(User_Alias|Cmnd_Alias)\s/.test(l));
    expect(rules).toEqual(['CHECK_CONNTRACK_USERS ALL = (root) NOPASSWD: CHECK_CONNTRACK_CMDS']);
  });

  it('names each program where the plugin finds it on this machine', () => {
    // The plugin runs the first of SEARCH_DIRS/program that exists; sudo
    // matches that path (or the same file under the same name).
    for (const spec of SUDO_COMMANDS) {
      const found = SEARCH_DIRS.map((d) => `${d}/${spec.program}`).find((p) => existsSync(p));
      if (!found) continue;
      const expected = pathOf(spec.program);
      expect(
        found === expected || (existsSync(expected) && realpathSync(found) === realpathSync(expected)),
        `${found} against ${expected}`,
      ).toBe(true);
    }
  });
});

describeWith('visudo', { programs: [[VISUDO, 'sudo']] }, () => {
  it('accepts the file (visudo -c -f)', () => {
    const r = run([VISUDO, '-c', '-f', FILE]);
    expect(r.stdout + r.stderr).toContain('parsed OK');
    expect(r.code).toBe(0);
  });

  it('accepts it in strict mode too (no unused or undefined aliases)', () => {
    const r = run([VISUDO, '-c', '-s', '-f', FILE]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});

describeWith(
  'the sudoers file installed, for user nagios',
  {
    root: true,
    programs: [
      [VISUDO, 'sudo'],
      [SUDO, 'sudo'],
    ],
  },
  () => {
    // A name without '.' or '~', which sudo would skip in /etc/sudoers.d.
    const installed = `/etc/sudoers.d/zz_check_conntrack_test_${process.pid}`;
    const nagios = (argv: readonly string[]) => run(asUser('nagios', argv), { timeoutMs: 30_000 });
    const allowed = (command: readonly string[]) => nagios([SUDO, '-n', '-l', ...command]).code === 0;

    beforeAll(() => {
      // Files of runs that were killed before their afterAll.
      for (const name of readdirSync('/etc/sudoers.d')) {
        const pid = /^zz_check_conntrack_test_(\d+)$/.exec(name)?.[1];
        if (pid && !existsSync(`/proc/${pid}`)) rmSync(join('/etc/sudoers.d', name), { force: true });
      }
      ensureUser('nagios');
      copyFileSync(FILE, installed);
      chmodSync(installed, 0o440);
      must([VISUDO, '-c']);
    });
    afterAll(() => rmSync(installed, { force: true }));

    it('lets nagios run each command --sudo runs', () => {
      for (const spec of SUDO_COMMANDS) {
        expect(allowed([pathOf(spec.program), ...spec.args]), sudoersCommand(spec)).toBe(true);
      }
    });

    it.each([
      [['/usr/sbin/iptables-nft-save', '-t', 'nat']],
      [['/usr/sbin/iptables-legacy-save', '-c']],
      [['/usr/sbin/ip6tables-nft-save', '-M', '/tmp/x']],
      [['/usr/sbin/iptables-save', '-f', '/etc/shadow']],
      [['/usr/bin/dmesg']],
      [['/usr/bin/dmesg', '-c']],
      [['/usr/bin/dmesg', '-r', '-c']],
      [['/usr/bin/dmesg', '-C']],
      [['/usr/sbin/conntrack', '-F']],
      [['/usr/sbin/conntrack', '-D']],
      [['/usr/sbin/conntrack', '-L', '-o', 'extended']],
      [['/usr/sbin/conntrack', '-S', '-L']],
      [['/usr/sbin/nft', 'flush', 'ruleset']],
      [['/usr/sbin/nft', '-j', 'list', 'ruleset', '-f', '/tmp/x']],
      [['/usr/sbin/nft', '-j', 'list', 'ruleset']],
      [['/usr/sbin/nft', 'list', 'ruleset', 'ip']],
      [['/usr/sbin/nft', 'list', 'table', 'ip', 'nat']],
      [['/usr/sbin/nft', 'list', 'tables']],
      [['/usr/sbin/iptables-nft']],
      [['/usr/sbin/xtables-nft-multi', 'iptables-save']],
      [['/bin/sh', '-c', 'id']],
    ])('refuses %j', (command) => {
      expect(allowed(command)).toBe(false);
    });

    it('runs iptables-nft-save with no arguments, and refuses it with -t nat', () => {
      const plain = nagios([SUDO, '-n', '--', '/usr/sbin/iptables-nft-save']);
      expect(plain.code, plain.stderr).toBe(0);
      const nat = nagios([SUDO, '-n', '--', '/usr/sbin/iptables-nft-save', '-t', 'nat']);
      expect(nat.code).toBe(1);
      expect(nat.stderr).toMatch(/password is required|not allowed/);
    });

    it('lets a run as nagios with --sudo read the rules and the kernel log', () => {
      const args = [NODE, BUNDLE, '--no-state', '-v'];
      const without = nagios(args);
      expect(without.stdout).toContain('rules not read');
      expect(without.stdout).not.toContain('sudo -n');

      const r = nagios([...args, '--sudo']);
      expect(r.stderr).toBe('');
      expect([0, 1, 2]).toContain(r.code);
      expect(r.stdout).not.toContain('rules not read');
      // The rules came through sudo, every listing succeeded (else no conntrack_rules perfdata).
      expect(r.stdout).toMatch(/conntrack \[sudo -n \/usr\/sbin\/[^\]]+\]/);
      expect(r.status).toMatch(/ conntrack_rules=\d+/);
      if (readFileSync('/proc/sys/kernel/dmesg_restrict', 'utf8').trim() === '1') {
        expect(r.stdout).toContain('kernel log (sudo -n /usr/bin/dmesg -r):');
      }
      expect(r.stdout).not.toContain('kernel log not readable');
    });
  },
);
