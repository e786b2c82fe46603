/**
 * For the benchmarks that change the host (network namespaces, a lowered
 * nf_conntrack_max): runs `main` so that `cleanup` puts the host back however
 * the run ends (a signal, the overall time limit, an error, or the end), and
 * exits 0 only when `main` succeeded and nothing was left behind.
 *   main(): Promise<boolean>       the benchmark; true when its figures are right
 *   cleanup(): boolean             true when every step of putting back worked
 *   leftBehind(): { summary, clean }   what is still there after cleanup, for the log
 */
export async function runGuarded({ main, cleanup, leftBehind, timeoutMs }) {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ]) {
    process.on(signal, () => {
      console.error(`\n${signal}: cleaning up`);
      cleanup();
      process.exit(code);
    });
  }
  const overall = setTimeout(() => {
    console.error(`over ${timeoutMs / 60_000} min: giving up`);
    cleanup();
    process.exit(124);
  }, timeoutMs);
  overall.unref();

  let ok = false;
  try {
    ok = await main();
  } catch (err) {
    console.error(`benchmark failed: ${err.message}`);
  } finally {
    const t0 = performance.now();
    const clean = cleanup();
    const left = leftBehind();
    console.log(`cleanup: ${((performance.now() - t0) / 1000).toFixed(1)} s${left.summary}`);
    if (!clean || !left.clean) ok = false;
  }
  process.exit(ok ? 0 : 1);
}
