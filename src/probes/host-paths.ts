import { join } from 'node:path';

/**
 * Where the host's /proc and /sys are. Every probe resolves its paths through
 * this, so the plugin can read a host's /proc mounted into a container and the
 * tests can point it at a fixture tree.
 */
export interface HostPaths {
  readonly procRoot: string;
  readonly sysRoot: string;
  /** Where the host's file system is (--root), for /run/netns and the container runtimes' state; '/' when unset. */
  readonly root?: string;
}

export const DEFAULT_HOST_PATHS: HostPaths = { procRoot: '/proc', sysRoot: '/sys' };

export function procPath(host: HostPaths, relative: string): string {
  return join(host.procRoot, relative);
}

export function sysPath(host: HostPaths, relative: string): string {
  return join(host.sysRoot, relative);
}
