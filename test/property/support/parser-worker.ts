/**
 * Runs one parser on one input inside a worker thread, so that a parser that
 * never returns (a regex gone quadratic on a 1 MB line) can be stopped and
 * reported instead of hanging the suite. Bundled with esbuild by watchdog.ts.
 */
import { parentPort } from 'node:worker_threads';
import { parseDuration } from '../../../src/parse/duration';
import { parseRange } from '../../../src/nagios/range';
import { containerFromCgroup, unitFromCgroup } from '../../../src/parse/cgroup';
import { parseEntryLine } from '../../../src/parse/conntrack-entry-line';
import { EntryTally } from '../../../src/parse/entry-tally';
import { parseConntrackStatistics, parseProcStat } from '../../../src/parse/conntrack-stat';
import { parseUnsignedDecimal } from '../../../src/parse/decimal';
import { classifyRule, declaredChains, parseIptablesSave, tokenizeRule } from '../../../src/parse/iptables-save';
import { parseDmesgLine, parseJournalLine, parseKmsgRecord, parseSyslogLine } from '../../../src/parse/log-lines';
import { classifyMessage } from '../../../src/parse/log-message';
import { forEachCandidateLine, LogScanner } from '../../../src/parse/log-scanner';
import { parseKernelRelease } from '../../../src/parse/kernel-release';
import { parseNftTables, parseNftText } from '../../../src/parse/nft-text';
import { parseProcModules } from '../../../src/parse/proc-modules';
import { parseProcPidStat } from '../../../src/parse/proc-pid-stat';
import { parseGroupFile, parseProcStatus } from '../../../src/parse/proc-status';
import { parseState } from '../../../src/state/schema';

const NOW = new Date(Date.UTC(2024, 4, 1, 12));

/** Each parser, on a string; the result is summarised so that only a little crosses back. */
export const PARSERS: Record<string, (text: string) => unknown> = {
  parseProcStat: (t) => parseProcStat(t).ok,
  parseConntrackStatistics: (t) => parseConntrackStatistics(t).ok,
  parseUnsignedDecimal: (t) => parseUnsignedDecimal(t).ok,
  parseProcModules: (t) => parseProcModules(t).ok,
  parseIptablesSave: (t) => parseIptablesSave(t).ok,
  declaredChains: (t) => declaredChains(t).length,
  tokenizeRule: (t) => tokenizeRule(t).length,
  classifyRule: (t) => classifyRule(t),
  parseNftText: (t) => parseNftText(t).ok,
  parseNftTables: (t) => parseNftTables(t).ok,
  containerFromCgroup: (t) => [containerFromCgroup(t), unitFromCgroup(t)],
  parseProcPidStat: (t) => parseProcPidStat(t)?.startTime,
  parseProcStatus: (t) => parseProcStatus(t)?.uid,
  parseGroupFile: (t) => parseGroupFile(t).size,
  parseKernelRelease: (t) => parseKernelRelease(t),
  parseDuration: (t) => parseDuration(t),
  parseRange: (t) => {
    try {
      return parseRange(t).end;
    } catch (err) {
      return (err as Error).name;
    }
  },
  parseState: (t) => parseState(t).ok,
  classifyMessage: (t) => classifyMessage(t)?.kind,
  parseKmsgRecord: (t) => parseKmsgRecord(t)?.seq,
  parseDmesgLine: (t) => parseDmesgLine(t)?.bootUsec,
  parseJournalLine: (t) => parseJournalLine(t)?.wallMs,
  parseSyslogLine: (t) => parseSyslogLine(t, NOW)?.wallMs,
  forEachCandidateLine: (t) => {
    let n = 0;
    forEachCandidateLine(t, () => (n += 1));
    return n;
  },
  LogScanner: (t) => {
    let n = 0;
    const scanner = new LogScanner(() => (n += 1));
    const bytes = Buffer.from(t, 'utf8');
    for (let at = 0; at < bytes.length; at += 128 * 1024) scanner.push(bytes.subarray(at, at + 128 * 1024));
    scanner.end();
    return n;
  },
  parseEntryLine: (t) => t.split('\n').filter((l) => parseEntryLine(l) !== undefined).length,
  EntryTally: (t) => {
    const tally = new EntryTally();
    const bytes = Buffer.from(t, 'latin1');
    for (let at = 0; at < bytes.length; at += 64 * 1024) tally.push(bytes.subarray(at, at + 64 * 1024));
    tally.end();
    const s = tally.summary();
    return [s.entries, s.skipped];
  },
};

export interface Request {
  parser: string;
  input: string;
}

export type Reply = { ok: true; result: string } | { ok: false; error: string };

parentPort?.on('message', ({ parser, input }: Request) => {
  let reply: Reply;
  try {
    const fn = PARSERS[parser];
    if (fn === undefined) throw new Error(`no parser ${parser}`);
    reply = { ok: true, result: JSON.stringify(fn(input)) ?? 'undefined' };
  } catch (err) {
    reply = { ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
  parentPort?.postMessage(reply);
});
