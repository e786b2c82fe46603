/** Wall time and peak RSS of one command, as /usr/bin/time measures them. */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ENV } from './commands.mjs';

export const TIME = '/usr/bin/time';

export function timeOnce(argv, scratch, { timeoutMs, maxBuffer }) {
  const out = join(scratch, 'time.txt');
  rmSync(out, { force: true });
  const r = spawnSync(TIME, ['-f', '%e %M', '-o', out, ...argv], {
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    env: ENV,
    maxBuffer,
  });
  if (r.error) throw new Error(`${argv.join(' ')}: ${r.error.message}`);
  if (r.signal) throw new Error(`${argv.join(' ')}: killed by ${r.signal} (over ${timeoutMs} ms?)`);
  // time writes "Command exited with non-zero status N" first when the command fails.
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  const m = /^(\d+(?:\.\d+)?) (\d+)$/.exec(lines[lines.length - 1] ?? '');
  if (!m) throw new Error(`unexpected ${TIME} output: ${JSON.stringify(lines)}`);
  return { seconds: Number(m[1]), rssKb: Number(m[2]), code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
