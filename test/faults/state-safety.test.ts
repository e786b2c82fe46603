/**
 * Issue 8, item 4: state file safety. Many runs at once on one state file
 * never corrupt it nor crash; a state path that is a symbolic link, or a
 * directory another user owns or may write to, is refused with a clear
 * message (no following links in /var/tmp) and the run goes on; the file is
 * created mode 0600 in a 0700 directory.
 *
 * Real processes against a copy of the loss-6.18 fixture tree. The default
 * directory /var/tmp/check_conntrack-<uid> is tested as throwaway uids no one
 * uses (setpriv), so root's own state directory is never touched; what the
 * tests put under /var/tmp is removed afterwards.
 */
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { copyFixture } from '../support/fixtures';
import {
  asUser,
  describeFaults,
  describeRun,
  existsOrLink,
  runBundleAsync,
  SETPRIV,
  statusProblems,
  unusedUids,
  type PlainRun,
} from './support';

const RUNS = 50;
/** The compiled code src/boot.ts keeps beside the state. */
const CODE_CACHE = /^code-[0-9a-f]{16}-v\d+\.\d+\.\d+-[a-z0-9]+\.cache$/;
/** Lines that would mean a run saw a torn or foreign file, or could not save. */
const STATE_TROUBLE =
  /ignoring the state file|cannot read the state file|cannot write the state file|not writing the state file|refusing the state file|internal error/i;

let tree: ReturnType<typeof copyFixture>;
let work: string;
/** Paths under /var/tmp this test made (never anything that was there before). */
let planted: string[] = [];

beforeEach(() => {
  tree = copyFixture('loss-6.18');
  // Readable by the throwaway uids too.
  chmodSync(tree.dir, 0o755);
  work = mkdtempSync(join(tmpdir(), 'cc-faults-state-'));
  planted = [];
});

afterEach(() => {
  for (const path of planted) rmSync(path, { recursive: true, force: true });
  tree.dispose();
  rmSync(work, { recursive: true, force: true });
});

const fixtureArgs = (): string[] => ['--proc', join(tree.dir, 'proc'), '--sys', join(tree.dir, 'sys'), '--kernel-log', 'none'];

function expectHealthy(r: PlainRun, what: string): void {
  expect.soft(statusProblems(r), `${what}: a valid status line, exit code 0..3, no stack trace\n${describeRun(r)}`).toEqual([]);
  // The run went on to the real work: the fixture's table finding is there.
  expect.soft(r.status, `${what}: the table check still ran\n${describeRun(r)}`).toMatch(/of table used/);
}

/** The lines that say `path` was refused and why (`why` must match the same line). */
function refusal(r: PlainRun, path: string, why: RegExp): string[] {
  return r.lines.filter((l) => l.includes(path) && why.test(l));
}

/** Reads the state file over and over while runs write it: every read must be whole JSON of version 1. */
function startReader(path: string): { stop(): { reads: number; problems: string[] } } {
  let reads = 0;
  const problems: string[] = [];
  const timer = setInterval(() => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && problems.length < 5) problems.push(`read: ${(err as Error).message}`);
      return;
    }
    reads++;
    try {
      const state = JSON.parse(text) as { version?: unknown };
      if (state.version !== 1 && problems.length < 5) problems.push(`version ${JSON.stringify(state.version)} in ${text.slice(0, 200)}`);
    } catch (err) {
      if (problems.length < 5) problems.push(`torn read (${(err as Error).message}): ${JSON.stringify(text.slice(0, 200))}`);
    }
  }, 2);
  return {
    stop() {
      clearInterval(timer);
      return { reads, problems };
    },
  };
}

describeFaults(
  'state file safety (real processes, fixture tree)',
  () => {
    it(
      `${RUNS} concurrent runs on one state file, twice (creating it, then replacing it), never corrupt it nor crash`,
      { timeout: 180_000 },
      async () => {
        // The directory does not exist yet: the first wave also races on creating it.
        const dir = join(work, 'shared');
        const state = join(dir, 'state.json');
        const args = [...fixtureArgs(), '--state-file', state, '-t', '60'];
        const reader = startReader(state);
        const waves: PlainRun[][] = [];
        let seen: { reads: number; problems: string[] } = { reads: 0, problems: [] };
        try {
          for (let wave = 0; wave < 2; wave++)
            waves.push(await Promise.all(Array.from({ length: RUNS }, () => runBundleAsync(args, { hardTimeoutMs: 120_000 }))));
        } finally {
          seen = reader.stop();
        }
        for (const [w, runs] of waves.entries()) {
          for (const [i, r] of runs.entries()) {
            expectHealthy(r, `wave ${w + 1}, run ${i + 1}`);
            expect
              .soft(
                r.lines.filter((l) => STATE_TROUBLE.test(l)),
                `wave ${w + 1}, run ${i + 1}: no run may find the state file torn or fail to save it\n${describeRun(r)}`,
              )
              .toEqual([]);
          }
        }
        console.log(
          `[state-safety] ${seen.reads} reads during ${waves.flat().length} runs; longest run ${Math.round(Math.max(...waves.flat().map((r) => r.wallMs)))} ms`,
        );
        expect
          .soft(seen.problems, `a reader polling the file during the runs (${seen.reads} reads) must only ever see whole JSON of version 1`)
          .toEqual([]);
        const text = readFileSync(state, 'utf8');
        let parsed: { version?: unknown; namespaces?: unknown } | undefined;
        expect(
          () => (parsed = JSON.parse(text) as typeof parsed),
          `the state file after the runs is not JSON: ${text.slice(0, 300)}`,
        ).not.toThrow();
        expect(parsed?.version).toBe(1);
        expect(typeof parsed?.namespaces).toBe('object');
        // Every writer renamed its temporary file into place or removed it, the
        // code cache's (which the first wave's runs all wrote) as well.
        const left = readdirSync(dir).sort();
        expect(left, 'no temporary file may be left beside the state file and the code cache').toHaveLength(2);
        expect(left[0]).toMatch(CODE_CACHE);
        expect(left[1]).toBe('state.json');
        expect(statSync(join(dir, left[0]!)).mode & 0o777).toBe(0o600);
        expect(statSync(state).mode & 0o777).toBe(0o600);
        expect(statSync(dir).mode & 0o777).toBe(0o700);
      },
    );

    it(
      'a --state-file that is a symbolic link is refused with a clear message; the file it points to is not modified',
      { timeout: 30_000 },
      async () => {
        const target = join(work, 'precious.json');
        const content = '{"version":1,"savedAtMs":0,"namespaces":{},"note":"must stay as it is"}\n';
        writeFileSync(target, content, { mode: 0o600 });
        const before = statSync(target);
        const link = join(work, 'state.json');
        symlinkSync(target, link);

        const r = await runBundleAsync([...fixtureArgs(), '--state-file', link]);
        expectHealthy(r, 'the run with a linked state file');
        expect
          .soft(refusal(r, link, /symbolic link|symlink/i), `the output must say ${link} is refused as a symbolic link\n${describeRun(r)}`)
          .not.toEqual([]);
        expect(readFileSync(target, 'utf8')).toBe(content);
        const after = statSync(target);
        expect(after.mtimeMs).toBe(before.mtimeMs);
        expect(after.ino).toBe(before.ino);
      },
    );

    // "Refused" means the path is not used at all: neither read through nor
    // written. A plugin that renames its new file over the link has not
    // followed it, but has silently replaced what the operator put there.
    it('a --state-file that is a symbolic link is left in place (not replaced by a regular file)', { timeout: 30_000 }, async () => {
      const target = join(work, 'precious.json');
      writeFileSync(target, '{}\n', { mode: 0o600 });
      const link = join(work, 'state.json');
      symlinkSync(target, link);
      const r = await runBundleAsync([...fixtureArgs(), '--state-file', link]);
      expectHealthy(r, 'the run with a linked state file');
      expect(
        lstatSync(link).isSymbolicLink(),
        `${link} was replaced by a ${lstatSync(link).isFile() ? 'regular file' : 'something else'}\n${describeRun(r)}`,
      ).toBe(true);
      expect(readlinkSync(link)).toBe(target);
    });

    it('a --state-file that is a dangling symbolic link: the file it names is not created', { timeout: 30_000 }, async () => {
      const elsewhere = join(work, 'elsewhere');
      mkdirSync(elsewhere, { mode: 0o700 });
      const target = join(elsewhere, 'created-through-the-link.json');
      const link = join(work, 'state.json');
      symlinkSync(target, link);
      const r = await runBundleAsync([...fixtureArgs(), '--state-file', link]);
      expectHealthy(r, 'the run with a dangling linked state file');
      expect
        .soft(refusal(r, link, /symbolic link|symlink/i), `the output must say ${link} is refused as a symbolic link\n${describeRun(r)}`)
        .not.toEqual([]);
      expect(existsOrLink(target), `${target} was created through the link`).toBe(false);
      expect(readdirSync(elsewhere)).toEqual([]);
    });

    it(
      'a --state-file in a directory reached through a symbolic link is refused; nothing is written there',
      { timeout: 30_000 },
      async () => {
        const real = join(work, 'real-dir');
        mkdirSync(real, { mode: 0o700 });
        const linkedDir = join(work, 'linked-dir');
        symlinkSync(real, linkedDir);
        const state = join(linkedDir, 'state.json');
        const r = await runBundleAsync([...fixtureArgs(), '--state-file', state]);
        expectHealthy(r, 'the run with a linked state directory');
        expect
          .soft(
            refusal(r, linkedDir, /symbolic link|symlink/i),
            `the output must say ${linkedDir} is refused as a symbolic link\n${describeRun(r)}`,
          )
          .not.toEqual([]);
        expect(readdirSync(real)).toEqual([]);
      },
    );

    // ------------------------------------------------ the default directory
    // Run as throwaway uids, so that the default is /var/tmp/check_conntrack-<uid>
    // and root's own state is never at stake. The "attacker" is a second
    // unused uid that got to /var/tmp first.
    const [victim, attacker] = unusedUids(2) as [number, number];
    const defaultDir = `/var/tmp/check_conntrack-${victim}`;
    const asVictim = asUser(victim);
    const plant = (path: string) => {
      planted.push(path);
      return path;
    };

    it(
      `the default directory (${defaultDir}) is created 0700 and the file 0600, owned by the user, even with umask 000; the next run reads it back`,
      { timeout: 30_000 },
      async () => {
        plant(defaultDir);
        const first = await runBundleAsync(fixtureArgs(), { prefix: asVictim, umask: '000' });
        expectHealthy(first, 'the first run');
        const dir = lstatSync(defaultDir);
        expect(dir.isDirectory()).toBe(true);
        expect((dir.mode & 0o7777).toString(8), `mode of ${defaultDir}`).toBe('700');
        expect(dir.uid).toBe(victim);
        const files = readdirSync(defaultDir);
        // The state, and beside it the compiled code (src/boot.ts): both the user's alone.
        expect(
          files.filter((f) => /^state-.*\.json$/.test(f)),
          `exactly one state file in ${defaultDir}: ${files.join(' ')}`,
        ).toHaveLength(1);
        expect(
          files.filter((f) => CODE_CACHE.test(f)),
          `exactly one code cache in ${defaultDir}: ${files.join(' ')}`,
        ).toHaveLength(1);
        expect(files).toHaveLength(2);
        for (const name of files) {
          const file = lstatSync(join(defaultDir, name));
          expect(file.isFile()).toBe(true);
          expect((file.mode & 0o7777).toString(8), `mode of ${name}`).toBe('600');
          expect(file.uid).toBe(victim);
        }
        const stateName = files.find((f) => f.startsWith('state-'))!;
        expect((JSON.parse(readFileSync(join(defaultDir, stateName), 'utf8')) as { version?: unknown }).version).toBe(1);

        const second = await runBundleAsync(fixtureArgs(), { prefix: asVictim, umask: '000' });
        expectHealthy(second, 'the second run');
        expect(
          second.lines.filter((l) => STATE_TROUBLE.test(l)),
          describeRun(second),
        ).toEqual([]);
        expect(second.stdout, 'the second run compares with the first').not.toMatch(/first check/);
      },
    );

    it(
      `the default directory is refused when it is a symbolic link (to a directory the user owns): nothing is written through it, the run goes on`,
      { timeout: 30_000 },
      async () => {
        const parent = join(work, 'open');
        mkdirSync(parent);
        chmodSync(parent, 0o755);
        chmodSync(work, 0o755);
        const target = join(parent, 'victims-dir');
        mkdirSync(target, { mode: 0o700 });
        chownSync(target, victim, victim);
        symlinkSync(target, plant(defaultDir));
        const r = await runBundleAsync(fixtureArgs(), { prefix: asVictim });
        expectHealthy(r, 'the run');
        expect
          .soft(
            refusal(r, defaultDir, /symbolic link|symlink/i),
            `the output must say ${defaultDir} is refused as a symbolic link\n${describeRun(r)}`,
          )
          .not.toEqual([]);
        expect(readdirSync(target), `something was written through the link ${defaultDir} -> ${target}`).toEqual([]);
        expect(lstatSync(defaultDir).isSymbolicLink()).toBe(true);
      },
    );

    it(
      `the default directory is refused when it is a dangling symbolic link: the directory it names is not created`,
      { timeout: 30_000 },
      async () => {
        chmodSync(work, 0o755);
        const target = join(work, 'made-through-the-link');
        symlinkSync(target, plant(defaultDir));
        const r = await runBundleAsync(fixtureArgs(), { prefix: asVictim });
        expectHealthy(r, 'the run');
        expect
          .soft(
            refusal(r, defaultDir, /symbolic link|symlink|cannot create/i),
            `the output must say ${defaultDir} is refused\n${describeRun(r)}`,
          )
          .not.toEqual([]);
        expect(existsOrLink(target), `${target} was created through the link`).toBe(false);
      },
    );

    it(
      `the default directory is refused when another user (uid ${attacker}) owns it, even though anyone may write to it`,
      { timeout: 30_000 },
      async () => {
        mkdirSync(plant(defaultDir));
        chownSync(defaultDir, attacker, attacker);
        chmodSync(defaultDir, 0o777);
        const r = await runBundleAsync(fixtureArgs(), { prefix: asVictim });
        expectHealthy(r, 'the run');
        expect
          .soft(
            refusal(r, defaultDir, new RegExp(`belongs to|owned by|owner|uid ${attacker}`, 'i')),
            `the output must say ${defaultDir} belongs to uid ${attacker}\n${describeRun(r)}`,
          )
          .not.toEqual([]);
        expect(readdirSync(defaultDir), `the run wrote into a directory uid ${attacker} owns`).toEqual([]);
        // Every later run would be a "first check": that may not go unsaid below the status line.
        expect(r.status, `the status line must say the state is not kept, and the fix\n${describeRun(r)}`).toMatch(
          new RegExp(`state could not be kept: .*${defaultDir} belongs to uid ${attacker}.*, fix: remove ${defaultDir}`),
        );
      },
    );

    for (const mode of [0o777, 0o1777, 0o707]) {
      it(
        `the default directory is refused when others may write to it (mode ${mode.toString(8)}, owned by the user)`,
        { timeout: 30_000 },
        async () => {
          mkdirSync(plant(defaultDir));
          chownSync(defaultDir, victim, victim);
          chmodSync(defaultDir, mode);
          const r = await runBundleAsync(fixtureArgs(), { prefix: asVictim });
          expectHealthy(r, 'the run');
          expect
            .soft(refusal(r, defaultDir, /writable|write/i), `the output must say ${defaultDir} is writable by others\n${describeRun(r)}`)
            .not.toEqual([]);
          expect(readdirSync(defaultDir), 'the run wrote into a directory others may write to').toEqual([]);
        },
      );
    }

    /**
     * Replaces `path` with a link to a file the user owns elsewhere: writable by
     * the user, so only the plugin's care protects it.
     */
    const linkToVictimsFile = (path: string) => {
      chmodSync(work, 0o755);
      const victimsFile = join(work, 'victims-file');
      writeFileSync(victimsFile, 'precious\n', { mode: 0o600 });
      chownSync(victimsFile, victim, victim);
      const before = statSync(victimsFile);
      unlinkSync(path);
      symlinkSync(victimsFile, path);
      return {
        expectUntouched: () => {
          expect(lstatSync(path).isSymbolicLink(), `${path} is left the link it was`).toBe(true);
          expect(readFileSync(victimsFile, 'utf8')).toBe('precious\n');
          expect(statSync(victimsFile).mtimeMs).toBe(before.mtimeMs);
        },
      };
    };

    it(
      'a symbolic link planted at the state file name inside the default directory is refused; the file it points to is not modified',
      { timeout: 30_000 },
      async () => {
        plant(defaultDir);
        const first = await runBundleAsync(fixtureArgs(), { prefix: asVictim });
        expectHealthy(first, 'the first run');
        const name = readdirSync(defaultDir).find((f) => f.startsWith('state-'));
        expect(name, `the first run left no state file in ${defaultDir}\n${describeRun(first)}`).toBeDefined();
        const statePath = join(defaultDir, name!);
        const link = linkToVictimsFile(statePath);

        const r = await runBundleAsync(fixtureArgs(), { prefix: asVictim });
        expectHealthy(r, 'the run');
        expect
          .soft(
            refusal(r, statePath, /symbolic link|symlink/i),
            `the output must say ${statePath} is refused as a symbolic link\n${describeRun(r)}`,
          )
          .not.toEqual([]);
        link.expectUntouched();
      },
    );

    it(
      'a symbolic link planted at the code cache name is neither read nor written through; the run goes on',
      { timeout: 30_000 },
      async () => {
        plant(defaultDir);
        const first = await runBundleAsync(fixtureArgs(), { prefix: asVictim });
        expectHealthy(first, 'the first run');
        const name = readdirSync(defaultDir).find((f) => CODE_CACHE.test(f));
        expect(name, `the first run left no code cache in ${defaultDir}\n${describeRun(first)}`).toBeDefined();
        const link = linkToVictimsFile(join(defaultDir, name!));

        const r = await runBundleAsync(fixtureArgs(), { prefix: asVictim });
        expectHealthy(r, 'the run');
        expect(r.code, `the same verdict as before the link was planted\n${describeRun(r)}`).toBe(first.code);
        link.expectUntouched();
      },
    );
  },
  [SETPRIV],
);
