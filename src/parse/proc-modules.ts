import { preview } from './printable';

/** One line of /proc/modules. */
export interface ModuleInfo {
  name: string;
  /** Bytes of memory the module takes. */
  size: number;
  /**
   * The kernel's reference count: its users plus anything else holding it (a rule
   * using a match or target, a table with rules, a socket). -1 when the kernel has
   * no module unloading (CONFIG_MODULE_UNLOAD off), where it prints `-`.
   */
  useCount: number;
  /**
   * Modules that use this one, as listed; `[permanent]` is kept as the kernel prints
   * it (a module with no exit function, which can never be unloaded).
   */
  users: string[];
  /** `Live`, `Loading` or `Unloading`; '' where the line has no such column (lsmod output). */
  state: string;
}

export type ModulesParse = { ok: true; modules: ModuleInfo[] } | { ok: false; reason: string };

/** What the kernel prints in the users column for a module without an exit function. */
export const PERMANENT = '[permanent]';

/**
 * Modules whose presence means conntrack is (or can be) in the packet path: the
 * list of section 4 of the kernel reference, plus the old ip_conntrack names of
 * 2.6.18 and the few other modules that cannot work without conntrack. The
 * nf_defrag modules are in because the reference counts them and because they are
 * part of what must be unloaded; alone (without nf_conntrack) they come from
 * xt_socket or TPROXY and mean only reassembly, not tracking.
 */
export const CONNTRACK_MODULES: readonly string[] = Object.freeze([
  'nf_conntrack',
  'nf_conntrack_ipv4',
  'nf_conntrack_ipv6',
  'nf_conntrack_netlink',
  'nf_defrag_ipv4',
  'nf_defrag_ipv6',
  'nf_nat',
  'nf_nat_ipv4',
  'nf_nat_ipv6',
  'iptable_nat',
  'ip6table_nat',
  'nft_chain_nat',
  'nft_nat',
  'nft_masq',
  'nft_redir',
  'nft_ct',
  'nft_connlimit',
  'nft_flow_offload',
  'nft_synproxy',
  'xt_conntrack',
  'xt_state',
  'xt_nat',
  'xt_CT',
  'xt_connmark',
  'xt_CONNMARK',
  'xt_connlimit',
  'xt_connbytes',
  'xt_connlabel',
  'xt_helper',
  'xt_cluster',
  'xt_MASQUERADE',
  'xt_REDIRECT',
  'xt_NETMAP',
  'xt_SYNPROXY',
  'ipt_MASQUERADE',
  'ip6t_MASQUERADE',
  'ipt_REDIRECT',
  'ipt_NETMAP',
  'ipt_SYNPROXY',
  'ip6t_SYNPROXY',
  'ipt_CLUSTERIP',
  'ipt_state',
  'ipt_conntrack',
  'nf_conncount',
  'nf_synproxy_core',
  'nf_flow_table',
  'nfnetlink_cthelper',
  'nfnetlink_cttimeout',
  'ip_conntrack',
  'ip_nat',
  'openvswitch',
  'act_ct',
]);

/**
 * Families of modules named after what they extend: conntrack helpers and
 * protocols (nf_conntrack_ftp, nf_conntrack_proto_gre), NAT helpers
 * (nf_nat_ftp, nf_nat_masquerade_ipv4), the 4.x per-family nft NAT modules
 * (nft_chain_nat_ipv4, nft_masq_ipv6) and the 2.6.18 ip_conntrack_* / ip_nat_* helpers.
 */
export const CONNTRACK_MODULE_PREFIXES: readonly string[] = Object.freeze([
  'nf_conntrack_',
  'nf_nat_',
  'nft_chain_nat_',
  'nft_masq_',
  'nft_redir_',
  'nf_flow_table_',
  'ip_conntrack_',
  'ip_nat_',
]);

const CONNTRACK_SET: ReadonlySet<string> = new Set(CONNTRACK_MODULES);

/**
 * Module names as the kernel keeps them: modprobe takes `-` and `_` as the same
 * character and the kernel stores `_`, so a name given either way is compared the
 * kernel's way.
 */
export function normalizeModuleName(name: string): string {
  return name.replace(/-/g, '_');
}

/**
 * True for a module that means conntrack is in, or can be put into, the packet
 * path. Not for the table and match machinery that works without it (ip_tables,
 * x_tables, iptable_filter, nf_tables, nft_compat, xt_addrtype, br_netfilter).
 */
export function isConntrackModule(name: string): boolean {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME) return false;
  const n = normalizeModuleName(name);
  if (CONNTRACK_SET.has(n)) return true;
  return CONNTRACK_MODULE_PREFIXES.some((prefix) => n.length > prefix.length && n.startsWith(prefix));
}

// MODULE_NAME_LEN is 64 bytes less a pointer, so 55 characters on 64-bit kernels;
// the rest is room for kernels that change it, not for anything real.
const MAX_NAME = 64;
const NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Distributions load a few hundred modules; the cap only stops a runaway input. */
const MAX_LINES = 65536;
const STATE = /^[A-Za-z]{1,32}$/;
// 0x%px on 64-bit and 32-bit kernels; %pK prints zeros for readers it hides them from.
const ADDRESS = /^0x[0-9a-fA-F]{1,16}$/;
// Taint flags of an out-of-tree, unsigned or proprietary module (" (POE)"), with
// "+" or "-" added while it is loading or unloading.
const TAINTS = /^\([A-Z+-]{1,24}\)$/;
const DECIMAL = /^\d{1,15}$/;
// The header of `lsmod`, which prints the same columns minus state and address.
const LSMOD_HEADER = /^Module[ \t]+Size[ \t]+Used by[ \t]*$/;

/** preview() of the start only: it would otherwise copy all of a 1 MB field first. */
function excerpt(text: string): string {
  return preview(text.length > 41 ? text.slice(0, 41) : text);
}

/**
 * Fields split on runs of spaces and tabs only, so that any other character (NUL
 * included) stays inside a field and is refused there.
 */
function fieldsOf(line: string): string[] {
  const fields = line.split(/[ \t]+/);
  if (fields[0] === '') fields.shift();
  if (fields[fields.length - 1] === '') fields.pop();
  return fields;
}

/**
 * The users column: names each followed by a comma (the kernel prints one after
 * every name, the last included), `-` for none. lsmod drops the final comma.
 */
function parseUsers(field: string): string[] | undefined {
  if (field === '-') return [];
  const users: string[] = [];
  for (const user of field.split(',')) {
    if (user === '') continue;
    if (user !== PERMANENT && !NAME.test(user)) return undefined;
    users.push(user);
  }
  return users.length > 0 ? users : undefined;
}

function parseLine(fields: string[], number: number): { ok: true; module: ModuleInfo } | { ok: false; reason: string } {
  const where = `line ${number}`;
  const [name, size, count] = fields as [string, string | undefined, string | undefined];
  if (!NAME.test(name)) return { ok: false, reason: `${where}: '${excerpt(name)}' is not a module name` };
  if (size === undefined || count === undefined) {
    return { ok: false, reason: `${where} has ${fields.length} field${fields.length === 1 ? '' : 's'}, not name, size and use count` };
  }
  if (!DECIMAL.test(size)) return { ok: false, reason: `${where}: size '${excerpt(size)}' is not a whole number` };
  if (count !== '-' && !DECIMAL.test(count)) return { ok: false, reason: `${where}: use count '${excerpt(count)}' is not a whole number` };
  if (fields.length > 7) return { ok: false, reason: `${where} has ${fields.length} fields, more than /proc/modules gives` };

  const module: ModuleInfo = { name, size: Number(size), useCount: count === '-' ? -1 : Number(count), users: [], state: '' };
  let i = 3;
  // Always the users column where there is a fourth field: /proc/modules prints it
  // even when empty, and lsmod, which leaves it out then, has no column after it.
  const usersField = fields[i];
  if (usersField !== undefined) {
    const users = parseUsers(usersField);
    if (users === undefined) return { ok: false, reason: `${where}: '${excerpt(usersField)}' is not a list of modules` };
    module.users = users;
    i += 1;
  }
  const state = fields[i];
  if (state !== undefined) {
    if (!STATE.test(state)) return { ok: false, reason: `${where}: '${excerpt(state)}' is not a module state` };
    module.state = state;
    i += 1;
  }
  const address = fields[i];
  if (address !== undefined) {
    if (!ADDRESS.test(address)) return { ok: false, reason: `${where}: '${excerpt(address)}' is not a load address` };
    i += 1;
  }
  const taints = fields[i];
  if (taints !== undefined) {
    if (!TAINTS.test(taints)) return { ok: false, reason: `${where}: '${excerpt(taints)}' is not a taint flag list` };
    i += 1;
  }
  if (i !== fields.length) return { ok: false, reason: `${where}: '${excerpt(fields[i] ?? '')}' is more than /proc/modules gives` };
  return { ok: true, module };
}

/**
 * /proc/modules text (lsmod output too). Lines are `name size count users state
 * address [taints]`; kernels without module unloading print `-` for count and
 * users, and lsmod has no state or address. An empty file is a kernel with module
 * support and nothing loaded; a kernel without module support has no file at all,
 * which is for the caller to tell apart.
 */
export function parseProcModules(text: string): ModulesParse {
  if (typeof text !== 'string') return { ok: false, reason: 'it is not text' };
  const modules: ModuleInfo[] = [];
  const lineOf = new Map<string, number>();
  let start = 0;
  let number = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, text.charCodeAt(end - 1) === 13 && end > start ? end - 1 : end);
    start = end + 1;
    number += 1;
    const fields = fieldsOf(line);
    if (fields.length === 0) continue;
    if (number === 1 && LSMOD_HEADER.test(line)) continue;
    if (modules.length >= MAX_LINES) return { ok: false, reason: `there are more than ${MAX_LINES} modules` };
    const parsed = parseLine(fields, number);
    if (!parsed.ok) return parsed;
    const earlier = lineOf.get(parsed.module.name);
    // The kernel refuses to load a name twice; a repeat means two files run together.
    if (earlier !== undefined) return { ok: false, reason: `line ${number} repeats the module '${parsed.module.name}' of line ${earlier}` };
    lineOf.set(parsed.module.name, number);
    modules.push(parsed.module);
  }
  return { ok: true, modules };
}
