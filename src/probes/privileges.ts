import { userInfo } from 'node:os';
import { parseUnsignedDecimal } from '../parse/decimal';
import { hasCapability, parseGroupFile, parseProcStatus, CAP_NET_ADMIN, CAP_SYSLOG } from '../parse/proc-status';
import { readSmallFile } from './file-read';
import { procPath, type HostPaths } from './host-paths';

/**
 * What this process may do, learnt from /proc before anything is tried: a
 * check that knows dmesg will be refused does not start it. Every field errs
 * on the side of trying (a wrong "may" costs one refused command; a wrong
 * "may not" would hide evidence).
 */
export interface Privileges {
  uid: number;
  /** This user's name, when the uid has one. */
  user?: string;
  root: boolean;
  /** CAP_SYSLOG, or kernel.dmesg_restrict = 0: /dev/kmsg and dmesg are readable. */
  mayReadKernelLog: boolean;
  dmesgRestrict?: number;
  /** CAP_NET_ADMIN: netlink for conntrack -S and rule listings. */
  netAdmin: boolean;
  /** Member of a group that may read the journal or /var/log (adm, systemd-journal, wheel). */
  logGroups: string[];
}

const LOG_GROUPS = ['adm', 'systemd-journal', 'wheel'];

/** The name an operator knows the user by, for the fixes the output gives; undefined when the uid has none. */
function userName(uid: number): string | undefined {
  try {
    return uid === process.getuid?.() ? userInfo().username : undefined;
  } catch {
    return undefined; // a uid without a passwd entry (a container's arbitrary uid)
  }
}

export async function probePrivileges(host: HostPaths): Promise<Privileges> {
  const [status, restrict, groupFile] = await Promise.all([
    readSmallFile(procPath(host, 'self/status')),
    readSmallFile(procPath(host, 'sys/kernel/dmesg_restrict')),
    readSmallFile('/etc/group', 1024 * 1024),
  ]);
  const parsed = status.status === 'ok' ? parseProcStatus(status.text) : undefined;
  // Without /proc/self/status (a fixture tree, an odd mount) fall back to what
  // Node knows of this process.
  const uid = parsed?.uid ?? process.getuid?.() ?? -1;
  const root = uid === 0;
  const capEff = parsed?.capEff ?? (root ? (1n << 41n) - 1n : 0n);
  const restrictValue = restrict.status === 'ok' ? parseUnsignedDecimal(restrict.text) : undefined;
  const dmesgRestrict = restrictValue?.ok ? restrictValue.value : undefined;
  const syslog = hasCapability({ uid, gids: [], capEff }, CAP_SYSLOG);

  const gids = new Set(parsed?.gids ?? process.getgroups?.() ?? []);
  const names = groupFile.status === 'ok' ? parseGroupFile(groupFile.text) : new Map<string, number>();
  const logGroups = LOG_GROUPS.filter((g) => {
    const gid = names.get(g);
    return gid !== undefined && gids.has(gid);
  });

  return {
    uid,
    user: userName(uid),
    root,
    mayReadKernelLog: syslog || dmesgRestrict === 0 || dmesgRestrict === undefined,
    dmesgRestrict,
    netAdmin: hasCapability({ uid, gids: [], capEff }, CAP_NET_ADMIN),
    logGroups,
  };
}
