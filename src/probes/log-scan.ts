import type { SavedLogPosition } from '../state/schema';
import type { RunIdentity } from '../run-identity';
import type { Privileges } from './privileges';

/* What a scan of the kernel log asks and finds: shared by the source choice (kernel-log.ts) and the readers. */

export type LogChoice = 'auto' | 'kmsg' | 'dmesg' | 'journal' | 'none' | { file: string };

export interface LogMatch {
  /** How many messages this line stands for (rsyslog folds repeats into one line); 1 when absent. */
  count?: number;
  netns?: number;
  /** Wall-clock time, ms since the epoch, when the source tells. */
  timeMs?: number;
  text: string;
}

/** 'table full' messages of one namespace (or of none named) at one time. */
export interface LogDrops {
  netns?: number;
  /** Wall-clock time, ms since the epoch, when the source tells. */
  timeMs?: number;
  count: number;
}

export interface LogAttempt {
  source: string;
  reason: string;
}

export type LogScan =
  | { status: 'disabled' }
  | {
      status: 'ok';
      source: string;
      /** 'table full' messages found (a folded rsyslog repeat counts each time). */
      messages: number;
      /** The same by the namespace they name; '' for messages that name none. */
      byNetns: Record<string, number>;
      /**
       * Every message with its namespace and time, oldest first, so that each can be
       * given to the namespace that existed and dropped packets when it was logged.
       * Bounded: past the cap, a message is added to the last entry of its namespace.
       */
      drops: LogDrops[];
      newestMs?: number;
      /** The last few matching lines, as samples: a flood keeps the same memory as a trickle. */
      matches: LogMatch[];
      /** Messages the kernel's rate limiter swallowed: the drop lines are a lower bound. */
      suppressed: number;
      position: SavedLogPosition;
      /** True when "new" means since the previous run, false when it means the window. */
      sinceLastRun: boolean;
      /** Sources tried before this one, and why they failed. */
      attempts: LogAttempt[];
      notes: string[];
      /** Reading stopped before the end (the deadline, a cap, an error): newer messages may be missing. */
      partial?: boolean;
    }
  /** `requested`: the source the user named (--kernel-log FILE), whose silence is not to be taken for quiet. */
  | { status: 'unreadable'; attempts: LogAttempt[]; requested?: string };

export interface LogRequest {
  choice: LogChoice;
  /** The previous run's position, only when it is from this boot. */
  previous?: SavedLogPosition;
  windowSeconds: number;
  identity: RunIdentity;
  privileges: Privileges;
  sudo: boolean;
  signal: AbortSignal;
  /** When every program it starts must be gone (ms since the epoch). */
  deadlineMs: number;
}
