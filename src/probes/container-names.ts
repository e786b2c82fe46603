import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRef } from '../parse/cgroup';
import { isRuntimeNetnsName, parseDockerConfig, parsePodmanContainers, podFromLogDirs, type Parsed } from '../parse/container-state';

export { isRuntimeNetnsName };

/**
 * Where the runtimes keep what names their containers, below the host's root.
 * Files only: a client (`podman ps`, `docker ps`, `crictl pods`) would be a
 * program to run as root with a daemon to wait for, inside a check that may
 * itself run in a container with the host at /host.
 */
export const RUNTIME_STATE = {
  /** containers/storage's graph root; `<driver>-containers/containers.json` below it. */
  podman: 'var/lib/containers/storage',
  /** `<64-hex id>/config.v2.json` below it. */
  docker: 'var/lib/docker/containers',
  /** `<namespace>_<pod>_<uid>/` below it, made by the kubelet whatever the runtime. */
  pods: 'var/log/pods',
} as const;

/** containers.json holds some 600 bytes a container: this is room for over ten thousand. */
const MAX_PODMAN_BYTES = 8 * 1024 * 1024;
/** A config.v2.json is a few kilobytes; labels and environment can make it tens. */
const MAX_DOCKER_BYTES = 1024 * 1024;
/** -vv lines about names not found: one per container could run to hundreds. */
const MAX_TRACE = 8;

export interface ContainerNaming {
  /** The refs given, in the same order, each with its name or pod where the runtime's state says. */
  readonly refs: ContainerRef[];
  /** For -vv: the files read, and why a container keeps its id. */
  readonly trace: string[];
}

/**
 * Puts names to containers found in cgroups. Every file is read at most once,
 * and only when some container needs it; whatever is missing, unreadable,
 * too large or not what the runtime writes leaves the container its id and a
 * trace line saying why.
 */
export function nameContainers(root: string, refs: readonly ContainerRef[]): ContainerNaming {
  const reader = new StateReader(root);
  const trace: string[] = [];
  let podman: Map<string, string> | undefined;
  let pods: string[] | undefined;
  let unnamed = 0;
  const note = (line: string) => {
    if (trace.length < MAX_TRACE) trace.push(`container names: ${line}`);
    else unnamed += 1;
  };

  const named = refs.map((ref): ContainerRef => {
    if (ref.name !== undefined || ref.pod !== undefined) return ref;
    if (ref.podUid !== undefined) {
      pods ??= reader.list(RUNTIME_STATE.pods, note);
      const pod = podFromLogDirs(pods, ref.podUid);
      if (!pod && pods.length) note(`no pod ${ref.podUid} in ${reader.path(RUNTIME_STATE.pods)}`);
      return pod ? { ...ref, pod } : ref;
    }
    if (ref.fullId === undefined) return ref;
    if (ref.runtime === 'podman') {
      podman ??= podmanNames(reader, note);
      const name = podman.get(ref.fullId);
      if (name === undefined && podman.size) note(`podman ${ref.id} is not in podman's containers.json`);
      return name === undefined ? ref : { ...ref, name };
    }
    if (ref.runtime === 'docker') {
      const relative = join(RUNTIME_STATE.docker, ref.fullId, 'config.v2.json');
      const name = reader.parse(relative, MAX_DOCKER_BYTES, (text) => parseDockerConfig(text, ref.fullId!), note);
      return name === undefined ? ref : { ...ref, name };
    }
    return ref;
  });
  if (unnamed > 0) trace.push(`container names: ${unnamed} more ${unnamed === 1 ? 'line' : 'lines'} like these left out`);
  return { refs: named, trace };
}

/** Every storage driver's containers.json: overlay on most hosts, vfs where overlay cannot mount. */
function podmanNames(reader: StateReader, note: (line: string) => void): Map<string, string> {
  const names = new Map<string, string>();
  for (const entry of reader.list(RUNTIME_STATE.podman, note)) {
    if (!/^[a-z0-9]+-containers$/.test(entry)) continue;
    const found = reader.parse(join(RUNTIME_STATE.podman, entry, 'containers.json'), MAX_PODMAN_BYTES, parsePodmanContainers, note);
    for (const [id, name] of found ?? []) names.set(id, name);
  }
  return names;
}

/**
 * Reads below ROOT and nowhere else: a runtime's directory that is a symlink
 * out of the tree (with --root /host, a link to /data would be the checking
 * container's /data, not the host's) is refused, and so is anything but a
 * regular file of a bounded size.
 */
class StateReader {
  private realRoot: string | undefined;

  constructor(private readonly root: string) {}

  path(relative: string): string {
    return join(this.root, relative);
  }

  /** A directory's entries; none, with a trace line, when it cannot be listed. */
  list(relative: string, note: (line: string) => void): string[] {
    const where = this.resolve(relative);
    if (!where.ok) {
      note(`${this.path(relative)}: ${where.reason}`);
      return [];
    }
    try {
      return readdirSync(where.value);
    } catch (err) {
      note(`cannot list ${this.path(relative)}: ${explain(err)}`);
      return [];
    }
  }

  /** A file read and parsed; undefined, with a trace line, when either fails. */
  parse<T>(relative: string, maxBytes: number, parser: (text: string) => Parsed<T>, note: (line: string) => void): T | undefined {
    const text = this.read(relative, maxBytes);
    const parsed = text.ok ? parser(text.value) : text;
    if (!parsed.ok) {
      note(`${this.path(relative)}: ${parsed.reason}`);
      return undefined;
    }
    note(`read ${this.path(relative)}`);
    return parsed.value;
  }

  private read(relative: string, maxBytes: number): Parsed<string> {
    const where = this.resolve(relative);
    if (!where.ok) return where;
    let fd: number;
    try {
      // O_NOFOLLOW: the path was resolved already, so a link here now was swapped in since. O_NONBLOCK: a FIFO must not hang the check.
      fd = openSync(where.value, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch (err) {
      return { ok: false, reason: explain(err) };
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return { ok: false, reason: 'not a regular file' };
      if (st.size > maxBytes) return { ok: false, reason: `${st.size} bytes, more than the ${maxBytes} this check reads` };
      const buffer = Buffer.alloc(Math.min(st.size + 1, maxBytes + 1));
      let length = 0;
      // One byte more than the size: a file that grew since fstat is caught as too large.
      while (length < buffer.length) {
        const n = readSync(fd, buffer, length, buffer.length - length, null);
        if (n === 0) break;
        length += n;
      }
      if (length > maxBytes) return { ok: false, reason: `more than the ${maxBytes} bytes this check reads` };
      return { ok: true, value: buffer.toString('utf8', 0, length) };
    } catch (err) {
      return { ok: false, reason: explain(err) };
    } finally {
      closeSync(fd);
    }
  }

  /** The real path of ROOT/relative, if it stays below ROOT's real path. */
  private resolve(relative: string): Parsed<string> {
    try {
      this.realRoot ??= realpathSync(this.root);
    } catch (err) {
      return { ok: false, reason: `the root ${this.root}: ${explain(err)}` };
    }
    let real: string;
    try {
      real = realpathSync(this.path(relative));
    } catch (err) {
      return { ok: false, reason: explain(err) };
    }
    const inside = this.realRoot === '/' || real === this.realRoot || real.startsWith(`${this.realRoot}/`);
    return inside ? { ok: true, value: real } : { ok: false, reason: `leads to ${real}, outside ${this.root}` };
  }
}

function explain(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return code ?? (err as Error).message;
}
