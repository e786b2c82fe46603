/**
 * Audit: the only programs check_conntrack may ever start, with their exact
 * argument vectors, and proof that every child process goes through the one
 * module that enforces the catalogue.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ALLOWED,
  CONNTRACK_LIST,
  CONNTRACK_STATS,
  DMESG,
  isAllowed,
  journalKernel,
  netnsStat,
  NFT_RULESET,
  NFT_TABLES,
  nftListTable,
  RULE_LISTINGS,
  RULE_LISTINGS_PLAIN,
  SEARCH_DIRS,
  sendmailTo,
  SUDO_COMMANDS,
  syslogMessage,
  type CommandSpec,
} from '../../src/probes/commands';
import { findProgram, runCommand } from '../../src/probes/run-command';

const REPO = resolve(__dirname, '../..');
const SRC = join(REPO, 'src');
const JOURNAL_BASE = ['-k', '-b', '-q', '--no-pager', '-o', 'short-unix', '--since'];

const spec = (program: string, ...args: string[]): CommandSpec => ({ program, args });

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : [path];
  });
}

describe('the catalogue', () => {
  it('is exactly: dmesg -r, conntrack -S, one journalctl form, the argument-less -save listings, nft list tables / ruleset / table F N, and cat of the stat file in a named namespace', () => {
    expect(DMESG).toStrictEqual({ program: 'dmesg', args: ['-r'] });
    expect(CONNTRACK_STATS).toStrictEqual({ program: 'conntrack', args: ['-S'] });
    expect(CONNTRACK_LIST).toStrictEqual({ program: 'conntrack', args: ['-L'] });
    expect(journalKernel(1_736_942_400)).toStrictEqual({ program: 'journalctl', args: [...JOURNAL_BASE, '@1736942400'] });
    expect(RULE_LISTINGS).toStrictEqual([
      spec('iptables-legacy-save'),
      spec('iptables-nft-save'),
      spec('ip6tables-legacy-save'),
      spec('ip6tables-nft-save'),
    ]);
    expect(RULE_LISTINGS_PLAIN).toStrictEqual([spec('iptables-save'), spec('ip6tables-save')]);
    expect(NFT_TABLES).toStrictEqual(spec('nft', 'list', 'tables'));
    expect(NFT_RULESET).toStrictEqual(spec('nft', 'list', 'ruleset'));
    expect(nftListTable('inet', 'firewalld')).toStrictEqual(spec('nft', 'list', 'table', 'inet', 'firewalld'));
    expect(netnsStat('web', '/usr/bin/cat')).toStrictEqual(
      spec('ip', 'netns', 'exec', 'web', '/usr/bin/cat', '/proc/net/stat/nf_conntrack'),
    );
    expect(ALLOWED.map((a) => a.program)).toEqual([
      'dmesg',
      'conntrack',
      'journalctl',
      'iptables-legacy-save',
      'iptables-nft-save',
      'ip6tables-legacy-save',
      'ip6tables-nft-save',
      'iptables-save',
      'ip6tables-save',
      'nft',
      'logger',
      'sendmail',
      'ip',
    ]);
    expect(sendmailTo('root')).toStrictEqual(spec('sendmail', '-oi', '--', 'root'));
    expect(syslogMessage('daemon.crit', 'CONNTRACK CRITICAL - full')).toStrictEqual(
      spec('logger', '--socket-errors=on', '-t', 'check_conntrack', '-p', 'daemon.crit', '--', 'CONNTRACK CRITICAL - full'),
    );
    expect(syslogMessage('daemon.info', 'x'.repeat(5000)).args.at(-1)).toHaveLength(1024);
  });

  it('journalctl gets whole seconds, rounded down', () => {
    expect(journalKernel(1_736_942_400.999).args.at(-1)).toBe('@1736942400');
    expect(journalKernel(0).args.at(-1)).toBe('@0');
  });

  it('only the fixed-argument commands may run through sudo', () => {
    expect(SUDO_COMMANDS).toStrictEqual([DMESG, CONNTRACK_STATS, CONNTRACK_LIST, ...RULE_LISTINGS, ...RULE_LISTINGS_PLAIN, NFT_RULESET]);
    expect(SUDO_COMMANDS[0]).toBe(DMESG);
    expect(SUDO_COMMANDS[1]).toBe(CONNTRACK_STATS);
    expect(SUDO_COMMANDS.at(-1)).toBe(NFT_RULESET);
  });

  it('programs are looked up in fixed absolute directories only', () => {
    expect([...SEARCH_DIRS]).toEqual(['/usr/sbin', '/usr/bin', '/sbin', '/bin']);
  });

  it.each([
    ['dmesg -r', DMESG],
    ['conntrack -S', CONNTRACK_STATS],
    ['journalctl now', journalKernel(Date.now() / 1000)],
    ['journalctl at 0', journalKernel(0)],
    ['journalctl copy', spec('journalctl', ...JOURNAL_BASE, '@1736942400')],
    ['dmesg copy', spec('dmesg', '-r')],
    ['conntrack copy', spec('conntrack', '-S')],
    ['conntrack -L', spec('conntrack', '-L')],
    ['iptables-legacy-save', spec('iptables-legacy-save')],
    ['iptables-nft-save', spec('iptables-nft-save')],
    ['ip6tables-legacy-save', spec('ip6tables-legacy-save')],
    ['ip6tables-nft-save', spec('ip6tables-nft-save')],
    ['iptables-save', spec('iptables-save')],
    ['ip6tables-save', spec('ip6tables-save')],
    ['nft list tables', spec('nft', 'list', 'tables')],
    ['nft list ruleset', spec('nft', 'list', 'ruleset')],
    ['nft list table ip kube-proxy', nftListTable('ip', 'kube-proxy')],
    ['nft list table inet firewalld', spec('nft', 'list', 'table', 'inet', 'firewalld')],
    ['ip netns exec web cat', netnsStat('web', '/usr/bin/cat')],
    ['ip netns exec with /bin/cat', netnsStat('cni-1f2e3d4c-5b6a', '/bin/cat')],
    ['logger, each severity', syslogMessage('daemon.warning', '-p kern.emerg')],
    ['logger, err', syslogMessage('daemon.err', 'CONNTRACK UNKNOWN - x')],
    ['sendmail to root', sendmailTo('root')],
    ['sendmail to an address', sendmailTo('ops+conntrack@mail.example.com')],
  ])('accepts %s', (_name, s) => {
    expect(isAllowed(s)).toBe(true);
  });

  it.each([
    // looks a table up by name: loads nat modules on old kernels
    ['iptables -L', spec('iptables', '-L')],
    ['iptables -t nat -L', spec('iptables', '-t', 'nat', '-L')],
    ['iptables -t nat -L -n', spec('iptables', '-t', 'nat', '-L', '-n')],
    ['ip6tables -t nat -L', spec('ip6tables', '-t', 'nat', '-L')],
    ['iptables-legacy -t nat -L', spec('iptables-legacy', '-t', 'nat', '-L')],
    ['iptables-save -t nat', spec('iptables-save', '-t', 'nat')],
    ['iptables-legacy-save -t nat', spec('iptables-legacy-save', '-t', 'nat')],
    ['iptables-nft-save --table=nat', spec('iptables-nft-save', '--table=nat')],
    ['ip6tables-save -t nat', spec('ip6tables-save', '-t', 'nat')],
    ['iptables-restore', spec('iptables-restore')],
    // JSON costs nft several times the text
    ['nft -j list ruleset', spec('nft', '-j', 'list', 'ruleset')],
    ['nft -j list table ip nat', spec('nft', '-j', 'list', 'table', 'ip', 'nat')],
    // nft joins its arguments and parses them: a name must be one plain word
    ['nft list table ip "x; flush ruleset"', spec('nft', 'list', 'table', 'ip', 'x; flush ruleset')],
    ['nft list table ip x y', spec('nft', 'list', 'table', 'ip', 'x y')],
    ['nft list table ip {x}', spec('nft', 'list', 'table', 'ip', '{x}')],
    ['nft list table foo x', spec('nft', 'list', 'table', 'foo', 'x')],
    ['nft list table ip', spec('nft', 'list', 'table', 'ip')],
    ['nft list table ip x extra', spec('nft', 'list', 'table', 'ip', 'x', 'extra')],
    ['nft flush ruleset', spec('nft', 'flush', 'ruleset')],
    ['nft -j list ruleset extra', spec('nft', '-j', 'list', 'ruleset', 'ip')],
    // ip: only cat of the stat file, in a namespace named safely
    ['ip netns add', spec('ip', 'netns', 'add', 'x')],
    ['ip netns exec x sh', spec('ip', 'netns', 'exec', 'x', '/bin/sh')],
    ['ip netns exec x cat /etc/shadow', spec('ip', 'netns', 'exec', 'x', '/usr/bin/cat', '/etc/shadow')],
    ['ip netns exec ../x cat', spec('ip', 'netns', 'exec', '../x', '/usr/bin/cat', '/proc/net/stat/nf_conntrack')],
    ['ip netns exec -x cat', spec('ip', 'netns', 'exec', '-x', '/usr/bin/cat', '/proc/net/stat/nf_conntrack')],
    ['ip netns exec x cat (bare name)', spec('ip', 'netns', 'exec', 'x', 'cat', '/proc/net/stat/nf_conntrack')],
    ['ip netns exec x cat two files', spec('ip', 'netns', 'exec', 'x', '/usr/bin/cat', '/proc/net/stat/nf_conntrack', '/etc/passwd')],
    ['ip link', spec('ip', 'link')],
    // logger: daemon facility, our tag, one message after --, and errors reported
    ['logger to kern', spec('logger', '--socket-errors=on', '-t', 'check_conntrack', '-p', 'kern.emerg', '--', 'x')],
    ['logger, another tag', spec('logger', '--socket-errors=on', '-t', 'sshd', '-p', 'daemon.info', '--', 'x')],
    [
      'logger to a file of messages',
      spec('logger', '--socket-errors=on', '-t', 'check_conntrack', '-p', 'daemon.info', '-f', '/etc/shadow'),
    ],
    ['logger to a remote server', spec('logger', '-n', '192.0.2.1', '-t', 'check_conntrack', '-p', 'daemon.info', '--', 'x')],
    ['logger, two messages', spec('logger', '--socket-errors=on', '-t', 'check_conntrack', '-p', 'daemon.info', '--', 'x', 'y')],
    [
      'logger, an over-long message',
      spec('logger', '--socket-errors=on', '-t', 'check_conntrack', '-p', 'daemon.info', '--', 'x'.repeat(1025)),
    ],
    // sendmail: one plain recipient after --, the message on stdin, nothing the MTA reads as an option or a pipe
    ['sendmail -t (recipients from the message)', spec('sendmail', '-t', '-oi')],
    ['sendmail without --', spec('sendmail', '-oi', 'root')],
    ['sendmail, an option as the recipient', spec('sendmail', '-oi', '--', '-bd')],
    ['sendmail to a pipe', spec('sendmail', '-oi', '--', '|/bin/sh')],
    ['sendmail to a file', spec('sendmail', '-oi', '--', '/etc/passwd')],
    ['sendmail to two', spec('sendmail', '-oi', '--', 'root', 'ops')],
    ['sendmail to a list', spec('sendmail', '-oi', '--', 'root,ops')],
    ['sendmail, a queue run', spec('sendmail', '-q')],
    ['modprobe nf_conntrack', spec('modprobe', 'nf_conntrack')],
    ['sysctl -w', spec('sysctl', '-w', 'net.netfilter.nf_conntrack_max=10')],
    // dmesg: anything but -r, above all what clears or changes the buffer
    ['dmesg', spec('dmesg')],
    ['dmesg -c', spec('dmesg', '-c')],
    ['dmesg -C', spec('dmesg', '-C')],
    ['dmesg --clear', spec('dmesg', '--clear')],
    ['dmesg --read-clear', spec('dmesg', '--read-clear')],
    ['dmesg -r -c', spec('dmesg', '-r', '-c')],
    ['dmesg -c -r', spec('dmesg', '-c', '-r')],
    ['dmesg -rc', spec('dmesg', '-rc')],
    ['dmesg -r -r', spec('dmesg', '-r', '-r')],
    ['dmesg -n 1', spec('dmesg', '-n', '1')],
    ['dmesg -D', spec('dmesg', '-D')],
    ['dmesg -r --follow', spec('dmesg', '-r', '--follow')],
    ['dmesg -w', spec('dmesg', '-w')],
    ['dmesg -r ""', spec('dmesg', '-r', '')],
    ['dmesg "-r "', spec('dmesg', '-r ')],
    // conntrack: anything but -S, above all flush and delete
    ['conntrack', spec('conntrack')],
    ['conntrack -F', spec('conntrack', '-F')],
    ['conntrack -F expect', spec('conntrack', '-F', 'expect')],
    ['conntrack -D', spec('conntrack', '-D')],
    ['conntrack -D -p tcp', spec('conntrack', '-D', '-p', 'tcp')],
    ['conntrack -S -F', spec('conntrack', '-S', '-F')],
    ['conntrack -F -S', spec('conntrack', '-F', '-S')],
    ['conntrack -L -o extended', spec('conntrack', '-L', '-o', 'extended')],
    ['conntrack -L -F', spec('conntrack', '-L', '-F')],
    ['conntrack -E', spec('conntrack', '-E')],
    ['conntrack -U', spec('conntrack', '-U', '--mark', '1')],
    ['conntrack -C', spec('conntrack', '-C')],
    // journalctl: only the one form
    ['journalctl', spec('journalctl')],
    ['journalctl -k', spec('journalctl', '-k')],
    ['journalctl --rotate', spec('journalctl', '--rotate')],
    ['journalctl --vacuum-time', spec('journalctl', '--vacuum-time=1s')],
    ['journalctl --flush', spec('journalctl', '--flush')],
    ['journalctl -f', spec('journalctl', ...JOURNAL_BASE, '@1', '-f')],
    ['journalctl extra arg before', spec('journalctl', '-f', ...JOURNAL_BASE, '@1')],
    ['journalctl without --since value', spec('journalctl', ...JOURNAL_BASE)],
    ['journalctl without --since', spec('journalctl', '-k', '-b', '-q', '--no-pager', '-o', 'short-unix', '@1')],
    ['journalctl --since yesterday', spec('journalctl', ...JOURNAL_BASE, 'yesterday')],
    ['journalctl --since @', spec('journalctl', ...JOURNAL_BASE, '@')],
    ['journalctl --since @-1', spec('journalctl', ...JOURNAL_BASE, '@-1')],
    ['journalctl --since @1.5', spec('journalctl', ...JOURNAL_BASE, '@1.5')],
    ['journalctl --since @1e9', spec('journalctl', ...JOURNAL_BASE, '@1e9')],
    ['journalctl --since "@1 "', spec('journalctl', ...JOURNAL_BASE, '@1 ')],
    ['journalctl --since "@1\\n"', spec('journalctl', ...JOURNAL_BASE, '@1\n')],
    ['journalctl --since 1', spec('journalctl', ...JOURNAL_BASE, '1')],
    ['journalctl -o json', spec('journalctl', '-k', '-b', '-q', '--no-pager', '-o', 'json', '--since', '@1')],
    ['journalctl without -k', spec('journalctl', '-b', '-q', '--no-pager', '-o', 'short-unix', '--since', '@1', '@1')],
    ['journalctl reordered', spec('journalctl', '-b', '-k', '-q', '--no-pager', '-o', 'short-unix', '--since', '@1')],
    ['journalctl with @NaN', journalKernel(NaN)],
    ['journalctl with a negative time', journalKernel(-5)],
    // right arguments, wrong program spelling
    ['/usr/bin/dmesg -r', spec('/usr/bin/dmesg', '-r')],
    ['DMESG -r', spec('DMESG', '-r')],
    ['"dmesg " -r', spec('dmesg ', '-r')],
    ['conntrack -r', spec('conntrack', '-r')],
    ['dmesg -S', spec('dmesg', '-S')],
    ['sudo -n dmesg -r', spec('sudo', '-n', 'dmesg', '-r')],
    ['sh -c "dmesg -r"', spec('sh', '-c', 'dmesg -r')],
    ['env dmesg -r', spec('env', 'dmesg', '-r')],
  ])('refuses %s', (_name, s) => {
    expect(isAllowed(s)).toBe(false);
  });
});

describe('runCommand enforces the catalogue before running anything', () => {
  const options = () => ({ signal: new AbortController().signal, deadlineMs: Date.now() + 1000 });

  it.each([
    [spec('iptables', '-t', 'nat', '-L'), 'refusing to run iptables -t nat -L: not in the command catalogue'],
    [spec('dmesg', '-c'), 'refusing to run dmesg -c: not in the command catalogue'],
    [spec('conntrack', '-F'), 'refusing to run conntrack -F: not in the command catalogue'],
    [spec('conntrack', '-D'), 'refusing to run conntrack -D: not in the command catalogue'],
    [spec('journalctl', '--rotate'), 'refusing to run journalctl --rotate: not in the command catalogue'],
  ])('refuses %j', async (s, message) => {
    await expect(runCommand(s, options())).rejects.toThrow(message);
    await expect(runCommand(s, { ...options(), sudo: true })).rejects.toThrow(message);
  });

  it('does not start a catalogued program once the deadline has passed, and says it was not started (not that it hung)', async () => {
    const journal = journalKernel(1);
    const outcome = await runCommand(journal, { signal: new AbortController().signal, deadlineMs: Date.now() - 1 });
    if (await findProgram('journalctl'))
      expect(outcome).toMatchObject({ status: 'timed-out', reason: 'not started: the check had run out of time (raise -t/--timeout)' });
    else expect(outcome.status).toBe('not-installed');
  });

  it('refuses sudo for a catalogued command that is not a sudo command', async () => {
    const journal = journalKernel(1);
    const path = await findProgram('journalctl');
    if (path) {
      await expect(runCommand(journal, { ...options(), sudo: true })).rejects.toThrow(
        `${path} ${journal.args.join(' ')} is not a command --sudo may run`,
      );
    } else {
      expect((await runCommand(journal, { ...options(), sudo: true })).status).toBe('not-installed');
    }
  });

  it('refuses sudo for an equal copy of a sudo command (the catalogue object itself is required)', async () => {
    const path = await findProgram('dmesg');
    if (path)
      await expect(runCommand(spec('dmesg', '-r'), { ...options(), sudo: true })).rejects.toThrow(
        `${path} -r is not a command --sudo may run`,
      );
    else expect((await runCommand(spec('dmesg', '-r'), { ...options(), sudo: true })).status).toBe('not-installed');
  });

  it('finds programs only by absolute path in the fixed directories', async () => {
    const path = await findProgram('dmesg');
    if (path !== undefined) expect(SEARCH_DIRS.some((d) => path === `${d}/dmesg`)).toBe(true);
    expect(await findProgram('check-conntrack-no-such-program')).toBeUndefined();
  });
});

describe('source scan: every child process goes through run-command.ts', () => {
  const files = sourceFiles(SRC);
  const CHILD = /(?:from\s*|import\s*\(\s*|require\s*\(\s*)['"](?:node:)?child_process['"]/;
  const EXECA = /(?:from\s*|import\s*\(\s*|require\s*\(\s*)['"]execa(?:\/[^'"]*)?['"]/;
  const ANY_MENTION = /['"](?:node:)?child_process['"]|['"]execa(?:\/[^'"]*)?['"]/;

  it('reads the whole source tree', () => {
    expect(files.length).toBeGreaterThan(20);
    expect(files.map((f) => relative(REPO, f))).toContain('src/probes/run-command.ts');
    expect(files.map((f) => relative(REPO, f))).toContain('src/main.ts');
  });

  it("no file but src/probes/run-command.ts imports 'execa' or 'node:child_process'", () => {
    const offenders = files.filter((f) => ANY_MENTION.test(readFileSync(f, 'utf8'))).map((f) => relative(REPO, f));
    expect(offenders).toEqual(['src/probes/run-command.ts']);
  });

  it('run-command.ts itself loads execa, only when a program runs (the scan can see an import)', () => {
    const text = readFileSync(join(SRC, 'probes/run-command.ts'), 'utf8');
    expect(EXECA.test(text)).toBe(true);
    expect(text).toMatch(/await import\('execa'\)/);
    // A value import at the top would evaluate it on every run, most of which start nothing.
    expect(text).not.toMatch(/^import (?!type )[^;]*['"]execa['"]/m);
  });

  it('nothing uses node:child_process directly: every program starts through execa', () => {
    expect(files.filter((f) => CHILD.test(readFileSync(f, 'utf8'))).map((f) => relative(REPO, f))).toEqual([]);
  });

  it('the patterns catch every import form', () => {
    for (const line of [
      "import { execa } from 'execa';",
      'const { execa } = await import("execa");',
      "const cp = require('node:child_process');",
      "import { spawn } from 'child_process';",
      "import { execaNode } from 'execa/foo';",
      "const m = await import ( 'node:child_process' );",
    ]) {
      expect(ANY_MENTION.test(line), line).toBe(true);
    }
  });

  it('every runCommand call passes a catalogue entry', () => {
    const calls: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/\b(?:runCommand|streamCommand)\(\s*([^,)]+)/g)) {
        if (/^spec\s*:/.test(m[1]!)) continue; // the definition
        calls.push(`${relative(REPO, f)}: ${m[1]!.trim()}`);
      }
    }
    expect(calls.length).toBeGreaterThan(0);
    // rules.ts passes `spec` from its list of catalogue listings.
    for (const c of calls)
      expect(c).toMatch(
        /: (?:DMESG|CONNTRACK_STATS|CONNTRACK_LIST|NFT_TABLES|journalKernel\(.*|netnsStat\(.*|syslogMessage\(.*|sendmailTo\(.*|spec)$/,
      );
  });

  it('no file spawns processes some other way (process.binding, worker threads, shells)', () => {
    const other = /process\.binding\(|(?:from\s*|import\s*\(\s*|require\s*\(\s*)['"](?:node:)?(?:worker_threads|cluster)['"]|shell:\s*true/;
    expect(files.filter((f) => other.test(readFileSync(f, 'utf8'))).map((f) => relative(REPO, f))).toEqual([]);
  });
});
