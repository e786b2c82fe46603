/**
 * Namespaces named by real containers: podman (runc, cgroupfs) and Docker
 * (dockerd from Debian's docker.io), each keeping its state in a host tree of
 * the test's own, which the plugin reads through --root as a DaemonSet reads
 * the host at /host.
 *
 *   web (podman, a CNI network of only loopback, so podman makes its
 *        /run/netns/netns-<uuid> file): a nat rule, filled to the lowered
 *        nf_conntrack_max and beyond, so that it drops and the kernel logs
 *        'table full in netns N'.
 *   db  (podman, --network none) and api (docker, --network none): idle.
 *
 * Nothing touches the host's network: no bridge, no host rule (dockerd runs
 * with --iptables=false --bridge=none); the only traffic is loopback inside web.
 * Images cannot be pulled here, so both are imported from a tar of busybox.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { describeRun, runBundle, type BundleRun } from '../support/bundle';
import { cleanUp, reportCleanup } from '../support/cleanup';
import {
  addMasquerade,
  describeKernel,
  holdConnections,
  mustRun,
  readConntrackMax,
  statTotal,
  waitForCount,
  withConntrackMax,
  type Holder,
} from '../support/netns';

const PODMAN = '/usr/bin/podman';
const RUNC = '/usr/sbin/runc';
const DOCKERD = '/usr/sbin/dockerd';
const DOCKER = '/usr/bin/docker';
const BUSYBOX = '/bin/busybox';
const TAR = '/usr/bin/tar';
const DMESG = '/usr/bin/dmesg';
const KMSG = '/dev/kmsg';
const LOOPBACK_CNI = '/usr/lib/cni/loopback';

const MAX = 10;
const HELD = 10;
const EXTRA = 3;
/** Starting a container, or dockerd, can take seconds on a busy machine. */
const SLOW_MS = 60_000;

interface Container {
  readonly name: string;
  readonly id: string;
  readonly pid: number;
  readonly inode: number;
}

function inodeOf(pid: number): number {
  const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`));
  if (!m) throw new Error(`/proc/${pid}/ns/net is not a network namespace`);
  return Number(m[1]);
}

/** The namespace lines the plugin lists (not-OK ones and the top list), without their indent. */
function namespaceLines(run: BundleRun): string[] {
  const start = run.lines.findIndex((l) => /^namespaces: \d+ found, /.test(l));
  const out: string[] = [];
  for (const line of run.lines.slice(start + 1)) {
    if (/^top \d+ of the others by usage:$/.test(line)) continue;
    if (!line.startsWith('  ')) break;
    out.push(line.trim());
  }
  return out;
}

/** How many times the kernel log says this namespace's table was full. */
function tableFullMessages(inode: number): number {
  return mustRun([DMESG])
    .stdout.split('\n')
    .filter((l) => l.includes(`table full in netns ${inode},`)).length;
}

describeKernel(
  'namespaces named by real podman and Docker containers',
  () => {
    it('names each namespace by its container, leads with the full one, and gives it its drops and its kernel-log messages', async () => {
      const tag = `cctest-${process.pid}`;
      const work = mkdtempSync(join(tmpdir(), 'cctest-containers-'));
      const host = join(work, 'host');
      const image = `localhost/${tag}-busybox:1`;
      const podmanArgs = [
        '--root',
        join(host, 'var/lib/containers/storage'),
        '--runroot',
        join(work, 'podman-run'),
        '--tmpdir',
        join(work, 'podman-tmp'),
        // vfs: overlay cannot mount on every file system /tmp may be on.
        '--storage-driver',
        'vfs',
        '--runtime',
        RUNC,
        '--cgroup-manager',
        'cgroupfs',
        '--network-config-dir',
        join(work, 'cni'),
        '--events-backend',
        'file',
      ];
      const podman = (args: string[]) => mustRun([PODMAN, ...podmanArgs, ...args], SLOW_MS).stdout.trim();
      const dockerSocket = `unix://${join(work, 'docker.sock')}`;
      const docker = (args: string[]) => mustRun([DOCKER, '-H', dockerSocket, ...args], SLOW_MS).stdout.trim();
      const limits = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
      const names = { web: `${tag}-web`, db: `${tag}-db`, api: `${tag}-api` };

      const holders: Holder[] = [];
      let dockerd: ChildProcess | undefined;
      let passed = false;
      try {
        // ---- an image both runtimes can import: a busybox root
        const rootfs = join(work, 'rootfs');
        mkdirSync(join(rootfs, 'bin'), { recursive: true });
        copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'));
        for (const applet of ['sh', 'sleep']) symlinkSync('busybox', join(rootfs, 'bin', applet));
        const tar = join(work, 'rootfs.tar');
        mustRun([TAR, '-C', rootfs, '-cf', tar, '.']);
        mkdirSync(join(work, 'cni'));
        // A network of only the loopback plugin: podman still makes its netns-<uuid> file, and the host gets no bridge or rule.
        writeFileSync(
          join(work, 'cni', `${tag}.conflist`),
          JSON.stringify({ cniVersion: '0.4.0', name: tag, plugins: [{ type: 'loopback' }] }),
        );

        // ---- two podman containers
        podman(['import', tar, image]);
        const start = (name: string, network: string): Container => {
          const id = podman(['run', '-d', '--name', name, '--network', network, ...limits, image, '/bin/sleep', '3600']);
          const pid = Number(podman(['inspect', '-f', '{{.State.Pid}}', name]));
          return { name, id, pid, inode: inodeOf(pid) };
        };
        const web = start(names.web, tag);
        const db = start(names.db, 'none');
        const netnsFile = podman(['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', names.web]);
        expect(netnsFile, "podman's own /run/netns file for web").toMatch(/^\/run\/netns\/netns-[0-9a-f-]{36}$/);
        const webNs = basename(netnsFile);

        // ---- one docker container, dockerd's state in the same host tree
        const dockerLog = join(work, 'dockerd.log');
        const logFd = openSync(dockerLog, 'w');
        // Its own process group, so that dockerd and the containerd it starts can be ended together.
        dockerd = spawn(
          DOCKERD,
          [
            '--data-root',
            join(host, 'var/lib/docker'),
            '--exec-root',
            join(work, 'de'),
            '--pidfile',
            join(work, 'dockerd.pid'),
            '-H',
            dockerSocket,
            '--iptables=false',
            '--ip6tables=false',
            '--ip-masq=false',
            '--bridge=none',
            '--storage-driver',
            'vfs',
          ],
          { detached: true, stdio: ['ignore', logFd, logFd], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
        );
        closeSync(logFd);
        const deadline = Date.now() + SLOW_MS;
        while (!existsSync(join(work, 'docker.sock'))) {
          if (Date.now() > deadline || dockerd.exitCode !== null) {
            throw new Error(
              `dockerd did not start (exit ${dockerd.exitCode}): ${readFileSync(dockerLog, 'utf8').split('\n').slice(-5).join('\n')}`,
            );
          }
          await sleep(200);
        }
        docker(['version']);
        docker(['import', tar, image.replace('localhost/', '')]);
        const apiId = docker([
          'run',
          '-d',
          '--name',
          names.api,
          '--network',
          'none',
          ...limits,
          image.replace('localhost/', ''),
          '/bin/sleep',
          '3600',
        ]);
        const apiPid = Number(docker(['inspect', '-f', '{{.State.Pid}}', names.api]));
        const api: Container = { name: names.api, id: apiId, pid: apiPid, inode: inodeOf(apiPid) };
        expect(new Set([web.inode, db.inode, api.inode]).size, 'three namespaces').toBe(3);

        const label = (c: Container, runtime: string) => `${runtime} ${c.name} (${c.id.slice(0, 12)}, netns ${c.inode})`;
        const state = join(work, 'state.json');
        const check = (extra: string[]) => runBundle(['--namespaces', 'all', '--kernel-log', 'kmsg', '--state-file', state, ...extra]);

        // ---- baseline, everything empty
        addMasquerade(webNs);
        const base = check(['--root', host, '--log-window', '1s', '-v']);
        expect(base.stderr, describeRun(base)).toBe('');
        expect(base.stdout, describeRun(base)).toContain(`${label(web, 'podman')}: 0.0% of table used`);
        const dropsBefore = statTotal(webNs, 'drop');
        const messagesBefore = tableFullMessages(web.inode);

        const originalMax = readConntrackMax();
        await withConntrackMax(MAX, async () => {
          // ---- web full, and beyond
          const full = await holdConnections(webNs, HELD);
          holders.push(full);
          expect(full, 'connections that fill web').toMatchObject({ opened: HELD, failed: 0 });
          const over = await holdConnections(webNs, EXTRA);
          holders.push(over);
          expect(over, 'connections beyond nf_conntrack_max in web').toMatchObject({ opened: 0, failed: EXTRA });
          await over.close();
          expect(await waitForCount(webNs, HELD), 'count in web').toBe(HELD);
          const drops = statTotal(webNs, 'drop') - dropsBefore;
          expect(drops, "web's drop counter").toBeGreaterThanOrEqual(EXTRA);
          const messages = tableFullMessages(web.inode) - messagesBefore;

          const run = check(['--root', host, '-v']);
          console.log(`[containers test] web full:\n${run.stdout}`);
          expect(run.stderr, describeRun(run)).toBe('');
          expect(run.code, describeRun(run)).toBe(2);
          const lines = namespaceLines(run);
          const webLine = lines.find((l) => l.startsWith(`${label(web, 'podman')}: `));
          expect(webLine, `web's line:\n${run.stdout}`).toBeDefined();
          expect(webLine).toContain(
            `: 100.0% of table used (${HELD} of ${MAX} entries), ${drops} packets dropped since last check (table full)`,
          );
          // The kernel may rate-limit its messages away; when it logged some, they are web's.
          if (messages > 0)
            expect(webLine, `${messages} 'table full in netns ${web.inode}' messages in the kernel log`).toMatch(
              /\d+ 'table full' messages? in the kernel log/,
            );
          else
            console.warn(
              `[containers test] the kernel logged no 'table full in netns ${web.inode}' (rate limited): attribution not checked`,
            );
          expect(
            lines.filter((l) => l !== webLine && l.includes("'table full'")),
            'no other namespace gets the messages',
          ).toEqual([]);
          expect(lines, `db and api listed by name:\n${run.stdout}`).toEqual(
            expect.arrayContaining([
              `${label(db, 'podman')}: 0.0% of table used (0 of ${MAX} entries)`,
              `${label(api, 'docker')}: 0.0% of table used (0 of ${MAX} entries)`,
            ]),
          );
          // Web leads, unless a namespace not ours is worse still (the max is global).
          if (lines[0] === webLine) expect(run.status.startsWith(`CONNTRACK CRITICAL - ${webLine}`), describeRun(run)).toBe(true);
          else console.warn(`[containers test] a namespace not ours leads: ${lines[0]}`);
          expect(run.stdout, "podman's netns-<uuid> file name is not how anyone knows web").not.toContain(webNs);
          // growth follows them once two checks allow a rate; never U, which Icinga 2 rejects.
          expect(run.status, 'perfdata labels stay fixed').toMatch(
            / namespaces=\d+ worst_entries=\d+;;;0;10 worst_usage=[\d.]+%;;;0;100(?: growth=-?[\d.]+)?$/,
          );

          // ---- JSON: the same names, as fields
          const json = runBundle(['--namespaces', 'all', '--kernel-log', 'none', '--no-state', '--root', host, '--format', 'json']);
          const checked = (
            JSON.parse(json.stdout) as {
              checks: Array<{ check: string; data: { checked: Array<{ inode: number; label: string; container: unknown }> } }>;
            }
          ).checks.find((c) => c.check === 'namespaces')!.data.checked;
          expect(checked.find((c) => c.inode === web.inode)).toMatchObject({
            label: label(web, 'podman'),
            container: { runtime: 'podman', id: web.id.slice(0, 12), name: web.name, pod: null },
          });
          expect(checked.find((c) => c.inode === api.inode)).toMatchObject({ container: { runtime: 'docker', name: api.name } });

          // ---- without --root, the runtimes' files are not where the plugin looks: ids, still never podman's file name, and why at -vv
          const bare = runBundle(['--namespaces', 'all', '--kernel-log', 'none', '--no-state', '-vv']);
          expect(bare.stderr, describeRun(bare)).toBe('');
          expect(bare.stdout, describeRun(bare)).toContain(`netns podman ${web.id.slice(0, 12)} (${web.inode}): 100.0% of table used`);
          expect(bare.stdout).toContain(`netns docker ${api.id.slice(0, 12)} (${api.inode}): 0.0% of table used`);
          expect(bare.stdout).not.toContain(webNs);
          expect(bare.stdout).toMatch(/^container names: /m);
        });
        expect(readConntrackMax(), 'nf_conntrack_max restored').toBe(originalMax);
        passed = true;
      } finally {
        const errors = await cleanUp([
          ...holders.map((h) => () => h.close()),
          () => mustRun([PODMAN, ...podmanArgs, 'rm', '-f', '-t', '0', '--ignore', names.web, names.db], SLOW_MS),
          () => mustRun([PODMAN, ...podmanArgs, 'rmi', '-f', '--ignore', image], SLOW_MS),
          () => dockerd && mustRun([DOCKER, '-H', dockerSocket, 'rm', '-f', names.api], SLOW_MS),
          () => dockerd && stopGroup(dockerd),
          () => rmSync(work, { recursive: true, force: true }),
        ]);
        reportCleanup(errors, passed);
      }
    }, 240_000);
  },
  { needs: [PODMAN, RUNC, DOCKERD, DOCKER, BUSYBOX, TAR, DMESG, KMSG, LOOPBACK_CNI] },
);

/** Ends a process group we started: SIGTERM (dockerd stops its containerd), then SIGKILL if it lingers. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(-child.pid!, 'SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)]);
  if (!done) {
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
  }
}
