/**
 * Every command the plugin may ever run, in one place, so that an audit test
 * can prove no code path runs anything else (above all, nothing that looks a
 * netfilter table up by name and so loads conntrack modules).
 */
export interface CommandSpec {
  /** Program name, found by absolute path in SEARCH_DIRS. */
  readonly program: string;
  readonly args: readonly string[];
}

export const SEARCH_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'] as const;

/** The kernel ring buffer with raw priorities and seconds since boot: `<4>[  152.332874] text`. */
export const DMESG: CommandSpec = { program: 'dmesg', args: ['-r'] };

/** conntrack-tools' per-CPU statistics over netlink, for kernels without /proc/net/stat/nf_conntrack. */
export const CONNTRACK_STATS: CommandSpec = { program: 'conntrack', args: ['-S'] };

/** Kernel messages of the current boot from the journal since a time, with epoch timestamps. */
export function journalKernel(sinceEpochSeconds: number): CommandSpec {
  return {
    program: 'journalctl',
    args: ['-k', '-b', '-q', '--no-pager', '-o', 'short-unix', '--since', `@${Math.floor(sinceEpochSeconds)}`],
  };
}

/**
 * The last kernel message of the current boot before a time: whether the journal
 * holds the kernel's messages at all, when a window of it came back empty.
 */
export function journalKernelBefore(untilEpochSeconds: number): CommandSpec {
  return {
    program: 'journalctl',
    args: ['-k', '-b', '-q', '--no-pager', '-o', 'short-unix', '-n', '1', '--until', `@${Math.floor(untilEpochSeconds)}`],
  };
}

/**
 * Rule listings. Each dumps only tables that already exist; none looks a
 * table up by name, which on older kernels loads the nat and conntrack
 * modules (`iptables -t nat -L` does, and starts the very problem the check
 * looks for). Both iptables backends can hold rules at once.
 */
export const RULE_LISTINGS: readonly CommandSpec[] = [
  { program: 'iptables-legacy-save', args: [] },
  { program: 'iptables-nft-save', args: [] },
  { program: 'ip6tables-legacy-save', args: [] },
  { program: 'ip6tables-nft-save', args: [] },
];

/** Hosts older than the -legacy/-nft split (RHEL 7 and before) have only these. */
export const RULE_LISTINGS_PLAIN: readonly CommandSpec[] = [
  { program: 'iptables-save', args: [] },
  { program: 'ip6tables-save', args: [] },
];

/** The nftables tables, one line each (nft 1.0 fetches every rule for it all the same, but prints none). */
export const NFT_TABLES: CommandSpec = { program: 'nft', args: ['list', 'tables'] };

/** Every nftables rule as text, read line by line (its JSON costs nft several times more). For --sudo, which cannot name tables ahead. */
export const NFT_RULESET: CommandSpec = { program: 'nft', args: ['list', 'ruleset'] };

export const NFT_FAMILIES: readonly string[] = ['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'];
/**
 * nft joins its arguments into one command line and parses that: a table
 * name is passed on only when it is a plain identifier, nothing nft could
 * read as more words.
 */
export const NFT_TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,255}$/;

/** One nftables table, as text: what the -nft-save dumps do not show. */
export function nftListTable(family: string, name: string): CommandSpec {
  return { program: 'nft', args: ['list', 'table', family, name] };
}

/**
 * Every entry of the table, for --breakdown where /proc/net/nf_conntrack is missing or root-only.
 * Read as a stream, never buffered whole.
 */
export const CONNTRACK_LIST: CommandSpec = { program: 'conntrack', args: ['-L'] };

/** syslog(3) severities for the plugin's states: OK info, WARNING warning, CRITICAL crit, UNKNOWN err. */
export const SYSLOG_PRIORITIES = ['daemon.info', 'daemon.warning', 'daemon.crit', 'daemon.err'] as const;

/** The longest message sent: a status line within NRPE's 1 KiB. */
export const SYSLOG_MAX_CHARS = 1024;

/**
 * util-linux's logger, for --syslog: Node cannot write to the /dev/log datagram
 * socket itself. The message is one argument after `--`, never parsed as an
 * option. Without --socket-errors=on, logger on a host without systemd says
 * nothing and exits 0 when no syslog daemon listens.
 */
export function syslogMessage(priority: (typeof SYSLOG_PRIORITIES)[number], message: string): CommandSpec {
  return {
    program: 'logger',
    args: ['--socket-errors=on', '-t', 'check_conntrack', '-p', priority, '--', message.slice(0, SYSLOG_MAX_CHARS)],
  };
}

/**
 * The one recipient --mail-to takes: a local user (root) or user@domain, in
 * characters no mail transfer agent reads as more than an address (no '|' or
 * '/' that an alias file would take for a pipe or a file, no leading '-' that
 * sendmail would take for an option). Several people: an alias in /etc/aliases.
 */
export const MAIL_ADDRESS =
  /^(?=.{1,254}$)[A-Za-z0-9_][A-Za-z0-9_.+=-]*(?:@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)?$/;

/**
 * The mail transfer agent's sendmail front end, for --mail-to: the message on
 * stdin, the recipient after `--`, and -oi so that a line with a lone dot does
 * not end the message early. exim4 and postfix both install it here.
 */
export function sendmailTo(address: string): CommandSpec {
  return { program: 'sendmail', args: ['-oi', '--', address] };
}

/** `ip netns` names are file names in /run/netns; these are the ones we pass on. */
export const NETNS_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;

/**
 * The counters of a named namespace that no process is in: the only way to
 * read them without setns() is a program run inside it. Used only then.
 */
export function netnsStat(name: string, cat: string): CommandSpec {
  return { program: 'ip', args: ['netns', 'exec', name, cat, '/proc/net/stat/nf_conntrack'] };
}

/** Commands that may also run through `sudo -n`: fixed argument lists a sudoers line can name exactly. */
export const SUDO_COMMANDS: readonly CommandSpec[] = [
  DMESG,
  CONNTRACK_STATS,
  CONNTRACK_LIST,
  ...RULE_LISTINGS,
  ...RULE_LISTINGS_PLAIN,
  NFT_RULESET,
];

/** The shapes allowed, for the audit: a program and a predicate on its arguments. */
export const ALLOWED: ReadonlyArray<{ program: string; allows(args: readonly string[]): boolean }> = [
  { program: 'dmesg', allows: (a) => same(a, DMESG.args) },
  { program: 'conntrack', allows: (a) => same(a, CONNTRACK_STATS.args) || same(a, CONNTRACK_LIST.args) },
  {
    program: 'journalctl',
    allows: (a) =>
      (same(a.slice(0, -1), journalKernel(0).args.slice(0, -1)) || same(a.slice(0, -1), journalKernelBefore(0).args.slice(0, -1))) &&
      /^@\d+$/.test(a[a.length - 1] ?? ''),
  },
  ...[...RULE_LISTINGS, ...RULE_LISTINGS_PLAIN].map((c) => ({ program: c.program, allows: (a: readonly string[]) => a.length === 0 })),
  {
    program: 'nft',
    allows: (a) =>
      same(a, NFT_TABLES.args) ||
      same(a, NFT_RULESET.args) ||
      (a.length === 4 && a[0] === 'list' && a[1] === 'table' && NFT_FAMILIES.includes(a[2] ?? '') && NFT_TABLE_NAME.test(a[3] ?? '')),
  },
  {
    program: 'logger',
    allows: (a) =>
      a.length === 7 &&
      same(a.slice(0, 4), ['--socket-errors=on', '-t', 'check_conntrack', '-p']) &&
      (SYSLOG_PRIORITIES as readonly string[]).includes(a[4] ?? '') &&
      a[5] === '--' &&
      (a[6] ?? '').length <= SYSLOG_MAX_CHARS,
  },
  {
    program: 'sendmail',
    allows: (a) => a.length === 3 && a[0] === '-oi' && a[1] === '--' && MAIL_ADDRESS.test(a[2] ?? ''),
  },
  {
    program: 'ip',
    allows: (a) =>
      a.length === 5 &&
      a[0] === 'netns' &&
      a[1] === 'exec' &&
      NETNS_NAME.test(a[2] ?? '') &&
      /^\/(usr\/)?bin\/cat$/.test(a[3] ?? '') &&
      a[4] === '/proc/net/stat/nf_conntrack',
  },
];

export function isAllowed(spec: CommandSpec): boolean {
  return ALLOWED.some((a) => a.program === spec.program && a.allows(spec.args));
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
