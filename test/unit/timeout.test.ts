import { describe, expect, it } from 'vitest';
import { TimeoutError, withTimeout } from '../../src/runtime/timeout';

describe('withTimeout', () => {
  it('returns what the work returns in time', async () => {
    await expect(withTimeout(5, new AbortController(), async () => 42)).resolves.toBe(42);
  });

  it('rejects with TimeoutError and aborts the signal the work was given', async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const never = (signal: AbortSignal) => {
      seen = signal;
      return new Promise<never>(() => {});
    };
    const started = Date.now();
    await expect(withTimeout(0.2, controller, never)).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(TimeoutError);
  });

  it('passes the work its own errors', async () => {
    await expect(withTimeout(5, new AbortController(), async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });
});
