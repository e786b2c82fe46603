import { preview } from '../parse/printable';
import { readSmallFile, pathExists } from './file-read';
import { procPath, sysPath, type HostPaths } from './host-paths';
import { readSysctlNumber, type SysctlReading } from './sysctl';

/** How connection tracking is present in the kernel, as /sys/module shows it. */
export type ConntrackModule = 'loadable' | 'builtin' | 'absent';

export interface TableMeasurement {
  readonly count: SysctlReading;
  readonly max: SysctlReading;
  readonly buckets: SysctlReading;
  readonly module: ConntrackModule;
  readonly moduleName?: string;
  readonly kernelRelease?: string;
}

/** Names by kernel era: nf_conntrack (2.6.15+), ip_conntrack compatibility and RHEL 5. */
export const COUNT_FILES = ['sys/net/netfilter/nf_conntrack_count', 'sys/net/ipv4/netfilter/ip_conntrack_count'];
export const MAX_FILES = [
  'sys/net/netfilter/nf_conntrack_max',
  'sys/net/nf_conntrack_max',
  'sys/net/ipv4/netfilter/ip_conntrack_max',
  'sys/net/ipv4/ip_conntrack_max',
];
export const BUCKETS_FILES = ['sys/net/netfilter/nf_conntrack_buckets', 'sys/net/ipv4/netfilter/ip_conntrack_buckets'];

/**
 * /sys/module/NAME exists when the code is built in or loaded; `initstate`
 * exists only for a loadable module. This works without /proc/modules, which a
 * kernel without module support does not have. Only loaded modules are listed
 * in /proc/modules, so a name there is a module even where /sys is not
 * mounted or initstate cannot be read.
 */
async function probeModule(host: HostPaths): Promise<{ module: ConntrackModule; moduleName?: string }> {
  let listed: string | undefined;
  for (const name of ['nf_conntrack', 'ip_conntrack']) {
    const dir = sysPath(host, `module/${name}`);
    if (await pathExists(`${dir}/initstate`)) return { module: 'loadable', moduleName: name };
    listed ??= await listedModules(host);
    if (listed !== undefined && new RegExp(`^${name} `, 'm').test(listed)) return { module: 'loadable', moduleName: name };
    if (await pathExists(dir)) return { module: 'builtin', moduleName: name };
  }
  return { module: 'absent' };
}

async function listedModules(host: HostPaths): Promise<string | undefined> {
  const read = await readSmallFile(procPath(host, 'modules'), 4 * 1024 * 1024);
  return read.status === 'ok' ? read.text : undefined;
}

async function probeKernelRelease(host: HostPaths): Promise<string | undefined> {
  const read = await readSmallFile(procPath(host, 'sys/kernel/osrelease'));
  // The kernel's release string is at most 64 characters; anything else is
  // shown bounded and printable.
  return read.status === 'ok' ? preview(read.text.trim(), 64) || undefined : undefined;
}

export async function probeTable(host: HostPaths): Promise<TableMeasurement> {
  const [count, max, buckets, module, kernelRelease] = await Promise.all([
    readSysctlNumber(host, COUNT_FILES),
    readSysctlNumber(host, MAX_FILES),
    readSysctlNumber(host, BUCKETS_FILES),
    probeModule(host),
    probeKernelRelease(host),
  ]);
  return { count, max, buckets, ...module, kernelRelease };
}
