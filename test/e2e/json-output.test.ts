import Ajv2020 from 'ajv/dist/2020';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runBundle } from '../support/bundle';
import { copyFixture, fixture, rootArgs } from '../support/fixtures';

const schema = JSON.parse(readFileSync(join(REPO, 'schema/check_conntrack.schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

function json(args: string[]) {
  const r = runBundle([...args, '--format', 'json']);
  expect(r.stderr).toBe('');
  const body = JSON.parse(r.stdout);
  const valid = validate(body);
  expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
  expect(valid).toBe(true);
  return { r, body };
}

describe('--format json', () => {
  it.each(['linux-6.8', 'linux-4.15', 'centos6-2.6.32', 'rhel5-2.6.18', 'unlimited', 'garbage', 'absent'])(
    'validates against the schema on %s, with the same exit code',
    (name) => {
      const { r, body } = json(rootArgs(fixture(name).dir));
      const nagios = runBundle(rootArgs(fixture(name).dir));
      expect(r.code).toBe(nagios.code);
      expect(body.exit_code).toBe(r.code);
      expect(body.summary).toBe(nagios.status.split(' | ')[0]);
      expect(body.perfdata.map((p: { text: string }) => p.text).join(' ')).toBe(nagios.status.split(' | ')[1] ?? '');
    },
  );

  it("carries other namespaces' kernel-log messages as a finding of their own", () => {
    const copy = copyFixture('loss-6.18');
    const log = join(copy.dir, 'kern.log');
    try {
      const at = new Date(Date.now() - 60_000).toISOString().replace('Z', '+00:00');
      copy.write('proc/sys/net/netfilter/nf_conntrack_max', '1000\n');
      writeFileSync(log, `${at} web01 kernel: nf_conntrack: nf_conntrack: table full in netns 4026532304, dropping packet\n`);
      const { r, body } = json(['--proc', join(copy.dir, 'proc'), '--sys', join(copy.dir, 'sys'), '--no-state', '--kernel-log', log]);
      expect(r.code).toBe(1);
      expect(body.thresholds.other_namespaces_drops).toBe('WARNING');
      const other = body.checks.find((c: { check: string }) => c.check === 'other-namespaces');
      expect(other.data).toEqual({ messages: 1, sources: [{ netns: 4026532304, label: 'netns 4026532304 (gone)', messages: 1 }] });
    } finally {
      copy.dispose();
    }
  });

  it('carries every measurement, finding and threshold of a critical table', () => {
    const copy = copyFixture('linux-6.8');
    try {
      copy.write('proc/sys/net/netfilter/nf_conntrack_count', '250000\n');
      const { r, body } = json([...rootArgs(copy.dir), '-w', '70%', '-c', '200000']);
      expect(r.code).toBe(2);
      expect(body.state).toBe('CRITICAL');
      const table = body.checks.find((c: { check: string }) => c.check === 'table');
      expect(table.state).toBe('CRITICAL');
      expect(table.data).toMatchObject({ count: 250000, max: 262144, buckets: 262144, module: 'loadable', kernel: '6.8.0-45-generic' });
      expect(body.thresholds).toMatchObject({
        warning: '70%',
        critical: '200000',
        drop_critical: '0',
        log_window_seconds: 3600,
        not_loaded: 'OK',
        stale_modules: 'WARNING',
      });
      const sizing = body.checks.find((c: { check: string }) => c.check === 'sizing');
      expect(sizing.data).toMatchObject({ max: 262144, buckets: 262144, ratio: 1, default_ratio: 1 });
      // The table is under pressure: the advice is sized for it, and also in the top-level list.
      expect(body.advice.some((a: string) => a.includes('sysctl -w net.netfilter.nf_conntrack_max='))).toBe(true);
    } finally {
      copy.dispose();
    }
  });
});

describe('--quiet-ok', () => {
  it('prints nothing when OK, and exits 0', () => {
    const r = runBundle([...rootArgs(fixture('linux-6.8').dir), '--quiet-ok']);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(0);
  });

  it('prints the usual output when not OK', () => {
    const r = runBundle([...rootArgs(fixture('centos6-2.6.32').dir), '--quiet-ok']);
    expect(r.status).toMatch(/^CONNTRACK CRITICAL - 91\.5% of table used/);
    expect(r.code).toBe(2);
  });
});
