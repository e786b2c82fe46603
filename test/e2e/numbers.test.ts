/**
 * The numbers a person reads are the kernel's, whatever option shapes what
 * the thresholds see.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, runBundle } from '../support/bundle';
import { copyFixture, fixture } from '../support/fixtures';

describe('--exclude-unreplied', () => {
  let tree: ReturnType<typeof copyFixture>;
  beforeAll(() => {
    tree = copyFixture('linux-6.18-builtin');
    // 34 entries, 8 of them [UNREPLIED]; the count file agrees.
    tree.write('proc/net/nf_conntrack', readFileSync(join(fixture('entries').dir, 'proc-6.18.txt'), 'utf8'));
    tree.write('proc/sys/net/netfilter/nf_conntrack_count', '34\n');
  });
  afterAll(() => tree.dispose());
  const args = (...more: string[]) => [
    '--proc',
    join(tree.dir, 'proc'),
    '--sys',
    join(tree.dir, 'sys'),
    '--no-state',
    '--kernel-log',
    'none',
    '--exclude-unreplied',
    ...more,
  ];

  it("the status line shows the kernel's count and how many [UNREPLIED] entries the thresholds do not see", () => {
    const r = runBundle(args('-w', '20', '-c', '30'));
    expect(r.status, describeRun(r)).toMatch(
      /^CONNTRACK WARNING - 0\.0% of table used without \[UNREPLIED\] \(26 of 262144 entries; the kernel counts 34, 8 \[UNREPLIED\] left out\) \| entries=26;20;30;0;262144 /,
    );
    expect(r.code).toBe(1);
  });

  it("JSON gives the kernel's count, what was counted and what was left out", () => {
    const r = runBundle(args('--format', 'json'));
    const table = JSON.parse(r.stdout).checks.find((c: { check: string }) => c.check === 'table');
    expect(table.data).toMatchObject({ count: 34, counted: 26, unreplied_excluded: 8 });
    expect(table.summary).toContain('the kernel counts 34, 8 [UNREPLIED] left out');
  });

  it('with --namespaces all the note on what was left out is still there', () => {
    const r = runBundle(args('--namespaces', 'all'));
    expect(r.status, describeRun(r)).toContain('host: 0.0% of table used without [UNREPLIED] (26 of 262144 entries; the kernel counts 34');
    expect(r.lines, describeRun(r)).toContain('--exclude-unreplied: 8 [UNREPLIED] entries are left out of the usage');
  });
});
