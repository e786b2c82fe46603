import { closeSync, constants, openSync, readdirSync, readlinkSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { containerFromCgroup, unitFromCgroup, type ContainerRef } from '../parse/cgroup';
import { preview } from '../parse/printable';
import { parseProcPidStat, type PidStat } from '../parse/proc-pid-stat';
import { nameContainers } from './container-names';
import { procPath, type HostPaths } from './host-paths';
import { parseNetnsLink } from './identity';

export interface NamespaceInfo {
  inode: number;
  /** `ip netns` names whose /run/netns file is this namespace (st_ino of the bind mount). */
  names: string[];
  /** Number of processes seen in it. */
  processes: number;
  /** The oldest process in it (lowest start time, field 22 of /proc/PID/stat), for reading its counters and naming it. */
  oldestPid?: number;
  /** comm of the oldest process. */
  command?: string;
  container?: ContainerRef;
  unit?: string;
  /** Start of the oldest process, in clock ticks since boot: about when the namespace was made. */
  startTicks?: number;
  /** Modification time of its /run/netns file, ms since the epoch: set when `ip netns add` made it. */
  boundMs?: number;
}

export interface NamespaceInventory {
  /** Sorted by inode. */
  namespaces: NamespaceInfo[];
  processesScanned: number;
  /** Processes whose ns/net link could not be read (EACCES/EPERM: another user's process when unprivileged). */
  hiddenProcesses: number;
  /** Network namespaces, besides the plugin's own and those found, that hidden processes are in: not identified, not checked. */
  hiddenNamespaces?: number;
  /**
   * /run/netns entries that could not be stat'ed or are not namespaces, with
   * the reason; also a PROC that cannot be listed and ns/net links that are
   * not `net:[N]`.
   */
  problems: string[];
  /** For -vv: the runtimes' files read to name containers, and why a container keeps its id. */
  namingTrace?: string[];
}

export const DEFAULT_RUN_NETNS = '/run/netns';

/**
 * stat is a few hundred bytes, cgroup a line per v1 hierarchy; the cap only
 * guards against a fixture tree pointing somewhere huge.
 */
const MAX_BYTES = 64 * 1024;
const buffer = Buffer.alloc(MAX_BYTES);

/**
 * One pass over PROC: the ns/net link of every process, grouped by inode, then
 * the oldest process of each namespace to name it, then /run/netns for the
 * `ip netns` names. A named namespace with no process is included with
 * processes: 0.
 *
 * Synchronous on purpose: procfs answers from memory, so each call costs
 * microseconds, while the async versions pay a thread-pool round trip for each
 * of thousands of processes, which costs more than the read itself.
 */
export function discoverNamespaces(host: HostPaths, runNetnsDir: string = join(host.root ?? '/', DEFAULT_RUN_NETNS)): NamespaceInventory {
  const problems: string[] = [];
  const members = new Map<number, number[]>();
  let processesScanned = 0;
  const hidden: string[] = [];

  let entries: string[] = [];
  try {
    entries = readdirSync(host.procRoot);
  } catch (err) {
    problems.push(`cannot list ${host.procRoot}: ${explain(err)}`);
  }
  // Top-level entries are thread-group leaders only: threads share their leader's namespace anyway.
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const linkPath = procPath(host, `${entry}/ns/net`);
    let link: string;
    try {
      link = readlinkSync(linkPath);
    } catch (err) {
      const code = errorCode(err);
      // Gone since readdir, or a zombie (which has no namespaces left): not a process to count.
      if (code === 'ENOENT' || code === 'ESRCH') continue;
      processesScanned += 1;
      // Reading the link needs ptrace-read access to the process, which an unprivileged user lacks for others'.
      if (code === 'EACCES' || code === 'EPERM') hidden.push(entry);
      else problems.push(`cannot read ${linkPath}: ${explain(err)}`);
      continue;
    }
    processesScanned += 1;
    const inode = parseNetnsLink(link);
    if (inode === undefined) {
      problems.push(`${linkPath} is '${preview(link)}', not a network namespace`);
      continue;
    }
    const pids = members.get(inode);
    if (pids) pids.push(Number(entry));
    else members.set(inode, [Number(entry)]);
  }

  const byInode = new Map<number, NamespaceInfo>();
  for (const [inode, pids] of members) byInode.set(inode, describeNamespace(host, inode, pids));
  const namingTrace = nameTheContainers(host, [...byInode.values()]);

  for (const { name, inode, boundMs } of namedNamespaces(host, runNetnsDir, byInode, problems)) {
    const known = byInode.get(inode);
    if (known) known.names.push(name);
    else byInode.set(inode, { inode, names: [name], processes: 0 });
    const info = byInode.get(inode)!;
    if (boundMs !== undefined && (info.boundMs === undefined || boundMs < info.boundMs)) info.boundMs = boundMs;
  }
  const namespaces = [...byInode.values()].sort((a, b) => a.inode - b.inode);
  for (const ns of namespaces) ns.names.sort();
  return {
    namespaces,
    processesScanned,
    hiddenProcesses: hidden.length,
    hiddenNamespaces: unseenNamespaces(host, hidden, namespaces),
    problems,
    namingTrace,
  };
}

/**
 * How many namespaces the hidden processes are in besides those already
 * known. Their ns/net link is closed to an unprivileged user, but PID/net is
 * not: each namespace has its own procfs entries, so the inode of PID/net/dev
 * tells namespaces apart (it is not the namespace's inode, which stays unknown).
 */
function unseenNamespaces(host: HostPaths, hidden: readonly string[], known: readonly NamespaceInfo[]): number {
  if (hidden.length === 0) return 0;
  const netDev = (pid: string) => {
    try {
      return statSync(procPath(host, `${pid}/net/dev`)).ino;
    } catch {
      return undefined; // gone since the scan
    }
  };
  const seen = new Set([netDev('self'), ...known.map((ns) => (ns.oldestPid === undefined ? undefined : netDev(String(ns.oldestPid))))]);
  const unseen = new Set<number>();
  for (const pid of hidden) {
    const ino = netDev(pid);
    if (ino !== undefined && !seen.has(ino)) unseen.add(ino);
  }
  return unseen.size;
}

/** Container ids become the names `podman ps`, `docker ps` or `kubectl get pods` show, from the runtimes' own files. */
function nameTheContainers(host: HostPaths, namespaces: NamespaceInfo[]): string[] {
  const held = namespaces.filter((ns) => ns.container !== undefined);
  if (held.length === 0) return [];
  const { refs, trace } = nameContainers(
    host.root ?? '/',
    held.map((ns) => ns.container!),
  );
  held.forEach((ns, i) => (ns.container = refs[i]));
  return trace;
}

/**
 * Only the oldest process is read in full: it is the one that made the
 * namespace or has held it longest (a pod's pause, a container's init), so its
 * name and cgroup name the namespace and it is the likeliest to still be there
 * when its counters are read. Start times are needed to find it, and only
 * where there is a choice.
 */
function describeNamespace(host: HostPaths, inode: number, pids: number[]): NamespaceInfo {
  let oldest: { pid: number; stat: PidStat } | undefined;
  for (const pid of pids) {
    const text = readSmall(procPath(host, `${pid}/stat`));
    const stat = text === undefined ? undefined : parseProcPidStat(text);
    // Gone or unreadable: it cannot be the one to name the namespace or read from later.
    if (!stat) continue;
    // Ties are common (every process started in the first clock tick of boot): the lower pid is the elder then.
    if (!oldest || stat.startTime < oldest.stat.startTime || (stat.startTime === oldest.stat.startTime && pid < oldest.pid)) {
      oldest = { pid, stat };
    }
  }
  const info: NamespaceInfo = { inode, names: [], processes: pids.length };
  if (!oldest) return info;
  info.oldestPid = oldest.pid;
  info.startTicks = oldest.stat.startTime;
  // stat carries the same task name as /proc/PID/comm, so that file need not be read too.
  info.command = oldest.stat.comm;
  const cgroup = readSmall(procPath(host, `${oldest.pid}/cgroup`));
  if (cgroup !== undefined) {
    const container = containerFromCgroup(cgroup);
    const unit = container ? undefined : unitFromCgroup(cgroup);
    if (container) info.container = container;
    if (unit) info.unit = unit;
  }
  return info;
}

/**
 * `ip netns add` bind-mounts the namespace onto an empty file, so stat() of the
 * file gives the namespace's inode. A file whose mount is gone (a namespace
 * deleted by hand, a reboot with a persistent /run) keeps the empty file's own
 * inode, which could be taken for a namespace nobody uses: comparing the
 * device with a real ns link tells them apart.
 */
function namedNamespaces(
  host: HostPaths,
  dir: string,
  known: ReadonlyMap<number, NamespaceInfo>,
  problems: string[],
): Array<{ name: string; inode: number; boundMs?: number }> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    // No /run/netns: `ip netns` has never been used on this host.
    if (errorCode(err) !== 'ENOENT') problems.push(`cannot list ${dir}: ${explain(err)}`);
    return [];
  }
  const nsfsDev = nsfsDevice(host, known);
  const found: Array<{ name: string; inode: number; boundMs?: number }> = [];
  for (const name of names) {
    const path = join(dir, name);
    let st;
    try {
      st = statSync(path);
    } catch (err) {
      // Deleted since readdir.
      if (errorCode(err) !== 'ENOENT') problems.push(`cannot stat ${preview(path, 200)}: ${explain(err)}`);
      continue;
    }
    if (nsfsDev !== undefined && st.dev !== nsfsDev) {
      // Under --root the likelier cause is a bind mount of the host's / that does not carry the mounts below it.
      const why =
        host.root !== undefined && host.root !== '/'
          ? `is ${host.root} mounted with the host's mounts below it (rbind, HostToContainer propagation)?`
          : "left behind by one deleted without 'ip netns delete'?";
      problems.push(`${preview(path, 200)} is not a mounted network namespace (${why})`);
      continue;
    }
    // The time is the namespace file's, set when it was bound there, not the empty file's.
    found.push({ name, inode: st.ino, boundMs: Math.floor(st.mtimeMs) });
  }
  return found;
}

/** The device of the namespace filesystem, from any process whose link can be followed; undefined in a fixture tree. */
function nsfsDevice(host: HostPaths, known: ReadonlyMap<number, NamespaceInfo>): number | undefined {
  for (const ns of known.values()) {
    if (ns.oldestPid === undefined) continue;
    try {
      const st = statSync(procPath(host, `${ns.oldestPid}/ns/net`));
      // The pid may have been reused by a process elsewhere since: then its device is still nsfs's.
      return st.dev;
    } catch {
      // Gone or not followable (a fixture's dangling link): try the next one.
    }
  }
  return undefined;
}

/** A whole small file, or undefined when it cannot be read: every caller treats those alike. */
function readSmall(path: string): string | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO in a fixture tree must not hang the scan.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    let length = 0;
    while (length < MAX_BYTES) {
      const n = readSync(fd, buffer, length, MAX_BYTES - length, null);
      if (n === 0) break;
      length += n;
    }
    return buffer.toString('utf8', 0, length);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

function explain(err: unknown): string {
  const code = errorCode(err);
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return code ?? (err as Error).message;
}
