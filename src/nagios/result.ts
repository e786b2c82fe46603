import type { Perfdata } from './perfdata';
import type { State } from './state';

/** Every check's id, in the order of schema/check_conntrack.schema.json's enum (a test holds them equal). */
export const CHECK_NAMES = [
  'table',
  'counters',
  'kernel-log',
  'packet-loss',
  'modules',
  'namespaces',
  'other-namespaces',
  'forecast',
  'sizing',
  'breakdown',
  'state',
] as const;

/** 'changes' is text output only: what --changes-only says about the change, never in JSON. */
export type CheckName = (typeof CHECK_NAMES)[number] | 'changes';

/** What one check concluded: the unit the renderer combines. */
export interface Result {
  /** Short id of the check, e.g. 'table'. */
  check: CheckName;
  state: State;
  /** For the status line; empty when the check has nothing worth a headline. */
  summary: string;
  /** Long output at -v: what was seen and what to do about it. */
  details: string[];
  /** Shown even without -v: caveats an operator must not miss. */
  notes?: string[];
  /** At -vv: where the figures came from (files, commands). */
  trace?: string[];
  /** What to change, computed from this host: at -v and in JSON. Text for a person; never applied. */
  advice?: string[];
  /** The measurements behind the finding, for --format json. */
  data?: Record<string, unknown>;
  perfdata: Perfdata[];
}
