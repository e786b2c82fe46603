import { preview } from '../parse/decimal';
import { parseKernelRelease } from '../parse/kernel-release';
import { parseProcModules, type ModuleInfo } from '../parse/proc-modules';
import { readSmallFile } from './file-read';
import { procPath, sysPath, type HostPaths } from './host-paths';

export interface ModulesMeasurement {
  /** /proc/modules; 'absent' on a kernel without module support. */
  readonly modules: { status: 'ok'; list: ModuleInfo[] } | { status: 'absent' } | { status: 'error'; reason: string };
  /** nf_conntrack.enable_hooks (5.13+): Y tracks in every namespace, rules or not. */
  readonly enableHooks?: boolean;
  readonly kernel?: { major: number; minor: number };
  readonly release?: string;
}

/** /proc/modules of a busy host is a few KiB; this bounds a hostile one. */
const MAX_MODULES_BYTES = 4 * 1024 * 1024;

export async function probeModules(host: HostPaths): Promise<ModulesMeasurement> {
  const [modules, hooks, release] = await Promise.all([
    readSmallFile(procPath(host, 'modules'), MAX_MODULES_BYTES),
    readSmallFile(sysPath(host, 'module/nf_conntrack/parameters/enable_hooks')),
    readSmallFile(procPath(host, 'sys/kernel/osrelease')),
  ]);
  let list: ModulesMeasurement['modules'];
  if (modules.status === 'ok') {
    const parsed = parseProcModules(modules.text);
    list = parsed.ok ? { status: 'ok', list: parsed.modules } : { status: 'error', reason: `unexpected content in ${modules.path}: ${parsed.reason}` };
  } else if (modules.status === 'missing') list = { status: 'absent' };
  else list = { status: 'error', reason: `cannot read ${modules.path}: ${modules.status === 'error' ? modules.message : 'permission denied'}` };

  const hookText = hooks.status === 'ok' ? hooks.text.trim() : undefined;
  const releaseText = release.status === 'ok' ? preview(release.text.trim(), 64) || undefined : undefined;
  return {
    modules: list,
    enableHooks: hookText === undefined ? undefined : hookText === 'Y' || hookText === '1',
    kernel: releaseText ? parseKernelRelease(releaseText) : undefined,
    release: releaseText,
  };
}
