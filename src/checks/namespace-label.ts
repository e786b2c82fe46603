import { isRuntimeNetnsName } from '../parse/container-state';
import type { NamespaceInfo } from '../probes/namespaces';

/**
 * How an operator recognises a namespace: the name someone gave it with `ip
 * netns add`, its container or pod as `podman ps` or `kubectl get pods` shows
 * it, else the container's id, a runtime's own /run/netns name, its service,
 * or its oldest command.
 */
export function namespaceLabel(info: NamespaceInfo): string {
  const given = info.names.find((n) => !isRuntimeNetnsName(n));
  const c = info.container;
  if (given === undefined && c !== undefined) {
    if (c.pod) return `pod ${c.pod.namespace}/${c.pod.name} (${c.id}, netns ${info.inode})`;
    if (c.name !== undefined)
      return c.name === c.id ? `${c.runtime} ${c.name} (netns ${info.inode})` : `${c.runtime} ${c.name} (${c.id}, netns ${info.inode})`;
  }
  const name = given ?? (c ? `${c.runtime} ${c.id}` : undefined) ?? info.names[0] ?? info.unit ?? info.command ?? 'netns';
  return `netns ${name} (${info.inode})`;
}
