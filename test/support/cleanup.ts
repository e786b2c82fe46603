/**
 * Cleanup for tests that own namespaces, processes, files or sysctls: every
 * step runs even after one has failed, and a failed cleanup fails the test
 * without hiding the failure that came first.
 */

/** Runs each step in order (awaiting those that return a promise); returns what went wrong. */
export async function cleanUp(steps: ReadonlyArray<() => unknown>): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      errors.push(e);
    }
  }
  return errors;
}

export const cleanupFailure = (errors: readonly unknown[]) => `cleanup failed: ${errors.map((e) => (e as Error).message).join('; ')}`;

/** Throws only when the test itself passed; otherwise logs, so the test's own failure is the one reported. */
export function reportCleanup(errors: readonly unknown[], passed: boolean): void {
  if (errors.length === 0) return;
  if (passed) throw new Error(cleanupFailure(errors));
  console.error(cleanupFailure(errors));
}
