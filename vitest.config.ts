import { defineConfig } from 'vitest/config';

/** Tests that share the machine (the kernel, installed packages, daemons, timing) run one file at a time. */
const serial = { pool: 'forks' as const, poolOptions: { forks: { singleFork: true } }, sequence: { concurrent: false } };

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      // End-to-end: the built bundle as a child process, against fixture trees.
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 30_000 } },
      // Property-based: parsers, options and the bundle on hostile input.
      {
        test: {
          name: 'property',
          include: ['test/property/**/*.test.ts'],
          setupFiles: ['test/property/support/seed.ts'],
          testTimeout: 120_000,
        },
      },
      // Real kernel: namespaces, nat rules and the global nf_conntrack_max.
      { test: { name: 'kernel', include: ['test/kernel/**/*.test.ts'], testTimeout: 90_000, hookTimeout: 90_000, ...serial } },
      // Hung, crashing and flooding programs; concurrent runs on one state file.
      { test: { name: 'faults', include: ['test/faults/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 60_000, ...serial } },
      // Stock distribution kernels (nf_conntrack as a module) booted under QEMU; boots run one file at a time.
      { test: { name: 'vm', include: ['test/vm/**/*.test.ts'], testTimeout: 600_000, hookTimeout: 600_000, ...serial } },
      // Packages, NRPE and Icinga 2 with the real daemons.
      { test: { name: 'packaging', include: ['test/packaging/**/*.test.ts'], testTimeout: 600_000, hookTimeout: 600_000, ...serial } },
    ],
  },
});
