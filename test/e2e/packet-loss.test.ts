import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, readFileSync, statSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NODES, runBundle } from '../support/bundle';
import { copyFixture } from '../support/fixtures';

const H515 =
  'entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart';
const COLUMNS = H515.split(/\s+/).slice(1);
const hex = (n: number) => n.toString(16).padStart(8, '0');

/** A stat file as the kernel prints it, from per-CPU values of the columns that matter here. */
function statFile(entries: number, cpus: Array<Partial<Record<string, number>>>): string {
  const rows = cpus.map((c) => `${hex(entries)}  ${COLUMNS.map((name) => hex(c[name] ?? 0)).join(' ')}`);
  return [H515, ...rows].join('\n') + '\n';
}

/** A kern.log line in rsyslog's RFC 3339 format, `minutesAgo` before now. */
function kernLine(minutesAgo: number, text: string): string {
  const at = new Date(Date.now() - minutesAgo * 60_000).toISOString().replace('Z', '+00:00');
  return `${at} web01 kernel: [ 8123.456789] ${text}\n`;
}

const node = NODES[0]!.path;

describe('packet loss between runs (fixture host, state file, log file)', () => {
  let tree: ReturnType<typeof copyFixture>;
  let work: string;
  let state: string;
  let log: string;

  beforeEach(() => {
    tree = copyFixture('loss-6.18');
    tree.write('proc/sys/net/netfilter/nf_conntrack_max', '1000\n');
    // The host namespace's inode on kernels that name namespaces in their messages.
    rmSync(join(tree.dir, 'proc/self/ns/net'));
    symlinkSync('net:[4026531833]', join(tree.dir, 'proc/self/ns/net'));
    work = mkdtempSync(join(tmpdir(), 'cc-loss-'));
    state = join(work, 'state', 'conntrack.json');
    log = join(work, 'kern.log');
    writeFileSync(log, kernLine(300, 'e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex'));
  });
  afterEach(() => {
    tree.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  const setCounters = (cpus: Array<Partial<Record<string, number>>>) => tree.write('proc/net/stat/nf_conntrack', statFile(10, cpus));
  const check = (...extra: string[]) => {
    const r = runBundle(
      ['--proc', join(tree.dir, 'proc'), '--sys', join(tree.dir, 'sys'), '--state-file', state, '--kernel-log', log, ...extra],
      { node },
    );
    expect(r.stderr).toBe('');
    return r;
  };

  it('records a baseline first, then alerts on the drops since, then is OK again', () => {
    setCounters([{ drop: 100 }, { drop: 20 }]);
    const first = check();
    expect(first.status).toBe(
      'CONNTRACK OK - 1.0% of table used (10 of 1000 entries); first check: drop counters recorded as the baseline (120 dropped before) | entries=10;800;900;0;1000 usage=1%;80;90;0;100 drop=120c early_drop=0c insert_failed=0c invalid=0c search_restart=0c clashres=0c chainlength=0c',
    );
    expect(first.code).toBe(0);
    expect(statSync(state).mode & 0o777).toBe(0o600);

    setCounters([{ drop: 110 }, { drop: 26 }]);
    const second = check();
    expect(second.status).toBe(
      'CONNTRACK CRITICAL - 16 packets dropped since last check (table full); 1.0% of table used (10 of 1000 entries) | entries=10;800;900;0;1000 usage=1%;80;90;0;100 drop=136c early_drop=0c insert_failed=0c invalid=0c search_restart=0c clashres=0c chainlength=0c',
    );
    expect(second.code).toBe(2);

    const third = check('-v');
    expect(third.code).toBe(0);
    expect(third.status).toMatch(/^CONNTRACK OK - 1\.0% of table used \(10 of 1000 entries\) \| /);
    expect(third.stdout).toMatch(/since last check \d+s ago: drop \+0, early_drop \+0, insert_failed \+0/);
  });

  it('alerts at the boundaries of the drop and early-drop thresholds', () => {
    setCounters([{ drop: 0, early_drop: 0, insert_failed: 0 }]);
    check();
    setCounters([{ drop: 5, early_drop: 0, insert_failed: 0 }]);
    expect(check('--drop-warning', '4', '--drop-critical', '5').code).toBe(1);
    setCounters([{ drop: 11, early_drop: 0, insert_failed: 0 }]);
    expect(check('--drop-warning', '4', '--drop-critical', '5').code).toBe(2);
    setCounters([{ drop: 11, early_drop: 1, insert_failed: 0 }]);
    const evicted = check();
    expect(evicted.status).toMatch(/^CONNTRACK WARNING - 1 entry evicted early since last check \(table full\); /);
    expect(evicted.code).toBe(1);
    setCounters([{ drop: 11, early_drop: 1, insert_failed: 3 }]);
    expect(check('--insert-failed-warning', '2').status).toMatch(/^CONNTRACK WARNING - 3 insertions failed since last check; /);
    setCounters([{ drop: 11, early_drop: 1, insert_failed: 5 }]);
    expect(check('--insert-failed-warning', '2').code).toBe(0);
  });

  it('counts across a 32-bit wrap of a per-CPU counter', () => {
    setCounters([{ drop: 0xfffffffe }, { drop: 7 }]);
    check();
    setCounters([{ drop: 4 }, { drop: 7 }]);
    const r = check();
    expect(r.status).toMatch(/^CONNTRACK CRITICAL - 6 packets dropped since last check \(table full\); /);
  });

  it('starts a new baseline after a reboot and when a counter goes down', () => {
    setCounters([{ drop: 50 }]);
    check();
    tree.write('proc/sys/kernel/random/boot_id', '3f0d7a52-90c1-4c5e-8f33-6a2b1c9d0e44\n');
    setCounters([{ drop: 2 }]);
    const rebooted = check();
    expect(rebooted.status).toMatch(
      /^CONNTRACK OK - 1\.0% of table used \(10 of 1000 entries\); the host rebooted since the last check: drop counters recorded as the baseline \(2 dropped before\) \| /,
    );
    // A counter that went down: the namespace was recreated since, so all it counted is new.
    setCounters([{ drop: 1 }]);
    const reset = check();
    expect(reset.status).toMatch(/^CONNTRACK CRITICAL - 1 packet dropped since last check \(table full\); /);
    expect(reset.lines).toContain(
      'counters went down since the last check (drop it went down on CPU 0 (from 2 to 1)): the namespace was recreated, so its totals count as new',
    );
    setCounters([{ drop: 1, insert: 5 }]);
    expect(check().code).toBe(0);
    // insert is not reported, but going down betrays a new namespace as well.
    setCounters([{ drop: 1, insert: 2 }]);
    expect(check().status).toMatch(/^CONNTRACK CRITICAL - 1 packet dropped since last check/);
    setCounters([{ drop: 4, insert: 2 }]);
    expect(check().status).toMatch(/^CONNTRACK CRITICAL - 3 packets dropped since last check/);
  });

  it('reads the kernel log: the window on the first run, only new lines after', () => {
    // Every 'table full' message goes with a drop: a counter that rose can own the messages that name no namespace.
    setCounters([{ drop: 5 }]);
    appendFileSync(log, kernLine(120, 'nf_conntrack: table full, dropping packet'));
    appendFileSync(log, kernLine(10, 'nf_conntrack: nf_conntrack: table full, dropping packet'));
    appendFileSync(log, kernLine(9, 'nf_conntrack: nf_conntrack: table full in netns 4026532315, dropping packet'));
    appendFileSync(log, kernLine(9, 'net_ratelimit: 5 callbacks suppressed'));
    const first = check('-v');
    // The one naming another namespace is that namespace's, and it no longer exists.
    expect(first.status).toMatch(
      /^CONNTRACK CRITICAL - 1 'table full' message in the kernel log in the last 1h \(newest \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, up to 5 more messages may have been suppressed\); other network namespaces dropped packets: 1 'table full' message in the last 1h from netns 4026532315 \(gone\); 1\.0% of table used/,
    );
    expect(first.code).toBe(2);
    expect(first.lines).toContain(`kernel log (${log}): 1 'table full' message in the last 1h`);

    const second = check('-v');
    expect(second.code).toBe(0);
    expect(second.lines).toContain(`kernel log (${log}): 0 'table full' messages since last check`);

    appendFileSync(log, kernLine(0, 'ip_conntrack: table full, dropping packet.'));
    setCounters([{ drop: 6 }]);
    const third = check();
    expect(third.status).toMatch(
      /^CONNTRACK CRITICAL - 1 packet dropped since last check \(table full\); 1 'table full' message in the kernel log since last check \(newest /,
    );
    expect(third.code).toBe(2);
  });

  it('honours --log-window and the log thresholds', () => {
    setCounters([{ drop: 1 }]);
    appendFileSync(log, kernLine(30, 'nf_conntrack: table full, dropping packet'));
    expect(check('--log-window', '15m').code).toBe(0);
    rmSync(state);
    expect(check('--log-window', '45m', '--log-drops-critical', '1').code).toBe(0);
    rmSync(state);
    expect(check('--log-window', '45m', '--log-drops-critical', '1', '--log-drops-warning', '0').code).toBe(1);
  });

  it('is UNKNOWN when neither counters nor the log can be read, and says why', () => {
    rmSync(join(tree.dir, 'proc/net/stat/nf_conntrack'));
    const r = check('--kernel-log', '/nonexistent/kern.log', '-v');
    expect(r.status).toBe(
      "CONNTRACK UNKNOWN - cannot read the kernel log /nonexistent/kern.log given with --kernel-log (/nonexistent/kern.log: ENOENT: no such file or directory, open '/nonexistent/kern.log'); cannot tell whether packets were dropped: no drop counters, and the kernel log is not readable; 1.0% of table used (10 of 1000 entries) | entries=10;800;900;0;1000 usage=1%;80;90;0;100",
    );
    expect(r.code).toBe(3);
    expect(r.lines.some((l) => l.startsWith('drop counters unavailable: ') && l.includes('CONFIG_NF_CONNTRACK_PROCFS'))).toBe(true);
    // A file that is not there is not a matter of privilege: no group advice.
    expect(r.stdout).not.toContain('group adm');
  });

  it('is UNKNOWN when the --kernel-log file given cannot be read, even with the counters read', () => {
    setCounters([{ drop: 0 }]);
    for (const extra of [[], ['--no-state']]) {
      const r = check('--kernel-log', join(work, 'missing.log'), ...extra);
      expect(r.code, r.stdout).toBe(3);
      expect(r.status).toMatch(
        new RegExp(`^CONNTRACK UNKNOWN - cannot read the kernel log ${join(work, 'missing.log')} given with --kernel-log \\(`),
      );
    }
  });

  it("gives 'table full' messages to this namespace only when its drop counter allows it", () => {
    setCounters([{ drop: 0 }]);
    appendFileSync(log, kernLine(5, 'nf_conntrack: nf_conntrack: table full, dropping packet'));
    // Kernels name every namespace but the host's; a message naming this inode was logged by an earlier holder of it.
    appendFileSync(log, kernLine(4, 'nf_conntrack: nf_conntrack: table full in netns 4026531833, dropping packet'));
    // A counter still at 0 has dropped nothing: the messages are another namespace's, never this table's.
    const first = check('-v');
    expect(first.status).toMatch(
      /^CONNTRACK WARNING - other network namespaces dropped packets: 2 'table full' messages in the last 1h: 1 naming no namespace, 1 from netns 4026531833 \(gone\); 1\.0% of table used/,
    );
    expect(first.code).toBe(1);
    expect(first.stdout).not.toMatch(/raise|nf_conntrack_max=/);
    expect(first.lines).toContain(`kernel log (${log}): 0 'table full' messages in the last 1h`);
    rmSync(state);
    expect(check('--other-namespaces-drops', 'ok').code).toBe(0);
    rmSync(state);
    expect(check('--other-namespaces-drops', 'critical').code).toBe(2);

    // A counter that did not move since the last check owns nothing logged since.
    setCounters([{ drop: 7 }]);
    expect(check().code).toBe(2);
    appendFileSync(log, kernLine(0, 'nf_conntrack: nf_conntrack: table full, dropping packet'));
    const still = check();
    expect(still.status).toMatch(
      /^CONNTRACK WARNING - other network namespaces dropped packets: 1 'table full' message since last check naming no namespace;/,
    );
    appendFileSync(log, kernLine(0, 'nf_conntrack: nf_conntrack: table full, dropping packet'));
    setCounters([{ drop: 8 }]);
    expect(check().status).toMatch(
      /^CONNTRACK CRITICAL - 1 packet dropped since last check \(table full\); 1 'table full' message in the kernel log since last check/,
    );
  });

  it('counts only what the kernel logged, not a user process printing the same text', () => {
    setCounters([{ drop: 3 }]);
    const at = new Date(Date.now() - 60_000).toISOString().replace('Z', '+00:00');
    appendFileSync(log, `${at} web01 myapp[311]: nf_conntrack: table full, dropping packet\n`);
    // dmesg -r style, facility 1 (user): what a process writing to /dev/kmsg gets.
    writeFileSync(
      join(work, 'dmesg.txt'),
      '<12>[    5.000000] nf_conntrack: table full, dropping packet\n<4>[    6.000000] e1000e: link up\n',
    );
    const r = check('-v');
    expect(r.code, r.stdout).toBe(0);
    expect(r.lines).toContain(`kernel log (${log}): 0 'table full' messages in the last 1h`);
    rmSync(state);
    const d = check('-v', '--kernel-log', join(work, 'dmesg.txt'));
    expect(d.code, d.stdout).toBe(0);
    expect(d.stdout).toContain("0 'table full' messages in the last 1h");
  });

  it('says when the state cannot be kept, and is UNKNOWN unless the kernel log answers for the interval', () => {
    setCounters([{ drop: 0 }]);
    // A directory anyone may write to: someone else could plant the file, so it is refused.
    const open = join(work, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const planted = join(open, 'state.json');
    const run = (...extra: string[]) =>
      runBundle(['--proc', join(tree.dir, 'proc'), '--sys', join(tree.dir, 'sys'), '--state-file', planted, ...extra], { node });
    for (let i = 0; i < 2; i++) {
      const r = run('--kernel-log', 'none');
      expect(r.code, r.stdout).toBe(3);
      expect(r.status).toMatch(/^CONNTRACK UNKNOWN - cannot tell whether packets were dropped: the state could not be kept/);
      expect(r.status).toContain('state could not be kept');
      expect(r.status).not.toContain('recorded as the baseline');
    }
    const withLog = run('--kernel-log', log);
    expect(withLog.code, withLog.stdout).toBe(0);
    expect(withLog.status).toMatch(/^CONNTRACK OK - .*state could not be kept/);
  });

  it('lets the log decide when there are no counters', () => {
    rmSync(join(tree.dir, 'proc/net/stat/nf_conntrack'));
    appendFileSync(log, kernLine(1, 'nf_conntrack: table full, dropping packet'));
    const r = check();
    expect(r.status).toMatch(/^CONNTRACK CRITICAL - 1 'table full' message in the kernel log in the last 1h/);
    expect(r.lines.some((l) => l.startsWith('drop counters unavailable: '))).toBe(true);
  });

  it('never lets a bad state file break the check', () => {
    setCounters([{ drop: 3 }]);
    mkdirSync(join(work, 'state'), { mode: 0o700 });
    // Cut short, as a full disk leaves a state file: still recognisably ours, so it is replaced.
    writeFileSync(state, '{"version":1,"bootId":"0f3c6a4e-2b1d-4c1e-9a77-5d2f0e8b1c42","savedAtMs":17');
    const corrupt = check();
    expect(corrupt.code).toBe(0);
    expect(corrupt.status).toContain('no usable state from the last check: drop counters recorded as the baseline');
    expect(corrupt.lines).toContain(`ignoring the state file ${state}: it is not valid JSON; starting a new baseline`);
    // The bad file was replaced by a good one.
    expect(JSON.parse(readFileSync(state, 'utf8')).version).toBe(1);

    rmSync(state);
    symlinkSync('/etc/passwd', state);
    const linked = check();
    expect(linked.code).toBe(0);
    expect(linked.lines).toContain(`refusing the state file ${state}: it is a symbolic link; starting a new baseline`);

    rmSync(state);
    chmodSync(join(work, 'state'), 0o777);
    const shared = check();
    expect(shared.code).toBe(0);
    expect(shared.lines.some((l) => l.includes(`${join(work, 'state')} is writable by others (mode 777)`))).toBe(true);
  });
});

describe('a journal that holds no kernel message is no source (this machine)', () => {
  const JOURNALCTL = '/usr/bin/journalctl';
  it('tries the next source rather than reading "0 messages" from it', () => {
    const tree = copyFixture('loss-6.18');
    try {
      // What the journal holds decides the answer: both are asserted, neither skipped.
      const probe = existsSync(JOURNALCTL)
        ? spawnSync(JOURNALCTL, ['-k', '-b', '-q', '--no-pager', '-n', '1'], { encoding: 'utf8', timeout: 10_000 })
        : undefined;
      const holdsKernel = probe !== undefined && probe.status === 0 && probe.stdout.trim() !== '';
      const r = runBundle(
        ['--proc', join(tree.dir, 'proc'), '--sys', join(tree.dir, 'sys'), '--no-state', '--kernel-log', 'journal', '-v'],
        { node },
      );
      expect(r.stderr).toBe('');
      if (holdsKernel) expect(r.stdout).toMatch(/kernel log \(\S*journalctl[^)]*\): \d+ 'table full'/);
      else {
        expect(r.stdout, r.stdout).toContain('kernel log not readable (');
        expect(r.stdout).not.toMatch(/kernel log \(\S*journalctl[^)]*\): 0 'table full'/);
      }
    } finally {
      tree.dispose();
    }
  });
});
