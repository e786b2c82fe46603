/** Output and options: what the bundle prints, on the fixture trees. */
import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, describeRun, runBundle } from '../support/bundle';
import { copyFixture, fixture, rootArgs } from '../support/fixtures';

/** A table of `n` established TCP entries, each to its own address and port. */
function manyEntries(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const p = 1024 + i;
    lines.push(
      `ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.0.1 dst=${a} sport=40000 dport=${p} src=${a} dst=192.168.0.1 sport=${p} dport=40000 [ASSURED] mark=0 zone=0 use=2`,
    );
  }
  return `${lines.join('\n')}\n`;
}

describe('a host with 3000 entries to 3000 destinations (--breakdown --top 1000)', () => {
  let tree: ReturnType<typeof copyFixture>;
  beforeAll(() => {
    tree = copyFixture('linux-6.18-builtin');
    tree.write('proc/net/nf_conntrack', manyEntries(3000));
    tree.write('proc/sys/net/netfilter/nf_conntrack_count', '3000\n');
  });
  afterAll(() => tree.dispose());
  const args = (...more: string[]) => [...rootArgs(tree.dir), '--breakdown', '--top', '1000', ...more];

  it('-v shortens the huge lines and keeps every line after them', () => {
    const r = runBundle(args('-v'));
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).not.toContain('output cut');
    // The two top-1000 lists, ports and destinations.
    expect(r.lines.filter((l) => / \.\.\. \(line shortened: \d+ bytes\)$/.test(l))).toHaveLength(2);
    // The sizing lines come after the breakdown's: still there.
    expect(r.lines.some((l) => l.startsWith('hash table: '))).toBe(true);
    expect(r.lines.at(-1)).toMatch(/^memory: up to /);
  });

  it('JSON to a pipe whose reader never reads: the run still ends, within -t', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-pipe-'));
    const fifo = join(dir, 'out');
    expect(spawnSync('/usr/bin/mkfifo', [fifo]).status).toBe(0);
    // The reader holds the pipe open and never reads: 64 KiB fit, the JSON is bigger.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY);
    try {
      const r = spawnSync(process.execPath, [BUNDLE, ...args('--format', 'json', '-t', '2')], {
        stdio: ['ignore', writer, 'pipe'],
        timeout: 60_000,
        env: { PATH: process.env.PATH },
      });
      expect(r.signal, 'the run had to be killed: it hung on the full pipe').toBeNull();
      expect(r.status).toBe(0);
      expect(r.stderr.toString()).toBe('');
    } finally {
      closeSync(writer);
      closeSync(reader);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('options and small things', () => {
  const f = fixture('linux-6.18-builtin');

  it('--quiet-ok --format json prints JSON (an empty stdout is not JSON)', () => {
    const r = runBundle([...rootArgs(f.dir), '--quiet-ok', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).state).toBe('OK');
    expect(runBundle([...rootArgs(f.dir), '--quiet-ok']).stdout).toBe('');
  });

  it('--stale-modules takes what its help says: ok, warning or critical', () => {
    const help = runBundle(['--help']).stdout.replace(/\s+/g, ' ');
    expect(help).toContain('the kernel tracks every connection: ok, warning or critical');
    expect(runBundle([...rootArgs(f.dir), '--stale-modules', 'critical']).code).toBe(0);
    const r = runBundle([...rootArgs(f.dir), '--stale-modules', 'unknown']);
    expect(r.code).toBe(3);
    expect(r.status).toContain("'unknown' is not one of ok, warning, critical");
  });

  it('the help says what each -v adds, -vvv too', () => {
    const help = runBundle(['--help']).stdout.replace(/\s+/g, ' ');
    expect(help).toContain('-vv also where each figure came from, -vvv also the stack of an internal error');
  });

  it('-c tighter than -w gets a note', () => {
    const r = runBundle([...rootArgs(f.dir), '-w', '80%', '-c', '70%']);
    expect(r.lines, describeRun(r)).toContain(
      '-c 70% is tighter than -w 80%: the table goes from OK straight to CRITICAL and WARNING is never reported (the usual order is -w 70% -c 80%)',
    );
    expect(runBundle([...rootArgs(f.dir), '-w', '70%', '-c', '80%']).stdout).not.toContain('tighter');
  });

  it('a small table takes KiB, not "0 MiB"', () => {
    const tree = copyFixture('linux-6.18-builtin');
    try {
      tree.write('proc/sys/net/netfilter/nf_conntrack_max', '1000\n');
      tree.write('proc/sys/net/netfilter/nf_conntrack_buckets', '1024\n');
      tree.write('proc/sys/net/netfilter/nf_conntrack_count', '1\n');
      const r = runBundle([...rootArgs(tree.dir), '-v']);
      expect(r.stdout, describeRun(r)).toContain('memory: up to 321 KiB when full (1000 x 320 B + 1024 x 8 B)');
      expect(r.stdout).not.toContain(' 0 MiB');
    } finally {
      tree.dispose();
    }
  });
});

describe('perfdata labels stay from run to run', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cc-labels-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('no label is U (Icinga 2 rejects it), and two runs too close to measure growth give the same labels', () => {
    const f = fixture('linux-6.18-builtin');
    const args = ['--proc', f.proc, '--sys', f.sys, '--kernel-log', 'none', '--state-file', join(dir, 's.json')];
    const labels = (s: string) =>
      s
        .slice(s.indexOf(' | ') + 3)
        .split(' ')
        .map((p) => p.slice(0, p.indexOf('=')));
    const first = runBundle(args);
    const second = runBundle(args);
    expect(first.status).not.toMatch(/=U\b/);
    expect(labels(second.status)).toEqual(labels(first.status));
  });
});
