// Bundles the plugin into one CommonJS file with a shebang and the run bit.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node18.19', legalComments: 'none', minify: true, logLevel: 'warning' };

/**
 * commander requires node:child_process at load, for subcommands we never
 * have; loading it costs every run about 3 ms. commander gets a stand-in that
 * loads the real module only if it is ever used.
 */
const lazyChildProcessForCommander = {
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

/**
 * execa and its dependencies are 44% of the bundle, and most runs (every
 * unprivileged one) start no program. V8 must parse all code of a script on
 * every start, but not the inside of a string: execa travels as a string and
 * is compiled the first time a program runs.
 */
async function deferredExeca() {
  const inner = await build({
    ...common,
    stdin: { contents: "export { execa } from 'execa';", resolveDir: process.cwd(), loader: 'js' },
    write: false,
  });
  const code = inner.outputFiles[0].text;
  return {
    name: 'deferred-execa',
    setup(b) {
      b.onResolve({ filter: /^execa$/ }, () => ({ path: 'execa', namespace: 'deferred-execa' }));
      b.onLoad({ filter: /.*/, namespace: 'deferred-execa' }, () => ({
        contents: `let loaded;
module.exports = {
  get execa() {
    if (!loaded) {
      const m = { exports: {} };
      new Function('module', 'exports', 'require', ${JSON.stringify(code)})(m, m.exports, require);
      loaded = m.exports;
    }
    return loaded.execa;
  },
};`,
        loader: 'js',
      }));
    },
  };
}

const outfile = 'dist/check_conntrack';
await build({
  ...common,
  entryPoints: ['src/main.ts'],
  outfile,
  banner: { js: '#!/usr/bin/env node' },
  plugins: [lazyChildProcessForCommander, await deferredExeca()],
});
chmodSync(outfile, 0o755);
