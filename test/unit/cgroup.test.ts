import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerFromCgroup, unitFromCgroup, type ContainerRef } from '../../src/parse/cgroup';
import { FIXTURES } from '../support/fixtures';

const DIR = join(FIXTURES, 'cgroup');
const sample = (name: string): string => readFileSync(join(DIR, name), 'utf8');

/** What each sample names: a container, a unit, or neither. Every file in the folder must be listed. */
const EXPECTED: Record<string, { container?: ContainerRef; unit?: string }> = {
  'docker-v1.txt': {
    container: { runtime: 'docker', id: '7c5bba2ee034', fullId: '7c5bba2ee034695798ff2306bfd7424c1a67fa7f291d8793ea55e59cf2202edf' },
  },
  'docker-v2-systemd.txt': {
    container: { runtime: 'docker', id: 'c7fdbe78d152', fullId: 'c7fdbe78d152dc99347dd44bd8696277755f2eb41015d49cd48d9db1142cccb0' },
  },
  'docker-v2-systemd-inside.txt': {
    container: { runtime: 'docker', id: 'd70ad4138c58', fullId: 'd70ad4138c5846d5c68ce2e5736ec7a4839866bc50fcdeb958ec042c0cb18aca' },
  },
  'kubernetes-containerd-v2.txt': {
    container: {
      runtime: 'containerd',
      id: '2544578515e2',
      fullId: '2544578515e209abdf2d871a36ecde3dd66f1842432a3cb7cc3235bec3ee75c8',
      podUid: 'b026621f-fa1a-429a-ab8d-c9b85952c6b3',
    },
  },
  'kubernetes-cgroupfs-v1.txt': {
    container: {
      runtime: 'kubernetes',
      id: '44ff9d9059e3',
      fullId: '44ff9d9059e362cbcf2a4d6ef1256f17d5d6a3758165709cf185e51a3a1439d5',
      podUid: '3f1e7b0c-2a44-4d8e-9b6a-0c9d2e1f4a57',
    },
  },
  'crio-v2.txt': {
    container: {
      runtime: 'cri-o',
      id: '6aa4cf3f7233',
      fullId: '6aa4cf3f7233f327b0285ca54c403f31b197674aaf2211dfdfbcf10311eb5d51',
      podUid: '5d0c8a2e-91b4-4f6e-8a3d-7e2b1c9f0a64',
    },
  },
  'crio-conmon-v2.txt': {},
  'podman-v2.txt': {
    container: { runtime: 'podman', id: 'f625dd72e16d', fullId: 'f625dd72e16d841c018dd0fdaf933d18fa7b6ee23a85159bdb313c932cb89951' },
  },
  'podman-conmon-v2.txt': {},
  'podman-rootless-v2.txt': {
    container: { runtime: 'podman', id: '83cad5b8f3ce', fullId: '83cad5b8f3ce0c0300a4ac316d028ed2fa5c623abc4a6a085e6ed5bb989b788d' },
  },
  'lxc-v2.txt': { container: { runtime: 'lxc', id: 'web01', name: 'web01' } },
  'lxc-monitor-v2.txt': {},
  'lxc-v1.txt': { container: { runtime: 'lxc', id: 'web01', name: 'web01' } },
  'systemd-service-v2.txt': { unit: 'nginx.service' },
  'systemd-service-hybrid.txt': { unit: 'nginx.service' },
  'user-session-v2.txt': {},
  'user-service-v2.txt': { unit: 'syncthing.service' },
  'host-init-v2.txt': {},
  'host-root-v2.txt': {},
  'host-root-v1.txt': {},
};

describe('cgroup samples', () => {
  it('every sample has an expectation', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.txt'));
    expect(files.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s', (file, expected) => {
    const text = sample(file);
    expect(containerFromCgroup(text)).toStrictEqual(expected.container);
    expect(unitFromCgroup(text)).toBe(expected.unit);
  });
});

const ID = 'a'.repeat(12) + 'b'.repeat(52);

describe('containerFromCgroup', () => {
  it('the innermost container wins: docker inside LXC', () => {
    expect(containerFromCgroup(`0::/lxc.payload.web01/system.slice/docker-${ID}.scope\n`)).toStrictEqual({
      runtime: 'docker',
      id: 'aaaaaaaaaaaa',
      fullId: ID,
    });
    expect(containerFromCgroup(`1:name=systemd:/lxc/web01/docker/${ID}\n`)).toStrictEqual({
      runtime: 'docker',
      id: 'aaaaaaaaaaaa',
      fullId: ID,
    });
  });

  it('docker inside docker (cgroupfs): the inner one', () => {
    const outer = 'c'.repeat(64);
    expect(containerFromCgroup(`0::/docker/${outer}/docker/${ID}\n`)).toStrictEqual({ runtime: 'docker', id: 'aaaaaaaaaaaa', fullId: ID });
  });

  it('name=systemd is preferred to the unified line, which docker does not move on hybrid hosts', () => {
    expect(containerFromCgroup(`0::/system.slice/containerd.service\n1:name=systemd:/docker/${ID}\n`)).toMatchObject({
      id: 'aaaaaaaaaaaa',
    });
  });

  it('falls back to a v1 controller line where no systemd line names it (a host without systemd)', () => {
    expect(containerFromCgroup(`3:memory:/docker/${ID}\n2:cpu:/docker/${ID}\n`)).toStrictEqual({
      runtime: 'docker',
      id: 'aaaaaaaaaaaa',
      fullId: ID,
    });
  });

  it('LXC 3 on cgroup v2: lxc.payload/NAME', () => {
    expect(containerFromCgroup('0::/lxc.payload/db-2\n')).toStrictEqual({ runtime: 'lxc', id: 'db-2', name: 'db-2' });
  });

  it('Kubernetes with docker and the systemd driver: docker, with the pod', () => {
    const text = `0::/kubepods.slice/kubepods-pod0f3c6a4e_2b1d_4c1e_9a77_5d2f0e8b1c42.slice/docker-${ID}.scope\n`;
    expect(containerFromCgroup(text)).toStrictEqual({
      runtime: 'docker',
      id: 'aaaaaaaaaaaa',
      fullId: ID,
      podUid: '0f3c6a4e-2b1d-4c1e-9a77-5d2f0e8b1c42',
    });
  });

  it('a static pod: the UID is a 32-hex hash', () => {
    const text = `0::/kubepods/burstable/pod6b1d6b5bb1e5e6c2d8a9f0e1d2c3b4a5/${ID}\n`;
    expect(containerFromCgroup(text)).toStrictEqual({
      runtime: 'kubernetes',
      id: 'aaaaaaaaaaaa',
      fullId: ID,
      podUid: '6b1d6b5bb1e5e6c2d8a9f0e1d2c3b4a5',
    });
  });

  it('a pod cgroup with no container below it (the pod slice itself) names no container', () => {
    expect(
      containerFromCgroup(
        '0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f3c6a4e_2b1d_4c1e_9a77_5d2f0e8b1c42.slice\n',
      ),
    ).toBeUndefined();
  });

  it("'pod...' outside kubepods is not a pod", () => {
    expect(containerFromCgroup(`0::/pod0f3c6a4e-2b1d-4c1e-9a77-5d2f0e8b1c42/${ID}\n`)).toBeUndefined();
  });

  it('a bare 64-hex id outside docker and kubepods is not guessed at', () => {
    expect(containerFromCgroup(`0::/default/${ID}\n`)).toBeUndefined();
  });

  it.each([
    ['63 hex digits', `0::/system.slice/docker-${ID.slice(1)}.scope`],
    ['65 hex digits', `0::/system.slice/docker-${ID}0.scope`],
    ['upper case', `0::/system.slice/docker-${ID.toUpperCase()}.scope`],
    ['not hex', `0::/system.slice/docker-${'g'.repeat(64)}.scope`],
    ['docker.service', '0::/system.slice/docker.service'],
  ])('not a container id: %s', (_, text) => {
    expect(containerFromCgroup(`${text}\n`)).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['garbage', 'hello world\n\n:::\n'],
    ['no path', '0::\n'],
    ['relative path', `0::docker/${ID}\n`],
    ['binary', '\u0000\u0001\u00ff'],
  ])('never throws: %s', (_, text) => {
    expect(containerFromCgroup(text)).toBeUndefined();
    expect(unitFromCgroup(text)).toBeUndefined();
  });

  it("a path may contain ':'", () => {
    expect(containerFromCgroup(`0::/odd:name/docker/${ID}\n`)).toMatchObject({ runtime: 'docker' });
  });

  it('copes without a trailing newline and with CRLF-free junk lines around', () => {
    expect(containerFromCgroup(`junk\n0::/system.slice/docker-${ID}.scope`)).toMatchObject({ id: 'aaaaaaaaaaaa' });
  });
});

describe('unitFromCgroup', () => {
  it('the innermost service', () => {
    expect(unitFromCgroup('0::/system.slice/system-openvpn.slice/openvpn@client.service\n')).toBe('openvpn@client.service');
  });

  it('a service with a child cgroup of its own (delegation)', () => {
    expect(unitFromCgroup('0::/system.slice/containerd.service/payload\n')).toBe('containerd.service');
  });

  it('scopes are not services: sessions, containers, init', () => {
    expect(unitFromCgroup('0::/user.slice/user-1000.slice/session-3.scope\n')).toBeUndefined();
    expect(unitFromCgroup('0::/system.slice/run-r0b8c2.scope\n')).toBeUndefined();
  });

  it('ignores v1 controller lines: they can lag behind the unit (here: the old unit in cpu)', () => {
    expect(
      unitFromCgroup('5:cpu:/system.slice/old.service\n1:name=systemd:/system.slice/new.service\n0::/system.slice/new.service\n'),
    ).toBe('new.service');
    expect(unitFromCgroup('5:cpu:/system.slice/old.service\n')).toBeUndefined();
  });

  it('name=systemd first, then the unified line', () => {
    expect(unitFromCgroup('1:name=systemd:/\n0::/system.slice/a.service\n')).toBe('a.service');
    expect(unitFromCgroup('1:name=systemd:/system.slice/b.service\n0::/system.slice/a.service\n')).toBe('b.service');
  });

  it('a name systemd would not allow is not a unit', () => {
    expect(unitFromCgroup('0::/system.slice/bad name.service\n')).toBeUndefined();
    expect(unitFromCgroup(`0::/system.slice/${'x'.repeat(300)}.service\n`)).toBeUndefined();
  });

  it('a container inside a service names the container, not the service', () => {
    expect(unitFromCgroup(`0::/system.slice/containerd.service/default/${ID}\n1:name=systemd:/docker/${ID}\n`)).toBeUndefined();
  });
});
