export class TimeoutError extends Error {
  constructor(readonly seconds: number) {
    super(`timed out after ${seconds}s`);
  }
}

/**
 * Races `work` against the clock. On expiry it aborts `controller`, which ends
 * every child process started with its signal, and rejects with TimeoutError.
 * The timer is unref'd so a finished check never waits for it.
 */
export async function withTimeout<T>(seconds: number, controller: AbortController, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TimeoutError(seconds);
      controller.abort(error);
      reject(error);
    }, seconds * 1000);
    timer.unref();
  });
  try {
    return await Promise.race([work(controller.signal), expiry]);
  } finally {
    clearTimeout(timer);
  }
}
