/**
 * Who a process belongs to, from /proc/PID/cgroup: a container or a systemd
 * service. Used to put a name to a network namespace that `ip netns` does not
 * name, so that "table full in netns 4026532315" can say which container that is.
 */
export interface ContainerRef {
  /** 'kubernetes' when only the pod says so: a cgroupfs-driver path does not tell docker from containerd. */
  runtime: 'docker' | 'containerd' | 'cri-o' | 'podman' | 'lxc' | 'kubernetes';
  /** The short id `docker ps` shows (12 hex digits), or an LXC container's name. */
  id: string;
  /** The whole 64-hex id, under which the runtime keeps the container's state. */
  fullId?: string;
  podUid?: string;
  /** The name the runtime knows the container by: from its state files, or the cgroup itself for LXC. */
  name?: string;
  /** The pod, from the kubelet's directories: what `kubectl get pods -n NAMESPACE` lists. */
  pod?: { namespace: string; name: string };
}

const HEX64 = '[0-9a-f]{64}';
/**
 * The scope names runtimes give a container under the systemd cgroup driver
 * (and podman and CRI-O under cgroupfs, with the same names as plain
 * directories). The conmon processes (`libpod-conmon-<id>`, `crio-conmon-<id>`)
 * supervise a container from the host's namespace, so they must not match.
 */
const SCOPES: ReadonlyArray<{ pattern: RegExp; runtime: ContainerRef['runtime'] }> = [
  { pattern: new RegExp(`^docker-(${HEX64})\\.scope$`), runtime: 'docker' },
  { pattern: new RegExp(`^cri-containerd-(${HEX64})\\.scope$`), runtime: 'containerd' },
  { pattern: new RegExp(`^crio-(${HEX64})(?:\\.scope)?$`), runtime: 'cri-o' },
  { pattern: new RegExp(`^libpod-(${HEX64})(?:\\.scope)?$`), runtime: 'podman' },
];
const BARE_ID = new RegExp(`^${HEX64}$`);
/** Pod UIDs are UUIDs, except a static pod's, which is a 32-hex hash of its manifest. */
const POD_UID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/;
/** A unit name as systemd allows it; anything else in the file is not systemd's. */
const SERVICE = /^[A-Za-z0-9:_.\\@-]{1,248}\.service$/;
/**
 * LXC 4+ on cgroup v2 (`lxc.payload.NAME`); earlier ones used `lxc/NAME` or `lxc.payload/NAME`.
 * `lxc.monitor.NAME` is the host-side monitor.
 */
const LXC_PAYLOAD = /^lxc\.payload\.(.+)$/;
const LXC_PARENTS = new Set(['lxc', 'lxc.payload']);

export function containerFromCgroup(text: string): ContainerRef | undefined {
  for (const path of cgroupPaths(text)) {
    const found = containerInPath(path);
    if (found) return found;
  }
  return undefined;
}

/**
 * A container's processes are not a service's even where a cgroup line says
 * so: on hybrid hosts docker leaves the unified line at
 * `0::/system.slice/containerd.service` for every container.
 */
export function unitFromCgroup(text: string): string | undefined {
  if (containerFromCgroup(text)) return undefined;
  // Only systemd's own hierarchies: a v1 controller line can lag behind a move.
  for (const path of cgroupPaths(text, false)) {
    const unit = path
      .split('/')
      .filter((part) => SERVICE.test(part))
      .pop();
    if (unit) return unit;
  }
  return undefined;
}

/**
 * Paths, most telling first: name=systemd (present only where systemd runs
 * v1 or hybrid, and then authoritative), the unified line, then the v1
 * controllers, which a host without systemd may be left with alone.
 */
function cgroupPaths(text: string, withControllers = true): string[] {
  const systemd: string[] = [];
  const unified: string[] = [];
  const controllers: string[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) continue;
    const names = line.slice(first + 1, second);
    // A path may itself contain ':'; everything after the second one is the path.
    const path = line.slice(second + 1);
    if (!path.startsWith('/')) continue;
    if (names === 'name=systemd') systemd.push(path);
    else if (names === '' && line.slice(0, first) === '0') unified.push(path);
    else controllers.push(path);
  }
  return withControllers ? [...systemd, ...unified, ...controllers] : [...systemd, ...unified];
}

/**
 * The deepest container in the path wins: with docker in LXC, or a container
 * running its own systemd, the innermost one is the process's own (and its
 * network namespace's). A pod UID applies to the container below it.
 */
function containerInPath(path: string): ContainerRef | undefined {
  const parts = path.split('/').filter((part) => part !== '');
  let found: ContainerRef | undefined;
  let podUid: string | undefined;
  let underKubepods = false;
  parts.forEach((part, i) => {
    const parent = parts[i - 1];
    if (part.startsWith('kubepods')) underKubepods = true;
    const pod = podUidOf(part, underKubepods);
    if (pod) {
      podUid = pod;
      return;
    }
    const ref = containerOf(part, parent, podUid);
    if (ref) found = ref;
  });
  return found;
}

function containerOf(part: string, parent: string | undefined, podUid: string | undefined): ContainerRef | undefined {
  for (const { pattern, runtime } of SCOPES) {
    const id = pattern.exec(part)?.[1];
    if (id) return withPod({ runtime, id: id.slice(0, 12), fullId: id }, podUid);
  }
  if (BARE_ID.test(part)) {
    // Under the cgroupfs driver a pod's containers are bare ids, whichever runtime made them.
    if (podUid) return { runtime: 'kubernetes', id: part.slice(0, 12), fullId: part, podUid };
    if (parent === 'docker') return { runtime: 'docker', id: part.slice(0, 12), fullId: part };
    // Elsewhere a bare id could be any runc user's: better no name than a wrong one.
    return undefined;
  }
  const lxc = LXC_PAYLOAD.exec(part)?.[1] ?? (parent !== undefined && LXC_PARENTS.has(parent) ? part : undefined);
  return lxc ? { runtime: 'lxc', id: lxc, name: lxc } : undefined;
}

function withPod(ref: ContainerRef, podUid: string | undefined): ContainerRef {
  return podUid ? { ...ref, podUid } : ref;
}

/**
 * `pod<uid>` (cgroupfs driver, only below a kubepods cgroup) or
 * `kubepods-<qos>-pod<uid>.slice` (systemd driver, which turns the UID's '-'
 * into '_' because '-' nests slices).
 */
function podUidOf(part: string, underKubepods: boolean): string | undefined {
  const raw =
    /^kubepods(?:-[a-z]+)?-pod([0-9a-f_]+)\.slice$/.exec(part)?.[1] ?? (underKubepods ? /^pod([0-9a-f-]+)$/.exec(part)?.[1] : undefined);
  const uid = raw?.replace(/_/g, '-');
  return uid !== undefined && POD_UID.test(uid) ? uid : undefined;
}
