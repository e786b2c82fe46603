import { describe, expect, it } from 'vitest';
import {
  assignLogOwners,
  checkForeignDrops,
  creationTime,
  dropEvidence,
  INIT_NETNS_INODE,
  mayOwn,
  type Candidate,
  type LogOwnersInput,
} from '../../src/checks/log-owner';
import { State } from '../../src/nagios/state';
import type { ConntrackStats } from '../../src/parse/conntrack-stat';
import type { LogDrops, LogScan } from '../../src/probes/kernel-log';

const T = Date.UTC(2025, 0, 15, 12, 0, 0);
const OWN = 4026532500;
const WEB = 4026532304;

function scan(drops: LogDrops[], suppressed = 0): Extract<LogScan, { status: 'ok' }> {
  const byNetns: Record<string, number> = {};
  for (const d of drops)
    byNetns[d.netns === undefined ? '' : String(d.netns)] = (byNetns[d.netns === undefined ? '' : String(d.netns)] ?? 0) + d.count;
  return {
    status: 'ok',
    source: 'kmsg',
    messages: drops.reduce((n, d) => n + d.count, 0),
    byNetns,
    drops,
    matches: drops.map((d) => ({ count: d.count, netns: d.netns, timeMs: d.timeMs, text: `table full in netns ${d.netns}` })),
    suppressed,
    position: { source: 'kmsg' },
    sinceLastRun: false,
    attempts: [],
    notes: [],
  };
}

function input(drops: LogDrops[], over: Partial<LogOwnersInput> = {}): LogOwnersInput {
  return {
    scan: scan(drops),
    own: { inode: OWN, evidence: { total: 5 } },
    others: new Map(),
    judgedElsewhere: false,
    complete: true,
    ...over,
  };
}

const stats = (drop: number[]): ConntrackStats => ({
  columns: ['drop'],
  cpus: drop.length,
  totals: { drop: drop.reduce((a, b) => a + b, 0) },
  perCpu: { drop },
});

describe('mayOwn: could this namespace have logged a message at this time?', () => {
  it.each<[string, Parameters<typeof mayOwn>[0], number | undefined, boolean]>([
    ['counter unread: cannot tell, so yes', {}, T, true],
    ['counter at 0 since the namespace was made: never', { total: 0 }, T, false],
    ['counter above 0, no baseline', { total: 3 }, T, true],
    ['no rise since the last check, message after it', { total: 3, increase: 0, sinceMs: T - 1 }, T, false],
    ['no rise since the last check, message before it', { total: 3, increase: 0, sinceMs: T + 1 }, T, true],
    ['no rise, message with no time', { total: 3, increase: 0, sinceMs: T }, undefined, false],
    ['a rise since the last check', { total: 3, increase: 1, sinceMs: T - 1 }, T, true],
    ['made more than a second after the message', { total: 3, createdMs: T + 1001 }, T, false],
    ['made within a second of it: clocks disagree that much', { total: 3, createdMs: T + 1000 }, T, true],
    ['made before it', { total: 3, createdMs: T - 60_000 }, T, true],
  ])('%s', (_name, evidence, timeMs, expected) => {
    expect(mayOwn(evidence, timeMs)).toBe(expected);
  });
});

describe('dropEvidence and creationTime', () => {
  it('compares the drop counter with the last check', () => {
    expect(dropEvidence(stats([2, 3]), { perCpu: { drop: [2, 1] }, timeMs: T }, undefined)).toEqual({
      createdMs: undefined,
      total: 5,
      increase: 2,
      sinceMs: T,
    });
    expect(dropEvidence(undefined, undefined, T)).toEqual({ createdMs: T });
  });
  it('takes the earlier of the /run/netns file time and the oldest process start', () => {
    const boot = T - 1_000_000;
    expect(creationTime({ inode: 1, names: [], processes: 1, startTicks: 250 }, boot)).toBe(boot + 2500);
    expect(creationTime({ inode: 1, names: ['a'], processes: 1, startTicks: 250, boundMs: boot + 1000 }, boot)).toBe(boot + 1000);
    expect(creationTime({ inode: 1, names: ['a'], processes: 0, boundMs: T }, undefined)).toBe(T);
    expect(creationTime({ inode: 1, names: [], processes: 1, startTicks: 250 }, undefined)).toBeUndefined();
  });
});

describe('assignLogOwners', () => {
  it('one namespace: its own messages count, the others are a finding of their own', () => {
    const web: Candidate = { label: 'netns web-7f9c (4026532304)', evidence: { createdMs: T - 60_000 } };
    const owners = assignLogOwners(
      input(
        [
          { netns: OWN, timeMs: T, count: 2 },
          { netns: WEB, timeMs: T, count: 10 },
          { netns: 4026532174, timeMs: T, count: 2 },
        ],
        { others: new Map([[WEB, web]]) },
      ),
    );
    expect(owners.own).toMatchObject({ messages: 2, byNetns: { [OWN]: 2 } });
    expect(owners.own.matches.map((m) => m.netns)).toEqual([OWN]);
    expect(owners.foreign).toEqual([
      { label: 'netns web-7f9c (4026532304)', netns: WEB, count: 10 },
      { label: 'netns 4026532174 (gone)', netns: 4026532174, count: 2 },
    ]);
    expect(checkForeignDrops(owners.foreign, State.WARNING, 'in the last 1h')).toMatchObject({
      check: 'other-namespaces',
      state: State.WARNING,
      summary:
        "other network namespaces dropped packets: 12 'table full' messages in the last 1h: 10 from netns web-7f9c (4026532304), 2 from netns 4026532174 (gone)",
    });
  });

  it('a namespace made after the message is a newer one under the same inode', () => {
    const web: Candidate = { label: 'netns web (4026532304)', evidence: { total: 4, createdMs: T } };
    const owners = assignLogOwners(
      input(
        [
          { netns: WEB, timeMs: T - 5000, count: 3 },
          { netns: WEB, timeMs: T + 5000, count: 4 },
        ],
        { others: new Map([[WEB, web]]), judgedElsewhere: true },
      ),
    );
    expect(owners.byNamespace).toEqual({ [WEB]: 4 });
    expect(owners.foreign).toEqual([{ label: 'netns 4026532304 (gone)', netns: WEB, count: 3 }]);
  });

  it("this namespace's inode in a message logged before it existed, or with its counter at 0, is a gone namespace's", () => {
    for (const evidence of [{ total: 0 }, { total: 9, createdMs: T + 10_000 }]) {
      const owners = assignLogOwners(input([{ netns: OWN, timeMs: T, count: 3 }], { own: { inode: OWN, evidence }, complete: false }));
      expect(owners.own.messages).toBe(0);
      expect(owners.foreign).toEqual([{ label: `netns ${OWN} (gone)`, netns: OWN, count: 3 }]);
    }
  });

  it('a namespace not found while some processes could not be inspected is not called gone', () => {
    expect(assignLogOwners(input([{ netns: WEB, timeMs: T, count: 1 }], { complete: false })).foreign[0]!.label).toBe(
      `netns ${WEB} (not found)`,
    );
  });

  it('messages that name no namespace: this one\u2019s only if its counter rose; on a kernel that names namespaces, only the host\u2019s', () => {
    const unnamed: LogDrops[] = [{ timeMs: T, count: 2 }];
    expect(assignLogOwners(input(unnamed)).own.messages).toBe(2);
    expect(assignLogOwners(input(unnamed, { own: { inode: OWN, evidence: { total: 0 } } })).foreign).toEqual([
      { label: 'no namespace named', count: 2, netns: undefined },
    ]);
    const naming: LogDrops[] = [...unnamed, { netns: WEB, timeMs: T, count: 1 }];
    expect(assignLogOwners(input(naming)).foreign).toContainEqual({
      label: `netns ${INIT_NETNS_INODE} (the host's)`,
      netns: undefined,
      count: 2,
    });
    expect(assignLogOwners(input(naming, { own: { inode: INIT_NETNS_INODE, evidence: { total: 1 } } })).own.messages).toBe(2);
  });

  it('the suppressed count goes with this namespace only when it has messages of its own', () => {
    const s = scan([{ netns: WEB, timeMs: T, count: 1 }], 40);
    expect(assignLogOwners({ ...input([]), scan: s }).own.suppressed).toBe(0);
    const mine = scan([{ netns: OWN, timeMs: T, count: 1 }], 40);
    expect(assignLogOwners({ ...input([]), scan: mine }).own.suppressed).toBe(40);
  });

  it('nothing from elsewhere, no finding', () => {
    expect(checkForeignDrops([], State.WARNING, 'since last check')).toBeUndefined();
    expect(checkForeignDrops([{ label: 'no namespace named', count: 1 }], State.CRITICAL, 'since last check')).toMatchObject({
      state: State.CRITICAL,
      summary: "other network namespaces dropped packets: 1 'table full' message since last check naming no namespace",
    });
  });
});
