/** Which boot and which network namespace this run sees, and when. */
export interface RunIdentity {
  /** Changes every boot: counters and log positions from another boot mean nothing. */
  bootId?: string;
  /** Inode of the network namespace the plugin runs in (the number the kernel prints as "netns N"). */
  netns?: number;
  /** Seconds since boot, to place kmsg and dmesg timestamps in time. */
  uptimeSeconds?: number;
  /** Wall-clock time of the run, ms since the epoch. */
  nowMs: number;
}
