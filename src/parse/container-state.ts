/**
 * What container runtimes write down about their containers, reduced to the
 * name an operator knows each one by: podman's containers.json, Docker's
 * config.v2.json, the kubelet's /var/log/pods directory names. The files are
 * the runtimes' own, read as they lie, so anything unexpected in them is an
 * answer of "no name" with the reason, never an exception.
 */

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const HEX64 = /^[0-9a-f]{64}$/;
/**
 * Names podman and Docker accept (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`); anything
 * else in the file did not come from them, and could carry control characters
 * into the output.
 */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,252}$/;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/**
 * The files runtimes create in /run/netns for themselves: podman's
 * `netns-<uuid>`, the CNI plugins' (containerd's CRI) `cni-<uuid>`, CRI-O's
 * bare `<uuid>`. Nobody chooses such a name, so it says less than the container.
 */
const RUNTIME_NETNS = new RegExp(`^(?:netns-|cni-)?${UUID}$`);
/** Kubernetes namespaces are DNS labels, pod names DNS subdomains: neither can hold '_', which the kubelet uses to join them. */
const POD_DIR = /^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)_([a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?)_([0-9a-f-]{32,36})$/;

export function isRuntimeNetnsName(name: string): boolean {
  return RUNTIME_NETNS.test(name);
}

/**
 * podman (containers/storage) `<driver>-containers/containers.json`: an array
 * of `{ "id": "<64 hex>", "names": ["web-7f9c"], ... }`. The first name is the
 * one `podman ps` shows. Entries that do not fit are skipped, not fatal: one
 * odd entry must not cost every other container its name.
 */
export function parsePodmanContainers(text: string): Parsed<Map<string, string>> {
  const json = parseJson(text);
  if (!json.ok) return json;
  if (!Array.isArray(json.value)) return { ok: false, reason: 'not a JSON array of containers' };
  const names = new Map<string, string>();
  for (const entry of json.value as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { id, names: given } = entry as { id?: unknown; names?: unknown };
    if (typeof id !== 'string' || !HEX64.test(id) || !Array.isArray(given)) continue;
    const name = given.find((n): n is string => typeof n === 'string' && CONTAINER_NAME.test(n));
    if (name !== undefined) names.set(id, name);
  }
  return { ok: true, value: names };
}

/**
 * Docker `containers/<id>/config.v2.json`: `"ID"` and `"Name": "/web-7f9c"`
 * (the leading slash is Docker's, `docker ps` leaves it out). A file whose ID is
 * another container's is not this one's name.
 */
export function parseDockerConfig(text: string, fullId: string): Parsed<string> {
  const json = parseJson(text);
  if (!json.ok) return json;
  if (typeof json.value !== 'object' || json.value === null || Array.isArray(json.value)) return { ok: false, reason: 'not a JSON object' };
  const { ID: id, Name: raw } = json.value as { ID?: unknown; Name?: unknown };
  if (id !== undefined && id !== fullId)
    return { ok: false, reason: `it is the configuration of container ${typeof id === 'string' ? id.slice(0, 12) : 'of another id'}` };
  if (typeof raw !== 'string') return { ok: false, reason: 'it has no "Name"' };
  const name = raw.startsWith('/') ? raw.slice(1) : raw;
  if (!CONTAINER_NAME.test(name)) return { ok: false, reason: 'its "Name" is not a container name' };
  return { ok: true, value: name };
}

/**
 * The kubelet keeps a pod's logs in `/var/log/pods/<namespace>_<pod>_<uid>/`
 * under both containerd and CRI-O: the one place on the node's disk, besides
 * the runtime's databases, that joins a pod's UID to its name.
 */
export function podFromLogDirs(entries: readonly string[], podUid: string): { namespace: string; name: string } | undefined {
  for (const entry of entries) {
    const m = POD_DIR.exec(entry);
    if (m && m[3] === podUid) return { namespace: m[1]!, name: m[2]! };
  }
  return undefined;
}

function parseJson(text: string): Parsed<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    // The parser's message quotes the text, which may be binary: the file name says enough.
    return { ok: false, reason: 'not valid JSON' };
  }
}
