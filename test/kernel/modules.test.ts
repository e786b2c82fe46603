/**
 * The stale-modules check ("conntrack loaded, no rule needs it") against the
 * real kernel: rules made with iptables-nft, iptables-legacy and nft in a
 * namespace of our own, the built bundle run inside it, and the kernel
 * behaviour the verdicts rest on checked by this file itself.
 *
 * Since 4.10 a namespace has conntrack hooks only while a rule there needs
 * them (reference/kernel.md §4): with the rule gone, new connections are not
 * tracked and only the old entries are left to expire. Every test asserts that
 * premise before it asserts the plugin's "OK".
 *
 * All runs pass --kernel-log none: other tests' 'table full' messages in the
 * ring buffer would otherwise decide the state.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { BUNDLE, describeRun, runBundle, type BundleRun } from '../support/bundle';
import {
  conntrackCount,
  describeKernel,
  holdConnections,
  nsExec,
  nsPrefix,
  statTotal,
  waitForCount,
  withNamespace,
  type Holder,
  type Namespace,
} from '../support/netns';

const IPTABLES_NFT = '/usr/sbin/iptables-nft';
const IPTABLES_NFT_SAVE = '/usr/sbin/iptables-nft-save';
const IPTABLES_LEGACY = '/usr/sbin/iptables-legacy';
const IPTABLES_LEGACY_SAVE = '/usr/sbin/iptables-legacy-save';
const NFT = '/usr/sbin/nft';
const SETPRIV = '/usr/bin/setpriv';
const STRACE = '/usr/bin/strace';
const NOBODY = 65534;

/** What every run here passes: the table, modules and rules alone. */
const QUIET = ['--no-state', '--kernel-log', 'none', '-v'];
/** How many connections each test holds: enough to tell "tracked" from "not tracked". */
const HELD = 3;

const MASQUERADE = ['-w', '5', '-t', 'nat', '-A', 'POSTROUTING', '-d', '192.0.2.1', '-j', 'MASQUERADE'];
const NOTRACK = ['-w', '5', '-t', 'raw', '-A', 'PREROUTING', '-p', 'udp', '-j', 'NOTRACK'];
const FLUSH_NAT = [
  ['-w', '5', '-t', 'nat', '-F'],
  ['-w', '5', '-t', 'nat', '-X'],
];

// ------------------------------------------------------------------ the kernel

/** nf_conntrack built in (no initstate under /sys/module), as opposed to a loaded module. */
const BUILTIN = existsSync('/sys/module/nf_conntrack') && !existsSync('/sys/module/nf_conntrack/initstate');
const BUILTIN_LINE = 'nf_conntrack is built into this kernel and cannot be unloaded';
/** The plugin names the kernel by /proc/sys/kernel/osrelease, which is uname's release. */
const KERNEL = `kernel ${release()}`;

/**
 * Holds n more connections and checks that the kernel counted `tracked` of
 * them: the count goes from what it was to that plus `tracked`.
 */
async function holdAndExpect(ns: Namespace, holders: Holder[], n: number, tracked: number, what: string): Promise<number> {
  const before = conntrackCount(ns);
  const holder = await holdConnections(ns, n);
  holders.push(holder);
  expect(holder, `connections opened (${what})`).toMatchObject({ opened: n, failed: 0 });
  const after = await waitForCount(ns, before + tracked);
  expect(after, `nf_conntrack_count in ${ns.name} after ${n} more connections (${what})`).toBe(before + tracked);
  return after;
}

async function closeAll(holders: Holder[]): Promise<void> {
  const errors: string[] = [];
  for (const h of holders.splice(0)) await h.close().catch((e: unknown) => errors.push((e as Error).message));
  if (errors.length) throw new Error(`closing holders: ${errors.join('; ')}`);
}

// ------------------------------------------------------------------ the bundle

/** The perfdata of the status line as label -> raw value (without the `;warn;crit...` tail). */
function perfdata(run: BundleRun): Map<string, string> {
  const bar = run.status.indexOf('|');
  const map = new Map<string, string>();
  if (bar < 0) return map;
  for (const item of run.status
    .slice(bar + 1)
    .trim()
    .split(/\s+/)) {
    const eq = item.indexOf('=');
    if (eq > 0) map.set(item.slice(0, eq), item.slice(eq + 1).split(';')[0]!);
  }
  return map;
}

/** The long-output line of the modules check that starts with `head`, and the listings in its trailing [...]. */
function rulesLine(run: BundleRun, head: string): { line: string; sources: string[] } {
  const line = run.lines.find((l) => l.startsWith(head));
  expect(line, `a line starting ${JSON.stringify(head)}: ${describeRun(run)}`).toBeDefined();
  const m = /\[([^\]]*)\]/.exec(line!);
  expect(m, `the listings in [...] of ${JSON.stringify(line)}`).not.toBeNull();
  return { line: line!, sources: m![1]!.split(', ') };
}

function expectOk(run: BundleRun, what: string): void {
  expect(run.stderr, `${what}: stderr`).toBe('');
  expect(run.status, `${what}: ${describeRun(run)}`).toMatch(/^CONNTRACK OK - /);
  expect(run.code, `${what}: ${describeRun(run)}`).toBe(0);
}

/** The "no rule" verdict of a kernel that registers hooks on demand, with `left` entries still in the table. */
function leftoverTail(left: number): string {
  return left === 0
    ? `; ${KERNEL} tracks only while a rule needs it, and nothing is tracked`
    : `; ${KERNEL} tracks only while a rule needs it: ${left} ${left === 1 ? 'entry' : 'entries'} left will expire (established TCP after up to 5 days)`;
}

/** After the rules are gone: OK, 0 rules, `left` leftovers, nothing "still tracked", the built-in note. */
function expectNoRuleVerdict(run: BundleRun, left: number, exempt: string, what: string): void {
  expectOk(run, what);
  expect(perfdata(run).get('conntrack_rules'), `${what}: conntrack_rules perfdata`).toBe('0');
  expect(perfdata(run).get('entries'), `${what}: entries perfdata`).toBe(String(left));
  const { line } = rulesLine(run, `no rule needs conntrack${exempt} [`);
  expect(line.endsWith(leftoverTail(left)), `${what}: ${JSON.stringify(line)} ends with ${JSON.stringify(leftoverTail(left))}`).toBe(true);
  expect(run.stdout).not.toContain('still tracked');
  expect(run.lines.includes(BUILTIN_LINE), `${what}: ${BUILTIN ? 'says' : 'does not say'} nf_conntrack is built in:\n${run.stdout}`).toBe(
    BUILTIN && left > 0,
  );
}

const inNs = (ns: Namespace, args: readonly string[]) => runBundle(args, { prefix: nsPrefix(ns) });

// ------------------------------------------------------------------ backends

interface Backend {
  readonly name: string;
  /** Commands (absolute path first) that add one rule needing conntrack. */
  readonly add: ReadonlyArray<readonly string[]>;
  /** Commands that take it away again. */
  readonly remove: ReadonlyArray<readonly string[]>;
  /** The why of the modules line: `(<why>)`. */
  readonly why: string;
  /** The listing that must be among the sources, as the plugin labels it. */
  readonly source: string;
  /** Checks, from outside the plugin, which listing can see the rule. */
  readonly seenBy: (ns: Namespace) => void;
}

const nftRules = (ns: Namespace) => nsExec(ns, [NFT, 'list', 'ruleset']).stdout;

const BACKENDS: readonly Backend[] = [
  {
    name: 'iptables-nft',
    add: [[IPTABLES_NFT, ...MASQUERADE]],
    remove: FLUSH_NAT.map((a) => [IPTABLES_NFT, ...a]),
    why: 'MASQUERADE target: nat POSTROUTING',
    source: IPTABLES_NFT_SAVE,
    seenBy: (ns) => expect(nsExec(ns, [IPTABLES_NFT_SAVE]).stdout).toMatch(/^-A POSTROUTING -d 192\.0\.2\.1\/32 -j MASQUERADE$/m),
  },
  {
    name: 'iptables-legacy',
    add: [[IPTABLES_LEGACY, ...MASQUERADE]],
    remove: FLUSH_NAT.map((a) => [IPTABLES_LEGACY, ...a]),
    why: 'MASQUERADE target: nat POSTROUTING',
    source: IPTABLES_LEGACY_SAVE,
    seenBy: (ns) => {
      expect(nsExec(ns, [IPTABLES_LEGACY_SAVE]).stdout).toMatch(/^-A POSTROUTING -d 192\.0\.2\.1\/32 -j MASQUERADE$/m);
      // Only the legacy dump has it: nftables does not see x_tables rules.
      expect(nsExec(ns, [IPTABLES_NFT_SAVE]).stdout).not.toContain('MASQUERADE');
      expect(nftRules(ns)).not.toContain('masquerade');
    },
  },
  {
    name: 'nft',
    add: [
      [NFT, 'add', 'table', 'inet', 'cctest'],
      [NFT, 'add', 'chain', 'inet', 'cctest', 'input', '{ type filter hook input priority 0; }'],
      [NFT, 'add', 'rule', 'inet', 'cctest', 'input', 'ct', 'state', 'established,related', 'accept'],
    ],
    remove: [[NFT, 'delete', 'table', 'inet', 'cctest']],
    why: 'ct expression: inet cctest input',
    source: `${NFT} list ruleset`,
    seenBy: (ns) => expect(nftRules(ns)).toMatch(/ct state established,related accept/),
  },
];

function runAll(ns: Namespace, commands: ReadonlyArray<readonly string[]>): void {
  for (const argv of commands) nsExec(ns, argv);
}

// ------------------------------------------------------------------ strace

interface Exec {
  readonly pid: number;
  readonly call: string;
  readonly path: string;
  readonly argv: readonly string[] | undefined;
  readonly raw: string;
}

/** One C string as strace prints it, from text[at] (the opening quote); returns the value and the index after it. */
function cString(text: string, at: number): { value: string; end: number } | undefined {
  if (text[at] !== '"') return undefined;
  let value = '';
  let i = at + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') return { value, end: i + 1 };
    if (c !== '\\') {
      value += c;
      i += 1;
      continue;
    }
    const next = text[i + 1];
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', v: '\v', f: '\f', '"': '"', '\\': '\\' };
    if (next !== undefined && simple[next] !== undefined) {
      value += simple[next];
      i += 2;
    } else if (next === 'x') {
      value += String.fromCharCode(parseInt(text.slice(i + 2, i + 4), 16));
      i += 4;
    } else {
      const oct = /^[0-7]{1,3}/.exec(text.slice(i + 1));
      if (!oct) return undefined;
      value += String.fromCharCode(parseInt(oct[0], 8));
      i += 1 + oct[0].length;
    }
  }
  return undefined;
}

/**
 * Every execve/execveat in an `strace -f -o` file, successful or not. The
 * arguments are on the line that starts the call (a call another thread
 * interrupts ends on a later `<... execve resumed>` line). argv is undefined
 * when it could not be read in full (an execveat, or a list strace cut short),
 * which the audit counts as not allowed.
 */
function parseTrace(text: string): Exec[] {
  const execs: Exec[] = [];
  for (const raw of text.split('\n')) {
    const m = /^(?:\[pid\s+)?(\d+)\]?\s+(execve|execveat)\(/.exec(raw);
    if (!m) continue;
    const call = m[2]!;
    let at = m[0].length;
    if (call === 'execveat') {
      execs.push({ pid: Number(m[1]), call, path: raw.slice(at), argv: undefined, raw });
      continue;
    }
    const path = cString(raw, at);
    if (!path) {
      execs.push({ pid: Number(m[1]), call, path: raw.slice(at), argv: undefined, raw });
      continue;
    }
    at = path.end;
    let argv: string[] | undefined;
    if (raw.startsWith(', [', at)) {
      at += 3;
      argv = [];
      for (;;) {
        if (raw[at] === ']') break;
        const s = cString(raw, at);
        if (!s) {
          argv = undefined; // `...` or something unexpected: not read in full
          break;
        }
        argv.push(s.value);
        at = s.end;
        if (raw.startsWith(', ', at)) at += 2;
      }
    }
    execs.push({ pid: Number(m[1]), call, path: path.value, argv, raw });
  }
  return execs;
}

const LISTING_PROGRAMS = [
  'iptables-legacy-save',
  'iptables-nft-save',
  'ip6tables-legacy-save',
  'ip6tables-nft-save',
  'iptables-save',
  'ip6tables-save',
];
const PROGRAM_DIR = /^\/(?:usr\/)?s?bin\/([^/]+)$/;

/** The shapes of reference/kernel.md §4 and the plugin's documented catalogue, written out here independently of src/. */
function allowedExec(path: string, args: readonly string[]): boolean {
  const program = PROGRAM_DIR.exec(path)?.[1];
  if (program === undefined) return false;
  const same = (want: readonly string[]) => args.length === want.length && args.every((a, i) => a === want[i]);
  if (LISTING_PROGRAMS.includes(program)) return args.length === 0;
  if (program === 'nft')
    return (
      same(['list', 'tables']) ||
      same(['list', 'ruleset']) ||
      (args.length === 4 &&
        same(['list', 'table', args[2]!, args[3]!]) &&
        /^[a-z0-9]+$/.test(args[2]!) &&
        /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(args[3]!))
    );
  if (program === 'dmesg') return same(['-r']);
  if (program === 'conntrack') return same(['-S']);
  if (program === 'journalctl') {
    const when = args[args.length - 1] ?? '';
    // The window, and, when it came back empty, the last kernel message before it.
    const window = same(['-k', '-b', '-q', '--no-pager', '-o', 'short-unix', '--since', when]);
    const before = same(['-k', '-b', '-q', '--no-pager', '-o', 'short-unix', '-n', '1', '--until', when]);
    return (window || before) && /^@\d+$/.test(when);
  }
  return false;
}

/** What must never run: a table looked up by name (`iptables -L`, `-t nat`...), or a module loader. */
function forbiddenExec(path: string, argv: readonly string[] | undefined): string | undefined {
  const program = path.split('/').pop() ?? path;
  if (/^(?:modprobe|insmod|kmod|rmmod)$/.test(program)) return `${program} ran`;
  if (/^(?:ip6?tables|ebtables|arptables)(?:-legacy|-nft)?$/.test(program) || /^xtables-(?:legacy|nft)-multi$/.test(program)) {
    const bad = (argv ?? []).filter((a) => /^(?:-L|--list|-S|--list-rules|-t|--table|-n|-A|-I|-F|-X|-N)$/.test(a) || /^-t.+/.test(a));
    return `${program} ran${bad.length ? ` with ${bad.join(' ')}` : ''}`;
  }
  return undefined;
}

// ------------------------------------------------------------------ tests

describeKernel(
  'stale conntrack modules on the real kernel',
  () => {
    it.each(BACKENDS)(
      '$name: a rule that needs conntrack is found; once removed, new connections go untracked and the plugin says OK with the leftovers',
      async (backend) => {
        await withNamespace(async (ns) => {
          const holders: Holder[] = [];
          try {
            expect(conntrackCount(ns), 'a fresh namespace tracks nothing').toBe(0);
            runAll(ns, backend.add);
            backend.seenBy(ns);
            // The rule switches tracking on: each held connection is one entry.
            const withRule = await holdAndExpect(ns, holders, HELD, HELD, `with the ${backend.name} rule`);

            const on = inNs(ns, QUIET);
            expectOk(on, `${backend.name} rule present`);
            expect(perfdata(on).get('conntrack_rules'), `conntrack_rules with one ${backend.name} rule: ${describeRun(on)}`).toBe('1');
            const { line, sources } = rulesLine(on, 'at least 1 rule needs conntrack (');
            expect(line).toBe(`at least 1 rule needs conntrack (${backend.why}) [${sources.join(', ')}]`);
            expect(sources, 'the listings the plugin read').toContain(backend.source);
            expect(on.stdout).not.toContain('no rule needs conntrack');
            expect(on.lines).not.toContain(BUILTIN_LINE);

            runAll(ns, backend.remove);
            expect(nftRules(ns), `no rule left in ${ns.name}`).not.toMatch(/masquerade|ct state/);
            // The premise of the OK: without the rule this kernel has no hooks
            // here, so new connections add no entry and the old ones stay.
            expect(conntrackCount(ns), 'entries left after the rule went').toBe(withRule);
            await holdAndExpect(ns, holders, HELD, 0, `after the ${backend.name} rule was removed`);
            const left = conntrackCount(ns);
            expect(left, 'the entries of the first connections, and only those').toBe(HELD);

            const off = inNs(ns, QUIET);
            expectNoRuleVerdict(off, left, '', `${backend.name} rule removed`);
            expect(rulesLine(off, 'no rule needs conntrack [').sources).toContain(backend.source);
            expect(conntrackCount(ns), 'the bundle itself tracked nothing').toBe(left);
          } finally {
            await closeAll(holders);
          }
        });
      },
    );

    it('a raw-table NOTRACK rule next to MASQUERADE (iptables-nft) is reported as an exemption, not as a need', async () => {
      await withNamespace(async (ns) => {
        const holders: Holder[] = [];
        try {
          nsExec(ns, [IPTABLES_NFT, ...MASQUERADE]);
          nsExec(ns, [IPTABLES_NFT, ...NOTRACK]);
          expect(nsExec(ns, [IPTABLES_NFT_SAVE]).stdout).toMatch(/^-A PREROUTING -p udp -j NOTRACK$/m);

          const both = inNs(ns, QUIET);
          expectOk(both, 'MASQUERADE and NOTRACK');
          expect(perfdata(both).get('conntrack_rules'), describeRun(both)).toBe('1');
          const { line, sources } = rulesLine(both, 'at least 1 rule needs conntrack (');
          expect(line).toBe(
            `at least 1 rule needs conntrack (MASQUERADE target: nat POSTROUTING); 1 rule exempts traffic from tracking [${sources.join(', ')}]`,
          );
          expect(sources).toContain(IPTABLES_NFT_SAVE);

          // With only the exemption left, nothing switches tracking on: the
          // NOTRACK rule is not a need, for the kernel or for the plugin.
          for (const argv of FLUSH_NAT) nsExec(ns, [IPTABLES_NFT, ...argv]);
          await holdAndExpect(ns, holders, HELD, 0, 'with only the NOTRACK rule');
          const only = inNs(ns, QUIET);
          expectNoRuleVerdict(only, 0, '; 1 rule exempts traffic from tracking', 'NOTRACK only');
        } finally {
          await closeAll(holders);
        }
      });
    });

    it('with state between runs: OK while nothing is tracked; WARNING when the table grew with no rule in sight; OK again when it stops', async () => {
      await withNamespace(async (ns) => {
        const holders: Holder[] = [];
        const dir = mkdtempSync(join(tmpdir(), 'cctest-modules-'));
        const state = ['--state-file', join(dir, 's.json'), '--kernel-log', 'none', '-v'];
        try {
          // 1. baseline, no rules
          const first = inNs(ns, state);
          expectOk(first, 'run 1 (baseline)');
          expect(first.stdout).toContain('first check');
          rulesLine(first, 'no rule needs conntrack [');
          expect(first.stdout).not.toContain('still tracked');

          // 2. new connections with no rule: the kernel does not track them, the plugin stays OK
          const insert1 = statTotal(ns, 'insert');
          await holdAndExpect(ns, holders, HELD, 0, 'no rules, between runs 1 and 2');
          expect(statTotal(ns, 'insert'), 'insert counter with no rule').toBe(insert1);
          const second = inNs(ns, state);
          expectNoRuleVerdict(second, 0, '', 'run 2 (connections, no rule)');

          // 3. a rule exists only between the runs: its entries stay, the plugin cannot see it
          const insert2 = statTotal(ns, 'insert');
          const count2 = conntrackCount(ns);
          nsExec(ns, [IPTABLES_NFT, ...MASQUERADE]);
          await holdAndExpect(ns, holders, HELD, HELD, 'while the rule existed');
          for (const argv of FLUSH_NAT) nsExec(ns, [IPTABLES_NFT, ...argv]);
          const count3 = conntrackCount(ns);
          // The plugin's first evidence is the insert counter; kernels that no
          // longer count it (6.18 does not: it stays 0) leave the count's rise.
          const inserted = statTotal(ns, 'insert') - insert2;
          const growth = inserted > 0 ? `${inserted} new entries since the last check` : `the count rose from ${count2} to ${count3}`;
          console.info(`[modules test] insert counter +${inserted}, count ${count2} -> ${count3}: expecting "(${growth})"`);
          const third = inNs(ns, state);
          expect(third.stderr, 'run 3 stderr').toBe('');
          const head = `CONNTRACK WARNING - conntrack is built in and no rule uses it, yet connections are still tracked (${growth})`;
          expect(third.status.startsWith(head), `run 3 status starts with ${JSON.stringify(head)}: ${describeRun(third)}`).toBe(true);
          expect(third.code, `run 3: ${describeRun(third)}`).toBe(1);
          expect(perfdata(third).get('conntrack_rules')).toBe('0');
          const { line } = rulesLine(third, 'no rule needs conntrack [');
          expect(line).toMatch(/; something still tracks \(/);
          expect(third.lines.includes(BUILTIN_LINE), `run 3 built-in note:\n${third.stdout}`).toBe(BUILTIN);

          // 4. nothing new since: OK, the leftovers reported
          const fourth = inNs(ns, state);
          expectNoRuleVerdict(fourth, count3, '', 'run 4 (nothing new)');
        } finally {
          try {
            await closeAll(holders);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        }
      });
    });

    it('as nobody the rules cannot be listed: OK, the reason and --sudo named, no conntrack_rules perfdata', async () => {
      await withNamespace(async (ns) => {
        nsExec(ns, [IPTABLES_NFT, ...MASQUERADE]);
        const root = inNs(ns, QUIET);
        expectOk(root, 'root');
        expect(perfdata(root).get('conntrack_rules')).toBe('1');

        const nobody = runBundle(QUIET, {
          prefix: [...nsPrefix(ns), SETPRIV, `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'],
        });
        expectOk(nobody, 'nobody');
        expect(nobody.code, 'the exit code is the same as root').toBe(root.code);
        expect(perfdata(nobody).has('conntrack_rules'), `no conntrack_rules perfdata: ${nobody.status}`).toBe(false);
        const line = nobody.lines.find((l) => l.startsWith('rules not read'));
        expect(line, `a "rules not read" line: ${describeRun(nobody)}`).toBeDefined();
        expect(line).toContain('--sudo');
        expect(line).toContain('CAP_NET_ADMIN');
        expect(nobody.stdout).not.toContain('rule needs conntrack');
        expect(nobody.stdout).not.toContain('still tracked');
      });
    });

    // A native nftables table that happens to be called "ip nat" (the usual
    // nftables NAT setup) is not an iptables-nft table, but iptables-nft-save
    // dumps it as an empty `*nat` ("contains incompatible base-chains"). The
    // plugin takes every table that dump names from the -nft-save output only,
    // so the masquerade rule nft shows is dropped.
    let nativeNat: { count: number; runs: BundleRun[] } | undefined;

    it('a native nft "table ip nat" with masquerade: the kernel tracks (the plugin output is checked below)', async () => {
      nativeNat = undefined;
      await withNamespace(async (ns) => {
        const holders: Holder[] = [];
        const dir = mkdtempSync(join(tmpdir(), 'cctest-modules-'));
        const state = ['--state-file', join(dir, 's.json'), '--kernel-log', 'none', '-v'];
        try {
          nsExec(ns, [NFT, 'add', 'table', 'ip', 'nat']);
          nsExec(ns, [NFT, 'add', 'chain', 'ip', 'nat', 'postrouting', '{ type nat hook postrouting priority 100; }']);
          nsExec(ns, [NFT, 'add', 'rule', 'ip', 'nat', 'postrouting', 'ip', 'daddr', '192.0.2.1', 'masquerade']);
          expect(nftRules(ns)).toMatch(/ip daddr 192\.0\.2\.1 masquerade/);
          expect(nsExec(ns, [IPTABLES_NFT_SAVE]).stdout, 'iptables-nft-save names the native table').toMatch(/^\*nat$/m);
          const runs = [inNs(ns, state)];
          const count = await holdAndExpect(ns, holders, HELD, HELD, 'with the native masquerade rule');
          runs.push(inNs(ns, state));
          for (const r of runs) expect(r.stderr).toBe('');
          nativeNat = { count, runs };
        } finally {
          try {
            await closeAll(holders);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        }
      });
    });

    // iptables-nft-save shows the nat table but not its native chains: their
    // rules must still come from nft, or the plugin would say no rule needs
    // conntrack while the kernel tracks.
    it('counts the native nft masquerade rule and stays OK while it tracks', () => {
      expect(nativeNat, 'the test above ran').toBeDefined();
      const [first, second] = nativeNat!.runs as [BundleRun, BundleRun];
      for (const r of [first, second]) {
        expect(perfdata(r).get('conntrack_rules'), describeRun(r)).toBe('1');
        const { line, sources } = rulesLine(r, 'at least 1 rule needs conntrack (');
        expect(line).toBe(`at least 1 rule needs conntrack (masquerade: ip nat postrouting) [${sources.join(', ')}]`);
      }
      expectOk(second, 'second run, connections tracked by the rule');
    });
  },
  { needs: [IPTABLES_NFT, IPTABLES_NFT_SAVE, IPTABLES_LEGACY, IPTABLES_LEGACY_SAVE, NFT, SETPRIV] },
);

describeKernel(
  'command audit on the real kernel',
  () => {
    it('runs only the catalogued listings and readers, never a table looked up by name nor modprobe', async () => {
      await withNamespace(async (ns) => {
        const dir = mkdtempSync(join(tmpdir(), 'cctest-audit-'));
        // The default state file of root for this namespace: put back as it was.
        const defaultState = `/var/tmp/check_conntrack-0/state-${ns.inode}.json`;
        const savedState = existsSync(defaultState) ? readFileSync(defaultState) : undefined;
        try {
          // Something in each kind of table, so the listings have work to do.
          // No rule needs conntrack: a need found in one listing would rightly
          // leave nft unstarted.
          nsExec(ns, [IPTABLES_NFT, '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
          nsExec(ns, [IPTABLES_LEGACY, '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
          nsExec(ns, [NFT, 'add', 'table', 'inet', 'cctest']);

          const runs: Array<{ args: string[]; expect: RegExp[] }> = [
            // Default options: the kernel log from /dev/kmsg, the default state file.
            { args: [], expect: [/\/iptables-legacy-save$/, /\/iptables-nft-save$/, /\/nft$/] },
            { args: ['--no-state', '--kernel-log', 'dmesg'], expect: [/\/dmesg$/] },
            ...(existsSync('/run/log/journal') || existsSync('/var/log/journal')
              ? [{ args: ['--no-state', '--kernel-log', 'journal'], expect: [/\/journalctl$/] }]
              : []),
          ];
          const seen: string[] = [];
          for (const [i, r] of runs.entries()) {
            const trace = join(dir, `trace-${i}`);
            const run = runBundle(r.args, {
              prefix: [
                ...nsPrefix(ns),
                STRACE,
                '-f',
                '-qq',
                '-s',
                '4096',
                '-e',
                'trace=execve,execveat',
                '-e',
                'signal=none',
                '-o',
                trace,
                '--',
              ],
              timeoutMs: 30_000,
            });
            const what = `run ${JSON.stringify(r.args.join(' '))}`;
            expect(run.stderr, `${what} stderr`).toBe('');
            expect(run.status, `${what}: ${describeRun(run)}`).toMatch(/^CONNTRACK (?:OK|WARNING|CRITICAL) - /);
            const execs = parseTrace(readFileSync(trace, 'utf8'));
            // The first exec is strace starting the bundle's Node.
            expect(execs[0]?.argv?.[1], `${what}: the traced program`).toBe(BUNDLE);
            const children = execs.slice(1);
            for (const e of children) {
              seen.push(`${e.path} ${(e.argv ?? ['?']).slice(1).join(' ')}`);
              const forbidden = forbiddenExec(e.path, e.argv);
              expect(forbidden, `${what}: ${e.raw}`).toBeUndefined();
              expect(e.argv, `${what}: argv read in full: ${e.raw}`).toBeDefined();
              expect(e.argv![0], `${what}: argv[0] is the path: ${e.raw}`).toBe(e.path);
              expect(allowedExec(e.path, e.argv!.slice(1)), `${what}: not in the allowed list: ${e.raw}`).toBe(true);
            }
            // Not a vacuous pass: the trace saw the programs this run must start.
            for (const want of r.expect)
              expect(
                children.some((e) => want.test(e.path)),
                `${what} ran ${want}: ${children.map((e) => e.raw).join('\n')}`,
              ).toBe(true);
          }
          console.info(`[modules test] audited execs:\n  ${[...new Set(seen)].join('\n  ')}`);
        } finally {
          try {
            if (savedState !== undefined) writeFileSync(defaultState, savedState, { mode: 0o600 });
            else rmSync(defaultState, { force: true });
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        }
      });
    });
  },
  { needs: [STRACE, IPTABLES_NFT, IPTABLES_LEGACY, NFT] },
);
