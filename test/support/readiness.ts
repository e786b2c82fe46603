import { describe, it } from 'vitest';

/*
 * One rule for tests that need root, programs or a kernel feature: not being
 * root is a reason to skip anywhere; anything else missing is a reason to skip
 * on a developer's machine but a failure under CI, where a skip would let a
 * broken machine pass as green. A skip is never silent: the reason is in the
 * suite's title and on stderr.
 */

export type Readiness = { readonly kind: 'ready' } | { readonly kind: 'skip' | 'fail'; readonly reason: string };

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/** The readiness of a suite from what it lacks: root (always a skip), and anything else (a failure under CI). */
export function readiness(lacks: { root?: string; missing?: string }): Readiness {
  if (lacks.root !== undefined) return { kind: 'skip', reason: lacks.root };
  if (lacks.missing === undefined) return { kind: 'ready' };
  return isCi()
    ? { kind: 'fail', reason: `${lacks.missing} (CI is set, so this fails instead of skipping)` }
    : { kind: 'skip', reason: lacks.missing };
}

/** "not root (uid 1000): WHY" when not root, for readiness(). */
export function notRootReason(why: string): string | undefined {
  return isRoot() ? undefined : `not root (uid ${process.getuid?.() ?? 'unknown'}): ${why}`;
}

/**
 * describe() by readiness: the suite itself when ready, a visible skip with
 * the reason, or one failing test that names what is missing.
 */
export function describeReady(label: string, title: string, ready: Readiness, body: () => void): void {
  if (ready.kind === 'ready') {
    describe(title, body);
    return;
  }
  if (ready.kind === 'fail') {
    describe(title, () => {
      it(`has what the ${label} need`, () => {
        throw new Error(ready.reason);
      });
    });
    return;
  }
  console.warn(`[${label}] SKIPPING "${title}": ${ready.reason}`);
  describe.skipIf(true)(`${title} [skipped: ${ready.reason}]`, body);
}

/** it() by readiness, for a test whose needs differ from its suite's: the same three outcomes as describeReady. */
export function itReady(label: string, title: string, ready: Readiness, fn: () => unknown, timeout?: number): void {
  if (ready.kind === 'ready') {
    it(title, fn, timeout);
    return;
  }
  if (ready.kind === 'fail') {
    it(`${title} [cannot run: ${ready.reason}]`, () => {
      throw new Error(ready.reason);
    });
    return;
  }
  console.warn(`[${label}] SKIPPING "${title}": ${ready.reason}`);
  it.skip(`${title} [skipped: ${ready.reason}]`, fn, timeout);
}
