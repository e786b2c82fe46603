import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUNDLE, NODES } from '../support/bundle';
import { describeReady, notRootReason, readiness } from '../support/readiness';

/**
 * execa is bundled into the plugin but evaluated only when the first program
 * starts: the unprivileged default run starts none and must not pay for it.
 * execa's modules require Node built-ins no other part of a programless run
 * needs; a preload records every require(), so a run that evaluated execa
 * shows them. The root run that starts dmesg is the control: it must show them,
 * or the probe proves nothing.
 */
const EXECA_BUILTINS = ['node:child_process', 'node:tty', 'node:timers/promises', 'node:stream/promises'];
const SETPRIV = '/usr/bin/setpriv';
const READY = readiness({
  root: notRootReason(`the default run must be run as nobody through ${SETPRIV}`),
  missing: existsSync(SETPRIV) ? undefined : `${SETPRIV} is missing (util-linux)`,
});

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-lazy-execa-'));
  chmodSync(dir, 0o755);
  writeFileSync(
    join(dir, 'preload.cjs'),
    `const Module = require('module');
const load = Module._load;
const seen = new Set();
Module._load = function (request, ...rest) { seen.add(request); return load.call(this, request, ...rest); };
process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(join(dir, 'loads'))} + process.pid, [...seen].join('\\n')));
`,
  );
  chmodSync(join(dir, 'preload.cjs'), 0o644);
  chmodSync(dir, 0o777);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function loadsOf(
  node: string,
  prefix: readonly string[],
  args: readonly string[],
): { loads: string[]; stdout: string; code: number | null } {
  const argv = [...prefix, node, '-r', join(dir, 'preload.cjs'), BUNDLE, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, timeout: 20_000 });
  if (r.error) throw r.error;
  const file = join(dir, `loads${r.pid}`);
  expect(existsSync(file), `the preload wrote nothing: ${r.stderr}`).toBe(true);
  return { loads: readFileSync(file, 'utf8').split('\n'), stdout: r.stdout, code: r.status };
}

for (const { name, path: node } of NODES) {
  describeReady('lazy-execa', `execa is evaluated only when a program starts, on ${name}`, READY, () => {
    it('the unprivileged default run starts no program and does not evaluate execa', () => {
      const r = loadsOf(node, [SETPRIV, '--reuid=65534', '--regid=65534', '--clear-groups', '--'], ['--no-state']);
      expect(r.stdout, r.stdout).toMatch(/^CONNTRACK (OK|WARNING|CRITICAL)/);
      expect(r.loads.filter((m) => EXECA_BUILTINS.includes(m))).toEqual([]);
    });

    it('a run that starts dmesg evaluates it (the control)', () => {
      const r = loadsOf(node, [], ['--no-state', '--kernel-log', 'dmesg']);
      expect(r.stdout, r.stdout).toMatch(/^CONNTRACK /);
      expect(EXECA_BUILTINS.filter((m) => !r.loads.includes(m))).toEqual([]);
    });
  });
}
