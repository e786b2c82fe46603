import { STATE_NAMES, type State } from '../nagios/state';
import { SYSLOG_PRIORITIES, syslogMessage } from '../probes/commands';
import { runCommand } from '../probes/run-command';

/** logger answers in milliseconds; a hung one must not eat the check's own time. */
const LOGGER_SECONDS = 2;

/**
 * Sends one status line to the local syslog, so that journald or rsyslog keep
 * a history of the changes. Returns a line for the long output when it could
 * not: a missing or failing logger is worth saying, never a reason to fail the
 * check itself.
 */
export async function sendToSyslog(state: State, statusLine: string, deadlineMs: number): Promise<string | undefined> {
  const controller = new AbortController();
  const outcome = await runCommand(syslogMessage(SYSLOG_PRIORITIES[state], statusLine), {
    signal: controller.signal,
    deadlineMs: Math.min(deadlineMs, Date.now() + LOGGER_SECONDS * 1000),
    maxBytes: 4096,
  });
  if (outcome.status === 'ok') return undefined;
  const why = outcome.reason ?? (outcome.status === 'timed-out' ? `no answer within ${LOGGER_SECONDS}s` : outcome.status);
  return `--syslog: the ${STATE_NAMES[state]} line was not logged: ${outcome.label.split(' --')[0]}: ${why}`;
}
