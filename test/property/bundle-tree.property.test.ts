/**
 * The built bundle on hostile /proc and /sys trees: the linux-6.8 tree with its
 * count, max, buckets, stat, modules and osrelease files (and a few more) replaced
 * by garbage, NUL bytes, huge or negative numbers, 4,096 CPU rows, 1 MB lines,
 * directories, FIFOs and links to /dev/zero. Every run must end with one valid
 * status line and a matching exit code, within the output limits, with nothing on
 * stderr and no stack trace. Needs `node build.mjs` first, as the e2e tests do.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { rootArgs } from '../support/fixtures';
import { checkRun, runBundleCapped, describeSpec, hostileTree, treeSpec } from './support/trees';

describe('the bundle on a hostile /proc tree', () => {
  it('always ends with a valid status line and exit code, inside the output limits', async () => {
    await fc.assert(
      fc.asyncProperty(
        treeSpec,
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom('nagios', 'nagios', 'nagios', 'json') as fc.Arbitrary<'nagios' | 'json'>,
        fc.constantFrom(
          [],
          [],
          ['--breakdown'],
          ['--exclude-unreplied'],
          ['-w', '1', '-c', '2'],
          ['-w', '@0:100%', '--buckets-warning', '0:1'],
          ['--namespaces', 'all'],
        ),
        async (spec, verbosity, format, extra) => {
          const tree = hostileTree(spec);
          try {
            const args = [
              ...rootArgs(tree.dir),
              '-t',
              '8',
              ...(verbosity ? [`-${'v'.repeat(verbosity)}`] : []),
              '--format',
              format,
              ...extra,
            ];
            const r = await runBundleCapped(args, { timeoutMs: 30_000 });
            checkRun(r, { verbosity, format }, `${args.join(' ')}\n${describeSpec(spec)}`);
          } finally {
            tree.dispose();
          }
        },
      ),
      {
        numRuns: Number(process.env.TREE_RUNS ?? 40),
        interruptAfterTimeLimit: 25_000,
        endOnFailure: true,
        // Found by this property, kept as examples so that every run tries them.
        examples: [
          [{ osrelease: { kind: 'text', text: '6.8\0hidden\x1b[31m\n' } }, 1, 'nagios', []],
          [
            {
              osrelease: { kind: 'long-line', char: 'a', bytes: 1 << 20, prefix: '6.8.' },
              stat: { kind: 'stat-rows', rows: 4096, seed: 1, broken: false },
            },
            3,
            'nagios',
            [],
          ],
          [
            {
              count: { kind: 'text', text: '-1\n' },
              max: { kind: 'text', text: '99999999999999999999999\n' },
              buckets: { kind: 'symlink', target: '/dev/zero' },
            },
            0,
            'nagios',
            [],
          ],
        ],
      },
    );
  }, 120_000);
});
