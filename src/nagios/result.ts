import type { Perfdata } from './perfdata';
import type { State } from './state';

/** What one check concluded: the unit the renderer combines. */
export interface Result {
  /** Short id of the check, e.g. 'table'. */
  check: string;
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
