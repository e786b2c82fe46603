import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContainerRef } from '../../src/parse/cgroup';
import { isRuntimeNetnsName, parseDockerConfig, parsePodmanContainers, podFromLogDirs } from '../../src/parse/container-state';
import { nameContainers } from '../../src/probes/container-names';
import { FIXTURES } from '../support/fixtures';

const DIR = join(FIXTURES, 'containers');
const PODMAN_JSON = readFileSync(join(DIR, 'podman-containers.json'), 'utf8');
const DOCKER_JSON = readFileSync(join(DIR, 'docker-config.v2.json'), 'utf8');
const WEB_ID = '7c18d586a64f00f58da62c82c73d9d87dc567032a3b86cbba6a23c92c0614f7b';
const DB_ID = '835c1c652674e3b8a1f0d2c4b6a8e0f1d3c5b7a9e1f3d5c7b9a0e2f4d6c8b0a2';
const API_ID = '20f76c7de24cc85e5e844bec2f1a283804d1fc23962ba8d2353c0f41023f67ae';
const POD_UID = 'b026621f-fa1a-429a-ab8d-c9b85952c6b3';
const BINARY = Buffer.from([0x00, 0xff, 0x1b, 0x5b, 0x32, 0x4a, 0x7b, 0x22, 0x0a, 0x80, 0x00]);

describe('parsePodmanContainers', () => {
  it("maps each id to the first name, from podman's own file", () => {
    expect(parsePodmanContainers(PODMAN_JSON)).toStrictEqual({
      ok: true,
      value: new Map([
        [WEB_ID, 'i17-web'],
        [DB_ID, 'i17-db'],
      ]),
    });
  });

  it('skips entries that podman would not write, keeping the others', () => {
    const text = JSON.stringify([
      { id: WEB_ID, names: ['web\u001b[2J'] },
      { id: 'abc', names: ['short-id'] },
      { id: DB_ID.toUpperCase(), names: ['upper'] },
      { id: API_ID, names: [42, 'api'] },
      null,
      'x',
      { id: DB_ID, names: 'db' },
    ]);
    expect(parsePodmanContainers(text)).toStrictEqual({ ok: true, value: new Map([[API_ID, 'api']]) });
  });

  it.each([
    ['truncated', PODMAN_JSON.slice(0, 200), 'not valid JSON'],
    ['binary', BINARY.toString('latin1'), 'not valid JSON'],
    ['empty', '', 'not valid JSON'],
    ['an object', '{"id": "x"}', 'not a JSON array of containers'],
  ])('%s: no names, and why', (_, text, reason) => {
    expect(parsePodmanContainers(text)).toStrictEqual({ ok: false, reason });
  });
});

describe('parseDockerConfig', () => {
  it("the name without docker's leading slash, from a file dockerd wrote", () => {
    expect(parseDockerConfig(DOCKER_JSON, API_ID)).toStrictEqual({ ok: true, value: 'i17-api' });
  });

  it.each([
    ['another container', DOCKER_JSON, WEB_ID, 'it is the configuration of container 20f76c7de24c'],
    ['truncated', DOCKER_JSON.slice(0, 300), API_ID, 'not valid JSON'],
    ['binary', BINARY.toString('latin1'), API_ID, 'not valid JSON'],
    ['an array', '[]', API_ID, 'not a JSON object'],
    ['no Name', JSON.stringify({ ID: API_ID }), API_ID, 'it has no "Name"'],
    ['a Name with a newline', JSON.stringify({ ID: API_ID, Name: '/api\nCONNTRACK OK' }), API_ID, 'its "Name" is not a container name'],
    ['a Name with a bar', JSON.stringify({ ID: API_ID, Name: '/api|x=1' }), API_ID, 'its "Name" is not a container name'],
  ])('%s: no name, and why', (_, text, id, reason) => {
    expect(parseDockerConfig(text, id)).toStrictEqual({ ok: false, reason });
  });
});

describe('podFromLogDirs', () => {
  it("finds the pod by UID in the kubelet's directory names", () => {
    const dirs = ['kube-system_coredns-5d78c9869d-x2x7q_3f1e7b0c-2a44-4d8e-9b6a-0c9d2e1f4a57', `default_web-7f9c_${POD_UID}`];
    expect(podFromLogDirs(dirs, POD_UID)).toStrictEqual({ namespace: 'default', name: 'web-7f9c' });
    // A static pod's UID is a hash of its manifest: 32 hex digits.
    expect(podFromLogDirs(['kube-system_etcd-node1_6b1d6b5bb1e5e6c2d8a9f0e1d2c3b4a5'], '6b1d6b5bb1e5e6c2d8a9f0e1d2c3b4a5')).toStrictEqual({
      namespace: 'kube-system',
      name: 'etcd-node1',
    });
  });

  it.each([
    ['another pod', ['default_other_0f3c6a4e-2b1d-4c1e-9a77-5d2f0e8b1c42']],
    ['an extra part', [`default_web_x_${POD_UID}`]],
    ['upper case', [`Default_web_${POD_UID}`]],
    ['a control character', [`default_we\u001bb_${POD_UID}`]],
    ['nothing', []],
  ])('%s: no pod', (_, dirs) => {
    expect(podFromLogDirs(dirs, POD_UID)).toBeUndefined();
  });
});

describe('isRuntimeNetnsName', () => {
  it.each([
    'netns-75fa0676-5ac9-1a6f-e695-3e8c08c8c7f7',
    'cni-1f6b3a3e-2b1d-4c1e-9a77-5d2f0e8b1c42',
    '1f6b3a3e-2b1d-4c1e-9a77-5d2f0e8b1c42',
  ])("%s is a runtime's", (name) => {
    expect(isRuntimeNetnsName(name)).toBe(true);
  });
  it.each(['web-7f9c', 'netns-blue', 'cni-test', 'netns-75fa0676-5ac9-1a6f-e695-3e8c08c8c7f7-old'])('%s was given by someone', (name) => {
    expect(isRuntimeNetnsName(name)).toBe(false);
  });
});

describe('nameContainers on a host tree', () => {
  let dir: string;
  let root: string;
  const podman = (id: string): ContainerRef => ({ runtime: 'podman', id: id.slice(0, 12), fullId: id });
  const docker = (id: string): ContainerRef => ({ runtime: 'docker', id: id.slice(0, 12), fullId: id });
  const pod = (uid: string): ContainerRef => ({
    runtime: 'containerd',
    id: '2544578515e2',
    fullId: '2544578515e2'.padEnd(64, '0'),
    podUid: uid,
  });
  const at = (relative: string) => join(root, relative);
  const write = (relative: string, content: string | Buffer) => {
    mkdirSync(join(at(relative), '..'), { recursive: true });
    writeFileSync(at(relative), content);
  };
  const dockerConfig = (id: string) => `var/lib/docker/containers/${id}/config.v2.json`;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cc-container-names-'));
    root = join(dir, 'host');
    mkdirSync(root);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names podman containers from every storage driver, docker containers from their config, pods from the kubelet', () => {
    write('var/lib/containers/storage/overlay-containers/containers.json', PODMAN_JSON);
    write('var/lib/containers/storage/vfs-containers/containers.json', JSON.stringify([{ id: API_ID, names: ['on-vfs'] }]));
    write(dockerConfig(API_ID), DOCKER_JSON);
    mkdirSync(at(`var/log/pods/default_web-7f9c_${POD_UID}/nginx`), { recursive: true });
    const lxc: ContainerRef = { runtime: 'lxc', id: 'web01', name: 'web01' };
    const { refs, trace } = nameContainers(root, [podman(WEB_ID), podman(API_ID), docker(API_ID), pod(POD_UID), lxc]);
    expect(refs.map((r) => r.name ?? r.pod)).toStrictEqual([
      'i17-web',
      'on-vfs',
      'i17-api',
      { namespace: 'default', name: 'web-7f9c' },
      'web01',
    ]);
    expect(trace).toStrictEqual([
      `container names: read ${at('var/lib/containers/storage/overlay-containers/containers.json')}`,
      `container names: read ${at('var/lib/containers/storage/vfs-containers/containers.json')}`,
      `container names: read ${at(dockerConfig(API_ID))}`,
    ]);
  });

  it('reads nothing when no container needs a name', () => {
    expect(nameContainers(join(dir, 'nowhere'), [{ runtime: 'lxc', id: 'web01', name: 'web01' }])).toStrictEqual({
      refs: [{ runtime: 'lxc', id: 'web01', name: 'web01' }],
      trace: [],
    });
  });

  /** One container of each kind against a tree `plant` spoiled: all keep their ids, and the trace says why. */
  function spoiled(refs: ContainerRef[]): { refs: ContainerRef[]; trace: string[] } {
    const outcome = nameContainers(root, refs);
    expect(outcome.refs, 'ids kept, nothing added').toStrictEqual(refs);
    return outcome;
  }

  it('missing: every file and directory', () => {
    const { trace } = spoiled([podman(WEB_ID), docker(API_ID), pod(POD_UID)]);
    expect(trace).toStrictEqual([
      `container names: ${at('var/lib/containers/storage')}: no such file`,
      `container names: ${at(dockerConfig(API_ID))}: no such file`,
      `container names: ${at('var/log/pods')}: no such file`,
    ]);
  });

  it('huge: not read at all, however large (a sparse file of 9 GiB)', () => {
    write('var/lib/containers/storage/overlay-containers/containers.json', '');
    truncateSync(at('var/lib/containers/storage/overlay-containers/containers.json'), 9 * 1024 ** 3);
    write(dockerConfig(API_ID), '');
    truncateSync(at(dockerConfig(API_ID)), 2 * 1024 * 1024);
    const { trace } = spoiled([podman(WEB_ID), docker(API_ID)]);
    expect(trace).toStrictEqual([
      `container names: ${at('var/lib/containers/storage/overlay-containers/containers.json')}: ${9 * 1024 ** 3} bytes, more than the 8388608 this check reads`,
      `container names: ${at(dockerConfig(API_ID))}: 2097152 bytes, more than the 1048576 this check reads`,
    ]);
  });

  it('truncated and binary: not JSON', () => {
    write('var/lib/containers/storage/overlay-containers/containers.json', PODMAN_JSON.slice(0, 321));
    write(dockerConfig(API_ID), BINARY);
    const { trace } = spoiled([podman(WEB_ID), docker(API_ID)]);
    expect(trace).toStrictEqual([
      `container names: ${at('var/lib/containers/storage/overlay-containers/containers.json')}: not valid JSON`,
      `container names: ${at(dockerConfig(API_ID))}: not valid JSON`,
    ]);
  });

  it('symlinked out of the tree: refused, though what it points at is valid', () => {
    const outside = join(dir, 'elsewhere');
    mkdirSync(join(outside, 'containers', API_ID), { recursive: true });
    writeFileSync(join(outside, 'containers', API_ID, 'config.v2.json'), DOCKER_JSON);
    writeFileSync(join(outside, 'containers.json'), PODMAN_JSON);
    mkdirSync(join(outside, `default_web-7f9c_${POD_UID}`));
    mkdirSync(at('var/lib/containers/storage/overlay-containers'), { recursive: true });
    mkdirSync(at('var/log'), { recursive: true });
    // An absolute link to the directory, a link to the file itself, and a relative link climbing out.
    symlinkSync(outside, at('var/lib/docker'));
    symlinkSync(join(outside, 'containers.json'), at('var/lib/containers/storage/overlay-containers/containers.json'));
    symlinkSync('../../../elsewhere', at('var/log/pods'));
    const { trace } = spoiled([podman(WEB_ID), docker(API_ID), pod(POD_UID)]);
    expect(trace).toStrictEqual([
      `container names: ${at('var/lib/containers/storage/overlay-containers/containers.json')}: leads to ${join(outside, 'containers.json')}, outside ${root}`,
      `container names: ${at(dockerConfig(API_ID))}: leads to ${join(outside, 'containers', API_ID, 'config.v2.json')}, outside ${root}`,
      `container names: ${at('var/log/pods')}: leads to ${outside}, outside ${root}`,
    ]);
  });

  it('symlinked within the tree (docker moved to another disk of the same host): followed', () => {
    write(`data/docker/containers/${API_ID}/config.v2.json`, DOCKER_JSON);
    mkdirSync(at('var/lib'), { recursive: true });
    symlinkSync('../../data/docker', at('var/lib/docker'));
    expect(nameContainers(root, [docker(API_ID)]).refs[0]!.name).toBe('i17-api');
  });

  it('not a regular file: a FIFO does not hang the check, a directory is not read', () => {
    mkdirSync(at(`var/lib/docker/containers/${API_ID}`), { recursive: true });
    const mkfifo = spawnSync('/usr/bin/mkfifo', [at(dockerConfig(API_ID))]);
    expect(mkfifo.status, String(mkfifo.stderr)).toBe(0);
    mkdirSync(at('var/lib/containers/storage/overlay-containers/containers.json'), { recursive: true });
    write('var/log/pods', 'a file');
    const { trace } = spoiled([docker(API_ID), podman(WEB_ID), pod(POD_UID)]);
    expect(trace).toStrictEqual([
      `container names: ${at(dockerConfig(API_ID))}: not a regular file`,
      `container names: ${at('var/lib/containers/storage/overlay-containers/containers.json')}: not a regular file`,
      `container names: cannot list ${at('var/log/pods')}: ENOTDIR`,
    ]);
  });

  it('a container the runtime does not know, and a pod the kubelet has no directory for: their ids, and why', () => {
    write('var/lib/containers/storage/overlay-containers/containers.json', PODMAN_JSON);
    mkdirSync(at('var/log/pods/default_other_0f3c6a4e-2b1d-4c1e-9a77-5d2f0e8b1c42'), { recursive: true });
    const stranger = 'f'.repeat(64);
    const { refs, trace } = nameContainers(root, [podman(stranger), pod(POD_UID)]);
    expect(refs).toStrictEqual([podman(stranger), pod(POD_UID)]);
    expect(trace).toStrictEqual([
      `container names: read ${at('var/lib/containers/storage/overlay-containers/containers.json')}`,
      "container names: podman ffffffffffff is not in podman's containers.json",
      `container names: no pod ${POD_UID} in ${at('var/log/pods')}`,
    ]);
  });

  it('a hundred containers without names: a few lines of why, not a hundred', () => {
    const ids = Array.from({ length: 100 }, (_, i) => i.toString(16).padStart(64, 'a'));
    const { trace } = nameContainers(root, ids.map(docker));
    expect(trace).toHaveLength(9);
    expect(trace[8]).toBe('container names: 92 more lines like these left out');
  });
});
