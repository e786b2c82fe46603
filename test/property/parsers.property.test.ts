/**
 * The other parsers: /proc/modules, iptables-save, nft list, /proc/PID/cgroup,
 * /proc/PID/stat, /proc/PID/status, osrelease, durations, the state file and
 * Nagios ranges. For each: any input gives a result of the documented shape (or a
 * refusal), and what a real source prints reads back.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/parse/duration';
import { formatRange, parseRange, RangeSyntaxError } from '../../src/nagios/range';
import { containerFromCgroup, unitFromCgroup } from '../../src/parse/cgroup';
import { parseDockerConfig, parsePodmanContainers, podFromLogDirs } from '../../src/parse/container-state';
import { classifyRule, declaredChains, parseIptablesSave, tokenizeRule } from '../../src/parse/iptables-save';
import { mergeScans, type RuleScan, type RuleScanParse } from '../../src/parse/rule-scan';
import { parseKernelRelease } from '../../src/parse/kernel-release';
import { parseNftTables, parseNftText } from '../../src/parse/nft-text';
import { isConntrackModule, parseProcModules, PERMANENT } from '../../src/parse/proc-modules';
import { parseProcPidStat } from '../../src/parse/proc-pid-stat';
import { parseGroupFile, parseProcStatus } from '../../src/parse/proc-status';
import { parseState, type SavedState } from '../../src/state/schema';
import { fixtureTexts, garbage, hex, hostileText, isCount, isPlainObject, isUint32, snippet } from './support/hostile';

const RUNS = { numRuns: 500, interruptAfterTimeLimit: 8_000 };

describe('parseProcModules', () => {
  const MODULES = fixtureTexts('modules');
  const token = fc.oneof(
    fc.stringMatching(/^[a-z_]{1,20}$/),
    fc.stringMatching(/^\d{1,20}$/),
    fc.constantFrom('-', 'Live', 'Loading', '0x0000000000000000', '(OE)', '[permanent],', 'nf_conntrack,nf_nat,'),
    snippet,
  );

  it('gives modules of the documented shape, or a reason, for any text', () => {
    fc.assert(
      fc.property(hostileText(MODULES, token), (text) => {
        const r = parseProcModules(text);
        if (!r.ok) {
          expect(r.reason.length).toBeGreaterThan(0);
          return;
        }
        expect(new Set(r.modules.map((m) => m.name)).size).toBe(r.modules.length);
        for (const m of r.modules) {
          expect(m.name).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
          expect(isCount(m.size)).toBe(true);
          expect(m.useCount === -1 || isCount(m.useCount)).toBe(true);
          for (const u of m.users) expect(u === PERMANENT || /^[A-Za-z0-9_-]{1,64}$/.test(u)).toBe(true);
          expect(m.state === '' || /^[A-Za-z]{1,32}$/.test(m.state)).toBe(true);
          expect(typeof isConntrackModule(m.name)).toBe('boolean');
        }
      }),
      RUNS,
    );
  });

  it('reads back any module list as /proc/modules prints it', () => {
    const module = fc.record({
      size: fc.integer({ min: 0, max: 999_999_999_999_999 }),
      count: fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: undefined }),
      users: fc.array(fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/), { maxLength: 4 }),
      state: fc.constantFrom('Live', 'Loading', 'Unloading'),
      taints: fc.constantFrom('', ' (OE)', ' (P)', ' (OE+)'),
    });
    fc.assert(
      fc.property(
        fc
          .uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,30}$/), { maxLength: 30 })
          .chain((names) => fc.tuple(fc.constant(names), fc.array(module, { minLength: names.length, maxLength: names.length }))),
        ([names, modules]) => {
          const text = names.map((n, i) => {
            const m = modules[i]!;
            const users = m.users.length ? m.users.map((u) => `${u},`).join('') : '-';
            return `${n} ${m.size} ${m.count ?? '-'} ${users} ${m.state} 0xffffffffc0a00000${m.taints}`;
          });
          const r = parseProcModules(text.join('\n') + '\n');
          if (!r.ok) throw new Error(r.reason);
          expect(r.modules).toEqual(
            names.map((name, i) => ({
              name,
              size: modules[i]!.size,
              useCount: modules[i]!.count ?? -1,
              users: modules[i]!.users,
              state: modules[i]!.state,
            })),
          );
        },
      ),
      RUNS,
    );
  });
});

/** What every rule scan must satisfy. */
function checkScan(r: RuleScanParse): void {
  if (!r.ok) {
    expect(r.reason.length).toBeGreaterThan(0);
    return;
  }
  const s: RuleScan = r.scan;
  expect(isCount(s.rules)).toBe(true);
  expect(new Set(s.tables).size).toBe(s.tables.length);
  expect(s.needsConntrack.length + s.exempts.length).toBeLessThanOrEqual(s.rules);
  for (const ref of [...s.needsConntrack, ...s.exempts]) {
    expect(ref.text.length).toBeLessThanOrEqual(512 + 3);
    // eslint-disable-next-line no-control-regex -- what must never reach a status line
    expect(ref.text).not.toMatch(/[\x00-\x1f\x7f-\x9f|]/);
    expect(ref.why.length).toBeGreaterThan(0);
    expect(typeof ref.table).toBe('string');
    expect(typeof ref.chain).toBe('string');
  }
}

describe('iptables-save', () => {
  const RULES = fixtureTexts('rules');
  const DUMPS = RULES.filter((t) => !t.trimStart().startsWith('{'));
  const token = fc.oneof(
    fc.constantFrom(
      '-A',
      '-I',
      '*nat',
      '*raw',
      'COMMIT',
      ':INPUT ACCEPT [0:0]',
      '-j',
      '-m',
      '--ctstate',
      'MASQUERADE',
      'CT',
      '--notrack',
      'NOTRACK',
      'conntrack',
      'state',
      '--comment',
      '"a b"',
      '"\\"',
      '[1:2]',
    ),
    snippet,
  );

  it('parseIptablesSave gives a consistent scan, or a reason, for any text', () => {
    fc.assert(
      fc.property(hostileText(DUMPS, token), (text) => {
        checkScan(parseIptablesSave(text));
        expect(Array.isArray(declaredChains(text))).toBe(true);
      }),
      RUNS,
    );
  });

  it('tokenizeRule reads back any words, bare or quoted as iptables-save quotes them', () => {
    const word = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.:/,!=-]{1,20}$/), fc.string({ minLength: 1, maxLength: 20 }));
    fc.assert(
      fc.property(fc.array(word, { maxLength: 12 }), fc.constantFrom(' ', '  ', '\t'), (words, gap) => {
        const quote = (w: string) => (/^[A-Za-z0-9_.:/,!=-]+$/.test(w) ? w : `"${w.replace(/[\\"]/g, '\\$&')}"`);
        expect(tokenizeRule(words.map(quote).join(gap))).toEqual(words);
      }),
      RUNS,
    );
  });

  it('classifyRule and tokenizeRule never throw on any line', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          garbage,
          fc.array(token, { maxLength: 20 }).map((t) => t.join(' ')),
        ),
        (line) => {
          const c = classifyRule(line);
          expect(Object.keys(c).every((k) => k === 'need' || k === 'exempt')).toBe(true);
          expect(Array.isArray(tokenizeRule(line))).toBe(true);
        },
      ),
      RUNS,
    );
  });
});

describe('parseNftText', () => {
  const TEXTS = fixtureTexts('rules').filter((t) => t.startsWith('table '));
  const word = fc.constantFrom(
    'table',
    'ip',
    'inet',
    'chain',
    'set',
    'map',
    '{',
    '}',
    'ct',
    'state',
    'count',
    'masquerade',
    'dnat',
    'to',
    'notrack',
    'xt',
    'match',
    '"conntrack"',
    'jump',
    'goto',
    'type',
    'redirect',
    '"',
    ';',
    '\n',
    '\t',
  );
  const ruleset = fc.array(word, { maxLength: 60 }).map((ws) => `table ip t {\n\tchain c {\n\t\t${ws.join(' ')}\n\t}\n}\n`);

  it('gives a consistent scan, or a reason, for any text, whole or stopped at the first need', () => {
    fc.assert(
      fc.property(fc.oneof(hostileText(TEXTS, word), ruleset), fc.boolean(), (text, stopAtNeed) => {
        const r = parseNftText(text, { stopAtNeed });
        checkScan(r);
        if (r.ok && stopAtNeed) expect(r.scan.needsConntrack.length).toBeLessThanOrEqual(1);
        const tables = parseNftTables(text);
        if (!tables.ok) expect(tables.reason.length).toBeGreaterThan(0);
      }),
      RUNS,
    );
  });

  it('mergeScans adds up its inputs', () => {
    const scans = fc
      .array(fc.constantFrom(...fixtureTexts('rules')), { maxLength: 5 })
      .map((texts) =>
        texts.map((t) => (t.startsWith('table ') ? parseNftText(t) : parseIptablesSave(t))).flatMap((r) => (r.ok ? [r.scan] : [])),
      );
    fc.assert(
      fc.property(scans, (list) => {
        const merged = mergeScans(list);
        expect(merged.rules).toBe(list.reduce((n, s) => n + s.rules, 0));
        expect(merged.needsConntrack.length).toBe(list.reduce((n, s) => n + s.needsConntrack.length, 0));
        expect(new Set(merged.tables)).toEqual(new Set(list.flatMap((s) => s.tables)));
      }),
      { numRuns: 100 },
    );
  });
});

describe('cgroup', () => {
  const CGROUPS = fixtureTexts('cgroup');
  const token = fc.oneof(
    hex(64).map((h) => `docker-${h}.scope`),
    hex(64),
    fc.constantFrom(
      '0::/',
      '1:name=systemd:/',
      '/system.slice',
      'kubepods',
      'kubepods-besteffort-pod0123abcd_0123_4567_89ab_0123456789ab.slice',
      'lxc.payload.web',
      'lxc',
      'docker',
      'x.service',
    ),
    snippet,
  );

  it('names a container or a unit of the documented shape, or nothing, for any text', () => {
    fc.assert(
      fc.property(hostileText(CGROUPS, token), (text) => {
        const c = containerFromCgroup(text);
        if (c !== undefined) {
          expect(['docker', 'containerd', 'cri-o', 'podman', 'lxc', 'kubernetes']).toContain(c.runtime);
          expect(c.id.length).toBeGreaterThan(0);
          if (c.runtime !== 'lxc') expect(c.id).toMatch(/^[0-9a-f]{12}$/);
          if (c.podUid !== undefined)
            expect(c.podUid).toMatch(/^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/);
        }
        const unit = unitFromCgroup(text);
        if (unit !== undefined) expect(unit).toMatch(/^[A-Za-z0-9:_.\\@-]{1,248}\.service$/);
      }),
      RUNS,
    );
  });

  it('finds the container of any runtime scope, under any slice', () => {
    fc.assert(
      fc.property(
        hex(64),
        fc.constantFrom(
          ['docker-', '.scope', 'docker'],
          ['cri-containerd-', '.scope', 'containerd'],
          ['crio-', '.scope', 'cri-o'],
          ['libpod-', '.scope', 'podman'],
        ),
        fc.array(fc.stringMatching(/^[a-z][a-z0-9-]{0,12}\.slice$/), { maxLength: 3 }),
        (id, [pre, post, runtime], slices) => {
          const path = ['', ...slices, `${pre}${id}${post}`].join('/');
          expect(containerFromCgroup(`0::${path}\n`)).toEqual({ runtime, id: id.slice(0, 12), fullId: id });
        },
      ),
      RUNS,
    );
  });
});

describe("container runtimes' state files", () => {
  const texts = fixtureTexts('containers');
  /** What a name may be once it reaches the output: no control characters, no '|', nothing the status line would break on. */
  const SAFE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

  it('never throw, and whatever name they give is safe to print', () => {
    fc.assert(
      fc.property(
        hostileText(texts, fc.constantFrom('"id"', '"names"', '"Name"', '"ID"', '[', ']', '{', '}', ',', ':', '"/x"')),
        (text) => {
          const podman = parsePodmanContainers(text);
          for (const [id, name] of podman.ok ? podman.value : []) {
            expect(id).toMatch(/^[0-9a-f]{64}$/);
            expect(name).toMatch(SAFE);
          }
          const docker = parseDockerConfig(text, '20f76c7de24cc85e5e844bec2f1a283804d1fc23962ba8d2353c0f41023f67ae');
          if (docker.ok) expect(docker.value).toMatch(SAFE);
        },
      ),
      RUNS,
    );
  });

  it('a pod is found only by its own UID, and its names are DNS names', () => {
    fc.assert(
      fc.property(fc.array(garbage, { maxLength: 5 }), fc.uuid(), (dirs, uid) => {
        const pod = podFromLogDirs(dirs, uid);
        if (pod) {
          expect(dirs).toContain(`${pod.namespace}_${pod.name}_${uid}`);
          expect(`${pod.namespace}/${pod.name}`).toMatch(/^[a-z0-9-]+\/[a-z0-9.-]+$/);
        }
      }),
      RUNS,
    );
  });
});

describe('/proc/PID/stat and /proc/PID/status', () => {
  const afterComm = (startTime: string) => `S 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 ${startTime} 1000 100 18446744073709551615`;

  it('parseProcPidStat reads back any process name, spaces and parentheses included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4_194_304 }),
        fc.string({ unit: 'binary', maxLength: 64 }),
        fc.maxSafeNat(),
        (pid, comm, start) => {
          expect(parseProcPidStat(`${pid} (${comm}) ${afterComm(String(start))}\n`)).toEqual({ comm, startTime: start });
        },
      ),
      RUNS,
    );
  });

  it('parseProcPidStat gives a safe start time or nothing, for any text', () => {
    const real = `4242 (nginx: worker) ${afterComm('123456')}\n`;
    fc.assert(
      fc.property(hostileText([real, `1 (systemd) ${afterComm('1')}`], fc.stringMatching(/^\d{1,25}$/)), (text) => {
        const r = parseProcPidStat(text);
        if (r !== undefined) {
          expect(isCount(r.startTime)).toBe(true);
          expect(typeof r.comm).toBe('string');
        }
      }),
      RUNS,
    );
  });

  const STATUS =
    'Name:\tcat\nUmask:\t0022\nState:\tR (running)\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t4 24 27 1000\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n';
  const statusToken = fc.oneof(
    fc.constantFrom('Uid:', 'Gid:', 'Groups:', 'CapEff:', '\t'),
    fc.stringMatching(/^\d{1,25}$/),
    hex(16),
    snippet,
  );

  it('parseProcStatus gives safe ids and a capability set, or nothing, for any text', () => {
    fc.assert(
      fc.property(hostileText([STATUS], statusToken), (text) => {
        const r = parseProcStatus(text);
        if (r === undefined) return;
        expect(isCount(r.uid)).toBe(true);
        expect(typeof r.capEff).toBe('bigint');
        expect(r.capEff >= 0n).toBe(true);
        expect(new Set(r.gids).size).toBe(r.gids.length);
        for (const gid of r.gids) expect(isCount(gid), `gid ${gid}`).toBe(true);
      }),
      { ...RUNS, examples: [['Uid:\t0\t0\t0\t0\nGroups:\t9007199254740993\nCapEff:\t0\n']] },
    );
  });

  it('parseGroupFile gives safe group ids for any text', () => {
    fc.assert(
      fc.property(hostileText(['root:x:0:\nadm:x:4:syslog\nsystemd-journal:x:999:\n'], fc.stringMatching(/^\d{1,25}$/)), (text) => {
        for (const [name, gid] of parseGroupFile(text)) {
          expect(name.length).toBeGreaterThan(0);
          expect(isCount(gid), `gid ${gid} of ${name}`).toBe(true);
        }
      }),
      { ...RUNS, examples: [['adm:x:9007199254740993:\n']] },
    );
  });

  it('parseProcStatus reads back the effective ids, groups and capabilities', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 4, maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 4, maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 8 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        (uids, gids, groups, cap) => {
          const text = `Name:\tx\nUid:\t${uids.join('\t')}\nGid:\t${gids.join('\t')}\nGroups:\t${groups.join(' ')} \nCapEff:\t${cap.toString(16).padStart(16, '0')}\n`;
          expect(parseProcStatus(text)).toEqual({ uid: uids[1], gids: [...new Set([gids[1]!, ...groups])], capEff: cap });
        },
      ),
      RUNS,
    );
  });
});

describe('osrelease and durations', () => {
  it('parseKernelRelease gives small whole numbers or nothing, and reads back any release', () => {
    fc.assert(
      fc.property(
        hostileText(['6.8.0-45-generic\n', '2.6.32-754.el6.x86_64\n', '4.15.0-213-generic\n'], fc.stringMatching(/^\d{1,6}$/)),
        (text) => {
          const r = parseKernelRelease(text);
          if (r === undefined) return;
          for (const n of [r.major, r.minor]) expect(Number.isInteger(n) && n >= 0 && n <= 9999).toBe(true);
        },
      ),
      RUNS,
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 9999 }),
        fc.string({ maxLength: 20 }),
        (major, minor, rest) => {
          expect(parseKernelRelease(`${major}.${minor}${/^\d/.test(rest) ? '' : rest}\n`)).toEqual({ major, minor });
        },
      ),
      RUNS,
    );
  });

  it('parseDuration gives a finite number of seconds >= 0 or nothing, and reads back any duration', () => {
    fc.assert(
      fc.property(hostileText(['90s', '15m', '1h', '2d', '0.5h'], fc.stringMatching(/^\d{1,400}(\.\d{0,5})?[smhdx]?$/)), (text) => {
        const r = parseDuration(text);
        if (r !== undefined) expect(Number.isFinite(r) && r >= 0).toBe(true);
      }),
      RUNS,
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000_000 }),
        fc.constantFrom(['', 1], ['s', 1], ['m', 60], ['h', 3600], ['d', 86400]),
        (n, [unit, size]) => {
          expect(parseDuration(`${n}${unit}`)).toBe(n * (size as number));
        },
      ),
      RUNS,
    );
  });
});

describe('parseState', () => {
  const count = fc.maxSafeNat();
  const counters = fc.record(
    {
      perCpu: fc.dictionary(fc.string({ maxLength: 10 }), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 4 }), {
        maxKeys: 4,
      }),
      count,
      timeMs: count,
      history: fc.array(fc.tuple(count, count), { maxLength: 4 }),
    },
    { requiredKeys: ['perCpu', 'timeMs'] },
  );
  const log = fc.record(
    {
      source: fc.string({ maxLength: 10 }),
      seq: count,
      bootUsec: count,
      wallMs: count,
      file: fc.record({ path: fc.string({ maxLength: 20 }), ino: count, offset: count }),
    },
    { requiredKeys: ['source'] },
  );
  const state = fc.record(
    {
      version: fc.constant(1 as const),
      bootId: fc.uuid(),
      savedAtMs: count,
      namespaces: fc.dictionary(fc.stringMatching(/^\d{1,10}$/), counters, { maxKeys: 4 }),
      log,
    },
    { requiredKeys: ['version', 'savedAtMs', 'namespaces'] },
  );

  /** The documented shape, checked independently of the parser. */
  function valid(v: unknown): boolean {
    const opt = (x: unknown, f: (y: unknown) => boolean) => x === undefined || f(x);
    if (
      !isPlainObject(v) ||
      v.version !== 1 ||
      !isCount(v.savedAtMs) ||
      !opt(v.bootId, (x) => typeof x === 'string') ||
      !isPlainObject(v.namespaces)
    )
      return false;
    for (const c of Object.values(v.namespaces)) {
      if (!isPlainObject(c) || !isCount(c.timeMs) || !opt(c.count, isCount) || !isPlainObject(c.perCpu)) return false;
      if (!opt(c.history, (h) => Array.isArray(h) && h.every((s) => Array.isArray(s) && s.length === 2 && isCount(s[0]) && isCount(s[1]))))
        return false;
      if (!Object.values(c.perCpu).every((a) => Array.isArray(a) && a.every(isUint32))) return false;
    }
    return opt(v.log, (l) => {
      if (!isPlainObject(l) || typeof l.source !== 'string' || !opt(l.seq, isCount) || !opt(l.bootUsec, isCount) || !opt(l.wallMs, isCount))
        return false;
      return opt(l.file, (f) => isPlainObject(f) && typeof f.path === 'string' && isCount(f.ino) && isCount(f.offset));
    });
  }

  /** Replaces the value at a path chosen by `pick` with `value`. */
  function mutate(root: unknown, pick: number[], value: unknown): unknown {
    const copy = JSON.parse(JSON.stringify(root)) as unknown;
    let node = copy;
    for (let depth = 0; depth < pick.length; depth += 1) {
      if (typeof node !== 'object' || node === null) break;
      const keys = Object.keys(node);
      if (keys.length === 0) break;
      const key = keys[(pick[depth] as number) % keys.length] as string;
      const child = (node as Record<string, unknown>)[key];
      if (depth === pick.length - 1 || typeof child !== 'object' || child === null) {
        (node as Record<string, unknown>)[key] = value;
        break;
      }
      node = child;
    }
    return copy;
  }

  it('reads back any state it could have written', () => {
    fc.assert(
      fc.property(state, (s) => {
        const r = parseState(JSON.stringify(s));
        expect(r).toEqual({ ok: true, state: s as SavedState });
      }),
      RUNS,
    );
  });

  it('accepts a state with one value replaced exactly when the value keeps the shape', () => {
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(-1, 1.5, 2 ** 32, 2 ** 53, 1e308, '', '1', null, [], {}, [1, 2, 3], [[1, 2]]),
    );
    fc.assert(
      fc.property(state, fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), value, (s, pick, v) => {
        const data = mutate(s, pick, v);
        const r = parseState(JSON.stringify(data));
        expect(r.ok).toBe(valid(data));
      }),
      RUNS,
    );
  });

  it('gives a state of the documented shape, or a short reason, for any text or JSON', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          garbage,
          fc.jsonValue().map((v) => JSON.stringify({ version: 1, savedAtMs: 1, namespaces: { 1: v } })),
          fc
            .oneof(fc.jsonValue(), fc.string({ minLength: 1000, maxLength: 5000 }))
            .map((v) => JSON.stringify({ version: v, savedAtMs: 1, namespaces: {} })),
        ),
        (text) => {
          const r = parseState(text);
          if (r.ok) expect(valid(r.state)).toBe(true);
          else {
            expect(r.reason.length).toBeGreaterThan(0);
            // The reason ends up in the output (-v, and whole in --format json): an excerpt, as preview() gives elsewhere.
            expect(r.reason.length, r.reason.slice(0, 200)).toBeLessThanOrEqual(200);
          }
        },
      ),
      { ...RUNS, endOnFailure: true, examples: [[JSON.stringify({ version: 'x'.repeat(1000), savedAtMs: 1, namespaces: {} })]] },
    );
  });
});

describe('parseRange', () => {
  const bound = fc.oneof(
    fc.integer({ min: -1e6, max: 1e6 }).map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map(String),
    fc.constantFrom('~', '', '0', '-0', '.5', '5.', '1e3', '+3', '99999999999999999999', '1'.repeat(400)),
  );
  const rangeText = fc.oneof(
    fc
      .tuple(fc.boolean(), bound, fc.boolean(), bound, fc.boolean(), fc.boolean())
      .map(([at, a, colon, b, p1, p2]) => `${at ? '@' : ''}${a}${p1 ? '%' : ''}${colon ? ':' : ''}${colon ? b : ''}${p2 ? '%' : ''}`),
    garbage,
    fc.array(fc.constantFrom('@', '~', ':', '%', '-', '+', '.', '0', '9', 'e', ' ', '\0'), { maxLength: 12 }).map((c) => c.join('')),
  );

  it('gives a range with start <= end, or a RangeSyntaxError, never another error', () => {
    fc.assert(
      fc.property(rangeText, (text) => {
        let range;
        try {
          range = parseRange(text);
        } catch (err) {
          expect(err).toBeInstanceOf(RangeSyntaxError);
          return;
        }
        expect(Number.isNaN(range.start) || Number.isNaN(range.end)).toBe(false);
        expect(range.start).toBeLessThanOrEqual(range.end);
        expect(range.start === -Infinity || Number.isFinite(range.start)).toBe(true);
        expect(range.end === Infinity || Number.isFinite(range.end)).toBe(true);
        expect(range.text).toBe(text);
        expect(range.inside).toBe(text.startsWith('@'));
        // Written back as the JSON output writes it (a % after each bound of a percent range), the range reads the same.
        const written = formatRange(range, (n) => `${String(n)}${range.percent ? '%' : ''}`);
        if (/e/.test(written)) return;
        const again = parseRange(written);
        const same = (x: number) => (x === 0 ? 0 : x); // -0 is written as 0
        expect([again.start, again.end, again.inside, again.percent]).toEqual([
          same(range.start),
          same(range.end),
          range.inside,
          range.percent,
        ]);
      }),
      // 10%: is the JSON output's thresholds case: it must come back as '10%:', not '10:%'.
      { ...RUNS, examples: [['10%:']] },
    );
  });
});
