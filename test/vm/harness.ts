/**
 * Stock Debian kernels, where nf_conntrack and friends are modules, booted
 * under QEMU with an initramfs of this machine's programs and the built
 * bundle. The guest's init reads commands from its second serial port and
 * answers each with its exit code and output, so a test drives one boot
 * through several steps. The first serial port is the kernel console, kept
 * for error messages.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { describeReady, notRootReason, readiness } from '../support/readiness';
import { BUNDLE, NODE18, REPO } from '../support/bundle';

/** Outside the repository: a kernel package is 20-100 MB and outlives the checkout. */
export const CACHE = process.env.CC_VM_CACHE ?? '/var/cache/check_conntrack-vm';

export interface Kernel {
  readonly debian: number;
  readonly suite: string;
  /** The extracted package: vmlinuz, lib/modules/RELEASE (depmod run), release. */
  readonly dir: string;
  readonly release: string;
}

export const SUITES = [
  { debian: 11, suite: 'bullseye' },
  { debian: 12, suite: 'bookworm' },
  { debian: 13, suite: 'trixie' },
] as const;

/** What the VM tests need on the host; empty when everything is there. */
export function missingTools(): string[] {
  const need = [
    'qemu-system-x86_64',
    'busybox',
    'cpio',
    'depmod',
    'dpkg-deb',
    'apt-get',
    'iptables-legacy',
    'iptables-nft',
    'nft',
    'conntrack',
    'setpriv',
    'dmesg',
  ];
  return need.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
}

export function fetchKernel(suite: string): Kernel {
  const r = spawnSync('bash', [join(__dirname, 'fetch-kernel.sh'), suite, CACHE], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`fetch-kernel.sh ${suite} failed (exit ${r.status}): ${r.stderr}`);
  const dir = r.stdout.trim().split('\n').at(-1)!;
  const debian = SUITES.find((s) => s.suite === suite)!.debian;
  return { debian, suite, dir, release: readFileSync(join(dir, 'release'), 'utf8').trim() };
}

function run(cmd: string, args: string[], options: { cwd?: string; input?: string | Buffer } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** A staging tree laid out like merged-/usr Debian, so host paths and their /lib, /bin links both work. */
function stagingTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'cc-vm-root-'));
  for (const d of [
    'usr/bin',
    'usr/sbin',
    'usr/lib',
    'usr/lib64',
    'etc/modprobe.d',
    'proc',
    'sys',
    'dev',
    'run',
    'tmp',
    'var/tmp',
    'root',
    'opt/cc',
  ])
    mkdirSync(join(root, d), { recursive: true });
  for (const [link, to] of [
    ['bin', 'usr/bin'],
    ['sbin', 'usr/sbin'],
    ['lib', 'usr/lib'],
    ['lib64', 'usr/lib64'],
  ] as const)
    symlinkSync(to, join(root, link));
  return root;
}

/** Copies a host file to the same path in the tree, through the tree's /lib and /bin links. */
function copyIn(root: string, path: string): void {
  const target = join(root, path);
  if (existsSync(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(path, target);
  chmodSync(target, 0o755);
}

/** A program and every library ldd names for it. */
function copyWithLibraries(root: string, path: string): void {
  copyIn(root, path);
  copyLibraries(root, path);
}

/** Every library ldd names for a program, not the program itself. */
function copyLibraries(root: string, path: string): void {
  const ldd = spawnSync('ldd', [path], { encoding: 'utf8' });
  for (const m of (ldd.stdout ?? '').matchAll(/(?:=> )?(\/\S+) \(0x/g)) copyIn(root, m[1]!);
}

/** This machine's programs, by their Debian paths; the -legacy and -nft names link to the multi-call binaries. */
const PROGRAMS = ['/usr/bin/node', '/usr/sbin/nft', '/usr/sbin/conntrack', '/usr/bin/kmod', '/usr/bin/setpriv', '/usr/bin/dmesg'];
const LINKS: Record<string, string> = {
  '/usr/sbin/iptables-legacy': 'xtables-legacy-multi',
  '/usr/sbin/iptables-legacy-save': 'xtables-legacy-multi',
  '/usr/sbin/ip6tables-legacy': 'xtables-legacy-multi',
  '/usr/sbin/ip6tables-legacy-save': 'xtables-legacy-multi',
  '/usr/sbin/iptables-nft': 'xtables-nft-multi',
  '/usr/sbin/iptables-nft-save': 'xtables-nft-multi',
  '/usr/sbin/ip6tables-nft': 'xtables-nft-multi',
  '/usr/sbin/ip6tables-nft-save': 'xtables-nft-multi',
  '/usr/sbin/modprobe': '../bin/kmod',
  '/usr/sbin/rmmod': '../bin/kmod',
  '/usr/sbin/insmod': '../bin/kmod',
  '/usr/sbin/lsmod': '../bin/kmod',
};

/**
 * The guest's /init: mounts, loopback up, then one command per line on ttyS1
 * (`ID BASE64`), answered `@@DONE ID EXIT BASE64(stdout) BASE64(stderr)`.
 * Busybox's shell runs its own applets before PATH: real programs are
 * called by full path.
 */
const INIT = `#!/bin/busybox sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t tmpfs tmp /tmp
/bin/busybox mount -t tmpfs run /run
/bin/busybox ip link set lo up
# Open before saying ready: bytes reaching a port nobody has open are lost.
exec 3<>/dev/ttyS1
/bin/busybox stty raw -echo <&3
echo "@@READY $(cat /proc/sys/kernel/osrelease)" >&3
while read -r id cmd <&3; do
  echo "$cmd" | base64 -d > /tmp/cmd.sh
  sh /tmp/cmd.sh > /tmp/out 2> /tmp/err < /dev/null 3>&-
  rc=$?
  echo "@@DONE $id $rc $(base64 -w0 < /tmp/out) $(base64 -w0 < /tmp/err)" >&3
done
/bin/busybox poweroff -f
`;

/** newc archive of a tree; the kernel unpacks archives laid end to end. */
function cpioOf(root: string, out: string): void {
  const files = run('find', ['.', '-mindepth', '1'], { cwd: root });
  const r = spawnSync('cpio', ['-o', '-H', 'newc', '-R', '0:0', '--quiet', '-O', out], { cwd: root, input: files });
  if (r.status !== 0) throw new Error(`cpio: ${r.stderr}`);
}

export interface Extras {
  /** Also this single executable (as /opt/cc/check_conntrack-sea) and the Node 18 binary (/opt/node18/node). */
  readonly sea?: string;
}

const baseArchives = new Map<string, string>();

/** The part of the initramfs common to all kernels, built once per test file (the bundle may have changed). */
function baseArchive(extras: Extras): string {
  const sea = extras.sea ?? '';
  let out = baseArchives.get(sea);
  if (out && existsSync(out)) return out;
  out = join(mkdtempSync(join(tmpdir(), 'cc-vm-base-')), 'base.cpio');
  buildBase(out, extras);
  baseArchives.set(sea, out);
  return out;
}

/** Busybox, the programs, the bundle. */
function buildBase(out: string, extras: Extras): void {
  const root = stagingTree();
  try {
    const busybox = run('sh', ['-c', 'command -v busybox']).trim();
    copyFileSync(busybox, join(root, 'usr/bin/busybox'));
    chmodSync(join(root, 'usr/bin/busybox'), 0o755);
    for (const p of PROGRAMS) copyWithLibraries(root, p);
    for (const multi of ['xtables-legacy-multi', 'xtables-nft-multi']) copyWithLibraries(root, `/usr/sbin/${multi}`);
    const xtables = '/usr/lib/x86_64-linux-gnu/xtables';
    for (const so of readdirSync(xtables)) copyWithLibraries(root, join(xtables, so));
    for (const [link, to] of Object.entries(LINKS)) symlinkSync(to, join(root, link));
    copyFileSync(BUNDLE, join(root, 'opt/cc/check_conntrack'));
    chmodSync(join(root, 'opt/cc/check_conntrack'), 0o755);
    for (const helper of ['hold-connections.cjs']) copyFileSync(join(REPO, 'test/support', helper), join(root, 'opt/cc', helper));
    for (const helper of readdirSync(join(__dirname, 'guest')))
      copyFileSync(join(__dirname, 'guest', helper), join(root, 'opt/cc', helper));
    if (extras.sea) {
      copyFileSync(extras.sea, join(root, 'opt/cc/check_conntrack-sea'));
      chmodSync(join(root, 'opt/cc/check_conntrack-sea'), 0o755);
      copyWithLibraries(root, extras.sea);
      mkdirSync(join(root, 'opt/node18'), { recursive: true });
      copyFileSync(NODE18, join(root, 'opt/node18/node'));
      chmodSync(join(root, 'opt/node18/node'), 0o755);
      // Only there: the single executable's test removes every node of the guest.
      copyLibraries(root, NODE18);
    }
    // Applets last: a real program copied to the same name wins.
    for (const applet of run(busybox, ['--list']).split('\n').filter(Boolean)) {
      const at = join(root, 'usr/bin', applet);
      if (!existsSync(at) && !existsSync(join(root, 'usr/sbin', applet))) symlinkSync('busybox', at);
    }
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nadm:x:4:\nnogroup:x:65534:\n');
    writeFileSync(join(root, 'init'), INIT);
    chmodSync(join(root, 'init'), 0o755);
    cpioOf(root, out);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** The kernel's module trees that netfilter needs (net, lib, crypto, arch) and depmod's indexes; kept in the cache. */
function modulesArchive(kernel: Kernel): string {
  const out = join(kernel.dir, 'modules.cpio');
  if (existsSync(out)) return out;
  const root = mkdtempSync(join(tmpdir(), 'cc-vm-mod-'));
  try {
    const from = join(kernel.dir, 'lib/modules', kernel.release);
    const to = join(root, 'usr/lib/modules', kernel.release);
    mkdirSync(join(to, 'kernel'), { recursive: true });
    for (const f of readdirSync(from)) if (f.startsWith('modules.')) copyFileSync(join(from, f), join(to, f));
    for (const tree of ['net', 'lib', 'crypto', 'arch'])
      if (existsSync(join(from, 'kernel', tree))) cpSync(join(from, 'kernel', tree), join(to, 'kernel', tree), { recursive: true });
    cpioOf(root, `${out}.tmp`);
    run('mv', [`${out}.tmp`, out]);
    return out;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export interface StepResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface BootOptions {
  /** Added to the kernel command line. */
  readonly append?: string;
  readonly extras?: Extras;
  readonly memoryMiB?: number;
}

let accel: string | undefined;

/**
 * KVM when it works, else TCG. Nested KVM can open /dev/kvm and then abort
 * when the first vCPU starts ("failed to set MSR"), so a firmware-only VM is
 * started: still running after 3 s means KVM works.
 */
export function accelerator(): string {
  if (accel) return accel;
  if (!existsSync('/dev/kvm')) return (accel = 'tcg');
  const r = spawnSync(
    'qemu-system-x86_64',
    ['-accel', 'kvm', '-cpu', 'max', '-m', '64', '-display', 'none', '-monitor', 'none', '-serial', 'none', '-no-reboot'],
    { timeout: 3000 },
  );
  accel = r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? 'kvm' : 'tcg';
  return accel;
}

/** Seconds a boot and its first answer may take under TCG on a busy 2-core machine. */
const BOOT_TIMEOUT_MS = 180_000;

export class Vm {
  private buffer = '';
  private console = '';
  private nextId = 1;
  private waiting = new Map<string, (r: StepResult) => void>();
  private ready?: () => void;
  private exited?: string;
  readonly bootMs: number = 0;

  private constructor(
    private readonly qemu: ChildProcess,
    private readonly work: string,
    readonly kernel: Kernel,
  ) {}

  /** Boots the kernel; resolves once the guest's init answers. */
  static async boot(kernel: Kernel, options: BootOptions = {}): Promise<Vm> {
    const started = Date.now();
    const work = mkdtempSync(join(tmpdir(), 'cc-vm-'));
    const initrd = join(work, 'initrd.cpio');
    run('sh', ['-c', `cat "$1" "$2" > "$3"`, 'sh', baseArchive(options.extras ?? {}), modulesArchive(kernel), initrd]);
    const append = `console=ttyS0 quiet loglevel=1 panic=-1 random.trust_cpu=on ${options.append ?? ''}`.trim();
    const qemu = spawn(
      'qemu-system-x86_64',
      [
        '-accel',
        accelerator(),
        '-cpu',
        'max',
        '-m',
        String(options.memoryMiB ?? 2048),
        '-smp',
        '1',
        '-kernel',
        join(kernel.dir, 'vmlinuz'),
        '-initrd',
        initrd,
        '-append',
        append,
        '-display',
        'none',
        '-monitor',
        'none',
        '-no-reboot',
        '-serial',
        `file:${join(work, 'console.log')}`,
        '-serial',
        'stdio',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const vm = new Vm(qemu, work, kernel);
    let stderr = '';
    qemu.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    qemu.stdout!.on('data', (d: Buffer) => vm.receive(d.toString('latin1')));
    const up = new Promise<void>((resolve, reject) => {
      vm.ready = resolve;
      const timer = setTimeout(
        () => reject(new Error(`${kernel.release}: no answer from the guest in ${BOOT_TIMEOUT_MS / 1000}s\n${vm.consoleText()}`)),
        BOOT_TIMEOUT_MS,
      );
      qemu.on('exit', (code) => {
        clearTimeout(timer);
        vm.exited = `qemu exited (${code}): ${stderr}`;
        reject(new Error(`${kernel.release}: ${vm.exited}\n${vm.consoleText()}`));
        for (const w of vm.waiting.values()) w({ code: -1, stdout: '', stderr: vm.exited });
      });
      vm.ready = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    await up;
    (vm as { bootMs: number }).bootMs = Date.now() - started;
    return vm;
  }

  private receive(text: string): void {
    this.buffer += text;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      if (line.startsWith('@@READY')) this.ready?.();
      const m = /^@@DONE (\d+) (\d+) (\S*) ?(\S*)$/.exec(line);
      if (!m) continue;
      const w = this.waiting.get(m[1]!);
      this.waiting.delete(m[1]!);
      w?.({
        code: Number(m[2]),
        stdout: Buffer.from(m[3]!, 'base64').toString('utf8'),
        stderr: Buffer.from(m[4]!, 'base64').toString('utf8'),
      });
    }
  }

  /** The kernel console so far (boot messages, panics), for error messages. */
  consoleText(): string {
    try {
      return readFileSync(join(this.work, 'console.log'), 'latin1').slice(-4000);
    } catch {
      return '';
    }
  }

  /** Runs a busybox sh script in the guest as root and waits for its answer. */
  sh(script: string, timeoutMs = 120_000): Promise<StepResult> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.kernel.release}: no answer in ${timeoutMs / 1000}s to:\n${script}\n${this.consoleText()}`));
      }, timeoutMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.qemu.stdin!.write(`${id} ${Buffer.from(script).toString('base64')}\n`);
    });
  }

  /** The plugin as the guest runs it: the bundle under this machine's node, as root or through setpriv. */
  check(args: string, as: 'root' | 'nobody' = 'root'): Promise<StepResult> {
    const prefix = as === 'nobody' ? '/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups ' : '';
    return this.sh(`${prefix}/usr/bin/node /opt/cc/check_conntrack ${args}`);
  }

  /** /proc/modules names, sorted. */
  async modules(): Promise<string[]> {
    const r = await this.sh('cat /proc/modules');
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[0]!)
      .sort();
  }

  async close(): Promise<void> {
    if (!this.exited) {
      const gone = new Promise((resolve) => this.qemu.once('exit', resolve));
      // The serial port never reports the end of input: the guest is told to power off.
      this.qemu.stdin!.end(`0 ${Buffer.from('/bin/busybox poweroff -f').toString('base64')}\n`);
      const timer = setTimeout(() => this.qemu.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(this.work, { recursive: true, force: true });
  }
}

/** Removes the archives built by this test file. */
export function removeArchives(): void {
  for (const out of baseArchives.values()) rmSync(dirname(out), { recursive: true, force: true });
  baseArchives.clear();
}

/** Stdout lines of a run, for assertions. */
export function lines(r: StepResult): string[] {
  return r.stdout.split('\n');
}

/** A step as an assertion message shows it. */
export function describeStep(r: StepResult): string {
  return `exit ${r.code}; stdout:\n${r.stdout}stderr:\n${r.stderr}`;
}

export interface VmContext {
  /** The booted guest; valid inside tests. */
  vm(): Vm;
  readonly debian: number;
  /** The kernel's major and minor version, known once booted. */
  version(): { major: number; minor: number };
}

/**
 * One describe per Debian kernel, each around one boot: the tests inside are
 * steps on that guest, in order. Without root or the tools it skips, with the
 * reason in the title and on stderr; under CI=true that is a failing test.
 */
export function describeKernels(title: string, boot: (debian: number) => BootOptions, body: (ctx: VmContext) => void): void {
  const root = notRootReason('QEMU, the initramfs and the stock kernels need root');
  const missing = root === undefined ? missingTools() : [];
  const ready = readiness({ root, missing: missing.length ? `missing: ${missing.join(', ')}` : undefined });
  if (ready.kind !== 'ready') {
    describeReady('vm tests', title, ready, () =>
      body({ vm: () => undefined as never, debian: 0, version: () => ({ major: 0, minor: 0 }) }),
    );
    return;
  }
  // CC_VM_SUITES=bookworm boots one kernel only, while working on a test.
  const only = process.env.CC_VM_SUITES?.split(',');
  for (const { suite, debian } of SUITES.filter((s) => !only || only.includes(s.suite))) {
    describe(`${title}: Debian ${debian}`, () => {
      let vm: Vm | undefined;
      beforeAll(async () => {
        vm = await Vm.boot(fetchKernel(suite), boot(debian));
        console.info(
          `[vm tests] ${title}: Debian ${debian} (${vm.kernel.release}) booted in ${(vm.bootMs / 1000).toFixed(1)} s (${accelerator()})`,
        );
      });
      afterAll(async () => {
        await vm?.close();
      });
      const ctx: VmContext = {
        vm: () => {
          if (!vm) throw new Error('the guest did not boot');
          return vm;
        },
        debian,
        version: () => {
          const [major, minor] = ctx.vm().kernel.release.split('.').map(Number);
          return { major: major!, minor: minor! };
        },
      };
      body(ctx);
    });
  }
  afterAll(() => removeArchives());
}
