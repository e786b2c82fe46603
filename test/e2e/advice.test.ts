/** Advice only where it helps: nothing to resize in a table that never came near full. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, runBundle } from '../support/bundle';
import { fixture } from '../support/fixtures';

describe("another namespace's 'table full' messages", () => {
  let dir: string;
  let log: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cc-advice-'));
    log = join(dir, 'kern.log');
    const at = new Date(Date.now() - 5 * 60_000).toISOString();
    writeFileSync(log, `${at} gw01 kernel: nf_conntrack: nf_conntrack: table full in netns 4026532315, dropping packet\n`.repeat(3));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are no reason to advise resizing this table (0.4% used, no drop of its own)', () => {
    const f = fixture('linux-6.18-builtin');
    const r = runBundle(['--proc', f.proc, '--sys', f.sys, '--no-state', '--kernel-log', log, '-v']);
    expect(r.stdout, describeRun(r)).toContain("3 'table full' messages");
    expect(r.stdout, describeRun(r)).not.toContain('raise the limit');
    expect(r.stdout).not.toContain('nf_conntrack_max=');
  });
});
