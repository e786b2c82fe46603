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

/** Commands that may also run through `sudo -n`: fixed argument lists a sudoers line can name exactly. */
export const SUDO_COMMANDS: readonly CommandSpec[] = [DMESG, CONNTRACK_STATS];

/** The shapes allowed, for the audit: a program and a predicate on its arguments. */
export const ALLOWED: ReadonlyArray<{ program: string; allows(args: readonly string[]): boolean }> = [
  { program: 'dmesg', allows: (a) => same(a, DMESG.args) },
  { program: 'conntrack', allows: (a) => same(a, CONNTRACK_STATS.args) },
  { program: 'journalctl', allows: (a) => same(a.slice(0, -1), journalKernel(0).args.slice(0, -1)) && /^@\d+$/.test(a[a.length - 1] ?? '') },
];

export function isAllowed(spec: CommandSpec): boolean {
  return ALLOWED.some((a) => a.program === spec.program && a.allows(spec.args));
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
