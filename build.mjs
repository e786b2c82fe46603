// Bundles the plugin into one CommonJS file with a shebang and the run bit:
// src/boot.ts, carrying src/main.ts and all it imports as a string.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';

/**
 * A real import() would start Node's ESM loader, some milliseconds of every
 * run that starts a program: the lazily loaded built-ins become require().
 */
export const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18.19',
  supported: { 'dynamic-import': false },
  legalComments: 'none',
  minify: true,
  logLevel: 'warning',
};

/**
 * commander requires node:child_process at load, for subcommands we never
 * have; loading it costs every run about 3 ms. commander gets a stand-in that
 * loads the real module only if it is ever used.
 */
export const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) =>
      args.importer.includes('/node_modules/commander/') ? { path: 'child_process', namespace: 'lazy-child-process' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-child-process' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, key) => require('child_process')[key] });",
      loader: 'js',
    }));
  },
};

// Run as a script (npm run build) it builds; imported (the benchmark's floors), it only lends its plugins.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await bundle();

async function bundle() {
  // The plugin itself, as a string for src/boot.ts to compile with V8's code
  // cache (see there); its hash names the cache file.
  const main = await build({ ...common, entryPoints: ['src/main.ts'], write: false, plugins: [lazyChildProcessForCommander] });
  const code = main.outputFiles[0].text;
  const mainModule = {
    name: 'main-code',
    setup(b) {
      b.onResolve({ filter: /^check-conntrack:main$/ }, () => ({ path: 'main', namespace: 'main-code' }));
      b.onLoad({ filter: /.*/, namespace: 'main-code' }, () => ({
        contents: `module.exports = { code: ${JSON.stringify(code)}, buildId: ${JSON.stringify(createHash('sha256').update(code).digest('hex').slice(0, 16))} };`,
        loader: 'js',
      }));
    },
  };

  const outfile = 'dist/check_conntrack';
  await build({
    ...common,
    entryPoints: ['src/boot.ts'],
    outfile,
    banner: { js: '#!/usr/bin/env node' },
    plugins: [mainModule],
  });
  chmodSync(outfile, 0o755);
}
