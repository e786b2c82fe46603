import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeRun, runBundle } from '../support/bundle';
import { fixture } from '../support/fixtures';

/** A fixture host, with the state kept where each test says. */
const args = (stateFile: string) => {
  const f = fixture('linux-6.18-builtin');
  return ['--proc', f.proc, '--sys', f.sys, '--kernel-log', 'none', '--state-file', stateFile];
};

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cc-kept-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('a state that cannot be kept is said in the status line', () => {
  it('--state-file naming an NRPE configuration: the file is left as it was, every run says why nothing is kept', () => {
    const cfg = join(root, 'nrpe.cfg');
    const text = 'command[check_conntrack]=/usr/lib/nagios/plugins/check_conntrack -w 80% -c 90%\n';
    writeFileSync(cfg, text, { mode: 0o644 });
    for (let i = 0; i < 2; i++) {
      const r = runBundle(args(cfg));
      expect(r.status, describeRun(r)).toContain(
        `state could not be kept: not replacing ${cfg}: it is not a check_conntrack state file, fix: choose another --state-file`,
      );
      expect(readFileSync(cfg, 'utf8')).toBe(text);
    }
    expect(readdirSync(root).filter((n) => !n.startsWith('code-'))).toEqual(['nrpe.cfg']);
  });

  it('a directory another user made first (mode 0777): the status line names it, its owner and the fix; nothing is written there', () => {
    const planted = join(root, 'check_conntrack-0');
    mkdirSync(planted);
    chmodSync(planted, 0o777);
    chownSync(planted, 65534, 65534);
    const r = runBundle(args(join(planted, 'state.json')));
    expect(r.status, describeRun(r)).toMatch(
      new RegExp(`state could not be kept: .*${planted} belongs to uid 65534.*, fix: remove ${planted}`),
    );
    expect(readdirSync(planted)).toEqual([]);
  });

  it('a state kept: nothing said about it', () => {
    const path = join(root, 'state.json');
    runBundle(args(path));
    const r = runBundle(args(path));
    expect(r.stdout, describeRun(r)).not.toMatch(/state could not be kept|state file/);
  });
});
