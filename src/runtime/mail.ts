import type { NoticeDecision } from '../nagios/changes';
import { clean } from '../nagios/render';
import { STATE_NAMES, State } from '../nagios/state';
import { sendmailTo } from '../probes/commands';
import { runCommand } from '../probes/run-command';

/** sendmail queues a message in well under a second; a hung one must not eat the check's own time. */
const SENDMAIL_SECONDS = 5;

/** A subject a mail reader shows whole; the status line stays in the body in full. */
export const SUBJECT_CHARS = 200;

/**
 * --mail-to mails what the plugin prints, when cron would: with --changes-only
 * every print (a problem, a change, a reminder, a recovery, a run whose state
 * could not be kept), without it every run that is not OK. An OK run mails
 * only when --changes-only prints it.
 */
export function mailsThisRun(state: State, notice: NoticeDecision | undefined): boolean {
  return notice ? notice.print : state !== State.OK;
}

/**
 * The subject: the status line without its perfdata, or the summary of
 * --format json, cut to SUBJECT_CHARS.
 */
export function mailSubject(output: string): string {
  const first = output.split('\n', 1)[0] ?? '';
  const line = first.startsWith('{') ? (jsonSummary(output) ?? first) : (first.split('|', 1)[0] ?? '');
  const chars = [...line.trim()];
  return chars.length > SUBJECT_CHARS ? `${chars.slice(0, SUBJECT_CHARS - 3).join('')}...` : chars.join('');
}

function jsonSummary(output: string): string | undefined {
  try {
    const summary: unknown = (JSON.parse(output) as { summary?: unknown }).summary;
    return typeof summary === 'string' ? clean(summary) : undefined;
  } catch {
    return undefined;
  }
}

/** A header value in plain ASCII, or RFC 2047 words of UTF-8 short enough for a 78-column header line. */
function headerText(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  const words: string[] = [];
  let chunk = '';
  for (const ch of text) {
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk !== '') words.push(chunk);
  return words.map((w) => `=?utf-8?B?${Buffer.from(w).toString('base64')}?=`).join('\n ');
}

/** RFC 5322: a line of a message is at most 998 bytes; a relay may refuse or break a longer one. */
const MAX_LINE_BYTES = 998;

/**
 * Quoted-printable (RFC 2045): bytes outside printable ASCII, '=' and a space
 * or tab that ends a line become =XX, and soft breaks keep every line within
 * 76 characters, so the text arrives whole whatever its lines.
 */
export function quotedPrintable(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const bytes = Buffer.from(line, 'utf8');
    let current = '';
    bytes.forEach((b, i) => {
      const last = i === bytes.length - 1;
      const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
      const piece = literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
      // 75 and the '=' of the soft break make 76.
      if (current.length + piece.length > 75) {
        out.push(`${current}=`);
        current = '';
      }
      current += piece;
    });
    out.push(current);
  }
  return out.join('\n');
}

/**
 * The whole message sendmail reads: headers, a blank line, and exactly what
 * the plugin printed: as it is, or quoted-printable when a line (a -v status
 * line with much perfdata, a JSON field) is longer than a mail line may be.
 */
export function mailMessage(address: string, output: string): string {
  const text = output.endsWith('\n') ? output : `${output}\n`;
  const long = text.split('\n').some((line) => Buffer.byteLength(line) > MAX_LINE_BYTES);
  return [
    `To: ${address}`,
    `Subject: ${headerText(mailSubject(output))}`,
    // RFC 3834: no vacation or out-of-office answers to a machine's mail.
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Transfer-Encoding: ${long ? 'quoted-printable' : '8bit'}`,
    '',
    long ? quotedPrintable(text) : text,
  ].join('\n');
}

/**
 * Hands the output to the local mail transfer agent. Returns a line for the
 * long output when it could not: a missing or failing sendmail is worth
 * saying, never a reason to change the check's state.
 */
export async function sendMail(address: string, state: State, output: string, deadlineMs: number): Promise<string | undefined> {
  const outcome = await runCommand(sendmailTo(address), {
    signal: new AbortController().signal,
    deadlineMs: Math.min(deadlineMs, Date.now() + SENDMAIL_SECONDS * 1000),
    maxBytes: 4096,
    input: mailMessage(address, output),
  });
  if (outcome.status === 'ok') return undefined;
  const lead = `--mail-to: the ${STATE_NAMES[state]} output was not mailed to ${address}`;
  if (outcome.status === 'not-installed')
    return `${lead}: ${outcome.reason}: install a mail transfer agent (exim4, postfix) that provides /usr/sbin/sendmail, or leave --mail-to out`;
  const why = outcome.reason ?? (outcome.status === 'timed-out' ? `no answer within ${SENDMAIL_SECONDS}s` : outcome.status);
  if (outcome.status !== 'failed') return clean(`${lead}: ${outcome.label}: ${why}`);
  return clean(
    `${lead}: ${outcome.label}: ${why}; the mail transfer agent's log says more (a setuid or setgid sendmail cannot queue mail from a systemd service with NoNewPrivileges=yes or ProtectSystem=strict: see man 8 check_conntrack)`,
  );
}
