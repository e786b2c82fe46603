/**
 * Child processes for the benchmark scripts: absolute paths, argument arrays,
 * a clean PATH and always a time limit, as in the plugin itself.
 */
import { spawnSync } from 'node:child_process';

export const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
export const COMMAND_TIMEOUT_MS = 10_000;

export function run(argv, timeoutMs = COMMAND_TIMEOUT_MS) {
  const r = spawnSync(argv[0], argv.slice(1), {
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.error) throw new Error(`${argv.join(' ')}: ${r.error.message}`);
  return r;
}

export function mustRun(argv, timeoutMs) {
  const r = run(argv, timeoutMs);
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.signal ? `killed by ${r.signal}` : `exit ${r.status}`}: ${r.stderr.trim()}`);
  return r;
}

/** EPERM means the process exists but belongs to someone else: still alive. */
export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}
