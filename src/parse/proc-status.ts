/** What /proc/PID/status says about a process's identity and privileges. */
export interface ProcessPrivileges {
  uid: number;
  gids: number[];
  /** Effective capability set, a bit per capability. */
  capEff: bigint;
}

export const CAP_NET_ADMIN = 12;
export const CAP_SYSLOG = 34;

export function hasCapability(p: ProcessPrivileges, cap: number): boolean {
  return ((p.capEff >> BigInt(cap)) & 1n) === 1n;
}

export function parseProcStatus(text: string): ProcessPrivileges | undefined {
  let uid: number | undefined;
  let gids: number[] = [];
  let capEff: bigint | undefined;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (key === 'Uid') {
      // real, effective, saved, filesystem: the effective one decides access.
      const effective = decimalField(value, 1);
      if (effective !== undefined) uid = effective;
    } else if (key === 'Gid') {
      const effective = decimalField(value, 1);
      if (effective !== undefined) gids.push(effective);
    } else if (key === 'Groups') {
      gids = gids.concat(
        value
          .split(/\s+/)
          .filter((g) => /^\d+$/.test(g) && Number.isSafeInteger(Number(g)))
          .map(Number),
      );
    } else if (key === 'CapEff' && /^[0-9a-fA-F]{1,32}$/.test(value)) {
      capEff = BigInt(`0x${value}`);
    }
  }
  if (uid === undefined || capEff === undefined) return undefined;
  return { uid, gids: [...new Set(gids)], capEff };
}

/** Group names from /etc/group text, for "are we in adm / systemd-journal". */
export function parseGroupFile(text: string): Map<string, number> {
  const groups = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    // The first entry of a name wins, as getgrnam(3) has it.
    if (name && gid && /^\d+$/.test(gid) && Number.isSafeInteger(Number(gid)) && !groups.has(name)) groups.set(name, Number(gid));
  }
  return groups;
}

function decimalField(value: string, index: number): number | undefined {
  const field = value.split(/\s+/)[index] ?? '';
  const n = Number(field);
  return /^\d+$/.test(field) && Number.isSafeInteger(n) ? n : undefined;
}
