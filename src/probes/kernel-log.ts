import { statSync } from 'node:fs';
import { DMESG } from './commands';
import { cutoffFor } from './log-collector';
import { JOURNAL_DIRS, KMSG, readDmesg, readJournal, readKmsg, readLogFile, SYSLOG_FILES } from './log-readers';
import type { LogAttempt, LogRequest, LogScan } from './log-scan';
import type { Privileges } from './privileges';

export type { LogAttempt, LogChoice, LogDrops, LogMatch, LogRequest, LogScan } from './log-scan';

/* Which kernel-log source to read: the one asked for, or the first of kmsg, dmesg, the journal and the syslog files that works. */

async function journalReadable(privileges: Privileges): Promise<string | undefined> {
  let present = false;
  for (const dir of JOURNAL_DIRS) {
    try {
      const st = statSync(dir);
      if (st.isDirectory()) present = true;
    } catch {
      // not there
    }
  }
  if (!present) return 'no journal on this host (neither /run/log/journal nor /var/log/journal)';
  if (privileges.root || privileges.logGroups.some((g) => g === 'systemd-journal' || g === 'adm' || g === 'wheel')) return undefined;
  return 'the system journal needs root or membership of systemd-journal or adm';
}

function kernelLogRefusal(p: Privileges): string | undefined {
  if (p.mayReadKernelLog) return undefined;
  return `kernel.dmesg_restrict=${p.dmesgRestrict ?? '?'} and this process lacks CAP_SYSLOG`;
}

export async function scanKernelLog(request: LogRequest): Promise<LogScan> {
  const { choice, privileges } = request;
  if (choice === 'none') return { status: 'disabled' };
  const cutoff = cutoffFor(request);
  const attempts: LogAttempt[] = [];
  const take = (r: LogScan | LogAttempt): LogScan | undefined => {
    if ('status' in r) {
      if (r.status === 'ok') r.attempts = attempts;
      return r;
    }
    attempts.push(r);
    return undefined;
  };

  if (typeof choice === 'object')
    return take(await readLogFile(choice.file, request, cutoff)) ?? { status: 'unreadable', attempts, requested: choice.file };

  const refusal = kernelLogRefusal(privileges);
  if (choice === 'auto' || choice === 'kmsg') {
    // Learnt from /proc: a source the kernel will refuse is not even tried.
    if (refusal) attempts.push({ source: KMSG, reason: refusal });
    else {
      const scan = take(readKmsg(request, cutoff));
      if (scan) return scan;
    }
    if (choice === 'kmsg') return { status: 'unreadable', attempts };
  }
  if (choice === 'auto' || choice === 'dmesg') {
    if (!refusal || request.sudo) {
      const scan = take(await readDmesg(request, cutoff, Boolean(refusal) && request.sudo));
      if (scan) return scan;
    } else attempts.push({ source: DMESG.program, reason: refusal });
    if (choice === 'dmesg') return { status: 'unreadable', attempts };
  }
  if (choice === 'auto' || choice === 'journal') {
    const why = await journalReadable(privileges);
    if (why) attempts.push({ source: 'journalctl -k', reason: why });
    else {
      const scan = take(await readJournal(request, cutoff));
      if (scan) return scan;
    }
    if (choice === 'journal') return { status: 'unreadable', attempts };
  }
  for (const file of SYSLOG_FILES) {
    try {
      statSync(file);
    } catch {
      attempts.push({ source: file, reason: 'not present' });
      continue;
    }
    const scan = take(await readLogFile(file, request, cutoff));
    if (scan) return scan;
  }
  return { status: 'unreadable', attempts };
}
