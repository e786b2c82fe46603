import { pathExists, readSmallFile } from './file-read';
import { procPath, sysPath, type HostPaths } from './host-paths';

/**
 * Which rule listings may run without loading a kernel module. Listing rules
 * must never load one: `nft` (and iptables-nft-save, which speaks the same
 * netlink) on a host where nf_tables is not loaded makes nfnetlink load it,
 * and iptables-legacy-save with no table yet loads ip_tables. A subsystem
 * that is not loaded holds no rules, so there is nothing to list.
 */
export interface ListingGates {
  /** nf_tables is loaded (or built in, or the kernel cannot load modules at all). */
  readonly nfTables: boolean;
  /** iptables-legacy has tables in that family. */
  readonly legacy: { readonly ip: boolean; readonly ip6: boolean };
  /** Why a listing is not run, for the sources a verdict names. */
  readonly notes: string[];
}

/** /proc/modules of a busy host is a few KiB; this bounds a hostile one. */
const MAX_MODULES_BYTES = 4 * 1024 * 1024;

export async function listingGates(host: HostPaths): Promise<ListingGates> {
  const modulesPath = procPath(host, 'modules');
  const [modules, nfTablesDir, ipNames, ip6Names] = await Promise.all([
    readSmallFile(modulesPath, MAX_MODULES_BYTES),
    pathExists(sysPath(host, 'module/nf_tables')),
    readSmallFile(procPath(host, 'net/ip_tables_names')),
    readSmallFile(procPath(host, 'net/ip6_tables_names')),
  ]);
  const listed = modules.status === 'ok' ? new Set(modules.text.split('\n').map((l) => l.split(' ', 1)[0])) : undefined;
  // No /proc/modules: a kernel built without module support, where nothing can be loaded.
  const noModules = modules.status === 'missing';
  const loaded = (name: string) => noModules || (listed?.has(name) ?? false);
  const notes: string[] = [];

  // Built in, nf_tables is in /sys/module but not in /proc/modules.
  const nfTables = loaded('nf_tables') || nfTablesDir;
  if (!nfTables)
    notes.push(`nf_tables not loaded (${modules.status === 'ok' ? modulesPath : `${modulesPath} unreadable`}): no nftables rules`);

  const legacy = (names: typeof ipNames, module: string, family: string): boolean => {
    if (names.status === 'ok') {
      if (names.text.trim() !== '') return true;
    } else if (names.status !== 'missing' && loaded(module)) {
      // Unreadable (not root): the module holding its tables says whether there are any.
      return true;
    }
    notes.push(`no ${family}-legacy tables (${names.path})`);
    return false;
  };
  return { nfTables, legacy: { ip: legacy(ipNames, 'ip_tables', 'iptables'), ip6: legacy(ip6Names, 'ip6_tables', 'ip6tables') }, notes };
}
