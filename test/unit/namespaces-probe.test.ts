import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import {
  chmodSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseProcPidStat } from '../../src/parse/proc-pid-stat';
import { DEFAULT_HOST_PATHS } from '../../src/probes/host-paths';
import { parseNetnsLink } from '../../src/probes/identity';
import { discoverNamespaces, type NamespaceInfo, type NamespaceInventory } from '../../src/probes/namespaces';
import { REPO } from '../support/bundle';
import { FIXTURES } from '../support/fixtures';
import { createNamespace, IP } from '../support/netns';
import { itReady, notRootReason, readiness } from '../support/readiness';

// Pass-through, so the fixture test can see which files the probe opens.
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return { ...actual, openSync: vi.fn(actual.openSync) };
});

const SETPRIV = '/usr/bin/setpriv';
const SLEEP = '/usr/bin/sleep';
const NOBODY = 65534;
const cgroupSample = (name: string): string => readFileSync(join(FIXTURES, 'cgroup', name), 'utf8');

/** Root and the programs a test runs; a program missing under CI is a failure, not a skip. */
function itNeeding(needs: readonly string[], title: string, fn: () => Promise<void> | void, timeout?: number): void {
  const missing = needs.filter((p) => !fs.existsSync(p));
  const ready = readiness({
    root: notRootReason('other users and namespaces need root'),
    missing: missing.length > 0 ? `missing ${missing.join(', ')}` : undefined,
  });
  itReady('namespaces-probe', title, ready, fn, timeout);
}

// ------------------------------------------------------------ fixture tree

interface FakeProcess {
  pid: string;
  /** Target of the ns/net link; no ns directory at all when undefined (a process gone, or a zombie). */
  net?: string;
  comm?: string;
  /** Field 22; `stat` replaces the whole file. */
  start?: number;
  stat?: string;
  cgroup?: string;
}

function statLine(pid: string, comm: string, start: number): string {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  fields[0] = 'S';
  fields[22 - 3] = String(start);
  return `${pid} (${comm}) ${fields.join(' ')}\n`;
}

function writeProcess(proc: string, p: FakeProcess): void {
  const dir = join(proc, p.pid);
  mkdirSync(dir, { recursive: true });
  if (p.net !== undefined) {
    mkdirSync(join(dir, 'ns'));
    symlinkSync(p.net, join(dir, 'ns/net'));
  }
  if (p.comm !== undefined) writeFileSync(join(dir, 'comm'), `${p.comm}\n`);
  const stat = p.stat ?? (p.comm !== undefined && p.start !== undefined ? statLine(p.pid, p.comm, p.start) : undefined);
  if (stat !== undefined) writeFileSync(join(dir, 'stat'), stat);
  if (p.cgroup !== undefined) writeFileSync(join(dir, 'cgroup'), p.cgroup);
}

const HOST = 4026531840;
const POD = 4026532300;
const SERVICE = 4026532400;
const DOCKER = 4026532500;
const RACE = 4026532600;
const LONE = 4026532700;
const net = (inode: number): string => `net:[${inode}]`;
const POD_UID = 'b026621f-fa1a-429a-ab8d-c9b85952c6b3';
const DOCKER_ID = 'c7fdbe78d152dc99347dd44bd8696277755f2eb41015d49cd48d9db1142cccb0';

describe('discoverNamespaces on a fixture tree', () => {
  let dir: string;
  let proc: string;
  let runNetns: string;
  let red: number;
  let blue: number;
  let hostRoot: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cc-namespaces-'));
    proc = join(dir, 'proc');
    runNetns = join(dir, 'netns');
    mkdirSync(proc);
    mkdirSync(runNetns);
    // Stand-ins for `ip netns` bind mounts: their st_ino is what the probe matches links against.
    writeFileSync(join(runNetns, 'red'), '');
    linkSync(join(runNetns, 'red'), join(runNetns, 'red-alias'));
    writeFileSync(join(runNetns, 'blue'), '');
    symlinkSync(join(dir, 'nowhere'), join(runNetns, 'gone'));
    red = statSync(join(runNetns, 'red')).ino;
    blue = statSync(join(runNetns, 'blue')).ino;

    const processes: FakeProcess[] = [
      // Host: two processes of the first tick (the lower pid is the elder), and a later one.
      { pid: '2', net: net(HOST), comm: 'kthreadd', start: 10, cgroup: cgroupSample('host-root-v2.txt') },
      { pid: '1', net: net(HOST), comm: 'systemd', start: 10, cgroup: cgroupSample('host-init-v2.txt') },
      { pid: '812', net: net(HOST), comm: 'sshd', start: 3000, cgroup: '0::/system.slice/ssh.service\n' },
      // A pod: the pause process is the elder though pid 120 (after pid wrap) is lower.
      { pid: '4100', net: net(POD), comm: 'pause', start: 2000, cgroup: cgroupSample('kubernetes-containerd-v2.txt') },
      { pid: '120', net: net(POD), comm: 'nginx: worker', start: 9000, cgroup: cgroupSample('kubernetes-containerd-v2.txt') },
      { pid: '4101', net: net(POD), stat: 'garbage', cgroup: cgroupSample('kubernetes-containerd-v2.txt') },
      // A service with PrivateNetwork=.
      { pid: '5000', net: net(SERVICE), comm: 'sleep', start: 4000, cgroup: '0::/system.slice/netns-test.service\n' },
      // A container whose cgroup file could not be read, with ') ' and '(' in its name.
      { pid: '5100', net: net(DOCKER), comm: 'ngx) S 1 (x', start: 4100 },
      // The elder vanished between readlink and stat: the next one names it.
      { pid: '5200', net: net(RACE), comm: 'gone' },
      { pid: '5201', net: net(RACE), comm: 'bash', start: 4300, cgroup: cgroupSample('docker-v2-systemd.txt') },
      // The only process, gone before its stat was read.
      { pid: '5300', net: net(LONE), comm: 'gone' },
      // A process in the namespace named red (and red-alias).
      { pid: '7000', net: `net:[${red}]`, comm: 'dnsmasq', start: 5000, cgroup: cgroupSample('lxc-v2.txt') },
      // Not a network namespace link.
      { pid: '6000', net: 'mnt:[4026531841]', comm: 'odd', start: 1 },
      // Gone (or a zombie): no ns links.
      { pid: '6001', comm: 'zombie', start: 1 },
      // Not processes.
      { pid: '12abc', net: net(999), comm: 'x', start: 0 },
      { pid: 'sys' },
      { pid: 'net' },
    ];
    for (const p of processes) writeProcess(proc, p);
    symlinkSync('1', join(proc, 'self'));

    // The host's own files (--root): the kubelet's directory for the pod, docker's configuration for RACE's container.
    hostRoot = join(dir, 'host');
    mkdirSync(join(hostRoot, 'var/log/pods', `default_web-7f9c_${POD_UID}`), { recursive: true });
    mkdirSync(join(hostRoot, 'var/lib/docker/containers', DOCKER_ID), { recursive: true });
    writeFileSync(
      join(hostRoot, 'var/lib/docker/containers', DOCKER_ID, 'config.v2.json'),
      JSON.stringify({ ID: DOCKER_ID, Name: '/api' }),
    );
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Braces matter: a function returned from beforeEach is run as its teardown, and mockClear returns the mock.
  beforeEach(() => {
    vi.mocked(fs.openSync).mockClear();
  });

  /** The time of the /run/netns file with this inode: the namespace's, once `ip netns add` bound it there. */
  const bound = (inode: number): number => {
    for (const name of readdirSync(runNetns)) {
      const st = fs.statSync(join(runNetns, name), { throwIfNoEntry: false });
      if (st?.ino === inode) return Math.floor(st.mtimeMs);
    }
    throw new Error(`no file with inode ${inode} in ${runNetns}`);
  };
  const run = (runDir?: string): NamespaceInventory =>
    discoverNamespaces({ procRoot: proc, sysRoot: '/nonexistent', root: hostRoot }, runDir ?? runNetns);

  it('groups processes by namespace and names each by its oldest process, and its container by the runtime', () => {
    const expected = (
      [
        {
          inode: red,
          names: ['red', 'red-alias'],
          processes: 1,
          oldestPid: 7000,
          command: 'dnsmasq',
          container: { runtime: 'lxc', id: 'web01', name: 'web01' },
          startTicks: 5000,
          boundMs: bound(red),
        },
        { inode: blue, names: ['blue'], processes: 0, boundMs: bound(blue) },
        { inode: HOST, names: [], processes: 3, oldestPid: 1, command: 'systemd', startTicks: 10 },
        {
          inode: POD,
          names: [],
          processes: 3,
          oldestPid: 4100,
          command: 'pause',
          startTicks: 2000,
          container: {
            runtime: 'containerd',
            id: '2544578515e2',
            fullId: '2544578515e209abdf2d871a36ecde3dd66f1842432a3cb7cc3235bec3ee75c8',
            podUid: POD_UID,
            pod: { namespace: 'default', name: 'web-7f9c' },
          },
        },
        { inode: SERVICE, names: [], processes: 1, oldestPid: 5000, command: 'sleep', unit: 'netns-test.service', startTicks: 4000 },
        { inode: DOCKER, names: [], processes: 1, oldestPid: 5100, command: 'ngx) S 1 (x', startTicks: 4100 },
        {
          inode: RACE,
          names: [],
          processes: 2,
          oldestPid: 5201,
          command: 'bash',
          container: { runtime: 'docker', id: 'c7fdbe78d152', fullId: DOCKER_ID, name: 'api' },
          startTicks: 4300,
        },
        { inode: LONE, names: [], processes: 1 },
      ] satisfies NamespaceInfo[]
    ).sort((a, b) => a.inode - b.inode);
    expect(run()).toStrictEqual({
      namespaces: expected,
      processesScanned: 13,
      hiddenProcesses: 0,
      hiddenNamespaces: 0,
      problems: [`${join(proc, '6000/ns/net')} is 'mnt:[4026531841]', not a network namespace`],
      namingTrace: [`container names: read ${join(hostRoot, 'var/lib/docker/containers', DOCKER_ID, 'config.v2.json')}`],
    });
  });

  it('reads stat only where there is a choice or a name to take, and cgroup only of the oldest', () => {
    run();
    const opened = vi
      .mocked(fs.openSync)
      .mock.calls.map(([path]) => String(path))
      .filter((path) => path.startsWith(proc))
      .map((path) => path.slice(proc.length + 1))
      .sort();
    const stats = ['1', '2', '812', '4100', '120', '4101', '5000', '5100', '5200', '5201', '5300', '7000'].map((pid) => `${pid}/stat`);
    const cgroups = ['1', '4100', '5000', '5100', '5201', '7000'].map((pid) => `${pid}/cgroup`);
    expect(opened).toEqual([...stats, ...cgroups].sort());
  });

  it('a missing /run/netns is not a problem: ip netns was never used', () => {
    const inventory = run(join(dir, 'no-such-dir'));
    expect(inventory.problems).toEqual([`${join(proc, '6000/ns/net')} is 'mnt:[4026531841]', not a network namespace`]);
    expect(inventory.namespaces.map((ns) => ns.inode)).toEqual([HOST, POD, SERVICE, DOCKER, RACE, LONE, red].sort((a, b) => a - b));
    expect(inventory.namespaces.every((ns) => ns.names.length === 0)).toBe(true);
  });

  it('a /run/netns that cannot be listed is a problem', () => {
    const inventory = run(join(runNetns, 'blue'));
    expect(inventory.problems).toContain(`cannot list ${join(runNetns, 'blue')}: ENOTDIR`);
  });

  it('a PROC that cannot be listed gives an empty inventory and the reason', () => {
    expect(discoverNamespaces({ procRoot: join(dir, 'no-proc'), sysRoot: '/sys' }, runNetns)).toStrictEqual({
      namespaces: [
        { inode: red, names: ['red', 'red-alias'], processes: 0, boundMs: bound(red) },
        { inode: blue, names: ['blue'], processes: 0, boundMs: bound(blue) },
      ].sort((a, b) => a.inode - b.inode),
      processesScanned: 0,
      hiddenProcesses: 0,
      hiddenNamespaces: 0,
      problems: [`cannot list ${join(dir, 'no-proc')}: ENOENT`],
      namingTrace: [],
    });
  });
});

// --------------------------------------------------------------- real /proc

/** The processes of a namespace now, with their start times, read independently of the probe. */
function membersNow(inode: number): Array<{ pid: number; start: number }> {
  const out: Array<{ pid: number; start: number }> = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (parseNetnsLink(readlinkSync(`/proc/${entry}/ns/net`)) !== inode) continue;
      const stat = parseProcPidStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      if (stat) out.push({ pid: Number(entry), start: stat.startTime });
    } catch {
      // Gone, or hidden from us as from the probe.
    }
  }
  return out;
}

describe('discoverNamespaces on this machine', () => {
  it("finds this process's namespace, with its oldest process", () => {
    const self = parseNetnsLink(readlinkSync('/proc/self/ns/net'))!;
    const inventory = discoverNamespaces(DEFAULT_HOST_PATHS);
    const ns = inventory.namespaces.find((n) => n.inode === self);
    expect(ns).toBeDefined();
    expect(ns!.processes).toBeGreaterThanOrEqual(1);
    expect(inventory.processesScanned).toBeGreaterThanOrEqual(
      inventory.namespaces.reduce((sum, n) => sum + n.processes, 0) + inventory.hiddenProcesses,
    );
    expect(inventory.namespaces.map((n) => n.inode)).toEqual([...inventory.namespaces.map((n) => n.inode)].sort((a, b) => a - b));

    // pid 1 where we may read it; otherwise (here: an init with capabilities we lack) no process now is older.
    const oldest = ns!.oldestPid!;
    const oldestStat = parseProcPidStat(readFileSync(`/proc/${oldest}/stat`, 'utf8'))!;
    expect(ns!.command).toBe(oldestStat.comm);
    for (const { pid, start } of membersNow(self)) {
      expect
        .soft(start > oldestStat.startTime || (start === oldestStat.startTime && pid >= oldest), `pid ${pid} (start ${start})`)
        .toBe(true);
    }
    let pid1Readable = true;
    try {
      readlinkSync('/proc/1/ns/net');
    } catch {
      pid1Readable = false;
    }
    if (pid1Readable && parseNetnsLink(readlinkSync('/proc/1/ns/net')) === self) expect(oldest).toBe(1);
  });

  it("under --root, a /run/netns file that is not a mounted namespace points at the host's mount instead", () => {
    const root = mkdtempSync(join(tmpdir(), 'cc-root-'));
    try {
      mkdirSync(join(root, 'run/netns'), { recursive: true });
      writeFileSync(join(root, 'run/netns/web'), '');
      const inventory = discoverNamespaces({ ...DEFAULT_HOST_PATHS, root });
      expect(inventory.problems).toContain(
        `${join(root, 'run/netns/web')} is not a mounted network namespace (is ${root} mounted with the host's mounts below it (rbind, HostToContainer propagation)?)`,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a /run/netns file that is not a mounted namespace is reported, not taken for an unused one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-netns-'));
    try {
      writeFileSync(join(dir, 'stale'), '');
      const ino = statSync(join(dir, 'stale')).ino;
      const inventory = discoverNamespaces(DEFAULT_HOST_PATHS, dir);
      expect(inventory.problems).toContain(
        `${join(dir, 'stale')} is not a mounted network namespace (left behind by one deleted without 'ip netns delete'?)`,
      );
      expect(inventory.namespaces.find((n) => n.inode === ino)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  itNeeding(
    [IP, SLEEP],
    'names a namespace made by ip netns, with and without a process in it',
    async () => {
      const ns = createNamespace();
      let child: ReturnType<typeof spawn> | undefined;
      try {
        const stat = spawnSync('/usr/bin/stat', ['-L', '-c', '%i', `/run/netns/${ns.name}`], { encoding: 'utf8', timeout: 5_000 });
        expect(stat.status).toBe(0);
        const inode = Number(stat.stdout.trim());
        expect(inode).toBe(ns.inode);

        const empty = discoverNamespaces(DEFAULT_HOST_PATHS).namespaces.find((n) => n.inode === inode);
        expect(empty).toStrictEqual({
          inode,
          names: [ns.name],
          processes: 0,
          boundMs: Math.floor(statSync(`/run/netns/${ns.name}`).mtimeMs),
        });

        // `ip netns exec` execs the command, so the child's pid is sleep's once it is in the namespace.
        child = spawn(IP, ['netns', 'exec', ns.name, SLEEP, '60'], { stdio: 'ignore' });
        const pid = child.pid!;
        const deadline = Date.now() + 5_000;
        for (;;) {
          let link: string | undefined;
          let comm: string | undefined;
          try {
            link = readlinkSync(`/proc/${pid}/ns/net`);
            comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
          } catch {
            // Not there yet.
          }
          if (link === `net:[${inode}]` && comm === 'sleep') break;
          if (Date.now() > deadline) throw new Error(`pid ${pid} did not enter ${ns.name} as sleep (link ${link}, comm ${comm})`);
          await sleep(20);
        }
        const busy = discoverNamespaces(DEFAULT_HOST_PATHS).namespaces.find((n) => n.inode === inode);
        expect(busy).toMatchObject({ inode, names: [ns.name], processes: 1, oldestPid: pid, command: 'sleep' });
        expect(busy?.container).toBeUndefined();
      } finally {
        if (child && child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child!.once('exit', resolve));
          child.kill('SIGKILL');
          await exited;
        }
        ns.remove();
      }
    },
    30_000,
  );

  itNeeding(
    [SETPRIV],
    'as nobody: root processes are counted as hidden, and its own namespace is still found',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'cc-nobody-'));
      try {
        chmodSync(dir, 0o755);
        // A directory nobody may not list, standing in for a /run/netns it cannot read.
        const privateDir = join(dir, 'private');
        mkdirSync(privateDir, { mode: 0o700 });
        const entry = [
          "import { readlinkSync } from 'node:fs';",
          "import { discoverNamespaces } from './src/probes/namespaces';",
          "const inventory = discoverNamespaces({ procRoot: '/proc', sysRoot: '/sys' }, process.argv[2]);",
          "process.stdout.write(JSON.stringify({ pid: process.pid, uid: process.getuid(), self: readlinkSync('/proc/self/ns/net'), inventory }));",
        ].join('\n');
        const built = buildSync({
          stdin: { contents: entry, resolveDir: REPO, loader: 'ts', sourcefile: 'nobody-entry.ts' },
          bundle: true,
          platform: 'node',
          format: 'cjs',
          target: 'node18.19',
          write: false,
          logLevel: 'silent',
        });
        const script = join(dir, 'discover.cjs');
        writeFileSync(script, built.outputFiles[0]!.text, { mode: 0o644 });

        const r = spawnSync(
          SETPRIV,
          [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', process.execPath, script, privateDir],
          { encoding: 'utf8', timeout: 20_000, env: { PATH: '/usr/bin:/bin' } },
        );
        expect(r.error).toBeUndefined();
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        const out = JSON.parse(r.stdout) as { pid: number; uid: number; self: string; inventory: NamespaceInventory };
        expect(out.uid).toBe(NOBODY);
        const { inventory } = out;
        expect(inventory.hiddenProcesses).toBeGreaterThan(0);
        expect(inventory.processesScanned).toBeGreaterThanOrEqual(inventory.hiddenProcesses + 1);
        const own = inventory.namespaces.find((n) => n.inode === parseNetnsLink(out.self));
        expect(own).toBeDefined();
        expect(own!.processes).toBeGreaterThanOrEqual(1);
        expect(own!.oldestPid).toBeDefined();
        expect(inventory.problems).toEqual([`cannot list ${privateDir}: permission denied`]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    30_000,
  );
});
