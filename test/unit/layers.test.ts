/**
 * Data flows one way: parse <- probes and state <- checks <- nagios <- runtime.
 * A check that reads a file, a parser that imports a probe, or an import cycle
 * would compile and pass every other test; this one reads the imports.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../support/bundle';

const SRC = join(REPO, 'src');

interface Import {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );
}

const FILES = sources(SRC).map((f) => relative(SRC, f));

function imports(): Import[] {
  const found: Import[] = [];
  const statement = /^(?:import|export)\s+(type\s+)?([^;]*?)\s+from\s+'(\.[^']+)'/gms;
  for (const file of FILES) {
    const text = readFileSync(join(SRC, file), 'utf8');
    for (const m of text.matchAll(statement)) {
      const target = relative(SRC, resolve(SRC, dirname(file), m[3]!));
      if (target.startsWith('..')) continue; // package.json
      // `import { type A, type B }` is as type-only as `import type { A, B }`.
      const names = m[2]!
        .replace(/^\{|\}$/g, '')
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean);
      const typeOnly = Boolean(m[1]) || (m[2]!.startsWith('{') && names.every((n) => n.startsWith('type ')));
      found.push({ from: file, to: `${target}.ts`, typeOnly });
    }
  }
  return found;
}

const layer = (file: string) => (file.includes('/') ? file.split('/')[0]! : 'top');

/** What each layer may import from the others: values, and (for plain data shapes) types only. */
const ALLOWED: Record<string, { values: string[]; types: string[] }> = {
  parse: { values: [], types: [] },
  probes: { values: ['parse'], types: ['state', 'top'] },
  state: { values: ['parse'], types: ['top'] },
  checks: { values: ['parse', 'nagios'], types: ['probes', 'state', 'top', 'runtime'] },
  nagios: { values: ['parse'], types: ['state'] },
};

describe('layers', () => {
  const all = imports();

  it('finds the imports it judges', () => {
    expect(FILES.length).toBeGreaterThan(50);
    expect(all.some((i) => i.from === 'runtime/collect.ts' && i.to === 'checks/all.ts' && !i.typeOnly)).toBe(true);
    expect(all.some((i) => i.from === 'checks/measurements.ts' && i.to === 'probes/table.ts' && i.typeOnly)).toBe(true);
  });

  it('each layer imports only from those below it; checks only the shapes of what probes measured', () => {
    const wrong = all
      .filter((i) => layer(i.from) !== layer(i.to) && ALLOWED[layer(i.from)])
      .filter((i) => {
        const rule = ALLOWED[layer(i.from)]!;
        return !rule.values.includes(layer(i.to)) && !(i.typeOnly && rule.types.includes(layer(i.to)));
      })
      .map((i) => `${i.from} -> ${i.to}${i.typeOnly ? ' (type)' : ''}`);
    expect(wrong).toEqual([]);
  });

  it('a check may see the options only as a type', () => {
    const wrong = all.filter((i) => layer(i.from) === 'checks' && layer(i.to) === 'runtime' && i.to !== 'runtime/option-table.ts');
    expect(wrong).toEqual([]);
  });

  it('no module imports itself through others (type imports aside)', () => {
    const graph = new Map<string, string[]>();
    for (const i of all) if (!i.typeOnly) graph.set(i.from, [...(graph.get(i.from) ?? []), i.to]);
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of FILES) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
