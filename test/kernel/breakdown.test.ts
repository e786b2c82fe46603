/**
 * --breakdown and --exclude-unreplied on the real kernel: a namespace of our
 * own holding known numbers of TCP TIME_WAIT, UDP [UNREPLIED] and TCP
 * ESTABLISHED entries, then the built bundle run inside it, as root (which
 * reads /proc/net/nf_conntrack) and as nobody (who may not).
 *
 * The numbers the assertions use are the ones this file asked for, and before
 * the bundle runs the file checks them itself against the kernel's own
 * listings (/proc/net/nf_conntrack and `conntrack -L` inside the namespace),
 * so a failure says whether the kernel or the plugin miscounted. The timeouts
 * that would end those entries (TIME_WAIT 120 s, UDP 30 s) are raised inside
 * the namespace (they are per-namespace sysctls) so that a slow run cannot
 * lose any between the check and the bundle.
 */
import Ajv2020 from 'ajv/dist/2020';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { describeRun, REPO, runBundle, type BundleRun } from '../support/bundle';
import { cleanUp, cleanupFailure, reportCleanup } from '../support/cleanup';
import {
  addMasquerade,
  conntrackCount,
  createNamespace,
  describeKernel,
  holdConnections,
  nsExec,
  nsPrefix,
  readConntrackMax,
  withConntrackMax,
  type Holder,
  type Namespace,
} from '../support/netns';

const SETPRIV = '/usr/bin/setpriv';
const CONNTRACK = '/usr/sbin/conntrack';
const SYSCTL = ['/usr/sbin/sysctl', '/sbin/sysctl'].find((p) => existsSync(p)) ?? '/usr/sbin/sysctl';
const CAT = ['/usr/bin/cat', '/bin/cat'].find((p) => existsSync(p)) ?? '/usr/bin/cat';
const MAKE_ENTRIES = join(__dirname, '../support/make-entries.cjs');
const NOBODY = 65534;
const ENTRIES_FILE = '/proc/net/nf_conntrack';

/** TCP connections closed from the client side: TIME_WAIT entries. */
const T = 150;
/** UDP datagrams from distinct source ports to a receiver that never answers: [UNREPLIED] entries. */
const U = 200;
/** TCP connections held open: ESTABLISHED entries. */
const E = 25;
const N = T + U + E;

/**
 * Usage thresholds in entries: N is above the critical one, N - U below the
 * warning one, so --exclude-unreplied turns CRITICAL into OK.
 */
const WARN_ENTRIES = 200;
const CRIT_ENTRIES = 300;
/** The same in percent, for a global nf_conntrack_max of LOW_MAX: N is 37.5%, N - U 17.5%. */
const LOW_MAX = 1000;
const WARN_PERCENT = '25%';
const CRIT_PERCENT = '30%';

const BASE = ['--no-state', '--kernel-log', 'none'];

const schema = JSON.parse(readFileSync(join(REPO, 'schema/check_conntrack.schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

// ------------------------------------------------------------ the kernel's view

interface KernelEntry {
  protocol: string;
  state?: string;
  dport?: number;
  unreplied: boolean;
  assured: boolean;
}

/**
 * One line of /proc/net/nf_conntrack (withL3) or of `conntrack -L`, read
 * independently of the plugin's parser: protocol name, the TCP state, the
 * first dport= (the original direction's) and the flags.
 */
function parseKernelLine(line: string, withL3: boolean): KernelEntry {
  const fields = line.trim().split(/\s+/);
  const at = withL3 ? 2 : 0;
  const protocol = fields[at]!;
  const stateField = fields[at + 3];
  const state = protocol === 'tcp' && stateField !== undefined && /^[A-Z_]+$/.test(stateField) ? stateField : undefined;
  const dportField = fields.find((f) => f.startsWith('dport='));
  return {
    protocol,
    state,
    dport: dportField === undefined ? undefined : Number(dportField.slice('dport='.length)),
    unreplied: fields.includes('[UNREPLIED]'),
    assured: fields.includes('[ASSURED]'),
  };
}

function procEntries(ns: Namespace): KernelEntry[] {
  const text = nsExec(ns, [CAT, ENTRIES_FILE]).stdout;
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => parseKernelLine(l, true));
}

function conntrackListEntries(ns: Namespace): KernelEntry[] {
  // The "N flow entries have been shown." line goes to stderr.
  const text = nsExec(ns, [CONNTRACK, '-L']).stdout;
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => parseKernelLine(l, false));
}

interface Census {
  total: number;
  timeWait: number;
  established: number;
  unrepliedUdp: number;
  assured: number;
  unreplied: number;
  /** Entries that are none of the three kinds we made. */
  other: number;
  /** What those are (protocol/state dport flags), the first few, sorted: the same words from either source. */
  others: string[];
  /** The ports the ESTABLISHED entries go to (the holder's listener). */
  establishedPorts: number[];
}

function census(entries: readonly KernelEntry[], tcpPort: number, udpPort: number): Census {
  const c: Census = {
    total: entries.length,
    timeWait: 0,
    established: 0,
    unrepliedUdp: 0,
    assured: 0,
    unreplied: 0,
    other: 0,
    others: [],
    establishedPorts: [],
  };
  const ports = new Set<number>();
  for (const e of entries) {
    if (e.assured) c.assured += 1;
    if (e.unreplied) c.unreplied += 1;
    if (e.protocol === 'tcp' && e.state === 'TIME_WAIT' && e.dport === tcpPort && !e.unreplied) c.timeWait += 1;
    else if (e.protocol === 'udp' && e.dport === udpPort && e.unreplied) c.unrepliedUdp += 1;
    else if (e.protocol === 'tcp' && e.state === 'ESTABLISHED' && !e.unreplied) {
      c.established += 1;
      if (e.dport !== undefined) ports.add(e.dport);
    } else {
      c.other += 1;
      c.others.push(
        `${e.protocol}/${e.state ?? '-'} dport=${e.dport ?? '-'}${e.unreplied ? ' [UNREPLIED]' : ''}${e.assured ? ' [ASSURED]' : ''}`,
      );
    }
  }
  c.others = c.others.sort().slice(0, 10);
  c.establishedPorts = [...ports];
  return c;
}

const wanted = (c: Census) => c.total === N && c.timeWait === T && c.unrepliedUdp === U && c.established === E && c.other === 0;

/**
 * Polls /proc/net/nf_conntrack until it holds exactly what we made (the last
 * ACK of a close may still be on its way), and returns the last census read.
 */
async function settledCensus(ns: Namespace, tcpPort: number, udpPort: number, timeoutMs = 5_000): Promise<Census> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = census(procEntries(ns), tcpPort, udpPort);
    if (wanted(c) || Date.now() >= deadline) return c;
    await sleep(100);
  }
}

// ------------------------------------------------------------ the plugin's words

/** The breakdown's shares: one decimal, rounded, without a trailing .0 (src/checks/breakdown.ts). */
function share(part: number, whole: number): string {
  const tenths = Math.round((part * 1000) / whole) / 10;
  return `${Number.isInteger(tenths) ? String(tenths) : tenths.toFixed(1)}%`;
}

/** The status line's usage: one decimal, rounded down. */
function usagePercent(part: number, whole: number): string {
  return (Math.floor((part * 1000) / whole) / 10).toFixed(1);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A run killed by a signal before it printed anything was killed from outside:
 * the plugin never signals itself, but on a shared machine (pid_max 32768)
 * another harness that SIGKILLs the recorded pids of its own exited children
 * can hit a reused pid. Such a run is run once more, with a warning.
 */
function notKilledFromOutside(runOnce: () => BundleRun): BundleRun {
  const first = runOnce();
  if (!(first.code === null && first.stdout === '' && first.stderr === '')) return first;
  console.warn('[breakdown test] a bundle run was killed by a signal before any output: running it again');
  return runOnce();
}

interface JsonCheck {
  check: string;
  state: string;
  notes: string[];
  details: string[];
  advice: string[];
  perfdata: Array<{ label: string; value: number; text: string }>;
  data: Record<string, unknown>;
}

interface JsonBody {
  state: string;
  exit_code: number;
  summary: string;
  thresholds: Record<string, unknown>;
  perfdata: Array<{ label: string; value: number; text: string }>;
  checks: JsonCheck[];
}

/** Runs with --format json and checks the body against the schema and the exit code. */
function jsonRun(run: (args: string[]) => BundleRun, args: string[], what: string): { r: BundleRun; body: JsonBody } {
  const r = run([...args, '--format', 'json']);
  expect(r.stderr, `${what}: stderr`).toBe('');
  let body: JsonBody;
  try {
    body = JSON.parse(r.stdout) as JsonBody;
  } catch {
    throw new Error(`${what}: not JSON: ${describeRun(r)}`);
  }
  const valid = validate(body);
  expect(validate.errors ?? [], `${what}: schema errors ${JSON.stringify(validate.errors)}`).toEqual([]);
  expect(valid, what).toBe(true);
  expect(body.exit_code, `${what}: exit_code field`).toBe(r.code);
  return { r, body };
}

function checkOf(body: JsonBody, name: string): JsonCheck {
  const found = body.checks.find((c) => c.check === name);
  if (!found) throw new Error(`no ${name} check in ${JSON.stringify(body.checks.map((c) => c.check))}`);
  return found;
}

// ------------------------------------------------------------------ the table

interface Owned {
  namespaces: Namespace[];
  holders: Holder[];
}

/** Ends the holders and deletes the namespaces in `owned`; returns what went wrong. */
async function release(owned: Owned): Promise<unknown[]> {
  return cleanUp([...owned.holders.splice(0).map((h) => () => h.close()), ...owned.namespaces.splice(0).map((ns) => () => ns.remove())]);
}

interface Table {
  ns: Namespace;
  tcpPort: number;
  udpPort: number;
  heldPort: number;
  /** The kernel's census, as /proc/net/nf_conntrack gave it. */
  kernel: Census;
}

/**
 * A fresh namespace holding T TIME_WAIT, U [UNREPLIED] and E ESTABLISHED
 * entries, each number checked in /proc/net/nf_conntrack and `conntrack -L`.
 * On a busy shared machine a few closing connections have been seen (3 times
 * in about 150 runs, only while other test suites loaded it) to stay short of
 * TIME_WAIT: then, unless this is the last attempt, it says what the kernel
 * held on stderr, deletes the namespace and returns undefined so the caller
 * can start over. The plugin is never retried: only the setup.
 */
async function prepareTable(owned: Owned, last: boolean): Promise<Table | undefined> {
  const ns = createNamespace();
  owned.namespaces.push(ns);
  addMasquerade(ns);
  // Per-namespace sysctls: these entries must outlive the slowest run of this test.
  nsExec(ns, [SYSCTL, '-w', 'net.netfilter.nf_conntrack_udp_timeout=600']);
  nsExec(ns, [SYSCTL, '-w', 'net.netfilter.nf_conntrack_tcp_timeout_time_wait=600']);
  // Out-of-order loopback packets (the two ends on different CPUs) must not
  // leave a closing connection short of TIME_WAIT through window tracking.
  nsExec(ns, [SYSCTL, '-w', 'net.netfilter.nf_conntrack_tcp_be_liberal=1']);
  expect(conntrackCount(ns), `a fresh ${ns.name} tracks nothing`).toBe(0);

  const holder = await holdConnections(ns, E);
  owned.holders.push(holder);
  expect(holder, 'held connections').toMatchObject({ opened: E, failed: 0 });
  const made = nsExec(ns, [process.execPath, MAKE_ENTRIES, String(T), String(U)], { timeoutMs: 30_000 });
  const report = JSON.parse(made.stdout) as Record<string, number>;
  expect(
    { closed: report.closed, received: report.received, sourcePorts: report.sourcePorts },
    `make-entries: ${made.stdout}${made.stderr}`,
  ).toEqual({
    closed: T,
    received: U,
    sourcePorts: U,
  });
  const tcpPort = report.tcpPort!;
  const udpPort = report.udpPort!;

  const kernel = await settledCensus(ns, tcpPort, udpPort);
  if (!wanted(kernel) && !last) {
    console.warn(`[breakdown test] ${ns.name} does not hold what was made, starting over in a new namespace: ${JSON.stringify(kernel)}`);
    const errors = await release(owned);
    if (errors.length) throw new Error(cleanupFailure(errors));
    return undefined;
  }
  expect(kernel, `${ENTRIES_FILE} of ${ns.name}`).toMatchObject({
    total: N,
    timeWait: T,
    unrepliedUdp: U,
    established: E,
    other: 0,
    others: [],
    unreplied: U,
  });
  expect(kernel.establishedPorts, 'the ESTABLISHED entries all go to the holder').toHaveLength(1);
  const heldPort = kernel.establishedPorts[0]!;
  expect([tcpPort, udpPort]).not.toContain(heldPort);
  // Every TCP entry here saw its handshake finish.
  expect(kernel.assured, `[ASSURED] entries in ${ENTRIES_FILE}`).toBe(T + E);
  expect(census(conntrackListEntries(ns), tcpPort, udpPort), `conntrack -L in ${ns.name}`).toEqual(kernel);
  expect(conntrackCount(ns), 'nf_conntrack_count').toBe(N);
  return { ns, tcpPort, udpPort, heldPort, kernel };
}

// ------------------------------------------------------------------------ test

describeKernel(
  '--breakdown on the real kernel',
  () => {
    it('counts TIME_WAIT, [UNREPLIED] and ESTABLISHED entries exactly, leaves [UNREPLIED] out of the usage with --exclude-unreplied, and says why it cannot as nobody', async () => {
      const owned: Owned = { namespaces: [], holders: [] };
      let passed = false;
      try {
        // ---- 1 and 2: the entries in known numbers, checked against the kernel's own listings
        const first = await prepareTable(owned, false);
        const { ns, tcpPort, udpPort, kernel, heldPort } = first ?? (await prepareTable(owned, true))!;
        const max = readConntrackMax();

        const asRoot = (args: string[]) => notKilledFromOutside(() => runBundle(args, { prefix: nsPrefix(ns) }));
        const asNobody = (args: string[]) =>
          notKilledFromOutside(() =>
            runBundle(args, { prefix: [...nsPrefix(ns), SETPRIV, `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'] }),
          );

        // ---- 3. root, --breakdown -v: the counts, exactly
        const verbose = asRoot(['--breakdown', '-v', ...BASE]);
        expect(verbose.stderr, 'step 3 stderr').toBe('');
        expect(verbose.code, `step 3: ${describeRun(verbose)}`).toBe(0);
        expect(verbose.status).toMatch(
          new RegExp(`^CONNTRACK OK - ${escapeRegExp(usagePercent(N, max))}% of table used \\(${N} of ${max} entries\\) \\| `),
        );
        expect(verbose.status).toMatch(new RegExp(` unreplied=${U}(?: |$)`));
        const what = `what fills the table (${N} entries from ${ENTRIES_FILE}): udp ${U} (${share(U, N)}: [UNREPLIED] ${U} (${share(U, N)})), tcp ${T + E} (${share(T + E, N)}: TIME_WAIT ${T} (${share(T, N)}), ESTABLISHED ${E} (${share(E, N)}))`;
        expect(verbose.lines, `step 3 long output:\n${verbose.stdout}`).toContain(what);
        expect(verbose.lines).toContain(`flags: ${U} [UNREPLIED] (${share(U, N)}), ${T + E} [ASSURED]`);
        expect(verbose.lines).toContain(
          `top destination ports: udp/${udpPort} ${U} (${share(U, N)}), tcp/${tcpPort} ${T} (${share(T, N)}), tcp/${heldPort} ${E} (${share(E, N)})`,
        );
        expect(verbose.lines).toContain(`top destinations: 127.0.0.1 ${N}`);
        // The table is far from its thresholds and lost nothing: no advice to change it.
        expect(verbose.lines).toContain('nothing to change: the table is below its warning threshold and lost no packets');
        expect(verbose.stdout).not.toContain('advice:');
        expect(verbose.stdout).not.toContain('partial');
        expect(verbose.stdout).not.toContain('--breakdown stopped');
        // Issue 6, item 6: -v fits in 8 KiB, and only the status line has a '|'.
        expect(Buffer.byteLength(verbose.stdout), 'bytes of -v output').toBeLessThanOrEqual(8192);
        expect(
          verbose.lines.slice(1).filter((l) => l.includes('|')),
          'long output lines with a |',
        ).toEqual([]);

        // Without -v the breakdown adds its perfdata and nothing else.
        const brief = asRoot(['--breakdown', ...BASE]);
        expect(brief.code, `step 3 brief: ${describeRun(brief)}`).toBe(0);
        expect(brief.status).toBe(verbose.status);
        expect(brief.stdout).not.toContain('what fills the table');

        // ---- 4. root, --format json: the same numbers, valid against the schema
        const { r: jsonRoot, body } = jsonRun(asRoot, ['--breakdown', ...BASE], 'step 4');
        expect(jsonRoot.code, `step 4: ${describeRun(jsonRoot)}`).toBe(0);
        expect(body.state).toBe('OK');
        expect(body.summary).toBe(verbose.status.split(' | ')[0]);
        const breakdown = checkOf(body, 'breakdown');
        expect(breakdown.state).toBe('OK');
        expect(breakdown.details).toContain(what);
        expect(breakdown.perfdata.map((p) => p.text)).toEqual([`unreplied=${U}`]);
        expect(breakdown.data).toMatchObject({
          source: ENTRIES_FILE,
          entries: N,
          skipped: 0,
          unreplied: U,
          assured: T + E,
          offloaded: 0,
          truncated: false,
        });
        expect(breakdown.data.byProtocol).toEqual({ udp: U, tcp: T + E });
        expect(breakdown.data.tcpStates).toEqual({ TIME_WAIT: T, ESTABLISHED: E });
        expect(breakdown.data.unrepliedByProtocol).toEqual({ udp: U });
        expect(breakdown.data.topPorts).toEqual([
          { protocol: 'udp', port: udpPort, count: U },
          { protocol: 'tcp', port: tcpPort, count: T },
          { protocol: 'tcp', port: heldPort, count: E },
        ]);
        expect(breakdown.data.topDestinations).toEqual([{ address: '127.0.0.1', count: N, error: 0 }]);
        expect(typeof breakdown.data.elapsed_ms).toBe('number');
        expect(checkOf(body, 'table').data).toMatchObject({ count: N, max });
        expect(body.thresholds.exclude_unreplied).toBe(false);

        // ---- 5. --exclude-unreplied, thresholds in entries: CRITICAL with the [UNREPLIED] entries, OK without
        const entryThresholds = ['-w', String(WARN_ENTRIES), '-c', String(CRIT_ENTRIES)];
        const counted = asRoot(['--breakdown', ...entryThresholds, ...BASE]);
        expect(counted.stderr, 'step 5 stderr').toBe('');
        expect(counted.code, `step 5 (all entries counted): ${describeRun(counted)}`).toBe(2);
        expect(counted.status).toMatch(new RegExp(`^CONNTRACK CRITICAL - .*\\(${N} of ${max} entries\\)`));
        expect(counted.status).toContain(`entries=${N};${WARN_ENTRIES};${CRIT_ENTRIES};0;${max}`);
        expect(counted.stdout).not.toContain('--exclude-unreplied');
        // Above its thresholds: udp/<port> is more than 30% of the table, so the NOTRACK advice names it;
        // TIME_WAIT is under half: no timeout advice.
        const pressed = asRoot(['--breakdown', '-v', ...entryThresholds, ...BASE]);
        expect(pressed.lines, describeRun(pressed)).toContain(
          `advice: ${share(U, N)} of the table is udp/${udpPort}; if that traffic needs no NAT and no stateful rule, exempt it from tracking (raw table):`,
        );
        expect(pressed.stdout).not.toContain('nf_conntrack_tcp_timeout_time_wait=60');

        const excluded = asRoot(['--exclude-unreplied', ...entryThresholds, ...BASE]);
        expect(excluded.stderr, 'step 5 stderr').toBe('');
        expect(excluded.code, `step 5 (--exclude-unreplied): ${describeRun(excluded)}`).toBe(0);
        // The kernel's count stays in the status line, with what the thresholds did not see.
        expect(excluded.status).toMatch(
          new RegExp(
            `^CONNTRACK OK - ${escapeRegExp(usagePercent(N - U, max))}% of table used without \\[UNREPLIED\\] \\(${N - U} of ${max} entries; the kernel counts ${N}, ${U} \\[UNREPLIED\\] left out\\) \\| `,
          ),
        );
        expect(excluded.status).toContain(`entries=${N - U};${WARN_ENTRIES};${CRIT_ENTRIES};0;${max}`);
        // --exclude-unreplied implies --breakdown: its perfdata is there too.
        expect(excluded.status).toMatch(new RegExp(` unreplied=${U}(?: |$)`));
        expect(excluded.lines).toContain(`--exclude-unreplied: ${U} [UNREPLIED] entries are left out of the usage`);

        const { r: jsonExcluded, body: excludedBody } = jsonRun(
          asRoot,
          ['--exclude-unreplied', ...entryThresholds, ...BASE],
          'step 5 json',
        );
        expect(jsonExcluded.code, `step 5 json: ${describeRun(jsonExcluded)}`).toBe(0);
        expect(excludedBody.thresholds).toMatchObject({
          exclude_unreplied: true,
          warning: String(WARN_ENTRIES),
          critical: String(CRIT_ENTRIES),
        });
        const excludedTable = checkOf(excludedBody, 'table');
        expect(excludedTable.state).toBe('OK');
        expect(excludedTable.data).toMatchObject({ count: N, counted: N - U, unreplied_excluded: U });
        expect(excludedTable.notes).toContain(`--exclude-unreplied: ${U} [UNREPLIED] entries are left out of the usage`);
        expect(checkOf(excludedBody, 'breakdown').data).toMatchObject({ entries: N, unreplied: U, truncated: false });

        // ---- 6. the same in percent of a lowered global nf_conntrack_max
        const percentThresholds = ['-w', WARN_PERCENT, '-c', CRIT_PERCENT];
        const [lowCounted, lowExcluded] = await withConntrackMax(LOW_MAX, (): [BundleRun, BundleRun] => [
          asRoot(['--breakdown', ...percentThresholds, ...BASE]),
          asRoot(['--exclude-unreplied', ...percentThresholds, ...BASE]),
        ]);
        expect(readConntrackMax(), 'nf_conntrack_max put back').toBe(max);
        expect(lowCounted.code, `step 6 (all entries counted): ${describeRun(lowCounted)}`).toBe(2);
        expect(lowCounted.status).toMatch(
          new RegExp(`^CONNTRACK CRITICAL - ${escapeRegExp(usagePercent(N, LOW_MAX))}% of table used \\(${N} of ${LOW_MAX} entries\\)`),
        );
        expect(lowExcluded.code, `step 6 (--exclude-unreplied): ${describeRun(lowExcluded)}`).toBe(0);
        expect(lowExcluded.status).toMatch(
          new RegExp(
            `^CONNTRACK OK - ${escapeRegExp(usagePercent(N - U, LOW_MAX))}% of table used without \\[UNREPLIED\\] \\(${N - U} of ${LOW_MAX} entries; the kernel counts ${N}, ${U} \\[UNREPLIED\\] left out\\)`,
          ),
        );
        expect(lowExcluded.lines).toContain(`--exclude-unreplied: ${U} [UNREPLIED] entries are left out of the usage`);

        // ---- 7. nobody: the entries cannot be read; said so, and the exit code is what it would be without --breakdown
        const unreadable = `--breakdown: the entries could not be read: ${ENTRIES_FILE} is readable by root only`;
        const plain = asNobody(['-v', ...BASE]);
        const nobody = asNobody(['--breakdown', '-v', ...BASE]);
        expect(nobody.stderr, 'step 7 stderr').toBe('');
        expect(nobody.code, `step 7: ${describeRun(nobody)}`).toBe(plain.code);
        expect(nobody.code).toBe(0);
        expect(nobody.status).toBe(plain.status);
        expect(nobody.status).toContain(`(${N} of ${max} entries)`);
        expect(nobody.status).not.toContain('unreplied=');
        expect(
          nobody.lines.some((l) => l.startsWith(unreadable)),
          `step 7 long output says the entries could not be read:\n${nobody.stdout}`,
        ).toBe(true);
        expect(nobody.stdout).toContain("'conntrack -L' needs CAP_NET_ADMIN");
        expect(nobody.stdout).not.toContain('what fills the table');
        // The note is not hidden without -v.
        const nobodyBrief = asNobody(['--breakdown', ...BASE]);
        expect(nobodyBrief.code).toBe(0);
        expect(
          nobodyBrief.lines.some((l) => l.startsWith(unreadable)),
          `step 7 brief:\n${nobodyBrief.stdout}`,
        ).toBe(true);

        // With --exclude-unreplied nothing is left out: still CRITICAL on every entry.
        const nobodyExcluded = asNobody(['--exclude-unreplied', ...entryThresholds, ...BASE]);
        expect(nobodyExcluded.code, `step 7 --exclude-unreplied: ${describeRun(nobodyExcluded)}`).toBe(2);
        expect(nobodyExcluded.status).toMatch(new RegExp(`^CONNTRACK CRITICAL - .*\\(${N} of ${max} entries\\)`));
        expect(nobodyExcluded.lines).toContain(
          '--exclude-unreplied: the entries could not be read, so [UNREPLIED] entries are counted like the rest',
        );

        const { r: jsonNobody, body: nobodyBody } = jsonRun(asNobody, ['--breakdown', ...BASE], 'step 7 json');
        expect(jsonNobody.code).toBe(0);
        const nobodyBreakdown = checkOf(nobodyBody, 'breakdown');
        expect(nobodyBreakdown.state).toBe('OK');
        expect(nobodyBreakdown.perfdata).toEqual([]);
        expect(nobodyBreakdown.data.unavailable).toEqual(expect.arrayContaining([`${ENTRIES_FILE} is readable by root only`]));

        // ---- 8. nothing above changed the table
        expect(census(procEntries(ns), tcpPort, udpPort), `${ENTRIES_FILE} at the end`).toEqual(kernel);
        passed = true;
      } finally {
        reportCleanup(await release(owned), passed);
      }
    }, 90_000);
  },
  { needs: [SETPRIV, CONNTRACK, SYSCTL, MAKE_ENTRIES] },
);
