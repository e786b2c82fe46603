/**
 * The single executable (dist/check_conntrack-sea): Node.js with the bundle
 * injected, for hosts without Node. Built here with packaging/build-sea.sh, it
 * runs the end-to-end cases (every fixture tree with each output mode, kernel
 * logs, state between runs, bad arguments, this host) with no node anywhere on
 * its PATH, and gives byte for byte what the bundle gives under node; as root,
 * also in a chroot that holds nothing but the executable, its C libraries and
 * a fixture tree.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asUser,
  BUNDLE,
  buildArtifact,
  describeWith,
  ensureUser,
  FIXTURES,
  fixtureArgs,
  isRoot,
  must,
  NODE,
  REPO,
  run,
  sameOnHost,
  tempDir,
  VERSION,
  type Run,
} from './support';

const POSTJECT = join(REPO, 'node_modules/postject/dist/cli.js');
/** No node on it, nor anything else: the executable must need nothing from PATH to start. */
const NO_PATH = { PATH: '/nonexistent', LC_ALL: 'C' };

/** Fixture trees with a /proc: the kernels the e2e suite covers. */
const TREES = readdirSync(FIXTURES).filter((name) => existsSync(join(FIXTURES, name, 'proc')));
const MODES: ReadonlyArray<readonly string[]> = [
  [],
  ['-v'],
  ['-vv'],
  ['-vvv'],
  ['--format', 'json'],
  ['-w', '10%', '-c', '20%'],
  ['-w', '@0:100000', '-c', '~:'],
  ['--quiet-ok'],
  ['--namespaces', 'all', '-v'],
];
const LOGS = readdirSync(join(FIXTURES, 'logs')).filter((f) => statSync(join(FIXTURES, 'logs', f)).isFile());

describeWith(
  'the single executable',
  {
    programs: [
      [POSTJECT, 'npm ci'],
      ['/usr/bin/strip', 'binutils'],
    ],
  },
  () => {
    const out = tempDir('sea');
    let sea = '';
    const viaSea = (args: readonly string[], env: NodeJS.ProcessEnv = NO_PATH): Run => run([sea, ...args], { env });
    const viaNode = (args: readonly string[]): Run => run([NODE, BUNDLE, ...args]);
    /**
     * The executable and the bundle on the same arguments. A kernel log with
     * times relative to boot is dated from the clock, so two runs a second apart
     * may differ in a timestamp: a pair that differs is taken again.
     */
    const same = (args: readonly string[]) => {
      let a = viaSea(args);
      let b = viaNode(args);
      for (let retry = 0; retry < 3 && (a.stdout !== b.stdout || a.code !== b.code); retry++) {
        a = viaSea(args);
        b = viaNode(args);
      }
      expect(a.stderr, `stderr of ${args.join(' ')}`).toBe('');
      expect(a.stdout, args.join(' ')).toBe(b.stdout);
      expect(a.code, args.join(' ')).toBe(b.code);
      return a;
    };

    beforeAll(() => {
      sea = buildArtifact('sea', out.path);
    });
    afterAll(() => out.dispose());

    describe('the file', () => {
      it('is one executable ELF file, of the size the README gives', () => {
        const st = statSync(sea);
        expect(st.mode & 0o111).toBe(0o111);
        const mb = st.size / 1e6;
        console.info(`[packaging tests] ${sea}: ${st.size} bytes (${mb.toFixed(1)} MB)`);
        expect(mb).toBeGreaterThan(40);
        expect(mb).toBeLessThan(140);
        expect(existsSync(join(out.path, 'check_conntrack-sea.LICENSES.txt'))).toBe(true);
      });

      it('links only the C and C++ runtime libraries (ldd)', () => {
        const ldd = must(['/usr/bin/ldd', sea]).stdout;
        const libraries = [...ldd.matchAll(/^\s*(\S+)/gm)].map((m) => m[1]!.replace(/^.*\//, ''));
        const allowed =
          /^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1|lib(c|m|dl|pthread|rt|gcc_s|stdc\+\+)\.so\.\d+)$/;
        expect(libraries.filter((l) => !allowed.test(l))).toEqual([]);
        expect(ldd).not.toContain('not found');
      });
    });

    describe('with no node on PATH', () => {
      it('prints the version and exits 3', () => {
        const r = same(['--version']);
        expect(r.stdout.trim()).toBe(VERSION);
        expect(r.code).toBe(3);
      });

      it.each([[['--help']], [['--no-such-option']], [['-w', 'abc']], [['--timeout', '0']], [['extra-argument']]])(
        'answers %j as the bundle does',
        (args) => {
          expect(same(args).code).toBe(3);
        },
      );

      it.each(TREES)('checks the %s tree in every output mode as the bundle does', (tree) => {
        for (const mode of MODES) same([...fixtureArgs(tree), ...mode]);
      });

      it.each(LOGS)('reads the kernel log %s as the bundle does', (log) => {
        const args = [
          ...fixtureArgs('linux-6.8').filter((a) => a !== 'none' && a !== '--kernel-log'),
          '--kernel-log',
          join(FIXTURES, 'logs', log),
          '--log-window',
          '366d',
          '-v',
        ];
        same(args);
      });

      it('keeps state between runs, in the format the bundle reads', () => {
        const state = tempDir('sea-state');
        try {
          const file = join(state.path, 'state.json');
          const args = [...fixtureArgs('linux-6.8').filter((a) => a !== '--no-state'), '--state-file', file];
          const first = viaSea(args);
          expect(first.status).toContain('first check');
          const second = viaSea(args);
          expect(second.status).not.toContain('first check');
          // The bundle takes the executable's state as its own.
          expect(viaNode(args).status).toBe(second.status);
        } finally {
          state.dispose();
        }
      });
    });

    describeWith('on this host, as root and as nagios', { root: true, programs: [['/usr/bin/setpriv', 'util-linux']] }, () => {
      it('checks this host as the bundle does, running the programs it needs (rules, log)', async () => {
        const { a, b } = await sameOnHost(
          () => viaSea(['--no-state', '-v'], { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' }),
          () => viaNode(['--no-state', '-v']),
        );
        expect(a.stderr).toBe('');
        expect(a.status).toMatch(/^CONNTRACK /);
        expect(a.status).toBe(b.status);
        expect(a.code).toBe(b.code);
        // As root the rule listings ran (execa inside the executable).
        if (isRoot()) expect(a.stdout).toMatch(/conntrack \[\/usr\/sbin\/|rules? needs? conntrack/);
      });

      it('runs as nagios with an empty environment', async () => {
        ensureUser('nagios');
        const { a, b } = await sameOnHost(
          () => run(asUser('nagios', ['/usr/bin/env', '-i', sea, '--no-state', '--kernel-log', 'none'])),
          () => run(asUser('nagios', [NODE, BUNDLE, '--no-state', '--kernel-log', 'none'])),
        );
        expect(a.status).toBe(b.status);
        expect(a.code).toBe(b.code);
      });
    });

    describeWith(
      'in a chroot without node or anything else',
      {
        root: true,
        programs: [
          ['/usr/sbin/chroot', 'coreutils'],
          ['/usr/bin/ldd', 'libc-bin'],
        ],
      },
      () => {
        const root = tempDir('sea-chroot');
        afterAll(() => root.dispose());

        beforeAll(() => {
          cpSync(sea, join(root.path, 'check_conntrack-sea'));
          for (const lib of must(['/usr/bin/ldd', sea]).stdout.matchAll(/(\/\S+)/g)) {
            const path = lib[1]!;
            mkdirSync(join(root.path, dirname(path)), { recursive: true });
            cpSync(path, join(root.path, path), { dereference: true });
          }
          for (const tree of ['linux-6.8', 'rhel5-2.6.18', 'centos6-2.6.32'])
            cpSync(join(FIXTURES, tree), join(root.path, 'fx', tree), { recursive: true });
        });

        it('has nothing in the chroot but the executable, its libraries and the fixtures', () => {
          expect(readdirSync(root.path).sort()).toEqual(expect.arrayContaining(['check_conntrack-sea', 'fx']));
          for (const node of ['usr/bin/node', 'usr/local/bin/node', 'bin/node', 'bin/sh'])
            expect(existsSync(join(root.path, node)), node).toBe(false);
        });

        it.each([
          ['linux-6.8', 0],
          ['rhel5-2.6.18', 1],
          ['centos6-2.6.32', 2],
        ])('checks the %s tree: the status line and exit code of the bundle', (tree, code) => {
          const inside = ['--proc', `/fx/${tree}/proc`, '--sys', `/fx/${tree}/sys`, '--no-state', '--kernel-log', 'none'];
          const r = run(['/usr/sbin/chroot', root.path, '/check_conntrack-sea', ...inside], { env: NO_PATH });
          expect(r.stderr).toBe('');
          expect(r.code).toBe(code);
          expect(r.status).toBe(viaNode(fixtureArgs(tree)).status);
        });

        it('says UNKNOWN, not a crash, for a tree that is not there', () => {
          const r = run(
            [
              '/usr/sbin/chroot',
              root.path,
              '/check_conntrack-sea',
              '--proc',
              '/nonexistent',
              '--sys',
              '/nonexistent',
              '--no-state',
              '--kernel-log',
              'none',
            ],
            { env: NO_PATH },
          );
          expect(r.status).toMatch(/^CONNTRACK (UNKNOWN|OK) - /);
          expect([0, 3]).toContain(r.code);
        });
      },
    );
  },
);
