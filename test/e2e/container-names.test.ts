/**
 * A Kubernetes node as the bundle sees it with the host's file system at
 * --root: pods under the systemd cgroup driver (containerd) and the cgroupfs
 * driver, a CRI-O pod the kubelet has no directory for, and a Docker container
 * whose config.v2.json was written by dockerd 20.10 on this machine.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeRun, runBundle } from '../support/bundle';
import { fixture, rootArgs } from '../support/fixtures';

const NODE = fixture('kubernetes-node');
const HOST = join(NODE.dir, 'host');
const DOCKER_ID = '20f76c7de24cc85e5e844bec2f1a283804d1fc23962ba8d2353c0f41023f67ae';

const WEB = 'pod default/web-7f9c (2544578515e2, netns 4026532300): 85.0% of table used (85 of 100 entries)';
const DNS = 'pod kube-system/coredns-5d78c9869d-x2x7q (44ff9d9059e3, netns 4026532310): 12.0% of table used (12 of 100 entries)';
const CRIO = 'netns cri-o 6aa4cf3f7233 (4026532320): 3.0% of table used (3 of 100 entries)';
const API = 'docker i17-api (20f76c7de24c, netns 4026532330): 1.0% of table used (1 of 100 entries)';

const run = (extra: string[]) => {
  const r = runBundle([...rootArgs(NODE.dir), '--namespaces', 'all', ...extra]);
  expect(r.stderr, describeRun(r)).toBe('');
  return r;
};

describe('namespaces named by the pods and containers the runtimes keep on disk', () => {
  it('names pods as kubectl does (systemd and cgroupfs drivers), the docker container as docker ps does, and the fullest leads', () => {
    const r = run(['--root', HOST, '-v']);
    expect(r.code, describeRun(r)).toBe(1);
    expect(r.status).toMatch(new RegExp(`^CONNTRACK WARNING - ${escape(WEB)}; host: 5.0% of table used`));
    // Perfdata labels do not take names: they stay the same whatever runs on the host.
    expect(r.status).toContain(' namespaces=5 worst_entries=85;;;0;100 worst_usage=85%;;;0;100');
    expect(r.lines).toEqual(expect.arrayContaining([`  ${WEB}`, 'top 3 of the others by usage:', `  ${DNS}`, `  ${CRIO}`, `  ${API}`]));
    expect(r.lines.indexOf(`  ${DNS}`)).toBeLessThan(r.lines.indexOf(`  ${CRIO}`));
  });

  it('at -vv says which files named them, and why one pod keeps its id', () => {
    const r = run(['--root', HOST, '-vv']);
    expect(r.lines).toContain(`container names: read ${join(HOST, 'var/lib/docker/containers', DOCKER_ID, 'config.v2.json')}`);
    expect(r.lines).toContain(`container names: no pod 5d0c8a2e-91b4-4f6e-8a3d-7e2b1c9f0a64 in ${join(HOST, 'var/log/pods')}`);
    expect(run(['--root', HOST, '-v']).stdout).not.toContain('container names:');
  });

  it('gives the names in JSON too', () => {
    const r = run(['--root', HOST, '--format', 'json']);
    const checks = (
      JSON.parse(r.stdout) as { checks: Array<{ check: string; data: { checked: Array<{ label: string; container: unknown }> } }> }
    ).checks;
    const checked = checks.find((c) => c.check === 'namespaces')!.data.checked;
    expect(checked.map((c) => c.container)).toEqual([
      { runtime: 'containerd', id: '2544578515e2', name: null, pod: 'default/web-7f9c' },
      { runtime: 'kubernetes', id: '44ff9d9059e3', name: null, pod: 'kube-system/coredns-5d78c9869d-x2x7q' },
      { runtime: 'cri-o', id: '6aa4cf3f7233', name: null, pod: null },
      { runtime: 'docker', id: '20f76c7de24c', name: 'i17-api', pod: null },
    ]);
    expect(checked[0]!.label).toBe('pod default/web-7f9c (2544578515e2, netns 4026532300)');
  });

  it('with the host tree missing, every container keeps its id, the check its state, and -vv says why', () => {
    const missing = join(NODE.dir, 'no-such-host');
    const r = run(['--root', missing, '-vv']);
    expect(r.code, describeRun(r)).toBe(1);
    expect(r.status).toMatch(/^CONNTRACK WARNING - netns containerd 2544578515e2 \(4026532300\): 85\.0% of table used/);
    expect(r.lines).toContain('  netns docker 20f76c7de24c (4026532330): 1.0% of table used (1 of 100 entries)');
    expect(r.lines).toContain(`container names: ${join(missing, 'var/log/pods')}: the root ${missing}: no such file`);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
