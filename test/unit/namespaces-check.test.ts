import { describe, expect, it } from 'vitest';
import { checkNamespaces, namespaceLabel, type NamespaceEntry, type NamespacesInput } from '../../src/checks/namespaces';
import { formatPerfdata } from '../../src/nagios/perfdata';
import { parseRange } from '../../src/nagios/range';
import { render } from '../../src/nagios/render';
import { State } from '../../src/nagios/state';
import type { ConntrackStats } from '../../src/parse/conntrack-stat';
import type { NamespaceInfo } from '../../src/probes/namespaces';
import { chooseBaseline, nextState } from '../../src/state/baseline';
import { namespaceBaselines } from '../../src/state/kept-counters';

const HOST = 4026531840;
const NOW = 1_795_329_668_000;
const info = (inode: number, over: Partial<NamespaceInfo> = {}): NamespaceInfo => ({
  inode,
  names: [],
  processes: 1,
  oldestPid: inode % 100000,
  ...over,
});
const stats = (entries: number, drop: number[] = [0, 0]): ConntrackStats => ({
  entries,
  columns: ['drop', 'early_drop'],
  perCpu: { drop, early_drop: [0, 0] },
  totals: { drop: drop.reduce((a, b) => a + b, 0), early_drop: 0 },
  cpus: 2,
});
const entry = (i: NamespaceInfo, s: ConntrackStats | string): NamespaceEntry => ({
  info: i,
  stats:
    typeof s === 'string'
      ? { status: 'unread', reason: s }
      : { status: 'ok', source: `/proc/${i.oldestPid}/net/stat/nf_conntrack`, stats: s },
});
const input = (entries: NamespaceEntry[], over: Partial<NamespacesInput> = {}): NamespacesInput => ({
  own: HOST,
  inventory: { namespaces: [info(HOST), ...entries.map((e) => e.info)], processesScanned: 100, hiddenProcesses: 0, problems: [] },
  entries,
  max: 10,
  warning: parseRange('80%'),
  critical: parseRange('90%'),
  loss: {
    drop: { critical: parseRange('0') },
    earlyDrop: { warning: parseRange('0') },
    insertFailed: {},
    logDrops: { critical: parseRange('0') },
    logWindowSeconds: 3600,
  },
  logByNetns: {},
  top: 5,
  uid: 0,
  nowMs: NOW,
  ...over,
});

describe('namespaceLabel: as an operator knows the namespace', () => {
  it('prefers the ip netns name, then the container, then the service, then the command, always with the inode', () => {
    expect(namespaceLabel(info(1, { names: ['web-7f9c'], container: { runtime: 'docker', id: 'abc123abc123' }, command: 'nginx' }))).toBe(
      'netns web-7f9c (1)',
    );
    expect(namespaceLabel(info(2, { container: { runtime: 'containerd', id: '0123456789ab' }, unit: 'x.service', command: 'pause' }))).toBe(
      'netns containerd 0123456789ab (2)',
    );
    expect(namespaceLabel(info(3, { unit: 'systemd-resolved.service', command: 'systemd-resolve' }))).toBe(
      'netns systemd-resolved.service (3)',
    );
    expect(namespaceLabel(info(4, { command: 'sleep' }))).toBe('netns sleep (4)');
    expect(namespaceLabel(info(5))).toBe('netns netns (5)');
  });

  it('a container the runtime named: runtime, name, short id and inode, as `podman ps` shows it', () => {
    const web = { runtime: 'podman', id: 'a3766ad18c56', fullId: `a3766ad18c56${'0'.repeat(52)}`, name: 'web-7f9c' } as const;
    expect(namespaceLabel(info(4026532174, { container: web, command: 'nginx' }))).toBe('podman web-7f9c (a3766ad18c56, netns 4026532174)');
    expect(namespaceLabel(info(6, { container: { runtime: 'docker', id: 'c7fdbe78d152', name: 'api' } }))).toBe(
      'docker api (c7fdbe78d152, netns 6)',
    );
    // LXC's name is its id: said once.
    expect(namespaceLabel(info(7, { container: { runtime: 'lxc', id: 'web01', name: 'web01' } }))).toBe('lxc web01 (netns 7)');
  });

  it('a pod: its namespace and name, as `kubectl get pods` shows it', () => {
    const pause = {
      runtime: 'cri-o',
      id: '6aa4cf3f7233',
      podUid: '5d0c8a2e-91b4-4f6e-8a3d-7e2b1c9f0a64',
      pod: { namespace: 'default', name: 'web-7f9c' },
    } as const;
    expect(namespaceLabel(info(8, { container: pause }))).toBe('pod default/web-7f9c (6aa4cf3f7233, netns 8)');
  });

  it("a runtime's own /run/netns name never wins over the container; a name someone gave does", () => {
    const web = { runtime: 'podman', id: 'a3766ad18c56', name: 'web-7f9c' } as const;
    const podmanFile = 'netns-75fa0676-5ac9-1a6f-e695-3e8c08c8c7f7';
    const cniFile = 'cni-1f6b3a3e-2b1d-4c1e-9a77-5d2f0e8b1c42';
    const crioFile = '1f6b3a3e-2b1d-4c1e-9a77-5d2f0e8b1c42';
    for (const file of [podmanFile, cniFile, crioFile]) {
      expect(namespaceLabel(info(9, { names: [file], container: web }))).toBe('podman web-7f9c (a3766ad18c56, netns 9)');
      // Even a container known only by its id says more than the runtime's file name.
      expect(namespaceLabel(info(9, { names: [file], container: { runtime: 'containerd', id: '0123456789ab' } }))).toBe(
        'netns containerd 0123456789ab (9)',
      );
      // With nothing else to go by, the file name is still better than nothing.
      expect(namespaceLabel(info(9, { names: [file], command: 'sleep' }))).toBe(`netns ${file} (9)`);
    }
    expect(namespaceLabel(info(10, { names: [podmanFile, 'blue'], container: web }))).toBe('netns blue (10)');
  });
});

describe('checkNamespaces', () => {
  it('the worst namespace leads, with its drops since the last check; the next not OK is counted', () => {
    const full = info(4026532315, { names: ['web-7f9c'] });
    const warm = info(4026532316, { names: ['db'] });
    const calm = info(4026532317, { names: ['calm'] });
    const entries = [entry(calm, stats(2)), entry(full, stats(10, [10, 6])), entry(warm, stats(9))];
    const baselines = { '4026532315': { perCpu: { drop: [0, 0], early_drop: [0, 0] }, timeMs: NOW - 60_000 } };
    const result = checkNamespaces(input(entries, { baselines, logByNetns: { '4026532315': 3 } }));
    expect(result.state).toBe(State.CRITICAL);
    expect(result.summary).toBe(
      "netns web-7f9c (4026532315): 100.0% of table used (10 of 10 entries), 16 packets dropped since last check (table full), 3 'table full' messages in the kernel log (and 1 more namespace not OK)",
    );
    expect(result.details).toContain('  netns db (4026532316): 90.0% of table used (9 of 10 entries)');
    expect(result.details).toContain('  netns calm (4026532317): 20.0% of table used (2 of 10 entries)');
    expect(result.perfdata.map(formatPerfdata)).toEqual(['namespaces=4', 'worst_entries=10;;;0;10', 'worst_usage=100%;;;0;100']);
  });

  it('keeps perfdata the same size with 500 namespaces, and the output within its limits', () => {
    // Every one of them over its warning: 500 lines of long output that must be cut.
    const entries = Array.from({ length: 500 }, (_, i) => entry(info(4026532000 + i, { names: [`pod-${i}`] }), stats(9 + (i % 2))));
    const result = checkNamespaces(input(entries));
    expect(result.perfdata.map(formatPerfdata)).toEqual(['namespaces=501', 'worst_entries=10;;;0;10', 'worst_usage=100%;;;0;100']);
    expect(result.summary).toMatch(
      /^netns pod-\d+ \(\d+\): 100\.0% of table used \(10 of 10 entries\) \(and 499 more namespaces not OK\)$/,
    );
    const brief = render([result], 0).text;
    const verbose = render([result], 1).text;
    expect(Buffer.byteLength(brief)).toBeLessThanOrEqual(1024);
    expect(Buffer.byteLength(verbose)).toBeLessThanOrEqual(8192);
    expect(verbose).toMatch(/\(output cut at 8192 bytes for -v: \d+ more lines; --format json has everything\)\n$/);
  });

  it('never passes a namespace it could not read for one that is fine', () => {
    const unread = entry(
      info(4026532400, { names: ['b'], processes: 0, oldestPid: undefined }),
      "no process of it could be seen (81 processes are hidden from uid 65534): reading it by name needs 'ip netns exec b', which needs root",
    );
    const result = checkNamespaces(
      input([unread, entry(info(4026532401), stats(1))], {
        uid: 65534,
        inventory: { namespaces: [info(HOST), unread.info, info(4026532401)], processesScanned: 90, hiddenProcesses: 81, problems: [] },
      }),
    );
    expect(result.state).toBe(State.UNKNOWN);
    expect(result.summary).toBe('1 namespace not checked (needs root)');
    expect(result.notes?.[0]).toBe(
      '81 processes could not be inspected (their ns/net link is not readable as uid 65534): the namespaces they are in are not checked; run as root to see them',
    );
    expect(result.notes?.[1]).toMatch(/^1 namespace not checked, e\.g\. netns b \(4026532400\): no process of it could be seen/);
  });

  it('keeps the last good baseline of a namespace it could not read this time, and drops those that are gone', () => {
    const a = info(11);
    const b = info(12);
    const baselines = {
      '11': { perCpu: { drop: [1, 1] }, timeMs: NOW - 60_000 },
      '12': { perCpu: { drop: [5, 5] }, timeMs: NOW - 60_000 },
      '99': { perCpu: { drop: [7, 7] }, timeMs: NOW - 60_000 },
    };
    const readings = [
      { inode: a.inode, read: { perCpu: { drop: [2, 1], early_drop: [0, 0], searched: [9, 9] }, entries: 3 } },
      { inode: b.inode },
    ];
    const counters = namespaceBaselines(readings, baselines, NOW);
    // Only the counters worth comparing are kept.
    expect(counters).toEqual({
      '11': { perCpu: { drop: [2, 1], early_drop: [0, 0] }, count: 3, timeMs: NOW },
      '12': baselines['12'],
    });
    // nextState keeps only what the check handed on, and the host's own entry.
    const identity = { bootId: 'b', netns: HOST, nowMs: NOW };
    const baseline = chooseBaseline(
      {
        status: 'ok',
        state: {
          version: 1,
          bootId: 'b',
          savedAtMs: NOW - 60_000,
          namespaces: { ...baselines, [String(HOST)]: { perCpu: {}, timeMs: 1 } },
        },
      },
      identity,
    );
    const next = nextState(baseline, identity, { drop: [0, 0] }, 0, undefined, counters);
    expect(Object.keys(next.namespaces).sort()).toEqual(['11', '12', String(HOST)]);
  });
});

describe('checkNamespaces with containers', () => {
  it("'table full in netns N' counts for the container N is, under its name, in text and JSON; perfdata labels stay fixed; -vv says where names came from", () => {
    const web = info(4026532174, {
      names: ['netns-75fa0676-5ac9-1a6f-e695-3e8c08c8c7f7'],
      container: { runtime: 'podman', id: 'a3766ad18c56', name: 'web-7f9c' },
    });
    const db = info(4026532175, { container: { runtime: 'podman', id: '835c1c652674', name: 'db' } });
    const trace = ['container names: read /var/lib/containers/storage/overlay-containers/containers.json'];
    const base = input([entry(db, stats(2)), entry(web, stats(3))]);
    const result = checkNamespaces({ ...base, inventory: { ...base.inventory, namingTrace: trace }, logByNetns: { '4026532174': 4 } });
    expect(result.state).toBe(State.CRITICAL);
    expect(result.summary).toBe(
      "podman web-7f9c (a3766ad18c56, netns 4026532174): 30.0% of table used (3 of 10 entries), 4 'table full' messages in the kernel log",
    );
    expect(result.details).toContain('  podman db (835c1c652674, netns 4026532175): 20.0% of table used (2 of 10 entries)');
    expect(result.trace).toEqual(trace);
    expect(result.perfdata.map((p) => p.label)).toEqual(['namespaces', 'worst_entries', 'worst_usage']);
    const checked = (result.data as { checked: Array<Record<string, unknown>> }).checked;
    expect(checked[0]).toMatchObject({
      inode: 4026532174,
      label: 'podman web-7f9c (a3766ad18c56, netns 4026532174)',
      container: { runtime: 'podman', id: 'a3766ad18c56', name: 'web-7f9c', pod: null },
    });
    expect(render([result], 1).text).not.toContain('netns-75fa0676');
    expect(render([result], 2).text).toContain(trace[0]);
    expect(render([result], 1).text).not.toContain(trace[0]);
  });
});

describe('checkNamespaces: namespaces known only through processes that cannot be inspected', () => {
  const hidden = (hiddenNamespaces: number) =>
    input([], {
      uid: 110,
      inventory: { namespaces: [info(HOST)], processesScanned: 120, hiddenProcesses: 115, hiddenNamespaces, problems: [] },
    });

  it('are UNKNOWN, counted in namespaces=, and said in the status line (a Docker host with an empty /run/netns)', () => {
    const result = checkNamespaces(hidden(2));
    expect(result.state).toBe(State.UNKNOWN);
    expect(result.summary).toBe('2 more namespaces not checked: their processes are hidden from uid 110 (needs root)');
    expect(result.perfdata[0]).toEqual({ label: 'namespaces', value: 3 });
  });

  it('hidden processes all in known namespaces (root daemons in the host namespace): OK, only the note', () => {
    const result = checkNamespaces(hidden(0));
    expect(result.state).toBe(State.OK);
    expect(result.summary).toBe('');
    expect(result.notes).toEqual([expect.stringMatching(/^115 processes could not be inspected/)]);
  });
});
