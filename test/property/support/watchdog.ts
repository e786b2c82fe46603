/**
 * Parsers run in a worker thread with a deadline: a synchronous parser that never
 * returns cannot be interrupted on the test's own thread (neither vitest's timeout
 * nor fast-check's can stop it), but a worker can be terminated. The deadline is a
 * hang detector, generous enough that no machine load makes a linear parser miss it.
 */
import { buildSync } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Reply } from './parser-worker';

export type Outcome = Reply | { ok: false; hung: true; error: string };

export class ParserWatchdog {
  private readonly dir = mkdtempSync(join(tmpdir(), 'cc-property-worker-'));
  private readonly file = join(this.dir, 'parser-worker.cjs');
  private worker: Worker | undefined;

  constructor() {
    buildSync({
      entryPoints: [resolve(__dirname, 'parser-worker.ts')],
      outfile: this.file,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node18',
      logLevel: 'warning',
    });
  }

  /** The parser's answer, or `hung` when it did not return within `limitMs`. */
  run(parser: string, input: string, limitMs: number): Promise<Outcome> {
    const worker = (this.worker ??= new Worker(this.file));
    return new Promise((done) => {
      const timer = setTimeout(() => {
        worker.removeAllListeners('message');
        worker.removeAllListeners('error');
        void worker.terminate();
        this.worker = undefined;
        done({ ok: false, hung: true, error: `${parser} did not return within ${limitMs / 1000}s on ${input.length} characters` });
      }, limitMs);
      const finish = (outcome: Outcome) => {
        clearTimeout(timer);
        worker.removeAllListeners('message');
        worker.removeAllListeners('error');
        done(outcome);
      };
      worker.once('message', (reply: Reply) => finish(reply));
      // Out of memory or a crash of the worker itself: the parser did not survive the input.
      worker.once('error', (err: Error) => {
        this.worker = undefined;
        finish({ ok: false, error: `${err.name}: ${err.message}` });
      });
      worker.postMessage({ parser, input });
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
